package io.uiommu.bench;

import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.AmdV1PageTable;
import io.uiommu.pt.ArmLpaeTable;
import io.uiommu.pt.FrameTableAllocator;
import io.uiommu.pt.NestedTables;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.PhysicalTables;
import io.uiommu.pt.VtdSecondStageTable;
import io.uiommu.pt.Walk;
import io.uiommu.pt.X86PageTable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Page-table formats on their own (no IOTLB, no iommu core): a full walk of a 4 KiB mapping, a
 * nested walk (stage-1 tables in guest-physical space, 4 levels over 4 levels, 24 descriptor
 * reads), and map + unmap of 4 KiB and 2 MiB leaves. Tables live in {@link PhysicalMemory}.
 */
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PageTableBenchmark {
    private static final long IOVA = 0x12_3456_7000L;
    private static final long OA = 0x2_0000_0000L;
    private static final int PAGES = 512;

    @Param({"x86-64", "vtd-ss", "arm-s1", "arm-s2", "amd-v1"})
    public String format;

    private PhysicalMemory memory;
    private PhysicalTables tables;
    private FrameTableAllocator allocator;
    private PageTableFormat fmt;
    private long root;
    private long mapRoot;
    private final Walk walk = new Walk();
    private long probe;

    private NestedTables nested;
    private PageTableFormat stage1;
    private long stage1Root;

    static PageTableFormat format(String name) {
        return switch (name) {
            case "x86-64" -> new X86PageTable(4);
            case "vtd-ss" -> new VtdSecondStageTable(4);
            case "arm-s1" -> ArmLpaeTable.stage1(4096, 48, 48, false);
            case "arm-s2" -> ArmLpaeTable.stage2(4096, 48, 0, 48, false);
            case "amd-v1" -> new AmdV1PageTable(4);
            default -> throw new IllegalArgumentException(name);
        };
    }

    @Setup(Level.Trial)
    public void setUp() {
        memory = new PhysicalMemory();
        tables = new PhysicalTables(memory);
        allocator = new FrameTableAllocator(memory);
        fmt = format(format);
        root = fmt.allocateRoot(tables, allocator);
        for (int i = 0; i < PAGES; i++) {
            fmt.map(root, IOVA + ((long) i << 12), OA + ((long) i << 12), 4096,
                    PageTableFormat.READ | PageTableFormat.WRITE, tables, allocator);
        }
        mapRoot = fmt.allocateRoot(tables, allocator);
        // Nested: a stage 1 of the same family over a 4-level stage 2 of that vendor.
        PageTableFormat s2 = switch (format) {
            case "arm-s1", "arm-s2" -> ArmLpaeTable.stage2(4096, 48, 0, 48, false);
            case "amd-v1" -> new AmdV1PageTable(4);
            default -> new VtdSecondStageTable(4);
        };
        stage1 = format.startsWith("arm") ? ArmLpaeTable.stage1(4096, 48, 48, false) : new X86PageTable(4);
        long s2Root = s2.allocateRoot(tables, allocator);
        nested = new NestedTables(s2, s2Root, tables, false);
        long[] nextGpa = {0x4000_0000L};
        io.uiommu.pt.TableAllocator guest = new io.uiommu.pt.TableAllocator() {
            @Override
            public long allocate(long bytes) {
                long gpa = nextGpa[0];
                nextGpa[0] += 4096;
                s2.map(s2Root, gpa, allocator.allocate(4096), 4096, PageTableFormat.READ | PageTableFormat.WRITE,
                        tables, allocator);
                return gpa;
            }

            @Override
            public void free(long pa, long bytes) {
            }
        };
        stage1Root = stage1.allocateRoot(nested, guest);
        for (int i = 0; i < PAGES; i++) {
            stage1.map(stage1Root, IOVA + ((long) i << 12), 0x8000_0000L + ((long) i << 12), 4096,
                    PageTableFormat.READ | PageTableFormat.WRITE, nested, guest);
        }
        for (int i = 0; i < PAGES; i++) { // 4 KiB stage-2 pages, so that every walk reads 4 + 4x5 = 24 descriptors
            s2.map(s2Root, 0x8000_0000L + ((long) i << 12), 0x4_0000_0000L + ((long) i << 12), 4096,
                    PageTableFormat.READ | PageTableFormat.WRITE, tables, allocator);
        }
    }

    /** One full 4-level walk of a 4 KiB mapping (what an IOTLB miss costs), rotating over 512 pages. */
    @Benchmark
    public long walk4k() {
        probe = (probe + 1) & (PAGES - 1);
        fmt.walk(root, IOVA + (probe << 12), PageTableFormat.READ, false, tables, walk);
        return walk.outputAddress;
    }

    /** A nested walk: 4-level stage 1 in guest memory over a 4-level stage 2, 24 descriptor reads. */
    @Benchmark
    public long nestedWalk4x4() {
        probe = (probe + 1) & (PAGES - 1);
        nested.walk(stage1, stage1Root, IOVA + (probe << 12), PageTableFormat.READ, false, walk);
        return walk.outputAddress + walk.descriptorReads;
    }

    /** Map then unmap 512 consecutive 4 KiB pages (tables stay after the first round); per page. */
    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long mapUnmap4k() {
        long sum = 0;
        for (int i = 0; i < PAGES; i++) {
            fmt.map(mapRoot, IOVA + ((long) i << 12), OA + ((long) i << 12), 4096,
                    PageTableFormat.READ | PageTableFormat.WRITE, tables, allocator);
        }
        for (int i = 0; i < PAGES; i++) {
            sum += fmt.unmap(mapRoot, IOVA + ((long) i << 12), 4096, tables, allocator);
        }
        return sum;
    }

    /** Map then unmap 64 consecutive 2 MiB leaves; per leaf. */
    @Benchmark
    @OperationsPerInvocation(64)
    public long mapUnmap2m() {
        long sum = 0;
        long base = 0x40_0000_0000L;
        for (int i = 0; i < 64; i++) {
            fmt.map(mapRoot, base + ((long) i << 21), OA + ((long) i << 21), 2L << 20,
                    PageTableFormat.READ | PageTableFormat.WRITE, tables, allocator);
        }
        for (int i = 0; i < 64; i++) {
            sum += fmt.unmap(mapRoot, base + ((long) i << 21), 2L << 20, tables, allocator);
        }
        return sum;
    }
}
