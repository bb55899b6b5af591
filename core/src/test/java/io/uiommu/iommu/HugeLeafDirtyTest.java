package io.uiommu.iommu;

import io.uiommu.mem.PhysicalMemory;
import io.uiommu.testing.Machines;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A 1 GiB leaf (VT-d second-stage 1 GiB page, AMD v1 level-3 page, SMMUv3 level-1 block) in a
 * dirty-tracking domain: one device write anywhere in it makes the whole leaf dirty, reported once
 * as its full range (so a bitmap marks every bit it covers), and cleared as a whole.
 */
class HugeLeafDirtyTest {
    private static final long GIB = 1L << 30;
    private static final int RW = IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE;
    private static final int DIRTY_TRACKING = 1 << 1;

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3", "amd"})
    void oneWriteDirtiesTheWholeGigabyte(String model) {
        IommuCore core = IommuCore.forPlatform(Machines.preset(model), new PhysicalMemory());
        IommuDevice dev = core.device("nic0");
        IommuDomain d = dev.driver().domainAllocUser(dev, DIRTY_TRACKING, null, null);
        assertThat(d.pgsizeBitmap() & GIB).as("1 GiB leaves").isNotZero();
        d.map(GIB, 4 * GIB, GIB, RW);
        assertThat(d.leafDescriptor(GIB)).as("one leaf").isEqualTo(d.leafDescriptor(2 * GIB - 4096));
        core.claimDmaOwner(dev);
        core.attachDevice(dev, d);
        d.readAndClearDirty(GIB, GIB, false, null);
        d.setDirtyTracking(true);

        List<long[]> dirty = new ArrayList<>();
        d.readAndClearDirty(GIB, GIB, true, (iova, len) -> dirty.add(new long[] {iova, len}));
        assertThat(dirty).isEmpty();
        byte[] b = {7};
        assertThat(core.dma(dev, Translation.NO_PASID, GIB + 0x1234_5678L, b, 0, 1, true).ok()).isTrue();
        // A window in the middle still sees the leaf, reported whole; NO_CLEAR keeps it.
        d.readAndClearDirty(GIB + 256L * 4096, 4096, true, (iova, len) -> dirty.add(new long[] {iova, len}));
        assertThat(dirty).singleElement().satisfies(r -> assertThat(r).containsExactly(GIB, GIB));
        dirty.clear();
        d.readAndClearDirty(GIB, GIB, false, (iova, len) -> dirty.add(new long[] {iova, len}));
        assertThat(dirty).hasSize(1);
        dirty.clear();
        d.readAndClearDirty(GIB, GIB, false, (iova, len) -> dirty.add(new long[] {iova, len}));
        assertThat(dirty).as("cleared as a whole").isEmpty();
        core.releaseDmaOwner(dev);
    }
}
