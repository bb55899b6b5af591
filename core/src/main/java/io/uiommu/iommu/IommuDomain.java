package io.uiommu.iommu;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;

/**
 * A translation context of an IOMMU (struct iommu_domain): blocking, paging (an I/O page table the
 * kernel owns) or nested (a user-owned stage 1 over a paging parent). The generic part splits
 * map and unmap requests into the page sizes the hardware supports, as iommu_map does.
 *
 * <p>Locking: map and unmap of disjoint ranges may run concurrently with translation; callers
 * serialize map/unmap of a domain (iommufd does it under the context lock).
 */
public abstract class IommuDomain {
    public static final int IOMMU_READ = 1;
    public static final int IOMMU_WRITE = 2;
    public static final int IOMMU_CACHE = 4;

    public enum Type { BLOCKED, PAGING, NESTED }

    private final Type type;
    private final IommuDriver driver;
    protected long pgsizeBitmap;
    protected long apertureStart;
    protected long apertureEnd = -1L;
    private volatile IopfHandler iopfHandler;

    protected IommuDomain(Type type, IommuDriver driver) {
        this.type = type;
        this.driver = driver;
    }

    public final Type type() {
        return type;
    }

    public final IommuDriver driver() {
        return driver;
    }

    /** The I/O page fault handler (domain->iopf_handler), or null: page requests routed here are refused. */
    public final IopfHandler iopfHandler() {
        return iopfHandler;
    }

    /** Installs the handler (iommufd does so for HWPTs allocated with a fault queue). */
    public final void setIopfHandler(IopfHandler handler) {
        this.iopfHandler = handler;
    }

    /** Page sizes the domain can map, one bit per size. */
    public final long pgsizeBitmap() {
        return pgsizeBitmap;
    }

    public final long apertureStart() {
        return apertureStart;
    }

    /** Inclusive end of the aperture; -1 (ULONG_MAX) for all of it. */
    public final long apertureEnd() {
        return apertureEnd;
    }

    /** For nested domains: the stage-2 parent. */
    public IommuDomain parent() {
        return null;
    }

    /** Maps [iova, iova+size) to [paddr, ...) with the largest page sizes alignment allows. */
    public final void map(long iova, long paddr, long size, int prot) {
        if (type != Type.PAGING) {
            throw new IommufdException(Errno.EINVAL, "domain cannot map");
        }
        long minPage = Long.lowestOneBit(pgsizeBitmap);
        if (((iova | paddr | size) & (minPage - 1)) != 0) {
            throw new IommufdException(Errno.EINVAL, "unaligned map");
        }
        long origIova = iova;
        long left = size;
        try {
            while (left != 0) {
                long pgsize = pageSize(iova, paddr, left);
                long count = pageCount(iova, paddr, left, pgsize);
                mapPages(iova, paddr, pgsize, count, prot);
                long done = pgsize * count;
                iova += done;
                paddr += done;
                left -= done;
            }
        } catch (RuntimeException e) {
            if (iova != origIova) {
                unmap(origIova, iova - origIova);
            }
            throw e;
        }
    }

    /** Unmaps [iova, iova+size); returns the bytes unmapped. */
    public final long unmap(long iova, long size) {
        long unmapped = 0;
        while (unmapped < size) {
            long pgsize = pageSize(iova, 0, size - unmapped);
            long count = pageCount(iova, 0, size - unmapped, pgsize);
            long n = unmapPages(iova, pgsize, count);
            if (n == 0) {
                break;
            }
            iova += n;
            unmapped += n;
        }
        return unmapped;
    }

    // iommu_pgsize: the biggest supported size that fits the remaining length and the alignment
    // of iova|paddr, and how many of it to use before a bigger size becomes possible.
    private long pageSize(long iova, long paddr, long size) {
        long pgsizes = pgsizeBitmap & genmask(63 - Long.numberOfLeadingZeros(size));
        long merge = paddr | iova;
        if (merge != 0) {
            pgsizes &= genmask(Long.numberOfTrailingZeros(merge));
        }
        return Long.highestOneBit(pgsizes);
    }

    private long pageCount(long iova, long paddr, long size, long pgsize) {
        long bigger = pgsizeBitmap & ~(pgsize | (pgsize - 1));
        if (bigger != 0) {
            long next = Long.lowestOneBit(bigger);
            if (((iova ^ paddr) & (next - 1)) == 0) {
                long offset = next - ((paddr | iova) & (next - 1));
                long end = offset + next;
                if (end > 0 && end <= size) {
                    size = offset;
                }
            }
        }
        return size / pgsize;
    }

    private static long genmask(int high) {
        return high >= 63 ? -1L : (1L << (high + 1)) - 1;
    }

    /** The driver's map_pages: {@code count} pages of {@code pgsize} bytes. */
    protected void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
        throw new IommufdException(Errno.EINVAL, "domain cannot map");
    }

    /** The driver's unmap_pages; returns bytes unmapped. */
    protected long unmapPages(long iova, long pgsize, long count) {
        return 0;
    }

    /** Translation as the CPU-side iova_to_phys sees it; -1 when nothing is mapped. */
    public long iovaToPhys(long iova) {
        return -1;
    }

    /**
     * The physical address of the leaf descriptor that maps {@code iova} in this domain's own table,
     * or -1 when nothing maps it or the domain has no table of descriptor bytes. A debugging aid:
     * tests and tools read it to watch the hardware's access and dirty bits.
     */
    public long leafDescriptor(long iova) {
        return -1;
    }

    /** Whether the domain was allocated with dirty tracking (has dirty ops). */
    public boolean hasDirtyOps() {
        return false;
    }

    public void setDirtyTracking(boolean enable) {
        throw new IommufdException(Errno.EOPNOTSUPP, "no dirty tracking");
    }

    /** Reports dirty IOVAs of [iova, iova+size) to {@code bitmap}, clearing them unless {@code noClear}. */
    public void readAndClearDirty(long iova, long size, boolean noClear, DirtyBitmap bitmap) {
        throw new IommufdException(Errno.EOPNOTSUPP, "no dirty tracking");
    }

    /** A user-owned table's cache invalidation (cache_invalidate_user); null when the domain has none. */
    public UserCacheInvalidator cacheInvalidator() {
        return null;
    }

    /** Releases the domain's resources. */
    public void free() {
    }
}
