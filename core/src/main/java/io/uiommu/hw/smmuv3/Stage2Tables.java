package io.uiommu.hw.smmuv3;

import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.PhysicalTables;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;

/**
 * A guest-owned stage-1 table seen through stage 2 (STE.Config = nested): every table address is
 * an IPA that the stage-2 walk turns into a physical address first, and a stage-2 fault on such a
 * table read stops the stage-1 walk with {@code walk.stage2} set and the IPA kept for the event
 * record. Stage-2 descriptor reads are counted (and recorded) in the stage-1 walk, so a 4-level
 * stage 1 over a 4-level stage 2 reads 20 descriptors, 24 with the final IPA.
 *
 * <p>Locking: none; one instance per translating thread (the model keeps them per thread).
 */
final class Stage2Tables implements TableMemory {
    private final PhysicalTables physical;
    private final Walk s2 = new Walk();
    private Vmsav8Table format;
    private long root;
    private boolean updateAccessDirty;
    /** The IPA whose stage-2 walk faulted last. */
    long faultIpa;

    Stage2Tables(PhysicalTables physical) {
        this.physical = physical;
    }

    Stage2Tables configure(Vmsav8Table stage2Format, long stage2Root, boolean update, boolean record) {
        this.format = stage2Format;
        this.root = stage2Root;
        this.updateAccessDirty = update;
        this.s2.record = record;
        return this;
    }

    @Override
    public long tableAddress(long ipa, Walk walk) {
        s2.reset(ipa);
        boolean ok = format.walk(root, ipa, PageTableFormat.READ, updateAccessDirty, physical, s2);
        for (int i = 0; i < s2.descriptorReads; i++) {
            if (i < s2.recorded) {
                walk.read(s2.recordedAddress[i], s2.recordedValue[i]);
            } else {
                walk.descriptorReads++;
            }
        }
        if (!ok) {
            faultIpa = ipa;
            walk.fault = s2.fault;
            walk.level = s2.level;
            walk.stage2 = true;
            return FAULT;
        }
        return s2.outputAddress;
    }

    @Override
    public long readLong(long pa) {
        return physical.readLong(pa);
    }

    @Override
    public void writeLong(long pa, long value) {
        physical.writeLong(pa, value);
    }

    @Override
    public boolean compareAndSetLong(long pa, long expected, long value) {
        return physical.compareAndSetLong(pa, expected, value);
    }
}
