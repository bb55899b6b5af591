package io.uiommu.hw.amd;

import io.uiommu.mem.PhysicalMemory;
import io.uiommu.pt.TableAllocator;

/**
 * A device's GCR3 table as the driver keeps it (Linux gcr3_tbl_info): 1 to 3 levels of 512
 * eight-byte entries indexed by PASID, 9 bits per level, leaf entries holding a guest CR3 with
 * valid bit 0; and the per-device DomainID its guest translations are tagged with.
 *
 * <p>Locking: guarded by the owning {@link AmdIommu}'s monitor.
 */
final class Gcr3Table {
    static final long VALID = 1;
    static final long ADDR = 0x000f_ffff_ffff_f000L;

    final long root;
    /** GLX: levels - 1. */
    final int glx;
    final int domainId;
    private final PhysicalMemory memory;
    private final TableAllocator allocator;

    Gcr3Table(PhysicalMemory memory, TableAllocator allocator, int glx, int domainId) {
        this.memory = memory;
        this.allocator = allocator;
        this.glx = glx;
        this.domainId = domainId;
        this.root = allocator.allocate(PhysicalMemory.PAGE_SIZE);
    }

    /** GLX for a device with {@code pasids} PASIDs (Linux get_gcr3_levels). */
    static int glxFor(int pasids) {
        int order = pasids <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(pasids - 1);
        return order == 0 ? 0 : (order + 8) / 9 - 1;
    }

    /** Points {@code pasid}'s entry at {@code cr3} (0 clears it). */
    void set(int pasid, long cr3, boolean valid) {
        long table = root;
        for (int level = glx; level > 0; level--) {
            long pa = table + (pasid >>> (9 * level) & 511) * 8L;
            long e = memory.readLong(pa);
            if ((e & VALID) == 0) {
                if (!valid) {
                    return;
                }
                long next = allocator.allocate(PhysicalMemory.PAGE_SIZE);
                memory.writeLong(pa, next | VALID);
                e = next | VALID;
            }
            table = e & ADDR;
        }
        memory.writeLong(table + (pasid & 511) * 8L, valid ? cr3 & ADDR | VALID : 0);
    }

    void free() {
        free(root, glx);
    }

    private void free(long table, int level) {
        for (int i = 0; i < 512 && level > 0; i++) {
            long e = memory.readLong(table + i * 8L);
            if ((e & VALID) != 0) {
                free(e & ADDR, level - 1);
            }
        }
        allocator.free(table, PhysicalMemory.PAGE_SIZE);
    }
}
