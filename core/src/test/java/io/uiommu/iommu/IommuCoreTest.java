package io.uiommu.iommu;

import io.uiommu.hw.mock.MockIommuDriver;
import io.uiommu.hw.mock.MockPagingDomain;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IommuCoreTest {
    private static final long DIRTY_BIT = 1L << 60;
    private final PhysicalMemory memory = new PhysicalMemory();

    @Test
    void selftestMachineHasOnlyTheMockDriver() {
        IommuCore core = IommuCore.withMockIommu(memory);
        assertThat(core.devices()).isEmpty();
        assertThat(core.platform()).isSameAs(Platform.SELFTEST);
        assertThat(core.mock().createDevice(0).name()).isEqualTo("iommufd_mock0");
    }

    @Test
    void mockPlatformBuildsDevicesBehindTheSharedMockDriver() {
        IommuCore core = IommuCore.forPlatform(Platform.mock(), memory);
        assertThat(core.devices()).extracting(IommuDevice::name).containsExactly("dev0", "dev1");
        IommuDevice dev0 = core.device("dev0");
        assertThat(dev0.driver()).isSameAs(core.mock()).isSameAs(core.unitDriver("mock0"));
        assertThat(dev0.maxPasids()).isEqualTo(1 << 20);
        assertThat(core.device("dev1").maxPasids()).isZero();
        assertThat(dev0.domain().type()).isEqualTo(IommuDomain.Type.BLOCKED);
        // Selftest device numbering is untouched by platform devices.
        assertThat(core.mock().createDevice(0).name()).isEqualTo("iommufd_mock0");
    }

    @Test
    void unitWithoutDirtyTrackingGivesDevicesWithoutIt() {
        IommuUnit unit = new IommuUnit("m", "mock", 48, 48, List.of(4096L), 0, false, false, false, Map.of());
        Platform p = new Platform("p", List.of(unit), List.of(new PciDevice("d", "00:01.0", 0, "m", 0, false, false)));
        IommuCore core = IommuCore.forPlatform(p, memory);
        IommuDevice d = core.device("d");
        assertThat(d.driver().capable(d, IommuDriver.Cap.DIRTY_TRACKING)).isFalse();
    }

    @Test
    void eachModelBuildsItsVendorDriverWithTheDevicesBehindIt() {
        for (String model : List.of("vtd", "smmuv3", "amd")) {
            IommuUnit unit = new IommuUnit("u", model, 48, 48, List.of(4096L), 16, true, false, false, Map.of());
            Platform p = new Platform("p", List.of(unit), List.of(new PciDevice("d", "00:03.0", 24, "u", 16, false, false)));
            IommuCore core = IommuCore.forPlatform(p, memory);
            IommuDriver driver = core.unitDriver("u");
            assertThat(driver).as(model).isInstanceOf(switch (model) {
                case "vtd" -> io.uiommu.hw.vtd.VtdIommu.class;
                case "smmuv3" -> io.uiommu.hw.smmuv3.ArmSmmuV3.class;
                default -> io.uiommu.hw.amd.AmdIommu.class;
            });
            assertThat(((IommuHardware) driver).unit()).isSameAs(unit);
            assertThat(core.device("d").driver()).isSameAs(driver);
            assertThat(core.device("d").maxPasids()).as(model).isEqualTo(1 << 16);
        }
        assertThat(IommuCore.AVAILABLE_MODELS).containsExactlyElementsOf(Platform.MODELS);
    }

    @Test
    void pasidAttachReachesDriversWithThreeArgumentHooks() {
        for (String model : List.of("vtd", "amd", "smmuv3")) {
            IommuCore core = IommuCore.forPlatform(new Platform("p", List.of(new IommuUnit("u", model, 48, 48,
                    List.of(4096L), 16, true, false, false, Map.of())), List.of(new PciDevice("d", "00:03.0", 24, "u",
                    16, true, false))), memory);
            IommuDevice dev = core.device("d");
            IommuDriver driver = dev.driver();
            IommuDomain a = driver.domainAllocUser(dev, 0, null, null);
            IommuDomain b = driver.domainAllocUser(dev, 0, null, null);
            long frame = memory.allocateFrame();
            a.map(0x10_0000, frame << 12, 4096, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
            Errno attach = errno(() -> core.attachDevicePasid(dev, 5, a, false));
            if (model.equals("amd")) {
                // AMD's set_dev_pasid takes SVA domains only, as Linux's driver does.
                assertThat(attach).isEqualTo(Errno.EOPNOTSUPP);
                continue;
            }
            assertThat(attach).as(model).isNull();
            byte[] b1 = {9};
            assertThat(core.dma(dev, 5, 0x10_0000, b1, 0, 1, true).ok()).as(model).isTrue();
            assertThat(memory.readLong(frame << 12) & 0xff).isEqualTo(9);
            core.attachDevicePasid(dev, 5, b, true);
            assertThat(core.dma(dev, 5, 0x10_0000, b1, 0, 1, true).ok()).as(model + " after replace").isFalse();
            core.detachDevicePasid(dev, 5);
            assertThat(dev.pasidDomain(5)).isNull();
        }
    }

    @Test
    void ownershipIsExclusiveAndReleaseBlocksEverything() {
        IommuCore core = IommuCore.forPlatform(Platform.mock(), memory);
        IommuDevice dev = core.device("dev0");
        core.claimDmaOwner(dev);
        assertThat(errno(() -> core.claimDmaOwner(dev))).isEqualTo(Errno.EBUSY);
        IommuDomain d = core.mock().domainAllocUser(dev, 0, null, null);
        core.attachDevice(dev, d);
        core.attachDevicePasid(dev, 5, d, false);
        core.releaseDmaOwner(dev);
        assertThat(dev.owned()).isFalse();
        assertThat(dev.domain()).isSameAs(core.mock().blockedDomain());
        assertThat(dev.pasidDomain(5)).isNull();
    }

    @Test
    void pasidAttachRules() {
        IommuCore core = IommuCore.forPlatform(Platform.mock(), memory);
        IommuDevice dev0 = core.device("dev0");
        IommuDevice dev1 = core.device("dev1");
        IommuDomain d = core.mock().domainAllocUser(dev0, 0, null, null);
        IommuDomain d2 = core.mock().domainAllocUser(dev0, 0, null, null);
        assertThat(errno(() -> core.attachDevicePasid(dev0, 0, d, false))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> core.attachDevicePasid(dev0, 1 << 20, d, false))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> core.attachDevicePasid(dev0, -1, d, false))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> core.attachDevicePasid(dev1, 1, d, false))).isEqualTo(Errno.EOPNOTSUPP);
        assertThat(errno(() -> core.attachDevicePasid(dev0, 1, core.mock().blockedDomain(), false)))
                .isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> core.attachDevicePasid(dev0, 1, d, true))).isEqualTo(Errno.EINVAL);
        core.attachDevicePasid(dev0, 1, d, false);
        assertThat(errno(() -> core.attachDevicePasid(dev0, 1, d2, false))).isEqualTo(Errno.EBUSY);
        assertThat(dev0.pasidDomain(1)).isSameAs(d);
        core.attachDevicePasid(dev0, 1, d2, true);
        core.attachDevicePasid(dev0, 7, d, false);
        assertThat(dev0.pasidDomain(1)).isSameAs(d2);
        assertThat(dev0.attachedPasids()).containsExactly(1, 7);
        core.detachDevicePasid(dev0, 1);
        core.detachDevicePasid(dev0, 1);
        assertThat(dev0.pasidDomain(1)).isNull();
        assertThat(dev0.attachedPasids()).containsExactly(7);
    }

    @Test
    void dmaThroughMockDomainMovesBytesAndFaultsPastTheMapping() {
        IommuCore core = IommuCore.forPlatform(Platform.mock(), memory);
        IommuDevice dev = core.device("dev0");
        IommuDomain d = core.mock().domainAllocUser(dev, 0, null, null);
        long frameA = memory.allocateFrame();
        long frameB = memory.allocateFrame();
        long iova = MockIommuDriver.MOCK_APERTURE_START;
        // Two 2 KiB I/O pages to the second halves of two frames: a 4 KiB DMA crosses them.
        d.map(iova, (frameA << 12) + 2048, 2048, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
        d.map(iova + 2048, (frameB << 12) + 2048, 2048, IommuDomain.IOMMU_READ);
        byte[] data = new byte[4096];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        assertThat(core.dma(dev, Translation.NO_PASID, iova, data, 0, 16, true).fault().name())
                .isEqualTo("MOCK_BLOCKED");
        core.attachDevice(dev, d);
        DmaResult w = core.dma(dev, Translation.NO_PASID, iova, data, 0, 4096, true);
        assertThat(w.bytesDone()).isEqualTo(2048);
        assertThat(w.fault()).isEqualTo(new DmaResult.Fault(iova + 2048, Translation.NO_PASID, true,
                MockIommuDriver.FAULT_PERMISSION, "MOCK_PERMISSION", 1, false));
        byte[] back = new byte[2048];
        memory.read((frameA << 12) + 2048, back, 0, 2048);
        assertThat(back).isEqualTo(Arrays.copyOf(data, 2048));
        memory.write((frameB << 12) + 2048, data, 2048, 2048);
        byte[] all = new byte[4096];
        DmaResult r = core.dma(dev, Translation.NO_PASID, iova, all, 0, 4096, false);
        assertThat(r.ok()).isTrue();
        assertThat(all).isEqualTo(data);
        DmaResult past = core.dma(dev, Translation.NO_PASID, iova + 4096, all, 0, 8, false);
        assertThat(past.fault().name()).isEqualTo("MOCK_NOT_PRESENT");
        assertThat(past.fault().level()).isEqualTo(1);
        assertThat(past.bytesDone()).isZero();
    }

    @Test
    void dmaWithPasidUsesThePasidDomain() {
        IommuCore core = IommuCore.forPlatform(Platform.mock(), memory);
        IommuDevice dev = core.device("dev0");
        IommuDomain d = core.mock().domainAllocUser(dev, 0, null, null);
        long frame = memory.allocateFrame();
        long iova = MockIommuDriver.MOCK_APERTURE_START;
        d.map(iova, frame << 12, 4096, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
        byte[] b = {1, 2, 3};
        assertThat(core.dma(dev, 3, iova, b, 0, 3, true).fault().name()).isEqualTo("MOCK_BLOCKED");
        core.attachDevicePasid(dev, 3, d, false);
        assertThat(core.dma(dev, 3, iova, b, 0, 3, true).ok()).isTrue();
        assertThat(core.dma(dev, Translation.NO_PASID, iova, b, 0, 3, true).ok()).isFalse();
        assertThat(memory.readLong(frame << 12) & 0xffffff).isEqualTo(0x030201);
    }

    @Test
    void deviceWriteMarksDirtyWhenTracking() {
        IommuCore core = IommuCore.forPlatform(Platform.mock(), memory);
        IommuDevice dev = core.device("dev0");
        var d = (MockPagingDomain) core.mock().domainAllocUser(dev, 1 << 1, null, null);
        long frame = memory.allocateFrame();
        long iova = MockIommuDriver.MOCK_APERTURE_START;
        d.map(iova, frame << 12, 4096, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE);
        core.attachDevice(dev, d);
        core.dma(dev, Translation.NO_PASID, iova + 2048, new byte[1], 0, 1, true);
        assertThat(d.entry(iova + 2048) & DIRTY_BIT).isZero();
        d.setDirtyTracking(true);
        core.dma(dev, Translation.NO_PASID, iova, new byte[1], 0, 1, false);
        core.dma(dev, Translation.NO_PASID, iova + 2048, new byte[1], 0, 1, true);
        assertThat(d.entry(iova) & DIRTY_BIT).isZero();
        assertThat(d.entry(iova + 2048) & DIRTY_BIT).isNotZero();
    }

    @Test
    void faultNamesAreNumberedOnce() {
        IommuCore core = IommuCore.withMockIommu(memory);
        assertThat(core.faultNameIndex(null)).isZero();
        int a = core.faultNameIndex("A");
        int b = core.faultNameIndex("B");
        assertThat(core.faultNameIndex("A")).isEqualTo(a).isEqualTo(1);
        assertThat(b).isEqualTo(2);
        assertThat(core.faultName(2)).isEqualTo("B");
        assertThat(core.faultName(0)).isNull();
        assertThat(core.faultName(3)).isNull();
    }

    @Test
    void auditorNamesOperationsUnlessAStepIsSet() {
        StaleTranslationAuditor a = IommuCore.withMockIommu(memory).auditor();
        assertThat(a.currentStep()).isEqualTo("start");
        a.setOperation("ioctl IOMMU_IOAS_MAP");
        assertThat(a.currentStep()).isEqualTo("#1 ioctl IOMMU_IOAS_MAP");
        a.setStep("line 3: dma dev0");
        a.setOperation("ioctl IOMMU_IOAS_MAP");
        assertThat(a.currentStep()).isEqualTo("line 3: dma dev0");
        a.setStep(null);
        assertThat(a.currentStep()).isEqualTo("#2 ioctl IOMMU_IOAS_MAP");
    }

    static Errno errno(Runnable r) {
        try {
            r.run();
            return null;
        } catch (IommufdException e) {
            return e.errno();
        }
    }
}
