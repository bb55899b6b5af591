package io.uiommu.hw.mock;

import io.uiommu.iommu.HwQueueHandle;
import io.uiommu.iommu.HwQueueOps;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.UserData;
import io.uiommu.iommu.UserDataArray;
import io.uiommu.iommu.ViommuCore;
import io.uiommu.iommu.ViommuOps;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;

/**
 * The selftest's mock vIOMMU (struct mock_viommu, IOMMU_VIOMMU_TYPE_SELFTEST): nested domains from
 * iommu_hwpt_selftest data, invalidation of its devices' four-word caches by vDEVICE id, selftest
 * vEVENTs raised by IOMMU_TEST_OP_TRIGGER_VEVENT, HW queues of IOMMU_HW_QUEUE_TYPE_SELFTEST, and —
 * when allocated with struct iommu_viommu_selftest — two pages exposed through mmap of the iommufd
 * fd, the first word holding {@code in_data}, for loopback tests.
 *
 * <p>HW queues follow upstream's mock rules: index below IOMMU_TEST_HW_QUEUE_MAX (EINVAL), each
 * index once (EEXIST), allocated in ascending order (index n needs n - 1: EIO), the queue's
 * physical address must be what the nesting parent translates its IOVA to (EFAULT), and queue n
 * depends on n - 1, so they are destroyed in descending order (DESTROY of n - 1 is EBUSY).
 *
 * <p>Locking: called under the iommufd context lock.
 */
final class MockViommu implements ViommuOps {
    static final int IOMMU_VIOMMU_TYPE_SELFTEST = 0xdeadbeef;
    static final int IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
    static final int IOMMU_VEVENTQ_TYPE_SELFTEST = 0xbeefbeef;
    static final int IOMMU_HW_QUEUE_TYPE_SELFTEST = 0xdeadbeef;
    static final int IOMMU_TEST_HW_QUEUE_MAX = 2;
    /** sizeof(struct iommu_viommu_selftest) and offsetofend(out_data). */
    static final int DATA_BYTES = 24;
    static final int DATA_MIN_BYTES = 8;
    static final int MMAP_PAGES = 2;

    private final MockIommuDriver driver;
    private final MockPagingDomain s2Parent;
    private final ViommuCore core;
    private final HwQueueHandle[] hwQueues = new HwQueueHandle[IOMMU_TEST_HW_QUEUE_MAX];
    private long pagePfn = -1;
    private long mmapOffset;

    private MockViommu(MockIommuDriver driver, MockPagingDomain s2Parent, ViommuCore core) {
        this.driver = driver;
        this.s2Parent = s2Parent;
        this.core = core;
    }

    /** mock_viommu_init: with driver data, the loopback word and the mmap region. */
    static MockViommu init(MockIommuDriver driver, IommuDomain parent, UserData data, ViommuCore core) {
        if (!(parent instanceof MockPagingDomain s2)) {
            throw new IommufdException(Errno.EINVAL, "parent is not a mock paging domain");
        }
        MockViommu v = new MockViommu(driver, s2, core);
        if (data == null) {
            return v;
        }
        byte[] d = data.copyStruct(IOMMU_VIOMMU_TYPE_SELFTEST, DATA_MIN_BYTES, DATA_BYTES);
        PhysicalMemory memory = driver.memory();
        if (memory == null) {
            throw new IommufdException(Errno.ENOMEM, "the mock has no memory for its page");
        }
        v.pagePfn = memory.allocateContiguous(MMAP_PAGES);
        try {
            long pa = v.pagePfn << PhysicalMemory.PAGE_SHIFT;
            v.mmapOffset = core.allocMmap(pa, MMAP_PAGES * (long) PhysicalMemory.PAGE_SIZE);
            System.arraycopy(d, 0, d, 4, 4); // out_data = in_data
            putLe64(d, 8, v.mmapOffset);
            putLe64(d, 16, MMAP_PAGES * (long) PhysicalMemory.PAGE_SIZE);
            memory.write(pa, d, 0, 4); // the page's first word: in_data
            data.writeStruct(IOMMU_VIOMMU_TYPE_SELFTEST, DATA_MIN_BYTES, d);
        } catch (RuntimeException e) {
            v.destroy();
            throw e;
        }
        return v;
    }

    ViommuCore core() {
        return core;
    }

    /** Physical address of the mmap-able pages, or -1 without driver data. */
    long pageAddress() {
        return pagePfn < 0 ? -1 : pagePfn << PhysicalMemory.PAGE_SHIFT;
    }

    /** mock_viommu_alloc_domain_nested: flags other than FAULT_ID_VALID (stripped already) are EOPNOTSUPP. */
    @Override
    public IommuDomain allocDomainNested(int flags, UserData data) {
        if (flags != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unsupported nested flags");
        }
        byte[] cfg = data.copyStruct(MockIommuDriver.IOMMU_HWPT_DATA_SELFTEST, 4, 4);
        return new MockNestedDomain(driver, s2Parent, le32(cfg, 0), this);
    }

    /**
     * mock_viommu_cache_invalidate: entries {flags, vdev_id, cache_id} clear one word (or all, with
     * IOMMU_TEST_INVALIDATE_FLAG_ALL) of the cache of the device with that vDEVICE id. EINVAL for
     * another type, a cache id past 3 or an unknown vdev_id; EOPNOTSUPP for unknown flags.
     */
    @Override
    public void cacheInvalidate(UserDataArray array) {
        int i = 0;
        try {
            if (array.type() != IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST) {
                throw new IommufdException(Errno.EINVAL, "unexpected invalidation type");
            }
            for (; i < array.entryCount(); i++) {
                byte[] e = array.copyEntry(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, i, 12, 12);
                int flags = le32(e, 0);
                int vdevId = le32(e, 4);
                int cacheId = le32(e, 8);
                if ((flags & ~MockNestedDomain.IOMMU_TEST_INVALIDATE_FLAG_ALL) != 0) {
                    throw new IommufdException(Errno.EOPNOTSUPP, "unknown invalidation flags");
                }
                if (Integer.compareUnsigned(cacheId, MockDevice.DEV_CACHE_NUM - 1) > 0) {
                    throw new IommufdException(Errno.EINVAL, "cache id out of range");
                }
                IommuDevice dev = core.find(Integer.toUnsignedLong(vdevId));
                if (!(dev instanceof MockDevice mdev)) {
                    throw new IommufdException(Errno.EINVAL, "no vDEVICE 0x" + Integer.toHexString(vdevId));
                }
                mdev.invalidateCache((flags & MockNestedDomain.IOMMU_TEST_INVALIDATE_FLAG_ALL) != 0, cacheId);
            }
        } finally {
            array.setHandled(i);
        }
    }

    @Override
    public boolean hwQueueSupported(int queueType) {
        return queueType == IOMMU_HW_QUEUE_TYPE_SELFTEST;
    }

    @Override
    public HwQueueOps hwQueueInitPhys(HwQueueHandle queue, int index, long basePhysAddr) {
        if (Integer.compareUnsigned(index, IOMMU_TEST_HW_QUEUE_MAX) >= 0) {
            throw new IommufdException(Errno.EINVAL, "HW queue index " + Integer.toUnsignedString(index));
        }
        if (hwQueues[index] != null) {
            throw new IommufdException(Errno.EEXIST, "HW queue " + index + " exists");
        }
        HwQueueHandle prev = null;
        if (index > 0) {
            prev = hwQueues[index - 1];
            if (prev == null) {
                throw new IommufdException(Errno.EIO, "HW queue " + (index - 1) + " must come first");
            }
        }
        // catches a core that converted the address wrongly
        if (basePhysAddr != s2Parent.iovaToPhys(queue.baseAddr())) {
            throw new IommufdException(Errno.EFAULT, "base address is not what the parent translates to");
        }
        if (prev != null) {
            queue.depend(prev);
        }
        hwQueues[index] = queue;
        HwQueueHandle dependsOn = prev;
        return new HwQueueOps() {
            @Override
            public void destroy() {
                hwQueues[index] = null;
                if (dependsOn != null) {
                    queue.undepend(dependsOn);
                }
            }
        };
    }

    /** mock_viommu_destroy: the mmap region and the pages go. */
    @Override
    public void destroy() {
        if (mmapOffset != 0) {
            core.destroyMmap(mmapOffset);
            mmapOffset = 0;
        }
        if (pagePfn >= 0) {
            for (int i = 0; i < MMAP_PAGES; i++) {
                driver.memory().put(pagePfn + i);
            }
            pagePfn = -1;
        }
    }

    static int le32(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    private static void putLe64(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }
}
