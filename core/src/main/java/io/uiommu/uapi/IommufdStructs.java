package io.uiommu.uapi;

import static io.uiommu.uapi.UapiStruct.struct;

/**
 * The structs of include/uapi/linux/iommufd.h, at the newest upstream layout where it extends 6.12.
 * Names are the kernel's, so a reader can hold this file beside the header.
 */
public final class IommufdStructs {
    private IommufdStructs() {
    }

    public static final UapiStruct IOMMU_DESTROY = struct("iommu_destroy").u32("size").u32("id").build();

    public static final UapiStruct IOMMU_IOAS_ALLOC =
            struct("iommu_ioas_alloc").u32("size").u32("flags").u32("out_ioas_id").build();

    public static final UapiStruct IOMMU_IOVA_RANGE = struct("iommu_iova_range").u64("start").u64("last").build();

    public static final UapiStruct IOMMU_IOAS_IOVA_RANGES = struct("iommu_ioas_iova_ranges")
            .u32("size").u32("ioas_id").u32("num_iovas").u32("__reserved")
            .u64("allowed_iovas").u64("out_iova_alignment").build();

    public static final UapiStruct IOMMU_IOAS_ALLOW_IOVAS = struct("iommu_ioas_allow_iovas")
            .u32("size").u32("ioas_id").u32("num_iovas").u32("__reserved").u64("allowed_iovas").build();

    public static final UapiStruct IOMMU_IOAS_MAP = struct("iommu_ioas_map")
            .u32("size").u32("flags").u32("ioas_id").u32("__reserved")
            .u64("user_va").u64("length").u64("iova").build();

    public static final UapiStruct IOMMU_IOAS_COPY = struct("iommu_ioas_copy")
            .u32("size").u32("flags").u32("dst_ioas_id").u32("src_ioas_id")
            .u64("length").u64("dst_iova").u64("src_iova").build();

    public static final UapiStruct IOMMU_IOAS_UNMAP = struct("iommu_ioas_unmap")
            .u32("size").u32("ioas_id").u64("iova").u64("length").build();

    public static final UapiStruct IOMMU_OPTION = struct("iommu_option")
            .u32("size").u32("option_id").u16("op").u16("__reserved").u32("object_id").u64("val64").build();

    public static final UapiStruct IOMMU_VFIO_IOAS = struct("iommu_vfio_ioas")
            .u32("size").u32("ioas_id").u16("op").u16("__reserved").build();

    public static final UapiStruct IOMMU_HWPT_ALLOC = struct("iommu_hwpt_alloc")
            .u32("size").u32("flags").u32("dev_id").u32("pt_id").u32("out_hwpt_id").u32("__reserved")
            .u32("data_type").u32("data_len").u64("data_uptr").u32("fault_id").u32("__reserved2").build();

    public static final UapiStruct IOMMU_HWPT_VTD_S1 = struct("iommu_hwpt_vtd_s1")
            .u64("flags").u64("pgtbl_addr").u32("addr_width").u32("__reserved").build();

    public static final UapiStruct IOMMU_HW_INFO_VTD = struct("iommu_hw_info_vtd")
            .u32("flags").u32("__reserved").u64("cap_reg").u64("ecap_reg").build();

    /** {@code out_data_type} shares its slot with the newer {@code in_data_type} (IOMMU_HW_INFO_FLAG_INPUT_TYPE). */
    public static final UapiStruct IOMMU_HW_INFO = struct("iommu_hw_info")
            .u32("size").u32("flags").u32("dev_id").u32("data_len").u64("data_uptr")
            .u32("out_data_type").u8("out_max_pasid_log2").u8s("__reserved", 3).u64("out_capabilities").build();

    public static final UapiStruct IOMMU_HWPT_SET_DIRTY_TRACKING = struct("iommu_hwpt_set_dirty_tracking")
            .u32("size").u32("flags").u32("hwpt_id").u32("__reserved").build();

    public static final UapiStruct IOMMU_HWPT_GET_DIRTY_BITMAP = struct("iommu_hwpt_get_dirty_bitmap")
            .u32("size").u32("hwpt_id").u32("flags").u32("__reserved")
            .u64("iova").u64("length").u64("page_size").u64("data").build();

    public static final UapiStruct IOMMU_HWPT_VTD_S1_INVALIDATE = struct("iommu_hwpt_vtd_s1_invalidate")
            .u64("addr").u64("npages").u32("flags").u32("__reserved").build();

    public static final UapiStruct IOMMU_HWPT_INVALIDATE = struct("iommu_hwpt_invalidate")
            .u32("size").u32("hwpt_id").u64("data_uptr").u32("data_type").u32("entry_len")
            .u32("entry_num").u32("__reserved").build();

    public static final UapiStruct IOMMU_HWPT_PGFAULT = struct("iommu_hwpt_pgfault")
            .u32("flags").u32("dev_id").u32("pasid").u32("grpid").u32("perm").u32("__reserved")
            .u64("addr").u32("length").u32("cookie").build();

    public static final UapiStruct IOMMU_HWPT_PAGE_RESPONSE =
            struct("iommu_hwpt_page_response").u32("cookie").u32("code").build();

    public static final UapiStruct IOMMU_FAULT_ALLOC = struct("iommu_fault_alloc")
            .u32("size").u32("flags").u32("out_fault_id").u32("out_fault_fd").build();

    /** Linux 6.13 (24 bytes); data_len, __reserved, data_uptr since 6.15. */
    public static final UapiStruct IOMMU_VIOMMU_ALLOC = struct("iommu_viommu_alloc")
            .u32("size").u32("flags").u32("type").u32("dev_id").u32("hwpt_id").u32("out_viommu_id")
            .u32("data_len").u32("__reserved").u64("data_uptr").build();

    /** Linux 6.13. */
    public static final UapiStruct IOMMU_VDEVICE_ALLOC = struct("iommu_vdevice_alloc")
            .u32("size").u32("viommu_id").u32("dev_id").u32("out_vdevice_id").u64("virt_id").build();

    /** IOMMU_HWPT_DATA_ARM_SMMUV3 (Linux 6.13): the guest's STE dwords 0 and 1. */
    public static final UapiStruct IOMMU_HWPT_ARM_SMMUV3 = struct("iommu_hwpt_arm_smmuv3").u64s("ste", 2).build();

    /** IOMMU_HW_INFO_TYPE_ARM_SMMUV3 (Linux 6.13). */
    public static final UapiStruct IOMMU_HW_INFO_ARM_SMMUV3 = struct("iommu_hw_info_arm_smmuv3")
            .u32("flags").u32("__reserved").u32s("idr", 6).u32("iidr").u32("aidr").build();

    /** IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 (Linux 6.13): one command-queue entry. */
    public static final UapiStruct IOMMU_VIOMMU_ARM_SMMUV3_INVALIDATE =
            struct("iommu_viommu_arm_smmuv3_invalidate").u64s("cmd", 2).build();

    /** Linux 6.15: one vEVENTQ per (vIOMMU, type), read through out_veventq_fd. */
    public static final UapiStruct IOMMU_VEVENTQ_ALLOC = struct("iommu_veventq_alloc")
            .u32("size").u32("flags").u32("viommu_id").u32("type").u32("veventq_depth").u32("out_veventq_id")
            .u32("out_veventq_fd").u32("__reserved").build();

    /** Linux 6.15: what precedes every vEVENT read from a vEVENTQ fd. */
    public static final UapiStruct IOMMUFD_VEVENT_HEADER =
            struct("iommufd_vevent_header").u32("flags").u32("sequence").build();

    /** IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 (Linux 6.15): the event record, StreamID replaced by the vSID. */
    public static final UapiStruct IOMMU_VEVENT_ARM_SMMUV3 = struct("iommu_vevent_arm_smmuv3").u64s("evt", 4).build();

    /** Linux 6.17: a HW queue of a vIOMMU over guest memory at nesting_parent_iova. */
    public static final UapiStruct IOMMU_HW_QUEUE_ALLOC = struct("iommu_hw_queue_alloc")
            .u32("size").u32("flags").u32("viommu_id").u32("type").u32("index").u32("out_hw_queue_id")
            .u64("nesting_parent_iova").u64("length").build();
}
