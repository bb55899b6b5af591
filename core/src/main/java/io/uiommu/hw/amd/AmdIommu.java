package io.uiommu.hw.amd;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.IommuHardware;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.iommu.UserData;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.pt.FrameTableAllocator;
import io.uiommu.pt.PhysicalTables;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The AMD IOMMU driver (Linux drivers/iommu/amd) over one {@link AmdViHardware} unit: it programs
 * the registers, owns the device table, command buffer, event log and GCR3 tables in physical
 * memory, writes DTEs, and invalidates by writing commands and moving the tail, followed by a
 * COMPLETION_WAIT whose store it checks, as Linux does.
 *
 * <p>Domains: paging domains use the v1 host table unless asked otherwise (Linux's default
 * amd_iommu=pgtbl_v1 for user domains); IOMMU_HWPT_ALLOC_PASID asks for a v2 table (reached through
 * GCR3[0]); dirty tracking and nest parents force v1. PASIDs bind SVA domains through the GCR3
 * table (Linux has set_dev_pasid only for SVA and blocking domains); nested domains carry a guest
 * DTE over a v1 parent (the upstream hardware vIOMMU).
 *
 * <p>Locking: this object's monitor for driver state, DTEs and commands; translation goes to the
 * hardware without it.
 */
public final class AmdIommu implements IommuHardware {
    /** iommu_hwpt_data_type for a guest DTE (upstream, newer than 6.12; no uAPI here yet). */
    public static final int IOMMU_HWPT_DATA_AMD_GUEST = 3;
    /** iommu_hw_info_type of struct iommu_hw_info_amd (upstream, newer than 6.12). */
    public static final int IOMMU_HW_INFO_TYPE_AMD = 4;
    public static final int IOMMU_HW_INFO_TYPE_NONE = 0;

    static final int IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0;
    static final int IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
    static final int IOMMU_HWPT_ALLOC_PASID = 1 << 3;

    static final long MSI_RANGE_START = 0xfee0_0000L;
    static final long MSI_RANGE_END = 0xfeef_ffffL;
    static final long HT_RANGE_START = 0xfd_0000_0000L;
    static final long HT_RANGE_END = 0xff_ffff_ffffL;

    private static final int DEV_TABLE_BYTES = 0x200 * PhysicalMemory.PAGE_SIZE;
    private static final int RING_BYTES = 8192;
    private static final long RING_LEN_512 = 9L << 56;

    private final IommuUnit unit;
    private final PhysicalMemory memory;
    private final AmdViHardware hw;
    private final FrameTableAllocator allocator;
    private final PhysicalTables tables;
    private final long devTable;
    private final long cmdBuf;
    private final long eventLog;
    private final long completionSem;
    private int cmdTail;
    private long semSeq;
    private int eventHead;
    private long syncTimeouts;
    private final BitSet domainIds = new BitSet();
    private final Map<Integer, AmdDevice> devices = new HashMap<>();
    /** Per nest parent: guest DomainID -> {host DomainID, users}. */
    private final Map<AmdPagingDomain, Map<Integer, int[]>> guestDomainIds = new HashMap<>();
    private final IommuDomain blocked = new IommuDomain(IommuDomain.Type.BLOCKED, this) {
    };
    private final int maxPasids;
    private final int maxGlx;
    private final int guestLevels;
    /** The PPR log's consumer, or null without PPRSup. */
    private final PprLogHandler ppr;
    private final Map<Integer, AmdDevice> byDevid = new java.util.concurrent.ConcurrentHashMap<>();

    public AmdIommu(IommuUnit unit, PhysicalMemory memory, StaleTranslationAuditor auditor) {
        this.unit = unit;
        this.memory = memory;
        this.hw = new AmdViHardware(memory, auditor, AmdRegisters.efr(unit), AmdRegisters.efr2(unit));
        this.allocator = new FrameTableAllocator(memory);
        this.tables = new PhysicalTables(memory);
        long efr = hw.efr();
        if ((efr & AmdRegisters.EFR_GT_SUP) != 0) {
            maxPasids = (1 << (AmdRegisters.field(efr, AmdRegisters.EFR_PASMAX_SHIFT, 5) + 1)) - 1;
            maxGlx = AmdRegisters.field(efr, AmdRegisters.EFR_GLX_SHIFT, 2);
        } else {
            maxPasids = 0;
            maxGlx = -1;
        }
        guestLevels = AmdRegisters.field(efr, AmdRegisters.EFR_GATS_SHIFT, 2) == 1 ? 5 : 4;
        domainIds.set(0);
        // Bring-up as Linux's amd_iommu_init does: tables, rings, enables, then flush everything.
        devTable = allocator.allocate(DEV_TABLE_BYTES);
        cmdBuf = allocator.allocate(RING_BYTES);
        eventLog = allocator.allocate(RING_BYTES);
        completionSem = allocator.allocate(PhysicalMemory.PAGE_SIZE);
        hw.write(AmdRegisters.DEV_TABLE_BASE, devTable | (DEV_TABLE_BYTES / PhysicalMemory.PAGE_SIZE - 1));
        hw.write(AmdRegisters.CMD_BUF_BASE, cmdBuf | RING_LEN_512);
        hw.write(AmdRegisters.EVT_LOG_BASE, eventLog | RING_LEN_512);
        long control = AmdRegisters.CONTROL_IOMMU_EN | AmdRegisters.CONTROL_EVT_LOG_EN
                | AmdRegisters.CONTROL_CMDBUF_EN;
        if ((efr & AmdRegisters.EFR_PPR_SUP) != 0) {
            ppr = new PprLogHandler(this, hw, memory, byDevid, allocator.allocate(PprLogHandler.LOG_BYTES));
            control |= AmdRegisters.CONTROL_PPR_EN | AmdRegisters.CONTROL_PPRINT_EN | AmdRegisters.CONTROL_PPRLOG_EN;
        } else {
            ppr = null;
        }
        hw.setPrgResponseSink((devid, pasid, prgIndex, code) -> {
            AmdDevice d = byDevid.get(devid);
            if (d != null) {
                d.pri().prgResponse(prgIndex, pasid, code);
            }
        });
        if ((efr & AmdRegisters.EFR_GT_SUP) != 0) {
            control |= AmdRegisters.CONTROL_GT_EN;
        }
        hw.write(AmdRegisters.CONTROL, control);
        synchronized (this) {
            queue(AmdCommand.invalidateIommuAll());
            completionWait();
        }
    }

    @Override
    public IommuUnit unit() {
        return unit;
    }

    /** The hardware model behind this driver (registers, counters). */
    public AmdViHardware hardware() {
        return hw;
    }

    PhysicalTables tables() {
        return tables;
    }

    FrameTableAllocator allocator() {
        return allocator;
    }

    /** Physical address of the device table. */
    public long deviceTable() {
        return devTable;
    }

    public long commandBuffer() {
        return cmdBuf;
    }

    public long eventLog() {
        return eventLog;
    }

    /** Whether the IOMMU can give devices PASIDs (Linux amd_iommu_pasid_supported: GT, PPR, EPH). */
    public boolean pasidSupported() {
        long efr = hw.efr();
        return (efr & AmdRegisters.EFR_GT_SUP) != 0 && (efr & AmdRegisters.EFR_PPR_SUP) != 0
                && (efr & AmdRegisters.EFR_EPH_SUP) != 0;
    }

    private boolean hdSupport() {
        return (hw.efr() & AmdRegisters.EFR_HD_SUP) != 0;
    }

    @Override
    public synchronized IommuDevice addDevice(PciDevice device) {
        int devid = device.requesterId();
        if (devices.containsKey(devid)) {
            throw new IllegalArgumentException("two devices with requester id " + AmdViHardware.bdf(devid)
                    + " behind " + unit.name());
        }
        int pasids = pasidSupported() && device.pasidBits() > 0
                ? Math.min(maxPasids, device.pasidBits() >= 31 ? Integer.MAX_VALUE : 1 << device.pasidBits())
                : 0;
        AmdDevice dev = new AmdDevice(device, this, pasids);
        devices.put(devid, dev);
        byDevid.put(devid, dev);
        dev.attached = blocked;
        writeDte(dev);
        flushDte(dev);
        completionWait();
        return dev;
    }

    @Override
    public String name() {
        return "amd";
    }

    @Override
    public boolean capable(IommuDevice dev, Cap cap) {
        return switch (cap) {
            case CACHE_COHERENCY -> true;
            case DIRTY_TRACKING -> hdSupport();
        };
    }

    /**
     * amd_iommu_domain_alloc_paging_flags: no vendor data or parent (EOPNOTSUPP); DIRTY_TRACKING
     * and NEST_PARENT give v1 (dirty tracking needs HDSup, nest parents GT, GIoV and GCR3TRPMode);
     * PASID alone gives v2 when the IOMMU supports PASIDs; nothing gives the v1 default; any
     * other combination is EOPNOTSUPP.
     */
    @Override
    public synchronized IommuDomain domainAllocUser(IommuDevice dev, int flags, IommuDomain parent, UserData data) {
        int supported = IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_NEST_PARENT;
        if ((flags & ~supported) != 0 || data != null || parent != null) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unsupported paging domain request");
        }
        boolean dirty = (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) != 0;
        boolean nestParent = (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) != 0;
        switch (flags) {
            case 0 -> {
                return new AmdPagingDomain(this, AmdPagingDomain.PageTable.V1, allocateDomainId(), false, false, 0);
            }
            case IOMMU_HWPT_ALLOC_PASID -> {
                if (!pasidSupported()) {
                    throw new IommufdException(Errno.EOPNOTSUPP, "IOMMU has no PASID support");
                }
                return new AmdPagingDomain(this, AmdPagingDomain.PageTable.V2, allocateDomainId(), false, false,
                        guestLevels);
            }
            default -> {
                if ((flags & IOMMU_HWPT_ALLOC_PASID) != 0 || dirty && !hdSupport()
                        || nestParent && !nestParentSupported()) {
                    throw new IommufdException(Errno.EOPNOTSUPP, "unsupported paging domain flags");
                }
                return new AmdPagingDomain(this, AmdPagingDomain.PageTable.V1, allocateDomainId(), dirty, nestParent,
                        0);
            }
        }
    }

    private boolean nestParentSupported() {
        long efr = hw.efr();
        return (efr & AmdRegisters.EFR_GT_SUP) != 0 && (efr & AmdRegisters.EFR_GIO_SUP) != 0
                && (hw.efr2() & AmdRegisters.EFR2_GCR3_TRP_MODE) != 0;
    }

    private int allocateDomainId() {
        int id = domainIds.nextClearBit(1);
        if (id > 0xffff) {
            throw new IommufdException(Errno.ENOSPC, "no free DomainID");
        }
        domainIds.set(id);
        return id;
    }

    synchronized void freeDomainId(int id) {
        domainIds.clear(id);
    }

    @Override
    public IommuDomain blockedDomain() {
        return blocked;
    }

    @Override
    public synchronized void attachDev(IommuDomain domain, IommuDevice idev) {
        AmdDevice dev = (AmdDevice) idev;
        if (domain == blocked) {
            detach(dev);
            return;
        }
        if (domain == dev.attached) {
            return;
        }
        if (domain instanceof AmdNestedDomain nested) {
            attachNested(nested, dev);
            return;
        }
        if (!(domain instanceof AmdPagingDomain pd) || domain.driver() != this) {
            throw new IommufdException(Errno.EINVAL, "domain cannot be attached to " + dev);
        }
        if (pd.hasDirtyOps() && !hdSupport()) {
            throw new IommufdException(Errno.EINVAL, "IOMMU cannot track dirty pages");
        }
        int glx = 0;
        if (pd.pageTable() == AmdPagingDomain.PageTable.V2) {
            glx = Gcr3Table.glxFor(dev.maxPasids() > 0 ? dev.maxPasids() : 1);
            if (glx > maxGlx) {
                throw new IommufdException(Errno.EINVAL, "GCR3 table deeper than the IOMMU supports");
            }
        }
        detach(dev);
        if (pd.pageTable() == AmdPagingDomain.PageTable.V2) {
            dev.gcr3 = new Gcr3Table(memory, allocator, glx, allocateDomainId());
            dev.gcr3.set(0, pd.root(), true);
            // pdev_enable_caps: PASID, ATS and PRI for a domain that can carry PASIDs.
            dev.pasidEnabled = dev.maxPasids() > 0;
        }
        dev.atsEnabled = dev.pci().ats();
        dev.attached = pd;
        pd.devices.add(dev);
        writeDte(dev);
        flushDte(dev);
        completionWait();
    }

    /** Back to a blocking DTE: flushes, drops the GCR3 table and its PASIDs (Linux detach_device). */
    private void detach(AmdDevice dev) {
        IommuDomain old = dev.attached;
        dev.attached = blocked;
        writeDte(dev);
        flushDte(dev);
        completionWait();
        if (old instanceof AmdPagingDomain pd) {
            pd.devices.remove(dev);
            flushDomainPages(pd, 0, -1);
        } else if (old instanceof AmdNestedDomain nd) {
            queue(AmdCommand.invalidateIommuPages(nd.hostDomainId, 0, false, 0, -1));
            completionWait();
        }
        if (dev.gcr3 != null) {
            queue(AmdCommand.invalidateIommuPages(dev.gcr3.domainId, 0, false, 0, -1));
            completionWait();
            dev.gcr3.free();
            domainIds.clear(dev.gcr3.domainId);
            dev.gcr3 = null;
            dev.pasids.clear();
        }
        dev.pasidEnabled = false;
        dev.atsEnabled = false;
    }

    private void attachNested(AmdNestedDomain nested, AmdDevice dev) {
        if (nested.driver() != this) {
            throw new IommufdException(Errno.EINVAL, "domain of another IOMMU");
        }
        // The nested path takes the whole PASID space from the guest: no host PASIDs may be live.
        if (dev.pasidEnabled) {
            throw new IommufdException(Errno.EINVAL, dev + " has PASIDs enabled");
        }
        detach(dev);
        dev.attached = nested;
        writeDte(dev);
        flushDte(dev);
        completionWait();
    }

    /** Writes the DTE for the device's current attachment (Linux set_dte_entry / clear_dte_entry). */
    private void writeDte(AmdDevice dev) {
        long entry = devTable + (long) dev.deviceId() * DeviceTableEntry.SIZE;
        long oldQ1 = memory.readLong(entry + 8);
        long q2 = memory.readLong(entry + 16) & ~DeviceTableEntry.GPT_LEVEL;
        long q0;
        long q1 = oldQ1 & DeviceTableEntry.FLAG_MASK & ~DeviceTableEntry.IOTLB_EN;
        int domainId;
        IommuDomain d = dev.attached;
        if (d instanceof AmdPagingDomain pd) {
            q1 |= dev.atsEnabled ? DeviceTableEntry.IOTLB_EN : 0;
            if (pd.pageTable() == AmdPagingDomain.PageTable.V1) {
                q0 = DeviceTableEntry.hostQ0(pd.root(), pd.levels()) | (pd.dirtyTracking ? DeviceTableEntry.HAD : 0);
                domainId = pd.id;
            } else {
                long gcr3 = dev.gcr3.root;
                q0 = DeviceTableEntry.hostQ0(0, 0) | DeviceTableEntry.GV | DeviceTableEntry.GIOV
                        | (long) dev.gcr3.glx << DeviceTableEntry.GLX_SHIFT | DeviceTableEntry.gcr3Q0(gcr3);
                if (dev.pci().pri() && (hw.efr() & AmdRegisters.EFR_PPR_SUP) != 0) {
                    q0 |= DeviceTableEntry.PPR;
                }
                q1 |= DeviceTableEntry.gcr3Q1(gcr3);
                if (pd.levels() == 5) {
                    q2 |= 1L << DeviceTableEntry.GPT_LEVEL_SHIFT;
                }
                domainId = dev.gcr3.domainId;
            }
            if (dev.pri().enabled()) {
                q0 |= DeviceTableEntry.PPR; // dev_data->ppr: the device joined the IOPF queue
            }
        } else if (d instanceof AmdNestedDomain nd) {
            AmdPagingDomain parent = nd.parent();
            long[] g = nd.guestDte;
            q0 = DeviceTableEntry.hostQ0(parent.root(), parent.levels())
                    | (parent.dirtyTracking ? DeviceTableEntry.HAD : 0) | DeviceTableEntry.GV
                    | g[0] & (DeviceTableEntry.PPR | DeviceTableEntry.GLX | DeviceTableEntry.GIOV
                            | DeviceTableEntry.GCR3_A);
            q1 |= g[1] & (DeviceTableEntry.GCR3_B | DeviceTableEntry.GCR3_C);
            q2 |= g[2] & DeviceTableEntry.GPT_LEVEL;
            domainId = nd.hostDomainId;
        } else {
            q0 = DeviceTableEntry.BLOCKED_Q0;
            domainId = 0;
        }
        q1 |= domainId;
        memory.writeLong(entry + 16, q2);
        memory.writeLong(entry + 8, q1);
        memory.writeLong(entry, q0);
        int oldDomainId = DeviceTableEntry.domainId(oldQ1);
        if (oldDomainId != 0 && oldDomainId != domainId) {
            queue(AmdCommand.invalidateIommuPages(oldDomainId, 0, false, 0, -1));
        }
    }

    private void flushDte(AmdDevice dev) {
        queue(AmdCommand.invalidateDevtabEntry(dev.deviceId()));
        if (dev.atsEnabled) {
            queue(AmdCommand.invalidateIotlbPages(dev.deviceId(), 0, 0, false, 0, -1));
        }
    }

    /** A v1 table grew a level: every DTE pointing at it gets the new root and Mode. */
    synchronized void domainTopChanged(AmdPagingDomain domain) {
        for (AmdDevice dev : devices.values()) {
            if (dev.attached == domain
                    || dev.attached instanceof AmdNestedDomain nd && nd.parent() == domain) {
                writeDte(dev);
                flushDte(dev);
            }
        }
        completionWait();
    }

    /**
     * Invalidates [iova, iova+size) (size -1: all) of a domain: one INVALIDATE_IOMMU_PAGES for a
     * v1 domain and each host DomainID nested over it, one per device GCR3 DomainID (GN, PASID 0)
     * for v2; device IOTLBs of ATS devices; then a COMPLETION_WAIT.
     */
    synchronized void flushDomainPages(AmdPagingDomain domain, long iova, long size) {
        if (domain.pageTable() == AmdPagingDomain.PageTable.V1) {
            queue(AmdCommand.invalidateIommuPages(domain.id, 0, false, iova, size));
            Map<Integer, int[]> nested = guestDomainIds.get(domain);
            if (nested != null) {
                for (int[] host : nested.values()) {
                    queue(AmdCommand.invalidateIommuPages(host[0], 0, false, iova, size));
                }
            }
        } else {
            for (AmdDevice dev : domain.devices) {
                queue(AmdCommand.invalidateIommuPages(dev.gcr3.domainId, 0, true, iova, size));
            }
        }
        for (AmdDevice dev : domain.devices) {
            if (dev.atsEnabled) {
                queue(AmdCommand.invalidateIotlbPages(dev.deviceId(), 0, 0, false, iova, size));
            }
        }
        completionWait();
    }

    /** amd_iommu_set_dirty_tracking: HAD in every attached DTE, then a flush of the domain. */
    synchronized void setDirtyTracking(AmdPagingDomain domain, boolean enable) {
        if (domain.dirtyTracking == enable) {
            return;
        }
        domain.dirtyTracking = enable;
        for (AmdDevice dev : domain.devices) {
            writeDte(dev);
            flushDte(dev);
        }
        if (!domain.devices.isEmpty()) {
            flushDomainPages(domain, 0, -1);
        }
    }

    @Override
    public HwInfo hwInfo(IommuDevice dev) {
        // Linux 6.12 has no hw_info op for AMD: type NONE, no data.
        return new HwInfo(IOMMU_HW_INFO_TYPE_NONE, new byte[0]);
    }

    /** struct iommu_hw_info_amd {efr, efr2} as upstream's amd_iommufd_hw_info returns it (newer). */
    public HwInfo hwInfoUpstream() {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(hw.efr()).putLong(hw.efr2());
        return new HwInfo(IOMMU_HW_INFO_TYPE_AMD, b.array());
    }

    @Override
    public List<ResvRegion> resvRegions(IommuDevice dev) {
        return List.of(new ResvRegion(MSI_RANGE_START, MSI_RANGE_END - MSI_RANGE_START + 1),
                new ResvRegion(HT_RANGE_START, HT_RANGE_END - HT_RANGE_START + 1));
    }

    @Override
    public void translate(IommuDevice dev, int pasid, long iova, int access, Translation out) {
        hw.translate(((AmdDevice) dev).deviceId(), pasid, iova, access, out);
    }

    // ---------------------------------------------------------------- PASIDs (SVA)

    /** amd_iommu_domain_alloc_sva: a domain over an x86-64 table at {@code cr3} (a process's). */
    public AmdSvaDomain domainAllocSva(IommuDevice dev, long cr3) {
        if (dev.driver() != this) {
            throw new IommufdException(Errno.EINVAL, "device of another IOMMU");
        }
        return new AmdSvaDomain(this, cr3 & Gcr3Table.ADDR);
    }

    /**
     * iommu_attach_device_pasid with the AMD driver: only SVA domains have set_dev_pasid
     * (EOPNOTSUPP otherwise); PASID 0, a PASID beyond the device's or one already bound is refused
     * (EINVAL, EINVAL, EBUSY); the RID must sit in a domain with a GCR3 table and PASIDs enabled
     * (EINVAL). Writes GCR3[pasid] and flushes that PASID.
     */
    @Override
    public synchronized void setDevPasid(IommuDomain domain, IommuDevice idev, int pasid) {
        if (((AmdDevice) idev).pasids.containsKey(pasid) && domain instanceof AmdSvaDomain) {
            throw new IommufdException(Errno.EBUSY, "PASID already attached");
        }
        setDevPasid(domain, idev, pasid, null);
    }

    /** set_dev_pasid replacing {@code old} (null: the PASID had nothing); refusals keep the old entry. */
    @Override
    public synchronized void setDevPasid(IommuDomain domain, IommuDevice idev, int pasid, IommuDomain old) {
        if (!(domain instanceof AmdSvaDomain sva)) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain has no set_dev_pasid");
        }
        AmdDevice dev = (AmdDevice) idev;
        if (domain.driver() != this || pasid == 0) {
            throw new IommufdException(Errno.EINVAL, "bad PASID attach");
        }
        if (dev.maxPasids() > 0 && Integer.compareUnsigned(pasid, dev.maxPasids()) >= 0) {
            throw new IommufdException(Errno.EINVAL, "PASID beyond the device's");
        }
        // is_pasid_valid and is_pasid_enabled: the RID's domain must have set up the GCR3 table.
        if (pasid <= 0 || pasid >= dev.maxPasids() || !dev.pasidEnabled || dev.gcr3 == null) {
            throw new IommufdException(Errno.EINVAL, "PASID not enabled on " + dev);
        }
        dev.gcr3.set(pasid, sva.cr3(), true);
        dev.pasids.put(pasid, sva);
        flushPasid(dev, pasid);
    }

    /** remove_dev_pasid: clears GCR3[pasid] and flushes it; nothing for an unbound PASID. */
    @Override
    public synchronized void removeDevPasid(IommuDevice idev, int pasid) {
        AmdDevice dev = (AmdDevice) idev;
        if (dev.pasids.remove(pasid) == null || dev.gcr3 == null) {
            return;
        }
        dev.gcr3.set(pasid, 0, false);
        flushPasid(dev, pasid);
    }

    @Override
    public void removeDevPasid(IommuDevice dev, int pasid, IommuDomain domain) {
        removeDevPasid(dev, pasid);
    }

    /**
     * The RID with every PASID owned by the guest: on AMD that is a nested domain's guest GCR3
     * table behind the RID's DTE, so this is {@link #attachDev} of a nested domain; any other
     * domain owns no PASID table (EINVAL).
     */
    @Override
    public synchronized void attachDevAllPasids(IommuDomain domain, IommuDevice dev) {
        if (!(domain instanceof AmdNestedDomain)) {
            throw new IommufdException(Errno.EINVAL, "only a nested domain carries the guest's GCR3 table");
        }
        attachDev(domain, dev);
    }

    /** The mm notifier's flush: every PASID bound to {@code domain}, [iova, iova+size). */
    public synchronized void invalidateSva(AmdSvaDomain domain, long iova, long size) {
        for (AmdDevice dev : devices.values()) {
            for (var e : dev.pasids.entrySet()) {
                if (e.getValue() == domain) {
                    queue(AmdCommand.invalidateIommuPages(dev.gcr3.domainId, e.getKey(), true, iova, size));
                }
            }
        }
        completionWait();
    }

    private void flushPasid(AmdDevice dev, int pasid) {
        queue(AmdCommand.invalidateIommuPages(dev.gcr3.domainId, pasid, true, 0, -1));
        if (dev.atsEnabled) {
            queue(AmdCommand.invalidateIotlbPages(dev.deviceId(), 0, pasid, true, 0, -1));
        }
        completionWait();
    }

    // ---------------------------------------------------------------- nesting (hardware vIOMMU)

    /**
     * amd_iommu_alloc_domain_nested: a guest DTE (struct iommu_hwpt_amd_guest, 32 bytes) over a
     * v1 nest parent. Data of another type is EOPNOTSUPP; the struct is copied with the kernel's
     * rules; then {@link #allocDomainNested(IommuDomain, long[])} validates it.
     */
    public IommuDomain allocDomainNested(IommuDomain parent, UserData data) {
        if (data == null || data.type() != IOMMU_HWPT_DATA_AMD_GUEST) {
            throw new IommufdException(Errno.EOPNOTSUPP, "needs IOMMU_HWPT_DATA_AMD_GUEST");
        }
        ByteBuffer b = ByteBuffer.wrap(data.copyStruct(IOMMU_HWPT_DATA_AMD_GUEST, 32, 32))
                .order(ByteOrder.LITTLE_ENDIAN);
        return allocDomainNested(parent, new long[] {b.getLong(), b.getLong(), b.getLong(), b.getLong()});
    }

    /**
     * Validates a guest DTE as upstream's validate_gdte_nested: Mode and host root must be zero, a
     * valid GV entry needs a GCR3 root, the guest paging mode must be 4- or 5-level and GLX not 3
     * (EINVAL); 5-level guests need a 5-level capable IOMMU (EOPNOTSUPP). The guest DomainID maps
     * to a host DomainID shared by every nested domain of that parent with the same guest id.
     */
    public synchronized AmdNestedDomain allocDomainNested(IommuDomain parent, long[] guestDte) {
        if (!(parent instanceof AmdPagingDomain pd) || !pd.nestParent || parent.driver() != this
                || guestDte.length != 4) {
            throw new IommufdException(Errno.EINVAL, "parent is not a nest parent of this IOMMU");
        }
        long q0 = guestDte[0];
        long q1 = guestDte[1];
        long gpt = (guestDte[2] & DeviceTableEntry.GPT_LEVEL) >>> DeviceTableEntry.GPT_LEVEL_SHIFT;
        if (DeviceTableEntry.mode(q0) != 0 || DeviceTableEntry.root(q0) != 0) {
            throw new IommufdException(Errno.EINVAL, "guest DTE sets Mode or the host root");
        }
        if ((q0 & DeviceTableEntry.V) != 0 && (q0 & DeviceTableEntry.GV) != 0
                && DeviceTableEntry.gcr3Root(q0, q1) == 0) {
            throw new IommufdException(Errno.EINVAL, "guest DTE without a GCR3 table");
        }
        if (gpt > 1 || DeviceTableEntry.glx(q0) == 3) {
            throw new IommufdException(Errno.EINVAL, "guest paging mode or GLX reserved");
        }
        if (gpt == 1 && guestLevels < 5) {
            throw new IommufdException(Errno.EOPNOTSUPP, "5-level guest tables not supported");
        }
        int guestId = DeviceTableEntry.domainId(q1);
        Map<Integer, int[]> ids = guestDomainIds.computeIfAbsent(pd, k -> new HashMap<>());
        int[] host = ids.get(guestId);
        if (host == null) {
            host = new int[] {allocateDomainId(), 0};
            ids.put(guestId, host);
        }
        host[1]++;
        return new AmdNestedDomain(this, pd, guestDte, host[0]);
    }

    synchronized void freeNested(AmdNestedDomain nd) {
        Map<Integer, int[]> ids = guestDomainIds.get(nd.parent());
        int[] host = ids == null ? null : ids.get(nd.guestDomainId);
        if (host != null && --host[1] == 0) {
            ids.remove(nd.guestDomainId);
            domainIds.clear(host[0]);
            if (ids.isEmpty()) {
                guestDomainIds.remove(nd.parent());
            }
        }
    }

    /**
     * The guest's INVALIDATE_IOMMU_PAGES for a nested domain, as a vIOMMU passes it on: the
     * guest's DomainID replaced by the host DomainID, everything else as the guest wrote it.
     */
    public synchronized void invalidateNested(AmdNestedDomain domain, long[] guestCommand) {
        if (AmdCommand.opcode(guestCommand[0]) != AmdCommand.INVALIDATE_IOMMU_PAGES) {
            throw new IommufdException(Errno.EINVAL, "not INVALIDATE_IOMMU_PAGES");
        }
        long q0 = guestCommand[0] & ~(0xffffL << 32) | (long) domain.hostDomainId << 32;
        queue(new long[] {q0, guestCommand[1]});
        completionWait();
    }

    // ---------------------------------------------------------------- command buffer and event log

    /** Writes one command at the tail and moves the tail (Linux copy_cmd_to_buffer). */
    private void queue(long[] command) {
        int next = (cmdTail + AmdCommand.SIZE) % RING_BYTES;
        if (next == (int) hw.read(AmdRegisters.CMD_HEAD)) {
            syncTimeouts++;
            return;
        }
        memory.writeLong(cmdBuf + cmdTail, command[0]);
        memory.writeLong(cmdBuf + cmdTail + 8, command[1]);
        cmdTail = next;
        hw.write(AmdRegisters.CMD_TAIL, cmdTail);
    }

    /** COMPLETION_WAIT with a store of the next sequence number, then the check Linux's wait_on_sem makes. */
    private boolean completionWait() {
        long seq = ++semSeq;
        queue(AmdCommand.completionWait(completionSem, seq, false));
        if (memory.readLong(completionSem) - seq < 0) {
            syncTimeouts++;
            return false;
        }
        return true;
    }

    /** Completion waits that never completed (the hardware stopped at an illegal command). */
    public synchronized long syncTimeouts() {
        return syncTimeouts;
    }

    /**
     * Reads the event log from the driver's head to the hardware's tail, clears the records (as
     * Linux does for erratum 732) and moves the head past them.
     */
    public synchronized List<AmdEvent> pollEvents() {
        List<AmdEvent> out = new ArrayList<>();
        int tail = (int) hw.read(AmdRegisters.EVT_TAIL);
        while (eventHead != tail) {
            long pa = eventLog + eventHead;
            out.add(AmdEvent.decode(memory.readLong(pa), memory.readLong(pa + 8)));
            memory.writeLong(pa, 0);
            memory.writeLong(pa + 8, 0);
            eventHead = (eventHead + AmdEvent.SIZE) % RING_BYTES;
        }
        hw.write(AmdRegisters.EVT_HEAD, eventHead);
        return out;
    }

    // ---------------------------------------------------------------- I/O page faults (ppr.c)

    /**
     * dev_enable_feat(IOPF) always succeeds on AMD in 6.12; a function with PRI and ATS behind a
     * unit with PPRSup joins the IOPF queue (dev_data->ppr): PRI on and DTE.PPR set, flushed.
     */
    @Override
    public synchronized void enableIopf(IommuDevice idev) {
        AmdDevice dev = (AmdDevice) idev;
        if (ppr != null && dev.pci().pri() && dev.pci().ats()) {
            dev.pri().setEnabled(true);
            writeDte(dev);
            flushDte(dev);
            completionWait();
        }
    }

    @Override
    public synchronized void disableIopf(IommuDevice idev) {
        AmdDevice dev = (AmdDevice) idev;
        if (dev.pri().enabled()) {
            dev.pri().setEnabled(false);
            writeDte(dev);
            flushDte(dev);
            completionWait();
        }
    }

    /** amd_iommu_page_response: COMPLETE_PPR_REQUEST with the group's PASID and tag. */
    @Override
    public void pageResponse(IommuDevice dev, io.uiommu.iommu.PageRequest last, int code) {
        completePpr((AmdDevice) dev, last.pasid(), last.grpid(), code);
    }

    /** amd_iommu_complete_ppr (the PRG response carries the PASID: pri_tlp). */
    synchronized void completePpr(AmdDevice dev, int pasid, int tag, int status) {
        queue(PprLogEntry.completePpr(dev.deviceId(), pasid, true, tag, status));
    }

    /** The function's page request reaches the IOMMU; the PPR interrupt runs the handler in this thread. */
    @Override
    public void sendPageRequest(IommuDevice idev, io.uiommu.iommu.PageRequest r) {
        AmdDevice dev = (AmdDevice) idev;
        int perm = r.perm();
        if (hw.pprRequest(dev.deviceId(), r.pasidValid(), r.pasid(), (perm & 1) != 0, (perm & 2) != 0, (perm & 4) != 0,
                (perm & 8) == 0, r.lastPage(), r.grpid(), r.addr())) {
            handlePprLog();
        }
    }

    @Override
    public boolean pageRequestable(Translation fault) {
        return fault.faultCode == AmdEvent.IO_PAGE_FAULT;
    }

    /** The PPR log interrupt handler (amd_iommu_int_thread_pprlog). */
    public void handlePprLog() {
        if (ppr != null) {
            ppr.handle();
        }
    }

    /** The PPR log's address, or -1 without PPRSup (tests). */
    public long pprLog() {
        return ppr == null ? -1 : ppr.base();
    }

    /** Times the handler restarted the PPR log after an overflow. */
    public long pprLogRestarts() {
        return ppr == null ? 0 : ppr.restarts();
    }

    /** Writes a raw command into the buffer (tests and tools: what a buggy driver might send). */
    public synchronized void queueRaw(long q0, long q1) {
        queue(new long[] {q0, q1});
    }

    /** The DTE of a device as it is in memory. */
    public synchronized long[] dte(IommuDevice dev) {
        long entry = devTable + (long) ((AmdDevice) dev).deviceId() * DeviceTableEntry.SIZE;
        return new long[] {memory.readLong(entry), memory.readLong(entry + 8), memory.readLong(entry + 16),
                memory.readLong(entry + 24)};
    }

    /** Flushes a device's DTE the way the driver does (INVALIDATE_DEVTAB_ENTRY + COMPLETION_WAIT). */
    public synchronized void invalidateDte(IommuDevice dev) {
        flushDte((AmdDevice) dev);
        completionWait();
    }

    /** INVALIDATE_IOMMU_ALL + COMPLETION_WAIT (amd_iommu_flush_all_caches). */
    public synchronized void invalidateAll() {
        queue(AmdCommand.invalidateIommuAll());
        completionWait();
    }
}
