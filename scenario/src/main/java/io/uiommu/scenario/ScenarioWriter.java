package io.uiommu.scenario;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.Closeable;
import java.io.Flushable;
import java.io.IOException;
import java.io.Writer;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;

/**
 * Writes scenarios in the format {@link ScenarioReader} reads: the header line, then one compact
 * JSON object per step. Recorders and tools build {@link Step} records and hand them here; what is
 * written reads back to equal steps.
 */
public final class ScenarioWriter implements Closeable, Flushable {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final Writer out;

    /** Starts a scenario: writes the header line at once. */
    public ScenarioWriter(Writer out, ScenarioHeader header) throws IOException {
        this.out = out;
        ObjectNode h = NODES.objectNode();
        h.put("uiommu_scenario", header.version());
        h.put("platform", header.platform());
        if (header.description() != null) {
            h.put("description", header.description());
        }
        line(h);
    }

    public void step(Step step) throws IOException {
        line(toJson(step));
    }

    /** A {@code #} comment line (line breaks in the text start new comment lines). */
    public void comment(String text) throws IOException {
        for (String l : text.split("\n", -1)) {
            out.write(l.isEmpty() ? "#\n" : "# " + l + "\n");
        }
    }

    /** A blank line, to separate sections for a human reader. */
    public void blank() throws IOException {
        out.write("\n");
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    /** A whole scenario as text. */
    public static String write(Scenario scenario) {
        java.io.StringWriter sw = new java.io.StringWriter();
        try (ScenarioWriter w = new ScenarioWriter(sw, scenario.header())) {
            for (Step s : scenario.steps()) {
                w.step(s);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return sw.toString();
    }

    /** One step as a JSON object line (without the line break). */
    public static String toLine(Step step) {
        try {
            return JSON.writeValueAsString(toJson(step));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private void line(ObjectNode o) throws IOException {
        out.write(JSON.writeValueAsString(o));
        out.write('\n');
    }

    static ObjectNode toJson(Step step) {
        ObjectNode o = NODES.objectNode();
        o.put("step", step.kind());
        switch (step) {
            case Step.Open s -> {
                o.put("as", s.as());
                if (s.path() != null) {
                    o.put("path", s.path());
                }
                if (s.expect() != null) {
                    o.set("expect", expect(s.expect()));
                }
            }
            case Step.Eventfd s -> {
                o.put("as", s.as());
                put(o, "initval", s.initval());
                put(o, "flags", s.flags());
            }
            case Step.ExpectEventfd s -> {
                put(o, "fd", s.fd());
                put(o, "count", s.count());
            }
            case Step.Mmio s -> {
                o.put("device", s.device());
                put(o, "bar", s.bar());
                put(o, "offset", s.offset());
                put(o, "width", s.width());
                put(o, "value", s.value());
                put(o, "expect", s.expect());
                if (s.save() != null) {
                    o.put("save", s.save());
                }
            }
            case Step.Close s -> {
                put(o, "fd", s.fd());
                if (s.expect() != null) {
                    o.set("expect", expect(s.expect()));
                }
            }
            case Step.Dup s -> {
                put(o, "fd", s.fd());
                o.put("as", s.as());
            }
            case Step.Mmap s -> {
                put(o, "fd", s.fd());
                put(o, "offset", s.offset());
                put(o, "length", s.length());
                if (s.as() != null) {
                    o.put("as", s.as());
                }
                put(o, "addr", s.addr());
                if (!s.prot().equals("rw")) {
                    o.put("prot", s.prot());
                }
                if (s.shared()) {
                    o.put("shared", true);
                }
                if (s.expect() != null) {
                    o.set("expect", expect(s.expect()));
                }
            }
            case Step.Munmap s -> {
                put(o, "addr", s.addr());
                put(o, "length", s.length());
            }
            case Step.Write s -> {
                put(o, "addr", s.addr());
                if (s.hex() != null) {
                    o.put("hex", s.hex());
                }
                put(o, "fill", s.fill());
                put(o, "length", s.length());
                if (s.struct() != null) {
                    o.put("struct", s.struct());
                    if (!s.fields().isEmpty()) {
                        o.set("fields", fields(s.fields()));
                    }
                }
            }
            case Step.Read s -> {
                put(o, "addr", s.addr());
                if (s.struct() != null) {
                    o.put("struct", s.struct());
                    if (!s.expect().isEmpty()) {
                        ObjectNode e = o.putObject("expect");
                        s.expect().forEach((k, v) -> e.set(k, node(v)));
                    }
                    if (!s.save().isEmpty()) {
                        ObjectNode sv = o.putObject("save");
                        s.save().forEach(sv::put);
                    }
                } else {
                    put(o, "length", s.length());
                    if (s.expectHex() != null) {
                        o.put("expect_hex", s.expectHex());
                    }
                    put(o, "expect_fill", s.expectFill());
                }
            }
            case Step.Ioctl s -> ioctl(o, s);
            case Step.FdRead s -> {
                fdTransfer(o, s.fd(), s.addr(), s.count(), s.expect());
                put(o, "offset", s.offset());
            }
            case Step.FdWrite s -> {
                fdTransfer(o, s.fd(), s.addr(), s.count(), s.expect());
                put(o, "offset", s.offset());
            }
            case Step.Fork s -> o.put("as", s.as());
            case Step.SwitchProcess s -> o.put("to", s.to());
            case Step.Exit s -> {
                if (s.process() != null) {
                    o.put("process", s.process());
                }
            }
            case Step.ExpectObjects s -> {
                put(o, "fd", s.fd());
                put(o, "count", s.count());
                if (s.ids() != null) {
                    ArrayNode a = o.putArray("ids");
                    s.ids().forEach(v -> a.add(node(v)));
                }
                if (s.types() != null) {
                    ObjectNode t = o.putObject("types");
                    s.types().forEach((k, v) -> t.set(k, node(v)));
                }
            }
            case Step.Bind s -> {
                put(o, "fd", s.fd());
                o.put("device", s.device());
                o.put("as", s.as());
                if (s.expect() != null) {
                    o.set("expect", expect(s.expect()));
                }
            }
            case Step.Attach s -> {
                put(o, "fd", s.fd());
                put(o, "dev", s.dev());
                put(o, "pasid", s.pasid());
                put(o, "pt", s.pt());
                if (s.as() != null) {
                    o.put("as", s.as());
                }
                if (s.expect() != null) {
                    o.set("expect", expect(s.expect()));
                }
            }
            case Step.Detach s -> {
                put(o, "fd", s.fd());
                put(o, "dev", s.dev());
                put(o, "pasid", s.pasid());
                if (s.expect() != null) {
                    o.set("expect", expect(s.expect()));
                }
            }
            case Step.Dma s -> dma(o, s);
            case Step.Audit s -> {
                if (s.enable() != null) {
                    o.put("enable", s.enable());
                }
                put(o, "expect_reports", s.expectReports());
                if (s.expectContains() != null) {
                    o.put("expect_contains", s.expectContains());
                }
                if (s.clear()) {
                    o.put("clear", true);
                }
            }
            case Step.DirtyBitmap s -> {
                put(o, "fd", s.fd());
                put(o, "hwpt", s.hwpt());
                put(o, "iova", s.iova());
                put(o, "length", s.length());
                put(o, "page_size", s.pageSize());
                if (s.noClear()) {
                    o.put("no_clear", true);
                }
                if (s.expectPages() != null) {
                    var a = o.putArray("expect_pages");
                    for (String p : s.expectPages()) {
                        if (p.matches("[0-9]+")) {
                            a.add(Long.parseLong(p));
                        } else {
                            a.add(p);
                        }
                    }
                }
                if (s.expect() != null) {
                    o.set("expect", expect(s.expect()));
                }
            }
            case Step.Comment s -> o.put("text", s.text());
            case Step.Label s -> o.put("name", s.name());
        }
        return o;
    }

    private static void dma(ObjectNode o, Step.Dma s) {
        put(o, "fd", s.fd());
        put(o, "dev", s.dev());
        put(o, "pasid", s.pasid());
        put(o, "iova", s.iova());
        o.put("op", s.write() ? "write" : "read");
        if (s.hex() != null) {
            o.put("hex", s.hex());
        }
        put(o, "fill", s.fill());
        put(o, "length", s.length());
        Step.DmaExpect e = s.expect();
        if (!e.equals(Step.DmaExpect.NO_FAULT)) {
            ObjectNode x = o.putObject("expect");
            if (e.errno() != null) {
                x.put("errno", e.errno().name());
            }
            if (e.fault() != null) {
                x.put("fault", e.fault());
            }
            put(x, "level", e.level());
            put(x, "code", e.code());
            if (e.stage2() != null) {
                x.put("stage2", e.stage2());
            }
            put(x, "bytes_done", e.bytesDone());
        }
    }

    private static void fdTransfer(ObjectNode o, Value fd, Value addr, Value count, Expect e) {
        put(o, "fd", fd);
        put(o, "addr", addr);
        put(o, "count", count);
        if (e != null) {
            o.set("expect", expect(e));
        }
    }

    private static void ioctl(ObjectNode o, Step.Ioctl s) {
        put(o, "fd", s.fd());
        o.put("cmd", s.cmd());
        if (!s.args().isEmpty()) {
            o.set("args", fields(s.args()));
        }
        put(o, "arg", s.arg());
        if (s.tailHex() != null) {
            o.put("tail_hex", s.tailHex());
        }
        if (s.tail() != null) {
            o.set("tail", arg(s.tail()));
        }
        if (!s.expect().equals(Expect.SUCCESS)) {
            o.set("expect", expect(s.expect()));
        }
        if (!s.save().isEmpty()) {
            ObjectNode sv = o.putObject("save");
            s.save().forEach(sv::put);
        }
        if (!s.tolerate().isEmpty()) {
            ArrayNode t = o.putArray("tolerate");
            s.tolerate().forEach(e -> t.add(e.name()));
        }
    }

    private static ObjectNode expect(Expect e) {
        ObjectNode o = NODES.objectNode();
        put(o, "ret", e.ret());
        if (e.errno() != null) {
            o.put("errno", e.errno().name());
        }
        e.fields().forEach((k, v) -> o.set(k, node(v)));
        return o;
    }

    private static ObjectNode fields(Map<String, Arg> args) {
        ObjectNode o = NODES.objectNode();
        args.forEach((k, v) -> o.set(k, arg(v)));
        return o;
    }

    private static JsonNode arg(Arg a) {
        return switch (a) {
            case Arg.Scalar s -> node(s.value());
            case Arg.Inline in -> values(in.values());
            case Arg.StructArray sa -> {
                ObjectNode o = NODES.objectNode();
                o.put("array", sa.type());
                if (!sa.items().isEmpty()) {
                    ArrayNode items = o.putArray("items");
                    sa.items().forEach(item -> items.add(fields(item)));
                }
                put(o, "count", sa.count());
                yield o;
            }
            case Arg.IntegerArray ia -> {
                ObjectNode o = NODES.objectNode();
                o.put("array", ia.type());
                if (!ia.items().isEmpty()) {
                    o.set("items", values(ia.items()));
                }
                put(o, "count", ia.count());
                yield o;
            }
            case Arg.StructRef r -> {
                ObjectNode o = NODES.objectNode();
                o.put("struct", r.type());
                if (!r.fields().isEmpty()) {
                    o.set("fields", fields(r.fields()));
                }
                yield o;
            }
        };
    }

    private static ArrayNode values(List<Value> vs) {
        ArrayNode a = NODES.arrayNode();
        vs.forEach(v -> a.add(node(v)));
        return a;
    }

    private static void put(ObjectNode o, String name, Value v) {
        if (v != null) {
            o.set(name, node(v));
        }
    }

    private static JsonNode node(Value v) {
        return v.isJsonNumber() ? NODES.numberNode(new BigInteger(v.text())) : NODES.textNode(v.text());
    }
}
