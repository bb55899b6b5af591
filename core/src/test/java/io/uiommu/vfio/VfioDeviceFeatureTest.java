package io.uiommu.vfio;

import io.uiommu.iommufd.Errno;
import io.uiommu.platform.Platform;
import io.uiommu.proc.EventFdFile;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IoctlCall;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * VFIO_DEVICE_FEATURE on the dma-engine's cdev as on a plain vfio-pci function: vfio's generic
 * checks, ENOTTY for what vfio-pci has no ops for (migration, DMA logging, the VF token, anything
 * unknown), and the low-power features with and without a wakeup eventfd.
 */
class VfioDeviceFeatureTest {
    static final int GET = VFIO_DEVICE_FEATURE_GET;
    static final int SET = VFIO_DEVICE_FEATURE_SET;
    static final int PROBE = VFIO_DEVICE_FEATURE_PROBE;
    static final int ENTRY = VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
    static final int WAKEUP = VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
    static final int EXIT = VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;

    final DevIommu machine = new DevIommu(Platform.mock());
    final SimulatedProcess p = new SimulatedProcess(machine.physical());
    final long buf = p.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
    int iommufd;
    int vfd;

    @BeforeEach
    void open() {
        iommufd = machine.open(p);
        vfd = machine.openVfioDevice(p, "/dev/vfio/devices/vfio0", 2);
    }

    void bind() {
        IoctlCall.of(Ioctl.VFIO_DEVICE_BIND_IOMMUFD).set("iommufd", iommufd).call(p, vfd);
    }

    Errno errno(long rc) {
        return rc < 0 ? Errno.of((int) -rc) : null;
    }

    /** VFIO_DEVICE_FEATURE with {@code argsz}, {@code flags} and data words after the header. */
    Errno featureArgsz(int argsz, int flags, int... data) {
        ByteBuffer b = ByteBuffer.allocate(8 + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(argsz).putInt(flags);
        for (int w : data) {
            b.putInt(w);
        }
        p.write(buf, b.array(), 0, b.capacity());
        return errno(p.ioctl(vfd, Ioctl.VFIO_DEVICE_FEATURE.code(), buf));
    }

    /** With argsz covering exactly the data given. */
    Errno feature(int flags, int... data) {
        return featureArgsz(8 + 4 * data.length, flags, data);
    }

    int efd() {
        return p.eventfd(0, EventFdFile.EFD_NONBLOCK);
    }

    long counter(int efd) {
        return ((EventFdFile) p.fds().get(efd)).count();
    }

    /** Any ioctl that reaches the device: it resumes it from runtime suspend. */
    void touch() {
        IoctlCall.of(Ioctl.VFIO_DEVICE_GET_INFO).call(p, vfd);
    }

    @Test
    void beforeBindItIsEinvalLikeEveryOtherIoctl() {
        assertThat(feature(SET | ENTRY)).isEqualTo(Errno.EINVAL);
    }

    @Test
    void genericChecks() {
        bind();
        assertThat(featureArgsz(7, SET | ENTRY)).isEqualTo(Errno.EINVAL); // argsz below the header
        assertThat(featureArgsz(0, SET | ENTRY)).isEqualTo(Errno.EINVAL);
        assertThat(featureArgsz(-1, SET | ENTRY)).isNull(); // argsz is unsigned: plenty
        assertThat(feature(SET | ENTRY | 1 << 19)).isEqualTo(Errno.EINVAL); // unknown flag
        assertThat(feature(SET | ENTRY | 1 << 31)).isEqualTo(Errno.EINVAL);
        // GET and SET together without PROBE: EINVAL before the feature is looked at.
        assertThat(feature(GET | SET | ENTRY)).isEqualTo(Errno.EINVAL);
        assertThat(feature(GET | SET | 0x1234)).isEqualTo(Errno.EINVAL);
        assertThat(errno(p.ioctl(vfd, Ioctl.VFIO_DEVICE_FEATURE.code(), 0))).isEqualTo(Errno.EFAULT);
    }

    @Test
    void whatAPlainVfioPciFunctionDoesNotHaveIsEnotty() {
        bind();
        // QEMU's probes at realize: migration (GET) and DMA logging (PROBE | SET).
        assertThat(feature(GET | VFIO_DEVICE_FEATURE_MIGRATION, 0, 0)).isEqualTo(Errno.ENOTTY);
        assertThat(feature(PROBE | SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START)).isEqualTo(Errno.ENOTTY);
        int[] none = {VFIO_DEVICE_FEATURE_MIGRATION, VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
                VFIO_DEVICE_FEATURE_DMA_LOGGING_START, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
                VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
                VFIO_DEVICE_FEATURE_BUS_MASTER, VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, 11, 0xffff};
        for (int f : none) {
            for (int ops : new int[] {GET, SET, PROBE, PROBE | GET | SET, 0}) {
                assertThat(feature(ops | f, 0, 0, 0, 0)).as("feature %d ops 0x%x", f, ops).isEqualTo(Errno.ENOTTY);
            }
        }
    }

    @Test
    void lowPowerEntryAndExit() {
        bind();
        // Probes: SET is supported, GET is not; a probe does not enter.
        assertThat(feature(PROBE | ENTRY)).isNull();
        assertThat(feature(PROBE | SET | ENTRY)).isNull();
        assertThat(feature(PROBE | GET | ENTRY)).isEqualTo(Errno.EINVAL);
        assertThat(feature(PROBE | GET | SET | ENTRY)).isEqualTo(Errno.EINVAL);
        assertThat(feature(GET | ENTRY)).isEqualTo(Errno.EINVAL);
        assertThat(feature(ENTRY)).isEqualTo(Errno.EINVAL); // neither GET nor SET
        assertThat(feature(SET | ENTRY)).isNull();
        // Entered: a second entry is EINVAL, accesses in between do not leave low power.
        touch();
        assertThat(p.pread(vfd, buf, 4, 0)).isEqualTo(4);
        assertThat(feature(SET | ENTRY)).isEqualTo(Errno.EINVAL);
        assertThat(feature(PROBE | SET | EXIT)).isNull();
        assertThat(feature(GET | EXIT)).isEqualTo(Errno.EINVAL);
        assertThat(feature(SET | EXIT)).isNull();
        assertThat(feature(SET | EXIT)).isNull(); // not in low power: nothing to do
        assertThat(feature(SET | ENTRY)).isNull();
        // Extra data past what the feature reads is fine.
        assertThat(feature(SET | EXIT, 1, 2, 3)).isNull();
    }

    @Test
    void aWakeupEventfdHearsTheFirstAccessAndLowPowerEnds() {
        bind();
        int efd = efd();
        assertThat(feature(SET | WAKEUP, efd, 0)).isNull();
        assertThat(counter(efd)).isZero();
        // A read of the device resumes it: the eventfd is signalled, low power is over.
        assertThat(p.pread(vfd, buf, 4, 0)).isEqualTo(4);
        assertThat(counter(efd)).isEqualTo(1);
        touch();
        assertThat(counter(efd)).isEqualTo(1);
        // Over: entering again works, and an ioctl wakes it the same way.
        assertThat(feature(SET | WAKEUP, efd, 0)).isNull();
        touch();
        assertThat(counter(efd)).isEqualTo(2);
        // Even the next entry's own ioctl resumes first, so entering twice with a wakeup succeeds.
        assertThat(feature(SET | WAKEUP, efd, 0)).isNull();
        assertThat(feature(SET | WAKEUP, efd, 0)).isNull();
        assertThat(counter(efd)).isEqualTo(3);
        // EXIT leaves without a signal (its ioctl's resume signals first, then nothing is left).
        assertThat(feature(SET | EXIT)).isNull();
        assertThat(counter(efd)).isEqualTo(4);
        touch();
        assertThat(counter(efd)).isEqualTo(4);
    }

    @Test
    void closeLeavesLowPowerWithoutASignal() {
        bind();
        int efd = efd();
        assertThat(feature(SET | WAKEUP, efd, 0)).isNull();
        assertThat(p.close(vfd)).isZero();
        assertThat(counter(efd)).isZero();
        assertThat(machine.iommu().device("dev0").owned()).isFalse();
    }

    @Test
    void wakeupErrnos() {
        bind();
        int efd = efd();
        assertThat(feature(SET | WAKEUP)).isEqualTo(Errno.EINVAL); // no room for the struct
        assertThat(feature(SET | WAKEUP, efd)).isEqualTo(Errno.EINVAL); // 4 of its 8 bytes
        assertThat(feature(GET | WAKEUP, efd, 0)).isEqualTo(Errno.EINVAL);
        assertThat(feature(PROBE | SET | WAKEUP)).isNull(); // a probe needs no data
        assertThat(feature(SET | WAKEUP, -1, 0)).isEqualTo(Errno.EINVAL);
        assertThat(feature(SET | WAKEUP, 99, 0)).isEqualTo(Errno.EBADF);
        assertThat(feature(SET | WAKEUP, iommufd, 0)).isEqualTo(Errno.EINVAL); // not an eventfd
        // Already in low power (entered without a wakeup): EINVAL, and the eventfd hears nothing.
        assertThat(feature(SET | ENTRY)).isNull();
        assertThat(feature(SET | WAKEUP, efd, 0)).isEqualTo(Errno.EINVAL);
        touch();
        assertThat(counter(efd)).isZero();
        // The reserved word is not checked.
        assertThat(feature(SET | EXIT)).isNull();
        assertThat(feature(SET | WAKEUP, efd, 0x55)).isNull();
    }
}
