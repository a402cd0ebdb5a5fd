/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* The control thread's half of the hand-over (pvb_handover.h). */

#include <errno.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_log.h>
#include <rte_pause.h>

#include "pvb_handover.h"

bool pvb_handover_fence;

void
pvb_handover_init(const char *who)
{
	static bool done;

	if (done)
		return;
	done = true;
	pvb_handover_fence = syscall(SYS_membarrier,
				     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0;
	if (pvb_handover_fence)
		RTE_LOG(NOTICE, PMD, "%s: no membarrier(2) (%s); every burst pays a fence\n",
			who, strerror(errno));
}

void
pvb_handover_give(pvb_shared_u32 *state, uint32_t to)
{
	/* pairs with the load-acquire in pvb_handover_enter(): the set-up is seen */
	pvb_store_release(state, to);
}

void
pvb_handover_take(pvb_shared_u32 *state, uint32_t to, struct pvb_active *act, unsigned int n)
{
	uint32_t e;
	unsigned int i;

	pvb_handover_give(state, to);
	/*
	 * The other half of pvb_handover_enter(): a burst that stored its odd
	 * epoch before the barrier is seen below; one that loads the state
	 * after it sees @p to and leaves without touching the rings.
	 */
	if (pvb_handover_fence ||
	    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
		atomic_thread_fence(memory_order_seq_cst);
	for (i = 0; i < n; i++) {
		/* pairs with the store-releases in pvb_handover_leave()/_enter() */
		e = pvb_load_acquire(&act[i].epoch);
		if (e & 1)
			while (pvb_load_acquire(&act[i].epoch) == e)
				rte_pause();
	}
}
