package io.uiommu.scenario;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigInteger;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the members of one JSON object of a scenario, remembering which were used so that
 * {@link #finish()} can reject the rest: a misspelt member must fail loudly, not be ignored.
 * Problems are thrown as IllegalArgumentException with a message for the user.
 */
final class Members {
    private static final Pattern VAR_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final BigInteger U64_LIMIT = BigInteger.ONE.shiftLeft(64);
    private static final BigInteger S64_MIN = BigInteger.valueOf(Long.MIN_VALUE);

    private final ObjectNode node;
    private final String what;
    private final Set<String> used = new HashSet<>();

    Members(ObjectNode node, String what) {
        this.node = node;
        this.what = what;
    }

    boolean has(String name) {
        return node.has(name);
    }

    JsonNode raw(String name) {
        used.add(name);
        return node.get(name);
    }

    /** A member that must be present. */
    JsonNode required(String name) {
        JsonNode n = raw(name);
        if (n == null || n.isNull()) {
            throw new IllegalArgumentException(what + " needs \"" + name + "\"");
        }
        return n;
    }

    String string(String name, boolean required) {
        JsonNode n = required ? required(name) : raw(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new IllegalArgumentException("\"" + name + "\" of " + what + " must be a string");
        }
        return n.asText();
    }

    /** A variable name to set: letters, digits and underscores; a leading $ is accepted and dropped. */
    String variableName(String name, boolean required) {
        String s = string(name, required);
        return s == null ? null : checkVariableName(s, "\"" + name + "\" of " + what);
    }

    static String checkVariableName(String s, String where) {
        String v = s.startsWith("$") ? s.substring(1) : s;
        if (!VAR_NAME.matcher(v).matches()) {
            throw new IllegalArgumentException(where + ": \"" + s
                    + "\" is not a variable name (letters, digits, underscores)");
        }
        return v;
    }

    boolean bool(String name, boolean dflt) {
        JsonNode n = raw(name);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException("\"" + name + "\" of " + what + " must be true or false");
        }
        return n.asBoolean();
    }

    Value value(String name, boolean required) {
        JsonNode n = required ? required(name) : raw(name);
        return n == null || n.isNull() ? null : value(n, "\"" + name + "\" of " + what);
    }

    /** A value from a JSON number or expression string. */
    static Value value(JsonNode n, String where) {
        if (n.isIntegralNumber()) {
            BigInteger b = n.bigIntegerValue();
            if (b.compareTo(U64_LIMIT) >= 0 || b.compareTo(S64_MIN) < 0) {
                throw new IllegalArgumentException(where + ": " + b + " does not fit in 64 bits");
            }
            return Value.ofJsonNumber(n.asText(), b.longValue());
        }
        if (n.isTextual()) {
            try {
                return Value.parse(n.asText());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage());
            }
        }
        throw new IllegalArgumentException(where + ": expected a number or a string expression, got "
                + (n.isNumber() ? "a fraction" : n.getNodeType().name().toLowerCase(java.util.Locale.ROOT)));
    }

    ObjectNode object(String name) {
        JsonNode n = raw(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException("\"" + name + "\" of " + what + " must be an object");
        }
        return (ObjectNode) n;
    }

    /** Fields of an object in file order. */
    static Map<String, JsonNode> fields(ObjectNode o) {
        Map<String, JsonNode> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            m.put(e.getKey(), e.getValue());
        }
        return m;
    }

    /** Rejects members that were never asked for. */
    void finish(List<String> known) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!used.contains(name)) {
                throw new IllegalArgumentException(what + " has no member \"" + name + "\""
                        + Suggest.didYouMean(name, known));
            }
        }
    }
}
