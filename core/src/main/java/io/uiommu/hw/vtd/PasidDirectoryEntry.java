package io.uiommu.hw.vtd;

/**
 * A scalable-mode PASID directory entry (spec 9.5): 64 bits, indexed by PASID[19:6]; P, FPD and
 * the pointer to a 4 KiB PASID table of 64 entries.
 *
 * <p>Locking: constants and pure functions only.
 */
final class PasidDirectoryEntry {
    static final int SIZE = 8;
    static final int PASID_SHIFT = 6;
    static final long PRESENT = 1L;
    static final long FPD = 1L << 1;
    static final long POINTER_MASK = 0xFFFF_FFFF_FFFF_F000L;
    /** Bits 11:2 are reserved. */
    static final long RESERVED = 0xFFCL;

    private PasidDirectoryEntry() {
    }

    static long address(long directory, int pasid) {
        return directory + (long) (pasid >>> PASID_SHIFT) * SIZE;
    }
}
