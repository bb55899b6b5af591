package io.uiommu.iommufd;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDriver;
import io.uiommu.iommu.UserData;
import io.uiommu.iommu.ViommuCore;
import io.uiommu.iommu.ViommuOps;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A vIOMMU (struct iommufd_viommu, Linux 6.13): the slice of one physical IOMMU a VM owns, over a
 * nesting-parent HWPT it holds. Nested HWPTs allocated on it hold it, and so do its vDEVICEs, which
 * map the VM's virtual device ids to physical devices for the driver. Its vEVENTQs (one per type)
 * carry the driver's events to the VMM, its HW queues give the hardware guest queue memory, and the
 * driver may expose pages of its own through mmap of the iommufd fd.
 *
 * <p>Locking: guarded by the owning context's lock, except the vEVENTQ list, which has its own
 * monitor (the kernel's veventqs_rwsem) because drivers report events from DMA threads.
 */
public final class Viommu extends IommufdObject implements ViommuCore {
    public static final int IOMMU_VIOMMU_TYPE_DEFAULT = 0;

    private final IommufdContext ctx;
    private final HwptPaging hwpt;
    private final int type;
    private final IommuDriver driver;
    private ViommuOps ops;
    final Map<Long, Vdevice> vdevs = new TreeMap<>(Long::compareUnsigned);
    /** The vEVENTQs, at most one per type; guarded by itself. */
    final List<Veventq> veventqs = new ArrayList<>();

    private Viommu(IommufdContext ctx, HwptPaging hwpt, int type, IommuDriver driver) {
        super(ObjectType.VIOMMU);
        this.ctx = ctx;
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
        Viommu v = new Viommu(ctx, hwpt, type, dev.driver());
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

    /** The vEVENTQ of {@code type}, or null; the caller holds the vEVENTQ list's monitor. */
    Veventq findVeventq(int type) {
        for (Veventq q : veventqs) {
            if (q.veventqType() == type) {
                return q;
            }
        }
        return null;
    }

    /** The vEVENTQ of {@code type}, or null. */
    public Veventq veventq(int type) {
        synchronized (veventqs) {
            return findVeventq(type);
        }
    }

    /** iommufd_viommu_report_event: EOPNOTSUPP without a vEVENTQ of the type; a full queue loses the event. */
    @Override
    public int reportEvent(int veventqType, byte[] data) {
        Veventq q;
        synchronized (veventqs) {
            q = findVeventq(veventqType);
            if (q == null) {
                return -Errno.EOPNOTSUPP.value();
            }
            q.report(data);
        }
        q.wakeUp();
        return 0;
    }

    /** iommufd_viommu_alloc_mmap (under the context lock, as viommu_init runs). */
    @Override
    public long allocMmap(long physAddr, long length) {
        return ctx.mmaps().allocate(this, physAddr, length);
    }

    @Override
    public void destroyMmap(long offset) {
        ctx.mmaps().destroy(this, offset);
    }

    @Override
    protected void destroy() {
        if (ops != null) {
            ops.destroy();
            ops = null;
        }
        ctx.mmaps().destroyAll(this);
        hwpt.put();
    }
}
