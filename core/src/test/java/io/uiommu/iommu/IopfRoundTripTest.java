package io.uiommu.iommu;

import io.uiommu.iommufd.Errno;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.testing.IopfFixture;
import io.uiommu.testing.IopfFixture.Dma;
import io.uiommu.testing.IopfFixture.Pgfault;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fault round trip every model with page requests keeps the same: DMA fault → page request
 * through the vendor queue → fault fd read → map → SUCCESS → DMA done; INVALID aborts; PASIDs;
 * detach answers; a device without PRI cannot attach; and a DMA in another thread resumes when the
 * answer comes from this one.
 */
class IopfRoundTripTest {
    private static final long IOVA = 1L << 24; // inside the mock aperture too
    private static final int PAGE = PhysicalMemory.PAGE_SIZE;

    private static IopfFixture fixture(String model) {
        return new IopfFixture(IopfFixture.platform(model, true));
    }

    private static int[] attachIopf(IopfFixture f, int pasid) {
        int devId = f.bind("pri0");
        int ioas = f.t.ioasAlloc();
        f.faultAlloc();
        int hwpt = f.iopfHwpt(devId, ioas, pasid != 0 ? IOMMU_HWPT_ALLOC_PASID : 0);
        if (pasid != 0) {
            f.attachRc(devId, f.pasidHwpt(devId, ioas)).ok(); // the RID somewhere PASID-compatible too
        }
        f.attachRc(devId, pasid, hwpt).ok();
        return new int[] {devId, ioas, hwpt};
    }

    private static void mapPage(IopfFixture f, int ioas, long iova, byte fill) {
        long va = f.t.mmap(PAGE, false);
        f.t.fill(va, PAGE, fill);
        f.t.mapFixed(ioas, va, PAGE, iova).ok();
    }

    @ParameterizedTest
    @ValueSource(strings = {"mock", "vtd", "smmuv3"})
    void faultReadMapRespondCompletes(String model) {
        try (IopfFixture f = fixture(model)) {
            int[] s = attachIopf(f, 0);
            Dma d = f.startDma("pri0", IOVA + 16, 100);
            assertThat(d.done()).isFalse();
            List<Pgfault> faults = f.read(2);
            assertThat(faults).hasSize(1);
            Pgfault p = faults.get(0);
            assertThat(p.devId()).isEqualTo(s[0]);
            assertThat(p.flags() & IOMMU_PGFAULT_FLAGS_LAST_PAGE).isNotZero();
            assertThat(p.flags() & IOMMU_PGFAULT_FLAGS_PASID_VALID).isZero();
            assertThat(p.addr()).isEqualTo(IOVA);
            assertThat(p.perm()).isEqualTo(IOMMU_PGFAULT_PERM_READ);
            mapPage(f, s[1], IOVA, (byte) 0x33);
            assertThat(f.respond(p.cookie(), IOMMUFD_PAGE_RESP_SUCCESS)).isEqualTo(IopfFixture.RESPONSE_SIZE);
            assertThat(d.done()).isTrue();
            assertThat(d.result().ok()).isTrue();
            assertThat(d.buffer).containsOnly((byte) 0x33);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mock", "vtd", "smmuv3"})
    void invalidAbortsWithTheFault(String model) {
        try (IopfFixture f = fixture(model)) {
            attachIopf(f, 0);
            Dma d = f.startDma("pri0", IOVA, 8);
            f.respond(f.read(1).get(0).cookie(), IOMMUFD_PAGE_RESP_INVALID);
            assertThat(d.result().ok()).isFalse();
            assertThat(d.result().fault().iova()).isEqualTo(IOVA);
            assertThat(d.completions()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mock", "vtd", "smmuv3"})
    void aPasidsFaultsGoToItsHwptWithThePasid(String model) {
        try (IopfFixture f = fixture(model)) {
            int[] s = attachIopf(f, 9);
            Dma d = f.startDma("pri0", 9, IOVA, 8, false, null);
            Pgfault p = f.read(1).get(0);
            assertThat(p.pasid()).isEqualTo(9);
            assertThat(p.flags() & IOMMU_PGFAULT_FLAGS_PASID_VALID).isNotZero();
            mapPage(f, s[1], IOVA, (byte) 1);
            f.respond(p.cookie(), IOMMUFD_PAGE_RESP_SUCCESS);
            assertThat(d.result().ok()).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mock", "vtd", "smmuv3"})
    void detachAnswersPendingGroupsInvalid(String model) {
        try (IopfFixture f = fixture(model)) {
            int[] s = attachIopf(f, 0);
            Dma d = f.startDma("pri0", IOVA, 8);
            f.detach(s[0], 0).ok();
            assertThat(d.result().ok()).isFalse();
            assertThat(f.read(1)).isEmpty();
            assertThat(f.device("pri0").pri().outstanding()).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vtd", "smmuv3"})
    void aDeviceWithoutPriCannotAttachToAFaultHwpt(String model) {
        try (IopfFixture f = fixture(model)) {
            int devId = f.bind("plain0");
            int ioas = f.t.ioasAlloc();
            f.faultAlloc();
            int hwpt = f.iopfHwpt(devId, ioas);
            f.attachRc(devId, hwpt).fails(model.equals("vtd") ? Errno.ENODEV : Errno.EINVAL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mock", "vtd", "smmuv3"})
    void aDmaInAnotherThreadResumesWhenThisOneAnswers(String model) throws Exception {
        try (IopfFixture f = fixture(model)) {
            int[] s = attachIopf(f, 0);
            CountDownLatch done = new CountDownLatch(1);
            byte[] buf = new byte[64];
            DmaResult[] result = new DmaResult[1];
            Thread device = new Thread(() -> f.dev.iommu().startDma(f.device("pri0"), Translation.NO_PASID, IOVA, buf,
                    0, buf.length, false, true, r -> {
                        result[0] = r;
                        done.countDown();
                    }));
            device.start();
            List<Pgfault> faults = new ArrayList<>();
            while (faults.isEmpty()) {
                faults.addAll(f.read(1));
                Thread.onSpinWait();
            }
            mapPage(f, s[1], IOVA, (byte) 0x44);
            f.respond(faults.get(0).cookie(), IOMMUFD_PAGE_RESP_SUCCESS);
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            device.join();
            assertThat(result[0].ok()).isTrue();
            assertThat(buf).containsOnly((byte) 0x44);
        }
    }
}
