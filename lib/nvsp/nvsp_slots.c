/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Slot allocator: one bit per slot, 1 = free, in 64-bit words. Searches are
 * first-fit from a hint (just past the last allocation, so slots are used
 * round-robin and a freed slot is not handed out again at once), wrapping
 * to 0 once. Runs never wrap: their slots must be adjacent in the buffer.
 * Bits past n in the last word stay 0 (taken), so no search finds them.
 *
 * Both searches go a word at a time: the next free slot is the lowest set
 * bit, the end of a free run the lowest clear bit, so a get costs the
 * number of words scanned plus the number of free runs too short to use.
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

int
pvb_nvsp_slots_init(struct pvb_nvsp_slots *s, uint32_t n)
{
	uint32_t words = nwords(n);

	if (s == NULL || n == 0)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->bits = calloc(words, sizeof(*s->bits));
	if (s->bits == NULL)
		return -ENOMEM;
	s->n = n;
	range_set(s, 0, n, true);
	s->nfree = n;
	return 0;
}

void
pvb_nvsp_slots_fini(struct pvb_nvsp_slots *s)
{
	if (s == NULL)
		return;
	free(s->bits);
	memset(s, 0, sizeof(*s));
}

/* The first start in [from, to) of @p count free slots, or UINT32_MAX. */
static uint32_t
find_run(const struct pvb_nvsp_slots *s, uint32_t from, uint32_t to, uint32_t count)
{
	uint32_t f, t, stop;

	while (from < to) {
		f = scan(s, from, to, true);
		if (f >= to || count > s->n - f)
			break;
		stop = f + count;
		t = scan(s, f, stop, false);
		if (t == stop)
			return f;
		from = t + 1;	/* slot t is taken: no run starting at or before it fits */
	}
	return UINT32_MAX;
}

static void
take(struct pvb_nvsp_slots *s, uint32_t first, uint32_t count)
{
	range_set(s, first, count, false);
	s->nfree -= count;
	s->hint = first + count < s->n ? first + count : 0;
}

int64_t
pvb_nvsp_slots_get(struct pvb_nvsp_slots *s, uint32_t count)
{
	uint32_t first;

	if (s == NULL || s->bits == NULL || count == 0)
		return -EINVAL;
	if (count > s->nfree)
		return -ENOSPC;
	if (count == 1) {
		/* nfree > 0: a free slot exists on one side of the hint */
		first = scan(s, s->hint, s->n, true);
		if (first == s->n)
			first = scan(s, 0, s->hint, true);
	} else {
		first = find_run(s, s->hint, s->n, count);
		if (first == UINT32_MAX)
			first = find_run(s, 0, s->hint, count);
		if (first == UINT32_MAX)
			return -ENOSPC;
	}
	take(s, first, count);
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
	return 0;
}

bool
pvb_nvsp_slots_taken(const struct pvb_nvsp_slots *s, uint32_t i)
{
	if (s == NULL || s->bits == NULL || i >= s->n)
		return false;
	return !(s->bits[i / WBITS] >> (i % WBITS) & 1);
}
