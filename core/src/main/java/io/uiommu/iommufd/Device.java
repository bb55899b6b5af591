package io.uiommu.iommufd;

import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDriver;
import io.uiommu.iommu.Translation;

import java.util.Map;
import java.util.TreeMap;

/**
 * A device bound to a context (struct iommufd_device). Binding claims DMA ownership and holds an
 * extra reference, so only the binding driver's unbind removes it (DESTROY is EBUSY). Attaching
 * its RID or one of its PASIDs to an IOAS finds or creates an auto domain; attaching to a HWPT uses
 * that table. A platform device bound without a VFIO device file ({@link #bindPlatform}) is
 * released as VFIO's release would: by DESTROY of its ID or by close of the iommufd.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public final class Device extends IommufdObject {
    private final IommufdContext ctx;
    private final IommuDevice dev;
    private HwPagetable hwpt;
    /** HWPTs of attached PASIDs (each holds a reference on the HWPT and one on this device). */
    private final Map<Integer, HwPagetable> pasidHwpts = new TreeMap<>();
    /** The device's vDEVICE, if one was allocated (iommufd_device.vdev). */
    Vdevice vdev;
    /** Bound by {@link #bindPlatform}: DESTROY and close release it. */
    private boolean platformBound;
    /** Attachments to HWPTs with a fault queue (idev->iopf_enabled): I/O page faults are on while > 0. */
    private int iopfEnabled;

    private Device(IommufdContext ctx, IommuDevice dev) {
        super(ObjectType.DEVICE);
        this.ctx = ctx;
        this.dev = dev;
    }

    /** iommufd_device_bind: the device must be cache coherent and not owned by another user. */
    public static Device bind(IommufdContext ctx, IommuDevice dev) {
        if (!dev.driver().capable(dev, IommuDriver.Cap.CACHE_COHERENCY)) {
            throw new IommufdException(Errno.EINVAL, "device is not cache coherent");
        }
        ctx.iommu().claimDmaOwner(dev);
        try {
            Device d = ctx.objects().add(id -> new Device(ctx, dev));
            d.get();
            return d;
        } catch (RuntimeException e) {
            ctx.iommu().releaseDmaOwner(dev);
            throw e;
        }
    }

    /**
     * Binds a device of the machine's platform by name, as opening its VFIO device file and
     * VFIO_DEVICE_BIND_IOMMUFD would: ENODEV for a name the platform does not have, EBUSY when
     * another user (or this one) owns it already.
     */
    public static Device bindPlatform(IommufdContext ctx, String name) {
        IommuDevice dev = ctx.iommu().device(name);
        if (dev == null) {
            throw new IommufdException(Errno.ENODEV, "no platform device " + name);
        }
        Device d = bind(ctx, dev);
        d.platformBound = true;
        return d;
    }

    /** Whether the device was bound by {@link #bindPlatform} (no VFIO file holds it). */
    public boolean platformBound() {
        return platformBound;
    }

    /** iommufd_device_unbind: detaches if needed and removes the object. */
    public void unbind() {
        destroyVdevice();
        for (int pasid : pasidHwpts.keySet().stream().mapToInt(Integer::intValue).toArray()) {
            detachPasid(pasid);
        }
        if (hwpt != null) {
            detach();
        }
        put();
        ctx.objects().remove(this);
    }

    /** PASIDs with an attached HWPT, ascending. */
    public int[] attachedPasids() {
        return pasidHwpts.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    /** The HWPT a PASID is attached to, or null. */
    public HwPagetable pasidHwpt(int pasid) {
        return pasidHwpts.get(pasid);
    }

    /**
     * A DMA of the device through its IOMMU (uiommu's device side; no kernel call does this):
     * {@code length} bytes at {@code iova}, with {@code pasid} or {@link Translation#NO_PASID}.
     * A translation fault is a result; EOPNOTSUPP when the driver has no DMA model.
     */
    public DmaResult dma(int pasid, long iova, byte[] buffer, int offset, int length, boolean write) {
        return ctx.iommu().dma(dev, pasid, iova, buffer, offset, length, write);
    }

    public IommuDevice iommuDevice() {
        return dev;
    }

    public IommufdContext context() {
        return ctx;
    }

    /** The HWPT the RID is attached to, or null. */
    public HwPagetable hwpt() {
        return hwpt;
    }

    /** iommufd_device_pre_destroy: a vDEVICE left behind is destroyed and its ID left as a tombstone. */
    private void destroyVdevice() {
        if (vdev != null) {
            ctx.objects().tombstone(vdev);
            vdev = null;
        }
    }

    /** The device's vDEVICE, or null. */
    public Vdevice vdevice() {
        return vdev;
    }

    @Override
    protected void destroy() {
        destroyVdevice();
        for (int pasid : attachedPasids()) {
            HwPagetable h = pasidHwpts.remove(pasid);
            ctx.iommu().detachDevicePasid(dev, pasid);
            faultDetached(h, pasid);
            putHwpt(h);
        }
        if (hwpt != null) {
            detachInternal();
        }
        ctx.iommu().releaseDmaOwner(dev);
    }

    // ---- PASID attach (iommufd_device_attach/replace/detach with a PASID, Linux 6.15) ----

    /** Attaches a PASID to an IOAS (auto domain) or HWPT; returns the HWPT ID now used. */
    public int attachPasid(int pasid, int ptId) {
        int id = changePasidPt(pasid, ptId, false);
        get();
        return id;
    }

    /** Switches an attached PASID to another IOAS or HWPT; returns the HWPT ID now used. */
    public int replacePasid(int pasid, int ptId) {
        return changePasidPt(pasid, ptId, true);
    }

    /** Detaches a PASID; nothing attached is not an error (VFIO's detach returns quietly). */
    public void detachPasid(int pasid) {
        HwPagetable old = pasidHwpts.remove(pasid);
        if (old == null) {
            return;
        }
        ctx.iommu().detachDevicePasid(dev, pasid);
        faultDetached(old, pasid);
        putHwpt(old);
        put();
    }

    private int changePasidPt(int pasid, int ptId, boolean replace) {
        IommufdObject pt = ctx.objects().find(ptId);
        if (pt == null) {
            throw new IommufdException(Errno.ENOENT, "no object " + ptId);
        }
        HwPagetable old = pasidHwpts.get(pasid);
        if (replace ? old == null : old != null) {
            throw new IommufdException(replace ? Errno.EINVAL : Errno.EBUSY,
                    "PASID " + pasid + (replace ? " is not attached" : " is attached"));
        }
        return switch (pt) {
            case HwPagetable h -> {
                setPasidHwpt(pasid, h, old);
                yield h.id();
            }
            case Ioas ioas -> autoGetPasidDomain(pasid, ioas, old);
            default -> throw new IommufdException(Errno.EINVAL, "object " + ptId + " is not an IOAS or HWPT");
        };
    }

    private void setPasidHwpt(int pasid, HwPagetable target, HwPagetable old) {
        if (target == old) {
            return;
        }
        checkPasidCompat(target, pasid);
        boolean iopfOn = faultAttaching(target, old);
        try {
            ctx.iommu().attachDevicePasid(dev, pasid, target.domain(), old != null);
        } catch (RuntimeException e) {
            if (iopfOn) {
                iopfDisable();
            }
            throw e;
        }
        pasidHwpts.put(pasid, target);
        target.get();
        if (old != null) {
            faultReplaced(old, target, pasid);
            putHwpt(old);
        }
    }

    /** An auto domain of the IOAS that takes the PASID, or a new one. */
    private int autoGetPasidDomain(int pasid, Ioas ioas, HwPagetable old) {
        for (HwptPaging p : ioas.hwpts()) {
            if (!p.autoDomain()) {
                continue;
            }
            try {
                setPasidHwpt(pasid, p, old);
                return p.id();
            } catch (IommufdException e) {
                if (e.errno() != Errno.EINVAL) {
                    throw e;
                }
            }
        }
        ObjectTable table = ctx.objects();
        int id = table.reserve();
        HwptPaging p;
        try {
            p = HwptPaging.allocate(ctx, ioas, this, HwptPaging.IOMMU_HWPT_ALLOC_PASID, null, false, true);
        } catch (RuntimeException e) {
            table.abort(id);
            throw e;
        }
        try {
            setPasidHwpt(pasid, p, old);
        } catch (RuntimeException e) {
            table.abort(id);
            p.destroy();
            throw e;
        }
        table.finalize(id, p);
        return id;
    }

    // ---- attach ----

    /** iommufd_device_attach: returns the ID of the HWPT now used (the auto domain for an IOAS). */
    public int attach(int ptId) {
        int id = changePt(ptId, false);
        get();
        return id;
    }

    /** iommufd_device_replace: switch an attached RID to another IOAS or HWPT. */
    public int replace(int ptId) {
        return changePt(ptId, true);
    }

    /** iommufd_device_detach. */
    public void detach() {
        detachInternal();
        put();
    }

    private void detachInternal() {
        HwPagetable old = hwpt;
        ctx.iommu().detachDevice(dev);
        faultDetached(old, io.uiommu.iommu.Translation.NO_PASID);
        if (old instanceof HwptPaging p) {
            p.ioas().iopt().removeReserved(dev);
        }
        hwpt = null;
        putHwpt(old);
    }

    private int changePt(int ptId, boolean replace) {
        IommufdObject pt = ctx.objects().find(ptId);
        if (pt == null) {
            throw new IommufdException(Errno.ENOENT, "no object " + ptId);
        }
        return switch (pt) {
            case HwPagetable h -> {
                if (replace) {
                    doReplace(h);
                } else {
                    doAttach(h);
                }
                yield h.id();
            }
            case Ioas ioas -> autoGetDomain(ioas, replace);
            default -> throw new IommufdException(Errno.EINVAL, "object " + ptId + " is not an IOAS or HWPT");
        };
    }

    /** iommufd_hw_pagetable_attach. */
    void doAttach(HwPagetable target) {
        if (hwpt != null && hwpt != target) {
            throw new IommufdException(Errno.EINVAL, "device is attached elsewhere");
        }
        if (hwpt == null) {
            checkPasidCompat(target, Translation.NO_PASID);
        }
        HwptPaging paging = pagingOf(target);
        if (paging != null) {
            enforceReservedRegions(paging.ioas().iopt());
        }
        if (hwpt == null) {
            boolean iopfOn = false;
            try {
                iopfOn = faultAttaching(target, null);
                ctx.iommu().attachDevice(dev, target.domain());
            } catch (RuntimeException e) {
                if (iopfOn) {
                    iopfDisable();
                }
                if (paging != null) {
                    paging.ioas().iopt().removeReserved(dev);
                }
                throw e;
            }
            hwpt = target;
        }
        target.get();
    }

    /** Undoes {@link #doAttach} of a HWPT whose creation failed afterwards. */
    void abortAttach(HwPagetable target) {
        ctx.iommu().detachDevice(dev);
        faultDetached(target, io.uiommu.iommu.Translation.NO_PASID);
        HwptPaging paging = pagingOf(target);
        if (paging != null) {
            paging.ioas().iopt().removeReserved(dev);
        }
        hwpt = null;
        target.put();
    }

    private void doReplace(HwPagetable target) {
        if (hwpt == null) {
            throw new IommufdException(Errno.EINVAL, "device is not attached");
        }
        if (target == hwpt) {
            return;
        }
        checkPasidCompat(target, Translation.NO_PASID);
        HwPagetable old = hwpt;
        HwptPaging newPaging = pagingOf(target);
        HwptPaging oldPaging = pagingOf(old);
        boolean newIoas = newPaging != null && (oldPaging == null || oldPaging.ioas() != newPaging.ioas());
        if (newIoas) {
            enforceReservedRegions(newPaging.ioas().iopt());
        }
        boolean iopfOn = false;
        try {
            iopfOn = faultAttaching(target, old);
            ctx.iommu().attachDevice(dev, target.domain());
        } catch (RuntimeException e) {
            if (iopfOn) {
                iopfDisable();
            }
            if (newIoas) {
                newPaging.ioas().iopt().removeReserved(dev);
            }
            throw e;
        }
        faultReplaced(old, target, io.uiommu.iommu.Translation.NO_PASID);
        if (oldPaging != null && (newPaging == null || newPaging.ioas() != oldPaging.ioas())) {
            oldPaging.ioas().iopt().removeReserved(dev);
        }
        hwpt = target;
        target.get();
        putHwpt(old);
    }

    // ---- I/O page faults (fault.c: iommufd_fault_iopf_enable/disable, auto response) ----

    /**
     * Before attaching {@code target} in place of {@code old} (null: nothing): a HWPT with a fault
     * queue needs I/O page faults on for the device (the driver's errno otherwise); true when this
     * call turned a reference on, which the caller drops if the attach then fails.
     */
    private boolean faultAttaching(HwPagetable target, HwPagetable old) {
        if (target.fault == null || old != null && old.fault != null) {
            if (target.fault != null) {
                target.fault.bind(this);
            }
            return false;
        }
        iopfEnable();
        target.fault.bind(this);
        return true;
    }

    /** After an attachment to {@code old} went away: its groups are answered INVALID, the reference dropped. */
    private void faultDetached(HwPagetable old, int attachPasid) {
        if (old.fault != null) {
            old.fault.autoRespond(this, attachPasid);
            iopfDisable();
        }
    }

    /** After {@code old} was replaced by {@code target} on an attachment. */
    private void faultReplaced(HwPagetable old, HwPagetable target, int attachPasid) {
        if (old.fault != null) {
            old.fault.autoRespond(this, attachPasid);
            if (target.fault == null) {
                iopfDisable();
            }
        }
    }

    private void iopfEnable() {
        if (iopfEnabled++ == 0) {
            try {
                io.uiommu.iommu.IoPageFault.enable(dev);
            } catch (RuntimeException e) {
                iopfEnabled--;
                throw e;
            }
        }
    }

    private void iopfDisable() {
        if (iopfEnabled > 0 && --iopfEnabled == 0) {
            io.uiommu.iommu.IoPageFault.disable(dev);
        }
    }

    /** Whether I/O page faults are on for the device (an attachment to a HWPT with a fault queue). */
    public boolean iopfEnabled() {
        return iopfEnabled > 0;
    }

    private void enforceReservedRegions(IoPagetable iopt) {
        int added = 0;
        try {
            for (IommuDriver.ResvRegion r : dev.driver().resvRegions(dev)) {
                iopt.reserve(r.start(), r.start() + r.length() - 1, dev);
                added++;
            }
        } catch (RuntimeException e) {
            if (added > 0) {
                iopt.removeReserved(dev);
            }
            throw e;
        }
    }

    /** iommufd_device_auto_get_domain: reuse a compatible auto domain of the IOAS or make one. */
    private int autoGetDomain(Ioas ioas, boolean replace) {
        for (HwptPaging p : ioas.hwpts()) {
            if (!p.autoDomain()) {
                continue;
            }
            try {
                if (replace) {
                    doReplace(p);
                } else {
                    doAttach(p);
                }
                return p.id();
            } catch (IommufdException e) {
                if (e.errno() != Errno.EINVAL) {
                    throw e;
                }
            }
        }
        ObjectTable table = ctx.objects();
        int id = table.reserve();
        HwptPaging p;
        try {
            p = allocateAutoDomain(ioas, !replace);
        } catch (RuntimeException e) {
            table.abort(id);
            throw e;
        }
        if (replace) {
            try {
                doReplace(p);
            } catch (RuntimeException e) {
                table.abort(id);
                p.destroy();
                throw e;
            }
        }
        table.finalize(id, p);
        return id;
    }

    /**
     * The RID's auto domain: PASID-compatible when the device can issue PASIDs, so that PASIDs
     * attached later to the same IOAS can share it (as the selftest's pasid fixture expects of the
     * mock_domain's HWPT); a driver that cannot make one (EOPNOTSUPP) gets a plain domain.
     */
    private HwptPaging allocateAutoDomain(Ioas ioas, boolean immediateAttach) {
        if (dev.maxPasids() > 0) {
            try {
                return HwptPaging.allocate(ctx, ioas, this, HwptPaging.IOMMU_HWPT_ALLOC_PASID, null, immediateAttach,
                        true);
            } catch (IommufdException e) {
                if (e.errno() != Errno.EOPNOTSUPP) {
                    throw e;
                }
            }
        }
        return HwptPaging.allocate(ctx, ioas, this, 0, null, immediateAttach, true);
    }

    /**
     * iommufd_hwpt_pasid_compat (Linux 6.15): a PASID takes only a HWPT allocated with
     * IOMMU_HWPT_ALLOC_PASID, and only while the RID's HWPT is one too; the RID takes a HWPT without
     * it only while no PASID is attached. EINVAL otherwise (auto-domain selection moves on).
     */
    private void checkPasidCompat(HwPagetable target, int pasid) {
        if (target.pasidCompat()) {
            if (pasid != Translation.NO_PASID && hwpt != null && !hwpt.pasidCompat()) {
                throw new IommufdException(Errno.EINVAL, "the RID's HWPT " + hwpt.id() + " is not PASID-compatible");
            }
            return;
        }
        if (pasid != Translation.NO_PASID) {
            throw new IommufdException(Errno.EINVAL, "HWPT " + target.id() + " was not allocated with IOMMU_HWPT_ALLOC_PASID");
        }
        if (!pasidHwpts.isEmpty()) {
            throw new IommufdException(Errno.EINVAL, "PASIDs are attached: the RID needs a PASID-compatible HWPT");
        }
    }

    /** iommufd_hw_pagetable_put: an auto domain goes away with its last device. */
    private void putHwpt(HwPagetable h) {
        h.put();
        if (h instanceof HwptPaging p && p.autoDomain() && p.users() == 1) {
            ctx.objects().remove(p);
        }
    }

    private static HwptPaging pagingOf(HwPagetable h) {
        return h instanceof HwptPaging p ? p : null;
    }
}
