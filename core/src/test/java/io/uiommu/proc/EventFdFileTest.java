package io.uiommu.proc;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** eventfd as fs/eventfd.c behaves: counter, semaphore mode, EAGAIN, poll bits, references from interrupt sources. */
class EventFdFileTest {
    private final SimulatedProcess p = new SimulatedProcess(new PhysicalMemory());
    private final long buf = p.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);

    private long readCounter(int fd) {
        long rc = p.read(fd, buf, 8);
        if (rc < 0) {
            return rc;
        }
        assertThat(rc).isEqualTo(8);
        byte[] b = new byte[8];
        p.read(buf, b, 0, 8);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private long writeCounter(int fd, long value) {
        p.write(buf, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value).array(), 0, 8);
        return p.write(fd, buf, 8);
    }

    @Test
    void readTakesTheWholeCounterAndNonBlockingReadOfZeroIsEagain() {
        int fd = p.eventfd(3, EventFdFile.EFD_NONBLOCK);
        assertThat(fd).isEqualTo(3);
        assertThat(p.fds().get(fd).name()).isEqualTo("anon_inode:[eventfd]");
        assertThat(readCounter(fd)).isEqualTo(3);
        assertThat(readCounter(fd)).isEqualTo(-Errno.EAGAIN.value());
        assertThat(writeCounter(fd, 5)).isEqualTo(8);
        assertThat(writeCounter(fd, 2)).isEqualTo(8);
        assertThat(readCounter(fd)).isEqualTo(7);
    }

    @Test
    void semaphoreModeReadsOneAtATime() {
        int fd = p.eventfd(2, EventFdFile.EFD_SEMAPHORE | EventFdFile.EFD_NONBLOCK);
        assertThat(readCounter(fd)).isEqualTo(1);
        assertThat(readCounter(fd)).isEqualTo(1);
        assertThat(readCounter(fd)).isEqualTo(-Errno.EAGAIN.value());
    }

    @Test
    void shortBuffersAndTheMaximumAreEinvalAndOverflowIsEagain() {
        int fd = p.eventfd(0, EventFdFile.EFD_NONBLOCK);
        assertThat(p.read(fd, buf, 7)).isEqualTo(-Errno.EINVAL.value());
        assertThat(p.write(fd, buf, 4)).isEqualTo(-Errno.EINVAL.value());
        assertThat(writeCounter(fd, -1L)).isEqualTo(-Errno.EINVAL.value());
        assertThat(writeCounter(fd, -2L)).isEqualTo(8);
        assertThat(writeCounter(fd, 1)).isEqualTo(-Errno.EAGAIN.value());
        assertThat(p.read(fd, 0, 8)).isEqualTo(-Errno.EFAULT.value());
        assertThat(p.eventfd(0, 0x4)).isEqualTo(-Errno.EINVAL.value());
    }

    @Test
    void pollFollowsTheCounterAndListenersHearChanges() {
        int fd = p.eventfd(0, EventFdFile.EFD_NONBLOCK);
        OpenFile f = p.fds().get(fd);
        AtomicInteger heard = new AtomicInteger();
        f.setReadinessListener(heard::incrementAndGet);
        assertThat(f.poll(p) & OpenFile.POLLIN).isZero();
        assertThat(f.poll(p) & OpenFile.POLLOUT).isNotZero();
        EventSignal s = p.eventfd(fd);
        s.signal(1);
        assertThat(f.poll(p) & OpenFile.POLLIN).isNotZero();
        assertThat(heard.get()).isEqualTo(1);
        assertThat(readCounter(fd)).isEqualTo(1);
        assertThat(heard.get()).isEqualTo(2);
        s.release();
    }

    @Test
    void aSignalKeepsTheFileAfterCloseAndBadFdsAreEbadfOrEinval() {
        int fd = p.eventfd(0, 0);
        EventFdFile f = (EventFdFile) p.fds().get(fd);
        EventSignal s = p.eventfd(fd);
        p.close(fd);
        s.signal(4);
        assertThat(f.count()).isEqualTo(4);
        s.release();
        s.release(); // a second release is harmless
        assertThat(catchThrowableOfType(IommufdException.class, () -> p.eventfd(fd)).errno()).isEqualTo(Errno.EBADF);
        assertThat(catchThrowableOfType(IommufdException.class, () -> p.eventfd(0)).errno()).isEqualTo(Errno.EINVAL);
    }

    @Test
    void aBlockingReadWaitsForASignal() throws Exception {
        int fd = p.eventfd(0, 0);
        EventSignal s = p.eventfd(fd);
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            s.signal(9);
        });
        t.start();
        assertThat(readCounter(fd)).isEqualTo(9);
        t.join();
        s.release();
    }
}
