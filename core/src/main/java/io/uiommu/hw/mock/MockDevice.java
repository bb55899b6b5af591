package io.uiommu.hw.mock;

import io.uiommu.iommu.IommuDevice;

/**
 * A device on the selftest's mock bus ("iommufd_mockN") or a platform device behind a mock unit,
 * with the selftest's device flags.
 *
 * <p>Locking: immutable apart from what {@link IommuDevice} guards.
 */
public final class MockDevice extends IommuDevice {
    public static final int MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0;
    public static final int MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1;
    /** From upstream 6.15's test header: the device has PASIDs of {@link #MOCK_PASID_WIDTH} bits. */
    public static final int MOCK_FLAGS_DEVICE_PASID = 1 << 2;
    public static final int MOCK_PASID_WIDTH = 20;

    private final int flags;

    MockDevice(int id, int flags, MockIommuDriver driver) {
        this("iommufd_mock" + id, flags, driver);
    }

    /** A platform device behind a mock unit, named as the platform names it. */
    MockDevice(String name, int flags, MockIommuDriver driver) {
        super(name, driver);
        this.flags = flags;
        if ((flags & MOCK_FLAGS_DEVICE_PASID) != 0) {
            setMaxPasids(1 << MOCK_PASID_WIDTH);
        }
    }

    public int flags() {
        return flags;
    }

    boolean noDirty() {
        return (flags & MOCK_FLAGS_DEVICE_NO_DIRTY) != 0;
    }

    boolean hugeIova() {
        return (flags & MOCK_FLAGS_DEVICE_HUGE_IOVA) != 0;
    }
}
