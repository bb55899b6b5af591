package io.uiommu.server;

import io.uiommu.proc.OpenFile;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One open file served to clients (a struct file): the core's {@link OpenFile} and the daemon's end
 * of the socketpair whose other end is the client's fd. The kernel counts the client's references
 * (dups, forks, fds in flight); when the last goes, the daemon's end hangs up and the file is released.
 *
 * <p>Readiness: while the file's poll says POLLIN, one token packet waits in the client end's receive
 * queue, so poll/select/epoll on the client's fd see it readable. The daemon can only add packets to
 * that queue; the shim removes them, as many as a READ or WRITE reply tells it to (the drains owed).
 *
 * <p>Locking: immutable but for the release flag, which is set under this object's monitor by the
 * thread that releases (held until the release is complete), and the token state, guarded by
 * {@code tokenLock}, a leaf lock (the file's poll is asked outside it).
 */
final class ServedFile {
    /**
     * Whether a file class has a poll of its own. Files without one (/dev/iommu, access fds) get no
     * token: the kernel would call them readable (DEFAULT_POLLMASK), which no client waits for.
     */
    private static final ClassValue<Boolean> POLLS = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> c) {
            try {
                return c.getMethod("poll", io.uiommu.proc.UserProcess.class).getDeclaringClass() != OpenFile.class;
            } catch (NoSuchMethodException e) {
                return false;
            }
        }
    };

    /** The token's byte (what it says does not matter; the shim never reads it into a caller's buffer). */
    private static final MemorySegment TOKEN = Arena.global().allocate(1);

    final OpenFile file;
    /** The daemon's end of the socketpair. */
    final int daemonFd;
    /** st_ino of the client's end: how a client fd is matched to this file. */
    final long ino;
    private volatile boolean released;

    private final Object tokenLock = new Object();
    /** Tokens queued on the client end that the shim has not been told to drain. */
    private int tokens;
    /** Tokens to drain, told to the shim in the next READ/WRITE reply on this file. */
    private int drainsOwed;
    /** The daemon's end is about to be closed: no more sends (its number may be reused). */
    private boolean tokensClosed;
    /** Readiness notices not yet reconciled; the thread that takes it from 0 reconciles for all. */
    private final AtomicInteger notices = new AtomicInteger();

    ServedFile(OpenFile file, int daemonFd, long ino) {
        this.file = file;
        this.daemonFd = daemonFd;
        this.ino = ino;
    }

    /** True once, for the caller that must drop the file's reference (call with the monitor held). */
    boolean markReleased() {
        if (released) {
            return false;
        }
        released = true;
        return true;
    }

    boolean released() {
        return released;
    }

    /**
     * The file's poll state may have changed: make the client end's token match it. Called from any
     * thread, possibly with the core's locks held (a fault arriving, a read emptying the queue): a
     * thread that finds another reconciling leaves the work to it, which asks poll once more.
     */
    void readinessChanged() {
        if (!POLLS.get(file.getClass())) {
            return;
        }
        if (notices.getAndIncrement() != 0) {
            return;
        }
        int seen;
        do {
            seen = notices.get();
            boolean readable = (file.poll(null) & OpenFile.POLLIN) != 0;
            synchronized (tokenLock) {
                if (tokensClosed) {
                    notices.set(0);
                    return;
                }
                if (readable && tokens == 0) {
                    if (Native.send(daemonFd, TOKEN, 1, Native.MSG_DONTWAIT | Native.MSG_NOSIGNAL) == 1) {
                        tokens = 1;
                    }
                } else if (!readable && tokens > 0) {
                    tokens--;
                    drainsOwed++;
                }
            }
        } while (!notices.compareAndSet(seen, 0));
    }

    /** The tokens the shim is to drain now (it does so after this reply). */
    int takeDrains() {
        synchronized (tokenLock) {
            int d = drainsOwed;
            drainsOwed = 0;
            return d;
        }
    }

    /** The file is released: the daemon's end will be closed, nothing may be sent on it any more. */
    void closeTokens() {
        synchronized (tokenLock) {
            tokensClosed = true;
        }
    }
}
