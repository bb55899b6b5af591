package io.uiommu.testing;

import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.Translation;
import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.IommufdStructs;
import io.uiommu.uapi.Ioctl;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static io.uiommu.uapi.UapiConstants.*;

/**
 * A user-space driver's view of I/O page faults on one platform: a context with a bound device,
 * a fault queue and its fd, HWPTs with FAULT_ID_VALID, device DMA started through the iommu core
 * with PRI, and the fault fd read and written as bytes.
 */
public final class IopfFixture implements AutoCloseable {
    public static final int PGFAULT_SIZE = IommufdStructs.IOMMU_HWPT_PGFAULT.size();
    public static final int RESPONSE_SIZE = IommufdStructs.IOMMU_HWPT_PAGE_RESPONSE.size();

    public final Platform platform;
    public final DevIommu dev;
    public final IommufdTestClient t;
    public int faultId;
    public int faultFd;

    /** One struct iommu_hwpt_pgfault as read. */
    public record Pgfault(int flags, int devId, int pasid, int grpid, int perm, long addr, int length, int cookie) {
    }

    /** A DMA in flight: its buffer and, once done, its result. */
    public static final class Dma {
        public final byte[] buffer;
        private final AtomicReference<DmaResult> result = new AtomicReference<>();
        private int completions;

        Dma(int length) {
            buffer = new byte[length];
        }

        public DmaResult result() {
            return result.get();
        }

        public boolean done() {
            return result.get() != null;
        }

        public synchronized int completions() {
            return completions;
        }

        synchronized void complete(DmaResult r) {
            completions++;
            result.set(r);
        }
    }

    public IopfFixture(Platform platform) {
        this.platform = platform;
        this.dev = new DevIommu(platform);
        this.t = new IommufdTestClient(dev);
    }

    /**
     * A one-unit platform of {@code model} with page requests, and devices "pri0" (ATS, PRI, PASID)
     * and "plain0" (ATS and PASID, no PRI).
     */
    public static Platform platform(String model, boolean unitPri) {
        List<Long> granules = List.of(4096L);
        IommuUnit unit = new IommuUnit("iommu0", model, 48, 48, granules, 16, true, true, unitPri, Map.of());
        return new Platform(model + "-pri", List.of(unit), List.of(
                new PciDevice("pri0", "00:04.0", 32, "iommu0", 16, true, true),
                new PciDevice("plain0", "00:05.0", 40, "iommu0", 16, true, false)));
    }

    public IommuDevice device(String name) {
        return dev.iommu().device(name);
    }

    private int index(String name) {
        for (int i = 0; i < platform.devices().size(); i++) {
            if (platform.devices().get(i).name().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException(name);
    }

    public Rc op(int op, int id, Object... fieldValues) {
        Cmd c = IommufdTestClient.testCmd(op).set("id", id);
        for (int i = 0; i < fieldValues.length; i += 2) {
            c.set((String) fieldValues[i], ((Number) fieldValues[i + 1]).longValue());
        }
        return t.ioctl(Ioctl.IOMMU_TEST_CMD, c);
    }

    /** Binds a platform device by name; returns its dev_id. */
    public int bind(String name) {
        return op(IOMMU_TEST_OP_UI_DEVICE_BIND, index(name)).ok().u32("device_bind.out_dev_id");
    }

    public Rc attachRc(int devId, int pasid, int ptId) {
        return op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId, "device_attach.pt_id", ptId, "device_attach.pasid", pasid,
                "device_attach.flags", pasid != 0 ? UI_ATTACH_PASID : 0);
    }

    public Rc attachRc(int devId, int ptId) {
        return attachRc(devId, 0, ptId);
    }

    public int attach(int devId, int ptId) {
        return attachRc(devId, ptId).ok().u32("device_attach.out_hwpt_id");
    }

    public Rc detach(int devId, int pasid) {
        return op(IOMMU_TEST_OP_UI_DEVICE_DETACH, devId, "device_detach.pasid", pasid, "device_detach.flags",
                pasid != 0 ? UI_ATTACH_PASID : 0);
    }

    /** A fault queue; remembers its ID and fd. */
    public int faultAlloc() {
        Rc rc = t.faultAlloc().ok();
        faultId = rc.u32("out_fault_id");
        faultFd = rc.u32("out_fault_fd");
        return faultId;
    }

    /** A paging HWPT over {@code ioas} delivering to the fault queue. */
    public int iopfHwpt(int devId, int ioas) {
        return iopfHwpt(devId, ioas, 0);
    }

    /** The same with more HWPT_ALLOC flags (IOMMU_HWPT_ALLOC_PASID for PASID attachments). */
    public int iopfHwpt(int devId, int ioas, int flags) {
        return t.hwptAlloc(devId, ioas, faultId, IOMMU_HWPT_FAULT_ID_VALID | flags, IOMMU_HWPT_DATA_NONE, 0, 0).ok()
                .u32("out_hwpt_id");
    }

    /** A PASID-compatible paging HWPT without a fault queue (for the RID next to PASIDs). */
    public int pasidHwpt(int devId, int ioas) {
        return t.hwptAlloc(devId, ioas, IOMMU_HWPT_ALLOC_PASID).ok().u32("out_hwpt_id");
    }

    /** Starts a device DMA with PRI through the iommu core. */
    public Dma startDma(String device, int pasid, long iova, int length, boolean write, byte[] data) {
        Dma d = new Dma(length);
        if (data != null) {
            System.arraycopy(data, 0, d.buffer, 0, length);
        }
        dev.iommu().startDma(device(device), pasid, iova, d.buffer, 0, length, write, true, d::complete);
        return d;
    }

    public Dma startDma(String device, long iova, int length) {
        return startDma(device, Translation.NO_PASID, iova, length, false, null);
    }

    /** read(2) of the fault fd into scratch memory; returns the result and the records read. */
    public long readRaw(long count, List<Pgfault> out) {
        long va = t.userAlloc((int) Math.max(count, 1));
        long n = t.process().read(faultFd, va, count);
        if (n > 0 && out != null) {
            byte[] bytes = t.read(va, (int) n);
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            for (int at = 0; at < n; at += PGFAULT_SIZE) {
                out.add(new Pgfault(b.getInt(at), b.getInt(at + 4), b.getInt(at + 8), b.getInt(at + 12),
                        b.getInt(at + 16), b.getLong(at + 24), b.getInt(at + 32), b.getInt(at + 36)));
            }
        }
        return n;
    }

    /** Reads up to {@code records} records. */
    public List<Pgfault> read(int records) {
        List<Pgfault> out = new ArrayList<>();
        readRaw((long) records * PGFAULT_SIZE, out);
        return out;
    }

    /** write(2) of responses (cookie, code pairs); returns the result. */
    public long respond(int... cookieCodePairs) {
        byte[] bytes = new byte[cookieCodePairs.length / 2 * RESPONSE_SIZE];
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < cookieCodePairs.length / 2; i++) {
            b.putInt(i * RESPONSE_SIZE, cookieCodePairs[2 * i]).putInt(i * RESPONSE_SIZE + 4, cookieCodePairs[2 * i + 1]);
        }
        long va = t.userCopy(bytes.length == 0 ? new byte[1] : bytes);
        return t.process().write(faultFd, va, bytes.length);
    }

    /** poll(2) bits of the fault fd. */
    public int poll() {
        return t.process().fds().get(faultFd).poll(t.process());
    }

    @Override
    public void close() {
        t.close();
    }
}
