package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.IommuHardware;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.iommu.UserData;
import io.uiommu.iommu.ViommuCore;
import io.uiommu.iommu.ViommuOps;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.pt.ArmLpaeTable;
import io.uiommu.pt.FrameTableAllocator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The SMMUv3 driver (Linux drivers/iommu/arm/arm-smmu-v3/) over one {@link Smmu} model: it probes
 * the ID registers, builds the stream table (2-level with SPLIT = 8 when the SMMU has it, else
 * linear), the command and event queues, and then drives the hardware only as Linux does — writing
 * STEs and CDs into memory and issuing CFGI/TLBI/CMD_SYNC through the command queue.
 *
 * <p>Domains: stage 1 by default (ASID-tagged, CD at SSID 0 of the device's CD table), stage 2 for
 * IOMMU_HWPT_ALLOC_NEST_PARENT (VMID-tagged), nested domains only through a vIOMMU
 * ({@link ArmVsmmu}). The three attach intentions: a RID (the STE), one PASID (a CD at that SSID),
 * and the RID with all PASIDs owned by the guest (a nested STE pointing at the guest's CD table).
 *
 * <p>Events: the driver enables the event-queue interrupt and takes it when a faulting transaction
 * returns (arm_smmu_evtq_thread): it consumes the queue, forwards the events upstream hands to a
 * guest — C_BAD_STE, F_STREAM_DISABLED, C_BAD_SUBSTREAMID, C_BAD_CD, F_TRANSLATION, F_ADDR_SIZE,
 * F_ACCESS and F_PERMISSION of a stage-1 walk, for a master attached to a nested domain with a
 * vDEVICE — to the vIOMMU's vEVENTQ with the vSID in place of the StreamID, and logs the rest
 * ({@link #takeLoggedEvents()}), as Linux prints them.
 *
 * <p>Locking: this object's monitor serializes table updates, command issue and event handling;
 * translation runs in the model without it.
 */
public final class ArmSmmuV3 implements IommuHardware {
    public static final int IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2;
    static final int IOMMU_HWPT_ALLOC_NEST_PARENT = 1;
    static final int IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
    static final int IOMMU_HWPT_ALLOC_PASID = 1 << 3;

    static final int STRTAB_SPLIT = 8;
    static final int CMDQ_LOG2 = 8;
    static final int EVTQ_LOG2 = 7;
    /** IRQ_CTRL enables (the PRI queue's is the IOPF side's business). */
    static final int IRQ_CTRL_GERROR_IRQEN = 1 << 0;
    static final int IRQ_CTRL_EVTQ_IRQEN = 1 << 2;
    /** Events the driver logged and nobody read yet; older ones are dropped past this many. */
    static final int LOGGED_EVENTS_MAX = 1024;
    /** Without RIL, ranges of more pages than this are invalidated by ASID / VMID (CMDQ_MAX_TLBI_OPS). */
    static final int MAX_TLBI_OPS = 512;
    /** Linux's S1 input size: min(VA_BITS = 48, 48 or 52 with VAX). */
    static final int S1_IAS = 48;

    private final IommuUnit unit;
    private final Smmu hw;
    /** Stream and CD tables, queues and page tables: frames, contiguous and aligned (dma_alloc_coherent). */
    private final FrameTableAllocator allocator;
    private final PhysicalMemory memory;
    private final Map<String, SmmuMaster> masters = new LinkedHashMap<>();
    private final Map<Integer, long[]> strtabL2 = new java.util.HashMap<>();
    private final BitSet asids = new BitSet();
    private final BitSet vmids = new BitSet();
    private final IommuDomain blocked = new IommuDomain(IommuDomain.Type.BLOCKED, this) {
    };

    // what probe found (arm_smmu_device_hw_probe)
    private final boolean featS1;
    private final boolean featS2;
    private final boolean featHd;
    private final boolean twoLevelStrtab;
    private final boolean cd2l;
    private final boolean ril;
    private final int asidBits;
    private final int vmidBits;
    private final int sidBits;
    private final int ssidBits;
    private final int oas;
    private final int granuleShift;

    private final long strtab;
    private final long cmdq;
    private final long evtq;
    /** The PRI queue's consumer, or null without IDR0.PRI. */
    private final PriQueueHandler pri;
    private final Map<Integer, SmmuMaster> bySid = new java.util.concurrent.ConcurrentHashMap<>();
    private final long syncWord;
    private int cmdqProd;
    private long cmdqErrors;
    private int syncSeq;
    private final ArrayDeque<long[]> loggedEvents = new ArrayDeque<>();
    private long eventsForwarded;

    public ArmSmmuV3(IommuUnit unit, PhysicalMemory memory, StaleTranslationAuditor auditor) {
        this.unit = unit;
        this.hw = new Smmu(unit, memory, auditor);
        this.memory = memory;
        this.allocator = new FrameTableAllocator(memory);
        int idr0 = (int) hw.readRegister(Smmu.IDR0);
        int idr1 = (int) hw.readRegister(Smmu.IDR1);
        int idr3 = (int) hw.readRegister(Smmu.IDR3);
        int idr5 = (int) hw.readRegister(Smmu.IDR5);
        featS1 = (idr0 & IdRegisters.IDR0_S1P) != 0;
        featS2 = (idr0 & IdRegisters.IDR0_S2P) != 0;
        featHd = ((idr0 >>> IdRegisters.IDR0_HTTU_SHIFT) & 3) == IdRegisters.IDR0_HTTU_ACCESS_DIRTY;
        twoLevelStrtab = ((idr0 >>> 27) & 3) == 1;
        cd2l = (idr0 & IdRegisters.IDR0_CD2L) != 0;
        asidBits = (idr0 & IdRegisters.IDR0_ASID16) != 0 ? 16 : 8;
        vmidBits = (idr0 & IdRegisters.IDR0_VMID16) != 0 ? 16 : 8;
        sidBits = idr1 & 0x3f;
        ssidBits = (idr1 >>> IdRegisters.IDR1_SSIDSIZE_SHIFT) & 0x1f;
        ril = (idr3 & IdRegisters.IDR3_RIL) != 0;
        oas = Ste.sizeBits(idr5 & 7);
        granuleShift = (idr5 & IdRegisters.IDR5_GRAN4K) != 0 ? 12 : (idr5 & IdRegisters.IDR5_GRAN16K) != 0 ? 14 : 16;
        if (!featS1 && !featS2) {
            throw new IllegalArgumentException("SMMUv3 " + unit.name() + ": IDR0 has neither S1P nor S2P");
        }

        cmdq = allocator.allocate((long) Command.BYTES << CMDQ_LOG2);
        evtq = allocator.allocate((long) Event.BYTES << EVTQ_LOG2);
        syncWord = allocator.allocate(64);
        if (twoLevelStrtab) {
            int l1Entries = 1 << Math.max(sidBits - STRTAB_SPLIT, 0);
            strtab = allocator.allocate(Math.max(8L * l1Entries, 64));
            hw.writeRegister(Smmu.STRTAB_BASE_CFG, (long) Smmu.STRTAB_FMT_2LVL << 16 | STRTAB_SPLIT << 6 | sidBits);
        } else {
            strtab = allocator.allocate((long) Ste.BYTES << sidBits);
            for (long sid = 0; sid < 1L << sidBits; sid++) {
                memory.writeLong(strtab + sid * Ste.BYTES, Ste.V); // abort until a device says otherwise
            }
            hw.writeRegister(Smmu.STRTAB_BASE_CFG, (long) Smmu.STRTAB_FMT_LINEAR << 16 | sidBits);
        }
        hw.writeRegister(Smmu.STRTAB_BASE, strtab);
        hw.writeRegister(Smmu.CMDQ_BASE, cmdq | CMDQ_LOG2);
        hw.writeRegister(Smmu.EVTQ_BASE, evtq | EVTQ_LOG2);
        hw.writeRegister(Smmu.GBPA, Smmu.GBPA_ABORT);
        hw.writeRegister(Smmu.IRQ_CTRL, IRQ_CTRL_GERROR_IRQEN | IRQ_CTRL_EVTQ_IRQEN);
        hw.writeRegister(Smmu.CR0, Smmu.CR0_CMDQEN);
        issue(Command.cfgiSteRange(0, 31), Command.tlbiNsnhAll());
        int priqen = 0;
        if (hw.id.pri()) {
            int log2 = Math.min(PriQueueHandler.PRIQ_LOG2, (idr1 >>> IdRegisters.IDR1_PRIQS_SHIFT) & 0x1f);
            pri = new PriQueueHandler(this, hw, memory, bySid, allocator.allocate((long) PriEntry.BYTES << log2), log2);
            // arm_smmu_setup_irqs: with PRI the PRI queue interrupt is on too.
            hw.writeRegister(Smmu.IRQ_CTRL, hw.readRegister(Smmu.IRQ_CTRL) | Smmu.IRQ_CTRL_PRIQ_IRQEN);
            priqen = Smmu.CR0_PRIQEN;
        } else {
            pri = null;
        }
        hw.setPrgResponseSink((sid, pasid, prgIndex, code) -> {
            SmmuMaster m = bySid.get(sid);
            if (m != null) {
                m.pri().prgResponse(prgIndex, pasid, code);
            }
        });
        hw.writeRegister(Smmu.CR0, Smmu.CR0_CMDQEN | Smmu.CR0_EVTQEN | priqen | Smmu.CR0_SMMUEN);
    }

    @Override
    public IommuUnit unit() {
        return unit;
    }

    /** The hardware model (registers, queues, caches). */
    public Smmu hardware() {
        return hw;
    }

    FrameTableAllocator allocator() {
        return allocator;
    }

    PhysicalMemory memory() {
        return memory;
    }

    @Override
    public String name() {
        return "smmuv3";
    }

    public SmmuMaster master(String deviceName) {
        synchronized (this) {
            return masters.get(deviceName);
        }
    }

    /** Physical address of the STE of a StreamID (for tests and reports). */
    public synchronized long steAddress(int sid) {
        if (!twoLevelStrtab) {
            return strtab + (long) sid * Ste.BYTES;
        }
        long[] l2 = strtabL2.get(sid >>> STRTAB_SPLIT);
        return l2 == null ? -1 : l2[0] + (long) (sid & ((1 << STRTAB_SPLIT) - 1)) * Ste.BYTES;
    }

    /** Physical address of the CD of an SSID in a master's CD table, or -1 when none is allocated. */
    public synchronized long cdAddress(SmmuMaster master, int ssid) {
        if (master.cdTable == 0) {
            return -1;
        }
        if (master.s1fmt == Ste.S1FMT_LINEAR) {
            return master.cdTable + (long) ssid * Cd.BYTES;
        }
        long leaf = master.cdLeaves[ssid / 1024];
        return leaf == 0 ? -1 : leaf + (long) (ssid % 1024) * Cd.BYTES;
    }

    /** Bytes of frames the driver holds for tables and queues. */
    public long tableBytes() {
        return allocator.bytesInUse();
    }

    /** Illegal commands the hardware refused (CERROR_ILL) and the driver skipped, as Linux logs them. */
    public synchronized long commandErrors() {
        return cmdqErrors;
    }

    // ---------------------------------------------------------------------------------------------
    // Devices

    @Override
    public synchronized IommuDevice addDevice(PciDevice device) {
        int sid = device.streamId();
        if (sid < 0 || (long) sid >>> sidBits != 0) {
            throw new IllegalArgumentException(device.name() + ": StreamID " + sid + " beyond SIDSIZE " + sidBits);
        }
        if (masters.containsKey(device.name())) {
            throw new IllegalArgumentException("device " + device.name() + " added twice");
        }
        for (SmmuMaster m : masters.values()) {
            if (m.streamId() == sid) {
                throw new IllegalArgumentException(device.name() + ": StreamID " + sid + " used by " + m.name());
            }
        }
        if (twoLevelStrtab) {
            strtabL2.computeIfAbsent(sid >>> STRTAB_SPLIT, l1 -> {
                long l2 = allocator.allocate((long) Ste.BYTES << STRTAB_SPLIT);
                for (int i = 0; i < 1 << STRTAB_SPLIT; i++) {
                    memory.writeLong(l2 + (long) i * Ste.BYTES, Ste.V);
                }
                memory.writeLong(strtab + 8L * l1, l2 | (STRTAB_SPLIT + 1));
                return new long[] {l2};
            });
        }
        int bits = Math.min(ssidBits, device.pasidBits());
        SmmuMaster m = new SmmuMaster(device, this, bits);
        masters.put(device.name(), m);
        bySid.put(sid, m);
        writeSte(m, Ste.abort());
        return m;
    }

    @Override
    public boolean capable(IommuDevice dev, Cap cap) {
        return switch (cap) {
            case CACHE_COHERENCY -> hw.id.coherent();
            case DIRTY_TRACKING -> featHd;
        };
    }

    @Override
    public HwInfo hwInfo(IommuDevice dev) {
        byte[] info = new byte[40];
        for (int i = 0; i < 6; i++) {
            putLe32(info, 8 + 4 * i, (int) hw.readRegister(Smmu.IDR0 + 4 * i));
        }
        putLe32(info, 32, (int) hw.readRegister(Smmu.IIDR));
        putLe32(info, 36, (int) hw.readRegister(Smmu.AIDR));
        return new HwInfo(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, info);
    }

    private static void putLe32(byte[] b, int off, int v) {
        for (int i = 0; i < 4; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    /**
     * Device DMA enters here: the model translates the StreamID's transaction. A fault may have
     * written an event; its interrupt is taken as the transaction returns.
     */
    @Override
    public void translate(IommuDevice dev, int pasid, long iova, int access, Translation out) {
        hw.translate(((SmmuMaster) dev).streamId(), pasid, iova, access, out);
        if (out.faulted && (hw.readRegister(Smmu.IRQ_CTRL) & IRQ_CTRL_EVTQ_IRQEN) != 0) {
            serviceEventQueue();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Events

    /** arm_smmu_evtq_thread: consumes every record between CONS and PROD, then acknowledges an overflow. */
    synchronized void serviceEventQueue() {
        int log2 = Math.min(EVTQ_LOG2, hw.id.evtqLog2Max());
        int idxMask = (1 << log2) - 1;
        int wrapMask = (1 << (log2 + 1)) - 1;
        int prod = (int) hw.readRegister(Smmu.EVTQ_PROD);
        int cons = (int) hw.readRegister(Smmu.EVTQ_CONS) & wrapMask;
        while (cons != (prod & wrapMask)) {
            long at = evtq + (long) (cons & idxMask) * Event.BYTES;
            handleEvent(new long[] {memory.readLong(at), memory.readLong(at + 8), memory.readLong(at + 16),
                    memory.readLong(at + 24)});
            cons = (cons + 1) & wrapMask;
        }
        hw.writeRegister(Smmu.EVTQ_CONS, cons | (prod & Smmu.EVTQ_PROD_OVFLG));
    }

    /** arm_smmu_handle_event: a guest's event goes to its vEVENTQ; anything not taken is logged. */
    private void handleEvent(long[] evt) {
        if (forwardable(Event.id(evt[0])) && (evt[1] & Event.S2) == 0) {
            SmmuMaster m = masterBySid(Event.sid(evt[0]));
            if (m != null && m.vmaster != null && m.vmaster.report(evt) == 0) {
                eventsForwarded++;
                return;
            }
        }
        if (loggedEvents.size() == LOGGED_EVENTS_MAX) {
            loggedEvents.removeFirst();
        }
        loggedEvents.add(evt);
    }

    /** The event ids arm_smmu_handle_event passes on (the ones include/uapi/linux/iommufd.h lists). */
    static boolean forwardable(int eventId) {
        return switch (eventId) {
            case Event.C_BAD_STE, Event.F_STREAM_DISABLED, Event.C_BAD_SUBSTREAMID, Event.C_BAD_CD,
                    Event.F_TRANSLATION, Event.F_ADDR_SIZE, Event.F_ACCESS, Event.F_PERMISSION -> true;
            default -> false;
        };
    }

    private SmmuMaster masterBySid(int sid) {
        for (SmmuMaster m : masters.values()) {
            if (m.streamId() == sid) {
                return m;
            }
        }
        return null;
    }

    /** Event records the driver consumed and logged instead of forwarding (oldest first), and forgets them. */
    public synchronized List<long[]> takeLoggedEvents() {
        List<long[]> out = new ArrayList<>(loggedEvents);
        loggedEvents.clear();
        return out;
    }

    /** Events handed to a vIOMMU's vEVENTQ. */
    public synchronized long eventsForwarded() {
        return eventsForwarded;
    }

    // ---------------------------------------------------------------------------------------------
    // I/O page faults (PRI)

    /**
     * dev_enable_feat(IOPF): the master needs PRI (its capability with ATS, and IDR0.PRI), else
     * EINVAL as arm_smmu_master_iopf_supported refuses. Linux 6.12 accepts only stall-capable
     * masters; uiommu models PRI instead of stall, so a PRI master is what qualifies.
     */
    @Override
    public void enableIopf(IommuDevice dev) {
        SmmuMaster m = (SmmuMaster) dev;
        if (pri == null || !m.pci().pri() || !m.pci().ats()) {
            throw new IommufdException(Errno.EINVAL, dev + " cannot send page requests (needs ATS, PRI, IDR0.PRI)");
        }
        m.pri().setEnabled(true);
    }

    @Override
    public void disableIopf(IommuDevice dev) {
        dev.pri().setEnabled(false);
    }

    @Override
    public void pageResponse(IommuDevice dev, io.uiommu.iommu.PageRequest last, int code) {
        if (pri != null) {
            pri.respond((SmmuMaster) dev, last, code);
        }
    }

    /** The master's PRI message reaches the SMMU; the PRI queue interrupt runs the handler in this thread. */
    @Override
    public void sendPageRequest(IommuDevice dev, io.uiommu.iommu.PageRequest r) {
        SmmuMaster m = (SmmuMaster) dev;
        int perm = r.perm();
        if (hw.priRequest(m.streamId(), r.pasidValid(), r.pasid(), (perm & 1) != 0, (perm & 2) != 0, (perm & 4) != 0,
                (perm & 8) != 0, r.lastPage(), r.grpid(), r.addr())) {
            handlePriQueue();
        }
    }

    @Override
    public boolean pageRequestable(Translation fault) {
        return Smmu.pageRequestable(fault.faultCode);
    }

    /** The PRI queue interrupt handler (arm_smmu_priq_thread). */
    public void handlePriQueue() {
        if (pri != null) {
            pri.handle();
        }
    }

    /** The PRI queue's address, or -1 without PRI (tests). */
    public long priQueue() {
        return pri == null ? -1 : pri.base();
    }

    /** Times the handler found requests lost to a full PRI queue. */
    public long priQueueOverflows() {
        return pri == null ? 0 : pri.overflows();
    }

    // ---------------------------------------------------------------------------------------------
    // Domains

    @Override
    public IommuDomain blockedDomain() {
        return blocked;
    }

    /** arm_smmu_domain_alloc_paging_flags (upstream; 6.12's domain_alloc_user had no NEST_PARENT). */
    @Override
    public synchronized IommuDomain domainAllocUser(IommuDevice dev, int flags, IommuDomain parent, UserData data) {
        if (parent != null) {
            throw new IommufdException(Errno.EOPNOTSUPP, "SMMUv3 nests only through a vIOMMU");
        }
        if ((flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID)) != 0
                || data != null) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unsupported flags or data");
        }
        boolean s2;
        switch (flags) {
            case 0 -> s2 = !featS1;
            case IOMMU_HWPT_ALLOC_NEST_PARENT -> {
                if (!(featS1 && featS2)) {
                    throw new IommufdException(Errno.EOPNOTSUPP, "SMMU cannot nest");
                }
                s2 = true;
            }
            case IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID,
                    IOMMU_HWPT_ALLOC_PASID -> {
                if (!featS1) {
                    throw new IommufdException(Errno.EOPNOTSUPP, "no stage 1");
                }
                s2 = false;
            }
            default -> throw new IommufdException(Errno.EOPNOTSUPP, "unsupported flag combination");
        }
        boolean dirty = (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) != 0;
        if (dirty && (s2 || !featHd)) {
            throw new IommufdException(Errno.EOPNOTSUPP, "no dirty tracking for this stage");
        }
        if (s2) {
            int vmid = allocate(vmids, vmidBits);
            int ias = oas;
            ArmLpaeTable f = ArmLpaeTable.stage2(1 << granuleShift, ias, stage2StartLevel(granuleShift, ias), oas,
                    false);
            return new SmmuPagingDomain(this, f, (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) != 0, false, 0, vmid);
        }
        int asid = allocate(asids, asidBits);
        ArmLpaeTable f = ArmLpaeTable.stage1(1 << granuleShift, S1_IAS, oas, dirty);
        return new SmmuPagingDomain(this, f, false, dirty, asid, 0);
    }

    /**
     * The start level of a stage-2 table of {@code ias} input bits, as io-pgtable-arm picks it: the
     * level the input size needs, except that a level-0 table of at most 16 entries becomes up to 16
     * concatenated level-1 tables.
     */
    private static int stage2StartLevel(int g, int ias) {
        int b = g - 3;
        int start = 4 - (ias - g + b - 1) / b;
        if (start == 0 && ias - (g + 3 * b) <= 4) {
            start = 1;
        }
        return start;
    }

    private static int allocate(BitSet used, int bits) {
        int id = used.nextClearBit(1); // 0 is reserved (bypass STEs, unused ASID)
        if (id >>> bits != 0) {
            throw new IommufdException(Errno.ENOSPC, "out of ASIDs / VMIDs");
        }
        used.set(id);
        return id;
    }

    synchronized void freeDomain(SmmuPagingDomain d) {
        if (d.stage2()) {
            issue(Command.tlbiS12Vmall(d.vmid()));
            vmids.clear(d.vmid());
        } else {
            issue(Command.tlbiNhAsid(0, d.asid()));
            asids.clear(d.asid());
        }
    }

    /** arm_smmu_get_viommu_size != 0: nesting, and a coherent SMMU (canwbs). */
    @Override
    public boolean viommuSupported(IommuDevice dev, int type) {
        return type == ArmVsmmu.IOMMU_VIOMMU_TYPE_ARM_SMMUV3 && featS1 && featS2 && hw.id.coherent();
    }

    /** arm_vsmmu_init: the parent must be a stage-2 domain of this SMMU. */
    @Override
    public ViommuOps viommuInit(IommuDevice dev, int type, IommuDomain parent, UserData data, ViommuCore vdevs) {
        if (!(parent instanceof SmmuPagingDomain s2) || s2.driver() != this || !s2.stage2()) {
            throw new IommufdException(Errno.EINVAL, "parent is not a stage-2 domain of this SMMU");
        }
        // IOMMU_VIOMMU_TYPE_ARM_SMMUV3 has no driver data: arm_vsmmu_init does not look at it
        return new ArmVsmmu(this, s2, vdevs);
    }

    // ---------------------------------------------------------------------------------------------
    // Attach

    @Override
    public synchronized void attachDev(IommuDomain domain, IommuDevice dev) {
        SmmuMaster m = (SmmuMaster) dev;
        if (!(domain instanceof SmmuNestedDomain)) {
            attachPlain(domain, m);
            m.vmaster = null; // arm_smmu_attach_commit_vmaster: no vIOMMU behind this attach
            return;
        }
        attachNested((SmmuNestedDomain) domain, m);
    }

    private void attachPlain(IommuDomain domain, SmmuMaster m) {
        switch (domain) {
            case SmmuPagingDomain d when d.driver() != this -> throw new IommufdException(Errno.EINVAL, "other SMMU");
            case SmmuPagingDomain d when !d.stage2() -> {
                ensureCdTable(m);
                writeCd(m, 0, cdFor(d));
                installCdTableSte(m, Ste.S1DSS_SSID0);
            }
            case SmmuPagingDomain d -> {
                if (m.ssidsInUse()) {
                    throw new IommufdException(Errno.EBUSY, "PASIDs are attached");
                }
                writeSte(m, s2Ste(d, m));
                m.cdTableInSte = false;
                clearCd(m, 0);
            }
            default -> {
                if (domain != blocked) {
                    throw new IommufdException(Errno.EINVAL, "not an SMMUv3 domain");
                }
                if (m.ssidsInUse()) {
                    installCdTableSte(m, Ste.S1DSS_TERMINATE);
                } else {
                    writeSte(m, Ste.abort());
                    m.cdTableInSte = false;
                }
                clearCd(m, 0);
            }
        }
    }

    /** arm_smmu_attach_dev_nested + arm_smmu_make_nested_domain_ste. */
    private void attachNested(SmmuNestedDomain n, SmmuMaster m) {
        ArmVsmmu vsmmu = n.vsmmu();
        if (vsmmu.smmu() != this) {
            throw new IommufdException(Errno.EINVAL, "vIOMMU of another SMMU");
        }
        if (m.ssidsInUse()) {
            throw new IommufdException(Errno.EBUSY, "PASIDs are attached");
        }
        int cfg = n.config();
        long vsid = vsmmu.vdevs().virtIdOf(m);
        if (vsid < 0 && cfg != Ste.CONFIG_ABORT && cfg != Ste.CONFIG_BYPASS) {
            throw new IommufdException(Errno.ENOENT, "no vDEVICE for " + m.name() + " in the vIOMMU");
        }
        long[] ste;
        switch (cfg) {
            case Ste.CONFIG_S1_TRANS -> {
                ste = s2Ste(vsmmu.parent(), m);
                ste[0] = Ste.V | (long) Ste.CONFIG_NESTED << Ste.CONFIG_SHIFT | (n.ste0 & ~Ste.CONFIG_MASK);
                ste[1] |= n.ste1 | Ste.MEV | (n.enableAts && m.pci().ats() ? (long) Ste.EATS_TRANS << Ste.EATS_SHIFT : 0);
            }
            case Ste.CONFIG_BYPASS -> ste = s2Ste(vsmmu.parent(), m);
            default -> ste = Ste.abort();
        }
        writeSte(m, ste);
        m.cdTableInSte = false;
        // events of this master now go to the vIOMMU, under the vSID the attach saw
        m.vmaster = vsid < 0 ? null : new SmmuMaster.Vmaster(vsmmu, vsid);
    }

    private long[] s2Ste(SmmuPagingDomain d, SmmuMaster m) {
        ArmLpaeTable f = d.format();
        int t0sz = 64 - f.inputAddressBits();
        int g = Integer.numberOfTrailingZeros(f.granuleBytes());
        int sl0 = g == 12 ? 2 - f.startLevel() : 3 - f.startLevel();
        return Ste.stage2(d.vmid(), t0sz, sl0, g, Ste.sizeEncoding(oas), d.root(), false,
                m.pci().ats());
    }

    private long[] cdFor(SmmuPagingDomain d) {
        return Cd.stage1(d.asid(), 64 - d.inputBits(), Integer.numberOfTrailingZeros(d.format().granuleBytes()), Ste.sizeEncoding(oas), d.root(),
                d.hasDirtyOps());
    }

    /** arm_smmu_s1_set_dev_pasid + arm_smmu_set_pasid, with the iommu core's checks before them. */
    @Override
    public synchronized void setDevPasid(IommuDomain domain, IommuDevice dev, int pasid, IommuDomain old) {
        SmmuMaster m = (SmmuMaster) dev;
        if (!(domain instanceof SmmuPagingDomain d)) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain cannot be attached to a PASID");
        }
        if (pasid <= 0 || pasid >>> m.ssidBits != 0) {
            throw new IommufdException(Errno.EINVAL, "PASID " + pasid + " outside the device's " + m.ssidBits + " bits");
        }
        if (m.pasids.containsKey(pasid) && old == null) {
            throw new IommufdException(Errno.EBUSY, "PASID " + pasid + " is attached");
        }
        if (d.driver() != this || d.stage2()) {
            throw new IommufdException(Errno.EINVAL, "PASIDs take stage-1 domains of this SMMU");
        }
        IommuDomain rid = m.domain();
        if (!m.cdTableInSte && rid != blocked) {
            throw new IommufdException(Errno.EINVAL, "the RID's domain does not use the CD table");
        }
        ensureCdTable(m);
        writeCd(m, pasid, cdFor(d)); // a replace rewrites the CD in place (CFGI_CD), hitless
        m.pasids.put(pasid, d);
        if (!m.cdTableInSte) {
            installCdTableSte(m, Ste.S1DSS_TERMINATE);
        }
    }

    /** arm_smmu_remove_dev_pasid: the CD goes, and with the last PASID the STE returns to abort. */
    @Override
    public synchronized void removeDevPasid(IommuDevice dev, int pasid, IommuDomain domain) {
        SmmuMaster m = (SmmuMaster) dev;
        if (m.pasids.remove(pasid) == null) {
            return;
        }
        clearCd(m, pasid);
        if (!m.ssidsInUse() && m.domain() == blocked) {
            writeSte(m, Ste.abort());
            m.cdTableInSte = false;
        }
    }

    /** The paging domain attached to a PASID, or null. */
    public synchronized SmmuPagingDomain pasidDomain(SmmuMaster m, int pasid) {
        return m.pasids.get(pasid);
    }

    private void ensureCdTable(SmmuMaster m) {
        if (m.cdTable != 0) {
            return;
        }
        int entries = 1 << m.ssidBits;
        if (!cd2l || entries <= 1024) {
            m.s1fmt = Ste.S1FMT_LINEAR;
            m.cdTable = allocator.allocate((long) Cd.BYTES * entries);
        } else {
            m.s1fmt = Ste.S1FMT_64K_L2;
            int l1 = (entries + 1023) / 1024;
            m.cdLeaves = new long[l1];
            m.cdTable = allocator.allocate(Math.max(8L * l1, 64));
        }
    }

    private void installCdTableSte(SmmuMaster m, int s1dss) {
        writeSte(m, Ste.cdTable(m.cdTable, m.s1fmt, m.ssidBits, s1dss, m.pci().ats()));
        m.cdTableInSte = true;
    }

    /** arm_smmu_write_cd_entry: dwords 1..7 first, dword 0 (with V) last, then CFGI_CD. */
    private void writeCd(SmmuMaster m, int ssid, long[] cd) {
        PhysicalMemory mem = memory;
        if (m.s1fmt == Ste.S1FMT_64K_L2 && m.cdLeaves[ssid / 1024] == 0) {
            long leaf = allocator.allocate((long) Cd.BYTES * 1024);
            m.cdLeaves[ssid / 1024] = leaf;
            mem.writeLong(m.cdTable + 8L * (ssid / 1024), leaf | Cd.L1_V);
        }
        long at = cdAddress(m, ssid);
        for (int i = 1; i < 8; i++) {
            mem.writeLong(at + 8L * i, cd[i]);
        }
        mem.writeLong(at, cd[0]);
        issue(Command.cfgiCd(m.streamId(), ssid));
    }

    private void clearCd(SmmuMaster m, int ssid) {
        long at = cdAddress(m, ssid);
        if (at < 0 || memory.readLong(at) == 0) {
            return;
        }
        memory.writeLong(at, 0);
        issue(Command.cfgiCd(m.streamId(), ssid));
    }

    /** arm_smmu_write_ste: the other dwords first, dword 0 last, then CFGI_STE and CMD_SYNC. */
    private void writeSte(SmmuMaster m, long[] ste) {
        PhysicalMemory mem = memory;
        long at = steAddress(m.streamId());
        for (int i = 1; i < Ste.DWORDS; i++) {
            mem.writeLong(at + 8L * i, ste[i]);
        }
        mem.writeLong(at, ste[0]);
        issue(Command.cfgiSte(m.streamId()));
    }

    // ---------------------------------------------------------------------------------------------
    // TLB invalidation and the command queue

    /** arm_smmu_tlb_inv_range_domain for [iova, iova + size) mapped with {@code granule} leaves. */
    synchronized void invalidateRange(SmmuPagingDomain d, long iova, long size, long granule) {
        boolean s2 = d.stage2();
        int vmid = s2 ? d.vmid() : 0;
        long tgSize = Long.lowestOneBit(d.pgsizeBitmap());
        if (!ril && size > (long) MAX_TLBI_OPS * granule) {
            issue(s2 ? Command.tlbiS12Vmall(vmid) : Command.tlbiNhAsid(0, d.asid()));
        } else if (ril) {
            int tgShift = Long.numberOfTrailingZeros(tgSize);
            int tg = (tgShift - 10) / 2;
            long pages = size >>> tgShift;
            java.util.List<long[]> cmds = new java.util.ArrayList<>();
            long va = iova;
            while (pages > 0) {
                int scale = Long.numberOfTrailingZeros(pages);
                long num = (pages >>> scale) & 31; // odd, so never 0
                cmds.add(s2 ? Command.tlbiS2Ipa(vmid, va, true, tg, (int) num - 1, scale)
                        : Command.tlbiNhVa(0, d.asid(), va, true, tg, (int) num - 1, scale));
                va += num << (scale + tgShift);
                pages -= num << scale;
            }
            issue(cmds.toArray(long[][]::new));
        } else {
            long[][] cmds = new long[(int) (size / granule)][];
            for (int i = 0; i < cmds.length; i++) {
                long va = iova + i * granule;
                cmds[i] = s2 ? Command.tlbiS2Ipa(vmid, va, true, 0, 0, 0) : Command.tlbiNhVa(0, d.asid(), va, true, 0, 0, 0);
            }
            issue(cmds);
        }
        if (s2 && d.nestParent()) {
            // the VM's stage-1 entries combine this stage 2: they all go (Linux does the same)
            issue(Command.tlbiNhAll(vmid));
        }
    }

    /** Issues a vIOMMU batch cmds[from, to) followed by CMD_SYNC. */
    synchronized void issueBatch(long[][] cmds, int from, int to) {
        long[][] batch = new long[to - from][];
        System.arraycopy(cmds, from, batch, 0, batch.length);
        issue(batch);
    }

    /**
     * Writes commands into the queue, ends them with CMD_SYNC (MSI-polled, as Linux with
     * ARM_SMMU_OPT_MSIPOLL), moves PROD and waits for CONS. An illegal command stops the queue with
     * CMDQ_CONS.ERR = CERROR_ILL; like arm_smmu_cmdq_skip_err the driver overwrites it with a
     * CMD_SYNC, acknowledges GERROR and lets the queue go on.
     */
    synchronized void issue(long[]... cmds) {
        int size = 1 << CMDQ_LOG2;
        int mask = (size << 1) - 1;
        PhysicalMemory mem = memory;
        int at = 0;
        while (at <= cmds.length) {
            int cons = (int) hw.readRegister(Smmu.CMDQ_CONS) & mask;
            int used = (cmdqProd - cons) & mask;
            int room = size - used - 1;
            int n = Math.min(room, cmds.length - at);
            for (int i = 0; i < n; i++) {
                writeCommand(mem, cmds[at + i]);
            }
            at += n;
            if (at == cmds.length && room > n) {
                syncSeq++;
                writeCommand(mem, Command.sync(syncWord, syncSeq));
                at++;
            }
            hw.writeRegister(Smmu.CMDQ_PROD, cmdqProd);
            waitForConsumption(mem, mask);
        }
    }

    private void writeCommand(PhysicalMemory mem, long[] cmd) {
        int size = 1 << CMDQ_LOG2;
        long slot = cmdq + (long) (cmdqProd & (size - 1)) * Command.BYTES;
        mem.writeLong(slot, cmd[0]);
        mem.writeLong(slot + 8, cmd[1]);
        cmdqProd = (cmdqProd + 1) & ((size << 1) - 1);
    }

    private void waitForConsumption(PhysicalMemory mem, int mask) {
        for (;;) {
            int cons = (int) hw.readRegister(Smmu.CMDQ_CONS);
            int err = (cons & Smmu.CMDQ_CONS_ERR_MASK) >>> Smmu.CMDQ_CONS_ERR_SHIFT;
            if (err == Smmu.CERROR_NONE) {
                if ((cons & mask) != cmdqProd) {
                    throw new IllegalStateException("SMMU command queue stalled at CONS 0x" + Integer.toHexString(cons));
                }
                return;
            }
            cmdqErrors++;
            long slot = cmdq + (long) (cons & ((1 << CMDQ_LOG2) - 1)) * Command.BYTES;
            long[] sync = Command.sync(0, 0);
            mem.writeLong(slot, sync[0]);
            mem.writeLong(slot + 8, sync[1]);
            hw.writeRegister(Smmu.GERRORN, hw.readRegister(Smmu.GERROR));
        }
    }
}
