package io.uiommu.server;

import io.uiommu.uapi.DevIommu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;

/** Clients that do not speak the protocol, or lie: each loses its connection; the daemon serves on. */
class HostileClientTest {
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

    private int connect() {
        int fd = Native.socket(Native.AF_UNIX, Native.SOCK_SEQPACKET | Native.SOCK_CLOEXEC, 0);
        assertThat(fd).isNotNegative();
        assertThat(Native.connect(fd, server.socketPath().toString())).isZero();
        return fd;
    }

    /** Sends bytes, optionally with credentials of another process; returns what sendmsg returned. */
    private static long send(int fd, byte[] bytes, int credPid) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(Math.max(bytes.length, 1));
            MemorySegment.copy(bytes, 0, data, ValueLayout.JAVA_BYTE, 0, bytes.length);
            MemorySegment iov = a.allocate(16);
            iov.set(ValueLayout.JAVA_LONG, 0, data.address());
            iov.set(ValueLayout.JAVA_LONG, 8, bytes.length);
            MemorySegment msg = a.allocate(Native.MSGHDR_SIZE);
            msg.set(ValueLayout.JAVA_LONG, Native.MSG_IOV, iov.address());
            msg.set(ValueLayout.JAVA_LONG, Native.MSG_IOVLEN, 1);
            if (credPid != 0) {
                MemorySegment control = a.allocate(32);
                control.set(ValueLayout.JAVA_LONG, Native.CMSG_LEN, Native.CMSG_DATA + 12);
                control.set(ValueLayout.JAVA_INT, Native.CMSG_LEVEL, Native.SOL_SOCKET);
                control.set(ValueLayout.JAVA_INT, Native.CMSG_TYPE, Native.SCM_CREDENTIALS);
                control.set(ValueLayout.JAVA_INT, Native.CMSG_DATA, credPid);
                control.set(ValueLayout.JAVA_INT, Native.CMSG_DATA + 4, Native.getuid());
                control.set(ValueLayout.JAVA_INT, Native.CMSG_DATA + 8, 0);
                msg.set(ValueLayout.JAVA_LONG, Native.MSG_CONTROL, control.address());
                msg.set(ValueLayout.JAVA_LONG, Native.MSG_CONTROLLEN, 32);
            }
            return Native.sendmsg(fd, msg, Native.MSG_NOSIGNAL);
        }
    }

    /** Waits for the daemon to hang up: recv returns end of stream (or a reset). */
    private static void assertHungUp(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(64);
            MemorySegment iov = a.allocate(16);
            iov.set(ValueLayout.JAVA_LONG, 0, buf.address());
            iov.set(ValueLayout.JAVA_LONG, 8, 64);
            MemorySegment msg = a.allocate(Native.MSGHDR_SIZE);
            msg.set(ValueLayout.JAVA_LONG, Native.MSG_IOV, iov.address());
            msg.set(ValueLayout.JAVA_LONG, Native.MSG_IOVLEN, 1);
            assertThat(Native.recvmsg(fd, msg, 0)).isLessThanOrEqualTo(0);
        }
        Native.close(fd);
    }

    private static byte[] request(int op, int fd, long ino, long... a) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(Protocol.REQUEST_SIZE).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(op).putInt(fd).putLong(ino);
        for (int i = 0; i < 4; i++) {
            b.putLong(i < a.length ? a[i] : 0);
        }
        return b.array();
    }

    private void assertServesAClientAfterwards() throws Exception {
        Path exe = NativeClients.program("client");
        NativeClients.Result r = NativeClients.run(NativeClients.underShim(server, exe.toString(), "basic"), 60);
        assertThat(r.output()).isEmpty();
        assertThat(r.status()).isZero();
    }

    @Test
    void garbageClosesTheConnection() throws Exception {
        int fd = connect();
        assertThat(send(fd, new byte[] {1, 2, 3, 4, 5}, 0)).isEqualTo(5);
        assertHungUp(fd);
        NativeClientTest.awaitUntil(() -> server.connectionCount() == 0);
        assertServesAClientAfterwards();
    }

    @Test
    void unknownRequestsAndOversizedStructWindowsCloseTheConnection() throws Exception {
        int fd = connect();
        assertThat(send(fd, request(77, -1, 0), 0)).isEqualTo(Protocol.REQUEST_SIZE);
        assertHungUp(fd);
        fd = connect();
        assertThat(send(fd, request(Protocol.OP_IOCTL, 3, 0, 0, 0, 1 << 20), 0)).isEqualTo(Protocol.REQUEST_SIZE);
        assertHungUp(fd);
        NativeClientTest.awaitUntil(() -> server.connectionCount() == 0);
        assertServesAClientAfterwards();
    }

    @Test
    void aMessageWithSomeoneElsesCredentialsClosesTheConnection() throws Exception {
        int fd = connect();
        // Root may claim another pid; the daemon only serves the process that connected.
        long sent = send(fd, request(Protocol.OP_OPEN, -1, 0, 2, Protocol.DEVICE_IOMMU), 1);
        if (sent < 0) {
            Native.close(fd);
            return; // not privileged enough to even try
        }
        assertHungUp(fd);
        assertThat(server.openFileCount()).isZero();
        assertServesAClientAfterwards();
    }

    @Test
    void callsNamingAFileTheCallerDoesNotHoldAreEbadf() throws Exception {
        int fd = connect();
        // An inode nobody has, and an fd number that is not a uiommu file of this process.
        assertThat(send(fd, request(Protocol.OP_IOCTL, 0, 12345, 0x3b80, 0, 0), 0)).isEqualTo(Protocol.REQUEST_SIZE);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(64);
            MemorySegment iov = a.allocate(16);
            iov.set(ValueLayout.JAVA_LONG, 0, buf.address());
            iov.set(ValueLayout.JAVA_LONG, 8, 64);
            MemorySegment msg = a.allocate(Native.MSGHDR_SIZE);
            msg.set(ValueLayout.JAVA_LONG, Native.MSG_IOV, iov.address());
            msg.set(ValueLayout.JAVA_LONG, Native.MSG_IOVLEN, 1);
            assertThat(Native.recvmsg(fd, msg, 0)).isEqualTo(Protocol.REPLY_SIZE);
            assertThat(buf.get(ValueLayout.JAVA_INT, 0)).isEqualTo(Protocol.DONE);
            assertThat(buf.get(ValueLayout.JAVA_LONG, 8)).isEqualTo(-9); // EBADF
        }
        Native.close(fd);
    }

    @Test
    void theSocketIsOnlyForItsOwner() throws Exception {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(server.socketPath())))
                .isEqualTo("rw-------");
    }
}
