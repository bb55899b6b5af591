package io.uiommu.server;

import io.uiommu.proc.OpenFile;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One open file served to clients (a struct file): the core's {@link OpenFile} and the daemon's end
 * of the socketpair whose other end is the client's fd. The kernel counts the client's references
 * (dups, forks, fds in flight); when the last goes, the daemon's end hangs up and the file is released.
 *
 * <p>Locking: immutable but for the release flag, which is atomic.
 */
final class ServedFile {
    final OpenFile file;
    /** The daemon's end of the socketpair. */
    final int daemonFd;
    /** st_ino of the client's end: how a client fd is matched to this file. */
    final long ino;
    private final AtomicBoolean released = new AtomicBoolean();

    ServedFile(OpenFile file, int daemonFd, long ino) {
        this.file = file;
        this.daemonFd = daemonFd;
        this.ino = ino;
    }

    /** True once, for the caller that must drop the file's reference. */
    boolean markReleased() {
        return released.compareAndSet(false, true);
    }

    boolean released() {
        return released.get();
    }
}
