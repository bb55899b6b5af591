package io.uiommu.scenario;

import java.util.HashMap;
import java.util.Map;

/**
 * The variables of one replay, shared by all its processes. A variable that a failed step should
 * have set is remembered as missing, with why, so that steps needing it are skipped instead of
 * failing again for the same cause.
 */
final class Variables implements Value.Resolver {
    private final Map<String, Long> values = new HashMap<>();
    private final Map<String, String> missing = new HashMap<>();

    @Override
    public long variable(String name) {
        Long v = values.get(name);
        if (v != null) {
            return v;
        }
        String why = missing.get(name);
        if (why != null) {
            throw ReplayStop.skip("needs $" + name + ", not set because " + why);
        }
        throw ReplayStop.fail("variable $" + name + " is not set");
    }

    void set(String name, long value) {
        values.put(name, value);
        missing.remove(name);
    }

    /** Records that a step did not set {@code name}; a value from an earlier step is dropped too, as it is stale. */
    void unset(String name, String why) {
        values.remove(name);
        missing.put(name, why);
    }
}
