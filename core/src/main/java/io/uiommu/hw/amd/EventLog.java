package io.uiommu.hw.amd;

import io.uiommu.mem.PhysicalMemory;

/**
 * The hardware side of the event log: a ring of 16-byte records in memory at the Event Log Base
 * register's address, 2^EventLen entries, written at the tail the hardware owns and consumed up to
 * the head software writes. A full ring sets EventOverflow and drops the record.
 *
 * <p>Locking: guarded by the owning {@link AmdViHardware}'s monitor.
 */
final class EventLog {
    private final PhysicalMemory memory;
    private long base;
    private int sizeBytes;
    private int head;
    private int tail;
    private boolean overflow;
    private long written;

    EventLog(PhysicalMemory memory) {
        this.memory = memory;
    }

    /** Programs the base register (base [51:12], EventLen [59:56]); resets head and tail. */
    void setBase(long reg) {
        base = reg & 0x000f_ffff_ffff_f000L;
        int len = (int) (reg >>> 56 & 0xf);
        sizeBytes = len < 8 ? 0 : AmdEvent.SIZE << len;
        head = 0;
        tail = 0;
    }

    void setHead(long value) {
        if (sizeBytes != 0) {
            head = (int) (value & 0x7fff0) % sizeBytes;
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

    long written() {
        return written;
    }

    /** Appends a record; false (and overflow set) when the ring is full or not programmed. */
    boolean append(long q0, long q1) {
        if (sizeBytes == 0 || (tail + AmdEvent.SIZE) % sizeBytes == head) {
            overflow = true;
            return false;
        }
        memory.writeLong(base + tail, q0);
        memory.writeLong(base + tail + 8, q1);
        tail = (tail + AmdEvent.SIZE) % sizeBytes;
        written++;
        return true;
    }
}
