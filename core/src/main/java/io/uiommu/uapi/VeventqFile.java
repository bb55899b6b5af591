package io.uiommu.uapi;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.Veventq;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.UserProcess;

/**
 * The fd of a vEVENTQ ("[iommufd-viommu-event]", eventq.c of Linux 6.15): read() hands out whole
 * vEVENTs (header and data) without blocking, write() is refused (the file has no write operation:
 * EINVAL), poll() says POLLIN | POLLRDNORM while something waits and never POLLOUT. It holds the
 * vEVENTQ and the context; closing it lets the vEVENTQ be destroyed.
 *
 * <p>Locking: the queue guards itself; the references change under the context lock.
 */
final class VeventqFile extends OpenFile {
    private final IommufdContext ctx;
    private final Veventq veventq;
    private boolean attached;

    VeventqFile(IommufdContext ctx, Veventq veventq) {
        this.ctx = ctx;
        this.veventq = veventq;
    }

    /** Takes the references once the object is published, and starts waking pollers. */
    void attach() {
        veventq.get();
        ctx.getFile();
        attached = true;
        veventq.setWakeup(this::readinessChanged);
    }

    @Override
    public long read(UserProcess caller, long buf, long count, long pos) {
        if (pos != 0) {
            return -Errno.ESPIPE.value();
        }
        long n = veventq.read(caller.memory(), buf, count);
        if (n > 0) {
            readinessChanged();
        }
        return n;
    }

    @Override
    public int poll(UserProcess caller) {
        return veventq.hasEvents() ? POLLIN | POLLRDNORM : 0;
    }

    @Override
    public String name() {
        return "anon_inode:[iommufd-viommu-event]";
    }

    @Override
    protected void release() {
        if (attached) {
            veventq.setWakeup(null);
            synchronized (ctx) {
                veventq.put();
            }
            ctx.putFile();
        }
    }
}
