package io.uiommu.scenario;

import java.util.List;

/**
 * The outcome of replaying one scenario.
 *
 * @param source   the scenario file
 * @param steps    steps run or skipped (comments and labels not counted)
 * @param outcomes every outcome, in order
 * @param nanos    wall time of the replay
 */
public record ReplayResult(String source, int steps, List<StepOutcome> outcomes, long nanos) {
    public ReplayResult {
        outcomes = List.copyOf(outcomes);
    }

    public List<StepOutcome> failures() {
        return outcomes.stream().filter(o -> o.status() == StepOutcome.Status.FAIL).toList();
    }

    public long skipped() {
        return outcomes.stream().filter(o -> o.status() == StepOutcome.Status.SKIP).count();
    }

    /** True when no step failed. Skipped steps only follow failed ones, so they need no check. */
    public boolean passed() {
        return failures().isEmpty();
    }
}
