package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.TableAllocator;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;

/**
 * A guest's RAM for nesting tests: guest-physical [0, size) backed by host-physical
 * [HOST_BASE, HOST_BASE + size), mapped 4 KiB page by page into a nesting parent on demand, and a
 * guest-owned x86-64 first-stage table built in it as a guest kernel would.
 */
final class GuestRam implements TableMemory, TableAllocator {
    static final long HOST_BASE = 0x40_0000_0000L;
    private final PhysicalMemory memory;
    private final VtdPagingDomain parent;
    private long nextTable = 0x10_0000L;
    final PageTableFormat format = VtdFixture.X86_4;
    final long root;

    GuestRam(PhysicalMemory memory, VtdPagingDomain parent) {
        this.memory = memory;
        this.parent = parent;
        this.root = format.allocateRoot(this, this);
    }

    /** Makes the guest page at {@code gpa} reachable through the parent (a 4 KiB second-stage leaf). */
    void back(long gpa) {
        long page = gpa & ~0xFFFL;
        if (parent.iovaToPhys(page) == -1) {
            parent.map(page, HOST_BASE + page, 4096, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
        }
    }

    long host(long gpa) {
        return HOST_BASE + gpa;
    }

    /** The guest maps a 4 KiB page of IOVA to a guest-physical page. */
    void guestMap(long iova, long gpa, int perm) {
        format.map(root, iova, gpa, 4096, perm, this, this);
    }

    /** Guest-physical address of the guest's leaf descriptor of {@code iova}. */
    long leafGpa(long iova) {
        long table = root;
        for (int level = 4; level >= 1; level--) {
            long slot = table + ((iova >>> (12 + 9 * (level - 1))) & 0x1FF) * 8;
            if (level == 1) {
                return slot;
            }
            table = memory.readLong(host(slot)) & 0x000F_FFFF_FFFF_F000L;
        }
        throw new AssertionError();
    }

    @Override
    public long allocate(long bytes) {
        long gpa = nextTable;
        nextTable += 4096;
        back(gpa);
        return gpa;
    }

    @Override
    public void free(long pa, long bytes) {
    }

    @Override
    public long tableAddress(long addr, Walk walk) {
        return host(addr);
    }

    @Override
    public long readLong(long pa) {
        return memory.readLong(pa);
    }

    @Override
    public void writeLong(long pa, long value) {
        memory.writeLong(pa, value);
    }

    @Override
    public boolean compareAndSetLong(long pa, long expected, long value) {
        return memory.compareAndSetLong(pa, expected, value);
    }
}
