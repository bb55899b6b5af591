package io.uiommu.cli;

import io.uiommu.scenario.ReplayResult;
import io.uiommu.scenario.Replayer;
import io.uiommu.scenario.Scenario;
import io.uiommu.scenario.ScenarioException;
import io.uiommu.scenario.ScenarioReader;
import io.uiommu.scenario.StepOutcome;
import io.uiommu.platform.Platform;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code uiommu replay FILE...}: runs scenario files, each on a fresh machine, and reports every
 * step that did not do what the file expects. Exit status 0 when all passed, 1 otherwise.
 */
@Command(name = "replay", mixinStandardHelpOptions = true,
        description = {"Replay scenario files (JSON Lines, see docs/scenarios.md) against a fresh /dev/iommu each,",
                "on the platform each header names (or the one --platform gives).",
                "Prints one line per failing step and a summary; exits 1 if any step failed or any file could not be read."})
final class ReplayCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "FILE", description = "Scenario files; a directory means its *.jsonl files.")
    List<Path> files;

    @Option(names = {"-v", "--verbose"}, description = "Print every step with its result, not only failures.")
    boolean verbose;

    @Mixin
    PlatformOption platformOption = new PlatformOption();

    private final PrintStream out;

    ReplayCommand() {
        this(System.out);
    }

    ReplayCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() {
        Platform platform;
        try {
            platform = platformOption.load();
        } catch (ScenarioException e) {
            out.println("replay: --platform " + e.getMessage());
            return 1;
        }
        long t0 = System.nanoTime();
        int fileCount = 0;
        int unreadable = 0;
        int steps = 0;
        int failures = 0;
        long skipped = 0;
        for (Path f : expand(files)) {
            fileCount++;
            Scenario s;
            try {
                s = ScenarioReader.read(f);
            } catch (ScenarioException e) {
                out.println(e.getMessage());
                unreadable++;
                continue;
            }
            // --platform replaces the platform every scenario header names.
            Replayer r = platform == null ? new Replayer() : new Replayer(platform);
            if (verbose) {
                String d = s.header().description();
                out.println("#    " + f + (d == null ? "" : ": " + d));
                r.onStep(this::printStep);
            }
            ReplayResult result = r.replay(s);
            steps += result.steps();
            failures += result.failures().size();
            skipped += result.skipped();
            if (!verbose) {
                result.failures().forEach(o -> out.println(o.format()));
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        out.printf(Locale.ROOT, "replay: %s, %s, %s, %d skipped%s, %.2f s%n", plural(fileCount, "file"),
                plural(steps, "step"), plural(failures, "failure"), skipped,
                unreadable == 0 ? "" : ", " + plural(unreadable, "unreadable file"), seconds);
        out.flush();
        return failures == 0 && unreadable == 0 ? 0 : 1;
    }

    private void printStep(StepOutcome o) {
        String status = switch (o.status()) {
            case PASS -> "ok";
            case TOLERATED -> "TOL";
            case FAIL -> "FAIL";
            case SKIP -> "SKIP";
            case NOTE -> "--";
        };
        out.println(String.format(Locale.ROOT, "%-4s %s", status, o.format()));
    }

    /** Files as given, directories replaced by their *.jsonl files in name order. */
    private List<Path> expand(List<Path> given) {
        List<Path> out = new ArrayList<>();
        for (Path p : given) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    s.filter(f -> f.getFileName().toString().endsWith(".jsonl")).sorted().forEach(out::add);
                } catch (IOException e) {
                    out.add(p);
                }
            } else {
                out.add(p);
            }
        }
        return out;
    }

    private static String plural(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
