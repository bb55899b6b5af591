package io.uiommu.hw.amd;

import io.uiommu.pt.AmdV1PageTable;
import io.uiommu.pt.X86PageTable;

/**
 * The 256-bit Device Table Entry (spec 48882 section 2.2.2.2), four little-endian qwords at
 * DevTab base + DeviceID * 32: field masks and the encodings the driver writes and the hardware
 * decodes. Bit numbers below are within the qword named.
 *
 * <p>Locking: none (constants and pure functions).
 */
public final class DeviceTableEntry {
    private DeviceTableEntry() {
    }

    public static final int SIZE = 32;

    // qword 0
    public static final long V = 1L << 0;
    public static final long TV = 1L << 1;
    public static final int HAD_SHIFT = 7;
    public static final long HAD = 3L << HAD_SHIFT;
    public static final int MODE_SHIFT = 9;
    public static final long MODE = 7L << MODE_SHIFT;
    public static final long ROOT = 0x000f_ffff_ffff_f000L;
    public static final long PPR = 1L << 52;
    public static final long GPRP = 1L << 53;
    public static final long GIOV = 1L << 54;
    public static final long GV = 1L << 55;
    public static final int GLX_SHIFT = 56;
    public static final long GLX = 3L << GLX_SHIFT;
    public static final int GCR3_A_SHIFT = 58;
    public static final long GCR3_A = 7L << GCR3_A_SHIFT;
    public static final long IR = 1L << 61;
    public static final long IW = 1L << 62;
    // qword 1
    public static final long DOMAIN_ID = 0xffffL;
    public static final int GCR3_B_SHIFT = 16;
    public static final long GCR3_B = 0xffffL << GCR3_B_SHIFT;
    public static final long IOTLB_EN = 1L << 32;
    public static final long SE = 1L << 33;
    public static final long SA = 1L << 34;
    public static final int GCR3_C_SHIFT = 43;
    public static final long GCR3_C = 0x1f_ffffL << GCR3_C_SHIFT;
    /** Persistent qword-1 bits Linux keeps when it clears a DTE (DTE_FLAG_MASK). */
    public static final long FLAG_MASK = 0x3ffL << 32;
    // qword 2
    public static final int GPT_LEVEL_SHIFT = 54;
    public static final long GPT_LEVEL = 3L << GPT_LEVEL_SHIFT;

    /**
     * Reserved bits (QEMU's masks, with PPR and GPRP valid as EPHSup makes them): a set bit makes
     * the entry illegal.
     */
    public static final long RESERVED_0 = 0x8000_0000_0000_007cL;
    public static final long RESERVED_1 = 0x0000_0400_0000_0000L;
    public static final long RESERVED_3 = 0x08f0_0000_0000_0000L;

    public static int mode(long q0) {
        return (int) ((q0 & MODE) >>> MODE_SHIFT);
    }

    public static long root(long q0) {
        return q0 & ROOT;
    }

    public static int had(long q0) {
        return (int) ((q0 & HAD) >>> HAD_SHIFT);
    }

    public static int glx(long q0) {
        return (int) ((q0 & GLX) >>> GLX_SHIFT);
    }

    public static int domainId(long q1) {
        return (int) (q1 & DOMAIN_ID);
    }

    /** Guest page-table levels from qword 2 (GuestPagingMode 0: 4-level, 1: 5-level). */
    public static int guestLevels(long q2) {
        return (q2 & GPT_LEVEL) >>> GPT_LEVEL_SHIFT == 1 ? 5 : 4;
    }

    /** The GCR3 table root pointer, split over qword 0 [60:58] and qword 1 [31:16] and [63:43]. */
    public static long gcr3Root(long q0, long q1) {
        return ((q0 & GCR3_A) >>> GCR3_A_SHIFT) << 12 | ((q1 & GCR3_B) >>> GCR3_B_SHIFT) << 15
                | ((q1 & GCR3_C) >>> GCR3_C_SHIFT) << 31;
    }

    /** The qword-0 bits of a GCR3 root. */
    public static long gcr3Q0(long root) {
        return (root >>> 12 & 7) << GCR3_A_SHIFT;
    }

    /** The qword-1 bits of a GCR3 root. */
    public static long gcr3Q1(long root) {
        return (root >>> 15 & 0xffff) << GCR3_B_SHIFT | (root >>> 31 & 0x1f_ffff) << GCR3_C_SHIFT;
    }

    /** qword 0 of a host (v1) translating entry: V, TV, IR, IW, Mode and root. */
    public static long hostQ0(long root, int mode) {
        return V | TV | IR | IW | (long) mode << MODE_SHIFT | (mode == 0 ? 0 : root & ROOT);
    }

    /** qword 0 of a blocking entry (Linux clear_dte_entry): valid, no translation, no access. */
    public static final long BLOCKED_Q0 = V | TV;

    // Formats are stateless: one per configuration, shared by the driver and the hardware.
    private static final AmdV1PageTable[] HOST_TABLES = new AmdV1PageTable[7];
    private static final X86PageTable GUEST_4_LEVEL = new X86PageTable(4);
    private static final X86PageTable GUEST_5_LEVEL = new X86PageTable(5);

    static {
        for (int mode = 1; mode <= 6; mode++) {
            HOST_TABLES[mode] = new AmdV1PageTable(mode);
        }
    }

    /** The v1 host page-table format of DTE Mode {@code mode} (1..6). */
    static AmdV1PageTable hostTable(int mode) {
        return HOST_TABLES[mode];
    }

    /** The x86-64 guest page-table format of {@code levels} (4 or 5; see {@link #guestLevels}). */
    static X86PageTable guestTable(int levels) {
        return levels == 5 ? GUEST_5_LEVEL : GUEST_4_LEVEL;
    }
}
