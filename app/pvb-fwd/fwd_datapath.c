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
 *   flush tx buffers (tx_burst); hand-off packets go back on the completion
 *     ring whether sent or not (the reference taken for the way back keeps
 *     them alive)
 *   flush staging areas (submit); reap our completions and free them
 */

#include <errno.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "fwd.h"

#include "fwd_offload.h"
#include "fwd_reach.h"

/* ---- the datapath ------------------------------------------------------- */

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

/*
 * Transmit the local packets buffered in @p q. What the queue refuses (the
 * peer has no buffers: a full vring, no free receive slot) stays at the
 * front of the buffer for the next try, and the ports feeding @p q are not
 * polled meanwhile (backlogged()): the frames wait in the sending peer's
 * ring, where its own backpressure works, instead of being dropped here. A
 * queue that takes nothing for FWD_HOLD_MS (a peer gone, a link down that
 * does not drop) has its frames dropped as tx_full, so one dead port cannot
 * stop the others.
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
 * Transmit hand-off packets: what the queue takes goes back to its origin
 * (the reference taken for the way back comes home); what it refuses is held
 * as txq_send() holds local frames, and poll_handoff() takes no more
 * hand-offs meanwhile, so the origin's link fills and it stops polling the
 * port (backlogged()). After FWD_HOLD_MS without progress they are dropped
 * as tx_full and go back too.
 */
static void
tx_remote(struct fwd_run *r, struct fwd_txq *q)
{
	struct fwd_port_counters *c = &r->lc->cnt[q->port];
	uint16_t sent, i, o, left;
	bool drop_all;

	sent = rte_eth_tx_burst(r->st->port[q->port].port_id, q->queue, q->handoff_pkts,
				q->nb_handoff);
	pvb_counter_add1w(&c->tx, sent);
	left = q->nb_handoff - sent;
	drop_all = left != 0 && hold_expired(r, &q->remote_since, &c->held, sent, left);
	for (i = 0; i < q->nb_handoff; i++) {
		if (i >= sent) {
			if (!drop_all)
				break;
			drop_count(r, q->port, FWD_DROP_TX_FULL);
			/* the PMD did not take it: drop the reference we took for it */
			rte_pktmbuf_refcnt_update(q->handoff_pkts[i], -1);
		}
		o = q->origin[i];
		r->to_return[o][r->nb_to_return[o]++] = q->handoff_pkts[i];
	}
	if (left == 0 || drop_all) {
		q->nb_handoff = 0;
		q->remote_since = 0;
		return;
	}
	memmove(q->handoff_pkts, &q->handoff_pkts[sent], sizeof(q->handoff_pkts[0]) * left);
	memmove(q->origin, &q->origin[sent], sizeof(q->origin[0]) * left);
	q->nb_handoff = left;
}

static void
txq_flush(struct fwd_run *r, struct fwd_txq *q)
{
	if (q->n != 0)
		txq_send(r, q);
	if (q->nb_handoff != 0)
		tx_remote(r, q);
}

/* Room for one rx burst more than a burst: backlogged() stops rx while holding. */
static inline void
txq_add(struct fwd_run *r, struct fwd_txq *q, struct rte_mbuf *m)
{
	if (q->n >= r->burst)
		txq_send(r, q);
	RTE_ASSERT(q->n < RTE_DIM(q->pkts));
	q->pkts[q->n++] = m;
}

static inline void
txq_add_remote(struct fwd_run *r, struct fwd_txq *q, struct rte_mbuf *m, uint16_t origin)
{
	if (q->nb_handoff == r->burst)
		tx_remote(r, q);
	if (unlikely(q->nb_handoff == r->burst)) {
		/* cannot happen (no hand-off is taken while one is held): drop, return it */
		drop_count(r, q->port, FWD_DROP_TX_FULL);
		rte_pktmbuf_refcnt_update(m, -1);
		r->to_return[origin][r->nb_to_return[origin]++] = m;
		return;
	}
	q->handoff_pkts[q->nb_handoff] = m;
	q->origin[q->nb_handoff++] = origin;
}

/* Submit a staging area; what does not fit (ring full, or too many out) is dropped. */
static void
stage_flush(struct fwd_run *r, uint16_t li)
{
	struct fwd_link *l = r->lc->out_links[li];
	struct fwd_stage *sg = &r->stage[li];
	uint32_t room = r->st->cfg->ring_size - (uint32_t)l->outstanding;
	int n = 0;
	uint16_t i;

	if (sg->n == 0)
		return;
	/*
	 * At most ring_size packets out at once: the completion ring then always
	 * has room for what the other lcore returns.
	 */
	if (room > 0)
		n = pvb_scring_submit_burst(&l->prod, sg->ent, RTE_MIN(sg->n, room));
	if (n < 0)
		n = 0;	/* cannot happen between our own lcores; counted as ring full */
	l->outstanding += (uint32_t)n;
	pvb_counter_add1w(&r->lc->handoff_tx, (uint64_t)n);
	for (i = (uint16_t)n; i < sg->n; i++) {
		/* never submitted: give back the reference taken for the return trip */
		rte_pktmbuf_refcnt_update(sg->ent[i].m, -1);
		drop(r, sg->ent[i].port, FWD_DROP_RING_FULL, sg->ent[i].m);
	}
	sg->n = 0;
}



/* Send @p m out of @p port: our tx queue, or the owner's hand-off link. */
static inline void
send_one(struct fwd_run *r, struct rte_mbuf *m, uint16_t port)
{
	struct fwd_route rt = r->lc->route[port];
	struct fwd_stage *sg;

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
	sg = &r->stage[rt.link];
	if (sg->n == r->burst)
		stage_flush(r, (uint16_t)rt.link);
	/*
	 * Two references on the way: the transmitting lcore gives one to the
	 * PMD, the other comes back on the completion ring for us to drop. As
	 * sole owner (refcnt 1) this is a plain store, not an atomic add.
	 */
	rte_pktmbuf_refcnt_update(m, 1);
	sg->ent[sg->n].m = m;
	sg->ent[sg->n++].port = port;
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

/*
 * Backpressure: a cross-connected port whose peer's tx queue belongs to
 * another lcore is not polled while that lcore has a full ring's worth of
 * our packets. They wait in the rx queue (where the NIC counts what it must
 * drop) instead of being received only to be dropped, which would spend the
 * cycles this lcore owes the other one's hand-offs.
 */
static inline bool
link_backlogged(const struct fwd_run *r, uint16_t li)
{
	/* staged packets count: several rx queues may feed one link */
	return r->st->cfg->ring_size - r->lc->out_links[li]->outstanding - r->stage[li].n <
	       r->burst;
}

/* Whether tx queue @p q holds frames its queue refused (txq_send()). */
static inline bool
txq_held(const struct fwd_txq *q)
{
	return q->held_since != 0;
}

/* Some link is held back or some tx queue holds frames: do not sleep, they are due. */
bool
fwd_any_backlogged(const struct fwd_run *r)
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
backlogged(const struct fwd_run *r, uint16_t in)
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

/* Return hand-off packets to the lcores they came from. */
static void
complete_flush(struct fwd_run *r)
{
	struct rte_mbuf **m;
	uint16_t li, done, n_ret;
	int n;

	for (li = 0; li < r->lc->nb_in; li++) {
		m = r->to_return[li];
		n_ret = r->nb_to_return[li];
		for (done = 0; done < n_ret; done += (uint16_t)n) {
			n = pvb_scring_complete_burst(&r->lc->in_links[li]->cons, &m[done],
						      n_ret - done);
			if (n <= 0) {
				/* cannot happen (outstanding <= ring size): free here instead */
				rte_pktmbuf_free_bulk(&m[done], n_ret - done);
				break;
			}
		}
		r->nb_to_return[li] = 0;
	}
}

/* One burst of submissions from in_links[li] into our tx buffers. */
static int
take_handoff(struct fwd_run *r, uint16_t li)
{
	struct fwd_handoff_ent ent[FWD_MAX_BURST];
	int n, i;
	int16_t q;

	n = pvb_scring_consume_burst(&r->lc->in_links[li]->cons, ent, r->burst);
	/* the mbufs were last written on the other lcore: start all the misses now */
	for (i = 0; i < n; i++)
		rte_prefetch0(ent[i].m);
	for (i = 0; i < n; i++) {
		q = ent[i].port < r->st->nb_ports ? r->lc->route[ent[i].port].txq : -1;
		/* it carries a reference for the PMD and one for the way back */
		if (likely(q >= 0)) {
			txq_add_remote(r, &r->lc->txq[q], ent[i].m, li);
			continue;
		}
		/* set-up routes only what we own; count it and send it back */
		drop_count(r, ent[i].port < r->st->nb_ports ? ent[i].port : 0, FWD_DROP_NO_ROUTE);
		rte_pktmbuf_refcnt_update(ent[i].m, -1);
		r->to_return[li][r->nb_to_return[li]++] = ent[i].m;
	}
	return n;
}

/*
 * Some tx queue still holds hand-off packets after trying them once more.
 * What went is returned at once: to_return holds a burst per link.
 */
static bool
remote_held(struct fwd_run *r)
{
	bool held = false, tried = false;
	uint16_t q;

	for (q = 0; q < r->lc->nb_txq; q++) {
		if (r->lc->txq[q].remote_since == 0)
			continue;
		tried = true;
		tx_remote(r, &r->lc->txq[q]);
		held |= r->lc->txq[q].remote_since != 0;
	}
	if (tried)
		complete_flush(r);
	return held;
}

/*
 * Take submissions from other lcores and transmit them, several bursts per
 * link before polling rx again: work other lcores already did comes first,
 * so a busy receiver cannot outrun its transmitter and fill the link.
 */
static uint32_t
poll_handoff(struct fwd_run *r)
{
	uint32_t work = 0;
	uint16_t li, q;
	int n, round;
	bool held;

	/* held hand-offs first; while some are, take no more (tx_remote()) */
	held = remote_held(r);
	for (li = 0; li < r->lc->nb_in && !held; li++) {
		for (round = 0; round < FWD_HANDOFF_ROUNDS && !held; round++) {
			n = take_handoff(r, li);
			if (n <= 0)
				break;
			work += (uint32_t)n;
			pvb_counter_add1w(&r->lc->handoff_rx, (uint64_t)n);
			for (q = 0; q < r->lc->nb_txq; q++) {
				if (r->lc->txq[q].nb_handoff == 0)
					continue;
				tx_remote(r, &r->lc->txq[q]);
				held |= r->lc->txq[q].remote_since != 0;
			}
			complete_flush(r);
		}
	}
	return work;
}

/* Free what other lcores returned to us: it goes back to our mempool cache. */
static void
reap(struct fwd_run *r)
{
	struct rte_mbuf *m[FWD_MAX_BURST];
	struct fwd_link *l;
	uint16_t li;
	int n, i;

	for (li = 0; li < r->lc->nb_out; li++) {
		l = r->lc->out_links[li];
		/*
		 * Little out, nothing to look at yet: polling an empty completion
		 * ring reads the line the other lcore writes and slows its every
		 * write. A held-back link and the drain look every time (the
		 * ring takes two bursts, so holding back implies a burst is out).
		 */
		if (l->outstanding == 0 || (l->outstanding < r->burst && !r->draining &&
					    !link_backlogged(r, li)))
			continue;
		while ((n = pvb_scring_reap_burst(&l->prod, m, FWD_MAX_BURST)) > 0) {
			for (i = 0; i < n; i++)
				rte_prefetch0(m[i]);
			rte_pktmbuf_free_bulk(m, (unsigned int)n);
			l->outstanding -= (uint32_t)n;
		}
	}
}

static void
flush_all(struct fwd_run *r)
{
	uint16_t i;

	for (i = 0; i < r->lc->nb_txq; i++)
		txq_flush(r, &r->lc->txq[i]);
	complete_flush(r);
	for (i = 0; i < r->lc->nb_out; i++)
		stage_flush(r, i);
	reap(r);
}

/* Nothing of ours in flight: buffers empty, everything handed off has come back. */
bool
fwd_drained(const struct fwd_run *r)
{
	uint16_t i;

	for (i = 0; i < r->lc->nb_out; i++)
		if (r->lc->out_links[i]->outstanding != 0 || r->stage[i].n != 0)
			return false;
	for (i = 0; i < r->lc->nb_txq; i++)
		if (r->lc->txq[i].n != 0 || r->lc->txq[i].nb_handoff != 0)
			return false;
	return true;
}

/* One poll of everything: rx, hand-offs, flushes. How many packets it moved. */
uint32_t
fwd_poll_all(struct fwd_run *r, bool stopping)
{
	uint32_t work = stopping ? 0 : poll_rx(r);

	work += poll_handoff(r);
	flush_all(r);
	return work;
}
