package io.uiommu.iommufd;

import io.uiommu.hw.mock.MockDevice;

/**
 * The selftest's device object (IOMMUFD_OBJ_SELFTEST, "stdev"): a mock device created, bound and
 * attached by IOMMU_TEST_OP_MOCK_DOMAIN. Destroying it detaches, unbinds and removes the device.
 */
public final class SelftestDevice extends IommufdObject {
    private final IommufdContext ctx;
    private final MockDevice mockDevice;
    private final Device idev;

    SelftestDevice(IommufdContext ctx, MockDevice mockDevice, Device idev) {
        super(ObjectType.SELFTEST);
        this.ctx = ctx;
        this.mockDevice = mockDevice;
        this.idev = idev;
    }

    /**
     * iommufd_test_mock_domain: reserves the stdev ID first, then creates, binds and attaches the
     * device; returns {stdevId, hwptId, idevId}. Failure unwinds everything.
     */
    public static int[] create(IommufdContext ctx, int ptId, int devFlags) {
        ObjectTable table = ctx.objects();
        int id = table.reserve();
        MockDevice mdev = null;
        Device idev = null;
        try {
            mdev = ctx.iommu().mock().createDevice(devFlags);
            idev = Device.bind(ctx, mdev);
            int hwptId = idev.attach(ptId);
            table.finalize(id, new SelftestDevice(ctx, mdev, idev));
            return new int[] {id, hwptId, idev.id()};
        } catch (RuntimeException e) {
            table.abort(id);
            if (idev != null) {
                idev.unbind();
            }
            if (mdev != null) {
                ctx.iommu().mock().destroyDevice(mdev);
            }
            throw e;
        }
    }

    public Device device() {
        return idev;
    }

    public MockDevice mockDevice() {
        return mockDevice;
    }

    @Override
    protected void destroy() {
        if (idev.hwpt() != null) {
            idev.detach();
        }
        idev.unbind();
        ctx.iommu().mock().destroyDevice(mockDevice);
    }
}
