package io.uiommu.conformance;

import io.uiommu.proc.UserProcess;
import io.uiommu.testing.Cmd;
import io.uiommu.testing.IommufdTestClient;
import io.uiommu.testing.Rc;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IommufdStructs;
import io.uiommu.uapi.TestStructs;
import io.uiommu.uapi.UapiStruct;
import io.uiommu.uapi.VfioStructs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static io.uiommu.iommufd.Errno.*;
import static io.uiommu.testing.IommufdTestClient.BUFFER_SIZE;
import static io.uiommu.testing.IommufdTestClient.PAGE_SIZE;
import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * FIXTURE(iommufd) of tools/testing/selftests/iommu/iommufd.c (Linux 6.12): a bare /dev/iommu fd,
 * the generic ioctl rules, global options and the VFIO compatibility ioctls without a compat IOAS.
 */
class IommufdBasicTest {
    private IommufdTestClient c;

    @BeforeEach
    void setUp() {
        c = new IommufdTestClient();
    }

    @AfterEach
    void tearDown() {
        c.close();
    }

    @Test
    void simple_close() {
    }

    @Test
    void cmd_fail() {
        // object id 0 never exists
        c.destroy(0).fails(ENOENT);
        // the kernel cannot read the size from a NULL argument
        c.ioctlArg(Ioctl.IOMMU_DESTROY.code(), 0).fails(EFAULT);
        // nr below IOMMUFD_CMD_BASE goes to the VFIO compat handler, which does not know it
        Cmd destroy = Cmd.of(IommufdStructs.IOMMU_DESTROY);
        c.ioctl((IOMMUFD_TYPE << 8) | (0x80 - 1), destroy).fails(ENOTTY);
    }

    private static final int IOMMUFD_TYPE = ';';

    /**
     * Not a selftest case; main.c iommufd_fops_ioctl (confirmed on the 6.12 kernel): inside the
     * table's nr range the size is read from the argument first (EFAULT for NULL), then a code
     * that is not exactly the table's (other direction/size bits, or a hole) is ENOTTY; outside the
     * range the VFIO compat handler answers ENOTTY without touching the argument.
     */
    @Test
    void unknown_ioctls() {
        Cmd destroy = Cmd.of(IommufdStructs.IOMMU_DESTROY);
        int iowrDestroy = (3 << 30) | (8 << 16) | (IOMMUFD_TYPE << 8) | 0x80; // _IOWR(';', 0x80, struct iommu_destroy)
        c.ioctlArg(iowrDestroy, 0).fails(EFAULT);
        c.ioctl(iowrDestroy, destroy).fails(ENOTTY);
        int hole = (IOMMUFD_TYPE << 8) | 0x9f; // no command has this number
        c.ioctlArg(hole, 0).fails(EFAULT);
        c.ioctl(hole, destroy).fails(ENOTTY);
        int pastTable = (IOMMUFD_TYPE << 8) | 0xa1;
        c.ioctlArg(pastTable, 0).fails(ENOTTY);
        c.ioctl(pastTable, destroy).fails(ENOTTY);
    }

    /**
     * Each ioctl of the 6.12 dispatch table (drivers/iommu/iommufd/main.c, IOCTL_OP) with the kernel's
     * sizeof(struct) and offsetofend(struct, last mandatory field), written down here from
     * include/uapi/linux/iommufd.h and iommufd_test.h rather than taken from the core.
     */
    static Stream<Arguments> ioctlTable() {
        return Stream.of(
                arguments(Ioctl.IOMMU_DESTROY, 8, 8),
                arguments(Ioctl.IOMMU_GET_HW_INFO, 40, 32),
                arguments(Ioctl.IOMMU_HWPT_ALLOC, 48, 24),
                arguments(Ioctl.IOMMU_HWPT_INVALIDATE, 32, 32),
                arguments(Ioctl.IOMMU_IOAS_ALLOC, 12, 12),
                arguments(Ioctl.IOMMU_IOAS_IOVA_RANGES, 32, 32),
                arguments(Ioctl.IOMMU_IOAS_ALLOW_IOVAS, 24, 24),
                arguments(Ioctl.IOMMU_IOAS_MAP, 40, 40),
                arguments(Ioctl.IOMMU_IOAS_COPY, 40, 40),
                arguments(Ioctl.IOMMU_IOAS_UNMAP, 24, 24),
                arguments(Ioctl.IOMMU_OPTION, 24, 24),
                arguments(Ioctl.IOMMU_VFIO_IOAS, 12, 12),
                // Not in the selftest's list, same rule (main.c iommufd_fops_ioctl):
                arguments(Ioctl.IOMMU_HWPT_SET_DIRTY_TRACKING, 16, 16),
                arguments(Ioctl.IOMMU_HWPT_GET_DIRTY_BITMAP, 48, 48),
                arguments(Ioctl.IOMMU_FAULT_QUEUE_ALLOC, 16, 16),
                arguments(Ioctl.IOMMU_TEST_CMD, 72, 68));
    }

    /**
     * cmd_length: size = min-1 is EINVAL; size = sizeof+1 with a non-zero trailing byte is E2BIG;
     * size = sizeof+1 with a zero trailing byte behaves exactly as size = sizeof.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("ioctlTable")
    void cmd_length(Ioctl op, int sizeofStruct, int minSize) {
        assertThat(op.struct().size()).as("sizeof(struct %s)", op.struct().name()).isEqualTo(sizeofStruct);
        int code = op.code();
        byte[] cmd = new byte[sizeofStruct + 1];
        cmd[sizeofStruct] = (byte) 0xff;

        c.ioctl(code, cmd, minSize - 1).fails(EINVAL);
        c.ioctl(code, cmd, sizeofStruct + 1).fails(E2BIG);

        byte[] exact = new byte[sizeofStruct + 1];
        exact[sizeofStruct] = (byte) 0xff;
        Rc rc = c.ioctl(code, exact, sizeofStruct);
        closeOutputFds(op, rc, exact);

        byte[] longer = new byte[sizeofStruct + 1];
        Rc rc2 = c.ioctl(code, longer, sizeofStruct + 1);
        closeOutputFds(op, rc2, longer);
        if (rc.isOk()) {
            rc2.ok();
        } else {
            rc2.failsWith(rc.errnoValue());
        }
    }

    /** FAULT_QUEUE_ALLOC succeeds with a zeroed struct and hands out an fd: close it so the context can go. */
    private void closeOutputFds(Ioctl op, Rc rc, byte[] bytes) {
        if (op == Ioctl.IOMMU_FAULT_QUEUE_ALLOC && rc.isOk()) {
            int off = IommufdStructs.IOMMU_FAULT_ALLOC.offset("out_fault_fd");
            int faultFd = (bytes[off] & 0xff) | (bytes[off + 1] & 0xff) << 8 | (bytes[off + 2] & 0xff) << 16
                    | (bytes[off + 3] & 0xff) << 24;
            assertThat(c.process().close(faultFd)).isZero();
        }
    }

    @Test
    void cmd_ex_fail() {
        // struct iommu_destroy followed by a u64 "future" field
        byte[] cmd = new byte[16];
        // invalid id, longer command with zero tail
        c.ioctl(Ioctl.IOMMU_DESTROY.code(), cmd, 16).fails(ENOENT);
        // non-zero future area
        cmd[8] = 1;
        c.ioctl(Ioctl.IOMMU_DESTROY.code(), cmd, 16).fails(E2BIG);
        // the original size still works (the tail is not read)
        c.ioctl(Ioctl.IOMMU_DESTROY.code(), cmd, 8).fails(ENOENT);
        // short command
        c.ioctl(Ioctl.IOMMU_DESTROY.code(), cmd, 7).fails(EINVAL);
    }

    @Test
    void global_options() {
        Rc rc = c.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 1).ok();
        assertThat(rc.u64("val64")).isZero();

        // needs CAP_SYS_RESOURCE, which the test process has (the selftest runs as root)
        c.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1).ok();
        c.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 2).fails(EINVAL);

        rc = c.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 2).ok();
        assertThat(rc.u64("val64")).isEqualTo(1);

        c.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 0).ok();

        // HUGE_PAGES is per IOAS: object 0 is not one
        c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 0, 0).fails(ENOENT);
        c.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, 0, 0).fails(ENOENT);
    }

    /**
     * Not a selftest case: the error paths of IOMMU_OPTION's global option (main.c iommufd_option,
     * ioas.c iommufd_option_rlimit_mode).
     */
    @Test
    void global_option_errors() {
        // __reserved, unknown option, unknown op, object id on a global option
        Cmd reserved = Cmd.of(IommufdStructs.IOMMU_OPTION).set("option_id", IOMMU_OPTION_RLIMIT_MODE)
                .set("op", IOMMU_OPTION_OP_GET).set("__reserved", 1);
        c.ioctl(Ioctl.IOMMU_OPTION, reserved).fails(EOPNOTSUPP);
        c.option(2, IOMMU_OPTION_OP_GET, 0, 0).fails(EOPNOTSUPP);
        c.option(IOMMU_OPTION_RLIMIT_MODE, 2, 0, 0).fails(EOPNOTSUPP);
        c.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 1, 0).fails(EOPNOTSUPP);

        // the mode cannot change once objects exist
        int ioas = c.ioasAlloc();
        c.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1).fails(EBUSY);
        c.destroy(ioas).ok();
        c.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1).ok();

        // setting it needs CAP_SYS_RESOURCE, reading it does not
        c.process().dropCapability(UserProcess.Capability.CAP_SYS_RESOURCE);
        c.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 0).fails(EPERM);
        assertThat(c.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0).ok().u64("val64")).isEqualTo(1);
    }

    // --- VFIO compatibility ioctls (no compat IOAS set) ---

    @Test
    void simple_ioctls() {
        assertThat(c.ioctlArg(Ioctl.VFIO_GET_API_VERSION.code(), 0).ret()).isEqualTo(VFIO_API_VERSION);
        assertThat(c.ioctlArg(Ioctl.VFIO_CHECK_EXTENSION.code(), VFIO_TYPE1v2_IOMMU).ret()).isEqualTo(1);
    }

    @Test
    void unmap_cmd() {
        Cmd unmap = Cmd.of(VfioStructs.VFIO_IOMMU_TYPE1_DMA_UNMAP).set("iova", MOCK_APERTURE_START)
                .set("size", PAGE_SIZE);
        int code = Ioctl.VFIO_IOMMU_UNMAP_DMA.code();

        unmap.set("argsz", 1);
        c.ioctl(code, unmap).fails(EINVAL);

        unmap.set("argsz", unmap.struct().size()).set("flags", 1L << 31);
        c.ioctl(code, unmap).fails(EINVAL);

        unmap.set("flags", 0);
        c.ioctl(code, unmap).fails(ENODEV);
    }

    @Test
    void map_cmd() {
        Cmd map = Cmd.of(VfioStructs.VFIO_IOMMU_TYPE1_DMA_MAP).set("iova", MOCK_APERTURE_START)
                .set("size", PAGE_SIZE).set("vaddr", c.buffer());
        int code = Ioctl.VFIO_IOMMU_MAP_DMA.code();

        map.set("argsz", 1);
        c.ioctl(code, map).fails(EINVAL);

        map.set("argsz", map.struct().size()).set("flags", 1L << 31);
        c.ioctl(code, map).fails(EINVAL);

        // there is no compat IOAS (no "group" was attached)
        map.set("flags", VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
        c.ioctl(code, map).fails(ENODEV);
    }

    @Test
    void info_cmd() {
        Cmd info = Cmd.zeroed(VfioStructs.VFIO_IOMMU_TYPE1_INFO, 0);
        int code = Ioctl.VFIO_IOMMU_GET_INFO.code();

        info.set("argsz", 1);
        c.ioctl(code, info).fails(EINVAL);

        info.set("argsz", info.struct().size());
        c.ioctl(code, info).fails(ENODEV);
    }

    @Test
    void set_iommu_cmd() {
        // VFIO_SET_IOMMU takes the type as the integer argument; no group means ENODEV
        c.ioctlArg(Ioctl.VFIO_SET_IOMMU.code(), VFIO_TYPE1v2_IOMMU).fails(ENODEV);
        c.ioctlArg(Ioctl.VFIO_SET_IOMMU.code(), VFIO_TYPE1_IOMMU).fails(ENODEV);
    }

    @Test
    void vfio_ioas() {
        // no compat IOAS yet
        c.vfioIoas(IOMMU_VFIO_IOAS_GET, 0).fails(ENODEV);
        // id 0 is not an IOAS
        c.vfioIoas(IOMMU_VFIO_IOAS_SET, 0).fails(ENOENT);

        int ioas = c.ioasAlloc();
        c.vfioIoas(IOMMU_VFIO_IOAS_SET, ioas).ok();

        Rc rc = c.vfioIoas(IOMMU_VFIO_IOAS_GET, 0).ok();
        assertThat(rc.u32("ioas_id")).isEqualTo(ioas);

        c.vfioIoas(IOMMU_VFIO_IOAS_CLEAR, 0).ok();
        c.vfioIoas(IOMMU_VFIO_IOAS_GET, 0).fails(ENODEV);
    }

    /** Not a selftest case: the struct sizes the dispatcher uses are the ones of the 6.12 headers. */
    @Test
    void struct_layouts_match_the_headers() {
        assertLayout(IommufdStructs.IOMMU_IOAS_MAP, 40, "flags", 4, "ioas_id", 8, "user_va", 16, "length", 24,
                "iova", 32);
        assertLayout(IommufdStructs.IOMMU_IOAS_COPY, 40, "dst_ioas_id", 8, "src_ioas_id", 12, "length", 16,
                "dst_iova", 24, "src_iova", 32);
        assertLayout(IommufdStructs.IOMMU_IOAS_UNMAP, 24, "ioas_id", 4, "iova", 8, "length", 16);
        assertLayout(IommufdStructs.IOMMU_OPTION, 24, "option_id", 4, "op", 8, "__reserved", 10, "object_id", 12,
                "val64", 16);
        assertLayout(IommufdStructs.IOMMU_HWPT_ALLOC, 48, "dev_id", 8, "pt_id", 12, "out_hwpt_id", 16,
                "data_type", 24, "data_len", 28, "data_uptr", 32, "fault_id", 40);
        assertLayout(IommufdStructs.IOMMU_HW_INFO, 40, "dev_id", 8, "data_len", 12, "data_uptr", 16,
                "out_data_type", 24, "out_max_pasid_log2", 28, "out_capabilities", 32);
        assertLayout(IommufdStructs.IOMMU_HWPT_INVALIDATE, 32, "hwpt_id", 4, "data_uptr", 8, "data_type", 16,
                "entry_len", 20, "entry_num", 24);
        assertLayout(IommufdStructs.IOMMU_HWPT_GET_DIRTY_BITMAP, 48, "hwpt_id", 4, "flags", 8, "iova", 16,
                "length", 24, "page_size", 32, "data", 40);
        assertLayout(TestStructs.IOMMU_TEST_CMD, 72, "op", 4, "id", 8, "add_reserved.start", 16,
                "mock_domain.out_idev_id", 24, "check_refs.refs", 32, "access_rw.flags", 40,
                "dirty.out_nr_dirty", 56, "trigger_iopf.addr", 32, "last", 64);
        assertLayout(IommufdStructs.IOMMU_HWPT_PGFAULT, 40, "addr", 24, "length", 32, "cookie", 36);
        assertLayout(VfioStructs.VFIO_IOMMU_TYPE1_INFO, 24, "iova_pgsizes", 8, "cap_offset", 16);
        assertLayout(VfioStructs.VFIO_IOMMU_TYPE1_DMA_MAP, 32, "vaddr", 8, "iova", 16, "size", 24);
        assertLayout(VfioStructs.VFIO_IOMMU_TYPE1_DMA_UNMAP, 24, "iova", 8, "size", 16);
        assertThat(BUFFER_SIZE).isEqualTo(16 * PAGE_SIZE);
    }

    private static void assertLayout(UapiStruct s, int size, Object... fieldOffsets) {
        assertThat(s.size()).as("sizeof(struct %s)", s.name()).isEqualTo(size);
        for (int i = 0; i < fieldOffsets.length; i += 2) {
            String f = (String) fieldOffsets[i];
            assertThat(s.offset(f)).as("offsetof(struct %s, %s)", s.name(), f).isEqualTo(fieldOffsets[i + 1]);
        }
    }
}
