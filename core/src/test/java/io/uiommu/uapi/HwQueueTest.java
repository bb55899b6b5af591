package io.uiommu.uapi;

import io.uiommu.testing.Cmd;
import io.uiommu.testing.IommufdTestClient;
import io.uiommu.testing.MockViommuFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static io.uiommu.iommufd.Errno.EBUSY;
import static io.uiommu.iommufd.Errno.EEXIST;
import static io.uiommu.iommufd.Errno.EFAULT;
import static io.uiommu.iommufd.Errno.EINVAL;
import static io.uiommu.iommufd.Errno.EIO;
import static io.uiommu.iommufd.Errno.ENOENT;
import static io.uiommu.iommufd.Errno.EOPNOTSUPP;
import static io.uiommu.iommufd.Errno.EOVERFLOW;
import static io.uiommu.uapi.UapiConstants.IOMMU_HW_QUEUE_TYPE_DEFAULT;
import static io.uiommu.uapi.UapiConstants.IOMMU_HW_QUEUE_TYPE_SELFTEST;
import static io.uiommu.uapi.UapiConstants.IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV;
import static io.uiommu.uapi.UapiConstants.IOMMU_TEST_HW_QUEUE_MAX;
import static io.uiommu.uapi.UapiConstants.MOCK_APERTURE_START;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * IOMMU_HW_QUEUE_ALLOC over the mock vIOMMU as upstream's TEST_F(iommufd_viommu, hw_queue) drives
 * it: the core's checks, the pinned and locked queue memory (IOAS_UNMAP is EBUSY), and the mock's
 * index rules — ascending allocation, descending destruction.
 */
class HwQueueTest {
    static final long PAGE = IommufdTestClient.PAGE_SIZE;
    static final int SELFTEST = IOMMU_HW_QUEUE_TYPE_SELFTEST;

    final MockViommuFixture f = new MockViommuFixture();
    final long iova = MOCK_APERTURE_START;

    @AfterEach
    void tearDown() {
        f.close();
    }

    @Test
    void coreChecksBeforeTheDriver() {
        f.hwQueueAlloc(f.viommu, IOMMU_HW_QUEUE_TYPE_DEFAULT, 0, iova, PAGE).fails(EOPNOTSUPP);
        f.c.ioctl(Ioctl.IOMMU_HW_QUEUE_ALLOC, Cmd.of(IommufdStructs.IOMMU_HW_QUEUE_ALLOC).set("flags", 1)
                .set("viommu_id", f.viommu).set("type", SELFTEST).set("nesting_parent_iova", iova).set("length", PAGE))
                .fails(EOPNOTSUPP);
        f.hwQueueAlloc(f.viommu, SELFTEST, 0, iova, 0).fails(EINVAL);
        f.hwQueueAlloc(f.viommu, SELFTEST, 0, ~0L, PAGE).fails(EOVERFLOW);
        f.hwQueueAlloc(9999, SELFTEST, 0, iova, PAGE).fails(ENOENT);
        f.hwQueueAlloc(f.nested, SELFTEST, 0, iova, PAGE).fails(ENOENT);
        f.hwQueueAlloc(f.viommu, IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 0, iova, PAGE).fails(EOPNOTSUPP);
        f.hwQueueAlloc(f.viommu, SELFTEST, 0, iova, PAGE).fails(ENOENT); // "missing IOVA"
        byte[] short39 = java.util.Arrays.copyOf(Cmd.of(IommufdStructs.IOMMU_HW_QUEUE_ALLOC).bytes(), 39);
        f.c.ioctl(Ioctl.IOMMU_HW_QUEUE_ALLOC.code(), short39, 39).fails(EINVAL);
    }

    @Test
    void upstreamSequence() {
        f.c.mapFixed(f.c.buffer(), PAGE, iova).ok();
        f.hwQueueAlloc(f.viommu, SELFTEST, 1, iova, PAGE).fails(EIO); // "must start from index 0"
        f.hwQueueAlloc(f.viommu, SELFTEST, IOMMU_TEST_HW_QUEUE_MAX, iova, PAGE).fails(EINVAL);
        int q0 = f.hwQueueAlloc(f.viommu, SELFTEST, 0, iova, PAGE).ok().u32("out_hw_queue_id");
        f.hwQueueAlloc(f.viommu, SELFTEST, 0, iova, PAGE).fails(EEXIST);
        f.c.unmap(iova, PAGE).fails(EBUSY); // "the queue owns the IOVA"
        int q1 = f.hwQueueAlloc(f.viommu, SELFTEST, 1, iova, PAGE).ok().u32("out_hw_queue_id");
        f.c.destroy(q0).fails(EBUSY); // "queue 1 depends on it"
        f.c.destroy(f.viommu).fails(EBUSY);
        f.c.destroy(q1).ok();
        f.c.destroy(q0).ok();
        f.c.unmap(iova, PAGE).ok();
    }

    @Test
    void failedAllocationsLeaveNoLockOrPin() {
        f.c.mapFixed(f.c.buffer(), PAGE, iova).ok();
        f.hwQueueAlloc(f.viommu, SELFTEST, 1, iova, PAGE).fails(EIO);
        f.hwQueueAlloc(f.viommu, SELFTEST, 7, iova, PAGE).fails(EINVAL);
        f.c.checkRefs(f.c.buffer(), PAGE, 1).ok(); // the mapping's pin only
        f.c.unmap(iova, PAGE).ok();
    }

    @Test
    void lockCoversTheAreaEvenForALargerUnmap() {
        long va = f.c.buffer();
        f.c.mapFixed(va, PAGE, iova).ok();
        f.c.mapFixed(va + PAGE, PAGE, iova + PAGE).ok();
        int q = f.hwQueueAlloc(f.viommu, SELFTEST, 0, iova + PAGE + 0x100, 0x100).ok().u32("out_hw_queue_id");
        // as in the kernel, the areas before the locked one are gone when the walk stops
        f.c.unmap(iova, 2 * PAGE).fails(EBUSY);
        f.c.unmap(0, ~0L).fails(EBUSY);
        f.c.destroy(q).ok();
        assertThat(f.c.unmap(0, ~0L).ok().u64("length")).isEqualTo(PAGE);
    }

    @Test
    void pagesMustBePhysicallyContiguous() {
        long va = f.c.mmap(2 * PAGE, false);
        // touch the second page first: its frame comes before the first page's
        f.c.write(va + PAGE, new byte[] {1});
        f.c.write(va, new byte[] {1});
        f.c.mapFixed(va, 2 * PAGE, iova).ok();
        f.hwQueueAlloc(f.viommu, SELFTEST, 0, iova, 2 * PAGE).fails(EFAULT);
        f.c.unmap(iova, 2 * PAGE).ok(); // "nothing left locked"
    }

    @Test
    void contextCloseDestroysQueuesInOrder() {
        MockViommuFixture g = new MockViommuFixture();
        g.c.mapFixed(g.c.buffer(), PAGE, iova).ok();
        g.hwQueueAlloc(g.viommu, SELFTEST, 0, iova, PAGE).ok();
        g.hwQueueAlloc(g.viommu, SELFTEST, 1, iova, PAGE).ok();
        g.close(); // teardown checks that no page of the buffer is still pinned
    }
}
