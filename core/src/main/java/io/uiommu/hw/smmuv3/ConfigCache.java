package io.uiommu.hw.smmuv3;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The SMMU's configuration cache: decoded STEs by StreamID and CDs by (StreamID, SubstreamID),
 * filled on a translation's first use and kept until a CFGI command drops them, whatever the
 * tables in memory say meanwhile (as hardware does). CFGI_STE also drops the stream's CDs.
 *
 * <p>Locking: lookups are lock-free reads of immutable entries; fills and invalidations run under
 * the SMMU's lock.
 */
final class ConfigCache {
    static final int STE_SLOTS = 256;
    static final int CD_SLOTS = 1024;

    private final AtomicReferenceArray<StreamConfig> stes = new AtomicReferenceArray<>(STE_SLOTS);
    private final AtomicReferenceArray<ContextConfig> cds = new AtomicReferenceArray<>(CD_SLOTS);

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
        stes.setRelease(steSlot(s.sid()), s);
    }

    void put(ContextConfig c) {
        cds.setRelease(cdSlot(c.sid(), c.ssid()), c);
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
    }

    /** CFGI_CD (ssid >= 0) or CFGI_CD_ALL (ssid < 0). */
    void invalidateCds(int sid, int ssid) {
        for (int i = 0; i < CD_SLOTS; i++) {
            ContextConfig c = cds.get(i);
            if (c != null && c.sid() == sid && (ssid < 0 || c.ssid() == ssid)) {
                cds.set(i, null);
            }
        }
    }

    private static boolean inRange(int sid, long first, long count) {
        long s = Integer.toUnsignedLong(sid);
        return s >= first && s - first < count;
    }
}
