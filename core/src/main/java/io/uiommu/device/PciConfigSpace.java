package io.uiommu.device;

import java.util.Arrays;

/**
 * The configuration space of one PCIe function as bytes (256 B conventional + the extended space up
 * to 4 KiB), with the access type of every bit: read-only unless marked writable (RW) or
 * write-one-to-clear (RW1C). A write changes only the writable bits it covers and clears the RW1C
 * bits it writes as one; everything else keeps its value, as PCI requires. Capabilities are linked
 * into the standard list (from 0x40) and the extended list (from 0x100) as they are added.
 * Side effects of writes (FLR, enables) belong to the function that owns the space.
 *
 * <p>Locking: none of its own; the owning device's lock guards it.
 */
public final class PciConfigSpace {
    private final byte[] bytes;
    private final byte[] writable;
    private final byte[] clearOnWrite;
    private byte[] defaults;
    private int nextCap = PciRegs.PCI_STD_HEADER_SIZEOF;
    private int lastCap;
    private int nextExtCap = PciRegs.PCI_CFG_SPACE_SIZE;
    private int lastExtCap;

    public PciConfigSpace(int size) {
        if (size != PciRegs.PCI_CFG_SPACE_SIZE && size != PciRegs.PCI_CFG_SPACE_EXP_SIZE) {
            throw new IllegalArgumentException("config space is 256 or 4096 bytes");
        }
        bytes = new byte[size];
        writable = new byte[size];
        clearOnWrite = new byte[size];
    }

    public int size() {
        return bytes.length;
    }

    /** A read of 1, 2 or 4 bytes (little-endian), naturally aligned or not. */
    public int read(int offset, int width) {
        check(offset, width);
        int v = 0;
        for (int i = width - 1; i >= 0; i--) {
            v = v << 8 | bytes[offset + i] & 0xff;
        }
        return v;
    }

    /** A write of 1, 2 or 4 bytes under the access rules: RW bits take the value, RW1C bits clear on one. */
    public void write(int offset, int width, int value) {
        check(offset, width);
        for (int i = 0; i < width; i++) {
            int at = offset + i;
            int b = value >>> (8 * i) & 0xff;
            int old = bytes[at] & 0xff;
            int rw = writable[at] & 0xff;
            int w1c = clearOnWrite[at] & 0xff;
            int v = old & ~rw | b & rw;
            v &= ~(b & w1c);
            bytes[at] = (byte) v;
        }
    }

    // ---- the function's own view (no access rules) ----

    /** Sets bytes as the hardware does, ignoring access types. */
    public void set(int offset, int width, int value) {
        check(offset, width);
        for (int i = 0; i < width; i++) {
            bytes[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    /** Sets or clears bits as the hardware does. */
    public void setBits(int offset, int width, int mask, boolean on) {
        int v = read(offset, width);
        set(offset, width, on ? v | mask : v & ~mask);
    }

    /** Marks bits read-write. */
    public void writable(int offset, int width, int mask) {
        orMask(writable, offset, width, mask);
    }

    /** Marks bits write-one-to-clear. */
    public void rw1c(int offset, int width, int mask) {
        orMask(clearOnWrite, offset, width, mask);
    }

    private void orMask(byte[] masks, int offset, int width, int mask) {
        check(offset, width);
        for (int i = 0; i < width; i++) {
            masks[offset + i] |= (byte) (mask >>> (8 * i));
        }
    }

    /** Adds a standard capability of {@code length} bytes at the next free dword; returns its offset. */
    public int addCapability(int id, int length) {
        int at = nextCap;
        if (at + length > PciRegs.PCI_CFG_SPACE_SIZE) {
            throw new IllegalStateException("no room for capability 0x" + Integer.toHexString(id));
        }
        set(at + PciRegs.PCI_CAP_LIST_ID, 1, id);
        set(at + PciRegs.PCI_CAP_LIST_NEXT, 1, 0);
        if (lastCap == 0) {
            set(PciRegs.PCI_CAPABILITY_LIST, 1, at);
            setBits(PciRegs.PCI_STATUS, 2, PciRegs.PCI_STATUS_CAP_LIST, true);
        } else {
            set(lastCap + PciRegs.PCI_CAP_LIST_NEXT, 1, at);
        }
        lastCap = at;
        nextCap = at + length + 3 & ~3;
        return at;
    }

    /** Adds an extended capability (version 1) of {@code length} bytes; returns its offset. */
    public int addExtendedCapability(int id, int length) {
        if (bytes.length < PciRegs.PCI_CFG_SPACE_EXP_SIZE) {
            throw new IllegalStateException("no extended config space");
        }
        int at = nextExtCap;
        set(at, 4, 1 << 16 | id);
        if (lastExtCap != 0) {
            set(lastExtCap, 4, read(lastExtCap, 4) & 0xfffff | at << 20);
        }
        lastExtCap = at;
        nextExtCap = at + length + 3 & ~3;
        return at;
    }

    /** The offset of a standard capability, or 0. */
    public int findCapability(int id) {
        int at = (read(PciRegs.PCI_STATUS, 2) & PciRegs.PCI_STATUS_CAP_LIST) != 0
                ? read(PciRegs.PCI_CAPABILITY_LIST, 1) & ~3 : 0;
        for (int hops = 0; at >= PciRegs.PCI_STD_HEADER_SIZEOF && hops < 48; hops++) {
            if (read(at, 1) == id) {
                return at;
            }
            at = read(at + PciRegs.PCI_CAP_LIST_NEXT, 1) & ~3;
        }
        return 0;
    }

    /** The offset of an extended capability, or 0. */
    public int findExtendedCapability(int id) {
        if (bytes.length < PciRegs.PCI_CFG_SPACE_EXP_SIZE) {
            return 0;
        }
        int at = PciRegs.PCI_CFG_SPACE_SIZE;
        for (int hops = 0; at >= PciRegs.PCI_CFG_SPACE_SIZE && hops < 960; hops++) {
            int header = read(at, 4);
            if (header == 0) {
                return 0;
            }
            if ((header & 0xffff) == id) {
                return at;
            }
            at = header >>> 20 & ~3;
        }
        return 0;
    }

    /** Records the current bytes as the power-on values {@link #reset()} returns to. */
    public void sealDefaults() {
        defaults = bytes.clone();
    }

    /** Back to the values recorded by {@link #sealDefaults()} (a conventional or function-level reset). */
    public void reset() {
        System.arraycopy(defaults, 0, bytes, 0, bytes.length);
    }

    /** A copy of the bytes (for save/restore and reports). */
    public byte[] snapshot() {
        return bytes.clone();
    }

    /** Puts bytes back as {@link #snapshot()} took them (pci_restore_state of what the kernel saved). */
    public void restore(byte[] saved, int offset, int length) {
        System.arraycopy(saved, offset, bytes, offset, length);
    }

    private void check(int offset, int width) {
        if (width != 1 && width != 2 && width != 4 || offset < 0 || offset + width > bytes.length) {
            throw new IllegalArgumentException("config access of " + width + " bytes at 0x"
                    + Integer.toHexString(offset) + " outside " + bytes.length + " bytes");
        }
    }

    @Override
    public String toString() {
        return "PciConfigSpace" + Arrays.toString(Arrays.copyOf(bytes, 16));
    }
}
