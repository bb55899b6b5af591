package io.uiommu.server;

import io.uiommu.uapi.DevIommu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class NativeClientTest {
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

    private NativeClients.Result client(String test) throws Exception {
        Path exe = NativeClients.program("client");
        return NativeClients.run(NativeClients.underShim(server, exe.toString(), test), 60);
    }

    @Test
    void openAllocMapUnmapDestroyClose() throws Exception {
        NativeClients.Result r = client("basic");
        assertThat(r.output()).isEmpty();
        assertThat(r.status()).isZero();
        assertThat(server.openFileCount()).isZero();
    }

    @Test
    void theCallListenerSeesEachCallWithItsStructBytes() throws Exception {
        java.util.List<CallListener.Call> calls = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        server.setCallListener(calls::add);
        assertThat(client("basic").status()).isZero();
        CallListener.Call open = calls.getFirst();
        assertThat(open.kind()).isEqualTo(CallListener.Kind.OPEN);
        assertThat(open.file()).isEqualTo("/dev/iommu");
        CallListener.Call alloc = calls.get(1);
        assertThat(alloc.kind()).isEqualTo(CallListener.Kind.IOCTL);
        assertThat(alloc.request()).isEqualTo(io.uiommu.uapi.Ioctl.IOMMU_IOAS_ALLOC.code());
        assertThat(alloc.fd()).isEqualTo((int) open.result());
        assertThat(alloc.result()).isZero();
        assertThat(alloc.argBefore()).hasSize(12);
        assertThat(alloc.argBefore()[8]).isZero();
        assertThat(alloc.argAfter()[8]).isEqualTo((byte) 1); // out_ioas_id
        assertThat(calls).anyMatch(c -> c.kind() == CallListener.Kind.IOCTL && c.result() == -22); // the short struct
    }

    @Test
    void aPythonClientUsesFcntlIoctl() throws Exception {
        String python = java.util.stream.Stream.of("/usr/bin/python3", "/usr/local/bin/python3")
                .filter(p -> java.nio.file.Files.isExecutable(Path.of(p))).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(python != null, "python3 is not installed");
        Path script = NativeClients.MODULE.resolve("src/test/python/client.py");
        NativeClients.Result r = NativeClients.run(NativeClients.underShim(server, python, script.toString()), 60);
        assertThat(r.output()).isEqualTo("ok\n");
        assertThat(r.status()).isZero();
        assertThat(server.openFileCount()).isZero();
    }

    @Test
    void faultQueueFdIsARealFdThatHoldsTheObject() throws Exception {
        NativeClients.Result r = client("fault");
        assertThat(r.output()).isEmpty();
        assertThat(r.status()).isZero();
        assertThat(server.openFileCount()).isZero();
    }

    @Test
    void accessFdsResolveAndReachTheClientsPages() throws Exception {
        NativeClients.Result r = client("access");
        assertThat(r.output()).isEmpty();
        assertThat(r.status()).isZero();
        assertThat(server.openFileCount()).isZero();
        assertThat(server.pinnedClientPages()).isZero();
    }

    @Test
    void aKilledClientLeavesNoContextNoPinAndNoConnection() throws Exception {
        Path exe = NativeClients.program("client");
        ProcessBuilder pb = NativeClients.underShim(server, exe.toString(), "hold");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String line = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
        assertThat(line).isEqualTo("ready");
        assertThat(server.openFileCount()).isEqualTo(1);
        assertThat(server.pinnedClientPages()).isEqualTo(256);
        long frames = server.devIommu().physical().framesInUse();
        p.destroyForcibly().waitFor();
        awaitUntil(() -> server.openFileCount() == 0 && server.connectionCount() == 0);
        assertThat(server.pinnedClientPages()).isZero();
        assertThat(server.devIommu().physical().framesInUse()).isLessThanOrEqualTo(frames - 256);
        assertThat(client("basic").status()).isZero();
    }

    static void awaitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within 10 s").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    @Test
    void dupAndForkShareTheContext() throws Exception {
        NativeClients.Result r = client("share");
        assertThat(r.output()).isEmpty();
        assertThat(r.status()).isZero();
        assertThat(server.openFileCount()).isZero();
    }
}
