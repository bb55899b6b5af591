package io.uiommu.scenario;

import java.util.List;

/** A read scenario: where it came from, its header and its steps with their line numbers. */
public record Scenario(String source, ScenarioHeader header, List<Entry> entries) {
    /** One step and the line it was read from (0 for steps built in code). */
    public record Entry(int line, Step step) {
    }

    public Scenario {
        entries = List.copyOf(entries);
    }

    /** A scenario built in code: steps numbered as they would be in a written file with a header. */
    public static Scenario of(String source, ScenarioHeader header, List<Step> steps) {
        List<Entry> entries = new java.util.ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            entries.add(new Entry(i + 2, steps.get(i)));
        }
        return new Scenario(source, header, entries);
    }

    public List<Step> steps() {
        return entries.stream().map(Entry::step).toList();
    }
}
