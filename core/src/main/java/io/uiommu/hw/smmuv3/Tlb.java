package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The SMMU's TLB: translations tagged by VMID and ASID. Stage-1 entries (stage 1 only, or the
 * combined stage 1 + 2 of a nested stream) carry both tags and die by TLBI_NH_* for their VMID;
 * stage-2-only entries carry the VMID and die by TLBI_S2_IPA. TLBI_S12_VMALL drops a VMID,
 * TLBI_NSNH_ALL everything. A combined nested entry survives TLBI_S2_IPA, as the architecture
 * allows, which is why Linux follows a nest parent's stage-2 invalidation with TLBI_NH_ALL.
 *
 * <p>Direct-mapped, {@value #ENTRIES} entries, one probe per page size in use. An entry is four
 * adjacent longs of one array (sequence, tag, input page | shift, output page | permissions), so a
 * hit reads one or two cache lines and chases no pointer; the sequence word is a seqlock (odd while
 * a writer changes the entry). A hit neither allocates nor locks. What audit mode keeps per entry
 * (the words it was filled from, a label) sits in side arrays a hit reads only when auditing.
 *
 * <p>Locking: fills and invalidations are serialized by the SMMU's lock; lookups are lock-free.
 */
final class Tlb {
    static final int ENTRIES = 1024;
    static final int KIND_NH = 1;
    static final int KIND_S2 = 2;

    private static final int STRIDE = 4;
    private static final int SEQ = 0;
    private static final int TAG = 1;
    /** Input page base | shift (a page is at least 4 KiB, so the shift fits below it). */
    private static final int IN = 2;
    /** Output page base | permissions. */
    private static final int OUT = 3;
    private static final long LOW_BITS = 0xFFF;
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] words = new long[ENTRIES * STRIDE];
    private final CacheFill[] fills = new CacheFill[ENTRIES];
    private final String[] labels = new String[ENTRIES];
    /** Bit n set: some entry may hold a page of 2^n bytes. */
    private volatile long shiftsInUse;
    private int valid;

    static long tag(int kind, int vmid, int asid) {
        return (long) kind << 40 | (long) vmid << 16 | asid;
    }

    /**
     * Consecutive pages of one tag and size take consecutive entries, as the low address bits
     * index a hardware TLB, so a contiguous working set of up to {@value #ENTRIES} pages never
     * evicts itself; where a tag's run starts is a hash of the tag and the page size.
     */
    private static int index(long tag, long inputPage, int shift) {
        long h = (tag ^ (long) shift << 48) * 0x9E3779B97F4A7C15L;
        return (int) (inputPage + (h >>> 32)) & (ENTRIES - 1);
    }

    /**
     * Looks up {@code iova} under {@code tag}. On a hit that grants {@code access} fills
     * {@code out} (output address, page size, cacheHit), lets {@code auditor} (null when not
     * auditing) check the entry, and returns true.
     */
    boolean lookup(long tag, long iova, int access, Translation out, StaleTranslationAuditor auditor) {
        long[] w = words;
        for (long m = shiftsInUse; m != 0; m &= m - 1) {
            int shift = Long.numberOfTrailingZeros(m);
            int e = index(tag, iova >>> shift, shift);
            int at = e * STRIDE;
            long s = (long) WORD.getAcquire(w, at + SEQ);
            long in = w[at + IN];
            long entryTag = w[at + TAG];
            long outPerm = w[at + OUT];
            VarHandle.loadLoadFence();
            if (in != ((iova & (-1L << shift)) | shift) || entryTag != tag || (s & 1) != 0
                    || (long) WORD.getOpaque(w, at + SEQ) != s) {
                continue;
            }
            if ((access & ~(int) (outPerm & LOW_BITS)) != 0) {
                return false;
            }
            if (auditor != null) {
                CacheFill fill = fills[e];
                if (fill != null) {
                    auditor.checkHit("smmuv3", "TLB", labels[e], fill);
                }
            }
            long size = 1L << shift;
            out.physAddr = (outPerm & ~LOW_BITS) | (iova & (size - 1));
            out.pageSize = size;
            out.cacheHit = true;
            return true;
        }
        return false;
    }

    /**
     * Inserts a translation; returns the entry's CacheFill for the caller to fill in audit mode
     * (created on first use), or null when not auditing.
     */
    CacheFill insert(long tag, long iova, int shift, long outBase, int perm, boolean audit, String label) {
        long[] w = words;
        int e = index(tag, iova >>> shift, shift);
        int at = e * STRIDE;
        long s = w[at + SEQ];
        WORD.setVolatile(w, at + SEQ, s + 1);
        if (w[at + TAG] == 0) {
            valid++;
        }
        w[at + TAG] = tag;
        w[at + IN] = (iova & (-1L << shift)) | shift;
        w[at + OUT] = (outBase & (-1L << shift)) | (perm & LOW_BITS);
        if (audit && fills[e] == null) {
            fills[e] = new CacheFill();
        }
        labels[e] = label;
        CacheFill fill = audit ? fills[e] : null;
        if (!audit) {
            fills[e] = null;
        }
        WORD.setRelease(w, at + SEQ, s + 2);
        shiftsInUse |= 1L << shift;
        return fill;
    }

    /** Selects entries for invalidation. */
    @FunctionalInterface
    interface Match {
        boolean test(long tag, long inputBase, long inputLast);
    }

    /** Drops every entry {@code match} accepts; returns how many. */
    int invalidate(Match match) {
        if (valid == 0) {
            return 0;
        }
        long[] w = words;
        int n = 0;
        for (int at = 0; at < w.length; at += STRIDE) {
            long tag = w[at + TAG];
            if (tag == 0) {
                continue;
            }
            long in = w[at + IN];
            long base = in & ~LOW_BITS;
            if (match.test(tag, base, base + (1L << (in & LOW_BITS)) - 1)) {
                long s = w[at + SEQ];
                WORD.setVolatile(w, at + SEQ, s + 1);
                w[at + TAG] = 0;
                WORD.setRelease(w, at + SEQ, s + 2);
                valid--;
                n++;
            }
        }
        if (valid == 0) {
            shiftsInUse = 0;
        }
        return n;
    }

    static int kind(long tag) {
        return (int) (tag >>> 40);
    }

    static int vmid(long tag) {
        return (int) (tag >>> 16) & 0xffff;
    }

    static int asid(long tag) {
        return (int) tag & 0xffff;
    }

    int validEntries() {
        return valid;
    }
}
