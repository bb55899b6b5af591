package io.uiommu.device;

/**
 * PCI and PCIe configuration-space register offsets and bits, named as include/uapi/linux/pci_regs.h
 * names them (values from the PCI Local Bus 3.0 and PCIe Base specifications). Only what the
 * dma-engine and VFIO's config virtualisation use.
 */
public final class PciRegs {
    private PciRegs() {
    }

    /** 256 bytes of conventional space, 4 KiB with the PCIe extended space. */
    public static final int PCI_CFG_SPACE_SIZE = 256;
    public static final int PCI_CFG_SPACE_EXP_SIZE = 4096;

    // ---- type 0 header ----
    public static final int PCI_VENDOR_ID = 0x00;
    public static final int PCI_DEVICE_ID = 0x02;
    public static final int PCI_COMMAND = 0x04;
    public static final int PCI_COMMAND_IO = 0x1;
    public static final int PCI_COMMAND_MEMORY = 0x2;
    public static final int PCI_COMMAND_MASTER = 0x4;
    public static final int PCI_COMMAND_PARITY = 0x40;
    public static final int PCI_COMMAND_SERR = 0x100;
    public static final int PCI_COMMAND_INTX_DISABLE = 0x400;
    public static final int PCI_STATUS = 0x06;
    public static final int PCI_STATUS_INTERRUPT = 0x08;
    public static final int PCI_STATUS_CAP_LIST = 0x10;
    public static final int PCI_STATUS_DETECTED_PARITY = 0x8000;
    public static final int PCI_STATUS_SIG_SYSTEM_ERROR = 0x4000;
    public static final int PCI_STATUS_REC_MASTER_ABORT = 0x2000;
    public static final int PCI_STATUS_REC_TARGET_ABORT = 0x1000;
    public static final int PCI_STATUS_SIG_TARGET_ABORT = 0x0800;
    public static final int PCI_STATUS_PARITY = 0x0100;
    public static final int PCI_REVISION_ID = 0x08;
    public static final int PCI_CLASS_PROG = 0x09;
    public static final int PCI_CLASS_DEVICE = 0x0a;
    public static final int PCI_CACHE_LINE_SIZE = 0x0c;
    public static final int PCI_LATENCY_TIMER = 0x0d;
    public static final int PCI_HEADER_TYPE = 0x0e;
    public static final int PCI_BIST = 0x0f;
    public static final int PCI_BASE_ADDRESS_0 = 0x10;
    public static final int PCI_BASE_ADDRESS_5 = 0x24;
    public static final int PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
    public static final int PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;
    public static final int PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int PCI_SUBSYSTEM_ID = 0x2e;
    public static final int PCI_ROM_ADDRESS = 0x30;
    public static final int PCI_CAPABILITY_LIST = 0x34;
    public static final int PCI_INTERRUPT_LINE = 0x3c;
    public static final int PCI_INTERRUPT_PIN = 0x3d;
    public static final int PCI_STD_HEADER_SIZEOF = 0x40;

    // ---- capability list ----
    public static final int PCI_CAP_LIST_ID = 0;
    public static final int PCI_CAP_LIST_NEXT = 1;
    public static final int PCI_CAP_ID_MSI = 0x05;
    public static final int PCI_CAP_ID_EXP = 0x10;

    // ---- MSI ----
    public static final int PCI_MSI_FLAGS = 2;
    public static final int PCI_MSI_FLAGS_ENABLE = 0x0001;
    public static final int PCI_MSI_FLAGS_QMASK = 0x000e;
    public static final int PCI_MSI_FLAGS_QSIZE = 0x0070;
    public static final int PCI_MSI_FLAGS_64BIT = 0x0080;
    public static final int PCI_MSI_ADDRESS_LO = 4;
    public static final int PCI_MSI_ADDRESS_HI = 8;
    public static final int PCI_MSI_DATA_64 = 12;
    /** A 64-bit MSI capability without per-vector masking. */
    public static final int PCI_MSI_64_SIZEOF = 14;

    // ---- PCI Express capability ----
    public static final int PCI_EXP_FLAGS = 2;
    public static final int PCI_EXP_FLAGS_VERS2 = 0x0002;
    public static final int PCI_EXP_TYPE_ENDPOINT = 0x0;
    public static final int PCI_EXP_DEVCAP = 4;
    public static final int PCI_EXP_DEVCAP_FLR = 0x1000_0000;
    public static final int PCI_EXP_DEVCTL = 8;
    public static final int PCI_EXP_DEVCTL_CERE = 0x0001;
    public static final int PCI_EXP_DEVCTL_NFERE = 0x0002;
    public static final int PCI_EXP_DEVCTL_FERE = 0x0004;
    public static final int PCI_EXP_DEVCTL_URRE = 0x0008;
    public static final int PCI_EXP_DEVCTL_RELAX_EN = 0x0010;
    public static final int PCI_EXP_DEVCTL_PAYLOAD = 0x00e0;
    public static final int PCI_EXP_DEVCTL_EXT_TAG = 0x0100;
    public static final int PCI_EXP_DEVCTL_PHANTOM = 0x0200;
    public static final int PCI_EXP_DEVCTL_AUX_PME = 0x0400;
    public static final int PCI_EXP_DEVCTL_NOSNOOP_EN = 0x0800;
    public static final int PCI_EXP_DEVCTL_READRQ = 0x7000;
    public static final int PCI_EXP_DEVCTL_BCR_FLR = 0x8000;
    public static final int PCI_EXP_DEVSTA = 10;
    public static final int PCI_EXP_DEVSTA_CED = 0x0001;
    public static final int PCI_EXP_DEVSTA_NFED = 0x0002;
    public static final int PCI_EXP_DEVSTA_FED = 0x0004;
    public static final int PCI_EXP_DEVSTA_URD = 0x0008;
    public static final int PCI_EXP_DEVSTA_TRPND = 0x0020;
    public static final int PCI_EXP_LNKCAP = 12;
    public static final int PCI_EXP_LNKSTA = 18;
    public static final int PCI_EXP_DEVCAP2 = 0x24;
    public static final int PCI_EXP_DEVCTL2 = 0x28;
    public static final int PCI_EXP_DEVCTL2_ARI = 0x0020;
    /** Size of a version 2 endpoint PCIe capability. */
    public static final int PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 = 0x3c;

    // ---- extended capabilities ----
    public static final int PCI_EXT_CAP_ID_ATS = 0x0f;
    public static final int PCI_EXT_CAP_ID_PRI = 0x13;
    public static final int PCI_EXT_CAP_ID_PASID = 0x1b;

    public static final int PCI_ATS_CAP = 0x04;
    public static final int PCI_ATS_CAP_QDEP_MASK = 0x1f;
    public static final int PCI_ATS_CAP_PAGE_ALIGNED = 0x0020;
    public static final int PCI_ATS_CTRL = 0x06;
    public static final int PCI_ATS_CTRL_ENABLE = 0x8000;
    public static final int PCI_ATS_CTRL_STU_MASK = 0x001f;
    public static final int PCI_EXT_CAP_ATS_SIZEOF = 8;

    public static final int PCI_PRI_CTRL = 0x04;
    public static final int PCI_PRI_CTRL_ENABLE = 0x0001;
    public static final int PCI_PRI_CTRL_RESET = 0x0002;
    public static final int PCI_PRI_STATUS = 0x06;
    public static final int PCI_PRI_STATUS_RF = 0x0001;
    public static final int PCI_PRI_STATUS_UPRGI = 0x0002;
    public static final int PCI_PRI_STATUS_STOPPED = 0x0100;
    public static final int PCI_PRI_STATUS_PASID = 0x8000;
    public static final int PCI_PRI_MAX_REQ = 0x08;
    public static final int PCI_PRI_ALLOC_REQ = 0x0c;
    public static final int PCI_EXT_CAP_PRI_SIZEOF = 16;

    public static final int PCI_PASID_CAP = 0x04;
    public static final int PCI_PASID_CAP_EXEC = 0x0002;
    public static final int PCI_PASID_CAP_PRIV = 0x0004;
    public static final int PCI_PASID_CTRL = 0x06;
    public static final int PCI_PASID_CTRL_ENABLE = 0x0001;
    public static final int PCI_PASID_CTRL_EXEC = 0x0002;
    public static final int PCI_PASID_CTRL_PRIV = 0x0004;
    public static final int PCI_EXT_CAP_PASID_SIZEOF = 8;
}
