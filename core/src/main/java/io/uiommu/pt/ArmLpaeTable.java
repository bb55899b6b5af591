package io.uiommu.pt;

/**
 * Arm VMSAv8-64 translation tables (the SMMUv3's stage 1 from a CD and stage 2 from an STE), with
 * 4, 16 or 64 KiB granules, 48-bit addresses at most (no LPA/LPA2). {@link Walk#level} is the
 * spec's lookup level: the start level (0..3) down to 3, the page level.
 *
 * <p>Descriptors: bit 0 valid, bit 1 table (levels 0-2) or page (level 3); 0b01 is a block at the
 * levels that allow one (4K: 1 GiB at level 1 and 2 MiB at 2; 16K: 32 MiB at 2; 64K: 512 MiB at
 * 2) and a translation fault elsewhere. Output and table addresses are bits [47:granule].
 * Stage 1 leaf: AttrIndx [4:2], AP[1] bit 6 (unprivileged access), AP[2] bit 7 (read-only), SH
 * [9:8], AF 10, nG 11 (ignored: no ASIDs here), DBM 51, PXN 53, UXN 54; table: PXNTable 59,
 * UXNTable 60, APTable [62:61] (hierarchical, honoured). Stage 2 leaf: MemAttr [5:2], S2AP [7:6]
 * (bit 6 read, bit 7 write), AF 10, DBM 51, XN bit 54.
 *
 * <p>The walk's {@code updateAccessDirty} is the configuration's HA+HD (CD.HA/HD, STE.S2HA/S2HD).
 * With it, a clear AF is set and a write to a DBM page that is writable-clean (stage 1: AP[2] set;
 * stage 2: S2AP[1] clear) makes it dirty (clears AP[2] / sets S2AP[1]); without it AF clear is an
 * Access flag fault and DBM is ignored. Dirty harvesting reports DBM leaves that are
 * writable-dirty and makes them writable-clean, as Linux does. Requests are unprivileged unless
 * they carry {@link #PRIV}. An input address beyond the configured size is a translation fault at
 * the start level; a table or output address beyond the output size an address size fault.
 *
 * <p>Stage 2 may start with up to 16 concatenated tables; the start level comes from SL0 (see
 * {@link #stage2StartLevel}). Map writes Linux's descriptors (io-pgtable-arm, cacheable,
 * inner-shareable; DBM on writable leaves when built with hardware dirty tracking).
 *
 * <p>Locking: none (see {@link PageTableFormat}).
 */
public final class ArmLpaeTable extends RadixPageTable {
    static final long VALID = 1L;
    static final long TYPE_MASK = 3L;
    static final long TYPE_BLOCK = 1L;
    static final long TYPE_TABLE = 3L;
    static final long AP_UNPRIV = 1L << 6;
    static final long AP_RDONLY = 1L << 7;
    static final long S2AP_READ = 1L << 6;
    static final long S2AP_WRITE = 1L << 7;
    static final long SH_IS = 3L << 8;
    static final long AF = 1L << 10;
    static final long NG = 1L << 11;
    static final long DBM = 1L << 51;
    static final long PXN = 1L << 53;
    static final long UXN = 1L << 54;
    static final long S2_XN = 1L << 54;
    static final long PXN_TABLE = 1L << 59;
    static final long UXN_TABLE = 1L << 60;
    static final long AP_TABLE_NO_EL0 = 1L << 61;
    static final long AP_TABLE_RDONLY = 1L << 62;
    static final long ATTR_INDEX_CACHE = 1L << 2;
    static final long S2_MEMATTR_OIWB = 0xFL << 2;
    /** Address bits of a 48-bit descriptor. */
    static final long ADDRESS_47 = 0x0000_FFFF_FFFF_F000L;

    private final boolean stage2;
    private final int granuleShift;
    private final int startLevel;
    private final boolean hardwareDirty;
    private final long addressMask;
    private final String name;

    private ArmLpaeTable(boolean stage2, int granuleShift, int inputBits, int startLevel, int outputBits,
            boolean hardwareDirty) {
        super(shifts(granuleShift, 4 - startLevel), bits(granuleShift, 4 - startLevel, inputBits), inputBits,
                outputBits, pageSizes(granuleShift, 4 - startLevel));
        this.stage2 = stage2;
        this.granuleShift = granuleShift;
        this.startLevel = startLevel;
        this.hardwareDirty = hardwareDirty;
        this.addressMask = ADDRESS_47 & -(1L << granuleShift);
        this.name = "VMSAv8-64 stage " + (stage2 ? 2 : 1) + " " + (1 << (granuleShift - 10)) + "K, "
                + inputBits + "-bit input, start level " + startLevel
                + (stage2 && indexBits[levels - 1] > granuleShift - 3
                        ? " (" + (1 << (indexBits[levels - 1] - granuleShift + 3)) + " concatenated)" : "");
    }

    private static int[] shifts(int g, int levels) {
        int[] s = new int[levels];
        for (int d = 0; d < levels; d++) {
            s[d] = g + (g - 3) * d;
        }
        return s;
    }

    private static int[] bits(int g, int levels, int inputBits) {
        int[] b = new int[levels];
        java.util.Arrays.fill(b, g - 3);
        b[levels - 1] = inputBits - (g + (g - 3) * (levels - 1));
        return b;
    }

    private static long pageSizes(int g, int levels) {
        long sizes = 1L << g;
        for (int d = 1; d < levels; d++) {
            if (blockAllowed(g, d)) {
                sizes |= 1L << (g + (g - 3) * d);
            }
        }
        return sizes;
    }

    /** Blocks exist at level 1 (4K) and level 2 (all granules) without 52-bit addresses. */
    private static boolean blockAllowed(int g, int d) {
        return d == 1 || (d == 2 && g == 12);
    }

    private static int granuleShift(int granuleBytes) {
        return switch (granuleBytes) {
            case 4096 -> 12;
            case 16384 -> 14;
            case 65536 -> 16;
            default -> throw new IllegalArgumentException("no VMSAv8-64 granule of " + granuleBytes + " bytes");
        };
    }

    private static void checkOutput(int outputBits) {
        if (outputBits < 32 || outputBits > 48) {
            throw new IllegalArgumentException("output size " + outputBits + " bits not supported (32..48)");
        }
    }

    /**
     * A stage-1 table for a CD: {@code inputBits} = 64 - T0SZ; the start level follows from it and
     * the granule. {@code hardwareDirty} makes map set DBM on writable leaves (Linux's HD quirk).
     */
    public static ArmLpaeTable stage1(int granuleBytes, int inputBits, int outputBits, boolean hardwareDirty) {
        int g = granuleShift(granuleBytes);
        checkOutput(outputBits);
        if (inputBits <= g || inputBits > 48) {
            throw new IllegalArgumentException("stage-1 input size " + inputBits + " bits not supported");
        }
        int levels = (inputBits - g + (g - 4)) / (g - 3); // ceil((IA - G) / (G - 3))
        return new ArmLpaeTable(false, g, inputBits, 4 - levels, outputBits, hardwareDirty);
    }

    /**
     * A stage-2 table for an STE: {@code inputBits} = 64 - S2T0SZ and the start level from
     * {@link #stage2StartLevel}; the start level's table may be up to 16 concatenated tables.
     * Throws IllegalArgumentException for a combination the architecture forbids (check first with
     * {@link #validStage2}).
     */
    public static ArmLpaeTable stage2(int granuleBytes, int inputBits, int startLevel, int outputBits,
            boolean hardwareDirty) {
        if (!validStage2(granuleBytes, inputBits, startLevel)) {
            throw new IllegalArgumentException("stage-2 " + granuleBytes + "-byte granule, " + inputBits
                    + "-bit input cannot start at level " + startLevel);
        }
        checkOutput(outputBits);
        return new ArmLpaeTable(true, granuleShift(granuleBytes), inputBits, startLevel, outputBits, hardwareDirty);
    }

    /**
     * Whether a stage-2 walk of this input size can start at {@code startLevel}: the start level
     * must resolve at least one input bit and at most 16 tables' worth (concatenation).
     */
    public static boolean validStage2(int granuleBytes, int inputBits, int startLevel) {
        int g;
        try {
            g = granuleShift(granuleBytes);
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (startLevel < 0 || startLevel > 3 || inputBits > 48 || inputBits <= g) {
            return false;
        }
        if (startLevel == 0 && g != 12) {
            return false; // 16K/64K level-0 lookups need 52-bit addresses
        }
        int covered = g + (g - 3) * (3 - startLevel); // bits below the start level's index
        int topBits = inputBits - covered;
        return topBits >= 1 && topBits <= (g - 3) + 4;
    }

    /**
     * The start level an STE's S2SL0 selects: 4K granule 0 -> level 2, 1 -> 1, 2 -> 0; 16K/64K
     * 0 -> level 3, 1 -> 2, 2 -> 1. Returns -1 for a reserved encoding.
     */
    public static int stage2StartLevel(int granuleBytes, int sl0) {
        if (sl0 < 0 || sl0 > 2) {
            return -1;
        }
        return granuleBytes == 4096 ? 2 - sl0 : 3 - sl0;
    }

    public boolean isStage2() {
        return stage2;
    }

    public int granuleBytes() {
        return 1 << granuleShift;
    }

    /** The lookup level the walk starts at. */
    public int startLevel() {
        return startLevel;
    }

    /** Tables concatenated at the start level (1 if none). */
    public int concatenatedTables() {
        int extra = indexBits[top()] - (granuleShift - 3);
        return extra > 0 ? 1 << extra : 1;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    int specLevel(int depth) {
        return 3 - depth;
    }

    @Override
    boolean inputValid(long iova) {
        return iova >>> inputBits == 0;
    }

    @Override
    boolean present(long pte, int d) {
        return (pte & VALID) != 0;
    }

    @Override
    boolean isTable(long pte, int d) {
        return d > 0 && (pte & TYPE_MASK) == TYPE_TABLE;
    }

    @Override
    long nextTable(long pte, int d) {
        return pte & addressMask;
    }

    @Override
    long encodeTable(long tablePa, int d) {
        return tablePa | TYPE_TABLE;
    }

    @Override
    long encodeLeaf(long outputAddress, long size, int d, int perm) {
        long pte = outputAddress | (d == 0 ? TYPE_TABLE : TYPE_BLOCK) | AF | SH_IS;
        if (stage2) {
            pte |= S2_MEMATTR_OIWB;
            if ((perm & READ) != 0) {
                pte |= S2AP_READ;
            }
            if ((perm & WRITE) != 0) {
                pte |= S2AP_WRITE | (hardwareDirty ? DBM : 0);
            }
        } else {
            pte |= NG | AP_UNPRIV | ATTR_INDEX_CACHE;
            if ((perm & WRITE) == 0) {
                pte |= AP_RDONLY;
            } else if (hardwareDirty) {
                pte |= DBM;
            }
        }
        return pte;
    }

    @Override
    boolean leafDirty(long pte, int d) {
        if ((pte & DBM) == 0) {
            return false;
        }
        return stage2 ? (pte & S2AP_WRITE) != 0 : (pte & AP_RDONLY) == 0;
    }

    @Override
    long leafCleaned(long pte, int d) {
        return stage2 ? pte & ~S2AP_WRITE : pte | AP_RDONLY;
    }

    @Override
    public boolean walk(long root, long iova, int access, boolean updateAccessDirty, TableMemory tables, Walk walk) {
        walk.reset(iova);
        if (iova >>> inputBits != 0) {
            return walk.fail(Walk.Fault.TRANSLATION, startLevel);
        }
        long hierarchy = 0; // stage 1: OR of APTable/XNTable bits over the tables walked
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
            int level = 3 - d;
            if ((pte & VALID) == 0) {
                return walk.fail(Walk.Fault.TRANSLATION, level);
            }
            long type = pte & TYPE_MASK;
            if (d > 0 && type == TYPE_TABLE) {
                if ((pte & ADDRESS_47) >>> outputBits != 0) {
                    return walk.fail(Walk.Fault.ADDRESS_SIZE, level);
                }
                if (!stage2) {
                    hierarchy |= pte & (PXN_TABLE | UXN_TABLE | AP_TABLE_NO_EL0 | AP_TABLE_RDONLY);
                }
                table = pte & addressMask;
                d--;
                continue;
            }
            if (type == TYPE_BLOCK && (d == 0 || !blockAllowed(granuleShift, d))) {
                return walk.fail(Walk.Fault.TRANSLATION, level);
            }
            long size = 1L << shift[d];
            if ((pte & ADDRESS_47 & -size) >>> outputBits != 0) {
                return walk.fail(Walk.Fault.ADDRESS_SIZE, level);
            }
            if ((pte & AF) == 0 && !updateAccessDirty) {
                return walk.fail(Walk.Fault.ACCESS_FLAG, level);
            }
            boolean dbm = updateAccessDirty && (pte & DBM) != 0;
            int perm;
            boolean clean;
            if (stage2) {
                clean = (pte & S2AP_WRITE) == 0 && dbm;
                perm = ((pte & S2AP_READ) != 0 ? READ : 0)
                        | ((pte & S2AP_WRITE) != 0 || clean ? WRITE : 0)
                        | ((pte & S2_XN) == 0 ? EXEC : 0);
            } else {
                boolean user = (access & PRIV) == 0;
                boolean accessible = !user || ((pte & AP_UNPRIV) != 0 && (hierarchy & AP_TABLE_NO_EL0) == 0);
                boolean tableWritable = (hierarchy & AP_TABLE_RDONLY) == 0;
                clean = (pte & AP_RDONLY) != 0 && dbm && tableWritable;
                boolean writable = tableWritable && ((pte & AP_RDONLY) == 0 || clean);
                long xn = user ? UXN | UXN_TABLE : PXN | PXN_TABLE;
                perm = accessible ? READ | (writable ? WRITE : 0) | (((pte | hierarchy) & xn) == 0 ? EXEC : 0) : 0;
            }
            walk.perm = perm;
            int need = access & (READ | WRITE | EXEC);
            if ((perm & need) != need) {
                return walk.fail(Walk.Fault.PERMISSION, level);
            }
            long updated = pte | AF;
            if (clean && (access & WRITE) != 0) {
                updated = stage2 ? updated | S2AP_WRITE : updated & ~AP_RDONLY;
                clean = false;
            }
            if (updated != pte) {
                int r = update(tables, slot, pte, updated, walk);
                if (r == RETRY) {
                    continue;
                }
                if (r == UPDATE_FAULT) {
                    return false;
                }
            }
            walk.outputAddress = (pte & addressMask & -size) | (iova & (size - 1));
            walk.pageSize = size;
            walk.level = level;
            walk.cleanWritable = clean;
            return true;
        }
    }
}
