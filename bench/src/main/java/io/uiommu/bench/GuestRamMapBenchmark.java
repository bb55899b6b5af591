package io.uiommu.bench;

import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IommufdStructs;
import io.uiommu.uapi.UapiConstants;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * IOAS_MAP of 1 GiB of guest RAM backed by 4 KiB pages into an IOAS with a mock domain attached:
 * 262,144 pages pinned and 524,288 mock I/O page entries written per call (the mock page is
 * 2 KiB). The unmap that resets the state is outside the measurement.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = "-Xmx6g")
@Warmup(iterations = 3, batchSize = 1)
@Measurement(iterations = 8, batchSize = 1)
public class GuestRamMapBenchmark {
    private static final long GIB = 1L << 30;
    private static final int MAP_SIZE = IommufdStructs.IOMMU_IOAS_MAP.size();

    private SimulatedProcess proc;
    private int fd;
    private int ioas;
    private long scratch;
    private byte[] mapBytes;

    @Setup(Level.Trial)
    public void setUp() {
        DevIommu dev = new DevIommu();
        proc = new SimulatedProcess(dev.physical());
        fd = dev.open(proc);
        scratch = proc.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        ioas = BenchSupport.ioasAlloc(proc, fd, scratch);
        BenchSupport.mockDomain(proc, fd, scratch, ioas);
        long ram = proc.mmap(GIB, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        ByteBuffer m = ByteBuffer.allocate(MAP_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        m.putInt(0, MAP_SIZE).putInt(4, UapiConstants.IOMMU_IOAS_MAP_FIXED_IOVA | UapiConstants.IOMMU_IOAS_MAP_READABLE
                | UapiConstants.IOMMU_IOAS_MAP_WRITEABLE).putInt(8, ioas).putLong(16, ram).putLong(24, GIB)
                .putLong(32, 1L << 24);
        mapBytes = m.array();
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public long map1GiB() {
        proc.write(scratch + 256, mapBytes, 0, MAP_SIZE);
        return proc.ioctl(fd, Ioctl.IOMMU_IOAS_MAP.code(), scratch + 256);
    }

    @TearDown(Level.Invocation)
    public void unmapAll() {
        BenchSupport.unmapAll(proc, fd, scratch, ioas);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        proc.close(fd);
    }
}
