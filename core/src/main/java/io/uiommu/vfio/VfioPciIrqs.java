package io.uiommu.vfio;

import io.uiommu.device.DmaEngine;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.proc.EventSignal;
import io.uiommu.proc.UserProcess;

import static io.uiommu.device.PciRegs.*;
import static io.uiommu.uapi.UapiConstants.*;

/**
 * vfio-pci's interrupt state (drivers/vfio/pci/vfio_pci_intrs.c) for a function with MSI only (no
 * INTx pin, no MSI-X): the MSI vector's trigger eventfd, and the error and request eventfds. SET_IRQS
 * validation and the action table follow vfio; MSI sets up the function's MSI (address, data,
 * enable) as pci_alloc_irq_vectors does and routes its messages to the eventfd.
 *
 * <p>Locking: the owning {@link VfioPciDevice}'s lock for changes; the trigger is read by the
 * engine's MSI delivery without it (volatile).
 */
final class VfioPciIrqs {
    /** Where the host's MSI for the function points (the x86 interrupt address window). */
    private static final int MSI_ADDRESS = 0xfee0_0000;

    private final DmaEngine engine;
    private boolean msiActive;
    private volatile EventSignal msiTrigger;
    private EventSignal errTrigger;
    private EventSignal reqTrigger;

    VfioPciIrqs(DmaEngine engine) {
        this.engine = engine;
    }

    boolean msiActive() {
        return msiActive;
    }

    /** vfio_pci_get_irq_count. */
    int count(int index) {
        return switch (index) {
            case VFIO_PCI_INTX_IRQ_INDEX -> engine.configRead(PCI_INTERRUPT_PIN, 1) != 0 ? 1 : 0;
            case VFIO_PCI_MSI_IRQ_INDEX -> {
                int msi = engine.findCapability(PCI_CAP_ID_MSI);
                yield msi == 0 ? 0 : 1 << ((engine.configRead(msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK) >> 1);
            }
            case VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX -> 1;
            default -> 0; // MSI-X: no capability
        };
    }

    /** VFIO_DEVICE_SET_IRQS after validation: the handler vfio's table picks, or ENOTTY. */
    void set(UserProcess caller, int flags, int index, int start, int count, byte[] data) {
        int action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
        switch (index) {
            case VFIO_PCI_MSI_IRQ_INDEX -> {
                if (action != VFIO_IRQ_SET_ACTION_TRIGGER) {
                    // MSI masking is not exported by vfio: MASK and UNMASK have no handler.
                    throw new IommufdException(Errno.ENOTTY, "MSI cannot be masked through vfio");
                }
                msiTrigger(caller, flags, start, count, data);
            }
            case VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX -> {
                if (action != VFIO_IRQ_SET_ACTION_TRIGGER) {
                    throw new IommufdException(Errno.ENOTTY, "only TRIGGER for the error and request interrupts");
                }
                EventSignal now = index == VFIO_PCI_ERR_IRQ_INDEX ? errTrigger : reqTrigger;
                EventSignal next = singleTrigger(caller, now, flags, count, data);
                if (index == VFIO_PCI_ERR_IRQ_INDEX) {
                    errTrigger = next;
                } else {
                    reqTrigger = next;
                }
            }
            default -> throw new IommufdException(Errno.ENOTTY, "no handler for irq index " + index);
        }
    }

    /** vfio_pci_set_msi_trigger. */
    private void msiTrigger(UserProcess caller, int flags, int start, int count, byte[] data) {
        if (msiActive && count == 0 && (flags & VFIO_IRQ_SET_DATA_NONE) != 0) {
            msiDisable();
            return;
        }
        if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) != 0) {
            if (msiActive) {
                setBlock(caller, start, count, data);
                return;
            }
            msiEnable();
            try {
                setBlock(caller, start, count, data);
            } catch (RuntimeException e) {
                msiDisable();
                throw e;
            }
            return;
        }
        if (!msiActive) {
            throw new IommufdException(Errno.EINVAL, "MSI is not enabled");
        }
        // Loopback: DATA_NONE signals each vector, DATA_BOOL those whose byte is set.
        for (int i = start; i < start + count; i++) {
            EventSignal t = i == 0 ? msiTrigger : null;
            if (t == null) {
                continue;
            }
            if ((flags & VFIO_IRQ_SET_DATA_NONE) != 0 || data[i - start] != 0) {
                t.signal(1);
            }
        }
    }

    /** vfio_msi_enable: the function's MSI is programmed and enabled; its messages reach the trigger. */
    private void msiEnable() {
        int msi = engine.findCapability(PCI_CAP_ID_MSI);
        engine.configWrite(msi + PCI_MSI_ADDRESS_LO, 4, MSI_ADDRESS);
        engine.configWrite(msi + PCI_MSI_ADDRESS_HI, 4, 0);
        engine.configWrite(msi + PCI_MSI_DATA_64, 2, 0x4021);
        engine.configWrite(msi + PCI_MSI_FLAGS, 2, engine.configRead(msi + PCI_MSI_FLAGS, 2) | PCI_MSI_FLAGS_ENABLE);
        engine.setMsiHandler(() -> {
            EventSignal t = msiTrigger;
            if (t != null) {
                t.signal(1);
            }
        });
        msiActive = true;
    }

    /** vfio_msi_disable: triggers released, the function's MSI turned off. */
    void msiDisable() {
        if (!msiActive) {
            return;
        }
        setVectorSignal(null, 0, -1);
        engine.setMsiHandler(null);
        int msi = engine.findCapability(PCI_CAP_ID_MSI);
        engine.configWrite(msi + PCI_MSI_FLAGS, 2, engine.configRead(msi + PCI_MSI_FLAGS, 2) & ~PCI_MSI_FLAGS_ENABLE);
        msiActive = false;
    }

    /** vfio_msi_set_block: on a failure the vectors this call set are unset again. */
    private void setBlock(UserProcess caller, int start, int count, byte[] data) {
        for (int j = 0; j < count; j++) {
            int fd = data == null ? -1 : java.nio.ByteBuffer.wrap(data, 4 * j, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
            try {
                setVectorSignal(caller, start + j, fd);
            } catch (RuntimeException e) {
                for (int i = start; i < start + j; i++) {
                    setVectorSignal(caller, i, -1);
                }
                throw e;
            }
        }
    }

    /** vfio_msi_set_vector_signal: the old eventfd goes; fd &lt; 0 leaves the vector without one. */
    private void setVectorSignal(UserProcess caller, int vector, int fd) {
        EventSignal old = msiTrigger;
        if (old != null) {
            msiTrigger = null;
            old.release();
        }
        if (fd < 0) {
            return;
        }
        msiTrigger = caller.eventfd(fd);
    }

    /** vfio_pci_set_ctx_trigger_single: the error and request eventfds. */
    private static EventSignal singleTrigger(UserProcess caller, EventSignal now, int flags, int count, byte[] data) {
        if ((flags & VFIO_IRQ_SET_DATA_NONE) != 0) {
            if (now != null) {
                if (count != 0) {
                    now.signal(1);
                    return now;
                }
                now.release();
                return null;
            }
        } else if ((flags & VFIO_IRQ_SET_DATA_BOOL) != 0) {
            if (count == 0) {
                throw new IommufdException(Errno.EINVAL, "DATA_BOOL needs a count");
            }
            if (data[0] != 0 && now != null) {
                now.signal(1);
            }
            return now;
        } else if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) != 0) {
            if (count == 0) {
                throw new IommufdException(Errno.EINVAL, "DATA_EVENTFD needs a count");
            }
            int fd = java.nio.ByteBuffer.wrap(data, 0, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
            if (fd == -1) {
                if (now != null) {
                    now.release();
                }
                return null;
            }
            if (fd >= 0) {
                EventSignal next = caller.eventfd(fd);
                if (now != null) {
                    now.release();
                }
                return next;
            }
            return now;
        }
        throw new IommufdException(Errno.EINVAL, "no eventfd to signal");
    }

    /** vfio_pci_core_disable's interrupt part: everything off, every eventfd released. */
    void disableAll() {
        msiDisable();
        if (errTrigger != null) {
            errTrigger.release();
            errTrigger = null;
        }
        if (reqTrigger != null) {
            reqTrigger.release();
            reqTrigger = null;
        }
    }
}
