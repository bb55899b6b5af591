package io.uiommu.pt;

/**
 * One page-table format in one configuration (levels, granule, address widths): how to map, unmap
 * and walk real descriptor bytes. Stateless apart from its configuration, so one instance serves
 * every table of that shape; the table is named by its root address.
 *
 * <p>Map and unmap take one leaf of a size in {@link #pageSizeBitmap()} and allocate or free table
 * pages through {@link TableAllocator}; the iommu core splits bigger requests (iommu_pgsize).
 *
 * <p>Locking: none; callers serialize map/unmap of one table, walks may run concurrently.
 */
public interface PageTableFormat {
    int READ = 1;
    int WRITE = 2;
    /** Instruction fetch / execute permission where the format has one. */
    int EXEC = 4;
    /**
     * Modifier on a walk's access: the request is privileged (supervisor; PCIe PASID "privileged
     * mode requested"). Without it a request is user-mode, which x86 U/S and Arm AP[1] check.
     */
    int PRIV = 8;

    /** Human name, e.g. "x86-64 4-level", "VMSAv8-64 stage 2 4K, start level 0". */
    String name();

    /** Leaf sizes this configuration can map, one bit per size. */
    long pageSizeBitmap();

    /** Bits of input address the table translates. */
    int inputAddressBits();

    /** Allocates an empty root table (concatenated roots where the format needs them); its address. */
    long allocateRoot(TableMemory tables, TableAllocator allocator);

    /**
     * Maps one leaf of {@code pageSize} at {@code iova} to {@code outputAddress} with {@code perm}
     * ({@link #READ}/{@link #WRITE}/{@link #EXEC}); EEXIST-style refusal (IllegalStateException) if
     * something is mapped there already (an empty table left by earlier unmaps is replaced).
     * A size not in {@link #pageSizeBitmap()}, misaligned addresses, an IOVA outside the table or an
     * output address beyond the format's width throw IllegalArgumentException: the iommu core
     * checks those first. Table pages it needed stay allocated if it fails (as in Linux).
     */
    void map(long root, long iova, long outputAddress, long pageSize, int perm, TableMemory tables,
            TableAllocator allocator);

    /**
     * Unmaps [iova, iova + pageSize) as Linux's unmap_pages does for one page: the leaf there, or
     * every leaf below a table covering exactly that range (the table is freed); a bigger leaf that
     * starts at {@code iova} goes whole. Returns the bytes unmapped: {@code pageSize} (or the
     * bigger leaf's size), or 0 if nothing was mapped there or a leaf straddles the range (no
     * block splitting; state unchanged). Tables that become empty by unmapping single leaves are
     * kept until {@link #free} (or a map of a larger leaf over them).
     */
    long unmap(long root, long iova, long pageSize, TableMemory tables, TableAllocator allocator);

    /**
     * Walks the table for an access ({@link #READ}, {@link #WRITE}) as hardware does: sets the
     * access flag and, on writes with dirty tracking, the dirty bit in the descriptor bytes when
     * {@code updateAccessDirty}. Returns {@code walk.ok()}.
     */
    boolean walk(long root, long iova, int access, boolean updateAccessDirty, TableMemory tables, Walk walk);

    /**
     * Reports each dirty leaf overlapping [iova, iova+length) to {@code sink} (its iova and size)
     * and clears the dirty state unless {@code noClear}.
     */
    void readAndClearDirty(long root, long iova, long length, boolean noClear, TableMemory tables, DirtySink sink);

    /** Frees every table page of the table, root included. */
    void free(long root, TableMemory tables, TableAllocator allocator);

    /** Receives dirty leaves. */
    @FunctionalInterface
    interface DirtySink {
        void dirty(long iova, long size);
    }
}
