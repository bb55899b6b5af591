package io.uiommu.server;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PageCounter;
import io.uiommu.mem.UserMemory;
import io.uiommu.proc.EventSignal;
import io.uiommu.proc.FdTable;
import io.uiommu.proc.UserProcess;

/**
 * A real client process as iommufd's {@code current}: identity from the kernel (SO_PEERCRED and the
 * credentials on every message), memory reached remotely, capabilities and RLIMIT_MEMLOCK read from
 * the kernel when a call needs them, the per-user locked-page counter shared with the user's other
 * processes.
 *
 * <p>Locking: immutable but for the pidfd, guarded by this object's monitor; the parts document their own.
 */
final class ClientProcess implements UserProcess {
    private static final long RLIM_INFINITY = -1L;

    private final int pid;
    private final int uid;
    private final ClientMemory memory;
    private final ClientFdTable fds;
    private final PageCounter userLockedVm;
    /** A pidfd of the process (opened on first need, closed with the connection): pidfd_getfd takes its files. */
    private int pidfd = -1;
    private boolean closed;

    ClientProcess(int pid, int uid, ClientMemory memory, ClientFdTable fds, PageCounter userLockedVm) {
        this.pid = pid;
        this.uid = uid;
        this.memory = memory;
        this.fds = fds;
        this.userLockedVm = userLockedVm;
    }

    @Override
    public int pid() {
        return pid;
    }

    int uid() {
        return uid;
    }

    @Override
    public UserMemory memory() {
        return memory;
    }

    ClientMemory clientMemory() {
        return memory;
    }

    @Override
    public long memlockLimitBytes() {
        long limit = Native.softLimit(pid, Native.RLIMIT_MEMLOCK);
        if (limit == RLIM_INFINITY) {
            return Long.MAX_VALUE;
        }
        // A process whose limit cannot be read is held to nothing beyond what it may lock anyway.
        return limit == Long.MIN_VALUE ? 0 : limit;
    }

    @Override
    public boolean capable(Capability capability) {
        long caps = Native.effectiveCapabilities(pid);
        if (caps < 0 && caps > -4096) {
            return false;
        }
        int bit = switch (capability) {
            case CAP_IPC_LOCK -> 14;
            case CAP_SYS_ADMIN -> 21;
            case CAP_SYS_RESOURCE -> 24;
        };
        return (caps & (1L << bit)) != 0;
    }

    @Override
    public FdTable fds() {
        return fds;
    }

    @Override
    public PageCounter userLockedVm() {
        return userLockedVm;
    }

    /**
     * The client's eventfd behind {@code fd}, as eventfd_ctx_fdget finds it: the daemon takes its own
     * reference to the file (pidfd_getfd), then checks what it got, so a concurrent close or dup2 in
     * the client cannot make it signal something else. EBADF if fd is not open, EINVAL if it is not
     * an eventfd.
     */
    @Override
    public EventSignal eventfd(int fd) {
        if (fd < 0) {
            throw new IommufdException(Errno.EBADF, "fd " + fd);
        }
        int dup;
        synchronized (this) {
            if (closed) {
                throw new IommufdException(Errno.EBADF, this + " is gone");
            }
            if (pidfd < 0) {
                int p = Native.pidfdOpen(pid);
                if (p < 0) {
                    throw new IommufdException(Errno.EBADF, "pidfd_open(" + pid + "): errno " + -p);
                }
                pidfd = p;
            }
            dup = Native.pidfdGetfd(pidfd, fd);
        }
        if (dup < 0) {
            // EBADF: not open. EPERM/ESRCH cannot happen to the kernel's own lookup; the caller is gone or hidden.
            throw new IommufdException(Errno.EBADF, "fd " + fd + " of " + this + ": errno " + -dup);
        }
        if (!"anon_inode:[eventfd]".equals(Native.readlink("/proc/self/fd/" + dup))) {
            Native.close(dup);
            throw new IommufdException(Errno.EINVAL, "fd " + fd + " of " + this + " is not an eventfd");
        }
        return new ClientEventfd(dup);
    }

    /** The connection ended: no more files are taken from the process. */
    synchronized void close() {
        closed = true;
        if (pidfd >= 0) {
            Native.close(pidfd);
            pidfd = -1;
        }
    }

    @Override
    public String toString() {
        return "process " + pid;
    }
}
