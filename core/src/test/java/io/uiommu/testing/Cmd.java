package io.uiommu.testing;

import io.uiommu.uapi.UapiStruct;

import java.util.Arrays;

/**
 * One instance of a uAPI struct as a C test program would hold it on its stack: little-endian bytes
 * laid out by a {@link UapiStruct}, set and read by the kernel's field names. A fresh instance is
 * zeroed and has {@code size} set to {@code sizeof(struct)}, as {@code struct x cmd = { .size =
 * sizeof(cmd) }} does. The byte array may be longer than the struct (trailing bytes for the
 * size-extension rules).
 */
public final class Cmd {
    private final UapiStruct struct;
    private byte[] bytes;

    private Cmd(UapiStruct struct, int length) {
        this.struct = struct;
        this.bytes = new byte[length];
    }

    /** A zeroed struct with {@code size} (or {@code argsz}) = sizeof(struct). */
    public static Cmd of(UapiStruct struct) {
        Cmd c = new Cmd(struct, struct.size());
        // VFIO structs lead with argsz (and may have a "size" field of their own)
        if (struct.hasField("argsz")) {
            c.set("argsz", struct.size());
        } else if (struct.hasField("size")) {
            c.set("size", struct.size());
        }
        return c;
    }

    /** A zeroed struct with no field set, of {@code length} bytes (at least the struct's size). */
    public static Cmd zeroed(UapiStruct struct, int length) {
        return new Cmd(struct, Math.max(length, struct.size()));
    }

    public UapiStruct struct() {
        return struct;
    }

    /** The bytes as they will be copied to (and back from) user memory. */
    public byte[] bytes() {
        return bytes;
    }

    public int length() {
        return bytes.length;
    }

    /** Grows or shrinks the user-visible buffer (new bytes are zero). */
    public Cmd length(int newLength) {
        bytes = Arrays.copyOf(bytes, newLength);
        return this;
    }

    /** Sets a field, truncated to its width (u8/u16/u32/u64). */
    public Cmd set(String field, long value) {
        UapiStruct.Field f = struct.field(field);
        putLe(bytes, f.offset(), f.elementSize(), value);
        return this;
    }

    /** Sets element {@code index} of an array field. */
    public Cmd set(String field, int index, long value) {
        UapiStruct.Field f = struct.field(field);
        if (index < 0 || index >= f.count()) {
            throw new IndexOutOfBoundsException(field + "[" + index + "]");
        }
        putLe(bytes, f.offset() + index * f.elementSize(), f.elementSize(), value);
        return this;
    }

    /** A field's value, zero-extended to 64 bits. */
    public long get(String field) {
        UapiStruct.Field f = struct.field(field);
        return getLe(bytes, f.offset(), f.elementSize());
    }

    /** A u32 field as a Java int (same bits). */
    public int u32(String field) {
        return (int) get(field);
    }

    public long u64(String field) {
        return get(field);
    }

    /** Writes a raw byte at an absolute offset (for trailing-byte tests). */
    public Cmd setByte(int offset, int value) {
        bytes[offset] = (byte) value;
        return this;
    }

    public int getByte(int offset) {
        return bytes[offset] & 0xff;
    }

    /** The union member of struct iommu_test_cmd that its op uses (for messages). */
    private String unionMember() {
        if (!struct.name().equals("iommu_test_cmd") || bytes.length < 8) {
            return null;
        }
        String[] byOp = {null, "add_reserved", "mock_domain", "check_map", "check_refs", "create_access",
            "destroy_access_pages", "access_pages", "access_rw", "memory_limit", "mock_domain_replace",
            "access_replace_ioas", "mock_domain_flags", "dirty", "check_iotlb", "trigger_iopf"};
        int op = (int) getLe(bytes, 4, 4);
        return op > 0 && op < byOp.length ? byOp[op] : null;
    }

    public static void putLe(byte[] b, int off, int width, long value) {
        for (int i = 0; i < width; i++) {
            b[off + i] = (byte) (value >>> (8 * i));
        }
    }

    static long getLe(byte[] b, int off, int width) {
        long v = 0;
        for (int i = 0; i < width; i++) {
            v |= (b[off + i] & 0xffL) << (8 * i);
        }
        return v;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(struct.name()).append('{');
        boolean first = true;
        String member = unionMember();
        for (UapiStruct.Field f : struct.fields().values()) {
            if (f.end() > bytes.length || f.isArray()) {
                continue;
            }
            int dot = f.name().indexOf('.');
            if (dot > 0 && !f.name().substring(0, dot).equals(member)) {
                continue;
            }
            long v = getLe(bytes, f.offset(), f.elementSize());
            if (v == 0 && !f.name().equals("size")) {
                continue;
            }
            sb.append(first ? "" : ", ").append(f.name()).append("=0x").append(Long.toHexString(v));
            first = false;
        }
        return sb.append('}').toString();
    }
}
