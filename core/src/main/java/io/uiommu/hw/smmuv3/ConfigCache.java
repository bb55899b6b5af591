package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.ShortcutCache;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The SMMU's configuration cache: decoded STEs by StreamID and CDs by (StreamID, SubstreamID),
 * filled on a translation's first use and kept until a CFGI command drops them, whatever the
 * tables in memory say meanwhile (as hardware does). CFGI_STE also drops the stream's CDs.
 *
 * <p>In front of them sits the hit path's shortcut ({@link ShortcutCache}): (StreamID,
 * SubstreamID) to the TLB tag the cached STE and CD give, so that a TLB hit reads one flat entry
 * instead of two decoded ones. Every CFGI and every fill that replaces an STE or CD advances its
 * epoch, so no shortcut outlives an entry it was made from.
 *
 * <p>Locking: fills and invalidations run under the SMMU's lock; lookups are lock-free reads of
 * immutable entries, and shortcut fills are lock-free.
 */
final class ConfigCache {
    static final int STE_SLOTS = 256;
    static final int CD_SLOTS = 1024;
    /** What {@link #tlbTag} returns when it has no shortcut. */
    static final long NO_TAG = ShortcutCache.NONE;

    private final AtomicReferenceArray<StreamConfig> stes = new AtomicReferenceArray<>(STE_SLOTS);
    private final AtomicReferenceArray<ContextConfig> cds = new AtomicReferenceArray<>(CD_SLOTS);
    private final ShortcutCache tags = new ShortcutCache();

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
            tags.advance();
        }
    }

    void put(ContextConfig c) {
        if (cds.getAndSet(cdSlot(c.sid(), c.ssid()), c) != null) {
            tags.advance();
        }
    }

    private static long tagKey(int sid, int ssid) {
        return (long) sid << 32 | Integer.toUnsignedLong(ssid + 1);
    }

    /** The hit path: the TLB tag of (sid, ssid)'s cached STE and CD, or {@link #NO_TAG}. */
    long tlbTag(int sid, int ssid) {
        return tags.get(tagKey(sid, ssid));
    }

    /**
     * Remembers the TLB tag of (sid, ssid) as made from {@code ste} and {@code cd} (null for a
     * stage-2-only stream), if the cache holds exactly those now. The epoch is read before the
     * entries are compared, so a CFGI or replacement racing with this either makes the comparison
     * fail or leaves the shortcut in an epoch already past.
     */
    void putTag(int sid, int ssid, long tag, StreamConfig ste, ContextConfig cd) {
        long madeIn = tags.epoch();
        if (stes.get(steSlot(sid)) != ste || cd != null && cds.get(cdSlot(sid, cd.ssid())) != cd) {
            return;
        }
        tags.put(tagKey(sid, ssid), tag, madeIn);
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
        tags.advance();
    }

    /** CFGI_CD (ssid >= 0) or CFGI_CD_ALL (ssid < 0). */
    void invalidateCds(int sid, int ssid) {
        for (int i = 0; i < CD_SLOTS; i++) {
            ContextConfig c = cds.get(i);
            if (c != null && c.sid() == sid && (ssid < 0 || c.ssid() == ssid)) {
                cds.set(i, null);
            }
        }
        tags.advance();
    }

    private static boolean inRange(int sid, long first, long count) {
        long s = Integer.toUnsignedLong(sid);
        return s >= first && s - first < count;
    }
}
