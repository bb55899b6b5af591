package io.uiommu.hw.amd;

import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.TableAllocator;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;

/**
 * AMD IOMMU v1 host page table of one mode (1..6 levels): PR bit 0, A bit 5, D bit 6, NextLevel
 * [11:9], address [51:12], FC bit 60, IR bit 61, IW bit 62. Maps 4 KiB, 2 MiB and 1 GiB leaves
 * (NextLevel 0); walks what hardware walks, including NextLevel-7 leaves of other sizes and skipped
 * levels. Levels in {@link Walk#level} are the mode's own, {@code mode}..1.
 *
 * <p>Stand-in until {@code io.uiommu.pt} has the AMD v1 format; the driver and model only use
 * the {@link PageTableFormat} interface.
 *
 * <p>Locking: none; see {@link PageTableFormat}.
 */
final class AmdV1Format implements PageTableFormat {
    static final long PR = 1L << 0;
    static final long A = 1L << 5;
    static final long D = 1L << 6;
    static final int NL_SHIFT = 9;
    static final long ADDR = 0x000f_ffff_ffff_f000L;
    static final long FC = 1L << 60;
    static final long IR = 1L << 61;
    static final long IW = 1L << 62;

    private static final AmdV1Format[] MODES = new AmdV1Format[7];

    static {
        for (int m = 1; m <= 6; m++) {
            MODES[m] = new AmdV1Format(m);
        }
    }

    private final int mode;

    private AmdV1Format(int mode) {
        this.mode = mode;
    }

    /** The format of {@code mode} levels (1..6). */
    static AmdV1Format mode(int mode) {
        return MODES[mode];
    }

    int levels() {
        return mode;
    }

    static int shift(int level) {
        return 12 + 9 * (level - 1);
    }

    static int nextLevel(long pte) {
        return (int) (pte >>> NL_SHIFT & 7);
    }

    /** A page-directory entry pointing at a table of {@code level} (Linux PM_LEVEL_PDE). */
    static long pde(long table, int level) {
        return table & ADDR | (long) level << NL_SHIFT | PR | IR | IW;
    }

    @Override
    public String name() {
        return "AMD v1 mode " + mode;
    }

    @Override
    public long pageSizeBitmap() {
        long sizes = 0;
        for (int l = 1; l <= Math.min(3, mode); l++) {
            sizes |= 1L << shift(l);
        }
        return sizes;
    }

    @Override
    public int inputAddressBits() {
        return Math.min(64, 12 + 9 * mode);
    }

    private boolean inRange(long iova) {
        int bits = inputAddressBits();
        return bits >= 64 || iova >>> bits == 0;
    }

    @Override
    public long allocateRoot(TableMemory tables, TableAllocator allocator) {
        return allocator.allocate(4096);
    }

    private static int levelOf(long pageSize) {
        return switch (Long.numberOfTrailingZeros(pageSize)) {
            case 12 -> 1;
            case 21 -> 2;
            case 30 -> 3;
            default -> throw new IllegalArgumentException("page size 0x" + Long.toHexString(pageSize));
        };
    }

    @Override
    public void map(long root, long iova, long outputAddress, long pageSize, int perm, TableMemory tables,
            TableAllocator allocator) {
        int target = levelOf(pageSize);
        if (target > mode || !inRange(iova) || ((iova | outputAddress) & (pageSize - 1)) != 0) {
            throw new IllegalArgumentException("cannot map 0x" + Long.toHexString(iova) + " in " + name());
        }
        long table = root;
        for (int level = mode; level > target; level--) {
            long pa = table + (iova >>> shift(level) & 511) * 8;
            long e = tables.readLong(pa);
            if ((e & PR) == 0) {
                long next = allocator.allocate(4096);
                tables.writeLong(pa, pde(next, level - 1));
                table = next;
            } else if (nextLevel(e) != level - 1) {
                throw new IllegalStateException("mapped at 0x" + Long.toHexString(iova));
            } else {
                table = e & ADDR;
            }
        }
        long pa = table + (iova >>> shift(target) & 511) * 8;
        if ((tables.readLong(pa) & PR) != 0) {
            throw new IllegalStateException("mapped at 0x" + Long.toHexString(iova));
        }
        tables.writeLong(pa, outputAddress & ADDR | PR | FC | ((perm & READ) != 0 ? IR : 0)
                | ((perm & WRITE) != 0 ? IW : 0));
    }

    @Override
    public long unmap(long root, long iova, long pageSize, TableMemory tables, TableAllocator allocator) {
        int target = levelOf(pageSize);
        if (target > mode || !inRange(iova)) {
            return 0;
        }
        long table = root;
        for (int level = mode; level > target; level--) {
            long e = tables.readLong(table + (iova >>> shift(level) & 511) * 8);
            if ((e & PR) == 0 || nextLevel(e) != level - 1) {
                return 0;
            }
            table = e & ADDR;
        }
        long pa = table + (iova >>> shift(target) & 511) * 8;
        long e = tables.readLong(pa);
        if ((e & PR) == 0 || nextLevel(e) != 0) {
            return 0;
        }
        tables.writeLong(pa, 0);
        return pageSize;
    }

    @Override
    public boolean walk(long root, long iova, int access, boolean updateAccessDirty, TableMemory tables, Walk walk) {
        if (!inRange(iova)) {
            return walk.fail(Walk.Fault.ADDRESS_SIZE, mode);
        }
        int perm = READ | WRITE;
        long table = root;
        int level = mode;
        while (true) {
            long pa = tables.tableAddress(table + (iova >>> shift(level) & 511) * 8, walk);
            if (pa == TableMemory.FAULT) {
                return walk.fail(Walk.Fault.TABLE_ACCESS, level);
            }
            long e = tables.readLong(pa);
            walk.read(pa, e);
            if ((e & PR) == 0) {
                return walk.fail(Walk.Fault.TRANSLATION, level);
            }
            perm &= ((e & IR) != 0 ? READ : 0) | ((e & IW) != 0 ? WRITE : 0);
            int nl = nextLevel(e);
            if (nl == 0 || nl == 7) {
                long size = nl == 0 ? 1L << shift(level) : 1L << (1 + Long.numberOfTrailingZeros(~(e | 0xfff)));
                if (nl == 7 && (shift(level) + 9 < 64 && size >= 1L << (shift(level) + 9) || size <= 1L << shift(level))) {
                    return walk.fail(Walk.Fault.TRANSLATION, level);
                }
                walk.perm = perm;
                walk.pageSize = size;
                walk.outputAddress = (e & ADDR & -size) | (iova & (size - 1));
                walk.level = level;
                if ((access & ~perm & (READ | WRITE)) != 0) {
                    return walk.fail(Walk.Fault.PERMISSION, level);
                }
                if (updateAccessDirty) {
                    long bits = A | ((access & WRITE) != 0 ? D : 0);
                    while ((e & bits) != bits && !tables.compareAndSetLong(pa, e, e | bits)) {
                        e = tables.readLong(pa);
                    }
                }
                return true;
            }
            if (nl >= level) {
                return walk.fail(Walk.Fault.TRANSLATION, level);
            }
            // Skipped levels translate nothing: the IOVA bits they would index must be zero.
            for (int skipped = level - 1; skipped > nl; skipped--) {
                if ((iova >>> shift(skipped) & 511) != 0) {
                    return walk.fail(Walk.Fault.TRANSLATION, skipped);
                }
            }
            table = e & ADDR;
            level = nl;
        }
    }

    @Override
    public void readAndClearDirty(long root, long iova, long length, boolean noClear, TableMemory tables,
            DirtySink sink) {
        dirty(root, mode, 0, iova, iova + length - 1, noClear, tables, sink);
    }

    private void dirty(long table, int level, long base, long first, long last, boolean noClear, TableMemory tables,
            DirtySink sink) {
        long span = 1L << shift(level);
        for (int i = 0; i < 512; i++) {
            long start = base + i * span;
            long end = start + span - 1;
            if (Long.compareUnsigned(end, first) < 0 || Long.compareUnsigned(start, last) > 0
                    || (level == 6 && i >= 1 << (64 - shift(6)))) {
                continue;
            }
            long pa = table + i * 8L;
            long e = tables.readLong(pa);
            if ((e & PR) == 0) {
                continue;
            }
            int nl = nextLevel(e);
            if (nl != 0 && nl != 7) {
                if (nl < level) {
                    dirty(e & ADDR, nl, start, first, last, noClear, tables, sink);
                }
                continue;
            }
            if ((e & D) != 0) {
                long size = nl == 0 ? span : 1L << (1 + Long.numberOfTrailingZeros(~(e | 0xfff)));
                sink.dirty(start & -size, size);
                if (!noClear) {
                    while ((e & D) != 0 && !tables.compareAndSetLong(pa, e, e & ~D)) {
                        e = tables.readLong(pa);
                    }
                }
            }
        }
    }

    @Override
    public void free(long root, TableMemory tables, TableAllocator allocator) {
        free(root, mode, tables, allocator);
    }

    private void free(long table, int level, TableMemory tables, TableAllocator allocator) {
        for (int i = 0; i < 512 && level > 1; i++) {
            long e = tables.readLong(table + i * 8L);
            int nl = nextLevel(e);
            if ((e & PR) != 0 && nl != 0 && nl != 7 && nl < level) {
                free(e & ADDR, nl, tables, allocator);
            }
        }
        allocator.free(table, 4096);
    }
}
