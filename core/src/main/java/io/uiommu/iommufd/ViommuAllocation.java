package io.uiommu.iommufd;

import io.uiommu.iommu.UserData;

import java.util.function.IntConsumer;

/**
 * Creating vIOMMU, vDEVICE, vEVENTQ and HW queue objects with the ID rules every iommufd allocation
 * follows: the ID is reserved first, the answer written before the object becomes visible, and a
 * failure (including EFAULT writing the answer) unwinds everything.
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

    /** The uAPI's last steps before an object becomes visible (install its fd, write the answer); may throw. */
    public interface Publisher<T> {
        void publish(int id, T object);
    }

    /**
     * IOMMU_VEVENTQ_ALLOC after the argument checks: EEXIST for a second vEVENTQ of {@code type}.
     * {@code publisher} installs the fd and answers; if it throws, the queue is destroyed again.
     */
    public static Veventq veventq(IommufdContext ctx, Viommu viommu, int type, int depth, Publisher<Veventq> publisher) {
        ObjectTable table = ctx.objects();
        int id = table.reserve();
        Veventq q;
        try {
            q = Veventq.allocate(viommu, type, depth);
        } catch (RuntimeException e) {
            table.abort(id);
            throw e;
        }
        try {
            publisher.publish(id, q);
        } catch (RuntimeException e) {
            table.abort(id);
            q.destroy();
            throw e;
        }
        return table.finalize(id, q);
    }

    /** IOMMU_HW_QUEUE_ALLOC after the argument checks and the vIOMMU lookup (see {@link HwQueue}). */
    public static HwQueue hwQueue(IommufdContext ctx, Viommu viommu, int type, int index, long baseAddr, long length,
            IntConsumer respond) {
        ObjectTable table = ctx.objects();
        int id = table.reserve();
        HwQueue q;
        try {
            q = HwQueue.allocate(viommu, type, index, baseAddr, length);
        } catch (RuntimeException e) {
            table.abort(id);
            throw e;
        }
        return publish(table, id, q, respond);
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
