package io.uiommu.scenario;

import io.uiommu.iommufd.Errno;

/** How replay messages print numbers and results: small numbers in decimal, addresses and masks in hex. */
final class Format {
    private Format() {
    }

    static String number(long v) {
        return v >= 0 && v < 65536 ? Long.toString(v) : "0x" + Long.toHexString(v);
    }

    /** A raw syscall result: "ret 3", or "errno ENOENT" for minus an errno. */
    static String result(long ret) {
        if (ret < 0 && ret >= -4095) {
            return "errno " + errno((int) -ret);
        }
        return "ret " + ret;
    }

    static String errno(int value) {
        Errno e = Errno.of(value);
        return e == null ? Integer.toString(value) : e.name();
    }
}
