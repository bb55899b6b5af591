/*
 * trace.h: helpers for the oracle programs. Each program runs a sequence of /dev/iommu calls on the
 * real kernel and prints it as a uiommu scenario (JSON Lines, docs/scenarios.md), with what the
 * kernel answered written as the expectation of each step. Replaying the file against uiommu must
 * give the same answers.
 *
 * Conventions of the emitted files:
 *  - user addresses inside a recorded mmap are written "$bufN+<decimal offset>"; object ids that
 *    were returned by an earlier step are written as the variable that step saved;
 *  - numbers below 2^32 are JSON numbers, larger ones "0x..." strings;
 *  - a failing call expects {"errno": NAME}; a successful one {"ret": R, <output fields>};
 *    where the kernel also writes outputs on failure (IOVA_RANGES with EMSGSIZE, VFIO unmap)
 *    those fields are listed beside the errno.
 *  Extensions beyond the core subset (used only in errno-edge files; see README.md):
 *  - "tail_hex": bytes placed right after sizeof(struct) in the argument buffer (for size > sizeof);
 *  - "arg": the raw integer third argument of ioctl(2) (integer-argument VFIO ioctls, NULL pointer);
 *  - "cmd" may be a "0x..." request code for numbers that have no name.
 */
#ifndef UIOMMU_ORACLE_TRACE_H
#define UIOMMU_ORACLE_TRACE_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include "iommufd_test.h"

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;

/* ------------------------------------------------------------------ JSON line builder */

static char j_buf[1 << 16];
static int j_len;
static int j_first[16];
static int j_depth;
static long t_steps;

static void j_put(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	j_len += vsnprintf(j_buf + j_len, sizeof(j_buf) - j_len, fmt, ap);
	va_end(ap);
	if (j_len >= (int)sizeof(j_buf) - 1) {
		fprintf(stderr, "json line too long\n");
		exit(2);
	}
}

static void j_sep(const char *key)
{
	if (!j_first[j_depth])
		j_put(",");
	j_first[j_depth] = 0;
	if (key)
		j_put("\"%s\":", key);
}

static void j_begin(void)
{
	j_len = 0;
	j_depth = 0;
	j_first[0] = 1;
	j_put("{");
}

static void j_end(void)
{
	j_put("}");
	printf("%s\n", j_buf);
	fflush(stdout);
	t_steps++;
}

static void j_open(const char *key)
{
	j_sep(key);
	j_put("{");
	j_first[++j_depth] = 1;
}

static void j_close(void)
{
	j_put("}");
	j_depth--;
}

static void j_open_arr(const char *key)
{
	j_sep(key);
	j_put("[");
	j_first[++j_depth] = 1;
}

static void j_close_arr(void)
{
	j_put("]");
	j_depth--;
}

static void j_str(const char *key, const char *s)
{
	j_sep(key);
	j_put("\"%s\"", s);
}

/* a number: JSON number when small, "0x..." string otherwise */
static void j_num(const char *key, u64 v)
{
	j_sep(key);
	if (v < (1ULL << 32))
		j_put("%llu", (unsigned long long)v);
	else
		j_put("\"0x%llx\"", (unsigned long long)v);
}

static void j_hexs(const char *key, u64 v)
{
	j_sep(key);
	j_put("\"0x%llx\"", (unsigned long long)v);
}

static void j_bool(const char *key, int b)
{
	j_sep(key);
	j_put(b ? "true" : "false");
}

/* ------------------------------------------------------------------ errno names */

static const char *errno_name(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ENOTTY: return "ENOTTY";
	case ERANGE: return "ERANGE";
	case EDEADLK: return "EDEADLK";
	case EOVERFLOW: return "EOVERFLOW";
	case EBADFD: return "EBADFD";
	case EMSGSIZE: return "EMSGSIZE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EADDRINUSE: return "EADDRINUSE";
	case EBADE: return "EBADE";
	default: {
		static char b[32];
		snprintf(b, sizeof(b), "%d", e);
		return b;
	}
	}
}

/* ------------------------------------------------------------------ variables */

struct t_buf {
	u64 addr, len;
	char name[16];
};
static struct t_buf t_bufs[64];
static int t_nbufs;

struct t_id {
	u32 id;
	char name[24];
};
static struct t_id t_ids[256];
static int t_nids;

struct t_fd {
	int fd;
	char name[16];
};
static struct t_fd t_fds[16];
static int t_nfds;

/* "$bufN+off" for an address in a recorded mapping, else "0x..." (returned in a static ring) */
static const char *va_expr(u64 va)
{
	static char ring[8][64];
	static int r;
	char *s = ring[r++ & 7];
	int i;

	for (i = t_nbufs - 1; i >= 0; i--) {
		if (va >= t_bufs[i].addr && va < t_bufs[i].addr + t_bufs[i].len) {
			if (va == t_bufs[i].addr)
				snprintf(s, 64, "$%s", t_bufs[i].name);
			else
				snprintf(s, 64, "$%s+%llu", t_bufs[i].name,
					 (unsigned long long)(va - t_bufs[i].addr));
			return s;
		}
	}
	snprintf(s, 64, "0x%llx", (unsigned long long)va);
	return s;
}

static void j_va(const char *key, u64 va)
{
	const char *e = va_expr(va);

	if (e[0] == '$')
		j_str(key, e);
	else
		j_num(key, va);
}

/* an object id: the variable that holds it if one does */
static void j_id(const char *key, u32 id)
{
	int i;

	for (i = t_nids - 1; i >= 0; i--) {
		if (t_ids[i].id == id && id != 0) {
			char s[32];

			snprintf(s, sizeof(s), "$%s", t_ids[i].name);
			j_str(key, s);
			return;
		}
	}
	j_num(key, id);
}

static void id_save(u32 id, const char *name)
{
	int i;

	for (i = 0; i < t_nids; i++)
		if (!strcmp(t_ids[i].name, name))
			break;
	if (i == t_nids)
		t_nids++;
	t_ids[i].id = id;
	snprintf(t_ids[i].name, sizeof(t_ids[i].name), "%s", name);
}

/* after a successful destroy the number may come back for another object */
static void id_forget(u32 id)
{
	int i;

	for (i = 0; i < t_nids; i++)
		if (t_ids[i].id == id)
			t_ids[i].id = 0;
}

static void j_fd(const char *key, int fd)
{
	int i;

	for (i = t_nfds - 1; i >= 0; i--) {
		if (t_fds[i].fd == fd) {
			char s[32];

			snprintf(s, sizeof(s), "$%s", t_fds[i].name);
			j_str(key, s);
			return;
		}
	}
	j_num(key, fd);
}

/* ------------------------------------------------------------------ steps */

static void t_header(const char *description)
{
	printf("{\"uiommu_scenario\":1,\"platform\":\"mock\",\"description\":\"%s\"}\n", description);
}

static void t_comment(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int t_open(const char *name)
{
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0) {
		perror("open /dev/iommu");
		exit(2);
	}
	j_begin();
	j_str("step", "open");
	j_str("as", name);
	j_end();
	t_fds[t_nfds].fd = fd;
	snprintf(t_fds[t_nfds].name, sizeof(t_fds[t_nfds].name), "%s", name);
	t_nfds++;
	return fd;
}

static void t_close(int fd)
{
	int i;

	j_begin();
	j_str("step", "close");
	j_fd("fd", fd);
	j_end();
	close(fd);
	for (i = 0; i < t_nfds; i++)
		if (t_fds[i].fd == fd)
			t_fds[i].fd = -1;
}

/* anonymous private mapping at a fixed address; never touched here (the kernel pins on demand) */
static u64 t_mmap(u64 addr, u64 len, const char *name)
{
	void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || (u64)p != addr) {
		perror("mmap");
		exit(2);
	}
	j_begin();
	j_str("step", "mmap");
	j_hexs("addr", addr);
	j_num("length", len);
	j_str("as", name);
	j_end();
	t_bufs[t_nbufs].addr = addr;
	t_bufs[t_nbufs].len = len;
	snprintf(t_bufs[t_nbufs].name, sizeof(t_bufs[t_nbufs].name), "%s", name);
	t_nbufs++;
	return addr;
}

static void t_munmap(u64 addr, u64 len)
{
	if (munmap((void *)addr, len)) {
		perror("munmap");
		exit(2);
	}
	j_begin();
	j_str("step", "munmap");
	j_va("addr", addr);
	j_num("length", len);
	j_end();
}

/* ioctl returning the result or -errno */
static long sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

/* Starts an ioctl step: {"step":"ioctl","fd":..,"cmd":..,"args":{ -- caller adds args, then calls
 * t_expect_*() and j_end(). */
static void t_ioctl_begin(int fd, const char *cmd)
{
	j_begin();
	j_str("step", "ioctl");
	j_fd("fd", fd);
	j_str("cmd", cmd);
	j_open("args");
}

/* closes args, opens expect with errno or ret; returns nonzero when the caller should add output
 * fields (call succeeded) */
static int t_expect_begin(long rc)
{
	j_close();
	j_open("expect");
	if (rc < 0) {
		j_str("errno", errno_name((int)-rc));
		return 0;
	}
	j_num("ret", (u64)rc);
	return 1;
}

static void t_step_end(void)
{
	j_close();
	j_end();
}

/* flag names */
static const char *map_flags_str(u32 f)
{
	static char s[160];

	s[0] = 0;
	if (f & IOMMU_IOAS_MAP_FIXED_IOVA)
		strcat(s, "|IOMMU_IOAS_MAP_FIXED_IOVA");
	if (f & IOMMU_IOAS_MAP_WRITEABLE)
		strcat(s, "|IOMMU_IOAS_MAP_WRITEABLE");
	if (f & IOMMU_IOAS_MAP_READABLE)
		strcat(s, "|IOMMU_IOAS_MAP_READABLE");
	f &= ~(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE);
	if (f)
		sprintf(s + strlen(s), "|0x%x", f);
	return s[0] ? s + 1 : "0";
}

static void j_map_flags(const char *key, u32 f)
{
	const char *s = map_flags_str(f);

	if (!strcmp(s, "0"))
		j_num(key, 0);
	else
		j_str(key, s);
}

#define RW (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA

/* ------------------------------------------------------------------ the ioctls */

static long t_ioas_alloc(int fd, const char *save, u32 *out_id)
{
	struct iommu_ioas_alloc c = { .size = sizeof(c) };
	long rc = sys_ioctl(fd, IOMMU_IOAS_ALLOC, &c);

	t_ioctl_begin(fd, "IOMMU_IOAS_ALLOC");
	if (t_expect_begin(rc))
		j_num("out_ioas_id", c.out_ioas_id);
	j_close();
	if (rc >= 0 && save) {
		j_open("save");
		j_str("out_ioas_id", save);
		j_close();
		id_save(c.out_ioas_id, save);
	}
	j_end();
	if (out_id)
		*out_id = rc >= 0 ? c.out_ioas_id : 0;
	return rc;
}

static long t_destroy(int fd, u32 id)
{
	struct iommu_destroy c = { .size = sizeof(c), .id = id };
	long rc = sys_ioctl(fd, IOMMU_DESTROY, &c);

	t_ioctl_begin(fd, "IOMMU_DESTROY");
	j_id("id", id);
	t_expect_begin(rc);
	t_step_end();
	if (rc == 0)
		id_forget(id);
	return rc;
}

static long t_map(int fd, u32 ioas, u32 flags, u64 va, u64 len, u64 iova, u64 *out_iova)
{
	struct iommu_ioas_map c = {
		.size = sizeof(c), .flags = flags, .ioas_id = ioas,
		.user_va = va, .length = len, .iova = iova,
	};
	long rc = sys_ioctl(fd, IOMMU_IOAS_MAP, &c);

	t_ioctl_begin(fd, "IOMMU_IOAS_MAP");
	j_map_flags("flags", flags);
	j_id("ioas_id", ioas);
	j_va("user_va", va);
	j_num("length", len);
	if (flags & FIXED || iova)
		j_num("iova", iova);
	if (t_expect_begin(rc))
		j_num("iova", c.iova);
	t_step_end();
	if (out_iova)
		*out_iova = c.iova;
	return rc;
}

static long t_unmap(int fd, u32 ioas, u64 iova, u64 len, u64 *out_len)
{
	struct iommu_ioas_unmap c = { .size = sizeof(c), .ioas_id = ioas, .iova = iova, .length = len };
	long rc = sys_ioctl(fd, IOMMU_IOAS_UNMAP, &c);

	t_ioctl_begin(fd, "IOMMU_IOAS_UNMAP");
	j_id("ioas_id", ioas);
	j_num("iova", iova);
	j_num("length", len);
	if (t_expect_begin(rc))
		j_num("length", c.length);
	t_step_end();
	if (out_len)
		*out_len = rc >= 0 ? c.length : 0;
	return rc;
}

static long t_copy(int fd, u32 dst, u32 src, u32 flags, u64 src_iova, u64 len, u64 dst_iova, u64 *out)
{
	struct iommu_ioas_copy c = {
		.size = sizeof(c), .flags = flags, .dst_ioas_id = dst, .src_ioas_id = src,
		.length = len, .dst_iova = dst_iova, .src_iova = src_iova,
	};
	long rc = sys_ioctl(fd, IOMMU_IOAS_COPY, &c);

	t_ioctl_begin(fd, "IOMMU_IOAS_COPY");
	j_map_flags("flags", flags);
	j_id("dst_ioas_id", dst);
	j_id("src_ioas_id", src);
	j_num("length", len);
	if (flags & FIXED || dst_iova)
		j_num("dst_iova", dst_iova);
	j_num("src_iova", src_iova);
	if (t_expect_begin(rc))
		j_num("dst_iova", c.dst_iova);
	t_step_end();
	if (out)
		*out = c.dst_iova;
	return rc;
}

/* IOVA_RANGES with room for cap ranges; returns the number of ranges (or -errno) */
static long t_iova_ranges(int fd, u32 ioas, u32 cap, struct iommu_iova_range *out, u64 *align)
{
	struct iommu_iova_range r[64];
	struct iommu_ioas_iova_ranges c = {
		.size = sizeof(c), .ioas_id = ioas, .num_iovas = cap,
		.allowed_iovas = (uintptr_t)r,
	};
	long rc;
	u32 i;

	memset(r, 0, sizeof(r));
	rc = sys_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &c);
	t_ioctl_begin(fd, "IOMMU_IOAS_IOVA_RANGES");
	j_id("ioas_id", ioas);
	j_num("num_iovas", cap);
	if (cap) {
		j_open("allowed_iovas");
		j_str("array", "iommu_iova_range");
		j_num("count", cap);
		j_close();
	}
	if (t_expect_begin(rc) || rc == -EMSGSIZE) {
		j_num("num_iovas", c.num_iovas);
		j_num("out_iova_alignment", c.out_iova_alignment);
		for (i = 0; i < c.num_iovas && i < cap; i++) {
			char k[48];

			snprintf(k, sizeof(k), "allowed_iovas[%u].start", i);
			j_num(k, r[i].start);
			snprintf(k, sizeof(k), "allowed_iovas[%u].last", i);
			j_num(k, r[i].last);
		}
	}
	t_step_end();
	if (out)
		memcpy(out, r, sizeof(r[0]) * (cap < 64 ? cap : 64));
	if (align)
		*align = c.out_iova_alignment;
	return rc < 0 && rc != -EMSGSIZE ? rc : (long)c.num_iovas;
}

static long t_allow_iovas(int fd, u32 ioas, const struct iommu_iova_range *r, u32 n)
{
	struct iommu_ioas_allow_iovas c = {
		.size = sizeof(c), .ioas_id = ioas, .num_iovas = n, .allowed_iovas = (uintptr_t)r,
	};
	long rc = sys_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &c);
	u32 i;

	t_ioctl_begin(fd, "IOMMU_IOAS_ALLOW_IOVAS");
	j_id("ioas_id", ioas);
	j_num("num_iovas", n);
	if (n) {
		j_open("allowed_iovas");
		j_str("array", "iommu_iova_range");
		j_open_arr("items");
		for (i = 0; i < n; i++) {
			j_sep(NULL);
			j_put("{");
			j_first[++j_depth] = 1;
			j_num("start", r[i].start);
			j_num("last", r[i].last);
			j_close();
		}
		j_close_arr();
		j_close();
	}
	t_expect_begin(rc);
	t_step_end();
	return rc;
}

static long t_option(int fd, u32 option_id, u16 op, u32 object_id, u64 val, u64 *out)
{
	struct iommu_option c = {
		.size = sizeof(c), .option_id = option_id, .op = op, .object_id = object_id, .val64 = val,
	};
	long rc = sys_ioctl(fd, IOMMU_OPTION, &c);

	t_ioctl_begin(fd, "IOMMU_OPTION");
	if (option_id == IOMMU_OPTION_HUGE_PAGES)
		j_str("option_id", "IOMMU_OPTION_HUGE_PAGES");
	else if (option_id == IOMMU_OPTION_RLIMIT_MODE)
		j_str("option_id", "IOMMU_OPTION_RLIMIT_MODE");
	else
		j_num("option_id", option_id);
	if (op == IOMMU_OPTION_OP_SET)
		j_str("op", "IOMMU_OPTION_OP_SET");
	else if (op == IOMMU_OPTION_OP_GET)
		j_str("op", "IOMMU_OPTION_OP_GET");
	else
		j_num("op", op);
	j_id("object_id", object_id);
	if (op == IOMMU_OPTION_OP_SET || val)
		j_num("val64", val);
	if (t_expect_begin(rc))
		j_num("val64", c.val64);
	t_step_end();
	if (out)
		*out = c.val64;
	return rc;
}

static long t_add_reserved(int fd, u32 ioas, u64 start, u64 len)
{
	struct iommu_test_cmd c = {
		.size = sizeof(c), .op = IOMMU_TEST_OP_ADD_RESERVED, .id = ioas,
		.add_reserved = { .start = start, .length = len },
	};
	long rc = sys_ioctl(fd, IOMMU_TEST_CMD, &c);

	t_ioctl_begin(fd, "IOMMU_TEST_CMD");
	j_str("op", "IOMMU_TEST_OP_ADD_RESERVED");
	j_id("id", ioas);
	j_num("add_reserved.start", start);
	j_num("add_reserved.length", len);
	t_expect_begin(rc);
	t_step_end();
	return rc;
}

struct t_mock {
	u32 stdev, hwpt, idev;
};

/* attaches a mock device to pt (IOAS or HWPT); saves <prefix>_stdev, _hwpt, _idev */
static long t_mock_domain(int fd, u32 pt, const char *prefix, struct t_mock *m)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt };
	long rc = sys_ioctl(fd, IOMMU_TEST_CMD, &c);
	char a[24], b[24], d[24];

	snprintf(a, sizeof(a), "%s_stdev", prefix);
	snprintf(b, sizeof(b), "%s_hwpt", prefix);
	snprintf(d, sizeof(d), "%s_idev", prefix);
	t_ioctl_begin(fd, "IOMMU_TEST_CMD");
	j_str("op", "IOMMU_TEST_OP_MOCK_DOMAIN");
	j_id("id", pt);
	if (t_expect_begin(rc)) {
		j_num("mock_domain.out_stdev_id", c.mock_domain.out_stdev_id);
		j_num("mock_domain.out_hwpt_id", c.mock_domain.out_hwpt_id);
		j_num("mock_domain.out_idev_id", c.mock_domain.out_idev_id);
	}
	j_close();
	if (rc >= 0) {
		j_open("save");
		j_str("mock_domain.out_stdev_id", a);
		j_str("mock_domain.out_hwpt_id", b);
		j_str("mock_domain.out_idev_id", d);
		j_close();
		id_save(c.mock_domain.out_stdev_id, a);
		id_save(c.mock_domain.out_hwpt_id, b);
		id_save(c.mock_domain.out_idev_id, d);
	}
	j_end();
	if (m) {
		m->stdev = rc >= 0 ? c.mock_domain.out_stdev_id : 0;
		m->hwpt = rc >= 0 ? c.mock_domain.out_hwpt_id : 0;
		m->idev = rc >= 0 ? c.mock_domain.out_idev_id : 0;
	}
	return rc;
}

/* ------------------------------------------------------------------ random numbers */

static u64 rng_state;

static void rng_seed(u64 s)
{
	rng_state = s * 0x9E3779B97F4A7C15ULL + 0x1234567;
}

/* splitmix64 */
static u64 rng_next(void)
{
	u64 z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static u64 rnd(u64 n)
{
	return n ? rng_next() % n : 0;
}

/* true with probability pct/100 */
static int chance(int pct)
{
	return (int)rnd(100) < pct;
}

#endif
