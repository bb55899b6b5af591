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
        detachDevice(dev);
    }

    /** Attach (or replace) the RID to a domain; on refusal the old domain stays. */
    public void attachDevice(IommuDevice dev, IommuDomain domain) {
        if (domain.driver() != dev.driver()) {
            throw new IommufdException(Errno.EINVAL, "domain of another IOMMU");
        }
        dev.driver().attachDev(domain, dev);
        dev.setDomain(domain);
    }

    /**
     * A device DMA of {@code length} bytes at {@code iova} (with {@code pasid}, or
     * {@link Translation#NO_PASID}) through the full translation path, page by page, moving bytes
     * between {@code buffer} and the physical memory the IOMMU resolves. Stops at the first fault.
     */
    public DmaResult dma(IommuDevice dev, int pasid, long iova, byte[] buffer, int offset, int length, boolean write) {
        Translation t = new Translation();
        int access = write ? IommuDomain.IOMMU_WRITE : IommuDomain.IOMMU_READ;
        long done = 0;
        while (done < length) {
            long addr = iova + done;
            dev.driver().translate(dev, pasid, addr, access, t.reset(addr, pasid, access));
            if (t.faulted) {
                return new DmaResult(done, new DmaResult.Fault(addr, pasid, write, t.faultCode, t.faultName,
                        t.faultLevel, t.faultStage2));
            }
            long inPage = PhysicalMemory.PAGE_SIZE - (t.physAddr & (PhysicalMemory.PAGE_SIZE - 1));
            int n = (int) Math.min(length - done, inPage);
            if (write) {
                physical.write(t.physAddr, buffer, offset + (int) done, n);
            } else {
                physical.read(t.physAddr, buffer, offset + (int) done, n);
            }
            done += n;
        }
        return new DmaResult(done, null);
    }

    /** Back to the blocking domain. */
    public void detachDevice(IommuDevice dev) {
        // The driver must hear of it: hardware models keep translating through their tables otherwise.
        dev.driver().attachDev(dev.driver().blockedDomain(), dev);
        dev.setDomain(dev.driver().blockedDomain());
    }
}
