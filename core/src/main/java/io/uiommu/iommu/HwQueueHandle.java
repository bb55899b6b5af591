package io.uiommu.iommu;

/**
 * The core's HW queue object as the driver sees it (struct iommufd_hw_queue): where the guest's
 * queue memory is, and the dependency helpers (iommufd_hw_queue_depend / _undepend) a driver uses
 * to keep a queue alive while a later one relies on it — DESTROY of the depended-on queue is EBUSY.
 *
 * <p>Locking: called under the iommufd context lock.
 */
public interface HwQueueHandle {
    int queueType();

    /** nesting_parent_iova: the queue's base in the vIOMMU's nesting-parent IOAS. */
    long baseAddr();

    long length();

    /** This queue depends on {@code other}: the other cannot be destroyed first. */
    void depend(HwQueueHandle other);

    /** Drops a dependency taken with {@link #depend}. */
    void undepend(HwQueueHandle other);
}
