/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Rx interrupts (pvb_rxintr.h): queue q sleeps on the guest's kick eventfd
 * of its transmit vring.
 *
 * While the queue polls, the driver is asked not to kick (used flags or the
 * event index left behind: lib/virtq), and the kick fd is never read.
 * Arming asks for kicks, then looks once more (store, full fence, load
 * avail->idx: pvb_virtq_dev_set_notification()); disarming suppresses them
 * again and drains the kick fd, counting what it read.
 */

#include <errno.h>
#include <string.h>

#include "vhost.h"

int
vhost_intr_setup(struct rte_eth_dev *dev)
{
	struct vhost_port *p = dev->data->dev_private;

	return pvb_rxintr_setup(dev, &p->intr, p->queues, "pvb_vhost_intr");
}

void
vhost_intr_free(struct rte_eth_dev *dev)
{
	struct vhost_port *p = dev->data->dev_private;

	pvb_rxintr_free(dev, &p->intr);
}

void
vhost_intr_rebind(struct vhost_port *p)
{
	unsigned int q;
	int rc;

	for (q = 0; q < p->queues; q++) {
		rc = pvb_rxintr_bind(&p->intr, q, p->rxq[q].vq != NULL ?
				     p->be.vr[2 * q + 1].kick_fd : -1);
		if (rc != 0)
			LOG(WARNING, "%s: queue %u: the kick fd cannot join the rx interrupt set "
			    "(%s): a sleeping application wakes only on its timeout", p->iface, q,
			    strerror(-rc));
	}
}

void
vhost_intr_unbind(struct vhost_port *p)
{
	unsigned int q;

	for (q = 0; q < p->queues; q++)
		pvb_rxintr_bind(&p->intr, q, -1);
}

int
vhost_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct vhost_port *p = dev->data->dev_private;
	struct pvb_active *a = &p->act[qid];
	bool work = false;

	p->intr.armed[qid] = true;
	/* as a burst: the vring cannot go while we are inside */
	if (!pvb_handover_enter(a, &p->state, VHOST_RUN))
		return 0;	/* no vrings: vhost_intr_rebind() wakes us when they come */
	if (p->rxq[qid].vq != NULL)
		work = pvb_virtq_dev_set_notification(p->rxq[qid].vq, false);
	pvb_handover_leave(a);
	if (work)
		pvb_rxintr_wake(&p->intr, qid);
	return 0;
}

int
vhost_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct vhost_port *p = dev->data->dev_private;
	struct pvb_active *a = &p->act[qid];

	p->intr.armed[qid] = false;
	if (!pvb_handover_enter(a, &p->state, VHOST_RUN)) {
		pvb_rxintr_drain(&p->intr, qid);
		return 0;
	}
	if (p->rxq[qid].vq != NULL) {
		/* polled again: the driver need not kick */
		pvb_virtq_dev_set_notification(p->rxq[qid].vq, true);
		pvb_counter_add1w(&p->rxq[qid].kicks, pvb_rxintr_drain(&p->intr, qid));
	}
	pvb_handover_leave(a);
	return 0;
}
