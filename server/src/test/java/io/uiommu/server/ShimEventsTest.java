package io.uiommu.server;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.proc.EventSignal;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.UserProcess;
import io.uiommu.uapi.DevIommu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Real C clients under the shim: eventfds the daemon signals, poll readiness of served files, VFIO cdev opens. */
class ShimEventsTest {
    @TempDir
    Path dir;
    UiommuServer server;

    @BeforeEach
    void start() throws Exception {
        server = UiommuServer.start(dir.resolve("uiommu.sock"), new DevIommu());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** A running client whose stdout lines pace the test (stderr merged, so failures show). */
    private static final class Client implements AutoCloseable {
        final Process process;
        final BufferedReader out;
        final OutputStream in;
        final StringBuilder seen = new StringBuilder();

        Client(ProcessBuilder pb) throws Exception {
            pb.redirectErrorStream(true);
            process = pb.start();
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            in = process.getOutputStream();
        }

        String line() throws Exception {
            String l = out.readLine();
            seen.append(l).append('\n');
            return l;
        }

        void go() throws Exception {
            in.write("go\n".getBytes(StandardCharsets.US_ASCII));
            in.flush();
        }

        int exit() throws Exception {
            String rest = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            seen.append(rest);
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("client exits").isTrue();
            return process.exitValue();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    private Client client(String... args) throws Exception {
        Path exe = NativeClients.program("events");
        String[] cmd = new String[args.length + 1];
        cmd[0] = exe.toString();
        System.arraycopy(args, 0, cmd, 1, args.length);
        return new Client(NativeClients.underShim(server, cmd));
    }

    @Test
    void theDaemonSignalsAClientsEventfdAndIsRefusedOtherFds() throws Exception {
        try (Client c = client("eventfd")) {
            String[] ready = c.line().split(" ");
            assertThat(ready[0]).as(c.seen.toString()).isEqualTo("ready");
            int pid = Integer.parseInt(ready[1]);
            int efd = Integer.parseInt(ready[2]);
            int pipe = Integer.parseInt(ready[3]);
            NativeClientTest.awaitUntil(() -> server.process(pid) != null);
            UserProcess p = server.process(pid);
            assertThatThrownBy(() -> p.eventfd(pipe)).isInstanceOfSatisfying(IommufdException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
            assertThatThrownBy(() -> p.eventfd(999)).isInstanceOfSatisfying(IommufdException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
            assertThatThrownBy(() -> p.eventfd(-1)).isInstanceOfSatisfying(IommufdException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
            EventSignal signal = p.eventfd(efd);
            signal.signal(5);
            assertThat(c.line()).as(c.seen.toString()).isEqualTo("closed");
            signal.signal(1); // the client closed its fd: the daemon's reference still works
            signal.release();
            signal.release();
            signal.signal(1); // after release: nothing, no failure
            c.go();
            assertThat(c.exit()).as(c.seen.toString()).isZero();
        }
    }

    /** A served file whose readability the test switches (a fault queue filling and emptying). */
    static final class ToggleFile extends OpenFile {
        volatile boolean ready;

        void set(boolean r) {
            ready = r;
            readinessChanged();
        }

        @Override
        public int poll(UserProcess caller) {
            return ready ? POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM : POLLOUT | POLLWRNORM;
        }

        @Override
        public long read(UserProcess caller, long buf, long count, long pos) {
            if (!ready) {
                return 0;
            }
            caller.memory().write(buf, "ping".getBytes(StandardCharsets.US_ASCII), 0, 4);
            set(false);
            return 4;
        }

        @Override
        public String name() {
            return "anon_inode:[toggle]";
        }

        @Override
        protected void release() {
        }
    }

    @Test
    void pollAndEpollOfAServedFileFollowItsReadiness() throws Exception {
        ToggleFile file = new ToggleFile();
        int[] ends = new int[2];
        assertThat(Native.socketpair(Native.SOCK_SEQPACKET | Native.SOCK_CLOEXEC, ends)).isZero();
        server.registry().add(file, ends[0], Native.inode(ends[1]));
        Path handoff = dir.resolve("handoff.sock");
        int listen = listen(handoff);
        try (Client c = client("poll", handoff.toString())) {
            sendFd(listen, ends[1]);
            Native.close(ends[1]);
            assertThat(c.line()).as(c.seen.toString()).isEqualTo("idle");
            file.set(true);
            assertThat(c.line()).as(c.seen.toString()).isEqualTo("again");
            file.set(true);
            assertThat(c.line()).as(c.seen.toString()).isEqualTo("flip");
            file.set(true);
            file.set(false);
            c.go();
            assertThat(c.exit()).as(c.seen.toString()).isZero();
        } finally {
            Native.close(listen);
        }
        NativeClientTest.awaitUntil(() -> server.openFileCount() == 0);
    }

    @Test
    void aFaultFdIsReadableWhileAFaultWaitsAndOnlyThen() throws Exception {
        try (Client c = client("fault-poll")) {
            assertThat(c.exit()).as(c.seen.toString()).isZero();
        }
        assertThat(server.openFileCount()).isZero();
    }

    @Test
    void aVeventqFdIsReadableWhileAnEventWaitsAndOnlyThen() throws Exception {
        try (Client c = client("veventq-poll")) {
            assertThat(c.exit()).as(c.seen.toString()).isZero();
        }
        assertThat(server.openFileCount()).isZero();
    }

    @Test
    void mmapOfTheIommufdMapsTheViommuPageAndPassesTheFilesErrno() throws Exception {
        try (Client c = client("mmap")) {
            assertThat(c.exit()).as(c.seen.toString()).isZero();
        }
        assertThat(server.openFileCount()).isZero();
    }

    @Test
    void openOfAVfioDeviceTheMachineDoesNotHaveIsEnoent() throws Exception {
        try (Client c = client("vfio-missing")) {
            assertThat(c.exit()).as(c.seen.toString()).isZero();
        }
    }

    private static int listen(Path path) {
        int s = Native.socket(Native.AF_UNIX, Native.SOCK_SEQPACKET | Native.SOCK_CLOEXEC, 0);
        assertThat(s).isPositive();
        assertThat(Native.bind(s, path.toString())).isZero();
        assertThat(Native.listen(s, 1)).isZero();
        return s;
    }

    /** Accepts one connection on the listening socket and sends fd over it (SCM_RIGHTS). */
    private static void sendFd(int listen, int fd) {
        int conn = Native.accept(listen);
        assertThat(conn).isPositive();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocate(8);
            MemorySegment iov = a.allocate(16, 8);
            iov.set(JAVA_LONG, 0, b.address());
            iov.set(JAVA_LONG, 8, 1);
            MemorySegment control = a.allocate(24, 8);
            control.set(JAVA_LONG, Native.CMSG_LEN, Native.CMSG_DATA + 4);
            control.set(JAVA_INT, Native.CMSG_LEVEL, Native.SOL_SOCKET);
            control.set(JAVA_INT, Native.CMSG_TYPE, Native.SCM_RIGHTS);
            control.set(JAVA_INT, Native.CMSG_DATA, fd);
            MemorySegment msg = a.allocate(Native.MSGHDR_SIZE, 8);
            msg.set(JAVA_LONG, Native.MSG_IOV, iov.address());
            msg.set(JAVA_LONG, Native.MSG_IOVLEN, 1);
            msg.set(JAVA_LONG, Native.MSG_CONTROL, control.address());
            msg.set(JAVA_LONG, Native.MSG_CONTROLLEN, 24);
            assertThat(Native.sendmsg(conn, msg, Native.MSG_NOSIGNAL)).isEqualTo(1);
        } finally {
            Native.close(conn);
        }
    }
}
