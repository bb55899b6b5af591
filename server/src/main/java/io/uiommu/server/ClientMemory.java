package io.uiommu.server;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PageCounter;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.mem.UserMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The address space of a real client process (its mm), reached with process_vm_readv/writev. Pinning
 * gives each page a {@link ClientFrame} that stays the page's identity while it is pinned (what
 * MD_CHECK_MAP and MD_CHECK_REFS compare), with the bytes left in the client.
 *
 * <p>Locking: the frame maps are guarded by the server's {@link ClientFrames}; byte copies take no lock.
 */
final class ClientMemory implements UserMemory {
    final int pid;
    final int uid;
    private final ClientFrames frames;
    private final PageCounter pinnedVm = new PageCounter();
    private final PageCounter lockedVm = new PageCounter();
    private volatile boolean alive = true;
    /**
     * The shim's count of this process's mmap/munmap/mremap/mprotect calls, as its last request said;
     * mappings read while it had the same value are still what the process has (see {@link #maps}).
     */
    volatile long mapsGeneration;
    private ProcMaps cachedMaps;
    private long cachedGeneration = -1;
    /** Pinned pages of this process by page address: one frame each, holding one reference. */
    final TreeMap<Long, ClientFrame> identity = new TreeMap<>();
    /** Frames moved here from a process that unmapped a page this one shares (they keep their identity). */
    final List<ClientFrame> guests = new ArrayList<>();

    /** When set on the serving thread (a call listener is present), accesses are logged here. */
    static final ThreadLocal<List<CallListener.Touch>> TOUCHES = new ThreadLocal<>();

    static void touched(CallListener.TouchKind kind, int pid, long va, byte[] b, int off, int len, long length) {
        List<CallListener.Touch> log = TOUCHES.get();
        if (log != null) {
            log.add(new CallListener.Touch(kind, pid, va, b == null ? null : java.util.Arrays.copyOfRange(b, off, off + len),
                    length));
        }
    }

    ClientMemory(int pid, int uid, ClientFrames frames) {
        this.pid = pid;
        this.uid = uid;
        this.frames = frames;
    }

    @Override
    public void read(long va, byte[] dst, int off, int len) {
        if (len < 0 || va + len < va && len > 0 || !RemoteIo.current().readUser(pid, va, dst, off, len)) {
            throw new IommufdException(Errno.EFAULT, "cannot read 0x" + Long.toHexString(va) + " in process " + pid);
        }
        touched(CallListener.TouchKind.READ, pid, va, dst, off, len, len);
    }

    @Override
    public void write(long va, byte[] src, int off, int len) {
        if (len < 0 || va + len < va && len > 0 || !RemoteIo.current().writeUser(pid, va, src, off, len)) {
            throw new IommufdException(Errno.EFAULT, "cannot write 0x" + Long.toHexString(va) + " in process " + pid);
        }
        touched(CallListener.TouchKind.WRITE, pid, va, src, off, len, len);
    }

    @Override
    public void pin(long va, int count, boolean writable, long[] pfns, int off) {
        frames.pin(this, va, count, writable, pfns, off);
        touched(CallListener.TouchKind.PIN, pid, va, null, 0, 0, (long) count * PAGE_SIZE);
    }

    @Override
    public void unpin(long[] pfns, int off, int count) {
        frames.unpin(pfns, off, count);
    }

    @Override
    public long frameAt(long va) {
        touched(CallListener.TouchKind.PIN, pid, va & -PAGE_SIZE, null, 0, 0, PAGE_SIZE);
        return frames.frameAt(this, va);
    }

    @Override
    public PhysicalMemory physical() {
        return frames.physical();
    }

    @Override
    public boolean alive() {
        return alive;
    }

    /** The process's mappings: the copy read at this generation, else /proc/PID/maps now; null if gone. */
    synchronized ProcMaps maps(boolean fresh) {
        long gen = mapsGeneration;
        if (fresh || cachedMaps == null || cachedGeneration != gen) {
            cachedMaps = ProcMaps.of(pid);
            cachedGeneration = gen;
        }
        return cachedMaps;
    }

    void markGone() {
        alive = false;
    }

    @Override
    public PageCounter pinnedVm() {
        return pinnedVm;
    }

    @Override
    public PageCounter lockedVm() {
        return lockedVm;
    }

    @Override
    public String toString() {
        return "process " + pid;
    }
}
