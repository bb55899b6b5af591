package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.DirtyBitmap;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.pt.ArmLpaeTable;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.PhysicalTables;
import io.uiommu.pt.Walk;

/**
 * A paging domain of the SMMUv3 driver (struct arm_smmu_domain): a stage-1 table tagged by an ASID
 * (the default), or a stage-2 table tagged by a VMID (IOMMU_HWPT_ALLOC_NEST_PARENT, or an SMMU
 * without stage 1). Unmapping invalidates the TLB through the command queue as Linux does: by VA
 * (ranges with RIL) for stage 1, by IPA for stage 2 followed by TLBI_NH_ALL when it is a nest parent.
 *
 * <p>Locking: map/unmap serialized by the caller; commands go through the driver's lock.
 */
public final class SmmuPagingDomain extends IommuDomain {
    private final ArmSmmuV3 smmu;
    private final ArmLpaeTable format;
    private final PhysicalTables tables;
    private final long root;
    private final boolean stage2;
    private final boolean nestParent;
    private final boolean dirtyOps;
    private final int asid;
    private final int vmid;
    private final int inputBits;
    private boolean dirtyTracking;
    /** Scratch for unmap's look at what it removes (map/unmap are serialized). */
    private final Walk unmapWalk = new Walk();
    private boolean freed;

    SmmuPagingDomain(ArmSmmuV3 smmu, ArmLpaeTable format, boolean nestParent, boolean dirtyOps, int asid, int vmid) {
        super(Type.PAGING, smmu);
        this.smmu = smmu;
        this.format = format;
        this.tables = new PhysicalTables(smmu.memory());
        this.stage2 = format.isStage2();
        this.nestParent = nestParent;
        this.dirtyOps = dirtyOps;
        this.asid = asid;
        this.vmid = vmid;
        this.inputBits = format.inputAddressBits();
        this.root = format.allocateRoot(tables, smmu.allocator());
        this.pgsizeBitmap = format.pageSizeBitmap();
        this.apertureStart = 0;
        this.apertureEnd = (1L << inputBits) - 1;
    }

    public boolean stage2() {
        return stage2;
    }

    public boolean nestParent() {
        return nestParent;
    }

    /** The ASID of a stage-1 domain (0 for stage 2). */
    public int asid() {
        return asid;
    }

    /** The VMID of a stage-2 domain (0 for stage 1). */
    public int vmid() {
        return vmid;
    }

    /** Physical address of the start-level table (CD.TTB0 or STE.S2TTB). */
    public long root() {
        return root;
    }

    ArmLpaeTable format() {
        return format;
    }

    int inputBits() {
        return inputBits;
    }

    @Override
    protected void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
        int perm = PageTableFormat.EXEC | ((prot & IOMMU_READ) != 0 ? PageTableFormat.READ : 0)
                | ((prot & IOMMU_WRITE) != 0 ? PageTableFormat.WRITE : 0);
        long done = 0;
        try {
            for (; done < count; done++) {
                format.map(root, iova + done * pgsize, paddr + done * pgsize, pgsize, perm, tables, smmu.allocator());
            }
        } catch (IllegalStateException e) {
            if (done > 0) {
                unmapPages(iova, pgsize, done);
            }
            throw new IommufdException(Errno.EEXIST, e.getMessage());
        }
    }

    @Override
    protected long unmapPages(long iova, long pgsize, long count) {
        long unmapped = 0;
        long granule = pgsize;
        long minPage = Long.lowestOneBit(pgsizeBitmap);
        for (long k = 0; k < count; k++) {
            long at = iova + k * pgsize;
            if (pgsize > minPage && granule != minPage && coversTable(at, pgsize)) {
                // the unmap frees a table of smaller leaves: invalidate by those (io_pgtable_tlb_flush_walk)
                granule = minPage;
            }
            long n = format.unmap(root, at, pgsize, tables, smmu.allocator());
            if (n == 0) {
                break;
            }
            unmapped += n;
        }
        if (unmapped != 0) {
            smmu.invalidateRange(this, iova, unmapped, granule);
        }
        return unmapped;
    }

    /** Whether a table (not one leaf of {@code pgsize}) sits where a {@code pgsize} leaf at {@code iova} would. */
    private boolean coversTable(long iova, long pgsize) {
        Walk w = unmapWalk;
        format.walk(root, iova, 0, false, tables, w);
        int g = Integer.numberOfTrailingZeros(format.granuleBytes());
        int pgsizeLevel = 3 - (Long.numberOfTrailingZeros(pgsize) - g) / (g - 3);
        // a leaf, or the fault of an empty slot, below the pgsize level means a table there
        return w.level > pgsizeLevel;
    }

    @Override
    public long leafDescriptor(long iova) {
        Walk w = new Walk();
        w.record = true;
        w.reset(iova);
        return format.walk(root, iova, 0, false, tables, w) && w.recorded > 0 ? w.recordedAddress[w.recorded - 1] : -1;
    }

    @Override
    public long iovaToPhys(long iova) {
        Walk w = new Walk();
        return format.walk(root, iova, 0, false, tables, w) ? w.outputAddress : -1;
    }

    @Override
    public boolean hasDirtyOps() {
        return dirtyOps;
    }

    @Override
    public void setDirtyTracking(boolean enable) {
        if (!dirtyOps) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain has no dirty tracking");
        }
        // HTTU is on for the life of the domain (CD.HA/HD); arm_smmu_set_dirty_tracking has nothing to do
        dirtyTracking = enable;
    }

    public boolean dirtyTracking() {
        return dirtyTracking;
    }

    @Override
    public void readAndClearDirty(long iova, long size, boolean noClear, DirtyBitmap bitmap) {
        if (!dirtyOps) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain has no dirty tracking");
        }
        if (size == 0 || ((iova + size - 1) >>> inputBits) != 0) {
            throw new IommufdException(Errno.EINVAL, "range outside the table");
        }
        format.readAndClearDirty(root, iova, size, noClear, tables, (va, len) -> {
            if (bitmap != null) {
                bitmap.record(va, len);
            }
        });
        if (!noClear) {
            // cleared leaves are writable-clean again: cached writable entries must go (iommu_iotlb_sync)
            smmu.invalidateRange(this, iova, size, Long.lowestOneBit(pgsizeBitmap));
        }
    }

    @Override
    public void free() {
        if (freed) {
            return;
        }
        freed = true;
        smmu.freeDomain(this);
        format.free(root, tables, smmu.allocator());
    }
}
