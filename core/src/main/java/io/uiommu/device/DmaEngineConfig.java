package io.uiommu.device;

import io.uiommu.platform.PciDevice;

import static io.uiommu.device.PciRegs.*;

/**
 * The dma-engine's configuration space: a type 0 header with BAR0, an MSI capability (one vector,
 * 64-bit), the PCI Express capability (endpoint, FLR) and, as the platform gives the function,
 * the ATS, PASID (with execute and privileged mode when the platform says) and PRI extended
 * capabilities. It knows the meaning of the bits the engine acts
 * on (memory decode, bus master, the enables) and the side effects of writes (FLR, PRI reset).
 *
 * <p>Locking: none of its own; the engine's lock guards it.
 */
final class DmaEngineConfig {
    final PciConfigSpace space = new PciConfigSpace(PCI_CFG_SPACE_EXP_SIZE);
    final int msi;
    final int exp;
    final int ats;
    final int pasid;
    final int pri;
    final int pasidBits;

    /** What a config write asked of the function beyond changing bits. */
    enum Effect {
        NONE, FLR
    }

    DmaEngineConfig(PciDevice pci) {
        PciConfigSpace c = space;
        c.set(PCI_VENDOR_ID, 2, DmaEngineRegs.VENDOR_ID);
        c.set(PCI_DEVICE_ID, 2, DmaEngineRegs.DEVICE_ID);
        c.writable(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR
                | PCI_COMMAND_INTX_DISABLE);
        c.rw1c(PCI_STATUS, 2, PCI_STATUS_DETECTED_PARITY | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_REC_MASTER_ABORT
                | PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_PARITY);
        c.set(PCI_REVISION_ID, 1, DmaEngineRegs.REVISION);
        c.set(PCI_CLASS_PROG, 1, DmaEngineRegs.CLASS_CODE & 0xff);
        c.set(PCI_CLASS_DEVICE, 2, DmaEngineRegs.CLASS_CODE >>> 8);
        c.writable(PCI_CACHE_LINE_SIZE, 1, 0xff);
        // BAR0: the address bits above the size are writable, so writing all ones reads back the size.
        c.writable(PCI_BASE_ADDRESS_0, 4, -DmaEngineRegs.BAR0_SIZE);
        c.set(PCI_SUBSYSTEM_VENDOR_ID, 2, DmaEngineRegs.SUBSYSTEM_VENDOR_ID);
        c.set(PCI_SUBSYSTEM_ID, 2, DmaEngineRegs.SUBSYSTEM_ID);
        c.writable(PCI_INTERRUPT_LINE, 1, 0xff);
        // Interrupt pin 0: no INTx, MSI only.

        msi = c.addCapability(PCI_CAP_ID_MSI, PCI_MSI_64_SIZEOF);
        c.set(msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_64BIT);
        c.writable(msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
        c.writable(msi + PCI_MSI_ADDRESS_LO, 4, ~3);
        c.writable(msi + PCI_MSI_ADDRESS_HI, 4, -1);
        c.writable(msi + PCI_MSI_DATA_64, 2, 0xffff);

        exp = c.addCapability(PCI_CAP_ID_EXP, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2);
        c.set(exp + PCI_EXP_FLAGS, 2, PCI_EXP_FLAGS_VERS2 | PCI_EXP_TYPE_ENDPOINT << 4);
        c.set(exp + PCI_EXP_DEVCAP, 4, PCI_EXP_DEVCAP_FLR);
        c.writable(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE | PCI_EXP_DEVCTL_FERE
                | PCI_EXP_DEVCTL_URRE | PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_EXT_TAG
                | PCI_EXP_DEVCTL_PHANTOM | PCI_EXP_DEVCTL_AUX_PME | PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ);
        // Power-on: relaxed ordering and no-snoop allowed, 512-byte read requests (the spec's defaults).
        c.set(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN | 2 << 12);
        c.rw1c(exp + PCI_EXP_DEVSTA, 2, PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED | PCI_EXP_DEVSTA_FED
                | PCI_EXP_DEVSTA_URD);
        // One 2.5 GT/s lane.
        c.set(exp + PCI_EXP_LNKCAP, 4, 0x11);
        c.set(exp + PCI_EXP_LNKSTA, 2, 0x11);

        if (pci.ats()) {
            ats = c.addExtendedCapability(PCI_EXT_CAP_ID_ATS, PCI_EXT_CAP_ATS_SIZEOF);
            // Invalidate queue depth 0 (= 32), page-aligned requests.
            c.set(ats + PCI_ATS_CAP, 2, PCI_ATS_CAP_PAGE_ALIGNED);
            c.writable(ats + PCI_ATS_CTRL, 2, PCI_ATS_CTRL_ENABLE | PCI_ATS_CTRL_STU_MASK);
        } else {
            ats = 0;
        }
        pasidBits = pci.pasidBits();
        if (pasidBits > 0) {
            pasid = c.addExtendedCapability(PCI_EXT_CAP_ID_PASID, PCI_EXT_CAP_PASID_SIZEOF);
            // Execute and privileged mode as the platform says; their enables are writable only when supported.
            c.set(pasid + PCI_PASID_CAP, 2, (pci.pasidExec() ? PCI_PASID_CAP_EXEC : 0)
                    | (pci.pasidPriv() ? PCI_PASID_CAP_PRIV : 0) | pasidBits << 8);
            c.writable(pasid + PCI_PASID_CTRL, 2, PCI_PASID_CTRL_ENABLE | (pci.pasidExec() ? PCI_PASID_CTRL_EXEC : 0)
                    | (pci.pasidPriv() ? PCI_PASID_CTRL_PRIV : 0));
        } else {
            pasid = 0;
        }
        if (pci.pri()) {
            pri = c.addExtendedCapability(PCI_EXT_CAP_ID_PRI, PCI_EXT_CAP_PRI_SIZEOF);
            c.writable(pri + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_ENABLE);
            c.rw1c(pri + PCI_PRI_STATUS, 2, PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
            // Stopped while disabled with nothing outstanding; responses must carry the PASID when it has one.
            c.set(pri + PCI_PRI_STATUS, 2, PCI_PRI_STATUS_STOPPED | (pasidBits > 0 ? PCI_PRI_STATUS_PASID : 0));
            c.set(pri + PCI_PRI_MAX_REQ, 4, DmaEngineRegs.PRI_CAPACITY);
            c.writable(pri + PCI_PRI_ALLOC_REQ, 4, -1);
        } else {
            pri = 0;
        }
        c.sealDefaults();
    }

    /** A config write under the access rules; returns the side effect the function must carry out. */
    Effect write(int offset, int width, int value) {
        space.write(offset, width, value);
        if (pri != 0 && overlaps(offset, width, pri + PCI_PRI_CTRL, 2)) {
            int ctrl = written(offset, value, pri + PCI_PRI_CTRL);
            if ((ctrl & PCI_PRI_CTRL_RESET) != 0 && !priEnabled()) {
                // Reset with Enable clear drops the request state: nothing is outstanding any more.
                space.setBits(pri + PCI_PRI_STATUS, 2, PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI, false);
            }
        }
        if (overlaps(offset, width, exp + PCI_EXP_DEVCTL, 2)) {
            int ctrl = written(offset, value, exp + PCI_EXP_DEVCTL);
            if ((ctrl & PCI_EXP_DEVCTL_BCR_FLR) != 0) {
                return Effect.FLR;
            }
        }
        return Effect.NONE;
    }

    /** The bits a write of {@code value} at {@code offset} put into the register at {@code reg}. */
    private static int written(int offset, int value, int reg) {
        int shift = 8 * (reg - offset);
        return shift >= 0 ? value >>> shift : value << -shift;
    }

    private static boolean overlaps(int offset, int width, int reg, int regWidth) {
        return offset < reg + regWidth && reg < offset + width;
    }

    int command() {
        return space.read(PCI_COMMAND, 2);
    }

    boolean memoryEnabled() {
        return (command() & PCI_COMMAND_MEMORY) != 0;
    }

    boolean busMaster() {
        return (command() & PCI_COMMAND_MASTER) != 0;
    }

    boolean msiEnabled() {
        return (space.read(msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE) != 0;
    }

    boolean pasidEnabled() {
        return pasid != 0 && (space.read(pasid + PCI_PASID_CTRL, 2) & PCI_PASID_CTRL_ENABLE) != 0;
    }

    boolean pasidExecEnabled() {
        return pasid != 0 && (space.read(pasid + PCI_PASID_CTRL, 2) & PCI_PASID_CTRL_EXEC) != 0;
    }

    boolean pasidPrivEnabled() {
        return pasid != 0 && (space.read(pasid + PCI_PASID_CTRL, 2) & PCI_PASID_CTRL_PRIV) != 0;
    }

    boolean priEnabled() {
        return pri != 0 && (space.read(pri + PCI_PRI_CTRL, 2) & PCI_PRI_CTRL_ENABLE) != 0;
    }

    /** PRI Stopped: disabled with no page request outstanding. */
    void updatePriStopped(boolean outstanding) {
        if (pri != 0) {
            space.setBits(pri + PCI_PRI_STATUS, 2, PCI_PRI_STATUS_STOPPED, !priEnabled() && !outstanding);
        }
    }

    /** A completion came back Unsupported Request (a faulting read): Received Master Abort. */
    void recordMasterAbort() {
        space.setBits(PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT, true);
    }

    /** BAR0's address as programmed (what a real function would decode at). */
    long bar0Address() {
        return space.read(PCI_BASE_ADDRESS_0, 4) & 0xffff_fff0L;
    }
}
