package io.uiommu.iommufd;

import io.uiommu.testing.MockViommuFixture;
import io.uiommu.uapi.DevIommu;
import org.junit.jupiter.api.Test;

import static io.uiommu.uapi.UapiConstants.IOMMU_VEVENTQ_TYPE_SELFTEST;
import static org.assertj.core.api.Assertions.assertThat;

/** Sequence numbers of a vEVENTQ run [0, INT_MAX] and wrap to 0, lost events included. */
class VeventqSequenceTest {
    @Test
    void sequenceWrapsAfterIntMax() {
        try (MockViommuFixture f = new MockViommuFixture()) {
            var rc = f.veventqAlloc(f.viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2).ok();
            int fd = rc.u32("out_veventq_fd");
            IommufdContext ctx = DevIommu.contextOf(f.c.process(), f.c.fd());
            Veventq q;
            synchronized (ctx) {
                q = ctx.objects().get(rc.u32("out_veventq_id"), Veventq.class);
            }
            q.restartSequenceAt(Integer.MAX_VALUE - 1);
            f.attachNested(0x77);
            for (int i = 0; i < 3; i++) {
                f.triggerVevent(f.md.idevId()).ok();
            }
            MockViommuFixture.ReadResult r = f.read(fd, 64);
            assertThat(r.ret()).isEqualTo(12 + 12 + 8);
            assertThat(r.u32(4)).isEqualTo(Integer.MAX_VALUE - 1);
            assertThat(r.u32(16)).isEqualTo(Integer.MAX_VALUE);
            assertThat(r.u32(24)).as("LOST_EVENTS").isEqualTo(1);
            assertThat(r.u32(28)).as("wrapped to 0, never negative").isZero();
            f.triggerVevent(f.md.idevId()).ok();
            assertThat(f.read(fd, 64).u32(4)).isEqualTo(1);
            assertThat(f.c.process().close(fd)).isZero();
        }
    }
}
