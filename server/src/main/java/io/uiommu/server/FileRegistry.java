package io.uiommu.server;

import io.uiommu.proc.OpenFile;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The files the daemon serves, by the inode of their client end, and the thread that watches their
 * daemon ends for hang-up: a client that closes its last fd of a file (or dies) releases it even if
 * it never says so. A close the shim reports is checked at once ({@link #releaseIfHungUp}), so the
 * release has happened when close() returns in the client.
 *
 * <p>Locking: the map is concurrent; daemon fds are closed only by the watcher thread, after release,
 * so a number is never reused while it is still being polled.
 */
final class FileRegistry implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(FileRegistry.class.getName());

    private final ConcurrentHashMap<Long, ServedFile> byIno = new ConcurrentHashMap<>();
    private final List<Integer> toClose = new ArrayList<>();
    private final int wakeFd;
    private final Thread watcher;
    private volatile boolean closing;

    FileRegistry() {
        wakeFd = Native.eventfd(0, Native.EFD_CLOEXEC);
        if (wakeFd < 0) {
            throw new IllegalStateException("eventfd: errno " + -wakeFd);
        }
        watcher = Thread.ofPlatform().daemon().name("uiommu-hangup").start(this::watch);
    }

    /** Registers a file whose client end has inode {@code ino}; the registry owns {@code daemonFd}. */
    ServedFile add(OpenFile file, int daemonFd, long ino) {
        ServedFile f = new ServedFile(file, daemonFd, ino);
        byIno.put(ino, f);
        file.setReadinessListener(f::readinessChanged);
        f.readinessChanged();
        wake();
        return f;
    }

    ServedFile byIno(long ino) {
        return byIno.get(ino);
    }

    int size() {
        return byIno.size();
    }

    /**
     * Releases the file if no client holds its other end any more; true if it is released. When
     * another thread is releasing it, waits until that release is complete (a close() must not
     * return while the context still holds pins).
     */
    boolean releaseIfHungUp(ServedFile f) {
        synchronized (f) {
            if (f.released()) {
                return true;
            }
            int ev = Native.pollNow(f.daemonFd, (short) 0);
            if (ev >= 0 && (ev & (Native.POLLHUP | Native.POLLNVAL)) != 0) {
                release(f);
                return true;
            }
            return false;
        }
    }

    /** Releases every file whose clients are all gone (a process died: its files go before its pages). */
    void releaseHungUp() {
        for (ServedFile f : byIno.values()) {
            releaseIfHungUp(f);
        }
    }

    /** Drops the daemon's reference to the file (the kernel's last fput): once. */
    void release(ServedFile f) {
        synchronized (f) {
            if (!f.markReleased()) {
                return;
            }
            f.file.setReadinessListener(null);
            f.closeTokens();
            try {
                f.file.put();
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, "uiommu bug releasing " + f.file.name(), e);
            } finally {
                // Only now: a close() racing this release finds the file and waits on its monitor.
                byIno.remove(f.ino, f);
            }
        }
        synchronized (toClose) {
            toClose.add(f.daemonFd);
        }
        wake();
    }

    private void wake() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(8);
            one.set(ValueLayout.JAVA_LONG, 0, 1);
            Native.write(wakeFd, one, 8);
        }
    }

    private void watch() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment scratch = a.allocate(64);
            MemorySegment pollfds = a.allocate(8L * 64);
            int capacity = 64;
            List<ServedFile> polled = new ArrayList<>();
            while (!closing) {
                synchronized (toClose) {
                    for (int fd : toClose) {
                        Native.close(fd);
                    }
                    toClose.clear();
                }
                polled.clear();
                for (ServedFile f : byIno.values()) {
                    if (!f.released()) {
                        polled.add(f);
                    }
                }
                if (polled.size() + 1 > capacity) {
                    capacity = Math.max(capacity * 2, polled.size() + 1);
                    pollfds = a.allocate(8L * capacity);
                }
                pollfds.set(ValueLayout.JAVA_INT, 0, wakeFd);
                pollfds.set(ValueLayout.JAVA_INT, 4, Native.POLLIN);
                for (int i = 0; i < polled.size(); i++) {
                    pollfds.set(ValueLayout.JAVA_INT, 8L * (i + 1), polled.get(i).daemonFd);
                    pollfds.set(ValueLayout.JAVA_INT, 8L * (i + 1) + 4, Native.POLLIN);
                }
                int n = Native.poll(pollfds, polled.size() + 1, -1);
                if (n < 0) {
                    continue;
                }
                if ((pollfds.get(ValueLayout.JAVA_SHORT, 6) & Native.POLLIN) != 0) {
                    Native.read(wakeFd, scratch, 8);
                }
                for (int i = 0; i < polled.size(); i++) {
                    int rev = pollfds.get(ValueLayout.JAVA_SHORT, 8L * (i + 1) + 6) & 0xffff;
                    ServedFile f = polled.get(i);
                    if ((rev & (Native.POLLHUP | Native.POLLNVAL)) != 0) {
                        release(f);
                    } else if ((rev & Native.POLLIN) != 0) {
                        // Nothing is meant to arrive from a client end: drop what a client wrote.
                        Native.read(f.daemonFd, scratch, scratch.byteSize());
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "uiommu hang-up watcher died", e);
        }
    }

    /** Releases every file (daemon shutdown) and stops the watcher. */
    @Override
    public void close() {
        for (ServedFile f : List.copyOf(byIno.values())) {
            release(f);
        }
        closing = true;
        wake();
        try {
            watcher.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (toClose) {
            for (int fd : toClose) {
                Native.close(fd);
            }
            toClose.clear();
        }
        Native.close(wakeFd);
    }
}
