package io.uiommu.iommu;

import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;

/**
 * A hardware IOMMU model with its driver side (hw.vtd, hw.smmuv3, hw.amd): built from a platform's
 * {@link IommuUnit}, it owns the PCI devices behind it and translates their DMA through real
 * tables in physical memory. Each vendor's class offers a constructor
 * {@code (IommuUnit unit, PhysicalMemory memory, StaleTranslationAuditor auditor)}.
 */
public interface IommuHardware extends IommuDriver {
    IommuUnit unit();

    /** Adds a PCI device behind this unit (called once per device when the machine is built). */
    IommuDevice addDevice(PciDevice device);
}
