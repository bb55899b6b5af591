package io.uiommu.uapi;

import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommu.IommuCore;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.Platform;
import io.uiommu.proc.UserProcess;

/**
 * The character device /dev/iommu: each open creates an iommufd context behind a new file in the
 * caller's fd table. It owns the machine the contexts share: physical memory and the iommu core
 * with its drivers (the selftest's mock IOMMU unless a platform says otherwise).
 */
public final class DevIommu {
    private final PhysicalMemory physical;
    private final IommuCore iommu;

    /** A machine with its own physical memory and the mock IOMMU, as the kernel's selftest sees it. */
    public DevIommu() {
        this(new PhysicalMemory());
    }

    public DevIommu(PhysicalMemory physical) {
        this.physical = physical;
        this.iommu = IommuCore.withMockIommu(physical);
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

    /** The context behind an iommufd fd of a process (for reports and tests); null if fd is not one. */
    public static IommufdContext contextOf(UserProcess process, int fd) {
        return process.fds().get(fd) instanceof IommufdFile f ? f.context() : null;
    }
}
