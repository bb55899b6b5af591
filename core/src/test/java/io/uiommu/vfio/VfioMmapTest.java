package io.uiommu.vfio;

import io.uiommu.device.DmaEngine;
import io.uiommu.hw.mock.MockIommuDriver;
import io.uiommu.iommufd.Errno;
import io.uiommu.platform.Platform;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IoctlCall;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static io.uiommu.device.DmaEngineRegs.*;
import static io.uiommu.device.PciRegs.*;
import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * BAR0's data window through mmap of the VFIO cdev: the region info's sparse mmap capability and
 * its argsz rules, what mmap accepts and refuses (vfio_pci_core_mmap's errno), one set of bytes for
 * the mapping, pread/pwrite and DMA, reset under a mapping, and the mapping holding the file.
 */
class VfioMmapTest {
    static final long IOVA = MockIommuDriver.MOCK_APERTURE_START;
    static final long CONFIG = (long) VFIO_PCI_CONFIG_REGION_INDEX << 40;
    static final int RW = OpenFile.PROT_READ | OpenFile.PROT_WRITE;
    static final int O_RDWR = 2;

    final DevIommu machine = new DevIommu(Platform.mock());
    final SimulatedProcess p = new SimulatedProcess(machine.physical());
    final long buf = p.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
    int iommufd;
    int vfd;

    @BeforeEach
    void open() {
        iommufd = machine.open(p);
        vfd = machine.openVfioDevice(p, "/dev/vfio/devices/vfio0", O_RDWR);
    }

    void bind() {
        IoctlCall.of(Ioctl.VFIO_DEVICE_BIND_IOMMUFD).set("iommufd", iommufd).call(p, vfd);
    }

    Errno errno(long rc) {
        return rc < 0 ? Errno.of((int) -rc) : null;
    }

    /** mmap of the device fd at region {@code index}, byte {@code offset} of it. */
    long mmap(int index, long offset, long length, int flags) {
        return p.mmap(vfd, length, RW, flags, (long) index << 40 | offset);
    }

    long window() {
        long va = mmap(0, DATA_WINDOW, DATA_WINDOW_SIZE, OpenFile.MAP_SHARED);
        assertThat(va).isPositive();
        return va;
    }

    byte[] bytes(long va, int n) {
        byte[] b = new byte[n];
        p.read(va, b, 0, n);
        return b;
    }

    long pread(long pos, int count) {
        assertThat(p.pread(vfd, buf, count, pos)).isEqualTo(count);
        byte[] b = new byte[8];
        p.read(buf, b, 0, count);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    long pwrite(long pos, int count, long value) {
        p.write(buf, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value).array(), 0, 8);
        return p.pwrite(vfd, buf, count, pos);
    }

    /** GET_REGION_INFO of {@code index} with argsz {@code argsz} at buf (the rest of buf 0xee): the bytes after. */
    ByteBuffer regionInfo(int index, int argsz, int capOffsetIn) {
        byte[] fill = new byte[256];
        java.util.Arrays.fill(fill, (byte) 0xee);
        ByteBuffer in = ByteBuffer.wrap(fill).order(ByteOrder.LITTLE_ENDIAN);
        in.putInt(0, argsz).putInt(4, 0).putInt(8, index).putInt(12, capOffsetIn);
        p.write(buf, fill, 0, fill.length);
        assertThat(errno(p.ioctl(vfd, Ioctl.VFIO_DEVICE_GET_REGION_INFO.code(), buf))).isNull();
        return ByteBuffer.wrap(bytes(buf, 256)).order(ByteOrder.LITTLE_ENDIAN);
    }

    // ---- region info ----

    @Test
    void bar0RegionInfoCarriesTheSparseMmapCapability() {
        bind();
        int flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP
                | VFIO_REGION_INFO_FLAG_CAPS;
        // Room for the chain: it follows the struct, cap_offset says where; argsz stays the caller's.
        ByteBuffer r = regionInfo(0, 128, 0);
        assertThat(r.getInt(0)).isEqualTo(128);
        assertThat(r.getInt(4)).isEqualTo(flags);
        assertThat(r.getInt(12)).isEqualTo(32);
        assertThat(r.getLong(16)).isEqualTo(BAR0_SIZE);
        assertThat(r.getLong(24)).isZero();
        assertThat(r.getShort(32)).isEqualTo((short) VFIO_REGION_INFO_CAP_SPARSE_MMAP);
        assertThat(r.getShort(34)).isEqualTo((short) 1); // version
        assertThat(r.getInt(36)).isZero(); // next: the end of the chain
        assertThat(r.getInt(40)).isEqualTo(1); // nr_areas
        assertThat(r.getInt(44)).isZero(); // reserved
        assertThat(r.getLong(48)).isEqualTo(DATA_WINDOW);
        assertThat(r.getLong(56)).isEqualTo(DATA_WINDOW_SIZE);
        assertThat(r.get(64)).isEqualTo((byte) 0xee); // nothing past the chain
        // Exactly enough.
        r = regionInfo(0, 64, 0);
        assertThat(r.getInt(0)).isEqualTo(64);
        assertThat(r.getInt(12)).isEqualTo(32);
        assertThat(r.getLong(48)).isEqualTo(DATA_WINDOW);
    }

    @Test
    void aBufferTooSmallForTheChainGetsTheSizeNeededAndNoChain() {
        bind();
        for (int argsz : new int[] {32, 40, 63}) {
            ByteBuffer r = regionInfo(0, argsz, 0x55);
            assertThat(r.getInt(0)).as("argsz %d", argsz).isEqualTo(64);
            assertThat(r.getInt(4) & VFIO_REGION_INFO_FLAG_CAPS).isNotZero();
            assertThat(r.getInt(12)).isZero();
            assertThat(r.getLong(16)).isEqualTo(BAR0_SIZE);
            assertThat(r.get(32)).as("argsz %d: nothing written past the struct", argsz).isEqualTo((byte) 0xee);
        }
    }

    @Test
    void regionsWithoutCapabilitiesLeaveArgszAndCapOffsetAsTheCallerWroteThem() {
        bind();
        // vfio copies the caller's struct back: cap_offset is not cleared where there is no chain.
        ByteBuffer r = regionInfo(VFIO_PCI_CONFIG_REGION_INDEX, 100, 0x77);
        assertThat(r.getInt(0)).isEqualTo(100);
        assertThat(r.getInt(4)).isEqualTo(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
        assertThat(r.getInt(12)).isEqualTo(0x77);
        assertThat(r.get(32)).isEqualTo((byte) 0xee);
        r = regionInfo(1, 32, 0);
        assertThat(r.getInt(4)).isZero();
    }

    // ---- mmap ----

    @Test
    void theMappingPreadPwriteAndDmaShareTheWindowBytes() {
        bind();
        long va = window();
        DmaEngine e = machine.engine("dev0");
        assertThat(p.frameAt(va)).isEqualTo(e.dataWindowPfn(0));
        assertThat(p.frameAt(va + DATA_WINDOW_SIZE - 1)).isEqualTo(e.dataWindowPfn(DATA_WINDOW_PAGES - 1));
        // CPU store through the mapping, seen by pread of BAR0.
        p.write(va + 16, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, 0, 8);
        assertThat(pread(DATA_WINDOW + 16, 8)).isEqualTo(0x0807060504030201L);
        // pwrite of BAR0, seen through the mapping.
        assertThat(pwrite(DATA_WINDOW + 0x7ff8, 8, 0x1122334455667788L)).isEqualTo(8);
        assertThat(bytes(va + 0x7ff8, 8)).containsExactly(0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);

        // DMA: the device writes memory from the window (FROM_DEVICE) and fills it (TO_DEVICE).
        long mem = p.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        int ioas = (int) IoctlCall.of(Ioctl.IOMMU_IOAS_ALLOC).call(p, iommufd).get("out_ioas_id");
        IoctlCall.of(Ioctl.IOMMU_IOAS_MAP).set("flags", IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE
                | IOMMU_IOAS_MAP_WRITEABLE).set("ioas_id", ioas).set("user_va", mem).set("length", 4096)
                .set("iova", IOVA).call(p, iommufd);
        IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("pt_id", ioas).call(p, vfd);
        pwrite(CONFIG + PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        pwrite(REG_DST_IOVA, 8, IOVA + 100);
        pwrite(REG_BUF_OFFSET, 4, 16);
        pwrite(REG_LENGTH, 4, 8);
        pwrite(REG_OP, 4, OP_FROM_DEVICE);
        pwrite(REG_DOORBELL, 4, 1);
        assertThat(pread(REG_STATUS, 4)).isEqualTo(STATUS_DONE);
        assertThat(bytes(mem + 100, 8)).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);

        p.write(mem + 200, new byte[] {9, 8, 7, 6}, 0, 4);
        pwrite(REG_SRC_IOVA, 8, IOVA + 200);
        pwrite(REG_BUF_OFFSET, 4, 0x1000);
        pwrite(REG_LENGTH, 4, 4);
        pwrite(REG_OP, 4, OP_TO_DEVICE);
        pwrite(REG_DOORBELL, 4, 1);
        assertThat(pread(REG_STATUS, 4)).isEqualTo(STATUS_DONE);
        assertThat(bytes(va + 0x1000, 4)).containsExactly(9, 8, 7, 6);
    }

    @Test
    void aTransferThatFaultsLeavesWhatArrivedInTheWindow() {
        bind();
        long va = window();
        long mem = p.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        p.write(mem + 4096 - 4, new byte[] {1, 2, 3, 4}, 0, 4);
        int ioas = (int) IoctlCall.of(Ioctl.IOMMU_IOAS_ALLOC).call(p, iommufd).get("out_ioas_id");
        IoctlCall.of(Ioctl.IOMMU_IOAS_MAP).set("flags", IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE
                | IOMMU_IOAS_MAP_WRITEABLE).set("ioas_id", ioas).set("user_va", mem).set("length", 4096)
                .set("iova", IOVA).call(p, iommufd);
        IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("pt_id", ioas).call(p, vfd);
        pwrite(CONFIG + PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        p.write(va + 4, new byte[] {(byte) 0xaa}, 0, 1);
        // Four bytes before the end of the mapping, eight asked: four arrive, then the fault.
        pwrite(REG_SRC_IOVA, 8, IOVA + 4096 - 4);
        pwrite(REG_LENGTH, 4, 8);
        pwrite(REG_OP, 4, OP_TO_DEVICE);
        pwrite(REG_DOORBELL, 4, 1);
        assertThat(pread(REG_STATUS, 4)).isEqualTo(STATUS_FAULT);
        assertThat(pread(REG_BYTES_DONE, 4)).isEqualTo(4);
        assertThat(bytes(va, 5)).containsExactly(1, 2, 3, 4, 0xaa);
    }

    @Test
    void aPartOfTheWindowMapsItsOwnPages() {
        bind();
        long va = mmap(0, DATA_WINDOW + 0x2000, 0x1000, OpenFile.MAP_SHARED_VALIDATE);
        assertThat(va).isPositive();
        assertThat(p.frameAt(va)).isEqualTo(machine.engine("dev0").dataWindowPfn(2));
        p.write(va, new byte[] {0x5a}, 0, 1);
        assertThat(pread(DATA_WINDOW + 0x2000, 1)).isEqualTo(0x5a);
        // The last page alone, and PROT_EXEC: vfio-pci does not refuse it.
        long last = p.mmap(vfd, 0x1000, RW | OpenFile.PROT_EXEC, OpenFile.MAP_SHARED, BAR0_SIZE - 0x1000);
        assertThat(p.frameAt(last)).isEqualTo(machine.engine("dev0").dataWindowPfn(DATA_WINDOW_PAGES - 1));
    }

    @Test
    void mmapErrnos() {
        // Before bind: EINVAL.
        assertThat(errno(mmap(0, DATA_WINDOW, 4096, OpenFile.MAP_SHARED))).isEqualTo(Errno.EINVAL);
        bind();
        // A private mapping.
        assertThat(errno(mmap(0, DATA_WINDOW, 4096, OpenFile.MAP_PRIVATE))).isEqualTo(Errno.EINVAL);
        // BARs without memory, the ROM, config space, VGA, past the regions.
        for (int index : new int[] {1, 2, 5, VFIO_PCI_ROM_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX,
                VFIO_PCI_VGA_REGION_INDEX, VFIO_PCI_NUM_REGIONS, 0xfff}) {
            assertThat(errno(mmap(index, 0, 4096, OpenFile.MAP_SHARED))).as("index %d", index).isEqualTo(Errno.EINVAL);
        }
        // The registers: no page to map, alone or as part of a range.
        assertThat(errno(mmap(0, 0, 4096, OpenFile.MAP_SHARED))).isEqualTo(Errno.EINVAL);
        assertThat(errno(mmap(0, DATA_WINDOW - 4096, 0x2000, OpenFile.MAP_SHARED))).isEqualTo(Errno.EINVAL);
        assertThat(errno(mmap(0, 0, BAR0_SIZE, OpenFile.MAP_SHARED))).isEqualTo(Errno.EINVAL);
        // Past the end of the BAR.
        assertThat(errno(mmap(0, BAR0_SIZE - 4096, 0x2000, OpenFile.MAP_SHARED))).isEqualTo(Errno.EINVAL);
        assertThat(errno(mmap(0, BAR0_SIZE, 4096, OpenFile.MAP_SHARED))).isEqualTo(Errno.EINVAL);
        // What mmap(2) refuses before the file is asked: an unaligned offset, no length; a closed fd.
        assertThat(errno(mmap(0, DATA_WINDOW + 1, 4096, OpenFile.MAP_SHARED))).isEqualTo(Errno.EINVAL);
        assertThat(errno(mmap(0, DATA_WINDOW, 0, OpenFile.MAP_SHARED))).isEqualTo(Errno.EINVAL);
        assertThat(errno(p.mmap(99, 4096, RW, OpenFile.MAP_SHARED, DATA_WINDOW))).isEqualTo(Errno.EBADF);
        // Refusals leave the file as it was: the whole window still maps.
        window();
    }

    @Test
    void resetUnderAMappingZeroesTheBytesAndKeepsTheMapping() {
        bind();
        long va = window();
        p.write(va + 8, new byte[] {1, 2, 3}, 0, 3);
        assertThat(p.ioctl(vfd, Ioctl.VFIO_DEVICE_RESET.code(), 0)).isZero();
        assertThat(bytes(va + 8, 3)).containsExactly(0, 0, 0);
        p.write(va + 8, new byte[] {4}, 0, 1);
        assertThat(pread(DATA_WINDOW + 8, 1)).isEqualTo(4);
        // FLR through the config region: the same.
        int exp = machine.engine("dev0").findCapability(PCI_CAP_ID_EXP);
        pwrite(CONFIG + exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
        assertThat(bytes(va + 8, 1)).containsExactly(0);
    }

    @Test
    void theMappingHoldsTheFileUntilItIsUnmapped() {
        bind();
        long va = window();
        assertThat(p.close(vfd)).isZero();
        // Still bound: the VMA holds the file, so its release (the unbind) waits.
        assertThat(machine.iommu().device("dev0").owned()).isTrue();
        int again = machine.openVfioDevice(p, "/dev/vfio/devices/vfio0", O_RDWR);
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_BIND_IOMMUFD).set("iommufd", iommufd).invoke(p, again))
                .isEqualTo(Errno.EINVAL);
        p.write(va, new byte[] {7}, 0, 1);
        assertThat(bytes(va, 1)).containsExactly(7);
        // Splitting the mapping keeps the file; the last piece going releases it.
        p.munmap(va, 4096);
        assertThat(machine.iommu().device("dev0").owned()).isTrue();
        p.munmap(va + 4096, DATA_WINDOW_SIZE - 4096);
        assertThat(machine.iommu().device("dev0").owned()).isFalse();
        assertThat(IoctlCall.of(Ioctl.VFIO_DEVICE_BIND_IOMMUFD).set("iommufd", iommufd).invoke(p, again)).isNull();
    }

    @Test
    void exitReleasesMappingsAndTheFile() {
        bind();
        window();
        p.exit();
        assertThat(machine.iommu().device("dev0").owned()).isFalse();
    }

    @Test
    void theWindowCannotBePinnedForIoasMap() {
        bind();
        long va = window();
        int ioas = (int) IoctlCall.of(Ioctl.IOMMU_IOAS_ALLOC).call(p, iommufd).get("out_ioas_id");
        // With a domain attached, IOAS_MAP pins at once: a VM_PFNMAP mapping has no pages to pin.
        IoctlCall.of(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).set("pt_id", ioas).call(p, vfd);
        assertThat(IoctlCall.of(Ioctl.IOMMU_IOAS_MAP).set("flags", IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE)
                .set("ioas_id", ioas).set("user_va", va).set("length", 4096).set("iova", IOVA).invoke(p, iommufd))
                .isEqualTo(Errno.EFAULT);
    }
}
