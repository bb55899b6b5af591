package io.uiommu.hw.vtd;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.ShortcutCache;
import io.uiommu.iommu.StaleTranslationAuditor;

/**
 * The PASID cache: scalable-mode PASID entries by (source id, PASID), tagged with the entry's DID
 * so that PASID-cache invalidations (domain-selective, PASID-selective within a domain, global)
 * find them. Only present entries are cached (CAP.CM = 0).
 *
 * <p>Locking: fills and invalidations under this object's monitor; lookups lock-free ({@link CacheSlots}).
 */
final class PasidCache {
    static final String NAME = "PASID cache";
    private static final int SLOTS = 1024;

    private final CacheSlots slots = new CacheSlots(SLOTS);
    /** sid << 20 | pasid, plus 1; 0 = empty. */
    private final long[] key = new long[SLOTS];
    private final int[] did = new int[SLOTS];
    private final long[] qword0 = new long[SLOTS];
    private final long[] qword1 = new long[SLOTS];
    private final long[] qword2 = new long[SLOTS];
    /** DID 15:0, PGTT 18:16, FPD 19 ({@link #summarize}). */
    private final long[] summary = new long[SLOTS];
    private final CacheFill[] fills = new CacheFill[SLOTS];
    private final StaleTranslationAuditor auditor;
    /** Advanced after every invalidation and every fill that replaces an entry. */
    private final ShortcutCache shortcuts;

    PasidCache(StaleTranslationAuditor auditor, ShortcutCache shortcuts) {
        this.auditor = auditor;
        this.shortcuts = shortcuts;
    }

    private static long keyOf(int sid, int pasid) {
        return ((long) sid << 20 | pasid) + 1;
    }

    private static int slot(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 54) & (SLOTS - 1);
    }

    static long summarize(long q0, long q1) {
        return PasidEntry.did(q1) | (long) PasidEntry.pgtt(q0) << 16 | ((q0 & PasidEntry.FPD) != 0 ? 1L << 19 : 0);
    }

    static int did(long summary) {
        return (int) (summary & 0xFFFF);
    }

    static int pgtt(long summary) {
        return (int) ((summary >>> 16) & 7);
    }

    static boolean faultsDisabled(long summary) {
        return (summary & 1L << 19) != 0;
    }

    /** The hit path: the entry's summary, or -1 on a miss. */
    long summary(int sid, int pasid, boolean audit) {
        long k = keyOf(sid, pasid);
        int i = slot(k);
        long s = slots.readBegin(i);
        long kk = key[i];
        long sum = summary[i];
        if (kk != k || !slots.readValid(i, s)) {
            return -1;
        }
        if (audit) {
            CacheFill f = fills[i];
            if (f != null && f.words() > 0) {
                auditor.checkHit("vtd", NAME, "sid " + VtdIommu.bdf(sid) + " pasid " + pasid + " did " + did[i], f);
            }
        }
        return sum;
    }

    /** The entry's qwords 0..2 into {@code out} on a hit; no audit (the summary lookup did it). */
    boolean lookup(int sid, int pasid, long[] out) {
        long k = keyOf(sid, pasid);
        int i = slot(k);
        long s = slots.readBegin(i);
        long kk = key[i];
        long q0 = qword0[i];
        long q1 = qword1[i];
        long q2 = qword2[i];
        if (kk != k || !slots.readValid(i, s)) {
            return false;
        }
        out[0] = q0;
        out[1] = q1;
        out[2] = q2;
        return true;
    }

    /** Caches a present PASID entry at {@code entryAddress}, reached through the directory word at {@code dirAddress}. */
    synchronized void fill(int sid, int pasid, long dirAddress, long dirEntry, long entryAddress, long q0, long q1,
            long q2) {
        long k = keyOf(sid, pasid);
        int i = slot(k);
        slots.beginWrite(i);
        boolean replaced = key[i] != 0;
        key[i] = k;
        did[i] = PasidEntry.did(q1);
        qword0[i] = q0;
        qword1[i] = q1;
        qword2[i] = q2;
        summary[i] = summarize(q0, q1);
        if (auditor != null && auditor.enabled()) {
            CacheFill f = fills[i] == null ? (fills[i] = new CacheFill()) : fills[i];
            f.begin(auditor);
            f.add(auditor, dirAddress, dirEntry);
            f.add(auditor, entryAddress, q0);
            f.add(auditor, entryAddress + 8, q1);
            f.add(auditor, entryAddress + 16, q2);
        } else if (fills[i] != null) {
            fills[i].begin(auditor);
        }
        slots.endWrite(i);
        if (replaced) {
            shortcuts.advance();
        }
    }

    synchronized void invalidateAll() {
        for (int i = 0; i < SLOTS; i++) {
            if (key[i] != 0) {
                clear(i);
            }
        }
        shortcuts.advance();
    }

    /** Domain-selective: every PASID entry tagged with {@code domainId}. */
    synchronized void invalidateDomain(int domainId) {
        for (int i = 0; i < SLOTS; i++) {
            if (key[i] != 0 && did[i] == domainId) {
                clear(i);
            }
        }
        shortcuts.advance();
    }

    /** PASID-selective within a domain. */
    synchronized void invalidatePasid(int domainId, int pasid) {
        for (int i = 0; i < SLOTS; i++) {
            if (key[i] != 0 && did[i] == domainId && (int) ((key[i] - 1) & 0xFFFFF) == pasid) {
                clear(i);
            }
        }
        shortcuts.advance();
    }

    /** Entries reached through the context entries of {@code sid} (a context-cache invalidation drops them too). */
    synchronized void invalidateSource(int sid, int ignoreMask) {
        for (int i = 0; i < SLOTS; i++) {
            if (key[i] != 0 && ((int) ((key[i] - 1) >>> 20) & ~ignoreMask) == (sid & ~ignoreMask)) {
                clear(i);
            }
        }
        shortcuts.advance();
    }

    private void clear(int i) {
        slots.beginWrite(i);
        key[i] = 0;
        slots.endWrite(i);
    }
}
