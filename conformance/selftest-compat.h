/*
 * Names Debian's linux-source-6.12 selftest uses that its own 6.12 test header
 * (drivers/iommu/iommufd/iommufd_test.h) lacks: they come from the later upstream test header.
 * Force-included by kernel-selftest.sh (-include); the selftest sources stay unmodified.
 */
#ifndef UIOMMU_SELFTEST_COMPAT_H
#define UIOMMU_SELFTEST_COMPAT_H
/* A mock device with a PCI PASID capability of MOCK_PASID_WIDTH bits (upstream 6.15). */
#define MOCK_FLAGS_DEVICE_PASID (1 << 2)
#define MOCK_PASID_WIDTH 20
#endif
