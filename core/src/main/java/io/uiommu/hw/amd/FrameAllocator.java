package io.uiommu.hw.amd;

import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.TableAllocator;

import java.util.ArrayList;
import java.util.List;

/**
 * Table pages for the driver (page tables, GCR3 tables, the device table, command buffer and logs)
 * as frames of {@link PhysicalMemory}; bigger blocks as runs of consecutive frames, 4 KiB aligned
 * (all the AMD structures need; not naturally aligned as {@link TableAllocator} asks of page tables).
 *
 * <p>Locking: {@link PhysicalMemory}'s; the run search runs under this object's monitor.
 */
final class FrameAllocator implements TableAllocator {
    private final PhysicalMemory memory;

    FrameAllocator(PhysicalMemory memory) {
        this.memory = memory;
    }

    @Override
    public synchronized long allocate(long bytes) {
        int frames = (int) Math.max(1, (bytes + PhysicalMemory.PAGE_SIZE - 1) / PhysicalMemory.PAGE_SIZE);
        if (frames == 1) {
            return memory.allocateFrame() << PhysicalMemory.PAGE_SHIFT;
        }
        // Fresh frames come out consecutively once the free list is used up; keep what breaks a run.
        List<Long> spare = new ArrayList<>();
        long start = -1;
        int run = 0;
        long last = -2;
        while (run < frames) {
            long pfn = memory.allocateFrame();
            if (pfn != last + 1) {
                if (start >= 0) {
                    for (long p = start; p <= last; p++) {
                        spare.add(p);
                    }
                }
                start = pfn;
                run = 0;
            }
            last = pfn;
            run++;
        }
        for (long pfn : spare) {
            memory.put(pfn);
        }
        return start << PhysicalMemory.PAGE_SHIFT;
    }

    @Override
    public void free(long pa, long bytes) {
        long frames = Math.max(1, (bytes + PhysicalMemory.PAGE_SIZE - 1) / PhysicalMemory.PAGE_SIZE);
        for (long i = 0; i < frames; i++) {
            memory.put((pa >>> PhysicalMemory.PAGE_SHIFT) + i);
        }
    }
}
