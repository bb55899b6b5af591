package io.uiommu.proc;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;

/**
 * An eventfd (fs/eventfd.c) as an open file: a 64-bit counter that write(2) and interrupt sources
 * add to and read(2) takes (all of it, or one in semaphore mode). Reads and writes move exactly 8
 * bytes; a read of a zero counter waits, or fails with EAGAIN when the file is non-blocking; a write
 * that would pass 0xfffffffffffffffe waits or fails the same way. poll reports POLLIN while the
 * counter is above zero and POLLOUT while one more can be added.
 *
 * <p>Locking: the counter is guarded by this object's monitor; waiters wait on it.
 */
public final class EventFdFile extends OpenFile {
    /** eventfd2 flags (include/uapi/linux/eventfd.h; O_NONBLOCK and O_CLOEXEC of x86-64). */
    public static final int EFD_SEMAPHORE = 1;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int EFD_CLOEXEC = 0x80000;

    private static final long ULLONG_MAX = -1L;
    /** The largest counter a write may produce (ULLONG_MAX - 1, unsigned). */
    private static final long COUNT_MAX = -2L;

    private final boolean semaphore;
    private final boolean nonBlocking;
    private long count;

    /** eventfd2(initval, flags): EINVAL for a flag eventfd does not know. */
    public EventFdFile(long initval, int flags) {
        if ((flags & ~(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC)) != 0) {
            throw new IommufdException(Errno.EINVAL, "unknown eventfd flags 0x" + Integer.toHexString(flags));
        }
        if (Long.compareUnsigned(initval, 0xffff_ffffL) > 0) {
            // eventfd2 takes an unsigned int.
            throw new IommufdException(Errno.EINVAL, "initval does not fit an unsigned int");
        }
        this.semaphore = (flags & EFD_SEMAPHORE) != 0;
        this.nonBlocking = (flags & EFD_NONBLOCK) != 0;
        this.count = initval;
    }

    /** The counter now (uiommu only; for reports and tests). */
    public synchronized long count() {
        return count;
    }

    /** eventfd_signal: adds n (stopping at ULLONG_MAX, where poll reports POLLERR) and wakes readers. */
    public void signal(long n) {
        synchronized (this) {
            if (Long.compareUnsigned(ULLONG_MAX - count, n) < 0) {
                n = ULLONG_MAX - count;
            }
            count += n;
            notifyAll();
        }
        readinessChanged();
    }

    @Override
    public long read(UserProcess caller, long buf, long count, long pos) {
        if (Long.compareUnsigned(count, 8) < 0) {
            return -Errno.EINVAL.value();
        }
        long value;
        synchronized (this) {
            while (this.count == 0) {
                if (nonBlocking) {
                    return -Errno.EAGAIN.value();
                }
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    // A signal interrupts the wait: the kernel's read returns ERESTARTSYS, seen as EINTR.
                    return -4;
                }
            }
            value = semaphore ? 1 : this.count;
            byte[] b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0, value).array();
            try {
                caller.memory().write(buf, b, 0, 8);
            } catch (IommufdException e) {
                return -Errno.EFAULT.value();
            }
            this.count -= value;
            notifyAll();
        }
        readinessChanged();
        return 8;
    }

    @Override
    public long write(UserProcess caller, long buf, long count, long pos) {
        if (Long.compareUnsigned(count, 8) < 0) {
            return -Errno.EINVAL.value();
        }
        byte[] b = new byte[8];
        try {
            caller.memory().read(buf, b, 0, 8);
        } catch (IommufdException e) {
            return -Errno.EFAULT.value();
        }
        long value = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        if (value == ULLONG_MAX) {
            return -Errno.EINVAL.value();
        }
        synchronized (this) {
            while (Long.compareUnsigned(COUNT_MAX - this.count, value) < 0) {
                if (nonBlocking) {
                    return -Errno.EAGAIN.value();
                }
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return -4;
                }
            }
            this.count += value;
            notifyAll();
        }
        readinessChanged();
        return 8;
    }

    @Override
    public synchronized int poll(UserProcess caller) {
        int events = 0;
        if (count != 0) {
            events |= POLLIN | POLLRDNORM;
        }
        if (count == ULLONG_MAX) {
            events |= POLLERR;
        }
        if (Long.compareUnsigned(count, COUNT_MAX) < 0) {
            events |= POLLOUT | POLLWRNORM;
        }
        return events;
    }

    /** A reference for an interrupt source (eventfd_ctx_fdget): the file lives while it is held. */
    public EventSignal takeSignal() {
        get();
        return new EventSignal() {
            private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();

            @Override
            public void signal(long n) {
                EventFdFile.this.signal(n);
            }

            @Override
            public void release() {
                if (released.compareAndSet(false, true)) {
                    put();
                }
            }
        };
    }

    @Override
    public String name() {
        return "anon_inode:[eventfd]";
    }

    @Override
    protected void release() {
    }
}
