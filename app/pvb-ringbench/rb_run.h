/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_RB_RUN_H_
#define _PVB_RB_RUN_H_

#include "rb_result.h"

/** One kind on one lcore pair: its channel, kept across rounds. */
struct rb_pair_ctx {
	const struct rb_params *p;
	struct rb_result *res;
	struct rb_sync *sync;
	void *ch;
	uint64_t *probe;	/* RB_PROBE_TRIPS round trips of the last floor probe */
	void *probe_ch;		/* the floor kind's channel the probe runs on */
};

/* Round trips of the floor probe run before each measurement (about 0.1-0.5 ms). */
#define RB_PROBE_TRIPS	1024

int rb_pair_ctx_init(struct rb_pair_ctx *c, const struct rb_params *p, struct rb_result *x,
		     unsigned int id);
void rb_pair_ctx_fini(struct rb_pair_ctx *c);

/** One latency run; fills x->lat[round] and the sorted samples. */
int rb_run_latency(struct rb_pair_ctx *c, uint32_t round);

/** One streaming run at p->bursts[bi]; fills x->rate[bi][round] and cpe. */
int rb_run_stream(struct rb_pair_ctx *c, uint32_t round, uint32_t bi, uint64_t tsc_hz);

#endif /* _PVB_RB_RUN_H_ */
