package io.uiommu.uapi;

import io.uiommu.testing.IommufdTestClient;
import io.uiommu.testing.MockViommuFixture;
import io.uiommu.testing.Rc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static io.uiommu.iommufd.Errno.EINVAL;
import static io.uiommu.iommufd.Errno.EOPNOTSUPP;
import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_ALLOC_NEST_PARENT;
import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_DATA_SELFTEST;
import static io.uiommu.uapi.UapiConstants.IOMMU_TEST_DEV_CACHE_DEFAULT;
import static io.uiommu.uapi.UapiConstants.IOMMU_TEST_INVALIDATE_FLAG_ALL;
import static io.uiommu.uapi.UapiConstants.IOMMU_TEST_OP_DEV_CHECK_CACHE;
import static io.uiommu.uapi.UapiConstants.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST;
import static io.uiommu.uapi.UapiConstants.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID;
import static org.assertj.core.api.Assertions.assertThat;

/** The mock vIOMMU's own ops: nested allocation and the vDEVICE cache invalidation (vdevice_cache). */
class MockViommuTest {
    final MockViommuFixture f = new MockViommuFixture();

    @AfterEach
    void tearDown() {
        f.close();
    }

    Rc checkCache(int cacheId, int value) {
        return f.c.ioctl(Ioctl.IOMMU_TEST_CMD, IommufdTestClient.testCmd(IOMMU_TEST_OP_DEV_CHECK_CACHE)
                .set("id", f.md.idevId()).set("check_dev_cache.id", cacheId).set("check_dev_cache.cache", value));
    }

    Rc invalidate(int type, int... flagsVdevCache) {
        return f.c.hwptInvalidate(f.viommu, f.c.userCopy(MockViommuFixture.le32(flagsVdevCache)), type, 12,
                flagsVdevCache.length / 3);
    }

    @Test
    void nestedAllocation() {
        byte[] cfg = MockViommuFixture.le32(0x1234);
        f.c.hwptAlloc(f.md.idevId(), f.viommu, 0, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_SELFTEST,
                f.c.userCopy(cfg), 4).fails(EOPNOTSUPP);
        f.c.hwptAlloc(f.md.idevId(), f.viommu, 0, 0, 0xbad, f.c.userCopy(cfg), 4).fails(EINVAL);
        int nested = f.c.hwptAlloc(f.md.idevId(), f.viommu, 0, 0, IOMMU_HWPT_DATA_SELFTEST, f.c.userCopy(cfg), 4)
                .ok().u32("out_hwpt_id");
        f.c.checkIotlb(nested, 0, 0x1234).ok();
        int plain = f.c.hwptAlloc(f.md.idevId(), f.ioas, 0).ok().u32("out_hwpt_id");
        f.viommuAlloc(f.md.idevId(), plain, 0, 0).fails(EINVAL); // not a nesting parent
    }

    @Test
    void vdeviceCacheInvalidation() {
        f.vdeviceAlloc(f.md.idevId(), 0x99).ok();
        for (int i = 0; i < 4; i++) {
            checkCache(i, IOMMU_TEST_DEV_CACHE_DEFAULT).ok();
        }
        checkCache(0, 0).fails(EINVAL);
        checkCache(4, IOMMU_TEST_DEV_CACHE_DEFAULT).fails(EINVAL);
        invalidate(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID, 0, 0x99, 0).fails(EINVAL);
        assertThat(invalidate(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 0, 0x99, 4).fails(EINVAL).u32("entry_num")).isZero();
        invalidate(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 2, 0x99, 0).fails(EOPNOTSUPP);
        invalidate(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 0, 0x98, 0).fails(EINVAL);
        // the second entry fails: the first one is done and counted
        Rc rc = invalidate(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 0, 0x99, 1, 0, 0x99, 9).fails(EINVAL);
        assertThat(rc.u32("entry_num")).isEqualTo(1);
        checkCache(1, 0).ok();
        checkCache(0, IOMMU_TEST_DEV_CACHE_DEFAULT).ok();
        invalidate(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, IOMMU_TEST_INVALIDATE_FLAG_ALL, 0x99, 0).ok();
        for (int i = 0; i < 4; i++) {
            checkCache(i, 0).ok();
        }
    }
}
