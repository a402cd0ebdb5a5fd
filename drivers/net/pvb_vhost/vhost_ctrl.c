/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The control thread of a port: the vhost-user socket (listen, or connect
 * and keep reconnecting with client=1), one message at a time into the
 * back-end state machine (lib/vhost_user), the hand-over of the vrings to
 * the bursts, and the link, which follows the front-end: up when pair 0's
 * vrings are ready (translated, kicked, enabled, DRIVER_OK), down when the
 * front-end goes, with everything of that front-end released.
 */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "vhost.h"

#define POLL_MS		100	/* how long the thread waits before it looks at stop */
#define RECONNECT_MS	200	/* client=1: between connection attempts */

void
vhost_backend_cfg(const struct vhost_port *p, struct pvb_vu_backend_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->features = (1ull << PVB_VIRTIO_F_VERSION_1) | (1ull << PVB_VIRTIO_F_EVENT_IDX) |
			(1ull << PVB_VIRTIO_F_INDIRECT_DESC) |
			(1ull << PVB_VIRTIO_NET_F_MRG_RXBUF) | (1ull << PVB_VIRTIO_NET_F_MTU) |
			(1ull << PVB_VIRTIO_NET_F_MAC) | (1ull << PVB_VIRTIO_NET_F_STATUS) |
			(1ull << PVB_VIRTIO_NET_F_MQ) | (1ull << PVB_VIRTIO_F_IN_ORDER);
	if (p->offload)
		cfg->features |= (1ull << PVB_VIRTIO_NET_F_CSUM) |
				 (1ull << PVB_VIRTIO_NET_F_GUEST_CSUM) |
				 (1ull << PVB_VIRTIO_NET_F_HOST_TSO4) |
				 (1ull << PVB_VIRTIO_NET_F_HOST_TSO6) |
				 (1ull << PVB_VIRTIO_NET_F_GUEST_TSO4) |
				 (1ull << PVB_VIRTIO_NET_F_GUEST_TSO6);
	cfg->protocol_features = (1ull << PVB_VU_PF_MQ) | (1ull << PVB_VU_PF_REPLY_ACK) |
				 (1ull << PVB_VU_PF_NET_MTU) | (1ull << PVB_VU_PF_STATUS);
	cfg->queue_pairs = p->queues;
	cfg->max_queue_size = PVB_VIRTQ_MAX_SIZE;
}

static void
vhost_link(struct vhost_port *p, bool up)
{
	if (rte_eth_devices[p->port_id].data->dev_link.link_status != up)
		LOG(INFO, "%s: link %s", p->iface, up ? "up" : "down");
	pvb_eth_link_set(p->port_id, up);
}

/* Take the vrings back from the bursts: after it, nothing of the session is in use. */
static void
vhost_take(struct vhost_port *p)
{
	pvb_handover_take(&p->state, VHOST_DOWN, p->act, RTE_DIM(p->act));
}

/* Hand the ready vrings to the bursts; the link follows pair 0. */
static void
vhost_give(struct vhost_port *p)
{
	struct pvb_vu_backend *be = &p->be;
	bool any = false, mrg = (be->features >> PVB_VIRTIO_NET_F_MRG_RXBUF) & 1;
	unsigned int q;

	for (q = 0; q < p->queues; q++) {
		struct pvb_vu_vring *rx = &be->vr[2 * q + 1], *tx = &be->vr[2 * q];
		bool rx_ok = pvb_vu_backend_vring_ready(be, 2 * q + 1);
		bool tx_ok = pvb_vu_backend_vring_ready(be, 2 * q);

		/* poll mode: the driver need not kick (rx interrupts re-arm it) */
		if (rx_ok && !p->intr.armed[q])
			pvb_virtq_dev_set_notification(&rx->q, true);
		if (tx_ok)
			pvb_virtq_dev_set_notification(&tx->q, true);
		p->rxq[q].vq = rx_ok ? &rx->q : NULL;
		p->rxq[q].call_fd = rx->call_fd;
		p->rxq[q].hdr_len = be->hdr_len;
		p->rxq[q].accept = pvb_vnet_accept(be->features, false);
		p->txq[q].vq = tx_ok ? &tx->q : NULL;
		p->txq[q].call_fd = tx->call_fd;
		p->txq[q].hdr_len = be->hdr_len;
		p->txq[q].accept = pvb_vnet_accept(be->features, true);
		p->txq[q].data_valid = (be->features >> PVB_VIRTIO_NET_F_GUEST_CSUM) & 1;
		p->txq[q].ol_mask = PVB_VNET_TX_REQ | RTE_MBUF_F_TX_VLAN |
				    (p->txq[q].data_valid ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0);
		p->txq[q].mrg_rxbuf = mrg;
		any |= rx_ok || tx_ok;
	}
	vhost_intr_rebind(p);
	if (any)
		pvb_handover_give(&p->state, VHOST_RUN);
	vhost_link(p, pvb_vu_backend_vring_ready(be, 0) && pvb_vu_backend_vring_ready(be, 1));
}

static void
vhost_disconnect(struct vhost_port *p, const char *why)
{
	unsigned int q;

	vhost_take(p);
	vhost_intr_unbind(p);
	for (q = 0; q < p->queues; q++) {
		p->rxq[q].vq = NULL;
		p->txq[q].vq = NULL;
		p->rxq[q].call_fd = p->txq[q].call_fd = -1;
	}
	/* every mapping and fd of that front-end goes; no mbuf refers to its memory */
	pvb_vu_backend_reset(&p->be);
	close(p->conn_fd);
	p->conn_fd = -1;
	pvb_counter_add(&p->disconnects, 1);
	LOG(NOTICE, "%s: front-end gone (%s)", p->iface, why);
	vhost_link(p, false);
}

static void
vhost_connected(struct vhost_port *p, int fd)
{
	p->conn_fd = fd;
	p->waiting_logged = false;
	pvb_counter_add(&p->connects, 1);
	if (pvb_counter_read(&p->connects) > 1)
		pvb_counter_add(&p->reconnects, 1);
	LOG(NOTICE, "%s: front-end connected", p->iface);
}

/* client=1: one attempt to reach the front-end's socket. */
static void
vhost_try_connect(struct vhost_port *p)
{
	int fd = pvb_vu_connect(p->iface);

	if (fd >= 0) {
		vhost_connected(p, fd);
		return;
	}
	if (!p->waiting_logged) {
		LOG(INFO, "%s: waiting for a front-end to listen (%s); retrying every %u ms",
		    p->iface, strerror(-fd), RECONNECT_MS);
		p->waiting_logged = true;
	}
	rte_delay_us_sleep(RECONNECT_MS * 1000);
}

/* Listening: a front-end connects; a second one while the first is there is turned away. */
static void
vhost_accept(struct vhost_port *p)
{
	int fd = pvb_vu_accept(p->listen_fd);

	if (fd < 0)
		return;
	if (p->conn_fd >= 0) {
		LOG(WARNING, "%s: a second front-end connected; it is turned away", p->iface);
		close(fd);
		return;
	}
	vhost_connected(p, fd);
}

/* One message from the front-end, handled with the vrings taken back if it changes them. */
static void
vhost_message(struct vhost_port *p)
{
	struct pvb_vu_msg m, reply;
	int fds[PVB_VU_MAX_FDS];
	uint32_t nfds = 0;
	bool mutates;
	int rc;

	rc = pvb_vu_recv(p->conn_fd, &m, fds, &nfds);
	if (rc != 0) {
		if (rc == -EPROTO)
			pvb_counter_add(&p->bad_messages, 1);
		vhost_disconnect(p, rc == -ECONNRESET ? "it closed the connection" :
				 rc == -EPROTO ? "a malformed message" : strerror(-rc));
		return;
	}
	mutates = pvb_vu_request_mutates(m.hdr.request);
	if (mutates)
		vhost_take(p);
	rc = pvb_vu_backend_handle(&p->be, &m, fds, nfds, &reply);
	if (rc < 0) {
		LOG(ERR, "%s: front-end message %s refused: %s; connection closed", p->iface,
		    pvb_vu_request_str(m.hdr.request), p->be.error);
		pvb_counter_add(&p->bad_messages, 1);
		vhost_disconnect(p, "a refused message");
		return;
	}
	if (rc == 1 && pvb_vu_send(p->conn_fd, &reply, NULL, 0) != 0) {
		vhost_disconnect(p, "the reply could not be sent");
		return;
	}
	if (mutates)
		vhost_give(p);
}

/* A burst found a vring broken: the front-end must set the device up again. */
static void
vhost_check_broken(struct vhost_port *p)
{
	unsigned int i;

	/* relaxed: a flag the bursts raise; the fault codes are read after taking the vrings */
	if (!pvb_load_relaxed(&p->broken))
		return;
	vhost_take(p);
	pvb_store_relaxed(&p->broken, 0);	/* relaxed: no burst runs now */
	for (i = 0; i < 2u * p->queues; i++)
		if (p->be.vr[i].q.needs_reset)
			LOG(ERR, "%s: vring %u broken by the driver: %s", p->iface, i,
			    pvb_virtq_fault_str(p->be.vr[i].q.fault));
	pvb_counter_add(&p->ring_broken, 1);
	vhost_disconnect(p, "a vring broken");
}

void *
vhost_ctrl_thread(void *arg)
{
	struct vhost_port *p = arg;
	struct pollfd pfd[2];
	nfds_t n;

	while (!pvb_ctrl_stopping(&p->ctrl)) {
		if (p->conn_fd < 0 && p->client) {
			vhost_try_connect(p);
			continue;
		}
		n = 0;
		if (p->conn_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = p->conn_fd, .events = POLLIN };
		if (p->listen_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = p->listen_fd, .events = POLLIN };
		if (poll(pfd, n, POLL_MS) > 0) {
			if (p->conn_fd >= 0 && pfd[0].revents != 0)
				vhost_message(p);
			else if (p->listen_fd >= 0 && pfd[n - 1].revents != 0)
				vhost_accept(p);
		}
		if (p->conn_fd >= 0)
			vhost_check_broken(p);
	}
	if (p->conn_fd >= 0)
		vhost_disconnect(p, "the port is closed");
	return NULL;
}

int
vhost_listen(struct vhost_port *p)
{
	int fd = pvb_vu_listen(p->iface);

	if (fd < 0) {
		LOG(ERR, "%s: cannot listen: %s", p->iface,
		    fd == -EADDRINUSE ? "another process listens on this socket" : strerror(-fd));
		return fd;
	}
	p->listen_fd = fd;
	return 0;
}
