package io.uiommu.hw.smmuv3;

/**
 * The Stream Table Entry (IHI 0070, 5.2): 64 bytes, eight little-endian dwords, one per StreamID.
 * Field positions are given per dword as Linux's arm-smmu-v3.h names them; the hardware reads them
 * from memory and the driver builds them with the helpers here.
 */
final class Ste {
    private Ste() {
    }

    static final int BYTES = 64;
    static final int DWORDS = 8;

    // dword 0
    static final long V = 1L;
    static final int CONFIG_SHIFT = 1;
    static final long CONFIG_MASK = 7L << CONFIG_SHIFT;
    static final int CONFIG_ABORT = 0;
    static final int CONFIG_BYPASS = 4;
    static final int CONFIG_S1_TRANS = 5;
    static final int CONFIG_S2_TRANS = 6;
    static final int CONFIG_NESTED = 7;
    static final int S1FMT_SHIFT = 4;
    static final long S1FMT_MASK = 3L << S1FMT_SHIFT;
    static final int S1FMT_LINEAR = 0;
    static final int S1FMT_4K_L2 = 1;
    static final int S1FMT_64K_L2 = 2;
    static final long S1CTXPTR_MASK = 0x000F_FFFF_FFFF_FFC0L;
    static final int S1CDMAX_SHIFT = 59;
    static final long S1CDMAX_MASK = 0x1FL << S1CDMAX_SHIFT;

    // dword 1
    static final long S1DSS_MASK = 3L;
    static final int S1DSS_TERMINATE = 0;
    static final int S1DSS_BYPASS = 1;
    static final int S1DSS_SSID0 = 2;
    static final long S1CIR_MASK = 3L << 2;
    static final long S1COR_MASK = 3L << 4;
    static final long S1CSH_MASK = 3L << 6;
    static final long MEV = 1L << 19;
    static final long S1STALLD = 1L << 27;
    static final int EATS_SHIFT = 28;
    static final long EATS_MASK = 3L << EATS_SHIFT;
    static final int EATS_ABT = 0;
    static final int EATS_TRANS = 1;
    static final long STRW_MASK = 3L << 30;
    static final long SHCFG_INCOMING = 1L << 44;

    // dword 2
    static final long S2VMID_MASK = 0xFFFFL;
    static final int S2T0SZ_SHIFT = 32;
    static final int S2SL0_SHIFT = 38;
    static final int S2IR0_SHIFT = 40;
    static final int S2OR0_SHIFT = 42;
    static final int S2SH0_SHIFT = 44;
    static final int S2TG_SHIFT = 46;
    static final int S2PS_SHIFT = 48;
    static final long S2AA64 = 1L << 51;
    static final long S2ENDI = 1L << 52;
    static final long S2AFFD = 1L << 53;
    static final long S2PTW = 1L << 54;
    static final long S2HD = 1L << 55;
    static final long S2HA = 1L << 56;
    static final long S2S = 1L << 57;
    static final long S2R = 1L << 58;

    // dword 3
    static final long S2TTB_MASK = 0x000F_FFFF_FFFF_FFF0L;

    /** The fields a guest may set in the vSTE of IOMMU_HWPT_DATA_ARM_SMMUV3 (STRTAB_STE_*_NESTING_ALLOWED). */
    static final long NESTING_ALLOWED_0 = V | CONFIG_MASK | S1FMT_MASK | S1CTXPTR_MASK | S1CDMAX_MASK;
    static final long NESTING_ALLOWED_1 = S1DSS_MASK | S1CIR_MASK | S1COR_MASK | S1CSH_MASK | S1STALLD | EATS_MASK;

    static int config(long dw0) {
        return (int) ((dw0 & CONFIG_MASK) >>> CONFIG_SHIFT);
    }

    static int s1fmt(long dw0) {
        return (int) ((dw0 & S1FMT_MASK) >>> S1FMT_SHIFT);
    }

    static int s1cdmax(long dw0) {
        return (int) ((dw0 & S1CDMAX_MASK) >>> S1CDMAX_SHIFT);
    }

    static int s1dss(long dw1) {
        return (int) (dw1 & S1DSS_MASK);
    }

    static int eats(long dw1) {
        return (int) ((dw1 & EATS_MASK) >>> EATS_SHIFT);
    }

    static int s2vmid(long dw2) {
        return (int) (dw2 & S2VMID_MASK);
    }

    static int s2t0sz(long dw2) {
        return (int) (dw2 >>> S2T0SZ_SHIFT) & 0x3f;
    }

    static int s2sl0(long dw2) {
        return (int) (dw2 >>> S2SL0_SHIFT) & 3;
    }

    /** S2TG: 0 = 4K, 1 = 64K, 2 = 16K (3 reserved). */
    static int s2tg(long dw2) {
        return (int) (dw2 >>> S2TG_SHIFT) & 3;
    }

    static int s2ps(long dw2) {
        return (int) (dw2 >>> S2PS_SHIFT) & 7;
    }

    /** Granule shift of a TG encoding shared by S2TG and CD.TG0 (0 = 4K, 1 = 64K, 2 = 16K); -1 if reserved. */
    static int granuleShift(int tg) {
        return switch (tg) {
            case 0 -> 12;
            case 1 -> 16;
            case 2 -> 14;
            default -> -1;
        };
    }

    static int tgOf(int granuleShift) {
        return switch (granuleShift) {
            case 12 -> 0;
            case 16 -> 1;
            case 14 -> 2;
            default -> throw new IllegalArgumentException("granule shift " + granuleShift);
        };
    }

    /** The OAS / IPS / S2PS encoding of an address width (32 → 0 ... 52 → 6); -1 if none fits. */
    static int sizeEncoding(int bits) {
        return switch (bits) {
            case 32 -> 0;
            case 36 -> 1;
            case 40 -> 2;
            case 42 -> 3;
            case 44 -> 4;
            case 48 -> 5;
            case 52 -> 6;
            default -> -1;
        };
    }

    static int sizeBits(int encoding) {
        return switch (encoding) {
            case 0 -> 32;
            case 1 -> 36;
            case 2 -> 40;
            case 3 -> 42;
            case 4 -> 44;
            case 5 -> 48;
            default -> 52;
        };
    }

    // ---- what the driver writes ----

    /** Config = abort: the device's DMA is refused without an event (the blocking domain). */
    static long[] abort() {
        return new long[] {V, 0, 0, 0, 0, 0, 0, 0};
    }

    static long[] bypass() {
        return new long[] {V | (long) CONFIG_BYPASS << CONFIG_SHIFT, SHCFG_INCOMING, 0, 0, 0, 0, 0, 0};
    }

    /** A stage-1 STE pointing at a CD table (arm_smmu_make_cdtable_ste). */
    static long[] cdTable(long cdTable, int s1fmt, int s1cdmax, int s1dss, boolean ats) {
        long dw0 = V | (long) CONFIG_S1_TRANS << CONFIG_SHIFT | (long) s1fmt << S1FMT_SHIFT
                | (cdTable & S1CTXPTR_MASK) | (long) s1cdmax << S1CDMAX_SHIFT;
        long dw1 = s1dss | 1L << 2 | 1L << 4 | 3L << 6 | (ats ? (long) EATS_TRANS << EATS_SHIFT : 0);
        return new long[] {dw0, dw1, 0, 0, 0, 0, 0, 0};
    }

    /** A stage-2 STE (arm_smmu_make_s2_domain_ste). */
    static long[] stage2(int vmid, int t0sz, int sl0, int granuleShift, int psEncoding, long ttb, boolean hd,
            boolean ats) {
        long dw0 = V | (long) CONFIG_S2_TRANS << CONFIG_SHIFT;
        long dw1 = SHCFG_INCOMING | (ats ? (long) EATS_TRANS << EATS_SHIFT : 0);
        long dw2 = vmid | (long) t0sz << S2T0SZ_SHIFT | (long) sl0 << S2SL0_SHIFT | 1L << S2IR0_SHIFT
                | 1L << S2OR0_SHIFT | 3L << S2SH0_SHIFT | (long) tgOf(granuleShift) << S2TG_SHIFT
                | (long) psEncoding << S2PS_SHIFT | S2AA64 | S2R | S2PTW | (hd ? S2HD | S2HA : 0);
        return new long[] {dw0, dw1, dw2, ttb & S2TTB_MASK, 0, 0, 0, 0};
    }
}
