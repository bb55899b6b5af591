package io.uiommu.hw.vtd;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.StaleTranslationAuditor;

/**
 * The context cache: scalable-mode context entries by source id (bus:devfn), direct-mapped. Only
 * present entries are cached (the model has CAP.CM = 0), so making an entry present needs no
 * invalidation; changing or clearing a present one does (context-cache invalidation descriptor).
 *
 * <p>Locking: fills and invalidations under this object's monitor; lookups lock-free ({@link CacheSlots}).
 */
final class ContextCache {
    static final String NAME = "context cache";
    private static final int SLOTS = 256;

    private final CacheSlots slots = new CacheSlots(SLOTS);
    /** source id + 1; 0 = empty. */
    private final int[] key = new int[SLOTS];
    private final long[] qword0 = new long[SLOTS];
    private final long[] qword1 = new long[SLOTS];
    private final CacheFill[] fills = new CacheFill[SLOTS];
    private final StaleTranslationAuditor auditor;
    private long hits;
    private long misses;

    ContextCache(StaleTranslationAuditor auditor) {
        this.auditor = auditor;
    }

    private static int slot(int sid) {
        return (sid ^ (sid >>> 8)) & (SLOTS - 1);
    }

    /**
     * Looks up the entry of {@code sid}; on a hit copies its qwords into {@code out[0..1]} and
     * returns true.
     */
    boolean lookup(int sid, long[] out) {
        int i = slot(sid);
        long s = slots.readBegin(i);
        int k = key[i];
        long q0 = qword0[i];
        long q1 = qword1[i];
        if (k != sid + 1 || !slots.readValid(i, s)) {
            misses++;
            return false;
        }
        hits++;
        if (auditor != null && auditor.enabled()) {
            CacheFill f = fills[i];
            if (f != null) {
                auditor.checkHit("vtd", NAME, "sid " + VtdIommu.bdf(sid), f);
            }
        }
        out[0] = q0;
        out[1] = q1;
        return true;
    }

    /** Caches a present entry read from {@code address}. */
    synchronized void fill(int sid, long address, long q0, long q1) {
        int i = slot(sid);
        slots.beginWrite(i);
        key[i] = sid + 1;
        qword0[i] = q0;
        qword1[i] = q1;
        if (auditor != null && auditor.enabled()) {
            CacheFill f = fills[i] == null ? (fills[i] = new CacheFill()) : fills[i];
            f.begin(auditor);
            f.add(auditor, address, q0);
            f.add(auditor, address + 8, q1);
        } else if (fills[i] != null) {
            fills[i].begin(auditor);
        }
        slots.endWrite(i);
    }

    /** Global invalidation (also what domain-selective means in scalable mode: DID is ignored). */
    synchronized void invalidateAll() {
        for (int i = 0; i < SLOTS; i++) {
            if (key[i] != 0) {
                clear(i);
            }
        }
    }

    /** Device-selective invalidation: source ids equal to {@code sid} outside the function mask. */
    synchronized void invalidateDevice(int sid, int functionMask) {
        int ignore = switch (functionMask) {
            case 1 -> 0b100;
            case 2 -> 0b110;
            case 3 -> 0b111;
            default -> 0;
        };
        for (int i = 0; i < SLOTS; i++) {
            int k = key[i];
            if (k != 0 && ((k - 1) & ~ignore) == (sid & ~ignore)) {
                clear(i);
            }
        }
    }

    private void clear(int i) {
        slots.beginWrite(i);
        key[i] = 0;
        slots.endWrite(i);
    }

    long hits() {
        return hits;
    }

    long misses() {
        return misses;
    }
}
