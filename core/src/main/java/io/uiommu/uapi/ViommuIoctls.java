package io.uiommu.uapi;

import io.uiommu.iommu.UserData;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.HwQueue;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.iommufd.ObjectTable;
import io.uiommu.iommufd.Vdevice;
import io.uiommu.iommufd.Veventq;
import io.uiommu.iommufd.Viommu;
import io.uiommu.iommufd.ViommuAllocation;

import static io.uiommu.uapi.IommufdStructs.IOMMU_HW_QUEUE_ALLOC;
import static io.uiommu.uapi.IommufdStructs.IOMMU_VDEVICE_ALLOC;
import static io.uiommu.uapi.IommufdStructs.IOMMU_VEVENTQ_ALLOC;
import static io.uiommu.uapi.IommufdStructs.IOMMU_VIOMMU_ALLOC;

/**
 * IOMMU_VIOMMU_ALLOC and IOMMU_VDEVICE_ALLOC (drivers/iommu/iommufd/viommu.c, Linux 6.13),
 * IOMMU_VEVENTQ_ALLOC (eventq.c, 6.15) and IOMMU_HW_QUEUE_ALLOC (viommu.c, 6.17).
 */
final class ViommuIoctls {
    private ViommuIoctls() {
    }

    /**
     * flags or type DEFAULT: EOPNOTSUPP; dev_id: ENOENT; no vIOMMU of that type: EOPNOTSUPP;
     * hwpt_id not a paging HWPT: ENOENT; not a nesting parent: EINVAL; then the driver.
     */
    static long viommuAlloc(Ucmd u) {
        int flags = u.u32(IOMMU_VIOMMU_ALLOC.offset("flags"));
        int type = u.u32(IOMMU_VIOMMU_ALLOC.offset("type"));
        if (flags != 0 || type == UapiConstants.IOMMU_VIOMMU_TYPE_DEFAULT) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags or type");
        }
        Device idev = u.ctx.objects().get(u.u32(IOMMU_VIOMMU_ALLOC.offset("dev_id")), Device.class);
        long dataLen = Integer.toUnsignedLong(u.u32(IOMMU_VIOMMU_ALLOC.offset("data_len")));
        UserData data = dataLen == 0 ? null
                : new UserData(type, u.memory(), u.u64(IOMMU_VIOMMU_ALLOC.offset("data_uptr")), dataLen);
        Viommu v = ViommuAllocation.viommu(u.ctx, idev, u.u32(IOMMU_VIOMMU_ALLOC.offset("hwpt_id")), type, data,
                id -> {
                    u.put32(IOMMU_VIOMMU_ALLOC.offset("out_viommu_id"), id);
                    u.respond();
                });
        return v.id() == 0 ? -Errno.EIO.value() : 0;
    }

    /**
     * viommu_id: ENOENT; dev_id: ENOENT; device of another IOMMU: EINVAL; the device has a vDEVICE
     * or virt_id is taken: EEXIST.
     */
    static long vdeviceAlloc(Ucmd u) {
        ObjectTable table = u.ctx.objects();
        Viommu viommu = table.get(u.u32(IOMMU_VDEVICE_ALLOC.offset("viommu_id")), Viommu.class);
        Device idev = table.get(u.u32(IOMMU_VDEVICE_ALLOC.offset("dev_id")), Device.class);
        long virtId = u.u64(IOMMU_VDEVICE_ALLOC.offset("virt_id"));
        Vdevice v = ViommuAllocation.vdevice(u.ctx, viommu, idev, virtId, id -> {
            u.put32(IOMMU_VDEVICE_ALLOC.offset("out_vdevice_id"), id);
            u.respond();
        });
        return v.id() == 0 ? -Errno.EIO.value() : 0;
    }

    /**
     * flags, __reserved or type DEFAULT: EOPNOTSUPP; depth 0: EINVAL; viommu_id: ENOENT; a vEVENTQ
     * of that type on the vIOMMU: EEXIST. Any other type is accepted, as upstream does: the queue
     * simply receives nothing unless the vIOMMU's driver reports that type.
     */
    static long veventqAlloc(Ucmd u) {
        if (u.u32(IOMMU_VEVENTQ_ALLOC.offset("flags")) != 0 || u.u32(IOMMU_VEVENTQ_ALLOC.offset("__reserved")) != 0
                || u.u32(IOMMU_VEVENTQ_ALLOC.offset("type")) == UapiConstants.IOMMU_VEVENTQ_TYPE_DEFAULT) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags, __reserved or type");
        }
        int depth = u.u32(IOMMU_VEVENTQ_ALLOC.offset("veventq_depth"));
        if (depth == 0) {
            throw new IommufdException(Errno.EINVAL, "veventq_depth 0");
        }
        Viommu viommu = u.ctx.objects().get(u.u32(IOMMU_VEVENTQ_ALLOC.offset("viommu_id")), Viommu.class);
        VeventqFile[] file = new VeventqFile[1];
        Veventq q = ViommuAllocation.veventq(u.ctx, viommu, u.u32(IOMMU_VEVENTQ_ALLOC.offset("type")),
                depth, (id, queue) -> {
                    file[0] = new VeventqFile(u.ctx, queue);
                    int fd = u.caller.fds().install(file[0]);
                    u.put32(IOMMU_VEVENTQ_ALLOC.offset("out_veventq_id"), id);
                    u.put32(IOMMU_VEVENTQ_ALLOC.offset("out_veventq_fd"), fd);
                    try {
                        u.respond();
                    } catch (RuntimeException e) {
                        u.caller.fds().close(fd);
                        throw e;
                    }
                });
        file[0].attach();
        return q.id() == 0 ? -Errno.EIO.value() : 0;
    }

    /**
     * flags or type DEFAULT: EOPNOTSUPP; length 0: EINVAL; the range wraps: EOVERFLOW; viommu_id:
     * ENOENT; then {@link HwQueue} and the driver.
     */
    static long hwQueueAlloc(Ucmd u) {
        int type = u.u32(IOMMU_HW_QUEUE_ALLOC.offset("type"));
        if (u.u32(IOMMU_HW_QUEUE_ALLOC.offset("flags")) != 0 || type == UapiConstants.IOMMU_HW_QUEUE_TYPE_DEFAULT) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags or type");
        }
        long iova = u.u64(IOMMU_HW_QUEUE_ALLOC.offset("nesting_parent_iova"));
        long length = u.u64(IOMMU_HW_QUEUE_ALLOC.offset("length"));
        if (length == 0) {
            throw new IommufdException(Errno.EINVAL, "zero length");
        }
        if (Long.compareUnsigned(iova + (length - 1), iova) < 0) {
            throw new IommufdException(Errno.EOVERFLOW, "queue range wraps");
        }
        Viommu viommu = u.ctx.objects().get(u.u32(IOMMU_HW_QUEUE_ALLOC.offset("viommu_id")), Viommu.class);
        HwQueue q = ViommuAllocation.hwQueue(u.ctx, viommu, type, u.u32(IOMMU_HW_QUEUE_ALLOC.offset("index")), iova,
                length, id -> {
                    u.put32(IOMMU_HW_QUEUE_ALLOC.offset("out_hw_queue_id"), id);
                    u.respond();
                });
        return q.id() == 0 ? -Errno.EIO.value() : 0;
    }
}
