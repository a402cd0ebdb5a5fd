/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * A worker's tx queues: the buffer in front of each, its hold when the
 * queue refuses frames, and the drops. Packets received here and packets
 * handed in by other lcores go through the same buffer. Included by the
 * datapath's files (fwd_datapath.c, fwd_handoff.c) only: the hot path
 * inlines it.
 */

#ifndef _FWD_TXQ_H_
#define _FWD_TXQ_H_

#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "fwd_run.h"

static inline void
drop_count(struct fwd_run *r, uint16_t port, enum fwd_drop why)
{
	pvb_counter_add1w(&r->lc->cnt[port].drop[why], 1);
}

static inline void
drop(struct fwd_run *r, uint16_t port, enum fwd_drop why, struct rte_mbuf *m)
{
	drop_count(r, port, why);
	rte_pktmbuf_free(m);
}

/*
 * A tx burst left @p left of its frames after taking @p sent: the hold
 * timer @p since (0: not holding) starts, or restarts on progress. True when
 * nothing went for FWD_HOLD_MS: the caller drops what is left. The frames
 * left when a hold begins are counted once in @p held.
 */
static inline bool
hold_expired(const struct fwd_run *r, uint64_t *since, pvb_counter_t *held, uint16_t sent,
	     uint16_t left)
{
	if (*since == 0) {
		pvb_counter_add1w(held, left);
		*since = RTE_MAX(r->now, (uint64_t)1);
	} else if (sent != 0) {
		*since = RTE_MAX(r->now, (uint64_t)1);	/* progress: the peer is alive */
	} else if (r->now > *since && r->now - *since > r->hold_tsc) {
		return true;
	}
	return false;
}

/* Whether tx queue @p q holds frames its queue refused (txq_send()). */
static inline bool
txq_held(const struct fwd_txq *q)
{
	return q->held_since != 0;
}

/*
 * Transmit the packets buffered in @p q. What the queue refuses (the peer
 * has no buffers: a full vring, no free receive slot) stays at the front of
 * the buffer for the next try, and neither the ports feeding @p q are
 * polled (backlogged()) nor hand-offs for it taken (fwd_handoff_poll())
 * meanwhile: the frames wait in the sending peer's ring, or in the hand-off
 * link, whose lcore then stops polling, instead of being dropped here. A
 * queue that takes nothing for FWD_HOLD_MS (a peer gone, a link down that
 * does not drop) has its frames dropped as tx_full, so one dead port cannot
 * stop the others. After a call, @p q is empty or held.
 */
static inline void
txq_send(struct fwd_run *r, struct fwd_txq *q)
{
	struct fwd_port_counters *c = &r->lc->cnt[q->port];
	uint16_t sent, left;

	sent = rte_eth_tx_burst(r->st->port[q->port].port_id, q->queue, q->pkts, q->n);
	pvb_counter_add1w(&c->tx, sent);
	if (likely(sent == q->n)) {
		q->n = 0;
		q->held_since = 0;
		return;
	}
	left = q->n - sent;
	if (sent != 0)
		memmove(q->pkts, &q->pkts[sent], sizeof(q->pkts[0]) * left);
	q->n = left;
	if (hold_expired(r, &q->held_since, &c->held, sent, left)) {
		pvb_counter_add1w(&c->drop[FWD_DROP_TX_FULL], left);
		rte_pktmbuf_free_bulk(q->pkts, left);
		q->n = 0;
		q->held_since = 0;
	}
}

/*
 * Buffer @p m, sending a full burst first. A queue not held has at most a
 * burst buffered, and nothing is added to a held one but the rest of the
 * rx burst (or the one hand-off) during which it began to hold, so two
 * bursts fit; only frames that software segmentation multiplied can find
 * pkts[] full, and are dropped as tx_full.
 */
static inline void
txq_add(struct fwd_run *r, struct fwd_txq *q, struct rte_mbuf *m)
{
	if (q->n >= r->burst) {
		txq_send(r, q);
		if (unlikely(q->n == RTE_DIM(q->pkts))) {
			drop(r, q->port, FWD_DROP_TX_FULL, m);
			return;
		}
	}
	q->pkts[q->n++] = m;
}

#endif /* _FWD_TXQ_H_ */
