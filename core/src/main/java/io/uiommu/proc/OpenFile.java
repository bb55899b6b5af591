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
