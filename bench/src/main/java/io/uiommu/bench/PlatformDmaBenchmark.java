package io.uiommu.bench;

import io.uiommu.hw.mock.MockIommuDriver;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.Translation;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.Ioas;
import io.uiommu.platform.Platform;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Device DMA of a bound platform device through the mock IOMMU (Device.dma: translate each 2 KiB
 * I/O page, then copy in physical memory): the device side of the mock platform.
 */
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class PlatformDmaBenchmark {
    @Param({"64", "4096"})
    public int length;

    private Device device;
    private byte[] buffer;
    private long iova;

    @Setup(Level.Trial)
    public void setUp() {
        DevIommu dev = new DevIommu(Platform.mock());
        SimulatedProcess proc = new SimulatedProcess(dev.physical());
        IommufdContext ctx = new IommufdContext(dev.iommu(), proc);
        long ram = proc.mmap(1L << 20, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        Ioas ioas = ctx.objects().add(id -> new Ioas(ctx));
        iova = MockIommuDriver.MOCK_APERTURE_START;
        ioas.iopt().mapUser(proc, ram, 1L << 20, iova, true, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE, false);
        device = Device.bindPlatform(ctx, "dev0");
        device.attach(ioas.id());
        buffer = new byte[length];
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long dmaRead() {
        return device.dma(Translation.NO_PASID, iova, buffer, 0, length, false).bytesDone();
    }
}
