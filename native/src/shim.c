/*
 * uiommu shim: an LD_PRELOAD library that gives an unmodified program /dev/iommu on a machine
 * whose kernel has none. open("/dev/iommu") asks the uiommu daemon (socket in $UIOMMU_SOCKET)
 * for a new iommufd file; the fd the program gets is a real fd (one end of a socketpair the
 * daemon keeps the other end of), so dup, fork, fd passing and the last close behave as the
 * kernel's. ioctl/read/write on such fds go to the daemon, which reads and writes the structs
 * (and every pointer inside them) in this process itself, so the shim knows no ioctl layout.
 * munmap/mremap/MAP_FIXED and exit are reported first, so that pages the daemon has pinned
 * here are taken over before they go away. Everything else goes to libc untouched.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "uiommu_protocol.h"

#define EXPORT __attribute__((visibility("default")))

/* libc's functions, found once. */
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real___open_2)(const char *, int);
static int (*real___open64_2)(const char *, int);
static int (*real___openat_2)(int, const char *, int);
static int (*real___openat64_2)(int, const char *, int);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_close)(int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_fcntl64)(int, int, ...);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);
static int (*real_mprotect)(void *, size_t, int);
static void *(*real_mremap)(void *, size_t, size_t, int, ...);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static pid_t (*real_fork)(void);
static void (*real_exit)(int) __attribute__((noreturn));
static void (*real__exit)(int) __attribute__((noreturn));
static void (*real__Exit)(int) __attribute__((noreturn));

#define RESOLVE(name) do { if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name); } while (0)

static void resolve_all(void)
{
	RESOLVE(open); RESOLVE(open64); RESOLVE(openat); RESOLVE(openat64);
	RESOLVE(__open_2); RESOLVE(__open64_2); RESOLVE(__openat_2); RESOLVE(__openat64_2);
	RESOLVE(ioctl); RESOLVE(close); RESOLVE(dup); RESOLVE(dup2); RESOLVE(dup3);
	RESOLVE(fcntl); RESOLVE(fcntl64); RESOLVE(read); RESOLVE(write);
	RESOLVE(pread); RESOLVE(pread64); RESOLVE(pwrite); RESOLVE(pwrite64);
	RESOLVE(mmap); RESOLVE(mmap64); RESOLVE(munmap); RESOLVE(mprotect); RESOLVE(mremap); RESOLVE(fork);
	RESOLVE(recvmsg);
	RESOLVE(exit); RESOLVE(_exit); RESOLVE(_Exit);
}

/* ---- which fds are uiommu files ---------------------------------------------------------- */

/*
 * marks[fd] != 0: the fd may be a uiommu file (we saw it arrive or inherited it); everything
 * else goes straight to libc. A marked fd is confirmed by its socket inode.
 */
#define MAX_MARKED_FD (1 << 20)
static unsigned char marks[MAX_MARKED_FD];

/* Inodes of uiommu files seen (a set; cleared when full, then rebuilt by lookups). */
#define INO_SET_SIZE 4096
static uint64_t ours[INO_SET_SIZE];
static int ours_count;

static int marked(int fd)
{
	return fd >= 0 && fd < MAX_MARKED_FD && marks[fd];
}

static int max_marked = -1;

static void mark(int fd, int on)
{
	if (fd >= 0 && fd < MAX_MARKED_FD) {
		marks[fd] = on;
		if (on && fd > max_marked)
			max_marked = fd;
	}
}

static int ours_has(uint64_t ino)
{
	for (unsigned i = (unsigned)(ino * 0x9E3779B97F4A7C15ull >> 52) % INO_SET_SIZE;; i = (i + 1) % INO_SET_SIZE) {
		uint64_t v = __atomic_load_n(&ours[i], __ATOMIC_RELAXED);
		if (v == ino)
			return 1;
		if (v == 0)
			return 0;
	}
}

/* Called with ctl_lock held. */
static void ours_add(uint64_t ino)
{
	if (ino == 0 || ours_has(ino))
		return;
	if (ours_count * 2 >= INO_SET_SIZE) {
		memset(ours, 0, sizeof(ours));
		ours_count = 0;
	}
	unsigned i = (unsigned)(ino * 0x9E3779B97F4A7C15ull >> 52) % INO_SET_SIZE;
	while (ours[i] != 0)
		i = (i + 1) % INO_SET_SIZE;
	__atomic_store_n(&ours[i], ino, __ATOMIC_RELAXED);
	ours_count++;
}

/* ---- the control connection -------------------------------------------------------------- */

/* Counts calls that change this process's mappings: the daemon re-reads them only when it moved. */
static uint64_t maps_generation;

static const char *sock_path;
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static int ctl_fd = -1;
static pid_t ctl_pid;
static int exit_reported;

/* Where the control fd is moved to, out of the way of a program's own low fd numbers. */
#define CTL_FD_MIN 700

static void ctl_drop(void)
{
	if (ctl_fd >= 0)
		real_close(ctl_fd);
	ctl_fd = -1;
}

/* Connects this process (a forked child gets its own connection). Called with ctl_lock held. */
static int ctl_connect(void)
{
	pid_t me = getpid();
	if (ctl_fd >= 0 && ctl_pid == me)
		return 0;
	if (ctl_fd >= 0)
		ctl_drop(); /* the parent's, inherited without our fork wrapper */
	if (!sock_path)
		return -ENODEV;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(sock_path) >= sizeof(addr.sun_path)) {
		real_close(s);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, sock_path);
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		real_close(s);
		return -e;
	}
	int high = real_fcntl(s, F_DUPFD_CLOEXEC, CTL_FD_MIN);
	if (high >= 0) {
		real_close(s);
		s = high;
	}
	ctl_fd = s;
	ctl_pid = me;
	exit_reported = 0;
	return 0;
}

/* How long to poll for a reply before blocking ($UIOMMU_SPIN_US, default 0: always block). */
static uint64_t spin_ns = 0;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int send_request(const struct uiommu_request *req)
{
	ssize_t n;
	do
		n = send(ctl_fd, req, sizeof(*req), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*req) ? 0 : -EIO;
}

/*
 * An ioctl request with the bytes at its arg (up to the end of arg's page) riding along, so the
 * daemon need not fetch the struct from this process. The kernel copies them: a bad pointer makes
 * the send fail with EFAULT (then the request goes alone), never a crash here.
 */
#define WINDOW_MAX 128
static int send_ioctl_request(struct uiommu_request *req)
{
	uintptr_t arg = (uintptr_t)req->a[1];
	size_t len = 4096 - (arg & 4095);
	if (len > WINDOW_MAX)
		len = WINDOW_MAX;
	if (arg >= 4096) {
		req->a[2] = len;
		struct iovec iov[2] = { { req, sizeof(*req) }, { (void *)arg, len } };
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n;
		do
			n = sendmsg(ctl_fd, &msg, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)(sizeof(*req) + len))
			return 0;
		if (n >= 0 || errno != EFAULT)
			return -EIO;
	}
	req->a[2] = 0;
	return send_request(req);
}

/* Receives one reply and the fd riding along, if any (received close-on-exec). */
static int recv_reply(struct uiommu_reply *rep, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n;
	/* The daemon answers within microseconds: poll briefly before sleeping (a wake-up costs more). */
	uint64_t spin_until = spin_ns ? now_ns() + spin_ns : 0;
	for (;;) {
		n = real_recvmsg(ctl_fd, &msg, MSG_CMSG_CLOEXEC | (spin_until ? MSG_DONTWAIT : 0));
		if (n >= 0 || (errno != EINTR && errno != EAGAIN))
			break;
		if (errno == EAGAIN && now_ns() >= spin_until)
			spin_until = 0;
	}
	*fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *fds = (int *)CMSG_DATA(c);
			for (int i = 0; i < nfds; i++) {
				if (*fd < 0)
					*fd = fds[i];
				else
					real_close(fds[i]);
			}
		}
	}
	if (n != (ssize_t)sizeof(*rep)) {
		if (*fd >= 0)
			real_close(*fd);
		return -EIO;
	}
	return 0;
}

static uint64_t inode_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	return st.st_ino;
}

/* The mmap() of a uiommu fd this thread is making: what the MAP_FD callback maps. */
struct pending_map {
	void *addr;
	size_t length;
	int prot, flags;
};
static __thread struct pending_map *pending_map;

/* The aux of this thread's last DONE reply (READ/WRITE: readiness tokens to drain). */
static __thread uint64_t reply_aux;

/* One request to the daemon and its reply, serving the daemon's callbacks in between. */
static int64_t call(uint32_t op, int fd, uint64_t ino, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	int saved_errno = errno;
	pthread_mutex_lock(&ctl_lock);
	int64_t result;
	int err = ctl_connect();
	if (err < 0) {
		result = err;
		goto out;
	}
	reply_aux = 0;
	struct uiommu_request req = { .op = op, .fd = fd, .ino = ino, .a = { a0, a1, a2, a3 } };
	if ((op == UIOMMU_OP_IOCTL ? send_ioctl_request(&req) : send_request(&req)) < 0) {
		ctl_drop();
		result = -EIO;
		goto out;
	}
	for (;;) {
		struct uiommu_reply rep;
		int rfd;
		if (recv_reply(&rep, &rfd) < 0) {
			ctl_drop();
			result = -EIO;
			goto out;
		}
		if (rep.kind == UIOMMU_DONE) {
			if (rfd >= 0)
				real_close(rfd);
			result = rep.result;
			reply_aux = rep.aux;
			goto out;
		}
		struct uiommu_request answer = { .op = UIOMMU_OP_CALLBACK, .fd = -1 };
		if (rep.kind == UIOMMU_INSTALL_FD) {
			if (rfd < 0) {
				answer.a[0] = (uint64_t)(int64_t)-EBADMSG;
			} else {
				if (!(rep.flags & UIOMMU_FLAG_CLOEXEC))
					real_fcntl(rfd, F_SETFD, 0);
				ours_add(inode_of(rfd));
				mark(rfd, 1);
				answer.a[0] = (uint64_t)(int64_t)rfd;
			}
		} else if (rep.kind == UIOMMU_MAP_FD) {
			/* The file's pages, as a memfd the daemon maps too: mapped where and how mmap() asked. */
			if (rfd < 0 || !pending_map) {
				answer.a[0] = (uint64_t)(int64_t)-EPROTO;
			} else {
				void *p = real_mmap(pending_map->addr, pending_map->length, pending_map->prot,
						    pending_map->flags, rfd, 0);
				answer.a[0] = p == MAP_FAILED ? (uint64_t)(int64_t)-errno : (uint64_t)(uintptr_t)p;
			}
			if (rfd >= 0)
				real_close(rfd);
		} else if (rep.kind == UIOMMU_CLOSE_FD) {
			if (rfd >= 0)
				real_close(rfd);
			int cfd = (int)rep.aux;
			mark(cfd, 0);
			answer.a[0] = real_close(cfd) < 0 ? (uint64_t)(int64_t)-errno : 0;
		} else {
			if (rfd >= 0)
				real_close(rfd);
			answer.a[0] = (uint64_t)(int64_t)-EPROTO;
		}
		if (send_request(&answer) < 0) {
			ctl_drop();
			result = -EIO;
			goto out;
		}
	}
out:
	pthread_mutex_unlock(&ctl_lock);
	errno = saved_errno;
	return result;
}

/* Returns the fd's inode if it is a uiommu file, else 0 (and forgets the mark). */
static uint64_t uiommu_file(int fd)
{
	uint64_t ino = inode_of(fd);
	if (ino == 0) {
		mark(fd, 0);
		return 0;
	}
	if (ours_has(ino))
		return ino;
	if (call(UIOMMU_OP_LOOKUP, fd, ino, 0, 0, 0, 0) == 1) {
		pthread_mutex_lock(&ctl_lock);
		ours_add(ino);
		pthread_mutex_unlock(&ctl_lock);
		return ino;
	}
	mark(fd, 0);
	return 0;
}

static long ret(int64_t r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (long)r;
}

/* True when this process has its own control connection (only then can it have pinned pages). */
static int connected_here(void)
{
	return ctl_fd >= 0 && ctl_pid == getpid() && !exit_reported;
}

static uint64_t closing_ino(int fd);
static void closed_ino(int fd, uint64_t ino);

static void report_unmap(void *addr, size_t length)
{
	if (connected_here() && length)
		call(UIOMMU_OP_UNMAP, -1, 0, (uint64_t)(uintptr_t)addr, length, 0, 0);
}

/*
 * The process is going: its uiommu fds are closed first (the kernel closes files right after it
 * tears the address space down; in that order nothing pinned here outlives the files), then the
 * daemon takes over whatever stays pinned (files shared with other processes).
 */
static void report_exit(void)
{
	if (!connected_here())
		return;
	for (int fd = 0; fd <= max_marked; fd++) {
		if (marks[fd] && fd != ctl_fd) {
			uint64_t ino = closing_ino(fd);
			if (ino) {
				real_close(fd);
				closed_ino(fd, ino);
			}
		}
	}
	call(UIOMMU_OP_EXIT, -1, 0, 0, 0, 0, 0);
	exit_reported = 1;
}

/* ---- open ------------------------------------------------------------------------------- */

/*
 * A VFIO cdev, /dev/vfio/devices/vfioN: the daemon's machine has (or has not: ENOENT) device N.
 * Returns N, or -1 if the path names something else (libc opens it).
 */
static long vfio_device_number(const char *path)
{
	static const char prefix[] = "/dev/vfio/devices/vfio";
	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	const char *p = path + sizeof(prefix) - 1;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != 0))
		return -1;
	long n = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || n > 100000000)
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n;
}

/* -1: not a uiommu path (libc opens it); otherwise the result of open(2). */
static int uiommu_open(const char *path, int flags, int *handled)
{
	*handled = 0;
	if (!sock_path || !path)
		return -1;
	if (strcmp(path, "/dev/iommu") == 0) {
		*handled = 1;
		return (int)ret(call(UIOMMU_OP_OPEN, -1, 0, (uint64_t)flags, UIOMMU_DEVICE_IOMMU, 0, 0));
	}
	long vfio = vfio_device_number(path);
	if (vfio >= 0) {
		*handled = 1;
		return (int)ret(call(UIOMMU_OP_OPEN, -1, 0, (uint64_t)flags, UIOMMU_DEVICE_VFIO, (uint64_t)vfio, 0));
	}
	return -1;
}

/* openat with a relative path never names a device of ours (dirfd-relative /dev is not followed). */
static int uiommu_openat(const char *path, int flags, int *handled)
{
	*handled = 0;
	return path[0] == '/' ? uiommu_open(path, flags, handled) : -1;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	int handled, r = uiommu_open(path, flags, &handled);
	if (handled)
		return r;
	RESOLVE(open);
	return real_open(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	int handled, r = uiommu_open(path, flags, &handled);
	if (handled)
		return r;
	RESOLVE(open64);
	return real_open64(path, flags, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	int handled, r = uiommu_openat(path, flags, &handled);
	if (handled)
		return r;
	RESOLVE(openat);
	return real_openat(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	int handled, r = uiommu_openat(path, flags, &handled);
	if (handled)
		return r;
	RESOLVE(openat64);
	return real_openat64(dirfd, path, flags, mode);
}

EXPORT int __open_2(const char *path, int flags)
{
	int handled, r = uiommu_open(path, flags, &handled);
	if (handled)
		return r;
	RESOLVE(__open_2);
	return real___open_2(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	int handled, r = uiommu_open(path, flags, &handled);
	if (handled)
		return r;
	RESOLVE(__open64_2);
	return real___open64_2(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	int handled, r = uiommu_openat(path, flags, &handled);
	if (handled)
		return r;
	RESOLVE(__openat_2);
	return real___openat_2(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	int handled, r = uiommu_openat(path, flags, &handled);
	if (handled)
		return r;
	RESOLVE(__openat64_2);
	return real___openat64_2(dirfd, path, flags);
}

/* ---- ioctl, read, write ------------------------------------------------------------------- */

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	RESOLVE(ioctl);
	if (marked(fd)) {
		uint64_t ino = uiommu_file(fd);
		if (ino)
			return (int)ret(call(UIOMMU_OP_IOCTL, fd, ino, (uint32_t)request, (uint64_t)(uintptr_t)arg, 0,
					     __atomic_load_n(&maps_generation, __ATOMIC_RELAXED)));
	}
	return real_ioctl(fd, request, arg);
}

/*
 * While a file is readable the daemon keeps one token packet queued on our end of its socketpair,
 * which is what poll/select/epoll see; when a read or write leaves it unreadable the reply says how
 * many tokens to take off again.
 */
static void drain_tokens(int fd, uint64_t n)
{
	char b;
	int saved = errno;
	for (uint64_t i = 0; i < n && i < 64; i++)
		if (recv(fd, &b, 1, MSG_DONTWAIT) < 0 && errno != EINTR)
			break;
	errno = saved;
}

static ssize_t rw(int op, int fd, uintptr_t buf, size_t count, off_t pos, int positioned, int *handled)
{
	*handled = 0;
	if (!marked(fd))
		return 0;
	uint64_t ino = uiommu_file(fd);
	if (!ino)
		return 0;
	*handled = 1;
	int64_t r = call(op, fd, ino, (uint64_t)buf, count, (uint64_t)pos, positioned);
	drain_tokens(fd, reply_aux);
	return ret(r);
}

EXPORT ssize_t read(int fd, void *buf, size_t count)
{
	int handled;
	ssize_t r = rw(UIOMMU_OP_READ, fd, (uintptr_t)buf, count, 0, 0, &handled);
	if (handled)
		return r;
	RESOLVE(read);
	return real_read(fd, buf, count);
}

EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	int handled;
	ssize_t r = rw(UIOMMU_OP_WRITE, fd, (uintptr_t)buf, count, 0, 0, &handled);
	if (handled)
		return r;
	RESOLVE(write);
	return real_write(fd, buf, count);
}

EXPORT ssize_t pread(int fd, void *buf, size_t count, off_t pos)
{
	int handled;
	ssize_t r = rw(UIOMMU_OP_READ, fd, (uintptr_t)buf, count, pos, 1, &handled);
	if (handled)
		return r;
	RESOLVE(pread);
	return real_pread(fd, buf, count, pos);
}

EXPORT ssize_t pread64(int fd, void *buf, size_t count, off_t pos)
{
	int handled;
	ssize_t r = rw(UIOMMU_OP_READ, fd, (uintptr_t)buf, count, pos, 1, &handled);
	if (handled)
		return r;
	RESOLVE(pread64);
	return real_pread64(fd, buf, count, pos);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t pos)
{
	int handled;
	ssize_t r = rw(UIOMMU_OP_WRITE, fd, (uintptr_t)buf, count, pos, 1, &handled);
	if (handled)
		return r;
	RESOLVE(pwrite);
	return real_pwrite(fd, buf, count, pos);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off_t pos)
{
	int handled;
	ssize_t r = rw(UIOMMU_OP_WRITE, fd, (uintptr_t)buf, count, pos, 1, &handled);
	if (handled)
		return r;
	RESOLVE(pwrite64);
	return real_pwrite64(fd, buf, count, pos);
}

/* ---- close and dup ------------------------------------------------------------------------ */

/* The control fd must survive a program closing or dup2-ing over "all" its fds. */
static int ctl_guard(int fd)
{
	if (fd < 0 || fd != ctl_fd || ctl_pid != getpid())
		return 0;
	return 1;
}

static void ctl_move_away(int fd)
{
	if (!ctl_guard(fd))
		return;
	pthread_mutex_lock(&ctl_lock);
	if (fd == ctl_fd) {
		int high = real_fcntl(ctl_fd, F_DUPFD_CLOEXEC, fd + 1);
		if (high >= 0) {
			real_close(ctl_fd);
			ctl_fd = high;
		} else {
			ctl_drop();
		}
	}
	pthread_mutex_unlock(&ctl_lock);
}

/* The fd is about to be closed or replaced: its file's inode if it is a uiommu file. */
static uint64_t closing_ino(int fd)
{
	if (!marked(fd))
		return 0;
	uint64_t ino = inode_of(fd);
	return ino && ours_has(ino) ? ino : (ino ? uiommu_file(fd) : 0);
}

static void closed_ino(int fd, uint64_t ino)
{
	mark(fd, 0);
	if (ino)
		call(UIOMMU_OP_CLOSE, fd, ino, 0, 0, 0, 0);
}

EXPORT int close(int fd)
{
	RESOLVE(close);
	if (ctl_guard(fd))
		return 0; /* the program closes "everything"; the connection stays ours */
	if (!marked(fd))
		return real_close(fd);
	uint64_t ino = closing_ino(fd);
	int r = real_close(fd);
	int e = errno;
	closed_ino(fd, ino);
	errno = e;
	return r;
}

EXPORT int dup(int fd)
{
	RESOLVE(dup);
	int r = real_dup(fd);
	if (r >= 0 && marked(fd))
		mark(r, 1);
	return r;
}

static int dup_onto(int oldfd, int newfd, int flags, int three)
{
	ctl_move_away(newfd);
	uint64_t replaced = oldfd != newfd ? closing_ino(newfd) : 0;
	int r = three ? real_dup3(oldfd, newfd, flags) : real_dup2(oldfd, newfd);
	int e = errno;
	if (r >= 0 && oldfd != newfd) {
		closed_ino(newfd, replaced);
		mark(newfd, marked(oldfd));
	}
	errno = e;
	return r;
}

EXPORT int dup2(int oldfd, int newfd)
{
	RESOLVE(dup2);
	return dup_onto(oldfd, newfd, 0, 0);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	RESOLVE(dup3);
	return dup_onto(oldfd, newfd, flags, 1);
}

static int fcntl_common(int (*f)(int, int, ...), int fd, int cmd, void *arg)
{
	int r = f(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && marked(fd))
		mark(r, 1);
	return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	RESOLVE(fcntl);
	return fcntl_common(real_fcntl, fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	RESOLVE(fcntl64);
	return fcntl_common(real_fcntl64 ? real_fcntl64 : real_fcntl, fd, cmd, arg);
}

/* ---- fds received from other processes ------------------------------------------------------ */

/* A socket received with SCM_RIGHTS may be a uiommu file another process passed: check it when used. */
EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	RESOLVE(recvmsg);
	ssize_t r = real_recvmsg(fd, msg, flags);
	if (r < 0 || !sock_path || !msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return r;
	int e = errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (int i = 0; i < nfds; i++) {
			int rfd;
			memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			struct stat st;
			if (fstat(rfd, &st) == 0 && S_ISSOCK(st.st_mode))
				mark(rfd, 1);
		}
	}
	errno = e;
	return r;
}

/* ---- memory ---------------------------------------------------------------------------- */


static void maps_changed(void)
{
	__atomic_fetch_add(&maps_generation, 1, __ATOMIC_RELAXED);
}

static void *map_common(void *(*f)(void *, size_t, int, int, int, off_t), void *addr, size_t length, int prot,
			int flags, int fd, off_t offset)
{
	if (marked(fd)) {
		uint64_t ino = uiommu_file(fd);
		if (ino) {
			/*
			 * The daemon asks the file (f_op->mmap) and hands back its pages as a memfd
			 * (callback MAP_FD), which is mapped here; the result is the address.
			 */
			if ((flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE))
				report_unmap(addr, length);
			maps_changed();
			struct pending_map pm = { addr, length, prot, flags };
			pending_map = &pm;
			int64_t r = call(UIOMMU_OP_MMAP, fd, ino, length, (uint64_t)prot, (uint64_t)flags, (uint64_t)offset);
			pending_map = NULL;
			if (r < 0) {
				errno = (int)-r;
				return MAP_FAILED;
			}
			return (void *)(uintptr_t)r;
		}
	}
	if ((flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE))
		report_unmap(addr, length);
	maps_changed();
	return f(addr, length, prot, flags, fd, offset);
}

EXPORT void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	RESOLVE(mmap);
	return map_common(real_mmap, addr, length, prot, flags, fd, offset);
}

EXPORT void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	RESOLVE(mmap64);
	return map_common(real_mmap64 ? real_mmap64 : real_mmap, addr, length, prot, flags, fd, offset);
}

EXPORT int munmap(void *addr, size_t length)
{
	RESOLVE(munmap);
	report_unmap(addr, length);
	maps_changed();
	return real_munmap(addr, length);
}

EXPORT void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	void *new_addr = (flags & MREMAP_FIXED) ? va_arg(ap, void *) : NULL;
	va_end(ap);
	RESOLVE(mremap);
	/* Pages that may leave [old, old + old_size) are taken over first. */
	if (flags & (MREMAP_MAYMOVE | MREMAP_FIXED))
		report_unmap(old, old_size);
	else if (new_size < old_size)
		report_unmap((char *)old + new_size, old_size - new_size);
	if (flags & MREMAP_FIXED)
		report_unmap(new_addr, new_size);
	maps_changed();
	return real_mremap(old, old_size, new_size, flags, new_addr);
}

EXPORT int mprotect(void *addr, size_t length, int prot)
{
	RESOLVE(mprotect);
	maps_changed();
	return real_mprotect(addr, length, prot);
}

/* ---- processes ------------------------------------------------------------------------- */

static void after_fork_in_child(void)
{
	/* The child talks for itself: its own connection, made when it first needs one. */
	pthread_mutex_init(&ctl_lock, NULL);
	if (ctl_fd >= 0)
		real_close(ctl_fd);
	ctl_fd = -1;
	exit_reported = 0;
}

EXPORT pid_t fork(void)
{
	RESOLVE(fork);
	pid_t r = real_fork();
	if (r == 0)
		after_fork_in_child();
	return r;
}

/* A vfork child would share our state; a fork child cannot tell the difference. */
EXPORT pid_t vfork(void)
{
	return fork();
}

/* exit() runs the program's atexit handlers first, which may still use uiommu: the shim's destructor reports. */
EXPORT void exit(int status)
{
	RESOLVE(exit);
	real_exit(status);
}

EXPORT void _exit(int status)
{
	RESOLVE(_exit);
	report_exit();
	real__exit(status);
}

EXPORT void _Exit(int status)
{
	RESOLVE(_Exit);
	report_exit();
	real__Exit(status);
}

__attribute__((constructor)) static void shim_init(void)
{
	resolve_all();
	sock_path = getenv("UIOMMU_SOCKET");
	const char *spin = getenv("UIOMMU_SPIN_US");
	if (spin && *spin)
		spin_ns = strtoull(spin, NULL, 10) * 1000;
	if (!sock_path || !*sock_path) {
		sock_path = NULL;
		return;
	}
	/* Sockets inherited across exec may be uiommu files: check them when first used. */
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d))
			continue;
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
			mark(fd, 1);
	}
	closedir(d);
}

/* Returning from main ends in exit() inside libc, past our exit(): report from here too. */
__attribute__((destructor)) static void shim_fini(void)
{
	report_exit();
}
