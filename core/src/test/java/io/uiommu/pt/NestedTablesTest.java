package io.uiommu.pt;

import org.junit.jupiter.api.Test;

import static io.uiommu.pt.PageTableFormat.READ;
import static io.uiommu.pt.PageTableFormat.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

/** Stage-1 tables in guest-physical space walked through a stage-2 table of another format. */
class NestedTablesTest {
    final PtFixture f = new PtFixture();

    /** The guest's page allocator: each new table page is a GPA that stage 2 maps to a fresh frame. */
    final class GuestAllocator implements TableAllocator {
        final PageTableFormat s2;
        final long s2Root;
        final int s2Perm;
        long nextGpa = 0x4000_0000L;

        GuestAllocator(PageTableFormat s2, long s2Root, int s2Perm) {
            this.s2 = s2;
            this.s2Root = s2Root;
            this.s2Perm = s2Perm;
        }

        @Override
        public long allocate(long bytes) {
            long gpa = nextGpa;
            nextGpa += Math.max(bytes, 4096);
            for (long off = 0; off < bytes; off += 4096) {
                s2.map(s2Root, gpa + off, f.allocator.allocate(4096), 4096, s2Perm, f.tables, f.allocator);
            }
            return gpa;
        }

        @Override
        public void free(long pa, long bytes) {
        }
    }

    record Setup(PageTableFormat s1, long s1Root, PageTableFormat s2, long s2Root, NestedTables nested,
            GuestAllocator guest) {
    }

    Setup setup(PageTableFormat s1, PageTableFormat s2) {
        long s2Root = s2.allocateRoot(f.tables, f.allocator);
        NestedTables nested = new NestedTables(s2, s2Root, f.tables, true);
        GuestAllocator guest = new GuestAllocator(s2, s2Root, READ | WRITE);
        long s1Root = s1.allocateRoot(nested, guest);
        return new Setup(s1, s1Root, s2, s2Root, nested, guest);
    }

    static final long IOVA = 0x12_3456_7000L;
    static final long DATA_GPA = 0x8000_0000L;
    static final long DATA_PA = 0x2_0000_0000L;

    private Setup mapped(PageTableFormat s1, PageTableFormat s2) {
        Setup s = setup(s1, s2);
        s1.map(s.s1Root(), IOVA, DATA_GPA, 4096, READ | WRITE, s.nested(), s.guest());
        s2.map(s.s2Root(), DATA_GPA, DATA_PA, 4096, READ | WRITE, f.tables, f.allocator);
        return s;
    }

    @Test
    void fourLevelOverFourLevelReadsTwentyFourDescriptors() {
        Setup s = mapped(new X86PageTable(4), new VtdSecondStageTable(4));
        f.walk.record = true;
        assertThat(s.nested().walk(s.s1(), s.s1Root(), IOVA + 0x42, READ, false, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(DATA_PA + 0x42);
        assertThat(f.walk.descriptorReads).isEqualTo(24);
        assertThat(f.walk.recorded).isEqualTo(24);
        assertThat(f.walk.level).isEqualTo(1);
        assertThat(f.walk.perm & (READ | WRITE)).isEqualTo(READ | WRITE);
        // Every recorded word is a real physical read: stage-1 descriptors sit in frames, not at their GPAs.
        for (int i = 0; i < f.walk.recorded; i++) {
            assertThat(f.walk.recordedAddress[i]).isGreaterThanOrEqualTo(1L << 32);
            assertThat(f.memory.readLong(f.walk.recordedAddress[i])).isEqualTo(f.walk.recordedValue[i]);
        }
        // Reads 5, 10, 15, 20 (1-based) are the stage-1 descriptors, each after its table's stage-2 walk.
        long s1Pml4e = f.walk.recordedValue[4];
        assertThat(s1Pml4e & 0xFFF).isEqualTo(0x27);
        assertThat(s1Pml4e & X86PageTable.ADDRESS).isBetween(0x4000_0000L, 0x4010_0000L); // a GPA
        assertThat(f.walk.recordedValue[19] & X86PageTable.ADDRESS).isEqualTo(DATA_GPA);
    }

    @Test
    void readCountIsLevelsPlusOneSquaredMinusOne() {
        int[][] shapes = {{5, 3}, {4, 5}, {5, 5}};
        for (int[] shape : shapes) {
            Setup s = mapped(new X86PageTable(shape[0]), new VtdSecondStageTable(shape[1]));
            assertThat(s.nested().walk(s.s1(), s.s1Root(), IOVA, READ, false, f.walk)).isTrue();
            assertThat(f.walk.descriptorReads).isEqualTo((shape[0] + 1) * (shape[1] + 1) - 1);
        }
        // Arm: 4K 48-bit stage 1 over a 40-bit stage 2 starting at level 1 with 2 concatenated tables.
        Setup arm = mapped(ArmLpaeTable.stage1(4096, 48, 48, false), ArmLpaeTable.stage2(4096, 40, 1, 48, false));
        assertThat(arm.nested().walk(arm.s1(), arm.s1Root(), IOVA + 8, WRITE, false, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(DATA_PA + 8);
        assertThat(f.walk.descriptorReads).isEqualTo((4 + 1) * (3 + 1) - 1);
    }

    @Test
    void stageTwoFaultOnATableRead() {
        Setup s = mapped(new X86PageTable(4), new VtdSecondStageTable(4));
        // Guest table pages were allocated in order: PML4, PDPT, PD, PT. Take the PD away from stage 2.
        long pdGpa = 0x4000_2000L;
        assertThat(s.s2().unmap(s.s2Root(), pdGpa, 4096, f.tables, f.allocator)).isEqualTo(4096);
        assertThat(s.nested().walk(s.s1(), s.s1Root(), IOVA, READ, false, f.walk)).isFalse();
        assertThat(f.walk.stage2).isTrue();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(1); // the stage-2 PTE level
        assertThat(f.walk.descriptorReads).isEqualTo(5 + 5 + 4);
    }

    @Test
    void stageTwoFaultOnTheOutputAndPermissionIntersection() {
        Setup s = mapped(new X86PageTable(4), new VtdSecondStageTable(4));
        s.s2().unmap(s.s2Root(), DATA_GPA, 4096, f.tables, f.allocator);
        assertThat(s.nested().walk(s.s1(), s.s1Root(), IOVA, READ, false, f.walk)).isFalse();
        assertThat(f.walk.stage2).isTrue();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.descriptorReads).isEqualTo(24);

        s.s2().map(s.s2Root(), DATA_GPA, DATA_PA, 4096, READ, f.tables, f.allocator);
        assertThat(s.nested().walk(s.s1(), s.s1Root(), IOVA, READ, false, f.walk)).isTrue();
        assertThat(f.walk.perm & (READ | WRITE)).isEqualTo(READ);
        assertThat(s.nested().walk(s.s1(), s.s1Root(), IOVA, WRITE, false, f.walk)).isFalse();
        assertThat(f.walk.stage2).isTrue();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        // A stage-1 permission fault is not a stage-2 one.
        s.s1().unmap(s.s1Root(), IOVA, 4096, s.nested(), s.guest());
        s.s1().map(s.s1Root(), IOVA, DATA_GPA, 4096, READ, s.nested(), s.guest());
        assertThat(s.nested().walk(s.s1(), s.s1Root(), IOVA, WRITE, false, f.walk)).isFalse();
        assertThat(f.walk.stage2).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
    }

    @Test
    void largeStageOneLeafOverSmallStageTwoPages() {
        Setup s = setup(new X86PageTable(4), new VtdSecondStageTable(4));
        s.s1().map(s.s1Root(), 0x20_0000L, DATA_GPA, 2L << 20, READ | WRITE, s.nested(), s.guest());
        s.s2().map(s.s2Root(), DATA_GPA + 0x5000, DATA_PA, 4096, READ | WRITE, f.tables, f.allocator);
        assertThat(s.nested().walk(s.s1(), s.s1Root(), 0x20_5010L, READ, false, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(DATA_PA + 0x10);
        assertThat(f.walk.pageSize).isEqualTo(4096);
        assertThat(f.walk.level).isEqualTo(2);
    }

    @Test
    void stageOneAccessedUpdatesAreStageTwoWrites() {
        PageTableFormat s1 = new X86PageTable(4);
        PageTableFormat s2 = new VtdSecondStageTable(4);
        long s2Root = s2.allocateRoot(f.tables, f.allocator);
        NestedTables nested = new NestedTables(s2, s2Root, f.tables, true);
        // Guest tables mapped read-only in stage 2: the walk can read them but not set A.
        GuestAllocator readOnly = new GuestAllocator(s2, s2Root, READ);
        long s1Root = s1.allocateRoot(nested, readOnly);
        // map() writes through physical addresses, so building works; hardware updates need the S2 write.
        s1.map(s1Root, IOVA, DATA_GPA, 4096, READ | WRITE, nested, readOnly);
        s2.map(s2Root, DATA_GPA, DATA_PA, 4096, READ | WRITE, f.tables, f.allocator);
        long pml4Pa = nested.tableAddress(s1Root, null);
        long pml4e = f.memory.readLong(pml4Pa + ((IOVA >>> 39) & 0x1FF) * 8);
        f.memory.writeLong(pml4Pa + ((IOVA >>> 39) & 0x1FF) * 8, pml4e & ~0x20L); // clear A
        assertThat(nested.walk(s1, s1Root, IOVA, READ, false, f.walk)).isTrue(); // no updates: fine
        assertThat(nested.walk(s1, s1Root, IOVA, READ, true, f.walk)).isFalse();
        assertThat(f.walk.stage2).isTrue();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);

        Setup rw = mapped(new X86PageTable(4), new VtdSecondStageTable(4));
        long pml4 = rw.nested().tableAddress(rw.s1Root(), null);
        long slot = pml4 + ((IOVA >>> 39) & 0x1FF) * 8;
        f.memory.writeLong(slot, f.memory.readLong(slot) & ~0x20L);
        assertThat(rw.nested().walk(rw.s1(), rw.s1Root(), IOVA, WRITE, true, f.walk)).isTrue();
        assertThat(f.memory.readLong(slot) & 0x20).isNotZero();
        assertThat(f.walk.descriptorReads).isEqualTo(24 + 4); // one more stage-2 walk for the update
        // The stage-2 leaf holding that guest table page is now dirty (SSADE on).
        long[] count = {0};
        rw.s2().readAndClearDirty(rw.s2Root(), 0x4000_0000L, 4096, true, f.tables, (i, sz) -> count[0]++);
        assertThat(count[0]).isEqualTo(1);
    }
}
