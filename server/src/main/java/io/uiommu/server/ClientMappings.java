package io.uiommu.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The mappings of uiommu files a client process has (mmap of a uiommu fd), by address: each holds
 * what the file handed out (an MmapRegion, through its close action) until the process unmaps all
 * of its pages, as VMAs hold the kernel's vm_ops. The shim reports munmap/mremap/MAP_FIXED before
 * they happen; a process's exit closes whatever is left.
 *
 * <p>Locking: this object's monitor guards the map; close actions run outside it.
 */
final class ClientMappings {
    private static final long PAGE = 4096;

    /** [start, start + pages * PAGE) with the pages still mapped. */
    private static final class Mapping {
        final long start;
        final java.util.BitSet mapped;
        final int pages;
        final Runnable close;

        Mapping(long start, int pages, Runnable close) {
            this.start = start;
            this.pages = pages;
            this.mapped = new java.util.BitSet(pages);
            mapped.set(0, pages);
            this.close = close;
        }

        long end() {
            return start + pages * PAGE;
        }
    }

    private final TreeMap<Long, Mapping> byStart = new TreeMap<>();

    synchronized void add(long va, long length, Runnable close) {
        byStart.put(va, new Mapping(va, (int) ((length + PAGE - 1) / PAGE), close));
    }

    /** [va, va + length) is about to be unmapped: mappings left with no page close. */
    void unmapping(long va, long length) {
        if (length <= 0) {
            return;
        }
        long end = va + length < va ? Long.MAX_VALUE : va + length;
        List<Runnable> closing = new ArrayList<>();
        synchronized (this) {
            Long from = byStart.floorKey(va);
            Map<Long, Mapping> view = byStart.subMap(from == null ? Long.MIN_VALUE : from, true, end, false);
            for (var it = view.values().iterator(); it.hasNext(); ) {
                Mapping m = it.next();
                if (m.end() <= va) {
                    continue;
                }
                int first = (int) Math.max(0, (va - m.start) / PAGE);
                int last = (int) Math.min(m.pages, (end - m.start + PAGE - 1) / PAGE);
                if (first < last) {
                    m.mapped.clear(first, last);
                }
                if (m.mapped.isEmpty()) {
                    it.remove();
                    closing.add(m.close);
                }
            }
        }
        closing.forEach(Runnable::run);
    }

    /** The process is gone: every mapping closes. */
    void closeAll() {
        List<Runnable> closing;
        synchronized (this) {
            closing = new ArrayList<>();
            byStart.values().forEach(m -> closing.add(m.close));
            byStart.clear();
        }
        closing.forEach(Runnable::run);
    }

    synchronized int size() {
        return byStart.size();
    }
}
