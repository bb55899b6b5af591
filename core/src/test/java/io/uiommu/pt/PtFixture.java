package io.uiommu.pt;

import io.uiommu.mem.PhysicalMemory;

/** Physical memory, tables and an allocator for page-table tests; descriptors written by hand. */
final class PtFixture {
    final PhysicalMemory memory = new PhysicalMemory();
    final PhysicalTables tables = new PhysicalTables(memory);
    final FrameTableAllocator allocator = new FrameTableAllocator(memory);
    final Walk walk = new Walk();

    /** Writes a descriptor word at {@code table + index * 8}. */
    PtFixture put(long table, long index, long value) {
        memory.writeLong(table + index * 8, value);
        return this;
    }

    long get(long table, long index) {
        return memory.readLong(table + index * 8);
    }

    long word(long pa) {
        return memory.readLong(pa);
    }

    /** Index of {@code iova} at a level whose entries cover 2^shift bytes, 9 index bits. */
    static long idx(long iova, int shift) {
        return (iova >>> shift) & 0x1FF;
    }
}
