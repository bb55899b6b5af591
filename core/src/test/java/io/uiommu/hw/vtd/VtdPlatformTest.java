package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.Platform;
import io.uiommu.platform.PciDevice;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The machine builds a VT-d unit from a platform's "vtd" model; DMA goes through its tables. */
class VtdPlatformTest {
    @Test
    void coreBuildsTheUnitAndItsDevices() {
        PhysicalMemory memory = new PhysicalMemory();
        Platform platform = new Platform("vtd-test",
                List.of(VtdFixture.unit(48, 48, 20, true, true, Map.of())),
                List.of(new PciDevice("nic0", "00:03.0", 0, "dmar0", 20, true, false),
                        new PciDevice("nic1", "00:04.0", 1, "dmar0", 0, false, false)));
        IommuCore core = IommuCore.forPlatform(platform, memory);
        IommuDevice nic0 = core.devices().getFirst();
        assertThat(nic0).isInstanceOf(VtdDevice.class);
        assertThat(nic0.maxPasids()).isEqualTo(1 << 20);
        assertThat(core.devices().get(1).maxPasids()).isZero();

        IommuDomain d = nic0.driver().domainAllocUser(nic0, 0, null, null);
        d.map(0x1000, 0x7000_0000L, 4096, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
        core.claimDmaOwner(nic0);
        core.attachDevice(nic0, d);
        byte[] b = {42};
        assertThat(core.dma(nic0, -1, 0x1000, b, 0, 1, true).ok()).isTrue();
        core.attachDevicePasid(nic0, 9, d, false);
        assertThat(core.dma(nic0, 9, 0x1000, b, 0, 1, false).ok()).isTrue();
        core.releaseDmaOwner(nic0);
        var fault = core.dma(nic0, 9, 0x1000, b, 0, 1, false).fault();
        assertThat(fault.name()).isEqualTo("PASID_ENTRY_NOT_PRESENT");
        assertThat(core.dma(nic0, -1, 0x1000, b, 0, 1, false).fault().code()).isEqualTo(0x59);
    }
}
