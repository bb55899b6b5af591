package io.uiommu.uapi;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.Fault;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.UserProcess;

/**
 * The fault fd ("[iommufd-pgfault]") of a fault queue. It holds the fault object and the context;
 * closing it lets the object be destroyed. Reading page requests and writing responses in the
 * kernel's record format belongs to the devices-and-events work; until then read and write fail.
 */
final class FaultFile extends OpenFile {
    private final IommufdContext ctx;
    private final Fault fault;
    private boolean attached;

    FaultFile(IommufdContext ctx, Fault fault) {
        this.ctx = ctx;
        this.fault = fault;
    }

    /** Takes the references once the object is published. */
    void attach() {
        fault.get();
        ctx.getFile();
        attached = true;
    }

    @Override
    public long read(UserProcess caller, long buf, long count, long pos) {
        return -Errno.EOPNOTSUPP.value();
    }

    @Override
    public long write(UserProcess caller, long buf, long count, long pos) {
        return -Errno.EOPNOTSUPP.value();
    }

    @Override
    public String name() {
        return "anon_inode:[iommufd-pgfault]";
    }

    @Override
    protected void release() {
        if (attached) {
            synchronized (ctx) {
                fault.put();
            }
            ctx.putFile();
        }
    }
}
