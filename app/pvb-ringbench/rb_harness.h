/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_RB_HARNESS_H_
#define _PVB_RB_HARNESS_H_

/*
 * The measurement loops, shared by every ring kind. They are always_inline
 * and take the kind's ops as a constant, so each kind gets loops with its
 * burst functions inlined (no indirect call inside the measured region):
 *
 *   static const struct rb_ops ops = { ... };
 *   static int lat_a(void *j) { return rb_lat_initiator(j, &ops); }
 *
 * Latency: A stamps the TSC, sends one element on fwd, spins on back until
 * B's echo arrives, stamps again. Streaming: A sends bursts on fwd until its
 * deadline, then publishes the total; B receives until it has them all and
 * reports elements / cycles between its first and last receive.
 */

#include <errno.h>
#include <sched.h>

#include <rte_cycles.h>
#include <rte_pause.h>

#include "rb.h"

#define RB_DONE_UNKNOWN UINT64_MAX

static __rte_always_inline bool
rb_should_stop(const struct rb_job *j)
{
	/* relaxed: a stop request needs no ordering with ring data */
	return pvb_load_relaxed(&j->sync->abort) != 0 || pvb_load_relaxed(&rb_stop_requested) != 0;
}

/* One idle turn while waiting on the peer. Returns false if the run must stop. */
static __rte_always_inline bool
rb_idle(struct rb_job *j, uint32_t *spins)
{
	if (j->yield)
		sched_yield();	/* the peer runs on our CPU: let it */
	else
		rte_pause();
	if ((++*spins & 0xffff) == 0 && rb_should_stop(j)) {
		j->rc = -EINTR;
		return false;
	}
	return true;
}

static __rte_always_inline int
rb_fail(struct rb_job *j, int rc)
{
	j->rc = rc < 0 ? rc : -EPIPE;
	/* relaxed: the peer only needs to see it eventually and stop */
	pvb_store_relaxed(&j->sync->abort, 1);
	return j->rc;
}

/* Send exactly one element, spinning while the ring is full. */
static __rte_always_inline int
rb_send1(struct rb_job *j, rb_burst_fn send, void *obj)
{
	uint32_t spins = 0;
	int n;

	while ((n = send(j->ch, &obj, 1)) == 0)
		if (!rb_idle(j, &spins))
			return j->rc;
	return n < 0 ? rb_fail(j, n) : 0;
}

/* Receive exactly one element, spinning while the ring is empty. */
static __rte_always_inline int
rb_recv1(struct rb_job *j, rb_burst_fn recv, void **obj)
{
	uint32_t spins = 0;
	int n;

	while ((n = recv(j->ch, obj, 1)) == 0)
		if (!rb_idle(j, &spins))
			return j->rc;
	return n < 0 ? rb_fail(j, n) : 0;
}

static __rte_always_inline int
rb_lat_initiator(void *arg, const struct rb_ops *ops)
{
	struct rb_job *j = arg;
	uint32_t total = j->p->warmup + j->p->samples;
	void *echo;
	uint64_t t0;
	uint32_t i;

	for (i = 0; i < total; i++) {
		t0 = rte_rdtsc();
		if (rb_send1(j, ops->fwd_send, (void *)(uintptr_t)(i + 1)) != 0 ||
		    rb_recv1(j, ops->back_recv, &echo) != 0)
			return j->rc;
		if (i >= j->p->warmup)
			j->samples[i - j->p->warmup] = rte_rdtsc() - t0;
		if (unlikely(echo != (void *)(uintptr_t)(i + 1)))
			return rb_fail(j, -EPIPE);
	}
	return 0;
}

static __rte_always_inline int
rb_lat_echo(void *arg, const struct rb_ops *ops)
{
	struct rb_job *j = arg;
	uint32_t total = j->p->warmup + j->p->samples;
	void *obj;
	uint32_t i;

	for (i = 0; i < total; i++)
		if (rb_recv1(j, ops->fwd_recv, &obj) != 0 ||
		    rb_send1(j, ops->back_send, obj) != 0)
			return j->rc;
	return 0;
}

static __rte_always_inline int
rb_stream_tx(void *arg, const struct rb_ops *ops)
{
	struct rb_job *j = arg;
	void *objs[PVB_RB_MAX_BURST];
	uint64_t sent = 0;
	uint32_t iter = 0, i;
	int n;

	for (i = 0; i < j->burst; i++)
		objs[i] = (void *)(uintptr_t)(i + 1);
	for (;;) {
		n = ops->fwd_send(j->ch, objs, j->burst);
		if (unlikely(n < 0))
			return rb_fail(j, n);
		sent += (uint32_t)n;
		j->calls++;
		if (n == 0) {
			j->idle++;
			if (j->yield)
				sched_yield();
		}
		/* read the clock every 16 bursts: cheap, and 16 bursts take well under 1 us */
		if ((++iter & 15) == 0 && (rte_rdtsc() >= j->deadline || rb_should_stop(j)))
			break;
	}
	/* Pairs with the load-acquire in rb_stream_rx(): B learns how many to expect. */
	pvb_store_release64(&j->sync->sent, sent);
	return 0;
}

static __rte_always_inline int
rb_stream_rx(void *arg, const struct rb_ops *ops)
{
	struct rb_job *j = arg;
	void *objs[PVB_RB_MAX_BURST];
	uint64_t got = 0, t_first = 0, expect;
	uint32_t spins = 0;
	int n;

	for (;;) {
		n = ops->fwd_recv(j->ch, objs, j->burst);
		j->calls++;
		if (likely(n > 0)) {
			if (unlikely(got == 0))
				t_first = rte_rdtsc();
			got += (uint32_t)n;
			continue;
		}
		if (unlikely(n < 0))
			return rb_fail(j, n);
		j->idle++;
		/* Pairs with the store-release in rb_stream_tx(). */
		expect = pvb_load_acquire64(&j->sync->sent);
		if (expect != RB_DONE_UNKNOWN && got >= expect)
			break;
		if (!rb_idle(j, &spins))
			return j->rc;
	}
	j->cycles = got != 0 ? rte_rdtsc() - t_first : 0;
	j->moved = got;
	return 0;
}

/* Define the four lcore functions of a kind from its ops. */
#define RB_HARNESS(prefix, ops)							\
	static int prefix##_lat_a(void *j) { return rb_lat_initiator(j, &(ops)); }	\
	static int prefix##_lat_b(void *j) { return rb_lat_echo(j, &(ops)); }	\
	static int prefix##_stream_tx(void *j) { return rb_stream_tx(j, &(ops)); }	\
	static int prefix##_stream_rx(void *j) { return rb_stream_rx(j, &(ops)); }

#endif /* _PVB_RB_HARNESS_H_ */
