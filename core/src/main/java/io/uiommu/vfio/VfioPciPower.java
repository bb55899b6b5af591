package io.uiommu.vfio;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.proc.EventSignal;

/**
 * vfio-pci's runtime power management of an open function (pm_runtime_engaged and
 * pm_wake_eventfd_ctx of vfio_pci_core.c): VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY lets the function
 * suspend once the ioctl returns; every later ioctl, read or write resumes it for its duration
 * (runtime PM), and a resume with a wakeup eventfd signals that eventfd and leaves low power for
 * good. LOW_POWER_EXIT and the last close leave it without a signal.
 *
 * <p>Locking: the owning {@link VfioPciDevice}'s lock (the device-set lock).
 */
final class VfioPciPower {
    private boolean engaged;
    private EventSignal wake;

    /** True between a LOW_POWER_ENTRY and the exit. */
    boolean engaged() {
        return engaged;
    }

    /** vfio_pci_runtime_pm_entry: EINVAL if already in low power; takes {@code wakeup} (may be null). */
    void enter(EventSignal wakeup) {
        if (engaged) {
            throw new IommufdException(Errno.EINVAL, "low power already entered");
        }
        engaged = true;
        wake = wakeup;
    }

    /** vfio_pci_core_runtime_resume, before an ioctl, read or write: a wakeup eventfd hears it and low power ends. */
    void resume() {
        EventSignal w = wake;
        if (w != null) {
            w.signal(1);
            exit();
        }
    }

    /** __vfio_pci_runtime_pm_exit: low power ends, the wakeup eventfd is let go unsignalled. */
    void exit() {
        if (engaged) {
            engaged = false;
            if (wake != null) {
                wake.release();
                wake = null;
            }
        }
    }
}
