package io.uiommu.hw.vtd;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.Walk;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The IOTLB: translations tagged by domain id, PASID (RID_PASID for requests without one) and the
 * input page, one entry per leaf (4 KiB, 2 MiB or 1 GiB), remembering the PASID entry's PGTT
 * because the invalidation descriptors treat translation types differently:
 * <ul>
 * <li>IOTLB global / domain-selective: everything (of the domain);
 * <li>IOTLB page-selective within a domain: second-stage-only entries in the range, and every
 *     nested entry of the domain (a nested entry is tagged by its first-stage input, so a
 *     second-stage address cannot be matched against it);
 * <li>PASID-based IOTLB, PASID-selective: first-stage, nested and pass-through entries of the PASID;
 * <li>PASID-based IOTLB, page-selective within the PASID: first-stage and nested entries in the range.
 * </ul>
 * A hit serves the cached leaf without reading memory; a write hitting an entry filled by a read
 * walks again (hardware must set the dirty bit), as does an access the entry does not permit.
 *
 * <p>Direct-mapped, {@value #SLOTS} slots. A slot is four adjacent longs of one array (sequence,
 * input page | size class, DID | PASID, output page | permissions and PGTT), so a hit reads one or
 * two cache lines; what audit mode keeps per slot sits in a side array a hit reads only then.
 *
 * <p>Locking: per slot, its sequence word (a writer makes it odd by compare-and-set, as
 * {@link CacheSlots} does; readers take no lock and treat a change as a miss); the large-entry
 * count is atomic.
 */
final class IoTlb {
    static final String NAME = "IOTLB";
    static final int SLOTS = 4096;
    private static final int PERM_READ = 1;
    private static final int PERM_WRITE = 2;
    private static final int WRITE_WALKED = 4;
    private static final int PGTT_SHIFT = 4;
    private static final long FLAGS_MASK = 0xFFF;

    private static final int STRIDE = 4;
    private static final int SEQ = 0;
    /** Leaf base | size class + 1 (0 = empty). */
    private static final int PAGE = 1;
    /** did << 20 | pasid. */
    private static final int TAG = 2;
    /** Leaf output base | flags (permissions, WRITE_WALKED, PGTT). */
    private static final int OUT = 3;
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle LARGE;

    static {
        try {
            LARGE = MethodHandles.lookup().findVarHandle(IoTlb.class, "largeEntries", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long[] words = new long[SLOTS * STRIDE];
    private final CacheFill[] fills = new CacheFill[SLOTS];
    private final StaleTranslationAuditor auditor;
    private final PhysicalMemory memory;
    /**
     * Bumped by every invalidation before it scans: a fill whose walk started under an older value
     * is dropped, so a walk racing an invalidation cannot leave a stale entry behind it.
     */
    private volatile long generation;
    /** Entries of 2 MiB / 1 GiB leaves held now (lookups probe those sizes only when some exist). */
    private volatile int largeEntries;

    IoTlb(PhysicalMemory memory, StaleTranslationAuditor auditor) {
        this.memory = memory;
        this.auditor = auditor;
    }

    private static long tag(int did, int pasid) {
        return (long) did << 20 | pasid;
    }

    /**
     * Consecutive pages of one (DID, PASID) and size take consecutive slots, as the low address
     * bits index a hardware IOTLB, so a contiguous working set of up to {@value #SLOTS} pages never
     * evicts itself; where a tag's run starts is a hash of the tag and the size class.
     */
    private static int slot(long tag, long iova, int sizeClass) {
        long h = (tag ^ (long) sizeClass << 56) * 0x9E3779B97F4A7C15L;
        return (int) ((iova >>> sizeShift(sizeClass)) + (h >>> 32)) & (SLOTS - 1);
    }

    /** 4 KiB, 2 MiB, 1 GiB. */
    private static int sizeShift(int sizeClass) {
        return 12 + 9 * sizeClass;
    }

    private static long pageKey(long iova, int sizeClass) {
        return (iova & -(1L << sizeShift(sizeClass))) | (sizeClass + 1);
    }

    /**
     * Looks up a translation; on a usable hit sets {@code physAddr}, {@code pageSize} and returns
     * the PGTT of the entry, else returns 0.
     */
    int lookup(int did, int pasid, long iova, boolean write, boolean audit, Translation out) {
        long tag = tag(did, pasid);
        int classes = largeEntries == 0 ? 1 : 3;
        long[] w = words;
        for (int c = 0; c < classes; c++) {
            long pk = pageKey(iova, c);
            int i = slot(tag, iova, c);
            int at = i * STRIDE;
            long s = (long) WORD.getAcquire(w, at + SEQ);
            long kp = w[at + PAGE];
            long kt = w[at + TAG];
            long leaf = w[at + OUT];
            VarHandle.loadLoadFence();
            if (kp != pk || kt != tag || (s & 1) != 0 || (long) WORD.getOpaque(w, at + SEQ) != s) {
                continue;
            }
            int fl = (int) (leaf & FLAGS_MASK);
            boolean usable = write ? (fl & (PERM_WRITE | WRITE_WALKED)) == (PERM_WRITE | WRITE_WALKED)
                    : (fl & PERM_READ) != 0;
            if (!usable) {
                break;
            }
            if (audit) {
                CacheFill f = fills[i];
                if (f != null && f.words() > 0) {
                    auditor.checkHit("vtd", NAME, "did " + did + " pasid " + pasid + " iova 0x"
                            + Long.toHexString(kp & ~0xFFFL) + " (" + (1L << sizeShift(c) >> 10) + " KiB)", f);
                }
            }
            long size = 1L << sizeShift(c);
            out.physAddr = (leaf & ~FLAGS_MASK) + (iova & (size - 1));
            out.pageSize = size;
            return fl >>> PGTT_SHIFT;
        }
        return 0;
    }

    /** The value to pass to {@link #fill}, read before the walk. */
    long generation() {
        return generation;
    }

    /** Takes slot {@code i} (spinning while another writer holds it). */
    private void beginWrite(int i) {
        long[] w = words;
        int at = i * STRIDE + SEQ;
        while (true) {
            long s = (long) WORD.getVolatile(w, at);
            if ((s & 1) == 0 && WORD.compareAndSet(w, at, s, s + 1)) {
                return;
            }
            Thread.onSpinWait();
        }
    }

    private void endWrite(int i) {
        int at = i * STRIDE + SEQ;
        WORD.setRelease(words, at, words[at] + 1);
    }

    /**
     * Caches the leaf a walk found. In audit mode the entry remembers the PASID entry's first three
     * qwords and every descriptor the walks read (their values now, after the walk's A/D updates).
     */
    void fill(long walkGeneration, int did, int pasid, long iova, long leafOutput, long pageSize, int perm,
            boolean write, int pgtt, long pasidEntryAddress, Walk first, Walk second) {
        int c = pageSize == 1L << 30 ? 2 : pageSize == 1L << 21 ? 1 : 0;
        long tag = tag(did, pasid);
        int i = slot(tag, iova, c);
        int at = i * STRIDE;
        long[] w = words;
        beginWrite(i);
        if (generation != walkGeneration) {
            endWrite(i);
            return;
        }
        if (w[at + PAGE] != 0) {
            forget(i);
        }
        w[at + PAGE] = pageKey(iova, c);
        w[at + TAG] = tag;
        w[at + OUT] = (leafOutput & -pageSize) | ((perm & PageTableFormat.READ) != 0 ? PERM_READ : 0)
                | ((perm & PageTableFormat.WRITE) != 0 ? PERM_WRITE : 0) | (write ? WRITE_WALKED : 0)
                | (long) pgtt << PGTT_SHIFT;
        if (c != 0) {
            LARGE.getAndAdd(this, 1);
        }
        if (auditor != null && auditor.enabled()) {
            CacheFill f = fills[i] == null ? (fills[i] = new CacheFill()) : fills[i];
            f.begin(auditor);
            if (pasidEntryAddress >= 0) {
                for (int q = 0; q < 3; q++) {
                    f.add(auditor, pasidEntryAddress + 8L * q, memory.readLong(pasidEntryAddress + 8L * q));
                }
            }
            addWalk(f, first);
            addWalk(f, second);
        } else if (fills[i] != null) {
            fills[i].begin(auditor);
        }
        endWrite(i);
    }

    private void addWalk(CacheFill f, Walk w) {
        if (w == null) {
            return;
        }
        for (int k = 0; k < w.recorded; k++) {
            long pa = w.recordedAddress[k];
            f.add(auditor, pa, memory.readLong(pa));
        }
    }

    private long page(int i) {
        return words[i * STRIDE + PAGE];
    }

    private long tagOf(int i) {
        return words[i * STRIDE + TAG];
    }

    private int pgtt(int i) {
        return (int) (words[i * STRIDE + OUT] & FLAGS_MASK) >>> PGTT_SHIFT;
    }

    /** Empties slot {@code i}; the caller holds it. */
    private void forget(int i) {
        if ((page(i) & 3) != 1) {
            LARGE.getAndAdd(this, -1);
        }
        words[i * STRIDE + PAGE] = 0;
    }

    private void clear(int i) {
        beginWrite(i);
        if (page(i) != 0) {
            forget(i);
        }
        endWrite(i);
    }

    void invalidateAll() {
        generation++;
        for (int i = 0; i < SLOTS; i++) {
            if (page(i) != 0) {
                clear(i);
            }
        }
    }

    void invalidateDomain(int did) {
        generation++;
        for (int i = 0; i < SLOTS; i++) {
            if (page(i) != 0 && (int) (tagOf(i) >>> 20) == did) {
                clear(i);
            }
        }
    }

    /** IOTLB page-selective-within-domain: second-stage entries overlapping the range, all nested entries of the domain. */
    void invalidateDomainPages(int did, long addr, int addressMask) {
        generation++;
        long size = 1L << (12 + addressMask);
        long base = addr & -size;
        for (int i = 0; i < SLOTS; i++) {
            if (page(i) == 0 || (int) (tagOf(i) >>> 20) != did) {
                continue;
            }
            int pgtt = pgtt(i);
            if (pgtt == PasidEntry.PGTT_NESTED || pgtt == PasidEntry.PGTT_SECOND_STAGE && overlaps(i, base, size)) {
                clear(i);
            }
        }
    }

    /** PASID-based IOTLB, PASID-selective: first-stage, nested and pass-through entries of (did, pasid). */
    void invalidatePasid(int did, int pasid) {
        generation++;
        long tag = tag(did, pasid);
        for (int i = 0; i < SLOTS; i++) {
            if (page(i) != 0 && tagOf(i) == tag && pgtt(i) != PasidEntry.PGTT_SECOND_STAGE) {
                clear(i);
            }
        }
    }

    /** PASID-based IOTLB, page-selective within the PASID: first-stage and nested entries overlapping the range. */
    void invalidatePasidPages(int did, int pasid, long addr, int addressMask) {
        generation++;
        long tag = tag(did, pasid);
        boolean all = 12 + addressMask >= 64;
        long size = all ? 0 : 1L << (12 + addressMask);
        long base = addr & -size;
        for (int i = 0; i < SLOTS; i++) {
            if (page(i) == 0 || tagOf(i) != tag) {
                continue;
            }
            int pgtt = pgtt(i);
            if ((pgtt == PasidEntry.PGTT_FIRST_STAGE || pgtt == PasidEntry.PGTT_NESTED)
                    && (all || overlaps(i, base, size))) {
                clear(i);
            }
        }
    }

    private boolean overlaps(int i, long base, long size) {
        long kp = page(i);
        long entrySize = 1L << sizeShift((int) (kp & 3) - 1);
        long entryBase = kp & ~0xFFFL;
        return Long.compareUnsigned(entryBase, base + size - 1) <= 0
                && Long.compareUnsigned(base, entryBase + entrySize - 1) <= 0;
    }

    /** Entries held now (tests). */
    int size() {
        int n = 0;
        for (int i = 0; i < SLOTS; i++) {
            if (page(i) != 0) {
                n++;
            }
        }
        return n;
    }
}
