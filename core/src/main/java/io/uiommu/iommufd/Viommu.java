package io.uiommu.iommufd;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDriver;
import io.uiommu.iommu.UserData;
import io.uiommu.iommu.ViommuOps;
import io.uiommu.iommu.VirtualDevices;

import java.util.Map;
import java.util.TreeMap;

/**
 * A vIOMMU (struct iommufd_viommu, Linux 6.13): the slice of one physical IOMMU a VM owns, over a
 * nesting-parent HWPT it holds. Nested HWPTs allocated on it hold it, and so do its vDEVICEs, which
 * map the VM's virtual device ids to physical devices for the driver.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public final class Viommu extends IommufdObject implements VirtualDevices {
    public static final int IOMMU_VIOMMU_TYPE_DEFAULT = 0;

    private final HwptPaging hwpt;
    private final int type;
    private final IommuDriver driver;
    private ViommuOps ops;
    final Map<Long, Vdevice> vdevs = new TreeMap<>(Long::compareUnsigned);

    private Viommu(HwptPaging hwpt, int type, IommuDriver driver) {
        super(ObjectType.VIOMMU);
        this.hwpt = hwpt;
        this.type = type;
        this.driver = driver;
        hwpt.get();
    }

    /**
     * iommufd_viommu_alloc_ioctl after the argument checks: EOPNOTSUPP when the device's IOMMU has
     * no vIOMMU of {@code type}, ENOENT without a paging HWPT {@code hwptId}, EINVAL when it is not
     * a nesting parent, and the driver's refusal. The caller owns the object's ID.
     */
    static Viommu allocate(IommufdContext ctx, Device idev, int hwptId, int type, UserData data) {
        IommuDevice dev = idev.iommuDevice();
        if (!dev.driver().viommuSupported(dev, type)) {
            throw new IommufdException(Errno.EOPNOTSUPP, dev.driver().name() + " has no vIOMMU of type " + type);
        }
        HwptPaging hwpt = ctx.objects().get(hwptId, HwptPaging.class);
        if (!hwpt.nestParent()) {
            throw new IommufdException(Errno.EINVAL, "HWPT " + hwptId + " is not a nesting parent");
        }
        Viommu v = new Viommu(hwpt, type, dev.driver());
        try {
            v.ops = dev.driver().viommuInit(dev, type, hwpt.domain(), data, v);
        } catch (RuntimeException e) {
            v.destroy();
            throw e;
        }
        return v;
    }

    /** The nesting parent. */
    public HwptPaging hwpt() {
        return hwpt;
    }

    public int viommuType() {
        return type;
    }

    /** The physical IOMMU instance (its driver object). */
    public IommuDriver driver() {
        return driver;
    }

    public ViommuOps ops() {
        return ops;
    }

    @Override
    public IommuDevice find(long virtId) {
        Vdevice v = vdevs.get(virtId);
        return v == null ? null : v.device().iommuDevice();
    }

    @Override
    public long virtIdOf(IommuDevice dev) {
        for (Vdevice v : vdevs.values()) {
            if (v.device().iommuDevice() == dev) {
                return v.virtId();
            }
        }
        return -1;
    }

    @Override
    protected void destroy() {
        if (ops != null) {
            ops.destroy();
            ops = null;
        }
        hwpt.put();
    }
}
