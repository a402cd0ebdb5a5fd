/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* A worker lcore's run state, shared by its datapath and its loop (fwd_datapath.c, fwd_loop.c). */

#ifndef _FWD_RUN_H_
#define _FWD_RUN_H_

#include <stdbool.h>
#include <stdint.h>

#include "fwd.h"

/* Per-lcore scratch kept next to the loop, not in shared state. */
struct fwd_stage {
	uint16_t n;
	fwd_handoff_ent ent[FWD_MAX_BURST];
};

#define FWD_HANDOFF_ROUNDS	4	/* bursts taken from a link per loop iteration */
#define FWD_HOLD_MS		100	/* a tx queue that takes nothing so long: drop (txq_send) */
#define FWD_CLEANUP_POLLS	256	/* empty polls before tx_done_cleanup (idle_cleanup) */

struct fwd_run {
	struct fwd_state *st;
	struct fwd_lcore *lc;
	uint16_t burst;
	uint64_t hold_tsc;	/* FWD_HOLD_MS in TSC cycles */
	bool draining;		/* stopping: say at once when hand-offs are taken (fwd_handoff.c) */
	bool intr;		/* adaptive: sleeps on its queues' rx interrupts, else naps */
	int intr_timeout_ms;	/* the longest of those sleeps (fwd_idle.c) */
	uint64_t now;
	struct fwd_stage stage[FWD_MAX_LCORES];		/* per out_link */
};

/* One poll of everything: rx, hand-offs, flushes. How many packets it moved. */
uint32_t fwd_poll_all(struct fwd_run *r, bool stopping);
/* Nothing of ours in flight: buffers empty, everything handed off taken by its lcore. */
bool fwd_drained(struct fwd_run *r);
/* Some link is held back or some tx queue holds frames: do not sleep, they are due. */
bool fwd_any_backlogged(struct fwd_run *r);

#endif /* _FWD_RUN_H_ */
