package io.uiommu.uapi;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.proc.UserProcess;

/** The VFIO type1 container ioctls accepted on an iommufd (drivers/iommu/iommufd/vfio_compat.c). */
final class VfioCompat {
    private VfioCompat() {
    }

    static long ioctl(IommufdContext ctx, UserProcess caller, Ioctl op, long arg) {
        throw new IommufdException(Errno.ENOTTY, "VFIO compatibility is being written");
    }

    static long vfioIoas(Ucmd u) {
        throw new IommufdException(Errno.ENOTTY, "VFIO compatibility is being written");
    }
}
