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
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "netvsc.h"
#include "pvb_bell.h"

#define NETVSC_NREC		4096	/* host transfer-page packets held at once */
#define NETVSC_MTU_MAX		9216	/* the largest MTU NVSP can negotiate */
#define NETVSC_SETUP_S		10	/* seconds a host has for each set-up stage */

static void
netvsc_link_update(struct netvsc_port *g)
{
	/* relaxed: a status report, orders nothing */
	nvport_link_update(&g->base, pvb_load_relaxed(&g->link_up));
}

uint32_t
netvsc_filter_wanted(const struct netvsc_port *g)
{
	uint32_t f = PVB_RNDIS_FILTER_DIRECTED | PVB_RNDIS_FILTER_BROADCAST |
		     PVB_RNDIS_FILTER_ALL_MULTICAST;

	if (!g->base.started)
		return 0;
	return g->promisc ? f | PVB_RNDIS_FILTER_PROMISCUOUS : f;
}

/* The host's offer, checked before anything is built on it; a reason or NULL. */
static const char *
netvsc_offer_check(struct netvsc_port *g)
{
	const struct pvb_chan_offer *of = &g->gc.offer;
	uint64_t ring = (uint64_t)g->ring_kb << 10, rxb = (uint64_t)g->rxbuf_mb << 20;
	uint64_t txb = (uint64_t)g->txbuf_mb << 20;

	if (of->mtu < RTE_ETHER_MIN_MTU || of->mtu > NETVSC_MTU_MAX)
		return "the host offers an MTU outside 68..9216";
	if (ring > of->max_ring_bytes || 2 * ring + rxb + txb > of->max_region_bytes)
		return "the host's ring or region limit is below ring_kb, rxbuf_mb and txbuf_mb";
	return NULL;
}

/* The channel's MAC: ours if given, else the one the host offers. */
static void
netvsc_take_mac(struct netvsc_port *g)
{
	struct nvport *p = &g->base;
	struct rte_ether_addr *dev_mac = rte_eth_devices[p->port_id].data->mac_addrs;
	struct rte_ether_addr offered;

	memcpy(offered.addr_bytes, g->gc.offer.mac, RTE_ETHER_ADDR_LEN);
	/* an address the application set since the last offer is its own */
	if (g->mac_given ||
	    !(rte_is_zero_ether_addr(&p->mac) || rte_is_same_ether_addr(&p->mac, &g->offer_mac)))
		return;
	p->mac = offered;
	*dev_mac = offered;
	g->offer_mac = offered;
}

/* The host shares our region with a third party: plain pages, prefaulted, not locked. */
static bool
netvsc_shared(const struct netvsc_port *g)
{
	return (g->gc.offer.flags & PVB_CHAN_OFFER_F_SHARE) != 0;
}

/*
 * A channel of @p size bytes of region (named @p name) with its ring pair
 * at the start, ours to transmit on first and the host's second, and its
 * doorbell, whose other end goes in @p fds. 0 or -errno (nothing left).
 */
static int
netvsc_chan_region(struct netvsc_port *g, const char *name, uint64_t size,
		   int fds[PVB_CHAN_OPEN_FDS], struct nvchan **out)
{
	uint64_t ring = (uint64_t)g->ring_kb << 10;
	/* an unlocked region on huge pages would let a punch raise SIGBUS (doc/shm.md) */
	unsigned int shm_flags = netvsc_shared(g) ? PVB_SHM_F_NO_HUGE : 0;
	int socket = g->base.socket_id;
	struct nvchan *ch;
	int rc;

	ch = nvchan_new(NETVSC_NREC, socket);
	if (ch == NULL)
		return -ENOMEM;
	fds[PVB_CHAN_FD_BELL] = -1;
	rc = pvb_shm_create(&ch->shm, name, size, shm_flags, socket);
	if (rc == 0)
		rc = pvb_bell_pair(&ch->bell, &fds[PVB_CHAN_FD_BELL]);
	if (rc == 0)
		rc = nvchan_attach_rings(ch, ring, (uint32_t)ring, 0, (uint32_t)ring);
	if (rc != 0) {
		if (fds[PVB_CHAN_FD_BELL] >= 0)
			close(fds[PVB_CHAN_FD_BELL]);
		nvchan_put(ch);
		return rc;
	}
	*out = ch;
	return 0;
}

/* The region, its rings and the doorbell, as the host's offer allows. */
static int
netvsc_build(struct netvsc_port *g, struct pvb_chan_open *o, int fds[PVB_CHAN_OPEN_FDS])
{
	struct nvport *p = &g->base;
	uint64_t ring = (uint64_t)g->ring_kb << 10, rxb = (uint64_t)g->rxbuf_mb << 20;
	uint64_t txb = (uint64_t)g->txbuf_mb << 20, size = 2 * ring + rxb + txb;
	struct nvchan *ch;
	int rc;

	rc = netvsc_chan_region(g, "pvb-netvsc", size, fds, &ch);
	if (rc != 0)
		return rc;
	*o = (struct pvb_chan_open){
		.chan_id = g->gc.offer.chan_id,
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
	p->rxbuf = ch->shm.base + 2 * ring;
	p->rxbuf_len = rxb;
	p->sendbuf = p->rxbuf + rxb;
	p->sendbuf_len = txb;
	p->mtu = g->gc.offer.mtu;
	netvsc_take_mac(g);
	p->ch = ch;
	p->chs[0] = ch;
	p->nchan = 1;
	return 0;
}

static void
netvsc_teardown(struct netvsc_port *g);

/* Subchannels opened and not answered yet go with the channel. */
static void
netvsc_subs_drop(struct netvsc_port *g)
{
	uint32_t i;

	for (i = 0; i < NVPORT_MAX_QUEUES; i++) {
		nvchan_put(g->sub_pending[i]);
		g->sub_pending[i] = NULL;
	}
	atomic_store_explicit(&g->subch_granted, 0, memory_order_relaxed);
	atomic_store_explicit(&g->subch_missing, 0, memory_order_relaxed);
}

/* A subchannel's region: its ring pair and nothing else (the buffers are the primary's). */
static int
netvsc_sub_build(struct netvsc_port *g, uint32_t idx, struct pvb_chan_open *o,
		 int fds[PVB_CHAN_OPEN_FDS])
{
	struct nvport *p = &g->base;
	uint64_t ring = (uint64_t)g->ring_kb << 10;
	struct nvchan *ch;
	int rc;

	rc = netvsc_chan_region(g, "pvb-netvsc-sub", 2 * ring, fds, &ch);
	if (rc != 0)
		return rc;
	nvchan_set_parent(ch, p->ch, idx);
	*o = (struct pvb_chan_open){
		.chan_id = g->gc.sub.chan_id,
		.region_size = ch->shm.len,
		.tx = { .offset = 0, .size = (uint32_t)ring },
		.rx = { .offset = ring, .size = (uint32_t)ring },
	};
	fds[PVB_CHAN_FD_REGION] = ch->shm.fd;
	nvchan_put(g->sub_pending[idx]);
	g->sub_pending[idx] = ch;
	return 0;
}

/* The host offers subchannel g->gc.sub.index: build its rings and open it. */
static void
netvsc_suboffer(struct netvsc_port *g)
{
	uint32_t idx = g->gc.sub.index;
	struct pvb_chan_open o;
	int fds[PVB_CHAN_OPEN_FDS];
	int rc = -EINVAL;

	if (idx < NVPORT_MAX_QUEUES && g->base.ch != NULL)
		rc = netvsc_sub_build(g, idx, &o, fds);
	if (rc == 0) {
		rc = pvb_chan_guest_open_sub(&g->gc, &o, fds);
		close(fds[PVB_CHAN_FD_BELL]);
	}
	if (rc != 0) {
		LOG(ERR, "%s: cannot open subchannel %u: %s", g->base.path, idx, strerror(-rc));
		pvb_chan_guest_close(&g->gc);
		netvsc_teardown(g);
	}
}

/* The host accepted subchannel g->gc.sub_done: it becomes queue pair sub_done. */
static void
netvsc_sub_opened(struct netvsc_port *g)
{
	struct nvport *p = &g->base;
	uint32_t idx = g->gc.sub_done;
	struct nvchan *ch = idx < NVPORT_MAX_QUEUES ? g->sub_pending[idx] : NULL;
	int rc;

	/* relaxed: only this thread writes state; subchannels open during set-up only */
	if (ch == NULL || pvb_load_relaxed(&p->state) != NVPORT_CTRL) {
		LOG(ERR, "%s: the host accepted subchannel %u out of turn", p->path, idx);
		pvb_chan_guest_close(&g->gc);
		netvsc_teardown(g);
		return;
	}
	g->sub_pending[idx] = NULL;
	rc = netvsc_shared(g) ? pvb_shm_prefault(&ch->shm) : pvb_shm_lock(&ch->shm);
	if (rc != 0) {
		LOG(ERR, "%s: cannot protect subchannel %u's region: %s", p->path, idx,
		    strerror(-rc));
		nvchan_put(ch);
		pvb_chan_guest_close(&g->gc);
		netvsc_teardown(g);
		return;
	}
	nvport_add_channel(p, idx, ch);
	LOG(INFO, "%s: subchannel %u open", p->path, idx);
}

static void
netvsc_offer(struct netvsc_port *g)
{
	struct pvb_chan_open o;
	int fds[PVB_CHAN_OPEN_FDS];
	const char *why = netvsc_offer_check(g);
	int rc = -EINVAL;

	if (why == NULL) {
		rc = netvsc_build(g, &o, fds);
		why = rc != 0 ? strerror(-rc) : NULL;
	}
	if (rc == 0) {
		rc = pvb_chan_guest_open(&g->gc, &o, fds);
		/* the host's end of the doorbell is the host's alone now */
		close(fds[PVB_CHAN_FD_BELL]);
		why = rc != 0 ? strerror(-rc) : NULL;
	}
	if (why != NULL) {
		LOG(ERR, "%s: refused the host's offer: %s", g->base.path, why);
		pvb_chan_guest_close(&g->gc);
		netvsc_teardown(g);
		/* retried at the connect pace: at most 10 refusals (and lines) a second */
		g->retry_at = rte_get_timer_cycles() + rte_get_timer_hz() / 10;
		return;
	}
	/* a host that never answers the OPEN must not hold the port */
	nvport_deadline_in(&g->base, NETVSC_SETUP_S);
}

/*
 * Both sides mapped the region: lock it, so that no hole the host punches
 * can fault us (doc/shm.md, "The lock step"). Shared, it stays writable for
 * the third party and is only prefaulted: it is on plain pages, where a
 * punched page comes back as a zero page, never as SIGBUS ("Share mode").
 */
static int
netvsc_region_protect(struct netvsc_port *g)
{
	struct nvport *p = &g->base;
	int rc;

	if (!netvsc_shared(g)) {
		rc = pvb_shm_lock(&p->ch->shm);
		if (rc != 0)
			LOG(ERR, "%s: cannot lock the region against hole punching: %s",
			    p->path, strerror(-rc));
		return rc;
	}
	rc = pvb_shm_prefault(&p->ch->shm);
	if (rc != 0) {
		LOG(ERR, "%s: cannot fault the shared region in: %s", p->path, strerror(-rc));
		return rc;
	}
	LOG(INFO, "%s: region shared unlocked on the host's request (%zu MB on plain pages)",
	    p->path, p->ch->shm.len >> 20);
	return 0;
}

static void
netvsc_opened(struct netvsc_port *g)
{
	struct nvport *p = &g->base;
	struct pvb_vsc_config cfg = {
		.mtu = p->mtu,
		.recv_gpadl = NETVSC_GPADL_RX,
		.send_gpadl = NETVSC_GPADL_TX,
		.offload = g->offload ? PVB_OFL_ALL : 0,
		/* queue pair q is channel q: ask for the rest of our queues */
		.subchannels = p->nb_queues - 1,
	};
	int rc;

	rc = netvsc_region_protect(g);
	if (rc != 0) {
		pvb_chan_guest_close(&g->gc);
		netvsc_teardown(g);
		return;
	}
	pvb_vsc_init(&g->vsc, &cfg);
	pvb_vsc_set_filter(&g->vsc, netvsc_filter_wanted(g));
	g->have_act = false;
	g->subs_expected = false;
	/*
	 * The host's offers may come before its grant is read from the ring:
	 * take offers for as many as we ask for; more than it granted is
	 * refused once the grant is known (netvsc_subs_ready()).
	 */
	pvb_chan_guest_expect_sub(&g->gc, cfg.subchannels);
	/* the RSS the application set goes to the host once the channels are there */
	g->rss_gen_sent = pvb_load_acquire(&p->rss.gen) - 1;
	/* relaxed: the bursts do not run in CTRL */
	pvb_store_relaxed(&p->broken, 0);
	nvport_deadline_in(p, NETVSC_SETUP_S);
	nvport_intr_attach(p, 0);
	nvport_set_state(p, NVPORT_CTRL);
	pvb_counter_add(&p->connects, 1);
	LOG(INFO, "%s: channel %u open", p->path, g->gc.offer.chan_id);
}

/* Take the channel back from the bursts and drop it. */
static void
netvsc_teardown(struct netvsc_port *g)
{
	struct nvport *p = &g->base;

	if (p->ch == NULL)
		return;
	nvport_quiesce(p, NVPORT_DOWN);
	pvb_store_relaxed(&g->link_up, 0);
	netvsc_link_update(g);
	/* no burst runs now: the allocator and the held mbufs are ours */
	netvsc_tx_free(g);
	netvsc_subs_drop(g);
	nvport_drop_channel(p);
}

/*
 * Send what the VSC wants sent (in_lock held). An action that cannot go now
 * (no free section, ring full) is kept and sent again next round: the VSC
 * already waits for its answer.
 */
static int
netvsc_vsc_send(struct netvsc_port *g)
{
	struct nvchan *ch = g->base.ch;
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	struct pvb_vsc_action *a = &g->act;
	int rc = 0;

	for (;;) {
		if (g->vsc.section_size != 0 && g->sect.n == 0 && netvsc_tx_setup(g) != 0)
			return -ENOMEM;
		if (!g->have_act) {
			pvb_vsc_next(&g->vsc, a);
			if (a->kind == PVB_VSC_ACT_NONE)
				return 0;
			g->have_act = true;
		}
		if (a->kind == PVB_VSC_ACT_RNDIS) {
			rc = netvsc_send_ctl(g, a);
		} else {
			nvchan_lock_yield(&ch->out_lock);
			rc = pvb_vmbus_out_inband(&ch->out, 0, a->want_comp ?
						  PVB_VMBUS_FLAG_COMPLETION_REQUESTED : 0, buf,
						  pvb_nvsp_encode(&a->nvsp, buf));
			if (rc == 0 && pvb_vmbus_out_commit(&ch->out))
				nvchan_signal(ch);
			rte_spinlock_unlock(&ch->out_lock);
		}
		if (rc != 0)
			return rc;
		g->have_act = false;
	}
}

static void
netvsc_fail(struct netvsc_port *g, const char *why)
{
	if (why != NULL)
		LOG(ERR, "%s: channel closed: %s", g->base.path, why);
	pvb_chan_guest_close(&g->gc);
	netvsc_teardown(g);
}

/* What both steps check: a protocol or ring failure closes the channel. */
static bool
netvsc_failed(struct netvsc_port *g)
{
	const char *why = NULL;

	if (g->vsc.state == PVB_VSC_FAILED)
		why = g->vsc.why != NULL ? g->vsc.why : "protocol error";
	if (!nvport_must_close(&g->base, why, "host"))
		return false;
	netvsc_fail(g, NULL);
	return true;
}

/* NDIS hash types for DPDK's RSS hash functions (TCP alone gets its ports hashed). */
static uint32_t
netvsc_rss_types(uint64_t hf)
{
	uint32_t t = 0;

	if (hf & (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_OTHER))
		t |= PVB_NDIS_HASH_IPV4;
	if (hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP)
		t |= PVB_NDIS_HASH_TCP_IPV4;
	if (hf & (RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_OTHER))
		t |= PVB_NDIS_HASH_IPV6;
	if (hf & RTE_ETH_RSS_NONFRAG_IPV6_TCP)
		t |= PVB_NDIS_HASH_TCP_IPV6;
	return t;
}

/*
 * The application's RSS, as the channels the host granted allow (in_lock
 * held): a RETA entry naming a queue without a channel goes to entry % the
 * channels. The VSC sends it once READY. Ports of one queue send none.
 */
static void
netvsc_rss_sync(struct netvsc_port *g)
{
	struct nvport *p = &g->base;
	/* pairs with the store-release in nvport_rss_changed() */
	uint32_t gen = pvb_load_acquire(&p->rss.gen), i;
	struct pvb_rss_conf c;

	/* the last change sent is taken (or refused): applied, as far as it goes */
	if (g->vsc.rss_gen == g->vsc.rss_want_gen)
		atomic_store_explicit(&p->rss.applied, g->rss_gen_sent, memory_order_relaxed);
	if (gen == g->rss_gen_sent || !pvb_vsc_ready(&g->vsc))
		return;
	g->rss_gen_sent = gen;
	if (p->nb_queues < 2) {
		/* one queue: nothing to steer, nothing to send */
		atomic_store_explicit(&p->rss.applied, gen, memory_order_relaxed);
		return;
	}
	/*
	 * Without RSS from the application (one rx queue, or no RSS mode)
	 * everything comes to queue 0, as on any NIC: a table of zeros and no
	 * hash type, so that no frame lands on a queue nobody polls.
	 */
	memset(&c, 0, sizeof(c));
	c.enabled = p->nchan > 1;
	memcpy(c.key, p->rss.key, sizeof(c.key));
	if (p->rss.on) {
		c.hash_types = netvsc_rss_types(p->rss.hf);
		for (i = 0; i < RTE_DIM(c.table); i++)
			c.table[i] = (uint8_t)(p->rss.reta[i] % p->nchan);
	}
	pvb_vsc_set_rss(&g->vsc, &c);
}

/* A refused RSS setting is said once and counted (in_lock held). */
static void
netvsc_rss_refused(struct netvsc_port *g)
{
	if (!g->vsc.rss_refused || g->vsc.rss_gen != g->vsc.rss_want_gen)
		return;
	g->vsc.rss_refused = false;
	pvb_counter_add(&g->rss_refused, 1);
	LOG(WARNING, "%s: the host refused our RSS settings: frames arrive on its choice of "
	    "queues", g->base.path);
}

/*
 * The subchannels the host granted (NVSP 133) are all open. A host granting
 * fewer than asked is said and counted; the queues beyond stay idle. One
 * that offered more than it granted broke the protocol.
 */
static bool
netvsc_subs_ready(struct netvsc_port *g)
{
	struct nvport *p = &g->base;
	uint32_t granted = g->vsc.subch_granted, asked = p->nb_queues - 1, i;

	for (i = granted + 1; i < NVPORT_MAX_QUEUES; i++)
		if (p->chs[i] != NULL || g->sub_pending[i] != NULL ||
		    (g->gc.sub_seen & (1ull << i)) != 0) {
			g->vsc.why = "the host offered more subchannels than it granted";
			g->vsc.state = PVB_VSC_FAILED;
			return false;
		}
	if (!g->subs_expected) {
		g->subs_expected = true;
		atomic_store_explicit(&g->subch_granted, granted, memory_order_relaxed);
		atomic_store_explicit(&g->subch_missing, asked - granted, memory_order_relaxed);
		if (granted < asked)
			LOG(WARNING, "%s: the host granted %u of %u subchannels: queues %u..%u "
			    "stay idle", p->path, granted, asked, granted + 1, asked);
	}
	return p->nchan == 1 + granted;
}

static void
netvsc_ctrl_step(struct netvsc_port *g)
{
	struct nvport *p = &g->base;
	struct nvchan *ch = p->ch;
	bool rss_due;

	rte_spinlock_lock(&ch->in_lock);
	if (pvb_vsc_ready(&g->vsc) && netvsc_subs_ready(g))
		netvsc_rss_sync(g);
	netvsc_vsc_send(g);
	rss_due = g->vsc.rss_want_gen != g->vsc.rss_gen;
	netvsc_rss_refused(g);
	rte_spinlock_unlock(&ch->in_lock);
	netvsc_ctrl_events(p, NVPORT_ALL_CHANNELS);
	if (netvsc_failed(g))
		return;
	/* a host that stops answering must not hold the port for ever */
	if (nvport_deadline_passed(p)) {
		netvsc_fail(g, "the host did not finish the set-up within 10 s");
		return;
	}
	/* link up once every channel granted is open and the host took our RSS */
	if (pvb_vsc_ready(&g->vsc) && netvsc_subs_ready(g) && !rss_due) {
		/* the host's limits for aggregation, now known */
		rte_spinlock_lock(&ch->out_lock);
		g->agg_max = RTE_MIN(g->section_size, g->vsc.max_xfer);
		g->agg_pkts = g->vsc.max_pkts_per_msg;
		g->align = g->vsc.align;
		rte_spinlock_unlock(&ch->out_lock);
		/* relaxed: published by the store-release of the state below */
		pvb_store_relaxed(&g->link_up, g->vsc.link_up);
		pvb_store_relaxed(&g->ofl, g->vsc.offload);
		nvport_go_data(p);
		netvsc_link_update(g);
		LOG(INFO, "%s: up: MAC " RTE_ETHER_ADDR_PRT_FMT ", MTU %u, NVSP 0x%x, %u-byte "
		    "sections, %u packets per message, offloads 0x%x, %u channels", p->path,
		    RTE_ETHER_ADDR_BYTES(&p->mac), g->vsc.mtu, g->vsc.nvsp_ver, g->section_size,
		    g->agg_pkts, g->vsc.offload, p->nchan);
		return;
	}
	nvport_ctrl_wait(p, g->gc.sock);
}

/* In DATA: apply filter changes; poll for the bursts when nobody does. */
static void
netvsc_data_step(struct netvsc_port *g)
{
	struct nvport *p = &g->base;
	uint32_t want = netvsc_filter_wanted(g), which;

	/* trylock: never spin against a burst that holds the ring; retry in 10 ms */
	if (rte_spinlock_trylock(&p->ch->in_lock)) {
		if (want != g->vsc.want_filter)
			pvb_vsc_set_filter(&g->vsc, want);
		netvsc_rss_sync(g);
		netvsc_vsc_send(g);
		netvsc_rss_refused(g);
		rte_spinlock_unlock(&p->ch->in_lock);
	}
	which = nvport_unpolled(p);
	if (which != 0)
		netvsc_ctrl_events(p, which);
	if (netvsc_failed(g))
		return;
	/* relaxed: the rx handler writes it; a status report */
	pvb_store_relaxed(&g->link_up, g->vsc.link_up);
	nvchan_xsnap_take(p->chs, p->nchan, &g->sect, &p->xsnap);
	netvsc_link_update(g);
	nvchan_wait(NULL, g->gc.sock, 10);
}

static void
netvsc_connect(struct netvsc_port *g)
{
	struct nvport *p = &g->base;
	int fd;

	if (rte_get_timer_cycles() < g->retry_at) {
		nvchan_wait(NULL, -1, 20);
		return;
	}
	fd = pvb_chan_connect(p->path);
	if (fd < 0) {
		if (!g->said_waiting)
			LOG(NOTICE, "%s: no host yet (%s); retrying every 100 ms", p->path,
			    strerror(-fd));
		g->said_waiting = true;
		g->retry_at = rte_get_timer_cycles() + rte_get_timer_hz() / 10;
		return;
	}
	g->said_waiting = false;
	if (pvb_chan_guest_start(&g->gc, fd) != 0) {
		close(fd);
		return;
	}
	/* a host that never offers must not hold the port */
	nvport_deadline_in(p, NETVSC_SETUP_S);
}

/*
 * Orderly goodbye before closing (the teardown of doc/nvsp.md): packet
 * filter 0, RNDIS HALT, revoke both buffers; bounded by 200 ms.
 */
static void
netvsc_halt(struct netvsc_port *g)
{
	struct nvport *p = &g->base;
	struct nvchan *ch = p->ch;
	int i;

	/* relaxed: only this thread writes state */
	if (ch == NULL || pvb_load_relaxed(&p->state) != NVPORT_DATA)
		return;
	nvport_quiesce(p, NVPORT_CTRL);
	rte_spinlock_lock(&ch->in_lock);
	pvb_vsc_halt(&g->vsc);
	rte_spinlock_unlock(&ch->in_lock);
	/* HALTED at once; done when the teardown steps are sent and answered */
	for (i = 0; i < 200 && g->vsc.state == PVB_VSC_HALTED &&
	     (g->vsc.query_step != 0 || g->vsc.sent || g->have_act); i++) {
		rte_spinlock_lock(&ch->in_lock);
		netvsc_vsc_send(g);
		rte_spinlock_unlock(&ch->in_lock);
		netvsc_ctrl_events(p, NVPORT_ALL_CHANNELS);
		nvchan_wait(ch, -1, 1);
	}
}

/* Waiting for the host's OFFER or OPEN_RESULT: not for ever. */
static bool
netvsc_host_silent(struct netvsc_port *g)
{
	const char *what;

	if (g->gc.state == PVB_CHAN_G_WAIT_OFFER)
		what = "offer a channel";
	else if (g->gc.state == PVB_CHAN_G_WAIT_RESULT)
		what = "answer the open";
	else
		return false;
	if (!nvport_deadline_passed(&g->base))
		return false;
	LOG(ERR, "%s: the host did not %s within %d s; reconnecting", g->base.path, what,
	    NETVSC_SETUP_S);
	pvb_chan_guest_close(&g->gc);
	netvsc_teardown(g);
	g->retry_at = rte_get_timer_cycles() + rte_get_timer_hz() / 10;
	return true;
}

void *
netvsc_ctrl_thread(void *arg)
{
	struct netvsc_port *g = arg;
	struct nvport *p = &g->base;

	while (!pvb_ctrl_stopping(&p->ctrl)) {
		if (g->gc.state == PVB_CHAN_G_IDLE || g->gc.state == PVB_CHAN_G_CLOSED) {
			netvsc_teardown(g);
			netvsc_connect(g);
			continue;
		}
		switch (pvb_chan_guest_poll(&g->gc)) {
		case PVB_CHAN_EV_OFFER:
			netvsc_offer(g);
			break;
		case PVB_CHAN_EV_OPENED:
			netvsc_opened(g);
			break;
		case PVB_CHAN_EV_SUBOFFER:
			netvsc_suboffer(g);
			break;
		case PVB_CHAN_EV_SUB_OPENED:
			netvsc_sub_opened(g);
			break;
		case PVB_CHAN_EV_CLOSED:
			/* a host that keeps refusing us is said once, not every retry */
			if (p->ch != NULL || !g->said_refused)
				LOG(NOTICE, "%s: host gone (%s%s%s)", p->path,
				    g->gc.why != NULL ? g->gc.why : "closed",
				    g->gc.peer_reason[0] != '\0' ? ": " : "",
				    g->gc.peer_reason);
			g->said_refused = p->ch == NULL;
			netvsc_teardown(g);
			g->retry_at = rte_get_timer_cycles() + rte_get_timer_hz() / 10;
			continue;
		default:
			break;
		}
		if (netvsc_host_silent(g))
			continue;
		/* relaxed: only this thread writes state */
		switch (pvb_load_relaxed(&p->state)) {
		case NVPORT_CTRL:
			netvsc_ctrl_step(g);
			break;
		case NVPORT_DATA:
			netvsc_data_step(g);
			break;
		default:
			nvchan_wait(NULL, g->gc.sock, 20);
		}
	}
	netvsc_halt(g);
	pvb_chan_guest_close(&g->gc);
	netvsc_teardown(g);
	return NULL;
}
