package io.uiommu.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** --platform on demo and replay. */
class PlatformOptionTest {
    @TempDir
    Path dir;

    private String out;

    private int run(String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
        int status = Main.run(ps, ps, args);
        out = buf.toString(StandardCharsets.UTF_8);
        return status;
    }

    @Test
    void plainDemoIsTheMockDomainTour() {
        assertThat(run("demo")).isZero();
        assertThat(out).startsWith("uiommu demo: /dev/iommu in user space, on the kernel selftest's mock IOMMU");
    }

    @Test
    void demoOnTheMockPlatformBindsAttachesAndDmas() {
        assertThat(run("demo", "--platform", "mock")).isZero();
        assertThat(out).contains("device dev0     00:01.0 behind mock0")
                .contains("IOMMU_TEST_OP_UI_DEVICE_BIND -> dev_id 1")
                .contains("binding it again: EBUSY")
                .contains("guest RAM reads \"DMA from dev0\"")
                .contains("then fault MOCK_NOT_PRESENT (code 0x2, level 1)")
                .contains("owned = false");
    }

    @Test
    void vtdDemoShowsNestingAndCatchesTheMissingInvalidation() {
        assertThat(run("demo", "--platform", "vtd")).isZero();
        assertThat(out).contains("nesting on VT-d")
                .contains("DMA through both stages: page A \"first write\"")
                .contains("forgets to invalidate: page A \"stale write\"")
                .contains("AUDIT: missing invalidation caught: vtd IOTLB entry")
                .contains("then: page A \"................\", page B \"after invalidate\"")
                .contains("1 stale-translation report(s)");
    }

    @Test
    void smmuv3DemoShowsNestingThroughTheVsmmu() {
        assertThat(run("demo", "--platform", "smmuv3")).isZero();
        assertThat(out).contains("nesting on SMMUv3")
                .contains("DMA through both stages: page A \"first write\"")
                .contains("forgets the TLBI: page A \"stale write\"")
                .contains("AUDIT: missing invalidation caught: smmuv3 TLB entry VMID 1 ASID 7")
                .contains("then: page A \"................\", page B \"after invalidate\"");
    }

    @Test
    void amdDemoRunsWithoutANestingSection() {
        assertThat(run("demo", "--platform", "amd")).isZero();
        assertThat(out).contains("fault IO_PAGE_FAULT").contains("no nesting section for this platform's model yet");
    }

    @Test
    void demoOnAPlatformFile() throws Exception {
        Path p = dir.resolve("two.json");
        Files.writeString(p, "{\"uiommu_platform\": 1, \"name\": \"two\", \"iommus\": [{\"name\": \"m\", \"model\": \"mock\"}],"
                + " \"devices\": [{\"name\": \"fpga\", \"bdf\": \"3a:00.0\"}]}");
        assertThat(run("demo", "--platform", p.toString())).isZero();
        assertThat(out).contains("platform \"two\"").contains("requester id 0x3a00").contains("\"DMA from fpga\"");
    }

    @Test
    void badPlatformIsOneLineAndStatusOne() {
        assertThat(run("demo", "--platform", "vdt")).isEqualTo(1);
        assertThat(out.strip()).isEqualTo("uiommu demo: --platform vdt: neither a preset platform (mock, vtd, smmuv3, amd)"
                + " nor a platform file (did you mean vtd?)");
        assertThat(run("replay", "--platform", "nope.json", "../examples/platform-dma.jsonl")).isEqualTo(1);
        assertThat(out).contains("replay: --platform nope.json: neither a preset");
    }

    @Test
    void replayOnAnExplicitPlatform() throws Exception {
        Path s = dir.resolve("s.jsonl");
        Files.writeString(s, "{\"uiommu_scenario\": 1, \"platform\": \"mine.json\"}\n"
                + "{\"step\": \"open\", \"as\": \"fd\"}\n"
                + "{\"step\": \"bind\", \"fd\": \"$fd\", \"device\": \"dev1\", \"as\": \"d\"}\n");
        // The header's platform file does not exist beside the scenario...
        assertThat(run("replay", s.toString())).isEqualTo(1);
        assertThat(out).contains("platform mine.json: cannot build the machine");
        // ...--platform replaces it.
        assertThat(run("replay", "--platform", "mock", s.toString())).isZero();
        // A platform file beside the scenario is found relative to it.
        Files.writeString(dir.resolve("mine.json"), "{\"uiommu_platform\": 1, \"name\": \"mine\", \"iommus\":"
                + " [{\"name\": \"m\", \"model\": \"mock\"}], \"devices\": [{\"name\": \"dev1\", \"bdf\": \"00:07.0\"}]}");
        assertThat(run("replay", s.toString())).isZero();
    }
}
