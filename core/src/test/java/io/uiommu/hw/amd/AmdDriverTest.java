package io.uiommu.hw.amd;

import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.IommuDriver;
import io.uiommu.iommu.Translation;
import io.uiommu.iommu.UserData;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.proc.SimulatedProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The driver side: domain allocation, the three attach intentions and their refusals, dirty tracking, hw_info. */
class AmdDriverTest {
    final AmdFixture f = new AmdFixture();

    static void assertErrno(Errno errno, Executable call) {
        IommufdException e = assertThrows(IommufdException.class, call);
        assertThat(e.errno()).isEqualTo(errno);
    }

    @Test
    void pagingDomainFlagsAsUpstreamAllocPagingFlags() {
        AmdDevice dev = f.device("nic0", "01:00.0", 16);
        assertThat(((AmdPagingDomain) f.iommu.domainAllocUser(dev, 0, null, null)).pageTable())
                .isEqualTo(AmdPagingDomain.PageTable.V1);
        AmdPagingDomain dirty = (AmdPagingDomain) f.iommu.domainAllocUser(dev,
                AmdIommu.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, null, null);
        assertThat(dirty.pageTable()).isEqualTo(AmdPagingDomain.PageTable.V1);
        assertThat(dirty.hasDirtyOps()).isTrue();
        assertThat(((AmdPagingDomain) f.iommu.domainAllocUser(dev, AmdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT
                | AmdIommu.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, null, null)).pageTable())
                .isEqualTo(AmdPagingDomain.PageTable.V1);
        assertThat(dirty.pgsizeBitmap()).as("Linux AMD_IOMMU_PGSIZES: 4 KiB up, but 512 GiB")
                .isEqualTo(0x000f_ffff_ffff_f000L ^ 1L << 39);
        assertThat(dirty.apertureEnd()).isEqualTo(-1L);

        assertErrno(Errno.EOPNOTSUPP, () -> f.iommu.domainAllocUser(dev, 1 << 2, null, null));
        assertErrno(Errno.EOPNOTSUPP, () -> f.iommu.domainAllocUser(dev, 1 << 4, null, null));
        assertErrno(Errno.EOPNOTSUPP, () -> f.iommu.domainAllocUser(dev,
                AmdIommu.IOMMU_HWPT_ALLOC_PASID | AmdIommu.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, null, null));
        assertErrno(Errno.EOPNOTSUPP, () -> f.iommu.domainAllocUser(dev, 0, dirty, null));
        assertErrno(Errno.EOPNOTSUPP, () -> f.iommu.domainAllocUser(dev, 0, null,
                new UserData(0, null, 0, 0)));
    }

    @Test
    void featuresTheUnitLacksAreEopnotsupp() {
        AmdFixture plain = new AmdFixture(AmdFixture.unit(0, false, false, false, Map.of()));
        AmdDevice dev = plain.device("nic0", "01:00.0", 16);
        assertThat(plain.iommu.capable(dev, IommuDriver.Cap.DIRTY_TRACKING)).isFalse();
        assertThat(plain.iommu.capable(dev, IommuDriver.Cap.CACHE_COHERENCY)).isTrue();
        assertThat(dev.maxPasids()).isZero();
        assertErrno(Errno.EOPNOTSUPP, () -> plain.iommu.domainAllocUser(dev,
                AmdIommu.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, null, null));
        assertErrno(Errno.EOPNOTSUPP, () -> plain.iommu.domainAllocUser(dev, AmdIommu.IOMMU_HWPT_ALLOC_PASID,
                null, null));
        assertErrno(Errno.EOPNOTSUPP, () -> plain.iommu.domainAllocUser(dev,
                AmdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT, null, null));
        // PASIDs need PPR and EPH besides GT, as Linux's amd_iommu_pasid_supported.
        AmdFixture noPri = new AmdFixture(AmdFixture.unit(16, true, true, false, Map.of()));
        assertThat(noPri.iommu.pasidSupported()).isFalse();
        assertErrno(Errno.EOPNOTSUPP, () -> noPri.iommu.domainAllocUser(noPri.device("d", "01:00.0", 16),
                AmdIommu.IOMMU_HWPT_ALLOC_PASID, null, null));
    }

    @Test
    void hwInfoIsTypeNoneAs612AndUpstreamStructIsEfrPair() {
        AmdDevice dev = f.device("nic0", "01:00.0", 16);
        IommuDriver.HwInfo info = f.iommu.hwInfo(dev);
        assertThat(info.type()).isEqualTo(0);
        assertThat(info.data()).isEmpty();
        IommuDriver.HwInfo upstream = f.iommu.hwInfoUpstream();
        assertThat(upstream.type()).isEqualTo(4);
        ByteBuffer b = ByteBuffer.wrap(upstream.data()).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getLong()).isEqualTo(f.hw.read(AmdRegisters.EFR));
        assertThat(b.getLong()).isEqualTo(f.hw.read(AmdRegisters.EFR2));
        assertThat(dev.maxPasids()).isEqualTo(65535);
        assertThat(f.iommu.resvRegions(dev)).containsExactly(new IommuDriver.ResvRegion(0xfee0_0000L, 0x10_0000),
                new IommuDriver.ResvRegion(0xfd_0000_0000L, 0x3_0000_0000L));
    }

    @Test
    void duplicateRequesterIdsAreAMachineError() {
        f.device("a", "01:00.0", 0);
        assertThrows(IllegalArgumentException.class, () -> f.device("b", "01:00.0", 0));
    }

    @Test
    void pasidAttachRefusalsFollowTheCoreAndTheAmdDriver() {
        AmdDevice dev = f.device("gpu0", "02:00.0", 16);
        AmdPagingDomain v1 = f.v1(dev);
        AmdSvaDomain sva = f.iommu.domainAllocSva(dev, f.x86Table());
        // Paging domains have no set_dev_pasid in Linux (6.12 and upstream).
        assertErrno(Errno.EOPNOTSUPP, () -> f.iommu.setDevPasid(v1, dev, 1));
        // RID on a v1 domain: no GCR3 table, PASIDs not enabled.
        f.iommu.attachDev(v1, dev);
        assertErrno(Errno.EINVAL, () -> f.iommu.setDevPasid(sva, dev, 1));
        // RID on a v2 domain: the GCR3 table exists.
        AmdPagingDomain v2 = (AmdPagingDomain) f.iommu.domainAllocUser(dev, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null,
                null);
        f.iommu.attachDev(v2, dev);
        assertErrno(Errno.EINVAL, () -> f.iommu.setDevPasid(sva, dev, 0));
        assertErrno(Errno.EINVAL, () -> f.iommu.setDevPasid(sva, dev, 65535));
        assertErrno(Errno.EINVAL, () -> f.iommu.setDevPasid(sva, dev, -1));
        assertThatCode(() -> f.iommu.setDevPasid(sva, dev, 65534)).doesNotThrowAnyException();
        assertErrno(Errno.EBUSY, () -> f.iommu.setDevPasid(sva, dev, 65534));
        // A device without a PASID capability.
        AmdDevice plain = f.device("nic0", "01:00.0", 0);
        f.iommu.attachDev(f.iommu.domainAllocUser(plain, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null, null), plain);
        assertErrno(Errno.EINVAL, () -> f.iommu.setDevPasid(sva, plain, 1));
        // Moving the RID to v1 destroys the GCR3 table and its PASIDs, as Linux detach_device does.
        f.iommu.attachDev(v1, dev);
        assertThat(dev.programmedDomain(65534)).isNull();
        assertThat(f.translate(dev, 65534, 0, false).faulted).isTrue();
        f.iommu.removeDevPasid(dev, 65534);
    }

    @Test
    void nestedDomainRefusals() {
        AmdDevice dev = f.device("vf0", "03:00.0", 16);
        AmdPagingDomain plainParent = f.v1(dev);
        AmdPagingDomain parent = (AmdPagingDomain) f.iommu.domainAllocUser(dev,
                AmdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT, null, null);
        long gcr3 = 0x1000;
        long q0 = DeviceTableEntry.V | DeviceTableEntry.GV | DeviceTableEntry.gcr3Q0(gcr3);
        long q1 = 5 | DeviceTableEntry.gcr3Q1(gcr3);
        assertErrno(Errno.EINVAL, () -> f.iommu.allocDomainNested(plainParent, new long[] {q0, q1, 0, 0}));
        assertErrno(Errno.EINVAL, () -> f.iommu.allocDomainNested(parent, new long[] {q0 | 3L << 9, q1, 0, 0}));
        assertErrno(Errno.EINVAL, () -> f.iommu.allocDomainNested(parent, new long[] {q0 | 0x5000, q1, 0, 0}));
        assertErrno(Errno.EINVAL, () -> f.iommu.allocDomainNested(parent,
                new long[] {DeviceTableEntry.V | DeviceTableEntry.GV, 5, 0, 0}));
        assertErrno(Errno.EINVAL, () -> f.iommu.allocDomainNested(parent,
                new long[] {q0, q1, 2L << DeviceTableEntry.GPT_LEVEL_SHIFT, 0}));
        assertErrno(Errno.EINVAL, () -> f.iommu.allocDomainNested(parent,
                new long[] {q0 | 3L << DeviceTableEntry.GLX_SHIFT, q1, 0, 0}));
        assertErrno(Errno.EOPNOTSUPP, () -> f.iommu.allocDomainNested(parent,
                new long[] {q0, q1, 1L << DeviceTableEntry.GPT_LEVEL_SHIFT, 0}));
        assertErrno(Errno.EOPNOTSUPP, () -> f.iommu.allocDomainNested(parent, new UserData(1, null, 0, 32)));

        AmdNestedDomain a = f.iommu.allocDomainNested(parent, new long[] {q0, q1, 0, 0});
        AmdNestedDomain b = f.iommu.allocDomainNested(parent, new long[] {q0, q1, 0, 0});
        AmdNestedDomain c = f.iommu.allocDomainNested(parent, new long[] {q0, q1 + 1, 0, 0});
        assertThat(a.hostDomainId()).as("same guest DomainID, same host tag").isEqualTo(b.hostDomainId());
        assertThat(c.hostDomainId()).isNotEqualTo(a.hostDomainId());

        // A RID with PASIDs enabled cannot take the guest's whole PASID space.
        f.iommu.attachDev(f.iommu.domainAllocUser(dev, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null, null), dev);
        assertErrno(Errno.EINVAL, () -> f.iommu.attachDev(a, dev));
        f.iommu.attachDev(f.iommu.blockedDomain(), dev);
        f.iommu.attachDev(a, dev);
        assertThat(f.iommu.dte(dev)[0] & DeviceTableEntry.GV).isNotZero();
    }

    @Test
    void nestedDataIsCopiedWithTheKernelRules() {
        AmdDevice dev = f.device("vf0", "03:00.0", 0);
        AmdPagingDomain parent = (AmdPagingDomain) f.iommu.domainAllocUser(dev,
                AmdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT, null, null);
        SimulatedProcess proc = new SimulatedProcess(f.memory);
        long buf = proc.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        long gcr3 = 0x7000;
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(DeviceTableEntry.V | DeviceTableEntry.GV | DeviceTableEntry.gcr3Q0(gcr3))
                .putLong(9 | DeviceTableEntry.gcr3Q1(gcr3)).putLong(0).putLong(0);
        proc.memory().write(buf, b.array(), 0, 32);
        AmdNestedDomain nd = (AmdNestedDomain) f.iommu.allocDomainNested(parent,
                new UserData(AmdIommu.IOMMU_HWPT_DATA_AMD_GUEST, proc.memory(), buf, 32));
        assertThat(nd.guestGcr3Root()).isEqualTo(gcr3);
        assertErrno(Errno.EINVAL, () -> f.iommu.allocDomainNested(parent,
                new UserData(AmdIommu.IOMMU_HWPT_DATA_AMD_GUEST, proc.memory(), buf, 24)));
    }

    @Test
    void attachRefusalKeepsTheOldDomain() {
        AmdFixture narrow = new AmdFixture(AmdFixture.unit(16, true, true, true, Map.of("EFR",
                AmdRegisters.efr(AmdFixture.unit(16, true, true, true, Map.of())) & ~(3L << AmdRegisters.EFR_GLX_SHIFT))));
        AmdDevice dev = narrow.device("gpu0", "02:00.0", 16);
        AmdPagingDomain v1 = narrow.v1(dev);
        narrow.iommu.attachDev(v1, dev);
        v1.map(0x1000, narrow.frame(), 4096, AmdFixture.RW);
        IommuDomain v2 = narrow.iommu.domainAllocUser(dev, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null, null);
        // 65535 PASIDs need a 2-level GCR3 table; this IOMMU does 1 level only.
        assertErrno(Errno.EINVAL, () -> narrow.iommu.attachDev(v2, dev));
        assertThat(narrow.read(dev, 0x1000).faulted).isFalse();
    }

    @Test
    void mappingOverAMappingIsEexist() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        AmdPagingDomain d = f.v1(dev);
        d.map(0x2000, f.frame(), 4096, AmdFixture.RW);
        assertErrno(Errno.EEXIST, () -> d.map(0x1000, f.frame(), 0x3000, AmdFixture.RW));
        assertThat(d.iovaToPhys(0x1000)).as("partial map unwound").isEqualTo(-1);
        AmdPagingDomain v2 = (AmdPagingDomain) f.iommu.domainAllocUser(dev, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null,
                null);
        assertErrno(Errno.EINVAL, () -> v2.map(1L << 47, f.frame(), 4096, AmdFixture.RW));
    }

    @Test
    void dirtyBitsThroughDmaAreReadAndCleared() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        AmdPagingDomain d = (AmdPagingDomain) f.iommu.domainAllocUser(dev,
                AmdIommu.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, null, null);
        f.iommu.attachDev(d, dev);
        d.map(0x10_0000, 0x8000_0000L, 0x4000, AmdFixture.RW);
        d.map(0x40_0000, 0x9000_0000L, 2 << 20, AmdFixture.RW);
        IommuCore core = IommuCore.withMockIommu(f.memory);
        byte[] buf = new byte[64];
        List<long[]> dirty = new ArrayList<>();

        assertErrno(Errno.EINVAL, () -> d.readAndClearDirty(0x10_0000, 0x4000, false, (i, l) -> { }));
        // Tracking off: writes leave no D bits (HAD clear in the DTE).
        core.dma(dev, Translation.NO_PASID, 0x10_1000, buf, 0, 8, true);
        assertThat(f.iommu.dte(dev)[0] & DeviceTableEntry.HAD).isZero();

        d.setDirtyTracking(true);
        assertThat(f.iommu.dte(dev)[0] & DeviceTableEntry.HAD).isEqualTo(DeviceTableEntry.HAD);
        d.readAndClearDirty(0, 1L << 32, false, (i, l) -> dirty.add(new long[] {i, l}));
        assertThat(dirty).isEmpty();

        DmaResult r = core.dma(dev, Translation.NO_PASID, 0x10_2000, buf, 0, 8, true);
        assertThat(r.ok()).isTrue();
        core.dma(dev, Translation.NO_PASID, 0x10_3000, buf, 0, 8, false);
        core.dma(dev, Translation.NO_PASID, 0x40_0000 + 0x12_3000, buf, 0, 8, true);
        d.readAndClearDirty(0, 1L << 32, true, (i, l) -> dirty.add(new long[] {i, l}));
        // The 16 KiB mapping is one NextLevel-7 leaf (as Linux maps it): dirty as a whole.
        assertThat(dirty).containsExactly(new long[] {0x10_0000, 0x4000}, new long[] {0x40_0000, 2 << 20});
        dirty.clear();
        d.readAndClearDirty(0, 1L << 32, false, (i, l) -> dirty.add(new long[] {i, l}));
        assertThat(dirty).hasSize(2);
        dirty.clear();
        d.readAndClearDirty(0, 1L << 32, false, (i, l) -> dirty.add(new long[] {i, l}));
        assertThat(dirty).as("cleared").isEmpty();

        // A write through a translation cached before the clear must mark the page again.
        core.dma(dev, Translation.NO_PASID, 0x10_2000, buf, 0, 8, true);
        d.readAndClearDirty(0, 1L << 32, false, (i, l) -> dirty.add(new long[] {i, l}));
        assertThat(dirty).containsExactly(new long[] {0x10_0000, 0x4000});

        // A read-filled IOTLB entry does not let a write skip its dirty bit.
        dirty.clear();
        core.dma(dev, Translation.NO_PASID, 0x10_0000, buf, 0, 8, false);
        core.dma(dev, Translation.NO_PASID, 0x10_0000, buf, 0, 8, true);
        d.readAndClearDirty(0, 1L << 32, false, (i, l) -> dirty.add(new long[] {i, l}));
        assertThat(dirty).containsExactly(new long[] {0x10_0000, 0x4000});

        d.setDirtyTracking(false);
        assertThat(f.iommu.dte(dev)[0] & DeviceTableEntry.HAD).isZero();
        assertErrno(Errno.EOPNOTSUPP, () -> f.v1(dev).setDirtyTracking(true));
        assertErrno(Errno.EOPNOTSUPP, () -> f.v1(dev).readAndClearDirty(0, 4096, false, null));
    }

    @Test
    void domainIdsAndTablesAreReturnedOnFree() {
        AmdDevice dev = f.device("nic0", "01:00.0", 0);
        long before = f.memory.framesInUse();
        AmdPagingDomain d = f.v1(dev);
        int id = d.domainId();
        d.map(0x1000, 0x5000_0000L, 4096, AmdFixture.RW);
        d.free();
        assertThat(f.memory.framesInUse()).isEqualTo(before);
        assertThat(f.v1(dev).domainId()).isEqualTo(id);
    }
}
