package io.uiommu.uapi;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.Fault;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.UserProcess;

/**
 * The fault fd ("[iommufd-pgfault]") of a fault queue. It holds the fault object and the context;
 * closing it lets the object be destroyed. read() hands out queued page requests as
 * struct iommu_hwpt_pgfault records, each with a cookie; write() takes struct
 * iommu_hwpt_page_response answers by cookie (fault.c of 6.12).
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

    private static final int FAULT_SIZE = IommufdStructs.IOMMU_HWPT_PGFAULT.size();
    private static final int RESPONSE_SIZE = IommufdStructs.IOMMU_HWPT_PAGE_RESPONSE.size();

    @Override
    public long read(UserProcess caller, long buf, long count, long pos) {
        if (pos != 0 || count % FAULT_SIZE != 0) {
            return -Errno.ESPIPE.value();
        }
        synchronized (ctx) {
            long done = 0;
            while (!fault.pending().isEmpty()) {
                if (done >= count || FAULT_SIZE > count - done) {
                    return done == 0 ? -Errno.EINVAL.value() : done;
                }
                Fault.PageRequest r = fault.pending().peekFirst();
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(FAULT_SIZE).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                b.putInt(0, r.flags()).putInt(4, r.device().id()).putInt(8, r.pasid()).putInt(12, r.grpid())
                        .putInt(16, r.perm()).putLong(24, r.addr()).putInt(32, 0);
                int cookie = fault.deliverNext();
                b.putInt(36, cookie);
                try {
                    caller.memory().write(buf + done, b.array(), 0, FAULT_SIZE);
                } catch (io.uiommu.iommufd.IommufdException e) {
                    fault.respond(cookie);
                    fault.pending().addFirst(r);
                    return done == 0 ? -Errno.EFAULT.value() : done;
                }
                done += FAULT_SIZE;
            }
            return done;
        }
    }

    @Override
    public long write(UserProcess caller, long buf, long count, long pos) {
        if (pos != 0 || count % RESPONSE_SIZE != 0) {
            return -Errno.ESPIPE.value();
        }
        synchronized (ctx) {
            long done = 0;
            byte[] rec = new byte[RESPONSE_SIZE];
            int rc = 0;
            while (count > done) {
                try {
                    caller.memory().read(buf + done, rec, 0, RESPONSE_SIZE);
                } catch (io.uiommu.iommufd.IommufdException e) {
                    rc = -Errno.EFAULT.value();
                    break;
                }
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(rec).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                int code = b.getInt(4);
                if (code != UapiConstants.IOMMUFD_PAGE_RESP_SUCCESS && code != UapiConstants.IOMMUFD_PAGE_RESP_INVALID
                        || !fault.respond(b.getInt(0))) {
                    rc = -Errno.EINVAL.value();
                    break;
                }
                done += RESPONSE_SIZE;
            }
            return done == 0 ? rc : done;
        }
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
