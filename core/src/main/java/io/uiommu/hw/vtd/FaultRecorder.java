package io.uiommu.hw.vtd;

/**
 * The primary fault recording registers (spec 7.2 and 11.4.14): NFR records of 128 bits used as a
 * ring from FSTS.FRI. A fault goes into the record at FRI when its F bit is clear; otherwise it is
 * lost and FSTS.PFO is set. Software clears a record by writing 1 to its F bit.
 *
 * <p>Record layout, low qword: FI (page address) in 63:12; high qword: SID 15:0, PP 31,
 * FR 39:32, PV 59:40, T 62 (1 = read), F 63.
 *
 * <p>Locking: this object's monitor.
 */
final class FaultRecorder {
    static final long F = 1L << 63;
    static final long T_READ = 1L << 62;
    static final long PP = 1L << 31;

    private final long[] low;
    private final long[] high;
    private int index;
    private boolean overflow;
    private long recorded;
    private long lost;

    FaultRecorder(int records) {
        low = new long[records];
        high = new long[records];
    }

    synchronized void record(VtdFaultReason reason, int sid, int pasid, long iova, boolean write) {
        if ((high[index] & F) != 0) {
            overflow = true;
            lost++;
            return;
        }
        low[index] = iova & ~0xFFFL;
        long hi = (sid & 0xFFFFL) | (long) (reason.code() & 0xFF) << 32 | F | (write ? 0 : T_READ);
        if (pasid >= 0) {
            hi |= PP | (long) (pasid & 0xFFFFF) << 40;
        }
        high[index] = hi;
        index = (index + 1) % low.length;
        recorded++;
    }

    synchronized int records() {
        return low.length;
    }

    synchronized long low(int i) {
        return low[i];
    }

    synchronized long high(int i) {
        return high[i];
    }

    /** Writing the high qword: F is write-1-to-clear, the rest read-only. */
    synchronized void writeHigh(int i, long value) {
        if ((value & F) != 0) {
            high[i] &= ~F;
        }
    }

    /** FSTS bits this unit owns: PFO (0), PPF (1, any record pending), FRI (15:8). */
    synchronized int status() {
        boolean pending = false;
        for (long h : high) {
            pending |= (h & F) != 0;
        }
        return (overflow ? 1 : 0) | (pending ? 2 : 0) | index << 8;
    }

    synchronized void clearOverflow() {
        overflow = false;
    }

    synchronized long recordedCount() {
        return recorded;
    }

    synchronized long lostCount() {
        return lost;
    }
}
