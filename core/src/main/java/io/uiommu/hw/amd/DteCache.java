package io.uiommu.hw.amd;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.NestedTables;
import io.uiommu.pt.TableMemory;

/**
 * The device-table-entry cache: the hardware keeps DTEs it read until INVALIDATE_DEVTAB_ENTRY or
 * INVALIDATE_IOMMU_ALL, so a DTE rewritten in memory without the command is not seen. Direct
 * mapped by DeviceID, flat arrays; a hit does not allocate.
 *
 * <p>Locking: guarded by the owning {@link AmdViHardware}'s monitor.
 */
final class DteCache {
    static final int ENTRIES = 256;

    private final int[] tag = new int[ENTRIES];
    private final boolean[] valid = new boolean[ENTRIES];
    final long[] q0 = new long[ENTRIES];
    final long[] q1 = new long[ENTRIES];
    final long[] q2 = new long[ENTRIES];
    final long[] q3 = new long[ENTRIES];
    private final CacheFill[] fill = new CacheFill[ENTRIES];
    private final NestedTables[] nested = new NestedTables[ENTRIES];
    private long hits;
    private long misses;

    static int slot(int devid) {
        return (devid ^ devid >>> 8) & (ENTRIES - 1);
    }

    /** The slot holding {@code devid}'s DTE, or -1. */
    int lookup(int devid) {
        int s = slot(devid);
        if (valid[s] && tag[s] == devid) {
            hits++;
            return s;
        }
        misses++;
        return -1;
    }

    /** Reads the DTE at {@code entryAddress} into the cache; its slot. */
    int fill(int devid, long entryAddress, PhysicalMemory memory, StaleTranslationAuditor auditor) {
        int s = slot(devid);
        tag[s] = devid;
        q0[s] = memory.readLong(entryAddress);
        q1[s] = memory.readLong(entryAddress + 8);
        q2[s] = memory.readLong(entryAddress + 16);
        q3[s] = memory.readLong(entryAddress + 24);
        valid[s] = true;
        nested[s] = null;
        if (auditor.enabled()) {
            CacheFill f = fill[s];
            if (f == null) {
                f = fill[s] = new CacheFill();
            }
            f.begin(auditor);
            f.add(auditor, entryAddress, q0[s]);
            f.add(auditor, entryAddress + 8, q1[s]);
            f.add(auditor, entryAddress + 16, q2[s]);
        } else if (fill[s] != null) {
            fill[s].begin(auditor);
        }
        return s;
    }

    /**
     * Guest-physical memory as slot {@code s}'s DTE (Mode 1..6) sees it: through its v1 host table,
     * with A/D updates when HAD is set. Made once per fill, so that walks do not allocate.
     */
    NestedTables nested(int s, TableMemory physical) {
        NestedTables n = nested[s];
        if (n == null) {
            long q = q0[s];
            n = new NestedTables(DeviceTableEntry.hostTable(DeviceTableEntry.mode(q)), DeviceTableEntry.root(q),
                    physical, DeviceTableEntry.had(q) != 0);
            nested[s] = n;
        }
        return n;
    }

    /** The words slot {@code s} was filled from (null when never audited). */
    CacheFill fillOf(int s) {
        return fill[s];
    }

    void invalidate(int devid) {
        int s = slot(devid);
        if (tag[s] == devid) {
            valid[s] = false;
        }
    }

    void invalidateAll() {
        java.util.Arrays.fill(valid, false);
    }

    long hits() {
        return hits;
    }

    long misses() {
        return misses;
    }
}
