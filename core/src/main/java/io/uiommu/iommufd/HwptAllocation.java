package io.uiommu.iommufd;

import io.uiommu.iommu.UserData;

import java.util.function.IntConsumer;

/**
 * IOMMU_HWPT_ALLOC (iommufd_hwpt_alloc): a paging HWPT over an IOAS, a nested HWPT over a
 * NEST_PARENT paging HWPT or on a vIOMMU, optionally bound to a fault queue. The ID is reserved first, the
 * answer is written before the object becomes visible, and any failure unwinds everything.
 */
public final class HwptAllocation {
    private HwptAllocation() {
    }

    /**
     * @param data vendor data, or null when data_len is 0
     * @param faultIdValid FAULT_ID_VALID: bind the HWPT to the fault queue {@code faultId}
     * @param respond writes out_hwpt_id back to the caller (may fail with EFAULT)
     */
    public static HwPagetable allocate(IommufdContext ctx, Device idev, int ptId, int flags, UserData data,
            boolean faultIdValid, int faultId, IntConsumer respond) {
        IommufdObject pt = ctx.objects().find(ptId);
        ObjectTable table = ctx.objects();
        HwPagetable hwpt;
        int id;
        if (pt instanceof Ioas ioas) {
            id = table.reserve();
            try {
                hwpt = HwptPaging.allocate(ctx, ioas, idev, flags, data, false, false);
            } catch (RuntimeException e) {
                table.abort(id);
                throw e;
            }
        } else if (pt instanceof HwptPaging parent) {
            id = table.reserve();
            try {
                hwpt = HwptNested.allocate(parent, idev, flags,
                        data != null ? data : new UserData(0, null, 0, 0));
            } catch (RuntimeException e) {
                table.abort(id);
                throw e;
            }
        } else if (pt instanceof Viommu viommu) {
            if (viommu.driver() != idev.iommuDevice().driver()) {
                throw new IommufdException(Errno.EINVAL, "device is behind another IOMMU than the vIOMMU");
            }
            id = table.reserve();
            try {
                hwpt = HwptNested.allocate(viommu, flags, data);
            } catch (RuntimeException e) {
                table.abort(id);
                throw e;
            }
        } else {
            throw new IommufdException(Errno.EINVAL, "pt_id is not an IOAS, paging HWPT or vIOMMU");
        }
        try {
            if (faultIdValid) {
                Fault fault = table.get(faultId, Fault.class);
                hwpt.fault = fault;
                hwpt.domain().setIopfHandler(fault::handle);
                fault.get();
            }
            respond.accept(id);
        } catch (RuntimeException e) {
            table.abort(id);
            hwpt.destroy();
            throw e;
        }
        return table.finalize(id, hwpt);
    }
}
