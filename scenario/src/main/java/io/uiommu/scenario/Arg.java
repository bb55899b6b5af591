package io.uiommu.scenario;

import java.util.List;
import java.util.Map;

/**
 * What a scenario gives for one field of an ioctl struct: a number, the elements of an inline array
 * field ({@code __u8 __reserved[3]}), or, for a user-pointer field, the memory it points to (an array
 * of structs or of integers, or one struct), which replay places in scratch memory.
 */
public sealed interface Arg {
    /** An unmodifiable copy that keeps the order fields were written in. */
    private static <V> Map<String, V> ordered(Map<String, V> m) {
        return java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(m));
    }

    /** A number for a plain field. */
    record Scalar(Value value) implements Arg {
    }

    /** Elements of an inline array field, first ones first; the rest are zero. */
    record Inline(List<Value> values) implements Arg {
        public Inline {
            values = List.copyOf(values);
        }
    }

    /**
     * A pointer to {@code count} structs of {@code type}; {@code items} fill the first ones (fields
     * by name; absent fields are zero), the rest are zero. count null means items.size().
     */
    record StructArray(String type, List<Map<String, Arg>> items, Value count) implements Arg {
        public StructArray {
            items = items.stream().map(Arg::ordered).toList();
        }
    }

    /** A pointer to {@code count} integers of {@code type} (u8..u64); count null means items.size(). */
    record IntegerArray(String type, List<Value> items, Value count) implements Arg {
        public IntegerArray {
            items = List.copyOf(items);
        }
    }

    /** A pointer to one struct of {@code type} (a driver data blob such as iommu_hwpt_selftest). */
    record StructRef(String type, Map<String, Arg> fields) implements Arg {
        public StructRef {
            fields = ordered(fields);
        }
    }
}
