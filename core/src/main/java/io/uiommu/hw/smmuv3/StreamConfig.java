package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.CacheFill;
import io.uiommu.pt.ArmLpaeTable;
import io.uiommu.pt.NestedTables;

/**
 * A decoded, valid STE as the SMMU's configuration cache holds it: what a StreamID's transactions
 * go through. Immutable once published; {@code fill} records the STE words (audit mode only).
 *
 * @param stage2Format null unless stage 2 translates (Config S2 or nested)
 * @param nested       Config nested: the stage-1 table memory, IPAs through this stage 2; else null
 * @param vmid          STE.S2VMID: tags stage-1 and stage-2 TLB entries of this stream
 */
record StreamConfig(int sid, int config, int s1fmt, int s1cdmax, long s1ContextPtr, int s1dss,
        ArmLpaeTable stage2Format, long s2ttb, NestedTables nested, int vmid, boolean s2Update, boolean s2Record, CacheFill fill,
        String label) {

    boolean stage1() {
        return config == Ste.CONFIG_S1_TRANS || config == Ste.CONFIG_NESTED;
    }

    boolean stage2() {
        return config == Ste.CONFIG_S2_TRANS || config == Ste.CONFIG_NESTED;
    }
}
