package io.uiommu.proc;

import io.uiommu.iommufd.Errno;

/**
 * An open file description (struct file): what an fd refers to. dup and fork share one; the last
 * close calls {@link #release()}. Operations a file does not implement fail as the kernel's do.
 *
 * <p>Locking: the reference count is atomic; implementations document their own state.
 */
public abstract class OpenFile {
    private final java.util.concurrent.atomic.AtomicInteger refs = new java.util.concurrent.atomic.AtomicInteger(1);

    /** ioctl(2): the non-negative result, or minus the errno, as a file operation returns it. Never throws. */
    public long ioctl(UserProcess caller, int request, long arg) {
        return -Errno.ENOTTY.value();
    }

    /** read(2) into the caller's buffer: the byte count or minus the errno. */
    public long read(UserProcess caller, long buf, long count, long pos) {
        return -Errno.EINVAL.value();
    }

    /** write(2) from the caller's buffer: the byte count or minus the errno. */
    public long write(UserProcess caller, long buf, long count, long pos) {
        return -Errno.EINVAL.value();
    }

    /** mmap(2) protections and the mapping types of its flags (include/uapi/asm-generic/mman-common.h). */
    public static final int PROT_READ = 0x1, PROT_WRITE = 0x2, PROT_EXEC = 0x4;
    public static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_SHARED_VALIDATE = 0x03, MAP_TYPE = 0x0f;

    /**
     * f_op->mmap for a mapping of {@code length} bytes (a multiple of the page size, as mmap(2) has
     * already rounded it) at page offset {@code pgoff} of the file: the physical frames to map,
     * shared with whoever owns them (remap_pfn_range, not the process's own memory). Failures throw
     * {@link io.uiommu.iommufd.IommufdException} with the errno mmap(2) returns; files without an
     * mmap operation are ENODEV. The caller maps the frames and calls {@link MmapRegion#close()}
     * when the mapping goes away. The daemon backs the frames with memory it shares with the
     * client; a {@link SimulatedProcess} maps them into its address space directly.
     */
    public MmapRegion mmap(UserProcess caller, long length, int prot, int flags, long pgoff) {
        throw new io.uiommu.iommufd.IommufdException(Errno.ENODEV, name() + " has no mmap");
    }

    /** poll(2) bits (include/uapi/asm-generic/poll.h). */
    public static final int POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10,
            POLLRDNORM = 0x40, POLLWRNORM = 0x100;

    /** What a file without a poll operation reports (DEFAULT_POLLMASK). */
    public static final int DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

    private volatile Runnable readinessListener;

    /** poll(2): the events ready now. Never throws. */
    public int poll(UserProcess caller) {
        return DEFAULT_POLLMASK;
    }

    /**
     * Who hears when {@link #poll} may have changed (the daemon mirrors it onto the client's fd);
     * one listener, null to remove.
     */
    public final void setReadinessListener(Runnable listener) {
        this.readinessListener = listener;
    }

    /** Implementations call this after their poll state may have changed (wake_up of the wait queue). */
    protected final void readinessChanged() {
        Runnable l = readinessListener;
        if (l != null) {
            l.run();
        }
    }

    /** The name /proc/PID/fd shows, such as "anon_inode:[iommufd-pgfault]". */
    public abstract String name();

    /** Called once, when the last reference goes. */
    protected abstract void release();

    public final void get() {
        refs.incrementAndGet();
    }

    public final void put() {
        if (refs.decrementAndGet() == 0) {
            release();
        }
    }
}
