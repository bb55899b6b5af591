package io.uiommu.uapi;

import io.uiommu.hw.mock.MockIommuDriver;
import io.uiommu.hw.mock.MockNestedDomain;
import io.uiommu.hw.mock.MockPagingDomain;
import io.uiommu.iommufd.Access;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.HwPagetable;
import io.uiommu.iommufd.HwptNested;
import io.uiommu.iommufd.HwptPaging;
import io.uiommu.iommufd.Ioas;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.iommufd.SelftestDevice;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.mem.UserMemory;
import io.uiommu.proc.OpenFile;

import static io.uiommu.uapi.TestStructs.IOMMU_TEST_CMD;

/**
 * IOMMU_TEST_CMD: the kernel selftest's private interface to the mock IOMMU
 * (drivers/iommu/iommufd/selftest.c, ops of iommufd_test.h in 6.12).
 */
final class TestCmd {
    private TestCmd() {
    }

    private static final long PAGE = PhysicalMemory.PAGE_SIZE;
    private static final long MOCK_PAGE = MockIommuDriver.MOCK_IO_PAGE_SIZE;
    private static final long SZ_16M = 16L << 20;
    private static final int OP = IOMMU_TEST_CMD.offset("op");
    private static final int ID = IOMMU_TEST_CMD.offset("id");

    private static int off(String field) {
        return IOMMU_TEST_CMD.offset(field);
    }

    static long handle(Ucmd u) {
        int id = u.u32(ID);
        return switch (u.u32(OP)) {
            case UapiConstants.IOMMU_TEST_OP_ADD_RESERVED -> addReserved(u, id);
            case UapiConstants.IOMMU_TEST_OP_MOCK_DOMAIN -> mockDomain(u, id, 0);
            case UapiConstants.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS -> mockDomain(u, id, u.u32(off("mock_domain_flags.dev_flags")));
            case UapiConstants.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE -> mockDomainReplace(u, id);
            case UapiConstants.IOMMU_TEST_OP_MD_CHECK_MAP -> checkMap(u, id);
            case UapiConstants.IOMMU_TEST_OP_MD_CHECK_REFS -> checkRefs(u);
            case UapiConstants.IOMMU_TEST_OP_MD_CHECK_IOTLB -> checkIotlb(u, id);
            case UapiConstants.IOMMU_TEST_OP_CREATE_ACCESS -> createAccess(u, id);
            case UapiConstants.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS -> accessReplaceIoas(u, id);
            case UapiConstants.IOMMU_TEST_OP_ACCESS_PAGES -> accessPages(u, id);
            case UapiConstants.IOMMU_TEST_OP_ACCESS_RW -> accessRw(u, id);
            case UapiConstants.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES -> destroyAccessPages(u, id);
            case UapiConstants.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT -> setTempMemoryLimit(u);
            case UapiConstants.IOMMU_TEST_OP_DIRTY -> dirty(u, id);
            case UapiConstants.IOMMU_TEST_OP_TRIGGER_IOPF -> triggerIopf(u);
            case UapiConstants.IOMMU_TEST_OP_DEV_CHECK_CACHE -> devCheckCache(u, id);
            case UapiConstants.IOMMU_TEST_OP_TRIGGER_VEVENT -> triggerVevent(u);
            case UapiConstants.IOMMU_TEST_OP_PASID_ATTACH -> pasidAttach(u, id, false);
            case UapiConstants.IOMMU_TEST_OP_PASID_REPLACE -> pasidAttach(u, id, true);
            case UapiConstants.IOMMU_TEST_OP_PASID_DETACH -> pasidDetach(u, id);
            case UapiConstants.IOMMU_TEST_OP_PASID_CHECK_HWPT -> pasidCheckHwpt(u, id);
            default -> uiommuOp(u);
        };
    }

    /** uiommu's own ops live in {@link PlatformTestCmd}; any other number is unknown. */
    private static long uiommuOp(Ucmd u) {
        int op = u.u32(OP);
        if (!PlatformTestCmd.handles(op)) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unknown test op");
        }
        return PlatformTestCmd.handle(u, op);
    }

    private static long addReserved(Ucmd u, int ioasId) {
        long start = u.u64(off("add_reserved.start"));
        long length = u.u64(off("add_reserved.length"));
        if (length == 0) {
            throw new IommufdException(Errno.EINVAL, "zero length");
        }
        if (Long.compareUnsigned(start + length - 1, start) < 0) {
            throw new IommufdException(Errno.EOVERFLOW, "range wraps");
        }
        u.ctx.objects().get(ioasId, Ioas.class).iopt().reserve(start, start + length - 1, null);
        return 0;
    }

    private static long mockDomain(Ucmd u, int ptId, int devFlags) {
        int[] ids = SelftestDevice.create(u.ctx, ptId, devFlags);
        u.put32(off("mock_domain.out_stdev_id"), ids[0]);
        u.put32(off("mock_domain.out_hwpt_id"), ids[1]);
        u.put32(off("mock_domain.out_idev_id"), ids[2]);
        try {
            u.respond();
        } catch (IommufdException e) {
            u.ctx.objects().destroyUser(ids[0], SelftestDevice.class);
            throw e;
        }
        return 0;
    }

    private static long mockDomainReplace(Ucmd u, int stdevId) {
        SelftestDevice sobj = u.ctx.objects().get(stdevId, SelftestDevice.class);
        int ptOff = off("mock_domain_replace.pt_id");
        int hwptId = sobj.device().replace(u.u32(ptOff));
        u.put32(ptOff, hwptId);
        u.respond();
        return 0;
    }

    /**
     * iommufd_test_pasid_attach / _replace (upstream 6.15): attaches or replaces a PASID of the
     * selftest device and writes the HWPT now used back into pt_id; a failed write undoes an attach.
     */
    private static long pasidAttach(Ucmd u, int stdevId, boolean replace) {
        Device dev = u.ctx.objects().get(stdevId, SelftestDevice.class).device();
        String m = replace ? "pasid_replace." : "pasid_attach.";
        int pasid = u.u32(off(m + "pasid"));
        int hwptId = replace ? dev.replacePasid(pasid, u.u32(off(m + "pt_id")))
                : dev.attachPasid(pasid, u.u32(off(m + "pt_id")));
        u.put32(off(m + "pt_id"), hwptId);
        try {
            u.respond();
        } catch (IommufdException e) {
            if (!replace) {
                dev.detachPasid(pasid);
            }
            throw e;
        }
        return 0;
    }

    private static long pasidDetach(Ucmd u, int stdevId) {
        u.ctx.objects().get(stdevId, SelftestDevice.class).device().detachPasid(u.u32(off("pasid_detach.pasid")));
        return 0;
    }

    /** 0 when the PASID is attached to hwpt_id, or detached and hwpt_id is 0; EINVAL otherwise. */
    private static long pasidCheckHwpt(Ucmd u, int stdevId) {
        Device dev = u.ctx.objects().get(stdevId, SelftestDevice.class).device();
        HwPagetable h = dev.pasidHwpt(u.u32(off("pasid_check.pasid")));
        int want = u.u32(off("pasid_check.hwpt_id"));
        if (h == null ? want != 0 : h.id() != want) {
            throw new IommufdException(Errno.EINVAL, "PASID is attached elsewhere");
        }
        return 0;
    }

    private static MockPagingDomain mockPaging(Ucmd u, int hwptId) {
        HwptPaging hwpt = u.ctx.objects().get(hwptId, HwptPaging.class);
        if (!(hwpt.domain() instanceof MockPagingDomain mock)) {
            throw new IommufdException(Errno.EINVAL, "not a mock paging domain");
        }
        return mock;
    }

    /** Every 2 KiB I/O page at iova must map the frame that backs uptr now. */
    private static long checkMap(Ucmd u, int hwptId) {
        long iova = u.u64(off("check_map.iova"));
        long length = u.u64(off("check_map.length"));
        long uptr = u.u64(off("check_map.uptr"));
        if (iova % MOCK_PAGE != 0 || length % MOCK_PAGE != 0 || uptr % MOCK_PAGE != 0
                || Long.compareUnsigned(uptr + length, uptr) < 0) {
            throw new IommufdException(Errno.EINVAL, "unaligned check_map");
        }
        MockPagingDomain mock = mockPaging(u, hwptId);
        UserMemory mem = u.memory();
        for (; length != 0; length -= MOCK_PAGE) {
            long pfn = mem.frameAt(uptr & -PAGE);
            if (pfn < 0) {
                throw new IommufdException(Errno.EFAULT, "uptr not mapped");
            }
            long pa = mock.iovaToPhys(iova);
            if (pa != (pfn << PhysicalMemory.PAGE_SHIFT) + (uptr % PAGE)) {
                throw new IommufdException(Errno.EINVAL, "mapping differs at IOVA 0x" + Long.toHexString(iova));
            }
            iova += MOCK_PAGE;
            uptr += MOCK_PAGE;
        }
        return 0;
    }

    /** Each page of uptr must be pinned exactly refs times. */
    private static long checkRefs(Ucmd u) {
        long length = u.u64(off("check_refs.length"));
        long uptr = u.u64(off("check_refs.uptr"));
        int refs = u.u32(off("check_refs.refs"));
        if (length % PAGE != 0 || uptr % PAGE != 0 || Long.compareUnsigned(uptr + length, uptr) < 0) {
            throw new IommufdException(Errno.EINVAL, "unaligned check_refs");
        }
        UserMemory mem = u.memory();
        for (; length != 0; length -= PAGE, uptr += PAGE) {
            long pfn = mem.frameAt(uptr);
            if (pfn < 0) {
                throw new IommufdException(Errno.EFAULT, "uptr not mapped");
            }
            if (mem.physical().pinCount(pfn) != refs) {
                throw new IommufdException(Errno.EIO, "pin count differs at 0x" + Long.toHexString(uptr));
            }
        }
        return 0;
    }

    private static long checkIotlb(Ucmd u, int hwptId) {
        HwptNested hwpt = u.ctx.objects().get(hwptId, HwptNested.class);
        if (!(hwpt.domain() instanceof MockNestedDomain nested)) {
            throw new IommufdException(Errno.EINVAL, "not a mock nested domain");
        }
        int iotlbId = u.u32(off("check_iotlb.id"));
        if (Integer.compareUnsigned(iotlbId, MockNestedDomain.IOTLB_NUM - 1) > 0
                || nested.iotlb(iotlbId) != u.u32(off("check_iotlb.iotlb"))) {
            throw new IommufdException(Errno.EINVAL, "IOTLB differs");
        }
        return 0;
    }

    private static TestAccessFile accessFile(Ucmd u, int fd) {
        OpenFile f;
        try {
            f = u.caller.fds().get(fd);
        } catch (IommufdException e) {
            throw new IommufdException(Errno.EBADFD, "bad access fd");
        }
        if (!(f instanceof TestAccessFile file) || file.access == null) {
            throw new IommufdException(Errno.EBADFD, "not an access fd");
        }
        return file;
    }

    private static long createAccess(Ucmd u, int ioasId) {
        int flags = u.u32(off("create_access.flags"));
        if ((flags & ~UapiConstants.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags");
        }
        TestAccessFile file = new TestAccessFile(u.ctx);
        Access access = Access.create(u.ctx, flags != 0, file::unmap);
        try {
            access.attach(ioasId);
        } catch (RuntimeException e) {
            access.destroyByOwner();
            throw e;
        }
        file.access = access;
        u.ctx.getFile();
        int fd = u.caller.fds().install(file);
        u.put32(off("create_access.out_access_fd"), fd);
        try {
            u.respond();
        } catch (IommufdException e) {
            u.caller.fds().close(fd);
            throw e;
        }
        return 0;
    }

    private static long accessReplaceIoas(Ucmd u, int fd) {
        TestAccessFile file = accessFile(u, fd);
        file.access.replace(u.u32(off("access_replace_ioas.ioas_id")));
        return 0;
    }

    private static long accessPages(Ucmd u, int fd) {
        long length = u.u64(off("access_pages.length"));
        int flags = u.u32(off("access_pages.flags"));
        if (Long.compareUnsigned(length, SZ_16M) > 0) {
            throw new IommufdException(Errno.ENOMEM, "too long");
        }
        if ((flags & ~(UapiConstants.MOCK_FLAGS_ACCESS_WRITE | UapiConstants.MOCK_FLAGS_ACCESS_SYZ)) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags");
        }
        TestAccessFile file = accessFile(u, fd);
        if (!file.access.needsPinPages()) {
            throw new IommufdException(Errno.EOPNOTSUPP, "access cannot pin");
        }
        long iova = u.u64(off("access_pages.iova"));
        long uptr = u.u64(off("access_pages.uptr"));
        long[] frames = file.access.pinPages(iova, length, (flags & UapiConstants.MOCK_FLAGS_ACCESS_WRITE) != 0);
        try {
            if (uptr != 0) {
                long va = uptr - (iova % PAGE);
                for (long frame : frames) {
                    long now = u.memory().frameAt(va);
                    if (now < 0) {
                        throw new IommufdException(Errno.EFAULT, "uptr not mapped");
                    }
                    if (now != frame) {
                        throw new IommufdException(Errno.EBADE, "pinned page differs");
                    }
                    va += PAGE;
                }
            }
            int itemId = file.addItem(iova, length);
            u.put32(off("access_pages.out_access_pages_id"), itemId);
            try {
                u.respond();
            } catch (IommufdException e) {
                file.removeItem(itemId);
                throw e;
            }
        } catch (IommufdException e) {
            file.access.unpinPages(iova, length);
            throw e;
        }
        return 0;
    }

    private static long accessRw(Ucmd u, int fd) {
        long length = u.u64(off("access_rw.length"));
        int flags = u.u32(off("access_rw.flags"));
        if (Long.compareUnsigned(length, SZ_16M) > 0) {
            throw new IommufdException(Errno.ENOMEM, "too long");
        }
        if ((flags & ~(UapiConstants.MOCK_ACCESS_RW_WRITE | UapiConstants.MOCK_ACCESS_RW_SLOW_PATH
                | UapiConstants.MOCK_FLAGS_ACCESS_SYZ)) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags");
        }
        TestAccessFile file = accessFile(u, fd);
        long iova = u.u64(off("access_rw.iova"));
        long ubuf = u.u64(off("access_rw.uptr"));
        boolean write = (flags & UapiConstants.MOCK_ACCESS_RW_WRITE) != 0;
        byte[] tmp = new byte[(int) length];
        if (write) {
            u.memory().read(ubuf, tmp, 0, tmp.length);
        }
        file.access.rw(iova, tmp, 0, tmp.length, write);
        if (!write) {
            u.memory().write(ubuf, tmp, 0, tmp.length);
        }
        return 0;
    }

    private static long destroyAccessPages(Ucmd u, int fd) {
        TestAccessFile file = accessFile(u, fd);
        if (!file.destroyItem(u.u32(off("destroy_access_pages.access_pages_id")))) {
            throw new IommufdException(Errno.ENOENT, "no such access pages item");
        }
        return 0;
    }

    /** Only tunes internal batching in the kernel; the bound check is all that is visible. */
    private static long setTempMemoryLimit(Ucmd u) {
        if (Integer.compareUnsigned(u.u32(off("memory_limit.limit")), 12) < 0) {
            throw new IommufdException(Errno.EINVAL, "limit below the batch element size");
        }
        return 0;
    }

    /** Marks as dirty every mapped I/O page whose bit is set in the user's bitmap. */
    private static long dirty(Ucmd u, int hwptId) {
        long iova = u.u64(off("dirty.iova"));
        long length = u.u64(off("dirty.length"));
        long pageSize = u.u64(off("dirty.page_size"));
        long uptr = u.u64(off("dirty.uptr"));
        if (pageSize == 0 || length == 0 || Long.remainderUnsigned(iova, pageSize) != 0
                || Long.remainderUnsigned(length, pageSize) != 0 || uptr == 0) {
            throw new IommufdException(Errno.EINVAL, "bad dirty arguments");
        }
        long max = Long.divideUnsigned(length, pageSize);
        if (Long.compareUnsigned(max, SZ_16M * 8) > 0) {
            throw new IommufdException(Errno.EOVERFLOW, "bitmap too large");
        }
        MockPagingDomain mock = mockPaging(u, hwptId);
        if (!mock.dirtyTracking()) {
            throw new IommufdException(Errno.EINVAL, "dirty tracking is off");
        }
        byte[] bits = new byte[(int) ((max + 7) / 8)];
        u.memory().read(uptr, bits, 0, bits.length);
        long count = 0;
        for (long i = 0; i < max; i++) {
            if ((bits[(int) (i / 8)] & (1 << (i % 8))) == 0) {
                continue;
            }
            long cur = iova + i * pageSize;
            // The selftest indexes its table by cur / page_size; reproduce that exactly.
            if (mock.markDirty(Long.divideUnsigned(cur, pageSize) * MOCK_PAGE)) {
                count++;
            }
        }
        u.put64(off("dirty.out_nr_dirty"), count);
        u.respond();
        return 0;
    }

    private static long triggerIopf(Ucmd u) {
        Device idev = u.ctx.objects().get(u.u32(off("trigger_iopf.dev_id")), Device.class);
        if (!(idev.iommuDevice() instanceof io.uiommu.hw.mock.MockDevice)) {
            throw new IommufdException(Errno.EINVAL, "not a mock device");
        }
        int pasid = u.u32(off("trigger_iopf.pasid"));
        int flags = io.uiommu.iommu.PageRequest.LAST_PAGE
                | (pasid != 0 ? io.uiommu.iommu.PageRequest.PASID_VALID : 0);
        // iommu_report_device_fault: routed to the handler of the attached domain, answered if none.
        io.uiommu.iommu.IoPageFault.reportDeviceFault(idev.iommuDevice(), new io.uiommu.iommu.PageRequest(flags,
                pasid, u.u32(off("trigger_iopf.grpid")), u.u32(off("trigger_iopf.perm")),
                u.u64(off("trigger_iopf.addr"))));
        return 0;
    }

    /** iommufd_test_dev_check_cache: EINVAL for a cache id past 3 or a word that differs; ENOENT for the device. */
    private static long devCheckCache(Ucmd u, int idevId) {
        int cacheId = u.u32(off("check_dev_cache.id"));
        if (Integer.compareUnsigned(cacheId, UapiConstants.MOCK_DEV_CACHE_ID_MAX) > 0) {
            throw new IommufdException(Errno.EINVAL, "cache id out of range");
        }
        Device idev = u.ctx.objects().get(idevId, Device.class);
        if (!(idev.iommuDevice() instanceof io.uiommu.hw.mock.MockDevice mdev)) {
            throw new IommufdException(Errno.EINVAL, "not a mock device");
        }
        if (mdev.cache(cacheId) != u.u32(off("check_dev_cache.cache"))) {
            throw new IommufdException(Errno.EINVAL, "cache word differs");
        }
        return 0;
    }

    /** iommufd_test_trigger_vevent: see {@link io.uiommu.hw.mock.MockDevice#triggerVevent()}. */
    private static long triggerVevent(Ucmd u) {
        Device idev = u.ctx.objects().get(u.u32(off("trigger_vevent.dev_id")), Device.class);
        if (!(idev.iommuDevice() instanceof io.uiommu.hw.mock.MockDevice mdev)) {
            throw new IommufdException(Errno.ENOENT, "not a mock device");
        }
        mdev.triggerVevent();
        return 0;
    }
}
