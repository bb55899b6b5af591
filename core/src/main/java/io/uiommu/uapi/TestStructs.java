package io.uiommu.uapi;

import static io.uiommu.uapi.UapiStruct.struct;

/**
 * The structs of the kernel's selftest interface (drivers/iommu/iommufd/iommufd_test.h, 6.12), which
 * the mock IOMMU answers through IOMMU_TEST_CMD. Union members are named {@code member.field}.
 */
public final class TestStructs {
    private TestStructs() {
    }

    public static final UapiStruct IOMMU_TEST_CMD = struct("iommu_test_cmd")
            .u32("size").u32("op").u32("id").u32("__reserved")
            .union(
                    struct("add_reserved").u64("start").u64("length").build(),
                    struct("mock_domain").u32("out_stdev_id").u32("out_hwpt_id").u32("out_idev_id").build(),
                    struct("mock_domain_flags").u32("out_stdev_id").u32("out_hwpt_id").u32("out_idev_id")
                            .u32("dev_flags").build(),
                    struct("mock_domain_replace").u32("pt_id").build(),
                    struct("check_map").u64("iova").u64("length").u64("uptr").build(),
                    struct("check_refs").u64("length").u64("uptr").u32("refs").build(),
                    struct("create_access").u32("out_access_fd").u32("flags").build(),
                    struct("destroy_access_pages").u32("access_pages_id").build(),
                    struct("access_pages").u32("flags").u32("out_access_pages_id").u64("iova").u64("length")
                            .u64("uptr").build(),
                    struct("access_rw").u64("iova").u64("length").u64("uptr").u32("flags").build(),
                    struct("memory_limit").u32("limit").build(),
                    struct("access_replace_ioas").u32("ioas_id").build(),
                    struct("dirty").u32("flags").u64("iova").u64("length").u64("page_size").u64("uptr")
                            .u64("out_nr_dirty").build(),
                    struct("check_iotlb").u32("id").u32("iotlb").build(),
                    struct("trigger_iopf").u32("dev_id").u32("pasid").u32("grpid").u32("perm").u64("addr").build(),
                    struct("check_dev_cache").u32("id").u32("cache").build(),
                    struct("trigger_vevent").u32("dev_id").build(),
                    // upstream 6.15: @id is the stdev_id
                    struct("pasid_attach").u32("pasid").u32("pt_id").build(),
                    struct("pasid_replace").u32("pasid").u32("pt_id").build(),
                    struct("pasid_detach").u32("pasid").build(),
                    struct("pasid_check").u32("pasid").u32("hwpt_id").build(),
                    // uiommu's own ops (IOMMU_TEST_OP_UI_*), documented in docs/iommufd.md
                    struct("platform_device_info").u32("out_requester_id").u32("out_stream_id").u32("out_flags")
                            .u32("out_pasid_bits").u8s("out_name", 16).u8s("out_iommu", 16).build(),
                    struct("device_bind").u32("out_dev_id").build(),
                    struct("device_attach").u32("flags").u32("pasid").u32("pt_id").u32("out_hwpt_id").build(),
                    struct("device_detach").u32("flags").u32("pasid").build(),
                    struct("dma").u32("flags").u32("pasid").u64("iova").u64("length").u64("uptr")
                            .u64("out_bytes_done").u32("out_fault_code").u16("out_fault_name")
                            .u8("out_fault_level").u8("out_fault_flags").build(),
                    struct("audit").u32("flags").u32("out_flags").u32("out_count").u32("__reserved").u64("uptr")
                            .u64("length").u64("out_length").build(),
                    struct("fault_name").u64("uptr").u32("length").u32("out_length").build())
            .u32("last").build();

    public static final UapiStruct IOMMU_TEST_HW_INFO = struct("iommu_test_hw_info").u32("flags").u32("test_reg").build();

    public static final UapiStruct IOMMU_HWPT_SELFTEST = struct("iommu_hwpt_selftest").u32("iotlb").build();

    public static final UapiStruct IOMMU_HWPT_INVALIDATE_SELFTEST =
            struct("iommu_hwpt_invalidate_selftest").u32("flags").u32("iotlb_id").build();

    /** IOMMU_VIOMMU_TYPE_SELFTEST's driver data (upstream 6.13, mmap fields 6.17). */
    public static final UapiStruct IOMMU_VIOMMU_SELFTEST = struct("iommu_viommu_selftest")
            .u32("in_data").u32("out_data").u64("out_mmap_offset").u64("out_mmap_length").build();

    /** IOMMU_VEVENTQ_TYPE_SELFTEST's event. */
    public static final UapiStruct IOMMU_VIOMMU_EVENT_SELFTEST = struct("iommu_viommu_event_selftest").u32("virt_id").build();
}
