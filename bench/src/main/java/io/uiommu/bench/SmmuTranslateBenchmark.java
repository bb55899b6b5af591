package io.uiommu.bench;

import io.uiommu.hw.smmuv3.ArmSmmuV3;
import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.iommu.UserData;
import io.uiommu.iommu.ViommuOps;
import io.uiommu.iommu.ViommuCore;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.pt.ArmLpaeTable;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.TableAllocator;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;
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
 * SMMUv3 translation through the driver's {@code translate} (what IommuCore.dma calls per page):
 * a TLB hit of a stage-1 stream cycling over 256 pages, and a nested stage-1-over-stage-2 miss —
 * 65,536 guest pages visited in turn, far more than the 1,024-entry TLB holds, each a full 4x4 walk
 * (24 descriptor reads) with the STE and CD already in the configuration cache.
 */
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SmmuTranslateBenchmark {
    private static final long IOVA = 0x4000_0000L;
    private static final int HIT_PAGES = 256;
    private static final int MISS_PAGES = 65536;
    private static final long GUEST_RAM_PA = 0x2_0000_1000L; // not 2 MiB aligned: stage 2 maps 4 KiB leaves
    private static final long GUEST_RAM = 512L << 20;
    private static final long CD_IPA = 0x1000;
    private static final long DATA_IPA = 0x1000_0000L;

    private ArmSmmuV3 smmu;
    private IommuDevice s1Dev;
    private IommuDevice nestedDev;
    private final Translation t = new Translation();
    private int i;

    @Setup
    public void setUp() {
        PhysicalMemory mem = new PhysicalMemory();
        IommuUnit unit = new IommuUnit("smmu0", "smmuv3", 48, 48, List.of(4096L, 16384L, 65536L), 20, true, true,
                false, Map.of());
        smmu = new ArmSmmuV3(unit, mem, new StaleTranslationAuditor(mem));
        IommuCore core = IommuCore.withMockIommu(mem);
        s1Dev = smmu.addDevice(new PciDevice("nic0", "00:03.0", 0x18, "smmu0", 0, false, false));
        nestedDev = smmu.addDevice(new PciDevice("vf0", "00:04.0", 0x20, "smmu0", 0, false, false));

        IommuDomain s1 = smmu.domainAllocUser(s1Dev, 0, null, null);
        s1.map(IOVA, 0x1_0000_0000L, HIT_PAGES * 4096L, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
        core.attachDevice(s1Dev, s1);

        IommuDomain s2 = smmu.domainAllocUser(nestedDev, 1 /* NEST_PARENT */, null, null);
        s2.map(0, GUEST_RAM_PA, GUEST_RAM, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
        GuestRam ram = new GuestRam(mem);
        PageTableFormat guest = ArmLpaeTable.stage1(4096, 48, 48, false);
        long root = guest.allocateRoot(ram, ram);
        for (int k = 0; k < MISS_PAGES; k++) {
            guest.map(root, IOVA + k * 4096L, DATA_IPA + k * 4096L, 4096, PageTableFormat.READ | PageTableFormat.WRITE,
                    ram, ram);
        }
        // the guest's CD 0: T0SZ 16, TG0 4K, WBWA, inner shareable, EPD1, V, IPS 48, AA64, R, A, ASID 7
        long cd0 = 16 | 1L << 8 | 1L << 10 | 3L << 12 | 1L << 30 | 1L << 31 | 5L << 32 | 1L << 41 | 1L << 45
                | 1L << 46 | 7L << 48;
        mem.writeLong(GUEST_RAM_PA + CD_IPA, cd0);
        mem.writeLong(GUEST_RAM_PA + CD_IPA + 8, root);
        ViommuOps vsmmu = smmu.viommuInit(nestedDev, 1, s2, null, new ViommuCore() {
            @Override
            public IommuDevice find(long virtId) {
                return virtId == 1 ? nestedDev : null;
            }

            @Override
            public long virtIdOf(IommuDevice d) {
                return d == nestedDev ? 1 : -1;
            }
        });
        SimulatedProcess vmm = new SimulatedProcess(mem);
        long vste = vmm.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        vmm.memory().writeLong(vste, 1 | 5L << 1 | CD_IPA); // V, Config = S1 translate, S1ContextPtr
        IommuDomain nested = vsmmu.allocDomainNested(0, new UserData(2, vmm.memory(), vste, 16));
        core.attachDevice(nestedDev, nested);
        smmu.translate(nestedDev, Translation.NO_PASID, IOVA, IommuDomain.IOMMU_READ, t);
        if (t.faulted || t.descriptorReads != 24) {
            throw new IllegalStateException("nested setup: " + t + ", " + t.descriptorReads + " reads");
        }
    }

    /** Guest RAM: guest-physical addresses of its tables, backed by contiguous physical memory. */
    private static final class GuestRam implements TableMemory, TableAllocator {
        private final PhysicalMemory mem;
        private long next = 0x10_0000;

        GuestRam(PhysicalMemory mem) {
            this.mem = mem;
        }

        @Override
        public long tableAddress(long ipa, Walk walk) {
            return GUEST_RAM_PA + ipa;
        }

        @Override
        public long readLong(long pa) {
            return mem.readLong(pa);
        }

        @Override
        public void writeLong(long pa, long value) {
            mem.writeLong(pa, value);
        }

        @Override
        public boolean compareAndSetLong(long pa, long expected, long value) {
            return mem.compareAndSetLong(pa, expected, value);
        }

        @Override
        public long allocate(long bytes) {
            long at = (next + bytes - 1) & -bytes;
            next = at + bytes;
            return at;
        }

        @Override
        public void free(long ipa, long bytes) {
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long tlbHit() {
        smmu.translate(s1Dev, Translation.NO_PASID, IOVA + ((long) (i++ & (HIT_PAGES - 1)) << 12),
                IommuDomain.IOMMU_READ, t);
        return t.physAddr;
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long nestedMiss() {
        smmu.translate(nestedDev, Translation.NO_PASID, IOVA + ((long) (i++ & (MISS_PAGES - 1)) << 12),
                IommuDomain.IOMMU_READ, t);
        return t.physAddr;
    }
}
