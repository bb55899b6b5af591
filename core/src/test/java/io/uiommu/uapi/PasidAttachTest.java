package io.uiommu.uapi;

import io.uiommu.iommufd.Errno;
import io.uiommu.testing.Cmd;
import io.uiommu.testing.IommufdTestClient;
import io.uiommu.testing.Machines;
import io.uiommu.testing.MockDomain;
import io.uiommu.testing.Rc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * PASID attach through the uAPI (Linux 6.15): IOMMU_HWPT_ALLOC_PASID, the pasid_compat rules for
 * PASIDs and the RID, auto domains, upstream's PASID test ops on the mock device, and what
 * IOMMU_GET_HW_INFO says about the function's PASID capability.
 */
class PasidAttachTest {
    private static final int DEV_NIC0 = 0;
    private static final int DEV_GPU0 = 1;
    private static final int DEV_NVME0 = 2;

    private static Rc op(IommufdTestClient t, int op, int id, Object... fieldValues) {
        Cmd c = IommufdTestClient.testCmd(op).set("id", id);
        for (int i = 0; i < fieldValues.length; i += 2) {
            c.set((String) fieldValues[i], ((Number) fieldValues[i + 1]).longValue());
        }
        return t.ioctl(Ioctl.IOMMU_TEST_CMD, c);
    }

    // ---- upstream's iommufd_device_pasid fixture, on the mock device ----

    private static Rc pasidAttach(IommufdTestClient t, MockDomain md, int pasid, int ptId) {
        return op(t, IOMMU_TEST_OP_PASID_ATTACH, md.stdevId(), "pasid_attach.pasid", pasid, "pasid_attach.pt_id", ptId);
    }

    private static Rc pasidReplace(IommufdTestClient t, MockDomain md, int pasid, int ptId) {
        return op(t, IOMMU_TEST_OP_PASID_REPLACE, md.stdevId(), "pasid_replace.pasid", pasid,
                "pasid_replace.pt_id", ptId);
    }

    private static Rc pasidDetach(IommufdTestClient t, MockDomain md, int pasid) {
        return op(t, IOMMU_TEST_OP_PASID_DETACH, md.stdevId(), "pasid_detach.pasid", pasid);
    }

    private static Rc pasidCheck(IommufdTestClient t, MockDomain md, int pasid, int hwptId) {
        return op(t, IOMMU_TEST_OP_PASID_CHECK_HWPT, md.stdevId(), "pasid_check.pasid", pasid,
                "pasid_check.hwpt_id", hwptId);
    }

    private static int nested(IommufdTestClient t, int devId, int parent, int flags) {
        long data = t.userCopy(new byte[] {(byte) 0xef, (byte) 0xbe, (byte) 0xad, 0x0b});
        return t.hwptAlloc(devId, parent, 0, flags, IOMMU_HWPT_DATA_SELFTEST, data, 4).ok().u32("out_hwpt_id");
    }

    @Test
    void upstreamPasidFixtureOnTheMockDevice() {
        try (IommufdTestClient t = new IommufdTestClient()) {
            int ioas = t.ioasAlloc();
            MockDomain md = t.mockDomainFlags(ioas, MOCK_FLAGS_DEVICE_PASID);
            int parent = t.hwptAlloc(md.idevId(), ioas, IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID).ok()
                    .u32("out_hwpt_id");
            int n0 = nested(t, md.idevId(), parent, IOMMU_HWPT_ALLOC_PASID);
            int n1 = nested(t, md.idevId(), parent, IOMMU_HWPT_ALLOC_PASID);

            // The IOAS gives PASID 100 the RID's auto domain: it is PASID-compatible.
            assertThat(pasidAttach(t, md, 100, ioas).ok().u32("pasid_attach.pt_id")).isEqualTo(md.hwptId());
            pasidCheck(t, md, 100, md.hwptId()).ok();
            pasidCheck(t, md, 100, n0).fails(Errno.EINVAL);
            pasidAttach(t, md, 100, n0).fails(Errno.EBUSY);
            pasidDetach(t, md, 100).ok();
            pasidCheck(t, md, 100, 0).ok();
            pasidAttach(t, md, 100, n0).ok();
            pasidCheck(t, md, 100, n0).ok();
            pasidDetach(t, md, 100).ok();

            pasidReplace(t, md, 200, parent).fails(Errno.EINVAL);
            pasidAttach(t, md, 200, parent).ok();
            assertThat(pasidReplace(t, md, 200, ioas).ok().u32("pasid_replace.pt_id")).isEqualTo(md.hwptId());
            pasidReplace(t, md, 200, n0).ok();
            pasidReplace(t, md, 200, n1).ok();
            pasidCheck(t, md, 200, n1).ok();
            t.destroy(n1).fails(Errno.EBUSY);
            pasidDetach(t, md, 200).ok();
            pasidCheck(t, md, 200, 0).ok();
            pasidDetach(t, md, 200).ok();

            // A HWPT allocated without ALLOC_PASID serves no PASID; nothing changes.
            int plain = t.hwptAlloc(md.idevId(), ioas, IOMMU_HWPT_ALLOC_NEST_PARENT).ok().u32("out_hwpt_id");
            pasidAttach(t, md, 300, plain).fails(Errno.EINVAL);
            pasidCheck(t, md, 300, 0).ok();
            int plainNested = nested(t, md.idevId(), plain, 0);
            pasidAttach(t, md, 300, plainNested).fails(Errno.EINVAL);
            for (int id : new int[] {plainNested, plain, n0, n1, parent}) {
                t.destroy(id).ok();
            }
            pasidAttach(t, md, 1 << 20, ioas).fails(Errno.EINVAL);
            op(t, IOMMU_TEST_OP_PASID_ATTACH, ioas, "pasid_attach.pasid", 5, "pasid_attach.pt_id", ioas)
                    .fails(Errno.ENOENT);
        }
    }

    @Test
    void theRidNeedsAPasidCompatibleHwptWhilePasidsAreAttached() {
        try (IommufdTestClient t = new IommufdTestClient()) {
            int ioas = t.ioasAlloc();
            MockDomain md = t.mockDomainFlags(ioas, MOCK_FLAGS_DEVICE_PASID);
            int plain = t.hwptAlloc(md.idevId(), ioas, 0).ok().u32("out_hwpt_id");
            int compat = t.hwptAlloc(md.idevId(), ioas, IOMMU_HWPT_ALLOC_PASID).ok().u32("out_hwpt_id");
            pasidAttach(t, md, 7, compat).ok();
            t.mockDomainReplace(md.stdevId(), plain).fails(Errno.EINVAL);
            assertThat(t.mockDomainReplace(md.stdevId(), compat).ok().u32("mock_domain_replace.pt_id"))
                    .isEqualTo(compat);
            pasidDetach(t, md, 7).ok();
            t.mockDomainReplace(md.stdevId(), plain).ok();
            // Now the RID's HWPT cannot host PASIDs, however compatible the PASID's own is.
            pasidAttach(t, md, 7, compat).fails(Errno.EINVAL);
            pasidCheck(t, md, 7, 0).ok();
            t.mockDomainReplace(md.stdevId(), compat).ok();
            pasidAttach(t, md, 7, compat).ok();
            t.destroy(md.stdevId()).ok();
            t.destroy(compat).ok();
            t.destroy(plain).ok();
        }
    }

    @Test
    void allocPasidIsRefusedForADeviceWithoutPasids() {
        try (IommufdTestClient t = new IommufdTestClient()) {
            int ioas = t.ioasAlloc();
            MockDomain md = t.mockDomain(ioas);
            t.hwptAlloc(md.idevId(), ioas, IOMMU_HWPT_ALLOC_PASID).fails(Errno.EOPNOTSUPP);
            t.hwptAlloc(md.idevId(), ioas, 1 << 4).fails(Errno.EOPNOTSUPP);
            int parent = t.hwptAlloc(md.idevId(), ioas, IOMMU_HWPT_ALLOC_NEST_PARENT).ok().u32("out_hwpt_id");
            long data = t.userCopy(new byte[4]);
            t.hwptAlloc(md.idevId(), parent, 0, IOMMU_HWPT_ALLOC_PASID, IOMMU_HWPT_DATA_SELFTEST, data, 4)
                    .fails(Errno.EOPNOTSUPP);
            pasidAttach(t, md, 1, ioas).fails(Errno.EOPNOTSUPP);
        }
    }

    // ---- vendor platforms through uiommu's platform ops ----

    private static int bind(IommufdTestClient t, int index) {
        return op(t, IOMMU_TEST_OP_UI_DEVICE_BIND, index).ok().u32("device_bind.out_dev_id");
    }

    private static Rc attach(IommufdTestClient t, int devId, int pasid, int ptId) {
        return pasid < 0 ? op(t, IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId, "device_attach.pt_id", ptId)
                : op(t, IOMMU_TEST_OP_UI_DEVICE_ATTACH, devId, "device_attach.flags", UI_ATTACH_PASID,
                        "device_attach.pasid", pasid, "device_attach.pt_id", ptId);
    }

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3", "mock"})
    void everyVendorEnforcesPasidCompat(String model) {
        try (IommufdTestClient t = new IommufdTestClient(new DevIommu(Machines.preset(model)))) {
            int nic = bind(t, DEV_NIC0);
            int ioas = t.ioasAlloc();
            int plain = t.hwptAlloc(nic, ioas, 0).ok().u32("out_hwpt_id");
            int compat = t.hwptAlloc(nic, ioas, IOMMU_HWPT_ALLOC_PASID).ok().u32("out_hwpt_id");
            attach(t, nic, -1, compat).ok();
            attach(t, nic, 5, plain).fails(Errno.EINVAL);
            assertThat(attach(t, nic, 5, compat).ok().u32("device_attach.out_hwpt_id")).isEqualTo(compat);
            // The RID's replace to a PASID-incompatible HWPT is refused and leaves the RID where it was.
            attach(t, nic, -1, plain).fails(Errno.EINVAL);
            assertThat(attach(t, nic, -1, compat).ok().u32("device_attach.out_hwpt_id")).isEqualTo(compat);
            // An IOAS gives the PASID a PASID-compatible auto domain (a new one: the IOAS had none).
            int auto = attach(t, nic, 6, ioas).ok().u32("device_attach.out_hwpt_id");
            assertThat(auto).isNotIn(plain, compat);
            op(t, IOMMU_TEST_OP_UI_DEVICE_DETACH, nic, "device_detach.flags", UI_ATTACH_PASID, "device_detach.pasid", 6)
                    .ok();
            t.destroy(auto).fails(Errno.ENOENT);
            t.destroy(nic).ok();
            t.destroy(compat).ok();
            t.destroy(plain).ok();

            // A function without a PASID capability: its RID's auto domain is a plain one, and no
            // PASID of it attaches. Only the mock refuses ALLOC_PASID for it outright (upstream's
            // VT-d and SMMUv3 drivers look at the IOMMU, not the device).
            int noPasidIndex = model.equals("mock") ? 1 : DEV_NVME0;
            int nvme = bind(t, noPasidIndex);
            Rc r = t.hwptAlloc(nvme, ioas, IOMMU_HWPT_ALLOC_PASID);
            if (model.equals("mock")) {
                r.fails(Errno.EOPNOTSUPP);
            } else {
                t.destroy(r.ok().u32("out_hwpt_id")).ok();
            }
            int ridAuto = attach(t, nvme, -1, ioas).ok().u32("device_attach.out_hwpt_id");
            assertThat(ridAuto).isPositive();
            // The mock refuses the PASID auto domain itself; elsewhere the RID's plain HWPT refuses it.
            attach(t, nvme, 1, ioas).fails(model.equals("mock") ? Errno.EOPNOTSUPP : Errno.EINVAL);
        }
    }

    @Test
    void amdPagingDomainsServeNoPasidButTheCompatRuleComesFirst() {
        try (IommufdTestClient t = new IommufdTestClient(new DevIommu(Machines.preset("amd")))) {
            int nic = bind(t, DEV_NIC0);
            int ioas = t.ioasAlloc();
            int plain = t.hwptAlloc(nic, ioas, 0).ok().u32("out_hwpt_id");
            int v2 = t.hwptAlloc(nic, ioas, IOMMU_HWPT_ALLOC_PASID).ok().u32("out_hwpt_id");
            attach(t, nic, -1, v2).ok();
            attach(t, nic, 5, plain).fails(Errno.EINVAL);
            // Upstream's AMD driver has set_dev_pasid only for SVA domains.
            attach(t, nic, 5, v2).fails(Errno.EOPNOTSUPP);
            attach(t, nic, -1, plain).ok();
        }
    }

    @Test
    void pasidIoasAttachSharesTheRidAutoDomainOnEveryVendor() {
        for (String model : new String[] {"vtd", "smmuv3", "mock"}) {
            try (IommufdTestClient t = new IommufdTestClient(new DevIommu(Machines.preset(model)))) {
                int nic = bind(t, DEV_NIC0);
                int ioas = t.ioasAlloc();
                int rid = attach(t, nic, -1, ioas).ok().u32("device_attach.out_hwpt_id");
                assertThat(attach(t, nic, 3, ioas).ok().u32("device_attach.out_hwpt_id")).as(model).isEqualTo(rid);
            }
        }
    }

    @Test
    void vendorLimitsOnTheFlag() {
        try (IommufdTestClient t = new IommufdTestClient(new DevIommu(Machines.preset("amd")))) {
            int nic = bind(t, DEV_NIC0);
            int ioas = t.ioasAlloc();
            // AMD: PASID alone asks for a v2 table; with dirty tracking or as a nest parent it is v1: refused.
            t.hwptAlloc(nic, ioas, IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_DIRTY_TRACKING).fails(Errno.EOPNOTSUPP);
            t.hwptAlloc(nic, ioas, IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_NEST_PARENT).fails(Errno.EOPNOTSUPP);
        }
        try (IommufdTestClient t = new IommufdTestClient(new DevIommu(Machines.preset("smmuv3")))) {
            int nic = bind(t, DEV_NIC0);
            int ioas = t.ioasAlloc();
            // SMMUv3: a stage-1 domain may track dirty pages and serve PASIDs; a stage-2 parent serves none.
            t.hwptAlloc(nic, ioas, IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_DIRTY_TRACKING).ok();
            t.hwptAlloc(nic, ioas, IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_NEST_PARENT).fails(Errno.EOPNOTSUPP);
        }
        try (IommufdTestClient t = new IommufdTestClient(new DevIommu(Machines.preset("vtd")))) {
            int nic = bind(t, DEV_NIC0);
            int ioas = t.ioasAlloc();
            // VT-d: any combination; every paging domain can sit in a PASID entry.
            t.hwptAlloc(nic, ioas, IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_DIRTY_TRACKING
                    | IOMMU_HWPT_ALLOC_NEST_PARENT).ok();
        }
    }

    // ---- IOMMU_GET_HW_INFO ----

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3", "amd"})
    void hwInfoReportsPasidWidthAndTheCapabilitysExecAndPriv(String model) {
        try (IommufdTestClient t = new IommufdTestClient(new DevIommu(Machines.preset(model)))) {
            DevIommu d = t.dev();
            // The model bounds the PCI width (AMD's EFR PASmax), so ask it what it allows.
            int width = 31 - Integer.numberOfLeadingZeros(d.iommu().device("nic0").maxPasids());
            assertThat(width).isBetween(15, 20);
            Rc nic = t.getHwInfo(bind(t, DEV_NIC0), 0, 0, 0).ok();
            assertThat(nic.get("out_max_pasid_log2")).isEqualTo(width);
            assertThat(nic.get("out_capabilities") & (IOMMU_HW_CAP_PCI_PASID_EXEC | IOMMU_HW_CAP_PCI_PASID_PRIV))
                    .isZero();
            Rc gpu = t.getHwInfo(bind(t, DEV_GPU0), 0, 0, 0).ok();
            assertThat(gpu.get("out_max_pasid_log2")).isEqualTo(width);
            assertThat(gpu.get("out_capabilities")).isEqualTo(
                    IOMMU_HW_CAP_DIRTY_TRACKING | IOMMU_HW_CAP_PCI_PASID_EXEC | IOMMU_HW_CAP_PCI_PASID_PRIV);
            Rc nvme = t.getHwInfo(bind(t, DEV_NVME0), 0, 0, 0).ok();
            assertThat(nvme.get("out_max_pasid_log2")).isZero();
            assertThat(nvme.get("out_capabilities")).isEqualTo(IOMMU_HW_CAP_DIRTY_TRACKING);
        }
    }
}
