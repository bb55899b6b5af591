package io.uiommu.scenario;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads a scenario file (JSON Lines): one JSON object per line, {@code #} comment lines and blank
 * lines ignored, an optional header first. Everything that can be wrong without running is checked
 * here, including that every {@code $variable} is set by an earlier step, so a bad file fails before
 * its first step runs, with {@code file:line}.
 */
public final class ScenarioReader {
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private ScenarioReader() {
    }

    public static Scenario read(Path file) throws ScenarioException {
        String source = file.toString();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return read(source, in);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new ScenarioException(source, 0, "not UTF-8 text");
        } catch (IOException e) {
            throw new ScenarioException(source, 0, "cannot read: " + describe(e));
        }
    }

    public static Scenario parse(String source, String text) throws ScenarioException {
        try {
            return read(source, new StringReader(text));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Scenario read(String source, Reader in) throws IOException, ScenarioException {
        BufferedReader lines = in instanceof BufferedReader b ? b : new BufferedReader(in);
        ScenarioHeader header = null;
        boolean sawStep = false;
        List<Scenario.Entry> entries = new ArrayList<>();
        Set<String> defined = new HashSet<>();
        Set<String> processes = new HashSet<>(Set.of(Replayer.MAIN_PROCESS));
        int lineNo = 0;
        for (String line; (line = lines.readLine()) != null; ) {
            lineNo++;
            if (lineNo == 1 && line.startsWith("\uFEFF")) {
                line = line.substring(1);
            }
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            ObjectNode o = parseObject(source, lineNo, t);
            try {
                if (o.has("uiommu_scenario")) {
                    if (header != null || sawStep) {
                        throw new IllegalArgumentException("the header must be the first line of the scenario");
                    }
                    header = readHeader(o);
                    continue;
                }
                sawStep = true;
                Step step = StepReader.read(o);
                checkNames(step, defined, processes);
                entries.add(new Scenario.Entry(lineNo, step));
            } catch (IllegalArgumentException e) {
                throw new ScenarioException(source, lineNo, e.getMessage());
            }
        }
        return new Scenario(source, header == null ? ScenarioHeader.DEFAULT : header, entries);
    }

    private static ObjectNode parseObject(String source, int lineNo, String text) throws ScenarioException {
        JsonNode n;
        try {
            n = JSON.readTree(text);
        } catch (JacksonException e) {
            String where = e.getLocation() == null ? "" : " (column " + e.getLocation().getColumnNr() + ")";
            throw new ScenarioException(source, lineNo, "bad JSON: " + e.getOriginalMessage() + where);
        }
        if (n == null || !n.isObject()) {
            throw new ScenarioException(source, lineNo, "each line must be one JSON object");
        }
        return (ObjectNode) n;
    }

    private static ScenarioHeader readHeader(ObjectNode o) {
        Members m = new Members(o, "the header");
        JsonNode v = m.raw("uiommu_scenario");
        if (!v.isIntegralNumber()) {
            throw new IllegalArgumentException("\"uiommu_scenario\" is the format version, a number");
        }
        if (!v.canConvertToInt() || v.intValue() != ScenarioHeader.VERSION) {
            throw new IllegalArgumentException("scenario format version " + v.asText()
                    + " is not supported (this uiommu reads version " + ScenarioHeader.VERSION + ")");
        }
        String platform = m.string("platform", false);
        if (platform != null && platform.isBlank()) {
            throw new IllegalArgumentException("\"platform\" is a preset (" + String.join(", ", Platforms.PRESETS)
                    + ") or a platform file, not empty");
        }
        String description = m.string("description", false);
        m.finish(List.of("uiommu_scenario", "platform", "description"));
        return new ScenarioHeader(ScenarioHeader.VERSION, platform == null ? ScenarioHeader.MOCK : platform, description);
    }

    /** Every variable a step reads must be set by an earlier step; every process it names must exist. */
    private static void checkNames(Step step, Set<String> defined, Set<String> processes) {
        for (String v : StepNames.uses(step)) {
            if (!defined.contains(v)) {
                throw new IllegalArgumentException("variable $" + v + " is not set by any earlier step"
                        + Suggest.didYouMean(v, defined));
            }
        }
        switch (step) {
            case Step.Fork f -> {
                if (!processes.add(f.as())) {
                    throw new IllegalArgumentException("a process named " + f.as() + " already exists");
                }
            }
            case Step.SwitchProcess s -> requireProcess(s.to(), processes);
            case Step.Exit x -> {
                if (x.process() != null) {
                    requireProcess(x.process(), processes);
                }
            }
            default -> {
            }
        }
        defined.addAll(StepNames.defines(step));
    }

    private static void requireProcess(String name, Set<String> processes) {
        if (!processes.contains(name)) {
            throw new IllegalArgumentException("no process named " + name + " (\"main\" or one made by fork)"
                    + Suggest.didYouMean(name, processes));
        }
    }

    private static String describe(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
