package io.uiommu.uapi;

import io.uiommu.iommu.IommuDriver;
import io.uiommu.iommu.UserData;
import io.uiommu.iommu.UserDataArray;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.HwPagetable;
import io.uiommu.iommufd.HwptNested;
import io.uiommu.iommufd.HwptPaging;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.iommufd.Viommu;
import io.uiommu.mem.UserMemory;
import io.uiommu.platform.PciDevice;

import static io.uiommu.uapi.IommufdStructs.IOMMU_HWPT_ALLOC;
import static io.uiommu.uapi.IommufdStructs.IOMMU_HWPT_GET_DIRTY_BITMAP;
import static io.uiommu.uapi.IommufdStructs.IOMMU_HWPT_INVALIDATE;
import static io.uiommu.uapi.IommufdStructs.IOMMU_HWPT_SET_DIRTY_TRACKING;
import static io.uiommu.uapi.IommufdStructs.IOMMU_HW_INFO;

/** HWPT allocation, hardware info, dirty tracking and invalidation (hw_pagetable.c, device.c). */
final class HwptIoctls {
    private HwptIoctls() {
    }

    static long alloc(Ucmd u) {
        if (u.u32(IOMMU_HWPT_ALLOC.offset("__reserved")) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "__reserved");
        }
        int dataType = u.u32(IOMMU_HWPT_ALLOC.offset("data_type"));
        long dataLen = Integer.toUnsignedLong(u.u32(IOMMU_HWPT_ALLOC.offset("data_len")));
        if ((dataType == UapiConstants.IOMMU_HWPT_DATA_NONE) != (dataLen == 0)) {
            throw new IommufdException(Errno.EINVAL, "data_type and data_len disagree");
        }
        int flags = u.u32(IOMMU_HWPT_ALLOC.offset("flags"));
        Device idev = u.ctx.objects().get(u.u32(IOMMU_HWPT_ALLOC.offset("dev_id")), Device.class);
        int ptId = u.u32(IOMMU_HWPT_ALLOC.offset("pt_id"));
        UserData data = new UserData(dataType, u.memory(), u.u64(IOMMU_HWPT_ALLOC.offset("data_uptr")), dataLen);
        int faultId = u.u32(IOMMU_HWPT_ALLOC.offset("fault_id"));
        HwPagetable hwpt = io.uiommu.iommufd.HwptAllocation.allocate(u.ctx, idev, ptId, flags, dataLen == 0 ? null : data,
                (flags & UapiConstants.IOMMU_HWPT_FAULT_ID_VALID) != 0, faultId,
                id -> {
                    u.put32(IOMMU_HWPT_ALLOC.offset("out_hwpt_id"), id);
                    u.respond();
                });
        return hwpt.id() == 0 ? -Errno.EIO.value() : 0;
    }

    static long getHwInfo(Ucmd u) {
        if (u.u32(IOMMU_HW_INFO.offset("flags")) != 0 || u.u8(IOMMU_HW_INFO.offset("__reserved")) != 0
                || u.u8(IOMMU_HW_INFO.offset("__reserved") + 1) != 0 || u.u8(IOMMU_HW_INFO.offset("__reserved") + 2) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags or __reserved");
        }
        Device idev = u.ctx.objects().get(u.u32(IOMMU_HW_INFO.offset("dev_id")), Device.class);
        var dev = idev.iommuDevice();
        IommuDriver.HwInfo info = dev.driver().hwInfo(dev);
        long userLen = Integer.toUnsignedLong(u.u32(IOMMU_HW_INFO.offset("data_len")));
        long ptr = u.u64(IOMMU_HW_INFO.offset("data_uptr"));
        int copy = (int) Math.min(userLen, info.data().length);
        UserMemory mem = u.memory();
        mem.write(ptr, info.data(), 0, copy);
        if (copy < userLen) {
            long left = userLen - copy;
            byte[] zeros = new byte[(int) Math.min(left, 4096)];
            for (long at = ptr + copy; left > 0; ) {
                int n = (int) Math.min(left, zeros.length);
                mem.write(at, zeros, 0, n);
                at += n;
                left -= n;
            }
        }
        u.put32(IOMMU_HW_INFO.offset("out_data_type"), info.type());
        u.put32(IOMMU_HW_INFO.offset("data_len"), info.data().length);
        long caps = dev.driver().capable(dev, IommuDriver.Cap.DIRTY_TRACKING) ? UapiConstants.IOMMU_HW_CAP_DIRTY_TRACKING : 0;
        int maxPasids = dev.maxPasids();
        if (maxPasids != 0) {
            // Linux 6.15: the PASID control register's Execute/Privileged enables, which the IOMMU
            // driver set from the capability when it enabled PASID at probe.
            PciDevice pci = u.ctx.iommu().platform().device(dev.name());
            if (pci != null && pci.pasidExec()) {
                caps |= UapiConstants.IOMMU_HW_CAP_PCI_PASID_EXEC;
            }
            if (pci != null && pci.pasidPriv()) {
                caps |= UapiConstants.IOMMU_HW_CAP_PCI_PASID_PRIV;
            }
        }
        u.put64(IOMMU_HW_INFO.offset("out_capabilities"), caps);
        u.put8(IOMMU_HW_INFO.offset("out_max_pasid_log2"), maxPasids == 0 ? 0 : 31 - Integer.numberOfLeadingZeros(maxPasids));
        u.respond();
        return 0;
    }

    static long setDirtyTracking(Ucmd u) {
        int flags = u.u32(IOMMU_HWPT_SET_DIRTY_TRACKING.offset("flags"));
        if ((flags & ~UapiConstants.IOMMU_HWPT_DIRTY_TRACKING_ENABLE) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags");
        }
        HwptPaging hwpt = u.ctx.objects().get(u.u32(IOMMU_HWPT_SET_DIRTY_TRACKING.offset("hwpt_id")), HwptPaging.class);
        hwpt.ioas().iopt().setDirtyTracking(hwpt.domain(), (flags & UapiConstants.IOMMU_HWPT_DIRTY_TRACKING_ENABLE) != 0);
        return 0;
    }

    static long getDirtyBitmap(Ucmd u) {
        int flags = u.u32(IOMMU_HWPT_GET_DIRTY_BITMAP.offset("flags"));
        if ((flags & ~UapiConstants.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) != 0
                || u.u32(IOMMU_HWPT_GET_DIRTY_BITMAP.offset("__reserved")) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags or __reserved");
        }
        HwptPaging hwpt = u.ctx.objects().get(u.u32(IOMMU_HWPT_GET_DIRTY_BITMAP.offset("hwpt_id")), HwptPaging.class);
        long iova = u.u64(IOMMU_HWPT_GET_DIRTY_BITMAP.offset("iova"));
        long length = u.u64(IOMMU_HWPT_GET_DIRTY_BITMAP.offset("length"));
        long pageSize = u.u64(IOMMU_HWPT_GET_DIRTY_BITMAP.offset("page_size"));
        long data = u.u64(IOMMU_HWPT_GET_DIRTY_BITMAP.offset("data"));
        var iopt = hwpt.ioas().iopt();
        iopt.checkDirtyRange(hwpt.domain(), iova, length, pageSize);
        // The bitmap is pinned before the walk: a bad one (EFAULT) reads and clears nothing.
        try (UserBitmap bitmap = new UserBitmap(u.memory(), data, iova, length, pageSize)) {
            iopt.readAndClearDirty(hwpt.domain(), iova, length, pageSize,
                    (flags & UapiConstants.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) != 0, bitmap);
        }
        return 0;
    }

    /** entry_num is always written back with the number of entries handled, even on failure. */
    static long invalidate(Ucmd u) {
        int numOff = IOMMU_HWPT_INVALIDATE.offset("entry_num");
        int done = 0;
        IommufdException failure = null;
        try {
            if (u.u32(IOMMU_HWPT_INVALIDATE.offset("__reserved")) != 0) {
                throw new IommufdException(Errno.EOPNOTSUPP, "__reserved");
            }
            int entryNum = u.u32(numOff);
            long ptr = u.u64(IOMMU_HWPT_INVALIDATE.offset("data_uptr"));
            int entryLen = u.u32(IOMMU_HWPT_INVALIDATE.offset("entry_len"));
            if (entryNum != 0 && (ptr == 0 || entryLen == 0 || Integer.compareUnsigned(entryLen, 4096) > 0
                    || Integer.compareUnsigned(entryNum, 1 << 19) > 0)) {
                throw new IommufdException(Errno.EINVAL, "entry array");
            }
            int id = u.u32(IOMMU_HWPT_INVALIDATE.offset("hwpt_id"));
            UserDataArray array = new UserDataArray(u.u32(IOMMU_HWPT_INVALIDATE.offset("data_type")), u.memory(), ptr,
                    entryLen, entryNum);
            if (u.ctx.objects().find(id) instanceof Viommu viommu) {
                // Linux 6.13: the vIOMMU's driver runs the VM's invalidation commands
                if (viommu.ops() == null) {
                    throw new IommufdException(Errno.EOPNOTSUPP, "vIOMMU has no cache invalidation");
                }
                try {
                    viommu.ops().cacheInvalidate(array);
                } finally {
                    done = array.handled();
                }
            } else {
                HwptNested hwpt = u.ctx.objects().get(id, HwptNested.class);
                if (hwpt.domain().cacheInvalidator() == null) {
                    throw new IommufdException(Errno.EOPNOTSUPP, "nested HWPT of a vIOMMU: invalidate the vIOMMU");
                }
                try {
                    hwpt.domain().cacheInvalidator().invalidate(array);
                } finally {
                    done = array.handled();
                }
            }
        } catch (IommufdException e) {
            failure = e;
        }
        u.put32(numOff, done);
        try {
            u.respond();
        } catch (IommufdException e) {
            throw new IommufdException(Errno.EFAULT, "cannot write entry_num");
        }
        if (failure != null) {
            throw failure;
        }
        return 0;
    }
}
