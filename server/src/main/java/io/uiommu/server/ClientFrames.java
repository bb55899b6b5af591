package io.uiommu.server;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Every client page the daemon has pinned, across processes: pin and unpin (the page's identity
 * frame lives while it is pinned), and the take-over when a process unmaps pinned pages or exits
 * (the bytes move into uiommu, or to another client process that maps the same shared page).
 *
 * <p>Locking: this object's monitor guards every memory's frame maps and the set of live memories;
 * it is taken inside a context's lock and takes PhysicalMemory's inside it.
 */
final class ClientFrames {
    private static final Logger LOG = Logger.getLogger(ClientFrames.class.getName());
    private static final int PAGE = PhysicalMemory.PAGE_SIZE;
    /** The huge page size of hugetlb mappings (the x86-64 and arm64 default, 2 MiB). */
    private static final long HUGE = 2L << 20;

    private final PhysicalMemory physical;
    private final Set<ClientMemory> live = new LinkedHashSet<>();
    /** What frameAt answers for a mapped page nothing has pinned: a frame that is never pinned. */
    private final long unpinnedPage;

    ClientFrames(PhysicalMemory physical) {
        this.physical = physical;
        this.unpinnedPage = physical.allocateFrame();
    }

    PhysicalMemory physical() {
        return physical;
    }

    synchronized void register(ClientMemory m) {
        live.add(m);
    }

    /** Pinned pages of every process (for reports and tests). */
    synchronized long pinnedFrames() {
        long n = 0;
        for (ClientMemory m : live) {
            n += m.identity.size() + m.guests.size();
        }
        return n;
    }

    /** pin_user_pages of [va, va + count pages) of m: all or nothing, EFAULT where the kernel's would fail. */
    void pin(ClientMemory m, long va, int count, boolean writable, long[] pfns, int off) {
        if (!m.alive()) {
            throw new IommufdException(Errno.EFAULT, m + " has exited");
        }
        ProcMaps.Vma[] vmaOf = new ProcMaps.Vma[count];
        // Mappings as last read, when nothing changed since; then once more from the kernel.
        if (!checkPinnable(m.maps(false), va, count, writable, vmaOf)
                || RemoteIo.current().readablePages(m.pid, va, count) != count) {
            ProcMaps maps = m.maps(true);
            if (maps == null) {
                throw new IommufdException(Errno.EFAULT, m + " is gone");
            }
            if (!checkPinnable(maps, va, count, writable, vmaOf)
                    || RemoteIo.current().readablePages(m.pid, va, count) != count) {
                throw new IommufdException(Errno.EFAULT, "cannot pin 0x" + Long.toHexString(va) + " + "
                        + count + " pages of " + m);
            }
        }
        synchronized (this) {
            for (int k = 0; k < count; k++) {
                long page = va + (long) k * PAGE;
                ClientFrame f = m.identity.get(page);
                if (f == null) {
                    f = vmaOf[k].huge() ? newHugePage(m, page, vmaOf[k]) : newFrame(m, page, vmaOf[k]);
                }
                pfns[off + k] = f.pfn;
            }
            physical.pin(pfns, off, count);
        }
    }

    /** Whether every page is in a mapping pin_user_pages accepts (with write permission if asked). */
    private static boolean checkPinnable(ProcMaps maps, long va, int count, boolean writable, ProcMaps.Vma[] vmaOf) {
        if (maps == null) {
            return false;
        }
        ProcMaps.Vma v = null;
        for (int k = 0; k < count; k++) {
            long page = va + (long) k * PAGE;
            if (v == null || !v.contains(page)) {
                v = maps.find(page);
                if (v == null || !v.pinnable() || !v.read() && !v.write() || writable && !v.write()) {
                    return false;
                }
            }
            vmaOf[k] = v;
        }
        return true;
    }

    private ClientFrame newFrame(ClientMemory m, long page, ProcMaps.Vma vma) {
        ClientFrame f = new ClientFrame(m, page, vma);
        f.pfn = physical.allocateExternalFrame(f);
        m.identity.put(page, f);
        return f;
    }

    /**
     * Frames for the whole huge page around {@code page}, physically contiguous as the kernel's huge
     * page is (the IOMMU maps it with huge entries); they stay until the huge page is unmapped.
     */
    private ClientFrame newHugePage(ClientMemory m, long page, ProcMaps.Vma vma) {
        long start = page & -HUGE;
        if (start < vma.start() || start + HUGE > vma.end()) {
            return newFrame(m, page, vma);
        }
        for (long p = start; p < start + HUGE; p += PAGE) {
            if (m.identity.containsKey(p)) {
                return newFrame(m, page, vma); // a partly framed huge page: no contiguity to keep
            }
        }
        ClientFrame[] frames = new ClientFrame[(int) (HUGE / PAGE)];
        for (int i = 0; i < frames.length; i++) {
            frames[i] = new ClientFrame(m, start + (long) i * PAGE, vma);
            frames[i].huge = true;
        }
        long first = physical.allocateExternalFrames(frames);
        for (int i = 0; i < frames.length; i++) {
            frames[i].pfn = first + i;
            m.identity.put(frames[i].at.va(), frames[i]);
        }
        return frames[(int) ((page - start) / PAGE)];
    }

    /** Unpins; a client page nothing pins any more loses its frame (a later pin makes a new one). */
    synchronized void unpin(long[] pfns, int off, int count) {
        physical.unpin(pfns, off, count);
        for (int k = 0; k < count; k++) {
            long pfn = pfns[off + k];
            if (physical.pinCount(pfn) == 0 && physical.external(pfn) instanceof ClientFrame f && f.pfn == pfn
                    && !f.huge) {
                unplace(f);
                physical.put(pfn);
            }
        }
    }

    /** The frame backing va in m now: its pinned frame, a never-pinned frame if mapped, else -1. */
    long frameAt(ClientMemory m, long va) {
        if (!m.alive()) {
            return -1;
        }
        long page = va & -PAGE;
        synchronized (this) {
            ClientFrame f = m.identity.get(page);
            if (f != null) {
                return f.pfn;
            }
        }
        return RemoteIo.current().readablePages(m.pid, page, 1) == 1 ? unpinnedPage : -1;
    }

    /** m is about to unmap [va, va + length): pinned pages there are taken over. */
    synchronized void unmapping(ClientMemory m, long va, long length) {
        long end = va + length;
        if (end < 0 || end < va) {
            end = Long.MAX_VALUE;
        }
        if (va < 0 || length <= 0) {
            return;
        }
        List<ClientFrame> moving = new ArrayList<>(m.identity.subMap(va & -PAGE, true, end, false).values());
        for (ClientFrame f : m.guests) {
            long at = f.at.va();
            if (at >= (va & -PAGE) && at < end) {
                moving.add(f);
            }
        }
        relocate(m, moving);
    }

    /** m exits (or its connection is gone): every pinned page is taken over and m can pin no more. */
    synchronized void gone(ClientMemory m) {
        m.markGone();
        live.remove(m);
        List<ClientFrame> moving = new ArrayList<>(m.identity.values());
        moving.addAll(m.guests);
        relocate(m, moving);
    }

    private void relocate(ClientMemory from, List<ClientFrame> moving) {
        Map<ClientMemory, ProcMaps> mapsOf = new HashMap<>();
        byte[] page = null;
        int lost = 0;
        for (ClientFrame f : moving) {
            unplace(f);
            if (physical.pinCount(f.pfn) == 0) {
                physical.put(f.pfn);
                continue;
            }
            if (f.shared && moveToSharer(from, f, mapsOf)) {
                continue;
            }
            if (page == null) {
                page = new byte[PAGE];
            }
            if (!RemoteIo.current().read(from.pid, f.at.va(), page, 0, PAGE)) {
                lost++;
                java.util.Arrays.fill(page, (byte) 0);
            }
            physical.internalize(f.pfn, page);
            physical.put(f.pfn);
        }
        if (lost > 0) {
            LOG.warning("uiommu: " + lost + " pinned pages of " + from
                    + " were gone before uiommu could take them over (killed, or unmapped unseen); devices see zeros there");
        }
    }

    /** Another live client of the same user that maps the page's shared object takes the frame. */
    private boolean moveToSharer(ClientMemory from, ClientFrame f, Map<ClientMemory, ProcMaps> mapsOf) {
        for (ClientMemory other : live) {
            if (other == from || other.uid != from.uid || !other.alive()) {
                continue;
            }
            ProcMaps maps = mapsOf.computeIfAbsent(other, o -> ProcMaps.of(o.pid));
            ProcMaps.Vma v = maps == null ? null : maps.findShared(f.dev, f.inode, f.offset);
            if (v == null) {
                continue;
            }
            long va = v.start() + (f.offset - v.offset());
            f.at = new ClientFrame.Location(other, va);
            if (other.identity.containsKey(va)) {
                f.guest = true;
                other.guests.add(f);
            } else {
                f.guest = false;
                other.identity.put(va, f);
            }
            return true;
        }
        return false;
    }

    private static void unplace(ClientFrame f) {
        ClientMemory m = f.at.memory();
        if (f.guest) {
            m.guests.remove(f);
        } else {
            m.identity.remove(f.at.va(), f);
        }
    }
}
