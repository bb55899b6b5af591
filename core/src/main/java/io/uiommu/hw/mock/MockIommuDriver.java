package io.uiommu.hw.mock;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.IommuDriver;
import io.uiommu.iommu.Translation;
import io.uiommu.iommu.UserData;
import io.uiommu.iommu.ViommuCore;
import io.uiommu.iommu.ViommuOps;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;

import java.util.BitSet;

/**
 * The kernel selftest's mock IOMMU (drivers/iommu/iommufd/selftest.c): paging domains with a
 * 2 KiB I/O page over the aperture [16 MiB, 2 GiB), optional dirty tracking, nested domains whose
 * "IOTLB" is four words the user invalidates, a blocking domain, and the mock vIOMMU
 * ({@link MockViommu}) with its vEVENTs, HW queues and mmap-able pages.
 *
 * <p>Locking: device ids under this object's monitor; domains document their own.
 */
public final class MockIommuDriver implements IommuDriver {
    public static final long MOCK_APERTURE_START = 1L << 24;
    public static final long MOCK_APERTURE_LAST = (1L << 31) - 1;
    public static final long MOCK_IO_PAGE_SIZE = PhysicalMemory.PAGE_SIZE / 2;
    public static final long MOCK_HUGE_PAGE_SIZE = 512 * MOCK_IO_PAGE_SIZE;
    public static final int IOMMU_HW_INFO_TYPE_SELFTEST = 0xfeedbeef;
    public static final int IOMMU_HW_INFO_SELFTEST_REGVAL = 0xdeadbeef;
    public static final int IOMMU_HWPT_DATA_SELFTEST = 0xdead;

    /** Fault reasons of the mock's DMA model (the selftest has no DMA; these are uiommu's). */
    public static final int FAULT_BLOCKED = 1;
    public static final int FAULT_NOT_PRESENT = 2;
    public static final int FAULT_PERMISSION = 3;

    static final int IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0;
    static final int IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
    static final int IOMMU_HWPT_ALLOC_PASID = 1 << 3;

    private final PhysicalMemory memory;
    private final BitSet usedIds = new BitSet();
    private final IommuDomain blocked = new IommuDomain(IommuDomain.Type.BLOCKED, this) {
    };

    /** A mock without memory of its own: a vIOMMU with driver data (which needs pages) is ENOMEM. */
    public MockIommuDriver() {
        this(null);
    }

    /** The mock over the machine's memory, where a mock vIOMMU takes the pages it exposes by mmap. */
    public MockIommuDriver(PhysicalMemory memory) {
        this.memory = memory;
    }

    PhysicalMemory memory() {
        return memory;
    }

    @Override
    public String name() {
        return "mock";
    }

    /**
     * mock_dev_create: unknown flags are EINVAL. The PASID flag is upstream's (6.15), accepted because
     * Debian's 6.12 selftest already creates such a device.
     */
    public synchronized MockDevice createDevice(int flags) {
        if ((flags & ~(MockDevice.MOCK_FLAGS_DEVICE_NO_DIRTY | MockDevice.MOCK_FLAGS_DEVICE_HUGE_IOVA
                | MockDevice.MOCK_FLAGS_DEVICE_PASID)) != 0) {
            throw new IommufdException(Errno.EINVAL, "unknown mock device flags");
        }
        int id = usedIds.nextClearBit(0);
        usedIds.set(id);
        return new MockDevice(id, flags, this);
    }

    /**
     * A platform device behind a mock unit: a mock device under the platform's name, without dirty
     * tracking when the unit has none.
     */
    public MockDevice platformDevice(PciDevice pci, IommuUnit unit) {
        return new MockDevice(pci.name(), unit.dirtyTracking() ? 0 : MockDevice.MOCK_FLAGS_DEVICE_NO_DIRTY, this);
    }

    public synchronized void destroyDevice(MockDevice dev) {
        usedIds.clear(Integer.parseInt(dev.name().substring("iommufd_mock".length())));
    }

    @Override
    public boolean capable(IommuDevice dev, Cap cap) {
        return switch (cap) {
            case CACHE_COHERENCY -> true;
            case DIRTY_TRACKING -> !((MockDevice) dev).noDirty();
        };
    }

    @Override
    public IommuDomain domainAllocUser(IommuDevice dev, int flags, IommuDomain parent, UserData data) {
        MockDevice mdev = (MockDevice) dev;
        // Upstream's mock: a PASID-compatible domain only for a device that has PASIDs.
        if ((flags & IOMMU_HWPT_ALLOC_PASID) != 0 && mdev.maxPasids() == 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "device has no PASIDs");
        }
        if (parent == null) {
            boolean dirty = (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) != 0;
            if ((flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID)) != 0) {
                throw new IommufdException(Errno.EOPNOTSUPP, "unsupported paging flags");
            }
            if (data != null || dirty && mdev.noDirty()) {
                throw new IommufdException(Errno.EOPNOTSUPP, "mock paging domains take no data");
            }
            return new MockPagingDomain(this, mdev.hugeIova(), dirty);
        }
        if (data == null || data.type() != IOMMU_HWPT_DATA_SELFTEST || (flags & ~IOMMU_HWPT_ALLOC_PASID) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "nested mock domains need selftest data");
        }
        if (!(parent instanceof MockPagingDomain mockParent)) {
            throw new IommufdException(Errno.EINVAL, "parent is not a mock paging domain");
        }
        byte[] cfg = data.copyStruct(IOMMU_HWPT_DATA_SELFTEST, 4, 4);
        int iotlb = (cfg[0] & 0xff) | (cfg[1] & 0xff) << 8 | (cfg[2] & 0xff) << 16 | (cfg[3] & 0xff) << 24;
        return new MockNestedDomain(this, mockParent, iotlb);
    }

    @Override
    public IommuDomain blockedDomain() {
        return blocked;
    }

    /**
     * mock_domain_nop_attach: a nested domain of a mock vIOMMU needs the device's vDEVICE there
     * (ENOENT); the device then remembers the vIOMMU and the vDEVICE id for TRIGGER_VEVENT.
     */
    @Override
    public void attachDev(IommuDomain domain, IommuDevice dev) {
        MockDevice mdev = (MockDevice) dev;
        if (domain.hasDirtyOps() && mdev.noDirty()) {
            throw new IommufdException(Errno.EINVAL, "device cannot track dirty pages");
        }
        MockViommu viommu = domain instanceof MockNestedDomain n ? n.viommu() : null;
        long vdevId = 0;
        if (viommu != null) {
            vdevId = viommu.core().virtIdOf(dev);
            if (vdevId < 0) {
                throw new IommufdException(Errno.ENOENT, "no vDEVICE for " + dev.name() + " in the vIOMMU");
            }
        }
        mdev.setViommu(viommu, vdevId);
    }

    /** mock_get_viommu_size != 0: the selftest type only. */
    @Override
    public boolean viommuSupported(IommuDevice dev, int type) {
        return type == MockViommu.IOMMU_VIOMMU_TYPE_SELFTEST;
    }

    @Override
    public ViommuOps viommuInit(IommuDevice dev, int type, IommuDomain parent, UserData data, ViommuCore core) {
        return MockViommu.init(this, parent, data, core);
    }

    /** Any paging or nested mock domain may serve a PASID; the mock keeps no PASID table of its own. */
    @Override
    public void setDevPasid(IommuDomain domain, IommuDevice dev, int pasid, IommuDomain old) {
        if (domain.hasDirtyOps() && ((MockDevice) dev).noDirty()) {
            throw new IommufdException(Errno.EINVAL, "device cannot track dirty pages");
        }
    }

    /**
     * DMA through the mock: one lookup in the paging domain's flat table (a nested domain's
     * stage 1 is the identity, so its parent translates). A device write to a domain that tracks
     * dirty pages marks the I/O page dirty, as hardware sets a dirty bit.
     */
    @Override
    public void translate(IommuDevice dev, int pasid, long iova, int access, Translation out) {
        IommuDomain d = pasid == Translation.NO_PASID ? dev.domain() : dev.pasidDomain(pasid);
        if (d == null || d.type() == IommuDomain.Type.BLOCKED) {
            out.fault(FAULT_BLOCKED, "MOCK_BLOCKED", 0, false);
            return;
        }
        boolean nested = d.type() == IommuDomain.Type.NESTED;
        MockPagingDomain paging = (MockPagingDomain) (nested ? d.parent() : d);
        long e = paging.entry(iova);
        out.descriptorReads = 1;
        if ((e & MockPagingDomain.PTE_PRESENT) == 0) {
            out.fault(FAULT_NOT_PRESENT, "MOCK_NOT_PRESENT", 1, nested);
            return;
        }
        boolean write = (access & IommuDomain.IOMMU_WRITE) != 0;
        if (write ? (e & MockPagingDomain.PTE_WRITE) == 0 : (e & MockPagingDomain.PTE_READ) == 0) {
            out.fault(FAULT_PERMISSION, "MOCK_PERMISSION", 1, nested);
            return;
        }
        out.physAddr = paging.iovaToPhys(iova);
        out.pageSize = MOCK_IO_PAGE_SIZE;
        if (write && paging.dirtyTracking()) {
            paging.markDirty(iova);
        }
    }

    /** mock_ops.user_pasid_table: the nested domain on the RID serves PASIDs nothing is attached to. */
    @Override
    public boolean userPasidTable() {
        return true;
    }

    /** mock_dev_enable_feat: every mock device joins the mock's fault queue; its function may send requests. */
    @Override
    public void enableIopf(IommuDevice dev) {
        dev.pri().setEnabled(true);
    }

    @Override
    public void disableIopf(IommuDevice dev) {
        dev.pri().setEnabled(false);
    }

    /**
     * The mock has no page request queue: a request goes straight to the core, as
     * IOMMU_TEST_OP_TRIGGER_IOPF does.
     */
    @Override
    public void sendPageRequest(IommuDevice dev, io.uiommu.iommu.PageRequest request) {
        io.uiommu.iommu.IoPageFault.reportDeviceFault(dev, request);
    }

    /** mock_domain_page_response does nothing in the kernel; here the answer reaches the device. */
    @Override
    public void pageResponse(IommuDevice dev, io.uiommu.iommu.PageRequest last, int code) {
        dev.pri().prgResponse(last.grpid(), last.pasidValid() ? last.pasid() : Translation.NO_PASID, code);
    }

    @Override
    public boolean pageRequestable(Translation fault) {
        return fault.faultCode == FAULT_NOT_PRESENT || fault.faultCode == FAULT_PERMISSION;
    }

    @Override
    public HwInfo hwInfo(IommuDevice dev) {
        byte[] info = new byte[8];
        int reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
        for (int i = 0; i < 4; i++) {
            info[4 + i] = (byte) (reg >>> (8 * i));
        }
        return new HwInfo(IOMMU_HW_INFO_TYPE_SELFTEST, info);
    }
}
