package io.uiommu.iommufd;

import io.uiommu.iommu.IommuDomain;

/** What HWPT_PAGING and HWPT_NESTED share (struct iommufd_hw_pagetable): a domain and an optional fault queue. */
public abstract sealed class HwPagetable extends IommufdObject permits HwptPaging, HwptNested {
    protected final IommuDomain domain;
    Fault fault;

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

    /** Frees the domain and drops the fault reference. */
    protected void destroyCommon() {
        domain.free();
        if (fault != null) {
            fault.put();
            fault = null;
        }
    }
}
