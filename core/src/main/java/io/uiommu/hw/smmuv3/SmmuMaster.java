package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.platform.PciDevice;

import java.util.TreeMap;

/**
 * A PCI function behind an SMMU (struct arm_smmu_master): its StreamID and the driver's CD table
 * for it — linear, or 2-level with 1024-CD leaves (S1Fmt = 2) when it has more SSIDs than one leaf
 * holds, allocated on the first stage-1 attach — plus which PASIDs are attached to what.
 *
 * <p>Locking: guarded by the driver's lock.
 */
public final class SmmuMaster extends IommuDevice {
    private final PciDevice pci;
    private final int streamId;
    /** SSID bits the CD table covers: min(SMMU SSIDSIZE, device PASID width). */
    final int ssidBits;

    long cdTable;
    int s1fmt;
    long[] cdLeaves;
    /** The STE points at the CD table (stage-1 RID domain, or PASIDs attached). */
    boolean cdTableInSte;
    final TreeMap<Integer, SmmuPagingDomain> pasids = new TreeMap<>();
    /** The vIOMMU this master's events go to, while it is attached to a nested domain with a vDEVICE. */
    Vmaster vmaster;

    /** struct arm_smmu_vmaster: the vSMMU and the vSID of a nested master. */
    record Vmaster(ArmVsmmu vsmmu, long vsid) {
        /** arm_vmaster_report_event: the record with the StreamID replaced by the vSID. */
        int report(long[] evt) {
            return vsmmu.reportEvent(evt, vsid);
        }
    }

    SmmuMaster(PciDevice pci, ArmSmmuV3 driver, int ssidBits) {
        super(pci.name(), driver);
        this.pci = pci;
        this.streamId = pci.streamId();
        this.ssidBits = ssidBits;
        setMaxPasids(ssidBits == 0 ? 0 : 1 << ssidBits);
    }

    public PciDevice pci() {
        return pci;
    }

    public int streamId() {
        return streamId;
    }

    boolean ssidsInUse() {
        return !pasids.isEmpty();
    }
}
