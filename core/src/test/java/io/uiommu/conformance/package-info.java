/**
 * The kernel's iommufd selftest (tools/testing/selftests/iommu/iommufd.c of Linux 6.12.117), ported
 * check by check to JUnit against the uAPI dispatcher: one class per FIXTURE, one test per TEST_F,
 * each FIXTURE_VARIANT a parameter of every test of its class. Helpers live in
 * {@link io.uiommu.testing.IommufdTestClient} (the counterpart of iommufd_utils.h).
 *
 * <h2>Adapted</h2>
 * <ul>
 * <li>Debian's 6.12.117 selftest refers to names its own 6.12 headers lack (MOCK_FLAGS_DEVICE_PASID,
 * IOMMU_HW_INFO_FLAG_INPUT_TYPE / in_data_type, from 6.15–6.17). As in the kernel oracle's build,
 * iommufd_ioas.mock_domain runs without {@code pasid_capable}, and get_hw_info keeps only the
 * typed request that fails on every version (6.12 rejects any non-zero flags, device.c).</li>
 * <li>MAP_HUGETLB memory (access_domain_destory, the dirty-tracking _huge variants,
 * vfio_compat huge_map) is a populated, 2 MiB aligned MAP_SHARED anonymous mapping of the same
 * size: the simulated process has no hugetlbfs.</li>
 * <li>fork()/exit() of a child are {@code SimulatedProcess.fork()} and {@code exit()}; the
 * pipe/eventfd handshake of fork_present is unnecessary in one thread.</li>
 * </ul>
 *
 * <h2>Not ported</h2>
 * <ul>
 * <li>iommufd_mock_domain one_domain_hugepage / two_domains_hugepage (hugetlbfs) and ro_unshare
 * (a MAP_PRIVATE file mapping of /proc/self/exe).</li>
 * <li>iommufd_fail_nth (kernel fault injection).</li>
 * </ul>
 *
 * <h2>Beyond the selftest</h2>
 * Each marked "Not a selftest case" with its kernel source: cmd_length for every 6.12 ioctl
 * (also SET_DIRTY_TRACKING, GET_DIRTY_BITMAP, FAULT_QUEUE_ALLOC, TEST_CMD), unknown_ioctls,
 * global_option_errors, struct_layouts_match_the_headers, and the VFIO info capability chain at
 * full argsz. The unusual answers among them were confirmed on the real 6.12 kernel
 * (/work/shared/tools/kernel-oracle.sh).
 *
 * <h2>Note on the oracle</h2>
 * alloc_hwpt_nested fails on the oracle's kernel at the replace to the fault-capable HWPT: its
 * config lacks CONFIG_IOMMU_IOPF, so the mock driver's IOPF queue is NULL and enabling IOPF on
 * the mock device returns ENODEV. Kernels built with IOMMU_IOPF (selected by AMD_IOMMU,
 * INTEL_IOMMU_SVM or ARM_SMMU_V3_SVA) pass it; these tests follow the selftest.
 */
package io.uiommu.conformance;
