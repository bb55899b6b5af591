package io.uiommu.iommu;

/**
 * One PCIe page request as the iommu core sees it after the vendor driver decoded its queue entry
 * (struct iommu_fault_page_request): flags, PASID, page request group index, requested access and
 * the page address. Flag and permission values are the kernel's, which iommufd hands to user space
 * unchanged in struct iommu_hwpt_pgfault.
 */
public record PageRequest(int flags, int pasid, int grpid, int perm, long addr) {
    /** IOMMU_FAULT_PAGE_REQUEST_PASID_VALID: the request carried a PASID. */
    public static final int PASID_VALID = 1 << 0;
    /** IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE: the last request of its group; the group is answered as a whole. */
    public static final int LAST_PAGE = 1 << 1;
    /** IOMMU_FAULT_PAGE_REQUEST_PRIV_DATA. */
    public static final int PRIV_DATA = 1 << 2;
    /** IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID: the response must carry the PASID (VT-d, AMD). */
    public static final int RESPONSE_NEEDS_PASID = 1 << 3;

    public static final int PERM_READ = 1 << 0;
    public static final int PERM_WRITE = 1 << 1;
    public static final int PERM_EXEC = 1 << 2;
    public static final int PERM_PRIV = 1 << 3;

    public boolean pasidValid() {
        return (flags & PASID_VALID) != 0;
    }

    public boolean lastPage() {
        return (flags & LAST_PAGE) != 0;
    }
}
