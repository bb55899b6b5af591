package io.uiommu.bench;

import io.uiommu.hw.amd.AmdIommu;
import io.uiommu.hw.amd.AmdSvaDomain;
import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IoPageFault;
import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.IopfGroup;
import io.uiommu.iommu.PageResponse;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;
import io.uiommu.pt.FrameTableAllocator;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.PhysicalTables;
import io.uiommu.pt.X86PageTable;
import io.uiommu.uapi.DevIommu;
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
 * The AMD-Vi page request round trip at the iommu core: 6.12's AMD driver attaches only SVA
 * domains to PASIDs and hands only PASID-tagged requests to a handler, so there is no iommufd
 * path for it; this measures a PASID-tagged 64-byte read through an SVA domain whose handler
 * takes the group (as iommufd's does) — IO_PAGE_FAULT answered to the translation request, a PPR
 * log entry, the PPR handler's drain and report, the handler, a mapping written into the x86 table,
 * COMPLETE_PPR_REQUEST through the command buffer, and the retried DMA. No fault fd and no
 * dispatcher: compare with {@link IopfRoundTripBenchmark} for those. Fresh IOVA per operation;
 * every 16,384 the table is emptied and the PASID flushed.
 */
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class AmdIopfRoundTripBenchmark {
    private static final long IOVA = 1L << 24;
    private static final int PAGES = 16384;
    private static final int PASID = 5;
    private static final X86PageTable X86 = new X86PageTable(4);

    private IommuCore core;
    private AmdIommu amd;
    private IommuDevice device;
    private AmdSvaDomain sva;
    private PhysicalTables tables;
    private FrameTableAllocator allocator;
    private long cr3;
    private long frame;
    private IopfGroup group;
    private DmaResult result;
    private final byte[] buffer = new byte[64];
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        IommuUnit unit = new IommuUnit("iommu0", "amd", 48, 48, List.of(4096L), 16, true, true, true, Map.of());
        DevIommu dev = new DevIommu(new Platform("iopf", List.of(unit),
                List.of(new PciDevice("pri0", "00:04.0", 32, "iommu0", 16, true, true))));
        core = dev.iommu();
        amd = (AmdIommu) core.unitDriver("iommu0");
        device = core.device("pri0");
        PhysicalMemory mem = dev.physical();
        tables = new PhysicalTables(mem);
        allocator = new FrameTableAllocator(mem);
        IommuDomain v2 = amd.domainAllocUser(device, 1 << 3 /* IOMMU_HWPT_ALLOC_PASID: v2 table, GCR3 */, null,
                null);
        core.attachDevice(device, v2);
        cr3 = X86.allocateRoot(tables, allocator);
        sva = amd.domainAllocSva(device, cr3);
        core.attachDevicePasid(device, PASID, sva, false);
        sva.setIopfHandler(g -> {
            IoPageFault.groupDequeue(g);
            group = g;
            return true;
        });
        IoPageFault.enable(device);
        frame = mem.allocateFrame() << PhysicalMemory.PAGE_SHIFT;
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public DmaResult roundTrip() {
        if (next == PAGES) {
            for (int k = 0; k < PAGES; k++) {
                X86.unmap(cr3, IOVA + (long) k * 4096, 4096, tables, allocator);
            }
            amd.invalidateSva(sva, IOVA, (long) PAGES * 4096);
            next = 0;
        }
        long iova = IOVA + (long) next++ * 4096;
        group = null;
        result = null;
        core.startDma(device, PASID, iova, buffer, 0, buffer.length, false, true, r -> result = r);
        if (group == null) {
            throw new IllegalStateException("no page request group");
        }
        X86.map(cr3, iova, frame, 4096, PageTableFormat.READ | PageTableFormat.WRITE, tables, allocator);
        IoPageFault.groupResponse(group, PageResponse.SUCCESS);
        if (result == null || !result.ok()) {
            throw new IllegalStateException("DMA did not complete: " + result);
        }
        return result;
    }
}
