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
import java.util.Arrays;
import java.util.Random;

import static io.uiommu.iommufd.Errno.*;
import static io.uiommu.testing.IommufdTestClient.*;
import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * FIXTURE(iommufd_ioas) of the 6.12 selftest: one IOAS, and per variant zero, one or two mock
 * devices attached to it (each gets its own auto-allocated mock domain), with the temporary
 * memory limit of the variant.
 *
 * <p>The 6.12.117 selftest marks the mock_domain variant {@code pasid_capable}: it also creates a
 * mock device with MOCK_FLAGS_DEVICE_PASID, a flag of upstream 6.15's test header that uiommu
 * accepts (the kernel oracle's 6.12 build has to switch the variant off instead).
 */
class IommufdIoasTest {
    enum Variant {
        no_domain(0, 0, false),
        mock_domain(1, 0, true),
        two_mock_domain(2, 0, false),
        mock_domain_limit(1, 16, false);

        final int mockDomains;
        final int memoryLimit;
        final boolean pasidCapable;

        Variant(int mockDomains, int memoryLimit, boolean pasidCapable) {
            this.mockDomains = mockDomains;
            this.memoryLimit = memoryLimit;
            this.pasidCapable = pasidCapable;
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
    private int stdevId;
    private int hwptId;
    private int deviceId;
    private long baseIova;
    private int devicePasidId;

    /** FIXTURE_SETUP. */
    private void setUp(Variant v) {
        variant = v;
        c = new IommufdTestClient();
        buffer = c.buffer();
        ioasId = c.ioasAlloc();
        c.setIoasId(ioasId);
        if (variant.memoryLimit == 0) {
            c.setDefaultMemoryLimit().ok();
        } else {
            c.setTempMemoryLimit(variant.memoryLimit).ok();
        }
        for (int i = 0; i != variant.mockDomains; i++) {
            MockDomain md = c.mockDomain(ioasId);
            stdevId = md.stdevId();
            hwptId = md.hwptId();
            deviceId = md.idevId();
            baseIova = MOCK_APERTURE_START;
        }
        if (variant.pasidCapable) {
            devicePasidId = c.mockDomainFlags(ioasId, MOCK_FLAGS_DEVICE_PASID).idevId();
        }
    }

    @AfterEach
    void tearDown() {
        if (c == null) {
            return;
        }
        try {
            c.setDefaultMemoryLimit().ok();
        } finally {
            c.close();
        }
    }

    @ForEachVariant
    void ioas_auto_destroy(Variant v) {
        setUp(v);
    }

    @ForEachVariant
    void ioas_destroy(Variant v) {
        setUp(v);
        if (stdevId != 0) {
            // the device's HWPT holds the IOAS
            c.destroy(ioasId).fails(EBUSY);
        } else {
            c.destroy(ioasId).ok();
        }
    }

    @ForEachVariant
    void alloc_hwpt_nested(Variant v) {
        setUp(v);
        final int minDataLen = 4; // offsetofend(struct iommu_hwpt_selftest, iotlb)
        final int dataLen = 4; // sizeof(struct iommu_hwpt_selftest)
        final int invLen = 8; // sizeof(struct iommu_hwpt_invalidate_selftest)
        long data = c.mmap(PAGE_SIZE, false);
        c.process().writeInt(data, IOMMU_TEST_IOTLB_DEFAULT);
        long invReqs = c.mmap(PAGE_SIZE, false);

        if (deviceId != 0) {
            // Negative tests
            c.hwptAlloc(ioasId, deviceId, 0).fails(ENOENT);
            c.hwptAlloc(deviceId, deviceId, 0).fails(EINVAL);
            c.hwptAlloc(deviceId, ioasId, IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_FAULT_ID_VALID)
                    .fails(EOPNOTSUPP);

            int parent = c.hwptAlloc(deviceId, ioasId, IOMMU_HWPT_ALLOC_NEST_PARENT).ok().u32("out_hwpt_id");
            int parentNotWork = c.hwptAlloc(deviceId, ioasId, 0).ok().u32("out_hwpt_id");

            // Negative nested tests
            c.hwptAlloc(deviceId, parent, 0, 0, IOMMU_HWPT_DATA_NONE, data, dataLen).fails(EINVAL);
            c.hwptAlloc(deviceId, parent, 0, 0, IOMMU_HWPT_DATA_SELFTEST + 1, data, dataLen).fails(EOPNOTSUPP);
            c.hwptAlloc(deviceId, parent, 0, 0, IOMMU_HWPT_DATA_SELFTEST, data, minDataLen - 1).fails(EINVAL);
            c.hwptAlloc(deviceId, parent, 0, 0, IOMMU_HWPT_DATA_SELFTEST, 0, dataLen).fails(EFAULT);
            c.hwptAlloc(deviceId, parent, 0, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_SELFTEST, data, dataLen)
                    .fails(EOPNOTSUPP);
            c.hwptAlloc(deviceId, parentNotWork, 0, 0, IOMMU_HWPT_DATA_SELFTEST, data, dataLen).fails(EINVAL);

            // Two nested HWPTs on one parent, and one reporting faults
            Rc fault = c.faultAlloc().ok();
            int faultId = fault.u32("out_fault_id");
            int faultFd = fault.u32("out_fault_fd");
            assertThat(faultId).isNotZero();
            assertThat(faultFd).isNotZero();
            int nested0 = c.hwptAlloc(deviceId, parent, 0, 0, IOMMU_HWPT_DATA_SELFTEST, data, dataLen).ok()
                    .u32("out_hwpt_id");
            int nested1 = c.hwptAlloc(deviceId, parent, 0, 0, IOMMU_HWPT_DATA_SELFTEST, data, dataLen).ok()
                    .u32("out_hwpt_id");
            c.hwptAlloc(deviceId, parent, 0xffffffff, IOMMU_HWPT_FAULT_ID_VALID, IOMMU_HWPT_DATA_SELFTEST, data,
                    dataLen).fails(ENOENT);
            int iopfHwpt = c.hwptAlloc(deviceId, parent, faultId, IOMMU_HWPT_FAULT_ID_VALID, IOMMU_HWPT_DATA_SELFTEST,
                    data, dataLen).ok().u32("out_hwpt_id");
            c.checkIotlbAll(nested0, IOMMU_TEST_IOTLB_DEFAULT);
            c.checkIotlbAll(nested1, IOMMU_TEST_IOTLB_DEFAULT);

            // a nested HWPT cannot be the parent of another
            c.hwptAlloc(deviceId, nested0, 0, 0, IOMMU_HWPT_DATA_SELFTEST, data, dataLen).fails(EINVAL);
            // the parent is held by its children
            c.destroy(parent).fails(EBUSY);

            // HWPT_INVALIDATE only takes a user-managed (nested) HWPT
            assertThat(c.hwptInvalidate(parent, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen, 1)
                    .fails(ENOENT).u32("entry_num")).isZero();

            // data_type is checked even for an empty array
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen, 0)
                    .ok().u32("entry_num")).isZero();

            // wrong data_type
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID, invLen, 1)
                    .fails(EINVAL).u32("entry_num")).isZero();

            // entry_len larger than the driver's struct, and smaller than its first version
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen + 1, 1)
                    .fails(EINVAL).u32("entry_num")).isZero();
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 1, 1)
                    .fails(EINVAL).u32("entry_num")).isZero();

            // unknown flag
            writeInv(invReqs, 0, 0xffffffff, 0);
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen, 1)
                    .fails(EOPNOTSUPP).u32("entry_num")).isZero();

            // NULL array with entries
            writeInv(invReqs, 0, 0, 0);
            assertThat(c.hwptInvalidate(nested0, 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen, 1)
                    .fails(EINVAL).u32("entry_num")).isZero();

            // entry_len 0 with entries
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0, 1)
                    .fails(EINVAL).u32("entry_num")).isZero();

            // iotlb_id out of range
            writeInv(invReqs, 0, 0, MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1);
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen, 1)
                    .fails(EINVAL).u32("entry_num")).isZero();

            // the first entry is handled, the second has bad flags: entry_num reports 1 done
            writeInv(invReqs, 0, 0, 0);
            writeInv(invReqs, 1, 0xffffffff, 1);
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen, 2)
                    .fails(EOPNOTSUPP).u32("entry_num")).isEqualTo(1);
            c.checkIotlb(nested0, 0, 0).ok();
            c.checkIotlb(nested0, 1, IOMMU_TEST_IOTLB_DEFAULT).ok();
            c.checkIotlb(nested0, 2, IOMMU_TEST_IOTLB_DEFAULT).ok();
            c.checkIotlb(nested0, 3, IOMMU_TEST_IOTLB_DEFAULT).ok();

            // the first entry is handled, the second has a bad iotlb_id
            writeInv(invReqs, 0, 0, 0);
            writeInv(invReqs, 1, 0, MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1);
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen, 2)
                    .fails(EINVAL).u32("entry_num")).isEqualTo(1);
            c.checkIotlb(nested0, 0, 0).ok();
            c.checkIotlb(nested0, 1, IOMMU_TEST_IOTLB_DEFAULT).ok();
            c.checkIotlb(nested0, 2, IOMMU_TEST_IOTLB_DEFAULT).ok();
            c.checkIotlb(nested0, 3, IOMMU_TEST_IOTLB_DEFAULT).ok();

            // the 2nd entry
            writeInv(invReqs, 0, 0, 1);
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen, 1)
                    .ok().u32("entry_num")).isEqualTo(1);
            c.checkIotlb(nested0, 0, 0).ok();
            c.checkIotlb(nested0, 1, 0).ok();
            c.checkIotlb(nested0, 2, IOMMU_TEST_IOTLB_DEFAULT).ok();
            c.checkIotlb(nested0, 3, IOMMU_TEST_IOTLB_DEFAULT).ok();

            // the 3rd and 4th entries
            writeInv(invReqs, 0, 0, 2);
            writeInv(invReqs, 1, 0, 3);
            assertThat(c.hwptInvalidate(nested0, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen, 2)
                    .ok().u32("entry_num")).isEqualTo(2);
            c.checkIotlbAll(nested0, 0);

            // everything of nested1 at once
            writeInv(invReqs, 0, IOMMU_TEST_INVALIDATE_FLAG_ALL, 0);
            assertThat(c.hwptInvalidate(nested1, invReqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, invLen, 1)
                    .ok().u32("entry_num")).isEqualTo(1);
            c.checkIotlbAll(nested1, 0);

            // an attached nested HWPT is busy
            c.mockDomainReplace(stdevId, nested0).ok();
            c.destroy(nested0).fails(EBUSY);

            // replace nested0 by nested1
            c.mockDomainReplace(stdevId, nested1).ok();
            c.destroy(nested1).fails(EBUSY);
            c.destroy(nested0).ok();

            // replace nested1 by the fault-reporting one, then fault
            c.mockDomainReplace(stdevId, iopfHwpt).ok();
            c.destroy(iopfHwpt).fails(EBUSY);
            c.triggerIopf(deviceId, faultFd).ok();

            // back to the parent
            c.mockDomainReplace(stdevId, parent).ok();
            c.destroy(nested1).ok();
            c.destroy(iopfHwpt).ok();

            // back to the IOAS (an automatic domain), then the parent can go
            c.mockDomainReplace(stdevId, ioasId).ok();
            c.destroy(parent).ok();
            c.destroy(parentNotWork).ok();
            assertThat(c.process().close(faultFd)).isZero();
            c.destroy(faultId).ok();
        } else {
            c.hwptAlloc(deviceId, ioasId, 0).fails(ENOENT);
            c.hwptAlloc(deviceId, 0, 0, 0, IOMMU_HWPT_DATA_SELFTEST, data, dataLen).fails(ENOENT);
            c.hwptAlloc(deviceId, 0, 0, 0, IOMMU_HWPT_DATA_SELFTEST, data, dataLen).fails(ENOENT);
            c.mockDomainReplace(stdevId, 0).fails(ENOENT);
            c.mockDomainReplace(stdevId, 0).fails(ENOENT);
        }
    }

    /** One struct iommu_hwpt_invalidate_selftest {flags, iotlb_id} in an array. */
    private void writeInv(long array, int index, int flags, int iotlbId) {
        c.process().writeInt(array + index * 8L, flags);
        c.process().writeInt(array + index * 8L + 4, iotlbId);
    }

    @ForEachVariant
    void hwpt_attach(Variant v) {
        setUp(v);
        // a device attached straight to a HWPT
        if (stdevId != 0) {
            c.mockDomain(hwptId);
        } else {
            c.mockDomainRc(hwptId).fails(ENOENT);
        }
    }

    @ForEachVariant
    void ioas_area_destroy(Variant v) {
        setUp(v);
        // an area does not change whether the IOAS can be destroyed
        c.mapFixed(buffer, PAGE_SIZE, baseIova).ok();
        if (stdevId != 0) {
            c.destroy(ioasId).fails(EBUSY);
        } else {
            c.destroy(ioasId).ok();
        }
    }

    @ForEachVariant
    void ioas_area_auto_destroy(Variant v) {
        setUp(v);
        // many areas, freed with the IOAS at close
        for (int i = 0; i != 10; i++) {
            c.mapFixed(buffer, PAGE_SIZE, baseIova + i * PAGE_SIZE).ok();
        }
    }

    /**
     * get_hw_info in its 6.12 form. The 6.12.117 selftest also asks for an explicit data type through
     * IOMMU_HW_INFO_FLAG_INPUT_TYPE, a 6.17 flag: in 6.12 iommufd_get_hw_info() (device.c) rejects
     * any non-zero flags with EOPNOTSUPP, so only the "wrong type" request, which fails either way,
     * is kept.
     */
    @ForEachVariant
    void get_hw_info(Variant v) {
        setUp(v);
        final int infoSize = 8; // sizeof(struct iommu_test_hw_info)
        long exact = c.mmap(PAGE_SIZE, false);
        if (deviceId != 0) {
            // zero-size user buffer
            checkHwInfo(deviceId, 0, 0);
            // exact size
            checkHwInfo(deviceId, exact, infoSize);
            // a data type the driver does not report
            c.getHwInfo(deviceId, IOMMU_HW_INFO_FLAG_INPUT_TYPE, exact, infoSize).fails(EOPNOTSUPP);
            // larger than the data: the tail is zeroed
            checkHwInfo(deviceId, exact, infoSize + 8);
            // smaller than the data: what fits is filled
            checkHwInfo(deviceId, exact, 4);
            // no PASID support on the plain mock device; 20 bits on the PASID-capable one
            Rc rc = c.getHwInfo(deviceId, 0, 0, 0).ok();
            assertThat(rc.get("out_max_pasid_log2")).isZero();
            if (variant.pasidCapable) {
                assertThat(c.getHwInfo(devicePasidId, 0, 0, 0).ok().get("out_max_pasid_log2")).isEqualTo(20L);
            }
        } else {
            c.getHwInfo(deviceId, 0, exact, infoSize).fails(ENOENT);
            c.getHwInfo(deviceId, 0, exact, infoSize + 8).fails(ENOENT);
        }
    }

    /** _test_cmd_get_hw_info's checks, on a user buffer pre-filled with garbage. */
    private Rc checkHwInfo(int devId, long data, int dataLen) {
        final int infoSize = 8;
        if (data != 0) {
            c.fill(data, PAGE_SIZE, 0xa5);
        }
        Rc rc = c.getHwInfo(devId, 0, data, dataLen).ok();
        assertThat(rc.u32("out_data_type")).isEqualTo(IOMMU_HW_INFO_TYPE_SELFTEST);
        assertThat(rc.u32("data_len")).as("data_len is the kernel's size").isEqualTo(infoSize);
        if (data != 0) {
            byte[] got = c.read(data, dataLen + 16);
            if (dataLen > infoSize) {
                for (int i = infoSize; i < dataLen; i++) {
                    assertThat(got[i]).as("trailing byte %d zeroed", i).isZero();
                }
            }
            if (dataLen >= 8) {
                assertThat(c.process().readInt(data + 4)).isEqualTo(IOMMU_HW_INFO_SELFTEST_REGVAL);
            }
            if (dataLen >= 4) {
                assertThat(c.process().readInt(data)).isZero();
            }
            for (int i = dataLen; i < dataLen + 16; i++) {
                assertThat(got[i] & 0xff).as("byte %d past data_len untouched", i).isEqualTo(0xa5);
            }
        }
        return rc;
    }

    @ForEachVariant
    void area(Variant v) {
        setUp(v);
        // unmap of nothing
        for (int i = 0; i != 10; i++) {
            c.unmap(i * PAGE_SIZE, PAGE_SIZE).fails(ENOENT);
        }

        // unmap works
        for (int i = 0; i != 10; i++) {
            c.mapFixed(buffer, PAGE_SIZE, baseIova + i * PAGE_SIZE).ok();
        }
        for (int i = 0; i != 10; i++) {
            c.unmap(baseIova + i * PAGE_SIZE, PAGE_SIZE).ok();
        }

        // areas are never split
        c.mapFixed(buffer, PAGE_SIZE * 2, baseIova + 16 * PAGE_SIZE).ok();
        c.unmap(baseIova + 16 * PAGE_SIZE, PAGE_SIZE).fails(ENOENT);
        c.unmap(baseIova + 17 * PAGE_SIZE, PAGE_SIZE).fails(ENOENT);

        // mapping over an area fails
        c.mapFixed(buffer, PAGE_SIZE * 2, baseIova + 16 * PAGE_SIZE).fails(EEXIST);
        c.mapFixed(buffer, PAGE_SIZE, baseIova + 16 * PAGE_SIZE).fails(EEXIST);
        c.mapFixed(buffer, PAGE_SIZE, baseIova + 17 * PAGE_SIZE).fails(EEXIST);
        c.mapFixed(buffer, PAGE_SIZE * 2, baseIova + 15 * PAGE_SIZE).fails(EEXIST);
        c.mapFixed(buffer, PAGE_SIZE * 3, baseIova + 15 * PAGE_SIZE).fails(EEXIST);

        // unmap all
        c.unmap(0, -1L).ok();
        // unmap all of nothing
        c.unmap(0, -1L).ok();
    }

    @ForEachVariant
    void unmap_fully_contained_areas(Variant v) {
        setUp(v);
        // room below base for the no_domain variant
        long base = baseIova + 4 * PAGE_SIZE;

        for (int i = 0; i != 4; i++) {
            c.mapFixed(buffer, 8 * PAGE_SIZE, base + i * 16 * PAGE_SIZE).ok();
        }

        // ranges cutting an area
        c.unmap(base - 4 * PAGE_SIZE, 8 * PAGE_SIZE).fails(ENOENT);
        c.unmap(base + 3 * 16 * PAGE_SIZE + 8 * PAGE_SIZE - 4 * PAGE_SIZE, 8 * PAGE_SIZE).fails(ENOENT);

        // a range holding all four areas and the holes between them
        Rc rc = c.unmap(base - 4 * PAGE_SIZE, 3 * 16 * PAGE_SIZE + 8 * PAGE_SIZE + 4 * PAGE_SIZE).ok();
        assertThat(rc.u64("length")).isEqualTo(32 * PAGE_SIZE);
    }

    private static long lowestBit(long length) {
        return 1L << Long.numberOfTrailingZeros(length);
    }

    @ForEachVariant
    void area_auto_iova(Variant v) {
        setUp(v);
        long[] iovas = new long[10];

        // simple 4k pages
        for (int i = 0; i != 10; i++) {
            iovas[i] = c.mapOk(buffer, PAGE_SIZE);
        }
        for (int i = 0; i != 10; i++) {
            c.unmap(iovas[i], PAGE_SIZE).ok();
        }

        // IOVAs are aligned to the length
        for (int i = 0; i != 10; i++) {
            long length = PAGE_SIZE * (i + 1);
            if (stdevId != 0) {
                iovas[i] = c.mapOk(buffer, length);
            } else {
                // without a domain nothing is pinned: any VA will do
                iovas[i] = c.mapOk(1L << 31, length);
            }
            assertThat(iovas[i] % lowestBit(length)).as("iova 0x%x for length 0x%x", iovas[i], length).isZero();
        }
        for (int i = 0; i != 10; i++) {
            c.unmap(iovas[i], PAGE_SIZE * (i + 1)).ok();
        }

        // a reserved region is avoided
        long resStart = PAGE_SIZE * 4;
        long resLength = PAGE_SIZE * 100;
        c.addReserved(ioasId, resStart, resLength).ok();
        for (int i = 0; i != 10; i++) {
            long length = PAGE_SIZE * (i + 1);
            iovas[i] = c.mapOk(buffer, length);
            assertThat(iovas[i] % lowestBit(length)).isZero();
            assertThat(iovas[i] > resStart && iovas[i] < resStart + resLength)
                    .as("iova 0x%x inside the reserved region", iovas[i]).isFalse();
        }
        for (int i = 0; i != 10; i++) {
            c.unmap(iovas[i], PAGE_SIZE * (i + 1)).ok();
        }

        // an allowed range may not cover a reserved one
        c.allowIovas(ioasId, PAGE_SIZE, PAGE_SIZE * 600).fails(EADDRINUSE);

        // allocation from the allowed range
        long start;
        long last;
        if (stdevId != 0) {
            start = MOCK_APERTURE_START + PAGE_SIZE;
            last = MOCK_APERTURE_START + PAGE_SIZE * 600 - 1;
        } else {
            start = PAGE_SIZE * 200;
            last = PAGE_SIZE * 600 - 1;
        }
        c.allowIovas(ioasId, start, last).ok();
        for (int i = 0; i != 10; i++) {
            long length = PAGE_SIZE * (i + 1);
            iovas[i] = c.mapOk(buffer, length);
            assertThat(iovas[i] % lowestBit(length)).isZero();
            assertThat(iovas[i]).isGreaterThanOrEqualTo(start).isLessThanOrEqualTo(last);
            assertThat(iovas[i] + length).isGreaterThan(start).isLessThanOrEqualTo(last + 1);
        }
        for (int i = 0; i != 10; i++) {
            c.unmap(iovas[i], PAGE_SIZE * (i + 1)).ok();
        }
    }

    @ForEachVariant
    void area_allowed(Variant v) {
        setUp(v);
        // a reservation may not cut an allowed range
        long start = baseIova;
        long last = start + PAGE_SIZE * 600;
        c.allowIovas(ioasId, start, last).ok();
        c.addReserved(ioasId, start + PAGE_SIZE, PAGE_SIZE).fails(EADDRINUSE);
        c.allowIovas(ioasId).ok();

        // an allowed range may not cover a reservation
        c.addReserved(ioasId, start + PAGE_SIZE, PAGE_SIZE).ok();
        c.allowIovas(ioasId, start, last).fails(EADDRINUSE);
    }

    @ForEachVariant
    void copy_area(Variant v) {
        setUp(v);
        int flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE;
        c.mapFixed(buffer, PAGE_SIZE, baseIova).ok();

        // within one IOAS
        c.copy(flags, ioasId, baseIova + PAGE_SIZE, ioasId, baseIova, PAGE_SIZE).ok();

        // between IOASes
        int dst = c.ioasAlloc();
        c.copy(flags, dst, 0, ioasId, baseIova, PAGE_SIZE).ok();
    }

    @ForEachVariant
    void iova_ranges(Variant v) {
        setUp(v);
        // the array lives in the test buffer
        long ranges = buffer;
        int capacity = (int) (BUFFER_SIZE / 16);

        // one range
        Rc rc = c.iovaRanges(ioasId, capacity, ranges).ok();
        assertThat(rc.u32("num_iovas")).isEqualTo(1);
        if (stdevId == 0) {
            assertThat(rangeStart(0)).isZero();
            assertThat(rangeLast(0)).isEqualTo(-1L);
            assertThat(rc.u64("out_iova_alignment")).isEqualTo(1);
        } else {
            assertThat(rangeStart(0)).isEqualTo(MOCK_APERTURE_START);
            assertThat(rangeLast(0)).isEqualTo(MOCK_APERTURE_LAST);
            assertThat(rc.u64("out_iova_alignment")).isEqualTo(MOCK_PAGE_SIZE);
        }

        // array too small: the count comes back, nothing is written
        c.fill(buffer, BUFFER_SIZE, 0);
        rc = c.iovaRanges(ioasId, 0, ranges).fails(EMSGSIZE);
        assertThat(rc.u32("num_iovas")).isEqualTo(1);
        assertThat(rangeStart(0)).isZero();
        assertThat(rangeLast(0)).isZero();

        // two ranges around a reservation
        c.addReserved(ioasId, PAGE_SIZE, PAGE_SIZE).ok();
        rc = c.iovaRanges(ioasId, capacity, ranges).ok();
        if (stdevId == 0) {
            assertThat(rc.u32("num_iovas")).isEqualTo(2);
            assertThat(rangeStart(0)).isZero();
            assertThat(rangeLast(0)).isEqualTo(PAGE_SIZE - 1);
            assertThat(rangeStart(1)).isEqualTo(PAGE_SIZE * 2);
            assertThat(rangeLast(1)).isEqualTo(-1L);
        } else {
            assertThat(rc.u32("num_iovas")).isEqualTo(1);
            assertThat(rangeStart(0)).isEqualTo(MOCK_APERTURE_START);
            assertThat(rangeLast(0)).isEqualTo(MOCK_APERTURE_LAST);
        }

        // room for one: what fits is written
        c.fill(buffer, BUFFER_SIZE, 0);
        if (stdevId == 0) {
            rc = c.iovaRanges(ioasId, 1, ranges).fails(EMSGSIZE);
            assertThat(rc.u32("num_iovas")).isEqualTo(2);
            assertThat(rangeStart(0)).isZero();
            assertThat(rangeLast(0)).isEqualTo(PAGE_SIZE - 1);
        } else {
            rc = c.iovaRanges(ioasId, 1, ranges).ok();
            assertThat(rc.u32("num_iovas")).isEqualTo(1);
            assertThat(rangeStart(0)).isEqualTo(MOCK_APERTURE_START);
            assertThat(rangeLast(0)).isEqualTo(MOCK_APERTURE_LAST);
        }
        assertThat(rangeStart(1)).isZero();
        assertThat(rangeLast(1)).isZero();
    }

    private long rangeStart(int i) {
        return c.process().readLong(buffer + i * 16L);
    }

    private long rangeLast(int i) {
        return c.process().readLong(buffer + i * 16L + 8);
    }

    /**
     * access_domain_destory (sic). The selftest maps 2 huge pages with MAP_HUGETLB|MAP_POPULATE; here
     * the region is a populated, 2 MiB aligned MAP_SHARED anonymous mapping of the same size.
     */
    @ForEachVariant
    void access_domain_destory(Variant v) {
        setUp(v);
        long bufSize = 2 * HUGEPAGE_SIZE;
        long buf = c.mmap(bufSize, true);
        assertThat(buf % HUGEPAGE_SIZE).isZero();
        c.fill(buf, bufSize, 0);
        c.mapFixed(buf, bufSize, baseIova).ok();

        int access = c.createAccess(ioasId, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
        int pagesId = c.accessPages(access, baseIova + PAGE_SIZE, PAGE_SIZE, buf + PAGE_SIZE, 0).ok()
                .u32("access_pages.out_access_pages_id");

        // unpinning across a huge page boundary
        if (stdevId != 0) {
            c.destroy(stdevId).ok();
        }

        c.destroyAccessPages(access, pagesId).ok();
        assertThat(c.destroyAccess(access)).isZero();
        c.munmap(buf, bufSize);
    }

    @ForEachVariant
    void access_pin(Variant v) {
        setUp(v);
        int access = c.createAccess(ioasId, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);

        for (int npages = 1; npages < BUFFER_SIZE / PAGE_SIZE; npages++) {
            long length = npages * PAGE_SIZE;

            // single map/unmap
            c.mapFixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START).ok();
            int id = c.accessPages(access, MOCK_APERTURE_START, length, buffer, 0).ok()
                    .u32("access_pages.out_access_pages_id");
            c.destroyAccessPages(access, id).ok();

            // two users of the same pages
            int first = c.accessPages(access, MOCK_APERTURE_START, length, buffer, 0).ok()
                    .u32("access_pages.out_access_pages_id");
            int second = c.accessPages(access, MOCK_APERTURE_START, length, buffer, 0).ok()
                    .u32("access_pages.out_access_pages_id");
            c.destroyAccessPages(access, second).ok();
            c.destroyAccessPages(access, first).ok();

            // a domain comes and goes while the pages are pinned by the access
            id = c.accessPages(access, MOCK_APERTURE_START, length, buffer, 0).ok()
                    .u32("access_pages.out_access_pages_id");
            MockDomain md = c.mockDomain(ioasId);
            c.checkMap(md.hwptId(), MOCK_APERTURE_START, BUFFER_SIZE, buffer).ok();
            c.destroy(md.stdevId()).ok();
            c.destroyAccessPages(access, id).ok();

            c.unmap(MOCK_APERTURE_START, BUFFER_SIZE).ok();
        }
        assertThat(c.destroyAccess(access)).isZero();
    }

    @ForEachVariant
    void access_pin_unmap(Variant v) {
        setUp(v);
        int access = c.createAccess(ioasId, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
        c.mapFixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START).ok();
        int id = c.accessPages(access, MOCK_APERTURE_START, BUFFER_SIZE, buffer, 0).ok()
                .u32("access_pages.out_access_pages_id");

        // the unmap calls the access's unmap op, which drops the item
        c.unmap(MOCK_APERTURE_START, BUFFER_SIZE).ok();

        c.destroyAccessPages(access, id).fails(ENOENT);
    }

    /**
     * check_access_rw: random buffer contents; every (iova, length) with iova within 50 bytes of
     * the first page boundary and length 1..63 is read through the access and compared, then
     * random bytes are written through the access and compared; finally the whole buffer in one
     * multi-page read.
     */
    static void checkAccessRw(IommufdTestClient c, int access, long iova, int defFlags) {
        Random rnd = new Random(0x5eed ^ iova ^ defFlags);
        long buffer = c.buffer();
        byte[] contents = new byte[(int) BUFFER_SIZE];
        rnd.nextBytes(contents);
        c.write(buffer, contents);

        final int tmpSize = 64; // uint16_t tmp[32]
        long tmp = c.mmap(PAGE_SIZE, false);
        byte[] fromTmp = new byte[tmpSize];
        byte[] fromBuf = new byte[tmpSize];
        byte[] random = new byte[tmpSize];
        for (long at = iova + PAGE_SIZE - 50; at < iova + PAGE_SIZE + 50; at++) {
            for (int length = 1; length < tmpSize; length++) {
                c.accessRw(access, at, length, tmp, defFlags).ok();
                c.process().read(tmp, fromTmp, 0, length);
                c.process().read(buffer + (at - iova), fromBuf, 0, length);
                assertThat(Arrays.equals(fromTmp, 0, length, fromBuf, 0, length))
                        .as("read of %d bytes at iova 0x%x", length, at).isTrue();

                rnd.nextBytes(random);
                c.write(tmp, random);
                c.accessRw(access, at, length, tmp, defFlags | MOCK_ACCESS_RW_WRITE).ok();
                c.process().read(buffer + (at - iova), fromBuf, 0, length);
                assertThat(Arrays.equals(random, 0, length, fromBuf, 0, length))
                        .as("write of %d bytes at iova 0x%x", length, at).isTrue();
            }
        }

        // multi-page
        long tmp2 = c.mmap(BUFFER_SIZE, false);
        c.accessRw(access, iova, BUFFER_SIZE, tmp2, defFlags).ok();
        assertThat(c.read(tmp2, (int) BUFFER_SIZE)).isEqualTo(c.read(buffer, (int) BUFFER_SIZE));
        c.munmap(tmp2, BUFFER_SIZE);
        c.munmap(tmp, PAGE_SIZE);
    }

    @ForEachVariant
    void access_rw(Variant v) {
        setUp(v);
        int access = c.createAccess(ioasId, 0);
        long iova = c.mapOk(buffer, BUFFER_SIZE);
        checkAccessRw(c, access, iova, 0);
        checkAccessRw(c, access, iova, MOCK_ACCESS_RW_SLOW_PATH);
        c.unmap(iova, BUFFER_SIZE).ok();
        assertThat(c.destroyAccess(access)).isZero();
    }

    @ForEachVariant
    void access_rw_unaligned(Variant v) {
        setUp(v);
        int access = c.createAccess(ioasId, 0);
        // the IOVA is not page aligned
        long iova = baseIova + MOCK_PAGE_SIZE;
        c.mapFixed(buffer, BUFFER_SIZE, iova).ok();
        checkAccessRw(c, access, iova, 0);
        c.unmap(iova, BUFFER_SIZE).ok();
        assertThat(c.destroyAccess(access)).isZero();
    }

    @ForEachVariant
    void fork_gone(Variant v) {
        setUp(v);
        int access = c.createAccess(ioasId, 0);

        // the mapping belongs to another mm, which then goes away
        IommufdTestClient child = c.forkChild();
        child.mapFixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START).ok();
        child.process().exit();

        if (stdevId != 0) {
            // a domain already pinned everything in the child: copy from one domain to another
            c.mockDomain(ioasId);
            checkAccessRw(c, access, MOCK_APERTURE_START, 0);
        } else {
            // the pages must be pinned now, from an mm that is gone
            c.mockDomainRc(ioasId).fails(EFAULT);
        }

        assertThat(c.destroyAccess(access)).isZero();
    }

    @ForEachVariant
    void fork_present(Variant v) {
        setUp(v);
        int access = c.createAccess(ioasId, 0);

        // the mapping belongs to a child that is still alive
        IommufdTestClient child = c.forkChild();
        child.mapFixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START).ok();

        // pages are read from the other process
        c.mockDomain(ioasId);
        checkAccessRw(c, access, MOCK_APERTURE_START, 0);

        child.process().exit();
        assertThat(c.destroyAccess(access)).isZero();
    }

    @ForEachVariant
    void ioas_option_huge_pages(Variant v) {
        setUp(v);
        Rc rc = c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioasId, 3).ok();
        assertThat(rc.u64("val64")).isEqualTo(1);

        c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioasId, 0).ok();

        rc = c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioasId, 3).ok();
        assertThat(rc.u64("val64")).isZero();

        c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioasId, 2).fails(EINVAL);

        c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioasId, 1).ok();
    }

    @ForEachVariant
    void ioas_iova_alloc(Variant v) {
        setUp(v);
        for (long length = 1; length != PAGE_SIZE * 2; length++) {
            if (variant.mockDomains != 0 && length % MOCK_PAGE_SIZE != 0) {
                c.map(buffer, length).fails(EINVAL);
            } else {
                long iova = c.mapOk(buffer, length);
                c.unmap(iova, length).ok();
            }
        }
    }

    @ForEachVariant
    void ioas_align_change(Variant v) {
        setUp(v);
        // with a domain and a map present the alignment cannot be raised this way
        if (variant.mockDomains != 0) {
            return;
        }

        // raising to PAGE_SIZE alignment works when everything is aligned
        c.mapFixed(buffer, PAGE_SIZE, MOCK_APERTURE_START).ok();
        c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioasId, 0).ok();

        // a misaligned map is refused
        c.mapFixed(buffer + MOCK_PAGE_SIZE, PAGE_SIZE, MOCK_APERTURE_START + PAGE_SIZE).fails(EINVAL);
        c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioasId, 0).ok();

        // lower the alignment again
        c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioasId, 1).ok();

        // a misaligned area prevents raising it
        c.mapFixed(buffer + MOCK_PAGE_SIZE, PAGE_SIZE, MOCK_APERTURE_START + PAGE_SIZE).ok();
        c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioasId, 0).fails(EADDRINUSE);

        c.unmap(MOCK_APERTURE_START + PAGE_SIZE, PAGE_SIZE).ok();
        c.unmap(MOCK_APERTURE_START, PAGE_SIZE).ok();
    }

    @ForEachVariant
    void copy_sweep(Variant v) {
        setUp(v);
        int flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE;
        int dst = c.ioasAlloc();
        long lastIova = variant.mockDomains != 0 ? MOCK_APERTURE_START + BUFFER_SIZE - 1
                : MOCK_APERTURE_START + BUFFER_SIZE - 2;

        c.mapFixed(buffer, lastIova - MOCK_APERTURE_START + 1, MOCK_APERTURE_START).ok();

        for (long iova = MOCK_APERTURE_START - PAGE_SIZE; iova <= lastIova; iova += 511) {
            if (iova < MOCK_APERTURE_START || iova + MOCK_PAGE_SIZE - 1 > lastIova) {
                c.copy(flags, dst, MOCK_APERTURE_START, ioasId, iova, MOCK_PAGE_SIZE).fails(ENOENT);
            } else {
                Rc rc = c.copy(flags, dst, MOCK_APERTURE_START, ioasId, iova, MOCK_PAGE_SIZE).ok();
                c.unmap(dst, rc.u64("dst_iova"), MOCK_PAGE_SIZE).ok();
            }
        }

        c.destroy(dst).ok();
    }
}
