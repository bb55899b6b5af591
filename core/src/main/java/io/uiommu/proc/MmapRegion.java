package io.uiommu.proc;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * What a file's mmap hands out (the kernel's remap_pfn_range into a VM_PFNMAP | VM_IO vma): the
 * physical frames behind the mapping, one per page, which belong to the file's owner — a vIOMMU's
 * page, for instance — and are neither the process's memory nor pinned user pages. The mapping
 * holds the owner until the last VMA over it goes: {@link #open()} when another VMA starts sharing
 * it (fork, split), {@link #close()} when one goes away; the last close releases the owner.
 *
 * <p>Locking: the VMA count is atomic; the release runs once, in the thread of the last close, and
 * must not be called with the process's address-space lock held (it may take the owner's lock).
 */
public final class MmapRegion {
    private final long[] pfns;
    private final Runnable release;
    private final AtomicInteger vmas = new AtomicInteger(1);

    /** A mapping of {@code pfns} with one VMA; {@code release} runs when the last VMA closes. */
    public MmapRegion(long[] pfns, Runnable release) {
        this.pfns = pfns.clone();
        this.release = release;
    }

    public int pages() {
        return pfns.length;
    }

    /** The frame behind page {@code index} of the mapping. */
    public long pfn(int index) {
        return pfns[index];
    }

    /** vm_ops->open: one more VMA maps this region. */
    public void open() {
        vmas.incrementAndGet();
    }

    /** vm_ops->close: a VMA over this region went away. */
    public void close() {
        int left = vmas.decrementAndGet();
        if (left == 0) {
            release.run();
        } else if (left < 0) {
            throw new IllegalStateException("mmap region closed more often than opened");
        }
    }
}
