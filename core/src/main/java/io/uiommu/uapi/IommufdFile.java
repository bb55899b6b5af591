package io.uiommu.uapi;

import io.uiommu.iommufd.IommufdContext;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.UserProcess;

/** The open file of /dev/iommu: ioctls go to the dispatcher; the last close releases the context. */
final class IommufdFile extends OpenFile {
    private final IommufdContext ctx;

    IommufdFile(IommufdContext ctx) {
        this.ctx = ctx;
    }

    IommufdContext context() {
        return ctx;
    }

    @Override
    public long ioctl(UserProcess caller, int request, long arg) {
        return Dispatcher.ioctl(ctx, caller, request, arg);
    }

    @Override
    public String name() {
        return "/dev/iommu";
    }

    @Override
    protected void release() {
        ctx.putFile();
    }
}
