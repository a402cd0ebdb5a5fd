/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The hand-off links between worker lcores, the submitting side's inline
 * half: an entry's packing, staging a packet, and the room left in a link
 * (the backpressure). The rest is in fwd_handoff.c. Included by the
 * datapath's files only.
 */

#ifndef _FWD_HANDOFF_H_
#define _FWD_HANDOFF_H_

#include <rte_mbuf.h>

#include "fwd_run.h"

static inline fwd_handoff_ent
handoff_ent(const struct rte_mbuf *m, uint16_t port)
{
	RTE_ASSERT(((uintptr_t)m & FWD_HANDOFF_PORT_MASK) == 0);
	return (fwd_handoff_ent)(uintptr_t)m | port;
}

static inline struct rte_mbuf *
handoff_mbuf(fwd_handoff_ent e)
{
	return (struct rte_mbuf *)(uintptr_t)(e & ~FWD_HANDOFF_PORT_MASK);
}

static inline uint16_t
handoff_port(fwd_handoff_ent e)
{
	return (uint16_t)(e & FWD_HANDOFF_PORT_MASK);
}

/* Submit out_links[li]'s staging area; what the link has no room for is dropped (ring_full). */
void fwd_handoff_flush(struct fwd_run *r, uint16_t li);
/* Take packets other lcores handed us into our tx buffers; how many. */
uint32_t fwd_handoff_poll(struct fwd_run *r);
/* Everything we staged is submitted and every submission taken by its lcore. */
bool fwd_handoff_drained(struct fwd_run *r);

/*
 * Free entries of link @p l, at least @p want of them if there are: the
 * consumer's tail is loaded only when the one we saw last leaves fewer
 * (pvb_scring_submit_room()), so a link with room costs no look at the
 * other lcore's line.
 */
static inline uint32_t
link_room(struct fwd_link *l, uint32_t want)
{
	int n = pvb_scring_submit_room(&l->prod, want);

	/* broken cannot happen between our own lcores; it would read as full */
	return n > 0 ? (uint32_t)n : 0;
}

/*
 * Backpressure: out_links[li] cannot take one more rx burst besides what is
 * staged for it (several rx queues may feed one link). The ports feeding it
 * are then not polled: their packets wait in the device (which counts what
 * it has to drop) instead of being received only to be dropped, which would
 * spend the cycles this lcore owes the other one's hand-offs.
 */
static inline bool
link_backlogged(struct fwd_run *r, uint16_t li)
{
	uint32_t want = (uint32_t)r->stage[li].n + r->burst;

	return link_room(r->lc->out_links[li], want) < want;
}

/* Stage @p m for @p port, owned by the lcore at the end of out_links[li]. */
static inline void
handoff_stage(struct fwd_run *r, uint16_t li, struct rte_mbuf *m, uint16_t port)
{
	struct fwd_stage *sg = &r->stage[li];

	if (sg->n == r->burst)
		fwd_handoff_flush(r, li);
	sg->ent[sg->n++] = handoff_ent(m, port);
}

#endif /* _FWD_HANDOFF_H_ */
