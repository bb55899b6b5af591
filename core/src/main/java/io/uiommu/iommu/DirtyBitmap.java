package io.uiommu.iommu;

/** Where a domain reports dirty IOVA ranges (iommu_dirty_bitmap_record). */
@FunctionalInterface
public interface DirtyBitmap {
    void record(long iova, long length);
}
