package io.uiommu.hw.vtd;

import io.uiommu.mem.PhysicalMemory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The invalidation queue as hardware runs it: descriptors in memory, IQH/IQT, wait status, IQE. */
class VtdInvalidationQueueTest {
    private final PhysicalMemory memory = new PhysicalMemory();
    private VtdHardware hw;
    private long queue;
    private long status;
    private int tail;

    @BeforeEach
    void setUp() {
        hw = new VtdHardware(VtdCapabilities.of(VtdFixture.unit(48, 48, 20, true, true, java.util.Map.of())), memory,
                null);
        queue = memory.allocateFrame() << 12;
        status = memory.allocateFrame() << 12;
        long root = memory.allocateFrame() << 12;
        hw.write64(VtdHardware.RTADDR, root | VtdHardware.RTADDR_TTM_SCALABLE);
        hw.write32(VtdHardware.GCMD, VtdHardware.GCMD_SRTP);
        hw.write64(VtdHardware.IQA, queue | VtdHardware.IQA_DW);
        hw.write32(VtdHardware.GCMD, VtdHardware.GCMD_QIE);
    }

    private void put(long qw0, long qw1, long qw2) {
        memory.writeLong(queue + tail, qw0);
        memory.writeLong(queue + tail + 8, qw1);
        memory.writeLong(queue + tail + 16, qw2);
        memory.writeLong(queue + tail + 24, 0);
        tail = (tail + 32) % 4096;
    }

    @Test
    void waitDescriptorWritesStatusAndRaisesIwc() {
        put(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, false), 0, 0);
        put(InvalidationDescriptor.wait(0xC0FFEE, true), status, 0);
        hw.write64(VtdHardware.IQT, tail);
        assertThat(hw.read64(VtdHardware.IQH)).isEqualTo(64);
        assertThat((int) memory.readLong(status)).isEqualTo(0xC0FFEE);
        assertThat(hw.read32(VtdHardware.ICS) & VtdHardware.ICS_IWC).isNotZero();
        hw.write32(VtdHardware.ICS, VtdHardware.ICS_IWC);
        assertThat(hw.read32(VtdHardware.ICS)).isZero();
        assertThat(hw.descriptorsProcessed()).isEqualTo(2);
    }

    @Test
    void invalidDescriptorStopsTheQueueUntilIqeIsCleared() {
        put(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, false), 0, 0);
        put(0xF, 0, 0); // type 0xF does not exist
        put(InvalidationDescriptor.wait(1, false), status, 0);
        hw.write64(VtdHardware.IQT, tail);
        assertThat(hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_IQE).isNotZero();
        assertThat(hw.read64(VtdHardware.IQH)).as("head stops at the bad descriptor").isEqualTo(32);
        assertThat(hw.read64(VtdHardware.IQERCD) >>> 32).as("IQEHEAD").isEqualTo(1);
        assertThat(memory.readLong(status)).isZero();
        // Software replaces the bad descriptor (Linux copies the wait descriptor there) and clears IQE.
        memory.writeLong(queue + 32, InvalidationDescriptor.wait(2, false));
        memory.writeLong(queue + 40, status);
        hw.write32(VtdHardware.FSTS, VtdHardware.FSTS_IQE);
        assertThat(hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_IQE).isZero();
        assertThat(hw.read64(VtdHardware.IQH)).isEqualTo(96);
        assertThat((int) memory.readLong(status)).isEqualTo(1);
    }

    @Test
    void badFieldsAreInvalid() {
        long[][] bad = {
            {InvalidationDescriptor.iotlb(0, 0, false), 0, 0},
            {InvalidationDescriptor.contextCache(0, 0, 0, 0), 0, 0},
            {InvalidationDescriptor.pasidCache(2, 0, 0), 0, 0},
            {InvalidationDescriptor.pasidIotlb(1, 0, 0), 0, 0},
            {InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_PAGE, 1, false),
                InvalidationDescriptor.pageRange(0, 19, false), 0},
            {InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, false), 0, 1},
            {InvalidationDescriptor.INTERRUPT_ENTRY_CACHE, 0, 0},
        };
        for (long[] d : bad) {
            setUp();
            tail = 0;
            put(d[0], d[1], d[2]);
            hw.write64(VtdHardware.IQT, tail);
            assertThat(hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_IQE)
                    .as("descriptor 0x%x 0x%x 0x%x", d[0], d[1], d[2]).isNotZero();
        }
    }

    @Test
    void scalableModeNeeds256BitDescriptors() {
        hw.write32(VtdHardware.GCMD, 0);
        hw.write64(VtdHardware.IQA, queue);
        hw.write64(VtdHardware.IQT, 0);
        hw.write32(VtdHardware.GCMD, VtdHardware.GCMD_QIE);
        memory.writeLong(queue, InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, false));
        hw.write64(VtdHardware.IQT, 16);
        assertThat(hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_IQE).isNotZero();
    }

    @Test
    void driverKeepsTheQueueClean() {
        VtdFixture f = new VtdFixture();
        VtdDevice dev = f.device("nic0", "00:03.0", 20, true);
        VtdPagingDomain d = f.paging(dev, 0);
        f.iommu.attachDev(d, dev);
        d.map(0x1000, f.frame(0), 4096, 3);
        d.unmap(0x1000, 4096);
        assertThat(f.hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_IQE).isZero();
        assertThat(f.hw.read64(VtdHardware.IQH)).isEqualTo(f.hw.read64(VtdHardware.IQT));
        assertThat(f.iommu.invalidationsSubmitted()).isGreaterThanOrEqualTo(5);
    }
}
