package io.uiommu.hw.vtd;

import io.uiommu.iommu.IoPageFault;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.PageRequest;
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

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Linux intel-iommu driver (drivers/iommu/intel, 6.12) over one {@link VtdHardware} unit in
 * scalable mode: it builds the root table, context entries and per-device PASID tables in physical
 * memory, programs the unit through its registers, and keeps the caches coherent by writing
 * queued-invalidation descriptors and moving IQT, as {@code qi_submit_sync} does.
 *
 * <p>Attach intentions: the RID (PASID entry of RID_PASID 0), one PASID ({@link #setDevPasid}),
 * and the RID with every PASID owned by the guest ({@link #attachDevAllPasids}), which VT-d cannot
 * express (a nested domain carries a first-stage table, never a PASID table): EOPNOTSUPP.
 *
 * <p>Locking: this object's monitor for attach state, domain ids and queue submission; the
 * hardware model's own locks below it.
 */
public final class VtdIommu implements IommuHardware {
    /** Domain ids 0 and 1 (FLPT_DEFAULT_DID) are reserved, as Linux reserves them. */
    static final int RESERVED_DIDS = 2;
    static final int IOMMU_HWPT_ALLOC_NEST_PARENT = 1;
    static final int IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
    static final int IOMMU_HWPT_ALLOC_PASID = 1 << 3;
    static final int IOMMU_HWPT_DATA_VTD_S1 = 1;
    public static final int IOMMU_HW_INFO_TYPE_INTEL_VTD = 1;
    static final int IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1;
    /** The interrupt address range Linux reserves as an MSI region (IOAPIC_RANGE_START..END). */
    static final long MSI_RANGE_START = 0xFEE0_0000L;
    static final long MSI_RANGE_LENGTH = 0x10_0000L;
    private static final int QUEUE_ENTRIES = PhysicalMemory.PAGE_SIZE / InvalidationDescriptor.SIZE;

    /** A PASID entry of a device that points at a domain (Linux's cache tag without the type). */
    record Attachment(VtdDevice device, int pasid) {
    }

    private final IommuUnit unit;
    private final PhysicalMemory memory;
    private final VtdHardware hw;
    private final VtdCapabilities caps;
    private final PhysicalTables tables;
    private final FrameTableAllocator allocator;
    private final long rootTable;
    private final Map<String, VtdDevice> devices = new HashMap<>();
    private final Map<Integer, VtdDevice> bySid = new java.util.concurrent.ConcurrentHashMap<>();
    private final BitSet domainIds = new BitSet();
    private final long queueBase;
    private final long statusAddress;
    private int queueTail;
    private int statusSequence;
    private int gcmd;
    private long invalidationsSubmitted;
    private final int agaw;
    /** The page request queue (PRQ_ORDER 4: 16 pages, 2048 descriptors), or -1 without ECAP.PRS. */
    private final long prqBase;
    /** iommu->iopf_lock: one page request handler at a time. */
    private final Object prqLock = new Object();
    private long prqOverflows;
    private final IommuDomain blocked = new IommuDomain(IommuDomain.Type.BLOCKED, this) {
        @Override
        public String toString() {
            return "vtd blocking domain";
        }
    };

    public VtdIommu(IommuUnit unit, PhysicalMemory memory, StaleTranslationAuditor auditor) {
        this.unit = unit;
        this.memory = memory;
        this.caps = VtdCapabilities.of(unit);
        this.hw = new VtdHardware(caps, memory, auditor);
        this.tables = new PhysicalTables(memory);
        this.allocator = new FrameTableAllocator(memory);
        this.agaw = caps.agaw();
        if (agaw < 1 || !caps.scalableMode() || !caps.queuedInvalidation()) {
            throw new IllegalArgumentException("VT-d unit " + unit.name()
                    + " needs scalable mode, queued invalidation and a 39/48/57-bit SAGAW the first stage shares");
        }
        domainIds.set(0, RESERVED_DIDS);
        // Root table, then the queue, then the global flushes iommu_set_root_entry does without
        // CAP.ESRTPS, then translation on: init_dmars' order.
        rootTable = allocator.allocate(PhysicalMemory.PAGE_SIZE);
        hw.write64(VtdHardware.RTADDR, rootTable | VtdHardware.RTADDR_TTM_SCALABLE);
        hw.write32(VtdHardware.GCMD, gcmd | VtdHardware.GCMD_SRTP);
        queueBase = allocator.allocate(PhysicalMemory.PAGE_SIZE);
        statusAddress = allocator.allocate(PhysicalMemory.PAGE_SIZE);
        hw.write64(VtdHardware.IQT, 0);
        hw.write64(VtdHardware.IQA, queueBase | VtdHardware.IQA_DW);
        gcmd |= VtdHardware.GCMD_QIE;
        hw.write32(VtdHardware.GCMD, gcmd);
        submit(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_GLOBAL, 0, 0, 0), 0,
                InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_GLOBAL, 0, 0), 0,
                InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, true), 0);
        gcmd |= VtdHardware.GCMD_TE;
        hw.write32(VtdHardware.GCMD, gcmd);
        if (caps.ecapField("PRS") != 0) {
            // intel_iommu_enable_prq: the queue, then the interrupt unmasked (request_threaded_irq).
            prqBase = allocator.allocate((long) PhysicalMemory.PAGE_SIZE << PRQ_ORDER);
            hw.write64(VtdHardware.PQH, 0);
            hw.write64(VtdHardware.PQT, 0);
            hw.write64(VtdHardware.PQA, prqBase | PRQ_ORDER);
            hw.write32(VtdHardware.PECTL, 0);
        } else {
            prqBase = -1;
        }
        hw.setPrgResponseSink((rid, pasid, prgIndex, code) -> {
            VtdDevice d = bySid.get(rid);
            if (d != null) {
                d.pri().prgResponse(prgIndex, pasid, code);
            }
        });
    }

    static final int PRQ_ORDER = 4;

    // ---- plumbing ----

    public VtdHardware hardware() {
        return hw;
    }

    PhysicalTables tables() {
        return tables;
    }

    FrameTableAllocator allocator() {
        return allocator;
    }

    public long rootTable() {
        return rootTable;
    }

    static String bdf(int sid) {
        return String.format("%02x:%02x.%d", sid >>> 8, (sid >>> 3) & 0x1F, sid & 7);
    }

    static long le64(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = v << 8 | (b[off + i] & 0xFF);
        }
        return v;
    }

    private static void putLe64(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    /** Invalidation descriptors submitted through the queue since creation (tests). */
    public synchronized long invalidationsSubmitted() {
        return invalidationsSubmitted;
    }

    /**
     * qi_submit_sync: writes the descriptors (qword 0, qword 1 pairs) and a wait descriptor with a
     * status write, moves IQT and checks the status. The model fetches synchronously, so the
     * status is there when IQT's write returns; an invalid descriptor (FSTS.IQE) is a driver bug.
     */
    synchronized void submit(long... pairs) {
        int n = pairs.length / 2;
        for (int start = 0; start < n; start += QUEUE_ENTRIES - 2) {
            int count = Math.min(n - start, QUEUE_ENTRIES - 2);
            for (int k = 0; k < count; k++) {
                writeDescriptor(pairs[2 * (start + k)], pairs[2 * (start + k) + 1]);
            }
            int status = ++statusSequence;
            memory.writeLong(statusAddress, 0);
            writeDescriptor(InvalidationDescriptor.wait(status, false), statusAddress);
            invalidationsSubmitted += count;
            hw.write64(VtdHardware.IQT, queueTail);
            if ((int) memory.readLong(statusAddress) != status) {
                int fsts = hw.read32(VtdHardware.FSTS);
                if ((fsts & VtdHardware.FSTS_IQE) != 0) {
                    // qi_check_fault: skip the bad descriptor and report.
                    long head = hw.read64(VtdHardware.IQH);
                    queueTail = (int) head;
                    hw.write64(VtdHardware.IQT, queueTail);
                    hw.write32(VtdHardware.FSTS, VtdHardware.FSTS_IQE);
                    throw new IllegalStateException("VT-d invalidation queue error at head 0x" + Long.toHexString(head));
                }
                throw new IllegalStateException("VT-d invalidation did not complete");
            }
        }
    }

    private void writeDescriptor(long qw0, long qw1) {
        long at = queueBase + queueTail;
        memory.writeLong(at, qw0);
        memory.writeLong(at + 8, qw1);
        memory.writeLong(at + 16, 0);
        memory.writeLong(at + 24, 0);
        queueTail = (queueTail + InvalidationDescriptor.SIZE) % PhysicalMemory.PAGE_SIZE;
    }

    // ---- IommuHardware / IommuDriver ----

    @Override
    public IommuUnit unit() {
        return unit;
    }

    @Override
    public String name() {
        return "vtd";
    }

    /** The device added with this name, or null. */
    public synchronized VtdDevice device(String name) {
        return devices.get(name);
    }

    /**
     * intel_iommu_probe_device for a PCI function: its PASID table (sized by its PASID capability,
     * as intel_pasid_alloc_table does) and its scalable-mode context entry. It starts blocked:
     * RID_PASID's entry is not present.
     */
    @Override
    public synchronized IommuDevice addDevice(PciDevice pci) {
        int sid = pci.requesterId();
        if (bySid.containsKey(sid) || devices.containsKey(pci.name())) {
            throw new IllegalArgumentException("device " + pci.name() + " (" + pci.bdf() + ") is already behind "
                    + unit.name());
        }
        boolean pasidSupported = caps.pasid() && pci.pasidBits() > 0;
        boolean atsSupported = caps.deviceTlb() && pci.ats();
        long maxPasid = pasidSupported ? Math.min(1L << pci.pasidBits(), 1L << 20) : 0;
        long dirBytes = maxPasid >>> (PasidDirectoryEntry.PASID_SHIFT - 3);
        int order = 0;
        while ((long) PhysicalMemory.PAGE_SIZE << order < dirBytes) {
            order++;
        }
        long tablePasids = 1L << (order + PhysicalMemory.PAGE_SHIFT + 3);
        int directoryEntries = (int) (tablePasids >>> PasidDirectoryEntry.PASID_SHIFT);
        long directory = allocator.allocate((long) PhysicalMemory.PAGE_SIZE << order);
        int pdts = Integer.numberOfTrailingZeros(directoryEntries) - 7;
        int maxPasids = pasidSupported ? (int) Math.min(1L << pci.pasidBits(), 1L << caps.pasidBits()) : 0;
        VtdDevice dev = new VtdDevice(pci, this, pasidSupported, atsSupported, directory, directoryEntries,
                maxPasids);
        long ctx = contextEntryAddress(dev.bus(), dev.devfn());
        // Non-present to present: no context-cache invalidation needed with CAP.CM = 0.
        memory.writeLong(ctx + 8, 0); // RID_PASID = 0 (IOMMU_NO_PASID)
        memory.writeLong(ctx + 16, 0);
        memory.writeLong(ctx + 24, 0);
        memory.writeLong(ctx, ContextEntry.encode0(directory, pdts, atsSupported, pasidSupported));
        devices.put(pci.name(), dev);
        bySid.put(sid, dev);
        return dev;
    }

    /** iommu_context_addr with alloc: the context table of the bus half, allocated and hooked on first use. */
    private long contextEntryAddress(int bus, int devfn) {
        long half = RootEntry.halfAddress(rootTable, bus, devfn);
        long root = memory.readLong(half);
        if ((root & RootEntry.PRESENT) == 0) {
            long table = allocator.allocate(PhysicalMemory.PAGE_SIZE);
            root = RootEntry.encode(table);
            memory.writeLong(half, root);
        }
        return ContextEntry.address(root & RootEntry.POINTER_MASK, devfn);
    }

    @Override
    public boolean capable(IommuDevice dev, Cap cap) {
        return switch (cap) {
            case CACHE_COHERENCY -> true;
            case DIRTY_TRACKING -> caps.secondStageAccessDirty();
        };
    }

    @Override
    public IommuDomain blockedDomain() {
        return blocked;
    }

    /** intel_iommu_hw_info: struct iommu_hw_info_vtd {flags, __reserved, cap_reg, ecap_reg}. */
    @Override
    public HwInfo hwInfo(IommuDevice dev) {
        byte[] info = new byte[24];
        // 6.12 reports the SPR17 erratum flag on every unit.
        putLe64(info, 0, IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17);
        putLe64(info, 8, caps.cap());
        putLe64(info, 16, caps.ecap());
        return new HwInfo(IOMMU_HW_INFO_TYPE_INTEL_VTD, info);
    }

    @Override
    public List<ResvRegion> resvRegions(IommuDevice dev) {
        return List.of(new ResvRegion(MSI_RANGE_START, MSI_RANGE_LENGTH));
    }

    /**
     * intel_iommu_domain_alloc_user (6.12): with a parent, a nested domain (EOPNOTSUPP without
     * ECAP.NEST or with flags); otherwise a second-stage paging domain (EOPNOTSUPP for unknown
     * flags, NEST_PARENT without nesting, any data, DIRTY_TRACKING without SLADS).
     */
    @Override
    public IommuDomain domainAllocUser(IommuDevice dev, int flags, IommuDomain parent, UserData data) {
        vtdDevice(dev);
        boolean dirty = (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) != 0;
        boolean nestParent = (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) != 0;
        if (parent != null) {
            if (!caps.nesting() || (flags & ~IOMMU_HWPT_ALLOC_PASID) != 0) {
                throw new IommufdException(Errno.EOPNOTSUPP, "no nesting on this unit, or flags on a nested domain");
            }
            return nestedDomainAlloc(parent, data);
        }
        // ALLOC_PASID needs nothing special: every VT-d paging domain can sit in a PASID entry.
        if ((flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID)) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unsupported HWPT flags 0x" + Integer.toHexString(flags));
        }
        if (nestParent && !caps.nesting()) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unit has no nesting (ECAP.NEST)");
        }
        if (data != null || dirty && !caps.secondStageAccessDirty()) {
            throw new IommufdException(Errno.EOPNOTSUPP, data != null ? "paging domains take no data"
                    : "unit has no second-stage dirty tracking (ECAP.SLADS)");
        }
        int gaw = Math.min(VtdCapabilities.agawToWidth(agaw), caps.mgaw());
        return new VtdPagingDomain(this, agaw, gaw, nestParent, dirty);
    }

    /** intel_nested_domain_alloc: flags and address width are checked at attach, as 6.12 does. */
    private IommuDomain nestedDomainAlloc(IommuDomain parent, UserData data) {
        if (data == null || data.type() != IOMMU_HWPT_DATA_VTD_S1) {
            throw new IommufdException(Errno.EOPNOTSUPP, "nested VT-d domains need IOMMU_HWPT_DATA_VTD_S1");
        }
        if (!(parent instanceof VtdPagingDomain s2) || parent.driver() != this || !s2.nestParent) {
            throw new IommufdException(Errno.EINVAL, "parent is not a VT-d nest parent");
        }
        byte[] s1 = data.copyStruct(IOMMU_HWPT_DATA_VTD_S1, VtdNestedDomain.S1_SIZE, VtdNestedDomain.S1_SIZE);
        long flags = le64(s1, 0);
        long pgtbl = le64(s1, 8);
        int addrWidth = (int) le64(s1, 16);
        VtdNestedDomain nested = new VtdNestedDomain(this, s2, flags, pgtbl, addrWidth);
        synchronized (this) {
            s2.children.add(nested);
        }
        return nested;
    }

    synchronized void nestedFreed(VtdNestedDomain nested) {
        nested.parent.children.remove(nested);
    }

    private VtdDevice vtdDevice(IommuDevice dev) {
        if (!(dev instanceof VtdDevice v) || dev.driver() != this) {
            throw new IommufdException(Errno.EINVAL, dev + " is not behind " + unit.name());
        }
        return v;
    }

    // ---- attach ----

    /** attach_dev: the RID's translation (RID_PASID's entry); on refusal the old attachment stays. */
    @Override
    public synchronized void attachDev(IommuDomain domain, IommuDevice dev) {
        VtdDevice v = vtdDevice(dev);
        if (domain.type() == IommuDomain.Type.BLOCKED) {
            blockPasid(v, 0);
            return;
        }
        prepareAttach(domain, v);
        blockPasid(v, 0);
        setupEntry(domain, v, 0);
    }

    /**
     * set_dev_pasid, after the iommu core's checks (PASID 0, range, EBUSY): no PASID support
     * EOPNOTSUPP, a dirty-tracking domain EINVAL (6.12), then the domain's attach checks. A
     * replace tears the old entry down first. Nested domains on a PASID are newer than 6.12
     * (upstream's intel_nested_set_dev_pasid) and accepted.
     */
    @Override
    public synchronized void setDevPasid(IommuDomain domain, IommuDevice dev, int pasid, IommuDomain old) {
        VtdDevice v = vtdDevice(dev);
        if (!caps.pasid()) {
            throw new IommufdException(Errno.EOPNOTSUPP, unit.name() + " has no PASID support");
        }
        if (pasid <= 0 || (long) pasid >= (long) v.directoryEntries << PasidDirectoryEntry.PASID_SHIFT) {
            throw new IommufdException(Errno.EINVAL, "PASID " + pasid + " beyond the device's PASID table");
        }
        if (domain.hasDirtyOps()) {
            throw new IommufdException(Errno.EINVAL, "dirty-tracking domains cannot attach to a PASID");
        }
        prepareAttach(domain, v);
        if (v.attached.containsKey(pasid)) {
            blockPasid(v, pasid);
        }
        setupEntry(domain, v, pasid);
    }

    /** remove_dev_pasid: tears down the PASID's entry with the invalidations it needs. */
    @Override
    public synchronized void removeDevPasid(IommuDevice dev, int pasid, IommuDomain domain) {
        VtdDevice v = vtdDevice(dev);
        if (pasid > 0) {
            blockPasid(v, pasid);
        }
    }

    /**
     * The RID with every PASID owned by the guest (the guest's PASID table): VT-d has no guest
     * PASID table to nest (struct iommu_hwpt_vtd_s1 carries one first-stage table), so this intent
     * cannot be expressed, as allocating a HWPT of another data type cannot: EOPNOTSUPP.
     */
    @Override
    public void attachDevAllPasids(IommuDomain domain, IommuDevice dev) {
        vtdDevice(dev);
        throw new IommufdException(Errno.EOPNOTSUPP,
                "VT-d cannot give a guest all PASIDs: no guest PASID table (attach the RID and PASIDs one by one)");
    }

    /** prepare_domain_attach_device and the nested checks of intel_pasid_setup_nested: all EINVAL. */
    private void prepareAttach(IommuDomain domain, VtdDevice v) {
        if (domain.driver() != this) {
            throw new IommufdException(Errno.EINVAL, "domain of another IOMMU");
        }
        VtdPagingDomain s2 = domain instanceof VtdNestedDomain n ? n.parent : (VtdPagingDomain) domain;
        if (s2.hasDirtyOps() && !caps.secondStageAccessDirty()) {
            throw new IommufdException(Errno.EINVAL, "unit cannot track dirty pages");
        }
        int width = Math.min(VtdCapabilities.agawToWidth(agaw), caps.mgaw());
        if (Long.compareUnsigned(s2.maxAddr(), 1L << width) > 0) {
            throw new IommufdException(Errno.EINVAL, "domain maps beyond the unit's address width");
        }
        if (domain instanceof VtdNestedDomain n) {
            switch (n.addressWidth) {
                case 48 -> {
                }
                case 57 -> {
                    if (!caps.firstStage5Level()) {
                        throw new IommufdException(Errno.EINVAL, "5-level first stage not supported (CAP.FL5LP)");
                    }
                }
                default -> throw new IommufdException(Errno.EINVAL, "invalid stage-1 address width " + n.addressWidth);
            }
            if ((n.flags & VtdNestedDomain.IOMMU_VTD_S1_SRE) != 0 && !caps.supervisorRequests()) {
                throw new IommufdException(Errno.EINVAL, "no supervisor request support (ECAP.SRS)");
            }
            if ((n.flags & VtdNestedDomain.IOMMU_VTD_S1_EAFE) != 0 && !caps.extendedAccessFlag()) {
                throw new IommufdException(Errno.EINVAL, "no extended access flag support (ECAP.EAFS)");
            }
        }
    }

    /** domain_attach_iommu: the first user of a domain on this unit gets a DID. */
    private int domainAttach(IommuDomain domain) {
        if (domain instanceof VtdPagingDomain p) {
            if (p.didUsers++ == 0) {
                p.did = allocateDid();
            }
            return p.did;
        }
        VtdNestedDomain n = (VtdNestedDomain) domain;
        if (n.didUsers++ == 0) {
            n.did = allocateDid();
        }
        return n.did;
    }

    private void domainDetach(IommuDomain domain) {
        if (domain instanceof VtdPagingDomain p) {
            if (--p.didUsers == 0) {
                domainIds.clear(p.did);
                p.did = -1;
            }
        } else if (domain instanceof VtdNestedDomain n) {
            if (--n.didUsers == 0) {
                domainIds.clear(n.did);
                n.did = -1;
            }
        }
    }

    private int allocateDid() {
        int did = domainIds.nextClearBit(0);
        if (did >= 1 << caps.domainIdBits()) {
            throw new IommufdException(Errno.ENOSPC, "no free domain id on " + unit.name());
        }
        domainIds.set(did);
        return did;
    }

    /** Writes the PASID entry for a paging (second stage) or nested domain; the entry is not present before. */
    private void setupEntry(IommuDomain domain, VtdDevice v, int pasid) {
        int did = domainAttach(domain);
        long entry = pasidEntryAddress(v, pasid, true);
        long q0;
        long q1 = did | (caps.pageWalkCoherency() ? PasidEntry.PWSNP : 0);
        long q2 = 0;
        VtdPagingDomain s2;
        if (domain instanceof VtdNestedDomain n) {
            s2 = n.parent;
            q0 = (long) PasidEntry.PGTT_NESTED << PasidEntry.PGTT_SHIFT;
            q2 = n.firstStageTable & PasidEntry.POINTER_MASK;
            if (n.addressWidth == 57) {
                q2 |= 1L << PasidEntry.FSPM_SHIFT;
            }
            if ((n.flags & VtdNestedDomain.IOMMU_VTD_S1_SRE) != 0) {
                q2 |= PasidEntry.SRE;
                if ((n.flags & VtdNestedDomain.IOMMU_VTD_S1_WPE) != 0) {
                    q2 |= PasidEntry.WPE;
                }
            }
            if ((n.flags & VtdNestedDomain.IOMMU_VTD_S1_EAFE) != 0) {
                q2 |= PasidEntry.EAFE;
            }
            n.attachments.add(new Attachment(v, pasid));
        } else {
            s2 = (VtdPagingDomain) domain;
            q0 = (long) PasidEntry.PGTT_SECOND_STAGE << PasidEntry.PGTT_SHIFT;
            s2.attachments.add(new Attachment(v, pasid));
        }
        q0 |= (s2.root & PasidEntry.POINTER_MASK) | (long) s2.agaw << PasidEntry.AW_SHIFT;
        if (s2.dirtyTracking) {
            q0 |= PasidEntry.SSADE;
        }
        for (int q = 1; q < 8; q++) {
            memory.writeLong(entry + 8L * q, q == 1 ? q1 : q == 2 ? q2 : 0);
        }
        memory.writeLong(entry, q0 | PasidEntry.PRESENT);
        v.attached.put(pasid, domain);
        // Non-present to present: no PASID-cache or IOTLB invalidation with CAP.CM = 0.
    }

    /**
     * intel_pasid_tear_down_entry: clear P, PASID-cache invalidation (PASID-selective), IOTLB
     * (domain-selective for second-stage and nested entries, PASID-based for first-stage and
     * pass-through), device TLB, then clear the entry.
     */
    private void blockPasid(VtdDevice v, int pasid) {
        IommuDomain old = v.attached.remove(pasid);
        long entry = pasidEntryAddress(v, pasid, false);
        if (entry < 0) {
            return;
        }
        long q0 = memory.readLong(entry);
        if ((q0 & PasidEntry.PRESENT) != 0) {
            int did = PasidEntry.did(memory.readLong(entry + 8));
            int pgtt = PasidEntry.pgtt(q0);
            memory.writeLong(entry, q0 & ~PasidEntry.PRESENT);
            List<Long> d = new ArrayList<>();
            add(d, InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, did, pasid), 0);
            if (pgtt == PasidEntry.PGTT_PASS_THROUGH || pgtt == PasidEntry.PGTT_FIRST_STAGE) {
                add(d, InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.PIOTLB_PASID, did, pasid), 0);
            } else {
                add(d, InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did, true), 0);
            }
            if (v.atsSupported) {
                add(d, InvalidationDescriptor.deviceTlb(v.sid(), 0), 0);
            }
            submit(d);
        }
        for (int q = 0; q < 8; q++) {
            memory.writeLong(entry + 8L * q, 0);
        }
        if (old instanceof VtdPagingDomain p) {
            p.attachments.remove(new Attachment(v, pasid));
            domainDetach(p);
        } else if (old instanceof VtdNestedDomain n) {
            n.attachments.remove(new Attachment(v, pasid));
            domainDetach(n);
        }
    }

    private static void add(List<Long> d, long qw0, long qw1) {
        d.add(qw0);
        d.add(qw1);
    }

    private void submit(List<Long> d) {
        long[] pairs = new long[d.size()];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = d.get(i);
        }
        submit(pairs);
    }

    /**
     * intel_pasid_get_entry: the entry's address, allocating (and hooking into the directory) the
     * PASID table on first use when {@code allocate}; -1 when absent and not allocating.
     */
    private long pasidEntryAddress(VtdDevice v, int pasid, boolean allocate) {
        long dirAddr = PasidDirectoryEntry.address(v.pasidDirectory, pasid);
        long dir = memory.readLong(dirAddr);
        if ((dir & PasidDirectoryEntry.PRESENT) == 0) {
            if (!allocate) {
                return -1;
            }
            long table = allocator.allocate(PhysicalMemory.PAGE_SIZE);
            dir = (table & PasidDirectoryEntry.POINTER_MASK) | PasidDirectoryEntry.PRESENT;
            memory.writeLong(dirAddr, dir);
        }
        return PasidEntry.address(dir & PasidDirectoryEntry.POINTER_MASK, pasid);
    }

    // ---- cache maintenance for domains ----

    /**
     * cache_tag_flush_range: invalidates [start, end] for every (DID, PASID) the domain is used
     * under. Second-stage domains get IOTLB page-selective descriptors (domain-selective beyond
     * CAP.MAMV or without CAP.PSI), for their own DID and each nested child's; nested domains get
     * PASID-based IOTLB descriptors; ATS devices a device-TLB descriptor each.
     */
    synchronized void flushRange(IommuDomain domain, long start, long end, boolean leaf) {
        long[] psi = psiAligned(start, end);
        long addr = psi[0];
        int mask = (int) psi[1];
        List<Long> d = new ArrayList<>();
        if (domain instanceof VtdPagingDomain p) {
            if (p.didUsers > 0) {
                iotlbRange(d, p.did, addr, mask, leaf);
            }
            for (VtdNestedDomain child : p.children) {
                if (child.didUsers > 0) {
                    iotlbRange(d, child.did, addr, mask, leaf);
                }
            }
            devtlb(d, p.attachments);
            for (VtdNestedDomain child : p.children) {
                devtlb(d, child.attachments);
            }
        } else if (domain instanceof VtdNestedDomain n) {
            for (Attachment a : n.attachments) {
                add(d, InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.PIOTLB_PAGE, n.did, a.pasid()),
                        InvalidationDescriptor.pageRange(addr, mask, leaf));
            }
            devtlb(d, n.attachments);
        }
        if (!d.isEmpty()) {
            submit(d);
        }
    }

    private void iotlbRange(List<Long> d, int did, long addr, int mask, boolean leaf) {
        if (!caps.pageSelectiveInvalidation() || mask > caps.maxAddressMask()) {
            add(d, InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did, true), 0);
        } else {
            add(d, InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_PAGE, did, true),
                    InvalidationDescriptor.pageRange(addr, mask, leaf));
        }
    }

    private void devtlb(List<Long> d, List<Attachment> attachments) {
        for (Attachment a : attachments) {
            if (a.device().atsSupported) {
                add(d, InvalidationDescriptor.deviceTlb(a.device().sid(), 0), 0);
            }
        }
    }

    /**
     * calculate_psi_aligned_address: the smallest naturally aligned power-of-two page range
     * covering [start, end]; returns {address, mask (log2 pages, 52 for everything)}.
     */
    static long[] psiAligned(long start, long end) {
        long size = end - start + 1;
        long pages = ((start & 0xFFF) + size + 0xFFF) >>> 12;
        if (pages == 0) {
            pages = 1L << 52;
        }
        long aligned = Long.highestOneBit(pages) == pages ? pages : Long.highestOneBit(pages) << 1;
        int mask = Long.numberOfTrailingZeros(aligned);
        long bitmask = aligned - 1;
        long pfn = start >>> 12;
        if ((bitmask & pfn) != 0) {
            long endPfn = pfn + pages - 1;
            long shared = ~(pfn ^ endPfn) & ~bitmask;
            mask = shared != 0 ? Long.numberOfTrailingZeros(shared) : 52;
        }
        long addr = 12 + mask >= 64 ? 0 : start & -(1L << (12 + mask));
        return new long[] {addr, mask};
    }

    /**
     * intel_iommu_set_dirty_tracking: SSADE in every PASID entry using the domain (its own and,
     * as a nesting parent, its children's), each followed by a PASID-cache and a domain-selective
     * IOTLB invalidation (spec table "Guidance to Software for Invalidations").
     */
    synchronized void setDirtyTracking(VtdPagingDomain domain, boolean enable) {
        if (domain.dirtyTracking == enable) {
            return;
        }
        List<Attachment> all = new ArrayList<>(domain.attachments);
        for (VtdNestedDomain child : domain.children) {
            all.addAll(child.attachments);
        }
        for (Attachment a : all) {
            long entry = pasidEntryAddress(a.device(), a.pasid(), false);
            if (entry < 0) {
                continue;
            }
            long q0 = memory.readLong(entry);
            int pgtt = PasidEntry.pgtt(q0);
            if (pgtt != PasidEntry.PGTT_SECOND_STAGE && pgtt != PasidEntry.PGTT_NESTED) {
                throw new IommufdException(Errno.EOPNOTSUPP, "dirty tracking not supported on translation type "
                        + pgtt);
            }
            if (((q0 & PasidEntry.SSADE) != 0) == enable) {
                continue;
            }
            memory.writeLong(entry, enable ? q0 | PasidEntry.SSADE : q0 & ~PasidEntry.SSADE);
            int did = PasidEntry.did(memory.readLong(entry + 8));
            List<Long> d = new ArrayList<>();
            add(d, InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, did, a.pasid()), 0);
            add(d, InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did, true), 0);
            if (a.device().atsSupported) {
                add(d, InvalidationDescriptor.deviceTlb(a.device().sid(), 0), 0);
            }
            submit(d);
        }
        domain.dirtyTracking = enable;
    }

    // ---- DMA ----

    @Override
    public void translate(IommuDevice dev, int pasid, long iova, int access, Translation out) {
        VtdDevice v = (VtdDevice) dev;
        hw.translate(v.sid(), pasid, iova, access, out);
    }

    // ---- I/O page faults (prq.c) ----

    /**
     * intel_iommu_enable_iopf: the device needs ATS enabled and PRI supported (its PRI capability,
     * ECAP.PRS and ECAP.PDS), else ENODEV; then PRE in its context entry (context_flip_pri, with a
     * device-selective context-cache and a device-TLB invalidation) and PRI on the function.
     */
    @Override
    public synchronized void enableIopf(IommuDevice dev) {
        VtdDevice v = vtdDevice(dev);
        if (!v.atsSupported || !v.pci().pri() || caps.ecapField("PRS") == 0 || caps.ecapField("PDS") == 0) {
            throw new IommufdException(Errno.ENODEV, dev + " cannot use page requests (needs ATS, PRI, ECAP.PRS/PDS)");
        }
        flipPri(v, true);
        v.pri().setEnabled(true);
    }

    /** intel_iommu_disable_iopf: PRE cleared first (no new requests), then PRI off on the function. */
    @Override
    public synchronized void disableIopf(IommuDevice dev) {
        VtdDevice v = vtdDevice(dev);
        flipPri(v, false);
        v.pri().setEnabled(false);
    }

    private void flipPri(VtdDevice v, boolean enable) {
        long ctx = contextEntryAddress(v.bus(), v.devfn());
        long q0 = memory.readLong(ctx);
        memory.writeLong(ctx, enable ? q0 | ContextEntry.PRE : q0 & ~ContextEntry.PRE);
        List<Long> d = new ArrayList<>();
        add(d, InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, v.sid(), 0), 0);
        if (v.atsSupported) {
            add(d, InvalidationDescriptor.deviceTlb(v.sid(), 0), 0);
        }
        submit(d);
    }

    /**
     * intel_iommu_page_response: a page group response descriptor (RID, PASID if the request had
     * one, response code, PRG index, LPIG) through the invalidation queue; the unit sends the PRG
     * response to the function.
     */
    @Override
    public void pageResponse(IommuDevice dev, PageRequest last, int code) {
        VtdDevice v = vtdDevice(dev);
        submit(PageRequestDescriptor.response0(v.sid(), last.pasidValid(), last.pasid(), code),
                PageRequestDescriptor.response1(last.grpid(), last.lastPage()));
    }

    /**
     * The function's page request message reaches the unit; when the page request event fires,
     * the handler ({@link #handlePageRequests}) runs in this thread, as the threaded IRQ would.
     */
    @Override
    public void sendPageRequest(IommuDevice dev, PageRequest r) {
        VtdDevice v = vtdDevice(dev);
        int perm = r.perm();
        if (hw.pageRequest(v.sid(), r.pasidValid(), r.pasid(), (perm & PageRequest.PERM_READ) != 0,
                (perm & PageRequest.PERM_WRITE) != 0, (perm & PageRequest.PERM_EXEC) != 0,
                (perm & PageRequest.PERM_PRIV) != 0, r.lastPage(), r.grpid(), r.addr())) {
            handlePageRequests();
        }
    }

    @Override
    public boolean pageRequestable(Translation fault) {
        VtdFaultReason r = VtdFaultReason.of(fault.faultCode);
        return r != null && r.pageRequestable();
    }

    /**
     * prq_event_thread: clears PRS.PPR, reads PQH..PQT, decodes each descriptor and reports it to
     * the iommu core (bad ones — non-canonical address, privileged read/write, execute with read,
     * unknown requester — are answered Invalid if they end a group; stop markers are dropped),
     * moves PQH to the tail, and after an overflow with the queue empty drops partial groups and
     * clears PRO.
     */
    public void handlePageRequests() {
        if (prqBase < 0) {
            return;
        }
        synchronized (prqLock) {
            hw.write32(VtdHardware.PRS, VtdHardware.PRS_PPR);
            long bytes = (long) PhysicalMemory.PAGE_SIZE << PRQ_ORDER;
            long tail = hw.read64(VtdHardware.PQT) & (bytes - PageRequestDescriptor.SIZE);
            long head = hw.read64(VtdHardware.PQH) & (bytes - PageRequestDescriptor.SIZE);
            while (head != tail) {
                long at = prqBase + head;
                long qw0 = memory.readLong(at);
                long qw1 = memory.readLong(at + 8);
                head = (head + PageRequestDescriptor.SIZE) % bytes;
                long address = PageRequestDescriptor.address(qw1);
                boolean rd = PageRequestDescriptor.read(qw1);
                boolean wr = PageRequestDescriptor.write(qw1);
                VtdDevice dev = bySid.get(PageRequestDescriptor.rid(qw0));
                if (!canonical(address) || PageRequestDescriptor.privileged(qw0) && (rd || wr)
                        || PageRequestDescriptor.execute(qw0) && rd || dev == null) {
                    if (PageRequestDescriptor.lpig(qw1)) {
                        submit(PageRequestDescriptor.response0(PageRequestDescriptor.rid(qw0),
                                PageRequestDescriptor.pasidPresent(qw0), PageRequestDescriptor.pasid(qw0),
                                PageRequestDescriptor.RESPONSE_INVALID),
                                PageRequestDescriptor.response1(PageRequestDescriptor.prgIndex(qw1), true));
                    }
                    continue;
                }
                if (PageRequestDescriptor.lpig(qw1) && !rd && !wr) {
                    continue; // stop marker: no response expected
                }
                IoPageFault.reportDeviceFault(dev, decode(qw0, qw1));
            }
            hw.write64(VtdHardware.PQH, tail);
            if ((hw.read32(VtdHardware.PRS) & VtdHardware.PRS_PRO) != 0) {
                prqOverflows++;
                if ((hw.read64(VtdHardware.PQH) & (bytes - 1)) == (hw.read64(VtdHardware.PQT) & (bytes - 1))) {
                    for (VtdDevice d : bySid.values()) {
                        IoPageFault.discardPartial(d);
                    }
                    hw.write32(VtdHardware.PRS, VtdHardware.PRS_PRO);
                }
            }
        }
    }

    /** intel_prq_report: the kernel's view of a descriptor. */
    private static PageRequest decode(long qw0, long qw1) {
        int perm = (PageRequestDescriptor.read(qw1) ? PageRequest.PERM_READ : 0)
                | (PageRequestDescriptor.write(qw1) ? PageRequest.PERM_WRITE : 0)
                | (PageRequestDescriptor.execute(qw0) ? PageRequest.PERM_EXEC : 0)
                | (PageRequestDescriptor.privileged(qw0) ? PageRequest.PERM_PRIV : 0);
        int flags = PageRequestDescriptor.lpig(qw1) ? PageRequest.LAST_PAGE : 0;
        if (PageRequestDescriptor.pasidPresent(qw0)) {
            flags |= PageRequest.PASID_VALID | PageRequest.RESPONSE_NEEDS_PASID;
        }
        return new PageRequest(flags, PageRequestDescriptor.pasid(qw0), PageRequestDescriptor.prgIndex(qw1), perm,
                PageRequestDescriptor.address(qw1));
    }

    /** 48-bit virtual addresses (__VIRTUAL_MASK_SHIFT 47): bits 63..47 all equal. */
    private static boolean canonical(long address) {
        return address << 16 >> 16 == address;
    }

    /** The page request queue's address, or -1 without ECAP.PRS (tests). */
    public long pageRequestQueue() {
        return prqBase;
    }

    /** Times the handler found PRS.PRO set. */
    public long pageRequestOverflows() {
        synchronized (prqLock) {
            return prqOverflows;
        }
    }

    @Override
    public String toString() {
        return "VT-d unit " + unit.name();
    }
}
