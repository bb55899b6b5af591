package io.uiommu.scenario;

import io.uiommu.platform.Platform;
import io.uiommu.uapi.DevIommu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PlatformReaderTest {
    private static final String UNIT = "{\"name\": \"u0\", \"model\": \"vtd\"}";

    private static String file(String iommus, String devices) {
        return "{\"uiommu_platform\": 1, \"name\": \"p\", \"iommus\": [" + iommus + "], \"devices\": [" + devices + "]}";
    }

    private static String error(String text) {
        try {
            PlatformReader.parse("p.json", text);
        } catch (ScenarioException e) {
            return e.getMessage();
        }
        throw new AssertionError("no error for " + text);
    }

    @Test
    void everyPresetLoadsAndMockMatchesTheJavaPreset() throws Exception {
        for (String name : Platforms.PRESETS) {
            Platform p = Platforms.preset(name);
            assertThat(p.name()).isEqualTo(name);
            assertThat(p.iommus()).isNotEmpty().allMatch(u -> u.model().equals(name));
            assertThat(p.devices()).isNotEmpty();
        }
        assertThat(Platforms.preset("mock")).isEqualTo(Platform.mock());
    }

    @Test
    void presetsAreTheFilesOfPlatformsDir() throws Exception {
        Path dir = Path.of("..", "platforms");
        for (String name : Platforms.PRESETS) {
            assertThat(PlatformReader.read(dir.resolve(name + ".json"))).isEqualTo(Platforms.preset(name));
        }
    }

    @Test
    void mockPresetBuildsAMachine() throws Exception {
        DevIommu dev = new DevIommu(Platforms.preset("mock"));
        assertThat(dev.iommu().device("dev0")).isNotNull();
        assertThat(dev.platform().name()).isEqualTo("mock");
    }

    @Test
    void defaultsFillWhatIsLeftOut() throws Exception {
        Platform p = PlatformReader.parse("p.json", file(UNIT, "{\"name\": \"d\", \"bdf\": \"01:02.3\"}"));
        var u = p.iommu("u0");
        assertThat(u.inputAddressBits()).isEqualTo(48);
        assertThat(u.granules()).containsExactly(4096L);
        assertThat(u.pasidBits()).isZero();
        assertThat(u.nesting()).isFalse();
        var d = p.device("d");
        assertThat(d.iommu()).as("the only unit").isEqualTo("u0");
        assertThat(d.streamId()).as("the requester id").isEqualTo(0x0113);
        assertThat(d.ats()).isFalse();
    }

    @Test
    void numbersMayBeHexStringsAndRegistersAre64Bit() throws Exception {
        Platform p = PlatformReader.parse("p.json", file("{\"name\": \"s\", \"model\": \"smmuv3\", \"granules\": [4096, "
                + "\"0x10000\"], \"registers\": {\"IDR0\": \"0xffffffff00000001\", \"IDR5\": 5}}",
                "{\"name\": \"d\", \"bdf\": \"00:01.0\", \"stream_id\": \"0x40\"}"));
        assertThat(p.iommu("s").granules()).containsExactly(4096L, 65536L);
        assertThat(p.iommu("s").registers()).containsEntry("IDR0", 0xffffffff00000001L).containsEntry("IDR5", 5L);
        assertThat(p.device("d").streamId()).isEqualTo(0x40);
    }

    @Test
    void errorsNameTheFileAndTheValue() {
        assertThat(error("{")).startsWith("p.json:1: bad JSON");
        assertThat(error("[]")).isEqualTo("p.json: a platform file is one JSON object");
        assertThat(error("{\"uiommu_platform\": 2, \"name\": \"p\", \"iommus\": []}"))
                .contains("platform format version 2 is not supported");
        assertThat(error("{\"name\": \"p\", \"iommus\": []}")).contains("the platform needs \"uiommu_platform\"");
        assertThat(error(file("", ""))).contains("\"iommus\" is empty");
        assertThat(error("{\"uiommu_platform\": 1, \"name\": \"p\", \"iommus\": [" + UNIT + "], \"devicez\": []}"))
                .contains("the platform has no member \"devicez\" (did you mean devices?)");
        assertThat(error(file("{\"name\": \"u0\", \"model\": \"vtd\", \"pasid_bit\": 3}", "")))
                .isEqualTo("p.json: iommus[0] (u0) has no member \"pasid_bit\" (did you mean pasid_bits?)");
        assertThat(error(file("{\"name\": \"u0\"}", ""))).contains("iommus[0] (u0) needs \"model\"");
        assertThat(error(file("{\"name\": \"u0\", \"model\": \"vtx\"}", "")))
                .contains("iommu u0: model \"vtx\" is not one of [mock, vtd, smmuv3, amd]");
        assertThat(error(file("{\"name\": \"u0\", \"model\": \"vtd\", \"nesting\": 1}", "")))
                .contains("\"nesting\" of iommus[0] (u0) must be true or false");
        assertThat(error(file("{\"name\": \"u0\", \"model\": \"vtd\", \"pasid_bits\": -1}", "")))
                .contains("\"pasid_bits\" of iommus[0] (u0): -1 is not an unsigned 64-bit value");
        assertThat(error(file("{\"name\": \"u0\", \"model\": \"vtd\", \"granules\": 4096}", "")))
                .contains("\"granules\" of iommus[0] (u0) must be an array");
        assertThat(error(file("{\"name\": \"u0\", \"model\": \"vtd\", \"registers\": {\"CAP\": \"zz\"}}", "")))
                .contains("register CAP of iommus[0] (u0): \"zz\" is not a number");
        assertThat(error(file(UNIT, "{\"name\": \"d\"}"))).contains("devices[0] (d) needs \"bdf\"");
        assertThat(error(file(UNIT, "{\"name\": \"d\", \"bdf\": \"0:1.0\"}"))).contains("device d: bdf \"0:1.0\"");
        assertThat(error(file(UNIT + ", {\"name\": \"u1\", \"model\": \"amd\"}", "{\"name\": \"d\", \"bdf\": \"00:01.0\"}")))
                .as("two units: a device must say which").contains("devices[0] (d) needs \"iommu\"");
        assertThat(error(file(UNIT, "{\"name\": \"d\", \"bdf\": \"00:01.0\", \"iommu\": \"u9\"}")))
                .contains("device d: iommu \"u9\" is not a unit of the platform [u0]");
        assertThat(error(file(UNIT, "3"))).contains("devices[0] must be an object");
    }

    @Test
    void loadTakesAPresetOrAFileBesideTheScenario(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("mine.json"), file(UNIT.replace("vtd", "mock"), ""));
        assertThat(Platforms.load("mine.json", dir).name()).isEqualTo("p");
        assertThat(Platforms.load(dir.resolve("mine.json").toString(), null).name()).isEqualTo("p");
        assertThat(Platforms.load("smmuv3", dir).name()).isEqualTo("smmuv3");
        assertThatThrownBy(() -> Platforms.load("smmu3", dir)).isInstanceOf(ScenarioException.class)
                .hasMessageContaining("neither a preset platform (mock, vtd, smmuv3, amd) nor a platform file")
                .hasMessageContaining("did you mean smmuv3?");
        assertThatThrownBy(() -> Platforms.preset("nope")).hasMessageContaining("no preset platform nope");
    }
}
