package io.uiommu.testing;

import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IommufdStructs;

import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_ALLOC_NEST_PARENT;
import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_DATA_SELFTEST;
import static io.uiommu.uapi.UapiConstants.IOMMU_TEST_IOTLB_DEFAULT;
import static io.uiommu.uapi.UapiConstants.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
import static io.uiommu.uapi.UapiConstants.IOMMU_TEST_OP_TRIGGER_VEVENT;
import static io.uiommu.uapi.UapiConstants.IOMMU_VIOMMU_TYPE_SELFTEST;

/**
 * Upstream's {@code iommufd_viommu} selftest fixture in Java: an IOAS, a mock device on it, a
 * nesting-parent HWPT, a mock vIOMMU (IOMMU_VIOMMU_TYPE_SELFTEST) and a nested HWPT allocated from
 * it; plus the helpers of iommufd_utils.h for vEVENTQs, vDEVICEs and HW queues.
 */
public final class MockViommuFixture implements AutoCloseable {
    public final IommufdTestClient c = new IommufdTestClient();
    public final int ioas;
    public final MockDomain md;
    public final int parent;
    public final int viommu;
    public final int nested;

    public MockViommuFixture() {
        ioas = c.ioasAlloc();
        c.setIoasId(ioas);
        md = c.mockDomain(ioas);
        parent = c.hwptAlloc(md.idevId(), ioas, IOMMU_HWPT_ALLOC_NEST_PARENT).ok().u32("out_hwpt_id");
        viommu = viommuAlloc(md.idevId(), parent, 0, 0).ok().u32("out_viommu_id");
        nested = c.hwptAlloc(md.idevId(), viommu, 0, 0, IOMMU_HWPT_DATA_SELFTEST, c.userCopy(le32(IOMMU_TEST_IOTLB_DEFAULT)), 4)
                .ok().u32("out_hwpt_id");
    }

    public Rc viommuAlloc(int dev, int hwpt, long dataUptr, int dataLen) {
        return c.ioctl(Ioctl.IOMMU_VIOMMU_ALLOC, Cmd.of(IommufdStructs.IOMMU_VIOMMU_ALLOC).set("type", IOMMU_VIOMMU_TYPE_SELFTEST)
                .set("dev_id", dev).set("hwpt_id", hwpt).set("data_uptr", dataUptr).set("data_len", dataLen));
    }

    public Rc vdeviceAlloc(int dev, long virtId) {
        return c.ioctl(Ioctl.IOMMU_VDEVICE_ALLOC, Cmd.of(IommufdStructs.IOMMU_VDEVICE_ALLOC).set("viommu_id", viommu)
                .set("dev_id", dev).set("virt_id", virtId));
    }

    public Rc veventqAlloc(int viommuId, int type, int depth) {
        return c.ioctl(Ioctl.IOMMU_VEVENTQ_ALLOC, Cmd.of(IommufdStructs.IOMMU_VEVENTQ_ALLOC).set("viommu_id", viommuId)
                .set("type", type).set("veventq_depth", depth));
    }

    public Rc hwQueueAlloc(int viommuId, int type, int index, long iova, long length) {
        return c.ioctl(Ioctl.IOMMU_HW_QUEUE_ALLOC, Cmd.of(IommufdStructs.IOMMU_HW_QUEUE_ALLOC).set("viommu_id", viommuId)
                .set("type", type).set("index", index).set("nesting_parent_iova", iova).set("length", length));
    }

    public Rc replace(int ptId) {
        return c.ioctl(Ioctl.IOMMU_TEST_CMD, IommufdTestClient.testCmd(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE).set("id", md.stdevId())
                .set("mock_domain_replace.pt_id", ptId));
    }

    public Rc triggerVevent(int devId) {
        return c.ioctl(Ioctl.IOMMU_TEST_CMD, IommufdTestClient.testCmd(IOMMU_TEST_OP_TRIGGER_VEVENT)
                .set("trigger_vevent.dev_id", devId));
    }

    /** A vDEVICE {@code virtId} for the mock device, attached to the nested HWPT (vEVENTs flow); returns its ID. */
    public int attachNested(long virtId) {
        int id = vdeviceAlloc(md.idevId(), virtId).ok().u32("out_vdevice_id");
        replace(nested).ok();
        return id;
    }

    /** read(2) of {@code fd} into a fresh buffer of {@code count} bytes: {result, bytes read}. */
    public ReadResult read(int fd, int count) {
        long buf = c.userAlloc(Math.max(count, 1));
        long n = c.process().read(fd, buf, count);
        return new ReadResult(n, n > 0 ? c.read(buf, (int) n) : new byte[0]);
    }

    public record ReadResult(long ret, byte[] bytes) {
        public int u32(int off) {
            return (bytes[off] & 0xff) | (bytes[off + 1] & 0xff) << 8 | (bytes[off + 2] & 0xff) << 16
                    | (bytes[off + 3] & 0xff) << 24;
        }

        public long u64(int off) {
            return Integer.toUnsignedLong(u32(off)) | (long) u32(off + 4) << 32;
        }
    }

    public static byte[] le32(int... words) {
        byte[] b = new byte[words.length * 4];
        for (int i = 0; i < words.length; i++) {
            Cmd.putLe(b, i * 4, 4, words[i]);
        }
        return b;
    }

    @Override
    public void close() {
        c.close();
    }
}
