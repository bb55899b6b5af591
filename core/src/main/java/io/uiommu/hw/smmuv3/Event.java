package io.uiommu.hw.smmuv3;

/**
 * Event queue records (IHI 0070, 7.3): 32 bytes; dword 0 has the event id, SubstreamID and
 * StreamID, dword 1 the access (RnW, InD, PnU), S2 and CLASS, dword 2 the input address, dword 3
 * the IPA of a stage-2 fault or the address of a failed fetch.
 */
public final class Event {
    private Event() {
    }

    static final int BYTES = 32;

    public static final int F_UUT = 0x01;
    public static final int C_BAD_STREAMID = 0x02;
    public static final int F_STE_FETCH = 0x03;
    public static final int C_BAD_STE = 0x04;
    public static final int F_BAD_ATS_TREQ = 0x05;
    public static final int F_STREAM_DISABLED = 0x06;
    public static final int F_TRANS_FORBIDDEN = 0x07;
    public static final int C_BAD_SUBSTREAMID = 0x08;
    public static final int F_CD_FETCH = 0x09;
    public static final int C_BAD_CD = 0x0a;
    public static final int F_WALK_EABT = 0x0b;
    public static final int F_TRANSLATION = 0x10;
    public static final int F_ADDR_SIZE = 0x11;
    public static final int F_ACCESS = 0x12;
    public static final int F_PERMISSION = 0x13;
    public static final int F_TLB_CONFLICT = 0x20;
    public static final int F_CFG_CONFLICT = 0x21;

    /** CLASS of a fault: during the CD fetch, a stage-1 table walk, or the input address itself. */
    public static final int CLASS_CD = 0;
    public static final int CLASS_TT = 1;
    public static final int CLASS_IN = 2;

    static final long SSV = 1L << 11;
    static final int SSID_SHIFT = 12;
    static final int SID_SHIFT = 32;
    static final long PNU = 1L << 33;
    static final long IND = 1L << 34;
    static final long RNW = 1L << 35;
    static final long S2 = 1L << 39;
    static final int CLASS_SHIFT = 40;
    static final long IPA_MASK = 0x000F_FFFF_FFFF_F000L;

    public static String name(int id) {
        return switch (id) {
            case F_UUT -> "F_UUT";
            case C_BAD_STREAMID -> "C_BAD_STREAMID";
            case F_STE_FETCH -> "F_STE_FETCH";
            case C_BAD_STE -> "C_BAD_STE";
            case F_BAD_ATS_TREQ -> "F_BAD_ATS_TREQ";
            case F_STREAM_DISABLED -> "F_STREAM_DISABLED";
            case F_TRANS_FORBIDDEN -> "F_TRANS_FORBIDDEN";
            case C_BAD_SUBSTREAMID -> "C_BAD_SUBSTREAMID";
            case F_CD_FETCH -> "F_CD_FETCH";
            case C_BAD_CD -> "C_BAD_CD";
            case F_WALK_EABT -> "F_WALK_EABT";
            case F_TRANSLATION -> "F_TRANSLATION";
            case F_ADDR_SIZE -> "F_ADDR_SIZE";
            case F_ACCESS -> "F_ACCESS";
            case F_PERMISSION -> "F_PERMISSION";
            case F_TLB_CONFLICT -> "F_TLB_CONFLICT";
            case F_CFG_CONFLICT -> "F_CFG_CONFLICT";
            default -> "event 0x" + Integer.toHexString(id);
        };
    }

    static long dword0(int id, int sid, int ssid) {
        return id | (ssid >= 0 ? SSV | (long) ssid << SSID_SHIFT : 0) | (long) sid << SID_SHIFT;
    }

    static long dword1(boolean write, boolean stage2, int eventClass) {
        return (write ? 0 : RNW) | (stage2 ? S2 : 0) | (long) eventClass << CLASS_SHIFT;
    }

    static int id(long dw0) {
        return (int) (dw0 & 0xff);
    }

    static int sid(long dw0) {
        return (int) (dw0 >>> SID_SHIFT);
    }
}
