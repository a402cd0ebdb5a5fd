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

static uint32_t
common_rounds(const struct rb_result *a, const struct rb_result *b)
{
	if (a->rc != 0 || b->rc != 0)
		return 0;
	return a->rounds_done < b->rounds_done ? a->rounds_done : b->rounds_done;
}

enum rb_mode
rb_mode_of(const struct rb_report *r, double floor_cycles)
{
	return rb_cycles_to_ns(r, floor_cycles) <= RB_FAST_FLOOR_NS ? RB_MODE_FAST : RB_MODE_SLOW;
}

const char *
rb_mode_name(enum rb_mode m)
{
	return m == RB_MODE_FAST ? "fast" : m == RB_MODE_SLOW ? "slow" : "any";
}

static bool
in_mode(const struct rb_report *r, double floor_cycles, enum rb_mode m)
{
	return floor_cycles > 0 && (m == RB_MODE_ANY || rb_mode_of(r, floor_cycles) == m);
}

/* Ratios of the rounds whose two runs (floors fa[i], fb[i]) were both in mode @m. */
static bool
ratio_in(const struct rb_report *r, const double *num, const double *den, const double *fa,
	 const double *fb, uint32_t n, enum rb_mode m, struct rb_moded *out)
{
	double v[RB_MAX_ROUNDS], fl[RB_MAX_ROUNDS];
	uint32_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (!in_mode(r, fa[i], m) || !in_mode(r, fb[i], m))
			continue;
		if (den[i] <= 0 || num[i] <= 0)
			return false;
		fl[k] = (fa[i] + fb[i]) / 2;
		v[k++] = num[i] / den[i];
	}
	if (k == 0)
		return false;
	out->s = rb_spread_of(v, k);
	out->rounds = k;
	out->floor_ns = rb_cycles_to_ns(r, rb_spread_of(fl, k).med);
	return true;
}

bool
rb_ratio_stream_in(const struct rb_report *r, const struct rb_result *num,
		   const struct rb_result *den, int bi, enum rb_mode m, struct rb_moded *out)
{
	if (num == NULL || den == NULL || bi < 0 || num->kind->floor || den->kind->floor)
		return false;
	return ratio_in(r, num->rate[bi], den->rate[bi], num->stream_floor[bi],
			den->stream_floor[bi], common_rounds(num, den), m, out);
}

bool
rb_ratio_lat_in(const struct rb_report *r, const struct rb_result *num,
		const struct rb_result *den, enum rb_lat_stat s, enum rb_mode m,
		struct rb_moded *out)
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
	return ratio_in(r, a, b, num->lat_floor, den->lat_floor, n, m, out);
}

bool
rb_rate_in(const struct rb_report *r, const struct rb_result *x, int bi, enum rb_mode m,
	   struct rb_moded *rate, struct rb_spread *cpe)
{
	double v[RB_MAX_ROUNDS], c[RB_MAX_ROUNDS], fl[RB_MAX_ROUNDS];
	uint32_t i, k = 0;

	if (bi < 0 || x->kind->floor || x->rc != 0)
		return false;
	for (i = 0; i < x->rounds_done; i++) {
		if (!in_mode(r, x->stream_floor[bi][i], m))
			continue;
		fl[k] = x->stream_floor[bi][i];
		c[k] = x->cpe[bi][i];
		v[k++] = x->rate[bi][i];
	}
	if (k == 0)
		return false;
	rate->s = rb_spread_of(v, k);
	rate->rounds = k;
	rate->floor_ns = rb_cycles_to_ns(r, rb_spread_of(fl, k).med);
	*cpe = rb_spread_of(c, k);
	return true;
}

/* Ratios round by round: the contenders ran interleaved, so each round pairs them. */
bool
rb_ratio_stream(const struct rb_report *r, const struct rb_result *num,
		const struct rb_result *den, int bi, struct rb_spread *out)
{
	struct rb_moded m;

	if (!rb_ratio_stream_in(r, num, den, bi, RB_MODE_ANY, &m))
		return false;
	*out = m.s;
	return true;
}

bool
rb_ratio_lat(const struct rb_report *r, const struct rb_result *num,
	     const struct rb_result *den, enum rb_lat_stat s, struct rb_spread *out)
{
	struct rb_moded m;

	if (!rb_ratio_lat_in(r, num, den, s, RB_MODE_ANY, &m))
		return false;
	*out = m.s;
	return true;
}
