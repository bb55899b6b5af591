package io.uiommu.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Builds the test C programs with cc and runs clients under the shim against a daemon. */
final class NativeClients {
    static final Path MODULE = Path.of("").toAbsolutePath();
    static final Path ROOT = MODULE.getParent();
    static final Path OUT = MODULE.resolve("target/test-native");

    private NativeClients() {
    }

    /** Compiles src/test/c/NAME.c (once per run) and returns the program. */
    static synchronized Path program(String name, String... extraFlags) throws IOException, InterruptedException {
        return compile(MODULE.resolve("src/test/c/" + name + ".c"), name, extraFlags);
    }

    /** Compiles native/tests/NAME.c, the project's own C clients (the end-to-end program). */
    static synchronized Path nativeTest(String name) throws IOException, InterruptedException {
        return compile(ROOT.resolve("native/tests/" + name + ".c"), name);
    }

    private static Path compile(Path src, String name, String... extraFlags) throws IOException, InterruptedException {
        Path exe = OUT.resolve(name);
        if (Files.exists(exe) && Files.getLastModifiedTime(exe).compareTo(Files.getLastModifiedTime(src)) > 0) {
            return exe;
        }
        Files.createDirectories(OUT);
        List<String> cmd = new ArrayList<>(List.of("cc", "-O2", "-Wall", "-I" + ROOT.resolve("native/include"), "-o",
                exe.toString(), src.toString()));
        cmd.addAll(List.of(extraFlags));
        Result r = run(new ProcessBuilder(cmd), 120);
        if (r.status != 0) {
            throw new IOException("cc failed: " + r.output);
        }
        return exe;
    }

    record Result(int status, String output) {
    }

    /** A ProcessBuilder with the shim preloaded and the daemon's socket in the environment. */
    static ProcessBuilder underShim(UiommuServer server, String... command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("LD_PRELOAD", ShimLibrary.path().toString());
        pb.environment().put(UiommuServer.SOCKET_ENV, server.socketPath().toString());
        return pb;
    }

    static Result run(ProcessBuilder pb, int timeoutSeconds) throws IOException, InterruptedException {
        pb.redirectErrorStream(true);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + pb.command());
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
