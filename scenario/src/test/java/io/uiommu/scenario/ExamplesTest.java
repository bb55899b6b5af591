package io.uiommu.scenario;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Every scenario shipped in examples/ replays without a failing step. */
class ExamplesTest {
    @TestFactory
    Stream<DynamicTest> everyExamplePasses() throws Exception {
        assertThat(Examples.files()).as("examples in " + Examples.DIR.toAbsolutePath()).isNotEmpty();
        return Examples.files().stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> replay(f)));
    }

    private static void replay(Path f) throws Exception {
        ReplayResult r = new Replayer().replay(ScenarioReader.read(f));
        assertThat(r.failures().stream().map(StepOutcome::format).toList()).as(f.toString()).isEmpty();
        assertThat(r.skipped()).isZero();
        assertThat(r.steps()).isPositive();
    }
}
