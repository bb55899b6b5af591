package io.uiommu.scenario;

import io.uiommu.iommufd.Errno;

import java.util.Map;

/**
 * What a step must return. {@code errno} set: the call must fail with it. Otherwise {@code ret}, if
 * set, is the exact return value, and without it any non-negative return passes. {@code fields} are
 * output values to compare after the call (also after an expected failure, since some ioctls write
 * back before failing), keyed by field path ({@code num_iovas}, {@code allowed_iovas[0].start}).
 */
public record Expect(Value ret, Errno errno, Map<String, Value> fields) {
    public static final Expect SUCCESS = new Expect(null, null, Map.of());

    public Expect {
        if (ret != null && errno != null) {
            throw new IllegalArgumentException("expect has both ret and errno");
        }
        fields = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(fields));
    }

    public static Expect errno(Errno e) {
        return new Expect(null, e, Map.of());
    }

    public static Expect ret(long value) {
        return new Expect(Value.of(value), null, Map.of());
    }

    /** This expectation with one more output field check. */
    public Expect withField(String path, Value value) {
        var m = new java.util.LinkedHashMap<>(fields);
        m.put(path, value);
        return new Expect(ret, errno, m);
    }
}
