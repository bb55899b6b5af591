package io.uiommu.hw.mock;

import io.uiommu.iommu.DirtyBitmap;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;

/**
 * The mock paging domain: one entry per 2 KiB I/O page of the aperture, holding the physical
 * address, whether the entry started or ended a map call, whether it was mapped as part of a huge
 * page, and a dirty bit. Entries live in lazily allocated chunks of a flat table, so a map or unmap
 * of a page is a couple of array stores.
 *
 * <p>Locking: map/unmap are serialized by the caller (the iommufd context); dirty bits are plain
 * stores, as the selftest's are.
 */
public final class MockPagingDomain extends IommuDomain {
    private static final int CHUNK_SHIFT = 12;
    private static final int CHUNK = 1 << CHUNK_SHIFT;
    private static final long ENTRIES = (MockIommuDriver.MOCK_APERTURE_LAST + 1) / MockIommuDriver.MOCK_IO_PAGE_SIZE;

    static final long PTE_PRESENT = 1L << 63;
    static final long PTE_START = 1L << 62;
    static final long PTE_LAST = 1L << 61;
    static final long PTE_DIRTY = 1L << 60;
    static final long PTE_HUGE = 1L << 59;
    static final long PTE_WRITE = 1L << 58;
    static final long PTE_READ = 1L << 57;
    static final long PTE_ADDR_MASK = (1L << 52) - 1;

    private final long[][] chunks = new long[(int) (ENTRIES >>> CHUNK_SHIFT)][];
    private final boolean hasDirtyOps;
    private boolean dirtyTracking;

    MockPagingDomain(MockIommuDriver driver, boolean hugeIova, boolean dirtyOps) {
        super(Type.PAGING, driver);
        this.apertureStart = MockIommuDriver.MOCK_APERTURE_START;
        this.apertureEnd = MockIommuDriver.MOCK_APERTURE_LAST;
        this.pgsizeBitmap = MockIommuDriver.MOCK_IO_PAGE_SIZE
                | (hugeIova ? MockIommuDriver.MOCK_HUGE_PAGE_SIZE : 0);
        this.hasDirtyOps = dirtyOps;
    }

    private static int index(long iova) {
        long i = iova / MockIommuDriver.MOCK_IO_PAGE_SIZE;
        if (iova < 0 || i >= ENTRIES) {
            throw new IommufdException(Errno.EINVAL, "IOVA outside the mock table: 0x" + Long.toHexString(iova));
        }
        return (int) i;
    }

    /** The raw entry of the I/O page holding iova (0 when unmapped). */
    public long entry(long iova) {
        long i = iova / MockIommuDriver.MOCK_IO_PAGE_SIZE;
        if (iova < 0 || i >= ENTRIES) {
            return 0;
        }
        long[] c = chunks[(int) (i >>> CHUNK_SHIFT)];
        return c == null ? 0 : c[(int) (i & (CHUNK - 1))];
    }

    private void store(int i, long value) {
        long[] c = chunks[i >>> CHUNK_SHIFT];
        if (c == null) {
            c = new long[CHUNK];
            chunks[i >>> CHUNK_SHIFT] = c;
        }
        c[i & (CHUNK - 1)] = value;
    }

    @Override
    protected void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
        long total = pgsize * count;
        int first = index(iova);
        index(iova + total - 1);
        long flags = PTE_PRESENT | PTE_START
                | ((prot & IOMMU_WRITE) != 0 ? PTE_WRITE : 0) | ((prot & IOMMU_READ) != 0 ? PTE_READ : 0)
                | (pgsize != MockIommuDriver.MOCK_IO_PAGE_SIZE ? PTE_HUGE : 0);
        int n = (int) (total / MockIommuDriver.MOCK_IO_PAGE_SIZE);
        long pa = paddr;
        for (int k = 0; k < n; k++) {
            long f = flags;
            if (k == n - 1) {
                f |= PTE_LAST;
            }
            store(first + k, f | pa);
            flags &= ~PTE_START;
            pa += MockIommuDriver.MOCK_IO_PAGE_SIZE;
        }
    }

    @Override
    protected long unmapPages(long iova, long pgsize, long count) {
        long total = pgsize * count;
        int first = index(iova);
        int n = (int) (total / MockIommuDriver.MOCK_IO_PAGE_SIZE);
        for (int k = 0; k < n; k++) {
            int i = first + k;
            long[] c = chunks[i >>> CHUNK_SHIFT];
            if (c != null) {
                c[i & (CHUNK - 1)] = 0;
            }
        }
        return total;
    }

    @Override
    public long iovaToPhys(long iova) {
        long e = entry(iova);
        if (e == 0) {
            return -1;
        }
        return ((e & PTE_ADDR_MASK) & -MockIommuDriver.MOCK_IO_PAGE_SIZE) + (iova % MockIommuDriver.MOCK_IO_PAGE_SIZE);
    }

    @Override
    public boolean hasDirtyOps() {
        return hasDirtyOps;
    }

    public boolean dirtyTracking() {
        return dirtyTracking;
    }

    @Override
    public void setDirtyTracking(boolean enable) {
        if (!hasDirtyOps) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain has no dirty tracking");
        }
        dirtyTracking = enable;
    }

    /** Marks the I/O page at iova dirty, as a device write would; false if nothing is mapped there. */
    public boolean markDirty(long iova) {
        long e = entry(iova);
        if (e == 0) {
            return false;
        }
        store(index(iova), e | PTE_DIRTY);
        return true;
    }

    @Override
    public void readAndClearDirty(long iova, long size, boolean noClear, DirtyBitmap bitmap) {
        if (!hasDirtyOps) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain has no dirty tracking");
        }
        if (!dirtyTracking && bitmap != null) {
            throw new IommufdException(Errno.EINVAL, "dirty tracking is off");
        }
        long end = iova + size;
        do {
            long pgsize = MockIommuDriver.MOCK_IO_PAGE_SIZE;
            long e = entry(iova);
            if (e == 0) {
                iova += pgsize;
                continue;
            }
            if ((e & PTE_HUGE) != 0) {
                pgsize = MockIommuDriver.MOCK_HUGE_PAGE_SIZE;
            }
            long head = iova & -pgsize;
            if (testAndClearDirty(head, pgsize, noClear) && bitmap != null) {
                bitmap.record(iova, pgsize);
            }
            iova += pgsize;
        } while (Long.compareUnsigned(iova, end) < 0);
    }

    private boolean testAndClearDirty(long iova, long pageSize, boolean noClear) {
        boolean dirty = false;
        long end = iova + pageSize - 1;
        for (long cur = iova; cur < end; cur += MockIommuDriver.MOCK_IO_PAGE_SIZE) {
            long e = entry(cur);
            if ((e & PTE_DIRTY) == 0) {
                continue;
            }
            dirty = true;
            if (!noClear) {
                store(index(cur), e & ~PTE_DIRTY);
            }
        }
        return dirty;
    }
}
