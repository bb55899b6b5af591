package io.uiommu.hw.amd;

/**
 * Command-buffer entries (spec 48882 section 2.4): 16 bytes, opcode in qword 0 [63:60], built as
 * Linux builds them (build_completion_wait, build_inv_iommu_pages, ...) and decoded by the model.
 *
 * <p>Locking: none (constants and pure functions).
 */
public final class AmdCommand {
    private AmdCommand() {
    }

    public static final int SIZE = 16;

    public static final int COMPLETION_WAIT = 0x1;
    public static final int INVALIDATE_DEVTAB_ENTRY = 0x2;
    public static final int INVALIDATE_IOMMU_PAGES = 0x3;
    public static final int INVALIDATE_IOTLB_PAGES = 0x4;
    public static final int INVALIDATE_INTERRUPT_TABLE = 0x5;
    public static final int PREFETCH_IOMMU_PAGES = 0x6;
    public static final int COMPLETE_PPR_REQUEST = 0x7;
    public static final int INVALIDATE_IOMMU_ALL = 0x8;

    public static final int OPCODE_SHIFT = 60;

    // COMPLETION_WAIT qword 0
    public static final long CW_STORE = 1L << 0;
    public static final long CW_INTERRUPT = 1L << 1;
    public static final long CW_FLUSH = 1L << 2;
    public static final long CW_ADDRESS = 0x000f_ffff_ffff_fff8L;

    // INVALIDATE_IOMMU_PAGES / INVALIDATE_IOTLB_PAGES qword 1
    public static final long INV_S = 1L << 0;
    public static final long INV_PDE = 1L << 1;
    public static final long INV_GN = 1L << 2;
    public static final long INV_ADDRESS = 0xffff_ffff_ffff_f000L;
    /** The address with S=1 that means every page (Linux CMD_INV_IOMMU_ALL_PAGES_ADDRESS). */
    public static final long ALL_PAGES_ADDRESS = 0x7fff_ffff_ffff_ffffL;

    public static int opcode(long q0) {
        return (int) (q0 >>> OPCODE_SHIFT);
    }

    static long op(int opcode) {
        return (long) opcode << OPCODE_SHIFT;
    }

    /** COMPLETION_WAIT storing {@code data} at {@code storeAddress} (8-byte aligned). */
    public static long[] completionWait(long storeAddress, long data, boolean interrupt) {
        return new long[] {op(COMPLETION_WAIT) | storeAddress & CW_ADDRESS | CW_STORE | (interrupt ? CW_INTERRUPT : 0),
                data};
    }

    public static long[] invalidateDevtabEntry(int devid) {
        return new long[] {op(INVALIDATE_DEVTAB_ENTRY) | devid & 0xffff, 0};
    }

    public static long[] invalidateInterruptTable(int devid) {
        return new long[] {op(INVALIDATE_INTERRUPT_TABLE) | devid & 0xffff, 0};
    }

    public static long[] invalidateIommuAll() {
        return new long[] {op(INVALIDATE_IOMMU_ALL), 0};
    }

    /**
     * INVALIDATE_IOMMU_PAGES of [address, address+size) in {@code domainId}, with PDE set as Linux
     * sets it; {@code gn} selects guest (PASID-tagged) translations of {@code pasid}.
     */
    public static long[] invalidateIommuPages(int domainId, int pasid, boolean gn, long address, long size) {
        long q0 = op(INVALIDATE_IOMMU_PAGES) | (long) (domainId & 0xffff) << 32 | (gn ? pasid & 0xf_ffff : 0);
        return new long[] {q0, invalidationAddress(address, size) | INV_PDE | (gn ? INV_GN : 0)};
    }

    /** INVALIDATE_IOTLB_PAGES (device ATS TLB) for {@code devid}. */
    public static long[] invalidateIotlbPages(int devid, int maxPending, int pasid, boolean gn, long address, long size) {
        long q0 = op(INVALIDATE_IOTLB_PAGES) | devid & 0xffff | (long) (maxPending & 0xff) << 24
                | (long) devid << 32;
        if (gn) {
            q0 |= (long) (pasid >>> 8 & 0xff) << 16 | (long) (pasid & 0xff) << 48;
        }
        return new long[] {q0, invalidationAddress(address, size) | (gn ? INV_GN : 0)};
    }

    /**
     * The address field for a range (Linux build_inv_address): one page as is; more pages as the
     * start with every bit below the highest differing bit set, and S=1; a range whose ends differ
     * above bit 51 becomes "all".
     */
    public static long invalidationAddress(long address, long size) {
        long first = address >>> 12;
        long last = (address + size - 1) >>> 12;
        if (first == last) {
            return address & INV_ADDRESS;
        }
        long end = address + size - 1;
        int msbDiff = 63 - Long.numberOfLeadingZeros(end ^ address);
        long a = msbDiff > 51 ? ALL_PAGES_ADDRESS : address | ((1L << msbDiff) - 1);
        return a & INV_ADDRESS | INV_S;
    }

    /**
     * Size in bytes a qword 1 of an invalidation covers: 4 KiB when S=0; with S=1 twice the value
     * of the lowest clear address bit at or above 12; -1 (everything) when that bit is 51 or above.
     */
    public static long invalidationSize(long q1) {
        if ((q1 & INV_S) == 0) {
            return 4096;
        }
        long bits = (q1 & INV_ADDRESS) | 0xfff;
        int firstZero = Long.numberOfTrailingZeros(~bits);
        return firstZero >= 51 ? -1 : 1L << (firstZero + 1);
    }

    /** Start of the range a qword 1 of an invalidation covers (meaningless when the size is -1). */
    public static long invalidationStart(long q1) {
        long size = invalidationSize(q1);
        return size == -1 ? 0 : q1 & INV_ADDRESS & -size;
    }
}
