package io.uiommu.iommu;

/**
 * A device behind an IOMMU (struct device with its iommu group of one): the driver that translates
 * for it, the domain its requests without PASID go through now and the domains of its attached
 * PASIDs. A device always sits in some domain; with nothing attached that is the driver's blocking
 * domain. A PASID with nothing attached has no domain (its requests are blocked).
 *
 * <p>Locking: changed under the iommufd context lock of its owner; DMA reads the PASID table
 * without locks (a racing attach may or may not be seen, as with hardware).
 */
public class IommuDevice {
    private final String name;
    private final IommuDriver driver;
    private volatile IommuDomain domain;
    private boolean owned;
    private int maxPasids;
    // Attached PASIDs: an immutable table swapped whole, scanned on lookup, so DMA with a PASID
    // neither locks nor allocates.
    private volatile PasidTable pasidTable = PasidTable.EMPTY;
    /** The iommu core's page fault state while I/O page faults are enabled (dev->iommu->fault_param). */
    private volatile DeviceFaultParam faultParam;
    private final PriFunction pri = new PriFunction(this);

    private record PasidTable(int[] pasids, IommuDomain[] domains) {
        static final PasidTable EMPTY = new PasidTable(new int[0], new IommuDomain[0]);
    }

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

    /** The function's Page Request Interface (device side of I/O page faults). */
    public final PriFunction pri() {
        return pri;
    }

    final DeviceFaultParam faultParam() {
        return faultParam;
    }

    final void setFaultParam(DeviceFaultParam p) {
        this.faultParam = p;
    }

    /** The domain a PASID of the device is attached to, or null. */
    public final IommuDomain pasidDomain(int pasid) {
        PasidTable t = pasidTable;
        for (int i = 0; i < t.pasids.length; i++) {
            if (t.pasids[i] == pasid) {
                return t.domains[i];
            }
        }
        return null;
    }

    /** PASIDs with a domain, in attach order. */
    public final int[] attachedPasids() {
        return pasidTable.pasids.clone();
    }

    /** Sets (or with null removes) the domain of one PASID. */
    final void setPasidDomain(int pasid, IommuDomain d) {
        PasidTable t = pasidTable;
        int n = t.pasids.length;
        int at = -1;
        for (int i = 0; i < n; i++) {
            if (t.pasids[i] == pasid) {
                at = i;
            }
        }
        int[] np;
        IommuDomain[] nd;
        if (d != null && at >= 0) {
            np = t.pasids;
            nd = t.domains.clone();
            nd[at] = d;
        } else if (d != null) {
            np = java.util.Arrays.copyOf(t.pasids, n + 1);
            nd = java.util.Arrays.copyOf(t.domains, n + 1);
            np[n] = pasid;
            nd[n] = d;
        } else if (at >= 0) {
            np = new int[n - 1];
            nd = new IommuDomain[n - 1];
            for (int i = 0, j = 0; i < n; i++) {
                if (i != at) {
                    np[j] = t.pasids[i];
                    nd[j++] = t.domains[i];
                }
            }
        } else {
            return;
        }
        pasidTable = new PasidTable(np, nd);
    }

    @Override
    public String toString() {
        return name;
    }
}
