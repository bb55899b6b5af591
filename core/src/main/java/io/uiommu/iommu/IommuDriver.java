package io.uiommu.iommu;

/** The driver side of an IOMMU (struct iommu_ops): what the iommu core asks of a vendor. */
public interface IommuDriver {
}
