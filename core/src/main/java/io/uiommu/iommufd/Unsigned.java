package io.uiommu.iommufd;

/** u64 arithmetic on Java longs: IOVAs and lengths are unsigned in the uAPI. */
final class Unsigned {
    private Unsigned() {
    }

    static final long ULONG_MAX = -1L;

    static boolean lt(long a, long b) {
        return Long.compareUnsigned(a, b) < 0;
    }

    static boolean le(long a, long b) {
        return Long.compareUnsigned(a, b) <= 0;
    }

    static boolean gt(long a, long b) {
        return Long.compareUnsigned(a, b) > 0;
    }

    static boolean ge(long a, long b) {
        return Long.compareUnsigned(a, b) >= 0;
    }

    static long min(long a, long b) {
        return lt(a, b) ? a : b;
    }

    static long max(long a, long b) {
        return gt(a, b) ? a : b;
    }

    /** a + b, or throws EOVERFLOW when it wraps past 2^64. */
    static long addExact(long a, long b) {
        long r = a + b;
        if (Long.compareUnsigned(r, a) < 0) {
            throw new IommufdException(Errno.EOVERFLOW, "u64 overflow");
        }
        return r;
    }

    static boolean addOverflows(long a, long b) {
        return Long.compareUnsigned(a + b, a) < 0;
    }

    /** roundup_pow_of_two for 0 < x < 2^63. */
    static long roundUpPowerOfTwo(long x) {
        return x <= 1 ? 1 : Long.highestOneBit(x - 1) << 1;
    }
}
