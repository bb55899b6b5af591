package io.uiommu.iommu;

/**
 * The vDEVICEs of a vIOMMU as its driver sees them (iommufd_viommu_find_dev and
 * iommufd_viommu_get_vdev_id): which physical device a virtual id (a guest's vSID / vRID) names.
 */
public interface VirtualDevices {
    /** The device with this virtual id, or null. */
    IommuDevice find(long virtId);

    /** The virtual id of {@code dev} in this vIOMMU, or -1 when it has no vDEVICE here. */
    long virtIdOf(IommuDevice dev);
}
