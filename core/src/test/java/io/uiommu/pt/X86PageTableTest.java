package io.uiommu.pt;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.uiommu.pt.PageTableFormat.EXEC;
import static io.uiommu.pt.PageTableFormat.PRIV;
import static io.uiommu.pt.PageTableFormat.READ;
import static io.uiommu.pt.PageTableFormat.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Golden vectors for x86-64 paging: descriptor words written by hand from the SDM layout. */
class X86PageTableTest {
    // Hand-built 4-level table: PML4 0x10000, PDPT 0x11000, PD 0x12000, PT 0x13000.
    static final long PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000;
    // Table entries as Linux writes them: P | R/W | U/S | A = 0x27.
    static final long TABLE = 0x27;

    final PtFixture f = new PtFixture();
    final X86PageTable x86 = new X86PageTable(4);

    /** iova 0x7F_C060_3123: PML4[255] PDPT[257] PD[3] PT[3], offset 0x123. */
    static final long IOVA = (255L << 39) | (257L << 30) | (3L << 21) | (3L << 12) | 0x123;

    private void chain(long leaf) {
        f.put(PML4, 255, PDPT | TABLE).put(PDPT, 257, PD | TABLE).put(PD, 3, PT | TABLE).put(PT, 3, leaf);
    }

    @Test
    void fourKilobyteLeafTranslatesWithFourReads() {
        chain(0x0000_0000_ABCD_E000L | 0x67); // P RW US A D
        assertThat(x86.walk(PML4, IOVA, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0xABCD_E123L);
        assertThat(f.walk.pageSize).isEqualTo(4096);
        assertThat(f.walk.level).isEqualTo(1);
        assertThat(f.walk.perm).isEqualTo(READ | WRITE | EXEC);
        assertThat(f.walk.descriptorReads).isEqualTo(4);
    }

    @Test
    void twoMegabyteAndOneGigabyteLeaves() {
        f.put(PML4, 255, PDPT | TABLE).put(PDPT, 257, PD | TABLE).put(PD, 3, 0x4060_0000L | 0xE7); // PS
        assertThat(x86.walk(PML4, IOVA, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x4060_0000L | (IOVA & 0x1F_FFFF));
        assertThat(f.walk.pageSize).isEqualTo(2L << 20);
        assertThat(f.walk.level).isEqualTo(2);
        assertThat(f.walk.descriptorReads).isEqualTo(3);

        f.put(PDPT, 257, 0x1_C000_0000L | 0xE7); // 1 GiB leaf
        assertThat(x86.walk(PML4, IOVA, WRITE, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x1_C000_0000L | (IOVA & 0x3FFF_FFFF));
        assertThat(f.walk.pageSize).isEqualTo(1L << 30);
        assertThat(f.walk.level).isEqualTo(3);
    }

    @Test
    void largeLeafPatBitIsNotAddress() {
        // Bit 12 of a 2 MiB leaf is PAT, not part of the address.
        f.put(PML4, 255, PDPT | TABLE).put(PDPT, 257, PD | TABLE).put(PD, 3, 0x4060_0000L | 0x1000 | 0xE7);
        assertThat(x86.walk(PML4, IOVA, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x4060_0000L | (IOVA & 0x1F_FFFF));
    }

    @Test
    void notPresentFaultsAtEachLevel() {
        assertThat(x86.walk(PML4, IOVA, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.level).isEqualTo(4);
        f.put(PML4, 255, PDPT | TABLE);
        x86.walk(PML4, IOVA, READ, false, f.tables, f.walk);
        assertThat(f.walk.level).isEqualTo(3);
        f.put(PDPT, 257, PD | TABLE);
        x86.walk(PML4, IOVA, READ, false, f.tables, f.walk);
        assertThat(f.walk.level).isEqualTo(2);
        f.put(PD, 3, PT | TABLE);
        x86.walk(PML4, IOVA, READ, false, f.tables, f.walk);
        assertThat(f.walk.level).isEqualTo(1);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
        assertThat(f.walk.descriptorReads).isEqualTo(4);
        // Present bit clear but other bits set is still not present.
        f.put(PT, 3, 0xABCD_E000L | 0x66);
        assertThat(x86.walk(PML4, IOVA, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.level).isEqualTo(1);
    }

    @Test
    void reservedBitsFault() {
        f.put(PML4, 255, PDPT | TABLE | 0x80); // PS in a PML4E is reserved
        x86.walk(PML4, IOVA, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.RESERVED);
        assertThat(f.walk.level).isEqualTo(4);
        f.put(PML4, 255, PDPT | TABLE).put(PDPT, 257, PD | TABLE).put(PD, 3, 0x4060_0000L | 0x2000 | 0xE7);
        x86.walk(PML4, IOVA, READ, false, f.tables, f.walk); // bit 13 of a 2 MiB leaf
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.RESERVED);
        assertThat(f.walk.level).isEqualTo(2);
        f.put(PDPT, 257, 0x1_C000_0000L | 0x2000_0000L | 0xE7); // bit 29 of a 1 GiB leaf
        x86.walk(PML4, IOVA, READ, false, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.RESERVED);
        assertThat(f.walk.level).isEqualTo(3);
    }

    @Test
    void canonicalAddressesOnly() {
        assertThat(x86.walk(PML4, 1L << 47, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.ADDRESS_SIZE);
        assertThat(f.walk.level).isEqualTo(4);
        assertThat(f.walk.descriptorReads).isZero();
        // The upper canonical half indexes PML4 entries 256..511.
        long upper = 0xFFFF_8000_0000_0000L | (2L << 30);
        f.put(PML4, 256, PDPT | TABLE).put(PDPT, 2, 0x8000_0000L | 0xE7);
        assertThat(x86.walk(PML4, upper + 0x42, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x8000_0042L);
    }

    @Test
    void fiveLevelsIndexBits56To48() {
        X86PageTable five = new X86PageTable(5);
        long pml5 = 0x20000;
        long iova = (3L << 48) | IOVA;
        f.put(pml5, 3, PML4 | TABLE);
        chain(0xABCD_E000L | 0x25);
        assertThat(five.walk(pml5, iova, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0xABCD_E123L);
        assertThat(f.walk.descriptorReads).isEqualTo(5);
        assertThat(f.walk.perm).isEqualTo(READ | EXEC);
        assertThat(five.walk(pml5, 1L << 56, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.ADDRESS_SIZE);
        assertThat(f.walk.level).isEqualTo(5);
        assertThat(five.inputAddressBits()).isEqualTo(57);
    }

    @Test
    void userSupervisorAndWritePermissions() {
        chain(0xABCD_E000L | 0x25); // read-only leaf
        assertThat(x86.walk(PML4, IOVA, WRITE, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        assertThat(f.walk.level).isEqualTo(1);
        assertThat(x86.walk(PML4, IOVA, WRITE | PRIV, false, f.tables, f.walk)).isFalse();

        chain(0xABCD_E000L | 0x67);
        f.put(PDPT, 257, PD | 0x25); // table read-only: R/W is ANDed over levels
        assertThat(x86.walk(PML4, IOVA, WRITE, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        assertThat(x86.walk(PML4, IOVA, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.perm).isEqualTo(READ | EXEC);

        f.put(PDPT, 257, PD | 0x23); // supervisor-only table
        assertThat(x86.walk(PML4, IOVA, READ, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        assertThat(f.walk.perm).isZero();
        assertThat(x86.walk(PML4, IOVA, READ | WRITE | PRIV, false, f.tables, f.walk)).isTrue();
    }

    @Test
    void executeDisableAtAnyLevel() {
        chain(0xABCD_E000L | 0x67);
        f.put(PD, 3, PT | TABLE | X86PageTable.XD);
        assertThat(x86.walk(PML4, IOVA, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.perm).isEqualTo(READ | WRITE);
        assertThat(x86.walk(PML4, IOVA, EXEC, false, f.tables, f.walk)).isFalse();
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
    }

    @Test
    void accessedAndDirtyUpdates() {
        chain(0xABCD_E000L | 0x07); // P RW US, no A, no D
        f.put(PML4, 255, PDPT | 0x07).put(PDPT, 257, PD | 0x07).put(PD, 3, PT | 0x07);
        assertThat(x86.walk(PML4, IOVA, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.get(PML4, 255) & 0x60).isZero(); // no updates when off
        assertThat(f.walk.cleanWritable).isFalse();

        assertThat(x86.walk(PML4, IOVA, READ, true, f.tables, f.walk)).isTrue();
        assertThat(f.get(PML4, 255)).isEqualTo(PDPT | 0x27);
        assertThat(f.get(PDPT, 257)).isEqualTo(PD | 0x27);
        assertThat(f.get(PD, 3)).isEqualTo(PT | 0x27);
        assertThat(f.get(PT, 3)).isEqualTo(0xABCD_E000L | 0x27); // A, not D on a read
        assertThat(f.walk.cleanWritable).isTrue();

        assertThat(x86.walk(PML4, IOVA, WRITE, true, f.tables, f.walk)).isTrue();
        assertThat(f.get(PT, 3)).isEqualTo(0xABCD_E000L | 0x67);
        assertThat(f.get(PD, 3)).isEqualTo(PT | 0x27); // D only in the leaf
        assertThat(f.walk.cleanWritable).isFalse();
    }

    @Test
    void recordedWordsIncludeTheWalksOwnUpdates() {
        chain(0xABCD_E000L | 0x07);
        f.walk.record = true;
        assertThat(x86.walk(PML4, IOVA, WRITE, true, f.tables, f.walk)).isTrue();
        f.walk.record = false;
        assertThat(f.walk.recorded).isEqualTo(4);
        for (int i = 0; i < 4; i++) {
            assertThat(f.walk.recordedValue[i]).isEqualTo(f.word(f.walk.recordedAddress[i]));
        }
        assertThat(f.walk.recordedAddress[3]).isEqualTo(PT + 3 * 8);
        assertThat(f.walk.recordedValue[3]).isEqualTo(0xABCD_E000L | 0x67);
    }

    @Test
    void noDirtyUpdateOnPermissionFault() {
        chain(0xABCD_E000L | 0x05); // read-only, no A
        x86.walk(PML4, IOVA, WRITE, true, f.tables, f.walk);
        assertThat(f.walk.fault).isEqualTo(Walk.Fault.PERMISSION);
        assertThat(f.get(PT, 3)).isEqualTo(0xABCD_E000L | 0x05);
    }

    @Test
    void mapWritesLinuxDescriptors() {
        long root = x86.allocateRoot(f.tables, f.allocator);
        x86.map(root, IOVA & ~0xFFFL, 0x7000_0000L, 4096, READ | WRITE, f.tables, f.allocator);
        long pml4e = f.get(root, 255);
        assertThat(pml4e & 0xFFF).isEqualTo(0x27);
        long pdpte = f.get(pml4e & X86PageTable.ADDRESS, 257);
        long pde = f.get(pdpte & X86PageTable.ADDRESS, 3);
        assertThat(f.get(pde & X86PageTable.ADDRESS, 3)).isEqualTo(0x7000_0000L | 0x67);
        x86.map(root, 0x4000_0000L, 0x8000_0000L, 2L << 20, READ, f.tables, f.allocator);
        assertThat(f.get(f.get(f.get(root, 0) & X86PageTable.ADDRESS, 1) & X86PageTable.ADDRESS, 0))
                .isEqualTo(0x8000_0000L | 0xA5); // P US A PS
        assertThat(f.allocator.tablesInUse()).isEqualTo(6);
        x86.free(root, f.tables, f.allocator);
        assertThat(f.allocator.tablesInUse()).isZero();
    }

    @Test
    void mapRefusesOverlapsAndBadArguments() {
        long root = x86.allocateRoot(f.tables, f.allocator);
        x86.map(root, 0x20_0000L, 0x40_0000L, 2L << 20, READ, f.tables, f.allocator);
        assertThatThrownBy(() -> x86.map(root, 0x20_1000L, 0x1000, 4096, READ, f.tables, f.allocator))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> x86.map(root, 0, 0x4000_0000L, 1L << 30, READ, f.tables, f.allocator))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> x86.map(root, 0x1000, 0x1000, 8192, READ, f.tables, f.allocator))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> x86.map(root, 0x1800, 0x1000, 4096, READ, f.tables, f.allocator))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> x86.map(root, 1L << 47, 0x1000, 4096, READ, f.tables, f.allocator))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> x86.map(root, 0x1000, 1L << 52, 4096, READ, f.tables, f.allocator))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> x86.map(root, 0x1000, 0x1000, 4096, 0, f.tables, f.allocator))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void largeMapReplacesEmptyTableLeftByUnmaps() {
        long root = x86.allocateRoot(f.tables, f.allocator);
        x86.map(root, 0x20_0000L, 0x1000, 4096, READ, f.tables, f.allocator);
        assertThat(x86.unmap(root, 0x20_0000L, 4096, f.tables, f.allocator)).isEqualTo(4096);
        assertThat(f.allocator.tablesInUse()).isEqualTo(4); // the empty PT stays
        x86.map(root, 0x20_0000L, 0x40_0000L, 2L << 20, READ, f.tables, f.allocator);
        assertThat(f.allocator.tablesInUse()).isEqualTo(3);
        assertThat(x86.walk(root, 0x20_0042L, READ, false, f.tables, f.walk)).isTrue();
        assertThat(f.walk.outputAddress).isEqualTo(0x40_0042L);
    }

    @Test
    void unmapSemantics() {
        long root = x86.allocateRoot(f.tables, f.allocator);
        x86.map(root, 0x40_0000L, 0x1000, 4096, READ, f.tables, f.allocator);
        x86.map(root, 0x40_3000L, 0x2000, 4096, READ, f.tables, f.allocator);
        // A 2 MiB unmap over a table of 4 KiB leaves removes them all and frees the table.
        long before = f.allocator.tablesInUse();
        assertThat(x86.unmap(root, 0x40_0000L, 2L << 20, f.tables, f.allocator)).isEqualTo(2L << 20);
        assertThat(f.allocator.tablesInUse()).isEqualTo(before - 1);
        assertThat(x86.walk(root, 0x40_3000L, READ, false, f.tables, f.walk)).isFalse();
        assertThat(x86.unmap(root, 0x40_0000L, 2L << 20, f.tables, f.allocator)).isZero();
        // A 4 KiB unmap at the start of a 2 MiB leaf removes the whole leaf; elsewhere in it, nothing.
        x86.map(root, 0x60_0000L, 0x20_0000L, 2L << 20, READ, f.tables, f.allocator);
        assertThat(x86.unmap(root, 0x60_1000L, 4096, f.tables, f.allocator)).isZero();
        assertThat(x86.walk(root, 0x60_1000L, READ, false, f.tables, f.walk)).isTrue();
        assertThat(x86.unmap(root, 0x60_0000L, 4096, f.tables, f.allocator)).isEqualTo(2L << 20);
        assertThat(x86.walk(root, 0x60_1000L, READ, false, f.tables, f.walk)).isFalse();
        assertThat(x86.unmap(root, 1L << 47, 4096, f.tables, f.allocator)).isZero();
    }

    @Test
    void readAndClearDirtyReportsWholeLeaves() {
        long root = x86.allocateRoot(f.tables, f.allocator);
        x86.map(root, 0x1000, 0x10_0000L, 4096, READ | WRITE, f.tables, f.allocator);
        x86.map(root, 0x2000, 0x10_1000L, 4096, READ | WRITE, f.tables, f.allocator);
        x86.map(root, 0x20_0000L, 0x40_0000L, 2L << 20, READ | WRITE, f.tables, f.allocator);
        x86.map(root, 0x4000_0000L, 0x4000_0000L, 1L << 30, READ | WRITE, f.tables, f.allocator);
        // Linux maps writable first-stage leaves dirty; clear everything first.
        List<long[]> got = harvest(root, 0, 1L << 31, false);
        assertThat(got).hasSize(4);
        assertThat(harvest(root, 0, 1L << 31, false)).isEmpty();

        x86.walk(root, 0x2010, WRITE, true, f.tables, f.walk);
        x86.walk(root, 0x30_0000L, WRITE, true, f.tables, f.walk);
        x86.walk(root, 0x5000_0000L, WRITE, true, f.tables, f.walk);
        x86.walk(root, 0x1000, READ, true, f.tables, f.walk);
        // A range touching only part of the huge leaves still reports them whole.
        got = harvest(root, 0x2000, 0x4000_2000L, true);
        assertThat(got).containsExactly(new long[] {0x2000, 4096}, new long[] {0x20_0000L, 2L << 20},
                new long[] {0x4000_0000L, 1L << 30});
        assertThat(harvest(root, 0x2000, 0x4000_2000L, false)).hasSize(3); // noClear kept them
        assertThat(harvest(root, 0, 1L << 31, false)).isEmpty();
    }

    private List<long[]> harvest(long root, long iova, long length, boolean noClear) {
        List<long[]> got = new ArrayList<>();
        x86.readAndClearDirty(root, iova, length, noClear, f.tables, (i, s) -> got.add(new long[] {i, s}));
        return got;
    }
}
