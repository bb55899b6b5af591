package io.uiommu.uapi;

import io.uiommu.iommu.UserData;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.iommufd.ObjectTable;
import io.uiommu.iommufd.Vdevice;
import io.uiommu.iommufd.Viommu;
import io.uiommu.iommufd.ViommuAllocation;

import static io.uiommu.uapi.IommufdStructs.IOMMU_VDEVICE_ALLOC;
import static io.uiommu.uapi.IommufdStructs.IOMMU_VIOMMU_ALLOC;

/** IOMMU_VIOMMU_ALLOC and IOMMU_VDEVICE_ALLOC (drivers/iommu/iommufd/viommu.c, Linux 6.13). */
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
}
