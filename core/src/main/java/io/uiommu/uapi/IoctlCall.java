package io.uiommu.uapi;

import io.uiommu.iommufd.Errno;
import io.uiommu.proc.SimulatedProcess;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One ioctl for Java callers, built by the kernel's field names: the struct is laid out in the
 * calling process's memory, passed by pointer exactly as a C program passes it, and read back.
 *
 * <pre>{@code
 * IoctlCall map = IoctlCall.of(Ioctl.IOMMU_IOAS_MAP)
 *         .set("flags", READABLE | WRITEABLE).set("ioas_id", ioas)
 *         .set("user_va", va).set("length", len);
 * Errno err = map.invoke(process, fd);   // null on success
 * long iova = map.get("iova");
 * }</pre>
 */
public final class IoctlCall {
    private final Ioctl ioctl;
    private final ByteBuffer bytes;
    private long result;

    private IoctlCall(Ioctl ioctl) {
        this.ioctl = ioctl;
        this.bytes = ByteBuffer.allocate(ioctl.struct().size()).order(ByteOrder.LITTLE_ENDIAN);
        // VFIO structs have a "size" field of their own: argsz is their length field.
        if (ioctl.struct().hasField("argsz")) {
            set("argsz", ioctl.struct().size());
        } else if (ioctl.struct().hasField("size")) {
            set("size", ioctl.struct().size());
        }
    }

    public static IoctlCall of(Ioctl ioctl) {
        if (ioctl.struct() == null) {
            throw new IllegalArgumentException(ioctl + " takes an integer argument");
        }
        return new IoctlCall(ioctl);
    }

    /** Sets a field (or one element of an array field with {@code name[i]}). */
    public IoctlCall set(String field, long value) {
        UapiStruct.Field f = ioctl.struct().field(field);
        int off = f.offset();
        switch (f.elementSize()) {
            case 1 -> bytes.put(off, (byte) value);
            case 2 -> bytes.putShort(off, (short) value);
            case 4 -> bytes.putInt(off, (int) value);
            default -> bytes.putLong(off, value);
        }
        return this;
    }

    /** A field as an unsigned value. */
    public long get(String field) {
        UapiStruct.Field f = ioctl.struct().field(field);
        int off = f.offset();
        return switch (f.elementSize()) {
            case 1 -> bytes.get(off) & 0xffL;
            case 2 -> bytes.getShort(off) & 0xffffL;
            case 4 -> bytes.getInt(off) & 0xffffffffL;
            default -> bytes.getLong(off);
        };
    }

    /** The ioctl's return value of the last successful invoke. */
    public long result() {
        return result;
    }

    /** Issues the ioctl on {@code fd} of {@code process}; returns null on success, else the errno. */
    public Errno invoke(SimulatedProcess process, int fd) {
        long va = process.mmap(bytes.capacity(), SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        try {
            process.write(va, bytes.array(), 0, bytes.capacity());
            long rc = process.ioctl(fd, ioctl.code(), va);
            process.read(va, bytes.array(), 0, bytes.capacity());
            if (rc < 0) {
                return Errno.of((int) -rc);
            }
            result = rc;
            return null;
        } finally {
            process.munmap(va, bytes.capacity());
        }
    }

    /** Like {@link #invoke} but throws when the kernel would have failed the call. */
    public IoctlCall call(SimulatedProcess process, int fd) {
        Errno e = invoke(process, fd);
        if (e != null) {
            throw new IllegalStateException(ioctl + " failed: " + e);
        }
        return this;
    }
}
