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

/**
 * FIXTURE(iommufd_mock_domain) of the 6.12 selftest: an IOAS with one or two mock devices, each
 * on its own auto domain, and MAP_SHARED anonymous test memory of 8 pages.
 *
 * <p>Not ported: the {@code one_domain_hugepage} / {@code two_domains_hugepage} variants (they
 * need MAP_HUGETLB hugetlbfs memory, which the simulated process does not have), and
 * {@code ro_unshare} (it maps /proc/self/exe MAP_PRIVATE to exercise get_user_pages' COW unsharing
 * of a file page; the simulated process has anonymous memory only). The 6.12 selftest has no
 * memfd ("file") variants.
 */
class IommufdMockDomainTest {
    enum Variant {
        one_domain(1),
        two_domains(2);

        final int mockDomains;

        Variant(int mockDomains) {
            this.mockDomains = mockDomains;
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
    private final int[] hwptIds = new int[2];
    private final int[] stdevIds = new int[2];
    private final int[] idevIds = new int[2];
    private long mmapBufSize;

    /** FIXTURE_SETUP. */
    private void setUp(Variant v) {
        variant = v;
        c = new IommufdTestClient();
        buffer = c.buffer();
        ioasId = c.ioasAlloc();
        c.setIoasId(ioasId);
        for (int i = 0; i != variant.mockDomains; i++) {
            MockDomain md = c.mockDomain(ioasId);
            stdevIds[i] = md.stdevId();
            hwptIds[i] = md.hwptId();
            idevIds[i] = md.idevId();
        }
        mmapBufSize = PAGE_SIZE * 8;
    }

    @AfterEach
    void tearDown() {
        if (c != null) {
            c.close();
        }
    }

    /** check_mock_iova: the mock domain(s) map each IOVA to the page under the user VA. */
    private void checkMockIova(long va, long iova, long length) {
        c.checkMap(hwptIds[0], iova, length, va).ok();
        if (hwptIds[1] != 0) {
            c.checkMap(hwptIds[1], iova, length, va).ok();
        }
    }

    @ForEachVariant
    void basic(Variant v) {
        setUp(v);
        long bufSize = mmapBufSize;

        // one page
        long iova = c.mapOk(buffer, PAGE_SIZE);
        checkMockIova(buffer, iova, PAGE_SIZE);

        long buf = c.mmap(bufSize, true);

        // the second half is not mapped
        c.munmap(buf + bufSize / 2, bufSize / 2);
        c.map(buf, bufSize).fails(EFAULT);

        // nothing is mapped
        c.munmap(buf, bufSize / 2);
        c.map(buf, bufSize).fails(EFAULT);
    }

    @ForEachVariant
    void all_aligns(Variant v) {
        setUp(v);
        long testStep = MOCK_PAGE_SIZE;
        long bufSize = mmapBufSize;
        long buf = c.mmap(bufSize, true);
        c.checkRefs(buf, bufSize, 0).ok();

        // every length and alignment at MOCK_PAGE_SIZE granularity inside the region
        for (long start = 0; start < bufSize; start += testStep) {
            for (long end = start + MOCK_PAGE_SIZE; end < bufSize; end += MOCK_PAGE_SIZE) {
                long length = end - start;
                long iova = c.mapOk(buf + start, length);
                checkMockIova(buf + start, iova, length);
                c.checkRefs(buf + start / PAGE_SIZE * PAGE_SIZE,
                        end / PAGE_SIZE * PAGE_SIZE - start / PAGE_SIZE * PAGE_SIZE, 1).ok();
                c.unmap(iova, length).ok();
            }
        }
        c.checkRefs(buf, bufSize, 0).ok();
        c.munmap(buf, bufSize);
    }

    @ForEachVariant
    void all_aligns_copy(Variant v) {
        setUp(v);
        long testStep = MOCK_PAGE_SIZE;
        long bufSize = mmapBufSize;
        long buf = c.mmap(bufSize, true);
        c.checkRefs(buf, bufSize, 0).ok();

        for (long start = 0; start < bufSize; start += testStep) {
            for (long end = start + MOCK_PAGE_SIZE; end < bufSize; end += MOCK_PAGE_SIZE) {
                long length = end - start;
                long iova = c.mapOk(buf + start, length);

                // a domain is added and removed while the area exists
                int oldId = hwptIds[1];
                MockDomain md = c.mockDomain(ioasId);
                hwptIds[1] = md.hwptId();

                checkMockIova(buf + start, iova, length);
                c.checkRefs(buf + start / PAGE_SIZE * PAGE_SIZE,
                        end / PAGE_SIZE * PAGE_SIZE - start / PAGE_SIZE * PAGE_SIZE, 1).ok();

                c.destroy(md.stdevId()).ok();
                hwptIds[1] = oldId;

                c.unmap(iova, length).ok();
            }
        }
        c.checkRefs(buf, bufSize, 0).ok();
        c.munmap(buf, bufSize);
    }

    @ForEachVariant
    void user_copy(Variant v) {
        setUp(v);
        int flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE;

        // pages pinned by an access in an IOAS without domains, copied into the IOAS with domains
        int srcIoas = c.ioasAlloc();
        long srcIova = c.mapOk(srcIoas, buffer, BUFFER_SIZE);
        int access = c.createAccess(srcIoas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
        c.accessPages(access, srcIova, BUFFER_SIZE, buffer, 0).ok();
        c.copy(flags, ioasId, MOCK_APERTURE_START, srcIoas, srcIova, BUFFER_SIZE).ok();
        checkMockIova(buffer, MOCK_APERTURE_START, BUFFER_SIZE);

        // move the access to a new IOAS
        int newIoas = c.ioasAlloc();
        long newIova = c.mapOk(newIoas, buffer, BUFFER_SIZE);
        c.accessReplaceIoas(access, newIoas).ok();

        // drop the old IOAS and the copied mapping
        c.unmap(ioasId, MOCK_APERTURE_START, BUFFER_SIZE).ok();
        c.destroy(srcIoas).ok();

        // the same again from the new IOAS
        Rc pages = c.accessPages(access, newIova, BUFFER_SIZE, buffer, 0).ok();
        c.copy(flags, ioasId, MOCK_APERTURE_START, newIoas, newIova, BUFFER_SIZE).ok();
        checkMockIova(buffer, MOCK_APERTURE_START, BUFFER_SIZE);

        c.destroyAccessPages(access, pages.u32("access_pages.out_access_pages_id")).ok();
        if (c.destroyAccess(access) != 0) {
            throw new AssertionError("close(access fd) failed");
        }
        c.destroy(newIoas).ok();
    }

    @ForEachVariant
    void replace(Variant v) {
        setUp(v);
        int ioas = c.ioasAlloc();

        c.mockDomainReplace(stdevIds[0], ioas).ok();

        // the auto domain the device left is gone with it
        if (variant.mockDomains == 1) {
            c.mockDomainReplace(stdevIds[0], hwptIds[0]).fails(ENOENT);
        }

        c.mockDomainReplace(stdevIds[0], ioas).ok();
        if (variant.mockDomains >= 2) {
            c.mockDomainReplace(stdevIds[0], hwptIds[1]).ok();
            c.mockDomainReplace(stdevIds[0], hwptIds[1]).ok();
            c.mockDomainReplace(stdevIds[0], hwptIds[0]).ok();
        }

        c.mockDomainReplace(stdevIds[0], ioasId).ok();
        c.destroy(ioas).ok();
    }

    @ForEachVariant
    void alloc_hwpt(Variant v) {
        setUp(v);
        for (int i = 0; i != variant.mockDomains; i++) {
            c.hwptAlloc(idevIds[i], ioasId, ~IOMMU_HWPT_ALLOC_NEST_PARENT).fails(EOPNOTSUPP);
            int hwpt0 = c.hwptAlloc(idevIds[i], ioasId, 0).ok().u32("out_hwpt_id");
            int hwpt1 = c.hwptAlloc(idevIds[i], ioasId, IOMMU_HWPT_ALLOC_NEST_PARENT).ok().u32("out_hwpt_id");

            // rotate the device through the HWPTs
            c.mockDomainReplace(stdevIds[i], hwpt0).ok();
            c.destroy(hwpt0).fails(EBUSY);
            c.mockDomainReplace(stdevIds[i], hwpt1).ok();
            c.destroy(hwpt1).fails(EBUSY);
            c.mockDomainReplace(stdevIds[i], ioasId).ok();
            c.destroy(hwpt1).ok();

            MockDomain md = c.mockDomain(hwpt0);
            c.destroy(md.stdevId()).ok();
            c.destroy(hwpt0).ok();
        }
    }
}
