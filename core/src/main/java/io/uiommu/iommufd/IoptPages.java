package io.uiommu.iommufd;

import io.uiommu.mem.PageCounter;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.mem.UserMemory;
import io.uiommu.proc.UserProcess;

/**
 * The memory behind one IOAS_MAP (struct iopt_pages): a range of a process's address space, pinned
 * page by page only while something needs the frames (a domain mapping an area of it, or an access).
 * Every page is pinned at most once however many areas, domains and accesses use it, and pinned
 * pages are charged to the mapping process's user or mm as the kernel's accounting modes say.
 * Areas made by IOAS_COPY and VFIO splits share one pages object.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
final class IoptPages {
    static final int PAGE_SIZE = PhysicalMemory.PAGE_SIZE;
    private static final long MAX_PINNABLE_PAGES = Integer.MAX_VALUE - 8;

    enum AccountMode { NONE, USER, MM }

    final UserMemory mm;
    /** Page-aligned start of the mapped user range. */
    final long uptr;
    final long npages;
    final boolean writable;
    final AccountMode accountMode;
    private final long memlockLimitPages;
    private final PageCounter userLockedVm;
    private final boolean capIpcLock;

    private long[] pfns;
    /** Per page: how many area-domain fills and access pins need it pinned. */
    private int[] users;
    private long npinned;
    /** Areas referencing this object. */
    int refs = 1;

    IoptPages(UserProcess source, long userVa, long length, boolean writable, boolean accountMm) {
        if (Long.compareUnsigned(length, -1L - PAGE_SIZE) > 0 || length == 0) {
            throw new IommufdException(Errno.EINVAL, "bad map length");
        }
        if (Unsigned.addOverflows(userVa, length)) {
            throw new IommufdException(Errno.EOVERFLOW, "user range wraps");
        }
        this.mm = source.memory();
        this.uptr = userVa & -PAGE_SIZE;
        this.npages = Long.divideUnsigned(length + (userVa - uptr) + PAGE_SIZE - 1, PAGE_SIZE);
        this.writable = writable;
        this.capIpcLock = source.capable(UserProcess.Capability.CAP_IPC_LOCK);
        this.accountMode = capIpcLock ? AccountMode.NONE : accountMm ? AccountMode.MM : AccountMode.USER;
        long limit = source.memlockLimitBytes();
        this.memlockLimitPages = limit == Long.MAX_VALUE ? Long.MAX_VALUE : limit / PAGE_SIZE;
        this.userLockedVm = source.userLockedVm();
    }

    long npinned() {
        return npinned;
    }

    boolean isPinned(int index) {
        return users != null && users[index] > 0;
    }

    /** Frame of a pinned page. */
    long pfn(int index) {
        return pfns[index];
    }

    /**
     * One more user for pages [first, last]; pages that had none are pinned from the source
     * process. All or nothing: EFAULT when a page cannot be pinned, ENOMEM past the memlock limit.
     */
    void pin(int first, int last) {
        ensureArrays();
        int i = first;
        try {
            while (i <= last) {
                if (users[i] > 0) {
                    users[i]++;
                    i++;
                    continue;
                }
                int runEnd = i;
                while (runEnd < last && users[runEnd + 1] == 0) {
                    runEnd++;
                }
                int n = runEnd - i + 1;
                charge(n);
                try {
                    mm.pin(uptr + (long) i * PAGE_SIZE, n, writable, pfns, i);
                } catch (IommufdException e) {
                    uncharge(n);
                    throw e;
                }
                npinned += n;
                for (int k = i; k <= runEnd; k++) {
                    users[k] = 1;
                }
                i = runEnd + 1;
            }
        } catch (IommufdException e) {
            if (i > first) {
                unpin(first, i - 1);
            }
            throw e;
        }
    }

    /** Drops a user of pages [first, last]; the last user unpins. */
    void unpin(int first, int last) {
        int i = first;
        while (i <= last) {
            if (users[i] > 1) {
                users[i]--;
                i++;
                continue;
            }
            int runEnd = i;
            while (runEnd < last && users[runEnd + 1] == 1) {
                runEnd++;
            }
            int n = runEnd - i + 1;
            for (int k = i; k <= runEnd; k++) {
                users[k] = 0;
            }
            mm.unpin(pfns, i, n);
            for (int k = i; k <= runEnd; k++) {
                pfns[k] = 0;
            }
            npinned -= n;
            uncharge(n);
            i = runEnd + 1;
        }
    }

    private void ensureArrays() {
        if (users == null) {
            if (npages > MAX_PINNABLE_PAGES) {
                throw new IommufdException(Errno.ENOMEM, "mapping too large to pin");
            }
            pfns = new long[(int) npages];
            users = new int[(int) npages];
        }
    }

    private void charge(long n) {
        switch (accountMode) {
            case NONE -> {
            }
            case USER -> {
                if (!userLockedVm.tryAdd(n, memlockLimitPages)) {
                    throw new IommufdException(Errno.ENOMEM, "RLIMIT_MEMLOCK exceeded");
                }
            }
            case MM -> {
                if (!mm.lockedVm().tryAdd(n, capIpcLock ? Long.MAX_VALUE : memlockLimitPages)) {
                    throw new IommufdException(Errno.ENOMEM, "RLIMIT_MEMLOCK exceeded");
                }
            }
        }
        mm.pinnedVm().add(n);
    }

    private void uncharge(long n) {
        switch (accountMode) {
            case NONE -> {
            }
            case USER -> userLockedVm.subtract(n);
            case MM -> mm.lockedVm().subtract(n);
        }
        mm.pinnedVm().subtract(n);
    }

    /**
     * CPU copy between {@code data} and bytes [startByte, startByte+len) of the pages: through the
     * pinned frame where a page is pinned, else through the source process (EFAULT once it is gone).
     */
    void rw(long startByte, byte[] data, int off, int len, boolean write) {
        if (write && !writable) {
            throw new IommufdException(Errno.EPERM, "pages are read-only");
        }
        PhysicalMemory phys = mm.physical();
        while (len > 0) {
            int index = (int) (startByte / PAGE_SIZE);
            int inPage = (int) (startByte % PAGE_SIZE);
            int n = Math.min(len, PAGE_SIZE - inPage);
            if (isPinned(index)) {
                long pa = (pfns[index] << PhysicalMemory.PAGE_SHIFT) + inPage;
                if (write) {
                    phys.write(pa, data, off, n);
                } else {
                    phys.read(pa, data, off, n);
                }
            } else if (write) {
                mm.write(uptr + startByte, data, off, n);
            } else {
                mm.read(uptr + startByte, data, off, n);
            }
            startByte += n;
            off += n;
            len -= n;
        }
    }
}
