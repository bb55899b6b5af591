package io.uiommu.vfio;

import io.uiommu.device.DmaEngine;
import io.uiommu.device.PciRegs;

/**
 * One function as vfio-pci holds it (struct vfio_pci_core_device with its vfio_device): the
 * dma-engine, the cdev number N of /dev/vfio/devices/vfioN, which open file has it bound (a cdev
 * device is opened by one bind at a time), and, while bound, the virtual config space,
 * interrupt state and runtime power state. Enabling on first open and disabling on last close follow vfio_pci_core_enable
 * and vfio_pci_core_disable: memory decode on and a function reset; interrupts off, bus master
 * off and a function reset.
 *
 * <p>Locking: this object's monitor is the device-set lock (dev_set->lock and igate); taken before
 * an iommufd context's lock, never after.
 */
public final class VfioPciDevice {
    private final DmaEngine engine;
    private final int index;
    private VfioDeviceFile owner;
    private VfioPciIrqs irqs;
    private VfioPciConfig config;
    private VfioPciPower power;

    public VfioPciDevice(DmaEngine engine, int index) {
        this.engine = engine;
        this.index = index;
    }

    public DmaEngine engine() {
        return engine;
    }

    /** The cdev path, /dev/vfio/devices/vfioN. */
    public String path() {
        return "/dev/vfio/devices/vfio" + index;
    }

    /** The file the device is bound through, or null. */
    VfioDeviceFile owner() {
        return owner;
    }

    VfioPciIrqs irqs() {
        return irqs;
    }

    VfioPciConfig config() {
        return config;
    }

    VfioPciPower power() {
        return power;
    }

    /** vfio_pci_core_enable: memory decode on, the function reset, vfio's view of config built. */
    void open(VfioDeviceFile file) {
        owner = file;
        engine.configWrite(PciRegs.PCI_COMMAND, 2, engine.configRead(PciRegs.PCI_COMMAND, 2) | PciRegs.PCI_COMMAND_MEMORY);
        engine.resetFunction();
        irqs = new VfioPciIrqs(engine);
        config = new VfioPciConfig(engine, irqs);
        power = new VfioPciPower();
    }

    /** vfio_pci_core_disable: out of low power, interrupts off, bus master off, the function reset. */
    void close() {
        power.exit();
        irqs.disableAll();
        engine.configWrite(PciRegs.PCI_COMMAND, 2, engine.configRead(PciRegs.PCI_COMMAND, 2) & ~PciRegs.PCI_COMMAND_MASTER);
        engine.resetFunction();
        irqs = null;
        config = null;
        power = null;
        owner = null;
    }
}
