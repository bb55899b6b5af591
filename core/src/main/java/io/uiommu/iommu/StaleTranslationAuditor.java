package io.uiommu.iommu;

import io.uiommu.mem.PhysicalMemory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Audit mode: every hit in a translation cache re-reads the descriptor words the entry was filled
 * from; a changed word without an invalidation since is reported as a {@link StaleTranslation}
 * (a missing-invalidation bug of the caller). Real hardware silently serves the old translation;
 * so does the model (the report does not change what the device sees).
 *
 * <p>The step labels come from whoever drives the model (the dispatcher per ioctl, the scenario
 * replayer per step). Writes to watched descriptor words through {@link PhysicalMemory} are
 * attributed to the step current at the time; writes made outside uiommu (a client's own memory)
 * are reported as such.
 *
 * <p>Locking: this object's monitor.
 */
public final class StaleTranslationAuditor implements PhysicalMemory.WriteObserver {
    private final PhysicalMemory memory;
    private volatile boolean enabled;
    private String step;
    private String operation;
    private long operations;
    private final Map<Long, String> lastWriter = new HashMap<>();
    private final List<StaleTranslation> reports = new ArrayList<>();

    public StaleTranslationAuditor(PhysicalMemory memory) {
        this.memory = memory;
    }

    public boolean enabled() {
        return enabled;
    }

    public synchronized void setEnabled(boolean on) {
        enabled = on;
        memory.setWriteObserver(on ? this : null);
    }

    /**
     * Names the step now running (e.g. "line 12: write"), as a scenario replayer or a test does;
     * while one is set it is what reports name. Null hands naming back to {@link #setOperation}.
     */
    public synchronized void setStep(String label) {
        step = label;
    }

    /**
     * Names the operation now running when no step is set: the dispatcher calls this per ioctl
     * with its name; operations are numbered so that reports tell repeated ioctls apart.
     */
    public synchronized void setOperation(String name) {
        operations++;
        operation = "#" + operations + " " + name;
    }

    public synchronized String currentStep() {
        return step != null ? step : operation != null ? operation : "start";
    }

    synchronized void watch(long pa) {
        lastWriter.putIfAbsent(pa & ~7L, null);
    }

    @Override
    public synchronized void written(long pa, long length) {
        if (lastWriter.isEmpty()) {
            return;
        }
        for (long w = pa & ~7L; w < pa + length; w += 8) {
            if (lastWriter.containsKey(w)) {
                lastWriter.put(w, step);
            }
        }
    }

    /**
     * Called by a cache on a hit in audit mode. Returns true (and records a report) when a word
     * the entry was filled from differs now.
     */
    public boolean checkHit(String vendor, String cache, String entry, CacheFill fill) {
        if (!enabled) {
            return false;
        }
        for (int i = 0; i < fill.count; i++) {
            long now = memory.readLong(fill.address[i]);
            if (now != fill.value[i]) {
                synchronized (this) {
                    String changed = lastWriter.get(fill.address[i] & ~7L);
                    reports.add(new StaleTranslation(vendor, cache, entry, fill.address[i], fill.value[i], now,
                            fill.filledAt, changed == null ? "outside uiommu" : changed, currentStep()));
                }
                return true;
            }
        }
        return false;
    }

    public synchronized List<StaleTranslation> reports() {
        return List.copyOf(reports);
    }

    public synchronized void clearReports() {
        reports.clear();
    }
}
