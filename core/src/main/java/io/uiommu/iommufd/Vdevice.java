package io.uiommu.iommufd;

/**
 * A vDEVICE (struct iommufd_vdevice, Linux 6.13): a bound device as its vIOMMU's VM names it —
 * {@code virtId} is the vSID of an SMMUv3, the vDeviceID of AMD, the vRID of VT-d. One per device,
 * one per virtual id in a vIOMMU; it holds the vIOMMU. When the device goes away first its vDEVICE
 * is destroyed with it and the ID stays taken until the file closes (a tombstone, as Linux 6.18).
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public final class Vdevice extends IommufdObject {
    private final Viommu viommu;
    private final Device idev;
    private final long virtId;

    private Vdevice(Viommu viommu, Device idev, long virtId) {
        super(ObjectType.VDEVICE);
        this.viommu = viommu;
        this.idev = idev;
        this.virtId = virtId;
    }

    /**
     * iommufd_vdevice_alloc_ioctl after the lookups: EINVAL for a device behind another IOMMU,
     * EEXIST when the device has a vDEVICE already or the virtual id is taken in this vIOMMU.
     */
    static Vdevice allocate(Viommu viommu, Device idev, long virtId) {
        if (viommu.driver() != idev.iommuDevice().driver()) {
            throw new IommufdException(Errno.EINVAL, "device is behind another IOMMU than the vIOMMU");
        }
        if (idev.vdev != null) {
            throw new IommufdException(Errno.EEXIST, "device has a vDEVICE");
        }
        if (viommu.vdevs.containsKey(virtId)) {
            throw new IommufdException(Errno.EEXIST, "virtual id 0x" + Long.toHexString(virtId) + " is taken");
        }
        Vdevice v = new Vdevice(viommu, idev, virtId);
        viommu.vdevs.put(virtId, v);
        viommu.get();
        idev.vdev = v;
        return v;
    }

    public Viommu viommu() {
        return viommu;
    }

    public Device device() {
        return idev;
    }

    public long virtId() {
        return virtId;
    }

    @Override
    protected void destroy() {
        viommu.vdevs.remove(virtId, this);
        if (idev.vdev == this) {
            idev.vdev = null;
        }
        viommu.put();
    }
}
