package io.uiommu.pt;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.List;

import static io.uiommu.pt.PageTableFormat.READ;
import static io.uiommu.pt.PageTableFormat.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

/** Walks, nested walks and map/unmap of a page allocate nothing once the tables exist. */
class HotPathAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static long allocated() {
        return THREADS.getThreadAllocatedBytes(Thread.currentThread().threadId());
    }

    @Test
    void walkMapUnmapAndNestedWalkDoNotAllocate() {
        PtFixture f = new PtFixture();
        List<PageTableFormat> formats = List.of(new X86PageTable(4), new VtdSecondStageTable(4),
                ArmLpaeTable.stage1(4096, 48, 48, true), ArmLpaeTable.stage2(4096, 40, 1, 48, true),
                new AmdV1PageTable(4));
        long iova = 0x12_3456_7000L;
        for (PageTableFormat fmt : formats) {
            long root = fmt.allocateRoot(f.tables, f.allocator);
            fmt.map(root, iova, 0x1_0000_0000L, 4096, READ | WRITE, f.tables, f.allocator);
            long other = iova + 0x10_0000L;
            fmt.map(root, other, 0x2000, 4096, READ, f.tables, f.allocator); // its tables now exist
            fmt.unmap(root, other, 4096, f.tables, f.allocator);
            Runnable ops = () -> {
                for (int i = 0; i < 2000; i++) {
                    fmt.walk(root, iova + (i & 0xFFF), (i & 1) == 0 ? READ : WRITE, true, f.tables, f.walk);
                    fmt.map(root, other, 0x2000, 4096, READ, f.tables, f.allocator);
                    fmt.unmap(root, other, 4096, f.tables, f.allocator);
                }
            };
            ops.run(); // warm up (class init, first touches)
            long before = allocated();
            ops.run();
            assertThat(allocated() - before).as(fmt.name()).isLessThan(256);
        }

        PageTableFormat s2 = new VtdSecondStageTable(4);
        long s2Root = s2.allocateRoot(f.tables, f.allocator);
        NestedTables nested = new NestedTables(s2, s2Root, f.tables, true);
        for (long gpa = 0; gpa < 0x10_0000L; gpa += 4096) {
            s2.map(s2Root, gpa, f.allocator.allocate(4096), 4096, READ | WRITE, f.tables, f.allocator);
        }
        long[] next = {0};
        TableAllocator guest = new TableAllocator() {
            @Override
            public long allocate(long bytes) {
                long gpa = next[0];
                next[0] += 4096;
                return gpa;
            }

            @Override
            public void free(long pa, long bytes) {
            }
        };
        X86PageTable s1 = new X86PageTable(4);
        long s1Root = s1.allocateRoot(nested, guest);
        s1.map(s1Root, iova, 0x8000, 4096, READ | WRITE, nested, guest);
        Walk walk = new Walk();
        walk.record = true;
        Runnable nestedOps = () -> {
            for (int i = 0; i < 2000; i++) {
                nested.walk(s1, s1Root, iova, WRITE, true, walk);
            }
        };
        nestedOps.run();
        long before = allocated();
        nestedOps.run();
        assertThat(allocated() - before).isLessThan(256);
        assertThat(walk.ok()).isTrue();
        assertThat(walk.descriptorReads).isEqualTo(24);
    }
}
