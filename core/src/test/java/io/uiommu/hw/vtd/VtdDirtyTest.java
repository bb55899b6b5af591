package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.uiommu.hw.vtd.VtdFixture.RID_PASID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Dirty tracking: SSADE in the PASID entry, D bits set by device writes, harvested by the driver. */
class VtdDirtyTest {
    private static final int RW = IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE;
    private final VtdFixture f = new VtdFixture();
    private VtdDevice dev;
    private VtdPagingDomain domain;

    @BeforeEach
    void setUp() {
        dev = f.device("nic0", "00:03.0", 20, false);
        domain = f.paging(dev, VtdIommu.IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
        f.iommu.attachDev(domain, dev);
        domain.map(0x10_0000L, 0x8800_0000L, 4 * 4096, RW);
        domain.map(0x40_0000L, 0x9000_0000L, 1L << 21, RW);
    }

    private List<long[]> harvest(boolean noClear) {
        List<long[]> dirty = new ArrayList<>();
        domain.readAndClearDirty(0, 1L << 30, noClear, (iova, len) -> dirty.add(new long[] {iova, len}));
        return dirty;
    }

    private void dmaWrite(long iova) {
        byte[] b = {1, 2, 3};
        assertThat(f.core.dma(dev, RID_PASID, iova, b, 0, b.length, true).ok()).isTrue();
    }

    @Test
    void deviceWritesAreReportedOnceEach() {
        domain.setDirtyTracking(true);
        assertThat(f.memory.readLong(f.pasidEntry(dev, 0)) & PasidEntry.SSADE).isNotZero();
        dmaWrite(0x10_1000L);
        byte[] r = new byte[3];
        assertThat(f.core.dma(dev, RID_PASID, 0x10_2000L, r, 0, 3, false).ok()).isTrue();
        dmaWrite(0x41_0000L);
        assertThat(harvest(true)).extracting(e -> e[0] + "+" + e[1])
                .containsExactly((0x10_1000L) + "+4096", (0x40_0000L) + "+" + (1L << 21));
        assertThat(harvest(false)).hasSize(2);
        assertThat(harvest(false)).as("cleared").isEmpty();
    }

    @Test
    void writeAfterReadOfACachedPageStillMarksItDirty() {
        domain.setDirtyTracking(true);
        byte[] r = new byte[3];
        f.core.dma(dev, RID_PASID, 0x10_3000L, r, 0, 3, false);
        dmaWrite(0x10_3000L);
        assertThat(harvest(false)).extracting(e -> e[0]).containsExactly(0x10_3000L);
        // Harvesting flushed the IOTLB: the next write walks and sets D again.
        dmaWrite(0x10_3000L);
        assertThat(harvest(false)).extracting(e -> e[0]).containsExactly(0x10_3000L);
    }

    @Test
    void withoutTrackingNothingIsDirty() {
        dmaWrite(0x10_1000L);
        assertThat(f.memory.readLong(f.pasidEntry(dev, 0)) & PasidEntry.SSADE).isZero();
        assertThatThrownBy(() -> harvest(false)).isInstanceOf(IommufdException.class)
                .extracting(e -> ((IommufdException) e).errno()).isEqualTo(Errno.EINVAL);
        domain.readAndClearDirty(0, 1L << 30, false, null);
        domain.setDirtyTracking(true);
        assertThat(harvest(false)).isEmpty();
    }

    @Test
    void trackingReachesNestedChildren() {
        VtdPagingDomain parent = f.paging(dev, VtdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT
                | VtdIommu.IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
        GuestRam guest = new GuestRam(f.memory, parent);
        guest.back(0x200_0000L);
        guest.guestMap(0x1000_0000L, 0x200_0000L, io.uiommu.pt.PageTableFormat.READ | io.uiommu.pt.PageTableFormat.WRITE);
        IommuDomain nested = f.iommu.domainAllocUser(dev, 0, parent,
                f.userData(VtdIommu.IOMMU_HWPT_DATA_VTD_S1, VtdFixture.s1(0, guest.root, 48, 0)));
        f.iommu.attachDev(nested, dev);
        parent.setDirtyTracking(true);
        assertThat(f.memory.readLong(f.pasidEntry(dev, 0)) & PasidEntry.SSADE).isNotZero();
        dmaWriteTo(0x1000_0000L);
        List<Long> dirty = new ArrayList<>();
        parent.readAndClearDirty(0x200_0000L, 4096, false, (iova, len) -> dirty.add(iova));
        assertThat(dirty).containsExactly(0x200_0000L);
        parent.setDirtyTracking(false);
        assertThat(f.memory.readLong(f.pasidEntry(dev, 0)) & PasidEntry.SSADE).isZero();
    }

    private void dmaWriteTo(long iova) {
        byte[] b = {9};
        assertThat(f.core.dma(dev, RID_PASID, iova, b, 0, 1, true).ok()).isTrue();
    }

    @Test
    void domainsWithoutDirtyOps() {
        VtdPagingDomain plain = f.paging(dev, 0);
        assertThat(plain.hasDirtyOps()).isFalse();
        assertThatThrownBy(() -> plain.setDirtyTracking(true)).isInstanceOf(IommufdException.class);
    }
}
