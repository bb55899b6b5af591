package io.uiommu.pt;

/**
 * x86-64 paging as the IOMMU walks it: VT-d first-stage tables and AMD v2 (guest) tables, 4 or 5
 * levels. Descriptor bits: P 0, R/W 1, U/S 2, PWT 3 and PCD 4 (ignored), A 5, D 6, PS 7 (1 GiB leaf
 * in a PDPTE, 2 MiB in a PDE; PAT in a PTE), address [51:12], XD 63. Leaves are 4 KiB, 2 MiB and
 * 1 GiB. {@link Walk#level} is the spec's: 1 = PT ... 4 = PML4, 5 = PML5.
 *
 * <p>A walk needs a canonical IOVA (bits above the top copy its top bit); permissions are the AND
 * of R/W and U/S over every level, execute the NOR of XD. Requests are user-mode unless they carry
 * {@link #PRIV} (so U/S must be set at every level, as Linux does); supervisor writes honour R/W
 * (CR0.WP = 1 semantics). With access/dirty updates on, the walk sets A in every entry it uses and
 * D in the leaf on a write. Map writes what Linux writes: tables P|R/W|U/S|A, leaves P|U/S|A plus
 * R/W|D when writable; XD is never set (EXEC is not restricted by map).
 *
 * <p>Locking: none (see {@link PageTableFormat}).
 */
public final class X86PageTable extends RadixPageTable {
    static final long P = 1L;
    static final long RW = 1L << 1;
    static final long US = 1L << 2;
    static final long A = 1L << 5;
    static final long D = 1L << 6;
    static final long PS = 1L << 7;
    static final long XD = 1L << 63;
    static final long ADDRESS = 0x000F_FFFF_FFFF_F000L;

    public static final long PAGE_SIZES = (1L << 12) | (1L << 21) | (1L << 30);

    /** Reserved address bits of a large leaf (bit 12 is PAT there), per depth. */
    private static final long[] LARGE_RESERVED = {0, 0x1F_E000L, 0x3FFF_E000L};

    private final String name;

    /** An x86-64 table of {@code levels} (4 or 5) levels. */
    public X86PageTable(int levels) {
        super(shifts(levels), bits(levels), 12 + 9 * levels, 52, PAGE_SIZES);
        if (levels != 4 && levels != 5) {
            throw new IllegalArgumentException("x86-64 paging has 4 or 5 levels, not " + levels);
        }
        this.name = "x86-64 " + levels + "-level";
    }

    static int[] shifts(int levels) {
        int[] s = new int[levels];
        for (int d = 0; d < levels; d++) {
            s[d] = 12 + 9 * d;
        }
        return s;
    }

    static int[] bits(int levels) {
        int[] b = new int[levels];
        java.util.Arrays.fill(b, 9);
        return b;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    int specLevel(int depth) {
        return depth + 1;
    }

    @Override
    boolean inputValid(long iova) {
        int unused = 64 - inputBits;
        return (iova << unused) >> unused == iova;
    }

    @Override
    long inputLimit(long iova) {
        return iova >= 0 ? (1L << (inputBits - 1)) - 1 : -1L;
    }

    @Override
    boolean present(long pte, int d) {
        return (pte & P) != 0;
    }

    @Override
    boolean isTable(long pte, int d) {
        return d > 0 && (d > 2 || (pte & PS) == 0);
    }

    @Override
    long nextTable(long pte, int d) {
        return pte & ADDRESS;
    }

    @Override
    long encodeTable(long tablePa, int d) {
        return tablePa | P | RW | US | A;
    }

    @Override
    long encodeLeaf(long outputAddress, long size, int d, int perm) {
        long pte = outputAddress | P | US | A;
        if ((perm & WRITE) != 0) {
            pte |= RW | D;
        }
        return d > 0 ? pte | PS : pte;
    }

    @Override
    boolean leafDirty(long pte, int d) {
        return (pte & D) != 0;
    }

    @Override
    long leafCleaned(long pte, int d) {
        return pte & ~D;
    }

    @Override
    public boolean walk(long root, long iova, int access, boolean updateAccessDirty, TableMemory tables, Walk walk) {
        walk.reset(iova);
        if (!inputValid(iova)) {
            return walk.fail(Walk.Fault.ADDRESS_SIZE, levels);
        }
        long allowed = RW | US; // AND of R/W and U/S over the levels walked so far
        long xd = 0;
        long table = root;
        int d = top();
        while (true) {
            long slot = slot(table, iova, d);
            long pa = tables.tableAddress(slot, walk);
            if (pa == TableMemory.FAULT) {
                return false;
            }
            long pte = tables.readLong(pa);
            walk.read(pa, pte);
            if ((pte & P) == 0) {
                return walk.fail(Walk.Fault.TRANSLATION, d + 1);
            }
            boolean large = (pte & PS) != 0 && d > 0;
            if (large && (d > 2 || (pte & LARGE_RESERVED[d]) != 0)) {
                return walk.fail(Walk.Fault.RESERVED, d + 1);
            }
            if (d > 0 && !large) {
                if (updateAccessDirty && (pte & A) == 0) {
                    int r = update(tables, slot, pte, pte | A, walk);
                    if (r == RETRY) {
                        continue;
                    }
                    if (r == UPDATE_FAULT) {
                        return false;
                    }
                }
                allowed &= pte;
                xd |= pte & XD;
                table = pte & ADDRESS;
                d--;
                continue;
            }
            long and = allowed & pte;
            int perm = 0;
            if ((access & PRIV) != 0 || (and & US) != 0) {
                perm = READ | ((and & RW) != 0 ? WRITE : 0) | (((xd | pte) & XD) == 0 ? EXEC : 0);
            }
            int r = finishLeaf(tables, slot, pte, perm, access, updateAccessDirty, A, D, ADDRESS, 1L << shift[d], d,
                    iova, walk);
            if (r == RETRY) {
                continue;
            }
            return r == UPDATED;
        }
    }
}
