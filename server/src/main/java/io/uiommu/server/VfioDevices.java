package io.uiommu.server;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.proc.UserProcess;
import io.uiommu.uapi.DevIommu;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * open(2) of a VFIO cdev (/dev/vfio/devices/vfioN) for a client: the machine's device N behind a new
 * file in the client, or ENOENT. The core's entry ({@code DevIommu.openVfioDevice}) is found once by
 * name, so the daemon builds with or without it.
 *
 * <p>Locking: stateless.
 */
final class VfioDevices {
    private static final MethodHandle OPEN = find();

    private VfioDevices() {
    }

    private static MethodHandle find() {
        try {
            return MethodHandles.publicLookup().findVirtual(DevIommu.class, "openVfioDevice",
                    MethodType.methodType(int.class, UserProcess.class, String.class, int.class));
        } catch (NoSuchMethodException | IllegalAccessException e) {
            return null;
        }
    }

    static int open(DevIommu dev, UserProcess caller, String path, int flags) {
        if (OPEN == null) {
            throw new IommufdException(Errno.ENOENT, "no VFIO devices on this machine");
        }
        try {
            return (int) OPEN.invokeExact(dev, caller, path, flags);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
