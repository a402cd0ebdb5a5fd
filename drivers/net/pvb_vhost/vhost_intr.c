/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Rx interrupts, so an application can sleep on a queue (the adaptive idle
 * mode of pvb-fwd, l3fwd-power): the queue's event fd is a private epoll
 * set holding the guest's kick eventfd of its transmit vring and an eventfd
 * only this process holds (we wake ourselves when a frame was already there
 * as we armed, or when the vrings come or go). DPDK waits on the set
 * edge-triggered and reads nothing from it (counter size 0).
 *
 * While the queue polls, the driver is asked not to kick (used flags or the
 * event index left behind: lib/virtq), and the kick fd is never read.
 * Arming asks for kicks, then looks once more (store, full fence, load
 * avail->idx: pvb_virtq_dev_set_notification()); disarming suppresses them
 * again and drains the kick fd, counting what it read.
 */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_interrupts.h>

#include "vhost.h"

int
vhost_intr_setup(struct rte_eth_dev *dev)
{
	struct vhost_port *p = dev->data->dev_private;
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int q;

	for (q = 0; q < p->queues; q++) {
		p->intr_ep[q] = epoll_create1(EPOLL_CLOEXEC);
		p->intr_self[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->intr_ep[q] < 0 || p->intr_self[q] < 0 ||
		    epoll_ctl(p->intr_ep[q], EPOLL_CTL_ADD, p->intr_self[q], &ev) != 0)
			return -errno;
	}
	return pvb_eth_intr_alloc(dev, p->intr_ep, p->queues, "pvb_vhost_intr");
}

void
vhost_intr_free(struct rte_eth_dev *dev)
{
	struct vhost_port *p = dev->data->dev_private;
	unsigned int q;

	pvb_eth_intr_free(dev);
	for (q = 0; q < VHOST_MAX_QUEUES; q++) {
		if (p->intr_ep[q] >= 0)
			close(p->intr_ep[q]);
		if (p->intr_self[q] >= 0)
			close(p->intr_self[q]);
		p->intr_ep[q] = p->intr_self[q] = -1;
	}
}

static void
vhost_intr_wake(struct vhost_port *p, unsigned int q)
{
	uint64_t one = 1;

	/* our own eventfd, non-blocking: a full counter is a wake already due */
	if (p->intr_self[q] >= 0 && write(p->intr_self[q], &one, sizeof(one)) < 0)
		one = 0;
}

void
vhost_intr_rebind(struct vhost_port *p)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int q;

	for (q = 0; q < p->queues; q++) {
		int kick = p->be.vr[2 * q + 1].kick_fd;

		if (p->intr_ep[q] < 0)
			continue;
		/* a closed kick fd left the set by itself; the new one joins (EEXIST: it is in) */
		if (p->rxq[q].vq != NULL && kick >= 0 &&
		    epoll_ctl(p->intr_ep[q], EPOLL_CTL_ADD, kick, &ev) != 0 && errno != EEXIST)
			LOG(WARNING, "%s: queue %u: the kick fd cannot join the rx interrupt set "
			    "(%s): a sleeping application wakes only on its timeout", p->iface, q,
			    strerror(errno));
		/* the vrings came or went: a sleeper must look */
		vhost_intr_wake(p, q);
	}
}

void
vhost_intr_unbind(struct vhost_port *p)
{
	unsigned int q;

	for (q = 0; q < p->queues; q++) {
		int kick = p->be.vr[2 * q + 1].kick_fd;

		if (p->intr_ep[q] >= 0 && kick >= 0)
			epoll_ctl(p->intr_ep[q], EPOLL_CTL_DEL, kick, NULL);
		vhost_intr_wake(p, q);
	}
}

int
vhost_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct vhost_port *p = dev->data->dev_private;
	struct pvb_active *a = &p->act[qid];
	bool work = false;

	p->intr_armed[qid] = true;
	/* as a burst: the vring cannot go while we are inside */
	if (!pvb_handover_enter(a, &p->state, VHOST_RUN))
		return 0;	/* no vrings: vhost_intr_rebind() wakes us when they come */
	if (p->rxq[qid].vq != NULL)
		work = pvb_virtq_dev_set_notification(p->rxq[qid].vq, false);
	pvb_handover_leave(a);
	if (work)
		vhost_intr_wake(p, qid);
	return 0;
}

int
vhost_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct vhost_port *p = dev->data->dev_private;
	struct pvb_active *a = &p->act[qid];
	struct pollfd pfd;
	uint64_t v;

	p->intr_armed[qid] = false;
	if (read(p->intr_self[qid], &v, sizeof(v)) < 0)
		v = 0;	/* nothing was due */
	if (!pvb_handover_enter(a, &p->state, VHOST_RUN))
		return 0;
	if (p->rxq[qid].vq != NULL) {
		int kick = p->be.vr[2 * qid + 1].kick_fd;

		/* polled again: the driver need not kick */
		pvb_virtq_dev_set_notification(p->rxq[qid].vq, true);
		pfd = (struct pollfd){ .fd = kick, .events = POLLIN };
		/* the front-end's eventfd may block: read it only when it has a count */
		if (kick >= 0 && poll(&pfd, 1, 0) == 1 && read(kick, &v, sizeof(v)) == sizeof(v))
			pvb_counter_add1w(&p->rxq[qid].kicks, v);
	}
	pvb_handover_leave(a);
	return 0;
}
