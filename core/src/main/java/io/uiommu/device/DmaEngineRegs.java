package io.uiommu.device;

/**
 * The dma-engine's programming interface: PCI identity and the BAR0 register map, the datasheet of
 * docs/devices.md in code. Registers are 32 bits, little-endian; the 64-bit ones are two dwords
 * (low first) that may be accessed as one 8-byte access. Unlisted offsets below the data window
 * read as zero and ignore writes.
 */
public final class DmaEngineRegs {
    private DmaEngineRegs() {
    }

    // ---- PCI identity ----
    /**
     * 0x1234 is not a vendor id the PCI-SIG assigns to real silicon in use; emulators use it for
     * test devices (QEMU's "edu" is 1234:11e8), so no host driver binds to the engine by accident.
     */
    public static final int VENDOR_ID = 0x1234;
    /** "DAE": DMA engine. */
    public static final int DEVICE_ID = 0xdae0;
    public static final int SUBSYSTEM_VENDOR_ID = 0x1234;
    public static final int SUBSYSTEM_ID = 0x0001;
    public static final int REVISION = 0x01;
    /** Base class 08 (system peripheral), subclass 80 (other), prog-if 00. */
    public static final int CLASS_CODE = 0x088000;

    /** BAR0: 64 KiB of 32-bit non-prefetchable memory. */
    public static final int BAR0_SIZE = 0x1_0000;

    // ---- BAR0 registers ----
    /** RO: "DMAE" as a number. */
    public static final int REG_ID = 0x000;
    /** RO: major << 16 | minor. */
    public static final int REG_VERSION = 0x004;
    /** RO: which optional capabilities the function has (CAPS_*). */
    public static final int REG_CAPS = 0x008;
    /** RO: bytes in the data window, the longest transfer. */
    public static final int REG_BUF_SIZE = 0x00c;
    /** RW 64: source IOVA (TO_DEVICE, COPY). */
    public static final int REG_SRC_IOVA = 0x010;
    /** RW 64: destination IOVA (FROM_DEVICE, COPY). */
    public static final int REG_DST_IOVA = 0x018;
    /** RW: transfer length in bytes, 1..BUF_SIZE. */
    public static final int REG_LENGTH = 0x020;
    /** RW: where in the data window TO_DEVICE puts and FROM_DEVICE takes the bytes. */
    public static final int REG_BUF_OFFSET = 0x024;
    /** RW: PASID (bits 19:0) and PASID_* flags. */
    public static final int REG_PASID = 0x028;
    /** RW: the operation (OP_*). */
    public static final int REG_OP = 0x02c;
    /** WO: writing DOORBELL_START starts the programmed transfer; reads 0. */
    public static final int REG_DOORBELL = 0x030;
    /** RO: STATUS_*. */
    public static final int REG_STATUS = 0x034;
    /** RO: why the last doorbell was refused (ERROR_*), with STATUS_ERROR. */
    public static final int REG_ERROR = 0x038;
    /** RO: bytes the last transfer moved (for COPY: bytes written to the destination). */
    public static final int REG_BYTES_DONE = 0x040;
    /** RO 64: the IOVA whose translation faulted. */
    public static final int REG_FAULT_IOVA = 0x048;
    /** RO: the fault's vendor name as IommuCore.faultNameIndex numbers it (0: none). */
    public static final int REG_FAULT_REASON = 0x050;
    /** RO: the vendor's fault code. */
    public static final int REG_FAULT_CODE = 0x054;
    /** RO: FAULT_INFO_* bits and the page-table level in bits 11:8. */
    public static final int REG_FAULT_INFO = 0x058;
    /** RO: the PASID of the faulting request. */
    public static final int REG_FAULT_PASID = 0x05c;
    /** RW1C: INT_* causes. */
    public static final int REG_INT_STATUS = 0x060;
    /** RW: INT_* causes that do not send an MSI (1 = masked). */
    public static final int REG_INT_MASK = 0x064;
    /** RO: transfers that ended in DONE since reset (wraps at 2^32). */
    public static final int REG_COMPLETED = 0x068;

    /**
     * The data window: the device's own buffer, any width, any alignment. It is plain memory (no
     * side effects), so VFIO offers it for mmap; the registers below it trap.
     */
    public static final int DATA_WINDOW = 0x8000;
    public static final int DATA_WINDOW_SIZE = 0x8000;
    /** The window in 4 KiB pages. */
    public static final int DATA_WINDOW_PAGES = DATA_WINDOW_SIZE / 4096;

    public static final int ID_VALUE = 0x444d_4145;
    public static final int VERSION_VALUE = 0x0001_0000;

    public static final int CAPS_PASID = 1 << 0;
    public static final int CAPS_PRI = 1 << 1;
    public static final int CAPS_ATS = 1 << 2;

    public static final int PASID_MASK = 0xf_ffff;
    public static final int PASID_PRIV = 1 << 29;
    public static final int PASID_EXEC = 1 << 30;
    public static final int PASID_VALID = 1 << 31;

    /** Device reads memory at SRC_IOVA into the data window. */
    public static final int OP_TO_DEVICE = 0;
    /** Device writes the data window to memory at DST_IOVA. */
    public static final int OP_FROM_DEVICE = 1;
    /** Device copies SRC_IOVA to DST_IOVA through an internal staging buffer. */
    public static final int OP_COPY = 2;
    public static final int OP_MASK = 0x3;

    public static final int DOORBELL_START = 1;

    public static final int STATUS_IDLE = 0;
    public static final int STATUS_BUSY = 1;
    public static final int STATUS_DONE = 2;
    public static final int STATUS_FAULT = 3;
    /** A page request is outstanding; the transfer resumes or ends with the response. */
    public static final int STATUS_PAGE_WAIT = 4;
    public static final int STATUS_ERROR = 5;

    public static final int ERROR_NONE = 0;
    /** Bus Master Enable is clear in the command register: the function may not issue DMA. */
    public static final int ERROR_BUS_MASTER = 1;
    /** LENGTH is 0 or above BUF_SIZE, or BUF_OFFSET + LENGTH passes the window. */
    public static final int ERROR_LENGTH = 2;
    /** OP is not one of OP_*. */
    public static final int ERROR_OP = 3;
    /** PASID_VALID without an enabled PASID capability, a PASID wider than the capability, or PRIV/EXEC not enabled. */
    public static final int ERROR_PASID = 4;

    public static final int FAULT_INFO_WRITE = 1 << 0;
    public static final int FAULT_INFO_STAGE2 = 1 << 1;
    public static final int FAULT_INFO_PASID = 1 << 2;
    public static final int FAULT_INFO_LEVEL_SHIFT = 8;

    public static final int INT_DONE = 1 << 0;
    public static final int INT_FAULT = 1 << 1;
    public static final int INT_ERROR = 1 << 2;
    public static final int INT_ALL = INT_DONE | INT_FAULT | INT_ERROR;

    // ---- capability values ----
    /** PRI: outstanding page requests the function can have (Outstanding Page Request Capacity). */
    public static final int PRI_CAPACITY = 32;
}
