package io.uiommu.pt;

/**
 * The outcome of one page-table walk, filled in place so that walks do not allocate: on success the
 * output address, leaf size and permissions; on a fault the kind and the level it stopped at. Every
 * descriptor read is counted and, when {@link #record} is set, its physical address and value are
 * kept (the stale-translation auditor compares them later; tests count them).
 */
public final class Walk {
    /** Fault kinds, vendor-neutral; each hardware model maps them to its own reason codes. */
    public enum Fault { NONE, TRANSLATION, PERMISSION, ADDRESS_SIZE, ACCESS_FLAG, TABLE_ACCESS }

    public static final int MAX_RECORDED = 64;

    public long iova;
    public long outputAddress;
    public long pageSize;
    /** Effective permissions of the leaf, {@link PageTableFormat#READ} etc. */
    public int perm;
    public Fault fault = Fault.NONE;
    /** Level the walk stopped at, in the format's numbering (documented per format). */
    public int level;
    public int descriptorReads;
    /** Whether a stage-2 walk (for nested) failed rather than this stage. */
    public boolean stage2;

    public boolean record;
    public int recorded;
    public final long[] recordedAddress = new long[MAX_RECORDED];
    public final long[] recordedValue = new long[MAX_RECORDED];

    /** Clears the result for a new walk (keeps {@link #record}). */
    public Walk reset(long iova) {
        this.iova = iova;
        outputAddress = 0;
        pageSize = 0;
        perm = 0;
        fault = Fault.NONE;
        level = 0;
        descriptorReads = 0;
        stage2 = false;
        recorded = 0;
        return this;
    }

    /** Counts (and records when asked) one descriptor read. */
    public void read(long pa, long value) {
        descriptorReads++;
        if (record && recorded < MAX_RECORDED) {
            recordedAddress[recorded] = pa;
            recordedValue[recorded] = value;
            recorded++;
        }
    }

    public boolean ok() {
        return fault == Fault.NONE;
    }

    public boolean fail(Fault kind, int atLevel) {
        fault = kind;
        level = atLevel;
        return false;
    }
}
