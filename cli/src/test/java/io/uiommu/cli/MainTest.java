package io.uiommu.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class MainTest {
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

    private Path file(String name, String... lines) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, String.join("\n", lines) + "\n");
        return p;
    }

    @Test
    void aPassingScenarioExitsZeroWithASummary() throws Exception {
        assertThat(run("replay", "../examples/qemu-boot.jsonl")).isZero();
        assertThat(out).matches("(?s)replay: 1 file, \\d+ steps, 0 failures, 0 skipped, [0-9.]+ s\\n");
    }

    @Test
    void eachFailingStepIsOneLineAndTheStatusIsOne() throws Exception {
        Path f = file("wrong.jsonl",
                "{\"step\": \"open\", \"as\": \"fd\"}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"expect\": {\"errno\": \"EEXIST\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"expect\": {\"out_ioas_id\": 7}}");
        assertThat(run("replay", f.toString())).isEqualTo(1);
        assertThat(out.lines().toList()).hasSize(3);
        assertThat(out).contains(f + ":2: ioctl IOMMU_IOAS_ALLOC: expected errno EEXIST, got ret 0\n");
        assertThat(out).contains(f + ":3: ioctl IOMMU_IOAS_ALLOC: out_ioas_id: expected 7, got 2\n");
        assertThat(out).contains("replay: 1 file, 3 steps, 2 failures, 0 skipped");
    }

    @Test
    void unreadableFilesFailWithoutAStackTrace() throws Exception {
        Path bad = file("bad.jsonl", "{\"step\": \"open\", \"as\": \"fd\"}", "{\"step\": \"mmap\", \"length\": }");
        assertThat(run("replay", bad.toString(), dir.resolve("missing.jsonl").toString())).isEqualTo(1);
        assertThat(out).contains(bad + ":2: bad JSON: ");
        assertThat(out).contains("missing.jsonl: cannot read: no such file");
        assertThat(out).contains("2 unreadable files");
        assertThat(out).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void verbosePrintsEveryStep() throws Exception {
        Path f = file("ok.jsonl", "{\"uiommu_scenario\": 1, \"description\": \"tiny\"}",
                "{\"step\": \"open\", \"as\": \"fd\"}", "{\"step\": \"label\", \"name\": \"end\"}",
                "{\"step\": \"close\", \"fd\": \"$fd\"}");
        assertThat(run("replay", "--verbose", f.toString())).isZero();
        assertThat(out).contains("#    " + f + ": tiny\n");
        assertThat(out).contains("ok   " + f + ":2: open: fd 3\n");
        assertThat(out).contains("--   " + f + ":3: label end\n");
        assertThat(out).contains("ok   " + f + ":4: [end] close: ret 0\n");
        assertThat(out).contains("replay: 1 file, 2 steps, 0 failures");
    }

    @Test
    void aDirectoryMeansItsScenarioFiles() throws Exception {
        file("a.jsonl", "{\"step\": \"open\", \"as\": \"fd\"}");
        file("b.jsonl", "{\"step\": \"open\", \"as\": \"fd\"}");
        file("notes.txt", "not a scenario");
        assertThat(run("replay", dir.toString())).isZero();
        assertThat(out).contains("replay: 2 files, 2 steps, 0 failures");
    }

    @Test
    void versionHelpAndUsage() {
        assertThat(run("--version")).isZero();
        assertThat(out).startsWith("uiommu ").contains("Linux 6.12");
        assertThat(run("replay", "--help")).isZero();
        assertThat(out).contains("--verbose");
        assertThat(run("replay")).isEqualTo(2);
        assertThat(out).contains("Missing required parameter: 'FILE'");
        assertThat(run("frobnicate")).isEqualTo(2);
        assertThat(out).contains("Unmatched argument at index 0: 'frobnicate'");
    }
}
