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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * IOAS_MAP + IOAS_UNMAP through the uAPI dispatcher, with a mock domain attached so every map pins
 * pages and writes the domain's table: the path a VMM's DMA map takes. Structs live in the
 * simulated process and are passed by pointer, as a C program passes them.
 */
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class IoasMapBenchmark {
    private static final int MAP_SIZE = IommufdStructs.IOMMU_IOAS_MAP.size();
    private static final int UNMAP_SIZE = IommufdStructs.IOMMU_IOAS_UNMAP.size();
    private static final long IOVA = 1L << 30;

    @Param({"4096", "2097152"})
    public long length;

    private SimulatedProcess proc;
    private int fd;
    private long mapArg;
    private long unmapArg;
    private byte[] mapBytes;
    private byte[] unmapBytes;

    @Setup(Level.Trial)
    public void setUp() {
        DevIommu dev = new DevIommu();
        proc = new SimulatedProcess(dev.physical());
        fd = dev.open(proc);
        long scratch = proc.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        int ioas = BenchSupport.ioasAlloc(proc, fd, scratch);
        BenchSupport.mockDomain(proc, fd, scratch, ioas);
        long buffer = proc.mmap(Math.max(length, 2L << 20), SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        mapArg = scratch + 256;
        unmapArg = scratch + 512;
        ByteBuffer m = ByteBuffer.allocate(MAP_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        m.putInt(0, MAP_SIZE).putInt(4, UapiConstants.IOMMU_IOAS_MAP_FIXED_IOVA | UapiConstants.IOMMU_IOAS_MAP_READABLE
                | UapiConstants.IOMMU_IOAS_MAP_WRITEABLE).putInt(8, ioas).putLong(16, buffer).putLong(24, length)
                .putLong(32, IOVA);
        mapBytes = m.array();
        ByteBuffer u = ByteBuffer.allocate(UNMAP_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        u.putInt(0, UNMAP_SIZE).putInt(4, ioas).putLong(8, IOVA).putLong(16, length);
        unmapBytes = u.array();
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long mapUnmap() {
        proc.write(mapArg, mapBytes, 0, MAP_SIZE);
        long rc = proc.ioctl(fd, Ioctl.IOMMU_IOAS_MAP.code(), mapArg);
        proc.write(unmapArg, unmapBytes, 0, UNMAP_SIZE);
        return rc + proc.ioctl(fd, Ioctl.IOMMU_IOAS_UNMAP.code(), unmapArg);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        proc.close(fd);
    }
}
