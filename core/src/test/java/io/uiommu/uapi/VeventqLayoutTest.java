package io.uiommu.uapi;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The vEVENTQ / HW queue structs and ioctls that 6.12's compiled headers cannot check, against the
 * numbers of upstream's include/uapi/linux/iommufd.h (6.17) and iommufd_test.h.
 */
class VeventqLayoutTest {
    @Test
    void veventqAlloc() {
        UapiStruct s = IommufdStructs.IOMMU_VEVENTQ_ALLOC;
        assertThat(s.size()).isEqualTo(32);
        assertThat(s.offset("viommu_id")).isEqualTo(8);
        assertThat(s.offset("type")).isEqualTo(12);
        assertThat(s.offset("veventq_depth")).isEqualTo(16);
        assertThat(s.offset("out_veventq_id")).isEqualTo(20);
        assertThat(s.offset("out_veventq_fd")).isEqualTo(24);
        assertThat(Ioctl.IOMMU_VEVENTQ_ALLOC.code()).isEqualTo(0x3b93);
        assertThat(Ioctl.IOMMU_VEVENTQ_ALLOC.minSize()).as("offsetofend __reserved").isEqualTo(32);
    }

    @Test
    void veventRecords() {
        assertThat(IommufdStructs.IOMMUFD_VEVENT_HEADER.size()).isEqualTo(8);
        assertThat(IommufdStructs.IOMMUFD_VEVENT_HEADER.offset("sequence")).isEqualTo(4);
        assertThat(IommufdStructs.IOMMU_VEVENT_ARM_SMMUV3.size()).isEqualTo(32);
        assertThat(TestStructs.IOMMU_VIOMMU_EVENT_SELFTEST.size()).isEqualTo(4);
    }

    @Test
    void hwQueueAlloc() {
        UapiStruct s = IommufdStructs.IOMMU_HW_QUEUE_ALLOC;
        assertThat(s.size()).isEqualTo(40);
        assertThat(s.offset("index")).isEqualTo(16);
        assertThat(s.offset("out_hw_queue_id")).isEqualTo(20);
        assertThat(s.offset("nesting_parent_iova")).isEqualTo(24);
        assertThat(s.offset("length")).isEqualTo(32);
        assertThat(Ioctl.IOMMU_HW_QUEUE_ALLOC.code()).isEqualTo(0x3b94);
        assertThat(Ioctl.IOMMU_HW_QUEUE_ALLOC.minSize()).isEqualTo(40);
    }

    @Test
    void selftestStructs() {
        UapiStruct s = TestStructs.IOMMU_VIOMMU_SELFTEST;
        assertThat(s.size()).isEqualTo(24);
        assertThat(s.offset("out_mmap_offset")).isEqualTo(8);
        assertThat(s.offset("out_mmap_length")).isEqualTo(16);
        assertThat(TestStructs.IOMMU_TEST_CMD.offset("trigger_vevent.dev_id")).isEqualTo(16);
        assertThat(TestStructs.IOMMU_TEST_CMD.offset("check_dev_cache.cache")).isEqualTo(20);
        assertThat(UapiConstants.IOMMU_TEST_OP_TRIGGER_VEVENT).isEqualTo(17);
    }
}
