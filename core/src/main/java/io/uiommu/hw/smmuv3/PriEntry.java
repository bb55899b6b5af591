package io.uiommu.hw.smmuv3;

/**
 * A PRI queue entry (16 bytes; Linux PRIQ_0_* / PRIQ_1_*): dword 0 StreamID [31:0], SubstreamID
 * [51:32], Priv 58, Exec 59, Read 60, Write 61, Last (PRG last) 62, SSV 63; dword 1 PRG index
 * [8:0], page address [63:12].
 */
final class PriEntry {
    static final int BYTES = 16;
    static final long PRIV = 1L << 58;
    static final long EXEC = 1L << 59;
    static final long READ = 1L << 60;
    static final long WRITE = 1L << 61;
    static final long LAST = 1L << 62;
    static final long SSV = 1L << 63;
    static final long ADDR_MASK = 0xFFFF_FFFF_FFFF_F000L;

    /** CMD_PRI_RESP response codes (dword 1 [13:12]). */
    static final int RESP_DENY = 0;
    static final int RESP_FAIL = 1;
    static final int RESP_SUCC = 2;

    private PriEntry() {
    }

    static long dword0(int sid, boolean ssv, int ssid, boolean read, boolean write, boolean exec, boolean priv,
            boolean last) {
        return Integer.toUnsignedLong(sid) | (ssv ? SSV | (long) (ssid & 0xFFFFF) << 32 : 0) | (priv ? PRIV : 0)
                | (exec ? EXEC : 0) | (read ? READ : 0) | (write ? WRITE : 0) | (last ? LAST : 0);
    }

    static long dword1(int prgIndex, long address) {
        return (prgIndex & 0x1FF) | address & ADDR_MASK;
    }

    static int sid(long dw0) {
        return (int) dw0;
    }

    static boolean ssv(long dw0) {
        return (dw0 & SSV) != 0;
    }

    static int ssid(long dw0) {
        return (int) (dw0 >>> 32) & 0xFFFFF;
    }

    static boolean last(long dw0) {
        return (dw0 & LAST) != 0;
    }

    static int prgIndex(long dw1) {
        return (int) dw1 & 0x1FF;
    }

    static long address(long dw1) {
        return dw1 & ADDR_MASK;
    }
}
