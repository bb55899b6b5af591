package io.uiommu.pt;

import io.uiommu.mem.PhysicalMemory;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Table pages taken from {@link PhysicalMemory}'s frame allocator: a table of up to 4 KiB gets a
 * whole frame (naturally aligned), a bigger one a contiguous aligned run of frames. Counts what
 * it hands out so that tests can check that tables are not leaked.
 *
 * <p>Locking: PhysicalMemory's monitor for frames; counters are atomic.
 */
public final class FrameTableAllocator implements TableAllocator {
    private final PhysicalMemory memory;
    private final AtomicLong tablesInUse = new AtomicLong();
    private final AtomicLong bytesInUse = new AtomicLong();

    public FrameTableAllocator(PhysicalMemory memory) {
        this.memory = memory;
    }

    private static int frames(long bytes) {
        if (bytes < 8 || (bytes & (bytes - 1)) != 0 || bytes > (1L << 30)) {
            throw new IllegalArgumentException("table size must be a power of two >= 8: " + bytes);
        }
        return (int) Math.max(1, bytes >>> PhysicalMemory.PAGE_SHIFT);
    }

    @Override
    public long allocate(long bytes) {
        int n = frames(bytes);
        long pfn = memory.allocateContiguous(n);
        tablesInUse.incrementAndGet();
        bytesInUse.addAndGet((long) n << PhysicalMemory.PAGE_SHIFT);
        return pfn << PhysicalMemory.PAGE_SHIFT;
    }

    @Override
    public void free(long pa, long bytes) {
        int n = frames(bytes);
        long pfn = pa >>> PhysicalMemory.PAGE_SHIFT;
        for (int i = 0; i < n; i++) {
            memory.put(pfn + i);
        }
        tablesInUse.decrementAndGet();
        bytesInUse.addAndGet(-((long) n << PhysicalMemory.PAGE_SHIFT));
    }

    /** Tables handed out and not freed. */
    public long tablesInUse() {
        return tablesInUse.get();
    }

    /** Bytes of frames those tables occupy. */
    public long bytesInUse() {
        return bytesInUse.get();
    }
}
