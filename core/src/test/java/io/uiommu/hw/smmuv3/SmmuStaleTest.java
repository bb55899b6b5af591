package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.StaleTranslation;
import io.uiommu.iommu.Translation;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.uiommu.iommu.IommuDomain.IOMMU_READ;
import static io.uiommu.iommu.IommuDomain.IOMMU_WRITE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Software that changes a descriptor without the invalidation the architecture requires gets the
 * old translation, as on silicon — and the auditor names the missing invalidation. Each TLBI and
 * CFGI granularity then clears exactly what it should.
 */
class SmmuStaleTest {
    static final long IOVA = 0x7_0000_0000L;
    final SmmuFixture f = new SmmuFixture();
    SmmuMaster dev;
    SmmuPagingDomain d;
    long oldPa;
    long newPa;

    @BeforeEach
    void setUp() {
        f.auditor.setEnabled(true);
        dev = f.device("nic0", 0x18, 4);
        d = f.stage1(dev);
        oldPa = f.frame();
        newPa = f.frame();
        d.map(IOVA, oldPa, 4096, IOMMU_READ | IOMMU_WRITE);
        f.attach(dev, d);
        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(oldPa);
        f.auditor.setStep("rewrite PTE");
        f.retarget(f.leafAddress(d, IOVA), newPa);
        f.auditor.setStep("DMA");
    }

    private void assertStaleThenFixedBy(long[] invalidation) {
        Translation stale = f.read(dev, IOVA);
        assertThat(stale.cacheHit).isTrue();
        assertThat(stale.physAddr).as("hardware serves the old translation").isEqualTo(oldPa);
        assertThat(f.auditor.reports()).hasSize(1);
        StaleTranslation r = f.auditor.reports().getFirst();
        assertThat(r.vendor()).isEqualTo("smmuv3");
        assertThat(r.cache()).isEqualTo("TLB");
        assertThat(r.entry()).contains("ASID " + d.asid()).contains("IOVA 0x7" + "00000000");
        assertThat(r.changedAt()).isEqualTo("rewrite PTE");
        assertThat(r.servedAt()).isEqualTo("DMA");
        f.smmu.issue(invalidation);
        Translation fresh = f.read(dev, IOVA);
        assertThat(fresh.cacheHit).isFalse();
        assertThat(fresh.physAddr).isEqualTo(newPa);
        assertThat(f.auditor.reports()).hasSize(1);
    }

    @Test
    void tlbiNhVa() {
        assertStaleThenFixedBy(Command.tlbiNhVa(0, d.asid(), IOVA, true, 0, 0, 0));
    }

    @Test
    void tlbiNhVaRange() {
        // TG = 4K, NUM = 3, SCALE = 1: (3 + 1) << 1 pages from IOVA - 4 pages
        assertStaleThenFixedBy(Command.tlbiNhVa(0, d.asid(), IOVA - 4 * 4096, true, 1, 3, 1));
    }

    @Test
    void tlbiNhVaa() {
        assertStaleThenFixedBy(Command.tlbiNhVaa(0, IOVA, false));
    }

    @Test
    void tlbiNhAsid() {
        assertStaleThenFixedBy(Command.tlbiNhAsid(0, d.asid()));
    }

    @Test
    void tlbiNhAll() {
        assertStaleThenFixedBy(Command.tlbiNhAll(0));
    }

    @Test
    void tlbiS12Vmall() {
        assertStaleThenFixedBy(Command.tlbiS12Vmall(0));
    }

    @Test
    void tlbiNsnhAll() {
        assertStaleThenFixedBy(Command.tlbiNsnhAll());
    }

    @ParameterizedTest
    @ValueSource(strings = {"other ASID", "other VA", "other VMID", "S2_IPA", "range below"})
    void invalidationsThatDoNotCoverTheEntryLeaveItStale(String which) {
        long[] cmd = switch (which) {
            case "other ASID" -> Command.tlbiNhAsid(0, d.asid() + 1);
            case "other VA" -> Command.tlbiNhVa(0, d.asid(), IOVA + 4096, true, 0, 0, 0);
            case "other VMID" -> Command.tlbiNhAll(7);
            case "S2_IPA" -> Command.tlbiS2Ipa(0, IOVA, true, 0, 0, 0);
            default -> Command.tlbiNhVa(0, d.asid(), IOVA - 4 * 4096, true, 1, 3, 0);
        };
        f.smmu.issue(cmd);
        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(oldPa);
        assertThat(f.auditor.reports()).hasSize(1);
    }

    @Test
    void cdChangeWithoutCfgiCdKeepsTheOldCd() {
        f.smmu.issue(Command.tlbiNhAsid(0, d.asid()));
        // a second table mapping the same IOVA elsewhere, swapped into the CD without CFGI_CD
        SmmuPagingDomain other = f.stage1(dev);
        long otherPa = f.frame();
        other.map(IOVA, otherPa, 4096, IOMMU_READ);
        long cd = f.smmu.cdAddress(dev, 0);
        f.auditor.setStep("swap TTB0");
        f.memory.writeLong(cd + 8, other.root());
        f.auditor.setStep("DMA");
        f.auditor.clearReports();
        Translation t = f.read(dev, IOVA);
        assertThat(t.physAddr).as("the cached CD still points at the old table").isEqualTo(newPa);
        assertThat(f.auditor.reports()).extracting(StaleTranslation::cache).containsExactly("CD cache");
        assertThat(f.auditor.reports().getFirst().entry()).isEqualTo("SID 24 SSID 0");
        f.smmu.issue(Command.cfgiCd(0x18, 0), Command.tlbiNhAsid(0, d.asid()));
        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(otherPa);
    }

    @Test
    void steChangeWithoutCfgiSteKeepsTheOldSte() {
        long ste = f.smmu.steAddress(0x18);
        f.auditor.setStep("abort STE");
        f.memory.writeLong(ste, 1); // V, Config = abort
        f.auditor.setStep("DMA");
        f.auditor.clearReports();
        f.read(dev, IOVA);
        assertThat(f.auditor.reports()).extracting(StaleTranslation::cache).contains("STE cache");
        f.smmu.issue(Command.cfgiSteRange(0x18, 0));
        assertThat(f.read(dev, IOVA).faultName).isEqualTo("STE_ABORT");
    }

    @Test
    void cfgiAllDropsEveryCachedSte() {
        f.memory.writeLong(f.smmu.steAddress(0x18), 1);
        assertThat(f.read(dev, IOVA).faulted).isFalse();
        f.smmu.issue(Command.cfgiSteRange(0, 31));
        assertThat(f.read(dev, IOVA).faultName).isEqualTo("STE_ABORT");
    }

    @Test
    void cfgiCdAllDropsTheStreamsCds() {
        long cd = f.smmu.cdAddress(dev, 0);
        f.memory.writeLong(cd, f.memory.readLong(cd) & ~Cd.V);
        assertThat(f.read(dev, IOVA).faulted).isFalse();
        f.smmu.issue(Command.cfgiCdAll(0x18));
        assertThat(f.read(dev, IOVA).faultName).isEqualTo("C_BAD_CD");
    }

    @Test
    void auditOffReportsNothing() {
        f.auditor.setEnabled(false);
        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(oldPa);
        assertThat(f.auditor.reports()).isEmpty();
    }
}
