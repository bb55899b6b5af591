package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.pt.PhysicalTables;
import io.uiommu.pt.Walk;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** One SMMUv3 with its memory and auditor, plus helpers to look at what the hardware wrote. */
final class SmmuFixture {
    final PhysicalMemory memory = new PhysicalMemory();
    final StaleTranslationAuditor auditor = new StaleTranslationAuditor(memory);
    final IommuUnit unit;
    final ArmSmmuV3 smmu;
    final Smmu hw;
    final IommuCore core = IommuCore.withMockIommu(memory);
    private long nextFrame = 0x4000_0000L;

    SmmuFixture() {
        this(unit(Map.of()));
    }

    SmmuFixture(IommuUnit unit) {
        this.unit = unit;
        this.smmu = new ArmSmmuV3(unit, memory, auditor);
        this.hw = smmu.hardware();
    }

    static IommuUnit unit(Map<String, Long> registers) {
        return unit(20, true, registers);
    }

    static IommuUnit unit(int pasidBits, boolean dirty, Map<String, Long> registers) {
        return new IommuUnit("smmu0", "smmuv3", 48, 48, List.of(4096L, 16384L, 65536L), pasidBits, true, dirty, true,
                registers);
    }

    /** A unit whose IDR0 is the computed one with {@code clear} bits cleared and {@code set} bits set. */
    static IommuUnit unitWithIdr0(int clear, int set) {
        int idr0 = new IdRegisters(unit(Map.of())).idr[0];
        return unit(Map.of("IDR0", Integer.toUnsignedLong((idr0 & ~clear) | set)));
    }

    SmmuMaster device(String name, int sid, int pasidBits) {
        return (SmmuMaster) smmu.addDevice(new PciDevice(name, "00:01.0", sid, "smmu0", pasidBits, true, false));
    }

    /** A fresh 4 KiB frame of "device memory" (below the frames tables are allocated from, never a table). */
    long frame() {
        long pa = nextFrame;
        nextFrame += PhysicalMemory.PAGE_SIZE;
        return pa;
    }

    SmmuPagingDomain stage1(SmmuMaster dev) {
        return (SmmuPagingDomain) smmu.domainAllocUser(dev, 0, null, null);
    }

    SmmuPagingDomain nestParent(SmmuMaster dev) {
        return (SmmuPagingDomain) smmu.domainAllocUser(dev, ArmSmmuV3.IOMMU_HWPT_ALLOC_NEST_PARENT, null, null);
    }

    void attach(SmmuMaster dev, IommuDomain d) {
        core.attachDevice(dev, d);
    }

    Translation translate(SmmuMaster dev, int pasid, long iova, boolean write) {
        Translation t = new Translation();
        smmu.translate(dev, pasid, iova, write ? IommuDomain.IOMMU_WRITE : IommuDomain.IOMMU_READ, t);
        return t;
    }

    Translation read(SmmuMaster dev, long iova) {
        return translate(dev, Translation.NO_PASID, iova, false);
    }

    /** Physical address of the leaf descriptor that maps iova in a kernel-owned table. */
    long leafAddress(SmmuPagingDomain d, long iova) {
        Walk w = new Walk();
        w.record = true;
        if (!d.format().walk(d.root(), iova, 0, false, new PhysicalTables(memory), w)) {
            throw new AssertionError("not mapped: 0x" + Long.toHexString(iova));
        }
        return w.recordedAddress[w.recorded - 1];
    }

    /** Output address bits [47:12] of a VMSAv8-64 4K descriptor. */
    static final long OA_MASK = 0x0000_FFFF_FFFF_F000L;

    /** Rewrites the output address of a leaf, keeping its attributes (a software change without TLBI). */
    void retarget(long leafPa, long newPa) {
        long pte = memory.readLong(leafPa);
        memory.writeLong(leafPa, (pte & ~OA_MASK) | (newPa & OA_MASK));
    }

    /**
     * Host event records as dword quadruples, oldest first: those the driver consumed and logged
     * (its event interrupt is taken when a faulting transaction returns), then any still between
     * the queue's CONS and PROD (with the interrupt masked), consumed.
     */
    List<long[]> events() {
        List<long[]> logged = smmu.takeLoggedEvents();
        long base = hw.readRegister(Smmu.EVTQ_BASE);
        int log2 = (int) (base & 0x1f);
        long addr = base & Smmu.Q_BASE_ADDR_MASK;
        int prod = (int) hw.readRegister(Smmu.EVTQ_PROD);
        int cons = (int) hw.readRegister(Smmu.EVTQ_CONS);
        int wrap = (1 << (log2 + 1)) - 1;
        List<long[]> out = new ArrayList<>(logged);
        while ((cons & wrap) != (prod & wrap)) {
            long at = addr + (long) (cons & ((1 << log2) - 1)) * 32;
            out.add(new long[] {memory.readLong(at), memory.readLong(at + 8), memory.readLong(at + 16),
                    memory.readLong(at + 24)});
            cons = (cons + 1) & wrap;
        }
        hw.writeRegister(Smmu.EVTQ_CONS, cons);
        return out;
    }

    /**
     * Guest RAM: IPA [0, size) backed by contiguous physical memory at {@code pa}, for building guest
     * tables with a format's map (whose addresses here are IPAs); walks see it through stage 2.
     */
    static final class GuestRam implements io.uiommu.pt.TableMemory, io.uiommu.pt.TableAllocator {
        final PhysicalMemory memory;
        final long pa;
        final long size;
        long next;
        final Map<Long, Long> sizes = new HashMap<>();

        GuestRam(PhysicalMemory memory, long pa, long size, long firstFree) {
            this.memory = memory;
            this.pa = pa;
            this.size = size;
            this.next = firstFree;
        }

        long toPa(long ipa) {
            return pa + ipa;
        }

        /** The guest's own view: descriptor addresses stay IPAs, which the accessors below translate. */
        @Override
        public long tableAddress(long addr, Walk walk) {
            return addr;
        }

        @Override
        public long readLong(long ipa) {
            return memory.readLong(toPa(ipa));
        }

        @Override
        public void writeLong(long ipa, long value) {
            memory.writeLong(toPa(ipa), value);
        }

        @Override
        public boolean compareAndSetLong(long ipa, long expected, long value) {
            return memory.compareAndSetLong(toPa(ipa), expected, value);
        }

        @Override
        public long allocate(long bytes) {
            long at = (next + bytes - 1) & -bytes;
            next = at + bytes;
            return at;
        }

        @Override
        public void free(long ipa, long bytes) {
        }
    }
}
