package io.uiommu.testing;

import io.uiommu.iommufd.Errno;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IommufdStructs;
import io.uiommu.uapi.TestStructs;
import io.uiommu.uapi.UapiStruct;

import static io.uiommu.uapi.UapiConstants.*;

/**
 * The Java counterpart of the kernel selftest's {@code iommufd_utils.h}: a simulated process with
 * /dev/iommu open, the selftest's global test buffer, and one helper per selftest macro. Every
 * ioctl goes through the process exactly as a C program's would: the argument struct is written
 * little-endian into the process's memory, its address is passed as the ioctl argument, and the
 * struct is read back afterwards so outputs can be inspected.
 *
 * <p>Helpers return an {@link Rc}; {@code .ok()} and {@code .fails(Errno.X)} are the selftest's
 * {@code ASSERT_EQ(0, ...)} and {@code EXPECT_ERRNO(X, ...)}. A few helpers that the selftest only
 * ever uses in the asserting form ({@link #ioasAlloc()}, {@link #mockDomain(int)}) assert themselves.
 *
 * <p>{@link #close()} is the selftest's {@code teardown_iommufd}: close the fd, open /dev/iommu
 * again and have MD_CHECK_REFS confirm that no page of the test buffer is still pinned. Then the
 * process exits, as each kselftest test runs in its own forked child.
 */
public final class IommufdTestClient implements AutoCloseable {
    public static final long PAGE_SIZE = 4096;
    public static final long MOCK_PAGE_SIZE = PAGE_SIZE / 2;
    public static final long MOCK_HUGE_PAGE_SIZE = 512 * MOCK_PAGE_SIZE;
    /** hpage_pmd_size on x86-64. */
    public static final long HUGEPAGE_SIZE = 2L << 20;
    /** The selftest's BUFFER_SIZE: 16 pages, MAP_SHARED, HUGEPAGE_SIZE aligned. */
    public static final long BUFFER_SIZE = 16 * PAGE_SIZE;
    public static final int MAP_RW = IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
    public static final int PROT_RW = SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE;

    /** Where the test buffer lives: 2 MiB aligned, well away from where mmap() places things. */
    public static final long BUFFER_VA = 0x2000_0000_0000L;

    private static final long SCRATCH_SIZE = 64 * 1024;
    private static final long DATA_SIZE = 1L << 20;

    private final DevIommu dev;
    private final SimulatedProcess proc;
    private final long buffer;
    private final long scratch;
    private final long data;
    private long dataNext;
    private int fd;
    private int ioasId;
    private boolean closed;

    /** A fresh machine (physical memory + mock IOMMU), a process with the test buffer, and /dev/iommu open. */
    public IommufdTestClient() {
        this(new DevIommu());
    }

    public IommufdTestClient(DevIommu dev) {
        this(dev, new SimulatedProcess(dev.physical()));
    }

    public IommufdTestClient(DevIommu dev, SimulatedProcess proc) {
        this.dev = dev;
        this.proc = proc;
        this.buffer = proc.mmapFixed(BUFFER_VA, BUFFER_SIZE, PROT_RW, true);
        this.scratch = proc.mmap(SCRATCH_SIZE, PROT_RW, false);
        this.data = proc.mmap(DATA_SIZE, PROT_RW, false);
        this.dataNext = data;
        this.fd = dev.open(proc);
    }

    private IommufdTestClient(IommufdTestClient parent, SimulatedProcess child) {
        this.dev = parent.dev;
        this.proc = child;
        this.buffer = parent.buffer;
        this.scratch = parent.scratch;
        this.data = parent.data;
        this.dataNext = parent.dataNext;
        this.fd = parent.fd;
        this.ioasId = parent.ioasId;
    }

    public DevIommu dev() {
        return dev;
    }

    public SimulatedProcess process() {
        return proc;
    }

    /** The /dev/iommu fd (self->fd). */
    public int fd() {
        return fd;
    }

    /** The test buffer's address (the selftest's global {@code buffer}). */
    public long buffer() {
        return buffer;
    }

    /** The IOAS the fixture works on (self->ioas_id); helpers without an ioas argument use it. */
    public int ioasId() {
        return ioasId;
    }

    public void setIoasId(int ioasId) {
        this.ioasId = ioasId;
    }

    /**
     * fork(): a client for the child process. It shares the parent's open files (the same iommufd
     * context) and MAP_SHARED memory (the test buffer); private memory is a copy. The caller ends
     * it with {@code child.process().exit()}.
     */
    public IommufdTestClient forkChild() {
        return new IommufdTestClient(this, proc.fork());
    }

    // ---------------------------------------------------------------------------------------------
    // Memory

    /** Anonymous mmap in the test process. */
    public long mmap(long length, boolean shared) {
        return proc.mmap(length, PROT_RW, shared);
    }

    public long mmapFixed(long va, long length, boolean shared) {
        return proc.mmapFixed(va, length, PROT_RW, shared);
    }

    public void munmap(long va, long length) {
        proc.munmap(va, length);
    }

    public byte[] read(long va, int length) {
        byte[] b = new byte[length];
        proc.read(va, b, 0, length);
        return b;
    }

    public void write(long va, byte[] bytes) {
        proc.write(va, bytes, 0, bytes.length);
    }

    public void fill(long va, long length, int value) {
        byte[] b = new byte[(int) Math.min(length, 1 << 20)];
        java.util.Arrays.fill(b, (byte) value);
        for (long done = 0; done < length; ) {
            int n = (int) Math.min(b.length, length - done);
            proc.write(va + done, b, 0, n);
            done += n;
        }
    }

    /**
     * Copies bytes into a private user-memory area and returns their address: for the arrays and
     * driver data that ioctl structs point to. The area is reused round-robin, so the address is
     * good for the next call, not for the rest of the test.
     */
    public long userCopy(byte[] bytes) {
        long va = userAlloc(bytes.length);
        if (bytes.length > 0) {
            proc.write(va, bytes, 0, bytes.length);
        }
        return va;
    }

    /** Zeroed private user memory (see {@link #userCopy}). */
    public long userAlloc(int length) {
        long len = (Math.max(length, 1) + 15) & ~15L;
        if (len > DATA_SIZE) {
            throw new IllegalArgumentException("userAlloc too large: " + length);
        }
        if (dataNext + len > data + DATA_SIZE) {
            dataNext = data;
        }
        long va = dataNext;
        dataNext += len;
        if (length > 0) {
            proc.write(va, new byte[length], 0, length);
        }
        return va;
    }

    /** Array of iommu_iova_range {start, last} as bytes. */
    public static byte[] iovaRanges(long... startLastPairs) {
        byte[] b = new byte[startLastPairs.length * 8];
        for (int i = 0; i < startLastPairs.length; i++) {
            Cmd.putLe(b, i * 8, 8, startLastPairs[i]);
        }
        return b;
    }

    // ---------------------------------------------------------------------------------------------
    // Raw ioctls

    /** ioctl(fd, op, &cmd): the struct goes to user memory, comes back after the call. */
    public Rc ioctl(Ioctl op, Cmd cmd) {
        return ioctl(op.code(), op.name(), cmd);
    }

    public Rc ioctl(int request, Cmd cmd) {
        return ioctl(request, "ioctl 0x" + Integer.toHexString(request), cmd);
    }

    private Rc ioctl(int request, String what, Cmd cmd) {
        byte[] b = cmd.bytes();
        if (b.length > SCRATCH_SIZE) {
            throw new IllegalArgumentException("struct too large for scratch");
        }
        proc.write(scratch, b, 0, b.length);
        long ret = proc.ioctl(fd, request, scratch);
        proc.read(scratch, b, 0, b.length);
        return new Rc(what, ret, cmd);
    }

    /**
     * ioctl(fd, request, buf) with the bytes exactly as given (the first u32 is the size the
     * kernel reads): for the size-rule tests. The array is updated with what the call left behind.
     */
    public Rc ioctl(int request, byte[] bytes) {
        proc.write(scratch, bytes, 0, bytes.length);
        long ret = proc.ioctl(fd, request, scratch);
        proc.read(scratch, bytes, 0, bytes.length);
        return new Rc("ioctl 0x" + Integer.toHexString(request), ret, null);
    }

    /** ioctl(fd, request, bytes) with {@code size} stored in the first u32 of bytes. */
    public Rc ioctl(int request, byte[] bytes, int size) {
        Cmd.putLe(bytes, 0, 4, size);
        return ioctl(request, bytes);
    }

    /** ioctl(fd, request, arg) with an integer or pointer argument passed through as is. */
    public Rc ioctlArg(int request, long arg) {
        return new Rc("ioctl 0x" + Integer.toHexString(request) + "(" + arg + ")", proc.ioctl(fd, request, arg), null);
    }

    public static Cmd cmd(Ioctl op) {
        return Cmd.of(op.struct());
    }

    public static Cmd testCmd(int op) {
        return Cmd.of(TestStructs.IOMMU_TEST_CMD).set("op", op);
    }

    // ---------------------------------------------------------------------------------------------
    // Objects and IOAS

    public Rc destroy(int id) {
        return ioctl(Ioctl.IOMMU_DESTROY, cmd(Ioctl.IOMMU_DESTROY).set("id", id));
    }

    public Rc ioasAllocRc() {
        return ioctl(Ioctl.IOMMU_IOAS_ALLOC, cmd(Ioctl.IOMMU_IOAS_ALLOC));
    }

    /** test_ioctl_ioas_alloc: asserts success and a non-zero id. */
    public int ioasAlloc() {
        int id = ioasAllocRc().ok().u32("out_ioas_id");
        if (id == 0) {
            throw new AssertionError("IOMMU_IOAS_ALLOC returned id 0");
        }
        return id;
    }

    /** IOMMU_IOAS_MAP; {@code iova} is only sent when flags has FIXED_IOVA. Output: {@code iova}. */
    public Rc ioasMap(int ioas, long va, long length, long iova, int flags) {
        Cmd c = cmd(Ioctl.IOMMU_IOAS_MAP).set("flags", flags).set("ioas_id", ioas).set("user_va", va)
                .set("length", length);
        if ((flags & IOMMU_IOAS_MAP_FIXED_IOVA) != 0) {
            c.set("iova", iova);
        }
        return ioctl(Ioctl.IOMMU_IOAS_MAP, c);
    }

    /** test_ioctl_ioas_map / test_err_ioctl_ioas_map: kernel-chosen IOVA, read+write. */
    public Rc map(long va, long length) {
        return ioasMap(ioasId, va, length, 0, MAP_RW);
    }

    public Rc map(int ioas, long va, long length) {
        return ioasMap(ioas, va, length, 0, MAP_RW);
    }

    /** test_ioctl_ioas_map asserting success: the IOVA the kernel chose. */
    public long mapOk(long va, long length) {
        return map(va, length).ok().u64("iova");
    }

    public long mapOk(int ioas, long va, long length) {
        return map(ioas, va, length).ok().u64("iova");
    }

    /** test_ioctl_ioas_map_fixed / test_err_ioctl_ioas_map_fixed. */
    public Rc mapFixed(long va, long length, long iova) {
        return ioasMap(ioasId, va, length, iova, IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW);
    }

    public Rc mapFixed(int ioas, long va, long length, long iova) {
        return ioasMap(ioas, va, length, iova, IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW);
    }

    /** IOMMU_IOAS_UNMAP; output {@code length} = bytes unmapped. */
    public Rc unmap(int ioas, long iova, long length) {
        return ioctl(Ioctl.IOMMU_IOAS_UNMAP,
                cmd(Ioctl.IOMMU_IOAS_UNMAP).set("ioas_id", ioas).set("iova", iova).set("length", length));
    }

    public Rc unmap(long iova, long length) {
        return unmap(ioasId, iova, length);
    }

    /** IOMMU_IOAS_COPY; output {@code dst_iova}. */
    public Rc copy(int flags, int dstIoas, long dstIova, int srcIoas, long srcIova, long length) {
        return ioctl(Ioctl.IOMMU_IOAS_COPY, cmd(Ioctl.IOMMU_IOAS_COPY).set("flags", flags)
                .set("dst_ioas_id", dstIoas).set("src_ioas_id", srcIoas).set("length", length)
                .set("dst_iova", dstIova).set("src_iova", srcIova));
    }

    /** IOMMU_IOAS_ALLOW_IOVAS with {start, last} pairs (none clears the list). */
    public Rc allowIovas(int ioas, long... startLastPairs) {
        long ptr = userCopy(iovaRanges(startLastPairs));
        return ioctl(Ioctl.IOMMU_IOAS_ALLOW_IOVAS, cmd(Ioctl.IOMMU_IOAS_ALLOW_IOVAS).set("ioas_id", ioas)
                .set("num_iovas", startLastPairs.length / 2).set("allowed_iovas", ptr));
    }

    /** IOMMU_IOAS_IOVA_RANGES into a caller-chosen array. Outputs: num_iovas, out_iova_alignment. */
    public Rc iovaRanges(int ioas, int numIovas, long rangesVa) {
        return ioctl(Ioctl.IOMMU_IOAS_IOVA_RANGES, cmd(Ioctl.IOMMU_IOAS_IOVA_RANGES).set("ioas_id", ioas)
                .set("num_iovas", numIovas).set("allowed_iovas", rangesVa));
    }

    /** IOMMU_TEST_OP_ADD_RESERVED. */
    public Rc addReserved(int ioas, long start, long length) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_ADD_RESERVED).set("id", ioas)
                .set("add_reserved.start", start).set("add_reserved.length", length));
    }

    /** IOMMU_OPTION; output val64 (written back only on success). */
    public Rc option(int optionId, int op, int objectId, long val64) {
        return ioctl(Ioctl.IOMMU_OPTION, cmd(Ioctl.IOMMU_OPTION).set("option_id", optionId).set("op", op)
                .set("object_id", objectId).set("val64", val64));
    }

    /** IOMMU_OPTION get; output val64. */
    public Rc optionGet(int optionId, int objectId) {
        return option(optionId, IOMMU_OPTION_OP_GET, objectId, 0);
    }

    public Rc optionSet(int optionId, int objectId, long val64) {
        return option(optionId, IOMMU_OPTION_OP_SET, objectId, val64);
    }

    /** IOMMU_VFIO_IOAS; output ioas_id. */
    public Rc vfioIoas(int op, int ioas) {
        return ioctl(Ioctl.IOMMU_VFIO_IOAS, cmd(Ioctl.IOMMU_VFIO_IOAS).set("op", op).set("ioas_id", ioas));
    }

    // ---------------------------------------------------------------------------------------------
    // Mock devices and HWPTs

    /** IOMMU_TEST_OP_MOCK_DOMAIN attaching a new mock device to an IOAS or HWPT. */
    public Rc mockDomainRc(int ptId) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_MOCK_DOMAIN).set("id", ptId));
    }

    /** test_cmd_mock_domain: asserts success. */
    public MockDomain mockDomain(int ptId) {
        Rc rc = mockDomainRc(ptId).ok();
        return new MockDomain(rc.u32("mock_domain.out_stdev_id"), rc.u32("mock_domain.out_hwpt_id"),
                rc.u32("mock_domain.out_idev_id"));
    }

    /** IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS. */
    public Rc mockDomainFlagsRc(int ptId, int devFlags) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS).set("id", ptId)
                .set("mock_domain_flags.dev_flags", devFlags));
    }

    public MockDomain mockDomainFlags(int ptId, int devFlags) {
        Rc rc = mockDomainFlagsRc(ptId, devFlags).ok();
        return new MockDomain(rc.u32("mock_domain_flags.out_stdev_id"), rc.u32("mock_domain_flags.out_hwpt_id"),
                rc.u32("mock_domain_flags.out_idev_id"));
    }

    /** IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE; output mock_domain_replace.pt_id = the HWPT now attached. */
    public Rc mockDomainReplace(int stdevId, int ptId) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE).set("id", stdevId)
                .set("mock_domain_replace.pt_id", ptId));
    }

    /** IOMMU_HWPT_ALLOC without driver data. Output: out_hwpt_id. */
    public Rc hwptAlloc(int devId, int ptId, int flags) {
        return hwptAlloc(devId, ptId, 0, flags, IOMMU_HWPT_DATA_NONE, 0, 0);
    }

    /** IOMMU_HWPT_ALLOC in full (_test_cmd_hwpt_alloc). */
    public Rc hwptAlloc(int devId, int ptId, int faultId, int flags, int dataType, long dataUptr, int dataLen) {
        return ioctl(Ioctl.IOMMU_HWPT_ALLOC, cmd(Ioctl.IOMMU_HWPT_ALLOC).set("flags", flags).set("dev_id", devId)
                .set("pt_id", ptId).set("data_type", dataType).set("data_len", dataLen).set("data_uptr", dataUptr)
                .set("fault_id", faultId));
    }

    /** IOMMU_HWPT_INVALIDATE; output entry_num (written back even on failure). */
    public Rc hwptInvalidate(int hwptId, long reqsUptr, int dataType, int entryLen, int entryNum) {
        return ioctl(Ioctl.IOMMU_HWPT_INVALIDATE, cmd(Ioctl.IOMMU_HWPT_INVALIDATE).set("hwpt_id", hwptId)
                .set("data_type", dataType).set("data_uptr", reqsUptr).set("entry_len", entryLen)
                .set("entry_num", entryNum));
    }

    /** IOMMU_TEST_OP_MD_CHECK_IOTLB. */
    public Rc checkIotlb(int hwptId, int iotlbId, int expected) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_MD_CHECK_IOTLB).set("id", hwptId)
                .set("check_iotlb.id", iotlbId).set("check_iotlb.iotlb", expected));
    }

    /** test_cmd_hwpt_check_iotlb_all. */
    public void checkIotlbAll(int hwptId, int expected) {
        for (int i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++) {
            checkIotlb(hwptId, i, expected).ok();
        }
    }

    /** IOMMU_GET_HW_INFO. Outputs: data_len, out_data_type, out_capabilities, out_max_pasid_log2. */
    public Rc getHwInfo(int devId, int flags, long dataUptr, int dataLen) {
        return ioctl(Ioctl.IOMMU_GET_HW_INFO, cmd(Ioctl.IOMMU_GET_HW_INFO).set("dev_id", devId).set("flags", flags)
                .set("data_len", dataLen).set("data_uptr", dataUptr));
    }

    /** IOMMU_FAULT_QUEUE_ALLOC. Outputs: out_fault_id, out_fault_fd. */
    public Rc faultAlloc() {
        return ioctl(Ioctl.IOMMU_FAULT_QUEUE_ALLOC, cmd(Ioctl.IOMMU_FAULT_QUEUE_ALLOC));
    }

    /**
     * _test_cmd_trigger_iopf: the mock device raises a page request, the fault fd delivers it, and
     * a success response with its cookie is written back. EIO when a read or write moves no bytes.
     */
    public Rc triggerIopf(int devId, int faultFd) {
        Rc rc = ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_TRIGGER_IOPF).set("trigger_iopf.dev_id", devId)
                .set("trigger_iopf.pasid", 1).set("trigger_iopf.grpid", 2)
                .set("trigger_iopf.perm", IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE)
                .set("trigger_iopf.addr", 0xdeadbeafL));
        if (!rc.isOk()) {
            return rc;
        }
        UapiStruct faultStruct = IommufdStructs.IOMMU_HWPT_PGFAULT;
        long faultVa = userAlloc(faultStruct.size());
        long n = proc.read(faultFd, faultVa, faultStruct.size());
        if (n <= 0) {
            return new Rc("read(fault_fd)", n < 0 ? n : -Errno.EIO.value(), null);
        }
        Cmd fault = Cmd.zeroed(faultStruct, faultStruct.size());
        proc.read(faultVa, fault.bytes(), 0, fault.length());
        Cmd response = Cmd.zeroed(IommufdStructs.IOMMU_HWPT_PAGE_RESPONSE, 0)
                .set("cookie", fault.get("cookie")).set("code", IOMMUFD_PAGE_RESP_SUCCESS);
        long respVa = userCopy(response.bytes());
        n = proc.write(faultFd, respVa, response.length());
        if (n <= 0) {
            return new Rc("write(fault_fd)", n < 0 ? n : -Errno.EIO.value(), null);
        }
        return new Rc("trigger_iopf", 0, fault);
    }

    // ---------------------------------------------------------------------------------------------
    // Dirty tracking

    public Rc setDirtyTracking(int hwptId, boolean enabled) {
        return ioctl(Ioctl.IOMMU_HWPT_SET_DIRTY_TRACKING, cmd(Ioctl.IOMMU_HWPT_SET_DIRTY_TRACKING)
                .set("flags", enabled ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0).set("hwpt_id", hwptId));
    }

    public Rc getDirtyBitmap(int hwptId, long length, long iova, long pageSize, long bitmapUptr, int flags) {
        return ioctl(Ioctl.IOMMU_HWPT_GET_DIRTY_BITMAP, cmd(Ioctl.IOMMU_HWPT_GET_DIRTY_BITMAP)
                .set("hwpt_id", hwptId).set("flags", flags).set("iova", iova).set("length", length)
                .set("page_size", pageSize).set("data", bitmapUptr));
    }

    /** IOMMU_TEST_OP_DIRTY: marks the IOVAs whose bits are set as dirty in the mock domain. Output: dirty.out_nr_dirty. */
    public Rc mockSetDirty(int hwptId, long length, long iova, long pageSize, long bitmapUptr) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_DIRTY).set("id", hwptId).set("dirty.iova", iova)
                .set("dirty.length", length).set("dirty.page_size", pageSize).set("dirty.uptr", bitmapUptr));
    }

    // ---------------------------------------------------------------------------------------------
    // Access objects (in-kernel users, exposed by the selftest as an fd)

    /** IOMMU_TEST_OP_CREATE_ACCESS; output create_access.out_access_fd. */
    public Rc createAccessRc(int ioas, int flags) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_CREATE_ACCESS).set("id", ioas)
                .set("create_access.flags", flags));
    }

    /** test_cmd_create_access: the access fd. */
    public int createAccess(int ioas, int flags) {
        return createAccessRc(ioas, flags).ok().u32("create_access.out_access_fd");
    }

    /** test_cmd_destroy_access: close(access fd). */
    public int destroyAccess(int accessFd) {
        return proc.close(accessFd);
    }

    /** IOMMU_TEST_OP_ACCESS_PAGES; output access_pages.out_access_pages_id. */
    public Rc accessPages(int accessFd, long iova, long length, long uptr, int flags) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_ACCESS_PAGES).set("id", accessFd)
                .set("access_pages.flags", flags).set("access_pages.iova", iova).set("access_pages.length", length)
                .set("access_pages.uptr", uptr));
    }

    public Rc destroyAccessPages(int accessFd, int accessPagesId) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES).set("id", accessFd)
                .set("destroy_access_pages.access_pages_id", accessPagesId));
    }

    /** IOMMU_TEST_OP_ACCESS_RW between the IOAS at iova and user memory at uptr. */
    public Rc accessRw(int accessFd, long iova, long length, long uptr, int flags) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_ACCESS_RW).set("id", accessFd)
                .set("access_rw.iova", iova).set("access_rw.length", length).set("access_rw.uptr", uptr)
                .set("access_rw.flags", flags));
    }

    public Rc accessReplaceIoas(int accessFd, int ioas) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS).set("id", accessFd)
                .set("access_replace_ioas.ioas_id", ioas));
    }

    // ---------------------------------------------------------------------------------------------
    // Checks the mock driver performs

    /** IOMMU_TEST_OP_MD_CHECK_MAP: every IOVA of the mock domain maps the page under the user VA. */
    public Rc checkMap(int hwptId, long iova, long length, long uptr) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_MD_CHECK_MAP).set("id", hwptId)
                .set("check_map.iova", iova).set("check_map.length", length).set("check_map.uptr", uptr));
    }

    /** IOMMU_TEST_OP_MD_CHECK_REFS: every page in the range is pinned exactly {@code refs} times. */
    public Rc checkRefs(long uptr, long length, int refs) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_MD_CHECK_REFS).set("check_refs.length", length)
                .set("check_refs.uptr", uptr).set("check_refs.refs", refs));
    }

    /** IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT. */
    public Rc setTempMemoryLimit(int limit) {
        return ioctl(Ioctl.IOMMU_TEST_CMD, testCmd(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT).set("memory_limit.limit", limit));
    }

    /** test_ioctl_set_default_memory_limit. */
    public Rc setDefaultMemoryLimit() {
        return setTempMemoryLimit(65536);
    }

    // ---------------------------------------------------------------------------------------------
    // Teardown

    /**
     * teardown_iommufd: close the fd (which must succeed), open /dev/iommu again and check that no
     * page of the test buffer stays pinned; then the process exits.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (fd != -1) {
                int rc = proc.close(fd);
                if (rc != 0) {
                    throw new AssertionError("teardown: close(iommufd) returned " + Rc.describe(rc));
                }
                fd = dev.open(proc);
                Rc refs = checkRefs(buffer, BUFFER_SIZE, 0);
                int rc2 = proc.close(fd);
                fd = -1;
                refs.ok();
                if (rc2 != 0) {
                    throw new AssertionError("teardown: close(second iommufd) returned " + Rc.describe(rc2));
                }
            }
        } finally {
            proc.exit();
        }
    }
}
