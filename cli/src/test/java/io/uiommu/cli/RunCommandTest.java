package io.uiommu.cli;

import io.uiommu.scenario.ReplayResult;
import io.uiommu.scenario.Replayer;
import io.uiommu.scenario.Scenario;
import io.uiommu.scenario.ScenarioReader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class RunCommandTest {
    private String err;

    private int run(String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
        int status = Main.run(ps, ps, args);
        err = buf.toString(StandardCharsets.UTF_8);
        return status;
    }

    @Test
    void exitsWithTheProgramsStatusAndGivesItTheShimAndTheSocket() {
        assertThat(run("run", "--", "sh", "-c", "case \"$LD_PRELOAD\" in *libuiommu-shim*) ;; *) exit 9;; esac; "
                + "test -S \"$UIOMMU_SOCKET\" || exit 8; exit 3")).isEqualTo(3);
    }

    @Test
    void aProgramThatCannotStartIs127() {
        assertThat(run("run", "--", "/nonexistent/program")).isEqualTo(127);
    }

    @Test
    void anUnknownPlatformIsAUsageError() {
        assertThat(run("run", "--platform", "no-such-platform", "--", "true")).isEqualTo(Main.USAGE);
    }

    @Test
    void aPlatformPresetServes() {
        assertThat(run("run", "--platform", "vtd", "--", "true")).isZero();
    }

    /** A C client's session, recorded by --record, replays in-process with every step passing. */
    @Test
    void aRecordedSessionReplays(@TempDir Path dir) throws Exception {
        Path client = dir.resolve("client");
        Path source = Path.of("..", "server", "src", "test", "c", "client.c").toAbsolutePath().normalize();
        Path header = Path.of("..", "native", "include").toAbsolutePath().normalize();
        Process cc = new ProcessBuilder("cc", "-O2", "-I" + header, "-o", client.toString(), source.toString())
                .inheritIO().start();
        assertThat(cc.waitFor()).as("cc client.c").isZero();
        Path recording = dir.resolve("session.jsonl");

        assertThat(run("run", "--record", recording.toString(), "--", client.toString(), "basic")).isZero();

        Scenario s = ScenarioReader.read(recording);
        String text = Files.readString(recording);
        assertThat(text).contains("\"cmd\":\"IOMMU_IOAS_MAP\"", "\"errno\":\"ENOENT\"", "\"errno\":\"EFAULT\"");
        ReplayResult result = new Replayer().replay(s);
        assertThat(result.failures()).isEmpty();
        assertThat(result.steps()).isGreaterThan(10);
    }
}
