package io.uiommu.iommufd;

import io.uiommu.iommu.IoPageFault;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IopfGroup;
import io.uiommu.iommu.PageResponse;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An I/O page fault queue (struct iommufd_fault, fault.c of 6.12). HWPTs allocated with its ID
 * install its handler on their domain: whole page request groups of their devices queue here
 * ({@code deliver}); reading the fault fd moves them, whole, to the awaiting-response table under
 * a cookie (lowest free from 1); writing a response answers the group through the iommu core.
 * Groups of an attachment that goes away are answered INVALID (iommufd_auto_response_faults), and
 * whatever is left when the object is destroyed too.
 *
 * <p>Locking: this object's monitor guards both queues (the kernel's fault->mutex and lock);
 * answers to the iommu core and the readiness callback run outside it. Reference counting
 * ({@link #get}/{@link #put}) stays under the owning context's lock.
 */
public final class Fault extends IommufdObject {
    private final ArrayDeque<IopfGroup> deliver = new ArrayDeque<>();
    private final TreeMap<Integer, IopfGroup> response = new TreeMap<>();
    /** Device object by iommu device, for the dev_id of read records (the attach handle's idev). */
    private final Map<IommuDevice, Device> devices = new java.util.HashMap<>();
    private volatile Runnable readinessListener;

    public Fault() {
        super(ObjectType.FAULT);
    }

    /** Who hears when groups were queued or the deliver queue drained (the fault fd's poll state). */
    public void setReadinessListener(Runnable listener) {
        this.readinessListener = listener;
    }

    private void readinessChanged() {
        Runnable l = readinessListener;
        if (l != null) {
            l.run();
        }
    }

    /** Remembers which Device object stands for an iommu device attached to a HWPT of this queue. */
    synchronized void bind(Device idev) {
        devices.put(idev.iommuDevice(), idev);
    }

    /** The Device object a group of {@code dev} reports as dev_id; null if none is bound. */
    public synchronized Device deviceOf(IommuDevice dev) {
        return devices.get(dev);
    }

    /** iommufd_fault_iopf_handler: the group is taken over and queued for reading. */
    boolean handle(IopfGroup group) {
        IoPageFault.groupDequeue(group);
        synchronized (this) {
            deliver.addLast(group);
        }
        readinessChanged();
        return true;
    }

    /** Whether groups wait to be read (POLLIN). */
    public synchronized boolean hasDeliverable() {
        return !deliver.isEmpty();
    }

    /** iommufd_fault_deliver_fetch: the oldest queued group, or null. */
    public synchronized IopfGroup fetch() {
        return deliver.pollFirst();
    }

    /** iommufd_fault_deliver_restore: puts a group back at the head. */
    public synchronized void restore(IopfGroup group) {
        deliver.addFirst(group);
    }

    /** Files a fetched group under the lowest free cookie (from 1) and returns it. */
    public synchronized int awaitResponse(IopfGroup group) {
        int cookie = 1;
        for (Integer used : response.keySet()) {
            if (used != cookie) {
                break;
            }
            cookie++;
        }
        response.put(cookie, group);
        group.setCookie(cookie);
        return cookie;
    }

    /** Takes back a cookie handed out by {@link #awaitResponse} whose record could not be copied. */
    public synchronized void unfile(int cookie) {
        response.remove(cookie);
    }

    /** The group waiting under a cookie, removed; null when none waits under it. */
    public synchronized IopfGroup takeResponse(int cookie) {
        return response.remove(cookie);
    }

    /** Groups queued for reading (tests and inspection). */
    public synchronized int deliverCount() {
        return deliver.size();
    }

    /** Groups read and not yet answered. */
    public synchronized int awaitingCount() {
        return response.size();
    }

    /** Signals readers after a read emptied the queue (the poll state changed). */
    public void drained() {
        readinessChanged();
    }

    /**
     * iommufd_auto_response_faults: the groups of one attachment (device and PASID, NO_PASID for
     * the RID), queued or read, are answered INVALID and forgotten.
     */
    void autoRespond(Device idev, int attachPasid) {
        List<IopfGroup> answer = new ArrayList<>();
        boolean drained;
        synchronized (this) {
            int before = deliver.size();
            for (Iterator<IopfGroup> it = deliver.iterator(); it.hasNext();) {
                IopfGroup g = it.next();
                if (matches(g, idev, attachPasid)) {
                    it.remove();
                    answer.add(g);
                }
            }
            drained = before > 0 && deliver.isEmpty();
            for (Iterator<IopfGroup> it = response.values().iterator(); it.hasNext();) {
                IopfGroup g = it.next();
                if (matches(g, idev, attachPasid)) {
                    it.remove();
                    answer.add(g);
                }
            }
        }
        for (IopfGroup g : answer) {
            IoPageFault.groupResponse(g, PageResponse.INVALID);
        }
        if (drained) {
            readinessChanged();
        }
    }

    private static boolean matches(IopfGroup g, Device idev, int attachPasid) {
        return g.device() == idev.iommuDevice() && g.attachPasid() == attachPasid;
    }

    /** iommufd_fault_destroy: everything still queued or awaiting an answer is answered INVALID. */
    @Override
    protected void destroy() {
        List<IopfGroup> answer;
        synchronized (this) {
            answer = new ArrayList<>(deliver);
            answer.addAll(response.values());
            deliver.clear();
            response.clear();
            devices.clear();
        }
        for (IopfGroup g : answer) {
            IoPageFault.groupResponse(g, PageResponse.INVALID);
        }
    }
}
