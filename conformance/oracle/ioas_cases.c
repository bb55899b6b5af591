/*
 * ioas_cases CASE: hand-picked IOAS sequences on the real kernel, printed as uiommu scenarios with
 * the kernel's answers as expectations. CASE is one of:
 *   auto-align     automatic IOVA choice for a matrix of lengths and user_va alignments, with no
 *                  domain, with IOMMU_OPTION_HUGE_PAGES off and with a mock domain
 *   unmap          IOAS_UNMAP semantics: exact, partial, several areas, areas sticking out, all
 *   copy           IOAS_COPY of sub-ranges, across areas, into other IOASes and alignments
 *   allow-reserve  IOAS_ALLOW_IOVAS and IOMMU_TEST_OP_ADD_RESERVED against maps and each other
 *   domain         mock domain attach/detach: aperture, 2 KiB alignment, pinning checks
 *   option         IOMMU_OPTION HUGE_PAGES and RLIMIT_MODE
 *   ids            object ids, DESTROY and EBUSY
 */
#include "trace.h"

#define BASE 0x100000000000ULL
#define KiB 1024ULL
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define PAGE 4096ULL
#define R IOMMU_IOAS_MAP_READABLE
#define W IOMMU_IOAS_MAP_WRITEABLE

static int fd;

static void ranges(u32 ioas)
{
	t_iova_ranges(fd, ioas, 8, NULL, NULL);
}

/* ------------------------------------------------------------------ auto-align */

static void auto_matrix(u32 ioas, u64 buf, u64 max_len, u64 min_align)
{
	static const u64 lens[] = { 1, 0x10, 0x800, 0x1000, 0x1800, 0x3000, 0x10000, 0x30000,
				    0x100000, 0x200000, 0x300000, 0x400000, 0x1000000, 0x4000000 };
	static const u64 offs[] = { 0, 0x8, 0x10, 0x400, 0x800, 0xff0, 0x1000, 0x1800, 0x3000,
				    0x10000, 0x30000, 0x100000, 0x200000, 0x600000, 0x40000000 };
	unsigned i, j;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		if (lens[i] > max_len)
			continue;
		for (j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			u64 iova;

			if (min_align > 1 && ((lens[i] | offs[j]) & (min_align - 1)) &&
			    (i + j) % 4) /* only some of the certain-EINVAL ones */
				continue;
			if (t_map(fd, ioas, RW, buf + offs[j], lens[i], 0, &iova) == 0)
				t_unmap(fd, ioas, iova, lens[i], NULL);
		}
	}
}

static void case_auto_align(void)
{
	u32 a, b, c;
	u64 buf, iova;
	int i;

	t_header("oracle ioas_cases auto-align: automatic IOVA choice by length and user_va alignment");
	fd = t_open("fd");
	buf = t_mmap(BASE, 2 * GiB, "buf");
	t_ioas_alloc(fd, "ioas", &a);

	t_comment("each map alone in an empty IOAS (no domain: alignment 1)");
	auto_matrix(a, buf, 64 * MiB, 1);
	t_comment("user_va 0 (never mapped; no domain so the VA is not touched)");
	t_map(fd, a, RW, 0, 0x3000, 0, &iova);
	t_map(fd, a, RW, 0, 0x200000, 0, &iova);
	t_map(fd, a, RW, 0, 0x5000, 0, &iova);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);
	t_comment("packing: maps accumulate, first fit from PAGE_SIZE");
	for (i = 0; i < 12; i++) {
		static const u64 l[] = { 0x1000, 0x800, 0x3000, 0x200000, 0x10, 0x5000,
					 0x1000, 0x400000, 0x800, 0x1, 0x7000, 0x100000 };
		static const u64 o[] = { 0x1000, 0x800, 0x0, 0x200000, 0x8, 0x3000,
					 0x10000, 0x0, 0x1800, 0x123, 0x1000, 0x100000 };
		t_map(fd, a, RW, buf + o[i], l[i], 0, NULL);
	}
	ranges(a);
	t_comment("holes left by unmaps are reused first-fit");
	t_unmap(fd, a, 0x200000, 0x200000, NULL);
	t_map(fd, a, RW, buf + 0x1000, 0x1000, 0, NULL);
	t_map(fd, a, RW, buf + 0x200000, 0x100000, 0, NULL);
	t_map(fd, a, RW, buf, 0x100000, 0, NULL);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);
	t_comment("length >= ULONG_MAX/2 cannot be auto-allocated");
	t_map(fd, a, RW, buf, 1ULL << 63, 0, NULL);
	t_map(fd, a, RW, buf, (1ULL << 63) - PAGE, 0, NULL);
	t_map(fd, a, RW, 0, (1ULL << 62), 0, NULL);
	t_map(fd, a, RW, 0, (1ULL << 62), 0, NULL);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);

	t_comment("HUGE_PAGES off: alignment PAGE_SIZE");
	t_ioas_alloc(fd, "ioas_nohuge", &b);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, b, 0, NULL);
	ranges(b);
	auto_matrix(b, buf, 64 * MiB, PAGE);

	t_comment("mock domain: aperture [1<<24, (1<<31)-1], alignment 2 KiB");
	t_ioas_alloc(fd, "ioas_dom", &c);
	t_mock_domain(fd, c, "mock", NULL);
	ranges(c);
	auto_matrix(c, buf, 4 * MiB, 2048);
	t_comment("packing with a domain");
	for (i = 0; i < 8; i++) {
		static const u64 l[] = { 0x800, 0x1000, 0x3000, 0x200000, 0x800, 0x1800, 0x100000, 0x1000 };
		static const u64 o[] = { 0x800, 0x0, 0x1000, 0x200000, 0x1800, 0x800, 0x300000, 0x3000 };
		t_map(fd, c, RW, buf + o[i], l[i], 0, NULL);
	}
	t_comment("fill the aperture up to ENOSPC with 256 MiB sparse... too much to pin; use allowed");
	{
		struct iommu_iova_range r = { .start = 0x40000000, .last = 0x40000000 + 0x7fff };

		t_allow_iovas(fd, c, &r, 1);
		t_map(fd, c, RW, buf, 0x4000, 0, NULL);
		t_map(fd, c, RW, buf + 0x800, 0x2000, 0, NULL);
		t_map(fd, c, RW, buf, 0x2000, 0, NULL);
		t_map(fd, c, RW, buf, 0x800, 0, NULL);
		t_map(fd, c, RW, buf + 0x1800, 0x800, 0, NULL);
		t_map(fd, c, RW, buf + 0x1800, 0x800, 0, NULL);
	}
	t_unmap(fd, c, 0, UINT64_MAX, NULL);
	t_close(fd);
}

/* ------------------------------------------------------------------ unmap */

static void case_unmap(void)
{
	u32 a;
	u64 buf;
	int i;

	t_header("oracle ioas_cases unmap: IOAS_UNMAP semantics");
	fd = t_open("fd");
	buf = t_mmap(BASE, 64 * MiB, "buf");
	t_ioas_alloc(fd, "ioas", &a);

	t_comment("empty IOAS: unmap-all succeeds with length 0, a range is ENOENT");
	t_unmap(fd, a, 0, UINT64_MAX, NULL);
	t_unmap(fd, a, 0x100000, 0x1000, NULL);
	t_comment("argument checks");
	t_unmap(fd, a, 0x100000, 0, NULL);
	t_unmap(fd, a, UINT64_MAX, 1, NULL);
	t_unmap(fd, a, 0x1000, UINT64_MAX, NULL);
	t_unmap(fd, a, 0xfffffffffffff000ULL, 0x2000, NULL);
	t_unmap(fd, a, 0, UINT64_MAX - 1, NULL);
	t_unmap(fd, 99, 0x1000, 0x1000, NULL);
	t_unmap(fd, 99, UINT64_MAX, 1, NULL);

	t_comment("five areas: 1M..1M+16K, +16K..+32K (adjacent), a gap, 2M.., 3M..");
	t_map(fd, a, FIXED | RW, buf, 0x4000, 0x100000, NULL);
	t_map(fd, a, FIXED | RW, buf + 0x4000, 0x4000, 0x104000, NULL);
	t_map(fd, a, FIXED | RW, buf + 0x8000, 0x4000, 0x10c000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x100000, 0x200000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x100000, 0x300000, NULL);
	t_comment("partial: head, tail, middle, one byte, sticking out either side");
	t_unmap(fd, a, 0x100000, 0x1000, NULL);
	t_unmap(fd, a, 0x103000, 0x1000, NULL);
	t_unmap(fd, a, 0x101000, 0x1000, NULL);
	t_unmap(fd, a, 0x100000, 1, NULL);
	t_unmap(fd, a, 0xff000, 0x4000, NULL);
	t_unmap(fd, a, 0x100000, 0x5000, NULL);
	t_comment("the areas are all still there");
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x100000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x103000, NULL);
	t_comment("a range in a gap");
	t_unmap(fd, a, 0x108000, 0x4000, NULL);
	t_unmap(fd, a, 0x110000, 0xf0000, NULL);
	t_comment("a superset of two adjacent areas and the gap after them");
	t_unmap(fd, a, 0xf0000, 0x1c000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x8000, 0x100000, NULL);
	t_comment("first areas fully covered, the last sticks out: ENOENT, but the covered ones are gone");
	t_unmap(fd, a, 0x100000, 0x280000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x8000, 0x100000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x4000, 0x10c000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x200000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x2ff000, NULL);
	t_comment("the first area sticks out: nothing removed");
	t_unmap(fd, a, 0x2ff800, 0x200000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x300000, NULL);
	t_comment("exact and superset of one area");
	t_unmap(fd, a, 0x200000, 0x100000, NULL);
	t_unmap(fd, a, 0x200000, 0x100000, NULL);
	t_unmap(fd, a, 0x2fe000, 0x104000, NULL);
	t_unmap(fd, a, 0x300000, 0x100000, NULL);
	t_comment("many areas, unmap all reports the total length");
	for (i = 0; i < 20; i++)
		t_map(fd, a, RW, buf + (u64)i * 0x11000, 0x1000 * (i + 1), 0, NULL);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);
	t_comment("byte-granular areas without a domain");
	t_map(fd, a, FIXED | RW, buf + 3, 5, 0x1003, NULL);
	t_map(fd, a, FIXED | RW, buf + 8, 0x1000, 0x1008, NULL);
	t_unmap(fd, a, 0x1003, 4, NULL);
	t_unmap(fd, a, 0x1000, 0x2000, NULL);
	t_comment("unmap with length U64_MAX but iova != 0");
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x1000, NULL);
	t_unmap(fd, a, 0x1000, UINT64_MAX, NULL);
	t_unmap(fd, a, 0x1000, UINT64_MAX - 0x1000, NULL);
	t_unmap(fd, a, 1, UINT64_MAX - 1, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x1000, NULL);
	t_unmap(fd, a, 0, UINT64_MAX - 1, NULL);

	t_comment("with a mock domain: pages pinned; the same rules");
	{
		u32 d;

		t_ioas_alloc(fd, "ioas_dom", &d);
		t_mock_domain(fd, d, "mock", NULL);
		t_map(fd, d, FIXED | RW, buf + 0x800, 0x1800, 0x1000000, NULL);
		t_map(fd, d, FIXED | RW, buf + 0x2000, 0x800, 0x1001800, NULL);
		t_unmap(fd, d, 0x1000000, 0x800, NULL);
		t_unmap(fd, d, 0x1000800, 0x1000, NULL);
		t_unmap(fd, d, 0x1000000, 0x1800, NULL);
		t_unmap(fd, d, 0x1001800, 0x800, NULL);
		t_unmap(fd, d, 0, UINT64_MAX, NULL);
	}
	t_close(fd);
}

/* ------------------------------------------------------------------ copy */

static void case_copy(void)
{
	u32 src, dst, dom, nohuge, ro_ioas;
	u64 buf, iova;

	t_header("oracle ioas_cases copy: IOAS_COPY sub-ranges");
	fd = t_open("fd");
	buf = t_mmap(BASE, 64 * MiB, "buf");
	t_ioas_alloc(fd, "src", &src);
	t_ioas_alloc(fd, "dst", &dst);

	t_comment("source: A [1M, +64K) and B [1M+64K, +64K) adjacent (different VAs), C at 4M, D read-only");
	t_map(fd, src, FIXED | RW, buf + 0x200000, 0x10000, 0x100000, NULL);
	t_map(fd, src, FIXED | RW, buf + 0x800000, 0x10000, 0x110000, NULL);
	t_map(fd, src, FIXED | RW, buf + 0x1800, 0x20000, 0x400000, NULL);
	t_map(fd, src, FIXED | R, buf + 0x400000, 0x10000, 0x600000, NULL);

	t_comment("sub-ranges of A, automatic destination: alignment follows the source VA");
	t_copy(fd, dst, src, RW, 0x100000, 0x10000, 0, NULL);
	t_copy(fd, dst, src, RW, 0x101000, 0x3000, 0, NULL);
	t_copy(fd, dst, src, RW, 0x108000, 0x8000, 0, NULL);
	t_copy(fd, dst, src, RW, 0x100800, 0x800, 0, NULL);
	t_copy(fd, dst, src, RW, 0x100123, 0x10, 0, NULL);
	t_comment("spanning A and B (contiguous IOVA, two page sets)");
	t_copy(fd, dst, src, RW, 0x10f000, 0x2000, 0, NULL);
	t_copy(fd, dst, src, RW, 0x100000, 0x20000, 0, NULL);
	t_comment("C has page offset 0x800");
	t_copy(fd, dst, src, RW, 0x400000, 0x20000, 0, NULL);
	t_copy(fd, dst, src, RW, 0x401800, 0x1000, 0, NULL);
	t_comment("not covered: past B, into the gap, from the gap, empty");
	t_copy(fd, dst, src, RW, 0x118000, 0x10000, 0, NULL);
	t_copy(fd, dst, src, RW, 0x120000, 0x1000, 0, NULL);
	t_copy(fd, dst, src, RW, 0xff000, 0x2000, 0, NULL);
	t_copy(fd, dst, src, RW, 0x100000, 0, 0, NULL);
	t_comment("fixed destinations: free, overlapping, misaligned to nothing (alignment 1)");
	t_copy(fd, dst, src, FIXED | RW, 0x100000, 0x4000, 0x40000000, NULL);
	t_copy(fd, dst, src, FIXED | RW, 0x100000, 0x4000, 0x40002000, NULL);
	t_copy(fd, dst, src, FIXED | RW, 0x100000, 0x4000, 0x40004001, NULL);
	t_copy(fd, dst, src, FIXED | RW, 0x100000, 0x4000, 0xfffffffffffff000ULL, NULL);
	t_comment("permissions: writeable copy of a read-only area");
	t_copy(fd, dst, src, RW, 0x600000, 0x1000, 0, NULL);
	t_copy(fd, dst, src, R, 0x600000, 0x1000, 0, NULL);
	t_copy(fd, dst, src, W, 0x600000, 0x1000, 0, NULL);
	t_comment("flags and ids");
	t_copy(fd, dst, src, 0, 0x100000, 0x1000, 0, NULL);
	t_copy(fd, dst, src, FIXED, 0x100000, 0x1000, 0x50000000, NULL);
	t_copy(fd, dst, src, RW | 8, 0x100000, 0x1000, 0, NULL);
	t_copy(fd, dst, 99, RW, 0x100000, 0x1000, 0, NULL);
	t_copy(fd, 99, src, RW, 0x100000, 0x1000, 0, NULL);
	t_copy(fd, 99, src, RW, 0x300000, 0x1000, 0, NULL);
	t_copy(fd, dst, src, RW, UINT64_MAX, 0x1000, 0, NULL);
	t_copy(fd, dst, src, RW, 0x100000, UINT64_MAX, 0, NULL);
	t_copy(fd, dst, src, FIXED | RW, 0x100000, 0x1000, UINT64_MAX, NULL);
	t_copy(fd, dst, src, RW, 0xfffffffffffff000ULL, 0x2000, 0, NULL);
	t_comment("copy into the same IOAS");
	t_copy(fd, src, src, RW, 0x100000, 0x20000, 0, &iova);
	t_copy(fd, src, src, FIXED | RW, 0x100000, 0x20000, 0x100000, NULL);
	t_comment("the copies outlive the source areas");
	t_unmap(fd, src, 0x100000, 0x20000, NULL);
	t_copy(fd, dst, src, RW, 0x100000, 0x1000, 0, NULL);
	t_copy(fd, dst, src, RW, iova, 0x20000, 0, NULL);
	ranges(dst);

	t_comment("into an IOAS with HUGE_PAGES off (alignment 4K): the 0x800 page offset of C fails");
	t_ioas_alloc(fd, "nohuge", &nohuge);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, nohuge, 0, NULL);
	t_copy(fd, nohuge, src, RW, 0x400000, 0x20000, 0, NULL);
	t_copy(fd, nohuge, src, RW, 0x400800, 0x1000, 0, NULL);
	t_copy(fd, nohuge, src, RW, 0x401000, 0x1000, 0, NULL);
	t_copy(fd, nohuge, src, RW, 0x400800, 0x1800, 0, NULL);
	t_copy(fd, nohuge, src, FIXED | RW, 0x400800, 0x1000, 0x2000000, NULL);

	t_comment("into an IOAS with a mock domain (pins; alignment 2K; aperture)");
	t_ioas_alloc(fd, "dom", &dom);
	t_mock_domain(fd, dom, "mock", NULL);
	t_copy(fd, dom, src, RW, 0x400000, 0x20000, 0, NULL);
	t_copy(fd, dom, src, RW, 0x400800, 0x800, 0, NULL);
	t_copy(fd, dom, src, RW, 0x400400, 0x800, 0, NULL);
	t_copy(fd, dom, src, RW, 0x400800, 0x400, 0, NULL);
	t_copy(fd, dom, src, FIXED | RW, 0x400000, 0x1000, 0x100000, NULL);
	t_copy(fd, dom, src, FIXED | RW, 0x400000, 0x1000, 0x2000000, NULL);
	t_copy(fd, dom, src, FIXED | RW, 0x400000, 0x1000, 0x2000800, NULL);
	ranges(dom);
	t_comment("from the domain IOAS back to a plain one");
	t_ioas_alloc(fd, "ro", &ro_ioas);
	t_copy(fd, ro_ioas, dom, R, 0x1000000, 0x1000, 0, NULL);
	t_unmap(fd, dom, 0, UINT64_MAX, NULL);
	t_unmap(fd, dst, 0, UINT64_MAX, NULL);
	t_unmap(fd, ro_ioas, 0, UINT64_MAX, NULL);
	t_close(fd);
}

/* ------------------------------------------------------------------ allow-reserve */

static void case_allow_reserve(void)
{
	u32 a, b;
	u64 buf;
	struct iommu_iova_range r[4];

	t_header("oracle ioas_cases allow-reserve: ALLOW_IOVAS and reserved ranges");
	fd = t_open("fd");
	buf = t_mmap(BASE, 64 * MiB, "buf");
	t_ioas_alloc(fd, "ioas", &a);

	t_comment("allowed ranges restrict automatic IOVAs only");
	r[0] = (struct iommu_iova_range){ .start = 0x10000000, .last = 0x1000ffff };
	r[1] = (struct iommu_iova_range){ .start = 0x20000000, .last = 0x200fffff };
	t_allow_iovas(fd, a, r, 2);
	ranges(a);
	t_map(fd, a, RW, buf, 0x8000, 0, NULL);
	t_map(fd, a, RW, buf, 0x8000, 0, NULL);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	t_map(fd, a, RW, buf + 0x200000, 0x40000, 0, NULL);
	t_map(fd, a, RW, buf + 0x200000, 0x100000, 0, NULL);
	t_map(fd, a, RW, buf + 0x200000, 0x80000, 0, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x5000, NULL);
	t_comment("replacing the list: an area outside the new list is fine");
	r[0] = (struct iommu_iova_range){ .start = 0x30000000, .last = 0x3000ffff };
	t_allow_iovas(fd, a, r, 1);
	t_map(fd, a, RW, buf, 0x8000, 0, NULL);
	t_comment("bad lists: start == last, start > last, overlapping");
	r[0] = (struct iommu_iova_range){ .start = 0x1000, .last = 0x1000 };
	t_allow_iovas(fd, a, r, 1);
	r[0] = (struct iommu_iova_range){ .start = 0x2000, .last = 0x1000 };
	t_allow_iovas(fd, a, r, 1);
	r[0] = (struct iommu_iova_range){ .start = 0x1000, .last = 0x2fff };
	r[1] = (struct iommu_iova_range){ .start = 0x2000, .last = 0x4fff };
	t_allow_iovas(fd, a, r, 2);
	t_comment("the failed calls left the previous list: auto still lands in 0x30000000..");
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	t_comment("touching ranges are fine");
	r[1] = (struct iommu_iova_range){ .start = 0x3000, .last = 0x4fff };
	t_allow_iovas(fd, a, r, 2);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	t_map(fd, a, RW, buf, 0x3000, 0, NULL);
	r[0] = (struct iommu_iova_range){ .start = 0, .last = 0xfff };
	t_allow_iovas(fd, a, r, 1);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	r[0] = (struct iommu_iova_range){ .start = 0, .last = 0x1fff };
	t_allow_iovas(fd, a, r, 1);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	r[0] = (struct iommu_iova_range){ .start = 0xffffffffffff0000ULL, .last = UINT64_MAX };
	t_allow_iovas(fd, a, r, 1);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	t_comment("empty list: no restriction again");
	t_allow_iovas(fd, a, r, 0);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	t_comment("bad ids and reserved field");
	t_allow_iovas(fd, 99, r, 0);
	ranges(a);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);

	t_comment("reserved ranges: visible in IOVA_RANGES, block fixed maps, skipped by auto");
	t_add_reserved(fd, a, 0x1000, 0x3000);
	t_add_reserved(fd, a, 0x10000, 0x10000);
	t_add_reserved(fd, a, 0x8000, 1);
	ranges(a);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x1000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x3fff, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x4000, NULL);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	t_map(fd, a, RW, buf, 0x4000, 0, NULL);
	t_map(fd, a, RW, buf, 0x10000, 0, NULL);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	t_comment("reserving over an area, over each other, zero length, wrapping");
	t_add_reserved(fd, a, 0x5000, 0x1000);
	t_add_reserved(fd, a, 0x2000, 0x1000);
	t_add_reserved(fd, a, 0x1000, 0x4000);
	t_add_reserved(fd, a, 0x100000, 0);
	t_add_reserved(fd, a, 0xfffffffffffff000ULL, 0x2000);
	t_add_reserved(fd, a, 0xfffffffffffff000ULL, 0x1000);
	t_add_reserved(fd, 99, 0x100000, 0x1000);
	ranges(a);
	t_comment("allowed ranges may not intersect reserved ones, and the other way round");
	r[0] = (struct iommu_iova_range){ .start = 0x1000, .last = 0x1fff };
	t_allow_iovas(fd, a, r, 1);
	r[0] = (struct iommu_iova_range){ .start = 0x200000, .last = 0x2fffff };
	t_allow_iovas(fd, a, r, 1);
	t_add_reserved(fd, a, 0x280000, 0x1000);
	t_add_reserved(fd, a, 0x300000, 0x1000);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	ranges(a);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);

	t_comment("a mock domain reserves outside its aperture: conflicts with allowed ranges and areas");
	t_ioas_alloc(fd, "ioas2", &b);
	r[0] = (struct iommu_iova_range){ .start = 0x100000, .last = 0x1ffffff };
	t_allow_iovas(fd, b, r, 1);
	t_mock_domain(fd, b, "mock_fail", NULL);
	r[0] = (struct iommu_iova_range){ .start = 0x1000000, .last = 0x1ffffff };
	t_allow_iovas(fd, b, r, 1);
	t_map(fd, b, FIXED | RW, buf, 0x1000, 0x800000, NULL);
	t_mock_domain(fd, b, "mock_fail", NULL);
	t_unmap(fd, b, 0, UINT64_MAX, NULL);
	t_map(fd, b, FIXED | RW, buf, 0x1000, 0x80000000, NULL);
	t_mock_domain(fd, b, "mock_fail", NULL);
	t_unmap(fd, b, 0, UINT64_MAX, NULL);
	t_map(fd, b, FIXED | RW, buf, 0x1000, 0x1000000, NULL);
	t_mock_domain(fd, b, "mock", NULL);
	ranges(b);
	t_comment("now allowed ranges outside the aperture are refused");
	r[0] = (struct iommu_iova_range){ .start = 0x100000, .last = 0x1ffffff };
	t_allow_iovas(fd, b, r, 1);
	r[0] = (struct iommu_iova_range){ .start = 0x1000000, .last = 0x7fffffff };
	t_allow_iovas(fd, b, r, 1);
	r[0] = (struct iommu_iova_range){ .start = 0x1000000, .last = 0x80000000 };
	t_allow_iovas(fd, b, r, 1);
	t_map(fd, b, RW, buf, 0x1000, 0, NULL);
	t_add_reserved(fd, b, 0x1000000, 0x1000);
	t_add_reserved(fd, b, 0x0, 0x1000);
	ranges(b);
	t_close(fd);
}

/* ------------------------------------------------------------------ domain */

static void case_domain(void)
{
	u32 a, b, h;
	u64 buf;
	struct t_mock m1, m2, m3;

	t_header("oracle ioas_cases domain: mock domain attach and detach");
	fd = t_open("fd");
	buf = t_mmap(BASE, 64 * MiB, "buf");
	t_ioas_alloc(fd, "ioas", &a);
	ranges(a);
	t_comment("areas at byte granularity block the attach (2 KiB alignment)");
	t_map(fd, a, FIXED | RW, buf + 0x10, 0x1000, 0x1000000, NULL);
	t_mock_domain(fd, a, "mock_fail", NULL);
	ranges(a);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1400, 0x1000000, NULL);
	t_mock_domain(fd, a, "mock_fail", NULL);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x1000400, NULL);
	t_mock_domain(fd, a, "mock_fail", NULL);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);
	t_comment("2 KiB aligned areas inside the aperture are fine; the attach pins them");
	t_map(fd, a, FIXED | RW, buf + 0x800, 0x1800, 0x1000800, NULL);
	t_map(fd, a, FIXED | RW, buf + 0x200000, 0x200000, 0x4000000, NULL);
	t_mock_domain(fd, a, "mock", &m1);
	ranges(a);
	t_comment("alignment 2 KiB now");
	t_map(fd, a, RW, buf + 0x400, 0x800, 0, NULL);
	t_map(fd, a, RW, buf + 0x800, 0x400, 0, NULL);
	t_map(fd, a, RW, buf + 0x800, 0x800, 0, NULL);
	t_map(fd, a, FIXED | RW, buf + 0x800, 0x800, 0x2000400, NULL);
	t_map(fd, a, FIXED | RW, buf + 0x400, 0x800, 0x2000800, NULL);
	t_map(fd, a, FIXED | RW, buf + 0x800, 0x800, 0x2000800, NULL);
	t_map(fd, a, FIXED | RW, buf + 0x1000, 0x800, 0x2001800, NULL);
	t_comment("outside the aperture");
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0xfff000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x7ffff000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x2000, 0x7ffff000, NULL);
	t_map(fd, a, FIXED | RW, buf, 0x1000, 0x80000000, NULL);
	t_comment("a second device on the same IOAS shares the domain");
	t_mock_domain(fd, a, "mock2", &m2);
	ranges(a);
	t_comment("a device on a HWPT id");
	t_mock_domain(fd, m1.hwpt, "mock3", &m3);
	t_comment("destroying objects in use");
	t_destroy(fd, a);
	t_destroy(fd, m1.hwpt);
	t_destroy(fd, m1.idev);
	t_comment("detach the devices one by one: aperture and alignment go with the last");
	t_destroy(fd, m2.stdev);
	ranges(a);
	t_destroy(fd, m1.stdev);
	ranges(a);
	t_destroy(fd, m1.hwpt);
	t_destroy(fd, m3.stdev);
	ranges(a);
	t_destroy(fd, m1.hwpt);
	t_map(fd, a, RW, buf + 0x10, 0x10, 0, NULL);
	t_comment("areas pinned while attached keep working after detach");
	t_unmap(fd, a, 0, UINT64_MAX, NULL);

	t_comment("HUGE_PAGES off with a domain: alignment PAGE_SIZE");
	t_ioas_alloc(fd, "ioas2", &b);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, b, 0, NULL);
	t_mock_domain(fd, b, "mockb", NULL);
	ranges(b);
	t_map(fd, b, RW, buf + 0x800, 0x1000, 0, NULL);
	t_map(fd, b, RW, buf, 0x1800, 0, NULL);
	t_map(fd, b, RW, buf, 0x1000, 0, NULL);
	t_comment("with areas present and a domain, HUGE_PAGES cannot be turned off again; on is fine");
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, b, 1, NULL);
	ranges(b);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, b, 0, NULL);
	t_unmap(fd, b, 0, UINT64_MAX, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, b, 0, NULL);
	ranges(b);

	t_comment("MOCK_DOMAIN on missing or wrong ids");
	t_mock_domain(fd, 99, "mock_fail", NULL);
	h = 0;
	t_mock_domain(fd, h, "mock_fail", NULL);
	t_close(fd);
}

/* ------------------------------------------------------------------ option */

static void case_option(void)
{
	u32 a;
	u64 buf;
	int fd2;
	struct t_mock m;

	t_header("oracle ioas_cases option: IOMMU_OPTION");
	fd = t_open("fd");
	buf = t_mmap(BASE, 64 * MiB, "buf");
	t_comment("RLIMIT_MODE on an empty context");
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0, NULL);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 2, NULL);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1, NULL);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0, NULL);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 0, NULL);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0, NULL);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 1, 0, NULL);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, 2, 0, 0, NULL);
	t_option(fd, 2, IOMMU_OPTION_OP_GET, 0, 0, NULL);
	t_ioas_alloc(fd, "ioas", &a);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1, NULL);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 5, NULL);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0, NULL);
	t_comment("a second open file has its own setting");
	fd2 = t_open("fd2");
	t_option(fd2, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1, NULL);
	t_option(fd2, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0, NULL);
	t_option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0, NULL);
	t_close(fd2);

	t_comment("HUGE_PAGES: per IOAS");
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, a, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 0, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 99, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, a, 2, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, 2, a, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, a, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, a, 0, NULL);
	ranges(a);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, a, 0, NULL);
	t_map(fd, a, RW, buf + 0x800, 0x1000, 0, NULL);
	t_map(fd, a, RW, buf, 0x800, 0, NULL);
	t_map(fd, a, RW, buf + 0x1000, 0x3000, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, a, 1, NULL);
	ranges(a);
	t_comment("unaligned areas block turning it off (no domain)");
	t_map(fd, a, RW, buf + 0x800, 0x800, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, a, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, a, 0, NULL);
	ranges(a);
	t_unmap(fd, a, 0, UINT64_MAX, NULL);
	t_map(fd, a, RW, buf, 0x1000, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, a, 0, NULL);
	ranges(a);
	t_comment("HUGE_PAGES on an id that is not an IOAS");
	t_mock_domain(fd, a, "mock", &m);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, m.hwpt, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, m.idev, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, m.stdev, 0, NULL);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, a, 1, NULL);
	ranges(a);
	t_option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, a, 0, NULL);
	t_close(fd);
}

/* ------------------------------------------------------------------ ids */

static void case_ids(void)
{
	u32 a, b, c, d;
	int fd2;

	t_header("oracle ioas_cases ids: object ids and DESTROY");
	fd = t_open("fd");
	t_ioas_alloc(fd, "ioas1", &a);
	t_ioas_alloc(fd, "ioas2", &b);
	t_ioas_alloc(fd, "ioas3", &c);
	t_destroy(fd, b);
	t_destroy(fd, b);
	t_ioas_alloc(fd, "ioas4", &d);
	t_destroy(fd, a);
	t_destroy(fd, c);
	t_ioas_alloc(fd, "ioas5", NULL);
	t_ioas_alloc(fd, "ioas6", NULL);
	t_ioas_alloc(fd, "ioas7", NULL);
	t_destroy(fd, 0);
	t_destroy(fd, 1000);
	t_destroy(fd, UINT32_MAX);
	t_comment("ids are per open file");
	fd2 = t_open("fd2");
	t_ioas_alloc(fd2, "other1", NULL);
	t_destroy(fd2, 4);
	t_close(fd2);
	t_comment("a mock device: selftest object, device and hwpt ids; what can be destroyed");
	{
		struct t_mock m;
		u32 e;

		t_ioas_alloc(fd, "ioas8", &e);
		t_mock_domain(fd, e, "mock", &m);
		t_destroy(fd, m.idev);
		t_destroy(fd, m.hwpt);
		t_destroy(fd, e);
		t_destroy(fd, m.stdev);
		t_destroy(fd, m.hwpt);
		t_destroy(fd, m.idev);
		t_ioas_alloc(fd, "ioas9", NULL);
		t_ioas_alloc(fd, "ioas10", NULL);
		t_ioas_alloc(fd, "ioas11", NULL);
		t_destroy(fd, e);
	}
	t_close(fd);
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	if (!strcmp(c, "auto-align"))
		case_auto_align();
	else if (!strcmp(c, "unmap"))
		case_unmap();
	else if (!strcmp(c, "copy"))
		case_copy();
	else if (!strcmp(c, "allow-reserve"))
		case_allow_reserve();
	else if (!strcmp(c, "domain"))
		case_domain();
	else if (!strcmp(c, "option"))
		case_option();
	else if (!strcmp(c, "ids"))
		case_ids();
	else {
		fprintf(stderr, "unknown case %s\n", c);
		return 2;
	}
	fprintf(stderr, "%s: %ld steps\n", c, t_steps);
	return 0;
}
