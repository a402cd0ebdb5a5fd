/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Unit tests for lib/virtq (suite 'unit').
 *
 * Guest memory is eight regions. Each is its own mapping between two
 * PROT_NONE guard pages and ends flush against the back one, so a read or a
 * write one byte past a region faults instead of passing unnoticed:
 *
 *   region  guest address  size    holds
 *   desc    0x10000        8 KiB   the descriptor table, ending at the region end
 *   avail   0x20000        4 KiB   the available ring, ending at the region end
 *   used    0x30000        4 KiB   the used ring, 2 bytes before the end (align 4)
 *   ind     0x40000        16 KiB  indirect tables; a case's table ends at the end
 *   buf0    0x100000       64 KiB  buffers
 *   buf1    0x110000       64 KiB  buffers; adjacent to buf0 in guest space only
 *   (gap)   0x120000       64 KiB  in no region
 *   buf2    0x130000       4 KiB   buffers
 *   big     0x100000000    4 GiB   reserved PROT_NONE: lengths near 2^32
 *
 * The device never dereferences a buffer when it pops a chain, so "big" can
 * hold descriptors of 4 GiB - 1 bytes without backing them: touching it
 * faults. The test plays the driver (or the device) itself when it has to
 * hand the other side what a broken or hostile peer could write, and checks
 * after every refusal that no byte of guest memory changed.
 *
 * Numbers are worked out from VIRTIO 1.2 §2.7 (and the legacy layout
 * formula of §2.7.2, Linux's vring_size()), not taken from the library;
 * the comments show the arithmetic.
 */

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvb_virtq.h"
#include "test_common.h"


#define F_IND		(1ull << PVB_VIRTIO_F_INDIRECT_DESC)
#define F_EVT		(1ull << PVB_VIRTIO_F_EVENT_IDX)
#define F_ORD		(1ull << PVB_VIRTIO_F_IN_ORDER)
#define F_V1		(1ull << PVB_VIRTIO_F_VERSION_1)

#define QN		16	/* queue size unless a case says otherwise */
#define MAXN		256	/* the largest queue the fixture rings hold */
#define FILL		0xcd	/* buffer bytes nobody wrote */
#define POISON		0xa5	/* caller memory the library must not write */

#define DESC_GPA	0x10000ull
#define DESC_SIZE	0x2000ull
#define AVAIL_GPA	0x20000ull
#define AVAIL_SIZE	0x1000ull
#define USED_GPA	0x30000ull
#define USED_SIZE	0x1000ull
#define IND_GPA		0x40000ull
#define IND_SIZE	0x4000ull
#define IND_END		(IND_GPA + IND_SIZE)
#define B0		0x100000ull
#define BUF_SIZE	0x10000ull
#define B1		(B0 + BUF_SIZE)		/* buf0 and buf1 touch */
#define GAP		(B1 + BUF_SIZE)
#define B2		(GAP + 0x10000ull)
#define B2_SIZE		0x1000ull
#define BIG		0x100000000ull
#define BIG_SIZE	0x100000000ull
#define MAXLEN		0xffffffffu		/* the largest descriptor length, 2^32 - 1 */

/* A case's descriptor address meaning "the case's indirect table": rewritten. */
#define TAB		0x7ab1e00000000000ull

#define NX		PVB_VIRTQ_DESC_F_NEXT
#define WR		PVB_VIRTQ_DESC_F_WRITE
#define IN		PVB_VIRTQ_DESC_F_INDIRECT

/* ----------------------------------------------------------------------------
 * Checks this suite adds to those of test_common.h
 */

#define expect_ptr(a, b)	expect_eq((uintptr_t)(a), (uintptr_t)(b))

#define expect_fault(q, f) do {							\
	enum pvb_virtq_fault got_ = (q)->fault, want_ = (f);			\
										\
	if (got_ != want_)							\
		fail_msg("%s: fault %d (%s), want %d (%s)", here, (int)got_,	\
			 pvb_virtq_fault_str(got_), (int)want_,			\
			 pvb_virtq_fault_str(want_));				\
} while (0)


static uint64_t
align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* ----------------------------------------------------------------------------
 * Fixture: guest memory (mapped once per suite), one queue over it
 */

enum { RG_DESC, RG_AVAIL, RG_USED, RG_IND, RG_BUF0, RG_BUF1, RG_BUF2, RG_BIG, NB_RG };

static const struct rg_spec {
	const char *name;
	uint64_t gpa, size;
	bool sparse;		/* reserved PROT_NONE: the library must never touch it */
} rgs[NB_RG] = {
	[RG_DESC] = { "desc", DESC_GPA, DESC_SIZE, false },
	[RG_AVAIL] = { "avail", AVAIL_GPA, AVAIL_SIZE, false },
	[RG_USED] = { "used", USED_GPA, USED_SIZE, false },
	[RG_IND] = { "ind", IND_GPA, IND_SIZE, false },
	[RG_BUF0] = { "buf0", B0, BUF_SIZE, false },
	[RG_BUF1] = { "buf1", B1, BUF_SIZE, false },
	[RG_BUF2] = { "buf2", B2, B2_SIZE, false },
	[RG_BIG] = { "big", BIG, BIG_SIZE, true },
};

_Static_assert(NB_RG == PVB_VIRTQ_MAX_REGIONS, "the fixture fills the region table");

/* distinct non-NULL tokens for the driver side */
static int tokens[MAXN + 1];
#define TOK(i)		((void *)&tokens[i])

struct fx {
	uint8_t *map[NB_RG];	/* whole mappings, guard pages included */
	size_t map_len[NB_RG];
	uint8_t *host[NB_RG];	/* first byte of each region; NULL if not mapped */
	uint8_t *snap[NB_RG];	/* copies taken by snapshot() */
	struct pvb_virtq_mem mem;
	uint16_t n;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct pvb_virtq_desc *desc;
	struct pvb_virtq_avail *avail;
	struct pvb_virtq_used *used;
	struct pvb_virtq_dev q;
	struct pvb_virtq_drv d;
	struct pvb_virtq_drv_extra extra[MAXN];
};

static bool
have_big(const struct fx *fx)
{
	return fx->host[RG_BIG] != NULL;
}

static int
map_region(struct fx *fx, unsigned int r)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = (size_t)align_up(rgs[r].size, pg);
	void *p;

	fx->map_len[r] = span + 2 * pg;
	p = mmap(NULL, fx->map_len[r], PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return -1;
	fx->map[r] = p;
	if (!rgs[r].sparse && mprotect(fx->map[r] + pg, span, PROT_READ | PROT_WRITE) != 0)
		return -1;
	/* flush against the back guard page */
	fx->host[r] = fx->map[r] + pg + (span - rgs[r].size);
	if (!rgs[r].sparse) {
		fx->snap[r] = malloc(rgs[r].size);
		if (fx->snap[r] == NULL)
			return -1;
	}
	return 0;
}

static int
suite_setup(void **state)
{
	static struct fx fixture;
	struct pvb_virtq_region r[NB_RG];
	struct fx *fx = &fixture;
	uint32_t n = 0;
	int i;

	for (i = 0; i < NB_RG; i++)
		if (map_region(fx, (unsigned int)i) != 0) {
			if (!rgs[i].sparse)
				return -1;
			/* no 4 GiB of address space: the cases that need it skip */
			print_message("no room for the 4 GiB region: its cases skip\n");
			fx->map[i] = NULL;
			fx->host[i] = NULL;
		}
	/* handed over last to first: the table sorts them */
	for (i = NB_RG - 1; i >= 0; i--)
		if (fx->host[i] != NULL)
			r[n++] = (struct pvb_virtq_region){ rgs[i].gpa, rgs[i].size, fx->host[i] };
	if (pvb_virtq_mem_init(&fx->mem, r, n) != 0 || fx->mem.nb_regions != n)
		return -1;
	*state = fx;
	return 0;
}

static int
suite_teardown(void **state)
{
	struct fx *fx = *state;
	unsigned int r;

	for (r = 0; r < NB_RG; r++) {
		if (fx->map[r] != NULL)
			munmap(fx->map[r], fx->map_len[r]);
		free(fx->snap[r]);
	}
	return 0;
}

static int
test_setup(void **state)
{
	(void)state;
	here[0] = '\0';
	return 0;
}

/* The fixture's own translation, independent of the library's. */
static void *
gpa_host(const struct fx *fx, uint64_t gpa)
{
	unsigned int r;

	for (r = 0; r < NB_RG; r++)
		if (fx->host[r] != NULL && gpa >= rgs[r].gpa && gpa - rgs[r].gpa < rgs[r].size)
			return fx->host[r] + (gpa - rgs[r].gpa);
	fail_msg("%s: guest address %#" PRIx64 " is in no fixture region", here, gpa);
	return NULL;
}

/* Copy to / from guest memory, across region ends (buf0 | buf1). */
static void
gpa_write(const struct fx *fx, uint64_t gpa, const uint8_t *src, size_t len, int fill)
{
	unsigned int r;
	size_t k;

	while (len != 0) {
		for (r = 0; r < NB_RG; r++)
			if (gpa >= rgs[r].gpa && gpa - rgs[r].gpa < rgs[r].size)
				break;
		assert_true(r < NB_RG && !rgs[r].sparse);
		k = (size_t)(rgs[r].size - (gpa - rgs[r].gpa));
		k = k < len ? k : len;
		if (src != NULL)
			memcpy(fx->host[r] + (gpa - rgs[r].gpa), src, k);
		else
			memset(fx->host[r] + (gpa - rgs[r].gpa), fill, k);
		gpa += k;
		len -= k;
		src = src != NULL ? src + k : NULL;
	}
}

static void
gpa_read(const struct fx *fx, uint64_t gpa, uint8_t *dst, size_t len)
{
	unsigned int r;
	size_t k;

	while (len != 0) {
		for (r = 0; r < NB_RG; r++)
			if (gpa >= rgs[r].gpa && gpa - rgs[r].gpa < rgs[r].size)
				break;
		assert_true(r < NB_RG && !rgs[r].sparse);
		k = (size_t)(rgs[r].size - (gpa - rgs[r].gpa));
		k = k < len ? k : len;
		memcpy(dst, fx->host[r] + (gpa - rgs[r].gpa), k);
		gpa += k;
		len -= k;
		dst += k;
	}
}

/* used_event and avail_event, located from the spec's offsets (VIRTIO 1.2 §2.7.6, §2.7.8). */
static pvb_shared_u16 *
used_event_word(const struct fx *fx)
{
	/* avail: flags @0, idx @2, ring[N] @4, used_event @4 + 2N */
	return (pvb_shared_u16 *)(void *)((uint8_t *)fx->avail + 4 + 2 * fx->n);
}

static pvb_shared_u16 *
avail_event_word(const struct fx *fx)
{
	/* used: flags @0, idx @2, ring[N] of 8 bytes @4, avail_event @4 + 8N */
	return (pvb_shared_u16 *)(void *)((uint8_t *)fx->used + 4 + 8 * fx->n);
}

static uint16_t
rd16(const pvb_shared_u16 *p)
{
	/* relaxed: the test is single-threaded here; it only inspects */
	return pvb_load_relaxed16(p);
}

static void
wr16(pvb_shared_u16 *p, uint16_t v)
{
	/* relaxed: single-threaded, as the peer that owns the word */
	pvb_store_relaxed16(p, v);
}

/* Device side only: set up as the transport would, then enable. */
static void
dev_open(struct fx *fx, uint64_t features)
{
	pvb_virtq_dev_init(&fx->q, MAXN);
	pvb_virtq_dev_set_size(&fx->q, fx->n);
	fx->q.desc_table_addr = fx->desc_gpa;
	fx->q.avail_ring_addr = fx->avail_gpa;
	fx->q.used_ring_addr = fx->used_gpa;
	fx->q.ready = true;
	assert_true(pvb_virtq_dev_is_valid(&fx->q));
	assert_int_equal(pvb_virtq_dev_enable(&fx->q, &fx->mem, features), 0);
}

/*
 * A fresh queue of @n entries: rings zeroed, each ending flush against its
 * region's end, buffers FILL; the device enabled and the driver set up over
 * them with @features.
 */
static void
fx_open(struct fx *fx, uint16_t n, uint64_t features)
{
	unsigned int r;

	assert_true(n >= 1 && n <= MAXN);
	for (r = 0; r < NB_RG; r++)
		if (!rgs[r].sparse)
			memset(fx->host[r], r >= RG_BUF0 ? FILL : 0, rgs[r].size);
	fx->n = n;
	fx->desc_gpa = DESC_GPA + DESC_SIZE - 16ull * n;
	fx->avail_gpa = AVAIL_GPA + AVAIL_SIZE - (6 + 2ull * n);
	/* 6 + 8N is 2 mod 4: 2 bytes of slack keep the used ring 4-aligned */
	fx->used_gpa = USED_GPA + USED_SIZE - (6 + 8ull * n) - 2;
	fx->desc = gpa_host(fx, fx->desc_gpa);
	fx->avail = gpa_host(fx, fx->avail_gpa);
	fx->used = gpa_host(fx, fx->used_gpa);
	dev_open(fx, features);
	assert_int_equal(pvb_virtq_drv_init(&fx->d, n, fx->desc, fx->avail, fx->used, fx->extra,
					    features), 0);
}

static void
snapshot(struct fx *fx)
{
	unsigned int r;

	for (r = 0; r < NB_RG; r++)
		if (fx->snap[r] != NULL)
			memcpy(fx->snap[r], fx->host[r], rgs[r].size);
}

/* No byte of guest memory changed since snapshot(). */
static void
assert_mem_unchanged(const struct fx *fx)
{
	unsigned int r;
	size_t i;

	for (r = 0; r < NB_RG; r++)
		if (fx->snap[r] != NULL && memcmp(fx->snap[r], fx->host[r], rgs[r].size) != 0)
			for (i = 0; i < rgs[r].size; i++)
				if (fx->snap[r][i] != fx->host[r][i])
					fail_msg("%s: %s byte %#zx changed from %#x to %#x",
						 here, rgs[r].name, i, fx->snap[r][i],
						 fx->host[r][i]);
}

/* Make @head available as a driver would: ring entry, then release the index. */
static void
avail_put(struct fx *fx, uint16_t head)
{
	uint16_t i = rd16(&fx->avail->idx);

	fx->avail->ring[i & (fx->n - 1)] = head;
	/* pairs with the load-acquire of avail->idx in the device's pops (avail_refresh()) */
	pvb_store_release16(&fx->avail->idx, (uint16_t)(i + 1));
}

static void
put_desc(struct fx *fx, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	assert_true(i < fx->n);
	fx->desc[i] = (struct pvb_virtq_desc){ addr, len, flags, next };
}

/*
 * The three ways to pop a chain, which must check exactly the same things:
 * the chain and refusal tests run through each.
 */
enum pop_path { POP_AVAIL, POP_NEXT, POP_BURST, NB_PATHS };

static const char *const path_name[NB_PATHS] = {
	[POP_AVAIL] = "pop_avail",
	[POP_NEXT] = "avail_count + pop_next",
	[POP_BURST] = "pop_burst",
};

/*
 * Pop one chain through @p path and answer as pvb_virtq_dev_pop_avail()
 * does (0, -EAGAIN, -EBADMSG, -EPIPE, -EINVAL); c->fault must agree.
 */
static int
pop_via(struct fx *fx, enum pop_path path, struct pvb_virtq_chain *c)
{
	int rc;

	switch (path) {
	case POP_AVAIL:
		rc = pvb_virtq_dev_pop_avail(&fx->q, c);
		break;
	case POP_NEXT:
		rc = pvb_virtq_dev_avail_count(&fx->q);
		if (rc > 0)
			rc = pvb_virtq_dev_pop_next(&fx->q, c);
		else if (rc == 0)
			rc = -EAGAIN;
		break;
	default:
		rc = pvb_virtq_dev_pop_burst(&fx->q, c, 1);
		if (rc == 1)
			rc = c->fault == PVB_VIRTQ_OK ? 0 : -EBADMSG;
		else if (rc == 0)
			rc = -EAGAIN;
		break;
	}
	if (rc == 0)
		expect_eq(c->fault, PVB_VIRTQ_OK);
	if (rc == -EBADMSG)
		expect_eq(c->fault, fx->q.fault);
	return rc;
}

/* ----------------------------------------------------------------------------
 * Layout (VIRTIO 1.2 §2.7.2, Linux's vring_size())
 */

/*
 * The spec's formulas, worked out here: avail at 16N, used at
 * ALIGN(16N + 6 + 2N, A) with A = 4 (1.x) or 4096 (legacy), used end at
 * used + 6 + 8N; then the per-request area at the next 16 bytes and the
 * stride to the next queue's descriptor table: 16 (1.x) or a page (legacy).
 * Event words are always reserved, so the event index feature changes
 * nothing.
 */
static void
check_layout(uint32_t n, uint64_t features, size_t req_size, size_t nq)
{
	bool v1 = (features & F_V1) != 0;
	uint64_t a = v1 ? 4 : 4096, stride = v1 ? 16 : 4096;
	uint64_t avail_end = 16ull * n + 6 + 2ull * n;
	uint64_t used = align_up(avail_end, a), used_end = used + 6 + 8ull * n;
	uint64_t req = align_up(used_end, 16);
	uint64_t end = align_up(req + (uint64_t)req_size * n, stride);
	struct pvb_virtq_layout l;

	at("layout N %u, features %#" PRIx64 ", req_size %zu, %zu queues", n, features,
	   req_size, nq);
	memset(&l, POISON, sizeof(l));
	expect_eq(pvb_virtq_layout(nq, n, features, req_size, &l), 0);
	expect_eq(l.num_queues, nq);
	expect_eq(l.driver_area_offset, 16ull * n);
	expect_eq(l.device_area_offset, used);
	expect_eq(l.req_offset, req);
	expect_eq(l.end_offset, end);
	/* the same, said as properties */
	expect_eq(l.device_area_offset % a, 0);
	expect_true(l.device_area_offset >= avail_end);
	expect_true(l.device_area_offset - avail_end < a);
	expect_eq(l.req_offset % 16, 0);
	expect_true(l.req_offset >= used_end && l.req_offset - used_end < 16);
	expect_eq(l.end_offset % stride, 0);
	expect_true(l.end_offset >= l.req_offset + req_size * n);
	expect_true(l.end_offset - (l.req_offset + req_size * n) < stride);
}

static void
test_layout_all_sizes(void **state)
{
	static const uint64_t feats[] = {
		0, F_EVT, F_IND | F_EVT, F_V1, F_V1 | F_EVT, F_V1 | F_EVT | F_IND,
	};
	static const size_t reqs[] = { 0, 1, 12, 64 };
	static const size_t nqs[] = { 1, 2, 17 };
	size_t f, r, k;
	uint32_t n;

	(void)state;
	for (n = 1; n <= PVB_VIRTQ_MAX_SIZE; n *= 2)
		for (f = 0; f < DIM(feats); f++)
			for (r = 0; r < DIM(reqs); r++)
				for (k = 0; k < DIM(nqs); k++)
					check_layout(n, feats[f], reqs[r], nqs[k]);
}

/* Worked numbers from vring_size()'s formula, req_size 0, one queue. */
static const struct layout_example {
	uint32_t n;
	uint64_t features;
	size_t avail_off, avail_end, used_off, total, req, end;
} layout_examples[] = {
	/*
	 * legacy, A = 4096: avail 16 * 256 = 4096, avail end 4096 + 6 + 512 =
	 * 4614, used ALIGN(4614, 4096) = 8192, total 8192 + 6 + 2048 = 10246;
	 * req ALIGN(10246, 16) = 10256, end ALIGN(10256, 4096) = 12288
	 */
	{ 256, 0, 4096, 4614, 8192, 10246, 10256, 12288 },
	/*
	 * legacy: 16 * 1024 = 16384; 16384 + 6 + 2048 = 18438; ALIGN(18438,
	 * 4096) = 20480; 20480 + 6 + 8192 = 28678; req 28688; end 32768
	 */
	{ 1024, 0, 16384, 18438, 20480, 28678, 28688, 32768 },
	/*
	 * 1.x, A = 4: 4096; 4614; ALIGN(4614, 4) = 4616; 4616 + 6 + 2048 =
	 * 6670 = 26 * 256 + 14; req ALIGN(6670, 16) = 6672; end 6672
	 */
	{ 256, F_V1, 4096, 4614, 4616, 6670, 6672, 6672 },
	/* the same with event index: nothing moves */
	{ 256, F_V1 | F_EVT, 4096, 4614, 4616, 6670, 6672, 6672 },
	/* legacy N = 1: 16; 16 + 6 + 2 = 24; 4096; 4096 + 6 + 8 = 4110; 4112; 8192 */
	{ 1, 0, 16, 24, 4096, 4110, 4112, 8192 },
	/* 1.x N = 1: 16; 24; 24; 24 + 14 = 38; 48; 48 */
	{ 1, F_V1, 16, 24, 24, 38, 48, 48 },
	/*
	 * 1.x N = 32768: 524288; 524288 + 6 + 65536 = 589830; ALIGN(589830, 4)
	 * = 589832; 589832 + 6 + 262144 = 851982; req 851984; end 851984
	 */
	{ 32768, F_V1, 524288, 589830, 589832, 851982, 851984, 851984 },
	/* legacy N = 32768: ALIGN(589830, 4096) = 593920; + 262150 = 856070; 856080; 860160 */
	{ 32768, 0, 524288, 589830, 593920, 856070, 856080, 860160 },
};

static void
test_layout_examples(void **state)
{
	const struct layout_example *e;
	struct pvb_virtq_layout l;
	size_t i;

	(void)state;
	for (i = 0; i < DIM(layout_examples); i++) {
		e = &layout_examples[i];
		at("layout example N %u, features %#" PRIx64, e->n, e->features);
		expect_eq(pvb_virtq_layout(1, e->n, e->features, 0, &l), 0);
		expect_eq(l.driver_area_offset, e->avail_off);
		expect_eq(l.driver_area_offset + 6 + 2 * e->n, e->avail_end);
		expect_eq(l.device_area_offset, e->used_off);
		expect_eq(l.device_area_offset + 6 + 8ull * e->n, e->total);
		expect_eq(l.req_offset, e->req);
		expect_eq(l.end_offset, e->end);
		/* 64 bytes per descriptor of per-request data: N * 64 more, re-aligned */
		expect_eq(pvb_virtq_layout(3, e->n, e->features, 64, &l), 0);
		expect_eq(l.num_queues, 3);
		expect_eq(l.req_offset, e->req);
		expect_eq(l.end_offset, align_up(e->req + 64ull * e->n,
						 e->features & F_V1 ? 16 : 4096));
	}
}

static void
test_layout_invalid(void **state)
{
	static const uint32_t named[] = {
		0, 3, 6, 7, 12, 100, 1000, 32767, 32769, 49152, 65535, 65536, 131072,
		0x80000000u, UINT32_MAX,
	};
	struct pvb_virtq_layout l;
	size_t i, big_nq;
	uint32_t n;

	(void)state;
	for (i = 0; i < DIM(named); i++) {
		at("layout invalid size %u", named[i]);
		memset(&l, POISON, sizeof(l));
		expect_eq(pvb_virtq_layout(1, named[i], F_V1, 0, &l), -EINVAL);
		expect_eq(pvb_virtq_layout(1, named[i], 0, 0, &l), -EINVAL);
		expect_true(bytes_all(&l, sizeof(l), POISON));
	}
	/* every size up to 2^16 + 1: valid iff a power of two up to 32768 */
	for (n = 0; n <= 65537; n++) {
		at("layout size %u", n);
		expect_eq(pvb_virtq_layout(1, n, F_V1, 0, &l),
			  n != 0 && (n & (n - 1)) == 0 && n <= 32768 ? 0 : -EINVAL);
	}
	at("layout: no queue, no result");
	expect_eq(pvb_virtq_layout(0, 256, F_V1, 0, &l), -EINVAL);
	expect_eq(pvb_virtq_layout(1, 256, F_V1, 0, NULL), -EINVAL);
	/* legacy N 256: stride 12288; the largest count whose total fits size_t, and one more */
	at("layout: queue count at the size_t limit");
	big_nq = SIZE_MAX / 12288;
	expect_eq(pvb_virtq_layout(big_nq, 256, 0, 0, &l), 0);
	expect_eq(l.end_offset, 12288);
	expect_eq(l.num_queues, big_nq);
	expect_eq(pvb_virtq_layout(big_nq + 1, 256, 0, 0, &l), -EINVAL);
	expect_eq(pvb_virtq_layout(SIZE_MAX, 1, F_V1, 0, &l), -EINVAL);
	/* a per-request size whose N copies cannot fit */
	at("layout: req_size beyond SIZE_MAX / 32768");
	expect_eq(pvb_virtq_layout(1, 1, F_V1, SIZE_MAX / 32768 + 1, &l), -EINVAL);
	expect_eq(pvb_virtq_layout(1, 1, F_V1, SIZE_MAX, &l), -EINVAL);
}

/*
 * req_size = SIZE_MAX / 32768 = 2^49 - 1 passes the per-request check, but
 * with N = 32768 the area is (2^49 - 1) * 2^15 = 2^64 - 32768 bytes and
 * req_offset (851984) + that wraps size_t: the call must fail, or its
 * numbers must still hold the area.
 */
static void
test_layout_req_area_overflow(void **state)
{
	static const uint32_t sizes[] = { 32768, 16384, 4096 };
	struct pvb_virtq_layout l;
	size_t req_size, i;
	int rc;

	(void)state;
	for (i = 0; i < DIM(sizes); i++) {
		/* the largest req_size whose N copies alone fit, for this N */
		req_size = SIZE_MAX / sizes[i];
		if (req_size > SIZE_MAX / PVB_VIRTQ_MAX_SIZE)
			req_size = SIZE_MAX / PVB_VIRTQ_MAX_SIZE;
		at("layout N %u, req_size %#zx", sizes[i], req_size);
		memset(&l, 0, sizeof(l));
		rc = pvb_virtq_layout(1, sizes[i], F_V1, req_size, &l);
		if (rc == 0) {
			expect_true(l.end_offset >= l.req_offset);
			expect_true(l.end_offset - l.req_offset >= req_size * sizes[i]);
		} else {
			expect_eq(rc, -EINVAL);
		}
	}
}

/* ----------------------------------------------------------------------------
 * Device queue state: set_size, is_valid, reset
 */

static const struct size_case {
	uint16_t max, req, want;
} size_cases[] = {
	{ 256, 256, 256 },
	{ 256, 300, 256 },		/* clamped to max */
	{ 256, 255, 128 },		/* down to a power of two */
	{ 256, 3, 2 },
	{ 256, 1, 1 },
	{ 256, 0, 0 },			/* stays 0: not valid */
	{ 1000, 1000, 512 },		/* max need not be a power of two */
	{ 1000, 65535, 512 },		/* min(65535, 1000) = 1000, then 512 */
	{ 32768, 65535, 32768 },
	{ 32768, 32767, 16384 },
	{ 65535, 65535, 32768 },	/* 0xffff: highest bit 0x8000 */
	{ 65535, 40000, 32768 },
	{ 0, 16, 0 },
	{ 1, 16, 1 },
	{ 16, 17, 16 },
	{ 16, 15, 8 },
};

static void
test_dev_set_size(void **state)
{
	static const uint16_t maxes[] = { 0, 1, 2, 3, 256, 1000, 32768, 65535 };
	struct pvb_virtq_dev q;
	uint32_t m, req, lim, want;
	size_t i;

	(void)state;
	for (i = 0; i < DIM(size_cases); i++) {
		at("set_size: max %u, requested %u", size_cases[i].max, size_cases[i].req);
		pvb_virtq_dev_init(&q, size_cases[i].max);
		expect_eq(q.max_size, size_cases[i].max);
		expect_eq(q.size, 0);
		pvb_virtq_dev_set_size(&q, size_cases[i].req);
		expect_eq(q.size, size_cases[i].want);
		expect_eq(q.max_size, size_cases[i].max);
	}
	/* every request against a few maxima: the largest power of two <= min(req, max) */
	for (i = 0; i < DIM(maxes); i++)
		for (req = 0; req <= UINT16_MAX; req++) {
			m = maxes[i];
			lim = req < m ? req : m;
			for (want = 1; want * 2 <= lim; want *= 2)
				;
			want = lim == 0 ? 0 : want;
			pvb_virtq_dev_init(&q, (uint16_t)m);
			pvb_virtq_dev_set_size(&q, (uint16_t)req);
			if (q.size != want)
				fail_msg("set_size: max %u, requested %u: %u, want %u", m, req,
					 q.size, want);
		}
}

static void
test_dev_is_valid(void **state)
{
	struct pvb_virtq_dev q;

	(void)state;
	at("is_valid");
	pvb_virtq_dev_init(&q, 256);
	expect_false(pvb_virtq_dev_is_valid(&q));
	pvb_virtq_dev_set_size(&q, 64);
	q.desc_table_addr = 0x1000;
	q.avail_ring_addr = 0x2000;
	q.used_ring_addr = 0x3000;
	expect_false(pvb_virtq_dev_is_valid(&q));	/* not ready */
	q.ready = true;
	expect_true(pvb_virtq_dev_is_valid(&q));
	q.desc_table_addr = 0;
	expect_false(pvb_virtq_dev_is_valid(&q));
	q.desc_table_addr = 0x1000;
	q.avail_ring_addr = 0;
	expect_false(pvb_virtq_dev_is_valid(&q));
	q.avail_ring_addr = 0x2000;
	q.used_ring_addr = 0;
	expect_false(pvb_virtq_dev_is_valid(&q));
	q.used_ring_addr = 0x3000;
	pvb_virtq_dev_set_size(&q, 0);
	expect_false(pvb_virtq_dev_is_valid(&q));
	q.size = 48;			/* not a power of two, set behind set_size's back */
	expect_false(pvb_virtq_dev_is_valid(&q));
	q.size = 1;
	expect_true(pvb_virtq_dev_is_valid(&q));
}

static void
test_dev_reset(void **state)
{
	struct pvb_virtq_chain c;
	struct fx *fx = *state;

	at("reset");
	fx_open(fx, QN, F_IND | F_EVT);
	put_desc(fx, 0, B0, 8, 0, 0);
	avail_put(fx, 0);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, 0, 0), 0);
	expect_true(pvb_virtq_dev_should_notify(&fx->q));
	/* then the driver moves avail->idx N + 1 ahead: the queue stops */
	wr16(&fx->avail->idx, 1 + QN + 1);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), -EPIPE);
	expect_true(fx->q.needs_reset);
	pvb_virtq_dev_reset(&fx->q);
	expect_eq(fx->q.max_size, MAXN);
	expect_eq(fx->q.next_avail_idx, 0);
	expect_eq(fx->q.next_used_idx, 0);
	expect_false(fx->q.ready);
	expect_fault(&fx->q, PVB_VIRTQ_OK);
	expect_false(fx->q.needs_reset);
	expect_false(fx->q.signalled_valid);
	expect_eq(fx->q.bad_chains, 0);
	expect_false(pvb_virtq_dev_is_valid(&fx->q));
	/* not enabled: nothing to pop from */
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), -EINVAL);
}

/* ----------------------------------------------------------------------------
 * Ring words and enable
 */

static void
test_ring_words(void **state)
{
	struct fx *fx = *state;
	uint16_t flags, idx;

	at("ring words, N %u", QN);
	fx_open(fx, QN, F_EVT);
	expect_ptr(pvb_virtq_used_event(fx->avail, QN), used_event_word(fx));
	expect_ptr(pvb_virtq_avail_event(fx->used, QN), avail_event_word(fx));
	/* avail_event sits at used + 4 + 8N = used + 132 for N 16 */
	expect_eq(pvb_virtq_dev_avail_event_addr(&fx->q), fx->used_gpa + 132);
	/* the last word of each ring is its region's (and the mapping's) last */
	expect_eq((uintptr_t)used_event_word(fx) + 2,
		  (uintptr_t)(fx->host[RG_AVAIL] + AVAIL_SIZE));
	expect_eq((uintptr_t)avail_event_word(fx) + 2,
		  (uintptr_t)(fx->host[RG_USED] + USED_SIZE - 2));
	expect_ptr(fx->desc + QN, fx->host[RG_DESC] + DESC_SIZE);
	wr16(&fx->used->flags, 1);
	wr16(&fx->used->idx, 0x1234);
	pvb_virtq_dev_used_header(&fx->q, &flags, &idx);
	expect_eq(flags, 1);
	expect_eq(idx, 0x1234);
}

struct enable_case {
	const char *what;
	uint64_t desc, avail, used;
};

static const struct enable_case enable_cases[] = {
	{ "desc in no region", 0x5000, AVAIL_GPA, USED_GPA },
	{ "desc 8 mod 16", DESC_GPA + 8, AVAIL_GPA, USED_GPA },
	/* 16 * 16 = 256 bytes from 16 before the end */
	{ "desc runs 16 bytes past its region", DESC_GPA + DESC_SIZE - 240, AVAIL_GPA,
	  USED_GPA },
	{ "desc across buf0 | buf1", B1 - 128, AVAIL_GPA, USED_GPA },
	{ "avail odd", DESC_GPA, AVAIL_GPA + 1, USED_GPA },
	/* 6 + 2 * 16 = 38 bytes from 36 before the end */
	{ "avail runs 2 bytes past its region", DESC_GPA, AVAIL_GPA + AVAIL_SIZE - 36, USED_GPA },
	{ "avail in the gap", DESC_GPA, GAP, USED_GPA },
	{ "used 2 mod 4", DESC_GPA, AVAIL_GPA, USED_GPA + 2 },
	/* 6 + 8 * 16 = 134 bytes from 132 before the end */
	{ "used runs 2 bytes past its region", DESC_GPA, AVAIL_GPA, USED_GPA + USED_SIZE - 132 },
	{ "used across buf0 | buf1", DESC_GPA, AVAIL_GPA, B1 - 64 },
	{ "used at 2^64 - 64", DESC_GPA, AVAIL_GPA, UINT64_MAX - 63 },
};

static const struct skew_case {
	const char *what;
	unsigned int rg;	/* the ring's fixture region, seen through 0x50000 + gpa_off */
	uint64_t gpa_off;
	size_t host_off;
} skew_cases[] = {
	{ "desc seen through a second region, aligned", RG_DESC, 0, 0 },
	{ "avail seen through a second region, aligned", RG_AVAIL, 0, 0 },
	{ "used seen through a second region, aligned", RG_USED, 0, 0 },
	{ "desc 8 mod 16 in the guest, 16-aligned on the host", RG_DESC, 8, 0 },
	{ "desc 16-aligned in the guest, 8 mod 16 on the host", RG_DESC, 0, 8 },
	{ "avail odd in the guest, even on the host", RG_AVAIL, 1, 0 },
	{ "used 2 mod 4 in the guest, 4-aligned on the host", RG_USED, 2, 0 },
	{ "used 4-aligned in the guest, 2 mod 4 on the host", RG_USED, 0, 2 },
};

static void
test_dev_enable(void **state)
{
	const struct enable_case *e;
	struct fx *fx = *state;
	struct pvb_virtq_chain c;
	size_t i;

	for (i = 0; i < DIM(enable_cases); i++) {
		e = &enable_cases[i];
		at("enable: %s", e->what);
		fx_open(fx, QN, 0);
		pvb_virtq_dev_init(&fx->q, MAXN);
		pvb_virtq_dev_set_size(&fx->q, QN);
		fx->q.desc_table_addr = e->desc;
		fx->q.avail_ring_addr = e->avail;
		fx->q.used_ring_addr = e->used;
		fx->q.ready = true;
		snapshot(fx);
		expect_eq(pvb_virtq_dev_enable(&fx->q, &fx->mem, 0), -EFAULT);
		expect_fault(&fx->q, PVB_VIRTQ_FAULT_RINGS);
		expect_true(fx->q.needs_reset);
		expect_true(pvb_virtq_dev_pop_avail(&fx->q, &c) < 0);
		assert_mem_unchanged(fx);
	}
	/*
	 * Aligned on one side only: the ring's region seen a second time at
	 * 0x50000 + gpa_off, mapped to its host address + host_off.
	 */
	for (i = 0; i < DIM(skew_cases); i++) {
		const struct skew_case *k = &skew_cases[i];
		const struct pvb_virtq_region r[] = {
			{ DESC_GPA, DESC_SIZE, fx->host[RG_DESC] },
			{ AVAIL_GPA, AVAIL_SIZE, fx->host[RG_AVAIL] },
			{ USED_GPA, USED_SIZE, fx->host[RG_USED] },
			{ 0x50000 + k->gpa_off, 0x800, fx->host[k->rg] + k->host_off },
		};
		struct pvb_virtq_mem m;

		at("enable: %s", k->what);
		fx_open(fx, QN, 0);
		assert_int_equal(pvb_virtq_mem_init(&m, r, DIM(r)), 0);
		pvb_virtq_dev_init(&fx->q, MAXN);
		pvb_virtq_dev_set_size(&fx->q, QN);
		fx->q.desc_table_addr = k->rg == RG_DESC ? r[3].gpa : fx->desc_gpa;
		fx->q.avail_ring_addr = k->rg == RG_AVAIL ? r[3].gpa : fx->avail_gpa;
		fx->q.used_ring_addr = k->rg == RG_USED ? r[3].gpa : fx->used_gpa;
		fx->q.ready = true;
		if (k->gpa_off == 0 && k->host_off == 0) {
			expect_eq(pvb_virtq_dev_enable(&fx->q, &m, 0), 0);
			continue;
		}
		expect_eq(pvb_virtq_dev_enable(&fx->q, &m, 0), -EFAULT);
		expect_fault(&fx->q, PVB_VIRTQ_FAULT_RINGS);
	}

	at("enable: rings in buffer regions, at their starts");
	fx_open(fx, QN, 0);
	pvb_virtq_dev_init(&fx->q, MAXN);
	pvb_virtq_dev_set_size(&fx->q, QN);
	fx->q.desc_table_addr = B0;
	fx->q.avail_ring_addr = B1 + 2;
	fx->q.used_ring_addr = B2 + 4;
	fx->q.ready = true;
	expect_eq(pvb_virtq_dev_enable(&fx->q, &fx->mem, 0), 0);
	expect_ptr(fx->q.desc, gpa_host(fx, B0));
	expect_ptr(fx->q.avail, gpa_host(fx, B1 + 2));
	expect_ptr(fx->q.used, gpa_host(fx, B2 + 4));
	at("enable: not valid");
	fx->q.ready = false;
	expect_eq(pvb_virtq_dev_enable(&fx->q, &fx->mem, 0), -EINVAL);
	fx->q.ready = true;
	expect_eq(pvb_virtq_dev_enable(&fx->q, NULL, 0), -EINVAL);
	expect_eq(pvb_virtq_dev_enable(NULL, &fx->mem, 0), -EINVAL);
}

/* ----------------------------------------------------------------------------
 * Chains the device refuses, and chains it takes (VIRTIO 1.2 §2.7.4-2.7.5)
 */

struct wseg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

struct chain_case {
	const char *what;
	uint16_t qsize;			/* 0: QN */
	bool no_indirect;		/* indirect descriptors not negotiated */
	bool big;			/* uses the 4 GiB region */
	uint16_t head;
	struct pvb_virtq_desc d[QN];	/* ring descriptors 0..15 */
	uint32_t nind;
	struct pvb_virtq_desc ind[4];	/* the table TAB stands for, ending at IND_END */
	void (*build)(struct fx *fx);	/* writes what does not fit d[] and ind[] */
	enum pvb_virtq_fault want;	/* refused: why */
	enum pvb_virtq_fault alt;	/* or this, when two rules apply (OK: none) */
	uint32_t nseg;			/* taken: the segments pop_avail returns */
	struct wseg seg[QN];
	uint32_t nb_readable;
	uint64_t rlen, wlen;
};

#define DS(a, l, f, nx)	{ (a), (l), (f), (nx) }
#define R(a, l)		DS(a, l, 0, 0)
#define RN(a, l, nx)	DS(a, l, NX, nx)
#define W(a, l)		DS(a, l, WR, 0)
#define WN(a, l, nx)	DS(a, l, WR | NX, nx)
#define IND(l)		DS(TAB, l, IN, 0)
#define SR(a, l)	{ (a), (l), false }
#define SW(a, l)	{ (a), (l), true }

/* 0 -> 1 -> ... -> 15 -> 0 */
#define CYC(i)		[i] = RN(B0 + 16 * (i), 8, ((i) + 1) % QN)
#define CYCLE16		CYC(0), CYC(1), CYC(2), CYC(3), CYC(4), CYC(5), CYC(6), CYC(7),	\
			CYC(8), CYC(9), CYC(10), CYC(11), CYC(12), CYC(13), CYC(14), CYC(15)
/* the same cycle over 2^28-byte buffers filling the 4 GiB region: 16 * 2^28 = 2^32 */
#define CYB(i)		[i] = RN(BIG + ((uint64_t)(i) << 28), 1u << 28, ((i) + 1) % QN)
#define CYCLE16_BIG	CYB(0), CYB(1), CYB(2), CYB(3), CYB(4), CYB(5), CYB(6), CYB(7),	\
			CYB(8), CYB(9), CYB(10), CYB(11), CYB(12), CYB(13), CYB(14), CYB(15)
/* 0 -> 1 -> ... -> 15, every descriptor of the table */
#define CH(i)		[i] = RN(B0 + 16 * (i), 16, (i) + 1)
#define CHAIN16		CH(0), CH(1), CH(2), CH(3), CH(4), CH(5), CH(6), CH(7), CH(8),	\
			CH(9), CH(10), CH(11), CH(12), CH(13), CH(14), [15] = R(B0 + 240, 16)
#define S(i)		SR(B0 + 16 * (i), 16)
#define SEG16		S(0), S(1), S(2), S(3), S(4), S(5), S(6), S(7), S(8), S(9), S(10),	\
			S(11), S(12), S(13), S(14), S(15)

/*
 * An indirect table of @n entries at the end of the ind region, entry i a
 * buffer of @len bytes at @gpa + i * @stride, chained 0 -> 1 -> ...; ring
 * descriptor 0 points at it.
 */
static void
put_ind_table(struct fx *fx, uint32_t n, uint64_t gpa, uint32_t len, uint64_t stride)
{
	uint64_t tab = IND_END - 16ull * n;
	struct pvb_virtq_desc *t = gpa_host(fx, tab);
	uint32_t i;

	for (i = 0; i < n; i++)
		t[i] = (struct pvb_virtq_desc){ gpa + i * stride, len,
						(uint16_t)(i + 1 < n ? NX : 0),
						(uint16_t)(i + 1) };
	put_desc(fx, 0, tab, 16 * n, IN, 0);
}

/* 65 one-byte buffers: 65 segments, one more than a chain holds */
static void
build_ind65(struct fx *fx)
{
	put_ind_table(fx, 65, B0, 1, 16);
}

/* 33 buffers of 16 bytes across buf0 | buf1: 2 segments each, 66 */
static void
build_ind33_across(struct fx *fx)
{
	put_ind_table(fx, 33, B1 - 8, 16, 0);
}

/* a direct chain of 65 one-byte buffers (queue of 128) */
static void
build_direct65(struct fx *fx)
{
	uint16_t i;

	for (i = 0; i < 65; i++)
		put_desc(fx, i, B0 + 16ull * i, 1, i + 1 < 65 ? NX : 0, (uint16_t)(i + 1));
}

#define HEAD		PVB_VIRTQ_FAULT_HEAD
#define NEXT		PVB_VIRTQ_FAULT_NEXT
#define LOOP		PVB_VIRTQ_FAULT_LOOP
#define INDIR		PVB_VIRTQ_FAULT_INDIRECT
#define ORDER		PVB_VIRTQ_FAULT_ORDER
#define MEMORY		PVB_VIRTQ_FAULT_MEMORY
#define TOO_LONG	PVB_VIRTQ_FAULT_TOO_LONG
#define SEGS		PVB_VIRTQ_FAULT_SEGS

static const struct chain_case bad_chains[] = {
	/* head and next indices */
	{ "head 16 = N", .head = 16, .d = { R(B0, 8) }, .want = HEAD },
	{ "head 0xffff", .head = 0xffff, .want = HEAD },
	{ "head 128 on a queue of 128", .qsize = 128, .head = 128, .want = HEAD },
	{ "next 16 = N", .d = { RN(B0, 8, 16) }, .want = NEXT },
	{ "next 0xffff in the third descriptor",
	  .d = { RN(B0, 8, 1), RN(B0, 8, 2), RN(B0, 8, 0xffff) }, .want = NEXT },
	{ "indirect: next 2 in a table of 2", .d = { IND(32) }, .nind = 2,
	  .ind = { RN(B0, 8, 1), RN(B0, 8, 2) }, .want = NEXT },
	{ "indirect: next 1 in a table of 1 (the table bounds it, not N)", .d = { IND(16) },
	  .nind = 1, .ind = { RN(B0, 8, 1) }, .want = NEXT },
	/* loops: more descriptors than the table holds */
	{ "self loop 3 -> 3", .head = 3, .d = { [3] = RN(B0, 8, 3) }, .want = LOOP },
	{ "0 -> 1 -> 0", .d = { RN(B0, 8, 1), RN(B0, 8, 0) }, .want = LOOP },
	{ "0 -> 1 -> ... -> 15 -> 0: the 17th visit", .d = { CYCLE16 }, .want = LOOP },
	{ "W 0 -> W 1 -> W 0", .d = { WN(B0, 8, 1), WN(B0, 8, 0) }, .want = LOOP },
	/* 16 visits hold 2^32 bytes, which is allowed; the 17th is the loop, not 2^32 + 2^28 */
	{ "0 -> ... -> 15 -> 0 over 2^28-byte buffers: a loop before too long", .big = true,
	  .d = { CYCLE16_BIG }, .want = LOOP },
	{ "indirect: 0 -> 1 -> 0 in a table of 2", .d = { IND(32) }, .nind = 2,
	  .ind = { RN(B0, 8, 1), RN(B0, 8, 0) }, .want = LOOP },
	{ "indirect: self loop in a table of 1", .d = { IND(16) }, .nind = 1,
	  .ind = { RN(B0, 8, 0) }, .want = LOOP },
	{ "zero-length 0 -> 1 -> 0 on a queue of 128", .qsize = 128,
	  .d = { RN(B0, 0, 1), RN(B0, 0, 0) }, .want = LOOP },
	{ "1-byte 0 -> 1 -> 0 on a queue of 128: 64 segments fill first", .qsize = 128,
	  .d = { RN(B0, 1, 1), RN(B0, 1, 0) }, .want = SEGS },
	/* indirect descriptors */
	{ "indirect not negotiated", .no_indirect = true, .d = { IND(16) }, .nind = 1,
	  .ind = { R(B0, 8) }, .want = INDIR },
	{ "indirect not negotiated, after a direct descriptor", .no_indirect = true,
	  .d = { RN(B0, 8, 1), IND(16) }, .nind = 1, .ind = { R(B0, 8) }, .want = INDIR },
	{ "nested: the table's second entry is INDIRECT", .d = { IND(32) }, .nind = 2,
	  .ind = { RN(B0, 8, 1), IND(32) }, .want = INDIR },
	{ "nested: the table's only entry is INDIRECT", .d = { IND(16) }, .nind = 1,
	  .ind = { IND(16) }, .want = INDIR },
	{ "INDIRECT | NEXT", .d = { DS(TAB, 16, IN | NX, 1), R(B0, 8) }, .nind = 1,
	  .ind = { R(B0, 8) }, .want = INDIR },
	{ "INDIRECT | NEXT after a direct descriptor",
	  .d = { RN(B0, 8, 1), DS(TAB, 16, IN | NX, 2), R(B0, 8) }, .nind = 1,
	  .ind = { R(B0, 8) }, .want = INDIR },
	{ "table length 0", .d = { IND(0) }, .nind = 1, .ind = { R(B0, 8) }, .want = INDIR },
	{ "table length 8", .d = { IND(8) }, .nind = 1, .ind = { R(B0, 8) }, .want = INDIR },
	{ "table length 17", .d = { IND(17) }, .nind = 2, .ind = { RN(B0, 8, 1), R(B0, 8) },
	  .want = INDIR },
	{ "table length 24: 1.5 entries", .d = { IND(24) }, .nind = 2,
	  .ind = { RN(B0, 8, 1), R(B0, 8) }, .want = INDIR },
	{ "table length 0xfffffff8", .d = { IND(0xfffffff8) }, .nind = 1, .ind = { R(B0, 8) },
	  .want = INDIR },
	/* order: readable after writable */
	{ "W then R", .d = { WN(B0, 8, 1), R(B0, 8) }, .want = ORDER },
	{ "R W R", .d = { RN(B0, 8, 1), WN(B0, 8, 2), R(B0, 8) }, .want = ORDER },
	{ "W then a zero-length R", .d = { WN(B0, 8, 1), R(B0, 0) }, .want = ORDER },
	{ "indirect: W then R", .d = { IND(32) }, .nind = 2, .ind = { WN(B0, 8, 1), R(B0, 8) },
	  .want = ORDER },
	{ "direct W, then a table starting with R", .d = { WN(B0, 8, 1), IND(16) }, .nind = 1,
	  .ind = { R(B0, 8) }, .want = ORDER },
	/* memory */
	{ "address 0: below every region", .d = { R(0, 8) }, .want = MEMORY },
	{ "in the gap after buf1", .d = { R(GAP, 8) }, .want = MEMORY },
	{ "buf1's last byte and the gap's first", .d = { R(GAP - 1, 2) }, .want = MEMORY },
	{ "one byte past buf2's end", .d = { R(B2 + B2_SIZE - 16, 17) }, .want = MEMORY },
	{ "writable, between the desc and avail regions",
	  .d = { RN(B0, 8, 1), W(DESC_GPA + DESC_SIZE, 8) }, .want = MEMORY },
	{ "addr + len wraps 2^64: 2^64 - 8 + 16", .d = { R(UINT64_MAX - 7, 16) },
	  .want = MEMORY },
	{ "addr 2^64 - 1, len 1: the end is 2^64", .d = { R(UINT64_MAX, 1) }, .want = MEMORY },
	{ "addr 2^64 - 1, len 2^32 - 1", .d = { R(UINT64_MAX, MAXLEN) }, .want = MEMORY },
	{ "4 GiB - 1 from buf0: far past it", .d = { R(B0, MAXLEN) }, .want = MEMORY },
	{ "past the end of the 4 GiB region", .big = true, .d = { R(BIG + BIG_SIZE - 1, 2) },
	  .want = MEMORY },
	{ "indirect table in no region", .d = { DS(0x5000, 16, IN, 0) }, .want = MEMORY },
	{ "indirect table runs 16 bytes past its region", .d = { IND(32) }, .nind = 1,
	  .ind = { R(B0, 8) }, .want = MEMORY },
	/* outside memory and more than N entries: either rule may refuse it first */
	{ "indirect table of 0xfffffff0 bytes", .d = { IND(0xfffffff0) }, .nind = 1,
	  .ind = { R(B0, 8) }, .want = MEMORY, .alt = INDIR },
	{ "indirect table at 2^64 - 16", .d = { DS(UINT64_MAX - 15, 16, IN, 0) },
	  .want = MEMORY },
	{ "indirect: an entry in the gap", .d = { IND(32) }, .nind = 2,
	  .ind = { RN(B0, 8, 1), W(GAP, 8) }, .want = MEMORY },
	/* more than 2^32 bytes in all */
	{ "R (2^32 - 1) + W (2^32 - 1) = 2^33 - 2", .big = true,
	  .d = { RN(BIG, MAXLEN, 1), W(BIG, MAXLEN) }, .want = TOO_LONG },
	{ "(2^32 - 1) + 2 = 2^32 + 1", .big = true, .d = { RN(BIG, MAXLEN, 1), R(BIG, 2) },
	  .want = TOO_LONG },
	{ "1 + (2^32 - 1) + 1: the third descriptor passes 2^32", .big = true,
	  .d = { RN(B0, 1, 1), RN(BIG, MAXLEN, 2), W(B0, 1) }, .want = TOO_LONG },
	{ "indirect: (2^32 - 1) + (2^32 - 1)", .big = true, .d = { IND(32) }, .nind = 2,
	  .ind = { RN(BIG, MAXLEN, 1), W(BIG + 1, MAXLEN) }, .want = TOO_LONG },
	/* more host segments than a chain holds */
	{ "indirect: 65 one-byte buffers (queue of 128)", .qsize = 128, .build = build_ind65,
	  .want = SEGS },
	{ "indirect: 33 buffers across buf0 | buf1, 66 segments (queue of 64)", .qsize = 64,
	  .build = build_ind33_across, .want = SEGS },
	{ "direct: 65 one-byte buffers (queue of 128)", .qsize = 128, .build = build_direct65,
	  .want = SEGS },
};

static const struct chain_case good_chains[] = {
	{ "one readable buffer", .d = { R(B0, 100) }, .nseg = 1, .seg = { SR(B0, 100) },
	  .nb_readable = 1, .rlen = 100 },
	{ "R R W W",
	  .d = { RN(B0, 10, 1), RN(B0 + 0x100, 20, 2), WN(B1, 30, 3), W(B2, 40) }, .nseg = 4,
	  .seg = { SR(B0, 10), SR(B0 + 0x100, 20), SW(B1, 30), SW(B2, 40) },
	  .nb_readable = 2, .rlen = 30, .wlen = 70 },
	{ "next in any order: 5 -> 2 -> 9 -> 15", .head = 5,
	  .d = { [5] = RN(B0, 1, 2), [2] = WN(B0 + 16, 2, 9), [9] = WN(B0 + 32, 3, 15),
		 [15] = W(B0 + 48, 4) }, .nseg = 4,
	  .seg = { SR(B0, 1), SW(B0 + 16, 2), SW(B0 + 32, 3), SW(B0 + 48, 4) },
	  .nb_readable = 1, .rlen = 1, .wlen = 9 },
	{ "head 15 = N - 1", .head = 15, .d = { [15] = W(B2, 8) }, .nseg = 1,
	  .seg = { SW(B2, 8) }, .wlen = 8 },
	{ "all 16 descriptors of the table", .d = { CHAIN16 }, .nseg = 16, .seg = { SEG16 },
	  .nb_readable = 16, .rlen = 256 },
	{ "a buffer across buf0 | buf1: two segments", .d = { R(B1 - 10, 30) }, .nseg = 2,
	  .seg = { SR(B1 - 10, 10), SR(B1, 20) }, .nb_readable = 2, .rlen = 30 },
	{ "R across, then W across", .d = { RN(B1 - 1, 2, 1), W(B1 - 4096, 8192) }, .nseg = 4,
	  .seg = { SR(B1 - 1, 1), SR(B1, 1), SW(B1 - 4096, 4096), SW(B1, 4096) },
	  .nb_readable = 2, .rlen = 2, .wlen = 8192 },
	{ "all of buf0 and buf1", .d = { W(B0, 2 * BUF_SIZE) }, .nseg = 2,
	  .seg = { SW(B0, BUF_SIZE), SW(B1, BUF_SIZE) }, .wlen = 2 * BUF_SIZE },
	{ "ending on buf2's last byte", .d = { R(B2 + B2_SIZE - 16, 16) }, .nseg = 1,
	  .seg = { SR(B2 + B2_SIZE - 16, 16) }, .nb_readable = 1, .rlen = 16 },
	{ "indirect: R W W", .d = { IND(48) }, .nind = 3,
	  .ind = { RN(B0, 10, 1), WN(B0 + 64, 20, 2), W(B1, 30) }, .nseg = 3,
	  .seg = { SR(B0, 10), SW(B0 + 64, 20), SW(B1, 30) }, .nb_readable = 1, .rlen = 10,
	  .wlen = 50 },
	{ "indirect: a table of one, on its region's last 16 bytes", .d = { IND(16) },
	  .nind = 1, .ind = { R(B2, 5) }, .nseg = 1, .seg = { SR(B2, 5) }, .nb_readable = 1,
	  .rlen = 5 },
	{ "indirect: 0 -> 2 -> 1", .d = { IND(48) }, .nind = 3,
	  .ind = { RN(B0, 1, 2), W(B0 + 16, 3), WN(B0 + 8, 2, 1) }, .nseg = 3,
	  .seg = { SR(B0, 1), SW(B0 + 8, 2), SW(B0 + 16, 3) }, .nb_readable = 1, .rlen = 1,
	  .wlen = 5 },
	{ "indirect: a buffer across buf0 | buf1", .d = { IND(16) }, .nind = 1,
	  .ind = { W(B1 - 3, 5) }, .nseg = 2, .seg = { SW(B1 - 3, 3), SW(B1, 2) }, .wlen = 5 },
	{ "direct R, then indirect [W W]", .d = { RN(B0, 10, 1), IND(32) }, .nind = 2,
	  .ind = { WN(B1, 20, 1), W(B2, 30) }, .nseg = 3,
	  .seg = { SR(B0, 10), SW(B1, 20), SW(B2, 30) }, .nb_readable = 1, .rlen = 10,
	  .wlen = 50 },
	{ "direct R, direct W, then indirect [W]",
	  .d = { RN(B0, 10, 1), WN(B0 + 32, 10, 2), IND(16) }, .nind = 1, .ind = { W(B2, 7) },
	  .nseg = 3, .seg = { SR(B0, 10), SW(B0 + 32, 10), SW(B2, 7) }, .nb_readable = 1,
	  .rlen = 10, .wlen = 17 },
	{ "direct R, then indirect [R W]", .d = { RN(B0, 10, 1), IND(32) }, .nind = 2,
	  .ind = { RN(B0 + 16, 4, 1), W(B2, 30) }, .nseg = 3,
	  .seg = { SR(B0, 10), SR(B0 + 16, 4), SW(B2, 30) }, .nb_readable = 2, .rlen = 14,
	  .wlen = 30 },
	{ "WRITE on the indirect descriptor is ignored", .d = { DS(TAB, 32, IN | WR, 0) },
	  .nind = 2, .ind = { RN(B0, 10, 1), W(B1, 20) }, .nseg = 2,
	  .seg = { SR(B0, 10), SW(B1, 20) }, .nb_readable = 1, .rlen = 10, .wlen = 20 },
	{ "a zero-length buffer: no segment, its address never used",
	  .d = { RN(B0, 8, 1), RN(0xdead0000, 0, 2), W(B1, 8) }, .nseg = 2,
	  .seg = { SR(B0, 8), SW(B1, 8) }, .nb_readable = 1, .rlen = 8, .wlen = 8 },
	{ "exactly 2^32 bytes: (2^32 - 1) + 1", .big = true,
	  .d = { RN(BIG, MAXLEN, 1), W(BIG + BIG_SIZE - 1, 1) }, .nseg = 2,
	  .seg = { SR(BIG, MAXLEN), SW(BIG + BIG_SIZE - 1, 1) }, .nb_readable = 1,
	  .rlen = MAXLEN, .wlen = 1 },
};

/* Write @c's descriptors (and its indirect table) and make its head available. */
static void
write_case(struct fx *fx, const struct chain_case *c)
{
	uint64_t tab = IND_END - 16ull * c->nind;
	struct pvb_virtq_desc d, *t;
	uint16_t i;

	for (i = 0; i < DIM(c->d) && i < fx->n; i++) {
		d = c->d[i];
		d.addr = d.addr == TAB ? tab : d.addr;
		fx->desc[i] = d;
	}
	if (c->nind != 0) {
		t = gpa_host(fx, tab);
		for (i = 0; i < c->nind; i++) {
			d = c->ind[i];
			d.addr = d.addr == TAB ? tab : d.addr;
			t[i] = d;
		}
	}
	if (c->build != NULL)
		c->build(fx);
	avail_put(fx, c->head);
}

static void
expect_seg(const struct fx *fx, const struct pvb_virtq_chain *c, uint32_t i,
	   const struct wseg *w, const char *what)
{
	at("%s; segment %u", what, i);
	expect_ptr(c->seg[i].host, gpa_host(fx, w->gpa));
	expect_eq(c->seg[i].len, w->len);
	expect_eq(c->seg[i].write, w->write);
}

/*
 * Pop, refuse, go on: the fault is named, c->head is set, no byte of guest
 * memory moved, the queue is not stopped, the refused head can be handed
 * back, and a well-formed chain after it pops.
 */
static void
check_bad_chain(struct fx *fx, const struct chain_case *b, enum pop_path path)
{
	uint16_t n = b->qsize != 0 ? b->qsize : QN;
	struct pvb_virtq_used_elem e;
	struct pvb_virtq_chain c;
	char what[sizeof(here)];

	snprintf(what, sizeof(what), "bad chain (%s): %s", path_name[path], b->what);
	at("%s", what);
	if (b->big && !have_big(fx)) {
		print_message("skipped (no 4 GiB region): %s\n", b->what);
		return;
	}
	fx_open(fx, n, b->no_indirect ? 0 : F_IND);
	write_case(fx, b);
	snapshot(fx);
	memset(&c, POISON, sizeof(c));
	expect_eq(pop_via(fx, path, &c), -EBADMSG);
	expect_fault(&fx->q, b->alt != PVB_VIRTQ_OK && fx->q.fault == b->alt ? b->alt : b->want);
	expect_eq(c.head, b->head);
	expect_false(fx->q.needs_reset);
	expect_eq(fx->q.bad_chains, 1);
	expect_eq(fx->q.next_avail_idx, 1);
	assert_mem_unchanged(fx);
	expect_eq(rd16(&fx->used->idx), 0);

	/* the caller hands the refused chain back with length 0, if it has a head */
	if (b->head < n) {
		expect_eq(pvb_virtq_dev_push_used(&fx->q, c.head, 0), 0);
		memcpy(&e, &fx->used->ring[0], sizeof(e));
		expect_eq(e.id, b->head);
		expect_eq(e.len, 0);
		expect_eq(rd16(&fx->used->idx), 1);
	} else {
		expect_eq(pvb_virtq_dev_push_used(&fx->q, c.head, 0), -EINVAL);
	}

	/* and the queue goes on: one readable buffer at head 0 */
	at("%s; then a good chain", what);
	put_desc(fx, 0, B2, 10, 0, 0);
	avail_put(fx, 0);
	memset(&c, POISON, sizeof(c));
	expect_eq(pop_via(fx, path, &c), 0);
	expect_eq(c.head, 0);
	expect_eq(c.nb_segs, 1);
	expect_eq(c.nb_readable, 1);
	expect_eq(c.readable_len, 10);
	expect_eq(c.writable_len, 0);
	expect_seg(fx, &c, 0, &(struct wseg){ B2, 10, false }, what);
	expect_eq(pop_via(fx, path, &c), -EAGAIN);
	expect_eq(fx->q.bad_chains, 1);
	expect_false(fx->q.needs_reset);
}

static void
test_bad_chains(void **state)
{
	size_t i;
	int p;

	for (p = 0; p < NB_PATHS; p++)
		for (i = 0; i < DIM(bad_chains); i++)
			check_bad_chain(*state, &bad_chains[i], (enum pop_path)p);
}

static void
check_good_chain(struct fx *fx, const struct chain_case *g, enum pop_path path)
{
	uint16_t n = g->qsize != 0 ? g->qsize : QN;
	struct pvb_virtq_chain c;
	char what[sizeof(here)];
	uint32_t i;

	snprintf(what, sizeof(what), "good chain (%s): %s", path_name[path], g->what);
	at("%s", what);
	if (g->big && !have_big(fx)) {
		print_message("skipped (no 4 GiB region): %s\n", g->what);
		return;
	}
	fx_open(fx, n, g->no_indirect ? 0 : F_IND);
	write_case(fx, g);
	snapshot(fx);
	memset(&c, POISON, sizeof(c));
	expect_eq(pop_via(fx, path, &c), 0);
	expect_fault(&fx->q, PVB_VIRTQ_OK);
	expect_eq(fx->q.bad_chains, 0);
	expect_eq(c.head, g->head);
	expect_eq(c.nb_segs, g->nseg);
	expect_eq(c.nb_readable, g->nb_readable);
	expect_eq(c.readable_len, g->rlen);
	expect_eq(c.writable_len, g->wlen);
	for (i = 0; i < g->nseg && i < c.nb_segs; i++)
		expect_seg(fx, &c, i, &g->seg[i], what);
	at("%s", what);
	assert_mem_unchanged(fx);
	expect_eq(pop_via(fx, path, &c), -EAGAIN);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, c.head, 3), 0);
	expect_eq(fx->used->ring[0].id, g->head);
	expect_eq(fx->used->ring[0].len, 3);
	expect_eq(rd16(&fx->used->idx), 1);
}

static void
test_good_chains(void **state)
{
	size_t i;

	int p;

	for (p = 0; p < NB_PATHS; p++)
		for (i = 0; i < DIM(good_chains); i++)
			check_good_chain(*state, &good_chains[i], (enum pop_path)p);
}

/* Exactly PVB_VIRTQ_MAX_SEGS segments is fine, direct or indirect. */
static void
check_chain_max_segs(struct fx *fx, enum pop_path path)
{
	struct pvb_virtq_chain c;
	uint32_t i;

	_Static_assert(PVB_VIRTQ_MAX_SEGS == 64, "the cases below count to 64");
	at("%s: 64 one-byte buffers in a direct chain (queue of 64)", path_name[path]);
	fx_open(fx, 64, 0);
	for (i = 0; i < 64; i++)
		put_desc(fx, (uint16_t)i, B0 + 16ull * i, 1, i + 1 < 64 ? NX : 0,
			 (uint16_t)(i + 1));
	avail_put(fx, 0);
	expect_eq(pop_via(fx, path, &c), 0);
	expect_eq(c.nb_segs, 64);
	expect_eq(c.readable_len, 64);
	for (i = 0; i < 64; i++)
		expect_ptr(c.seg[i].host, gpa_host(fx, B0 + 16ull * i));

	at("%s: 32 buffers across buf0 | buf1 in an indirect table: 64 segments",
	   path_name[path]);
	fx_open(fx, 32, F_IND);
	put_ind_table(fx, 32, B1 - 8, 16, 0);
	avail_put(fx, 0);
	expect_eq(pop_via(fx, path, &c), 0);
	expect_eq(c.nb_segs, 64);
	expect_eq(c.readable_len, 32 * 16);
	for (i = 0; i < 64; i++) {
		expect_ptr(c.seg[i].host, gpa_host(fx, i % 2 == 0 ? B1 - 8 : B1));
		expect_eq(c.seg[i].len, 8);
	}
}

/*
 * VIRTIO 1.2 §2.7.5.3 puts no alignment on an indirect table's address, and
 * nothing keeps it inside one memory region (DPDK's vhost copies a table
 * that is not contiguous in host memory). A driver may do either; the device must take such tables.
 * Every placement is tried, then the ones refused are named together.
 */
static void
test_chain_max_segs(void **state)
{
	int p;

	for (p = 0; p < NB_PATHS; p++)
		check_chain_max_segs(*state, (enum pop_path)p);
}

static void
check_indirect_table_placement(struct fx *fx, enum pop_path path)
{
	static const struct {
		const char *what;
		uint64_t tab;
	} places[] = {
		{ "at IND + 0", IND_GPA },
		{ "at 4 mod 8", IND_GPA + 4 },
		{ "at an odd address", IND_GPA + 1 },
		{ "across buf0 | buf1, one entry in each", B1 - 16 },
		{ "across buf0 | buf1, split inside an entry", B1 - 8 },
	};
	const struct pvb_virtq_desc t[2] = { RN(B0, 10, 1), W(B2, 20) };
	struct pvb_virtq_chain c;
	char refused[512] = "";
	size_t i, len;
	bool ok;
	int rc;

	for (i = 0; i < DIM(places); i++) {
		at("%s: indirect table %s", path_name[path], places[i].what);
		fx_open(fx, QN, F_IND);
		gpa_write(fx, places[i].tab, (const uint8_t *)t, sizeof(t), 0);
		put_desc(fx, 0, places[i].tab, sizeof(t), IN, 0);
		avail_put(fx, 0);
		snapshot(fx);
		rc = pop_via(fx, path, &c);
		assert_mem_unchanged(fx);
		ok = rc == 0 && c.nb_segs == 2 && c.nb_readable == 1 && c.readable_len == 10 &&
		     c.writable_len == 20 && c.seg[0].host == gpa_host(fx, B0) &&
		     c.seg[1].host == gpa_host(fx, B2);
		if (!ok) {
			len = strlen(refused);
			snprintf(refused + len, sizeof(refused) - len, "\n  %s: %d, %s",
				 places[i].what, rc, pvb_virtq_fault_str(fx->q.fault));
		}
	}
	if (refused[0] != '\0')
		fail_msg("%s: indirect tables refused:%s", path_name[path], refused);
}

static void
test_indirect_table_placement(void **state)
{
	int p;

	for (p = 0; p < NB_PATHS; p++)
		check_indirect_table_placement(*state, (enum pop_path)p);
}

/*
 * VIRTIO 1.2 §2.7.5.3.1: no chain longer than the Queue Size: the
 * driver MUST NOT build a longer one, the device must enforce it (DPDK
 * rejects an indirect table of more than N entries).
 */
static void
check_dev_indirect_longer_than_queue(struct fx *fx, enum pop_path path)
{
	struct pvb_virtq_chain c;

	at("device (%s): an indirect table of N + 1 = 17 entries", path_name[path]);
	fx_open(fx, QN, F_IND);
	put_ind_table(fx, QN + 1, B0, 1, 16);
	avail_put(fx, 0);
	expect_eq(pop_via(fx, path, &c), -EBADMSG);
	expect_true(fx->q.fault == PVB_VIRTQ_FAULT_INDIRECT ||
		    fx->q.fault == PVB_VIRTQ_FAULT_LOOP);
	expect_eq(c.head, 0);
	expect_false(fx->q.needs_reset);

	at("device (%s): an indirect table of N = 16 entries", path_name[path]);
	fx_open(fx, QN, F_IND);
	put_ind_table(fx, QN, B0, 1, 16);
	avail_put(fx, 0);
	expect_eq(pop_via(fx, path, &c), 0);
	expect_eq(c.nb_segs, QN);
}

static void
test_dev_indirect_longer_than_queue(void **state)
{
	int p;

	for (p = 0; p < NB_PATHS; p++)
		check_dev_indirect_longer_than_queue(*state, (enum pop_path)p);
}

static void
test_drv_indirect_longer_than_queue(void **state)
{
	struct pvb_virtq_buf bufs[QN + 1];
	struct fx *fx = *state;
	void *t;
	uint32_t i;

	at("driver: add_indirect of N + 1 = 17 buffers");
	fx_open(fx, QN, F_IND);
	t = gpa_host(fx, IND_GPA);
	for (i = 0; i < DIM(bufs); i++)
		bufs[i] = (struct pvb_virtq_buf){ B0 + 16ull * i, 1, false };
	/* N entries is the most */
	expect_eq(pvb_virtq_drv_add_indirect(&fx->d, bufs, QN, t, IND_GPA, TOK(0)), 0);
	expect_eq(pvb_virtq_drv_add_indirect(&fx->d, bufs, QN + 1, t, IND_GPA, TOK(1)),
		  -EINVAL);
	expect_eq(fx->d.num_free, QN - 1);
}

/* ----------------------------------------------------------------------------
 * The avail index: more than N ahead stops the queue until reset (VIRTIO 1.2 §2.7.6, §2.7.13)
 */

static const struct avail_idx_case {
	const char *what;
	uint16_t base;		/* next_avail_idx and avail->idx at start (SET_VRING_BASE) */
	uint16_t popped;	/* good chains popped first */
	uint16_t idx;		/* then avail->idx */
} avail_idx_cases[] = {
	{ "N + 1 = 17 ahead", 0, 0, QN + 1 },
	{ "0xffff ahead", 0, 0, 0xffff },
	{ "0x8000 ahead", 0, 0, 0x8000 },
	{ "moved back by one", 0, 3, 2 },
	{ "moved back by N", 0, 3, (uint16_t)(3 - QN) },
	{ "N + 1 ahead across the wrap: 65530 + 17 = 11", 65530, 0, 11 },
	{ "moved back across the wrap: 2 pops from 65535, then 65535", 65535, 2, 65535 },
};

static void
check_avail_idx(struct fx *fx, const struct avail_idx_case *k, enum pop_path path)
{
	struct pvb_virtq_chain c, c0;
	uint16_t i;

	at("avail idx (%s): %s", path_name[path], k->what);
	fx_open(fx, QN, F_IND);
	fx->q.next_avail_idx = k->base;
	wr16(&fx->avail->idx, k->base);
	put_desc(fx, 0, B0, 8, 0, 0);
	for (i = 0; i < k->popped; i++) {
		avail_put(fx, 0);
		expect_eq(pop_via(fx, path, &c), 0);
	}
	wr16(&fx->avail->idx, k->idx);
	snapshot(fx);
	memset(&c, POISON, sizeof(c));
	memcpy(&c0, &c, sizeof(c));
	expect_eq(pop_via(fx, path, &c), -EPIPE);
	expect_fault(&fx->q, PVB_VIRTQ_FAULT_AVAIL_IDX);
	expect_true(fx->q.needs_reset);
	expect_eq(fx->q.next_avail_idx, (uint16_t)(k->base + k->popped));
	expect_true(memcmp(&c, &c0, sizeof(c)) == 0);
	assert_mem_unchanged(fx);
	/* a sane index again does not revive it */
	wr16(&fx->avail->idx, (uint16_t)(k->base + k->popped + 1));
	expect_eq(pop_via(fx, path, &c), -EPIPE);
	expect_eq(pop_via(fx, path, &c), -EPIPE);
	expect_true(memcmp(&c, &c0, sizeof(c)) == 0);

	/* reset, the transport sets the queue up again, the driver starts over */
	pvb_virtq_dev_reset(&fx->q);
	expect_false(fx->q.needs_reset);
	expect_eq(pop_via(fx, path, &c), -EINVAL);
	memset(fx->avail, 0, 6 + 2 * QN);
	memset(fx->used, 0, 6 + 8 * QN);
	dev_open(fx, F_IND);
	avail_put(fx, 0);
	expect_eq(pop_via(fx, path, &c), 0);
	expect_eq(c.head, 0);
	expect_eq(c.nb_segs, 1);
	expect_fault(&fx->q, PVB_VIRTQ_OK);
}

static void
test_avail_idx(void **state)
{
	struct fx *fx = *state;
	struct pvb_virtq_chain c;
	enum pop_path path;
	size_t i;
	uint16_t k;
	int p;

	for (p = 0; p < NB_PATHS; p++)
		for (i = 0; i < DIM(avail_idx_cases); i++)
			check_avail_idx(fx, &avail_idx_cases[i], (enum pop_path)p);
	/* exactly N ahead is a full ring, not a fault; also across the wrap */
	for (i = 0; i < 2 * NB_PATHS; i++) {
		path = (enum pop_path)(i / 2);
		at("avail idx (%s): exactly N ahead, from %u", path_name[path],
		   i % 2 == 0 ? 0u : 65530u);
		fx_open(fx, QN, 0);
		fx->q.next_avail_idx = i % 2 == 0 ? 0 : 65530;
		wr16(&fx->avail->idx, fx->q.next_avail_idx);
		for (k = 0; k < QN; k++) {
			put_desc(fx, k, B0 + k, 1, 0, 0);
			avail_put(fx, k);
		}
		for (k = 0; k < QN; k++) {
			expect_eq(pop_via(fx, path, &c), 0);
			expect_eq(c.head, k);
		}
		expect_eq(pop_via(fx, path, &c), -EAGAIN);
		expect_false(fx->q.needs_reset);
	}
}

/* ----------------------------------------------------------------------------
 * Guest memory table
 */

/* host addresses for tables whose memory is never touched: offsets are compared as integers */
static uint8_t hb[8][64];

struct mem_init_case {
	const char *what;
	uint32_t n;
	struct pvb_virtq_region r[PVB_VIRTQ_MAX_REGIONS + 1];
	int want;
};

#define RG(g, s, h)	{ (g), (s), hb[h] }

static const struct mem_init_case mem_init_cases[] = {
	{ "no region", 0, { { 0, 0, NULL } }, 0 },
	{ "one region", 1, { RG(0x1000, 0x1000, 0) }, 0 },
	{ "adjacent, given out of order", 2, { RG(0x2000, 0x1000, 1), RG(0x1000, 0x1000, 0) },
	  0 },
	{ "ending at 2^64 - 1", 1, { RG(UINT64_MAX - 0xfff, 0xfff, 0) }, 0 },
	{ "eight regions", 8,
	  { RG(0x8000, 1, 0), RG(0x7000, 1, 1), RG(0x6000, 1, 2), RG(0x5000, 1, 3),
	    RG(0x4000, 1, 4), RG(0x3000, 1, 5), RG(0x2000, 1, 6), RG(0x1000, 1, 7) }, 0 },
	{ "nine regions", 9,
	  { RG(0x1000, 1, 0), RG(0x2000, 1, 1), RG(0x3000, 1, 2), RG(0x4000, 1, 3),
	    RG(0x5000, 1, 4), RG(0x6000, 1, 5), RG(0x7000, 1, 6), RG(0x8000, 1, 7),
	    RG(0x9000, 1, 0) }, -EINVAL },
	{ "empty region", 1, { RG(0x1000, 0, 0) }, -EINVAL },
	{ "empty region after a good one", 2, { RG(0x1000, 0x1000, 0), RG(0x3000, 0, 1) },
	  -EINVAL },
	{ "no host pointer", 1, { { 0x1000, 0x1000, NULL } }, -EINVAL },
	{ "gpa + size wraps: 2^64 - 0x1000 + 0x2000", 1, { RG(UINT64_MAX - 0xfff, 0x2000, 0) },
	  -EINVAL },
	{ "gpa + size = 2^64 exactly (not representable)", 1,
	  { RG(UINT64_MAX - 0xfff, 0x1000, 0) }, -EINVAL },
	{ "size 2^64 - 1 from 1", 1, { RG(1, UINT64_MAX, 0) }, -EINVAL },
	{ "overlap by one byte", 2, { RG(0x1000, 0x1001, 0), RG(0x2000, 0x1000, 1) }, -EINVAL },
	{ "overlap, given out of order", 2, { RG(0x2000, 0x1000, 1), RG(0x1000, 0x1001, 0) },
	  -EINVAL },
	{ "the same start twice", 2, { RG(0x1000, 0x10, 0), RG(0x1000, 0x20, 1) }, -EINVAL },
	{ "one inside another", 3,
	  { RG(0x10000, 0x1000, 0), RG(0x1000, 0x8000, 1), RG(0x2000, 0x10, 2) }, -EINVAL },
	{ "an overlap between the third and the first", 3,
	  { RG(0x1000, 0x1000, 0), RG(0x8000, 0x1000, 1), RG(0x0, 0x1001, 2) }, -EINVAL },
};

static void
test_mem_init(void **state)
{
	const struct mem_init_case *k;
	struct pvb_virtq_mem m;
	uint32_t i, j;
	size_t c;

	(void)state;
	for (c = 0; c < DIM(mem_init_cases); c++) {
		k = &mem_init_cases[c];
		at("mem_init: %s", k->what);
		memset(&m, POISON, sizeof(m));
		expect_eq(pvb_virtq_mem_init(&m, k->r, k->n), k->want);
		if (k->want != 0)
			continue;
		expect_eq(m.nb_regions, k->n);
		/* sorted by address, and each given region is there once */
		for (i = 1; i < m.nb_regions; i++)
			expect_true(m.r[i - 1].gpa < m.r[i].gpa);
		for (i = 0; i < k->n; i++) {
			for (j = 0; j < m.nb_regions; j++)
				if (m.r[j].gpa == k->r[i].gpa && m.r[j].size == k->r[i].size &&
				    m.r[j].host == k->r[i].host)
					break;
			expect_true(j < m.nb_regions);
		}
	}
	at("mem_init: bad arguments");
	expect_eq(pvb_virtq_mem_init(NULL, mem_init_cases[1].r, 1), -EINVAL);
	expect_eq(pvb_virtq_mem_init(&m, NULL, 1), -EINVAL);
	expect_eq(pvb_virtq_mem_init(&m, NULL, 0), 0);
	expect_eq(m.nb_regions, 0);
}

/*
 * A table of its own: three adjacent regions (host pointers apart), a gap,
 * a fourth, and one near the top of the address space.
 */
static const struct pvb_virtq_region xl_regions[] = {
	RG(0x10000, 0x1000, 0),
	RG(0x11000, 0x1000, 1),
	RG(0x12000, 0x10, 2),
	RG(0x20000, 0x1000, 3),
	RG(UINT64_MAX - 0x1fff, 0x1000, 4),	/* [2^64 - 0x2000, 2^64 - 0x1000) */
};

#define XS(h, off, l)	{ (h), (off), (l) }

struct xl_case {
	const char *what;
	uint64_t gpa, len;
	uint32_t max;
	int want;
	struct { int h; uint32_t off, len; } seg[4];
};

static const struct xl_case xl_cases[] = {
	{ "inside one region", 0x10010, 0x20, 4, 1, { XS(0, 0x10, 0x20) } },
	{ "a whole region", 0x20000, 0x1000, 4, 1, { XS(3, 0, 0x1000) } },
	{ "across two", 0x10ff0, 0x20, 4, 2, { XS(0, 0xff0, 0x10), XS(1, 0, 0x10) } },
	{ "across three", 0x10fff, 0x1011, 4, 3,
	  { XS(0, 0xfff, 1), XS(1, 0, 0x1000), XS(2, 0, 0x10) } },
	{ "across three, room for exactly three", 0x10fff, 0x1011, 3, 3,
	  { XS(0, 0xfff, 1), XS(1, 0, 0x1000), XS(2, 0, 0x10) } },
	{ "across two, room for one", 0x10ff0, 0x20, 1, -ENOBUFS, { { 0, 0, 0 } } },
	{ "across three, room for two", 0x10fff, 0x1011, 2, -ENOBUFS, { { 0, 0, 0 } } },
	{ "one region, room for none", 0x10000, 1, 0, -ENOBUFS, { { 0, 0, 0 } } },
	{ "length 0: no segment", 0x10000, 0, 0, 0, { { 0, 0, 0 } } },
	{ "length 0 outside every region", 0x5, 0, 4, 0, { { 0, 0, 0 } } },
	{ "running into the gap after the third", 0x12000, 0x11, 4, -EFAULT, { { 0, 0, 0 } } },
	{ "across the gap to the fourth", 0x12000, 0xe001, 4, -EFAULT, { { 0, 0, 0 } } },
	{ "starting in the gap", 0x12010, 1, 4, -EFAULT, { { 0, 0, 0 } } },
	{ "below every region", 0xffff, 2, 4, -EFAULT, { { 0, 0, 0 } } },
	{ "one past the fourth", 0x20000, 0x1001, 4, -EFAULT, { { 0, 0, 0 } } },
	{ "the top region, whole", UINT64_MAX - 0x1fff, 0x1000, 4, 1, { XS(4, 0, 0x1000) } },
	{ "the top region, one past", UINT64_MAX - 0x1fff, 0x1001, 4, -EFAULT,
	  { { 0, 0, 0 } } },
	{ "from the top region, wrapping 2^64", UINT64_MAX - 0x17ff, UINT64_MAX - 0xff, 4,
	  -EFAULT, { { 0, 0, 0 } } },
	{ "2^64 - 1, length 1", UINT64_MAX, 1, 4, -EFAULT, { { 0, 0, 0 } } },
	{ "length 2^64 - 1 from 0x10000", 0x10000, UINT64_MAX, 4, -EFAULT, { { 0, 0, 0 } } },
};

static void
test_mem_translate(void **state)
{
	const struct xl_case *k;
	struct pvb_virtq_seg seg[6];
	struct pvb_virtq_mem m;
	size_t c;
	int i;

	(void)state;
	assert_int_equal(pvb_virtq_mem_init(&m, xl_regions, DIM(xl_regions)), 0);
	for (c = 0; c < DIM(xl_cases); c++) {
		k = &xl_cases[c];
		at("translate: %s", k->what);
		memset(seg, POISON, sizeof(seg));
		expect_eq(pvb_virtq_mem_translate(&m, k->gpa, k->len, seg, k->max), k->want);
		for (i = 0; i < k->want; i++) {
			expect_eq((uintptr_t)seg[i].host,
				  (uintptr_t)hb[k->seg[i].h] + k->seg[i].off);
			expect_eq(seg[i].len, k->seg[i].len);
			expect_false(seg[i].write);
		}
		/* nothing written past the room it was given */
		expect_true(bytes_all(seg + k->max, sizeof(seg) - k->max * sizeof(seg[0]),
				      POISON));
	}
	at("translate: bad arguments");
	expect_eq(pvb_virtq_mem_translate(NULL, 0x10000, 1, seg, 1), -EINVAL);
	expect_eq(pvb_virtq_mem_translate(&m, 0x10000, 1, NULL, 1), -EINVAL);
	at("translate: an empty table");
	assert_int_equal(pvb_virtq_mem_init(&m, NULL, 0), 0);
	expect_eq(pvb_virtq_mem_translate(&m, 0x10000, 1, seg, 1), -EFAULT);
}

/* More than 4 GiB in one region: segments stop at 2^32 - 1 bytes. */
static void
test_mem_translate_huge(void **state)
{
	const struct pvb_virtq_region r = { 0x100000000ull, 0x300000000ull, hb[0] };
	struct pvb_virtq_seg seg[4];
	struct pvb_virtq_mem m;

	(void)state;
	at("translate: 8 GiB + 2 in a 12 GiB region");
	assert_int_equal(pvb_virtq_mem_init(&m, &r, 1), 0);
	/* 2^33 + 2 = 2 * (2^32 - 1) + 4 */
	expect_eq(pvb_virtq_mem_translate(&m, r.gpa, (1ull << 33) + 2, seg, 4), 3);
	/* offsets from the region's host address, as integers: nothing is dereferenced */
	expect_eq((uintptr_t)seg[0].host - (uintptr_t)hb[0], 0);
	expect_eq(seg[0].len, MAXLEN);
	expect_eq((uintptr_t)seg[1].host - (uintptr_t)hb[0], MAXLEN);
	expect_eq(seg[1].len, MAXLEN);
	expect_eq((uintptr_t)seg[2].host - (uintptr_t)hb[0], 2ull * MAXLEN);
	expect_eq(seg[2].len, 4);
}

struct ptr_case {
	const char *what;
	uint64_t gpa, len;
	int h;			/* -1: NULL */
	uint32_t off;
};

static const struct ptr_case ptr_cases[] = {
	{ "inside", 0x10010, 0x20, 0, 0x10 },
	{ "a whole region", 0x11000, 0x1000, 1, 0 },
	{ "ending on a region's last byte", 0x12008, 8, 2, 8 },
	{ "length 0 in a region", 0x20fff, 0, 3, 0xfff },
	{ "across two adjacent regions", 0x10ff0, 0x20, -1, 0 },
	{ "one byte past", 0x12008, 9, -1, 0 },
	{ "in the gap", 0x13000, 1, -1, 0 },
	{ "length 0 in the gap", 0x13000, 0, -1, 0 },
	{ "wrapping 2^64", UINT64_MAX - 0x1fff, UINT64_MAX, -1, 0 },
	{ "the top region", UINT64_MAX - 0x1fff, 0x1000, 4, 0 },
	{ "2^64 - 1, length 1", UINT64_MAX, 1, -1, 0 },
};

static void
test_mem_ptr(void **state)
{
	const struct ptr_case *k;
	struct pvb_virtq_mem m;
	size_t c;

	(void)state;
	assert_int_equal(pvb_virtq_mem_init(&m, xl_regions, DIM(xl_regions)), 0);
	for (c = 0; c < DIM(ptr_cases); c++) {
		k = &ptr_cases[c];
		at("mem_ptr: %s", k->what);
		if (k->h < 0)
			expect_ptr(pvb_virtq_mem_ptr(&m, k->gpa, k->len), NULL);
		else
			expect_eq((uintptr_t)pvb_virtq_mem_ptr(&m, k->gpa, k->len),
				  (uintptr_t)hb[k->h] + k->off);
	}
	at("mem_ptr: no table");
	expect_ptr(pvb_virtq_mem_ptr(NULL, 0x10000, 1), NULL);
}

/* ----------------------------------------------------------------------------
 * Notification suppression (VIRTIO 1.2 §2.7.7, §2.7.10)
 */

static const struct need_case {
	uint16_t event, new_idx, old_idx;
	bool want;
} need_cases[] = {
	/* old 65534, new 2: entries 65534, 65535, 0, 1 were published */
	{ 65535, 2, 65534, true },	/* u16(2 - 65535 - 1) = 2 < u16(2 - 65534) = 4 */
	{ 1, 2, 65534, true },		/* u16(2 - 1 - 1) = 0 < 4 */
	{ 2, 2, 65534, false },		/* u16(2 - 2 - 1) = 65535, not < 4 */
	{ 65533, 2, 65534, false },	/* u16(2 - 65533 - 1) = 4, not < 4 */
	{ 65534, 2, 65534, true },	/* 3 < 4: the window's first entry */
	{ 0, 2, 65534, true },		/* 1 < 4 */
	{ 3, 2, 65534, false },		/* 65534 */
	{ 32767, 2, 65534, false },	/* u16(2 - 32768) = 32770 */
	/* no wrap: old 10, new 12 publish 10 and 11 */
	{ 9, 12, 10, false },		/* u16(12 - 9 - 1) = 2, not < 2 */
	{ 10, 12, 10, true },		/* 1 < 2 */
	{ 11, 12, 10, true },		/* 0 < 2 */
	{ 12, 12, 10, false },		/* 65535 */
	/* nothing published: never */
	{ 5, 5, 5, false },
	{ 4, 5, 5, false },
	{ 6, 5, 5, false },
	/* one entry */
	{ 0, 1, 0, true },
	{ 65535, 0, 65535, true },	/* the one entry 65535, new wrapped to 0 */
	{ 0, 0, 65535, false },
	{ 65534, 0, 65535, false },
	/* the widest window N = 32768 allows: old 0, new 32768 */
	{ 0, 32768, 0, true },
	{ 32767, 32768, 0, true },	/* u16(32768 - 32767 - 1) = 0 */
	{ 32768, 32768, 0, false },
	{ 65535, 32768, 0, false },	/* u16(32768 - 65535 - 1) = 32768 */
	/* an event left far behind (== would say no forever, >= would say yes) */
	{ 100, 200, 150, false },
	{ 100, 50, 40, false },		/* ahead of new */
};

static void
test_need_event(void **state)
{
	static const uint16_t olds[] = { 0, 1, 100, 32767, 32768, 65000, 65534, 65535 };
	static const uint16_t spans[] = { 0, 1, 2, 4, 255, 256, 32767, 32768 };
	const struct need_case *k;
	uint16_t old, nw;
	uint32_t e;
	size_t i, j;
	bool want;

	(void)state;
	for (i = 0; i < DIM(need_cases); i++) {
		k = &need_cases[i];
		at("need_event(event %u, new %u, old %u)", k->event, k->new_idx, k->old_idx);
		expect_eq(pvb_vring_need_event(k->event, k->new_idx, k->old_idx) != 0, k->want);
	}
	/* every event against a few windows: yes iff event is in [old, new) mod 2^16 */
	for (i = 0; i < DIM(olds); i++)
		for (j = 0; j < DIM(spans); j++) {
			old = olds[i];
			nw = (uint16_t)(old + spans[j]);
			for (e = 0; e <= UINT16_MAX; e++) {
				want = (uint16_t)(e - old) < spans[j];
				if ((pvb_vring_need_event((uint16_t)e, nw, old) != 0) != want)
					fail_msg("need_event(%u, %u, %u) != %d", e, nw, old, want);
			}
		}
}

/* Device: push @n used elements (head 0) and publish them. */
static void
dev_push(struct fx *fx, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		expect_eq(pvb_virtq_dev_add_used(&fx->q, 0, 0), 0);
	pvb_virtq_dev_write_used_idx(&fx->q);
}

static const struct dev_notify_case {
	uint16_t old;		/* used idx at the first decision */
	uint16_t pushed;	/* used elements added since */
	uint16_t used_event;
	bool want;
} dev_notify_cases[] = {
	/* a window across the wrap: old 65534, 4 elements, new 2 */
	{ 65534, 4, 65535, true },
	{ 65534, 4, 1, true },
	{ 65534, 4, 2, false },
	{ 65534, 4, 65533, false },
	{ 65534, 4, 65534, true },
	{ 0, 1, 0, true },
	{ 0, 1, 1, false },
	{ 0, 1, 65535, false },
	{ 10, 0, 10, false },		/* nothing new */
	{ 100, 16, 115, true },		/* the last of 16: u16(116 - 115 - 1) = 0 < 16 */
	{ 100, 16, 116, false },
	{ 100, 16, 99, false },
};

static void
test_dev_should_notify(void **state)
{
	const struct dev_notify_case *k;
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < DIM(dev_notify_cases); i++) {
		k = &dev_notify_cases[i];
		at("device, event idx: old %u, %u pushed, used_event %u", k->old, k->pushed,
		   k->used_event);
		fx_open(fx, QN, F_EVT);
		fx->q.next_used_idx = k->old;
		wr16(&fx->used->idx, k->old);
		/* the first decision after enable calls whatever used_event says */
		wr16(used_event_word(fx), (uint16_t)(k->old + 1000));
		expect_false(fx->q.signalled_valid);
		expect_true(pvb_virtq_dev_should_notify(&fx->q));
		dev_push(fx, k->pushed);
		expect_eq(rd16(&fx->used->idx), (uint16_t)(k->old + k->pushed));
		wr16(used_event_word(fx), k->used_event);
		expect_eq(pvb_virtq_dev_should_notify(&fx->q), k->want);
		/* and nothing new after that decision: no */
		expect_false(pvb_virtq_dev_should_notify(&fx->q));
	}

	at("device, event idx: enable again forgets the last decision");
	fx_open(fx, QN, F_EVT);
	dev_push(fx, 1);
	expect_true(pvb_virtq_dev_should_notify(&fx->q));
	wr16(used_event_word(fx), 500);
	dev_push(fx, 1);
	expect_false(pvb_virtq_dev_should_notify(&fx->q));
	assert_int_equal(pvb_virtq_dev_enable(&fx->q, &fx->mem, F_EVT), 0);
	dev_push(fx, 1);
	expect_true(pvb_virtq_dev_should_notify(&fx->q));

	at("device, no event idx: avail->flags NO_INTERRUPT decides, from the first");
	fx_open(fx, QN, 0);
	wr16(&fx->avail->flags, PVB_VIRTQ_AVAIL_F_NO_INTERRUPT);
	wr16(used_event_word(fx), 0);		/* ignored */
	dev_push(fx, 1);
	expect_false(pvb_virtq_dev_should_notify(&fx->q));
	dev_push(fx, 1);
	expect_false(pvb_virtq_dev_should_notify(&fx->q));
	wr16(&fx->avail->flags, 0);
	dev_push(fx, 1);
	expect_true(pvb_virtq_dev_should_notify(&fx->q));
	dev_push(fx, 3);
	expect_true(pvb_virtq_dev_should_notify(&fx->q));
}

static void
test_dev_set_notification(void **state)
{
	struct fx *fx = *state;
	struct pvb_virtq_chain c;

	at("device, no event idx: used->flags NO_NOTIFY");
	fx_open(fx, QN, 0);
	expect_false(pvb_virtq_dev_set_notification(&fx->q, true));
	expect_eq(rd16(&fx->used->flags), PVB_VIRTQ_USED_F_NO_NOTIFY);
	expect_eq(rd16(avail_event_word(fx)), 0);
	expect_false(pvb_virtq_dev_set_notification(&fx->q, false));
	expect_eq(rd16(&fx->used->flags), 0);
	/* a buffer that arrived while suppressed shows on re-enable */
	expect_false(pvb_virtq_dev_set_notification(&fx->q, true));
	put_desc(fx, 0, B0, 8, 0, 0);
	avail_put(fx, 0);
	expect_true(pvb_virtq_dev_set_notification(&fx->q, false));
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_false(pvb_virtq_dev_set_notification(&fx->q, false));

	at("device, event idx: avail_event = next_avail_idx, flags untouched");
	fx_open(fx, QN, F_EVT);
	fx->q.next_avail_idx = 65535;
	wr16(&fx->avail->idx, 65535);
	expect_false(pvb_virtq_dev_set_notification(&fx->q, false));
	expect_eq(rd16(avail_event_word(fx)), 65535);
	expect_eq(rd16(&fx->used->flags), 0);
	put_desc(fx, 0, B0, 8, 0, 0);
	avail_put(fx, 0);			/* avail idx wraps to 0 */
	/* suppressing leaves avail_event behind: nothing is written */
	snapshot(fx);
	expect_false(pvb_virtq_dev_set_notification(&fx->q, true));
	assert_mem_unchanged(fx);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(fx->q.next_avail_idx, 0);
	expect_false(pvb_virtq_dev_set_notification(&fx->q, false));
	expect_eq(rd16(avail_event_word(fx)), 0);
	avail_put(fx, 0);
	expect_true(pvb_virtq_dev_set_notification(&fx->q, false));
}

/* The used ring as the device fills it: add, then publish once. */
static void
test_dev_used(void **state)
{
	struct fx *fx = *state;
	uint16_t flags, idx;

	at("device: add_used, write_used_idx, across the slot wrap");
	fx_open(fx, QN, 0);
	fx->q.next_used_idx = 14;
	wr16(&fx->used->idx, 14);
	expect_eq(pvb_virtq_dev_add_used(&fx->q, 3, 100), 0);
	expect_eq(pvb_virtq_dev_add_used(&fx->q, 7, 0), 0);
	expect_eq(pvb_virtq_dev_add_used(&fx->q, 15, UINT32_MAX), 0);
	expect_eq(rd16(&fx->used->idx), 14);	/* not published yet */
	expect_eq(fx->used->ring[14].id, 3);
	expect_eq(fx->used->ring[14].len, 100);
	expect_eq(fx->used->ring[15].id, 7);
	expect_eq(fx->used->ring[15].len, 0);
	expect_eq(fx->used->ring[0].id, 15);	/* slot 16 & 15 = 0 */
	expect_eq(fx->used->ring[0].len, UINT32_MAX);
	pvb_virtq_dev_write_used_idx(&fx->q);
	pvb_virtq_dev_used_header(&fx->q, &flags, &idx);
	expect_eq(idx, 17);
	expect_eq(flags, 0);
	expect_eq(pvb_virtq_dev_add_used(&fx->q, QN, 0), -EINVAL);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, 0xffff, 0), -EINVAL);
	expect_eq(fx->q.next_used_idx, 17);
	/* push_used = add + publish; the used idx wraps at 2^16, not at N */
	fx->q.next_used_idx = 65535;
	expect_eq(pvb_virtq_dev_push_used(&fx->q, 1, 9), 0);
	expect_eq(rd16(&fx->used->idx), 0);
	expect_eq(fx->used->ring[15].id, 1);	/* 65535 & 15 */
	expect_eq(fx->used->ring[15].len, 9);
	/* write_used_header: flags and idx together, idx becoming the cursor */
	pvb_virtq_dev_write_used_header(&fx->q, PVB_VIRTQ_USED_F_NO_NOTIFY, 40000);
	pvb_virtq_dev_used_header(&fx->q, &flags, &idx);
	expect_eq(flags, PVB_VIRTQ_USED_F_NO_NOTIFY);
	expect_eq(idx, 40000);
	expect_eq(fx->q.next_used_idx, 40000);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, 2, 5), 0);
	expect_eq(rd16(&fx->used->idx), 40001);
	expect_eq(fx->used->ring[40000 & 15].id, 2);
}

/* ----------------------------------------------------------------------------
 * Driver side (VIRTIO 1.2 §2.7.13-2.7.14)
 */

static void
check_desc(const struct fx *fx, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	   uint16_t next)
{
	struct pvb_virtq_desc d;

	memcpy(&d, &fx->desc[i], sizeof(d));
	expect_eq(d.addr, addr);
	expect_eq(d.len, len);
	expect_eq(d.flags, flags);
	if (flags & NX)
		expect_eq(d.next, next);
}

static void
test_drv_add(void **state)
{
	const struct pvb_virtq_buf three[] = {
		{ B0, 10, false }, { B0 + 64, 20, true }, { B0 + 128, 30, true },
	};
	const struct pvb_virtq_buf wr_rd[] = { { B0, 8, true }, { B0, 8, false } };
	const struct pvb_virtq_buf one[] = { { B2, 1, false } };
	struct pvb_virtq_buf many[QN + 1];
	struct fx *fx = *state;
	struct pvb_virtq_chain c;
	void *tok;
	uint32_t len, i;

	at("driver: add and publish");
	fx_open(fx, QN, 0);
	expect_eq(fx->d.num_free, QN);
	expect_eq(pvb_virtq_drv_add(&fx->d, three, 3, TOK(0)), 0);
	expect_eq(fx->d.num_free, QN - 3);
	/* the free list starts at 0: head 0, then 1 and 2 */
	check_desc(fx, 0, B0, 10, NX, 1);
	check_desc(fx, 1, B0 + 64, 20, WR | NX, 2);
	check_desc(fx, 2, B0 + 128, 30, WR, 0);
	expect_eq(fx->avail->ring[0], 0);
	expect_eq(rd16(&fx->avail->idx), 0);	/* not visible until published */
	pvb_virtq_drv_publish(&fx->d);
	expect_eq(rd16(&fx->avail->idx), 1);

	at("driver: refused adds change nothing");
	snapshot(fx);
	expect_eq(pvb_virtq_drv_add(&fx->d, wr_rd, 2, TOK(1)), -EINVAL);
	expect_eq(pvb_virtq_drv_add(&fx->d, three, 0, TOK(1)), -EINVAL);
	expect_eq(pvb_virtq_drv_add(&fx->d, three, 3, NULL), -EINVAL);
	expect_eq(pvb_virtq_drv_add(&fx->d, NULL, 3, TOK(1)), -EINVAL);
	for (i = 0; i < DIM(many); i++)
		many[i] = (struct pvb_virtq_buf){ B0 + 16ull * i, 1, false };
	expect_eq(pvb_virtq_drv_add(&fx->d, many, QN + 1, TOK(1)), -EINVAL);
	expect_eq(pvb_virtq_drv_add(&fx->d, many, QN - 2, TOK(1)), -EAGAIN);	/* 13 free */
	expect_eq(pvb_virtq_drv_add_indirect(&fx->d, one, 1, gpa_host(fx, IND_GPA), IND_GPA,
					     TOK(1)), -ENOTSUP);
	pvb_virtq_drv_publish(&fx->d);
	assert_mem_unchanged(fx);
	expect_eq(fx->d.num_free, QN - 3);

	at("driver: fill the table, then -EAGAIN");
	expect_eq(pvb_virtq_drv_add(&fx->d, many, QN - 4, TOK(1)), 0);
	expect_eq(fx->d.num_free, 1);
	expect_eq(pvb_virtq_drv_add(&fx->d, many, 2, TOK(2)), -EAGAIN);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(2)), 0);
	expect_eq(fx->d.num_free, 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(3)), -EAGAIN);
	pvb_virtq_drv_publish(&fx->d);
	expect_eq(rd16(&fx->avail->idx), 3);

	at("driver: the device sees the three chains");
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(c.head, 0);
	expect_eq(c.nb_segs, 3);
	expect_eq(c.nb_readable, 1);
	expect_eq(c.writable_len, 50);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(c.head, 3);
	expect_eq(c.nb_segs, QN - 4);
	for (i = 0; i < QN - 4; i++)
		expect_ptr(c.seg[i].host, gpa_host(fx, B0 + 16ull * i));
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(c.head, QN - 1);
	expect_eq(c.nb_segs, 1);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), -EAGAIN);

	/* completed out of order: 15, 0, 3 */
	at("driver: reclaim out of order");
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 0);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, QN - 1, 0), 0);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, 0, 44), 0);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, 3, 7), 0);
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
	expect_ptr(tok, TOK(2));
	expect_eq(len, 0);
	expect_eq(fx->d.num_free, 1);
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
	expect_ptr(tok, TOK(0));
	expect_eq(len, 44);
	expect_eq(fx->d.num_free, 4);
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
	expect_ptr(tok, TOK(1));
	expect_eq(len, 7);
	expect_eq(fx->d.num_free, QN);
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 0);

	/* after out-of-order frees the list still holds all 16: one chain of 16 */
	at("driver: a chain of all 16 after out-of-order frees");
	expect_eq(pvb_virtq_drv_add(&fx->d, many, QN, TOK(4)), 0);
	expect_eq(fx->d.num_free, 0);
	pvb_virtq_drv_publish(&fx->d);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(c.nb_segs, QN);
	for (i = 0; i < QN; i++)
		expect_ptr(c.seg[i].host, gpa_host(fx, B0 + 16ull * i));
	expect_eq(pvb_virtq_dev_push_used(&fx->q, c.head, 0), 0);
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
	expect_ptr(tok, TOK(4));
	expect_eq(fx->d.num_free, QN);

	/* N chains completed with one used idx store: exactly N ahead is fine */
	at("driver: N used elements published at once");
	for (i = 0; i < QN; i++)
		expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(i)), 0);
	pvb_virtq_drv_publish(&fx->d);
	for (i = 0; i < QN; i++) {
		expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
		expect_eq(pvb_virtq_dev_add_used(&fx->q, c.head, i), 0);
	}
	pvb_virtq_dev_write_used_idx(&fx->q);
	for (i = 0; i < QN; i++) {
		expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
		expect_ptr(tok, TOK(i));
		expect_eq(len, i);
	}
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 0);
	expect_false(fx->d.broken);
	expect_eq(fx->d.num_free, QN);

	at("driver: bad init");
	expect_eq(pvb_virtq_drv_init(&fx->d, 0, fx->desc, fx->avail, fx->used, fx->extra, 0),
		  -EINVAL);
	expect_eq(pvb_virtq_drv_init(&fx->d, 12, fx->desc, fx->avail, fx->used, fx->extra, 0),
		  -EINVAL);
	expect_eq(pvb_virtq_drv_init(&fx->d, QN, NULL, fx->avail, fx->used, fx->extra, 0),
		  -EINVAL);
	expect_eq(pvb_virtq_drv_init(&fx->d, QN, fx->desc, fx->avail, fx->used, NULL, 0),
		  -EINVAL);
}

static void
test_drv_add_indirect(void **state)
{
	const struct pvb_virtq_buf rww[] = {
		{ B0, 10, false }, { B0 + 64, 20, true }, { B1 - 4, 30, true },
	};
	const struct pvb_virtq_buf wr_rd[] = { { B0, 8, true }, { B0, 8, false } };
	struct pvb_virtq_desc *t;
	struct fx *fx = *state;
	struct pvb_virtq_chain c;
	void *tok;
	uint32_t len, i;

	at("driver: add_indirect");
	fx_open(fx, 4, F_IND);
	t = gpa_host(fx, IND_GPA);
	expect_eq(pvb_virtq_drv_add_indirect(&fx->d, rww, 3, t, IND_GPA, TOK(0)), 0);
	expect_eq(fx->d.num_free, 3);
	/* one ring descriptor: INDIRECT only, len 16 * 3 = 48 */
	check_desc(fx, 0, IND_GPA, 48, IN, 0);
	expect_eq(t[0].addr, B0);
	expect_eq(t[0].len, 10);
	expect_eq(t[0].flags, NX);
	expect_eq(t[0].next, 1);
	expect_eq(t[1].addr, B0 + 64);
	expect_eq(t[1].flags, WR | NX);
	expect_eq(t[1].next, 2);
	expect_eq(t[2].addr, B1 - 4);
	expect_eq(t[2].len, 30);
	expect_eq(t[2].flags, WR);
	pvb_virtq_drv_publish(&fx->d);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	/* the last buffer crosses buf0 | buf1: 4 segments */
	expect_eq(c.nb_segs, 4);
	expect_eq(c.nb_readable, 1);
	expect_eq(c.readable_len, 10);
	expect_eq(c.writable_len, 50);
	expect_ptr(c.seg[2].host, gpa_host(fx, B1 - 4));
	expect_eq(c.seg[2].len, 4);
	expect_ptr(c.seg[3].host, gpa_host(fx, B1));
	expect_eq(c.seg[3].len, 26);

	at("driver: add_indirect refusals");
	expect_eq(pvb_virtq_drv_add_indirect(&fx->d, wr_rd, 2, t + 8, IND_GPA + 128, TOK(1)),
		  -EINVAL);
	expect_eq(pvb_virtq_drv_add_indirect(&fx->d, rww, 0, t + 8, IND_GPA + 128, TOK(1)),
		  -EINVAL);
	expect_eq(pvb_virtq_drv_add_indirect(&fx->d, rww, 3, NULL, IND_GPA + 128, TOK(1)),
		  -EINVAL);
	expect_eq(pvb_virtq_drv_add_indirect(&fx->d, rww, 3, t + 8, IND_GPA + 128, NULL),
		  -EINVAL);
	expect_eq(fx->d.num_free, 3);
	for (i = 1; i < 4; i++)
		expect_eq(pvb_virtq_drv_add_indirect(&fx->d, rww, 3, t + 4 * i,
						     IND_GPA + 64 * i, TOK(i)), 0);
	expect_eq(fx->d.num_free, 0);
	expect_eq(pvb_virtq_drv_add_indirect(&fx->d, rww, 1, t + 16, IND_GPA + 256, TOK(5)),
		  -EAGAIN);
	pvb_virtq_drv_publish(&fx->d);
	for (i = 1; i < 4; i++) {
		expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
		expect_eq(c.nb_segs, 4);
	}
	expect_eq(pvb_virtq_dev_push_used(&fx->q, 0, 12), 0);
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
	expect_ptr(tok, TOK(0));
	expect_eq(len, 12);
	expect_eq(fx->d.num_free, 1);
}

struct bad_used {
	const char *what;
	uint32_t id;
	uint16_t ahead;		/* used->idx = last_used + ahead */
	bool reclaim_first;	/* complete and reclaim head 0 properly first */
	enum pvb_virtq_fault fault;
};

/* Posted: head 0 (chain 0 -> 1 -> 2) and head 3 (one descriptor). */
static const struct bad_used bad_useds[] = {
	{ "id 16 = N", QN, 1, false, PVB_VIRTQ_FAULT_USED_ID },
	{ "id 0xffffffff", UINT32_MAX, 1, false, PVB_VIRTQ_FAULT_USED_ID },
	{ "id 0x10000 (0 in 16 bits)", 0x10000, 1, false, PVB_VIRTQ_FAULT_USED_ID },
	{ "id 1: inside chain 0 -> 1 -> 2, not a head", 1, 1, false, PVB_VIRTQ_FAULT_USED_ID },
	{ "id 2: the tail of chain 0 -> 1 -> 2", 2, 1, false, PVB_VIRTQ_FAULT_USED_ID },
	{ "id 7: never posted", 7, 1, false, PVB_VIRTQ_FAULT_USED_ID },
	{ "id 0 again after it was reclaimed", 0, 1, true, PVB_VIRTQ_FAULT_USED_ID },
	{ "used idx 3 ahead, 2 chains posted", 0, 3, false, PVB_VIRTQ_FAULT_USED_IDX },
	{ "used idx 2 ahead after a reclaim, 1 chain posted", 3, 2, true,
	  PVB_VIRTQ_FAULT_USED_IDX },
	{ "used idx N + 1 ahead", 0, QN + 1, false, PVB_VIRTQ_FAULT_USED_IDX },
	{ "used idx 0xffff ahead (moved back by one)", 0, 0xffff, false,
	  PVB_VIRTQ_FAULT_USED_IDX },
	{ "used idx moved back by one after a reclaim", 3, 0xffff, true,
	  PVB_VIRTQ_FAULT_USED_IDX },
};

static void
check_bad_used(struct fx *fx, const struct bad_used *b)
{
	const struct pvb_virtq_buf three[] = {
		{ B0, 10, false }, { B0 + 64, 20, true }, { B0 + 128, 30, true },
	};
	const struct pvb_virtq_buf one[] = { { B2, 1, false } };
	uint16_t last = 0;
	uint32_t len;
	void *tok;

	at("driver, bad used element: %s", b->what);
	fx_open(fx, QN, F_IND);
	expect_eq(pvb_virtq_drv_add(&fx->d, three, 3, TOK(0)), 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(1)), 0);
	pvb_virtq_drv_publish(&fx->d);
	if (b->reclaim_first) {
		fx->used->ring[0] = (struct pvb_virtq_used_elem){ 0, 5 };
		wr16(&fx->used->idx, 1);
		expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
		expect_ptr(tok, TOK(0));
		last = 1;
	}
	fx->used->ring[last & (QN - 1)] = (struct pvb_virtq_used_elem){ b->id, 5 };
	pvb_store_release16(&fx->used->idx, (uint16_t)(last + b->ahead));
	tok = TOK(MAXN);
	len = 0xdeadbeef;
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), -EPIPE);
	expect_true(fx->d.broken);
	expect_eq(fx->d.fault, b->fault);
	expect_ptr(tok, TOK(MAXN));
	expect_eq(len, 0xdeadbeef);
	/* broken stays broken, for every call */
	fx->used->ring[last & (QN - 1)] = (struct pvb_virtq_used_elem){ 3, 5 };
	wr16(&fx->used->idx, (uint16_t)(last + 1));
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), -EPIPE);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(2)), -EPIPE);
	expect_eq(pvb_virtq_drv_add_indirect(&fx->d, one, 1, gpa_host(fx, IND_GPA), IND_GPA,
					     TOK(2)), -EPIPE);
	expect_ptr(tok, TOK(MAXN));
}

/*
 * IN_ORDER: a device may write only the element that ends a batch
 * (VIRTIO 1.2 §2.7.9); the chains come back in posting order, their
 * lengths from the elements, and only the final id is checked.
 */
static void
test_drv_in_order(void **state)
{
	const struct pvb_virtq_buf two[] = { { B0, 10, false }, { B0 + 64, 20, true } };
	const struct pvb_virtq_buf one[] = { { B2, 1, true } };
	struct fx *fx = *state;
	void *tok[QN], *drained[QN];
	uint32_t len[QN], i;

	at("driver, in order: a batch of four told by its last element");
	fx_open(fx, QN, F_ORD);
	expect_true(fx->d.in_order);
	expect_eq(pvb_virtq_drv_add(&fx->d, two, 2, TOK(0)), 0);	/* heads 0, 2, 3, 5 */
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(1)), 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, two, 2, TOK(2)), 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(3)), 0);
	pvb_virtq_drv_publish(&fx->d);
	expect_eq(pvb_virtq_drv_posted(&fx->d), 4);
	/* stale ids in elements 0..2 (not written); element 3 names head 5 */
	for (i = 0; i < 3; i++)
		fx->used->ring[i] = (struct pvb_virtq_used_elem){ 9, 100 + i };
	fx->used->ring[3] = (struct pvb_virtq_used_elem){ 5, 1 };
	pvb_store_release16(&fx->used->idx, 4);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, tok, len, QN), 4);
	for (i = 0; i < 4; i++)
		expect_ptr(tok[i], TOK(i));
	expect_eq(len[0], 100);
	expect_eq(len[3], 1);
	expect_eq(fx->d.num_free, QN);
	expect_false(fx->d.broken);

	at("driver, in order: without lengths the elements are not read");
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(5)), 0);
	pvb_virtq_drv_publish(&fx->d);
	fx->used->ring[4] = (struct pvb_virtq_used_elem){ 6, 99 };	/* head 6 */
	pvb_store_release16(&fx->used->idx, 5);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, tok, NULL, QN), 1);
	expect_ptr(tok[0], TOK(5));
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, NULL, NULL, 1), -EINVAL);

	at("driver, in order: a burst shorter than the batch checks no id");
	for (i = 0; i < 3; i++)
		expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(i)), 0);
	pvb_virtq_drv_publish(&fx->d);
	fx->used->ring[7 & (QN - 1)] = (struct pvb_virtq_used_elem){ 9, 7 };	/* head 9 */
	pvb_store_release16(&fx->used->idx, 8);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, tok, len, 2), 2);
	expect_ptr(tok[0], TOK(0));
	expect_ptr(tok[1], TOK(1));
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, tok, len, QN), 1);
	expect_ptr(tok[0], TOK(2));
	expect_eq(len[0], 7);

	at("driver, in order: the element ending the batch names another head");
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(0)), 0);	/* head 10 */
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(1)), 0);	/* head 11 */
	pvb_virtq_drv_publish(&fx->d);
	fx->used->ring[9 & (QN - 1)] = (struct pvb_virtq_used_elem){ 10, 1 };
	pvb_store_release16(&fx->used->idx, 10);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, tok, len, QN), -EPIPE);
	expect_eq(fx->d.fault, PVB_VIRTQ_FAULT_USED_ID);

	at("driver: drain gives back every posted token once");
	fx_open(fx, QN, 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, two, 2, TOK(0)), 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(1)), 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(2)), 0);
	pvb_virtq_drv_publish(&fx->d);
	fx->used->ring[0] = (struct pvb_virtq_used_elem){ 2, 0 };	/* TOK(1) back */
	pvb_store_release16(&fx->used->idx, 1);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, tok, len, QN), 1);
	expect_ptr(tok[0], TOK(1));
	expect_eq(pvb_virtq_drv_drain(&fx->d, drained, 1), 1);
	expect_ptr(drained[0], TOK(0));
	expect_eq(pvb_virtq_drv_drain(&fx->d, drained, QN), 1);
	expect_ptr(drained[0], TOK(2));
	expect_eq(pvb_virtq_drv_drain(&fx->d, drained, QN), 0);
	expect_eq(fx->d.num_free, QN);

	at("driver: a length check the caller made breaks the queue");
	pvb_virtq_drv_set_broken(&fx->d, PVB_VIRTQ_FAULT_USED_LEN);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, tok, len, QN), -EPIPE);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(0)), -EPIPE);
	assert_string_equal(pvb_virtq_fault_str(fx->d.fault),
			    "a used length beyond the posted buffer");
}

static void
test_drv_bad_used(void **state)
{
	size_t i;

	for (i = 0; i < DIM(bad_useds); i++)
		check_bad_used(*state, &bad_useds[i]);
}

/* Run @count one-buffer chains through both sides, in bursts of up to N. */
static void
advance(struct fx *fx, uint32_t count)
{
	const struct pvb_virtq_buf one[] = { { B0, 4, false } };
	struct pvb_virtq_chain c;
	uint32_t b, i, len;
	void *tok;

	while (count != 0) {
		b = count < fx->n ? count : fx->n;
		for (i = 0; i < b; i++)
			assert_int_equal(pvb_virtq_drv_add(&fx->d, one, 1, TOK(0)), 0);
		pvb_virtq_drv_publish(&fx->d);
		(void)pvb_virtq_drv_kick_prepare(&fx->d);
		for (i = 0; i < b; i++) {
			assert_int_equal(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
			assert_int_equal(pvb_virtq_dev_add_used(&fx->q, c.head, 0), 0);
		}
		pvb_virtq_dev_write_used_idx(&fx->q);
		(void)pvb_virtq_dev_should_notify(&fx->q);
		for (i = 0; i < b; i++)
			assert_int_equal(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
		count -= b;
	}
}

static const struct kick_case {
	uint16_t old;		/* avail idx at the last kick decision */
	uint16_t added;
	uint16_t avail_event;
	bool want;
} kick_cases[] = {
	/* a window across the wrap: old 65534, 4 added, new 2 */
	{ 65534, 4, 65535, true },
	{ 65534, 4, 1, true },
	{ 65534, 4, 2, false },
	{ 65534, 4, 65533, false },
	{ 65534, 4, 65534, true },
	{ 0, 1, 0, true },		/* a fresh queue's first kick: avail_event is 0 */
	{ 0, 1, 65535, false },
	{ 0, 16, 15, true },
	{ 0, 16, 16, false },
	{ 100, 3, 102, true },
	{ 100, 3, 103, false },
	{ 100, 3, 99, false },
};

static void
test_drv_kick_prepare(void **state)
{
	const struct pvb_virtq_buf one[] = { { B0, 4, false } };
	const struct kick_case *k;
	struct fx *fx = *state;
	size_t i;
	uint16_t j;

	for (i = 0; i < DIM(kick_cases); i++) {
		k = &kick_cases[i];
		at("driver kick, event idx: old %u, %u added, avail_event %u", k->old, k->added,
		   k->avail_event);
		fx_open(fx, QN, F_EVT);
		advance(fx, k->old);
		expect_eq(rd16(&fx->avail->idx), k->old);
		wr16(avail_event_word(fx), k->avail_event);
		wr16(&fx->used->flags, PVB_VIRTQ_USED_F_NO_NOTIFY);	/* ignored */
		for (j = 0; j < k->added; j++)
			expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(0)), 0);
		pvb_virtq_drv_publish(&fx->d);
		expect_eq(rd16(&fx->avail->idx), (uint16_t)(k->old + k->added));
		expect_eq(pvb_virtq_drv_kick_prepare(&fx->d), k->want);
		/* nothing added since that decision: no */
		expect_false(pvb_virtq_drv_kick_prepare(&fx->d));
	}

	at("driver kick, no event idx: used->flags NO_NOTIFY decides");
	fx_open(fx, QN, 0);
	wr16(avail_event_word(fx), 12345);			/* ignored */
	expect_false(pvb_virtq_drv_kick_prepare(&fx->d));	/* nothing added */
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(0)), 0);
	pvb_virtq_drv_publish(&fx->d);
	expect_true(pvb_virtq_drv_kick_prepare(&fx->d));
	expect_false(pvb_virtq_drv_kick_prepare(&fx->d));
	wr16(&fx->used->flags, PVB_VIRTQ_USED_F_NO_NOTIFY);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(0)), 0);
	pvb_virtq_drv_publish(&fx->d);
	expect_false(pvb_virtq_drv_kick_prepare(&fx->d));
	wr16(&fx->used->flags, 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(0)), 0);
	pvb_virtq_drv_publish(&fx->d);
	expect_true(pvb_virtq_drv_kick_prepare(&fx->d));
}

static void
test_drv_cb(void **state)
{
	const struct pvb_virtq_buf one[] = { { B0, 4, false } };
	struct fx *fx = *state;
	struct pvb_virtq_chain c;
	uint32_t len;
	void *tok;

	at("driver callbacks, no event idx: avail->flags");
	fx_open(fx, QN, 0);
	pvb_virtq_drv_disable_cb(&fx->d);
	expect_eq(rd16(&fx->avail->flags), PVB_VIRTQ_AVAIL_F_NO_INTERRUPT);
	expect_eq(rd16(used_event_word(fx)), 0);
	expect_false(pvb_virtq_drv_enable_cb(&fx->d));
	expect_eq(rd16(&fx->avail->flags), 0);
	/* a used element that arrived while disabled shows on enable */
	pvb_virtq_drv_disable_cb(&fx->d);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(0)), 0);
	pvb_virtq_drv_publish(&fx->d);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, c.head, 0), 0);
	expect_false(pvb_virtq_dev_should_notify(&fx->q));
	expect_true(pvb_virtq_drv_enable_cb(&fx->d));
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
	expect_false(pvb_virtq_drv_enable_cb(&fx->d));

	at("driver callbacks, event idx: used_event = last_used, flags stay 0");
	fx_open(fx, QN, F_EVT);
	advance(fx, 65533);
	expect_false(pvb_virtq_drv_enable_cb(&fx->d));
	expect_eq(rd16(used_event_word(fx)), 65533);
	expect_eq(rd16(&fx->avail->flags), 0);
	/* disabling leaves used_event behind: nothing is written */
	snapshot(fx);
	pvb_virtq_drv_disable_cb(&fx->d);
	assert_mem_unchanged(fx);
	/* three more complete: 65533, 65534, 65535 -> used idx 0 */
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(0)), 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(1)), 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, one, 1, TOK(2)), 0);
	pvb_virtq_drv_publish(&fx->d);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, c.head, 0), 0);
	/* the device passed used_event 65533: it calls */
	expect_true(pvb_virtq_dev_should_notify(&fx->q));
	expect_true(pvb_virtq_drv_enable_cb(&fx->d));		/* one waits */
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
	expect_false(pvb_virtq_drv_enable_cb(&fx->d));
	expect_eq(rd16(used_event_word(fx)), 65534);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, c.head, 0), 0);
	expect_true(pvb_virtq_dev_should_notify(&fx->q));
	/* not re-armed: used_event stays 65534, the device does not call again */
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, c.head, 0), 0);
	expect_false(pvb_virtq_dev_should_notify(&fx->q));
	expect_eq(rd16(&fx->used->idx), 0);
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
	expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
	expect_false(pvb_virtq_drv_enable_cb(&fx->d));
	expect_eq(rd16(used_event_word(fx)), 0);
}

/* ----------------------------------------------------------------------------
 * Bursts: one read of the peer's index, one store of ours
 */

/* One readable buffer of (head + 1) bytes at B0 + 16 * head, for each head given. */
static void
put_ones(struct fx *fx, const uint16_t *heads, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		put_desc(fx, heads[i], B0 + 16ull * heads[i], heads[i] + 1u, 0, 0);
		avail_put(fx, heads[i]);
	}
}

/* avail_count reads the index once; pop_next pops what it counted and reads no index. */
static void
test_dev_pop_next(void **state)
{
	static const uint16_t heads[] = { 2, 0, 1 };
	struct fx *fx = *state;
	struct pvb_virtq_chain c;
	uint16_t i;

	at("device: pop_next before any count");
	fx_open(fx, QN, 0);
	put_ones(fx, heads, DIM(heads));
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EAGAIN);
	expect_eq(fx->q.next_avail_idx, 0);

	at("device: pop_next pops the counted chains, whatever avail->idx says now");
	expect_eq(pvb_virtq_dev_avail_count(&fx->q), 3);
	expect_eq(pvb_virtq_dev_avail_count(&fx->q), 3);	/* counting pops nothing */
	/* the driver moves the index N + 5 ahead: only the next read can see it */
	wr16(&fx->avail->idx, QN + 5);
	snapshot(fx);
	for (i = 0; i < DIM(heads); i++) {
		memset(&c, POISON, sizeof(c));
		expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), 0);
		expect_eq(c.head, heads[i]);
		expect_eq(c.nb_segs, 1);
		expect_eq(c.readable_len, heads[i] + 1u);
		expect_ptr(c.seg[0].host, gpa_host(fx, B0 + 16ull * heads[i]));
		expect_eq(c.fault, PVB_VIRTQ_OK);
	}
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EAGAIN);
	assert_mem_unchanged(fx);
	expect_false(fx->q.needs_reset);

	at("device: the next count sees the broken index");
	expect_eq(pvb_virtq_dev_avail_count(&fx->q), -EPIPE);
	expect_fault(&fx->q, PVB_VIRTQ_FAULT_AVAIL_IDX);
	expect_true(fx->q.needs_reset);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EPIPE);
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, &c, 1), -EPIPE);
	expect_eq(fx->q.next_avail_idx, 3);

	at("device: not enabled");
	pvb_virtq_dev_reset(&fx->q);
	expect_eq(pvb_virtq_dev_avail_count(&fx->q), -EINVAL);
	expect_eq(pvb_virtq_dev_avail_count(NULL), -EINVAL);
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, &c, 1), -EINVAL);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EAGAIN);
	/* a base set, then an enable that fails: still nothing to pop or give back */
	fx->q.next_avail_idx = 7;
	expect_eq(pvb_virtq_dev_enable(&fx->q, NULL, 0), -EINVAL);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EAGAIN);
	pvb_virtq_dev_unpop(&fx->q, 3);
	expect_eq(fx->q.next_avail_idx, 7);

	at("device: a count of exactly N, across the index wrap");
	fx_open(fx, QN, 0);
	/* the base set before enable, as after vhost-user SET_VRING_BASE */
	fx->q.next_avail_idx = 65530;
	expect_eq(pvb_virtq_dev_enable(&fx->q, &fx->mem, 0), 0);
	wr16(&fx->avail->idx, 65530);
	for (i = 0; i < QN; i++) {
		put_desc(fx, i, B0 + i, 1, 0, 0);
		avail_put(fx, i);
	}
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EAGAIN);
	expect_eq(pvb_virtq_dev_avail_count(&fx->q), QN);
	for (i = 0; i < QN; i++) {
		expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), 0);
		expect_eq(c.head, i);
	}
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EAGAIN);
	expect_eq(fx->q.next_avail_idx, (uint16_t)(65530 + QN));
}

/* pop_burst: refused chains in the middle are popped, named and counted; the rest go on. */
static void
test_dev_pop_burst(void **state)
{
	static const uint16_t heads[] = { 4, 16, 5, 3, 6 };
	static struct pvb_virtq_chain c[8];
	static const enum pvb_virtq_fault want[] = {
		PVB_VIRTQ_OK, PVB_VIRTQ_FAULT_HEAD, PVB_VIRTQ_OK, PVB_VIRTQ_FAULT_LOOP, PVB_VIRTQ_OK,
	};
	struct fx *fx = *state;
	uint32_t i;

	at("device: pop_burst over good and refused chains");
	fx_open(fx, QN, 0);
	put_desc(fx, 4, B0, 10, 0, 0);
	put_desc(fx, 5, B1 - 4, 8, WR, 0);	/* across buf0 | buf1: the general walk */
	put_desc(fx, 3, B0, 1, NX, 3);		/* a self loop */
	put_desc(fx, 6, B2, 30, 0, 0);
	for (i = 0; i < DIM(heads); i++)
		avail_put(fx, heads[i]);
	snapshot(fx);
	memset(c, POISON, sizeof(c));
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, c, DIM(c)), DIM(heads));
	for (i = 0; i < DIM(heads); i++) {
		at("device: pop_burst, chain %u", i);
		expect_eq(c[i].head, heads[i]);
		expect_eq(c[i].fault, want[i]);
	}
	at("device: pop_burst over good and refused chains");
	expect_eq(c[0].nb_segs, 1);
	expect_eq(c[0].readable_len, 10);
	expect_eq(c[2].nb_segs, 2);
	expect_eq(c[2].nb_readable, 0);
	expect_eq(c[2].writable_len, 8);
	expect_ptr(c[2].seg[1].host, gpa_host(fx, B1));
	expect_ptr(c[4].seg[0].host, gpa_host(fx, B2));
	expect_true(bytes_all(&c[DIM(heads)], sizeof(c[0]), POISON));
	expect_eq(fx->q.bad_chains, 2);
	expect_fault(&fx->q, PVB_VIRTQ_FAULT_LOOP);
	expect_false(fx->q.needs_reset);
	expect_eq(fx->q.next_avail_idx, DIM(heads));
	assert_mem_unchanged(fx);
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, c, DIM(c)), 0);

	at("device: pop_burst of fewer than wait; pop_next takes the rest");
	for (i = 0; i < 3; i++)
		avail_put(fx, 4);
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, c, 2), 2);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c[2]), 0);
	expect_eq(c[2].head, 4);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c[2]), -EAGAIN);
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, c, 0), 0);
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, NULL, 1), -EINVAL);

	at("device: pop_burst with the index N + 1 ahead");
	wr16(&fx->avail->idx, (uint16_t)(fx->q.next_avail_idx + QN + 1));
	memset(c, POISON, sizeof(c));
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, c, DIM(c)), -EPIPE);
	expect_true(fx->q.needs_reset);
	expect_true(bytes_all(c, sizeof(c), POISON));
}

/*
 * unpop gives back the last chains popped since the last read of avail->idx
 * or used element written, and writes nothing shared.
 */
static void
test_dev_unpop(void **state)
{
	static const uint16_t heads[] = { 3, 1, 2, 0 };
	static struct pvb_virtq_chain cs[4];
	struct fx *fx = *state;
	struct pvb_virtq_chain c;
	uint16_t i;

	at("device: unpop 2 of 3 popped");
	fx_open(fx, QN, 0);
	put_ones(fx, heads, DIM(heads));
	expect_eq(pvb_virtq_dev_avail_count(&fx->q), 4);
	for (i = 0; i < 3; i++)
		expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), 0);
	snapshot(fx);
	pvb_virtq_dev_unpop(&fx->q, 2);
	assert_mem_unchanged(fx);
	expect_eq(fx->q.next_avail_idx, 1);
	for (i = 1; i < 4; i++) {
		expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), 0);
		expect_eq(c.head, heads[i]);
	}
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EAGAIN);

	at("device: unpop after a new count: nothing to give back");
	expect_eq(pvb_virtq_dev_avail_count(&fx->q), 0);
	pvb_virtq_dev_unpop(&fx->q, 1);
	expect_eq(fx->q.next_avail_idx, 4);

	at("device: unpop clamps to the pops since the last used element written");
	put_ones(fx, heads, 3);
	expect_eq(pvb_virtq_dev_avail_count(&fx->q), 3);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), 0);
	expect_eq(pvb_virtq_dev_push_used(&fx->q, c.head, 0), 0);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), 0);
	expect_eq(c.head, heads[1]);
	pvb_virtq_dev_unpop(&fx->q, 5);
	expect_eq(fx->q.next_avail_idx, 5);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), 0);
	expect_eq(c.head, heads[1]);
	expect_eq(pvb_virtq_dev_add_used(&fx->q, c.head, 0), 0);	/* adding counts too */
	pvb_virtq_dev_unpop(&fx->q, 1);
	expect_eq(fx->q.next_avail_idx, 6);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), 0);
	expect_eq(c.head, heads[2]);
	{
		struct pvb_virtq_used_elem e = { .id = c.head };

		expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, &e, 1), 1);
	}
	pvb_virtq_dev_unpop(&fx->q, 1);
	expect_eq(fx->q.next_avail_idx, 7);

	at("device: unpop after pop_avail gives back that one chain");
	put_ones(fx, heads, 2);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	pvb_virtq_dev_unpop(&fx->q, 2);
	expect_eq(fx->q.next_avail_idx, 8);
	expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
	expect_eq(c.head, heads[1]);

	at("device: unpop after pop_burst gives back the whole burst");
	put_ones(fx, heads, 4);
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, cs, 4), 4);
	pvb_virtq_dev_unpop(&fx->q, 4);
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, cs, 4), 4);
	for (i = 0; i < 4; i++)
		expect_eq(cs[i].head, heads[i]);

	at("device: a refused chain given back is refused and counted again");
	put_desc(fx, 9, B0, 1, NX, 9);
	avail_put(fx, 9);
	expect_eq(pvb_virtq_dev_avail_count(&fx->q), 1);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EBADMSG);
	pvb_virtq_dev_unpop(&fx->q, 1);
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EBADMSG);
	expect_eq(c.fault, PVB_VIRTQ_FAULT_LOOP);
	expect_eq(fx->q.bad_chains, 2);
	pvb_virtq_dev_unpop(NULL, 1);
}

/* push_used_burst: all written with one store of used->idx, or nothing at all. */
static void
test_dev_push_used_burst(void **state)
{
	const struct pvb_virtq_used_elem three[] = { { 3, 100 }, { 7, 0 }, { 15, UINT32_MAX } };
	const struct pvb_virtq_used_elem bad_mid[] = { { 1, 1 }, { QN, 2 }, { 2, 3 } };
	const struct pvb_virtq_used_elem bad_last[] = { { 1, 1 }, { 2, 2 }, { UINT32_MAX, 3 } };
	struct pvb_virtq_used_elem all[QN + 1];
	struct fx *fx = *state;
	uint32_t i;

	at("device: push_used_burst across the slot wrap");
	fx_open(fx, QN, 0);
	fx->q.next_used_idx = 14;
	wr16(&fx->used->idx, 14);
	expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, three, 3), 3);
	expect_eq(rd16(&fx->used->idx), 17);
	expect_eq(fx->used->ring[14].id, 3);
	expect_eq(fx->used->ring[14].len, 100);
	expect_eq(fx->used->ring[15].id, 7);
	expect_eq(fx->used->ring[15].len, 0);
	expect_eq(fx->used->ring[0].id, 15);
	expect_eq(fx->used->ring[0].len, UINT32_MAX);

	at("device: push_used_burst with a bad id writes nothing");
	snapshot(fx);
	expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, bad_mid, 3), -EINVAL);
	expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, bad_last, 3), -EINVAL);
	for (i = 0; i < DIM(all); i++)
		all[i] = (struct pvb_virtq_used_elem){ .id = i % QN, .len = i };
	expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, all, QN + 1), -EINVAL);
	expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, NULL, 1), -EINVAL);
	expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, three, 0), 0);
	expect_eq(pvb_virtq_dev_push_used_burst(NULL, three, 1), -EINVAL);
	assert_mem_unchanged(fx);
	expect_eq(fx->q.next_used_idx, 17);

	at("device: push_used_burst of N, the most the ring holds");
	expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, all, QN), QN);
	expect_eq(rd16(&fx->used->idx), 17 + QN);
	for (i = 0; i < QN; i++)
		expect_eq(fx->used->ring[(17 + i) % QN].len, i);

	at("device: push_used_burst when not enabled");
	pvb_virtq_dev_reset(&fx->q);
	expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, three, 1), -EINVAL);
}

/* add_burst: as many one-buffer chains as there are descriptors, one store of avail->idx. */
static void
test_drv_add_burst(void **state)
{
	static struct pvb_virtq_chain cs[QN];
	struct pvb_virtq_buf bufs[QN + 4];
	void *toks[QN + 4], *got[8];
	struct fx *fx = *state;
	uint32_t i, lens[8];
	static const uint16_t order[] = { 4, 2, 0, 1, 3 };
	struct pvb_virtq_used_elem e[5];

	fx_open(fx, QN, 0);
	for (i = 0; i < DIM(bufs); i++) {
		bufs[i] = (struct pvb_virtq_buf){ B0 + 64ull * i, 8 + i, i % 3 == 1 };
		toks[i] = TOK(i);
	}

	at("driver: add_burst refusals change nothing");
	snapshot(fx);
	toks[5] = NULL;
	expect_eq(pvb_virtq_drv_add_burst(&fx->d, bufs, toks, 8), -EINVAL);
	toks[5] = TOK(5);
	expect_eq(pvb_virtq_drv_add_burst(&fx->d, NULL, toks, 8), -EINVAL);
	expect_eq(pvb_virtq_drv_add_burst(&fx->d, bufs, NULL, 8), -EINVAL);
	expect_eq(pvb_virtq_drv_add_burst(NULL, bufs, toks, 8), -EINVAL);
	expect_eq(pvb_virtq_drv_add_burst(&fx->d, bufs, toks, 0), 0);
	assert_mem_unchanged(fx);
	expect_eq(fx->d.num_free, QN);
	expect_eq(fx->d.shadow_avail, 0);

	at("driver: add_burst of N + 4 when N descriptors are free");
	expect_eq(pvb_virtq_drv_add_burst(&fx->d, bufs, toks, QN + 4), QN);
	expect_eq(fx->d.num_free, 0);
	expect_eq(rd16(&fx->avail->idx), QN);	/* published */
	for (i = 0; i < QN; i++) {
		/* a fresh free list runs 0, 1, 2, ... */
		check_desc(fx, (uint16_t)i, bufs[i].gpa, bufs[i].len, bufs[i].write ? WR : 0, 0);
		expect_eq(fx->avail->ring[i], i);
	}
	expect_eq(pvb_virtq_drv_add_burst(&fx->d, bufs, toks, 1), 0);
	expect_eq(rd16(&fx->avail->idx), QN);

	at("driver: the device pops them");
	expect_eq(pvb_virtq_dev_pop_burst(&fx->q, cs, QN), QN);
	for (i = 0; i < QN; i++) {
		expect_eq(cs[i].head, i);
		expect_eq(cs[i].nb_segs, 1);
		expect_eq(cs[i].nb_readable, bufs[i].write ? 0 : 1);
		expect_eq(cs[i].seg[0].write, bufs[i].write);
		expect_eq(cs[i].seg[0].len, bufs[i].len);
		expect_ptr(cs[i].seg[0].host, gpa_host(fx, bufs[i].gpa));
	}

	at("driver: five come back out of order, reclaimed in two bursts");
	for (i = 0; i < DIM(order); i++)
		e[i] = (struct pvb_virtq_used_elem){ .id = order[i], .len = 100 + i };
	expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, e, DIM(e)), DIM(e));
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, got, lens, 3), 3);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, got + 3, lens + 3, 8), 2);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, got, lens, 8), 0);
	for (i = 0; i < DIM(order); i++) {
		expect_ptr(got[i], TOK(order[i]));
		expect_eq(lens[i], 100 + i);
	}
	expect_eq(fx->d.num_free, 5);

	at("driver: reused first in, first out");
	expect_eq(pvb_virtq_drv_add_burst(&fx->d, bufs, toks, 8), 5);
	for (i = 0; i < DIM(order); i++)
		expect_eq(fx->avail->ring[(QN + i) % QN], order[i]);
	expect_eq(rd16(&fx->avail->idx), QN + 5);

	at("driver: add_burst publishes what add left unpublished");
	fx_open(fx, QN, 0);
	expect_eq(pvb_virtq_drv_add(&fx->d, bufs, 2, TOK(0)), 0);
	expect_eq(rd16(&fx->avail->idx), 0);
	expect_eq(pvb_virtq_drv_add_burst(&fx->d, bufs + 2, toks + 2, 3), 3);
	expect_eq(rd16(&fx->avail->idx), 4);
	expect_eq(pvb_virtq_dev_avail_count(&fx->q), 4);

	at("driver: add_burst when broken");
	fx->used->ring[0] = (struct pvb_virtq_used_elem){ 9, 0 };	/* never posted */
	wr16(&fx->used->idx, 1);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, got, lens, 8), -EPIPE);
	expect_eq(pvb_virtq_drv_add_burst(&fx->d, bufs, toks, 1), -EPIPE);
}

struct used_burst_case {
	const char *what;
	uint32_t nids;
	uint32_t id[4];		/* the used elements, in order; posted heads are 0..3 */
	uint16_t ahead;		/* used->idx = ahead (0: nids) */
	int first;		/* get_used_burst(4) says */
};

static const struct used_burst_case used_burst_cases[] = {
	{ "a never-posted id third", 4, { 0, 1, 9, 2 }, 0, 2 },
	{ "id N second", 3, { 3, QN, 0 }, 0, 1 },
	{ "id 0xffffffff first", 2, { UINT32_MAX, 0 }, 0, -EPIPE },
	{ "the same head twice", 3, { 2, 2, 1 }, 0, 1 },
	{ "all good", 4, { 3, 2, 1, 0 }, 0, 4 },
	{ "used idx N + 1 ahead", 1, { 0 }, QN + 1, -EPIPE },
};

/* get_used_burst: a bad id in the middle returns the chains before it, then -EPIPE. */
static void
check_used_burst(struct fx *fx, const struct used_burst_case *k)
{
	const struct pvb_virtq_buf bufs[4] = {
		{ B0, 1, false }, { B0 + 64, 2, true }, { B0 + 128, 3, false }, { B0 + 192, 4, true },
	};
	void *const toks[4] = { TOK(0), TOK(1), TOK(2), TOK(3) };
	void *got[4];
	uint32_t i, lens[4];
	int n;

	at("driver, used burst: %s", k->what);
	fx_open(fx, QN, 0);
	expect_eq(pvb_virtq_drv_add_burst(&fx->d, bufs, toks, 4), 4);
	for (i = 0; i < k->nids; i++)
		fx->used->ring[i] = (struct pvb_virtq_used_elem){ k->id[i], 10 + i };
	pvb_store_release16(&fx->used->idx, k->ahead != 0 ? k->ahead : (uint16_t)k->nids);
	memset(got, POISON, sizeof(got));
	memset(lens, POISON, sizeof(lens));
	n = pvb_virtq_drv_get_used_burst(&fx->d, got, lens, 4);
	expect_eq(n, k->first);
	for (i = 0; i < 4; i++) {
		if (n > 0 && i < (uint32_t)n) {
			expect_ptr(got[i], TOK(k->id[i]));
			expect_eq(lens[i], 10 + i);
		} else {
			expect_true(bytes_all(&got[i], sizeof(got[i]), POISON));
			expect_true(bytes_all(&lens[i], sizeof(lens[i]), POISON));
		}
	}
	expect_eq(fx->d.last_used, n > 0 ? n : 0);
	expect_eq(fx->d.num_free, QN - 4 + (n > 0 ? n : 0));
	if (n == 4) {
		expect_false(fx->d.broken);
		expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, got, lens, 4), 0);
		return;
	}
	expect_true(fx->d.broken);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, got, lens, 4), -EPIPE);
	expect_eq(pvb_virtq_drv_get_used(&fx->d, got, lens), -EPIPE);
}

static void
test_drv_get_used_burst(void **state)
{
	struct fx *fx = *state;
	uint32_t lens[2];
	void *got[2];
	size_t i;

	for (i = 0; i < DIM(used_burst_cases); i++)
		check_used_burst(fx, &used_burst_cases[i]);
	at("driver, used burst: arguments");
	fx_open(fx, QN, 0);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, NULL, lens, 1), -EINVAL);
	/* lengths are optional (a transmit queue): nothing used yet */
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, got, NULL, 1), 0);
	expect_eq(pvb_virtq_drv_get_used_burst(NULL, got, lens, 1), -EINVAL);
	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, got, lens, 0), 0);
}

/* ----------------------------------------------------------------------------
 * Round trip: both sides over the same rings, past the 16-bit index wrap
 */

#define RT_CHAINS	70000u	/* > 65536: avail idx, used idx and last_used all wrap */
#define RT_BUF		(B0 + 0x8000 + 32)	/* slot s, buffer k at + 256 s + 64 k */

struct flight {
	uint32_t seq;
	uint32_t nb, nr;	/* buffers, readable among them */
	bool ind;
	struct pvb_virtq_buf b[4];
	uint32_t wrote;		/* bytes the device writes back */
};

static uint8_t
rd_byte(uint32_t seq, uint32_t j)
{
	return (uint8_t)(seq * 7 + j * 13 + 1);
}

static uint8_t
wr_byte(uint32_t seq, uint32_t j)
{
	return (uint8_t)(seq * 5 + j * 3 + 0x80);
}

/*
 * Chain @seq in slot @slot: 1..4 buffers of 1..64 bytes, 0..all readable,
 * every third one indirect if negotiated. Slot 127's buffer 3 starts at
 * RT_BUF + 127 * 256 + 192 = B1 - 32: it crosses buf0 | buf1 when longer
 * than 32 bytes.
 */
static void
plan(struct flight *f, uint32_t seq, uint16_t slot, uint16_t n, bool indirect)
{
	uint32_t i, wlen = 0, cut;

	f->seq = seq;
	f->ind = indirect && seq % 3 == 2;
	f->nb = 1 + seq % 4;
	if (f->nb > n)		/* at most N descriptors in a chain, indirect ones too */
		f->nb = n;
	f->nr = (seq / 4) % (f->nb + 1);
	for (i = 0; i < f->nb; i++) {
		f->b[i].gpa = RT_BUF + 256ull * slot + 64ull * i;
		f->b[i].len = 1 + (seq * 13 + i * 5) % 64;
		f->b[i].write = i >= f->nr;
		wlen += f->b[i].write ? f->b[i].len : 0;
	}
	cut = seq % 5;
	f->wrote = wlen - (cut < wlen ? cut : wlen);
}

/* Driver: fill readable buffers, clear writable ones. */
static void
rt_fill(struct fx *fx, const struct flight *f)
{
	uint8_t buf[64];
	uint32_t i, j, off = 0;

	for (i = 0; i < f->nb; i++) {
		if (f->b[i].write) {
			gpa_write(fx, f->b[i].gpa, NULL, f->b[i].len, FILL);
			continue;
		}
		for (j = 0; j < f->b[i].len; j++)
			buf[j] = rd_byte(f->seq, off + j);
		gpa_write(fx, f->b[i].gpa, buf, f->b[i].len, 0);
		off += f->b[i].len;
	}
}

/* Driver: fill, then post. */
static void
rt_post(struct fx *fx, struct flight *f, uint16_t slot)
{
	rt_fill(fx, f);
	if (f->ind)
		assert_int_equal(pvb_virtq_drv_add_indirect(&fx->d, f->b, f->nb,
							    gpa_host(fx, IND_GPA + 64ull * slot),
							    IND_GPA + 64ull * slot, f), 0);
	else
		assert_int_equal(pvb_virtq_drv_add(&fx->d, f->b, f->nb, f), 0);
}

/* Device: check what it popped against the plan, write the reply. */
static void
rt_serve(const struct flight *f, const struct pvb_virtq_chain *c)
{
	uint64_t rlen = 0, wlen = 0;
	uint32_t i, j, roff = 0, woff = 0;
	uint8_t *p;

	for (i = 0; i < f->nb; i++) {
		rlen += f->b[i].write ? 0 : f->b[i].len;
		wlen += f->b[i].write ? f->b[i].len : 0;
	}
	if (c->readable_len != rlen || c->writable_len != wlen || c->nb_segs < f->nb)
		fail_msg("%s: chain %u: %" PRIu64 "/%" PRIu64 " bytes in %u segments, want "
			 "%" PRIu64 "/%" PRIu64 " in %u or more", here, f->seq, c->readable_len,
			 c->writable_len, c->nb_segs, rlen, wlen, f->nb);
	for (i = 0; i < c->nb_segs; i++) {
		p = c->seg[i].host;
		if (c->seg[i].write != (i >= c->nb_readable))
			fail_msg("%s: chain %u: segment %u out of order", here, f->seq, i);
		for (j = 0; j < c->seg[i].len; j++) {
			if (!c->seg[i].write) {
				if (p[j] != rd_byte(f->seq, roff))
					fail_msg("%s: chain %u: readable byte %u is %#x", here,
						 f->seq, roff, p[j]);
				roff++;
			} else if (woff < f->wrote) {
				p[j] = wr_byte(f->seq, woff++);
			}
		}
	}
}

/* Driver: the reply is there, and nothing after it. */
static void
rt_check_reply(const struct fx *fx, const struct flight *f)
{
	uint32_t i, j, off = 0;
	uint8_t buf[64], want;

	for (i = 0; i < f->nb; i++) {
		if (!f->b[i].write)
			continue;
		gpa_read(fx, f->b[i].gpa, buf, f->b[i].len);
		for (j = 0; j < f->b[i].len; j++, off++) {
			want = off < f->wrote ? wr_byte(f->seq, off) : FILL;
			if (buf[j] != want)
				fail_msg("%s: chain %u: writable byte %u is %#x, want %#x", here,
					 f->seq, off, buf[j], want);
		}
	}
}

/*
 * Post chains fl[0..b) with the bursts: each run of one-buffer direct
 * chains goes in one add_burst (buffers filled first: it publishes), the
 * others one by one.
 */
static void
rt_post_bursts(struct fx *fx, struct flight *fl, uint32_t b)
{
	struct pvb_virtq_buf bufs[MAXN];
	void *toks[MAXN];
	uint32_t k = 0, r;

	while (k < b) {
		for (r = 0; k + r < b && fl[k + r].nb == 1 && !fl[k + r].ind; r++) {
			rt_fill(fx, &fl[k + r]);
			bufs[r] = fl[k + r].b[0];
			toks[r] = &fl[k + r];
		}
		if (r == 0) {
			rt_post(fx, &fl[k], (uint16_t)k);
			k++;
			continue;
		}
		expect_eq(pvb_virtq_drv_add_burst(&fx->d, bufs, toks, r), r);
		k += r;
	}
}

/* Device, with the bursts: one count, pop them all, one push of the used burst. */
static void
rt_serve_bursts(struct fx *fx, struct flight *fl, uint32_t b, bool push_all)
{
	static struct pvb_virtq_used_elem e[MAXN];
	struct pvb_virtq_chain c;
	uint32_t k;

	expect_eq(pvb_virtq_dev_avail_count(&fx->q), b);
	for (k = 0; k < b; k++) {
		expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), 0);
		rt_serve(&fl[k], &c);
		e[k] = (struct pvb_virtq_used_elem){ .id = c.head, .len = fl[k].wrote };
		if (!push_all)
			expect_eq(pvb_virtq_dev_add_used(&fx->q, c.head, fl[k].wrote), 0);
	}
	expect_eq(pvb_virtq_dev_pop_next(&fx->q, &c), -EAGAIN);
	if (push_all)
		expect_eq(pvb_virtq_dev_push_used_burst(&fx->q, e, b), b);
	else
		pvb_virtq_dev_write_used_idx(&fx->q);
}

/* Driver, with the bursts: one get_used_burst takes them all back, in order. */
static void
rt_reclaim_bursts(struct fx *fx, struct flight *fl, uint32_t b)
{
	static void *toks[MAXN];
	static uint32_t lens[MAXN];
	uint32_t k;

	expect_eq(pvb_virtq_drv_get_used_burst(&fx->d, toks, lens, MAXN), b);
	for (k = 0; k < b; k++) {
		expect_ptr(toks[k], &fl[k]);
		expect_eq(lens[k], fl[k].wrote);
		rt_check_reply(fx, &fl[k]);
	}
}

/*
 * Per burst: the device arms kicks on even bursts (and suppresses them on
 * odd ones), the driver arms calls every third burst. Each side drains
 * everything before the other decides, so the decisions are exact: a kick
 * iff the device armed, a call iff the driver armed (with event index the
 * stale event word lies behind the window, without it the flag says so).
 * With @p bursts, both sides move each burst with the burst calls.
 */
static void
roundtrip(struct fx *fx, uint16_t n, uint64_t features, bool bursts)
{
	static struct flight fl[MAXN];
	struct pvb_virtq_chain c;
	uint32_t seq = 0, iter, b, k, len, ndesc, need;
	bool arm_kick, arm_call;
	void *tok;

	at("round trip%s: N %u, features %#" PRIx64, bursts ? " (bursts)" : "", n, features);
	fx_open(fx, n, features);
	for (iter = 0; seq < RT_CHAINS; iter++) {
		b = 1 + (iter * 37) % n;
		arm_kick = iter % 2 == 0;
		arm_call = iter % 3 == 0;
		expect_false(pvb_virtq_dev_set_notification(&fx->q, !arm_kick));
		if (arm_call)
			expect_false(pvb_virtq_drv_enable_cb(&fx->d));
		else
			pvb_virtq_drv_disable_cb(&fx->d);

		/* up to b chains, as many as the free descriptors hold */
		for (k = 0, ndesc = 0; k < b; k++) {
			plan(&fl[k], seq + k, (uint16_t)k, n, (features & F_IND) != 0);
			need = fl[k].ind ? 1 : fl[k].nb;
			if (ndesc + need > n)
				break;
			ndesc += need;
			if (!bursts)
				rt_post(fx, &fl[k], (uint16_t)k);
		}
		b = k;
		if (bursts)
			rt_post_bursts(fx, fl, b);
		expect_eq(fx->d.num_free, n - ndesc);
		pvb_virtq_drv_publish(&fx->d);
		if (pvb_virtq_drv_kick_prepare(&fx->d) != arm_kick)
			fail_msg("%s: burst %u: kick %d, want %d", here, iter, !arm_kick,
				 arm_kick);

		if (bursts) {
			rt_serve_bursts(fx, fl, b, iter % 2 == 0);
		} else {
			for (k = 0; k < b; k++) {
				expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), 0);
				rt_serve(&fl[k], &c);
				if (iter % 2 == 0)
					expect_eq(pvb_virtq_dev_push_used(&fx->q, c.head,
									 fl[k].wrote), 0);
				else
					expect_eq(pvb_virtq_dev_add_used(&fx->q, c.head,
									fl[k].wrote), 0);
			}
			expect_eq(pvb_virtq_dev_pop_avail(&fx->q, &c), -EAGAIN);
			if (iter % 2 != 0)
				pvb_virtq_dev_write_used_idx(&fx->q);
		}
		if (pvb_virtq_dev_should_notify(&fx->q) != arm_call)
			fail_msg("%s: burst %u: call %d, want %d", here, iter, !arm_call,
				 arm_call);

		if (bursts) {
			rt_reclaim_bursts(fx, fl, b);
		} else {
			for (k = 0; k < b; k++) {
				tok = NULL;
				expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 1);
				expect_ptr(tok, &fl[k]);
				expect_eq(len, fl[k].wrote);
				rt_check_reply(fx, &fl[k]);
			}
		}
		expect_eq(pvb_virtq_drv_get_used(&fx->d, &tok, &len), 0);
		expect_eq(fx->d.num_free, n);
		seq += b;
	}
	expect_false(fx->d.broken);
	expect_false(fx->q.needs_reset);
	expect_eq(fx->q.bad_chains, 0);
	expect_eq(rd16(&fx->avail->idx), (uint16_t)seq);
	expect_eq(rd16(&fx->used->idx), (uint16_t)seq);
	expect_eq(fx->q.next_avail_idx, (uint16_t)seq);
	expect_eq(fx->d.last_used, (uint16_t)seq);
}

static void
test_roundtrip(void **state)
{
	static const uint16_t sizes[] = { 1, 16, 256 };
	static const uint64_t feats[] = { 0, F_IND, F_EVT, F_IND | F_EVT };
	size_t i, j;

	for (i = 0; i < DIM(sizes); i++)
		for (j = 0; j < DIM(feats); j++)
			roundtrip(*state, sizes[i], feats[j], false);
}

static void
test_roundtrip_bursts(void **state)
{
	static const uint16_t sizes[] = { 1, 16, 256 };
	static const uint64_t feats[] = { 0, F_IND | F_EVT };
	size_t i, j;

	for (i = 0; i < DIM(sizes); i++)
		for (j = 0; j < DIM(feats); j++)
			roundtrip(*state, sizes[i], feats[j], true);
}

/* ----------------------------------------------------------------------------
 * Fault names
 */

static void
test_fault_str(void **state)
{
	static const enum pvb_virtq_fault faults[] = {
		PVB_VIRTQ_OK,
		PVB_VIRTQ_FAULT_AVAIL_IDX,
		PVB_VIRTQ_FAULT_HEAD,
		PVB_VIRTQ_FAULT_NEXT,
		PVB_VIRTQ_FAULT_LOOP,
		PVB_VIRTQ_FAULT_INDIRECT,
		PVB_VIRTQ_FAULT_ORDER,
		PVB_VIRTQ_FAULT_MEMORY,
		PVB_VIRTQ_FAULT_TOO_LONG,
		PVB_VIRTQ_FAULT_SEGS,
		PVB_VIRTQ_FAULT_RINGS,
		PVB_VIRTQ_FAULT_USED_IDX,
		PVB_VIRTQ_FAULT_USED_ID,
		PVB_VIRTQ_FAULT_USED_LEN,
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < DIM(faults); i++) {
		assert_non_null(pvb_virtq_fault_str(faults[i]));
		assert_int_not_equal(pvb_virtq_fault_str(faults[i])[0], '\0');
		for (j = 0; j < i; j++)
			assert_string_not_equal(pvb_virtq_fault_str(faults[i]),
						pvb_virtq_fault_str(faults[j]));
	}
	assert_non_null(pvb_virtq_fault_str((enum pvb_virtq_fault)99));
}

#define T(f)	cmocka_unit_test_setup(f, test_setup)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_layout_all_sizes),
		T(test_layout_examples),
		T(test_layout_invalid),
		T(test_layout_req_area_overflow),
		T(test_dev_set_size),
		T(test_dev_is_valid),
		T(test_dev_reset),
		T(test_ring_words),
		T(test_dev_enable),
		T(test_bad_chains),
		T(test_good_chains),
		T(test_chain_max_segs),
		T(test_indirect_table_placement),
		T(test_dev_indirect_longer_than_queue),
		T(test_drv_indirect_longer_than_queue),
		T(test_avail_idx),
		T(test_mem_init),
		T(test_mem_translate),
		T(test_mem_translate_huge),
		T(test_mem_ptr),
		T(test_need_event),
		T(test_dev_should_notify),
		T(test_dev_set_notification),
		T(test_dev_used),
		T(test_drv_add),
		T(test_drv_add_indirect),
		T(test_drv_bad_used),
		T(test_drv_in_order),
		T(test_drv_kick_prepare),
		T(test_drv_cb),
		T(test_dev_pop_next),
		T(test_dev_pop_burst),
		T(test_dev_unpop),
		T(test_dev_push_used_burst),
		T(test_drv_add_burst),
		T(test_drv_get_used_burst),
		T(test_roundtrip),
		T(test_roundtrip_bursts),
		T(test_fault_str),
	};

	return cmocka_run_group_tests_name("unit", tests, suite_setup, suite_teardown);
}
