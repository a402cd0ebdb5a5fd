/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The worker lcores' datapath: one poll of everything (the loop around it,
 * its clock and its sleeps: fwd_loop.c; set-up: fwd_lcore.c).
 *
 * One iteration:
 *   rx bursts from the queues we poll -> decide each packet's output port
 *     -> our own tx queue's buffer, or the staging area of the hand-off link
 *        to the lcore that owns that port's tx queue
 *   hand-off submissions from other lcores -> our tx queue buffers
 *     (fwd_handoff.c)
 *   flush tx buffers (tx_burst), then staging areas (submit)
 */

#include <errno.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "fwd.h"

#include "fwd_handoff.h"
#include "fwd_offload.h"
#include "fwd_reach.h"
#include "fwd_txq.h"

/* Send @p m out of @p port: our tx queue, or the owner's hand-off link. */
static inline void
send_one(struct fwd_run *r, struct rte_mbuf *m, uint16_t port)
{
	struct fwd_route rt = r->lc->route[port];

	if (unlikely(wire_len(m) > r->st->port[port].max_frame ||
		     (m->nb_segs > 1 && !r->st->port[port].tx_multi_seg))) {
		drop(r, port, FWD_DROP_TOO_BIG, m);
		return;
	}
	if (likely(rt.txq >= 0)) {
		txq_add(r, &r->lc->txq[rt.txq], m);
		return;
	}
	if (unlikely(rt.link < 0)) {
		drop(r, port, FWD_DROP_NO_ROUTE, m);
		return;
	}
	/* the other lcore's from now on: it sends it, or drops and frees it */
	handoff_stage(r, (uint16_t)rt.link, m, port);
}

/*
 * @p m asks for an offload @p port does not have: done here (pvb_swol.h),
 * counted, and the frame or its segments sent. A request that does not
 * match the frame's headers is dropped.
 */
static void
sw_offload(struct fwd_run *r, struct rte_mbuf *m, uint16_t port)
{
	struct fwd_port_counters *c = &r->lc->cnt[port];
	uint64_t can = r->st->port[port].tx_can;
	bool gso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) && !(can & RTE_MBUF_F_TX_TCP_SEG);
	struct rte_mbuf *seg[PVB_SWOL_MAX_SEGS];
	int n, i;

	n = pvb_swol_apply(&r->lc->swol, m, can, seg, RTE_DIM(seg));
	if (unlikely(n < 0)) {
		drop(r, port, n == -ENOMEM ? FWD_DROP_NO_MBUF : FWD_DROP_BAD_OFFLOAD, m);
		return;
	}
	if (gso) {
		pvb_counter_add1w(&c->sw_gso, 1);
		pvb_counter_add1w(&c->sw_gso_segs, (uint64_t)n);
	} else {
		pvb_counter_add1w(&c->sw_cksum, 1);
	}
	for (i = 0; i < n; i++)
		send_one(r, seg[i], port);
}

/* Send @p m out of @p port, copied where the port cannot reach it, offloads done where it lacks them. */
static inline void
send_to(struct fwd_run *r, struct rte_mbuf *m, uint16_t port)
{
	m = reach(r, port, m);
	if (unlikely(m == NULL))
		return;
	if (unlikely(m->ol_flags & FWD_OL_ASKED) && rx_form(m) && !rx_form_to_request(m) &&
	    (m->ol_flags & RTE_MBUF_F_RX_LRO)) {
		/* a large frame we cannot make a request of: no port could send it */
		drop(r, port, FWD_DROP_BAD_OFFLOAD, m);
		return;
	}
	if (unlikely(m->ol_flags & PVB_SWOL_FLAGS) &&
	    pvb_swol_needed(m, r->st->port[port].tx_can)) {
		sw_offload(r, m, port);
		return;
	}
	send_one(r, m, port);
}

/*
 * A whole burst for one output port. When we own its tx queue, nothing is
 * buffered there, and no frame from @p in can be too big for it, the burst
 * goes straight from rx to tx, as testpmd's io mode does.
 */
static void
send_burst(struct fwd_run *r, uint16_t in, uint16_t out, struct rte_mbuf **pkts, uint16_t n)
{
	int16_t qi = r->lc->route[out].txq;
	uint16_t i;

	if (qi >= 0 && r->lc->txq[qi].n == 0 && !r->st->size_check[in][out] &&
	    !burst_needs_sw(r, out, pkts, n)) {
		struct fwd_txq *q = &r->lc->txq[qi];

		n = reach_burst(r, out, pkts, n);
		if (n == 0)
			return;
		/* sent from the rx array; only what the queue refuses is kept */
		i = rte_eth_tx_burst(r->st->port[out].port_id, q->queue, pkts, n);
		pvb_counter_add1w(&r->lc->cnt[out].tx, i);
		if (unlikely(i < n)) {
			memcpy(q->pkts, &pkts[i], sizeof(pkts[0]) * (n - i));
			q->n = n - i;
			(void)hold_expired(r, &q->held_since, &r->lc->cnt[out].held, i, q->n);
		}
		return;
	}
	for (i = 0; i < n; i++)
		send_to(r, pkts[i], out);
}

static void
dispatch_xconnect(struct fwd_run *r, uint16_t in, struct rte_mbuf **pkts, uint16_t n)
{
	int peer = r->st->cfg->ports[in].peer;
	uint16_t i;

	if (likely(peer >= 0)) {
		send_burst(r, in, (uint16_t)peer, pkts, n);
		return;
	}
	for (i = 0; i < n; i++)
		drop(r, in, FWD_DROP_NO_ROUTE, pkts[i]);
}

/* flood() for a frame with an offload request: a copy for each port but the last. */
static void
flood_copies(struct fwd_run *r, uint16_t in, struct rte_mbuf *m)
{
	uint16_t nb = r->st->nb_ports, last = in == nb - 1 ? nb - 2 : nb - 1, p;
	struct rte_mbuf *cp;

	for (p = 0; p < nb; p++) {
		if (p == in || p == last)
			continue;
		cp = rte_pktmbuf_copy(m, r->st->port[p].copy_pool, 0, UINT32_MAX);
		if (unlikely(cp == NULL)) {
			drop_count(r, p, FWD_DROP_NO_MBUF);
			continue;
		}
		pvb_counter_add1w(&r->lc->cnt[p].copied, 1);
		pvb_counter_add1w(&r->lc->cnt[p].copied_bytes, cp->pkt_len);
		send_to(r, cp, p);
	}
	send_to(r, m, last);
}

/*
 * Every port but the ingress one, sharing the mbuf by reference: a PMD
 * reads a frame it transmits and writes at most its own headers into the
 * headroom of an mbuf it holds alone (net_pvb_virtio) or of a slot lent
 * by itself (net_pvb_netvsp), so one frame serves every port that reaches
 * its bytes; send_to() copies it for one that does not (reach()).
 */
static void
flood(struct fwd_run *r, uint16_t in, struct rte_mbuf *m)
{
	uint16_t nb = r->st->nb_ports, p;

	if (nb < 2) {
		drop(r, in, FWD_DROP_NO_ROUTE, m);
		return;
	}
	/*
	 * A frame with an offload request is one each port may rewrite (its
	 * checksum field, in its own way): every port but the last gets a copy.
	 */
	if (unlikely(m->ol_flags & PVB_SWOL_FLAGS) && nb > 2) {
		flood_copies(r, in, m);
		return;
	}
	if (nb > 2)
		rte_pktmbuf_refcnt_update(m, (int16_t)(nb - 2));
	for (p = 0; p < nb; p++)
		if (p != in)
			send_to(r, m, p);
}

#define FWD_L2_FLOOD		(-1)
#define FWD_L2_DROP		(-2)

/*
 * Learn the source; where the destination goes: a port, FWD_L2_FLOOD or
 * FWD_L2_DROP. @p invalid counts sources that cannot be learned (group or
 * all-zero addresses), added to the lcore's counter once per burst.
 */
static inline int
l2_decide(struct fwd_run *r, uint16_t in, struct rte_mbuf *m, uint32_t *invalid)
{
	const struct rte_ether_hdr *eh;
	int out;

	if (unlikely(m->data_len < RTE_ETHER_HDR_LEN)) {
		drop_count(r, in, FWD_DROP_NO_ROUTE);
		return FWD_L2_DROP;
	}
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (likely(fwd_l2_learnable_src((const uint8_t *)eh)))
		fwd_l2_learn(r->st->l2, eh->src_addr.addr_bytes, in, r->now);
	else
		++*invalid;
	/* group addresses flood; so does the all-zero one, which no station has */
	if (!fwd_l2_learnable_dst((const uint8_t *)eh))
		return FWD_L2_FLOOD;
	out = fwd_l2_lookup(r->st->l2, eh->dst_addr.addr_bytes, r->now);
	if (out < 0)
		return FWD_L2_FLOOD;
	if (out == in) {
		drop_count(r, in, FWD_DROP_FILTERED);
		return FWD_L2_DROP;
	}
	return out;
}

/*
 * The bridge. Decisions first, for the whole burst; a burst that all goes to
 * one port (the usual case with two ports, or one busy flow) leaves as one.
 */
static void
dispatch_l2(struct fwd_run *r, uint16_t in, struct rte_mbuf **pkts, uint16_t n)
{
	int out[FWD_MAX_BURST], only;
	uint32_t invalid = 0;
	bool uniform = true;
	uint16_t i;

	/* every header's miss at once: the decisions below read them in order */
	for (i = 0; i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		out[i] = l2_decide(r, in, pkts[i], &invalid);
		/* with two ports, flooding is sending to the other one */
		if (out[i] == FWD_L2_FLOOD && r->st->nb_ports == 2)
			out[i] = in ^ 1;
		uniform &= out[i] == out[0];
	}
	if (invalid != 0)
		pvb_counter_add1w(&r->lc->l2_invalid, invalid);
	only = out[0];
	if (uniform && only >= 0) {
		send_burst(r, in, (uint16_t)only, pkts, n);
		return;
	}
	for (i = 0; i < n; i++) {
		if (out[i] >= 0)
			send_to(r, pkts[i], (uint16_t)out[i]);
		else if (out[i] == FWD_L2_FLOOD)
			flood(r, in, pkts[i]);
		else
			rte_pktmbuf_free(pkts[i]);	/* counted by l2_decide() */
	}
}

/* Some link is held back or some tx queue holds frames: do not sleep, they are due. */
bool
fwd_any_backlogged(struct fwd_run *r)
{
	uint16_t li;

	for (li = 0; li < r->lc->nb_out; li++)
		if (link_backlogged(r, li))
			return true;
	for (li = 0; li < r->lc->nb_txq; li++)
		if (txq_held(&r->lc->txq[li]))
			return true;
	return false;
}

/*
 * Whether the rx queues of port @p in must wait: in xconnect, its peer's
 * hand-off link is backlogged or its peer's tx queue here holds frames; in
 * l2, where a frame may go anywhere, any tx queue of this lcore holds some
 * or any of its hand-off links is backlogged.
 * Frames merely buffered do not count: flush_all() sends them, and a queue
 * not holding has at most a burst buffered, so an rx burst always fits.
 */
static inline bool
backlogged(struct fwd_run *r, uint16_t in)
{
	int peer = r->st->cfg->ports[in].peer;
	int16_t li, qi;

	if (r->st->cfg->mode != FWD_MODE_XCONNECT)
		return fwd_any_backlogged(r);
	if (peer < 0)
		return false;
	qi = r->lc->route[peer].txq;
	if (qi >= 0)
		return txq_held(&r->lc->txq[qi]);
	li = r->lc->route[peer].link;
	return li >= 0 && link_backlogged(r, (uint16_t)li);
}

static uint32_t
poll_rx(struct fwd_run *r)
{
	struct rte_mbuf *pkts[FWD_MAX_BURST];
	const struct fwd_qref *q;
	uint32_t work = 0;
	uint16_t i, n;

	for (i = 0; i < r->lc->nb_rx; i++) {
		q = &r->lc->rx[i];
		if (unlikely(backlogged(r, q->port)))
			continue;
		n = rte_eth_rx_burst(r->st->port[q->port].port_id, q->queue, pkts, r->burst);
		if (n == 0)
			continue;
		work += n;
		pvb_counter_add1w(&r->lc->cnt[q->port].rx, n);
		if (r->st->cfg->mode == FWD_MODE_L2)
			dispatch_l2(r, q->port, pkts, n);
		else
			dispatch_xconnect(r, q->port, pkts, n);
	}
	return work;
}

static void
flush_all(struct fwd_run *r)
{
	uint16_t i;

	for (i = 0; i < r->lc->nb_txq; i++)
		if (r->lc->txq[i].n != 0)
			txq_send(r, &r->lc->txq[i]);
	for (i = 0; i < r->lc->nb_out; i++)
		fwd_handoff_flush(r, i);
}

/* Nothing of ours in flight: buffers empty, everything handed off taken by its lcore. */
bool
fwd_drained(struct fwd_run *r)
{
	uint16_t i;

	for (i = 0; i < r->lc->nb_txq; i++)
		if (r->lc->txq[i].n != 0)
			return false;
	return fwd_handoff_drained(r);
}

/* One poll of everything: rx, hand-offs, flushes. How many packets it moved. */
uint32_t
fwd_poll_all(struct fwd_run *r, bool stopping)
{
	uint32_t work = stopping ? 0 : poll_rx(r);

	work += fwd_handoff_poll(r);
	flush_all(r);
	return work;
}
