package io.uiommu.server;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Copies between the daemon and a client's address space with process_vm_readv/writev (the kernel
 * checks that the daemon may access that process, as ptrace would). Each thread has its own native
 * staging buffer and iovecs, so copies do not allocate.
 *
 * <p>Locking: thread-confined scratch; no shared state.
 */
final class RemoteIo {
    static final int PAGE_SIZE = 4096;
    private static final int STAGE = 64 * 1024;
    /** IOV_MAX: the most remote iovecs one call takes. */
    private static final int MAX_IOV = 1024;

    private final MemorySegment stage;
    private final MemorySegment localIov;
    private final MemorySegment remoteIov;

    private static final ThreadLocal<RemoteIo> SCRATCH = ThreadLocal.withInitial(RemoteIo::new);

    /** Most bytes of the struct an ioctl's arg points to that the shim sends along with the request. */
    static final int WINDOW_MAX = 128;
    /**
     * The caller's bytes at its ioctl arg, sent with the request: reads of the struct are served from
     * here instead of the caller's memory (the same bytes, read at the same moment, one copy fewer).
     */
    private final byte[] window = new byte[WINDOW_MAX];
    private int windowPid = -1;
    private long windowVa;
    private int windowLen;

    private RemoteIo() {
        Arena arena = Arena.ofAuto();
        stage = arena.allocate(STAGE, 4096);
        localIov = arena.allocate(16);
        remoteIov = arena.allocate(16L * MAX_IOV);
    }

    static RemoteIo current() {
        return SCRATCH.get();
    }

    /** Serves reads of [va, va + len) of pid from these bytes until {@link #clearWindow()}. */
    void setWindow(int pid, long va, MemorySegment src, long srcOffset, int len) {
        MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOffset, window, 0, len);
        windowPid = pid;
        windowVa = va;
        windowLen = len;
    }

    void clearWindow() {
        windowPid = -1;
        windowLen = 0;
    }

    /** A read of the calling process's memory: from the window when it holds the bytes. */
    boolean readUser(int pid, long va, byte[] dst, int off, int len) {
        if (pid == windowPid && va - windowVa >= 0 && len <= windowLen && va - windowVa <= windowLen - len) {
            System.arraycopy(window, (int) (va - windowVa), dst, off, len);
            return true;
        }
        return read(pid, va, dst, off, len);
    }

    /** A write of the calling process's memory; the window keeps up with it. */
    boolean writeUser(int pid, long va, byte[] src, int off, int len) {
        if (pid == windowPid && va < windowVa + windowLen && windowVa < va + len) {
            long from = Math.max(va, windowVa);
            long to = Math.min(va + len, windowVa + windowLen);
            System.arraycopy(src, off + (int) (from - va), window, (int) (from - windowVa), (int) (to - from));
        }
        return write(pid, va, src, off, len);
    }

    /** Reads len bytes at va of pid into dst; false if any byte could not be read. */
    boolean read(int pid, long va, byte[] dst, int off, int len) {
        while (len > 0) {
            int n = Math.min(len, STAGE);
            if (!transfer(pid, va, n, false)) {
                return false;
            }
            MemorySegment.copy(stage, ValueLayout.JAVA_BYTE, 0, dst, off, n);
            va += n;
            off += n;
            len -= n;
        }
        return true;
    }

    /** Writes len bytes from src to va of pid; false if any byte could not be written. */
    boolean write(int pid, long va, byte[] src, int off, int len) {
        while (len > 0) {
            int n = Math.min(len, STAGE);
            MemorySegment.copy(src, off, stage, ValueLayout.JAVA_BYTE, 0, n);
            if (!transfer(pid, va, n, true)) {
                return false;
            }
            va += n;
            off += n;
            len -= n;
        }
        return true;
    }

    private boolean transfer(int pid, long va, int n, boolean toClient) {
        localIov.set(ValueLayout.JAVA_LONG, 0, stage.address());
        localIov.set(ValueLayout.JAVA_LONG, 8, n);
        remoteIov.set(ValueLayout.JAVA_LONG, 0, va);
        remoteIov.set(ValueLayout.JAVA_LONG, 8, n);
        long r = toClient ? Native.processVmWritev(pid, localIov, 1, remoteIov, 1)
                : Native.processVmReadv(pid, localIov, 1, remoteIov, 1);
        return r == n;
    }

    /**
     * How many of the {@code pages} pages from the page-aligned va can be read, counted from the
     * first (one byte of each is read: an unmapped page ends the count).
     */
    long readablePages(int pid, long va, long pages) {
        long done = 0;
        while (done < pages) {
            int n = (int) Math.min(pages - done, Math.min(MAX_IOV, STAGE));
            localIov.set(ValueLayout.JAVA_LONG, 0, stage.address());
            localIov.set(ValueLayout.JAVA_LONG, 8, n);
            for (int i = 0; i < n; i++) {
                remoteIov.set(ValueLayout.JAVA_LONG, 16L * i, va + (done + i) * PAGE_SIZE);
                remoteIov.set(ValueLayout.JAVA_LONG, 16L * i + 8, 1);
            }
            long r = Native.processVmReadv(pid, localIov, 1, remoteIov, n);
            if (r < 0) {
                return done;
            }
            done += r;
            if (r < n) {
                return done;
            }
        }
        return done;
    }
}
