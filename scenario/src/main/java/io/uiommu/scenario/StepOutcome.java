package io.uiommu.scenario;

/**
 * What happened to one step of a replay.
 *
 * @param source  the scenario file
 * @param line    its line, 0 for the teardown after the last step
 * @param label   the latest label before the step, or null
 * @param step    the step in short, such as "ioctl IOMMU_IOAS_MAP"
 * @param status  the verdict
 * @param message for FAIL, SKIP and TOLERATED: expected versus got; otherwise what the step returned
 */
public record StepOutcome(String source, int line, String label, String step, Status status, String message) {
    public enum Status {
        /** Ran and met its expectation. */
        PASS,
        /** Failed with an errno the step tolerates. */
        TOLERATED,
        /** Ran and did not meet its expectation, or could not run. */
        FAIL,
        /** Not run: it needs a variable that an earlier failing step did not set. */
        SKIP,
        /** A comment or label: not an action, not counted as a step. */
        NOTE
    }

    /** {@code file:line: [label] step: message}, the line replay prints for a failure. */
    public String format() {
        StringBuilder b = new StringBuilder(source);
        if (line > 0) {
            b.append(':').append(line);
        }
        b.append(": ");
        if (label != null) {
            b.append('[').append(label).append("] ");
        }
        b.append(step);
        if (message != null && !message.isEmpty()) {
            b.append(": ").append(message);
        }
        return b.toString();
    }
}
