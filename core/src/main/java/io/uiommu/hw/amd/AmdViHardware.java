package io.uiommu.hw.amd;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.PageResponse;
import io.uiommu.iommu.PrgResponseSink;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.AmdV1PageTable;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.PhysicalTables;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;

/**
 * The AMD-Vi hardware: MMIO registers, the device table, DTE cache and IOTLB, the command buffer
 * it executes when software moves the tail, the event log it writes, and DMA translation through
 * v1 host tables, v2 guest tables behind the GCR3 table, or both (nested). Everything it reads it
 * reads from {@link PhysicalMemory} in the spec's layout; the driver reaches it only through
 * registers and memory.
 *
 * <p>Locking: this object's monitor (register access, command execution and translation are
 * serialized per unit, as one IOMMU processes one request at a time).
 */
public final class AmdViHardware {
    static final String VENDOR = "amd";

    private final PhysicalMemory memory;
    private final StaleTranslationAuditor auditor;
    private final PhysicalTables physical;
    private final long efr;
    private final long efr2;

    private long devTableReg;
    private long devTableBase;
    private long devTableBytes;
    private long cmdBufReg;
    private long cmdBase;
    private int cmdBytes;
    private int cmdHead;
    private int cmdTail;
    private boolean cmdHalted;
    private long control;
    private boolean comWaitInt;
    private long exclBase;
    private long exclLimit;
    private final LogRing events;
    private final LogRing ppr;
    private boolean pprInt;
    private long pprCompletions;
    private volatile PrgResponseSink prgResponses = (rid, pasid, prgIndex, code) -> {
    };

    private final DteCache dteCache = new DteCache();
    private final AmdIotlb iotlb = new AmdIotlb();
    private final Walk walk = new Walk();
    private final Walk gcr3Walk = new Walk();
    private final Walk dataWalk = new Walk();

    private long commandsExecuted;
    private long completionInterrupts;

    public AmdViHardware(PhysicalMemory memory, StaleTranslationAuditor auditor, long efr, long efr2) {
        this.memory = memory;
        this.auditor = auditor;
        this.physical = new PhysicalTables(memory);
        this.efr = efr;
        this.efr2 = efr2;
        this.events = new LogRing(memory, false);
        this.ppr = new LogRing(memory, true);
    }

    public long efr() {
        return efr;
    }

    public long efr2() {
        return efr2;
    }

    // ---------------------------------------------------------------- registers

    /** An MMIO read of a 64-bit register. */
    public synchronized long read(int offset) {
        return switch (offset) {
            case AmdRegisters.DEV_TABLE_BASE -> devTableReg;
            case AmdRegisters.CMD_BUF_BASE -> cmdBufReg;
            case AmdRegisters.EVT_LOG_BASE -> events.reg();
            case AmdRegisters.CONTROL -> control;
            case AmdRegisters.EXCL_BASE -> exclBase;
            case AmdRegisters.EXCL_LIMIT -> exclLimit;
            case AmdRegisters.EFR -> efr;
            case AmdRegisters.EFR2 -> efr2;
            case AmdRegisters.PPR_LOG_BASE -> ppr.reg();
            case AmdRegisters.CMD_HEAD -> cmdHead;
            case AmdRegisters.CMD_TAIL -> cmdTail;
            case AmdRegisters.EVT_HEAD -> events.head();
            case AmdRegisters.EVT_TAIL -> events.tail();
            case AmdRegisters.STATUS -> status();
            case AmdRegisters.PPR_HEAD -> ppr.head();
            case AmdRegisters.PPR_TAIL -> ppr.tail();
            default -> 0;
        };
    }

    private long status() {
        long s = 0;
        if (events.overflow()) {
            s |= AmdRegisters.STATUS_EVT_OVERFLOW;
        }
        if (comWaitInt) {
            s |= AmdRegisters.STATUS_COMWAIT_INT;
        }
        if ((control & AmdRegisters.CONTROL_EVT_LOG_EN) != 0) {
            s |= AmdRegisters.STATUS_EVT_RUN;
        }
        if ((control & AmdRegisters.CONTROL_CMDBUF_EN) != 0 && !cmdHalted) {
            s |= AmdRegisters.STATUS_CMDBUF_RUN;
        }
        if (ppr.overflow()) {
            s |= AmdRegisters.STATUS_PPR_OVERFLOW;
        }
        if (pprInt) {
            s |= AmdRegisters.STATUS_PPR_INT;
        }
        if ((control & AmdRegisters.CONTROL_PPRLOG_EN) != 0 && !ppr.overflow()) {
            s |= AmdRegisters.STATUS_PPR_RUN;
        }
        return s;
    }

    /** An MMIO write of a 64-bit register; a tail write makes the hardware run the new commands. */
    public synchronized void write(int offset, long value) {
        switch (offset) {
            case AmdRegisters.DEV_TABLE_BASE -> {
                devTableReg = value & 0x000f_ffff_ffff_f1ffL;
                devTableBase = value & 0x000f_ffff_ffff_f000L;
                devTableBytes = ((value & 0x1ff) + 1) * PhysicalMemory.PAGE_SIZE;
            }
            case AmdRegisters.CMD_BUF_BASE -> {
                cmdBufReg = value & 0x0f0f_ffff_ffff_f000L;
                cmdBase = value & 0x000f_ffff_ffff_f000L;
                int len = (int) (value >>> 56 & 0xf);
                cmdBytes = len < 8 ? 0 : AmdCommand.SIZE << len;
                cmdHead = 0;
                cmdTail = 0;
            }
            case AmdRegisters.EVT_LOG_BASE -> events.setBase(value);
            case AmdRegisters.CONTROL -> {
                boolean cmdWasOn = (control & AmdRegisters.CONTROL_CMDBUF_EN) != 0;
                control = value;
                if ((value & AmdRegisters.CONTROL_CMDBUF_EN) == 0) {
                    cmdHalted = false;
                } else if (!cmdWasOn) {
                    runCommands();
                }
            }
            case AmdRegisters.EXCL_BASE -> exclBase = value;
            case AmdRegisters.EXCL_LIMIT -> exclLimit = value;
            case AmdRegisters.PPR_LOG_BASE -> ppr.setBase(value);
            case AmdRegisters.CMD_HEAD -> {
                if ((control & AmdRegisters.CONTROL_CMDBUF_EN) == 0 && cmdBytes != 0) {
                    cmdHead = (int) (value & 0x7fff0) % cmdBytes;
                }
            }
            case AmdRegisters.CMD_TAIL -> {
                if (cmdBytes != 0) {
                    cmdTail = (int) (value & 0x7fff0) % cmdBytes;
                    runCommands();
                }
            }
            case AmdRegisters.EVT_HEAD -> events.setHead(value);
            case AmdRegisters.STATUS -> {
                if ((value & AmdRegisters.STATUS_EVT_OVERFLOW) != 0) {
                    events.clearOverflow();
                }
                if ((value & AmdRegisters.STATUS_COMWAIT_INT) != 0) {
                    comWaitInt = false;
                }
                if ((value & AmdRegisters.STATUS_PPR_OVERFLOW) != 0) {
                    ppr.clearOverflow();
                }
                if ((value & AmdRegisters.STATUS_PPR_INT) != 0) {
                    pprInt = false;
                }
            }
            case AmdRegisters.PPR_HEAD -> ppr.setHead(value);
            case AmdRegisters.PPR_TAIL -> ppr.setTail(value);
            default -> {
                // read-only (EFR, EFR2, tails the hardware owns) or not modelled
            }
        }
    }

    // ---------------------------------------------------------------- command buffer

    private void runCommands() {
        if ((control & AmdRegisters.CONTROL_CMDBUF_EN) == 0 || cmdHalted) {
            return;
        }
        while (cmdHead != cmdTail) {
            long pa = cmdBase + cmdHead;
            long q0 = memory.readLong(pa);
            long q1 = memory.readLong(pa + 8);
            if (!execute(q0, q1)) {
                // The hardware stops at an illegal command and reports where it is.
                logEvent(AmdEvent.q0(AmdEvent.ILLEGAL_COMMAND_ERROR, 0, 0, 0), pa);
                cmdHalted = true;
                return;
            }
            commandsExecuted++;
            cmdHead = (cmdHead + AmdCommand.SIZE) % cmdBytes;
        }
    }

    /** Executes one command; false when it is illegal (unknown opcode, reserved bits set). */
    private boolean execute(long q0, long q1) {
        switch (AmdCommand.opcode(q0)) {
            case AmdCommand.COMPLETION_WAIT -> {
                if ((q0 & 0x0ff0_0000_0000_0000L) != 0) {
                    return false;
                }
                if ((q0 & AmdCommand.CW_STORE) != 0) {
                    memory.writeLong(q0 & AmdCommand.CW_ADDRESS, q1);
                }
                if ((q0 & AmdCommand.CW_INTERRUPT) != 0) {
                    comWaitInt = true;
                    if ((control & AmdRegisters.CONTROL_COMWAIT_INT_EN) != 0) {
                        completionInterrupts++;
                    }
                }
                return true;
            }
            case AmdCommand.INVALIDATE_DEVTAB_ENTRY -> {
                if ((q0 & 0x0fff_ffff_ffff_0000L) != 0 || q1 != 0) {
                    return false;
                }
                dteCache.invalidate((int) (q0 & 0xffff));
                return true;
            }
            case AmdCommand.INVALIDATE_IOMMU_PAGES -> {
                if ((q0 & 0x0fff_0000_fff0_0000L) != 0 || (q1 & 0xff8) != 0) {
                    return false;
                }
                boolean gn = (q1 & AmdCommand.INV_GN) != 0;
                iotlb.invalidatePages((int) (q0 >>> 32 & 0xffff), gn, (int) (q0 & 0xf_ffff),
                        AmdCommand.invalidationStart(q1), AmdCommand.invalidationSize(q1));
                return true;
            }
            case AmdCommand.INVALIDATE_IOTLB_PAGES -> {
                // Device (ATS) TLBs are not modelled: devices do not cache translations here.
                return (q0 & 0x0f00_0000_0000_0000L) == 0 && (q1 & 0xffa) == 0;
            }
            case AmdCommand.INVALIDATE_INTERRUPT_TABLE -> {
                // Interrupt remapping is not modelled; the command is accepted.
                return (q0 & 0x0fff_ffff_ffff_0000L) == 0 && q1 == 0;
            }
            case AmdCommand.COMPLETE_PPR_REQUEST -> {
                if ((efr & AmdRegisters.EFR_PPR_SUP) == 0 || (q0 & 0x0ff0_0000_ffff_0000L) != 0
                        || (q1 & 0xffff_0e00_ffff_fffbL) != 0) {
                    return false;
                }
                // The PRG response to the function (posted; it acts on it later).
                int status = (int) (q1 >>> 44 & 0xf);
                boolean gn = (q1 & AmdCommand.INV_GN) != 0;
                prgResponses.prgResponse((int) (q0 & 0xffff), gn ? (int) (q0 >>> 32 & 0xfffff) : Translation.NO_PASID,
                        (int) (q1 >>> 32 & 0x1ff), status == 0 ? PageResponse.SUCCESS
                                : status == 1 ? PageResponse.INVALID : PageResponse.FAILURE);
                pprCompletions++;
                return true;
            }
            case AmdCommand.PREFETCH_IOMMU_PAGES -> {
                return (efr & AmdRegisters.EFR_PREF_SUP) != 0;
            }
            case AmdCommand.INVALIDATE_IOMMU_ALL -> {
                if ((efr & AmdRegisters.EFR_IA_SUP) == 0 || (q0 & 0x0fff_ffff_ffff_ffffL) != 0 || q1 != 0) {
                    return false;
                }
                dteCache.invalidateAll();
                iotlb.invalidateAll();
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    private void logEvent(long q0, long q1) {
        if ((control & AmdRegisters.CONTROL_EVT_LOG_EN) != 0) {
            events.append(q0, q1);
        }
    }

    // ---------------------------------------------------------------- translation

    /**
     * Translates one untranslated request of device {@code devid} (with {@code pasid} or
     * {@link Translation#NO_PASID}) for {@code access} ({@link IommuDomain#IOMMU_READ} or
     * {@link IommuDomain#IOMMU_WRITE}), filling {@code out}; a fault also goes to the event log.
     */
    public synchronized void translate(int devid, int pasid, long iova, int access, Translation out) {
        boolean write = (access & IommuDomain.IOMMU_WRITE) != 0;
        int fmtAccess = write ? PageTableFormat.WRITE : PageTableFormat.READ;
        if ((control & AmdRegisters.CONTROL_IOMMU_EN) == 0) {
            untranslated(iova, out);
            return;
        }
        long entryAddress = devTableBase + (long) devid * DeviceTableEntry.SIZE;
        if ((long) devid * DeviceTableEntry.SIZE >= devTableBytes) {
            illegalDte(devid, pasid, entryAddress, write, 0, out);
            return;
        }
        int s = dteCache.lookup(devid);
        if (s < 0) {
            s = dteCache.fill(devid, entryAddress, memory, auditor);
        } else if (auditor.enabled() && dteCache.fillOf(s) != null) {
            auditor.checkHit(VENDOR, "DTE cache", "device " + bdf(devid), dteCache.fillOf(s));
        }
        long q0 = dteCache.q0[s];
        long q1 = dteCache.q1[s];
        long q2 = dteCache.q2[s];
        long q3 = dteCache.q3[s];
        if ((q0 & DeviceTableEntry.V) == 0 || (q0 & DeviceTableEntry.TV) == 0) {
            untranslated(iova, out);
            return;
        }
        int mode = DeviceTableEntry.mode(q0);
        if ((q0 & DeviceTableEntry.RESERVED_0) != 0 || (q1 & DeviceTableEntry.RESERVED_1) != 0
                || (q3 & DeviceTableEntry.RESERVED_3) != 0 || mode > maxHostLevels()) {
            illegalDte(devid, pasid, entryAddress, write, AmdEvent.FLAG_RZ, out);
            return;
        }
        int domainId = DeviceTableEntry.domainId(q1);
        int dtePerm = ((q0 & DeviceTableEntry.IR) != 0 ? PageTableFormat.READ : 0)
                | ((q0 & DeviceTableEntry.IW) != 0 ? PageTableFormat.WRITE : 0);
        boolean gv = (q0 & DeviceTableEntry.GV) != 0 && (control & AmdRegisters.CONTROL_GT_EN) != 0
                && (efr & AmdRegisters.EFR_GT_SUP) != 0;
        boolean guest;
        if (pasid != Translation.NO_PASID) {
            if (!gv) {
                pageFault(devid, pasid, domainId, iova, write, true, 0, 0, false, q1, out);
                return;
            }
            guest = true;
        } else {
            guest = gv && (q0 & DeviceTableEntry.GIOV) != 0;
        }
        if (!guest && mode == 0) {
            // Translation disabled: the DTE's IR/IW alone decide, no IOTLB involved.
            if ((fmtAccess & ~dtePerm) != 0) {
                pageFault(devid, pasid, domainId, iova, write, false, AmdEvent.FLAG_PR | AmdEvent.FLAG_PE, 0, false,
                        q1, out);
                return;
            }
            untranslated(iova, out);
            return;
        }
        int effectivePasid = pasid == Translation.NO_PASID ? 0 : pasid;
        long key = AmdIotlb.key(domainId, guest, effectivePasid);
        int e = iotlb.lookup(key, iova);
        if (e >= 0 && (fmtAccess & ~iotlb.perm(e)) == 0 && (!write || iotlb.dirty(e))) {
            if (auditor.enabled() && iotlb.fillOf(e) != null) {
                auditor.checkHit(VENDOR, "IOTLB", iotlb.describe(e), iotlb.fillOf(e));
            }
            out.physAddr = iotlb.physAddr(e, iova);
            out.pageSize = iotlb.leafSize(e);
            out.cacheHit = true;
            return;
        }
        boolean dteAllows = (fmtAccess & ~dtePerm) == 0;
        boolean hostUpdates = DeviceTableEntry.had(q0) != 0 && dteAllows;
        walk.record = auditor.enabled();
        walk.reset(iova);
        boolean ok;
        long output;
        long pageSize;
        int perm;
        if (!guest) {
            ok = DeviceTableEntry.hostTable(mode).walk(DeviceTableEntry.root(q0), iova, fmtAccess, hostUpdates,
                    physical, walk);
            output = walk.outputAddress;
            pageSize = walk.pageSize;
            perm = walk.perm & dtePerm;
        } else {
            // Mode 0: guest tables at system-physical addresses; otherwise every table address is a
            // GPA the host table translates (nesting).
            AmdV1PageTable host = mode == 0 ? null : DeviceTableEntry.hostTable(mode);
            TableMemory guestTables = host == null ? physical : dteCache.nested(s, physical);
            if ((dtePerm & PageTableFormat.READ) == 0) {
                // The DTE refuses the reads of the GCR3 and guest tables themselves.
                pageFault(devid, effectivePasid, domainId, iova, write, true, 0, 0, true, q1, out);
                return;
            }
            // X86PageTable.walk resets its Walk: the GCR3 reads go on their own and are added after.
            gcr3Walk.record = walk.record;
            gcr3Walk.reset(iova);
            long cr3 = gcr3Entry(DeviceTableEntry.gcr3Root(q0, q1), DeviceTableEntry.glx(q0), effectivePasid,
                    guestTables, gcr3Walk);
            if (cr3 < 0) {
                pageFault(devid, effectivePasid, domainId, iova, write, true, faultFlags(gcr3Walk),
                        gcr3Walk.stage2 ? gcr3Walk.level : 0, gcr3Walk.stage2, q1, out);
                out.descriptorReads = gcr3Walk.descriptorReads;
                return;
            }
            ok = DeviceTableEntry.guestTable(DeviceTableEntry.guestLevels(q2)).walk(cr3, iova, fmtAccess, dteAllows,
                    guestTables, walk);
            addReads(walk, gcr3Walk);
            output = walk.outputAddress;
            pageSize = walk.pageSize;
            perm = walk.perm & dtePerm;
            if (ok && host != null) {
                // The guest's output is a GPA: the data access goes through the host table too, with
                // the DTE's HAD only when the DTE allows the access (a refused write dirties nothing).
                dataWalk.record = walk.record;
                boolean hostOk = host.walk(DeviceTableEntry.root(q0), output, fmtAccess, hostUpdates, physical,
                        dataWalk);
                addReads(walk, dataWalk);
                if (!hostOk) {
                    pageFault(devid, effectivePasid, domainId, iova, write, true, faultFlags(dataWalk),
                            dataWalk.level, true, q1, out);
                    out.descriptorReads = walk.descriptorReads;
                    return;
                }
                perm &= dataWalk.perm;
                output = dataWalk.outputAddress;
                pageSize = Math.min(pageSize, dataWalk.pageSize);
            }
        }
        out.descriptorReads = walk.descriptorReads;
        if (!ok) {
            pageFault(devid, guest ? effectivePasid : pasid, domainId, iova, write, guest, faultFlags(walk),
                    walk.level, walk.stage2, q1, out);
            return;
        }
        if (!dteAllows) {
            pageFault(devid, guest ? effectivePasid : pasid, domainId, iova, write, guest,
                    AmdEvent.FLAG_PR | AmdEvent.FLAG_PE, walk.level, false, q1, out);
            return;
        }
        e = iotlb.insert(key, iova, output, pageSize, perm, write);
        if (auditor.enabled()) {
            CacheFill f = iotlb.beginFill(e, auditor);
            // The words as they are now, after the walk's own accessed/dirty updates.
            for (int i = 0; i < walk.recorded; i++) {
                f.add(auditor, walk.recordedAddress[i], memory.readLong(walk.recordedAddress[i]));
            }
        } else {
            iotlb.clearFill(e, auditor);
        }
        out.physAddr = output;
        out.pageSize = pageSize;
    }

    /**
     * Reads the GCR3 entry of {@code pasid} through a GCR3 table of {@code glx + 1} levels (9 PASID
     * bits per level, 8-byte entries with valid bit 0) in {@code tables}, counting the reads on
     * {@code w}; the guest CR3, or -1 when an entry is not valid, the PASID is too wide, or a table
     * read faults in the host table ({@code w.stage2}, fault and host level set).
     */
    private static long gcr3Entry(long root, int glx, int pasid, TableMemory tables, Walk w) {
        int levels = glx + 1;
        if (levels > 3 || pasid >>> (9 * levels) != 0) {
            return -1;
        }
        long table = root;
        for (int level = levels; level >= 1; level--) {
            long pa = tables.tableAddress(table + (pasid >>> (9 * (level - 1)) & 511) * 8L, w);
            if (pa == TableMemory.FAULT) {
                return -1;
            }
            long entry = tables.readLong(pa);
            w.read(pa, entry);
            if ((entry & 1) == 0) {
                return -1;
            }
            table = entry & 0x000f_ffff_ffff_f000L;
        }
        return table;
    }

    /** Adds the descriptor reads of {@code from} (a walk made for the same request) to {@code into}. */
    private static void addReads(Walk into, Walk from) {
        for (int i = 0; i < from.recorded; i++) {
            into.read(from.recordedAddress[i], from.recordedValue[i]);
        }
        into.descriptorReads += from.descriptorReads - from.recorded;
    }

    /** IO_PAGE_FAULT flags of a failed walk: PR+PE for a permission fault, none for a missing entry. */
    private static int faultFlags(Walk w) {
        return w.fault == Walk.Fault.PERMISSION ? AmdEvent.FLAG_PR | AmdEvent.FLAG_PE : 0;
    }

    private int maxHostLevels() {
        return 4 + AmdRegisters.field(efr, AmdRegisters.EFR_HATS_SHIFT, 2);
    }

    private static void untranslated(long iova, Translation out) {
        out.physAddr = iova;
        out.pageSize = PhysicalMemory.PAGE_SIZE;
    }

    private void illegalDte(int devid, int pasid, long entryAddress, boolean write, int flags, Translation out) {
        int f = flags | (write ? AmdEvent.FLAG_RW : 0) | (pasid != Translation.NO_PASID ? AmdEvent.FLAG_GN : 0);
        logEvent(AmdEvent.q0(AmdEvent.ILLEGAL_DEV_TABLE_ENTRY, devid, pasid == Translation.NO_PASID ? 0 : pasid, f),
                entryAddress & ~3L);
        out.fault(AmdEvent.ILLEGAL_DEV_TABLE_ENTRY, "ILLEGAL_DEV_TABLE_ENTRY", 0, false);
    }

    private void pageFault(int devid, int pasid, int domainId, long iova, boolean write, boolean guest, int flags,
            int level, boolean stage2, long q1, Translation out) {
        int f = flags | (write ? AmdEvent.FLAG_RW : 0) | (guest ? AmdEvent.FLAG_GN : 0);
        // A translation request (ATS) is answered "no permission" instead of being logged.
        if ((q1 & DeviceTableEntry.SA) == 0 && !out.translationRequest()) {
            logEvent(AmdEvent.q0(AmdEvent.IO_PAGE_FAULT, devid, guest ? pasid : domainId, f), iova);
        }
        out.fault(AmdEvent.IO_PAGE_FAULT, "IO_PAGE_FAULT", level, stage2);
    }

    // ---------------------------------------------------------------- peripheral page requests

    /** Where COMPLETE_PPR_REQUEST sends PRG responses (the driver points it at its devices). */
    public void setPrgResponseSink(PrgResponseSink sink) {
        this.prgResponses = sink;
    }

    /**
     * A PCIe page request from device {@code devid}: with PPRSup, Control.PPREn and PPRLogEn and
     * the device's DTE allowing it (V and PPR) it is logged (a PAGE_SERVICE_REQUEST entry, GN with
     * a PASID); a full log loses it (PPROverflow, and nothing more is logged until software
     * restarts the log) and a lost last request of a group is answered Success so the function
     * retries. Refused requests log INVALID_PPR_REQUEST and a last one is answered Invalid.
     * Returns true when the PPR interrupt fires (Control.PPRIntEn): the caller runs the driver's
     * handler then, outside this model's lock.
     */
    public synchronized boolean pprRequest(int devid, boolean gn, int pasid, boolean read, boolean write, boolean exec,
            boolean user, boolean last, int prgIndex, long address) {
        int tag = (prgIndex & 0x1ff) | (last ? PprLogEntry.TAG_LAST : 0);
        int flags = (exec ? PprLogEntry.FLAG_EXEC : 0) | (read ? PprLogEntry.FLAG_READ : 0)
                | (write ? PprLogEntry.FLAG_WRITE : 0) | (user ? PprLogEntry.FLAG_US : 0) | (gn ? PprLogEntry.FLAG_GN : 0);
        long on = AmdRegisters.CONTROL_PPR_EN | AmdRegisters.CONTROL_PPRLOG_EN;
        long dte = (long) devid * DeviceTableEntry.SIZE < devTableBytes
                ? memory.readLong(devTableBase + (long) devid * DeviceTableEntry.SIZE) : 0;
        int response = -1;
        if ((efr & AmdRegisters.EFR_PPR_SUP) == 0 || (control & on) != on || (dte & DeviceTableEntry.V) == 0
                || (dte & DeviceTableEntry.PPR) == 0) {
            logEvent(AmdEvent.q0(AmdEvent.INVALID_PPR_REQUEST, devid, gn ? pasid : 0,
                    (write ? AmdEvent.FLAG_RW : 0) | (gn ? AmdEvent.FLAG_GN : 0)), address);
            response = PageResponse.INVALID;
        } else if (!ppr.append(PprLogEntry.q0(devid, gn ? pasid : 0, tag, flags), address & ~0xfffL)) {
            response = PageResponse.SUCCESS;
        }
        if (response >= 0) {
            if (last) {
                prgResponses.prgResponse(devid, gn ? pasid : Translation.NO_PASID, prgIndex, response);
            }
            if (response == PageResponse.INVALID) {
                return false;
            }
        }
        pprInt = true;
        return (control & AmdRegisters.CONTROL_PPRINT_EN) != 0;
    }

    public synchronized long pprRequestsLogged() {
        return ppr.written();
    }

    public synchronized long pprRequestsLost() {
        return ppr.lost();
    }

    /** COMPLETE_PPR_REQUEST commands executed (tests). */
    public synchronized long pprCompletions() {
        return pprCompletions;
    }

    static String bdf(int devid) {
        return String.format("%02x:%02x.%x", devid >>> 8, devid >>> 3 & 0x1f, devid & 7);
    }

    // ---------------------------------------------------------------- observation (tests, tools)

    public synchronized long commandsExecuted() {
        return commandsExecuted;
    }

    public synchronized long completionInterrupts() {
        return completionInterrupts;
    }

    public synchronized boolean commandsHalted() {
        return cmdHalted;
    }

    public synchronized long iotlbHits() {
        return iotlb.hits();
    }

    public synchronized long iotlbMisses() {
        return iotlb.misses();
    }

    public synchronized int iotlbEntries() {
        return iotlb.validEntries();
    }

    public synchronized long dteCacheMisses() {
        return dteCache.misses();
    }

    public synchronized long eventsWritten() {
        return events.written();
    }
}
