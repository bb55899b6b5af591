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

/* Prints "ready" with an IOAS and a mapping, then waits to be killed. */
static int hold(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	CHECK(fd >= 0);
	uint32_t ioas = ioas_alloc(fd);
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
	fprintf(stderr, "unknown test %s\n", argv[1]);
	return 2;
}
