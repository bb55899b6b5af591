/*
 * Latency of the dma-engine (docs/devices.md) at /dev/vfio/devices/vfioN (default 0) through whatever kernel
 * the process sees (under `uiommu run`: the shim and the daemon). Two measurements, each printed
 * as p50/p90/p99/max in microseconds over N iterations (default 2000) after a warm-up:
 *
 *   doorbell: pwrite of the doorbell -> the MSI eventfd is readable (a 64-byte mapped transfer);
 *   fault:    doorbell -> the page request is read from the fault fd (poll + read) -> the page
 *             is mapped (IOAS_MAP) and the response written -> the MSI eventfd says DONE.
 *
 *   cc -O2 -I native/include -o dma_fault native/bench/dma_fault.c
 *   ./uiommu run --platform vtd -- ./dma_fault [N [/dev/vfio/devices/vfioN]]
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
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#ifndef VFIO_DEVICE_BIND_IOMMUFD
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif
struct bind_iommufd { uint32_t argsz, flags; int32_t iommufd; uint32_t out_devid; };
struct attach_pt { uint32_t argsz, flags, pt_id; };

enum {
	REG_SRC_IOVA = 0x010, REG_DST_IOVA = 0x018, REG_LENGTH = 0x020, REG_BUF_OFFSET = 0x024, REG_PASID = 0x028,
	REG_OP = 0x02c, REG_DOORBELL = 0x030, REG_STATUS = 0x034, REG_INT_STATUS = 0x060, REG_INT_MASK = 0x064,
	OP_TO_DEVICE = 0, STATUS_DONE = 2, EXT_CAP_PRI = 0x13,
};

#define DIE(what) do { fprintf(stderr, "dma_fault: %s: %s\n", what, strerror(errno)); exit(1); } while (0)

static int devfd, iommufd, efd;
static uint64_t bar0, cfg;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void wr(uint64_t at, const void *v, int len)
{
	if (pwrite(devfd, v, len, (off_t)at) != len)
		DIE("pwrite");
}

static uint32_t rd32(uint64_t at)
{
	uint32_t v;
	if (pread(devfd, &v, 4, (off_t)at) != 4)
		DIE("pread");
	return v;
}

static void wr32(uint64_t at, uint32_t v)
{
	wr(at, &v, 4);
}

static void wait_irq(void)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t n;
	if (poll(&p, 1, 10000) != 1 || read(efd, &n, 8) != 8)
		DIE("MSI eventfd");
}

static void report(const char *what, uint64_t *t, long n)
{
	qsort(t, n, sizeof(*t), cmp);
	printf("%s: n=%ld p50=%.1f us p90=%.1f us p99=%.1f us max=%.1f us\n", what, n, t[n / 2] / 1e3,
	       t[n * 9 / 10] / 1e3, t[n * 99 / 100] / 1e3, t[n - 1] / 1e3);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000;
	const char *path = argc > 2 ? argv[2] : "/dev/vfio/devices/vfio0";
	long warm = n / 10 < 200 ? n / 10 : 200;
	iommufd = open("/dev/iommu", O_RDWR);
	devfd = open(path, O_RDWR);
	if (iommufd < 0 || devfd < 0)
		DIE("open");
	struct bind_iommufd b = { .argsz = sizeof(b), .iommufd = iommufd };
	if (ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &b))
		DIE("BIND_IOMMUFD");
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &ia))
		DIE("IOAS_ALLOC");
	struct vfio_region_info r = { .argsz = sizeof(r), .index = VFIO_PCI_BAR0_REGION_INDEX };
	if (ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &r))
		DIE("REGION_INFO");
	bar0 = r.offset;
	r = (struct vfio_region_info){ .argsz = sizeof(r), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	if (ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &r))
		DIE("REGION_INFO");
	cfg = r.offset;
	efd = eventfd(0, EFD_CLOEXEC);
	struct { struct vfio_irq_set s; int32_t fd; } irq = { { .argsz = sizeof(irq),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, .index = VFIO_PCI_MSI_IRQ_INDEX,
		.count = 1 }, efd };
	if (ioctl(devfd, VFIO_DEVICE_SET_IRQS, &irq))
		DIE("SET_IRQS");
	uint16_t cmd;
	if (pread(devfd, &cmd, 2, (off_t)cfg + 4) != 2)
		DIE("config");
	cmd |= 6; /* memory decode, bus master */
	wr(cfg + 4, &cmd, 2);
	wr32(bar0 + REG_INT_MASK, 0);

	char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, 4096);
	const uint64_t iova = 1ull << 30;
	struct iommu_ioas_map map = { .size = sizeof(map), .ioas_id = ia.out_ioas_id,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)buf, .length = 4096, .iova = iova };
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ia.out_ioas_id, .iova = iova, .length = 4096 };
	uint64_t zero = 0, src = iova;
	uint32_t len = 64, op = OP_TO_DEVICE, start = 1;
	uint64_t *t = malloc(sizeof(*t) * n);

	/* doorbell -> MSI, the page mapped */
	struct attach_pt at = { .argsz = sizeof(at), .pt_id = ia.out_ioas_id };
	if (ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) || ioctl(iommufd, IOMMU_IOAS_MAP, &map))
		DIE("attach/map");
	wr(bar0 + REG_SRC_IOVA, &src, 8);
	wr(bar0 + REG_DST_IOVA, &zero, 8);
	wr32(bar0 + REG_LENGTH, len);
	wr32(bar0 + REG_BUF_OFFSET, 0);
	wr32(bar0 + REG_PASID, 0);
	wr32(bar0 + REG_OP, op);
	for (long i = -warm; i < n; i++) {
		uint64_t t0 = now_ns();
		wr32(bar0 + REG_DOORBELL, start);
		wait_irq();
		if (i >= 0)
			t[i] = now_ns() - t0;
		wr32(bar0 + REG_INT_STATUS, 7);
	}
	report("doorbell -> MSI eventfd (64-byte DMA read)", t, n);
	if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap))
		DIE("unmap");

	/* doorbell -> page request -> map + response -> MSI */
	uint32_t pri = 0;
	for (uint32_t a = 0x100, hops = 0; a >= 0x100 && hops < 64; hops++) {
		uint32_t h = rd32(cfg + a);
		if ((h & 0xffff) == EXT_CAP_PRI) {
			pri = a;
			break;
		}
		if (h == 0 || (a = h >> 20) == 0)
			break;
	}
	if (!pri) {
		printf("fault round trip: skipped (the device has no PRI on this platform)\n");
		return 0;
	}
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	if (ioctl(iommufd, IOMMU_FAULT_QUEUE_ALLOC, &fa))
		DIE("FAULT_QUEUE_ALLOC");
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha), .flags = IOMMU_HWPT_FAULT_ID_VALID, .dev_id = b.out_devid,
		.pt_id = ia.out_ioas_id, .fault_id = fa.out_fault_id };
	if (ioctl(iommufd, IOMMU_HWPT_ALLOC, &ha))
		DIE("HWPT_ALLOC");
	at.pt_id = ha.out_hwpt_id;
	if (ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at))
		DIE("attach");
	wr32(cfg + pri + 0x0c, 32);
	uint16_t on = 1;
	wr(cfg + pri + 0x04, &on, 2);
	struct pollfd p = { .fd = (int)fa.out_fault_fd, .events = POLLIN };
	struct iommu_hwpt_pgfault f[4];
	for (long i = -warm; i < n; i++) {
		uint64_t t0 = now_ns();
		wr32(bar0 + REG_DOORBELL, start);
		if (poll(&p, 1, 10000) != 1)
			DIE("poll of the fault fd");
		ssize_t got = read(p.fd, f, sizeof(f));
		if (got < (ssize_t)sizeof(f[0]))
			DIE("read of the fault fd");
		if (ioctl(iommufd, IOMMU_IOAS_MAP, &map))
			DIE("map");
		struct iommu_hwpt_page_response resp = { .cookie = f[got / sizeof(f[0]) - 1].cookie,
			.code = IOMMUFD_PAGE_RESP_SUCCESS };
		if (write(p.fd, &resp, sizeof(resp)) != sizeof(resp))
			DIE("response");
		wait_irq();
		if (i >= 0)
			t[i] = now_ns() - t0;
		if (rd32(bar0 + REG_STATUS) != STATUS_DONE) {
			fprintf(stderr, "dma_fault: the transfer did not complete\n");
			return 1;
		}
		wr32(bar0 + REG_INT_STATUS, 7);
		if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap))
			DIE("unmap");
	}
	report("fault round trip (doorbell, poll, read, IOAS_MAP, response, MSI)", t, n);
	return 0;
}
