/*
 * Round trip of IOMMU_IOAS_MAP + IOMMU_IOAS_UNMAP of one 4 KiB page, through whatever /dev/iommu
 * the process sees (under `uiommu run`, the shim and the daemon). Prints p50/p90/p99/max in
 * microseconds over N iterations (default 100000) after a warm-up.
 *
 *   cc -O2 -I native/include -o map_unmap native/bench/map_unmap.c
 *   ./uiommu run -- ./map_unmap [N] [--domain]
 *
 * With --domain a mock device is attached first (needs the selftest's IOMMU_TEST_CMD), so each
 * map also pins the page and maps it into the I/O page table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>

/* IOMMU_TEST_CMD MOCK_DOMAIN, from the kernel's iommufd_test.h (the test ABI is not exported). */
struct test_cmd {
	uint32_t size, op, id, reserved;
	union {
		struct { uint32_t out_stdev_id, out_hwpt_id, out_idev_id; } mock_domain;
		uint8_t pad[48];
	};
	uint32_t last;
};
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)
#define IOMMU_TEST_OP_MOCK_DOMAIN 2

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

int main(int argc, char **argv)
{
	long n = 100000;
	int domain = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--domain"))
			domain = 1;
		else
			n = atol(argv[i]);
	}
	int fd = open("/dev/iommu", O_RDWR);
	if (fd < 0) {
		perror("open /dev/iommu");
		return 1;
	}
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc)) {
		perror("IOMMU_IOAS_ALLOC");
		return 1;
	}
	if (domain) {
		struct test_cmd t = { .size = sizeof(t), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = alloc.out_ioas_id };
		if (ioctl(fd, IOMMU_TEST_CMD, &t)) {
			perror("IOMMU_TEST_OP_MOCK_DOMAIN");
			return 1;
		}
	}
	void *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, 4096);
	struct iommu_ioas_map map = { .size = sizeof(map), .ioas_id = alloc.out_ioas_id,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)buf, .length = 4096, .iova = 1ull << 24 };
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = alloc.out_ioas_id,
		.iova = 1ull << 24, .length = 4096 };
	uint64_t *t = malloc(sizeof(*t) * n);
	long warm = n / 10 < 10000 ? n / 10 : 10000;
	for (long i = -warm; i < n; i++) {
		uint64_t t0 = now_ns();
		if (ioctl(fd, IOMMU_IOAS_MAP, &map) || ioctl(fd, IOMMU_IOAS_UNMAP, &unmap)) {
			perror("map/unmap");
			return 1;
		}
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	qsort(t, n, sizeof(*t), cmp);
	printf("IOAS_MAP+IOAS_UNMAP 4 KiB%s: n=%ld p50=%.2f us p90=%.2f us p99=%.2f us max=%.1f us\n",
	       domain ? " (mock domain attached)" : "", n, t[n / 2] / 1e3, t[n * 9 / 10] / 1e3, t[n * 99 / 100] / 1e3,
	       t[n - 1] / 1e3);
	close(fd);
	return 0;
}
