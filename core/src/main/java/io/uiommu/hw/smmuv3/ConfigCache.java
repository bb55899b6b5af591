package io.uiommu.hw.smmuv3;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The SMMU's configuration cache: decoded STEs by StreamID and CDs by (StreamID, SubstreamID),
 * filled on a translation's first use and kept until a CFGI command drops them, whatever the
 * tables in memory say meanwhile (as hardware does). CFGI_STE also drops the stream's CDs.
 *
 * <p>In front of them sits the hit path's shortcut: (StreamID, SubstreamID) to the TLB tag the
 * cached STE and CD give, so that a TLB hit reads one flat entry instead of two decoded ones. It
 * adds no caching of its own: it is made only from the entries the cache holds at that moment and
 * counts only while the epoch it was made in is current; every CFGI and every fill that replaces an
 * STE or CD moves the epoch on, so a shortcut is never used once an entry it was made from has left
 * the cache.
 *
 * <p>Locking: STE/CD fills and invalidations run under the SMMU's lock; lookups are lock-free
 * (immutable entries; a seqlock per shortcut entry), and so are shortcut fills.
 */
final class ConfigCache {
    static final int STE_SLOTS = 256;
    static final int CD_SLOTS = 1024;
    static final int TAG_SLOTS = 256;
    /** What {@link #tlbTag} returns when it has no shortcut. */
    static final long NO_TAG = -1;

    private static final int STRIDE = 4;
    private static final int SEQ = 0;
    /** sid << 32 | (ssid + 1): SubstreamID NO_PASID is -1. */
    private static final int KEY = 1;
    private static final int TAG = 2;
    private static final int EPOCH = 3;
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);

    private final AtomicReferenceArray<StreamConfig> stes = new AtomicReferenceArray<>(STE_SLOTS);
    private final AtomicReferenceArray<ContextConfig> cds = new AtomicReferenceArray<>(CD_SLOTS);
    private final long[] tags = new long[TAG_SLOTS * STRIDE];
    /** Moved on (under the SMMU's lock) whenever a cached STE or CD is dropped or replaced. */
    private volatile long epoch = 1;

    private static int steSlot(int sid) {
        return (sid ^ (sid >>> 8)) & (STE_SLOTS - 1);
    }

    private static int cdSlot(int sid, int ssid) {
        int h = sid * 0x9E3779B1 ^ ssid * 0x85EBCA6B;
        return (h ^ (h >>> 15)) & (CD_SLOTS - 1);
    }

    StreamConfig ste(int sid) {
        StreamConfig s = stes.getAcquire(steSlot(sid));
        return s != null && s.sid() == sid ? s : null;
    }

    ContextConfig cd(int sid, int ssid) {
        ContextConfig c = cds.getAcquire(cdSlot(sid, ssid));
        return c != null && c.sid() == sid && c.ssid() == ssid ? c : null;
    }

    void put(StreamConfig s) {
        if (stes.getAndSet(steSlot(s.sid()), s) != null) {
            epoch++;
        }
    }

    void put(ContextConfig c) {
        if (cds.getAndSet(cdSlot(c.sid(), c.ssid()), c) != null) {
            epoch++;
        }
    }

    private static long tagKey(int sid, int ssid) {
        return (long) sid << 32 | Integer.toUnsignedLong(ssid + 1);
    }

    private static int tagSlot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 56) & (TAG_SLOTS - 1);
    }

    /** The hit path: the TLB tag of (sid, ssid)'s cached STE and CD, or {@link #NO_TAG}. */
    long tlbTag(int sid, int ssid) {
        long now = epoch;
        long key = tagKey(sid, ssid);
        int at = tagSlot(key) * STRIDE;
        long[] w = tags;
        long s = (long) WORD.getAcquire(w, at + SEQ);
        long k = w[at + KEY];
        long tag = w[at + TAG];
        long made = w[at + EPOCH];
        VarHandle.loadLoadFence();
        if (k != key || made != now || (s & 1) != 0 || (long) WORD.getOpaque(w, at + SEQ) != s) {
            return NO_TAG;
        }
        return tag;
    }

    /**
     * Remembers the TLB tag of (sid, ssid) as made from {@code ste} and {@code cd} (null for a
     * stage-2-only stream), if the cache holds exactly those now. Lock-free: the epoch is read
     * before the entries are compared, so a CFGI or replacement racing with this either makes the
     * comparison fail or leaves the shortcut with an epoch that is already past; a slot another
     * thread is writing is left alone (the shortcut is only an accelerator).
     */
    void putTag(int sid, int ssid, long tag, StreamConfig ste, ContextConfig cd) {
        long madeIn = epoch;
        if (stes.get(steSlot(sid)) != ste || cd != null && cds.get(cdSlot(sid, cd.ssid())) != cd) {
            return;
        }
        long key = tagKey(sid, ssid);
        int at = tagSlot(key) * STRIDE;
        long[] w = tags;
        long s = (long) WORD.getVolatile(w, at + SEQ);
        if ((s & 1) != 0 || !WORD.compareAndSet(w, at + SEQ, s, s + 1)) {
            return;
        }
        w[at + KEY] = key;
        w[at + TAG] = tag;
        w[at + EPOCH] = madeIn;
        WORD.setRelease(w, at + SEQ, s + 2);
    }

    /** CFGI_STE / CFGI_STE_RANGE: the STEs of [first, first + count) and their CDs. */
    void invalidateStes(long first, long count) {
        for (int i = 0; i < STE_SLOTS; i++) {
            StreamConfig s = stes.get(i);
            if (s != null && inRange(s.sid(), first, count)) {
                stes.set(i, null);
            }
        }
        for (int i = 0; i < CD_SLOTS; i++) {
            ContextConfig c = cds.get(i);
            if (c != null && inRange(c.sid(), first, count)) {
                cds.set(i, null);
            }
        }
        epoch++;
    }

    /** CFGI_CD (ssid >= 0) or CFGI_CD_ALL (ssid < 0). */
    void invalidateCds(int sid, int ssid) {
        for (int i = 0; i < CD_SLOTS; i++) {
            ContextConfig c = cds.get(i);
            if (c != null && c.sid() == sid && (ssid < 0 || c.ssid() == ssid)) {
                cds.set(i, null);
            }
        }
        epoch++;
    }

    private static boolean inRange(int sid, long first, long count) {
        long s = Integer.toUnsignedLong(sid);
        return s >= first && s - first < count;
    }
}
