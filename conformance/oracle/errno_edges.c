/*
 * errno_edges: argument and size edge cases for every ioctl of the Linux 6.12 /dev/iommu command
 * set, on the real kernel, printed as a uiommu scenario.
 *
 * The generic size rules (size 0, min-1, min, sizeof, sizeof+1/+8 with zero and non-zero tails,
 * 4096, NULL argument, unknown request numbers) are checked for each command; then each command's
 * own checks: unknown flags, non-zero reserved fields, bad ids, overflowing values.
 *
 * Uses the file-format extensions "tail_hex", "arg" and hex "cmd" (see trace.h).
 */
#include <stddef.h>
#include "trace.h"

#define BASE 0x100000000000ULL
#define MiB (1024ULL * 1024)
#define ROBUF (BASE + 1024 * MiB)

static int fd;

/* ------------------------------------------------------------------ generic struct emitter */

struct fdesc {
	const char *name;
	unsigned off, size;
};

struct sdesc {
	const char *name;
	unsigned size, min;
	unsigned long cmd;
	const char *cmdname;
	const struct fdesc *f;
	const char *const *outs; /* output fields to expect on success */
};

#define FD(st, fld) { #fld, offsetof(struct st, fld), sizeof(((struct st *)0)->fld) }
#define FDN(st, fld, name) { name, offsetof(struct st, fld), sizeof(((struct st *)0)->fld) }
#define END_F { NULL, 0, 0 }
#define MIN(st, fld) (offsetof(struct st, fld) + sizeof(((struct st *)0)->fld))

static const struct fdesc f_destroy[] = { FD(iommu_destroy, id), END_F };
static const struct fdesc f_ioas_alloc[] = { FD(iommu_ioas_alloc, flags), END_F };
static const struct fdesc f_allow[] = { FD(iommu_ioas_allow_iovas, ioas_id), FD(iommu_ioas_allow_iovas, num_iovas),
	FD(iommu_ioas_allow_iovas, __reserved), FD(iommu_ioas_allow_iovas, allowed_iovas), END_F };
static const struct fdesc f_copy[] = { FD(iommu_ioas_copy, flags), FD(iommu_ioas_copy, dst_ioas_id),
	FD(iommu_ioas_copy, src_ioas_id), FD(iommu_ioas_copy, length), FD(iommu_ioas_copy, dst_iova),
	FD(iommu_ioas_copy, src_iova), END_F };
static const struct fdesc f_ranges[] = { FD(iommu_ioas_iova_ranges, ioas_id), FD(iommu_ioas_iova_ranges, num_iovas),
	FD(iommu_ioas_iova_ranges, __reserved), FD(iommu_ioas_iova_ranges, allowed_iovas), END_F };
static const struct fdesc f_map[] = { FD(iommu_ioas_map, flags), FD(iommu_ioas_map, ioas_id),
	FD(iommu_ioas_map, __reserved), FD(iommu_ioas_map, user_va), FD(iommu_ioas_map, length),
	FD(iommu_ioas_map, iova), END_F };
static const struct fdesc f_unmap[] = { FD(iommu_ioas_unmap, ioas_id), FD(iommu_ioas_unmap, iova),
	FD(iommu_ioas_unmap, length), END_F };
static const struct fdesc f_option[] = { FD(iommu_option, option_id), FD(iommu_option, op),
	FD(iommu_option, __reserved), FD(iommu_option, object_id), FD(iommu_option, val64), END_F };
static const struct fdesc f_vfio_ioas[] = { FD(iommu_vfio_ioas, ioas_id), FD(iommu_vfio_ioas, op),
	FD(iommu_vfio_ioas, __reserved), END_F };
static const struct fdesc f_hwpt_alloc[] = { FD(iommu_hwpt_alloc, flags), FD(iommu_hwpt_alloc, dev_id),
	FD(iommu_hwpt_alloc, pt_id), FD(iommu_hwpt_alloc, __reserved), FD(iommu_hwpt_alloc, data_type),
	FD(iommu_hwpt_alloc, data_len), FD(iommu_hwpt_alloc, data_uptr), FD(iommu_hwpt_alloc, fault_id),
	FD(iommu_hwpt_alloc, __reserved2), END_F };
static const struct fdesc f_hw_info[] = { FD(iommu_hw_info, flags), FD(iommu_hw_info, dev_id),
	FD(iommu_hw_info, data_len), FD(iommu_hw_info, data_uptr), FD(iommu_hw_info, __reserved), END_F };
static const struct fdesc f_set_dirty[] = { FD(iommu_hwpt_set_dirty_tracking, flags),
	FD(iommu_hwpt_set_dirty_tracking, hwpt_id), FD(iommu_hwpt_set_dirty_tracking, __reserved), END_F };
static const struct fdesc f_get_dirty[] = { FD(iommu_hwpt_get_dirty_bitmap, hwpt_id),
	FD(iommu_hwpt_get_dirty_bitmap, flags), FD(iommu_hwpt_get_dirty_bitmap, __reserved),
	FD(iommu_hwpt_get_dirty_bitmap, iova), FD(iommu_hwpt_get_dirty_bitmap, length),
	FD(iommu_hwpt_get_dirty_bitmap, page_size), FD(iommu_hwpt_get_dirty_bitmap, data), END_F };
static const struct fdesc f_invalidate[] = { FD(iommu_hwpt_invalidate, hwpt_id),
	FD(iommu_hwpt_invalidate, data_uptr), FD(iommu_hwpt_invalidate, data_type),
	FD(iommu_hwpt_invalidate, entry_len), FD(iommu_hwpt_invalidate, entry_num),
	FD(iommu_hwpt_invalidate, __reserved), END_F };
static const struct fdesc f_fault[] = { FD(iommu_fault_alloc, flags), END_F };
static const struct fdesc f_test[] = { FD(iommu_test_cmd, op), FD(iommu_test_cmd, id),
	FD(iommu_test_cmd, __reserved), FDN(iommu_test_cmd, add_reserved.start, "add_reserved.start"),
	FDN(iommu_test_cmd, add_reserved.length, "add_reserved.length"), FD(iommu_test_cmd, last), END_F };

static const char *const o_none[] = { NULL };
static const char *const o_ioas_alloc[] = { "out_ioas_id", NULL };
static const char *const o_map[] = { "iova", NULL };
static const char *const o_copy[] = { "dst_iova", NULL };
static const char *const o_unmap[] = { "length", NULL };
static const char *const o_ranges[] = { "num_iovas", "out_iova_alignment", NULL };
static const char *const o_option[] = { "val64", NULL };
static const char *const o_vfio_ioas[] = { "ioas_id", NULL };
static const char *const o_hwpt_alloc[] = { "out_hwpt_id", NULL };
static const char *const o_hw_info[] = { "data_len", "out_data_type", "out_max_pasid_log2",
					 "out_capabilities", NULL };
static const char *const o_invalidate[] = { "entry_num", NULL };
static const char *const o_fault[] = { "out_fault_id", NULL };

#define SD(st, last, code, outs_, f_) \
	{ #st, sizeof(struct st), MIN(st, last), code, #code, f_, outs_ }

static const struct sdesc S[] = {
	SD(iommu_destroy, id, IOMMU_DESTROY, o_none, f_destroy),
	SD(iommu_ioas_alloc, out_ioas_id, IOMMU_IOAS_ALLOC, o_ioas_alloc, f_ioas_alloc),
	SD(iommu_ioas_allow_iovas, allowed_iovas, IOMMU_IOAS_ALLOW_IOVAS, o_none, f_allow),
	SD(iommu_ioas_copy, src_iova, IOMMU_IOAS_COPY, o_copy, f_copy),
	SD(iommu_ioas_iova_ranges, out_iova_alignment, IOMMU_IOAS_IOVA_RANGES, o_ranges, f_ranges),
	SD(iommu_ioas_map, iova, IOMMU_IOAS_MAP, o_map, f_map),
	SD(iommu_ioas_unmap, length, IOMMU_IOAS_UNMAP, o_unmap, f_unmap),
	SD(iommu_option, val64, IOMMU_OPTION, o_option, f_option),
	SD(iommu_vfio_ioas, __reserved, IOMMU_VFIO_IOAS, o_vfio_ioas, f_vfio_ioas),
	SD(iommu_hwpt_alloc, __reserved, IOMMU_HWPT_ALLOC, o_hwpt_alloc, f_hwpt_alloc),
	SD(iommu_hw_info, __reserved, IOMMU_GET_HW_INFO, o_hw_info, f_hw_info),
	SD(iommu_hwpt_set_dirty_tracking, __reserved, IOMMU_HWPT_SET_DIRTY_TRACKING, o_none, f_set_dirty),
	SD(iommu_hwpt_get_dirty_bitmap, data, IOMMU_HWPT_GET_DIRTY_BITMAP, o_none, f_get_dirty),
	SD(iommu_hwpt_invalidate, __reserved, IOMMU_HWPT_INVALIDATE, o_invalidate, f_invalidate),
	SD(iommu_fault_alloc, out_fault_fd, IOMMU_FAULT_QUEUE_ALLOC, o_fault, f_fault),
	SD(iommu_test_cmd, last, IOMMU_TEST_CMD, o_none, f_test),
};
#define NS (sizeof(S) / sizeof(S[0]))

static const struct sdesc *sd_of(unsigned long cmd)
{
	unsigned i;

	for (i = 0; i < NS; i++)
		if (S[i].cmd == cmd)
			return &S[i];
	exit(3);
}

static u64 get_field(const unsigned char *b, unsigned off, unsigned size)
{
	u64 v = 0;

	memcpy(&v, b + off, size);
	return v;
}

static const struct fdesc *find_field(const struct sdesc *sd, const char *name)
{
	const struct fdesc *f;

	for (f = sd->f; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static int ends_with_id(const char *n)
{
	size_t l = strlen(n);

	return l >= 2 && !strcmp(n + l - 2, "id");
}

/* output fields the struct does not list as inputs */
static unsigned out_off(const char *name, unsigned *size)
{
#define O(st, fld) if (!strcmp(name, #fld)) { *size = sizeof(((struct st *)0)->fld); return offsetof(struct st, fld); }
	O(iommu_ioas_alloc, out_ioas_id)
	O(iommu_ioas_iova_ranges, out_iova_alignment)
	O(iommu_hwpt_alloc, out_hwpt_id)
	O(iommu_hw_info, out_data_type)
	O(iommu_hw_info, out_max_pasid_log2)
	O(iommu_hw_info, out_capabilities)
	O(iommu_fault_alloc, out_fault_id)
#undef O
	return ~0u;
}

/*
 * One ioctl of struct type sd on buffer b (sd->size + tail bytes, size field already set).
 * arg_null: pass NULL instead of b. Extra JSON for args can be added by the caller via hook.
 */
static long raw(const struct sdesc *sd, unsigned char *b, unsigned tail, int arg_null,
		void (*hook)(void))
{
	unsigned char in[8192];
	u32 size;
	long rc;
	const struct fdesc *f;
	unsigned i;
	int nz = 0;

	memcpy(in, b, sd->size + tail);
	memcpy(&size, b, 4);
	rc = sys_ioctl(fd, sd->cmd, arg_null ? NULL : b);
	if (arg_null) {
		/* the raw argument excludes args: a NULL struct pointer */
		j_begin();
		j_str("step", "ioctl");
		j_fd("fd", fd);
		j_str("cmd", sd->cmdname);
		j_num("arg", 0);
		j_open("expect");
		j_str("errno", errno_name((int)-rc));
		t_step_end();
		return rc;
	}
	t_ioctl_begin(fd, sd->cmdname);
	if (size != sd->size)
		j_num("size", size);
	for (f = sd->f; f->name; f++) {
		u64 v = get_field(in, f->off, f->size);

		if (!v)
			continue;
		if (sd->cmd == IOMMU_GET_HW_INFO && !strcmp(f->name, "__reserved")) {
			/* u8 __reserved[3]: an inline array */
			j_sep(f->name);
			j_put("[%u,%u,%u]", in[f->off], in[f->off + 1], in[f->off + 2]);
		} else if (!strcmp(f->name, "op") && sd->cmd == IOMMU_TEST_CMD) {
			if (v == IOMMU_TEST_OP_ADD_RESERVED)
				j_str("op", "IOMMU_TEST_OP_ADD_RESERVED");
			else
				j_num("op", v);
		} else if (ends_with_id(f->name) && strcmp(f->name, "option_id")) {
			j_id(f->name, (u32)v);
		} else if (!strcmp(f->name, "user_va")) {
			j_va(f->name, v);
		} else {
			j_num(f->name, v);
		}
	}
	if (hook)
		hook();
	j_close();
	for (i = 0; i < tail; i++)
		nz |= in[sd->size + i];
	if (nz) {
		char hex[2 * 512 + 1];

		for (i = 0; i < tail && i < 512; i++)
			sprintf(hex + 2 * i, "%02x", in[sd->size + i]);
		j_str("tail_hex", hex);
	}
	j_open("expect");
	if (rc < 0) {
		j_str("errno", errno_name((int)-rc));
	} else {
		const char *const *o;

		j_num("ret", (u64)rc);
		for (o = sd->outs; *o; o++) {
			const struct fdesc *of = find_field(sd, *o);
			unsigned off, sz = 0;

			if (of) {
				off = of->off;
				sz = of->size;
			} else {
				off = out_off(*o, &sz);
			}
			if (off + sz > size)
				continue; /* not copied back to a short struct */
			j_num(*o, get_field(b, off, sz));
		}
	}
	t_step_end();
	return rc;
}

static unsigned char B[8192];

static unsigned char *prep(const struct sdesc *sd, u32 size)
{
	memset(B, 0, sizeof(B));
	memcpy(B, &size, 4);
	(void)sd;
	return B;
}

#define SET(st, fld, v) (((struct st *)B)->fld = (v))

/* ------------------------------------------------------------------ generic size rules */

static void size_rules(const struct sdesc *sd)
{
	t_comment("%s: size rules (min %u, sizeof %u)", sd->cmdname, sd->min, sd->size);
	raw(sd, prep(sd, 0), 0, 0, NULL);
	raw(sd, prep(sd, 3), 0, 0, NULL);
	raw(sd, prep(sd, sd->min - 1), 0, 0, NULL);
	if (sd->min < sd->size)
		raw(sd, prep(sd, sd->min), 0, 0, NULL);
	raw(sd, prep(sd, sd->size), 0, 0, NULL);
	raw(sd, prep(sd, sd->size + 8), 8, 0, NULL);
	prep(sd, sd->size + 8);
	B[sd->size + 7] = 1;
	raw(sd, B, 8, 0, NULL);
	prep(sd, sd->size + 1);
	B[sd->size] = 0xff;
	raw(sd, B, 1, 0, NULL);
	prep(sd, sd->size + 8);
	B[sd->size + 8] = 0xff; /* beyond size: not read */
	raw(sd, B, 8, 0, NULL);
	raw(sd, prep(sd, 4096), 4096 - sd->size, 0, NULL);
	raw(sd, prep(sd, sd->size), 0, 1, NULL);
}

/* ------------------------------------------------------------------ per-command checks */

/* HWPT_ALLOC of a nested HWPT with iommu_hwpt_selftest data */
static long t_hwpt_nested(u32 flags, u32 dev, u32 pt, u32 data_type, u32 data_len, u32 iotlb, const char *save,
			  u32 *out)
{
	struct iommu_hwpt_selftest d[2] = { { .iotlb = iotlb }, { .iotlb = 0 } };
	struct iommu_hwpt_alloc c = { .size = sizeof(c), .flags = flags, .dev_id = dev, .pt_id = pt,
				      .data_type = data_type, .data_len = data_len, .data_uptr = (uintptr_t)d };
	long rc = sys_ioctl(fd, IOMMU_HWPT_ALLOC, &c);

	t_ioctl_begin(fd, "IOMMU_HWPT_ALLOC");
	if (flags)
		j_num("flags", flags);
	j_id("dev_id", dev);
	j_id("pt_id", pt);
	if (data_type == IOMMU_HWPT_DATA_SELFTEST)
		j_str("data_type", "IOMMU_HWPT_DATA_SELFTEST");
	else
		j_num("data_type", data_type);
	j_num("data_len", data_len);
	j_open("data_uptr");
	j_str("array", "iommu_hwpt_selftest");
	j_open_arr("items");
	j_sep(NULL);
	j_put("{");
	j_first[++j_depth] = 1;
	j_num("iotlb", iotlb);
	j_close();
	j_sep(NULL);
	j_put("{");
	j_first[++j_depth] = 1;
	j_num("iotlb", 0);
	j_close();
	j_close_arr();
	j_close();
	if (t_expect_begin(rc))
		j_num("out_hwpt_id", c.out_hwpt_id);
	j_close();
	if (rc == 0 && save) {
		j_open("save");
		j_str("out_hwpt_id", save);
		j_close();
		id_save(c.out_hwpt_id, save);
	}
	j_end();
	if (out)
		*out = rc == 0 ? c.out_hwpt_id : 0;
	return rc;
}

static long t_invalidate(u32 hwpt, u32 data_type, u32 entry_len, u32 entry_num)
{
	struct iommu_hwpt_invalidate_selftest e[2] = { { .flags = IOMMU_TEST_INVALIDATE_FLAG_ALL } };
	struct iommu_hwpt_invalidate c = { .size = sizeof(c), .hwpt_id = hwpt, .data_uptr = (uintptr_t)e,
					   .data_type = data_type, .entry_len = entry_len, .entry_num = entry_num };
	long rc = sys_ioctl(fd, IOMMU_HWPT_INVALIDATE, &c);

	t_ioctl_begin(fd, "IOMMU_HWPT_INVALIDATE");
	j_id("hwpt_id", hwpt);
	if (data_type == IOMMU_HWPT_INVALIDATE_DATA_SELFTEST)
		j_str("data_type", "IOMMU_HWPT_INVALIDATE_DATA_SELFTEST");
	else
		j_num("data_type", data_type);
	j_num("entry_len", entry_len);
	j_num("entry_num", entry_num);
	j_open("data_uptr");
	j_str("array", "iommu_hwpt_invalidate_selftest");
	j_open_arr("items");
	j_sep(NULL);
	j_put("{");
	j_first[++j_depth] = 1;
	j_str("flags", "IOMMU_TEST_INVALIDATE_FLAG_ALL");
	j_num("iotlb_id", 0);
	j_close();
	j_sep(NULL);
	j_put("{");
	j_first[++j_depth] = 1;
	j_num("flags", 0);
	j_num("iotlb_id", 0);
	j_close();
	j_close_arr();
	j_close();
	t_expect_begin(rc);
	/* entry_num is written back on failure too */
	j_num("entry_num", c.entry_num);
	t_step_end();
	return rc;
}

static u32 ioas, ioas2;
static struct t_mock mock;

static void nested_checks(void)
{
	u32 parent, nested;
	struct iommu_hwpt_alloc c = { .size = sizeof(c), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
				      .dev_id = mock.idev, .pt_id = ioas2 };

	t_comment("nested HWPTs need a NEST_PARENT paging parent and selftest data");
	t_ioctl_begin(fd, "IOMMU_HWPT_ALLOC");
	j_str("flags", "IOMMU_HWPT_ALLOC_NEST_PARENT");
	j_id("dev_id", mock.idev);
	j_id("pt_id", ioas2);
	{
		long rc = sys_ioctl(fd, IOMMU_HWPT_ALLOC, &c);

		if (t_expect_begin(rc))
			j_num("out_hwpt_id", c.out_hwpt_id);
		j_close();
		j_open("save");
		j_str("out_hwpt_id", "parent");
		j_close();
		j_end();
		parent = c.out_hwpt_id;
		id_save(parent, "parent");
	}
	t_hwpt_nested(0, mock.idev, parent, IOMMU_HWPT_DATA_SELFTEST, 0, 0, NULL, NULL);
	t_hwpt_nested(0, mock.idev, parent, IOMMU_HWPT_DATA_SELFTEST, 2, 0, NULL, NULL);
	t_hwpt_nested(0, mock.idev, parent, IOMMU_HWPT_DATA_VTD_S1, 4, 0, NULL, NULL);
	t_hwpt_nested(0, mock.idev, parent, 0x1234, 4, 0, NULL, NULL);
	t_hwpt_nested(IOMMU_HWPT_ALLOC_NEST_PARENT, mock.idev, parent, IOMMU_HWPT_DATA_SELFTEST, 4, 0, NULL, NULL);
	t_hwpt_nested(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, mock.idev, parent, IOMMU_HWPT_DATA_SELFTEST, 4, 0, NULL, NULL);
	t_hwpt_nested(0, mock.idev, mock.hwpt, IOMMU_HWPT_DATA_SELFTEST, 4, 0, NULL, NULL);
	t_hwpt_nested(0, mock.idev, ioas2, IOMMU_HWPT_DATA_SELFTEST, 4, 0, NULL, NULL);
	t_hwpt_nested(0, mock.idev, parent, IOMMU_HWPT_DATA_SELFTEST, 4, IOMMU_TEST_IOTLB_DEFAULT, "nested",
		      &nested);
	t_hwpt_nested(0, mock.idev, parent, IOMMU_HWPT_DATA_SELFTEST, 8, 7, NULL, NULL);
	t_hwpt_nested(0, mock.idev, nested, IOMMU_HWPT_DATA_SELFTEST, 4, 7, NULL, NULL);
	t_comment("invalidation of the nested HWPT");
	t_invalidate(nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 0);
	t_invalidate(nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 1);
	t_invalidate(nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 2);
	t_invalidate(nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 4, 1);
	t_invalidate(nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 12, 1);
	t_invalidate(nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID, 8, 1);
	t_invalidate(nested, 0, 8, 0);
	t_invalidate(parent, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 0);
	t_invalidate(mock.hwpt, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 0);
	t_comment("the parent is referenced by the nested HWPT");
	t_destroy(fd, parent);
	t_destroy(fd, nested);
	t_destroy(fd, parent);
}

/* GET_HW_INFO with a data buffer of two iommu_test_hw_info, pre-filled with 0x55 */
static void t_hw_info(u32 dev, u32 data_len)
{
	struct iommu_test_hw_info d[2] = { { 0x55, 0x55 }, { 0x55, 0x55 } };
	struct iommu_hw_info c = { .size = sizeof(c), .dev_id = dev, .data_len = data_len,
				   .data_uptr = (uintptr_t)d };
	long rc = sys_ioctl(fd, IOMMU_GET_HW_INFO, &c);
	int i;

	t_ioctl_begin(fd, "IOMMU_GET_HW_INFO");
	j_id("dev_id", dev);
	j_num("data_len", data_len);
	j_open("data_uptr");
	j_str("array", "iommu_test_hw_info");
	j_open_arr("items");
	for (i = 0; i < 2; i++) {
		j_sep(NULL);
		j_put("{");
		j_first[++j_depth] = 1;
		j_num("flags", 0x55);
		j_num("test_reg", 0x55);
		j_close();
	}
	j_close_arr();
	j_close();
	if (t_expect_begin(rc)) {
		j_num("data_len", c.data_len);
		j_num("out_data_type", c.out_data_type);
		j_num("out_max_pasid_log2", c.out_max_pasid_log2);
		j_num("out_capabilities", c.out_capabilities);
	}
	for (i = 0; i < 2; i++) {
		char k[40];

		snprintf(k, sizeof(k), "data_uptr[%d].flags", i);
		j_num(k, d[i].flags);
		snprintf(k, sizeof(k), "data_uptr[%d].test_reg", i);
		j_num(k, d[i].test_reg);
	}
	t_step_end();
}

static void cmd_checks(void)
{
	const struct sdesc *sd;

	t_comment("IOMMU_DESTROY");
	sd = sd_of(IOMMU_DESTROY);
	prep(sd, sd->size); SET(iommu_destroy, id, 12345); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_destroy, id, 0x80000000u); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_IOAS_ALLOC");
	sd = sd_of(IOMMU_IOAS_ALLOC);
	prep(sd, sd->size); SET(iommu_ioas_alloc, flags, 1); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_alloc, flags, 0x80000000u); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_alloc, out_ioas_id, 7); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_IOAS_ALLOW_IOVAS");
	sd = sd_of(IOMMU_IOAS_ALLOW_IOVAS);
	prep(sd, sd->size); SET(iommu_ioas_allow_iovas, ioas_id, ioas); SET(iommu_ioas_allow_iovas, __reserved, 1);
	raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_allow_iovas, ioas_id, 999); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_allow_iovas, ioas_id, mock.hwpt); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_allow_iovas, ioas_id, ioas); SET(iommu_ioas_allow_iovas, num_iovas, 1);
	raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_allow_iovas, ioas_id, ioas); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_IOAS_IOVA_RANGES");
	sd = sd_of(IOMMU_IOAS_IOVA_RANGES);
	prep(sd, sd->size); SET(iommu_ioas_iova_ranges, ioas_id, ioas); SET(iommu_ioas_iova_ranges, __reserved, 1);
	raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_iova_ranges, ioas_id, 999); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_iova_ranges, ioas_id, mock.idev); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_iova_ranges, ioas_id, ioas); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_iova_ranges, ioas_id, ioas); SET(iommu_ioas_iova_ranges, num_iovas, 1);
	raw(sd, B, 0, 0, NULL);
	t_comment("the kernel writes the struct back before EMSGSIZE, also for a short buffer size");
	t_iova_ranges(fd, ioas2, 0, NULL, NULL);

	t_comment("IOMMU_IOAS_MAP");
	sd = sd_of(IOMMU_IOAS_MAP);
#define MAPB(fl, id, va, len, iova_) do { prep(sd, sd->size); SET(iommu_ioas_map, flags, fl); \
	SET(iommu_ioas_map, ioas_id, id); SET(iommu_ioas_map, user_va, va); SET(iommu_ioas_map, length, len); \
	SET(iommu_ioas_map, iova, iova_); } while (0)
	MAPB(RW | 8, ioas, BASE, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas, BASE, 0x1000, 0); SET(iommu_ioas_map, __reserved, 1); raw(sd, B, 0, 0, NULL);
	MAPB(RW | 8, ioas, BASE, 0x1000, UINT64_MAX); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas, BASE, 0x1000, UINT64_MAX); raw(sd, B, 0, 0, NULL);
	MAPB(RW | FIXED, ioas, BASE, 0x1000, UINT64_MAX); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas, BASE, UINT64_MAX, 0); raw(sd, B, 0, 0, NULL);
	MAPB(0, ioas, BASE, UINT64_MAX, 0); raw(sd, B, 0, 0, NULL);
	MAPB(0, 999, BASE, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(FIXED, ioas, BASE, 0x1000, 0x1000); raw(sd, B, 0, 0, NULL);
	MAPB(RW, 999, BASE, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, mock.hwpt, BASE, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas, BASE, 0, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas, BASE, UINT64_MAX - 1, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas, BASE, UINT64_MAX - 4096, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas, BASE, UINT64_MAX - 8192, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas, UINT64_MAX - 0xfff, 0x2000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas, UINT64_MAX - 0xfff, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW | FIXED, ioas, BASE, 0x1000, 0xfffffffffffff000ULL); raw(sd, B, 0, 0, NULL);
	MAPB(RW | FIXED, ioas, BASE, 0x1000, 0xffffffffffffe000ULL); raw(sd, B, 0, 0, NULL);
	MAPB(RW | FIXED, ioas, BASE, 0x2000, 0xfffffffffffff000ULL); raw(sd, B, 0, 0, NULL);
	MAPB(RW | FIXED, ioas, BASE, 0x1000, 0xfffffffffffff000ULL); raw(sd, B, 0, 0, NULL);
	MAPB(RW | FIXED, ioas, BASE, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW | FIXED, ioas, BASE, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	t_comment("with a mock domain: the VA must be mapped to be pinned");
	MAPB(RW, ioas2, BASE + 64 * MiB, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas2, 0x1000, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas2, BASE, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas2, BASE + 0x800, 0x800, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas2, BASE, 0x400, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW | FIXED, ioas2, BASE, 0x1000, 0x1000); raw(sd, B, 0, 0, NULL);
	MAPB(RW | FIXED, ioas2, BASE, 0x1000, 0x80000000); raw(sd, B, 0, 0, NULL);
	MAPB(RW | FIXED, ioas2, BASE, 0x1000, 0x2000400); raw(sd, B, 0, 0, NULL);
	t_comment("a read-only VA: pinning for write fails");
	MAPB(RW, ioas2, ROBUF, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(IOMMU_IOAS_MAP_READABLE, ioas2, ROBUF, 0x1000, 0); raw(sd, B, 0, 0, NULL);
	MAPB(RW, ioas, ROBUF, 0x1000, 0); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_IOAS_COPY");
	sd = sd_of(IOMMU_IOAS_COPY);
#define COPYB(fl, d, s, len, di, si) do { prep(sd, sd->size); SET(iommu_ioas_copy, flags, fl); \
	SET(iommu_ioas_copy, dst_ioas_id, d); SET(iommu_ioas_copy, src_ioas_id, s); SET(iommu_ioas_copy, length, len); \
	SET(iommu_ioas_copy, dst_iova, di); SET(iommu_ioas_copy, src_iova, si); } while (0)
	COPYB(RW | 16, ioas, ioas, 0x1000, 0, 0); raw(sd, B, 0, 0, NULL);
	COPYB(RW, ioas, ioas, UINT64_MAX, 0, 0); raw(sd, B, 0, 0, NULL);
	COPYB(RW, ioas, ioas, 0x1000, 0, UINT64_MAX); raw(sd, B, 0, 0, NULL);
	COPYB(RW, ioas, ioas, 0x1000, UINT64_MAX, 0); raw(sd, B, 0, 0, NULL);
	COPYB(0, ioas, ioas, 0x1000, 0, 0); raw(sd, B, 0, 0, NULL);
	COPYB(RW, ioas, 999, 0x1000, 0, 0); raw(sd, B, 0, 0, NULL);
	COPYB(RW, 999, ioas, 0x1000, 0, 0); raw(sd, B, 0, 0, NULL);
	COPYB(RW, ioas, ioas, 0, 0, 0); raw(sd, B, 0, 0, NULL);
	COPYB(RW, ioas, ioas, 0x2000, 0, UINT64_MAX - 0x1000); raw(sd, B, 0, 0, NULL);
	COPYB(RW, ioas, ioas, 0x1000, 0, 0); raw(sd, B, 0, 0, NULL);
	COPYB(RW, 999, ioas, 0x1000, 0, 0); raw(sd, B, 0, 0, NULL);
	COPYB(RW, ioas2, ioas, 0x1000, 0, 0); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_IOAS_UNMAP");
	sd = sd_of(IOMMU_IOAS_UNMAP);
	prep(sd, sd->size); SET(iommu_ioas_unmap, ioas_id, 999); SET(iommu_ioas_unmap, length, UINT64_MAX);
	raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_unmap, ioas_id, mock.hwpt); SET(iommu_ioas_unmap, length, 0x1000);
	raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_ioas_unmap, ioas_id, ioas); SET(iommu_ioas_unmap, iova, 0x1000);
	raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_OPTION");
	sd = sd_of(IOMMU_OPTION);
	prep(sd, sd->size); SET(iommu_option, option_id, IOMMU_OPTION_HUGE_PAGES);
	SET(iommu_option, op, IOMMU_OPTION_OP_GET); SET(iommu_option, object_id, ioas);
	SET(iommu_option, __reserved, 1); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_option, option_id, 7); SET(iommu_option, op, IOMMU_OPTION_OP_GET);
	raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_option, option_id, IOMMU_OPTION_HUGE_PAGES);
	SET(iommu_option, op, IOMMU_OPTION_OP_GET); SET(iommu_option, object_id, ioas);
	SET(iommu_option, val64, 77); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_option, option_id, IOMMU_OPTION_HUGE_PAGES);
	SET(iommu_option, op, 5); SET(iommu_option, object_id, ioas); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_option, option_id, IOMMU_OPTION_HUGE_PAGES);
	SET(iommu_option, op, 5); SET(iommu_option, object_id, 999); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_option, option_id, IOMMU_OPTION_RLIMIT_MODE);
	SET(iommu_option, op, 5); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_option, option_id, IOMMU_OPTION_RLIMIT_MODE);
	SET(iommu_option, op, IOMMU_OPTION_OP_GET); SET(iommu_option, object_id, ioas); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_option, option_id, IOMMU_OPTION_RLIMIT_MODE);
	SET(iommu_option, op, IOMMU_OPTION_OP_GET); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_VFIO_IOAS");
	sd = sd_of(IOMMU_VFIO_IOAS);
	prep(sd, sd->size); SET(iommu_vfio_ioas, op, IOMMU_VFIO_IOAS_SET); SET(iommu_vfio_ioas, ioas_id, ioas);
	SET(iommu_vfio_ioas, __reserved, 1); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_vfio_ioas, op, 3); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_vfio_ioas, op, IOMMU_VFIO_IOAS_SET); SET(iommu_vfio_ioas, ioas_id, mock.hwpt);
	raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_vfio_ioas, op, IOMMU_VFIO_IOAS_GET); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_GET_HW_INFO");
	sd = sd_of(IOMMU_GET_HW_INFO);
	prep(sd, sd->size); SET(iommu_hw_info, dev_id, mock.idev); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hw_info, dev_id, mock.idev); SET(iommu_hw_info, flags, 1); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hw_info, dev_id, mock.idev); B[offsetof(struct iommu_hw_info, __reserved) + 2] = 1;
	raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hw_info, dev_id, 999); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hw_info, dev_id, mock.stdev); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hw_info, dev_id, ioas); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hw_info, dev_id, mock.idev); SET(iommu_hw_info, data_len, 8); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hw_info, dev_id, mock.idev); SET(iommu_hw_info, out_data_type, 5);
	SET(iommu_hw_info, out_capabilities, 5); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->min); SET(iommu_hw_info, dev_id, mock.idev); raw(sd, B, 0, 0, NULL);
	t_comment("vendor data: copies min(data_len, 8) bytes, zero-fills the rest of data_len");
	t_hw_info(mock.idev, 0);
	t_hw_info(mock.idev, 4);
	t_hw_info(mock.idev, 8);
	t_hw_info(mock.idev, 12);
	t_hw_info(mock.idev, 16);
	prep(sd, 36); SET(iommu_hw_info, dev_id, mock.idev); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_HWPT_ALLOC");
	sd = sd_of(IOMMU_HWPT_ALLOC);
#define HWPTB(fl, dev, pt) do { prep(sd, sd->size); SET(iommu_hwpt_alloc, flags, fl); \
	SET(iommu_hwpt_alloc, dev_id, dev); SET(iommu_hwpt_alloc, pt_id, pt); } while (0)
	HWPTB(0, mock.idev, ioas); SET(iommu_hwpt_alloc, __reserved, 1); raw(sd, B, 0, 0, NULL);
	HWPTB(0, mock.idev, ioas); SET(iommu_hwpt_alloc, data_len, 4); raw(sd, B, 0, 0, NULL);
	HWPTB(0, mock.idev, ioas); SET(iommu_hwpt_alloc, data_type, IOMMU_HWPT_DATA_SELFTEST); raw(sd, B, 0, 0, NULL);
	HWPTB(0, 999, ioas); raw(sd, B, 0, 0, NULL);
	HWPTB(0, ioas, ioas); raw(sd, B, 0, 0, NULL);
	HWPTB(0, mock.idev, 999); raw(sd, B, 0, 0, NULL);
	HWPTB(0, mock.idev, mock.idev); raw(sd, B, 0, 0, NULL);
	HWPTB(0x100, mock.idev, ioas); raw(sd, B, 0, 0, NULL);
	HWPTB(IOMMU_HWPT_FAULT_ID_VALID, mock.idev, ioas); raw(sd, B, 0, 0, NULL);
	HWPTB(IOMMU_HWPT_FAULT_ID_VALID, mock.idev, ioas); SET(iommu_hwpt_alloc, fault_id, 999); raw(sd, B, 0, 0, NULL);
	HWPTB(0, mock.idev, ioas); SET(iommu_hwpt_alloc, __reserved2, 1); raw(sd, B, 0, 0, NULL);
	HWPTB(0, mock.idev, ioas); raw(sd, B, 0, 0, NULL);
	HWPTB(IOMMU_HWPT_ALLOC_NEST_PARENT, mock.idev, ioas); raw(sd, B, 0, 0, NULL);
	HWPTB(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, mock.idev, ioas); raw(sd, B, 0, 0, NULL);
	HWPTB(0, mock.idev, mock.hwpt); raw(sd, B, 0, 0, NULL);
	t_comment("on an IOAS whose areas fit the mock domain");
	HWPTB(0, mock.idev, ioas2); raw(sd, B, 0, 0, NULL);
	HWPTB(IOMMU_HWPT_ALLOC_NEST_PARENT, mock.idev, ioas2); raw(sd, B, 0, 0, NULL);
	HWPTB(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, mock.idev, ioas2); raw(sd, B, 0, 0, NULL);
	HWPTB(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING, mock.idev, ioas2);
	raw(sd, B, 0, 0, NULL);
	HWPTB(IOMMU_HWPT_FAULT_ID_VALID, mock.idev, ioas2); raw(sd, B, 0, 0, NULL);
	HWPTB(8, mock.idev, ioas2); raw(sd, B, 0, 0, NULL);
	nested_checks();
	prep(sd, sd->min); SET(iommu_hwpt_alloc, dev_id, mock.idev); SET(iommu_hwpt_alloc, pt_id, ioas);
	raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_HWPT_SET_DIRTY_TRACKING");
	sd = sd_of(IOMMU_HWPT_SET_DIRTY_TRACKING);
	prep(sd, sd->size); SET(iommu_hwpt_set_dirty_tracking, hwpt_id, mock.hwpt);
	SET(iommu_hwpt_set_dirty_tracking, flags, 2); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_set_dirty_tracking, hwpt_id, mock.hwpt);
	SET(iommu_hwpt_set_dirty_tracking, __reserved, 1); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_set_dirty_tracking, hwpt_id, 999); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_set_dirty_tracking, hwpt_id, ioas); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_set_dirty_tracking, hwpt_id, mock.hwpt); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_set_dirty_tracking, hwpt_id, mock.hwpt);
	SET(iommu_hwpt_set_dirty_tracking, flags, IOMMU_HWPT_DIRTY_TRACKING_ENABLE); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_HWPT_GET_DIRTY_BITMAP");
	sd = sd_of(IOMMU_HWPT_GET_DIRTY_BITMAP);
	prep(sd, sd->size); SET(iommu_hwpt_get_dirty_bitmap, hwpt_id, mock.hwpt);
	SET(iommu_hwpt_get_dirty_bitmap, flags, 2); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_get_dirty_bitmap, hwpt_id, mock.hwpt);
	SET(iommu_hwpt_get_dirty_bitmap, __reserved, 1); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_get_dirty_bitmap, hwpt_id, 999); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_get_dirty_bitmap, hwpt_id, ioas); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_get_dirty_bitmap, hwpt_id, mock.hwpt); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_get_dirty_bitmap, hwpt_id, mock.hwpt);
	SET(iommu_hwpt_get_dirty_bitmap, iova, UINT64_MAX); SET(iommu_hwpt_get_dirty_bitmap, length, 2);
	raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_HWPT_INVALIDATE");
	sd = sd_of(IOMMU_HWPT_INVALIDATE);
	prep(sd, sd->size); SET(iommu_hwpt_invalidate, hwpt_id, mock.hwpt);
	SET(iommu_hwpt_invalidate, __reserved, 1); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_invalidate, hwpt_id, mock.hwpt);
	SET(iommu_hwpt_invalidate, entry_num, 1); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_invalidate, hwpt_id, 999); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_invalidate, hwpt_id, mock.hwpt); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_hwpt_invalidate, hwpt_id, ioas); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_FAULT_QUEUE_ALLOC");
	sd = sd_of(IOMMU_FAULT_QUEUE_ALLOC);
	prep(sd, sd->size); SET(iommu_fault_alloc, flags, 1); raw(sd, B, 0, 0, NULL);

	t_comment("IOMMU_TEST_CMD");
	sd = sd_of(IOMMU_TEST_CMD);
	prep(sd, sd->size); SET(iommu_test_cmd, op, 99); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_test_cmd, op, IOMMU_TEST_OP_ADD_RESERVED); SET(iommu_test_cmd, id, ioas);
	SET(iommu_test_cmd, add_reserved.start, 0x5000); SET(iommu_test_cmd, add_reserved.length, 0x1000);
	SET(iommu_test_cmd, __reserved, 1); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_test_cmd, op, IOMMU_TEST_OP_ADD_RESERVED); SET(iommu_test_cmd, id, ioas);
	SET(iommu_test_cmd, add_reserved.start, 0x5000); SET(iommu_test_cmd, add_reserved.length, 0x1000);
	SET(iommu_test_cmd, last, 1); raw(sd, B, 0, 0, NULL);
	prep(sd, sd->min); SET(iommu_test_cmd, op, IOMMU_TEST_OP_ADD_RESERVED); SET(iommu_test_cmd, id, ioas);
	SET(iommu_test_cmd, add_reserved.start, 0x6000); SET(iommu_test_cmd, add_reserved.length, 0x1000);
	raw(sd, B, 0, 0, NULL);
	prep(sd, sd->size); SET(iommu_test_cmd, op, IOMMU_TEST_OP_ADD_RESERVED); SET(iommu_test_cmd, id, 999);
	SET(iommu_test_cmd, add_reserved.start, 0x5000); SET(iommu_test_cmd, add_reserved.length, 0x1000);
	raw(sd, B, 0, 0, NULL);
	t_iova_ranges(fd, ioas, 8, NULL, NULL);
}

/* ------------------------------------------------------------------ request numbers */

static void raw_cmd(unsigned long cmd, int null_arg)
{
	unsigned char b[64];
	long rc;
	char name[24];

	(void)b;
	memset((void *)BASE, 0, 64);
	*(u32 *)BASE = 16;
	rc = sys_ioctl(fd, cmd, null_arg ? NULL : (void *)BASE);
	snprintf(name, sizeof(name), "0x%lx", cmd);
	j_begin();
	j_str("step", "ioctl");
	j_fd("fd", fd);
	j_str("cmd", name);
	/* no struct: the raw argument is NULL or the address of the zeroed buffer */
	if (null_arg)
		j_num("arg", 0);
	else
		j_str("arg", "$buf");
	j_open("expect");
	if (rc < 0)
		j_str("errno", errno_name((int)-rc));
	else
		j_num("ret", (u64)rc);
	j_close();
	j_end();
}

static void request_numbers(void)
{
	unsigned long c;

	t_comment("request numbers without a command: holes of the table, past its end, VFIO range");
	t_comment("commands without a struct get the address of buf, whose first u32 (size) is 16");
	{
		j_begin();
		j_str("step", "write");
		j_str("addr", "$buf");
		j_str("hex", "10000000");
		j_end();
	}
	for (c = 0x3b8f; c <= 0x3b9f; c += 4)
		raw_cmd(c, 0);
	raw_cmd(0x3b9f, 0);
	raw_cmd(0x3b8f, 1);
	raw_cmd(0x3ba1, 0);
	raw_cmd(0x3bff, 0);
	raw_cmd(0x3b7f, 0);
	raw_cmd(0x3b00, 0);
	raw_cmd(0x3b63, 0);
	raw_cmd(0x3b73, 0);
	t_comment("same number, other type or direction/size bits");
	raw_cmd(0x3c80, 0);
	raw_cmd(0x4180, 0);
	raw_cmd(_IOW(';', 0x80, struct iommu_destroy), 0);
	raw_cmd(_IOWR(';', 0x81, struct iommu_ioas_alloc), 0);
	raw_cmd(_IOR(';', 0xa0, struct iommu_test_cmd), 0);
}

int main(void)
{
	unsigned i;

	t_header("oracle errno_edges: size rules and argument checks of every 6.12 /dev/iommu ioctl");
	fd = t_open("fd");
	t_mmap(BASE, 64 * MiB, "buf");
	{
		void *p = mmap((void *)(ROBUF), 1 * MiB, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		if (p == MAP_FAILED)
			exit(2);
		j_begin();
		j_str("step", "mmap");
		j_hexs("addr", ROBUF);
		j_num("length", 1 * MiB);
		j_str("prot", "r");
		j_str("as", "robuf");
		j_end();
		t_bufs[t_nbufs].addr = ROBUF;
		t_bufs[t_nbufs].len = 1 * MiB;
		strcpy(t_bufs[t_nbufs].name, "robuf");
		t_nbufs++;
	}
	t_ioas_alloc(fd, "ioas", &ioas);
	t_ioas_alloc(fd, "ioas2", &ioas2);
	t_mock_domain(fd, ioas2, "mock", &mock);

	for (i = 0; i < NS; i++)
		size_rules(&S[i]);
	cmd_checks();
	request_numbers();
	t_close(fd);
	fprintf(stderr, "errno_edges: %ld steps\n", t_steps);
	return 0;
}
