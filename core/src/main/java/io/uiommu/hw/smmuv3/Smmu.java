package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.PageResponse;
import io.uiommu.iommu.PrgResponseSink;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.pt.ArmLpaeTable;
import io.uiommu.pt.NestedTables;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.PhysicalTables;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;

/**
 * The SMMUv3 hardware (IHI 0070): its registers, the stream table and CD tables it reads from
 * physical memory, its configuration cache and TLB, the command queue it consumes and the event
 * queue it fills. Software (the driver, a test, a guest) talks to it only through
 * {@link #readRegister} / {@link #writeRegister} and the bytes in memory.
 *
 * <p>A transaction is translated as the architecture describes: STE (linear or 2-level stream
 * table) → substream and CD (linear or 2-level CD table; through stage 2 when nested) → TLB →
 * stage-1 walk (its table addresses through stage 2 when nested) → stage-2 walk of the output.
 * Faults are written to the event queue as records and returned in {@link Translation}.
 *
 * <p>Locking: register writes, command consumption and event writes run under this object's
 * monitor; translation reads the caches lock-free and takes the monitor only to fill them or to
 * record an event. Commands complete before the write to CMDQ_PROD returns, so once CONS has
 * passed a TLBI or CFGI no later translation uses what it dropped.
 */
public final class Smmu {
    // register offsets (page 0, and page 1 for the event queue indexes, as Linux uses them)
    public static final int IDR0 = 0x00;
    public static final int IDR1 = 0x04;
    public static final int IDR2 = 0x08;
    public static final int IDR3 = 0x0c;
    public static final int IDR4 = 0x10;
    public static final int IDR5 = 0x14;
    public static final int IIDR = 0x18;
    public static final int AIDR = 0x1c;
    public static final int CR0 = 0x20;
    public static final int CR0ACK = 0x24;
    public static final int CR1 = 0x28;
    public static final int CR2 = 0x2c;
    public static final int STATUSR = 0x40;
    public static final int GBPA = 0x44;
    public static final int IRQ_CTRL = 0x50;
    public static final int IRQ_CTRLACK = 0x54;
    public static final int GERROR = 0x60;
    public static final int GERRORN = 0x64;
    public static final int STRTAB_BASE = 0x80;
    public static final int STRTAB_BASE_CFG = 0x88;
    public static final int CMDQ_BASE = 0x90;
    public static final int CMDQ_PROD = 0x98;
    public static final int CMDQ_CONS = 0x9c;
    public static final int EVTQ_BASE = 0xa0;
    public static final int EVTQ_PROD = 0x100a8;
    public static final int EVTQ_CONS = 0x100ac;
    public static final int PRIQ_BASE = 0xc0;
    public static final int PRIQ_PROD = 0x100c8;
    public static final int PRIQ_CONS = 0x100cc;
    public static final int IRQ_CTRL_PRIQ_IRQEN = 1 << 1;
    public static final int PRIQ_OVFLG = PriQueue.OVFLG;

    public static final int CR0_SMMUEN = 1;
    public static final int CR0_PRIQEN = 1 << 1;
    public static final int CR0_EVTQEN = 1 << 2;
    public static final int CR0_CMDQEN = 1 << 3;
    public static final int GBPA_ABORT = 1 << 20;
    public static final int GERROR_CMDQ_ERR = 1;
    public static final int CMDQ_CONS_ERR_SHIFT = 24;
    public static final int CMDQ_CONS_ERR_MASK = 0x7f << CMDQ_CONS_ERR_SHIFT;
    public static final int CERROR_NONE = 0;
    public static final int CERROR_ILL = 1;
    public static final int EVTQ_PROD_OVFLG = 1 << 31;
    public static final long Q_BASE_ADDR_MASK = 0x000F_FFFF_FFFF_FFE0L;
    public static final long STRTAB_BASE_ADDR_MASK = 0x000F_FFFF_FFFF_FFC0L;
    public static final long STRTAB_L1_SPAN_MASK = 0x1fL;
    public static final long STRTAB_L1_L2PTR_MASK = 0x000F_FFFF_FFFF_FFC0L;
    public static final int STRTAB_FMT_LINEAR = 0;
    public static final int STRTAB_FMT_2LVL = 1;

    private final IommuUnit unit;
    private final PhysicalMemory memory;
    private final PhysicalTables physical;
    private final StaleTranslationAuditor auditor;
    final IdRegisters id;
    final ConfigCache configs = new ConfigCache();
    final Tlb tlb = new Tlb();
    private final ThreadLocal<Scratch> scratch;

    private int cr0;
    private int cr1;
    private int cr2;
    private int gbpa = GBPA_ABORT;
    private int irqCtrl;
    private int gerror;
    private int gerrorn;
    private long strtabBase;
    private int strtabBaseCfg;
    private long cmdqBase;
    private int cmdqProd;
    private int cmdqCons;
    private long evtqBase;
    private int evtqProd;
    private int evtqCons;
    final PriQueue priq;
    private volatile PrgResponseSink prgResponses = (rid, pasid, prgIndex, code) -> {
    };
    private long priResponses;

    /**
     * Bumped by every TLBI / CFGI (under the monitor). A translation that walked or fetched before
     * an invalidation does not cache what it found afterwards: the invalidation has to win.
     */
    private volatile long tlbGeneration;
    private volatile long configGeneration;

    private long commandsConsumed;
    private long eventsWritten;
    private long eventsLost;

    /** Per-thread walk state, so a translation allocates nothing. */
    private static final class Scratch {
        final Walk s1 = new Walk();
        final Walk s2 = new Walk();
    }

    public Smmu(IommuUnit unit, PhysicalMemory memory, StaleTranslationAuditor auditor) {
        this.unit = unit;
        this.memory = memory;
        this.physical = new PhysicalTables(memory);
        this.auditor = auditor;
        this.id = new IdRegisters(unit);
        this.scratch = ThreadLocal.withInitial(Scratch::new);
        this.priq = new PriQueue(memory, (id.idr[1] >>> IdRegisters.IDR1_PRIQS_SHIFT) & 0x1f);
    }

    public IommuUnit unit() {
        return unit;
    }

    public PhysicalMemory memory() {
        return memory;
    }

    // ---------------------------------------------------------------------------------------------
    // Registers

    /** A 32-bit register read (64-bit for the *_BASE registers). */
    public synchronized long readRegister(int offset) {
        return switch (offset) {
            case IDR0, IDR1, IDR2, IDR3, IDR4, IDR5 -> Integer.toUnsignedLong(id.idr[offset / 4]);
            case IIDR -> Integer.toUnsignedLong(id.iidr);
            case AIDR -> Integer.toUnsignedLong(id.aidr);
            case CR0, CR0ACK -> cr0;
            case CR1 -> cr1;
            case CR2 -> cr2;
            case STATUSR -> 0;
            case GBPA -> gbpa;
            case IRQ_CTRL, IRQ_CTRLACK -> irqCtrl;
            case GERROR -> gerror;
            case GERRORN -> gerrorn;
            case STRTAB_BASE -> strtabBase;
            case STRTAB_BASE_CFG -> strtabBaseCfg;
            case CMDQ_BASE -> cmdqBase;
            case CMDQ_PROD -> Integer.toUnsignedLong(cmdqProd);
            case CMDQ_CONS -> Integer.toUnsignedLong(cmdqCons);
            case EVTQ_BASE -> evtqBase;
            case EVTQ_PROD -> Integer.toUnsignedLong(evtqProd);
            case EVTQ_CONS -> Integer.toUnsignedLong(evtqCons);
            case PRIQ_BASE -> id.pri() ? priq.base() : 0;
            case PRIQ_PROD -> id.pri() ? Integer.toUnsignedLong(priq.prod()) : 0;
            case PRIQ_CONS -> id.pri() ? Integer.toUnsignedLong(priq.cons()) : 0;
            default -> 0;
        };
    }

    public synchronized void writeRegister(int offset, long value) {
        int v = (int) value;
        switch (offset) {
            case CR0 -> {
                boolean cmdqWasOn = (cr0 & CR0_CMDQEN) != 0;
                cr0 = v & (CR0_SMMUEN | CR0_EVTQEN | CR0_CMDQEN | (id.pri() ? CR0_PRIQEN : 0));
                if (!cmdqWasOn && (cr0 & CR0_CMDQEN) != 0) {
                    consumeCommands();
                }
            }
            case CR1 -> cr1 = v;
            case CR2 -> cr2 = v;
            case GBPA -> gbpa = v & ~(1 << 31); // UPDATE completes at once
            case IRQ_CTRL -> irqCtrl = v & 7;
            case GERRORN -> {
                gerrorn = v;
                consumeCommands(); // an acknowledged CMDQ_ERR lets the queue run again
            }
            case STRTAB_BASE -> strtabBase = value;
            case STRTAB_BASE_CFG -> strtabBaseCfg = v & 0x3_07ff;
            case CMDQ_BASE -> cmdqBase = value;
            case CMDQ_PROD -> {
                cmdqProd = v & queueIndexMask(cmdqBase);
                consumeCommands();
            }
            case EVTQ_BASE -> evtqBase = value;
            case EVTQ_CONS -> evtqCons = v & queueIndexMask(evtqBase);
            case PRIQ_BASE -> {
                if (id.pri()) {
                    priq.setBase(value);
                }
            }
            case PRIQ_CONS -> {
                if (id.pri()) {
                    priq.setCons(v);
                }
            }
            default -> {
                // IDRs, ACKs and PROD/CONS owned by the SMMU are read-only
            }
        }
    }

    private static int log2size(long qbase) {
        return (int) (qbase & 0x1f);
    }

    /** Index plus wrap bit. */
    private static int queueIndexMask(long qbase) {
        return (1 << (log2size(qbase) + 1)) - 1;
    }

    // ---------------------------------------------------------------------------------------------
    // Command queue

    private boolean cmdqHalted() {
        return ((gerror ^ gerrorn) & GERROR_CMDQ_ERR) != 0;
    }

    private void consumeCommands() {
        if ((cr0 & CR0_CMDQEN) == 0 || cmdqHalted()) {
            return;
        }
        int log2 = Math.min(log2size(cmdqBase), id.cmdqLog2Max());
        int mask = (1 << (log2 + 1)) - 1;
        long base = cmdqBase & Q_BASE_ADDR_MASK;
        cmdqCons &= mask; // a consumed error is forgotten once acknowledged
        while (cmdqCons != cmdqProd) {
            long at = base + (long) (cmdqCons & ((1 << log2) - 1)) * Command.BYTES;
            long dw0 = memory.readLong(at);
            long dw1 = memory.readLong(at + 8);
            int err = execute(dw0, dw1);
            if (err != CERROR_NONE) {
                cmdqCons = (cmdqCons & mask) | err << CMDQ_CONS_ERR_SHIFT;
                gerror ^= GERROR_CMDQ_ERR;
                return;
            }
            commandsConsumed++;
            cmdqCons = (cmdqCons + 1) & mask;
        }
    }

    /** Executes one command; returns the CERROR code (CERROR_NONE when it was legal). */
    private int execute(long dw0, long dw1) {
        int op = Command.opcode(dw0);
        if (op >= Command.CFGI_STE && op <= Command.CFGI_CD_ALL) {
            configGeneration++;
        } else if (op >= Command.TLBI_NH_ALL && op <= Command.TLBI_NSNH_ALL) {
            tlbGeneration++;
        }
        switch (op) {
            case Command.PREFETCH_CONFIG, Command.PREFETCH_ADDR, Command.RESUME, Command.STALL_TERM -> {
            }
            case Command.CFGI_STE -> configs.invalidateStes(Integer.toUnsignedLong(Command.sid(dw0)), 1);
            case Command.CFGI_STE_RANGE -> {
                int range = (int) (dw1 & Command.RANGE_MASK);
                long count = 1L << (range + 1);
                long first = Integer.toUnsignedLong(Command.sid(dw0)) & -count;
                configs.invalidateStes(first, count);
            }
            case Command.CFGI_CD, Command.CFGI_CD_ALL -> {
                if (op == Command.CFGI_CD && Command.ssid(dw0) >>> id.ssidBits() != 0) {
                    return CERROR_ILL;
                }
                configs.invalidateCds(Command.sid(dw0), op == Command.CFGI_CD ? Command.ssid(dw0) : -1);
            }
            case Command.TLBI_NH_ALL -> {
                int vmid = Command.vmid(dw0);
                tlb.invalidate((tag, b, l) -> Tlb.kind(tag) == Tlb.KIND_NH && Tlb.vmid(tag) == vmid);
            }
            case Command.TLBI_NH_ASID -> {
                if (!id.asid16() && Command.asid(dw0) > 0xff) {
                    return CERROR_ILL;
                }
                long tag = Tlb.tag(Tlb.KIND_NH, Command.vmid(dw0), Command.asid(dw0));
                tlb.invalidate((t, b, l) -> t == tag);
            }
            case Command.TLBI_NH_VA, Command.TLBI_NH_VAA, Command.TLBI_S2_IPA -> {
                long first = dw1 & (op == Command.TLBI_S2_IPA ? Command.TLBI_IPA_MASK : Command.TLBI_VA_MASK);
                if (op != Command.TLBI_S2_IPA && first >= 1L << 48 && first < -(1L << 48)) {
                    first &= (1L << 48) - 1; // VA[63:49] are a sign extension
                }
                long last = rangeLast(dw0, dw1, first);
                if (last == -2) {
                    return CERROR_ILL;
                }
                int vmid = Command.vmid(dw0);
                int asid = Command.asid(dw0);
                long from = first;
                long to = last;
                if (op == Command.TLBI_NH_VA) {
                    long tag = Tlb.tag(Tlb.KIND_NH, vmid, asid);
                    tlb.invalidate((t, b, l) -> t == tag && overlaps(b, l, from, to));
                } else if (op == Command.TLBI_NH_VAA) {
                    tlb.invalidate((t, b, l) -> Tlb.kind(t) == Tlb.KIND_NH && Tlb.vmid(t) == vmid
                            && overlaps(b, l, from, to));
                } else {
                    tlb.invalidate((t, b, l) -> Tlb.kind(t) == Tlb.KIND_S2 && Tlb.vmid(t) == vmid
                            && overlaps(b, l, from, to));
                }
            }
            case Command.TLBI_S12_VMALL -> {
                int vmid = Command.vmid(dw0);
                tlb.invalidate((t, b, l) -> Tlb.vmid(t) == vmid);
            }
            case Command.TLBI_NSNH_ALL -> tlb.invalidate((t, b, l) -> true);
            case Command.TLBI_EL2_ALL, Command.TLBI_EL2_ASID, Command.TLBI_EL2_VA, Command.TLBI_EL2_VAA -> {
                if (!id.hyp()) {
                    return CERROR_ILL;
                }
                tlb.invalidate((t, b, l) -> false); // no EL2 regime is modelled
            }
            case Command.ATC_INV -> {
                if ((dw0 & Command.SSV) != 0 && id.ssidBits() == 0) {
                    return CERROR_ILL;
                }
                // no ATC is modelled: nothing cached to drop
            }
            case Command.PRI_RESP -> {
                int resp = (int) (dw1 >>> 12) & 3;
                if ((dw0 & Command.SSV) != 0 && id.ssidBits() == 0 || !id.pri() || resp == 3) {
                    return CERROR_ILL;
                }
                // The PRG response message to the function (posted; it acts on it later).
                int code = resp == PriEntry.RESP_SUCC ? PageResponse.SUCCESS
                        : resp == PriEntry.RESP_FAIL ? PageResponse.FAILURE : PageResponse.INVALID;
                prgResponses.prgResponse(Command.sid(dw0),
                        (dw0 & Command.SSV) != 0 ? Command.ssid(dw0) : Translation.NO_PASID, (int) dw1 & 0x1ff, code);
                priResponses++;
            }
            case Command.SYNC -> {
                int cs = (int) (dw0 >>> Command.SYNC_CS_SHIFT) & 3;
                long msiAddr = dw1 & Command.SYNC_MSIADDR_MASK;
                if (cs == Command.SYNC_CS_IRQ && msiAddr != 0) {
                    byte[] data = new byte[4];
                    int msiData = (int) (dw0 >>> 32);
                    for (int i = 0; i < 4; i++) {
                        data[i] = (byte) (msiData >>> (8 * i));
                    }
                    memory.write(msiAddr, data, 0, 4);
                }
            }
            default -> {
                return CERROR_ILL;
            }
        }
        return CERROR_NONE;
    }

    /** Last address a TLBI covers: one address without TG, (NUM+1) << SCALE granules with it; -2 if illegal. */
    private long rangeLast(long dw0, long dw1, long first) {
        int tg = (int) (dw1 >>> Command.TLBI_TG_SHIFT) & 3;
        int num = (int) (dw0 >>> Command.TLBI_NUM_SHIFT) & 0x1f;
        int scale = (int) (dw0 >>> Command.TLBI_SCALE_SHIFT) & 0x1f;
        if (tg == 0) {
            return num == 0 && scale == 0 ? first : id.rangeInvalidation() ? -2 : first;
        }
        if (!id.rangeInvalidation()) {
            return first; // TG is a level hint only
        }
        int granuleShift = switch (tg) {
            case 1 -> 12;
            case 2 -> 14;
            default -> 16;
        };
        long span = (long) (num + 1) << (scale + granuleShift);
        long last = first + span - 1;
        return last < first ? -1L >>> 1 : last;
    }

    private static boolean overlaps(long base, long last, long from, long to) {
        return Long.compareUnsigned(base, to) <= 0 && Long.compareUnsigned(from, last) <= 0;
    }

    public synchronized long commandsConsumed() {
        return commandsConsumed;
    }

    // ---------------------------------------------------------------------------------------------
    // Event queue

    private synchronized void recordEvent(long dw0, long dw1, long dw2, long dw3) {
        if ((cr0 & CR0_EVTQEN) == 0) {
            eventsLost++;
            return;
        }
        int log2 = Math.min(log2size(evtqBase), id.evtqLog2Max());
        int idxMask = (1 << log2) - 1;
        int wrapMask = (1 << (log2 + 1)) - 1;
        int prod = evtqProd & wrapMask;
        int cons = evtqCons & wrapMask;
        if ((prod & idxMask) == (cons & idxMask) && prod != cons) {
            evtqProd ^= EVTQ_PROD_OVFLG; // full: the record is lost and overflow flagged
            eventsLost++;
            return;
        }
        long at = (evtqBase & Q_BASE_ADDR_MASK) + (long) (prod & idxMask) * Event.BYTES;
        byte[] rec = new byte[Event.BYTES];
        putLong(rec, 0, dw0);
        putLong(rec, 8, dw1);
        putLong(rec, 16, dw2);
        putLong(rec, 24, dw3);
        memory.write(at, rec, 0, rec.length);
        evtqProd = (evtqProd & EVTQ_PROD_OVFLG) | ((prod + 1) & wrapMask);
        eventsWritten++;
    }

    private static void putLong(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    public synchronized long eventsWritten() {
        return eventsWritten;
    }

    /** Events dropped because the queue was full or disabled. */
    public synchronized long eventsLost() {
        return eventsLost;
    }

    // ---------------------------------------------------------------------------------------------
    // PRI queue

    /** Where CMD_PRI_RESP sends PRG responses (the driver points it at its masters' PRI functions). */
    public void setPrgResponseSink(PrgResponseSink sink) {
        this.prgResponses = sink;
    }

    /**
     * A PRI page request message from StreamID {@code sid}: with IDR0.PRI and CR0.PRIQEN it is
     * written to the PRI queue; a full queue loses it (OVFLG toggles) and a lost last request of a
     * group is answered Success so the function retries. With the queue off the group is denied.
     * Returns true when the PRI queue interrupt fires (IRQ_CTRL.PRIQ_IRQEN): the caller runs the
     * driver's handler then, outside this model's lock.
     */
    public boolean priRequest(int sid, boolean ssv, int ssid, boolean read, boolean write, boolean exec, boolean priv,
            boolean last, int prgIndex, long address) {
        synchronized (this) {
            int pasid = ssv ? ssid : Translation.NO_PASID;
            if (!id.pri() || (cr0 & CR0_PRIQEN) == 0) {
                if (last) {
                    prgResponses.prgResponse(sid, pasid, prgIndex, PageResponse.INVALID);
                }
                return false;
            }
            if (!priq.append(PriEntry.dword0(sid, ssv, ssid, read, write, exec, priv, last),
                    PriEntry.dword1(prgIndex, address)) && last) {
                prgResponses.prgResponse(sid, pasid, prgIndex, PageResponse.SUCCESS);
            }
            return (irqCtrl & IRQ_CTRL_PRIQ_IRQEN) != 0;
        }
    }

    /** PRI requests written to the queue, and lost to a full one (tests). */
    public synchronized long priRequestsQueued() {
        return priq.written();
    }

    public synchronized long priRequestsLost() {
        return priq.lost();
    }

    /** CMD_PRI_RESP commands executed (tests). */
    public synchronized long priResponses() {
        return priResponses;
    }

    // ---------------------------------------------------------------------------------------------
    // Translation

    /**
     * Translates one transaction of StreamID {@code sid} ({@code ssid} = SubstreamID, or
     * {@link Translation#NO_PASID}) at {@code iova}; {@code access} is IOMMU_READ or IOMMU_WRITE.
     */
    public void translate(int sid, int ssid, long iova, int access, Translation out) {
        out.reset(iova, ssid, access);
        boolean write = (access & IommuDomain.IOMMU_WRITE) != 0;
        int ptAccess = write ? PageTableFormat.WRITE : PageTableFormat.READ;
        if ((cr0 & CR0_SMMUEN) == 0) {
            if ((gbpa & GBPA_ABORT) != 0) {
                out.fault(0, "GBPA_ABORT", 0, false);
            } else {
                bypass(iova, out);
            }
            return;
        }
        boolean audit = auditor != null && auditor.enabled();
        // read before any cached configuration is used: see fillTlb
        long generation = tlbGeneration;
        StreamConfig ste = configs.ste(sid);
        if (ste == null) {
            ste = fetchSte(sid, ssid, iova, write, audit, out);
            if (ste == null) {
                return;
            }
        } else if (audit) {
            auditor.checkHit("smmuv3", "STE cache", ste.label(), ste.fill());
        }
        switch (ste.config()) {
            case Ste.CONFIG_BYPASS -> {
                if (ssid != Translation.NO_PASID) {
                    event(out, Event.C_BAD_SUBSTREAMID, sid, ssid, iova, write, false, 0, 0);
                    return;
                }
                bypass(iova, out);
                return;
            }
            case Ste.CONFIG_S2_TRANS -> {
                if (ssid != Translation.NO_PASID) {
                    event(out, Event.C_BAD_SUBSTREAMID, sid, ssid, iova, write, false, 0, 0);
                    return;
                }
                translateStage2(ste, sid, iova, ptAccess, write, audit, generation, out);
                return;
            }
            default -> {
            }
        }
        // stage 1 (alone or nested): pick the CD
        int cdIndex;
        if (ssid == Translation.NO_PASID) {
            if (ste.s1cdmax() == 0) {
                cdIndex = 0;
            } else {
                switch (ste.s1dss()) {
                    case Ste.S1DSS_TERMINATE -> {
                        event(out, Event.F_STREAM_DISABLED, sid, -1, iova, write, false, 0, 0);
                        return;
                    }
                    case Ste.S1DSS_BYPASS -> {
                        if (ste.stage2()) {
                            translateStage2(ste, sid, iova, ptAccess, write, audit, generation, out);
                        } else {
                            bypass(iova, out);
                        }
                        return;
                    }
                    case Ste.S1DSS_SSID0 -> cdIndex = 0;
                    default -> {
                        event(out, Event.C_BAD_STE, sid, -1, iova, write, false, 0, 0);
                        return;
                    }
                }
            }
        } else {
            if (ste.s1cdmax() == 0 || ssid >>> ste.s1cdmax() != 0
                    || ssid == 0 && ste.s1dss() == Ste.S1DSS_SSID0) {
                event(out, Event.C_BAD_SUBSTREAMID, sid, ssid, iova, write, false, 0, 0);
                return;
            }
            cdIndex = ssid;
        }
        ContextConfig cd = configs.cd(sid, cdIndex);
        if (cd == null) {
            cd = fetchCd(ste, sid, ssid, cdIndex, iova, write, audit, out);
            if (cd == null) {
                return;
            }
        } else if (audit) {
            auditor.checkHit("smmuv3", "CD cache", cd.label(), cd.fill());
        }
        long tag = Tlb.tag(Tlb.KIND_NH, ste.vmid(), cd.asid());
        if (tlb.lookup(tag, iova, ptAccess, out, audit ? auditor : null)) {
            return;
        }
        Scratch sc = scratch.get();
        if (cd.epd0()) {
            faultFromWalk(out, Walk.Fault.TRANSLATION, cd.format().startLevel(), false, Event.CLASS_IN, sid, ssid,
                    iova, write, cd.record(), 0);
            return;
        }
        Walk s1 = sc.s1;
        s1.record = audit;
        s1.reset(iova);
        // nested: the guest's table addresses are IPAs, each read goes through the stage-2 walk first
        TableMemory tables = ste.stage2() ? ste.nested() : physical;
        boolean ok = cd.format().walk(cd.ttb0(), iova, ptAccess, cd.update(), tables, s1);
        if (!ok) {
            out.descriptorReads = s1.descriptorReads;
            // a stage-2 fault on a table read: the stage-2 walk NestedTables made started at the IPA
            faultFromWalk(out, s1.fault, s1.level, s1.stage2, s1.stage2 ? Event.CLASS_TT : Event.CLASS_IN, sid, ssid,
                    iova, write, s1.stage2 ? ste.s2Record() : cd.record(), s1.stage2 ? s1.stage2Walk().iova : 0);
            return;
        }
        long pa = s1.outputAddress;
        long size = s1.pageSize;
        int perm = s1.perm;
        boolean cleanWritable = s1.cleanWritable;
        int reads = s1.descriptorReads;
        Walk s2 = null;
        if (ste.stage2()) {
            s2 = sc.s2;
            s2.record = audit;
            s2.reset(pa);
            if (!ste.stage2Format().walk(ste.s2ttb(), pa, ptAccess, ste.s2Update(), physical, s2)) {
                out.descriptorReads = reads + s2.descriptorReads;
                faultFromWalk(out, s2.fault, s2.level, true, Event.CLASS_IN, sid, ssid, iova, write, ste.s2Record(),
                        pa);
                return;
            }
            reads += s2.descriptorReads;
            size = Math.min(size, s2.pageSize);
            perm &= s2.perm;
            cleanWritable |= s2.cleanWritable;
            pa = s2.outputAddress;
        }
        out.physAddr = pa;
        out.pageSize = size;
        out.descriptorReads = reads;
        fillTlb(generation, tag, iova, size, pa, cachedPerm(perm, cleanWritable), audit, s1, s2, ste, cd);
    }

    private void translateStage2(StreamConfig ste, int sid, long ipa, int ptAccess, boolean write, boolean audit,
            long generation, Translation out) {
        long tag = Tlb.tag(Tlb.KIND_S2, ste.vmid(), 0);
        if (tlb.lookup(tag, ipa, ptAccess, out, audit ? auditor : null)) {
            return;
        }
        Scratch sc = scratch.get();
        Walk s2 = sc.s2;
        s2.record = audit;
        s2.reset(ipa);
        if (!ste.stage2Format().walk(ste.s2ttb(), ipa, ptAccess, ste.s2Update(), physical, s2)) {
            out.descriptorReads = s2.descriptorReads;
            faultFromWalk(out, s2.fault, s2.level, true, Event.CLASS_IN, sid, Translation.NO_PASID, ipa, write,
                    ste.s2Record(), ipa);
            return;
        }
        out.physAddr = s2.outputAddress;
        out.pageSize = s2.pageSize;
        out.descriptorReads = s2.descriptorReads;
        fillTlb(generation, tag, ipa, s2.pageSize, s2.outputAddress, cachedPerm(s2.perm, s2.cleanWritable), audit,
                null, s2, ste, null);
    }

    /**
     * The permissions a TLB entry may grant. A writable-clean DBM leaf (HTTU) is cached without
     * write permission: a later write misses and walks again, so the walk marks the leaf dirty.
     */
    private static int cachedPerm(int perm, boolean cleanWritable) {
        return cleanWritable ? perm & ~PageTableFormat.WRITE : perm;
    }

    private synchronized void fillTlb(long generation, long tag, long iova, long size, long pa, int perm,
            boolean audit, Walk s1, Walk s2, StreamConfig ste, ContextConfig cd) {
        if (generation != tlbGeneration) {
            return; // a TLBI ran while this walk was in flight
        }
        String label = null;
        if (audit) {
            label = (cd == null ? "VMID " + ste.vmid() : "VMID " + ste.vmid() + " ASID " + cd.asid()) + " IOVA 0x"
                    + Long.toHexString(iova & -size);
        }
        CacheFill fill = tlb.insert(tag, iova, Long.numberOfTrailingZeros(size), pa, perm, audit, label);
        if (fill != null) {
            fill.begin(auditor);
            if (s1 != null) {
                fill.addWalk(auditor, s1);
            }
            if (s2 != null) {
                fill.addWalk(auditor, s2);
            }
        }
    }

    private static void bypass(long iova, Translation out) {
        out.physAddr = iova;
        out.pageSize = PhysicalMemory.PAGE_SIZE;
    }

    private void faultFromWalk(Translation out, Walk.Fault kind, int level, boolean stage2, int eventClass,
            int sid, int ssid, long iova, boolean write, boolean recorded, long ipa) {
        int eventId = switch (kind) {
            case PERMISSION -> Event.F_PERMISSION;
            case ADDRESS_SIZE -> Event.F_ADDR_SIZE;
            case ACCESS_FLAG -> Event.F_ACCESS;
            case TABLE_ACCESS -> Event.F_WALK_EABT;
            default -> Event.F_TRANSLATION;
        };
        out.fault(eventId, Event.name(eventId), level, stage2);
        // An ATS translation request without permission is answered so, not recorded as an event.
        if (recorded && !(out.translationRequest() && pageRequestable(eventId))) {
            recordEvent(Event.dword0(eventId, sid, ssid), Event.dword1(write, stage2, eventClass), iova,
                    stage2 ? ipa & Event.IPA_MASK : 0);
        }
    }

    /** Faults a translation request answers with "no permission" (the function may ask for the page). */
    static boolean pageRequestable(int eventId) {
        return eventId == Event.F_TRANSLATION || eventId == Event.F_PERMISSION || eventId == Event.F_ACCESS;
    }

    /** A configuration error or stream fault: always recorded, level 0. */
    private void event(Translation out, int eventId, int sid, int ssid, long iova, boolean write, boolean stage2,
            int eventClass, long dw3) {
        out.fault(eventId, Event.name(eventId), 0, stage2);
        recordEvent(Event.dword0(eventId, sid, ssid), Event.dword1(write, stage2, eventClass), iova, dw3);
    }

    // ---------------------------------------------------------------------------------------------
    // Configuration fetch

    private StreamConfig fetchSte(int sid, int ssid, long iova, boolean write, boolean audit, Translation out) {
        long generation = configGeneration;
        int cfg = strtabBaseCfg;
        int log2size = cfg & 0x3f;
        int fmt = (cfg >>> 16) & 3;
        int split = (cfg >>> 6) & 0x1f;
        long base = strtabBase & STRTAB_BASE_ADDR_MASK;
        long sidU = Integer.toUnsignedLong(sid);
        if (log2size > id.sidBits() || sidU >>> log2size != 0) {
            event(out, Event.C_BAD_STREAMID, sid, ssid, iova, write, false, 0, 0);
            return null;
        }
        long steAddr;
        long l1Addr = -1;
        long l1 = 0;
        if (fmt == STRTAB_FMT_2LVL) {
            l1Addr = base + (sidU >>> split) * 8;
            l1 = memory.readLong(l1Addr);
            int span = (int) (l1 & STRTAB_L1_SPAN_MASK);
            long inL2 = sidU & ((1L << split) - 1);
            if (span == 0 || span > split + 1 || inL2 >>> (span - 1) != 0) {
                event(out, Event.C_BAD_STREAMID, sid, ssid, iova, write, false, 0, 0);
                return null;
            }
            steAddr = (l1 & STRTAB_L1_L2PTR_MASK) + inL2 * Ste.BYTES;
        } else if (fmt == STRTAB_FMT_LINEAR) {
            steAddr = base + sidU * Ste.BYTES;
        } else {
            event(out, Event.C_BAD_STREAMID, sid, ssid, iova, write, false, 0, 0);
            return null;
        }
        if (steAddr + Ste.BYTES > 1L << id.oasBits()) {
            event(out, Event.F_STE_FETCH, sid, ssid, iova, write, false, 0, steAddr);
            return null;
        }
        long[] w = new long[Ste.DWORDS];
        for (int i = 0; i < Ste.DWORDS; i++) {
            w[i] = memory.readLong(steAddr + 8L * i);
        }
        CacheFill fill = null;
        String label = null;
        if (audit) {
            fill = new CacheFill().begin(auditor);
            if (l1Addr >= 0) {
                fill.add(auditor, l1Addr, l1);
            }
            for (int i = 0; i < 4; i++) {
                fill.add(auditor, steAddr + 8L * i, w[i]);
            }
            label = "SID " + sid;
        }
        if ((w[0] & Ste.V) == 0) {
            event(out, Event.C_BAD_STE, sid, ssid, iova, write, false, 0, 0);
            return null;
        }
        int config = Ste.config(w[0]);
        if ((config & 4) == 0) {
            config = Ste.CONFIG_ABORT;
        }
        boolean s1 = config == Ste.CONFIG_S1_TRANS || config == Ste.CONFIG_NESTED;
        boolean s2 = config == Ste.CONFIG_S2_TRANS || config == Ste.CONFIG_NESTED;
        if (s1 && !id.s1p() || s2 && !id.s2p()) {
            event(out, Event.C_BAD_STE, sid, ssid, iova, write, false, 0, 0);
            return null;
        }
        int s1fmt = Ste.s1fmt(w[0]);
        int s1cdmax = Ste.s1cdmax(w[0]);
        if (s1 && (s1fmt == 3 || s1cdmax > id.ssidBits() || s1fmt != Ste.S1FMT_LINEAR && !id.cd2l())) {
            event(out, Event.C_BAD_STE, sid, ssid, iova, write, false, 0, 0);
            return null;
        }
        ArmLpaeTable s2format = null;
        int vmid = 0;
        boolean s2update = false;
        boolean s2record = false;
        if (s2) {
            int g = Ste.granuleShift(Ste.s2tg(w[2]));
            int ps = Math.min(Ste.sizeBits(Ste.s2ps(w[2])), id.oasBits());
            vmid = Ste.s2vmid(w[2]);
            if ((w[2] & Ste.S2AA64) == 0 || g < 0 || !id.granule(g) || !id.vmid16() && vmid > 0xff) {
                event(out, Event.C_BAD_STE, sid, ssid, iova, write, false, 0, 0);
                return null;
            }
            s2update = id.httu() >= IdRegisters.IDR0_HTTU_ACCESS_DIRTY && (w[2] & Ste.S2HD) != 0;
            int ias = 64 - Ste.s2t0sz(w[2]);
            int start = ArmLpaeTable.stage2StartLevel(1 << g, Ste.s2sl0(w[2]));
            if (start < 0 || !ArmLpaeTable.validStage2(1 << g, ias, start)) {
                event(out, Event.C_BAD_STE, sid, ssid, iova, write, false, 0, 0);
                return null;
            }
            s2format = ArmLpaeTable.stage2(1 << g, ias, start, formatOutputBits(ps), s2update);
            s2record = (w[2] & Ste.S2R) != 0;
        } else if (s1 && id.s2p()) {
            vmid = Ste.s2vmid(w[2]); // stage-1-only entries are tagged with S2VMID too
        }
        if (config == Ste.CONFIG_ABORT) {
            // abort: terminated without an event, and not worth caching
            out.fault(0, "STE_ABORT", 0, false);
            return null;
        }
        long s2ttb = w[3] & Ste.S2TTB_MASK;
        NestedTables nested = config == Ste.CONFIG_NESTED ? new NestedTables(s2format, s2ttb, physical, s2update) : null;
        StreamConfig ste = new StreamConfig(sid, config, s1fmt, s1cdmax, w[0] & Ste.S1CTXPTR_MASK, Ste.s1dss(w[1]),
                s2format, s2ttb, nested, vmid, s2update, s2record, fill, label);
        synchronized (this) {
            if (generation == configGeneration) {
                configs.put(ste);
            }
        }
        return ste;
    }

    private ContextConfig fetchCd(StreamConfig ste, int sid, int ssid, int cdIndex, long iova, boolean write,
            boolean audit, Translation out) {
        long generation = configGeneration;
        Scratch sc = scratch.get();
        NestedTables viaS2 = ste.stage2() ? ste.nested() : null;
        Walk w2 = sc.s2;
        long ptr = ste.s1ContextPtr();
        long l1Addr = -1;
        long l1 = 0;
        long cdIpa;
        if (ste.s1fmt() == Ste.S1FMT_LINEAR) {
            cdIpa = ptr + (long) cdIndex * Cd.BYTES;
        } else {
            int entries = Cd.l2Entries(ste.s1fmt());
            long l1Ipa = ptr + (long) (cdIndex / entries) * 8;
            l1Addr = cdFetchAddress(viaS2, l1Ipa, w2, ste, sid, ssid, iova, write, out);
            if (l1Addr < 0) {
                return null;
            }
            l1 = memory.readLong(l1Addr);
            if ((l1 & Cd.L1_V) == 0) {
                event(out, Event.C_BAD_SUBSTREAMID, sid, ssid, iova, write, false, 0, 0);
                return null;
            }
            cdIpa = (l1 & Cd.L1_L2PTR_MASK) + (long) (cdIndex % entries) * Cd.BYTES;
        }
        long cdAddr = cdFetchAddress(viaS2, cdIpa, w2, ste, sid, ssid, iova, write, out);
        if (cdAddr < 0) {
            return null;
        }
        long dw0 = memory.readLong(cdAddr);
        long dw1 = memory.readLong(cdAddr + 8);
        CacheFill fill = null;
        String label = null;
        if (audit) {
            fill = new CacheFill().begin(auditor);
            if (l1Addr >= 0) {
                fill.add(auditor, l1Addr, l1);
            }
            fill.add(auditor, cdAddr, dw0);
            fill.add(auditor, cdAddr + 8, dw1);
            label = "SID " + sid + " SSID " + cdIndex;
        }
        int g = Ste.granuleShift(Cd.tg0(dw0));
        int asid = Cd.asid(dw0);
        int ips = Math.min(Ste.sizeBits(Cd.ips(dw0)), id.oasBits());
        boolean update = id.httu() >= IdRegisters.IDR0_HTTU_ACCESS_DIRTY && (dw0 & Cd.HD) != 0;
        int ias = 64 - Cd.t0sz(dw0);
        ArmLpaeTable format = g < 0 || !id.granule(g) || ias <= g || ias > 48 ? null
                : ArmLpaeTable.stage1(1 << g, ias, formatOutputBits(ips), update);
        if ((dw0 & Cd.V) == 0 || (dw0 & Cd.AA64) == 0 || format == null || !id.asid16() && asid > 0xff) {
            event(out, Event.C_BAD_CD, sid, ssid, iova, write, false, 0, 0);
            return null;
        }
        ContextConfig cd = new ContextConfig(sid, cdIndex, asid, format, dw1 & Cd.TTB0_MASK, (dw0 & Cd.EPD0) != 0,
                update, (dw0 & Cd.R) != 0, fill, label);
        synchronized (this) {
            if (generation == configGeneration) {
                configs.put(cd);
            }
        }
        return cd;
    }

    /**
     * The output size a table format is built with: the configured size, at most 48 bits (no
     * 52-bit LPA descriptors are modelled; bits above 47 are not output address bits then).
     */
    private static int formatOutputBits(int bits) {
        return Math.min(bits, 48);
    }

    /** The physical address of a CD-table word: through stage 2 when nested (a fault is CLASS = CD). */
    private long cdFetchAddress(NestedTables viaS2, long ipa, Walk w2, StreamConfig ste, int sid, int ssid, long iova,
            boolean write, Translation out) {
        if (viaS2 == null) {
            if (ipa + 8 > 1L << id.oasBits()) {
                event(out, Event.F_CD_FETCH, sid, ssid, iova, write, false, 0, ipa);
                return -1;
            }
            return ipa;
        }
        w2.record = false;
        w2.reset(ipa);
        long pa = viaS2.tableAddress(ipa, w2);
        if (pa == TableMemory.FAULT) {
            faultFromWalk(out, w2.fault, w2.level, true, Event.CLASS_CD, sid, ssid, iova, write, ste.s2Record(), ipa);
            return -1;
        }
        return pa;
    }
}
