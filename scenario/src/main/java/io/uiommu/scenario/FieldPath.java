package io.uiommu.scenario;

import io.uiommu.uapi.UapiStruct;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where an output value lives, named as a C programmer would write it: a struct field
 * ({@code out_ioas_id}, {@code mock_domain.out_hwpt_id}), an element of an inline array
 * ({@code __reserved[1]}), or memory a pointer field points to ({@code allowed_iovas[0].start},
 * {@code data[2]}, {@code data_uptr.test_reg}).
 *
 * @param path    the name as written
 * @param pointer the pointer field whose memory holds the value, or null for the struct itself
 * @param offset  byte offset in the struct, or in the pointed-to buffer
 * @param width   bytes (1, 2, 4 or 8)
 * @param index   the array element, for the bound check of the pointed-to buffer
 */
public record FieldPath(String path, String pointer, long offset, int width, int index) {
    private static final Pattern SHAPE = Pattern.compile("([A-Za-z_][A-Za-z0-9_.]*?)(?:\\[(\\d+)])?(?:\\.([A-Za-z_][A-Za-z0-9_.]*))?");

    /** Resolves {@code path} against an ioctl struct and the pointer arguments given for it. */
    public static FieldPath resolve(UapiStruct struct, Map<String, Arg> args, String path) {
        if (struct.hasField(path)) {
            UapiStruct.Field f = struct.field(path);
            if (f.isArray()) {
                throw new IllegalArgumentException(path + " is an array of " + f.count() + "; name an element, "
                        + path + "[0]");
            }
            return new FieldPath(path, null, f.offset(), checkWidth(path, f.elementSize()), 0);
        }
        Matcher m = SHAPE.matcher(path);
        if (!m.matches()) {
            throw new IllegalArgumentException("bad field name " + path);
        }
        String base = m.group(1);
        int index = m.group(2) == null ? -1 : parseIndex(path, m.group(2));
        String member = m.group(3);
        if (!struct.hasField(base)) {
            // Union members carry a dot in their name, so a misspelt one is suggested whole.
            String wrong = index < 0 ? path : base;
            throw new IllegalArgumentException("struct " + struct.name() + " has no field " + wrong
                    + Suggest.didYouMean(wrong, struct.fields().keySet()));
        }
        UapiStruct.Field f = struct.field(base);
        Arg arg = args.get(base);
        if (f.isArray()) {
            if (member != null || index < 0) {
                throw new IllegalArgumentException(base + " is an inline array: name an element as " + base + "[i]");
            }
            if (index >= f.count()) {
                throw new IllegalArgumentException(path + ": " + base + " has " + f.count() + " elements");
            }
            return new FieldPath(path, null, f.offset() + (long) index * f.elementSize(), f.elementSize(), index);
        }
        return switch (arg) {
            case Arg.StructArray a -> {
                if (index < 0 || member == null) {
                    throw new IllegalArgumentException(path + ": name an element member, as " + base + "[0].<field>");
                }
                UapiStruct elem = StructTypes.struct(a.type());
                UapiStruct.Field mf = memberOf(elem, member, path);
                checkBound(path, a.count(), a.items().size(), index);
                yield new FieldPath(path, base, (long) index * elem.size() + mf.offset(), mf.elementSize(), index);
            }
            case Arg.IntegerArray a -> {
                if (index < 0 || member != null) {
                    throw new IllegalArgumentException(path + ": " + base + " points to " + a.type()
                            + " integers; name an element as " + base + "[i]");
                }
                checkBound(path, a.count(), a.items().size(), index);
                int w = StructTypes.integerSize(a.type());
                yield new FieldPath(path, base, (long) index * w, w, index);
            }
            case Arg.StructRef r -> {
                if (index >= 0 || member == null) {
                    throw new IllegalArgumentException(path + ": " + base + " points to one struct " + r.type()
                            + "; name a member as " + base + ".<field>");
                }
                UapiStruct.Field mf = memberOf(StructTypes.struct(r.type()), member, path);
                yield new FieldPath(path, base, mf.offset(), mf.elementSize(), 0);
            }
            case null, default -> throw new IllegalArgumentException(path + ": " + base
                    + " is not given as a pointer to an array or struct in args, so it has no elements or members");
        };
    }

    private static UapiStruct.Field memberOf(UapiStruct s, String member, String path) {
        if (!s.hasField(member)) {
            throw new IllegalArgumentException(path + ": struct " + s.name() + " has no field " + member
                    + Suggest.didYouMean(member, s.fields().keySet()));
        }
        UapiStruct.Field f = s.field(member);
        if (f.isArray()) {
            throw new IllegalArgumentException(path + ": arrays inside pointed-to structs cannot be named yet");
        }
        return f;
    }

    private static void checkBound(String path, Value count, int items, int index) {
        long n = count == null ? items : count.isLiteral() ? count.literal() : Long.MAX_VALUE;
        if (index >= n) {
            throw new IllegalArgumentException(path + " is outside the array of " + n);
        }
    }

    private static int parseIndex(String path, String digits) {
        try {
            return Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("index too large in " + path);
        }
    }

    private static int checkWidth(String path, int w) {
        if (w != 1 && w != 2 && w != 4 && w != 8) {
            throw new IllegalArgumentException(path + " is not an integer field");
        }
        return w;
    }
}
