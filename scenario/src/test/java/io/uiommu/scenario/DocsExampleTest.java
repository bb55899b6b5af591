package io.uiommu.scenario;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The example at the end of docs/scenarios.md is a scenario that passes, so the reference stays true. */
class DocsExampleTest {
    @Test
    void theReferenceExampleReplays() throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "scenarios.md"));
        String section = doc.substring(doc.indexOf("\n## Example"));
        int start = section.indexOf("```json\n") + "```json\n".length();
        String scenario = section.substring(start, section.indexOf("```", start));
        ReplayResult r = new Replayer().replay(ScenarioReader.parse("docs/scenarios.md#example", scenario));
        assertThat(r.failures().stream().map(StepOutcome::format).toList()).isEmpty();
        assertThat(r.steps()).isGreaterThan(5);
    }
}
