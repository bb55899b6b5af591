package io.uiommu.server;

import io.uiommu.mem.PageCounter;
import io.uiommu.mem.UserMemory;
import io.uiommu.proc.FdTable;
import io.uiommu.proc.UserProcess;

/**
 * A real client process as iommufd's {@code current}: identity from the kernel (SO_PEERCRED and the
 * credentials on every message), memory reached remotely, capabilities and RLIMIT_MEMLOCK read from
 * the kernel when a call needs them, the per-user locked-page counter shared with the user's other
 * processes.
 *
 * <p>Locking: immutable; the parts document their own.
 */
final class ClientProcess implements UserProcess {
    private static final long RLIM_INFINITY = -1L;

    private final int pid;
    private final int uid;
    private final ClientMemory memory;
    private final ClientFdTable fds;
    private final PageCounter userLockedVm;

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

    @Override
    public String toString() {
        return "process " + pid;
    }
}
