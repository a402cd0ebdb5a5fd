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
 * ends, interleaved with a peer rewriting the four shared indices.
 *
 * Whatever the peer writes, every call must return a count in [0, n] (n or
 * 0 for bulk) or PVB_SCRING_BROKEN, must not write the caller's buffer past
 * that count, a broken end must stay broken, and each end is counted broken
 * at most once. A violation aborts, which libFuzzer reports as a crash.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pvb_scring.h"

#define SCRIPT_MAX	96	/* script bytes taken from the end of a long input */
#define MAX_N		15	/* the largest count a script step asks for */
#define BUF_BYTES	((MAX_N + 1) * PVB_SCRING_ENTRY_LARGE)
#define POISON		0xa5
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

struct fuzz {
	uint8_t *area;
	struct pvb_scring_hdr *hdr;
	struct pvb_scring_prod prod;
	struct pvb_scring_cons cons;
	bool have_prod;
	bool have_cons;
	uint16_t sub_esize;	/* from the header at attach; the script never rewrites it */
	uint16_t cmp_esize;
	const uint8_t *script;
	size_t script_len;
	size_t pos;
};

/* Script steps: the low 3 bits of a step byte pick the operation. */
enum step {
	STEP_SUBMIT,
	STEP_REAP,
	STEP_CONSUME,
	STEP_COMPLETE,
	STEP_POKE_DELTA,	/* an index moves by a signed byte */
	STEP_POKE_ABS,		/* an index takes any 32-bit value */
	STEP_WAIT,		/* the adaptive-idle calls of one end */
	STEP_INFO,
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

/* Bytes of @buf past @rc entries of @esize are still POISON. */
static void
check_untouched(const uint8_t *buf, int rc, uint16_t esize)
{
	size_t i = rc > 0 ? (size_t)rc * esize : 0;

	for (; i < BUF_BYTES; i++)
		CHECK(buf[i] == POISON);
}

static int
prod_call(struct fuzz *f, enum step op, uint8_t *buf, unsigned int n, bool bulk)
{
	if (op == STEP_SUBMIT)
		return bulk ? pvb_scring_submit_bulk(&f->prod, buf, n) :
			      pvb_scring_submit_burst(&f->prod, buf, n);
	return bulk ? pvb_scring_reap_bulk(&f->prod, buf, n) :
		      pvb_scring_reap_burst(&f->prod, buf, n);
}

static int
cons_call(struct fuzz *f, enum step op, uint8_t *buf, unsigned int n, bool bulk)
{
	if (op == STEP_COMPLETE)
		return bulk ? pvb_scring_complete_bulk(&f->cons, buf, n) :
			      pvb_scring_complete_burst(&f->cons, buf, n);
	return bulk ? pvb_scring_consume_bulk(&f->cons, buf, n) :
		      pvb_scring_consume_burst(&f->cons, buf, n);
}

/* One data-moving call: submit/reap on the producer, consume/complete on the consumer. */
static void
step_move(struct fuzz *f, enum step op, unsigned int n, bool bulk)
{
	bool on_prod = op == STEP_SUBMIT || op == STEP_REAP;
	bool reads = op == STEP_REAP || op == STEP_CONSUME;
	uint16_t esize = op == STEP_SUBMIT || op == STEP_CONSUME ? f->sub_esize : f->cmp_esize;
	uint8_t buf[BUF_BYTES];
	bool was_broken;
	int rc;

	if (on_prod ? !f->have_prod : !f->have_cons)
		return;
	memset(buf, POISON, sizeof(buf));
	if (on_prod) {
		was_broken = pvb_scring_prod_broken(&f->prod);
		rc = prod_call(f, op, buf, n, bulk);
		check_result(rc, n, bulk, was_broken, pvb_scring_prod_broken(&f->prod));
	} else {
		was_broken = pvb_scring_cons_broken(&f->cons);
		rc = cons_call(f, op, buf, n, bulk);
		check_result(rc, n, bulk, was_broken, pvb_scring_cons_broken(&f->cons));
	}
	if (reads)
		check_untouched(buf, rc, esize);
}

static void
step_wait(struct fuzz *f, bool on_prod)
{
	int rc;

	if (on_prod && f->have_prod) {
		rc = pvb_scring_reap_prepare_wait(&f->prod);
		CHECK(rc >= 0 || rc == PVB_SCRING_BROKEN);
		(void)pvb_scring_submit_need_signal(&f->prod);
		pvb_scring_reap_end_wait(&f->prod);
	} else if (!on_prod && f->have_cons) {
		rc = pvb_scring_consume_prepare_wait(&f->cons);
		CHECK(rc >= 0 || rc == PVB_SCRING_BROKEN);
		(void)pvb_scring_complete_need_signal(&f->cons);
		pvb_scring_consume_end_wait(&f->cons);
	}
}

static void
step_info(struct fuzz *f)
{
	struct pvb_scring_info i;

	if (f->have_prod) {
		pvb_scring_prod_info(&f->prod, &i);
		CHECK((i.fault != PVB_SCRING_OK) == pvb_scring_prod_broken(&f->prod));
	}
	if (f->have_cons) {
		pvb_scring_cons_info(&f->cons, &i);
		CHECK((i.fault != PVB_SCRING_OK) == pvb_scring_cons_broken(&f->cons));
	}
}

/* Run the script: one step per byte, plus operand bytes for the pokes. */
static void
run_script(struct fuzz *f)
{
	uint8_t b, d;

	while (script_byte(f, &b)) {
		enum step op = (enum step)(b & 7);
		bool bulk = (b >> 3) & 1;
		unsigned int n = b >> 4;	/* 0..MAX_N; also the index for pokes */

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
		case STEP_WAIT:
			step_wait(f, bulk);
			break;
		case STEP_INFO:
			step_info(f);
			break;
		default:
			step_move(f, op, n, bulk);
		}
	}
}

/* Attach whichever ends the area allows and remember what they need. */
static void
attach_ends(struct fuzz *f, size_t len)
{
	char err[128];

	f->hdr = (struct pvb_scring_hdr *)(void *)f->area;
	f->have_prod = pvb_scring_attach_prod(&f->prod, f->area, len, err, sizeof(err)) == 0;
	f->have_cons = pvb_scring_attach_cons(&f->cons, f->area, len, err, sizeof(err)) == 0;
	if (f->have_prod || f->have_cons) {
		f->sub_esize = f->hdr->sub_esize;
		f->cmp_esize = f->hdr->cmp_esize;
	}
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
	size_t len;

	memset(&f, 0, sizeof(f));
	f.area = make_area(data, size, &len);
	if (f.area == NULL)
		return 0;
	f.script_len = size < SCRIPT_MAX ? size : SCRIPT_MAX;
	f.script = size > 0 ? data + (size - f.script_len) : data;
	attach_ends(&f, len);
	run_script(&f);
	/* each end is counted once, when it breaks, however often it is called after */
	CHECK(pvb_scring_broken_total() - broken_before ==
	      (uint64_t)(f.have_prod && pvb_scring_prod_broken(&f.prod)) +
	      (uint64_t)(f.have_cons && pvb_scring_cons_broken(&f.cons)));
	free(f.area);
	return 0;
}
