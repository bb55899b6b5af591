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
 * <p>Direct-mapped, {@value #ENTRIES} entries, one probe per page size in use. A hit neither
 * allocates nor locks: each entry is a seqlock (odd sequence while a writer changes it).
 *
 * <p>Locking: fills and invalidations are serialized by the SMMU's lock; lookups are lock-free.
 */
final class Tlb {
    static final int ENTRIES = 1024;
    static final int KIND_NH = 1;
    static final int KIND_S2 = 2;

    private static final VarHandle SEQ;

    static {
        try {
            SEQ = MethodHandles.lookup().findVarHandle(Entry.class, "seq", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One cached translation: input page {@code pfn << shift} of {@code tag} to {@code outBase}. */
    static final class Entry {
        @SuppressWarnings("unused")
        private int seq;
        long tag;
        long inputPage;
        int shift;
        long outBase;
        int perm;
        int level;
        CacheFill fill;
        String label;
    }

    private final Entry[] entries = new Entry[ENTRIES];
    /** Bit n set: some entry may hold a page of 2^n bytes. */
    private volatile long shiftsInUse;
    private int valid;

    Tlb() {
        for (int i = 0; i < ENTRIES; i++) {
            entries[i] = new Entry();
        }
    }

    static long tag(int kind, int vmid, int asid) {
        return (long) kind << 40 | (long) vmid << 16 | asid;
    }

    private static int index(long tag, long inputPage) {
        long h = (tag * 0x9E3779B97F4A7C15L) ^ (inputPage * 0xC2B2AE3D27D4EB4FL);
        return (int) (h ^ (h >>> 29)) & (ENTRIES - 1);
    }

    /**
     * Looks up {@code iova} under {@code tag}. On a hit that grants {@code access} fills
     * {@code out} (output address, page size, cacheHit), lets {@code auditor} (null when not
     * auditing) check the entry, and returns true.
     */
    boolean lookup(long tag, long iova, int access, Translation out, StaleTranslationAuditor auditor) {
        for (long m = shiftsInUse; m != 0; m &= m - 1) {
            int shift = Long.numberOfTrailingZeros(m);
            long page = iova >>> shift;
            Entry e = entries[index(tag, page)];
            int s = (int) SEQ.getAcquire(e);
            if ((s & 1) != 0 || e.tag != tag || e.inputPage != page || e.shift != shift) {
                continue;
            }
            long outBase = e.outBase;
            int perm = e.perm;
            CacheFill fill = e.fill;
            String label = e.label;
            VarHandle.loadLoadFence();
            if ((int) SEQ.getVolatile(e) != s || (access & ~perm) != 0) {
                return false;
            }
            if (auditor != null && fill != null) {
                auditor.checkHit("smmuv3", "TLB", label, fill);
            }
            out.physAddr = outBase | (iova & ((1L << shift) - 1));
            out.pageSize = 1L << shift;
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
        long page = iova >>> shift;
        Entry e = entries[index(tag, page)];
        int s = (int) SEQ.getVolatile(e);
        SEQ.setVolatile(e, s + 1);
        if (e.tag == 0) {
            valid++;
        }
        e.tag = tag;
        e.inputPage = page;
        e.shift = shift;
        e.outBase = outBase & -(1L << shift);
        e.perm = perm;
        if (audit && e.fill == null) {
            e.fill = new CacheFill();
        }
        e.label = label;
        CacheFill fill = audit ? e.fill : null;
        if (!audit) {
            e.fill = null;
        }
        SEQ.setRelease(e, s + 2);
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
        int n = 0;
        for (Entry e : entries) {
            if (e.tag == 0) {
                continue;
            }
            long base = e.inputPage << e.shift;
            if (match.test(e.tag, base, base + (1L << e.shift) - 1)) {
                int s = (int) SEQ.getVolatile(e);
                SEQ.setVolatile(e, s + 1);
                e.tag = 0;
                SEQ.setRelease(e, s + 2);
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
