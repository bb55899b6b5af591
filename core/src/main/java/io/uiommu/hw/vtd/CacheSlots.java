package io.uiommu.hw.vtd;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Per-slot sequence counters of a direct-mapped translation cache: writers (fills and
 * invalidations, serialized by the cache's monitor) make a slot's counter odd while they change it;
 * readers take no lock, read the counter before and after the slot's words and treat a change (or
 * an odd value) as a miss. So a hit never allocates and never blocks on a concurrent fill.
 *
 * <p>Locking: {@link #beginWrite}/{@link #endWrite} under the owning cache's monitor; reads lock-free.
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

    void beginWrite(int slot) {
        SEQ.setOpaque(seq, slot, seq[slot] + 1);
        VarHandle.storeStoreFence();
    }

    void endWrite(int slot) {
        SEQ.setRelease(seq, slot, seq[slot] + 1);
    }
}
