package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.pt.PageTableFormat;
import org.junit.jupiter.api.Test;

import static io.uiommu.hw.vtd.VtdFixture.RID_PASID;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * VT-d's PASIDs: every device has its own PASID table (scalable-mode context entry → PASID
 * directory → PASID entries), so the same PASID value on two devices selects two different
 * entries; the iommu core's global PASID space (iommu_alloc_global_pasid, for SVA and ENQCMD) hands
 * a value out once system-wide so that it can name one process address space on every device; and
 * an SVA-style binding: a process's x86-64 first-stage table in guest RAM, nested over the
 * stage-2 parent, in the PASID entry of that PASID on two devices while each RID keeps its own domain.
 */
class VtdPasidSpaceTest {
    private static final int RW = IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE;
    private static final long IOVA = 0x7f00_0000_0000L;
    private final VtdFixture f = new VtdFixture();
    private final VtdDevice nic = f.device("nic0", "00:03.0", 20, false);
    private final VtdDevice gpu = f.device("gpu0", "00:04.0", 20, false);
    private final VtdDevice narrow = f.device("fpga0", "00:05.0", 2, false);

    private static long pointer(long qword) {
        return qword & PasidEntry.POINTER_MASK;
    }

    @Test
    void theSamePasidOnTwoDevicesSelectsTwoEntries() {
        VtdPagingDomain a = f.paging(nic, VtdIommu.IOMMU_HWPT_ALLOC_PASID);
        VtdPagingDomain b = f.paging(gpu, VtdIommu.IOMMU_HWPT_ALLOC_PASID);
        long pageA = f.frame(0xaa);
        long pageB = f.frame(0xbb);
        a.map(0x1000, pageA, 4096, RW);
        b.map(0x1000, pageB, 4096, RW);
        f.core.attachDevicePasid(nic, 5, a, false);
        f.core.attachDevicePasid(gpu, 5, b, false);

        long entryA = f.pasidEntry(nic, 5);
        long entryB = f.pasidEntry(gpu, 5);
        assertThat(entryA).isNotEqualTo(entryB);
        assertThat(pointer(f.memory.readLong(entryA))).as("nic0's PASID 5: domain a").isEqualTo(pointer(a.rootTable()));
        assertThat(pointer(f.memory.readLong(entryB))).as("gpu0's PASID 5: domain b").isEqualTo(pointer(b.rootTable()));
        assertThat(f.translate(nic, 5, 0x1010, false).physAddr).isEqualTo(pageA + 0x10);
        assertThat(f.translate(gpu, 5, 0x1010, false).physAddr).isEqualTo(pageB + 0x10);

        // Detaching one device's PASID 5 leaves the other's entry alone.
        f.core.detachDevicePasid(nic, 5);
        assertThat(f.memory.readLong(entryA) & PasidEntry.PRESENT).isZero();
        assertThat(f.memory.readLong(entryB) & PasidEntry.PRESENT).isNotZero();
        assertThat(f.translate(nic, 5, 0x1010, false).faulted).isTrue();
        assertThat(f.translate(gpu, 5, 0x1010, false).physAddr).isEqualTo(pageB + 0x10);
    }

    @Test
    void globalPasidsAreHandedOutOnceSystemWide() {
        IommuCore core = f.core;
        int p1 = core.allocGlobalPasid(nic);
        int p2 = core.allocGlobalPasid(gpu);
        assertThat(p1).isEqualTo(IommuCore.IOMMU_FIRST_GLOBAL_PASID);
        assertThat(p2).as("gpu0 cannot get nic0's global PASID").isEqualTo(p1 + 1);
        // A device that can issue only PASIDs 0..3 gets what is left below 4, then nothing.
        assertThat(core.allocGlobalPasid(narrow)).isEqualTo(3);
        assertThat(core.allocGlobalPasid(narrow)).isEqualTo(IommuCore.IOMMU_PASID_INVALID);
        core.freeGlobalPasid(p1);
        assertThat(core.allocGlobalPasid(narrow)).as("a freed PASID is reused").isEqualTo(p1);
        assertThat(core.allocGlobalPasid(nic)).isEqualTo(4);
        core.freeGlobalPasid(IommuCore.IOMMU_PASID_INVALID);
        VtdDevice none = f.device("nvme0", "00:06.0", 0, false);
        assertThat(core.allocGlobalPasid(none)).as("no PASID capability").isEqualTo(IommuCore.IOMMU_PASID_INVALID);
    }

    @Test
    void svaStyleFirstStageOnAGlobalPasidOfTwoDevices() {
        // Guest RAM behind a stage-2 nesting parent; the process's page table lives in it.
        VtdPagingDomain parent = f.paging(nic, VtdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT | VtdIommu.IOMMU_HWPT_ALLOC_PASID);
        GuestRam ram = new GuestRam(f.memory, parent);
        long dataGpa = 0x20_0000L;
        ram.back(dataGpa);
        ram.guestMap(IOVA, dataGpa, PageTableFormat.READ | PageTableFormat.WRITE);
        for (long t = 0x10_0000L; t < 0x10_8000L; t += 4096) {
            ram.back(t);
        }
        IommuDomain process = f.iommu.domainAllocUser(nic, VtdIommu.IOMMU_HWPT_ALLOC_PASID, parent,
                f.userData(VtdIommu.IOMMU_HWPT_DATA_VTD_S1, VtdFixture.s1(0, ram.root, 48, 0)));
        // Each RID keeps a domain of its own.
        VtdPagingDomain ridNic = f.paging(nic, VtdIommu.IOMMU_HWPT_ALLOC_PASID);
        VtdPagingDomain ridGpu = f.paging(gpu, VtdIommu.IOMMU_HWPT_ALLOC_PASID);
        long ridPage = f.frame(0x11);
        ridNic.map(IOVA, ridPage, 4096, RW);
        f.core.attachDevice(nic, ridNic);
        f.core.attachDevice(gpu, ridGpu);

        int pasid = f.core.allocGlobalPasid(nic);
        f.core.attachDevicePasid(nic, pasid, process, false);
        f.core.attachDevicePasid(gpu, pasid, process, false);
        long flptrNic = f.memory.readLong(f.pasidEntry(nic, pasid) + 16);
        long flptrGpu = f.memory.readLong(f.pasidEntry(gpu, pasid) + 16);
        assertThat(pointer(flptrNic)).as("first-stage pointer: the process's table (a GPA)").isEqualTo(ram.root);
        assertThat(pointer(flptrGpu)).isEqualTo(ram.root);
        assertThat(pointer(f.memory.readLong(f.pasidEntry(nic, pasid)))).as("second stage: the parent")
                .isEqualTo(pointer(parent.rootTable()));

        byte[] hello = "from the nic".getBytes();
        assertThat(f.core.dma(nic, pasid, IOVA + 0x40, hello, 0, hello.length, true).ok()).isTrue();
        byte[] seen = new byte[hello.length];
        assertThat(f.core.dma(gpu, pasid, IOVA + 0x40, seen, 0, seen.length, false).ok()).isTrue();
        assertThat(seen).as("one address space on both devices").isEqualTo(hello);
        byte[] host = new byte[hello.length];
        f.memory.read(ram.host(dataGpa) + 0x40, host, 0, host.length);
        assertThat(host).isEqualTo(hello);
        // The walk set the process's accessed and dirty bits, as the CPU's MMU would.
        long leaf = f.memory.readLong(ram.host(ram.leafGpa(IOVA)));
        assertThat(leaf & 0x60).isEqualTo(0x60);

        // Without the PASID the RID translates through its own domain, not the process's.
        assertThat(f.translate(nic, RID_PASID, IOVA, false).physAddr).isEqualTo(ridPage);
        assertThat(f.translate(gpu, RID_PASID, IOVA, false).faulted).isTrue();
        f.core.detachDevicePasid(nic, pasid);
        f.core.detachDevicePasid(gpu, pasid);
        f.core.freeGlobalPasid(pasid);
        assertThat(f.translate(gpu, pasid, IOVA, false).faulted).isTrue();
    }
}
