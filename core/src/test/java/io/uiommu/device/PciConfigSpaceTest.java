package io.uiommu.device;

import io.uiommu.iommu.IommuCore;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.uiommu.device.PciRegs.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The dma-engine's configuration space: layout, PCI write rules, capabilities as the platform gives them, FLR. */
class PciConfigSpaceTest {
    static DmaEngine engine(boolean ats, int pasidBits, boolean pri) {
        IommuUnit unit = new IommuUnit("mock0", "mock", 48, 48, List.of(4096L), 20, true, true, true, Map.of());
        PciDevice pci = new PciDevice("dev0", "00:01.0", 8, "mock0", pasidBits, ats, pri, pasidBits > 0, pasidBits > 0);
        IommuCore core = IommuCore.forPlatform(new Platform("t", List.of(unit), List.of(pci)), new PhysicalMemory());
        return new DmaEngine(pci, core.device("dev0"), core);
    }

    @Test
    void headerIdentifiesTheEngine() {
        DmaEngine e = engine(false, 0, false);
        assertThat(e.configRead(PCI_VENDOR_ID, 2)).isEqualTo(0x1234);
        assertThat(e.configRead(PCI_DEVICE_ID, 2)).isEqualTo(0xdae0);
        assertThat(e.configRead(PCI_VENDOR_ID, 4)).isEqualTo(0xdae0_1234);
        assertThat(e.configRead(PCI_REVISION_ID, 4) >>> 8).isEqualTo(0x088000);
        assertThat(e.configRead(PCI_HEADER_TYPE, 1)).isZero();
        assertThat(e.configRead(PCI_INTERRUPT_PIN, 1)).isZero();
        assertThat(e.configRead(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST).isNotZero();
        assertThat(e.configRead(PCI_CAPABILITY_LIST, 1)).isEqualTo(0x40);
        assertThat(e.configSize()).isEqualTo(4096);
    }

    @Test
    void readOnlyBitsStayAndWritableBitsTakeTheValue() {
        DmaEngine e = engine(false, 0, false);
        e.configWrite(PCI_VENDOR_ID, 4, 0);
        assertThat(e.configRead(PCI_VENDOR_ID, 4)).isEqualTo(0xdae0_1234);
        e.configWrite(PCI_COMMAND, 2, 0xffff);
        // I/O space is hardwired off (no I/O BAR); memory, master, parity, SERR and INTx disable are writable.
        assertThat(e.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER
                | PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
        e.configWrite(PCI_CLASS_PROG, 1, 0x55);
        assertThat(e.configRead(PCI_CLASS_PROG, 1)).isZero();
        e.configWrite(PCI_INTERRUPT_PIN, 1, 1);
        assertThat(e.configRead(PCI_INTERRUPT_PIN, 1)).isZero();
    }

    @Test
    void bar0ReadsBackItsSizeAfterAllOnes() {
        DmaEngine e = engine(false, 0, false);
        e.configWrite(PCI_BASE_ADDRESS_0, 4, -1);
        assertThat(e.configRead(PCI_BASE_ADDRESS_0, 4)).isEqualTo(-DmaEngineRegs.BAR0_SIZE);
        e.configWrite(PCI_BASE_ADDRESS_0 + 4, 4, -1);
        assertThat(e.configRead(PCI_BASE_ADDRESS_0 + 4, 4)).isZero();
        e.configWrite(PCI_BASE_ADDRESS_0, 4, 0xfe01_2345);
        assertThat(e.configRead(PCI_BASE_ADDRESS_0, 4)).isEqualTo(0xfe01_0000);
    }

    @Test
    void statusErrorBitsClearOnWritingOne() {
        DmaEngine e = engine(false, 0, false);
        PciConfigSpace c = new PciConfigSpace(256);
        c.set(PCI_STATUS, 2, PCI_STATUS_CAP_LIST | PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR);
        c.rw1c(PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR);
        c.write(PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_CAP_LIST);
        assertThat(c.read(PCI_STATUS, 2)).isEqualTo(PCI_STATUS_CAP_LIST | PCI_STATUS_SIG_SYSTEM_ERROR);
        c.write(PCI_STATUS, 2, 0);
        assertThat(c.read(PCI_STATUS, 2)).isEqualTo(PCI_STATUS_CAP_LIST | PCI_STATUS_SIG_SYSTEM_ERROR);
        assertThat(e.configRead(PCI_STATUS, 2)).isEqualTo(PCI_STATUS_CAP_LIST);
    }

    @Test
    void capabilityListHasMsiThenPcieAndExtendedOnesAsThePlatformSays() {
        DmaEngine full = engine(true, 20, true);
        int msi = full.findCapability(PCI_CAP_ID_MSI);
        int exp = full.findCapability(PCI_CAP_ID_EXP);
        assertThat(msi).isEqualTo(0x40);
        assertThat(full.configRead(msi + PCI_CAP_LIST_NEXT, 1)).isEqualTo(exp);
        assertThat(full.configRead(exp + PCI_CAP_LIST_NEXT, 1)).isZero();
        assertThat(full.configRead(msi + PCI_MSI_FLAGS, 2)).isEqualTo(PCI_MSI_FLAGS_64BIT); // one vector, off
        assertThat(full.configRead(exp + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR).isNotZero();
        int ats = full.findExtendedCapability(PCI_EXT_CAP_ID_ATS);
        int pasid = full.findExtendedCapability(PCI_EXT_CAP_ID_PASID);
        int pri = full.findExtendedCapability(PCI_EXT_CAP_ID_PRI);
        assertThat(ats).isEqualTo(0x100);
        assertThat(full.configRead(ats, 4) >>> 20).isEqualTo(pasid);
        assertThat(full.configRead(pasid, 4) >>> 20).isEqualTo(pri);
        assertThat(full.configRead(pri, 4) >>> 20).isZero();
        assertThat(full.configRead(pasid, 4) >>> 16 & 0xf).isEqualTo(1);
        assertThat(full.configRead(pasid + PCI_PASID_CAP, 2)).isEqualTo(PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV | 20 << 8);
        assertThat(full.configRead(pri + PCI_PRI_MAX_REQ, 4)).isEqualTo(DmaEngineRegs.PRI_CAPACITY);
        assertThat(full.configRead(pri + PCI_PRI_STATUS, 2))
                .isEqualTo(PCI_PRI_STATUS_STOPPED | PCI_PRI_STATUS_PASID);

        DmaEngine bare = engine(false, 0, false);
        assertThat(bare.findExtendedCapability(PCI_EXT_CAP_ID_ATS)).isZero();
        assertThat(bare.findExtendedCapability(PCI_EXT_CAP_ID_PASID)).isZero();
        assertThat(bare.findExtendedCapability(PCI_EXT_CAP_ID_PRI)).isZero();
        assertThat(bare.configRead(0x100, 4)).isZero();

        DmaEngine priOnly = engine(false, 8, true);
        int p = priOnly.findExtendedCapability(PCI_EXT_CAP_ID_PASID);
        assertThat(p).isEqualTo(0x100);
        assertThat(priOnly.configRead(p + PCI_PASID_CAP, 2) >>> 8 & 0x1f).isEqualTo(8);
    }

    @Test
    void enablesAreWritableAndPriStoppedFollowsEnable() {
        DmaEngine e = engine(true, 20, true);
        int pasid = e.findExtendedCapability(PCI_EXT_CAP_ID_PASID);
        int pri = e.findExtendedCapability(PCI_EXT_CAP_ID_PRI);
        int ats = e.findExtendedCapability(PCI_EXT_CAP_ID_ATS);
        e.configWrite(pasid + PCI_PASID_CTRL, 2, 0xffff);
        assertThat(e.configRead(pasid + PCI_PASID_CTRL, 2))
                .isEqualTo(PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_EXEC | PCI_PASID_CTRL_PRIV);
        e.configWrite(pasid + PCI_PASID_CAP, 2, 0);
        assertThat(e.configRead(pasid + PCI_PASID_CAP, 2) >>> 8).isEqualTo(20);
        e.configWrite(pri + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_ENABLE);
        assertThat(e.configRead(pri + PCI_PRI_STATUS, 2) & PCI_PRI_STATUS_STOPPED).isZero();
        e.configWrite(pri + PCI_PRI_CTRL, 2, 0);
        assertThat(e.configRead(pri + PCI_PRI_STATUS, 2) & PCI_PRI_STATUS_STOPPED).isNotZero();
        e.configWrite(pri + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_RESET);
        assertThat(e.configRead(pri + PCI_PRI_CTRL, 2)).isZero(); // reset reads as 0
        e.configWrite(pri + PCI_PRI_ALLOC_REQ, 4, 16);
        assertThat(e.configRead(pri + PCI_PRI_ALLOC_REQ, 4)).isEqualTo(16);
        e.configWrite(pri + PCI_PRI_MAX_REQ, 4, 1);
        assertThat(e.configRead(pri + PCI_PRI_MAX_REQ, 4)).isEqualTo(DmaEngineRegs.PRI_CAPACITY);
        e.configWrite(ats + PCI_ATS_CTRL, 2, 0xffff);
        assertThat(e.configRead(ats + PCI_ATS_CTRL, 2)).isEqualTo(PCI_ATS_CTRL_ENABLE | PCI_ATS_CTRL_STU_MASK);
    }

    @Test
    void initiateFlrReturnsEverythingToPowerOnValues() {
        DmaEngine e = engine(true, 20, true);
        int pasid = e.findExtendedCapability(PCI_EXT_CAP_ID_PASID);
        int exp = e.findCapability(PCI_CAP_ID_EXP);
        int msi = e.findCapability(PCI_CAP_ID_MSI);
        e.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        e.configWrite(pasid + PCI_PASID_CTRL, 2, PCI_PASID_CTRL_ENABLE);
        e.configWrite(msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
        e.mmioWrite(0, DmaEngineRegs.REG_LENGTH, 4, 99);
        int devctl = e.configRead(exp + PCI_EXP_DEVCTL, 2);
        e.configWrite(exp + PCI_EXP_DEVCTL, 2, devctl | PCI_EXP_DEVCTL_BCR_FLR);
        assertThat(e.configRead(exp + PCI_EXP_DEVCTL, 2)).isEqualTo(devctl); // FLR reads as 0
        assertThat(e.configRead(PCI_COMMAND, 2)).isZero();
        assertThat(e.configRead(pasid + PCI_PASID_CTRL, 2)).isZero();
        assertThat(e.configRead(msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE).isZero();
        e.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
        assertThat(e.mmioRead(0, DmaEngineRegs.REG_LENGTH, 4)).isZero();
    }

    @Test
    void pasidExecuteAndPrivilegedFollowThePlatform() {
        IommuUnit unit = new IommuUnit("mock0", "mock", 48, 48, List.of(4096L), 20, true, true, true, Map.of());
        PciDevice pci = new PciDevice("dev0", "00:01.0", 8, "mock0", 8, false, false, false, true);
        IommuCore core = IommuCore.forPlatform(new Platform("t", List.of(unit), List.of(pci)), new PhysicalMemory());
        DmaEngine e = new DmaEngine(pci, core.device("dev0"), core);
        int pasid = e.findExtendedCapability(PCI_EXT_CAP_ID_PASID);
        assertThat(e.configRead(pasid + PCI_PASID_CAP, 2)).isEqualTo(PCI_PASID_CAP_PRIV | 8 << 8);
        e.configWrite(pasid + PCI_PASID_CTRL, 2, 0xffff);
        assertThat(e.configRead(pasid + PCI_PASID_CTRL, 2)).isEqualTo(PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_PRIV);
    }

    @Test
    void accessesOutsideTheSpaceOrOfOddWidthAreRefused() {
        PciConfigSpace c = new PciConfigSpace(4096);
        assertThatThrownBy(() -> c.read(4094, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> c.write(0, 3, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PciConfigSpace(512)).isInstanceOf(IllegalArgumentException.class);
    }
}
