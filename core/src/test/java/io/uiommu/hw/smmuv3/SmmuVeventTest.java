package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.Translation;
import io.uiommu.proc.OpenFile;
import io.uiommu.testing.Cmd;
import io.uiommu.testing.Rc;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IommufdStructs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.uiommu.uapi.UapiConstants.IOMMU_VEVENTQ_TYPE_ARM_SMMUV3;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SMMUv3 events of a nested master reach the VMM through a vEVENTQ of type ARM_SMMUV3 as upstream's
 * arm_smmu_handle_event + arm_vmaster_report_event hand them on: the 32-byte record with the vSID
 * in the StreamID field, only for stage-1 events of the listed kinds and only while the master is
 * attached to a nested domain with a vDEVICE; everything else stays with the host driver.
 */
class SmmuVeventTest {
    static final long UNMAPPED_GUEST_IOVA = SmmuViommuUapiTest.GUEST_IOVA + 0x10_0000;
    static final int NIC_SID = 0x18;

    /** The VMM-side setup of the vIOMMU uAPI test: guest RAM, stage 2, devices on one SMMU. */
    final SmmuViommuUapiTest vm = new SmmuViommuUapiTest();
    int viommu;

    @BeforeEach
    void setUp() {
        vm.setUp();
        vm.buildGuestTables();
        viommu = vm.viommu();
    }

    @AfterEach
    void tearDown() {
        vm.tearDown();
    }

    Rc veventq(int depth) {
        return vm.c.ioctl(Ioctl.IOMMU_VEVENTQ_ALLOC, Cmd.of(IommufdStructs.IOMMU_VEVENTQ_ALLOC).set("viommu_id", viommu)
                .set("type", IOMMU_VEVENTQ_TYPE_ARM_SMMUV3).set("veventq_depth", depth)).ok();
    }

    int nestedS1(long cdTableIpa) {
        return vm.nestedAlloc(vm.devId, viommu, 0, SmmuViommuUapiTest.s1Vste(cdTableIpa, 0), 0).ok().u32("out_hwpt_id");
    }

    /** read(2) of the vEVENTQ fd: each event as {flags, sequence, evt0..evt3}. */
    long[][] readEvents(int fd) {
        long buf = vm.c.userAlloc(1024);
        long n = vm.c.process().read(fd, buf, 1024);
        assertThat(n % 40).as("whole ARM_SMMUV3 vEVENTs").isZero();
        byte[] b = vm.c.read(buf, (int) Math.max(n, 0));
        long[][] out = new long[(int) (n / 40)][];
        for (int i = 0; i < out.length; i++) {
            int o = 40 * i;
            out[i] = new long[] {SmmuViommuUapiTest.le(b, o, 4), SmmuViommuUapiTest.le(b, o + 4, 4),
                    SmmuViommuUapiTest.le(b, o + 8, 8), SmmuViommuUapiTest.le(b, o + 16, 8),
                    SmmuViommuUapiTest.le(b, o + 24, 8), SmmuViommuUapiTest.le(b, o + 32, 8)};
        }
        return out;
    }

    @Test
    void stage1TranslationFaultGoesToTheGuestWithTheVsid() {
        int fd = veventq(8).u32("out_veventq_fd");
        vm.vdeviceAlloc(viommu, vm.devId, SmmuViommuUapiTest.VSID).ok();
        vm.attach(vm.devId, nestedS1(SmmuViommuUapiTest.CD_IPA)).ok();
        OpenFile file = vm.c.process().fds().get(fd);
        assertThat(file.poll(vm.c.process())).isZero();

        assertThat(vm.dmaRead(UNMAPPED_GUEST_IOVA)).isEqualTo("F_TRANSLATION");
        assertThat(file.poll(vm.c.process()) & OpenFile.POLLIN).isNotZero();
        long[][] ev = readEvents(fd);
        assertThat(ev).hasNumberOfRows(1);
        assertThat(ev[0][0]).as("flags").isZero();
        assertThat(ev[0][1]).as("sequence").isZero();
        long evt0 = ev[0][2];
        assertThat(Event.id(evt0)).isEqualTo(Event.F_TRANSLATION);
        assertThat(Event.sid(evt0)).as("the vSID, not the StreamID").isEqualTo(SmmuViommuUapiTest.VSID);
        assertThat(ev[0][3] & Event.RNW).as("a read").isNotZero();
        assertThat(ev[0][3] & Event.S2).isZero();
        assertThat(ev[0][4]).as("input address").isEqualTo(UNMAPPED_GUEST_IOVA);
        assertThat(vm.smmu.takeLoggedEvents()).as("nothing left for the host").isEmpty();
        assertThat(vm.smmu.eventsForwarded()).isEqualTo(1);
    }

    @Test
    void badGuestCdIsForwarded() {
        int fd = veventq(8).u32("out_veventq_fd");
        vm.vdeviceAlloc(viommu, vm.devId, SmmuViommuUapiTest.VSID).ok();
        vm.attach(vm.devId, nestedS1(0x3000)).ok(); // an all-zero CD: V = 0
        assertThat(vm.dmaRead(SmmuViommuUapiTest.GUEST_IOVA)).isEqualTo("C_BAD_CD");
        long[][] ev = readEvents(fd);
        assertThat(ev).hasNumberOfRows(1);
        assertThat(Event.id(ev[0][2])).isEqualTo(Event.C_BAD_CD);
        assertThat(Event.sid(ev[0][2])).isEqualTo(SmmuViommuUapiTest.VSID);
    }

    @Test
    void stage2FaultsStayWithTheHost() {
        int fd = veventq(8).u32("out_veventq_fd");
        vm.vdeviceAlloc(viommu, vm.devId, SmmuViommuUapiTest.VSID).ok();
        vm.attach(vm.devId, nestedS1(0x40_0000L)).ok(); // CD table IPA outside guest RAM
        Translation t = new Translation();
        vm.smmu.translate(vm.nic, Translation.NO_PASID, SmmuViommuUapiTest.GUEST_IOVA, 0, t);
        assertThat(t.faultStage2).isTrue();
        assertThat(readEvents(fd)).isEmpty();
        List<long[]> host = vm.smmu.takeLoggedEvents();
        assertThat(host).hasSize(1);
        assertThat(Event.sid(host.getFirst()[0])).as("the physical StreamID").isEqualTo(NIC_SID);
    }

    @Test
    void withoutAVeventqTheHostKeepsTheEvent() {
        vm.vdeviceAlloc(viommu, vm.devId, SmmuViommuUapiTest.VSID).ok();
        vm.attach(vm.devId, nestedS1(SmmuViommuUapiTest.CD_IPA)).ok();
        assertThat(vm.dmaRead(UNMAPPED_GUEST_IOVA)).isEqualTo("F_TRANSLATION");
        List<long[]> host = vm.smmu.takeLoggedEvents();
        assertThat(host).hasSize(1);
        assertThat(Event.sid(host.getFirst()[0])).isEqualTo(NIC_SID);
        // a vEVENTQ of another type does not take it either
        vm.c.ioctl(Ioctl.IOMMU_VEVENTQ_ALLOC, Cmd.of(IommufdStructs.IOMMU_VEVENTQ_ALLOC).set("viommu_id", viommu)
                .set("type", 0xbeefbeef).set("veventq_depth", 4)).ok();
        vm.dmaRead(UNMAPPED_GUEST_IOVA);
        assertThat(vm.smmu.takeLoggedEvents()).hasSize(1);
    }

    @Test
    void aMasterOffTheNestedDomainIsTheHostsAgain() {
        int fd = veventq(8).u32("out_veventq_fd");
        vm.vdeviceAlloc(viommu, vm.devId, SmmuViommuUapiTest.VSID).ok();
        vm.attach(vm.devId, nestedS1(SmmuViommuUapiTest.CD_IPA)).ok();
        synchronized (vm.ctx) { // a plain domain of the IOAS
            vm.ctx.objects().get(vm.devId, io.uiommu.iommufd.Device.class).replace(vm.ioas);
        }
        vm.dmaRead(0x40_0000_0000L); // beyond guest RAM: a stage-2 translation fault of a plain master
        assertThat(readEvents(fd)).isEmpty();
        assertThat(vm.smmu.takeLoggedEvents()).hasSize(1);
    }

    @Test
    void aFullVeventqReportsTheLoss() {
        int fd = veventq(1).u32("out_veventq_fd");
        vm.vdeviceAlloc(viommu, vm.devId, SmmuViommuUapiTest.VSID).ok();
        vm.attach(vm.devId, nestedS1(SmmuViommuUapiTest.CD_IPA)).ok();
        vm.dmaRead(UNMAPPED_GUEST_IOVA);
        vm.dmaRead(UNMAPPED_GUEST_IOVA + 0x1000);
        long buf = vm.c.userAlloc(128);
        assertThat(vm.c.process().read(fd, buf, 128)).isEqualTo(40 + 8);
        byte[] b = vm.c.read(buf, 48);
        assertThat(SmmuViommuUapiTest.le(b, 40, 4)).as("LOST_EVENTS").isEqualTo(1);
        assertThat(SmmuViommuUapiTest.le(b, 44, 4)).isEqualTo(1);
        assertThat(vm.smmu.takeLoggedEvents()).as("a lost vEVENT was still handled").isEmpty();
    }
}
