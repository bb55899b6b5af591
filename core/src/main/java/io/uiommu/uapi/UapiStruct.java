package io.uiommu.uapi;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The byte layout of one C struct of the uAPI, laid out with the x86-64 C rules (natural alignment,
 * {@code __aligned_u64} on 8). Fields are looked up by the kernel's names; members of a union are
 * named {@code member.field}. Handlers, scenarios and recorders all take offsets from here, so the
 * layout is written once.
 */
public final class UapiStruct {
    /** One field: {@code count} elements of {@code elementSize} bytes at {@code offset}. */
    public record Field(String name, int offset, int elementSize, int count) {
        public int size() {
            return elementSize * count;
        }

        public int end() {
            return offset + size();
        }

        public boolean isArray() {
            return count > 1;
        }
    }

    private final String name;
    private final int size;
    private final Map<String, Field> fields;

    private UapiStruct(String name, int size, Map<String, Field> fields) {
        this.name = name;
        this.size = size;
        this.fields = Collections.unmodifiableMap(fields);
    }

    public String name() {
        return name;
    }

    /** sizeof(struct). */
    public int size() {
        return size;
    }

    /** Fields in declaration order. */
    public Map<String, Field> fields() {
        return fields;
    }

    public Field field(String fieldName) {
        Field f = fields.get(fieldName);
        if (f == null) {
            throw new IllegalArgumentException("struct " + name + " has no field " + fieldName);
        }
        return f;
    }

    public boolean hasField(String fieldName) {
        return fields.containsKey(fieldName);
    }

    public int offset(String fieldName) {
        return field(fieldName).offset();
    }

    /** offsetofend(struct, field): the kernel's minimum size when field is the last mandatory one. */
    public int offsetOfEnd(String fieldName) {
        return field(fieldName).end();
    }

    public static Builder struct(String name) {
        return new Builder(name);
    }

    @Override
    public String toString() {
        return "struct " + name + " (" + size + " bytes)";
    }

    /** Lays out fields in order, as a C compiler does. */
    public static final class Builder {
        private final String name;
        private final Map<String, Field> fields = new LinkedHashMap<>();
        private int offset;
        private int align = 1;

        private Builder(String name) {
            this.name = name;
        }

        private Builder add(String field, int elementSize, int count, int alignment) {
            offset = (offset + alignment - 1) & -alignment;
            if (fields.put(field, new Field(field, offset, elementSize, count)) != null) {
                throw new IllegalStateException("duplicate field " + field + " in " + name);
            }
            offset += elementSize * count;
            align = Math.max(align, alignment);
            return this;
        }

        public Builder u8(String field) {
            return add(field, 1, 1, 1);
        }

        public Builder u8s(String field, int count) {
            return add(field, 1, count, 1);
        }

        public Builder u16(String field) {
            return add(field, 2, 1, 2);
        }

        public Builder u32(String field) {
            return add(field, 4, 1, 4);
        }

        public Builder u32s(String field, int count) {
            return add(field, 4, count, 4);
        }

        /** {@code __aligned_u64} (and plain {@code __u64}, which x86-64 aligns the same way). */
        public Builder u64(String field) {
            return add(field, 8, 1, 8);
        }

        public Builder u64s(String field, int count) {
            return add(field, 8, count, 8);
        }

        /** An anonymous union of named struct members; each member's fields become {@code member.field}. */
        public Builder union(UapiStruct... members) {
            int unionAlign = 1;
            int unionSize = 0;
            for (UapiStruct m : members) {
                unionAlign = Math.max(unionAlign, m.alignment());
                unionSize = Math.max(unionSize, m.size());
            }
            offset = (offset + unionAlign - 1) & -unionAlign;
            for (UapiStruct m : members) {
                for (Field f : m.fields().values()) {
                    String qualified = m.name() + "." + f.name();
                    fields.put(qualified, new Field(qualified, offset + f.offset(), f.elementSize(), f.count()));
                }
            }
            offset += unionSize;
            align = Math.max(align, unionAlign);
            return this;
        }

        public UapiStruct build() {
            int size = (offset + align - 1) & -align;
            return new UapiStruct(name, size, fields);
        }
    }

    private int alignment() {
        int a = 1;
        for (Field f : fields.values()) {
            a = Math.max(a, f.elementSize() >= 8 ? 8 : f.elementSize());
        }
        return a;
    }
}
