package io.uiommu.pt;

/**
 * The memory of a guest-owned stage-1 table (VT-d nested, SMMUv3 S1+S2, AMD v2 over v1): its table
 * addresses are guest-physical (GPA/IPA), so each descriptor address goes through a stage-2 walk
 * of another format before it is read. A stage-2 failure on a table read is reported on the
 * stage-1 walk with {@link Walk#stage2} set and the stage-2 level; every stage-2 descriptor read
 * is counted (and recorded) on the stage-1 walk, so a cold 4-level over 4-level walk with
 * {@link #walk} reads (4+1)*(4+1)-1 = 24 descriptors. Stage-1 access/dirty updates are stage-2
 * writes: they need a writable stage-2 mapping (and mark it dirty there when enabled).
 *
 * <p>Locking: none; immutable. Each walk keeps its stage-2 state in its own {@link Walk}.
 */
public final class NestedTables implements TableMemory {
    private final PageTableFormat stage2;
    private final long stage2Root;
    private final TableMemory memory;
    private final boolean stage2UpdateAccessDirty;

    /**
     * Stage-1 tables seen through {@code stage2} rooted at {@code stage2Root}, whose own tables
     * (and the final bytes) are in {@code memory}; {@code stage2UpdateAccessDirty} is the stage-2
     * configuration's hardware A/D setting.
     */
    public NestedTables(PageTableFormat stage2, long stage2Root, TableMemory memory, boolean stage2UpdateAccessDirty) {
        this.stage2 = stage2;
        this.stage2Root = stage2Root;
        this.memory = memory;
        this.stage2UpdateAccessDirty = stage2UpdateAccessDirty;
    }

    public PageTableFormat stage2() {
        return stage2;
    }

    public long stage2Root() {
        return stage2Root;
    }

    @Override
    public long tableAddress(long addr, Walk walk) {
        return translate(addr, PageTableFormat.READ, walk);
    }

    @Override
    public long tableAddressForUpdate(long addr, Walk walk) {
        return translate(addr, PageTableFormat.WRITE, walk);
    }

    private long translate(long gpa, int access, Walk walk) {
        // Software accesses (map into a guest table in tests, tools) pay for a walk object.
        Walk s2 = walk == null ? new Walk() : walk.stage2Walk();
        boolean ok = stage2.walk(stage2Root, gpa, access, stage2UpdateAccessDirty, memory, s2);
        if (walk == null) {
            return ok ? s2.outputAddress : FAULT;
        }
        walk.absorb(s2);
        if (!ok) {
            stage2Fault(walk, s2);
            return FAULT;
        }
        return s2.outputAddress;
    }

    private static void stage2Fault(Walk walk, Walk s2) {
        walk.fault = s2.fault;
        walk.level = s2.level;
        walk.perm = s2.perm;
        walk.stage2 = true;
    }

    /**
     * A full nested translation: walks {@code stage1} (tables read through this object), then
     * translates its output through stage 2. On success {@code walk} holds the physical address,
     * the smaller of the two leaf sizes, the intersection of both permissions and the stage-1 leaf
     * level; on a stage-2 fault, {@link Walk#stage2} and the stage-2 level.
     */
    public boolean walk(PageTableFormat stage1, long stage1Root, long iova, int access,
            boolean stage1UpdateAccessDirty, Walk walk) {
        if (!stage1.walk(stage1Root, iova, access, stage1UpdateAccessDirty, this, walk)) {
            return false;
        }
        Walk s2 = walk.stage2Walk();
        boolean ok = stage2.walk(stage2Root, walk.outputAddress, access & ~PageTableFormat.PRIV,
                stage2UpdateAccessDirty, memory, s2);
        walk.absorb(s2);
        if (!ok) {
            stage2Fault(walk, s2);
            return false;
        }
        walk.outputAddress = s2.outputAddress;
        walk.pageSize = Math.min(walk.pageSize, s2.pageSize);
        walk.perm &= s2.perm;
        walk.cleanWritable |= s2.cleanWritable;
        return true;
    }

    @Override
    public long readLong(long pa) {
        return memory.readLong(pa);
    }

    @Override
    public void writeLong(long pa, long value) {
        memory.writeLong(pa, value);
    }

    @Override
    public boolean compareAndSetLong(long pa, long expected, long value) {
        return memory.compareAndSetLong(pa, expected, value);
    }
}
