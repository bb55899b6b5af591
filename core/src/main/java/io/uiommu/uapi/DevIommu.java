package io.uiommu.uapi;

import io.uiommu.device.DmaEngine;
import io.uiommu.device.DmaEngines;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.iommu.IommuCore;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.Platform;
import io.uiommu.proc.UserProcess;
import io.uiommu.vfio.VfioDeviceFile;
import io.uiommu.vfio.VfioPciDevice;

import java.util.List;

/**
 * The character device /dev/iommu: each open creates an iommufd context behind a new file in the
 * caller's fd table. It owns the machine the contexts share: physical memory, the iommu core
 * with its drivers (the selftest's mock IOMMU unless a platform says otherwise) and the platform's
 * PCI functions, each a dma-engine that vfio-pci offers as /dev/vfio/devices/vfioN (N in platform
 * order).
 */
public final class DevIommu {
    /** The VFIO device cdevs: this prefix and the device's number. */
    public static final String VFIO_DEVICES = "/dev/vfio/devices/vfio";

    private final PhysicalMemory physical;
    private final IommuCore iommu;
    private final List<DmaEngine> engines;
    private final List<VfioPciDevice> vfioDevices;

    /** A machine with its own physical memory and the mock IOMMU, as the kernel's selftest sees it. */
    public DevIommu() {
        this(new PhysicalMemory());
    }

    public DevIommu(PhysicalMemory physical) {
        this.physical = physical;
        this.iommu = IommuCore.withMockIommu(physical);
        this.engines = List.of();
        this.vfioDevices = List.of();
    }

    /**
     * A machine built from a platform: its IOMMU units and devices over fresh physical memory (the
     * mock IOMMU of the selftest is there too). An unavailable model is an IllegalArgumentException.
     */
    public DevIommu(Platform platform) {
        this(platform, new PhysicalMemory());
    }

    public DevIommu(Platform platform, PhysicalMemory physical) {
        this.physical = physical;
        this.iommu = IommuCore.forPlatform(platform, physical);
        this.engines = DmaEngines.probe(iommu);
        this.vfioDevices = java.util.stream.IntStream.range(0, engines.size())
                .mapToObj(n -> new VfioPciDevice(engines.get(n), n)).toList();
    }

    public Platform platform() {
        return iommu.platform();
    }

    public PhysicalMemory physical() {
        return physical;
    }

    public IommuCore iommu() {
        return iommu;
    }

    /** open("/dev/iommu", O_RDWR): installs the new file and returns its fd number. */
    public int open(UserProcess caller) {
        return caller.fds().install(new IommufdFile(new IommufdContext(iommu, caller)));
    }

    /** The dma-engines of the platform's devices, in platform order. */
    public List<DmaEngine> engines() {
        return engines;
    }

    /** The dma-engine of a platform device by name, or null. */
    public DmaEngine engine(String name) {
        for (DmaEngine e : engines) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        return null;
    }

    /**
     * open("/dev/vfio/devices/vfioN", flags): installs a new VFIO device file of the platform's
     * N-th device and returns its fd number. ENOENT (as an {@link IommufdException}) for a path that
     * names no device. The file grants access only after VFIO_DEVICE_BIND_IOMMUFD.
     */
    public int openVfioDevice(UserProcess caller, String path, int flags) {
        int n = vfioIndex(path);
        if (n < 0 || n >= vfioDevices.size()) {
            throw new IommufdException(Errno.ENOENT, "no such VFIO device " + path);
        }
        return caller.fds().install(new VfioDeviceFile(vfioDevices.get(n)));
    }

    /** The cdev path of a platform device (/dev/vfio/devices/vfioN), or null. */
    public String vfioPath(String deviceName) {
        for (VfioPciDevice v : vfioDevices) {
            if (v.engine().name().equals(deviceName)) {
                return v.path();
            }
        }
        return null;
    }

    private static int vfioIndex(String path) {
        if (path == null || !path.startsWith(VFIO_DEVICES)) {
            return -1;
        }
        String n = path.substring(VFIO_DEVICES.length());
        if (n.isEmpty() || n.length() > 9 || !n.chars().allMatch(Character::isDigit) || n.length() > 1 && n.charAt(0) == '0') {
            return -1;
        }
        return Integer.parseInt(n);
    }

    /** The context behind an iommufd fd of a process (for reports and tests); null if fd is not one. */
    public static IommufdContext contextOf(UserProcess process, int fd) {
        return process.fds().get(fd) instanceof IommufdFile f ? f.context() : null;
    }
}
