package io.uiommu.platform;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PlatformTest {
    private static IommuUnit unit(String name, String model) {
        return new IommuUnit(name, model, 48, 48, List.of(4096L), 20, true, true, false, Map.of());
    }

    private static PciDevice dev(String name, String bdf, int sid, String unit) {
        return new PciDevice(name, bdf, sid, unit, 0, false, false);
    }

    @Test
    void mockPresetIsValidAndFindsByName() {
        Platform p = Platform.mock();
        assertThat(p.iommu("mock0").model()).isEqualTo("mock");
        assertThat(p.device("dev0").requesterId()).isEqualTo(0x0008);
        assertThat(p.device("dev1").requesterId()).isEqualTo(0x0010);
        assertThat(p.device("nope")).isNull();
    }

    @Test
    void requesterIdEncodesBusDeviceFunction() {
        assertThat(dev("a", "3a:1f.7", 0, "u").requesterId()).isEqualTo(0x3a << 8 | 0x1f << 3 | 7);
    }

    @Test
    void refusesUnknownModel() {
        assertThatThrownBy(() -> new Platform("p", List.of(unit("u", "powerpc")), List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("iommu u: model \"powerpc\"");
    }

    @Test
    void refusesDuplicateNames() {
        assertThatThrownBy(() -> new Platform("p", List.of(unit("u", "mock"), unit("u", "vtd")), List.of()))
                .hasMessageContaining("a second unit");
        assertThatThrownBy(() -> new Platform("p", List.of(unit("u", "mock")),
                List.of(dev("d", "00:01.0", 1, "u"), dev("d", "00:02.0", 2, "u"))))
                .hasMessageContaining("device d: a second device");
    }

    @Test
    void refusesDeviceBehindUnknownUnit() {
        assertThatThrownBy(() -> new Platform("p", List.of(unit("u", "mock")), List.of(dev("d", "00:01.0", 1, "x"))))
                .hasMessageContaining("device d: iommu \"x\" is not a unit of the platform [u]");
    }

    @Test
    void refusesBadBdfAndDuplicates() {
        for (String bad : List.of("0:01.0", "00:20.0", "00:01.8", "zz:01.0", "00-01.0")) {
            assertThatThrownBy(() -> new Platform("p", List.of(unit("u", "mock")), List.of(dev("d", bad, 1, "u"))))
                    .as(bad).hasMessageContaining("bdf \"" + bad + "\"");
        }
        assertThatThrownBy(() -> new Platform("p", List.of(unit("u", "mock")),
                List.of(dev("a", "00:01.0", 1, "u"), dev("b", "00:01.0", 2, "u"))))
                .hasMessageContaining("device b: bdf 00:01.0 is used twice behind u");
        assertThatThrownBy(() -> new Platform("p", List.of(unit("u", "mock")),
                List.of(dev("a", "00:01.0", 1, "u"), dev("b", "00:02.0", 1, "u"))))
                .hasMessageContaining("device b: stream_id 1 is used twice");
    }

    @Test
    void refusesOutOfRangeCapabilities() {
        assertThatThrownBy(() -> new Platform("p", List.of(new IommuUnit("u", "vtd", 48, 53, List.of(4096L), 0,
                false, false, false, Map.of())), List.of())).hasMessageContaining("iommu u: output_address_bits is 53");
        assertThatThrownBy(() -> new Platform("p", List.of(new IommuUnit("u", "vtd", 48, 48, List.of(8192L), 0,
                false, false, false, Map.of())), List.of())).hasMessageContaining("granule 8192");
        assertThatThrownBy(() -> new Platform("p", List.of(new IommuUnit("u", "vtd", 48, 48, List.of(), 0,
                false, false, false, Map.of())), List.of())).hasMessageContaining("granules is empty");
        assertThatThrownBy(() -> new Platform("p", List.of(new IommuUnit("u", "vtd", 48, 48, List.of(4096L), 21,
                false, false, false, Map.of())), List.of())).hasMessageContaining("pasid_bits is 21");
        assertThatThrownBy(() -> new Platform("p", List.of(unit("u", "mock")),
                List.of(new PciDevice("d", "00:01.0", -1, "u", 0, false, false)))).hasMessageContaining("negative");
    }

    @Test
    void refusesBadNames() {
        assertThatThrownBy(() -> new Platform("p", List.of(unit("a name", "mock")), List.of()))
                .hasMessageContaining("iommu name \"a name\"");
        assertThatThrownBy(() -> new Platform("p", List.of(unit("u", "mock")),
                List.of(dev("sixteen-chars-xx", "00:01.0", 1, "u")))).hasMessageContaining("1-15 characters");
        assertThatThrownBy(() -> new Platform(" ", List.of(), List.of())).hasMessageContaining("name is missing");
    }
}
