package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.StaleTranslation;
import io.uiommu.iommu.Translation;
import io.uiommu.pt.PageTableFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.uiommu.hw.vtd.VtdFixture.RID_PASID;
import static org.assertj.core.api.Assertions.assertThat;

/** Nested translation: a guest first stage in guest RAM over a nesting-parent second stage. */
class VtdNestedTest {
    private static final long IOVA = 0x1000_0000L;
    private static final long DATA_GPA = 0x200_0000L;
    private static final int RW = PageTableFormat.READ | PageTableFormat.WRITE;
    private final VtdFixture f = new VtdFixture();
    private VtdDevice dev;
    private VtdPagingDomain parent;
    private GuestRam guest;
    private VtdNestedDomain nested;

    @BeforeEach
    void setUp() {
        dev = f.device("nic0", "00:03.0", 20, false);
        parent = f.paging(dev, VtdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT);
        guest = new GuestRam(f.memory, parent);
        guest.back(DATA_GPA);
        guest.back(DATA_GPA + 0x1000);
        guest.guestMap(IOVA, DATA_GPA, RW);
        guest.guestMap(IOVA + 0x1000, DATA_GPA + 0x1000, RW);
        nested = (VtdNestedDomain) f.iommu.domainAllocUser(dev, 0, parent,
                f.userData(VtdIommu.IOMMU_HWPT_DATA_VTD_S1, VtdFixture.s1(0, guest.root, 48, 0)));
        f.iommu.attachDev(nested, dev);
    }

    @Test
    void nestedWalkReadsTwentyFourDescriptors() {
        Translation cold = f.translate(dev, RID_PASID, IOVA + 0x42, false);
        assertThat(cold.faulted).isFalse();
        assertThat(cold.physAddr).isEqualTo(guest.host(DATA_GPA) + 0x42);
        assertThat(cold.descriptorReads).as("5 context + 9 PASID + (4+1)*(4+1)-1 nested").isEqualTo(38);
        Translation warm = f.translate(dev, RID_PASID, IOVA + 0x1000, true);
        assertThat(warm.physAddr).isEqualTo(guest.host(DATA_GPA + 0x1000));
        assertThat(warm.descriptorReads).as("context and PASID caches hit, IOTLB misses").isEqualTo(24);
        assertThat(f.translate(dev, RID_PASID, IOVA + 0x1008, true).descriptorReads).isZero();
    }

    @Test
    void hardwareSetsGuestAccessedAndDirtyBits() {
        f.translate(dev, RID_PASID, IOVA, true);
        long leaf = f.memory.readLong(guest.host(guest.leafGpa(IOVA)));
        assertThat(leaf & (1L << 5)).as("A").isNotZero();
        assertThat(leaf & (1L << 6)).as("D").isNotZero();
    }

    @Test
    void firstStageNotPresent() {
        Translation t = f.translate(dev, RID_PASID, IOVA + 0x5000, false);
        assertThat(t.faultName).isEqualTo("FS_ENTRY_NOT_PRESENT");
        assertThat(t.faultCode).isEqualTo(0x71);
        assertThat(t.faultLevel).isEqualTo(1);
        assertThat(t.faultStage2).isFalse();
        assertThat(f.translate(dev, RID_PASID, 1L << 47, false).faultName).isEqualTo("FS_NON_CANONICAL");
    }

    @Test
    void outputNotMappedInTheParent() {
        guest.guestMap(IOVA + 0x8000, 0x300_0000L, RW);
        Translation t = f.translate(dev, RID_PASID, IOVA + 0x8000, false);
        assertThat(t.faultName).isEqualTo("SS_ENTRY_NOT_PRESENT");
        assertThat(t.faultStage2).isTrue();
        assertThat(t.faultLevel).isEqualTo(2);
    }

    @Test
    void firstStageTableNotMappedInTheParent() {
        VtdNestedDomain lost = (VtdNestedDomain) f.iommu.domainAllocUser(dev, 0, parent,
                f.userData(VtdIommu.IOMMU_HWPT_DATA_VTD_S1, VtdFixture.s1(0, 0x3F0_0000L, 48, 0)));
        f.iommu.attachDev(lost, dev);
        Translation t = f.translate(dev, RID_PASID, IOVA, false);
        assertThat(t.faultName).isEqualTo("SS_ENTRY_NOT_PRESENT");
        assertThat(t.faultStage2).isTrue();
    }

    @Test
    void readOnlyInTheParentRefusesWrites() {
        long gpa = 0x500_0000L;
        parent.map(gpa, GuestRam.HOST_BASE + gpa, 4096, IommuDomain.IOMMU_READ);
        guest.guestMap(IOVA + 0x9000, gpa, RW);
        assertThat(f.translate(dev, RID_PASID, IOVA + 0x9000, false).faulted).isFalse();
        Translation t = f.translate(dev, RID_PASID, IOVA + 0x9000, true);
        assertThat(t.faultName).isEqualTo("WRITE_PERMISSION");
        assertThat(t.faultStage2).isTrue();
    }

    private long rewriteGuestLeaf(long newGpa) {
        f.auditor.setEnabled(true);
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr).isEqualTo(guest.host(DATA_GPA));
        guest.back(newGpa);
        long leaf = guest.host(guest.leafGpa(IOVA));
        long pte = f.memory.readLong(leaf);
        f.memory.writeLong(leaf, (pte & ~0x000F_FFFF_FFFF_F000L) | newGpa);
        Translation stale = f.translate(dev, RID_PASID, IOVA, false);
        assertThat(stale.physAddr).isEqualTo(guest.host(DATA_GPA));
        assertThat(f.auditor.reports()).extracting(StaleTranslation::cache).containsExactly("IOTLB");
        assertThat(f.auditor.reports().getFirst().descriptor()).isEqualTo(leaf);
        return leaf;
    }

    @Test
    void guestPageInvalidationIsPasidBasedPageSelective() {
        long newGpa = 0x600_0000L;
        rewriteGuestLeaf(newGpa);
        nested.invalidate(f.userArray(VtdNestedDomain.IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 24,
                VtdFixture.inv(IOVA + 0x10_0000L, 1, 0, 0)));
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr).as("other page").isEqualTo(guest.host(DATA_GPA));
        long before = f.iommu.invalidationsSubmitted();
        nested.invalidate(f.userArray(VtdNestedDomain.IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 24,
                VtdFixture.inv(IOVA, 1, VtdNestedDomain.IOMMU_VTD_INV_FLAGS_LEAF, 0)));
        assertThat(f.iommu.invalidationsSubmitted() - before).isEqualTo(1);
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr).isEqualTo(guest.host(newGpa));
    }

    @Test
    void guestFullInvalidationIsPasidSelective() {
        long newGpa = 0x600_0000L;
        rewriteGuestLeaf(newGpa);
        nested.invalidate(f.userArray(VtdNestedDomain.IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 24,
                VtdFixture.inv(0, -1L, 0, 0)));
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr).isEqualTo(guest.host(newGpa));
    }

    @Test
    void parentUnmapFlushesNestedEntries() {
        assertThat(f.translate(dev, RID_PASID, IOVA, false).faulted).isFalse();
        parent.unmap(DATA_GPA, 4096);
        Translation t = f.translate(dev, RID_PASID, IOVA, false);
        assertThat(t.faultName).isEqualTo("SS_ENTRY_NOT_PRESENT");
        assertThat(t.faultStage2).isTrue();
    }

    @Test
    void dmaThroughTheNestedDomain() {
        byte[] data = "through two stages".getBytes();
        assertThat(f.core.dma(dev, RID_PASID, IOVA + 0xFF8, data, 0, data.length, true).ok()).isTrue();
        byte[] back = new byte[data.length];
        f.memory.read(guest.host(DATA_GPA) + 0xFF8, back, 0, back.length);
        assertThat(back).isEqualTo(data);
    }

    @Test
    void nestedOnAPasid() {
        VtdPagingDomain plain = f.paging(dev, 0);
        f.iommu.attachDev(plain, dev);
        f.core.attachDevicePasid(dev, 3, nested, false);
        assertThat(f.translate(dev, 3, IOVA, false).physAddr).isEqualTo(guest.host(DATA_GPA));
        assertThat(f.translate(dev, RID_PASID, IOVA, false).faultName).isEqualTo("SS_ENTRY_NOT_PRESENT");
    }
}
