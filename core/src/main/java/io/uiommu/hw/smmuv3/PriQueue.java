package io.uiommu.hw.smmuv3;

import io.uiommu.mem.PhysicalMemory;

/**
 * The SMMU's PRI queue (IHI 0070 section 8): a ring of 16-byte entries at PRIQ_BASE (address
 * [51:5], LOG2SIZE [4:0], capped by IDR1.PRIQS), the SMMU producing at PRIQ_PROD (index, wrap
 * bit, OVFLG at bit 31) and software consuming at PRIQ_CONS (index, wrap, OVACKFLG at bit 31), both
 * in register page 1. A request that finds the queue full is lost and OVFLG toggles, so that
 * OVFLG != OVACKFLG tells software requests were lost until it acknowledges by copying OVFLG.
 *
 * <p>Locking: guarded by the owning {@link Smmu}'s monitor.
 */
final class PriQueue {
    static final int OVFLG = 1 << 31;

    private final PhysicalMemory memory;
    private final int log2Max;
    private long base;
    private int prod;
    private int cons;
    private long written;
    private long lost;

    PriQueue(PhysicalMemory memory, int log2Max) {
        this.memory = memory;
        this.log2Max = log2Max;
    }

    long base() {
        return base;
    }

    void setBase(long value) {
        base = value;
    }

    int prod() {
        return prod;
    }

    int cons() {
        return cons;
    }

    void setCons(int value) {
        cons = value & (OVFLG | wrapMask());
    }

    private int log2() {
        return Math.min((int) (base & 0x1f), log2Max);
    }

    private int wrapMask() {
        return (1 << (log2() + 1)) - 1;
    }

    /** Whether entries wait (PROD != CONS, ignoring the overflow flags). */
    boolean nonEmpty() {
        return ((prod ^ cons) & wrapMask()) != 0;
    }

    /** Writes an entry at PROD; false when the queue was full (the entry is lost, OVFLG toggles). */
    boolean append(long dw0, long dw1) {
        int idxMask = (1 << log2()) - 1;
        int wrap = wrapMask();
        int p = prod & wrap;
        int c = cons & wrap;
        if ((p & idxMask) == (c & idxMask) && p != c) {
            prod ^= OVFLG;
            lost++;
            return false;
        }
        long at = (base & Smmu.Q_BASE_ADDR_MASK) + (long) (p & idxMask) * PriEntry.BYTES;
        memory.writeLong(at, dw0);
        memory.writeLong(at + 8, dw1);
        prod = (prod & OVFLG) | ((p + 1) & wrap);
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
