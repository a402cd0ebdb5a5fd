/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Running the harness on a pair of lcores: launch side B, run or launch side
 * A, collect. The main lcore may be either side.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "rb_run.h"

pvb_shared_u32 rb_stop_requested;

#define RB_PROBE_WARMUP	64

/* True when the two lcores can only run on the same single CPU. */
static bool
share_cpu(unsigned int a, unsigned int b)
{
	rte_cpuset_t ca = rte_lcore_cpuset(a), cb = rte_lcore_cpuset(b);

	return CPU_COUNT(&ca) == 1 && CPU_EQUAL(&ca, &cb);
}

static int
launch_pair(unsigned int a, lcore_function_t *fa, struct rb_job *ja,
	    unsigned int b, lcore_function_t *fb, struct rb_job *jb)
{
	unsigned int main_lcore = rte_get_main_lcore();
	int rc = 0;

	if (b != main_lcore && (rc = rte_eal_remote_launch(fb, jb, b)) != 0)
		return rc;
	if (a != main_lcore && (rc = rte_eal_remote_launch(fa, ja, a)) != 0) {
		/* relaxed: B only needs to see it and stop */
		pvb_store_relaxed(&ja->sync->abort, 1);
		rte_eal_wait_lcore(b);
		return rc;
	}
	if (a == main_lcore)
		fa(ja);
	else if (b == main_lcore)
		fb(jb);
	if (a != main_lcore)
		rte_eal_wait_lcore(a);
	if (b != main_lcore)
		rte_eal_wait_lcore(b);
	return ja->rc != 0 ? ja->rc : jb->rc;
}

static void
init_jobs(struct rb_pair_ctx *c, struct rb_job *ja, struct rb_job *jb)
{
	memset(ja, 0, sizeof(*ja));
	ja->ch = c->ch;
	ja->sync = c->sync;
	ja->p = c->p;
	ja->yield = share_cpu(c->res->lcore_a, c->res->lcore_b);
	*jb = *ja;
	/* relaxed: the lcore launch that follows orders these for both sides */
	pvb_store_relaxed64(&c->sync->sent, UINT64_MAX);
	pvb_store_relaxed(&c->sync->abort, 0);
}

/*
 * The floor probe: the floor kind's own round trips, RB_PROBE_TRIPS of them
 * on a floor channel of the pair's, timed just before a measurement, so
 * that every run carries the VM mode it ran in: this VM's cross-core
 * latency changes several times over from one second to the next.
 * Returns the median round trip in cycles (0 if it failed).
 */
static double
probe_floor(struct rb_pair_ctx *c)
{
	static const struct rb_params probe = {
		.samples = RB_PROBE_TRIPS, .warmup = RB_PROBE_WARMUP,
	};
	struct rb_result *x = c->res;
	struct rb_job ja, jb;

	init_jobs(c, &ja, &jb);
	ja.ch = jb.ch = c->probe_ch;
	ja.p = jb.p = &probe;
	ja.samples = c->probe;
	if (launch_pair(x->lcore_a, rb_kind_floor.lat_a, &ja, x->lcore_b, rb_kind_floor.lat_b,
			&jb) != 0)
		return 0;
	rb_sort_u64(c->probe, RB_PROBE_TRIPS);
	return rb_percentile(c->probe, RB_PROBE_TRIPS, 50);
}

int
rb_run_latency(struct rb_pair_ctx *c, uint32_t round)
{
	struct rb_result *x = c->res;
	struct rb_job ja, jb;
	uint32_t n = c->p->samples;
	int rc;

	x->lat_floor[round] = probe_floor(c);
	init_jobs(c, &ja, &jb);
	ja.samples = x->samples;
	rc = launch_pair(x->lcore_a, x->kind->lat_a, &ja, x->lcore_b, x->kind->lat_b, &jb);
	if (rc != 0)
		return rc;
	rb_sort_u64(x->samples, n);
	x->nb_samples = n;
	x->lat[round][RB_P50] = rb_percentile(x->samples, n, 50);
	x->lat[round][RB_P99] = rb_percentile(x->samples, n, 99);
	x->lat[round][RB_P999] = rb_percentile(x->samples, n, 99.9);
	x->lat[round][RB_MAX] = (double)x->samples[n - 1];
	return 0;
}

int
rb_run_stream(struct rb_pair_ctx *c, uint32_t round, uint32_t bi, uint64_t tsc_hz)
{
	struct rb_result *x = c->res;
	uint64_t a0 = 0, b0 = 0, a1 = 0, b1 = 0;
	struct rb_job ja, jb;
	int rc;

	x->stream_floor[bi][round] = probe_floor(c);
	if (x->kind->peer_loads != NULL)
		x->kind->peer_loads(c->ch, &a0, &b0);
	init_jobs(c, &ja, &jb);
	ja.burst = jb.burst = c->p->bursts[bi];
	ja.deadline = rte_rdtsc() + tsc_hz * c->p->stream_ms / 1000;
	rc = launch_pair(x->lcore_a, x->kind->stream_tx, &ja, x->lcore_b, x->kind->stream_rx,
			 &jb);
	if (rc != 0)
		return rc;
	if (jb.moved == 0 || jb.cycles == 0)
		return -ENODATA;
	x->rate[bi][round] = (double)jb.moved * (double)tsc_hz / (double)jb.cycles;
	x->cpe[bi][round] = (double)jb.cycles / (double)jb.moved;
	x->tx_full[bi][round] = ja.calls ? (double)ja.idle / (double)ja.calls : 0;
	x->rx_empty[bi][round] = jb.calls ? (double)jb.idle / (double)jb.calls : 0;
	x->rx_batch[bi][round] = (double)jb.moved / (double)RTE_MAX(jb.calls - jb.idle, 1);
	if (x->kind->peer_loads != NULL) {
		x->kind->peer_loads(c->ch, &a1, &b1);
		x->tx_loads[bi][round] = ja.calls ? (double)(a1 - a0) / (double)ja.calls : 0;
		x->rx_loads[bi][round] = jb.calls ? (double)(b1 - b0) / (double)jb.calls : 0;
	}
	return 0;
}

int
rb_pair_ctx_init(struct rb_pair_ctx *c, const struct rb_params *p, struct rb_result *x,
		 unsigned int id)
{
	int socket = (int)rte_lcore_to_socket_id(x->lcore_a);

	memset(c, 0, sizeof(*c));
	c->p = p;
	c->res = x;
	c->sync = rte_zmalloc_socket("rb_sync", sizeof(*c->sync), RTE_CACHE_LINE_SIZE, socket);
	x->samples = calloc(p->samples, sizeof(*x->samples));
	c->probe = calloc(RB_PROBE_TRIPS, sizeof(*c->probe));
	c->probe_ch = rb_kind_floor.create(p, socket, id);
	c->ch = x->kind->create(p, socket, id);
	if (c->sync == NULL || x->samples == NULL || c->probe == NULL || c->probe_ch == NULL ||
	    c->ch == NULL) {
		rb_pair_ctx_fini(c);
		return -ENOMEM;
	}
	return 0;
}

void
rb_pair_ctx_fini(struct rb_pair_ctx *c)
{
	if (c->ch != NULL)
		c->res->kind->destroy(c->ch);
	if (c->probe_ch != NULL)
		rb_kind_floor.destroy(c->probe_ch);
	rte_free(c->sync);
	free(c->probe);
	c->ch = NULL;
	c->sync = NULL;
	c->probe = NULL;
	c->probe_ch = NULL;
}
