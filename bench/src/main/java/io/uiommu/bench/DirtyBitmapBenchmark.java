package io.uiommu.bench;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.mem.PhysicalMemory;
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
 * IOMMU_HWPT_GET_DIRTY_BITMAP (read and clear) over 64 GiB of IOVA in 4 KiB pages: 16 Mi leaf
 * descriptors of a vendor's dirty-tracking domain, through the dispatcher into a 2 MiB user bitmap.
 * The 64 GiB are one 1 GiB buffer mapped 64 times (IOAS_MAP at 64 IOVAs), its frames faulted in a
 * scattered order so that no run is physically contiguous and every leaf is 4 KiB. Before each
 * measured call the chosen share of leaves is made dirty by setting the dirty state in their
 * descriptor bytes, as a device write's walk would (VT-d D, AMD v1 D, SMMUv3 HTTU clearing AP[2]);
 * the call then reports and clears it (and flushes the IOTLB), so every call sees the same state.
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgs = {"-Xmx4g"})
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class DirtyBitmapBenchmark {
    private static final long GIB = 1L << 30;
    private static final int COPIES = 64;
    // Above the MSI window at 0xfee00000 that VT-d and AMD reserve.
    private static final long IOVA = 8 * GIB;
    private static final long LENGTH = COPIES * GIB;
    private static final long PAGES = LENGTH >>> 12;

    @Param({"vtd", "amd", "smmuv3"})
    public String vendor;

    /** Share of the 16 Mi pages dirty before each call, in percent (0, 1 or 100). */
    @Param({"0", "1", "100"})
    public int dirtyPercent;

    private SimulatedProcess proc;
    private PhysicalMemory physical;
    private int fd;
    private long scratch;
    private long bitmap;
    private int hwpt;
    /** Leaf descriptors made dirty before each call (1%), or the leaf table pages (100%). */
    private long[] targets;

    @Setup(Level.Trial)
    public void setUp() {
        String unitName = vendor + "0";
        IommuUnit unit = new IommuUnit(unitName, vendor, 48, 48, List.of(4096L), 16, false, true, false, Map.of());
        DevIommu dev = new DevIommu(new Platform("bench", List.of(unit),
                List.of(new PciDevice("nic0", "00:03.0", 0x18, unitName, 0, false, false))));
        physical = dev.physical();
        proc = new SimulatedProcess(dev.physical());
        proc.setMemlockLimitBytes(Long.MAX_VALUE);
        fd = dev.open(proc);
        scratch = proc.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        bitmap = proc.mmap(PAGES / 8, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, false);
        int ioas = BenchSupport.ioasAlloc(proc, fd, scratch);
        int devId = testOp(UapiConstants.IOMMU_TEST_OP_UI_DEVICE_BIND, 0, 0, 0, "device_bind.out_dev_id");
        hwpt = hwptAlloc(devId, ioas);
        testOp(UapiConstants.IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId,
                TestStructs.IOMMU_TEST_CMD.offset("device_attach.pt_id"), hwpt, "device_attach.out_hwpt_id");

        long buffer = proc.mmap(GIB, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        long pages = GIB >>> 12;
        // Even pages first, then odd ones: neighbours are 128 Ki frames apart, so every leaf is 4 KiB.
        for (long i = 0; i < pages; i += 2) {
            proc.frameAt(buffer + (i << 12));
        }
        for (long i = 1; i < pages; i += 2) {
            proc.frameAt(buffer + (i << 12));
        }
        for (int k = 0; k < COPIES; k++) {
            map(ioas, buffer, IOVA + k * GIB);
        }
        IommuDomain domain = dev.iommu().device("nic0").domain();
        if (domain.leafDescriptor(IOVA + 4096) - domain.leafDescriptor(IOVA) != 8) {
            throw new IllegalStateException("expected 4 KiB leaves side by side");
        }
        if (dirtyPercent == 100) {
            // Every leaf table: the leaf of each 2 MiB-aligned IOVA is the first entry of its table.
            targets = new long[(int) (LENGTH >>> 21)];
            for (int t = 0; t < targets.length; t++) {
                targets[t] = domain.leafDescriptor(IOVA + ((long) t << 21));
            }
        } else if (dirtyPercent == 1) {
            targets = new long[(int) (PAGES / 100)];
            for (int i = 0; i < targets.length; i++) {
                targets[i] = domain.leafDescriptor(IOVA + ((long) i * 100 << 12));
            }
        } else {
            targets = new long[0];
        }
        setDirtyTracking();
        getDirtyBitmap();
    }

    @Setup(Level.Iteration)
    public void dirtyPages() {
        if (dirtyPercent == 100) {
            for (long table : targets) {
                for (int e = 0; e < 512; e++) {
                    dirty(table + 8L * e);
                }
            }
        } else {
            for (long pte : targets) {
                dirty(pte);
            }
        }
    }

    /** What the hardware's walk does to a leaf on a write with dirty tracking on. */
    private void dirty(long pte) {
        long v = physical.readLong(pte);
        physical.writeLong(pte, switch (vendor) {
            case "vtd" -> v | 1L << 9;
            case "amd" -> v | 1L << 6;
            default -> v & ~(1L << 7);
        });
    }

    @Benchmark
    public long getDirtyBitmap64GiB() {
        return getDirtyBitmap();
    }

    private long getDirtyBitmap() {
        var st = IommufdStructs.IOMMU_HWPT_GET_DIRTY_BITMAP;
        ByteBuffer b = ByteBuffer.allocate(st.size()).order(ByteOrder.LITTLE_ENDIAN).putInt(0, st.size());
        b.putInt(st.offset("hwpt_id"), hwpt).putLong(st.offset("iova"), IOVA).putLong(st.offset("length"), LENGTH)
                .putLong(st.offset("page_size"), 4096).putLong(st.offset("data"), bitmap);
        return ioctl(Ioctl.IOMMU_HWPT_GET_DIRTY_BITMAP, b);
    }

    private void setDirtyTracking() {
        var st = IommufdStructs.IOMMU_HWPT_SET_DIRTY_TRACKING;
        ByteBuffer b = ByteBuffer.allocate(st.size()).order(ByteOrder.LITTLE_ENDIAN).putInt(0, st.size());
        b.putInt(st.offset("flags"), UapiConstants.IOMMU_HWPT_DIRTY_TRACKING_ENABLE).putInt(st.offset("hwpt_id"), hwpt);
        ioctl(Ioctl.IOMMU_HWPT_SET_DIRTY_TRACKING, b);
    }

    private int hwptAlloc(int devId, int ioas) {
        var st = IommufdStructs.IOMMU_HWPT_ALLOC;
        ByteBuffer b = ByteBuffer.allocate(st.size()).order(ByteOrder.LITTLE_ENDIAN).putInt(0, st.size());
        b.putInt(st.offset("flags"), UapiConstants.IOMMU_HWPT_ALLOC_DIRTY_TRACKING).putInt(st.offset("dev_id"), devId)
                .putInt(st.offset("pt_id"), ioas);
        ioctl(Ioctl.IOMMU_HWPT_ALLOC, b);
        return b.getInt(st.offset("out_hwpt_id"));
    }

    private void map(int ioas, long va, long iova) {
        var st = IommufdStructs.IOMMU_IOAS_MAP;
        ByteBuffer b = ByteBuffer.allocate(st.size()).order(ByteOrder.LITTLE_ENDIAN).putInt(0, st.size());
        b.putInt(st.offset("flags"), UapiConstants.IOMMU_IOAS_MAP_FIXED_IOVA | UapiConstants.IOMMU_IOAS_MAP_READABLE
                | UapiConstants.IOMMU_IOAS_MAP_WRITEABLE).putInt(st.offset("ioas_id"), ioas)
                .putLong(st.offset("user_va"), va).putLong(st.offset("length"), GIB).putLong(st.offset("iova"), iova);
        ioctl(Ioctl.IOMMU_IOAS_MAP, b);
    }

    private int testOp(int op, int id, int field, int value, String out) {
        var st = TestStructs.IOMMU_TEST_CMD;
        ByteBuffer b = ByteBuffer.allocate(st.size()).order(ByteOrder.LITTLE_ENDIAN).putInt(0, st.size());
        b.putInt(st.offset("op"), op).putInt(st.offset("id"), id);
        if (field != 0) {
            b.putInt(field, value);
        }
        ioctl(Ioctl.IOMMU_TEST_CMD, b);
        return b.getInt(st.offset(out));
    }

    private long ioctl(Ioctl op, ByteBuffer b) {
        proc.write(scratch, b.array(), 0, b.capacity());
        long rc = proc.ioctl(fd, op.code(), scratch);
        if (rc < 0) {
            throw new IllegalStateException(op + " failed: " + rc);
        }
        proc.read(scratch, b.array(), 0, b.capacity());
        return rc;
    }
}
