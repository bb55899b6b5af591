package io.uiommu.hw.vtd;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.ShortcutCache;
import io.uiommu.iommu.StaleTranslationAuditor;

/**
 * The context cache: scalable-mode context entries by source id (bus:devfn), direct-mapped. Only
 * present entries are cached (the model has CAP.CM = 0), so making an entry present needs no
 * invalidation; changing or clearing a present one does (context-cache invalidation descriptor).
 *
 * <p>Locking: fills and invalidations under this object's monitor; lookups lock-free ({@link CacheSlots}).
 */
final class ContextCache {
    static final String NAME = "context cache";
    private static final int SLOTS = 256;

    private final CacheSlots slots = new CacheSlots(SLOTS);
    /** source id + 1; 0 = empty. */
    private final int[] key = new int[SLOTS];
    private final long[] qword0 = new long[SLOTS];
    private final long[] qword1 = new long[SLOTS];
    /** What a hit needs, packed at fill time ({@link #summarize}). */
    private final long[] summary = new long[SLOTS];
    private final CacheFill[] fills = new CacheFill[SLOTS];
    private final StaleTranslationAuditor auditor;
    /** Advanced after every invalidation and every fill that replaces an entry. */
    private final ShortcutCache shortcuts;

    ContextCache(StaleTranslationAuditor auditor, ShortcutCache shortcuts) {
        this.auditor = auditor;
        this.shortcuts = shortcuts;
    }

    private static int slot(int sid) {
        return (sid ^ (sid >>> 8)) & (SLOTS - 1);
    }

    /** RID_PASID 19:0, PASIDE 20, FPD 21, PDTS 24:22 of a context entry. */
    static long summarize(long q0, long q1) {
        return (q1 & ContextEntry.RID_PASID_MASK) | ((q0 & ContextEntry.PASIDE) != 0 ? 1L << 20 : 0)
                | ((q0 & ContextEntry.FPD) != 0 ? 1L << 21 : 0)
                | ((q0 & ContextEntry.PDTS_MASK) >>> ContextEntry.PDTS_SHIFT) << 22;
    }

    static int ridPasid(long summary) {
        return (int) (summary & ContextEntry.RID_PASID_MASK);
    }

    static boolean pasidEnabled(long summary) {
        return (summary & 1L << 20) != 0;
    }

    static boolean faultsDisabled(long summary) {
        return (summary & 1L << 21) != 0;
    }

    /** PASIDs the context's PASID directory covers: 2^(PDTS + 7) entries of 64. */
    static long pasidLimit(long summary) {
        return 1L << (((summary >>> 22) & 7) + 7 + PasidDirectoryEntry.PASID_SHIFT);
    }

    /** The hit path: the entry's summary, or -1 on a miss. */
    long summary(int sid, boolean audit) {
        int i = slot(sid);
        long s = slots.readBegin(i);
        int k = key[i];
        long sum = summary[i];
        if (k != sid + 1 || !slots.readValid(i, s)) {
            return -1;
        }
        if (audit) {
            audit(i, sid);
        }
        return sum;
    }

    /** The whole entry (qwords 0..1 into {@code out}) on a hit; no audit (the summary lookup did it). */
    boolean lookup(int sid, long[] out) {
        int i = slot(sid);
        long s = slots.readBegin(i);
        int k = key[i];
        long q0 = qword0[i];
        long q1 = qword1[i];
        if (k != sid + 1 || !slots.readValid(i, s)) {
            return false;
        }
        out[0] = q0;
        out[1] = q1;
        return true;
    }

    private void audit(int i, int sid) {
        CacheFill f = fills[i];
        if (f != null && f.words() > 0) {
            auditor.checkHit("vtd", NAME, "sid " + VtdIommu.bdf(sid), f);
        }
    }

    /** Caches a present entry read from {@code address}. */
    synchronized void fill(int sid, long address, long q0, long q1) {
        int i = slot(sid);
        slots.beginWrite(i);
        boolean replaced = key[i] != 0;
        key[i] = sid + 1;
        qword0[i] = q0;
        qword1[i] = q1;
        summary[i] = summarize(q0, q1);
        if (auditor != null && auditor.enabled()) {
            CacheFill f = fills[i] == null ? (fills[i] = new CacheFill()) : fills[i];
            f.begin(auditor);
            f.add(auditor, address, q0);
            f.add(auditor, address + 8, q1);
        } else if (fills[i] != null) {
            fills[i].begin(auditor);
        }
        slots.endWrite(i);
        if (replaced) {
            shortcuts.advance();
        }
    }

    /** Global invalidation (also what domain-selective means in scalable mode: DID is ignored). */
    synchronized void invalidateAll() {
        for (int i = 0; i < SLOTS; i++) {
            if (key[i] != 0) {
                clear(i);
            }
        }
        shortcuts.advance();
    }

    /** Device-selective invalidation: source ids equal to {@code sid} outside the function mask. */
    synchronized void invalidateDevice(int sid, int functionMask) {
        int ignore = switch (functionMask) {
            case 1 -> 0b100;
            case 2 -> 0b110;
            case 3 -> 0b111;
            default -> 0;
        };
        for (int i = 0; i < SLOTS; i++) {
            int k = key[i];
            if (k != 0 && ((k - 1) & ~ignore) == (sid & ~ignore)) {
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
