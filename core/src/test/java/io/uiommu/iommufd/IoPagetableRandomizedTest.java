package io.uiommu.iommufd;

import io.uiommu.mem.PhysicalMemory;
import io.uiommu.proc.SimulatedProcess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random map / unmap / automatic-IOVA sequences against a small reference model: a sorted list of
 * used ranges scanned page by page, written from the rules of Linux 6.12 (first fit, alignment
 * min(roundup_pow2(length), lowest bit of the user address) capped at 2 MiB, page offset kept,
 * never below 4 KiB, whole-area unmap only). Both must agree on every result and errno.
 */
class IoPagetableRandomizedTest {
    private static final long PAGE = 4096;
    private static final long HPAGE = 2L << 20;

    /** The reference: areas and reserved ranges as [start, last] pairs; allowed as a list. */
    static final class Model {
        final List<long[]> areas = new ArrayList<>();
        final List<long[]> reserved = new ArrayList<>();
        final List<long[]> allowed = new ArrayList<>();
        long alignment = 1;

        boolean free(long start, long last) {
            for (long[] r : areas) {
                if (r[0] <= last && r[1] >= start) {
                    return false;
                }
            }
            for (long[] r : reserved) {
                if (r[0] <= last && r[1] >= start) {
                    return false;
                }
            }
            return true;
        }

        boolean insideAllowed(long start, long last) {
            if (allowed.isEmpty()) {
                return true;
            }
            for (long[] r : allowed) {
                if (r[0] <= start && last <= r[1]) {
                    return true;
                }
            }
            return false;
        }

        /** Brute force: the lowest candidate of the right alignment whose whole range is free. */
        Object autoMap(long uptr, long length, long limit) {
            if (length % alignment != 0) {
                return Errno.EINVAL;
            }
            long align = Long.highestOneBit(length - 1) << 1;
            if (length == 1) {
                align = 1;
            }
            align = Math.min(align, Long.lowestOneBit(uptr));
            align = Math.min(align, HPAGE);
            if (align < alignment) {
                return Errno.EINVAL;
            }
            long offset = uptr % PAGE;
            for (long c = PAGE; c + length - 1 < limit; c += align) {
                long start = (c & -align) | offset;
                if (start < PAGE || start + length - 1 >= limit) {
                    continue;
                }
                if (insideAllowed(start, start + length - 1) && free(start, start + length - 1)) {
                    areas.add(new long[] {start, start + length - 1});
                    return start;
                }
            }
            return Errno.ENOSPC;
        }

        Object fixedMap(long iova, long length) {
            if (length % alignment != 0 || iova % alignment != 0) {
                return Errno.EINVAL;
            }
            for (long[] r : reserved) {
                if (r[0] <= iova + length - 1 && r[1] >= iova) {
                    return Errno.EINVAL;
                }
            }
            if (!free(iova, iova + length - 1)) {
                return Errno.EEXIST;
            }
            areas.add(new long[] {iova, iova + length - 1});
            return iova;
        }

        /** Whole areas inside the range go, in order, until one sticks out. */
        Object unmap(long iova, long length) {
            long last = iova + length - 1;
            areas.sort((a, b) -> Long.compare(a[0], b[0]));
            long unmapped = 0;
            for (long[] r : List.copyOf(areas)) {
                if (r[1] < iova || r[0] > last) {
                    continue;
                }
                if (r[0] < iova || r[1] > last) {
                    return Errno.ENOENT;
                }
                areas.remove(r);
                unmapped += r[1] - r[0] + 1;
            }
            return unmapped; // zero is the ioctl's ENOENT, decided by the handler
        }
    }

    private static Object run(java.util.function.LongSupplier op) {
        try {
            return op.getAsLong();
        } catch (IommufdException e) {
            return e.errno();
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void mapUnmapAndAutoIovaAgreeWithTheModel(long seed) {
        Random rnd = new Random(seed);
        SimulatedProcess proc = new SimulatedProcess(new PhysicalMemory());
        IoPagetable iopt = new IoPagetable();
        Model model = new Model();
        // The model scans a bounded window; keep everything inside it with a reservation.
        long limit = 1L << 32;
        iopt.reserve(limit, -1L, null);
        model.reserved.add(new long[] {limit, Long.MAX_VALUE});
        if (rnd.nextBoolean()) {
            long start = (1 + rnd.nextInt(64)) * HPAGE;
            long len = (1 + rnd.nextInt(32)) * HPAGE;
            iopt.reserve(start, start + len - 1, null);
            model.reserved.add(new long[] {start, start + len - 1});
        }
        List<Long> mapped = new ArrayList<>();
        for (int step = 0; step < 400; step++) {
            int op = rnd.nextInt(10);
            long length = switch (rnd.nextInt(4)) {
                case 0 -> (1 + rnd.nextInt(16)) * PAGE;
                case 1 -> (1 + rnd.nextInt(8)) * HPAGE;
                case 2 -> PAGE << rnd.nextInt(12);
                default -> (1 + rnd.nextInt(1024)) * PAGE;
            };
            // user addresses of varied alignment: page, 64 KiB, 2 MiB, 1 GiB multiples
            long uptr = (1L << (12 + rnd.nextInt(19))) * (1 + 2L * rnd.nextInt(64));
            String what;
            Object expected;
            Object actual;
            if (op < 5) {
                what = "auto map uptr=0x" + Long.toHexString(uptr) + " len=0x" + Long.toHexString(length);
                expected = model.autoMap(uptr, length, limit);
                actual = run(() -> iopt.mapUser(proc, uptr, length, 0, false, 3, false));
            } else if (op < 7) {
                long iova = rnd.nextInt(1 << 20) * PAGE;
                what = "fixed map iova=0x" + Long.toHexString(iova) + " len=0x" + Long.toHexString(length);
                expected = model.fixedMap(iova, length);
                actual = run(() -> iopt.mapUser(proc, uptr, length, iova, true, 3, false));
            } else if (!mapped.isEmpty() && op < 9) {
                long iova = mapped.get(rnd.nextInt(mapped.size()));
                long len = rnd.nextBoolean() ? PAGE : (1 + rnd.nextInt(64)) * HPAGE;
                what = "unmap iova=0x" + Long.toHexString(iova) + " len=0x" + Long.toHexString(len);
                expected = model.unmap(iova, len);
                actual = run(() -> iopt.unmap(iova, len));
            } else {
                long iova = rnd.nextInt(1 << 20) * PAGE;
                long len = (1 + rnd.nextInt(4096)) * PAGE;
                what = "unmap iova=0x" + Long.toHexString(iova) + " len=0x" + Long.toHexString(len);
                expected = model.unmap(iova, len);
                actual = run(() -> iopt.unmap(iova, len));
            }
            if (expected instanceof Long iova && what.contains("map ") && !what.startsWith("unmap")) {
                mapped.add(iova);
            }
            assertThat(actual).as("seed %d step %d: %s", seed, step, what).isEqualTo(expected);
        }
        List<long[]> ours = iopt.areaRanges();
        model.areas.sort((a, b) -> Long.compare(a[0], b[0]));
        assertThat(ours).hasSameSizeAs(model.areas);
        for (int i = 0; i < ours.size(); i++) {
            assertThat(ours.get(i)).containsExactly(model.areas.get(i));
        }
    }
}
