package io.uiommu.scenario;

import io.uiommu.device.DmaEngine;
import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.StaleTranslation;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.iommufd.IommufdObject;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.Platform;
import io.uiommu.proc.EventFdFile;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.proc.UserProcess;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.UapiStruct;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Replays a scenario on a fresh machine (a {@link DevIommu} built from the platform the header
 * names, or from the platform given to the constructor) and one simulated process, "main", plus
 * any it forks. Every step runs even after a failure, so one replay reports
 * every mismatch; a step that needs a variable a failed step did not set is skipped, not failed.
 * At the end every live process exits, which closes its files and releases what they hold.
 */
public final class Replayer {
    /** The process a replay starts in. */
    public static final String MAIN_PROCESS = "main";
    /** The largest mapping replay makes (the simulated page table costs 8 bytes a page). */
    private static final long MAX_MMAP = 16L << 30;
    /** Reads and writes of user memory go in chunks of this size. */
    private static final int CHUNK = 1 << 20;
    /** The most a read or write step touches (every byte touched becomes a simulated frame). */
    private static final long MAX_ACCESS = 1L << 30;
    /** The end of the user address space of x86-64 with 4-level page tables. */
    private static final long USER_END = 1L << 47;

    /** What a replay runs against: /dev/iommu on a machine. Tests substitute their own. */
    interface Machine {
        PhysicalMemory physical();

        int open(UserProcess p);

        IommufdContext context(UserProcess p, int fd);

        /** The machine's iommu core (platform devices, auditor); null for a machine without one. */
        default IommuCore iommu() {
            return null;
        }

        /** open() of a VFIO device cdev; ENOENT (an IommufdException) when there is none. */
        default int openVfio(UserProcess p, String path) {
            throw new IommufdException(Errno.ENOENT, "no VFIO devices on this machine");
        }

        /** The dma-engine of a platform device, or null. */
        default DmaEngine engine(String name) {
            return null;
        }
    }

    private static final class DevIommuMachine implements Machine {
        private final DevIommu dev;

        DevIommuMachine(Platform platform) {
            dev = new DevIommu(platform);
        }

        public IommuCore iommu() {
            return dev.iommu();
        }

        public PhysicalMemory physical() {
            return dev.physical();
        }

        public int open(UserProcess p) {
            return dev.open(p);
        }

        public IommufdContext context(UserProcess p, int fd) {
            return DevIommu.contextOf(p, fd);
        }

        public int openVfio(UserProcess p, String path) {
            return dev.openVfioDevice(p, path, O_RDWR);
        }

        public DmaEngine engine(String name) {
            return dev.engine(name);
        }
    }

    private static final int O_RDWR = 2;

    /** Builds the machine for a scenario; may refuse with a ScenarioException (bad platform). */
    private interface MachineFactory {
        Machine build(Scenario scenario) throws ScenarioException;
    }

    private final MachineFactory machines;
    private StepListener listener = o -> {
    };

    /** Replays on the platform each scenario's header names (a preset or a file beside the scenario). */
    public Replayer() {
        this.machines = s -> new DevIommuMachine(Platforms.load(s.header().platform(), baseDir(s.source())));
    }

    /** Replays on the given platform, whatever the headers say. */
    public Replayer(Platform platform) {
        this.machines = s -> new DevIommuMachine(platform);
    }

    Replayer(Supplier<Machine> machines) {
        this.machines = s -> machines.get();
    }

    private static Path baseDir(String source) {
        try {
            Path p = Path.of(source).toAbsolutePath().getParent();
            return p != null && Files.isDirectory(p) ? p : null;
        } catch (java.nio.file.InvalidPathException e) {
            return null;
        }
    }

    /** Sets who sees each step's outcome as it happens. */
    public Replayer onStep(StepListener l) {
        this.listener = l;
        return this;
    }

    public ReplayResult replay(Scenario scenario) {
        Machine m;
        try {
            m = machines.build(scenario);
        } catch (ScenarioException | IllegalArgumentException e) {
            String why = e instanceof ScenarioException se ? se.getMessage() : e.getMessage();
            StepOutcome o = new StepOutcome(scenario.source(), 1, null, "platform " + scenario.header().platform(),
                    StepOutcome.Status.FAIL, "cannot build the machine: " + why);
            listener.onStep(o);
            return new ReplayResult(scenario.source(), 0, List.of(o), 0);
        }
        return new Run(scenario, m).execute();
    }

    /** A process of the replay and its scratch memory. */
    private static final class Proc {
        final String name;
        final SimulatedProcess process;
        final String parent;
        final ScratchArea scratch;
        boolean exited;

        Proc(String name, SimulatedProcess process, String parent, ScratchArea scratch) {
            this.name = name;
            this.process = process;
            this.parent = parent;
            this.scratch = scratch;
        }
    }

    /** The verdict of a step that ran to its end. */
    private record Done(StepOutcome.Status status, String detail) {
        static Done pass(String detail) {
            return new Done(StepOutcome.Status.PASS, detail);
        }
    }

    /** One replay of one scenario. */
    private final class Run {
        private final Scenario scenario;
        private final Machine machine;
        private final Map<String, Proc> procs = new LinkedHashMap<>();
        private final Variables vars = new Variables();
        private final List<StepOutcome> outcomes = new ArrayList<>();
        private Proc current;
        private String label;
        private int line;

        Run(Scenario scenario, Machine machine) {
            this.scenario = scenario;
            this.machine = machine;
            current = new Proc(MAIN_PROCESS, new SimulatedProcess(machine.physical()), null, new ScratchArea());
            procs.put(MAIN_PROCESS, current);
        }

        ReplayResult execute() {
            long t0 = System.nanoTime();
            int steps = 0;
            for (Scenario.Entry e : scenario.entries()) {
                line = e.line();
                Step step = e.step();
                StepOutcome o = runOne(step);
                if (o.status() != StepOutcome.Status.NOTE) {
                    steps++;
                }
                record(o);
            }
            teardown();
            return new ReplayResult(scenario.source(), steps, outcomes, System.nanoTime() - t0);
        }

        private void record(StepOutcome o) {
            outcomes.add(o);
            listener.onStep(o);
        }

        private StepOutcome runOne(Step step) {
            String what = Replayer.describe(step);
            IommuCore iommu = machine.iommu();
            if (iommu != null && !(step instanceof Step.Comment) && !(step instanceof Step.Label)) {
                // Stale-translation reports name the step that filled, changed and used an entry.
                iommu.auditor().setStep("line " + line + " (" + what + ")");
            }
            String section = label;
            Done d;
            try {
                d = run(step);
            } catch (ReplayStop stop) {
                d = new Done(stop.skip ? StepOutcome.Status.SKIP : StepOutcome.Status.FAIL, stop.getMessage());
            } catch (IommufdException e) {
                // Memory access of a step (write, read) that faulted, or a bad fd in dup.
                d = new Done(StepOutcome.Status.FAIL, e.errno().name() + ": " + e.getMessage());
            } catch (IllegalArgumentException e) {
                d = new Done(StepOutcome.Status.FAIL, e.getMessage());
            } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                d = new Done(StepOutcome.Status.FAIL, "internal error: " + e);
            }
            if (d.status() != StepOutcome.Status.PASS && d.status() != StepOutcome.Status.NOTE) {
                String why = "line " + line + (d.status() == StepOutcome.Status.TOLERATED ? " got a tolerated errno"
                        : d.status() == StepOutcome.Status.SKIP ? " was skipped" : " failed");
                for (String v : StepNames.defines(step)) {
                    vars.unset(v, why);
                }
            }
            return new StepOutcome(scenario.source(), line, section, what, d.status(), d.detail());
        }

        private Done run(Step step) {
            return switch (step) {
                case Step.Comment c -> new Done(StepOutcome.Status.NOTE, c.text());
                case Step.Label l -> {
                    label = l.name();
                    yield new Done(StepOutcome.Status.NOTE, null);
                }
                case Step.Open o -> open(o);
                case Step.Eventfd e -> {
                    long flags = e.flags() == null ? 0 : eval(e.flags());
                    long init = e.initval() == null ? 0 : eval(e.initval());
                    int fd = process().eventfd(init, (int) flags | EventFdFile.EFD_NONBLOCK);
                    if (fd < 0 || flags != (int) flags) {
                        throw ReplayStop.fail("eventfd: " + (fd < 0 ? Format.result(fd) : "flags do not fit an int"));
                    }
                    vars.set(e.as(), fd);
                    yield Done.pass("fd " + fd);
                }
                case Step.ExpectEventfd e -> expectEventfd(e);
                case Step.Mmio r -> mmio(r);
                case Step.Close c -> {
                    long ret = process().close(fd(c.fd()));
                    yield judge(ret, c.expect() == null ? Expect.SUCCESS : c.expect());
                }
                case Step.Dup d -> {
                    int fd = process().fds().dup(fd(d.fd()));
                    vars.set(d.as(), fd);
                    yield Done.pass("fd " + fd);
                }
                case Step.Mmap m -> mmap(m);
                case Step.Munmap m -> {
                    long addr = eval(m.addr());
                    long len = eval(m.length());
                    if (len <= 0 || (addr & (SimulatedProcess.PAGE_SIZE - 1)) != 0) {
                        throw ReplayStop.fail("munmap needs a page-aligned address and a positive length");
                    }
                    process().munmap(addr, len);
                    current.scratch.clobbered(addr, len);
                    yield Done.pass(null);
                }
                case Step.Write w -> write(w);
                case Step.Read r -> read(r);
                case Step.Ioctl i -> ioctl(i);
                case Step.FdRead f -> judge(f.offset() == null ? process().read(fd(f.fd()), eval(f.addr()), eval(f.count()))
                        : process().pread(fd(f.fd()), eval(f.addr()), eval(f.count()), eval(f.offset())),
                        f.expect() == null ? Expect.SUCCESS : f.expect());
                case Step.FdWrite f -> judge(f.offset() == null ? process().write(fd(f.fd()), eval(f.addr()), eval(f.count()))
                        : process().pwrite(fd(f.fd()), eval(f.addr()), eval(f.count()), eval(f.offset())),
                        f.expect() == null ? Expect.SUCCESS : f.expect());
                case Step.Fork f -> {
                    Proc parent = current;
                    SimulatedProcess child = parent.process.fork();
                    procs.put(f.as(), new Proc(f.as(), child, parent.name, parent.scratch.copy()));
                    yield Done.pass("pid " + child.pid());
                }
                case Step.SwitchProcess s -> {
                    Proc p = procs.get(s.to());
                    if (p == null || p.exited) {
                        throw ReplayStop.fail("process " + s.to() + (p == null ? " does not exist" : " has exited"));
                    }
                    current = p;
                    yield Done.pass(null);
                }
                case Step.Exit x -> exit(x);
                case Step.ExpectObjects e -> expectObjects(e);
                case Step.Bind b -> bind(b);
                case Step.Attach a -> attach(a);
                case Step.Detach d -> detach(d);
                case Step.Dma d -> dma(d);
                case Step.Audit a -> audit(a);
                case Step.DirtyBitmap b -> dirtyBitmap(b);
            };
        }

        /** The context behind an fd of the current process, or a failed step. */
        private IommufdContext context(Value fdValue) {
            int fd = fd(fdValue);
            IommufdContext ctx;
            try {
                ctx = machine.context(process(), fd);
            } catch (IommufdException notOpen) {
                ctx = null;
            }
            if (ctx == null) {
                throw ReplayStop.fail("fd " + fd + " is not an open /dev/iommu");
            }
            return ctx;
        }

        private static Device device(IommufdContext ctx, long devId) {
            if (devId < 0 || devId > Integer.MAX_VALUE) {
                throw new IommufdException(Errno.ENOENT, "no device " + devId);
            }
            return ctx.objects().get((int) devId, Device.class);
        }

        /** An errno-or-success expectation of a Java-side call (bind, attach, detach). */
        private Done expectCall(Expect x, IommufdException e, String okDetail) {
            Errno want = x == null ? null : x.errno();
            if (e == null) {
                if (want != null) {
                    throw ReplayStop.fail("expected errno " + want.name() + ", got success");
                }
                return Done.pass(okDetail);
            }
            if (want != e.errno()) {
                throw ReplayStop.fail((want == null ? "expected success" : "expected errno " + want.name()) + ", got "
                        + e.errno().name() + " (" + e.getMessage() + ")");
            }
            return Done.pass(e.errno().name());
        }

        private Done open(Step.Open o) {
            int fd;
            try {
                fd = o.path() == null || o.path().equals("/dev/iommu") ? machine.open(process())
                        : machine.openVfio(process(), o.path());
            } catch (IommufdException e) {
                return expectCall(o.expect(), e, null);
            }
            vars.set(o.as(), fd);
            return expectCall(o.expect(), null, "fd " + fd);
        }

        private Done expectEventfd(Step.ExpectEventfd e) {
            int fd = fd(e.fd());
            long want = eval(e.count());
            SimulatedProcess p = process();
            if (!(p.fds().get(fd) instanceof EventFdFile)) {
                throw ReplayStop.fail("fd " + fd + " is not an eventfd");
            }
            long va = current.scratch.ensure(p, 8);
            long rc = p.read(fd, va, 8);
            long got;
            if (rc == -Errno.EAGAIN.value()) {
                got = 0;
            } else if (rc == 8) {
                byte[] b = new byte[8];
                p.read(va, b, 0, 8);
                got = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            } else {
                throw ReplayStop.fail("read of the eventfd: " + Format.result(rc));
            }
            if (got != want) {
                throw ReplayStop.fail("expected the eventfd to count " + Format.number(want) + ", got " + Format.number(got));
            }
            return Done.pass("count " + Format.number(got));
        }

        private Done mmio(Step.Mmio r) {
            DmaEngine e = machine.engine(r.device());
            if (e == null) {
                throw ReplayStop.fail("no dma-engine for device " + r.device());
            }
            long width = eval(r.width());
            long offset = eval(r.offset());
            String where = (r.config() ? "config" : "BAR" + (r.bar() == null ? 0 : eval(r.bar()))) + " +0x"
                    + Long.toHexString(offset);
            if (r.config() ? width != 1 && width != 2 && width != 4 || offset < 0 || offset + width > e.configSize()
                    : width != 1 && width != 2 && width != 4 && width != 8) {
                throw ReplayStop.fail("a " + width + "-byte access at " + where + " is not one the device takes");
            }
            if (r.value() != null) {
                long v = StructIoctl.fit(eval(r.value()), (int) width, "value");
                if (r.config()) {
                    e.configWrite((int) offset, (int) width, (int) v);
                } else {
                    e.mmioWrite((int) (r.bar() == null ? 0 : eval(r.bar())), offset, (int) width, v);
                }
                return Done.pass("wrote 0x" + Long.toHexString(v) + " at " + where);
            }
            long got = r.config() ? Integer.toUnsignedLong(e.configRead((int) offset, (int) width))
                    & (width == 4 ? 0xffff_ffffL : (1L << 8 * width) - 1)
                    : e.mmioRead((int) (r.bar() == null ? 0 : eval(r.bar())), offset, (int) width);
            if (r.expect() != null) {
                long want = StructIoctl.fit(eval(r.expect()), (int) width, "expect");
                if (want != got) {
                    throw ReplayStop.fail("expected 0x" + Long.toHexString(want) + " at " + where + ", got 0x"
                            + Long.toHexString(got));
                }
            }
            if (r.save() != null) {
                vars.set(r.save(), got);
            }
            return Done.pass("read 0x" + Long.toHexString(got) + " at " + where);
        }

        private Done bind(Step.Bind b) {
            IommufdContext ctx = context(b.fd());
            try {
                Device d;
                synchronized (ctx) {
                    d = Device.bindPlatform(ctx, b.device());
                }
                vars.set(b.as(), d.id());
                return expectCall(b.expect(), null, "dev_id " + d.id());
            } catch (IommufdException e) {
                return expectCall(b.expect(), e, null);
            }
        }

        private Done attach(Step.Attach a) {
            IommufdContext ctx = context(a.fd());
            try {
                int hwpt;
                synchronized (ctx) {
                    Device d = device(ctx, eval(a.dev()));
                    int pt = (int) StructIoctl.fit(eval(a.pt()), 4, "pt");
                    if (a.pasid() == null) {
                        hwpt = d.hwpt() != null ? d.replace(pt) : d.attach(pt);
                    } else {
                        int pasid = (int) StructIoctl.fit(eval(a.pasid()), 4, "pasid");
                        hwpt = d.pasidHwpt(pasid) != null ? d.replacePasid(pasid, pt) : d.attachPasid(pasid, pt);
                    }
                }
                if (a.as() != null) {
                    vars.set(a.as(), hwpt);
                }
                return expectCall(a.expect(), null, "hwpt " + hwpt);
            } catch (IommufdException e) {
                return expectCall(a.expect(), e, null);
            }
        }

        private Done detach(Step.Detach s) {
            IommufdContext ctx = context(s.fd());
            try {
                synchronized (ctx) {
                    Device d = device(ctx, eval(s.dev()));
                    if (s.pasid() != null) {
                        d.detachPasid((int) StructIoctl.fit(eval(s.pasid()), 4, "pasid"));
                    } else if (d.hwpt() != null) {
                        d.detach();
                    }
                }
                return expectCall(s.expect(), null, null);
            } catch (IommufdException e) {
                return expectCall(s.expect(), e, null);
            }
        }

        private Done dma(Step.Dma s) {
            IommufdContext ctx = context(s.fd());
            byte[] hex = s.hex() == null ? null : HexFormat.of().parseHex(s.hex());
            long len = hex != null ? hex.length : eval(s.length());
            if (len <= 0 || len > 16 << 20) {
                throw ReplayStop.fail("dma length " + Format.number(len) + " is not in 1..16 MiB");
            }
            byte[] buf = new byte[(int) len];
            if (s.write()) {
                if (hex != null) {
                    buf = hex;
                } else {
                    java.util.Arrays.fill(buf, (byte) StructIoctl.fit(eval(s.fill()), 1, "fill"));
                }
            }
            Step.DmaExpect x = s.expect();
            DmaResult r;
            try {
                Device d;
                synchronized (ctx) {
                    d = device(ctx, eval(s.dev()));
                }
                int pasid = s.pasid() == null ? Translation.NO_PASID
                        : (int) StructIoctl.fit(eval(s.pasid()), 4, "pasid");
                // Device DMA runs beside ioctls, not under the context lock.
                r = d.dma(pasid, eval(s.iova()), buf, 0, buf.length, s.write());
            } catch (IommufdException e) {
                return expectCall(new Expect(null, x.errno(), Map.of()), e, null);
            }
            if (x.errno() != null) {
                throw ReplayStop.fail("expected errno " + x.errno().name() + ", got a DMA that ran");
            }
            List<String> wrong = new ArrayList<>();
            DmaResult.Fault f = r.fault();
            if (x.fault() == null && f != null) {
                wrong.add("expected no fault, got " + describe(f) + " after " + Format.bytes(r.bytesDone()));
            } else if (x.fault() != null && f == null) {
                wrong.add("expected fault " + x.fault() + ", got none");
            } else if (f != null) {
                if (!x.fault().equals(f.name())) {
                    wrong.add("expected fault " + x.fault() + ", got " + describe(f));
                }
                if (x.level() != null && eval(x.level()) != f.level()) {
                    wrong.add("expected level " + eval(x.level()) + ", got " + f.level());
                }
                if (x.code() != null && eval(x.code()) != f.code()) {
                    wrong.add("expected code 0x" + Long.toHexString(eval(x.code())) + ", got 0x" + Integer.toHexString(f.code()));
                }
                if (x.stage2() != null && x.stage2() != f.stage2()) {
                    wrong.add("expected a stage-" + (x.stage2() ? 2 : 1) + " fault, got stage " + (f.stage2() ? 2 : 1));
                }
            }
            long wantDone = x.bytesDone() != null ? eval(x.bytesDone()) : x.fault() == null ? len : -1;
            if (wantDone >= 0 && wantDone != r.bytesDone()) {
                wrong.add("expected " + Format.number(wantDone) + " bytes done, got " + Format.number(r.bytesDone()));
            }
            if (!s.write() && (hex != null || s.fill() != null)) {
                byte fill = s.fill() == null ? 0 : (byte) StructIoctl.fit(eval(s.fill()), 1, "fill");
                for (int i = 0; i < r.bytesDone(); i++) {
                    byte want = hex != null ? hex[i] : fill;
                    if (buf[i] != want) {
                        wrong.add(String.format("byte %d read 0x%02x, expected 0x%02x", i, buf[i] & 0xff, want & 0xff));
                        break;
                    }
                }
            }
            if (!wrong.isEmpty()) {
                throw ReplayStop.fail(String.join("; ", wrong));
            }
            return Done.pass(Format.bytes(r.bytesDone()) + (f == null ? "" : ", then " + describe(f)));
        }

        private static String describe(DmaResult.Fault f) {
            return f.name() + " (code 0x" + Integer.toHexString(f.code()) + ", level " + f.level()
                    + (f.stage2() ? ", stage 2" : "") + ") at IOVA 0x" + Long.toHexString(f.iova());
        }

        /**
         * GET_DIRTY_BITMAP through the ioctl path, into a bitmap mapped for the step alone; the set
         * bits, as page numbers from iova, must be exactly expect_pages.
         */
        private Done dirtyBitmap(Step.DirtyBitmap b) {
            SimulatedProcess p = process();
            long iova = eval(b.iova());
            long length = eval(b.length());
            long pageSize = b.pageSize() == null ? 4096 : eval(b.pageSize());
            long bits = pageSize <= 0 || length <= 0 ? 0 : Long.divideUnsigned(length - 1, pageSize) + 1;
            if (bits > 1L << 31) {
                throw ReplayStop.fail("dirty_bitmap of " + bits + " pages is too big to check");
            }
            UapiStruct st = io.uiommu.uapi.IommufdStructs.IOMMU_HWPT_GET_DIRTY_BITMAP;
            long bitmapBytes = Math.max(8, (bits + 63) / 64 * 8);
            // The struct, then the bitmap 64 bytes in.
            long mapped = (64 + bitmapBytes + 4095) & -4096L;
            long va = p.mmap(mapped, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
            try {
                long bitmap = va + 64;
                java.nio.ByteBuffer arg = java.nio.ByteBuffer.allocate(st.size()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                arg.putInt(st.offset("size"), st.size());
                arg.putInt(st.offset("hwpt_id"), (int) StructIoctl.fit(eval(b.hwpt()), 4, "hwpt"));
                arg.putInt(st.offset("flags"), b.noClear() ? io.uiommu.uapi.UapiConstants.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0);
                arg.putLong(st.offset("iova"), iova);
                arg.putLong(st.offset("length"), length);
                arg.putLong(st.offset("page_size"), pageSize);
                arg.putLong(st.offset("data"), bitmap);
                p.write(va, arg.array(), 0, st.size());
                long ret = p.ioctl(fd(b.fd()), StepReader.command("IOMMU_HWPT_GET_DIRTY_BITMAP").code(), va);
                String problem = mismatch(ret, b.expect() == null ? Expect.SUCCESS : b.expect());
                if (problem != null) {
                    throw ReplayStop.fail(problem);
                }
                if (ret < 0) {
                    return Done.pass(Format.result(ret));
                }
                byte[] got = new byte[(int) ((bits + 7) / 8)];
                p.read(bitmap, got, 0, got.length);
                java.util.BitSet set = java.util.BitSet.valueOf(got);
                String pages = ranges(set);
                if (b.expectPages() != null) {
                    java.util.BitSet want = new java.util.BitSet();
                    for (String e : b.expectPages()) {
                        long[] r = StepReader.pageRange(e);
                        if (r[1] >= bits) {
                            throw ReplayStop.fail("expect_pages entry " + e + " is past the last page " + (bits - 1));
                        }
                        want.set((int) r[0], (int) r[1] + 1);
                    }
                    if (!want.equals(set)) {
                        throw ReplayStop.fail("expected dirty pages [" + ranges(want) + "], got [" + pages + "]");
                    }
                }
                return Done.pass("dirty pages [" + pages + "]");
            } finally {
                p.munmap(va, mapped);
            }
        }

        private static String ranges(java.util.BitSet set) {
            StringBuilder sb = new StringBuilder();
            for (int i = set.nextSetBit(0); i >= 0; ) {
                int end = set.nextClearBit(i) - 1;
                sb.append(sb.isEmpty() ? "" : ", ").append(i == end ? String.valueOf(i) : i + ".." + end);
                i = set.nextSetBit(end + 1);
            }
            return sb.toString();
        }

        private Done audit(Step.Audit a) {
            IommuCore iommu = machine.iommu();
            if (iommu == null) {
                throw ReplayStop.fail("this machine has no auditor");
            }
            StaleTranslationAuditor auditor = iommu.auditor();
            List<StaleTranslation> reports = auditor.reports();
            List<String> wrong = new ArrayList<>();
            if (a.expectReports() != null && eval(a.expectReports()) != reports.size()) {
                wrong.add("expected " + eval(a.expectReports()) + " stale-translation reports, got " + reports.size()
                        + (reports.isEmpty() ? "" : ": " + reports.getFirst()));
            }
            if (a.expectContains() != null
                    && reports.stream().noneMatch(r -> r.toString().contains(a.expectContains()))) {
                wrong.add("no report contains \"" + a.expectContains() + "\"");
            }
            if (a.clear()) {
                auditor.clearReports();
            }
            if (a.enable() != null) {
                auditor.setEnabled(a.enable());
            }
            if (!wrong.isEmpty()) {
                throw ReplayStop.fail(String.join("; ", wrong));
            }
            StringBuilder d = new StringBuilder(reports.size() + " report" + (reports.size() == 1 ? "" : "s"));
            for (StaleTranslation r : reports) {
                d.append("\n      ").append(r);
            }
            return Done.pass(d.toString());
        }

        private SimulatedProcess process() {
            if (current == null || current.exited) {
                throw ReplayStop.fail("no current process: it exited (switch_process to a live one)");
            }
            return current.process;
        }

        private long eval(Value v) {
            return v.evaluate(vars);
        }

        private int fd(Value v) {
            long fd = eval(v);
            // The kernel takes the fd as an unsigned int and finds no file above its table: EBADF.
            return fd < 0 || fd > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) fd;
        }

        private Done mmap(Step.Mmap m) {
            if (m.fd() != null) {
                return mmapFile(m);
            }
            long len = eval(m.length());
            if (len <= 0 || len > MAX_MMAP) {
                throw ReplayStop.fail("mmap length " + Format.number(len) + " is not in 1.." + (MAX_MMAP >> 30) + " GiB");
            }
            int prot = switch (m.prot()) {
                case "r" -> SimulatedProcess.PROT_READ;
                case "w" -> SimulatedProcess.PROT_WRITE;
                case "none" -> 0;
                default -> SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE;
            };
            long va;
            if (m.addr() != null) {
                va = eval(m.addr());
                if (va <= 0 || (va & (SimulatedProcess.PAGE_SIZE - 1)) != 0) {
                    throw ReplayStop.fail("mmap addr " + Format.number(va) + " is not a non-zero page-aligned address");
                }
                if (va >= USER_END || len > USER_END - va) {
                    throw ReplayStop.fail("mmap [" + Format.number(va) + ", +" + Format.number(len)
                            + ") is outside the user address space");
                }
                process().mmapFixed(va, len, prot, m.shared());
                current.scratch.clobbered(va, len);
            } else {
                va = process().mmap(len, prot, m.shared());
            }
            vars.set(m.as(), va);
            return Done.pass("0x" + Long.toHexString(va));
        }

        /** mmap(2) of a file: the file decides (and refuses with its errno); the address goes into {@code as}. */
        private Done mmapFile(Step.Mmap m) {
            int prot = switch (m.prot()) {
                case "r" -> SimulatedProcess.PROT_READ;
                case "w" -> SimulatedProcess.PROT_WRITE;
                case "none" -> 0;
                default -> SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE;
            };
            int flags = m.shared() ? OpenFile.MAP_SHARED : OpenFile.MAP_PRIVATE;
            long ret = process().mmap(fd(m.fd()), eval(m.length()), prot, flags, eval(m.offset()));
            Done d = judge(ret, m.expect() == null ? Expect.SUCCESS : m.expect());
            if (ret >= 0 && m.as() != null) {
                vars.set(m.as(), ret);
                return Done.pass("0x" + Long.toHexString(ret));
            }
            return d;
        }

        private Done write(Step.Write w) {
            long addr = eval(w.addr());
            if (w.struct() != null) {
                UapiStruct st = StructTypes.struct(w.struct());
                byte[] b = new byte[st.size()];
                for (Map.Entry<String, Arg> f : w.fields().entrySet()) {
                    StructIoctl.putField(b, 0, st, f.getKey(), f.getValue(), vars);
                }
                process().write(addr, b, 0, b.length);
                return Done.pass("struct " + st.name() + ", " + Format.bytes(b.length));
            }
            if (w.hex() != null) {
                byte[] b = HexFormat.of().parseHex(w.hex());
                process().write(addr, b, 0, b.length);
                return Done.pass(Format.bytes(b.length));
            }
            long len = checkedLength(eval(w.length()));
            byte fill = (byte) StructIoctl.fit(eval(w.fill()), 1, "fill");
            byte[] chunk = new byte[(int) Math.min(len, CHUNK)];
            java.util.Arrays.fill(chunk, fill);
            for (long done = 0; done < len; done += chunk.length) {
                process().write(addr + done, chunk, 0, (int) Math.min(chunk.length, len - done));
            }
            return Done.pass(Format.bytes(len));
        }

        /** Reads one struct from user memory, checks fields and saves them, like an ioctl's outputs. */
        private Done readStruct(Step.Read r) {
            UapiStruct st = StructTypes.struct(r.struct());
            byte[] b = new byte[st.size()];
            process().read(eval(r.addr()), b, 0, b.length);
            StructIoctl.Result res = new StructIoctl.Result(0, b, Map.of());
            List<String> wrong = new ArrayList<>();
            for (Map.Entry<String, Value> f : r.expect().entrySet()) {
                FieldPath path = FieldPath.resolve(st, Map.of(), f.getKey());
                long want = StructIoctl.fit(eval(f.getValue()), path.width(), "expected " + f.getKey());
                long got = res.read(path);
                if (got != want) {
                    wrong.add(f.getKey() + ": expected " + Format.number(want) + ", got " + Format.number(got));
                }
            }
            if (!wrong.isEmpty()) {
                throw ReplayStop.fail(String.join("; ", wrong));
            }
            StringBuilder detail = new StringBuilder("struct " + st.name());
            for (Map.Entry<String, String> sv : r.save().entrySet()) {
                long v = res.read(FieldPath.resolve(st, Map.of(), sv.getKey()));
                vars.set(sv.getValue(), v);
                detail.append(", $").append(sv.getValue()).append(" = ").append(Format.number(v));
            }
            return Done.pass(detail.toString());
        }

        private Done read(Step.Read r) {
            if (r.struct() != null) {
                return readStruct(r);
            }
            long addr = eval(r.addr());
            long len = checkedLength(eval(r.length()));
            byte[] want = r.expectHex() == null ? null : HexFormat.of().parseHex(r.expectHex());
            if (want != null && want.length != len) {
                throw ReplayStop.fail("expect_hex has " + want.length + " bytes but length is " + len);
            }
            byte fill = r.expectFill() == null ? 0 : (byte) StructIoctl.fit(eval(r.expectFill()), 1, "expect_fill");
            byte[] chunk = new byte[(int) Math.min(len, CHUNK)];
            long firstBad = -1;
            long bad = 0;
            int gotAtFirst = 0;
            for (long done = 0; done < len; done += chunk.length) {
                int n = (int) Math.min(chunk.length, len - done);
                process().read(addr + done, chunk, 0, n);
                for (int i = 0; i < n; i++) {
                    byte expected = want != null ? want[(int) (done + i)] : fill;
                    if (chunk[i] != expected) {
                        if (firstBad < 0) {
                            firstBad = done + i;
                            gotAtFirst = chunk[i] & 0xff;
                        }
                        bad++;
                    }
                }
            }
            if (firstBad >= 0) {
                int expectedAtFirst = (want != null ? want[(int) firstBad] : fill) & 0xff;
                throw ReplayStop.fail(String.format("at offset %s: expected %02x, got %02x (%d of %d bytes differ)",
                        Format.number(firstBad), expectedAtFirst, gotAtFirst, bad, len));
            }
            return Done.pass(Format.bytes(len) + " as expected");
        }

        private long checkedLength(long len) {
            if (len < 0 || len > MAX_ACCESS) {
                throw ReplayStop.fail("length " + Format.number(len) + " is not in 0.." + (MAX_ACCESS >> 30) + " GiB");
            }
            return len;
        }

        private Done exit(Step.Exit x) {
            Proc p = x.process() == null ? current : procs.get(x.process());
            if (p == null || p.exited) {
                throw ReplayStop.fail("process " + (p == null ? x.process() : p.name) + " has already exited");
            }
            p.exited = true;
            p.process.exit();
            if (p == current) {
                Proc parent = p.parent == null ? null : procs.get(p.parent);
                current = parent != null && !parent.exited ? parent : null;
            }
            return Done.pass(current == null ? "no process left to run in" : "now in " + current.name);
        }

        /** Compares a raw syscall result with an expectation (ret and errno only). */
        private Done judge(long ret, Expect x) {
            String problem = mismatch(ret, x);
            if (problem != null) {
                throw ReplayStop.fail(problem);
            }
            return Done.pass(Format.result(ret));
        }

        private String mismatch(long ret, Expect x) {
            if (x.errno() != null) {
                return ret == -x.errno().value() ? null : "expected errno " + x.errno().name() + ", got " + Format.result(ret);
            }
            if (x.ret() != null) {
                long want = eval(x.ret());
                return ret == want ? null : "expected ret " + want + ", got " + Format.result(ret);
            }
            return ret >= 0 ? null : "expected success, got " + Format.result(ret);
        }

        private Done ioctl(Step.Ioctl s) {
            SimulatedProcess p = process();
            StepReader.Command c = StepReader.command(s.cmd());
            int fd = fd(s.fd());
            long ret;
            StructIoctl.Result res = null;
            if (s.arg() != null) {
                ret = p.ioctl(fd, c.code(), eval(s.arg()));
            } else if (c.struct() == null) {
                ret = p.ioctl(fd, c.code(), 0);
            } else {
                res = StructIoctl.run(p, current.scratch, fd, c.code(), c.struct(), s.args(), s.tailHex(), s.tail(), vars);
                ret = res.ret();
            }

            String problem = mismatch(ret, s.expect());
            if (problem != null) {
                if (ret < 0 && s.tolerate().stream().anyMatch(e -> e.value() == -ret)) {
                    return new Done(StepOutcome.Status.TOLERATED, "tolerated " + Format.result(ret));
                }
                throw ReplayStop.fail(problem);
            }

            List<String> wrong = new ArrayList<>();
            for (Map.Entry<String, Value> f : s.expect().fields().entrySet()) {
                FieldPath path = FieldPath.resolve(c.struct(), s.args(), f.getKey());
                long want = StructIoctl.fit(eval(f.getValue()), path.width(), "expected " + f.getKey());
                long got = res.read(path);
                if (got != want) {
                    wrong.add(f.getKey() + ": expected " + Format.number(want) + ", got " + Format.number(got));
                }
            }
            if (!wrong.isEmpty()) {
                throw ReplayStop.fail(String.join("; ", wrong) + (ret == 0 ? "" : " (" + Format.result(ret) + ")"));
            }

            StringBuilder detail = new StringBuilder(Format.result(ret));
            for (Map.Entry<String, String> sv : s.save().entrySet()) {
                long v = sv.getKey().equals("ret") ? ret
                        : res.read(FieldPath.resolve(c.struct(), s.args(), sv.getKey()));
                vars.set(sv.getValue(), v);
                detail.append(", $").append(sv.getValue()).append(" = ").append(Format.number(v));
            }
            return Done.pass(detail.toString());
        }

        private Done expectObjects(Step.ExpectObjects e) {
            int fd = fd(e.fd());
            IommufdContext ctx;
            try {
                ctx = machine.context(process(), fd);
            } catch (IommufdException notOpen) {
                ctx = null;
            }
            if (ctx == null) {
                throw ReplayStop.fail("fd " + fd + " is not an open /dev/iommu");
            }
            List<IommufdObject> live;
            synchronized (ctx) {
                live = ctx.objects().objects();
            }
            List<String> wrong = new ArrayList<>();
            if (e.count() != null && live.size() != eval(e.count())) {
                wrong.add("expected " + eval(e.count()) + " objects, got " + live.size());
            }
            if (e.ids() != null) {
                List<Long> want = e.ids().stream().map(this::eval).toList();
                List<Long> got = live.stream().map(o -> (long) o.id()).toList();
                if (!want.equals(got)) {
                    wrong.add("expected IDs " + want + ", got " + got);
                }
            }
            if (e.types() != null) {
                for (Map.Entry<String, Value> t : e.types().entrySet()) {
                    long want = eval(t.getValue());
                    long got = live.stream().filter(o -> o.type().name().equals(t.getKey())).count();
                    if (want != got) {
                        wrong.add("expected " + want + " " + t.getKey() + ", got " + got);
                    }
                }
            }
            String list = liveObjects(live);
            if (!wrong.isEmpty()) {
                throw ReplayStop.fail(String.join("; ", wrong) + " (live: " + list + ")");
            }
            return Done.pass(list);
        }

        private String liveObjects(List<IommufdObject> live) {
            if (live.isEmpty()) {
                return "none";
            }
            StringBuilder b = new StringBuilder();
            for (IommufdObject o : live) {
                if (!b.isEmpty()) {
                    b.append(", ");
                }
                b.append(o.id()).append(' ').append(o.type());
            }
            return b.toString();
        }

        /** Every live process exits, children first, so files close and pins go as in a real exit. */
        private void teardown() {
            List<Proc> alive = new ArrayList<>(procs.values());
            java.util.Collections.reverse(alive);
            for (Proc p : alive) {
                if (p.exited) {
                    continue;
                }
                try {
                    p.exited = true;
                    p.process.exit();
                } catch (RuntimeException | StackOverflowError err) {
                    record(new StepOutcome(scenario.source(), 0, null, "teardown",
                            StepOutcome.Status.FAIL, "exit of process " + p.name + ": internal error: " + err));
                }
            }
        }
    }

    /** A step in short, for reports: "ioctl IOMMU_IOAS_MAP", "mmap", "exit child". */
    static String describe(Step step) {
        return switch (step) {
            case Step.Ioctl i -> "ioctl " + i.cmd();
            case Step.Exit x -> x.process() == null ? "exit" : "exit " + x.process();
            case Step.Fork f -> "fork " + f.as();
            case Step.SwitchProcess s -> "switch_process " + s.to();
            case Step.Label l -> "label " + l.name();
            case Step.Bind b -> "bind " + b.device();
            case Step.Dma d -> "dma " + (d.write() ? "write" : "read");
            case Step.Open o -> o.path() == null ? "open" : "open " + o.path();
            case Step.Mmio r -> r.kind() + " " + r.device() + (r.value() != null ? " write" : " read");
            default -> step.kind();
        };
    }
}
