package io.uiommu.uapi;

import io.uiommu.iommu.CacheFill;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommufd.Errno;
import io.uiommu.platform.Platform;
import io.uiommu.testing.Cmd;
import io.uiommu.testing.IommufdTestClient;
import io.uiommu.testing.Rc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/** uiommu's own IOMMU_TEST_CMD ops on the mock platform, every errno included. */
class PlatformTestCmdTest {
    private static final long IOVA = MOCK_APERTURE_START;

    private final DevIommu dev = new DevIommu(Platform.mock());
    private final IommufdTestClient t = new IommufdTestClient(dev);

    @AfterEach
    void close() {
        t.close();
    }

    private Rc op(int op, int id, Object... fieldValues) {
        Cmd c = IommufdTestClient.testCmd(op).set("id", id);
        for (int i = 0; i < fieldValues.length; i += 2) {
            c.set((String) fieldValues[i], ((Number) fieldValues[i + 1]).longValue());
        }
        return t.ioctl(Ioctl.IOMMU_TEST_CMD, c);
    }

    private static String cString(Cmd c, String field, int length) {
        int at = TestStructs.IOMMU_TEST_CMD.offset(field);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < length && c.getByte(at + i) != 0; i++) {
            b.append((char) c.getByte(at + i));
        }
        return b.toString();
    }

    private int bind(int index) {
        return op(IOMMU_TEST_OP_UI_DEVICE_BIND, index).ok().u32("device_bind.out_dev_id");
    }

    private int attach(int devId, int ptId) {
        return op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId, "device_attach.pt_id", ptId).ok()
                .u32("device_attach.out_hwpt_id");
    }

    private Rc dma(int devId, long iova, long length, long uptr, int flags) {
        return op(IOMMU_TEST_OP_UI_DMA, devId, "dma.iova", iova, "dma.length", length, "dma.uptr", uptr,
                "dma.flags", flags);
    }

    @Test
    void uiommuMembersFitTheKernelsUnion() {
        assertThat(TestStructs.IOMMU_TEST_CMD.size()).isEqualTo(72);
        assertThat(TestStructs.IOMMU_TEST_CMD.offset("last")).isEqualTo(64);
        assertThat(TestStructs.IOMMU_TEST_CMD.offset("dma.out_fault_flags")).isEqualTo(16 + 47);
        assertThat(TestStructs.IOMMU_TEST_CMD.offset("platform_device_info.out_iommu")).isEqualTo(16 + 32);
    }

    @Test
    void deviceInfoListsThePlatformInOrder() {
        Rc d0 = op(IOMMU_TEST_OP_UI_PLATFORM_DEVICE_INFO, 0).ok();
        assertThat(cString(d0.cmd(), "platform_device_info.out_name", 16)).isEqualTo("dev0");
        assertThat(cString(d0.cmd(), "platform_device_info.out_iommu", 16)).isEqualTo("mock0");
        assertThat(d0.u32("platform_device_info.out_requester_id")).isEqualTo(0x0008);
        assertThat(d0.u32("platform_device_info.out_stream_id")).isEqualTo(0x8);
        assertThat(d0.u32("platform_device_info.out_flags")).isEqualTo(UI_DEVICE_INFO_ATS);
        assertThat(d0.u32("platform_device_info.out_pasid_bits")).isEqualTo(20);
        Rc d1 = op(IOMMU_TEST_OP_UI_PLATFORM_DEVICE_INFO, 1).ok();
        assertThat(cString(d1.cmd(), "platform_device_info.out_name", 16)).isEqualTo("dev1");
        op(IOMMU_TEST_OP_UI_PLATFORM_DEVICE_INFO, 2).fails(Errno.ENOENT);
        op(IOMMU_TEST_OP_UI_PLATFORM_DEVICE_INFO, -1).fails(Errno.ENOENT);
    }

    @Test
    void unknownUiommuOpIsEopnotsupp() {
        op(IOMMU_TEST_OP_UI_BASE, 0).fails(Errno.EOPNOTSUPP);
        op(IOMMU_TEST_OP_UI_FAULT_NAME + 1, 0).fails(Errno.EOPNOTSUPP);
    }

    @Test
    void bindClaimsOwnershipOnceAcrossContexts() {
        int devId = bind(0);
        assertThat(devId).isPositive();
        op(IOMMU_TEST_OP_UI_DEVICE_BIND, 0).fails(Errno.EBUSY);
        op(IOMMU_TEST_OP_UI_DEVICE_BIND, 7).fails(Errno.ENOENT);
        try (IommufdTestClient other = new IommufdTestClient(dev)) {
            other.ioctl(Ioctl.IOMMU_TEST_CMD, IommufdTestClient.testCmd(IOMMU_TEST_OP_UI_DEVICE_BIND).set("id", 0))
                    .fails(Errno.EBUSY);
        }
    }

    @Test
    void destroyUnbindsEvenWhenAttached() {
        int devId = bind(0);
        int ioas = t.ioasAlloc();
        int hwpt = attach(devId, ioas);
        assertThat(dev.iommu().device("dev0").owned()).isTrue();
        t.destroy(ioas).fails(Errno.EBUSY);
        t.destroy(devId).ok();
        assertThat(dev.iommu().device("dev0").owned()).isFalse();
        t.destroy(hwpt).fails(Errno.ENOENT);
        t.destroy(ioas).ok();
        assertThat(bind(0)).isPositive();
    }

    @Test
    void closeUnbindsSoAnotherContextMayBind() {
        try (IommufdTestClient other = new IommufdTestClient(dev)) {
            Rc r = other.ioctl(Ioctl.IOMMU_TEST_CMD,
                    IommufdTestClient.testCmd(IOMMU_TEST_OP_UI_DEVICE_BIND).set("id", 1)).ok();
            int ioas = other.ioasAlloc();
            other.ioctl(Ioctl.IOMMU_TEST_CMD, IommufdTestClient.testCmd(IOMMU_TEST_OP_UI_DEVICE_ATTACH)
                    .set("id", r.u32("device_bind.out_dev_id")).set("device_attach.pt_id", ioas)).ok();
        }
        assertThat(dev.iommu().device("dev1").owned()).isFalse();
        bind(1);
    }

    @Test
    void attachErrnos() {
        int devId = bind(0);
        int ioas = t.ioasAlloc();
        op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId, "device_attach.pt_id", ioas, "device_attach.flags", 4)
                .fails(Errno.EOPNOTSUPP);
        op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, 99, "device_attach.pt_id", ioas).fails(Errno.ENOENT);
        op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, ioas, "device_attach.pt_id", ioas).fails(Errno.ENOENT);
        op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId, "device_attach.pt_id", 99).fails(Errno.ENOENT);
        op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId, "device_attach.pt_id", devId).fails(Errno.EINVAL);
        op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId, "device_attach.pt_id", ioas, "device_attach.flags",
                UI_ATTACH_PASID, "device_attach.pasid", 0).fails(Errno.EINVAL);
        op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId, "device_attach.pt_id", ioas, "device_attach.flags",
                UI_ATTACH_PASID, "device_attach.pasid", 1 << 20).fails(Errno.EINVAL);
        int dev1 = bind(1);
        op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, dev1, "device_attach.pt_id", ioas, "device_attach.flags",
                UI_ATTACH_PASID, "device_attach.pasid", 1).fails(Errno.EOPNOTSUPP);
        // Nothing was left behind by the failures.
        assertThat(DevIommu.contextOf(t.process(), t.fd()).objects().objects()).hasSize(3);
    }

    @Test
    void attachTwiceReplacesAndDetachIsQuietWhenNothingIsAttached() {
        int devId = bind(0);
        int ioasA = t.ioasAlloc();
        int ioasB = t.ioasAlloc();
        int hwptA = attach(devId, ioasA);
        int hwptB = attach(devId, ioasB);
        assertThat(hwptB).isNotEqualTo(hwptA);
        t.destroy(hwptA).fails(Errno.ENOENT);
        op(IOMMU_TEST_OP_UI_DEVICE_DETACH, devId, "device_detach.flags", 2).fails(Errno.EOPNOTSUPP);
        op(IOMMU_TEST_OP_UI_DEVICE_DETACH, 99).fails(Errno.ENOENT);
        op(IOMMU_TEST_OP_UI_DEVICE_DETACH, devId).ok();
        op(IOMMU_TEST_OP_UI_DEVICE_DETACH, devId).ok();
        op(IOMMU_TEST_OP_UI_DEVICE_DETACH, devId, "device_detach.flags", UI_ATTACH_PASID, "device_detach.pasid", 5)
                .ok();
        t.destroy(ioasA).ok();
        t.destroy(ioasB).ok();
    }

    @Test
    void dmaWritesAndReadsGuestMemoryThroughTheDomain() {
        int devId = bind(0);
        int ioas = t.ioasAlloc();
        long ram = t.mmap(2 * IommufdTestClient.PAGE_SIZE, true);
        t.mapFixed(ioas, ram, 2 * IommufdTestClient.PAGE_SIZE, IOVA).ok();
        attach(devId, ioas);
        byte[] msg = "written by dev0".getBytes(StandardCharsets.US_ASCII);
        long src = t.userCopy(msg);
        Rc w = dma(devId, IOVA + 100, msg.length, src, UI_DMA_WRITE).ok();
        assertThat(w.u64("dma.out_bytes_done")).isEqualTo(msg.length);
        assertThat(w.u32("dma.out_fault_code")).isZero();
        assertThat(t.read(ram + 100, msg.length)).isEqualTo(msg);

        long dst = t.userAlloc(msg.length);
        dma(devId, IOVA + 100, msg.length, dst, 0).ok();
        assertThat(t.read(dst, msg.length)).isEqualTo(msg);
    }

    @Test
    void dmaFaultIsAResultWithNameLevelAndBytesDone() {
        int devId = bind(0);
        int ioas = t.ioasAlloc();
        long ram = t.mmap(IommufdTestClient.PAGE_SIZE, true);
        t.mapFixed(ioas, ram, IommufdTestClient.PAGE_SIZE, IOVA).ok();
        long buf = t.userAlloc(8192);
        Rc blocked = dma(devId, IOVA, 16, buf, 0).ok();
        assertThat(blocked.u64("dma.out_bytes_done")).isZero();
        assertThat(blocked.get("dma.out_fault_flags")).isEqualTo(UI_DMA_FAULTED);
        assertThat(faultName((int) blocked.get("dma.out_fault_name"))).isEqualTo("MOCK_BLOCKED");

        attach(devId, ioas);
        Rc past = dma(devId, IOVA + 4000, 200, buf, UI_DMA_WRITE).ok();
        assertThat(past.u64("dma.out_bytes_done")).isEqualTo(96);
        assertThat(past.u32("dma.out_fault_code")).isEqualTo(2);
        assertThat(past.get("dma.out_fault_level")).isEqualTo(1);
        assertThat(faultName((int) past.get("dma.out_fault_name"))).isEqualTo("MOCK_NOT_PRESENT");
    }

    private String faultName(int index) {
        long buf = t.userAlloc(64);
        Rc r = op(IOMMU_TEST_OP_UI_FAULT_NAME, index, "fault_name.uptr", buf, "fault_name.length", 64).ok();
        int n = r.u32("fault_name.out_length");
        return new String(t.read(buf, n - 1), StandardCharsets.US_ASCII);
    }

    @Test
    void faultNameErrnos() {
        op(IOMMU_TEST_OP_UI_FAULT_NAME, 1).fails(Errno.ENOENT);
        int devId = bind(0);
        long buf = t.userAlloc(64);
        int index = (int) dma(devId, IOVA, 1, buf, 0).ok().get("dma.out_fault_name");
        Rc small = op(IOMMU_TEST_OP_UI_FAULT_NAME, index, "fault_name.uptr", buf, "fault_name.length", 4)
                .fails(Errno.EMSGSIZE);
        assertThat(small.u32("fault_name.out_length")).isEqualTo("MOCK_BLOCKED".length() + 1);
        op(IOMMU_TEST_OP_UI_FAULT_NAME, index, "fault_name.uptr", 8, "fault_name.length", 64).fails(Errno.EFAULT);
    }

    @Test
    void dmaErrnos() {
        int devId = bind(0);
        long buf = t.userAlloc(64);
        dma(devId, IOVA, 8, buf, 4).fails(Errno.EOPNOTSUPP);
        dma(devId, IOVA, 0, buf, 0).fails(Errno.EINVAL);
        dma(devId, IOVA, (16 << 20) + 1, buf, 0).fails(Errno.ENOMEM);
        dma(devId, -8, 16, buf, 0).fails(Errno.EOVERFLOW);
        dma(99, IOVA, 8, buf, 0).fails(Errno.ENOENT);
        dma(devId, IOVA, 8, 8, 0).fails(Errno.EFAULT);
        dma(devId, IOVA, 8, 8, UI_DMA_WRITE).fails(Errno.EFAULT);
        op(IOMMU_TEST_OP_UI_DMA, devId, "dma.iova", IOVA, "dma.length", 8, "dma.uptr", buf, "dma.flags",
                UI_DMA_PASID, "dma.pasid", 1 << 20).fails(Errno.EINVAL);
    }

    @Test
    void dmaWithPasidGoesThroughThePasidAttachment() {
        int devId = bind(0);
        int ioas = t.ioasAlloc();
        long ram = t.mmap(IommufdTestClient.PAGE_SIZE, true);
        t.mapFixed(ioas, ram, IommufdTestClient.PAGE_SIZE, IOVA).ok();
        int hwpt = op(IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId, "device_attach.pt_id", ioas, "device_attach.flags",
                UI_ATTACH_PASID, "device_attach.pasid", 9).ok().u32("device_attach.out_hwpt_id");
        assertThat(hwpt).isPositive();
        long src = t.userCopy(new byte[] {42});
        op(IOMMU_TEST_OP_UI_DMA, devId, "dma.iova", IOVA, "dma.length", 1, "dma.uptr", src, "dma.flags",
                UI_DMA_PASID | UI_DMA_WRITE, "dma.pasid", 9).ok();
        assertThat(t.read(ram, 1)[0]).isEqualTo((byte) 42);
        // The RID has nothing attached.
        assertThat(dma(devId, IOVA, 1, src, 0).ok().get("dma.out_fault_flags")).isEqualTo(UI_DMA_FAULTED);
        t.destroy(hwpt).fails(Errno.EBUSY);
        op(IOMMU_TEST_OP_UI_DEVICE_DETACH, devId, "device_detach.flags", UI_ATTACH_PASID, "device_detach.pasid", 9)
                .ok();
        t.destroy(hwpt).fails(Errno.ENOENT);
    }

    @Test
    void auditEnablesCountsReadsAndClears() {
        Rc q = op(IOMMU_TEST_OP_UI_AUDIT, 0).ok();
        assertThat(q.u32("audit.out_flags")).isZero();
        assertThat(q.u32("audit.out_count")).isZero();
        op(IOMMU_TEST_OP_UI_AUDIT, 0, "audit.flags", 8).fails(Errno.EOPNOTSUPP);
        op(IOMMU_TEST_OP_UI_AUDIT, 0, "audit.flags", UI_AUDIT_ENABLE | UI_AUDIT_DISABLE).fails(Errno.EINVAL);
        assertThat(op(IOMMU_TEST_OP_UI_AUDIT, 0, "audit.flags", UI_AUDIT_ENABLE).ok().u32("audit.out_flags"))
                .isEqualTo(UI_AUDIT_ENABLED);
        assertThat(dev.iommu().auditor().enabled()).isTrue();

        // A cache entry filled from a word that then changes, as a model's IOTLB would report it.
        StaleTranslationAuditor auditor = dev.iommu().auditor();
        long pa = dev.physical().allocateFrame() << 12;
        CacheFill fill = new CacheFill().begin(auditor);
        fill.add(auditor, pa, 0);
        dev.physical().writeLong(pa, 0x1003);
        assertThat(auditor.checkHit("mock", "IOTLB", "page 0x0", fill)).isTrue();

        Rc count = op(IOMMU_TEST_OP_UI_AUDIT, 0).ok();
        assertThat(count.u32("audit.out_count")).isEqualTo(1);
        long buf = t.userAlloc(4096);
        Rc small = op(IOMMU_TEST_OP_UI_AUDIT, 0, "audit.uptr", buf, "audit.length", 10).fails(Errno.EMSGSIZE);
        long need = small.u64("audit.out_length");
        assertThat(need).isGreaterThan(10);
        op(IOMMU_TEST_OP_UI_AUDIT, 0, "audit.uptr", 8, "audit.length", 4096).fails(Errno.EFAULT);
        Rc read = op(IOMMU_TEST_OP_UI_AUDIT, 0, "audit.uptr", buf, "audit.length", need, "audit.flags",
                UI_AUDIT_CLEAR | UI_AUDIT_DISABLE).ok();
        String text = new String(t.read(buf, (int) need - 1), StandardCharsets.UTF_8);
        assertThat(text).startsWith("mock IOTLB entry page 0x0 served at").contains("changed to 0x1003").endsWith("\n");
        assertThat(read.u32("audit.out_count")).isZero();
        assertThat(read.u32("audit.out_flags")).isZero();
    }

    @Test
    void dispatcherNamesEachIoctlForTheAuditor() {
        op(IOMMU_TEST_OP_UI_AUDIT, 0, "audit.flags", UI_AUDIT_ENABLE).ok();
        t.ioasAlloc();
        assertThat(dev.iommu().auditor().currentStep()).endsWith("ioctl IOMMU_IOAS_ALLOC");
        op(IOMMU_TEST_OP_UI_AUDIT, 0, "audit.flags", UI_AUDIT_DISABLE).ok();
    }

    @Test
    void selftestMockDomainDevicesWorkOnAPlatformAndCanDma() {
        int ioas = t.ioasAlloc();
        long ram = t.mmap(IommufdTestClient.PAGE_SIZE, true);
        t.mapFixed(ioas, ram, IommufdTestClient.PAGE_SIZE, IOVA).ok();
        var md = t.mockDomain(ioas);
        long src = t.userCopy(new byte[] {7, 8});
        dma(md.idevId(), IOVA + 2, 2, src, UI_DMA_WRITE).ok();
        assertThat(t.read(ram + 2, 2)).containsExactly(7, 8);
    }
}
