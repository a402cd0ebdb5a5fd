/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The control thread of a port and the session it drives: the socket
 * (connect again and again with server=0, accept with server=1), the
 * negotiation, the memory table and the vrings, in the order DPDK's
 * virtio_user sends them (vhost-user.rst, "Starting and stopping rings"):
 *
 *   SET_OWNER, GET_FEATURES, [GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM],
 *   SET_FEATURES, [SET_STATUS FEATURES_OK], SET_MEM_TABLE,
 *   SET_VRING_CALL for every vring, then for each: SET_VRING_NUM,
 *   SET_VRING_BASE 0, SET_VRING_ADDR, SET_VRING_KICK,
 *   [SET_VRING_ENABLE 1 for every vring], [SET_STATUS DRIVER_OK]
 *
 * The link is up while a session is. When the back-end goes (its socket
 * closes, it breaks a vring, the port stops), the vrings are taken back
 * from the bursts, every mbuf they held is freed, and with server=0 the
 * thread connects again while the port is started.
 */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal_memconfig.h>
#include <rte_ethdev.h>

#include "virtio.h"

#define POLL_MS		100	/* how long the thread waits before it looks again */
#define RECONNECT_MS	200	/* server=0: between connection attempts */
#define REPLY_MS	5000	/* a back-end maps the table before it answers */

/* The protocol features the port uses when the back-end offers them. */
#define PF_WANTED	((1ull << PVB_VU_PF_MQ) | (1ull << PVB_VU_PF_REPLY_ACK) | \
			 (1ull << PVB_VU_PF_STATUS))
#define STATUS_FEATURES	(PVB_VIRTIO_STATUS_ACKNOWLEDGE | PVB_VIRTIO_STATUS_DRIVER | \
			 PVB_VIRTIO_STATUS_FEATURES_OK)

void
virtio_lock(struct virtio_port *p)
{
	rte_mcfg_mem_read_lock();
	pthread_mutex_lock(&p->lock);
}

void
virtio_unlock(struct virtio_port *p)
{
	pthread_mutex_unlock(&p->lock);
	rte_mcfg_mem_read_unlock();
}

static void
virtio_link(struct virtio_port *p, bool up)
{
	if (rte_eth_devices[p->port_id].data->dev_link.link_status != up)
		LOG(INFO, "%s: link %s", p->name, up ? "up" : "down");
	pvb_eth_link_set(p->port_id, up);
}

static bool
has(uint64_t features, unsigned int bit)
{
	return (features >> bit) & 1;
}

/* ---- the session ------------------------------------------------------------------ */

/* Features: what the port asks (devargs) and the back-end offers; 0 if it cannot drive it. */
static uint64_t
virtio_want(struct virtio_port *p, uint64_t offered)
{
	uint64_t f = (1ull << PVB_VIRTIO_F_VERSION_1) | (1ull << PVB_VIRTIO_F_EVENT_IDX) |
		     (1ull << PVB_VHOST_USER_F_PROTOCOL_FEATURES);

	if (!has(offered, PVB_VIRTIO_F_VERSION_1)) {
		LOG_SETUP(p, "%s: the back-end does not offer VIRTIO_F_VERSION_1 (features %#" PRIx64
		    "); legacy devices are not driven", p->name, offered);
		return 0;
	}
	if (p->mrg_rxbuf)
		f |= 1ull << PVB_VIRTIO_NET_F_MRG_RXBUF;
	if (p->in_order)
		f |= 1ull << PVB_VIRTIO_F_IN_ORDER;
	if (p->queues > 1)
		f |= 1ull << PVB_VIRTIO_NET_F_MQ;
	if (p->queues > 1 && !has(offered, PVB_VIRTIO_NET_F_MQ)) {
		LOG_SETUP(p, "%s: queues=%u, but the back-end offers no VIRTIO_NET_F_MQ", p->name,
		    p->queues);
		return 0;
	}
	if (p->offload)
		f |= (1ull << PVB_VIRTIO_NET_F_CSUM) | (1ull << PVB_VIRTIO_NET_F_HOST_TSO4) |
		     (1ull << PVB_VIRTIO_NET_F_HOST_TSO6) | (1ull << PVB_VIRTIO_NET_F_GUEST_CSUM);
	/* a 64 KB GSO frame is received into mergeable buffers only (VIRTIO 1.2 §5.1.6.3) */
	if (p->offload && p->mrg_rxbuf)
		f |= (1ull << PVB_VIRTIO_NET_F_GUEST_TSO4) | (1ull << PVB_VIRTIO_NET_F_GUEST_TSO6);
	f &= offered;
	/* TSO without its checksum feature must not be acked (VIRTIO 1.2 §5.1.3.1) */
	if (!has(f, PVB_VIRTIO_NET_F_CSUM))
		f &= ~((1ull << PVB_VIRTIO_NET_F_HOST_TSO4) | (1ull << PVB_VIRTIO_NET_F_HOST_TSO6));
	if (!has(f, PVB_VIRTIO_NET_F_GUEST_CSUM) || !has(f, PVB_VIRTIO_NET_F_MRG_RXBUF))
		f &= ~((1ull << PVB_VIRTIO_NET_F_GUEST_TSO4) | (1ull << PVB_VIRTIO_NET_F_GUEST_TSO6));
	return f;
}

/* The vhost-user steps before the vrings. 0 or -errno. */
static int
virtio_negotiate(struct virtio_port *p)
{
	struct pvb_vu_frontend *f = &p->fe;
	uint64_t offered, pf = 0, nq;
	int rc;

	rc = pvb_vu_front_set_u64(f, PVB_VU_SET_OWNER, 0);
	if (rc == 0)
		rc = pvb_vu_front_get_u64(f, PVB_VU_GET_FEATURES, &offered);
	if (rc != 0)
		return rc;
	p->features = virtio_want(p, offered);
	if (p->features == 0)
		return -ENOTSUP;
	if (has(p->features, PVB_VHOST_USER_F_PROTOCOL_FEATURES)) {
		rc = pvb_vu_front_get_u64(f, PVB_VU_GET_PROTOCOL_FEATURES, &pf);
		if (rc == 0)
			rc = pvb_vu_front_set_u64(f, PVB_VU_SET_PROTOCOL_FEATURES, pf & PF_WANTED);
		if (rc != 0)
			return rc;
		p->protocol_features = pf & PF_WANTED;
	}
	if (p->queues > 1) {
		if (!has(p->protocol_features, PVB_VU_PF_MQ)) {
			LOG_SETUP(p, "%s: queues=%u, but the back-end offers no MQ protocol feature",
			    p->name, p->queues);
			return -ENOTSUP;
		}
		rc = pvb_vu_front_get_u64(f, PVB_VU_GET_QUEUE_NUM, &nq);
		if (rc != 0)
			return rc;
		if (nq < p->queues) {
			LOG_SETUP(p, "%s: queues=%u, but the back-end has %" PRIu64 " queue pairs",
			    p->name, p->queues, nq);
			return -ENOTSUP;
		}
	}
	rc = pvb_vu_front_set_u64(f, PVB_VU_SET_FEATURES, p->features);
	if (rc == 0 && has(p->protocol_features, PVB_VU_PF_STATUS))
		rc = pvb_vu_front_set_u64(f, PVB_VU_SET_STATUS, STATUS_FEATURES);
	return rc;
}

/* Fresh rings for vring @p i, with new eventfds. */
static int
virtio_ring_reset(struct virtio_port *p, unsigned int i)
{
	struct virtio_ring *r = &p->ring[i];
	size_t total = r->used_off + 6 + 8u * p->queue_size;
	int rc;

	memset(r->mem, 0, total);
	r->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->kick_fd < 0 || r->call_fd < 0)
		return -errno;
	rc = pvb_virtq_drv_init(&r->d, p->queue_size, r->mem, r->mem + r->avail_off,
				r->mem + r->used_off, r->extra, p->features);
	if (rc == 0)
		virtio_ring_quiet(r);	/* the bursts poll */
	return rc;
}

static int
virtio_vring_send(struct virtio_port *p, unsigned int i)
{
	struct virtio_ring *r = &p->ring[i];
	struct pvb_vu_frontend *f = &p->fe;
	struct pvb_vu_vring_addr a = {
		.index = i,
		.desc = (uintptr_t)r->mem,
		.avail = (uintptr_t)(r->mem + r->avail_off),
		.used = (uintptr_t)(r->mem + r->used_off),
	};
	int rc;

	rc = pvb_vu_front_set_vring_state(f, PVB_VU_SET_VRING_NUM, i, p->queue_size);
	if (rc == 0)
		rc = pvb_vu_front_set_vring_state(f, PVB_VU_SET_VRING_BASE, i, 0);
	if (rc == 0)
		rc = pvb_vu_front_set_vring_addr(f, &a);
	if (rc == 0)
		rc = pvb_vu_front_set_vring_fd(f, PVB_VU_SET_VRING_KICK, i, r->kick_fd);
	return rc;
}

/* Everything from SET_OWNER to DRIVER_OK; the vrings handed to the bursts. 0 or -errno. */
static int
virtio_setup(struct virtio_port *p)
{
	unsigned int nr = 2u * p->queues, i, q;
	int rc;

	pvb_vu_front_init(&p->fe, p->conn_fd, REPLY_MS);
	pvb_store_relaxed(&p->broken, 0);	/* relaxed: no burst runs; a new session */
	p->features = p->protocol_features = 0;
	p->ntable = 0;
	rc = virtio_negotiate(p);
	if (rc == 0)
		rc = virtio_mem_update(p);
	for (i = 0; i < nr && rc == 0; i++)
		rc = virtio_ring_reset(p, i);
	for (q = 0; q < p->queues && rc == 0; q++) {
		struct virtio_rxq *rx = &p->rxq[q];

		rx->hdr_len = pvb_vnet_hdr_len(p->features);
		rx->mrg_rxbuf = has(p->features, PVB_VIRTIO_NET_F_MRG_RXBUF);
		rx->accept = pvb_vnet_accept(p->features, true);
		p->txq[q].hdr_len = rx->hdr_len;
		p->txq[q].accept = pvb_vnet_accept(p->features, false);
		p->txq[q].ol_mask = PVB_VNET_TX_REQ | RTE_MBUF_F_TX_VLAN;
		rc = virtio_rx_fill(rx);
	}
	for (i = 0; i < nr && rc == 0; i++)
		rc = pvb_vu_front_set_vring_fd(&p->fe, PVB_VU_SET_VRING_CALL, i,
					       p->ring[i].call_fd);
	for (i = 0; i < nr && rc == 0; i++)
		rc = virtio_vring_send(p, i);
	if (has(p->features, PVB_VHOST_USER_F_PROTOCOL_FEATURES))
		for (i = 0; i < nr && rc == 0; i++)
			rc = pvb_vu_front_set_vring_state(&p->fe, PVB_VU_SET_VRING_ENABLE, i, 1);
	if (rc == 0 && has(p->protocol_features, PVB_VU_PF_STATUS))
		rc = pvb_vu_front_set_u64(&p->fe, PVB_VU_SET_STATUS,
					  STATUS_FEATURES | PVB_VIRTIO_STATUS_DRIVER_OK);
	if (rc != 0) {
		if (rc != -ENOTSUP && rc != -ENOSPC)
			LOG_SETUP(p, "%s: session set-up failed: %s", p->name,
			    p->fe.error[0] != '\0' ? p->fe.error : strerror(-rc));
		return rc;
	}
	for (q = 0; q < p->queues; q++) {
		p->rxq[q].r = &p->ring[2 * q];
		p->txq[q].r = &p->ring[2 * q + 1];
	}
	p->session = true;
	pvb_handover_give(&p->state, VIRTIO_RUN);
	for (q = 0; q < p->queues; q++)
		if (pvb_rxintr_bind(&p->intr, q, p->ring[2 * q].call_fd) != 0)
			LOG(WARNING, "%s: queue %u: the call fd cannot join the rx interrupt set: "
			    "a sleeping application wakes only on its timeout", p->name, q);
	LOG(NOTICE, "%s: session up: features %#" PRIx64 ", protocol features %#" PRIx64
	    ", %u queue pair(s) of %u", p->name, p->features, p->protocol_features, p->queues,
	    p->queue_size);
	virtio_link(p, true);
	return 0;
}

/* The back-end is gone or must go: every vring taken back, every mbuf freed (lock held). */
void
virtio_end(struct virtio_port *p, const char *why)
{
	unsigned int i, q;
	uint32_t base;

	pvb_handover_take(&p->state, VIRTIO_DOWN, p->act, RTE_DIM(p->act));
	/* a back-end still there stops using our buffers before they are freed */
	if (p->session && why != NULL)
		for (i = 0; i < 2u * p->queues; i++)
			if (pvb_vu_front_get_vring_base(&p->fe, i, &base) != 0)
				break;
	for (q = 0; q < p->queues; q++) {
		pvb_rxintr_bind(&p->intr, q, -1);	/* a sleeper looks: the link went */
		virtio_rx_release(&p->rxq[q]);
		virtio_tx_release(&p->txq[q]);
		p->rxq[q].r = NULL;
		p->txq[q].r = NULL;
	}
	for (i = 0; i < 2u * p->queues; i++) {
		struct virtio_ring *r = &p->ring[i];

		if (r->kick_fd >= 0)
			close(r->kick_fd);
		if (r->call_fd >= 0)
			close(r->call_fd);
		r->kick_fd = r->call_fd = -1;
	}
	p->session = false;
	p->ntable = 0;
	p->backoff = true;
	if (p->conn_fd >= 0) {
		close(p->conn_fd);
		p->conn_fd = -1;
		pvb_counter_add(&p->disconnects, 1);
		rte_log(p->setup_failed ? RTE_LOG_DEBUG : RTE_LOG_NOTICE, virtio_logtype,
			"net_pvb_virtio: %s: back-end session closed (%s)\n", p->name,
			why != NULL ? why : "the back-end closed the connection");
	}
	virtio_link(p, false);
}

/* ---- the socket ------------------------------------------------------------------- */

static void
virtio_connected(struct virtio_port *p, int fd)
{
	p->conn_fd = fd;
	p->waiting_logged = false;
	pvb_counter_add(&p->connects, 1);
	if (pvb_counter_read(&p->connects) > 1)
		pvb_counter_add(&p->reconnects, 1);
	rte_log(p->setup_failed ? RTE_LOG_DEBUG : RTE_LOG_NOTICE, virtio_logtype,
		"net_pvb_virtio: %s: back-end connected\n", p->name);
}

/* server=0: one attempt; false if the back-end is not there yet. */
static bool
virtio_try_connect(struct virtio_port *p)
{
	int fd = pvb_vu_connect(p->path);

	if (fd >= 0) {
		virtio_connected(p, fd);
		return true;
	}
	if (!p->waiting_logged) {
		LOG(INFO, "%s: waiting for a back-end on %s (%s); retrying every %u ms", p->name,
		    p->path, strerror(-fd), RECONNECT_MS);
		p->waiting_logged = true;
	}
	return false;
}

/* server=1: a back-end connects; a second one while the first is there is turned away. */
static void
virtio_accept(struct virtio_port *p)
{
	int fd = pvb_vu_accept(p->listen_fd);

	if (fd < 0)
		return;
	if (p->conn_fd >= 0) {
		LOG(WARNING, "%s: a second back-end connected; it is turned away", p->name);
		close(fd);
		return;
	}
	virtio_connected(p, fd);
}

/* The back-end wrote to the main channel: it closed it, or sent what it must not. */
static void
virtio_readable(struct virtio_port *p)
{
	struct pollfd pfd = { .fd = p->conn_fd, .events = POLLIN };
	struct pvb_vu_msg m;
	int fds[PVB_VU_MAX_FDS];
	uint32_t nfds = 0, i;
	int rc;

	/* a reply someone else waited for under the lock was taken: nothing left */
	if (poll(&pfd, 1, 0) <= 0)
		return;
	rc = pvb_vu_recv(p->conn_fd, &m, fds, &nfds);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (rc == 0) {
		LOG(WARNING, "%s: unexpected %s from the back-end; ignored", p->name,
		    pvb_vu_request_str(m.hdr.request));
		return;
	}
	virtio_end(p, rc == -ECONNRESET ? NULL : "the back-end sent a malformed message");
}

/* A burst found a vring broken by the back-end, or the table could not be sent. */
static void
virtio_check_broken(struct virtio_port *p)
{
	bool ring = false;
	unsigned int i;

	/* relaxed: a flag the bursts raise; the faults are read after taking the vrings */
	if (!pvb_load_relaxed(&p->broken))
		return;
	pvb_handover_take(&p->state, VIRTIO_DOWN, p->act, RTE_DIM(p->act));
	pvb_store_relaxed(&p->broken, 0);	/* relaxed: no burst runs now */
	for (i = 0; i < 2u * p->queues; i++)
		if (p->ring[i].d.broken) {
			LOG(ERR, "%s: vring %u broken by the back-end: %s", p->name, i,
			    pvb_virtq_fault_str(p->ring[i].d.fault));
			ring = true;
		}
	if (ring)
		pvb_counter_add(&p->ring_broken, 1);
	virtio_end(p, ring ? "a vring broken by the back-end" :
		   "the memory table could not follow the memory");
}

/* One step while holding the session; false when the thread should wait before the next. */
static bool
virtio_step(struct virtio_port *p)
{
	if (p->conn_fd < 0 && p->backoff) {
		/* a back-end that just died may still have its socket open for a moment */
		p->backoff = false;
		return false;
	}
	if (p->conn_fd < 0 && !p->server && p->started && !virtio_try_connect(p))
		return false;
	if (p->conn_fd >= 0 && p->started && !p->session) {
		if (virtio_setup(p) != 0) {
			pvb_counter_add(&p->session_failures, 1);
			virtio_end(p, "the set-up failed");
			p->setup_failed = true;
			return false;
		}
		p->setup_failed = false;
	}
	if (p->session)
		virtio_check_broken(p);
	return true;
}

void
virtio_session_start(struct virtio_port *p)
{
	virtio_lock(p);
	p->started = true;
	virtio_unlock(p);
}

void
virtio_session_stop(struct virtio_port *p)
{
	virtio_lock(p);
	p->started = false;
	if (p->conn_fd >= 0 || p->session)
		virtio_end(p, "the port stopped");
	virtio_unlock(p);
}

void *
virtio_ctrl_thread(void *arg)
{
	struct virtio_port *p = arg;
	struct pollfd pfd[2];
	nfds_t n;
	bool go;

	while (!pvb_ctrl_stopping(&p->ctrl)) {
		virtio_lock(p);
		go = virtio_step(p);
		n = 0;
		if (p->conn_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = p->conn_fd, .events = POLLIN };
		if (p->listen_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = p->listen_fd, .events = POLLIN };
		virtio_unlock(p);
		if (!go) {
			rte_delay_us_sleep(RECONNECT_MS * 1000);
			continue;
		}
		if (poll(pfd, n, POLL_MS) <= 0)
			continue;
		virtio_lock(p);
		/* the fds may have changed while unlocked: look at the port's own */
		if (p->conn_fd >= 0 && pfd[0].fd == p->conn_fd && pfd[0].revents != 0)
			virtio_readable(p);
		else if (p->listen_fd >= 0 && pfd[n - 1].fd == p->listen_fd &&
			 pfd[n - 1].revents != 0)
			virtio_accept(p);
		virtio_unlock(p);
	}
	virtio_lock(p);
	if (p->conn_fd >= 0 || p->session)
		virtio_end(p, "the port is closed");
	virtio_unlock(p);
	return NULL;
}
