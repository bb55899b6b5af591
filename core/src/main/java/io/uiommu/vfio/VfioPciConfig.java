package io.uiommu.vfio;

import io.uiommu.device.DmaEngine;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.UserMemory;

import static io.uiommu.device.PciRegs.*;

/**
 * vfio-pci's virtualised view of a function's configuration space (drivers/vfio/pci/vfio_pci_config.c):
 * for every byte, which bits the user may write and which are virtual (kept in {@code vconfig}, the
 * user's copy, instead of reaching the function). Reads merge the function's bits with the virtual
 * ones; writes put writable virtual bits in vconfig and writable physical bits in the function.
 * As vfio does: the IDs, capability pointers and interrupt pin/line are virtual; the BARs are
 * virtual and read back their size mask; the MSI capability is virtual and its enable reaches the
 * function only while MSI is set up by SET_IRQS; PCIe device control is writable (Initiate FLR
 * resets the function); the ATS, PASID and PRI capabilities are read-only; bytes outside any
 * capability pass through.
 *
 * <p>Locking: the owning {@link VfioPciDevice}'s lock.
 */
final class VfioPciConfig {
    private final DmaEngine engine;
    private final VfioPciIrqs irqs;
    private final int size;
    private final byte[] vconfig;
    private final byte[] virt;
    private final byte[] write;
    private final int msi;
    private final int exp;

    VfioPciConfig(DmaEngine engine, VfioPciIrqs irqs) {
        this.engine = engine;
        this.irqs = irqs;
        this.size = engine.configSize();
        vconfig = new byte[size];
        virt = new byte[size];
        write = new byte[size];
        for (int i = 0; i < size; i++) {
            vconfig[i] = (byte) engine.configRead(i, 1);
        }
        // Bytes in no capability: raw pass-through.
        java.util.Arrays.fill(write, (byte) 0xff);

        // The standard header: read-only unless listed.
        set(0, PCI_STD_HEADER_SIZEOF, 0, 0);
        set(PCI_VENDOR_ID, 4, 0xff, 0);
        setWord(PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 0xffff);
        setWord(PCI_STATUS, PCI_STATUS_CAP_LIST, 0);
        set(PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
        set(PCI_LATENCY_TIMER, 1, 0, 0xff);
        set(PCI_BIST, 1, 0, 0xff);
        set(PCI_BASE_ADDRESS_0, 24, 0xff, 0xff);
        set(PCI_ROM_ADDRESS, 4, 0xff, 0xff);
        set(PCI_CAPABILITY_LIST, 1, 0xff, 0);
        set(PCI_INTERRUPT_LINE, 1, 0xff, 0xff);
        set(PCI_INTERRUPT_PIN, 1, 0xff, 0);

        msi = engine.findCapability(PCI_CAP_ID_MSI);
        if (msi != 0) {
            // 64-bit MSI without masking: vfio's length is 16 bytes.
            set(msi, 16, 0, 0);
            set(msi, 2, 0xff, 0);
            set(msi + PCI_MSI_FLAGS, 1, 0xff, 0xff);
            set(msi + PCI_MSI_ADDRESS_LO, 4, 0xff, 0xff);
            set(msi + PCI_MSI_ADDRESS_HI, 4, 0xff, 0xff);
            set(msi + PCI_MSI_DATA_64, 2, 0xff, 0xff);
        }
        exp = engine.findCapability(PCI_CAP_ID_EXP);
        if (exp != 0) {
            set(exp, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2, 0, 0);
            set(exp, 2, 0xff, 0);
            setWord(exp + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ,
                    ~PCI_EXP_DEVCTL_PHANTOM & 0xffff);
            setWord(exp + PCI_EXP_DEVCTL2, 0, ~PCI_EXP_DEVCTL2_ARI & 0xffff);
        }
        // Extended capabilities vfio knows the length of are read-only; their headers virtual.
        int[][] ext = {{PCI_EXT_CAP_ID_ATS, PCI_EXT_CAP_ATS_SIZEOF}, {PCI_EXT_CAP_ID_PASID, PCI_EXT_CAP_PASID_SIZEOF},
                {PCI_EXT_CAP_ID_PRI, PCI_EXT_CAP_PRI_SIZEOF}};
        for (int[] e : ext) {
            int at = engine.findExtendedCapability(e[0]);
            if (at != 0) {
                set(at, e[1], 0, 0);
                set(at, 4, 0xff, 0);
            }
        }
        fixupBars();
    }

    private void set(int offset, int length, int virtBits, int writeBits) {
        for (int i = 0; i < length; i++) {
            virt[offset + i] = (byte) virtBits;
            write[offset + i] = (byte) writeBits;
        }
    }

    private void setWord(int offset, int virtBits, int writeBits) {
        virt[offset] = (byte) virtBits;
        virt[offset + 1] = (byte) (virtBits >>> 8);
        write[offset] = (byte) writeBits;
        write[offset + 1] = (byte) (writeBits >>> 8);
    }

    private int mask(byte[] m, int pos, int count) {
        int v = 0;
        for (int i = count - 1; i >= 0; i--) {
            v = v << 8 | m[pos + i] & 0xff;
        }
        return v;
    }

    private void store(int pos, int count, int value) {
        for (int i = 0; i < count; i++) {
            vconfig[pos + i] = (byte) (value >>> 8 * i);
        }
    }

    /**
     * pread/pwrite of the config region at {@code pos}: EFAULT outside the space, as vfio says it;
     * accesses are cut into aligned pieces of at most a dword.
     */
    long rw(UserMemory memory, long buf, long count, long pos, boolean isWrite) {
        if (pos < 0 || pos >= size || count > size - pos) {
            return -Errno.EFAULT.value();
        }
        long done = 0;
        byte[] b = new byte[4];
        while (done < count) {
            int at = (int) (pos + done);
            long left = count - done;
            left = Math.min(left, 4 - (at & 3));
            int n = left >= 4 && (at & 3) == 0 ? 4 : left >= 2 && (at & 1) == 0 ? 2 : 1;
            try {
                if (isWrite) {
                    memory.read(buf + done, b, 0, n);
                    int v = 0;
                    for (int i = n - 1; i >= 0; i--) {
                        v = v << 8 | b[i] & 0xff;
                    }
                    writeChunk(at, n, v);
                } else {
                    int v = readChunk(at, n);
                    for (int i = 0; i < n; i++) {
                        b[i] = (byte) (v >>> 8 * i);
                    }
                    memory.write(buf + done, b, 0, n);
                }
            } catch (IommufdException e) {
                return -e.errno().value();
            }
            done += n;
        }
        return done;
    }

    int readChunk(int pos, int count) {
        int v = mask(virt, pos, count);
        int phys = engine.configRead(pos, count);
        return phys & ~v | mask(vconfig, pos, count) & v;
    }

    void writeChunk(int pos, int count, int value) {
        int w = mask(write, pos, count);
        if (w == 0) {
            return; // nothing writable: dropped
        }
        int v = mask(virt, pos, count);
        if ((w & v) != 0) {
            store(pos, count, mask(vconfig, pos, count) & ~(w & v) | value & w & v);
        }
        if ((w & ~v) != 0) {
            int phys = engine.configRead(pos, count);
            engine.configWrite(pos, count, phys & ~(w & ~v) | value & w & ~v);
        }
        if (overlaps(pos, count, PCI_BASE_ADDRESS_0, 24) || overlaps(pos, count, PCI_ROM_ADDRESS, 4)) {
            fixupBars();
        }
        if (msi != 0 && overlaps(pos, count, msi + PCI_MSI_FLAGS, 1)) {
            msiFlagsWritten();
        }
        if (exp != 0 && overlaps(pos, count, exp + PCI_EXP_DEVCTL, 2)) {
            devctlWritten();
        }
    }

    private static boolean overlaps(int pos, int count, int reg, int length) {
        return pos < reg + length && reg < pos + count;
    }

    /** vfio_bar_fixup: BAR0 keeps the address bits its size allows and its type bits; absent BARs and the ROM read 0. */
    private void fixupBars() {
        long bar0Size = engine.barSize(0);
        int flags = engine.configRead(PCI_BASE_ADDRESS_0, 4) & 0xf;
        int bar0 = mask(vconfig, PCI_BASE_ADDRESS_0, 4) & (int) -bar0Size | flags;
        store(PCI_BASE_ADDRESS_0, 4, bar0);
        for (int bar = PCI_BASE_ADDRESS_0 + 4; bar <= PCI_BASE_ADDRESS_5; bar += 4) {
            store(bar, 4, 0);
        }
        store(PCI_ROM_ADDRESS, 4, 0);
    }

    /** vfio_msi_config_write: the enable stays off unless SET_IRQS set MSI up; flags go to the function. */
    private void msiFlagsWritten() {
        int flags = mask(vconfig, msi + PCI_MSI_FLAGS, 2);
        if (!irqs.msiActive()) {
            flags &= ~PCI_MSI_FLAGS_ENABLE;
        }
        // One vector: the queue size cannot exceed 0.
        flags &= ~PCI_MSI_FLAGS_QSIZE;
        store(msi + PCI_MSI_FLAGS, 2, flags);
        engine.configWrite(msi + PCI_MSI_FLAGS, 2, flags);
    }

    /** vfio_exp_config_write: Initiate FLR is virtual; it resets the function and reads back 0. */
    private void devctlWritten() {
        int ctrl = mask(vconfig, exp + PCI_EXP_DEVCTL, 2);
        if ((ctrl & PCI_EXP_DEVCTL_BCR_FLR) != 0) {
            store(exp + PCI_EXP_DEVCTL, 2, ctrl & ~PCI_EXP_DEVCTL_BCR_FLR);
            if ((engine.configRead(exp + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) != 0) {
                engine.resetFunction();
            }
        }
    }
}
