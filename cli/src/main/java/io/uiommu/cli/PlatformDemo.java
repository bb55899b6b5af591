package io.uiommu.cli;

import io.uiommu.iommu.StaleTranslation;
import io.uiommu.iommufd.Errno;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IoctlCall;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static io.uiommu.uapi.UapiConstants.*;

/**
 * {@code uiommu demo --platform P}: a machine built from a platform, driven the way a C client
 * drives it — uiommu's IOMMU_TEST_CMD ops list the devices, bind one, attach it to an IOAS and make
 * it DMA through the IOMMU model, with the stale-translation auditor watching. Units that support
 * nesting get the nested section of their vendor ({@link NestingDemo}) when their model has one.
 */
final class PlatformDemo {
    /** Inside every model's aperture (the mock's is [16 MiB, 2 GiB)). */
    static final long RAM_IOVA = 1L << 30;
    static final long RAM_SIZE = 2L << 20;

    private final PrintStream out;
    private final Platform platform;
    private final DevIommu dev;
    private final SimulatedProcess vmm;
    private int fd;
    private int step;

    private PlatformDemo(PrintStream out, Platform platform) {
        this.out = out;
        this.platform = platform;
        this.dev = new DevIommu(platform);
        this.vmm = new SimulatedProcess(dev.physical());
    }

    /** Runs the demo; 0 when every step behaved as expected. */
    static int run(PrintStream out, Platform platform) {
        DevIommu probe;
        try {
            probe = new DevIommu(platform);
        } catch (IllegalArgumentException e) {
            out.println("uiommu demo: " + e.getMessage());
            return 1;
        }
        if (probe.iommu().devices().isEmpty()) {
            out.println("uiommu demo: platform " + platform.name() + " has no devices to show");
            return 1;
        }
        return new PlatformDemo(out, platform).run();
    }

    void say(String what) {
        out.printf("%2d. %s%n", ++step, what);
    }

    void detail(String fmt, Object... args) {
        out.printf("      " + fmt + "%n", args);
    }

    IoctlCall ok(IoctlCall c) {
        return c.call(vmm, fd);
    }

    IoctlCall test(int op, int id) {
        return IoctlCall.of(Ioctl.IOMMU_TEST_CMD).set("op", op).set("id", id);
    }

    private int run() {
        long t0 = System.nanoTime();
        out.println("uiommu demo: platform \"" + platform.name() + "\"");
        for (IommuUnit u : platform.iommus()) {
            out.printf("  IOMMU %-8s model %-6s IOVA %d bits, PA %d bits, PASID %d bits%s%s%s%n", u.name(), u.model(),
                    u.inputAddressBits(), u.outputAddressBits(), u.pasidBits(), u.nesting() ? ", nesting" : "",
                    u.dirtyTracking() ? ", dirty tracking" : "", u.pri() ? ", PRI" : "");
        }
        for (PciDevice d : platform.devices()) {
            out.printf("  device %-8s %s behind %s%s%s%n", d.name(), d.bdf(), d.iommu(),
                    d.pasidBits() > 0 ? ", PASID " + d.pasidBits() + " bits" : "", d.ats() ? ", ATS" : "");
        }
        out.println();

        fd = dev.open(vmm);
        say("open(\"/dev/iommu\") = " + fd);
        ok(test(IOMMU_TEST_OP_UI_AUDIT, 0).set("audit.flags", UI_AUDIT_ENABLE));
        say("IOMMU_TEST_OP_UI_AUDIT: stale-translation audit on (every cache hit re-checks its descriptors)");

        IoctlCall info = ok(test(IOMMU_TEST_OP_UI_PLATFORM_DEVICE_INFO, 0));
        PciDevice first = platform.devices().getFirst();
        say(String.format("IOMMU_TEST_OP_UI_PLATFORM_DEVICE_INFO 0 -> %s, requester id 0x%04x, stream id 0x%x",
                first.name(), info.get("platform_device_info.out_requester_id"),
                info.get("platform_device_info.out_stream_id")));
        int devId = (int) ok(test(IOMMU_TEST_OP_UI_DEVICE_BIND, 0)).get("device_bind.out_dev_id");
        say("IOMMU_TEST_OP_UI_DEVICE_BIND -> dev_id " + devId + "  (DMA ownership claimed, as VFIO's bind does)");
        Errno again = test(IOMMU_TEST_OP_UI_DEVICE_BIND, 0).invoke(vmm, fd);
        detail("binding it again: %s", again);

        int ioas = (int) ok(IoctlCall.of(Ioctl.IOMMU_IOAS_ALLOC)).get("out_ioas_id");
        long ram = vmm.mmap(RAM_SIZE, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        ok(IoctlCall.of(Ioctl.IOMMU_IOAS_MAP)
                .set("flags", IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
                .set("ioas_id", ioas).set("user_va", ram).set("length", RAM_SIZE).set("iova", RAM_IOVA));
        say(String.format("IOAS %d maps %d MiB of guest RAM at IOVA 0x%x", ioas, RAM_SIZE >> 20, RAM_IOVA));
        int hwpt = (int) ok(test(IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId).set("device_attach.pt_id", ioas))
                .get("device_attach.out_hwpt_id");
        say("IOMMU_TEST_OP_UI_DEVICE_ATTACH " + first.name() + " -> HWPT " + hwpt + " (auto domain of IOAS " + ioas + ")");

        byte[] msg = ("DMA from " + first.name()).getBytes(StandardCharsets.US_ASCII);
        long buf = vmm.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        vmm.write(buf, msg, 0, msg.length);
        IoctlCall w = ok(test(IOMMU_TEST_OP_UI_DMA, devId).set("dma.flags", UI_DMA_WRITE).set("dma.iova", RAM_IOVA + 0x80)
                .set("dma.length", msg.length).set("dma.uptr", buf));
        byte[] seen = new byte[msg.length];
        vmm.read(ram + 0x80, seen, 0, seen.length);
        say(String.format("IOMMU_TEST_OP_UI_DMA write of %d bytes at IOVA 0x%x: guest RAM reads \"%s\"",
                w.get("dma.out_bytes_done"), RAM_IOVA + 0x80, new String(seen, StandardCharsets.US_ASCII)));

        IoctlCall f = ok(test(IOMMU_TEST_OP_UI_DMA, devId).set("dma.iova", RAM_IOVA + RAM_SIZE - 8).set("dma.length", 16)
                .set("dma.uptr", buf));
        say(String.format("a DMA read running past the mapping: %d bytes, then fault %s (code 0x%x, level %d)",
                f.get("dma.out_bytes_done"), faultName((int) f.get("dma.out_fault_name"), buf),
                f.get("dma.out_fault_code"), f.get("dma.out_fault_level")));

        boolean nested = NestingDemo.run(this, devId, ioas, ram);

        IoctlCall audit = ok(test(IOMMU_TEST_OP_UI_AUDIT, 0));
        say("IOMMU_TEST_OP_UI_AUDIT: " + audit.get("audit.out_count") + " stale-translation report(s)");
        for (StaleTranslation r : dev.iommu().auditor().reports()) {
            detail("STALE: %s", r);
        }
        vmm.close(fd);
        say("close(): " + first.name() + " is unbound and back in its blocking domain: owned = "
                + dev.iommu().device(first.name()).owned());
        out.printf("  time           %.1f ms%s%n", (System.nanoTime() - t0) / 1e6,
                nested ? "" : "  (no nesting section for this platform's model yet)");
        return 0;
    }

    String faultName(int index, long scratch) {
        if (index == 0) {
            return "none";
        }
        IoctlCall c = ok(test(IOMMU_TEST_OP_UI_FAULT_NAME, index).set("fault_name.uptr", scratch + 2048)
                .set("fault_name.length", 256));
        byte[] b = new byte[(int) c.get("fault_name.out_length") - 1];
        vmm.read(scratch + 2048, b, 0, b.length);
        return new String(b, StandardCharsets.US_ASCII);
    }

    int fd() {
        return fd;
    }

    DevIommu dev() {
        return dev;
    }

    SimulatedProcess vmm() {
        return vmm;
    }

    Platform platform() {
        return platform;
    }
}
