package io.uiommu.server;

import io.uiommu.proc.EventSignal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An eventfd of a client process, held by the daemon as the kernel holds an eventfd_ctx: a
 * duplicate of the client's file taken with pidfd_getfd, so it stays valid after the client closes
 * its fd. Signalling writes the count to it, which wakes the client's poll/read on its own fd.
 *
 * <p>Locking: this object's monitor guards the fd and the native buffers (signal from any thread).
 */
final class ClientEventfd implements EventSignal {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment value = arena.allocate(8, 8);
    private final MemorySegment pollfd = arena.allocate(8, 8);
    private int fd;

    ClientEventfd(int fd) {
        this.fd = fd;
    }

    @Override
    public synchronized void signal(long n) {
        if (fd < 0 || n <= 0) {
            return;
        }
        // eventfd_signal never blocks: a counter that cannot take more is left as it is (it is
        // readable anyway), where write(2) would wait for a reader. The file is the client's too,
        // so it cannot be made non-blocking; a zero-timeout poll asks instead.
        pollfd.set(ValueLayout.JAVA_INT, 0, fd);
        pollfd.set(ValueLayout.JAVA_SHORT, 4, Native.POLLOUT);
        pollfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
        if (Native.poll(pollfd, 1, 0) != 1 || (pollfd.get(ValueLayout.JAVA_SHORT, 6) & Native.POLLOUT) == 0) {
            return;
        }
        value.set(ValueLayout.JAVA_LONG, 0, n);
        Native.write(fd, value, 8);
    }

    @Override
    public synchronized void release() {
        if (fd >= 0) {
            Native.close(fd);
            fd = -1;
            arena.close();
        }
    }
}
