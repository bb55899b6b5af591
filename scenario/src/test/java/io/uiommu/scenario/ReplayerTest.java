package io.uiommu.scenario;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.UserProcess;
import io.uiommu.uapi.Ioctl;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ReplayerTest {
    private static final String OPEN = "{\"step\": \"open\", \"as\": \"fd\"}";
    private static final String ALLOC = "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"save\": {\"out_ioas_id\": \"ioas\"}}";

    private static ReplayResult replay(String... lines) throws ScenarioException {
        return new Replayer().replay(ScenarioReader.parse("t.jsonl", String.join("\n", lines) + "\n"));
    }

    private static List<String> failures(ReplayResult r) {
        return r.failures().stream().map(StepOutcome::format).toList();
    }

    @Test
    void aWrongExpectationFailsWithItsLine() throws Exception {
        ReplayResult r = replay(OPEN,
                "# the kernel gives ID 1 to the first object",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"expect\": {\"out_ioas_id\": 2}}",
                "{\"step\": \"close\", \"fd\": \"$fd\"}");
        assertThat(r.passed()).isFalse();
        assertThat(r.steps()).isEqualTo(3);
        assertThat(failures(r)).containsExactly("t.jsonl:3: ioctl IOMMU_IOAS_ALLOC: out_ioas_id: expected 2, got 1");
        assertThat(r.failures().getFirst().line()).isEqualTo(3);
    }

    @Test
    void errnoAndReturnMismatchesSayWhatCameBack() throws Exception {
        ReplayResult r = replay(OPEN, ALLOC,
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_DESTROY\", \"args\": {\"id\": \"$ioas\"}, \"expect\": {\"errno\": \"EBUSY\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_DESTROY\", \"args\": {\"id\": \"$ioas\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"VFIO_GET_API_VERSION\", \"expect\": {\"ret\": 1}}",
                "{\"step\": \"close\", \"fd\": 99}");
        assertThat(failures(r)).containsExactly(
                "t.jsonl:3: ioctl IOMMU_DESTROY: expected errno EBUSY, got ret 0",
                "t.jsonl:4: ioctl IOMMU_DESTROY: expected success, got errno ENOENT",
                "t.jsonl:5: ioctl VFIO_GET_API_VERSION: expected ret 1, got ret 0",
                "t.jsonl:6: close: expected success, got errno EBADF");
    }

    @Test
    void stepsNeedingWhatAFailedStepDidNotSetAreSkipped() throws Exception {
        ReplayResult r = replay(OPEN,
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"args\": {\"flags\": 1}, \"save\": {\"out_ioas_id\": \"ioas\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_DESTROY\", \"args\": {\"id\": \"$ioas\"}}",
                "{\"step\": \"close\", \"fd\": \"$fd\"}");
        assertThat(failures(r)).containsExactly("t.jsonl:2: ioctl IOMMU_IOAS_ALLOC: expected success, got errno EOPNOTSUPP");
        assertThat(r.skipped()).isEqualTo(1);
        StepOutcome skipped = r.outcomes().get(2);
        assertThat(skipped.status()).isEqualTo(StepOutcome.Status.SKIP);
        assertThat(skipped.message()).isEqualTo("needs $ioas, not set because line 2 failed");
    }

    @Test
    void toleratedErrnosPassButSaveNothing() throws Exception {
        ReplayResult r = replay(OPEN, ALLOC,
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_UNMAP\", \"args\": {\"ioas_id\": \"$ioas\", \"iova\": 0, \"length\": 4096},"
                        + " \"tolerate\": [\"ENOENT\"], \"save\": {\"length\": \"unmapped\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_DESTROY\", \"args\": {\"id\": \"$unmapped\"}}");
        assertThat(r.passed()).isTrue();
        assertThat(r.outcomes().get(2).status()).isEqualTo(StepOutcome.Status.TOLERATED);
        assertThat(r.outcomes().get(2).message()).isEqualTo("tolerated errno ENOENT");
        assertThat(r.outcomes().get(3).status()).isEqualTo(StepOutcome.Status.SKIP);
    }

    @Test
    void outputsOfArraysAndTheTwoCallPattern() throws Exception {
        ReplayResult r = replay(OPEN, ALLOC,
                "# a reserved page splits the IOVA space in two",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_TEST_CMD\", \"args\": {\"op\": \"IOMMU_TEST_OP_ADD_RESERVED\","
                        + " \"id\": \"$ioas\", \"add_reserved.start\": \"PAGE_SIZE\", \"add_reserved.length\": \"PAGE_SIZE\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_IOVA_RANGES\", \"args\": {\"ioas_id\": \"$ioas\"},"
                        + " \"expect\": {\"errno\": \"EMSGSIZE\", \"num_iovas\": 2}, \"save\": {\"num_iovas\": \"n\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_IOVA_RANGES\", \"args\": {\"ioas_id\": \"$ioas\", \"num_iovas\": \"$n\","
                        + " \"allowed_iovas\": {\"array\": \"iommu_iova_range\", \"count\": \"$n\"}},"
                        + " \"expect\": {\"allowed_iovas[0].start\": 0, \"allowed_iovas[0].last\": \"0xfff\", \"allowed_iovas[1].last\": \"U64_MAX\"},"
                        + " \"save\": {\"allowed_iovas[1].start\": \"second\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_IOVA_RANGES\", \"args\": {\"ioas_id\": \"$ioas\", \"num_iovas\": 2,"
                        + " \"allowed_iovas\": {\"array\": \"iommu_iova_range\", \"count\": 2}},"
                        + " \"expect\": {\"allowed_iovas[1].start\": \"$second+1\"}}");
        assertThat(failures(r)).containsExactly(
                "t.jsonl:7: ioctl IOMMU_IOAS_IOVA_RANGES: allowed_iovas[1].start: expected 8193, got 8192");
    }

    @Test
    void valuesMustFitTheirField() throws Exception {
        ReplayResult r = replay(OPEN,
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"args\": {\"flags\": \"0x100000000\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"args\": {\"flags\": -1}, \"expect\": {\"errno\": \"EOPNOTSUPP\"}}");
        assertThat(failures(r)).containsExactly(
                "t.jsonl:2: ioctl IOMMU_IOAS_ALLOC: iommu_ioas_alloc.flags: 0x100000000 does not fit in 32 bits");
    }

    @Test
    void memoryStepsAndLabels() throws Exception {
        ReplayResult r = replay(
                "{\"step\": \"mmap\", \"length\": 4096, \"as\": \"buf\"}",
                "{\"step\": \"label\", \"name\": \"fill\"}",
                "{\"step\": \"write\", \"addr\": \"$buf\", \"fill\": \"0xff\", \"length\": 4096}",
                "{\"step\": \"write\", \"addr\": \"$buf+2\", \"hex\": \"00\"}",
                "{\"step\": \"read\", \"addr\": \"$buf\", \"length\": 4, \"expect_fill\": 255}",
                "{\"step\": \"read\", \"addr\": \"$buf\", \"expect_hex\": \"ffff00ff\"}",
                "{\"step\": \"munmap\", \"addr\": \"$buf\", \"length\": 4096}",
                "{\"step\": \"comment\", \"text\": \"the page is gone\"}",
                "{\"step\": \"read\", \"addr\": \"$buf\", \"expect_hex\": \"ff\"}");
        assertThat(failures(r)).hasSize(2);
        assertThat(failures(r).get(0)).isEqualTo("t.jsonl:5: [fill] read: at offset 2: expected ff, got 00 (1 of 4 bytes differ)");
        assertThat(failures(r).get(1)).startsWith("t.jsonl:9: [fill] read: EFAULT: bad user address 0x");
        assertThat(r.steps()).isEqualTo(7);
    }

    @Test
    void structsInUserMemoryAreWrittenAndCheckedByFieldName() throws Exception {
        ReplayResult r = replay(
                "{\"step\": \"mmap\", \"length\": 4096, \"as\": \"buf\"}",
                "{\"step\": \"write\", \"addr\": \"$buf\", \"struct\": \"iommu_iova_range\", \"fields\": {\"start\": \"0x1000\", \"last\": \"0x1fff\"}}",
                "{\"step\": \"read\", \"addr\": \"$buf\", \"expect_hex\": \"0010000000000000ff1f000000000000\"}",
                "{\"step\": \"read\", \"addr\": \"$buf\", \"struct\": \"iommu_iova_range\", \"expect\": {\"start\": 4096}, \"save\": {\"last\": \"last\"}}",
                "{\"step\": \"read\", \"addr\": \"$buf+8\", \"struct\": \"iommu_iova_range\", \"expect\": {\"start\": \"$last\", \"last\": 1}}");
        assertThat(failures(r)).containsExactly("t.jsonl:5: read: last: expected 1, got 0");
    }

    @Test
    void forkSwitchAndExit() throws Exception {
        ReplayResult r = replay(OPEN, ALLOC,
                "{\"step\": \"fork\", \"as\": \"child\"}",
                "{\"step\": \"switch_process\", \"to\": \"child\"}",
                "{\"step\": \"expect_objects\", \"fd\": \"$fd\", \"count\": 1}",
                "{\"step\": \"close\", \"fd\": \"$fd\"}",
                "{\"step\": \"exit\"}",
                "{\"step\": \"expect_objects\", \"fd\": \"$fd\", \"ids\": [\"$ioas\"]}",
                "{\"step\": \"switch_process\", \"to\": \"child\"}",
                "{\"step\": \"exit\", \"process\": \"main\"}",
                "{\"step\": \"open\", \"as\": \"fd2\"}");
        assertThat(failures(r)).containsExactly(
                "t.jsonl:9: switch_process child: process child has exited",
                "t.jsonl:11: open: no current process: it exited (switch_process to a live one)");
    }

    @Test
    void expectObjectsListsWhatIsThere() throws Exception {
        ReplayResult r = replay(OPEN, ALLOC,
                "{\"step\": \"expect_objects\", \"fd\": \"$fd\", \"count\": 2, \"types\": {\"IOAS\": 1, \"IOMMUFD_OBJ_DEVICE\": 1}}",
                "{\"step\": \"expect_objects\", \"fd\": 0, \"count\": 0}");
        assertThat(failures(r)).containsExactly(
                "t.jsonl:3: expect_objects: expected 2 objects, got 1; expected 1 DEVICE, got 0 (live: 1 IOAS)",
                "t.jsonl:4: expect_objects: fd 0 is not an open /dev/iommu");
    }

    @Test
    void integerArgumentsAndRawPointers() throws Exception {
        ReplayResult r = replay(OPEN,
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"VFIO_CHECK_EXTENSION\", \"arg\": \"VFIO_TYPE1v2_IOMMU\", \"expect\": {\"ret\": 1}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_ALLOC\", \"arg\": 0, \"expect\": {\"errno\": \"EFAULT\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"0x3bff\", \"expect\": {\"errno\": \"ENOTTY\"}}");
        assertThat(failures(r)).isEmpty();
    }

    /** A file whose one ioctl (IOAS_IOVA_RANGES shaped) records what it saw and answers from a fixed table. */
    private static final class FakeRanges extends OpenFile {
        final List<long[]> calls = new ArrayList<>();

        @Override
        public long ioctl(UserProcess caller, int request, long arg) {
            byte[] s = new byte[32];
            caller.memory().read(arg, s, 0, s.length);
            ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
            int size = b.getInt(0);
            int max = b.getInt(8);
            long ranges = b.getLong(16);
            calls.add(new long[] {request, arg, size, max, ranges});
            long[][] table = {{0x1000, 0x1fff}, {0x8000, 0xffff}};
            for (int i = 0; i < Math.min(max, table.length); i++) {
                byte[] e = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(table[i][0]).putLong(table[i][1]).array();
                caller.memory().write(ranges + 16L * i, e, 0, 16);
            }
            b.putInt(8, table.length);
            b.putLong(24, 4096);
            caller.memory().write(arg, s, 0, s.length);
            return max < table.length ? -Errno.EMSGSIZE.value() : 0;
        }

        @Override
        public String name() {
            return "fake";
        }

        @Override
        protected void release() {
        }
    }

    private static final class FakeMachine implements Replayer.Machine {
        final PhysicalMemory physical = new PhysicalMemory();
        final FakeRanges file = new FakeRanges();

        public PhysicalMemory physical() {
            return physical;
        }

        public int open(UserProcess p) {
            file.get();
            return p.fds().install(file);
        }

        public IommufdContext context(UserProcess p, int fd) {
            return null;
        }
    }

    @Test
    void structsAndArraysAreLaidOutAsCWould() throws Exception {
        FakeMachine m = new FakeMachine();
        Scenario s = ScenarioReader.parse("fake.jsonl", String.join("\n", OPEN,
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_IOVA_RANGES\", \"args\": {\"num_iovas\": 0},"
                        + " \"expect\": {\"errno\": \"EMSGSIZE\", \"num_iovas\": 2, \"out_iova_alignment\": 4096}, \"save\": {\"num_iovas\": \"n\"}}",
                "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_IOVA_RANGES\", \"args\": {\"num_iovas\": \"$n\","
                        + " \"allowed_iovas\": {\"array\": \"iommu_iova_range\", \"count\": \"$n\"}},"
                        + " \"expect\": {\"ret\": 0, \"allowed_iovas[0].start\": \"0x1000\", \"allowed_iovas[1].last\": \"0xffff\"}}"));
        ReplayResult r = new Replayer(() -> m).replay(s);
        assertThat(failures(r)).isEmpty();
        assertThat(m.file.calls).hasSize(2);
        long[] second = m.file.calls.get(1);
        assertThat(second[0]).isEqualTo(Ioctl.IOMMU_IOAS_IOVA_RANGES.code());
        assertThat(second[2]).as("size defaults to sizeof").isEqualTo(32);
        assertThat(second[3]).isEqualTo(2);
        // The array sits below the struct, so bytes past sizeof are the struct's own zero tail.
        assertThat(second[4]).isLessThan(second[1]);
        assertThat(second[1] - second[4]).isGreaterThanOrEqualTo(32);
    }

    @Test
    void scratchMemoryOverwrittenByTheScenarioIsReplaced() throws Exception {
        // Learn where scratch memory lands in a fresh process (placement is deterministic)...
        FakeMachine probe = new FakeMachine();
        String call = "{\"step\": \"ioctl\", \"fd\": \"$fd\", \"cmd\": \"IOMMU_IOAS_IOVA_RANGES\", \"args\": {\"num_iovas\": 2,"
                + " \"allowed_iovas\": {\"array\": \"iommu_iova_range\", \"count\": 2}}, \"expect\": {\"allowed_iovas[1].start\": \"0x8000\"}}";
        new Replayer(() -> probe).replay(ScenarioReader.parse("p.jsonl", OPEN + "\n" + call));
        long scratch = probe.file.calls.getFirst()[4] & -4096L;
        // ...then map read-only memory right over it: the next call must still work.
        FakeMachine m = new FakeMachine();
        ReplayResult r = new Replayer(() -> m).replay(ScenarioReader.parse("s.jsonl", String.join("\n", OPEN, call,
                "{\"step\": \"mmap\", \"addr\": \"" + scratch + "\", \"length\": \"0x10000\", \"prot\": \"r\", \"as\": \"ro\"}",
                call)));
        assertThat(failures(r)).isEmpty();
        assertThat(m.file.calls.get(1)[4]).isNotEqualTo(m.file.calls.get(0)[4]);
    }
}
