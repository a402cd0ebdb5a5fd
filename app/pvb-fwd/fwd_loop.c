/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The worker lcores' loop around fwd_poll_all() (fwd_datapath.c): its busy
 * clock, the tx clean-up when quiet, and the adaptive mode's sleeps.
 */

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "fwd.h"
#include "fwd_run.h"

/*
 * Busy time with few TSC reads. Under load, one read per FWD_CLOCK_ITERS
 * busy iterations in a row (a read is tens of cycles on some CPUs, a few
 * percent of a 64-packet iteration). An idle iteration reads the clock
 * before the next one starts (it is idle: the read costs no packet
 * anything), so a busy iteration after idle ones is charged exactly: when
 * the traffic comes in single bursts among empty polls (a peer slower than
 * pvb-fwd) every burst's cycles count as busy, not as the idle window's. A
 * busy window that ends is charged as busy, the one idle iteration in it
 * included. A sleep is always idle.
 */
#define FWD_CLOCK_ITERS	16

struct fwd_clock {
	uint64_t t0;		/* the window's start */
	uint64_t t_iter;	/* the start of this iteration, when the last one was idle */
	uint32_t n;		/* iterations in the window */
	bool busy;		/* the window's state */
	bool last_busy;		/* the last iteration's */
};

static inline void
clock_charge_to(struct fwd_run *r, struct fwd_clock *c, uint64_t t1, bool busy)
{
	uint64_t dt = t1 - c->t0;

	pvb_counter_add1w(&r->lc->total_cycles, dt);
	if (busy)
		pvb_counter_add1w(&r->lc->busy_cycles, dt);
	r->now = t1;
	c->t0 = t1;
	c->n = 0;
}

static inline void
clock_charge(struct fwd_run *r, struct fwd_clock *c, bool busy)
{
	clock_charge_to(r, c, rte_rdtsc(), busy);
}

/* Before an iteration: after an idle one, note when this one starts. */
static inline void
clock_begin(struct fwd_clock *c)
{
	if (!c->last_busy)
		c->t_iter = rte_rdtsc();
}

static inline void
clock_tick(struct fwd_run *r, struct fwd_clock *c, bool busy)
{
	++c->n;
	if (busy != c->busy) {
		if (busy && c->n > 1) {
			/* the idle iterations up to this one's start, then this one */
			clock_charge_to(r, c, c->t_iter, false);
			c->n = 1;
		}
		clock_charge(r, c, busy);
		c->busy = busy;
	} else if (c->n == FWD_CLOCK_ITERS) {
		clock_charge(r, c, busy);
	}
	c->last_busy = busy;
}

/* Around a sleep: what came before is charged, the sleep itself is idle. */
static inline void
clock_idle(struct fwd_run *r, struct fwd_clock *c)
{
	clock_charge(r, c, c->busy);
	c->busy = false;
}

/* The loop's scratch, allocated at set-up on the lcore's socket. */
struct fwd_run *
fwd_run_alloc(struct fwd_state *st, struct fwd_lcore *lc)
{
	struct fwd_run *r;

	r = rte_zmalloc_socket("fwd_run", sizeof(*r), RTE_CACHE_LINE_SIZE,
			       (int)rte_lcore_to_socket_id(lc->lcore_id));
	if (r == NULL)
		return NULL;
	r->st = st;
	r->lc = lc;
	r->burst = st->cfg->burst;
	r->hold_tsc = st->tsc_hz * FWD_HOLD_MS / 1000;
	return r;
}

/*
 * Sleep on the rx interrupts of every queue we poll. A packet may have come
 * after the last empty poll and before arming, and some PMDs raise no
 * interrupt for it: armed, we poll once more, and do not sleep if it finds
 * work. Returns the packets that poll moved.
 */
static uint32_t
sleep_on_intr(struct fwd_run *r, struct fwd_clock *clk)
{
	uint32_t work;

	work = fwd_poll_all(r, false);
	if (work == 0) {
		clock_idle(r, clk);
		if (fwd_idle_intr_wait(r->intr_timeout_ms) > 0)
			pvb_counter_add1w(&r->lc->intr_wakeups, 1);
		clock_idle(r, clk);	/* the sleep */
		pvb_counter_add1w(&r->lc->intr_sleeps, 1);
	}
	fwd_idle_intr_disarm(r->st, r->lc, r->lc->nb_rx);
	return work;
}

/*
 * Quiet for a while (and every while after that): our tx queues give back
 * what their peers have read. A
 * PMD that frees sent frames only at its next tx burst (net_pvb_virtio)
 * would otherwise keep the last ones, and what they hold (a netvsc guest's
 * send sections, whose completions the guest waits for), while no more come.
 */
static void
idle_cleanup(struct fwd_run *r)
{
	const struct fwd_txq *q;
	uint16_t i;

	for (i = 0; i < r->lc->nb_txq; i++) {
		q = &r->lc->txq[i];
		/* -ENOTSUP from PMDs without it: they free at once, or never hold long */
		(void)rte_eth_tx_done_cleanup(r->st->port[q->port].port_id, q->queue, 0);
	}
}

/* Adaptive mode, idle_polls empty polls in a row: sleep. Returns packets moved. */
static uint32_t
idle(struct fwd_run *r, struct fwd_clock *clk)
{
	if (r->intr && fwd_idle_intr_arm(r->st, r->lc) == 0)
		return sleep_on_intr(r, clk);
	clock_idle(r, clk);
	fwd_idle_nap(r->st->cfg);
	clock_idle(r, clk);	/* the nap */
	pvb_counter_add1w(&r->lc->naps, 1);
	return 0;
}

int
fwd_lcore_loop(void *arg)
{
	struct fwd_lcore_arg *a = arg;
	struct fwd_state *st = a->st;
	const struct fwd_config *cfg = st->cfg;
	struct fwd_run *r = a->lc->run;
	struct fwd_clock clk = { 0 };
	uint32_t work, empty = 0, cleanup_at = FWD_CLEANUP_POLLS;
	bool stopping;

	if (cfg->idle == FWD_IDLE_ADAPTIVE && cfg->idle_polls < cleanup_at)
		cleanup_at = RTE_MAX(cfg->idle_polls, 1u);
	/* the queues' event fds go into this thread's own epoll set */
	r->intr = fwd_idle_intr_register(st, r->lc);
	r->intr_timeout_ms = fwd_idle_intr_timeout_ms(cfg, r->lc);
	clk.t0 = r->now = rte_rdtsc();
	/* relaxed: the flags carry no data; each side's work is in its own rings */
	while (pvb_load_relaxed(&st->quit) == 0) {
		stopping = pvb_load_relaxed(&st->stop_rx) != 0;
		r->draining = stopping;
		clock_begin(&clk);
		work = fwd_poll_all(r, stopping);
		/*
		 * Release: pairs with the load-acquire in main's all_quiet(), so
		 * that what we saw of our links (every submission taken) is seen
		 * before main looks again at the lcores that took them.
		 */
		if (stopping)
			pvb_store_release(&r->lc->quiet, work == 0 && fwd_drained(r));
		clock_tick(r, &clk, work != 0);
		if (work != 0) {
			empty = 0;
			continue;
		}
		/*
		 * Again every cleanup_at empty polls, not once: the peer may read
		 * what we sent after the first cleanup (a back-end sharing its
		 * CPU), and the netvsc guest whose whole send buffer those frames
		 * hold sends nothing more until they are freed.
		 */
		if (++empty % cleanup_at == 0)
			idle_cleanup(r);
		if (cfg->idle == FWD_IDLE_ADAPTIVE && empty >= cfg->idle_polls && !stopping &&
		    !fwd_any_backlogged(r)) {
			/* not while draining, nor while a link we feed is full or a
			 * tx queue holds frames: room comes without an interrupt */
			if (idle(r, &clk) != 0)
				empty = 0;
		}
	}
	clock_idle(r, &clk);
	if (r->intr)
		fwd_idle_intr_unregister(st, r->lc);
	return 0;
}
