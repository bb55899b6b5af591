package io.uiommu.uapi;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommufd.Errno;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.testing.Cmd;
import io.uiommu.testing.IommufdTestClient;
import io.uiommu.testing.Machines;
import io.uiommu.testing.Rc;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Dirty tracking through the uAPI on each vendor model: device writes (IOMMU_TEST_OP_UI_DMA) set
 * the dirty state in the leaf descriptor's bytes (VT-d second-stage D, bit 9; SMMUv3 stage-1 DBM
 * with AP[2] cleared by HTTU; AMD v1 D, bit 6), IOMMU_HWPT_GET_DIRTY_BITMAP reports and clears it
 * (NO_CLEAR keeps it) and flushes the IOTLB so the next write marks the page again, a 2 MiB leaf
 * marks every bit it covers, and bad ranges, page sizes and bitmaps get the kernel's errno.
 */
class DirtyTrackingVendorTest {
    private static final long SZ_4K = 4096;
    private static final long SZ_2M = 2L << 20;
    /** 2 MiB at IOVA 1 GiB backed by one huge leaf, then 64 KiB of 4 KiB leaves. */
    private static final long HUGE_IOVA = 1L << 30;
    private static final long SMALL_IOVA = HUGE_IOVA + 2 * SZ_2M;
    private static final long SMALL_LEN = 64 * 1024;

    /** One vendor machine with nic0 bound and attached to a dirty-tracking HWPT. */
    private static final class Rig implements AutoCloseable {
        final String model;
        final IommufdTestClient t;
        final PhysicalMemory physical;
        final int dev;
        final int ioas;
        final int hwpt;

        Rig(String model) {
            this.model = model;
            t = new IommufdTestClient(new DevIommu(Machines.preset(model)));
            physical = t.dev().physical();
            dev = op(IOMMU_TEST_OP_UI_DEVICE_BIND, 0).ok().u32("device_bind.out_dev_id");
            ioas = t.ioasAlloc();
            hwpt = t.hwptAlloc(dev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING).ok().u32("out_hwpt_id");
            op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, dev, "device_attach.pt_id", hwpt).ok();
            t.mapFixed(ioas, hugeBuffer(), SZ_2M, HUGE_IOVA).ok();
            t.mapFixed(ioas, t.mmap(SMALL_LEN, false), SMALL_LEN, SMALL_IOVA).ok();
        }

        /** 2 MiB of user memory on 512 contiguous frames that start 2 MiB aligned, so that it maps as one leaf. */
        private long hugeBuffer() {
            long va = t.mmap(SZ_2M, false);
            while ((physical.allocateFrame() & 511) != 511) {
                // burn frames until the next fresh one is 2 MiB aligned
            }
            long first = t.process().frameAt(va);
            for (int i = 1; i < 512; i++) {
                assertThat(t.process().frameAt(va + i * SZ_4K)).isEqualTo(first + i);
            }
            assertThat(first & 511).isZero();
            return va;
        }

        Rc op(int op, int id, Object... fieldValues) {
            Cmd c = IommufdTestClient.testCmd(op).set("id", id);
            for (int i = 0; i < fieldValues.length; i += 2) {
                c.set((String) fieldValues[i], ((Number) fieldValues[i + 1]).longValue());
            }
            return t.ioctl(Ioctl.IOMMU_TEST_CMD, c);
        }

        void write(long iova) {
            long buf = t.userCopy(new byte[] {0x5a});
            Rc r = op(IOMMU_TEST_OP_UI_DMA, dev, "dma.iova", iova, "dma.length", 1, "dma.uptr", buf, "dma.flags",
                    UI_DMA_WRITE).ok();
            assertThat(r.get("dma.out_bytes_done")).as("%s write at 0x%x", model, iova).isEqualTo(1);
        }

        void read(long iova) {
            long buf = t.userAlloc(1);
            op(IOMMU_TEST_OP_UI_DMA, dev, "dma.iova", iova, "dma.length", 1, "dma.uptr", buf).ok();
        }

        /** The domain nic0's RID sits in (the HWPT's), whose descriptor bytes the test reads as a debugger would. */
        IommuDomain hwptDomain() {
            return t.dev().iommu().device("nic0").domain();
        }

        /** Whether the leaf descriptor mapping {@code iova} is dirty, decoded from its bytes. */
        boolean descriptorDirty(long iova) {
            long pa = hwptDomain().leafDescriptor(iova);
            assertThat(pa).as("leaf descriptor of 0x%x", iova).isNotNegative();
            long pte = physical.readLong(pa);
            return switch (model) {
                case "vtd" -> (pte >>> 9 & 1) != 0;
                case "amd" -> (pte >>> 6 & 1) != 0;
                // HTTU: a DBM leaf is dirty once the hardware has cleared AP[2] (read-only)
                case "smmuv3" -> (pte & 1L << 51) != 0 && (pte & 1L << 7) == 0;
                default -> throw new IllegalStateException(model);
            };
        }

        Rc bitmap(long iova, long length, long pageSize, long data, int flags) {
            return t.getDirtyBitmap(hwpt, length, iova, pageSize, data, flags);
        }

        /** Set bits of a GET_DIRTY_BITMAP over [iova, +length) in pages of pageSize, as IOVAs. */
        List<Long> dirty(long iova, long length, long pageSize, int flags) {
            long bits = length / pageSize;
            long data = t.userAlloc((int) Math.max(8, (bits + 7) / 8));
            bitmap(iova, length, pageSize, data, flags).ok();
            byte[] b = t.read(data, (int) ((bits + 7) / 8));
            List<Long> out = new ArrayList<>();
            for (long i = 0; i < bits; i++) {
                if ((b[(int) (i >>> 3)] >> (i & 7) & 1) != 0) {
                    out.add(iova + i * pageSize);
                }
            }
            return out;
        }

        @Override
        public void close() {
            t.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3", "amd"})
    void deviceWritesSetDescriptorBitsThatTheBitmapReadsAndClears(String model) {
        try (Rig r = new Rig(model)) {
            assertThat(r.hwptDomain().leafDescriptor(HUGE_IOVA)).as("one 2 MiB leaf")
                    .isEqualTo(r.hwptDomain().leafDescriptor(HUGE_IOVA + SZ_2M - SZ_4K));
            r.t.setDirtyTracking(r.hwpt, true).ok();
            assertThat(r.dirty(HUGE_IOVA, 4 * SZ_2M, SZ_4K, 0)).as("enabling starts clean").isEmpty();
            assertThat(r.descriptorDirty(SMALL_IOVA + SZ_4K)).isFalse();

            r.write(SMALL_IOVA + SZ_4K);
            r.read(SMALL_IOVA + 2 * SZ_4K);
            r.write(SMALL_IOVA + 5 * SZ_4K + 100);
            assertThat(r.descriptorDirty(SMALL_IOVA + SZ_4K)).isTrue();
            assertThat(r.descriptorDirty(SMALL_IOVA + 2 * SZ_4K)).as("a read dirties nothing").isFalse();

            long small = SMALL_LEN;
            assertThat(r.dirty(SMALL_IOVA, small, SZ_4K, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR))
                    .containsExactly(SMALL_IOVA + SZ_4K, SMALL_IOVA + 5 * SZ_4K);
            assertThat(r.descriptorDirty(SMALL_IOVA + SZ_4K)).as("NO_CLEAR keeps the bit").isTrue();
            assertThat(r.dirty(SMALL_IOVA, small, SZ_4K, 0))
                    .containsExactly(SMALL_IOVA + SZ_4K, SMALL_IOVA + 5 * SZ_4K);
            assertThat(r.descriptorDirty(SMALL_IOVA + SZ_4K)).as("cleared in the bytes").isFalse();
            assertThat(r.dirty(SMALL_IOVA, small, SZ_4K, 0)).isEmpty();

            // The clear flushed the IOTLB: the same page written again walks and is marked again.
            r.write(SMALL_IOVA + SZ_4K);
            assertThat(r.dirty(SMALL_IOVA, small, SZ_4K, 0)).containsExactly(SMALL_IOVA + SZ_4K);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3", "amd"})
    void aHugeLeafMarksEveryBitItCoversAtAnyPageSize(String model) {
        try (Rig r = new Rig(model)) {
            r.t.setDirtyTracking(r.hwpt, true).ok();
            r.write(HUGE_IOVA + 0x12345);
            assertThat(r.descriptorDirty(HUGE_IOVA)).isTrue();
            List<Long> at4k = r.dirty(HUGE_IOVA, SZ_2M, SZ_4K, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
            assertThat(at4k).hasSize(512).startsWith(HUGE_IOVA).endsWith(HUGE_IOVA + SZ_2M - SZ_4K);
            assertThat(r.dirty(HUGE_IOVA, 2 * SZ_2M, 8192, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)).hasSize(256);
            assertThat(r.dirty(HUGE_IOVA, 4 * SZ_2M, SZ_2M, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR))
                    .containsExactly(HUGE_IOVA);
            // A window inside the leaf reports only its own bits, and clears the whole leaf.
            assertThat(r.dirty(HUGE_IOVA + SZ_4K * 16, SZ_4K * 4, SZ_4K, 0)).hasSize(4);
            assertThat(r.descriptorDirty(HUGE_IOVA)).isFalse();
            assertThat(r.dirty(HUGE_IOVA, SZ_2M, SZ_4K, 0)).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3", "amd"})
    void disablingStopsWhatEachVendorStops(String model) {
        try (Rig r = new Rig(model)) {
            r.t.setDirtyTracking(r.hwpt, true).ok();
            r.t.setDirtyTracking(r.hwpt, false).ok();
            r.write(SMALL_IOVA);
            // VT-d clears SSADE and AMD the DTE's HAD: the walk sets no D bit. SMMUv3 keeps CD.HD for
            // the domain's life (arm_smmu_set_dirty_tracking does nothing), so the leaf still turns dirty.
            assertThat(r.descriptorDirty(SMALL_IOVA)).isEqualTo(model.equals("smmuv3"));
            // Enabling again starts from a clean snapshot.
            r.t.setDirtyTracking(r.hwpt, true).ok();
            assertThat(r.dirty(SMALL_IOVA, SMALL_LEN, SZ_4K, 0)).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3", "amd"})
    void badRangesPageSizesAndBitmapsGetTheKernelsErrno(String model) {
        try (Rig r = new Rig(model)) {
            r.t.setDirtyTracking(r.hwpt, true).ok();
            r.write(SMALL_IOVA);
            long data = r.t.userAlloc(64);
            r.bitmap(SMALL_IOVA + 512, SZ_4K, SZ_4K, data, 0).fails(Errno.EINVAL);
            r.bitmap(SMALL_IOVA, SZ_4K + 512, SZ_4K, data, 0).fails(Errno.EINVAL);
            r.bitmap(SMALL_IOVA, SZ_4K, 0, data, 0).fails(Errno.EINVAL);
            r.bitmap(SMALL_IOVA, SZ_4K, 8192, data, 0).fails(Errno.EINVAL);
            r.bitmap(SMALL_IOVA, 0, SZ_4K, data, 0).fails(Errno.EINVAL);
            r.bitmap(-SZ_4K, 2 * SZ_4K, SZ_4K, data, 0).fails(Errno.EOVERFLOW);
            r.bitmap(SMALL_IOVA, SZ_4K, SZ_4K, data, 1 << 1).fails(Errno.EOPNOTSUPP);
            // A bitmap the caller cannot write: EFAULT, and nothing was read or cleared.
            r.bitmap(SMALL_IOVA, SMALL_LEN, SZ_4K, 0x10, 0).fails(Errno.EFAULT);
            long tail = r.t.mmap(2 * SZ_4K, false);
            r.t.munmap(tail + SZ_4K, SZ_4K);
            r.bitmap(SMALL_IOVA, 2 * SZ_2M * 8 * 4, SZ_4K, tail + SZ_4K - 8, 0).fails(Errno.EFAULT);
            assertThat(r.descriptorDirty(SMALL_IOVA)).isTrue();
            assertThat(r.dirty(SMALL_IOVA, SMALL_LEN, SZ_4K, 0)).containsExactly(SMALL_IOVA);
            // An unaligned bitmap address works: bits count from bit 0 of its first byte.
            long odd = r.t.userAlloc(32) + 3;
            r.write(SMALL_IOVA + 9 * SZ_4K);
            r.bitmap(SMALL_IOVA, SMALL_LEN, SZ_4K, odd, 0).ok();
            assertThat(r.t.read(odd, 2)).containsExactly(0, 2);
            // A HWPT without dirty tracking has no dirty ops.
            int plain = r.t.hwptAlloc(r.dev, r.ioas, 0).ok().u32("out_hwpt_id");
            r.t.setDirtyTracking(plain, true).fails(Errno.EOPNOTSUPP);
            r.t.getDirtyBitmap(plain, SZ_4K, SMALL_IOVA, SZ_4K, data, 0).fails(Errno.EOPNOTSUPP);
        }
    }
}
