package io.uiommu.scenario;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a platform file (JSON, docs/platforms.md): {@code {"uiommu_platform": 1, "name": ...,
 * "iommus": [...], "devices": [...]}}. Every member is checked — unknown members, wrong types and
 * out-of-range values fail with the file and the path of the value ({@code iommus[0] (dmar0)}),
 * and the platform as a whole is validated by {@link Platform}.
 */
public final class PlatformReader {
    /** The platform file format version this code reads. */
    public static final int VERSION = 1;

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final List<String> TOP = List.of("uiommu_platform", "name", "description", "iommus", "devices");
    private static final List<String> UNIT = List.of("name", "model", "input_address_bits", "output_address_bits",
            "granules", "pasid_bits", "nesting", "dirty_tracking", "pri", "registers");
    private static final List<String> DEVICE = List.of("name", "bdf", "stream_id", "iommu", "pasid_bits", "ats", "pri",
            "pasid_exec", "pasid_priv");

    private PlatformReader() {
    }

    public static Platform read(Path file) throws ScenarioException {
        String source = file.toString();
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ScenarioException(source, 0, "no such file");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new ScenarioException(source, 0, "not UTF-8 text");
        } catch (IOException e) {
            throw new ScenarioException(source, 0, "cannot read: " + e.getMessage());
        }
        return parse(source, text);
    }

    public static Platform parse(String source, String text) throws ScenarioException {
        JsonNode root;
        try {
            root = JSON.readTree(text.startsWith("\uFEFF") ? text.substring(1) : text);
        } catch (JacksonException e) {
            int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            throw new ScenarioException(source, line, "bad JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ScenarioException(source, 0, "a platform file is one JSON object");
        }
        try {
            return platform((ObjectNode) root);
        } catch (IllegalArgumentException e) {
            throw new ScenarioException(source, 0, e.getMessage());
        }
    }

    private static Platform platform(ObjectNode o) {
        Members m = new Members(o, "the platform");
        JsonNode v = m.required("uiommu_platform");
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() != VERSION) {
            throw new IllegalArgumentException("platform format version " + v + " is not supported (this uiommu reads "
                    + "\"uiommu_platform\": " + VERSION + ")");
        }
        String name = m.string("name", true);
        m.string("description", false);
        List<ObjectNode> unitNodes = objects(m.required("iommus"), "iommus");
        JsonNode devs = m.raw("devices");
        List<ObjectNode> deviceNodes = devs == null || devs.isNull() ? List.of() : objects(devs, "devices");
        m.finish(TOP);
        if (unitNodes.isEmpty()) {
            throw new IllegalArgumentException("\"iommus\" is empty: a platform has at least one IOMMU unit");
        }
        List<IommuUnit> units = new ArrayList<>();
        for (int i = 0; i < unitNodes.size(); i++) {
            units.add(unit(unitNodes.get(i), "iommus[" + i + "]"));
        }
        List<PciDevice> devices = new ArrayList<>();
        for (int i = 0; i < deviceNodes.size(); i++) {
            devices.add(device(deviceNodes.get(i), "devices[" + i + "]", units));
        }
        return new Platform(name, units, devices);
    }

    private static List<ObjectNode> objects(JsonNode n, String what) {
        if (!n.isArray()) {
            throw new IllegalArgumentException("\"" + what + "\" must be an array of objects");
        }
        List<ObjectNode> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            if (!n.get(i).isObject()) {
                throw new IllegalArgumentException(what + "[" + i + "] must be an object");
            }
            out.add((ObjectNode) n.get(i));
        }
        return out;
    }

    private static IommuUnit unit(ObjectNode o, String path) {
        String name = o.path("name").isTextual() ? o.get("name").asText() : null;
        String where = name == null ? path : path + " (" + name + ")";
        Members m = new Members(o, where);
        m.string("name", true);
        String model = m.string("model", true);
        int in = (int) number(m, "input_address_bits", where, 48);
        int out = (int) number(m, "output_address_bits", where, 48);
        List<Long> granules = granules(m.raw("granules"), where);
        int pasidBits = (int) number(m, "pasid_bits", where, 0);
        boolean nesting = m.bool("nesting", false);
        boolean dirty = m.bool("dirty_tracking", false);
        boolean pri = m.bool("pri", false);
        Map<String, Long> registers = registers(m.object("registers"), where);
        m.finish(UNIT);
        return new IommuUnit(name, model, in, out, granules, pasidBits, nesting, dirty, pri, registers);
    }

    private static PciDevice device(ObjectNode o, String path, List<IommuUnit> units) {
        String name = o.path("name").isTextual() ? o.get("name").asText() : null;
        String where = name == null ? path : path + " (" + name + ")";
        Members m = new Members(o, where);
        m.string("name", true);
        String bdf = m.string("bdf", true);
        String iommu = m.string("iommu", units.size() != 1);
        if (iommu == null) {
            iommu = units.getFirst().name();
        }
        // Arm systems commonly use the requester id as the stream id.
        long sid = number(m, "stream_id", where, -1);
        int pasidBits = (int) number(m, "pasid_bits", where, 0);
        boolean ats = m.bool("ats", false);
        boolean pri = m.bool("pri", false);
        boolean pasidExec = m.bool("pasid_exec", false);
        boolean pasidPriv = m.bool("pasid_priv", false);
        m.finish(DEVICE);
        PciDevice d = new PciDevice(name, bdf, 0, iommu, pasidBits, ats, pri);
        int streamId;
        if (sid >= 0) {
            streamId = (int) sid;
        } else {
            try {
                streamId = d.requesterId();
            } catch (RuntimeException e) {
                streamId = 0; // the bdf is refused with a clear message by Platform
            }
        }
        return new PciDevice(name, bdf, streamId, iommu, pasidBits, ats, pri, pasidExec, pasidPriv);
    }

    /** An integer member (a JSON number or a "0x..." string) within 32 bits, or the default. */
    private static long number(Members m, String member, String where, long dflt) {
        JsonNode n = m.raw(member);
        if (n == null || n.isNull()) {
            return dflt;
        }
        long v = u64(n, "\"" + member + "\" of " + where);
        if (v < 0 || v > 0xffff_ffffL) {
            throw new IllegalArgumentException("\"" + member + "\" of " + where + " is out of range");
        }
        return v;
    }

    /** A JSON integer or a decimal/"0x" hex string, as an unsigned 64-bit value. */
    private static long u64(JsonNode n, String where) {
        BigInteger b;
        if (n.isIntegralNumber()) {
            b = n.bigIntegerValue();
        } else if (n.isTextual()) {
            String s = n.asText().strip().replace("_", "");
            try {
                b = s.startsWith("0x") || s.startsWith("0X") ? new BigInteger(s.substring(2), 16) : new BigInteger(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + ": \"" + n.asText() + "\" is not a number");
            }
        } else {
            throw new IllegalArgumentException(where + " must be a number");
        }
        if (b.signum() < 0 || b.bitLength() > 64) {
            throw new IllegalArgumentException(where + ": " + b + " is not an unsigned 64-bit value");
        }
        return b.longValue();
    }

    private static List<Long> granules(JsonNode n, String where) {
        if (n == null || n.isNull()) {
            return List.of(4096L);
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException("\"granules\" of " + where + " must be an array of sizes in bytes");
        }
        List<Long> out = new ArrayList<>();
        for (JsonNode g : n) {
            out.add(u64(g, "\"granules\" of " + where));
        }
        return out;
    }

    private static Map<String, Long> registers(ObjectNode o, String where) {
        Map<String, Long> out = new LinkedHashMap<>();
        if (o != null) {
            for (Map.Entry<String, JsonNode> e : Members.fields(o).entrySet()) {
                out.put(e.getKey(), u64(e.getValue(), "register " + e.getKey() + " of " + where));
            }
        }
        return out;
    }
}
