package io.uiommu.iommu;

/**
 * The result of translating one device access (requester, optional PASID, IOVA) through an IOMMU,
 * filled in place so translation does not allocate: the physical address and page, or the fault
 * the hardware would record, with its vendor reason code and the level the walk stopped at.
 */
public final class Translation {
    /** No PASID on the request (the RID's translation). */
    public static final int NO_PASID = -1;

    public long iova;
    public int pasid = NO_PASID;
    /**
     * Set with IOMMU_READ or IOMMU_WRITE in {@code access} by a function with ATS and PRI: a
     * translation request, whose not-present and permission faults the IOMMU answers without a
     * fault record (the function may then send a page request); other faults are recorded as usual.
     */
    public static final int ATS_TRANSLATION_REQUEST = 1 << 8;

    /** {@link IommuDomain#IOMMU_READ} or {@link IommuDomain#IOMMU_WRITE}, maybe with {@link #ATS_TRANSLATION_REQUEST}. */
    public int access;

    public long physAddr;
    public long pageSize;
    /** Served from a translation cache (IOTLB) rather than a walk. */
    public boolean cacheHit;
    /** Descriptors read from memory for this translation (0 on an IOTLB hit). */
    public int descriptorReads;

    public boolean faulted;
    /** Vendor fault reason code (VT-d fault reason, SMMUv3 event id, AMD event code). */
    public int faultCode;
    /** Vendor name of the fault, e.g. "F_TRANSLATION" or "DMA_REMAP_SL_PTE_NOT_PRESENT". */
    public String faultName;
    public int faultLevel;
    /** The fault came from the stage-2 (parent) walk of a nested translation. */
    public boolean faultStage2;

    /** Whether this is an ATS translation request (see {@link #ATS_TRANSLATION_REQUEST}). */
    public boolean translationRequest() {
        return (access & ATS_TRANSLATION_REQUEST) != 0;
    }

    public Translation reset(long iova, int pasid, int access) {
        this.iova = iova;
        this.pasid = pasid;
        this.access = access;
        physAddr = 0;
        pageSize = 0;
        cacheHit = false;
        descriptorReads = 0;
        faulted = false;
        faultCode = 0;
        faultName = null;
        faultLevel = 0;
        faultStage2 = false;
        return this;
    }

    public boolean fault(int code, String name, int level, boolean stage2) {
        faulted = true;
        faultCode = code;
        faultName = name;
        faultLevel = level;
        faultStage2 = stage2;
        return false;
    }

    @Override
    public String toString() {
        String where = "iova 0x" + Long.toHexString(iova) + (pasid == NO_PASID ? "" : " pasid " + pasid);
        if (faulted) {
            return where + ": fault " + faultName + " (0x" + Integer.toHexString(faultCode) + ") at level " + faultLevel
                    + (faultStage2 ? " of stage 2" : "");
        }
        return where + " -> 0x" + Long.toHexString(physAddr) + (cacheHit ? " (cached)" : "");
    }
}
