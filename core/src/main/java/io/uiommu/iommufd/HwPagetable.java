package io.uiommu.iommufd;

import io.uiommu.iommu.IommuDomain;

/**
 * What HWPT_PAGING and HWPT_NESTED share (struct iommufd_hw_pagetable): a domain, an optional fault
 * queue, and whether it was allocated with IOMMU_HWPT_ALLOC_PASID (pasid_compat).
 */
public abstract sealed class HwPagetable extends IommufdObject permits HwptPaging, HwptNested {
    protected final IommuDomain domain;
    Fault fault;
    /** IOMMU_HWPT_ALLOC_PASID: may serve a PASID, and the RID of a device that has PASIDs attached. */
    boolean pasidCompat;

    protected HwPagetable(ObjectType type, IommuDomain domain) {
        super(type);
        this.domain = domain;
    }

    public final IommuDomain domain() {
        return domain;
    }

    public final Fault fault() {
        return fault;
    }

    /** Whether the HWPT was allocated PASID-compatible (IOMMU_HWPT_ALLOC_PASID). */
    public final boolean pasidCompat() {
        return pasidCompat;
    }

    /** Frees the domain and drops the fault reference. */
    protected void destroyCommon() {
        domain.free();
        if (fault != null) {
            fault.put();
            fault = null;
        }
    }
}
