package io.uiommu.hw.vtd;

/**
 * The scalable-mode page request descriptor (256 bits) the unit writes into the page request
 * queue, and the page group response descriptor software answers with through the invalidation
 * queue (VT-d 3.x; Linux's struct page_req_dsc and QI_PGRP_*).
 *
 * <p>Request qword 0: type [7:0] = 1, PASID present 8, requester id [31:16], PASID [51:32],
 * execute 52, privileged 53. Qword 1: read 0, write 1, last page in group (LPIG) 2, PRG index
 * [11:3], page address [63:12]. Qwords 2 and 3: private data (none is sent).
 *
 * <p>Response qword 0: type [3:0] = 9, PASID present 4, response code [15:12] (0 success,
 * 1 invalid request, 0xF failure), requester id [31:16], PASID [51:32]. Qword 1: LPIG 2, PRG index
 * [11:3]. Everything else is reserved.
 */
final class PageRequestDescriptor {
    static final int SIZE = 32;
    static final int TYPE = 1;
    static final long PASID_PRESENT = 1L << 8;
    static final long EXECUTE = 1L << 52;
    static final long PRIVILEGED = 1L << 53;
    static final long READ = 1L;
    static final long WRITE = 1L << 1;
    static final long LPIG = 1L << 2;
    static final long ADDRESS_MASK = 0xFFFF_FFFF_FFFF_F000L;

    static final int RESPONSE_SUCCESS = 0x0;
    static final int RESPONSE_INVALID = 0x1;
    static final int RESPONSE_FAILURE = 0xF;
    static final long RESPONSE_PASID_PRESENT = 1L << 4;
    static final long RESPONSE_RESERVED0 = 0xFFF0_0000_0000_0FE0L;
    static final long RESPONSE_RESERVED1 = 0xFFFF_FFFF_FFFF_F003L;

    private PageRequestDescriptor() {
    }

    static long qword0(int rid, boolean pasidPresent, int pasid, boolean execute, boolean privileged) {
        return TYPE | (pasidPresent ? PASID_PRESENT : 0) | (long) (rid & 0xFFFF) << 16
                | (long) (pasid & 0xFFFFF) << 32 | (execute ? EXECUTE : 0) | (privileged ? PRIVILEGED : 0);
    }

    static long qword1(boolean read, boolean write, boolean lpig, int prgIndex, long address) {
        return (read ? READ : 0) | (write ? WRITE : 0) | (lpig ? LPIG : 0) | (long) (prgIndex & 0x1FF) << 3
                | address & ADDRESS_MASK;
    }

    static int type(long qw0) {
        return (int) (qw0 & 0xFF);
    }

    static boolean pasidPresent(long qw0) {
        return (qw0 & PASID_PRESENT) != 0;
    }

    static int rid(long qw0) {
        return (int) (qw0 >>> 16) & 0xFFFF;
    }

    static int pasid(long qw0) {
        return (int) (qw0 >>> 32) & 0xFFFFF;
    }

    static boolean execute(long qw0) {
        return (qw0 & EXECUTE) != 0;
    }

    static boolean privileged(long qw0) {
        return (qw0 & PRIVILEGED) != 0;
    }

    static boolean read(long qw1) {
        return (qw1 & READ) != 0;
    }

    static boolean write(long qw1) {
        return (qw1 & WRITE) != 0;
    }

    static boolean lpig(long qw1) {
        return (qw1 & LPIG) != 0;
    }

    static int prgIndex(long qw1) {
        return (int) (qw1 >>> 3) & 0x1FF;
    }

    static long address(long qw1) {
        return qw1 & ADDRESS_MASK;
    }

    /** Page group response qword 0 (QI_PGRP_PASID | QI_PGRP_DID(rid) | QI_PGRP_PASID_P | RESP_CODE | type). */
    static long response0(int rid, boolean pasidPresent, int pasid, int code) {
        return InvalidationDescriptor.PAGE_GROUP_RESPONSE | (pasidPresent ? RESPONSE_PASID_PRESENT : 0)
                | (long) (code & 0xF) << 12 | (long) (rid & 0xFFFF) << 16 | (long) (pasid & 0xFFFFF) << 32;
    }

    /** Page group response qword 1 (QI_PGRP_IDX | QI_PGRP_LPIG). */
    static long response1(int prgIndex, boolean lpig) {
        return (long) (prgIndex & 0x1FF) << 3 | (lpig ? LPIG : 0);
    }

    static int responseCode(long qw0) {
        return (int) (qw0 >>> 12) & 0xF;
    }
}
