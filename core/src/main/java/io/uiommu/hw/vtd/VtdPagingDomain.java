package io.uiommu.hw.vtd;

import io.uiommu.iommu.DirtyBitmap;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.Walk;

import java.util.ArrayList;
import java.util.List;

/**
 * A VT-d paging domain (Linux's dmar_domain for iommufd): a second-stage table, as Linux 6.12
 * allocates for every user domain ("do not use first stage for user domain translation"), so that
 * the same domain can be a nesting parent and track dirty pages through SSADE. Map and unmap edit
 * the table bytes through {@code pt}; unmap then invalidates the IOTLB through the queue
 * (page-selective, or domain-selective beyond CAP.MAMV) for every DID the domain is used under:
 * its own and, as a nesting parent, each attached nested child's.
 *
 * <p>Locking: map/unmap serialized by the caller (iommufd's context); attach state under the
 * driver's monitor; translation reads the table bytes without locks.
 */
public final class VtdPagingDomain extends IommuDomain {
    private final VtdIommu iommu;
    final PageTableFormat format;
    final long root;
    /** Guest address width (bits) of the domain: the table's width capped at MGAW. */
    final int gaw;
    /** Adjusted guest address width code (1/2/3 = 39/48/57 bits) the PASID entries' AW carries. */
    final int agaw;
    final boolean nestParent;
    private final boolean dirtyOps;
    volatile boolean dirtyTracking;
    /** Highest mapped end address (Linux's max_addr), for the attach-time width check. */
    private long maxAddr;
    /** DID and how many PASID entries use it (domain_attach_iommu refcount). */
    int did = -1;
    int didUsers;
    /** (device, PASID) pairs whose PASID entry points at this domain. */
    final List<VtdIommu.Attachment> attachments = new ArrayList<>();
    /** Nested domains over this parent. */
    final List<VtdNestedDomain> children = new ArrayList<>();
    private boolean freed;

    VtdPagingDomain(VtdIommu iommu, int agaw, int gaw, boolean nestParent, boolean dirtyOps) {
        super(Type.PAGING, iommu);
        this.iommu = iommu;
        this.agaw = agaw;
        this.gaw = gaw;
        this.nestParent = nestParent;
        this.dirtyOps = dirtyOps;
        this.format = iommu.hardware().secondStageFormat(VtdCapabilities.agawToLevels(agaw));
        this.root = format.allocateRoot(iommu.tables(), iommu.allocator());
        this.pgsizeBitmap = pageSizes(iommu.hardware().capabilities());
        this.apertureStart = 0;
        this.apertureEnd = gaw >= 64 ? -1L : (1L << gaw) - 1;
    }

    /** 4 KiB plus the second-stage large pages CAP.SLLPS offers (2 MiB, 1 GiB). */
    static long pageSizes(VtdCapabilities caps) {
        long sizes = 1L << 12;
        int sllps = caps.secondStageLargePages();
        if ((sllps & 1) != 0) {
            sizes |= 1L << 21;
            if ((sllps & 2) != 0) {
                sizes |= 1L << 30;
            }
        }
        return sizes;
    }

    public long rootTable() {
        return root;
    }

    public int domainId() {
        return did;
    }

    public boolean nestParent() {
        return nestParent;
    }

    long maxAddr() {
        return maxAddr;
    }

    @Override
    protected void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
        long end = iova + pgsize * count;
        if (gaw < 64 && Long.compareUnsigned(end, 1L << gaw) > 0) {
            throw new IommufdException(Errno.EFAULT, "IOVA beyond the domain's " + gaw + "-bit width");
        }
        int perm = ((prot & IOMMU_READ) != 0 ? PageTableFormat.READ : 0)
                | ((prot & IOMMU_WRITE) != 0 ? PageTableFormat.WRITE : 0);
        long at = iova;
        long pa = paddr;
        try {
            for (long k = 0; k < count; k++) {
                format.map(root, at, pa, pgsize, perm, iommu.tables(), iommu.allocator());
                at += pgsize;
                pa += pgsize;
            }
        } catch (IllegalStateException e) {
            throw new IommufdException(Errno.EEXIST, "IOVA 0x" + Long.toHexString(at) + " is mapped already");
        } catch (IllegalArgumentException e) {
            throw new IommufdException(Errno.EINVAL, e.getMessage());
        }
        if (Long.compareUnsigned(end, maxAddr) > 0) {
            maxAddr = end;
        }
        // Non-present to present needs no invalidation: the unit does not cache non-present entries (CAP.CM = 0).
    }

    @Override
    protected long unmapPages(long iova, long pgsize, long count) {
        long done = 0;
        for (long k = 0; k < count; k++) {
            long n = format.unmap(root, iova + done, pgsize, iommu.tables(), iommu.allocator());
            if (n == 0) {
                break;
            }
            done += n;
        }
        if (done != 0) {
            if (maxAddr == iova + done) {
                maxAddr = iova;
            }
            iommu.flushRange(this, iova, iova + done - 1, false);
        }
        return done;
    }

    @Override
    public long leafDescriptor(long iova) {
        Walk w = new Walk();
        w.record = true;
        w.reset(iova);
        return format.walk(root, iova, 0, false, iommu.tables(), w) && w.recorded > 0 ? w.recordedAddress[w.recorded - 1] : -1;
    }

    @Override
    public long iovaToPhys(long iova) {
        Walk w = new Walk();
        w.reset(iova);
        if (gaw < 64 && (iova >>> gaw) != 0) {
            return -1;
        }
        if (!format.walk(root, iova, 0, false, iommu.tables(), w)) {
            return -1;
        }
        return w.outputAddress;
    }

    @Override
    public boolean hasDirtyOps() {
        return dirtyOps;
    }

    @Override
    public void setDirtyTracking(boolean enable) {
        if (!dirtyOps) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain was not allocated with dirty tracking");
        }
        iommu.setDirtyTracking(this, enable);
    }

    public boolean dirtyTracking() {
        return dirtyTracking;
    }

    @Override
    public void readAndClearDirty(long iova, long size, boolean noClear, DirtyBitmap bitmap) {
        if (!dirtyOps) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain was not allocated with dirty tracking");
        }
        if (!dirtyTracking && bitmap != null) {
            throw new IommufdException(Errno.EINVAL, "dirty tracking is off");
        }
        long[] range = {-1, 0};
        format.readAndClearDirty(root, iova, size, noClear, iommu.tables(), (at, len) -> {
            if (bitmap != null) {
                bitmap.record(at, len);
            }
            if (range[0] == -1 || Long.compareUnsigned(at, range[0]) < 0) {
                range[0] = at;
            }
            if (Long.compareUnsigned(at + len, range[1]) > 0) {
                range[1] = at + len;
            }
        });
        // iommufd's iotlb_sync after harvesting: cached entries still think the pages are dirty.
        if (!noClear && range[0] != -1) {
            iommu.flushRange(this, range[0], range[1] - 1, true);
        }
    }

    @Override
    public void free() {
        if (!freed) {
            freed = true;
            format.free(root, iommu.tables(), iommu.allocator());
        }
    }

    @Override
    public String toString() {
        return "vtd paging domain (second stage, " + gaw + "-bit" + (nestParent ? ", nest parent" : "")
                + (dirtyOps ? ", dirty tracking" : "") + ")";
    }
}
