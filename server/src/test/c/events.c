/*
 * A C client for the daemon's tests of what issue 5 adds to the shim: eventfds taken by the daemon,
 * poll readiness of served files, fds received with SCM_RIGHTS, VFIO cdev opens. Each subcommand
 * exits 0 on success or prints what failed and exits 1. Lines on stdout pace the Java side.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/iommufd.h>

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "%s:%d: %s failed (errno %d %s)\n", __FILE__, __LINE__, \
	#cond, errno, strerror(errno)); exit(1); } } while (0)

static void say(const char *line)
{
	printf("%s\n", line);
	fflush(stdout);
}

/* Waits for the Java side's go-ahead (one line on stdin). */
static void await_go(void)
{
	char line[64];
	CHECK(fgets(line, sizeof(line), stdin) != NULL);
}

static int readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);
	CHECK(n >= 0);
	return n == 1 && (p.revents & POLLIN);
}

/*
 * The daemon takes an eventfd (and is refused a pipe and a closed fd); its signal wakes a poll
 * here and reads as the count it added.
 */
static int eventfd_signal(void)
{
	int efd = eventfd(0, 0);
	CHECK(efd >= 0);
	int p[2];
	CHECK(pipe(p) == 0);
	int iommufd = open("/dev/iommu", O_RDWR); /* connects this process to the daemon */
	CHECK(iommufd >= 0);
	printf("ready %d %d %d\n", getpid(), efd, p[0]);
	fflush(stdout);
	CHECK(readable(efd, 20000));
	uint64_t v = 0;
	CHECK(read(efd, &v, 8) == 8);
	CHECK(v == 5);
	/* The daemon's reference outlives our fd, as eventfd_ctx does. */
	CHECK(close(efd) == 0);
	say("closed");
	await_go();
	CHECK(close(iommufd) == 0);
	return 0;
}

/* Receives one fd over a Unix socket at path (the Java test passes a served file this way). */
static int receive_fd(const char *path)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK(s >= 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
	CHECK(connect(s, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	char b;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { &b, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	CHECK(recvmsg(s, &msg, 0) == 1);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	CHECK(c && c->cmsg_type == SCM_RIGHTS);
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	close(s);
	return fd;
}

/*
 * A served file that turns readable and back: poll and epoll follow it (not readable, readable
 * once the file says so, not readable after the read that emptied it). The fd came with SCM_RIGHTS.
 */
static int poll_readiness(const char *path)
{
	int fd = receive_fd(path);
	int iommufd = open("/dev/iommu", O_RDWR);
	CHECK(iommufd >= 0);
	/* A file without a poll of its own gets no token: writable only. */
	struct pollfd p = { .fd = iommufd, .events = POLLIN | POLLOUT };
	CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLOUT);
	CHECK(!readable(fd, 0));
	say("idle");
	CHECK(readable(fd, 20000));
	CHECK(readable(fd, 0)); /* still: poll does not consume */
	char buf[16] = { 0 };
	CHECK(read(fd, buf, sizeof(buf)) == 4 && memcmp(buf, "ping", 4) == 0);
	CHECK(!readable(fd, 0));
	/* A read of a file with nothing to say drains nothing it should not. */
	CHECK(read(fd, buf, sizeof(buf)) == 0);
	CHECK(!readable(fd, 0));

	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd }, out;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	CHECK(epoll_wait(ep, &out, 1, 0) == 0);
	say("again");
	CHECK(epoll_wait(ep, &out, 1, 20000) == 1 && out.data.fd == fd && (out.events & EPOLLIN));
	CHECK(read(fd, buf, sizeof(buf)) == 4);
	CHECK(epoll_wait(ep, &out, 1, 0) == 0);
	/* The file turns readable and back without a read: a stale token at most reads as nothing. */
	say("flip");
	await_go();
	if (readable(fd, 0))
		CHECK(read(fd, buf, sizeof(buf)) == 0);
	CHECK(!readable(fd, 0));
	close(ep);
	close(fd);
	close(iommufd);
	return 0;
}

/* /dev/vfio/devices/vfioN the machine does not have: ENOENT from the daemon. */
static int vfio_missing(void)
{
	errno = 0;
	CHECK(open("/dev/vfio/devices/vfio99", O_RDWR) == -1 && errno == ENOENT);
	CHECK(openat(AT_FDCWD, "/dev/vfio/devices/vfio99", O_RDWR | O_CLOEXEC) == -1 && errno == ENOENT);
	return 0;
}

/* The selftest's IOMMU_TEST_CMD MOCK_DOMAIN (iommufd_test.h; the test ABI is not exported). */
struct test_cmd {
	uint32_t size, op, id, reserved;
	union {
		struct { uint32_t out_stdev_id, out_hwpt_id, out_idev_id; } mock_domain;
		struct { uint32_t pt_id; } mock_domain_replace;
		struct { uint32_t dev_id, pasid, grpid, perm; uint64_t addr; } trigger_iopf;
		struct { uint32_t dev_id; } trigger_vevent;
		uint8_t pad[48];
	};
	uint32_t last;
};
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)
#define VIOMMU_TYPE_SELFTEST 0xdeadbeef
/* struct iommu_viommu_selftest (6.17): in_data comes back in out_data and at the mmap-able page. */
struct viommu_selftest { uint32_t in_data, out_data; uint64_t out_mmap_offset, out_mmap_length; };

/*
 * mmap of the iommufd fd (6.17): the mock vIOMMU's page shows what its driver wrote, the file's
 * errno come through, the mapping holds the vIOMMU until it is unmapped, other files have no mmap.
 */
static int mmap_viommu(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	CHECK(fd >= 0);
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	CHECK(ioctl(fd, IOMMU_IOAS_ALLOC, &ia) == 0);
	struct test_cmd md = { .size = sizeof(md), .op = 2, .id = ia.out_ioas_id };
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &md) == 0);
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
		.dev_id = md.mock_domain.out_idev_id, .pt_id = ia.out_ioas_id };
	CHECK(ioctl(fd, IOMMU_HWPT_ALLOC, &ha) == 0);
	struct viommu_selftest data = { .in_data = 0xbeef };
	struct iommu_viommu_alloc va = { .size = sizeof(va), .type = VIOMMU_TYPE_SELFTEST,
		.dev_id = md.mock_domain.out_idev_id, .hwpt_id = ha.out_hwpt_id, .data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data };
	CHECK(ioctl(fd, IOMMU_VIOMMU_ALLOC, &va) == 0);
	CHECK(data.out_data == 0xbeef && data.out_mmap_length >= 4096 && data.out_mmap_offset >= 4096);
	size_t len = data.out_mmap_length;
	off_t off = (off_t)data.out_mmap_offset;

	/* The file's errno, as the kernel's iommufd_fops_mmap gives them. */
	CHECK(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, off) == MAP_FAILED && errno == EINVAL);
	CHECK(mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_SHARED, fd, off) == MAP_FAILED && errno == EPERM);
	CHECK(mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off + 4096 * 16) == MAP_FAILED && errno == ENXIO);
	CHECK(mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off + 1) == MAP_FAILED && errno == EINVAL);
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	CHECK(ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa) == 0);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fa.out_fault_fd, 0) == MAP_FAILED && errno == ENODEV);
	close(fa.out_fault_fd);

	uint32_t *page = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	CHECK(page != MAP_FAILED);
	CHECK(page[0] == 0xbeef);
	/* Mapped twice: one page. */
	uint32_t *again = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	CHECK(again != MAP_FAILED && again != page);
	page[5] = 0x1234;
	CHECK(again[5] == 0x1234);
	/* A vIOMMU page is not memory to pin. */
	struct iommu_ioas_map m = { .size = sizeof(m), .ioas_id = ia.out_ioas_id, .user_va = (uintptr_t)page,
		.length = 4096, .flags = IOMMU_IOAS_MAP_READABLE };
	CHECK(ioctl(fd, IOMMU_IOAS_MAP, &m) == -1 && errno == EFAULT);

	struct iommu_destroy d = { .size = sizeof(d), .id = va.out_viommu_id };
	CHECK(ioctl(fd, IOMMU_DESTROY, &d) == -1 && errno == EBUSY);
	CHECK(munmap(page, len) == 0);
	CHECK(ioctl(fd, IOMMU_DESTROY, &d) == -1 && errno == EBUSY);
	CHECK(munmap(again, 4096) == 0); /* part of it: the rest still holds */
	CHECK(ioctl(fd, IOMMU_DESTROY, &d) == -1 && errno == EBUSY);
	CHECK(munmap((char *)again + 4096, len - 4096) == 0);
	CHECK(ioctl(fd, IOMMU_DESTROY, &d) == 0);
	CHECK(close(fd) == 0);
	return 0;
}

/*
 * A fault fd polled with a timeout: not readable before a fault, readable once the mock device
 * faults (the selftest's TRIGGER_IOPF), not readable after the group is read; the response
 * completes it.
 */
static int fault_poll(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	CHECK(fd >= 0);
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	CHECK(ioctl(fd, IOMMU_IOAS_ALLOC, &ia) == 0);
	struct test_cmd md = { .size = sizeof(md), .op = 2, .id = ia.out_ioas_id };
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &md) == 0);
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	CHECK(ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa) == 0);
	int ffd = fa.out_fault_fd;
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha), .flags = IOMMU_HWPT_FAULT_ID_VALID,
		.dev_id = md.mock_domain.out_idev_id, .pt_id = ia.out_ioas_id, .fault_id = fa.out_fault_id };
	CHECK(ioctl(fd, IOMMU_HWPT_ALLOC, &ha) == 0);
	struct test_cmd rep = { .size = sizeof(rep), .op = 10, .id = md.mock_domain.out_stdev_id,
		.mock_domain_replace = { ha.out_hwpt_id } };
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &rep) == 0);

	struct pollfd p = { .fd = ffd, .events = POLLIN };
	CHECK(poll(&p, 1, 100) == 0);
	for (int round = 0; round < 3; round++) {
		struct test_cmd t = { .size = sizeof(t), .op = 15, .trigger_iopf = { .dev_id = md.mock_domain.out_idev_id,
			.grpid = 7 + round, .perm = IOMMU_PGFAULT_PERM_READ, .addr = 0x100000 } };
		CHECK(ioctl(fd, IOMMU_TEST_CMD, &t) == 0);
		CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN));
		struct iommu_hwpt_pgfault f[4];
		CHECK(read(ffd, f, sizeof(f)) == sizeof(f[0]));
		CHECK(f[0].grpid == 7u + round && f[0].addr == 0x100000);
		CHECK(poll(&p, 1, 0) == 0);
		struct iommu_hwpt_page_response r = { .cookie = f[0].cookie, .code = IOMMUFD_PAGE_RESP_SUCCESS };
		CHECK(write(ffd, &r, sizeof(r)) == sizeof(r));
		CHECK(poll(&p, 1, 0) == 0);
	}
	CHECK(close(ffd) == 0);
	CHECK(close(fd) == 0);
	return 0;
}

/*
 * A vEVENTQ fd (6.15) of the mock vIOMMU polled with a timeout: readable once the mock device
 * raises an event for its vDEVICE, not readable after the header and record are read.
 */
static int veventq_poll(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	CHECK(fd >= 0);
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	CHECK(ioctl(fd, IOMMU_IOAS_ALLOC, &ia) == 0);
	struct test_cmd md = { .size = sizeof(md), .op = 2, .id = ia.out_ioas_id };
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &md) == 0);
	uint32_t dev = md.mock_domain.out_idev_id;
	struct iommu_hwpt_alloc parent = { .size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT, .dev_id = dev,
		.pt_id = ia.out_ioas_id };
	CHECK(ioctl(fd, IOMMU_HWPT_ALLOC, &parent) == 0);
	struct iommu_viommu_alloc va = { .size = sizeof(va), .type = VIOMMU_TYPE_SELFTEST, .dev_id = dev,
		.hwpt_id = parent.out_hwpt_id };
	CHECK(ioctl(fd, IOMMU_VIOMMU_ALLOC, &va) == 0);
	uint32_t iotlb = 0xbadbeef; /* IOMMU_TEST_IOTLB_DEFAULT */
	struct iommu_hwpt_alloc nested = { .size = sizeof(nested), .dev_id = dev, .pt_id = va.out_viommu_id,
		.data_type = 0xdead /* IOMMU_HWPT_DATA_SELFTEST */, .data_len = 4, .data_uptr = (uintptr_t)&iotlb };
	CHECK(ioctl(fd, IOMMU_HWPT_ALLOC, &nested) == 0);
	struct iommu_veventq_alloc vq = { .size = sizeof(vq), .viommu_id = va.out_viommu_id,
		.type = 0xbeefbeef /* IOMMU_VEVENTQ_TYPE_SELFTEST */, .veventq_depth = 4 };
	CHECK(ioctl(fd, IOMMU_VEVENTQ_ALLOC, &vq) == 0);
	int qfd = vq.out_veventq_fd;
	struct iommu_vdevice_alloc vd = { .size = sizeof(vd), .viommu_id = va.out_viommu_id, .dev_id = dev, .virt_id = 0x99 };
	CHECK(ioctl(fd, IOMMU_VDEVICE_ALLOC, &vd) == 0);
	struct test_cmd rep = { .size = sizeof(rep), .op = 10, .id = md.mock_domain.out_stdev_id,
		.mock_domain_replace = { nested.out_hwpt_id } };
	CHECK(ioctl(fd, IOMMU_TEST_CMD, &rep) == 0);

	struct pollfd p = { .fd = qfd, .events = POLLIN };
	CHECK(poll(&p, 1, 100) == 0);
	for (uint32_t round = 0; round < 3; round++) {
		struct test_cmd t = { .size = sizeof(t), .op = 17, .trigger_vevent = { dev } };
		CHECK(ioctl(fd, IOMMU_TEST_CMD, &t) == 0);
		CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN));
		struct { struct iommufd_vevent_header h; uint32_t virt_id; } ev;
		CHECK(read(qfd, &ev, sizeof(ev)) == sizeof(ev));
		CHECK(ev.h.sequence == round && ev.virt_id == 0x99);
		CHECK(poll(&p, 1, 0) == 0);
	}
	CHECK(close(qfd) == 0);
	CHECK(close(fd) == 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "eventfd"))
		return eventfd_signal();
	if (!strcmp(argv[1], "poll") && argc == 3)
		return poll_readiness(argv[2]);
	if (!strcmp(argv[1], "fault-poll"))
		return fault_poll();
	if (!strcmp(argv[1], "veventq-poll"))
		return veventq_poll();
	if (!strcmp(argv[1], "mmap"))
		return mmap_viommu();
	if (!strcmp(argv[1], "vfio-missing"))
		return vfio_missing();
	fprintf(stderr, "unknown test %s\n", argv[1]);
	return 2;
}
