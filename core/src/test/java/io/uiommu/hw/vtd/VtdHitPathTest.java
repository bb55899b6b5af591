package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.Translation;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.uiommu.hw.vtd.VtdFixture.RID_PASID;
import static io.uiommu.testing.Allocations.ONE_PER_TWENTY_OF_20K;
import static io.uiommu.testing.Allocations.allocatedBy;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The IOTLB hit path with the auditor off: a (source id, PASID) shortcut stands in for the context
 * and PASID caches, and must never outlive what they hold — their invalidations, or an entry
 * evicted by another device's fill, end it. Hits and walks allocate nothing.
 */
class VtdHitPathTest {
    private static final int RW = IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE;
    private static final long IOVA = 0x4000_0000L;
    private final VtdFixture f = new VtdFixture();
    private VtdDevice dev;
    private VtdPagingDomain domain;
    private long pa;

    @BeforeEach
    void setUp() {
        dev = f.device("nic0", "00:03.0", 20, false);
        domain = f.paging(dev, 0);
        f.iommu.attachDev(domain, dev);
        pa = f.frame(1);
        domain.map(IOVA, pa, 4096, RW);
    }

    /** Walk, then hits through the slow path (which makes the shortcut) and the hit path. */
    private void warm(VtdDevice d) {
        f.translate(d, RID_PASID, IOVA, false);
        for (int i = 0; i < 3; i++) {
            Translation t = f.translate(d, RID_PASID, IOVA, false);
            assertThat(t.cacheHit).isTrue();
            assertThat(t.descriptorReads).isZero();
        }
    }

    @Test
    void hitsServeTheCachedLeafWithItsOffsetAndSize() {
        warm(dev);
        Translation t = f.translate(dev, RID_PASID, IOVA + 0x123, false);
        assertThat(t.cacheHit).isTrue();
        assertThat(t.physAddr).isEqualTo(pa + 0x123);
        assertThat(t.pageSize).isEqualTo(4096);
        Translation w = f.translate(dev, RID_PASID, IOVA + 0x123, true);
        assertThat(w.cacheHit).as("a write walks once to set the dirty bit").isFalse();
        assertThat(w.physAddr).isEqualTo(pa + 0x123);
        assertThat(f.translate(dev, RID_PASID, IOVA, true).cacheHit).isTrue();
        assertThat(f.translate(dev, RID_PASID, IOVA + 4096, false).faultName)
                .isEqualTo("SS_ENTRY_NOT_PRESENT");
    }

    @Test
    void pasidCacheInvalidationMovesTheRequestToTheNewDomainId() {
        warm(dev);
        VtdPagingDomain other = f.paging(dev, 0);
        long otherPa = f.frame(2);
        other.map(IOVA, otherPa, 4096, RW);
        long pe = f.pasidEntry(dev, 0);
        long q0 = f.memory.readLong(pe);
        long q1 = f.memory.readLong(pe + 8);
        int newDid = domain.did + 7;
        f.memory.writeLong(pe, (q0 & 0xFFF) | other.root);
        f.memory.writeLong(pe + 8, (q1 & ~PasidEntry.DID_MASK) | newDid);
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr).as("the cached PASID entry holds")
                .isEqualTo(pa);
        // No IOTLB flush: the old DID's entry stays, but requests are no longer tagged with it.
        f.iommu.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, domain.did, 0), 0);
        Translation t = f.translate(dev, RID_PASID, IOVA, false);
        assertThat(t.cacheHit).isFalse();
        assertThat(t.physAddr).isEqualTo(otherPa);
        assertThat(f.translate(dev, RID_PASID, IOVA, false).cacheHit).isTrue();
    }

    @Test
    void contextCacheInvalidationEndsTheShortcut() {
        warm(dev);
        f.memory.writeLong(f.contextEntry(dev), 0);
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr).isEqualTo(pa);
        f.iommu.submit(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, dev.sid(), 0), 0);
        assertThat(f.translate(dev, RID_PASID, IOVA, false).faultName).isEqualTo("CONTEXT_ENTRY_NOT_PRESENT");
    }

    @Test
    void aContextEntryEvictedByAnotherDeviceIsReadAgain() {
        // 01:03.1 (source id 0x119) takes the same context-cache slot as 00:03.0 (0x18).
        VtdDevice neighbour = f.device("nic1", "01:03.1", 20, false);
        VtdPagingDomain nd = f.paging(neighbour, 0);
        f.iommu.attachDev(nd, neighbour);
        nd.map(IOVA, f.frame(3), 4096, RW);
        warm(dev);
        f.memory.writeLong(f.contextEntry(dev), 0); // not present, without an invalidation
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr).isEqualTo(pa);
        assertThat(f.translate(neighbour, RID_PASID, IOVA, false).faulted).isFalse();
        assertThat(f.translate(dev, RID_PASID, IOVA, false).faultName)
                .as("00:03.0's context entry left the cache: read again from memory")
                .isEqualTo("CONTEXT_ENTRY_NOT_PRESENT");
    }

    @Test
    void passThroughEntriesTakeTheHitPath() {
        warm(dev);
        long pe = f.pasidEntry(dev, 0);
        long q0 = f.memory.readLong(pe);
        f.memory.writeLong(pe, (q0 & ~PasidEntry.PGTT_MASK) | (long) PasidEntry.PGTT_PASS_THROUGH << PasidEntry.PGTT_SHIFT);
        f.iommu.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, domain.did, 0), 0);
        for (int i = 0; i < 3; i++) {
            Translation t = f.translate(dev, RID_PASID, 0x1234_5678L, true);
            assertThat(t.faulted).isFalse();
            assertThat(t.physAddr).isEqualTo(0x1234_5678L);
            assertThat(t.descriptorReads).isEqualTo(i == 0 ? 9 : 0);
        }
    }

    @Test
    void translationsRacingDomainSwitches() throws Exception {
        VtdPagingDomain other = f.paging(dev, 0);
        long otherPa = f.frame(4);
        other.map(IOVA, otherPa, 4096, RW);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> bad = new AtomicReference<>();
        Thread device = new Thread(() -> {
            Translation t = new Translation();
            while (!stop.get()) {
                f.iommu.translate(dev, RID_PASID, IOVA + 8, IommuDomain.IOMMU_READ, t.reset(IOVA + 8, RID_PASID, 1));
                if (!t.faulted && t.physAddr != pa + 8 && t.physAddr != otherPa + 8) {
                    bad.compareAndSet(null, "translated to 0x" + Long.toHexString(t.physAddr));
                }
            }
        });
        device.start();
        try {
            for (int round = 0; round < 1500; round++) {
                VtdPagingDomain to = round % 2 == 0 ? other : domain;
                long expected = to == other ? otherPa : pa;
                f.iommu.attachDev(to, dev);
                assertThat(f.translate(dev, RID_PASID, IOVA + 8, false).physAddr).as("after the attach returns")
                        .isEqualTo(expected + 8);
                assertThat(f.translate(dev, RID_PASID, IOVA + 8, false).physAddr).isEqualTo(expected + 8);
            }
        } finally {
            stop.set(true);
            device.join();
        }
        assertThat(bad.get()).isNull();
    }

    @Test
    void hitsAndWalksDoNotAllocate() {
        int pages = 16_384; // four times the IOTLB: every pass walks most pages again
        for (int i = 1; i < pages; i++) {
            domain.map(IOVA + ((long) i << 12), f.memory.allocateFrame() << 12, 4096, RW);
        }
        Translation t = new Translation();
        Runnable hits = () -> {
            for (int i = 0; i < 20_000; i++) {
                long iova = IOVA + ((i & 255L) << 12);
                f.iommu.translate(dev, RID_PASID, iova, IommuDomain.IOMMU_READ, t.reset(iova, RID_PASID, 1));
            }
        };
        Runnable walks = () -> {
            for (int i = 0; i < 20_000; i++) {
                long iova = IOVA + (((i * 4099L) & (pages - 1)) << 12);
                f.iommu.translate(dev, RID_PASID, iova, IommuDomain.IOMMU_READ, t.reset(iova, RID_PASID, 1));
            }
        };
        hits.run();
        walks.run();
        hits.run(); // warm up: class init, per-thread scratch, first touches, shortcut made
        assertThat(allocatedBy(hits)).as("IOTLB hits").isLessThan(ONE_PER_TWENTY_OF_20K);
        assertThat(t.cacheHit).isTrue();
        assertThat(allocatedBy(walks)).as("walks").isLessThan(ONE_PER_TWENTY_OF_20K);
        assertThat(t.faulted).isFalse();
    }
}
