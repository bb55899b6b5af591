package io.uiommu.scenario;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The dirty_bitmap step: reading, writing back, and replay verdicts on the mock platform. */
class DirtyBitmapStepTest {
    private static final String SETUP = String.join("\n",
            "{\"uiommu_scenario\": 1, \"platform\": \"mock\"}",
            "{\"step\": \"open\", \"as\": \"fd\"}",
            "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"save\": {\"out_ioas_id\": \"ioas\"}}",
            "{\"step\": \"mmap\", \"length\": 32768, \"as\": \"ram\", \"shared\": true}",
            "{\"step\": \"bind\", \"fd\": \"$fd\", \"device\": \"dev0\", \"as\": \"dev\"}",
            "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_HWPT_ALLOC\", \"args\": {\"flags\": "
                    + "\"IOMMU_HWPT_ALLOC_DIRTY_TRACKING\", \"dev_id\": \"$dev\", \"pt_id\": \"$ioas\"}, "
                    + "\"save\": {\"out_hwpt_id\": \"hwpt\"}}",
            "{\"step\": \"attach\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"pt\": \"$hwpt\"}",
            "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_MAP\", \"args\": {\"flags\": "
                    + "\"IOMMU_IOAS_MAP_FIXED_IOVA|IOMMU_IOAS_MAP_READABLE|IOMMU_IOAS_MAP_WRITEABLE\", \"ioas_id\": \"$ioas\", "
                    + "\"user_va\": \"$ram\", \"length\": 32768, \"iova\": \"MOCK_APERTURE_START\"}}",
            "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_HWPT_SET_DIRTY_TRACKING\", \"args\": {\"flags\": "
                    + "\"IOMMU_HWPT_DIRTY_TRACKING_ENABLE\", \"hwpt_id\": \"$hwpt\"}}",
            "{\"step\": \"dma\", \"fd\": \"$fd\", \"dev\": \"$dev\", \"iova\": \"MOCK_APERTURE_START+0x2000\", \"op\": \"write\", "
                    + "\"fill\": 1, \"length\": 8192}");

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

    private static String step(String rest) {
        return "{\"step\": \"dirty_bitmap\", \"fd\": \"$fd\", \"hwpt\": \"$hwpt\", \"iova\": \"MOCK_APERTURE_START\", "
                + "\"length\": 32768" + rest + "}";
    }

    @Test
    void roundTripsThroughTheWriter() throws Exception {
        String text = SETUP + "\n" + String.join("\n",
                step(", \"page_size\": 2048, \"no_clear\": true, \"expect_pages\": [4, \"5..7\", \"0x9\"]"),
                step(", \"expect\": {\"errno\": \"EINVAL\"}"));
        Scenario s = ScenarioReader.parse("t.jsonl", text);
        assertThat(ScenarioReader.parse("t.jsonl", ScenarioWriter.write(s)).steps()).isEqualTo(s.steps());
    }

    @Test
    void readerRefusesBadPageLists() {
        assertThat(error(step(", \"expect_pages\": 3"))).contains("must be an array");
        assertThat(error(step(", \"expect_pages\": [\"7..3\"]"))).contains("is not a page number");
        assertThat(error(step(", \"expect_pages\": [\"x\"]"))).contains("is not a page number");
        assertThat(error("{\"step\": \"dirty_bitmap\", \"fd\": \"$fd\", \"iova\": 0, \"length\": 1}"))
                .isEqualTo("step dirty_bitmap needs \"hwpt\"");
    }

    @Test
    void reportsAndClearsTheDevicesWrites() throws Exception {
        // The mock's I/O page is 2 KiB: the 8 KiB write at +8 KiB dirtied 4 of them, bits 4..7.
        assertThat(failures(step(", \"page_size\": 2048, \"no_clear\": true, \"expect_pages\": [\"4..7\"]"),
                step(", \"expect_pages\": [\"2..3\"]"), step(", \"expect_pages\": []"))).isEmpty();
    }

    @Test
    void wrongPagesAndErrnoFail() throws Exception {
        assertThat(failures(step(", \"expect_pages\": [2]"))).singleElement().asString()
                .contains("expected dirty pages [2], got [2..3]");
        assertThat(failures(step(", \"expect_pages\": [9]"))).singleElement().asString()
                .contains("expect_pages entry 9 is past the last page 7");
        assertThat(failures(step(", \"page_size\": 65536, \"expect_pages\": []"))).singleElement().asString()
                .contains("EINVAL");
        assertThat(failures(step(", \"page_size\": 65536, \"expect\": {\"errno\": \"EINVAL\"}"))).isEmpty();
    }
}
