package io.uiommu.iommu;

import io.uiommu.hw.amd.AmdIommu;
import io.uiommu.hw.mock.MockIommuDriver;
import io.uiommu.hw.smmuv3.ArmSmmuV3;
import io.uiommu.hw.vtd.VtdIommu;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernel's iommu core (drivers/iommu/iommu.c) as iommufd uses it, over one machine: the
 * platform's IOMMU units each with its driver, the PCI devices behind them, DMA ownership, attach,
 * replace and detach of a device's RID or one of its PASIDs, with the driver deciding what fits,
 * and device DMA through the model. Vendor drivers plug in through {@link IommuDriver}; iommufd
 * never talks to a vendor directly. The selftest's mock IOMMU is always present (its MOCK_DOMAIN
 * ops create devices on it) and is the driver of every "mock" unit, as one set of iommu_ops
 * serves every instance of a driver in the kernel.
 *
 * <p>Locking: the machine is built once and then read only; ownership and attachments change
 * under the iommufd context lock of the device's owner; the fault-name table and the global PASID
 * space each under its own lock.
 */
public final class IommuCore {
    private final Platform platform;
    private final PhysicalMemory physical;
    private final StaleTranslationAuditor auditor;
    private final MockIommuDriver mock;
    private final Map<String, IommuDriver> unitDrivers = new LinkedHashMap<>();
    private final Map<String, IommuDevice> devices = new LinkedHashMap<>();
    private final List<String> faultNames = new ArrayList<>();
    /** iommu_global_pasid_ida: PASIDs handed out system-wide (SVA, ENQCMD); guarded by itself. */
    private final java.util.BitSet globalPasids = new java.util.BitSet();

    /** IOMMU_PASID_INVALID: what {@link #allocGlobalPasid} returns when it has nothing to give. */
    public static final int IOMMU_PASID_INVALID = -1;
    /** IOMMU_FIRST_GLOBAL_PASID: PASID 0 is the RID's. */
    public static final int IOMMU_FIRST_GLOBAL_PASID = 1;

    private IommuCore(Platform platform, PhysicalMemory physical) {
        this.platform = platform;
        this.physical = physical;
        this.auditor = new StaleTranslationAuditor(physical);
        this.mock = new MockIommuDriver(physical);
        for (IommuUnit unit : platform.iommus()) {
            unitDrivers.put(unit.name(), driverFor(unit));
        }
        for (PciDevice pci : platform.devices()) {
            IommuUnit unit = platform.iommu(pci.iommu());
            if (unit == null) {
                throw new IllegalArgumentException("device " + pci.name() + " is behind unknown IOMMU " + pci.iommu());
            }
            IommuDriver driver = unitDrivers.get(unit.name());
            IommuDevice dev = switch (driver) {
                case IommuHardware hw -> hw.addDevice(pci);
                case MockIommuDriver m -> m.platformDevice(pci, unit);
                default -> throw new IllegalStateException("driver " + driver.name() + " cannot add devices");
            };
            int pasidBits = Math.min(pci.pasidBits(), unit.pasidBits());
            if (dev.maxPasids() == 0 && pasidBits > 0) {
                // Both the function's PASID capability and the unit bound it, unless the model said more.
                dev.setMaxPasids(1 << pasidBits);
            }
            devices.put(pci.name(), dev);
        }
    }

    /**
     * The one place a unit's model picks its driver. Vendor models take
     * {@code (IommuUnit, PhysicalMemory, StaleTranslationAuditor)}.
     */
    private IommuDriver driverFor(IommuUnit unit) {
        return switch (unit.model()) {
            case "mock" -> mock;
            case "vtd" -> new VtdIommu(unit, physical, auditor);
            case "smmuv3" -> new ArmSmmuV3(unit, physical, auditor);
            case "amd" -> new AmdIommu(unit, physical, auditor);
            default -> throw new IllegalArgumentException("IOMMU " + unit.name() + ": model \"" + unit.model()
                    + "\" is not available (known: " + String.join(", ", AVAILABLE_MODELS) + ")");
        };
    }

    /** The models {@link #driverFor} builds. */
    public static final List<String> AVAILABLE_MODELS = List.of("mock", "vtd", "smmuv3", "amd");

    /** A machine of the given platform over its physical memory. */
    public static IommuCore forPlatform(Platform platform, PhysicalMemory physical) {
        return new IommuCore(platform, physical);
    }

    /** An iommu core whose only driver is the selftest's mock IOMMU, with no platform devices. */
    public static IommuCore withMockIommu(PhysicalMemory physical) {
        return new IommuCore(Platform.SELFTEST, physical);
    }

    public Platform platform() {
        return platform;
    }

    public PhysicalMemory physical() {
        return physical;
    }

    /** The machine's stale-translation auditor (off until enabled). */
    public StaleTranslationAuditor auditor() {
        return auditor;
    }

    /** The selftest's mock IOMMU driver (it creates the mock devices). */
    public MockIommuDriver mock() {
        return mock;
    }

    /** The driver of a platform unit, or null. */
    public IommuDriver unitDriver(String unitName) {
        return unitDrivers.get(unitName);
    }

    /** A platform device by name, or null. */
    public IommuDevice device(String name) {
        return devices.get(name);
    }

    /** The platform devices in the platform's order. */
    public List<IommuDevice> devices() {
        return List.copyOf(devices.values());
    }

    /** iommu_device_claim_dma_owner: a device serves one user-space owner at a time. */
    public void claimDmaOwner(IommuDevice dev) {
        if (dev.owned()) {
            throw new IommufdException(Errno.EBUSY, dev + " is already owned");
        }
        dev.setOwned(true);
    }

    /** iommu_device_release_dma_owner: every PASID and the RID go back to blocking. */
    public void releaseDmaOwner(IommuDevice dev) {
        for (int pasid : dev.attachedPasids()) {
            detachDevicePasid(dev, pasid);
        }
        dev.setOwned(false);
        detachDevice(dev);
    }

    /** Attach (or replace) the RID to a domain; on refusal the old domain stays. */
    public void attachDevice(IommuDevice dev, IommuDomain domain) {
        if (domain.driver() != dev.driver()) {
            throw new IommufdException(Errno.EINVAL, "domain of another IOMMU");
        }
        dev.driver().attachDev(domain, dev);
        dev.setDomain(domain);
    }

    /** Back to the blocking domain. */
    public void detachDevice(IommuDevice dev) {
        // The driver must hear of it: hardware models keep translating through their tables otherwise.
        dev.driver().attachDev(dev.driver().blockedDomain(), dev);
        dev.setDomain(dev.driver().blockedDomain());
    }

    /**
     * iommu_attach_device_pasid / iommu_replace_device_pasid: EINVAL for PASID 0 (the RID), a PASID
     * the device cannot issue or a domain of another IOMMU, EOPNOTSUPP for a device without a PASID
     * capability, EBUSY when attaching a PASID that has a domain (replace
     * needs one), and the driver's refusal otherwise; on refusal the old domain stays.
     */
    public void attachDevicePasid(IommuDevice dev, int pasid, IommuDomain domain, boolean replace) {
        if (domain.driver() != dev.driver() || pasid == 0) {
            throw new IommufdException(Errno.EINVAL, pasid == 0 ? "PASID 0 is the RID" : "domain of another IOMMU");
        }
        if (dev.maxPasids() == 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, dev + " has no PASID capability");
        }
        if (pasid < 0 || pasid >= dev.maxPasids()) {
            throw new IommufdException(Errno.EINVAL, dev + " cannot issue PASID " + Integer.toUnsignedString(pasid));
        }
        if (domain.type() == IommuDomain.Type.BLOCKED) {
            throw new IommufdException(Errno.EINVAL, "a PASID is detached, not attached to a blocking domain");
        }
        IommuDomain old = dev.pasidDomain(pasid);
        if (old != null && !replace) {
            throw new IommufdException(Errno.EBUSY, dev + " PASID " + pasid + " is attached");
        }
        if (old == null && replace) {
            throw new IommufdException(Errno.EINVAL, dev + " PASID " + pasid + " is not attached");
        }
        if (old == domain) {
            return;
        }
        dev.driver().setDevPasid(domain, dev, pasid, old);
        dev.setPasidDomain(pasid, domain);
    }

    /** iommu_detach_device_pasid: the PASID stops translating. */
    public void detachDevicePasid(IommuDevice dev, int pasid) {
        IommuDomain old = dev.pasidDomain(pasid);
        if (old != null) {
            dev.driver().removeDevPasid(dev, pasid, old);
            dev.setPasidDomain(pasid, null);
        }
    }

    /**
     * iommu_alloc_global_pasid: the lowest PASID no one holds in the system-wide space, within what
     * {@code dev} can issue ([1, max_pasids)); {@link #IOMMU_PASID_INVALID} for a device without
     * PASIDs or when that range is used up. A global PASID names one address space on every device
     * (an mm bound by SVA, the PASID a CPU's ENQCMD sends), so no other global allocation gets it,
     * whichever device asks. Per-device PASID attaches (iommufd) do not draw from this space: on
     * VT-d each device's PASID table is its own, on SMMUv3 each master's CD table.
     */
    public int allocGlobalPasid(IommuDevice dev) {
        int max = dev.maxPasids();
        if (max == 0) {
            return IOMMU_PASID_INVALID;
        }
        synchronized (globalPasids) {
            int p = globalPasids.nextClearBit(IOMMU_FIRST_GLOBAL_PASID);
            if (p >= max) {
                return IOMMU_PASID_INVALID;
            }
            globalPasids.set(p);
            return p;
        }
    }

    /** iommu_free_global_pasid: the PASID goes back to the system-wide space (an invalid one is ignored). */
    public void freeGlobalPasid(int pasid) {
        if (pasid == IOMMU_PASID_INVALID || pasid < 0) {
            return;
        }
        synchronized (globalPasids) {
            globalPasids.clear(pasid);
        }
    }

    /**
     * A device DMA of {@code length} bytes at {@code iova} (with {@code pasid}, or
     * {@link Translation#NO_PASID}) through the full translation path, page by page, moving bytes
     * between {@code buffer} and the physical memory the IOMMU resolves. Stops at the first fault.
     */
    public DmaResult dma(IommuDevice dev, int pasid, long iova, byte[] buffer, int offset, int length, boolean write) {
        Translation t = new Translation();
        int access = write ? IommuDomain.IOMMU_WRITE : IommuDomain.IOMMU_READ;
        long done = 0;
        while (done < length) {
            long addr = iova + done;
            dev.driver().translate(dev, pasid, addr, access, t.reset(addr, pasid, access));
            if (t.faulted) {
                return new DmaResult(done, new DmaResult.Fault(addr, pasid, write, t.faultCode, t.faultName,
                        t.faultLevel, t.faultStage2));
            }
            done += moveTranslated(physical, t, addr, buffer, offset + (int) done, length - done, write);
        }
        return new DmaResult(done, null);
    }

    /**
     * Moves the bytes of one translated access: from {@code addr} up to the end of its I/O page (which
     * may be smaller than a frame) or {@code remaining}, between {@code buffer[at..]} and memory.
     */
    static int moveTranslated(PhysicalMemory physical, Translation t, long addr, byte[] buffer, int at, long remaining,
            boolean write) {
        long page = t.pageSize > 0 ? t.pageSize : PhysicalMemory.PAGE_SIZE;
        int n = (int) Math.min(remaining, page - (addr & (page - 1)));
        if (write) {
            physical.write(t.physAddr, buffer, at, n);
        } else {
            physical.read(t.physAddr, buffer, at, n);
        }
        return n;
    }

    /**
     * A device-initiated DMA that may recover from translation faults: with {@code pri} (the
     * function's PRI capability is enabled), a fault the IOMMU can report as a page request is sent
     * as one, and the transfer resumes when the response arrives (SUCCESS: the translation is retried;
     * INVALID or FAILURE: it ends with the fault). {@code onDone} hears the result once, possibly
     * before this returns. Page requests are sent only while the host has PRI enabled on the
     * function (I/O page faults enabled for it); without {@code pri} this is {@link #dma} with a
     * callback.
     */
    public void startDma(IommuDevice dev, int pasid, long iova, byte[] buffer, int offset, int length, boolean write,
            boolean pri, DmaCompletion onDone) {
        new DmaTransfer(physical, dev, pasid, iova, buffer, offset, length, write, pri, onDone).run();
    }

    /** A small number standing for a fault name in the uAPI (1, 2, ...; 0 is "no fault"). */
    public synchronized int faultNameIndex(String name) {
        if (name == null) {
            return 0;
        }
        int i = faultNames.indexOf(name);
        if (i < 0) {
            faultNames.add(name);
            i = faultNames.size() - 1;
        }
        return i + 1;
    }

    /** The fault name behind an index from {@link #faultNameIndex}, or null. */
    public synchronized String faultName(int index) {
        return index >= 1 && index <= faultNames.size() ? faultNames.get(index - 1) : null;
    }
}
