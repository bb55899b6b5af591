package io.uiommu.cli;

import io.uiommu.iommu.StaleTranslation;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IoctlCall;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static io.uiommu.uapi.UapiConstants.*;

/**
 * The nested section of {@code uiommu demo --platform vtd|smmuv3}: a guest stage-1 table built in
 * guest RAM, DMA through it, the guest retargeting a page without invalidating (the device still
 * reaches the old page and the auditor reports the missing invalidation), then the invalidation.
 * Each vendor's part uses that vendor's interface; a model without one is skipped.
 */
final class NestingDemo {
    /** The guest's IOVA of its DMA buffer (the guest's own address space). */
    static final long GUEST_IOVA = 0x7000_0000L;
    /** Guest-physical addresses inside the demo's guest RAM (which sits at IOVA 1 GiB of the IOAS). */
    static final long TABLES_GPA = PlatformDemo.RAM_IOVA + 0x10_0000;
    static final long PAGE_A_GPA = PlatformDemo.RAM_IOVA + 0x2_0000;
    static final long PAGE_B_GPA = PlatformDemo.RAM_IOVA + 0x3_0000;
    /** x86 paging: present, writable, user (requests without PASID privilege are user requests). */
    private static final long X86_P_RW_US = 0x7;

    private final PlatformDemo demo;
    private final SimulatedProcess vmm;
    private final long ram;

    private NestingDemo(PlatformDemo demo, long ram) {
        this.demo = demo;
        this.vmm = demo.vmm();
        this.ram = ram;
    }

    /** Runs the section for the platform's first unit; false when its model has none. */
    static boolean run(PlatformDemo demo, int devId, int ioas, long ram) {
        var unit = demo.platform().iommus().getFirst();
        if (!unit.nesting()) {
            return false;
        }
        NestingDemo n = new NestingDemo(demo, ram);
        return switch (unit.model()) {
            case "vtd" -> n.vtd(devId, ioas);
            default -> false;
        };
    }

    /** The user address of a guest-physical address of the demo's guest RAM. */
    private long va(long gpa) {
        return ram + (gpa - PlatformDemo.RAM_IOVA);
    }

    private void guestWrite64(long gpa, long value) {
        vmm.writeLong(va(gpa), value);
    }

    /** A guest x86-64 4-level table mapping GUEST_IOVA to {@code page}, as a guest kernel writes it. */
    private long buildX86Table(long page) {
        long pml4 = TABLES_GPA;
        long pdpt = pml4 + 0x1000;
        long pd = pdpt + 0x1000;
        long pt = pd + 0x1000;
        guestWrite64(pml4 + ((GUEST_IOVA >>> 39) & 0x1ff) * 8, pdpt | X86_P_RW_US);
        guestWrite64(pdpt + ((GUEST_IOVA >>> 30) & 0x1ff) * 8, pd | X86_P_RW_US);
        guestWrite64(pd + ((GUEST_IOVA >>> 21) & 0x1ff) * 8, pt | X86_P_RW_US);
        guestWrite64(leafX86(), page | X86_P_RW_US);
        return pml4;
    }

    private long leafX86() {
        return TABLES_GPA + 0x3000 + ((GUEST_IOVA >>> 12) & 0x1ff) * 8;
    }

    /** The device writes {@code text} at GUEST_IOVA; returns what guest pages A and B then hold. */
    private String dmaAndLook(int devId, String text) {
        byte[] msg = text.getBytes(StandardCharsets.US_ASCII);
        long buf = vmm.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        vmm.write(buf, msg, 0, msg.length);
        IoctlCall d = demo.ok(demo.test(IOMMU_TEST_OP_UI_DMA, devId).set("dma.flags", UI_DMA_WRITE)
                .set("dma.iova", GUEST_IOVA).set("dma.length", msg.length).set("dma.uptr", buf));
        String fault = d.get("dma.out_fault_flags") == 0 ? ""
                : " FAULT " + demo.faultName((int) d.get("dma.out_fault_name"), buf);
        return String.format("page A \"%s\", page B \"%s\"%s", read(PAGE_A_GPA, msg.length), read(PAGE_B_GPA,
                msg.length), fault);
    }

    private String read(long gpa, int n) {
        byte[] b = new byte[n];
        vmm.read(va(gpa), b, 0, n);
        return new String(b, StandardCharsets.US_ASCII).replace('\0', '.');
    }

    private void clearPages() {
        vmm.write(va(PAGE_A_GPA), new byte[64], 0, 64);
        vmm.write(va(PAGE_B_GPA), new byte[64], 0, 64);
    }

    private void stale(int before) {
        List<StaleTranslation> reports = demo.dev().iommu().auditor().reports();
        for (StaleTranslation r : reports.subList(before, reports.size())) {
            demo.detail("AUDIT: missing invalidation caught: %s", r);
        }
        if (reports.size() == before) {
            demo.detail("AUDIT: no report");
        }
    }

    /** VT-d: a nested HWPT whose first stage (struct iommu_hwpt_vtd_s1) is the guest's x86 table. */
    private boolean vtd(int devId, int ioas) {
        demo.say("nesting on VT-d: the guest owns stage 1 (x86-64 tables in guest RAM), the host stage 2");
        int parent = (int) demo.ok(IoctlCall.of(Ioctl.IOMMU_HWPT_ALLOC).set("flags", IOMMU_HWPT_ALLOC_NEST_PARENT)
                .set("dev_id", devId).set("pt_id", ioas)).get("out_hwpt_id");
        demo.detail("IOMMU_HWPT_ALLOC NEST_PARENT over IOAS %d -> HWPT %d (stage 2: GPA -> host)", ioas, parent);
        long root = buildX86Table(PAGE_A_GPA);
        demo.detail("guest writes a 4-level table at GPA 0x%x: IOVA 0x%x -> page A (GPA 0x%x)", root, GUEST_IOVA,
                PAGE_A_GPA);
        long s1 = vmm.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        vmm.writeLong(s1, 0);
        vmm.writeLong(s1 + 8, root);
        vmm.writeLong(s1 + 16, 48);
        int nested = (int) demo.ok(IoctlCall.of(Ioctl.IOMMU_HWPT_ALLOC).set("dev_id", devId).set("pt_id", parent)
                .set("data_type", IOMMU_HWPT_DATA_VTD_S1).set("data_len", 24).set("data_uptr", s1)).get("out_hwpt_id");
        demo.ok(demo.test(IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId).set("device_attach.pt_id", nested));
        demo.detail("IOMMU_HWPT_ALLOC VTD_S1 (pgtbl_addr 0x%x, addr_width 48) -> HWPT %d; device attached to it",
                root, nested);

        clearPages();
        demo.say("DMA through both stages: " + dmaAndLook(devId, "first write"));
        int before = demo.dev().iommu().auditor().reports().size();
        guestWrite64(leafX86(), PAGE_B_GPA | X86_P_RW_US);
        clearPages();
        demo.say("guest points IOVA 0x" + Long.toHexString(GUEST_IOVA) + " at page B and forgets to invalidate: "
                + dmaAndLook(devId, "stale write"));
        demo.detail("the IOTLB still holds page A, as real hardware would");
        stale(before);

        vmm.writeLong(s1, GUEST_IOVA);
        vmm.writeLong(s1 + 8, 1);
        vmm.writeLong(s1 + 16, 0);
        IoctlCall inv = demo.ok(IoctlCall.of(Ioctl.IOMMU_HWPT_INVALIDATE).set("hwpt_id", nested).set("data_uptr", s1)
                .set("data_type", IOMMU_HWPT_INVALIDATE_DATA_VTD_S1).set("entry_len", 24).set("entry_num", 1));
        clearPages();
        demo.say("IOMMU_HWPT_INVALIDATE VTD_S1 of that page (" + inv.get("entry_num") + " entry handled), then: "
                + dmaAndLook(devId, "after invalidate"));
        return true;
    }
}
