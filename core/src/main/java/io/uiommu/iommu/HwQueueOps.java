package io.uiommu.iommu;

/**
 * What a driver keeps for one HW queue it accepted (a struct iommufd_hw_queue's driver part); the
 * core calls {@link #destroy()} before it unpins the queue memory.
 */
public interface HwQueueOps {
    /** hw_queue->destroy: undoes what hw_queue_init_phys did. */
    default void destroy() {
    }
}
