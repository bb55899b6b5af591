package io.uiommu.device;

import io.uiommu.iommu.DmaCompletion;
import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.Translation;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.PciDevice;

import java.util.concurrent.atomic.AtomicLong;

import static io.uiommu.device.DmaEngineRegs.*;

/**
 * The dma-engine: an emulated PCIe function behind a platform device. Software programs a transfer
 * in BAR0 (IOVA, length, PASID, operation) and rings the doorbell; the engine moves the bytes
 * between its data window and memory through the IOMMU model with {@link IommuCore#startDma}
 * (page requests when PRI is enabled), then reports DONE or FAULT in its registers and sends its
 * MSI. A transfer that waits for a page response shows STATUS_PAGE_WAIT and finishes later, on
 * the thread that delivers the response. The register map is {@link DmaEngineRegs}
 * (docs/devices.md); the configuration space is {@link DmaEngineConfig}.
 *
 * <p>The data window is device memory: frames of {@link PhysicalMemory} the engine owns for its
 * life, so BAR accesses, DMA and a user-space mmap of the window ({@link #dataWindowPfn}) all see
 * the same bytes. DMA moves through an internal buffer: a write to memory takes its bytes from the
 * window when it starts, a read from memory lands in the window when its phase completes.
 *
 * <p>Locking: one lock per engine (this object's monitor) guards registers and configuration
 * space and orders the engine's own window accesses; it is never held while the IOMMU translates
 * or while the MSI is delivered. Window bytes are plain memory: a mapping reads and writes them
 * without the lock, as a CPU does on a real BAR.
 */
public final class DmaEngine {
    private final PciDevice pci;
    private final IommuDevice dev;
    private final IommuCore iommu;
    private final DmaEngineConfig config;

    private final PhysicalMemory physical;
    /** Physical address of the data window's first frame (DATA_WINDOW_PAGES contiguous frames). */
    private final long windowAddr;
    /** The internal buffer TO_DEVICE and FROM_DEVICE move bytes through, at the same offsets as the window. */
    private final byte[] data = new byte[DATA_WINDOW_SIZE];
    /** COPY's internal buffer. */
    private final byte[] staging = new byte[DATA_WINDOW_SIZE];
    /** One BAR access's bytes. */
    private final byte[] lane = new byte[8];

    private long srcIova;
    private long dstIova;
    private int length;
    private int bufOffset;
    private int pasidReg;
    private int op;
    private int status;
    private int error;
    private int bytesDone;
    private long faultIova;
    private int faultReason;
    private int faultCode;
    private int faultInfo;
    private int faultPasid;
    private int intStatus;
    private int intMask;
    private int completed;

    /** The transfer in flight, or null. */
    private Transfer current;
    /** The phase of it whose DMA has not completed (0: none); a completion of another phase is stale. */
    private long phaseInFlight;
    private long lastPhase;

    private volatile Runnable msiHandler;
    private final AtomicLong msiCount = new AtomicLong();

    /** How the engine issues DMA: {@link IommuCore#startDma} (tests put an asynchronous one in its place). */
    @FunctionalInterface
    interface DmaPort {
        void start(IommuDevice dev, int pasid, long iova, byte[] buffer, int offset, int length, boolean write,
                boolean pri, DmaCompletion done);
    }

    private final DmaPort port;

    public DmaEngine(PciDevice pci, IommuDevice dev, IommuCore iommu) {
        this(pci, dev, iommu, iommu::startDma);
    }

    DmaEngine(PciDevice pci, IommuDevice dev, IommuCore iommu, DmaPort port) {
        this.pci = pci;
        this.dev = dev;
        this.iommu = iommu;
        this.port = port;
        this.config = new DmaEngineConfig(pci);
        this.physical = iommu.physical();
        this.windowAddr = physical.allocateContiguous(DATA_WINDOW_PAGES) << PhysicalMemory.PAGE_SHIFT;
    }

    public String name() {
        return pci.name();
    }

    public PciDevice pci() {
        return pci;
    }

    public IommuDevice iommuDevice() {
        return dev;
    }

    /** Size of a BAR in bytes (only BAR0 is implemented; the others are 0). */
    public long barSize(int bar) {
        return bar == 0 ? BAR0_SIZE : 0;
    }

    /**
     * The frame behind page {@code page} (0..DATA_WINDOW_PAGES-1) of the data window, BAR0
     * 0x8000-0xffff: what an mmap of the window maps. The frames stay the engine's; reset zeroes
     * their bytes and keeps them.
     */
    public long dataWindowPfn(int page) {
        if (page < 0 || page >= DATA_WINDOW_PAGES) {
            throw new IllegalArgumentException("data window page " + page);
        }
        return (windowAddr >>> PhysicalMemory.PAGE_SHIFT) + page;
    }

    // ---- configuration space ----

    /** Size of the configuration space (4 KiB: PCIe extended). */
    public int configSize() {
        return config.space.size();
    }

    /** A configuration read of 1, 2 or 4 bytes. */
    public synchronized int configRead(int offset, int width) {
        return config.space.read(offset, width);
    }

    /** A configuration write of 1, 2 or 4 bytes under PCI's access rules; Initiate FLR resets the function. */
    public void configWrite(int offset, int width, int value) {
        DmaEngineConfig.Effect e;
        synchronized (this) {
            e = config.write(offset, width, value);
            config.updatePriStopped(phaseInFlight != 0 && current != null && current.pri);
        }
        if (e == DmaEngineConfig.Effect.FLR) {
            functionLevelReset();
        }
    }

    /** Offset of a standard capability in config space, or 0. */
    public synchronized int findCapability(int id) {
        return config.space.findCapability(id);
    }

    /** Offset of an extended capability in config space, or 0. */
    public synchronized int findExtendedCapability(int id) {
        return config.space.findExtendedCapability(id);
    }

    // ---- BAR0 ----

    /**
     * A memory read of 1, 2, 4 or 8 bytes at {@code offset} in a BAR. With memory decode off the
     * function does not answer: all ones, as a master abort reads.
     */
    public long mmioRead(int bar, long offset, int width) {
        checkAccess(bar, offset, width);
        synchronized (this) {
            if (!config.memoryEnabled()) {
                return width == 8 ? -1L : (1L << 8 * width) - 1;
            }
            int off = (int) offset;
            long v = 0;
            if (off >= DATA_WINDOW) {
                physical.read(windowAddr + off - DATA_WINDOW, lane, 0, width);
                for (int i = width - 1; i >= 0; i--) {
                    v = v << 8 | lane[i] & 0xff;
                }
                return v;
            }
            for (int i = width - 1; i >= 0; i--) {
                v = v << 8 | readRegister(off + i & ~3) >>> 8 * (off + i & 3) & 0xff;
            }
            return v;
        }
    }

    /** A memory write of 1, 2, 4 or 8 bytes; ignored with memory decode off. */
    public void mmioWrite(int bar, long offset, int width, long value) {
        checkAccess(bar, offset, width);
        boolean start = false;
        synchronized (this) {
            if (!config.memoryEnabled()) {
                return;
            }
            int off = (int) offset;
            if (off >= DATA_WINDOW) {
                for (int i = 0; i < width; i++) {
                    lane[i] = (byte) (value >>> 8 * i);
                }
                physical.write(windowAddr + off - DATA_WINDOW, lane, 0, width);
                return;
            }
            // Registers: one dword at a time, with the byte lanes the access covers.
            int end = off + width;
            for (int dw = off & ~3; dw < end; dw += 4) {
                int lanes = 0;
                int v = 0;
                for (int b = 0; b < 4; b++) {
                    int at = dw + b;
                    if (at >= off && at < end) {
                        lanes |= 0xff << 8 * b;
                        v |= (int) (value >>> 8 * (at - off) & 0xff) << 8 * b;
                    }
                }
                start |= writeRegister(dw, v, lanes);
            }
        }
        if (start) {
            ring();
        }
    }

    private static void checkAccess(int bar, long offset, int width) {
        if (bar != 0) {
            throw new IllegalArgumentException("BAR" + bar + " is not implemented");
        }
        if (width != 1 && width != 2 && width != 4 && width != 8 || offset < 0 || offset + width > BAR0_SIZE) {
            throw new IllegalArgumentException(width + "-byte access at 0x" + Long.toHexString(offset)
                    + " outside BAR0 (" + BAR0_SIZE + " bytes)");
        }
    }

    private int readRegister(int off) {
        return switch (off) {
            case REG_ID -> ID_VALUE;
            case REG_VERSION -> VERSION_VALUE;
            case REG_CAPS -> (pci.pasidBits() > 0 ? CAPS_PASID : 0) | (pci.pri() ? CAPS_PRI : 0) | (pci.ats() ? CAPS_ATS : 0);
            case REG_BUF_SIZE -> DATA_WINDOW_SIZE;
            case REG_SRC_IOVA -> (int) srcIova;
            case REG_SRC_IOVA + 4 -> (int) (srcIova >>> 32);
            case REG_DST_IOVA -> (int) dstIova;
            case REG_DST_IOVA + 4 -> (int) (dstIova >>> 32);
            case REG_LENGTH -> length;
            case REG_BUF_OFFSET -> bufOffset;
            case REG_PASID -> pasidReg;
            case REG_OP -> op;
            case REG_STATUS -> status;
            case REG_ERROR -> error;
            case REG_BYTES_DONE -> bytesDone;
            case REG_FAULT_IOVA -> (int) faultIova;
            case REG_FAULT_IOVA + 4 -> (int) (faultIova >>> 32);
            case REG_FAULT_REASON -> faultReason;
            case REG_FAULT_CODE -> faultCode;
            case REG_FAULT_INFO -> faultInfo;
            case REG_FAULT_PASID -> faultPasid;
            case REG_INT_STATUS -> intStatus;
            case REG_INT_MASK -> intMask;
            case REG_COMPLETED -> completed;
            default -> 0;
        };
    }

    /** One dword register write with byte-lane mask {@code lanes}; true when it rang the doorbell. */
    private boolean writeRegister(int off, int v, int lanes) {
        switch (off) {
            case REG_SRC_IOVA -> srcIova = srcIova & ~(lanes & 0xffff_ffffL) | v & lanes & 0xffff_ffffL;
            case REG_SRC_IOVA + 4 -> srcIova = srcIova & ~((long) lanes << 32) | (long) (v & lanes) << 32;
            case REG_DST_IOVA -> dstIova = dstIova & ~(lanes & 0xffff_ffffL) | v & lanes & 0xffff_ffffL;
            case REG_DST_IOVA + 4 -> dstIova = dstIova & ~((long) lanes << 32) | (long) (v & lanes) << 32;
            case REG_LENGTH -> length = length & ~lanes | v & lanes;
            case REG_BUF_OFFSET -> bufOffset = bufOffset & ~lanes | v & lanes;
            case REG_PASID -> pasidReg = (pasidReg & ~lanes | v & lanes) & (PASID_MASK | PASID_PRIV | PASID_EXEC | PASID_VALID);
            case REG_OP -> op = (op & ~lanes | v & lanes) & OP_MASK;
            case REG_INT_STATUS -> intStatus &= ~(v & lanes);
            case REG_INT_MASK -> intMask = (intMask & ~lanes | v & lanes) & INT_ALL;
            case REG_DOORBELL -> {
                return (v & lanes & DOORBELL_START) != 0;
            }
            default -> {
            }
        }
        return false;
    }

    // ---- transfers ----

    private record Transfer(int op, long src, long dst, int length, int bufOffset, int pasid, boolean pri) {
    }

    /** The doorbell: validate, then start the first phase outside the lock. */
    private void ring() {
        Transfer t;
        boolean interrupt = false;
        synchronized (this) {
            if (current != null) {
                return; // a transfer is in flight: the doorbell is ignored
            }
            int why = validate();
            clearResult();
            if (why != ERROR_NONE) {
                status = STATUS_ERROR;
                error = why;
                interrupt = raise(INT_ERROR);
                t = null;
            } else {
                int pasid = (pasidReg & PASID_VALID) != 0 ? pasidReg & PASID_MASK : Translation.NO_PASID;
                t = new Transfer(op, srcIova, dstIova, length, bufOffset, pasid, config.priEnabled());
                current = t;
                status = STATUS_BUSY;
            }
        }
        if (t != null) {
            startPhase(t, t.op != OP_FROM_DEVICE ? Phase.READ : Phase.WRITE);
        } else if (interrupt) {
            sendMsi();
        }
    }

    private int validate() {
        if (!config.busMaster()) {
            return ERROR_BUS_MASTER;
        }
        if (op != OP_TO_DEVICE && op != OP_FROM_DEVICE && op != OP_COPY) {
            return ERROR_OP;
        }
        if (length <= 0 || length > DATA_WINDOW_SIZE
                || op != OP_COPY && (bufOffset < 0 || bufOffset > DATA_WINDOW_SIZE - length)) {
            return ERROR_LENGTH;
        }
        if ((pasidReg & PASID_VALID) != 0) {
            int p = pasidReg & PASID_MASK;
            if (!config.pasidEnabled() || config.pasidBits < 20 && p >>> config.pasidBits != 0
                    || (pasidReg & PASID_PRIV) != 0 && !config.pasidPrivEnabled()
                    || (pasidReg & PASID_EXEC) != 0 && !config.pasidExecEnabled()) {
                return ERROR_PASID;
            }
        }
        return ERROR_NONE;
    }

    private void clearResult() {
        error = ERROR_NONE;
        bytesDone = 0;
        faultIova = 0;
        faultReason = 0;
        faultCode = 0;
        faultInfo = 0;
        faultPasid = 0;
    }

    private enum Phase {
        /** Memory to the device: into the data window, or into staging for COPY. */
        READ,
        /** Device to memory: from the data window, or from staging for COPY. */
        WRITE
    }

    /** Issues one phase's DMA; if it has not finished when startDma returns, a page request is outstanding. */
    private void startPhase(Transfer t, Phase phase) {
        long id;
        synchronized (this) {
            if (current != t) {
                return; // reset before the phase began
            }
            id = ++lastPhase;
            phaseInFlight = id;
            if (t.op == OP_FROM_DEVICE) {
                // The device reads its window as the transfer starts.
                physical.read(windowAddr + t.bufOffset, data, t.bufOffset, t.length);
            }
        }
        boolean copy = t.op == OP_COPY;
        boolean write = phase == Phase.WRITE;
        port.start(dev, t.pasid, write ? t.dst : t.src, copy ? staging : data, copy ? 0 : t.bufOffset, t.length,
                write, t.pri, r -> phaseDone(t, phase, id, r));
        synchronized (this) {
            if (phaseInFlight == id) {
                status = STATUS_PAGE_WAIT;
                config.updatePriStopped(t.pri);
            }
        }
    }

    private void phaseDone(Transfer t, Phase phase, long id, DmaResult r) {
        boolean interrupt = false;
        boolean nextPhase = false;
        synchronized (this) {
            if (phaseInFlight != id || current != t) {
                return; // reset while in flight: the late completion finds nothing to finish
            }
            phaseInFlight = 0;
            config.updatePriStopped(false);
            if (t.op == OP_TO_DEVICE && r.bytesDone() > 0) {
                // What arrived before the end (all of it, or up to a fault) is in the window now.
                physical.write(windowAddr + t.bufOffset, data, t.bufOffset, (int) r.bytesDone());
            }
            if (r.ok() && t.op == OP_COPY && phase == Phase.READ) {
                status = STATUS_BUSY;
                nextPhase = true;
            } else {
                bytesDone = (int) r.bytesDone();
                if (r.ok()) {
                    status = STATUS_DONE;
                    completed++;
                    interrupt = raise(INT_DONE);
                } else {
                    recordFault(r.fault());
                    if (phase == Phase.READ) {
                        config.recordMasterAbort();
                    }
                    status = STATUS_FAULT;
                    interrupt = raise(INT_FAULT);
                }
                current = null;
            }
        }
        if (nextPhase) {
            startPhase(t, Phase.WRITE);
        } else if (interrupt) {
            sendMsi();
        }
    }

    private void recordFault(DmaResult.Fault f) {
        faultIova = f.iova();
        faultReason = iommu.faultNameIndex(f.name());
        faultCode = f.code();
        faultInfo = (f.write() ? FAULT_INFO_WRITE : 0) | (f.stage2() ? FAULT_INFO_STAGE2 : 0)
                | (f.pasid() != Translation.NO_PASID ? FAULT_INFO_PASID : 0)
                | (f.level() & 0xf) << FAULT_INFO_LEVEL_SHIFT;
        faultPasid = f.pasid() != Translation.NO_PASID ? f.pasid() : 0;
    }

    /** Sets an interrupt cause; true when it should send the MSI now. */
    private boolean raise(int cause) {
        intStatus |= cause;
        return (cause & ~intMask) != 0 && config.msiEnabled();
    }

    private void sendMsi() {
        msiCount.incrementAndGet();
        Runnable h = msiHandler;
        if (h != null) {
            h.run();
        }
    }

    // ---- interrupts ----

    /**
     * Where the MSI goes (the host's interrupt routing; VFIO points it at the eventfd of SET_IRQS);
     * null to drop messages. The message is counted either way.
     */
    public void setMsiHandler(Runnable handler) {
        this.msiHandler = handler;
    }

    /** MSI messages the function sent since it was created. */
    public long msiCount() {
        return msiCount.get();
    }

    // ---- reset ----

    /**
     * Function level reset: configuration space back to power-on values (bus master, memory
     * decode, MSI and the capability enables off), registers and data window cleared, a transfer in
     * flight abandoned (its late completion is ignored).
     */
    public synchronized void functionLevelReset() {
        config.space.reset();
        resetRegisters();
    }

    /**
     * pci_reset_function as VFIO_DEVICE_RESET and vfio-pci's open and close use it: the config
     * state is saved, the function reset, the state restored (status bits stay cleared).
     */
    public synchronized void resetFunction() {
        byte[] saved = config.space.snapshot();
        config.space.reset();
        config.space.restore(saved, PciRegs.PCI_COMMAND, 2);
        config.space.restore(saved, PciRegs.PCI_CACHE_LINE_SIZE, 1);
        config.space.restore(saved, PciRegs.PCI_BASE_ADDRESS_0, 4);
        config.space.restore(saved, PciRegs.PCI_INTERRUPT_LINE, 1);
        config.space.restore(saved, config.msi, PciRegs.PCI_MSI_64_SIZEOF);
        config.space.restore(saved, config.exp + PciRegs.PCI_EXP_DEVCTL, 2);
        config.space.restore(saved, config.exp + PciRegs.PCI_EXP_DEVCTL2, 2);
        if (config.ats != 0) {
            config.space.restore(saved, config.ats + PciRegs.PCI_ATS_CTRL, 2);
        }
        if (config.pasid != 0) {
            config.space.restore(saved, config.pasid + PciRegs.PCI_PASID_CTRL, 2);
        }
        if (config.pri != 0) {
            config.space.restore(saved, config.pri + PciRegs.PCI_PRI_CTRL, 2);
            config.space.restore(saved, config.pri + PciRegs.PCI_PRI_ALLOC_REQ, 4);
        }
        resetRegisters();
        config.updatePriStopped(false);
    }

    private void resetRegisters() {
        srcIova = 0;
        dstIova = 0;
        length = 0;
        bufOffset = 0;
        pasidReg = 0;
        op = 0;
        status = STATUS_IDLE;
        clearResult();
        intStatus = 0;
        intMask = 0;
        completed = 0;
        current = null;
        phaseInFlight = 0;
        java.util.Arrays.fill(data, (byte) 0);
        java.util.Arrays.fill(staging, (byte) 0);
        for (int page = 0; page < DATA_WINDOW_PAGES; page++) {
            physical.write(windowAddr + (long) page * PhysicalMemory.PAGE_SIZE, ZERO_PAGE, 0, PhysicalMemory.PAGE_SIZE);
        }
    }

    private static final byte[] ZERO_PAGE = new byte[PhysicalMemory.PAGE_SIZE];

    /** STATUS now (for reports and tests). */
    public synchronized int status() {
        return status;
    }

    @Override
    public String toString() {
        return "dma-engine " + pci.name() + " (" + pci.bdf() + ")";
    }
}
