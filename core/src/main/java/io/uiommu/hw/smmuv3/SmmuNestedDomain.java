package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.IommuDomain;

/**
 * A nested domain of a vIOMMU (struct arm_smmu_nested_domain): the guest's vSTE (dwords 0 and 1,
 * EATS removed) over the vIOMMU's stage-2 parent. Attaching it installs a physical STE built from
 * both: abort for an invalid or abort vSTE, the parent's stage 2 alone for bypass, and for a
 * stage-1 vSTE Config = nested with the guest's CD table (an IPA) and the parent's stage 2 — the
 * RID and every PASID of the device then belong to the guest.
 *
 * <p>Locking: immutable.
 */
public final class SmmuNestedDomain extends IommuDomain {
    private final ArmVsmmu vsmmu;
    final long ste0;
    final long ste1;
    final boolean enableAts;

    SmmuNestedDomain(ArmVsmmu vsmmu, long ste0, long ste1, boolean enableAts) {
        super(Type.NESTED, vsmmu.smmu());
        this.vsmmu = vsmmu;
        this.ste0 = ste0;
        this.ste1 = ste1;
        this.enableAts = enableAts;
    }

    ArmVsmmu vsmmu() {
        return vsmmu;
    }

    /** vSTE.Config, abort when the vSTE is not valid. */
    int config() {
        return (ste0 & Ste.V) == 0 ? Ste.CONFIG_ABORT : Ste.config(ste0);
    }

    @Override
    public IommuDomain parent() {
        return vsmmu.parent();
    }
}
