package io.uiommu.iommu;

import io.uiommu.mem.PhysicalMemory;

/**
 * One device-initiated DMA that can recover from translation faults with page requests, as a
 * function with ATS and PRI does: it translates page by page; when a translation fails in a way
 * the IOMMU reports as "no permission" to a translation request (not present, or a permission the
 * tables do not grant) and the host enabled PRI, it sends a one-page request group and waits. A
 * SUCCESS response retries the translation (a page that faults again gets another request, at
 * most {@link #MAX_REQUESTS_PER_PAGE} in all); INVALID or FAILURE ends the transfer with the fault.
 * Any other fault ends it at once. The completion hears the result exactly once.
 *
 * <p>Locking: run by one thread at a time — the starter until a request is sent, then whichever
 * thread delivers the response; the hand-over goes through {@link PriFunction}'s monitor and queue.
 */
final class DmaTransfer {
    /** Page requests for one page before the transfer gives up (a device's retry budget). */
    static final int MAX_REQUESTS_PER_PAGE = 4;

    private final PhysicalMemory physical;
    private final IommuDevice dev;
    private final int pasid;
    private final long iova;
    private final byte[] buffer;
    private final int offset;
    private final int length;
    private final boolean write;
    private final boolean pri;
    private final DmaCompletion onDone;
    private final Translation t = new Translation();
    private long done;
    private int requests;
    private DmaResult.Fault pendingFault;

    DmaTransfer(PhysicalMemory physical, IommuDevice dev, int pasid, long iova, byte[] buffer, int offset, int length,
            boolean write, boolean pri, DmaCompletion onDone) {
        this.physical = physical;
        this.dev = dev;
        this.pasid = pasid;
        this.iova = iova;
        this.buffer = buffer;
        this.offset = offset;
        this.length = length;
        this.write = write;
        this.pri = pri;
        this.onDone = onDone;
    }

    /** Moves bytes until done, a fault that ends the transfer, or a page request sent. */
    void run() {
        int access = write ? IommuDomain.IOMMU_WRITE : IommuDomain.IOMMU_READ;
        while (done < length) {
            long addr = iova + done;
            boolean ats = pri && dev.pri().enabled();
            int request = ats ? access | Translation.ATS_TRANSLATION_REQUEST : access;
            dev.driver().translate(dev, pasid, addr, request, t.reset(addr, pasid, request));
            if (t.faulted) {
                DmaResult.Fault fault = new DmaResult.Fault(addr, pasid, write, t.faultCode, t.faultName,
                        t.faultLevel, t.faultStage2);
                if (!ats || !dev.driver().pageRequestable(t) || requests >= MAX_REQUESTS_PER_PAGE) {
                    finish(fault);
                    return;
                }
                int prgIndex = dev.pri().allocate(this);
                if (prgIndex < 0) {
                    finish(fault);
                    return;
                }
                requests++;
                pendingFault = fault;
                int flags = PageRequest.LAST_PAGE | (pasid != Translation.NO_PASID ? PageRequest.PASID_VALID : 0);
                int perm = write ? PageRequest.PERM_READ | PageRequest.PERM_WRITE : PageRequest.PERM_READ;
                long page = addr & ~(long) (PhysicalMemory.PAGE_SIZE - 1);
                // From here the response may resume this transfer in another thread: touch nothing of it.
                dev.driver().sendPageRequest(dev, new PageRequest(flags, pasid == Translation.NO_PASID ? 0 : pasid,
                        prgIndex, perm, page));
                dev.pri().deliver();
                return;
            }
            done += IommuCore.moveTranslated(physical, t, addr, buffer, offset + (int) done, length - done, write);
            requests = 0;
        }
        finish(null);
    }

    /** The PRG response for the request this transfer waits on. */
    void resume(int code) {
        if (code == PageResponse.SUCCESS) {
            run();
        } else {
            finish(pendingFault);
        }
    }

    private void finish(DmaResult.Fault fault) {
        onDone.done(new DmaResult(done, fault));
    }
}
