package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.PageResponse;
import io.uiommu.iommu.PrgResponseSink;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.PhysicalTables;
import io.uiommu.pt.Walk;

/**
 * One VT-d DMA-remapping unit in scalable mode, as hardware: its registers, the root, context and
 * PASID tables it reads from physical memory, its caches (context cache, PASID cache, IOTLB), the
 * invalidation queue it fetches descriptors from, and the fault recording registers. Software
 * (the driver, or a test) programs it only through {@link #write32}/{@link #write64} and memory.
 *
 * <p>Registers (byte offsets): VER 0x00, CAP 0x08, ECAP 0x10, GCMD 0x18, GSTS 0x1C, RTADDR 0x20,
 * CCMD 0x28 (register-based invalidation: not modelled, reads 0), FSTS 0x34, FECTL 0x38, IQH 0x80,
 * IQT 0x88, IQA 0x90, ICS 0x9C, IQERCD 0xB0, page request queue PQH 0xC0, PQT 0xC8, PQA 0xD0,
 * PRS 0xDC, PECTL/PEDATA/PEADDR/PEUADDR 0xE0-0xEC (with ECAP.PRS), IVA/IOTLB at ECAP.IRO (not
 * modelled), fault records at CAP.FRO. Page requests from devices go to {@link #pageRequest}; page
 * group response descriptors become PRG responses to the device through the {@link PrgResponseSink}.
 *
 * <p>Locking: register writes and queue processing under this object's monitor; translation takes
 * no lock (caches are lock-free for readers, registers it reads are volatile).
 */
public final class VtdHardware {
    public static final int VER = 0x00;
    public static final int CAP = 0x08;
    public static final int ECAP = 0x10;
    public static final int GCMD = 0x18;
    public static final int GSTS = 0x1C;
    public static final int RTADDR = 0x20;
    public static final int CCMD = 0x28;
    public static final int FSTS = 0x34;
    public static final int FECTL = 0x38;
    public static final int IQH = 0x80;
    public static final int IQT = 0x88;
    public static final int IQA = 0x90;
    public static final int ICS = 0x9C;
    public static final int IQERCD = 0xB0;
    public static final int PQH = 0xC0;
    public static final int PQT = 0xC8;
    public static final int PQA = 0xD0;
    public static final int PRS = 0xDC;
    public static final int PECTL = 0xE0;
    public static final int PEDATA = 0xE4;
    public static final int PEADDR = 0xE8;
    public static final int PEUADDR = 0xEC;
    public static final int PRS_PPR = PageRequestQueue.PRS_PPR;
    public static final int PRS_PRO = PageRequestQueue.PRS_PRO;
    public static final int PECTL_IM = PageRequestQueue.PECTL_IM;
    public static final int PECTL_IP = PageRequestQueue.PECTL_IP;

    public static final int GCMD_TE = 1 << 31;
    public static final int GCMD_SRTP = 1 << 30;
    public static final int GCMD_WBF = 1 << 27;
    public static final int GCMD_QIE = 1 << 26;
    public static final int GSTS_TES = 1 << 31;
    public static final int GSTS_RTPS = 1 << 30;
    public static final int GSTS_QIES = 1 << 26;

    /** RTADDR.TTM (11:10): 01 = scalable-mode root table. */
    public static final long RTADDR_TTM_SCALABLE = 1L << 10;
    static final long RTADDR_TTM_MASK = 3L << 10;
    /** IQA: DW (bit 11) = 256-bit descriptors, QS (2:0) = 2^QS pages. */
    public static final long IQA_DW = 1L << 11;

    public static final int FSTS_PFO = 1;
    public static final int FSTS_PPF = 1 << 1;
    public static final int FSTS_IQE = 1 << 4;
    public static final int FSTS_ICE = 1 << 5;
    public static final int FSTS_ITE = 1 << 6;
    public static final int ICS_IWC = 1;

    static final int VERSION = 0x10;

    private final VtdCapabilities caps;
    private final PhysicalMemory memory;
    private final StaleTranslationAuditor auditor;
    private final PhysicalTables physicalTables;
    final ContextCache contextCache;
    final PasidCache pasidCache;
    final IoTlb iotlb;
    final FaultRecorder faults;
    final PageRequestQueue prq;
    private volatile PrgResponseSink prgResponses = (rid, pasid, prgIndex, code) -> {
    };
    private final PageTableFormat[] secondStage = new PageTableFormat[6];
    private final PageTableFormat[] firstStage = new PageTableFormat[6];
    private final ThreadLocal<Scratch> scratch;

    private volatile boolean translationEnabled;
    private volatile boolean queueEnabled;
    private volatile long rootTableAddress;
    private volatile boolean rootTablePointerSet;
    private long rtaddr;
    private long iqa;
    private long iqh;
    private long iqt;
    private int fsts;
    private int ics;
    private int fectl;
    private long iqercd;
    private long descriptorsProcessed;
    private long pageGroupResponses;
    /** A page request event fired by clearing PECTL.IM, not yet handed to the driver. */
    private boolean pendingEvent;

    /** Per-thread buffers of a translation, so that it does not allocate. */
    private static final class Scratch {
        final long[] context = new long[2];
        final long[] pasidEntry = new long[3];
        final Walk first = new Walk();
        final Walk second = new Walk();
        final NestedTableMemory nested;
        int reads;
        /** PASID + 1 whose entry {@link #pasidEntry} holds from this translation's PASID-table read, else 0. */
        int pasidEntryValid;
        long generation;

        Scratch(PhysicalMemory memory) {
            nested = new NestedTableMemory(memory);
        }
    }

    public VtdHardware(VtdCapabilities caps, PhysicalMemory memory, StaleTranslationAuditor auditor) {
        this.caps = caps;
        this.memory = memory;
        this.auditor = auditor;
        this.physicalTables = new PhysicalTables(memory);
        this.contextCache = new ContextCache(auditor);
        this.pasidCache = new PasidCache(auditor);
        this.iotlb = new IoTlb(memory, auditor);
        this.faults = new FaultRecorder(caps.faultRecordCount());
        this.prq = new PageRequestQueue(memory);
        for (int levels = 3; levels <= 5; levels++) {
            secondStage[levels] = VtdFormats.secondStage(levels);
        }
        firstStage[4] = VtdFormats.firstStage(4);
        firstStage[5] = VtdFormats.firstStage(5);
        this.scratch = ThreadLocal.withInitial(() -> new Scratch(memory));
    }

    public VtdCapabilities capabilities() {
        return caps;
    }

    PageTableFormat secondStageFormat(int levels) {
        return secondStage[levels];
    }

    PageTableFormat firstStageFormat(int levels) {
        return firstStage[levels];
    }

    // ---- registers ----

    /** Reads a 32-bit register (or half of a 64-bit one). */
    public synchronized int read32(int offset) {
        return switch (offset) {
            case VER -> VERSION;
            case GSTS -> (translationEnabled ? GSTS_TES : 0) | (rootTablePointerSet ? GSTS_RTPS : 0)
                    | (queueEnabled ? GSTS_QIES : 0);
            case FSTS -> fsts | faults.status();
            case FECTL -> fectl;
            case ICS -> ics;
            case GCMD -> 0;
            case PRS -> prq.prs();
            case PECTL -> prq.pectl();
            case PEDATA -> prq.pedata();
            default -> (int) (read64(offset & ~7) >>> ((offset & 4) * 8));
        };
    }

    public synchronized long read64(int offset) {
        int fro = caps.faultRecordOffset();
        if (offset >= fro && offset < fro + 16 * faults.records()) {
            int i = (offset - fro) / 16;
            return (offset - fro) % 16 == 0 ? faults.low(i) : faults.high(i);
        }
        return switch (offset) {
            case CAP -> caps.cap();
            case ECAP -> caps.ecap();
            case RTADDR -> rtaddr;
            case IQH -> iqh;
            case IQT -> iqt;
            case IQA -> iqa;
            case IQERCD -> iqercd;
            case PQH -> prq.pqh();
            case PQT -> prq.pqt();
            case PQA -> prq.pqa();
            case PEADDR -> prq.peaddr();
            case VER, GCMD, FSTS, ICS, PRS, PECTL -> read32(offset) & 0xFFFF_FFFFL;
            default -> 0;
        };
    }

    public synchronized void write32(int offset, int value) {
        switch (offset) {
            case GCMD -> command(value);
            case FSTS -> {
                // PFO, IQE, ICE, ITE are write-1-to-clear; clearing IQE lets the queue run again.
                if ((value & FSTS_PFO) != 0) {
                    faults.clearOverflow();
                }
                fsts &= ~(value & (FSTS_IQE | FSTS_ICE | FSTS_ITE));
                if ((value & FSTS_IQE) != 0) {
                    iqercd = 0;
                    processQueue();
                }
            }
            case FECTL -> fectl = value & (1 << 31);
            case ICS -> ics &= ~(value & ICS_IWC);
            case PRS -> prq.writePrs(value);
            case PECTL -> pendingEvent |= prq.writePectl(value);
            case PEDATA -> prq.setPedata(value);
            default -> write64(offset & ~7, (read64(offset & ~7) & ~(0xFFFF_FFFFL << ((offset & 4) * 8)))
                    | (value & 0xFFFF_FFFFL) << ((offset & 4) * 8));
        }
    }

    public synchronized void write64(int offset, long value) {
        int fro = caps.faultRecordOffset();
        if (offset >= fro && offset < fro + 16 * faults.records()) {
            if ((offset - fro) % 16 == 8) {
                faults.writeHigh((offset - fro) / 16, value);
            }
            return;
        }
        switch (offset) {
            case RTADDR -> rtaddr = value & ~0x3FFL;
            case IQA -> iqa = value & (~0xFFFL | IQA_DW | 7);
            case IQT -> {
                iqt = value & 0x7FFF0L;
                processQueue();
            }
            case PQH -> prq.setPqh(value);
            case PQA -> prq.setPqa(value);
            case PEADDR -> prq.setPeaddr(value);
            case GCMD, FSTS, FECTL, ICS, PRS, PECTL -> write32(offset, (int) value);
            default -> {
                // read-only or unmodelled: ignored
            }
        }
    }

    private void command(int value) {
        if ((value & GCMD_SRTP) != 0) {
            rootTableAddress = rtaddr;
            rootTablePointerSet = true;
        }
        translationEnabled = (value & GCMD_TE) != 0;
        boolean qie = (value & GCMD_QIE) != 0;
        if (qie && !queueEnabled) {
            iqh = 0;
        }
        queueEnabled = qie;
    }

    // ---- invalidation queue ----

    private int descriptorShift() {
        return (iqa & IQA_DW) != 0 ? 5 : 4;
    }

    private long queueBytes() {
        return PhysicalMemory.PAGE_SIZE << (int) (iqa & 7);
    }

    /** Fetches descriptors from IQH up to IQT, stopping (FSTS.IQE) at an invalid one. */
    private void processQueue() {
        if (!queueEnabled || (fsts & FSTS_IQE) != 0) {
            return;
        }
        long base = iqa & ~0xFFFL;
        int shift = descriptorShift();
        if (shift == 5 && (iqt & 0x10) != 0) {
            queueError(1);
            return;
        }
        while (iqh != iqt) {
            long at = base + iqh;
            long qw0 = memory.readLong(at);
            long qw1 = memory.readLong(at + 8);
            long qw2 = shift == 5 ? memory.readLong(at + 16) : 0;
            long qw3 = shift == 5 ? memory.readLong(at + 24) : 0;
            if (!execute(qw0, qw1, qw2, qw3, shift == 5)) {
                queueError(1);
                return;
            }
            descriptorsProcessed++;
            iqh = (iqh + (1L << shift)) % queueBytes();
        }
    }

    private void queueError(int info) {
        fsts |= FSTS_IQE;
        iqercd = (iqh >>> descriptorShift()) << 32 | info;
    }

    /** Executes one descriptor; false when it is invalid (unknown type, reserved bits, bad granularity). */
    private boolean execute(long qw0, long qw1, long qw2, long qw3, boolean wide) {
        boolean scalable = (rtaddr & RTADDR_TTM_MASK) == RTADDR_TTM_SCALABLE;
        if (scalable && !wide) {
            return false; // scalable mode needs 256-bit descriptors
        }
        if (qw2 != 0 || qw3 != 0) {
            return false;
        }
        int g = InvalidationDescriptor.granularity(qw0);
        switch (InvalidationDescriptor.type(qw0)) {
            case InvalidationDescriptor.CONTEXT_CACHE -> {
                if (qw1 != 0) {
                    return false;
                }
                switch (g) {
                    case InvalidationDescriptor.CC_GLOBAL, InvalidationDescriptor.CC_DOMAIN -> {
                        contextCache.invalidateAll();
                        pasidCache.invalidateAll();
                    }
                    case InvalidationDescriptor.CC_DEVICE -> {
                        int fm = (int) ((qw0 >>> 48) & 3);
                        int ignore = fm == 0 ? 0 : (1 << fm) - 1 << (3 - fm);
                        int sid = InvalidationDescriptor.sid(qw0);
                        contextCache.invalidateDevice(sid, fm);
                        pasidCache.invalidateSource(sid, ignore);
                    }
                    default -> {
                        return false;
                    }
                }
            }
            case InvalidationDescriptor.IOTLB -> {
                int did = InvalidationDescriptor.did(qw0);
                switch (g) {
                    case InvalidationDescriptor.IOTLB_GLOBAL -> iotlb.invalidateAll();
                    case InvalidationDescriptor.IOTLB_DOMAIN -> iotlb.invalidateDomain(did);
                    case InvalidationDescriptor.IOTLB_PAGE -> {
                        int am = InvalidationDescriptor.addressMask(qw1);
                        if (am > caps.maxAddressMask() || !caps.pageSelectiveInvalidation()) {
                            return false;
                        }
                        iotlb.invalidateDomainPages(did, InvalidationDescriptor.address(qw1), am);
                    }
                    default -> {
                        return false;
                    }
                }
            }
            case InvalidationDescriptor.PASID_IOTLB -> {
                int did = InvalidationDescriptor.did(qw0);
                int pasid = InvalidationDescriptor.pasid(qw0);
                switch (g) {
                    case InvalidationDescriptor.PIOTLB_PASID -> iotlb.invalidatePasid(did, pasid);
                    case InvalidationDescriptor.PIOTLB_PAGE -> {
                        // Not bounded by CAP.MAMV (Linux sends AM up to 52 for a first-stage flush of everything).
                        int am = InvalidationDescriptor.addressMask(qw1);
                        iotlb.invalidatePasidPages(did, pasid, InvalidationDescriptor.address(qw1), am);
                    }
                    default -> {
                        return false;
                    }
                }
            }
            case InvalidationDescriptor.PASID_CACHE -> {
                if (qw1 != 0) {
                    return false;
                }
                int did = InvalidationDescriptor.did(qw0);
                switch (g) {
                    case InvalidationDescriptor.PC_DOMAIN -> pasidCache.invalidateDomain(did);
                    case InvalidationDescriptor.PC_PASID -> pasidCache.invalidatePasid(did,
                            InvalidationDescriptor.pasid(qw0));
                    case InvalidationDescriptor.PC_GLOBAL -> pasidCache.invalidateAll();
                    default -> {
                        return false;
                    }
                }
            }
            case InvalidationDescriptor.DEVICE_TLB, InvalidationDescriptor.PASID_DEVICE_TLB -> {
                if (!caps.deviceTlb()) {
                    return false;
                }
                // No device-side translation caches are modelled: nothing to drop.
            }
            case InvalidationDescriptor.PAGE_GROUP_RESPONSE -> {
                if (caps.ecapField("PRS") == 0 || (qw0 & PageRequestDescriptor.RESPONSE_RESERVED0) != 0
                        || (qw1 & PageRequestDescriptor.RESPONSE_RESERVED1) != 0) {
                    return false;
                }
                // The PRG response message to the function; it acts on it later (posted).
                int rc = PageRequestDescriptor.responseCode(qw0);
                int code = rc == PageRequestDescriptor.RESPONSE_SUCCESS ? PageResponse.SUCCESS
                        : rc == PageRequestDescriptor.RESPONSE_INVALID ? PageResponse.INVALID : PageResponse.FAILURE;
                boolean pp = (qw0 & PageRequestDescriptor.RESPONSE_PASID_PRESENT) != 0;
                prgResponses.prgResponse(PageRequestDescriptor.rid(qw0),
                        pp ? PageRequestDescriptor.pasid(qw0) : Translation.NO_PASID,
                        PageRequestDescriptor.prgIndex(qw1), code);
                pageGroupResponses++;
            }
            case InvalidationDescriptor.WAIT -> {
                if ((qw0 & InvalidationDescriptor.WAIT_SW) != 0) {
                    long status = qw1 & ~3L;
                    int data = (int) (qw0 >>> 32);
                    byte[] b = {(byte) data, (byte) (data >>> 8), (byte) (data >>> 16), (byte) (data >>> 24)};
                    memory.write(status, b, 0, 4);
                }
                if ((qw0 & InvalidationDescriptor.WAIT_IF) != 0) {
                    ics |= ICS_IWC;
                }
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    // ---- page requests ----

    /** Where page group responses go (the driver points it at its devices' PRI functions). */
    public void setPrgResponseSink(PrgResponseSink sink) {
        this.prgResponses = sink;
    }

    /**
     * A page request message from source id {@code sid} (VT-d 3.x section 7.4): with ECAP.PRS and
     * PRE set in the device's scalable context entry it is written to the page request queue (or,
     * with the queue full or PRO set, dropped: a dropped last-page request is answered Success so
     * the function retries). Without PRS, or with a context entry that is absent or has PRE clear,
     * the request is refused: fault 0x47 recorded (PRE clear) and a last-page request answered
     * Invalid Request. Returns true when the page request event (interrupt) fired: the caller runs
     * the driver's handler then, outside this model's lock.
     */
    public boolean pageRequest(int sid, boolean pasidPresent, int pasid, boolean read, boolean write, boolean execute,
            boolean privileged, boolean lastPage, int prgIndex, long address) {
        boolean fire;
        synchronized (this) {
            fire = pendingEvent;
            pendingEvent = false;
            PageRequestQueue.Outcome outcome = null;
            long ctx0 = -1;
            if (caps.ecapField("PRS") != 0 && rootTablePointerSet) {
                long root = memory.readLong(RootEntry.halfAddress(rootTableAddress & ~0xFFFL, sid >>> 8, sid & 0xFF));
                if ((root & RootEntry.PRESENT) != 0) {
                    ctx0 = memory.readLong(ContextEntry.address(root & RootEntry.POINTER_MASK, sid & 0xFF));
                }
            }
            if (ctx0 >= 0 && (ctx0 & ContextEntry.PRESENT) != 0 && (ctx0 & ContextEntry.PRE) != 0) {
                outcome = prq.receive(PageRequestDescriptor.qword0(sid, pasidPresent, pasid, execute, privileged),
                        PageRequestDescriptor.qword1(read, write, lastPage, prgIndex, address));
            } else if (ctx0 >= 0 && (ctx0 & ContextEntry.PRESENT) != 0 && (ctx0 & ContextEntry.FPD) == 0) {
                faults.record(VtdFaultReason.CONTEXT_PRE_CLEAR, sid, pasidPresent ? pasid : Translation.NO_PASID,
                        address, write);
            }
            if (outcome == null) {
                if (lastPage) {
                    prgResponses.prgResponse(sid, pasidPresent ? pasid : Translation.NO_PASID, prgIndex,
                            PageResponse.INVALID);
                }
                return fire;
            }
            if (outcome == PageRequestQueue.Outcome.DROPPED || outcome == PageRequestQueue.Outcome.DROPPED_INTERRUPT) {
                if (lastPage) {
                    prgResponses.prgResponse(sid, pasidPresent ? pasid : Translation.NO_PASID, prgIndex,
                            PageResponse.SUCCESS);
                }
            }
            return fire || outcome == PageRequestQueue.Outcome.QUEUED_INTERRUPT
                    || outcome == PageRequestQueue.Outcome.DROPPED_INTERRUPT;
        }
    }

    /** Whether clearing PECTL.IM fired a pending page request event; reading clears the flag. */
    public synchronized boolean takePendingPageRequestEvent() {
        boolean fire = pendingEvent;
        pendingEvent = false;
        return fire;
    }

    /** Page requests written to the queue, and dropped for a full queue or PRO (tests). */
    public synchronized long pageRequestsQueued() {
        return prq.written();
    }

    public synchronized long pageRequestsDropped() {
        return prq.dropped();
    }

    /** Page group response descriptors executed (tests). */
    public synchronized long pageGroupResponses() {
        return pageGroupResponses;
    }

    /** Descriptors executed since reset (tests). */
    public synchronized long descriptorsProcessed() {
        return descriptorsProcessed;
    }

    // ---- translation ----

    /**
     * Translates one DMA request of source id {@code sid} (bus << 8 | devfn), with {@code pasid} or
     * {@link Translation#NO_PASID}, as the remapping hardware does: context cache or root and
     * context tables, PASID cache or PASID directory and table, IOTLB or a walk of the tables the
     * PASID entry selects. A refused request fills the fault in {@code out} and, unless the entry
     * disables fault processing (FPD), a fault record.
     */
    public void translate(int sid, int pasid, long iova, int access, Translation out) {
        if (!translationEnabled) {
            out.physAddr = iova;
            out.pageSize = PhysicalMemory.PAGE_SIZE;
            return;
        }
        boolean write = (access & IommuDomain.IOMMU_WRITE) != 0;
        boolean audit = auditor != null && auditor.enabled();
        // The hit path reads three cache summaries and touches no per-thread state.
        Scratch s = null;
        long ctx = contextCache.summary(sid, audit);
        if (ctx < 0) {
            s = scratch();
            long rta = rootTableAddress;
            if ((rta & RTADDR_TTM_MASK) != RTADDR_TTM_SCALABLE) {
                fault(out, VtdFaultReason.ROOT_TABLE_ADDRESS_INVALID, 0, false, false, sid, pasid, iova, write, s);
                return;
            }
            if (!readContext(sid, rta & ~0xFFFL, pasid, iova, write, out, s)) {
                return;
            }
            ctx = ContextCache.summarize(s.context[0], s.context[1]);
        }
        boolean fpd = ContextCache.faultsDisabled(ctx);
        if (pasid != Translation.NO_PASID && !ContextCache.pasidEnabled(ctx)) {
            fault(out, VtdFaultReason.CONTEXT_PASID_DISABLED, 0, false, fpd, sid, pasid, iova, write, s);
            return;
        }
        int effectivePasid = pasid == Translation.NO_PASID ? ContextCache.ridPasid(ctx) : pasid;
        if (effectivePasid >= ContextCache.pasidLimit(ctx)) {
            fault(out, VtdFaultReason.CONTEXT_PASID_TOO_LARGE, 0, false, fpd, sid, pasid, iova, write, s);
            return;
        }
        long pe = pasidCache.summary(sid, effectivePasid, audit);
        if (pe < 0) {
            if (s == null) {
                s = scratch();
                if (!contextCache.lookup(sid, s.context)) {
                    // Invalidated meanwhile: read the entry as a miss would.
                    if (!readContext(sid, rootTableAddress & ~0xFFFL, pasid, iova, write, out, s)) {
                        return;
                    }
                }
            }
            if (!readPasidEntry(sid, s.context[0], effectivePasid, pasid, iova, write, fpd, out, s)) {
                return;
            }
            pe = PasidCache.summarize(s.pasidEntry[0], s.pasidEntry[1]);
        }
        fpd |= PasidCache.faultsDisabled(pe);
        int pgtt = PasidCache.pgtt(pe);
        if (pgtt == PasidEntry.PGTT_PASS_THROUGH) {
            out.physAddr = iova;
            out.pageSize = PhysicalMemory.PAGE_SIZE;
            out.descriptorReads = s == null ? 0 : s.reads;
            return;
        }
        int did = PasidCache.did(pe);
        if (iotlb.lookup(did, effectivePasid, iova, write, audit, out) != 0) {
            out.cacheHit = true;
            out.descriptorReads = s == null ? 0 : s.reads;
            return;
        }
        if (s == null) {
            s = scratch();
        }
        s.generation = iotlb.generation();
        if (s.pasidEntryValid != effectivePasid + 1 && !pasidCache.lookup(sid, effectivePasid, s.pasidEntry)) {
            if (!contextCache.lookup(sid, s.context)
                    && !readContext(sid, rootTableAddress & ~0xFFFL, pasid, iova, write, out, s)) {
                return;
            }
            if (!readPasidEntry(sid, s.context[0], effectivePasid, pasid, iova, write, fpd, out, s)) {
                return;
            }
        }
        if (audit && !contextCache.lookup(sid, s.context)) {
            s.context[0] = memory.readLong(contextEntryAddress(sid));
        }
        walk(sid, pasid, effectivePasid, did, pgtt, s.pasidEntry, iova, access, write, fpd, out, s, s.context[0]);
    }

    private Scratch scratch() {
        Scratch s = scratch.get();
        s.reads = 0;
        s.pasidEntryValid = 0;
        return s;
    }

    private long contextEntryAddress(int sid) {
        long root = memory.readLong(RootEntry.halfAddress(rootTableAddress & ~0xFFFL, sid >>> 8, sid & 0xFF));
        return ContextEntry.address(root & RootEntry.POINTER_MASK, sid & 0xFF);
    }

    private boolean readContext(int sid, long rootTable, int pasid, long iova, boolean write, Translation out,
            Scratch s) {
        int bus = sid >>> 8;
        int devfn = sid & 0xFF;
        long rootAddr = RootEntry.halfAddress(rootTable, bus, devfn);
        long root = memory.readLong(rootAddr);
        s.reads++;
        if ((root & RootEntry.PRESENT) == 0) {
            return fault(out, VtdFaultReason.ROOT_ENTRY_NOT_PRESENT, 0, false, false, sid, pasid, iova, write, s);
        }
        if ((root & RootEntry.RESERVED) != 0) {
            return fault(out, VtdFaultReason.ROOT_ENTRY_RESERVED, 0, false, false, sid, pasid, iova, write, s);
        }
        long ctxAddr = ContextEntry.address(root & RootEntry.POINTER_MASK, devfn);
        long q0 = memory.readLong(ctxAddr);
        long q1 = memory.readLong(ctxAddr + 8);
        long q2 = memory.readLong(ctxAddr + 16);
        long q3 = memory.readLong(ctxAddr + 24);
        s.reads += 4;
        if ((q0 & ContextEntry.PRESENT) == 0) {
            return fault(out, VtdFaultReason.CONTEXT_ENTRY_NOT_PRESENT, 0, false, (q0 & ContextEntry.FPD) != 0, sid,
                    pasid, iova, write, s);
        }
        if ((q0 & ContextEntry.RESERVED0) != 0 || (q1 & ContextEntry.RESERVED1) != 0 || q2 != 0 || q3 != 0) {
            return fault(out, VtdFaultReason.CONTEXT_ENTRY_RESERVED, 0, false, (q0 & ContextEntry.FPD) != 0, sid,
                    pasid, iova, write, s);
        }
        contextCache.fill(sid, ctxAddr, q0, q1);
        s.context[0] = q0;
        s.context[1] = q1;
        return true;
    }

    private boolean readPasidEntry(int sid, long ctx0, int effectivePasid, int pasid, long iova, boolean write,
            boolean fpd, Translation out, Scratch s) {
        long dirAddr = PasidDirectoryEntry.address(ctx0 & ContextEntry.POINTER_MASK, effectivePasid);
        long dir = memory.readLong(dirAddr);
        s.reads++;
        if ((dir & PasidDirectoryEntry.PRESENT) == 0) {
            return fault(out, VtdFaultReason.PASID_DIRECTORY_NOT_PRESENT, 0, false,
                    fpd || (dir & PasidDirectoryEntry.FPD) != 0, sid, pasid, iova, write, s);
        }
        if ((dir & PasidDirectoryEntry.RESERVED) != 0) {
            return fault(out, VtdFaultReason.PASID_DIRECTORY_RESERVED, 0, false, fpd, sid, pasid, iova, write, s);
        }
        long entryAddr = PasidEntry.address(dir & PasidDirectoryEntry.POINTER_MASK, effectivePasid);
        long q0 = memory.readLong(entryAddr);
        long q1 = memory.readLong(entryAddr + 8);
        long q2 = memory.readLong(entryAddr + 16);
        s.reads += 3;
        if ((q0 & PasidEntry.PRESENT) == 0) {
            return fault(out, VtdFaultReason.PASID_ENTRY_NOT_PRESENT, 0, false, fpd || (q0 & PasidEntry.FPD) != 0, sid,
                    pasid, iova, write, s);
        }
        fpd |= (q0 & PasidEntry.FPD) != 0;
        long upper = 0;
        for (int q = 3; q < 8; q++) {
            upper |= memory.readLong(entryAddr + 8L * q);
        }
        s.reads += 5;
        if ((q0 & PasidEntry.RESERVED0) != 0 || upper != 0) {
            return fault(out, VtdFaultReason.PASID_ENTRY_RESERVED, 0, false, fpd, sid, pasid, iova, write, s);
        }
        if (!validPasidEntry(q0, q2)) {
            return fault(out, VtdFaultReason.PASID_ENTRY_INVALID, 0, false, fpd, sid, pasid, iova, write, s);
        }
        pasidCache.fill(sid, effectivePasid, dirAddr, dir, entryAddr, q0, q1, q2);
        s.pasidEntry[0] = q0;
        s.pasidEntry[1] = q1;
        s.pasidEntry[2] = q2;
        s.pasidEntryValid = effectivePasid + 1;
        return true;
    }

    /** PGTT the unit supports, second-stage AW in SAGAW, first-stage paging mode it supports. */
    private boolean validPasidEntry(long q0, long q2) {
        int pgtt = PasidEntry.pgtt(q0);
        boolean ss = pgtt == PasidEntry.PGTT_SECOND_STAGE || pgtt == PasidEntry.PGTT_NESTED;
        boolean fs = pgtt == PasidEntry.PGTT_FIRST_STAGE || pgtt == PasidEntry.PGTT_NESTED;
        switch (pgtt) {
            case PasidEntry.PGTT_FIRST_STAGE -> {
                if (!caps.firstStage()) {
                    return false;
                }
            }
            case PasidEntry.PGTT_SECOND_STAGE -> {
                if (!caps.secondStage()) {
                    return false;
                }
            }
            case PasidEntry.PGTT_NESTED -> {
                if (!caps.nesting()) {
                    return false;
                }
            }
            case PasidEntry.PGTT_PASS_THROUGH -> {
                return caps.passThrough();
            }
            default -> {
                return false;
            }
        }
        if (ss) {
            int aw = PasidEntry.aw(q0);
            if (aw < 1 || aw > 3 || (caps.sagaw() & (1 << aw)) == 0) {
                return false;
            }
            if ((q0 & PasidEntry.SSADE) != 0 && !caps.secondStageAccessDirty()) {
                return false;
            }
        }
        if (fs) {
            long fspm = (q2 & PasidEntry.FSPM_MASK) >>> PasidEntry.FSPM_SHIFT;
            if (fspm > 1 || fspm == 1 && !caps.firstStage5Level()) {
                return false;
            }
            if ((q2 & PasidEntry.SRE) != 0 && !caps.supervisorRequests()
                    || (q2 & PasidEntry.EAFE) != 0 && !caps.extendedAccessFlag()) {
                return false;
            }
        }
        return true;
    }

    private void walk(int sid, int pasid, int effectivePasid, int did, int pgtt, long[] pe, long iova, int access,
            boolean write, boolean fpd, Translation out, Scratch s, long ctx0) {
        boolean record = auditor != null && auditor.enabled();
        Walk first = s.first;
        Walk second = s.second;
        first.record = record;
        second.record = record;
        long output;
        long pageSize;
        int perm;
        Walk secondUsed = null;
        switch (pgtt) {
            case PasidEntry.PGTT_SECOND_STAGE -> {
                int levels = VtdCapabilities.agawToLevels(PasidEntry.aw(pe[0]));
                int width = VtdCapabilities.agawToWidth(PasidEntry.aw(pe[0]));
                if (width < 64 && (iova >>> width) != 0 || (iova >>> caps.mgaw()) != 0) {
                    fault(out, VtdFaultReason.ADDRESS_BEYOND_MAX, levels, false, fpd, sid, pasid, iova, write, s);
                    return;
                }
                first.reset(iova);
                if (!secondStage[levels].walk(pe[0] & PasidEntry.POINTER_MASK, iova, access,
                        (pe[0] & PasidEntry.SSADE) != 0, physicalTables, first)) {
                    s.reads += first.descriptorReads;
                    secondStageFault(out, first.fault, first.level, write, false, fpd, sid, pasid, iova, s);
                    return;
                }
                s.reads += first.descriptorReads;
                output = first.outputAddress;
                pageSize = first.pageSize;
                perm = first.perm;
            }
            case PasidEntry.PGTT_FIRST_STAGE, PasidEntry.PGTT_NESTED -> {
                int levels = PasidEntry.firstStageLevels(pe[2]);
                int width = levels == 5 ? 57 : 48;
                if ((iova >> (width - 1)) != 0 && (iova >> (width - 1)) != -1) {
                    fault(out, VtdFaultReason.FS_NON_CANONICAL, levels, false, fpd, sid, pasid, iova, write, s);
                    return;
                }
                first.reset(iova);
                long fsRoot = pe[2] & PasidEntry.POINTER_MASK;
                boolean ok;
                int ssLevels = VtdCapabilities.agawToLevels(PasidEntry.aw(pe[0]));
                if (pgtt == PasidEntry.PGTT_NESTED) {
                    NestedTableMemory nested = s.nested;
                    nested.configure(secondStage[ssLevels], pe[0] & PasidEntry.POINTER_MASK,
                            (pe[0] & PasidEntry.SSADE) != 0, fsRoot, record);
                    ok = firstStage[levels].walk(fsRoot, iova, access, true, nested, first);
                    if (!ok && first.stage2) {
                        s.reads += first.descriptorReads;
                        VtdFaultReason r = switch (nested.fault) {
                            case PERMISSION -> nested.faultAtRoot ? VtdFaultReason.FS_PML_READ_NESTED
                                    : VtdFaultReason.FS_ENTRY_READ_NESTED;
                            case ADDRESS_SIZE -> VtdFaultReason.FS_TABLE_BEYOND_MGAW;
                            default -> VtdFaultReason.SS_ENTRY_NOT_PRESENT;
                        };
                        fault(out, r, nested.faultLevel, true, fpd, sid, pasid, iova, write, s);
                        return;
                    }
                } else {
                    ok = firstStage[levels].walk(fsRoot, iova, access, true, physicalTables, first);
                }
                s.reads += first.descriptorReads;
                if (!ok) {
                    VtdFaultReason r = switch (first.fault) {
                        // No permission at all: U/S was clear somewhere and the request is user-mode.
                        case PERMISSION -> first.perm == 0 ? VtdFaultReason.FS_USER_SUPERVISOR
                                : write ? VtdFaultReason.WRITE_PERMISSION : VtdFaultReason.READ_PERMISSION;
                        case RESERVED -> VtdFaultReason.FS_ENTRY_RESERVED;
                        case ADDRESS_SIZE -> VtdFaultReason.FS_NON_CANONICAL;
                        case TABLE_ACCESS -> VtdFaultReason.FS_ENTRY_ACCESS;
                        default -> VtdFaultReason.FS_ENTRY_NOT_PRESENT;
                    };
                    fault(out, r, first.level, false, fpd, sid, pasid, iova, write, s);
                    return;
                }
                output = first.outputAddress;
                pageSize = first.pageSize;
                perm = first.perm;
                if (pgtt == PasidEntry.PGTT_NESTED) {
                    // The first stage's output is a guest-physical address: through the second stage again.
                    second.reset(output);
                    boolean ok2 = secondStage[ssLevels].walk(pe[0] & PasidEntry.POINTER_MASK, output, access,
                            (pe[0] & PasidEntry.SSADE) != 0, physicalTables, second);
                    s.reads += second.descriptorReads;
                    if (!ok2) {
                        secondStageFault(out, second.fault, second.level, write, true, fpd, sid, pasid, iova, s);
                        return;
                    }
                    output = second.outputAddress;
                    pageSize = Math.min(pageSize, second.pageSize);
                    perm &= second.perm;
                    secondUsed = second;
                }
            }
            default -> {
                fault(out, VtdFaultReason.PASID_ENTRY_INVALID, 0, false, fpd, sid, pasid, iova, write, s);
                return;
            }
        }
        long pasidEntryAddress = -1;
        if (record) {
            pasidEntryAddress = pasidEntryAddress(ctx0, effectivePasid);
        }
        iotlb.fill(s.generation, did, effectivePasid, iova, output, pageSize, perm, write, pgtt, pasidEntryAddress, first,
                secondUsed);
        out.physAddr = output;
        out.pageSize = pageSize;
        out.descriptorReads = s.reads;
    }

    private long pasidEntryAddress(long ctx0, int pasid) {
        long dir = memory.readLong(PasidDirectoryEntry.address(ctx0 & ContextEntry.POINTER_MASK, pasid));
        return PasidEntry.address(dir & PasidDirectoryEntry.POINTER_MASK, pasid);
    }

    private void secondStageFault(Translation out, Walk.Fault kind, int level, boolean write, boolean nested,
            boolean fpd, int sid, int pasid, long iova, Scratch s) {
        VtdFaultReason r = switch (kind) {
            case PERMISSION -> write ? VtdFaultReason.WRITE_PERMISSION : VtdFaultReason.READ_PERMISSION;
            case ADDRESS_SIZE -> nested ? VtdFaultReason.SS_OUTPUT_BEYOND_MAX : VtdFaultReason.ADDRESS_BEYOND_MAX;
            case RESERVED -> VtdFaultReason.SS_ENTRY_RESERVED;
            case TABLE_ACCESS -> VtdFaultReason.SS_ENTRY_ACCESS;
            default -> VtdFaultReason.SS_ENTRY_NOT_PRESENT;
        };
        fault(out, r, level, nested, fpd, sid, pasid, iova, write, s);
    }

    private boolean fault(Translation out, VtdFaultReason reason, int level, boolean stage2, boolean fpd, int sid,
            int pasid, long iova, boolean write, Scratch s) {
        // A translation request that finds no permission gets R=W=0 back, not a fault record.
        if (!fpd && !(out.translationRequest() && reason.pageRequestable())) {
            faults.record(reason, sid, pasid, iova, write);
        }
        out.descriptorReads = s == null ? 0 : s.reads;
        return out.fault(reason.code(), reason.name(), level, stage2);
    }
}
