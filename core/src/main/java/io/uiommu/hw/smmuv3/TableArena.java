package io.uiommu.hw.smmuv3;

import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.TableAllocator;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Where the SMMU driver keeps what it owns in physical memory — stream tables, CD tables, queues and
 * page tables — as the kernel allocates them with dma_alloc_coherent: naturally aligned, zeroed,
 * contiguous even beyond 4 KiB (64 KiB granule tables, concatenated stage-2 roots). Each SMMU on a
 * machine claims its own 4 GiB window just below 1 TiB, clear of the frames user memory uses and
 * reachable with a 40-bit OAS.
 *
 * <p>Locking: this object's monitor.
 */
final class TableArena implements TableAllocator {
    private static final long FIRST_WINDOW = 0xF0_0000_0000L;
    private static final long WINDOW_BYTES = 1L << 32;
    private static final Map<PhysicalMemory, long[]> NEXT_WINDOW = new WeakHashMap<>();

    private final PhysicalMemory memory;
    private final long base;
    private long next;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long bytesInUse;

    TableArena(PhysicalMemory memory) {
        this.memory = memory;
        synchronized (NEXT_WINDOW) {
            long[] n = NEXT_WINDOW.computeIfAbsent(memory, m -> new long[] {FIRST_WINDOW});
            this.base = n[0];
            n[0] -= WINDOW_BYTES;
        }
        this.next = base;
    }

    PhysicalMemory memory() {
        return memory;
    }

    @Override
    public synchronized long allocate(long bytes) {
        if (bytes < 8 || Long.bitCount(bytes) != 1) {
            throw new IllegalArgumentException("table size " + bytes);
        }
        long size = Math.max(bytes, 64);
        ArrayDeque<Long> list = free.get(size);
        long pa;
        if (list != null && !list.isEmpty()) {
            pa = list.pop();
        } else {
            pa = (next + size - 1) & -size;
            if (pa + size > base + WINDOW_BYTES) {
                throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.ENOMEM, "SMMU table memory exhausted");
            }
            next = pa + size;
        }
        zero(pa, size);
        bytesInUse += size;
        return pa;
    }

    @Override
    public synchronized void free(long pa, long bytes) {
        long size = Math.max(bytes, 64);
        free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(pa);
        bytesInUse -= size;
    }

    synchronized long bytesInUse() {
        return bytesInUse;
    }

    private void zero(long pa, long size) {
        byte[] zeros = new byte[(int) Math.min(size, PhysicalMemory.PAGE_SIZE)];
        for (long at = pa; at < pa + size; at += zeros.length) {
            memory.write(at, zeros, 0, zeros.length);
        }
    }
}
