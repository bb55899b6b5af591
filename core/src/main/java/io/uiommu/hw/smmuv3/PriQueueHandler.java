package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.IoPageFault;
import io.uiommu.iommu.PageRequest;
import io.uiommu.iommu.PageResponse;
import io.uiommu.mem.PhysicalMemory;

import java.util.Map;

/**
 * The SMMUv3 driver's PRI queue side: the queue it allocates and programs, the interrupt thread
 * that consumes entries (arm_smmu_priq_thread) and hands them to the iommu core as page requests,
 * and page responses as CMD_PRI_RESP. Linux 6.12's arm_smmu_handle_ppr only logs a PRI request and
 * denies its group (its I/O page faults come from stall events); uiommu's driver routes PRI
 * requests like the VT-d and AMD drivers do, so that PRI-capable functions behind an SMMUv3 reach
 * the fault fd. Entries of unknown StreamIDs are still denied.
 *
 * <p>Locking: the handler runs under its own lock (one consumer at a time); commands go out
 * through the driver's {@code issue}, which takes the driver's monitor.
 */
final class PriQueueHandler {
    static final int PRIQ_LOG2 = 8;

    private final ArmSmmuV3 driver;
    private final Smmu hw;
    private final PhysicalMemory memory;
    private final Map<Integer, SmmuMaster> bySid;
    private final long base;
    private final int log2;
    private final Object lock = new Object();
    private long overflows;

    PriQueueHandler(ArmSmmuV3 driver, Smmu hw, PhysicalMemory memory, Map<Integer, SmmuMaster> bySid, long base,
            int log2) {
        this.driver = driver;
        this.hw = hw;
        this.memory = memory;
        this.bySid = bySid;
        this.base = base;
        this.log2 = log2;
        hw.writeRegister(Smmu.PRIQ_BASE, base | log2);
        hw.writeRegister(Smmu.PRIQ_CONS, 0);
    }

    long base() {
        return base;
    }

    /**
     * arm_smmu_priq_thread: consumes entries from CONS to PROD, reporting each; when PROD says
     * requests were lost (OVFLG != OVACKFLG), drops partial groups (their last request may be the
     * lost one) and acknowledges.
     */
    void handle() {
        synchronized (lock) {
            int wrap = (1 << (log2 + 1)) - 1;
            int idxMask = (1 << log2) - 1;
            for (;;) {
                int prod = (int) hw.readRegister(Smmu.PRIQ_PROD);
                int cons = (int) hw.readRegister(Smmu.PRIQ_CONS);
                boolean overflow = ((prod ^ cons) & Smmu.PRIQ_OVFLG) != 0;
                if (((prod ^ cons) & wrap) == 0) {
                    if (overflow) {
                        overflows++;
                        for (SmmuMaster m : bySid.values()) {
                            IoPageFault.discardPartial(m);
                        }
                        // queue_sync_cons_ovf: acknowledge with OVACKFLG = OVFLG.
                        hw.writeRegister(Smmu.PRIQ_CONS, (cons & wrap) | (prod & Smmu.PRIQ_OVFLG));
                    }
                    return;
                }
                long at = base + (long) (cons & idxMask) * PriEntry.BYTES;
                long dw0 = memory.readLong(at);
                long dw1 = memory.readLong(at + 8);
                hw.writeRegister(Smmu.PRIQ_CONS, (cons & Smmu.PRIQ_OVFLG) | ((cons + 1) & wrap));
                report(dw0, dw1);
            }
        }
    }

    private void report(long dw0, long dw1) {
        int sid = PriEntry.sid(dw0);
        boolean ssv = PriEntry.ssv(dw0);
        int ssid = PriEntry.ssid(dw0);
        SmmuMaster m = bySid.get(sid);
        if (m == null) {
            if (PriEntry.last(dw0)) {
                driver.issue(Command.priResp(sid, ssid, ssv, PriEntry.prgIndex(dw1), PriEntry.RESP_DENY));
            }
            return;
        }
        int perm = ((dw0 & PriEntry.READ) != 0 ? PageRequest.PERM_READ : 0)
                | ((dw0 & PriEntry.WRITE) != 0 ? PageRequest.PERM_WRITE : 0)
                | ((dw0 & PriEntry.EXEC) != 0 ? PageRequest.PERM_EXEC : 0)
                | ((dw0 & PriEntry.PRIV) != 0 ? PageRequest.PERM_PRIV : 0);
        int flags = (PriEntry.last(dw0) ? PageRequest.LAST_PAGE : 0) | (ssv ? PageRequest.PASID_VALID : 0);
        IoPageFault.reportDeviceFault(m, new PageRequest(flags, ssv ? ssid : 0, PriEntry.prgIndex(dw1), perm,
                PriEntry.address(dw1)));
    }

    /** The page response: CMD_PRI_RESP with the group's SSID when it had one (no CMD_SYNC needed, as Linux notes). */
    void respond(SmmuMaster m, PageRequest last, int code) {
        int resp = switch (code) {
            case PageResponse.SUCCESS -> PriEntry.RESP_SUCC;
            case PageResponse.INVALID -> PriEntry.RESP_DENY;
            default -> PriEntry.RESP_FAIL;
        };
        driver.issue(Command.priResp(m.streamId(), last.pasid(), last.pasidValid(), last.grpid(), resp));
    }

    long overflows() {
        synchronized (lock) {
            return overflows;
        }
    }
}
