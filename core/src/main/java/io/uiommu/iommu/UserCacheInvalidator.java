package io.uiommu.iommu;

/** Invalidates the caches of a user-owned page table from an array of vendor entries. */
@FunctionalInterface
public interface UserCacheInvalidator {
    /** Processes entries in order, stopping at the first bad one; sets {@code array.handled()}. */
    void invalidate(UserDataArray array);
}
