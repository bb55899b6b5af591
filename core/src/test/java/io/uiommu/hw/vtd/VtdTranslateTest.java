package io.uiommu.hw.vtd;

import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.Translation;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.uiommu.hw.vtd.VtdFixture.RID_PASID;
import static org.assertj.core.api.Assertions.assertThat;

/** DMA requests through the model: caches, second-stage walks and the faults it records. */
class VtdTranslateTest {
    private static final int RW = IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE;
    private final VtdFixture f = new VtdFixture();
    private VtdDevice dev;
    private VtdPagingDomain domain;

    @BeforeEach
    void setUp() {
        dev = f.device("nic0", "00:03.0", 20, false);
        domain = f.paging(dev, 0);
        f.iommu.attachDev(domain, dev);
    }

    @Test
    void walkThenIotlbHit() {
        long pa = f.frame(0x11);
        domain.map(0x4000_0000L, pa, 4096, RW);
        Translation t = f.translate(dev, RID_PASID, 0x4000_0123L, false);
        assertThat(t.faulted).isFalse();
        assertThat(t.physAddr).isEqualTo(pa + 0x123);
        assertThat(t.cacheHit).isFalse();
        // root 1 + context 4 + PASID directory 1 + PASID entry 8 + 4-level walk 4
        assertThat(t.descriptorReads).isEqualTo(18);
        Translation again = f.translate(dev, RID_PASID, 0x4000_0FFFL, false);
        assertThat(again.cacheHit).isTrue();
        assertThat(again.descriptorReads).isZero();
        assertThat(again.physAddr).isEqualTo(pa + 0xFFF);
    }

    @Test
    void largePagesAreOneIotlbEntry() {
        long pa = 0x8000_0000L;
        domain.map(0x4000_0000L, pa, 1L << 21, RW);
        assertThat(f.translate(dev, RID_PASID, 0x4000_1000L, false).pageSize).isEqualTo(1L << 21);
        Translation t = f.translate(dev, RID_PASID, 0x401F_F008L, false);
        assertThat(t.cacheHit).isTrue();
        assertThat(t.physAddr).isEqualTo(pa + 0x1F_F008L);
    }

    @Test
    void dmaMovesBytes() {
        long pa = f.frame(0);
        domain.map(0x10000, pa, 4096, RW);
        byte[] out = "hello vt-d".getBytes();
        DmaResult w = f.core.dma(dev, RID_PASID, 0x10010, out, 0, out.length, true);
        assertThat(w.ok()).isTrue();
        byte[] back = new byte[out.length];
        f.memory.read(pa + 0x10, back, 0, back.length);
        assertThat(back).isEqualTo(out);
    }

    @Test
    void secondStageNotPresent() {
        Translation t = f.translate(dev, RID_PASID, 0x7000_0000L, false);
        assertThat(t.faulted).isTrue();
        assertThat(t.faultCode).isEqualTo(0x79);
        assertThat(t.faultName).isEqualTo("SS_ENTRY_NOT_PRESENT");
        assertThat(t.faultLevel).as("the PML4 entry is empty").isEqualTo(4);
        assertThat(t.faultStage2).isFalse();
    }

    @Test
    void writeToReadOnlyPage() {
        domain.map(0x10000, f.frame(0), 4096, IommuDomain.IOMMU_READ);
        assertThat(f.translate(dev, RID_PASID, 0x10000, false).faulted).isFalse();
        Translation t = f.translate(dev, RID_PASID, 0x10000, true);
        assertThat(t.faultName).isEqualTo("WRITE_PERMISSION");
        assertThat(t.faultCode).isEqualTo(0x85);
        assertThat(t.faultLevel).isEqualTo(1);
    }

    @Test
    void addressBeyondTheDomainWidth() {
        Translation t = f.translate(dev, RID_PASID, 1L << 48, false);
        assertThat(t.faultName).isEqualTo("ADDRESS_BEYOND_MAX");
        assertThat(t.faultCode).isEqualTo(0x83);
    }

    @Test
    void blockedDeviceFaultsOnItsPasidEntry() {
        f.iommu.attachDev(f.iommu.blockedDomain(), dev);
        Translation t = f.translate(dev, RID_PASID, 0x1000, false);
        assertThat(t.faultName).isEqualTo("PASID_ENTRY_NOT_PRESENT");
        assertThat(t.faultCode).isEqualTo(0x59);
    }

    @Test
    void contextAndRootFaults() {
        Translation t = new Translation();
        f.hw.translate(0x0500, Translation.NO_PASID, 0, IommuDomain.IOMMU_READ, t.reset(0, -1, 1));
        assertThat(t.faultName).as("bus 5 has no context table").isEqualTo("ROOT_ENTRY_NOT_PRESENT");
        f.hw.translate(0x0008, Translation.NO_PASID, 0, IommuDomain.IOMMU_READ, t.reset(0, -1, 1));
        assertThat(t.faultName).as("00:01.0 has no context entry").isEqualTo("CONTEXT_ENTRY_NOT_PRESENT");
        assertThat(t.faultCode).isEqualTo(0x41);
    }

    @Test
    void pasidRequestsOfADeviceWithoutPasid() {
        VtdDevice plain = f.device("disk0", "00:04.0", 0, false);
        Translation t = f.translate(plain, 5, 0x1000, false);
        assertThat(t.faultName).isEqualTo("CONTEXT_PASID_DISABLED");
        assertThat(t.faultCode).isEqualTo(0x45);
        Translation far = f.translate(dev, 1 << 19, 0x1000, false);
        assertThat(far.faultName).as("no PASID table page for it yet").isEqualTo("PASID_DIRECTORY_NOT_PRESENT");
    }

    @Test
    void faultsAreRecordedInTheFaultRecordingRegisters() {
        int fro = f.hw.capabilities().faultRecordOffset();
        f.translate(dev, RID_PASID, 0x7000_0000L, true);
        long lo = f.hw.read64(fro);
        long hi = f.hw.read64(fro + 8);
        assertThat(lo).isEqualTo(0x7000_0000L);
        assertThat(hi >>> 63).as("F").isEqualTo(1);
        assertThat((hi >>> 32) & 0xFF).as("FR").isEqualTo(0x79);
        assertThat(hi & 0xFFFF).as("SID").isEqualTo(dev.sid());
        assertThat((hi >>> 62) & 1).as("T: write").isZero();
        assertThat((hi >>> 31) & 1).as("PP: no PASID").isZero();
        assertThat(f.hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_PPF).isNotZero();
        assertThat((f.hw.read32(VtdHardware.FSTS) >>> 8) & 0xFF).as("FRI moved on").isEqualTo(1);

        // Software clears F; records 1..7 and 0 fill, the ninth fault finds F set and is lost.
        f.hw.write64(fro + 8, 1L << 63);
        assertThat(f.hw.read64(fro + 8) >>> 63).isZero();
        for (int i = 0; i < 9; i++) {
            f.translate(dev, 7, 0x7000_0000L + i * 4096L, false);
        }
        assertThat(f.hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_PFO).isNotZero();
        long withPasid = f.hw.read64(fro + 16 + 8);
        assertThat((withPasid >>> 31) & 1).as("PP").isEqualTo(1);
        assertThat((withPasid >>> 40) & 0xFFFFF).as("PV").isEqualTo(7);
        assertThat((withPasid >>> 62) & 1).as("T: read").isEqualTo(1);
        f.hw.write32(VtdHardware.FSTS, VtdHardware.FSTS_PFO);
        assertThat(f.hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_PFO).isZero();
    }

    @Test
    void translationDisabledPassesAddressesThrough() {
        f.hw.write32(VtdHardware.GCMD, VtdHardware.GCMD_QIE);
        Translation t = f.translate(dev, RID_PASID, 0x1234_5678L, true);
        assertThat(t.faulted).isFalse();
        assertThat(t.physAddr).isEqualTo(0x1234_5678L);
    }

    @Test
    void detachThroughTheCoreBlocksDma() {
        domain.map(0x10000, f.frame(0), 4096, RW);
        f.core.attachDevice(dev, domain);
        assertThat(f.translate(dev, RID_PASID, 0x10000, false).faulted).isFalse();
        f.core.detachDevice(dev);
        assertThat(f.translate(dev, RID_PASID, 0x10000, false).faultName).isEqualTo("PASID_ENTRY_NOT_PRESENT");
    }

    @Test
    void unmapInvalidatesTheIotlb() {
        domain.map(0x10000, f.frame(0), 4096, RW);
        assertThat(f.translate(dev, RID_PASID, 0x10000, false).faulted).isFalse();
        assertThat(domain.unmap(0x10000, 4096)).isEqualTo(4096);
        assertThat(f.translate(dev, RID_PASID, 0x10000, false).faultName).isEqualTo("SS_ENTRY_NOT_PRESENT");
        assertThat(domain.iovaToPhys(0x10000)).isEqualTo(-1);
    }
}
