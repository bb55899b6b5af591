package io.uiommu.hw.amd;

import io.uiommu.mem.PhysicalMemory;

/**
 * The hardware side of an AMD-Vi log in memory (the event log and the PPR log): a ring of 16-byte
 * entries at its base register's address (base [51:12], length [59:56]: 2^len entries, fewer than
 * 256 is not a log), written at the tail the hardware owns and consumed up to the head software
 * writes. A full ring sets the log's overflow bit and drops the entry. The PPR log also stops while
 * its overflow bit is set (software restarts it by clearing the bit); the event log goes on as soon
 * as there is room.
 *
 * <p>Locking: guarded by the owning {@link AmdViHardware}'s monitor.
 */
final class LogRing {
    static final int ENTRY_BYTES = 16;

    private final PhysicalMemory memory;
    private final boolean stopsWhileOverflowed;
    private long reg;
    private long base;
    private int sizeBytes;
    private int head;
    private int tail;
    private boolean overflow;
    private long written;
    private long lost;

    LogRing(PhysicalMemory memory, boolean stopsWhileOverflowed) {
        this.memory = memory;
        this.stopsWhileOverflowed = stopsWhileOverflowed;
    }

    /** The base register as software reads it back. */
    long reg() {
        return reg;
    }

    /** Programs the base register; resets head and tail. */
    void setBase(long value) {
        reg = value & 0x0f0f_ffff_ffff_f000L;
        base = value & 0x000f_ffff_ffff_f000L;
        int len = (int) (value >>> 56 & 0xf);
        sizeBytes = len < 8 ? 0 : ENTRY_BYTES << len;
        head = 0;
        tail = 0;
    }

    void setHead(long value) {
        if (sizeBytes != 0) {
            head = (int) (value & 0x7fff0) % sizeBytes;
        }
    }

    void setTail(long value) {
        if (sizeBytes != 0) {
            tail = (int) (value & 0x7fff0) % sizeBytes;
        }
    }

    int head() {
        return head;
    }

    int tail() {
        return tail;
    }

    boolean overflow() {
        return overflow;
    }

    void clearOverflow() {
        overflow = false;
    }

    /** Appends an entry; false when it was lost (log not programmed, stopped, or full: then overflow). */
    boolean append(long q0, long q1) {
        if (sizeBytes == 0 || overflow && stopsWhileOverflowed) {
            // Only the event log reports a write to no log as an overflow.
            overflow |= !stopsWhileOverflowed;
            lost++;
            return false;
        }
        if ((tail + ENTRY_BYTES) % sizeBytes == head) {
            overflow = true;
            lost++;
            return false;
        }
        memory.writeLong(base + tail, q0);
        memory.writeLong(base + tail + 8, q1);
        tail = (tail + ENTRY_BYTES) % sizeBytes;
        written++;
        return true;
    }

    long written() {
        return written;
    }

    long lost() {
        return lost;
    }
}
