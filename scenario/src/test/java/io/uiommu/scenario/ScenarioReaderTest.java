package io.uiommu.scenario;

import io.uiommu.iommufd.Errno;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class ScenarioReaderTest {
    private static Scenario parse(String... lines) throws ScenarioException {
        return ScenarioReader.parse("t.jsonl", String.join("\n", lines) + "\n");
    }

    /** The error a bad scenario gives: its full one-line message. */
    private static String error(String... lines) {
        ScenarioException e = catchThrowableOfType(ScenarioException.class, () -> parse(lines));
        assertThat(e).as("scenario should be rejected").isNotNull();
        return e.getMessage();
    }

    @Test
    void commentsBlankLinesAndHeader() throws Exception {
        Scenario s = parse(
                "# a comment",
                "",
                "{\"uiommu_scenario\": 1, \"platform\": \"mock\", \"description\": \"d\"}",
                "   # indented comment",
                "{\"step\": \"open\", \"as\": \"fd\"}",
                "",
                "{\"step\": \"close\", \"fd\": \"$fd\"}");
        assertThat(s.header()).isEqualTo(new ScenarioHeader(1, "mock", "d"));
        assertThat(s.entries()).extracting(Scenario.Entry::line).containsExactly(5, 7);
        assertThat(s.steps()).containsExactly(new Step.Open("fd"), new Step.Close(Value.parse("$fd"), null));
    }

    @Test
    void headerIsOptional() throws Exception {
        Scenario s = parse("{\"step\": \"open\", \"as\": \"fd\"}");
        assertThat(s.header()).isEqualTo(ScenarioHeader.DEFAULT);
    }

    @Test
    void theCoreSubsetOfTheDocsReadsAsWritten() throws Exception {
        Scenario s = parse(
                "{\"uiommu_scenario\": 1, \"platform\": \"mock\", \"description\": \"subset\"}",
                "{\"step\": \"open\", \"as\": \"fd\"}",
                "{\"step\": \"mmap\", \"length\": 8192, \"as\": \"buf\", \"prot\": \"r\", \"shared\": true}",
                "{\"step\": \"mmap\", \"length\": \"0x1000\", \"as\": \"fixed\", \"addr\": \"0x10000000\"}",
                "{\"step\": \"write\", \"addr\": \"$fixed\", \"hex\": \"de ad be ef\"}",
                "{\"step\": \"write\", \"addr\": \"$fixed+4\", \"fill\": 255, \"length\": 4}",
                "{\"step\": \"read\", \"addr\": \"$fixed\", \"length\": 4, \"expect_hex\": \"deadbeef\"}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"save\": {\"out_ioas_id\": \"ioas\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_IOVA_RANGES\", \"args\": {\"ioas_id\": \"$ioas\","
                        + " \"num_iovas\": 4, \"allowed_iovas\": {\"array\": \"iommu_iova_range\", \"count\": 4}},"
                        + " \"expect\": {\"ret\": 0, \"allowed_iovas[0].start\": 0}, \"save\": {\"allowed_iovas[0].last\": \"last\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOW_IOVAS\", \"args\": {\"ioas_id\": \"$ioas\","
                        + " \"num_iovas\": 1, \"allowed_iovas\": {\"array\": \"iommu_iova_range\", \"items\": [{\"start\": 0, \"last\": 4095}]}}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_TEST_CMD\", \"args\": {\"op\": \"IOMMU_TEST_OP_MOCK_DOMAIN\","
                        + " \"id\": \"$ioas\"}, \"save\": {\"mock_domain.out_stdev_id\": \"stdev\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_UNMAP\", \"args\": {\"ioas_id\": \"$ioas\", \"iova\": 0,"
                        + " \"length\": 4096}, \"tolerate\": [\"ENOENT\"]}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_DESTROY\", \"args\": {\"id\": \"$ioas\"}, \"expect\": {\"errno\": \"EBUSY\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"VFIO_CHECK_EXTENSION\", \"arg\": \"VFIO_TYPE1v2_IOMMU\", \"expect\": {\"ret\": 1}}",
                "{\"step\": \"munmap\", \"addr\": \"$buf\", \"length\": 8192}",
                "{\"step\": \"close\", \"fd\": \"$fd\"}");
        assertThat(s.steps()).hasSize(15);
        assertThat(s.steps().get(1)).isEqualTo(new Step.Mmap(Value.of(8192), "buf", null, "r", true));
        assertThat(((Step.Write) s.steps().get(3)).hex()).isEqualTo("deadbeef");
        Step.Ioctl ranges = (Step.Ioctl) s.steps().get(7);
        assertThat(ranges.args().get("allowed_iovas"))
                .isEqualTo(new Arg.StructArray("iommu_iova_range", List.of(), Value.of(4)));
        assertThat(ranges.expect().ret()).isEqualTo(Value.of(0));
        assertThat(ranges.expect().fields()).containsOnlyKeys("allowed_iovas[0].start");
        assertThat(ranges.save()).isEqualTo(Map.of("allowed_iovas[0].last", "last"));
        Step.Ioctl unmap = (Step.Ioctl) s.steps().get(10);
        assertThat(unmap.tolerate()).containsExactly(Errno.ENOENT);
        Step.Ioctl check = (Step.Ioctl) s.steps().get(12);
        assertThat(check.arg()).isEqualTo(Value.parse("VFIO_TYPE1v2_IOMMU"));
    }

    @Test
    void stepLevelSizeGoesIntoTheSizeField() throws Exception {
        Scenario s = parse("{\"step\": \"open\", \"as\": \"fd\"}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"size\": 16, \"tail_hex\": \"01000000\","
                        + " \"expect\": {\"errno\": \"E2BIG\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"VFIO_IOMMU_MAP_DMA\", \"size\": 8, \"expect\": {\"errno\": \"EINVAL\"}}");
        Step.Ioctl alloc = (Step.Ioctl) s.steps().get(1);
        assertThat(alloc.args()).containsEntry("size", new Arg.Scalar(Value.of(16)));
        assertThat(alloc.tailHex()).isEqualTo("01000000");
        assertThat(((Step.Ioctl) s.steps().get(2)).args()).containsEntry("argsz", new Arg.Scalar(Value.of(8)));
    }

    @Test
    void errorsNameFileAndLine() {
        assertThat(error("{\"step\": \"open\", \"as\": \"fd\"}", "", "{\"step\": \"opne\", \"as\": \"x\"}"))
                .isEqualTo("t.jsonl:3: unknown step \"opne\" (did you mean open?)");
        assertThat(error("{\"step\": \"open\", \"as\": \"fd\", \"ass\": 1}"))
                .isEqualTo("t.jsonl:1: step open has no member \"ass\" (did you mean as?)");
        assertThat(error("{\"step\": \"open\"}")).isEqualTo("t.jsonl:1: step open needs \"as\"");
        assertThat(error("{\"as\": \"fd\"}")).startsWith("t.jsonl:1: a step needs a \"step\" member");
        assertThat(error("[1, 2]")).isEqualTo("t.jsonl:1: each line must be one JSON object");
        assertThat(error("{\"step\": \"open\", \"as\": \"fd\"")).startsWith("t.jsonl:1: bad JSON: ");
        assertThat(error("{\"step\": \"open\", \"as\": \"fd\"} {}")).startsWith("t.jsonl:1: bad JSON: ");
        assertThat(error("{\"step\": \"open\", \"as\": \"fd\", \"as\": \"fd2\"}")).contains("t.jsonl:1: bad JSON: Duplicate field 'as'");
        assertThat(error("{\"step\": \"open\", \"as\": \"my fd\"}")).contains("is not a variable name");
    }

    @Test
    void headerRules() {
        assertThat(error("{\"uiommu_scenario\": 2}"))
                .isEqualTo("t.jsonl:1: scenario format version 2 is not supported (this uiommu reads version 1)");
        assertThat(error("{\"uiommu_scenario\": 1, \"platform\": \" \"}"))
                .isEqualTo("t.jsonl:1: \"platform\" is a preset (mock, vtd, smmuv3, amd) or a platform file, not empty");
        assertThat(error("{\"step\": \"open\", \"as\": \"fd\"}", "{\"uiommu_scenario\": 1}"))
                .isEqualTo("t.jsonl:2: the header must be the first line of the scenario");
        assertThat(error("{\"uiommu_scenario\": 1, \"descripton\": \"x\"}"))
                .isEqualTo("t.jsonl:1: the header has no member \"descripton\" (did you mean description?)");
    }

    @Test
    void variablesMustBeSetBeforeUse() {
        assertThat(error("{\"step\": \"open\", \"as\": \"fd\"}", "{\"step\": \"close\", \"fd\": \"$df\"}"))
                .isEqualTo("t.jsonl:2: variable $df is not set by any earlier step (did you mean fd?)");
        assertThat(error("{\"step\": \"open\", \"as\": \"fd\"}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"args\": {\"flags\": \"$ioas\"},"
                        + " \"save\": {\"out_ioas_id\": \"ioas\"}}"))
                .isEqualTo("t.jsonl:2: variable $ioas is not set by any earlier step");
        assertThat(error("{\"step\": \"switch_process\", \"to\": \"child\"}"))
                .startsWith("t.jsonl:1: no process named child");
        assertThat(error("{\"step\": \"fork\", \"as\": \"main\"}"))
                .isEqualTo("t.jsonl:1: a process named main already exists");
    }

    @Test
    void ioctlMistakes() {
        String open = "{\"step\": \"open\", \"as\": \"fd\"}";
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALOC\"}"))
                .isEqualTo("t.jsonl:2: unknown ioctl IOMMU_IOAS_ALOC (did you mean IOMMU_IOAS_ALLOC?)");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_MAP\", \"args\": {\"lenght\": 0}}"))
                .isEqualTo("t.jsonl:2: struct iommu_ioas_map has no field lenght (did you mean length?)");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_TEST_CMD\", \"expect\": {\"mock_domain.out_hwpt\": 4}}"))
                .isEqualTo("t.jsonl:2: struct iommu_test_cmd has no field mock_domain.out_hwpt (did you mean mock_domain.out_hwpt_id?)");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"args\": {\"flags\": \"IOMMU_IOAS_MAP_FOO\"}}"))
                .startsWith("t.jsonl:2: iommu_ioas_alloc.flags: unknown constant IOMMU_IOAS_MAP_FOO");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"args\": {\"flags\": 1.5}}"))
                .isEqualTo("t.jsonl:2: iommu_ioas_alloc.flags: expected a number or a string expression, got a fraction");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"expect\": {\"errno\": \"ENOPE\"}}"))
                .startsWith("t.jsonl:2: unknown errno ENOPE");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"expect\": {\"errno\": \"EINVAL\", \"ret\": 0}}"))
                .isEqualTo("t.jsonl:2: expect has both \"ret\" and \"errno\"");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"VFIO_CHECK_EXTENSION\", \"args\": {\"x\": 1}}"))
                .isEqualTo("t.jsonl:2: VFIO_CHECK_EXTENSION takes an integer argument: give it as \"arg\"");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"arg\": 0, \"size\": 8}"))
                .startsWith("t.jsonl:2: \"arg\" passes the ioctl argument as is");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"size\": 8, \"args\": {\"size\": 8}}"))
                .isEqualTo("t.jsonl:2: size given twice: as \"size\" and in args");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"tail_hex\": \"123\"}"))
                .isEqualTo("t.jsonl:2: \"tail_hex\" has an odd number of hex digits");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"args\": {\"flags\": 18446744073709551616}}"))
                .isEqualTo("t.jsonl:2: iommu_ioas_alloc.flags: 18446744073709551616 does not fit in 64 bits");
    }

    @Test
    void pointerAndArrayMistakes() {
        String open = "{\"step\": \"open\", \"as\": \"fd\"}";
        String ranges = "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_IOVA_RANGES\", ";
        assertThat(error(open, ranges + "\"args\": {\"allowed_iovas\": {\"array\": \"iommu_iova_rnage\", \"count\": 1}}}"))
                .isEqualTo("t.jsonl:2: iommu_ioas_iova_ranges.allowed_iovas: unknown array type iommu_iova_rnage (did you mean iommu_iova_range?)");
        assertThat(error(open, ranges + "\"args\": {\"num_iovas\": {\"array\": \"u8\", \"count\": 1}}}"))
                .isEqualTo("t.jsonl:2: iommu_ioas_iova_ranges.num_iovas is not a 64-bit field, so it cannot hold a pointer");
        assertThat(error(open, ranges + "\"args\": {\"allowed_iovas\": {\"array\": \"iommu_iova_range\"}}}"))
                .isEqualTo("t.jsonl:2: iommu_ioas_iova_ranges.allowed_iovas: an array needs \"items\" or \"count\"");
        assertThat(error(open, ranges + "\"args\": {\"allowed_iovas\": {\"array\": \"iommu_iova_range\", \"items\": [{\"first\": 1}]}}}"))
                .isEqualTo("t.jsonl:2: struct iommu_iova_range has no field first");
        assertThat(error(open, ranges + "\"args\": {\"allowed_iovas\": {\"array\": \"iommu_iova_range\", \"count\": 1}},"
                + " \"expect\": {\"allowed_iovas[1].start\": 0}}"))
                .isEqualTo("t.jsonl:2: allowed_iovas[1].start is outside the array of 1");
        assertThat(error(open, ranges + "\"args\": {\"allowed_iovas\": {\"array\": \"iommu_iova_range\", \"count\": 1}},"
                + " \"expect\": {\"allowed_iovas[0].begin\": 0}}"))
                .isEqualTo("t.jsonl:2: allowed_iovas[0].begin: struct iommu_iova_range has no field begin");
        assertThat(error(open, ranges + "\"expect\": {\"allowed_iovas[0].start\": 0}}"))
                .startsWith("t.jsonl:2: allowed_iovas[0].start: allowed_iovas is not given as a pointer");
        assertThat(error(open, "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_GET_HW_INFO\", \"args\": {\"__reserved\": 1}}"))
                .isEqualTo("t.jsonl:2: iommu_hw_info.__reserved is an array of 3; give a list");
    }

    @Test
    void inlineArraysTakeLists() throws Exception {
        Scenario s = parse("{\"step\": \"open\", \"as\": \"fd\"}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_GET_HW_INFO\", \"args\": {\"__reserved\": [0, 1]},"
                        + " \"expect\": {\"errno\": \"EOPNOTSUPP\", \"__reserved\": [0, 1], \"__reserved[2]\": 0}}");
        Step.Ioctl i = (Step.Ioctl) s.steps().get(1);
        assertThat(i.args().get("__reserved")).isEqualTo(new Arg.Inline(List.of(Value.of(0), Value.of(1))));
        assertThat(i.expect().fields()).containsOnlyKeys("__reserved[0]", "__reserved[1]", "__reserved[2]");
    }

    @Test
    void memoryStepForms() {
        String mmap = "{\"step\": \"mmap\", \"length\": 4096, \"as\": \"buf\"}";
        assertThat(error(mmap, "{\"step\": \"write\", \"addr\": \"$buf\", \"hex\": \"00\", \"fill\": 1}"))
                .startsWith("t.jsonl:2: write needs one of");
        assertThat(error(mmap, "{\"step\": \"write\", \"addr\": \"$buf\", \"struct\": \"iommu_iova_range\", \"fields\": {\"end\": 1}}"))
                .isEqualTo("t.jsonl:2: struct iommu_iova_range has no field end");
        assertThat(error(mmap, "{\"step\": \"read\", \"addr\": \"$buf\", \"struct\": \"iommu_iova_range\"}"))
                .isEqualTo("t.jsonl:2: a struct read needs \"expect\" or \"save\"");
        assertThat(error(mmap, "{\"step\": \"read\", \"addr\": \"$buf\", \"expect_hex\": \"00\", \"save\": {\"x\": \"y\"}}"))
                .isEqualTo("t.jsonl:2: \"expect\" and \"save\" of a read go with \"struct\"");
        assertThat(error(mmap, "{\"step\": \"read\", \"addr\": \"$buf\", \"expect_fill\": 0}"))
                .isEqualTo("t.jsonl:2: read with \"expect_fill\" needs \"length\"");
        assertThat(error(mmap, "{\"step\": \"fd_read\", \"fd\": 3, \"addr\": \"$buf\"}"))
                .isEqualTo("t.jsonl:2: step fd_read needs \"count\"");
    }

    @Test
    void mmapOfAFile() throws Exception {
        String open = "{\"step\": \"open\", \"as\": \"fd\"}";
        Scenario s = parse(open, "{\"step\": \"mmap\", \"fd\": \"$fd\", \"offset\": 32768, \"length\": 4096,"
                + " \"shared\": true, \"as\": \"win\"}",
                "{\"step\": \"mmap\", \"fd\": \"$fd\", \"length\": 4096, \"expect\": {\"errno\": \"EINVAL\"}}");
        assertThat(s.steps().get(1)).isEqualTo(new Step.Mmap(Value.of(4096), "win", null, null, true, Value.variable("fd"),
                Value.of(0x8000), null));
        // Without "as", with the offset defaulting to 0 and an expectation.
        assertThat(s.steps().get(2)).isEqualTo(new Step.Mmap(Value.of(4096), null, null, null, false, Value.variable("fd"),
                Value.of(0), Expect.errno(Errno.EINVAL)));
        assertThat(error(open, "{\"step\": \"mmap\", \"fd\": \"$fd\", \"length\": 4096, \"addr\": 4096}"))
                .isEqualTo("t.jsonl:2: mmap of an fd takes no \"addr\" (no MAP_FIXED of files)");
        assertThat(error(open, "{\"step\": \"mmap\", \"length\": 4096, \"as\": \"m\", \"offset\": 4096}"))
                .isEqualTo("t.jsonl:2: \"offset\" and \"expect\" of mmap go with \"fd\"");
        assertThat(error(open, "{\"step\": \"mmap\", \"length\": 4096}")).isEqualTo("t.jsonl:2: step mmap needs \"as\"");
    }

    @Test
    void unreadableFilesAreReportedNotThrown() {
        ScenarioException e = catchThrowableOfType(ScenarioException.class,
                () -> ScenarioReader.read(Path.of("no/such/file.jsonl")));
        assertThat(e.getMessage()).isEqualTo("no/such/file.jsonl: cannot read: no such file");
        assertThat(e.line()).isZero();
    }
}
