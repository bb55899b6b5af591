package io.uiommu.scenario;

import io.uiommu.proc.SimulatedProcess;

/**
 * Memory a replayed process owns for ioctl arguments: the structs and the arrays they point to are
 * written here before each call, as a C program keeps them on its stack. Mapped on first use and
 * grown as needed; forgotten when a scenario step maps or unmaps over it.
 */
final class ScratchArea {
    private static final long GRANULE = 64 << 10;

    private long base;
    private long length;

    /** The address of at least {@code bytes} of scratch in {@code p}. */
    long ensure(SimulatedProcess p, long bytes) {
        if (length >= bytes && length > 0) {
            return base;
        }
        if (length > 0) {
            p.munmap(base, length);
        }
        long want = Math.max(GRANULE, (bytes + GRANULE - 1) / GRANULE * GRANULE);
        base = p.mmap(want, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        length = want;
        return base;
    }

    /** The scenario replaced or removed memory at [va, va+len): if that was scratch, map a new one next time. */
    void clobbered(long va, long len) {
        if (length > 0 && va < base + length && base < va + len) {
            length = 0;
        }
    }

    /** The child's copy after fork: the same addresses, since fork copies the mapping. */
    ScratchArea copy() {
        ScratchArea s = new ScratchArea();
        s.base = base;
        s.length = length;
        return s;
    }
}
