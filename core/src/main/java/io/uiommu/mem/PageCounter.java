package io.uiommu.mem;

import java.util.concurrent.atomic.AtomicLong;

/** A count of pages charged to a user or an mm (locked_vm, pinned_vm). */
public final class PageCounter {
    private final AtomicLong pages = new AtomicLong();

    public long pages() {
        return pages.get();
    }

    /** Adds {@code n} pages unless the total would pass {@code limitPages}; false leaves it unchanged. */
    public boolean tryAdd(long n, long limitPages) {
        while (true) {
            long cur = pages.get();
            long next = cur + n;
            if (next > limitPages || next < cur) {
                return false;
            }
            if (pages.compareAndSet(cur, next)) {
                return true;
            }
        }
    }

    public void add(long n) {
        pages.addAndGet(n);
    }

    public void subtract(long n) {
        pages.addAndGet(-n);
    }
}
