package io.uiommu.cli;

import io.uiommu.server.ShimLibrary;
import io.uiommu.server.UiommuServer;
import io.uiommu.uapi.DevIommu;
import io.uiommu.platform.Platform;
import io.uiommu.scenario.ScenarioException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code uiommu serve [--socket PATH]}: the daemon in the foreground. Clients run with
 * LD_PRELOAD=the shim and UIOMMU_SOCKET=PATH (both printed at start); SIGINT or SIGTERM stops it.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve /dev/iommu to processes started with the uiommu shim preloaded.",
                "Prints the environment a client needs; stops on SIGINT/SIGTERM."})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--socket", paramLabel = "PATH",
            description = "Where to listen (mode 0600). Default: $XDG_RUNTIME_DIR/uiommu.sock, else /tmp/uiommu-UID/uiommu.sock.")
    Path socket;

    @Mixin
    PlatformOption platformOption = new PlatformOption();

    private final PrintStream out;

    ServeCommand() {
        this(System.out);
    }

    ServeCommand(PrintStream out) {
        this.out = out;
    }

    static Path defaultSocket() {
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        if (runtime != null && !runtime.isEmpty()) {
            return Path.of(runtime, "uiommu.sock");
        }
        String uid = System.getProperty("user.name", "user");
        return Path.of(System.getProperty("java.io.tmpdir"), "uiommu-" + uid, "uiommu.sock");
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        DevIommu dev;
        try {
            Platform platform = platformOption.load();
            dev = platform == null ? new DevIommu() : new DevIommu(platform);
        } catch (ScenarioException e) {
            out.println("uiommu serve: --platform " + e.getMessage());
            return Main.USAGE;
        }
        Path path = socket != null ? socket : defaultSocket();
        UiommuServer server = UiommuServer.start(path, dev);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        out.println("uiommu: serving /dev/iommu on " + server.socketPath());
        try {
            out.println("  export LD_PRELOAD=" + ShimLibrary.path());
        } catch (IOException e) {
            out.println("  (no shim in this build: " + e.getMessage() + ")");
        }
        out.println("  export " + UiommuServer.SOCKET_ENV + "=" + server.socketPath());
        out.flush();
        stopped.await();
        return 0;
    }
}
