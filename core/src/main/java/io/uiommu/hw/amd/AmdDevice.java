package io.uiommu.hw.amd;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.platform.PciDevice;

import java.util.TreeMap;

/**
 * A PCI function behind an AMD IOMMU (the driver's iommu_dev_data): its DeviceID (the requester
 * id), its PASID capability as the IOMMU can use it, the domain its DTE points at, the per-device
 * GCR3 table when that domain needs one, and the PASIDs bound through it.
 *
 * <p>Locking: guarded by the owning {@link AmdIommu}'s monitor.
 */
public final class AmdDevice extends IommuDevice {
    private final PciDevice pci;
    private final int devid;
    IommuDomain attached;
    Gcr3Table gcr3;
    boolean pasidEnabled;
    boolean atsEnabled;
    final TreeMap<Integer, IommuDomain> pasids = new TreeMap<>();

    AmdDevice(PciDevice pci, AmdIommu iommu, int maxPasids) {
        super(pci.name(), iommu);
        this.pci = pci;
        this.devid = pci.requesterId();
        // min(IOMMU, PCI capability), 0 without PASID support
        setMaxPasids(maxPasids);
    }

    public PciDevice pci() {
        return pci;
    }

    /** The DeviceID indexing the device table (bus << 8 | device << 3 | function). */
    public int deviceId() {
        return devid;
    }

    /** The domain bound to {@code pasid}, or null. */
    public IommuDomain programmedDomain(int pasid) {
        return pasids.get(pasid);
    }
}
