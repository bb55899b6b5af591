package io.uiommu.hw.amd;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.Walk;
import io.uiommu.pt.X86PageTable;

import java.util.List;
import java.util.Map;

/** A machine with one AMD IOMMU unit for the tests: memory, auditor, driver and devices. */
final class AmdFixture {
    final PhysicalMemory memory = new PhysicalMemory();
    final StaleTranslationAuditor auditor = new StaleTranslationAuditor(memory);
    final AmdIommu iommu;
    final AmdViHardware hw;

    AmdFixture() {
        this(unit(16, true, true, true, Map.of()));
    }

    AmdFixture(IommuUnit unit) {
        iommu = new AmdIommu(unit, memory, auditor);
        hw = iommu.hardware();
    }

    static IommuUnit unit(int pasidBits, boolean nesting, boolean dirty, boolean pri, Map<String, Long> registers) {
        return new IommuUnit("amd0", "amd", 48, 52, List.of(4096L), pasidBits, nesting, dirty, pri, registers);
    }

    AmdDevice device(String name, String bdf, int pasidBits) {
        return (AmdDevice) iommu.addDevice(new PciDevice(name, bdf, 0, "amd0", pasidBits, false, pasidBits > 0));
    }

    AmdPagingDomain v1(AmdDevice dev) {
        return (AmdPagingDomain) iommu.domainAllocUser(dev, 0, null, null);
    }

    Translation translate(IommuDevice dev, int pasid, long iova, boolean write) {
        Translation t = new Translation();
        int access = write ? IommuDomain.IOMMU_WRITE : IommuDomain.IOMMU_READ;
        iommu.translate(dev, pasid, iova, access, t.reset(iova, pasid, access));
        return t;
    }

    Translation read(IommuDevice dev, long iova) {
        return translate(dev, Translation.NO_PASID, iova, false);
    }

    /** Physical address of the leaf descriptor that maps {@code iova} in a domain's table. */
    long leafPte(AmdPagingDomain domain, long iova) {
        Walk w = new Walk();
        w.record = true;
        w.reset(iova);
        if (!domain.format.walk(domain.root, iova, 0, false, iommu.tables(), w)) {
            throw new AssertionError("not mapped: 0x" + Long.toHexString(iova));
        }
        return w.recordedAddress[w.recorded - 1];
    }

    /** A fresh zeroed frame's physical address. */
    long frame() {
        return memory.allocateFrame() << PhysicalMemory.PAGE_SHIFT;
    }

    /** Builds an x86-64 4-level table (the guest's or a process's) at physical addresses. */
    long x86Table(long... iovaPa) {
        long root = X86_4_LEVEL.allocateRoot(iommu.tables(), iommu.allocator());
        for (int i = 0; i < iovaPa.length; i += 2) {
            X86_4_LEVEL.map(root, iovaPa[i], iovaPa[i + 1], 4096, PageTableFormat.READ | PageTableFormat.WRITE,
                    iommu.tables(), iommu.allocator());
        }
        return root;
    }

    static final int RW = IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE;
    /** An x86-64 4-level table: guest and process tables the tests build. */
    static final X86PageTable X86_4_LEVEL = new X86PageTable(4);
    /** Address bits [51:12] of a v1 or x86-64 descriptor. */
    static final long PTE_ADDRESS = 0x000f_ffff_ffff_f000L;
    /** D (bit 6) of a v1 leaf. */
    static final long V1_DIRTY = 1L << 6;
}
