package io.uiommu.device;

import io.uiommu.iommu.DmaCompletion;
import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuCore;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;

import static io.uiommu.device.DmaEngineRegs.*;
import static io.uiommu.device.PciRegs.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Transfers whose DMA completes later, as with PRI: a page request outstanding shows PAGE_WAIT,
 * the doorbell is ignored meanwhile, the response finishes the transfer (on the responder's thread),
 * and a reset while waiting makes the late completion a no-op.
 */
class DmaEngineAsyncTest {
    record Request(long iova, boolean write, boolean pri, int length, DmaCompletion done) {
    }

    final Deque<Request> pending = new ArrayDeque<>();
    DmaEngine e;
    int msis;

    @BeforeEach
    void setUp() {
        IommuUnit unit = new IommuUnit("mock0", "mock", 48, 48, List.of(4096L), 20, true, true, true, Map.of());
        PciDevice pci = new PciDevice("dev0", "00:01.0", 8, "mock0", 20, true, true, true, true);
        IommuCore core = IommuCore.forPlatform(new Platform("t", List.of(unit), List.of(pci)), new PhysicalMemory());
        e = new DmaEngine(pci, core.device("dev0"), core,
                (dev, pasid, iova, buffer, offset, length, write, pri, done) ->
                        pending.add(new Request(iova, write, pri, length, done)));
        e.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        int msi = e.findCapability(PCI_CAP_ID_MSI);
        e.configWrite(msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
        e.setMsiHandler(() -> msis++);
    }

    int reg(int off) {
        return (int) e.mmioRead(0, off, 4);
    }

    void start(int op, int length) {
        e.mmioWrite(0, REG_SRC_IOVA, 8, 0x1000);
        e.mmioWrite(0, REG_DST_IOVA, 8, 0x9000);
        e.mmioWrite(0, REG_LENGTH, 4, length);
        e.mmioWrite(0, REG_OP, 4, op);
        e.mmioWrite(0, REG_DOORBELL, 4, 1);
    }

    @Test
    void aTransferWaitsForItsPageResponse() {
        int pri = e.findExtendedCapability(PCI_EXT_CAP_ID_PRI);
        e.configWrite(pri + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_ENABLE);
        start(OP_TO_DEVICE, 64);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_PAGE_WAIT);
        assertThat(pending.peek().pri()).isTrue();
        assertThat(e.configRead(pri + PCI_PRI_STATUS, 2) & PCI_PRI_STATUS_STOPPED).isZero();
        e.configWrite(pri + PCI_PRI_CTRL, 2, 0);
        // Disabled with a request outstanding: not stopped yet.
        assertThat(e.configRead(pri + PCI_PRI_STATUS, 2) & PCI_PRI_STATUS_STOPPED).isZero();
        // Ringing again while it waits changes nothing.
        e.mmioWrite(0, REG_DOORBELL, 4, 1);
        assertThat(pending).hasSize(1);
        pending.poll().done().done(new DmaResult(64, null));
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_DONE);
        assertThat(reg(REG_BYTES_DONE)).isEqualTo(64);
        assertThat(msis).isEqualTo(1);
        assertThat(e.configRead(pri + PCI_PRI_STATUS, 2) & PCI_PRI_STATUS_STOPPED).isNotZero();
    }

    @Test
    void withoutPriTheEngineDoesNotAskForPageRequests() {
        start(OP_FROM_DEVICE, 8);
        assertThat(pending.peek().pri()).isFalse();
        assertThat(pending.peek().write()).isTrue();
        int priCap = e.findExtendedCapability(PCI_EXT_CAP_ID_PRI);
        // Without PRI nothing is a page request: PRI stays stopped.
        assertThat(e.configRead(priCap + PCI_PRI_STATUS, 2) & PCI_PRI_STATUS_STOPPED).isNotZero();
        pending.poll().done().done(new DmaResult(0, new DmaResult.Fault(0x9000, -1, true, 3, "F_TRANSLATION", 2, false)));
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_FAULT);
        assertThat(e.configRead(priCap + PCI_PRI_STATUS, 2) & PCI_PRI_STATUS_STOPPED).isNotZero();
        assertThat(reg(REG_FAULT_CODE)).isEqualTo(3);
        assertThat(reg(REG_FAULT_INFO)).isEqualTo(FAULT_INFO_WRITE | 2 << FAULT_INFO_LEVEL_SHIFT);
        assertThat(reg(REG_INT_STATUS)).isEqualTo(INT_FAULT);
    }

    @Test
    void copyRunsItsTwoPhasesEachOfWhichMayWait() {
        start(OP_COPY, 16);
        Request read = pending.poll();
        assertThat(read.write()).isFalse();
        assertThat(read.iova()).isEqualTo(0x1000);
        read.done().done(new DmaResult(16, null));
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_PAGE_WAIT); // the write phase now waits
        Request write = pending.poll();
        assertThat(write.write()).isTrue();
        assertThat(write.iova()).isEqualTo(0x9000);
        write.done().done(new DmaResult(16, null));
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_DONE);
        assertThat(reg(REG_COMPLETED)).isEqualTo(1);
    }

    @Test
    void aResetWhileWaitingDropsTheLateCompletion() {
        start(OP_TO_DEVICE, 8);
        Request r = pending.poll();
        e.resetFunction();
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_IDLE);
        // A new transfer after the reset, then the old response arrives: it must not finish the new one.
        start(OP_FROM_DEVICE, 4);
        r.done().done(new DmaResult(8, null));
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_PAGE_WAIT);
        assertThat(reg(REG_COMPLETED)).isZero();
        pending.poll().done().done(new DmaResult(4, null));
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_DONE);
        assertThat(msis).isEqualTo(1);
    }

    @Test
    void aCompletionFromAnotherThreadFinishesTheTransfer() throws Exception {
        start(OP_TO_DEVICE, 8);
        Request r = pending.poll();
        Thread t = new Thread(() -> r.done().done(new DmaResult(8, null)));
        t.start();
        t.join();
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_DONE);
        assertThat(msis).isEqualTo(1);
    }
}
