/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * libFuzzer target: a scring area written by a hostile peer.
 *
 * An input of at least a header is the area itself, copied into a heap
 * buffer of exactly its size so ASan sees any access past it. A shorter
 * input gets a valid small area formatted for it instead (its first byte
 * picks the geometry), so the fuzzer reaches the fast path from the first
 * run. Either way the last input bytes are a script: ring calls on both
 * ends, copying or in place, interleaved with a peer rewriting the four
 * shared indices.
 *
 * Each end attaches the way a real caller does: with a fixed expectation of
 * the entry sizes (the four combinations are tried in turn, and the first
 * that attaches is kept), never with sizes read from the header. The copying
 * calls use one fixed caller buffer, sized for MAX_N of the largest entries,
 * with the entries of a call flush against its end.
 *
 * Whatever the peer writes, every call must return a count in [0, n] (n or
 * 0 for bulk) or PVB_SCRING_BROKEN, must not touch the caller's buffer past
 * that count of expected-size entries, must publish exactly what it returns,
 * and must hand out in-place slots only inside the ring's entries and only
 * below what is pending. Commit/release return k, -EINVAL for k beyond what
 * is pending (publishing nothing), or BROKEN. A broken end stays broken, an
 * end that never attached answers BROKEN to everything, and each end is
 * counted broken at most once. A violation aborts, which libFuzzer reports
 * as a crash.
 *
 * The script keeps the one rule the API puts on its caller: copying and
 * in-place calls do not mix on a ring within a phase, so a copying call on a
 * role with a reservation or peek pending abandons it first (commit or
 * release 0). Re-reserving or re-peeking while one is pending is allowed.
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pvb_scring.h"

#define SCRIPT_MAX	96	/* script bytes taken from the end of a long input */
#define MAX_N		15	/* the largest count a script step asks for */
#define BUF_BYTES	(MAX_N * PVB_SCRING_ENTRY_LARGE)	/* the caller's buffer */
#define POISON		0xa5
#define FILL		0x3c	/* what the caller writes into entries */
#define PLANT_ONE_IN	8	/* mutations that plant a valid header, one in this many */

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define DIM(a)		(sizeof(a) / sizeof((a)[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/*
 * A small geometry picked by 8 bits: rings of 1..8 entries, either entry
 * size, and all four indices starting 1..4 below 2^32, so the fast path
 * meets size-1 rings, ring wrap and counter wrap within a few steps.
 */
static struct pvb_scring_params
small_params(uint8_t bits)
{
	struct pvb_scring_params p = {
		.sub_size = 1u << (bits & 3),
		.cmp_size = 1u << ((bits >> 2) & 3),
		.sub_esize = bits & 0x10 ? PVB_SCRING_ENTRY_LARGE : PVB_SCRING_ENTRY_SMALL,
		.cmp_esize = bits & 0x20 ? PVB_SCRING_ENTRY_LARGE : PVB_SCRING_ENTRY_SMALL,
		.start_index = UINT32_MAX - (bits >> 6),
	};

	return p;
}

/* A formatted area of @p in a heap block of exactly its size, or NULL. */
static uint8_t *
formatted_area(const struct pvb_scring_params *p, size_t *len)
{
	void *area;

	*len = pvb_scring_area_size(p);
	if (*len == 0 || posix_memalign(&area, PVB_SCRING_LINE, *len) != 0)
		return NULL;
	CHECK(pvb_scring_format(area, *len, p) == 0);
	return area;
}

/* The four roles of the two ends: who moves entries on which ring, and which way. */
enum role {
	ROLE_SUBMIT,	/* producer writes submissions */
	ROLE_REAP,	/* producer reads completions */
	ROLE_CONSUME,	/* consumer reads submissions */
	ROLE_COMPLETE,	/* consumer writes completions */
	NB_ROLES
};

/* One role as its caller sees it: what it expects, and our count of its progress. */
struct fuzz_role {
	bool on_prod;
	bool reads;
	pvb_shared_u32 *own_p;	/* the index this role publishes */
	uint8_t *ents;		/* the ring's entries, as the header placed them at attach */
	uint32_t mask;
	uint16_t esize;		/* what the caller expects; 0 if the end never attached */
	uint32_t own;		/* what the role has published, by our count */
	unsigned int pending;	/* reserved or peeked, by our count */
};

struct fuzz {
	uint8_t *area;
	size_t len;
	struct pvb_scring_hdr *hdr;
	struct pvb_scring_prod prod;
	struct pvb_scring_cons cons;
	bool have_prod;		/* attached */
	bool have_cons;
	struct fuzz_role role[NB_ROLES];
	uint8_t *buf;		/* the caller's buffer, BUF_BYTES on the heap */
	const uint8_t *script;
	size_t script_len;
	size_t pos;
};

/*
 * Script steps: the low 4 bits of a step byte pick the operation, the high 4
 * bits are its count n (or which index a poke moves, or which end).
 */
enum step {
	STEP_MOVE = 0,		/* 0..7: copying call of role op / 2, bulk if op is odd */
	STEP_POKE_DELTA = 8,	/* an index moves by a signed byte */
	STEP_POKE_ABS,		/* an index takes any 32-bit value */
	STEP_BEGIN,		/* 10..13: reserve or peek of role op - 10 */
	STEP_END = 14,		/* commit or release: the operand byte picks role and k */
	STEP_MISC,		/* n bit 0: which end; bit 1: info, else the idle calls */
};

static bool
script_byte(struct fuzz *f, uint8_t *b)
{
	if (f->pos >= f->script_len)
		return false;
	*b = f->script[f->pos++];
	return true;
}

static uint32_t
script_u32(struct fuzz *f)
{
	uint32_t v = 0;
	uint8_t b;
	int i;

	for (i = 0; i < 4 && script_byte(f, &b); i++)
		v |= (uint32_t)b << (8 * i);
	return v;
}

static pvb_shared_u32 *
shared_index(struct fuzz *f, unsigned int which)
{
	switch (which & 3) {
	case 0:
		return &f->hdr->submit_head.idx;
	case 1:
		return &f->hdr->submit_tail.idx;
	case 2:
		return &f->hdr->complete_head.idx;
	default:
		return &f->hdr->complete_tail.idx;
	}
}

static bool
role_broken(const struct fuzz *f, const struct fuzz_role *r)
{
	return r->on_prod ? pvb_scring_prod_broken(&f->prod) : pvb_scring_cons_broken(&f->cons);
}

/* relaxed: one thread plays both ends and the peer */
static uint32_t
published(const struct fuzz_role *r)
{
	return pvb_load_relaxed(r->own_p);
}

/* The contract of every fast-path call, given whether the end was broken before it. */
static void
check_result(int rc, unsigned int n, bool bulk, bool was_broken, bool broken_now)
{
	if (was_broken)
		CHECK(rc == PVB_SCRING_BROKEN);
	if (rc == PVB_SCRING_BROKEN) {
		CHECK(broken_now);
		return;
	}
	CHECK(rc >= 0 && (unsigned int)rc <= n);
	CHECK(!bulk || rc == 0 || (unsigned int)rc == n);
}

/* A role moved @rc entries: it published exactly that many more. */
static void
check_published(struct fuzz_role *r, int rc)
{
	if (rc <= 0)
		return;
	r->own += (uint32_t)rc;
	CHECK(published(r) == r->own);
}

/* ----------------------------------------------------------------------------
 * Copying calls
 */

static int
move_call(struct fuzz *f, enum role role, uint8_t *objs, unsigned int n, bool bulk)
{
	switch (role) {
	case ROLE_SUBMIT:
		return bulk ? pvb_scring_submit_bulk(&f->prod, objs, n) :
			      pvb_scring_submit_burst(&f->prod, objs, n);
	case ROLE_REAP:
		return bulk ? pvb_scring_reap_bulk(&f->prod, objs, n) :
			      pvb_scring_reap_burst(&f->prod, objs, n);
	case ROLE_CONSUME:
		return bulk ? pvb_scring_consume_bulk(&f->cons, objs, n) :
			      pvb_scring_consume_burst(&f->cons, objs, n);
	default:
		return bulk ? pvb_scring_complete_bulk(&f->cons, objs, n) :
			      pvb_scring_complete_burst(&f->cons, objs, n);
	}
}

/* Bytes of the caller's buffer outside @rc entries at @objs are still POISON. */
static void
check_untouched(const struct fuzz *f, const uint8_t *objs, int rc, uint16_t esize)
{
	const uint8_t *end = objs + (rc > 0 ? (size_t)rc * esize : 0);
	const uint8_t *p;

	for (p = f->buf; p < objs; p++)
		CHECK(*p == POISON);
	for (p = end; p < f->buf + BUF_BYTES; p++)
		CHECK(*p == POISON);
}

/*
 * One copying call. The @n entries of the expected size sit flush against
 * the end of the caller's buffer, so ASan catches an access past them and
 * the poison catches a write past the count returned.
 */
static void
step_move(struct fuzz *f, enum role role, unsigned int n, bool bulk)
{
	struct fuzz_role *r = &f->role[role];
	/* an end that never attached still gets calls: it must refuse them all */
	uint16_t esize = r->esize != 0 ? r->esize : PVB_SCRING_ENTRY_LARGE;
	uint8_t *objs = f->buf + BUF_BYTES - (size_t)n * esize;
	bool was_broken = role_broken(f, r);
	int rc;

	memset(f->buf, POISON, BUF_BYTES);
	if (!r->reads)
		memset(objs, FILL, (size_t)n * esize);
	rc = move_call(f, role, objs, n, bulk);
	check_result(rc, n, bulk, was_broken, role_broken(f, r));
	if (r->reads)
		check_untouched(f, objs, rc, esize);
	check_published(r, rc);
}

/* ----------------------------------------------------------------------------
 * In-place calls
 */

static int
begin_call(struct fuzz *f, enum role role, unsigned int n)
{
	switch (role) {
	case ROLE_SUBMIT:
		return pvb_scring_submit_reserve(&f->prod, n);
	case ROLE_REAP:
		return pvb_scring_reap_peek(&f->prod, n);
	case ROLE_CONSUME:
		return pvb_scring_consume_peek(&f->cons, n);
	default:
		return pvb_scring_complete_reserve(&f->cons, n);
	}
}

static const void *
slot_call(const struct fuzz *f, enum role role, unsigned int i)
{
	switch (role) {
	case ROLE_SUBMIT:
		return pvb_scring_submit_slot(&f->prod, i);
	case ROLE_REAP:
		return pvb_scring_reap_slot(&f->prod, i);
	case ROLE_CONSUME:
		return pvb_scring_consume_slot(&f->cons, i);
	default:
		return pvb_scring_complete_slot(&f->cons, i);
	}
}

static int
end_call(struct fuzz *f, enum role role, unsigned int k)
{
	switch (role) {
	case ROLE_SUBMIT:
		return pvb_scring_submit_commit(&f->prod, k);
	case ROLE_REAP:
		return pvb_scring_reap_release(&f->prod, k);
	case ROLE_CONSUME:
		return pvb_scring_consume_release(&f->cons, k);
	default:
		return pvb_scring_complete_commit(&f->cons, k);
	}
}

/*
 * Every pending slot is the entry after the last one published, inside the
 * area; none is handed out past what is pending, and none once the end broke. Writers fill theirs,
 * readers read theirs (ASan checks both accesses).
 */
static void
check_slots(struct fuzz *f, enum role role)
{
	static volatile uint8_t sink;	/* keeps the reads of peeked entries */
	struct fuzz_role *r = &f->role[role];
	const uint8_t *p;
	uint8_t *want;
	unsigned int i, j;

	/* a broken end drops whatever was pending: it hands out no more slots */
	if (role_broken(f, r))
		r->pending = 0;
	for (i = 0; i < r->pending; i++) {
		p = slot_call(f, role, i);
		want = r->ents + (size_t)((r->own + i) & r->mask) * r->esize;
		CHECK(p == want);
		CHECK(p >= f->area && p + r->esize <= f->area + f->len);
		if (!r->reads)
			memset(want, FILL, r->esize);
		for (j = 0; j < r->esize; j++)
			sink = (uint8_t)(sink ^ p[j]);
	}
	CHECK(slot_call(f, role, r->pending) == NULL);
	CHECK(slot_call(f, role, r->pending + 1) == NULL);
	CHECK(slot_call(f, role, UINT_MAX) == NULL);
}

static void
step_begin(struct fuzz *f, enum role role, unsigned int n)
{
	struct fuzz_role *r = &f->role[role];
	bool was_broken = role_broken(f, r);
	int rc;

	rc = begin_call(f, role, n);
	check_result(rc, n, false, was_broken, role_broken(f, r));
	r->pending = rc > 0 ? (unsigned int)rc : 0;
	check_slots(f, role);
}

/* Commit or release @k: k, -EINVAL (k > pending, nothing published), or BROKEN. */
static void
step_end(struct fuzz *f, enum role role, unsigned int k)
{
	struct fuzz_role *r = &f->role[role];
	bool was_broken = role_broken(f, r);
	uint32_t before = published(r);
	int rc;

	/* the slots are still there to write or read up to the last moment */
	check_slots(f, role);
	rc = end_call(f, role, k);
	CHECK(role_broken(f, r) == was_broken);	/* nothing new is read here */
	if (was_broken) {
		CHECK(rc == PVB_SCRING_BROKEN);
	} else if (k > r->pending) {
		CHECK(rc == -EINVAL);
	} else {
		CHECK(rc == (int)k);
		r->pending = 0;
		check_published(r, rc);
	}
	if (rc <= 0)
		CHECK(published(r) == before);
	check_slots(f, role);
}

/*
 * The operand of STEP_END: a role and a k. Half the values are 0..3, most of
 * the rest reach past the largest pending count, a few are near UINT_MAX.
 */
static void
end_operand(struct fuzz *f, enum role *role, unsigned int *k)
{
	uint8_t d = 0;
	unsigned int v;

	(void)script_byte(f, &d);
	*role = (enum role)(d & 3);
	v = d >> 2;	/* 0..63 */
	if (v < 32)
		*k = v & 3;
	else if (v < 56)
		*k = v - 32;	/* 0..23 */
	else
		*k = UINT_MAX - (v - 56);
}

/* ----------------------------------------------------------------------------
 * The rest of the API, and the script
 */

static void
step_wait(struct fuzz *f, bool on_prod)
{
	int rc;

	if (on_prod) {
		rc = pvb_scring_reap_prepare_wait(&f->prod);
		CHECK(rc >= 0 || rc == PVB_SCRING_BROKEN);
		(void)pvb_scring_submit_need_signal(&f->prod);
		pvb_scring_reap_end_wait(&f->prod);
	} else {
		rc = pvb_scring_consume_prepare_wait(&f->cons);
		CHECK(rc >= 0 || rc == PVB_SCRING_BROKEN);
		(void)pvb_scring_complete_need_signal(&f->cons);
		pvb_scring_consume_end_wait(&f->cons);
	}
}

static void
step_info(struct fuzz *f, bool on_prod)
{
	struct pvb_scring_info i;

	if (on_prod) {
		pvb_scring_prod_info(&f->prod, &i);
		CHECK((i.fault != PVB_SCRING_OK) == pvb_scring_prod_broken(&f->prod));
		CHECK(f->have_prod || i.fault == PVB_SCRING_FAULT_DETACHED);
	} else {
		pvb_scring_cons_info(&f->cons, &i);
		CHECK((i.fault != PVB_SCRING_OK) == pvb_scring_cons_broken(&f->cons));
		CHECK(f->have_cons || i.fault == PVB_SCRING_FAULT_DETACHED);
	}
}

/* Run the script: one step per byte, plus operand bytes for the pokes and STEP_END. */
static void
run_script(struct fuzz *f)
{
	enum role role;
	unsigned int k;
	uint8_t b, d;

	while (script_byte(f, &b)) {
		unsigned int op = b & 15;
		unsigned int n = b >> 4;	/* 0..MAX_N */

		switch (op) {
		case STEP_POKE_DELTA:
			/* relaxed: one thread plays both ends and the peer */
			if (script_byte(f, &d))
				pvb_store_relaxed(shared_index(f, n),
						  pvb_load_relaxed(shared_index(f, n)) + (int8_t)d);
			break;
		case STEP_POKE_ABS:
			pvb_store_relaxed(shared_index(f, n), script_u32(f));
			break;
		case STEP_END:
			end_operand(f, &role, &k);
			step_end(f, role, k);
			break;
		case STEP_MISC:
			if (n & 2)
				step_info(f, n & 1);
			else
				step_wait(f, n & 1);
			break;
		default:
			if (op < STEP_POKE_DELTA) {
				role = (enum role)(op / 2);
				if (f->role[role].pending > 0)
					step_end(f, role, 0);	/* no mixing within a phase */
				step_move(f, role, n, op & 1);
			} else {
				step_begin(f, (enum role)(op - STEP_BEGIN), n);
			}
		}
	}
}

/* ----------------------------------------------------------------------------
 * Setting up one input
 */

/* Entry sizes a caller may expect, in the order tried; ring sizes left open (0). */
static const struct pvb_scring_params expectations[] = {
	{ 0, 0, PVB_SCRING_ENTRY_SMALL, PVB_SCRING_ENTRY_SMALL, 0 },
	{ 0, 0, PVB_SCRING_ENTRY_SMALL, PVB_SCRING_ENTRY_LARGE, 0 },
	{ 0, 0, PVB_SCRING_ENTRY_LARGE, PVB_SCRING_ENTRY_SMALL, 0 },
	{ 0, 0, PVB_SCRING_ENTRY_LARGE, PVB_SCRING_ENTRY_LARGE, 0 },
};

/*
 * Attach one end with each expectation in turn and keep the first that
 * attaches; NULL if none does. An attach that succeeds must have found the
 * entry sizes the caller expected.
 */
static const struct pvb_scring_params *
attach_end(struct fuzz *f, bool producer)
{
	const struct pvb_scring_params *x;
	char err[128];
	size_t i;
	int rc;

	for (i = 0; i < DIM(expectations); i++) {
		x = &expectations[i];
		if (producer)
			rc = pvb_scring_attach_prod(&f->prod, f->area, f->len, x, err, sizeof(err));
		else
			rc = pvb_scring_attach_cons(&f->cons, f->area, f->len, x, err, sizeof(err));
		if (rc == 0) {
			CHECK(f->hdr->sub_esize == x->sub_esize);
			CHECK(f->hdr->cmp_esize == x->cmp_esize);
			return x;
		}
	}
	return NULL;
}

/* Set up a role from the header as it was at attach (the script never rewrites it). */
static void
init_role(struct fuzz *f, enum role role, const struct pvb_scring_params *x)
{
#define OWN(field)	offsetof(struct pvb_scring_hdr, field)
	static const struct {
		bool on_prod, reads, sub;
		size_t own_off;	/* the index the role publishes */
	} roles[NB_ROLES] = {
		[ROLE_SUBMIT] = { true, false, true, OWN(submit_head) },
		[ROLE_REAP] = { true, true, false, OWN(complete_tail) },
		[ROLE_CONSUME] = { false, true, true, OWN(submit_tail) },
		[ROLE_COMPLETE] = { false, false, false, OWN(complete_head) },
	};
#undef OWN
	struct fuzz_role *r = &f->role[role];
	bool sub = roles[role].sub;

	r->on_prod = roles[role].on_prod;
	r->reads = roles[role].reads;
	r->own_p = (pvb_shared_u32 *)(void *)(f->area + roles[role].own_off);
	if (x == NULL)
		return;		/* detached: every call is refused, nothing is pending */
	r->esize = sub ? x->sub_esize : x->cmp_esize;
	r->ents = f->area + (sub ? f->hdr->sub_off : f->hdr->cmp_off);
	r->mask = (sub ? f->hdr->sub_size : f->hdr->cmp_size) - 1;
	r->own = published(r);
}

static void
attach_ends(struct fuzz *f)
{
	const struct pvb_scring_params *px, *cx;

	f->hdr = (struct pvb_scring_hdr *)(void *)f->area;
	px = attach_end(f, true);
	cx = attach_end(f, false);
	f->have_prod = px != NULL;
	f->have_cons = cx != NULL;
	init_role(f, ROLE_SUBMIT, px);
	init_role(f, ROLE_REAP, px);
	init_role(f, ROLE_CONSUME, cx);
	init_role(f, ROLE_COMPLETE, cx);
}

/*
 * The area to fuzz, in a heap block of exactly its size: the input itself,
 * or a freshly formatted small area when the input cannot hold a header.
 */
static uint8_t *
make_area(const uint8_t *data, size_t size, size_t *len)
{
	struct pvb_scring_params p = small_params(size > 0 ? data[0] : 0);
	void *area;

	if (size < sizeof(struct pvb_scring_hdr))
		return formatted_area(&p, len);
	if (posix_memalign(&area, PVB_SCRING_LINE, size) != 0)
		return NULL;
	memcpy(area, data, size);
	*len = size;
	return area;
}

/*
 * Blind mutation practically never assembles a header that attach accepts
 * (not once in 2 million runs), so the fast path would never meet a
 * peer-chosen geometry. Now and then plant a valid header over the start of
 * the input; the ordinary mutations then make near-valid ones out of it.
 */
size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	struct pvb_scring_params p = small_params((uint8_t)(seed / PLANT_ONE_IN));
	uint8_t *area;
	size_t len;

	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % PLANT_ONE_IN != 0)
		return size;
	area = formatted_area(&p, &len);
	if (area == NULL || len > max_size) {
		free(area);
		return size;
	}
	memcpy(data, area, len);
	free(area);
	return size > len ? size : len;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* every broken end would print a line; the fuzzer breaks thousands */
	pvb_scring_set_fault_log(NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t broken_before = pvb_scring_broken_total();
	struct fuzz f;

	memset(&f, 0, sizeof(f));
	f.area = make_area(data, size, &f.len);
	f.buf = malloc(BUF_BYTES);
	if (f.area == NULL || f.buf == NULL) {
		free(f.area);
		free(f.buf);
		return 0;
	}
	f.script_len = size < SCRIPT_MAX ? size : SCRIPT_MAX;
	f.script = size > 0 ? data + (size - f.script_len) : data;
	attach_ends(&f);
	/* the readers slip (0..7 calls) as the input's second byte says: skips in the mix */
	if (f.have_cons)
		CHECK(pvb_scring_consume_set_slip(&f.cons, size > 1 ? data[1] & 7 : 0) == 0);
	if (f.have_prod)
		CHECK(pvb_scring_reap_set_slip(&f.prod, size > 1 ? data[1] >> 5 : 0) == 0);
	run_script(&f);
	/* each end is counted once, when it breaks, however often it is called after */
	CHECK(pvb_scring_broken_total() - broken_before ==
	      (uint64_t)(f.have_prod && pvb_scring_prod_broken(&f.prod)) +
	      (uint64_t)(f.have_cons && pvb_scring_cons_broken(&f.cons)));
	free(f.buf);
	free(f.area);
	return 0;
}
