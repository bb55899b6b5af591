package io.uiommu.hw.vtd;

import io.uiommu.mem.PhysicalMemory;

/**
 * The unit's page request queue (VT-d 3.x section 7.5): a ring of 256-bit page request
 * descriptors in memory at PQA (base [63:12], size [2:0]: 2^(PQS+7) entries), the unit writing at
 * the tail (PQT, byte offset) and software consuming at the head (PQH). The page request status
 * register PRS has PPR (bit 0: a request was queued; software clears it, write 1) and PRO
 * (bit 1: a request found the queue full and was dropped; no request is queued while it is set).
 * A page request event (interrupt) is raised when a request sets PPR or PRO while both were clear,
 * unless PECTL.IM masks it (then PECTL.IP stays pending until IM is cleared).
 *
 * <p>Locking: guarded by the owning {@link VtdHardware}'s monitor.
 */
final class PageRequestQueue {
    static final int PRS_PPR = 1;
    static final int PRS_PRO = 1 << 1;
    static final int PECTL_IM = 1 << 31;
    static final int PECTL_IP = 1 << 30;
    static final long PQA_SIZE_MASK = 7;
    static final long OFFSET_MASK = 0x7FFE0L;

    /** What became of a request. */
    enum Outcome { QUEUED, QUEUED_INTERRUPT, DROPPED, DROPPED_INTERRUPT }

    private final PhysicalMemory memory;
    private long pqa;
    private long pqh;
    private long pqt;
    private int prs;
    private int pectl = PECTL_IM;
    private int pedata;
    private long peaddr;
    private long written;
    private long dropped;

    PageRequestQueue(PhysicalMemory memory) {
        this.memory = memory;
    }

    long pqa() {
        return pqa;
    }

    long pqh() {
        return pqh;
    }

    long pqt() {
        return pqt;
    }

    int prs() {
        return prs;
    }

    int pectl() {
        return pectl;
    }

    int pedata() {
        return pedata;
    }

    long peaddr() {
        return peaddr;
    }

    void setPqa(long value) {
        pqa = value & (~0xFFFL | PQA_SIZE_MASK);
    }

    void setPqh(long value) {
        pqh = value & OFFSET_MASK;
    }

    void setPqt(long value) {
        pqt = value & OFFSET_MASK;
    }

    /** PRS is write-1-to-clear. */
    void writePrs(int value) {
        prs &= ~(value & (PRS_PPR | PRS_PRO));
        if ((prs & (PRS_PPR | PRS_PRO)) == 0) {
            pectl &= ~PECTL_IP;
        }
    }

    /** PECTL: software owns IM; clearing IM with IP pending raises the event. Returns whether it did. */
    boolean writePectl(int value) {
        pectl = (pectl & PECTL_IP) | (value & PECTL_IM);
        if ((pectl & (PECTL_IP | PECTL_IM)) == PECTL_IP) {
            pectl &= ~PECTL_IP;
            return true;
        }
        return false;
    }

    void setPedata(int value) {
        pedata = value;
    }

    void setPeaddr(long value) {
        peaddr = value;
    }

    /** Queue size in bytes. */
    long bytes() {
        return (long) PageRequestDescriptor.SIZE << ((pqa & PQA_SIZE_MASK) + 7);
    }

    /** The unit receives a page request: written at the tail, or dropped (PRO) when the queue is full. */
    Outcome receive(long qw0, long qw1) {
        int before = prs;
        if ((prs & PRS_PRO) != 0) {
            dropped++;
            return Outcome.DROPPED;
        }
        long next = (pqt + PageRequestDescriptor.SIZE) % bytes();
        if (next == pqh) {
            prs |= PRS_PRO;
            dropped++;
            return event(before) ? Outcome.DROPPED_INTERRUPT : Outcome.DROPPED;
        }
        long at = (pqa & ~0xFFFL) + pqt;
        memory.writeLong(at, qw0);
        memory.writeLong(at + 8, qw1);
        memory.writeLong(at + 16, 0);
        memory.writeLong(at + 24, 0);
        pqt = next;
        written++;
        prs |= PRS_PPR;
        return event(before) ? Outcome.QUEUED_INTERRUPT : Outcome.QUEUED;
    }

    /** Whether the event is raised now (both status bits were clear and IM is clear); else IP stays pending. */
    private boolean event(int before) {
        if ((before & (PRS_PPR | PRS_PRO)) != 0) {
            return false;
        }
        if ((pectl & PECTL_IM) != 0) {
            pectl |= PECTL_IP;
            return false;
        }
        return true;
    }

    long written() {
        return written;
    }

    long dropped() {
        return dropped;
    }
}
