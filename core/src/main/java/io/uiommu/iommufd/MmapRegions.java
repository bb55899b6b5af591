package io.uiommu.iommufd;

import io.uiommu.mem.PhysicalMemory;

import java.util.Map;
import java.util.TreeMap;

/**
 * The mmap-able regions of one iommufd context (the kernel's ictx->mt_mmap): byte ranges of the
 * iommufd fd's offset space, each backed by physical pages a driver exposes for an owning object
 * (a vIOMMU's page). Offsets are handed out first-fit from one page up, so 0 never names a region.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public final class MmapRegions {
    private static final long PAGE_SIZE = PhysicalMemory.PAGE_SIZE;

    /** One region: [offset, offset + length) of the fd maps [physAddr, physAddr + length). */
    public record Region(IommufdObject owner, long offset, long physAddr, long length) {
    }

    private final TreeMap<Long, Region> byOffset = new TreeMap<>(Long::compareUnsigned);

    /** _iommufd_alloc_mmap: EINVAL unless the address and the (non-zero) length are page aligned. */
    public long allocate(IommufdObject owner, long physAddr, long length) {
        if ((physAddr & (PAGE_SIZE - 1)) != 0 || length == 0 || (length & (PAGE_SIZE - 1)) != 0) {
            throw new IommufdException(Errno.EINVAL, "mmap region not page aligned");
        }
        long at = PAGE_SIZE;
        for (Region r : byOffset.values()) {
            if (Long.compareUnsigned(at + length - 1, r.offset()) < 0) {
                break;
            }
            at = r.offset() + r.length();
        }
        if (Long.compareUnsigned(at + length - 1, at) < 0) {
            throw new IommufdException(Errno.ENOSPC, "mmap offsets exhausted");
        }
        byOffset.put(at, new Region(owner, at, physAddr, length));
        return at;
    }

    /** _iommufd_destroy_mmap: the region at {@code offset} goes; mappings of it stay until unmapped. */
    public void destroy(IommufdObject owner, long offset) {
        Region r = byOffset.get(offset);
        if (r != null && r.owner() == owner) {
            byOffset.remove(offset);
        }
    }

    /** Drops every region of {@code owner} (what a driver left behind when its object went). */
    public void destroyAll(IommufdObject owner) {
        byOffset.values().removeIf(r -> r.owner() == owner);
    }

    /** The region containing byte {@code offset}, or null (mtree_load). */
    public Region find(long offset) {
        Map.Entry<Long, Region> e = byOffset.floorEntry(offset);
        if (e == null) {
            return null;
        }
        Region r = e.getValue();
        return Long.compareUnsigned(offset - r.offset(), r.length()) < 0 ? r : null;
    }

    public boolean isEmpty() {
        return byOffset.isEmpty();
    }
}
