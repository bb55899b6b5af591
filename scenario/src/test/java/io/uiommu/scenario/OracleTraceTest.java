package io.uiommu.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Replays every differential trace recorded from the real Linux 6.12 kernel
 * (src/test/resources/oracle, written by conformance/oracle/regenerate.sh). Each file is a sequence
 * of calls with the kernel's answers as expectations; a failure names the file, line and step that
 * differ, with what the kernel said and what uiommu said.
 *
 * <p>known-differences.txt lists steps (file:line) where uiommu is known to differ, each with the
 * reason; those are reported but do not fail, and a listed step that starts to pass fails the test
 * until its line is removed, so the list cannot go stale.
 */
class OracleTraceTest {

    private static Path dir() throws URISyntaxException {
        URL dir = OracleTraceTest.class.getResource("/oracle");
        assertThat(dir).as("test resource folder oracle/").isNotNull();
        return Path.of(dir.toURI());
    }

    private static List<Path> traces() throws IOException, URISyntaxException {
        try (Stream<Path> files = Files.list(dir())) {
            return files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList();
        }
    }

    /** file name to the lines listed as known differences */
    private static Map<String, Set<Integer>> knownDifferences() throws IOException, URISyntaxException {
        Map<String, Set<Integer>> known = new TreeMap<>();
        Path f = dir().resolve("known-differences.txt");
        if (!Files.exists(f)) {
            return known;
        }
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            String where = l.split("\\s+", 2)[0];
            int colon = where.lastIndexOf(':');
            known.computeIfAbsent(where.substring(0, colon), k -> new TreeSet<>())
                    .add(Integer.parseInt(where.substring(colon + 1)));
        }
        return known;
    }

    @Test
    void theTracesArePresent() throws Exception {
        assertThat(traces()).hasSizeGreaterThanOrEqualTo(40);
        for (String file : knownDifferences().keySet()) {
            assertThat(dir().resolve(file)).as("known-differences.txt names a missing trace").exists();
        }
    }

    @TestFactory
    Stream<DynamicTest> everyOracleTraceReplays() throws Exception {
        Map<String, Set<Integer>> known = knownDifferences();
        return traces().stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
            String name = file.getFileName().toString();
            Set<Integer> expectedToDiffer = known.getOrDefault(name, Set.of());
            ReplayResult result = new Replayer().replay(ScenarioReader.read(file));
            assertThat(result.steps()).isGreaterThan(0);

            List<StepOutcome> unexpected = result.failures().stream()
                    .filter(o -> !expectedToDiffer.contains(o.line())).toList();
            Set<Integer> failedLines = result.failures().stream().map(StepOutcome::line)
                    .collect(Collectors.toCollection(TreeSet::new));
            Set<Integer> nowPassing = new TreeSet<>(expectedToDiffer);
            nowPassing.removeAll(failedLines);

            assertThat(unexpected)
                    .as("%s: %d of %d steps differ from the kernel:%n%s", name, unexpected.size(), result.steps(),
                            unexpected.stream().map(StepOutcome::format).collect(Collectors.joining("\n")))
                    .isEmpty();
            assertThat(nowPassing)
                    .as("%s: steps listed in known-differences.txt now agree with the kernel; remove them", name)
                    .isEmpty();
        }));
    }
}
