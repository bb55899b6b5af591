package io.uiommu.hw.mock;

import io.uiommu.iommu.IommuDevice;

/**
 * A device on the selftest's mock bus ("iommufd_mockN") or a platform device behind a mock unit,
 * with the selftest's device flags.
 *
 * <p>Locking: the flags are immutable; the device cache and the vIOMMU binding are guarded by this
 * object's monitor (set under the context lock, read by test ops).
 */
public final class MockDevice extends IommuDevice {
    public static final int MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0;
    public static final int MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1;
    /** From upstream 6.15's test header: the device has PASIDs of {@link #MOCK_PASID_WIDTH} bits. */
    public static final int MOCK_FLAGS_DEVICE_PASID = 1 << 2;
    public static final int MOCK_PASID_WIDTH = 20;

    /** MOCK_DEV_CACHE_NUM and IOMMU_TEST_DEV_CACHE_DEFAULT: the device cache a mock vIOMMU invalidates. */
    public static final int DEV_CACHE_NUM = 4;
    public static final int DEV_CACHE_DEFAULT = 0xbaddad;

    private final int flags;
    private final int[] cache = new int[DEV_CACHE_NUM];
    /** The mock vIOMMU of the nested domain the device is attached to, and its vDEVICE id there. */
    private MockViommu viommu;
    private long vdevId;

    MockDevice(int id, int flags, MockIommuDriver driver) {
        this("iommufd_mock" + id, flags, driver);
    }

    /** A platform device behind a mock unit, named as the platform names it. */
    MockDevice(String name, int flags, MockIommuDriver driver) {
        super(name, driver);
        this.flags = flags;
        java.util.Arrays.fill(cache, DEV_CACHE_DEFAULT);
        if ((flags & MOCK_FLAGS_DEVICE_PASID) != 0) {
            setMaxPasids(1 << MOCK_PASID_WIDTH);
        }
    }

    public int flags() {
        return flags;
    }

    /** One word of the device cache (IOMMU_TEST_OP_DEV_CHECK_CACHE). */
    public synchronized int cache(int id) {
        return cache[id];
    }

    synchronized void invalidateCache(boolean all, int id) {
        if (all) {
            java.util.Arrays.fill(cache, 0);
        } else {
            cache[id] = 0;
        }
    }

    synchronized void setViommu(MockViommu viommu, long vdevId) {
        this.viommu = viommu;
        this.vdevId = vdevId;
    }

    /**
     * iommufd_test_trigger_vevent: reports struct iommu_viommu_event_selftest {virt_id} to the
     * mock vIOMMU of the nested domain the device is attached to. ENOENT without one or with
     * vDEVICE id 0 (the mock's "none"), EOPNOTSUPP when the vIOMMU has no selftest vEVENTQ.
     */
    public void triggerVevent() {
        MockViommu v;
        long id;
        synchronized (this) {
            v = viommu;
            id = vdevId;
        }
        if (v == null || id == 0) {
            throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.ENOENT, "no vIOMMU or vDEVICE id");
        }
        byte[] event = new byte[4];
        for (int i = 0; i < 4; i++) {
            event[i] = (byte) (id >>> (8 * i));
        }
        int rc = v.core().reportEvent(MockViommu.IOMMU_VEVENTQ_TYPE_SELFTEST, event);
        if (rc < 0) {
            throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.of(-rc), "vEVENT not reported");
        }
    }

    boolean noDirty() {
        return (flags & MOCK_FLAGS_DEVICE_NO_DIRTY) != 0;
    }

    boolean hugeIova() {
        return (flags & MOCK_FLAGS_DEVICE_HUGE_IOVA) != 0;
    }
}
