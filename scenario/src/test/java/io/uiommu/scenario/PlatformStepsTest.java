package io.uiommu.scenario;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.Platform;
import io.uiommu.proc.UserProcess;
import io.uiommu.uapi.DevIommu;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The bind, attach, detach, dma and audit steps: reading, writing back, and replay verdicts. */
class PlatformStepsTest {
    private static final String SETUP = String.join("\n",
            "{\"step\": \"open\", \"as\": \"fd\"}",
            "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"save\": {\"out_ioas_id\": \"ioas\"}}",
            "{\"step\": \"mmap\", \"length\": 4096, \"as\": \"ram\", \"shared\": true}",
            "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_MAP\", \"args\": {\"flags\": "
                    + "\"IOMMU_IOAS_MAP_FIXED_IOVA|IOMMU_IOAS_MAP_READABLE\", \"ioas_id\": \"$ioas\", "
                    + "\"user_va\": \"$ram\", \"length\": 4096, \"iova\": \"MOCK_APERTURE_START\"}}",
            "{\"step\": \"bind\", \"fd\": \"$fd\", \"device\": \"dev0\", \"as\": \"dev\"}",
            "{\"step\": \"attach\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"pt\": \"$ioas\", \"as\": \"hwpt\"}");

    private static List<String> failures(String... lines) throws Exception {
        Scenario s = ScenarioReader.parse("t.jsonl", SETUP + "\n" + String.join("\n", lines));
        return new Replayer().replay(s).failures().stream().map(StepOutcome::format).toList();
    }

    private static String error(String line) {
        try {
            ScenarioReader.parse("t.jsonl", SETUP + "\n" + line);
        } catch (ScenarioException e) {
            return e.detail();
        }
        throw new AssertionError("no error for " + line);
    }

    @Test
    void stepsRoundTripThroughTheWriter() throws Exception {
        String text = SETUP + "\n" + String.join("\n",
                "{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"pasid\": 3, \"iova\": \"0x1000000\", \"op\": \"write\", "
                        + "\"fill\": 1, \"length\": 8, \"expect\": {\"fault\": \"MOCK_PERMISSION\", \"level\": 1, "
                        + "\"code\": 3, \"stage2\": false, \"bytes_done\": 0}}",
                "{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": 16777216, \"op\": \"read\", \"hex\": \"00\"}",
                "{\"step\": \"detach\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"pasid\": 3, \"expect\": {\"errno\": \"ENOENT\"}}",
                "{\"step\": \"audit\", \"enable\": false, \"expect_reports\": 0, \"expect_contains\": \"x\", \"clear\": true}");
        Scenario s = ScenarioReader.parse("t.jsonl", text);
        Scenario again = ScenarioReader.parse("t.jsonl", ScenarioWriter.write(s));
        assertThat(again.steps()).isEqualTo(s.steps());
    }

    @Test
    void readerRefusesMalformedSteps() {
        assertThat(error("{\"step\": \"bind\", \"fd\": \"$fd\", \"as\": \"d\"}")).isEqualTo("step bind needs \"device\"");
        assertThat(error("{\"step\": \"attach\", \"fd\": \"$fd\", \"dev\": \"$dev\"}")).isEqualTo("step attach needs \"pt\"");
        assertThat(error("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": 0, \"op\": \"copy\", \"length\": 1}"))
                .isEqualTo("\"op\" of dma is \"read\" or \"write\", not \"copy\"");
        assertThat(error("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": 0, \"op\": \"write\", \"length\": 1}"))
                .startsWith("a dma write needs");
        assertThat(error("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": 0, \"op\": \"read\"}"))
                .isEqualTo("dma needs \"hex\" or \"length\"");
        assertThat(error("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": 0, \"op\": \"read\", \"hex\": \"00\", "
                + "\"length\": 1}")).startsWith("dma takes \"hex\", or \"length\"");
        assertThat(error("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": 0, \"op\": \"read\", \"length\": 1, "
                + "\"expect\": {\"level\": 1}}")).contains("describe a \"fault\"");
        assertThat(error("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": 0, \"op\": \"read\", \"length\": 1, "
                + "\"expect\": {\"errno\": \"ENOENT\", \"fault\": \"X\"}}")).contains("has \"errno\"");
        assertThat(error("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": 0, \"op\": \"read\", \"length\": 1, "
                + "\"expect\": {\"faults\": \"X\"}}")).contains("has no member \"faults\" (did you mean fault?)");
        assertThat(error("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$nodev\", \"iova\": 0, \"op\": \"read\", \"length\": 1}"))
                .startsWith("variable $nodev is not set");
        assertThat(error("{\"step\": \"audit\", \"enable\": \"yes\"}")).contains("must be true or false");
        assertThat(error("{\"step\": \"bnd\"}")).contains("did you mean bind?");
    }

    @Test
    void wrongDmaExpectationsFail() throws Exception {
        assertThat(failures("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": \"MOCK_APERTURE_START\", "
                + "\"op\": \"write\", \"hex\": \"01\"}"))
                .singleElement().asString().contains("expected no fault, got MOCK_PERMISSION (code 0x3, level 1)");
        assertThat(failures("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": \"MOCK_APERTURE_START\", "
                + "\"op\": \"read\", \"length\": 4, \"expect\": {\"fault\": \"MOCK_NOT_PRESENT\"}}"))
                .singleElement().asString().contains("expected fault MOCK_NOT_PRESENT, got none");
        assertThat(failures("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": \"MOCK_APERTURE_START+4094\", "
                + "\"op\": \"read\", \"length\": 4, \"expect\": {\"fault\": \"MOCK_NOT_PRESENT\", \"level\": 2, \"code\": 9, "
                + "\"stage2\": true, \"bytes_done\": 1}}"))
                .singleElement().asString().contains("expected level 2, got 1").contains("expected code 0x9, got 0x2")
                .contains("expected a stage-2 fault, got stage 1").contains("expected 1 bytes done, got 2");
        assertThat(failures("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": \"MOCK_APERTURE_START\", "
                + "\"op\": \"read\", \"hex\": \"0001\"}")).singleElement().asString()
                .contains("byte 1 read 0x00, expected 0x01");
        assertThat(failures("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": 99, \"iova\": 0, \"op\": \"read\", \"length\": 1}"))
                .singleElement().asString().contains("expected success, got ENOENT");
        assertThat(failures("{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": 99, \"iova\": 0, \"op\": \"read\", \"length\": 1, "
                + "\"expect\": {\"errno\": \"ENOENT\"}}")).isEmpty();
        assertThat(failures("{\"step\": \"dma\", \"fd\": 77, \"dev\": \"$dev\", \"iova\": 0, \"op\": \"read\", \"length\": 1}"))
                .singleElement().asString().contains("fd 77 is not an open /dev/iommu");
    }

    @Test
    void bindAttachDetachVerdicts() throws Exception {
        assertThat(failures("{\"step\": \"bind\", \"fd\": \"$fd\", \"device\": \"dev0\", \"as\": \"d2\"}"))
                .singleElement().asString().contains("expected success, got EBUSY");
        assertThat(failures("{\"step\": \"bind\", \"fd\": \"$fd\", \"device\": \"dev1\", \"as\": \"d2\", "
                + "\"expect\": {\"errno\": \"EBUSY\"}}")).singleElement().asString()
                .contains("expected errno EBUSY, got success");
        assertThat(failures("{\"step\": \"attach\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"pt\": 99, "
                + "\"expect\": {\"errno\": \"ENOENT\"}}", "{\"step\": \"detach\", \"fd\": \"$fd\", \"dev\": \"$dev\"}",
                "{\"step\": \"detach\", \"fd\": \"$fd\", \"dev\": \"$dev\"}",
                "{\"step\": \"detach\", \"fd\": \"$fd\", \"dev\": \"$ioas\", \"expect\": {\"errno\": \"ENOENT\"}}",
                "{\"step\": \"expect_objects\", \"fd\": \"$fd\", \"types\": {\"HWPT_PAGING\": 0, \"DEVICE\": 1}}")).isEmpty();
        // A failed bind leaves its variable unset: a later step using it is skipped, not failed.
        Scenario s = ScenarioReader.parse("t.jsonl", SETUP + "\n{\"step\": \"bind\", \"fd\": \"$fd\", \"device\": \"nic\", "
                + "\"as\": \"x\"}\n{\"step\": \"detach\", \"fd\": \"$fd\", \"dev\": \"$x\"}");
        ReplayResult r = new Replayer().replay(s);
        assertThat(r.failures()).hasSize(1);
        assertThat(r.skipped()).isEqualTo(1);
    }

    @Test
    void auditStepChecksReportsThenClearsAndSwitches() throws Exception {
        DevIommu dev = new DevIommu(Platform.mock());
        StaleTranslationAuditor auditor = dev.iommu().auditor();
        Replayer.Machine machine = new Replayer.Machine() {
            public PhysicalMemory physical() {
                return dev.physical();
            }

            public int open(UserProcess p) {
                return dev.open(p);
            }

            public IommufdContext context(UserProcess p, int fd) {
                return DevIommu.contextOf(p, fd);
            }

            public IommuCore iommu() {
                return dev.iommu();
            }
        };
        // A stale cache entry, as a model's IOTLB reports one.
        long pa = dev.physical().allocateFrame() << 12;
        CacheFill fill = new CacheFill().begin(auditor);
        fill.add(auditor, pa, 0);
        dev.physical().writeLong(pa, 7);
        auditor.setEnabled(true);
        auditor.checkHit("mock", "IOTLB", "iova 0x0", fill);
        Scenario s = ScenarioReader.parse("t.jsonl", String.join("\n",
                "{\"step\": \"audit\", \"expect_reports\": 2}",
                "{\"step\": \"audit\", \"expect_contains\": \"PASID cache\"}",
                "{\"step\": \"audit\", \"expect_reports\": 1, \"expect_contains\": \"IOTLB entry iova 0x0\", \"clear\": true, "
                        + "\"enable\": false}",
                "{\"step\": \"audit\", \"expect_reports\": 0}"));
        ReplayResult r = new Replayer(() -> machine).replay(s);
        assertThat(r.failures().stream().map(StepOutcome::format).toList()).satisfiesExactly(
                f -> assertThat(f).contains("t.jsonl:1: audit: expected 2 stale-translation reports, got 1: mock IOTLB"),
                f -> assertThat(f).contains("t.jsonl:2: audit: no report contains \"PASID cache\""));
        assertThat(auditor.enabled()).isFalse();
        assertThat(auditor.reports()).isEmpty();
        assertThat(auditor.currentStep()).isEqualTo("line 4 (audit)");
    }

    @Test
    void headerPlatformPicksTheMachine() throws Exception {
        Scenario bad = ScenarioReader.parse("t.jsonl", "{\"uiommu_scenario\": 1, \"platform\": \"nowhere.json\"}\n"
                + "{\"step\": \"open\", \"as\": \"fd\"}");
        ReplayResult r = new Replayer().replay(bad);
        assertThat(r.failures()).singleElement().extracting(StepOutcome::format).asString()
                .contains("platform nowhere.json: cannot build the machine").contains("neither a preset platform");
        // An explicit platform wins over the header.
        assertThat(new Replayer(Platform.mock()).replay(bad).passed()).isTrue();
    }
}
