package io.uiommu.cli;

import io.uiommu.iommufd.Errno;
import io.uiommu.scenario.Arg;
import io.uiommu.scenario.Expect;
import io.uiommu.scenario.ScenarioHeader;
import io.uiommu.scenario.ScenarioWriter;
import io.uiommu.scenario.Step;
import io.uiommu.scenario.Value;
import io.uiommu.server.CallListener;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.UapiConstants;
import io.uiommu.uapi.UapiStruct;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code uiommu run --record FILE}: turns the calls a real client makes into a scenario that
 * {@code uiommu replay} runs. Every struct is written by field name; user memory the call read
 * (arrays, driver data) becomes {@code write} steps at the client's own addresses, memory it wrote
 * becomes {@code read} checks, and every page it touched or pinned is mapped at the same address
 * first, so that pointers in the recorded structs stay valid. Processes appear as {@code fork}s of
 * the process that started them; fd numbers become variables.
 *
 * <p>Not recorded: what the client did outside uiommu (its own munmaps, the content of pinned pages
 * it later changed), the moment of a fork (it is placed before the child's first call).
 *
 * <p>Locking: calls arrive on several serving threads; everything is under this object's monitor.
 */
final class SessionRecorder implements CallListener, AutoCloseable {
    private static final long PAGE = 4096;
    /** The union member of struct iommu_test_cmd each selftest op uses. */
    private static final Map<Integer, String> TEST_OP_MEMBER = testOpMembers();
    private static final Set<Integer> ACCESS_OPS = Set.of(UapiConstants.IOMMU_TEST_OP_ACCESS_PAGES,
            UapiConstants.IOMMU_TEST_OP_ACCESS_RW, UapiConstants.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
            UapiConstants.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS);

    private final Path file;
    private final List<Step> steps = new ArrayList<>();
    private final Map<Integer, String> processOf = new HashMap<>();
    /** Per process: page ranges already mapped in the scenario, start -> end. */
    private final Map<String, TreeMap<Long, Long>> mapped = new HashMap<>();
    /** Per process: client fd number -> the scenario variable holding it ("fd5", "p2_fd5"). */
    private final Map<String, Map<Integer, String>> fdVars = new HashMap<>();
    /** Open file (its id from the daemon) -> a variable of one fd of it, to name dups the daemon never saw. */
    private final Map<Long, String> fileVars = new HashMap<>();
    private final Map<String, Long> varFile = new HashMap<>();
    private final Set<String> accessFdVars = new HashSet<>();
    private String current = "main";
    private int processes;
    private final String platform;

    SessionRecorder(Path file, String platform) {
        this.file = file;
        this.platform = platform;
        mapped.put("main", new TreeMap<>());
        fdVars.put("main", new HashMap<>());
    }

    @Override
    public synchronized void served(Call call) {
        String proc = processFor(call.pid());
        switchTo(proc);
        switch (call.kind()) {
            case OPEN -> {
                if (call.result() >= 0) {
                    String var = newFdVar(proc, (int) call.result(), call.fileId());
                    steps.add(new Step.Open(var));
                }
            }
            case CLOSE -> {
                String var = fdVars.get(proc).remove(call.fd());
                if (var != null) {
                    steps.add(new Step.Close(Value.variable(var), null));
                    forgetFileVar(var);
                }
            }
            case IOCTL -> ioctl(proc, call);
            case READ, WRITE -> readWrite(proc, call);
        }
    }

    private String processFor(int pid) {
        String name = processOf.get(pid);
        if (name != null) {
            return name;
        }
        // "main" stays as the replay starts it: a process the recording never saw the start of (each
        // test of a kselftest harness runs in its own child) is a fork of that pristine process.
        String parent = processOf.get(parentPid(pid));
        if (parent == null) {
            parent = "main";
        }
        {
            name = "p" + (++processes);
            switchTo(parent);
            steps.add(new Step.Fork(name));
            mapped.put(name, new TreeMap<>(mapped.get(parent)));
            fdVars.put(name, new HashMap<>(fdVars.get(parent)));
        }
        processOf.put(pid, name);
        return name;
    }

    private static int parentPid(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(rest[1]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private void ioctl(String proc, Call call) {
        Ioctl op = Ioctl.ofCode(call.request());
        UapiStruct struct = op == null ? null : op.struct();
        byte[] before = call.argBefore();
        long structEnd = call.arg() + (before == null ? 0 : sizeField(before));
        mapTouched(proc, call, structEnd);
        Step.Ioctl step;
        String cmd = op != null ? op.name() : "0x" + Integer.toHexString(call.request());
        if (struct == null || before == null) {
            step = new Step.Ioctl(fdValue(proc, call), cmd, null, Value.of(call.arg()), null, null, null, null);
        } else {
            Map<String, Arg> args = new LinkedHashMap<>();
            Map<String, List<Value>> arrays = new LinkedHashMap<>();
            for (var f : fieldsOf(struct, before).entrySet()) {
                int bracket = f.getKey().indexOf('[');
                if (bracket > 0) {
                    // inline arrays (__u8 __reserved[3]) are written as a list
                    String name = f.getKey().substring(0, bracket);
                    List<Value> items = arrays.computeIfAbsent(name, k -> new ArrayList<>());
                    if (items.isEmpty()) {
                        args.put(name, null);
                    }
                    items.add(Value.of(f.getValue()));
                } else {
                    args.put(f.getKey(), new Arg.Scalar(argValue(op, before, f.getKey(), f.getValue())));
                }
            }
            arrays.forEach((name, items) -> args.put(name, new Arg.Inline(items)));
            String tail = tailHex(call, call.arg() + struct.size(), structEnd);
            step = new Step.Ioctl(fdValue(proc, call), cmd, args, null, tail, null, null, null);
        }
        Expect expect = call.result() < 0 ? Expect.errno(Errno.of((int) -call.result())) : Expect.ret(call.result());
        Map<String, String> save = new LinkedHashMap<>();
        if (struct != null && before != null && call.argAfter() != null) {
            var fieldsBefore = fieldsOf(struct, before);
            for (var f : fieldsOf(struct, call.argAfter()).entrySet()) {
                if (f.getValue().equals(fieldsBefore.get(f.getKey()))) {
                    continue;
                }
                if (call.result() >= 0 && isFdOutput(f.getKey())) {
                    String var = newFdVar(proc, (int) (long) f.getValue(), 0);
                    save.put(f.getKey(), var);
                    if (f.getKey().equals("create_access.out_access_fd")) {
                        accessFdVars.add(var);
                    }
                } else {
                    expect = expect.withField(f.getKey(), Value.of(f.getValue()));
                }
            }
        }
        steps.add(new Step.Ioctl(step.fd(), step.cmd(), step.args(), step.arg(), step.tailHex(), expect, save, null));
        checkWritten(call, call.arg(), structEnd);
    }

    private void readWrite(String proc, Call call) {
        mapTouched(proc, call, call.arg());
        Expect expect = call.result() < 0 ? Expect.errno(Errno.of((int) -call.result())) : Expect.ret(call.result());
        Value fd = fdValue(proc, call);
        Value addr = Value.of(call.arg());
        Value n = Value.of(call.count());
        steps.add(call.kind() == Kind.READ ? new Step.FdRead(fd, addr, n, expect) : new Step.FdWrite(fd, addr, n, expect));
        checkWritten(call, call.arg(), call.arg());
    }

    /**
     * Maps every page the call touched that the scenario has not mapped, then writes what it read,
     * each in the process whose memory it is (switching there and back when that is not the caller).
     */
    private void mapTouched(String proc, Call call, long structEnd) {
        for (Touch t : call.touches()) {
            long start = t.va() & -PAGE;
            long end = (t.va() + t.length() + PAGE - 1) & -PAGE;
            if (t.length() == 0 || insideStruct(call, t, structEnd)) {
                continue;
            }
            String owner = ownerOf(t, proc);
            TreeMap<Long, Long> ranges = mapped.get(owner);
            for (long[] gap : gaps(ranges, start, end)) {
                switchTo(owner);
                steps.add(new Step.Mmap(Value.of(gap[1] - gap[0]), "m" + Long.toHexString(gap[0]), Value.of(gap[0]),
                        null, false));
                ranges.put(gap[0], gap[1]);
            }
        }
        for (Touch t : call.touches()) {
            if (t.kind() == TouchKind.READ && !insideStruct(call, t, structEnd) && t.bytes() != null) {
                switchTo(ownerOf(t, proc));
                steps.add(Step.Write.ofHex(Value.of(t.va()), hex(t.bytes())));
            }
        }
        switchTo(proc);
    }

    private String ownerOf(Touch t, String caller) {
        String owner = processOf.get(t.pid());
        return owner == null ? caller : owner;
    }

    private void switchTo(String proc) {
        if (!proc.equals(current)) {
            steps.add(new Step.SwitchProcess(proc));
            current = proc;
        }
    }

    private void checkWritten(Call call, long structStart, long structEnd) {
        String caller = current;
        for (Touch t : call.touches()) {
            boolean inStruct = t.va() >= structStart && t.va() < structEnd;
            if (t.kind() == TouchKind.WRITE && !inStruct && t.bytes() != null) {
                switchTo(ownerOf(t, caller));
                steps.add(Step.Read.ofHex(Value.of(t.va()), hex(t.bytes())));
            }
        }
        switchTo(caller);
    }

    private static boolean insideStruct(Call call, Touch t, long structEnd) {
        return call.kind() == Kind.IOCTL && t.va() >= call.arg() && t.va() + t.length() <= structEnd;
    }

    /** Parts of [start, end) not yet covered by {@code ranges}. */
    private static List<long[]> gaps(TreeMap<Long, Long> ranges, long start, long end) {
        List<long[]> out = new ArrayList<>();
        long at = start;
        var before = ranges.floorEntry(start);
        if (before != null && before.getValue() > at) {
            at = before.getValue();
        }
        for (var e : ranges.subMap(start, true, end, false).entrySet()) {
            if (e.getKey() > at) {
                out.add(new long[] {at, e.getKey()});
            }
            at = Math.max(at, e.getValue());
        }
        if (at < end) {
            out.add(new long[] {at, end});
        }
        return out;
    }

    private String tailHex(Call call, long from, long to) {
        if (to <= from) {
            return null;
        }
        byte[] tail = new byte[(int) Math.min(to - from, 1 << 16)];
        for (Touch t : call.touches()) {
            if (t.kind() == TouchKind.READ && t.bytes() != null) {
                for (int i = 0; i < t.bytes().length; i++) {
                    long va = t.va() + i;
                    if (va >= from && va < from + tail.length) {
                        tail[(int) (va - from)] = t.bytes()[i];
                    }
                }
            }
        }
        return hex(tail);
    }

    /** The struct's own size field (its first u32). */
    private static long sizeField(byte[] struct) {
        return struct.length < 4 ? struct.length : read(struct, 0, 4);
    }

    /** Field values of one struct; for iommu_test_cmd only the union member its op uses. */
    private static Map<String, Long> fieldsOf(UapiStruct struct, byte[] bytes) {
        Map<String, Long> out = new LinkedHashMap<>();
        String member = null;
        if (struct.hasField("op") && struct.name().equals("iommu_test_cmd")) {
            member = TEST_OP_MEMBER.get((int) read(bytes, struct.field("op").offset(), 4));
        }
        for (UapiStruct.Field f : struct.fields().values()) {
            int dot = f.name().indexOf('.');
            if (dot >= 0 && (member == null || !f.name().startsWith(member + "."))) {
                continue;
            }
            if (f.isArray()) {
                for (int i = 0; i < f.count(); i++) {
                    out.put(f.name() + "[" + i + "]", read(bytes, f.offset() + i * f.elementSize(), f.elementSize()));
                }
            } else {
                out.put(f.name(), read(bytes, f.offset(), f.elementSize()));
            }
        }
        return out;
    }

    private Value argValue(Ioctl op, byte[] before, String field, long value) {
        if (op == Ioctl.IOMMU_TEST_CMD && field.equals("id") && ACCESS_OPS.contains((int) read(before, 4, 4))) {
            String var = fdVars.get(current).get((int) value);
            if (var != null && accessFdVars.contains(var)) {
                return Value.variable(var);
            }
        }
        return Value.of(value);
    }

    private static boolean isFdOutput(String field) {
        return field.equals("out_fault_fd") || field.endsWith("out_access_fd") || field.equals("out_veventq_fd");
    }

    /** The variable of the call's fd; a dup the daemon never saw becomes a dup step of a known fd. */
    private Value fdValue(String proc, Call call) {
        Map<Integer, String> vars = fdVars.get(proc);
        String var = vars.get(call.fd());
        if (var == null && call.fileId() != 0 && fileVars.containsKey(call.fileId())) {
            String of = fileVars.get(call.fileId());
            var = newFdVar(proc, call.fd(), call.fileId());
            steps.add(new Step.Dup(Value.variable(of), var));
        }
        if (var == null) {
            return Value.of(call.fd());
        }
        if (call.fileId() != 0) {
            fileVars.putIfAbsent(call.fileId(), var);
            varFile.putIfAbsent(var, call.fileId());
        }
        return Value.variable(var);
    }

    /** A closed fd's variable no longer names its file; another live fd of the file may. */
    private void forgetFileVar(String var) {
        Long file = varFile.remove(var);
        if (file == null || !var.equals(fileVars.get(file))) {
            return;
        }
        fileVars.remove(file);
        for (var e : varFile.entrySet()) {
            if (e.getValue().equals(file)) {
                fileVars.put(file, e.getKey());
                return;
            }
        }
    }

    private String newFdVar(String proc, int fd, long fileId) {
        String var = proc.equals("main") ? "fd" + fd : proc + "_fd" + fd;
        fdVars.get(proc).put(fd, var);
        if (fileId != 0) {
            fileVars.putIfAbsent(fileId, var);
            varFile.put(var, fileId);
        }
        return var;
    }

    private static long read(byte[] b, int off, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | (off + i < b.length ? b[off + i] & 0xff : 0);
        }
        return v;
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    private static Map<Integer, String> testOpMembers() {
        Map<Integer, String> m = new HashMap<>();
        m.put(UapiConstants.IOMMU_TEST_OP_ADD_RESERVED, "add_reserved");
        m.put(UapiConstants.IOMMU_TEST_OP_MOCK_DOMAIN, "mock_domain");
        m.put(UapiConstants.IOMMU_TEST_OP_MD_CHECK_MAP, "check_map");
        m.put(UapiConstants.IOMMU_TEST_OP_MD_CHECK_REFS, "check_refs");
        m.put(UapiConstants.IOMMU_TEST_OP_CREATE_ACCESS, "create_access");
        m.put(UapiConstants.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, "destroy_access_pages");
        m.put(UapiConstants.IOMMU_TEST_OP_ACCESS_PAGES, "access_pages");
        m.put(UapiConstants.IOMMU_TEST_OP_ACCESS_RW, "access_rw");
        m.put(UapiConstants.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, "memory_limit");
        m.put(UapiConstants.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, "mock_domain_replace");
        m.put(UapiConstants.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, "access_replace_ioas");
        m.put(UapiConstants.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, "mock_domain_flags");
        m.put(UapiConstants.IOMMU_TEST_OP_DIRTY, "dirty");
        m.put(UapiConstants.IOMMU_TEST_OP_MD_CHECK_IOTLB, "check_iotlb");
        m.put(UapiConstants.IOMMU_TEST_OP_TRIGGER_IOPF, "trigger_iopf");
        m.put(UapiConstants.IOMMU_TEST_OP_UI_PLATFORM_DEVICE_INFO, "platform_device_info");
        m.put(UapiConstants.IOMMU_TEST_OP_UI_DEVICE_BIND, "device_bind");
        m.put(UapiConstants.IOMMU_TEST_OP_UI_DEVICE_ATTACH, "device_attach");
        m.put(UapiConstants.IOMMU_TEST_OP_UI_DEVICE_DETACH, "device_detach");
        m.put(UapiConstants.IOMMU_TEST_OP_UI_DMA, "dma");
        m.put(UapiConstants.IOMMU_TEST_OP_UI_AUDIT, "audit");
        m.put(UapiConstants.IOMMU_TEST_OP_UI_FAULT_NAME, "fault_name");
        return Map.copyOf(m);
    }

    /** Writes the scenario. */
    @Override
    public synchronized void close() {
        try (Writer out = Files.newBufferedWriter(file);
                ScenarioWriter w = new ScenarioWriter(out, new ScenarioHeader(ScenarioHeader.VERSION, platform,
                        "recorded by uiommu run --record"))) {
            for (Step s : steps) {
                w.step(s);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
