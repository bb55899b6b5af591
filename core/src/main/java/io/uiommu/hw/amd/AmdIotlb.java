package io.uiommu.hw.amd;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.StaleTranslationAuditor;

/**
 * The IOMMU's translation cache: entries tagged by DomainID and, for guest (GV) translations, by
 * PASID. An entry covers one granule of 4 KiB, 2 MiB or 1 GiB (the biggest not above the leaf's
 * size; other sizes are cached in pieces) and remembers the leaf's base and size, so an
 * invalidation touching any part of a large page drops all of it. 4-way set associative over flat
 * arrays; a lookup probes the three granules and does not allocate.
 *
 * <p>Locking: guarded by the owning {@link AmdViHardware}'s monitor.
 */
final class AmdIotlb {
    static final int SETS = 256;
    static final int WAYS = 4;
    static final int ENTRIES = SETS * WAYS;
    /** Tag bit of guest (PASID / GVA) translations. */
    static final long GUEST = 1L << 16;

    private final long[] key = new long[ENTRIES];
    private final long[] vpn = new long[ENTRIES];
    private final int[] granuleShift = new int[ENTRIES];
    private final long[] physPage = new long[ENTRIES];
    private final long[] leafBase = new long[ENTRIES];
    private final long[] leafSize = new long[ENTRIES];
    private final int[] perm = new int[ENTRIES];
    private final boolean[] dirty = new boolean[ENTRIES];
    private final boolean[] valid = new boolean[ENTRIES];
    private final CacheFill[] fill = new CacheFill[ENTRIES];
    private final int[] victim = new int[SETS];
    private long hits;
    private long misses;
    private long invalidated;

    /** The tag of a host translation of {@code domainId}, or a guest one of (domainId, pasid). */
    static long key(int domainId, boolean guest, int pasid) {
        return guest ? (long) pasid << 17 | GUEST | domainId : domainId;
    }

    private static int set(long key, long vpn, int shift) {
        long h = (vpn ^ key * 0x9E3779B97F4A7C15L ^ shift) * 0xBF58476D1CE4E5B9L;
        return (int) (h >>> 56) & (SETS - 1);
    }

    /** The entry translating {@code iova} under {@code key}, or -1. */
    int lookup(long key, long iova) {
        for (int shift = 12; shift <= 30; shift += 9) {
            long v = iova >>> shift;
            int base = set(key, v, shift) * WAYS;
            for (int i = base; i < base + WAYS; i++) {
                if (valid[i] && vpn[i] == v && granuleShift[i] == shift && this.key[i] == key) {
                    hits++;
                    return i;
                }
            }
        }
        misses++;
        return -1;
    }

    /** Caches the granule of a leaf that holds {@code iova}; its entry index. */
    int insert(long key, long iova, long outputAddress, long pageSize, int permissions, boolean dirtyKnown) {
        int shift = pageSize >= 1L << 30 ? 30 : pageSize >= 1L << 21 ? 21 : 12;
        long v = iova >>> shift;
        int s = set(key, v, shift);
        int base = s * WAYS;
        int slot = -1;
        for (int i = base; i < base + WAYS; i++) {
            if (!valid[i] || vpn[i] == v && granuleShift[i] == shift && this.key[i] == key) {
                slot = i;
                break;
            }
        }
        if (slot < 0) {
            slot = base + victim[s];
            victim[s] = (victim[s] + 1) % WAYS;
        }
        this.key[slot] = key;
        vpn[slot] = v;
        granuleShift[slot] = shift;
        physPage[slot] = outputAddress & -(1L << shift);
        leafSize[slot] = pageSize;
        leafBase[slot] = iova & -pageSize;
        perm[slot] = permissions;
        dirty[slot] = dirtyKnown;
        valid[slot] = true;
        return slot;
    }

    /** A CacheFill for entry {@code i} started at the auditor's step (reused across fills). */
    CacheFill beginFill(int i, StaleTranslationAuditor auditor) {
        CacheFill f = fill[i];
        if (f == null) {
            f = fill[i] = new CacheFill();
        }
        return f.begin(auditor);
    }

    CacheFill fillOf(int i) {
        return fill[i];
    }

    void clearFill(int i, StaleTranslationAuditor auditor) {
        if (fill[i] != null) {
            fill[i].begin(auditor);
        }
    }

    /** The physical address {@code iova} translates to through entry {@code i}. */
    long physAddr(int i, long iova) {
        return physPage[i] | (iova & ((1L << granuleShift[i]) - 1));
    }

    long leafSize(int i) {
        return leafSize[i];
    }

    int perm(int i) {
        return perm[i];
    }

    boolean dirty(int i) {
        return dirty[i];
    }

    String describe(int i) {
        long k = key[i];
        return "domain 0x" + Long.toHexString(k & 0xffff)
                + ((k & GUEST) != 0 ? " pasid 0x" + Long.toHexString(k >>> 17) : "")
                + " iova 0x" + Long.toHexString(vpn[i] << granuleShift[i]);
    }

    /**
     * Drops entries of {@code domainId} overlapping [start, start+size) (size -1: all): the guest
     * entries of {@code pasid} when {@code guest}; otherwise host entries and, because guest
     * translations of a nested domain went through the host table, every guest entry of the domain.
     */
    void invalidatePages(int domainId, boolean guest, int pasid, long start, long size) {
        long guestKey = key(domainId, true, pasid);
        for (int i = 0; i < ENTRIES; i++) {
            if (!valid[i] || (key[i] & 0xffff) != domainId) {
                continue;
            }
            boolean entryGuest = (key[i] & GUEST) != 0;
            boolean match;
            if (guest) {
                match = key[i] == guestKey && overlaps(i, start, size);
            } else {
                match = entryGuest || overlaps(i, start, size);
            }
            if (match) {
                valid[i] = false;
                invalidated++;
            }
        }
    }

    private boolean overlaps(int i, long start, long size) {
        if (size == -1) {
            return true;
        }
        long end = start + size - 1;
        long leafEnd = leafBase[i] + leafSize[i] - 1;
        return Long.compareUnsigned(leafBase[i], end) <= 0 && Long.compareUnsigned(start, leafEnd) <= 0;
    }

    void invalidateAll() {
        for (int i = 0; i < ENTRIES; i++) {
            if (valid[i]) {
                valid[i] = false;
                invalidated++;
            }
        }
    }

    long hits() {
        return hits;
    }

    long misses() {
        return misses;
    }

    long invalidated() {
        return invalidated;
    }

    int validEntries() {
        int n = 0;
        for (boolean v : valid) {
            n += v ? 1 : 0;
        }
        return n;
    }
}
