package io.uiommu.conformance;

import io.uiommu.testing.IommufdTestClient;
import io.uiommu.testing.MockDomain;
import io.uiommu.testing.Rc;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import static io.uiommu.iommufd.Errno.*;
import static io.uiommu.testing.IommufdTestClient.*;
import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * FIXTURE(iommufd_dirty_tracking) of the 6.12 selftest: a MAP_SHARED buffer of the variant's size
 * at a 2 MiB aligned address, a bitmap with a page of slack for the unaligned cases, and a mock
 * device (with 1 MiB mock IO pages, MOCK_FLAGS_DEVICE_HUGE_IOVA, in the huge variants) on an IOAS.
 *
 * <p>The huge variants back the buffer with MAP_HUGETLB|MAP_POPULATE in the selftest; here it is
 * a populated, 2 MiB aligned MAP_SHARED anonymous mapping (transparent huge pages on x86-64), so
 * the mock domain can use its 1 MiB pages where the memory is physically contiguous.
 */
class IommufdDirtyTrackingTest {
    enum Variant {
        domain_dirty8k(8L * 1024, false),
        domain_dirty16k(16L * 1024, false),
        domain_dirty64k(64L * 1024, false),
        domain_dirty128k(128L * 1024, false),
        domain_dirty320k(320L * 1024, false),
        domain_dirty64M(64L << 20, false),
        domain_dirty64M_huge(64L << 20, true),
        domain_dirty128M(128L << 20, false),
        domain_dirty128M_huge(128L << 20, true);

        final long bufferSize;
        final boolean hugepages;

        Variant(long bufferSize, boolean hugepages) {
            this.bufferSize = bufferSize;
            this.hugepages = hugepages;
        }
    }

    /** Where the fixture's buffer goes: 2 MiB aligned, apart from the test buffer. */
    private static final long DIRTY_BUFFER_VA = 0x3000_0000_0000L;

    /** FIXTURE_VARIANT: each test runs once per variant, the fixture set up by {@link #setUp(Variant)}. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Variant.class)
    @interface ForEachVariant {
    }

    private Variant variant;

    private IommufdTestClient c;
    private int ioasId;
    private int hwptId;
    private int stdevId;
    private int idevId;
    private long pageSize;
    private long bitmapSize;
    private long bitmap;
    private long bitmapAlloc;
    private long dbuffer;
    private long mmapBufferSize;

    /** FIXTURE_SETUP. */
    private void setUp(Variant v) {
        variant = v;
        c = new IommufdTestClient();

        mmapBufferSize = variant.bufferSize;
        if (variant.hugepages && mmapBufferSize < HUGEPAGE_SIZE) {
            mmapBufferSize = HUGEPAGE_SIZE;
        }
        dbuffer = c.mmapFixed(DIRTY_BUFFER_VA, mmapBufferSize, true);
        assertThat(dbuffer % HUGEPAGE_SIZE).isZero();
        if (variant.hugepages) {
            // MAP_POPULATE
            for (long off = 0; off < mmapBufferSize; off += PAGE_SIZE) {
                c.process().frameAt(dbuffer + off);
            }
        }

        pageSize = MOCK_PAGE_SIZE;
        bitmapSize = variant.bufferSize / pageSize;

        // a page of slack for the unaligned cases
        bitmapAlloc = (bitmapSize + 7) / 8 + PAGE_SIZE;
        bitmap = c.mmap(bitmapAlloc, false);
        assertThat(bitmap % PAGE_SIZE).isZero();

        ioasId = c.ioasAlloc();
        c.setIoasId(ioasId);
        MockDomain md = variant.hugepages ? c.mockDomainFlags(ioasId, MOCK_FLAGS_DEVICE_HUGE_IOVA)
                : c.mockDomain(ioasId);
        stdevId = md.stdevId();
        hwptId = md.hwptId();
        idevId = md.idevId();
    }

    @AfterEach
    void tearDown() {
        if (c == null) {
            return;
        }
        c.munmap(dbuffer, mmapBufferSize);
        c.munmap(bitmap, bitmapAlloc);
        c.close();
    }

    @ForEachVariant
    void enforce_dirty(Variant v) {
        setUp(v);
        int devFlags = MOCK_FLAGS_DEVICE_NO_DIRTY;

        // a device without dirty tracking cannot join a dirty-tracking HWPT
        int hwpt = c.hwptAlloc(idevId, ioasId, IOMMU_HWPT_ALLOC_DIRTY_TRACKING).ok().u32("out_hwpt_id");
        MockDomain md = c.mockDomain(hwpt);
        c.mockDomainFlagsRc(hwpt, devFlags).fails(EINVAL);
        c.destroy(md.stdevId()).ok();
        c.destroy(hwpt).ok();

        // nor allocate one
        int ioas = c.ioasAlloc();
        MockDomain noDirty = c.mockDomainFlags(ioas, devFlags);
        c.hwptAlloc(noDirty.idevId(), ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING).fails(EOPNOTSUPP);
        c.destroy(noDirty.stdevId()).ok();
    }

    @ForEachVariant
    void set_dirty_tracking(Variant v) {
        setUp(v);
        int hwpt = c.hwptAlloc(idevId, ioasId, IOMMU_HWPT_ALLOC_DIRTY_TRACKING).ok().u32("out_hwpt_id");
        MockDomain md = c.mockDomain(hwpt);
        c.setDirtyTracking(hwpt, true).ok();
        c.setDirtyTracking(hwpt, false).ok();

        c.destroy(md.stdevId()).ok();
        c.destroy(hwpt).ok();
    }

    @ForEachVariant
    void device_dirty_capability(Variant v) {
        setUp(v);
        int hwpt = c.hwptAlloc(idevId, ioasId, 0).ok().u32("out_hwpt_id");
        MockDomain md = c.mockDomain(hwpt);
        Rc info = c.getHwInfo(idevId, 0, 0, 0).ok();
        assertThat(info.u32("out_data_type")).isEqualTo(IOMMU_HW_INFO_TYPE_SELFTEST);
        assertThat(info.u64("out_capabilities") & IOMMU_HW_CAP_DIRTY_TRACKING)
                .isEqualTo(IOMMU_HW_CAP_DIRTY_TRACKING);

        c.destroy(md.stdevId()).ok();
        c.destroy(hwpt).ok();
    }

    @ForEachVariant
    void get_dirty_bitmap(Variant v) {
        setUp(v);
        runDirtyBitmaps(0);
    }

    @ForEachVariant
    void get_dirty_bitmap_no_clear(Variant v) {
        setUp(v);
        runDirtyBitmaps(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
    }

    private void runDirtyBitmaps(int flags) {
        long ptePageSize = variant.hugepages ? MOCK_HUGE_PAGE_SIZE : MOCK_PAGE_SIZE;

        int ioas = c.ioasAlloc();
        c.mapFixed(ioas, dbuffer, variant.bufferSize, MOCK_APERTURE_START).ok();

        int hwpt = c.hwptAlloc(idevId, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING).ok().u32("out_hwpt_id");
        c.setDirtyTracking(hwpt, true).ok();

        mockDirtyBitmaps(hwpt, variant.bufferSize, MOCK_APERTURE_START, pageSize, ptePageSize, bitmap, bitmapSize,
                flags);
        // bitmap not PAGE_SIZE aligned
        mockDirtyBitmaps(hwpt, variant.bufferSize, MOCK_APERTURE_START, pageSize, ptePageSize,
                bitmap + MOCK_PAGE_SIZE, bitmapSize, flags);
        // bitmap not u64 aligned
        mockDirtyBitmaps(hwpt, variant.bufferSize, MOCK_APERTURE_START, pageSize, ptePageSize, bitmap + 0xff1,
                bitmapSize, flags);

        c.destroy(hwpt).ok();
    }

    /**
     * _test_mock_dirty_bitmaps: the mock domain marks the first IO page of every other IOPTE dirty;
     * the bitmap read back has every bit of those IOPTEs set (an IOPTE is dirty as a whole) and no
     * other; a second read sees nothing, unless NO_CLEAR kept the dirty bits.
     */
    private void mockDirtyBitmaps(int hwpt, long length, long iova, long pageSize, long ptePageSize, long bitmapVa,
            long nbits, int flags) {
        long npte = ptePageSize / pageSize;
        long pteset = 2 * npte;
        long nr = nbits / pteset == 0 ? 1 : nbits / pteset;
        int bitmapBytes = (int) ((nbits + 7) / 8);

        byte[] bits = new byte[bitmapBytes];
        for (long i = 0; i < nbits; i += pteset) {
            bits[(int) (i >>> 3)] |= (byte) (1 << (i & 7));
        }
        c.write(bitmapVa, bits);
        Rc rc = c.mockSetDirty(hwpt, length, iova, pageSize, bitmapVa).ok();
        assertThat(rc.u64("dirty.out_nr_dirty")).as("IOPTEs marked dirty").isEqualTo(nr);

        // the dirty IOPTEs come back whole
        c.write(bitmapVa, new byte[bitmapBytes]);
        c.getDirtyBitmap(hwpt, length, iova, pageSize, bitmapVa, flags).ok();
        byte[] got = c.read(bitmapVa, bitmapBytes + 8);
        for (long i = 0; i < nbits; i += pteset) {
            for (long j = 0; j < pteset; j++) {
                assertThat(testBit(got, i + j)).as("bit %d after the first read", i + j).isEqualTo(j < npte);
            }
            assertThat(testBit(got, i)).isTrue();
        }

        // a second read: cleared unless NO_CLEAR
        c.write(bitmapVa, new byte[bitmapBytes]);
        c.getDirtyBitmap(hwpt, length, iova, pageSize, bitmapVa, flags).ok();
        got = c.read(bitmapVa, bitmapBytes + 8);
        boolean noClear = (flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) != 0;
        for (long i = 0; i < nbits; i += pteset) {
            for (long j = 0; j < pteset; j++) {
                assertThat(testBit(got, i + j)).as("bit %d after the second read", i + j)
                        .isEqualTo(j < npte && noClear);
            }
        }
    }

    private static boolean testBit(byte[] bitmap, long nr) {
        return (bitmap[(int) (nr >>> 3)] >>> (nr & 7) & 1) != 0;
    }
}
