package io.uiommu.proc;

import io.uiommu.mem.PageCounter;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.mem.UserMemory;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A process simulated inside the JVM: an address space of anonymous mappings backed by frames of a
 * {@link PhysicalMemory}, credentials and a memlock limit. Scenarios, the demo and Java callers use
 * it as the {@code current} of iommufd. Pages are populated on first touch; {@link #fork()} shares
 * MAP_SHARED mappings and copies private ones, as fork does for the parts the selftest observes.
 *
 * <p>Locking: the address space is guarded by this object's monitor.
 */
public final class SimulatedProcess implements UserProcess, UserMemory {
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int PROT_EXEC = 4;

    private static final AtomicInteger NEXT_PID = new AtomicInteger(1000);
    private static final long HUGE_ALIGN = 2L << 20;
    private static final long MMAP_TOP = 0x7fff_0000_0000L;

    private final PhysicalMemory physical;
    private final int pid = NEXT_PID.getAndIncrement();
    private final PageCounter userLockedVm;
    private final PageCounter pinnedVm = new PageCounter();
    private final PageCounter lockedVm = new PageCounter();
    private final Set<Capability> capabilities;
    private volatile long memlockLimitBytes;
    private final TreeMap<Long, Vma> vmas = new TreeMap<>();
    private long mmapBase = MMAP_TOP;
    private volatile boolean alive = true;
    private final FdTable fds;

    /**
     * The pages behind mappings: one frame slot per page (0 = not yet populated). A MAP_SHARED
     * backing is shared by the parent and children of fork, like shmem, and keeps its frames until
     * the last mapping of it goes; private backings drop frames as they are unmapped. A backing
     * from a file's mmap ({@code region} set) maps frames that are not the process's: they are
     * never freed here, and every VMA over them holds the region.
     */
    private static final class Backing {
        final long[] pfns;
        final MmapRegion region;
        int mappings;

        Backing(int pages) {
            this.pfns = new long[pages];
            this.region = null;
        }

        Backing(MmapRegion region) {
            this.pfns = new long[region.pages()];
            for (int i = 0; i < pfns.length; i++) {
                pfns[i] = region.pfn(i);
            }
            this.region = region;
        }
    }

    /** One mapping: [start, end) over backing pages starting at {@code first}. */
    private static final class Vma {
        final long start;
        final long end;
        final int prot;
        final boolean shared;
        final Backing backing;
        final int first;

        Vma(long start, long end, int prot, boolean shared, Backing backing, int first) {
            this.start = start;
            this.end = end;
            this.prot = prot;
            this.shared = shared;
            this.backing = backing;
            this.first = first;
            if (backing.region != null && backing.mappings > 0) {
                backing.region.open(); // a split or a fork: one more VMA over the region
            }
            backing.mappings++;
        }

        int slot(long va) {
            return first + (int) ((va - start) / PAGE_SIZE);
        }
    }

    /** A root-like process: every capability, unlimited memlock, its own user. */
    public SimulatedProcess(PhysicalMemory physical) {
        this(physical, new PageCounter(), EnumSet.allOf(Capability.class), Long.MAX_VALUE);
    }

    public SimulatedProcess(PhysicalMemory physical, PageCounter userLockedVm, Set<Capability> capabilities,
            long memlockLimitBytes) {
        this.physical = physical;
        this.userLockedVm = userLockedVm;
        this.capabilities = capabilities.isEmpty() ? EnumSet.noneOf(Capability.class) : EnumSet.copyOf(capabilities);
        this.memlockLimitBytes = memlockLimitBytes;
        this.fds = new FdTable();
    }

    private SimulatedProcess(SimulatedProcess parent) {
        this.physical = parent.physical;
        this.userLockedVm = parent.userLockedVm;
        this.capabilities = EnumSet.copyOf(parent.capabilities);
        this.memlockLimitBytes = parent.memlockLimitBytes;
        this.fds = parent.fds.copy();
    }

    @Override
    public FdTable fds() {
        return fds;
    }

    /** ioctl(2) as a raw system call returns it: the result, or minus the errno. */
    public long ioctl(int fd, int request, long arg) {
        OpenFile f;
        try {
            f = fds.get(fd);
        } catch (IommufdException e) {
            return -e.errno().value();
        }
        return f.ioctl(this, request, arg);
    }

    /** read(2): the byte count, or minus the errno. */
    public long read(int fd, long buf, long count) {
        try {
            return fds.get(fd).read(this, buf, count, 0);
        } catch (IommufdException e) {
            return -e.errno().value();
        }
    }

    /** write(2): the byte count, or minus the errno. */
    public long write(int fd, long buf, long count) {
        try {
            return fds.get(fd).write(this, buf, count, 0);
        } catch (IommufdException e) {
            return -e.errno().value();
        }
    }

    /** pread(2): read at a file offset (a VFIO region, for instance); the byte count, or minus the errno. */
    public long pread(int fd, long buf, long count, long pos) {
        if (pos < 0) {
            return -Errno.EINVAL.value();
        }
        try {
            return fds.get(fd).read(this, buf, count, pos);
        } catch (IommufdException e) {
            return -e.errno().value();
        }
    }

    /** pwrite(2): write at a file offset; the byte count, or minus the errno. */
    public long pwrite(int fd, long buf, long count, long pos) {
        if (pos < 0) {
            return -Errno.EINVAL.value();
        }
        try {
            return fds.get(fd).write(this, buf, count, pos);
        } catch (IommufdException e) {
            return -e.errno().value();
        }
    }

    /** eventfd2(2): a new eventfd in the fd table; its number, or minus EINVAL for unknown flags. */
    public int eventfd(long initval, int flags) {
        try {
            return fds.install(new EventFdFile(initval, flags));
        } catch (IommufdException e) {
            return -e.errno().value();
        }
    }

    @Override
    public EventSignal eventfd(int fd) {
        if (fds.get(fd) instanceof EventFdFile f) {
            return f.takeSignal();
        }
        throw new IommufdException(Errno.EINVAL, "fd " + fd + " is not an eventfd");
    }

    /** close(2): 0, or minus EBADF. */
    public int close(int fd) {
        try {
            fds.close(fd);
            return 0;
        } catch (IommufdException e) {
            return -e.errno().value();
        }
    }

    @Override
    public int pid() {
        return pid;
    }

    @Override
    public UserMemory memory() {
        return this;
    }

    @Override
    public long memlockLimitBytes() {
        return memlockLimitBytes;
    }

    public void setMemlockLimitBytes(long bytes) {
        this.memlockLimitBytes = bytes;
    }

    @Override
    public synchronized boolean capable(Capability capability) {
        return capabilities.contains(capability);
    }

    public synchronized void dropCapability(Capability capability) {
        capabilities.remove(capability);
    }

    @Override
    public PageCounter userLockedVm() {
        return userLockedVm;
    }

    @Override
    public PhysicalMemory physical() {
        return physical;
    }

    @Override
    public boolean alive() {
        return alive;
    }

    @Override
    public PageCounter pinnedVm() {
        return pinnedVm;
    }

    @Override
    public PageCounter lockedVm() {
        return lockedVm;
    }

    /** Anonymous mmap at an address of the process's choosing; regions of 2 MiB and more are 2 MiB aligned (THP). */
    public synchronized long mmap(long length, int prot, boolean shared) {
        long len = pageAlign(length);
        long align = len >= HUGE_ALIGN ? HUGE_ALIGN : PAGE_SIZE;
        long va = (mmapBase - len) & -align;
        while (overlaps(va, va + len)) {
            va = (va - len) & -align;
        }
        mmapBase = va;
        insert(va, len, prot, shared);
        return va;
    }

    /** Anonymous mmap with MAP_FIXED: replaces whatever was mapped there. */
    public long mmapFixed(long va, long length, int prot, boolean shared) {
        if ((va & (PAGE_SIZE - 1)) != 0 || va <= 0) {
            throw new IllegalArgumentException("mmap address must be page aligned and non-zero");
        }
        long len = pageAlign(length);
        List<MmapRegion> released = new ArrayList<>();
        try {
            synchronized (this) {
                unmapLocked(va, len, released);
                insert(va, len, prot, shared);
            }
        } finally {
            closeRegions(released);
        }
        return va;
    }

    private void insert(long va, long len, int prot, boolean shared) {
        if (len / PAGE_SIZE > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("mapping too large");
        }
        vmas.put(va, new Vma(va, va + len, prot, shared, new Backing((int) (len / PAGE_SIZE)), 0));
    }

    private boolean overlaps(long start, long end) {
        Map.Entry<Long, Vma> e = vmas.lowerEntry(end);
        return e != null && e.getValue().end > start;
    }

    /**
     * mmap(2) of a file: maps what the file's {@link OpenFile#mmap} hands out at an address of the
     * process's choosing. Returns the address, or minus the errno (EBADF, EINVAL for an unaligned
     * offset or a zero length, and whatever the file refuses with). The mapping is MAP_SHARED by
     * nature; its frames are the file owner's and cannot be pinned (IOAS_MAP of them is EFAULT).
     */
    public long mmap(int fd, long length, int prot, int flags, long offset) {
        if ((offset & (PAGE_SIZE - 1)) != 0 || length <= 0) {
            return -Errno.EINVAL.value();
        }
        long len = pageAlign(length);
        MmapRegion region;
        try {
            region = fds.get(fd).mmap(this, len, prot, flags, offset >>> PhysicalMemory.PAGE_SHIFT);
        } catch (IommufdException e) {
            return -e.errno().value();
        }
        if ((long) region.pages() * PAGE_SIZE != len) {
            region.close();
            throw new IllegalStateException("the file mapped " + region.pages() + " pages for " + len + " bytes");
        }
        synchronized (this) {
            long va = (mmapBase - len) & -PAGE_SIZE;
            while (overlaps(va, va + len)) {
                va = (va - len) & -PAGE_SIZE;
            }
            mmapBase = va;
            vmas.put(va, new Vma(va, va + len, prot, true, new Backing(region), 0));
            return va;
        }
    }

    /** Unmaps [va, va+length): pages drop their mapping reference; pinned frames live on. */
    public void munmap(long va, long length) {
        List<MmapRegion> released = new ArrayList<>();
        try {
            synchronized (this) {
                unmapLocked(va, length, released);
            }
        } finally {
            closeRegions(released);
        }
    }

    /** File mappings are closed outside the address-space lock: their release takes the owner's lock. */
    private static void closeRegions(List<MmapRegion> released) {
        for (MmapRegion r : released) {
            r.close();
        }
    }

    private void unmapLocked(long va, long length, List<MmapRegion> released) {
        long end = va + pageAlign(length);
        List<Vma> hit = new ArrayList<>();
        for (Map.Entry<Long, Vma> e = vmas.lowerEntry(end); e != null && e.getValue().end > va;
                e = vmas.lowerEntry(e.getKey())) {
            hit.add(e.getValue());
        }
        for (Vma v : hit) {
            vmas.remove(v.start);
            long cutStart = Math.max(va, v.start);
            long cutEnd = Math.min(end, v.end);
            if (v.start < cutStart) {
                vmas.put(v.start, new Vma(v.start, cutStart, v.prot, v.shared, v.backing, v.first));
            }
            if (cutEnd < v.end) {
                vmas.put(cutEnd, new Vma(cutEnd, v.end, v.prot, v.shared, v.backing, v.slot(cutEnd)));
            }
            if (v.backing.region != null) {
                released.add(v.backing.region); // the frames are the file owner's
                v.backing.mappings--;
                continue;
            }
            if (!v.shared) {
                for (long p = cutStart; p < cutEnd; p += PAGE_SIZE) {
                    int slot = v.slot(p);
                    if (v.backing.pfns[slot] != 0) {
                        physical.put(v.backing.pfns[slot]);
                        v.backing.pfns[slot] = 0;
                    }
                }
            }
            if (--v.backing.mappings == 0 && v.shared) {
                for (long pfn : v.backing.pfns) {
                    if (pfn != 0) {
                        physical.put(pfn);
                    }
                }
            }
        }
    }

    /** A child process: shared mappings keep their frames, private ones are copied. */
    public synchronized SimulatedProcess fork() {
        SimulatedProcess child = new SimulatedProcess(this);
        byte[] page = new byte[PhysicalMemory.PAGE_SIZE];
        for (Vma v : vmas.values()) {
            if (v.shared) {
                child.vmas.put(v.start, new Vma(v.start, v.end, v.prot, true, v.backing, v.first));
                continue;
            }
            int pages = (int) ((v.end - v.start) / PAGE_SIZE);
            Backing copy = new Backing(pages);
            for (int i = 0; i < pages; i++) {
                long pfn = v.backing.pfns[v.first + i];
                if (pfn == 0) {
                    continue;
                }
                copy.pfns[i] = physical.allocateFrame();
                physical.read(pfn << PhysicalMemory.PAGE_SHIFT, page, 0, page.length);
                physical.write(copy.pfns[i] << PhysicalMemory.PAGE_SHIFT, page, 0, page.length);
            }
            child.vmas.put(v.start, new Vma(v.start, v.end, v.prot, false, copy, 0));
        }
        child.mmapBase = mmapBase;
        return child;
    }

    /** The process exits: files are closed, the address space is torn down, pinned frames stay with their pinners. */
    public void exit() {
        fds.closeAll();
        List<MmapRegion> released = new ArrayList<>();
        try {
            synchronized (this) {
                for (Vma v : List.copyOf(vmas.values())) {
                    unmapLocked(v.start, v.end - v.start, released);
                }
                alive = false;
            }
        } finally {
            closeRegions(released);
        }
    }

    private Vma vmaAt(long va) {
        Map.Entry<Long, Vma> e = vmas.floorEntry(va);
        if (e == null || e.getValue().end <= va) {
            return null;
        }
        return e.getValue();
    }

    private long populate(Vma v, long va) {
        int i = v.slot(va);
        long pfn = v.backing.pfns[i];
        if (pfn == 0) {
            pfn = physical.allocateFrame();
            v.backing.pfns[i] = pfn;
        }
        return pfn;
    }

    @Override
    public synchronized long frameAt(long va) {
        Vma v = alive ? vmaAt(va) : null;
        return v == null ? -1 : populate(v, va);
    }

    @Override
    public synchronized void pin(long va, int count, boolean writable, long[] pfns, int off) {
        if (!alive) {
            throw new IommufdException(Errno.EFAULT, "process " + pid + " has exited");
        }
        Vma v = null;
        for (int k = 0; k < count; k++) {
            long page = va + (long) k * PAGE_SIZE;
            if (v == null || page >= v.end) {
                v = vmaAt(page);
                // VM_PFNMAP | VM_IO mappings (a file's frames) cannot be pinned, as pin_user_pages refuses
                if (v == null || v.backing.region != null || (v.prot & PROT_READ) == 0 && (v.prot & PROT_WRITE) == 0
                        || writable && (v.prot & PROT_WRITE) == 0) {
                    throw new IommufdException(Errno.EFAULT, "cannot pin 0x" + Long.toHexString(page));
                }
            }
            pfns[off + k] = populate(v, page);
        }
        physical.pin(pfns, off, count);
    }

    @Override
    public void read(long va, byte[] dst, int off, int len) {
        copy(va, dst, off, len, false);
    }

    @Override
    public void write(long va, byte[] src, int off, int len) {
        copy(va, src, off, len, true);
    }

    private synchronized void copy(long va, byte[] buf, int off, int len, boolean toMemory) {
        if (len < 0 || va < 0 || va + len < va) {
            throw new IommufdException(Errno.EFAULT, "bad user range");
        }
        // Check the whole range first so a fault leaves nothing half-written.
        for (long p = va & -PAGE_SIZE; p < va + len; p += PAGE_SIZE) {
            Vma v = alive ? vmaAt(p) : null;
            if (v == null || (v.prot & (toMemory ? PROT_WRITE : PROT_READ)) == 0) {
                throw new IommufdException(Errno.EFAULT, "bad user address 0x" + Long.toHexString(Math.max(p, va)));
            }
        }
        while (len > 0) {
            int inPage = (int) (va & (PAGE_SIZE - 1));
            int n = (int) Math.min(len, PAGE_SIZE - inPage);
            long pa = (populate(vmaAt(va), va) << PhysicalMemory.PAGE_SHIFT) + inPage;
            if (toMemory) {
                physical.write(pa, buf, off, n);
            } else {
                physical.read(pa, buf, off, n);
            }
            va += n;
            off += n;
            len -= n;
        }
    }

    private static long pageAlign(long length) {
        if (length <= 0) {
            throw new IllegalArgumentException("mapping length must be positive");
        }
        return (length + PAGE_SIZE - 1) & -PAGE_SIZE;
    }
}
