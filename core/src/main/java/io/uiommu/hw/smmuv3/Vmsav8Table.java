package io.uiommu.hw.smmuv3;

import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.TableAllocator;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;

/**
 * Arm VMSAv8-64 translation tables as the SMMU walks them: stage 1 (AP[2:1], AF, nG, XN, DBM) and
 * stage 2 (S2AP, AF, XN, DBM), 4K/16K/64K granules, any start level the input size (T0SZ) or SL0
 * gives, stage-2 starting tables concatenated up to 16. Levels are numbered as the Arm ARM does,
 * {@code start..3}; {@link Walk#level} reports the level a walk stopped at.
 *
 * <p>Hardware dirty tracking (HTTU, FEAT_HAFDBS) follows the Arm ARM: a leaf with DBM set is
 * writable-clean while AP[2] is set (stage 1) or S2AP[1] is clear (stage 2); the walker clears
 * AP[2] / sets S2AP[1] on the first write and sets AF on the first access when allowed to update.
 * Mapping with {@code hardwareDirty} sets DBM on writable leaves and maps them writable-dirty, as
 * Linux's io-pgtable-arm does with IO_PGTABLE_QUIRK_ARM_HD.
 *
 * <p>This is the SMMUv3 model's own copy until io.uiommu.pt's Arm format lands on main; it keeps
 * to the {@link PageTableFormat} contract so the swap is one line in {@link #of}.
 *
 * <p>Locking: none; callers serialize map/unmap of one table, walks may run concurrently.
 */
final class Vmsav8Table implements PageTableFormat {
    static final long VALID = 1L;
    static final long TABLE_OR_PAGE = 1L << 1;
    static final long S1_ATTRINDX_SHIFT = 2;
    static final long S2_MEMATTR_OIWB = 0xfL << 2;
    static final long AP_UNPRIV = 1L << 6;
    static final long AP_RDONLY = 1L << 7;
    static final long S2AP_READ = 1L << 6;
    static final long S2AP_WRITE = 1L << 7;
    static final long SH_INNER = 3L << 8;
    static final long AF = 1L << 10;
    static final long NG = 1L << 11;
    static final long DBM = 1L << 51;
    static final long XN = 1L << 54;
    /** Output address bits [47:12]; the granule's low bits are cleared per configuration. */
    static final long OA_MASK = 0x0000_FFFF_FFFF_F000L;

    private final boolean stage2;
    private final int granuleShift;
    private final int bitsPerLevel;
    private final int inputBits;
    private final int startLevel;
    private final int outputBits;
    private final boolean hardwareDirty;
    private final long pageSizes;
    private final long oaMask;

    private Vmsav8Table(boolean stage2, int granuleShift, int inputBits, int startLevel, int outputBits,
            boolean hardwareDirty) {
        this.stage2 = stage2;
        this.granuleShift = granuleShift;
        this.bitsPerLevel = granuleShift - 3;
        this.inputBits = inputBits;
        this.startLevel = startLevel;
        this.outputBits = outputBits;
        this.hardwareDirty = hardwareDirty;
        long sizes = 1L << granuleShift;
        for (int l = Math.max(startLevel, 1); l <= 2; l++) {
            if (blockAllowed(l)) {
                sizes |= 1L << shift(l);
            }
        }
        this.pageSizes = sizes;
        this.oaMask = OA_MASK & -(1L << granuleShift);
    }

    /**
     * A stage-1 table: {@code inputBits} = 64 - T0SZ, start level derived from it. Null when the
     * combination is not a valid configuration (the model reports C_BAD_CD).
     */
    static Vmsav8Table stage1(int granuleShift, int inputBits, int outputBits, boolean hardwareDirty) {
        int b = granuleShift - 3;
        if (inputBits <= granuleShift || inputBits > 48) {
            return null;
        }
        int levels = (inputBits - granuleShift + b - 1) / b;
        int start = 4 - levels;
        if (start < 0) {
            return null;
        }
        return new Vmsav8Table(false, granuleShift, inputBits, start, outputBits, hardwareDirty);
    }

    /**
     * A stage-2 table: {@code inputBits} = 64 - S2T0SZ, start level from S2SL0; the start level may
     * be 2..16 concatenated tables. Null when invalid (the model reports C_BAD_STE).
     */
    static Vmsav8Table stage2(int granuleShift, int inputBits, int sl0, int outputBits, boolean hardwareDirty) {
        int start = switch (granuleShift) {
            case 12 -> sl0 <= 2 ? 2 - sl0 : -1;
            default -> sl0 <= 2 ? 3 - sl0 : -1;
        };
        if (start < 0 || inputBits > 48 || (granuleShift != 12 && start == 0)) {
            return null;
        }
        int b = granuleShift - 3;
        int startShift = granuleShift + (3 - start) * b;
        int indexBits = inputBits - startShift;
        if (indexBits < 1 || indexBits > b + 4) {
            return null;
        }
        return new Vmsav8Table(true, granuleShift, inputBits, start, outputBits, hardwareDirty);
    }

    /**
     * SL0 for a stage-2 table of this input size; like io-pgtable-arm, a level-0 start table of at
     * most 16 entries becomes up to 16 concatenated level-1 tables instead.
     */
    static int stage2Sl0(int granuleShift, int inputBits) {
        int b = granuleShift - 3;
        int start = 4 - (inputBits - granuleShift + b - 1) / b;
        if (start == 0 && inputBits - (granuleShift + 3 * b) <= 4) {
            start = 1;
        }
        return granuleShift == 12 ? 2 - start : 3 - start;
    }

    private boolean blockAllowed(int level) {
        return switch (granuleShift) {
            case 12 -> level == 1 || level == 2;
            default -> level == 2;
        };
    }

    private int shift(int level) {
        return granuleShift + (3 - level) * bitsPerLevel;
    }

    private int indexBits(int level) {
        return level == startLevel ? inputBits - shift(level) : bitsPerLevel;
    }

    private long index(long iova, int level) {
        return (iova >>> shift(level)) & ((1L << indexBits(level)) - 1);
    }

    int startLevel() {
        return startLevel;
    }

    int granuleShift() {
        return granuleShift;
    }

    boolean isStage2() {
        return stage2;
    }

    @Override
    public String name() {
        return "VMSAv8-64 stage " + (stage2 ? 2 : 1) + " " + (1 << (granuleShift - 10)) + "K, " + inputBits
                + "-bit input, start level " + startLevel;
    }

    @Override
    public long pageSizeBitmap() {
        return pageSizes;
    }

    @Override
    public int inputAddressBits() {
        return inputBits;
    }

    /** Bytes of the start-level table (concatenated tables included). */
    long rootBytes() {
        return 8L << indexBits(startLevel);
    }

    @Override
    public long allocateRoot(TableMemory tables, TableAllocator allocator) {
        return allocator.allocate(rootBytes());
    }

    private int leafLevel(long pageSize) {
        for (int l = 3; l >= startLevel; l--) {
            if (1L << shift(l) == pageSize) {
                return l;
            }
        }
        throw new IllegalArgumentException("page size 0x" + Long.toHexString(pageSize) + " for " + name());
    }

    long leafBits(int perm, int level) {
        long pte = VALID | AF | SH_INNER | (level == 3 ? TABLE_OR_PAGE : 0);
        if ((perm & EXEC) == 0) {
            pte |= XN;
        }
        if (stage2) {
            pte |= S2_MEMATTR_OIWB;
            if ((perm & READ) != 0) {
                pte |= S2AP_READ;
            }
            if ((perm & WRITE) != 0) {
                pte |= S2AP_WRITE | (hardwareDirty ? DBM : 0);
            }
        } else {
            pte |= AP_UNPRIV | NG | (1L << S1_ATTRINDX_SHIFT);
            if ((perm & WRITE) == 0) {
                pte |= AP_RDONLY;
            } else if (hardwareDirty) {
                pte |= DBM;
            }
        }
        return pte;
    }

    @Override
    public void map(long root, long iova, long outputAddress, long pageSize, int perm, TableMemory tables,
            TableAllocator allocator) {
        int target = leafLevel(pageSize);
        long table = root;
        for (int level = startLevel; ; level++) {
            long pa = table + index(iova, level) * 8;
            long pte = tables.readLong(pa);
            if (level == target) {
                if ((pte & VALID) != 0) {
                    throw new IllegalStateException("already mapped at 0x" + Long.toHexString(iova));
                }
                tables.writeLong(pa, (outputAddress & oaMask) | leafBits(perm, level));
                return;
            }
            if ((pte & VALID) == 0) {
                long next = allocator.allocate(1L << granuleShift);
                tables.writeLong(pa, next | VALID | TABLE_OR_PAGE);
                table = next;
            } else if ((pte & TABLE_OR_PAGE) == 0) {
                throw new IllegalStateException("block mapped over 0x" + Long.toHexString(iova));
            } else {
                table = pte & oaMask;
            }
        }
    }

    @Override
    public long unmap(long root, long iova, long pageSize, TableMemory tables, TableAllocator allocator) {
        long table = root;
        for (int level = startLevel; level <= 3; level++) {
            long pa = table + index(iova, level) * 8;
            long pte = tables.readLong(pa);
            if ((pte & VALID) == 0) {
                return 0;
            }
            boolean leaf = level == 3 || (pte & TABLE_OR_PAGE) == 0;
            if (leaf) {
                if (1L << shift(level) != pageSize) {
                    return 0;
                }
                tables.writeLong(pa, 0);
                return pageSize;
            }
            table = pte & oaMask;
        }
        return 0;
    }

    @Override
    public boolean walk(long root, long iova, int access, boolean updateAccessDirty, TableMemory tables, Walk walk) {
        walk.iova = iova;
        if ((iova >>> inputBits) != 0) {
            return walk.fail(Walk.Fault.TRANSLATION, startLevel);
        }
        for (int attempt = 0; ; attempt++) {
            long table = root;
            for (int level = startLevel; level <= 3; level++) {
                long pa = tables.tableAddress(table + index(iova, level) * 8, walk);
                if (pa == TableMemory.FAULT) {
                    if (walk.ok()) {
                        walk.fail(Walk.Fault.TABLE_ACCESS, level);
                    }
                    walk.stage2 = true;
                    return false;
                }
                long pte = tables.readLong(pa);
                walk.read(pa, pte);
                if ((pte & VALID) == 0) {
                    return walk.fail(Walk.Fault.TRANSLATION, level);
                }
                boolean table3 = (pte & TABLE_OR_PAGE) != 0;
                if (level < 3 && table3) {
                    table = pte & oaMask;
                    if ((table >>> outputBits) != 0) {
                        return walk.fail(Walk.Fault.ADDRESS_SIZE, level);
                    }
                    continue;
                }
                if (level == 3 && !table3 || level < 3 && !blockAllowed(level)) {
                    return walk.fail(Walk.Fault.TRANSLATION, level);
                }
                int r = leaf(pa, pte, level, iova, access, updateAccessDirty, tables, walk);
                if (r >= 0) {
                    return r == 1;
                }
                break; // lost a race with a software update of the descriptor: walk again
            }
            if (attempt > 8) {
                return walk.fail(Walk.Fault.TRANSLATION, 3);
            }
        }
    }

    /** 1 = translated, 0 = faulted, -1 = the hardware update lost a race (retry). */
    private int leaf(long pa, long pte, int level, long iova, int access, boolean update, TableMemory tables, Walk walk) {
        long size = 1L << shift(level);
        long out = (pte & oaMask & -size) | (iova & (size - 1));
        if ((out >>> outputBits) != 0) {
            walk.fail(Walk.Fault.ADDRESS_SIZE, level);
            return 0;
        }
        long updated = pte;
        if ((pte & AF) == 0) {
            if (!update) {
                walk.fail(Walk.Fault.ACCESS_FLAG, level);
                return 0;
            }
            updated |= AF;
        }
        boolean readable;
        boolean writable;
        boolean dbm = (pte & DBM) != 0 && update;
        if (stage2) {
            readable = (pte & S2AP_READ) != 0;
            writable = (pte & S2AP_WRITE) != 0;
        } else {
            readable = true;
            writable = (pte & AP_RDONLY) == 0;
        }
        if ((access & READ) != 0 && !readable) {
            walk.fail(Walk.Fault.PERMISSION, level);
            return 0;
        }
        if ((access & WRITE) != 0 && !writable) {
            if (!dbm) {
                walk.fail(Walk.Fault.PERMISSION, level);
                return 0;
            }
            updated = stage2 ? updated | S2AP_WRITE : updated & ~AP_RDONLY;
            writable = true;
        }
        if (updated != pte && !tables.compareAndSetLong(pa, pte, updated)) {
            return -1;
        }
        walk.outputAddress = out;
        walk.pageSize = size;
        walk.level = level;
        walk.perm = (readable ? READ : 0) | (writable ? WRITE : 0) | ((pte & XN) == 0 ? EXEC : 0);
        return 1;
    }

    /** Whether a leaf is writable-dirty (DBM set and the write permission granted by hardware). */
    private boolean dirty(long pte) {
        if ((pte & DBM) == 0) {
            return false;
        }
        return stage2 ? (pte & S2AP_WRITE) != 0 : (pte & AP_RDONLY) == 0;
    }

    private long clean(long pte) {
        return stage2 ? pte & ~S2AP_WRITE : pte | AP_RDONLY;
    }

    @Override
    public void readAndClearDirty(long root, long iova, long length, boolean noClear, TableMemory tables,
            DirtySink sink) {
        long end = iova + length;
        dirtyWalk(root, startLevel, 0, iova, end, noClear, tables, sink);
    }

    private void dirtyWalk(long table, int level, long tableBase, long from, long end, boolean noClear,
            TableMemory tables, DirtySink sink) {
        long size = 1L << shift(level);
        long entries = 1L << indexBits(level);
        for (long i = 0; i < entries; i++) {
            long va = tableBase + i * size;
            if (Long.compareUnsigned(va + size - 1, from) < 0) {
                continue;
            }
            if (Long.compareUnsigned(va, end) >= 0) {
                return;
            }
            long pa = table + i * 8;
            long pte = tables.readLong(pa);
            if ((pte & VALID) == 0) {
                continue;
            }
            if (level < 3 && (pte & TABLE_OR_PAGE) != 0) {
                dirtyWalk(pte & oaMask, level + 1, va, from, end, noClear, tables, sink);
                continue;
            }
            while (dirty(pte)) {
                if (noClear || tables.compareAndSetLong(pa, pte, clean(pte))) {
                    sink.dirty(va, size);
                    break;
                }
                pte = tables.readLong(pa);
            }
        }
    }

    @Override
    public void free(long root, TableMemory tables, TableAllocator allocator) {
        freeLevel(root, startLevel, tables, allocator);
    }

    private void freeLevel(long table, int level, TableMemory tables, TableAllocator allocator) {
        long entries = 1L << indexBits(level);
        if (level < 3) {
            for (long i = 0; i < entries; i++) {
                long pte = tables.readLong(table + i * 8);
                if ((pte & VALID) != 0 && (pte & TABLE_OR_PAGE) != 0) {
                    freeLevel(pte & oaMask, level + 1, tables, allocator);
                }
            }
        }
        allocator.free(table, level == startLevel ? rootBytes() : 1L << granuleShift);
    }
}
