package io.uiommu.bench;

import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.Translation;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IommufdStructs;
import io.uiommu.uapi.TestStructs;
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
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The in-process I/O page fault round trip, as a user-space driver with a PRI device sees it: a
 * 64-byte device read at an unmapped IOVA (ATS translation fails, the function sends a page
 * request, the vendor model writes it into its queue — VT-d page request queue, SMMUv3 PRI queue,
 * mock: none — the driver drains it into the iommu core and iommufd's fault queue) → read(2) of the
 * fault fd → IOAS_MAP of the page → write(2) of a SUCCESS response (page group response
 * descriptor / CMD_PRI_RESP) → the device retries and the DMA completes. Every call goes through
 * the dispatcher or the fault fd with structs in process memory. Each operation uses a fresh IOVA
 * page (the same user page mapped again), and every 16,384 operations the IOAS is emptied in one
 * unmap, so the samples hold one spike per 16,384. SampleTime gives the percentiles.
 */
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class IopfRoundTripBenchmark {
    private static final long IOVA = 1L << 24; // inside the mock aperture too
    private static final int PAGES = 16384;
    private static final int PAGE = 4096;
    private static final int PGFAULT = IommufdStructs.IOMMU_HWPT_PGFAULT.size();
    private static final int RESPONSE = IommufdStructs.IOMMU_HWPT_PAGE_RESPONSE.size();
    private static final int MAP = IommufdStructs.IOMMU_IOAS_MAP.size();

    @Param({"mock", "vtd", "smmuv3"})
    public String model;

    private SimulatedProcess proc;
    private int fd;
    private int faultFd;
    private int ioas;
    private long scratch;
    private long mapArg;
    private long faultBuf;
    private long respBuf;
    private long userPage;
    private IommuCore core;
    private IommuDevice device;
    private final byte[] buffer = new byte[64];
    private final byte[] mapBytes = new byte[MAP];
    private final byte[] record = new byte[PGFAULT];
    private final byte[] response = new byte[RESPONSE];
    private DmaResult result;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        IommuUnit unit = new IommuUnit("iommu0", model, 48, 48, List.of(4096L), 16, true, true, true, Map.of());
        Platform platform = new Platform("iopf", List.of(unit),
                List.of(new PciDevice("pri0", "00:04.0", 32, "iommu0", 16, true, true)));
        DevIommu dev = new DevIommu(platform);
        core = dev.iommu();
        device = core.device("pri0");
        proc = new SimulatedProcess(dev.physical());
        fd = dev.open(proc);
        int rw = SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE;
        scratch = proc.mmap(PAGE, rw, false);
        mapArg = scratch + 512;
        faultBuf = scratch + 1024;
        respBuf = scratch + 2048;
        userPage = proc.mmap(PAGE, rw, true);
        proc.write(userPage, new byte[] {1, 2, 3, 4}, 0, 4);

        ByteBuffer b = struct(IommufdStructs.IOMMU_IOAS_ALLOC.size());
        ioctl(Ioctl.IOMMU_IOAS_ALLOC, b);
        ioas = b.getInt(IommufdStructs.IOMMU_IOAS_ALLOC.offset("out_ioas_id"));
        b = struct(TestStructs.IOMMU_TEST_CMD.size());
        b.putInt(4, UapiConstants.IOMMU_TEST_OP_UI_DEVICE_BIND).putInt(8, 0);
        ioctl(Ioctl.IOMMU_TEST_CMD, b);
        int devId = b.getInt(TestStructs.IOMMU_TEST_CMD.offset("device_bind.out_dev_id"));
        b = struct(IommufdStructs.IOMMU_FAULT_ALLOC.size());
        ioctl(Ioctl.IOMMU_FAULT_QUEUE_ALLOC, b);
        int faultId = b.getInt(IommufdStructs.IOMMU_FAULT_ALLOC.offset("out_fault_id"));
        faultFd = b.getInt(IommufdStructs.IOMMU_FAULT_ALLOC.offset("out_fault_fd"));
        b = struct(IommufdStructs.IOMMU_HWPT_ALLOC.size());
        b.putInt(IommufdStructs.IOMMU_HWPT_ALLOC.offset("flags"), UapiConstants.IOMMU_HWPT_FAULT_ID_VALID)
                .putInt(IommufdStructs.IOMMU_HWPT_ALLOC.offset("dev_id"), devId)
                .putInt(IommufdStructs.IOMMU_HWPT_ALLOC.offset("pt_id"), ioas)
                .putInt(IommufdStructs.IOMMU_HWPT_ALLOC.offset("fault_id"), faultId);
        ioctl(Ioctl.IOMMU_HWPT_ALLOC, b);
        int hwpt = b.getInt(IommufdStructs.IOMMU_HWPT_ALLOC.offset("out_hwpt_id"));
        b = struct(TestStructs.IOMMU_TEST_CMD.size());
        b.putInt(4, UapiConstants.IOMMU_TEST_OP_UI_DEVICE_ATTACH).putInt(8, devId)
                .putInt(TestStructs.IOMMU_TEST_CMD.offset("device_attach.pt_id"), hwpt);
        ioctl(Ioctl.IOMMU_TEST_CMD, b);

        ByteBuffer m = ByteBuffer.wrap(mapBytes).order(ByteOrder.LITTLE_ENDIAN);
        m.putInt(0, MAP).putInt(4, UapiConstants.IOMMU_IOAS_MAP_FIXED_IOVA | UapiConstants.IOMMU_IOAS_MAP_READABLE
                | UapiConstants.IOMMU_IOAS_MAP_WRITEABLE).putInt(8, ioas).putLong(16, userPage).putLong(24, PAGE);
        ByteBuffer.wrap(response).order(ByteOrder.LITTLE_ENDIAN).putInt(4, UapiConstants.IOMMUFD_PAGE_RESP_SUCCESS);
    }

    private static ByteBuffer struct(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN).putInt(0, size);
    }

    private void ioctl(Ioctl op, ByteBuffer b) {
        proc.write(scratch, b.array(), 0, b.capacity());
        long rc = proc.ioctl(fd, op.code(), scratch);
        if (rc < 0) {
            throw new IllegalStateException(op + " failed: " + rc);
        }
        proc.read(scratch, b.array(), 0, b.capacity());
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public DmaResult roundTrip() {
        if (next == PAGES) {
            ByteBuffer u = struct(IommufdStructs.IOMMU_IOAS_UNMAP.size());
            u.putInt(4, ioas).putLong(8, IOVA).putLong(16, (long) PAGES * PAGE);
            ioctl(Ioctl.IOMMU_IOAS_UNMAP, u);
            next = 0;
        }
        long iova = IOVA + (long) next++ * PAGE;
        result = null;
        core.startDma(device, Translation.NO_PASID, iova, buffer, 0, buffer.length, false, true, r -> result = r);
        if (proc.read(faultFd, faultBuf, PGFAULT) != PGFAULT) {
            throw new IllegalStateException("no page request");
        }
        proc.read(faultBuf, record, 0, PGFAULT);
        ByteBuffer.wrap(mapBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(32, iova);
        proc.write(mapArg, mapBytes, 0, MAP);
        if (proc.ioctl(fd, Ioctl.IOMMU_IOAS_MAP.code(), mapArg) != 0) {
            throw new IllegalStateException("map failed");
        }
        ByteBuffer.wrap(response).order(ByteOrder.LITTLE_ENDIAN).putInt(0,
                ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN).getInt(36));
        proc.write(respBuf, response, 0, RESPONSE);
        if (proc.write(faultFd, respBuf, RESPONSE) != RESPONSE || result == null || !result.ok()) {
            throw new IllegalStateException("DMA did not complete: " + result);
        }
        return result;
    }
}
