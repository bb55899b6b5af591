package io.uiommu.pt;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static io.uiommu.pt.PageTableFormat.EXEC;
import static io.uiommu.pt.PageTableFormat.PRIV;
import static io.uiommu.pt.PageTableFormat.READ;
import static io.uiommu.pt.PageTableFormat.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Golden vectors for VMSAv8-64 stage 1 and stage 2 (Arm ARM D8), every granule and start level. */
class ArmLpaeTableTest {
    static final long TABLE = 0x3;
    static final long PAGE = 0x3 | 0x400;      // page + AF
    static final long BLOCK = 0x1 | 0x400;     // block + AF
    static final long S1_RW_EL0 = 0x40;        // AP[2:1] = 01
    static final long S1_RO = 0x80;            // AP[2]
    static final long S2_RW = 0xC0;            // S2AP = 11

    final PtFixture f = new PtFixture();

    /** Bit position of the lowest index bit at lookup level {@code level} for granule shift {@code g}. */
    static int lsb(int g, int level) {
        return g + (g - 3) * (3 - level);
    }

    /** Hand-builds a chain for {@code iova} from {@code startLevel} to level 3; returns the level-3 table. */
    private long chain(int g, int ia, int startLevel, long iova, long base) {
        long table = base;
        for (int level = startLevel; level < 3; level++) {
            long next = table + (level == startLevel ? 0x100000 : 1L << g);
            int lsb = lsb(g, level);
            int width = level == startLevel ? ia - lsb : g - 3;
            f.put(table, (iova >>> lsb) & ((1L << width) - 1), next | TABLE);
            table = next;
        }
        return table;
    }

    @ParameterizedTest(name = "stage 1 {0}-byte granule, {1}-bit input -> start level {2}")
    @CsvSource({
        "4096, 48, 0", "4096, 40, 0", "4096, 39, 1", "4096, 31, 1", "4096, 30, 2", "4096, 22, 2", "4096, 21, 3",
        "16384, 48, 0", "16384, 47, 1", "16384, 37, 1", "16384, 36, 2", "16384, 26, 2", "16384, 25, 3",
        "65536, 48, 1", "65536, 43, 1", "65536, 42, 2", "65536, 30, 2", "65536, 29, 3", "65536, 17, 3"})
    void stage1EveryGranuleAndStartLevel(int granule, int ia, int startLevel) {
        ArmLpaeTable s1 = ArmLpaeTable.stage1(granule, ia, 48, false);
        assertThat(s1.startLevel()).isEqualTo(startLevel);
        assertThat(s1.inputAddressBits()).isEqualTo(ia);
        int g = Integer.numberOfTrailingZeros(granule);
        long iova = (1L << ia) - granule + 0x123; // the last page of the input range
        long l3 = chain(g, ia, startLevel, iova, 0x100_0000L);
        f.put(l3, (iova >>> g) & ((1L << (g - 3)) - 1), 0xAB_0000_0000L | PAGE | S1_RW_EL0);
        assertThat(s1.walk(0x100_0000L, iova, READ | WRITE, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0xAB_0000_0123L);
        assertThat(f.walk.pageSize).isEqualTo(granule);
        assertThat(f.walk.level).isEqualTo(3);
        assertThat(f.walk.descriptorReads).isEqualTo(4 - startLevel);
        assertThat(f.walk.perm).isEqualTo(READ | WRITE | EXEC);
        // Beyond the input size: translation fault at the start level, nothing read.
        assertThat(s1.walk(0x100_0000L, 1L << ia, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(startLevel);
        assertThat(f.walk.descriptorReads).isZero();
    }

    @ParameterizedTest(name = "stage 2 {0}-byte granule, {1}-bit input, start level {2}: {3} tables")
    @CsvSource({
        "4096, 48, 0, 1", "4096, 40, 0, 1", "4096, 40, 1, 2", "4096, 42, 1, 8", "4096, 43, 1, 16",
        "4096, 39, 1, 1", "4096, 31, 1, 1", "4096, 34, 2, 16", "4096, 30, 2, 1", "4096, 22, 2, 1",
        "16384, 48, 1, 2", "16384, 47, 1, 1", "16384, 40, 2, 16", "16384, 36, 2, 1", "16384, 29, 3, 16",
        "16384, 25, 3, 1",
        "65536, 48, 1, 1", "65536, 46, 2, 16", "65536, 42, 2, 1", "65536, 33, 3, 16", "65536, 29, 3, 1"})
    void stage2EveryGranuleStartLevelAndConcatenation(int granule, int ia, int startLevel, int tables) {
        assertThat(ArmLpaeTable.validStage2(granule, ia, startLevel)).isTrue();
        ArmLpaeTable s2 = ArmLpaeTable.stage2(granule, ia, startLevel, 48, false);
        assertThat(s2.concatenatedTables()).isEqualTo(tables);
        int g = Integer.numberOfTrailingZeros(granule);
        long root = f.allocator.allocate((long) granule * tables);
        long ipa = (1L << ia) - granule + 0x77;
        long l3 = chain(g, ia, startLevel, ipa, root);
        int leafBits = startLevel == 3 ? ia - g : g - 3;
        f.put(l3, (ipa >>> g) & ((1L << leafBits) - 1), 0x55_0000_0000L | PAGE | S2_RW);
        f.walk.record = true;
        assertThat(s2.walk(root, ipa, WRITE, false, f.tables, f.walk)).isTrue();
        f.walk.record = false;
        assertThat(f.walk.outputAddress).isEqualTo(0x55_0000_0077L);
        assertThat(f.walk.descriptorReads).isEqualTo(4 - startLevel);
        // The top IPA bits (all set) select the last entry of the start level, across concatenated tables.
        long entries = 1L << (ia - lsb(g, startLevel));
        assertThat(entries * 8).isEqualTo(tables > 1 ? (long) granule * tables : entries * 8);
        assertThat(f.walk.recordedAddress[0]).isEqualTo(root + (entries - 1) * 8);
        assertThat(f.walk.perm).isEqualTo(READ | WRITE | EXEC);
        assertThat(ArmLpaeTable.stage2StartLevel(granule, g == 12 ? 2 - startLevel : 3 - startLevel))
                .isEqualTo(startLevel);
    }

    @Test
    void stage2InvalidConfigurations() {
        assertThat(ArmLpaeTable.validStage2(4096, 44, 1)).isFalse(); // 32 tables
        assertThat(ArmLpaeTable.validStage2(4096, 39, 0)).isFalse(); // level 0 resolves no bit
        assertThat(ArmLpaeTable.validStage2(16384, 48, 0)).isFalse(); // needs 52-bit
        assertThat(ArmLpaeTable.validStage2(65536, 47, 2)).isFalse(); // 32 tables
        assertThat(ArmLpaeTable.validStage2(8192, 40, 1)).isFalse();
        assertThat(ArmLpaeTable.stage2StartLevel(4096, 3)).isEqualTo(-1);
        assertThatThrownBy(() -> ArmLpaeTable.stage2(4096, 44, 1, 48, false))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "{0}-byte granule: block of {2} bytes at level {1}")
    @CsvSource({"4096, 1, 1073741824", "4096, 2, 2097152", "16384, 2, 33554432", "65536, 2, 536870912"})
    void blocksPerGranule(int granule, int level, long size) {
        ArmLpaeTable s1 = ArmLpaeTable.stage1(granule, 48, 48, false);
        assertThat(s1.pageSizeBitmap() & size).isEqualTo(size);
        int g = Integer.numberOfTrailingZeros(granule);
        long iova = 5 * size + 0x1234;
        long table = 0x100_0000L;
        for (int l = s1.startLevel(); l < level; l++) {
            long next = table + 0x100000;
            f.put(table, (iova >>> lsb(g, l)) & ((1L << (l == s1.startLevel() ? 48 - lsb(g, l) : g - 3)) - 1),
                    next | TABLE);
            table = next;
        }
        f.put(table, (iova >>> lsb(g, level)) & ((1L << (g - 3)) - 1), 0x80_0000_0000L | BLOCK | S1_RO | S1_RW_EL0);
        assertThat(s1.walk(0x100_0000L, iova, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x80_0000_0000L + 0x1234);
        assertThat(f.walk.pageSize).isEqualTo(size);
        assertThat(f.walk.level).isEqualTo(level);
        assertThat(f.walk.perm).isEqualTo(READ | EXEC);
        assertThat(s1.walk(0x100_0000L, iova, WRITE | PRIV, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        assertThat(f.walk.level).isEqualTo(level);
    }

    @Test
    void blockWhereNoneIsAllowedIsATranslationFault() {
        ArmLpaeTable s1 = ArmLpaeTable.stage1(4096, 48, 48, false);
        f.put(0x10000, 0, BLOCK); // level 0 block
        s1.walk(0x10000, 0x1000, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isZero();
        f.put(0x10000, 0, 0x11000 | TABLE).put(0x11000, 0, 0x12000 | TABLE).put(0x12000, 0, 0x13000 | TABLE)
                .put(0x13000, 1, 0x5000 | BLOCK); // 0b01 at level 3 is reserved
        s1.walk(0x10000, 0x1000, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(3);
        ArmLpaeTable g64 = ArmLpaeTable.stage1(65536, 48, 48, false);
        f.put(0x20000, 0, BLOCK); // 64K level 1 block needs 52-bit addresses
        g64.walk(0x20000, 0x1000, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(1);
        assertThat(g64.pageSizeBitmap()).isEqualTo((1L << 16) | (1L << 29));
        assertThat(ArmLpaeTable.stage1(16384, 48, 48, false).pageSizeBitmap()).isEqualTo((1L << 14) | (1L << 25));
    }

    @Test
    void invalidDescriptorsFaultAtTheirLevel() {
        ArmLpaeTable s1 = ArmLpaeTable.stage1(4096, 39, 48, false);
        long iova = 0x40_3000L;
        assertThat(s1.walk(0x10000, iova, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.level).isEqualTo(1);
        f.put(0x10000, 0, 0x11000 | TABLE).put(0x11000, 2, 0x12000 | TABLE);
        f.put(0x12000, 3, 0x5000 | 0x402 | S1_RW_EL0); // valid bit clear
        s1.walk(0x10000, iova, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(3);
        assertThat(f.walk.descriptorReads).isEqualTo(3);
    }

    @Test
    void addressSizeFaults() {
        ArmLpaeTable s1 = ArmLpaeTable.stage1(4096, 39, 40, false);
        long iova = 0x40_3000L;
        f.put(0x10000, 0, 0x100_0001_1000L | TABLE); // table address bit 40 beyond a 40-bit output
        s1.walk(0x10000, iova, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.ADDRESS_SIZE);
        assertThat(f.walk.level).isEqualTo(1);
        f.put(0x10000, 0, 0x11000 | TABLE).put(0x11000, 2, 0x12000 | TABLE)
                .put(0x12000, 3, 0x800_0000_5000L | PAGE | S1_RW_EL0);
        s1.walk(0x10000, iova, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.ADDRESS_SIZE);
        assertThat(f.walk.level).isEqualTo(3);
        assertThatThrownBy(() -> s1.map(0x10000, 0x1000, 1L << 40, 4096, READ, f.tables, f.allocator))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private ArmLpaeTable s1WithLeaf(long leaf, long l1Table) {
        f.put(0x10000, 0, 0x11000 | TABLE | l1Table).put(0x11000, 2, 0x12000 | TABLE).put(0x12000, 3, leaf);
        return ArmLpaeTable.stage1(4096, 39, 48, true);
    }

    @Test
    void stage1PermissionsAndHierarchicalAttributes() {
        long iova = 0x40_3000L;
        ArmLpaeTable s1 = s1WithLeaf(0x5000 | PAGE, 0); // AP[1] clear: no unprivileged access
        assertThat(s1.walk(0x10000, iova, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        assertThat(s1.walk(0x10000, iova, READ | WRITE | PRIV, false, f.tables, f.walk)).isTrue();

        s1WithLeaf(0x5000 | PAGE | S1_RW_EL0, 1L << 62); // APTable[1]: read-only below
        assertThat(s1.walk(0x10000, iova, WRITE, false, f.tables, f.walk)).isFalse();
        assertThat(s1.walk(0x10000, iova, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.perm).isEqualTo(READ | EXEC);

        s1WithLeaf(0x5000 | PAGE | S1_RW_EL0, 1L << 61); // APTable[0]: no EL0 access below
        assertThat(s1.walk(0x10000, iova, READ, false, f.tables, f.walk)).isFalse();
        assertThat(s1.walk(0x10000, iova, READ | PRIV, false, f.tables, f.walk)).isTrue();

        s1WithLeaf(0x5000 | PAGE | S1_RW_EL0 | (1L << 54), 0); // UXN
        assertThat(s1.walk(0x10000, iova, EXEC, false, f.tables, f.walk)).isFalse();
        assertThat(s1.walk(0x10000, iova, EXEC | PRIV, false, f.tables, f.walk)).isTrue();
        s1WithLeaf(0x5000 | PAGE | S1_RW_EL0, 1L << 59); // PXNTable
        assertThat(s1.walk(0x10000, iova, EXEC, false, f.tables, f.walk)).isTrue();
        assertThat(s1.walk(0x10000, iova, EXEC | PRIV, false, f.tables, f.walk)).isFalse();
    }

    @Test
    void accessFlag() {
        long iova = 0x40_3000L;
        long leaf = 0x5000 | 0x3 | S1_RW_EL0; // AF clear
        ArmLpaeTable s1 = s1WithLeaf(leaf, 0);
        assertThat(s1.walk(0x10000, iova, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.ACCESS_FLAG);
        assertThat(f.walk.level).isEqualTo(3);
        assertThat(f.get(0x12000, 3)).isEqualTo(leaf);
        assertThat(s1.walk(0x10000, iova, READ, true, f.tables, f.walk)).isTrue(); // HA sets it
        assertThat(f.get(0x12000, 3)).isEqualTo(leaf | 0x400);
    }

    @Test
    void stage1DirtyBitModifier() {
        long iova = 0x40_3000L;
        long clean = 0x5000 | PAGE | S1_RW_EL0 | S1_RO | (1L << 51); // DBM, AP[2] set: writable-clean
        ArmLpaeTable s1 = s1WithLeaf(clean, 0);
        assertThat(s1.walk(0x10000, iova, WRITE, false, f.tables, f.walk)).isFalse(); // HD off: read-only
        assertThat(s1.walk(0x10000, iova, READ, true, f.tables, f.walk)).isTrue();
        assertThat(f.walk.perm & WRITE).isEqualTo(WRITE);
        assertThat(f.walk.cleanWritable).isTrue();
        assertThat(f.get(0x12000, 3)).isEqualTo(clean);
        assertThat(s1.walk(0x10000, iova, WRITE, true, f.tables, f.walk)).isTrue();
        assertThat(f.get(0x12000, 3)).isEqualTo(clean & ~S1_RO); // AP[2] clear == dirty
        assertThat(f.walk.cleanWritable).isFalse();
        // Read-only without DBM stays read-only even with HD.
        s1WithLeaf(0x5000 | PAGE | S1_RW_EL0 | S1_RO, 0);
        assertThat(s1.walk(0x10000, iova, WRITE, true, f.tables, f.walk)).isFalse();
        // APTable read-only overrides DBM.
        s1WithLeaf(clean, 1L << 62);
        assertThat(s1.walk(0x10000, iova, WRITE, true, f.tables, f.walk)).isFalse();
        assertThat(f.get(0x12000, 3)).isEqualTo(clean);
    }

    @Test
    void stage2PermissionsAndDirtyBitModifier() {
        ArmLpaeTable s2 = ArmLpaeTable.stage2(4096, 40, 1, 48, true);
        long ipa = (1L << 39) | 0x40_3000L; // second concatenated table
        long root = f.allocator.allocate(8192);
        f.put(root, 512, 0x11000 | TABLE).put(0x11000, 2, 0x12000 | TABLE);
        long clean = 0x5000 | PAGE | 0x40 | (1L << 51); // S2AP read, DBM, S2AP[1] clear
        f.put(0x12000, 3, clean);
        assertThat(s2.walk(root, ipa, WRITE, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        assertThat(f.walk.level).isEqualTo(3);
        assertThat(s2.walk(root, ipa, WRITE, true, f.tables, f.walk)).isTrue();
        assertThat(f.get(0x12000, 3)).isEqualTo(clean | 0x80); // S2AP[1] set == dirty
        f.put(0x12000, 3, 0x5000 | PAGE | 0x80); // write-only
        assertThat(s2.walk(root, ipa, READ, false, f.tables, f.walk)).isFalse();
        assertThat(s2.walk(root, ipa, WRITE, false, f.tables, f.walk)).isTrue();
        f.put(0x12000, 3, 0x5000 | PAGE | S2_RW | (1L << 54)); // XN
        assertThat(s2.walk(root, ipa, EXEC, false, f.tables, f.walk)).isFalse();
        assertThat(s2.walk(root, ipa, READ | WRITE | PRIV, false, f.tables, f.walk)).isTrue();
    }

    @Test
    void mapWritesLinuxDescriptors() {
        ArmLpaeTable s1 = ArmLpaeTable.stage1(4096, 48, 48, false);
        long root = s1.allocateRoot(f.tables, f.allocator);
        s1.map(root, 0x1000, 0xA000, 4096, READ | WRITE, f.tables, f.allocator);
        s1.map(root, 0x2000, 0xB000, 4096, READ, f.tables, f.allocator);
        s1.map(root, 0x20_0000L, 0x40_0000L, 2L << 20, READ | WRITE, f.tables, f.allocator);
        long l1 = f.get(root, 0);
        assertThat(l1 & 0xFFF).isEqualTo(TABLE);
        long l2 = f.get(l1 & ~0xFFFL, 0);
        long l3 = f.get(l2 & ~0xFFFL, 0);
        assertThat(f.get(l3 & ~0xFFFL, 1)).isEqualTo(0xA000L | 0xF47); // nG SH_IS AF AP_UNPRIV AttrIndx=1 page
        assertThat(f.get(l3 & ~0xFFFL, 2)).isEqualTo(0xB000L | 0xFC7); // + AP_RDONLY
        assertThat(f.get(l2 & ~0xFFFL, 1)).isEqualTo(0x40_0000L | 0xF45); // block
        ArmLpaeTable hd = ArmLpaeTable.stage1(4096, 48, 48, true);
        long root2 = hd.allocateRoot(f.tables, f.allocator);
        hd.map(root2, 0x1000, 0xA000, 4096, READ | WRITE, f.tables, f.allocator);
        long leaf = f.get(f.get(f.get(f.get(root2, 0) & ~0xFFFL, 0) & ~0xFFFL, 0) & ~0xFFFL, 1);
        assertThat(leaf).isEqualTo(0xA000L | 0xF47 | (1L << 51)); // writable-dirty

        ArmLpaeTable s2 = ArmLpaeTable.stage2(4096, 40, 1, 48, false);
        long root3 = s2.allocateRoot(f.tables, f.allocator);
        assertThat(f.allocator.bytesInUse()).isGreaterThanOrEqualTo(8192);
        s2.map(root3, (1L << 39) | 0x1000, 0xC000, 4096, READ | WRITE, f.tables, f.allocator);
        long s2l2 = f.get(f.get(root3, 512) & ~0xFFFL, 0);
        assertThat(f.get(s2l2 & ~0xFFFL, 1)).isEqualTo(0xC000L | 0x7FF); // S2AP RW, MemAttr OIWB, SH_IS, AF
    }

    /** The shape of Linux's io-pgtable-arm selftest: every size at 1 GiB strides, then the last largest page. */
    @ParameterizedTest(name = "{0}-byte granule, IAS {1}, stage 2: {2}")
    @CsvSource({"4096, 32, false", "4096, 36, true", "4096, 40, true", "4096, 42, false", "4096, 44, true",
        "4096, 48, true", "16384, 36, true", "16384, 40, false", "16384, 48, true", "65536, 42, true",
        "65536, 44, false", "65536, 48, true"})
    void linuxSelftestShape(int granule, int ias, boolean stage2) {
        ArmLpaeTable fmt = stage2 ? linuxStage2(granule, ias) : ArmLpaeTable.stage1(granule, ias, 48, false);
        long root = fmt.allocateRoot(f.tables, f.allocator);
        for (long probe : new long[] {42, (1L << 30) + 42, (2L << 30) + 42}) {
            assertThat(fmt.walk(root, probe, READ, false, f.tables, f.walk)).isFalse();
        }
        long iova = 0;
        List<Long> sizes = new ArrayList<>();
        for (long b = fmt.pageSizeBitmap(); b != 0; b &= b - 1) {
            sizes.add(Long.lowestOneBit(b));
        }
        for (long size : sizes) {
            fmt.map(root, iova, iova, size, READ | WRITE, f.tables, f.allocator);
            long at = iova;
            for (long other : sizes) {
                assertThatThrownBy(() -> fmt.map(root, at, at, other, READ, f.tables, f.allocator))
                        .isInstanceOf(IllegalStateException.class);
            }
            assertThat(fmt.walk(root, iova + 42, READ, false, f.tables, f.walk)).isTrue();
            assertThat(f.walk.outputAddress).isEqualTo(iova + 42);
            iova += 1L << 30;
        }
        iova = 0;
        for (long size : sizes) {
            assertThat(fmt.unmap(root, iova, size, f.tables, f.allocator)).isEqualTo(size);
            assertThat(fmt.walk(root, iova + 42, READ, false, f.tables, f.walk)).isFalse();
            fmt.map(root, iova, iova, size, WRITE, f.tables, f.allocator);
            assertThat(fmt.walk(root, iova + 42, WRITE, false, f.tables, f.walk)).isTrue();
            iova += 1L << 30;
        }
        long largest = Long.highestOneBit(fmt.pageSizeBitmap());
        long last = (1L << ias) - largest;
        fmt.map(root, last, last, largest, READ, f.tables, f.allocator);
        assertThat(fmt.walk(root, last + largest - 1, READ, false, f.tables, f.walk)).isTrue();
        assertThat(fmt.unmap(root, last, largest, f.tables, f.allocator)).isEqualTo(largest);
        fmt.free(root, f.tables, f.allocator);
        assertThat(f.allocator.tablesInUse()).isZero();
    }

    /** Linux's stage-2 shape: natural start level, one level lower with concatenation when it fits 16 pages. */
    static ArmLpaeTable linuxStage2(int granule, int ias) {
        int g = Integer.numberOfTrailingZeros(granule);
        int levels = (ias - 4) / (g - 3);
        int start = 4 - levels;
        if (start == 0 && ArmLpaeTable.validStage2(granule, ias, 1)) {
            start = 1;
        }
        return ArmLpaeTable.stage2(granule, ias, start, 48, false);
    }

    @Test
    void dirtyHarvestBothStages() {
        for (boolean stage2 : new boolean[] {false, true}) {
            ArmLpaeTable fmt = stage2 ? ArmLpaeTable.stage2(16384, 40, 2, 48, true)
                    : ArmLpaeTable.stage1(16384, 40, 48, true);
            long root = fmt.allocateRoot(f.tables, f.allocator);
            fmt.map(root, 0x4000, 0x8000, 16384, READ | WRITE, f.tables, f.allocator);
            fmt.map(root, 32L << 20, 64L << 20, 32L << 20, READ | WRITE, f.tables, f.allocator);
            fmt.map(root, 0x8000, 0xC000, 16384, READ, f.tables, f.allocator);
            List<long[]> got = new ArrayList<>();
            fmt.readAndClearDirty(root, 0, 1L << 30, false, f.tables, (i, s) -> got.add(new long[] {i, s}));
            assertThat(got).hasSize(2); // writable leaves start dirty (Linux), read-only ones never are
            got.clear();
            fmt.readAndClearDirty(root, 0, 1L << 30, false, f.tables, (i, s) -> got.add(new long[] {i, s}));
            assertThat(got).isEmpty();
            assertThat(fmt.walk(root, 40L << 20, WRITE, false, f.tables, f.walk)).isFalse(); // clean, HD off
            assertThat(fmt.walk(root, 40L << 20, WRITE, true, f.tables, f.walk)).isTrue();
            fmt.readAndClearDirty(root, 33L << 20, 4096, true, f.tables, (i, s) -> got.add(new long[] {i, s}));
            assertThat(got).containsExactly(new long[] {32L << 20, 32L << 20});
            fmt.free(root, f.tables, f.allocator);
        }
        assertThat(f.allocator.tablesInUse()).isZero();
    }
}
