package io.uiommu.hw.smmuv3;

/**
 * Command queue entries (IHI 0070, 4): 16 bytes, opcode in dword 0 [7:0]. Field positions as in
 * Linux's arm-smmu-v3.h; the encoders are what the driver writes into the queue.
 */
final class Command {
    private Command() {
    }

    static final int BYTES = 16;

    static final int PREFETCH_CONFIG = 0x01;
    static final int PREFETCH_ADDR = 0x02;
    static final int CFGI_STE = 0x03;
    static final int CFGI_STE_RANGE = 0x04;
    static final int CFGI_CD = 0x05;
    static final int CFGI_CD_ALL = 0x06;
    static final int TLBI_NH_ALL = 0x10;
    static final int TLBI_NH_ASID = 0x11;
    static final int TLBI_NH_VA = 0x12;
    static final int TLBI_NH_VAA = 0x13;
    static final int TLBI_EL3_ALL = 0x18;
    static final int TLBI_EL3_VA = 0x1a;
    static final int TLBI_EL2_ALL = 0x20;
    static final int TLBI_EL2_ASID = 0x21;
    static final int TLBI_EL2_VA = 0x22;
    static final int TLBI_EL2_VAA = 0x23;
    static final int TLBI_S12_VMALL = 0x28;
    static final int TLBI_S2_IPA = 0x2a;
    static final int TLBI_NSNH_ALL = 0x30;
    static final int ATC_INV = 0x40;
    static final int PRI_RESP = 0x41;
    static final int RESUME = 0x44;
    static final int STALL_TERM = 0x45;
    static final int SYNC = 0x46;

    static final long OP_MASK = 0xffL;
    static final long SSV = 1L << 11;
    static final int SSID_SHIFT = 12;
    static final long SSID_MASK = 0xFFFFFL << SSID_SHIFT;
    static final int SID_SHIFT = 32;
    static final long SID_MASK = 0xFFFF_FFFFL << SID_SHIFT;
    static final long LEAF = 1L;
    static final long RANGE_MASK = 0x1fL;

    static final int TLBI_NUM_SHIFT = 12;
    static final int TLBI_SCALE_SHIFT = 20;
    static final int TLBI_VMID_SHIFT = 32;
    static final long TLBI_VMID_MASK = 0xFFFFL << TLBI_VMID_SHIFT;
    static final int TLBI_ASID_SHIFT = 48;
    static final int TLBI_TTL_SHIFT = 8;
    static final int TLBI_TG_SHIFT = 10;
    static final long TLBI_VA_MASK = 0xFFFF_FFFF_FFFF_F000L;
    static final long TLBI_IPA_MASK = 0x000F_FFFF_FFFF_F000L;

    static final long ATC_GLOBAL = 1L << 9;
    static final int SYNC_CS_SHIFT = 12;
    static final int SYNC_CS_NONE = 0;
    static final int SYNC_CS_IRQ = 1;
    static final int SYNC_CS_SEV = 2;
    static final long SYNC_MSIADDR_MASK = 0x000F_FFFF_FFFF_FFFCL;

    static int opcode(long dw0) {
        return (int) (dw0 & OP_MASK);
    }

    static int sid(long dw0) {
        return (int) (dw0 >>> SID_SHIFT);
    }

    static int ssid(long dw0) {
        return (int) ((dw0 & SSID_MASK) >>> SSID_SHIFT);
    }

    static int vmid(long dw0) {
        return (int) (dw0 >>> TLBI_VMID_SHIFT) & 0xffff;
    }

    static int asid(long dw0) {
        return (int) (dw0 >>> TLBI_ASID_SHIFT) & 0xffff;
    }

    static String name(int opcode) {
        return switch (opcode) {
            case PREFETCH_CONFIG -> "PREFETCH_CONFIG";
            case PREFETCH_ADDR -> "PREFETCH_ADDR";
            case CFGI_STE -> "CFGI_STE";
            case CFGI_STE_RANGE -> "CFGI_STE_RANGE";
            case CFGI_CD -> "CFGI_CD";
            case CFGI_CD_ALL -> "CFGI_CD_ALL";
            case TLBI_NH_ALL -> "TLBI_NH_ALL";
            case TLBI_NH_ASID -> "TLBI_NH_ASID";
            case TLBI_NH_VA -> "TLBI_NH_VA";
            case TLBI_NH_VAA -> "TLBI_NH_VAA";
            case TLBI_S12_VMALL -> "TLBI_S12_VMALL";
            case TLBI_S2_IPA -> "TLBI_S2_IPA";
            case TLBI_NSNH_ALL -> "TLBI_NSNH_ALL";
            case ATC_INV -> "ATC_INV";
            case PRI_RESP -> "PRI_RESP";
            case RESUME -> "RESUME";
            case STALL_TERM -> "STALL_TERM";
            case SYNC -> "CMD_SYNC";
            default -> "opcode 0x" + Integer.toHexString(opcode);
        };
    }

    // ---- encoders (dword pairs) ----

    static long[] cfgiSte(int sid) {
        return new long[] {CFGI_STE | (long) sid << SID_SHIFT, LEAF};
    }

    /** CFGI_STE_RANGE of 2^(range+1) StreamIDs; range 31 is CFGI_ALL. */
    static long[] cfgiSteRange(int sid, int range) {
        return new long[] {CFGI_STE_RANGE | (long) sid << SID_SHIFT, range & RANGE_MASK};
    }

    static long[] cfgiCd(int sid, int ssid) {
        return new long[] {CFGI_CD | (long) ssid << SSID_SHIFT | (long) sid << SID_SHIFT, LEAF};
    }

    static long[] cfgiCdAll(int sid) {
        return new long[] {CFGI_CD_ALL | (long) sid << SID_SHIFT, 0};
    }

    static long[] tlbiNhAll(int vmid) {
        return new long[] {TLBI_NH_ALL | (long) vmid << TLBI_VMID_SHIFT, 0};
    }

    static long[] tlbiNhAsid(int vmid, int asid) {
        return new long[] {TLBI_NH_ASID | (long) vmid << TLBI_VMID_SHIFT | (long) asid << TLBI_ASID_SHIFT, 0};
    }

    /** TLBI_NH_VA of one address (TG = 0: no range), or of (num+1) << scale granules when tg != 0. */
    static long[] tlbiNhVa(int vmid, int asid, long va, boolean leaf, int tg, int num, int scale) {
        return new long[] {TLBI_NH_VA | (long) num << TLBI_NUM_SHIFT | (long) scale << TLBI_SCALE_SHIFT
                | (long) vmid << TLBI_VMID_SHIFT | (long) asid << TLBI_ASID_SHIFT,
                (va & TLBI_VA_MASK) | (long) tg << TLBI_TG_SHIFT | (leaf ? LEAF : 0)};
    }

    static long[] tlbiNhVaa(int vmid, long va, boolean leaf) {
        return new long[] {TLBI_NH_VAA | (long) vmid << TLBI_VMID_SHIFT, (va & TLBI_VA_MASK) | (leaf ? LEAF : 0)};
    }

    static long[] tlbiS2Ipa(int vmid, long ipa, boolean leaf, int tg, int num, int scale) {
        return new long[] {TLBI_S2_IPA | (long) num << TLBI_NUM_SHIFT | (long) scale << TLBI_SCALE_SHIFT
                | (long) vmid << TLBI_VMID_SHIFT,
                (ipa & TLBI_IPA_MASK) | (long) tg << TLBI_TG_SHIFT | (leaf ? LEAF : 0)};
    }

    static long[] tlbiS12Vmall(int vmid) {
        return new long[] {TLBI_S12_VMALL | (long) vmid << TLBI_VMID_SHIFT, 0};
    }

    static long[] tlbiNsnhAll() {
        return new long[] {TLBI_NSNH_ALL, 0};
    }

    static long[] atcInv(int sid, int ssid, boolean ssv, long addr, int size) {
        return new long[] {ATC_INV | (ssv ? SSV | (long) ssid << SSID_SHIFT : 0) | (long) sid << SID_SHIFT,
                (addr & TLBI_VA_MASK) | (size & 0x3f)};
    }

    static long[] priResp(int sid, int ssid, boolean ssv, int grpid, int resp) {
        return new long[] {PRI_RESP | (ssv ? SSV | (long) ssid << SSID_SHIFT : 0) | (long) sid << SID_SHIFT,
                (grpid & 0x1ff) | (long) (resp & 3) << 12};
    }

    /** CMD_SYNC; with msiAddr != 0 the SMMU writes msiData there on completion (Linux's MSI polling). */
    static long[] sync(long msiAddr, int msiData) {
        int cs = msiAddr != 0 ? SYNC_CS_IRQ : SYNC_CS_NONE;
        return new long[] {SYNC | (long) cs << SYNC_CS_SHIFT | (long) msiData << 32, msiAddr & SYNC_MSIADDR_MASK};
    }
}
