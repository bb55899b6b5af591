package io.uiommu.iommu;

/**
 * The driver side of a vIOMMU (struct iommufd_viommu_ops): the slice of a physical IOMMU handed to
 * one VM over a nesting-parent domain. It makes the VM's nested domains from vendor data and runs
 * the VM's cache invalidations, translating virtual ids (vSID, ...) through the vIOMMU's vDEVICEs.
 */
public interface ViommuOps {
    /** alloc_domain_nested: a nested domain from vendor data (FAULT_ID_VALID already removed from flags). */
    IommuDomain allocDomainNested(int flags, UserData data);

    /** cache_invalidate: processes the entries in order; sets {@code array.handled()}. */
    void cacheInvalidate(UserDataArray array);

    /** get_hw_queue_size != 0: whether this vIOMMU has HW queues of {@code queueType}. */
    default boolean hwQueueSupported(int queueType) {
        return false;
    }

    /**
     * hw_queue_init_phys: accepts queue {@code index} of {@code queue}, whose memory the core has
     * pinned and locked; {@code basePhysAddr} is the physical address of the queue's first byte
     * (the pages are physically contiguous). Refusals throw with the driver's errno.
     */
    default HwQueueOps hwQueueInitPhys(HwQueueHandle queue, int index, long basePhysAddr) {
        throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.EOPNOTSUPP, "no HW queues");
    }

    /** Releases what the driver holds for this vIOMMU. */
    default void destroy() {
    }
}
