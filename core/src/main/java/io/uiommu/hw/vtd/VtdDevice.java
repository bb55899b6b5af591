package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.platform.PciDevice;

import java.util.Map;
import java.util.TreeMap;

/**
 * A PCI function behind a VT-d unit (Linux's device_domain_info): its source id, its PASID table
 * (a directory of 8-byte entries, each pointing to a 4 KiB table of 64 PASID entries, tables
 * allocated on first use) and which domain each PASID is attached to. The RID's translation is
 * the PASID entry of RID_PASID (0).
 *
 * <p>Locking: guarded by the driver's monitor.
 */
public final class VtdDevice extends IommuDevice {
    private final PciDevice pci;
    private final int sid;
    final boolean pasidSupported;
    final boolean atsSupported;
    /** Physical address of the PASID directory and its entry count (2^(PDTS+7)). */
    final long pasidDirectory;
    final int directoryEntries;
    /** dev->iommu->max_pasids: the PCI PASID width bounded by ECAP.PSS; 0 without PASID support. */
    final int maxPasids;
    /** Attached domains by PASID; RID_PASID (0) is the RID's. */
    final Map<Integer, IommuDomain> attached = new TreeMap<>();

    VtdDevice(PciDevice pci, VtdIommu driver, boolean pasidSupported, boolean atsSupported, long pasidDirectory,
            int directoryEntries, int maxPasids) {
        super(pci.name(), driver);
        this.pci = pci;
        this.sid = pci.requesterId();
        this.pasidSupported = pasidSupported;
        this.atsSupported = atsSupported;
        this.pasidDirectory = pasidDirectory;
        this.directoryEntries = directoryEntries;
        this.maxPasids = maxPasids;
        setMaxPasids(maxPasids);
    }

    public PciDevice pci() {
        return pci;
    }

    /** Source id: bus << 8 | devfn. */
    public int sid() {
        return sid;
    }

    public int bus() {
        return sid >>> 8;
    }

    public int devfn() {
        return sid & 0xFF;
    }

    /** The domain the hardware tables give a PASID (0: the RID), or null. */
    public IommuDomain programmedDomain(int pasid) {
        synchronized (driver()) {
            return attached.get(pasid);
        }
    }
}
