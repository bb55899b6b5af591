package io.uiommu.iommu;

/**
 * A device behind an IOMMU (struct device with its iommu group of one): the driver that translates
 * for it and the domain its requests go through now. A device always sits in some domain; with
 * nothing attached that is the driver's blocking domain.
 *
 * <p>Locking: guarded by the iommufd context lock of its owner.
 */
public class IommuDevice {
    private final String name;
    private final IommuDriver driver;
    private IommuDomain domain;
    private boolean owned;
    private int maxPasids;

    public IommuDevice(String name, IommuDriver driver) {
        this.name = name;
        this.driver = driver;
        this.domain = driver.blockedDomain();
    }

    public final String name() {
        return name;
    }

    public final IommuDriver driver() {
        return driver;
    }

    /** The domain DMA of the RID goes through. */
    public final IommuDomain domain() {
        return domain;
    }

    final void setDomain(IommuDomain domain) {
        this.domain = domain;
    }

    /** Whether a user-space driver claimed DMA ownership (iommu_device_claim_dma_owner). */
    public final boolean owned() {
        return owned;
    }

    final void setOwned(boolean owned) {
        this.owned = owned;
    }

    /**
     * How many PASIDs the device can use through its IOMMU (dev->iommu->max_pasids): 0 without
     * PASID support, else a power of two. GET_HW_INFO reports its log2.
     */
    public final int maxPasids() {
        return maxPasids;
    }

    protected final void setMaxPasids(int maxPasids) {
        this.maxPasids = maxPasids;
    }

    @Override
    public String toString() {
        return name;
    }
}
