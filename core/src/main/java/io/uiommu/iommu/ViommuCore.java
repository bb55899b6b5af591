package io.uiommu.iommu;

/**
 * The core's vIOMMU as its driver holds it (struct iommufd_viommu seen from a driver): besides the
 * vDEVICE lookups it reports events to the vIOMMU's vEVENTQs (iommufd_viommu_report_event) and
 * exposes pages of the driver to user space through mmap of the iommufd fd
 * (iommufd_viommu_alloc_mmap / iommufd_viommu_destroy_mmap).
 *
 * <p>The defaults are what a driver-level test without an iommufd context gets: no vEVENTQ, no
 * mmap.
 *
 * <p>Locking: {@link #reportEvent} may be called from any thread (a DMA's fault path) and takes
 * only the vIOMMU's event lock; the mmap calls run under the iommufd context lock, as viommu_init
 * and destroy do.
 */
public interface ViommuCore extends VirtualDevices {
    /**
     * Queues one event of {@code veventqType} with its type-specific bytes on the vIOMMU's vEVENTQ
     * of that type: 0, or minus EOPNOTSUPP when there is no such vEVENTQ. A full queue loses the
     * event (and reports that as a LOST_EVENTS header), which is still 0.
     */
    default int reportEvent(int veventqType, byte[] data) {
        return -io.uiommu.iommufd.Errno.EOPNOTSUPP.value();
    }

    /**
     * Makes [physAddr, physAddr + length) of the driver's pages mmap-able through the iommufd fd and
     * returns the byte offset user space passes to mmap(2). EINVAL when not page aligned. The
     * region belongs to this vIOMMU: a mapping of it holds the vIOMMU (DESTROY is EBUSY).
     */
    default long allocMmap(long physAddr, long length) {
        throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.EOPNOTSUPP, "no mmap regions");
    }

    /** Withdraws a region from {@link #allocMmap} (mappings already made stay until unmapped). */
    default void destroyMmap(long offset) {
    }
}
