/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * What fwd_datapath.c does to a frame before it goes out: for a
 * net_pvb_virtio port whose back-end does not map the frame's
 * memory (doc/pvb-fwd.md, "Bridging"), a copy in pvb-fwd's own mbufs.
 * Included by fwd_datapath.c only: the hot path inlines it.
 */

#ifndef _FWD_REACH_H_
#define _FWD_REACH_H_

#include <rte_mbuf.h>
#include <rte_seqlock.h>

#include "fwd_run.h"
#include "fwd_txq.h"

/* Whether [a, a + len) lies in one region of @p rc (the main lcore may be changing it). */
static inline bool
reach_holds(const struct fwd_reach *rc, uintptr_t a, uint32_t len)
{
	uint32_t sn, i, n;
	bool in;

	do {
		sn = rte_seqcount_read_begin(&rc->sc);
		in = false;
		n = RTE_MIN(rc->n, (uint32_t)FWD_REACH_MAX);
		for (i = 0; i < n && !in; i++)
			in = a >= rc->r[i].lo && a + len <= rc->r[i].hi;
	} while (rte_seqcount_read_retry(&rc->sc, sn));
	return in;
}

/*
 * Whether a net_pvb_virtio port's back-end maps every byte of @p m. Direct
 * mbufs are in DPDK's memory, which the port shares by itself; an external
 * buffer (a netvsc guest's send section or receive slot) only in a region
 * pvb-fwd added.
 */
static inline bool
reachable(const struct fwd_reach *rc, const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next)
		if (RTE_MBUF_HAS_EXTBUF(m) &&
		    !reach_holds(rc, rte_pktmbuf_mtod(m, uintptr_t), m->data_len))
			return false;
	return true;
}

/*
 * @p m, or a copy of it in our own mempool for @p port, which cannot reach
 * it; the reference @p m had for @p port is dropped. NULL: no mbuf for the
 * copy (dropped and counted).
 */
static struct rte_mbuf *
copy_for(struct fwd_run *r, uint16_t port, struct rte_mbuf *m)
{
	struct fwd_port_counters *c = &r->lc->cnt[port];
	struct rte_mbuf *cp;

	cp = rte_pktmbuf_copy(m, r->st->port[port].copy_pool, 0, UINT32_MAX);
	if (unlikely(cp == NULL)) {
		drop(r, port, FWD_DROP_NO_MBUF, m);
		return NULL;
	}
	pvb_counter_add1w(&c->copied, 1);
	pvb_counter_add1w(&c->copied_bytes, cp->pkt_len);
	rte_pktmbuf_free(m);
	return cp;
}

static inline struct rte_mbuf *
reach(struct fwd_run *r, uint16_t port, struct rte_mbuf *m)
{
	const struct fwd_reach *rc = r->st->port[port].reach;

	if (likely(rc == NULL) || likely(reachable(rc, m)))
		return m;
	return copy_for(r, port, m);
}

/* reach() over a burst; returns how many are left (those without a copy are gone). */
static uint16_t
reach_burst(struct fwd_run *r, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i, k = 0;

	for (i = 0; i < n; i++)
		if ((pkts[k] = reach(r, port, pkts[i])) != NULL)
			k++;
	return k;
}

#endif /* _FWD_REACH_H_ */
