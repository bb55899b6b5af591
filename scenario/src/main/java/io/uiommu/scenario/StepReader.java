package io.uiommu.scenario;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.ObjectType;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.UapiStruct;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns one step object of a scenario line into a {@link Step}, checking everything that can be
 * checked before running: members, struct and field names, constants, value syntax. Problems are
 * IllegalArgumentExceptions whose message the reader prefixes with file:line.
 */
final class StepReader {
    static final List<String> KINDS = List.of("open", "close", "dup", "mmap", "munmap", "write", "read", "ioctl",
            "fork", "switch_process", "exit", "expect_objects", "comment", "label");

    private StepReader() {
    }

    static Step read(ObjectNode o) {
        JsonNode kindNode = o.get("step");
        if (kindNode == null) {
            throw new IllegalArgumentException("a step needs a \"step\" member (one of " + String.join(", ", KINDS) + ")");
        }
        if (!kindNode.isTextual()) {
            throw new IllegalArgumentException("\"step\" must be a string");
        }
        String kind = kindNode.asText();
        Members m = new Members(o, "step " + kind);
        m.raw("step");
        Step step;
        List<String> known;
        switch (kind) {
            case "open" -> {
                known = List.of("as");
                step = new Step.Open(m.variableName("as", true));
            }
            case "close" -> {
                known = List.of("fd", "expect");
                step = new Step.Close(m.value("fd", true), plainExpect(m));
            }
            case "dup" -> {
                known = List.of("fd", "as");
                step = new Step.Dup(m.value("fd", true), m.variableName("as", true));
            }
            case "mmap" -> {
                known = List.of("length", "as", "addr", "prot", "shared");
                String prot = m.string("prot", false);
                if (prot != null && !List.of("rw", "r", "w", "none").contains(prot)) {
                    throw new IllegalArgumentException("\"prot\" of mmap is \"rw\", \"r\", \"w\" or \"none\", not \"" + prot + "\"");
                }
                step = new Step.Mmap(m.value("length", true), m.variableName("as", true), m.value("addr", false), prot,
                        m.bool("shared", false));
            }
            case "munmap" -> {
                known = List.of("addr", "length");
                step = new Step.Munmap(m.value("addr", true), m.value("length", true));
            }
            case "write" -> {
                known = List.of("addr", "hex", "fill", "length");
                step = readWrite(m);
            }
            case "read" -> {
                known = List.of("addr", "length", "expect_hex", "expect_fill");
                step = readRead(m);
            }
            case "ioctl" -> {
                known = List.of("fd", "cmd", "args", "size", "arg", "tail_hex", "expect", "save", "tolerate");
                step = readIoctl(m);
            }
            case "fork" -> {
                known = List.of("as");
                step = new Step.Fork(processName(m, "as", true));
            }
            case "switch_process" -> {
                known = List.of("to");
                step = new Step.SwitchProcess(processName(m, "to", true));
            }
            case "exit" -> {
                known = List.of("process");
                step = new Step.Exit(processName(m, "process", false));
            }
            case "expect_objects" -> {
                known = List.of("fd", "count", "ids", "types");
                step = readExpectObjects(m);
            }
            case "comment" -> {
                known = List.of("text");
                step = new Step.Comment(m.string("text", true));
            }
            case "label" -> {
                known = List.of("name");
                step = new Step.Label(m.string("name", true));
            }
            default -> throw new IllegalArgumentException("unknown step \"" + kind + "\"" + Suggest.didYouMean(kind, KINDS));
        }
        m.finish(known);
        return step;
    }

    private static String processName(Members m, String member, boolean required) {
        String s = m.string(member, required);
        return s == null ? null : Members.checkVariableName(s, "\"" + member + "\"");
    }

    /** An expectation of a call without output fields (close): ret and/or errno only. */
    private static Expect plainExpect(Members m) {
        ObjectNode e = m.object("expect");
        if (e == null) {
            return null;
        }
        Members em = new Members(e, "expect");
        Expect x = new Expect(em.value("ret", false), errno(em.raw("errno")), Map.of());
        em.finish(List.of("ret", "errno"));
        return x;
    }

    private static Errno errno(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        try {
            return Errno.parse(n.asText());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown errno " + n.asText() + Suggest.didYouMean(n.asText(),
                    java.util.Arrays.stream(Errno.values()).map(Enum::name).toList()));
        }
    }

    static String hex(Members m, String member) {
        String s = m.string(member, false);
        if (s == null) {
            return null;
        }
        String h = s.replaceAll("[\\s_:]", "").toLowerCase(Locale.ROOT);
        if (h.startsWith("0x")) {
            h = h.substring(2);
        }
        if (h.length() % 2 != 0) {
            throw new IllegalArgumentException("\"" + member + "\" has an odd number of hex digits");
        }
        try {
            HexFormat.of().parseHex(h);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"" + member + "\" is not hex: " + s);
        }
        return h;
    }

    private static Step readWrite(Members m) {
        Value addr = m.value("addr", true);
        String hex = hex(m, "hex");
        Value fill = m.value("fill", false);
        Value length = m.value("length", false);
        if ((hex == null) == (fill == null)) {
            throw new IllegalArgumentException("write needs either \"hex\" or \"fill\" with \"length\"");
        }
        if (fill != null && length == null) {
            throw new IllegalArgumentException("write with \"fill\" needs \"length\"");
        }
        if (hex != null && length != null) {
            throw new IllegalArgumentException("write with \"hex\" takes its length from the hex; drop \"length\"");
        }
        return new Step.Write(addr, hex, fill, length);
    }

    private static Step readRead(Members m) {
        Value addr = m.value("addr", true);
        Value length = m.value("length", false);
        String hex = hex(m, "expect_hex");
        Value fill = m.value("expect_fill", false);
        if ((hex == null) == (fill == null)) {
            throw new IllegalArgumentException("read needs either \"expect_hex\" or \"expect_fill\"");
        }
        if (length == null) {
            if (hex == null) {
                throw new IllegalArgumentException("read with \"expect_fill\" needs \"length\"");
            }
            length = Value.of(hex.length() / 2);
        }
        return new Step.Read(addr, length, hex, fill);
    }

    private static Step readExpectObjects(Members m) {
        Value fd = m.value("fd", true);
        Value count = m.value("count", false);
        List<Value> ids = null;
        JsonNode idsNode = m.raw("ids");
        if (idsNode != null) {
            if (!idsNode.isArray()) {
                throw new IllegalArgumentException("\"ids\" of expect_objects must be an array");
            }
            ids = new ArrayList<>();
            for (JsonNode n : idsNode) {
                ids.add(Members.value(n, "\"ids\""));
            }
        }
        Map<String, Value> types = null;
        ObjectNode typesNode = m.object("types");
        if (typesNode != null) {
            types = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : Members.fields(typesNode).entrySet()) {
                types.put(objectType(e.getKey()).name(), Members.value(e.getValue(), "\"types\"." + e.getKey()));
            }
        }
        if (count == null && ids == null && types == null) {
            throw new IllegalArgumentException("expect_objects needs \"count\", \"ids\" or \"types\"");
        }
        return new Step.ExpectObjects(fd, count, ids, types);
    }

    /** An object type by the kernel's enum name (IOMMUFD_OBJ_IOAS) or its short form (IOAS). */
    static ObjectType objectType(String name) {
        String n = name.startsWith("IOMMUFD_OBJ_") ? name.substring("IOMMUFD_OBJ_".length()) : name;
        try {
            return ObjectType.valueOf(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown object type " + name + Suggest.didYouMean(n,
                    java.util.Arrays.stream(ObjectType.values()).map(Enum::name).toList()));
        }
    }

    /** The command of an ioctl step: a name from the uAPI, or a raw request code. */
    record Command(String name, int code, UapiStruct struct) {
    }

    static Command command(String cmd) {
        try {
            return fromIoctl(Ioctl.valueOf(cmd));
        } catch (IllegalArgumentException notAName) {
            Value v;
            try {
                v = Value.parse(cmd);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown ioctl " + cmd + Suggest.didYouMean(cmd,
                        java.util.Arrays.stream(Ioctl.values()).map(Enum::name).toList()));
            }
            if (!v.isLiteral() || (v.literal() >>> 32) != 0) {
                throw new IllegalArgumentException("\"cmd\" must be an ioctl name or a 32-bit request code: " + cmd);
            }
            int code = (int) v.literal();
            Ioctl known = Ioctl.ofCode(code);
            return known != null ? fromIoctl(known) : new Command(cmd, code, null);
        }
    }

    private static Command fromIoctl(Ioctl i) {
        return new Command(i.name(), i.code(), i.struct());
    }

    /** The field holding the struct's own length: size for iommufd, argsz for VFIO. */
    static String sizeField(UapiStruct s) {
        return s.hasField("size") ? "size" : s.hasField("argsz") ? "argsz" : null;
    }

    private static Step readIoctl(Members m) {
        Value fd = m.value("fd", true);
        String cmd = m.string("cmd", true);
        Command c = command(cmd);
        ObjectNode argsNode = m.object("args");
        Value size = m.value("size", false);
        Value arg = m.value("arg", false);
        String tail = hex(m, "tail_hex");
        UapiStruct s = c.struct();

        Map<String, Arg> args = new LinkedHashMap<>();
        if (arg != null) {
            if (argsNode != null || size != null || tail != null) {
                throw new IllegalArgumentException("\"arg\" passes the ioctl argument as is; it excludes \"args\", \"size\" and \"tail_hex\"");
            }
        } else if (s == null) {
            if (argsNode != null || size != null || tail != null) {
                throw new IllegalArgumentException(c.name() + " takes an integer argument: give it as \"arg\"");
            }
        } else {
            if (argsNode != null) {
                for (Map.Entry<String, JsonNode> e : Members.fields(argsNode).entrySet()) {
                    args.put(e.getKey(), fieldArg(s, e.getKey(), e.getValue(), true));
                }
            }
            if (size != null) {
                String sf = sizeField(s);
                if (sf == null) {
                    throw new IllegalArgumentException("struct " + s.name() + " has no size field");
                }
                if (args.containsKey(sf)) {
                    throw new IllegalArgumentException("size given twice: as \"size\" and in args");
                }
                args.put(sf, new Arg.Scalar(size));
            }
        }
        boolean fieldsReadable = arg == null && s != null;

        Expect expect = Expect.SUCCESS;
        ObjectNode e = m.object("expect");
        if (e != null) {
            Members em = new Members(e, "expect");
            Value ret = em.value("ret", false);
            Errno errno = errno(em.raw("errno"));
            if (ret != null && errno != null) {
                throw new IllegalArgumentException("expect has both \"ret\" and \"errno\"");
            }
            Map<String, Value> fields = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> f : Members.fields(e).entrySet()) {
                String path = f.getKey();
                if (path.equals("ret") || path.equals("errno")) {
                    continue;
                }
                if (!fieldsReadable) {
                    throw new IllegalArgumentException("expect: \"" + path + "\": this ioctl has no struct to read fields from");
                }
                expectField(s, args, path, f.getValue(), fields);
            }
            expect = new Expect(ret, errno, fields);
        }

        Map<String, String> save = new LinkedHashMap<>();
        ObjectNode saveNode = m.object("save");
        if (saveNode != null) {
            for (Map.Entry<String, JsonNode> f : Members.fields(saveNode).entrySet()) {
                String path = f.getKey();
                if (!path.equals("ret")) {
                    if (!fieldsReadable) {
                        throw new IllegalArgumentException("save: \"" + path + "\": this ioctl has no struct to read fields from");
                    }
                    FieldPath.resolve(s, args, path);
                }
                if (!f.getValue().isTextual()) {
                    throw new IllegalArgumentException("save: the variable name for " + path + " must be a string");
                }
                save.put(path, Members.checkVariableName(f.getValue().asText(), "save \"" + path + "\""));
            }
        }

        List<Errno> tolerate = new ArrayList<>();
        JsonNode tol = m.raw("tolerate");
        if (tol != null) {
            if (tol.isTextual()) {
                tolerate.add(errno(tol));
            } else if (tol.isArray()) {
                for (JsonNode n : tol) {
                    tolerate.add(errno(n));
                }
            } else {
                throw new IllegalArgumentException("\"tolerate\" must be a list of errno names");
            }
        }
        return new Step.Ioctl(fd, c.name(), args, arg, tail, expect, save, tolerate);
    }

    private static void expectField(UapiStruct s, Map<String, Arg> args, String path, JsonNode v,
            Map<String, Value> out) {
        if (v.isArray()) {
            // An inline array compared whole: one check per element.
            if (!s.hasField(path) || !s.field(path).isArray()) {
                throw new IllegalArgumentException("expect: only inline array fields take a list; " + path + " is not one");
            }
            UapiStruct.Field f = s.field(path);
            if (v.size() > f.count()) {
                throw new IllegalArgumentException("expect: " + path + " has " + f.count() + " elements, " + v.size() + " given");
            }
            for (int i = 0; i < v.size(); i++) {
                out.put(path + "[" + i + "]", Members.value(v.get(i), "expect " + path + "[" + i + "]"));
            }
            return;
        }
        FieldPath.resolve(s, args, path);
        out.put(path, Members.value(v, "expect \"" + path + "\""));
    }

    /** The value of one field: a number, a list for an inline array, an object for a pointer. */
    private static Arg fieldArg(UapiStruct s, String name, JsonNode v, boolean pointersAllowed) {
        if (!s.hasField(name)) {
            throw new IllegalArgumentException("struct " + s.name() + " has no field " + name
                    + Suggest.didYouMean(name, s.fields().keySet()));
        }
        UapiStruct.Field f = s.field(name);
        String where = s.name() + "." + name;
        if (v.isArray()) {
            if (!f.isArray()) {
                throw new IllegalArgumentException(where + " is a single " + (f.elementSize() * 8)
                        + "-bit field, not an array; an array it points to is {\"array\": type, \"items\": [...]}");
            }
            if (v.size() > f.count()) {
                throw new IllegalArgumentException(where + " has " + f.count() + " elements, " + v.size() + " given");
            }
            List<Value> values = new ArrayList<>();
            for (JsonNode n : v) {
                values.add(Members.value(n, where));
            }
            return new Arg.Inline(values);
        }
        if (v.isObject()) {
            if (!pointersAllowed) {
                throw new IllegalArgumentException(where + ": pointers inside pointed-to memory are not supported");
            }
            if (f.isArray() || f.elementSize() != 8) {
                throw new IllegalArgumentException(where + " is not a 64-bit field, so it cannot hold a pointer");
            }
            return pointee(where, (ObjectNode) v);
        }
        if (f.isArray()) {
            throw new IllegalArgumentException(where + " is an array of " + f.count() + "; give a list");
        }
        return new Arg.Scalar(Members.value(v, where));
    }

    private static Arg pointee(String where, ObjectNode o) {
        Members m = new Members(o, where);
        if (o.has("array")) {
            String type = m.string("array", true);
            Value count = m.value("count", false);
            JsonNode items = m.raw("items");
            if (items != null && !items.isArray()) {
                throw new IllegalArgumentException(where + ": \"items\" must be a list");
            }
            if (items == null && count == null) {
                throw new IllegalArgumentException(where + ": an array needs \"items\" or \"count\"");
            }
            if (count != null && count.isLiteral() && items != null && count.literal() < items.size()) {
                throw new IllegalArgumentException(where + ": count " + count.literal() + " is less than the "
                        + items.size() + " items given");
            }
            m.finish(List.of("array", "items", "count"));
            UapiStruct elem = StructTypes.struct(type);
            if (elem != null) {
                List<Map<String, Arg>> list = new ArrayList<>();
                if (items != null) {
                    for (JsonNode item : items) {
                        if (!item.isObject()) {
                            throw new IllegalArgumentException(where + ": items of struct " + type + " are objects of fields");
                        }
                        list.add(structFields(elem, (ObjectNode) item));
                    }
                }
                return new Arg.StructArray(type, list, count);
            }
            if (StructTypes.integerSize(type) > 0) {
                List<Value> list = new ArrayList<>();
                if (items != null) {
                    for (JsonNode item : items) {
                        list.add(Members.value(item, where + " item"));
                    }
                }
                return new Arg.IntegerArray(type, list, count);
            }
            throw new IllegalArgumentException(where + ": unknown array type " + type
                    + Suggest.didYouMean(type, StructTypes.names()));
        }
        if (o.has("struct")) {
            String type = m.string("struct", true);
            UapiStruct st = StructTypes.struct(type);
            if (st == null) {
                throw new IllegalArgumentException(where + ": unknown struct " + type
                        + Suggest.didYouMean(type, StructTypes.names()));
            }
            ObjectNode fields = m.object("fields");
            m.finish(List.of("struct", "fields"));
            return new Arg.StructRef(type, fields == null ? Map.of() : structFields(st, fields));
        }
        throw new IllegalArgumentException(where + ": a pointer is {\"array\": type, \"items\"/\"count\"} or {\"struct\": type, \"fields\"}");
    }

    private static Map<String, Arg> structFields(UapiStruct s, ObjectNode o) {
        Map<String, Arg> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : Members.fields(o).entrySet()) {
            out.put(e.getKey(), fieldArg(s, e.getKey(), e.getValue(), false));
        }
        return out;
    }
}
