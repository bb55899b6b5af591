package io.uiommu.iommu;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;

import java.util.List;

/**
 * The iommu core's I/O page fault routing (drivers/iommu/io-pgfault.c): vendor drivers report
 * the page requests they drain from their hardware queue; requests of a group wait until its
 * last-page request, then the whole group goes to the handler of the domain attached to the
 * request's (device, PASID) — the RID's domain without PASID, or, for drivers whose nested
 * domains own the guest's PASID table, the RID's nested domain. A request nobody can take is
 * answered at once (INVALID when no handler, FAILURE when the handler refuses). Answers go back
 * through the driver's page response, which the hardware turns into a PRG response to the device.
 *
 * <p>Locking: per-device state under its {@link DeviceFaultParam}'s monitor; a group is answered
 * once (atomic flag). Callers of {@link #reportDeviceFault} must not deliver PRG responses to the
 * device while draining their queue; {@link #groupResponse} does, after the driver returned.
 */
public final class IoPageFault {
    private IoPageFault() {
    }

    /**
     * iommu_dev_enable_feature(IOMMU_DEV_FEAT_IOPF): the driver's checks and setup (PRI on the
     * function, page requests accepted for it), then the device joins the fault queue. The
     * driver's errno on refusal; EBUSY when already enabled.
     */
    public static void enable(IommuDevice dev) {
        synchronized (dev) {
            if (dev.faultParam() != null) {
                throw new IommufdException(Errno.EBUSY, dev + " has I/O page faults enabled");
            }
            dev.driver().enableIopf(dev);
            dev.setFaultParam(new DeviceFaultParam());
        }
    }

    /**
     * iommu_dev_disable_feature(IOMMU_DEV_FEAT_IOPF): the driver stops accepting page requests of
     * the device, partial groups are dropped and groups no handler took are answered INVALID
     * (iopf_queue_remove_device), then PRI is off.
     */
    public static void disable(IommuDevice dev) {
        List<IopfGroup> left;
        synchronized (dev) {
            DeviceFaultParam p = dev.faultParam();
            if (p == null) {
                return;
            }
            dev.setFaultParam(null);
            left = p.drain();
        }
        for (IopfGroup g : left) {
            answer(g, PageResponse.INVALID);
        }
        dev.driver().disableIopf(dev);
        dev.pri().deliver();
    }

    /** Whether I/O page faults are enabled for the device. */
    public static boolean enabled(IommuDevice dev) {
        return dev.faultParam() != null;
    }

    /**
     * iommu_report_device_fault for a page request: 0 when the request was taken (queued as
     * partial, or its group handed to a handler or answered FAILURE), -EINVAL when nothing could
     * take it (then it was answered INVALID, as iopf_error_response does).
     */
    public static int reportDeviceFault(IommuDevice dev, PageRequest request) {
        IommuDomain domain = null;
        int attachPasid = Translation.NO_PASID;
        if (request.pasidValid()) {
            domain = dev.pasidDomain(request.pasid());
            attachPasid = request.pasid();
            if (domain == null && dev.driver().userPasidTable()) {
                // The nested domain on the RID owns every PASID (a guest PASID table).
                IommuDomain rid = dev.domain();
                domain = rid.type() == IommuDomain.Type.NESTED ? rid : null;
                attachPasid = Translation.NO_PASID;
            }
        } else {
            domain = dev.domain();
        }
        DeviceFaultParam param = dev.faultParam();
        if (domain == null || domain.iopfHandler() == null || param == null) {
            dev.driver().pageResponse(dev, request, PageResponse.INVALID);
            return -Errno.EINVAL.value();
        }
        if (!request.lastPage()) {
            param.addPartial(request);
            return 0;
        }
        IopfGroup group = new IopfGroup(dev, param.takeGroup(request), domain, attachPasid);
        param.addPending(group);
        boolean taken;
        try {
            taken = domain.iopfHandler().handle(group);
        } catch (RuntimeException e) {
            taken = false;
        }
        if (!taken) {
            param.removePending(group);
            answer(group, PageResponse.FAILURE);
        }
        return 0;
    }

    /**
     * iopf_group_dequeue: the handler took the group over (it will answer it); it no longer counts
     * as pending in the core.
     */
    public static void groupDequeue(IopfGroup group) {
        DeviceFaultParam p = group.device().faultParam();
        if (p != null) {
            p.removePending(group);
        }
    }

    /**
     * iopf_group_response: answers the group through the driver's page response, once (a second
     * answer is ignored), and lets the device act on the PRG response. Call without locks the
     * device's completion may need.
     */
    public static void groupResponse(IopfGroup group, int code) {
        if (answer(group, code)) {
            group.device().pri().deliver();
        }
    }

    /** The answer without delivery to the device (for callers inside a driver's queue drain). */
    static boolean answer(IopfGroup group, int code) {
        if (!group.markAnswered()) {
            return false;
        }
        DeviceFaultParam p = group.device().faultParam();
        if (p != null) {
            p.removePending(group);
        }
        group.device().driver().pageResponse(group.device(), group.last(), code);
        return true;
    }

    /**
     * iopf_queue_discard_partial for one device: after a hardware queue overflow the last requests
     * of some groups may be lost, so their partial requests are dropped.
     */
    public static void discardPartial(IommuDevice dev) {
        DeviceFaultParam p = dev.faultParam();
        if (p != null) {
            p.discardPartial();
        }
    }

    /** Partial requests the core holds for the device (tests). */
    public static int partialCount(IommuDevice dev) {
        DeviceFaultParam p = dev.faultParam();
        return p == null ? 0 : p.partialCount();
    }
}
