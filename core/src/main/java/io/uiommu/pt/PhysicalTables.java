package io.uiommu.pt;

import io.uiommu.mem.PhysicalMemory;

/** Tables that sit directly in physical memory (kernel-owned tables, stage 2, non-nested stage 1). */
public final class PhysicalTables implements TableMemory {
    private final PhysicalMemory memory;

    public PhysicalTables(PhysicalMemory memory) {
        this.memory = memory;
    }

    public PhysicalMemory memory() {
        return memory;
    }

    @Override
    public long tableAddress(long addr, Walk walk) {
        return addr;
    }

    @Override
    public long readLong(long pa) {
        return memory.readLong(pa);
    }

    @Override
    public void writeLong(long pa, long value) {
        memory.writeLong(pa, value);
    }

    @Override
    public boolean compareAndSetLong(long pa, long expected, long value) {
        return memory.compareAndSetLong(pa, expected, value);
    }
}
