package io.uiommu.testing;

import java.lang.management.ManagementFactory;

/** Measuring what a hot path allocates, for the no-allocation tests of the translation paths. */
public final class Allocations {
    /**
     * Less than one 16-byte object per twenty of 20,000 operations: any allocation on the path shows
     * far above it, while the JIT's own rare allocations stay below.
     */
    public static final long ONE_PER_TWENTY_OF_20K = 16L * 20_000 / 20;

    private Allocations() {
    }

    /**
     * Bytes this thread allocated running {@code r}: the least of three runs, so that a one-off
     * allocation of the JIT switching code (a deoptimisation, an OSR entry) is not counted, while an
     * allocation per operation still shows in every run.
     */
    public static long allocatedBy(Runnable r) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().threadId();
        long least = Long.MAX_VALUE;
        for (int run = 0; run < 3; run++) {
            long before = threads.getThreadAllocatedBytes(id);
            r.run();
            least = Math.min(least, threads.getThreadAllocatedBytes(id) - before);
        }
        return least;
    }
}
