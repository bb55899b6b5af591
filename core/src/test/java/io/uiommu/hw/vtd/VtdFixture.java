package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.iommu.UserData;
import io.uiommu.iommu.UserDataArray;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.Walk;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A VT-d unit with devices over fresh physical memory, and the helpers the tests share. */
final class VtdFixture {
    static final int RID_PASID = Translation.NO_PASID;

    final PhysicalMemory memory = new PhysicalMemory();
    final StaleTranslationAuditor auditor = new StaleTranslationAuditor(memory);
    final VtdIommu iommu;
    final VtdHardware hw;
    final IommuCore core = IommuCore.withMockIommu(memory);
    final SimulatedProcess process = new SimulatedProcess(memory);

    VtdFixture() {
        this(Map.of());
    }

    VtdFixture(Map<String, Long> registers) {
        this(unit(48, 48, 20, true, true, registers));
    }

    VtdFixture(IommuUnit unit) {
        iommu = new VtdIommu(unit, memory, auditor);
        hw = iommu.hardware();
    }

    static IommuUnit unit(int inputBits, int mgaw, int pasidBits, boolean nesting, boolean dirty,
            Map<String, Long> registers) {
        return new IommuUnit("dmar0", "vtd", inputBits, mgaw, List.of(4096L), pasidBits, nesting, dirty, false,
                registers);
    }

    static Map<String, Long> regs(Object... nameValue) {
        Map<String, Long> m = new HashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            m.put((String) nameValue[i], ((Number) nameValue[i + 1]).longValue());
        }
        return m;
    }

    VtdDevice device(String name, String bdf, int pasidBits, boolean ats) {
        return (VtdDevice) iommu.addDevice(new PciDevice(name, bdf, 0, "dmar0", pasidBits, ats, false));
    }

    VtdPagingDomain paging(VtdDevice dev, int flags) {
        return (VtdPagingDomain) iommu.domainAllocUser(dev, flags, null, null);
    }

    /** A fresh frame's physical address, filled with a recognizable byte. */
    long frame(int fill) {
        long pa = memory.allocateFrame() << PhysicalMemory.PAGE_SHIFT;
        byte[] b = new byte[PhysicalMemory.PAGE_SIZE];
        java.util.Arrays.fill(b, (byte) fill);
        memory.write(pa, b, 0, b.length);
        return pa;
    }

    Translation translate(VtdDevice dev, int pasid, long iova, boolean write) {
        Translation t = new Translation();
        iommu.translate(dev, pasid, iova, write ? IommuDomain.IOMMU_WRITE : IommuDomain.IOMMU_READ,
                t.reset(iova, pasid, write ? IommuDomain.IOMMU_WRITE : IommuDomain.IOMMU_READ));
        return t;
    }

    /** Physical address of the leaf descriptor mapping {@code iova} in a second-stage domain. */
    long leafAddress(VtdPagingDomain domain, long iova) {
        Walk w = new Walk();
        w.record = true;
        domain.format.walk(domain.root, iova, 0, false, iommu.tables(), w);
        return w.recordedAddress[w.recorded - 1];
    }

    /** The PASID entry's physical address of (device, PASID). */
    long pasidEntry(VtdDevice dev, int pasid) {
        long dir = memory.readLong(PasidDirectoryEntry.address(dev.pasidDirectory, pasid));
        return PasidEntry.address(dir & PasidDirectoryEntry.POINTER_MASK, pasid);
    }

    long contextEntry(VtdDevice dev) {
        long root = memory.readLong(RootEntry.halfAddress(iommu.rootTable(), dev.bus(), dev.devfn()));
        return ContextEntry.address(root & RootEntry.POINTER_MASK, dev.devfn());
    }

    /** Vendor data in the simulated process's memory. */
    UserData userData(int type, byte[] bytes) {
        long va = process.mmap(PhysicalMemory.PAGE_SIZE, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE,
                false);
        process.write(va, bytes, 0, bytes.length);
        return new UserData(type, process, va, bytes.length);
    }

    UserDataArray userArray(int type, int entryLength, byte[]... entries) {
        long va = process.mmap(PhysicalMemory.PAGE_SIZE, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE,
                false);
        for (int i = 0; i < entries.length; i++) {
            process.write(va + (long) i * entryLength, entries[i], 0, entries[i].length);
        }
        return new UserDataArray(type, process, va, entryLength, entries.length);
    }

    static byte[] le(long... words) {
        byte[] b = new byte[words.length * 8];
        for (int i = 0; i < words.length; i++) {
            for (int k = 0; k < 8; k++) {
                b[i * 8 + k] = (byte) (words[i] >>> (8 * k));
            }
        }
        return b;
    }

    /** struct iommu_hwpt_vtd_s1. */
    static byte[] s1(long flags, long pgtbl, int addrWidth, int reserved) {
        return le(flags, pgtbl, (addrWidth & 0xFFFF_FFFFL) | (long) reserved << 32);
    }

    /** struct iommu_hwpt_vtd_s1_invalidate. */
    static byte[] inv(long addr, long npages, int flags, int reserved) {
        return le(addr, npages, (flags & 0xFFFF_FFFFL) | (long) reserved << 32);
    }

    static final PageTableFormat X86_4 = new io.uiommu.pt.X86PageTable(4);
}
