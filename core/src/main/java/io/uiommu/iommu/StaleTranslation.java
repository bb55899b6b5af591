package io.uiommu.iommu;

/**
 * A missing-invalidation bug found by the auditor: a translation served from a cache entry whose
 * backing descriptor changed after the entry was filled, with no invalidation in between.
 *
 * @param vendor        "vtd", "smmuv3", "amd", "mock"
 * @param cache         the cache that served it ("IOTLB", "PASID cache", "context cache", "CD cache", ...)
 * @param entry         the entry, in the vendor's terms (domain id / ASID / VMID, PASID, IOVA page)
 * @param descriptor    physical address of the changed descriptor word
 * @param cachedValue   the word when the entry was filled
 * @param currentValue  the word now
 * @param filledAt      the step that filled the entry
 * @param changedAt     the step that wrote the word (or "outside uiommu" when the write was not seen)
 * @param servedAt      the step whose translation used the stale entry
 */
public record StaleTranslation(String vendor, String cache, String entry, long descriptor, long cachedValue,
        long currentValue, String filledAt, String changedAt, String servedAt) {
    @Override
    public String toString() {
        return vendor + " " + cache + " entry " + entry + " served at " + servedAt + " is stale: descriptor 0x"
                + Long.toHexString(descriptor) + " was 0x" + Long.toHexString(cachedValue) + " when filled at "
                + filledAt + ", changed to 0x" + Long.toHexString(currentValue) + " at " + changedAt
                + " without the required invalidation";
    }
}
