package io.uiommu.uapi;

import static io.uiommu.uapi.UapiStruct.struct;

/** The VFIO type1 container structs (include/uapi/linux/vfio.h) that iommufd accepts for compatibility. */
public final class VfioStructs {
    private VfioStructs() {
    }

    public static final UapiStruct VFIO_IOMMU_TYPE1_INFO = struct("vfio_iommu_type1_info")
            .u32("argsz").u32("flags").u64("iova_pgsizes").u32("cap_offset").u32("pad").build();

    public static final UapiStruct VFIO_INFO_CAP_HEADER =
            struct("vfio_info_cap_header").u16("id").u16("version").u32("next").build();

    public static final UapiStruct VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE =
            struct("vfio_iommu_type1_info_cap_iova_range").u16("header.id").u16("header.version").u32("header.next")
                    .u32("nr_iovas").u32("reserved").build();

    public static final UapiStruct VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL =
            struct("vfio_iommu_type1_info_dma_avail").u16("header.id").u16("header.version").u32("header.next")
                    .u32("avail").build();

    public static final UapiStruct VFIO_IOMMU_TYPE1_DMA_MAP = struct("vfio_iommu_type1_dma_map")
            .u32("argsz").u32("flags").u64("vaddr").u64("iova").u64("size").build();

    public static final UapiStruct VFIO_IOMMU_TYPE1_DMA_UNMAP = struct("vfio_iommu_type1_dma_unmap")
            .u32("argsz").u32("flags").u64("iova").u64("size").build();
}
