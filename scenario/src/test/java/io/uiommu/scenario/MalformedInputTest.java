package io.uiommu.scenario;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Mangled scenarios never escape as exceptions: reading fails with a ScenarioException naming a
 * line, or the file reads and replay reports step outcomes. Mutations of the examples, fixed seed.
 */
class MalformedInputTest {
    private static final String[] SPLICES = {"", "0", "-1", "\"$nope\"", "\"0x\"", "{}", "[]", "null", "true", "1.5",
            "\"U64_MAX\"", "\"IOMMU_IOAS_MAP|\"", "18446744073709551616", "\"sizeof(x)\"", "\"\\u0000\"", "}", "\""};

    @Test
    void mangledExamplesFailCleanly() throws Exception {
        Random rnd = new Random(20261122);
        List<List<String>> files = new ArrayList<>();
        for (Path f : Examples.files()) {
            files.add(Files.readAllLines(f));
        }
        int readable = 0;
        for (int i = 0; i < 150; i++) {
            List<String> lines = new ArrayList<>(files.get(rnd.nextInt(files.size())));
            int at = rnd.nextInt(lines.size());
            String mangled = mangle(lines.get(at), rnd);
            lines.set(at, mangled);
            Scenario s;
            try {
                s = ScenarioReader.parse("m.jsonl", String.join("\n", lines));
            } catch (ScenarioException e) {
                assertThat(e.getMessage()).startsWith("m.jsonl:").doesNotContain("Exception");
                continue;
            } catch (RuntimeException e) {
                fail("reader threw on <" + mangled + ">", e);
                continue;
            }
            readable++;
            try {
                ReplayResult r = new Replayer().replay(s);
                for (StepOutcome o : r.outcomes()) {
                    assertThat(o.message() == null ? "" : o.message()).as(mangled).doesNotContain("internal error");
                }
            } catch (RuntimeException e) {
                fail("replay threw on <" + mangled + ">", e);
            }
        }
        assertThat(readable).as("some mutations still read").isPositive();
    }

    private static String mangle(String line, Random rnd) {
        if (line.isEmpty()) {
            return SPLICES[rnd.nextInt(SPLICES.length)];
        }
        int a = rnd.nextInt(line.length());
        int b = Math.min(line.length(), a + rnd.nextInt(12));
        return switch (rnd.nextInt(3)) {
            case 0 -> line.substring(0, a) + line.substring(b);
            case 1 -> line.substring(0, a) + SPLICES[rnd.nextInt(SPLICES.length)] + line.substring(b);
            default -> line.replace("$fd", "$buf").replace("\"count\": 1", "\"count\": -3");
        };
    }
}
