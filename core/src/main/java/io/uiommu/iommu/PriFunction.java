package io.uiommu.iommu;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The device side of PCIe's Page Request Interface for one function: whether the host enabled it,
 * the page request group indexes (9 bits) its transfers have outstanding, and the PRG responses
 * the IOMMU sent back. A response is posted by the hardware model (possibly under its locks) and
 * acted on by {@link #deliver}, which resumes the waiting transfer in the caller's thread.
 *
 * <p>Locking: the outstanding table under this object's monitor; responses through a lock-free
 * queue; transfers resume outside both.
 */
public final class PriFunction {
    /** PRG indexes are 9 bits. */
    public static final int PRG_INDEXES = 512;

    private final IommuDevice device;
    private final DmaTransfer[] outstanding = new DmaTransfer[PRG_INDEXES];
    private final ConcurrentLinkedQueue<Response> inbox = new ConcurrentLinkedQueue<>();
    private volatile boolean enabled;
    private int nextIndex;
    private long requestsSent;
    private long responsesReceived;
    private long unexpectedResponses;

    /** One PRG response message: the group index, the PASID it carried (or NO_PASID) and the code. */
    public record Response(int prgIndex, int pasid, int code) {
    }

    PriFunction(IommuDevice device) {
        this.device = device;
    }

    /** Whether the host enabled page requests for the function (PRI control Enable, set by the driver). */
    public boolean enabled() {
        return enabled;
    }

    /** pci_enable_pri / pci_disable_pri, as the vendor driver does when I/O page faults are turned on or off. */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /** Reserves a free PRG index for {@code transfer}; -1 when all are outstanding. */
    synchronized int allocate(DmaTransfer transfer) {
        for (int i = 0; i < PRG_INDEXES; i++) {
            int index = (nextIndex + i) % PRG_INDEXES;
            if (outstanding[index] == null) {
                outstanding[index] = transfer;
                nextIndex = (index + 1) % PRG_INDEXES;
                requestsSent++;
                return index;
            }
        }
        return -1;
    }

    /** Gives an index back without a response (the request could not be sent). */
    synchronized void release(int prgIndex) {
        outstanding[prgIndex] = null;
    }

    private synchronized DmaTransfer take(int prgIndex) {
        DmaTransfer t = outstanding[prgIndex];
        outstanding[prgIndex] = null;
        if (t == null) {
            unexpectedResponses++;
        } else {
            responsesReceived++;
        }
        return t;
    }

    /** The IOMMU sent a PRG response to this function (called by hardware models). */
    public void prgResponse(int prgIndex, int pasid, int code) {
        inbox.add(new Response(prgIndex & (PRG_INDEXES - 1), pasid, code));
    }

    /** Acts on the PRG responses that arrived: each resumes the transfer that waits on its index. */
    public void deliver() {
        Response r;
        while ((r = inbox.poll()) != null) {
            DmaTransfer t = take(r.prgIndex());
            if (t != null) {
                t.resume(r.code());
            }
        }
    }

    /** PRG indexes in use. */
    public synchronized int outstanding() {
        int n = 0;
        for (DmaTransfer t : outstanding) {
            if (t != null) {
                n++;
            }
        }
        return n;
    }

    public synchronized long requestsSent() {
        return requestsSent;
    }

    public synchronized long responsesReceived() {
        return responsesReceived;
    }

    /** Responses for an index nothing waited on (the function ignores them, as PCIe lets it). */
    public synchronized long unexpectedResponses() {
        return unexpectedResponses;
    }

    @Override
    public String toString() {
        return device + " PRI";
    }
}
