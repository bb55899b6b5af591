package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.Translation;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.uiommu.iommu.IommuDomain.IOMMU_READ;
import static io.uiommu.iommu.IommuDomain.IOMMU_WRITE;
import static io.uiommu.testing.Allocations.ONE_PER_TWENTY_OF_20K;
import static io.uiommu.testing.Allocations.allocatedBy;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The TLB hit path with the auditor off: a (StreamID, SubstreamID) shortcut to the TLB tag stands
 * in for the STE and CD caches, and must never outlive what they hold — a CFGI or an STE evicted
 * by another stream ends it. Hits and walks allocate nothing.
 */
class SmmuHitPathTest {
    static final long IOVA = 0x7_0000_0000L;
    final SmmuFixture f = new SmmuFixture();
    SmmuMaster dev;
    SmmuPagingDomain d;
    long pa;

    @BeforeEach
    void setUp() {
        dev = f.device("nic0", 0x18, 4);
        d = f.stage1(dev);
        pa = f.frame();
        d.map(IOVA, pa, 4096, IOMMU_READ | IOMMU_WRITE);
        f.attach(dev, d);
    }

    /** Walk, then hits through the slow path (which makes the shortcut) and the hit path. */
    private void warm(SmmuMaster m) {
        f.read(m, IOVA);
        for (int i = 0; i < 3; i++) {
            Translation t = f.read(m, IOVA);
            assertThat(t.cacheHit).isTrue();
            assertThat(t.descriptorReads).isZero();
        }
    }

    @Test
    void hitsServeTheCachedLeafWithItsOffsetAndSize() {
        warm(dev);
        Translation t = f.translate(dev, Translation.NO_PASID, IOVA + 0x123, true);
        assertThat(t.cacheHit).isTrue();
        assertThat(t.faulted).isFalse();
        assertThat(t.physAddr).isEqualTo(pa + 0x123);
        assertThat(t.pageSize).isEqualTo(4096);
        assertThat(f.read(dev, IOVA + 4096).faultName).as("the next page is not mapped").isEqualTo("F_TRANSLATION");
    }

    @Test
    void cfgiSteEndsTheShortcut() {
        warm(dev);
        f.memory.writeLong(f.smmu.steAddress(0x18), 1); // V, Config = abort
        assertThat(f.read(dev, IOVA).physAddr).as("the cached STE still holds").isEqualTo(pa);
        f.smmu.issue(Command.cfgiSteRange(0x18, 0));
        assertThat(f.read(dev, IOVA).faultName).isEqualTo("STE_ABORT");
    }

    @Test
    void cfgiCdAloneMovesTheStreamToTheNewAsid() {
        warm(dev);
        SmmuPagingDomain other = f.stage1(dev);
        long otherPa = f.frame();
        other.map(IOVA, otherPa, 4096, IOMMU_READ);
        long cd = f.smmu.cdAddress(dev, 0);
        long dw0 = f.memory.readLong(cd);
        int newAsid = d.asid() + 100;
        f.memory.writeLong(cd, (dw0 & ~(0xffffL << Cd.ASID_SHIFT)) | (long) newAsid << Cd.ASID_SHIFT);
        f.memory.writeLong(cd + 8, other.root());
        assertThat(f.read(dev, IOVA).physAddr).as("the cached CD still holds").isEqualTo(pa);
        // No TLBI: the old ASID's entry stays in the TLB, but the stream is no longer tagged with it.
        f.smmu.issue(Command.cfgiCd(0x18, 0));
        Translation t = f.read(dev, IOVA);
        assertThat(t.cacheHit).isFalse();
        assertThat(t.physAddr).isEqualTo(otherPa);
        assertThat(f.read(dev, IOVA).cacheHit).isTrue();
    }

    @Test
    void anSteEvictedByAnotherStreamIsFetchedAgain() {
        // StreamID 0x119 takes the same configuration-cache slot as 0x18.
        SmmuMaster neighbour = f.device("nic1", 0x119, 0);
        SmmuPagingDomain nd = f.stage1(neighbour);
        nd.map(IOVA, f.frame(), 4096, IOMMU_READ);
        f.attach(neighbour, nd);
        warm(dev);
        f.memory.writeLong(f.smmu.steAddress(0x18), 1); // abort, without CFGI
        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(pa);
        assertThat(f.read(neighbour, IOVA).faulted).isFalse();
        assertThat(f.read(dev, IOVA).faultName).as("0x18's STE left the cache: read again from memory")
                .isEqualTo("STE_ABORT");
    }

    @Test
    void stage2OnlyStreamsTakeTheHitPathToo() {
        SmmuMaster s2dev = f.device("vf0", 1, 0);
        SmmuPagingDomain s2 = f.nestParent(s2dev);
        long s2pa = f.frame();
        s2.map(IOVA, s2pa, 4096, IOMMU_READ | IOMMU_WRITE);
        f.attach(s2dev, s2);
        warm(s2dev);
        assertThat(f.read(s2dev, IOVA + 8).physAddr).isEqualTo(s2pa + 8);
        assertThat(f.translate(s2dev, 1, IOVA, false).faultName).as("PASID traffic to an S2-only stream")
                .isEqualTo("C_BAD_SUBSTREAMID");
        f.memory.writeLong(f.smmu.steAddress(1), 1);
        f.smmu.issue(Command.cfgiSteRange(1, 0));
        assertThat(f.read(s2dev, IOVA).faultName).isEqualTo("STE_ABORT");
    }

    @Test
    void aWriteToAPageTheTlbHoldsReadOnlyWalks() {
        SmmuPagingDomain ro = f.stage1(dev);
        long roPa = f.frame();
        ro.map(IOVA, roPa, 4096, IOMMU_READ);
        f.attach(dev, ro);
        warm(dev);
        Translation w = f.translate(dev, Translation.NO_PASID, IOVA, true);
        assertThat(w.faultName).isEqualTo("F_PERMISSION");
        assertThat(f.read(dev, IOVA).physAddr).isEqualTo(roPa);
    }

    @Test
    void translationsRacingUnmapsAndDomainSwitches() throws Exception {
        SmmuPagingDomain other = f.stage1(dev);
        long otherPa = f.frame();
        other.map(IOVA, otherPa, 4096, IOMMU_READ);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> bad = new AtomicReference<>();
        Thread device = new Thread(() -> {
            Translation t = new Translation();
            while (!stop.get()) {
                f.smmu.translate(dev, Translation.NO_PASID, IOVA + 8, IOMMU_READ, t);
                if (!t.faulted && t.physAddr != pa + 8 && t.physAddr != otherPa + 8) {
                    bad.compareAndSet(null, "translated to 0x" + Long.toHexString(t.physAddr));
                }
            }
        });
        device.start();
        try {
            for (int round = 0; round < 1500; round++) {
                SmmuPagingDomain to = round % 2 == 0 ? other : d;
                long expected = to == other ? otherPa : pa;
                f.attach(dev, to);
                assertThat(f.read(dev, IOVA + 8).physAddr).as("after the attach returns").isEqualTo(expected + 8);
                assertThat(f.read(dev, IOVA + 8).physAddr).isEqualTo(expected + 8);
                if (round % 10 == 0) {
                    to.unmap(IOVA, 4096);
                    assertThat(f.read(dev, IOVA + 8).faulted).as("after the unmap returns").isTrue();
                    to.map(IOVA, expected, 4096, IOMMU_READ | IOMMU_WRITE);
                }
            }
        } finally {
            stop.set(true);
            device.join();
        }
        assertThat(bad.get()).isNull();
    }

    @Test
    void hitsAndWalksDoNotAllocate() {
        int pages = 4096; // four times the TLB: every pass walks most pages again
        for (int i = 1; i < pages; i++) {
            d.map(IOVA + i * 4096L, f.frame(), 4096, IOMMU_READ | IOMMU_WRITE);
        }
        Translation t = new Translation();
        Runnable hits = () -> {
            for (int i = 0; i < 20_000; i++) {
                f.smmu.translate(dev, Translation.NO_PASID, IOVA + ((i & 255L) << 12), IOMMU_READ, t);
            }
        };
        Runnable walks = () -> {
            for (int i = 0; i < 20_000; i++) {
                f.smmu.translate(dev, Translation.NO_PASID, IOVA + (((i * 1031L) & (pages - 1)) << 12), IOMMU_READ, t);
            }
        };
        hits.run();
        walks.run();
        hits.run(); // warm up: class init, first touches, shortcut made
        assertThat(allocatedBy(hits)).as("TLB hits").isLessThan(ONE_PER_TWENTY_OF_20K);
        assertThat(t.cacheHit).isTrue();
        assertThat(allocatedBy(walks)).as("walks").isLessThan(ONE_PER_TWENTY_OF_20K);
        assertThat(t.faulted).isFalse();
    }
}
