/*
 * Prints the size of every iommufd uAPI struct, the offset and size of each field and each
 * ioctl number. kernel-selftest.sh builds it once against uiommu's ABI header and once against the
 * kernel's own 6.12 header and compares the two outputs.
 */
#include <stddef.h>
#include <stdio.h>
#include <linux/iommufd.h>

#define STRUCT(s) printf("struct %s size %zu\n", #s, sizeof(struct s))
#define FIELD(s, f) printf("  %s.%s offset %zu size %zu\n", #s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f))
#define IOCTL(n) printf("ioctl %s 0x%lx\n", #n, (unsigned long)(n))

int main(void)
{
	STRUCT(iommu_destroy);
	FIELD(iommu_destroy, size);
	FIELD(iommu_destroy, id);
	STRUCT(iommu_ioas_alloc);
	FIELD(iommu_ioas_alloc, size);
	FIELD(iommu_ioas_alloc, flags);
	FIELD(iommu_ioas_alloc, out_ioas_id);
	STRUCT(iommu_iova_range);
	FIELD(iommu_iova_range, start);
	FIELD(iommu_iova_range, last);
	STRUCT(iommu_ioas_iova_ranges);
	FIELD(iommu_ioas_iova_ranges, size);
	FIELD(iommu_ioas_iova_ranges, ioas_id);
	FIELD(iommu_ioas_iova_ranges, num_iovas);
	FIELD(iommu_ioas_iova_ranges, __reserved);
	FIELD(iommu_ioas_iova_ranges, allowed_iovas);
	FIELD(iommu_ioas_iova_ranges, out_iova_alignment);
	STRUCT(iommu_ioas_allow_iovas);
	FIELD(iommu_ioas_allow_iovas, size);
	FIELD(iommu_ioas_allow_iovas, ioas_id);
	FIELD(iommu_ioas_allow_iovas, num_iovas);
	FIELD(iommu_ioas_allow_iovas, __reserved);
	FIELD(iommu_ioas_allow_iovas, allowed_iovas);
	STRUCT(iommu_ioas_map);
	FIELD(iommu_ioas_map, size);
	FIELD(iommu_ioas_map, flags);
	FIELD(iommu_ioas_map, ioas_id);
	FIELD(iommu_ioas_map, __reserved);
	FIELD(iommu_ioas_map, user_va);
	FIELD(iommu_ioas_map, length);
	FIELD(iommu_ioas_map, iova);
	STRUCT(iommu_ioas_copy);
	FIELD(iommu_ioas_copy, size);
	FIELD(iommu_ioas_copy, flags);
	FIELD(iommu_ioas_copy, dst_ioas_id);
	FIELD(iommu_ioas_copy, src_ioas_id);
	FIELD(iommu_ioas_copy, length);
	FIELD(iommu_ioas_copy, dst_iova);
	FIELD(iommu_ioas_copy, src_iova);
	STRUCT(iommu_ioas_unmap);
	FIELD(iommu_ioas_unmap, size);
	FIELD(iommu_ioas_unmap, ioas_id);
	FIELD(iommu_ioas_unmap, iova);
	FIELD(iommu_ioas_unmap, length);
	STRUCT(iommu_option);
	FIELD(iommu_option, size);
	FIELD(iommu_option, option_id);
	FIELD(iommu_option, op);
	FIELD(iommu_option, __reserved);
	FIELD(iommu_option, object_id);
	FIELD(iommu_option, val64);
	STRUCT(iommu_vfio_ioas);
	FIELD(iommu_vfio_ioas, size);
	FIELD(iommu_vfio_ioas, ioas_id);
	FIELD(iommu_vfio_ioas, op);
	FIELD(iommu_vfio_ioas, __reserved);
	STRUCT(iommu_hwpt_vtd_s1);
	FIELD(iommu_hwpt_vtd_s1, flags);
	FIELD(iommu_hwpt_vtd_s1, pgtbl_addr);
	FIELD(iommu_hwpt_vtd_s1, addr_width);
	FIELD(iommu_hwpt_vtd_s1, __reserved);
	STRUCT(iommu_hwpt_alloc);
	FIELD(iommu_hwpt_alloc, size);
	FIELD(iommu_hwpt_alloc, flags);
	FIELD(iommu_hwpt_alloc, dev_id);
	FIELD(iommu_hwpt_alloc, pt_id);
	FIELD(iommu_hwpt_alloc, out_hwpt_id);
	FIELD(iommu_hwpt_alloc, __reserved);
	FIELD(iommu_hwpt_alloc, data_type);
	FIELD(iommu_hwpt_alloc, data_len);
	FIELD(iommu_hwpt_alloc, data_uptr);
	FIELD(iommu_hwpt_alloc, fault_id);
	FIELD(iommu_hwpt_alloc, __reserved2);
	STRUCT(iommu_hw_info_vtd);
	FIELD(iommu_hw_info_vtd, flags);
	FIELD(iommu_hw_info_vtd, __reserved);
	FIELD(iommu_hw_info_vtd, cap_reg);
	FIELD(iommu_hw_info_vtd, ecap_reg);
	STRUCT(iommu_hw_info);
	FIELD(iommu_hw_info, size);
	FIELD(iommu_hw_info, flags);
	FIELD(iommu_hw_info, dev_id);
	FIELD(iommu_hw_info, data_len);
	FIELD(iommu_hw_info, data_uptr);
	FIELD(iommu_hw_info, out_data_type);
	FIELD(iommu_hw_info, out_max_pasid_log2);
	FIELD(iommu_hw_info, __reserved);
	FIELD(iommu_hw_info, out_capabilities);
	STRUCT(iommu_hwpt_set_dirty_tracking);
	FIELD(iommu_hwpt_set_dirty_tracking, size);
	FIELD(iommu_hwpt_set_dirty_tracking, flags);
	FIELD(iommu_hwpt_set_dirty_tracking, hwpt_id);
	FIELD(iommu_hwpt_set_dirty_tracking, __reserved);
	STRUCT(iommu_hwpt_get_dirty_bitmap);
	FIELD(iommu_hwpt_get_dirty_bitmap, size);
	FIELD(iommu_hwpt_get_dirty_bitmap, hwpt_id);
	FIELD(iommu_hwpt_get_dirty_bitmap, flags);
	FIELD(iommu_hwpt_get_dirty_bitmap, __reserved);
	FIELD(iommu_hwpt_get_dirty_bitmap, iova);
	FIELD(iommu_hwpt_get_dirty_bitmap, length);
	FIELD(iommu_hwpt_get_dirty_bitmap, page_size);
	FIELD(iommu_hwpt_get_dirty_bitmap, data);
	STRUCT(iommu_hwpt_vtd_s1_invalidate);
	FIELD(iommu_hwpt_vtd_s1_invalidate, addr);
	FIELD(iommu_hwpt_vtd_s1_invalidate, npages);
	FIELD(iommu_hwpt_vtd_s1_invalidate, flags);
	FIELD(iommu_hwpt_vtd_s1_invalidate, __reserved);
	STRUCT(iommu_hwpt_invalidate);
	FIELD(iommu_hwpt_invalidate, size);
	FIELD(iommu_hwpt_invalidate, hwpt_id);
	FIELD(iommu_hwpt_invalidate, data_uptr);
	FIELD(iommu_hwpt_invalidate, data_type);
	FIELD(iommu_hwpt_invalidate, entry_len);
	FIELD(iommu_hwpt_invalidate, entry_num);
	FIELD(iommu_hwpt_invalidate, __reserved);
	STRUCT(iommu_hwpt_pgfault);
	FIELD(iommu_hwpt_pgfault, flags);
	FIELD(iommu_hwpt_pgfault, dev_id);
	FIELD(iommu_hwpt_pgfault, pasid);
	FIELD(iommu_hwpt_pgfault, grpid);
	FIELD(iommu_hwpt_pgfault, perm);
	FIELD(iommu_hwpt_pgfault, __reserved);
	FIELD(iommu_hwpt_pgfault, addr);
	FIELD(iommu_hwpt_pgfault, length);
	FIELD(iommu_hwpt_pgfault, cookie);
	STRUCT(iommu_hwpt_page_response);
	FIELD(iommu_hwpt_page_response, cookie);
	FIELD(iommu_hwpt_page_response, code);
	STRUCT(iommu_fault_alloc);
	FIELD(iommu_fault_alloc, size);
	FIELD(iommu_fault_alloc, flags);
	FIELD(iommu_fault_alloc, out_fault_id);
	FIELD(iommu_fault_alloc, out_fault_fd);
	IOCTL(IOMMU_DESTROY);
	IOCTL(IOMMU_IOAS_ALLOC);
	IOCTL(IOMMU_IOAS_IOVA_RANGES);
	IOCTL(IOMMU_IOAS_ALLOW_IOVAS);
	IOCTL(IOMMU_IOAS_MAP);
	IOCTL(IOMMU_IOAS_COPY);
	IOCTL(IOMMU_IOAS_UNMAP);
	IOCTL(IOMMU_OPTION);
	IOCTL(IOMMU_VFIO_IOAS);
	IOCTL(IOMMU_HWPT_ALLOC);
	IOCTL(IOMMU_GET_HW_INFO);
	IOCTL(IOMMU_HWPT_SET_DIRTY_TRACKING);
	IOCTL(IOMMU_HWPT_GET_DIRTY_BITMAP);
	IOCTL(IOMMU_HWPT_INVALIDATE);
	IOCTL(IOMMU_FAULT_QUEUE_ALLOC);
	return 0;
}
