package io.uiommu.hw.smmuv3;

/**
 * The Context Descriptor (IHI 0070, 5.4): 64 bytes describing one stage-1 translation — the
 * table (TTB0, T0SZ, TG0), its ASID and the hardware update bits — found in the CD table the STE
 * points at, by SubstreamID.
 */
final class Cd {
    private Cd() {
    }

    static final int BYTES = 64;

    static final long T0SZ_MASK = 0x3fL;
    static final int TG0_SHIFT = 6;
    static final int IR0_SHIFT = 8;
    static final int OR0_SHIFT = 10;
    static final int SH0_SHIFT = 12;
    static final long EPD0 = 1L << 14;
    static final long ENDI = 1L << 15;
    static final long EPD1 = 1L << 30;
    static final long V = 1L << 31;
    static final int IPS_SHIFT = 32;
    static final long AFFD = 1L << 35;
    static final long TBI0 = 1L << 38;
    static final long AA64 = 1L << 41;
    static final long HD = 1L << 42;
    static final long HA = 1L << 43;
    static final long S = 1L << 44;
    static final long R = 1L << 45;
    static final long A = 1L << 46;
    static final long ASET = 1L << 47;
    static final int ASID_SHIFT = 48;

    static final long TTB0_MASK = 0x000F_FFFF_FFFF_FFF0L;

    /** Linux's MAIR: attribute 0 device, 1 normal write-back, 2 normal non-cacheable. */
    static final long MAIR = 0x0000_0000_0044_ff04L;

    // CD table L1 descriptor (S1Fmt 1 and 2)
    static final long L1_V = 1L;
    static final long L1_L2PTR_MASK = 0x000F_FFFF_FFFF_F000L;
    /** CDs per L2 table: 64 for S1Fmt = 1 (4 KiB), 1024 for S1Fmt = 2 (64 KiB). */
    static int l2Entries(int s1fmt) {
        return s1fmt == Ste.S1FMT_4K_L2 ? 64 : 1024;
    }

    static int t0sz(long dw0) {
        return (int) (dw0 & T0SZ_MASK);
    }

    static int tg0(long dw0) {
        return (int) (dw0 >>> TG0_SHIFT) & 3;
    }

    static int ips(long dw0) {
        return (int) (dw0 >>> IPS_SHIFT) & 7;
    }

    static int asid(long dw0) {
        return (int) (dw0 >>> ASID_SHIFT) & 0xffff;
    }

    /** A valid CD for a stage-1 table (arm_smmu_make_s1_cd). */
    static long[] stage1(int asid, int t0sz, int granuleShift, int ipsEncoding, long ttb0, boolean hardwareDirty) {
        long dw0 = t0sz | (long) Ste.tgOf(granuleShift) << TG0_SHIFT | 1L << IR0_SHIFT | 1L << OR0_SHIFT
                | 3L << SH0_SHIFT | EPD1 | V | (long) ipsEncoding << IPS_SHIFT | AA64 | R | A | ASET
                | (long) asid << ASID_SHIFT | (hardwareDirty ? HA | HD : 0);
        return new long[] {dw0, ttb0 & TTB0_MASK, 0, MAIR, 0, 0, 0, 0};
    }
}
