package io.uiommu.hw.amd;

import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.Translation;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The AMD model in a machine built from a platform, driven through the iommu core as iommufd drives it. */
class AmdPlatformTest {
    final PhysicalMemory memory = new PhysicalMemory();
    final IommuCore core = IommuCore.forPlatform(new Platform("amd",
            List.of(new IommuUnit("ivhd0", "amd", 48, 48, List.of(4096L), 16, true, true, true, Map.of())),
            List.of(new PciDevice("nic0", "00:03.0", 0x18, "ivhd0", 16, true, false),
                    new PciDevice("nvme0", "00:05.0", 0x28, "ivhd0", 0, false, false))), memory);

    @Test
    void devicesGetTheirPasidsAndDmaGoesThroughTheModel() {
        IommuDevice nic = core.device("nic0");
        assertThat(nic).isInstanceOf(AmdDevice.class);
        assertThat(((AmdDevice) nic).deviceId()).isEqualTo(0x18);
        assertThat(nic.maxPasids()).isEqualTo(65535);
        assertThat(core.device("nvme0").maxPasids()).isZero();

        core.claimDmaOwner(nic);
        IommuDomain d = nic.driver().domainAllocUser(nic, 0, null, null);
        core.attachDevice(nic, d);
        long pa = memory.allocateFrame() << PhysicalMemory.PAGE_SHIFT;
        d.map(0x10_0000, pa, 4096, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
        byte[] hello = "hello".getBytes();
        assertThat(core.dma(nic, Translation.NO_PASID, 0x10_0010, hello, 0, hello.length, true).ok()).isTrue();
        byte[] back = new byte[5];
        memory.read(pa + 0x10, back, 0, 5);
        assertThat(new String(back)).isEqualTo("hello");

        // Linux's AMD driver has set_dev_pasid for SVA domains only: a paging domain is EOPNOTSUPP.
        IommufdException e = assertThrows(IommufdException.class,
                () -> core.attachDevicePasid(nic, 5, d, false));
        assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);

        core.releaseDmaOwner(nic);
        DmaResult blocked = core.dma(nic, Translation.NO_PASID, 0x10_0010, hello, 0, 1, false);
        assertThat(blocked.fault().name()).isEqualTo("IO_PAGE_FAULT");
    }

    @Test
    void svaPasidThroughTheCore() {
        IommuDevice nic = core.device("nic0");
        AmdIommu iommu = (AmdIommu) nic.driver();
        IommuDomain v2 = iommu.domainAllocUser(nic, AmdIommu.IOMMU_HWPT_ALLOC_PASID, null, null);
        core.attachDevice(nic, v2);
        AmdSvaDomain sva = iommu.domainAllocSva(nic, memory.allocateFrame() << PhysicalMemory.PAGE_SHIFT);
        core.attachDevicePasid(nic, 9, sva, false);
        assertThat(nic.pasidDomain(9)).isSameAs(sva);
        assertThat(((AmdDevice) nic).programmedDomain(9)).isSameAs(sva);
        core.detachDevicePasid(nic, 9);
        assertThat(((AmdDevice) nic).programmedDomain(9)).isNull();
    }
}
