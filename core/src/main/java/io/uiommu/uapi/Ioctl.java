package io.uiommu.uapi;

/**
 * The ioctls of /dev/iommu: request code, argument struct and minimum size, as the kernel's dispatch
 * table (drivers/iommu/iommufd/main.c) declares them. The iommufd commands are {@code _IO(';', nr)}:
 * no size or direction bits, so the code is {@code 0x3B00 | nr}. The VFIO type1 compatibility
 * commands share the type with {@code VFIO_BASE = 100}, and so do the VFIO device-file commands,
 * which /dev/iommu answers with ENOTTY and the VFIO cdev (io.uiommu.vfio) implements.
 */
public enum Ioctl {
    IOMMU_DESTROY(0x80, IommufdStructs.IOMMU_DESTROY, "id"),
    IOMMU_IOAS_ALLOC(0x81, IommufdStructs.IOMMU_IOAS_ALLOC, "out_ioas_id"),
    IOMMU_IOAS_ALLOW_IOVAS(0x82, IommufdStructs.IOMMU_IOAS_ALLOW_IOVAS, "allowed_iovas"),
    IOMMU_IOAS_COPY(0x83, IommufdStructs.IOMMU_IOAS_COPY, "src_iova"),
    IOMMU_IOAS_IOVA_RANGES(0x84, IommufdStructs.IOMMU_IOAS_IOVA_RANGES, "out_iova_alignment"),
    IOMMU_IOAS_MAP(0x85, IommufdStructs.IOMMU_IOAS_MAP, "iova"),
    IOMMU_IOAS_UNMAP(0x86, IommufdStructs.IOMMU_IOAS_UNMAP, "length"),
    IOMMU_OPTION(0x87, IommufdStructs.IOMMU_OPTION, "val64"),
    IOMMU_VFIO_IOAS(0x88, IommufdStructs.IOMMU_VFIO_IOAS, "__reserved"),
    IOMMU_HWPT_ALLOC(0x89, IommufdStructs.IOMMU_HWPT_ALLOC, "__reserved"),
    IOMMU_GET_HW_INFO(0x8a, IommufdStructs.IOMMU_HW_INFO, "__reserved"),
    IOMMU_HWPT_SET_DIRTY_TRACKING(0x8b, IommufdStructs.IOMMU_HWPT_SET_DIRTY_TRACKING, "__reserved"),
    IOMMU_HWPT_GET_DIRTY_BITMAP(0x8c, IommufdStructs.IOMMU_HWPT_GET_DIRTY_BITMAP, "data"),
    IOMMU_HWPT_INVALIDATE(0x8d, IommufdStructs.IOMMU_HWPT_INVALIDATE, "__reserved"),
    IOMMU_FAULT_QUEUE_ALLOC(0x8e, IommufdStructs.IOMMU_FAULT_ALLOC, "out_fault_fd"),
    /** Linux 6.13; the struct grew data_len/data_uptr in 6.15, out_viommu_id ends the first version. */
    IOMMU_VIOMMU_ALLOC(0x90, IommufdStructs.IOMMU_VIOMMU_ALLOC, "out_viommu_id"),
    /** Linux 6.13. */
    IOMMU_VDEVICE_ALLOC(0x91, IommufdStructs.IOMMU_VDEVICE_ALLOC, "virt_id"),
    /** Linux 6.15. */
    IOMMU_VEVENTQ_ALLOC(0x93, IommufdStructs.IOMMU_VEVENTQ_ALLOC, "__reserved"),
    /** Linux 6.17. */
    IOMMU_HW_QUEUE_ALLOC(0x94, IommufdStructs.IOMMU_HW_QUEUE_ALLOC, "length"),
    IOMMU_TEST_CMD(0xa0, TestStructs.IOMMU_TEST_CMD, "last"),

    VFIO_GET_API_VERSION(100, null, null),
    VFIO_CHECK_EXTENSION(101, null, null),
    VFIO_SET_IOMMU(102, null, null),
    VFIO_IOMMU_GET_INFO(112, VfioStructs.VFIO_IOMMU_TYPE1_INFO, "iova_pgsizes"),
    VFIO_IOMMU_MAP_DMA(113, VfioStructs.VFIO_IOMMU_TYPE1_DMA_MAP, "size"),
    VFIO_IOMMU_UNMAP_DMA(114, VfioStructs.VFIO_IOMMU_TYPE1_DMA_UNMAP, "size"),

    // The VFIO device file (/dev/vfio/devices/vfioN, io.uiommu.vfio): minimum sizes are vfio's minsz.
    VFIO_DEVICE_GET_INFO(107, VfioStructs.VFIO_DEVICE_INFO, "num_irqs"),
    VFIO_DEVICE_GET_REGION_INFO(108, VfioStructs.VFIO_REGION_INFO, "offset"),
    VFIO_DEVICE_GET_IRQ_INFO(109, VfioStructs.VFIO_IRQ_INFO, "count"),
    VFIO_DEVICE_SET_IRQS(110, VfioStructs.VFIO_IRQ_SET, "count"),
    VFIO_DEVICE_RESET(111, null, null),
    VFIO_DEVICE_FEATURE(117, VfioStructs.VFIO_DEVICE_FEATURE, "flags"),
    VFIO_DEVICE_BIND_IOMMUFD(118, VfioStructs.VFIO_DEVICE_BIND_IOMMUFD, "out_devid"),
    VFIO_DEVICE_ATTACH_IOMMUFD_PT(119, VfioStructs.VFIO_DEVICE_ATTACH_IOMMUFD_PT, "pt_id"),
    VFIO_DEVICE_DETACH_IOMMUFD_PT(120, VfioStructs.VFIO_DEVICE_DETACH_IOMMUFD_PT, "flags");

    public static final int IOMMUFD_TYPE = ';';

    private final int nr;
    private final UapiStruct struct;
    private final int minSize;
    private final String label = "ioctl " + name();

    Ioctl(int nr, UapiStruct struct, String lastMandatoryField) {
        this.nr = nr;
        this.struct = struct;
        this.minSize = struct == null ? 0 : struct.offsetOfEnd(lastMandatoryField);
    }

    /** "ioctl NAME", for reports that say which call did something. */
    public String label() {
        return label;
    }

    /** The request code a C program passes to ioctl(2). */
    public int code() {
        return (IOMMUFD_TYPE << 8) | nr;
    }

    public int nr() {
        return nr;
    }

    /** The argument struct, or null for commands that take an integer argument. */
    public UapiStruct struct() {
        return struct;
    }

    /** offsetofend of the last field of the first version of the struct: smaller sizes are EINVAL. */
    public int minSize() {
        return minSize;
    }

    /** True for the VFIO type1 compatibility commands (argsz-based, not size-based). */
    public boolean isVfio() {
        return nr < 0x80;
    }

    private static final Ioctl[] BY_NR = new Ioctl[256];

    static {
        for (Ioctl i : values()) {
            BY_NR[i.nr] = i;
        }
    }

    /** The ioctl with this exact request code, or null. */
    public static Ioctl ofCode(int code) {
        if ((code & ~0xffff) != 0 || (code >>> 8) != IOMMUFD_TYPE) {
            return null;
        }
        return BY_NR[code & 0xff];
    }
}
