/*
 * A C client of /dev/iommu for the daemon's tests: each subcommand exercises one thing and exits 0
 * on success, or prints what went wrong and exits 1. Run under LD_PRELOAD=libuiommu-shim.so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/iommufd.h>

/* The selftest's IOMMU_TEST_CMD (drivers/iommu/iommufd/iommufd_test.h; the test ABI is not exported). */
struct test_cmd {
	uint32_t size, op, id, reserved;
	union {
		struct { uint32_t out_stdev_id, out_hwpt_id, out_idev_id; } mock_domain;
		struct { uint32_t out_access_fd, flags; } create_access;
		struct { uint64_t iova, length, uptr; uint32_t flags; } access_rw;
		struct { uint32_t access_pages_id; } destroy_access_pages;
		uint8_t pad[48];
	};
	uint32_t last;
};
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)
enum { TEST_OP_MOCK_DOMAIN = 2, TEST_OP_CREATE_ACCESS = 5, TEST_OP_DESTROY_ACCESS_PAGES = 6, TEST_OP_ACCESS_RW = 8 };
#define MOCK_APERTURE_START (1ull << 24)

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "%s:%d: %s failed (errno %d %s)\n", __FILE__, __LINE__, \
	#cond, errno, strerror(errno)); exit(1); } } while (0)

static uint32_t ioas_alloc(int fd)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	CHECK(ioctl(fd, IOMMU_IOAS_ALLOC, &cmd) == 0);
	return cmd.out_ioas_id;
}

static int map(int fd, uint32_t ioas, void *va, uint64_t len, uint64_t *iova)
{
	struct iommu_ioas_map cmd = { .size = sizeof(cmd), .ioas_id = ioas,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)va, .length = len };
	int r = ioctl(fd, IOMMU_IOAS_MAP, &cmd);
	*iova = cmd.iova;
	return r;
}

static int unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len };
	return ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
}

static int destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };
	return ioctl(fd, IOMMU_DESTROY, &cmd);
}

/* open, IOAS_ALLOC, MAP, UNMAP, DESTROY, close; errno of a bad call; a second context is separate. */
static int basic(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	CHECK(fd >= 0);
	uint32_t ioas = ioas_alloc(fd);
	CHECK(ioas != 0);
	void *buf = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED);
	uint64_t iova;
	CHECK(map(fd, ioas, buf, 1 << 16, &iova) == 0);
	CHECK(iova != 0);
	CHECK(unmap(fd, ioas, iova, 1 << 16) == 0);
	CHECK(unmap(fd, ioas, iova, 1 << 16) == -1 && errno == ENOENT);
	struct iommu_ioas_alloc bad = { .size = 4 };
	CHECK(ioctl(fd, IOMMU_IOAS_ALLOC, &bad) == -1 && errno == EINVAL);
	CHECK(ioctl(fd, IOMMU_IOAS_ALLOC, (void *)16) == -1 && errno == EFAULT);
	CHECK(ioctl(fd, _IO(';', 0x7f), 0) == -1 && errno == ENOTTY);
	int other = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	CHECK(other >= 0 && other != fd);
	CHECK((fcntl(other, F_GETFD) & FD_CLOEXEC) && !(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	CHECK(destroy(other, ioas) == -1 && errno == ENOENT);
	CHECK(destroy(fd, ioas) == 0);
	CHECK(close(other) == 0);
	CHECK(close(fd) == 0);
	CHECK(ioctl(fd, IOMMU_IOAS_ALLOC, &bad) == -1 && errno == EBADF);
	return 0;
}

/* dup and fork share the context; it lives until the last reference closes. */
static int share(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	CHECK(fd >= 0);
	uint32_t ioas = ioas_alloc(fd);
	int d = dup(fd);
	CHECK(d >= 0);
	CHECK(close(fd) == 0);
	struct iommu_ioas_iova_ranges ranges = { .size = sizeof(ranges), .ioas_id = ioas };
	CHECK(ioctl(d, IOMMU_IOAS_IOVA_RANGES, &ranges) == 0 || errno == EMSGSIZE);
	pid_t child = fork();
	if (child == 0) {
		/* The child sees the parent's IOAS through the inherited fd and makes one of its own. */
		struct iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = ioas };
		if (ioctl(d, IOMMU_IOAS_IOVA_RANGES, &r) != 0 && errno != EMSGSIZE)
			_exit(2);
		uint32_t mine = ioas_alloc(d);
		_exit(mine == ioas + 1 ? 0 : 3);
	}
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(destroy(d, ioas + 1) == 0);
	int d2 = fcntl(d, F_DUPFD_CLOEXEC, 50);
	CHECK(d2 >= 50);
	CHECK(close(d) == 0);
	CHECK(destroy(d2, ioas) == 0);
	CHECK(close(d2) == 0);
	return 0;
}

/* A fault queue's fd is a real fd (close-on-exec) that holds the object until closed. */
static int fault(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	CHECK(fd >= 0);
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
	CHECK(ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd) == 0);
	int ffd = cmd.out_fault_fd;
	CHECK(ffd > fd && (fcntl(ffd, F_GETFD) & FD_CLOEXEC));
	char buf[40 * 4];
	CHECK(read(ffd, buf, sizeof(buf)) == 0);
	CHECK(read(ffd, buf, 7) == -1 && errno == ESPIPE);
	struct pollfd p = { .fd = ffd, .events = POLLIN };
	CHECK(poll(&p, 1, 0) == 0);
	CHECK(destroy(fd, cmd.out_fault_id) == -1 && errno == EBUSY);
	CHECK(close(ffd) == 0);
	CHECK(destroy(fd, cmd.out_fault_id) == 0);
	CHECK(close(fd) == 0);
	return 0;
}

/*
 * An access fd names the access in later calls; reads and writes through it reach this process's
 * pages, which stay here (the daemon pins them where they are).
 */
static int access_rw(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	CHECK(fd >= 0);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd dom = { .size = sizeof(dom), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &dom) == 0);
	char *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 'A', 8192);
	struct iommu_ioas_map map = { .size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = 8192,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.iova = MOCK_APERTURE_START };
	CHECK(ioctl(fd, IOMMU_IOAS_MAP, &map) == 0);
	struct test_cmd ca = { .size = sizeof(ca), .op = TEST_OP_CREATE_ACCESS, .id = ioas };
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &ca) == 0);
	int afd = ca.create_access.out_access_fd;
	CHECK(afd > fd && (fcntl(afd, F_GETFD) & FD_CLOEXEC));
	char out[16] = { 0 };
	struct test_cmd rw = { .size = sizeof(rw), .op = TEST_OP_ACCESS_RW, .id = afd,
		.access_rw = { .iova = MOCK_APERTURE_START + 4090, .length = 12, .uptr = (uintptr_t)out } };
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &rw) == 0);
	CHECK(memcmp(out, "AAAAAAAAAAAA", 12) == 0);
	buf[4095] = 'B';
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &rw) == 0);
	CHECK(out[5] == 'B');
	memcpy(out, "hello, world", 12);
	rw.access_rw.flags = 1; /* MOCK_ACCESS_RW_WRITE */
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &rw) == 0);
	CHECK(memcmp(buf + 4090, "hello, world", 12) == 0);
	/* An fd that is not an access fd of ours is EBADFD; so is a closed one. */
	struct test_cmd dap = { .size = sizeof(dap), .op = TEST_OP_DESTROY_ACCESS_PAGES, .id = 0 };
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &dap) == -1 && errno == EBADFD);
	dap.id = fd;
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &dap) == -1 && errno == EBADFD);
	CHECK(close(afd) == 0);
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &rw) == -1 && errno == EBADFD);
	/* Unmapping the buffer while it is pinned: the device keeps what the page held. */
	CHECK(munmap(buf, 8192) == 0);
	CHECK(close(fd) == 0);
	return 0;
}

/* Prints "ready" with an IOAS, a mock device and a pinned 1 MiB mapping, then waits to be killed. */
static int hold(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	CHECK(fd >= 0);
	uint32_t ioas = ioas_alloc(fd);
	struct test_cmd dom = { .size = sizeof(dom), .op = TEST_OP_MOCK_DOMAIN, .id = ioas };
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &dom) == 0);
	void *buf = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t iova;
	CHECK(map(fd, ioas, buf, 1 << 20, &iova) == 0);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "basic"))
		return basic();
	if (!strcmp(argv[1], "share"))
		return share();
	if (!strcmp(argv[1], "hold"))
		return hold();
	if (!strcmp(argv[1], "fault"))
		return fault();
	if (!strcmp(argv[1], "access"))
		return access_rw();
	fprintf(stderr, "unknown test %s\n", argv[1]);
	return 2;
}
