package io.uiommu.pt;

/** Hands out zeroed, naturally aligned table pages in physical memory and takes them back. */
public interface TableAllocator {
    /** A zeroed table of {@code bytes} (a power of two, at least 8), aligned to its size. */
    long allocate(long bytes);

    void free(long pa, long bytes);
}
