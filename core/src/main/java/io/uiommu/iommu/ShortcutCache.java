package io.uiommu.iommu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What a translation's hit path learns from a model's configuration caches (SMMUv3 STE and CD,
 * VT-d context and PASID entries), remembered under the request's key so that the next hit reads
 * one flat entry instead of walking those caches again. It caches nothing the hardware would not:
 * an entry counts only while the epoch it was made in is current, and the owning caches move the
 * epoch on ({@link #advance}) after every invalidation and every fill that replaces an entry, so a
 * shortcut is never used once an entry it was made from has left its cache.
 *
 * <p>Direct-mapped, {@value #SLOTS} entries of four longs in one array (sequence, key, value,
 * epoch). Lookups read no lock and allocate nothing; a lookup racing with a writer misses.
 *
 * <p>Locking: none; a slot's odd sequence word excludes other writers (taken by compare-and-set,
 * a busy slot is skipped: a shortcut may always be left out).
 */
public final class ShortcutCache {
    /** What {@link #get} returns without a shortcut; values must be non-negative. */
    public static final long NONE = -1;
    static final int SLOTS = 256;

    private static final int STRIDE = 4;
    private static final int SEQ = 0;
    private static final int KEY = 1;
    private static final int VALUE = 2;
    private static final int EPOCH = 3;
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle EPOCH_FIELD;

    static {
        try {
            EPOCH_FIELD = MethodHandles.lookup().findVarHandle(ShortcutCache.class, "epoch", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long[] words = new long[SLOTS * STRIDE];
    /** Starts above 0 so that the zeroed slots (epoch 0) never count. */
    private volatile long epoch = 1;

    private static int slot(long key) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> 56) & (SLOTS - 1);
    }

    /** The epoch to pass to {@link #put}: read it before looking up what the shortcut is made from. */
    public long epoch() {
        return epoch;
    }

    /** Every shortcut made so far stops counting (call after dropping or replacing a source entry). */
    public void advance() {
        EPOCH_FIELD.getAndAdd(this, 1L);
    }

    /** The value remembered under {@code key} in the current epoch, or {@link #NONE}. */
    public long get(long key) {
        long now = epoch;
        long[] w = words;
        int at = slot(key) * STRIDE;
        long s = (long) WORD.getAcquire(w, at + SEQ);
        long k = w[at + KEY];
        long value = w[at + VALUE];
        long madeIn = w[at + EPOCH];
        VarHandle.loadLoadFence();
        if (k != key || madeIn != now || (s & 1) != 0 || (long) WORD.getOpaque(w, at + SEQ) != s) {
            return NONE;
        }
        return value;
    }

    /**
     * Remembers {@code value} under {@code key} as made from what the source caches held after
     * {@link #epoch} returned {@code madeIn}; left out when the slot is being written.
     */
    public void put(long key, long value, long madeIn) {
        long[] w = words;
        int at = slot(key) * STRIDE;
        long s = (long) WORD.getVolatile(w, at + SEQ);
        if ((s & 1) != 0 || !WORD.compareAndSet(w, at + SEQ, s, s + 1)) {
            return;
        }
        w[at + KEY] = key;
        w[at + VALUE] = value;
        w[at + EPOCH] = madeIn;
        WORD.setRelease(w, at + SEQ, s + 2);
    }
}
