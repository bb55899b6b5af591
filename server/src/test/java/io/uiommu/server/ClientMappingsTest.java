package io.uiommu.server;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class ClientMappingsTest {
    static final long PAGE = 4096;

    @Test
    void aMappingClosesWhenItsLastPageIsUnmapped() {
        ClientMappings m = new ClientMappings();
        AtomicInteger closed = new AtomicInteger();
        m.add(0x10000, 3 * PAGE, closed::incrementAndGet);
        m.unmapping(0x10000 + PAGE, PAGE); // the middle: a split, both halves still hold it
        assertThat(closed).hasValue(0);
        m.unmapping(0x0, 0x10000 + PAGE); // from below, up to and including the first page
        assertThat(closed).hasValue(0);
        m.unmapping(0x10000 + 2 * PAGE + 100, 1); // a byte of the last page takes the page
        assertThat(closed).hasValue(1);
        assertThat(m.size()).isZero();
    }

    @Test
    void unmapsAroundAMappingLeaveIt() {
        ClientMappings m = new ClientMappings();
        AtomicInteger closed = new AtomicInteger();
        m.add(0x20000, 2 * PAGE, closed::incrementAndGet);
        m.unmapping(0x10000, 0x10000); // ends where it starts
        m.unmapping(0x20000 + 2 * PAGE, PAGE); // starts where it ends
        m.unmapping(0x20000, 0); // nothing
        assertThat(closed).hasValue(0);
        m.unmapping(0, Long.MAX_VALUE); // everything (an end past the address space)
        assertThat(closed).hasValue(1);
    }

    @Test
    void exitClosesEveryMappingOnce() {
        ClientMappings m = new ClientMappings();
        AtomicInteger closed = new AtomicInteger();
        m.add(0x10000, PAGE, closed::incrementAndGet);
        m.add(0x30000, PAGE, closed::incrementAndGet);
        m.closeAll();
        m.closeAll();
        assertThat(closed).hasValue(2);
    }
}
