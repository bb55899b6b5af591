package io.uiommu.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

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
}
