package io.uiommu.iommufd;

import io.uiommu.iommu.UserData;

import java.util.function.IntConsumer;

/**
 * Creating vIOMMU and vDEVICE objects with the ID rules every iommufd allocation follows: the ID is
 * reserved first, the answer written before the object becomes visible, and a failure (including
 * EFAULT writing the answer) unwinds everything.
 */
public final class ViommuAllocation {
    private ViommuAllocation() {
    }

    public static Viommu viommu(IommufdContext ctx, Device idev, int hwptId, int type, UserData data,
            IntConsumer respond) {
        ObjectTable table = ctx.objects();
        int id = table.reserve();
        Viommu v;
        try {
            v = Viommu.allocate(ctx, idev, hwptId, type, data);
        } catch (RuntimeException e) {
            table.abort(id);
            throw e;
        }
        return publish(table, id, v, respond);
    }

    public static Vdevice vdevice(IommufdContext ctx, Viommu viommu, Device idev, long virtId, IntConsumer respond) {
        ObjectTable table = ctx.objects();
        int id = table.reserve();
        Vdevice v;
        try {
            v = Vdevice.allocate(viommu, idev, virtId);
        } catch (RuntimeException e) {
            table.abort(id);
            throw e;
        }
        return publish(table, id, v, respond);
    }

    private static <T extends IommufdObject> T publish(ObjectTable table, int id, T object, IntConsumer respond) {
        try {
            respond.accept(id);
        } catch (RuntimeException e) {
            table.abort(id);
            object.destroy();
            throw e;
        }
        return table.finalize(id, object);
    }
}
