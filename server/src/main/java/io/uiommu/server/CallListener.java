package io.uiommu.server;

import io.uiommu.mem.UserMemory;
import io.uiommu.uapi.Ioctl;

/**
 * Told about every call the daemon serves (for recording a client as a scenario, tracing, tests).
 * Called on the serving thread after the call, outside any lock; it must not block for long.
 */
@FunctionalInterface
public interface CallListener {
    enum Kind { OPEN, IOCTL, READ, WRITE, CLOSE }

    /**
     * User memory the call touched, in order: bytes read or written (the ioctl struct itself
     * included), and page ranges pinned or looked up, with the process whose memory it is (a mapping
     * made by a forked child is pinned from the child).
     */
    record Touch(TouchKind kind, int pid, long va, byte[] bytes, long length) {
    }

    enum TouchKind { READ, WRITE, PIN }

    /**
     * One served call. For an ioctl, {@code argBefore}/{@code argAfter} are the struct bytes at
     * {@code arg} before and after (the length the kernel's struct has, null when the argument is
     * not a struct or could not be read); {@code fd} is the client's fd number, {@code result} the
     * return value or minus the errno. For read and write, {@code arg} is the buffer and {@code count}
     * the byte count asked for. {@code fileId} names the open file (the same for every fd of it, in
     * every process), 0 when unknown.
     */
    record Call(Kind kind, int pid, int fd, long fileId, String file, int request, long arg, long count, byte[] argBefore,
            byte[] argAfter, long result, long startNanos, java.util.List<Touch> touches) {
        public Call {
            touches = touches == null ? java.util.List.of() : java.util.List.copyOf(touches);
        }
    }

    void served(Call call);

    /** The struct an ioctl's arg points to, as many bytes as the kernel's struct has; null if none. */
    static byte[] argBytes(UserMemory memory, int request, long arg) {
        Ioctl op = Ioctl.ofCode(request);
        if (op == null || op.struct() == null || arg == 0) {
            return null;
        }
        byte[] b = new byte[op.struct().size()];
        try {
            memory.read(arg, b, 0, b.length);
            return b;
        } catch (RuntimeException e) {
            return null;
        }
    }
}
