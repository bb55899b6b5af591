package io.uiommu.server;

/**
 * The messages between the shim and the daemon on a process's control connection (AF_UNIX
 * SOCK_SEQPACKET, little-endian, one message per packet). Mirrored in native/uiommu_protocol.h.
 *
 * <pre>
 * request (shim to daemon), 48 bytes:  u32 op, s32 fd, u64 ino, u64 a0, u64 a1, u64 a2, u64 a3
 * reply   (daemon to shim), 32 bytes:  u32 kind, u32 flags, s64 result, u64 aux, u64 aux2
 * </pre>
 *
 * A request gets exactly one {@link #DONE} reply. Before it the daemon may send callbacks
 * ({@link #INSTALL_FD}, {@link #CLOSE_FD}) that the shim answers with {@link #OP_CALLBACK}.
 */
final class Protocol {
    static final int REQUEST_SIZE = 48;
    static final int REPLY_SIZE = 32;

    /**
     * open(2) of a device: a0 = open flags, a1 = {@link #DEVICE_IOMMU} or {@link #DEVICE_VFIO} (a2 = N
     * of /dev/vfio/devices/vfioN). Result: the fd number.
     */
    static final int OP_OPEN = 1;
    /**
     * ioctl(2): fd, ino, a0 = request, a1 = arg, a2 = how many bytes at arg follow the request (at
     * most {@link RemoteIo#WINDOW_MAX}, never past arg's page: the struct, read by the kernel as the
     * shim sent it), a3 = the process's count of its own mmap/munmap/mremap/mprotect calls (mappings
     * read while it stays the same are still current).
     */
    static final int OP_IOCTL = 2;
    /**
     * read(2)/pread(2): fd, ino, a0 = buf, a1 = count, a2 = pos, a3 = 1 if pread. The reply's aux:
     * readiness tokens the shim is to take off the fd (recv) before returning, because the file
     * stopped being readable (see {@link ServedFile}).
     */
    static final int OP_READ = 3;
    /** write(2)/pwrite(2): as OP_READ. */
    static final int OP_WRITE = 4;
    /** The shim has closed fd (ino): release the file if that was its last reference. */
    static final int OP_CLOSE = 5;
    /** Is fd (ino) a uiommu file? Result 1 or 0 (for fds the shim did not see arrive). */
    static final int OP_LOOKUP = 6;
    /** The process is about to unmap [a0, a0+a1): take over pinned pages there. */
    static final int OP_UNMAP = 7;
    /** The process is exiting: take over every pinned page, its address space goes away. */
    static final int OP_EXIT = 8;
    /** Answer to a callback: a0 = value (an fd number, or minus the errno). */
    static final int OP_CALLBACK = 9;
    /**
     * mmap(2) of a uiommu fd: fd, ino, a0 = length, a1 = prot, a2 = flags, a3 = offset. The file's
     * pages come back as a memfd ({@link #MAP_FD} callback) that the shim maps as asked; the result
     * is the address.
     */
    static final int OP_MMAP = 10;

    static final int DEVICE_IOMMU = 1;
    static final int DEVICE_VFIO = 2;

    /** The final reply: result is the call's return value or minus the errno. */
    static final int DONE = 0;
    /** Callback: an fd rides along (SCM_RIGHTS); flags bit 0 = close-on-exec. Answer: its number. */
    static final int INSTALL_FD = 1;
    /** Callback: close fd aux in the client. Answer: 0 or minus the errno. */
    static final int CLOSE_FD = 2;

    /** Callback: a memfd rides along; map it as the pending mmap asked. Answer: the address or minus the errno. */
    static final int MAP_FD = 3;

    static final int FLAG_CLOEXEC = 1;

    private Protocol() {
    }
}
