package io.uiommu.hw.mock;

import io.uiommu.testing.IommufdTestClient;

import org.junit.jupiter.api.Test;

import static io.uiommu.iommufd.Errno.EINVAL;
import static io.uiommu.uapi.UapiConstants.MOCK_FLAGS_DEVICE_PASID;
import static org.assertj.core.api.Assertions.assertThat;

/** MOCK_DOMAIN_FLAGS device flags: the PASID flag reports its width, unknown flags are refused. */
class MockDeviceFlagsTest {
    @Test
    void pasidDeviceReportsTwentyBits() {
        try (IommufdTestClient c = new IommufdTestClient()) {
            int ioas = c.ioasAlloc();
            int idev = c.mockDomainFlags(ioas, MOCK_FLAGS_DEVICE_PASID).idevId();
            assertThat(c.getHwInfo(idev, 0, 0, 0).ok().get("out_max_pasid_log2")).isEqualTo(20L);
            int plain = c.mockDomain(ioas).idevId();
            assertThat(c.getHwInfo(plain, 0, 0, 0).ok().get("out_max_pasid_log2")).isZero();
        }
    }

    @Test
    void unknownDeviceFlagIsEinvalAndCreatesNothing() {
        try (IommufdTestClient c = new IommufdTestClient()) {
            int ioas = c.ioasAlloc();
            c.mockDomainFlagsRc(ioas, 1 << 3).fails(EINVAL);
            // no object was left behind: the next id is the one after the IOAS
            assertThat(c.ioasAlloc()).isEqualTo(ioas + 1);
        }
    }
}
