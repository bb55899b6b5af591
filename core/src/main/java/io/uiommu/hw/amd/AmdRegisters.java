package io.uiommu.hw.amd;

import io.uiommu.platform.IommuUnit;

/**
 * The AMD-Vi MMIO register map (AMD IOMMU spec 48882, section 3.4; Linux amd_iommu_types.h) and the
 * feature registers a unit reports: EFR and EFR2 derived from the platform's {@link IommuUnit}, each
 * replaceable whole by the {@code registers} overrides "EFR" and "EFR2".
 *
 * <p>Locking: none (constants and pure functions).
 */
public final class AmdRegisters {
    private AmdRegisters() {
    }

    public static final int DEV_TABLE_BASE = 0x0000;
    public static final int CMD_BUF_BASE = 0x0008;
    public static final int EVT_LOG_BASE = 0x0010;
    public static final int CONTROL = 0x0018;
    public static final int EXCL_BASE = 0x0020;
    public static final int EXCL_LIMIT = 0x0028;
    public static final int EFR = 0x0030;
    public static final int PPR_LOG_BASE = 0x0038;
    public static final int EFR2 = 0x01a0;
    public static final int CMD_HEAD = 0x2000;
    public static final int CMD_TAIL = 0x2008;
    public static final int EVT_HEAD = 0x2010;
    public static final int EVT_TAIL = 0x2018;
    public static final int STATUS = 0x2020;
    public static final int PPR_HEAD = 0x2030;
    public static final int PPR_TAIL = 0x2038;

    // Control register bits.
    public static final long CONTROL_IOMMU_EN = 1L << 0;
    public static final long CONTROL_EVT_LOG_EN = 1L << 2;
    public static final long CONTROL_EVT_INT_EN = 1L << 3;
    public static final long CONTROL_COMWAIT_INT_EN = 1L << 4;
    public static final long CONTROL_CMDBUF_EN = 1L << 12;
    public static final long CONTROL_PPRLOG_EN = 1L << 13;
    public static final long CONTROL_PPRINT_EN = 1L << 14;
    public static final long CONTROL_PPR_EN = 1L << 15;
    public static final long CONTROL_GT_EN = 1L << 16;

    // Status register bits.
    public static final long STATUS_EVT_OVERFLOW = 1L << 0;
    public static final long STATUS_EVT_INT = 1L << 1;
    public static final long STATUS_COMWAIT_INT = 1L << 2;
    public static final long STATUS_EVT_RUN = 1L << 3;
    public static final long STATUS_CMDBUF_RUN = 1L << 4;
    public static final long STATUS_PPR_OVERFLOW = 1L << 5;
    public static final long STATUS_PPR_INT = 1L << 6;
    public static final long STATUS_PPR_RUN = 1L << 7;

    // Extended Feature Register bits.
    public static final long EFR_PREF_SUP = 1L << 0;
    public static final long EFR_PPR_SUP = 1L << 1;
    public static final long EFR_XT_SUP = 1L << 2;
    public static final long EFR_NX_SUP = 1L << 3;
    public static final long EFR_GT_SUP = 1L << 4;
    public static final long EFR_IA_SUP = 1L << 6;
    public static final long EFR_GA_SUP = 1L << 7;
    public static final int EFR_HATS_SHIFT = 10;
    public static final int EFR_GATS_SHIFT = 12;
    public static final int EFR_GLX_SHIFT = 14;
    public static final int EFR_PASMAX_SHIFT = 32;
    public static final long EFR_GIO_SUP = 1L << 48;
    public static final long EFR_HA_SUP = 1L << 49;
    public static final long EFR_EPH_SUP = 1L << 50;
    public static final long EFR_HD_SUP = 1L << 52;
    // EFR2: the GCR3 table root pointer may be a GPA translated by the host table (nesting).
    public static final long EFR2_GCR3_TRP_MODE = 1L << 3;

    /**
     * The EFR a unit reports: PPRSup and EPHSup with PRI; GTSup and GIoSup with PASIDs or nesting;
     * PASmax = pasidBits - 1 and GLXSup the GCR3 levels that width needs; GATS 5-level when stage 1
     * takes 57 bits; HATS 6-level host tables; HASup and HDSup with dirty tracking; NXSup and IASup.
     */
    public static long efr(IommuUnit unit) {
        Long override = unit.registers().get("EFR");
        if (override != null) {
            return override;
        }
        boolean gt = unit.pasidBits() > 0 || unit.nesting();
        long efr = EFR_NX_SUP | EFR_IA_SUP | 2L << EFR_HATS_SHIFT;
        if (unit.pri()) {
            efr |= EFR_PPR_SUP | EFR_EPH_SUP;
        }
        if (gt) {
            efr |= EFR_GT_SUP | EFR_GIO_SUP;
            int pasidBits = Math.max(1, Math.min(20, unit.pasidBits()));
            efr |= (long) (pasidBits - 1) << EFR_PASMAX_SHIFT;
            efr |= (long) gcr3LevelsFor(pasidBits) - 1 << EFR_GLX_SHIFT;
            if (unit.inputAddressBits() >= 57) {
                efr |= 1L << EFR_GATS_SHIFT;
            }
        }
        if (unit.dirtyTracking()) {
            efr |= EFR_HA_SUP | EFR_HD_SUP;
        }
        return efr;
    }

    /** EFR2: GCR3TRPMode with nesting. */
    public static long efr2(IommuUnit unit) {
        Long override = unit.registers().get("EFR2");
        if (override != null) {
            return override;
        }
        return unit.nesting() ? EFR2_GCR3_TRP_MODE : 0;
    }

    /** GCR3 table levels (1..3) that index {@code pasidBits} bits, 9 bits per level. */
    static int gcr3LevelsFor(int pasidBits) {
        return pasidBits <= 9 ? 1 : pasidBits <= 18 ? 2 : 3;
    }

    static int field(long reg, int shift, int bits) {
        return (int) ((reg >>> shift) & ((1L << bits) - 1));
    }
}
