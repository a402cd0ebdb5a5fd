/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The host datapath.
 *  - guest -> host: NVSP 107 from a send-buffer section (several RNDIS
 *    packets back to back) or by GPA-direct pages; every frame becomes an
 *    mbuf over the guest's bytes (no copy above copybreak), and the NVSP
 *    completion goes back once the last of them is freed.
 *  - host -> guest: each frame is copied into a free receive-buffer slot
 *    behind its RNDIS header; one transfer-page packet per burst carries
 *    them all; the guest's completion frees the slots.
 * Control messages met on the way (RNDIS set filter, keepalive, halt,
 * revokes) go to the VSP state machine, whatever thread polls.
 */

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_memcpy.h>

#include "netvsp.h"

#define NETVSP_EVENT_BUDGET	256	/* ring packets per poll */
#define NETVSP_MAX_GPA_PAGES	20	/* one frame of up to 9216 + header */
#define NETVSP_CTL_SLOTS	16	/* receive slots only control replies use (as OpenVMM) */

struct netvsp_poll {
	struct netvsp_port *p;
	enum nvchan_mode mode;
	struct rte_mempool *mp;
	struct rte_mbuf **pkts;
	uint16_t n, got;
	struct nvchan_mbufs cache;
	uint64_t comps[NETVSP_EVENT_BUDGET];	/* guest completions of our transfers */
	unsigned int ncomp;
};

int
netvsp_slots_setup(struct netvsp_port *p)
{
	static const struct pvb_rndis_pktinfo none;
	uint32_t n = p->vsp.slot_count;

	/* the data header every host -> guest frame starts with */
	RTE_BUILD_BUG_ON(sizeof(p->tx_hdr) != PVB_RNDIS_PACKET_HDR_SIZE);
	pvb_rndis_data_encode(&p->tx_hdr, 0, &none, 1);

	p->slot_next = rte_malloc_socket("netvsp_next", sizeof(uint32_t) * n, 0, p->socket_id);
	p->slot_count = rte_zmalloc_socket("netvsp_count", sizeof(uint32_t) * n, 0,
					   p->socket_id);
	if (p->slot_next == NULL || p->slot_count == NULL ||
	    pvb_nvsp_slots_init(&p->slots, n) != 0) {
		netvsp_slots_free(p);
		return -ENOMEM;
	}
	return 0;
}

void
netvsp_slots_free(struct netvsp_port *p)
{
	pvb_nvsp_slots_fini(&p->slots);
	memset(&p->slots, 0, sizeof(p->slots));
	rte_free(p->slot_next);
	rte_free(p->slot_count);
	p->slot_next = NULL;
	p->slot_count = NULL;
}

/* The guest completed our transfer @p id: free its slots (out_lock held). */
static void
netvsp_slots_complete(struct netvsp_port *p, uint64_t id)
{
	uint32_t i, s, n;

	if (id >= p->slots.n || p->slot_count[id] == 0) {
		pvb_counter_add(&p->bad_completions, 1);
		return;
	}
	n = p->slot_count[id];
	p->slot_count[id] = 0;
	for (i = 0, s = (uint32_t)id; i < n && s < p->slots.n; i++) {
		uint32_t next = p->slot_next[s];

		pvb_nvsp_slots_put(&p->slots, s, 1);
		s = next;
	}
}

/* ---- guest -> host ---------------------------------------------------------- */

static int
netvsp_write_comp(struct nvchan *ch, const struct nvchan_rec *r)
{
	return nvchan_write_rndis_comp(ch, r->trans_id, r->status);
}

/* One frame at @p msg (a decoded PACKET_MSG) into an mbuf of @p r, or a copy. */
static int
netvsp_deliver(struct netvsp_poll *e, struct nvchan_rec *r, uint8_t *msg,
	       const struct pvb_rndis_data *d)
{
	struct netvsp_rxq *q = &e->p->rxq;
	struct rte_mbuf *m;

	if (e->mode != NVCHAN_DELIVER) {
		pvb_counter_add(&e->p->not_polled_drops, 1);
		return 0;
	}
	/* an ext buffer's length is 16 bits: beyond that, copy */
	if (d->frame_len <= e->p->copybreak || d->frame_off + d->frame_len > UINT16_MAX) {
		m = nvchan_copy_frame(&e->cache, e->mp, e->n - e->got, msg + d->frame_off,
				      d->frame_len);
		if (m == NULL) {
			pvb_counter_add1w(&q->nombuf, 1);
			return -ENOMEM;
		}
	} else {
		m = nvchan_mbuf(&e->cache, e->mp, e->n - e->got);
		if (m == NULL) {
			pvb_counter_add1w(&q->nombuf, 1);
			return -ENOMEM;
		}
		nvchan_rec_attach(r, m, msg, (uint16_t)d->frame_off, (uint16_t)d->frame_len);
		pvb_counter_add1w(&q->zero_copy, 1);
	}
	m->port = e->p->port_id;
	if (d->pi.present & PVB_PI_VLAN) {
		m->vlan_tci = (uint16_t)(PVB_RNDIS_VLAN_ID(d->pi.vlan) |
					 (PVB_RNDIS_VLAN_PRIO(d->pi.vlan) << 13));
		m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	}
	pvb_counter_add1w(&q->packets, 1);
	pvb_counter_add1w(&q->bytes, d->frame_len);
	e->pkts[e->got++] = m;
	return 0;
}

static int netvsp_send_ctl(struct netvsp_port *p, const void *msg, uint32_t len);

/* Tell the tx side what the VSP decided (in_lock holder). */
static void
netvsp_publish(struct netvsp_port *p)
{
	/* relaxed: published by the store-release below */
	pvb_store_relaxed(&p->filter, p->vsp.filter);
	/* pairs with the load-acquire in netvsp_tx_burst() */
	pvb_store_release(&p->rx_enabled, pvb_vsp_rx_enabled(&p->vsp) && p->rxbuf != NULL);
}

static uint32_t
netvsp_rndis_control(struct netvsp_poll *e, uint8_t *buf, uint32_t len)
{
	struct netvsp_port *p = e->p;
	struct pvb_rndis_ctl c;
	uint8_t msg[512], reply[512];
	int rc;

	/* one private copy: the guest can rewrite its section meanwhile */
	if (len > sizeof(msg))
		len = sizeof(msg);
	memcpy(msg, buf, len);
	if (pvb_rndis_ctl_decode(msg, len, &c) != 0) {
		pvb_counter_add(&p->bad_packets, 1);
		return PVB_NVSP_STAT_INVALID_RNDIS;
	}
	rc = pvb_vsp_rndis(&p->vsp, &c, msg, reply, sizeof(reply));
	netvsp_publish(p);
	if (rc < 0) {
		pvb_counter_add(&p->protocol_errors, 1);
		return PVB_NVSP_STAT_FAIL;
	}
	if (rc > 0 && netvsp_send_ctl(p, reply, (uint32_t)rc) != 0)
		pvb_counter_add(&p->txq.no_slot, 1);
	return PVB_NVSP_STAT_SUCCESS;
}

/*
 * The RNDIS data packets in [buf, buf + len) of guest memory, from where the
 * last call stopped (p->cur_off): 0 when all are delivered (r->status says
 * how it went), -EAGAIN when the burst is full (resume next time).
 */
static int
netvsp_rndis_stream(struct netvsp_poll *e, struct nvchan_rec *r, uint8_t *buf, uint32_t len)
{
	struct netvsp_port *p = e->p;
	struct pvb_rndis_data d;

	while (p->cur_off < len) {
		if (e->mode == NVCHAN_DELIVER && e->got == e->n)
			return -EAGAIN;
		if (pvb_rndis_data_decode(buf + p->cur_off, len - p->cur_off, &d) != 0) {
			pvb_counter_add(&p->bad_packets, 1);
			r->status = PVB_NVSP_STAT_INVALID_RNDIS;
			return 0;
		}
		if (netvsp_deliver(e, r, buf + p->cur_off, &d) != 0)
			return -EAGAIN;
		/* msg_len >= 44: the walk ends */
		p->cur_off += d.msg_len;
	}
	return 0;
}

/* Where the RNDIS bytes of a section NVSP 107 are; NULL if not in the send buffer. */
static uint8_t *
netvsp_section(struct netvsp_port *p, const struct pvb_nvsp_msg *m, uint32_t *len)
{
	uint32_t idx = m->u.rndis.section_index, size = m->u.rndis.section_size;

	if (p->sendbuf == NULL || idx >= p->vsp.section_count || size > p->vsp.section_size ||
	    size == 0)
		return NULL;
	*len = size;
	return p->sendbuf + (uint64_t)idx * p->vsp.section_size;
}

/* Where the RNDIS bytes of a GPA-direct NVSP 107 are: one range of contiguous region pages. */
static uint8_t *
netvsp_gpa(struct netvsp_poll *e, const struct pvb_vmbus_pkt *pk, uint32_t *len)
{
	struct netvsp_port *p = e->p;
	struct pvb_vmbus_gpa_iter it = { 0 };
	struct pvb_vmbus_xfer_range rg;
	uint64_t pfn[NETVSP_MAX_GPA_PAGES];
	uint64_t pages = p->ch->shm.len / PVB_VMBUS_PAGE;
	int np, i;

	np = pvb_vmbus_in_gpa_next(&p->ch->in, pk, &it, &rg, pfn, RTE_DIM(pfn));
	if (np <= 0 || np > (int)RTE_DIM(pfn) || pk->range_count != 1)
		return NULL;
	/* a guest page number is a page of the region; the range must be contiguous */
	for (i = 0; i < np; i++)
		if (pfn[i] >= pages || pfn[i] != pfn[0] + (uint64_t)i)
			return NULL;
	*len = rg.byte_count;
	return p->ch->shm.base + pfn[0] * PVB_VMBUS_PAGE + rg.byte_offset;
}

/* NVSP 107 from the guest: data frames (resumable) or one RNDIS control message. */
static int
netvsp_rndis(struct netvsp_poll *e, const struct pvb_vmbus_pkt *pk, const struct pvb_nvsp_msg *m)
{
	struct netvsp_port *p = e->p;
	struct nvchan_rec *r = p->cur_rec;
	uint8_t *buf = NULL;
	uint32_t len = 0;
	int rc = 0;

	if (m->u.rndis.channel_type != PVB_NVSP_RNDIS_CONTROL && e->mode == NVCHAN_STOP_AT_DATA)
		return -EAGAIN;
	if (r == NULL) {
		r = nvchan_rec_get(p->ch, pk->trans_id);
		if (r == NULL)
			return -EAGAIN;	/* every record is out with the application */
		p->cur_rec = r;
		p->cur_off = 0;
	}
	if (pk->type == PVB_VMBUS_PKT_DATA_GPA_DIRECT)
		buf = netvsp_gpa(e, pk, &len);
	else if (m->u.rndis.section_index != PVB_NVSP_NO_SECTION)
		buf = netvsp_section(p, m, &len);
	if (pvb_vmbus_in_broken(&p->ch->in))
		rc = -EPIPE;
	if (buf == NULL) {
		pvb_counter_add(&p->bad_packets, 1);
		r->status = PVB_NVSP_STAT_FAIL;
	} else if (m->u.rndis.channel_type == PVB_NVSP_RNDIS_CONTROL) {
		r->status = netvsp_rndis_control(e, buf, len);
	} else if (netvsp_rndis_stream(e, r, buf, len) != 0) {
		return -EAGAIN;
	}
	p->cur_rec = NULL;
	nvchan_rec_parsed(r);
	return rc;
}

/* An NVSP message other than 107: the VSP answers it. */
static void
netvsp_nvsp_control(struct netvsp_poll *e, const struct pvb_vmbus_pkt *pk,
		    const struct pvb_nvsp_msg *m)
{
	struct netvsp_port *p = e->p;
	struct pvb_nvsp_msg reply;
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	int rc;

	rc = pvb_vsp_nvsp(&p->vsp, m, &reply);
	if (rc < 0) {
		pvb_counter_add(&p->protocol_errors, 1);
		return;
	}
	if (p->vsp.have_recv_buf && p->rxbuf == NULL) {
		const struct pvb_chan_gpadl *g = pvb_chan_gpadl_find(&p->open, p->vsp.recv_gpadl);

		p->rxbuf = p->ch->shm.base + g->offset;
		p->rxbuf_len = g->size;
		rte_spinlock_lock(&p->ch->out_lock);
		if (netvsp_slots_setup(p) != 0)
			p->rxbuf = NULL;
		rte_spinlock_unlock(&p->ch->out_lock);
	}
	if (p->vsp.have_send_buf && p->sendbuf == NULL) {
		const struct pvb_chan_gpadl *g = pvb_chan_gpadl_find(&p->open, p->vsp.send_gpadl);

		p->sendbuf = p->ch->shm.base + g->offset;
		p->sendbuf_len = g->size;
	}
	if (!p->vsp.have_send_buf)
		p->sendbuf = NULL;
	if (!p->vsp.have_recv_buf && p->rxbuf != NULL) {
		/* revoked: not one more byte into the guest's receive buffer */
		rte_spinlock_lock(&p->ch->out_lock);
		p->rxbuf = NULL;
		rte_spinlock_unlock(&p->ch->out_lock);
	}
	netvsp_publish(p);
	if (rc == 1 && (pk->flags & PVB_VMBUS_FLAG_COMPLETION_REQUESTED)) {
		rte_spinlock_lock(&p->ch->out_lock);
		if (pvb_vmbus_out_comp(&p->ch->out, pk->trans_id, buf,
				       pvb_nvsp_encode(&reply, buf)) != 0)
			pvb_counter_add(&p->ch->comp_ring_full, 1);
		rte_spinlock_unlock(&p->ch->out_lock);
	}
}

/* One ring packet; -EAGAIN: leave it for later, -EPIPE: the ring broke. */
static int
netvsp_packet(struct netvsp_poll *e, const struct pvb_vmbus_pkt *pk)
{
	struct nvchan *ch = e->p->ch;
	struct pvb_nvsp_msg m;
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	int len;

	len = pvb_vmbus_in_payload(&ch->in, pk, buf, sizeof(buf));
	if (len < 0 || pvb_nvsp_decode(buf, (uint32_t)RTE_MIN(len, (int)sizeof(buf)), &m) != 0) {
		pvb_counter_add(&e->p->bad_packets, 1);
		return 0;
	}
	if (pk->type == PVB_VMBUS_PKT_COMP) {
		if (m.type == PVB_NVSP_SEND_RNDIS_PKT_COMPLETE)
			e->comps[e->ncomp++] = pk->trans_id;
		else
			pvb_counter_add(&e->p->bad_completions, 1);
		return 0;
	}
	if (m.type != PVB_NVSP_SEND_RNDIS_PKT) {
		netvsp_nvsp_control(e, pk, &m);
		return 0;
	}
	return netvsp_rndis(e, pk, &m);
}

static void
netvsp_flush_out(struct netvsp_poll *e)
{
	struct netvsp_port *p = e->p;
	struct nvchan *ch = p->ch;
	unsigned int i;

	rte_spinlock_lock(&ch->out_lock);
	for (i = 0; i < e->ncomp; i++)
		netvsp_slots_complete(p, e->comps[i]);
	e->ncomp = 0;
	nvchan_comp_flush(ch, netvsp_write_comp);
	/* only the control thread (DROP mode) rings the peer: see nvchan_signal() */
	if (pvb_vmbus_out_commit(&ch->out) && e->mode == NVCHAN_DROP)
		nvchan_signal(ch);
	rte_spinlock_unlock(&ch->out_lock);
}

uint16_t
netvsp_events(struct netvsp_port *p, enum nvchan_mode mode, struct rte_mempool *mp,
	      struct rte_mbuf **pkts, uint16_t n)
{
	/* not zero-initialised: the arrays are large and filled from their counts */
	struct netvsp_poll e;
	struct nvchan *ch = p->ch;
	struct pvb_vmbus_pkt pk;
	unsigned int budget;
	int rc;

	if (!rte_spinlock_trylock(&ch->in_lock))
		return 0;
	e.p = p;
	e.mode = mode;
	e.mp = mp;
	e.pkts = pkts;
	e.n = n;
	e.got = 0;
	e.ncomp = 0;
	e.cache.n = 0;
	e.cache.i = 0;
	for (budget = 0; budget < NETVSP_EVENT_BUDGET; budget++) {
		rc = pvb_vmbus_in_peek(&ch->in, &pk);
		if (rc == 0)
			rc = netvsp_packet(&e, &pk);
		if (rc == -EAGAIN)
			break;
		if (rc == -EPIPE || pvb_vmbus_in_broken(&ch->in)) {
			/* relaxed: a flag for the control thread, which tears down */
			pvb_store_relaxed(&p->broken, 1);
			break;
		}
		pvb_vmbus_in_consume(&ch->in, &pk);
	}
	pvb_vmbus_in_commit(&ch->in);
	nvchan_mbufs_release(&e.cache);
	netvsp_flush_out(&e);
	rte_spinlock_unlock(&ch->in_lock);
	return e.got;
}

uint16_t
netvsp_rx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct netvsp_rxq *q = queue;
	struct netvsp_port *p = q->port;
	uint16_t got;

	if (!nvchan_enter(&p->act[0], &p->state))
		return 0;
	/* relaxed: a liveness hint for the control thread, orders nothing */
	pvb_store_relaxed(&p->poll_gen, pvb_load_relaxed(&p->poll_gen) + 1);
	got = netvsp_events(p, NVCHAN_DELIVER, q->mp, pkts, n);
	nvchan_leave(&p->act[0]);
	return got;
}

/* ---- host -> guest ---------------------------------------------------------- */

/* Would the guest's packet filter take this frame? */
static bool
netvsp_filter(const struct netvsp_port *p, const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	/* relaxed: ordered by the load-acquire of rx_enabled in netvsp_tx_burst() */
	uint32_t f = pvb_load_relaxed(&p->filter);

	if (f & PVB_RNDIS_FILTER_PROMISCUOUS)
		return true;
	if (rte_is_broadcast_ether_addr(&eh->dst_addr))
		return f & PVB_RNDIS_FILTER_BROADCAST;
	if (rte_is_multicast_ether_addr(&eh->dst_addr))
		return f & (PVB_RNDIS_FILTER_ALL_MULTICAST | PVB_RNDIS_FILTER_MULTICAST);
	return (f & PVB_RNDIS_FILTER_DIRECTED) &&
	       memcmp(&eh->dst_addr, p->guest_mac, RTE_ETHER_ADDR_LEN) == 0;
}

/* Copy one frame behind its RNDIS header into slot @p s; the message length. */
static uint32_t
netvsp_fill_slot(struct netvsp_port *p, uint32_t s, const struct rte_mbuf *m)
{
	uint8_t *dst = p->rxbuf + (uint64_t)s * p->vsp.slot_size;
	struct pvb_rndis_packet_msg h = p->tx_hdr;
	uint32_t off = PVB_RNDIS_PACKET_HDR_SIZE;

	/* the header without per-packet info, from the template: only lengths vary */
	h.len = PVB_RNDIS_PACKET_HDR_SIZE + m->pkt_len;
	h.data_len = m->pkt_len;
	memcpy(dst, &h, sizeof(h));
	for (; m != NULL; m = m->next) {
		rte_memcpy(dst + off, rte_pktmbuf_mtod(m, const void *), m->data_len);
		off += m->data_len;
	}
	return h.len;
}

/* Send the RNDIS messages in slots s[0..n) as one transfer-page packet (out_lock held). */
static int
netvsp_send_xfer(struct netvsp_port *p, const uint32_t *s, const uint32_t *len, uint32_t n,
		 uint32_t channel_type)
{
	struct pvb_vmbus_xfer_range rg[NETVSP_MAX_BURST];
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RNDIS_PKT };
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	uint32_t i;

	for (i = 0; i < n; i++) {
		rg[i].byte_offset = s[i] * p->vsp.slot_size;
		rg[i].byte_count = len[i];
		p->slot_next[s[i]] = i + 1 < n ? s[i + 1] : UINT32_MAX;
	}
	m.u.rndis.channel_type = channel_type;
	m.u.rndis.section_index = PVB_NVSP_NO_SECTION;
	/* trans_id: the first slot, below the slot count, as guests expect (spec §7.1) */
	if (pvb_vmbus_out_xfer(&p->ch->out, s[0], PVB_VMBUS_FLAG_COMPLETION_REQUESTED,
			       PVB_NVSP_RXBUF_ID, rg, n, buf, pvb_nvsp_encode(&m, buf)) != 0)
		return -EAGAIN;
	p->slot_count[s[0]] = n;
	return 0;
}

/* An RNDIS control reply in one slot (in_lock held; takes out_lock). */
static int
netvsp_send_ctl(struct netvsp_port *p, const void *msg, uint32_t len)
{
	int64_t s;
	uint32_t slot, l = len;
	int rc = -ENOSPC;

	if (len > p->vsp.slot_size)
		return -EINVAL;
	rte_spinlock_lock(&p->ch->out_lock);
	/* under out_lock: a revoke clears rxbuf under it */
	s = p->rxbuf != NULL ? pvb_nvsp_slots_get(&p->slots, 1) : -EINVAL;
	if (s >= 0) {
		slot = (uint32_t)s;
		memcpy(p->rxbuf + (uint64_t)slot * p->vsp.slot_size, msg, len);
		rc = netvsp_send_xfer(p, &slot, &l, 1, PVB_NVSP_RNDIS_CONTROL);
		if (rc != 0)
			pvb_nvsp_slots_put(&p->slots, slot, 1);
	}
	rte_spinlock_unlock(&p->ch->out_lock);
	return rc;
}

int
netvsp_indicate_link(struct netvsp_port *p, bool up)
{
	uint8_t msg[64];
	int len = pvb_vsp_link_indication(up, msg, sizeof(msg));

	return len < 0 ? len : netvsp_send_ctl(p, msg, (uint32_t)len);
}

/* Put up to @p n frames in slots and send them; returns how many were taken. */
static uint16_t
netvsp_xmit(struct netvsp_port *p, struct rte_mbuf **pkts, uint16_t n)
{
	struct netvsp_txq *q = &p->txq;
	uint32_t slot[NETVSP_MAX_BURST], len[NETVSP_MAX_BURST];
	struct rte_mbuf *done[NETVSP_MAX_BURST];
	uint32_t room = p->vsp.slot_size - PVB_RNDIS_PACKET_HDR_SIZE;
	uint32_t ns = 0, nd = 0, i;
	uint64_t bytes = 0;
	int64_t s;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (m->pkt_len > room || m->pkt_len < RTE_ETHER_HDR_LEN) {
			pvb_counter_add1w(&q->too_big, 1);
			done[nd++] = m;
			continue;
		}
		if (!netvsp_filter(p, m)) {
			pvb_counter_add1w(&q->filtered, 1);
			done[nd++] = m;
			continue;
		}
		/* the last slots are kept for RNDIS control replies */
		if (p->slots.nfree <= NETVSP_CTL_SLOTS ||
		    (s = pvb_nvsp_slots_get(&p->slots, 1)) < 0) {
			pvb_counter_add1w(&q->no_slot, 1);
			break;
		}
		slot[ns] = (uint32_t)s;
		len[ns] = netvsp_fill_slot(p, slot[ns], m);
		bytes += m->pkt_len;
		done[nd++] = m;
		ns++;
	}
	if (ns > 0 && netvsp_send_xfer(p, slot, len, ns, PVB_NVSP_RNDIS_DATA) != 0) {
		/* no ring room: nothing was sent, the application keeps the frames */
		for (i = 0; i < ns; i++)
			pvb_nvsp_slots_put(&p->slots, slot[i], 1);
		return 0;
	}
	pvb_counter_add1w(&q->packets, ns);
	pvb_counter_add1w(&q->bytes, bytes);
	rte_pktmbuf_free_bulk(done, nd);
	return (uint16_t)i;
}

uint16_t
netvsp_tx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct netvsp_txq *q = queue;
	struct netvsp_port *p = q->port;
	struct nvchan *ch;
	uint16_t sent = 0, k;

	if (!nvchan_enter(&p->act[1], &p->state))
		return 0;
	ch = p->ch;
	/* pairs with the store-release in netvsp_nvsp_control()/_rndis_control() */
	if (!pvb_load_acquire(&p->rx_enabled)) {
		nvchan_leave(&p->act[1]);
		return 0;
	}
	/* slots come back in guest completions: read them when short */
	if (p->slots.nfree < (uint32_t)n + NETVSP_CTL_SLOTS)
		netvsp_events(p, NVCHAN_STOP_AT_DATA, NULL, NULL, 0);
	rte_spinlock_lock(&ch->out_lock);
	/* the events above may have seen a revoke or a filter of 0 */
	while (sent < n && p->rxbuf != NULL && pvb_load_acquire(&p->rx_enabled)) {
		k = netvsp_xmit(p, pkts + sent, (uint16_t)RTE_MIN(n - sent, NETVSP_MAX_BURST));
		if (k == 0)
			break;
		sent += k;
	}
	/* the peer polls in DATA: no doorbell from a burst (see nvchan_signal()) */
	pvb_vmbus_out_commit(&ch->out);
	rte_spinlock_unlock(&ch->out_lock);
	nvchan_leave(&p->act[1]);
	return sent;
}
