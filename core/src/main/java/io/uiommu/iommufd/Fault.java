package io.uiommu.iommufd;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * An I/O page fault queue (struct iommufd_fault). HWPTs allocated with its ID deliver the page
 * requests of their devices here; user space reads them through the fault fd and answers. Faults
 * still pending when a device leaves such a HWPT are answered INVALID, as the kernel does.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public final class Fault extends IommufdObject {
    /** A page request group as queued (one iommu_hwpt_pgfault record per request). */
    public record PageRequest(Device device, int flags, int pasid, int grpid, int perm, long addr) {
    }

    private final ArrayDeque<PageRequest> deliver = new ArrayDeque<>();
    private final java.util.TreeMap<Integer, PageRequest> responses = new java.util.TreeMap<>();

    public Fault() {
        super(ObjectType.FAULT);
    }

    /** Queues a page request from a device attached to a HWPT of this queue. */
    public void report(PageRequest request) {
        deliver.add(request);
    }

    public ArrayDeque<PageRequest> pending() {
        return deliver;
    }

    /** Moves the oldest queued request to the awaiting-response set; returns its new cookie (lowest free from 1). */
    public int deliverNext() {
        PageRequest r = deliver.removeFirst();
        int cookie = 1;
        for (Integer used : responses.keySet()) {
            if (used != cookie) {
                break;
            }
            cookie++;
        }
        responses.put(cookie, r);
        return cookie;
    }

    /** Takes the answer for a cookie; false when no request waits under it. */
    public boolean respond(int cookie) {
        return responses.remove(cookie) != null;
    }

    /** iommufd_auto_response_faults: drop what a detaching device still has queued or unanswered. */
    void autoRespond(Device device) {
        for (Iterator<PageRequest> it = deliver.iterator(); it.hasNext();) {
            if (it.next().device() == device) {
                it.remove();
            }
        }
        for (Iterator<PageRequest> it = responses.values().iterator(); it.hasNext();) {
            if (it.next().device() == device) {
                it.remove();
            }
        }
    }

    @Override
    protected void destroy() {
        deliver.clear();
        responses.clear();
    }
}
