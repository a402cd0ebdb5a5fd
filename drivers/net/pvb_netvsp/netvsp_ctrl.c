/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The host port's control thread: accepts a guest on the unix socket,
 * offers the channel, maps the region the guest opens it with, runs the
 * NVSP/RNDIS set-up in the rings, then hands the rings to the bursts. When
 * the guest goes (CLOSE, EOF, a protocol error), it takes the channel back
 * from the bursts, drops it (mbufs still out keep the region mapped until
 * they are freed) and waits for the next guest. It also polls the rings
 * while the port is not polled, so the guest is never left waiting.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "netvsp.h"

extern int netvsp_logtype;
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, netvsp_logtype, "net_pvb_netvsp: " fmt "\n", ##__VA_ARGS__)

#define NETVSP_NREC		8192		/* guest packets held at once */
#define NETVSP_SECTION_DEFAULT	32768		/* send section offered by default */
#define NETVSP_MAX_RING		(64u << 20)
#define NETVSP_MAX_REGION	(4ull << 30)

void
netvsp_link_update_now(struct netvsp_port *p)
{
	/* relaxed: a status report, orders nothing */
	nvchan_link_set(p->port_id, pvb_load_relaxed(&p->state) == NVCHAN_DATA);
}

static int
netvsp_gpadl_size(void *arg, uint32_t id, uint64_t *size)
{
	const struct pvb_chan_gpadl *g = pvb_chan_gpadl_find(arg, id);

	if (g == NULL)
		return -ENOENT;
	*size = g->size;
	return 0;
}

static void
netvsp_vsp_start(struct netvsp_port *p)
{
	/*
	 * 32 KiB sections holding up to 64 frames: a guest packet, a record and a
	 * completion per section cost the same for 1 frame or 20, so big
	 * sections carry 1500-byte frames ~1.6x faster than OpenVMM's 6144/8.
	 */
	struct pvb_vsp_config cfg = {
		.mtu = p->mtu,
		.max_pkts_per_msg = 64,
		.send_section_size = p->section_size != 0 ? p->section_size :
				     RTE_MAX(NETVSP_SECTION_DEFAULT,
					     RTE_ALIGN_CEIL(p->mtu + 256, 64)),
	};

	memcpy(cfg.mac, p->guest_mac, sizeof(cfg.mac));
	pvb_vsp_init(&p->vsp, &cfg, netvsp_gpadl_size, &p->open);
	p->rxbuf = NULL;
	p->sendbuf = NULL;
	pvb_store_relaxed(&p->filter, 0);
	/* nothing is published yet: the bursts do not run in CTRL */
	pvb_store_relaxed(&p->rx_enabled, 0);
}

/* The guest's OPEN: map its region and rings, or refuse with a reason. */
static void
netvsp_open(struct netvsp_port *p)
{
	struct pvb_chan_msg *m = &p->hc.msg;
	const struct pvb_chan_open *o = &m->u.open;
	struct nvchan *ch;
	int rc;

	ch = nvchan_new("netvsp", NETVSP_NREC, p->socket_id);
	if (ch == NULL) {
		pvb_chan_host_refuse(&p->hc, -ENOMEM, "host out of memory");
		return;
	}
	rc = pvb_shm_attach(&ch->shm, m->fds[PVB_CHAN_FD_REGION], o->region_size);
	if (rc != 0) {
		nvchan_put(ch);
		LOG(ERR, "%s: refused the guest's region: %s", p->path, strerror(-rc));
		pvb_chan_host_refuse(&p->hc, rc, rc == -EPERM ? "region is not size-sealed" :
				     "region smaller than announced or not mappable");
		return;
	}
	m->fds[PVB_CHAN_FD_REGION] = -1;
	ch->bell_self = m->fds[PVB_CHAN_FD_HOST_BELL];
	ch->bell_peer = m->fds[PVB_CHAN_FD_GUEST_BELL];
	m->fds[PVB_CHAN_FD_HOST_BELL] = -1;
	m->fds[PVB_CHAN_FD_GUEST_BELL] = -1;
	/* the guest's tx ring is our incoming one */
	rc = nvchan_attach_rings(ch, o->tx.offset, o->tx.size, o->rx.offset, o->rx.size);
	if (rc != 0) {
		nvchan_put(ch);
		pvb_chan_host_refuse(&p->hc, rc, "rings do not attach");
		return;
	}
	p->open = *o;
	netvsp_vsp_start(p);
	p->ch = ch;
	/* relaxed: the bursts do not run in CTRL */
	pvb_store_relaxed(&p->broken, 0);
	p->ctrl_deadline = rte_get_timer_cycles() + 30 * rte_get_timer_hz();
	pvb_chan_host_accept(&p->hc);
	/* pairs with the seq_cst load in nvchan_enter(): ch and the VSP are set */
	pvb_store_seqcst(&p->state, NVCHAN_CTRL);
	LOG(INFO, "%s: guest opened channel %u (%" PRIu64 " MB region)", p->path, o->chan_id,
	    o->region_size >> 20);
}

/* Take the channel back from the bursts and drop it. */
static void
netvsp_teardown(struct netvsp_port *p)
{
	struct nvchan *ch = p->ch;

	if (ch == NULL)
		return;
	nvchan_quiesce(&p->state, NVCHAN_DOWN, p->act, RTE_DIM(p->act));
	netvsp_link_update_now(p);
	/* no burst runs now: the allocator and a half-read guest packet are ours */
	if (p->cur_rec != NULL)
		nvchan_rec_parsed(p->cur_rec);
	p->cur_rec = NULL;
	netvsp_slots_free(p);
	p->rxbuf = NULL;
	p->sendbuf = NULL;
	pvb_store_relaxed(&p->rx_enabled, 0);
	p->ch = NULL;
	nvchan_kill(ch);
	nvchan_put(ch);
	pvb_counter_add(&p->disconnects, 1);
	nvchan_xsnap_clear(&p->xsnap);
}

static void
netvsp_offer(struct netvsp_port *p, int fd)
{
	struct pvb_chan_offer offer = {
		.chan_id = ++p->chan_seq,
		.mtu = p->mtu,
		.max_ring_bytes = NETVSP_MAX_RING,
		.max_region_bytes = NETVSP_MAX_REGION,
	};

	memcpy(offer.mac, p->guest_mac, sizeof(offer.mac));
	if (pvb_chan_host_start(&p->hc, fd, &offer) == 0)
		pvb_counter_add(&p->connects, 1);
}

/* A ring found broken: log why once, tell the guest, drop the channel. */
static bool
netvsp_broken(struct netvsp_port *p)
{
	struct nvchan *ch = p->ch;

	/* relaxed: a flag the bursts raise; the fault codes are read after quiescing */
	if (!pvb_load_relaxed(&p->broken) && !pvb_vmbus_in_broken(&ch->in) &&
	    !pvb_vmbus_out_broken(&ch->out))
		return false;
	nvchan_quiesce(&p->state, NVCHAN_CTRL, p->act, RTE_DIM(p->act));
	LOG(ERR, "%s: the guest broke the ring protocol (in: %s, out: %s); channel closed",
	    p->path, pvb_vmbus_fault_str(ch->in.fault), pvb_vmbus_fault_str(ch->out.fault));
	pvb_counter_add(&p->ring_broken, 1);
	pvb_chan_host_close(&p->hc, true);
	netvsp_teardown(p);
	return true;
}

/* Set-up in the rings; hand over to the bursts once RNDIS is up. */
static void
netvsp_ctrl_step(struct netvsp_port *p)
{
	struct nvchan *ch = p->ch;
	bool more;

	netvsp_events(p, NVCHAN_DROP, NULL, NULL, 0);
	if (p->vsp.state == PVB_VSP_FAILED) {
		LOG(ERR, "%s: guest broke the protocol: %s", p->path, p->vsp.why);
		pvb_chan_host_close(&p->hc, true);
		netvsp_teardown(p);
		return;
	}
	if (netvsp_broken(p))
		return;
	/* a guest that stops half way must not hold the port for ever */
	if (rte_get_timer_cycles() > p->ctrl_deadline) {
		LOG(ERR, "%s: the guest did not finish the set-up within 30 s", p->path);
		pvb_chan_host_close(&p->hc, true);
		netvsp_teardown(p);
		return;
	}
	if (p->vsp.state == PVB_VSP_RNDIS_READY && p->rxbuf != NULL && p->sendbuf != NULL) {
		/* the bursts poll from now on: the guest need not ring us */
		rte_spinlock_lock(&ch->in_lock);
		pvb_vmbus_in_set_mask(&ch->in, true);
		rte_spinlock_unlock(&ch->in_lock);
		/* the guest's media query was answered "connected" */
		p->media_said = true;
		pvb_store_seqcst(&p->state, NVCHAN_DATA);
		netvsp_link_update_now(p);
		LOG(INFO, "%s: guest up (NVSP 0x%x, %u receive slots of %u, %u send sections)",
		    p->path, p->vsp.nvsp_ver, p->vsp.slot_count, p->vsp.slot_size,
		    p->vsp.section_count);
		return;
	}
	rte_spinlock_lock(&ch->in_lock);
	more = pvb_vmbus_in_unmask_and_check(&ch->in);
	rte_spinlock_unlock(&ch->in_lock);
	if (!more)
		nvchan_wait(ch, p->hc.sock, 20);
}

/* In DATA: poll for the bursts when nobody does (port stopped, app idle). */
static void
netvsp_data_step(struct netvsp_port *p)
{
	/* relaxed: a liveness hint; the rings are under their locks */
	uint32_t gen = pvb_load_relaxed(&p->poll_gen);

	/*
	 * A poller descheduled for a while is not an idle port: drop frames
	 * only when the port is stopped or nobody polled for a second.
	 */
	p->idle_polls = gen == p->idle_gen ? p->idle_polls + 1 : 0;
	p->idle_gen = gen;
	if (!p->started || p->idle_polls >= 100)
		netvsp_events(p, NVCHAN_DROP, NULL, NULL, 0);
	if (p->vsp.state == PVB_VSP_FAILED) {
		LOG(ERR, "%s: guest broke the protocol: %s", p->path, p->vsp.why);
		pvb_chan_host_close(&p->hc, true);
		netvsp_teardown(p);
		return;
	}
	if (netvsp_broken(p))
		return;
	/* the guest's medium follows this port: disconnected while it is stopped */
	if (p->started != p->media_said && netvsp_indicate_link(p, p->started) == 0)
		p->media_said = p->started;
	nvchan_xsnap_take(p->ch, &p->slots, &p->xsnap);
	nvchan_wait(NULL, p->hc.sock, 10);
}

void *
netvsp_ctrl_thread(void *arg)
{
	struct netvsp_port *p = arg;
	int fd;

	/* relaxed: a stop request; the thread is joined after it */
	while (!pvb_load_relaxed(&p->stop)) {
		if (p->hc.state == PVB_CHAN_H_IDLE || p->hc.state == PVB_CHAN_H_CLOSED) {
			fd = pvb_chan_accept(p->lfd);
			if (fd < 0) {
				nvchan_wait(NULL, p->lfd, 100);
				continue;
			}
			netvsp_offer(p, fd);
			p->ctrl_deadline = rte_get_timer_cycles() + 30 * rte_get_timer_hz();
		} else if ((fd = pvb_chan_accept(p->lfd)) >= 0) {
			/* a refused guest retries every 100 ms: say it once per 100 */
			if (p->refused++ % 100 == 0)
				LOG(NOTICE, "%s: refused another guest: the channel is in use "
				    "(%" PRIu64 " refusals)", p->path, p->refused);
			pvb_chan_send_error(fd, -EBUSY, "channel in use by another guest");
			close(fd);
		}
		switch (pvb_chan_host_poll(&p->hc)) {
		case PVB_CHAN_EV_OPEN:
			netvsp_open(p);
			break;
		case PVB_CHAN_EV_CLOSED:
			LOG(INFO, "%s: guest gone (%s)", p->path,
			    p->hc.why != NULL ? p->hc.why : "closed");
			netvsp_teardown(p);
			continue;
		default:
			break;
		}
		/* relaxed: only this thread writes state */
		switch (pvb_load_relaxed(&p->state)) {
		case NVCHAN_CTRL:
			netvsp_ctrl_step(p);
			break;
		case NVCHAN_DATA:
			netvsp_data_step(p);
			break;
		default:
			/* offered, not opened: a guest that never opens must not hold the port */
			if (p->hc.state == PVB_CHAN_H_OFFERED &&
			    rte_get_timer_cycles() > p->ctrl_deadline) {
				LOG(ERR, "%s: the guest did not open the channel within 30 s", p->path);
				pvb_chan_host_close(&p->hc, false);
				continue;
			}
			nvchan_wait(NULL, p->hc.sock, 50);
		}
	}
	pvb_chan_host_close(&p->hc, true);
	netvsp_teardown(p);
	return NULL;
}
