package io.uiommu.uapi;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.proc.SimulatedProcess;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static io.uiommu.uapi.UapiConstants.IOMMU_VFIO_IOAS_CLEAR;
import static io.uiommu.uapi.UapiConstants.IOMMU_VFIO_IOAS_GET;
import static io.uiommu.uapi.UapiConstants.IOMMU_VFIO_IOAS_SET;
import static io.uiommu.uapi.UapiConstants.MOCK_APERTURE_LAST;
import static io.uiommu.uapi.UapiConstants.MOCK_APERTURE_START;
import static io.uiommu.uapi.UapiConstants.VFIO_DMA_CC_IOMMU;
import static io.uiommu.uapi.UapiConstants.VFIO_DMA_MAP_FLAG_READ;
import static io.uiommu.uapi.UapiConstants.VFIO_DMA_MAP_FLAG_WRITE;
import static io.uiommu.uapi.UapiConstants.VFIO_DMA_UNMAP_FLAG_ALL;
import static io.uiommu.uapi.UapiConstants.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
import static io.uiommu.uapi.UapiConstants.VFIO_DMA_UNMAP_FLAG_VADDR;
import static io.uiommu.uapi.UapiConstants.VFIO_IOMMU_INFO_CAPS;
import static io.uiommu.uapi.UapiConstants.VFIO_IOMMU_INFO_PGSIZES;
import static io.uiommu.uapi.UapiConstants.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
import static io.uiommu.uapi.UapiConstants.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
import static io.uiommu.uapi.UapiConstants.VFIO_NOIOMMU_IOMMU;
import static io.uiommu.uapi.UapiConstants.VFIO_TYPE1_IOMMU;
import static io.uiommu.uapi.UapiConstants.VFIO_TYPE1v2_IOMMU;
import static io.uiommu.uapi.UapiConstants.VFIO_UNMAP_ALL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The VFIO type1 compatibility ioctls and IOMMU_VFIO_IOAS through the public path, after the kernel
 * selftest (FIXTURE iommufd: set_iommu_cmd, vfio_ioas; FIXTURE vfio_compat_mock_domain) plus the
 * errno paths of vfio_compat.c the selftest does not reach.
 */
class VfioCompatTest {
    static final long PAGE_SIZE = 4096;
    static final long BUFFER_SIZE = PAGE_SIZE * 16;
    static final long HUGEPAGE_SIZE = 2L << 20;
    static final int ARG_LEN = 4096;

    static final UapiStruct INFO = VfioStructs.VFIO_IOMMU_TYPE1_INFO;
    static final UapiStruct MAP = VfioStructs.VFIO_IOMMU_TYPE1_DMA_MAP;
    static final UapiStruct UNMAP = VfioStructs.VFIO_IOMMU_TYPE1_DMA_UNMAP;
    static final UapiStruct VFIO_IOAS = IommufdStructs.IOMMU_VFIO_IOAS;

    DevIommu dev;
    SimulatedProcess p;
    int fd;
    /** A page of process memory where argument structs are built. */
    long arg;
    /** The selftest's buffer: BUFFER_SIZE bytes of process memory to map. */
    long buffer;

    @BeforeEach
    void open() {
        dev = new DevIommu();
        p = new SimulatedProcess(dev.physical());
        fd = dev.open(p);
        arg = p.mmap(ARG_LEN, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        buffer = p.mmap(BUFFER_SIZE, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
    }

    // ---- helpers ----

    static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    long ioctl(Ioctl op, long a) {
        return p.ioctl(fd, op.code(), a);
    }

    static long err(Errno e) {
        return -e.value();
    }

    void put(ByteBuffer b) {
        p.write(arg, b.array(), 0, b.capacity());
    }

    ByteBuffer get(int len) {
        byte[] out = new byte[len];
        p.read(arg, out, 0, len);
        return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    }

    void fill(long va, int len, int value) {
        byte[] b = new byte[len];
        Arrays.fill(b, (byte) value);
        p.write(va, b, 0, len);
    }

    boolean isFilled(long va, int len, int value) {
        byte[] b = new byte[len];
        p.read(va, b, 0, len);
        for (byte x : b) {
            if (x != (byte) value) {
                return false;
            }
        }
        return true;
    }

    int ioasAlloc() {
        UapiStruct s = IommufdStructs.IOMMU_IOAS_ALLOC;
        ByteBuffer b = le(s.size());
        b.putInt(s.offset("size"), s.size());
        put(b);
        assertThat(ioctl(Ioctl.IOMMU_IOAS_ALLOC, arg)).isZero();
        return get(s.size()).getInt(s.offset("out_ioas_id"));
    }

    /** IOMMU_TEST_OP_MOCK_DOMAIN on an IOAS; returns {stdev_id, hwpt_id, idev_id}. */
    int[] mockDomain(int ioasId) {
        UapiStruct s = TestStructs.IOMMU_TEST_CMD;
        ByteBuffer b = le(s.size());
        b.putInt(s.offset("size"), s.size());
        b.putInt(s.offset("op"), UapiConstants.IOMMU_TEST_OP_MOCK_DOMAIN);
        b.putInt(s.offset("id"), ioasId);
        put(b);
        assertThat(ioctl(Ioctl.IOMMU_TEST_CMD, arg)).isZero();
        ByteBuffer r = get(s.size());
        return new int[] {r.getInt(s.offset("mock_domain.out_stdev_id")), r.getInt(s.offset("mock_domain.out_hwpt_id")),
                r.getInt(s.offset("mock_domain.out_idev_id"))};
    }

    long destroy(int id) {
        UapiStruct s = IommufdStructs.IOMMU_DESTROY;
        ByteBuffer b = le(s.size());
        b.putInt(s.offset("size"), s.size());
        b.putInt(s.offset("id"), id);
        put(b);
        return ioctl(Ioctl.IOMMU_DESTROY, arg);
    }

    long vfioIoas(int op, int ioasId) {
        return vfioIoas(VFIO_IOAS.size(), op, ioasId, 0);
    }

    long vfioIoas(int size, int op, int ioasId, int reserved) {
        ByteBuffer b = le(VFIO_IOAS.size());
        b.putInt(VFIO_IOAS.offset("size"), size);
        b.putInt(VFIO_IOAS.offset("ioas_id"), ioasId);
        b.putShort(VFIO_IOAS.offset("op"), (short) op);
        b.putShort(VFIO_IOAS.offset("__reserved"), (short) reserved);
        put(b);
        return ioctl(Ioctl.IOMMU_VFIO_IOAS, arg);
    }

    int vfioIoasGet() {
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_GET, 0)).isZero();
        return get(VFIO_IOAS.size()).getInt(VFIO_IOAS.offset("ioas_id"));
    }

    long mapDma(int argsz, int flags, long vaddr, long iova, long size) {
        ByteBuffer b = le(MAP.size());
        b.putInt(MAP.offset("argsz"), argsz);
        b.putInt(MAP.offset("flags"), flags);
        b.putLong(MAP.offset("vaddr"), vaddr);
        b.putLong(MAP.offset("iova"), iova);
        b.putLong(MAP.offset("size"), size);
        put(b);
        return ioctl(Ioctl.VFIO_IOMMU_MAP_DMA, arg);
    }

    long mapDma(long vaddr, long iova, long size) {
        return mapDma(MAP.size(), VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, vaddr, iova, size);
    }

    long unmapDma(int argsz, int flags, long iova, long size) {
        ByteBuffer b = le(UNMAP.size());
        b.putInt(UNMAP.offset("argsz"), argsz);
        b.putInt(UNMAP.offset("flags"), flags);
        b.putLong(UNMAP.offset("iova"), iova);
        b.putLong(UNMAP.offset("size"), size);
        put(b);
        return ioctl(Ioctl.VFIO_IOMMU_UNMAP_DMA, arg);
    }

    long unmapDma(long iova, long size) {
        return unmapDma(UNMAP.size(), 0, iova, size);
    }

    long unmappedSize() {
        return get(UNMAP.size()).getLong(UNMAP.offset("size"));
    }

    /** The IOVA areas of the compatibility IOAS, looked at from the side. */
    List<long[]> compatAreas() {
        IommufdContext ctx = DevIommu.contextOf(p, fd);
        return ctx.vfioIoas().iopt().areaRanges();
    }

    /** The selftest's vfio_compat_mock_domain setup: IOAS, mock domain, VFIO_IOAS_SET, SET_IOMMU. */
    int compatMockDomain(int version) {
        int ioasId = ioasAlloc();
        mockDomain(ioasId);
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ioasId)).isZero();
        assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, version)).isZero();
        return ioasId;
    }

    // ---- FIXTURE(iommufd) ----

    @Test
    void setIommuCmdNeedsACompatIoas() {
        assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)).isEqualTo(err(Errno.ENODEV));
        assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)).isEqualTo(err(Errno.ENODEV));
    }

    @Test
    void setIommuRejectsOtherTypesBeforeLookingForTheIoas() {
        for (long type : new long[] {0, 2, 4, VFIO_NOIOMMU_IOMMU, VFIO_TYPE1_IOMMU | (1L << 32), -1L}) {
            assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, type)).as("type %d", type).isEqualTo(err(Errno.EINVAL));
        }
        int ioasId = ioasAlloc();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ioasId)).isZero();
        assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU)).isEqualTo(err(Errno.EINVAL));
        assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)).isZero();
        // Setting again, even another type, is allowed: TYPE1 only turns large pages off.
        assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)).isZero();
        assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)).isZero();
    }

    @Test
    void vfioIoas() {
        // ENODEV if there is no compat ioas
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_GET, 0)).isEqualTo(err(Errno.ENODEV));
        // Invalid id for set
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, 0)).isEqualTo(err(Errno.ENOENT));
        // Valid id for set
        int ioasId = ioasAlloc();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ioasId)).isZero();
        // Same id comes back from get
        assertThat(vfioIoasGet()).isEqualTo(ioasId);
        // Clear works
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_CLEAR, 0)).isZero();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_GET, 0)).isEqualTo(err(Errno.ENODEV));
    }

    @Test
    void vfioIoasReservedAndUnknownOpAreEopnotsupp() {
        int ioasId = ioasAlloc();
        assertThat(vfioIoas(VFIO_IOAS.size(), IOMMU_VFIO_IOAS_SET, ioasId, 1)).isEqualTo(err(Errno.EOPNOTSUPP));
        assertThat(vfioIoas(VFIO_IOAS.size(), IOMMU_VFIO_IOAS_GET, 0, 0x8000)).isEqualTo(err(Errno.EOPNOTSUPP));
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_CLEAR + 1, ioasId)).isEqualTo(err(Errno.EOPNOTSUPP));
        assertThat(vfioIoas(0xffff, ioasId)).isEqualTo(err(Errno.EOPNOTSUPP));
        // Nothing was set by the refused calls.
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_GET, 0)).isEqualTo(err(Errno.ENODEV));
    }

    @Test
    void vfioIoasSizeRules() {
        int ioasId = ioasAlloc();
        assertThat(vfioIoas(VFIO_IOAS.size() - 1, IOMMU_VFIO_IOAS_SET, ioasId, 0)).isEqualTo(err(Errno.EINVAL));
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ioasId)).isZero();
        // A larger struct with a zero tail is accepted; GET writes back only sizeof(struct).
        fill(arg, 64, 0);
        fill(arg + VFIO_IOAS.size() + 8, 8, 0x55);
        ByteBuffer b = le(VFIO_IOAS.size());
        b.putInt(VFIO_IOAS.offset("size"), VFIO_IOAS.size() + 8);
        b.putShort(VFIO_IOAS.offset("op"), (short) IOMMU_VFIO_IOAS_GET);
        put(b);
        assertThat(ioctl(Ioctl.IOMMU_VFIO_IOAS, arg)).isZero();
        assertThat(get(VFIO_IOAS.size()).getInt(VFIO_IOAS.offset("ioas_id"))).isEqualTo(ioasId);
        assertThat(isFilled(arg + VFIO_IOAS.size(), 8, 0)).isTrue();
        assertThat(isFilled(arg + VFIO_IOAS.size() + 8, 8, 0x55)).isTrue();
        // Non-zero bytes past the struct are E2BIG.
        fill(arg + VFIO_IOAS.size(), 8, 1);
        assertThat(ioctl(Ioctl.IOMMU_VFIO_IOAS, arg)).isEqualTo(err(Errno.E2BIG));
    }

    @Test
    void vfioIoasSetNeedsAnIoasObject() {
        int ioasId = ioasAlloc();
        int[] ids = mockDomain(ioasId);
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ids[1])).as("HWPT id").isEqualTo(err(Errno.ENOENT));
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ids[2])).as("device id").isEqualTo(err(Errno.ENOENT));
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, 1000)).isEqualTo(err(Errno.ENOENT));
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ioasId)).isZero();
    }

    @Test
    void vfioIoasSetReplacesAndHoldsNoReference() {
        int first = ioasAlloc();
        int second = ioasAlloc();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, first)).isZero();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, second)).isZero();
        assertThat(vfioIoasGet()).isEqualTo(second);
        // The compat pointer holds no reference: DESTROY works and clears it.
        assertThat(destroy(second)).isZero();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_GET, 0)).isEqualTo(err(Errno.ENODEV));
        assertThat(mapDma(buffer, 0, BUFFER_SIZE)).isEqualTo(err(Errno.ENODEV));
    }

    @Test
    void compatIoasCreateMakesAUserVisibleIoasOnce() {
        IommufdContext ctx = DevIommu.contextOf(p, fd);
        VfioCompat.compatIoasCreate(ctx);
        int id = vfioIoasGet();
        assertThat(id).isEqualTo(1);
        assertThat(VfioCompat.compatIoasGetId(ctx)).isEqualTo(id);
        // A second create keeps the existing one and leaves no ID behind.
        VfioCompat.compatIoasCreate(ctx);
        assertThat(vfioIoasGet()).isEqualTo(id);
        assertThat(ioasAlloc()).isEqualTo(2);
        assertThat(mapDma(buffer, 0, BUFFER_SIZE)).isZero();
        assertThat(destroy(id)).isZero();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_GET, 0)).isEqualTo(err(Errno.ENODEV));
        IommufdException e = catchThrowableOfType(IommufdException.class, () -> VfioCompat.compatIoasGetId(ctx));
        assertThat(e.errno()).isEqualTo(Errno.ENODEV);
    }

    @Test
    void getApiVersion() {
        assertThat(ioctl(Ioctl.VFIO_GET_API_VERSION, 0)).isEqualTo(UapiConstants.VFIO_API_VERSION);
        assertThat(ioctl(Ioctl.VFIO_GET_API_VERSION, 12345)).isZero();
    }

    @Test
    void checkExtension() {
        assertThat(ioctl(Ioctl.VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU)).isEqualTo(1);
        assertThat(ioctl(Ioctl.VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU)).isEqualTo(1);
        assertThat(ioctl(Ioctl.VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL)).isEqualTo(1);
        assertThat(ioctl(Ioctl.VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU)).isZero();
        assertThat(ioctl(Ioctl.VFIO_CHECK_EXTENSION, VfioCompat.VFIO_TYPE1_NESTING_IOMMU)).isZero();
        assertThat(ioctl(Ioctl.VFIO_CHECK_EXTENSION, VfioCompat.VFIO_UPDATE_VADDR)).isZero();
        for (long other : new long[] {0, 2, 5, 7, 11, 1000, VFIO_TYPE1_IOMMU | (1L << 32), -1L}) {
            assertThat(ioctl(Ioctl.VFIO_CHECK_EXTENSION, other)).as("extension %d", other).isZero();
        }
    }

    @Test
    void checkExtensionDmaCcIommu() {
        assertThat(ioctl(Ioctl.VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU)).isEqualTo(err(Errno.ENODEV));
        int ioasId = ioasAlloc();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ioasId)).isZero();
        // No HWPT: nothing breaks coherency.
        assertThat(ioctl(Ioctl.VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU)).isEqualTo(1);
        // The mock IOMMU does not claim IOMMU_CAP_ENFORCE_CACHE_COHERENCY, so its HWPT does not enforce it.
        mockDomain(ioasId);
        assertThat(ioctl(Ioctl.VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU)).isZero();
    }

    @Test
    void otherVfioNumbersAreEnotty() {
        int vfioBase = (Ioctl.IOMMUFD_TYPE << 8) | 100;
        // VFIO_GET_DEVICE_FD, VFIO_GROUP_*, VFIO_DEVICE_*, VFIO_IOMMU_DIRTY_PAGES, VFIO_IOMMU_SPAPR_*
        for (int nr : new int[] {3, 4, 5, 6, 7, 8, 9, 10, 11, 17, 20, 21}) {
            assertThat(p.ioctl(fd, vfioBase + nr, arg)).as("VFIO_BASE + %d", nr).isEqualTo(err(Errno.ENOTTY));
        }
        // The right number with size bits (as _IOR would encode it) is another request.
        assertThat(p.ioctl(fd, Ioctl.VFIO_GET_API_VERSION.code() | (4 << 16) | (2 << 30), 0))
                .isEqualTo(err(Errno.ENOTTY));
    }

    // ---- map / unmap / get_info errors ----

    @Test
    void containerIoctlsNeedACompatIoas() {
        ByteBuffer info = le(INFO.size());
        info.putInt(INFO.offset("argsz"), INFO.size());
        put(info);
        assertThat(ioctl(Ioctl.VFIO_IOMMU_GET_INFO, arg)).isEqualTo(err(Errno.ENODEV));
        assertThat(mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE)).isEqualTo(err(Errno.ENODEV));
        assertThat(unmapDma(MOCK_APERTURE_START, BUFFER_SIZE)).isEqualTo(err(Errno.ENODEV));
        assertThat(unmapDma(UNMAP.size(), VFIO_DMA_UNMAP_FLAG_ALL, 0, 0)).isEqualTo(err(Errno.ENODEV));
    }

    @Test
    void argsAreCheckedBeforeTheIoas() {
        ByteBuffer info = le(INFO.size());
        info.putInt(INFO.offset("argsz"), INFO.offsetOfEnd("iova_pgsizes") - 1);
        put(info);
        assertThat(ioctl(Ioctl.VFIO_IOMMU_GET_INFO, arg)).isEqualTo(err(Errno.EINVAL));
        assertThat(mapDma(MAP.size() - 1, 0, buffer, 0, BUFFER_SIZE)).isEqualTo(err(Errno.EINVAL));
        assertThat(mapDma(MAP.size(), 4, buffer, 0, BUFFER_SIZE)).isEqualTo(err(Errno.EINVAL));
        assertThat(unmapDma(UNMAP.size() - 1, 0, 0, BUFFER_SIZE)).isEqualTo(err(Errno.EINVAL));
        assertThat(unmapDma(UNMAP.size(), VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0, BUFFER_SIZE))
                .isEqualTo(err(Errno.EINVAL));
        assertThat(unmapDma(UNMAP.size(), VFIO_DMA_UNMAP_FLAG_VADDR, 0, BUFFER_SIZE)).isEqualTo(err(Errno.EINVAL));
    }

    @Test
    void unreadableArgumentIsEfault() {
        long unmapped = p.mmap(PAGE_SIZE, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        p.munmap(unmapped, PAGE_SIZE);
        compatMockDomain(VFIO_TYPE1v2_IOMMU);
        assertThat(ioctl(Ioctl.VFIO_IOMMU_GET_INFO, unmapped)).isEqualTo(err(Errno.EFAULT));
        assertThat(ioctl(Ioctl.VFIO_IOMMU_MAP_DMA, unmapped)).isEqualTo(err(Errno.EFAULT));
        assertThat(ioctl(Ioctl.VFIO_IOMMU_UNMAP_DMA, unmapped)).isEqualTo(err(Errno.EFAULT));
        // The minimum struct straddles into an unmapped page.
        long twoPages = p.mmap(2 * PAGE_SIZE, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        p.munmap(twoPages + PAGE_SIZE, PAGE_SIZE);
        long at = twoPages + PAGE_SIZE - 8;
        p.writeInt(at, 64);
        assertThat(ioctl(Ioctl.VFIO_IOMMU_GET_INFO, at)).isEqualTo(err(Errno.EFAULT));
        assertThat(ioctl(Ioctl.VFIO_IOMMU_MAP_DMA, at)).isEqualTo(err(Errno.EFAULT));
        assertThat(ioctl(Ioctl.VFIO_IOMMU_UNMAP_DMA, at)).isEqualTo(err(Errno.EFAULT));
    }

    @Test
    void getInfoFaultOnACapIsEfault() {
        compatMockDomain(VFIO_TYPE1v2_IOMMU);
        // argsz says 4 KiB but the page after the info struct is not there: a fault on a cap is EFAULT.
        long twoPages = p.mmap(2 * PAGE_SIZE, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        p.munmap(twoPages + PAGE_SIZE, PAGE_SIZE);
        long at = twoPages + PAGE_SIZE - INFO.size();
        ByteBuffer b = le(INFO.size());
        b.putInt(INFO.offset("argsz"), 4096);
        p.write(at, b.array(), 0, INFO.size());
        assertThat(ioctl(Ioctl.VFIO_IOMMU_GET_INFO, at)).isEqualTo(err(Errno.EFAULT));
        // The info itself was not written back.
        byte[] back = new byte[INFO.size()];
        p.read(at, back, 0, back.length);
        assertThat(back).isEqualTo(b.array());
    }

    @Test
    void getInfoFullChainBytes() {
        compatMockDomain(VFIO_TYPE1v2_IOMMU);
        fill(arg, ARG_LEN, 0xAA);
        ByteBuffer b = le(INFO.size());
        b.putInt(INFO.offset("argsz"), 256);
        b.putInt(INFO.offset("flags"), 0x12345678);
        b.putInt(INFO.offset("cap_offset"), 7);
        b.putInt(INFO.offset("pad"), 9);
        put(b);
        assertThat(ioctl(Ioctl.VFIO_IOMMU_GET_INFO, arg)).isZero();
        ByteBuffer r = get(256);
        assertThat(r.getInt(0)).as("argsz").isEqualTo(72);
        assertThat(r.getInt(4)).as("flags").isEqualTo(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
        assertThat(r.getLong(8)).as("iova_pgsizes").isEqualTo(PAGE_SIZE);
        assertThat(r.getInt(16)).as("cap_offset").isEqualTo(24);
        assertThat(r.getInt(20)).as("pad").isZero();
        // DMA_AVAIL: 12 bytes, padded to 16 (the padding is not written).
        assertThat(r.getShort(24)).isEqualTo((short) VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
        assertThat(r.getShort(26)).isEqualTo((short) 1);
        assertThat(r.getInt(28)).as("next").isEqualTo(40);
        assertThat(r.getInt(32)).as("avail").isEqualTo(-1);
        assertThat(r.getInt(36)).isEqualTo(0xAAAAAAAA);
        // IOVA_RANGE: the mock aperture.
        assertThat(r.getShort(40)).isEqualTo((short) VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
        assertThat(r.getShort(42)).isEqualTo((short) 1);
        assertThat(r.getInt(44)).as("next").isZero();
        assertThat(r.getInt(48)).as("nr_iovas").isEqualTo(1);
        assertThat(r.getInt(52)).as("reserved").isZero();
        assertThat(r.getLong(56)).isEqualTo(MOCK_APERTURE_START);
        assertThat(r.getLong(64)).isEqualTo(MOCK_APERTURE_LAST);
        assertThat(isFilled(arg + 72, ARG_LEN - 72, 0xAA)).isTrue();
    }

    @Test
    void getInfoWithoutDomains() {
        int ioasId = ioasAlloc();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ioasId)).isZero();
        ByteBuffer b = le(INFO.size());
        b.putInt(INFO.offset("argsz"), 256);
        put(b);
        assertThat(ioctl(Ioctl.VFIO_IOMMU_GET_INFO, arg)).isZero();
        ByteBuffer r = get(256);
        assertThat(r.getInt(0)).isEqualTo(72);
        assertThat(r.getLong(8)).as("every page size from 4 KiB up").isEqualTo(-PAGE_SIZE);
        assertThat(r.getInt(48)).isEqualTo(1);
        assertThat(r.getLong(56)).isZero();
        assertThat(r.getLong(64)).isEqualTo(-1L);
    }

    @Test
    void getInfoListsEveryHole() {
        int ioasId = ioasAlloc();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ioasId)).isZero();
        IommufdContext ctx = DevIommu.contextOf(p, fd);
        ctx.vfioIoas().iopt().reserve(0x1000, 0x1fff, null);
        ctx.vfioIoas().iopt().reserve(0x10000, 0x1ffff, null);
        ByteBuffer b = le(INFO.size());
        b.putInt(INFO.offset("argsz"), 24);
        put(b);
        assertThat(ioctl(Ioctl.VFIO_IOMMU_GET_INFO, arg)).isZero();
        int need = get(24).getInt(0);
        assertThat(need).isEqualTo(24 + 16 + 16 + 3 * 16);
        // One range short: the header and the last range are not written, the others are.
        fill(arg, ARG_LEN, 0xAA);
        b.putInt(INFO.offset("argsz"), need - 1);
        put(b);
        assertThat(ioctl(Ioctl.VFIO_IOMMU_GET_INFO, arg)).isZero();
        ByteBuffer r = get(need);
        assertThat(r.getInt(16)).as("cap_offset").isZero();
        assertThat(r.getInt(28)).as("dma_avail next").isEqualTo(40);
        assertThat(r.getInt(40)).as("iova header not written").isEqualTo(0xAAAAAAAA);
        assertThat(r.getLong(56)).isZero();
        assertThat(r.getLong(64)).isEqualTo(0xfff);
        assertThat(r.getLong(72)).isEqualTo(0x2000);
        assertThat(r.getLong(80)).isEqualTo(0xffff);
        assertThat(isFilled(arg + 88, ARG_LEN - 88, 0xAA)).isTrue();
        // Exactly enough: everything.
        b.putInt(INFO.offset("argsz"), need);
        put(b);
        assertThat(ioctl(Ioctl.VFIO_IOMMU_GET_INFO, arg)).isZero();
        r = get(need);
        assertThat(r.getInt(16)).isEqualTo(24);
        assertThat(r.getInt(48)).isEqualTo(3);
        assertThat(r.getLong(88)).isEqualTo(0x20000);
        assertThat(r.getLong(96)).isEqualTo(-1L);
        assertThat(isFilled(arg + need, ARG_LEN - need, 0xAA)).isTrue();
    }

    @Test
    void typeOneCannotBeSetOnceDomainsHoldMappings() {
        int ioasId = compatMockDomain(VFIO_TYPE1v2_IOMMU);
        assertThat(mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE)).isZero();
        assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)).isEqualTo(err(Errno.EINVAL));
        assertThat(DevIommu.contextOf(p, fd).objects().get(ioasId, io.uiommu.iommufd.Ioas.class).iopt()
                .largePagesDisabled()).isFalse();
        assertThat(unmapDma(UNMAP.size(), VFIO_DMA_UNMAP_FLAG_ALL, 0, 0)).isZero();
        assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)).isZero();
    }

    @Test
    void mapDmaErrorsFromTheIoas() {
        compatMockDomain(VFIO_TYPE1v2_IOMMU);
        assertThat(mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE)).isZero();
        assertThat(mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE)).isEqualTo(err(Errno.EEXIST));
        assertThat(mapDma(buffer, 0, BUFFER_SIZE)).as("outside the aperture").isEqualTo(err(Errno.EINVAL));
        assertThat(mapDma(buffer, MOCK_APERTURE_START + BUFFER_SIZE, 0)).isEqualTo(err(Errno.EINVAL));
        assertThat(mapDma(buffer, -PAGE_SIZE, 2 * PAGE_SIZE)).isEqualTo(err(Errno.EOVERFLOW));
        long gone = p.mmap(PAGE_SIZE, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        p.munmap(gone, PAGE_SIZE);
        assertThat(mapDma(gone, MOCK_APERTURE_START + BUFFER_SIZE, PAGE_SIZE)).isEqualTo(err(Errno.EFAULT));
        assertThat(compatAreas()).hasSize(1);
    }

    @Test
    void mapDmaAcceptsLargerArgszAndAnyProt() {
        compatMockDomain(VFIO_TYPE1v2_IOMMU);
        assertThat(mapDma(4096, 0, buffer, MOCK_APERTURE_START, PAGE_SIZE)).isZero();
        assertThat(mapDma(MAP.size(), VFIO_DMA_MAP_FLAG_READ, buffer, MOCK_APERTURE_START + PAGE_SIZE, PAGE_SIZE))
                .isZero();
        assertThat(mapDma(MAP.size(), VFIO_DMA_MAP_FLAG_WRITE, buffer, MOCK_APERTURE_START + 2 * PAGE_SIZE,
                PAGE_SIZE)).isZero();
        assertThat(compatAreas()).hasSize(3);
    }

    @Test
    void unmapAllRequiresZeroIovaAndSize() {
        compatMockDomain(VFIO_TYPE1v2_IOMMU);
        assertThat(mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE)).isZero();
        assertThat(unmapDma(UNMAP.size(), VFIO_DMA_UNMAP_FLAG_ALL, MOCK_APERTURE_START, 0))
                .isEqualTo(err(Errno.EINVAL));
        assertThat(unmappedSize()).as("not written back").isZero();
        assertThat(unmapDma(UNMAP.size(), VFIO_DMA_UNMAP_FLAG_ALL, 0, BUFFER_SIZE)).isEqualTo(err(Errno.EINVAL));
        assertThat(unmappedSize()).as("not written back").isEqualTo(BUFFER_SIZE);
        assertThat(unmapDma(UNMAP.size(), VFIO_DMA_UNMAP_FLAG_ALL, 0, 0)).isZero();
        assertThat(unmappedSize()).isEqualTo(BUFFER_SIZE);
        assertThat(unmapDma(UNMAP.size(), VFIO_DMA_UNMAP_FLAG_ALL, 0, 0)).isZero();
        assertThat(unmappedSize()).isZero();
    }

    @Test
    void unmapWritesBackOnlyMinszAndKeepsTheOtherFields() {
        compatMockDomain(VFIO_TYPE1v2_IOMMU);
        assertThat(mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE)).isZero();
        fill(arg, ARG_LEN, 0xAA);
        assertThat(unmapDma(64, 0, MOCK_APERTURE_START, 2 * BUFFER_SIZE)).isZero();
        ByteBuffer r = get(UNMAP.size());
        assertThat(r.getInt(0)).isEqualTo(64);
        assertThat(r.getInt(4)).isZero();
        assertThat(r.getLong(8)).isEqualTo(MOCK_APERTURE_START);
        assertThat(r.getLong(16)).isEqualTo(BUFFER_SIZE);
        assertThat(isFilled(arg + UNMAP.size(), ARG_LEN - UNMAP.size(), 0xAA)).isTrue();
    }

    @Test
    void unmapErrorsStillReportWhatWasUnmapped() {
        compatMockDomain(VFIO_TYPE1v2_IOMMU);
        // Zero size: EINVAL, size 0 written back.
        assertThat(unmapDma(MOCK_APERTURE_START, 0)).isEqualTo(err(Errno.EINVAL));
        assertThat(unmappedSize()).isZero();
        // Wrapping range: EOVERFLOW, size 0 written back.
        assertThat(unmapDma(-PAGE_SIZE, 2 * PAGE_SIZE)).isEqualTo(err(Errno.EOVERFLOW));
        assertThat(unmappedSize()).isZero();
        // The first mapping goes, then the second sticks out: ENOENT with the first one's size.
        assertThat(mapDma(buffer, MOCK_APERTURE_START, PAGE_SIZE)).isZero();
        assertThat(mapDma(buffer + PAGE_SIZE, MOCK_APERTURE_START + PAGE_SIZE, 2 * PAGE_SIZE)).isZero();
        assertThat(unmapDma(MOCK_APERTURE_START, 2 * PAGE_SIZE)).isEqualTo(err(Errno.ENOENT));
        assertThat(unmappedSize()).isEqualTo(PAGE_SIZE);
        assertThat(compatAreas()).hasSize(1);
        // Unmapping nothing is success with size 0.
        assertThat(unmapDma(MOCK_APERTURE_START, PAGE_SIZE)).isZero();
        assertThat(unmappedSize()).isZero();
    }

    @Test
    void typeOneCutsAtTheRangeEnds() {
        compatMockDomain(VFIO_TYPE1_IOMMU);
        assertThat(mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE)).isZero();
        assertThat(unmapDma(MOCK_APERTURE_START + 2 * PAGE_SIZE, 3 * PAGE_SIZE)).isZero();
        assertThat(unmappedSize()).isEqualTo(3 * PAGE_SIZE);
        assertThat(compatAreas()).extracting(a -> a[0], a -> a[1]).containsExactly(
                org.assertj.core.groups.Tuple.tuple(MOCK_APERTURE_START, MOCK_APERTURE_START + 2 * PAGE_SIZE - 1),
                org.assertj.core.groups.Tuple.tuple(MOCK_APERTURE_START + 5 * PAGE_SIZE,
                        MOCK_APERTURE_START + BUFFER_SIZE - 1));
        // A cut that is not page aligned is EINVAL and nothing is written back.
        fill(arg, UNMAP.size(), 0);
        assertThat(unmapDma(MOCK_APERTURE_START + 0x800, PAGE_SIZE)).isEqualTo(err(Errno.EINVAL));
        assertThat(unmappedSize()).isEqualTo(PAGE_SIZE);
        assertThat(compatAreas()).hasSize(2);
    }

    @Test
    void typeOneUnmapFromIovaZero() {
        int ioasId = ioasAlloc();
        assertThat(vfioIoas(IOMMU_VFIO_IOAS_SET, ioasId)).isZero();
        assertThat(ioctl(Ioctl.VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)).isZero();
        assertThat(mapDma(buffer, 0, BUFFER_SIZE)).isZero();
        assertThat(unmapDma(0, PAGE_SIZE)).isZero();
        assertThat(unmappedSize()).isEqualTo(PAGE_SIZE);
        assertThat(compatAreas()).hasSize(1);
        assertThat(compatAreas().getFirst()[0]).isEqualTo(PAGE_SIZE);
    }

    // ---- FIXTURE(vfio_compat_mock_domain), variants Ver1v2 and Ver1v0 ----

    @Nested
    class MockDomain {
        @ParameterizedTest
        @ValueSource(ints = {VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU})
        void simpleClose(int version) {
            compatMockDomain(version);
            assertThat(p.close(fd)).isZero();
        }

        @ParameterizedTest
        @ValueSource(ints = {VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU})
        void optionHugePages(int version) {
            int ioasId = compatMockDomain(version);
            UapiStruct s = IommufdStructs.IOMMU_OPTION;
            ByteBuffer b = le(s.size());
            b.putInt(s.offset("size"), s.size());
            b.putInt(s.offset("option_id"), UapiConstants.IOMMU_OPTION_HUGE_PAGES);
            b.putShort(s.offset("op"), (short) UapiConstants.IOMMU_OPTION_OP_GET);
            b.putLong(s.offset("val64"), 3);
            b.putInt(s.offset("object_id"), ioasId);
            put(b);
            assertThat(ioctl(Ioctl.IOMMU_OPTION, arg)).isZero();
            assertThat(get(s.size()).getLong(s.offset("val64"))).isEqualTo(version == VFIO_TYPE1_IOMMU ? 0 : 1);
        }

        void ioctlCheckBuf(Ioctl op) {
            int cmdLen = p.readInt(arg);
            fill(arg + cmdLen, ARG_LEN - cmdLen, 0xAA);
            assertThat(ioctl(op, arg)).isZero();
            assertThat(isFilled(arg + cmdLen, ARG_LEN - cmdLen, 0xAA)).isTrue();
        }

        void checkCapChain(ByteBuffer info) {
            int argsz = info.getInt(0);
            int capOffset = info.getInt(16);
            assertThat(argsz).isGreaterThanOrEqualTo(capOffset + 8);
            int cap = capOffset;
            while (true) {
                int next = info.getInt(cap + 4);
                int capSize = next != 0 ? next - cap : argsz - cap;
                switch (info.getShort(cap)) {
                    case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE -> {
                        assertThat(info.getShort(cap + 2)).isEqualTo((short) 1);
                        assertThat(info.getInt(cap + 8)).isEqualTo(1);
                        assertThat(info.getLong(cap + 16)).isEqualTo(MOCK_APERTURE_START);
                        assertThat(info.getLong(cap + 24)).isEqualTo(MOCK_APERTURE_LAST);
                    }
                    case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL -> {
                        assertThat(info.getShort(cap + 2)).isEqualTo((short) 1);
                        // 12 bytes padded to 16 before the next cap. (The selftest asserts sizeof,
                        // 12, but its loop stops below the full argsz and never walks a chain.)
                        assertThat(capSize).isEqualTo(next != 0 ? 16 : 12);
                    }
                    default -> throw new AssertionError("unknown cap id " + info.getShort(cap));
                }
                if (next == 0) {
                    break;
                }
                assertThat(argsz).isGreaterThanOrEqualTo(next + 8);
                assertThat(next).isGreaterThanOrEqualTo(cap);
                cap = next;
            }
        }

        @ParameterizedTest
        @ValueSource(ints = {VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU})
        void getInfo(int version) {
            compatMockDomain(version);
            // Pre-cap ABI
            ByteBuffer b = le(INFO.size());
            b.putInt(INFO.offset("argsz"), INFO.offset("cap_offset"));
            put(b);
            ioctlCheckBuf(Ioctl.VFIO_IOMMU_GET_INFO);
            ByteBuffer r = get(INFO.size());
            assertThat(r.getLong(INFO.offset("iova_pgsizes"))).isNotZero();
            assertThat(r.getInt(INFO.offset("flags"))).isEqualTo(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);

            // Read the cap chain size
            b = le(INFO.size());
            b.putInt(INFO.offset("argsz"), INFO.size());
            put(b);
            ioctlCheckBuf(Ioctl.VFIO_IOMMU_GET_INFO);
            r = get(INFO.size());
            assertThat(r.getLong(INFO.offset("iova_pgsizes"))).isNotZero();
            assertThat(r.getInt(INFO.offset("flags"))).isEqualTo(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
            assertThat(r.getInt(INFO.offset("cap_offset"))).isZero();
            int caplen = r.getInt(INFO.offset("argsz"));
            assertThat(caplen).isGreaterThan(INFO.size());

            // Read the caps, kernel should never create a corrupted caps
            int chains = 0;
            for (int i = INFO.size(); i < caplen + 8; i++) {
                b = le(INFO.size());
                b.putInt(INFO.offset("argsz"), i);
                put(b);
                ioctlCheckBuf(Ioctl.VFIO_IOMMU_GET_INFO);
                r = get(ARG_LEN);
                assertThat(r.getInt(INFO.offset("flags"))).isEqualTo(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
                assertThat(r.getInt(INFO.offset("argsz"))).isEqualTo(caplen);
                if (r.getInt(INFO.offset("cap_offset")) == 0) {
                    assertThat(i).isLessThan(caplen);
                    continue;
                }
                chains++;
                // argsz now reads caplen: check the chain against what was asked for.
                checkCapChain(r);
            }
            assertThat(chains).isEqualTo(8);
        }

        @ParameterizedTest
        @ValueSource(ints = {VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU})
        void map(int version) {
            compatMockDomain(version);
            // Simple map/unmap
            assertThat(mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE)).isZero();
            assertThat(unmapDma(MOCK_APERTURE_START, BUFFER_SIZE)).isZero();
            assertThat(unmappedSize()).isEqualTo(BUFFER_SIZE);
            // Unmap of empty is success
            assertThat(unmapDma(MOCK_APERTURE_START, BUFFER_SIZE)).isZero();

            // UNMAP_FLAG_ALL requires 0 iova/size
            assertThat(mapDma(buffer, MOCK_APERTURE_START, BUFFER_SIZE)).isZero();
            assertThat(unmapDma(UNMAP.size(), VFIO_DMA_UNMAP_FLAG_ALL, MOCK_APERTURE_START, BUFFER_SIZE))
                    .isEqualTo(err(Errno.EINVAL));
            assertThat(unmapDma(UNMAP.size(), VFIO_DMA_UNMAP_FLAG_ALL, 0, 0)).isZero();
            assertThat(unmappedSize()).isEqualTo(BUFFER_SIZE);

            // Small pages
            List<Long> pagesIova = new ArrayList<>();
            for (int i = 0; i != BUFFER_SIZE / PAGE_SIZE; i++) {
                long iova = MOCK_APERTURE_START + i * PAGE_SIZE;
                pagesIova.add(iova);
                assertThat(mapDma(buffer + i * PAGE_SIZE, iova, PAGE_SIZE)).isZero();
            }
            Collections.shuffle(pagesIova, new Random(version));
            for (long iova : pagesIova) {
                assertThat(unmapDma(iova, PAGE_SIZE)).isZero();
                assertThat(unmappedSize()).isEqualTo(PAGE_SIZE);
            }
            assertThat(compatAreas()).isEmpty();
        }

        @ParameterizedTest
        @ValueSource(ints = {VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU})
        void hugeMap(int version) {
            compatMockDomain(version);
            long bufSize = HUGEPAGE_SIZE * 2;
            long buf = p.mmap(bufSize, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
            assertThat(mapDma(buf, MOCK_APERTURE_START, bufSize)).isZero();

            long piece = bufSize / 16;
            List<Long> pagesIova = new ArrayList<>();
            for (int i = 0; i != 16; i++) {
                pagesIova.add(MOCK_APERTURE_START + i * piece);
            }
            Collections.shuffle(pagesIova, new Random(version));

            // type1 mode can cut up larger mappings, type1v2 always fails
            for (long iova : pagesIova) {
                if (version == VFIO_TYPE1_IOMMU) {
                    assertThat(unmapDma(iova, piece)).isZero();
                    assertThat(unmappedSize()).isEqualTo(piece);
                } else {
                    assertThat(unmapDma(iova, piece)).isEqualTo(err(Errno.ENOENT));
                    assertThat(unmappedSize()).isZero();
                }
            }
            assertThat(compatAreas()).hasSize(version == VFIO_TYPE1_IOMMU ? 0 : 1);
        }
    }
}
