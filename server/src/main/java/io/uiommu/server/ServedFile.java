package io.uiommu.server;

import io.uiommu.proc.OpenFile;

/**
 * One open file served to clients (a struct file): the core's {@link OpenFile} and the daemon's end
 * of the socketpair whose other end is the client's fd. The kernel counts the client's references
 * (dups, forks, fds in flight); when the last goes, the daemon's end hangs up and the file is released.
 *
 * <p>Locking: immutable but for the release flag, which is set under this object's monitor by the
 * thread that releases; that thread holds the monitor until the release is complete.
 */
final class ServedFile {
    final OpenFile file;
    /** The daemon's end of the socketpair. */
    final int daemonFd;
    /** st_ino of the client's end: how a client fd is matched to this file. */
    final long ino;
    private volatile boolean released;

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
}
