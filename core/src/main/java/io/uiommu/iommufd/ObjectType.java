package io.uiommu.iommufd;

/** The kinds of iommufd objects (enum iommufd_object_type); all share one ID space per context. */
public enum ObjectType {
    DEVICE, HWPT_PAGING, HWPT_NESTED, IOAS, ACCESS, FAULT, VIOMMU, VDEVICE, VEVENTQ, HW_QUEUE, SELFTEST
}
