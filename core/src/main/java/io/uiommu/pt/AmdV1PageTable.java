package io.uiommu.pt;

/**
 * AMD IOMMU v1 host page tables ("I/O Page Tables for Host Translations"), DTE modes 1 to 6.
 * {@link Walk#level} is the spec's level: 1 = the 4 KiB level ... the mode's level at the root.
 *
 * <p>Descriptor bits: PR 0, A 5, D 6 (with HAD), NextLevel [11:9], address [51:12], U 59 and FC
 * 60 (ignored by the walk), IR 61, IW 62. NextLevel 1..6 points to a table of that level, which
 * may skip levels (the IOVA bits of skipped levels must then be zero); NextLevel 0 is a leaf of the
 * level's size (4 KiB, 2 MiB, 1 GiB ...); NextLevel 7 is a leaf of any power-of-two size between
 * this level's and the next one's, the size encoded as a run of ones from address bit 12 (the
 * first zero bit z gives 2^(z+1) bytes) and the descriptor repeated in every slot it covers. The
 * level-6 table cannot hold leaves. IR and IW are ANDed over every level (the DTE's own IR/IW are
 * the vendor model's business). With access/dirty updates on (DTE.HAD), the walk sets A in every
 * entry it uses and D in the leaf slot it used on a write; harvesting looks at every slot of a
 * leaf. Exec requests need IR.
 *
 * <p>Page sizes are Linux's AMD_IOMMU_PGSIZES limited by the mode: every power of two from 4 KiB
 * that a level 1..min(mode, 5) can hold, except 512 GiB (a hardware erratum). Map writes Linux's
 * descriptors: tables PR|IR|IW with NextLevel = the child's level, leaves PR|FC plus IR/IW.
 *
 * <p>Locking: none (see {@link PageTableFormat}).
 */
public final class AmdV1PageTable extends RadixPageTable {
    static final long PR = 1L;
    static final long A = 1L << 5;
    static final long D = 1L << 6;
    static final int NEXT_LEVEL_SHIFT = 9;
    static final long NEXT_LEVEL = 7L << NEXT_LEVEL_SHIFT;
    static final long FC = 1L << 60;
    static final long IR = 1L << 61;
    static final long IW = 1L << 62;
    static final long ADDRESS = 0x000F_FFFF_FFFF_F000L;
    static final long SIZE_512G = 1L << 39;

    private final int mode;

    /** A table for DTE.Mode {@code mode} (1..6): the root is a level-{@code mode} table. */
    public AmdV1PageTable(int mode) {
        super(X86PageTable.shifts(checkMode(mode)), bits(mode), Math.min(64, 12 + 9 * mode), 52, pageSizes(mode));
        this.mode = mode;
    }

    private static int checkMode(int mode) {
        if (mode < 1 || mode > 6) {
            throw new IllegalArgumentException("AMD v1 page-table mode must be 1..6, not " + mode);
        }
        return mode;
    }

    private static int[] bits(int mode) {
        int[] b = X86PageTable.bits(mode);
        if (mode == 6) {
            b[5] = 7; // the level-6 table indexes IOVA bits [63:57]
        }
        return b;
    }

    private static long pageSizes(int mode) {
        long sizes = 0;
        for (int level = 1; level <= Math.min(mode, 5); level++) {
            int lo = 12 + 9 * (level - 1);
            int hi = Math.min(51, lo + 8);
            sizes |= (-1L >>> (63 - hi)) & -(1L << lo);
        }
        return sizes & ~SIZE_512G;
    }

    public int mode() {
        return mode;
    }

    @Override
    public String name() {
        return "AMD v1 mode " + mode;
    }

    @Override
    long tableBytes(int d) {
        return 4096; // every level, the 128-entry level-6 table included, is one page
    }

    @Override
    int specLevel(int depth) {
        return depth + 1;
    }

    @Override
    boolean inputValid(long iova) {
        return inputBits >= 64 || iova >>> inputBits == 0;
    }

    @Override
    boolean present(long pte, int d) {
        return (pte & PR) != 0;
    }

    private static int nextLevel(long pte) {
        return (int) (pte >>> NEXT_LEVEL_SHIFT) & 7;
    }

    @Override
    boolean isTable(long pte, int d) {
        int nl = nextLevel(pte);
        return d > 0 && nl != 0 && nl != 7;
    }

    @Override
    long nextTable(long pte, int d) {
        return pte & ADDRESS;
    }

    @Override
    int childDepth(long pte, int d) {
        return nextLevel(pte) - 1;
    }

    @Override
    long leafSize(long pte, int d) {
        if (nextLevel(pte) != 7) {
            return 1L << shift[d];
        }
        return encodedSize(pte);
    }

    /** The size a NextLevel-7 leaf encodes: 2^(z+1) for the first zero address bit z at or above 12. */
    static long encodedSize(long pte) {
        int z = Long.numberOfTrailingZeros(~(pte | 0xFFF));
        return z >= 51 ? 0 : 1L << (z + 1);
    }

    @Override
    long encodeTable(long tablePa, int d) {
        return tablePa | PR | IR | IW | ((long) d << NEXT_LEVEL_SHIFT);
    }

    @Override
    long encodeLeaf(long outputAddress, long size, int d, int perm) {
        long pte = PR | FC | ((perm & READ) != 0 ? IR : 0) | ((perm & WRITE) != 0 ? IW : 0);
        if (size == 1L << shift[d]) {
            return pte | outputAddress;
        }
        long run = ((1L << (Long.numberOfTrailingZeros(size) - 13)) - 1) << 12;
        return pte | outputAddress | run | NEXT_LEVEL;
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
            return walk.fail(Walk.Fault.ADDRESS_SIZE, mode);
        }
        long allowed = IR | IW;
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
            if ((pte & PR) == 0) {
                return walk.fail(Walk.Fault.TRANSLATION, d + 1);
            }
            int nl = nextLevel(pte);
            if (nl != 0 && nl != 7) {
                if (nl > d) {
                    return walk.fail(Walk.Fault.RESERVED, d + 1); // must point to a lower level
                }
                int child = nl - 1;
                long skipped = ((1L << shift[d]) - 1) & -(1L << shift[child + 1]);
                if ((iova & skipped) != 0) {
                    return walk.fail(Walk.Fault.TRANSLATION, d + 1);
                }
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
                d = child;
                continue;
            }
            long size = nl == 0 ? 1L << shift[d] : encodedSize(pte);
            if (d == 5 || size <= (nl == 0 ? 0 : 1L << shift[d]) || size >= 1L << (shift[d] + 9)
                    || (nl == 0 && (pte & ADDRESS & (size - 1)) != 0)) {
                return walk.fail(Walk.Fault.RESERVED, d + 1);
            }
            long and = allowed & pte;
            int perm = ((and & IR) != 0 ? READ | EXEC : 0) | ((and & IW) != 0 ? WRITE : 0);
            int r = finishLeaf(tables, slot, pte, perm, access, updateAccessDirty, A, D, ADDRESS, size, d, iova, walk);
            if (r == RETRY) {
                continue;
            }
            return r == UPDATED;
        }
    }
}
