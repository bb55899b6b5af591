package io.uiommu.hw.vtd;

/**
 * A scalable-mode root entry (spec 9.2): 128 bits per bus, 256 per 4 KiB root table. The lower
 * qword points at the context table of devfn 0..127 (LP, LCTP), the upper at 128..255 (UP, UCTP).
 *
 * <p>Locking: constants and pure functions only.
 */
final class RootEntry {
    static final int SIZE = 16;
    static final long PRESENT = 1L;
    static final long POINTER_MASK = 0xFFFF_FFFF_FFFF_F000L;
    /** Bits 11:1 of each half are reserved. */
    static final long RESERVED = 0xFFEL;

    private RootEntry() {
    }

    /** Address of the root-entry half (lower or upper qword) that covers {@code devfn}. */
    static long halfAddress(long rootTable, int bus, int devfn) {
        return rootTable + (long) bus * SIZE + (devfn >= 128 ? 8 : 0);
    }

    static long encode(long contextTable) {
        return (contextTable & POINTER_MASK) | PRESENT;
    }
}
