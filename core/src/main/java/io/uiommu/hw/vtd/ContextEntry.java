package io.uiommu.hw.vtd;

/**
 * A scalable-mode context entry (spec 9.4): 256 bits, 128 per 4 KiB context table, indexed by
 * devfn[6:0]. Qword 0: P, FPD, DTE (device TLB), PASIDE, PRE, PDTS (the PASID directory holds
 * 2^(PDTS+7) entries) and the PASID directory pointer; qword 1: RID_PASID, the PASID that requests
 * without a PASID use. Qwords 2 and 3 are reserved.
 *
 * <p>Locking: constants and pure functions only.
 */
final class ContextEntry {
    static final int SIZE = 32;
    static final long PRESENT = 1L;
    static final long FPD = 1L << 1;
    static final long DTE = 1L << 2;
    static final long PASIDE = 1L << 3;
    static final long PRE = 1L << 4;
    static final int PDTS_SHIFT = 9;
    static final long PDTS_MASK = 7L << PDTS_SHIFT;
    static final long POINTER_MASK = 0xFFFF_FFFF_FFFF_F000L;
    /** Qword 0 bits 8:5 are reserved. */
    static final long RESERVED0 = 0x1E0L;
    static final long RID_PASID_MASK = 0xFFFFFL;
    /** Qword 1 bits 63:21 are reserved (bit 20 was RID_PRIV). */
    static final long RESERVED1 = 0xFFFF_FFFF_FFE0_0000L;

    private ContextEntry() {
    }

    static long address(long contextTable, int devfn) {
        return contextTable + (long) (devfn & 0x7F) * SIZE;
    }

    /** PASID directory entries: 2^(PDTS + 7). */
    static int directoryEntries(long qword0) {
        return 1 << (((qword0 & PDTS_MASK) >>> PDTS_SHIFT) + 7);
    }

    static long encode0(long pasidDirectory, int pdts, boolean dte, boolean paside) {
        return (pasidDirectory & POINTER_MASK) | ((long) pdts << PDTS_SHIFT) | (dte ? DTE : 0) | (paside ? PASIDE : 0)
                | PRESENT;
    }
}
