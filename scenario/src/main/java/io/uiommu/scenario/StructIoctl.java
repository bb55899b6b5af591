package io.uiommu.scenario;

import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.UapiStruct;

import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One ioctl with a struct argument, done as a C program does it: the arrays and structs that pointer
 * fields point to, then the struct itself, are written into the process's scratch memory, the ioctl
 * gets the struct's address, and afterwards everything is read back so that outputs can be checked.
 *
 * <p>Layout: pointed-to buffers first (8-byte aligned), the struct last, followed by the raw tail
 * bytes and zeros up to the struct's {@code size} field. Keeping nothing else after the struct
 * matters: the kernel reads the bytes between sizeof and {@code size} and wants them zero.
 */
final class StructIoctl {
    /** Zeros written past the struct when {@code size} is larger; beyond that lies whatever is mapped. */
    private static final int MAX_ZERO_TAIL = 64 << 10;
    /** The largest pointed-to buffer replay builds. */
    private static final long MAX_BUFFER = 64L << 20;

    /** What the call returned and what the memory held afterwards. */
    record Result(long ret, byte[] struct, Map<String, byte[]> pointees) {
        long read(FieldPath f) {
            byte[] b = f.pointer() == null ? struct : pointees.get(f.pointer());
            if (f.offset() + f.width() > b.length) {
                throw ReplayStop.fail(f.path() + " is outside the " + b.length + " bytes "
                        + (f.pointer() == null ? "of the struct" : f.pointer() + " points to"));
            }
            return get(b, (int) f.offset(), f.width());
        }
    }

    private StructIoctl() {
    }

    static Result run(SimulatedProcess p, ScratchArea scratch, int fd, int code, UapiStruct s, Map<String, Arg> args,
            String tailHex, Value.Resolver vars) {
        return run(p, scratch, fd, code, s, args, tailHex, null, vars);
    }

    /** With {@code tailArg}, an array placed right after the struct; the size field then defaults to include it. */
    static Result run(SimulatedProcess p, ScratchArea scratch, int fd, int code, UapiStruct s, Map<String, Arg> args,
            String tailHex, Arg tailArg, Value.Resolver vars) {
        Map<String, byte[]> pointees = new LinkedHashMap<>();
        for (Map.Entry<String, Arg> e : args.entrySet()) {
            byte[] b = pointee(s.name() + "." + e.getKey(), e.getValue(), vars);
            if (b != null) {
                pointees.put(e.getKey(), b);
            }
        }
        Map<String, Long> offsets = new LinkedHashMap<>();
        long off = 0;
        for (Map.Entry<String, byte[]> e : pointees.entrySet()) {
            offsets.put(e.getKey(), off);
            off = align8(off + e.getValue().length);
        }
        long structOff = off;

        byte[] tail = tailArg != null ? pointee(s.name() + " tail", tailArg, vars)
                : tailHex == null ? new byte[0] : HexFormat.of().parseHex(tailHex);
        String sizeField = StepReader.sizeField(s);
        long defaultSize = s.size() + (tailArg != null ? tail.length : 0);
        long sizeValue = defaultSize;
        if (sizeField != null && args.get(sizeField) instanceof Arg.Scalar sz) {
            sizeValue = fit(sz.value().evaluate(vars), s.field(sizeField).elementSize(), s.name() + "." + sizeField);
        }
        long region = Math.max(s.size() + tail.length, Math.min(sizeValue, s.size() + MAX_ZERO_TAIL));
        long base = scratch.ensure(p, structOff + region);

        byte[] bytes = new byte[(int) region];
        if (sizeField != null) {
            put(bytes, s.offset(sizeField), s.field(sizeField).elementSize(), defaultSize);
        }
        for (Map.Entry<String, Arg> e : args.entrySet()) {
            String name = e.getKey();
            Long pointer = offsets.get(name);
            if (pointer != null) {
                put(bytes, s.offset(name), 8, base + pointer);
            } else {
                putField(bytes, 0, s, name, e.getValue(), vars);
            }
        }
        System.arraycopy(tail, 0, bytes, s.size(), tail.length);

        for (Map.Entry<String, byte[]> e : pointees.entrySet()) {
            p.write(base + offsets.get(e.getKey()), e.getValue(), 0, e.getValue().length);
        }
        p.write(base + structOff, bytes, 0, bytes.length);

        long ret = p.ioctl(fd, code, base + structOff);

        byte[] out = new byte[s.size()];
        p.read(base + structOff, out, 0, out.length);
        Map<String, byte[]> outPointees = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : pointees.entrySet()) {
            byte[] b = new byte[e.getValue().length];
            p.read(base + offsets.get(e.getKey()), b, 0, b.length);
            outPointees.put(e.getKey(), b);
        }
        return new Result(ret, out, outPointees);
    }

    /** The bytes a pointer argument points to, or null if the argument is not a pointer. */
    private static byte[] pointee(String where, Arg a, Value.Resolver vars) {
        return switch (a) {
            case Arg.StructArray sa -> {
                UapiStruct elem = StructTypes.struct(sa.type());
                long count = count(where, sa.count(), sa.items().size(), elem.size(), vars);
                byte[] b = new byte[(int) (count * elem.size())];
                for (int i = 0; i < sa.items().size(); i++) {
                    for (Map.Entry<String, Arg> f : sa.items().get(i).entrySet()) {
                        putField(b, i * elem.size(), elem, f.getKey(), f.getValue(), vars);
                    }
                }
                yield b;
            }
            case Arg.IntegerArray ia -> {
                int w = StructTypes.integerSize(ia.type());
                long count = count(where, ia.count(), ia.items().size(), w, vars);
                byte[] b = new byte[(int) (count * w)];
                for (int i = 0; i < ia.items().size(); i++) {
                    put(b, i * w, w, fit(ia.items().get(i).evaluate(vars), w, where + "[" + i + "]"));
                }
                yield b;
            }
            case Arg.StructRef r -> {
                UapiStruct st = StructTypes.struct(r.type());
                byte[] b = new byte[st.size()];
                for (Map.Entry<String, Arg> f : r.fields().entrySet()) {
                    putField(b, 0, st, f.getKey(), f.getValue(), vars);
                }
                yield b;
            }
            default -> null;
        };
    }

    private static long count(String where, Value count, int items, int elementSize, Value.Resolver vars) {
        long n = count == null ? items : count.evaluate(vars);
        if (n < 0) {
            throw ReplayStop.fail(where + ": count " + Format.number(n) + " is negative");
        }
        if (n < items) {
            throw ReplayStop.fail(where + ": count " + n + " is less than the " + items + " items given");
        }
        if (n > MAX_BUFFER / elementSize) {
            throw ReplayStop.fail(where + ": " + n + " elements is more than replay builds (" + (MAX_BUFFER >> 20)
                    + " MiB)");
        }
        return n;
    }

    /** Writes a scalar or inline-array field of {@code s} placed at {@code base} in {@code b}. */
    static void putField(byte[] b, int base, UapiStruct s, String name, Arg a, Value.Resolver vars) {
        UapiStruct.Field f = s.field(name);
        String where = s.name() + "." + name;
        switch (a) {
            case Arg.Scalar sc -> put(b, base + f.offset(), f.elementSize(),
                    fit(sc.value().evaluate(vars), f.elementSize(), where));
            case Arg.Inline in -> {
                for (int i = 0; i < in.values().size(); i++) {
                    put(b, base + f.offset() + i * f.elementSize(), f.elementSize(),
                            fit(in.values().get(i).evaluate(vars), f.elementSize(), where + "[" + i + "]"));
                }
            }
            default -> throw new IllegalStateException("pointer in " + where);
        }
    }

    /** The value truncated to {@code width} bytes, if it fits as an unsigned or a signed number. */
    static long fit(long v, int width, String where) {
        if (width == 8) {
            return v;
        }
        int bits = width * 8;
        long max = 1L << bits;
        if ((v >= 0 && v < max) || (v < 0 && v >= -(max >> 1))) {
            return v & (max - 1);
        }
        throw ReplayStop.fail(where + ": " + Format.number(v) + " does not fit in " + bits + " bits");
    }

    private static long align8(long v) {
        return (v + 7) & -8L;
    }

    static void put(byte[] b, int off, int width, long v) {
        for (int i = 0; i < width; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    static long get(byte[] b, int off, int width) {
        long v = 0;
        for (int i = 0; i < width; i++) {
            v |= (b[off + i] & 0xffL) << (8 * i);
        }
        return v;
    }
}
