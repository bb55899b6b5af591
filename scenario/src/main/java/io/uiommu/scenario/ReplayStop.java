package io.uiommu.scenario;

/**
 * Why a step stopped before meeting its expectation: a failure, or a skip because it needs what a
 * failed step did not produce. A value, not a bug: no stack trace.
 */
final class ReplayStop extends RuntimeException {
    final boolean skip;

    private ReplayStop(String message, boolean skip) {
        super(message, null, false, false);
        this.skip = skip;
    }

    static ReplayStop fail(String message) {
        return new ReplayStop(message, false);
    }

    static ReplayStop skip(String message) {
        return new ReplayStop(message, true);
    }
}
