package io.uiommu.server;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.proc.MmapRegion;
import io.uiommu.proc.OpenFile;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.logging.Level;
import java.util.logging.Logger;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The control connection of one client process, served by its own thread: requests in, callbacks and
 * replies out. Every message must carry the sender's kernel-checked credentials (SCM_CREDENTIALS)
 * and come from the process that connected (SO_PEERCRED); anything else, or a malformed message,
 * closes the connection with a log line. When the connection ends the process is gone for uiommu:
 * its pinned pages are taken over, and its files are released as the kernel closes its fds.
 *
 * <p>Locking: thread-confined (the buffers and the protocol state belong to the connection thread).
 */
final class ClientConnection {
    private static final Logger LOG = Logger.getLogger(ClientConnection.class.getName());

    private static final long CONTROL_SIZE = 64;
    /** How long a connection polls for the next request before blocking (uiommu.spinMicros, default 0: block at once). */
    private static final long SPIN_NANOS = Long.getLong("uiommu.spinMicros", 0) * 1000;

    private final UiommuServer server;
    private final int fd;
    final int pid;
    final int uid;
    private final ClientProcess process;
    private final ClientFdTable fds;
    /** The process's mappings of uiommu files (mmap): each holds what the file handed out. */
    private final ClientMappings mappings = new ClientMappings();
    private final java.util.HashMap<Integer, ServedFile> fdCache = new java.util.HashMap<>();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment request = arena.allocate(Protocol.REQUEST_SIZE + RemoteIo.WINDOW_MAX + 8, 8);
    private long received;
    private final MemorySegment reply = arena.allocate(Protocol.REPLY_SIZE, 8);
    private final MemorySegment iov = arena.allocate(16, 8);
    private final MemorySegment control = arena.allocate(CONTROL_SIZE, 8);
    private final MemorySegment msghdr = arena.allocate(Native.MSGHDR_SIZE, 8);
    private boolean broken;
    /** The DONE reply's aux: for READ/WRITE, how many readiness tokens the shim is to drain from the fd. */
    private long replyAux;
    /** Guarded by this object's monitor (shutdown comes from another thread). */
    private boolean fdClosed;

    /** A protocol violation: the connection is closed. */
    static final class ProtocolException extends Exception {
        ProtocolException(String message) {
            super(message);
        }
    }

    ClientConnection(UiommuServer server, int fd, int pid, int uid) {
        this.server = server;
        this.fd = fd;
        this.pid = pid;
        this.uid = uid;
        this.fds = new ClientFdTable(this, server.registry(), pid);
        ClientMemory memory = new ClientMemory(pid, uid, server.frames());
        server.frames().register(memory);
        this.process = new ClientProcess(pid, uid, memory, fds, server.userLockedVm(uid));
    }

    ClientProcess process() {
        return process;
    }

    void serve() {
        try {
            while (true) {
                long n = receive();
                if (n == 0) {
                    return;
                }
                handle();
            }
        } catch (ProtocolException e) {
            LOG.warning("uiommu: closing the connection of process " + pid + ": " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "uiommu bug serving process " + pid, e);
        } finally {
            // A dead process's fds closed with it: release its files first, so that only pages
            // still pinned through files other processes hold need taking over.
            server.registry().releaseHungUp();
            server.frames().gone(process.clientMemory());
            mappings.closeAll();
            process.close();
            synchronized (this) {
                fdClosed = true;
                Native.close(fd);
            }
            arena.close();
            server.connectionClosed(this);
        }
    }

    /** Receives one request (or callback answer): REQUEST_SIZE bytes, an ioctl's struct bytes after it; 0 at end of stream. */
    private long receive() throws ProtocolException {
        // Clients issue calls back to back: poll briefly before sleeping (a wake-up costs more).
        long spinUntil = SPIN_NANOS > 0 ? System.nanoTime() + SPIN_NANOS : 0;
        while (true) {
            iov.set(JAVA_LONG, 0, request.address());
            iov.set(JAVA_LONG, 8, request.byteSize());
            msghdr.fill((byte) 0);
            msghdr.set(JAVA_LONG, Native.MSG_IOV, iov.address());
            msghdr.set(JAVA_LONG, Native.MSG_IOVLEN, 1);
            msghdr.set(JAVA_LONG, Native.MSG_CONTROL, control.address());
            msghdr.set(JAVA_LONG, Native.MSG_CONTROLLEN, CONTROL_SIZE);
            long n = Native.recvmsg(fd, msghdr, Native.MSG_CMSG_CLOEXEC | (spinUntil != 0 ? Native.MSG_DONTWAIT : 0));
            if (n == -Native.EINTR) {
                continue;
            }
            if (n == -Native.EAGAIN) {
                if (System.nanoTime() - spinUntil >= 0) {
                    spinUntil = 0;
                }
                Thread.onSpinWait();
                continue;
            }
            if (n < 0) {
                throw new ProtocolException("recvmsg: errno " + -n);
            }
            boolean credsOk = checkControl();
            if (n == 0) {
                return 0;
            }
            int flags = msghdr.get(JAVA_INT, Native.MSG_FLAGS);
            long extra = n - Protocol.REQUEST_SIZE;
            if ((flags & (Native.MSG_TRUNC | Native.MSG_CTRUNC)) != 0 || extra < 0
                    || extra != (op() == Protocol.OP_IOCTL ? a(2) : 0) || extra > RemoteIo.WINDOW_MAX) {
                throw new ProtocolException("malformed message of " + n + " bytes");
            }
            if (!credsOk) {
                throw new ProtocolException("message without the credentials of process " + pid);
            }
            return n;
        }
    }

    /** Checks the control messages: the sender's credentials must be the connected process's; no fds. */
    private boolean checkControl() throws ProtocolException {
        long controlLen = msghdr.get(JAVA_LONG, Native.MSG_CONTROLLEN);
        long off = 0;
        boolean creds = false;
        String bad = null;
        while (off + Native.CMSG_DATA <= controlLen) {
            long len = control.get(JAVA_LONG, off + Native.CMSG_LEN);
            int level = control.get(JAVA_INT, off + Native.CMSG_LEVEL);
            int type = control.get(JAVA_INT, off + Native.CMSG_TYPE);
            if (len < Native.CMSG_DATA || off + len > controlLen) {
                break;
            }
            if (level == Native.SOL_SOCKET && type == Native.SCM_CREDENTIALS && len >= Native.CMSG_DATA + 12) {
                int p = control.get(JAVA_INT, off + Native.CMSG_DATA);
                int u = control.get(JAVA_INT, off + Native.CMSG_DATA + 4);
                creds = p == pid && u == uid;
                if (!creds) {
                    bad = "message from process " + p + " (uid " + u + ") on the connection of process " + pid;
                }
            } else if (level == Native.SOL_SOCKET && type == Native.SCM_RIGHTS) {
                for (long i = Native.CMSG_DATA; i + 4 <= len; i += 4) {
                    Native.close(control.get(JAVA_INT, off + i));
                }
                bad = "unexpected file descriptors";
            }
            off += (len + 7) & ~7L;
        }
        if (bad != null) {
            throw new ProtocolException(bad);
        }
        return creds;
    }

    private int op() {
        return request.get(JAVA_INT, 0);
    }

    private int reqFd() {
        return request.get(JAVA_INT, 4);
    }

    private long ino() {
        return request.get(JAVA_LONG, 8);
    }

    private long a(int i) {
        return request.get(JAVA_LONG, 16 + 8L * i);
    }

    private void handle() throws ProtocolException {
        int op = op();
        replyAux = 0;
        long result = switch (op) {
            case Protocol.OP_OPEN -> open();
            case Protocol.OP_IOCTL -> ioctl();
            case Protocol.OP_READ, Protocol.OP_WRITE -> readWrite(op == Protocol.OP_WRITE);
            case Protocol.OP_CLOSE -> closed();
            case Protocol.OP_LOOKUP -> fileOf(reqFd(), ino()) != null ? 1 : 0;
            case Protocol.OP_UNMAP -> {
                server.frames().unmapping(process.clientMemory(), a(0), a(1));
                mappings.unmapping(a(0), a(1));
                yield 0;
            }
            case Protocol.OP_EXIT -> {
                server.frames().gone(process.clientMemory());
                mappings.closeAll();
                yield 0;
            }
            case Protocol.OP_MMAP -> mmap();
            default -> throw new ProtocolException("unknown request " + op);
        };
        if (broken) {
            throw new ProtocolException("callback failed");
        }
        send(Protocol.DONE, 0, result, replyAux, -1);
    }

    private long open() {
        long device = a(1);
        int flags = (int) a(0);
        String path;
        if (device == Protocol.DEVICE_IOMMU) {
            path = "/dev/iommu";
        } else if (device == Protocol.DEVICE_VFIO && a(2) >= 0 && a(2) <= Integer.MAX_VALUE) {
            path = "/dev/vfio/devices/vfio" + a(2);
        } else {
            return -Errno.ENODEV.value();
        }
        fds.setNextCloexec((flags & 0x80000) != 0);
        long t0 = server.listener() == null ? 0 : System.nanoTime();
        int fdNo;
        try {
            fdNo = device == Protocol.DEVICE_IOMMU ? server.devIommu().open(process)
                    : server.devIommu().openVfioDevice(process, path, flags);
        } catch (io.uiommu.iommufd.IommufdException e) {
            fds.setNextCloexec(true);
            return -e.errno().value();
        }
        server.notifyCall(new CallListener.Call(CallListener.Kind.OPEN, pid, fdNo, openedIno(fdNo), path, 0, 0, 0, null, null, fdNo, t0,
                null));
        return fdNo;
    }

    /** The inode of a file just opened, for the call listener (0 if it cannot be seen). */
    private long openedIno(int fdNo) {
        if (server.listener() == null) {
            return 0;
        }
        ServedFile f = fds.resolve(fdNo);
        return f == null ? 0 : f.ino;
    }

    /**
     * The served file behind the client's fd: the inode the shim names must be the one the kernel
     * has. The answer is remembered per fd number until the shim names another inode for it or the
     * file is released, so a process can at most reach a file it has held (see docs/daemon.md).
     */
    private ServedFile fileOf(int clientFd, long ino) {
        ServedFile f = fdCache.get(clientFd);
        if (f != null && f.ino == ino && !f.released()) {
            return f;
        }
        f = fds.resolve(clientFd);
        if (f == null || f.ino != ino) {
            fdCache.remove(clientFd);
            return null;
        }
        fdCache.put(clientFd, f);
        return f;
    }

    private long ioctl() {
        // Read the request now: callbacks during the call (handing the client an fd) reuse its buffer.
        int clientFd = reqFd();
        process.clientMemory().mapsGeneration = a(3);
        ServedFile f = fileOf(clientFd, ino());
        if (f == null) {
            return -Errno.EBADF.value();
        }
        int code = (int) a(0);
        long arg = a(1);
        int window = (int) a(2);
        RemoteIo io = RemoteIo.current();
        if (window > 0) {
            io.setWindow(pid, arg, request, Protocol.REQUEST_SIZE, window);
        }
        try {
            return ioctl(f, clientFd, code, arg);
        } finally {
            io.clearWindow();
        }
    }

    private long ioctl(ServedFile f, int clientFd, int request, long arg) {
        CallListener listener = server.listener();
        if (listener == null) {
            return f.file.ioctl(process, request, arg);
        }
        long t0 = System.nanoTime();
        byte[] before = CallListener.argBytes(process.memory(), request, arg);
        java.util.List<CallListener.Touch> touches = new java.util.ArrayList<>();
        long r;
        ClientMemory.TOUCHES.set(touches);
        try {
            r = f.file.ioctl(process, request, arg);
        } finally {
            ClientMemory.TOUCHES.remove();
        }
        byte[] after = before == null ? null : CallListener.argBytes(process.memory(), request, arg);
        server.notifyCall(new CallListener.Call(CallListener.Kind.IOCTL, pid, clientFd, f.ino, f.file.name(), request, arg, 0,
                before, after, r, t0, touches));
        return r;
    }

    private long readWrite(boolean write) {
        int clientFd = reqFd();
        long buf = a(0);
        long count = a(1);
        ServedFile f = fileOf(clientFd, ino());
        if (f == null) {
            return -Errno.EBADF.value();
        }
        long pos = a(3) != 0 ? a(2) : 0;
        long t0 = System.nanoTime();
        OpenFile file = f.file;
        java.util.List<CallListener.Touch> touches = server.listener() == null ? null : new java.util.ArrayList<>();
        long r;
        ClientMemory.TOUCHES.set(touches);
        try {
            r = write ? file.write(process, buf, count, pos) : file.read(process, buf, count, pos);
        } finally {
            ClientMemory.TOUCHES.remove();
        }
        // A read that emptied the file leaves its token to drain (the file said so itself, or says now).
        f.readinessChanged();
        replyAux = f.takeDrains();
        server.notifyCall(new CallListener.Call(write ? CallListener.Kind.WRITE : CallListener.Kind.READ, pid, clientFd, f.ino,
                file.name(), 0, buf, count, null, null, r, t0, touches));
        return r;
    }

    /**
     * mmap(2) of a served file: the file's f_op->mmap says which frames (or the errno); their bytes
     * move into a memfd the daemon maps too ({@link SharedFrames}), which the shim maps where the
     * client asked. The mapping holds the file's region until the client unmaps all of it or exits.
     */
    private long mmap() {
        long length = a(0);
        int prot = (int) a(1);
        int flags = (int) a(2);
        long offset = a(3);
        ServedFile f = fileOf(reqFd(), ino());
        if (f == null) {
            return -Errno.EBADF.value();
        }
        // What mmap(2) checks before the file's mmap runs.
        if (length == 0 || (offset & (PhysicalMemory.PAGE_SIZE - 1)) != 0) {
            return -Errno.EINVAL.value();
        }
        long len = (length + PhysicalMemory.PAGE_SIZE - 1) & -PhysicalMemory.PAGE_SIZE;
        if (len <= 0 || len > Integer.MAX_VALUE * (long) PhysicalMemory.PAGE_SIZE) {
            return -Errno.ENOMEM.value();
        }
        MmapRegion region;
        try {
            region = f.file.mmap(process, len, prot, flags, offset >>> PhysicalMemory.PAGE_SHIFT);
        } catch (IommufdException e) {
            return -e.errno().value();
        }
        long[] pfns = new long[region.pages()];
        for (int i = 0; i < pfns.length; i++) {
            pfns[i] = region.pfn(i);
        }
        long addr;
        try {
            SharedFrames.Region shared = server.sharedFrames().share(pfns);
            addr = mapFd(shared.memfd);
        } catch (IommufdException e) {
            addr = -e.errno().value();
        }
        if (addr < 0) {
            region.close();
            return addr;
        }
        mappings.add(addr, len, region::close);
        return addr;
    }

    /** Callback: the client maps the memfd as its pending mmap asked; the address or minus the errno. */
    private long mapFd(int memfd) {
        if (broken) {
            return -Errno.EIO.value();
        }
        try {
            send(Protocol.MAP_FD, 0, 0, 0, memfd);
            return awaitCallbackAnswer();
        } catch (ProtocolException e) {
            LOG.warning("uiommu: process " + pid + " did not map a memfd: " + e.getMessage());
            broken = true;
            return -Errno.EIO.value();
        }
    }

    /** The client closed an fd of a served file: if that was the last reference, release now. */
    private long closed() {
        fdCache.remove(reqFd());
        ServedFile f = server.registry().byIno(ino());
        if (f != null) {
            server.registry().releaseIfHungUp(f);
        }
        server.notifyCall(new CallListener.Call(CallListener.Kind.CLOSE, pid, reqFd(), ino(), f == null ? null : f.file.name(),
                0, 0, 0, null, null, 0, 0, null));
        return 0;
    }

    /** Callback: hand an fd to the client; its number there, or minus the errno. */
    long installFd(int passFd, boolean cloexec) {
        if (broken) {
            return -Errno.EIO.value();
        }
        try {
            send(Protocol.INSTALL_FD, cloexec ? Protocol.FLAG_CLOEXEC : 0, 0, 0, passFd);
            return awaitCallbackAnswer();
        } catch (ProtocolException e) {
            LOG.warning("uiommu: process " + pid + " did not take an fd: " + e.getMessage());
            broken = true;
            return -Errno.EIO.value();
        }
    }

    /** Callback: close an fd in the client (an ioctl that made a file failed after installing it). */
    void closeFd(int clientFd) {
        if (broken) {
            return;
        }
        try {
            send(Protocol.CLOSE_FD, 0, 0, clientFd, -1);
            awaitCallbackAnswer();
        } catch (ProtocolException e) {
            LOG.warning("uiommu: process " + pid + " did not close fd " + clientFd + ": " + e.getMessage());
            broken = true;
        }
    }

    private long awaitCallbackAnswer() throws ProtocolException {
        if (receive() == 0) {
            throw new ProtocolException("connection closed during a callback");
        }
        if (op() != Protocol.OP_CALLBACK) {
            throw new ProtocolException("expected a callback answer, got request " + op());
        }
        return a(0);
    }

    private void send(int kind, int flags, long result, long aux, int passFd) throws ProtocolException {
        reply.set(JAVA_INT, 0, kind);
        reply.set(JAVA_INT, 4, flags);
        reply.set(JAVA_LONG, 8, result);
        reply.set(JAVA_LONG, 16, aux);
        reply.set(JAVA_LONG, 24, 0);
        iov.set(JAVA_LONG, 0, reply.address());
        iov.set(JAVA_LONG, 8, Protocol.REPLY_SIZE);
        msghdr.fill((byte) 0);
        msghdr.set(JAVA_LONG, Native.MSG_IOV, iov.address());
        msghdr.set(JAVA_LONG, Native.MSG_IOVLEN, 1);
        if (passFd >= 0) {
            control.fill((byte) 0);
            control.set(JAVA_LONG, Native.CMSG_LEN, Native.CMSG_DATA + 4);
            control.set(JAVA_INT, Native.CMSG_LEVEL, Native.SOL_SOCKET);
            control.set(JAVA_INT, Native.CMSG_TYPE, Native.SCM_RIGHTS);
            control.set(JAVA_INT, Native.CMSG_DATA, passFd);
            msghdr.set(JAVA_LONG, Native.MSG_CONTROL, control.address());
            msghdr.set(JAVA_LONG, Native.MSG_CONTROLLEN, 24);
        }
        long n;
        do {
            n = Native.sendmsg(fd, msghdr, Native.MSG_NOSIGNAL);
        } while (n == -Native.EINTR);
        if (n != Protocol.REPLY_SIZE) {
            throw new ProtocolException("sendmsg: " + (n < 0 ? "errno " + -n : n + " bytes"));
        }
    }

    /** Stops serving (daemon shutdown): the blocked receive returns end of stream. */
    synchronized void shutdown() {
        // Only while the fd is still ours: a closed number may already name someone else's socket.
        if (!fdClosed) {
            Native.shutdown(fd, 2);
        }
    }
}
