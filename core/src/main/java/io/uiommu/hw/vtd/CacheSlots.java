package io.uiommu.hw.vtd;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Per-slot sequence counters of a direct-mapped translation cache: a writer (fill or
 * invalidation) makes a slot's counter odd while it changes the slot — {@link #beginWrite} takes
 * the slot by a compare-and-set from even to odd, so writers of one slot exclude each other without
 * a monitor; readers take no lock, read the counter before and after the slot's words and treat a
 * change (or an odd value) as a miss. So a hit never allocates and never blocks on a fill.
 *
 * <p>Locking: per slot, by the counter itself; reads lock-free.
 */
final class CacheSlots {
    private static final VarHandle SEQ = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] seq;

    CacheSlots(int slots) {
        seq = new long[slots];
    }

    /** The counter before reading a slot; odd means "being written" (callers then miss). */
    long readBegin(int slot) {
        return (long) SEQ.getAcquire(seq, slot);
    }

    /** Whether the slot stayed unchanged since {@link #readBegin}. */
    boolean readValid(int slot, long begin) {
        VarHandle.loadLoadFence();
        return (begin & 1) == 0 && (long) SEQ.getOpaque(seq, slot) == begin;
    }

    /** Takes the slot (spinning while another writer holds it). */
    void beginWrite(int slot) {
        while (true) {
            long s = (long) SEQ.getVolatile(seq, slot);
            if ((s & 1) == 0 && SEQ.compareAndSet(seq, slot, s, s + 1)) {
                return;
            }
            Thread.onSpinWait();
        }
    }

    void endWrite(int slot) {
        SEQ.setRelease(seq, slot, seq[slot] + 1);
    }
}
