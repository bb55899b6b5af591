package io.uiommu.server;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.proc.FdTable;
import io.uiommu.proc.OpenFile;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * A client process's real fd table as the core sees it. Installing a file makes a socketpair, keeps
 * one end in the daemon and hands the other to the client (the shim answers with the fd number it
 * got, which is what the ioctl reports); an fd number the client passes inside a struct is resolved
 * through /proc/PID/fd to the socket's inode, so only files the process really holds are found.
 *
 * <p>Locking: used by the connection thread of its process only (the calls it serves).
 */
final class ClientFdTable extends FdTable {
    private final ClientConnection connection;
    private final FileRegistry registry;
    private final int pid;
    /** Close-on-exec for the next installed file (open(2) honours O_CLOEXEC; anon files always have it). */
    private boolean nextCloexec = true;

    ClientFdTable(ClientConnection connection, FileRegistry registry, int pid) {
        this.connection = connection;
        this.registry = registry;
        this.pid = pid;
    }

    void setNextCloexec(boolean cloexec) {
        this.nextCloexec = cloexec;
    }

    @Override
    public int install(OpenFile file) {
        boolean cloexec = nextCloexec;
        nextCloexec = true;
        int[] ends = new int[2];
        int r = Native.socketpair(Native.SOCK_SEQPACKET | Native.SOCK_CLOEXEC, ends);
        if (r < 0) {
            file.put();
            throw new IommufdException(Errno.ENFILE, "socketpair: errno " + -r);
        }
        long ino = Native.inode(ends[1]);
        ServedFile served = registry.add(file, ends[0], ino);
        long fd;
        try {
            fd = connection.installFd(ends[1], cloexec);
        } finally {
            Native.close(ends[1]);
        }
        if (fd < 0) {
            registry.release(served);
            throw new IommufdException(Errno.EMFILE, "the client could not take the fd: errno " + -fd);
        }
        return (int) fd;
    }

    @Override
    public OpenFile get(int fd) {
        ServedFile f = resolve(fd);
        if (f == null) {
            throw new IommufdException(Errno.EBADF, "fd " + fd + " of process " + pid + " is not a uiommu file");
        }
        return f.file;
    }

    @Override
    public void close(int fd) {
        ServedFile f = resolve(fd);
        if (f == null) {
            throw new IommufdException(Errno.EBADF, "bad fd " + fd);
        }
        connection.closeFd(fd);
        registry.releaseIfHungUp(f);
    }

    @Override
    public int dup(int fd) {
        throw new UnsupportedOperationException("a client dups its own fds");
    }

    /** The served file behind the client's fd, by what the kernel says the fd is; null if none. */
    ServedFile resolve(int fd) {
        if (fd < 0) {
            return null;
        }
        long ino = socketInode(pid, fd);
        ServedFile f = ino < 0 ? null : registry.byIno(ino);
        return f == null || f.released() ? null : f;
    }

    /** The inode of the socket fd of pid, from the /proc/PID/fd link ("socket:[INO]"); -1 if not a socket. */
    static long socketInode(int pid, int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment path = a.allocateFrom("/proc/" + pid + "/fd/" + fd);
            MemorySegment buf = a.allocate(64);
            long n = Native.readlink(path, buf);
            if (n <= 0) {
                return -1;
            }
            byte[] b = buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            String link = new String(b, StandardCharsets.US_ASCII);
            if (!link.startsWith("socket:[") || !link.endsWith("]")) {
                return -1;
            }
            try {
                return Long.parseLong(link, 8, link.length() - 1, 10);
            } catch (NumberFormatException e) {
                return -1;
            }
        }
    }
}
