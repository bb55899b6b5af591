package io.uiommu.iommu;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A page request group (struct iopf_group): every request of one PRG index of a device up to and
 * including the last-page request, in arrival order, with the attachment it was routed to (the
 * domain and the PASID whose attach handle matched, {@link Translation#NO_PASID} for the RID's).
 * It is answered once, as a whole, with the last request's PASID and group index.
 *
 * <p>Locking: immutable apart from the answered flag (atomic) and the cookie its handler keeps.
 */
public final class IopfGroup {
    private final IommuDevice device;
    private final List<PageRequest> requests;
    private final IommuDomain domain;
    private final int attachPasid;
    private final AtomicBoolean answered = new AtomicBoolean();
    private volatile int cookie;

    IopfGroup(IommuDevice device, List<PageRequest> requests, IommuDomain domain, int attachPasid) {
        this.device = device;
        this.requests = List.copyOf(requests);
        this.domain = domain;
        this.attachPasid = attachPasid;
    }

    public IommuDevice device() {
        return device;
    }

    /** The requests, the last-page one last. */
    public List<PageRequest> requests() {
        return requests;
    }

    public int faultCount() {
        return requests.size();
    }

    /** The request the group is answered with (group->last_fault). */
    public PageRequest last() {
        return requests.get(requests.size() - 1);
    }

    /** The domain whose handler took the group. */
    public IommuDomain domain() {
        return domain;
    }

    /** The PASID of the attachment the group was routed to; {@link Translation#NO_PASID} for the RID. */
    public int attachPasid() {
        return attachPasid;
    }

    /** The handler's handle on the group (iommufd's response cookie). */
    public int cookie() {
        return cookie;
    }

    public void setCookie(int cookie) {
        this.cookie = cookie;
    }

    /** Marks the group answered; false when it was already. */
    boolean markAnswered() {
        return answered.compareAndSet(false, true);
    }

    public boolean answered() {
        return answered.get();
    }

    @Override
    public String toString() {
        PageRequest l = last();
        return device + " grpid " + l.grpid() + (l.pasidValid() ? " pasid " + l.pasid() : "") + " (" + requests.size()
                + " requests)";
    }
}
