package io.uiommu.pt;

/**
 * Where a walker finds descriptors. A kernel-owned table sits in physical memory; a guest-owned
 * stage-1 table sits in guest-physical (IPA/GPA) space, so each table address first goes through
 * the stage-2 walk, which may fault. Implementations must not allocate on the hot path.
 */
public interface TableMemory {
    /** Sentinel returned by {@link #tableAddress} when stage 2 cannot translate a table address. */
    long FAULT = -1L;

    /**
     * The physical address of a descriptor at table address {@code addr}, or {@link #FAULT} when a
     * nested stage 2 refuses it (the walk then reports a stage-2 fault on a table access).
     * For plain physical tables this is the identity. {@code walk} is null for software accesses
     * (map, unmap, dirty harvesting), which are not counted.
     */
    long tableAddress(long addr, Walk walk);

    /**
     * The physical address for a hardware access/dirty update of the descriptor at {@code addr}:
     * nested, the stage-2 mapping of that table must allow the write (and its own dirty state is
     * updated). Default: {@link #tableAddress}.
     */
    default long tableAddressForUpdate(long addr, Walk walk) {
        return tableAddress(addr, walk);
    }

    /** Reads a little-endian 64-bit descriptor at a physical address. */
    long readLong(long pa);

    /** Writes a descriptor (map/unmap, hardware A/D updates). */
    void writeLong(long pa, long value);

    /**
     * Atomically replaces {@code expected} by {@code value} (hardware A/D-bit updates race with
     * software edits); returns whether it did.
     */
    boolean compareAndSetLong(long pa, long expected, long value);
}
