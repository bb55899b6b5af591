package io.uiommu.proc;

import io.uiommu.mem.PageCounter;
import io.uiommu.mem.UserMemory;

/**
 * The process calling into iommufd (the kernel's {@code current}): its memory, its credentials and
 * the limits that pinned-page accounting checks.
 */
public interface UserProcess {
    int pid();

    UserMemory memory();

    /** RLIMIT_MEMLOCK in bytes; {@link Long#MAX_VALUE} for unlimited. */
    long memlockLimitBytes();

    /** Whether the process holds a capability (CAP_IPC_LOCK skips the memlock check, CAP_SYS_RESOURCE sets RLIMIT_MODE). */
    boolean capable(Capability capability);

    /** The file descriptor table. */
    FdTable fds();

    /** The per-user locked-page counter (user->locked_vm), shared by every process of the same user. */
    PageCounter userLockedVm();

    /**
     * The eventfd behind one of the process's fd numbers, as eventfd_ctx_fdget finds it (VFIO
     * SET_IRQS, for instance): EBADF if the fd is not open, EINVAL if it is not an eventfd.
     */
    default EventSignal eventfd(int fd) {
        throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.EBADF, "no eventfd " + fd);
    }

    enum Capability {
        CAP_IPC_LOCK, CAP_SYS_RESOURCE, CAP_SYS_ADMIN
    }
}
