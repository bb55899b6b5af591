package io.uiommu.iommu;

import io.uiommu.hw.mock.MockIommuDriver;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;

/**
 * The kernel's iommu core (drivers/iommu/iommu.c) as iommufd uses it: DMA ownership, attach,
 * replace and detach of a device's RID, with the driver deciding what fits. Vendor drivers plug in
 * through {@link IommuDriver}; iommufd never talks to a vendor directly.
 */
public final class IommuCore {
    private final PhysicalMemory physical;
    private final MockIommuDriver mock;

    private IommuCore(PhysicalMemory physical) {
        this.physical = physical;
        this.mock = new MockIommuDriver();
    }

    /** An iommu core whose only driver is the selftest's mock IOMMU. */
    public static IommuCore withMockIommu(PhysicalMemory physical) {
        return new IommuCore(physical);
    }

    public PhysicalMemory physical() {
        return physical;
    }

    /** The selftest's mock IOMMU driver (it creates the mock devices). */
    public MockIommuDriver mock() {
        return mock;
    }

    /** iommu_device_claim_dma_owner: a device serves one user-space owner at a time. */
    public void claimDmaOwner(IommuDevice dev) {
        if (dev.owned()) {
            throw new IommufdException(Errno.EBUSY, dev + " is already owned");
        }
        dev.setOwned(true);
    }

    public void releaseDmaOwner(IommuDevice dev) {
        dev.setOwned(false);
        dev.setDomain(dev.driver().blockedDomain());
    }

    /** Attach (or replace) the RID to a domain; on refusal the old domain stays. */
    public void attachDevice(IommuDevice dev, IommuDomain domain) {
        if (domain.driver() != dev.driver()) {
            throw new IommufdException(Errno.EINVAL, "domain of another IOMMU");
        }
        dev.driver().attachDev(domain, dev);
        dev.setDomain(domain);
    }

    /** Back to the blocking domain. */
    public void detachDevice(IommuDevice dev) {
        dev.setDomain(dev.driver().blockedDomain());
    }
}
