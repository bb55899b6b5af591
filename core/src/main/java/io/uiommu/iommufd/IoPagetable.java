package io.uiommu.iommufd;

import io.uiommu.iommu.DirtyBitmap;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.proc.UserProcess;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.uiommu.iommufd.Unsigned.ULONG_MAX;
import static io.uiommu.iommufd.Unsigned.ge;
import static io.uiommu.iommufd.Unsigned.gt;
import static io.uiommu.iommufd.Unsigned.le;
import static io.uiommu.iommufd.Unsigned.lt;

/**
 * The IOVA space of an IOAS (struct io_pagetable), with Linux 6.12's rules: areas that never
 * overlap and are only unmapped whole, reserved ranges that areas may not use (domain apertures,
 * device regions, test reservations), the allowed list that confines reservations and automatic
 * allocation, the IOVA alignment that attached domains and accesses impose, and first-fit
 * automatic IOVA allocation that keeps the user address's alignment (up to a 2 MiB huge page).
 * Every attached domain holds a translation of every area; the pages behind an area are pinned
 * once however many domains use them.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public final class IoPagetable {
    static final long PAGE_SIZE = IoptPages.PAGE_SIZE;
    /** HPAGE_SIZE of x86-64 with transparent huge pages: the largest automatic IOVA alignment. */
    static final long HPAGE_SIZE = 2L << 20;
    /** Unmap retries while accesses are asked to let go of pinned pages (the kernel gives up after 100). */
    private static final int MAX_UNMAP_TRIES = 100;

    /** A reserved IOVA range and who reserved it (a domain, a device, or null for tests). */
    record Reserved(long start, long last, Object owner) {
    }

    /** An in-kernel user of the IOAS that must drop its pins when an area goes away. */
    interface AccessUser {
        long iovaAlignment();

        void notifyUnmap(long iova, long length);
    }

    private static final Comparator<Long> UNSIGNED = Long::compareUnsigned;

    private final TreeMap<Long, IoptArea> areas = new TreeMap<>(UNSIGNED);
    private final TreeMap<Long, long[]> allowed = new TreeMap<>(UNSIGNED);
    private final List<Reserved> reserved = new ArrayList<>();
    private final List<IommuDomain> domains = new ArrayList<>();
    private final List<AccessUser> accesses = new ArrayList<>();
    private long iovaAlignment = 1;
    private boolean disableLargePages;

    public long iovaAlignment() {
        return iovaAlignment;
    }

    public boolean largePagesDisabled() {
        return disableLargePages;
    }

    public List<IommuDomain> domains() {
        return List.copyOf(domains);
    }

    /** Mapped areas as [iova, last] pairs, in IOVA order. */
    public List<long[]> areaRanges() {
        List<long[]> out = new ArrayList<>();
        for (IoptArea a : areas.values()) {
            out.add(new long[] {a.iova, a.last});
        }
        return out;
    }

    public int areaCount() {
        return areas.size();
    }

    /** Pages pinned by this table's areas (each pages object counted once). */
    public long pinnedPages() {
        java.util.IdentityHashMap<IoptPages, Boolean> seen = new java.util.IdentityHashMap<>();
        long n = 0;
        for (IoptArea a : areas.values()) {
            if (seen.put(a.pages, Boolean.TRUE) == null) {
                n += a.pages.npinned();
            }
        }
        return n;
    }

    // ---- lookup helpers ----

    /** The lowest area intersecting [start, last], or null. */
    IoptArea firstArea(long start, long last) {
        Map.Entry<Long, IoptArea> e = areas.floorEntry(start);
        if (e != null && ge(e.getValue().last, start)) {
            return e.getValue();
        }
        e = areas.ceilingEntry(start);
        if (e != null && le(e.getKey(), last)) {
            return e.getValue();
        }
        return null;
    }

    private IoptArea nextArea(IoptArea a, long last) {
        if (a.last == ULONG_MAX) {
            return null;
        }
        Map.Entry<Long, IoptArea> e = areas.ceilingEntry(a.last + 1);
        return e != null && le(e.getKey(), last) ? e.getValue() : null;
    }

    private boolean reservedIntersects(long start, long last) {
        for (Reserved r : reserved) {
            if (le(r.start, last) && ge(r.last, start)) {
                return true;
            }
        }
        return false;
    }

    private boolean allowedIntersects(long start, long last) {
        Map.Entry<Long, long[]> e = allowed.floorEntry(last);
        return e != null && ge(e.getValue()[1], start);
    }

    /**
     * The areas covering [iova, last] back to back (iopt_for_each_contig_area), or null when a gap
     * interrupts them before {@code last}.
     */
    List<IoptArea> contiguousAreas(long iova, long last) {
        List<IoptArea> run = contiguousAreasOrPartial(iova, last);
        return !run.isEmpty() && ge(run.getLast().last, last) ? run : null;
    }

    // ---- IOVA allocation ----

    private static boolean fits(long[] start, long last, long length, long alignment, long pageOffset) {
        if (Unsigned.addOverflows(start[0], alignment - 1)) {
            return false;
        }
        long aligned = ((start[0] + alignment - 1) & -alignment) | pageOffset;
        if (ge(aligned, last) || lt(last - aligned, length - 1)) {
            return false;
        }
        start[0] = aligned;
        return true;
    }

    /** Maximal runs of [lo, hi] covered by allowed ranges; the whole window when none are set. */
    private List<long[]> allowedSpans(long lo, long hi) {
        List<long[]> spans = new ArrayList<>();
        if (allowed.isEmpty()) {
            spans.add(new long[] {lo, hi});
            return spans;
        }
        for (long[] r : allowed.values()) {
            long s = Unsigned.max(r[0], lo);
            long l = Unsigned.min(r[1], hi);
            if (gt(s, l)) {
                continue;
            }
            long[] prev = spans.isEmpty() ? null : spans.getLast();
            if (prev != null && prev[1] != ULONG_MAX && prev[1] + 1 == s) {
                prev[1] = l;
            } else {
                spans.add(new long[] {s, l});
            }
        }
        return spans;
    }

    /** Holes of [lo, hi] that neither a reserved range nor an area covers, in order. */
    private List<long[]> holes(long lo, long hi) {
        List<long[]> used = new ArrayList<>();
        for (Reserved r : reserved) {
            if (le(r.start, hi) && ge(r.last, lo)) {
                used.add(new long[] {r.start, r.last});
            }
        }
        for (IoptArea a = firstArea(lo, hi); a != null; a = nextArea(a, hi)) {
            used.add(new long[] {a.iova, a.last});
        }
        used.sort((x, y) -> Long.compareUnsigned(x[0], y[0]));
        List<long[]> out = new ArrayList<>();
        long cur = lo;
        boolean done = false;
        for (long[] u : used) {
            if (gt(u[0], cur)) {
                out.add(new long[] {cur, Unsigned.min(u[0] - 1, hi)});
            }
            if (ge(u[1], hi)) {
                done = true;
                break;
            }
            if (ge(u[1], cur)) {
                cur = u[1] + 1;
            }
        }
        if (!done && le(cur, hi)) {
            out.add(new long[] {cur, hi});
        }
        return out;
    }

    /** iopt_alloc_iova: first fit in allowed spans, keeping the user address's alignment. */
    private long allocIova(long uptr, long length) {
        long pageOffset = uptr % PAGE_SIZE;
        if (length == 0 || ge(length, Long.MAX_VALUE)) {
            throw new IommufdException(Errno.EOVERFLOW, "length too large to allocate");
        }
        // roundup_pow_of_two may reach 2^63: compare unsigned.
        long alignment = Unsigned.roundUpPowerOfTwo(length);
        if (uptr != 0) {
            alignment = Unsigned.min(alignment, Long.lowestOneBit(uptr));
        }
        if (ge(alignment, HPAGE_SIZE)) {
            alignment = HPAGE_SIZE;
        }
        if (alignment < iovaAlignment) {
            throw new IommufdException(Errno.EINVAL, "user address alignment below the IOVA alignment");
        }
        for (long[] span : allowedSpans(PAGE_SIZE, ULONG_MAX - PAGE_SIZE)) {
            long[] start = {span[0]};
            if (!fits(start, span[1], length, alignment, pageOffset)) {
                continue;
            }
            for (long[] hole : holes(start[0], span[1])) {
                long[] holeStart = {hole[0]};
                if (fits(holeStart, hole[1], length, alignment, pageOffset)) {
                    return holeStart[0];
                }
            }
        }
        throw new IommufdException(Errno.ENOSPC, "no IOVA hole fits");
    }

    /** iopt_check_iova for a fixed IOVA. */
    private void checkIova(long iova, long length) {
        if ((iova & (iovaAlignment - 1)) != 0) {
            throw new IommufdException(Errno.EINVAL, "IOVA not aligned to " + iovaAlignment);
        }
        if (Unsigned.addOverflows(iova, length - 1)) {
            throw new IommufdException(Errno.EOVERFLOW, "IOVA range wraps");
        }
        long last = iova + length - 1;
        if (reservedIntersects(iova, last)) {
            throw new IommufdException(Errno.EINVAL, "IOVA range is reserved");
        }
        if (firstArea(iova, last) != null) {
            throw new IommufdException(Errno.EEXIST, "IOVA range already mapped");
        }
    }

    // ---- map ----

    /** A slice of pages to place at consecutive IOVAs (iopt_pages_list element). */
    public record PagesSlice(IoptPages pages, long startByte, long length) {
    }

    /** IOAS_MAP of a user range; returns the IOVA used. */
    public long mapUser(UserProcess source, long userVa, long length, long iova, boolean fixed, int iommuProt,
            boolean accountMm) {
        IoptPages pages = new IoptPages(source, userVa, length, (iommuProt & IommuDomain.IOMMU_WRITE) != 0, accountMm);
        return mapPages(List.of(new PagesSlice(pages, userVa - pages.uptr, length)), length, iova, fixed,
                iommuProt, true);
    }

    /** IOAS_COPY's second half: places pages taken from another table with {@link #getPages}. */
    public long mapSlices(List<PagesSlice> slices, long length, long dstIova, boolean fixed, int iommuProt) {
        return mapPages(slices, length, dstIova, fixed, iommuProt, false);
    }

    /** iopt_get_pages: ENOENT unless contiguous areas cover the whole range. */
    public List<PagesSlice> getPages(long iova, long length) {
        if (length == 0) {
            throw new IommufdException(Errno.EINVAL, "zero length");
        }
        if (Unsigned.addOverflows(iova, length - 1)) {
            throw new IommufdException(Errno.EOVERFLOW, "range wraps");
        }
        long lastIova = iova + length - 1;
        List<IoptArea> run = contiguousAreas(iova, lastIova);
        if (run == null) {
            throw new IommufdException(Errno.ENOENT, "range is not fully mapped");
        }
        List<PagesSlice> out = new ArrayList<>();
        long cur = iova;
        for (IoptArea a : run) {
            long last = Unsigned.min(lastIova, a.last);
            out.add(new PagesSlice(a.pages, a.startByte(cur), last - cur + 1));
            cur = last + 1;
        }
        return out;
    }

    private long mapPages(List<PagesSlice> slices, long length, long iova, boolean fixed, int iommuProt,
            boolean newPages) {
        if ((length & (iovaAlignment - 1)) != 0 || length == 0) {
            throw new IommufdException(Errno.EINVAL, "length not aligned to " + iovaAlignment);
        }
        long dst;
        if (fixed) {
            checkIova(iova, length);
            dst = iova;
        } else {
            PagesSlice first = slices.getFirst();
            dst = allocIova(first.pages.uptr + first.startByte, length);
        }
        List<IoptArea> created = new ArrayList<>();
        long at = dst;
        for (PagesSlice s : slices) {
            if ((iommuProt & IommuDomain.IOMMU_WRITE) != 0 && !s.pages.writable) {
                throw new IommufdException(Errno.EPERM, "pages are read-only");
            }
            if ((s.startByte % PAGE_SIZE & (iovaAlignment - 1)) != 0) {
                throw new IommufdException(Errno.EINVAL, "page offset not aligned");
            }
            if (Unsigned.addOverflows(at, s.length - 1)) {
                throw new IommufdException(Errno.EOVERFLOW, "IOVA range wraps");
            }
            created.add(new IoptArea(at, at + s.length - 1, s.pages, s.startByte, iommuProt));
            at += s.length;
        }
        int filled = 0;
        try {
            for (IoptArea a : created) {
                fillDomains(a);
                filled++;
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < filled; i++) {
                unfillDomains(created.get(i));
            }
            throw e;
        }
        for (IoptArea a : created) {
            if (!newPages) {
                a.pages.refs++;
            }
            areas.put(a.iova, a);
        }
        return dst;
    }

    // ---- domains ----

    /** Pins the area's pages (once, for all domains) and maps it into every domain. */
    private void fillDomains(IoptArea area) {
        if (domains.isEmpty()) {
            return;
        }
        area.pages.pin(area.firstIndex(), area.lastIndex());
        int done = 0;
        try {
            for (IommuDomain d : domains) {
                mapIntoDomain(area, d);
                done++;
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < done; i++) {
                domains.get(i).unmap(area.iova, area.length());
            }
            area.pages.unpin(area.firstIndex(), area.lastIndex());
            throw e;
        }
    }

    private void unfillDomains(IoptArea area) {
        if (domains.isEmpty()) {
            return;
        }
        for (IommuDomain d : domains) {
            d.unmap(area.iova, area.length());
        }
        area.pages.unpin(area.firstIndex(), area.lastIndex());
    }

    /** Maps the area's pinned frames into one domain, merging physically contiguous pages. */
    private static void mapIntoDomain(IoptArea area, IommuDomain domain) {
        long iova = area.iova;
        long byteOff = area.startByte;
        long remaining = area.length();
        long runIova = iova;
        long runPa = 0;
        long runLen = 0;
        try {
            while (remaining > 0) {
                int index = (int) (byteOff / PAGE_SIZE);
                long inPage = byteOff % PAGE_SIZE;
                long n = Math.min(remaining, PAGE_SIZE - inPage);
                long pa = (area.pages.pfn(index) << 12) + inPage;
                if (runLen > 0 && pa == runPa + runLen) {
                    runLen += n;
                } else {
                    if (runLen > 0) {
                        domain.map(runIova, runPa, runLen, area.iommuProt);
                    }
                    runIova = iova;
                    runPa = pa;
                    runLen = n;
                }
                iova += n;
                byteOff += n;
                remaining -= n;
            }
            domain.map(runIova, runPa, runLen, area.iommuProt);
        } catch (RuntimeException e) {
            if (runIova != area.iova) {
                domain.unmap(area.iova, runIova - area.iova);
            }
            throw e;
        }
    }

    /**
     * iopt_table_add_domain: raises the IOVA alignment to the domain's smallest page (refused if
     * existing areas do not fit, EADDRINUSE), reserves what lies outside its aperture, and maps
     * every area into it.
     */
    public void addDomain(IommuDomain domain) {
        if (domains.contains(domain)) {
            throw new IommufdException(Errno.EEXIST, "domain already in the table");
        }
        long newAlignment = Math.max(Long.lowestOneBit(domain.pgsizeBitmap()), iovaAlignment);
        if (newAlignment > PAGE_SIZE) {
            throw new IommufdException(Errno.EINVAL, "domain page size above PAGE_SIZE");
        }
        if (newAlignment != iovaAlignment) {
            checkAlignment(newAlignment);
        }
        try {
            if (domain.apertureStart() != 0) {
                reserve(0, domain.apertureStart() - 1, domain);
            }
            if (domain.apertureEnd() != ULONG_MAX) {
                reserve(domain.apertureEnd() + 1, ULONG_MAX, domain);
            }
            int done = 0;
            try {
                for (IoptArea a : areas.values()) {
                    if (domains.isEmpty()) {
                        a.pages.pin(a.firstIndex(), a.lastIndex());
                    }
                    try {
                        mapIntoDomain(a, domain);
                    } catch (RuntimeException e) {
                        if (domains.isEmpty()) {
                            a.pages.unpin(a.firstIndex(), a.lastIndex());
                        }
                        throw e;
                    }
                    done++;
                }
            } catch (RuntimeException e) {
                int i = 0;
                for (IoptArea a : areas.values()) {
                    if (i++ == done) {
                        break;
                    }
                    domain.unmap(a.iova, a.length());
                    if (domains.isEmpty()) {
                        a.pages.unpin(a.firstIndex(), a.lastIndex());
                    }
                }
                throw e;
            }
        } catch (RuntimeException e) {
            removeReserved(domain);
            throw e;
        }
        iovaAlignment = newAlignment;
        domains.add(domain);
    }

    /** iopt_table_remove_domain: unmaps everything from it and recomputes the alignment. */
    public void removeDomain(IommuDomain domain) {
        if (!domains.remove(domain)) {
            return;
        }
        for (IoptArea a : areas.values()) {
            domain.unmap(a.iova, a.length());
            if (domains.isEmpty()) {
                a.pages.unpin(a.firstIndex(), a.lastIndex());
            }
        }
        removeReserved(domain);
        calculateAlignment();
    }

    private void checkAlignment(long newAlignment) {
        long mask = newAlignment - 1;
        for (IoptArea a : areas.values()) {
            if ((a.iova & mask) != 0 || (a.length() & mask) != 0 || (a.pageOffset() & mask) != 0) {
                throw new IommufdException(Errno.EADDRINUSE, "existing area does not fit the new alignment");
            }
        }
    }

    private void calculateAlignment() {
        long a = disableLargePages ? PAGE_SIZE : 1;
        for (IommuDomain d : domains) {
            a = Math.max(a, Long.lowestOneBit(d.pgsizeBitmap()));
        }
        for (AccessUser u : accesses) {
            a = Math.max(a, u.iovaAlignment());
        }
        if (a > iovaAlignment) {
            checkAlignment(a);
        }
        iovaAlignment = a;
    }

    // ---- reserved and allowed ranges ----

    /** iopt_reserve_iova: EADDRINUSE over an area or an allowed range. */
    public void reserve(long start, long last, Object owner) {
        if (firstArea(start, last) != null || allowedIntersects(start, last)) {
            throw new IommufdException(Errno.EADDRINUSE, "range in use");
        }
        reserved.add(new Reserved(start, last, owner));
    }

    public void removeReserved(Object owner) {
        reserved.removeIf(r -> r.owner == owner);
    }

    /** IOAS_IOVA_RANGES: the holes of the reserved ranges over the whole 64-bit space. */
    public List<long[]> usableRanges() {
        List<long[]> out = new ArrayList<>();
        List<long[]> used = new ArrayList<>();
        for (Reserved r : reserved) {
            used.add(new long[] {r.start, r.last});
        }
        used.sort((x, y) -> Long.compareUnsigned(x[0], y[0]));
        long cur = 0;
        for (long[] u : used) {
            if (gt(u[0], cur)) {
                out.add(new long[] {cur, u[0] - 1});
            }
            if (u[1] == ULONG_MAX) {
                return out;
            }
            if (ge(u[1], cur)) {
                cur = u[1] + 1;
            }
        }
        out.add(new long[] {cur, ULONG_MAX});
        return out;
    }

    /**
     * IOAS_ALLOW_IOVAS: replaces the allowed list atomically. Ranges need start < last and must not
     * overlap each other (EINVAL) nor any reserved range (EADDRINUSE).
     */
    public void setAllowed(List<long[]> ranges) {
        TreeMap<Long, long[]> next = new TreeMap<>(UNSIGNED);
        for (long[] r : ranges) {
            if (ge(r[0], r[1])) {
                throw new IommufdException(Errno.EINVAL, "allowed range start >= last");
            }
            Map.Entry<Long, long[]> e = next.floorEntry(r[1]);
            if (e != null && ge(e.getValue()[1], r[0])) {
                throw new IommufdException(Errno.EINVAL, "allowed ranges overlap");
            }
            next.put(r[0], r.clone());
        }
        for (long[] r : next.values()) {
            if (reservedIntersects(r[0], r[1])) {
                throw new IommufdException(Errno.EADDRINUSE, "allowed range is reserved");
            }
        }
        allowed.clear();
        allowed.putAll(next);
    }

    // ---- unmap ----

    /** IOAS_UNMAP of [iova, iova+length): returns the bytes unmapped (0 when nothing was there). */
    public long unmap(long iova, long length) {
        if (length == 0) {
            throw new IommufdException(Errno.EINVAL, "zero length");
        }
        if (Unsigned.addOverflows(iova, length - 1)) {
            throw new IommufdException(Errno.EOVERFLOW, "range wraps");
        }
        return unmapRange(iova, iova + length - 1);
    }

    public long unmapAll() {
        return unmapRange(0, ULONG_MAX);
    }

    /**
     * iopt_unmap_iova_range: removes every area inside [start, last]. An area that sticks out stops
     * the walk with ENOENT, after the areas before it are already gone, as in the kernel; areas
     * with access pins are first handed to their accesses to unpin.
     */
    private long unmapRange(long start, long last) {
        long unmapped = 0;
        int tries = 0;
        IoptArea area;
        while ((area = firstArea(start, last)) != null) {
            // a lock (a HW queue's memory) wins over the range check, as in the kernel
            if (area.numLocks > 0) {
                throw new IommufdException(Errno.EBUSY, "area is locked");
            }
            if (lt(area.iova, start) || gt(area.last, last)) {
                throw new IommufdException(Errno.ENOENT, "area sticks out of the range");
            }
            if (area.iova != start) {
                tries = 0;
            }
            if (area.numAccesses > 0) {
                start = area.iova;
                if (++tries > MAX_UNMAP_TRIES) {
                    throw new IommufdException(Errno.EDEADLK, "accesses do not unpin");
                }
                for (AccessUser u : List.copyOf(accesses)) {
                    u.notifyUnmap(area.iova, area.length());
                }
                continue;
            }
            areas.remove(area.iova);
            unfillDomains(area);
            area.pages.refs--;
            unmapped += area.length();
            if (ge(area.last, last)) {
                break;
            }
            start = area.last + 1;
        }
        return unmapped;
    }

    /**
     * iopt_cut_iova (VFIO type1 compatibility): splits areas so that each IOVA given ends an area.
     * Refused (EINVAL) when large pages may back the area or an access holds pins in it.
     */
    public void cut(long[] iovas) {
        for (long at : iovas) {
            IoptArea area = firstArea(at, at);
            if (area == null || at == area.iova || at == area.last) {
                continue;
            }
            long newStart = at + 1;
            if ((newStart & (iovaAlignment - 1)) != 0 || (area.startByte(newStart) & (iovaAlignment - 1)) != 0) {
                throw new IommufdException(Errno.EINVAL, "split point not aligned");
            }
            if (area.numAccesses > 0 || !domains.isEmpty() && !disableLargePages) {
                throw new IommufdException(Errno.EINVAL, "area cannot be split");
            }
            IoptArea lhs = new IoptArea(area.iova, at, area.pages, area.startByte, area.iommuProt);
            IoptArea rhs = new IoptArea(newStart, area.last, area.pages, area.startByte(newStart), area.iommuProt);
            areas.remove(area.iova);
            areas.put(lhs.iova, lhs);
            areas.put(rhs.iova, rhs);
            area.pages.refs++;
            if (!domains.isEmpty() && lhs.lastIndex() == rhs.firstIndex()) {
                // Each half holds its own domain pin; a page both halves share needs a second one.
                area.pages.pin(rhs.firstIndex(), rhs.firstIndex());
            }
        }
    }

    // ---- large pages ----

    public void enableLargePages() {
        disableLargePages = false;
        calculateAlignment();
    }

    /** IOMMU_OPTION_HUGE_PAGES=0: refused once domains hold mappings (EINVAL) or areas misfit (EADDRINUSE). */
    public void disableLargePages() {
        if (disableLargePages) {
            return;
        }
        if (!domains.isEmpty() && !areas.isEmpty()) {
            throw new IommufdException(Errno.EINVAL, "domains already hold mappings");
        }
        disableLargePages = true;
        try {
            calculateAlignment();
        } catch (IommufdException e) {
            disableLargePages = false;
            throw e;
        }
    }

    // ---- accesses ----

    public void addAccess(AccessUser access) {
        accesses.add(access);
        try {
            calculateAlignment();
        } catch (IommufdException e) {
            accesses.remove(access);
            throw e;
        }
    }

    public void removeAccess(AccessUser access) {
        accesses.remove(access);
        calculateAlignment();
    }

    /**
     * iommufd_access_pin_pages: pins [iova, iova+length) through page-aligned contiguous areas and
     * returns the frames, one per page. ENOENT over a hole, EINVAL when not page aligned, EPERM
     * when asked to write a read-only area.
     */
    public long[] accessPin(long iova, long length, boolean write) {
        return accessPin(iova, length, write, false);
    }

    /**
     * {@link #accessPin} for an internal access (a HW queue): with {@code lockArea} the areas are
     * also locked, so that IOAS_UNMAP of them is EBUSY until {@link #accessUnpin(long, long, boolean)}.
     */
    public long[] accessPin(long iova, long length, boolean write, boolean lockArea) {
        if (length == 0) {
            throw new IommufdException(Errno.EINVAL, "zero length");
        }
        if (Unsigned.addOverflows(iova, length - 1)) {
            throw new IommufdException(Errno.EOVERFLOW, "range wraps");
        }
        long lastIova = iova + length - 1;
        List<IoptArea> run = contiguousAreasOrPartial(iova, lastIova);
        List<long[]> done = new ArrayList<>();
        long[] frames = new long[(int) ((lastIova / PAGE_SIZE) - (iova / PAGE_SIZE) + 1)];
        int out = 0;
        long cur = iova;
        try {
            for (IoptArea a : run) {
                long last = Unsigned.min(lastIova, a.last);
                if (!pageAligned(a, cur, last, iova, lastIova)) {
                    throw new IommufdException(Errno.EINVAL, "access range not page aligned");
                }
                if (write && (a.iommuProt & IommuDomain.IOMMU_WRITE) == 0
                        || !write && (a.iommuProt & IommuDomain.IOMMU_READ) == 0) {
                    throw new IommufdException(Errno.EPERM, "area protection");
                }
                if (write && !a.pages.writable) {
                    throw new IommufdException(Errno.EPERM, "pages are read-only");
                }
                int first = a.indexOf(cur);
                int lastIndex = a.indexOf(last);
                a.pages.pin(first, lastIndex);
                a.numAccesses++;
                if (lockArea) {
                    a.numLocks++;
                }
                done.add(new long[] {cur, last});
                for (int i = first; i <= lastIndex && out < frames.length; i++) {
                    frames[out++] = a.pages.pfn(i);
                }
                cur = last + 1;
            }
            if (run.isEmpty() || ge(run.getLast().last, lastIova) == false) {
                throw new IommufdException(Errno.ENOENT, "range is not fully mapped");
            }
        } catch (IommufdException e) {
            for (long[] d : done) {
                accessUnpin(d[0], d[1] - d[0] + 1, lockArea);
            }
            throw e;
        }
        return frames;
    }

    private static boolean pageAligned(IoptArea a, long cur, long last, long first, long lastIova) {
        // iopt_area_contig_is_aligned: interior boundaries must fall on page boundaries of the pages.
        if (cur != first && (a.startByte(cur) % PAGE_SIZE) != 0) {
            return false;
        }
        if (last != lastIova && ((a.startByte(last) + 1) % PAGE_SIZE) != 0) {
            return false;
        }
        return true;
    }

    /** The contiguous prefix of areas starting at iova (possibly short of last). */
    private List<IoptArea> contiguousAreasOrPartial(long iova, long last) {
        List<IoptArea> out = new ArrayList<>();
        long cur = iova;
        IoptArea a = firstArea(iova, last);
        while (a != null) {
            if (a.iova != cur && !(out.isEmpty() && lt(a.iova, cur))) {
                break;
            }
            out.add(a);
            if (ge(a.last, last)) {
                break;
            }
            cur = a.last + 1;
            a = nextArea(a, last);
        }
        return out;
    }

    /** iommufd_access_unpin_pages: drops pins taken by {@link #accessPin} over the same range. */
    public void accessUnpin(long iova, long length) {
        accessUnpin(iova, length, false);
    }

    /** Drops pins (and with {@code unlockArea} the area locks) taken by {@link #accessPin(long, long, boolean, boolean)}. */
    public void accessUnpin(long iova, long length, boolean unlockArea) {
        long lastIova = iova + length - 1;
        long cur = iova;
        for (IoptArea a : contiguousAreasOrPartial(iova, lastIova)) {
            long last = Unsigned.min(lastIova, a.last);
            a.pages.unpin(a.indexOf(cur), a.indexOf(last));
            a.numAccesses--;
            if (unlockArea) {
                a.numLocks--;
            }
            cur = last + 1;
        }
    }

    /** iommufd_access_rw: CPU copy through IOVA; ENOENT over a hole, EPERM against protection. */
    public void accessRw(long iova, byte[] data, int off, int length, boolean write) {
        if (length == 0) {
            throw new IommufdException(Errno.EINVAL, "zero length");
        }
        if (Unsigned.addOverflows(iova, length - 1)) {
            throw new IommufdException(Errno.EOVERFLOW, "range wraps");
        }
        long lastIova = iova + length - 1;
        long cur = iova;
        for (IoptArea a : contiguousAreasOrPartial(iova, lastIova)) {
            long last = Unsigned.min(lastIova, a.last);
            if (write && (a.iommuProt & IommuDomain.IOMMU_WRITE) == 0
                    || !write && (a.iommuProt & IommuDomain.IOMMU_READ) == 0) {
                throw new IommufdException(Errno.EPERM, "area protection");
            }
            int n = (int) (last - cur + 1);
            a.pages.rw(a.startByte(cur), data, off, n, write);
            off += n;
            cur = last + 1;
            if (last == lastIova) {
                return;
            }
        }
        throw new IommufdException(Errno.ENOENT, "range is not fully mapped");
    }

    // ---- dirty tracking ----

    /** iopt_set_dirty_tracking: enabling first clears every dirty bit for a clean snapshot. */
    public void setDirtyTracking(IommuDomain domain, boolean enable) {
        if (!domain.hasDirtyOps()) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain has no dirty tracking");
        }
        if (enable) {
            for (IoptArea a : areas.values()) {
                domain.readAndClearDirty(a.iova, a.length(), false, null);
            }
        }
        domain.setDirtyTracking(enable);
    }

    /**
     * iommufd_check_iova_range of IOMMU_HWPT_GET_DIRTY_BITMAP: a non-empty range that does not wrap
     * (EINVAL, EOVERFLOW), aligned to the IOVA alignment and, as the kernel masks it, to the bitmap's
     * page size (EINVAL); and a domain with dirty tracking (EOPNOTSUPP).
     */
    public void checkDirtyRange(IommuDomain domain, long iova, long length, long pageSize) {
        if (length == 0) {
            throw new IommufdException(Errno.EINVAL, "zero length");
        }
        if (Unsigned.addOverflows(iova, length - 1)) {
            throw new IommufdException(Errno.EOVERFLOW, "range wraps");
        }
        long lastIova = iova + length - 1;
        long pg = iovaAlignment;
        if ((iova & (pg - 1)) != 0 || ((lastIova + 1) & (pg - 1)) != 0) {
            throw new IommufdException(Errno.EINVAL, "range not aligned to the IOVA alignment");
        }
        if (pageSize == 0) {
            throw new IommufdException(Errno.EINVAL, "zero page size");
        }
        if ((iova & (pageSize - 1)) != 0 || ((lastIova + 1) & (pageSize - 1)) != 0) {
            throw new IommufdException(Errno.EINVAL, "range not aligned to the bitmap page size");
        }
        if (!domain.hasDirtyOps()) {
            throw new IommufdException(Errno.EOPNOTSUPP, "domain has no dirty tracking");
        }
    }

    /**
     * iopt_read_and_clear_dirty_data: checks the range ({@link #checkDirtyRange}), then reports dirty
     * IOVAs of the contiguous areas. As in 6.12, failures inside the walk (tracking off, a hole in the
     * range) are not reported: the bitmap simply stays clear.
     */
    public void readAndClearDirty(IommuDomain domain, long iova, long length, long pageSize, boolean noClear,
            DirtyBitmap bitmap) {
        checkDirtyRange(domain, iova, length, pageSize);
        long lastIova = iova + length - 1;
        try {
            long cur = iova;
            for (IoptArea a : contiguousAreasOrPartial(iova, lastIova)) {
                long last = Unsigned.min(lastIova, a.last);
                domain.readAndClearDirty(cur, last - cur + 1, noClear, bitmap);
                cur = last + 1;
            }
        } catch (IommufdException swallowedAs612Does) {
            // 6.12 ignores the walk's result (iommu_read_and_clear_dirty returns 0).
        }
    }

    /** Tears the table down: every area unmapped and unpinned. */
    void destroy() {
        unmapAll();
        reserved.removeIf(r -> r.owner == null);
        allowed.clear();
    }
}
