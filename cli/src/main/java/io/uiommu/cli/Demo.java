package io.uiommu.cli;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdObject;
import io.uiommu.iommufd.Ioas;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IoctlCall;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static io.uiommu.uapi.UapiConstants.*;

/**
 * {@code uiommu demo}: the main flows of /dev/iommu on the selftest's mock IOMMU, told step by step
 * the way a VMM would drive them, every step a real ioctl through the uAPI dispatcher.
 */
public final class Demo {
    private final PrintStream out;
    private final DevIommu dev = new DevIommu();
    private final SimulatedProcess vmm = new SimulatedProcess(dev.physical());
    private int fd;
    private int step;

    private Demo(PrintStream out) {
        this.out = out;
    }

    /** Runs the demo; returns 0 when every step behaved as Linux does. */
    public static int run(PrintStream out) {
        return new Demo(out).run();
    }

    private void say(String what) {
        out.printf("%2d. %s%n", ++step, what);
    }

    private void detail(String fmt, Object... args) {
        out.printf("      " + fmt + "%n", args);
    }

    private IoctlCall ok(IoctlCall c) {
        return c.call(vmm, fd);
    }

    private Errno expectFail(IoctlCall c, Errno expected) {
        Errno e = c.invoke(vmm, fd);
        if (e != expected) {
            throw new IllegalStateException("expected " + expected + " but got " + e);
        }
        return e;
    }

    private int run() {
        long t0 = System.nanoTime();
        out.println("uiommu demo: /dev/iommu in user space, on the kernel selftest's mock IOMMU");
        out.println();

        fd = dev.open(vmm);
        say("open(\"/dev/iommu\") = " + fd + "  (one iommufd context per open file)");

        int ioas = (int) ok(IoctlCall.of(Ioctl.IOMMU_IOAS_ALLOC)).get("out_ioas_id");
        say("IOMMU_IOAS_ALLOC -> IOAS " + ioas + "  (an empty I/O address space)");

        long ramSize = 64L << 20;
        long ram = vmm.mmap(ramSize, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        IoctlCall map = ok(IoctlCall.of(Ioctl.IOMMU_IOAS_MAP)
                .set("flags", IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
                .set("ioas_id", ioas).set("user_va", ram).set("length", ramSize).set("iova", 1L << 30));
        say(String.format("IOMMU_IOAS_MAP guest RAM: %d MiB at user VA 0x%x -> IOVA 0x%x (fixed)",
                ramSize >> 20, ram, map.get("iova")));
        detail("no device yet: the kernel only records the range; nothing is pinned");

        IoctlCall dev1 = ok(IoctlCall.of(Ioctl.IOMMU_TEST_CMD).set("op", IOMMU_TEST_OP_MOCK_DOMAIN).set("id", ioas));
        int stdev1 = (int) dev1.get("mock_domain.out_stdev_id");
        int hwpt1 = (int) dev1.get("mock_domain.out_hwpt_id");
        int idev1 = (int) dev1.get("mock_domain.out_idev_id");
        say(String.format("bind + attach mock device 1 to IOAS %d: device %d, auto domain HWPT %d", ioas, idev1, hwpt1));
        detail("attaching pinned all %d pages of guest RAM and mapped them into the domain",
                ramSize / 4096);

        IoctlCall dev2 = ok(IoctlCall.of(Ioctl.IOMMU_TEST_CMD).set("op", IOMMU_TEST_OP_MOCK_DOMAIN).set("id", ioas));
        say(String.format("bind + attach mock device 2: device %d shares auto domain HWPT %d",
                dev2.get("mock_domain.out_idev_id"), dev2.get("mock_domain.out_hwpt_id")));

        long window = vmm.mmap(2L << 20, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        IoctlCall auto = ok(IoctlCall.of(Ioctl.IOMMU_IOAS_MAP)
                .set("flags", IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
                .set("ioas_id", ioas).set("user_va", window).set("length", 2L << 20));
        say(String.format("IOMMU_IOAS_MAP with automatic IOVA: 2 MiB -> IOVA 0x%x (2 MiB aligned, "
                + "first fit above the mock aperture start)", auto.get("iova")));

        IoctlCall probe = IoctlCall.of(Ioctl.IOMMU_IOAS_IOVA_RANGES).set("ioas_id", ioas);
        Errno e = probe.invoke(vmm, fd);
        say(String.format("IOMMU_IOAS_IOVA_RANGES with no room: %s, num_iovas = %d, alignment %d",
                e, probe.get("num_iovas"), probe.get("out_iova_alignment")));

        expectFail(IoctlCall.of(Ioctl.IOMMU_IOAS_UNMAP).set("ioas_id", ioas).set("iova", 1L << 30)
                .set("length", 4096), Errno.ENOENT);
        say("IOMMU_IOAS_UNMAP of one page inside guest RAM: ENOENT (areas are unmapped whole)");

        IoctlCall parent = ok(IoctlCall.of(Ioctl.IOMMU_HWPT_ALLOC).set("flags", IOMMU_HWPT_ALLOC_NEST_PARENT)
                .set("dev_id", idev1).set("pt_id", ioas));
        int parentId = (int) parent.get("out_hwpt_id");
        say("IOMMU_HWPT_ALLOC NEST_PARENT over IOAS " + ioas + " -> HWPT " + parentId);

        long data = vmm.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        vmm.writeInt(data, IOMMU_TEST_IOTLB_DEFAULT);
        IoctlCall nested = ok(IoctlCall.of(Ioctl.IOMMU_HWPT_ALLOC).set("dev_id", idev1).set("pt_id", parentId)
                .set("data_type", IOMMU_HWPT_DATA_SELFTEST).set("data_len", 4).set("data_uptr", data));
        int nestedId = (int) nested.get("out_hwpt_id");
        say("IOMMU_HWPT_ALLOC nested (user-owned stage 1) over HWPT " + parentId + " -> HWPT " + nestedId);

        IoctlCall replace = ok(IoctlCall.of(Ioctl.IOMMU_TEST_CMD).set("op", IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE)
                .set("id", stdev1).set("mock_domain_replace.pt_id", nestedId));
        say("replace device 1 onto the nested HWPT " + replace.get("mock_domain_replace.pt_id")
                + "; device 2 stays on the auto domain");

        vmm.writeInt(data, 0);
        vmm.writeInt(data + 4, 2);
        IoctlCall inv = ok(IoctlCall.of(Ioctl.IOMMU_HWPT_INVALIDATE).set("hwpt_id", nestedId).set("data_uptr", data)
                .set("data_type", IOMMU_HWPT_INVALIDATE_DATA_SELFTEST).set("entry_len", 8).set("entry_num", 1));
        Errno e2 = IoctlCall.of(Ioctl.IOMMU_TEST_CMD).set("op", IOMMU_TEST_OP_MD_CHECK_IOTLB).set("id", nestedId)
                .set("check_iotlb.id", 2).set("check_iotlb.iotlb", 0).invoke(vmm, fd);
        say(String.format("IOMMU_HWPT_INVALIDATE of IOTLB entry 2: %d entry handled, entry 2 now %s",
                inv.get("entry_num"), e2 == null ? "clear" : "still set (" + e2 + ")"));

        IoctlCall dirtyDev = ok(IoctlCall.of(Ioctl.IOMMU_TEST_CMD).set("op", IOMMU_TEST_OP_MOCK_DOMAIN)
                .set("id", ioas));
        int idev3 = (int) dirtyDev.get("mock_domain.out_idev_id");
        int dirtyHwpt = (int) ok(IoctlCall.of(Ioctl.IOMMU_HWPT_ALLOC).set("flags", IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
                .set("dev_id", idev3).set("pt_id", ioas)).get("out_hwpt_id");
        ok(IoctlCall.of(Ioctl.IOMMU_HWPT_SET_DIRTY_TRACKING).set("flags", IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
                .set("hwpt_id", dirtyHwpt));
        long bitmap = vmm.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        vmm.write(bitmap, new byte[] {(byte) 0b1010_0101}, 0, 1);
        IoctlCall mark = ok(IoctlCall.of(Ioctl.IOMMU_TEST_CMD).set("op", IOMMU_TEST_OP_DIRTY).set("id", dirtyHwpt)
                .set("dirty.iova", 1L << 30).set("dirty.length", 8 * 2048).set("dirty.page_size", 2048)
                .set("dirty.uptr", bitmap));
        vmm.write(bitmap, new byte[1], 0, 1);
        ok(IoctlCall.of(Ioctl.IOMMU_HWPT_GET_DIRTY_BITMAP).set("hwpt_id", dirtyHwpt).set("iova", 1L << 30)
                .set("length", 8 * 2048).set("page_size", 2048).set("data", bitmap));
        byte[] bits = new byte[1];
        vmm.read(bitmap, bits, 0, 1);
        say(String.format("dirty tracking HWPT %d: device wrote %d pages; IOMMU_HWPT_GET_DIRTY_BITMAP -> %s",
                dirtyHwpt, mark.get("dirty.out_nr_dirty"), Integer.toBinaryString(bits[0] & 0xff)));

        IoctlCall access = ok(IoctlCall.of(Ioctl.IOMMU_TEST_CMD).set("op", IOMMU_TEST_OP_CREATE_ACCESS).set("id", ioas)
                .set("create_access.flags", MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES));
        int accessFd = (int) access.get("create_access.out_access_fd");
        byte[] msg = "hello from the device side".getBytes(StandardCharsets.US_ASCII);
        long buf = vmm.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        vmm.write(buf, msg, 0, msg.length);
        ok(IoctlCall.of(Ioctl.IOMMU_TEST_CMD).set("op", IOMMU_TEST_OP_ACCESS_RW).set("id", accessFd)
                .set("access_rw.iova", (1L << 30) + 0x1000).set("access_rw.length", msg.length)
                .set("access_rw.uptr", buf).set("access_rw.flags", MOCK_ACCESS_RW_WRITE));
        byte[] seen = new byte[msg.length];
        vmm.read(ram + 0x1000, seen, 0, seen.length);
        say("access object (fd " + accessFd + ") wrote through IOVA 0x40001000; guest RAM now reads \""
                + new String(seen, StandardCharsets.US_ASCII) + "\"");

        expectFail(IoctlCall.of(Ioctl.IOMMU_DESTROY).set("id", ioas), Errno.EBUSY);
        say("IOMMU_DESTROY of IOAS " + ioas + " while HWPTs use it: EBUSY");

        IommufdContext ctx = DevIommu.contextOf(vmm, fd);
        Ioas ioasObj = ctx.objects().get(ioas, Ioas.class);
        out.println();
        out.println("Report");
        out.printf("  objects        %d:", ctx.objects().objects().size());
        for (IommufdObject o : ctx.objects().objects()) {
            out.printf(" %d=%s", o.id(), o.type());
        }
        out.println();
        out.printf("  mappings       %d areas in IOAS %d, IOVA alignment %d%n", ioasObj.iopt().areaCount(), ioas,
                ioasObj.iopt().iovaAlignment());
        out.printf("  pinned pages   %d (%d MiB), each once however many domains map it%n",
                ioasObj.iopt().pinnedPages(), ioasObj.iopt().pinnedPages() * 4096 >> 20);
        long framesBefore = dev.physical().framesInUse();

        vmm.close(accessFd);
        vmm.close(fd);
        long pinnedAfter = 0;
        for (long va = ram; va < ram + ramSize; va += 4096) {
            pinnedAfter += dev.physical().pinCount(vmm.frameAt(va));
        }
        say("close(): the context is released; every object destroyed, pinned pages left: " + pinnedAfter);
        long t1 = System.nanoTime();
        out.printf("  frames         %d in use before close%n", framesBefore);
        out.printf("  time           %.1f ms for the whole demo%n", (t1 - t0) / 1e6);
        return pinnedAfter == 0 ? 0 : 1;
    }
}
