package io.uiommu.hw.smmuv3;

import io.uiommu.platform.IommuUnit;

/**
 * SMMU_IDR0..5, SMMU_IIDR and SMMU_AIDR (IHI 0070, 6.3) derived from a platform's IommuUnit:
 * stage 1 always, stage 2 and nesting with {@code nesting}, AArch64 tables, 16-bit ASIDs and VMIDs,
 * 2-level stream and CD tables, HTTU (access and dirty) with {@code dirtyTracking}, PRI with
 * {@code pri}, SSIDSIZE = pasidBits, OAS = outputAddressBits, VAX with more than 48 input bits,
 * granules as listed, range invalidation. A unit's {@code registers} entries named "IDR0".."IDR5",
 * "IIDR" and "AIDR" replace the computed value; the model and driver then follow the register.
 *
 * <p>Locking: immutable.
 */
final class IdRegisters {
    static final int IDR0_S2P = 1;
    static final int IDR0_S1P = 1 << 1;
    static final int IDR0_TTF_AARCH64 = 2 << 2;
    static final int IDR0_COHACC = 1 << 4;
    static final int IDR0_HTTU_SHIFT = 6;
    static final int IDR0_HTTU_ACCESS = 1;
    static final int IDR0_HTTU_ACCESS_DIRTY = 2;
    static final int IDR0_HYP = 1 << 9;
    static final int IDR0_ATS = 1 << 10;
    static final int IDR0_ASID16 = 1 << 12;
    static final int IDR0_MSI = 1 << 13;
    static final int IDR0_SEV = 1 << 14;
    static final int IDR0_PRI = 1 << 16;
    static final int IDR0_VMID16 = 1 << 18;
    static final int IDR0_CD2L = 1 << 19;
    static final int IDR0_TTENDIAN_LE = 2 << 21;
    static final int IDR0_STALL_MODEL_NONE = 1 << 24;
    static final int IDR0_ST_LEVEL_2LVL = 1 << 27;

    static final int IDR1_SIDSIZE_SHIFT = 0;
    static final int IDR1_SSIDSIZE_SHIFT = 6;
    static final int IDR1_PRIQS_SHIFT = 11;
    static final int IDR1_EVTQS_SHIFT = 16;
    static final int IDR1_CMDQS_SHIFT = 21;

    static final int IDR3_RIL = 1 << 10;

    static final int IDR5_GRAN4K = 1 << 4;
    static final int IDR5_GRAN16K = 1 << 5;
    static final int IDR5_GRAN64K = 1 << 6;
    static final int IDR5_VAX_52 = 1 << 10;

    /** Arm's JEP106 code with an MMU-700-like product id. */
    static final int IIDR_DEFAULT = 0x487 << 20 | 0x43b;
    /** SMMUv3.2. */
    static final int AIDR_DEFAULT = 0x02;

    static final int SID_BITS = 16;
    static final int QUEUE_LOG2_MAX = 19;

    final int[] idr = new int[6];
    final int iidr;
    final int aidr;

    IdRegisters(IommuUnit unit) {
        int idr0 = IDR0_S1P | IDR0_TTF_AARCH64 | IDR0_COHACC | IDR0_ATS | IDR0_ASID16 | IDR0_MSI | IDR0_SEV
                | IDR0_VMID16 | IDR0_CD2L | IDR0_TTENDIAN_LE | IDR0_STALL_MODEL_NONE | IDR0_ST_LEVEL_2LVL;
        if (unit.nesting()) {
            idr0 |= IDR0_S2P;
        }
        if (unit.dirtyTracking()) {
            idr0 |= IDR0_HTTU_ACCESS_DIRTY << IDR0_HTTU_SHIFT;
        }
        if (unit.pri()) {
            idr0 |= IDR0_PRI;
        }
        int idr1 = SID_BITS << IDR1_SIDSIZE_SHIFT | Math.min(unit.pasidBits(), 20) << IDR1_SSIDSIZE_SHIFT
                | QUEUE_LOG2_MAX << IDR1_EVTQS_SHIFT | QUEUE_LOG2_MAX << IDR1_CMDQS_SHIFT
                | (unit.pri() ? QUEUE_LOG2_MAX << IDR1_PRIQS_SHIFT : 0);
        int oas = Ste.sizeEncoding(unit.outputAddressBits());
        if (oas < 0) {
            throw new IllegalArgumentException("SMMUv3 " + unit.name() + ": OAS of " + unit.outputAddressBits()
                    + " bits is not one of 32, 36, 40, 42, 44, 48, 52");
        }
        int idr5 = oas | (unit.inputAddressBits() > 48 ? IDR5_VAX_52 : 0);
        for (long g : unit.granules()) {
            idr5 |= switch ((int) g) {
                case 4096 -> IDR5_GRAN4K;
                case 16384 -> IDR5_GRAN16K;
                case 65536 -> IDR5_GRAN64K;
                default -> throw new IllegalArgumentException("SMMUv3 " + unit.name() + ": granule " + g);
            };
        }
        idr[0] = override(unit, "IDR0", idr0);
        idr[1] = override(unit, "IDR1", idr1);
        idr[2] = override(unit, "IDR2", 0);
        idr[3] = override(unit, "IDR3", IDR3_RIL);
        idr[4] = override(unit, "IDR4", 0);
        idr[5] = override(unit, "IDR5", idr5);
        iidr = override(unit, "IIDR", IIDR_DEFAULT);
        aidr = override(unit, "AIDR", AIDR_DEFAULT);
    }

    private static int override(IommuUnit unit, String name, int computed) {
        Long v = unit.registers().get(name);
        return v == null ? computed : (int) (long) v;
    }

    boolean s1p() {
        return (idr[0] & IDR0_S1P) != 0;
    }

    boolean s2p() {
        return (idr[0] & IDR0_S2P) != 0;
    }

    int httu() {
        return (idr[0] >>> IDR0_HTTU_SHIFT) & 3;
    }

    boolean hyp() {
        return (idr[0] & IDR0_HYP) != 0;
    }

    boolean asid16() {
        return (idr[0] & IDR0_ASID16) != 0;
    }

    boolean vmid16() {
        return (idr[0] & IDR0_VMID16) != 0;
    }

    boolean cd2l() {
        return (idr[0] & IDR0_CD2L) != 0;
    }

    boolean twoLevelStreamTable() {
        return ((idr[0] >>> 27) & 3) == 1;
    }

    boolean coherent() {
        return (idr[0] & IDR0_COHACC) != 0;
    }

    boolean pri() {
        return (idr[0] & IDR0_PRI) != 0;
    }

    int sidBits() {
        return idr[1] & 0x3f;
    }

    int ssidBits() {
        return (idr[1] >>> IDR1_SSIDSIZE_SHIFT) & 0x1f;
    }

    int cmdqLog2Max() {
        return (idr[1] >>> IDR1_CMDQS_SHIFT) & 0x1f;
    }

    int evtqLog2Max() {
        return (idr[1] >>> IDR1_EVTQS_SHIFT) & 0x1f;
    }

    boolean rangeInvalidation() {
        return (idr[3] & IDR3_RIL) != 0;
    }

    int oasBits() {
        return Ste.sizeBits(idr[5] & 7);
    }

    boolean vax() {
        return ((idr[5] >>> 10) & 3) == 1;
    }

    boolean granule(int shift) {
        return switch (shift) {
            case 12 -> (idr[5] & IDR5_GRAN4K) != 0;
            case 14 -> (idr[5] & IDR5_GRAN16K) != 0;
            case 16 -> (idr[5] & IDR5_GRAN64K) != 0;
            default -> false;
        };
    }
}
