/*
 * ioas_random SEED: a seeded random sequence of IOAS calls on the real kernel, printed as a uiommu
 * scenario with the kernel's answers as expectations.
 *
 * The seed picks a configuration (mock domain attached from the start, attached later, or none;
 * IOMMU_OPTION_HUGE_PAGES off; IOMMU_IOAS_ALLOW_IOVAS ranges; IOMMU_TEST_OP_ADD_RESERVED holes; a
 * second IOAS for IOMMU_IOAS_COPY) and then a sequence of automatic and fixed IOAS_MAPs with
 * varied lengths and user_va alignments, IOAS_UNMAPs (exact, partial, several areas, everything),
 * IOAS_COPYs of sub-ranges and IOAS_IOVA_RANGES checks. The program keeps a model of the areas only
 * to choose interesting arguments; the kernel's answers are what the file records.
 *
 * Memory: user_va always lies in one anonymous mapping. With a mock domain the kernel pins what is
 * mapped, so lengths stay small then; without one the VA is never touched and lengths go to 64 MiB.
 */
#include "trace.h"

#define BASE 0x100000000000ULL /* 1 << 44: aligned far beyond 2 MiB, so offsets set the alignment */
#define KiB 1024ULL
#define MiB (1024ULL * KiB)
#define REGION (256 * MiB)
#define PAGE 4096ULL

struct area {
	u64 iova, len;
};

struct ioas_model {
	u32 id;
	struct area a[512];
	int n;
};

static struct ioas_model io1, io2;
static int fd;
static int domain_on;      /* a mock domain is attached to io1 */
static int small;          /* keep lengths small (domain now or later); fixed IOVAs in the aperture */
static struct t_mock mock;

/* ------------------------------------------------------------------ model */

static void model_add(struct ioas_model *m, u64 iova, u64 len)
{
	int i = m->n++;

	while (i > 0 && m->a[i - 1].iova > iova) {
		m->a[i] = m->a[i - 1];
		i--;
	}
	m->a[i].iova = iova;
	m->a[i].len = len;
}

static void model_del(struct ioas_model *m, int i)
{
	memmove(&m->a[i], &m->a[i + 1], sizeof(m->a[0]) * (m->n - i - 1));
	m->n--;
}

/* what the kernel's unmap loop removes for [start, last]: areas fully inside, in order, up to the
 * first area that sticks out */
static void model_unmap(struct ioas_model *m, u64 start, u64 last)
{
	int i = 0;

	while (i < m->n) {
		struct area *a = &m->a[i];
		u64 al = a->iova + a->len - 1;

		if (al < start || a->iova > last) {
			i++;
			continue;
		}
		if (a->iova < start || al > last)
			return;
		model_del(m, i);
	}
}

/* silent query of the IOAS alignment and usable ranges (read-only, not recorded) */
static u64 q_align(u32 ioas, struct iommu_iova_range *r, u32 *nr)
{
	struct iommu_iova_range buf[64];
	struct iommu_ioas_iova_ranges c = {
		.size = sizeof(c), .ioas_id = ioas, .num_iovas = 64, .allowed_iovas = (uintptr_t)buf,
	};

	if (sys_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &c) < 0) {
		fprintf(stderr, "iova_ranges failed\n");
		exit(2);
	}
	if (r)
		memcpy(r, buf, sizeof(buf[0]) * (c.num_iovas < 64 ? c.num_iovas : 64));
	if (nr)
		*nr = c.num_iovas;
	return c.out_iova_alignment;
}

static void ranges(u32 ioas)
{
	t_iova_ranges(fd, ioas, 8, NULL, NULL);
}

/* ------------------------------------------------------------------ argument choices */

static u64 pick_len(u64 align)
{
	static const u64 pages[] = { 1, 2, 3, 5, 7, 15, 16, 17, 31, 255, 256, 257, 511, 512, 513 };
	static const u64 big[] = { 64 * KiB, 5 * 64 * KiB, 2 * MiB, 3 * 2 * MiB, 7 * 2 * MiB,
				   16 * MiB, 31 * 2 * MiB, 64 * MiB, 33 * MiB };
	u64 len;
	int k = (int)rnd(10);

	if (k < 5)
		len = pages[rnd(sizeof(pages) / sizeof(pages[0]))] * PAGE;
	else if (k < 7)
		len = big[rnd(sizeof(big) / sizeof(big[0]))];
	else if (k < 8)
		len = (2 * rnd(64) + 1) * 2 * KiB; /* odd multiple of 2 KiB */
	else if (k < 9)
		len = (rnd(40) + 1) * PAGE + 2 * KiB;
	else
		len = rnd(3 * PAGE) + 1; /* any byte length */
	if (small && len > 4 * MiB)
		len = (rnd(4) + 1) * MiB;
	/* mostly keep it legal for the current alignment; sometimes not, to see EINVAL */
	if (align > 1 && (len & (align - 1)) && chance(80))
		len = (len + align - 1) & ~(align - 1);
	return len;
}

/* an offset into the region with a chosen alignment; the caller adds the length limit */
static u64 pick_off(u64 align, u64 len)
{
	u64 room = REGION - len, off;
	int k = (int)rnd(12);

	if (small && room > 48 * MiB)
		room = 48 * MiB;
	switch (k) {
	case 0:
		off = 0;
		break;
	case 1:
	case 2:
	case 3:
		off = (2 * rnd(room / (2 * PAGE)) + 1) * PAGE; /* exactly page aligned */
		break;
	case 4:
	case 5:
		off = (2 * rnd(room / (128 * KiB)) + 1) * 64 * KiB; /* exactly 64 KiB aligned */
		break;
	case 6:
	case 7:
		off = (2 * rnd(room / (4 * MiB)) + 1) * 2 * MiB; /* exactly 2 MiB aligned */
		break;
	case 8:
		off = rnd(room / MiB) * MiB + 4 * MiB; /* 1 MiB multiples */
		break;
	case 9:
	case 10:
		off = rnd(room / PAGE) * PAGE + 0x800; /* half page */
		break;
	default:
		off = rnd(room / PAGE) * PAGE + (rnd(PAGE / 16) * 16 + 8); /* unaligned inside a page */
		break;
	}
	if (off + len > REGION)
		off = REGION - len - (REGION - len) % PAGE;
	/* keep it legal mostly */
	if (align > 1 && (off & (align - 1)) && chance(75))
		off &= ~(align - 1);
	return off;
}

static const struct area *pick_area(struct ioas_model *m)
{
	return m->n ? &m->a[rnd(m->n)] : NULL;
}

/* ------------------------------------------------------------------ operations */

static void op_map_auto(void)
{
	u64 align = q_align(io1.id, NULL, NULL);
	u64 len = pick_len(align);
	u64 off = pick_off(align, len);
	u32 flags = chance(85) ? RW : (chance(50) ? IOMMU_IOAS_MAP_READABLE : IOMMU_IOAS_MAP_WRITEABLE);
	u64 iova;

	if (t_map(fd, io1.id, flags, BASE + off, len, 0, &iova) == 0)
		model_add(&io1, iova, len);
}

static void op_map_fixed(void)
{
	struct iommu_iova_range r[64];
	u32 nr;
	u64 align = q_align(io1.id, r, &nr);
	u64 len = pick_len(align);
	u64 off = pick_off(align, len);
	u64 iova = 0;
	const struct area *a;
	int k = (int)rnd(10);

	if (nr == 0)
		return;
	a = pick_area(&io1);
	if (k < 3 && a) {
		iova = a->iova + a->len; /* right after an area */
		iova = (iova + align - 1) & ~(align - 1);
	} else if (k < 5 && a) {
		iova = a->iova + rnd(a->len); /* overlaps an area */
		iova &= ~(align - 1);
	} else if (k < 6) {
		/* just below the start of a usable range (into a reserved hole) */
		const struct iommu_iova_range *rr = &r[rnd(nr < 64 ? nr : 64)];

		iova = rr->start >= len ? rr->start - (len & ~(align - 1)) : 0;
	} else if (k < 7) {
		iova = 0xfffffffffffff000ULL; /* iova + length wraps */
	} else {
		const struct iommu_iova_range *rr = &r[rnd(nr < 64 ? nr : 64)];
		u64 span = rr->last - rr->start;
		u64 lim = span > (1ULL << 34) ? (1ULL << 34) : span;

		iova = rr->start + rnd(lim);
		if (small && chance(80)) /* inside the mock aperture */
			iova = MOCK_APERTURE_START + rnd(MOCK_APERTURE_LAST - MOCK_APERTURE_START - 8 * MiB);
		iova &= ~(PAGE - 1);
		if (chance(50))
			iova &= ~(2 * MiB - 1);
		if (iova < rr->start)
			iova = rr->start;
		if (iova == 0)
			iova = PAGE;
	}
	/* fixed IOVA keeps the user_va page offset only if the caller wants; vary it */
	if (chance(20) && align > 1)
		iova += align / 2; /* misaligned */
	if (t_map(fd, io1.id, FIXED | RW, BASE + off, len, iova, NULL) == 0)
		model_add(&io1, iova, len);
}

static void op_unmap(void)
{
	const struct area *a = pick_area(&io1);
	u64 align = q_align(io1.id, NULL, NULL);
	u64 start, len, out;
	int k = (int)rnd(10);

	if (!a || k == 9) {
		if (chance(30)) {
			/* everything */
			if (t_unmap(fd, io1.id, 0, UINT64_MAX, &out) == 0)
				io1.n = 0;
			return;
		}
		/* a range that is likely empty */
		start = (rnd(1ULL << 36) + 1) & ~(PAGE - 1);
		len = PAGE * (rnd(16) + 1);
		if (t_unmap(fd, io1.id, start, len, &out) == 0)
			model_unmap(&io1, start, start + len - 1);
		return;
	}
	start = a->iova;
	len = a->len;
	if (k < 3) {
		/* exact */
	} else if (k < 5) {
		/* partial: a tail or a head of the area */
		u64 step = align > 1 ? align : PAGE;

		if (len > step) {
			if (chance(50))
				start += step;
			len -= step;
		} else {
			len += step; /* sticks out past the area */
		}
	} else if (k < 8) {
		/* from this area across the next few */
		int i = (int)(a - io1.a);
		int j = i + 1 + (int)rnd(4);

		if (j >= io1.n)
			j = io1.n - 1;
		len = io1.a[j].iova + io1.a[j].len - start;
		if (chance(30) && len > PAGE)
			len -= PAGE; /* the last one sticks out */
		if (chance(20) && start >= PAGE)
			start -= PAGE, len += PAGE; /* begins in a gap (or in the previous area) */
	} else {
		/* a superset of the area */
		u64 pre = rnd(4) * PAGE;

		if (start >= pre)
			start -= pre, len += pre;
		len += rnd(4) * PAGE;
	}
	/* a failed unmap may still have removed the areas before the one that sticks out */
	t_unmap(fd, io1.id, start, len, &out);
	model_unmap(&io1, start, start + len - 1);
}

static void op_copy(void)
{
	const struct area *a = pick_area(&io1);
	struct ioas_model *dst = chance(70) && io2.id ? &io2 : &io1;
	u64 dalign = q_align(dst->id, NULL, NULL);
	u64 sub, len, src, dst_iova = 0, out;
	u32 flags = chance(90) ? RW : IOMMU_IOAS_MAP_READABLE;
	int k = (int)rnd(10);

	if (!a)
		return;
	/* a sub-range of the area (possibly running into the following areas) */
	sub = a->len > PAGE ? rnd(a->len / PAGE) * PAGE : 0;
	if (chance(20) && dalign <= 2048 && a->len > sub + 2048)
		sub += 2048;
	src = a->iova + sub;
	len = a->len - sub;
	if (len > PAGE && chance(50))
		len = (rnd(len / PAGE) + 1) * PAGE;
	if (chance(15))
		len += PAGE * (rnd(3) + 1); /* runs past the end of the area */
	if (k < 3) {
		/* fixed destination: somewhere in the first usable range of dst */
		struct iommu_iova_range r[64];
		u32 nr;

		q_align(dst->id, r, &nr);
		if (nr) {
			dst_iova = (r[0].start + rnd(1ULL << 28)) & ~(64 * KiB - 1);
			if (dst_iova < r[0].start)
				dst_iova = r[0].start;
			if (dst_iova == 0)
				dst_iova = 64 * KiB;
		}
		flags |= FIXED;
	}
	if (t_copy(fd, dst->id, io1.id, flags, src, len, dst_iova, &out) == 0)
		model_add(dst, out, len);
}

static void op_reserve(void)
{
	const struct area *a = pick_area(&io1);
	u64 start, len;

	if (a && chance(40)) {
		start = a->iova + a->len / 2; /* hits an area: EADDRINUSE */
		len = PAGE;
	} else {
		start = (rnd(1ULL << 32) + PAGE) & ~(64 * KiB - 1);
		len = (rnd(64) + 1) * 64 * KiB;
	}
	t_add_reserved(fd, io1.id, start, len);
	ranges(io1.id);
}

static void op_allow(void)
{
	struct iommu_iova_range r[3];
	u32 n = (u32)rnd(4), i;
	u64 lo = domain_on ? MOCK_APERTURE_START : PAGE;

	for (i = 0; i < n; i++) {
		r[i].start = lo + (u64)i * 512 * MiB + rnd(64) * MiB;
		r[i].last = r[i].start + (rnd(128) + 64) * MiB - 1;
		if (domain_on && r[i].last > MOCK_APERTURE_LAST)
			r[i].last = MOCK_APERTURE_LAST;
	}
	t_allow_iovas(fd, io1.id, r, n);
}

static void op_huge_pages(void)
{
	u64 v;

	if (chance(30)) {
		t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, io1.id, 0, &v);
		return;
	}
	if (t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, io1.id, rnd(2), NULL) == 0)
		ranges(io1.id);
}

static void op_attach(void)
{
	if (domain_on) {
		if (t_destroy(fd, mock.stdev) == 0) {
			domain_on = 0;
			ranges(io1.id);
		}
		return;
	}
	if (t_mock_domain(fd, io1.id, "mock", &mock) == 0)
		domain_on = 1;
	ranges(io1.id);
}

int main(int argc, char **argv)
{
	u64 seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	int nsteps = argc > 2 ? atoi(argv[2]) : 60;
	int dom_mode, huge_off, allow, holes, second, attach_at = -1, detach_at = -1;
	char desc[256];
	int i;

	rng_seed(seed);
	dom_mode = (int)rnd(3); /* 0 none, 1 from the start, 2 attached later */
	huge_off = chance(25);
	allow = chance(30);
	holes = chance(50) ? (int)rnd(3) + 1 : 0;
	second = chance(60);
	small = dom_mode != 0;
	if (dom_mode == 2)
		attach_at = (int)rnd(nsteps / 2) + 3;
	if (dom_mode && chance(40))
		detach_at = nsteps - 1 - (int)rnd(nsteps / 4);

	snprintf(desc, sizeof(desc),
		 "oracle ioas_random seed %llu: domain=%s huge_pages=%s allow=%d holes=%d copy_ioas=%d",
		 (unsigned long long)seed, dom_mode == 0 ? "none" : dom_mode == 1 ? "start" : "later",
		 huge_off ? "off" : "on", allow, holes, second);
	t_header(desc);
	fd = t_open("fd");
	t_mmap(BASE, REGION, "buf");
	t_ioas_alloc(fd, "ioas", &io1.id);
	if (second)
		t_ioas_alloc(fd, "ioas2", &io2.id);
	ranges(io1.id);
	if (huge_off) {
		t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, io1.id, 0, NULL);
		ranges(io1.id);
	}
	if (allow) {
		domain_on = dom_mode != 0; /* keep allowed ranges inside the aperture if one comes */
		op_allow();
		domain_on = 0;
	}
	for (i = 0; i < holes; i++)
		op_reserve();
	if (dom_mode == 1)
		op_attach();

	for (i = 0; i < nsteps; i++) {
		int k = (int)rnd(100);

		if (i == attach_at && !domain_on)
			op_attach();
		if (i == attach_at + 10 && !domain_on && dom_mode == 2) {
			/* the first try may have failed on areas outside the aperture: clear and retry */
			t_unmap(fd, io1.id, 0, UINT64_MAX, NULL);
			io1.n = 0;
			op_attach();
		}
		if (i == detach_at && domain_on)
			op_attach();
		if (k < 36)
			op_map_auto();
		else if (k < 52)
			op_map_fixed();
		else if (k < 78)
			op_unmap();
		else if (k < 88)
			op_copy();
		else if (k < 92)
			t_iova_ranges(fd, io1.id, (u32)rnd(2), NULL, NULL);
		else if (k < 94)
			op_huge_pages();
		else if (k < 96)
			op_reserve();
		else if (k < 98)
			op_allow();
		else
			ranges(io1.id);
	}
	/* tear down explicitly so the end state is checked too */
	ranges(io1.id);
	t_unmap(fd, io1.id, 0, UINT64_MAX, NULL);
	if (second)
		t_unmap(fd, io2.id, 0, UINT64_MAX, NULL);
	if (domain_on)
		t_destroy(fd, mock.stdev);
	t_destroy(fd, io1.id);
	t_close(fd);
	fprintf(stderr, "seed %llu: %ld steps\n", (unsigned long long)seed, t_steps);
	return 0;
}
