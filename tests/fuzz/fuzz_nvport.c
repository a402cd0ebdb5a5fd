/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * libFuzzer target: the receive paths of both netvsc channel PMDs,
 * net_pvb_netvsp (host) and net_pvb_netvsc (guest), driven by a hostile peer.
 *
 * The PMDs' rxtx.c and the port base (drivers/common/nvport) are compiled into
 * this executable, so their static packet handlers run, instrumented, through
 * the side's exported entry points:
 *   - PREFIX_rx_burst     the events loop in DELIVER mode (frames to the app),
 *   - PREFIX_tx_burst     completions read when short of slots or sections
 *                         (STOP_AT_DATA), then the send path,
 *   - PREFIX_ctrl_events  the control thread's poll (DROP).
 * No control thread, no vdev, no socket: the port is built by hand, as the
 * control thread would build it (see netvsp_ctrl.c and netvsc_ctrl.c).
 *
 * The region, as netvsc_build() lays it out (doc/netvsp-netvsc.md):
 *
 *   0        RING          2*RING             2*RING+RXBUF        REGION
 *   | ring A  | ring B      | receive buffer    | send buffer       |
 *     g -> h    h -> g        GPADL 1             GPADL 2
 *
 * The host PMD reads ring A and writes ring B; the guest PMD the reverse.
 * The region is one block of the ASan heap (not a memfd), so a read or write
 * past any end of it is reported; ch->shm points at it and is emptied before
 * the channel's last reference goes, so nvchan_destroy() unmaps nothing.
 *
 * An input is a config byte, a set-up byte, then a script of records, read
 * front to back (zeros past the end):
 *
 *   config  bit 0: side (0 host, 1 guest); bits 1-2: records (4, 16, 64, 256);
 *           bit 3: zero copy (guest); bit 4: copybreak 128, else 0;
 *           bits 5-7: set-up depth (0-5 done, 6 partial, 7 none)
 *   set-up  the partial depth (requests answered); bit 7: promiscuous filter;
 *           bit 5: a subchannel beside the primary (queue pair 1), then one
 *           more byte: bit 0 RSS on the host (a table over both channels,
 *           hash types from bits 1-4, the key from the input)
 *
 * The set-up runs the state machines of lib/nvsp against each other (the
 * side's own and one the harness plays for the peer) with their own codecs,
 * mapping buffers and allocators as the control thread does; the port is in
 * NVPORT_DATA when the set-up completed, else in NVPORT_CTRL (only ctrl_events
 * then reaches the rings, as in the PMD; a CTRL record moves it on to DATA
 * when the fuzzer's own messages finished the set-up).
 *
 * A record is an op byte (low nibble: op, high nibble: its argument) and its
 * operands. The peer writes packets into the PMD's incoming ring with the
 * library's writer (in-band, completion, transfer-page, GPA-direct, NVSP
 * payloads built by the codec from a few bytes, or raw), RNDIS data and
 * control messages into the receive buffer, the send buffer or anywhere in
 * the region (also between two polls, under the frames the application
 * holds), pokes ring indices, and plays a peer that reads what the PMD wrote
 * and completes it (once, twice, or not). The application polls rx (holding
 * the frames or freeing them), sends (fresh frames, frames it holds, which
 * may live in the region, or, on the host, frames in the guest's receive
 * slots that the slot pool lent, sent in place), and frees what it holds.
 *
 * Subchannels: the subchannel's ring pair is a heap block of its own, as a
 * guest's subchannel region is; its frames and GPA pages are the primary's.
 * OP_REATTACH with bit 3 of its argument moves the peer, the rx and tx ops
 * and the ring pokes to channel (bit 0); the host's tx bursts steer by the
 * RSS table when it is on. At the end the subchannel's records are checked
 * as the primary's, and it holds the primary until it goes.
 *
 * Offloads (nvport_ol.h): the set-up enables every offload unless the set-up
 * byte's bit 6 says none; data messages may carry a real IPv4/IPv6 TCP/UDP
 * header and checksum or LSOv2 PPIs that match it or not, frames up to
 * 6000 bytes (ranges over several receive slots); frames sent may ask for
 * checksums and segmentation (with headers right or wrong) or carry checksum
 * results, so the PPI encoders and pvb_swol run too.
 *
 * Checked (abort, which libFuzzer reports):
 *  - every frame delivered: at most the burst, segments and lengths agree,
 *    each segment's data inside its buffer, an external buffer inside the
 *    region, the port id set; a frame with TX offload requests has its
 *    headers in the first segment and one IP version;
 *  - what the PMD writes to its outgoing ring is a valid ring (unless the
 *    fuzzer scribbled over that ring), its transfer-page ranges lie in the
 *    receive buffer, its send sections in the send buffer, its GPA pages in
 *    the region;
 *  - at the end, with every frame freed: the records are all free or waiting
 *    to be completed, the channel holds no reference but the port's (and the
 *    record in progress, the lend state gone with it), and every mbuf is
 *    back in its pool, the slot pool's too. ASan's leak
 *    check sees the rest (detect_leaks=1).
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "netvsc.h"
#undef LOG	/* each side's header defines its own; this file logs nothing */
#include "netvsp.h"
#include "rte_pmd_pvb_netvsp.h"
#undef LOG

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define RING		(8u << 10)		/* each ring: control page + 4 KiB of data */
#define RXBUF		(64u << 10)
#define SENDBUF		(32u << 10)
#define REGION		(2 * RING + RXBUF + SENDBUF)
#define SUBREGION	(2 * RING)		/* a subchannel's own region: its ring pair */
#define RXBUF_OFF	(2 * RING)
#define SENDBUF_OFF	(2 * RING + RXBUF)
#define GPADL_RX	1u			/* netvsc.h: NETVSC_GPADL_RX */
#define GPADL_TX	2u
#define MTU		1500u
#define SECTION		2048u			/* the host's send section (a devarg) */
#define POOL_N		511u
#define SLOT_POOL_N	63u			/* lent slots: fewer than the receive buffer's */
#define DATA_ROOM	1024u			/* frames above it are chains when copied */
#define HELD_MAX	POOL_N
#define BURST_MAX	64u
#define SETUP_MAX	32u			/* requests a full set-up takes, and more */
#define PORT_ID		0

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What netvsp_ethdev.c defines, which is not compiled in: the log type and the
 * side netvsp_lend.c's API checks a port against (no port here is one). */
int netvsp_logtype = RTE_LOGTYPE_PMD;
const struct nvport_side netvsp_side = { .logtype = &netvsp_logtype };

enum op {
	OP_INBAND, OP_COMP, OP_XFER, OP_GPA, OP_BUF_DATA, OP_BUF_CTL, OP_BUF_RAW, OP_RX,
	OP_TX, OP_CTRL, OP_PEER, OP_FREE, OP_POKE, OP_REATTACH, OP_RX2, OP_TX2,
};

enum area { AREA_RXBUF, AREA_SENDBUF, AREA_REGION, AREA_IN_RING };

struct fuzz {
	const uint8_t *d;
	size_t n, pos;
	bool guest;
	struct nvport *p;		/* a struct netvsp_port or netvsc_port */
	struct nvchan *ch;
	struct nvchan *sub;		/* subchannel 1, or NULL */
	uint32_t in_off, out_off;	/* the PMD's rings in the region (and the subregion) */
	struct pvb_vmbus_out peer_outs[2];	/* the peer writes the PMD's incoming rings */
	struct pvb_vmbus_in peer_ins[2];	/* and reads its outgoing ones */
	struct pvb_vmbus_out *po;	/* those of the channel the script is on */
	struct pvb_vmbus_in *pi;
	unsigned int cur;		/* that channel: 0 primary, 1 the subchannel */
	uint8_t *rbase;			/* its rings' memory: region or subregion */
	bool out_scribbled;		/* the fuzzer wrote over the PMD's outgoing ring */
	struct pvb_vsp host;		/* the peer's host, for a guest PMD's set-up */
	struct pvb_vsc vsc;		/* the peer's guest, for a host PMD's set-up */
	struct pvb_vsc_action act;	/* a guest PMD's control action not sent yet */
	bool have_act;
	struct rte_mbuf *held[HELD_MAX];	/* frames the application holds */
	unsigned int nheld;
};

static struct rte_mempool *pool;
static struct rte_mempool *slot_pool;	/* the host's slot pool (netvsp_lend.c) */
static struct pvb_swol swol;		/* every port's software offload pools, made once */
static uint8_t *region;
static uint8_t *subregion;
/* the guest's MAC, as the host is told it: the address its directed filter passes */
static const uint8_t guest_mac[RTE_ETHER_ADDR_LEN] = { 0x02, 0x70, 0x01, 0x02, 0x03, 0x04 };

/* ----------------------------------------------------------------------------
 * Input
 */

static uint8_t
in_u8(struct fuzz *f)
{
	return f->pos < f->n ? f->d[f->pos++] : 0;
}

static uint32_t
in_uint(struct fuzz *f, unsigned int bytes)
{
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < bytes; i++)
		v |= (uint32_t)in_u8(f) << (8 * i);
	return v;
}

/* ----------------------------------------------------------------------------
 * The port, built as the control thread builds it
 */

static struct netvsp_port *
host_port(struct fuzz *f)
{
	return netvsp_port(f->p);
}

static struct netvsc_port *
guest_port(struct fuzz *f)
{
	return netvsc_port(f->p);
}

/* The GPADLs of the guest's OPEN, as the host looks them up (netvsp_ctrl.c). */
static int
host_gpadl_size(void *arg, uint32_t id, uint64_t *size)
{
	const struct pvb_chan_gpadl *g = pvb_chan_gpadl_find(arg, id);

	if (g == NULL)
		return -ENOENT;
	*size = g->size;
	return 0;
}

/* The two GPADLs a guest PMD gives, for the peer's host. */
static int
peer_gpadl_size(void *arg, uint32_t id, uint64_t *size)
{
	(void)arg;
	if (id != GPADL_RX && id != GPADL_TX)
		return -ENOENT;
	*size = id == GPADL_RX ? RXBUF : SENDBUF;
	return 0;
}

static const struct pvb_vsp_config peer_host_cfg = {
	.mtu = MTU,
	.send_section_size = SECTION,
	.max_pkts_per_msg = 64,
};

static void
host_init(struct fuzz *f)
{
	struct netvsp_port *v = host_port(f);
	struct pvb_vsp_config cfg = peer_host_cfg;
	struct pvb_vsc_config gcfg = { .mtu = MTU, .recv_gpadl = GPADL_RX, .send_gpadl = GPADL_TX };

	memcpy(cfg.mac, guest_mac, sizeof(cfg.mac));
	memcpy(v->guest_mac.addr_bytes, guest_mac, sizeof(guest_mac));
	v->section_size = SECTION;
	rte_spinlock_init(&v->slot_lock);
	rte_spinlock_init(&v->lend_lock);
	v->open = (struct pvb_chan_open){
		.region_size = REGION,
		.tx = { .offset = 0, .size = RING },
		.rx = { .offset = RING, .size = RING },
		.n_gpadl = 2,
		.gpadl = {
			{ .id = GPADL_RX, .offset = RXBUF_OFF, .size = RXBUF },
			{ .id = GPADL_TX, .offset = SENDBUF_OFF, .size = SENDBUF },
		},
	};
	pvb_vsp_init(&v->vsp, &cfg, host_gpadl_size, &v->open);
	pvb_vsc_init(&f->vsc, &gcfg);
}

static void
guest_init(struct fuzz *f, bool zero_copy)
{
	struct netvsc_port *g = guest_port(f);
	struct pvb_vsc_config cfg = { .mtu = MTU, .recv_gpadl = GPADL_RX, .send_gpadl = GPADL_TX };
	struct pvb_vsp_config hcfg = peer_host_cfg;

	g->zero_copy = zero_copy;
	for (unsigned int q = 0; q < NVPORT_MAX_QUEUES; q++)
		g->agg[q].sect = -1;
	rte_spinlock_init(&g->sect_lock);
	f->p->rxbuf = region + RXBUF_OFF;
	f->p->rxbuf_len = RXBUF;
	f->p->sendbuf = region + SENDBUF_OFF;
	f->p->sendbuf_len = SENDBUF;
	pvb_vsc_init(&g->vsc, &cfg);
	memcpy(hcfg.mac, guest_mac, sizeof(hcfg.mac));
	pvb_vsp_init(&f->host, &hcfg, peer_gpadl_size, NULL);
}

/* What netvsp_buffers() and netvsp_publish() do when the VSP took or revoked a buffer. */
static void
host_buffers(struct fuzz *f)
{
	struct netvsp_port *v = host_port(f);
	struct nvport *p = f->p;
	const struct pvb_chan_gpadl *g;

	if (v->vsp.have_recv_buf && p->rxbuf == NULL) {
		g = pvb_chan_gpadl_find(&v->open, v->vsp.recv_gpadl);
		p->rxbuf = region + g->offset;
		p->rxbuf_len = g->size;
		if (netvsp_slots_setup(v) != 0) {
			p->rxbuf = NULL;
		} else {
			/* the receive slots lent, as to a port receiving into them */
			struct netvsp_lend *l = netvsp_lend_alloc(v);

			if (l != NULL)
				netvsp_lend_open(v, l);
		}
	}
	if (v->vsp.have_send_buf && p->sendbuf == NULL) {
		g = pvb_chan_gpadl_find(&v->open, v->vsp.send_gpadl);
		p->sendbuf = region + g->offset;
		p->sendbuf_len = g->size;
	}
	pvb_store_relaxed(&v->filter, v->vsp.filter);
	pvb_store_relaxed(&v->offload, v->vsp.offload);
	pvb_store_relaxed(&v->rx_enabled, pvb_vsp_rx_enabled(&v->vsp) && p->rxbuf != NULL);
}

/* The guest's send sections, once the host gave their size (netvsc_vsc_send()). */
static void
guest_sections(struct fuzz *f)
{
	struct netvsc_port *g = guest_port(f);

	if (g->vsc.section_size != 0 && g->sect.n == 0)
		CHECK(netvsc_tx_setup(g) == 0);
}

/* One request of @p g answered by @p h through the codecs; false when @p g waits. */
static bool
pair_step(struct pvb_vsc *g, struct pvb_vsp *h)
{
	struct pvb_vsc_action a;
	struct pvb_nvsp_msg reply;
	struct pvb_rndis_ctl c;
	uint8_t rep[512];
	int rc;

	pvb_vsc_next(g, &a);
	if (a.kind == PVB_VSC_ACT_NONE)
		return false;
	if (a.kind == PVB_VSC_ACT_NVSP) {
		rc = pvb_vsp_nvsp(h, &a.nvsp, &reply);
		if (rc == 1 && a.want_comp)
			(void)pvb_vsc_nvsp(g, &reply);
		return true;
	}
	if (pvb_rndis_ctl_decode(a.rndis, a.rndis_len, &c) != 0)
		return false;
	rc = pvb_vsp_rndis(h, &c, a.rndis, rep, sizeof(rep));
	if (rc > 0 && pvb_rndis_ctl_decode(rep, (uint32_t)rc, &c) == 0)
		(void)pvb_vsc_rndis(g, &c, rep);
	return true;
}

/* Set-up done? Then hand the rings to the bursts (netvsp/netvsc_ctrl_step()). */
static void
go_data(struct fuzz *f)
{
	struct nvport *p = f->p;
	struct netvsc_port *g;

	if (pvb_load_relaxed(&p->state) == NVPORT_DATA)
		return;
	if (!f->guest) {
		if (host_port(f)->vsp.state == PVB_VSP_RNDIS_READY && p->rxbuf != NULL &&
		    p->sendbuf != NULL)
			nvport_set_state(p, NVPORT_DATA);
		return;
	}
	g = guest_port(f);
	if (!pvb_vsc_ready(&g->vsc) || g->sect.n == 0)
		return;
	g->agg_max = RTE_MIN(g->section_size, g->vsc.max_xfer);
	g->agg_pkts = g->vsc.max_pkts_per_msg;
	g->align = g->vsc.align;
	pvb_store_relaxed(&g->link_up, g->vsc.link_up);
	pvb_store_relaxed(&g->ofl, g->vsc.offload);
	nvport_set_state(p, NVPORT_DATA);
}

static void
setup(struct fuzz *f, unsigned int depth, uint8_t b)
{
	uint32_t filter = PVB_RNDIS_FILTER_DIRECTED | PVB_RNDIS_FILTER_BROADCAST |
			  PVB_RNDIS_FILTER_ALL_MULTICAST;
	unsigned int i, steps = depth <= 5 ? SETUP_MAX : depth == 6 ? (b & 0x1f) : 0;

	if (b & 0x80)
		filter |= PVB_RNDIS_FILTER_PROMISCUOUS;
	pvb_vsc_set_filter(f->guest ? &guest_port(f)->vsc : &f->vsc, filter);
	/* the guest asks for every offload (the PMD's default) unless bit 6 */
	(f->guest ? &guest_port(f)->vsc : &f->vsc)->cfg.offload = b & 0x40 ? 0 : PVB_OFL_ALL;
	for (i = 0; i < steps; i++) {
		if (f->guest) {
			if (!pair_step(&guest_port(f)->vsc, &f->host))
				break;
			guest_sections(f);
		} else {
			if (!pair_step(&f->vsc, &host_port(f)->vsp))
				break;
			host_buffers(f);
		}
	}
	nvport_set_state(f->p, NVPORT_CTRL);
	go_data(f);
}

static void
peer_attach(struct fuzz *f)
{
	struct pvb_vmbus_mem m;

	f->po = &f->peer_outs[f->cur];
	f->pi = &f->peer_ins[f->cur];
	f->rbase = f->cur == 0 ? region : subregion;
	/* may be refused after pokes: the peer's writes and reads then fail */
	if (pvb_vmbus_mem_flat(&m, f->rbase + f->in_off, RING) == 0)
		(void)pvb_vmbus_out_attach(f->po, &m, 0);
	if (pvb_vmbus_mem_flat(&m, f->rbase + f->out_off, RING) == 0)
		(void)pvb_vmbus_in_attach(f->pi, &m);
}

/*
 * Subchannel 1: its own ring pair, as the control threads open it; with RSS
 * on, the host steers by a table over both channels.
 */
static void
sub_build(struct fuzz *f, unsigned int nrec)
{
	uint8_t r = in_u8(f);
	unsigned int i;

	f->sub = nvchan_new(nrec, SOCKET_ID_ANY);
	CHECK(f->sub != NULL);
	memset(subregion, 0, SUBREGION);
	f->sub->shm = (struct pvb_shm){ .fd = -1, .base = subregion, .len = SUBREGION,
					.page_size = PVB_VMBUS_PAGE };
	CHECK(nvchan_attach_rings(f->sub, f->in_off, RING, f->out_off, RING) == 0);
	nvchan_set_parent(f->sub, f->ch, 1);
	f->p->chs[1] = f->sub;
	f->p->nchan = 2;
	f->p->nb_queues = 2;
	f->p->rxq[1] = f->p->rxq[0];
	f->p->rxq[1].qid = 1;
	f->p->txq[1].port = f->p;
	f->p->txq[1].qid = 1;
	f->p->txq[1].swol = swol;
	f->cur = 1;
	peer_attach(f);
	f->cur = 0;
	peer_attach(f);
	if (!f->guest && (r & 1)) {
		struct netvsp_port *v = host_port(f);

		v->rss[0].types = (uint32_t)(r & 0x1e) << 7;
		for (i = 0; i < sizeof(v->rss[0].key); i++)
			v->rss[0].key[i] = in_u8(f);
		for (i = 0; i < PVB_NDIS_RSS_TABLE_N; i++)
			v->rss[0].table[i] = (uint8_t)((i ^ r) & 1);
		pvb_store_relaxed(&v->rss_cur, 1);
	}
}

static bool
port_build(struct fuzz *f)
{
	static const uint32_t nrec[] = { 4, 16, 64, 256 };
	uint8_t cfg = in_u8(f), b = in_u8(f);
	size_t size;

	f->guest = cfg & 1;
	size = f->guest ? sizeof(struct netvsc_port) : sizeof(struct netvsp_port);
	f->p = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(size, RTE_CACHE_LINE_SIZE));
	if (f->p == NULL)
		return false;
	memset(f->p, 0, size);
	f->ch = nvchan_new(nrec[(cfg >> 1) & 3], SOCKET_ID_ANY);
	if (f->ch == NULL) {
		free(f->p);
		return false;
	}
	memset(region, 0, REGION);
	/* the region is ours, not a memfd: emptied again before the last put */
	f->ch->shm = (struct pvb_shm){ .fd = -1, .base = region, .len = REGION,
				       .page_size = PVB_VMBUS_PAGE };
	f->in_off = f->guest ? RING : 0;
	f->out_off = f->guest ? 0 : RING;
	CHECK(nvchan_attach_rings(f->ch, f->in_off, RING, f->out_off, RING) == 0);
	f->cur = 0;
	peer_attach(f);
	f->p->ch = f->ch;
	f->p->chs[0] = f->ch;
	f->p->nchan = 1;
	f->p->nb_queues = 1;
	f->p->port_id = PORT_ID;
	f->p->socket_id = SOCKET_ID_ANY;
	f->p->mtu = MTU;
	f->p->copybreak = cfg & 0x10 ? 128 : 0;
	f->p->rxq[0].port = f->p;
	f->p->rxq[0].mp = pool;
	f->p->txq[0].port = f->p;
	f->p->txq[0].swol = swol;
	if (f->guest) {
		guest_init(f, cfg & 8);
	} else {
		host_init(f);
		/* the slot pool lends from this run's port (its driver's pool_config) */
		slot_pool->pool_config = f->p;
	}
	setup(f, cfg >> 5, b);
	if (b & 0x20)
		sub_build(f, nrec[(cfg >> 1) & 3]);
	return true;
}

/* ----------------------------------------------------------------------------
 * The application
 */

/* A frame the PMD delivered: its chain and lengths agree, its bytes are where they may be. */
static void
check_frame(const struct rte_mbuf *m)
{
	const struct rte_mbuf *s;
	uint32_t len = 0, segs = 0;

	CHECK(m->port == PORT_ID);
	for (s = m; s != NULL; s = s->next) {
		CHECK(++segs <= POOL_N);
		CHECK((uint32_t)s->data_off + s->data_len <= s->buf_len);
		if (RTE_MBUF_HAS_EXTBUF(s))
			CHECK((const uint8_t *)s->buf_addr >= region &&
			      (const uint8_t *)s->buf_addr + s->buf_len <= region + REGION);
		len += s->data_len;
	}
	CHECK(segs == m->nb_segs && len == m->pkt_len);
	/* an offload request handed on: checked headers, in the first segment */
	if (m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG)) {
		CHECK((uint32_t)m->l2_len + m->l3_len + m->l4_len <= m->data_len);
		CHECK(!(m->ol_flags & RTE_MBUF_F_TX_IPV4) != !(m->ol_flags & RTE_MBUF_F_TX_IPV6));
		CHECK(!(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM));
		if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)
			CHECK(m->tso_segsz != 0 && m->l4_len >= 20 &&
			      (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM);
	}
}

/*
 * Ethernet, IPv4 (20) or IPv6 (40), TCP (20) or UDP (8) headers at @p d of a
 * frame of @p len bytes, lengths true; the destination MAC is left alone.
 * Their length, 0 if they do not fit in @p room.
 */
static uint32_t
put_headers(uint8_t *d, uint32_t room, uint32_t len, bool v6, bool udp)
{
	uint32_t l3 = v6 ? 40 : 20, l4 = udp ? 8 : 20, ip_len = len - 14;

	if (room < 14 + l3 + l4 || len < 14 + l3 + l4 || ip_len > 0xffff)
		return 0;
	d[12] = v6 ? 0x86 : 0x08;
	d[13] = v6 ? 0xdd : 0x00;
	memset(d + 14, 0, l3 + l4);
	if (v6) {
		d[14] = 0x60;
		d[18] = (uint8_t)((ip_len - 40) >> 8);
		d[19] = (uint8_t)(ip_len - 40);
		d[20] = udp ? 17 : 6;
		d[21] = 64;
	} else {
		d[14] = 0x45;
		d[16] = (uint8_t)(ip_len >> 8);
		d[17] = (uint8_t)ip_len;
		d[22] = 64;
		d[23] = udp ? 17 : 6;
	}
	if (udp) {
		d[14 + l3 + 4] = (uint8_t)((ip_len - l3) >> 8);
		d[14 + l3 + 5] = (uint8_t)(ip_len - l3);
	} else {
		d[14 + l3 + 12] = 0x50;	/* data offset: 20 bytes */
	}
	return 14 + l3 + l4;
}

/*
 * Ask for offloads on @p m (its first segment has the headers when they
 * fit): checksums, segmentation to an MSS from the input, or checksum
 * results only; lengths in the mbuf right or taken from the input.
 */
static void
tx_offload(struct fuzz *f, struct rte_mbuf *m)
{
	uint8_t how = in_u8(f);
	bool v6 = how & 1, udp = how & 2;
	uint32_t h = put_headers(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, m->pkt_len, v6,
				 udp);

	if (h == 0 && !(how & 0x40))
		return;
	m->l2_len = 14;
	m->l3_len = v6 ? 40 : 20;
	m->l4_len = udp ? 8 : 20;
	if (how & 0x40) {	/* lengths that lie */
		m->l2_len = in_u8(f);
		m->l3_len = in_u8(f);
		m->l4_len = in_u8(f);
	}
	if (how & 0x10) {	/* results only: the host passes them on as a PPI */
		m->ol_flags |= (how & 0x20 ? RTE_MBUF_F_RX_L4_CKSUM_BAD :
					     RTE_MBUF_F_RX_L4_CKSUM_GOOD) |
			       RTE_MBUF_F_RX_IP_CKSUM_GOOD;
		return;
	}
	m->ol_flags |= (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
		       (udp ? RTE_MBUF_F_TX_UDP_CKSUM : RTE_MBUF_F_TX_TCP_CKSUM);
	if (how & 0x80)
		m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
	if (!udp && (how & 4)) {
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
		m->tso_segsz = (uint16_t)(64 + in_u8(f) * 4);
	}
}

static void
hold(struct fuzz *f, struct rte_mbuf *m)
{
	if (f->nheld < HELD_MAX)
		f->held[f->nheld++] = m;
	else
		rte_pktmbuf_free(m);
}

static void
op_rx(struct fuzz *f, unsigned int a, bool keep)
{
	static const uint16_t sizes[8] = { 1, 2, 3, 4, 8, 16, 32, 64 };
	struct rte_mbuf *pkts[BURST_MAX];
	uint16_t n = sizes[a & 7], got, i;

	got = f->guest ? netvsc_rx_burst(&f->p->rxq[f->cur], pkts, n) :
			 netvsp_rx_burst(&f->p->rxq[f->cur], pkts, n);
	CHECK(got <= n);
	for (i = 0; i < got; i++) {
		check_frame(pkts[i]);
		if (keep)
			hold(f, pkts[i]);
	}
	if (!keep)
		rte_pktmbuf_free_bulk(pkts, got);
}

static void
op_free(struct fuzz *f, unsigned int a)
{
	unsigned int k = a == 0 ? f->nheld : RTE_MIN(f->nheld, a);

	/* the oldest first: records complete out of order when a is odd */
	if (a & 1) {
		rte_pktmbuf_free_bulk(f->held + f->nheld - k, k);
	} else {
		rte_pktmbuf_free_bulk(f->held, k);
		memmove(f->held, f->held + k, (f->nheld - k) * sizeof(f->held[0]));
	}
	f->nheld -= k;
}

/* A frame to send: a destination the filter cares about, a length, maybe a chain or a VLAN. */
static struct rte_mbuf *
tx_frame(struct fuzz *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	uint8_t kind = in_u8(f);
	uint32_t len = in_uint(f, 2) % 2200, first;
	struct rte_mbuf *m, *t;
	uint8_t *d;

	/*
	 * Send back a frame we hold. The PMDs copy a frame the peer put at an
	 * odd address (an application reads its Ethernet header as 2-byte
	 * aligned, and netvsp_filter() does): check that they did.
	 */
	if ((kind & 0x30) == 0x30 && f->nheld > 0) {
		if ((rte_pktmbuf_mtod(f->held[f->nheld - 1], uintptr_t) & 1) != 0)
			abort();
		return f->held[--f->nheld];
	}
	/* host: a frame in a slot the slot pool lent (sent in place), when it lends one */
	if (!f->guest && (kind & 0x40) && (m = rte_pktmbuf_alloc(slot_pool)) != NULL) {
		len = RTE_MAX(len % (rte_pktmbuf_tailroom(m) + 1), (uint32_t)RTE_ETHER_HDR_LEN);
		d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
		CHECK(d != NULL);
		/* the bytes are the guest's receive buffer: inside the region */
		CHECK(d >= region && d + len <= region + REGION);
		memset(d, kind, len);
		memcpy(d, (kind & 1) ? bcast : guest_mac, 6);
		return m;
	}
	m = rte_pktmbuf_alloc(pool);
	if (m == NULL)
		return NULL;
	/* two segments, or one as long as it fits */
	first = RTE_MIN(kind & 4 ? len / 2 : len, DATA_ROOM);
	d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)first);
	CHECK(d != NULL);
	memset(d, kind, first);
	if (first >= 6 && (kind & 3) != 3)
		memcpy(d, (kind & 3) == 0 ? bcast : (kind & 3) == 1 ? mcast : guest_mac, 6);
	if (len > first) {
		t = rte_pktmbuf_alloc(pool);
		d = t != NULL ? (uint8_t *)rte_pktmbuf_append(t, (uint16_t)RTE_MIN(len - first,
										      DATA_ROOM)) : NULL;
		if (d == NULL) {
			rte_pktmbuf_free(t);
			rte_pktmbuf_free(m);
			return NULL;
		}
		memset(d, kind, t->data_len);
		CHECK(rte_pktmbuf_chain(m, t) == 0);
	}
	if (kind & 8) {
		m->ol_flags |= RTE_MBUF_F_TX_VLAN;
		m->vlan_tci = (uint16_t)in_uint(f, 2);
	}
	if (kind & 0x80)
		tx_offload(f, m);
	return m;
}

static void
op_tx(struct fuzz *f, unsigned int a)
{
	struct rte_mbuf *pkts[BURST_MAX];
	uint16_t n = 0, sent, i;

	for (i = 0; i < 1 + (a & 7); i++) {
		pkts[n] = tx_frame(f);
		n += pkts[n] != NULL;
	}
	sent = f->guest ? netvsc_tx_burst(&f->p->txq[f->cur], pkts, n) :
			  netvsp_tx_burst(&f->p->txq[f->cur], pkts, n);
	CHECK(sent <= n);
	/* what was not taken is ours again: held frames go back, fresh ones are freed */
	for (i = sent; i < n; i++)
		hold(f, pkts[i]);
}

/* The guest PMD's control thread sends what its VSC wants (netvsc_vsc_send()). */
static void
guest_ctrl_send(struct fuzz *f)
{
	struct netvsc_port *g = guest_port(f);
	struct nvchan *ch = f->ch;
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	unsigned int i;
	int rc;

	for (i = 0; i < 4; i++) {
		guest_sections(f);
		if (!f->have_act) {
			pvb_vsc_next(&g->vsc, &f->act);
			if (f->act.kind == PVB_VSC_ACT_NONE)
				return;
			f->have_act = true;
		}
		if (f->act.kind == PVB_VSC_ACT_RNDIS) {
			if (g->sect.n == 0)
				return;
			rc = netvsc_send_ctl(g, &f->act);
		} else {
			rte_spinlock_lock(&ch->out_lock);
			rc = pvb_vmbus_out_inband(&ch->out, 0, f->act.want_comp ?
						  PVB_VMBUS_FLAG_COMPLETION_REQUESTED : 0, buf,
						  pvb_nvsp_encode(&f->act.nvsp, buf));
			(void)pvb_vmbus_out_commit(&ch->out);
			rte_spinlock_unlock(&ch->out_lock);
		}
		if (rc != 0)
			return;
		f->have_act = false;
	}
}

static void
op_ctrl(struct fuzz *f)
{
	bool ctrl = pvb_load_relaxed(&f->p->state) != NVPORT_DATA;

	if (f->guest) {
		rte_spinlock_lock(&f->ch->in_lock);
		guest_ctrl_send(f);
		rte_spinlock_unlock(&f->ch->in_lock);
		netvsc_ctrl_events(f->p, NVPORT_ALL_CHANNELS);
	} else {
		netvsp_ctrl_events(f->p, NVPORT_ALL_CHANNELS);
	}
	if (ctrl)
		go_data(f);
}

/* ----------------------------------------------------------------------------
 * The peer
 */

static uint8_t *
area(struct fuzz *f, enum area a, uint32_t *len)
{
	switch (a) {
	case AREA_RXBUF:
		*len = RXBUF;
		return region + RXBUF_OFF;
	case AREA_SENDBUF:
		*len = SENDBUF;
		return region + SENDBUF_OFF;
	case AREA_IN_RING:
		*len = RING - PVB_VMBUS_CTL_SIZE;
		return f->rbase + f->in_off + PVB_VMBUS_CTL_SIZE;
	default:
		*len = REGION;
		f->out_scribbled = true;
		return region;
	}
}

/* NVSP payload: a message of a known type built by the codec from a few bytes, or raw. */
static uint32_t
nvsp_payload(struct fuzz *f, uint8_t *buf, uint32_t cap)
{
	static const uint32_t types[] = {
		PVB_NVSP_SEND_RNDIS_PKT, PVB_NVSP_SEND_RNDIS_PKT_COMPLETE, PVB_NVSP_INIT,
		PVB_NVSP_INIT_COMPLETE, PVB_NVSP_SEND_NDIS_VER, PVB_NVSP_SEND_RECV_BUF,
		PVB_NVSP_SEND_RECV_BUF_COMPLETE, PVB_NVSP_REVOKE_RECV_BUF, PVB_NVSP_SEND_SEND_BUF,
		PVB_NVSP_SEND_SEND_BUF_COMPLETE, PVB_NVSP_REVOKE_SEND_BUF, PVB_NVSP_SEND_NDIS_CONFIG,
		PVB_NVSP_SUBCHANNEL, PVB_NVSP_INDIRECTION_TABLE,
	};
	uint8_t b = in_u8(f), sec;
	struct pvb_nvsp_msg m;
	uint32_t i, len;

	if (b & 0x80) {
		len = RTE_MIN((uint32_t)in_u8(f) % 64, cap);
		for (i = 0; i < len; i++)
			buf[i] = in_u8(f);
		return len;
	}
	memset(&m, 0, sizeof(m));
	m.type = types[b % RTE_DIM(types)];
	switch (m.type) {
	case PVB_NVSP_SEND_RNDIS_PKT:
		m.u.rndis.channel_type = (b >> 4) & 1;
		sec = in_u8(f);
		m.u.rndis.section_index = sec == 0xff ? PVB_NVSP_NO_SECTION : sec;
		m.u.rndis.section_size = in_uint(f, 2);
		break;
	case PVB_NVSP_SEND_RNDIS_PKT_COMPLETE:
		m.u.rndis_complete.status = (b >> 4) & 7;
		break;
	case PVB_NVSP_SEND_RECV_BUF:
	case PVB_NVSP_SEND_SEND_BUF:
		m.u.send_buf.gpadl = (b >> 4) & 3;
		m.u.send_buf.id = b & 0x40 ? PVB_NVSP_RXBUF_ID : PVB_NVSP_TXBUF_ID;
		break;
	default:
		for (i = 0; i < sizeof(m.u); i++)
			((uint8_t *)&m.u)[i] = in_u8(f);
	}
	return pvb_nvsp_encode(&m, buf);
}

/* A transaction id: small (slots, records) or a guest cookie, or any. */
static uint64_t
trans_id(struct fuzz *f)
{
	uint8_t b = in_u8(f);

	switch (b >> 6) {
	case 0:
		return b & 0x3f;
	case 1:
		return NETVSC_COOKIE(NETVSC_COOKIE_SECTIONS, 1 + (b & 3), in_u8(f));
	case 2:
		return NETVSC_COOKIE(NETVSC_COOKIE_HOLD, 0, in_uint(f, 2));
	default:
		return ((uint64_t)in_uint(f, 4) << 32) | in_uint(f, 4);
	}
}

static void
peer_commit(struct fuzz *f)
{
	(void)pvb_vmbus_out_commit(f->po);
}

static void
op_packet(struct fuzz *f, enum op op, unsigned int a)
{
	uint8_t pl[PVB_NVSP_MSG_SIZE + 64];
	struct pvb_vmbus_xfer_range xr[8];
	struct pvb_vmbus_gpa g[2];
	uint64_t pfn[2][4];
	uint16_t flags = a & 1 ? PVB_VMBUS_FLAG_COMPLETION_REQUESTED : 0;
	uint64_t id = trans_id(f);
	uint32_t len, n, i, j, pages;

	len = nvsp_payload(f, pl, sizeof(pl));
	switch (op) {
	case OP_INBAND:
		(void)pvb_vmbus_out_inband(f->po, id, flags, pl, len);
		break;
	case OP_COMP:
		(void)pvb_vmbus_out_comp(f->po, id, pl, len);
		break;
	case OP_XFER:
		n = 1 + ((a >> 1) & 7);
		for (i = 0; i < n; i++) {
			/* a slot of the host's layout, or anywhere */
			xr[i].byte_offset = a & 0x10 ? in_uint(f, 3) : in_u8(f) * 1664u;
			xr[i].byte_count = in_uint(f, 2);
		}
		(void)pvb_vmbus_out_xfer(f->po, id, flags, in_u8(f) & 1 ? in_uint(f, 2) :
					 PVB_NVSP_RXBUF_ID, xr, n, pl, len);
		break;
	default:
		n = 1 + ((a >> 1) & 1);
		for (i = 0; i < n; i++) {
			g[i].byte_offset = in_uint(f, 2) % PVB_VMBUS_PAGE;
			g[i].byte_count = 1 + in_uint(f, 2) % (3 * PVB_VMBUS_PAGE);
			g[i].pfn = pfn[i];
			pages = pvb_vmbus_gpa_pages(g[i].byte_offset, g[i].byte_count);
			pfn[i][0] = in_u8(f) % (REGION / PVB_VMBUS_PAGE + 2);
			/* contiguous, as a PMD sends them, unless the input says otherwise */
			for (j = 1; j < pages; j++)
				pfn[i][j] = a & 4 ? in_u8(f) : pfn[i][0] + j;
		}
		(void)pvb_vmbus_out_gpa(f->po, id, flags, g, n, pl, len);
	}
	peer_commit(f);
}

/*
 * The peer names the bytes it just wrote in a packet, as it would: a send
 * section in an NVSP 107 (host PMD), a transfer-page range (guest PMD), or
 * region pages by GPA-direct. @p control: an RNDIS control message.
 */
static void
announce(struct fuzz *f, enum area a, uint32_t off, uint32_t len, bool control)
{
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RNDIS_PKT };
	struct pvb_vmbus_xfer_range xr = { .byte_count = len, .byte_offset = off };
	uint8_t pl[PVB_NVSP_MSG_SIZE];
	uint64_t pfn[RXBUF / PVB_VMBUS_PAGE + 2], id = trans_id(f), at;
	struct pvb_vmbus_gpa g = { .byte_count = len, .pfn = pfn };
	uint32_t i;

	m.u.rndis.channel_type = control ? PVB_NVSP_RNDIS_CONTROL : PVB_NVSP_RNDIS_DATA;
	m.u.rndis.section_index = PVB_NVSP_NO_SECTION;
	if (a == AREA_SENDBUF) {
		m.u.rndis.section_index = off / SECTION;
		m.u.rndis.section_size = len;
		(void)pvb_vmbus_out_inband(f->po, id, PVB_VMBUS_FLAG_COMPLETION_REQUESTED,
					   pl, pvb_nvsp_encode(&m, pl));
	} else if (a == AREA_RXBUF) {
		(void)pvb_vmbus_out_xfer(f->po, id, PVB_VMBUS_FLAG_COMPLETION_REQUESTED,
					 PVB_NVSP_RXBUF_ID, &xr, 1, pl, pvb_nvsp_encode(&m, pl));
	} else {
		at = (a == AREA_IN_RING ? f->in_off + PVB_VMBUS_CTL_SIZE : 0) + off;
		g.byte_offset = (uint32_t)(at % PVB_VMBUS_PAGE);
		if (len == 0 || pvb_vmbus_gpa_pages(g.byte_offset, len) > RTE_DIM(pfn))
			return;
		for (i = 0; i < pvb_vmbus_gpa_pages(g.byte_offset, len); i++)
			pfn[i] = at / PVB_VMBUS_PAGE + i;
		(void)pvb_vmbus_out_gpa(f->po, id, PVB_VMBUS_FLAG_COMPLETION_REQUESTED, &g,
					1, pl, pvb_nvsp_encode(&m, pl));
	}
	peer_commit(f);
}

/*
 * @p len bytes where a byte of the input says: bits 0-1 the area, bit 2 at
 * a slot (bit 3: a send section) the next byte numbers, else at any offset;
 * bit 4: and name them in a packet (announce()). What passes the end is cut.
 */
static void
put_bytes(struct fuzz *f, const void *src, uint32_t len, bool control)
{
	uint8_t w = in_u8(f);
	enum area a = (enum area)(w & 3);
	uint32_t alen, off;
	uint8_t *dst = area(f, a, &alen);

	off = w & 4 ? (in_u8(f) * (w & 8 ? SECTION : 1664u)) % alen : in_uint(f, 3) % alen;
	len = RTE_MIN(len, alen - off);
	memcpy(dst + off, src, len);
	if (w & 0x10)
		announce(f, a, off, len, control);
}

/* RNDIS data messages back to back (a section's stream), PPIs and frame from the input. */
static void
op_buf_data(struct fuzz *f, unsigned int a)
{
	static uint8_t buf[4 * 2048];
	struct pvb_rndis_pktinfo pi;
	uint32_t len = 0, i, k, frame, b;

	for (k = 0; k <= (a & 3); k++) {
		uint32_t o, hlen;
		uint8_t x;

		b = in_u8(f);
		x = b & 0x40 ? in_u8(f) : 0;
		memset(&pi, 0, sizeof(pi));
		pi.present = (b & 0xf) | (x & 1 ? PVB_PI_LSO : 0);
		pi.csum = in_u8(f);
		pi.vlan = in_uint(f, 2);
		pi.hash = in_uint(f, 4);
		pi.lso = in_uint(f, 4);
		/* a large frame (over several receive slots) now and then */
		frame = in_uint(f, 2) % (x & 2 ? 6000 : 1800);
		if (len + 44 + 5 * 16 + frame + 8 > sizeof(buf))
			break;
		hlen = pvb_rndis_data_hdr_len(&pi);
		memset(buf + len + hlen, (int)b, frame);
		/* real headers, and PPIs that match them unless the input breaks them */
		o = x & 4 ? put_headers(buf + len + hlen, frame, frame, x & 8, x & 16) : 0;
		if (o != 0 && !(x & 0x20)) {
			uint32_t l4 = (x & 8 ? 54u : 34u);

			pi.csum = (x & 8 ? PVB_RNDIS_TXCSUM_IPV6 : PVB_RNDIS_TXCSUM_IPV4) |
				  (x & 16 ? PVB_RNDIS_TXCSUM_UDP : PVB_RNDIS_TXCSUM_TCP) |
				  PVB_RNDIS_TXCSUM_MK_OFF(l4) | (x & 0x80 ? PVB_RNDIS_TXCSUM_IP : 0);
			pi.lso = PVB_RNDIS_LSO2_MK(1 + (pi.lso & 0x7ff), l4, x & 8);
		}
		i = pvb_rndis_data_encode(buf + len, frame, &pi, b & 0x10 ? 1 : 8);
		/* now and then a header field broken after encoding */
		if (b & 0x20)
			buf[len + in_u8(f) % 44] ^= in_u8(f);
		len += i;
	}
	put_bytes(f, buf, len, false);
}

static void
op_buf_ctl(struct fuzz *f)
{
	static const uint32_t types[] = {
		PVB_RNDIS_INITIALIZE_CMPLT, PVB_RNDIS_QUERY_CMPLT, PVB_RNDIS_SET_CMPLT,
		PVB_RNDIS_INDICATE_STATUS_MSG, PVB_RNDIS_KEEPALIVE_CMPLT, PVB_RNDIS_RESET_CMPLT,
		PVB_RNDIS_INITIALIZE_MSG, PVB_RNDIS_QUERY_MSG, PVB_RNDIS_SET_MSG,
		PVB_RNDIS_HALT_MSG, PVB_RNDIS_KEEPALIVE_MSG, PVB_RNDIS_RESET_MSG,
	};
	static const uint32_t oids[] = {
		PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS, PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE,
		PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER,
		PVB_RNDIS_OID_GEN_LINK_SPEED, PVB_RNDIS_OID_802_3_CURRENT_ADDRESS,
		PVB_RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE, PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
	};
	static const uint32_t status[] = {
		PVB_RNDIS_STATUS_SUCCESS, PVB_RNDIS_STATUS_MEDIA_CONNECT,
		PVB_RNDIS_STATUS_MEDIA_DISCONNECT, PVB_RNDIS_STATUS_FAILURE,
	};
	struct pvb_rndis_ctl c;
	uint8_t info[32], buf[128];
	uint32_t i, b = in_u8(f);
	int len;

	memset(&c, 0, sizeof(c));
	c.type = types[b % RTE_DIM(types)];
	c.request_id = in_u8(f);
	c.status = status[(b >> 4) & 3];
	c.oid = oids[in_u8(f) & 7];
	c.info_len = in_u8(f) % (sizeof(info) + 1);
	for (i = 0; i < c.info_len; i++)
		info[i] = in_u8(f);
	c.major = PVB_RNDIS_MAJOR;
	c.max_transfer_size = in_uint(f, 2);
	c.max_packets_per_message = in_u8(f);
	c.packet_alignment_factor = in_u8(f) & 7;
	len = pvb_rndis_ctl_encode(&c, info, buf, sizeof(buf));
	if (len > 0)
		put_bytes(f, buf, (uint32_t)len, true);
}

static void
op_buf_raw(struct fuzz *f, unsigned int a)
{
	uint8_t buf[256];
	uint32_t len = in_u8(f), i;

	for (i = 0; i < len; i++)
		buf[i] = in_u8(f);
	put_bytes(f, buf, len, a & 1);
}

/* What the PMD wrote, as its peer reads it: within its buffers. */
static void
check_out_packet(struct fuzz *f, const struct pvb_vmbus_pkt *pk)
{
	struct pvb_vmbus_xfer_range rg;
	struct pvb_vmbus_gpa_iter it = { 0 };
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	struct pvb_nvsp_msg m;
	uint64_t pfn[32];
	uint32_t i;
	int np, len;

	len = pvb_vmbus_in_payload(f->pi, pk, buf, sizeof(buf));
	CHECK(len >= 0 && pvb_nvsp_decode(buf, (uint32_t)RTE_MIN(len, (int)sizeof(buf)), &m) == 0);
	if (pk->type == PVB_VMBUS_PKT_DATA_XFER_PAGES) {
		CHECK(!f->guest && pk->xfer_set_id == PVB_NVSP_RXBUF_ID);
		for (i = 0; i < pk->range_count; i++) {
			CHECK(pvb_vmbus_in_xfer_range(f->pi, pk, i, &rg) == 0);
			CHECK((uint64_t)rg.byte_offset + rg.byte_count <= RXBUF);
		}
	} else if (pk->type == PVB_VMBUS_PKT_DATA_GPA_DIRECT) {
		np = pvb_vmbus_in_gpa_next(f->pi, pk, &it, &rg, pfn, RTE_DIM(pfn));
		CHECK(f->guest && np > 0 && np <= (int)RTE_DIM(pfn));
		for (i = 0; i < (uint32_t)np; i++)
			CHECK(pfn[i] < REGION / PVB_VMBUS_PAGE);
	} else if (m.type == PVB_NVSP_SEND_RNDIS_PKT && pk->type == PVB_VMBUS_PKT_DATA_INBAND) {
		CHECK(f->guest && m.u.rndis.section_index < SENDBUF / SECTION);
		CHECK(m.u.rndis.section_size <= SECTION);
	}
}

/*
 * The peer reads what the PMD wrote and completes what asks for it: bit 0
 * completes, bit 1 with a failure status, bit 2 twice, bit 3 reads one only.
 */
static void
op_peer(struct fuzz *f, unsigned int a)
{
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RNDIS_PKT_COMPLETE };
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	struct pvb_vmbus_pkt pk;
	unsigned int i;
	int rc;

	m.u.rndis_complete.status = a & 2 ? PVB_NVSP_STAT_FAIL : PVB_NVSP_STAT_SUCCESS;
	pvb_nvsp_encode(&m, buf);
	for (i = 0; i < 256; i++) {
		rc = pvb_vmbus_in_peek(f->pi, &pk);
		/* the PMD writes a valid ring unless the fuzzer wrote over it */
		CHECK(rc != -EPIPE || f->out_scribbled);
		if (rc != 0)
			break;
		if (!f->out_scribbled)
			check_out_packet(f, &pk);
		if ((a & 1) && (pk.flags & PVB_VMBUS_FLAG_COMPLETION_REQUESTED)) {
			(void)pvb_vmbus_out_comp(f->po, pk.trans_id, buf, sizeof(buf));
			if (a & 4)
				(void)pvb_vmbus_out_comp(f->po, pk.trans_id, buf,
							 sizeof(buf));
		}
		pvb_vmbus_in_consume(f->pi, &pk);
		if (a & 8)
			break;
	}
	(void)pvb_vmbus_in_commit(f->pi);
	peer_commit(f);
}

/* Ring words: the PMD's incoming write_index, mask or feature bits, its outgoing read_index. */
static void
op_poke(struct fuzz *f, unsigned int a)
{
	struct pvb_vmbus_ctl *in = (struct pvb_vmbus_ctl *)(void *)(f->rbase + f->in_off);
	struct pvb_vmbus_ctl *out = (struct pvb_vmbus_ctl *)(void *)(f->rbase + f->out_off);
	uint32_t v = in_uint(f, a & 4 ? 4 : 2);

	/* relaxed: one thread plays the PMD and its peer */
	switch (a & 3) {
	case 0:
		pvb_store_relaxed(&in->write_index, v);
		break;
	case 1:
		pvb_store_relaxed(a & 8 ? &in->feature_bits : &in->interrupt_mask, v);
		break;
	case 2:
		pvb_store_relaxed(&out->read_index, v);
		f->out_scribbled = true;
		break;
	default:
		pvb_store_relaxed(&out->pending_send_sz, v);
	}
}

/* ----------------------------------------------------------------------------
 * A run
 */

static void
run_script(struct fuzz *f)
{
	unsigned int op, a;

	while (f->pos < f->n) {
		op = in_u8(f);
		a = op >> 4;
		switch (op & 15) {
		case OP_INBAND:
		case OP_COMP:
		case OP_XFER:
		case OP_GPA:
			op_packet(f, (enum op)(op & 15), a);
			break;
		case OP_BUF_DATA:
			op_buf_data(f, a);
			break;
		case OP_BUF_CTL:
			op_buf_ctl(f);
			break;
		case OP_BUF_RAW:
			op_buf_raw(f, a);
			break;
		case OP_RX:
		case OP_RX2:
			op_rx(f, a, (op & 15) == OP_RX);
			break;
		case OP_TX:
		case OP_TX2:
			op_tx(f, a);
			break;
		case OP_CTRL:
			op_ctrl(f);
			break;
		case OP_PEER:
			op_peer(f, a);
			break;
		case OP_FREE:
			op_free(f, a);
			break;
		case OP_POKE:
			op_poke(f, a);
			break;
		default:	/* OP_REATTACH; bit 3: to the channel of bit 0 */
			if ((a & 8) && f->sub != NULL)
				f->cur = a & 1;
			peer_attach(f);
		}
	}
}

/*
 * A subchannel's records all free or owed, its references the port's (and
 * the record in progress); then dropped, as nvport_drop_channel() does.
 */
static void
chan_check_drop(struct nvchan *ch)
{
	uint32_t pending = pvb_load_relaxed(&ch->nstash) + rte_ring_count(ch->compq);

	CHECK(ch->rec_nfree + pending + (ch->cur_rec != NULL) == ch->nrec);
	CHECK(pvb_load_relaxed(&ch->refcnt) == 1u + (ch->cur_rec != NULL));
	if (ch->cur_rec != NULL)
		nvchan_rec_parsed(ch->cur_rec);
	ch->cur_rec = NULL;
	nvchan_kill(ch);
	ch->shm = (struct pvb_shm){ .fd = -1 };
	nvchan_put(ch);
}

/* Take the channel down as the control thread does, and check nothing is left behind. */
static void
port_teardown(struct fuzz *f)
{
	struct nvport *p = f->p;
	struct nvchan *ch = f->ch;
	uint32_t pending;

	op_free(f, 0);
	nvport_set_state(p, NVPORT_DOWN);
	if (f->guest)
		netvsc_tx_free(guest_port(f));	/* frees the frames held for the host */
	else
		netvsp_slots_free(host_port(f));
	/* the subchannel first: it holds the primary */
	if (f->sub != NULL) {
		chan_check_drop(f->sub);
		CHECK(pvb_load_relaxed(&ch->refcnt) == 1u + (ch->cur_rec != NULL));
	}
	/* every record is free, waiting to be written, or the one in progress */
	pending = pvb_load_relaxed(&ch->nstash) + rte_ring_count(ch->compq);
	CHECK(ch->rec_nfree + pending + (ch->cur_rec != NULL) == ch->nrec);
	CHECK(pvb_load_relaxed(&ch->refcnt) == 1u + (ch->cur_rec != NULL));
	if (ch->cur_rec != NULL)
		nvchan_rec_parsed(ch->cur_rec);
	ch->cur_rec = NULL;
	nvchan_kill(ch);
	ch->shm = (struct pvb_shm){ .fd = -1 };
	nvchan_put(ch);
	free(p);
	CHECK(rte_mempool_avail_count(pool) == POOL_N);
	/* every lent mbuf came back, and the lend state went with the channel */
	CHECK(rte_mempool_avail_count(slot_pool) == SLOT_POOL_N);
	/* and every segment or header software offload took */
	CHECK(rte_mempool_full(swol.gso.direct_pool) && rte_mempool_full(swol.gso.indirect_pool) &&
	      rte_mempool_full(swol.copy));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz f;

	memset(&f, 0, sizeof(f));
	f.d = data;
	f.n = size;
	if (!port_build(&f))
		return 0;
	run_script(&f);
	port_teardown(&f);
	return 0;
}

/* The host's slot pool, as rte_pmd_pvb_netvsp_slot_pool() makes it (no port here). */
static struct rte_mempool *
slot_pool_create(void)
{
	struct rte_pktmbuf_pool_private priv = {
		.mbuf_data_room_size = (uint16_t)pvb_vsp_slot_size(MTU),
	};
	struct rte_mempool *mp;

	mp = rte_mempool_create_empty("fuzz_slots", SLOT_POOL_N, sizeof(struct rte_mbuf), 0,
				      sizeof(priv), SOCKET_ID_ANY, 0);
	if (mp == NULL || rte_mempool_set_ops_byname(mp, RTE_PMD_PVB_NETVSP_SLOT_OPS, NULL) != 0)
		abort();
	rte_pktmbuf_pool_init(mp, &priv);
	if (rte_mempool_populate_default(mp) < 0)
		abort();
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* --in-memory refuses --no-huge (legacy memory); --no-shconf leaves no files */
	char *eal[] = {
		(*argv)[0], "--no-huge", "-m", "128", "--no-pci", "--no-shconf", "--no-telemetry",
		"--log-level=1", "-l", "0",
	};

	(void)argc;
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fuzz_nvport", POOL_N, 0, 0,
				       DATA_ROOM + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
	region = aligned_alloc(PVB_VMBUS_PAGE, REGION);
	subregion = aligned_alloc(PVB_VMBUS_PAGE, SUBREGION);
	if (pool == NULL || region == NULL || subregion == NULL)
		abort();
	slot_pool = slot_pool_create();
	if (pvb_swol_init(&swol, "fuzz_sw", SOCKET_ID_ANY) != 0)
		abort();
	return 0;
}
