package io.uiommu.conformance;

import io.uiommu.testing.Cmd;
import io.uiommu.testing.IommufdTestClient;
import io.uiommu.testing.Rc;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.VfioStructs;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.Random;

import static io.uiommu.iommufd.Errno.*;
import static io.uiommu.testing.IommufdTestClient.*;
import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * FIXTURE(vfio_compat_mock_domain) of the 6.12 selftest: an IOAS with a mock device (what VFIO
 * would call a group) set as the compat IOAS, and VFIO_SET_IOMMU done with the variant's type.
 */
class VfioCompatMockDomainTest {
    enum Variant {
        Ver1v2(VFIO_TYPE1v2_IOMMU),
        Ver1v0(VFIO_TYPE1_IOMMU);

        final int version;

        Variant(int version) {
            this.version = version;
        }
    }

    /** FIXTURE_VARIANT: each test runs once per variant, the fixture set up by {@link #setUp(Variant)}. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Variant.class)
    @interface ForEachVariant {
    }

    private Variant variant;

    private IommufdTestClient c;
    private long buffer;
    private int ioasId;

    /** FIXTURE_SETUP. */
    private void setUp(Variant v) {
        variant = v;
        c = new IommufdTestClient();
        buffer = c.buffer();

        ioasId = c.ioasAlloc();
        c.setIoasId(ioasId);
        c.mockDomain(ioasId);

        c.vfioIoas(IOMMU_VFIO_IOAS_SET, ioasId).ok();
        c.ioctlArg(Ioctl.VFIO_SET_IOMMU.code(), variant.version).ok();
    }

    @AfterEach
    void tearDown() {
        if (c != null) {
            c.close();
        }
    }

    @ForEachVariant
    void simple_close(Variant v) {
        setUp(v);
    }

    @ForEachVariant
    void option_huge_pages(Variant v) {
        setUp(v);
        Rc rc = c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioasId, 3).ok();
        // type1 (v1) may unmap inside mappings, so the compat layer turned large pages off
        assertThat(rc.u64("val64")).isEqualTo(variant.version == VFIO_TYPE1_IOMMU ? 0 : 1);
    }

    private static final int INFO_SIZE = 24; // sizeof(struct vfio_iommu_type1_info)
    private static final int CAP_OFFSET_OFFSET = 16; // offsetof(struct vfio_iommu_type1_info, cap_offset)

    /**
     * ioctl_check_buf: VFIO_IOMMU_GET_INFO on a struct at the start of the test buffer whose bytes
     * past argsz are 0xAA; the kernel may not write past argsz.
     */
    private Cmd getInfoCheckBuf(int argsz) {
        byte[] head = new byte[INFO_SIZE];
        head[0] = (byte) argsz;
        head[1] = (byte) (argsz >>> 8);
        head[2] = (byte) (argsz >>> 16);
        head[3] = (byte) (argsz >>> 24);
        c.write(buffer, head);
        c.fill(buffer + argsz, BUFFER_SIZE - argsz, 0xaa);

        c.ioctlArg(Ioctl.VFIO_IOMMU_GET_INFO.code(), buffer).ok();

        byte[] tail = c.read(buffer + argsz, (int) (BUFFER_SIZE - argsz));
        for (int i = 0; i < tail.length; i++) {
            if ((tail[i] & 0xff) != 0xaa) {
                throw new AssertionError("VFIO_IOMMU_GET_INFO with argsz " + argsz + " wrote byte " + (argsz + i));
            }
        }
        Cmd info = Cmd.zeroed(VfioStructs.VFIO_IOMMU_TYPE1_INFO, INFO_SIZE);
        c.process().read(buffer, info.bytes(), 0, INFO_SIZE);
        return info;
    }

    @ForEachVariant
    void get_info(Variant v) {
        setUp(v);
        // the ABI before capabilities
        Cmd info = getInfoCheckBuf(CAP_OFFSET_OFFSET);
        assertThat(info.u64("iova_pgsizes")).isNotZero();
        assertThat(info.u32("flags")).isEqualTo(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);

        // the size of the capability chain
        info = getInfoCheckBuf(INFO_SIZE);
        assertThat(info.u64("iova_pgsizes")).isNotZero();
        assertThat(info.u32("flags")).isEqualTo(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
        assertThat(info.u32("cap_offset")).isZero();
        assertThat(info.u32("argsz")).isGreaterThan(INFO_SIZE);

        // any smaller argsz never yields a corrupt chain
        int caplen = info.u32("argsz");
        for (int i = INFO_SIZE; i < caplen; i++) {
            info = getInfoCheckBuf(i);
            assertThat(info.u32("flags")).isEqualTo(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
            if (info.u32("cap_offset") == 0) {
                continue;
            }
            checkCapChain(info);
        }

        // Beyond the selftest (whose loop stops short of it): with room for all capabilities the
        // chain is returned at cap_offset = sizeof(info) (vfio_compat.c iommufd_vfio_iommu_get_info).
        info = getInfoCheckBuf(caplen);
        assertThat(info.u32("cap_offset")).isEqualTo(INFO_SIZE);
        assertThat(info.u32("argsz")).isEqualTo(caplen);
        // the mock domain's 2 KiB IO pages are reported as PAGE_SIZE (iommufd_get_pagesizes)
        assertThat(info.u64("iova_pgsizes")).isEqualTo(PAGE_SIZE);
        checkCapChain(info);
    }

    /** check_vfio_info_cap_chain over the chain in the test buffer. */
    private void checkCapChain(Cmd info) {
        long argsz = info.u32("argsz") & 0xffffffffL;
        long capOffset = info.u32("cap_offset") & 0xffffffffL;
        assertThat(argsz).isGreaterThanOrEqualTo(capOffset + 8);
        long cap = capOffset;
        boolean sawRange = false;
        boolean sawAvail = false;
        while (true) {
            int id = readU16(cap);
            int version = readU16(cap + 2);
            long next = c.process().readInt(buffer + cap + 4) & 0xffffffffL;
            long capSize = next != 0 ? next - cap : argsz - cap;
            switch (id) {
                case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE -> {
                    assertThat(version).isEqualTo(1);
                    assertThat(c.process().readInt(buffer + cap + 8)).as("nr_iovas").isEqualTo(1);
                    assertThat(c.process().readLong(buffer + cap + 16)).isEqualTo(MOCK_APERTURE_START);
                    assertThat(c.process().readLong(buffer + cap + 24)).isEqualTo(MOCK_APERTURE_LAST);
                    sawRange = true;
                }
                case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL -> {
                    assertThat(version).isEqualTo(1);
                    // sizeof(struct vfio_iommu_type1_info_dma_avail) is 12; every capability is padded to 8 bytes
                    assertThat(capSize).isEqualTo(16);
                    sawAvail = true;
                }
                default -> throw new AssertionError("unknown capability id " + id + " at offset " + cap);
            }
            if (next == 0) {
                break;
            }
            assertThat(argsz).isGreaterThanOrEqualTo(next + 8);
            assertThat(next).isGreaterThanOrEqualTo(cap);
            cap = next;
        }
        assertThat(sawRange && sawAvail).as("both capabilities present").isTrue();
    }

    private int readU16(long offset) {
        byte[] b = c.read(buffer + offset, 2);
        return (b[0] & 0xff) | (b[1] & 0xff) << 8;
    }

    private static void shuffle(long[] array, Random rnd) {
        for (int i = 0; i != array.length; i++) {
            long tmp = array[i];
            int other = rnd.nextInt(array.length - i);
            array[i] = array[other];
            array[other] = tmp;
        }
    }

    private Rc mapDma(long vaddr, long iova, long size) {
        return c.ioctl(Ioctl.VFIO_IOMMU_MAP_DMA, Cmd.of(VfioStructs.VFIO_IOMMU_TYPE1_DMA_MAP)
                .set("flags", VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE).set("vaddr", vaddr)
                .set("iova", iova).set("size", size));
    }

    private Rc unmapDma(int flags, long iova, long size) {
        return c.ioctl(Ioctl.VFIO_IOMMU_UNMAP_DMA, Cmd.of(VfioStructs.VFIO_IOMMU_TYPE1_DMA_UNMAP)
                .set("flags", flags).set("iova", iova).set("size", size));
    }

    @ForEachVariant
    void map(Variant v) {
        setUp(v);
        // map and unmap
        mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE).ok();
        Rc rc = unmapDma(0, MOCK_APERTURE_START, BUFFER_SIZE).ok();
        assertThat(rc.u64("size")).isEqualTo(BUFFER_SIZE);
        // unmapping nothing succeeds
        unmapDma(0, MOCK_APERTURE_START, BUFFER_SIZE).ok();

        // UNMAP_FLAG_ALL wants iova and size 0
        mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE).ok();
        unmapDma(VFIO_DMA_UNMAP_FLAG_ALL, MOCK_APERTURE_START, BUFFER_SIZE).fails(EINVAL);
        rc = unmapDma(VFIO_DMA_UNMAP_FLAG_ALL, 0, 0).ok();
        assertThat(rc.u64("size")).isEqualTo(BUFFER_SIZE);

        // page by page, unmapped in random order
        long[] pagesIova = new long[(int) (BUFFER_SIZE / PAGE_SIZE)];
        for (int i = 0; i != pagesIova.length; i++) {
            pagesIova[i] = MOCK_APERTURE_START + i * PAGE_SIZE;
            mapDma(buffer + i * PAGE_SIZE, pagesIova[i], PAGE_SIZE).ok();
        }
        shuffle(pagesIova, new Random(1));
        for (long iova : pagesIova) {
            unmapDma(0, iova, PAGE_SIZE).ok();
        }
    }

    /**
     * huge_map: the selftest maps two MAP_HUGETLB huge pages; here a populated, 2 MiB aligned
     * MAP_SHARED anonymous region of the same size. Type1 may unmap pieces of a mapping, type1v2
     * never can (the IOAS does not split areas).
     */
    @ForEachVariant
    void huge_map(Variant v) {
        setUp(v);
        long bufSize = HUGEPAGE_SIZE * 2;
        long buf = c.mmap(bufSize, true);
        assertThat(buf % HUGEPAGE_SIZE).isZero();
        for (long off = 0; off < bufSize; off += PAGE_SIZE) {
            c.process().frameAt(buf + off);
        }
        mapDma(buf, MOCK_APERTURE_START, bufSize).ok();

        long[] pagesIova = new long[16];
        long piece = bufSize / pagesIova.length;
        for (int i = 0; i != pagesIova.length; i++) {
            pagesIova[i] = MOCK_APERTURE_START + i * piece;
        }
        shuffle(pagesIova, new Random(2));

        for (long iova : pagesIova) {
            if (variant.version == VFIO_TYPE1_IOMMU) {
                unmapDma(0, iova, piece).ok();
            } else {
                unmapDma(0, iova, piece).fails(ENOENT);
            }
        }
    }
}
