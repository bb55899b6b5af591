package io.uiommu.iommu;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * A device's page fault state in the iommu core (struct iommu_fault_param), present while I/O page
 * faults are enabled for it: requests of groups whose last page has not arrived yet, and groups
 * reported to a handler that has not taken them over.
 *
 * <p>Locking: this object's monitor.
 */
final class DeviceFaultParam {
    private final List<PageRequest> partial = new ArrayList<>();
    private final List<IopfGroup> pending = new ArrayList<>();

    synchronized void addPartial(PageRequest request) {
        partial.add(request);
    }

    /** The partial requests of {@code grpid} (oldest first) followed by {@code last}; they leave the partial list. */
    synchronized List<PageRequest> takeGroup(PageRequest last) {
        List<PageRequest> group = new ArrayList<>();
        for (Iterator<PageRequest> it = partial.iterator(); it.hasNext();) {
            PageRequest r = it.next();
            if (r.grpid() == last.grpid()) {
                group.add(r);
                it.remove();
            }
        }
        group.add(last);
        return group;
    }

    synchronized void addPending(IopfGroup group) {
        pending.add(group);
    }

    synchronized void removePending(IopfGroup group) {
        pending.remove(group);
    }

    synchronized int partialCount() {
        return partial.size();
    }

    synchronized void discardPartial() {
        partial.clear();
    }

    /** Empties the state: partial requests are dropped, pending groups returned for answering. */
    synchronized List<IopfGroup> drain() {
        partial.clear();
        List<IopfGroup> groups = new ArrayList<>(pending);
        pending.clear();
        return groups;
    }
}
