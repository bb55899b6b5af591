package io.uiommu.server;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The Linux system calls the daemon needs, through FFM. Every wrapper returns the call's result or
 * minus the errno (captured with the call, never read later), so callers handle failures as values.
 * x86-64 and arm64 layouts (LP64, Linux) only.
 *
 * <p>Locking: stateless; each thread has its own errno capture segment.
 */
final class Native {
    static final int AF_UNIX = 1;
    static final int SOCK_SEQPACKET = 5;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SO_PASSCRED = 16;
    static final int SO_PEERCRED = 17;
    static final int SCM_RIGHTS = 1;
    static final int SCM_CREDENTIALS = 2;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_CTRUNC = 0x8;
    static final int MSG_TRUNC = 0x20;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;
    static final short POLLIN = 0x1;
    static final short POLLHUP = 0x10;
    static final short POLLNVAL = 0x20;
    static final short POLLOUT = 0x4;
    static final int EFD_CLOEXEC = 0x80000;
    static final int MFD_CLOEXEC = 1;
    static final int PROT_READ = 1, PROT_WRITE = 2;
    static final int MAP_SHARED = 1;
    /** The generic syscall numbers (the same on x86-64 and arm64). */
    private static final long SYS_PIDFD_OPEN = 434, SYS_PIDFD_GETFD = 438;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int RLIMIT_MEMLOCK = 8;

    /** struct msghdr (56 bytes). */
    static final long MSG_NAME = 0, MSG_NAMELEN = 8, MSG_IOV = 16, MSG_IOVLEN = 24, MSG_CONTROL = 32,
            MSG_CONTROLLEN = 40, MSG_FLAGS = 48, MSGHDR_SIZE = 56;
    /** struct cmsghdr header (16 bytes), then data. */
    static final long CMSG_LEN = 0, CMSG_LEVEL = 8, CMSG_TYPE = 12, CMSG_DATA = 16;
    /** struct stat: st_ino at 8, st_mode at 24 (x86-64) / 16 (arm64). */
    static final long STAT_SIZE = 256;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CAPTURE_SEGMENT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));
    /** Per-thread scratch for small out-parameters of calls made on every ioctl (no allocation there). */
    private static final ThreadLocal<MemorySegment> SCRATCH = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(64, 8));

    private static MethodHandle fn(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name)), fd,
                Linker.Option.captureCallState("errno"));
    }

    private static final MethodHandle SOCKET = fn("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SOCKETPAIR = fn("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle BIND = fn("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CONNECT = fn("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN = fn("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACCEPT4 = fn("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle SENDMSG = fn("sendmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECVMSG = fn("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CLOSE = fn("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SHUTDOWN = fn("shutdown", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle POLL = fn("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle READ = fn("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = fn("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle EVENTFD = fn("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = fn("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SETSOCKOPT = fn("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle FSTAT = fn("fstat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle READLINK = fn("readlink", FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG));
    private static final MethodHandle CHMOD = fn("chmod", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle UNLINK = fn("unlink", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle PROCESS_VM_READV = fn("process_vm_readv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PROCESS_VM_WRITEV = fn("process_vm_writev",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle CAPGET = fn("capget", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle PRLIMIT = fn("prlimit",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETUID = fn("getuid", FunctionDescriptor.of(JAVA_INT));
    /** syscall(2) with two int arguments (calls newer than some libcs' wrappers: pidfd_open). */
    private static final MethodHandle SYSCALL_II = LINKER.downcallHandle(LIBC.find("syscall").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    private static final MethodHandle SYSCALL_III = LINKER.downcallHandle(LIBC.find("syscall").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    private static final MethodHandle MEMFD_CREATE = fn("memfd_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle FTRUNCATE = fn("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MMAP = fn("mmap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = fn("munmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle SEND = fn("send", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private Native() {
    }

    private static long fail(MemorySegment cap) {
        return -(int) ERRNO.get(cap, 0L);
    }

    private static MemorySegment cap() {
        return CAPTURE_SEGMENT.get();
    }

    static int socket(int domain, int type, int protocol) {
        MemorySegment c = cap();
        try {
            int r = (int) SOCKET.invokeExact(c, domain, type, protocol);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC): both ends, or minus the errno in [0]. */
    static int socketpair(int type, int[] out) {
        MemorySegment c = cap();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(8);
            int r = (int) SOCKETPAIR.invokeExact(c, AF_UNIX, type, 0, sv);
            if (r < 0) {
                return (int) fail(c);
            }
            out[0] = sv.get(JAVA_INT, 0);
            out[1] = sv.get(JAVA_INT, 4);
            return 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** struct sockaddr_un for a path (110 bytes). */
    private static MemorySegment sockaddr(Arena a, String path) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length >= 108) {
            throw new IllegalArgumentException("socket path too long: " + path);
        }
        MemorySegment s = a.allocate(110);
        s.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(p, 0, s, ValueLayout.JAVA_BYTE, 2, p.length);
        return s;
    }

    static int bind(int fd, String path) {
        MemorySegment c = cap();
        try (Arena a = Arena.ofConfined()) {
            int r = (int) BIND.invokeExact(c, fd, sockaddr(a, path), 110);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int connect(int fd, String path) {
        MemorySegment c = cap();
        try (Arena a = Arena.ofConfined()) {
            int r = (int) CONNECT.invokeExact(c, fd, sockaddr(a, path), 110);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int listen(int fd, int backlog) {
        MemorySegment c = cap();
        try {
            int r = (int) LISTEN.invokeExact(c, fd, backlog);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int accept(int fd) {
        MemorySegment c = cap();
        try {
            int r = (int) ACCEPT4.invokeExact(c, fd, MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long sendmsg(int fd, MemorySegment msghdr, int flags) {
        MemorySegment c = cap();
        try {
            long r = (long) SENDMSG.invokeExact(c, fd, msghdr, flags);
            return r < 0 ? fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long recvmsg(int fd, MemorySegment msghdr, int flags) {
        MemorySegment c = cap();
        try {
            long r = (long) RECVMSG.invokeExact(c, fd, msghdr, flags);
            return r < 0 ? fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int close(int fd) {
        MemorySegment c = cap();
        try {
            int r = (int) CLOSE.invokeExact(c, fd);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int shutdown(int fd, int how) {
        MemorySegment c = cap();
        try {
            int r = (int) SHUTDOWN.invokeExact(c, fd, how);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** poll(2) over an array of struct pollfd (8 bytes each). */
    static int poll(MemorySegment fds, long nfds, int timeoutMillis) {
        MemorySegment c = cap();
        try {
            int r = (int) POLL.invokeExact(c, fds, nfds, timeoutMillis);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The poll events of one fd now (0 timeout): POLLHUP when the peer of a socket closed. */
    static int pollNow(int fd, short events) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(8);
            p.set(JAVA_INT, 0, fd);
            p.set(ValueLayout.JAVA_SHORT, 4, events);
            int r = poll(p, 1, 0);
            return r < 0 ? r : p.get(ValueLayout.JAVA_SHORT, 6) & 0xffff;
        }
    }

    static long read(int fd, MemorySegment buf, long count) {
        MemorySegment c = cap();
        try {
            long r = (long) READ.invokeExact(c, fd, buf, count);
            return r < 0 ? fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long write(int fd, MemorySegment buf, long count) {
        MemorySegment c = cap();
        try {
            long r = (long) WRITE.invokeExact(c, fd, buf, count);
            return r < 0 ? fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int eventfd(int initval, int flags) {
        MemorySegment c = cap();
        try {
            int r = (int) EVENTFD.invokeExact(c, initval, flags);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int setsockoptInt(int fd, int level, int name, int value) {
        MemorySegment c = cap();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(4);
            v.set(JAVA_INT, 0, value);
            int r = (int) SETSOCKOPT.invokeExact(c, fd, level, name, v, 4);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** SO_PEERCRED: {pid, uid, gid} of the process that connected, as the kernel recorded it. */
    static int peerCredentials(int fd, int[] out) {
        MemorySegment c = cap();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(12);
            MemorySegment len = a.allocate(4);
            len.set(JAVA_INT, 0, 12);
            int r = (int) GETSOCKOPT.invokeExact(c, fd, SOL_SOCKET, SO_PEERCRED, v, len);
            if (r < 0) {
                return (int) fail(c);
            }
            out[0] = v.get(JAVA_INT, 0);
            out[1] = v.get(JAVA_INT, 4);
            out[2] = v.get(JAVA_INT, 8);
            return 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The inode number of an open fd (st_ino), or minus the errno. */
    static long inode(int fd) {
        MemorySegment c = cap();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(STAT_SIZE);
            int r = (int) FSTAT.invokeExact(c, fd, st);
            return r < 0 ? fail(c) : st.get(JAVA_LONG, 8);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** readlink(2) into a caller's buffer: the length, or minus the errno. */
    static long readlink(MemorySegment path, MemorySegment buf) {
        MemorySegment c = cap();
        try {
            long r = (long) READLINK.invokeExact(c, path, buf, buf.byteSize());
            return r < 0 ? fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int chmod(String path, int mode) {
        MemorySegment c = cap();
        try (Arena a = Arena.ofConfined()) {
            int r = (int) CHMOD.invokeExact(c, a.allocateFrom(path), mode);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int unlink(String path) {
        MemorySegment c = cap();
        try (Arena a = Arena.ofConfined()) {
            int r = (int) UNLINK.invokeExact(c, a.allocateFrom(path));
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** process_vm_readv with prepared iovec arrays: bytes moved, or minus the errno. */
    static long processVmReadv(int pid, MemorySegment local, long nLocal, MemorySegment remote, long nRemote) {
        MemorySegment c = cap();
        try {
            long r = (long) PROCESS_VM_READV.invokeExact(c, pid, local, nLocal, remote, nRemote, 0L);
            return r < 0 ? fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long processVmWritev(int pid, MemorySegment local, long nLocal, MemorySegment remote, long nRemote) {
        MemorySegment c = cap();
        try {
            long r = (long) PROCESS_VM_WRITEV.invokeExact(c, pid, local, nLocal, remote, nRemote, 0L);
            return r < 0 ? fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The effective capability set of a process (bits 0..63), or minus the errno. */
    static long effectiveCapabilities(int pid) {
        MemorySegment c = cap();
        try {
            MemorySegment s = SCRATCH.get();
            MemorySegment hdr = s.asSlice(0, 8);
            hdr.set(JAVA_INT, 0, 0x20080522); // _LINUX_CAPABILITY_VERSION_3
            hdr.set(JAVA_INT, 4, pid);
            MemorySegment data = s.asSlice(8, 24);
            int r = (int) CAPGET.invokeExact(c, hdr, data);
            if (r < 0) {
                return fail(c);
            }
            return (data.get(JAVA_INT, 0) & 0xffffffffL) | ((long) data.get(JAVA_INT, 12) << 32);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The soft limit of a resource of another process (RLIM_INFINITY as -1), or Long.MIN_VALUE on failure. */
    static long softLimit(int pid, int resource) {
        MemorySegment c = cap();
        try {
            MemorySegment old = SCRATCH.get().asSlice(32, 16);
            int r = (int) PRLIMIT.invokeExact(c, pid, resource, MemorySegment.NULL, old);
            return r < 0 ? Long.MIN_VALUE : old.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int getuid() {
        MemorySegment c = cap();
        try {
            return (int) GETUID.invokeExact(c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** pidfd_open(pid, 0): a pidfd, or minus the errno. */
    static int pidfdOpen(int pid) {
        MemorySegment c = cap();
        try {
            long r = (long) SYSCALL_II.invokeExact(c, SYS_PIDFD_OPEN, pid, 0);
            return r < 0 ? (int) fail(c) : (int) r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * pidfd_getfd(pidfd, fd, 0): a duplicate (close-on-exec) of another process's fd, sharing its
     * open file description; the kernel checks ptrace access as for process_vm_readv. Minus the errno.
     */
    static int pidfdGetfd(int pidfd, int fd) {
        MemorySegment c = cap();
        try {
            long r = (long) SYSCALL_III.invokeExact(c, SYS_PIDFD_GETFD, pidfd, fd, 0);
            return r < 0 ? (int) fail(c) : (int) r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** memfd_create(name, flags): an fd, or minus the errno. */
    static int memfdCreate(String name, int flags) {
        MemorySegment c = cap();
        try (Arena a = Arena.ofConfined()) {
            int r = (int) MEMFD_CREATE.invokeExact(c, a.allocateFrom(name), flags);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int ftruncate(int fd, long length) {
        MemorySegment c = cap();
        try {
            int r = (int) FTRUNCATE.invokeExact(c, fd, length);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** mmap(2): the address, or minus the errno (addresses are below 2^63, errnos below 4096). */
    static long mmap(long addr, long length, int prot, int flags, int fd, long offset) {
        MemorySegment c = cap();
        try {
            long r = (long) MMAP.invokeExact(c, addr, length, prot, flags, fd, offset);
            return r == -1 ? fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int munmap(long addr, long length) {
        MemorySegment c = cap();
        try {
            int r = (int) MUNMAP.invokeExact(c, addr, length);
            return r < 0 ? (int) fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** send(2) of len bytes: the count, or minus the errno. */
    static long send(int fd, MemorySegment buf, long len, int flags) {
        MemorySegment c = cap();
        try {
            long r = (long) SEND.invokeExact(c, fd, buf, len, flags);
            return r < 0 ? fail(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The target of a symbolic link such as /proc/PID/fd/N ("anon_inode:[eventfd]"), or null. */
    static String readlink(String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(256);
            long n = readlink(a.allocateFrom(path), buf);
            return n <= 0 ? null : new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
