package io.uiommu.iommufd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.UserData;

/** A user-owned stage-1 table nested over a kernel-owned parent (struct iommufd_hwpt_nested). */
public final class HwptNested extends HwPagetable {
    private final HwptPaging parent;
    /** The vIOMMU it was allocated on (it holds that instead of the parent), or null. */
    private final Viommu viommu;

    HwptNested(IommuDomain domain, HwptPaging parent) {
        super(ObjectType.HWPT_NESTED, domain);
        this.parent = parent;
        this.viommu = null;
        parent.get();
    }

    private HwptNested(IommuDomain domain, Viommu viommu) {
        super(ObjectType.HWPT_NESTED, domain);
        this.parent = viommu.hwpt();
        this.viommu = viommu;
        viommu.get();
    }

    public static final int IOMMU_HWPT_ALLOC_PASID = 1 << 3;

    /**
     * iommufd_viommu_alloc_hwpt_nested: a nested HWPT from the vIOMMU's driver. Flags other than
     * FAULT_ID_VALID and ALLOC_PASID, no data, or a vIOMMU without nested domains are EOPNOTSUPP.
     */
    static HwptNested allocate(Viommu viommu, int flags, UserData data) {
        if ((flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) != 0 || data == null
                || data.length() == 0 || viommu.ops() == null) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unsupported flags, no data, or no nested domains");
        }
        IommuDomain domain = viommu.ops().allocDomainNested(flags & ~IOMMU_HWPT_FAULT_ID_VALID, data);
        if (domain.type() != IommuDomain.Type.NESTED) {
            domain.free();
            throw new IommufdException(Errno.EINVAL, "driver returned no nested domain");
        }
        HwptNested hwpt = new HwptNested(domain, viommu);
        hwpt.pasidCompat = (flags & IOMMU_HWPT_ALLOC_PASID) != 0;
        return hwpt;
    }

    /** The vIOMMU the HWPT belongs to, or null for one nested directly over a parent. */
    public Viommu viommu() {
        return viommu;
    }

    public static final int IOMMU_HWPT_FAULT_ID_VALID = 1 << 2;

    /**
     * iommufd_hwpt_nested_alloc: a user-owned table over a manually allocated NEST_PARENT of the
     * same IOMMU. Only FAULT_ID_VALID and ALLOC_PASID may be set (Linux 6.15); data is mandatory.
     */
    static HwptNested allocate(HwptPaging parent, Device idev, int flags, UserData data) {
        var dev = idev.iommuDevice();
        if ((flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) != 0 || data.length() == 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unsupported nested HWPT flags or no data");
        }
        if (parent.autoDomain() || !parent.nestParent() || parent.domain().driver() != dev.driver()) {
            throw new IommufdException(Errno.EINVAL, "parent is not a nesting parent of this IOMMU");
        }
        IommuDomain domain = dev.driver().domainAllocUser(dev, flags & ~IOMMU_HWPT_FAULT_ID_VALID,
                parent.domain(), data);
        if (domain.type() != IommuDomain.Type.NESTED || domain.cacheInvalidator() == null) {
            domain.free();
            throw new IommufdException(Errno.EINVAL, "driver returned no nested domain");
        }
        HwptNested hwpt = new HwptNested(domain, parent);
        hwpt.pasidCompat = (flags & IOMMU_HWPT_ALLOC_PASID) != 0;
        return hwpt;
    }

    public HwptPaging parent() {
        return parent;
    }

    @Override
    protected void destroy() {
        destroyCommon();
        if (viommu != null) {
            viommu.put();
        } else {
            parent.put();
        }
    }
}
