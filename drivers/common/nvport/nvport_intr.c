/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Rx interrupts, so an application can sleep on a port
 * (rte_eth_dev_rx_intr_enable() and the queue's event fd in its epoll set,
 * as l3fwd-power does).
 *
 * The queue's event fd is a private epoll set holding two fds: our end of
 * the channel's doorbell socket pair (the peer sends a byte when it writes
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

	p->intr_ep = epoll_create1(EPOLL_CLOEXEC);
	p->intr_self = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->intr_ep < 0 || p->intr_self < 0 ||
	    epoll_ctl(p->intr_ep, EPOLL_CTL_ADD, p->intr_self, &ev) != 0)
		return -errno;
	return pvb_eth_intr_alloc(dev, &p->intr_ep, 1, "pvb_nvport_intr");
}

void
nvport_intr_free(struct rte_eth_dev *dev)
{
	struct nvport *p = dev->data->dev_private;

	pvb_eth_intr_free(dev);
	if (p->intr_ep >= 0)
		close(p->intr_ep);
	if (p->intr_self >= 0)
		close(p->intr_self);
	p->intr_ep = p->intr_self = -1;
}

void
nvport_intr_wake(struct nvport *p)
{
	uint64_t one = 1;

	/* our own eventfd, non-blocking: a full counter is a wake already due */
	if (write(p->intr_self, &one, sizeof(one)) < 0)
		one = 0;
}

int
nvport_intr_attach(struct nvport *p)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (epoll_ctl(p->intr_ep, EPOLL_CTL_ADD, p->ch->bell, &ev) != 0) {
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
	if (p->ch != NULL && p->ch->bell >= 0)
		epoll_ctl(p->intr_ep, EPOLL_CTL_DEL, p->ch->bell, NULL);
}

int
nvport_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct nvport *p = dev->data->dev_private;
	struct nvchan *ch;
	bool work;

	RTE_SET_USED(qid);
	/* as a burst: the channel cannot go while we are inside */
	if (!nvport_enter(&p->act[0], &p->state))
		return 0;	/* no channel: nvport_intr_attach() wakes us when one comes */
	ch = p->ch;
	rte_spinlock_lock(&ch->in_lock);
	work = pvb_vmbus_in_unmask_and_check(&ch->in) || !nvchan_idle(ch);
	rte_spinlock_unlock(&ch->in_lock);
	nvport_leave(&p->act[0]);
	if (work)
		nvport_intr_wake(p);
	return 0;
}

int
nvport_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct nvport *p = dev->data->dev_private;
	uint64_t v;

	RTE_SET_USED(qid);
	if (read(p->intr_self, &v, sizeof(v)) < 0)
		v = 0;	/* nothing was due */
	if (!nvport_enter(&p->act[0], &p->state))
		return 0;
	rte_spinlock_lock(&p->ch->in_lock);
	/* polled again: the peer need not signal */
	pvb_vmbus_in_set_mask(&p->ch->in, true);
	rte_spinlock_unlock(&p->ch->in_lock);
	pvb_bell_drain(p->ch->bell);
	nvport_leave(&p->act[0]);
	return 0;
}
