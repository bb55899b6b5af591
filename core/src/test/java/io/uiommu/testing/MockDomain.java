package io.uiommu.testing;

/**
 * The three ids IOMMU_TEST_OP_MOCK_DOMAIN hands back: the selftest device object (destroying it
 * unbinds and detaches the mock device), the HWPT it got attached to, and the iommufd device id.
 */
public record MockDomain(int stdevId, int hwptId, int idevId) {
}
