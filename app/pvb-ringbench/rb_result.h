/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_RB_RESULT_H_
#define _PVB_RB_RESULT_H_

#include <stdio.h>

#include "rb.h"

/* Latency figures kept per round, in cycles. */
enum rb_lat_stat { RB_P50, RB_P99, RB_P999, RB_MAX, RB_NB_LAT_STATS };

/** Median of the rounds, with the smallest and largest round. */
struct rb_spread {
	double med, min, max;
};

/** Everything measured for one kind on one lcore pair. */
struct rb_result {
	const struct rb_kind *kind;
	unsigned int lcore_a, lcore_b;
	uint32_t rounds_done;
	double lat[RB_MAX_ROUNDS][RB_NB_LAT_STATS];	/* cycles */
	double rate[RB_MAX_BURSTS][RB_MAX_ROUNDS];	/* elements per second */
	double cpe[RB_MAX_BURSTS][RB_MAX_ROUNDS];	/* receiver cycles per element */
	double tx_full[RB_MAX_BURSTS][RB_MAX_ROUNDS];	/* share of sends that found the ring full */
	double rx_empty[RB_MAX_BURSTS][RB_MAX_ROUNDS];	/* share of receives that found it empty */
	double rx_batch[RB_MAX_BURSTS][RB_MAX_ROUNDS];	/* elements per receive that got some */
	double tx_loads[RB_MAX_BURSTS][RB_MAX_ROUNDS];	/* peer index loads per send (peer_loads) */
	double rx_loads[RB_MAX_BURSTS][RB_MAX_ROUNDS];	/* peer index loads per receive */
	/* the floor probed just before each run (p50 cycles), which says its VM mode */
	double lat_floor[RB_MAX_ROUNDS];
	double stream_floor[RB_MAX_BURSTS][RB_MAX_ROUNDS];
	uint64_t *samples;	/* last round's round trips, sorted (cycles) */
	uint32_t nb_samples;
	int rc;			/* first error, 0 if none */
};

/** The whole run, as the report writers see it. */
struct rb_report {
	const struct rb_params *p;
	uint64_t tsc_hz;
	unsigned int nb_lcores;
	unsigned int nb_results;
	struct rb_result *results;	/* pairs outer, kinds inner */
};

/*
 * This VM's two modes: the floor (a one-line ping-pong round trip) is 50-90
 * ns in the fast one and 170 ns or more in the slow ones. Every run is
 * filed under the mode of the floor probed just before it.
 */
enum rb_mode { RB_MODE_FAST, RB_MODE_SLOW, RB_NB_MODES, RB_MODE_ANY = RB_NB_MODES };
#define RB_FAST_FLOOR_NS	120

/** What a figure measured over the rounds of one mode. */
struct rb_moded {
	struct rb_spread s;	/* of the figure (or of per-round ratios) */
	uint32_t rounds;	/* rounds counted: both contenders' runs in the mode */
	double floor_ns;	/* median floor probed before those runs */
};

/* rb_stats.c */
enum rb_mode rb_mode_of(const struct rb_report *r, double floor_cycles);
const char *rb_mode_name(enum rb_mode m);
/* Per-round ratios over the rounds in mode @m (RB_MODE_ANY: all); false if none. */
bool rb_ratio_stream_in(const struct rb_report *r, const struct rb_result *num,
			const struct rb_result *den, int bi, enum rb_mode m, struct rb_moded *out);
bool rb_ratio_lat_in(const struct rb_report *r, const struct rb_result *num,
		     const struct rb_result *den, enum rb_lat_stat s, enum rb_mode m,
		     struct rb_moded *out);
/* A kind's rate (elements/s) and receiver cycles/element at burst @bi in mode @m. */
bool rb_rate_in(const struct rb_report *r, const struct rb_result *x, int bi, enum rb_mode m,
		struct rb_moded *rate, struct rb_spread *cpe);

void rb_sort_u64(uint64_t *v, uint32_t n);
double rb_percentile(const uint64_t *sorted, uint32_t n, double pct);
struct rb_spread rb_spread_of(const double *v, uint32_t n);
/* One latency figure over the rounds done. */
struct rb_spread rb_lat_spread(const struct rb_result *x, enum rb_lat_stat s);
/* How many results from index @i on share its lcore pair (results are grouped by pair). */
unsigned int rb_pair_len(const struct rb_report *r, unsigned int i);
double rb_cycles_to_ns(const struct rb_report *r, double cycles);
const struct rb_result *rb_find(const struct rb_report *r, const char *kind,
				unsigned int a, unsigned int b);
int rb_burst_index(const struct rb_params *p, uint32_t burst);
/* Per-round ratio num/den of a figure, summarised; false if not measured. */
bool rb_ratio_stream(const struct rb_report *r, const struct rb_result *num,
		     const struct rb_result *den, int bi, struct rb_spread *out);
bool rb_ratio_lat(const struct rb_report *r, const struct rb_result *num,
		  const struct rb_result *den, enum rb_lat_stat s, struct rb_spread *out);

/* rb_report.c */
void rb_print_table(const struct rb_report *r, FILE *f);
int rb_write_json(const struct rb_report *r, const char *path);

/* rb_plot.c */
int rb_write_plots(const struct rb_report *r, const char *dir);

#endif /* _PVB_RB_RESULT_H_ */
