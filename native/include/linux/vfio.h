/* SPDX-License-Identifier: MIT */
/*
 * uiommu's ABI header for the VFIO device cdev (/dev/vfio/devices/vfioN).
 *
 * Written for uiommu from the published ABI. The system's <linux/vfio.h> comes first (Debian's is
 * Linux 6.1, without the cdev interface); this header then adds what newer kernels have and uiommu
 * implements: VFIO_DEVICE_BIND_IOMMUFD (6.6, its token since 6.17) and
 * VFIO_DEVICE_ATTACH/DETACH_IOMMUFD_PT (6.6, the PASID flag and field since 6.15). Those three
 * structs are always declared here in their newest layout; whatever the system header declares
 * under the same names is renamed out of the way, so a program sees one layout on any system.
 * Every struct keeps the 6.6 layout as its prefix: a 6.6 kernel reads the first part (argsz says
 * how much there is). The region-info capability chain with VFIO_REGION_INFO_CAP_SPARSE_MMAP and
 * VFIO_DEVICE_FEATURE with the low-power features are in every system header since 6.1; only the
 * feature numbers newer than that are added here.
 */
#ifndef UIOMMU_LINUX_VFIO_H
#define UIOMMU_LINUX_VFIO_H

#define vfio_device_bind_iommufd uiommu_system_vfio_device_bind_iommufd
#define vfio_device_attach_iommufd_pt uiommu_system_vfio_device_attach_iommufd_pt
#define vfio_device_detach_iommufd_pt uiommu_system_vfio_device_detach_iommufd_pt
#include_next <linux/vfio.h>
#undef vfio_device_bind_iommufd
#undef vfio_device_attach_iommufd_pt
#undef vfio_device_detach_iommufd_pt

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * VFIO_DEVICE_BIND_IOMMUFD: makes the device usable through an iommufd. Before it, every other
 * ioctl, read and write of the cdev fails with EINVAL. out_devid is the device's ID in that
 * iommufd. flags: 0, or VFIO_DEVICE_BIND_FLAG_TOKEN with token_uuid_ptr pointing at 16 bytes (only
 * SR-IOV functions take one; others answer EINVAL). Closing the fd unbinds.
 */
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
	__aligned_u64 token_uuid_ptr;
};

#ifndef VFIO_DEVICE_BIND_FLAG_TOKEN
#define VFIO_DEVICE_BIND_FLAG_TOKEN (1 << 0)
#endif
#ifndef VFIO_DEVICE_BIND_IOMMUFD
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

/*
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT: attaches the device's RID, or with VFIO_DEVICE_ATTACH_PASID one
 * of its PASIDs, to an IOAS or HWPT of the bound iommufd; attaching again replaces. pt_id comes
 * back as the HWPT ID used (an automatic one for an IOAS).
 */
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
	__u32 pasid;
};

#ifndef VFIO_DEVICE_ATTACH_PASID
#define VFIO_DEVICE_ATTACH_PASID (1 << 0)
#endif
#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

/*
 * VFIO_DEVICE_DETACH_IOMMUFD_PT: the RID, or with VFIO_DEVICE_DETACH_PASID the PASID, goes back to
 * blocking DMA. Nothing attached is not an error.
 */
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pasid;
};

#ifndef VFIO_DEVICE_DETACH_PASID
#define VFIO_DEVICE_DETACH_PASID (1 << 0)
#endif
#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

/*
 * VFIO_DEVICE_FEATURE numbers after 6.1. A vfio-pci function without migration answers ENOTTY to
 * both (MIG_DATA_SIZE: no migration; BUS_MASTER: vfio-cdx devices only).
 */
#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
#endif
#ifndef VFIO_DEVICE_FEATURE_BUS_MASTER
#define VFIO_DEVICE_FEATURE_BUS_MASTER 10
#endif

#endif /* UIOMMU_LINUX_VFIO_H */
