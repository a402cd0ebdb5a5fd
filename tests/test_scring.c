/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Unit tests for lib/scring (suite 'unit').
 *
 * One fixture for the suite: a freshly formatted area between two PROT_NONE
 * guard pages, with both ends attached. The two rings of the pair are driven
 * through one interface (struct dir), so every property is checked for the
 * submission and the completion direction by the same code.
 *
 * The area touches one guard page, so any access past that edge faults; the
 * slack before the other guard holds a canary that catches writes past the
 * other edge. The per-direction and fault tests run in both placements, which
 * covers reads on both sides too.
 *
 * Each end attaches with the geometry the fixture formatted (its expectation);
 * the attach tests also hand it other expectations.
 */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvb_scring.h"
#include "test_common.h"


/*
 * Default geometry: the rings differ in both entry count and entry size, so a
 * mix-up between them shows. Each array is a whole number of index strides,
 * so the library adds no padding and the offsets below are exact: the
 * submission entries end where the completion entries start, and those end
 * at the last byte of the area (right against the guard page).
 */
#define DEF_SUB_SIZE	32u
#define DEF_SUB_ESIZE	PVB_SCRING_ENTRY_SMALL
#define DEF_CMP_SIZE	8u
#define DEF_CMP_ESIZE	PVB_SCRING_ENTRY_LARGE
#define DEF_START	(UINT32_MAX - 5)	/* every test crosses the 2^32 wrap */
#define DEF_SUB_OFF	sizeof(struct pvb_scring_hdr)
#define DEF_CMP_OFF	(DEF_SUB_OFF + DEF_SUB_SIZE * DEF_SUB_ESIZE)
#define DEF_AREA	(DEF_CMP_OFF + DEF_CMP_SIZE * DEF_CMP_ESIZE)

_Static_assert(DEF_SUB_SIZE * DEF_SUB_ESIZE % PVB_SCRING_INDEX_STRIDE == 0, "no padding");
_Static_assert(DEF_CMP_SIZE * DEF_CMP_ESIZE % PVB_SCRING_INDEX_STRIDE == 0, "no padding");

#define BUF_ENTS	64	/* caller-side buffers: more entries than any ring here */
#define BUF_BYTES	(BUF_ENTS * PVB_SCRING_ENTRY_LARGE)
#define POISON		0xa5	/* caller's output bytes the library must not write */
#define CANARY		0xcd	/* slack between the area and a guard page */

static const struct pvb_scring_params def_params = {
	.sub_size = DEF_SUB_SIZE,
	.cmp_size = DEF_CMP_SIZE,
	.sub_esize = DEF_SUB_ESIZE,
	.cmp_esize = DEF_CMP_ESIZE,
	.start_index = DEF_START,
};

/* ----------------------------------------------------------------------------
 * Guarded memory
 */

/* Which edge of the area touches a guard page. */
enum placement {
	FLUSH_END,
	FLUSH_START,
};

struct guarded {
	uint8_t *map;		/* the whole mapping, guard pages included */
	size_t map_len;
	uint8_t *area;		/* 64-byte aligned, @len bytes */
	size_t len;
	uint8_t *slack;		/* between the area and the far guard page */
	size_t slack_len;
};


static void
guarded_map(struct guarded *g, size_t len, enum placement where)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = (len + pg - 1) / pg * pg;

	/* FLUSH_END keeps the area aligned only if its length is */
	assert_int_equal(len % PVB_SCRING_LINE, 0);
	g->map_len = span + 2 * pg;
	g->map = mmap(NULL, g->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map + pg, span, PROT_READ | PROT_WRITE), 0);
	g->len = len;
	g->slack_len = span - len;
	if (where == FLUSH_END) {
		g->slack = g->map + pg;
		g->area = g->slack + g->slack_len;
	} else {
		g->area = g->map + pg;
		g->slack = g->area + len;
	}
	memset(g->slack, CANARY, g->slack_len);
}

static void
guarded_unmap(struct guarded *g)
{
	if (g->map != NULL)
		assert_int_equal(munmap(g->map, g->map_len), 0);
	memset(g, 0, sizeof(*g));
}

/* ----------------------------------------------------------------------------
 * Fixture
 */

struct fx {
	struct guarded g;
	struct pvb_scring_params params;
	struct pvb_scring_prod prod;
	struct pvb_scring_cons cons;
	uint8_t *snap;		/* a copy of the area, see snapshot() */
};

/* What the fault log callback saw; the callback has no context argument. */
static struct {
	unsigned int calls;
	const char *role;
	enum pvb_scring_fault fault;
} fault_log;

static void
capture_fault_log(const char *role, enum pvb_scring_fault f)
{
	fault_log.calls++;
	fault_log.role = role;
	fault_log.fault = f;
}

static void
fx_open(struct fx *fx, const struct pvb_scring_params *p, enum placement where)
{
	char err[128] = "";
	size_t len = pvb_scring_area_size(p);

	assert_int_not_equal(len, 0);
	fx->params = *p;
	guarded_map(&fx->g, len, where);
	fx->snap = malloc(len);
	assert_non_null(fx->snap);
	assert_int_equal(pvb_scring_format(fx->g.area, len, p), 0);
	if (pvb_scring_attach_prod(&fx->prod, fx->g.area, len, p, err, sizeof(err)) != 0 ||
	    pvb_scring_attach_cons(&fx->cons, fx->g.area, len, p, err, sizeof(err)) != 0)
		fail_msg("attach to a freshly formatted area: %s", err);
}

static void
fx_close(struct fx *fx)
{
	free(fx->snap);
	fx->snap = NULL;
	guarded_unmap(&fx->g);
}

static void
fx_reopen(struct fx *fx, const struct pvb_scring_params *p, enum placement where)
{
	/* the ring being replaced must not have written outside its area either */
	assert_true(bytes_all(fx->g.slack, fx->g.slack_len, CANARY));
	fx_close(fx);
	fx_open(fx, p, where);
}

static int
suite_setup(void **state)
{
	static struct fx fixture;

	pvb_scring_set_fault_log(capture_fault_log);
	*state = &fixture;
	return 0;
}

static int
suite_teardown(void **state)
{
	(void)state;
	pvb_scring_set_fault_log(NULL);
	return 0;
}

static int
fx_setup(void **state)
{
	fx_open(*state, &def_params, FLUSH_END);
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;

	/* whatever the test did, nothing may have been written outside the area */
	assert_true(bytes_all(fx->g.slack, fx->g.slack_len, CANARY));
	fx_close(fx);
	return 0;
}

/* A shared word of the area, as the peer sees it. */
static pvb_shared_u32 *
shared_word(struct fx *fx, size_t off)
{
	return (pvb_shared_u32 *)(void *)(fx->g.area + off);
}

static uint32_t
peek(struct fx *fx, size_t off)
{
	/* relaxed: the test is single-threaded; it only inspects */
	return pvb_load_relaxed(shared_word(fx, off));
}

/* Publish a value as a (faulty) peer would. */
static void
poke(struct fx *fx, size_t off, uint32_t v)
{
	pvb_store_release(shared_word(fx, off), v);
}

static void
snapshot(struct fx *fx)
{
	memcpy(fx->snap, fx->g.area, fx->g.len);
}

/* The calls since snapshot() neither wrote entries nor moved an index. */
static void
assert_area_unchanged(const struct fx *fx)
{
	assert_memory_equal(fx->g.area, fx->snap, fx->g.len);
}

/* ----------------------------------------------------------------------------
 * One interface for both rings of the pair
 */

struct dir {
	const char *name;
	bool submit;		/* submission ring: the producer writes, the consumer reads */
	size_t head_off;	/* shared words of this ring in the header */
	size_t tail_off;
	size_t wait_off;	/* the reader's wait word */
	enum pvb_scring_fault head_fault;	/* the reader's verdict on a bad head */
	enum pvb_scring_fault tail_fault;	/* the writer's verdict on a bad tail */
	int (*put)(struct fx *fx, const void *objs, unsigned int n, bool bulk);
	int (*get)(struct fx *fx, void *objs, unsigned int n, bool bulk);
	/* in place: the writer reserves, fills slots, commits; the reader peeks, releases */
	int (*reserve)(struct fx *fx, unsigned int n);
	void *(*wslot)(const struct fx *fx, unsigned int i);
	int (*commit)(struct fx *fx, unsigned int k);
	int (*peek)(struct fx *fx, unsigned int n);
	const void *(*rslot)(const struct fx *fx, unsigned int i);
	int (*release)(struct fx *fx, unsigned int k);
	int (*prepare_wait)(struct fx *fx);
	void (*end_wait)(struct fx *fx);
	bool (*need_signal)(const struct fx *fx);
};

static int
sub_put(struct fx *fx, const void *objs, unsigned int n, bool bulk)
{
	return bulk ? pvb_scring_submit_bulk(&fx->prod, objs, n) :
		      pvb_scring_submit_burst(&fx->prod, objs, n);
}

static int
sub_get(struct fx *fx, void *objs, unsigned int n, bool bulk)
{
	return bulk ? pvb_scring_consume_bulk(&fx->cons, objs, n) :
		      pvb_scring_consume_burst(&fx->cons, objs, n);
}

static int
sub_reserve(struct fx *fx, unsigned int n)
{
	return pvb_scring_submit_reserve(&fx->prod, n);
}

static void *
sub_wslot(const struct fx *fx, unsigned int i)
{
	return pvb_scring_submit_slot(&fx->prod, i);
}

static int
sub_commit(struct fx *fx, unsigned int k)
{
	return pvb_scring_submit_commit(&fx->prod, k);
}

static int
sub_peek(struct fx *fx, unsigned int n)
{
	return pvb_scring_consume_peek(&fx->cons, n);
}

static const void *
sub_rslot(const struct fx *fx, unsigned int i)
{
	return pvb_scring_consume_slot(&fx->cons, i);
}

static int
sub_release(struct fx *fx, unsigned int k)
{
	return pvb_scring_consume_release(&fx->cons, k);
}

static int
sub_prepare_wait(struct fx *fx)
{
	return pvb_scring_consume_prepare_wait(&fx->cons);
}

static void
sub_end_wait(struct fx *fx)
{
	pvb_scring_consume_end_wait(&fx->cons);
}

static bool
sub_need_signal(const struct fx *fx)
{
	return pvb_scring_submit_need_signal(&fx->prod);
}

static int
cmp_put(struct fx *fx, const void *objs, unsigned int n, bool bulk)
{
	return bulk ? pvb_scring_complete_bulk(&fx->cons, objs, n) :
		      pvb_scring_complete_burst(&fx->cons, objs, n);
}

static int
cmp_get(struct fx *fx, void *objs, unsigned int n, bool bulk)
{
	return bulk ? pvb_scring_reap_bulk(&fx->prod, objs, n) :
		      pvb_scring_reap_burst(&fx->prod, objs, n);
}

static int
cmp_reserve(struct fx *fx, unsigned int n)
{
	return pvb_scring_complete_reserve(&fx->cons, n);
}

static void *
cmp_wslot(const struct fx *fx, unsigned int i)
{
	return pvb_scring_complete_slot(&fx->cons, i);
}

static int
cmp_commit(struct fx *fx, unsigned int k)
{
	return pvb_scring_complete_commit(&fx->cons, k);
}

static int
cmp_peek(struct fx *fx, unsigned int n)
{
	return pvb_scring_reap_peek(&fx->prod, n);
}

static const void *
cmp_rslot(const struct fx *fx, unsigned int i)
{
	return pvb_scring_reap_slot(&fx->prod, i);
}

static int
cmp_release(struct fx *fx, unsigned int k)
{
	return pvb_scring_reap_release(&fx->prod, k);
}

static int
cmp_prepare_wait(struct fx *fx)
{
	return pvb_scring_reap_prepare_wait(&fx->prod);
}

static void
cmp_end_wait(struct fx *fx)
{
	pvb_scring_reap_end_wait(&fx->prod);
}

static bool
cmp_need_signal(const struct fx *fx)
{
	return pvb_scring_complete_need_signal(&fx->cons);
}

#define HDR_OFF(f)	offsetof(struct pvb_scring_hdr, f)

static const struct dir dirs[] = {
	{
		.name = "submission",
		.submit = true,
		.head_off = HDR_OFF(submit_head.idx),
		.tail_off = HDR_OFF(submit_tail.idx),
		.wait_off = HDR_OFF(submit_tail.wait),
		.head_fault = PVB_SCRING_FAULT_SUBMIT_HEAD,
		.tail_fault = PVB_SCRING_FAULT_SUBMIT_TAIL,
		.put = sub_put,
		.get = sub_get,
		.reserve = sub_reserve,
		.wslot = sub_wslot,
		.commit = sub_commit,
		.peek = sub_peek,
		.rslot = sub_rslot,
		.release = sub_release,
		.prepare_wait = sub_prepare_wait,
		.end_wait = sub_end_wait,
		.need_signal = sub_need_signal,
	},
	{
		.name = "completion",
		.submit = false,
		.head_off = HDR_OFF(complete_head.idx),
		.tail_off = HDR_OFF(complete_tail.idx),
		.wait_off = HDR_OFF(complete_tail.wait),
		.head_fault = PVB_SCRING_FAULT_COMPLETE_HEAD,
		.tail_fault = PVB_SCRING_FAULT_COMPLETE_TAIL,
		.put = cmp_put,
		.get = cmp_get,
		.reserve = cmp_reserve,
		.wslot = cmp_wslot,
		.commit = cmp_commit,
		.peek = cmp_peek,
		.rslot = cmp_rslot,
		.release = cmp_release,
		.prepare_wait = cmp_prepare_wait,
		.end_wait = cmp_end_wait,
		.need_signal = cmp_need_signal,
	},
};

static uint32_t
dir_size(const struct fx *fx, const struct dir *d)
{
	return d->submit ? fx->params.sub_size : fx->params.cmp_size;
}

static uint32_t
dir_esize(const struct fx *fx, const struct dir *d)
{
	return d->submit ? fx->params.sub_esize : fx->params.cmp_esize;
}

static const enum placement placements[] = { FLUSH_END, FLUSH_START };

/* Run @check on each direction, each on a fresh default ring, in both placements. */
static void
for_each_dir(struct fx *fx, void (*check)(struct fx *fx, const struct dir *d))
{
	size_t w, i;

	for (w = 0; w < DIM(placements); w++) {
		for (i = 0; i < DIM(dirs); i++) {
			fx_reopen(fx, &def_params, placements[w]);
			check(fx, &dirs[i]);
		}
	}
}

static bool
end_broken(const struct fx *fx, bool producer)
{
	return producer ? pvb_scring_prod_broken(&fx->prod) : pvb_scring_cons_broken(&fx->cons);
}

static enum pvb_scring_fault
end_fault(const struct fx *fx, bool producer)
{
	struct pvb_scring_info i;

	if (producer)
		pvb_scring_prod_info(&fx->prod, &i);
	else
		pvb_scring_cons_info(&fx->cons, &i);
	return i.fault;
}

/*
 * Every fast-path call of a broken end returns BROKEN and writes nothing; a
 * refused reserve or peek leaves no slot to write or read.
 */
static void
assert_end_dead(struct fx *fx, bool producer)
{
	uint8_t buf[BUF_BYTES];
	size_t i;

	memset(buf, POISON, sizeof(buf));
	for (i = 0; i < DIM(dirs); i++) {
		const struct dir *d = &dirs[i];

		if (d->submit == producer) {	/* this end writes d */
			assert_int_equal(d->put(fx, buf, 1, false), PVB_SCRING_BROKEN);
			assert_int_equal(d->put(fx, buf, 1, true), PVB_SCRING_BROKEN);
			assert_int_equal(d->reserve(fx, 1), PVB_SCRING_BROKEN);
			assert_null(d->wslot(fx, 0));
			assert_int_equal(d->commit(fx, 0), PVB_SCRING_BROKEN);
			assert_int_equal(d->commit(fx, 1), PVB_SCRING_BROKEN);
			assert_false(d->need_signal(fx));
		} else {
			assert_int_equal(d->get(fx, buf, 1, false), PVB_SCRING_BROKEN);
			assert_int_equal(d->get(fx, buf, 1, true), PVB_SCRING_BROKEN);
			assert_int_equal(d->peek(fx, 1), PVB_SCRING_BROKEN);
			assert_null(d->rslot(fx, 0));
			assert_int_equal(d->release(fx, 0), PVB_SCRING_BROKEN);
			assert_int_equal(d->release(fx, 1), PVB_SCRING_BROKEN);
			assert_int_equal(d->prepare_wait(fx), PVB_SCRING_BROKEN);
		}
	}
	assert_true(bytes_all(buf, sizeof(buf), POISON));
}

/* ----------------------------------------------------------------------------
 * Sequenced traffic: entry k of a stream carries k in its first 8 bytes and,
 * in 16-byte entries, ~k in the next 8, so a lost, repeated, reordered or
 * torn entry shows.
 */

struct stream {
	uint64_t put_seq;	/* next sequence number to write */
	uint64_t get_seq;	/* next sequence number expected */
};

static void
fill_seq(uint8_t *buf, uint32_t esize, uint64_t seq, unsigned int n)
{
	unsigned int i;
	uint64_t w;

	for (i = 0; i < n; i++, seq++) {
		memcpy(buf + (size_t)i * esize, &seq, sizeof(seq));
		w = ~seq;
		if (esize == PVB_SCRING_ENTRY_LARGE)
			memcpy(buf + (size_t)i * esize + 8, &w, sizeof(w));
	}
}

static void
assert_seq(const uint8_t *buf, uint32_t esize, uint64_t seq, unsigned int n)
{
	uint8_t want[BUF_BYTES];

	fill_seq(want, esize, seq, n);
	assert_memory_equal(buf, want, (size_t)n * esize);
}

/* Write the next @n of stream @s; returns how many the ring took. */
static unsigned int
put_seq(struct fx *fx, const struct dir *d, struct stream *s, unsigned int n, bool bulk)
{
	uint8_t buf[BUF_BYTES];
	int rc;

	assert_in_range(n, 0, BUF_ENTS);
	fill_seq(buf, dir_esize(fx, d), s->put_seq, n);
	rc = d->put(fx, buf, n, bulk);
	assert_in_range(rc, 0, n);
	if (bulk)
		assert_true(rc == 0 || (unsigned int)rc == n);
	s->put_seq += (unsigned int)rc;
	return (unsigned int)rc;
}

/* Read up to @n, checking order, values, and that nothing past them was written. */
static unsigned int
get_seq(struct fx *fx, const struct dir *d, struct stream *s, unsigned int n, bool bulk)
{
	uint32_t esize = dir_esize(fx, d);
	uint8_t buf[BUF_BYTES];
	int rc;

	assert_in_range(n, 0, BUF_ENTS);
	memset(buf, POISON, sizeof(buf));
	rc = d->get(fx, buf, n, bulk);
	assert_in_range(rc, 0, n);
	if (bulk)
		assert_true(rc == 0 || (unsigned int)rc == n);
	assert_seq(buf, esize, s->get_seq, (unsigned int)rc);
	assert_true(bytes_all(buf + (size_t)rc * esize, sizeof(buf) - (size_t)rc * esize,
			      POISON));
	s->get_seq += (unsigned int)rc;
	return (unsigned int)rc;
}

/* ----------------------------------------------------------------------------
 * Layout
 */

struct field_off {
	const char *name;
	size_t off;
	size_t want;
};

static void
test_layout_header(void **state)
{
	static const struct field_off fields[] = {
		{ "magic", HDR_OFF(magic), 0 },
		{ "version", HDR_OFF(version), 4 },
		{ "flags", HDR_OFF(flags), 6 },
		{ "sub_esize", HDR_OFF(sub_esize), 8 },
		{ "cmp_esize", HDR_OFF(cmp_esize), 10 },
		{ "sub_size", HDR_OFF(sub_size), 12 },
		{ "cmp_size", HDR_OFF(cmp_size), 16 },
		{ "sub_off", HDR_OFF(sub_off), 20 },
		{ "cmp_off", HDR_OFF(cmp_off), 24 },
		{ "area_size", HDR_OFF(area_size), 32 },
		{ "submit_head", HDR_OFF(submit_head.idx), 128 },
		{ "submit_tail", HDR_OFF(submit_tail.idx), 256 },
		{ "submit_wait", HDR_OFF(submit_tail.wait), 260 },
		{ "complete_head", HDR_OFF(complete_head.idx), 384 },
		{ "complete_tail", HDR_OFF(complete_tail.idx), 512 },
		{ "complete_wait", HDR_OFF(complete_tail.wait), 516 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < DIM(fields); i++)
		if (fields[i].off != fields[i].want)
			fail_msg("%s at %zu, want %zu", fields[i].name, fields[i].off,
				 fields[i].want);
	assert_int_equal(sizeof(struct pvb_scring_hdr), 640);
	assert_int_equal(sizeof(struct pvb_scring_index), PVB_SCRING_INDEX_STRIDE);
}

static void
test_layout_index_lines(void **state)
{
	/* in the order they appear; the header fields occupy the lines before the first */
	static const size_t idx[] = {
		HDR_OFF(submit_head), HDR_OFF(submit_tail),
		HDR_OFF(complete_head), HDR_OFF(complete_tail),
	};
	size_t i;

	(void)state;
	assert_true(HDR_OFF(reserved1) + sizeof(((struct pvb_scring_hdr *)NULL)->reserved1) <=
		    idx[0]);
	for (i = 0; i < DIM(idx); i++) {
		assert_int_equal(idx[i] % PVB_SCRING_LINE, 0);
		/* the line after each index is left empty too: the adjacent-line prefetcher */
		if (i > 0)
			assert_true(idx[i] - idx[i - 1] >= 2 * PVB_SCRING_LINE);
	}
	/* a wait word shares the line of the index written by the same side */
	assert_int_equal(HDR_OFF(submit_tail.wait) / PVB_SCRING_LINE,
			 HDR_OFF(submit_tail.idx) / PVB_SCRING_LINE);
	assert_int_equal(HDR_OFF(complete_tail.wait) / PVB_SCRING_LINE,
			 HDR_OFF(complete_tail.idx) / PVB_SCRING_LINE);
}

struct geometry {
	struct pvb_scring_params p;
	uint64_t cmp_off;
	uint64_t area;
};

/* Format @geo and check what the header says against the expected layout. */
static void
check_formatted_layout(struct fx *fx, const struct geometry *geo)
{
	const struct pvb_scring_hdr *h;

	fx_reopen(fx, &geo->p, FLUSH_END);
	h = (const struct pvb_scring_hdr *)(const void *)fx->g.area;
	assert_int_equal(h->magic, PVB_SCRING_MAGIC);
	assert_int_equal(h->version, PVB_SCRING_VERSION);
	assert_int_equal(h->flags, 0);
	assert_int_equal(h->sub_size, geo->p.sub_size);
	assert_int_equal(h->cmp_size, geo->p.cmp_size);
	assert_int_equal(h->sub_esize, geo->p.sub_esize);
	assert_int_equal(h->cmp_esize, geo->p.cmp_esize);
	assert_int_equal(h->sub_off, sizeof(*h));
	assert_int_equal(h->cmp_off, geo->cmp_off);
	assert_int_equal(h->cmp_off % PVB_SCRING_INDEX_STRIDE, 0);
	assert_int_equal(h->area_size, geo->area);
	/* entries start after the header and the arrays are disjoint and inside */
	assert_true(h->sub_off + (uint64_t)h->sub_size * h->sub_esize <= h->cmp_off);
	assert_true(h->cmp_off + (uint64_t)h->cmp_size * h->cmp_esize <= h->area_size);
	assert_int_equal(peek(fx, HDR_OFF(submit_head.idx)), geo->p.start_index);
	assert_int_equal(peek(fx, HDR_OFF(complete_tail.idx)), geo->p.start_index);
}

static void
test_layout_area(void **state)
{
	static const struct geometry geos[] = {
		{ { 1, 1, 8, 8, 0 }, 768, 896 },
		{ { 4, 2, 16, 8, 7 }, 768, 896 },
		{ { DEF_SUB_SIZE, DEF_CMP_SIZE, DEF_SUB_ESIZE, DEF_CMP_ESIZE, DEF_START },
		  DEF_CMP_OFF, DEF_AREA },
		{ { 256, 256, 8, 8, 0 }, 640 + 2048, 640 + 2 * 2048 },
		{ { 256, 1024, 16, 16, UINT32_MAX }, 640 + 4096, 640 + 4096 + 16384 },
	};
	const struct pvb_scring_params max = {
		PVB_SCRING_MAX_ENTRIES, PVB_SCRING_MAX_ENTRIES, 16, 16, 0
	};
	size_t i;

	for (i = 0; i < DIM(geos); i++) {
		assert_int_equal(pvb_scring_area_size(&geos[i].p), geos[i].area);
		check_formatted_layout(*state, &geos[i]);
	}
	/* too big to format here, but the arithmetic must not overflow */
	assert_int_equal(pvb_scring_area_size(&max),
			 640 + 2 * (uint64_t)PVB_SCRING_MAX_ENTRIES * 16);
}

/* ----------------------------------------------------------------------------
 * Data movement
 */

static void
check_empty_full(struct fx *fx, const struct dir *d)
{
	uint32_t size = dir_size(fx, d);
	struct stream s = { 0, 0 };

	assert_int_equal(get_seq(fx, d, &s, 1, false), 0);
	assert_int_equal(get_seq(fx, d, &s, 1, true), 0);
	assert_int_equal(put_seq(fx, d, &s, 0, false), 0);
	assert_int_equal(put_seq(fx, d, &s, size + 3, false), size);
	assert_int_equal(put_seq(fx, d, &s, 1, false), 0);
	assert_int_equal(put_seq(fx, d, &s, 1, true), 0);
	assert_int_equal(get_seq(fx, d, &s, 0, false), 0);
	assert_int_equal(get_seq(fx, d, &s, size + 3, false), size);
	assert_int_equal(get_seq(fx, d, &s, 1, false), 0);
	assert_int_equal(get_seq(fx, d, &s, 1, true), 0);
}

static void
test_empty_full(void **state)
{
	for_each_dir(*state, check_empty_full);
}

static void
check_bulk_vs_burst(struct fx *fx, const struct dir *d)
{
	uint32_t size = dir_size(fx, d);
	struct stream s = { 0, 0 };

	assert_int_equal(put_seq(fx, d, &s, size + 1, true), 0);	/* never fits */
	assert_int_equal(put_seq(fx, d, &s, size, true), size);
	assert_int_equal(get_seq(fx, d, &s, 3, false), 3);

	/* 3 free: bulk 5 moves nothing, not even an index; burst 5 moves 3 */
	snapshot(fx);
	assert_int_equal(put_seq(fx, d, &s, 5, true), 0);
	assert_area_unchanged(fx);
	assert_int_equal(put_seq(fx, d, &s, 5, false), 3);

	/* full: bulk size+1 reads nothing (get_seq checks the output is untouched) */
	snapshot(fx);
	assert_int_equal(get_seq(fx, d, &s, size + 1, true), 0);
	assert_area_unchanged(fx);
	assert_int_equal(get_seq(fx, d, &s, 2, true), 2);
	assert_int_equal(get_seq(fx, d, &s, size, false), size - 2);
	assert_int_equal(get_seq(fx, d, &s, 1, true), 0);
}

static void
test_bulk_vs_burst(void **state)
{
	for_each_dir(*state, check_bulk_vs_burst);
}

/* ----------------------------------------------------------------------------
 * In place: the writer reserves slots, fills them and commits; the reader
 * peeks, reads the slots and releases. The helpers check that every slot is
 * exactly where the stream's next entry belongs (so inside the ring's array),
 * and that nothing past what is pending is handed out.
 */

/* The entry array of @d, where the header puts it. */
static uint8_t *
dir_ents(const struct fx *fx, const struct dir *d)
{
	const struct pvb_scring_hdr *h = (const struct pvb_scring_hdr *)(const void *)fx->g.area;

	return fx->g.area + (d->submit ? h->sub_off : h->cmp_off);
}

/* Where entry @seq of a stream on @d lives: streams begin at the start index. */
static const uint8_t *
seq_slot(const struct fx *fx, const struct dir *d, uint64_t seq)
{
	uint32_t idx = fx->params.start_index + (uint32_t)seq;

	return dir_ents(fx, d) + (size_t)(idx & (dir_size(fx, d) - 1)) * dir_esize(fx, d);
}

/* Reserve up to @n slots and fill them with the next entries of @s; commit later. */
static unsigned int
write_begin(struct fx *fx, const struct dir *d, struct stream *s, unsigned int n)
{
	uint32_t esize = dir_esize(fx, d);
	unsigned int i;
	uint8_t *slot;
	int rc;

	rc = d->reserve(fx, n);
	assert_in_range(rc, 0, n);
	for (i = 0; i < (unsigned int)rc; i++) {
		slot = d->wslot(fx, i);
		assert_ptr_equal(slot, seq_slot(fx, d, s->put_seq + i));
		fill_seq(slot, esize, s->put_seq + i, 1);
	}
	assert_null(d->wslot(fx, (unsigned int)rc));
	assert_null(d->wslot(fx, UINT_MAX));
	return (unsigned int)rc;
}

/* Commit the first @k reserved slots: the head moves by exactly @k. */
static void
write_commit(struct fx *fx, const struct dir *d, struct stream *s, unsigned int k)
{
	assert_int_equal(d->commit(fx, k), k);
	s->put_seq += k;
	assert_null(d->wslot(fx, 0));	/* nothing stays reserved */
	assert_int_equal(peek(fx, d->head_off), (uint32_t)(fx->params.start_index + s->put_seq));
}

/* Peek up to @n entries and check they are the next of @s, in order; release later. */
static unsigned int
read_begin(struct fx *fx, const struct dir *d, struct stream *s, unsigned int n)
{
	uint32_t esize = dir_esize(fx, d);
	const uint8_t *slot;
	unsigned int i;
	int rc;

	rc = d->peek(fx, n);
	assert_in_range(rc, 0, n);
	for (i = 0; i < (unsigned int)rc; i++) {
		slot = d->rslot(fx, i);
		assert_ptr_equal(slot, seq_slot(fx, d, s->get_seq + i));
		assert_seq(slot, esize, s->get_seq + i, 1);
	}
	assert_null(d->rslot(fx, (unsigned int)rc));
	assert_null(d->rslot(fx, UINT_MAX));
	return (unsigned int)rc;
}

/* Release the first @k peeked entries: the tail moves by exactly @k. */
static void
read_release(struct fx *fx, const struct dir *d, struct stream *s, unsigned int k)
{
	assert_int_equal(d->release(fx, k), k);
	s->get_seq += k;
	assert_null(d->rslot(fx, 0));
	assert_int_equal(peek(fx, d->tail_off), (uint32_t)(fx->params.start_index + s->get_seq));
}

/* Every way an entry can move, so a pump can mix them on one ring. */
enum way {
	WAY_BURST,		/* copy, as many as fit */
	WAY_BULK,		/* copy, all or none */
	WAY_IN_PLACE,		/* reserve/peek, then commit/release all of them */
	WAY_IN_PLACE_HALF,	/* ... then only the first half (none of 1) */
	NB_WAYS
};

static unsigned int
put_way(struct fx *fx, const struct dir *d, struct stream *s, unsigned int n, enum way w)
{
	unsigned int k;

	if (w == WAY_BURST || w == WAY_BULK)
		return put_seq(fx, d, s, n, w == WAY_BULK);
	k = write_begin(fx, d, s, n);
	if (w == WAY_IN_PLACE_HALF)
		k /= 2;	/* the rest is abandoned; the next reserve hands its slots out again */
	write_commit(fx, d, s, k);
	return k;
}

static unsigned int
get_way(struct fx *fx, const struct dir *d, struct stream *s, unsigned int n, enum way w)
{
	unsigned int k;

	if (w == WAY_BURST || w == WAY_BULK)
		return get_seq(fx, d, s, n, w == WAY_BULK);
	k = read_begin(fx, d, s, n);
	if (w == WAY_IN_PLACE_HALF)
		k /= 2;	/* the rest stays for the next peek to see again */
	read_release(fx, d, s, k);
	return k;
}

/*
 * Push entries through @d in odd, out-of-step bursts so the ring is by turns
 * full, partly full and empty and the slot of the tail walks over every
 * position, then drain and check the shared indices moved by exactly the count.
 * With @mixed, the writer and the reader each cycle through every way, so
 * entries written in place are read by copy and the other way round.
 */
static void
pump(struct fx *fx, const struct dir *d, unsigned int rounds, bool mixed)
{
	uint32_t start = fx->params.start_index;
	struct stream s = { 0, 0 };
	enum way pw, gw;
	unsigned int r;

	for (r = 0; r < rounds; r++) {
		pw = r % 3 == 0 ? WAY_BULK : WAY_BURST;
		gw = r % 4 == 0 ? WAY_BULK : WAY_BURST;
		if (mixed) {
			pw = (enum way)(r % NB_WAYS);
			gw = (enum way)(r / NB_WAYS % NB_WAYS);
		}
		put_way(fx, d, &s, 1 + 2 * (r % 7), pw);
		get_way(fx, d, &s, 1 + 2 * (r % 5), gw);
	}
	while (get_seq(fx, d, &s, BUF_ENTS, false) > 0)
		;
	assert_int_equal(s.get_seq, s.put_seq);
	assert_true(s.put_seq > 8 * (uint64_t)dir_size(fx, d));	/* the ring wrapped often */
	assert_int_equal(peek(fx, d->head_off), (uint32_t)(start + s.put_seq));
	assert_int_equal(peek(fx, d->tail_off), (uint32_t)(start + s.put_seq));
}

/* Pump both rings from several start indices around 2^32 and 2^31, both entry sizes. */
static void
pump_starts(struct fx *fx, bool mixed, const enum placement *where, size_t nwhere)
{
	static const uint32_t starts[] = {
		UINT32_MAX - 5, UINT32_MAX, 0, (1u << 31) - 3, UINT32_MAX - 64,
	};
	static const uint16_t esizes[] = { PVB_SCRING_ENTRY_SMALL, PVB_SCRING_ENTRY_LARGE };
	struct pvb_scring_params p = { .sub_size = 16, .cmp_size = 8 };
	size_t w, i, j, k;

	for (w = 0; w < nwhere; w++) {
		for (i = 0; i < DIM(starts); i++) {
			for (j = 0; j < DIM(esizes); j++) {
				p.start_index = starts[i];
				p.sub_esize = esizes[j];
				p.cmp_esize = esizes[j];
				fx_reopen(fx, &p, where[w]);
				for (k = 0; k < DIM(dirs); k++)
					pump(fx, &dirs[k], 300, mixed);
			}
		}
	}
}

static void
test_wrap(void **state)
{
	pump_starts(*state, false, placements, 1);
}

static void
test_in_place_wrap(void **state)
{
	pump_starts(*state, true, placements, DIM(placements));
}

/* Empty and full, in place; what a peek sees, and that release makes room. */
static void
check_in_place_empty_full(struct fx *fx, const struct dir *d)
{
	uint32_t size = dir_size(fx, d);
	struct stream s = { 0, 0 };

	/* empty: nothing to peek, nothing to release */
	assert_int_equal(read_begin(fx, d, &s, 1), 0);
	assert_int_equal(read_begin(fx, d, &s, size), 0);
	read_release(fx, d, &s, 0);
	assert_int_equal(d->release(fx, 1), -EINVAL);

	/* a burst: more than fit reserves the whole ring, across the wrap */
	assert_int_equal(write_begin(fx, d, &s, 0), 0);
	assert_int_equal(write_begin(fx, d, &s, size + 3), size);
	write_commit(fx, d, &s, size);

	/* full: nothing to reserve */
	assert_int_equal(write_begin(fx, d, &s, 1), 0);
	assert_int_equal(d->commit(fx, 1), -EINVAL);

	/* a peek sees what was written, in order, and moves nothing until released */
	assert_int_equal(read_begin(fx, d, &s, 3), 3);
	assert_int_equal(read_begin(fx, d, &s, size + 3), size);
	read_release(fx, d, &s, 0);
	assert_int_equal(write_begin(fx, d, &s, 1), 0);
	assert_int_equal(read_begin(fx, d, &s, size), size);
	read_release(fx, d, &s, 3);

	/* the writer gets exactly the released slots back */
	assert_int_equal(write_begin(fx, d, &s, size), 3);
	write_commit(fx, d, &s, 3);
	assert_int_equal(write_begin(fx, d, &s, 1), 0);
	write_commit(fx, d, &s, 0);

	/* and the reader drains it all */
	assert_int_equal(read_begin(fx, d, &s, size), size);
	read_release(fx, d, &s, size);
	assert_int_equal(read_begin(fx, d, &s, 1), 0);
	assert_int_equal(s.get_seq, size + 3);
}

static void
test_in_place_empty_full(void **state)
{
	for_each_dir(*state, check_in_place_empty_full);
}

/* Commit fewer than reserved, none, or too many. */
static void
check_in_place_commit(struct fx *fx, const struct dir *d)
{
	uint32_t size = dir_size(fx, d);
	struct stream s = { 0, 0 };

	/* nothing reserved: committing nothing is fine, anything more is not */
	snapshot(fx);
	assert_int_equal(d->commit(fx, 1), -EINVAL);
	assert_int_equal(d->commit(fx, UINT_MAX), -EINVAL);
	write_commit(fx, d, &s, 0);
	assert_area_unchanged(fx);

	/* a partial commit publishes the first k; the next reservation follows them */
	assert_int_equal(write_begin(fx, d, &s, 5), 5);
	write_commit(fx, d, &s, 2);
	assert_int_equal(write_begin(fx, d, &s, 5), 5);

	/* more than reserved: refused, nothing published, the reservation stands */
	snapshot(fx);
	assert_int_equal(d->commit(fx, 6), -EINVAL);
	assert_int_equal(d->commit(fx, size + 1), -EINVAL);
	assert_int_equal(d->commit(fx, UINT_MAX), -EINVAL);
	assert_area_unchanged(fx);
	assert_ptr_equal(d->wslot(fx, 4), seq_slot(fx, d, s.put_seq + 4));
	assert_null(d->wslot(fx, 5));

	/* commit 0 abandons it: nothing published, nothing left to commit */
	write_commit(fx, d, &s, 0);
	assert_area_unchanged(fx);
	assert_int_equal(d->commit(fx, 1), -EINVAL);

	/* the reader sees exactly the 2 committed, and the same rules apply to release */
	assert_int_equal(read_begin(fx, d, &s, size), 2);
	snapshot(fx);
	assert_int_equal(d->release(fx, 3), -EINVAL);
	assert_int_equal(d->release(fx, UINT_MAX), -EINVAL);
	assert_area_unchanged(fx);
	assert_non_null(d->rslot(fx, 1));
	read_release(fx, d, &s, 1);
	assert_int_equal(d->release(fx, 1), -EINVAL);	/* nothing is peeked any more */
	snapshot(fx);
	assert_int_equal(read_begin(fx, d, &s, size), 1);
	read_release(fx, d, &s, 0);
	assert_area_unchanged(fx);
	assert_int_equal(read_begin(fx, d, &s, size), 1);
	read_release(fx, d, &s, 1);

	/* the abandoned slots are handed out again, and carry what is written now */
	assert_int_equal(write_begin(fx, d, &s, size), size);
	write_commit(fx, d, &s, size);
	assert_int_equal(get_seq(fx, d, &s, size, true), size);
}

static void
test_in_place_commit(void **state)
{
	for_each_dir(*state, check_in_place_commit);
}

/* Mixing ways between phases: copied in, read in place, and the other way round. */
static void
check_in_place_mixed(struct fx *fx, const struct dir *d)
{
	uint32_t size = dir_size(fx, d);
	struct stream s = { 0, 0 };
	unsigned int r;

	for (r = 0; r < 3; r++) {
		assert_int_equal(put_seq(fx, d, &s, size - 1, true), size - 1);
		assert_int_equal(read_begin(fx, d, &s, size), size - 1);
		read_release(fx, d, &s, size - 1);
		assert_int_equal(write_begin(fx, d, &s, size), size);
		write_commit(fx, d, &s, size);
		assert_int_equal(get_seq(fx, d, &s, size, false), size);
	}
}

static void
test_in_place_mixed(void **state)
{
	for_each_dir(*state, check_in_place_mixed);
}

/*
 * An end that breaks with a reservation or a peek pending publishes nothing
 * more: commit and release return BROKEN. Each end reads one ring and writes
 * the other, so it is broken through the other ring.
 */
static const struct dir *
other_dir(const struct dir *d)
{
	return &dirs[d == &dirs[0] ? 1 : 0];
}

/* The writer of @d reads the other ring: a bad head there breaks it mid-reservation. */
static void
check_broken_reserved(struct fx *fx, const struct dir *d)
{
	const struct dir *o = other_dir(d);
	struct stream s = { 0, 0 };

	assert_int_equal(write_begin(fx, d, &s, 3), 3);
	poke(fx, o->head_off, peek(fx, o->tail_off) + dir_size(fx, o) + 1);
	assert_int_equal(o->peek(fx, 1), PVB_SCRING_BROKEN);
	assert_true(end_broken(fx, d->submit));
	snapshot(fx);
	assert_int_equal(d->commit(fx, 3), PVB_SCRING_BROKEN);
	assert_int_equal(d->commit(fx, 0), PVB_SCRING_BROKEN);
	assert_end_dead(fx, d->submit);
	assert_area_unchanged(fx);
}

/* The reader of @d writes the other ring: a bad tail there breaks it mid-peek. */
static void
check_broken_peeked(struct fx *fx, const struct dir *d)
{
	const struct dir *o = other_dir(d);
	struct stream s = { 0, 0 }, os = { 0, 0 };

	assert_int_equal(put_seq(fx, d, &s, 3, true), 3);
	assert_int_equal(read_begin(fx, d, &s, 3), 3);
	assert_int_equal(put_seq(fx, o, &os, 1, true), 1);
	poke(fx, o->tail_off, peek(fx, o->head_off) + 1);
	assert_int_equal(o->reserve(fx, dir_size(fx, o)), PVB_SCRING_BROKEN);
	assert_true(end_broken(fx, !d->submit));
	snapshot(fx);
	assert_int_equal(d->release(fx, 3), PVB_SCRING_BROKEN);
	assert_int_equal(d->release(fx, 0), PVB_SCRING_BROKEN);
	assert_end_dead(fx, !d->submit);
	assert_area_unchanged(fx);
}

static void
test_in_place_broken(void **state)
{
	for_each_dir(*state, check_broken_reserved);
	for_each_dir(*state, check_broken_peeked);
}

/* ----------------------------------------------------------------------------
 * A faulty peer: impossible shared indices mark the reading end broken
 */

struct corruption {
	const char *what;
	bool on_head;		/* head: the reader detects it; tail: the writer does */
	void (*apply)(struct fx *fx, const struct dir *d);
};

static void
head_past_size(struct fx *fx, const struct dir *d)
{
	poke(fx, d->head_off, peek(fx, d->tail_off) + dir_size(fx, d) + 1);
}

static void
head_backwards(struct fx *fx, const struct dir *d)
{
	struct stream s = { 0, 0 };

	put_seq(fx, d, &s, 4, false);
	get_seq(fx, d, &s, 1, false);	/* the reader has now seen head = start + 4 */
	poke(fx, d->head_off, peek(fx, d->head_off) - 2);
}

static void
tail_past_head(struct fx *fx, const struct dir *d)
{
	struct stream s = { 0, 0 };

	/*
	 * Half full, so the bad tail is still within size of the last one seen:
	 * only the bound by our own head catches it.
	 */
	put_seq(fx, d, &s, dir_size(fx, d) / 2, true);
	poke(fx, d->tail_off, peek(fx, d->head_off) + 1);
}

static void
tail_backwards(struct fx *fx, const struct dir *d)
{
	struct stream s = { 0, 0 };

	put_seq(fx, d, &s, dir_size(fx, d), true);
	get_seq(fx, d, &s, 4, false);
	put_seq(fx, d, &s, 2, false);	/* the writer has now seen tail = start + 4 */
	poke(fx, d->tail_off, peek(fx, d->tail_off) - 2);
}

static const struct corruption corruptions[] = {
	{ "head more than size ahead of tail", true, head_past_size },
	{ "head moved backwards", true, head_backwards },
	{ "tail past head", false, tail_past_head },
	{ "tail moved backwards", false, tail_backwards },
};

/* Apply @c, then let the end that reads the bad index find it (@in_place: by reserve or peek). */
static void
check_corruption(struct fx *fx, const struct dir *d, const struct corruption *c, bool in_place)
{
	/* the reader of submissions and the writer of completions is the consumer */
	bool producer = c->on_head != d->submit;
	enum pvb_scring_fault want = c->on_head ? d->head_fault : d->tail_fault;
	uint64_t broken_before = pvb_scring_broken_total();
	unsigned int size = dir_size(fx, d);
	uint8_t buf[BUF_BYTES];
	int rc;

	memset(&fault_log, 0, sizeof(fault_log));
	c->apply(fx, d);
	memset(buf, POISON, sizeof(buf));
	/* ask for a full ring so the cached peer index cannot satisfy the call */
	if (in_place)
		rc = c->on_head ? d->peek(fx, size) : d->reserve(fx, size);
	else
		rc = c->on_head ? d->get(fx, buf, size, false) : d->put(fx, buf, size, false);
	if (rc != PVB_SCRING_BROKEN)
		fail_msg("%s ring, %s%s: returned %d", d->name, c->what,
			 in_place ? " (in place)" : "", rc);
	assert_true(bytes_all(buf, sizeof(buf), POISON));
	assert_true(end_broken(fx, producer));
	assert_false(end_broken(fx, !producer));
	assert_int_equal(end_fault(fx, producer), want);
	assert_int_equal(fault_log.calls, 1);
	assert_string_equal(fault_log.role, producer ? "producer" : "consumer");
	assert_int_equal(fault_log.fault, want);

	/* it stays broken, is counted once, and leaves the shared area alone */
	snapshot(fx);
	assert_end_dead(fx, producer);
	assert_area_unchanged(fx);
	assert_int_equal(pvb_scring_broken_total(), broken_before + 1);
	assert_int_equal(fault_log.calls, 1);
	assert_true(bytes_all(fx->g.slack, fx->g.slack_len, CANARY));
}

static void
test_corrupt_indices(void **state)
{
	struct fx *fx = *state;
	size_t w, i, k, in_place;

	for (w = 0; w < DIM(placements); w++) {
		for (i = 0; i < DIM(dirs); i++) {
			for (k = 0; k < DIM(corruptions); k++) {
				for (in_place = 0; in_place < 2; in_place++) {
					fx_reopen(fx, &def_params, placements[w]);
					check_corruption(fx, &dirs[i], &corruptions[k],
							 in_place != 0);
				}
			}
		}
	}
}

/* ----------------------------------------------------------------------------
 * Attach and format reject what they cannot use
 */

/*
 * Both ends, expecting @x, refuse (@area, @len) with @rc and a reason, write
 * nothing to the area, and stay unusable even if they worked before.
 */
static void
expect_attach(struct fx *fx, const char *what, void *area, size_t len,
	      const struct pvb_scring_params *x, int rc)
{
	char err[128];
	int got;

	snapshot(fx);
	memset(err, 0, sizeof(err));
	got = pvb_scring_attach_prod(&fx->prod, area, len, x, err, sizeof(err));
	if (got != rc || err[0] == '\0')
		fail_msg("%s: attach_prod returned %d, want %d (\"%s\")", what, got, rc, err);
	memset(err, 0, sizeof(err));
	got = pvb_scring_attach_cons(&fx->cons, area, len, x, err, sizeof(err));
	if (got != rc || err[0] == '\0')
		fail_msg("%s: attach_cons returned %d, want %d (\"%s\")", what, got, rc, err);
	/* a caller that ignores the error cannot reach the area through the ends */
	assert_true(pvb_scring_prod_broken(&fx->prod));
	assert_true(pvb_scring_cons_broken(&fx->cons));
	assert_int_equal(end_fault(fx, true), PVB_SCRING_FAULT_DETACHED);
	assert_int_equal(end_fault(fx, false), PVB_SCRING_FAULT_DETACHED);
	assert_end_dead(fx, true);
	assert_end_dead(fx, false);
	assert_area_unchanged(fx);
}

struct hdr_poke {
	const char *what;
	size_t off;
	size_t width;
	uint64_t val;
	int rc;
};

#define HDR_FIELD(f)	HDR_OFF(f), sizeof(((struct pvb_scring_hdr *)NULL)->f)

static const struct hdr_poke bad_headers[] = {
	{ "bad magic", HDR_FIELD(magic), 0x12345678, -EPROTO },
	{ "version 0", HDR_FIELD(version), 0, -EPROTONOSUPPORT },
	{ "version 2", HDR_FIELD(version), PVB_SCRING_VERSION + 1, -EPROTONOSUPPORT },
	{ "unknown flags", HDR_FIELD(flags), 1, -EPROTONOSUPPORT },
	{ "sub_size 0", HDR_FIELD(sub_size), 0, -EPROTO },
	{ "sub_size not a power of two", HDR_FIELD(sub_size), 24, -EPROTO },
	{ "sub_size too big", HDR_FIELD(sub_size), 2 * PVB_SCRING_MAX_ENTRIES, -EPROTO },
	{ "cmp_size 0", HDR_FIELD(cmp_size), 0, -EPROTO },
	{ "cmp_size not a power of two", HDR_FIELD(cmp_size), 6, -EPROTO },
	{ "cmp_size too big", HDR_FIELD(cmp_size), UINT32_MAX, -EPROTO },
	{ "sub_esize 4", HDR_FIELD(sub_esize), 4, -EPROTO },
	{ "sub_esize 32", HDR_FIELD(sub_esize), 32, -EPROTO },
	{ "cmp_esize 0", HDR_FIELD(cmp_esize), 0, -EPROTO },
	{ "sub_off 0", HDR_FIELD(sub_off), 0, -EPROTO },
	{ "sub_off inside the header", HDR_FIELD(sub_off), HDR_OFF(submit_tail), -EPROTO },
	{ "sub_off unaligned", HDR_FIELD(sub_off), DEF_SUB_OFF + 8, -EPROTO },
	{ "cmp_off inside the header", HDR_FIELD(cmp_off), 64, -EPROTO },
	{ "submission entries past area_size", HDR_FIELD(sub_size), 4 * DEF_SUB_SIZE, -ENOSPC },
	{ "completion entries past area_size", HDR_FIELD(cmp_off), DEF_AREA - 64, -ENOSPC },
	{ "cmp_off far past the area", HDR_FIELD(cmp_off), UINT32_MAX - 63, -ENOSPC },
	{ "area_size > len", HDR_FIELD(area_size), DEF_AREA + 128, -ENOSPC },
	{ "area_size huge", HDR_FIELD(area_size), UINT64_MAX, -ENOSPC },
	{ "arrays overlap exactly", HDR_FIELD(cmp_off), DEF_SUB_OFF, -EPROTO },
	{ "arrays overlap partly", HDR_FIELD(cmp_off), DEF_SUB_OFF + 128, -EPROTO },
	{ "submit_head more than size ahead", HDR_FIELD(submit_head.idx),
	  (uint32_t)(DEF_START + DEF_SUB_SIZE + 1), -EPROTO },
	{ "submit_tail past submit_head", HDR_FIELD(submit_tail.idx),
	  (uint32_t)(DEF_START + 1), -EPROTO },
	{ "complete_head behind complete_tail", HDR_FIELD(complete_head.idx),
	  (uint32_t)(DEF_START - 1), -EPROTO },
	{ "complete_tail far from complete_head", HDR_FIELD(complete_tail.idx),
	  (uint32_t)(DEF_START - DEF_CMP_SIZE - 1), -EPROTO },
};

static void
poke_field(uint8_t *area, const struct hdr_poke *pk)
{
	uint16_t v16 = (uint16_t)pk->val;
	uint32_t v32 = (uint32_t)pk->val;

	/* fields are little-endian host-order values; write them through their width */
	switch (pk->width) {
	case sizeof(v16):
		memcpy(area + pk->off, &v16, sizeof(v16));
		break;
	case sizeof(v32):
		memcpy(area + pk->off, &v32, sizeof(v32));
		break;
	default:
		assert_int_equal(pk->width, sizeof(pk->val));
		memcpy(area + pk->off, &pk->val, sizeof(pk->val));
	}
}

static void
test_attach_bad_header(void **state)
{
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < DIM(bad_headers); i++) {
		fx_reopen(fx, &def_params, FLUSH_END);
		poke_field(fx->g.area, &bad_headers[i]);
		expect_attach(fx, bad_headers[i].what, fx->g.area, fx->g.len, &fx->params,
			      bad_headers[i].rc);
	}
}

static const struct pvb_scring_params bad_expect[] = {
	/* sub_size, cmp_size, sub_esize, cmp_esize, start_index */
	{ 0, 0, 0, DEF_CMP_ESIZE, 0 },
	{ 0, 0, DEF_SUB_ESIZE, 12, 0 },
	{ 3, 0, DEF_SUB_ESIZE, DEF_CMP_ESIZE, 0 },
	{ 0, 2 * PVB_SCRING_MAX_ENTRIES, DEF_SUB_ESIZE, DEF_CMP_ESIZE, 0 },
};

static void
test_attach_bad_args(void **state)
{
	struct fx *fx = *state;
	uint8_t *a = fx->g.area;
	char err[128];

	expect_attach(fx, "NULL area", NULL, DEF_AREA, &def_params, -EINVAL);
	expect_attach(fx, "misaligned area", a + 8, DEF_AREA - 8, &def_params, -EINVAL);
	expect_attach(fx, "len < header", a, sizeof(struct pvb_scring_hdr) - 1, &def_params,
		      -ENOSPC);
	expect_attach(fx, "len 0", a, 0, &def_params, -ENOSPC);
	expect_attach(fx, "len < area_size", a, DEF_AREA - 1, &def_params, -ENOSPC);
	expect_attach(fx, "NULL expectation", a, DEF_AREA, NULL, -EINVAL);
	/* an expectation that is itself impossible is the caller's error, not the area's */
	for (size_t i = 0; i < DIM(bad_expect); i++)
		expect_attach(fx, "invalid expectation", a, DEF_AREA, &bad_expect[i], -EINVAL);
	/* no end to fill: a clean error, with a reason */
	memset(err, 0, sizeof(err));
	assert_int_equal(pvb_scring_attach_prod(NULL, a, DEF_AREA, &def_params, err, sizeof(err)),
			 -EINVAL);
	assert_int_not_equal(err[0], '\0');
	memset(err, 0, sizeof(err));
	assert_int_equal(pvb_scring_attach_cons(NULL, a, DEF_AREA, &def_params, err, sizeof(err)),
			 -EINVAL);
	assert_int_not_equal(err[0], '\0');
	/* nowhere to say why, or a 0-byte reason: still a clean error, and err untouched */
	assert_int_equal(pvb_scring_attach_prod(NULL, a, DEF_AREA, NULL, NULL, 0), -EINVAL);
	assert_int_equal(pvb_scring_attach_cons(NULL, a, DEF_AREA, &def_params, NULL, 0), -EINVAL);
	assert_int_equal(pvb_scring_attach_prod(&fx->prod, NULL, DEF_AREA, &def_params, NULL, 0),
			 -EINVAL);
	assert_int_equal(pvb_scring_attach_cons(&fx->cons, a, DEF_AREA, NULL, NULL, 0), -EINVAL);
	memset(err, POISON, sizeof(err));
	assert_int_equal(pvb_scring_attach_prod(&fx->prod, a, DEF_AREA, NULL, err, 0), -EINVAL);
	assert_true(bytes_all((const uint8_t *)err, sizeof(err), POISON));
	/* and a good area still attaches afterwards */
	assert_int_equal(pvb_scring_attach_cons(&fx->cons, a, DEF_AREA, &def_params, NULL, 0), 0);
}

/*
 * The expectation: an end refuses an area whose entry sizes, or nonzero ring
 * sizes, differ from what its caller expects, whatever else is right with it.
 * The default area has 32 x 8-byte submissions and 8 x 16-byte completions.
 */
static const struct {
	const char *what;
	struct pvb_scring_params x;	/* sub_size, cmp_size, sub_esize, cmp_esize, start */
} bad_expects[] = {
	{ "expects 16-byte submissions", { DEF_SUB_SIZE, DEF_CMP_SIZE, 16, 16, DEF_START } },
	{ "expects 8-byte completions", { DEF_SUB_SIZE, DEF_CMP_SIZE, 8, 8, DEF_START } },
	{ "expects both entry sizes swapped", { DEF_SUB_SIZE, DEF_CMP_SIZE, 16, 8, DEF_START } },
	{ "any sizes, 16-byte submissions", { 0, 0, 16, 16, DEF_START } },
	{ "any sizes, 8-byte completions", { 0, 0, 8, 8, 0 } },
	{ "expects more submissions", { 2 * DEF_SUB_SIZE, DEF_CMP_SIZE, 8, 16, DEF_START } },
	{ "expects fewer submissions", { DEF_SUB_SIZE / 2, DEF_CMP_SIZE, 8, 16, DEF_START } },
	{ "expects 1 submission", { 1, DEF_CMP_SIZE, 8, 16, DEF_START } },
	{ "expects more completions", { DEF_SUB_SIZE, 2 * DEF_CMP_SIZE, 8, 16, DEF_START } },
	{ "expects fewer completions", { DEF_SUB_SIZE, DEF_CMP_SIZE / 2, 8, 16, DEF_START } },
	{ "any submissions, other completions", { 0, 4 * DEF_CMP_SIZE, 8, 16, DEF_START } },
	{ "other submissions, any completions", { DEF_SUB_SIZE / 4, 0, 8, 16, DEF_START } },
	{ "sizes swapped", { DEF_CMP_SIZE, DEF_SUB_SIZE, 8, 16, DEF_START } },
};

static void
test_attach_expect_mismatch(void **state)
{
	struct fx *fx = *state;
	size_t w, i;

	for (w = 0; w < DIM(placements); w++) {
		for (i = 0; i < DIM(bad_expects); i++) {
			/* ends that work, on an area they accept, then a second attach */
			fx_reopen(fx, &def_params, placements[w]);
			expect_attach(fx, bad_expects[i].what, fx->g.area, fx->g.len,
				      &bad_expects[i].x, -EPROTO);
			/* the area was fine: the refusal was the expectation's */
			assert_int_equal(pvb_scring_attach_prod(&fx->prod, fx->g.area, fx->g.len,
								&fx->params, NULL, 0), 0);
			assert_int_equal(pvb_scring_attach_cons(&fx->cons, fx->g.area, fx->g.len,
								&fx->params, NULL, 0), 0);
		}
	}
}

/* Re-attach both ends with @x instead of the fixture's own expectation. */
static void
reattach(struct fx *fx, const struct pvb_scring_params *x)
{
	char err[128] = "";

	if (pvb_scring_attach_prod(&fx->prod, fx->g.area, fx->g.len, x, err, sizeof(err)) != 0 ||
	    pvb_scring_attach_cons(&fx->cons, fx->g.area, fx->g.len, x, err, sizeof(err)) != 0)
		fail_msg("attach expecting %u/%u entries: %s", x->sub_size, x->cmp_size, err);
}

/*
 * Ring sizes of 0 in the expectation accept any size, and the ends then use
 * the header's: each ring fills up to exactly its size. start_index is ignored.
 */
static void
test_attach_expect_any_size(void **state)
{
	static const struct pvb_scring_params geos[] = {
		{ 16, 4, 8, 16, 7 },
		{ 1, 1, 8, 16, UINT32_MAX },
		{ 32, 16, 8, 16, 0 },
		{ DEF_SUB_SIZE, DEF_CMP_SIZE, DEF_SUB_ESIZE, DEF_CMP_ESIZE, DEF_START },
	};
	struct fx *fx = *state;
	struct pvb_scring_params x;
	size_t i, j, k;

	for (i = 0; i < DIM(geos); i++) {
		for (j = 0; j < 4; j++) {
			fx_reopen(fx, &geos[i], j % 2 == 0 ? FLUSH_END : FLUSH_START);
			x = geos[i];
			x.sub_size = j & 1 ? geos[i].sub_size : 0;
			x.cmp_size = j & 2 ? geos[i].cmp_size : 0;
			x.start_index = geos[i].start_index + 12345;
			reattach(fx, &x);
			for (k = 0; k < DIM(dirs); k++)
				check_empty_full(fx, &dirs[k]);
		}
	}
}

static void
test_format_bad(void **state)
{
	static const struct pvb_scring_params bad_params[] = {
		/* sub_size, cmp_size, sub_esize, cmp_esize, start_index */
		{ 0, 8, 8, 16, 0 },
		{ 3, 8, 8, 16, 0 },
		{ 2 * PVB_SCRING_MAX_ENTRIES, 8, 8, 16, 0 },
		{ 32, 0, 8, 16, 0 },
		{ 32, 12, 8, 16, 0 },
		{ 32, UINT32_MAX, 8, 16, 0 },
		{ 32, 8, 0, 16, 0 },
		{ 32, 8, 4, 16, 0 },
		{ 32, 8, 8, 32, 0 },
	};
	struct fx *fx = *state;
	size_t i;

	snapshot(fx);
	for (i = 0; i < DIM(bad_params); i++) {
		errno = 0;
		assert_int_equal(pvb_scring_area_size(&bad_params[i]), 0);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(pvb_scring_format(fx->g.area, DEF_AREA, &bad_params[i]), -EINVAL);
	}
	assert_int_equal(pvb_scring_area_size(NULL), 0);
	assert_int_equal(pvb_scring_format(fx->g.area, DEF_AREA, NULL), -EINVAL);
	assert_int_equal(pvb_scring_format(NULL, DEF_AREA, &def_params), -EINVAL);
	assert_int_equal(pvb_scring_format(fx->g.area + 8, DEF_AREA - 8, &def_params), -EINVAL);
	assert_int_equal(pvb_scring_format(fx->g.area, DEF_AREA - 1, &def_params), -ENOSPC);
	assert_int_equal(pvb_scring_format(fx->g.area, 0, &def_params), -ENOSPC);
	/* a refused format leaves the area as it was */
	assert_area_unchanged(fx);
}

/* ----------------------------------------------------------------------------
 * Adaptive idle and introspection
 */

static void
check_idle_handshake(struct fx *fx, const struct dir *d)
{
	struct stream s = { 0, 0 };

	/* empty: the reader may sleep, and its wait word asks the writer for a signal */
	assert_int_equal(d->prepare_wait(fx), 0);
	assert_int_not_equal(peek(fx, d->wait_off), 0);
	assert_true(d->need_signal(fx));
	d->end_wait(fx);
	assert_int_equal(peek(fx, d->wait_off), 0);
	assert_false(d->need_signal(fx));

	/* entries present: the reader must not sleep */
	put_seq(fx, d, &s, 1, false);
	assert_false(d->need_signal(fx));
	assert_true(d->prepare_wait(fx) > 0);
	d->end_wait(fx);

	/* the race the handshake closes: announce sleep first, then the writer publishes */
	get_seq(fx, d, &s, 1, false);
	assert_int_equal(d->prepare_wait(fx), 0);
	put_seq(fx, d, &s, 1, false);
	assert_true(d->need_signal(fx));
	d->end_wait(fx);
	assert_int_equal(get_seq(fx, d, &s, 1, false), 1);
}

static void
test_idle_handshake(void **state)
{
	for_each_dir(*state, check_idle_handshake);
}

static void
assert_info_equal(const struct pvb_scring_info *got, const struct pvb_scring_info *want)
{
	assert_int_equal(got->submit_head, want->submit_head);
	assert_int_equal(got->submit_tail, want->submit_tail);
	assert_int_equal(got->complete_head, want->complete_head);
	assert_int_equal(got->complete_tail, want->complete_tail);
	assert_int_equal(got->sub_size, want->sub_size);
	assert_int_equal(got->cmp_size, want->cmp_size);
	assert_int_equal(got->sub_used, want->sub_used);
	assert_int_equal(got->cmp_used, want->cmp_used);
	assert_int_equal(got->fault, want->fault);
	assert_int_equal(got->sub_peer_loads, want->sub_peer_loads);
	assert_int_equal(got->cmp_peer_loads, want->cmp_peer_loads);
}

static void
test_info(void **state)
{
	struct fx *fx = *state;
	struct stream sub = { 0, 0 }, cmp = { 0, 0 };
	struct pvb_scring_info got, want = {
		.submit_head = DEF_START + 5,
		.submit_tail = DEF_START + 2,
		.complete_head = DEF_START + 2,
		.complete_tail = DEF_START + 1,
		.sub_size = DEF_SUB_SIZE,
		.cmp_size = DEF_CMP_SIZE,
	};
	struct pvb_scring_prod unattached;

	put_seq(fx, &dirs[0], &sub, 5, false);
	get_seq(fx, &dirs[0], &sub, 2, false);
	put_seq(fx, &dirs[1], &cmp, 2, false);
	get_seq(fx, &dirs[1], &cmp, 1, false);

	/*
	 * The used counts are each end's private view: the producer had room
	 * enough never to re-read submit_tail, so it still counts all 5.
	 */
	pvb_scring_prod_info(&fx->prod, &got);
	want.sub_used = 5;
	want.cmp_used = 1;
	/* and never loaded it; the one reap loaded complete_head once */
	want.sub_peer_loads = 0;
	want.cmp_peer_loads = 1;
	assert_info_equal(&got, &want);
	assert_int_equal(pvb_scring_submit_free(&fx->prod), DEF_SUB_SIZE - 5);

	pvb_scring_cons_info(&fx->cons, &got);
	want.sub_used = 3;
	want.cmp_used = 2;
	/* one consume loaded submit_head; the completions had room without a load */
	want.sub_peer_loads = 1;
	want.cmp_peer_loads = 0;
	assert_info_equal(&got, &want);

	/* an end that never attached reports zeros rather than reading anything */
	memset(&unattached, 0, sizeof(unattached));
	memset(&want, 0, sizeof(want));
	pvb_scring_prod_info(&unattached, &got);
	assert_info_equal(&got, &want);
}

/* The producer's loads of submit_tail so far. */
static uint64_t
prod_loads(const struct fx *fx)
{
	struct pvb_scring_info i;

	pvb_scring_prod_info(&fx->prod, &i);
	return i.sub_peer_loads;
}

static void
test_submit_room(void **state)
{
	struct fx *fx = *state;
	const struct dir *d = &dirs[0];
	struct stream sub = { 0, 0 };

	/* enough room as last seen: no load, nothing written */
	assert_int_equal(pvb_scring_submit_room(&fx->prod, 1), DEF_SUB_SIZE);
	put_seq(fx, d, &sub, DEF_SUB_SIZE, false);
	assert_int_equal(pvb_scring_submit_room(&fx->prod, 0), 0);
	assert_int_equal(prod_loads(fx), 0);
	/* short of it: the tail is loaded, and shows what the consumer freed */
	assert_int_equal(get_seq(fx, d, &sub, 5, false), 5);
	assert_int_equal(pvb_scring_submit_room(&fx->prod, 8), 5);
	assert_int_equal(prod_loads(fx), 1);
	assert_int_equal(pvb_scring_submit_free(&fx->prod), 5);
	assert_int_equal(pvb_scring_submit_room(&fx->prod, 5), 5);
	assert_int_equal(prod_loads(fx), 1);
	/* it reserved nothing: a submission goes where it would have */
	put_seq(fx, d, &sub, 5, false);
	assert_int_equal(get_seq(fx, d, &sub, DEF_SUB_SIZE, false), DEF_SUB_SIZE);
	/* a tail past the head, loaded because it is needed, breaks the end */
	put_seq(fx, d, &sub, DEF_SUB_SIZE, false);
	poke(fx, d->tail_off, peek(fx, d->head_off) + 1);
	assert_int_equal(pvb_scring_submit_room(&fx->prod, 1), PVB_SCRING_BROKEN);
	assert_true(pvb_scring_prod_broken(&fx->prod));
}

/* The consumer's loads of submit_head so far. */
static uint64_t
cons_loads(const struct fx *fx)
{
	struct pvb_scring_info i;

	pvb_scring_cons_info(&fx->cons, &i);
	return i.sub_peer_loads;
}

static void
test_slip(void **state)
{
	struct fx *fx = *state;
	const struct dir *d = &dirs[0];	/* submissions: put = submit, get = consume */
	struct stream sub = { 0, 0 };
	uint64_t loads;
	int k;

	assert_int_equal(pvb_scring_consume_set_slip(NULL, 1), -EINVAL);
	assert_int_equal(pvb_scring_reap_set_slip(NULL, 1), -EINVAL);
	assert_int_equal(pvb_scring_consume_set_slip(&fx->cons, PVB_SCRING_MAX_SLIP + 1),
			 -EINVAL);
	assert_int_equal(pvb_scring_reap_set_slip(&fx->prod, PVB_SCRING_MAX_SLIP), 0);

	/* off by default: after bursts and an empty call, the next burst is seen at once */
	put_seq(fx, d, &sub, 4, false);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 4);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 0);
	put_seq(fx, d, &sub, 4, false);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 4);

	/* on: a dry load after bursts skips the next 3 empty calls, touching nothing */
	assert_int_equal(pvb_scring_consume_set_slip(&fx->cons, 3), 0);
	put_seq(fx, d, &sub, 4, false);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 4);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 0);
	put_seq(fx, d, &sub, 4, false);
	loads = cons_loads(fx);
	for (k = 0; k < 3; k++)
		assert_int_equal(get_seq(fx, d, &sub, 4, false), 0);
	assert_int_equal(cons_loads(fx), loads);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 4);
	assert_int_equal(cons_loads(fx), loads + 1);

	/* entries one at a time (a request and its answer) never arm it */
	put_seq(fx, d, &sub, 1, false);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 1);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 0);
	put_seq(fx, d, &sub, 1, false);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 1);

	/* nor does a quarter of the ring (8 of 32) per load */
	put_seq(fx, d, &sub, DEF_SUB_SIZE / 4, false);
	assert_int_equal(get_seq(fx, d, &sub, DEF_SUB_SIZE / 4, false), DEF_SUB_SIZE / 4);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 0);
	put_seq(fx, d, &sub, 2, false);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 2);

	/* cached entries are never held back; and about to sleep, the re-check loads */
	put_seq(fx, d, &sub, 4, false);
	assert_int_equal(get_seq(fx, d, &sub, 2, false), 2);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 2);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 0);	/* armed: skipping from here */
	put_seq(fx, d, &sub, 4, false);
	assert_int_equal(pvb_scring_consume_prepare_wait(&fx->cons), 1);
	pvb_scring_consume_end_wait(&fx->cons);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 4);

	/* 0 turns it off again */
	assert_int_equal(pvb_scring_consume_set_slip(&fx->cons, 0), 0);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 0);
	put_seq(fx, d, &sub, 4, false);
	assert_int_equal(get_seq(fx, d, &sub, 4, false), 4);
}

static void
test_fault_str(void **state)
{
	static const enum pvb_scring_fault faults[] = {
		PVB_SCRING_OK,
		PVB_SCRING_FAULT_SUBMIT_TAIL,
		PVB_SCRING_FAULT_SUBMIT_HEAD,
		PVB_SCRING_FAULT_COMPLETE_TAIL,
		PVB_SCRING_FAULT_COMPLETE_HEAD,
		PVB_SCRING_FAULT_DETACHED,
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < DIM(faults); i++) {
		assert_non_null(pvb_scring_fault_str(faults[i]));
		assert_int_not_equal(pvb_scring_fault_str(faults[i])[0], '\0');
		for (j = 0; j < i; j++)
			assert_string_not_equal(pvb_scring_fault_str(faults[i]),
						pvb_scring_fault_str(faults[j]));
	}
	assert_non_null(pvb_scring_fault_str((enum pvb_scring_fault)99));
}

#define FX_TEST(f)	cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_layout_header),
		FX_TEST(test_layout_index_lines),
		FX_TEST(test_layout_area),
		FX_TEST(test_empty_full),
		FX_TEST(test_bulk_vs_burst),
		FX_TEST(test_wrap),
		FX_TEST(test_in_place_empty_full),
		FX_TEST(test_in_place_commit),
		FX_TEST(test_in_place_mixed),
		FX_TEST(test_in_place_wrap),
		FX_TEST(test_in_place_broken),
		FX_TEST(test_corrupt_indices),
		FX_TEST(test_attach_bad_header),
		FX_TEST(test_attach_bad_args),
		FX_TEST(test_attach_expect_mismatch),
		FX_TEST(test_attach_expect_any_size),
		FX_TEST(test_format_bad),
		FX_TEST(test_idle_handshake),
		FX_TEST(test_info),
		FX_TEST(test_slip),
		FX_TEST(test_submit_room),
		FX_TEST(test_fault_str),
	};

	return cmocka_run_group_tests_name("unit", tests, suite_setup, suite_teardown);
}
