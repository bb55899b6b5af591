package io.uiommu.server;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Frames of physical memory a client maps (mmap of a uiommu fd: a vIOMMU's page): their bytes move
 * into a memfd the daemon maps too, and the client maps the same memfd, so the model and the client
 * see one page, as with the kernel's remap_pfn_range. The frames become external frames over the
 * daemon's mapping; mapping the same frames again hands out the same memfd.
 *
 * <p>Locking: this object's monitor guards the list of regions; a frame's bytes are accessed without
 * locks (the mapping lives as long as any frame of its region does).
 */
final class SharedFrames {
    private static final int PAGE = PhysicalMemory.PAGE_SIZE;
    private static final String MEMFD_NAME = "uiommu-mmap";
    /** How the memfd shows in /proc/PID/maps. */
    static final String MEMFD_PATH = "/memfd:" + MEMFD_NAME;

    /** A memfd holding some frames in order, and the daemon's mapping of it. */
    static final class Region {
        final int memfd;
        final long[] pfns;
        final MemorySegment mapping;
        final Frame[] frames;

        Region(int memfd, long[] pfns, MemorySegment mapping) {
            this.memfd = memfd;
            this.pfns = pfns;
            this.mapping = mapping;
            this.frames = new Frame[pfns.length];
            for (int i = 0; i < pfns.length; i++) {
                frames[i] = new Frame(mapping, (long) i * PAGE);
            }
        }

        long length() {
            return mapping.byteSize();
        }
    }

    /** One frame's bytes: a page of a region's mapping. */
    static final class Frame implements PhysicalMemory.ExternalBytes {
        private final MemorySegment mapping;
        private final long offset;

        Frame(MemorySegment mapping, long offset) {
            this.mapping = mapping;
            this.offset = offset;
        }

        @Override
        public void read(int inPage, byte[] dst, int off, int len) {
            MemorySegment.copy(mapping, ValueLayout.JAVA_BYTE, offset + inPage, dst, off, len);
        }

        @Override
        public void write(int inPage, byte[] src, int off, int len) {
            MemorySegment.copy(src, off, mapping, ValueLayout.JAVA_BYTE, offset + inPage, len);
        }
    }

    private final PhysicalMemory physical;
    private final List<Region> regions = new ArrayList<>();

    SharedFrames(PhysicalMemory physical) {
        this.physical = physical;
    }

    /**
     * The region holding exactly these frames (made on first use). The caller sends its memfd and
     * does not close it. ENODEV if a frame's bytes already live elsewhere (a client's pinned page).
     */
    synchronized Region share(long[] pfns) {
        if (pfns.length == 0) {
            throw new IommufdException(Errno.EINVAL, "nothing to map");
        }
        forgetFreed();
        for (Region r : regions) {
            if (Arrays.equals(r.pfns, pfns)) {
                return r;
            }
        }
        for (long pfn : pfns) {
            PhysicalMemory.ExternalBytes x = physical.external(pfn);
            if (x != null && !(x instanceof Frame)) {
                throw new IommufdException(Errno.ENODEV, "frame 0x" + Long.toHexString(pfn) + " lives in a client");
            }
        }
        long length = (long) pfns.length * PAGE;
        int memfd = Native.memfdCreate(MEMFD_NAME, Native.MFD_CLOEXEC);
        if (memfd < 0) {
            throw new IommufdException(Errno.ENOMEM, "memfd_create: errno " + -memfd);
        }
        int r = Native.ftruncate(memfd, length);
        long addr = r < 0 ? r : Native.mmap(0, length, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, memfd, 0);
        if (addr < 0) {
            Native.close(memfd);
            throw new IommufdException(Errno.ENOMEM, "memfd of " + length + " bytes: errno " + -addr);
        }
        Region region = new Region(memfd, pfns.clone(), MemorySegment.ofAddress(addr).reinterpret(length));
        for (int i = 0; i < pfns.length; i++) {
            physical.externalize(pfns[i], region.frames[i]);
        }
        regions.add(region);
        return region;
    }

    /** Regions none of whose frames are ours any more (freed, or reused) are unmapped and closed. */
    private void forgetFreed() {
        regions.removeIf(r -> {
            for (int i = 0; i < r.pfns.length; i++) {
                if (physical.external(r.pfns[i]) == r.frames[i]) {
                    return false;
                }
            }
            Native.munmap(r.mapping.address(), r.length());
            Native.close(r.memfd);
            return true;
        });
    }

    /** Unmaps and closes every region (daemon shutdown). */
    synchronized void close() {
        for (Region r : regions) {
            Native.munmap(r.mapping.address(), r.length());
            Native.close(r.memfd);
        }
        regions.clear();
    }

    /** Regions alive now (for tests). */
    synchronized int regionCount() {
        forgetFreed();
        return regions.size();
    }
}
