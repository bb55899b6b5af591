package io.uiommu.uapi;

import io.uiommu.iommu.IoPageFault;
import io.uiommu.iommu.IopfGroup;
import io.uiommu.iommu.PageRequest;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.Fault;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.UserProcess;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The fault fd ("[iommufd-pgfault]") of a fault queue (fault.c of 6.12). It holds a reference on
 * the fault object and the context; closing it lets the object be destroyed. read() hands out
 * whole page request groups as struct iommu_hwpt_pgfault records sharing the group's cookie
 * (EINVAL when the buffer cannot hold the first group); write() takes struct
 * iommu_hwpt_page_response answers by cookie and stops at the first bad one (EINVAL for an
 * unknown code or cookie), returning what it did; a non-zero position or a count that is not a
 * multiple of the record is ESPIPE. poll() is always writable and readable while groups wait.
 *
 * <p>Locking: the fault object's monitor for its queues; answers go to the iommu core after it is
 * released (the device may resume its DMA in this thread).
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
        fault.setReadinessListener(this::readinessChanged);
    }

    private static final int FAULT_SIZE = IommufdStructs.IOMMU_HWPT_PGFAULT.size();
    private static final int RESPONSE_SIZE = IommufdStructs.IOMMU_HWPT_PAGE_RESPONSE.size();

    @Override
    public long read(UserProcess caller, long buf, long count, long pos) {
        if (pos != 0 || count % FAULT_SIZE != 0) {
            return -Errno.ESPIPE.value();
        }
        long done = 0;
        long rc = 0;
        boolean tookAny = false;
        synchronized (fault) {
            IopfGroup group;
            while ((group = fault.fetch()) != null) {
                long groupDone = done;
                if (done >= count || (long) group.faultCount() * FAULT_SIZE > count - done) {
                    fault.restore(group);
                    if (done == 0) {
                        rc = -Errno.EINVAL.value();
                    }
                    break;
                }
                int cookie = fault.awaitResponse(group);
                Device idev = fault.deviceOf(group.device());
                byte[] rec = new byte[FAULT_SIZE];
                for (PageRequest r : group.requests()) {
                    compose(rec, r, idev == null ? 0 : idev.id(), cookie);
                    try {
                        caller.memory().write(buf + groupDone, rec, 0, FAULT_SIZE);
                    } catch (IommufdException e) {
                        fault.unfile(cookie);
                        fault.restore(group);
                        rc = -Errno.EFAULT.value();
                        break;
                    }
                    groupDone += FAULT_SIZE;
                }
                if (rc != 0) {
                    break;
                }
                done = groupDone;
                tookAny = true;
            }
        }
        if (tookAny && !fault.hasDeliverable()) {
            fault.drained();
        }
        return done == 0 ? rc : done;
    }

    /** iommufd_compose_fault_message: the kernel's request fields as they are, length 0. */
    private static void compose(byte[] rec, PageRequest r, int devId, int cookie) {
        ByteBuffer b = ByteBuffer.wrap(rec).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, r.flags()).putInt(4, devId).putInt(8, r.pasid()).putInt(12, r.grpid()).putInt(16, r.perm())
                .putInt(20, 0).putLong(24, r.addr()).putInt(32, 0).putInt(36, cookie);
    }

    @Override
    public long write(UserProcess caller, long buf, long count, long pos) {
        if (pos != 0 || count % RESPONSE_SIZE != 0) {
            return -Errno.ESPIPE.value();
        }
        long done = 0;
        long rc = 0;
        List<IopfGroup> groups = new ArrayList<>();
        List<Integer> codes = new ArrayList<>();
        byte[] rec = new byte[RESPONSE_SIZE];
        synchronized (fault) {
            while (count > done) {
                try {
                    caller.memory().read(buf + done, rec, 0, RESPONSE_SIZE);
                } catch (IommufdException e) {
                    rc = -Errno.EFAULT.value();
                    break;
                }
                ByteBuffer b = ByteBuffer.wrap(rec).order(ByteOrder.LITTLE_ENDIAN);
                int cookie = b.getInt(0);
                int code = b.getInt(4);
                if (code != UapiConstants.IOMMUFD_PAGE_RESP_SUCCESS && code != UapiConstants.IOMMUFD_PAGE_RESP_INVALID) {
                    rc = -Errno.EINVAL.value();
                    break;
                }
                IopfGroup group = fault.takeResponse(cookie);
                if (group == null) {
                    rc = -Errno.EINVAL.value();
                    break;
                }
                groups.add(group);
                codes.add(code);
                done += RESPONSE_SIZE;
            }
        }
        // The uAPI codes equal the iommu core's (IOMMUFD_PAGE_RESP_x == IOMMU_PAGE_RESP_x).
        for (int i = 0; i < groups.size(); i++) {
            IoPageFault.groupResponse(groups.get(i), codes.get(i));
        }
        return done == 0 ? rc : done;
    }

    @Override
    public int poll(UserProcess caller) {
        return POLLOUT | (fault.hasDeliverable() ? POLLIN | POLLRDNORM : 0);
    }

    @Override
    public String name() {
        return "anon_inode:[iommufd-pgfault]";
    }

    @Override
    protected void release() {
        if (attached) {
            fault.setReadinessListener(null);
            synchronized (ctx) {
                fault.put();
            }
            ctx.putFile();
        }
    }
}
