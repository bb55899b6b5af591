package io.uiommu.iommu;

import io.uiommu.mem.PhysicalMemory;

/**
 * The kernel's iommu core (drivers/iommu/iommu.c) as iommufd sees it: devices behind IOMMU drivers,
 * domain allocation, attach to a RID or a PASID. Vendor drivers plug in through {@link IommuDriver}.
 */
public final class IommuCore {
    private final PhysicalMemory physical;

    private IommuCore(PhysicalMemory physical) {
        this.physical = physical;
    }

    /** An iommu core whose only driver is the selftest's mock IOMMU. */
    public static IommuCore withMockIommu(PhysicalMemory physical) {
        return new IommuCore(physical);
    }

    public PhysicalMemory physical() {
        return physical;
    }
}
