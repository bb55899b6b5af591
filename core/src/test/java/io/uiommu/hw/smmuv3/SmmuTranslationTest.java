package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.Translation;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.uiommu.iommu.IommuDomain.IOMMU_READ;
import static io.uiommu.iommu.IommuDomain.IOMMU_WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SmmuTranslationTest {
    static final long IOVA = 0x1234_5000L;
    final SmmuFixture f = new SmmuFixture();

    @Test
    void stage1MapTranslateThenHitTheTlb() {
        SmmuMaster dev = f.device("nic0", 0x100, 0);
        SmmuPagingDomain d = f.stage1(dev);
        long pa = f.frame();
        d.map(IOVA, pa, 4096, IOMMU_READ | IOMMU_WRITE);
        f.attach(dev, d);

        Translation t = f.read(dev, IOVA + 0x10);
        assertThat(t.faulted).as(t.toString()).isFalse();
        assertThat(t.physAddr).isEqualTo(pa + 0x10);
        assertThat(t.cacheHit).isFalse();
        assertThat(t.descriptorReads).isEqualTo(4); // 4K granule, 48-bit: levels 0..3

        Translation again = f.translate(dev, Translation.NO_PASID, IOVA + 0x20, true);
        assertThat(again.cacheHit).isTrue();
        assertThat(again.physAddr).isEqualTo(pa + 0x20);
        assertThat(again.descriptorReads).isZero();
    }

    @Test
    void steAndCdAreBytesInMemoryInTheSpecLayout() {
        SmmuMaster dev = f.device("nic0", 0x305, 0);
        SmmuPagingDomain d = f.stage1(dev);
        f.attach(dev, d);
        long ste = f.smmu.steAddress(0x305);
        long dw0 = f.memory.readLong(ste);
        assertThat(dw0 & 1).as("V").isEqualTo(1);
        assertThat((dw0 >>> 1) & 7).as("Config = S1 translate").isEqualTo(5);
        assertThat((dw0 >>> 4) & 3).as("S1Fmt linear").isZero();
        assertThat(dw0 >>> 59).as("S1CDMax").isZero();
        long cdTable = dw0 & 0x000F_FFFF_FFFF_FFC0L;
        assertThat(f.memory.readLong(ste + 8) & 3).as("S1DSS = SSID0").isEqualTo(2);
        long cd0 = f.memory.readLong(cdTable);
        assertThat(cd0 & 0x3f).as("T0SZ").isEqualTo(16);
        assertThat((cd0 >>> 6) & 3).as("TG0 4K").isZero();
        assertThat(cd0 >>> 31 & 1).as("V").isEqualTo(1);
        assertThat(cd0 >>> 41 & 1).as("AA64").isEqualTo(1);
        assertThat(cd0 >>> 45 & 1).as("R").isEqualTo(1);
        assertThat(cd0 >>> 46 & 1).as("A").isEqualTo(1);
        assertThat(cd0 >>> 48).as("ASID").isEqualTo(d.asid());
        assertThat(f.memory.readLong(cdTable + 8) & 0x000F_FFFF_FFFF_FFF0L).as("TTB0").isEqualTo(d.root());
        // the 2-level stream table: L1 descriptor with SPAN = SPLIT + 1 pointing at 256 STEs
        long cfg = f.hw.readRegister(Smmu.STRTAB_BASE_CFG);
        assertThat(cfg >>> 16 & 3).as("FMT 2-level").isEqualTo(1);
        assertThat(cfg >>> 6 & 0x1f).as("SPLIT").isEqualTo(8);
        long l1 = f.memory.readLong(f.hw.readRegister(Smmu.STRTAB_BASE) + 8 * 3);
        assertThat(l1 & 0x1f).as("SPAN").isEqualTo(9);
        assertThat((l1 & 0x000F_FFFF_FFFF_FFC0L) + 5 * 64).isEqualTo(ste);
    }

    @Test
    void linearStreamTableWhenIdr0HasNoTwoLevelSupport() {
        SmmuFixture lin = new SmmuFixture(SmmuFixture.unitWithIdr0(3 << 27, 0));
        assertThat(lin.hw.readRegister(Smmu.STRTAB_BASE_CFG) >>> 16 & 3).isZero();
        SmmuMaster dev = lin.device("nic0", 0x42, 0);
        assertThat(lin.smmu.steAddress(0x42)).isEqualTo(lin.hw.readRegister(Smmu.STRTAB_BASE) + 0x42 * 64);
        SmmuPagingDomain d = lin.stage1(dev);
        long pa = lin.frame();
        d.map(IOVA, pa, 4096, IOMMU_READ);
        lin.attach(dev, d);
        assertThat(lin.read(dev, IOVA).physAddr).isEqualTo(pa);
    }

    @Test
    void unmappedIovaIsATranslationFaultRecordedInTheEventQueue() {
        SmmuMaster dev = f.device("nic0", 0x100, 0);
        SmmuPagingDomain d = f.stage1(dev);
        f.attach(dev, d);
        Translation t = f.translate(dev, Translation.NO_PASID, IOVA, true);
        assertThat(t.faulted).isTrue();
        assertThat(t.faultCode).isEqualTo(Event.F_TRANSLATION);
        assertThat(t.faultName).isEqualTo("F_TRANSLATION");
        assertThat(t.faultLevel).as("the empty level-0 table").isZero();
        List<long[]> ev = f.events();
        assertThat(ev).hasSize(1);
        long[] e = ev.getFirst();
        assertThat(e[0] & 0xff).isEqualTo(0x10);
        assertThat(e[0] >>> 32).as("StreamID").isEqualTo(0x100);
        assertThat(e[0] >>> 11 & 1).as("SSV").isZero();
        assertThat(e[1] >>> 35 & 1).as("RnW: a write").isZero();
        assertThat(e[1] >>> 39 & 1).as("S2").isZero();
        assertThat(e[2]).as("input address").isEqualTo(IOVA);
    }

    @Test
    void writeToReadOnlyPageIsAPermissionFault() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain d = f.stage1(dev);
        d.map(IOVA, f.frame(), 4096, IOMMU_READ);
        f.attach(dev, d);
        assertThat(f.read(dev, IOVA).faulted).isFalse();
        Translation w = f.translate(dev, Translation.NO_PASID, IOVA, true);
        assertThat(w.faultName).isEqualTo("F_PERMISSION");
        assertThat(w.faultLevel).isEqualTo(3);
        assertThat(f.events()).extracting(e -> e[0] & 0xff).containsExactly((long) Event.F_PERMISSION);
    }

    @Test
    void blockedDeviceAbortsWithoutAnEventAndUnknownStreamIsCBadStreamId() {
        SmmuMaster dev = f.device("nic0", 7, 0);
        Translation t = f.read(dev, IOVA);
        assertThat(t.faulted).isTrue();
        assertThat(t.faultName).isEqualTo("STE_ABORT");
        assertThat(f.events()).isEmpty();

        Translation bad = new Translation();
        f.hw.translate(1 << 16, Translation.NO_PASID, 0, IOMMU_READ, bad);
        assertThat(bad.faultName).isEqualTo("C_BAD_STREAMID");
        Translation noL2 = new Translation();
        f.hw.translate(0x5000, Translation.NO_PASID, 0, IOMMU_READ, noL2); // bus 0x50 has no L2 table
        assertThat(noL2.faultName).isEqualTo("C_BAD_STREAMID");
        assertThat(f.events()).extracting(e -> e[0] & 0xff).containsExactly(2L, 2L);
    }

    @Test
    void invalidSteIsCBadSte() {
        SmmuMaster dev = f.device("nic0", 9, 0);
        f.memory.writeLong(f.smmu.steAddress(9), 0); // V = 0
        f.smmu.issue(Command.cfgiSte(9));
        assertThat(f.read(dev, 0).faultName).isEqualTo("C_BAD_STE");
        assertThat(f.events()).extracting(e -> e[0]).containsExactly(Event.C_BAD_STE | 9L << 32);
    }

    @Test
    void hugePagesTranslateAndCacheAsOneEntry() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain d = f.stage1(dev);
        long pa = 0x8000_0000L;
        d.map(0x4000_0000L, pa, 2L << 20, IOMMU_READ | IOMMU_WRITE);
        f.attach(dev, d);
        Translation t = f.read(dev, 0x4000_0000L + 0x12_3456);
        assertThat(t.physAddr).isEqualTo(pa + 0x12_3456);
        assertThat(t.pageSize).isEqualTo(2L << 20);
        assertThat(t.descriptorReads).isEqualTo(3);
        assertThat(f.read(dev, 0x4000_0000L + 0x1f_0000).cacheHit).isTrue();
    }

    @Test
    void unmapInvalidatesTheTlbThroughTheCommandQueue() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain d = f.stage1(dev);
        d.map(IOVA, f.frame(), 4096, IOMMU_READ);
        f.attach(dev, d);
        assertThat(f.read(dev, IOVA).faulted).isFalse();
        long consumed = f.hw.commandsConsumed();
        assertThat(d.unmap(IOVA, 4096)).isEqualTo(4096);
        assertThat(f.hw.commandsConsumed()).as("TLBI + CMD_SYNC").isEqualTo(consumed + 2);
        assertThat(f.read(dev, IOVA).faultName).isEqualTo("F_TRANSLATION");
    }

    @Test
    void pasidAttachWritesTheCdAtThatSsid() {
        SmmuMaster dev = f.device("nic0", 0x10, 8);
        SmmuPagingDomain rid = f.stage1(dev);
        SmmuPagingDomain pasidDomain = f.stage1(dev);
        long ridPa = f.frame();
        long pasidPa = f.frame();
        rid.map(IOVA, ridPa, 4096, IOMMU_READ);
        pasidDomain.map(IOVA, pasidPa, 4096, IOMMU_READ);
        f.attach(dev, rid);
        f.smmu.setDevPasid(pasidDomain, dev, 5, null);

        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(ridPa);
        assertThat(f.translate(dev, 5, IOVA, false).physAddr).isEqualTo(pasidPa);
        long cd5 = f.smmu.cdAddress(dev, 5);
        assertThat(cd5 - f.smmu.cdAddress(dev, 0)).isEqualTo(5 * 64);
        assertThat(f.memory.readLong(cd5) >>> 48).isEqualTo(pasidDomain.asid());
        assertThat(f.memory.readLong(f.smmu.steAddress(0x10)) >>> 59).as("S1CDMax").isEqualTo(8);

        // an SSID with nothing attached: the CD is invalid
        assertThat(f.translate(dev, 6, IOVA, false).faultName).isEqualTo("C_BAD_CD");
        // beyond S1CDMax
        assertThat(f.translate(dev, 256, IOVA, false).faultName).isEqualTo("C_BAD_SUBSTREAMID");
        long[] ev = f.events().get(1);
        assertThat(ev[0] >>> 11 & 1).as("SSV").isEqualTo(1);
        assertThat(ev[0] >>> 12 & 0xFFFFF).as("SSID").isEqualTo(256);

        f.smmu.removeDevPasid(dev, 5, null);
        assertThat(f.translate(dev, 5, IOVA, false).faultName).isEqualTo("C_BAD_CD");
    }

    @Test
    void pasidRules() {
        SmmuMaster dev = f.device("nic0", 0x10, 4);
        SmmuPagingDomain s1 = f.stage1(dev);
        assertErrno(() -> f.smmu.setDevPasid(s1, dev, 16, null), Errno.EINVAL);
        assertErrno(() -> f.smmu.setDevPasid(s1, dev, 0, null), Errno.EINVAL);
        f.smmu.setDevPasid(s1, dev, 3, null);
        assertErrno(() -> f.smmu.setDevPasid(s1, dev, 3, null), Errno.EBUSY);
        // a stage-2 RID domain cannot sit under a CD table with PASIDs in use
        SmmuPagingDomain s2 = f.nestParent(dev);
        assertErrno(() -> f.attach(dev, s2), Errno.EBUSY);
        assertErrno(() -> f.smmu.setDevPasid(s2, dev, 4, null), Errno.EINVAL);
        // blocked RID with a PASID: the STE is a CD-table STE whose no-SSID traffic terminates
        Translation t = f.read(dev, IOVA);
        assertThat(t.faultName).isEqualTo("F_STREAM_DISABLED");
        f.smmu.removeDevPasid(dev, 3, null);
        assertThat(f.read(dev, IOVA).faultName).isEqualTo("STE_ABORT");
        SmmuMaster noPasid = f.device("nic1", 0x11, 0);
        assertErrno(() -> f.smmu.setDevPasid(s1, noPasid, 1, null), Errno.EINVAL);
    }

    @Test
    void twoLevelCdTableForWidePasids() {
        SmmuMaster dev = f.device("nic0", 0x20, 16);
        SmmuPagingDomain d = f.stage1(dev);
        long pa = f.frame();
        d.map(IOVA, pa, 4096, IOMMU_READ);
        f.smmu.setDevPasid(d, dev, 3000, null);
        long ste0 = f.memory.readLong(f.smmu.steAddress(0x20));
        assertThat(ste0 >>> 4 & 3).as("S1Fmt = 64K L2").isEqualTo(2);
        long l1 = f.memory.readLong((ste0 & 0x000F_FFFF_FFFF_FFC0L) + 8 * (3000 / 1024));
        assertThat(l1 & 1).as("L1 V").isEqualTo(1);
        assertThat((l1 & ~0xfffL) + (3000 % 1024) * 64).isEqualTo(f.smmu.cdAddress(dev, 3000));
        assertThat(f.translate(dev, 3000, IOVA, false).physAddr).isEqualTo(pa);
        assertThat(f.translate(dev, 1000, IOVA, false).faultName).as("L1 descriptor invalid")
                .isEqualTo("C_BAD_SUBSTREAMID");
    }

    @Test
    void stage2DomainTranslatesByVmid() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain s2 = f.nestParent(dev);
        long pa = f.frame();
        s2.map(IOVA, pa, 4096, IOMMU_READ | IOMMU_WRITE);
        f.attach(dev, s2);
        long ste = f.smmu.steAddress(1);
        assertThat((f.memory.readLong(ste) >>> 1) & 7).as("Config S2").isEqualTo(6);
        long dw2 = f.memory.readLong(ste + 16);
        assertThat(dw2 & 0xffff).as("S2VMID").isEqualTo(s2.vmid());
        assertThat(dw2 >>> 32 & 0x3f).as("S2T0SZ").isEqualTo(16);
        assertThat(dw2 >>> 38 & 3).as("S2SL0: start level 0").isEqualTo(2);
        assertThat(dw2 >>> 51 & 1).as("S2AA64").isEqualTo(1);
        assertThat(f.memory.readLong(ste + 24)).as("S2TTB").isEqualTo(s2.root());
        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(pa);
        assertThat(f.read(dev, IOVA + 4096).faultStage2).isTrue();
        long[] ev = f.events().getFirst();
        assertThat(ev[1] >>> 39 & 1).as("S2").isEqualTo(1);
        assertThat(ev[1] >>> 40 & 3).as("CLASS IN").isEqualTo(Event.CLASS_IN);
        assertThat(ev[3]).as("IPA").isEqualTo(IOVA + 4096);
        // PASID traffic to an S2-only stream
        assertThat(f.translate(dev, 1, IOVA, false).faultName).isEqualTo("C_BAD_SUBSTREAMID");
    }

    @Test
    void dirtyTrackingThroughHttu() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain d = (SmmuPagingDomain) f.smmu.domainAllocUser(dev, ArmSmmuV3.IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                null, null);
        assertThat(d.hasDirtyOps()).isTrue();
        d.map(IOVA, f.frame(), 4 * 4096, IOMMU_READ | IOMMU_WRITE);
        f.attach(dev, d);
        assertThat(f.memory.readLong(f.smmu.cdAddress(dev, 0)) >>> 42 & 3).as("CD.HD and HA").isEqualTo(3);
        d.setDirtyTracking(true);
        List<Long> dirty = new java.util.ArrayList<>();
        d.readAndClearDirty(IOVA, 4 * 4096, false, (iova, len) -> dirty.add(iova));
        assertThat(dirty).as("mapped writable-dirty, as io-pgtable-arm does").hasSize(4);
        dirty.clear();
        d.readAndClearDirty(IOVA, 4 * 4096, false, (iova, len) -> dirty.add(iova));
        assertThat(dirty).isEmpty();

        assertThat(f.read(dev, IOVA + 4096).faulted).isFalse();
        assertThat(f.translate(dev, Translation.NO_PASID, IOVA + 2 * 4096, true).faulted).isFalse();
        d.readAndClearDirty(IOVA, 4 * 4096, true, (iova, len) -> dirty.add(iova));
        assertThat(dirty).containsExactly(IOVA + 2 * 4096);
        dirty.clear();
        d.readAndClearDirty(IOVA, 4 * 4096, false, (iova, len) -> dirty.add(iova));
        assertThat(dirty).as("NO_CLEAR left it").containsExactly(IOVA + 2 * 4096);
        // after clearing (and the TLBI that follows) the next write marks the page dirty again
        assertThat(f.translate(dev, Translation.NO_PASID, IOVA + 2 * 4096, true).cacheHit).isFalse();
        dirty.clear();
        d.readAndClearDirty(IOVA, 4 * 4096, false, (iova, len) -> dirty.add(iova));
        assertThat(dirty).containsExactly(IOVA + 2 * 4096);
    }

    @Test
    void readOfAWritableCleanPageDoesNotLetALaterWriteSkipTheDirtyUpdate() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain d = (SmmuPagingDomain) f.smmu.domainAllocUser(dev, ArmSmmuV3.IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                null, null);
        d.map(IOVA, f.frame(), 4096, IOMMU_READ | IOMMU_WRITE);
        f.attach(dev, d);
        d.setDirtyTracking(true);
        List<Long> dirty = new java.util.ArrayList<>();
        d.readAndClearDirty(IOVA, 4096, false, (iova, len) -> dirty.add(iova)); // now writable-clean
        dirty.clear();

        assertThat(f.read(dev, IOVA).faulted).isFalse();
        assertThat(f.read(dev, IOVA + 8).cacheHit).as("reads hit the entry the read filled").isTrue();
        Translation write = f.translate(dev, Translation.NO_PASID, IOVA + 16, true);
        assertThat(write.faulted).isFalse();
        assertThat(write.cacheHit).as("the entry was cached without write permission").isFalse();
        d.readAndClearDirty(IOVA, 4096, true, (iova, len) -> dirty.add(iova));
        assertThat(dirty).as("the write's walk set the dirty state").containsExactly(IOVA);
        assertThat(f.translate(dev, Translation.NO_PASID, IOVA + 24, true).cacheHit)
                .as("a dirty leaf is cached writable").isTrue();
    }

    @Test
    void unmapFreeingATableOfSmallLeavesInvalidatesEachOfThemWithoutRil() {
        SmmuFixture noRil = new SmmuFixture(SmmuFixture.unit(Map.of("IDR3", 0L)));
        SmmuMaster dev = noRil.device("nic0", 1, 0);
        SmmuPagingDomain d = noRil.stage1(dev);
        long base = 0x4000_0000L;
        for (int i = 0; i < 512; i++) {
            d.map(base + i * 4096L, noRil.frame(), 4096, IOMMU_READ); // 4K leaves: frames are not 2M-contiguous
        }
        noRil.attach(dev, d);
        assertThat(noRil.read(dev, base + 5 * 4096).faulted).isFalse();
        assertThat(noRil.read(dev, base + 5 * 4096).cacheHit).isTrue();
        assertThat(d.unmap(base, 2L << 20)).as("one 2 MiB unmap_pages frees the level-3 table").isEqualTo(2L << 20);
        Translation t = noRil.read(dev, base + 5 * 4096);
        assertThat(t.cacheHit).as("TLBI by 4K granule, not one per 2 MiB").isFalse();
        assertThat(t.faulted).isTrue();
    }

    @Test
    void freeingADomainGivesItsTableFramesBack() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        long before = f.smmu.tableBytes();
        long frames = f.memory.framesInUse();
        SmmuPagingDomain d = f.stage1(dev);
        d.map(IOVA, f.frame(), 8 * 4096, IOMMU_READ | IOMMU_WRITE);
        d.map(0x8000_0000L, 0x2_0000_0000L, 2L << 20, IOMMU_READ); // one 2 MiB block
        assertThat(f.smmu.tableBytes()).isGreaterThan(before);
        d.free();
        assertThat(f.smmu.tableBytes()).isEqualTo(before);
        assertThat(f.memory.framesInUse()).isEqualTo(frames);
    }

    @Test
    void domainAllocationRefusals() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        assertErrno(() -> f.smmu.domainAllocUser(dev, 1 << 5, null, null), Errno.EOPNOTSUPP);
        assertErrno(() -> f.smmu.domainAllocUser(dev, ArmSmmuV3.IOMMU_HWPT_ALLOC_NEST_PARENT
                | ArmSmmuV3.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, null, null), Errno.EOPNOTSUPP);
        SmmuPagingDomain s2 = f.nestParent(dev);
        assertErrno(() -> f.smmu.domainAllocUser(dev, 0, s2, null), Errno.EOPNOTSUPP);
        SmmuFixture noNest = new SmmuFixture(SmmuFixture.unitWithIdr0(IdRegisters.IDR0_S2P, 0));
        SmmuMaster d2 = noNest.device("nic0", 1, 0);
        assertErrno(() -> noNest.smmu.domainAllocUser(d2, ArmSmmuV3.IOMMU_HWPT_ALLOC_NEST_PARENT, null, null),
                Errno.EOPNOTSUPP);
        SmmuFixture noDirty = new SmmuFixture(SmmuFixture.unit(0, false, java.util.Map.of()));
        SmmuMaster d3 = noDirty.device("nic0", 1, 0);
        assertThat(noDirty.smmu.capable(d3, io.uiommu.iommu.IommuDriver.Cap.DIRTY_TRACKING)).isFalse();
        assertErrno(() -> noDirty.smmu.domainAllocUser(d3, ArmSmmuV3.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, null, null),
                Errno.EOPNOTSUPP);
    }

    @Test
    void detachGoesBackToAbort() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain d = f.stage1(dev);
        d.map(IOVA, f.frame(), 4096, IOMMU_READ);
        f.attach(dev, d);
        assertThat(f.read(dev, IOVA).faulted).isFalse();
        f.core.detachDevice(dev);
        assertThat(f.read(dev, IOVA).faultName).isEqualTo("STE_ABORT");
        assertThat(dev.domain()).isSameAs(f.smmu.blockedDomain());
    }

    @Test
    void registersFollowTheUnit() {
        int idr0 = (int) f.hw.readRegister(Smmu.IDR0);
        assertThat(idr0 & 3).as("S1P|S2P").isEqualTo(3);
        assertThat(idr0 >>> 2 & 3).as("TTF AArch64").isEqualTo(2);
        assertThat(idr0 >>> 6 & 3).as("HTTU access+dirty").isEqualTo(2);
        assertThat(idr0 >>> 12 & 1).as("ASID16").isEqualTo(1);
        assertThat(idr0 >>> 16 & 1).as("PRI").isEqualTo(1);
        assertThat(idr0 >>> 18 & 1).as("VMID16").isEqualTo(1);
        int idr1 = (int) f.hw.readRegister(Smmu.IDR1);
        assertThat(idr1 >>> 6 & 0x1f).as("SSIDSIZE").isEqualTo(20);
        int idr5 = (int) f.hw.readRegister(Smmu.IDR5);
        assertThat(idr5 & 7).as("OAS 48").isEqualTo(5);
        assertThat(idr5 >>> 4 & 7).as("GRAN4K|16K|64K").isEqualTo(7);
        assertThat(f.hw.readRegister(Smmu.CR0) & 0xd).as("SMMUEN|EVTQEN|CMDQEN").isEqualTo(0xd);

        SmmuFixture small = new SmmuFixture(new io.uiommu.platform.IommuUnit("s", "smmuv3", 48, 44,
                List.of(4096L), 0, false, false, false, java.util.Map.of("IIDR", 0x1234L)));
        int sidr0 = (int) small.hw.readRegister(Smmu.IDR0);
        assertThat(sidr0 & 3).as("S1P only").isEqualTo(2);
        assertThat(sidr0 >>> 6 & 3).isZero();
        assertThat(small.hw.readRegister(Smmu.IDR5) & 0x77).isEqualTo(0x14);
        assertThat(small.hw.readRegister(Smmu.IIDR)).isEqualTo(0x1234);
        assertThat(small.hw.readRegister(Smmu.IDR1) >>> 6 & 0x1f).isZero();
    }

    static void assertErrno(Runnable r, Errno errno) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(IommufdException.class,
                e -> assertThat(e.errno()).as(e.getMessage()).isEqualTo(errno));
    }

    static IommuDomain unused() {
        return null;
    }
}
