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

/** Golden vectors for AMD IOMMU v1 host page tables, every mode, NextLevel 0, 7 and skips. */
class AmdV1PageTableTest {
    static final long PR = 1, IR = 1L << 61, IW = 1L << 62, FC = 1L << 60;
    final PtFixture f = new PtFixture();

    static long pde(long table, int nextLevel) {
        return table | PR | IR | IW | ((long) nextLevel << 9);
    }

    /** Chain from a level-{@code mode} root at 0x10000 down to the level-{@code leafLevel} table. */
    private long chain(int mode, long iova, int leafLevel) {
        long table = 0x10000;
        for (int level = mode; level > leafLevel; level--) {
            long next = table + 0x1000;
            f.put(table, (iova >>> (12 + 9 * (level - 1))) & 0x1FF, pde(next, level - 1));
            table = next;
        }
        return table;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6})
    void fourKilobyteLeafUnderEveryMode(int mode) {
        AmdV1PageTable v1 = new AmdV1PageTable(mode);
        int bits = Math.min(64, 12 + 9 * mode);
        assertThat(v1.inputAddressBits()).isEqualTo(bits);
        long iova = (1L << (bits - 1)) | 0x7654_3210L & ((1L << (bits - 1)) - 1);
        long pt = chain(mode, iova, 1);
        f.put(pt, (iova >>> 12) & 0x1FF, 0x12_3456_7000L | PR | IR | IW);
        assertThat(v1.walk(0x10000, iova, READ | WRITE, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x12_3456_7000L | (iova & 0xFFF));
        assertThat(f.walk.level).isEqualTo(1);
        assertThat(f.walk.descriptorReads).isEqualTo(mode);
        if (mode < 6) {
            assertThat(v1.walk(0x10000, 1L << bits, READ, false, f.tables, f.walk)).isFalse();
            assertThat(f.walk.fault).isEqualTo(Walk.Fault.ADDRESS_SIZE);
            assertThat(f.walk.level).isEqualTo(mode);
        }
        // Not present at the root level.
        f.put(0x10000, (iova >>> (12 + 9 * (mode - 1))) & 0x1FF, 0);
        assertThat(v1.walk(0x10000, iova, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(mode);
    }

    @Test
    void pageSizesFollowLinux() {
        long linux = 0x000F_FFFF_FFFF_F000L ^ (1L << 39); // AMD_IOMMU_PGSIZES
        assertThat(new AmdV1PageTable(6).pageSizeBitmap()).isEqualTo(linux);
        assertThat(new AmdV1PageTable(3).pageSizeBitmap()).isEqualTo((1L << 39) - (1L << 12));
        assertThat(new AmdV1PageTable(1).pageSizeBitmap()).isEqualTo((1L << 21) - (1L << 12));
    }

    @Test
    void levelLeavesWithNextLevelZero() {
        AmdV1PageTable v1 = new AmdV1PageTable(4);
        long iova = 0x12_3456_789AL;
        long pd = chain(4, iova, 2);
        f.put(pd, (iova >>> 21) & 0x1FF, 0x40_0020_0000L | PR | IR); // 2 MiB, read-only
        assertThat(v1.walk(0x10000, iova, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x40_0020_0000L | (iova & 0x1F_FFFF));
        assertThat(f.walk.pageSize).isEqualTo(2L << 20);
        assertThat(f.walk.level).isEqualTo(2);
        assertThat(f.walk.perm).isEqualTo(READ | EXEC);
        assertThat(v1.walk(0x10000, iova, WRITE, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        f.put(0x11000, (iova >>> 30) & 0x1FF, 0x80_4000_0000L | PR | IR | IW); // 1 GiB
        assertThat(v1.walk(0x10000, iova, WRITE, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x80_4000_0000L | (iova & 0x3FFF_FFFF));
        assertThat(f.walk.level).isEqualTo(3);
        f.put(0x11000, (iova >>> 30) & 0x1FF, 0x80_4000_1000L | PR | IR | IW); // misaligned
        v1.walk(0x10000, iova, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.RESERVED);
    }

    @Test
    void nextLevelSevenEncodesOtherSizes() {
        AmdV1PageTable v1 = new AmdV1PageTable(3);
        long iova = 0x4321_8000L;
        long pt = chain(3, iova, 1);
        // 32 KiB at 0x1234_0000: address bits 12 and 13 set, 14 clear; repeated in 8 slots.
        long leaf = 0x1234_0000L | 0x3000 | (7L << 9) | PR | IR | IW;
        for (int i = 0; i < 8; i++) {
            f.put(pt, ((iova >>> 12) & 0x1FF) + i, leaf);
        }
        for (long off : new long[] {0, 0x1004, 0x7FFF}) {
            assertThat(v1.walk(0x10000, iova + off, READ, false, f.tables, f.walk)).isTrue();
            assertThat(f.walk.outputAddress).isEqualTo(0x1234_0000L + off);
            assertThat(f.walk.pageSize).isEqualTo(32768);
            assertThat(f.walk.level).isEqualTo(1);
        }
        // 4 MiB at level 2: bits 12..20 set, 21 clear; two slots.
        long pd = 0x11000;
        long big = 0x8040_0000L | 0x1F_F000L | (7L << 9) | PR | IR | IW;
        long iova2 = 0x4080_0000L;
        f.put(pd, (iova2 >>> 21) & 0x1FF, big).put(pd, ((iova2 >>> 21) & 0x1FF) + 1, big);
        assertThat(v1.walk(0x10000, iova2 + 0x30_0042L, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x8040_0000L + 0x30_0042L);
        assertThat(f.walk.pageSize).isEqualTo(4L << 20);
        assertThat(f.walk.level).isEqualTo(2);
        // A NextLevel-7 size not bigger than the level's own is reserved.
        f.put(pd, (iova2 >>> 21) & 0x1FF, 0x8040_0000L | (7L << 9) | PR | IR);
        v1.walk(0x10000, iova2, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.RESERVED);
        assertThat(f.walk.level).isEqualTo(2);
    }

    @Test
    void mapEncodesNextLevelSeven() {
        AmdV1PageTable v1 = new AmdV1PageTable(3);
        long root = v1.allocateRoot(f.tables, f.allocator);
        v1.map(root, 0x4321_8000L, 0x1234_0000L, 32768, READ | WRITE, f.tables, f.allocator);
        long l3 = f.get(root, 1);
        assertThat(l3).isEqualTo((l3 & 0x000F_FFFF_FFFF_F000L) | PR | IR | IW | (2L << 9));
        long l2 = f.get(l3 & 0x000F_FFFF_FFFF_F000L, (0x4321_8000L >>> 21) & 0x1FF);
        assertThat(l2 & 0xE00).isEqualTo(1L << 9);
        long pt = l2 & 0x000F_FFFF_FFFF_F000L;
        long expected = 0x1234_0000L | 0x3000 | (7L << 9) | PR | FC | IR | IW;
        for (int i = 0; i < 8; i++) {
            assertThat(f.get(pt, 0x18 + i)).isEqualTo(expected);
        }
        assertThat(f.get(pt, 0x20)).isZero();
        v1.map(root, 0x1000, 0x5000, 4096, READ, f.tables, f.allocator);
        long pt0 = f.get(f.get(root, 0) & 0x000F_FFFF_FFFF_F000L, 0); // the level-2 entry
        assertThat(pt0 & 0xE00).isEqualTo(1L << 9);
        assertThat(f.get(pt0 & 0x000F_FFFF_FFFF_F000L, 1)).isEqualTo(0x5000L | PR | FC | IR);
        // Unmapping 4 KiB at the start of the 32 KiB leaf takes all of it; in its middle, nothing.
        assertThat(v1.unmap(root, 0x4321_9000L, 4096, f.tables, f.allocator)).isZero();
        assertThat(v1.unmap(root, 0x4321_8000L, 4096, f.tables, f.allocator)).isEqualTo(32768);
        for (int i = 0; i < 8; i++) {
            assertThat(f.get(pt, 0x18 + i)).isZero();
        }
        v1.free(root, f.tables, f.allocator);
        assertThat(f.allocator.tablesInUse()).isZero();
    }

    @Test
    void skippedLevels() {
        AmdV1PageTable v1 = new AmdV1PageTable(4);
        long iova = 0x7F_C000_0000L & ~(0x1FFL << 30) | 0x2_3000L; // level-3 index bits zero
        // Level 4 points straight at a level-2 table (NextLevel 2): level 3 is skipped.
        f.put(0x10000, (iova >>> 39) & 0x1FF, pde(0x12000, 2));
        f.put(0x12000, (iova >>> 21) & 0x1FF, pde(0x13000, 1));
        f.put(0x13000, (iova >>> 12) & 0x1FF, 0x9000L | PR | IR | IW);
        assertThat(v1.walk(0x10000, iova + 0x10, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x9010L);
        assertThat(f.walk.descriptorReads).isEqualTo(3);
        // The skipped level's IOVA bits must be zero.
        assertThat(v1.walk(0x10000, iova | (1L << 30), READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(4);
        // NextLevel must be lower than the current level.
        f.put(0x10000, (iova >>> 39) & 0x1FF, pde(0x12000, 4));
        v1.walk(0x10000, iova, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.RESERVED);
        assertThat(f.walk.level).isEqualTo(4);
        // Software walks follow the skip too (free releases the skipped-to tables).
        f.put(0x10000, (iova >>> 39) & 0x1FF, pde(0x12000, 2));
        List<long[]> got = new ArrayList<>();
        f.put(0x13000, (iova >>> 12) & 0x1FF, 0x9000L | PR | IR | IW | (1L << 6));
        v1.readAndClearDirty(0x10000, iova, 4096, false, f.tables, (i, s) -> got.add(new long[] {i, s}));
        assertThat(got).containsExactly(new long[] {iova, 4096});
    }

    @Test
    void noLeavesInTheLevelSixTable() {
        AmdV1PageTable v1 = new AmdV1PageTable(6);
        f.put(0x10000, 1, 0x0200_0000_0000_0000L | PR | IR | IW); // NextLevel 0 at level 6
        v1.walk(0x10000, 1L << 57, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.RESERVED);
        assertThat(f.walk.level).isEqualTo(6);
        // Level 6 indexes bits 63:57: the top IOVA uses entry 127.
        f.put(0x10000, 127, pde(0x11000, 5));
        v1.walk(0x10000, -1L, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(5);
    }

    @Test
    void permissionsAndedOverLevels() {
        AmdV1PageTable v1 = new AmdV1PageTable(3);
        long iova = 0x1000;
        chain(3, iova, 1);
        f.put(0x12000, 1, 0x7000L | PR | IR | IW);
        f.put(0x10000, 0, 0x11000L | PR | IR | (2L << 9)); // no IW in the level-3 entry
        assertThat(v1.walk(0x10000, iova, WRITE, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        assertThat(f.walk.level).isEqualTo(1);
        assertThat(v1.walk(0x10000, iova, READ | EXEC, false, f.tables, f.walk)).isTrue();
    }

    @Test
    void accessAndDirtyBits() {
        AmdV1PageTable v1 = new AmdV1PageTable(3);
        long root = v1.allocateRoot(f.tables, f.allocator);
        v1.map(root, 0x4000_0000L, 0x8000_0000L, 64L << 10, READ | WRITE, f.tables, f.allocator);
        List<long[]> got = new ArrayList<>();
        v1.readAndClearDirty(root, 0, 1L << 39, false, f.tables, (i, s) -> got.add(new long[] {i, s}));
        assertThat(got).isEmpty(); // Linux maps v1 leaves clean
        assertThat(v1.walk(root, 0x4000_5000L, READ, true, f.tables, f.walk)).isTrue();
        assertThat(f.get(root, 1) & (1L << 5)).isNotZero();
        assertThat(f.walk.cleanWritable).isTrue();
        assertThat(v1.walk(root, 0x4000_5000L, WRITE, true, f.tables, f.walk)).isTrue();
        long pt = f.get(f.get(root, 1) & 0x000F_FFFF_FFFF_F000L, 0) & 0x000F_FFFF_FFFF_F000L;
        assertThat(f.get(pt, 5) & 0x60).isEqualTo(0x60); // A and D in the slot used
        assertThat(f.get(pt, 4) & 0x40).isZero();
        v1.readAndClearDirty(root, 0x4000_F000L, 4096, true, f.tables, (i, s) -> got.add(new long[] {i, s}));
        assertThat(got).containsExactly(new long[] {0x4000_0000L, 64L << 10}); // whole leaf
        got.clear();
        v1.readAndClearDirty(root, 0, 1L << 39, false, f.tables, (i, s) -> got.add(new long[] {i, s}));
        assertThat(got).hasSize(1);
        assertThat(f.get(pt, 5) & 0x40).isZero();
        got.clear();
        v1.readAndClearDirty(root, 0, 1L << 39, false, f.tables, (i, s) -> got.add(new long[] {i, s}));
        assertThat(got).isEmpty();
    }
}
