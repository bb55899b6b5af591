package io.uiommu.vfio;

import io.uiommu.device.DmaEngine;
import io.uiommu.device.DmaEngineRegs;
import io.uiommu.hw.mock.MockIommuDriver;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.platform.Platform;
import io.uiommu.proc.EventFdFile;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IoctlCall;
import io.uiommu.uapi.UapiConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static io.uiommu.device.PciRegs.*;
import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The VFIO device cdev: every ioctl's success and errno as drivers/vfio gives them, region access, interrupts, release. */
class VfioDeviceFileTest {
    static final long IOVA = MockIommuDriver.MOCK_APERTURE_START;
    static final long CONFIG = (long) VFIO_PCI_CONFIG_REGION_INDEX << 40;
    static final int O_RDWR = 2;

    final DevIommu machine = new DevIommu(Platform.mock());
    final SimulatedProcess p = new SimulatedProcess(machine.physical());
    final long buf = p.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
    final long mem = p.mmap(2 * 4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
    int iommufd;
    int vfd;

    @BeforeEach
    void open() {
        iommufd = machine.open(p);
        vfd = machine.openVfioDevice(p, "/dev/vfio/devices/vfio0", O_RDWR);
    }

    Errno bind(int fd) {
        return IoctlCall.of(Ioctl.VFIO_DEVICE_BIND_IOMMUFD).set("iommufd", iommufd).invoke(p, fd);
    }

    int devid(int fd) {
        return (int) IoctlCall.of(Ioctl.VFIO_DEVICE_BIND_IOMMUFD).set("iommufd", iommufd).call(p, fd).get("out_devid");
    }

    int ioas() {
        return (int) IoctlCall.of(Ioctl.IOMMU_IOAS_ALLOC).call(p, iommufd).get("out_ioas_id");
    }

    void map(int ioas, long va, long iova, long length) {
        IoctlCall.of(Ioctl.IOMMU_IOAS_MAP).set("flags", IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE
                | IOMMU_IOAS_MAP_WRITEABLE).set("ioas_id", ioas).set("user_va", va).set("length", length)
                .set("iova", iova).call(p, iommufd);
    }

    /** pread of up to 8 bytes, little-endian; or the negative errno. */
    long pread(long pos, int count) {
        long rc = p.pread(vfd, buf, count, pos);
        if (rc < 0) {
            return rc;
        }
        assertThat(rc).isEqualTo(count);
        byte[] b = new byte[8];
        p.read(buf, b, 0, count);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    long pwrite(long pos, int count, long value) {
        p.write(buf, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value).array(), 0, 8);
        return p.pwrite(vfd, buf, count, pos);
    }

    Errno errno(long rc) {
        return rc < 0 ? Errno.of((int) -rc) : null;
    }

    /** An ioctl whose argument is raw bytes (argsz and all) at buf. */
    Errno raw(Ioctl op, int... words) {
        ByteBuffer b = ByteBuffer.allocate(4 * words.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int w : words) {
            b.putInt(w);
        }
        p.write(buf, b.array(), 0, b.capacity());
        return errno(p.ioctl(vfd, op.code(), buf));
    }

    // ---- open ----

    @Test
    void openNamesTheDeviceByPlatformOrder() {
        assertThat(p.fds().get(vfd).name()).isEqualTo("/dev/vfio/devices/vfio0");
        assertThat(machine.vfioPath("dev1")).isEqualTo("/dev/vfio/devices/vfio1");
        assertThat(((VfioDeviceFile) p.fds().get(vfd)).engine()).isSameAs(machine.engine("dev0"));
        for (String bad : new String[] {"/dev/vfio/devices/vfio2", "/dev/vfio/devices/vfio", "/dev/vfio/devices/vfio01",
                "/dev/vfio/devices/vfiox", "/dev/iommu", "/dev/vfio/devices/vfio99999999999"}) {
            assertThat(catchThrowableOfType(IommufdException.class, () -> machine.openVfioDevice(p, bad, O_RDWR)).errno())
                    .as(bad).isEqualTo(Errno.ENOENT);
        }
        assertThat(catchThrowableOfType(IommufdException.class,
                () -> new DevIommu().openVfioDevice(p, "/dev/vfio/devices/vfio0", O_RDWR)).errno()).isEqualTo(Errno.ENOENT);
    }

    // ---- before bind ----

    @Test
    void everythingButBindIsEinvalBeforeBind() {
        for (Ioctl op : new Ioctl[] {Ioctl.VFIO_DEVICE_GET_INFO, Ioctl.VFIO_DEVICE_GET_REGION_INFO,
                Ioctl.VFIO_DEVICE_GET_IRQ_INFO, Ioctl.VFIO_DEVICE_SET_IRQS, Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT,
                Ioctl.VFIO_DEVICE_DETACH_IOMMUFD_PT}) {
            assertThat(IoctlCall.of(op).invoke(p, vfd)).as(op.name()).isEqualTo(Errno.EINVAL);
        }
        assertThat(errno(p.ioctl(vfd, Ioctl.VFIO_DEVICE_RESET.code(), 0))).isEqualTo(Errno.EINVAL);
        assertThat(errno(p.ioctl(vfd, 0x3bff, 0))).isEqualTo(Errno.EINVAL);
        assertThat(errno(p.pread(vfd, buf, 4, CONFIG))).isEqualTo(Errno.EINVAL);
        assertThat(errno(p.pwrite(vfd, buf, 4, CONFIG))).isEqualTo(Errno.EINVAL);
    }

    // ---- BIND ----

    @Test
    void bindGivesADevidThatIommufdKnows() {
        int id = devid(vfd);
        assertThat(id).isPositive();
        assertThat(DevIommu.contextOf(p, iommufd).objects().find(id)).isNotNull();
        assertThat(((VfioDeviceFile) p.fds().get(vfd)).boundDevice().id()).isEqualTo(id);
        // The bind holds the device: DESTROY of its ID is EBUSY.
        assertThat(IoctlCall.of(Ioctl.IOMMU_DESTROY).set("id", id).invoke(p, iommufd)).isEqualTo(Errno.EBUSY);
        // Binding enabled memory decode.
        assertThat(machine.engine("dev0").configRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY).isNotZero();
    }

    @Test
    void bindErrnos() {
        int minsz = 16;
        assertThat(raw(Ioctl.VFIO_DEVICE_BIND_IOMMUFD, minsz - 1, 0, iommufd, 0)).isEqualTo(Errno.EINVAL);
        assertThat(raw(Ioctl.VFIO_DEVICE_BIND_IOMMUFD, minsz, 2, iommufd, 0)).isEqualTo(Errno.EINVAL); // unknown flag
        assertThat(raw(Ioctl.VFIO_DEVICE_BIND_IOMMUFD, minsz, 0, -1, 0)).isEqualTo(Errno.EINVAL);
        assertThat(raw(Ioctl.VFIO_DEVICE_BIND_IOMMUFD, minsz, 0, 77, 0)).isEqualTo(Errno.EBADF);
        assertThat(raw(Ioctl.VFIO_DEVICE_BIND_IOMMUFD, minsz, 0, vfd, 0)).isEqualTo(Errno.EBADFD);
        // Bytes past the 6.17 struct must be zero.
        assertThat(raw(Ioctl.VFIO_DEVICE_BIND_IOMMUFD, 28, 0, iommufd, 0, 0, 0, 1)).isEqualTo(Errno.E2BIG);
        // A token is read (EFAULT for a bad pointer), then refused: the engine is no SR-IOV function.
        assertThat(raw(Ioctl.VFIO_DEVICE_BIND_IOMMUFD, 24, VFIO_DEVICE_BIND_FLAG_TOKEN, iommufd, 0, 0, 0))
                .isEqualTo(Errno.EFAULT);
        assertThat(raw(Ioctl.VFIO_DEVICE_BIND_IOMMUFD, 24, VFIO_DEVICE_BIND_FLAG_TOKEN, iommufd, 0, (int) buf,
                (int) (buf >>> 32))).isEqualTo(Errno.EINVAL);
        assertThat(errno(p.ioctl(vfd, Ioctl.VFIO_DEVICE_BIND_IOMMUFD.code(), 0))).isEqualTo(Errno.EFAULT);
        // The 6.12 size (16 bytes) binds.
        assertThat(raw(Ioctl.VFIO_DEVICE_BIND_IOMMUFD, minsz, 0, iommufd, 0)).isNull();
        // Bound once per file; a second file of the same device is EINVAL (one cdev open at a time).
        assertThat(bind(vfd)).isEqualTo(Errno.EINVAL);
        int second = machine.openVfioDevice(p, "/dev/vfio/devices/vfio0", O_RDWR);
        assertThat(bind(second)).isEqualTo(Errno.EINVAL);
        assertThat(p.close(vfd)).isZero();
        assertThat(bind(second)).isNull();
    }

    @Test
    void bindToADeviceOwnedElsewhereIsEbusy() {
        int other = machine.open(p);
        io.uiommu.iommufd.Device.bindPlatform(DevIommu.contextOf(p, other), "dev0");
        assertThat(bind(vfd)).isEqualTo(Errno.EBUSY);
        // Nothing is left half-bound: still EINVAL for other ioctls.
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_GET_INFO).invoke(p, vfd)).isEqualTo(Errno.EINVAL);
    }

    @Test
    void closeUnbindsAndTheDeviceCanBeBoundAgain() {
        int id = devid(vfd);
        int ioas = ioas();
        IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("pt_id", ioas).call(p, vfd);
        assertThat(p.close(vfd)).isZero();
        assertThat(DevIommu.contextOf(p, iommufd).objects().find(id)).isNull();
        assertThat(machine.iommu().device("dev0").owned()).isFalse();
        int again = machine.openVfioDevice(p, "/dev/vfio/devices/vfio0", O_RDWR);
        assertThat(bind(again)).isNull();
    }

    @Test
    void theBindKeepsTheIommufdAliveAfterItsFdCloses() {
        int id = devid(vfd);
        var ctx = DevIommu.contextOf(p, iommufd);
        assertThat(p.close(iommufd)).isZero();
        assertThat(ctx.objects().find(id)).isNotNull();
        assertThat(p.close(vfd)).isZero();
        assertThat(ctx.objects().isEmpty()).isTrue();
    }

    // ---- ATTACH / DETACH ----

    @Test
    void attachReplaceDetachTheRid() {
        devid(vfd);
        int a = ioas();
        int b = ioas();
        long hwptA = IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("pt_id", a).call(p, vfd).get("pt_id");
        assertThat(hwptA).isNotEqualTo(a); // the auto domain's HWPT
        long hwptB = IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("pt_id", b).call(p, vfd).get("pt_id");
        assertThat(hwptB).isNotEqualTo(hwptA);
        VfioDeviceFile f = (VfioDeviceFile) p.fds().get(vfd);
        assertThat(f.boundDevice().hwpt().id()).isEqualTo((int) hwptB);
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_DETACH_IOMMUFD_PT).invoke(p, vfd)).isNull();
        assertThat(f.boundDevice().hwpt()).isNull();
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_DETACH_IOMMUFD_PT).invoke(p, vfd)).isNull(); // nothing attached
    }

    @Test
    void attachAndDetachErrnos() {
        devid(vfd);
        int a = ioas();
        assertThat(raw(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, 11, 0, a)).isEqualTo(Errno.EINVAL);
        assertThat(raw(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, 12, 2, a)).isEqualTo(Errno.EINVAL);
        assertThat(raw(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, 12, VFIO_DEVICE_ATTACH_PASID, a)).isEqualTo(Errno.EINVAL);
        assertThat(raw(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, 12, 0, 999)).isEqualTo(Errno.ENOENT);
        assertThat(raw(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, 12, 0, devid(machine.openVfioDevice(p,
                "/dev/vfio/devices/vfio1", O_RDWR)))).isEqualTo(Errno.EINVAL); // a device is not a page table
        assertThat(errno(p.ioctl(vfd, Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT.code(), 8))).isEqualTo(Errno.EFAULT);
        assertThat(raw(Ioctl.VFIO_DEVICE_DETACH_IOMMUFD_PT, 7, 0)).isEqualTo(Errno.EINVAL);
        assertThat(raw(Ioctl.VFIO_DEVICE_DETACH_IOMMUFD_PT, 8, 4)).isEqualTo(Errno.EINVAL);
        assertThat(raw(Ioctl.VFIO_DEVICE_DETACH_IOMMUFD_PT, 8, VFIO_DEVICE_DETACH_PASID)).isEqualTo(Errno.EINVAL);
    }

    @Test
    void pasidAttachThroughVfio() {
        devid(vfd);
        int a = ioas();
        int b = ioas();
        long h = IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("flags", VFIO_DEVICE_ATTACH_PASID)
                .set("pt_id", a).set("pasid", 5).call(p, vfd).get("pt_id");
        VfioDeviceFile f = (VfioDeviceFile) p.fds().get(vfd);
        assertThat(f.boundDevice().pasidHwpt(5).id()).isEqualTo((int) h);
        assertThat(f.boundDevice().hwpt()).isNull();
        long h2 = IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("flags", VFIO_DEVICE_ATTACH_PASID)
                .set("pt_id", b).set("pasid", 5).call(p, vfd).get("pt_id"); // replace
        assertThat(f.boundDevice().pasidHwpt(5).id()).isEqualTo((int) h2).isNotEqualTo((int) h);
        assertThat(machine.iommu().device("dev0").attachedPasids()).containsExactly(5);
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_DETACH_IOMMUFD_PT).set("flags", VFIO_DEVICE_DETACH_PASID)
                .set("pasid", 6).invoke(p, vfd)).isNull(); // not attached: quiet
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_DETACH_IOMMUFD_PT).set("flags", VFIO_DEVICE_DETACH_PASID)
                .set("pasid", 5).invoke(p, vfd)).isNull();
        assertThat(machine.iommu().device("dev0").attachedPasids()).isEmpty();
        // dev1 has no PASID capability.
        int v1 = machine.openVfioDevice(p, "/dev/vfio/devices/vfio1", O_RDWR);
        devid(v1);
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("flags", VFIO_DEVICE_ATTACH_PASID)
                .set("pt_id", a).set("pasid", 5).invoke(p, v1)).isEqualTo(Errno.EOPNOTSUPP);
    }

    @Test
    void closeDetachesPasidsToo() {
        devid(vfd);
        int a = ioas();
        IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("flags", VFIO_DEVICE_ATTACH_PASID)
                .set("pt_id", a).set("pasid", 9).call(p, vfd);
        p.close(vfd);
        assertThat(machine.iommu().device("dev0").attachedPasids()).isEmpty();
    }

    // ---- INFO ----

    @Test
    void getInfo() {
        devid(vfd);
        IoctlCall c = IoctlCall.of(Ioctl.VFIO_DEVICE_GET_INFO).set("cap_offset", 77).set("pad", 5).call(p, vfd);
        assertThat(c.get("flags")).isEqualTo(VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
        assertThat(c.get("num_regions")).isEqualTo(VFIO_PCI_NUM_REGIONS);
        assertThat(c.get("num_irqs")).isEqualTo(VFIO_PCI_NUM_IRQS);
        assertThat(c.get("cap_offset")).isZero();
        assertThat(c.get("pad")).isZero();
        assertThat(c.get("argsz")).isEqualTo(24);
        // argsz 16: the minimum, only 16 bytes written back.
        assertThat(raw(Ioctl.VFIO_DEVICE_GET_INFO, 16, 0, 0, 0, 0x77, 0x77)).isNull();
        byte[] b = new byte[24];
        p.read(buf, b, 0, 24);
        ByteBuffer r = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(r.getInt(12)).isEqualTo(VFIO_PCI_NUM_IRQS);
        assertThat(r.getInt(16)).isEqualTo(0x77);
        assertThat(raw(Ioctl.VFIO_DEVICE_GET_INFO, 15, 0, 0, 0)).isEqualTo(Errno.EINVAL);
        assertThat(errno(p.ioctl(vfd, Ioctl.VFIO_DEVICE_GET_INFO.code(), 0))).isEqualTo(Errno.EFAULT);
    }

    @Test
    void regionInfoForEveryIndex() {
        devid(vfd);
        IoctlCall cfg = IoctlCall.of(Ioctl.VFIO_DEVICE_GET_REGION_INFO).set("index", VFIO_PCI_CONFIG_REGION_INDEX).call(p, vfd);
        assertThat(cfg.get("size")).isEqualTo(4096);
        assertThat(cfg.get("offset")).isEqualTo(CONFIG);
        assertThat(cfg.get("flags")).isEqualTo(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
        IoctlCall bar0 = IoctlCall.of(Ioctl.VFIO_DEVICE_GET_REGION_INFO).set("index", 0).call(p, vfd);
        assertThat(bar0.get("size")).isEqualTo(DmaEngineRegs.BAR0_SIZE);
        assertThat(bar0.get("offset")).isZero();
        assertThat(bar0.get("flags")).isEqualTo(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE
                | VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS); // the sparse mmap area (VfioMmapTest)
        for (int i : new int[] {1, 5, VFIO_PCI_ROM_REGION_INDEX}) {
            IoctlCall c = IoctlCall.of(Ioctl.VFIO_DEVICE_GET_REGION_INFO).set("index", i).call(p, vfd);
            assertThat(c.get("size")).isZero();
            assertThat(c.get("flags")).isZero();
            assertThat(c.get("offset")).isEqualTo((long) i << 40);
        }
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_GET_REGION_INFO).set("index", VFIO_PCI_VGA_REGION_INDEX).invoke(p, vfd))
                .isEqualTo(Errno.EINVAL);
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_GET_REGION_INFO).set("index", 9).invoke(p, vfd)).isEqualTo(Errno.EINVAL);
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_GET_REGION_INFO).set("index", -1).invoke(p, vfd)).isEqualTo(Errno.EINVAL);
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_GET_REGION_INFO).set("argsz", 31).invoke(p, vfd)).isEqualTo(Errno.EINVAL);
    }

    @Test
    void irqInfoForEveryIndex() {
        devid(vfd);
        int[][] expect = {
                {VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED, 0},
                {VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 1},
                {VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 0},
                {VFIO_PCI_ERR_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 1},
                {VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 1}};
        for (int[] e : expect) {
            IoctlCall c = IoctlCall.of(Ioctl.VFIO_DEVICE_GET_IRQ_INFO).set("index", e[0]).call(p, vfd);
            assertThat(c.get("flags")).as("index %d", e[0]).isEqualTo(e[1]);
            assertThat(c.get("count")).as("index %d", e[0]).isEqualTo(e[2]);
        }
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_GET_IRQ_INFO).set("index", 5).invoke(p, vfd)).isEqualTo(Errno.EINVAL);
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_GET_IRQ_INFO).set("argsz", 15).invoke(p, vfd)).isEqualTo(Errno.EINVAL);
    }

    // ---- SET_IRQS and interrupts ----

    int efd() {
        return p.eventfd(0, EventFdFile.EFD_NONBLOCK);
    }

    long counter(int efd) {
        return ((EventFdFile) p.fds().get(efd)).count();
    }

    Errno setIrqs(int flags, int index, int start, int count, int... data) {
        int[] words = new int[5 + data.length];
        words[0] = 20 + 4 * data.length;
        words[1] = flags;
        words[2] = index;
        words[3] = start;
        words[4] = count;
        System.arraycopy(data, 0, words, 5, data.length);
        return raw(Ioctl.VFIO_DEVICE_SET_IRQS, words);
    }

    static final int TRIGGER_EVENTFD = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    static final int TRIGGER_NONE = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;

    @Test
    void msiEventfdHearsTheEnginesInterruptAndLoopback() {
        devid(vfd);
        int a = ioas();
        map(a, mem, IOVA, 4096);
        IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("pt_id", a).call(p, vfd);
        int efd = efd();
        assertThat(setIrqs(TRIGGER_EVENTFD, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, efd)).isNull();
        DmaEngine e = machine.engine("dev0");
        int msi = e.findCapability(PCI_CAP_ID_MSI);
        assertThat(e.configRead(msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE).isNotZero();
        // Loopback.
        assertThat(setIrqs(TRIGGER_NONE, VFIO_PCI_MSI_IRQ_INDEX, 0, 1)).isNull();
        assertThat(counter(efd)).isEqualTo(1);
        assertThat(setIrqs(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, 0))
                .isNull();
        assertThat(counter(efd)).isEqualTo(1);
        assertThat(setIrqs(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, 1))
                .isNull();
        assertThat(counter(efd)).isEqualTo(2);
        // A DMA programmed through BAR0 with pwrite: bus master on through config, then the doorbell.
        assertThat(pwrite(CONFIG + PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)).isEqualTo(2);
        assertThat(pwrite(DmaEngineRegs.DATA_WINDOW, 8, 0x0102030405060708L)).isEqualTo(8);
        pwrite(DmaEngineRegs.REG_DST_IOVA, 8, IOVA + 16);
        pwrite(DmaEngineRegs.REG_LENGTH, 4, 8);
        pwrite(DmaEngineRegs.REG_OP, 4, DmaEngineRegs.OP_FROM_DEVICE);
        pwrite(DmaEngineRegs.REG_DOORBELL, 4, 1);
        assertThat(pread(DmaEngineRegs.REG_STATUS, 4)).isEqualTo(DmaEngineRegs.STATUS_DONE);
        assertThat(counter(efd)).isEqualTo(3);
        byte[] got = new byte[8];
        p.read(mem + 16, got, 0, 8);
        assertThat(got).containsExactly(8, 7, 6, 5, 4, 3, 2, 1);
        // -1 unassigns: the next interrupt reaches nobody; count 0 with DATA_NONE disables.
        assertThat(setIrqs(TRIGGER_EVENTFD, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, -1)).isNull();
        pwrite(DmaEngineRegs.REG_DOORBELL, 4, 1);
        assertThat(counter(efd)).isEqualTo(3);
        assertThat(setIrqs(TRIGGER_NONE, VFIO_PCI_MSI_IRQ_INDEX, 0, 0)).isNull();
        assertThat(e.configRead(msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE).isZero();
        assertThat(setIrqs(TRIGGER_NONE, VFIO_PCI_MSI_IRQ_INDEX, 0, 0)).isEqualTo(Errno.EINVAL); // not enabled
    }

    @Test
    void setIrqsErrnos() {
        devid(vfd);
        int efd = efd();
        assertThat(raw(Ioctl.VFIO_DEVICE_SET_IRQS, 19, TRIGGER_NONE, 1, 0, 0)).isEqualTo(Errno.EINVAL); // argsz
        assertThat(setIrqs(TRIGGER_NONE, 5, 0, 0)).isEqualTo(Errno.EINVAL); // index
        assertThat(setIrqs(TRIGGER_NONE | 0x40, 1, 0, 1)).isEqualTo(Errno.EINVAL); // unknown flag
        assertThat(setIrqs(TRIGGER_NONE, 1, 1, 0)).isEqualTo(Errno.EINVAL); // start past the vectors
        assertThat(setIrqs(TRIGGER_NONE, 1, 0, 2)).isEqualTo(Errno.EINVAL); // count past them
        assertThat(setIrqs(TRIGGER_NONE, 1, 1, -1)).isEqualTo(Errno.EINVAL); // start + count wraps
        assertThat(setIrqs(TRIGGER_EVENTFD, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, efd)).isEqualTo(Errno.EINVAL); // no INTx
        assertThat(setIrqs(TRIGGER_EVENTFD, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, efd)).isEqualTo(Errno.EINVAL); // no MSI-X
        assertThat(setIrqs(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, 1, 0, 1))
                .isEqualTo(Errno.EINVAL); // two data types
        assertThat(raw(Ioctl.VFIO_DEVICE_SET_IRQS, 20, TRIGGER_EVENTFD, 1, 0, 1)).isEqualTo(Errno.EINVAL); // no data
        assertThat(setIrqs(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, 1, 0, 1)).isEqualTo(Errno.ENOTTY);
        assertThat(setIrqs(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, 1, 0, 1)).isEqualTo(Errno.ENOTTY);
        assertThat(setIrqs(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_ACTION_MASK, 1, 0, 1))
                .isEqualTo(Errno.ENOTTY);
        assertThat(setIrqs(VFIO_IRQ_SET_DATA_NONE, 1, 0, 1)).isEqualTo(Errno.ENOTTY); // no action
        assertThat(setIrqs(TRIGGER_EVENTFD, 1, 0, 1, 55)).isEqualTo(Errno.EBADF);
        assertThat(setIrqs(TRIGGER_EVENTFD, 1, 0, 1, iommufd)).isEqualTo(Errno.EINVAL); // not an eventfd
        // A failed enable leaves MSI off.
        DmaEngine e = machine.engine("dev0");
        assertThat(e.configRead(e.findCapability(PCI_CAP_ID_MSI) + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE).isZero();
        assertThat(setIrqs(TRIGGER_NONE, 1, 0, 1)).isEqualTo(Errno.EINVAL); // loopback needs MSI on
        assertThat(errno(p.ioctl(vfd, Ioctl.VFIO_DEVICE_SET_IRQS.code(), 0))).isEqualTo(Errno.EFAULT);
    }

    @Test
    void errorAndRequestEventfds() {
        devid(vfd);
        int efd = efd();
        for (int index : new int[] {VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX}) {
            assertThat(setIrqs(TRIGGER_NONE, index, 0, 1)).isEqualTo(Errno.EINVAL); // nothing to signal yet
            assertThat(setIrqs(TRIGGER_EVENTFD, index, 0, 1, efd)).isNull();
            assertThat(setIrqs(TRIGGER_NONE, index, 0, 1)).isNull();
            assertThat(setIrqs(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 1, 1)).isNull();
            assertThat(setIrqs(TRIGGER_EVENTFD, index, 0, 0)).isEqualTo(Errno.EINVAL); // EVENTFD needs a count
            assertThat(setIrqs(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, index, 0, 1)).isEqualTo(Errno.ENOTTY);
            assertThat(setIrqs(TRIGGER_EVENTFD, index, 0, 1, -1)).isNull(); // unassigned
            assertThat(setIrqs(TRIGGER_NONE, index, 0, 1)).isEqualTo(Errno.EINVAL);
        }
        assertThat(counter(efd)).isEqualTo(4);
    }

    // ---- RESET ----

    @Test
    void resetClearsTheEngineAndKeepsConfig() {
        devid(vfd);
        pwrite(CONFIG + PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        pwrite(DmaEngineRegs.REG_LENGTH, 4, 123);
        assertThat(p.ioctl(vfd, Ioctl.VFIO_DEVICE_RESET.code(), 0)).isZero();
        assertThat(pread(DmaEngineRegs.REG_LENGTH, 4)).isZero();
        assertThat(pread(CONFIG + PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        assertThat(errno(p.ioctl(vfd, 0x3b00 | 113, 0))).isEqualTo(Errno.ENOTTY); // VFIO_DEVICE_PCI_HOT_RESET: not implemented
    }

    // ---- regions ----

    @Test
    void configRegionIsVirtualisedAsVfioDoes() {
        devid(vfd);
        assertThat(pread(CONFIG, 4)).isEqualTo(0xdae0_1234L);
        // BAR sizing through the virtual BAR; the function's BAR keeps the host address.
        assertThat(pwrite(CONFIG + PCI_BASE_ADDRESS_0, 4, 0xffff_ffffL)).isEqualTo(4);
        assertThat(pread(CONFIG + PCI_BASE_ADDRESS_0, 4)).isEqualTo(0xffff_0000L);
        assertThat(machine.engine("dev0").configRead(PCI_BASE_ADDRESS_0, 4)).isEqualTo(0xfe00_0000);
        pwrite(CONFIG + PCI_BASE_ADDRESS_0 + 4, 4, 0xffff_ffffL);
        assertThat(pread(CONFIG + PCI_BASE_ADDRESS_0 + 4, 4)).isZero();
        pwrite(CONFIG + PCI_ROM_ADDRESS, 4, 0xffff_ffffL);
        assertThat(pread(CONFIG + PCI_ROM_ADDRESS, 4)).isZero();
        // Interrupt line is virtual and writable, the vendor ID not.
        pwrite(CONFIG + PCI_INTERRUPT_LINE, 1, 0x0b);
        assertThat(pread(CONFIG + PCI_INTERRUPT_LINE, 1)).isEqualTo(0x0b);
        pwrite(CONFIG, 2, 0);
        assertThat(pread(CONFIG, 2)).isEqualTo(0x1234);
        // PASID control is read-only through vfio: the host enabled it.
        DmaEngine e = machine.engine("dev0");
        int pasid = e.findExtendedCapability(PCI_EXT_CAP_ID_PASID);
        assertThat(pwrite(CONFIG + pasid + PCI_PASID_CTRL, 2, 0)).isEqualTo(2);
        assertThat(pread(CONFIG + pasid + PCI_PASID_CTRL, 2) & PCI_PASID_CTRL_ENABLE).isNotZero();
        // MSI enable written by the user stays off until SET_IRQS enables MSI.
        int msi = e.findCapability(PCI_CAP_ID_MSI);
        pwrite(CONFIG + msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
        assertThat(pread(CONFIG + msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE).isZero();
        pwrite(CONFIG + msi + PCI_MSI_ADDRESS_LO, 4, 0xfee0_1000L);
        assertThat(pread(CONFIG + msi + PCI_MSI_ADDRESS_LO, 4)).isEqualTo(0xfee0_1000L);
        assertThat(e.configRead(msi + PCI_MSI_ADDRESS_LO, 4)).isZero(); // virtual
        // Unaligned multi-byte reads are split and reassembled.
        assertThat(pread(CONFIG + 1, 3)).isEqualTo(0xdae012L);
        // Outside the 4 KiB: EFAULT, as vfio says it.
        assertThat(errno(p.pread(vfd, buf, 4, CONFIG + 4094))).isEqualTo(Errno.EFAULT);
        assertThat(errno(p.pread(vfd, buf, 4, CONFIG + 4096))).isEqualTo(Errno.EFAULT);
        assertThat(errno(p.pread(vfd, 0, 4, CONFIG))).isEqualTo(Errno.EFAULT);
    }

    @Test
    void flrThroughVfioResetsTheEngine() {
        devid(vfd);
        DmaEngine e = machine.engine("dev0");
        int exp = e.findCapability(PCI_CAP_ID_EXP);
        pwrite(DmaEngineRegs.REG_LENGTH, 4, 5);
        int devctl = (int) pread(CONFIG + exp + PCI_EXP_DEVCTL, 2);
        pwrite(CONFIG + exp + PCI_EXP_DEVCTL, 2, devctl | PCI_EXP_DEVCTL_BCR_FLR);
        assertThat(pread(CONFIG + exp + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR).isZero();
        assertThat(pread(DmaEngineRegs.REG_LENGTH, 4)).isZero();
    }

    @Test
    void barRegionAccessRules() {
        devid(vfd);
        assertThat(pread(DmaEngineRegs.REG_ID, 4)).isEqualTo(DmaEngineRegs.ID_VALUE);
        assertThat(pread(DmaEngineRegs.REG_ID, 8)).isEqualTo(0x0001_0000_444d_4145L);
        // A read running past the BAR is cut at its end.
        assertThat(p.pread(vfd, buf, 64, DmaEngineRegs.BAR0_SIZE - 8)).isEqualTo(8);
        assertThat(errno(p.pread(vfd, buf, 4, DmaEngineRegs.BAR0_SIZE))).isEqualTo(Errno.EINVAL);
        assertThat(errno(p.pread(vfd, buf, 4, 1L << 40))).isEqualTo(Errno.EINVAL); // BAR1: none
        assertThat(errno(p.pread(vfd, buf, 4, 6L << 40))).isEqualTo(Errno.EINVAL); // ROM
        assertThat(errno(p.pwrite(vfd, buf, 4, 6L << 40))).isEqualTo(Errno.EINVAL);
        assertThat(errno(p.pread(vfd, buf, 4, 8L << 40))).isEqualTo(Errno.EINVAL); // VGA
        assertThat(errno(p.pread(vfd, buf, 4, 9L << 40))).isEqualTo(Errno.EINVAL);
        assertThat(errno(p.pread(vfd, 0, 4, 0))).isEqualTo(Errno.EFAULT);
        // Memory decode off: EIO.
        pwrite(CONFIG + PCI_COMMAND, 2, 0);
        assertThat(errno(p.pread(vfd, buf, 4, 0))).isEqualTo(Errno.EIO);
        assertThat(errno(p.pwrite(vfd, buf, 4, 0))).isEqualTo(Errno.EIO);
    }
}
