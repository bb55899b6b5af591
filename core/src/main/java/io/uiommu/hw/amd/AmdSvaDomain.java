package io.uiommu.hw.amd;

import io.uiommu.iommu.IommuDomain;

/**
 * A shared-virtual-addressing domain (IOMMU_DOMAIN_SVA): an x86-64 page table the caller owns —
 * a process's, as Linux binds an mm — bound to PASIDs through the GCR3 table. It has no map or
 * unmap; the table's owner edits it and must invalidate (as the mm notifier does in Linux) with
 * {@link AmdIommu#invalidateSva}.
 *
 * <p>Locking: guarded by the owning {@link AmdIommu}'s monitor.
 */
public final class AmdSvaDomain extends IommuDomain {
    private final long cr3;

    AmdSvaDomain(AmdIommu iommu, long cr3) {
        super(Type.PAGING, iommu);
        this.cr3 = cr3;
    }

    /** Physical address of the top-level table (what GCR3 entries point at). */
    public long cr3() {
        return cr3;
    }
}
