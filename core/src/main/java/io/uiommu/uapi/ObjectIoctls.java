package io.uiommu.uapi;

import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.Fault;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.iommufd.IommufdObject;
import io.uiommu.iommufd.ObjectTable;

import static io.uiommu.uapi.IommufdStructs.IOMMU_DESTROY;
import static io.uiommu.uapi.IommufdStructs.IOMMU_FAULT_ALLOC;

/** IOMMU_DESTROY and IOMMU_FAULT_QUEUE_ALLOC (drivers/iommu/iommufd/main.c, fault.c). */
final class ObjectIoctls {
    private ObjectIoctls() {
    }

    private static final int DESTROY_ID = IOMMU_DESTROY.offset("id");
    private static final int FAULT_FLAGS = IOMMU_FAULT_ALLOC.offset("flags");
    private static final int FAULT_OUT_ID = IOMMU_FAULT_ALLOC.offset("out_fault_id");
    private static final int FAULT_OUT_FD = IOMMU_FAULT_ALLOC.offset("out_fault_fd");

    /**
     * Any user-destroyable object; EBUSY while referenced, ENOENT when unknown. A platform device
     * bound by uiommu's DEVICE_BIND has no VFIO file to close: DESTROY of its ID detaches and
     * unbinds it, as VFIO's release does.
     */
    static long destroy(Ucmd u) {
        int id = u.u32(DESTROY_ID);
        if (u.ctx.objects().find(id) instanceof Device d && d.platformBound()) {
            d.unbind();
            return 0;
        }
        u.ctx.objects().destroyUser(id, IommufdObject.class);
        return 0;
    }

    /** A fault queue and its fd; the fd holds the object (DESTROY is EBUSY until it is closed). */
    static long faultQueueAlloc(Ucmd u) {
        if (u.u32(FAULT_FLAGS) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags");
        }
        ObjectTable table = u.ctx.objects();
        int id = table.reserve();
        Fault fault = new Fault();
        FaultFile file = new FaultFile(u.ctx, fault);
        int fd;
        try {
            fd = u.caller.fds().install(file);
        } catch (RuntimeException e) {
            table.abort(id);
            throw e;
        }
        u.put32(FAULT_OUT_ID, id);
        u.put32(FAULT_OUT_FD, fd);
        try {
            u.respond();
        } catch (RuntimeException e) {
            table.abort(id);
            u.caller.fds().close(fd);
            throw e;
        }
        table.finalize(id, fault);
        file.attach();
        return 0;
    }
}
