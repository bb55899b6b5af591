package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.Translation;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.uiommu.hw.vtd.VtdFixture.RID_PASID;
import static org.assertj.core.api.Assertions.assertThat;

/** DMA translating while the driver maps, unmaps and invalidates: never a torn or stale result. */
class VtdConcurrencyTest {
    @Test
    void translationsRacingMapAndUnmap() throws Exception {
        VtdFixture f = new VtdFixture();
        VtdDevice dev = f.device("nic0", "00:03.0", 20, false);
        VtdPagingDomain domain = f.paging(dev, 0);
        f.iommu.attachDev(domain, dev);
        long iova = 0x10_0000L;
        long[] pas = {0x7000_0000L, 0x7100_0000L, 0x7200_0000L};
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> bad = new AtomicReference<>();
        Thread device = new Thread(() -> {
            Translation t = new Translation();
            while (!stop.get()) {
                for (int k = 0; k < 8; k++) {
                    long a = iova + k * 4096L;
                    f.iommu.translate(dev, RID_PASID, a, IommuDomain.IOMMU_READ, t.reset(a, -1, 1));
                    if (!t.faulted) {
                        long page = (t.physAddr - k * 4096L) & ~0xFFFL;
                        if (page != pas[0] && page != pas[1] && page != pas[2]) {
                            bad.compareAndSet(null, "translated to 0x" + Long.toHexString(t.physAddr));
                        }
                    }
                }
            }
        });
        device.start();
        try {
            for (int round = 0; round < 3000; round++) {
                long pa = pas[round % 3];
                domain.map(iova, pa, 8 * 4096L, IommuDomain.IOMMU_READ);
                Translation t = f.translate(dev, RID_PASID, iova + 4096, false);
                assertThat(t.physAddr).isEqualTo(pa + 4096);
                domain.unmap(iova, 8 * 4096L);
                assertThat(f.translate(dev, RID_PASID, iova + 4096, false).faulted)
                        .as("after unmap returns, no translation reaches the old page").isTrue();
            }
        } finally {
            stop.set(true);
            device.join();
        }
        assertThat(bad.get()).isNull();
    }
}
