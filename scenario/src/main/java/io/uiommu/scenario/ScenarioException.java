package io.uiommu.scenario;

/**
 * A scenario file that cannot be read: bad JSON, an unknown step, member, constant, struct or field.
 * The message is one line, {@code file:line: what is wrong}, meant for the user, without a stack.
 */
public final class ScenarioException extends Exception {
    private final String source;
    private final int line;
    private final String detail;

    public ScenarioException(String source, int line, String detail) {
        super(source + (line > 0 ? ":" + line : "") + ": " + detail, null, false, false);
        this.source = source;
        this.line = line;
        this.detail = detail;
    }

    public String source() {
        return source;
    }

    /** 1-based line number, or 0 when the problem is the file as a whole. */
    public int line() {
        return line;
    }

    /** The message without the file:line prefix. */
    public String detail() {
        return detail;
    }
}
