package io.uiommu.scenario;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The steps for the dma-engine and the VFIO cdev: open of a cdev, eventfd, pread/pwrite, ioctl tails, mmio and pci_config. */
class DeviceStepsTest {
    private static final String HEADER = "{\"uiommu_scenario\": 1, \"platform\": \"mock\"}";
    private static final String SETUP = String.join("\n", HEADER,
            "{\"step\": \"open\", \"as\": \"fd\"}",
            "{\"step\": \"open\", \"path\": \"/dev/vfio/devices/vfio0\", \"as\": \"vfio\"}",
            "{\"step\": \"mmap\", \"length\": 4096, \"as\": \"io\"}",
            "{\"step\": \"ioctl\", \"fd\": \"$vfio\", \"cmd\": \"VFIO_DEVICE_BIND_IOMMUFD\", \"args\": {\"iommufd\": \"$fd\"}}",
            "{\"step\": \"eventfd\", \"as\": \"efd\"}");

    private static List<String> failures(String... lines) throws Exception {
        Scenario s = ScenarioReader.parse("t.jsonl", SETUP + "\n" + String.join("\n", lines));
        return new Replayer().replay(s).failures().stream().map(StepOutcome::format).toList();
    }

    private static String error(String line) {
        try {
            ScenarioReader.parse("t.jsonl", SETUP + "\n" + line);
        } catch (ScenarioException e) {
            return e.detail();
        }
        throw new AssertionError("no error for " + line);
    }

    @Test
    void stepsRoundTripThroughTheWriter() throws Exception {
        String text = SETUP + "\n" + String.join("\n",
                "{\"step\": \"open\", \"path\": \"/dev/vfio/devices/vfio9\", \"as\": \"x\", \"expect\": {\"errno\": \"ENOENT\"}}",
                "{\"step\": \"eventfd\", \"as\": \"e2\", \"initval\": 3, \"flags\": \"EFD_SEMAPHORE\"}",
                "{\"step\": \"expect_eventfd\", \"fd\": \"$e2\", \"count\": 1}",
                "{\"step\": \"fd_read\", \"fd\": \"$vfio\", \"addr\": \"$io\", \"count\": 4, \"offset\": \"0x70000000000\"}",
                "{\"step\": \"fd_write\", \"fd\": \"$vfio\", \"addr\": \"$io\", \"count\": 4, \"offset\": 8, \"expect\": {\"ret\": 4}}",
                "{\"step\": \"ioctl\", \"fd\": \"$vfio\", \"cmd\": \"VFIO_DEVICE_SET_IRQS\", \"args\": {\"flags\": 36, \"index\": 1, "
                        + "\"count\": 1}, \"tail\": {\"array\": \"u32\", \"items\": [\"$efd\"]}}",
                "{\"step\": \"mmio\", \"device\": \"dev0\", \"bar\": 0, \"offset\": 32, \"width\": 4, \"value\": 5}",
                "{\"step\": \"mmio\", \"device\": \"dev0\", \"offset\": 32, \"width\": 4, \"expect\": 5, \"save\": \"len\"}",
                "{\"step\": \"pci_config\", \"device\": \"dev0\", \"offset\": 0, \"width\": 2, \"expect\": \"0x1234\"}");
        Scenario s = ScenarioReader.parse("t.jsonl", text);
        Scenario again = ScenarioReader.parse("t.jsonl", ScenarioWriter.write(s));
        assertThat(again.steps()).isEqualTo(s.steps());
        assertThat(new Replayer().replay(s).failures()).isEmpty();
    }

    @Test
    void readerRefusesMalformedSteps() {
        assertThat(error("{\"step\": \"open\", \"path\": \"/dev/null\", \"as\": \"x\"}")).contains("/dev/vfio/devices/vfioN");
        assertThat(error("{\"step\": \"open\", \"as\": \"x\", \"expect\": {\"ret\": 3}}")).contains("\"errno\" only");
        assertThat(error("{\"step\": \"mmio\", \"device\": \"dev0\", \"offset\": 0, \"width\": 4, \"value\": 1, \"expect\": 1}"))
                .contains("not both");
        assertThat(error("{\"step\": \"pci_config\", \"device\": \"dev0\", \"bar\": 0, \"offset\": 0, \"width\": 4}"))
                .contains("bar");
        assertThat(error("{\"step\": \"mmio\", \"offset\": 0, \"width\": 4}")).isEqualTo("step mmio needs \"device\"");
        assertThat(error("{\"step\": \"expect_eventfd\", \"fd\": \"$efd\"}")).isEqualTo("step expect_eventfd needs \"count\"");
        assertThat(error("{\"step\": \"ioctl\", \"fd\": \"$vfio\", \"cmd\": \"VFIO_DEVICE_SET_IRQS\", \"tail\": "
                + "{\"array\": \"u32\", \"items\": [1]}, \"tail_hex\": \"00\"}")).contains("give one");
        assertThat(error("{\"step\": \"ioctl\", \"fd\": \"$vfio\", \"cmd\": \"VFIO_DEVICE_SET_IRQS\", \"tail\": "
                + "{\"struct\": \"vfio_irq_info\"}}")).contains("is an array");
        assertThat(error("{\"step\": \"ioctl\", \"fd\": \"$vfio\", \"cmd\": \"VFIO_DEVICE_RESET\", \"tail\": "
                + "{\"array\": \"u32\", \"items\": [1]}}")).contains("integer argument");
    }

    @Test
    void replayReportsWhatDiffers() throws Exception {
        List<String> f = failures(
                "{\"step\": \"mmio\", \"device\": \"dev0\", \"offset\": 0, \"width\": 4, \"expect\": 1}",
                "{\"step\": \"mmio\", \"device\": \"nic9\", \"offset\": 0, \"width\": 4, \"expect\": 1}",
                "{\"step\": \"mmio\", \"device\": \"dev0\", \"offset\": 0, \"width\": 3}",
                "{\"step\": \"pci_config\", \"device\": \"dev0\", \"offset\": 4094, \"width\": 4}",
                "{\"step\": \"expect_eventfd\", \"fd\": \"$efd\", \"count\": 2}",
                "{\"step\": \"expect_eventfd\", \"fd\": \"$vfio\", \"count\": 0}",
                "{\"step\": \"open\", \"path\": \"/dev/vfio/devices/vfio7\", \"as\": \"x\"}",
                "{\"step\": \"open\", \"path\": \"/dev/vfio/devices/vfio1\", \"as\": \"y\", \"expect\": {\"errno\": \"ENOENT\"}}");
        assertThat(f).hasSize(8);
        assertThat(f.get(0)).contains("expected 0x1 at BAR0 +0x0, got 0x444d4145");
        assertThat(f.get(1)).contains("no dma-engine for device nic9");
        assertThat(f.get(2)).contains("3-byte access");
        assertThat(f.get(3)).contains("4-byte access");
        assertThat(f.get(4)).contains("expected the eventfd to count 2, got 0");
        assertThat(f.get(5)).contains("is not an eventfd");
        assertThat(f.get(6)).contains("ENOENT");
        assertThat(f.get(7)).contains("expected errno ENOENT, got success");
    }

    @Test
    void anInterruptReachesTheEventfdOfSetIrqs() throws Exception {
        assertThat(failures(
                "{\"step\": \"ioctl\", \"fd\": \"$vfio\", \"cmd\": \"VFIO_DEVICE_SET_IRQS\", \"args\": {\"flags\": "
                        + "\"VFIO_IRQ_SET_DATA_EVENTFD|VFIO_IRQ_SET_ACTION_TRIGGER\", \"index\": \"VFIO_PCI_MSI_IRQ_INDEX\", "
                        + "\"count\": 1}, \"tail\": {\"array\": \"u32\", \"items\": [\"$efd\"]}, \"expect\": {\"argsz\": 24}}",
                "{\"step\": \"pci_config\", \"device\": \"dev0\", \"offset\": 4, \"width\": 2, \"value\": 6}",
                "{\"step\": \"mmio\", \"device\": \"dev0\", \"offset\": \"0x2c\", \"width\": 4, \"value\": 3}",
                "{\"step\": \"mmio\", \"device\": \"dev0\", \"offset\": \"0x30\", \"width\": 4, \"value\": 1}",
                "{\"step\": \"mmio\", \"device\": \"dev0\", \"offset\": \"0x34\", \"width\": 4, \"expect\": 5}",
                "{\"step\": \"mmio\", \"device\": \"dev0\", \"offset\": \"0x38\", \"width\": 4, \"expect\": 3}",
                "{\"step\": \"expect_eventfd\", \"fd\": \"$efd\", \"count\": 1}",
                "{\"step\": \"expect_eventfd\", \"fd\": \"$efd\", \"count\": 0}")).isEmpty();
    }
}
