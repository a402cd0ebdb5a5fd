/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Rx interrupts, so an application can sleep on a port
 * (rte_eth_dev_rx_intr_enable() and the queue's event fd in its epoll set,
 * as l3fwd-power does).
 *
 * Each rx queue's event fd is a private epoll set holding two fds: our end
 * of its channel's doorbell socket pair (the peer sends a byte when it writes
 * into a ring we unmasked) and an eventfd only this process holds (we wake
 * ourselves when work was already there as we armed, or when a channel
 * comes up). DPDK waits on the set edge-triggered and reads nothing from it
 * (counter size 0); disarming drains both, without ever blocking.
 *
 * While the port polls, the incoming ring's interrupt mask stays set: the
 * peer never signals a busy poller. Arming clears it, then looks once more
 * (store mask, full fence, load write index, as the VMBus protocol wants),
 * so a packet written just before cannot be slept on.
 */

#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_interrupts.h>

#include "nvport.h"
#include "pvb_bell.h"

int
nvport_intr_setup(struct rte_eth_dev *dev)
{
	struct nvport *p = dev->data->dev_private;
	struct epoll_event ev = { .events = EPOLLIN };
	uint32_t q;

	for (q = 0; q < p->nb_queues; q++) {
		p->intr_ep[q] = epoll_create1(EPOLL_CLOEXEC);
		p->intr_self[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->intr_ep[q] < 0 || p->intr_self[q] < 0 ||
		    epoll_ctl(p->intr_ep[q], EPOLL_CTL_ADD, p->intr_self[q], &ev) != 0)
			return -errno;
	}
	return pvb_eth_intr_alloc(dev, p->intr_ep, p->nb_queues, "pvb_nvport_intr");
}

void
nvport_intr_free(struct rte_eth_dev *dev)
{
	struct nvport *p = dev->data->dev_private;
	uint32_t q;

	pvb_eth_intr_free(dev);
	for (q = 0; q < NVPORT_MAX_QUEUES; q++) {
		if (p->intr_ep[q] >= 0)
			close(p->intr_ep[q]);
		if (p->intr_self[q] >= 0)
			close(p->intr_self[q]);
		p->intr_ep[q] = p->intr_self[q] = -1;
	}
}

static void
nvport_intr_wake_q(struct nvport *p, uint32_t q)
{
	uint64_t one = 1;

	/* our own eventfd, non-blocking: a full counter is a wake already due */
	if (write(p->intr_self[q], &one, sizeof(one)) < 0)
		one = 0;
}

void
nvport_intr_wake(struct nvport *p)
{
	uint32_t q;

	for (q = 0; q < p->nb_queues; q++)
		nvport_intr_wake_q(p, q);
}

int
nvport_intr_attach(struct nvport *p, uint32_t idx)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (epoll_ctl(p->intr_ep[idx], EPOLL_CTL_ADD, p->chs[idx]->bell, &ev) != 0) {
		NVPORT_LOG(nvport_side_of(p->port_id), WARNING, "%s: the doorbell cannot join "
			   "the rx interrupt set (%s): a sleeping application wakes only on "
			   "its timeout", p->path, strerror(errno));
		return -errno;
	}
	return 0;
}

void
nvport_intr_detach(struct nvport *p)
{
	uint32_t i;

	for (i = 0; i < NVPORT_MAX_QUEUES; i++)
		if (p->chs[i] != NULL && p->chs[i]->bell >= 0 && p->intr_ep[i] >= 0)
			epoll_ctl(p->intr_ep[i], EPOLL_CTL_DEL, p->chs[i]->bell, NULL);
}

int
nvport_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct nvport *p = dev->data->dev_private;
	struct pvb_active *a = &p->act[2 * qid];
	struct nvchan *ch;
	bool work;

	/* as a burst: the channel cannot go while we are inside */
	if (!nvport_enter(a, &p->state))
		return 0;	/* no channel: nvport_go_data() wakes us when one comes */
	ch = p->chs[qid];
	if (ch == NULL) {
		/* not granted: nothing ever arrives on this queue */
		nvport_leave(a);
		return 0;
	}
	rte_spinlock_lock(&ch->in_lock);
	work = pvb_vmbus_in_unmask_and_check(&ch->in) || !nvchan_idle(ch);
	rte_spinlock_unlock(&ch->in_lock);
	nvport_leave(a);
	if (work)
		nvport_intr_wake_q(p, qid);
	return 0;
}

int
nvport_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct nvport *p = dev->data->dev_private;
	struct pvb_active *a = &p->act[2 * qid];
	struct nvchan *ch;
	uint64_t v;

	if (read(p->intr_self[qid], &v, sizeof(v)) < 0)
		v = 0;	/* nothing was due */
	if (!nvport_enter(a, &p->state))
		return 0;
	ch = p->chs[qid];
	if (ch != NULL) {
		rte_spinlock_lock(&ch->in_lock);
		/* polled again: the peer need not signal */
		pvb_vmbus_in_set_mask(&ch->in, true);
		rte_spinlock_unlock(&ch->in_lock);
		pvb_bell_drain(ch->bell);
	}
	nvport_leave(a);
	return 0;
}
