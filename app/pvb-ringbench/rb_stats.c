/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#include <stdlib.h>
#include <string.h>

#include "rb_result.h"

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
rb_sort_u64(uint64_t *v, uint32_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
}

/* Nearest-rank percentile of sorted samples. */
double
rb_percentile(const uint64_t *sorted, uint32_t n, double pct)
{
	uint64_t rank;

	if (n == 0)
		return 0;
	rank = (uint64_t)(pct / 100.0 * n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)sorted[rank - 1];
}

struct rb_spread
rb_spread_of(const double *v, uint32_t n)
{
	struct rb_spread s = {0, 0, 0};
	double tmp[RB_MAX_ROUNDS];

	if (n == 0)
		return s;
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	s.min = tmp[0];
	s.max = tmp[n - 1];
	s.med = (n & 1) ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
	return s;
}

double
rb_cycles_to_ns(const struct rb_report *r, double cycles)
{
	return cycles * 1e9 / (double)r->tsc_hz;
}

struct rb_spread
rb_lat_spread(const struct rb_result *x, enum rb_lat_stat s)
{
	double v[RB_MAX_ROUNDS];
	uint32_t i;

	for (i = 0; i < x->rounds_done; i++)
		v[i] = x->lat[i][s];
	return rb_spread_of(v, x->rounds_done);
}

unsigned int
rb_pair_len(const struct rb_report *r, unsigned int i)
{
	const struct rb_result *a = &r->results[i];
	unsigned int n = 1;

	while (i + n < r->nb_results && r->results[i + n].lcore_a == a->lcore_a &&
	       r->results[i + n].lcore_b == a->lcore_b)
		n++;
	return n;
}

const struct rb_result *
rb_find(const struct rb_report *r, const char *kind, unsigned int a, unsigned int b)
{
	unsigned int i;

	for (i = 0; i < r->nb_results; i++) {
		const struct rb_result *x = &r->results[i];

		if (strcmp(x->kind->name, kind) == 0 && x->lcore_a == a && x->lcore_b == b)
			return x;
	}
	return NULL;
}

int
rb_burst_index(const struct rb_params *p, uint32_t burst)
{
	uint32_t i;

	for (i = 0; i < p->nb_bursts; i++)
		if (p->bursts[i] == burst)
			return (int)i;
	return -1;
}

/* Ratios round by round: the contenders ran interleaved, so each round pairs them. */
static bool
ratio_rounds(const double *num, const double *den, uint32_t n, struct rb_spread *out)
{
	double v[RB_MAX_ROUNDS];
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (den[i] <= 0 || num[i] <= 0)
			return false;
		v[i] = num[i] / den[i];
	}
	*out = rb_spread_of(v, n);
	return n > 0;
}

static uint32_t
common_rounds(const struct rb_result *a, const struct rb_result *b)
{
	if (a->rc != 0 || b->rc != 0)
		return 0;
	return a->rounds_done < b->rounds_done ? a->rounds_done : b->rounds_done;
}

bool
rb_ratio_stream(const struct rb_report *r __rte_unused, const struct rb_result *num,
		const struct rb_result *den, int bi, struct rb_spread *out)
{
	if (num == NULL || den == NULL || bi < 0 || num->kind->floor || den->kind->floor)
		return false;
	return ratio_rounds(num->rate[bi], den->rate[bi], common_rounds(num, den), out);
}

bool
rb_ratio_lat(const struct rb_report *r __rte_unused, const struct rb_result *num,
	     const struct rb_result *den, enum rb_lat_stat s, struct rb_spread *out)
{
	double a[RB_MAX_ROUNDS], b[RB_MAX_ROUNDS];
	uint32_t i, n;

	if (num == NULL || den == NULL)
		return false;
	n = common_rounds(num, den);
	for (i = 0; i < n; i++) {
		a[i] = num->lat[i][s];
		b[i] = den->lat[i][s];
	}
	return ratio_rounds(a, b, n, out);
}
