package io.uiommu.hw.amd;

import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.Translation;
import io.uiommu.pt.PageTableFormat;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** DMA translation through v1 host tables, v2 tables behind GCR3, SVA PASIDs and nested guest tables. */
class AmdTranslationTest {
    final AmdFixture f = new AmdFixture();

    @Test
    void v1DomainTranslatesThroughTheDteAndThreeLevels() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        AmdPagingDomain d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        long pa = f.frame();
        d.map(0x10_0000, pa, 4096, AmdFixture.RW);

        long[] dte = f.iommu.dte(dev);
        assertThat(DeviceTableEntry.mode(dte[0])).isEqualTo(3);
        assertThat(DeviceTableEntry.root(dte[0])).isEqualTo(d.root());
        assertThat(DeviceTableEntry.domainId(dte[1])).isEqualTo(d.domainId());

        Translation t = f.read(dev, 0x10_0123);
        assertThat(t.faulted).isFalse();
        assertThat(t.physAddr).isEqualTo(pa + 0x123);
        assertThat(t.pageSize).isEqualTo(4096);
        assertThat(t.cacheHit).isFalse();
        assertThat(t.descriptorReads).isEqualTo(3);

        Translation again = f.read(dev, 0x10_0456);
        assertThat(again.cacheHit).isTrue();
        assertThat(again.descriptorReads).isZero();
        assertThat(again.physAddr).isEqualTo(pa + 0x456);
        assertThat(d.iovaToPhys(0x10_0010)).isEqualTo(pa + 0x10);
    }

    @Test
    void v1TableGrowsALevelAndTheDteFollows() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        AmdPagingDomain d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        long low = f.frame();
        long high = f.frame();
        d.map(0x1000, low, 4096, AmdFixture.RW);
        assertThat(f.read(dev, 0x1000).physAddr).isEqualTo(low);
        d.map(1L << 40, high, 4096, AmdFixture.RW);
        assertThat(d.levels()).isEqualTo(4);
        assertThat(DeviceTableEntry.mode(f.iommu.dte(dev)[0])).isEqualTo(4);
        Translation t = f.read(dev, 1L << 40);
        assertThat(t.physAddr).isEqualTo(high);
        assertThat(t.descriptorReads).isEqualTo(4);
        assertThat(f.read(dev, 0x1000).physAddr).as("old mappings survive the new top").isEqualTo(low);
        d.map(1L << 60, f.frame(), 4096, AmdFixture.RW);
        assertThat(d.levels()).isEqualTo(6);
        assertThat(f.read(dev, 1L << 60).faulted).isFalse();
    }

    @Test
    void v1TableGrowsUntilALeafOfTheSizeFits() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        AmdPagingDomain d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        // 256 TiB at 0 fits the IOVA bits of mode 4 but only a level-5 entry can hold the leaf.
        d.map(0, 0, 1L << 48, AmdFixture.RW);
        assertThat(d.levels()).isEqualTo(5);
        Translation t = f.read(dev, 0x1234_5678L);
        assertThat(t.physAddr).isEqualTo(0x1234_5678L);
        assertThat(t.pageSize).isEqualTo(1L << 48);
        assertThat(t.descriptorReads).isEqualTo(1);
    }

    @Test
    void sizesBetweenLevelsAreNextLevel7Leaves() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        AmdPagingDomain d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        long pa = 0x1_0000_0000L;
        d.map(0x10_0000, pa, 0x1_0000, AmdFixture.RW);
        Translation t = f.read(dev, 0x10_f008);
        assertThat(t.physAddr).isEqualTo(pa + 0xf008);
        assertThat(t.pageSize).isEqualTo(0x1_0000);
        long pte = f.memory.readLong(f.leafPte(d, 0x10_f008));
        assertThat(pte >>> 9 & 7).as("NextLevel 7").isEqualTo(7);
        assertThat(pte & AmdFixture.PTE_ADDRESS).as("size run 0x7000 over the base").isEqualTo(pa | 0x7000);
        assertThat(d.unmap(0x10_0000, 0x1_0000)).isEqualTo(0x1_0000);
        assertThat(f.read(dev, 0x10_f008).faulted).isTrue();
    }

    @Test
    void hugeLeavesTranslateWithTheirSize() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        AmdPagingDomain d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        long pa = 0x4000_0000L;
        d.map(0x20_0000, pa, 2 << 20, AmdFixture.RW);
        Translation t = f.read(dev, 0x20_0000 + 0x12_3456);
        assertThat(t.physAddr).isEqualTo(pa + 0x12_3456);
        assertThat(t.pageSize).isEqualTo(2 << 20);
        assertThat(t.descriptorReads).isEqualTo(2);
        assertThat(f.read(dev, 0x20_0000 + 0x1f_0000).cacheHit).as("one IOTLB entry for the 2 MiB page").isTrue();
    }

    @Test
    void readOnlyMappingFaultsOnWriteWithAnEventRecord() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        AmdPagingDomain d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        d.map(0x5000, f.frame(), 4096, 1);
        f.iommu.pollEvents();
        Translation t = f.translate(dev, Translation.NO_PASID, 0x5008, true);
        assertThat(t.faulted).isTrue();
        assertThat(t.faultCode).isEqualTo(AmdEvent.IO_PAGE_FAULT);
        assertThat(t.faultName).isEqualTo("IO_PAGE_FAULT");
        assertThat(t.faultLevel).isEqualTo(1);
        List<AmdEvent> events = f.iommu.pollEvents();
        assertThat(events).hasSize(1);
        AmdEvent e = events.get(0);
        assertThat(e.code()).isEqualTo(AmdEvent.IO_PAGE_FAULT);
        assertThat(e.deviceId()).isEqualTo(0x0100);
        assertThat(e.pasidOrDomain()).isEqualTo(d.domainId());
        assertThat(e.address()).isEqualTo(0x5008);
        assertThat(e.flags()).isEqualTo(AmdEvent.FLAG_PR | AmdEvent.FLAG_PE | AmdEvent.FLAG_RW);
        assertThat(f.read(dev, 0x5008).faulted).as("reads still allowed").isFalse();
    }

    @Test
    void unmappedAddressFaultsNotPresentAtTheLevelThatWasEmpty() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        AmdPagingDomain d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        d.map(0x1000, f.frame(), 4096, AmdFixture.RW);
        Translation t = f.read(dev, 0x4000_0000L);
        assertThat(t.faulted).isTrue();
        assertThat(t.faultLevel).isEqualTo(3);
        assertThat(f.read(dev, 0x2000).faultLevel).isEqualTo(1);
        List<AmdEvent> events = f.iommu.pollEvents();
        assertThat(events).extracting(AmdEvent::flags).containsExactly(0, 0);
        assertThat(events).extracting(AmdEvent::address).containsExactly(0x4000_0000L, 0x2000L);
    }

    @Test
    void blockedDeviceFaultsAndDmaStopsAtTheFault() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        Translation t = f.read(dev, 0x1000);
        assertThat(t.faulted).isTrue();
        assertThat(f.iommu.pollEvents()).singleElement()
                .satisfies(e -> assertThat(e.flags()).isEqualTo(AmdEvent.FLAG_PR | AmdEvent.FLAG_PE));

        AmdPagingDomain d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        long pa = f.frame();
        d.map(0x1000, pa, 4096, AmdFixture.RW);
        IommuCore core = IommuCore.withMockIommu(f.memory);
        byte[] data = new byte[6000];
        data[0] = 42;
        DmaResult r = core.dma(dev, Translation.NO_PASID, 0x1000, data, 0, data.length, true);
        assertThat(r.bytesDone()).isEqualTo(4096);
        assertThat(r.fault().name()).isEqualTo("IO_PAGE_FAULT");
        assertThat(r.fault().iova()).isEqualTo(0x2000);
        assertThat(f.memory.readLong(pa) & 0xff).isEqualTo(42);

        core.detachDevice(dev);
        assertThat(f.read(dev, 0x1000).faulted).as("detach reaches the hardware").isTrue();
    }

    @Test
    void illegalDteIsReportedAsIllegalDevTableEntry() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        long entry = f.iommu.deviceTable() + 0x100 * 32L;
        f.memory.writeLong(entry, DeviceTableEntry.hostQ0(0x1000_0000L, 7));
        f.iommu.invalidateDte(dev);
        Translation t = f.read(dev, 0x1000);
        assertThat(t.faultCode).isEqualTo(AmdEvent.ILLEGAL_DEV_TABLE_ENTRY);
        assertThat(t.faultName).isEqualTo("ILLEGAL_DEV_TABLE_ENTRY");
        AmdEvent e = f.iommu.pollEvents().get(0);
        assertThat(e.code()).isEqualTo(AmdEvent.ILLEGAL_DEV_TABLE_ENTRY);
        assertThat(e.address()).isEqualTo(entry);
        assertThat(e.has(AmdEvent.FLAG_RZ)).isTrue();
    }

    @Test
    void invalidDteIsPassedThroughUntranslated() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        f.memory.writeLong(f.iommu.deviceTable() + 0x100 * 32L, 0);
        f.iommu.invalidateDte(dev);
        Translation t = f.read(dev, 0x1234_5678L);
        assertThat(t.faulted).isFalse();
        assertThat(t.physAddr).isEqualTo(0x1234_5678L);
    }

    @Test
    void v2DomainTranslatesRequestsWithoutPasidThroughGcr3Entry0() {
        AmdDevice dev = f.device("gpu0", "02:00.0", 16);
        AmdPagingDomain d = (AmdPagingDomain) f.iommu.domainAllocUser(dev, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null,
                null);
        assertThat(d.pageTable()).isEqualTo(AmdPagingDomain.PageTable.V2);
        assertThat(d.apertureEnd()).isEqualTo((1L << 47) - 1);
        f.iommu.attachDev(d, dev);
        long[] dte = f.iommu.dte(dev);
        assertThat(dte[0] & (DeviceTableEntry.GV | DeviceTableEntry.GIOV)).isEqualTo(
                DeviceTableEntry.GV | DeviceTableEntry.GIOV);
        assertThat(DeviceTableEntry.mode(dte[0])).isZero();
        assertThat(DeviceTableEntry.glx(dte[0])).isEqualTo(1);
        long gcr3 = DeviceTableEntry.gcr3Root(dte[0], dte[1]);
        assertThat(gcr3).isNotZero();

        long pa = f.frame();
        d.map(0x7000, pa, 4096, AmdFixture.RW);
        Translation t = f.translate(dev, Translation.NO_PASID, 0x7010, true);
        assertThat(t.faulted).isFalse();
        assertThat(t.physAddr).isEqualTo(pa + 0x10);
        // 2 GCR3 levels + 4 guest levels
        assertThat(t.descriptorReads).isEqualTo(6);
        assertThat(f.translate(dev, 5, 0x7010, false).faulted).as("no table at PASID 5").isTrue();
        assertThat(f.iommu.pollEvents()).singleElement().satisfies(e -> {
            assertThat(e.has(AmdEvent.FLAG_GN)).isTrue();
            assertThat(e.pasidOrDomain()).isEqualTo(5);
        });
    }

    @Test
    void svaDomainServesAPasidThroughTheGcr3Table() {
        AmdDevice dev = f.device("gpu0", "02:00.0", 16);
        AmdPagingDomain rid = (AmdPagingDomain) f.iommu.domainAllocUser(dev, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null,
                null);
        f.iommu.attachDev(rid, dev);
        long pa = f.frame();
        long cr3 = f.x86Table(0x4000_1000L, pa);
        AmdSvaDomain sva = f.iommu.domainAllocSva(dev, cr3);
        f.iommu.setDevPasid(sva, dev, 7);
        assertThat(dev.programmedDomain(7)).isSameAs(sva);

        Translation t = f.translate(dev, 7, 0x4000_1abcL, true);
        assertThat(t.faulted).isFalse();
        assertThat(t.physAddr).isEqualTo(pa + 0xabc);
        assertThat(f.translate(dev, Translation.NO_PASID, 0x4000_1abcL, false).faulted)
                .as("the RID has its own table").isTrue();
        f.iommu.pollEvents();

        f.iommu.removeDevPasid(dev, 7);
        assertThat(f.translate(dev, 7, 0x4000_1abcL, false).faulted).as("removal flushes the PASID").isTrue();
    }

    @Test
    void pasidRequestOnAV1DteFaults() {
        AmdDevice dev = f.device("nic0", "01:00.0", 16);
        AmdPagingDomain d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        d.map(0x1000, f.frame(), 4096, AmdFixture.RW);
        assertThat(f.translate(dev, 3, 0x1000, false).faulted).isTrue();
        assertThat(f.read(dev, 0x1000).faulted).isFalse();
    }

    @Test
    void nestedGuestTablesAtGuestPhysicalAddressesGoThroughTheHostTable() {
        AmdDevice dev = f.device("vf0", "03:00.0", 0);
        AmdPagingDomain parent = (AmdPagingDomain) f.iommu.domainAllocUser(dev,
                AmdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT, null, null);
        // Guest RAM: GPA [0, 1 MiB) backed by host frames, mapped by the host table.
        long[] ram = new long[256];
        for (int i = 0; i < ram.length; i++) {
            ram[i] = f.frame();
            parent.map(i * 4096L, ram[i], 4096, AmdFixture.RW);
        }
        // The guest builds in its RAM: a 1-level GCR3 table at GPA 0x1000, PASID 0 -> CR3 at GPA 0x2000,
        // a 4-level table there (tables at GPA 0x3000..0x5000) mapping GVA 0x8000_0000 -> GPA 0x9000.
        long gcr3Gpa = 0x1000;
        f.memory.writeLong(ram[1], 0x2000 | 1);
        long[] tableGpa = {0x2000, 0x3000, 0x4000, 0x5000};
        long gva = 0x8000_0000L;
        for (int level = 4; level >= 1; level--) {
            int idx = (int) (gva >>> (12 + 9 * (level - 1)) & 511);
            long next = level > 1 ? tableGpa[4 - level + 1] : 0x9000;
            long flags = level > 1 ? 0x7 : 0x67;
            f.memory.writeLong(ram[(int) (tableGpa[4 - level] >>> 12)] + idx * 8L, next | flags);
        }
        long[] gdte = {DeviceTableEntry.V | DeviceTableEntry.GV | DeviceTableEntry.GIOV | DeviceTableEntry.gcr3Q0(
                gcr3Gpa), 0x42 | DeviceTableEntry.gcr3Q1(gcr3Gpa), 0, 0};
        AmdNestedDomain nested = f.iommu.allocDomainNested(parent, gdte);
        f.iommu.attachDev(nested, dev);
        assertThat(nested.parent()).isSameAs(parent);
        assertThat(DeviceTableEntry.domainId(f.iommu.dte(dev)[1])).isEqualTo(nested.hostDomainId());

        Translation t = f.translate(dev, Translation.NO_PASID, gva + 0x44, true);
        assertThat(t.faulted).isFalse();
        assertThat(t.physAddr).isEqualTo(ram[9] + 0x44);
        // GCR3 entry (1 + 3 host) + 4 guest levels (each 1 + 3 host) + final GPA (3 host) = 23, plus
        // the guest's three table entries without A: setting it is a write to a GPA (3 host reads each).
        assertThat(t.descriptorReads).isEqualTo(23 + 3 * 3);
        assertThat(f.memory.readLong(ram[2] + (gva >>> 39 & 511) * 8) & 0x20).as("guest PML4E accessed").isNotZero();

        // Once A is set, a walk (another page under the same tables) is reads only.
        f.memory.writeLong(ram[5] + ((gva + 0x1000) >>> 12 & 511) * 8, 0xa000 | 0x67);
        Translation t2 = f.translate(dev, Translation.NO_PASID, gva + 0x1000, false);
        assertThat(t2.physAddr).isEqualTo(ram[10]);
        assertThat(t2.descriptorReads).isEqualTo(23);

        // A guest table outside what the host maps is a stage-2 fault.
        f.memory.writeLong(ram[1] + 8, 0x0100_0000L | 1);
        Translation bad = f.translate(dev, 1, gva, false);
        assertThat(bad.faulted).isTrue();
        assertThat(bad.faultStage2).isTrue();
    }

    @Test
    void dteReadAndWritePermissionsGateEveryTranslation() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        AmdPagingDomain d = f.v1(dev);
        f.iommu.attachDev(d, dev);
        d.map(0x1000, f.frame(), 4096, AmdFixture.RW);
        long entry = f.iommu.deviceTable() + 0x100 * 32L;
        f.memory.writeLong(entry, f.memory.readLong(entry) & ~DeviceTableEntry.IW);
        f.iommu.invalidateDte(dev);
        assertThat(f.read(dev, 0x1000).faulted).isFalse();
        Translation w = f.translate(dev, Translation.NO_PASID, 0x1000, true);
        assertThat(w.faulted).isTrue();
        long pte = f.memory.readLong(f.leafPte(d, 0x1000));
        assertThat(pte & AmdFixture.V1_DIRTY).as("a refused write leaves no dirty bit").isZero();
        assertThat(PageTableFormat.WRITE).isEqualTo(2);
    }
}
