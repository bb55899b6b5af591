package io.uiommu.pt;

/**
 * What the radix formats share: software map, unmap, free and dirty harvesting over descriptors the
 * subclass encodes. Levels are counted here by depth, 0 being the level of the smallest leaf; each
 * format converts to its spec's numbering ({@link #specLevel}) for {@link Walk#level}. The hardware
 * walk is each format's own (permissions, A/D and faults differ too much to share well).
 *
 * <p>A leaf may span several consecutive slots of one table (AMD next-level-7 pages): every slot
 * holds the same descriptor, and {@link #leafSize} says how big the leaf is.
 *
 * <p>Locking: none (see {@link PageTableFormat}).
 */
abstract class RadixPageTable implements PageTableFormat {
    final int levels;
    /** IOVA shift of one entry at each depth: an entry at depth d covers 2^shift[d] bytes. */
    final int[] shift;
    /** Index bits of the table at each depth (the top one may be narrower, or wider when concatenated). */
    final int[] indexBits;
    final long[] indexMask;
    final int inputBits;
    final int outputBits;
    final long pageSizes;

    RadixPageTable(int[] shift, int[] indexBits, int inputBits, int outputBits, long pageSizes) {
        this.levels = shift.length;
        this.shift = shift;
        this.indexBits = indexBits;
        this.indexMask = new long[levels];
        for (int d = 0; d < levels; d++) {
            indexMask[d] = (1L << indexBits[d]) - 1;
        }
        this.inputBits = inputBits;
        this.outputBits = outputBits;
        this.pageSizes = pageSizes;
    }

    /** Depth of the root table. */
    final int top() {
        return levels - 1;
    }

    /** Address of the slot for {@code iova} in {@code table} at depth {@code d}. */
    final long slot(long table, long iova, int d) {
        return table + (((iova >>> shift[d]) & indexMask[d]) << 3);
    }

    /** Bytes of a table at depth {@code d}. */
    long tableBytes(int d) {
        return 8L << indexBits[d];
    }

    /** The spec's number of the level at depth {@code d} (what {@link Walk#level} reports). */
    abstract int specLevel(int depth);

    /** Whether {@code iova} lies in the range the table translates. */
    abstract boolean inputValid(long iova);

    abstract boolean present(long pte, int d);

    /** Whether a present descriptor points to a next-level table. */
    abstract boolean isTable(long pte, int d);

    /** The table a table descriptor points to. */
    abstract long nextTable(long pte, int d);

    /** Depth of the table a table descriptor points to (AMD may skip levels). */
    int childDepth(long pte, int d) {
        return d - 1;
    }

    /** Size of the leaf a present leaf descriptor maps. */
    long leafSize(long pte, int d) {
        return 1L << shift[d];
    }

    abstract long encodeTable(long tablePa, int d);

    abstract long encodeLeaf(long outputAddress, long size, int d, int perm);

    /** Whether a leaf descriptor is dirty (for {@link #readAndClearDirty}). */
    abstract boolean leafDirty(long pte, int d);

    /** The leaf with its dirty state cleared. */
    abstract long leafCleaned(long pte, int d);

    @Override
    public long pageSizeBitmap() {
        return pageSizes;
    }

    @Override
    public int inputAddressBits() {
        return inputBits;
    }

    /** Depth at which a leaf of {@code size} (in the bitmap) sits. */
    final int leafDepth(long size) {
        int log = Long.numberOfTrailingZeros(size);
        for (int d = top(); d >= 0; d--) {
            if (log >= shift[d]) {
                return d;
            }
        }
        return -1;
    }

    @Override
    public long allocateRoot(TableMemory tables, TableAllocator allocator) {
        return allocator.allocate(tableBytes(top()));
    }

    /** A software access to a descriptor: through the table memory, never counted. */
    static long softwareAddress(TableMemory tables, long slot) {
        long pa = tables.tableAddress(slot, null);
        if (pa == TableMemory.FAULT) {
            throw new IllegalStateException("table address 0x" + Long.toHexString(slot) + " does not translate");
        }
        return pa;
    }

    private void checkMap(long iova, long outputAddress, long size, int perm) {
        if (Long.bitCount(size) != 1 || (size & pageSizes) == 0) {
            throw new IllegalArgumentException(name() + ": page size 0x" + Long.toHexString(size) + " not supported");
        }
        if (((iova | outputAddress) & (size - 1)) != 0) {
            throw new IllegalArgumentException(name() + ": iova 0x" + Long.toHexString(iova) + " or output 0x"
                    + Long.toHexString(outputAddress) + " not aligned to 0x" + Long.toHexString(size));
        }
        if (!inputValid(iova) || !inputValid(iova + size - 1)) {
            throw new IllegalArgumentException(name() + ": iova 0x" + Long.toHexString(iova) + " outside the table");
        }
        if (outputAddress < 0 || (outputBits < 64 && (outputAddress + size - 1) >>> outputBits != 0)) {
            throw new IllegalArgumentException(name() + ": output 0x" + Long.toHexString(outputAddress)
                    + " beyond " + outputBits + " bits");
        }
        if ((perm & (READ | WRITE)) == 0) {
            throw new IllegalArgumentException(name() + ": a mapping needs READ or WRITE");
        }
    }

    private static IllegalStateException exists(long iova) {
        return new IllegalStateException("EEXIST: 0x" + Long.toHexString(iova) + " is mapped already");
    }

    @Override
    public void map(long root, long iova, long outputAddress, long pageSize, int perm, TableMemory tables,
            TableAllocator allocator) {
        checkMap(iova, outputAddress, pageSize, perm);
        int leaf = leafDepth(pageSize);
        long table = root;
        int d = top();
        while (d > leaf) {
            long pa = softwareAddress(tables, slot(table, iova, d));
            long pte = tables.readLong(pa);
            if (!present(pte, d)) {
                long next = allocator.allocate(tableBytes(d - 1));
                tables.writeLong(pa, encodeTable(next, d));
                table = next;
                d--;
            } else if (isTable(pte, d)) {
                int child = childDepth(pte, d);
                if (child < leaf) {
                    throw exists(iova);
                }
                table = nextTable(pte, d);
                d = child;
            } else {
                throw exists(iova);
            }
        }
        long entry = encodeLeaf(outputAddress, pageSize, leaf, perm);
        long first = slot(table, iova, leaf);
        long count = pageSize >>> shift[leaf];
        if (count == 1) {
            long pa = softwareAddress(tables, first);
            long pte = tables.readLong(pa);
            if (!present(pte, leaf)) {
                tables.writeLong(pa, entry);
                return;
            }
            if (!isTable(pte, leaf) || !subtreeEmpty(nextTable(pte, leaf), childDepth(pte, leaf), tables)) {
                throw exists(iova);
            }
            tables.writeLong(pa, entry);
            freeSubtree(nextTable(pte, leaf), childDepth(pte, leaf), tables, allocator);
            return;
        }
        for (long i = 0; i < count; i++) {
            long pte = tables.readLong(softwareAddress(tables, first + (i << 3)));
            if (present(pte, leaf)
                    && (!isTable(pte, leaf) || !subtreeEmpty(nextTable(pte, leaf), childDepth(pte, leaf), tables))) {
                throw exists(iova);
            }
        }
        for (long i = 0; i < count; i++) {
            long pa = softwareAddress(tables, first + (i << 3));
            long pte = tables.readLong(pa);
            tables.writeLong(pa, entry);
            if (present(pte, leaf)) {
                freeSubtree(nextTable(pte, leaf), childDepth(pte, leaf), tables, allocator);
            }
        }
    }

    @Override
    public long unmap(long root, long iova, long pageSize, TableMemory tables, TableAllocator allocator) {
        if (Long.bitCount(pageSize) != 1 || (pageSize & pageSizes) == 0 || (iova & (pageSize - 1)) != 0) {
            throw new IllegalArgumentException(name() + ": cannot unmap 0x" + Long.toHexString(pageSize)
                    + " at 0x" + Long.toHexString(iova));
        }
        if (!inputValid(iova) || !inputValid(iova + pageSize - 1)) {
            return 0;
        }
        long table = root;
        int d = top();
        while ((1L << shift[d]) > pageSize) {
            long slot = slot(table, iova, d);
            long pte = tables.readLong(softwareAddress(tables, slot));
            if (!present(pte, d)) {
                return 0;
            }
            if (isTable(pte, d)) {
                table = nextTable(pte, d);
                d = childDepth(pte, d);
                continue;
            }
            long size = leafSize(pte, d);
            if ((iova & (size - 1)) != 0 || size < pageSize) {
                return 0;
            }
            clearLeaf(table, iova, d, size, tables);
            return size;
        }
        long count = pageSize >>> shift[d];
        long first = slot(table, iova, d);
        if (count == 1) {
            long pa = softwareAddress(tables, first);
            long pte = tables.readLong(pa);
            if (!present(pte, d)) {
                return 0;
            }
            if (!isTable(pte, d)) {
                long size = leafSize(pte, d);
                if (size != pageSize) {
                    // Part of a multi-slot leaf: it starts here and goes whole, or it straddles.
                    if ((iova & (size - 1)) != 0) {
                        return 0;
                    }
                    clearLeaf(table, iova, d, size, tables);
                    return size;
                }
                tables.writeLong(pa, 0);
                return pageSize;
            }
            boolean any = !subtreeEmpty(nextTable(pte, d), childDepth(pte, d), tables);
            tables.writeLong(pa, 0);
            freeSubtree(nextTable(pte, d), childDepth(pte, d), tables, allocator);
            return any ? pageSize : 0;
        }
        // A range of several slots: only multi-slot leaves can straddle it, at its ends.
        long firstPte = tables.readLong(softwareAddress(tables, first));
        long lastPte = tables.readLong(softwareAddress(tables, first + ((count - 1) << 3)));
        if (present(firstPte, d) && !isTable(firstPte, d)) {
            long size = leafSize(firstPte, d);
            if ((iova & (size - 1)) != 0) {
                return 0;
            }
            if (size > pageSize) {
                clearLeaf(table, iova, d, size, tables);
                return size;
            }
        }
        if (present(lastPte, d) && !isTable(lastPte, d) && leafSize(lastPte, d) > (1L << shift[d])) {
            long end = iova + pageSize;
            if ((end & (leafSize(lastPte, d) - 1)) != 0) {
                return 0;
            }
        }
        boolean any = false;
        for (long i = 0; i < count; i++) {
            long pa = softwareAddress(tables, first + (i << 3));
            long pte = tables.readLong(pa);
            if (!present(pte, d)) {
                continue;
            }
            tables.writeLong(pa, 0);
            if (isTable(pte, d)) {
                any |= !subtreeEmpty(nextTable(pte, d), childDepth(pte, d), tables);
                freeSubtree(nextTable(pte, d), childDepth(pte, d), tables, allocator);
            } else {
                any = true;
            }
        }
        return any ? pageSize : 0;
    }

    /** Clears every slot of the leaf of {@code size} covering {@code iova} in {@code table}. */
    private void clearLeaf(long table, long iova, int d, long size, TableMemory tables) {
        long start = iova & -size;
        long first = slot(table, start, d);
        long count = Math.max(1, size >>> shift[d]);
        for (long i = 0; i < count; i++) {
            tables.writeLong(softwareAddress(tables, first + (i << 3)), 0);
        }
    }

    /** Whether no leaf is mapped anywhere below {@code table}. */
    final boolean subtreeEmpty(long table, int d, TableMemory tables) {
        long entries = 1L << indexBits[d];
        for (long i = 0; i < entries; i++) {
            long pte = tables.readLong(softwareAddress(tables, table + (i << 3)));
            if (!present(pte, d)) {
                continue;
            }
            if (!isTable(pte, d) || d == 0 || !subtreeEmpty(nextTable(pte, d), childDepth(pte, d), tables)) {
                return false;
            }
        }
        return true;
    }

    /** Frees {@code table} and every table below it (not the pages leaves point to). */
    final void freeSubtree(long table, int d, TableMemory tables, TableAllocator allocator) {
        if (d > 0) {
            long entries = 1L << indexBits[d];
            for (long i = 0; i < entries; i++) {
                long pte = tables.readLong(softwareAddress(tables, table + (i << 3)));
                if (present(pte, d) && isTable(pte, d)) {
                    freeSubtree(nextTable(pte, d), childDepth(pte, d), tables, allocator);
                }
            }
        }
        allocator.free(table, tableBytes(d));
    }

    @Override
    public void free(long root, TableMemory tables, TableAllocator allocator) {
        freeSubtree(root, top(), tables, allocator);
    }

    /** The highest input address at or above {@code iova} that is still in the same valid range. */
    long inputLimit(long iova) {
        return inputBits >= 64 ? -1L : (1L << inputBits) - 1;
    }

    @Override
    public void readAndClearDirty(long root, long iova, long length, boolean noClear, TableMemory tables,
            DirtySink sink) {
        if (length <= 0 || !inputValid(iova)) {
            return;
        }
        long last = iova + length - 1; // inclusive, so a range reaching 2^64 does not wrap
        if (Long.compareUnsigned(last, iova) < 0) {
            last = -1L;
        }
        long limit = inputLimit(iova);
        if (Long.compareUnsigned(last, limit) > 0) {
            last = limit;
        }
        harvestRange(root, top(), iova, last, noClear, tables, sink);
    }

    /** Harvests [lo, hi] (inclusive, inside the span of {@code table}) one slot at a time. */
    private void harvestRange(long table, int d, long lo, long hi, boolean noClear, TableMemory tables,
            DirtySink sink) {
        long entryMask = (1L << shift[d]) - 1;
        long cur = lo;
        while (true) {
            long pte = tables.readLong(softwareAddress(tables, slot(table, cur, d)));
            long end = cur | entryMask; // last address of this slot
            if (present(pte, d)) {
                if (isTable(pte, d)) {
                    harvestRange(nextTable(pte, d), childDepth(pte, d), cur,
                            Long.compareUnsigned(end, hi) < 0 ? end : hi, noClear, tables, sink);
                } else {
                    long size = leafSize(pte, d);
                    long start = cur & -size;
                    if (harvest(table, start, d, size, noClear, tables)) {
                        sink.dirty(start, size);
                    }
                    end = start + size - 1;
                }
            }
            if (Long.compareUnsigned(end, hi) >= 0) {
                return;
            }
            cur = end + 1;
        }
    }

    /** Tests (and clears) the dirty state of every slot of one leaf; returns whether any was dirty. */
    private boolean harvest(long table, long start, int d, long size, boolean noClear, TableMemory tables) {
        long first = slot(table, start, d);
        long count = Math.max(1, size >>> shift[d]);
        boolean dirty = false;
        for (long i = 0; i < count; i++) {
            long pa = softwareAddress(tables, first + (i << 3));
            while (true) {
                long pte = tables.readLong(pa);
                if (!present(pte, d) || !leafDirty(pte, d)) {
                    break;
                }
                dirty = true;
                if (noClear || tables.compareAndSetLong(pa, pte, leafCleaned(pte, d))) {
                    break;
                }
            }
        }
        return dirty;
    }

    static final int UPDATED = 0;
    static final int RETRY = 1;
    static final int UPDATE_FAULT = 2;
    static final int LEAF_FAILED = 3;

    /**
     * The end of a walk at a leaf of a format with separate accessed and dirty bits (x86-64, VT-d
     * second stage, AMD v1): checks {@code perm} against the access, sets A (and D on a write) when
     * asked, and fills the walk's output. Returns UPDATED when the walk succeeded, RETRY when the
     * leaf changed under the update (re-read the level), LEAF_FAILED when the walk's fault is set.
     */
    static int finishLeaf(TableMemory tables, long slot, long pte, int perm, int access, boolean updateAccessDirty,
            long accessedBit, long dirtyBit, long addressMask, long size, int depth, long iova, Walk walk) {
        walk.perm = perm;
        int need = access & (READ | WRITE | EXEC);
        if ((perm & need) != need) {
            walk.fail(Walk.Fault.PERMISSION, depth + 1);
            return LEAF_FAILED;
        }
        long want = accessedBit | ((access & WRITE) != 0 ? dirtyBit : 0);
        if (updateAccessDirty && (pte & want) != want) {
            int r = update(tables, slot, pte, pte | want, walk);
            if (r != UPDATED) {
                return r == RETRY ? RETRY : LEAF_FAILED;
            }
            pte |= want;
        }
        walk.outputAddress = (pte & addressMask & -size) | (iova & (size - 1));
        walk.pageSize = size;
        walk.level = depth + 1;
        walk.cleanWritable = updateAccessDirty && (perm & WRITE) != 0 && (pte & dirtyBit) == 0;
        return UPDATED;
    }

    /**
     * A hardware access/dirty update: replaces {@code pte} by {@code updated} at table address
     * {@code slot} atomically. RETRY when software changed the descriptor meanwhile (re-read the
     * level); UPDATE_FAULT when a nested stage 2 refused the write (the walk's fault is set).
     */
    static int update(TableMemory tables, long slot, long pte, long updated, Walk walk) {
        long pa = tables.tableAddressForUpdate(slot, walk);
        if (pa == TableMemory.FAULT) {
            return UPDATE_FAULT;
        }
        if (!tables.compareAndSetLong(pa, pte, updated)) {
            return RETRY;
        }
        if (walk.record) {
            walk.replaceRecorded(pa, pte, updated);
        }
        return UPDATED;
    }

    @Override
    public String toString() {
        return name();
    }
}
