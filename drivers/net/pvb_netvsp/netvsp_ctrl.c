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
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "netvsp.h"

#define NETVSP_NREC		8192		/* guest packets held at once */
#define NETVSP_SECTION_DEFAULT	32768		/* send section offered by default */
#define NETVSP_MAX_RING		(64u << 20)
#define NETVSP_MAX_REGION	(4ull << 30)

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
netvsp_vsp_start(struct netvsp_port *v)
{
	struct nvport *p = &v->base;
	/*
	 * 32 KiB sections holding up to 64 frames: a guest packet, a record and a
	 * completion per section cost the same for 1 frame or 20, so big
	 * sections carry 1500-byte frames ~1.6x faster than OpenVMM's 6144/8.
	 */
	struct pvb_vsp_config cfg = {
		.mtu = p->mtu,
		.max_pkts_per_msg = 64,
		.send_section_size = v->section_size != 0 ? v->section_size :
				     RTE_MAX(NETVSP_SECTION_DEFAULT,
					     RTE_ALIGN_CEIL(p->mtu + 256, 64)),
		/* queue pair q is channel q: the rest of our queues as subchannels */
		.max_subchannels = p->nb_queues - 1,
	};

	memcpy(cfg.mac, v->guest_mac.addr_bytes, sizeof(cfg.mac));
	pvb_vsp_init(&v->vsp, &cfg, netvsp_gpadl_size, &v->open);
	p->rxbuf = NULL;
	p->sendbuf = NULL;
	pvb_store_relaxed(&v->filter, 0);
	/* nothing is published yet: the bursts do not run in CTRL */
	pvb_store_relaxed(&v->rx_enabled, 0);
	pvb_store_relaxed(&v->rss_cur, 0);
	v->rss_gen_seen = 0;
	v->table_sent = false;
	v->subch_offered = 0;
}

/*
 * Share mode (share=1): the region stays unlocked, so that a third party
 * (a vhost-user back-end) can map it writable whenever it reconnects. That
 * is safe on plain pages only: a hole the guest punches in plain shmem
 * faults back in as a zero page, while on hugetlbfs it needs a free huge
 * page and raises SIGBUS when the pool is empty (doc/shm.md, "Share mode").
 * A write seal would make the third party's mmap fail (EPERM). The pages
 * are faulted in instead of locked. A refusal reason or NULL.
 */
static const char *
netvsp_share(struct nvchan *ch, int *rc)
{
	int seals;

	if (ch->shm.huge) {
		*rc = -EINVAL;
		return "shared region on huge pages: it must be plain pages (share=1)";
	}
	seals = fcntl(ch->shm.fd, F_GET_SEALS);
	if (seals < 0 || (seals & F_SEAL_FUTURE_WRITE) != 0) {
		*rc = -EACCES;
		return "shared region write-sealed: a third party could not map it (share=1)";
	}
	*rc = pvb_shm_prefault(&ch->shm);
	return *rc != 0 ? "shared region cannot be faulted in" : NULL;
}

/* Map the guest's region and rings, take the doorbell; a refusal reason or NULL. */
static const char *
netvsp_map(struct netvsp_port *v, struct nvchan *ch, int *rc)
{
	struct pvb_chan_msg *m = &v->hc.msg;
	const struct pvb_chan_open *o = &m->u.open;
	const char *why;

	*rc = pvb_shm_attach(&ch->shm, m->fds[PVB_CHAN_FD_REGION], o->region_size);
	if (*rc != 0)
		return pvb_shm_attach_strerror(*rc);
	m->fds[PVB_CHAN_FD_REGION] = -1;
	if (v->share) {
		why = netvsp_share(ch, rc);
		if (why != NULL)
			return why;
	} else {
		/* no hole the guest punches from now on can fault us (doc/shm.md) */
		*rc = pvb_shm_lock(&ch->shm);
		if (*rc != 0)
			return "region cannot be locked against hole punching";
	}
	ch->bell = m->fds[PVB_CHAN_FD_BELL];
	m->fds[PVB_CHAN_FD_BELL] = -1;
	/* the guest's tx ring is our incoming one */
	*rc = nvchan_attach_rings(ch, o->tx.offset, o->tx.size, o->rx.offset, o->rx.size);
	return *rc != 0 ? "rings do not attach" : NULL;
}

/* The guest's OPEN: map its region and rings, or refuse with a reason. */
static void
netvsp_open(struct netvsp_port *v)
{
	struct nvport *p = &v->base;
	const struct pvb_chan_open *o = &v->hc.msg.u.open;
	const char *why;
	struct nvchan *ch;
	int rc;

	ch = nvchan_new(NETVSP_NREC, p->socket_id);
	if (ch == NULL) {
		pvb_counter_add1w(&v->open_refused, 1);
		pvb_chan_host_refuse(&v->hc, -ENOMEM, "host out of memory");
		return;
	}
	why = netvsp_map(v, ch, &rc);
	if (why != NULL) {
		nvchan_put(ch);
		pvb_counter_add1w(&v->open_refused, 1);
		LOG(ERR, "%s: refused the guest's channel: %s", p->path, why);
		pvb_chan_host_refuse(&v->hc, rc, why);
		return;
	}
	v->open = *o;
	netvsp_vsp_start(v);
	p->ch = ch;
	p->chs[0] = ch;
	p->nchan = 1;
	/* relaxed: the bursts do not run in CTRL */
	pvb_store_relaxed(&p->broken, 0);
	nvport_deadline_in(p, 30);
	pvb_chan_host_accept(&v->hc);
	nvport_intr_attach(p, 0);
	nvport_set_state(p, NVPORT_CTRL);
	LOG(INFO, "%s: guest opened channel %u (%" PRIu64 " MB region%s)", p->path, o->chan_id,
	    o->region_size >> 20, v->share ? ", shared unlocked" : "");
}

/*
 * The guest's OPEN of subchannel h->sub_cur: its own ring pair, mapped as
 * the primary's region is; it serves queue pair sub_cur. Refused, the
 * guest closes the whole channel.
 */
static void
netvsp_sub_open(struct netvsp_port *v)
{
	struct nvport *p = &v->base;
	uint32_t idx = v->hc.sub_cur;
	const char *why;
	struct nvchan *ch;
	int rc;

	ch = nvchan_new(NETVSP_NREC, p->socket_id);
	if (ch == NULL) {
		pvb_chan_host_refuse(&v->hc, -ENOMEM, "host out of memory");
		return;
	}
	why = netvsp_map(v, ch, &rc);
	if (why != NULL) {
		nvchan_put(ch);
		LOG(ERR, "%s: refused the guest's subchannel %u: %s", p->path, idx, why);
		pvb_chan_host_refuse(&v->hc, rc, why);
		return;
	}
	nvchan_set_parent(ch, p->ch, idx);
	nvport_add_channel(p, idx, ch);
	pvb_chan_host_accept(&v->hc);
	atomic_store_explicit(&v->subch_open, pvb_chan_host_sub_count(&v->hc),
			      memory_order_relaxed);
	LOG(INFO, "%s: guest opened subchannel %u", p->path, idx);
}

/*
 * The VSP granted subchannels (NVSP 133): offer them on the socket. The
 * bursts must not see channels come (nvport_add_channel()): in DATA the
 * port goes back to CTRL until every one is open.
 */
static void
netvsp_subs_offer(struct netvsp_port *v)
{
	struct nvport *p = &v->base;
	uint32_t granted;
	int rc;

	/* trylock: a burst inside answers the guest; we look again in 10 ms */
	if (!rte_spinlock_trylock(&p->ch->in_lock))
		return;
	granted = v->vsp.subch_granted;
	rte_spinlock_unlock(&p->ch->in_lock);
	if (granted <= v->subch_offered)
		return;
	/* relaxed: only this thread writes state */
	if (pvb_load_relaxed(&p->state) == NVPORT_DATA)
		nvport_quiesce(p, NVPORT_CTRL);
	rc = pvb_chan_host_offer_sub(&v->hc, granted);
	if (rc != 0) {
		LOG(ERR, "%s: cannot offer %u subchannels: %s", p->path, granted, strerror(-rc));
		return;
	}
	v->subch_offered = granted;
	v->table_sent = false;
	nvport_deadline_in(p, 30);
	LOG(INFO, "%s: granted the guest %u subchannels", p->path, granted);
}

/* Every subchannel offered is open (the send table follows, once). */
static bool
netvsp_subs_ready(struct netvsp_port *v)
{
	int rc;

	if (pvb_chan_host_sub_count(&v->hc) != v->subch_offered)
		return false;
	if (v->subch_offered == 0 || v->table_sent)
		return true;
	rc = netvsp_send_table(v);
	v->table_sent = rc == 0;
	return v->table_sent;
}

/* Take the channel back from the bursts and drop it. */
static void
netvsp_teardown(struct netvsp_port *v)
{
	struct nvport *p = &v->base;

	if (p->ch == NULL)
		return;
	nvport_quiesce(p, NVPORT_DOWN);
	nvport_link_update(p, false);
	/* no burst runs now: the allocator is ours */
	netvsp_slots_free(v);
	pvb_store_relaxed(&v->rx_enabled, 0);
	pvb_store_relaxed(&v->rss_cur, 0);
	atomic_store_explicit(&v->subch_open, 0, memory_order_relaxed);
	nvport_drop_channel(p);
}

static void
netvsp_close(struct netvsp_port *v, const char *why)
{
	if (why != NULL)
		LOG(ERR, "%s: %s", v->base.path, why);
	pvb_chan_host_close(&v->hc, true);
	netvsp_teardown(v);
}

static void
netvsp_offer(struct netvsp_port *v, int fd)
{
	struct pvb_chan_offer offer = {
		.chan_id = ++v->chan_seq,
		.mtu = v->base.mtu,
		.max_ring_bytes = NETVSP_MAX_RING,
		.max_region_bytes = NETVSP_MAX_REGION,
		.flags = v->share ? PVB_CHAN_OFFER_F_SHARE : 0,
	};

	memcpy(offer.mac, v->guest_mac.addr_bytes, sizeof(offer.mac));
	if (pvb_chan_host_start(&v->hc, fd, &offer) == 0)
		pvb_counter_add(&v->base.connects, 1);
}

/* What both steps check: a protocol or ring failure closes the channel. */
static bool
netvsp_failed(struct netvsp_port *v)
{
	const char *why = v->vsp.state == PVB_VSP_FAILED ? v->vsp.why : NULL;

	if (!nvport_must_close(&v->base, why, "guest"))
		return false;
	netvsp_close(v, NULL);
	return true;
}

/* Set-up in the rings; hand over to the bursts once RNDIS is up. */
static void
netvsp_ctrl_step(struct netvsp_port *v)
{
	struct nvport *p = &v->base;

	netvsp_ctrl_events(p, NVPORT_ALL_CHANNELS);
	if (netvsp_failed(v))
		return;
	/* a guest that stops half way must not hold the port for ever */
	if (nvport_deadline_passed(p)) {
		netvsp_close(v, "the guest did not finish the set-up within 30 s");
		return;
	}
	netvsp_subs_offer(v);
	if (v->vsp.state == PVB_VSP_RNDIS_READY && p->rxbuf != NULL && p->sendbuf != NULL &&
	    netvsp_subs_ready(v)) {
		/* the guest's media query was answered "connected" */
		v->media_said = true;
		nvport_go_data(p);
		nvport_link_update(p, true);
		LOG(INFO, "%s: guest up (NVSP 0x%x, %u receive slots of %u, %u send sections, "
		    "%u channels)", p->path, v->vsp.nvsp_ver, v->vsp.slot_count,
		    v->vsp.slot_size, v->vsp.section_count, p->nchan);
		return;
	}
	nvport_ctrl_wait(p, v->hc.sock);
}

/* In DATA: poll for the bursts when nobody does (port stopped, app idle). */
static void
netvsp_data_step(struct netvsp_port *v)
{
	struct nvport *p = &v->base;
	uint32_t which = nvport_unpolled(p);

	if (which != 0)
		netvsp_ctrl_events(p, which);
	if (netvsp_failed(v))
		return;
	netvsp_subs_offer(v);
	/* relaxed: only this thread writes state */
	if (pvb_load_relaxed(&p->state) != NVPORT_DATA)
		return;	/* subchannels to open first */
	/* the guest's medium follows this port: disconnected while it is stopped */
	if (p->started != v->media_said && netvsp_indicate_link(v, p->started) == 0)
		v->media_said = p->started;
	nvchan_xsnap_take(p->chs, p->nchan, &v->slots, &p->xsnap);
	nvport_link_update(p, true);
	nvchan_wait(NULL, v->hc.sock, 10);
}

/* A connection on the listening socket: the next guest, or one too many. */
static void
netvsp_accept(struct netvsp_port *v)
{
	int fd = pvb_chan_accept(v->lfd);

	if (fd < 0) {
		if (v->hc.state == PVB_CHAN_H_IDLE || v->hc.state == PVB_CHAN_H_CLOSED)
			nvchan_wait(NULL, v->lfd, 100);
		return;
	}
	if (v->hc.state == PVB_CHAN_H_IDLE || v->hc.state == PVB_CHAN_H_CLOSED) {
		netvsp_offer(v, fd);
		nvport_deadline_in(&v->base, 30);
		return;
	}
	/* a refused guest retries every 100 ms: say it once per 100 */
	if (v->refused++ % 100 == 0)
		LOG(NOTICE, "%s: refused another guest: the channel is in use (%" PRIu64
		    " refusals)", v->base.path, v->refused);
	pvb_chan_send_error(fd, -EBUSY, "channel in use by another guest");
	close(fd);
}

void *
netvsp_ctrl_thread(void *arg)
{
	struct netvsp_port *v = arg;
	struct nvport *p = &v->base;

	while (!pvb_ctrl_stopping(&p->ctrl)) {
		netvsp_accept(v);
		if (v->hc.state == PVB_CHAN_H_IDLE || v->hc.state == PVB_CHAN_H_CLOSED)
			continue;
		switch (pvb_chan_host_poll(&v->hc)) {
		case PVB_CHAN_EV_OPEN:
			netvsp_open(v);
			break;
		case PVB_CHAN_EV_SUB_OPEN:
			netvsp_sub_open(v);
			break;
		case PVB_CHAN_EV_REFUSED:
			pvb_counter_add1w(&v->open_refused, 1);
			LOG(ERR, "%s: refused the guest's channel: %s", p->path, v->hc.why);
			break;
		case PVB_CHAN_EV_CLOSED:
			LOG(INFO, "%s: guest gone (%s)", p->path,
			    v->hc.why != NULL ? v->hc.why : "closed");
			netvsp_teardown(v);
			continue;
		default:
			break;
		}
		/* relaxed: only this thread writes state */
		switch (pvb_load_relaxed(&p->state)) {
		case NVPORT_CTRL:
			netvsp_ctrl_step(v);
			break;
		case NVPORT_DATA:
			netvsp_data_step(v);
			break;
		default:
			/* offered, not opened: a guest that never opens must not hold the port */
			if (v->hc.state == PVB_CHAN_H_OFFERED && nvport_deadline_passed(p)) {
				LOG(ERR, "%s: the guest did not open the channel within 30 s",
				    p->path);
				pvb_chan_host_close(&v->hc, false);
				continue;
			}
			nvchan_wait(NULL, v->hc.sock, 50);
		}
	}
	pvb_chan_host_close(&v->hc, true);
	netvsp_teardown(v);
	return NULL;
}
