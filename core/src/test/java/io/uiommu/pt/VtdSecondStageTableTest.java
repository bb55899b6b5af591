package io.uiommu.pt;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static io.uiommu.pt.PageTableFormat.EXEC;
import static io.uiommu.pt.PageTableFormat.READ;
import static io.uiommu.pt.PageTableFormat.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Golden vectors for VT-d second-stage tables (VT-d spec 9.8), every level count. */
class VtdSecondStageTableTest {
    static final long RW = 0x3;
    final PtFixture f = new PtFixture();

    /** Builds a chain of tables at 0x10000, 0x11000, ... for {@code iova}, returns the leaf table. */
    private long chain(int levels, long iova, int leafLevel) {
        long table = 0x10000;
        for (int level = levels; level > leafLevel; level--) {
            long next = table + 0x1000;
            f.put(table, PtFixture.idx(iova, 12 + 9 * (level - 1)), next | RW);
            table = next;
        }
        return table;
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 4, 5})
    void fourKilobyteLeafAtEveryLevelCount(int levels) {
        VtdSecondStageTable ss = new VtdSecondStageTable(levels);
        assertThat(ss.inputAddressBits()).isEqualTo(12 + 9 * levels);
        long iova = (1L << (12 + 9 * levels - 1)) | 0x5_4321L; // the top input bit set
        long pt = chain(levels, iova, 1);
        f.put(pt, PtFixture.idx(iova, 12), 0x9_8765_4000L | RW);
        assertThat(ss.walk(0x10000, iova, READ | WRITE, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x9_8765_4321L);
        assertThat(f.walk.level).isEqualTo(1);
        assertThat(f.walk.descriptorReads).isEqualTo(levels);
        assertThat(f.walk.perm).isEqualTo(READ | WRITE);
        // One bit above the AGAW faults before any read.
        assertThat(ss.walk(0x10000, 1L << (12 + 9 * levels), READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.ADDRESS_SIZE);
        assertThat(f.walk.level).isEqualTo(levels);
        assertThat(f.walk.descriptorReads).isZero();
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 4, 5})
    void notPresentMeansReadAndWriteClear(int levels) {
        VtdSecondStageTable ss = new VtdSecondStageTable(levels);
        long iova = 0x1234_5000L;
        assertThat(ss.walk(0x10000, iova, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(levels);
        long pt = chain(levels, iova, 1);
        f.put(pt, PtFixture.idx(iova, 12), 0x5000L | 0x4 | 0x300); // X, A, D but no R/W
        assertThat(ss.walk(0x10000, iova, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(1);
    }

    @Test
    void largeLeavesAtLevelsTwoAndThree() {
        VtdSecondStageTable ss = new VtdSecondStageTable(4);
        long iova = 0x12_3456_789AL;
        long pd = chain(4, iova, 2);
        f.put(pd, PtFixture.idx(iova, 21), 0x7_0020_0000L | 0x80 | 0x1); // 2 MiB, read-only
        assertThat(ss.walk(0x10000, iova, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x7_0020_0000L | (iova & 0x1F_FFFF));
        assertThat(f.walk.pageSize).isEqualTo(2L << 20);
        assertThat(f.walk.level).isEqualTo(2);
        assertThat(f.walk.perm).isEqualTo(READ);
        assertThat(ss.walk(0x10000, iova, WRITE, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        assertThat(f.walk.level).isEqualTo(2);

        long pdpt = 0x11000;
        f.put(pdpt, PtFixture.idx(iova, 30), 0x40_0000_0000L | 0x80 | RW); // 1 GiB
        assertThat(ss.walk(0x10000, iova, WRITE, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x40_0000_0000L | (iova & 0x3FFF_FFFF));
        assertThat(f.walk.level).isEqualTo(3);
        assertThat(f.walk.descriptorReads).isEqualTo(2);
    }

    @Test
    void reservedEncodings() {
        VtdSecondStageTable ss = new VtdSecondStageTable(4);
        long iova = 0x12_3456_789AL;
        f.put(0x10000, PtFixture.idx(iova, 39), 0x11000 | 0x80 | RW); // PS at level 4
        ss.walk(0x10000, iova, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.RESERVED);
        assertThat(f.walk.level).isEqualTo(4);
        long pd = chain(4, iova, 2);
        f.put(pd, PtFixture.idx(iova, 21), 0x7_0020_1000L | 0x80 | RW); // address bit 12 in a 2 MiB leaf
        ss.walk(0x10000, iova, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.RESERVED);
        assertThat(f.walk.level).isEqualTo(2);
        // A unit without 1 GiB support (SLLPS) treats PS at level 3 as reserved.
        VtdSecondStageTable small = new VtdSecondStageTable(4, (1L << 12) | (1L << 21));
        f.put(0x11000, PtFixture.idx(iova, 30), 0x40_0000_0000L | 0x80 | RW);
        small.walk(0x10000, iova, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.RESERVED);
        assertThat(f.walk.level).isEqualTo(3);
        assertThatThrownBy(() -> small.map(0x10000, 0, 0, 1L << 30, READ, f.tables, f.allocator))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void permissionsAreAndedOverLevels() {
        VtdSecondStageTable ss = new VtdSecondStageTable(3);
        long iova = 0x4000_1000L;
        long pt = chain(3, iova, 1);
        f.put(pt, PtFixture.idx(iova, 12), 0x5000L | 0x7);
        assertThat(ss.walk(0x10000, iova, EXEC, false, f.tables, f.walk)).isFalse(); // tables lack X
        f.put(0x10000, PtFixture.idx(iova, 30), 0x11000 | 0x5); // R and X only
        f.put(0x11000, PtFixture.idx(iova, 21), 0x12000 | 0x7);
        assertThat(ss.walk(0x10000, iova, READ | EXEC, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.perm).isEqualTo(READ | EXEC);
        assertThat(ss.walk(0x10000, iova, WRITE, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        assertThat(f.walk.level).isEqualTo(1);
    }

    @Test
    void accessedAndDirtyOnlyWithSsade() {
        VtdSecondStageTable ss = new VtdSecondStageTable(4);
        long iova = 0x8000_3000L;
        long pt = chain(4, iova, 1);
        long leaf = 0x5000L | RW;
        f.put(pt, PtFixture.idx(iova, 12), leaf);
        ss.walk(0x10000, iova, WRITE, false, f.tables, f.walk);
        assertThat(f.get(pt, PtFixture.idx(iova, 12))).isEqualTo(leaf);
        assertThat(f.get(0x10000, 0) & 0x300).isZero();
        ss.walk(0x10000, iova, READ, true, f.tables, f.walk);
        assertThat(f.get(pt, PtFixture.idx(iova, 12))).isEqualTo(leaf | 0x100);
        assertThat(f.get(0x10000, 0)).isEqualTo(0x11000 | RW | 0x100); // A in tables too
        assertThat(f.walk.cleanWritable).isTrue();
        ss.walk(0x10000, iova, WRITE, true, f.tables, f.walk);
        assertThat(f.get(pt, PtFixture.idx(iova, 12))).isEqualTo(leaf | 0x300);
        assertThat(f.get(0x10000, 0) & 0x200).isZero(); // D only in the leaf
        assertThat(f.walk.cleanWritable).isFalse();
    }

    @Test
    void mapWritesLinuxDescriptorsAndDirtyHarvest() {
        VtdSecondStageTable ss = VtdSecondStageTable.forAgaw(48);
        long root = ss.allocateRoot(f.tables, f.allocator);
        ss.map(root, 0x20_0000L, 0x4000_0000L, 2L << 20, READ | WRITE, f.tables, f.allocator);
        ss.map(root, 0x1000, 0x9000, 4096, READ, f.tables, f.allocator);
        long l4 = f.get(root, 0);
        assertThat(l4 & 0xFFF).isEqualTo(RW);
        long l3 = f.get(l4 & ~0xFFFL, 0);
        long l2 = f.get(l3 & ~0xFFFL, 1);
        assertThat(l2).isEqualTo(0x4000_0000L | 0x80 | RW);
        assertThat(f.get(f.get(l3 & ~0xFFFL, 0) & ~0xFFFL, 1)).isEqualTo(0x9000L | 0x1);

        List<long[]> got = new ArrayList<>();
        ss.readAndClearDirty(root, 0, 1L << 30, false, f.tables, (i, s) -> got.add(new long[] {i, s}));
        assertThat(got).isEmpty(); // Linux maps second-stage leaves clean
        ss.walk(root, 0x21_0000L, WRITE, true, f.tables, f.walk);
        ss.readAndClearDirty(root, 0x30_0000L, 4096, true, f.tables, (i, s) -> got.add(new long[] {i, s}));
        assertThat(got).containsExactly(new long[] {0x20_0000L, 2L << 20});
        got.clear();
        ss.readAndClearDirty(root, 0, 1L << 30, false, f.tables, (i, s) -> got.add(new long[] {i, s}));
        assertThat(got).hasSize(1);
        assertThat(f.get(l3 & ~0xFFFL, 1)).isEqualTo(0x4000_0000L | 0x80 | RW | 0x100);
        ss.free(root, f.tables, f.allocator);
        assertThat(f.allocator.tablesInUse()).isZero();
    }
}
