/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The hand-off links between worker lcores (doc/pvb-fwd.md, "How a packet
 * moves"). The lcore that received a packet stages it for the lcore that
 * owns its output tx queue and submits a burst at a time on their link's
 * submission ring; that lcore takes the entries into its tx buffers, and
 * from then on the packet is its own, sent or dropped there like one it
 * received. Nothing returns on the completion ring: a PMD may free a packet
 * on any lcore (into that lcore's mempool cache), and packets flooded in l2
 * mode share one mbuf whose references the lcores drop atomically. What
 * bounds the packets in flight is the submission ring: a link without room
 * for another burst stops the rx queues that feed it (link_backlogged()),
 * and an lcore whose tx queue holds refused frames takes no more for it,
 * so the link fills.
 */

#include <rte_prefetch.h>

#include "fwd.h"
#include "fwd_handoff.h"
#include "fwd_txq.h"

void
fwd_handoff_flush(struct fwd_run *r, uint16_t li)
{
	struct fwd_stage *sg = &r->stage[li];
	struct rte_mbuf *m;
	uint16_t i;
	int n;

	if (sg->n == 0)
		return;
	n = pvb_scring_submit_burst(&r->lc->out_links[li]->prod, sg->ent, sg->n);
	if (n < 0)
		n = 0;	/* cannot happen between our own lcores; counted as ring full */
	pvb_counter_add1w(&r->lc->handoff_tx, (uint64_t)n);
	/*
	 * An rx queue is polled only with room for its burst (link_backlogged()):
	 * this is a burst that grew on its way, flooded to several ports of one
	 * lcore or segmented in software.
	 */
	for (i = (uint16_t)n; i < sg->n; i++) {
		m = handoff_mbuf(sg->ent[i]);
		drop(r, handoff_port(sg->ent[i]), FWD_DROP_RING_FULL, m);
	}
	sg->n = 0;
}

/*
 * Our tx queue for @p port, or NULL: counted and freed as no_route (set-up
 * routes to us only the ports whose tx queue we own).
 */
static inline struct fwd_txq *
handoff_txq(struct fwd_run *r, uint16_t port, struct rte_mbuf *m)
{
	int16_t qi = port < r->st->nb_ports ? r->lc->route[port].txq : -1;

	if (likely(qi >= 0))
		return &r->lc->txq[qi];
	drop(r, port < r->st->nb_ports ? port : 0, FWD_DROP_NO_ROUTE, m);
	return NULL;
}

/*
 * Up to a burst of in_links[li]'s submissions into our tx buffers, read in
 * place and released once buffered. The first whose tx queue holds refused
 * frames, and all after it, stay in the link (in order) until the queue
 * takes frames again or its hold expires. Returns the entries taken.
 */
static uint16_t
take_handoff(struct fwd_run *r, uint16_t li)
{
	struct pvb_scring_cons *c = &r->lc->in_links[li]->cons;
	fwd_handoff_ent ent[FWD_MAX_BURST];
	struct rte_mbuf *m;
	struct fwd_txq *q;
	int n, i;

	n = pvb_scring_consume_peek(c, r->burst);
	if (n <= 0)
		return 0;	/* broken cannot happen between our own lcores */
	/*
	 * Copied out first (the slots are shared memory). The mbufs were last
	 * written on the other lcore: start all their misses now, both lines,
	 * since the PMD's free reads the second (next) as well as the first.
	 */
	for (i = 0; i < n; i++) {
		memcpy(&ent[i], pvb_scring_consume_slot(c, (unsigned int)i), sizeof(ent[i]));
		m = handoff_mbuf(ent[i]);
		rte_prefetch0(m);
		rte_prefetch0(RTE_PTR_ADD(m, RTE_CACHE_LINE_MIN_SIZE));
	}
	for (i = 0; i < n; i++) {
		m = handoff_mbuf(ent[i]);
		q = handoff_txq(r, handoff_port(ent[i]), m);
		if (unlikely(q == NULL))
			continue;
		if (unlikely(txq_held(q)))
			break;
		txq_add(r, q, m);
	}
	/*
	 * Draining: main must not see us quiet from before these were taken
	 * while they wait in our buffers. Relaxed: the store-release of the
	 * tail in pvb_scring_consume_release() orders it before the tail, which
	 * the submitting lcore loads with acquire (fwd_handoff_drained()) before
	 * it says it is quiet with the store-release main pairs with.
	 */
	if (r->draining && i > 0)
		pvb_store_relaxed(&r->lc->quiet, 0);
	(void)pvb_scring_consume_release(c, (unsigned int)i);
	pvb_counter_add1w(&r->lc->handoff_rx, (uint64_t)i);
	return (uint16_t)i;
}

/*
 * Take submissions from other lcores, several bursts per link before
 * polling rx again: work other lcores already did comes first, so a busy
 * receiver cannot outrun its transmitter and fill the link. A short burst
 * means the link is empty, or held back by a tx queue: no second look.
 */
uint32_t
fwd_handoff_poll(struct fwd_run *r)
{
	uint32_t work = 0;
	uint16_t li, n;
	int round;

	for (li = 0; li < r->lc->nb_in; li++) {
		for (round = 0; round < FWD_HANDOFF_ROUNDS; round++) {
			n = take_handoff(r, li);
			work += n;
			if (n < r->burst)
				break;
		}
	}
	return work;
}

bool
fwd_handoff_drained(struct fwd_run *r)
{
	uint32_t size = r->st->cfg->ring_size;
	uint16_t li;

	for (li = 0; li < r->lc->nb_out; li++)
		if (r->stage[li].n != 0 || link_room(r->lc->out_links[li], size) != size)
			return false;
	return true;
}
