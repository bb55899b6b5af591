package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.IoPageFault;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommufd.Errno;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.testing.IopfFixture;
import io.uiommu.testing.IopfFixture.Dma;
import io.uiommu.testing.IopfFixture.Pgfault;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * I/O page faults on SMMUv3: PRI queue entries as bytes, CMD_PRI_RESP through the command queue,
 * the queue's overflow flag, and what the SMMU does without a PRI queue.
 */
class SmmuIopfTest {
    private static final long IOVA = 0x40_0000L;
    private static final int PAGE = PhysicalMemory.PAGE_SIZE;

    private final IopfFixture f = new IopfFixture(IopfFixture.platform("smmuv3", true));
    private final ArmSmmuV3 smmu = (ArmSmmuV3) f.dev.iommu().unitDriver("iommu0");
    private final Smmu hw = smmu.hardware();
    private final int sid = f.platform.device("pri0").streamId();

    @AfterEach
    void close() {
        f.close();
    }

    private int[] setUp(int pasid) {
        int devId = f.bind("pri0");
        int ioas = f.t.ioasAlloc();
        f.faultAlloc();
        int hwpt = f.iopfHwpt(devId, ioas, pasid != 0 ? IOMMU_HWPT_ALLOC_PASID : 0);
        if (pasid != 0) {
            f.attachRc(devId, f.pasidHwpt(devId, ioas)).ok();
        }
        f.attachRc(devId, pasid, hwpt).ok();
        return new int[] {devId, ioas, hwpt};
    }

    @Test
    void theDriverEnablesThePriQueueAndItsInterrupt() {
        assertThat(hw.readRegister(Smmu.CR0) & Smmu.CR0_PRIQEN).isNotZero();
        assertThat(hw.readRegister(Smmu.IRQ_CTRL) & Smmu.IRQ_CTRL_PRIQ_IRQEN).isNotZero();
        assertThat(hw.readRegister(Smmu.IRQ_CTRL) & ArmSmmuV3.IRQ_CTRL_EVTQ_IRQEN).isNotZero();
        assertThat(hw.readRegister(Smmu.PRIQ_BASE) & Smmu.Q_BASE_ADDR_MASK).isEqualTo(smmu.priQueue());
        assertThat(hw.readRegister(Smmu.PRIQ_BASE) & 0x1f).isEqualTo(PriQueueHandler.PRIQ_LOG2);
    }

    @Test
    void aFaultingWriteWithASubstreamBecomesAPriQueueEntry() {
        setUp(3);
        long prod = hw.readRegister(Smmu.PRIQ_PROD);
        Dma d = f.startDma("pri0", 3, IOVA + 8, 8, true, new byte[8]);
        assertThat(d.done()).isFalse();
        long at = smmu.priQueue() + (prod & 0xff) * PriEntry.BYTES;
        long dw0 = f.dev.physical().readLong(at);
        long dw1 = f.dev.physical().readLong(at + 8);
        assertThat((int) dw0).isEqualTo(sid);
        assertThat(dw0 >>> 63).isEqualTo(1); // SSV
        assertThat((dw0 >>> 32) & 0xFFFFF).isEqualTo(3);
        assertThat((dw0 >>> 58) & 0xF).isEqualTo(0b1100); // Write 61, Read 60; not Exec 59 or Priv 58
        assertThat((dw0 >>> 62) & 1).isEqualTo(1); // last
        assertThat(dw1 & ~0xFFFL).isEqualTo(IOVA);
        assertThat(hw.readRegister(Smmu.PRIQ_CONS)).isEqualTo(hw.readRegister(Smmu.PRIQ_PROD));
        assertThat(hw.eventsWritten()).isZero(); // the translation request's fault is not an event

        Pgfault p = f.read(1).get(0);
        assertThat(p.pasid()).isEqualTo(3);
        assertThat(p.flags()).isEqualTo(IOMMU_PGFAULT_FLAGS_PASID_VALID | IOMMU_PGFAULT_FLAGS_LAST_PAGE);
        assertThat(p.perm()).isEqualTo(IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE);
        assertThat(p.grpid()).isEqualTo((int) (dw1 & 0x1FF));
    }

    @Test
    void theResponseIsCmdPriRespInTheCommandQueue() {
        setUp(0);
        f.startDma("pri0", IOVA, 8);
        Pgfault p = f.read(1).get(0);
        long responses = hw.priResponses();
        f.respond(p.cookie(), IOMMUFD_PAGE_RESP_INVALID);
        assertThat(hw.priResponses()).isEqualTo(responses + 1);
        // The last command the driver wrote before its CMD_SYNC.
        long base = hw.readRegister(Smmu.CMDQ_BASE) & Smmu.Q_BASE_ADDR_MASK;
        int cons = (int) hw.readRegister(Smmu.CMDQ_CONS) & 0xff;
        long at = base + (long) ((cons - 2) & 0xff) * Command.BYTES;
        long dw0 = f.dev.physical().readLong(at);
        long dw1 = f.dev.physical().readLong(at + 8);
        assertThat(Command.opcode(dw0)).isEqualTo(Command.PRI_RESP);
        assertThat(Command.sid(dw0)).isEqualTo(sid);
        assertThat(dw0 & Command.SSV).isZero();
        assertThat(dw1 & 0x1FF).isEqualTo(p.grpid());
        assertThat((dw1 >>> 12) & 3).isEqualTo(PriEntry.RESP_DENY);
    }

    @Test
    void overflowLosesRequestsAnswersLostLastOnesAndIsAcknowledged() {
        setUp(0);
        IommuDevice pri0 = f.device("pri0");
        long irqs = hw.readRegister(Smmu.IRQ_CTRL);
        hw.writeRegister(Smmu.IRQ_CTRL, irqs & ~Smmu.IRQ_CTRL_PRIQ_IRQEN);
        int entries = 1 << PriQueueHandler.PRIQ_LOG2;
        for (int i = 0; i < entries; i++) {
            assertThat(hw.priRequest(sid, false, 0, true, false, false, false, false, 5, IOVA)).isFalse();
        }
        hw.priRequest(sid, false, 0, true, false, false, false, true, 5, IOVA);
        assertThat(hw.priRequestsLost()).isEqualTo(1);
        assertThat(hw.readRegister(Smmu.PRIQ_PROD) & Smmu.PRIQ_OVFLG).isNotZero();
        pri0.pri().deliver();
        assertThat(pri0.pri().unexpectedResponses()).isEqualTo(1); // the lost last request got Success
        hw.writeRegister(Smmu.IRQ_CTRL, irqs);
        smmu.handlePriQueue();
        assertThat(smmu.priQueueOverflows()).isEqualTo(1);
        assertThat(IoPageFault.partialCount(pri0)).isZero();
        long prod = hw.readRegister(Smmu.PRIQ_PROD);
        assertThat(hw.readRegister(Smmu.PRIQ_CONS)).isEqualTo(prod); // OVACKFLG copied, queue empty
        Dma d = f.startDma("pri0", IOVA, 8);
        assertThat(f.read(1)).hasSize(1);
        assertThat(d.done()).isFalse();
    }

    @Test
    void anUnknownStreamIsDenied() {
        setUp(0);
        long before = hw.priResponses();
        assertThat(hw.priRequest(0x7f, false, 0, true, false, false, false, true, 1, IOVA)).isTrue();
        smmu.handlePriQueue();
        assertThat(hw.priResponses()).isEqualTo(before + 1);
    }

    @Test
    void withoutIdr0PriThereIsNoQueueAndNoIopf() {
        try (IopfFixture g = new IopfFixture(IopfFixture.platform("smmuv3", false))) {
            ArmSmmuV3 noPri = (ArmSmmuV3) g.dev.iommu().unitDriver("iommu0");
            assertThat(noPri.priQueue()).isEqualTo(-1);
            assertThat(noPri.hardware().readRegister(Smmu.PRIQ_BASE)).isZero();
            int devId = g.bind("pri0");
            int ioas = g.t.ioasAlloc();
            g.faultAlloc();
            g.attachRc(devId, g.iopfHwpt(devId, ioas)).fails(Errno.EINVAL);
            // A request that still arrives is denied by the SMMU itself.
            IommuDevice pri0 = g.device("pri0");
            noPri.hardware().priRequest(pri0 instanceof SmmuMaster m ? m.streamId() : 0, false, 0, true, false,
                    false, false, true, 2, IOVA);
            pri0.pri().deliver();
            assertThat(pri0.pri().unexpectedResponses()).isEqualTo(1);
        }
    }

    @Test
    void priRespWithAReservedCodeIsIllegal() {
        long errors = smmu.commandErrors();
        smmu.issue(new long[] {Command.PRI_RESP | (long) sid << 32, 3L << 12});
        assertThat(smmu.commandErrors()).isEqualTo(errors + 1);
    }

    @Test
    void requestsOfAGroupArriveTogether() {
        setUp(0);
        hw.priRequest(sid, false, 0, true, false, false, false, false, 11, IOVA);
        hw.priRequest(sid, false, 0, true, false, false, false, false, 11, IOVA + PAGE);
        smmu.handlePriQueue();
        assertThat(f.read(4)).isEmpty();
        assertThat(IoPageFault.partialCount(f.device("pri0"))).isEqualTo(2);
        hw.priRequest(sid, false, 0, true, false, false, false, true, 11, IOVA + 2 * PAGE);
        smmu.handlePriQueue();
        List<Pgfault> group = f.read(4);
        assertThat(group).extracting(Pgfault::addr).containsExactly(IOVA, IOVA + PAGE, IOVA + 2 * PAGE);
        assertThat(group).extracting(Pgfault::cookie).containsOnly(group.get(0).cookie());
    }
}
