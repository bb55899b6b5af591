package io.uiommu.hw.amd;

import io.uiommu.iommu.IoPageFault;
import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IopfGroup;
import io.uiommu.iommu.PageRequest;
import io.uiommu.iommu.PageResponse;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.X86PageTable;
import io.uiommu.testing.IopfFixture;
import io.uiommu.testing.IopfFixture.Dma;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * I/O page faults on AMD-Vi: PPR log entries as bytes, COMPLETE_PPR_REQUEST through the command
 * buffer, Linux's rule that only PASID-tagged requests reach a handler, overflow and restart.
 */
class AmdIopfTest {
    private static final long IOVA = 0x40_0000L;
    private static final int PASID = 5;
    private static final X86PageTable X86 = new X86PageTable(4);

    private final IopfFixture f = new IopfFixture(IopfFixture.platform("amd", true));
    private final IommuCore core = f.dev.iommu();
    private final AmdIommu amd = (AmdIommu) core.unitDriver("iommu0");
    private final AmdViHardware hw = amd.hardware();
    private final IommuDevice pri0 = f.device("pri0");
    private final int devid = f.platform.device("pri0").requesterId();
    private final List<IopfGroup> groups = new ArrayList<>();
    private long cr3;

    @AfterEach
    void close() {
        f.close();
    }

    /** The SVA flow at the core: RID on a v2 domain, PASID 5 on an SVA domain with a handler, IOPF on. */
    private AmdSvaDomain sva() {
        AmdPagingDomain v2 = (AmdPagingDomain) amd.domainAllocUser(pri0, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null, null);
        core.attachDevice(pri0, v2);
        cr3 = X86.allocateRoot(amd.tables(), amd.allocator());
        AmdSvaDomain sva = amd.domainAllocSva(pri0, cr3);
        core.attachDevicePasid(pri0, PASID, sva, false);
        sva.setIopfHandler(g -> {
            IoPageFault.groupDequeue(g);
            groups.add(g);
            return true;
        });
        IoPageFault.enable(pri0);
        return sva;
    }

    @Test
    void enablingSetsPprInTheDteAndPriOnTheFunction() {
        sva();
        assertThat(amd.dte(pri0)[0] & DeviceTableEntry.PPR).isNotZero();
        assertThat(pri0.pri().enabled()).isTrue();
        assertThat(hw.read(AmdRegisters.CONTROL) & (AmdRegisters.CONTROL_PPR_EN | AmdRegisters.CONTROL_PPRLOG_EN
                | AmdRegisters.CONTROL_PPRINT_EN)).isEqualTo(AmdRegisters.CONTROL_PPR_EN
                        | AmdRegisters.CONTROL_PPRLOG_EN | AmdRegisters.CONTROL_PPRINT_EN);
        assertThat(hw.read(AmdRegisters.PPR_LOG_BASE)).isEqualTo(amd.pprLog() | PprLogHandler.LOG_LEN_512);
    }

    @Test
    void aPasidFaultIsAPprLogEntryThenAGroupAndCompletePprResumesTheDma() {
        sva();
        long control = hw.read(AmdRegisters.CONTROL);
        hw.write(AmdRegisters.CONTROL, control & ~AmdRegisters.CONTROL_PPRINT_EN); // look before the handler
        Dma d = f.startDma("pri0", PASID, IOVA + 4, 16, false, null);
        assertThat(d.done()).isFalse();
        long q0 = f.dev.physical().readLong(amd.pprLog());
        long q1 = f.dev.physical().readLong(amd.pprLog() + 8);
        assertThat(PprLogEntry.type(q0)).isEqualTo(1);
        assertThat(PprLogEntry.devid(q0)).isEqualTo(devid);
        assertThat(PprLogEntry.pasid(q0)).isEqualTo(PASID);
        assertThat(PprLogEntry.flags(q0)).isEqualTo(PprLogEntry.FLAG_GN | PprLogEntry.FLAG_READ | PprLogEntry.FLAG_US);
        assertThat(PprLogEntry.tag(q0) & PprLogEntry.TAG_LAST).isNotZero();
        assertThat(q1).isEqualTo(IOVA);
        assertThat(hw.read(AmdRegisters.PPR_TAIL)).isEqualTo(16);
        assertThat(hw.eventsWritten()).isZero(); // the translation request's fault is not logged

        hw.write(AmdRegisters.CONTROL, control);
        amd.handlePprLog();
        assertThat(f.dev.physical().readLong(amd.pprLog())).isZero(); // cleared, as for erratum 733
        assertThat(hw.read(AmdRegisters.PPR_HEAD)).isEqualTo(16);
        assertThat(groups).hasSize(1);
        PageRequest r = groups.get(0).last();
        assertThat(r.pasid()).isEqualTo(PASID);
        assertThat(r.flags()).isEqualTo(PageRequest.PASID_VALID | PageRequest.LAST_PAGE
                | PageRequest.RESPONSE_NEEDS_PASID);
        assertThat(r.perm()).isEqualTo(PageRequest.PERM_READ);
        assertThat(r.addr()).isEqualTo(IOVA);

        long frame = f.dev.physical().allocateFrame() << PhysicalMemory.PAGE_SHIFT;
        f.dev.physical().write(frame, new byte[] {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, 0, 20);
        X86.map(cr3, IOVA, frame, 4096, PageTableFormat.READ | PageTableFormat.WRITE, amd.tables(), amd.allocator());
        long completions = hw.pprCompletions();
        IoPageFault.groupResponse(groups.get(0), PageResponse.SUCCESS);
        assertThat(hw.pprCompletions()).isEqualTo(completions + 1);
        long tail = hw.read(AmdRegisters.CMD_TAIL);
        long at = amd.commandBuffer() + (tail - 16 + 8192) % 8192;
        long c0 = f.dev.physical().readLong(at);
        long c1 = f.dev.physical().readLong(at + 8);
        assertThat(AmdCommand.opcode(c0)).isEqualTo(AmdCommand.COMPLETE_PPR_REQUEST);
        assertThat(c0 & 0xffff).isEqualTo(devid);
        assertThat((c0 >>> 32) & 0xfffff).isEqualTo(PASID);
        assertThat(c1 & AmdCommand.INV_GN).isNotZero();
        assertThat((c1 >>> 32) & 0x1ff).isEqualTo(r.grpid());
        assertThat((c1 >>> 44) & 0xf).isZero();
        assertThat(d.result().ok()).isTrue();
        assertThat(d.buffer).containsOnly((byte) 9);
    }

    @Test
    void invalidAbortsTheDma() {
        sva();
        Dma d = f.startDma("pri0", PASID, IOVA, 8, true, new byte[8]);
        assertThat(groups).hasSize(1);
        assertThat(groups.get(0).last().perm()).isEqualTo(PageRequest.PERM_READ | PageRequest.PERM_WRITE);
        IoPageFault.groupResponse(groups.get(0), PageResponse.INVALID);
        assertThat(d.result().ok()).isFalse();
        assertThat(d.result().fault().name()).isEqualTo("IO_PAGE_FAULT");
    }

    @Test
    void requestsWithoutAPasidFailAsLinuxRefusesThem() {
        int devId = f.bind("pri0");
        int ioas = f.t.ioasAlloc();
        f.faultAlloc();
        f.attach(devId, f.iopfHwpt(devId, ioas));
        assertThat(pri0.pri().enabled()).isTrue();
        long completions = hw.pprCompletions();
        Dma d = f.startDma("pri0", IOVA, 8);
        assertThat(d.done()).isTrue();
        assertThat(d.result().ok()).isFalse();
        assertThat(hw.pprRequestsLogged()).isEqualTo(1);
        assertThat(hw.pprCompletions()).isEqualTo(completions + 1);
        assertThat(f.read(1)).isEmpty();
    }

    @Test
    void aDteWithoutPprRefusesTheRequest() {
        IommuDevice plain = f.device("plain0");
        int plainDevid = f.platform.device("plain0").requesterId();
        assertThat(amd.dte(plain)[0] & DeviceTableEntry.PPR).isZero();
        hw.pprRequest(plainDevid, true, PASID, true, false, false, true, true, 4, IOVA);
        List<AmdEvent> events = amd.pollEvents();
        assertThat(events).extracting(AmdEvent::code).containsExactly(AmdEvent.INVALID_PPR_REQUEST);
        assertThat(hw.pprRequestsLogged()).isZero();
        plain.pri().deliver();
        assertThat(plain.pri().unexpectedResponses()).isEqualTo(1);
    }

    @Test
    void overflowLosesTheRequestAnswersItAndTheLogIsRestarted() {
        sva();
        long control = hw.read(AmdRegisters.CONTROL);
        hw.write(AmdRegisters.CONTROL, control & ~AmdRegisters.CONTROL_PPRINT_EN);
        int slots = PprLogHandler.LOG_BYTES / PprLogEntry.SIZE - 1;
        for (int i = 0; i < slots; i++) {
            hw.pprRequest(devid, true, PASID, true, false, false, true, false, 6, IOVA);
        }
        hw.pprRequest(devid, true, PASID, true, false, false, true, true, 6, IOVA);
        assertThat(hw.read(AmdRegisters.STATUS) & AmdRegisters.STATUS_PPR_OVERFLOW).isNotZero();
        assertThat(hw.read(AmdRegisters.STATUS) & AmdRegisters.STATUS_PPR_RUN).isZero();
        assertThat(hw.pprRequestsLost()).isEqualTo(1);
        pri0.pri().deliver();
        assertThat(pri0.pri().unexpectedResponses()).isEqualTo(1);
        hw.write(AmdRegisters.CONTROL, control);
        amd.handlePprLog();
        assertThat(amd.pprLogRestarts()).isEqualTo(1);
        assertThat(hw.read(AmdRegisters.STATUS) & AmdRegisters.STATUS_PPR_OVERFLOW).isZero();
        assertThat(hw.read(AmdRegisters.STATUS) & AmdRegisters.STATUS_PPR_RUN).isNotZero();
        assertThat(IoPageFault.partialCount(pri0)).isEqualTo(slots); // Linux keeps partials after a PPR overflow
        Dma d = f.startDma("pri0", PASID, IOVA, 8, false, null);
        assertThat(groups).isNotEmpty();
        assertThat(d.done()).isFalse();
    }
}
