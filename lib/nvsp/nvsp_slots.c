/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Slot allocator. The bitmap is the truth: one bit per slot, 1 = free, in
 * 64-bit words; bits past n in the last word stay 0 (taken), so no search
 * finds them. Beside it, the policy (doc/nvsp.md §6):
 *
 *  - get(1) pops the most recently freed single slot first (a LIFO of at
 *    most `cap` entries), so the slots in use are the ones the datapath just
 *    touched and a frame's copy lands in memory that is still in cache;
 *  - when the LIFO has nothing usable, it takes the lowest free slot,
 *    searching from `low`, below which no slot is free;
 *  - a run (count > 1) takes the lowest run of count free slots. Runs never
 *    wrap: their slots must be adjacent in the buffer.
 *
 * The LIFO only ever holds hints. An entry whose slot a run or a scan took
 * after it was pushed is stale: a pop checks the bit and skips it. When the
 * LIFO is full a push overwrites the oldest entry, which is the coldest; the
 * slot stays free in the bitmap and a scan finds it. A slot is pushed once
 * per put, so the skipped entries cost O(1) per put, amortised.
 *
 * Scans go a word at a time: the next free slot is the lowest set bit, the
 * end of a free run the lowest clear bit, so a scan costs the words from
 * `low` to its answer plus, for runs, the number of free runs too short to
 * use. With most gets served by the LIFO, `low` stays at the edge of the
 * slots in use and a get(1) scan is usually one word.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pvb_nvsp.h"

#define WBITS		64u

static uint32_t
nwords(uint32_t n)
{
	return (uint32_t)(((uint64_t)n + WBITS - 1) / WBITS);
}

/* Bits [lo, hi) of a word, 0 <= lo < hi <= 64. */
static uint64_t
word_mask(uint32_t lo, uint32_t hi)
{
	uint64_t upto = hi == WBITS ? ~0ull : (1ull << hi) - 1;

	return upto & ~((1ull << lo) - 1);
}

/* The first index in [i, end) whose bit is @p v (1 free, 0 taken), or end. */
static uint32_t
scan(const struct pvb_nvsp_slots *s, uint32_t i, uint32_t end, bool v)
{
	uint64_t w;

	while (i < end) {
		w = s->bits[i / WBITS];
		if (!v)
			w = ~w;
		w &= ~0ull << (i % WBITS);
		if (w != 0) {
			i = i / WBITS * WBITS + (uint32_t)__builtin_ctzll(w);
			return i < end ? i : end;
		}
		i = (i / WBITS + 1) * WBITS;
	}
	return end;
}

/* Every slot of [first, first + count) has bit @p v. */
static bool
range_is(const struct pvb_nvsp_slots *s, uint32_t first, uint32_t count, bool v)
{
	return scan(s, first, first + count, !v) == first + count;
}

/* Set (free) or clear (take) the bits of [first, first + count). */
static void
range_set(struct pvb_nvsp_slots *s, uint32_t first, uint32_t count, bool v)
{
	uint32_t i = first, end = first + count, hi;
	uint64_t m;

	while (i < end) {
		hi = end - i / WBITS * WBITS < WBITS ? end % WBITS : WBITS;
		m = word_mask(i % WBITS, hi);
		if (v)
			s->bits[i / WBITS] |= m;
		else
			s->bits[i / WBITS] &= ~m;
		i = (i / WBITS + 1) * WBITS;
	}
}

static bool
is_free(const struct pvb_nvsp_slots *s, uint32_t i)
{
	return s->bits[i / WBITS] >> (i % WBITS) & 1;
}

int
pvb_nvsp_slots_init(struct pvb_nvsp_slots *s, uint32_t n)
{
	uint32_t cap = n < PVB_NVSP_SLOTS_LIFO_MAX ? n : PVB_NVSP_SLOTS_LIFO_MAX;

	if (s == NULL || n == 0)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->bits = calloc(nwords(n), sizeof(*s->bits));
	if (s->bits == NULL)
		goto fail_bits;
	s->lifo = calloc(cap, sizeof(*s->lifo));
	if (s->lifo == NULL)
		goto fail_lifo;
	s->n = n;
	s->cap = cap;
	range_set(s, 0, n, true);
	s->nfree = n;
	return 0;

fail_lifo:
	free(s->bits);
	s->bits = NULL;
fail_bits:
	return -ENOMEM;
}

void
pvb_nvsp_slots_fini(struct pvb_nvsp_slots *s)
{
	if (s == NULL)
		return;
	free(s->lifo);
	free(s->bits);
	memset(s, 0, sizeof(*s));
}

/* Remember @p i as the most recently freed slot; a full LIFO forgets its oldest. */
static void
lifo_push(struct pvb_nvsp_slots *s, uint32_t i)
{
	s->lifo[s->top] = i;
	s->top = s->top + 1 == s->cap ? 0 : s->top + 1;
	if (s->depth < s->cap)
		s->depth++;
}

/* The most recently freed slot that is still free, or UINT32_MAX; stale entries go. */
static uint32_t
lifo_pop(struct pvb_nvsp_slots *s)
{
	uint32_t i;

	while (s->depth != 0) {
		s->top = s->top == 0 ? s->cap - 1 : s->top - 1;
		s->depth--;
		i = s->lifo[s->top];
		if (is_free(s, i))
			return i;
	}
	return UINT32_MAX;
}

/* The first start in [from, n) of @p count free slots, or UINT32_MAX. */
static uint32_t
find_run(const struct pvb_nvsp_slots *s, uint32_t from, uint32_t count)
{
	uint32_t f, t, stop;

	while (from < s->n) {
		f = scan(s, from, s->n, true);
		if (f >= s->n || count > s->n - f)
			break;
		stop = f + count;
		t = scan(s, f, stop, false);
		if (t == stop)
			return f;
		from = t + 1;	/* slot t is taken: no run starting at or before it fits */
	}
	return UINT32_MAX;
}

int64_t
pvb_nvsp_slots_get(struct pvb_nvsp_slots *s, uint32_t count)
{
	uint32_t first;

	if (s == NULL || s->bits == NULL || count == 0)
		return -EINVAL;
	if (count > s->nfree)
		return -ENOSPC;
	first = count == 1 ? lifo_pop(s) : UINT32_MAX;
	if (first == UINT32_MAX) {
		/* nothing below low is free: move it to the first free slot (one exists) */
		s->low = scan(s, s->low, s->n, true);
		first = count == 1 ? s->low : find_run(s, s->low, count);
		if (first == UINT32_MAX)
			return -ENOSPC;
	}
	range_set(s, first, count, false);
	s->nfree -= count;
	if (first == s->low)
		s->low = first + count;
	return first;
}

int
pvb_nvsp_slots_put(struct pvb_nvsp_slots *s, uint32_t first, uint32_t count)
{
	if (s == NULL || s->bits == NULL || count == 0 || first >= s->n || count > s->n - first)
		return -EINVAL;
	/* a double free changes nothing: check the whole range before freeing any of it */
	if (!range_is(s, first, count, false))
		return -EINVAL;
	range_set(s, first, count, true);
	s->nfree += count;
	if (first < s->low)
		s->low = first;
	if (count == 1)
		lifo_push(s, first);
	return 0;
}

bool
pvb_nvsp_slots_taken(const struct pvb_nvsp_slots *s, uint32_t i)
{
	if (s == NULL || s->bits == NULL || i >= s->n)
		return false;
	return !is_free(s, i);
}
