package io.uiommu.scenario;

import io.uiommu.iommufd.Errno;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ScenarioWriterTest {
    @Test
    void everyExampleRoundTrips() throws Exception {
        for (Path f : Examples.files()) {
            Scenario read = ScenarioReader.read(f);
            String written = ScenarioWriter.write(read);
            Scenario again = ScenarioReader.parse(f.toString(), written);
            assertThat(again.header()).as(f.toString()).isEqualTo(read.header());
            assertThat(again.steps()).as(f.toString()).isEqualTo(read.steps());
        }
    }

    @Test
    void aRecorderCanBuildAScenarioInCode() throws Exception {
        StringWriter out = new StringWriter();
        Value fd = Value.variable("fd");
        try (ScenarioWriter w = new ScenarioWriter(out, ScenarioHeader.describing("recorded"))) {
            w.comment("recorded by a test");
            w.step(new Step.Open("fd"));
            w.step(Step.Ioctl.of(fd, "IOMMU_IOAS_ALLOC", Map.of())
                    .expecting(Expect.SUCCESS.withField("out_ioas_id", Value.of(1)))
                    .saving(Map.of("out_ioas_id", "ioas")));
            Map<String, Arg> args = new LinkedHashMap<>();
            args.put("ioas_id", new Arg.Scalar(Value.variable("ioas")));
            args.put("num_iovas", new Arg.Scalar(Value.of(1)));
            args.put("allowed_iovas", new Arg.StructArray("iommu_iova_range", List.of(
                    Map.of("start", new Arg.Scalar(Value.of(0)), "last", new Arg.Scalar(Value.of(4095)))), null));
            w.blank();
            w.step(Step.Ioctl.of(fd, "IOMMU_IOAS_ALLOW_IOVAS", args));
            w.step(Step.Ioctl.of(fd, "IOMMU_IOAS_UNMAP", Map.of("ioas_id", new Arg.Scalar(Value.variable("ioas")),
                    "iova", new Arg.Scalar(Value.of(0)), "length", new Arg.Scalar(Value.of(4096))))
                    .expecting(Expect.errno(Errno.ENOENT)));
            // iova 0 and length U64_MAX mean "everything", which succeeds on an empty IOAS
            w.step(Step.Ioctl.of(fd, "IOMMU_IOAS_UNMAP", Map.of("ioas_id", new Arg.Scalar(Value.variable("ioas")),
                    "iova", new Arg.Scalar(Value.of(0)), "length", new Arg.Scalar(Value.of(-1))))
                    .expecting(Expect.ret(0).withField("length", Value.of(0))));
            w.step(new Step.ExpectObjects(fd, Value.of(1), null, null));
            w.step(new Step.Mmap(Value.of(4096), "buf", null, null, false));
            w.step(Step.Write.ofHex(Value.variable("buf"), "c0ffee"));
            w.step(Step.Read.ofHex(Value.parse("$buf+1"), "ffee"));
            w.step(new Step.Close(fd, null));
        }
        String text = out.toString();
        assertThat(text).startsWith("{\"uiommu_scenario\":1,\"platform\":\"mock\",\"description\":\"recorded\"}\n# recorded by a test\n");
        assertThat(text).contains("\"length\":\"0xffffffffffffffff\"");
        Scenario s = ScenarioReader.parse("rec.jsonl", text);
        assertThat(s.steps()).hasSize(10);
        assertThat(s.entries().get(1).line()).isEqualTo(4);
        ReplayResult r = new Replayer().replay(s);
        assertThat(r.failures()).isEmpty();
    }

    @Test
    void oneStepPerLine() {
        assertThat(ScenarioWriter.toLine(new Step.Mmap(Value.of(4096), "buf", null, null, false)))
                .isEqualTo("{\"step\":\"mmap\",\"length\":4096,\"as\":\"buf\"}");
        assertThat(ScenarioWriter.toLine(new Step.Mmap(Value.parse("PAGE_SIZE"), "ro", Value.of(0x10000), "r", true)))
                .isEqualTo("{\"step\":\"mmap\",\"length\":\"PAGE_SIZE\",\"as\":\"ro\",\"addr\":65536,\"prot\":\"r\",\"shared\":true}");
        assertThat(ScenarioWriter.toLine(new Step.Mmap(Value.of(4096), "win", null, null, true, Value.variable("vfio"),
                Value.of(0x8000), null)))
                .isEqualTo("{\"step\":\"mmap\",\"fd\":\"$vfio\",\"offset\":32768,\"length\":4096,\"as\":\"win\",\"shared\":true}");
        assertThat(ScenarioWriter.toLine(new Step.Mmap(Value.of(4096), null, null, null, false, Value.of(3),
                Value.of(0), Expect.errno(Errno.EINVAL))))
                .isEqualTo("{\"step\":\"mmap\",\"fd\":3,\"offset\":0,\"length\":4096,\"expect\":{\"errno\":\"EINVAL\"}}");
    }
}
