/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * What an idle worker sleeps on in adaptive mode (the loop that decides when
 * is in fwd_loop.c; doc/pvb-fwd.md, "Idle modes").
 *
 * A worker whose every polled rx queue belongs to a port configured with rx
 * interrupts (fwd_port.c) registers those queues' event fds in its own
 * per-thread epoll set when it starts, and sleeps in rte_epoll_wait() once
 * idle: arm every queue (rte_eth_dev_rx_intr_enable()), poll once more (a
 * packet that came between the last empty poll and arming raised no
 * interrupt on some PMDs), wait, disarm. Any other worker naps: nanosleep
 * for idle_sleep_us, as before rx interrupts.
 *
 * The wait is always bounded, because some wake-ups have no interrupt:
 *  - hand-off rings from other lcores (scring) have no doorbell, so a worker
 *    that transmits for other lcores waits at most idle_sleep_us, rounded up
 *    to epoll's millisecond: a handed-off packet waits that long at worst;
 *  - stop_rx and quit are plain flags: any worker waits at most
 *    FWD_INTR_WAIT_MS (or idle_sleep_us if longer), which bounds how long a
 *    shutdown waits for it and how stale its counters get.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_interrupts.h>

#include "fwd.h"

#define FWD_INTR_WAIT_MS	100	/* longest sleep of a worker nobody hands off to */
#define FWD_INTR_EVENTS		8	/* taken per wait: the loop polls every queue anyway */

static inline uint16_t
port_id_of(const struct fwd_state *st, const struct fwd_qref *q)
{
	return st->port[q->port].port_id;
}

/* Queues [0, nb) of @p lc out of this thread's epoll set. */
static void
intr_del(const struct fwd_state *st, const struct fwd_lcore *lc, uint16_t nb)
{
	uint16_t i;

	for (i = 0; i < nb; i++)
		(void)rte_eth_dev_rx_intr_ctl_q(port_id_of(st, &lc->rx[i]), lc->rx[i].queue,
						RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, NULL);
}

/*
 * On the worker's own thread, at start: whether it can sleep on rx
 * interrupts. All its queues are registered, or none.
 */
bool
fwd_idle_intr_register(const struct fwd_state *st, struct fwd_lcore *lc)
{
	uint16_t i;
	int rc;

	if (st->cfg->idle != FWD_IDLE_ADAPTIVE || lc->nb_rx == 0)
		return false;
	for (i = 0; i < lc->nb_rx; i++)
		if (!st->port[lc->rx[i].port].rx_intr)
			return false;
	for (i = 0; i < lc->nb_rx; i++) {
		rc = rte_eth_dev_rx_intr_ctl_q(port_id_of(st, &lc->rx[i]), lc->rx[i].queue,
					       RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD,
					       (void *)(uintptr_t)i);
		if (rc != 0) {
			fprintf(stderr, "pvb-fwd: lcore %u: port %s queue %u: no rx interrupt "
				"(%s): naps instead\n", lc->lcore_id,
				st->port[lc->rx[i].port].name, lc->rx[i].queue, strerror(-rc));
			intr_del(st, lc, i);
			return false;
		}
	}
	/* relaxed: a report for the statistics readers, it publishes nothing */
	pvb_store_relaxed(&lc->on_intr, 1);
	return true;
}

/* On the worker's thread, as it leaves its loop (the ports close after). */
void
fwd_idle_intr_unregister(const struct fwd_state *st, const struct fwd_lcore *lc)
{
	intr_del(st, lc, lc->nb_rx);
}

/* Disarm queues [0, nb): they are polled again, their PMDs need not signal. */
void
fwd_idle_intr_disarm(const struct fwd_state *st, const struct fwd_lcore *lc, uint16_t nb)
{
	uint16_t i;

	for (i = 0; i < nb; i++)
		(void)rte_eth_dev_rx_intr_disable(port_id_of(st, &lc->rx[i]), lc->rx[i].queue);
}

/* Arm every queue @p lc polls; 0, or -errno with none left armed. */
int
fwd_idle_intr_arm(const struct fwd_state *st, const struct fwd_lcore *lc)
{
	uint16_t i;
	int rc;

	for (i = 0; i < lc->nb_rx; i++) {
		rc = rte_eth_dev_rx_intr_enable(port_id_of(st, &lc->rx[i]), lc->rx[i].queue);
		if (rc != 0) {
			fwd_idle_intr_disarm(st, lc, i);
			return rc;
		}
	}
	return 0;
}

/* How long one sleep on interrupts may last (see the top of this file). */
int
fwd_idle_intr_timeout_ms(const struct fwd_config *cfg, const struct fwd_lcore *lc)
{
	int ms = (int)((cfg->idle_sleep_us + 999) / 1000);

	if (lc->nb_in != 0)
		return ms;
	return ms > FWD_INTR_WAIT_MS ? ms : FWD_INTR_WAIT_MS;
}

/*
 * Sleep until an armed queue's interrupt, or @p timeout_ms; how many queues
 * woke us (0: the time ran out). The PMD's disarm clears what woke us.
 */
int
fwd_idle_intr_wait(int timeout_ms)
{
	struct rte_epoll_event ev[FWD_INTR_EVENTS];
	int n;

	n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, FWD_INTR_EVENTS, timeout_ms);
	return n > 0 ? n : 0;
}

void
fwd_idle_nap(const struct fwd_config *cfg)
{
	struct timespec ts = {
		.tv_sec = cfg->idle_sleep_us / 1000000,
		.tv_nsec = (long)(cfg->idle_sleep_us % 1000000) * 1000,
	};

	nanosleep(&ts, NULL);
}
