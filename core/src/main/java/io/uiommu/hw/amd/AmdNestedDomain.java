package io.uiommu.hw.amd;

import io.uiommu.iommu.IommuDomain;

/**
 * A nested domain of the AMD hardware vIOMMU (upstream amd/nested.c, 7.0-era): the guest's DTE
 * (its GCR3 table root, a guest-physical address, with GLX, GIoV, PPR and the guest paging mode)
 * over a v1 nest-parent domain as the host table. Attached to a RID it covers the RID and every
 * PASID of the guest's GCR3 table. Guest DomainIDs map to host DomainIDs per parent, so two nested
 * domains with the same guest DomainID share IOTLB tags as they do on hardware.
 *
 * <p>Locking: guarded by the owning {@link AmdIommu}'s monitor.
 */
public final class AmdNestedDomain extends IommuDomain {
    private final AmdPagingDomain parent;
    final long[] guestDte;
    final int guestDomainId;
    final int hostDomainId;

    AmdNestedDomain(AmdIommu iommu, AmdPagingDomain parent, long[] guestDte, int hostDomainId) {
        super(Type.NESTED, iommu);
        this.parent = parent;
        this.guestDte = guestDte.clone();
        this.guestDomainId = DeviceTableEntry.domainId(guestDte[1]);
        this.hostDomainId = hostDomainId;
    }

    @Override
    public AmdPagingDomain parent() {
        return parent;
    }

    /** The host DomainID the guest's DomainID maps to. */
    public int hostDomainId() {
        return hostDomainId;
    }

    /** The guest's GCR3 table root (a guest-physical address). */
    public long guestGcr3Root() {
        return DeviceTableEntry.gcr3Root(guestDte[0], guestDte[1]);
    }

    @Override
    public void free() {
        ((AmdIommu) driver()).freeNested(this);
    }
}
