package io.uiommu.hw.amd;

import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;

/**
 * Guest tables of a nested DTE (GV=1 over a v1 host table): the GCR3 table and the guest page
 * tables sit at guest-physical addresses, so each descriptor address first goes through the host
 * (v1) walk, with the DTE's IR/IW. Host descriptor reads count into the guest walk; a host fault
 * makes the table access fail with {@link Walk#stage2} set. Retargeted per translation, so a walk
 * does not allocate.
 *
 * <p>Stand-in until {@code io.uiommu.pt} has its nested-tables memory.
 *
 * <p>Locking: guarded by the owning {@link AmdViHardware}'s monitor.
 */
final class GuestPhysicalTables implements TableMemory {
    private final PhysicalMemory memory;
    private final TableMemory physical;
    private final Walk hostWalk = new Walk();
    private PageTableFormat host;
    private long hostRoot;
    private int hostPerm;
    /** The host walk of the last failed table access (level, fault). */
    int faultLevel;

    GuestPhysicalTables(PhysicalMemory memory, TableMemory physical) {
        this.memory = memory;
        this.physical = physical;
    }

    /** Targets the host table of a DTE: its format (null for Mode 0: GPA = SPA), root and IR/IW. */
    GuestPhysicalTables target(PageTableFormat host, long hostRoot, int hostPerm) {
        this.host = host;
        this.hostRoot = hostRoot;
        this.hostPerm = hostPerm;
        return this;
    }

    @Override
    public long tableAddress(long gpa, Walk walk) {
        if (host == null) {
            return (hostPerm & PageTableFormat.READ) != 0 ? gpa : fail(walk, 0);
        }
        hostWalk.record = walk.record;
        hostWalk.reset(gpa);
        boolean ok = host.walk(hostRoot, gpa, PageTableFormat.READ, false, physical, hostWalk);
        if (walk.record) {
            for (int i = 0; i < hostWalk.recorded; i++) {
                walk.read(hostWalk.recordedAddress[i], hostWalk.recordedValue[i]);
            }
        } else {
            walk.descriptorReads += hostWalk.descriptorReads;
        }
        if (!ok || (hostPerm & PageTableFormat.READ) == 0) {
            return fail(walk, hostWalk.level);
        }
        return hostWalk.outputAddress;
    }

    private long fail(Walk walk, int level) {
        walk.stage2 = true;
        faultLevel = level;
        return FAULT;
    }

    @Override
    public long readLong(long pa) {
        return memory.readLong(pa);
    }

    @Override
    public void writeLong(long pa, long value) {
        memory.writeLong(pa, value);
    }

    @Override
    public boolean compareAndSetLong(long pa, long expected, long value) {
        return memory.compareAndSetLong(pa, expected, value);
    }
}
