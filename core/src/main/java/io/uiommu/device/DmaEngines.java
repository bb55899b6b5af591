package io.uiommu.device;

import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;

import java.util.ArrayList;
import java.util.List;

/**
 * The machine's dma-engines: one per platform device, in platform order, each probed as the host
 * kernel probes a PCI function behind an IOMMU: firmware places BAR0 in the 32-bit MMIO window,
 * and the IOMMU driver enables the PASID capability (with execute and privileged mode where the
 * function supports them) when the unit translates PASIDs, PRI (full allocation) when the unit takes page requests, and ATS.
 * Memory decode and bus mastering stay off until a driver (vfio-pci or a Java caller) turns them on.
 */
public final class DmaEngines {
    /** Where firmware puts the first BAR0; each function gets the next 64 KiB. */
    public static final long MMIO_BASE = 0xfe00_0000L;

    private DmaEngines() {
    }

    public static List<DmaEngine> probe(IommuCore iommu) {
        List<DmaEngine> out = new ArrayList<>();
        List<PciDevice> devices = iommu.platform().devices();
        for (int i = 0; i < devices.size(); i++) {
            PciDevice pci = devices.get(i);
            IommuDevice dev = iommu.device(pci.name());
            IommuUnit unit = iommu.platform().iommu(pci.iommu());
            DmaEngine e = new DmaEngine(pci, dev, iommu);
            e.configWrite(PciRegs.PCI_BASE_ADDRESS_0, 4, (int) (MMIO_BASE + (long) i * DmaEngineRegs.BAR0_SIZE));
            int pasid = e.findExtendedCapability(PciRegs.PCI_EXT_CAP_ID_PASID);
            if (pasid != 0 && dev.maxPasids() > 0) {
                e.configWrite(pasid + PciRegs.PCI_PASID_CTRL, 2,
                        PciRegs.PCI_PASID_CTRL_ENABLE | PciRegs.PCI_PASID_CTRL_EXEC | PciRegs.PCI_PASID_CTRL_PRIV);
            }
            int pri = e.findExtendedCapability(PciRegs.PCI_EXT_CAP_ID_PRI);
            if (pri != 0 && unit != null && unit.pri()) {
                e.configWrite(pri + PciRegs.PCI_PRI_ALLOC_REQ, 4, DmaEngineRegs.PRI_CAPACITY);
                e.configWrite(pri + PciRegs.PCI_PRI_CTRL, 2, PciRegs.PCI_PRI_CTRL_ENABLE);
            }
            int ats = e.findExtendedCapability(PciRegs.PCI_EXT_CAP_ID_ATS);
            if (ats != 0) {
                e.configWrite(ats + PciRegs.PCI_ATS_CTRL, 2, PciRegs.PCI_ATS_CTRL_ENABLE);
            }
            out.add(e);
        }
        return List.copyOf(out);
    }
}
