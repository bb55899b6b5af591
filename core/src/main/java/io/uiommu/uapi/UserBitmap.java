package io.uiommu.uapi;

import io.uiommu.iommu.DirtyBitmap;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.mem.UserMemory;

/**
 * The user's dirty bitmap of IOMMU_HWPT_GET_DIRTY_BITMAP (iova_bitmap): bit n stands for
 * [iova + n*pageSize, +pageSize), bits numbered from bit 0 of the first byte. As the kernel does, the
 * bitmap's pages are pinned writable before the walk (EFAULT when one cannot be: nothing is read or
 * cleared then) and bits are set in the pinned frames, a run of neighbouring dirty leaves at once;
 * recording never clears a bit.
 *
 * <p>Locking: one ioctl's object, used by one thread; bits are set with word read-modify-writes.
 */
final class UserBitmap implements DirtyBitmap, AutoCloseable {
    private static final int PAGE_SHIFT = PhysicalMemory.PAGE_SHIFT;

    private final UserMemory memory;
    private final PhysicalMemory physical;
    private final long data;
    private final long iova;
    private final long length;
    /** log2 of the bit's size: iova_bitmap uses the lowest set bit of page_size. */
    private final int pgShift;
    private final long[] pfns;
    /** The user page of the bitmap's first byte. */
    private final long firstPage;
    /** Recorded ranges not yet set in the bitmap: neighbours coalesce into one run of bits. */
    private long runStart;
    private long runEnd;

    /**
     * Pins the bytes that hold the bits of [iova, iova+length): EFAULT if any of them is not a
     * writable mapping. {@link #close} unpins.
     */
    UserBitmap(UserMemory memory, long data, long iova, long length, long pageSize) {
        this.memory = memory;
        this.physical = memory.physical();
        this.data = data;
        this.iova = iova;
        this.length = length;
        this.pgShift = Long.numberOfTrailingZeros(pageSize);
        long bits = ((length - 1) >>> pgShift) + 1;
        long lastByte = data + ((bits - 1) >>> 3);
        if (Long.compareUnsigned(lastByte, data) < 0) {
            throw new IommufdException(Errno.EFAULT, "bitmap wraps the address space");
        }
        this.firstPage = data >>> PAGE_SHIFT;
        long pages = (lastByte >>> PAGE_SHIFT) - firstPage + 1;
        if (pages > Integer.MAX_VALUE / 2) {
            throw new IommufdException(Errno.ENOMEM, "bitmap too large to pin");
        }
        this.pfns = new long[(int) pages];
        memory.pin(firstPage << PAGE_SHIFT, (int) pages, true, pfns, 0);
    }

    /** Sets what is still pending, then unpins. */
    @Override
    public void close() {
        try {
            flush();
        } finally {
            memory.unpin(pfns, 0, pfns.length);
        }
    }

    @Override
    public void record(long at, long len) {
        long start = Math.max(at, iova);
        long end = Math.min(at + len, iova + length);
        if (start >= end) {
            return;
        }
        // Domains report leaf by leaf in IOVA order: a run of dirty leaves becomes one setBits.
        if (runEnd > runStart && start == runEnd) {
            runEnd = end;
            return;
        }
        flush();
        runStart = start;
        runEnd = end;
    }

    private void flush() {
        if (runEnd > runStart) {
            setBits(runStart, runEnd);
            runStart = runEnd = 0;
        }
    }

    private void setBits(long start, long end) {
        // Bit positions counted from bit 0 of the 8-byte word that holds the bitmap's first byte.
        long base = (data & 7) << 3;
        long first = base + ((start - iova) >>> pgShift);
        long last = base + ((end - 1 - iova) >>> pgShift);
        long wordVa = data & ~7L;
        for (long word = first >>> 6; word <= last >>> 6; word++) {
            long lo = word == first >>> 6 ? first & 63 : 0;
            long hi = word == last >>> 6 ? last & 63 : 63;
            long mask = (hi == 63 ? -1L : (1L << (hi + 1)) - 1) & (-1L << lo);
            long va = wordVa + (word << 3);
            long pa = pfns[(int) ((va >>> PAGE_SHIFT) - firstPage)] << PAGE_SHIFT | (va & ((1 << PAGE_SHIFT) - 1));
            long old = physical.readLong(pa);
            if ((old | mask) != old) {
                physical.writeLong(pa, old | mask);
            }
        }
    }
}
