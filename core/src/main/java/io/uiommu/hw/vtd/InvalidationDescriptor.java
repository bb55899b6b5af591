package io.uiommu.hw.vtd;

/**
 * Queued-invalidation descriptors (spec 6.5.2), 256 bits in scalable mode (IQA.DW = 1): the type
 * in qword 0 bits 3:0 (with 11:9 reserved for more types), granularity in 5:4, and per type:
 * <pre>
 * 0x1 context-cache   qw0: G, DID 31:16, SID 47:32, FM 49:48
 * 0x2 IOTLB           qw0: G (1 global, 2 domain, 3 page), DW 6, DR 7, DID 31:16; qw1: AM 5:0, IH 6, ADDR 63:12
 * 0x3 device-TLB      qw0: PFSID, QDEP 20:16, SID 47:32; qw1: S 0, ADDR 63:12
 * 0x5 wait            qw0: IF 4, SW 5, FN 6, PD 7, status data 63:32; qw1: status address 63:2
 * 0x6 PASID IOTLB     qw0: G (2 PASID, 3 page), DID 31:16, PASID 51:32; qw1: AM, IH, ADDR
 * 0x7 PASID-cache     qw0: G (0 domain, 1 PASID, 3 global), DID 31:16, PASID 51:32
 * 0x8 PASID dev-TLB   qw0: SID 31:16, PASID 51:32; qw1: G 0, S 11, ADDR 63:12
 * 0x9 page group resp qw0: PP 4, code 15:12, RID 31:16, PASID 51:32; qw1: LPIG 2, PRGI 11:3
 * </pre>
 * The encoders are what the driver writes (as Linux's qi_desc_* helpers do).
 *
 * <p>Locking: constants and pure functions only.
 */
final class InvalidationDescriptor {
    static final int SIZE = 32;

    static final int CONTEXT_CACHE = 0x1;
    static final int IOTLB = 0x2;
    static final int DEVICE_TLB = 0x3;
    static final int INTERRUPT_ENTRY_CACHE = 0x4;
    static final int WAIT = 0x5;
    static final int PASID_IOTLB = 0x6;
    static final int PASID_CACHE = 0x7;
    static final int PASID_DEVICE_TLB = 0x8;
    static final int PAGE_GROUP_RESPONSE = 0x9;

    static final int CC_GLOBAL = 1;
    static final int CC_DOMAIN = 2;
    static final int CC_DEVICE = 3;
    static final int IOTLB_GLOBAL = 1;
    static final int IOTLB_DOMAIN = 2;
    static final int IOTLB_PAGE = 3;
    static final int PIOTLB_PASID = 2;
    static final int PIOTLB_PAGE = 3;
    static final int PC_DOMAIN = 0;
    static final int PC_PASID = 1;
    static final int PC_GLOBAL = 3;

    static final long WAIT_IF = 1L << 4;
    static final long WAIT_SW = 1L << 5;
    static final long WAIT_FN = 1L << 6;

    private InvalidationDescriptor() {
    }

    static int type(long qw0) {
        return (int) (qw0 & 0xF) | (int) ((qw0 >>> 9) & 0x7) << 4;
    }

    static int granularity(long qw0) {
        return (int) ((qw0 >>> 4) & 3);
    }

    static int did(long qw0) {
        return (int) ((qw0 >>> 16) & 0xFFFF);
    }

    static int sid(long qw0) {
        return (int) ((qw0 >>> 32) & 0xFFFF);
    }

    static int pasid(long qw0) {
        return (int) ((qw0 >>> 32) & 0xFFFFF);
    }

    static int addressMask(long qw1) {
        return (int) (qw1 & 0x3F);
    }

    static long address(long qw1) {
        return qw1 & ~0xFFFL;
    }

    static long contextCache(int granularity, int did, int sid, int functionMask) {
        return CONTEXT_CACHE | (long) granularity << 4 | (long) did << 16 | (long) sid << 32 | (long) functionMask << 48;
    }

    static long iotlb(int granularity, int did, boolean drain) {
        return IOTLB | (long) granularity << 4 | (drain ? 3L << 6 : 0) | (long) did << 16;
    }

    static long pageRange(long addr, int addressMask, boolean leafHint) {
        return (addr & ~0xFFFL) | (leafHint ? 1L << 6 : 0) | (addressMask & 0x3F);
    }

    static long pasidIotlb(int granularity, int did, int pasid) {
        return PASID_IOTLB | (long) granularity << 4 | (long) did << 16 | (long) pasid << 32;
    }

    static long pasidCache(int granularity, int did, int pasid) {
        return PASID_CACHE | (long) granularity << 4 | (long) did << 16 | (long) pasid << 32;
    }

    static long deviceTlb(int sid, int queueDepth) {
        return DEVICE_TLB | (long) (queueDepth & 0x1F) << 16 | (long) sid << 32;
    }

    static long wait(int statusData, boolean interrupt) {
        return WAIT | WAIT_SW | WAIT_FN | (interrupt ? WAIT_IF : 0) | (statusData & 0xFFFF_FFFFL) << 32;
    }
}
