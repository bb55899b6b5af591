package io.uiommu.hw.vtd;

import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.PhysicalTables;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;

/**
 * Where a nested (PGTT = 011) first-stage walk finds its descriptors: every first-stage table
 * address is a guest-physical address that goes through the second stage before it is read
 * (spec 3.8). The second-stage walk's reads count toward the first-stage walk (and are recorded
 * for the auditor); a second-stage refusal is kept here for the fault report.
 *
 * <p>Locking: none; one instance per translating thread.
 */
final class NestedTableMemory implements TableMemory {
    private final PhysicalMemory memory;
    private final PhysicalTables physical;
    private final Walk stage2 = new Walk();
    private PageTableFormat format;
    private long root;
    private boolean accessDirty;
    private long rootTable;
    /** The second-stage fault of the last refused table address, and its level. */
    Walk.Fault fault = Walk.Fault.NONE;
    int faultLevel;
    /** The refused table address was the first-stage root (FL-PML4/PML5). */
    boolean faultAtRoot;

    NestedTableMemory(PhysicalMemory memory) {
        this.memory = memory;
        this.physical = new PhysicalTables(memory);
    }

    void configure(PageTableFormat secondStage, long secondStageRoot, boolean secondStageAccessDirty,
            long firstStageRoot, boolean record) {
        this.format = secondStage;
        this.root = secondStageRoot;
        this.accessDirty = secondStageAccessDirty;
        this.rootTable = firstStageRoot & ~0xFFFL;
        stage2.record = record;
        fault = Walk.Fault.NONE;
    }

    @Override
    public long tableAddress(long addr, Walk walk) {
        stage2.reset(addr);
        boolean ok = format.walk(root, addr, PageTableFormat.READ, accessDirty, physical, stage2);
        walk.descriptorReads += stage2.descriptorReads;
        if (walk.record) {
            for (int i = 0; i < stage2.recorded; i++) {
                walk.read(stage2.recordedAddress[i], stage2.recordedValue[i]);
                walk.descriptorReads--;
            }
        }
        if (!ok) {
            fault = stage2.fault;
            faultLevel = stage2.level;
            faultAtRoot = (addr & ~0xFFFL) == rootTable;
            walk.stage2 = true;
            return FAULT;
        }
        return stage2.outputAddress;
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
