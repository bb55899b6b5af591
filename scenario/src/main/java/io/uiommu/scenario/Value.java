package io.uiommu.scenario;

import io.uiommu.uapi.UapiConstants;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A numeric value of a scenario, as written: a JSON number, or a string expression of numbers
 * ({@code 4096}, {@code 0x1000}), kernel constant names, {@code sizeof(struct_name)} and variables
 * ({@code $buf}), joined by {@code |}, {@code +} and {@code -}. Constants are resolved when the
 * scenario is read, so a typo fails there; variables are resolved when the step runs. Arithmetic is
 * 64-bit and wraps, like the C the scenario stands for.
 */
public final class Value {
    /** Supplies variable values while a step runs; throws when a variable is not set. */
    @FunctionalInterface
    public interface Resolver {
        long variable(String name);
    }

    /** Constants a scenario may use beyond the uAPI's own names. */
    static final Map<String, Long> BUILTINS = Map.of(
            "PAGE_SIZE", 4096L,
            "MOCK_PAGE_SIZE", 2048L,
            "U8_MAX", 0xffL,
            "U16_MAX", 0xffffL,
            "U32_MAX", 0xffff_ffffL,
            "U64_MAX", -1L);

    private static final long JSON_SAFE_MAX = 1L << 53;

    private final String text;
    private final boolean number;
    private final Node expr;

    private Value(String text, boolean number, Node expr) {
        this.text = text;
        this.number = number;
        this.expr = expr;
    }

    /** A literal. Written as a JSON number when every JSON reader keeps it exact, as hex otherwise. */
    public static Value of(long v) {
        if (v >= 0 && v < JSON_SAFE_MAX) {
            return new Value(Long.toString(v), true, new Lit(v));
        }
        return new Value("0x" + Long.toHexString(v), false, new Lit(v));
    }

    /** A literal from a JSON number (already range-checked by the reader). */
    static Value ofJsonNumber(String text, long v) {
        return new Value(text, true, new Lit(v));
    }

    /** A reference to a variable, {@code $name}. */
    public static Value variable(String name) {
        return parse("$" + name);
    }

    /** Parses a string expression; IllegalArgumentException says what is wrong with it. */
    public static Value parse(String text) {
        return new Value(text, false, new Parser(text).parseAll());
    }

    /** The value as written: the number's digits, or the expression string. */
    public String text() {
        return text;
    }

    /** True when written as a JSON number rather than a string. */
    public boolean isJsonNumber() {
        return number;
    }

    /** True when the value needs no variable. */
    public boolean isLiteral() {
        return expr instanceof Lit;
    }

    /** The value of a literal (see {@link #isLiteral()}). */
    public long literal() {
        if (expr instanceof Lit(long v)) {
            return v;
        }
        throw new IllegalStateException(text + " is not a literal");
    }

    /** The variables the value reads, in order of appearance. */
    public Set<String> variables() {
        Set<String> out = new LinkedHashSet<>();
        expr.collect(out);
        return Collections.unmodifiableSet(out);
    }

    public long evaluate(Resolver vars) {
        return expr.eval(vars);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Value v && v.number == number && v.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }

    /** The value of a constant name, or null. */
    static Long constant(String name) {
        Long v = BUILTINS.get(name);
        return v != null ? v : UapiConstants.byName(name);
    }

    /** Every constant name a scenario may use (for suggestions). */
    static List<String> constantNames() {
        List<String> names = new ArrayList<>(UapiConstants.all().keySet());
        names.addAll(BUILTINS.keySet());
        return names;
    }

    private sealed interface Node permits Lit, Var, Bin, Neg {
        long eval(Resolver vars);

        void collect(Set<String> out);
    }

    private record Lit(long v) implements Node {
        public long eval(Resolver vars) {
            return v;
        }

        public void collect(Set<String> out) {
        }
    }

    private record Var(String name) implements Node {
        public long eval(Resolver vars) {
            return vars.variable(name);
        }

        public void collect(Set<String> out) {
            out.add(name);
        }
    }

    private record Bin(char op, Node left, Node right) implements Node {
        public long eval(Resolver vars) {
            long l = left.eval(vars);
            long r = right.eval(vars);
            return switch (op) {
                case '|' -> l | r;
                case '+' -> l + r;
                default -> l - r;
            };
        }

        public void collect(Set<String> out) {
            left.collect(out);
            right.collect(out);
        }
    }

    private record Neg(Node x) implements Node {
        public long eval(Resolver vars) {
            return -x.eval(vars);
        }

        public void collect(Set<String> out) {
            x.collect(out);
        }
    }

    /** Recursive descent over: expr = sum ('|' sum)*; sum = ['-'] atom (('+'|'-') atom)*. */
    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) {
            this.s = s;
        }

        Node parseAll() {
            skipSpace();
            if (pos == s.length()) {
                throw new IllegalArgumentException("empty value");
            }
            Node n = fold(expr());
            skipSpace();
            if (pos != s.length()) {
                throw error("unexpected '" + s.charAt(pos) + "'");
            }
            return n;
        }

        private Node expr() {
            Node n = sum();
            while (peek('|')) {
                pos++;
                n = new Bin('|', n, sum());
            }
            return n;
        }

        private Node sum() {
            Node n;
            if (peek('-')) {
                pos++;
                n = new Neg(atom());
            } else {
                n = atom();
            }
            while (peek('+') || peek('-')) {
                char op = s.charAt(pos++);
                n = new Bin(op, n, atom());
            }
            return n;
        }

        private Node atom() {
            skipSpace();
            if (pos == s.length()) {
                throw error("a value is missing at the end");
            }
            char c = s.charAt(pos);
            if (c == '(') {
                pos++;
                Node n = expr();
                if (!peek(')')) {
                    throw error("missing ')'");
                }
                pos++;
                return n;
            }
            if (c == '$') {
                pos++;
                String name = name();
                if (name.isEmpty()) {
                    throw error("'$' must be followed by a variable name");
                }
                return new Var(name);
            }
            if (Character.isDigit(c)) {
                return new Lit(number());
            }
            String name = name();
            if (name.isEmpty()) {
                throw error("unexpected '" + c + "'");
            }
            if (name.equals("sizeof")) {
                return new Lit(sizeOf());
            }
            Long v = constant(name);
            if (v == null) {
                throw new IllegalArgumentException("unknown constant " + name
                        + Suggest.didYouMean(name, constantNames()));
            }
            return new Lit(v);
        }

        private long sizeOf() {
            if (!peek('(')) {
                throw error("sizeof needs a struct name in parentheses");
            }
            pos++;
            skipSpace();
            String type = name();
            if (!peek(')')) {
                throw error("missing ')' after sizeof(" + type);
            }
            pos++;
            int size = StructTypes.sizeOf(type);
            if (size < 0) {
                throw new IllegalArgumentException("sizeof: unknown struct " + type
                        + Suggest.didYouMean(type, StructTypes.names()));
            }
            return size;
        }

        private long number() {
            int start = pos;
            boolean hex = s.startsWith("0x", pos) || s.startsWith("0X", pos);
            if (hex) {
                pos += 2;
            }
            int digits = pos;
            while (pos < s.length() && Character.isLetterOrDigit(s.charAt(pos))) {
                pos++;
            }
            String t = s.substring(digits, pos);
            try {
                if (t.isEmpty()) {
                    throw new NumberFormatException();
                }
                return Long.parseUnsignedLong(t, hex ? 16 : 10);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad number " + s.substring(start, pos)
                        + " (decimal or 0x hex, at most 64 bits)");
            }
        }

        private String name() {
            int start = pos;
            while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_')) {
                pos++;
            }
            if (pos > start && Character.isDigit(s.charAt(start))) {
                throw error("a name cannot start with a digit");
            }
            return s.substring(start, pos);
        }

        private boolean peek(char c) {
            skipSpace();
            return pos < s.length() && s.charAt(pos) == c;
        }

        private void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " in \"" + s + "\"");
        }

        /** Folds operations on literals so that constant-only expressions become literals. */
        private static Node fold(Node n) {
            return switch (n) {
                case Bin(char op, Node l, Node r) -> {
                    Node fl = fold(l);
                    Node fr = fold(r);
                    Bin b = new Bin(op, fl, fr);
                    yield fl instanceof Lit && fr instanceof Lit ? new Lit(b.eval(name -> 0)) : b;
                }
                case Neg(Node x) -> {
                    Node fx = fold(x);
                    yield fx instanceof Lit(long v) ? new Lit(-v) : new Neg(fx);
                }
                default -> n;
            };
        }
    }
}
