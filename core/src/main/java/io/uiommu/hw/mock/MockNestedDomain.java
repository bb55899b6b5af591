package io.uiommu.hw.mock;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.UserCacheInvalidator;
import io.uiommu.iommu.UserDataArray;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;

/**
 * The mock nested domain: a user-owned stage 1 stands for four IOTLB words, set from the
 * allocation data and cleared by the user's invalidations (iommu_hwpt_invalidate_selftest).
 *
 * <p>Locking: serialized by the caller.
 */
public final class MockNestedDomain extends IommuDomain implements UserCacheInvalidator {
    public static final int IOTLB_NUM = 4;
    public static final int IOMMU_HWPT_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
    public static final int IOMMU_TEST_INVALIDATE_FLAG_ALL = 1;

    private final MockPagingDomain parent;
    private final int[] iotlb = new int[IOTLB_NUM];
    /** The mock vIOMMU it was allocated from, or null for a HWPT-based nested domain. */
    private final MockViommu viommu;

    MockNestedDomain(MockIommuDriver driver, MockPagingDomain parent, int iotlbDefault) {
        this(driver, parent, iotlbDefault, null);
    }

    MockNestedDomain(MockIommuDriver driver, MockPagingDomain parent, int iotlbDefault, MockViommu viommu) {
        super(Type.NESTED, driver);
        this.parent = parent;
        this.viommu = viommu;
        java.util.Arrays.fill(iotlb, iotlbDefault);
    }

    MockViommu viommu() {
        return viommu;
    }

    @Override
    public IommuDomain parent() {
        return parent;
    }

    public int iotlb(int id) {
        return iotlb[id];
    }

    @Override
    public UserCacheInvalidator cacheInvalidator() {
        return this;
    }

    @Override
    public void invalidate(UserDataArray array) {
        int processed = 0;
        try {
            if (array.type() != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) {
                throw new IommufdException(Errno.EINVAL, "unexpected invalidation type");
            }
            for (int i = 0; i < array.entryCount(); i++) {
                byte[] e = array.copyEntry(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, i, 8, 8);
                int flags = le32(e, 0);
                int id = le32(e, 4);
                if ((flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) != 0) {
                    throw new IommufdException(Errno.EOPNOTSUPP, "unknown invalidation flags");
                }
                if (Integer.compareUnsigned(id, IOTLB_NUM - 1) > 0) {
                    throw new IommufdException(Errno.EINVAL, "IOTLB id out of range");
                }
                if ((flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) != 0) {
                    java.util.Arrays.fill(iotlb, 0);
                } else {
                    iotlb[id] = 0;
                }
                processed++;
            }
        } finally {
            array.setHandled(processed);
        }
    }

    private static int le32(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }
}
