package io.uiommu.server;

import io.uiommu.mem.PageCounter;
import io.uiommu.uapi.DevIommu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The uiommu daemon: /dev/iommu for real processes. It listens on a Unix socket (SOCK_SEQPACKET,
 * mode 0600) where each client process (the LD_PRELOAD shim in it) keeps one control connection;
 * every open of /dev/iommu is one iommufd context behind a real fd of the client (a socketpair end),
 * so dup, fork, fd passing and the last close follow the kernel's file semantics. Only processes of
 * the daemon's own user (or root) are served, each only with its own memory.
 *
 * <pre>{@code
 * try (UiommuServer server = UiommuServer.start(Path.of("/run/user/1000/uiommu.sock"), new DevIommu())) {
 *     // run clients with LD_PRELOAD=libuiommu-shim.so UIOMMU_SOCKET=/run/user/1000/uiommu.sock
 * }
 * }</pre>
 *
 * <p>Locking: connection threads serve their process; shared state is in concurrent maps,
 * {@link ClientFrames} and the contexts' own locks.
 */
public final class UiommuServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(UiommuServer.class.getName());

    /** The environment variable that tells the shim where the daemon listens. */
    public static final String SOCKET_ENV = "UIOMMU_SOCKET";

    private final Path socketPath;
    private final DevIommu devIommu;
    private final int listenFd;
    private final int ownUid;
    private final FileRegistry registry = new FileRegistry();
    private final ClientFrames frames;
    private final SharedFrames sharedFrames;
    private final ConcurrentHashMap<Integer, PageCounter> userLockedVm = new ConcurrentHashMap<>();
    private final Set<ClientConnection> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile CallListener listener;
    private volatile boolean closed;

    private UiommuServer(Path socketPath, DevIommu devIommu, int listenFd) {
        this.socketPath = socketPath;
        this.devIommu = devIommu;
        this.listenFd = listenFd;
        this.ownUid = Native.getuid();
        this.frames = new ClientFrames(devIommu.physical());
        this.sharedFrames = new SharedFrames(devIommu.physical());
        this.acceptor = Thread.ofPlatform().daemon().name("uiommu-accept").unstarted(this::acceptLoop);
    }

    /** Listens on {@code socketPath} (replacing a stale socket there) and serves {@code devIommu}. */
    public static UiommuServer start(Path socketPath, DevIommu devIommu) throws IOException {
        Path abs = socketPath.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        // Bind under a temporary name, restrict it, then rename: the socket is never reachable as 0777.
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp" + ProcessHandle.current().pid());
        Files.deleteIfExists(tmp);
        int fd = Native.socket(Native.AF_UNIX, Native.SOCK_SEQPACKET | Native.SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw new IOException("socket: errno " + -fd);
        }
        int r;
        if ((r = Native.setsockoptInt(fd, Native.SOL_SOCKET, Native.SO_PASSCRED, 1)) < 0
                || (r = Native.bind(fd, tmp.toString())) < 0 || (r = Native.chmod(tmp.toString(), 0600)) < 0
                || (r = Native.listen(fd, 128)) < 0) {
            Native.close(fd);
            Files.deleteIfExists(tmp);
            throw new IOException("cannot listen on " + abs + ": errno " + -r);
        }
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        UiommuServer server = new UiommuServer(abs, devIommu, fd);
        server.acceptor.start();
        return server;
    }

    public Path socketPath() {
        return socketPath;
    }

    public DevIommu devIommu() {
        return devIommu;
    }

    /** Sets (or clears, with null) the listener told about every served call. */
    public void setCallListener(CallListener listener) {
        this.listener = listener;
    }

    CallListener listener() {
        return listener;
    }

    void notifyCall(CallListener.Call call) {
        CallListener l = listener;
        if (l != null) {
            try {
                l.served(call);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "uiommu: call listener failed", e);
            }
        }
    }

    /** Client processes connected now. */
    public int connectionCount() {
        return connections.size();
    }

    /** Files (iommufd, fault, access fds) some client still holds. */
    public int openFileCount() {
        return registry.size();
    }

    /** Client pages pinned now (each frame of a page still in a client process). */
    public long pinnedClientPages() {
        return frames.pinnedFrames();
    }

    /** The connected client process with this pid, or null (for tests). */
    ClientProcess process(int pid) {
        for (ClientConnection c : connections) {
            if (c.pid == pid) {
                return c.process();
            }
        }
        return null;
    }

    FileRegistry registry() {
        return registry;
    }

    ClientFrames frames() {
        return frames;
    }

    SharedFrames sharedFrames() {
        return sharedFrames;
    }

    PageCounter userLockedVm(int uid) {
        return userLockedVm.computeIfAbsent(uid, u -> new PageCounter());
    }

    private void acceptLoop() {
        int[] cred = new int[3];
        while (!closed) {
            int fd = Native.accept(listenFd);
            if (fd < 0) {
                if (closed) {
                    return;
                }
                if (fd == -Native.EINTR || fd == -Native.EAGAIN || fd == -103 /* ECONNABORTED */) {
                    continue;
                }
                LOG.severe("uiommu: accept failed: errno " + -fd);
                if (fd == -24 || fd == -23) { // EMFILE, ENFILE: wait for fds to free up
                    sleepQuietly();
                    continue;
                }
                return;
            }
            if (Native.peerCredentials(fd, cred) < 0) {
                Native.close(fd);
                continue;
            }
            int pid = cred[0];
            int uid = cred[1];
            if (uid != ownUid && uid != 0) {
                LOG.warning("uiommu: refusing process " + pid + " of uid " + uid);
                Native.close(fd);
                continue;
            }
            ClientConnection c = new ClientConnection(this, fd, pid, uid);
            connections.add(c);
            Thread.ofPlatform().daemon().name("uiommu-client-" + pid).start(c::serve);
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void connectionClosed(ClientConnection c) {
        connections.remove(c);
    }

    /** Stops listening, ends every connection and releases every file still open. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Native.shutdown(listenFd, 2);
        try {
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Native.close(listenFd);
        for (ClientConnection c : connections) {
            c.shutdown();
        }
        registry.close();
        sharedFrames.close();
        try {
            Files.deleteIfExists(socketPath);
        } catch (IOException e) {
            LOG.fine("uiommu: cannot remove " + socketPath + ": " + e);
        }
    }
}
