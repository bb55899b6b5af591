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
