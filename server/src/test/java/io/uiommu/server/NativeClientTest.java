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
    void dupAndForkShareTheContext() throws Exception {
        NativeClients.Result r = client("share");
        assertThat(r.output()).isEmpty();
        assertThat(r.status()).isZero();
        assertThat(server.openFileCount()).isZero();
    }
}
