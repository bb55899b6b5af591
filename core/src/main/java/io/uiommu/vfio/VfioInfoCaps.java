package io.uiommu.vfio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A capability chain of a VFIO INFO ioctl (struct vfio_info_cap): capabilities one after another,
 * each starting with struct vfio_info_cap_header {id, version, next} and padded to 8 bytes, where
 * {@code next} is the offset of the following one and 0 ends the chain. Offsets count from the
 * start of the chain while it is built and from the start of the info struct once shifted, as
 * vfio_info_cap_add and vfio_info_cap_shift do.
 *
 * <p>Locking: none; one ioctl builds and writes its own chain.
 */
final class VfioInfoCaps {
    private static final int HEADER_SIZE = 8;

    private byte[] buf = new byte[0];
    /** Where the last capability starts, or -1. */
    private int last = -1;

    /** Appends a capability whose body (after the header) is {@code body}. */
    void add(int id, int version, byte[] body) {
        int start = buf.length;
        int size = HEADER_SIZE + body.length + 7 & ~7;
        buf = Arrays.copyOf(buf, start + size);
        ByteBuffer b = ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(start, (short) id);
        b.putShort(start + 2, (short) version);
        System.arraycopy(body, 0, buf, start + HEADER_SIZE, body.length);
        if (last >= 0) {
            b.putInt(last + 4, start);
        }
        last = start;
    }

    /** Bytes of the whole chain. */
    int size() {
        return buf.length;
    }

    /** The chain placed {@code offset} bytes into the info struct: every non-zero next moved by it. */
    byte[] shifted(int offset) {
        byte[] out = buf.clone();
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; at < out.length; ) {
            int next = b.getInt(at + 4);
            if (next == 0) {
                break;
            }
            b.putInt(at + 4, next + offset);
            at = next;
        }
        return out;
    }
}
