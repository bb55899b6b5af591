package io.uiommu.pt;

/**
 * The outcome of one page-table walk, filled in place so that walks do not allocate: on success the
 * output address, leaf size and permissions; on a fault the kind and the level it stopped at. Every
 * descriptor read is counted and, when {@link #record} is set, its physical address and value are
 * kept (the stale-translation auditor compares them later; tests count them).
 *
 * <p>Locking: none; one walk object belongs to one thread at a time.
 */
public final class Walk {
    /** Fault kinds, vendor-neutral; each hardware model maps them to its own reason codes. */
    public enum Fault {
        NONE,
        /** No valid descriptor (not present / invalid / reserved descriptor type where the spec says so). */
        TRANSLATION,
        PERMISSION,
        /** Input address outside the table's range, or an output/table address wider than configured. */
        ADDRESS_SIZE,
        /** Arm: AF clear and hardware access-flag updates off. */
        ACCESS_FLAG,
        /** A table read itself failed (bad memory). */
        TABLE_ACCESS,
        /** A present descriptor with a reserved bit or encoding set (VT-d, x86 and AMD report these apart). */
        RESERVED
    }

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
    /**
     * The leaf is writable but not yet dirty, and the walk ran with hardware dirty updates on: a
     * cache must not serve a later write from this result without walking again (the dirty bit
     * would never be set). Always false when the walk ran without access/dirty updates.
     */
    public boolean cleanWritable;

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
        cleanWritable = false;
        recorded = 0;
        return this;
    }

    private Walk stage2Scratch;

    /**
     * A second walk owned by this one, for the stage-2 walks a {@link NestedTables} makes on this
     * walk's behalf; created on first use so that reused walks stay allocation-free.
     */
    public Walk stage2Walk() {
        Walk s = stage2Scratch;
        if (s == null) {
            s = new Walk();
            stage2Scratch = s;
        }
        s.record = record;
        return s;
    }

    /** Adds the reads of a stage-2 walk made for this walk (counts and recorded descriptors). */
    void absorb(Walk other) {
        descriptorReads += other.descriptorReads;
        for (int i = 0; i < other.recorded && recorded < MAX_RECORDED; i++) {
            recordedAddress[recorded] = other.recordedAddress[i];
            recordedValue[recorded] = other.recordedValue[i];
            recorded++;
        }
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

    /**
     * The walk itself changed a descriptor it had read (hardware A/D update): what it recorded is
     * the new word, so that the update is not mistaken for a software change later.
     */
    void replaceRecorded(long pa, long oldValue, long newValue) {
        for (int i = recorded - 1; i >= 0; i--) {
            if (recordedAddress[i] == pa && recordedValue[i] == oldValue) {
                recordedValue[i] = newValue;
                return;
            }
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
