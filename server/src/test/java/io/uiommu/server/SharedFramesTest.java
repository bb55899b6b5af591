package io.uiommu.server;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SharedFramesTest {
    private static final int PAGE = PhysicalMemory.PAGE_SIZE;

    @Test
    void aSharedFrameIsOnePageForTheModelAndEveryMappingOfItsMemfd() {
        PhysicalMemory mem = new PhysicalMemory();
        SharedFrames shared = new SharedFrames(mem);
        long a = mem.allocateFrame();
        long b = mem.allocateFrame();
        mem.writeLong((b << 12) + 8, 0xfeedL);
        SharedFrames.Region r = shared.share(new long[] {a, b});
        assertThat(r.length()).isEqualTo(2 * PAGE);
        // What a client maps: the same memfd, another mapping.
        long addr = Native.mmap(0, 2 * PAGE, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, r.memfd, 0);
        assertThat(addr).isPositive();
        MemorySegment client = MemorySegment.ofAddress(addr).reinterpret(2 * PAGE);
        try {
            assertThat(client.get(ValueLayout.JAVA_LONG_UNALIGNED, PAGE + 8)).isEqualTo(0xfeedL);
            mem.writeLong(a << 12, 42);
            assertThat(client.get(ValueLayout.JAVA_LONG_UNALIGNED, 0)).isEqualTo(42);
            client.set(ValueLayout.JAVA_LONG_UNALIGNED, PAGE + 16, 0x77L);
            assertThat(mem.readLong((b << 12) + 16)).isEqualTo(0x77);
            assertThat(shared.share(new long[] {a, b})).isSameAs(r);
        } finally {
            Native.munmap(addr, 2 * PAGE);
        }
        assertThat(shared.regionCount()).isEqualTo(1);
        mem.put(a);
        mem.put(b);
        assertThat(shared.regionCount()).isZero();
    }

    @Test
    void aFrameWhoseBytesLiveInAClientCannotBeShared() {
        PhysicalMemory mem = new PhysicalMemory();
        SharedFrames shared = new SharedFrames(mem);
        long pfn = mem.allocateExternalFrame(new PhysicalMemory.ExternalBytes() {
            @Override
            public void read(int inPage, byte[] dst, int off, int len) {
            }

            @Override
            public void write(int inPage, byte[] src, int off, int len) {
            }
        });
        assertThatThrownBy(() -> shared.share(new long[] {pfn})).isInstanceOfSatisfying(IommufdException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
        assertThatThrownBy(() -> shared.share(new long[0])).isInstanceOf(IommufdException.class);
    }
}
