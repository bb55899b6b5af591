package io.uiommu.hw.vtd;

import org.junit.jupiter.api.Test;

import static io.uiommu.hw.vtd.VtdFixture.le;
import static org.assertj.core.api.Assertions.assertThat;

/** The bytes the driver writes: root, context and PASID entries in the spec's layout. */
class VtdTablesTest {
    private final VtdFixture f = new VtdFixture();

    @Test
    void rootAndContextEntriesOfAProbedDevice() {
        VtdDevice low = f.device("nic0", "03:1f.7", 20, true);
        VtdDevice high = f.device("nic1", "03:0f.0", 0, false);
        long rootLo = f.memory.readLong(f.iommu.rootTable() + 3 * 16);
        long rootHi = f.memory.readLong(f.iommu.rootTable() + 3 * 16 + 8);
        assertThat(rootLo & 1).as("LP").isEqualTo(1);
        assertThat(rootLo & 0xFFE).as("reserved").isZero();
        assertThat(rootHi & 1).as("UP: devfn 0xff is in the upper table").isEqualTo(1);

        long ctx = f.contextEntry(low);
        assertThat(ctx).isEqualTo((rootHi & ~0xFFFL) + (0xFF & 0x7F) * 32);
        long q0 = f.memory.readLong(ctx);
        assertThat(q0 & ContextEntry.PRESENT).isNotZero();
        assertThat(q0 & ContextEntry.FPD).isZero();
        assertThat(q0 & ContextEntry.PASIDE).as("PASID capable device").isNotZero();
        assertThat(q0 & ContextEntry.DTE).as("ATS capable device").isNotZero();
        assertThat((q0 >>> 9) & 7).as("PDTS: 2^20 PASIDs need 2^14 directory entries").isEqualTo(7);
        assertThat(q0 & ~0xFFFL).isEqualTo(low.pasidDirectory);
        assertThat(f.memory.readLong(ctx + 8)).as("RID_PASID 0").isZero();

        long q0b = f.memory.readLong(f.contextEntry(high));
        assertThat(q0b & (ContextEntry.PASIDE | ContextEntry.DTE)).isZero();
        assertThat((q0b >>> 9) & 7).as("no PASID capability: one directory page, 512 entries").isEqualTo(2);
    }

    @Test
    void secondStagePasidEntry() {
        VtdDevice dev = f.device("nic0", "00:03.0", 20, false);
        VtdPagingDomain d = f.paging(dev, VtdIommu.IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
        d.setDirtyTracking(true);
        f.iommu.attachDev(d, dev);
        long pe = f.pasidEntry(dev, 0);
        long q0 = f.memory.readLong(pe);
        long q1 = f.memory.readLong(pe + 8);
        assertThat(q0 & PasidEntry.PRESENT).isNotZero();
        assertThat(PasidEntry.pgtt(q0)).isEqualTo(PasidEntry.PGTT_SECOND_STAGE);
        assertThat(PasidEntry.aw(q0)).as("AW: 48-bit, 4-level").isEqualTo(2);
        assertThat(q0 & PasidEntry.SSADE).isNotZero();
        assertThat(q0 & PasidEntry.FPD).isZero();
        assertThat(q0 & ~0xFFFL).isEqualTo(d.root);
        assertThat(PasidEntry.did(q1)).isEqualTo(d.did).isGreaterThanOrEqualTo(VtdIommu.RESERVED_DIDS);
        assertThat(q1 & PasidEntry.PWSNP).isNotZero();
        for (int q = 2; q < 8; q++) {
            assertThat(f.memory.readLong(pe + 8L * q)).isZero();
        }
        long dir = f.memory.readLong(dev.pasidDirectory);
        assertThat(dir & 1).as("directory entry of PASIDs 0..63").isEqualTo(1);
    }

    @Test
    void nestedPasidEntry() {
        VtdDevice dev = f.device("nic0", "00:03.0", 20, false);
        VtdPagingDomain parent = f.paging(dev, VtdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT);
        VtdFixture g = new VtdFixture(VtdFixture.regs("ECAP.EAFS", 1));
        VtdDevice gdev = g.device("nic0", "00:03.0", 20, false);
        VtdPagingDomain gparent = g.paging(gdev, VtdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT);
        VtdNestedDomain nested = (VtdNestedDomain) g.iommu.domainAllocUser(gdev, 0, gparent,
                g.userData(VtdIommu.IOMMU_HWPT_DATA_VTD_S1, VtdFixture.s1(
                        VtdNestedDomain.IOMMU_VTD_S1_SRE | VtdNestedDomain.IOMMU_VTD_S1_WPE
                                | VtdNestedDomain.IOMMU_VTD_S1_EAFE, 0x5000_0000L, 48, 0)));
        g.iommu.attachDev(nested, gdev);
        long pe = g.pasidEntry(gdev, 0);
        long q0 = g.memory.readLong(pe);
        long q1 = g.memory.readLong(pe + 8);
        long q2 = g.memory.readLong(pe + 16);
        assertThat(PasidEntry.pgtt(q0)).isEqualTo(PasidEntry.PGTT_NESTED);
        assertThat(q0 & ~0xFFFL).as("SSPTPTR").isEqualTo(gparent.root);
        assertThat(PasidEntry.did(q1)).isEqualTo(nested.did).isNotEqualTo(gparent.did);
        assertThat(q2 & ~0xFFFL).as("FSPTPTR (a GPA)").isEqualTo(0x5000_0000L);
        assertThat(q2 & PasidEntry.SRE).isNotZero();
        assertThat(q2 & PasidEntry.WPE).isNotZero();
        assertThat(q2 & PasidEntry.EAFE).isNotZero();
        assertThat((q2 & PasidEntry.FSPM_MASK) >>> PasidEntry.FSPM_SHIFT).as("4-level").isZero();
        assertThat(parent).isNotNull();
    }

    @Test
    void blockingClearsTheEntryWithInvalidations() {
        VtdDevice dev = f.device("nic0", "00:03.0", 20, true);
        VtdPagingDomain d = f.paging(dev, 0);
        f.iommu.attachDev(d, dev);
        long before = f.iommu.invalidationsSubmitted();
        f.iommu.attachDev(f.iommu.blockedDomain(), dev);
        for (int q = 0; q < 8; q++) {
            assertThat(f.memory.readLong(f.pasidEntry(dev, 0) + 8L * q)).isZero();
        }
        assertThat(f.iommu.invalidationsSubmitted() - before).as("PASID cache, IOTLB, device TLB").isEqualTo(3);
        assertThat(d.did).as("DID released").isEqualTo(-1);
    }

    @Test
    void hwInfoCarriesCapAndEcap() {
        VtdDevice dev = f.device("nic0", "00:03.0", 20, false);
        var info = f.iommu.hwInfo(dev);
        assertThat(info.type()).isEqualTo(VtdIommu.IOMMU_HW_INFO_TYPE_INTEL_VTD);
        assertThat(info.data()).isEqualTo(le(1, f.hw.capabilities().cap(), f.hw.capabilities().ecap()));
        assertThat(f.iommu.capable(dev, io.uiommu.iommu.IommuDriver.Cap.DIRTY_TRACKING)).isTrue();
        assertThat(f.iommu.resvRegions(dev)).containsExactly(
                new io.uiommu.iommu.IommuDriver.ResvRegion(0xFEE0_0000L, 0x10_0000L));
    }
}
