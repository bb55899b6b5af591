package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.Translation;
import io.uiommu.iommu.ViommuCore;
import io.uiommu.iommufd.Errno;
import io.uiommu.pt.ArmLpaeTable;
import io.uiommu.pt.NestedTables;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.PhysicalTables;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.uiommu.hw.smmuv3.SmmuTranslationTest.assertErrno;
import static io.uiommu.iommu.IommuDomain.IOMMU_READ;
import static io.uiommu.iommu.IommuDomain.IOMMU_WRITE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Stage 1 owned by a guest over the host's stage 2: the guest's CD table and page tables live in
 * guest RAM (IPA space), the SMMU reaches every one of them through stage 2.
 */
class SmmuNestedTest {
    static final long GUEST_RAM_PA = 0x6000_0000L;
    static final long GUEST_RAM = 1L << 20;
    static final long CD_TABLE_IPA = 0x1000;
    static final long DATA_IPA = 0x80000;
    static final long IOVA = 0x4000_0000L;
    static final int GUEST_ASID = 5;
    static final long VSID = 0x99;

    final SmmuFixture f = new SmmuFixture();
    SmmuMaster dev;
    SmmuPagingDomain s2;
    SmmuFixture.GuestRam ram;
    ArmLpaeTable guestFormat = ArmLpaeTable.stage1(4096, 48, 48, false);
    long guestRoot;
    ArmVsmmu vsmmu;
    boolean vdevPresent = true;

    @BeforeEach
    void setUp() {
        dev = f.device("nic0", 0x18, 8);
        s2 = f.nestParent(dev);
        s2.map(0, GUEST_RAM_PA, GUEST_RAM, IOMMU_READ | IOMMU_WRITE); // 256 4K leaves (less than 2 MiB)
        ram = new SmmuFixture.GuestRam(f.memory, GUEST_RAM_PA, GUEST_RAM, 0x10000);
        guestRoot = guestFormat.allocateRoot(ram, ram);
        guestFormat.map(guestRoot, IOVA, DATA_IPA, 4096, PageTableFormat.READ | PageTableFormat.WRITE, ram, ram);
        writeGuestCd(0, GUEST_ASID, guestRoot);
        vsmmu = (ArmVsmmu) f.smmu.viommuInit(dev, 1, s2, null, new ViommuCore() {
            @Override
            public IommuDevice find(long virtId) {
                return vdevPresent && virtId == VSID ? dev : null;
            }

            @Override
            public long virtIdOf(IommuDevice d) {
                return vdevPresent && d == dev ? VSID : -1;
            }
        });
    }

    private void writeGuestCd(int ssid, int asid, long ttb0) {
        long[] cd = Cd.stage1(asid, 16, 12, 5, ttb0, false);
        for (int i = 0; i < 8; i++) {
            ram.writeLong(CD_TABLE_IPA + ssid * 64L + 8L * i, cd[i]);
        }
    }

    private SmmuNestedDomain vste(int config, long ctxPtr, int s1cdmax) {
        long ste0 = Ste.V | (long) config << Ste.CONFIG_SHIFT | ctxPtr | (long) s1cdmax << Ste.S1CDMAX_SHIFT;
        return new SmmuNestedDomain(vsmmu, ste0, config == Ste.CONFIG_S1_TRANS && s1cdmax > 0 ? Ste.S1DSS_SSID0 : 0,
                false);
    }

    @Test
    void nestedWalkReadsTwentyFourDescriptorsThenHitsTheTlb() {
        f.attach(dev, vste(Ste.CONFIG_S1_TRANS, CD_TABLE_IPA, 0));
        long ste = f.smmu.steAddress(0x18);
        long dw0 = f.memory.readLong(ste);
        assertThat(dw0 >>> 1 & 7).as("Config nested").isEqualTo(7);
        assertThat(dw0 & Ste.S1CTXPTR_MASK).as("S1ContextPtr is the guest's IPA").isEqualTo(CD_TABLE_IPA);
        assertThat(f.memory.readLong(ste + 16) & 0xffff).as("S2VMID").isEqualTo(s2.vmid());
        assertThat(f.memory.readLong(ste + 8) & Ste.MEV).as("MEV").isNotZero();

        Translation t = f.translate(dev, Translation.NO_PASID, IOVA + 0x10, true);
        assertThat(t.faulted).as(t.toString()).isFalse();
        assertThat(t.physAddr).isEqualTo(GUEST_RAM_PA + DATA_IPA + 0x10);
        // 4 stage-1 levels, each table address through 4 stage-2 levels, then the output IPA: 4 + 16 + 4
        assertThat(t.descriptorReads).isEqualTo(24);
        Translation hit = f.read(dev, IOVA + 0x20);
        assertThat(hit.cacheHit).isTrue();
        assertThat(hit.physAddr).isEqualTo(GUEST_RAM_PA + DATA_IPA + 0x20);
    }

    @Test
    void guestTlbiThroughTheVsmmuUsesTheVmid() {
        f.auditor.setEnabled(true);
        f.attach(dev, vste(Ste.CONFIG_S1_TRANS, CD_TABLE_IPA, 0));
        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(GUEST_RAM_PA + DATA_IPA);
        // the guest retargets its leaf to another IPA without telling anyone
        io.uiommu.pt.Walk w = new io.uiommu.pt.Walk();
        w.record = true;
        NestedTables hardwareView = new NestedTables(s2.format(), s2.root(), new PhysicalTables(f.memory), false);
        assertThat(guestFormat.walk(guestRoot, IOVA, 0, false, hardwareView, w)).isTrue();
        long leafPa = w.recordedAddress[w.recorded - 1];
        f.retarget(leafPa, (f.memory.readLong(leafPa) & SmmuFixture.OA_MASK) + 0x1000);
        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(GUEST_RAM_PA + DATA_IPA);
        assertThat(f.auditor.reports()).hasSize(1);
        assertThat(f.auditor.reports().getFirst().entry()).contains("VMID " + s2.vmid() + " ASID " + GUEST_ASID);
        // a TLBI with the guest's own VMID (0) misses; the vSMMU forces the real one
        f.smmu.issue(Command.tlbiNhAsid(0, GUEST_ASID));
        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(GUEST_RAM_PA + DATA_IPA);
        f.smmu.issue(Command.tlbiNhAsid(vsmmu.vmid(), GUEST_ASID));
        Translation fresh = f.read(dev, IOVA);
        assertThat(fresh.physAddr).as(fresh.toString()).isEqualTo(GUEST_RAM_PA + DATA_IPA + 0x1000);
    }

    @Test
    void stage2FaultsNameWhatTheWalkWasFor() {
        f.attach(dev, vste(Ste.CONFIG_S1_TRANS, CD_TABLE_IPA, 0));
        // output IPA outside guest RAM: stage-2 fault, CLASS = IN
        guestFormat.map(guestRoot, IOVA + 0x1000, 0x20_0000, 4096, PageTableFormat.READ, ram, ram);
        Translation in = f.read(dev, IOVA + 0x1000);
        assertThat(in.faultName).isEqualTo("F_TRANSLATION");
        assertThat(in.faultStage2).isTrue();
        // a stage-1 table outside guest RAM: stage-2 fault, CLASS = TT
        long l0 = guestRoot + ((0x80_0000_0000L >>> 39) & 511) * 8;
        ram.writeLong(l0, 0x30_0000L | 3);
        Translation tt = f.read(dev, 0x80_0000_0000L);
        assertThat(tt.faultStage2).isTrue();
        List<long[]> ev = f.events();
        assertThat(ev).hasSize(2);
        assertThat(ev.get(0)[1] >>> 39 & 1).isEqualTo(1);
        assertThat(ev.get(0)[1] >>> 40 & 3).isEqualTo(Event.CLASS_IN);
        assertThat(ev.get(0)[3]).isEqualTo(0x20_0000L);
        assertThat(ev.get(1)[1] >>> 40 & 3).isEqualTo(Event.CLASS_TT);
        assertThat(ev.get(1)[3]).isEqualTo(0x30_0000L);
        assertThat(ev.get(1)[0] >>> 32).as("physical StreamID in the host's queue").isEqualTo(0x18);
    }

    @Test
    void cdTableOutsideGuestRamIsAStage2FaultOfClassCd() {
        f.attach(dev, vste(Ste.CONFIG_S1_TRANS, 0x40_0000L, 0));
        Translation t = f.read(dev, IOVA);
        assertThat(t.faultStage2).isTrue();
        long[] e = f.events().getFirst();
        assertThat(e[1] >>> 40 & 3).isEqualTo(Event.CLASS_CD);
        assertThat(e[3]).isEqualTo(0x40_0000L);
    }

    @Test
    void guestPasidsUseTheGuestsCdTable() {
        writeGuestCd(3, 9, guestRoot);
        f.attach(dev, vste(Ste.CONFIG_S1_TRANS, CD_TABLE_IPA, 2));
        assertThat(f.translate(dev, 3, IOVA, false).physAddr).isEqualTo(GUEST_RAM_PA + DATA_IPA);
        assertThat(f.translate(dev, 2, IOVA, false).faultName).isEqualTo("C_BAD_CD");
        assertThat(f.translate(dev, 4, IOVA, false).faultName).isEqualTo("C_BAD_SUBSTREAMID");
    }

    @Test
    void bypassAndAbortVstes() {
        f.attach(dev, vste(Ste.CONFIG_BYPASS, 0, 0));
        assertThat(f.read(dev, DATA_IPA).physAddr).as("stage 2 only").isEqualTo(GUEST_RAM_PA + DATA_IPA);
        f.attach(dev, new SmmuNestedDomain(vsmmu, 0, 0, false));
        assertThat(f.read(dev, DATA_IPA).faultName).isEqualTo("STE_ABORT");
    }

    @Test
    void translatingVsteNeedsAVdevice() {
        vdevPresent = false;
        assertErrno(() -> f.attach(dev, vste(Ste.CONFIG_S1_TRANS, CD_TABLE_IPA, 0)), Errno.ENOENT);
        f.attach(dev, vste(Ste.CONFIG_BYPASS, 0, 0)); // bypass and abort need none
    }

    @Test
    void nestedAttachRefusedWhilePasidsAreAttached() {
        SmmuPagingDomain s1 = f.stage1(dev);
        f.smmu.setDevPasid(s1, dev, 1, null);
        assertErrno(() -> f.attach(dev, vste(Ste.CONFIG_S1_TRANS, CD_TABLE_IPA, 0)), Errno.EBUSY);
    }

    @Test
    void unmappingTheNestParentDropsTheCombinedEntries() {
        f.attach(dev, vste(Ste.CONFIG_S1_TRANS, CD_TABLE_IPA, 0));
        assertThat(f.read(dev, IOVA).faulted).isFalse();
        s2.unmap(DATA_IPA, 4096);
        Translation t = f.read(dev, IOVA);
        assertThat(t.faulted).as("TLBI_S2_IPA + TLBI_NH_ALL").isTrue();
        assertThat(t.faultStage2).isTrue();
    }

    @Test
    void vsmmuNeedsAStage2ParentOfThisSmmu() {
        SmmuPagingDomain s1 = f.stage1(dev);
        assertErrno(() -> f.smmu.viommuInit(dev, 1, s1, null, null), Errno.EINVAL);
        SmmuFixture other = new SmmuFixture();
        SmmuMaster od = other.device("x", 1, 0);
        SmmuPagingDomain os2 = other.nestParent(od);
        assertErrno(() -> f.smmu.viommuInit(dev, 1, os2, null, null), Errno.EINVAL);
        assertThat(f.smmu.viommuSupported(dev, 1)).isTrue();
        assertThat(f.smmu.viommuSupported(dev, 2)).as("TEGRA241_CMDQV").isFalse();
    }
}
