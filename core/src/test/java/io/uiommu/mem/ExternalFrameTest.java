package io.uiommu.mem;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ExternalFrameTest {
    /** A page kept outside physical memory, as a client process keeps it. */
    static final class Page implements PhysicalMemory.ExternalBytes {
        final byte[] bytes = new byte[PhysicalMemory.PAGE_SIZE];
        int reads;
        int writes;

        @Override
        public void read(int inPage, byte[] dst, int off, int len) {
            reads++;
            System.arraycopy(bytes, inPage, dst, off, len);
        }

        @Override
        public void write(int inPage, byte[] src, int off, int len) {
            writes++;
            System.arraycopy(src, off, bytes, inPage, len);
        }
    }

    @Test
    void readsAndWritesGoToTheExternalPageUntilInternalized() {
        PhysicalMemory mem = new PhysicalMemory();
        Page page = new Page();
        long pfn = mem.allocateExternalFrame(page);
        long pa = pfn << PhysicalMemory.PAGE_SHIFT;
        page.bytes[8] = 0x11;

        assertThat(mem.readLong(pa + 8)).isEqualTo(0x11);
        mem.writeLong(pa + 16, 0x1234_5678_9abcL);
        assertThat(page.bytes[16]).isEqualTo((byte) 0xbc);
        assertThat(mem.compareAndSetLong(pa + 16, 0x1234_5678_9abcL, 7)).isTrue();
        assertThat(mem.compareAndSetLong(pa + 16, 0x1234_5678_9abcL, 9)).isFalse();
        assertThat(page.bytes[16]).isEqualTo((byte) 7);
        assertThat(mem.external(pfn)).isSameAs(page);

        mem.internalize(pfn, page.bytes);
        int reads = page.reads;
        page.bytes[8] = 0x22;
        assertThat(mem.readLong(pa + 8)).isEqualTo(0x11);
        mem.writeLong(pa + 8, 5);
        assertThat(page.reads).isEqualTo(reads);
        assertThat(page.bytes[8]).isEqualTo((byte) 0x22);
        assertThat(mem.external(pfn)).isNull();
    }

    @Test
    void contiguousExternalFramesAreAlignedToTheirCount() {
        PhysicalMemory mem = new PhysicalMemory();
        mem.allocateFrame();
        Page[] pages = new Page[512];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = new Page();
        }
        long first = mem.allocateExternalFrames(pages);
        assertThat(first % 512).isZero();
        assertThat(mem.external(first + 511)).isSameAs(pages[511]);
        long used = mem.framesInUse();
        long reused = mem.allocateFrame();
        assertThat(reused).isLessThan(first);
        assertThat(mem.framesInUse()).isEqualTo(used + 1);
    }

    @Test
    void freeingAnExternalFrameForgetsItsBackend() {
        PhysicalMemory mem = new PhysicalMemory();
        Page page = new Page();
        long pfn = mem.allocateExternalFrame(page);
        mem.pin(pfn);
        mem.unpin(pfn);
        assertThat(mem.external(pfn)).isSameAs(page);
        mem.put(pfn);
        assertThat(mem.external(pfn)).isNull();
        long again = mem.allocateFrame();
        assertThat(again).isEqualTo(pfn);
        assertThat(mem.readLong(again << PhysicalMemory.PAGE_SHIFT)).isZero();
        assertThatThrownBy(() -> mem.internalize(again, new byte[PhysicalMemory.PAGE_SIZE]))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void externalizingMovesTheBytesOutAndKeepsReferencesAndPins() {
        PhysicalMemory mem = new PhysicalMemory();
        long pfn = mem.allocateFrame();
        long pa = pfn << PhysicalMemory.PAGE_SHIFT;
        mem.writeLong(pa + 24, 0x5566L);
        mem.pin(pfn);
        Page page = new Page();
        mem.externalize(pfn, page);
        assertThat(page.bytes[24]).isEqualTo((byte) 0x66);
        assertThat(mem.external(pfn)).isSameAs(page);
        mem.writeLong(pa + 32, 9);
        assertThat(page.bytes[32]).isEqualTo((byte) 9);
        assertThat(mem.pinCount(pfn)).isEqualTo(1);
        // Moving again (a second mapping of the same frame) carries what the first backend holds.
        Page second = new Page();
        mem.externalize(pfn, second);
        assertThat(second.bytes[32]).isEqualTo((byte) 9);
        mem.unpin(pfn);
        mem.put(pfn);
        assertThat(mem.external(pfn)).isNull();
        assertThatThrownBy(() -> mem.externalize(pfn, new Page())).isInstanceOf(IllegalStateException.class);
    }
}
