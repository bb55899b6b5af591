package io.uiommu.uapi;

import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.MmapRegions;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.testing.IommufdTestClient;
import io.uiommu.testing.MockViommuFixture;
import io.uiommu.testing.Rc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static io.uiommu.iommufd.Errno.EBADF;
import static io.uiommu.iommufd.Errno.EBUSY;
import static io.uiommu.iommufd.Errno.EFAULT;
import static io.uiommu.iommufd.Errno.EINVAL;
import static io.uiommu.iommufd.Errno.ENODEV;
import static io.uiommu.iommufd.Errno.ENXIO;
import static io.uiommu.iommufd.Errno.EPERM;
import static io.uiommu.uapi.UapiConstants.IOMMU_VEVENTQ_TYPE_SELFTEST;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * mmap of the iommufd fd (Linux 6.17) through the mock vIOMMU's page, as upstream's
 * TEST_F(iommufd_viommu, viommu_alloc_with_data) does it, plus what a Java caller needs: the bytes
 * are the driver's page in both directions, the mapping holds the vIOMMU and the context, fork
 * shares it, and its frames cannot be pinned.
 */
class IommufdMmapTest {
    static final long PAGE = IommufdTestClient.PAGE_SIZE;
    static final int RW = SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE;

    final MockViommuFixture f = new MockViommuFixture();
    int viommu;
    long offset;
    long length;

    @AfterEach
    void tearDown() {
        f.close();
    }

    /** A second mock vIOMMU, with driver data {in_data = 0xbeef}. */
    void viommuWithData() {
        long data = f.c.userCopy(MockViommuFixture.le32(0xbeef, 0, 0, 0, 0, 0));
        viommu = f.viommuAlloc(f.md.idevId(), f.parent, data, 24).ok().u32("out_viommu_id");
        byte[] out = f.c.read(data, 24);
        assertThat(le(out, 4, 4)).as("out_data").isEqualTo(0xbeef);
        offset = le(out, 8, 8);
        length = le(out, 16, 8);
    }

    static long le(byte[] b, int off, int n) {
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = v << 8 | (b[off + i] & 0xff);
        }
        return v;
    }

    long mmap(long len, int prot, int flags, long off) {
        return f.c.process().mmap(f.c.fd(), len, prot, flags, off);
    }

    @Test
    void regionIsAnnouncedInTheDriverData() {
        viommuWithData();
        assertThat(length).isEqualTo(2 * PAGE);
        assertThat(offset).as("never 0, page aligned").isGreaterThanOrEqualTo(PAGE);
        assertThat(offset % PAGE).isZero();
    }

    @Test
    void offsetAndLengthCannotChange() {
        viommuWithData();
        assertThat(mmap(length, RW, OpenFile.MAP_SHARED, offset + PAGE)).isEqualTo(-ENXIO.value());
        assertThat(mmap(length, RW, OpenFile.MAP_SHARED, offset + 2 * PAGE)).isEqualTo(-ENXIO.value());
        assertThat(mmap(length / 2, RW, OpenFile.MAP_SHARED, offset)).isEqualTo(-ENXIO.value());
        assertThat(mmap(length * 2, RW, OpenFile.MAP_SHARED, offset)).isEqualTo(-ENXIO.value());
        assertThat(mmap(length, RW, OpenFile.MAP_SHARED, 0)).isEqualTo(-ENXIO.value());
        assertThat(mmap(length, RW, OpenFile.MAP_PRIVATE, offset)).isEqualTo(-EINVAL.value());
        assertThat(mmap(length, RW | SimulatedProcess.PROT_EXEC, OpenFile.MAP_SHARED, offset)).isEqualTo(-EPERM.value());
        assertThat(mmap(length, RW, OpenFile.MAP_SHARED, offset + 1)).as("mmap(2): unaligned offset").isEqualTo(-EINVAL.value());
        assertThat(mmap(0, RW, OpenFile.MAP_SHARED, offset)).isEqualTo(-EINVAL.value());
        assertThat(f.c.process().mmap(999, length, RW, OpenFile.MAP_SHARED, offset)).isEqualTo(-EBADF.value());
        assertThat(mmap(length, RW, OpenFile.MAP_SHARED_VALIDATE, offset)).as("shared, validated").isPositive();
    }

    @Test
    void aViommuWithoutDataHasNoRegionAndOtherFilesNoMmap() {
        assertThat(mmap(PAGE, RW, OpenFile.MAP_SHARED, PAGE)).isEqualTo(-ENXIO.value());
        int fd = f.veventqAlloc(f.viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 1).ok().u32("out_veventq_fd");
        assertThat(f.c.process().mmap(fd, PAGE, RW, OpenFile.MAP_SHARED, 0)).isEqualTo(-ENODEV.value());
        f.c.process().close(fd);
    }

    @Test
    void shortDriverDataIsEinval() {
        long data = f.c.userCopy(MockViommuFixture.le32(0xbeef));
        f.viommuAlloc(f.md.idevId(), f.parent, data, 4).fails(EINVAL);
    }

    @Test
    void loopbackBothWays() {
        viommuWithData();
        long va = mmap(length, RW, OpenFile.MAP_SHARED, offset);
        assertThat(va).isPositive();
        assertThat(le(f.c.read(va, 4), 0, 4)).as("the page holds in_data").isEqualTo(0xbeef);
        PhysicalMemory memory = f.c.dev().physical();
        long pa = regionOf(offset).physAddr();
        assertThat(f.c.process().frameAt(va)).isEqualTo(pa >>> PhysicalMemory.PAGE_SHIFT);
        assertThat(f.c.process().frameAt(va + PAGE)).isEqualTo((pa >>> PhysicalMemory.PAGE_SHIFT) + 1);
        f.c.write(va + PAGE + 8, "from the VMM".getBytes());
        byte[] seen = new byte[12];
        memory.read(pa + PAGE + 8, seen, 0, 12);
        assertThat(new String(seen)).as("the driver sees the user's write").isEqualTo("from the VMM");
        memory.write(pa + 16, "from the IOMMU".getBytes(), 0, 14);
        assertThat(new String(f.c.read(va + 16, 14))).isEqualTo("from the IOMMU");
        f.c.munmap(va, length);
    }

    MmapRegions.Region regionOf(long off) {
        IommufdContext ctx = DevIommu.contextOf(f.c.process(), f.c.fd());
        synchronized (ctx) {
            return ctx.mmaps().find(off);
        }
    }

    @Test
    void theMappingHoldsTheViommu() {
        viommuWithData();
        long va = mmap(length, RW, OpenFile.MAP_SHARED, offset);
        f.c.destroy(viommu).fails(EBUSY);
        f.c.munmap(va, PAGE); // a part of it: the rest still holds
        f.c.destroy(viommu).fails(EBUSY);
        f.c.munmap(va + PAGE, PAGE);
        f.c.destroy(viommu).ok();
        assertThat(regionOf(offset)).as("the region went with the vIOMMU").isNull();
        assertThat(mmap(length, RW, OpenFile.MAP_SHARED, offset)).isEqualTo(-ENXIO.value());
    }

    @Test
    void forkSharesTheMapping() {
        viommuWithData();
        long va = mmap(length, RW, OpenFile.MAP_SHARED, offset);
        IommufdTestClient child = f.c.forkChild();
        f.c.munmap(va, length);
        f.c.destroy(viommu).fails(EBUSY);
        assertThat(le(child.read(va, 4), 0, 4)).isEqualTo(0xbeef);
        child.process().exit();
        f.c.destroy(viommu).ok();
    }

    @Test
    void theFramesCannotBePinned() {
        viommuWithData();
        long va = mmap(length, RW, OpenFile.MAP_SHARED, offset);
        f.c.map(va, PAGE).fails(EFAULT);
        f.c.munmap(va, length);
    }

    @Test
    void theMappingOutlivesTheFd() {
        MockViommuFixture g = new MockViommuFixture();
        try {
            long data = g.c.userCopy(MockViommuFixture.le32(0x1234, 0, 0, 0, 0, 0));
            Rc rc = g.viommuAlloc(g.md.idevId(), g.parent, data, 24).ok();
            byte[] out = g.c.read(data, 24);
            long va = g.c.process().mmap(g.c.fd(), le(out, 16, 8), RW, OpenFile.MAP_SHARED, le(out, 8, 8));
            long frames = g.c.dev().physical().framesInUse();
            assertThat(g.c.process().close(g.c.fd())).isZero();
            assertThat(le(g.c.read(va, 4), 0, 4)).as("the context lives while mapped").isEqualTo(0x1234);
            g.c.munmap(va, 2 * PAGE);
            assertThat(g.c.dev().physical().framesInUse()).as("the vIOMMU's pages went with the context")
                    .isLessThan(frames);
            assertThat(rc.isOk()).isTrue();
        } finally {
            g.c.process().exit();
        }
    }
}
