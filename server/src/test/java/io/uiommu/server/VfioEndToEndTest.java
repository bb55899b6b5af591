package io.uiommu.server;

import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;
import io.uiommu.uapi.DevIommu;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * native/tests/vfio_dma_engine.c, the end-to-end VFIO client, under the shim against a daemon whose
 * machine is one unit of each vendor with a dma-engine that has PASID, ATS and PRI: bind, attach,
 * DMA with its MSI eventfd, a DMA fault, an I/O page fault answered through the fault fd and a
 * PASID attached through VFIO (neither on AMD), dirty tracking and, on SMMUv3, a guest event read
 * from a vEVENTQ, each checked by the program.
 */
class VfioEndToEndTest {
    @TempDir
    Path dir;

    static Platform machine(String model) {
        int pasidBits = model.equals("amd") ? 16 : 20;
        IommuUnit unit = new IommuUnit("iommu0", model, 48, model.equals("vtd") ? 46 : 48, List.of(4096L), pasidBits,
                true, true, true, Map.of());
        return new Platform(model, List.of(unit), List.of(new PciDevice("engine0", "00:04.0", 32, "iommu0", pasidBits, true, true)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3", "amd"})
    void theVfioClientDrivesTheDmaEngineEndToEnd(String model) throws Exception {
        Path exe = NativeClients.nativeTest("vfio_dma_engine");
        // 6.12's AMD driver attaches only SVA domains to PASIDs and turns PPR on only for them
        // (docs/faults.md): no paging domain on a PASID (EOPNOTSUPP), no page request to a fault fd.
        String[] cmd = model.equals("amd") ? new String[] {exe.toString(), "--skip", "iopf,pasid"}
                : new String[] {exe.toString()};
        try (UiommuServer server = UiommuServer.start(dir.resolve(model + ".sock"), new DevIommu(machine(model)))) {
            NativeClients.Result r = NativeClients.run(NativeClients.underShim(server, cmd), 120);
            assertThat(r.output()).as(r.output()).contains("all stages passed");
            assertThat(r.output().lines().filter(l -> l.contains("skipped")))
                    .as(r.output()).allMatch(l -> model.equals("amd") && l.contains("(--skip)")
                            || !model.equals("smmuv3") && l.contains("not an SMMUv3"));
            assertThat(r.status()).isZero();
            assertThat(server.openFileCount()).isZero();
            assertThat(server.pinnedClientPages()).isZero();
        }
    }
}
