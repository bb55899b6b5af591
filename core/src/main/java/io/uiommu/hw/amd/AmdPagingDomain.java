package io.uiommu.hw.amd;

import io.uiommu.iommu.DirtyBitmap;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.Walk;

import java.util.ArrayList;
import java.util.List;

/**
 * A paging protection domain: an I/O page table the kernel owns, either AMD v1 (host table; the
 * DTE points at it; dirty tracking and nest parents need it) or v2 (x86-64; reached through
 * GCR3[0] of each device's GCR3 table, tagged with a per-device DomainID). A v1 table starts with
 * 3 levels and grows a level when a mapping needs more IOVA bits, updating every DTE that points at
 * it (as Linux's increase_address_space does). Unmapping flushes the IOTLB of the range before it
 * returns.
 *
 * <p>Locking: map/unmap serialized by the caller; table and DTE changes and commands run under the
 * owning {@link AmdIommu}'s monitor.
 */
public final class AmdPagingDomain extends IommuDomain {
    /** Which table format the domain uses. */
    public enum PageTable { V1, V2 }

    static final int V1_START_MODE = 3;

    private final AmdIommu iommu;
    private final PageTable kind;
    final int id;
    final boolean nestParent;
    private final boolean dirtyOps;
    boolean dirtyTracking;
    PageTableFormat format;
    long root;
    /** v1 levels (DTE Mode); v2 levels (4 or 5). */
    int levels;
    final List<AmdDevice> devices = new ArrayList<>();
    private final Walk cpuWalk = new Walk();
    private boolean freed;

    AmdPagingDomain(AmdIommu iommu, PageTable kind, int id, boolean dirtyOps, boolean nestParent, int v2Levels) {
        super(Type.PAGING, iommu);
        this.iommu = iommu;
        this.kind = kind;
        this.id = id;
        this.dirtyOps = dirtyOps;
        this.nestParent = nestParent;
        if (kind == PageTable.V1) {
            levels = V1_START_MODE;
            format = DeviceTableEntry.hostTable(levels);
            apertureEnd = -1L;
        } else {
            levels = v2Levels;
            format = DeviceTableEntry.guestTable(v2Levels);
            // Linux drops the top bit so the table works without sign extension on PASID 0 too.
            apertureEnd = (1L << (12 + 9 * v2Levels - 1)) - 1;
        }
        // v1: every power of two from 4 KiB but 512 GiB (Linux AMD_IOMMU_PGSIZES); the table grows to hold them.
        pgsizeBitmap = kind == PageTable.V1 ? DeviceTableEntry.hostTable(6).pageSizeBitmap() : format.pageSizeBitmap();
        root = format.allocateRoot(iommu.tables(), iommu.allocator());
    }

    public PageTable pageTable() {
        return kind;
    }

    /** The DomainID tagging this domain's host translations (v1). */
    public int domainId() {
        return id;
    }

    /** Levels of the table now (the v1 DTE Mode). */
    public int levels() {
        return levels;
    }

    public long root() {
        return root;
    }

    @Override
    protected void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
        synchronized (iommu) {
            long last = iova + pgsize * count - 1;
            if (kind == PageTable.V1) {
                growTo(last, pgsize);
            } else if (Long.compareUnsigned(last, apertureEnd) > 0) {
                throw new IommufdException(Errno.EINVAL, "IOVA beyond the v2 table");
            }
            int perm = ((prot & IOMMU_READ) != 0 ? PageTableFormat.READ : 0)
                    | ((prot & IOMMU_WRITE) != 0 ? PageTableFormat.WRITE : 0);
            long done = 0;
            try {
                for (; done < count; done++) {
                    format.map(root, iova + done * pgsize, paddr + done * pgsize, pgsize, perm, iommu.tables(),
                            iommu.allocator());
                }
            } catch (IllegalStateException e) {
                unmapPages(iova, pgsize, done);
                throw new IommufdException(Errno.EEXIST, "IOVA 0x" + Long.toHexString(iova + done * pgsize)
                        + " is mapped");
            }
        }
    }

    /**
     * Adds v1 levels until {@code lastIova} is inside the table and a leaf of {@code pgsize} fits a
     * level of it (Linux increase_address_space).
     */
    private void growTo(long lastIova, long pgsize) {
        int mode = levels;
        long newRoot = root;
        while (mode < 6 && (lastIova >>> (12 + 9 * mode) != 0
                || (pgsize & DeviceTableEntry.hostTable(mode).pageSizeBitmap()) == 0)) {
            long top = iommu.allocator().allocate(4096);
            iommu.tables().writeLong(top, pde(newRoot, mode));
            newRoot = top;
            mode++;
        }
        if (mode != levels) {
            root = newRoot;
            levels = mode;
            format = DeviceTableEntry.hostTable(mode);
            iommu.domainTopChanged(this);
        }
    }

    /**
     * The entry a new top level holds for the old root (Linux PM_LEVEL_PDE): PR, IR, IW and
     * NextLevel = the old root's level. The driver writes it itself: growing the top is not a
     * format operation.
     */
    private static long pde(long table, int level) {
        return table | 1L | 1L << 61 | 1L << 62 | (long) level << 9;
    }

    @Override
    protected long unmapPages(long iova, long pgsize, long count) {
        synchronized (iommu) {
            long unmapped = 0;
            for (long i = 0; i < count; i++) {
                long n = format.unmap(root, iova + i * pgsize, pgsize, iommu.tables(), iommu.allocator());
                if (n == 0) {
                    break;
                }
                unmapped += n;
            }
            if (unmapped != 0) {
                iommu.flushDomainPages(this, iova, unmapped);
            }
            return unmapped;
        }
    }

    @Override
    public long leafDescriptor(long iova) {
        Walk w = new Walk();
        // A walk without A/D updates reads descriptors only; no lock is needed for that.
        w.record = true;
        w.reset(iova);
        return format.walk(root, iova, 0, false, iommu.tables(), w) && w.recorded > 0 ? w.recordedAddress[w.recorded - 1] : -1;
    }

    @Override
    public long iovaToPhys(long iova) {
        synchronized (iommu) {
            cpuWalk.reset(iova);
            if (!format.walk(root, iova, 0, false, iommu.tables(), cpuWalk)) {
                return -1;
            }
            return cpuWalk.outputAddress;
        }
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
        iommu.setDirtyTracking(this, enable);
    }

    @Override
    public void readAndClearDirty(long iova, long size, boolean noClear, DirtyBitmap bitmap) {
        if (!dirtyOps) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain has no dirty tracking");
        }
        synchronized (iommu) {
            if (!dirtyTracking && bitmap != null) {
                throw new IommufdException(Errno.EINVAL, "dirty tracking is off");
            }
            boolean[] any = new boolean[1];
            format.readAndClearDirty(root, iova, size, noClear, iommu.tables(), (dirtyIova, dirtySize) -> {
                any[0] = true;
                if (bitmap != null) {
                    bitmap.record(dirtyIova, dirtySize);
                }
            });
            // Cleared D bits only count again once the IOTLB forgets the entries that set them.
            if (any[0] && !noClear) {
                iommu.flushDomainPages(this, iova, size);
            }
        }
    }

    @Override
    public void free() {
        synchronized (iommu) {
            if (freed) {
                return;
            }
            freed = true;
            format.free(root, iommu.tables(), iommu.allocator());
            iommu.freeDomainId(id);
        }
    }
}
