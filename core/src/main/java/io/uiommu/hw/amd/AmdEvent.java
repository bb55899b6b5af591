package io.uiommu.hw.amd;

/**
 * One event-log record (spec 48882 section 2.5, 16 bytes): DeviceID [15:0], PASID[19:16] at
 * [19:16], PASID[15:0] or DomainID at [47:32], flags [59:48], EventCode [63:60], address in
 * qword 1. Encodes what the model writes and decodes what a reader finds in memory.
 *
 * @param code          event code ({@link #IO_PAGE_FAULT}, ...)
 * @param deviceId      requester id
 * @param pasidOrDomain PASID (GN=1) or DomainID (GN=0) for page faults; PASID for others
 * @param flags         the 12 flag bits ({@link #FLAG_GN}, ...)
 * @param address       IOVA of a fault, physical address of a command or DTE
 */
public record AmdEvent(int code, int deviceId, int pasidOrDomain, int flags, long address) {
    public static final int SIZE = 16;

    public static final int ILLEGAL_DEV_TABLE_ENTRY = 0x1;
    public static final int IO_PAGE_FAULT = 0x2;
    public static final int DEV_TAB_HARDWARE_ERROR = 0x3;
    public static final int PAGE_TAB_HARDWARE_ERROR = 0x4;
    public static final int ILLEGAL_COMMAND_ERROR = 0x5;
    public static final int COMMAND_HARDWARE_ERROR = 0x6;
    public static final int IOTLB_INV_TIMEOUT = 0x7;
    public static final int INVALID_DEVICE_REQUEST = 0x8;
    public static final int INVALID_PPR_REQUEST = 0x9;

    // Flag bits (qword 0 bit = 48 + flag bit).
    /** Guest (PASID-tagged, GVA) translation. */
    public static final int FLAG_GN = 1 << 0;
    public static final int FLAG_NX = 1 << 1;
    /** User (not supervisor) request. */
    public static final int FLAG_US = 1 << 2;
    /** Interrupt request (0: memory access). */
    public static final int FLAG_I = 1 << 3;
    /** The page (or DTE) was present: a permission fault rather than a missing translation. */
    public static final int FLAG_PR = 1 << 4;
    /** Write (1) or read (0). */
    public static final int FLAG_RW = 1 << 5;
    /** Permission denied. */
    public static final int FLAG_PE = 1 << 6;
    /** Reserved bit not zero or an illegal level encoding. */
    public static final int FLAG_RZ = 1 << 7;
    /** ATS translation request (0: untranslated access). */
    public static final int FLAG_TR = 1 << 8;

    /** The spec's name of an event code. */
    public static String name(int code) {
        return switch (code) {
            case ILLEGAL_DEV_TABLE_ENTRY -> "ILLEGAL_DEV_TABLE_ENTRY";
            case IO_PAGE_FAULT -> "IO_PAGE_FAULT";
            case DEV_TAB_HARDWARE_ERROR -> "DEV_TAB_HARDWARE_ERROR";
            case PAGE_TAB_HARDWARE_ERROR -> "PAGE_TAB_HARDWARE_ERROR";
            case ILLEGAL_COMMAND_ERROR -> "ILLEGAL_COMMAND_ERROR";
            case COMMAND_HARDWARE_ERROR -> "COMMAND_HARDWARE_ERROR";
            case IOTLB_INV_TIMEOUT -> "IOTLB_INV_TIMEOUT";
            case INVALID_DEVICE_REQUEST -> "INVALID_DEVICE_REQUEST";
            case INVALID_PPR_REQUEST -> "INVALID_PPR_REQUEST";
            default -> "EVENT_" + code;
        };
    }

    public String name() {
        return name(code);
    }

    public boolean has(int flag) {
        return (flags & flag) == flag;
    }

    /** qword 0 of the record. */
    public static long q0(int code, int deviceId, int pasidOrDomain, int flags) {
        return (long) code << 60 | (long) (flags & 0xfff) << 48 | (long) (pasidOrDomain & 0xffff) << 32
                | (long) (pasidOrDomain >>> 16 & 0xf) << 16 | deviceId & 0xffff;
    }

    public static AmdEvent decode(long q0, long q1) {
        int pasid = (int) (q0 >>> 32 & 0xffff) | (int) (q0 >>> 16 & 0xf) << 16;
        return new AmdEvent((int) (q0 >>> 60), (int) (q0 & 0xffff), pasid, (int) (q0 >>> 48 & 0xfff), q1);
    }

    @Override
    public String toString() {
        return name() + " device " + String.format("%02x:%02x.%x", deviceId >>> 8, deviceId >>> 3 & 0x1f, deviceId & 7)
                + " pasid/domain 0x" + Integer.toHexString(pasidOrDomain) + " flags 0x" + Integer.toHexString(flags)
                + " address 0x" + Long.toHexString(address);
    }
}
