package io.uiommu.uapi;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The named constants of the uAPI (flags, enum values, selftest magic numbers) and the ioctl
 * request codes, by their kernel names. Scenarios write flags by these names.
 */
public final class UapiConstants {
    private UapiConstants() {
    }

    // enum iommufd_ioas_map_flags
    public static final int IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0;
    public static final int IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
    public static final int IOMMU_IOAS_MAP_READABLE = 1 << 2;
    // enum iommufd_option / iommufd_option_ops
    public static final int IOMMU_OPTION_RLIMIT_MODE = 0;
    public static final int IOMMU_OPTION_HUGE_PAGES = 1;
    public static final int IOMMU_OPTION_OP_SET = 0;
    public static final int IOMMU_OPTION_OP_GET = 1;
    // enum iommufd_vfio_ioas_op
    public static final int IOMMU_VFIO_IOAS_GET = 0;
    public static final int IOMMU_VFIO_IOAS_SET = 1;
    public static final int IOMMU_VFIO_IOAS_CLEAR = 2;
    // enum iommufd_hwpt_alloc_flags
    public static final int IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0;
    public static final int IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
    public static final int IOMMU_HWPT_FAULT_ID_VALID = 1 << 2;
    public static final int IOMMU_HWPT_ALLOC_PASID = 1 << 3;
    // enum iommu_hwpt_vtd_s1_flags
    public static final int IOMMU_VTD_S1_SRE = 1 << 0;
    public static final int IOMMU_VTD_S1_EAFE = 1 << 1;
    public static final int IOMMU_VTD_S1_WPE = 1 << 2;
    // enum iommu_hwpt_data_type
    public static final int IOMMU_HWPT_DATA_NONE = 0;
    public static final int IOMMU_HWPT_DATA_VTD_S1 = 1;
    public static final int IOMMU_HWPT_DATA_ARM_SMMUV3 = 2;
    // enum iommu_hw_info_vtd_flags
    public static final int IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0;
    // enum iommu_hw_info_type
    public static final int IOMMU_HW_INFO_TYPE_NONE = 0;
    public static final int IOMMU_HW_INFO_TYPE_INTEL_VTD = 1;
    public static final int IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2;
    // enum iommu_hw_info_flags (newer than 6.12)
    public static final int IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0;
    // enum iommufd_hw_capabilities
    public static final long IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0;
    public static final long IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1;
    public static final long IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2;
    // dirty tracking
    public static final int IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1;
    public static final int IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1;
    // enum iommu_hwpt_invalidate_data_type
    public static final int IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0;
    public static final int IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1;

    // enum iommu_viommu_type (Linux 6.13; TEGRA241_CMDQV 6.16)
    public static final int IOMMU_VIOMMU_TYPE_DEFAULT = 0;
    public static final int IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1;
    public static final int IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV = 2;
    public static final int IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0;
    // vEVENTQ (Linux 6.15): enum iommu_veventq_flag, enum iommu_veventq_type
    public static final int IOMMU_VEVENTQ_FLAG_LOST_EVENTS = 1 << 0;
    public static final int IOMMU_VEVENTQ_TYPE_DEFAULT = 0;
    public static final int IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1;
    public static final int IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2;
    // HW queues (Linux 6.17): enum iommu_hw_queue_type
    public static final int IOMMU_HW_QUEUE_TYPE_DEFAULT = 0;
    public static final int IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV = 1;
    // page faults
    public static final int IOMMU_PGFAULT_FLAGS_PASID_VALID = 1 << 0;
    public static final int IOMMU_PGFAULT_FLAGS_LAST_PAGE = 1 << 1;
    public static final int IOMMU_PGFAULT_PERM_READ = 1 << 0;
    public static final int IOMMU_PGFAULT_PERM_WRITE = 1 << 1;
    public static final int IOMMU_PGFAULT_PERM_EXEC = 1 << 2;
    public static final int IOMMU_PGFAULT_PERM_PRIV = 1 << 3;
    public static final int IOMMUFD_PAGE_RESP_SUCCESS = 0;
    public static final int IOMMUFD_PAGE_RESP_INVALID = 1;

    // iommufd_test.h
    public static final int IOMMU_TEST_OP_ADD_RESERVED = 1;
    public static final int IOMMU_TEST_OP_MOCK_DOMAIN = 2;
    public static final int IOMMU_TEST_OP_MD_CHECK_MAP = 3;
    public static final int IOMMU_TEST_OP_MD_CHECK_REFS = 4;
    public static final int IOMMU_TEST_OP_CREATE_ACCESS = 5;
    public static final int IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6;
    public static final int IOMMU_TEST_OP_ACCESS_PAGES = 7;
    public static final int IOMMU_TEST_OP_ACCESS_RW = 8;
    public static final int IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9;
    public static final int IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10;
    public static final int IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11;
    public static final int IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12;
    public static final int IOMMU_TEST_OP_DIRTY = 13;
    public static final int IOMMU_TEST_OP_MD_CHECK_IOTLB = 14;
    public static final int IOMMU_TEST_OP_TRIGGER_IOPF = 15;
    /** Upstream 6.14 / 6.15: a mock device's cache word, and a selftest vEVENT of the device. */
    public static final int IOMMU_TEST_OP_DEV_CHECK_CACHE = 16;
    public static final int IOMMU_TEST_OP_TRIGGER_VEVENT = 17;
    // Upstream 6.15: PASID attach ops of the selftest device.
    public static final int IOMMU_TEST_OP_PASID_ATTACH = 18;
    public static final int IOMMU_TEST_OP_PASID_REPLACE = 19;
    public static final int IOMMU_TEST_OP_PASID_DETACH = 20;
    public static final int IOMMU_TEST_OP_PASID_CHECK_HWPT = 21;
    public static final long MOCK_APERTURE_START = 1L << 24;
    public static final long MOCK_APERTURE_LAST = (1L << 31) - 1;
    public static final int MOCK_FLAGS_ACCESS_WRITE = 1 << 0;
    public static final int MOCK_FLAGS_ACCESS_SYZ = 1 << 16;
    public static final int MOCK_ACCESS_RW_WRITE = 1 << 0;
    public static final int MOCK_ACCESS_RW_SLOW_PATH = 1 << 2;
    public static final int MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0;
    public static final int MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0;
    public static final int MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1;
    /** Upstream 6.15 (Debian's 6.12 selftest uses it): a mock device with 20-bit PASIDs. */
    public static final int MOCK_FLAGS_DEVICE_PASID = 1 << 2;
    public static final int MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3;
    public static final int MOCK_NESTED_DOMAIN_IOTLB_NUM = 4;
    public static final int IOMMU_HW_INFO_TYPE_SELFTEST = 0xfeedbeef;
    public static final int IOMMU_HW_INFO_SELFTEST_REGVAL = 0xdeadbeef;
    public static final int IOMMU_HWPT_DATA_SELFTEST = 0xdead;
    public static final int IOMMU_TEST_IOTLB_DEFAULT = 0xbadbeef;
    public static final int IOMMU_HWPT_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
    public static final int IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID = 0xdadbeef;
    public static final int IOMMU_TEST_INVALIDATE_FLAG_ALL = 1 << 0;
    // the mock vIOMMU of upstream's selftest (6.13 - 6.17)
    public static final int IOMMU_VIOMMU_TYPE_SELFTEST = 0xdeadbeef;
    public static final int IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
    public static final int IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID = 0xdadbeef;
    public static final int MOCK_DEV_CACHE_ID_MAX = 3;
    public static final int MOCK_DEV_CACHE_NUM = 4;
    public static final int IOMMU_TEST_DEV_CACHE_DEFAULT = 0xbaddad;
    public static final int IOMMU_VEVENTQ_TYPE_SELFTEST = 0xbeefbeef;
    public static final int IOMMU_HW_QUEUE_TYPE_SELFTEST = 0xdeadbeef;
    public static final int IOMMU_TEST_HW_QUEUE_MAX = 2;

    // uiommu's own IOMMU_TEST_CMD ops ('ui' << 16, far above the kernel's): platform devices, DMA, audit
    public static final int IOMMU_TEST_OP_UI_BASE = 0x75690000;
    public static final int IOMMU_TEST_OP_UI_PLATFORM_DEVICE_INFO = IOMMU_TEST_OP_UI_BASE + 1;
    public static final int IOMMU_TEST_OP_UI_DEVICE_BIND = IOMMU_TEST_OP_UI_BASE + 2;
    public static final int IOMMU_TEST_OP_UI_DEVICE_ATTACH = IOMMU_TEST_OP_UI_BASE + 3;
    public static final int IOMMU_TEST_OP_UI_DEVICE_DETACH = IOMMU_TEST_OP_UI_BASE + 4;
    public static final int IOMMU_TEST_OP_UI_DMA = IOMMU_TEST_OP_UI_BASE + 5;
    public static final int IOMMU_TEST_OP_UI_AUDIT = IOMMU_TEST_OP_UI_BASE + 6;
    public static final int IOMMU_TEST_OP_UI_FAULT_NAME = IOMMU_TEST_OP_UI_BASE + 7;
    public static final int UI_DEVICE_INFO_ATS = 1 << 0;
    public static final int UI_DEVICE_INFO_PRI = 1 << 1;
    public static final int UI_ATTACH_PASID = 1 << 0;
    public static final int UI_DMA_WRITE = 1 << 0;
    public static final int UI_DMA_PASID = 1 << 1;
    public static final int UI_DMA_FAULTED = 1 << 0;
    public static final int UI_DMA_FAULT_STAGE2 = 1 << 1;
    public static final int UI_AUDIT_ENABLE = 1 << 0;
    public static final int UI_AUDIT_DISABLE = 1 << 1;
    public static final int UI_AUDIT_CLEAR = 1 << 2;
    public static final int UI_AUDIT_ENABLED = 1 << 0;

    // vfio.h (type1 container compatibility)
    public static final int VFIO_API_VERSION = 0;
    public static final int VFIO_TYPE1_IOMMU = 1;
    public static final int VFIO_TYPE1v2_IOMMU = 3;
    public static final int VFIO_DMA_CC_IOMMU = 4;
    public static final int VFIO_NOIOMMU_IOMMU = 8;
    public static final int VFIO_UNMAP_ALL = 9;
    public static final int VFIO_IOMMU_INFO_PGSIZES = 1 << 0;
    public static final int VFIO_IOMMU_INFO_CAPS = 1 << 1;
    public static final int VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
    public static final int VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;
    public static final int VFIO_DMA_MAP_FLAG_READ = 1 << 0;
    public static final int VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
    public static final int VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0;
    public static final int VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;
    public static final int VFIO_DMA_UNMAP_FLAG_VADDR = 1 << 2;

    // vfio.h (the device file)
    public static final int VFIO_DEVICE_FLAGS_RESET = 1 << 0;
    public static final int VFIO_DEVICE_FLAGS_PCI = 1 << 1;
    public static final int VFIO_DEVICE_FLAGS_CAPS = 1 << 7;
    public static final int VFIO_REGION_INFO_FLAG_READ = 1 << 0;
    public static final int VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
    public static final int VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;
    public static final int VFIO_REGION_INFO_FLAG_CAPS = 1 << 3;
    public static final int VFIO_IRQ_INFO_EVENTFD = 1 << 0;
    public static final int VFIO_IRQ_INFO_MASKABLE = 1 << 1;
    public static final int VFIO_IRQ_INFO_AUTOMASKED = 1 << 2;
    public static final int VFIO_IRQ_INFO_NORESIZE = 1 << 3;
    public static final int VFIO_IRQ_SET_DATA_NONE = 1 << 0;
    public static final int VFIO_IRQ_SET_DATA_BOOL = 1 << 1;
    public static final int VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
    public static final int VFIO_IRQ_SET_ACTION_MASK = 1 << 3;
    public static final int VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4;
    public static final int VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;
    public static final int VFIO_IRQ_SET_DATA_TYPE_MASK = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL
            | VFIO_IRQ_SET_DATA_EVENTFD;
    public static final int VFIO_IRQ_SET_ACTION_TYPE_MASK = VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK
            | VFIO_IRQ_SET_ACTION_TRIGGER;
    public static final int VFIO_PCI_BAR0_REGION_INDEX = 0;
    public static final int VFIO_PCI_BAR5_REGION_INDEX = 5;
    public static final int VFIO_PCI_ROM_REGION_INDEX = 6;
    public static final int VFIO_PCI_CONFIG_REGION_INDEX = 7;
    public static final int VFIO_PCI_VGA_REGION_INDEX = 8;
    public static final int VFIO_PCI_NUM_REGIONS = 9;
    public static final int VFIO_PCI_INTX_IRQ_INDEX = 0;
    public static final int VFIO_PCI_MSI_IRQ_INDEX = 1;
    public static final int VFIO_PCI_MSIX_IRQ_INDEX = 2;
    public static final int VFIO_PCI_ERR_IRQ_INDEX = 3;
    public static final int VFIO_PCI_REQ_IRQ_INDEX = 4;
    public static final int VFIO_PCI_NUM_IRQS = 5;
    /** vfio-pci's region offset: index << 40 (VFIO_PCI_INDEX_TO_OFFSET). */
    public static final int VFIO_PCI_OFFSET_SHIFT = 40;
    /** Linux 6.17. */
    public static final int VFIO_DEVICE_BIND_FLAG_TOKEN = 1 << 0;
    /** Linux 6.15. */
    public static final int VFIO_DEVICE_ATTACH_PASID = 1 << 0;
    /** Linux 6.15. */
    public static final int VFIO_DEVICE_DETACH_PASID = 1 << 0;
    public static final int VFIO_REGION_INFO_CAP_SPARSE_MMAP = 1;
    public static final int VFIO_DEVICE_FEATURE_MASK = 0xffff;
    public static final int VFIO_DEVICE_FEATURE_GET = 1 << 16;
    public static final int VFIO_DEVICE_FEATURE_SET = 1 << 17;
    public static final int VFIO_DEVICE_FEATURE_PROBE = 1 << 18;
    public static final int VFIO_DEVICE_FEATURE_PCI_VF_TOKEN = 0;
    public static final int VFIO_DEVICE_FEATURE_MIGRATION = 1;
    public static final int VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE = 2;
    public static final int VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY = 3;
    public static final int VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP = 4;
    public static final int VFIO_DEVICE_FEATURE_LOW_POWER_EXIT = 5;
    public static final int VFIO_DEVICE_FEATURE_DMA_LOGGING_START = 6;
    public static final int VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP = 7;
    public static final int VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT = 8;
    public static final int VFIO_DEVICE_FEATURE_MIG_DATA_SIZE = 9;
    /** CDX devices only (vfio-cdx); a PCI device answers ENOTTY. */
    public static final int VFIO_DEVICE_FEATURE_BUS_MASTER = 10;
    // eventfd.h
    public static final int EFD_SEMAPHORE = 1;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int EFD_CLOEXEC = 0x80000;

    private static final Map<String, Long> BY_NAME = collect();

    private static Map<String, Long> collect() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (java.lang.reflect.Field f : UapiConstants.class.getDeclaredFields()) {
            int mod = f.getModifiers();
            if (!java.lang.reflect.Modifier.isStatic(mod) || !java.lang.reflect.Modifier.isPublic(mod)) {
                continue;
            }
            try {
                Object v = f.get(null);
                if (v instanceof Integer i) {
                    // Selftest magic numbers such as 0xdeadbeef are u32 in C.
                    m.put(f.getName(), Integer.toUnsignedLong(i));
                } else if (v instanceof Long l) {
                    m.put(f.getName(), l);
                }
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        for (Ioctl i : Ioctl.values()) {
            m.put(i.name(), (long) i.code());
        }
        return Collections.unmodifiableMap(m);
    }

    /** The value of a constant by its kernel name, or null. */
    public static Long byName(String name) {
        return BY_NAME.get(name);
    }

    /** Every constant, by name. */
    public static Map<String, Long> all() {
        return BY_NAME;
    }
}
