package io.uiommu.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
 */
class OracleTraceTest {

    private static List<Path> traces() throws IOException, URISyntaxException {
        URL dir = OracleTraceTest.class.getResource("/oracle");
        assertThat(dir).as("test resource folder oracle/").isNotNull();
        try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList();
        }
    }

    @Test
    void theTracesArePresent() throws Exception {
        assertThat(traces()).hasSizeGreaterThanOrEqualTo(40);
    }

    @TestFactory
    Stream<DynamicTest> everyOracleTraceReplays() throws Exception {
        return traces().stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
            Scenario scenario = ScenarioReader.read(file);
            ReplayResult result = new Replayer().replay(scenario);
            String failures = result.failures().stream().map(StepOutcome::format)
                    .collect(Collectors.joining("\n"));
            assertThat(result.failures())
                    .as("%s: %d of %d steps differ from the kernel:%n%s", file.getFileName(),
                            result.failures().size(), result.steps(), failures)
                    .isEmpty();
            assertThat(result.steps()).isGreaterThan(0);
        }));
    }
}
