package io.uiommu.iommufd;

import io.uiommu.iommu.HwQueueHandle;
import io.uiommu.iommu.HwQueueOps;
import io.uiommu.mem.PhysicalMemory;

/**
 * A HW queue (struct iommufd_hw_queue, Linux 6.17): guest queue memory a vIOMMU's hardware reads
 * directly — by physical address, bypassing the nesting parent — such as a Tegra241 VCMDQ. The
 * memory is given as an IOVA range of the nesting parent's IOAS; the core pins it through an
 * internal access that also locks the areas, so IOAS_UNMAP of them is EBUSY while the queue lives,
 * and the pages must be physically contiguous (EFAULT otherwise). The queue holds its vIOMMU.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public final class HwQueue extends IommufdObject implements HwQueueHandle {
    private static final long PAGE_SIZE = PhysicalMemory.PAGE_SIZE;

    private final Viommu viommu;
    private final int queueType;
    private final int index;
    private final long baseAddr;
    private final long length;
    private long pinnedIova;
    private long pinnedLength;
    private boolean holdsViommu;
    private HwQueueOps ops;

    private HwQueue(Viommu viommu, int queueType, int index, long baseAddr, long length) {
        super(ObjectType.HW_QUEUE);
        this.viommu = viommu;
        this.queueType = queueType;
        this.index = index;
        this.baseAddr = baseAddr;
        this.length = length;
    }

    /**
     * iommufd_hw_queue_alloc_ioctl after the argument checks and the vIOMMU lookup: EOPNOTSUPP
     * when the vIOMMU has no HW queue of {@code type}; ERANGE when the page-rounded range
     * overflows; the pin's ENOENT (not fully mapped) or EPERM; EFAULT when the pages are not
     * physically contiguous; then the driver's refusal. Nothing stays pinned or held on failure.
     */
    static HwQueue allocate(Viommu viommu, int type, int index, long baseAddr, long length) {
        if (viommu.ops() == null || !viommu.ops().hwQueueSupported(type)) {
            throw new IommufdException(Errno.EOPNOTSUPP, "the vIOMMU has no HW queue of type 0x" + Integer.toHexString(type));
        }
        HwQueue q = new HwQueue(viommu, type, index, baseAddr, length);
        try {
            long basePa = q.pin();
            viommu.get();
            q.holdsViommu = true;
            q.ops = viommu.ops().hwQueueInitPhys(q, index, basePa);
        } catch (RuntimeException e) {
            q.destroy();
            throw e;
        }
        return q;
    }

    /** iommufd_hw_queue_alloc_phys: pins and locks the page-rounded range; returns the base's physical address. */
    private long pin() {
        long alignedIova = baseAddr & -PAGE_SIZE;
        long offset = baseAddr - alignedIova;
        long rounded = offset + length;
        if (Long.compareUnsigned(rounded, offset) < 0 || Long.compareUnsigned(rounded + PAGE_SIZE - 1, rounded) < 0) {
            throw new IommufdException(Errno.ERANGE, "queue range overflows");
        }
        long pages = Long.divideUnsigned(rounded + PAGE_SIZE - 1, PAGE_SIZE);
        long bytes = pages * PAGE_SIZE;
        IoPagetable iopt = viommu.hwpt().ioas().iopt();
        long[] pfns = iopt.accessPin(alignedIova, bytes, false, true);
        pinnedIova = alignedIova;
        pinnedLength = bytes;
        for (int i = 1; i < pfns.length; i++) {
            if (pfns[i] != pfns[i - 1] + 1) {
                throw new IommufdException(Errno.EFAULT, "queue pages are not physically contiguous");
            }
        }
        return (pfns[0] << PhysicalMemory.PAGE_SHIFT) + offset;
    }

    public Viommu viommu() {
        return viommu;
    }

    @Override
    public int queueType() {
        return queueType;
    }

    public int index() {
        return index;
    }

    @Override
    public long baseAddr() {
        return baseAddr;
    }

    @Override
    public long length() {
        return length;
    }

    /** iommufd_hw_queue_depend: DESTROY of {@code other} is EBUSY until {@link #undepend}. */
    @Override
    public void depend(HwQueueHandle other) {
        if (other == this || !(other instanceof HwQueue q)) {
            throw new IommufdException(Errno.EINVAL, "bad HW queue dependency");
        }
        q.get();
    }

    @Override
    public void undepend(HwQueueHandle other) {
        if (other != this && other instanceof HwQueue q) {
            q.put();
        }
    }

    @Override
    protected void destroy() {
        if (ops != null) {
            ops.destroy();
            ops = null;
        }
        if (pinnedLength != 0) {
            viommu.hwpt().ioas().iopt().accessUnpin(pinnedIova, pinnedLength, true);
            pinnedLength = 0;
        }
        if (holdsViommu) {
            viommu.put();
            holdsViommu = false;
        }
    }
}
