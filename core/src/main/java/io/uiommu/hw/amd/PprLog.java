package io.uiommu.hw.amd;

import io.uiommu.mem.PhysicalMemory;

/**
 * The hardware side of the PPR log: a ring of 16-byte peripheral page requests at the PPR Log Base
 * register's address (base [51:12], PPRLogLen [59:56]: 2^len entries), written at the tail the
 * hardware owns and consumed up to the head software writes. A full ring sets PPROverflow and
 * the request is lost; while PPROverflow is set nothing is logged (software restarts the log by
 * clearing it and toggling PPRLogEn).
 *
 * <p>Locking: guarded by the owning {@link AmdViHardware}'s monitor.
 */
final class PprLog {
    private final PhysicalMemory memory;
    private long reg;
    private long base;
    private int sizeBytes;
    private int head;
    private int tail;
    private boolean overflow;
    private long written;
    private long lost;

    PprLog(PhysicalMemory memory) {
        this.memory = memory;
    }

    long reg() {
        return reg;
    }

    /** Programs the base register; resets head and tail. */
    void setBase(long value) {
        reg = value & 0x0f0f_ffff_ffff_f000L;
        base = value & 0x000f_ffff_ffff_f000L;
        int len = (int) (value >>> 56 & 0xf);
        sizeBytes = len < 8 ? 0 : PprLogEntry.SIZE << len;
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

    /** Appends an entry; false when it was lost (log not programmed, overflowed, or full: then overflow). */
    boolean append(long q0, long q1) {
        if (sizeBytes == 0 || overflow) {
            lost++;
            return false;
        }
        if ((tail + PprLogEntry.SIZE) % sizeBytes == head) {
            overflow = true;
            lost++;
            return false;
        }
        memory.writeLong(base + tail, q0);
        memory.writeLong(base + tail + 8, q1);
        tail = (tail + PprLogEntry.SIZE) % sizeBytes;
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
