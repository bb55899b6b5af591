package io.uiommu.scenario;

/** Sees each step's outcome as replay goes (verbose output, progress). */
@FunctionalInterface
public interface StepListener {
    void onStep(StepOutcome outcome);
}
