package io.uiommu.bench;

import io.uiommu.hw.amd.AmdIommu;
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
import org.openjdk.jmh.annotations.Level;
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
 * One DMA translation through the AMD-Vi model's {@code translate()}: an IOTLB hit (DTE cache hit,
 * IOTLB hit, no descriptor read) and an IOTLB miss that walks a 4-level v1 table (4 descriptor
 * reads): the miss case cycles over 65,536 mapped pages, 64 times the IOTLB's 1,024 entries.
 */
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AmdTranslateBenchmark {
    /** Above 2^39, so the v1 table has 4 levels. */
    private static final long BASE = 1L << 40;
    private static final int PAGES = 65_536;

    private AmdIommu iommu;
    private IommuDevice dev;
    private final Translation t = new Translation();
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        PhysicalMemory memory = new PhysicalMemory();
        IommuUnit unit = new IommuUnit("amd0", "amd", 48, 52, List.of(4096L), 16, true, true, true, Map.of());
        iommu = new AmdIommu(unit, memory, new StaleTranslationAuditor(memory));
        dev = iommu.addDevice(new PciDevice("nic0", "01:00.0", 0, "amd0", 0, false, false));
        IommuDomain domain = iommu.domainAllocUser(dev, 0, null, null);
        iommu.attachDev(domain, dev);
        for (int i = 0; i < PAGES; i++) {
            domain.map(BASE + i * 4096L, 0x1_0000_0000L + i * 4096L, 4096,
                    IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
        }
        translate(BASE);
        if (t.faulted || t.descriptorReads != 4) {
            throw new IllegalStateException("setup: " + t);
        }
    }

    private long translate(long iova) {
        iommu.translate(dev, Translation.NO_PASID, iova, IommuDomain.IOMMU_READ,
                t.reset(iova, Translation.NO_PASID, IommuDomain.IOMMU_READ));
        return t.physAddr;
    }

    @Benchmark
    public long iotlbHit() {
        return translate(BASE + 0x123);
    }

    @Benchmark
    public long v1FourLevelMiss() {
        // A stride that is odd in pages visits every page before repeating and spreads over the sets.
        next = (next + 40_503) & (PAGES - 1);
        return translate(BASE + next * 4096L);
    }
}
