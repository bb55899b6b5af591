package io.uiommu.hw.amd;

import io.uiommu.iommu.IoPageFault;
import io.uiommu.iommu.PageRequest;
import io.uiommu.iommu.PageResponse;
import io.uiommu.mem.PhysicalMemory;

import java.util.Map;

/**
 * The AMD driver's PPR side (drivers/iommu/amd/ppr.c): the PPR interrupt thread that drains the
 * PPR log (amd_iommu_poll_ppr_log, clearing each entry as erratum 733 asks) and hands valid
 * requests to the iommu core (iommu_call_iopf_notifier), and page responses as
 * COMPLETE_PPR_REQUEST. As in Linux, only PASID-tagged requests (GN, PASID 1..max) go to the
 * core; the others are completed with a failure; after an overflow the log is restarted.
 *
 * <p>Locking: the handler runs under its own lock (one consumer at a time); commands go through
 * the driver, which takes its monitor.
 */
final class PprLogHandler {
    static final int LOG_BYTES = 8192;
    static final long LOG_LEN_512 = 9L << 56;

    private final AmdIommu driver;
    private final AmdViHardware hw;
    private final PhysicalMemory memory;
    private final Map<Integer, AmdDevice> byDevid;
    private final long base;
    private final Object lock = new Object();
    private int head;
    private long restarts;

    PprLogHandler(AmdIommu driver, AmdViHardware hw, PhysicalMemory memory, Map<Integer, AmdDevice> byDevid,
            long base) {
        this.driver = driver;
        this.hw = hw;
        this.memory = memory;
        this.byDevid = byDevid;
        this.base = base;
        // amd_iommu_enable_ppr_log: base with length, head and tail zero (the enables come with Control).
        hw.write(AmdRegisters.PPR_LOG_BASE, base | LOG_LEN_512);
        hw.write(AmdRegisters.PPR_HEAD, 0);
        hw.write(AmdRegisters.PPR_TAIL, 0);
    }

    long base() {
        return base;
    }

    /** amd_iommu_int_thread_pprlog: while PPRInt is set, acknowledge it, drain the log, restart after an overflow. */
    void handle() {
        synchronized (lock) {
            long status = hw.read(AmdRegisters.STATUS);
            while ((status & AmdRegisters.STATUS_PPR_INT) != 0) {
                hw.write(AmdRegisters.STATUS, AmdRegisters.STATUS_PPR_INT);
                poll();
                if ((status & AmdRegisters.STATUS_PPR_OVERFLOW) != 0) {
                    restart();
                }
                status = hw.read(AmdRegisters.STATUS);
            }
        }
    }

    private void poll() {
        int tail = (int) hw.read(AmdRegisters.PPR_TAIL);
        head = (int) hw.read(AmdRegisters.PPR_HEAD);
        while (head != tail) {
            long at = base + head;
            long q0 = memory.readLong(at);
            long q1 = memory.readLong(at + 8);
            memory.writeLong(at, 0);
            memory.writeLong(at + 8, 0);
            head = (head + PprLogEntry.SIZE) % LOG_BYTES;
            hw.write(AmdRegisters.PPR_HEAD, head);
            notify(q0, q1);
        }
    }

    /** amd_iommu_restart_ppr_log: after an overflow, clear it and turn logging off and on again. */
    private void restart() {
        restarts++;
        hw.write(AmdRegisters.STATUS, AmdRegisters.STATUS_PPR_OVERFLOW);
        long control = hw.read(AmdRegisters.CONTROL);
        hw.write(AmdRegisters.CONTROL, control & ~AmdRegisters.CONTROL_PPRLOG_EN);
        hw.write(AmdRegisters.CONTROL, control | AmdRegisters.CONTROL_PPRLOG_EN);
    }

    /** iommu_call_iopf_notifier. */
    private void notify(long q0, long q1) {
        if (PprLogEntry.type(q0) != PprLogEntry.TYPE_FAULT) {
            return; // "Unknown PPR request received"
        }
        AmdDevice dev = byDevid.get(PprLogEntry.devid(q0));
        if (dev == null) {
            return;
        }
        int flags = PprLogEntry.flags(q0);
        int pasid = PprLogEntry.pasid(q0);
        int tag = PprLogEntry.tag(q0);
        if ((flags & PprLogEntry.FLAG_GN) == 0 || (flags & PprLogEntry.FLAG_RVSD) != 0 || pasid == 0
                || pasid >= dev.maxPasids()) {
            driver.completePpr(dev, pasid, tag & 0x1ff, PageResponse.FAILURE);
            return;
        }
        int perm = ((flags & PprLogEntry.FLAG_READ) != 0 ? PageRequest.PERM_READ : 0)
                | ((flags & PprLogEntry.FLAG_WRITE) != 0 ? PageRequest.PERM_WRITE : 0)
                | ((flags & PprLogEntry.FLAG_EXEC) != 0 ? PageRequest.PERM_EXEC : 0)
                | ((flags & PprLogEntry.FLAG_US) == 0 ? PageRequest.PERM_PRIV : 0);
        int f = PageRequest.RESPONSE_NEEDS_PASID | PageRequest.PASID_VALID
                | ((tag & PprLogEntry.TAG_LAST) != 0 ? PageRequest.LAST_PAGE : 0);
        IoPageFault.reportDeviceFault(dev, new PageRequest(f, pasid, tag & 0x1ff, perm, q1 & ~0xfffL));
    }

    long restarts() {
        synchronized (lock) {
            return restarts;
        }
    }
}
