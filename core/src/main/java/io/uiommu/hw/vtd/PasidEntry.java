package io.uiommu.hw.vtd;

/**
 * A scalable-mode PASID table entry (spec 9.6): 512 bits, 64 per PASID table, indexed by
 * PASID[5:0]. Qword 0: P, FPD, AW (second-stage levels - 2), PGTT, SSADE and the second-stage
 * table pointer; qword 1: DID, PWSNP, PGSNP; qword 2: SRE, FSPM (5-level first stage), WPE, EAFE
 * and the first-stage table pointer. Qwords 3..7 are reserved here (no HPT, no PASID-granular
 * memory types).
 *
 * <p>Locking: constants and pure functions only.
 */
final class PasidEntry {
    static final int SIZE = 64;
    static final int INDEX_MASK = 0x3F;

    // qword 0
    static final long PRESENT = 1L;
    static final long FPD = 1L << 1;
    static final int AW_SHIFT = 2;
    static final long AW_MASK = 7L << AW_SHIFT;
    static final int PGTT_SHIFT = 6;
    static final long PGTT_MASK = 7L << PGTT_SHIFT;
    static final long SSADE = 1L << 9;
    static final long POINTER_MASK = 0xFFFF_FFFF_FFFF_F000L;
    /** Qword 0 bits 5 and 11:10 are reserved. */
    static final long RESERVED0 = 1L << 5 | 3L << 10;

    // qword 1
    static final long DID_MASK = 0xFFFFL;
    static final long PWSNP = 1L << 23;
    static final long PGSNP = 1L << 24;

    // qword 2
    static final long SRE = 1L;
    static final int FSPM_SHIFT = 2;
    static final long FSPM_MASK = 3L << FSPM_SHIFT;
    static final long WPE = 1L << 4;
    static final long EAFE = 1L << 7;

    /** PASID-granular translation types (PGTT). */
    static final int PGTT_FIRST_STAGE = 1;
    static final int PGTT_SECOND_STAGE = 2;
    static final int PGTT_NESTED = 3;
    static final int PGTT_PASS_THROUGH = 4;

    private PasidEntry() {
    }

    static long address(long pasidTable, int pasid) {
        return pasidTable + (long) (pasid & INDEX_MASK) * SIZE;
    }

    static int pgtt(long qword0) {
        return (int) ((qword0 & PGTT_MASK) >>> PGTT_SHIFT);
    }

    static int aw(long qword0) {
        return (int) ((qword0 & AW_MASK) >>> AW_SHIFT);
    }

    static int did(long qword1) {
        return (int) (qword1 & DID_MASK);
    }

    /** First-stage levels: 4, or 5 with FSPM = 1. */
    static int firstStageLevels(long qword2) {
        return ((qword2 & FSPM_MASK) >>> FSPM_SHIFT) == 1 ? 5 : 4;
    }

    static String pgttName(int pgtt) {
        return switch (pgtt) {
            case PGTT_FIRST_STAGE -> "first-stage";
            case PGTT_SECOND_STAGE -> "second-stage";
            case PGTT_NESTED -> "nested";
            case PGTT_PASS_THROUGH -> "pass-through";
            default -> "reserved(" + pgtt + ")";
        };
    }
}
