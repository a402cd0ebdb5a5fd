/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_RXINTR_H_
#define _PVB_RXINTR_H_

/**
 * @file
 * Rx interrupts of a port whose peer signals by eventfd (a vhost-user
 * driver's kick, a device's call), so an application can sleep on a queue
 * (pvb-fwd's adaptive idle mode, l3fwd-power).
 *
 * Each queue's event fd is a private epoll set holding the peer's eventfd
 * (bound while a session is up) and one only this process holds: the port
 * wakes a sleeper itself when work was already there as it armed, or when
 * the session comes or goes. DPDK waits on the set edge-triggered and reads
 * nothing from it (counter size 0). What the peer's fd counted is read when
 * the queue is disarmed.
 */

#include <stdbool.h>
#include <stdint.h>

#include <ethdev_driver.h>

#define PVB_RXINTR_MAX	8

struct pvb_rxintr {
	unsigned int n;
	int ep[PVB_RXINTR_MAX];		/* per queue: the epoll set DPDK waits on */
	int self[PVB_RXINTR_MAX];	/* per queue: our own eventfd, in the set */
	int bound[PVB_RXINTR_MAX];	/* per queue: the peer's eventfd in the set, or -1 */
	bool armed[PVB_RXINTR_MAX];	/* the application sleeps on the queue */
};

/** Every fd to -1 (before setup, so that free is always safe). */
void pvb_rxintr_init(struct pvb_rxintr *ri);

/** The sets of @p n queues of @p dev, registered as its rx interrupts. 0 or -errno. */
int pvb_rxintr_setup(struct rte_eth_dev *dev, struct pvb_rxintr *ri, unsigned int n,
		     const char *name);
void pvb_rxintr_free(struct rte_eth_dev *dev, struct pvb_rxintr *ri);

/** Wake whoever sleeps on queue @p q. */
void pvb_rxintr_wake(struct pvb_rxintr *ri, unsigned int q);

/**
 * Put the peer's eventfd @p fd (-1: none) into queue @p q's set in place of
 * the one there before, and wake a sleeper: the session came or went.
 * 0, or -errno when @p fd cannot join (a sleeper then wakes only on its timeout).
 */
int pvb_rxintr_bind(struct pvb_rxintr *ri, unsigned int q, int fd);

/** Disarming: clear our own wake-up and return what the peer's fd counted. */
uint64_t pvb_rxintr_drain(struct pvb_rxintr *ri, unsigned int q);

#endif /* _PVB_RXINTR_H_ */
