/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The guest datapath.
 *  - host -> guest: a transfer-page packet names receive-buffer ranges, one
 *    RNDIS packet each; frames above copybreak become mbufs over the
 *    receive buffer (no copy) and the packet is completed when the last of
 *    them is freed.
 *  - guest -> host: frames that fit are copied into send-buffer sections,
 *    several per section, one NVSP 107 per section; larger ones go by
 *    GPA-direct pages: in place when the mbuf already lives in the region
 *    (a frame received zero copy and sent back), else copied into a run of
 *    adjacent sections. The host's completion frees the sections or mbuf.
 * Offloads (nvport_ol.h): what the host enabled goes out as checksum and
 * LSOv2 PPIs, the rest is done by pvb_swol first; a large frame the host
 * marks with an LSOv2 PPI comes in as a TCP segmentation request.
 * Queues: rx queue q reads channel q; tx queue q writes channel q (as
 * DPDK's netvsc does, whatever the host's send table says); the sections
 * and held mbufs are shared under sect_lock, one take per burst.
 */

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "netvsc.h"
#include "nvport_ol.h"

#define NETVSC_MAX_GPA_PAGES	24
#define NETVSC_TX_COPYBREAK	512	/* in-region frames above this go by pages, in place */
#define NETVSC_PREFETCH_AHEAD	256	/* section bytes asked for ahead of the copy */
#define NETVSC_RX_AHEAD		3	/* receive ranges asked for ahead of the one handled */

/* ---- set-up --------------------------------------------------------------- */

int
netvsc_tx_setup(struct netvsc_port *g)
{
	static const struct pvb_rndis_pktinfo none;
	int socket = g->base.socket_id;
	uint32_t i;

	RTE_BUILD_BUG_ON(sizeof(g->tx_hdr) != PVB_RNDIS_PACKET_HDR_SIZE);
	pvb_rndis_data_encode(&g->tx_hdr, 0, &none, 1);
	g->section_size = g->vsc.section_size;
	if (pvb_nvsp_slots_init(&g->sect, (uint32_t)(g->base.sendbuf_len / g->section_size)) != 0)
		return -ENOMEM;
	/* aggregation waits for the host's RNDIS limits: one frame per section until then */
	g->agg_max = g->section_size;
	g->agg_pkts = 1;
	g->align = 8;
	for (i = 0; i < NVPORT_MAX_QUEUES; i++)
		g->agg[i].sect = -1;
	g->hold = rte_zmalloc_socket("netvsc_hold", sizeof(*g->hold) * NETVSC_NHOLD, 0, socket);
	g->hold_free = rte_malloc_socket("netvsc_hfree", sizeof(uint32_t) * NETVSC_NHOLD, 0,
					 socket);
	if (g->hold == NULL || g->hold_free == NULL) {
		netvsc_tx_free(g);
		return -ENOMEM;
	}
	for (i = 0; i < NETVSC_NHOLD; i++)
		g->hold_free[i] = i;
	g->nhold_free = NETVSC_NHOLD;
	return 0;
}

void
netvsc_tx_free(struct netvsc_port *g)
{
	uint32_t i;

	if (g->hold != NULL)
		for (i = 0; i < NETVSC_NHOLD; i++)
			rte_pktmbuf_free(g->hold[i]);
	rte_free(g->hold);
	rte_free(g->hold_free);
	g->hold = NULL;
	g->hold_free = NULL;
	pvb_nvsp_slots_fini(&g->sect);
	memset(&g->sect, 0, sizeof(g->sect));
	for (i = 0; i < NVPORT_MAX_QUEUES; i++)
		g->agg[i].sect = -1;
}

/* The host completed send @p id (sect_lock held). */
static void
netvsc_complete_one(struct netvsc_port *g, uint64_t id)
{
	uint64_t kind = id >> 56;
	uint32_t hi = (uint32_t)(id >> 32) & 0xffffff, lo = (uint32_t)id;

	/* before the send buffer is set up there is nothing to complete */
	if (kind == NETVSC_COOKIE_SECTIONS && hi > 0 && g->sect.n != 0 &&
	    pvb_nvsp_slots_put(&g->sect, lo, hi) == 0)
		return;
	if (kind == NETVSC_COOKIE_HOLD && hi == 0 && lo < NETVSC_NHOLD && g->hold != NULL &&
	    g->hold[lo] != NULL) {
		rte_pktmbuf_free(g->hold[lo]);
		g->hold[lo] = NULL;
		g->hold_free[g->nhold_free++] = lo;
		return;
	}
	/* unknown, or completed twice: the host is confused, our state is not */
	pvb_counter_add(&g->base.bad_completions, 1);
}

/* The host's completions read from @p ch (its out_lock held): one sect_lock for them all. */
static void
netvsc_complete(struct nvport *p, struct nvchan *ch, const uint64_t *ids, unsigned int n)
{
	struct netvsc_port *g = netvsc_port(p);
	unsigned int i;

	RTE_SET_USED(ch);
	rte_spinlock_lock(&g->sect_lock);
	for (i = 0; i < n; i++)
		netvsc_complete_one(g, ids[i]);
	rte_spinlock_unlock(&g->sect_lock);
}

/* ---- host -> guest ---------------------------------------------------------- */

static int netvsc_agg_flush(struct netvsc_port *g, struct nvchan *ch);

/*
 * A large TCP frame from the host (pvbridge's receive-side LSOv2 PPI): a
 * segmentation request for whoever sends it on, if we enabled RSC for its
 * IP version and it checks out against its headers. -1: drop it (counted).
 */
static int
netvsc_rx_large(struct netvsc_port *g, struct rte_mbuf *m, uint32_t lso)
{
	bool v6 = (lso & PVB_RNDIS_LSO2_IPV6) != 0;
	struct nvport_ol_req r = {
		.l4_proto = IPPROTO_TCP,
		.family = v6 ? 6 : 4,
		.l4_off = (uint16_t)PVB_RNDIS_LSO2_TCP_OFF(lso),
		.mss = PVB_RNDIS_LSO2_MSS(lso),
	};
	const char *why = "LSOv2 PPI malformed (type bit, MSS or offset 0)";

	/* relaxed: set before the state went to DATA, read-only since */
	if (!(pvb_load_relaxed(&g->ofl) & (v6 ? PVB_OFL_RSC6 : PVB_OFL_RSC4)))
		why = "large frame for an IP version RSC was not enabled for";
	else if ((lso & PVB_RNDIS_LSO2_TYPE) && r.mss != 0 && r.l4_off != 0)
		why = nvport_ol_request(m, &r);
	if (why == NULL) {
		pvb_counter_add(&g->rx_large, 1);
		return 0;
	}
	nvport_ol_bad(&g->base, &g->base.rx_offload_bad, "host", why);
	return -1;
}

static int
netvsc_offloads(struct netvsc_port *g, struct rte_mbuf *m, const struct pvb_rndis_pktinfo *pi)
{
	if (likely(pi->present == 0))
		return 0;
	if (pi->present & PVB_PI_VLAN) {
		m->vlan_tci = (uint16_t)(PVB_RNDIS_VLAN_ID(pi->vlan) |
					 (PVB_RNDIS_VLAN_PRIO(pi->vlan) << 13));
		m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	}
	if (pi->present & PVB_PI_CSUM) {
		if (pi->csum & PVB_RNDIS_RXCSUM_IP_OK)
			m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
		else if (pi->csum & PVB_RNDIS_RXCSUM_IP_FAIL)
			m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
		if (pi->csum & (PVB_RNDIS_RXCSUM_TCP_OK | PVB_RNDIS_RXCSUM_UDP_OK))
			m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		else if (pi->csum & (PVB_RNDIS_RXCSUM_TCP_FAIL | PVB_RNDIS_RXCSUM_UDP_FAIL))
			m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
	}
	if (pi->present & PVB_PI_HASH) {
		m->hash.rss = pi->hash;
		m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
	}
	if (pi->present & PVB_PI_LSO)
		return netvsc_rx_large(g, m, pi->lso);
	return 0;
}

/* One receive-buffer range: a PACKET_MSG. -ENOMEM: no mbuf, try again later. */
static int
netvsc_range(struct nvport_poll *e, struct nvchan_rec *r, const struct pvb_vmbus_xfer_range *rg)
{
	struct nvport *p = e->p;
	struct pvb_rndis_data d;
	struct rte_mbuf *m;
	uint8_t *msg;

	if ((uint64_t)rg->byte_offset + rg->byte_count > p->rxbuf_len) {
		pvb_counter_add(&p->bad_packets, 1);
		return 0;
	}
	msg = p->rxbuf + rg->byte_offset;
	if (pvb_rndis_data_decode(msg, rg->byte_count, &d) != 0) {
		pvb_counter_add(&p->bad_packets, 1);
		return 0;
	}
	if (e->mode != NVPORT_DELIVER) {
		pvb_counter_add(&p->not_polled_drops, 1);
		return 0;
	}
	m = nvport_rx_frame(e, r, msg, d.frame_off, d.frame_len, netvsc_port(p)->zero_copy);
	if (m == NULL)
		return -ENOMEM;
	if (netvsc_offloads(netvsc_port(p), m, &d.pi) != 0) {
		rte_pktmbuf_free(m);
		return 0;
	}
	nvport_rx_count(e, m, d.frame_len);
	return 0;
}

/* RNDIS control from the host (a completion or an indication), then complete it. */
static void
netvsc_control(struct netvsc_port *g, struct nvchan *ch, const struct pvb_vmbus_pkt *pk)
{
	struct nvport *p = &g->base;
	struct pvb_vmbus_xfer_range rg;
	struct pvb_rndis_ctl c;
	uint8_t msg[512];
	uint32_t len;

	/* control travels on the primary */
	if (ch->idx != 0) {
		pvb_counter_add(&p->protocol_errors, 1);
		return;
	}
	if (pvb_vmbus_in_xfer_range(&ch->in, pk, 0, &rg) != 0 ||
	    (uint64_t)rg.byte_offset + rg.byte_count > p->rxbuf_len) {
		pvb_counter_add(&p->bad_packets, 1);
		return;
	}
	/* one private copy: the host could rewrite the slot meanwhile */
	len = RTE_MIN(rg.byte_count, (uint32_t)sizeof(msg));
	memcpy(msg, p->rxbuf + rg.byte_offset, len);
	if (pvb_rndis_ctl_decode(msg, len, &c) != 0 || pvb_vsc_rndis(&g->vsc, &c, msg) != 0)
		pvb_counter_add(&p->protocol_errors, 1);
	/* relaxed: a status the control thread reports; it orders nothing */
	pvb_store_relaxed(&g->link_up, g->vsc.link_up);
}

/*
 * Ask for the receive-buffer lines of range @p i (its RNDIS header and the
 * frame's first bytes) while earlier ranges are handled: they come from the
 * host's cache. Only a hint: a range that does not check out is skipped.
 */
static inline void
netvsc_prefetch_range(const struct nvport *p, const struct nvchan *ch,
		      const struct pvb_vmbus_pkt *pk, uint32_t i)
{
	struct pvb_vmbus_xfer_range rg;

	if (i >= pk->range_count || pvb_vmbus_in_xfer_range(&ch->in, pk, i, &rg) != 0 ||
	    (uint64_t)rg.byte_offset + RTE_CACHE_LINE_SIZE * 2 > p->rxbuf_len)
		return;
	rte_prefetch0(p->rxbuf + rg.byte_offset);
	rte_prefetch0(p->rxbuf + rg.byte_offset + RTE_CACHE_LINE_SIZE);
}

/* A transfer-page packet; -EAGAIN: the burst is full, resume here next time. */
static int
netvsc_xfer(struct nvport_poll *e, const struct pvb_vmbus_pkt *pk,
	    const struct pvb_nvsp_msg *m)
{
	struct nvport *p = e->p;
	struct nvchan *ch = e->ch;
	struct pvb_vmbus_xfer_range rg;
	struct nvchan_rec *r;

	if (e->mode == NVPORT_STOP_AT_DATA && m->u.rndis.channel_type == PVB_NVSP_RNDIS_DATA)
		return -EAGAIN;
	r = nvport_rec(ch, pk->trans_id);
	if (r == NULL)
		return -EAGAIN;	/* every record is out with the application */
	if (pk->xfer_set_id != PVB_NVSP_RXBUF_ID || p->rxbuf == NULL) {
		pvb_counter_add(&p->bad_packets, 1);
		r->status = PVB_NVSP_STAT_FAIL;
	} else if (m->u.rndis.channel_type == PVB_NVSP_RNDIS_CONTROL) {
		netvsc_control(netvsc_port(p), ch, pk);
	} else {
		for (; ch->cur_pos < pk->range_count; ch->cur_pos++) {
			if (e->mode == NVPORT_DELIVER && e->got == e->n)
				return -EAGAIN;
			netvsc_prefetch_range(p, ch, pk, ch->cur_pos + NETVSC_RX_AHEAD);
			if (pvb_vmbus_in_xfer_range(&ch->in, pk, ch->cur_pos, &rg) != 0)
				break;
			if (netvsc_range(e, r, &rg) != 0)
				return -EAGAIN;
		}
	}
	nvport_rec_parsed(ch);
	return 0;
}

/*
 * The host's send indirection table (NVSP 134, in-band on the primary):
 * checked against our channels and recorded. We keep sending tx queue q
 * on channel q, as DPDK's netvsc does (doc/netvsp-netvsc.md).
 */
static void
netvsc_send_table(struct nvport_poll *e, const struct pvb_vmbus_pkt *pk)
{
	struct netvsc_port *g = netvsc_port(e->p);
	uint8_t buf[PVB_NVSP_INDIRECTION_SIZE + 64];
	uint32_t t[PVB_NVSP_INDIRECTION_COUNT];
	int len;

	/* the channels granted: the table may come before the last of them is open */
	len = pvb_vmbus_in_payload(&e->ch->in, pk, buf, sizeof(buf));
	if (e->ch->idx != 0 || len < 0 ||
	    pvb_nvsp_table_decode(buf, (uint32_t)RTE_MIN(len, (int)sizeof(buf)),
				  1 + g->vsc.subch_granted, t) != 0) {
		pvb_counter_add(&e->p->bad_packets, 1);
		return;
	}
	memcpy(g->send_table, t, sizeof(t));
	pvb_counter_add(&g->send_tables, 1);
}

static int
netvsc_packet(struct nvport_poll *e, const struct pvb_vmbus_pkt *pk)
{
	struct nvport *p = e->p;
	struct pvb_nvsp_msg m;
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	int len;

	len = pvb_vmbus_in_payload(&e->ch->in, pk, buf, sizeof(buf));
	if (len < 0 || pvb_nvsp_decode(buf, (uint32_t)RTE_MIN(len, (int)sizeof(buf)), &m) != 0) {
		pvb_counter_add(&p->bad_packets, 1);
		return 0;
	}
	switch (pk->type) {
	case PVB_VMBUS_PKT_COMP:
		if (m.type == PVB_NVSP_SEND_RNDIS_PKT_COMPLETE)
			e->comps[e->ncomp++] = pk->trans_id;
		else if (e->ch->idx != 0 || pvb_vsc_nvsp(&netvsc_port(p)->vsc, &m) != 0)
			pvb_counter_add(&p->protocol_errors, 1);
		return 0;
	case PVB_VMBUS_PKT_DATA_XFER_PAGES:
		if (m.type == PVB_NVSP_SEND_RNDIS_PKT)
			return netvsc_xfer(e, pk, &m);
		break;
	default:
		if (m.type == PVB_NVSP_INDIRECTION_TABLE) {
			netvsc_send_table(e, pk);
			return 0;
		}
		break;	/* other in-band notes (VF): nothing to do */
	}
	pvb_counter_add(&p->bad_packets, 1);
	return 0;
}

/* A section a tx burst could not send for lack of ring room goes now (out_lock held). */
static void
netvsc_tail(struct nvport *p, struct nvchan *ch)
{
	netvsc_agg_flush(netvsc_port(p), ch);
}

NVPORT_EVENTS_DEFINE(netvsc, netvsc_packet, netvsc_complete, netvsc_tail)

/* ---- guest -> host ---------------------------------------------------------- */

static uint64_t
netvsc_gpa(const struct netvsc_port *g, const void *va)
{
	return (uint64_t)((const uint8_t *)va - g->base.ch->shm.base);
}

/* Send the section @p ch is filling (its out_lock held); it stays pending if the ring is full. */
static int
netvsc_agg_flush(struct netvsc_port *g, struct nvchan *ch)
{
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RNDIS_PKT };
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	uint32_t s = (uint32_t)g->agg[ch->idx].sect;

	if (g->agg[ch->idx].sect < 0)
		return 0;
	m.u.rndis.channel_type = PVB_NVSP_RNDIS_DATA;
	m.u.rndis.section_index = s;
	m.u.rndis.section_size = g->agg[ch->idx].off;
	if (pvb_vmbus_out_inband(&ch->out, NETVSC_COOKIE(NETVSC_COOKIE_SECTIONS, 1, s),
				 PVB_VMBUS_FLAG_COMPLETION_REQUESTED, buf,
				 pvb_nvsp_encode(&m, buf)) != 0)
		return -EAGAIN;
	g->agg[ch->idx].sect = -1;
	return 0;
}

/* Copy header (PPIs of @p pi) + frame to @p dst; returns the message length (padding zeroed). */
static uint32_t
netvsc_put_msg(struct netvsc_port *g, uint8_t *dst, const struct rte_mbuf *m,
	       const struct pvb_rndis_pktinfo *pi)
{
	uint32_t hdr = PVB_RNDIS_PACKET_HDR_SIZE, len, off;

	if (unlikely(pi->present != 0)) {
		hdr = pvb_rndis_data_hdr_len(pi);
		len = pvb_rndis_data_encode(dst, m->pkt_len, pi, g->align);
	} else {
		/*
		 * The common case from a template, stored straight into the
		 * section (a header built on the stack and copied out stalls
		 * on store forwarding): only the lengths vary.
		 */
		len = RTE_ALIGN_CEIL(hdr + m->pkt_len, g->align);
		memcpy(dst, &g->tx_hdr, PVB_RNDIS_PACKET_HDR_SIZE);
		memcpy(dst + offsetof(struct pvb_rndis_packet_msg, len), &len, sizeof(len));
		memcpy(dst + offsetof(struct pvb_rndis_packet_msg, data_len), &m->pkt_len,
		       sizeof(m->pkt_len));
	}
	if (likely(m->next == NULL)) {
		nvchan_copy(dst + hdr, rte_pktmbuf_mtod(m, const void *), m->data_len);
		off = hdr + m->data_len;
	} else {
		for (off = hdr; m != NULL; m = m->next) {
			nvchan_copy(dst + off, rte_pktmbuf_mtod(m, const void *), m->data_len);
			off += m->data_len;
		}
	}
	/* the alignment padding: a few bytes, not worth a call */
	for (; off < len; off++)
		dst[off] = 0;
	return len;
}

/* A frame that fits a section: into the section @p ch is filling (sect_lock held). */
static int
netvsc_tx_small(struct netvsc_port *g, struct nvchan *ch, const struct rte_mbuf *m,
		uint32_t need, const struct pvb_rndis_pktinfo *pi)
{
	typeof(g->agg[0]) *a = &g->agg[ch->idx];
	uint8_t *sect;
	int64_t s;

	if (a->sect >= 0 && (a->off + need > g->agg_max || a->n >= g->agg_pkts))
		if (netvsc_agg_flush(g, ch) != 0)
			return -EAGAIN;
	if (a->sect < 0) {
		s = pvb_nvsp_slots_get(&g->sect, 1);
		if (s < 0)
			return -ENOSPC;
		a->sect = s;
		a->off = 0;
		a->n = 0;
		sect = g->base.sendbuf + (uint64_t)s * g->section_size;
		for (s = 0; s < NETVSC_PREFETCH_AHEAD; s += RTE_CACHE_LINE_SIZE)
			nvchan_prefetch_w(sect + s);
	}
	sect = g->base.sendbuf + (uint64_t)a->sect * g->section_size;
	/* the lines a few frames on, while this one is copied (inside the section only) */
	if (a->off + NETVSC_PREFETCH_AHEAD + RTE_CACHE_LINE_SIZE <= g->section_size) {
		nvchan_prefetch_w(sect + a->off + NETVSC_PREFETCH_AHEAD);
		nvchan_prefetch_w(sect + a->off + NETVSC_PREFETCH_AHEAD - RTE_CACHE_LINE_SIZE);
	}
	a->off += netvsc_put_msg(g, sect + a->off, m, pi);
	a->n++;
	return 0;
}

/*
 * One GPA-direct NVSP 107 on @p ch for the contiguous region bytes
 * [va, va + len): page numbers of the primary's region, on a subchannel too.
 */
static int
netvsc_send_gpa(struct netvsc_port *g, struct nvchan *ch, uint64_t cookie, const uint8_t *va,
		uint32_t len)
{
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RNDIS_PKT };
	uint64_t pfn[NETVSC_MAX_GPA_PAGES], gpa = netvsc_gpa(g, va);
	struct pvb_vmbus_gpa rg = {
		.byte_count = len,
		.byte_offset = (uint32_t)(gpa % PVB_VMBUS_PAGE),
		.pfn = pfn,
	};
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	uint32_t i, np = pvb_vmbus_gpa_pages(rg.byte_offset, len);

	if (np > NETVSC_MAX_GPA_PAGES)
		return -EINVAL;
	for (i = 0; i < np; i++)
		pfn[i] = gpa / PVB_VMBUS_PAGE + i;
	m.u.rndis.channel_type = PVB_NVSP_RNDIS_DATA;
	m.u.rndis.section_index = PVB_NVSP_NO_SECTION;
	return pvb_vmbus_out_gpa(&ch->out, cookie, PVB_VMBUS_FLAG_COMPLETION_REQUESTED, &rg, 1,
				 buf, pvb_nvsp_encode(&m, buf));
}

/* A frame received zero copy and sent back: header into its headroom, pages in place. */
static int
netvsc_tx_inplace(struct netvsc_port *g, struct nvport_txq *q, struct nvchan *ch,
		  struct rte_mbuf *m)
{
	static const struct pvb_rndis_pktinfo none;
	uint32_t hdr = pvb_rndis_data_hdr_len(&none), h;
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);

	if (g->nhold_free == 0)
		return -ENOSPC;
	h = g->hold_free[g->nhold_free - 1];
	pvb_rndis_data_encode(frame - hdr, m->pkt_len, &none, 1);
	if (netvsc_send_gpa(g, ch, NETVSC_COOKIE(NETVSC_COOKIE_HOLD, 0, h), frame - hdr,
			    hdr + m->pkt_len) != 0)
		return -EAGAIN;
	g->nhold_free--;
	g->hold[h] = m;
	pvb_counter_add(&g->tx_gpa_zero_copy, 1);
	/* by reference: the frame is where the host wrote it (the flow xstats) */
	pvb_counter_add1w(&q->ref_packets, 1);
	pvb_counter_add1w(&q->ref_bytes, m->pkt_len);
	return 1;	/* the mbuf is held until the host completes */
}

/* A frame larger than a section: copied into adjacent sections, sent as pages. */
static int
netvsc_tx_big(struct netvsc_port *g, struct nvchan *ch, const struct rte_mbuf *m, uint32_t need,
	      const struct pvb_rndis_pktinfo *pi)
{
	uint32_t k = (need + g->section_size - 1) / g->section_size;
	int64_t s = pvb_nvsp_slots_get(&g->sect, k);
	uint8_t *dst;

	if (s < 0)
		return -ENOSPC;
	dst = g->base.sendbuf + (uint64_t)s * g->section_size;
	/* the message's own length: need is an upper bound */
	need = netvsc_put_msg(g, dst, m, pi);
	if (netvsc_send_gpa(g, ch, NETVSC_COOKIE(NETVSC_COOKIE_SECTIONS, k, s), dst, need) != 0) {
		pvb_nvsp_slots_put(&g->sect, (uint32_t)s, k);
		return -EAGAIN;
	}
	pvb_counter_add(&g->tx_gpa, 1);
	return 0;
}

/* The flags that send a frame through netvsc_tx_ol(). */
#define NETVSC_OL_FLAGS	(RTE_MBUF_F_TX_VLAN | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG | \
			 RTE_MBUF_F_TX_IP_CKSUM)

static bool
netvsc_in_region(const struct netvsc_port *g, const struct rte_mbuf *m)
{
	const uint8_t *a = m->buf_addr, *base = g->base.ch->shm.base;

	return RTE_MBUF_HAS_EXTBUF(m) && m->nb_segs == 1 && a >= base &&
	       a + m->buf_len <= base + g->base.ch->shm.len &&
	       m->data_off >= PVB_RNDIS_PACKET_HDR_SIZE && !(m->ol_flags & NETVSC_OL_FLAGS);
}

/*
 * Send one frame with the PPIs of @p pi on @p ch (its out_lock and
 * sect_lock held): 0 sent and free it, 1 sent and held, < 0 stop.
 */
static int
netvsc_tx_one(struct netvsc_port *g, struct nvport_txq *q, struct nvchan *ch,
	      struct rte_mbuf *m, const struct pvb_rndis_pktinfo *pi)
{
	uint32_t need = pvb_rndis_data_hdr_len(pi) + m->pkt_len;

	need = RTE_ALIGN_CEIL(need, g->align);
	if (need <= g->agg_max && !(m->pkt_len > NETVSC_TX_COPYBREAK && netvsc_in_region(g, m)))
		return netvsc_tx_small(g, ch, m, need, pi);
	/* frames leave in order: the section being filled goes before a page send */
	if (netvsc_agg_flush(g, ch) != 0)
		return -EAGAIN;
	/* a frame already in the region (received zero copy) is sent in place */
	if (m->pkt_len > NETVSC_TX_COPYBREAK && netvsc_in_region(g, m))
		return netvsc_tx_inplace(g, q, ch, m);
	return netvsc_tx_big(g, ch, m, need, pi);
}

/*
 * The PPIs of @p m for what the host enabled; what it did not is done here
 * in software. 0: send @p m with @p pi; 1: @p m was segmented and its
 * segments sent (or dropped, counted): @p m is consumed; -1: drop @p m
 * (counted).
 */
static int
netvsc_tx_ol(struct netvsc_port *g, struct nvport_txq *q, struct nvchan *ch, struct rte_mbuf *m,
	     struct pvb_rndis_pktinfo *pi)
{
	struct rte_mbuf *seg[PVB_SWOL_MAX_SEGS];
	/* relaxed: set before the state went to DATA, read-only since */
	uint32_t ofl = pvb_load_relaxed(&g->ofl);
	uint64_t can;
	int n, i;

	if (m->ol_flags & RTE_MBUF_F_TX_VLAN) {
		pi->present |= PVB_PI_VLAN;
		pi->vlan = (uint32_t)(m->vlan_tci & 0xfff) << 4 | (uint32_t)(m->vlan_tci >> 13);
	}
	can = nvport_ol_tx_ppi(m, ofl, pi);
	if (!pvb_swol_needed(m, can))
		return 0;
	if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)) {
		if (pvb_swol_cksum(m) != 0) {
			pvb_counter_add1w(&q->sw_failed, 1);
			return -1;
		}
		pvb_counter_add1w(&q->sw_cksum, 1);
		return 0;
	}
	n = pvb_swol_apply(&q->swol, m, 0, seg, RTE_DIM(seg));
	if (n < 0) {
		pvb_counter_add1w(&q->sw_failed, 1);
		return -1;
	}
	pvb_counter_add1w(&q->sw_gso, 1);
	pvb_counter_add1w(&q->sw_gso_segs, (uint64_t)n);
	/* segments in order; one that finds no room ends it, the rest are dropped */
	for (i = 0; i < n; i++) {
		if (seg[i]->pkt_len > g->base.mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN ||
		    netvsc_tx_one(g, q, ch, seg[i], pi) < 0)
			break;
		rte_pktmbuf_free(seg[i]);
	}
	if (i < n) {
		pvb_counter_add(&g->tx_no_section, 1);
		rte_pktmbuf_free_bulk(seg + i, (unsigned int)(n - i));
	}
	return 1;
}

uint16_t
netvsc_tx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct nvport_txq *q = queue;
	struct nvport *p = q->port;
	struct netvsc_port *g = netvsc_port(p);
	struct rte_mbuf *done[NETVSC_MAX_BURST];
	struct nvchan *ch;
	uint32_t frame_max, nd = 0, sent = 0;
	uint64_t bytes = 0;
	uint16_t i;
	int rc;

	if (unlikely(n == 0) || !nvport_enter(&p->act[2 * q->qid + 1], &p->state))
		return 0;
	ch = nvport_tx_chan(p, q->qid);
	n = RTE_MIN(n, NETVSC_MAX_BURST);
	frame_max = p->mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN;
	/*
	 * Sections come back in host completions: take them as they come, so
	 * the next sections are the ones just freed, still in our cache (a
	 * sender that waits until it runs short walks the whole send buffer).
	 */
	if (!nvchan_idle(ch))
		nvport_events(p, ch, &p->rxq[ch->idx], NVPORT_STOP_AT_DATA, NULL, NULL, 0,
			      netvsc_packet, netvsc_complete, netvsc_tail);
	rte_spinlock_lock(&ch->out_lock);
	rte_spinlock_lock(&g->sect_lock);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct pvb_rndis_pktinfo pi;

		if ((m->pkt_len > frame_max && (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) ||
						m->pkt_len > NVPORT_OL_FRAME_MAX)) ||
		    m->pkt_len < RTE_ETHER_HDR_LEN) {
			pvb_counter_add1w(&q->too_big, 1);
			done[nd++] = m;
			continue;
		}
		pi.present = 0;
		if (unlikely(m->ol_flags & NETVSC_OL_FLAGS)) {
			uint32_t len = m->pkt_len;

			rc = netvsc_tx_ol(g, q, ch, m, &pi);
			if (rc != 0) {
				/* segmented and sent (m consumed), or dropped (counted) */
				if (rc < 0)
					done[nd++] = m;
				sent += rc > 0;
				bytes += rc > 0 ? len : 0;
				continue;
			}
		}
		rc = netvsc_tx_one(g, q, ch, m, &pi);
		if (rc < 0) {
			pvb_counter_add(&g->tx_no_section, rc == -ENOSPC);
			break;
		}
		bytes += m->pkt_len;
		sent++;
		if (rc == 0)
			done[nd++] = m;
	}
	rte_spinlock_unlock(&g->sect_lock);
	netvsc_agg_flush(g, ch);
	/* the host unmasked (it sleeps): wake it; never blocks */
	if (pvb_vmbus_out_commit(&ch->out))
		nvchan_signal(ch);
	rte_spinlock_unlock(&ch->out_lock);
	nvport_leave(&p->act[2 * q->qid + 1]);
	rte_pktmbuf_free_bulk(done, nd);
	pvb_counter_add1w(&q->packets, sent);
	pvb_counter_add1w(&q->bytes, bytes);
	return i;
}

/* An RNDIS control message from the VSC, in one section (out_lock taken here). */
int
netvsc_send_ctl(struct netvsc_port *g, const struct pvb_vsc_action *a)
{
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RNDIS_PKT };
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	int64_t s;
	int rc;

	rte_spinlock_lock(&g->base.ch->out_lock);
	rte_spinlock_lock(&g->sect_lock);
	s = pvb_nvsp_slots_get(&g->sect, 1);
	rte_spinlock_unlock(&g->sect_lock);
	if (s < 0) {
		rte_spinlock_unlock(&g->base.ch->out_lock);
		return -ENOSPC;
	}
	memcpy(g->base.sendbuf + (uint64_t)s * g->section_size, a->rndis, a->rndis_len);
	m.u.rndis.channel_type = PVB_NVSP_RNDIS_CONTROL;
	m.u.rndis.section_index = (uint32_t)s;
	m.u.rndis.section_size = a->rndis_len;
	rc = pvb_vmbus_out_inband(&g->base.ch->out, NETVSC_COOKIE(NETVSC_COOKIE_SECTIONS, 1, s),
				  PVB_VMBUS_FLAG_COMPLETION_REQUESTED, buf,
				  pvb_nvsp_encode(&m, buf));
	if (rc != 0) {
		rte_spinlock_lock(&g->sect_lock);
		pvb_nvsp_slots_put(&g->sect, (uint32_t)s, 1);
		rte_spinlock_unlock(&g->sect_lock);
	} else if (pvb_vmbus_out_commit(&g->base.ch->out))
		nvchan_signal(g->base.ch);
	rte_spinlock_unlock(&g->base.ch->out_lock);
	return rc;
}
