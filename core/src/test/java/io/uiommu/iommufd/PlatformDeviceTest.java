package io.uiommu.iommufd;

import io.uiommu.hw.mock.MockIommuDriver;
import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.Translation;
import io.uiommu.platform.Platform;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The Java side of binding platform devices: bind by name, RID and PASID attachments, DMA, release. */
class PlatformDeviceTest {
    private final DevIommu dev = new DevIommu(Platform.mock());
    private final SimulatedProcess proc = new SimulatedProcess(dev.physical());
    private final IommufdContext ctx = new IommufdContext(dev.iommu(), proc);

    private static Errno errno(Runnable r) {
        try {
            r.run();
            return null;
        } catch (IommufdException e) {
            return e.errno();
        }
    }

    private Ioas newIoas() {
        return ctx.objects().add(id -> new Ioas(ctx));
    }

    @Test
    void bindByNameOrEnodev() {
        assertThat(errno(() -> Device.bindPlatform(ctx, "nic9"))).isEqualTo(Errno.ENODEV);
        Device d = Device.bindPlatform(ctx, "dev0");
        assertThat(d.platformBound()).isTrue();
        assertThat(d.iommuDevice()).isSameAs(dev.iommu().device("dev0"));
        assertThat(errno(() -> Device.bindPlatform(ctx, "dev0"))).isEqualTo(Errno.EBUSY);
        d.unbind();
        assertThat(ctx.objects().isEmpty()).isTrue();
        assertThat(dev.iommu().device("dev0").owned()).isFalse();
    }

    @Test
    void pasidAttachesShareTheIoasAutoDomainAndGoAwayWithIt() {
        Device d = Device.bindPlatform(ctx, "dev0");
        Ioas ioas = newIoas();
        int rid = d.attach(ioas.id());
        int p1 = d.attachPasid(1, ioas.id());
        int p2 = d.attachPasid(2, ioas.id());
        assertThat(p1).isEqualTo(rid).isEqualTo(p2);
        assertThat(errno(() -> d.attachPasid(1, ioas.id()))).isEqualTo(Errno.EBUSY);
        assertThat(errno(() -> d.replacePasid(3, ioas.id()))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> d.attachPasid(3, 99))).isEqualTo(Errno.ENOENT);
        assertThat(d.attachedPasids()).containsExactly(1, 2);
        d.unbind();
        assertThat(ctx.objects().objects()).containsExactly(ioas);
        assertThat(dev.iommu().device("dev0").attachedPasids()).isEmpty();
    }

    @Test
    void replacePasidMovesItToAnotherHwpt() {
        Device d = Device.bindPlatform(ctx, "dev0");
        Ioas a = newIoas();
        Ioas b = newIoas();
        int ha = d.attachPasid(4, a.id());
        int hb = d.replacePasid(4, b.id());
        assertThat(hb).isNotEqualTo(ha);
        assertThat(ctx.objects().find(ha)).isNull();
        assertThat(d.pasidHwpt(4).id()).isEqualTo(hb);
        d.detachPasid(4);
        assertThat(ctx.objects().find(hb)).isNull();
    }

    @Test
    void closingTheContextReleasesPlatformDevices() {
        Device d = Device.bindPlatform(ctx, "dev1");
        Ioas ioas = newIoas();
        d.attach(ioas.id());
        ctx.putFile();
        assertThat(ctx.objects().isEmpty()).isTrue();
        assertThat(dev.iommu().device("dev1").owned()).isFalse();
        assertThat(dev.iommu().device("dev1").domain()).isSameAs(dev.iommu().mock().blockedDomain());
    }

    @Test
    void dmaGoesThroughTheAttachedTable() {
        Device d = Device.bindPlatform(ctx, "dev0");
        long va = proc.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        Ioas ioas = newIoas();
        d.attach(ioas.id());
        DmaResult before = d.dma(Translation.NO_PASID, MockIommuDriver.MOCK_APERTURE_START, new byte[4], 0, 4, true);
        assertThat(before.fault().name()).isEqualTo("MOCK_NOT_PRESENT");
        ioas.iopt().mapUser(proc, va, 4096, MockIommuDriver.MOCK_APERTURE_START, true,
                IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE, false);
        DmaResult after = d.dma(Translation.NO_PASID, MockIommuDriver.MOCK_APERTURE_START + 8,
                new byte[] {1, 2, 3, 4}, 0, 4, true);
        assertThat(after.ok()).isTrue();
        byte[] seen = new byte[4];
        proc.read(va + 8, seen, 0, 4);
        assertThat(seen).containsExactly(1, 2, 3, 4);
    }
}
