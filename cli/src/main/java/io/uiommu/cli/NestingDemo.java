package io.uiommu.cli;

import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.StaleTranslation;
import io.uiommu.iommu.UserData;
import io.uiommu.iommu.UserDataArray;
import io.uiommu.iommu.ViommuOps;
import io.uiommu.iommu.ViommuCore;
import io.uiommu.iommufd.HwptPaging;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.uapi.DevIommu;
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
            case "smmuv3" -> n.smmuv3(devId, ioas);
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

    // ---- SMMUv3 ----

    /** A guest's stream id for the device (its vSID, what the vDEVICE maps). */
    private static final long VSID = 0x100;
    private static final int ASID = 7;
    /** Stage-1 LPAE: a table descriptor, and a 4 KiB page readable and writable at EL0 (AP[1]), AF, inner shareable, MAIR index 1. */
    private static final long LPAE_TABLE = 0x3;
    private static final long LPAE_PAGE_RW = 0x3 | 1L << 2 | 1L << 6 | 3L << 8 | 1L << 10;
    private static final long CD_TABLE_GPA = TABLES_GPA + 0x8000;

    /** A guest stage-1 VMSAv8-64 4 KiB-granule table (4 levels, 48-bit VA) mapping GUEST_IOVA to {@code page}. */
    private long buildLpaeTable(long page) {
        long l0 = TABLES_GPA;
        long l1 = l0 + 0x1000;
        long l2 = l1 + 0x1000;
        long l3 = l2 + 0x1000;
        guestWrite64(l0 + ((GUEST_IOVA >>> 39) & 0x1ff) * 8, l1 | LPAE_TABLE);
        guestWrite64(l1 + ((GUEST_IOVA >>> 30) & 0x1ff) * 8, l2 | LPAE_TABLE);
        guestWrite64(l2 + ((GUEST_IOVA >>> 21) & 0x1ff) * 8, l3 | LPAE_TABLE);
        guestWrite64(leafLpae(), page | LPAE_PAGE_RW);
        return l0;
    }

    private long leafLpae() {
        return TABLES_GPA + 0x3000 + ((GUEST_IOVA >>> 12) & 0x1ff) * 8;
    }

    /**
     * SMMUv3: 6.12's iommufd has no vIOMMU objects (they came in 6.13), so this part drives the
     * driver's vIOMMU interface from Java, as iommufd's IOMMU_VIOMMU_ALLOC and
     * IOMMU_HWPT_ALLOC(IOMMU_HWPT_DATA_ARM_SMMUV3) would: a vSMMU over the stage-2 parent, a nested
     * domain from the guest's vSTE, the guest's TLBI commands through the vSMMU.
     */
    private boolean smmuv3(int devId, int ioas) {
        demo.say("nesting on SMMUv3: the guest owns the STE's stage 1 (CD table and LPAE tables in guest RAM)");
        int parentId = (int) demo.ok(IoctlCall.of(Ioctl.IOMMU_HWPT_ALLOC).set("flags", IOMMU_HWPT_ALLOC_NEST_PARENT)
                .set("dev_id", devId).set("pt_id", ioas)).get("out_hwpt_id");
        demo.detail("IOMMU_HWPT_ALLOC NEST_PARENT over IOAS %d -> HWPT %d (stage 2: IPA -> PA)", ioas, parentId);
        DevIommu dev = demo.dev();
        IommuCore core = dev.iommu();
        IommufdContext ctx = DevIommu.contextOf(vmm, demo.fd());
        IommuDevice master = core.device(demo.platform().devices().getFirst().name());
        IommuDomain parent;
        synchronized (ctx) {
            parent = ctx.objects().get(parentId, HwptPaging.class).domain();
        }
        ViommuCore vdevs = new ViommuCore() {
            public IommuDevice find(long virtId) {
                return virtId == VSID ? master : null;
            }

            public long virtIdOf(IommuDevice d) {
                return d == master ? VSID : -1;
            }
        };
        ViommuOps vsmmu = master.driver().viommuInit(master, 1, parent, null, vdevs);
        demo.detail("vSMMU over HWPT %d, vDEVICE: vSID 0x%x is %s", parentId, VSID, master.name());

        long root = buildLpaeTable(PAGE_A_GPA);
        // One context descriptor (arm_smmu_make_s1_cd's fields): T0SZ 16, TG0 4K, WB cacheable, inner
        // shareable, EPD1, V, IPS 48 bits, AA64, R, A, ASET, the ASID; TTB0; MAIR.
        long cd0 = 16 | 1L << 8 | 1L << 10 | 3L << 12 | 1L << 30 | 1L << 31 | 5L << 32 | 1L << 41 | 1L << 45
                | 1L << 46 | 1L << 47 | (long) ASID << 48;
        guestWrite64(CD_TABLE_GPA, cd0);
        guestWrite64(CD_TABLE_GPA + 8, root);
        guestWrite64(CD_TABLE_GPA + 24, 0x0000_0000_0044_ff04L);
        demo.detail("guest writes LPAE tables at IPA 0x%x (IOVA 0x%x -> page A) and a CD (ASID %d) at IPA 0x%x",
                root, GUEST_IOVA, ASID, CD_TABLE_GPA);

        long vste = vmm.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        vmm.writeLong(vste, 1L | 5L << 1 | CD_TABLE_GPA);
        vmm.writeLong(vste + 8, 0);
        IommuDomain nested = vsmmu.allocDomainNested(0, new UserData(IOMMU_HWPT_DATA_ARM_SMMUV3, vmm, vste, 16));
        demo.ok(demo.test(IOMMU_TEST_OP_UI_DEVICE_DETACH, devId));
        synchronized (ctx) {
            core.attachDevice(master, nested);
        }
        demo.detail("vSTE (V, Config S1_TRANS, S1ContextPtr 0x%x) -> nested domain; %s's STE is now nested",
                CD_TABLE_GPA, master.name());

        clearPages();
        demo.say("DMA through both stages: " + dmaAndLook(devId, "first write"));
        int before = core.auditor().reports().size();
        guestWrite64(leafLpae(), PAGE_B_GPA | LPAE_PAGE_RW);
        clearPages();
        demo.say("guest points IOVA 0x" + Long.toHexString(GUEST_IOVA) + " at page B and forgets the TLBI: "
                + dmaAndLook(devId, "stale write"));
        demo.detail("the TLB still holds page A, as real hardware would");
        stale(before);

        long cmd = vste + 64;
        vmm.writeLong(cmd, 0x12L | (long) ASID << 48);
        vmm.writeLong(cmd + 8, GUEST_IOVA | 1);
        UserDataArray cmds = new UserDataArray(IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, vmm, cmd, 16, 1);
        synchronized (ctx) {
            vsmmu.cacheInvalidate(cmds);
        }
        clearPages();
        demo.say("guest's CMD_TLBI_NH_VA (ASID " + ASID + ", VMID forced by the vSMMU), then: "
                + dmaAndLook(devId, "after invalidate"));
        synchronized (ctx) {
            core.detachDevice(master);
        }
        vsmmu.destroy();
        return true;
    }
}
