package io.uiommu.scenario;

/**
 * The optional first line of a scenario: {@code {"uiommu_scenario": 1, "platform": "mock",
 * "description": "..."}}. The version says how to read the rest; a reader refuses versions it does
 * not know rather than guess.
 */
public record ScenarioHeader(int version, String platform, String description) {
    /** The format version this code reads and writes. */
    public static final int VERSION = 1;

    /**
     * The platform when the header names none: the "mock" preset (the kernel selftest's mock IOMMU
     * plus two platform devices). A header may name any preset or a platform file (relative to the
     * scenario's directory).
     */
    public static final String MOCK = "mock";

    public static final ScenarioHeader DEFAULT = new ScenarioHeader(VERSION, MOCK, null);

    public static ScenarioHeader describing(String description) {
        return new ScenarioHeader(VERSION, MOCK, description);
    }
}
