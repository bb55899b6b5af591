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
            "fd_read", "fd_write", "fork", "switch_process", "exit", "expect_objects", "comment", "label", "bind", "attach",
            "detach", "dma", "audit", "dirty_bitmap", "eventfd", "expect_eventfd", "mmio", "pci_config");

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
                known = List.of("as", "path", "expect");
                String as = m.variableName("as", true);
                String path = m.string("path", false);
                if (path != null && !path.equals("/dev/iommu") && !path.startsWith("/dev/vfio/devices/")) {
                    throw new IllegalArgumentException("\"path\" of open is /dev/iommu or /dev/vfio/devices/vfioN, not "
                            + path);
                }
                Expect x = plainExpect(m);
                if (x != null && x.ret() != null) {
                    throw new IllegalArgumentException("expect of open takes \"errno\" only");
                }
                step = new Step.Open(as, path, x);
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
                known = List.of("length", "as", "addr", "prot", "shared", "fd", "offset", "expect");
                String prot = m.string("prot", false);
                if (prot != null && !List.of("rw", "r", "w", "none").contains(prot)) {
                    throw new IllegalArgumentException("\"prot\" of mmap is \"rw\", \"r\", \"w\" or \"none\", not \"" + prot + "\"");
                }
                Value fd = m.value("fd", false);
                if (fd == null) {
                    if (m.raw("offset") != null || m.raw("expect") != null) {
                        throw new IllegalArgumentException("\"offset\" and \"expect\" of mmap go with \"fd\"");
                    }
                    step = new Step.Mmap(m.value("length", true), m.variableName("as", true), m.value("addr", false),
                            prot, m.bool("shared", false));
                } else {
                    if (m.raw("addr") != null) {
                        throw new IllegalArgumentException("mmap of an fd takes no \"addr\" (no MAP_FIXED of files)");
                    }
                    Value offset = m.value("offset", false);
                    step = new Step.Mmap(m.value("length", true), m.variableName("as", false), null, prot,
                            m.bool("shared", false), fd, offset == null ? Value.of(0) : offset, plainExpect(m));
                }
            }
            case "munmap" -> {
                known = List.of("addr", "length");
                step = new Step.Munmap(m.value("addr", true), m.value("length", true));
            }
            case "write" -> {
                known = List.of("addr", "hex", "fill", "length", "struct", "fields");
                step = readWrite(m);
            }
            case "read" -> {
                known = List.of("addr", "length", "expect_hex", "expect_fill", "struct", "expect", "save");
                step = readRead(m);
            }
            case "ioctl" -> {
                known = List.of("fd", "cmd", "args", "size", "arg", "tail_hex", "tail", "expect", "save", "tolerate");
                step = readIoctl(m);
            }
            case "fd_read" -> {
                known = List.of("fd", "addr", "count", "expect", "offset");
                step = new Step.FdRead(m.value("fd", true), m.value("addr", true), m.value("count", true), plainExpect(m),
                        m.value("offset", false));
            }
            case "fd_write" -> {
                known = List.of("fd", "addr", "count", "expect", "offset");
                step = new Step.FdWrite(m.value("fd", true), m.value("addr", true), m.value("count", true), plainExpect(m),
                        m.value("offset", false));
            }
            case "eventfd" -> {
                known = List.of("as", "initval", "flags");
                step = new Step.Eventfd(m.variableName("as", true), m.value("initval", false), m.value("flags", false));
            }
            case "expect_eventfd" -> {
                known = List.of("fd", "count");
                step = new Step.ExpectEventfd(m.value("fd", true), m.value("count", true));
            }
            case "mmio", "pci_config" -> {
                boolean config = kind.equals("pci_config");
                known = config ? List.of("device", "offset", "width", "value", "expect", "save")
                        : List.of("device", "bar", "offset", "width", "value", "expect", "save");
                String device = m.string("device", true);
                Value bar = config ? null : m.value("bar", false);
                Value value = m.value("value", false);
                Value expect = m.value("expect", false);
                String save = m.variableName("save", false);
                if (value != null && (expect != null || save != null)) {
                    throw new IllegalArgumentException("step " + kind + " writes with \"value\" or reads with "
                            + "\"expect\"/\"save\", not both");
                }
                step = new Step.Mmio(device, config, bar, m.value("offset", true), m.value("width", true), value, expect,
                        save);
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
            case "bind" -> {
                known = List.of("fd", "device", "as", "expect");
                step = new Step.Bind(m.value("fd", true), m.string("device", true), m.variableName("as", true),
                        plainExpect(m));
            }
            case "attach" -> {
                known = List.of("fd", "dev", "pasid", "pt", "as", "expect");
                step = new Step.Attach(m.value("fd", true), m.value("dev", true), m.value("pasid", false),
                        m.value("pt", true), m.variableName("as", false), plainExpect(m));
            }
            case "detach" -> {
                known = List.of("fd", "dev", "pasid", "expect");
                step = new Step.Detach(m.value("fd", true), m.value("dev", true), m.value("pasid", false), plainExpect(m));
            }
            case "dma" -> {
                known = List.of("fd", "dev", "pasid", "iova", "op", "hex", "fill", "length", "expect");
                step = readDma(m);
            }
            case "dirty_bitmap" -> {
                known = List.of("fd", "hwpt", "iova", "length", "page_size", "no_clear", "expect_pages", "expect");
                step = new Step.DirtyBitmap(m.value("fd", true), m.value("hwpt", true), m.value("iova", true),
                        m.value("length", true), m.value("page_size", false), m.bool("no_clear", false),
                        pageList(m.raw("expect_pages")), plainExpect(m));
            }
            case "audit" -> {
                known = List.of("enable", "expect_reports", "expect_contains", "clear");
                JsonNode en = m.raw("enable");
                if (en != null && !en.isNull() && !en.isBoolean()) {
                    throw new IllegalArgumentException("\"enable\" of step audit must be true or false");
                }
                step = new Step.Audit(en == null || en.isNull() ? null : en.asBoolean(), m.value("expect_reports", false),
                        m.string("expect_contains", false), m.bool("clear", false));
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

    /** An expectation of a call without output fields (close, fd_read): ret or errno. */
    /** "expect_pages": an array of page numbers and "first..last" ranges (both ends included). */
    private static List<String> pageList(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException("\"expect_pages\" must be an array of page numbers and \"first..last\" ranges");
        }
        List<String> pages = new java.util.ArrayList<>();
        for (JsonNode e : n) {
            String text = e.isIntegralNumber() ? e.asText() : e.isTextual() ? e.asText() : null;
            if (text == null || pageRange(text) == null) {
                throw new IllegalArgumentException("\"expect_pages\" entry " + e + " is not a page number or \"first..last\"");
            }
            pages.add(text);
        }
        return List.copyOf(pages);
    }

    /** An entry of expect_pages as {first, last}, or null if it is neither "n" nor "first..last". */
    static long[] pageRange(String text) {
        String[] parts = text.split("\\.\\.", -1);
        if (parts.length > 2) {
            return null;
        }
        try {
            long first = Long.decode(parts[0].trim());
            long last = parts.length == 2 ? Long.decode(parts[1].trim()) : first;
            return first < 0 || last < first ? null : new long[] {first, last};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Expect plainExpect(Members m) {
        ObjectNode e = m.object("expect");
        if (e == null) {
            return null;
        }
        Members em = new Members(e, "expect");
        Value ret = em.value("ret", false);
        Errno errno = errno(em.raw("errno"));
        if (ret != null && errno != null) {
            throw new IllegalArgumentException("expect has both \"ret\" and \"errno\"");
        }
        em.finish(List.of("ret", "errno"));
        return new Expect(ret, errno, Map.of());
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

    private static Step readDma(Members m) {
        Value fd = m.value("fd", true);
        Value dev = m.value("dev", true);
        Value pasid = m.value("pasid", false);
        Value iova = m.value("iova", true);
        String op = m.string("op", true);
        if (!op.equals("read") && !op.equals("write")) {
            throw new IllegalArgumentException("\"op\" of dma is \"read\" or \"write\", not \"" + op + "\"");
        }
        String hex = hex(m, "hex");
        Value fill = m.value("fill", false);
        Value length = m.value("length", false);
        boolean write = op.equals("write");
        if (hex != null && (fill != null || length != null)) {
            throw new IllegalArgumentException("dma takes \"hex\", or \"length\" (with \"fill\"), not both");
        }
        if (hex == null && length == null) {
            throw new IllegalArgumentException("dma needs \"hex\" or \"length\"");
        }
        if (write && hex == null && fill == null) {
            throw new IllegalArgumentException("a dma write needs \"hex\" or \"fill\" with \"length\"");
        }
        if (hex != null && hex.isEmpty()) {
            throw new IllegalArgumentException("\"hex\" of dma is empty");
        }
        Step.DmaExpect expect = Step.DmaExpect.NO_FAULT;
        ObjectNode e = m.object("expect");
        if (e != null) {
            Members em = new Members(e, "expect of dma");
            Errno errno = errno(em.raw("errno"));
            String fault = em.string("fault", false);
            Value level = em.value("level", false);
            Value code = em.value("code", false);
            JsonNode st = em.raw("stage2");
            if (st != null && !st.isNull() && !st.isBoolean()) {
                throw new IllegalArgumentException("\"stage2\" of expect must be true or false");
            }
            Value done = em.value("bytes_done", false);
            em.finish(List.of("errno", "fault", "level", "code", "stage2", "bytes_done"));
            if (errno != null && (fault != null || level != null || code != null || st != null || done != null)) {
                throw new IllegalArgumentException("expect of dma has \"errno\" (the call fails) and fault details");
            }
            if (fault == null && (level != null || code != null || st != null)) {
                throw new IllegalArgumentException("\"level\", \"code\" and \"stage2\" describe a \"fault\"");
            }
            expect = new Step.DmaExpect(errno, fault, level, code, st == null || st.isNull() ? null : st.asBoolean(), done);
        }
        return new Step.Dma(fd, dev, pasid, iova, write, hex, fill, length, expect);
    }

    private static Step readWrite(Members m) {
        Value addr = m.value("addr", true);
        String hex = hex(m, "hex");
        Value fill = m.value("fill", false);
        Value length = m.value("length", false);
        String struct = m.string("struct", false);
        ObjectNode fields = m.object("fields");
        int forms = (hex != null ? 1 : 0) + (fill != null ? 1 : 0) + (struct != null ? 1 : 0);
        if (forms != 1) {
            throw new IllegalArgumentException("write needs one of \"hex\", \"fill\" with \"length\", or \"struct\" with \"fields\"");
        }
        if (fill != null && length == null) {
            throw new IllegalArgumentException("write with \"fill\" needs \"length\"");
        }
        if (fill == null && length != null) {
            throw new IllegalArgumentException("\"length\" goes with \"fill\"; hex and struct writes have their own length");
        }
        if (fields != null && struct == null) {
            throw new IllegalArgumentException("\"fields\" goes with \"struct\"");
        }
        Map<String, Arg> args = null;
        if (struct != null) {
            UapiStruct st = knownStruct(struct);
            args = fields == null ? Map.of() : structFields(st, fields);
        }
        return new Step.Write(addr, hex, fill, length, struct, args);
    }

    private static Step readRead(Members m) {
        Value addr = m.value("addr", true);
        Value length = m.value("length", false);
        String hex = hex(m, "expect_hex");
        Value fill = m.value("expect_fill", false);
        String struct = m.string("struct", false);
        ObjectNode expectNode = m.object("expect");
        ObjectNode saveNode = m.object("save");
        if (struct != null) {
            if (hex != null || fill != null || length != null) {
                throw new IllegalArgumentException("a struct read takes \"expect\" and \"save\", not \"length\", \"expect_hex\" or \"expect_fill\"");
            }
            UapiStruct st = knownStruct(struct);
            Map<String, Value> expect = new LinkedHashMap<>();
            if (expectNode != null) {
                for (Map.Entry<String, JsonNode> f : Members.fields(expectNode).entrySet()) {
                    expectField(st, Map.of(), f.getKey(), f.getValue(), expect);
                }
            }
            Map<String, String> save = saveNode == null ? Map.of() : saves(st, Map.of(), saveNode);
            if (expect.isEmpty() && save.isEmpty()) {
                throw new IllegalArgumentException("a struct read needs \"expect\" or \"save\"");
            }
            return new Step.Read(addr, Value.of(st.size()), null, null, struct, expect, save);
        }
        if (expectNode != null || saveNode != null) {
            throw new IllegalArgumentException("\"expect\" and \"save\" of a read go with \"struct\"");
        }
        if ((hex == null) == (fill == null)) {
            throw new IllegalArgumentException("read needs \"expect_hex\", \"expect_fill\" with \"length\", or \"struct\"");
        }
        if (length == null) {
            if (hex == null) {
                throw new IllegalArgumentException("read with \"expect_fill\" needs \"length\"");
            }
            length = Value.of(hex.length() / 2);
        }
        return new Step.Read(addr, length, hex, fill, null, null, null);
    }

    private static UapiStruct knownStruct(String name) {
        UapiStruct st = StructTypes.struct(name);
        if (st == null) {
            throw new IllegalArgumentException("unknown struct " + name + Suggest.didYouMean(name, StructTypes.names()));
        }
        return st;
    }

    /** A save object: output field path to variable name. */
    private static Map<String, String> saves(UapiStruct s, Map<String, Arg> args, ObjectNode saveNode) {
        Map<String, String> save = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> f : Members.fields(saveNode).entrySet()) {
            String path = f.getKey();
            if (!path.equals("ret")) {
                if (s == null) {
                    throw new IllegalArgumentException("save: \"" + path + "\": this ioctl has no struct to read fields from");
                }
                FieldPath.resolve(s, args, path);
            }
            if (!f.getValue().isTextual()) {
                throw new IllegalArgumentException("save: the variable name for " + path + " must be a string");
            }
            save.put(path, Members.checkVariableName(f.getValue().asText(), "save \"" + path + "\""));
        }
        return save;
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

    /**
     * The field holding the struct's own length: argsz for VFIO (whose "size" is a mapping's length),
     * size for iommufd.
     */
    static String sizeField(UapiStruct s) {
        return s.hasField("argsz") ? "argsz" : s.hasField("size") ? "size" : null;
    }

    private static Step readIoctl(Members m) {
        Value fd = m.value("fd", true);
        String cmd = m.string("cmd", true);
        Command c = command(cmd);
        ObjectNode argsNode = m.object("args");
        Value size = m.value("size", false);
        Value arg = m.value("arg", false);
        String tail = hex(m, "tail_hex");
        ObjectNode tailNode = m.object("tail");
        Arg tailArg = null;
        if (tailNode != null) {
            if (tail != null) {
                throw new IllegalArgumentException("\"tail\" and \"tail_hex\" both place bytes after the struct: give one");
            }
            tailArg = pointee(cmd + " tail", tailNode);
            if (!(tailArg instanceof Arg.IntegerArray) && !(tailArg instanceof Arg.StructArray)) {
                throw new IllegalArgumentException("\"tail\" is an array: {\"array\": type, \"items\": [...]}");
            }
        }
        UapiStruct s = c.struct();

        Map<String, Arg> args = new LinkedHashMap<>();
        if (arg != null) {
            if (argsNode != null || size != null || tail != null || tailArg != null) {
                throw new IllegalArgumentException("\"arg\" passes the ioctl argument as is; it excludes \"args\", \"size\" and \"tail_hex\"");
            }
        } else if (s == null) {
            if (argsNode != null || size != null || tail != null || tailArg != null) {
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

        ObjectNode saveNode = m.object("save");
        Map<String, String> save = saveNode == null ? Map.of() : saves(fieldsReadable ? s : null, args, saveNode);

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
        return new Step.Ioctl(fd, c.name(), args, arg, tail, tailArg, expect, save, tolerate);
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
