package io.uiommu.hw.amd;

import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.TableAllocator;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;

/**
 * The AMD v2 (guest) page table: x86-64 4- or 5-level paging, P bit 0, R/W bit 1, U/S bit 2, A bit
 * 5, D bit 6, PS bit 7 (2 MiB and 1 GiB leaves), NX bit 63, address [51:12]. Entries written the way
 * Linux's io_pgtable_v2 writes them (P, U, A, D, R/W). Addresses above the table's width are taken
 * sign-extended or not (PASID 0 decodes without sign extension). Levels in {@link Walk#level}: the
 * x86 numbering, 4 (PML4) or 5 (PML5) down to 1.
 *
 * <p>Stand-in until {@code io.uiommu.pt} has the x86-64 format; the driver and model only use the
 * {@link PageTableFormat} interface.
 *
 * <p>Locking: none; see {@link PageTableFormat}.
 */
final class AmdV2Format implements PageTableFormat {
    static final long P = 1L << 0;
    static final long RW = 1L << 1;
    static final long US = 1L << 2;
    static final long A = 1L << 5;
    static final long D = 1L << 6;
    static final long PS = 1L << 7;
    static final long ADDR = 0x000f_ffff_ffff_f000L;

    static final AmdV2Format FOUR_LEVEL = new AmdV2Format(4);
    static final AmdV2Format FIVE_LEVEL = new AmdV2Format(5);

    private final int levels;

    private AmdV2Format(int levels) {
        this.levels = levels;
    }

    static AmdV2Format levels(int levels) {
        return levels == 5 ? FIVE_LEVEL : FOUR_LEVEL;
    }

    private static int shift(int level) {
        return 12 + 9 * (level - 1);
    }

    @Override
    public String name() {
        return "x86-64 " + levels + "-level (AMD v2)";
    }

    @Override
    public long pageSizeBitmap() {
        return 1L << 12 | 1L << 21 | 1L << 30;
    }

    @Override
    public int inputAddressBits() {
        return 12 + 9 * levels;
    }

    private boolean inRange(long iova) {
        long top = iova >> (inputAddressBits() - 1);
        return top == 0 || top == 1 || top == -1;
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
        if (!inRange(iova) || ((iova | outputAddress) & (pageSize - 1)) != 0) {
            throw new IllegalArgumentException("cannot map 0x" + Long.toHexString(iova) + " in " + name());
        }
        long table = root;
        for (int level = levels; level > target; level--) {
            long pa = table + (iova >>> shift(level) & 511) * 8;
            long e = tables.readLong(pa);
            if ((e & P) == 0) {
                long next = allocator.allocate(4096);
                tables.writeLong(pa, next | P | RW | US | A | D);
                table = next;
            } else if ((e & PS) != 0) {
                throw new IllegalStateException("mapped at 0x" + Long.toHexString(iova));
            } else {
                table = e & ADDR;
            }
        }
        long pa = table + (iova >>> shift(target) & 511) * 8;
        if ((tables.readLong(pa) & P) != 0) {
            throw new IllegalStateException("mapped at 0x" + Long.toHexString(iova));
        }
        tables.writeLong(pa, outputAddress & ADDR | P | US | A | D | ((perm & WRITE) != 0 ? RW : 0)
                | (target > 1 ? PS : 0));
    }

    @Override
    public long unmap(long root, long iova, long pageSize, TableMemory tables, TableAllocator allocator) {
        int target = levelOf(pageSize);
        if (!inRange(iova)) {
            return 0;
        }
        long table = root;
        for (int level = levels; level > target; level--) {
            long e = tables.readLong(table + (iova >>> shift(level) & 511) * 8);
            if ((e & P) == 0 || (e & PS) != 0) {
                return 0;
            }
            table = e & ADDR;
        }
        long pa = table + (iova >>> shift(target) & 511) * 8;
        long e = tables.readLong(pa);
        if ((e & P) == 0 || target > 1 && (e & PS) == 0) {
            return 0;
        }
        tables.writeLong(pa, 0);
        return pageSize;
    }

    @Override
    public boolean walk(long root, long iova, int access, boolean updateAccessDirty, TableMemory tables, Walk walk) {
        if (!inRange(iova)) {
            return walk.fail(Walk.Fault.ADDRESS_SIZE, levels);
        }
        boolean writable = true;
        long table = root;
        for (int level = levels; level >= 1; level--) {
            long pa = tables.tableAddress(table + (iova >>> shift(level) & 511) * 8, walk);
            if (pa == TableMemory.FAULT) {
                return walk.fail(Walk.Fault.TABLE_ACCESS, level);
            }
            long e = tables.readLong(pa);
            walk.read(pa, e);
            if ((e & P) == 0) {
                return walk.fail(Walk.Fault.TRANSLATION, level);
            }
            writable &= (e & RW) != 0;
            boolean leaf = level == 1 || (e & PS) != 0 && level <= 3;
            if ((e & PS) != 0 && level > 3) {
                return walk.fail(Walk.Fault.TRANSLATION, level);
            }
            if (leaf) {
                long size = 1L << shift(level);
                walk.perm = READ | (writable ? WRITE : 0);
                walk.pageSize = size;
                walk.outputAddress = (e & ADDR & -size) | (iova & (size - 1));
                walk.level = level;
                if ((access & WRITE) != 0 && !writable) {
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
            table = e & ADDR;
        }
        return walk.fail(Walk.Fault.TRANSLATION, 1);
    }

    @Override
    public void readAndClearDirty(long root, long iova, long length, boolean noClear, TableMemory tables,
            DirtySink sink) {
        dirty(root, levels, 0, iova, iova + length - 1, noClear, tables, sink);
    }

    private void dirty(long table, int level, long base, long first, long last, boolean noClear, TableMemory tables,
            DirtySink sink) {
        long span = 1L << shift(level);
        for (int i = 0; i < 512; i++) {
            long start = base + i * span;
            long end = start + span - 1;
            if (Long.compareUnsigned(end, first) < 0 || Long.compareUnsigned(start, last) > 0) {
                continue;
            }
            long pa = table + i * 8L;
            long e = tables.readLong(pa);
            if ((e & P) == 0) {
                continue;
            }
            if (level > 1 && (e & PS) == 0) {
                dirty(e & ADDR, level - 1, start, first, last, noClear, tables, sink);
            } else if ((e & D) != 0) {
                sink.dirty(start, span);
                while (!noClear && (e & D) != 0 && !tables.compareAndSetLong(pa, e, e & ~D)) {
                    e = tables.readLong(pa);
                }
            }
        }
    }

    @Override
    public void free(long root, TableMemory tables, TableAllocator allocator) {
        free(root, levels, tables, allocator);
    }

    private void free(long table, int level, TableMemory tables, TableAllocator allocator) {
        for (int i = 0; i < 512 && level > 1; i++) {
            long e = tables.readLong(table + i * 8L);
            if ((e & P) != 0 && (e & PS) == 0) {
                free(e & ADDR, level - 1, tables, allocator);
            }
        }
        allocator.free(table, 4096);
    }
}
