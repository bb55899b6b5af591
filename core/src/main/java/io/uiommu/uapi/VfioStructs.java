package io.uiommu.uapi;

import static io.uiommu.uapi.UapiStruct.struct;

/**
 * VFIO structs (include/uapi/linux/vfio.h): the type1 container structs that iommufd accepts for
 * compatibility, and the device-file structs of the VFIO cdev (io.uiommu.vfio).
 */
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

    // ---- the device file ----

    public static final UapiStruct VFIO_DEVICE_INFO = struct("vfio_device_info")
            .u32("argsz").u32("flags").u32("num_regions").u32("num_irqs").u32("cap_offset").u32("pad").build();

    public static final UapiStruct VFIO_REGION_INFO = struct("vfio_region_info")
            .u32("argsz").u32("flags").u32("index").u32("cap_offset").u64("size").u64("offset").build();

    /** A region's capability: areas that may be mmap'ed. Followed by {@code nr_areas} areas, 8-aligned. */
    public static final UapiStruct VFIO_REGION_INFO_CAP_SPARSE_MMAP = struct("vfio_region_info_cap_sparse_mmap")
            .u16("header.id").u16("header.version").u32("header.next").u32("nr_areas").u32("reserved").build();

    /** One mmap-able area, offset and size within the region. */
    public static final UapiStruct VFIO_REGION_SPARSE_MMAP_AREA = struct("vfio_region_sparse_mmap_area")
            .u64("offset").u64("size").build();

    public static final UapiStruct VFIO_IRQ_INFO = struct("vfio_irq_info")
            .u32("argsz").u32("flags").u32("index").u32("count").build();

    /** Followed by {@code count} elements of data (u8 for DATA_BOOL, s32 for DATA_EVENTFD) inside argsz. */
    public static final UapiStruct VFIO_IRQ_SET = struct("vfio_irq_set")
            .u32("argsz").u32("flags").u32("index").u32("start").u32("count").build();

    /** Followed by the feature's data inside argsz. */
    public static final UapiStruct VFIO_DEVICE_FEATURE = struct("vfio_device_feature").u32("argsz").u32("flags").build();

    /** The data of VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP. */
    public static final UapiStruct VFIO_DEVICE_LOW_POWER_ENTRY_WITH_WAKEUP =
            struct("vfio_device_low_power_entry_with_wakeup").u32("wakeup_eventfd").u32("reserved").build();

    /** token_uuid_ptr since Linux 6.17 (VFIO_DEVICE_BIND_FLAG_TOKEN). */
    public static final UapiStruct VFIO_DEVICE_BIND_IOMMUFD = struct("vfio_device_bind_iommufd")
            .u32("argsz").u32("flags").u32("iommufd").u32("out_devid").u64("token_uuid_ptr").build();

    /** pasid since Linux 6.15 (VFIO_DEVICE_ATTACH_PASID). */
    public static final UapiStruct VFIO_DEVICE_ATTACH_IOMMUFD_PT = struct("vfio_device_attach_iommufd_pt")
            .u32("argsz").u32("flags").u32("pt_id").u32("pasid").build();

    /** pasid since Linux 6.15 (VFIO_DEVICE_DETACH_PASID). */
    public static final UapiStruct VFIO_DEVICE_DETACH_IOMMUFD_PT = struct("vfio_device_detach_iommufd_pt")
            .u32("argsz").u32("flags").u32("pasid").build();
}
