/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The guest port's control thread: connects to the host's socket (and
 * keeps trying while it is not there), builds the region when the host
 * offers a channel, opens it, runs the NVSP/RNDIS set-up in the rings, then
 * hands the rings to the bursts. When the host goes (RESCIND, CLOSE, EOF),
 * it takes the channel back, drops it and starts connecting again.
 */

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "netvsc.h"

extern int netvsc_logtype;
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, netvsc_logtype, "net_pvb_netvsc: " fmt "\n", ##__VA_ARGS__)

#define NETVSC_NREC	4096	/* host transfer-page packets held at once */

void
netvsc_link_update_now(struct netvsc_port *p)
{
	/* relaxed: a status report, orders nothing */
	nvchan_link_set(p->port_id, pvb_load_relaxed(&p->state) == NVCHAN_DATA &&
				    pvb_load_relaxed(&p->link_up));
}

uint32_t
netvsc_filter_wanted(const struct netvsc_port *p)
{
	uint32_t f = PVB_RNDIS_FILTER_DIRECTED | PVB_RNDIS_FILTER_BROADCAST |
		     PVB_RNDIS_FILTER_ALL_MULTICAST;

	if (!p->started)
		return 0;
	return p->promisc ? f | PVB_RNDIS_FILTER_PROMISCUOUS : f;
}

/* The region, its rings and doorbells, as the host's offer allows. */
static int
netvsc_build(struct netvsc_port *p, struct pvb_chan_open *o, int fds[PVB_CHAN_OPEN_FDS])
{
	const struct pvb_chan_offer *of = &p->gc.offer;
	uint64_t ring = (uint64_t)p->ring_kb << 10, rxb = (uint64_t)p->rxbuf_mb << 20;
	uint64_t txb = (uint64_t)p->txbuf_mb << 20, size = 2 * ring + rxb + txb;
	struct nvchan *ch;
	int rc;

	if (ring > of->max_ring_bytes || size > of->max_region_bytes) {
		LOG(ERR, "%s: host allows rings of %u bytes and %" PRIu64 " bytes in all; "
		    "ring_kb=%u and the buffers need more", p->path, of->max_ring_bytes,
		    of->max_region_bytes, p->ring_kb);
		return -E2BIG;
	}
	ch = nvchan_new("netvsc", NETVSC_NREC, p->socket_id);
	if (ch == NULL)
		return -ENOMEM;
	rc = pvb_shm_create(&ch->shm, "pvb-netvsc", size, 0, p->socket_id);
	if (rc == 0) {
		ch->bell_peer = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ch->bell_self = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (ch->bell_peer < 0 || ch->bell_self < 0)
			rc = -errno;
	}
	/* our tx ring is first; the host's is second */
	if (rc == 0)
		rc = nvchan_attach_rings(ch, ring, (uint32_t)ring, 0, (uint32_t)ring);
	if (rc != 0) {
		nvchan_put(ch);
		return rc;
	}
	*o = (struct pvb_chan_open){
		.chan_id = of->chan_id,
		.region_size = ch->shm.len,
		.tx = { .offset = 0, .size = (uint32_t)ring },
		.rx = { .offset = ring, .size = (uint32_t)ring },
		.n_gpadl = 2,
		.gpadl = {
			{ .id = NETVSC_GPADL_RX, .offset = 2 * ring, .size = rxb },
			{ .id = NETVSC_GPADL_TX, .offset = 2 * ring + rxb, .size = txb },
		},
	};
	fds[PVB_CHAN_FD_REGION] = ch->shm.fd;
	fds[PVB_CHAN_FD_HOST_BELL] = ch->bell_peer;
	fds[PVB_CHAN_FD_GUEST_BELL] = ch->bell_self;
	p->rxbuf = ch->shm.base + 2 * ring;
	p->rxbuf_len = rxb;
	p->sendbuf = p->rxbuf + rxb;
	p->sendbuf_len = txb;
	p->mtu = of->mtu;
	if (!p->mac_given)
		memcpy(rte_eth_devices[p->port_id].data->mac_addrs->addr_bytes, of->mac, 6);
	p->ch = ch;
	return 0;
}

static void
netvsc_offer(struct netvsc_port *p)
{
	struct pvb_chan_open o;
	int fds[PVB_CHAN_OPEN_FDS];
	int rc = netvsc_build(p, &o, fds);

	if (rc == 0)
		rc = pvb_chan_guest_open(&p->gc, &o, fds);
	if (rc != 0) {
		LOG(ERR, "%s: cannot open the channel: %s", p->path, strerror(-rc));
		pvb_chan_guest_close(&p->gc);
	}
}

static void
netvsc_opened(struct netvsc_port *p)
{
	struct pvb_vsc_config cfg = {
		.mtu = p->mtu,
		.recv_gpadl = NETVSC_GPADL_RX,
		.send_gpadl = NETVSC_GPADL_TX,
	};

	pvb_vsc_init(&p->vsc, &cfg);
	pvb_vsc_set_filter(&p->vsc, netvsc_filter_wanted(p));
	p->cur_rec = NULL;
	p->have_act = false;
	/* relaxed: the bursts do not run in CTRL */
	pvb_store_relaxed(&p->broken, 0);
	p->ctrl_deadline = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
	/* pairs with the seq_cst load in nvchan_enter(): ch and the VSC are set */
	pvb_store_seqcst(&p->state, NVCHAN_CTRL);
	pvb_counter_add(&p->connects, 1);
	LOG(INFO, "%s: channel %u open", p->path, p->gc.offer.chan_id);
}

/* Take the channel back from the bursts and drop it. */
static void
netvsc_teardown(struct netvsc_port *p)
{
	struct nvchan *ch = p->ch;

	if (ch == NULL)
		return;
	nvchan_quiesce(&p->state, NVCHAN_DOWN, p->act_flags, RTE_DIM(p->act_flags));
	pvb_store_relaxed(&p->link_up, 0);
	netvsc_link_update_now(p);
	if (p->cur_rec != NULL)
		nvchan_rec_parsed(p->cur_rec);
	p->cur_rec = NULL;
	/* no burst runs now: the allocator and the held mbufs are ours */
	netvsc_tx_free(p);
	p->ch = NULL;
	p->rxbuf = NULL;
	p->sendbuf = NULL;
	nvchan_kill(ch);
	nvchan_put(ch);
	pvb_counter_add(&p->disconnects, 1);
	nvchan_xsnap_clear(&p->xsnap);
}

/*
 * Send what the VSC wants sent (in_lock held). An action that cannot go now
 * (no free section, ring full) is kept and sent again next round: the VSC
 * already waits for its answer.
 */
static int
netvsc_vsc_send(struct netvsc_port *p)
{
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	struct pvb_vsc_action *a = &p->act;
	int rc = 0;

	for (;;) {
		if (p->vsc.section_size != 0 && p->sect.n == 0 && netvsc_tx_setup(p) != 0)
			return -ENOMEM;
		if (!p->have_act) {
			pvb_vsc_next(&p->vsc, a);
			if (a->kind == PVB_VSC_ACT_NONE)
				return 0;
			p->have_act = true;
		}
		if (a->kind == PVB_VSC_ACT_RNDIS) {
			rc = netvsc_send_ctl(p, a);
		} else {
			rte_spinlock_lock(&p->ch->out_lock);
			rc = pvb_vmbus_out_inband(&p->ch->out, 0, a->want_comp ?
						  PVB_VMBUS_FLAG_COMPLETION_REQUESTED : 0, buf,
						  pvb_nvsp_encode(&a->nvsp, buf));
			if (rc == 0 && pvb_vmbus_out_commit(&p->ch->out))
				nvchan_signal(p->ch);
			rte_spinlock_unlock(&p->ch->out_lock);
		}
		if (rc != 0)
			return rc;
		p->have_act = false;
	}
}

static void
netvsc_fail(struct netvsc_port *p, const char *why)
{
	LOG(ERR, "%s: channel set-up failed: %s", p->path, why != NULL ? why : "?");
	pvb_chan_guest_close(&p->gc);
	netvsc_teardown(p);
}

/* A ring the bursts found broken: log why once, close and start again. */
static bool
netvsc_broken(struct netvsc_port *p)
{
	struct nvchan *ch = p->ch;

	/* relaxed: a flag the bursts raise; the fault codes are read after quiescing */
	if (!pvb_load_relaxed(&p->broken) && !pvb_vmbus_in_broken(&ch->in) &&
	    !pvb_vmbus_out_broken(&ch->out))
		return false;
	nvchan_quiesce(&p->state, NVCHAN_CTRL, p->act_flags, RTE_DIM(p->act_flags));
	LOG(ERR, "%s: the host broke the ring protocol (in: %s, out: %s); reconnecting",
	    p->path, pvb_vmbus_fault_str(ch->in.fault), pvb_vmbus_fault_str(ch->out.fault));
	pvb_counter_add(&p->ring_broken, 1);
	pvb_chan_guest_close(&p->gc);
	netvsc_teardown(p);
	return true;
}

static void
netvsc_ctrl_step(struct netvsc_port *p)
{
	struct nvchan *ch = p->ch;
	bool more;

	rte_spinlock_lock(&ch->in_lock);
	netvsc_vsc_send(p);
	rte_spinlock_unlock(&ch->in_lock);
	netvsc_events(p, NVCHAN_DROP, NULL, NULL, 0);
	if (p->vsc.state == PVB_VSC_FAILED) {
		netvsc_fail(p, p->vsc.why);
		return;
	}
	if (netvsc_broken(p))
		return;
	/* a host that stops answering must not hold the port for ever */
	if (rte_get_timer_cycles() > p->ctrl_deadline) {
		netvsc_fail(p, "the host did not finish the set-up within 10 s");
		return;
	}
	if (pvb_vsc_ready(&p->vsc)) {
		/* the host's limits for aggregation, now known */
		rte_spinlock_lock(&ch->out_lock);
		p->agg_max = RTE_MIN(p->section_size, p->vsc.max_xfer);
		p->agg_pkts = p->vsc.max_pkts_per_msg;
		p->align = p->vsc.align;
		rte_spinlock_unlock(&ch->out_lock);
		rte_spinlock_lock(&ch->in_lock);
		pvb_vmbus_in_set_mask(&ch->in, true);
		rte_spinlock_unlock(&ch->in_lock);
		/* relaxed: published by the seq_cst store below */
		pvb_store_relaxed(&p->link_up, p->vsc.link_up);
		pvb_store_seqcst(&p->state, NVCHAN_DATA);
		netvsc_link_update_now(p);
		LOG(INFO, "%s: up: MAC " RTE_ETHER_ADDR_PRT_FMT ", MTU %u, NVSP 0x%x, %u-byte "
		    "sections, %u packets per message", p->path,
		    RTE_ETHER_ADDR_BYTES(&p->mac), p->vsc.mtu, p->vsc.nvsp_ver,
		    p->section_size, p->agg_pkts);
		return;
	}
	rte_spinlock_lock(&ch->in_lock);
	more = pvb_vmbus_in_unmask_and_check(&ch->in);
	rte_spinlock_unlock(&ch->in_lock);
	if (!more)
		nvchan_wait(ch, p->gc.sock, 20);
}

/* In DATA: apply filter changes; poll for the bursts when nobody does. */
static void
netvsc_data_step(struct netvsc_port *p)
{
	struct nvchan *ch = p->ch;
	/* relaxed: a liveness hint; the rings are under their locks */
	uint32_t gen = pvb_load_relaxed(&p->poll_gen);
	uint32_t want = netvsc_filter_wanted(p);

	/* trylock: never spin against a burst that holds the ring; retry in 10 ms */
	if (rte_spinlock_trylock(&ch->in_lock)) {
		if (want != p->vsc.want_filter)
			pvb_vsc_set_filter(&p->vsc, want);
		netvsc_vsc_send(p);
		rte_spinlock_unlock(&ch->in_lock);
	}
	/*
	 * A poller descheduled for a while is not an idle port: drop frames
	 * only when the port is stopped or nobody polled for a second.
	 */
	p->idle_polls = gen == p->idle_gen ? p->idle_polls + 1 : 0;
	p->idle_gen = gen;
	if (!p->started || p->idle_polls >= 100)
		netvsc_events(p, NVCHAN_DROP, NULL, NULL, 0);
	if (p->vsc.state == PVB_VSC_FAILED) {
		netvsc_fail(p, p->vsc.why);
		return;
	}
	if (netvsc_broken(p))
		return;
	nvchan_xsnap_take(p->ch, &p->sect, &p->xsnap);
	netvsc_link_update_now(p);
	nvchan_wait(NULL, p->gc.sock, 10);
}

static void
netvsc_connect(struct netvsc_port *p)
{
	int fd;

	if (rte_get_timer_cycles() < p->retry_at) {
		nvchan_wait(NULL, -1, 20);
		return;
	}
	fd = pvb_chan_connect(p->path);
	if (fd < 0) {
		if (!p->said_waiting)
			LOG(NOTICE, "%s: no host yet (%s); retrying every 100 ms", p->path,
			    strerror(-fd));
		p->said_waiting = true;
		p->retry_at = rte_get_timer_cycles() + rte_get_timer_hz() / 10;
		return;
	}
	p->said_waiting = false;
	if (pvb_chan_guest_start(&p->gc, fd) != 0)
		close(fd);
}

/*
 * Orderly goodbye before closing (spec §5.4 teardown): packet filter 0,
 * RNDIS HALT, revoke both buffers; bounded by 200 ms.
 */
static void
netvsc_halt(struct netvsc_port *p)
{
	struct nvchan *ch = p->ch;
	int i;

	/* relaxed: only this thread writes state */
	if (ch == NULL || pvb_load_relaxed(&p->state) != NVCHAN_DATA)
		return;
	nvchan_quiesce(&p->state, NVCHAN_CTRL, p->act_flags, RTE_DIM(p->act_flags));
	rte_spinlock_lock(&ch->in_lock);
	pvb_vsc_halt(&p->vsc);
	rte_spinlock_unlock(&ch->in_lock);
	/* HALTED at once; done when the teardown steps are sent and answered */
	for (i = 0; i < 200 && p->vsc.state == PVB_VSC_HALTED &&
	     (p->vsc.query_step != 0 || p->vsc.sent || p->have_act); i++) {
		rte_spinlock_lock(&ch->in_lock);
		netvsc_vsc_send(p);
		rte_spinlock_unlock(&ch->in_lock);
		netvsc_events(p, NVCHAN_DROP, NULL, NULL, 0);
		nvchan_wait(ch, -1, 1);
	}
}

void *
netvsc_ctrl_thread(void *arg)
{
	struct netvsc_port *p = arg;

	/* relaxed: a stop request; the thread is joined after it */
	while (!pvb_load_relaxed(&p->stop)) {
		if (p->gc.state == PVB_CHAN_G_IDLE || p->gc.state == PVB_CHAN_G_CLOSED) {
			netvsc_teardown(p);
			netvsc_connect(p);
			continue;
		}
		switch (pvb_chan_guest_poll(&p->gc)) {
		case PVB_CHAN_EV_OFFER:
			netvsc_offer(p);
			break;
		case PVB_CHAN_EV_OPENED:
			netvsc_opened(p);
			break;
		case PVB_CHAN_EV_CLOSED:
			/* a host that keeps refusing us is said once, not every retry */
			if (p->ch != NULL || !p->said_refused)
				LOG(NOTICE, "%s: host gone (%s%s%s)", p->path,
				    p->gc.why != NULL ? p->gc.why : "closed",
				    p->gc.peer_reason[0] != '\0' ? ": " : "",
				    p->gc.peer_reason);
			p->said_refused = p->ch == NULL;
			netvsc_teardown(p);
			p->retry_at = rte_get_timer_cycles() + rte_get_timer_hz() / 10;
			continue;
		default:
			break;
		}
		/* relaxed: only this thread writes state */
		switch (pvb_load_relaxed(&p->state)) {
		case NVCHAN_CTRL:
			netvsc_ctrl_step(p);
			break;
		case NVCHAN_DATA:
			netvsc_data_step(p);
			break;
		default:
			nvchan_wait(NULL, p->gc.sock, 20);
		}
	}
	netvsc_halt(p);
	pvb_chan_guest_close(&p->gc);
	netvsc_teardown(p);
	return NULL;
}
