/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_HANDOVER_H_
#define _PVB_HANDOVER_H_

/**
 * @file
 * How a port's control thread hands its rings to the bursts and takes them
 * back, without the bursts paying a fence. Every PMD of pvbridge uses it.
 *
 * A burst announces itself by making its queue's epoch odd, then reads the
 * port state; the control thread stores the state, then runs membarrier(2),
 * which puts a full barrier into every running thread of the process, then
 * reads the epochs. So a burst either sees the new state or is seen inside,
 * and waited for. An empty poll pays two stores to a line of its own and
 * one load of the state (read-mostly). Without membarrier (seccomp, old
 * kernels) the bursts fence themselves, and a log line says so.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>

#include "pvb_ordering.h"

/** A queue's presence in its bursts, on its own cache line. */
struct pvb_active {
	pvb_shared_u32 epoch;	/* W: the queue's poller (odd: inside); R: control thread */
} __rte_cache_aligned;

/** True when membarrier(2) is missing and the bursts must fence themselves. */
extern bool pvb_handover_fence;

/** Once per process, before any burst: membarrier(2) registration. @p who names the PMDs. */
void pvb_handover_init(const char *who);

/**
 * Enter a burst of the queue @p a: true when @p state is @p want (the rings
 * are the bursts'); else nothing is held and the burst returns.
 */
static __rte_always_inline bool
pvb_handover_enter(struct pvb_active *a, const pvb_shared_u32 *state, uint32_t want)
{
	/* relaxed: only this queue's poller writes its epoch */
	uint32_t e = pvb_load_relaxed(&a->epoch);

	/* relaxed: ordered against the state load by pvb_handover_take()'s membarrier */
	pvb_store_relaxed(&a->epoch, e + 1);
	if (unlikely(pvb_handover_fence))
		atomic_thread_fence(memory_order_seq_cst);
	else
		atomic_signal_fence(memory_order_seq_cst);	/* the compiler keeps the order */
	/* pairs with the store-release in pvb_handover_give(): what it set up is seen */
	if (likely(pvb_load_acquire(state) == want))
		return true;
	/* pairs with the load-acquire in pvb_handover_take(): we touched nothing */
	pvb_store_release(&a->epoch, e + 2);
	return false;
}

/** Leave a burst that pvb_handover_enter() let in. */
static __rte_always_inline void
pvb_handover_leave(struct pvb_active *a)
{
	/* pairs with the load-acquire in pvb_handover_take(): our ring work is done */
	pvb_store_release(&a->epoch, pvb_load_relaxed(&a->epoch) + 1);
}

/** Publish @p state to the bursts: what was set up before the store is seen by them. */
void pvb_handover_give(pvb_shared_u32 *state, uint32_t to);

/**
 * Move @p state to @p to and wait until no burst of the @p n queues in
 * @p act is inside: after it, the caller owns what the bursts used.
 */
void pvb_handover_take(pvb_shared_u32 *state, uint32_t to, struct pvb_active *act,
		       unsigned int n);

/** The epoch of queue @p a, as a liveness hint (did anybody poll since?). */
static inline uint32_t
pvb_handover_epoch(const struct pvb_active *a)
{
	/* relaxed: a hint, nothing is ordered by it */
	return pvb_load_relaxed(&a->epoch);
}

#endif /* _PVB_HANDOVER_H_ */
