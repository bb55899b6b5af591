package io.uiommu.hw.amd;

/**
 * A PPR log entry (16 bytes; Linux PPR_* in amd_iommu_types.h), a PAGE_SERVICE_REQUEST: qword 0
 * DeviceID [15:0], PASID[15:0] at [31:16], tag [41:32] (PRG index [8:0] and last-page at tag bit
 * 9), PASID[19:16] at [45:42], flags [59:48], type [63:60] = 1; qword 1 the page address. Flags:
 * execute 0x002, read 0x004, write 0x020, user 0x040 (clear: supervisor), reserved-not-zero
 * 0x080, GN 0x100 (the PASID is valid).
 *
 * <p>COMPLETE_PPR_REQUEST (opcode 7): qword 0 DeviceID [15:0], PASID [51:32]; qword 1 GN bit 2,
 * tag [40:32], completion status [47:44] (0 success, 1 invalid request, else failure).
 */
final class PprLogEntry {
    static final int SIZE = 16;
    static final int TYPE_FAULT = 1;
    static final int FLAG_EXEC = 0x002;
    static final int FLAG_READ = 0x004;
    static final int FLAG_WRITE = 0x020;
    static final int FLAG_US = 0x040;
    static final int FLAG_RVSD = 0x080;
    static final int FLAG_GN = 0x100;
    static final int TAG_LAST = 0x200;

    private PprLogEntry() {
    }

    static long q0(int devid, int pasid, int tag, int flags) {
        return (devid & 0xffffL) | (long) (pasid & 0xffff) << 16 | (long) (tag & 0x3ff) << 32
                | (long) (pasid >>> 16 & 0xf) << 42 | (long) (flags & 0xfff) << 48 | (long) TYPE_FAULT << 60;
    }

    static int type(long q0) {
        return (int) (q0 >>> 60 & 0xf);
    }

    static int flags(long q0) {
        return (int) (q0 >>> 48 & 0xfff);
    }

    static int devid(long q0) {
        return (int) (q0 & 0xffff);
    }

    static int tag(long q0) {
        return (int) (q0 >>> 32 & 0x3ff);
    }

    static int pasid(long q0) {
        return (int) ((q0 >>> 42 & 0xf) << 16 | (q0 >>> 16 & 0xffff));
    }

    static long[] completePpr(int devid, int pasid, boolean gn, int tag, int status) {
        long q0 = (devid & 0xffffL) | (gn ? (long) (pasid & 0xfffff) << 32 : 0)
                | (long) AmdCommand.COMPLETE_PPR_REQUEST << AmdCommand.OPCODE_SHIFT;
        long q1 = (gn ? AmdCommand.INV_GN : 0) | (long) (tag & 0x1ff) << 32 | (long) (status & 0xf) << 44;
        return new long[] {q0, q1};
    }
}
