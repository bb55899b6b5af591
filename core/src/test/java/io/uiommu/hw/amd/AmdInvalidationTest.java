package io.uiommu.hw.amd;

import io.uiommu.iommu.StaleTranslation;
import io.uiommu.iommu.Translation;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Caches and the command buffer: a PTE or DTE rewritten in memory without the matching command is
 * still served from the IOTLB or DTE cache (and the auditor reports it); the command makes the new
 * bytes count. One test per invalidation granularity.
 */
class AmdInvalidationTest {
    final AmdFixture f = new AmdFixture();
    AmdDevice dev;
    AmdPagingDomain d;
    long oldPa;
    long newPa;

    @BeforeEach
    void setUp() {
        f.auditor.setEnabled(true);
        dev = f.device("nic0", "01:00.0", 16);
        d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        oldPa = f.frame();
        newPa = f.frame();
        d.map(0x40_0000, oldPa, 4096, AmdFixture.RW);
        d.map(0x40_1000, f.frame(), 4096, AmdFixture.RW);
    }

    /** Rewrites the PTE of 0x40_0000 to point at newPa (no command) and checks the old one is served. */
    private void rewritePteWithoutInvalidation() {
        assertThat(f.read(dev, 0x40_0000).physAddr).isEqualTo(oldPa);
        long pte = f.leafPte(d, 0x40_0000);
        long v = f.memory.readLong(pte);
        f.auditor.setStep("step: rewrite PTE");
        f.memory.writeLong(pte, v & ~AmdFixture.PTE_ADDRESS | newPa);
        f.auditor.setStep("step: DMA");
        Translation stale = f.read(dev, 0x40_0000);
        assertThat(stale.cacheHit).isTrue();
        assertThat(stale.physAddr).as("hardware serves the cached translation").isEqualTo(oldPa);
        assertThat(f.auditor.reports()).singleElement().satisfies(r -> {
            assertThat(r.vendor()).isEqualTo("amd");
            assertThat(r.cache()).isEqualTo("IOTLB");
            assertThat(r.descriptor()).isEqualTo(pte);
            assertThat(r.changedAt()).isEqualTo("step: rewrite PTE");
            assertThat(r.servedAt()).isEqualTo("step: DMA");
        });
        f.auditor.clearReports();
    }

    private void assertNewTranslation() {
        Translation t = f.read(dev, 0x40_0000);
        assertThat(t.cacheHit).isFalse();
        assertThat(t.physAddr).isEqualTo(newPa);
        assertThat(f.auditor.reports()).isEmpty();
    }

    @Test
    void singlePageInvalidation() {
        rewritePteWithoutInvalidation();
        f.iommu.queueRaw(AmdCommand.invalidateIommuPages(d.domainId(), 0, false, 0x40_1000, 4096)[0],
                AmdCommand.invalidateIommuPages(d.domainId(), 0, false, 0x40_1000, 4096)[1]);
        assertThat(f.read(dev, 0x40_0000).physAddr).as("another page's invalidation leaves it").isEqualTo(oldPa);
        f.auditor.clearReports();
        long[] cmd = AmdCommand.invalidateIommuPages(d.domainId(), 0, false, 0x40_0000, 4096);
        f.iommu.queueRaw(cmd[0], cmd[1]);
        assertNewTranslation();
    }

    @Test
    void rangeInvalidationWithTheSizeBit() {
        rewritePteWithoutInvalidation();
        long[] cmd = AmdCommand.invalidateIommuPages(d.domainId(), 0, false, 0x40_0000, 0x10_0000);
        assertThat(cmd[1] & AmdCommand.INV_S).isNotZero();
        f.iommu.queueRaw(cmd[0], cmd[1]);
        assertNewTranslation();
    }

    @Test
    void wholeDomainInvalidationWithTheAllAddress() {
        rewritePteWithoutInvalidation();
        long[] other = AmdCommand.invalidateIommuPages(d.domainId() + 1, 0, false, 0, -1);
        f.iommu.queueRaw(other[0], other[1]);
        assertThat(f.read(dev, 0x40_0000).physAddr).as("another DomainID's flush leaves it").isEqualTo(oldPa);
        f.auditor.clearReports();
        long[] cmd = AmdCommand.invalidateIommuPages(d.domainId(), 0, false, 0, -1);
        assertThat(cmd[1] & AmdCommand.INV_ADDRESS).isEqualTo(0x7fff_ffff_ffff_f000L);
        f.iommu.queueRaw(cmd[0], cmd[1]);
        assertNewTranslation();
    }

    @Test
    void invalidateIommuAll() {
        rewritePteWithoutInvalidation();
        f.iommu.invalidateAll();
        assertNewTranslation();
    }

    @Test
    void unmapFlushesBeforeItReturns() {
        assertThat(f.read(dev, 0x40_0000).faulted).isFalse();
        d.unmap(0x40_0000, 4096);
        assertThat(f.read(dev, 0x40_0000).faulted).isTrue();
        assertThat(f.read(dev, 0x40_1000).faulted).isFalse();
        assertThat(f.auditor.reports()).isEmpty();
    }

    @Test
    void guestInvalidationIsPerPasid() {
        AmdDevice gpu = f.device("gpu0", "02:00.0", 16);
        AmdPagingDomain rid = (AmdPagingDomain) f.iommu.domainAllocUser(gpu, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null,
                null);
        f.iommu.attachDev(rid, gpu);
        long a = f.frame();
        long b = f.frame();
        long cr3 = f.x86Table(0x10_0000, a);
        AmdSvaDomain sva = f.iommu.domainAllocSva(gpu, cr3);
        f.iommu.setDevPasid(sva, gpu, 3);
        f.iommu.setDevPasid(sva, gpu, 4);
        assertThat(f.translate(gpu, 3, 0x10_0000, false).physAddr).isEqualTo(a);
        assertThat(f.translate(gpu, 4, 0x10_0000, false).physAddr).isEqualTo(a);
        // The process's table changes; the "mm notifier" forgets to tell PASID 4.
        long pte = leafOf(cr3, 0x10_0000);
        f.auditor.setStep("process page table edit");
        f.memory.writeLong(pte, f.memory.readLong(pte) & ~AmdFixture.PTE_ADDRESS | b);
        int domid = DeviceTableEntry.domainId(f.iommu.dte(gpu)[1]);
        long[] cmd = AmdCommand.invalidateIommuPages(domid, 3, true, 0x10_0000, 4096);
        f.iommu.queueRaw(cmd[0], cmd[1]);
        f.auditor.setStep("DMA");
        assertThat(f.translate(gpu, 3, 0x10_0000, false).physAddr).isEqualTo(b);
        assertThat(f.auditor.reports()).isEmpty();
        Translation stale = f.translate(gpu, 4, 0x10_0000, false);
        assertThat(stale.physAddr).isEqualTo(a);
        assertThat(f.auditor.reports()).singleElement().extracting(StaleTranslation::entry)
                .asString().contains("pasid 0x4");
        f.iommu.invalidateSva(sva, 0x10_0000, 4096);
        assertThat(f.translate(gpu, 4, 0x10_0000, false).physAddr).isEqualTo(b);
    }

    @Test
    void gcr3EntryRewrittenWithoutInvalidationIsReported() {
        AmdDevice gpu = f.device("gpu0", "02:00.0", 16);
        AmdPagingDomain rid = (AmdPagingDomain) f.iommu.domainAllocUser(gpu, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null,
                null);
        f.iommu.attachDev(rid, gpu);
        long a = f.frame();
        long cr3 = f.x86Table(0x10_0000, a);
        AmdSvaDomain sva = f.iommu.domainAllocSva(gpu, cr3);
        f.iommu.setDevPasid(sva, gpu, 3);
        Translation first = f.translate(gpu, 3, 0x10_0000, false);
        assertThat(first.physAddr).isEqualTo(a);
        assertThat(first.descriptorReads).as("2 GCR3 levels + 4 guest levels").isEqualTo(6);
        // The GCR3 entry of PASID 3 (second level) is pointed elsewhere without a command.
        long level1 = f.memory.readLong(gpu.gcr3.root) & AmdFixture.PTE_ADDRESS;
        long entry = level1 + 3 * 8;
        f.auditor.setStep("GCR3 entry rewritten");
        f.memory.writeLong(entry, f.x86Table(0x10_0000, f.frame()) | 1);
        f.auditor.setStep("DMA");
        assertThat(f.translate(gpu, 3, 0x10_0000, false).physAddr).as("IOTLB still serves it").isEqualTo(a);
        assertThat(f.auditor.reports()).singleElement().satisfies(r -> {
            assertThat(r.cache()).isEqualTo("IOTLB");
            assertThat(r.descriptor()).as("the GCR3 read was recorded with the guest walk").isEqualTo(entry);
            assertThat(r.changedAt()).isEqualTo("GCR3 entry rewritten");
        });
    }

    private long leafOf(long cr3, long va) {
        io.uiommu.pt.Walk w = new io.uiommu.pt.Walk();
        w.record = true;
        w.reset(va);
        AmdFixture.X86_4_LEVEL.walk(cr3, va, 0, false, f.iommu.tables(), w);
        return w.recordedAddress[w.recorded - 1];
    }

    @Test
    void dteCacheServesTheOldEntryUntilInvalidateDevtabEntry() {
        assertThat(f.read(dev, 0x40_0000).faulted).isFalse();
        long entry = f.iommu.deviceTable() + dev.deviceId() * 32L;
        f.auditor.setStep("DTE cleared");
        f.memory.writeLong(entry, DeviceTableEntry.BLOCKED_Q0);
        f.auditor.setStep("DMA");
        assertThat(f.read(dev, 0x40_0000).faulted).as("cached DTE still translates").isFalse();
        assertThat(f.auditor.reports()).singleElement().satisfies(r -> {
            assertThat(r.cache()).isEqualTo("DTE cache");
            assertThat(r.descriptor()).isEqualTo(entry);
            assertThat(r.changedAt()).isEqualTo("DTE cleared");
        });
        f.iommu.queueRaw(AmdCommand.invalidateDevtabEntry(dev.deviceId())[0], 0);
        Translation t = f.read(dev, 0x40_0000);
        assertThat(t.faulted).as("the new DTE blocks (IOTLB entries are tagged by DomainID, now 0)").isTrue();
    }

    @Test
    void completionWaitStoresAndRaisesItsStatusBit() {
        long sem = f.frame();
        long[] cw = AmdCommand.completionWait(sem + 8, 0x1122_3344_5566_7788L, true);
        f.iommu.queueRaw(cw[0], cw[1]);
        assertThat(f.memory.readLong(sem + 8)).isEqualTo(0x1122_3344_5566_7788L);
        assertThat(f.hw.read(AmdRegisters.STATUS) & AmdRegisters.STATUS_COMWAIT_INT).isNotZero();
        f.hw.write(AmdRegisters.STATUS, AmdRegisters.STATUS_COMWAIT_INT);
        assertThat(f.hw.read(AmdRegisters.STATUS) & AmdRegisters.STATUS_COMWAIT_INT).isZero();
        assertThat(f.hw.read(AmdRegisters.CMD_HEAD)).isEqualTo(f.hw.read(AmdRegisters.CMD_TAIL));
    }

    @Test
    void illegalCommandIsLoggedAndStopsTheCommandBuffer() {
        f.iommu.pollEvents();
        long head = f.hw.read(AmdRegisters.CMD_HEAD);
        f.iommu.queueRaw(0xfL << 60, 0);
        assertThat(f.hw.commandsHalted()).isTrue();
        assertThat(f.hw.read(AmdRegisters.STATUS) & AmdRegisters.STATUS_CMDBUF_RUN).isZero();
        assertThat(f.hw.read(AmdRegisters.CMD_HEAD)).as("head stays on the bad command").isEqualTo(head);
        assertThat(f.iommu.pollEvents()).singleElement().satisfies(e -> {
            assertThat(e.code()).isEqualTo(AmdEvent.ILLEGAL_COMMAND_ERROR);
            assertThat(e.name()).isEqualTo("ILLEGAL_COMMAND_ERROR");
            assertThat(e.address()).isEqualTo(f.iommu.commandBuffer() + head);
        });
        // Nothing after it runs: the driver's completion wait never completes.
        long before = f.iommu.syncTimeouts();
        f.iommu.invalidateAll();
        assertThat(f.iommu.syncTimeouts()).isGreaterThan(before);
    }

    @Test
    void reservedBitsMakeACommandIllegal() {
        f.iommu.pollEvents();
        long[] bad = AmdCommand.invalidateDevtabEntry(0x100);
        f.iommu.queueRaw(bad[0] | 1L << 40, 0);
        assertThat(f.iommu.pollEvents()).extracting(AmdEvent::code).containsExactly(AmdEvent.ILLEGAL_COMMAND_ERROR);
    }

    @Test
    void acceptedCommandsRunInOrder() {
        long before = f.hw.commandsExecuted();
        f.iommu.queueRaw(AmdCommand.invalidateInterruptTable(0x100)[0], 0);
        long[] iotlb = AmdCommand.invalidateIotlbPages(0x100, 0, 0, false, 0, 4096);
        f.iommu.queueRaw(iotlb[0], iotlb[1]);
        f.iommu.queueRaw(AmdCommand.invalidateIommuAll()[0], 0);
        assertThat(f.hw.commandsExecuted() - before).isEqualTo(3);
        assertThat(f.hw.commandsHalted()).isFalse();
    }

    @Test
    void eventLogOverflowSetsTheStatusBitAndDropsRecords() {
        f.iommu.pollEvents();
        AmdDevice blocked = f.device("blk0", "05:00.0", 0);
        for (int i = 0; i < 600; i++) {
            f.read(blocked, i * 4096L);
        }
        assertThat(f.hw.read(AmdRegisters.STATUS) & AmdRegisters.STATUS_EVT_OVERFLOW).isNotZero();
        assertThat(f.iommu.pollEvents()).hasSize(511);
    }
}
