package io.uiommu.scenario;

import io.uiommu.uapi.IommufdStructs;
import io.uiommu.uapi.TestStructs;
import io.uiommu.uapi.UapiStruct;
import io.uiommu.uapi.VfioStructs;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The C types a scenario may name: every uAPI struct by its kernel name ({@code iommu_iova_range}),
 * found by scanning the struct tables of core, and the fixed-width integers {@code u8 u16 u32 u64}
 * for arrays of plain numbers.
 */
public final class StructTypes {
    private StructTypes() {
    }

    private static final Map<String, UapiStruct> STRUCTS = scan(IommufdStructs.class, TestStructs.class,
            VfioStructs.class);

    private static final Map<String, Integer> INTEGERS = Map.of("u8", 1, "u16", 2, "u32", 4, "u64", 8);

    private static Map<String, UapiStruct> scan(Class<?>... tables) {
        Map<String, UapiStruct> m = new TreeMap<>();
        for (Class<?> table : tables) {
            for (Field f : table.getFields()) {
                if (Modifier.isStatic(f.getModifiers()) && f.getType() == UapiStruct.class) {
                    try {
                        UapiStruct s = (UapiStruct) f.get(null);
                        m.put(s.name(), s);
                    } catch (IllegalAccessException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        }
        return Collections.unmodifiableMap(m);
    }

    /** The struct with this C name (without "struct "), or null. */
    public static UapiStruct struct(String name) {
        return STRUCTS.get(name);
    }

    /** The width in bytes of an integer type name (u8..u64), or 0 if it is not one. */
    public static int integerSize(String name) {
        return INTEGERS.getOrDefault(name, 0);
    }

    /** sizeof(type) for a struct or integer type name, or -1 if unknown. */
    public static int sizeOf(String name) {
        UapiStruct s = STRUCTS.get(name);
        if (s != null) {
            return s.size();
        }
        int i = integerSize(name);
        return i > 0 ? i : -1;
    }

    /** Every known type name (for suggestions). */
    public static List<String> names() {
        List<String> out = new ArrayList<>(STRUCTS.keySet());
        out.addAll(INTEGERS.keySet());
        return out;
    }
}
