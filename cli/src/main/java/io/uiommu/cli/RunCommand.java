package io.uiommu.cli;

import io.uiommu.server.ShimLibrary;
import io.uiommu.server.UiommuServer;
import io.uiommu.uapi.DevIommu;
import io.uiommu.platform.Platform;
import io.uiommu.scenario.ScenarioException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code uiommu run -- CMD ARGS...}: runs a program with /dev/iommu served by an embedded daemon on
 * a private socket (the shim preloaded, the socket in $UIOMMU_SOCKET), like umockdev-run. Exits
 * with the program's status (128 + the signal number if a signal ended it).
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run CMD with /dev/iommu served by uiommu (LD_PRELOAD shim, private daemon).",
                "Exits with CMD's exit status."})
final class RunCommand implements Callable<Integer> {
    @Mixin
    PlatformOption platformOption = new PlatformOption();

    @Option(names = "--record", paramLabel = "FILE",
            description = "Write the session as a scenario file that `uiommu replay` runs.")
    Path record;

    @Parameters(arity = "1..*", paramLabel = "CMD", description = "The program and its arguments (after --).")
    List<String> command;

    private final PrintStream err;

    RunCommand() {
        this(System.err);
    }

    RunCommand(PrintStream err) {
        this.err = err;
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        DevIommu dev;
        try {
            Platform platform = platformOption.load();
            dev = platform == null ? new DevIommu() : new DevIommu(platform);
        } catch (ScenarioException e) {
            err.println("uiommu run: --platform " + e.getMessage());
            return Main.USAGE;
        }
        Path shim;
        try {
            shim = ShimLibrary.path();
        } catch (IOException e) {
            err.println("uiommu run: " + e.getMessage());
            return 1;
        }
        Path dir = Files.createTempDirectory("uiommu-run",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        SessionRecorder recorder = record == null ? null
                : new SessionRecorder(record, platformOption.given() == null ? "mock" : platformOption.given());
        try (UiommuServer server = UiommuServer.start(dir.resolve("sock"), dev)) {
            if (recorder != null) {
                server.setCallListener(recorder);
            }
            ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
            String preload = pb.environment().get("LD_PRELOAD");
            pb.environment().put("LD_PRELOAD", preload == null || preload.isEmpty() ? shim.toString()
                    : shim + ":" + preload);
            pb.environment().put(UiommuServer.SOCKET_ENV, server.socketPath().toString());
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                err.println("uiommu run: cannot run " + command.getFirst() + ": " + e.getMessage());
                return 127;
            }
            int status = p.waitFor();
            if (recorder != null) {
                server.setCallListener(null);
                recorder.close();
                err.println("uiommu run: recorded the session to " + record);
            }
            return status;
        } finally {
            Files.deleteIfExists(dir.resolve("sock"));
            Files.deleteIfExists(dir);
        }
    }
}
