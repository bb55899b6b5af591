package io.uiommu.pt;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;

import static io.uiommu.pt.PageTableFormat.READ;
import static io.uiommu.pt.PageTableFormat.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Random map/unmap/walk/dirty sequences against a TreeMap of leaves, per format, fixed seeds.
 * Each format's real descriptor bytes must agree with the model after every step.
 */
class FormatRandomizedTest {
    /** A format and the IOVA window the test works in (small enough to collide, big enough for its sizes). */
    record Case(PageTableFormat format, long base, long window) {
        @Override
        public String toString() {
            return format.name();
        }
    }

    static Stream<Case> formats() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case(new X86PageTable(4), 0x7F_0000_0000L, 1L << 33));
        cases.add(new Case(new X86PageTable(5), 0x7F_0000_0000_0000L, 1L << 33));
        for (int levels = 3; levels <= 5; levels++) {
            cases.add(new Case(new VtdSecondStageTable(levels), 0x40_0000_0000L, 1L << 33));
        }
        cases.addAll(FormatCases.more());
        return cases.stream();
    }

    record Leaf(long oa, long size, int perm) {
    }

    @ParameterizedTest
    @MethodSource("formats")
    void agreesWithReferenceModel(Case c) {
        PageTableFormat fmt = c.format();
        PtFixture f = new PtFixture();
        SplittableRandom rnd = new SplittableRandom(0x5EED ^ fmt.name().hashCode());
        long[] sizes = sizes(fmt.pageSizeBitmap(), c.window());
        TreeMap<Long, Leaf> model = new TreeMap<>();
        long root = fmt.allocateRoot(f.tables, f.allocator);
        long rootTables = f.allocator.tablesInUse();
        for (int step = 0; step < 3000; step++) {
            int op = rnd.nextInt(10);
            long size = sizes[rnd.nextInt(sizes.length)];
            long iova = c.base() + (rnd.nextLong(c.window() / size) * size);
            if (op < 5) {
                long oa = rnd.nextLong((1L << 40) / size) * size;
                int perm = rnd.nextBoolean() ? READ : READ | WRITE;
                boolean free = overlapping(model, iova, size).isEmpty();
                try {
                    fmt.map(root, iova, oa, size, perm, f.tables, f.allocator);
                    if (!free) {
                        fail("map over a mapping succeeded at 0x%x size 0x%x, step %d", iova, size, step);
                    }
                    model.put(iova, new Leaf(oa, size, perm));
                } catch (IllegalStateException e) {
                    if (free) {
                        fail("map refused at 0x%x size 0x%x, step %d: %s", iova, size, step, e.getMessage());
                    }
                }
            } else if (op < 8) {
                if (op == 7 && !model.isEmpty()) { // unmap an existing leaf exactly
                    Map.Entry<Long, Leaf> e = model.ceilingEntry(iova);
                    if (e == null) {
                        e = model.firstEntry();
                    }
                    iova = e.getKey();
                    size = e.getValue().size();
                }
                long expected = expectUnmap(model, iova, size);
                long got = fmt.unmap(root, iova, size, f.tables, f.allocator);
                assertThat(got).as("unmap 0x%x size 0x%x step %d", iova, size, step).isEqualTo(expected);
            } else if (op == 8 && rnd.nextInt(8) == 0) { // a harvest reads every slot of the window: keep it rare
                checkDirty(fmt, f, root, model, c, rnd);
            }
            for (int probe = 0; probe < 4; probe++) {
                long at = c.base() + rnd.nextLong(c.window());
                check(fmt, f, root, model, at, step);
            }
        }
        for (Long iova : model.keySet()) {
            check(fmt, f, root, model, iova, -1);
        }
        for (Map.Entry<Long, Leaf> e : new ArrayList<>(model.entrySet())) {
            assertThat(fmt.unmap(root, e.getKey(), e.getValue().size(), f.tables, f.allocator))
                    .isEqualTo(e.getValue().size());
        }
        assertThat(f.allocator.tablesInUse()).isGreaterThanOrEqualTo(rootTables);
        fmt.free(root, f.tables, f.allocator);
        assertThat(f.allocator.tablesInUse()).isZero();
    }

    private static long[] sizes(long bitmap, long window) {
        List<Long> s = new ArrayList<>();
        for (long b = bitmap; b != 0; b &= b - 1) {
            long size = Long.lowestOneBit(b);
            if (size <= window / 4) {
                s.add(size);
            }
        }
        // Small pages dominate, as in real use.
        List<Long> weighted = new ArrayList<>(s);
        weighted.add(s.get(0));
        weighted.add(s.get(0));
        return weighted.stream().mapToLong(Long::longValue).toArray();
    }

    private static List<Long> overlapping(TreeMap<Long, Leaf> model, long iova, long size) {
        List<Long> out = new ArrayList<>();
        Map.Entry<Long, Leaf> before = model.floorEntry(iova);
        if (before != null && before.getKey() + before.getValue().size() > iova) {
            out.add(before.getKey());
        }
        out.addAll(model.subMap(iova, false, iova + size, false).keySet());
        if (model.containsKey(iova) && !out.contains(iova)) {
            out.add(iova);
        }
        return out;
    }

    /** Linux unmap_pages semantics for one page, applied to the model. */
    private static long expectUnmap(TreeMap<Long, Leaf> model, long iova, long size) {
        Map.Entry<Long, Leaf> before = model.floorEntry(iova);
        if (before != null && before.getKey() < iova && before.getKey() + before.getValue().size() > iova) {
            return 0; // straddles: no splitting
        }
        Leaf at = model.get(iova);
        if (at != null && at.size() >= size) {
            model.remove(iova);
            return at.size();
        }
        List<Long> inside = new ArrayList<>(model.subMap(iova, true, iova + size, false).keySet());
        if (inside.isEmpty()) {
            return 0;
        }
        inside.forEach(model::remove);
        return size;
    }

    private static void check(PageTableFormat fmt, PtFixture f, long root, TreeMap<Long, Leaf> model, long at, int step) {
        Map.Entry<Long, Leaf> e = model.floorEntry(at);
        boolean mapped = e != null && e.getKey() + e.getValue().size() > at;
        boolean ok = fmt.walk(root, at, READ, true, f.tables, f.walk);
        if (!mapped) {
            assertThat(ok).as("walk 0x%x step %d (unmapped) -> %s", at, step, f.walk.fault).isFalse();
            assertThat(f.walk.fault).isEqualTo(Walk.Fault.TRANSLATION);
            return;
        }
        assertThat(ok).as("walk 0x%x step %d -> %s at %d", at, step, f.walk.fault, f.walk.level).isTrue();
        Leaf leaf = e.getValue();
        assertThat(f.walk.outputAddress).isEqualTo(leaf.oa() + (at - e.getKey()));
        assertThat(f.walk.pageSize).isEqualTo(leaf.size());
        assertThat((f.walk.perm & WRITE) != 0).isEqualTo((leaf.perm() & WRITE) != 0);
        assertThat(f.walk.level).isEqualTo(expectedLevel(fmt, leaf.size()));
        // Hardware A/D updates on, as a unit with dirty tracking walks (Arm DBM pages need HD to be writable).
        assertThat(fmt.walk(root, at, WRITE, true, f.tables, f.walk)).isEqualTo((leaf.perm() & WRITE) != 0);
    }

    /** The spec level a leaf of this size sits at, from the format's own numbering rules. */
    private static int expectedLevel(PageTableFormat fmt, long size) {
        int log = Long.numberOfTrailingZeros(size);
        if (fmt instanceof ArmLpaeTable arm) {
            int g = Integer.numberOfTrailingZeros(arm.granuleBytes());
            return 3 - (log - g) / (g - 3);
        }
        return 1 + (log - 12) / 9;
    }

    private static void checkDirty(PageTableFormat fmt, PtFixture f, long root, TreeMap<Long, Leaf> model, Case c,
            SplittableRandom rnd) {
        fmt.readAndClearDirty(root, c.base(), c.window(), false, f.tables, (i, s) -> { });
        List<Long> written = new ArrayList<>();
        for (Map.Entry<Long, Leaf> e : model.entrySet()) {
            if ((e.getValue().perm() & WRITE) != 0 && rnd.nextInt(3) == 0) {
                long at = e.getKey() + rnd.nextLong(e.getValue().size());
                assertThat(fmt.walk(root, at, WRITE, true, f.tables, f.walk)).isTrue();
                written.add(e.getKey());
            }
        }
        TreeMap<Long, Long> got = new TreeMap<>();
        fmt.readAndClearDirty(root, c.base(), c.window(), true, f.tables, got::put);
        assertThat(got.keySet()).containsExactlyInAnyOrderElementsOf(written);
        got.forEach((iova, size) -> assertThat(size).isEqualTo(model.get(iova).size()));
        got.clear();
        fmt.readAndClearDirty(root, c.base(), c.window(), false, f.tables, got::put);
        assertThat(got.keySet()).containsExactlyInAnyOrderElementsOf(written);
        got.clear();
        fmt.readAndClearDirty(root, c.base(), c.window(), false, f.tables, got::put);
        assertThat(got).isEmpty();
    }
}
