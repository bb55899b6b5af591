package io.uiommu.iommufd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.IommuDriver;
import io.uiommu.iommu.UserData;

/**
 * A kernel-owned I/O page table (struct iommufd_hwpt_paging): a paging domain that mirrors an IOAS.
 * Auto domains are created by attaching a device to the IOAS and die with their last device;
 * allocated ones (IOMMU_HWPT_ALLOC) live until DESTROY.
 */
public final class HwptPaging extends HwPagetable {
    private final Ioas ioas;
    private final boolean autoDomain;
    private final boolean nestParent;
    /** Whether the table holds this domain (iopt_table_add_domain done). */
    boolean inTable;

    HwptPaging(IommuDomain domain, Ioas ioas, boolean autoDomain, boolean nestParent) {
        super(ObjectType.HWPT_PAGING, domain);
        this.ioas = ioas;
        this.autoDomain = autoDomain;
        this.nestParent = nestParent;
        ioas.get();
    }

    public static final int IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0;
    public static final int IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
    public static final int IOMMU_HWPT_ALLOC_PASID = 1 << 3;

    /**
     * iommufd_hwpt_paging_alloc: a paging domain for {@code idev}'s IOMMU, mirroring the IOAS.
     * IOMMU_HWPT_ALLOC_PASID marks it PASID-compatible (the driver may refuse it: EOPNOTSUPP). With {@code immediateAttach} (auto domains) the device is attached before the domain joins
     * the table, as the kernel orders it. The caller owns the object's ID.
     */
    static HwptPaging allocate(IommufdContext ctx, Ioas ioas, Device idev, int flags, UserData data,
            boolean immediateAttach, boolean autoDomain) {
        var dev = idev.iommuDevice();
        // FAULT_ID_VALID on a paging HWPT is upstream's (6.12 left it out of its valid flags); a
        // nesting parent with a fault queue stays EOPNOTSUPP, as 6.12's selftest expects.
        if ((flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID
                | HwptNested.IOMMU_HWPT_FAULT_ID_VALID)) != 0
                || (flags & HwptNested.IOMMU_HWPT_FAULT_ID_VALID) != 0 && (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unsupported HWPT flags");
        }
        if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) != 0
                && !dev.driver().capable(dev, IommuDriver.Cap.DIRTY_TRACKING)) {
            throw new IommufdException(Errno.EOPNOTSUPP, "device cannot track dirty pages");
        }
        IommuDomain domain = dev.driver().domainAllocUser(dev, flags & ~HwptNested.IOMMU_HWPT_FAULT_ID_VALID, null,
                data);
        HwptPaging hwpt = new HwptPaging(domain, ioas, autoDomain, (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) != 0);
        hwpt.pasidCompat = (flags & IOMMU_HWPT_ALLOC_PASID) != 0;
        try {
            if (immediateAttach) {
                idev.doAttach(hwpt);
            }
            try {
                ioas.iopt().addDomain(domain);
            } catch (RuntimeException e) {
                if (immediateAttach) {
                    idev.abortAttach(hwpt);
                }
                throw e;
            }
        } catch (RuntimeException e) {
            hwpt.destroy();
            throw e;
        }
        hwpt.inTable = true;
        ioas.hwpts.add(hwpt);
        return hwpt;
    }

    public Ioas ioas() {
        return ioas;
    }

    public boolean autoDomain() {
        return autoDomain;
    }

    public boolean nestParent() {
        return nestParent;
    }

    @Override
    protected void destroy() {
        if (inTable) {
            ioas.hwpts.remove(this);
            ioas.iopt().removeDomain(domain);
            inTable = false;
        }
        destroyCommon();
        ioas.put();
    }
}
