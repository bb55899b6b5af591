package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.UserCacheInvalidator;
import io.uiommu.iommu.UserDataArray;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;

import java.util.ArrayList;
import java.util.List;

/**
 * A nested domain from IOMMU_HWPT_DATA_VTD_S1 (struct iommu_hwpt_vtd_s1): a guest-owned first-stage
 * table at a guest-physical address, translated through a nesting-parent second stage (PASID
 * entries with PGTT = nested). The guest invalidates its first stage with
 * IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 entries, which become PASID-based IOTLB invalidations.
 *
 * <p>Locking: attach state under the driver's monitor; invalidations serialized by the caller.
 */
public final class VtdNestedDomain extends IommuDomain implements UserCacheInvalidator {
    /** struct iommu_hwpt_vtd_s1 and struct iommu_hwpt_vtd_s1_invalidate are 24 bytes. */
    static final int S1_SIZE = 24;
    static final int INVALIDATE_SIZE = 24;
    static final int IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0;
    static final int IOMMU_VTD_INV_FLAGS_LEAF = 1;
    static final int IOMMU_VTD_S1_SRE = 1;
    static final int IOMMU_VTD_S1_EAFE = 1 << 1;
    static final int IOMMU_VTD_S1_WPE = 1 << 2;

    private final VtdIommu iommu;
    final VtdPagingDomain parent;
    final long flags;
    final long firstStageTable;
    final int addressWidth;
    int did = -1;
    int didUsers;
    final List<VtdIommu.Attachment> attachments = new ArrayList<>();

    VtdNestedDomain(VtdIommu iommu, VtdPagingDomain parent, long flags, long firstStageTable, int addressWidth) {
        super(Type.NESTED, iommu);
        this.iommu = iommu;
        this.parent = parent;
        this.flags = flags;
        this.firstStageTable = firstStageTable;
        this.addressWidth = addressWidth;
    }

    @Override
    public IommuDomain parent() {
        return parent;
    }

    public long firstStageTable() {
        return firstStageTable;
    }

    public int domainId() {
        return did;
    }

    @Override
    public UserCacheInvalidator cacheInvalidator() {
        return this;
    }

    /**
     * intel_nested_cache_invalidate_user (6.12): another data type is EINVAL; per entry, a bad copy
     * is its errno, unknown flags or a non-zero reserved word EOPNOTSUPP, an unaligned address or
     * npages = U64_MAX with a non-zero address EINVAL; entry_num says how many were handled.
     */
    @Override
    public void invalidate(UserDataArray array) {
        int processed = 0;
        try {
            if (array.type() != IOMMU_HWPT_INVALIDATE_DATA_VTD_S1) {
                throw new IommufdException(Errno.EINVAL, "unexpected invalidation data type");
            }
            for (int i = 0; i < array.entryCount(); i++) {
                byte[] e = array.copyEntry(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, i, INVALIDATE_SIZE, INVALIDATE_SIZE);
                long addr = VtdIommu.le64(e, 0);
                long npages = VtdIommu.le64(e, 8);
                int entryFlags = (int) VtdIommu.le64(e, 16);
                int reserved = (int) (VtdIommu.le64(e, 16) >>> 32);
                if ((entryFlags & ~IOMMU_VTD_INV_FLAGS_LEAF) != 0 || reserved != 0) {
                    throw new IommufdException(Errno.EOPNOTSUPP, "unknown invalidation flags or reserved bits");
                }
                if ((addr & 0xFFF) != 0 || npages == -1L && addr != 0) {
                    throw new IommufdException(Errno.EINVAL, "unaligned address or a full flush with an address");
                }
                if (npages == 0) {
                    processed++;
                    continue;
                }
                // nrpages_to_size: npages << 12, wrapping as the kernel's unsigned arithmetic does.
                iommu.flushRange(this, addr, addr + (npages << 12) - 1, (entryFlags & IOMMU_VTD_INV_FLAGS_LEAF) != 0);
                processed++;
            }
        } finally {
            array.setHandled(processed);
        }
    }

    @Override
    public void free() {
        iommu.nestedFreed(this);
    }

    @Override
    public String toString() {
        return "vtd nested domain (first stage at GPA 0x" + Long.toHexString(firstStageTable) + ", " + addressWidth
                + "-bit)";
    }
}
