package io.uiommu.scenario;

import io.uiommu.iommufd.Errno;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One line of a scenario: what a process does (open, mmap, ioctl...) and what it must observe. The
 * records hold values as written, so that reading and writing a file round-trips; replay evaluates
 * them when the step runs. Variable names are stored without the {@code $}.
 */
public sealed interface Step {
    /** The {@code "step"} member that names this kind of step. */
    String kind();

    /**
     * open(path) in the current process: "/dev/iommu" when {@code path} is null, or a VFIO device
     * cdev "/dev/vfio/devices/vfioN"; the fd number goes into variable {@code as}. {@code expect}
     * may name the errno the open must fail with (null: it must succeed).
     */
    record Open(String as, String path, Expect expect) implements Step {
        public Open(String as) {
            this(as, null, null);
        }

        public String kind() {
            return "open";
        }
    }

    /** close(fd); {@code expect} null means it must succeed (an errno such as EBADF may be expected). */
    record Close(Value fd, Expect expect) implements Step {
        public String kind() {
            return "close";
        }
    }

    /** dup(fd) into variable {@code as}: both numbers then refer to one open file. */
    record Dup(Value fd, String as) implements Step {
        public String kind() {
            return "dup";
        }
    }

    /**
     * Anonymous mmap of {@code length} bytes (rounded up to pages), at {@code addr} with MAP_FIXED if
     * given. prot is "rw", "r", "w" or "none"; shared mappings stay shared with forked children.
     * With {@code fd}, mmap(2) of that file at byte {@code offset} (a VFIO region, the iommufd's
     * vIOMMU page): MAP_SHARED if {@code shared}, else MAP_PRIVATE; {@code expect} checks the
     * result (success by default) and {@code as}, optional then, gets the address.
     */
    record Mmap(Value length, String as, Value addr, String prot, boolean shared, Value fd, Value offset, Expect expect)
            implements Step {
        public Mmap {
            prot = prot == null ? "rw" : prot;
        }

        public Mmap(Value length, String as, Value addr, String prot, boolean shared) {
            this(length, as, addr, prot, shared, null, null, null);
        }

        public String kind() {
            return "mmap";
        }
    }

    record Munmap(Value addr, Value length) implements Step {
        public String kind() {
            return "munmap";
        }
    }

    /**
     * Writes user memory: the bytes of {@code hex}, or {@code length} bytes of value {@code fill}, or
     * one struct of C type {@code struct} with {@code fields} set by name (the rest zero).
     */
    record Write(Value addr, String hex, Value fill, Value length, String struct, Map<String, Arg> fields)
            implements Step {
        public Write {
            fields = fields == null ? null : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        }

        public static Write ofHex(Value addr, String hex) {
            return new Write(addr, hex, null, null, null, null);
        }

        public String kind() {
            return "write";
        }
    }

    /**
     * Reads user memory and checks it: {@code length} bytes against {@code expectHex} or
     * {@code expectFill}, or one struct of C type {@code struct} whose fields are compared with
     * {@code expect} and stored by {@code save} (field name to variable name).
     */
    record Read(Value addr, Value length, String expectHex, Value expectFill, String struct,
            Map<String, Value> expect, Map<String, String> save) implements Step {
        public Read {
            expect = expect == null ? null : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(expect));
            save = save == null ? null : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(save));
        }

        public static Read ofHex(Value addr, String expectHex) {
            return new Read(addr, Value.of(expectHex.length() / 2), expectHex, null, null, null, null);
        }

        public String kind() {
            return "read";
        }
    }

    /**
     * One ioctl. With a struct command, {@code args} sets fields by kernel name (absent fields are zero,
     * {@code size}/{@code argsz} default to sizeof), {@code tailHex} adds raw bytes right after the
     * struct, or {@code tail} an array of values there (VFIO_DEVICE_SET_IRQS's data; the size field
     * then defaults to sizeof plus the tail). {@code arg} instead passes an integer (VFIO_CHECK_EXTENSION) or a raw pointer. {@code save}
     * maps an output field path, or "ret", to a variable name. {@code tolerate} lists errnos accepted in
     * place of the expectation (their outputs are not checked or saved).
     */
    record Ioctl(Value fd, String cmd, Map<String, Arg> args, Value arg, String tailHex, Arg tail, Expect expect,
            Map<String, String> save, List<Errno> tolerate) implements Step {
        /** Without a typed tail. */
        public Ioctl(Value fd, String cmd, Map<String, Arg> args, Value arg, String tailHex, Expect expect,
                Map<String, String> save, List<Errno> tolerate) {
            this(fd, cmd, args, arg, tailHex, null, expect, save, tolerate);
        }

        public Ioctl {
            args = args == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(args));
            save = save == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(save));
            tolerate = tolerate == null ? List.of() : List.copyOf(tolerate);
            expect = expect == null ? Expect.SUCCESS : expect;
        }

        /** An ioctl with struct arguments that must succeed. */
        public static Ioctl of(Value fd, String cmd, Map<String, Arg> args) {
            return new Ioctl(fd, cmd, args, null, null, Expect.SUCCESS, Map.of(), List.of());
        }

        public Ioctl expecting(Expect e) {
            return new Ioctl(fd, cmd, args, arg, tailHex, tail, e, save, tolerate);
        }

        public Ioctl saving(Map<String, String> s) {
            return new Ioctl(fd, cmd, args, arg, tailHex, tail, expect, s, tolerate);
        }

        public String kind() {
            return "ioctl";
        }
    }

    /**
     * read(2) from a file (a fault queue, say) into user memory at {@code addr}; a read step then
     * checks the bytes. With {@code offset}, pread(2) at that file offset (a VFIO region).
     */
    record FdRead(Value fd, Value addr, Value count, Expect expect, Value offset) implements Step {
        public FdRead(Value fd, Value addr, Value count, Expect expect) {
            this(fd, addr, count, expect, null);
        }

        public String kind() {
            return "fd_read";
        }
    }

    /**
     * write(2) of {@code count} bytes of user memory at {@code addr} to a file (page responses, say);
     * with {@code offset}, pwrite(2) at that file offset.
     */
    record FdWrite(Value fd, Value addr, Value count, Expect expect, Value offset) implements Step {
        public FdWrite(Value fd, Value addr, Value count, Expect expect) {
            this(fd, addr, count, expect, null);
        }

        public String kind() {
            return "fd_write";
        }
    }

    /**
     * eventfd2(initval, flags) in the current process; the fd goes into {@code as}. Replay makes
     * every eventfd non-blocking (EFD_NONBLOCK), since a blocking read in its one thread could
     * never return.
     */
    record Eventfd(String as, Value initval, Value flags) implements Step {
        public String kind() {
            return "eventfd";
        }
    }

    /**
     * Reads an eventfd (as read(2) does: the counter is taken and reset) and checks the count;
     * {@code count} 0 means nothing is pending (the read would be EAGAIN). An interrupt that was
     * expected to arrive is checked this way.
     */
    record ExpectEventfd(Value fd, Value count) implements Step {
        public String kind() {
            return "expect_eventfd";
        }
    }

    /**
     * A register access of the dma-engine of platform device {@code device}, as its driver makes
     * it: BAR {@code bar} at {@code offset} ({@code config}: configuration space instead), of
     * {@code width} bytes. With {@code value} it writes; otherwise it reads, compares with
     * {@code expect} when given and stores into {@code save} when given. uiommu only.
     */
    record Mmio(String device, boolean config, Value bar, Value offset, Value width, Value value, Value expect,
            String save) implements Step {
        public String kind() {
            return config ? "pci_config" : "mmio";
        }
    }

    /** fork(): the child, named {@code as}, gets a copy of the current process's fds and memory. */
    record Fork(String as) implements Step {
        public String kind() {
            return "fork";
        }
    }

    /** Makes the named process ("main" is the first one) the one later steps run in. */
    record SwitchProcess(String to) implements Step {
        public String kind() {
            return "switch_process";
        }
    }

    /** The named process (the current one if null) exits: its fds close, its memory goes away. */
    record Exit(String process) implements Step {
        public String kind() {
            return "exit";
        }
    }

    /**
     * Checks the live objects of the iommufd context behind {@code fd}: their number, their IDs (in
     * order) and/or how many there are of each type. uiommu only: a kernel has no such call.
     */
    record ExpectObjects(Value fd, Value count, List<Value> ids, Map<String, Value> types) implements Step {
        public ExpectObjects {
            ids = ids == null ? null : List.copyOf(ids);
            types = types == null ? null : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(types));
        }

        public String kind() {
            return "expect_objects";
        }
    }

    /**
     * Binds the platform device named {@code device} to the iommufd behind {@code fd} (as opening
     * its VFIO device file and binding it would); its dev_id goes into variable {@code as}.
     * uiommu only. {@code expect} null means it must succeed.
     */
    record Bind(Value fd, String device, String as, Expect expect) implements Step {
        public String kind() {
            return "bind";
        }
    }

    /**
     * Attaches the RID of bound device {@code dev} (or PASID {@code pasid} when given) to the IOAS
     * or HWPT {@code pt}; attaching what is attached replaces, as VFIO's attach does. The HWPT ID
     * used goes into variable {@code as} when given.
     */
    record Attach(Value fd, Value dev, Value pasid, Value pt, String as, Expect expect) implements Step {
        public String kind() {
            return "attach";
        }
    }

    /** Detaches the RID (or PASID {@code pasid}) of a bound device; nothing attached is not an error. */
    record Detach(Value fd, Value dev, Value pasid, Expect expect) implements Step {
        public String kind() {
            return "detach";
        }
    }

    /**
     * A DMA of bound device {@code dev} through its IOMMU at {@code iova} (with {@code pasid} when
     * given). {@code write}: the device writes the bytes of {@code hex}, or {@code length} bytes of
     * {@code fill}. Otherwise it reads {@code length} bytes (or as many as {@code hex} has) and they
     * must equal {@code hex} or be all {@code fill} when given. {@code expect} says the translation
     * fault the DMA must end in (none when null) and the bytes done. uiommu only.
     */
    record Dma(Value fd, Value dev, Value pasid, Value iova, boolean write, String hex, Value fill, Value length,
            DmaExpect expect) implements Step {
        public Dma {
            expect = expect == null ? DmaExpect.NO_FAULT : expect;
        }

        public String kind() {
            return "dma";
        }
    }

    /**
     * What a DMA must end in: an errno of the call itself, or a fault by vendor name (null: no fault)
     * with optional level, code, stage and the bytes done before it (all bytes when no fault).
     */
    record DmaExpect(io.uiommu.iommufd.Errno errno, String fault, Value level, Value code, Boolean stage2,
            Value bytesDone) {
        public static final DmaExpect NO_FAULT = new DmaExpect(null, null, null, null, null, null);
    }

    /**
     * IOMMU_HWPT_GET_DIRTY_BITMAP of HWPT {@code hwpt} over [iova, iova+length) in pages of
     * {@code pageSize} (4096 when null) into a bitmap of the replayer's own, with NO_CLEAR when
     * {@code noClear}. {@code expectPages}: the set bits must be exactly these page numbers
     * (counted from {@code iova}; each entry "n" or "first..last"), unchecked when null;
     * {@code expect} as for any call (an errno). Only the pages are compared, so that the bitmap
     * stays out of the scenario's memory.
     */
    record DirtyBitmap(Value fd, Value hwpt, Value iova, Value length, Value pageSize, boolean noClear,
            List<String> expectPages, Expect expect) implements Step {
        public String kind() {
            return "dirty_bitmap";
        }
    }

    /**
     * The machine's stale-translation auditor: checks the report count and that some report
     * contains a text, then clears the reports if asked, then turns audit mode on or off if
     * {@code enable} is given. uiommu only.
     */
    record Audit(Boolean enable, Value expectReports, String expectContains, boolean clear) implements Step {
        public String kind() {
            return "audit";
        }
    }

    /** Does nothing; printed by verbose replay. */
    record Comment(String text) implements Step {
        public String kind() {
            return "comment";
        }
    }

    /** Names the section that follows; failure reports say which section a step was in. */
    record Label(String name) implements Step {
        public String kind() {
            return "label";
        }
    }
}
