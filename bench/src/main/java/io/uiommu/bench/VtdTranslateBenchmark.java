package io.uiommu.bench;

import io.uiommu.hw.vtd.VtdIommu;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One DMA translation through the VT-d model ({@code VtdIommu.translate}) of a device attached to
 * a 4-level second-stage domain: an IOTLB hit (16 hot pages), and an IOTLB miss that walks the four
 * levels (65,536 pages visited in turn, far more than the 4,096 IOTLB entries; context and PASID
 * caches hit).
 */
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class VtdTranslateBenchmark {
    private static final long IOVA = 0x1_0000_0000L;
    private static final int MISS_PAGES = 1 << 16;

    private VtdIommu iommu;
    private IommuDevice dev;
    private final Translation out = new Translation();
    private int hot;
    private int cold;

    @Setup
    public void setUp() {
        PhysicalMemory memory = new PhysicalMemory();
        IommuUnit unit = new IommuUnit("dmar0", "vtd", 48, 48, List.of(4096L), 20, true, true, false, Map.of());
        iommu = new VtdIommu(unit, memory, new StaleTranslationAuditor(memory));
        dev = iommu.addDevice(new PciDevice("nic0", "00:03.0", 0, "dmar0", 20, false, false));
        IommuDomain domain = iommu.domainAllocUser(dev, 0, null, null);
        iommu.attachDev(domain, dev);
        for (int i = 0; i < MISS_PAGES; i++) {
            // One 4 KiB leaf per page (physically scattered so no large page can be used).
            domain.map(IOVA + ((long) i << 12), 0x40_0000_0000L + ((long) i << 13), 4096,
                    IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
        }
    }

    /** Calibration: the harness and the Translation reset alone, on the same loaded machine. */
    @Benchmark
    public long baselineResetOnly() {
        long iova = IOVA + ((long) (hot++ & 15) << 12) + 0x40;
        out.reset(iova, -1, 1);
        return out.physAddr + iova;
    }

    @Benchmark
    public long iotlbHit() {
        long iova = IOVA + ((long) (hot++ & 15) << 12) + 0x40;
        iommu.translate(dev, Translation.NO_PASID, iova, IommuDomain.IOMMU_READ, out.reset(iova, -1, 1));
        return out.physAddr;
    }

    @Benchmark
    public long iotlbMissFourLevelWalk() {
        long iova = IOVA + ((long) (cold++ & (MISS_PAGES - 1)) << 12);
        iommu.translate(dev, Translation.NO_PASID, iova, IommuDomain.IOMMU_READ, out.reset(iova, -1, 1));
        return out.physAddr;
    }
}
