/*
 * vfio_compat TYPE: the VFIO type1 container ioctls that /dev/iommu accepts, on the real kernel,
 * printed as a uiommu scenario. TYPE is 1 (VFIO_TYPE1_IOMMU: large pages off, unmap may split
 * areas) or 3 (VFIO_TYPE1v2_IOMMU: no splitting).
 *
 * Integer-argument ioctls (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU, VFIO_GET_API_VERSION) are written
 * with "arg" (the raw third argument) and expect "ret" = the return value.
 */
#include "trace.h"

#define BASE 0x100000000000ULL
#define MiB (1024ULL * 1024)
#define PAGE 4096ULL

static int fd;

static const char *ext_name(unsigned long v)
{
	switch (v) {
	case VFIO_TYPE1_IOMMU: return "VFIO_TYPE1_IOMMU";
	case VFIO_TYPE1v2_IOMMU: return "VFIO_TYPE1v2_IOMMU";
	case VFIO_DMA_CC_IOMMU: return "VFIO_DMA_CC_IOMMU";
	case VFIO_NOIOMMU_IOMMU: return "VFIO_NOIOMMU_IOMMU";
	case VFIO_UNMAP_ALL: return "VFIO_UNMAP_ALL";
	default: return NULL;
	}
}

static long t_int_ioctl(const char *name, unsigned long cmd, unsigned long arg, int with_arg)
{
	long rc = ioctl(fd, cmd, arg);
	const char *n = ext_name(arg);

	if (rc < 0)
		rc = -errno;
	j_begin();
	j_str("step", "ioctl");
	j_fd("fd", fd);
	j_str("cmd", name);
	if (with_arg) {
		if (n)
			j_str("arg", n);
		else
			j_num("arg", arg);
	}
	j_open("expect");
	if (rc < 0)
		j_str("errno", errno_name((int)-rc));
	else
		j_num("ret", (u64)rc);
	j_close();
	j_end();
	return rc;
}

static long t_vfio_ioas(u32 op, u32 ioas, u16 reserved)
{
	struct iommu_vfio_ioas c = { .size = sizeof(c), .ioas_id = ioas, .op = op, .__reserved = reserved };
	long rc = sys_ioctl(fd, IOMMU_VFIO_IOAS, &c);
	static const char *ops[] = { "IOMMU_VFIO_IOAS_GET", "IOMMU_VFIO_IOAS_SET", "IOMMU_VFIO_IOAS_CLEAR" };

	t_ioctl_begin(fd, "IOMMU_VFIO_IOAS");
	if (op < 3)
		j_str("op", ops[op]);
	else
		j_num("op", op);
	if (ioas)
		j_id("ioas_id", ioas);
	if (reserved)
		j_num("__reserved", reserved);
	if (t_expect_begin(rc) && op == IOMMU_VFIO_IOAS_GET)
		j_id("ioas_id", c.ioas_id);
	t_step_end();
	return rc;
}

static const char *dma_flags(u32 f)
{
	static char s[96];

	s[0] = 0;
	if (f & VFIO_DMA_MAP_FLAG_READ)
		strcat(s, "|VFIO_DMA_MAP_FLAG_READ");
	if (f & VFIO_DMA_MAP_FLAG_WRITE)
		strcat(s, "|VFIO_DMA_MAP_FLAG_WRITE");
	f &= ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	if (f)
		sprintf(s + strlen(s), "|%u", f);
	return s[0] ? s + 1 : "0";
}

static long t_map_dma(u32 argsz, u32 flags, u64 vaddr, u64 iova, u64 size)
{
	struct vfio_iommu_type1_dma_map c = {
		.argsz = argsz, .flags = flags, .vaddr = vaddr, .iova = iova, .size = size,
	};
	long rc = sys_ioctl(fd, VFIO_IOMMU_MAP_DMA, &c);
	const char *fs = dma_flags(flags);

	t_ioctl_begin(fd, "VFIO_IOMMU_MAP_DMA");
	j_num("argsz", argsz);
	if (strcmp(fs, "0"))
		j_str("flags", fs);
	else
		j_num("flags", 0);
	j_va("vaddr", vaddr);
	j_num("iova", iova);
	j_num("size", size);
	t_expect_begin(rc);
	t_step_end();
	return rc;
}

/* the kernel writes size back even when the unmap fails (after the argument checks) */
static long t_unmap_dma(u32 argsz, u32 flags, u64 iova, u64 size)
{
	struct vfio_iommu_type1_dma_unmap c = { .argsz = argsz, .flags = flags, .iova = iova, .size = size };
	long rc = sys_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &c);

	t_ioctl_begin(fd, "VFIO_IOMMU_UNMAP_DMA");
	j_num("argsz", argsz);
	if (flags == VFIO_DMA_UNMAP_FLAG_ALL)
		j_str("flags", "VFIO_DMA_UNMAP_FLAG_ALL");
	else
		j_num("flags", flags);
	j_num("iova", iova);
	j_num("size", size);
	t_expect_begin(rc);
	if (rc >= 0 || c.size != size)
		j_num("size", c.size);
	t_step_end();
	return rc;
}

static long t_get_info(u32 argsz)
{
	struct {
		struct vfio_iommu_type1_info info;
		unsigned char caps[512];
	} c;
	long rc;

	memset(&c, 0, sizeof(c));
	c.info.argsz = argsz;
	rc = sys_ioctl(fd, VFIO_IOMMU_GET_INFO, &c);
	t_ioctl_begin(fd, "VFIO_IOMMU_GET_INFO");
	j_num("argsz", argsz);
	if (t_expect_begin(rc)) {
		j_num("argsz", c.info.argsz);
		j_str("flags", "VFIO_IOMMU_INFO_PGSIZES|VFIO_IOMMU_INFO_CAPS");
		if (c.info.flags != (VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS)) {
			fprintf(stderr, "unexpected flags %x\n", c.info.flags);
			exit(2);
		}
		j_num("iova_pgsizes", c.info.iova_pgsizes);
		if (argsz >= sizeof(c.info))
			j_num("cap_offset", c.info.cap_offset);
	}
	t_step_end();
	if (rc == 0 && c.info.cap_offset) {
		/* the capability chain, as a comment for the reader */
		u32 off = c.info.cap_offset;

		while (off && off + 8 <= argsz) {
			struct vfio_info_cap_header *h = (void *)((char *)&c + off);

			if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
				struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;
				u32 i;

				printf("# cap IOVA_RANGE at %u: version %u next %u nr_iovas %u", off, h->version,
				       h->next, r->nr_iovas);
				for (i = 0; i < r->nr_iovas; i++)
					printf(" [0x%llx, 0x%llx]", (unsigned long long)r->iova_ranges[i].start,
					       (unsigned long long)r->iova_ranges[i].end);
				printf("\n");
			} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
				struct vfio_iommu_type1_info_dma_avail *d = (void *)h;

				printf("# cap DMA_AVAIL at %u: version %u next %u avail %u\n", off, h->version,
				       h->next, d->avail);
			} else {
				printf("# cap id %u at %u\n", h->id, off);
			}
			off = h->next;
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long type = argc > 1 ? strtoul(argv[1], NULL, 0) : VFIO_TYPE1v2_IOMMU;
	int v2 = type == VFIO_TYPE1v2_IOMMU;
	u32 a, b, d;
	u64 buf;
	char desc[128];
	struct t_mock m;

	snprintf(desc, sizeof(desc), "oracle vfio_compat: the VFIO type1 container ioctls on /dev/iommu, %s",
		 v2 ? "VFIO_TYPE1v2_IOMMU" : "VFIO_TYPE1_IOMMU");
	t_header(desc);
	fd = t_open("fd");
	buf = t_mmap(BASE, 64 * MiB, "buf");

	t_comment("before any compat IOAS");
	t_int_ioctl("VFIO_GET_API_VERSION", VFIO_GET_API_VERSION, 0, 0);
	t_int_ioctl("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU, 1);
	t_int_ioctl("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU, 1);
	t_int_ioctl("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL, 1);
	t_int_ioctl("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU, 1);
	t_int_ioctl("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU, 1);
	t_int_ioctl("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, 6, 1);
	t_int_ioctl("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, 2, 1);
	t_int_ioctl("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, 99, 1);
	t_int_ioctl("VFIO_SET_IOMMU", VFIO_SET_IOMMU, type, 1);
	t_int_ioctl("VFIO_SET_IOMMU", VFIO_SET_IOMMU, 2, 1);
	t_int_ioctl("VFIO_SET_IOMMU", VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU, 1);
	t_get_info(sizeof(struct vfio_iommu_type1_info));
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, buf, 0x100000, 0x10000);
	t_unmap_dma(24, 0, 0x100000, 0x10000);
	t_vfio_ioas(IOMMU_VFIO_IOAS_GET, 0, 0);

	t_comment("IOMMU_VFIO_IOAS selects the compat IOAS");
	t_ioas_alloc(fd, "ioas", &a);
	t_ioas_alloc(fd, "ioas2", &b);
	t_vfio_ioas(IOMMU_VFIO_IOAS_SET, 99, 0);
	t_vfio_ioas(IOMMU_VFIO_IOAS_SET, a, 0);
	t_vfio_ioas(IOMMU_VFIO_IOAS_GET, 0, 0);
	t_vfio_ioas(3, 0, 0);
	t_vfio_ioas(IOMMU_VFIO_IOAS_GET, 0, 1);
	t_vfio_ioas(IOMMU_VFIO_IOAS_SET, b, 0);
	t_vfio_ioas(IOMMU_VFIO_IOAS_GET, 0, 0);
	t_vfio_ioas(IOMMU_VFIO_IOAS_CLEAR, 0, 0);
	t_vfio_ioas(IOMMU_VFIO_IOAS_GET, 0, 0);
	t_vfio_ioas(IOMMU_VFIO_IOAS_SET, b, 0);
	t_comment("destroying the compat IOAS clears it");
	t_destroy(fd, b);
	t_vfio_ioas(IOMMU_VFIO_IOAS_GET, 0, 0);
	t_vfio_ioas(IOMMU_VFIO_IOAS_SET, a, 0);

	t_comment("SET_IOMMU and GET_INFO");
	t_int_ioctl("VFIO_SET_IOMMU", VFIO_SET_IOMMU, 2, 1);
	t_int_ioctl("VFIO_SET_IOMMU", VFIO_SET_IOMMU, type, 1);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, a, 0, NULL);
	t_iova_ranges(fd, a, 4, NULL, NULL);
	t_int_ioctl("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU, 1);
	t_get_info(15);
	t_get_info(16);
	t_get_info(20);
	t_get_info(24);
	t_get_info(40);
	t_get_info(64);
	t_get_info(512);

	t_comment("MAP_DMA: always at the given iova");
	t_map_dma(31, VFIO_DMA_MAP_FLAG_READ, buf, 0x100000, 0x10000);
	t_map_dma(32, 4, buf, 0x100000, 0x10000);
	t_map_dma(32, 0, buf, 0x100000, 0x10000);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, buf, 0x100000, 0x10000);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, buf, 0x108000, 0x10000);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ, buf + 0x10000, 0x110000, 0x10000);
	t_map_dma(40, VFIO_DMA_MAP_FLAG_WRITE, buf + 0x20000, 0x120000, 0x10000);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ, buf, 0x200000, 0);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ, buf + 0x10, 0x200010, 0x10);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ, buf, 0x300000, 0x1800);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ, buf, 0x400800, 0x1000);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ, buf, UINT64_MAX & ~0xfffULL, 0x2000);

	t_comment("UNMAP_DMA: argument checks");
	t_unmap_dma(23, 0, 0x100000, 0x10000);
	t_unmap_dma(24, 1, 0x100000, 0x10000);
	t_unmap_dma(24, 4, 0x100000, 0x10000);
	t_unmap_dma(24, VFIO_DMA_UNMAP_FLAG_ALL, 0x100000, 0);
	t_unmap_dma(24, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0x1000);
	t_unmap_dma(24, 0, 0x100000, 0);
	t_comment("unmapping nothing succeeds with size 0");
	t_unmap_dma(24, 0, 0x800000, 0x10000);
	t_comment("a hole in the middle of an area: TYPE1 splits it, TYPE1v2 refuses");
	t_unmap_dma(24, 0, 0x104000, 0x4000);
	t_unmap_dma(24, 0, 0x10c000, 0x2000);
	t_comment("sticking out past the end of an area");
	t_unmap_dma(24, 0, 0x11c000, 0x8000);
	t_comment("unaligned cut points");
	t_unmap_dma(24, 0, 0x110800, 0x1000);
	t_comment("what is left: maps over the holes tell");
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ, buf, 0x104000, 0x4000);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ, buf, 0x10c000, 0x2000);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ, buf, 0x11c000, 0x4000);
	t_comment("an exact unmap, then everything");
	t_unmap_dma(24, 0, 0x120000, 0x10000);
	t_unmap_dma(32, 0, 0x120000, 0x10000);
	t_unmap_dma(24, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
	t_unmap_dma(24, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
	t_comment("unmap of a range starting at iova 0 (no lower cut)");
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ, buf, 0x0, 0x10000);
	t_unmap_dma(24, 0, 0x0, 0x4000);
	t_unmap_dma(24, 0, 0x0, 0x10000);

	t_comment("with a mock domain attached to the compat IOAS");
	t_ioas_alloc(fd, "ioas3", &d);
	t_vfio_ioas(IOMMU_VFIO_IOAS_SET, d, 0);
	t_mock_domain(fd, d, "mock", &m);
	t_int_ioctl("VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU, 1);
	t_get_info(24);
	t_get_info(512);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, buf, 0x1000000, 0x10000);
	t_comment("SET_IOMMU once pages are mapped into a domain");
	t_int_ioctl("VFIO_SET_IOMMU", VFIO_SET_IOMMU, type, 1);
	t_unmap_dma(24, 0, 0x1004000, 0x4000);
	t_unmap_dma(24, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
	t_int_ioctl("VFIO_SET_IOMMU", VFIO_SET_IOMMU, type, 1);
	t_iova_ranges(fd, d, 4, NULL, NULL);
	t_get_info(24);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, buf + 0x800, 0x1000800, 0x1800);
	t_map_dma(32, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, buf, 0x1000000, 0x10000);
	t_unmap_dma(24, 0, 0x1004000, 0x4000);
	t_unmap_dma(24, 0, 0x1000000, 0x20000);
	t_comment("unknown VFIO ioctls");
	t_int_ioctl("0x3b75", VFIO_IOMMU_DIRTY_PAGES, 0, 0);
	t_int_ioctl("0x3b67", VFIO_GROUP_GET_STATUS, 0, 0);
	t_destroy(fd, m.stdev);
	t_close(fd);
	fprintf(stderr, "vfio_compat %lu: %ld steps\n", type, t_steps);
	return 0;
}
