/*
 * End to end through a VFIO cdev, as a user-space driver would do it on a real machine: the
 * dma-engine (docs/devices.md) at /dev/vfio/devices/vfioN (default vfio0) behind an IOMMU, driven with nothing but
 * the kernel's uAPI (iommufd + VFIO cdev). Run it under uiommu:
 *
 *     ./uiommu run --platform vtd -- native/build/vfio_dma_engine [/dev/vfio/devices/vfioN]
 *         [--skip iopf,pasid,dirty,veventq]
 *
 * Stages: bind + attach to an IOAS, DMA both ways and a copy with an MSI eventfd; a DMA fault on
 * an unmapped IOVA; I/O page faults (fault queue, PRI, poll + read + map + response, the DMA
 * completes); a PASID attached through VFIO; dirty tracking read back with GET_DIRTY_BITMAP; on
 * SMMUv3 a vIOMMU whose guest fault is read from its vEVENTQ.
 * A stage the machine cannot do (no PRI or PASID capability on its device) is reported and
 * skipped. Every check prints what failed; the exit status is 0 only if all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

/* ---- VFIO cdev uAPI (6.6+, PASID 6.15), in case the header is older -------------------------- */

#ifndef VFIO_DEVICE_BIND_IOMMUFD
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif
#ifndef VFIO_DEVICE_ATTACH_PASID
#define VFIO_DEVICE_ATTACH_PASID (1 << 0)
#define VFIO_DEVICE_DETACH_PASID (1 << 0)
#endif
struct bind_iommufd { uint32_t argsz, flags; int32_t iommufd; uint32_t out_devid; };
struct attach_pt { uint32_t argsz, flags, pt_id, pasid; };
struct detach_pt { uint32_t argsz, flags, pasid; };

/* ---- the dma-engine (docs/devices.md) ---------------------------------------------------------- */

enum {
	DMAE_VENDOR = 0x1234, DMAE_DEVICE = 0xdae0,
	REG_ID = 0x000, REG_CAPS = 0x008, REG_BUF_SIZE = 0x00c, REG_SRC_IOVA = 0x010, REG_DST_IOVA = 0x018,
	REG_LENGTH = 0x020, REG_BUF_OFFSET = 0x024, REG_PASID = 0x028, REG_OP = 0x02c, REG_DOORBELL = 0x030,
	REG_STATUS = 0x034, REG_ERROR = 0x038, REG_BYTES_DONE = 0x040, REG_FAULT_IOVA = 0x048,
	REG_INT_STATUS = 0x060, REG_INT_MASK = 0x064, DATA_WINDOW = 0x8000,
	ID_VALUE = 0x444d4145,
	CAPS_PASID = 1 << 0, CAPS_PRI = 1 << 1,
	OP_TO_DEVICE = 0, OP_FROM_DEVICE = 1, OP_COPY = 2,
	STATUS_DONE = 2, STATUS_FAULT = 3, STATUS_PAGE_WAIT = 4,
	INT_DONE = 1 << 0, INT_FAULT = 1 << 1, INT_ALL = 7,
	PASID_VALID = 1u << 31,
};

/* PCI config space. */
enum {
	PCI_COMMAND_ = 0x04, CMD_MEMORY = 1 << 1, CMD_MASTER = 1 << 2,
	EXT_CAP_PRI = 0x13, EXT_CAP_PASID = 0x1b,
	PRI_CTRL = 0x04, PRI_ALLOC_REQ = 0x0c, PASID_CTRL = 0x06,
};

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "vfio_dma_engine: %s:%d: %s failed (errno %d %s)\n", \
	__FILE__, __LINE__, #cond, errno, strerror(errno)); exit(1); } } while (0)

static int iommufd, devfd, efd;
static uint32_t dev_id, ioas_id;
static uint64_t bar0, cfg; /* region offsets */

static uint32_t rd32(uint64_t reg)
{
	uint32_t v = 0;
	CHECK(pread(devfd, &v, 4, (off_t)(bar0 + reg)) == 4);
	return v;
}

static void wr32(uint64_t reg, uint32_t v)
{
	CHECK(pwrite(devfd, &v, 4, (off_t)(bar0 + reg)) == 4);
}

static void wr64(uint64_t reg, uint64_t v)
{
	CHECK(pwrite(devfd, &v, 8, (off_t)(bar0 + reg)) == 8);
}

static uint32_t cfg_read(uint32_t at, int len)
{
	uint32_t v = 0;
	CHECK(pread(devfd, &v, len, (off_t)(cfg + at)) == len);
	return v;
}

static void cfg_write(uint32_t at, int len, uint32_t v)
{
	CHECK(pwrite(devfd, &v, len, (off_t)(cfg + at)) == len);
}

/* The offset of a PCIe extended capability, 0 if the function has none. */
static uint32_t ext_cap(uint16_t id)
{
	for (uint32_t at = 0x100, hops = 0; at >= 0x100 && hops < 64; hops++) {
		uint32_t h = cfg_read(at, 4);
		if (h == 0 || h == 0xffffffff)
			return 0;
		if ((h & 0xffff) == id)
			return at;
		at = h >> 20;
	}
	return 0;
}

static void *pages(size_t n)
{
	void *p = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	return p;
}

static uint64_t map_at(uint32_t ioas, void *va, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map m = { .size = sizeof(m), .ioas_id = ioas, .user_va = (uintptr_t)va, .length = len,
		.iova = iova, .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			(iova ? IOMMU_IOAS_MAP_FIXED_IOVA : 0) };
	CHECK(ioctl(iommufd, IOMMU_IOAS_MAP, &m) == 0);
	return m.iova;
}

static void attach(uint32_t pt, uint32_t flags, uint32_t pasid)
{
	struct attach_pt a = { .argsz = sizeof(a), .flags = flags, .pt_id = pt, .pasid = pasid };
	if (!(flags & VFIO_DEVICE_ATTACH_PASID))
		a.argsz = 12; /* the 6.12 size: a PASID-less attach works with either kernel */
	CHECK(ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a) == 0);
}

/* Waits for the engine's MSI (the eventfd), then returns STATUS; INT_STATUS is acknowledged. */
static uint32_t wait_irq(void)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	CHECK(poll(&p, 1, 10000) == 1);
	uint64_t n;
	CHECK(read(efd, &n, 8) == 8 && n >= 1);
	uint32_t st = rd32(REG_STATUS);
	wr32(REG_INT_STATUS, rd32(REG_INT_STATUS));
	return st;
}

static void program(uint32_t op, uint64_t src, uint64_t dst, uint32_t len, uint32_t pasid)
{
	wr64(REG_SRC_IOVA, src);
	wr64(REG_DST_IOVA, dst);
	wr32(REG_LENGTH, len);
	wr32(REG_BUF_OFFSET, 0);
	wr32(REG_PASID, pasid);
	wr32(REG_OP, op);
	wr32(REG_DOORBELL, 1);
}

/* Stages the caller says this machine does not do yet (--skip iopf,pasid,...): reported, not run. */
static const char *skipped = "";

static int wanted(const char *key)
{
	size_t n = strlen(key);
	for (const char *p = skipped; (p = strstr(p, key)) != NULL; p += n)
		if ((p == skipped || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return 0;
	return 1;
}

static void stage(const char *name)
{
	printf("vfio_dma_engine: %s ok\n", name);
	fflush(stdout);
}

static void skip(const char *name, const char *why)
{
	printf("vfio_dma_engine: %s skipped (%s)\n", name, why);
	fflush(stdout);
}

/* ---- stages ------------------------------------------------------------------------------------ */

static void open_bind_attach(const char *path)
{
	iommufd = open("/dev/iommu", O_RDWR);
	CHECK(iommufd >= 0);
	devfd = open(path, O_RDWR);
	CHECK(devfd >= 0);
	/* Before the bind, the device does nothing but BIND. */
	struct vfio_device_info info = { .argsz = sizeof(info) };
	CHECK(ioctl(devfd, VFIO_DEVICE_GET_INFO, &info) == -1 && errno == EINVAL);
	struct bind_iommufd b = { .argsz = sizeof(b), .iommufd = iommufd };
	CHECK(ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &b) == 0);
	dev_id = b.out_devid;
	CHECK(ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &b) == -1 && errno == EINVAL);
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	CHECK(ioctl(iommufd, IOMMU_IOAS_ALLOC, &ia) == 0);
	ioas_id = ia.out_ioas_id;
	attach(ioas_id, 0, 0);

	CHECK(ioctl(devfd, VFIO_DEVICE_GET_INFO, &info) == 0);
	CHECK(info.flags & VFIO_DEVICE_FLAGS_PCI);
	CHECK(info.num_regions > VFIO_PCI_CONFIG_REGION_INDEX && info.num_irqs > VFIO_PCI_MSI_IRQ_INDEX);
	struct vfio_region_info r = { .argsz = sizeof(r), .index = VFIO_PCI_BAR0_REGION_INDEX };
	CHECK(ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &r) == 0);
	CHECK(r.size >= 0x10000 && (r.flags & VFIO_REGION_INFO_FLAG_READ) && (r.flags & VFIO_REGION_INFO_FLAG_WRITE));
	bar0 = r.offset;
	r = (struct vfio_region_info){ .argsz = sizeof(r), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	CHECK(ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &r) == 0);
	cfg = r.offset;
	CHECK(cfg >= (1ull << 40)); /* a 64-bit file offset made it through pread */
	CHECK(cfg_read(0, 2) == DMAE_VENDOR && cfg_read(2, 2) == DMAE_DEVICE);
	CHECK(rd32(REG_ID) == ID_VALUE);

	/* MSI: one vector, an eventfd. */
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSI_IRQ_INDEX };
	CHECK(ioctl(devfd, VFIO_DEVICE_GET_IRQ_INFO, &ii) == 0 && ii.count >= 1 && (ii.flags & VFIO_IRQ_INFO_EVENTFD));
	efd = eventfd(0, EFD_CLOEXEC);
	CHECK(efd >= 0);
	struct { struct vfio_irq_set s; int32_t fd; } irq = { { .argsz = sizeof(irq),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_MSI_IRQ_INDEX,
		.start = 0, .count = 1 }, efd };
	CHECK(ioctl(devfd, VFIO_DEVICE_SET_IRQS, &irq) == 0);
	/* A non-eventfd is refused as the kernel refuses it. */
	irq.fd = iommufd;
	CHECK(ioctl(devfd, VFIO_DEVICE_SET_IRQS, &irq) == -1 && errno == EINVAL);
	irq.fd = efd;
	CHECK(ioctl(devfd, VFIO_DEVICE_SET_IRQS, &irq) == 0);

	cfg_write(PCI_COMMAND_, 2, cfg_read(PCI_COMMAND_, 2) | CMD_MEMORY | CMD_MASTER);
	wr32(REG_INT_MASK, 0);
	stage("bind, attach, info, MSI eventfd");
}

static char *src, *dst;
static uint64_t src_iova, dst_iova;

static void dma_both_ways(void)
{
	src = pages(4);
	dst = pages(4);
	for (int i = 0; i < 4 * 4096; i++)
		src[i] = (char)(i * 7 + 1);
	src_iova = map_at(ioas_id, src, 4 * 4096, 0);
	dst_iova = map_at(ioas_id, dst, 4 * 4096, 0);

	/* Memory to the device's window, read back through BAR0. */
	program(OP_TO_DEVICE, src_iova + 100, 0, 5000, 0);
	CHECK(wait_irq() == STATUS_DONE);
	char win[5000];
	CHECK(pread(devfd, win, sizeof(win), (off_t)(bar0 + DATA_WINDOW)) == sizeof(win));
	CHECK(memcmp(win, src + 100, sizeof(win)) == 0);

	/* The window to memory. */
	memset(win, 0x5a, sizeof(win));
	CHECK(pwrite(devfd, win, sizeof(win), (off_t)(bar0 + DATA_WINDOW)) == sizeof(win));
	program(OP_FROM_DEVICE, 0, dst_iova + 4000, 5000, 0);
	CHECK(wait_irq() == STATUS_DONE);
	CHECK(rd32(REG_BYTES_DONE) == 5000);
	CHECK(memcmp(dst + 4000, win, 5000) == 0 && dst[3999] == 0 && dst[9000] == 0);

	/* Memory to memory. */
	program(OP_COPY, src_iova, dst_iova + 8192, 8192, 0);
	CHECK(wait_irq() == STATUS_DONE);
	CHECK(memcmp(dst + 8192, src, 8192) == 0);
	stage("DMA to and from the device, copy, MSI");
}

static void dma_fault(void)
{
	/* Nothing is mapped at this IOVA: the transfer faults and says where. */
	uint64_t hole = dst_iova + 64 * 4096;
	program(OP_FROM_DEVICE, 0, hole, 64, 0);
	CHECK(wait_irq() == STATUS_FAULT);
	uint64_t at;
	CHECK(pread(devfd, &at, 8, (off_t)(bar0 + REG_FAULT_IOVA)) == 8);
	CHECK(at == hole);
	stage("DMA fault at an unmapped IOVA");
}

static int pasid_cap, pri_cap;
static uint32_t caps;

static void iopf(void)
{
	if (!wanted("iopf")) {
		skip("I/O page fault", "--skip");
		return;
	}
	if (!(caps & CAPS_PRI) || !pri_cap) {
		skip("I/O page fault", "the device has no PRI");
		return;
	}
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	CHECK(ioctl(iommufd, IOMMU_FAULT_QUEUE_ALLOC, &fa) == 0);
	int ffd = fa.out_fault_fd;
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha), .flags = IOMMU_HWPT_FAULT_ID_VALID, .dev_id = dev_id,
		.pt_id = ioas_id, .fault_id = fa.out_fault_id };
	CHECK(ioctl(iommufd, IOMMU_HWPT_ALLOC, &ha) == 0);
	attach(ha.out_hwpt_id, 0, 0);
	cfg_write(pri_cap + PRI_ALLOC_REQ, 4, 32);
	cfg_write(pri_cap + PRI_CTRL, 2, 1);

	char *late = pages(1);
	memset(late, 0x3c, 4096);
	uint64_t iova = dst_iova + 128 * 4096;
	struct pollfd p = { .fd = ffd, .events = POLLIN };
	CHECK(poll(&p, 1, 0) == 0);
	program(OP_TO_DEVICE, iova, 0, 4096, 0);
	/* The device waits for the page; its fault reaches the fault fd. */
	CHECK(poll(&p, 1, 10000) == 1 && (p.revents & POLLIN));
	CHECK(rd32(REG_STATUS) == STATUS_PAGE_WAIT);
	struct iommu_hwpt_pgfault f[8];
	ssize_t n = read(ffd, f, sizeof(f));
	CHECK(n >= (ssize_t)sizeof(f[0]) && n % sizeof(f[0]) == 0);
	int k = n / sizeof(f[0]);
	CHECK(f[k - 1].flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	CHECK(f[0].dev_id == dev_id && (f[0].addr & ~4095ull) == iova);
	CHECK(poll(&p, 1, 0) == 0);
	map_at(ioas_id, late, 4096, iova);
	struct iommu_hwpt_page_response resp = { .cookie = f[k - 1].cookie, .code = IOMMUFD_PAGE_RESP_SUCCESS };
	CHECK(write(ffd, &resp, sizeof(resp)) == sizeof(resp));
	CHECK(wait_irq() == STATUS_DONE);
	char win[4096];
	CHECK(pread(devfd, win, sizeof(win), (off_t)(bar0 + DATA_WINDOW)) == sizeof(win));
	CHECK(memcmp(win, late, 4096) == 0);

	/* An INVALID response ends the transfer in a fault. */
	program(OP_TO_DEVICE, iova + 4096, 0, 64, 0);
	CHECK(poll(&p, 1, 10000) == 1);
	n = read(ffd, f, sizeof(f));
	CHECK(n >= (ssize_t)sizeof(f[0]));
	resp.cookie = f[n / sizeof(f[0]) - 1].cookie;
	resp.code = IOMMUFD_PAGE_RESP_INVALID;
	CHECK(write(ffd, &resp, sizeof(resp)) == sizeof(resp));
	CHECK(wait_irq() == STATUS_FAULT);

	attach(ioas_id, 0, 0);
	struct iommu_destroy d = { .size = sizeof(d), .id = ha.out_hwpt_id };
	CHECK(ioctl(iommufd, IOMMU_DESTROY, &d) == 0);
	close(ffd);
	stage("I/O page fault: poll, read, map, respond, DMA done");
}

static void pasid(void)
{
	if (!wanted("pasid")) {
		skip("PASID", "--skip");
		return;
	}
	if (!(caps & CAPS_PASID) || !pasid_cap) {
		skip("PASID", "the device has no PASID capability");
		return;
	}
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha), .flags = IOMMU_HWPT_ALLOC_PASID, .dev_id = dev_id,
		.pt_id = ioas_id };
	CHECK(ioctl(iommufd, IOMMU_HWPT_ALLOC, &ha) == 0);
	/* The RID must be on a PASID-capable domain too while PASIDs are attached. */
	attach(ha.out_hwpt_id, 0, 0);
	attach(ha.out_hwpt_id, VFIO_DEVICE_ATTACH_PASID, 1);
	cfg_write(pasid_cap + PASID_CTRL, 2, 1);
	memset(dst, 0, 4096);
	memset(src, 0x6b, 64);
	program(OP_COPY, src_iova, dst_iova, 64, 1 | PASID_VALID);
	CHECK(wait_irq() == STATUS_DONE);
	CHECK(dst[0] == 0x6b && dst[63] == 0x6b);
	struct detach_pt dt = { .argsz = sizeof(dt), .flags = VFIO_DEVICE_DETACH_PASID, .pasid = 1 };
	CHECK(ioctl(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt) == 0);
	/* Detached: the same PASID now faults. */
	program(OP_COPY, src_iova, dst_iova, 64, 1 | PASID_VALID);
	CHECK(wait_irq() == STATUS_FAULT);
	attach(ioas_id, 0, 0);
	struct iommu_destroy d = { .size = sizeof(d), .id = ha.out_hwpt_id };
	CHECK(ioctl(iommufd, IOMMU_DESTROY, &d) == 0);
	stage("PASID attached through VFIO");
}

static void dirty(void)
{
	if (!wanted("dirty")) {
		skip("dirty tracking", "--skip");
		return;
	}
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING, .dev_id = dev_id,
		.pt_id = ioas_id };
	if (ioctl(iommufd, IOMMU_HWPT_ALLOC, &ha) != 0 && errno == EOPNOTSUPP) {
		skip("dirty tracking", "the IOMMU has no dirty tracking");
		return;
	}
	CHECK(ha.out_hwpt_id != 0);
	/*
	 * Its own buffer, 4 KiB past a 16 KiB IOVA boundary: pages 1 and 2 (written below) then never
	 * share an I/O page with pages 0 and 3. AMD v1 maps any power of two, and a large page is dirty
	 * as a whole, so with an aligned buffer the bitmap would rightly report all four.
	 */
	char *buf = pages(4);
	uint64_t base = map_at(ioas_id, buf, 4 * 4096, 0x7f0001000ull);
	attach(ha.out_hwpt_id, 0, 0);
	struct iommu_hwpt_set_dirty_tracking on = { .size = sizeof(on), .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
		.hwpt_id = ha.out_hwpt_id };
	CHECK(ioctl(iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING, &on) == 0);
	uint64_t bitmap = 0;
	struct iommu_hwpt_get_dirty_bitmap g = { .size = sizeof(g), .hwpt_id = ha.out_hwpt_id, .iova = base,
		.length = 4 * 4096, .page_size = 4096, .data = (uintptr_t)&bitmap };
	CHECK(ioctl(iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g) == 0); /* clears what came before */
	bitmap = 0;
	program(OP_COPY, src_iova, base + 4096 + 4000, 200, 0); /* writes pages 1 and 2 */
	CHECK(wait_irq() == STATUS_DONE);
	g.flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
	CHECK(ioctl(iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g) == 0);
	CHECK(bitmap == 0x6);
	bitmap = 0;
	g.flags = 0;
	CHECK(ioctl(iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g) == 0);
	CHECK(bitmap == 0x6);
	bitmap = 0;
	CHECK(ioctl(iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g) == 0);
	CHECK(bitmap == 0);
	CHECK(memcmp(buf + 4096 + 4000, src, 200) == 0);
	on.flags = 0;
	CHECK(ioctl(iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING, &on) == 0);
	attach(ioas_id, 0, 0);
	struct iommu_destroy d = { .size = sizeof(d), .id = ha.out_hwpt_id };
	CHECK(ioctl(iommufd, IOMMU_DESTROY, &d) == 0);
	stage("dirty tracking: GET_DIRTY_BITMAP sees the DMA writes");
}

/*
 * SMMUv3 only: a vIOMMU over a nesting parent, a vDEVICE (vSID 0x42) and a vEVENTQ; the device is
 * attached to a nested HWPT whose vSTE points at a guest CD table holding no valid CD, so its DMA
 * raises C_BAD_CD, which the host driver forwards to the vEVENTQ with the vSID.
 */
static void viommu_veventq(void)
{
	struct iommu_hw_info hi = { .size = sizeof(hi), .dev_id = dev_id };
	uint8_t hw[256];
	hi.data_len = sizeof(hw);
	hi.data_uptr = (uintptr_t)hw;
	CHECK(ioctl(iommufd, IOMMU_GET_HW_INFO, &hi) == 0);
	if (hi.out_data_type != IOMMU_HW_INFO_TYPE_ARM_SMMUV3) {
		skip("vIOMMU vEVENTQ", "not an SMMUv3");
		return;
	}
	if (!wanted("veventq")) {
		skip("vIOMMU vEVENTQ", "--skip");
		return;
	}
	struct iommu_hwpt_alloc parent = { .size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
		.dev_id = dev_id, .pt_id = ioas_id };
	CHECK(ioctl(iommufd, IOMMU_HWPT_ALLOC, &parent) == 0);
	struct iommu_viommu_alloc va = { .size = sizeof(va), .type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3, .dev_id = dev_id,
		.hwpt_id = parent.out_hwpt_id };
	CHECK(ioctl(iommufd, IOMMU_VIOMMU_ALLOC, &va) == 0);
	struct iommu_veventq_alloc vq = { .size = sizeof(vq), .viommu_id = va.out_viommu_id,
		.type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, .veventq_depth = 8 };
	CHECK(ioctl(iommufd, IOMMU_VEVENTQ_ALLOC, &vq) == 0);
	struct iommu_vdevice_alloc vd = { .size = sizeof(vd), .viommu_id = va.out_viommu_id, .dev_id = dev_id,
		.virt_id = 0x42 };
	CHECK(ioctl(iommufd, IOMMU_VDEVICE_ALLOC, &vd) == 0);
	/* The guest's CD table: one page of its RAM (an IPA of the parent's stage 2), no valid CD. */
	char *cd = pages(1);
	uint64_t cd_ipa = map_at(ioas_id, cd, 4096, 0);
	struct iommu_hwpt_arm_smmuv3 vste = { .ste = {
		1 /* V */ | 5ull << 1 /* Config: S1 translate */ | (cd_ipa & ~0x3full) /* S1ContextPtr */, 0 } };
	struct iommu_hwpt_alloc nested = { .size = sizeof(nested), .dev_id = dev_id, .pt_id = va.out_viommu_id,
		.data_type = IOMMU_HWPT_DATA_ARM_SMMUV3, .data_len = sizeof(vste), .data_uptr = (uintptr_t)&vste };
	CHECK(ioctl(iommufd, IOMMU_HWPT_ALLOC, &nested) == 0);
	attach(nested.out_hwpt_id, 0, 0);

	struct pollfd p = { .fd = (int)vq.out_veventq_fd, .events = POLLIN };
	CHECK(poll(&p, 1, 0) == 0);
	program(OP_TO_DEVICE, 0x10000, 0, 64, 0);
	CHECK(wait_irq() == STATUS_FAULT);
	CHECK(poll(&p, 1, 10000) == 1 && (p.revents & POLLIN));
	struct { struct iommufd_vevent_header h; struct iommu_vevent_arm_smmuv3 e; } ev;
	CHECK(read(p.fd, &ev, sizeof(ev)) == sizeof(ev));
	CHECK(ev.h.flags == 0 && ev.h.sequence == 0);
	CHECK((ev.e.evt[0] & 0xff) == 0x0a /* C_BAD_CD */ && (ev.e.evt[0] >> 32) == 0x42 /* the vSID */);
	CHECK(poll(&p, 1, 0) == 0);

	attach(ioas_id, 0, 0);
	uint32_t ids[] = { nested.out_hwpt_id, vd.out_vdevice_id };
	for (unsigned i = 0; i < 2; i++) {
		struct iommu_destroy d = { .size = sizeof(d), .id = ids[i] };
		CHECK(ioctl(iommufd, IOMMU_DESTROY, &d) == 0);
	}
	CHECK(close(p.fd) == 0);
	uint32_t rest[] = { vq.out_veventq_id, va.out_viommu_id, parent.out_hwpt_id };
	for (unsigned i = 0; i < 3; i++) {
		struct iommu_destroy d = { .size = sizeof(d), .id = rest[i] };
		CHECK(ioctl(iommufd, IOMMU_DESTROY, &d) == 0);
	}
	stage("vIOMMU: a guest's C_BAD_CD read from the vEVENTQ with its vSID");
}

int main(int argc, char **argv)
{
	const char *path = "/dev/vfio/devices/vfio0";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--skip") && i + 1 < argc)
			skipped = argv[++i];
		else
			path = argv[i];
	}
	printf("vfio_dma_engine: %s\n", path);
	open_bind_attach(path);
	caps = rd32(REG_CAPS);
	pri_cap = ext_cap(EXT_CAP_PRI);
	pasid_cap = ext_cap(EXT_CAP_PASID);
	dma_both_ways();
	dma_fault();
	iopf();
	pasid();
	dirty();
	viommu_veventq();
	struct detach_pt dt = { .argsz = 8 };
	CHECK(ioctl(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt) == 0);
	CHECK(close(devfd) == 0);
	CHECK(close(iommufd) == 0);
	printf("vfio_dma_engine: all stages passed\n");
	return 0;
}
