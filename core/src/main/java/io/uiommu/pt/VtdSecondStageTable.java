package io.uiommu.pt;

/**
 * VT-d second-stage tables (also the parent of nested translation), 3, 4 or 5 levels for an
 * adjusted guest address width (AGAW) of 39, 48 or 57 bits. Descriptor bits: R 0, W 1, X 2,
 * EMT [5:3] and IPAT 6 (ignored), PS 7 (2 MiB leaf at level 2, 1 GiB at level 3), A 8, D 9, SNP 11,
 * address [51:12]. There is no present bit: an entry with R = W = 0 is not present.
 * {@link Walk#level} is the spec's: 1 = the 4 KiB level ... 3/4/5 = the root.
 *
 * <p>Permissions are the AND of R, W and X over every level (as QEMU does). A and D are updated
 * only when the caller passes access/dirty updates on (PASID entry SSADE / context SLADE with
 * ECAP.SLADS): A in every entry used, D in the leaf on a write. An IOVA above the AGAW faults with
 * {@link Walk.Fault#ADDRESS_SIZE}; PS above level 3, PS for a size the unit does not support
 * (SLLPS) or address bits set below a large leaf's size fault with {@link Walk.Fault#RESERVED}.
 * Map writes what Linux writes: tables R|W, leaves R/W by permission (X only with EXEC, PS for
 * large leaves), no A/D.
 *
 * <p>Locking: none (see {@link PageTableFormat}).
 */
public final class VtdSecondStageTable extends RadixPageTable {
    static final long R = 1L;
    static final long W = 1L << 1;
    static final long X = 1L << 2;
    static final long PS = 1L << 7;
    static final long A = 1L << 8;
    static final long D = 1L << 9;
    static final long SNP = 1L << 11;
    static final long ADDRESS = 0x000F_FFFF_FFFF_F000L;

    public static final long PAGE_SIZES = (1L << 12) | (1L << 21) | (1L << 30);

    private final String name;

    /** A table of {@code levels} (3, 4 or 5) levels with 4 KiB, 2 MiB and 1 GiB leaves. */
    public VtdSecondStageTable(int levels) {
        this(levels, PAGE_SIZES);
    }

    /**
     * A table of {@code levels} levels whose unit supports the leaf sizes in {@code pageSizes}
     * (4 KiB plus what CAP.SLLPS allows).
     */
    public VtdSecondStageTable(int levels, long pageSizes) {
        super(X86PageTable.shifts(checkLevels(levels)), X86PageTable.bits(levels), 12 + 9 * levels, 52, pageSizes);
        if ((pageSizes & ~PAGE_SIZES) != 0 || (pageSizes & (1L << 12)) == 0) {
            throw new IllegalArgumentException("VT-d second stage maps 4K plus 2M/1G, not 0x" + Long.toHexString(pageSizes));
        }
        this.name = "VT-d second stage " + levels + "-level";
    }

    private static int checkLevels(int levels) {
        if (levels < 3 || levels > 5) {
            throw new IllegalArgumentException("VT-d second stage has 3, 4 or 5 levels, not " + levels);
        }
        return levels;
    }

    /** The table for an adjusted guest address width of 39, 48 or 57 bits (SAGAW bits 1, 2, 3). */
    public static VtdSecondStageTable forAgaw(int agawBits) {
        return switch (agawBits) {
            case 39 -> new VtdSecondStageTable(3);
            case 48 -> new VtdSecondStageTable(4);
            case 57 -> new VtdSecondStageTable(5);
            default -> throw new IllegalArgumentException("no VT-d AGAW of " + agawBits + " bits");
        };
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
        return iova >>> inputBits == 0;
    }

    @Override
    boolean present(long pte, int d) {
        return (pte & (R | W)) != 0;
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
        return tablePa | R | W;
    }

    @Override
    long encodeLeaf(long outputAddress, long size, int d, int perm) {
        long pte = outputAddress;
        if ((perm & READ) != 0) {
            pte |= R;
        }
        if ((perm & WRITE) != 0) {
            pte |= W;
        }
        if ((perm & EXEC) != 0) {
            pte |= X;
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
        long allowed = R | W | X;
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
            if ((pte & (R | W)) == 0) {
                return walk.fail(Walk.Fault.TRANSLATION, d + 1);
            }
            boolean large = (pte & PS) != 0 && d > 0;
            if (large && (d > 2 || (pageSizes & (1L << shift[d])) == 0
                    || (pte & ADDRESS & ((1L << shift[d]) - 1)) != 0)) {
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
                table = pte & ADDRESS;
                d--;
                continue;
            }
            long and = allowed & pte;
            int perm = ((and & R) != 0 ? READ : 0) | ((and & W) != 0 ? WRITE : 0) | ((and & X) != 0 ? EXEC : 0);
            int r = finishLeaf(tables, slot, pte, perm, access, updateAccessDirty, A, D, ADDRESS, 1L << shift[d], d,
                    iova, walk);
            if (r == RETRY) {
                continue;
            }
            return r == UPDATED;
        }
    }
}
