/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The host datapath (host -> guest: netvsp_tx.c).
 *  - guest -> host: NVSP 107 from a send-buffer section (several RNDIS
 *    packets back to back) or by GPA-direct pages; every frame becomes an
 *    mbuf over the guest's bytes (no copy above copybreak), and the NVSP
 *    completion goes back once the last of them is freed.
 *  - host -> guest: each frame is copied into a free receive-buffer slot
 *    behind its RNDIS header (a TCP frame to segment into a run of
 *    adjacent slots, when the guest enabled RSC); one transfer-page packet
 *    per burst carries them all; the guest's completion frees the slots.
 * Offloads (nvport_ol.h): the guest's checksum and LSOv2 requests become
 * mbuf TX flags on the way in; on the way out checksum results and large
 * frames become PPIs, and what the guest did not enable is done by pvb_swol.
 * Control messages met on the way (RNDIS set filter, keepalive, halt,
 * revokes) go to the VSP state machine, whatever thread polls.
 */

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "netvsp.h"
#include "nvport_ol.h"

#define NETVSP_MAX_GPA_PAGES	20	/* one frame of up to 9216 + header */
#define NETVSP_RX_AHEAD		256	/* section bytes asked for ahead of the parse */

static void netvsp_slots_release(struct netvsp_port *p);

int
netvsp_slots_setup(struct netvsp_port *p)
{
	static const struct pvb_rndis_pktinfo none;
	uint32_t n = p->vsp.slot_count;
	int socket = p->base.socket_id;

	/* the data header every host -> guest frame starts with */
	RTE_BUILD_BUG_ON(sizeof(p->tx_hdr) != PVB_RNDIS_PACKET_HDR_SIZE);
	pvb_rndis_data_encode(&p->tx_hdr, 0, &none, 1);

	p->slot_next = rte_malloc_socket("netvsp_next", sizeof(uint32_t) * n, 0, socket);
	p->slot_count = rte_zmalloc_socket("netvsp_count", sizeof(uint32_t) * n, 0, socket);
	if (p->slot_next == NULL || p->slot_count == NULL ||
	    pvb_nvsp_slots_init(&p->slots, n) != 0) {
		netvsp_slots_release(p);
		return -ENOMEM;
	}
	return 0;
}

static void
netvsp_slots_release(struct netvsp_port *p)
{
	pvb_nvsp_slots_fini(&p->slots);
	memset(&p->slots, 0, sizeof(p->slots));
	rte_free(p->slot_next);
	rte_free(p->slot_count);
	p->slot_next = NULL;
	p->slot_count = NULL;
}

void
netvsp_slots_free(struct netvsp_port *p)
{
	struct netvsp_lend *l;
	uint32_t k;

	rte_spinlock_lock(&p->lend_lock);
	rte_spinlock_lock(&p->slot_lock);
	k = netvsp_lend_close(p, &l);
	rte_spinlock_unlock(&p->slot_lock);
	rte_spinlock_unlock(&p->lend_lock);
	netvsp_lend_put(l, k);
	netvsp_slots_release(p);
}

/*
 * The guest completed our transfer @p id: free its slots (slot_lock held).
 * A lent slot is the guest's no more: the slot is free when no mbuf holds it
 * either, else the last mbuf free gives it back. A transfer sent on one
 * channel and completed on another is the guest's confusion: the slots go
 * back all the same (trans ids are first slots, unique across channels).
 */
static void
netvsp_slot_complete(struct netvsp_port *p, uint64_t id)
{
	struct netvsp_lend *l = p->lend;
	uint32_t i, s, n, back = 0;

	if (id >= p->slots.n || p->slot_count[id] == 0) {
		pvb_counter_add(&p->base.bad_completions, 1);
		return;
	}
	n = p->slot_count[id];
	p->slot_count[id] = 0;
	for (i = 0, s = (uint32_t)id; i < n && s < p->slots.n; i++) {
		uint32_t next = p->slot_next[s];

		if (l != NULL && l->slot[s].held) {
			l->slot[s].held = 0;
			if (rte_mbuf_ext_refcnt_update(&l->slot[s].shinfo, -1) == 0) {
				pvb_nvsp_slots_put(&p->slots, s, 1);
				back++;
			}
		} else {
			pvb_nvsp_slots_put(&p->slots, s, 1);
		}
		s = next;
	}
	/* never the last reference: the port holds one while l is published */
	if (back != 0)
		netvsp_lend_put(l, back);
}

/* The guest's completions read from @p ch (its out_lock held): one slot_lock for them all. */
void
netvsp_slots_complete(struct nvport *base, struct nvchan *ch, const uint64_t *ids,
		      unsigned int n)
{
	struct netvsp_port *p = netvsp_port(base);
	unsigned int i;

	RTE_SET_USED(ch);
	rte_spinlock_lock(&p->slot_lock);
	for (i = 0; i < n; i++)
		netvsp_slot_complete(p, ids[i]);
	rte_spinlock_unlock(&p->slot_lock);
}

/* ---- guest -> host ---------------------------------------------------------- */

/*
 * The guest's checksum or LSOv2 request on @p m: checked and turned into TX
 * flags (0), or counted and logged (-1: drop the frame).
 */
static int
netvsp_rx_offload(struct netvsp_port *v, struct rte_mbuf *m, const struct pvb_rndis_pktinfo *pi)
{
	struct nvport_ol_req r;
	const char *why = NULL;
	/* relaxed: the in_lock holder (this poll) is its writer */
	int rc = nvport_ol_from_tx_ppi(pi, pvb_load_relaxed(&v->offload), &r, &why);

	if (rc > 0)
		why = nvport_ol_request(m, &r);
	if (rc == 0 || why == NULL)
		return 0;
	nvport_ol_bad(&v->base, &v->base.rx_offload_bad, "guest", why);
	return -1;
}

/* One frame at @p msg (a decoded PACKET_MSG) into an mbuf of @p r, or a copy. */
static int
netvsp_deliver(struct nvport_poll *e, struct nvchan_rec *r, uint8_t *msg,
	       const struct pvb_rndis_data *d)
{
	struct rte_mbuf *m;

	if (e->mode != NVPORT_DELIVER) {
		pvb_counter_add(&e->p->not_polled_drops, 1);
		return 0;
	}
	m = nvport_rx_frame(e, r, msg, d->frame_off, d->frame_len, true);
	if (m == NULL)
		return -ENOMEM;
	if (d->pi.present & PVB_PI_VLAN) {
		m->vlan_tci = (uint16_t)(PVB_RNDIS_VLAN_ID(d->pi.vlan) |
					 (PVB_RNDIS_VLAN_PRIO(d->pi.vlan) << 13));
		/* the guest asked for the tag: whoever sends the frame on inserts it */
		m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED |
			       RTE_MBUF_F_TX_VLAN;
	}
	if ((d->pi.present & (PVB_PI_CSUM | PVB_PI_LSO)) &&
	    netvsp_rx_offload(netvsp_port(e->p), m, &d->pi) != 0) {
		rte_pktmbuf_free(m);
		return 0;
	}
	nvport_rx_count(e, m, d->frame_len);
	return 0;
}


/* Tell the tx side what the VSP decided (in_lock holder). */
static void
netvsp_publish(struct netvsp_port *v)
{
	/* relaxed: published by the store-release below */
	pvb_store_relaxed(&v->filter, v->vsp.filter);
	pvb_store_relaxed(&v->offload, v->vsp.offload);
	netvsp_rss_publish(v);
	/* pairs with the load-acquire in netvsp_tx_burst() */
	pvb_store_release(&v->rx_enabled, pvb_vsp_rx_enabled(&v->vsp) && v->base.rxbuf != NULL);
}

static uint32_t
netvsp_rndis_control(struct netvsp_port *v, uint8_t *buf, uint32_t len)
{
	struct pvb_rndis_ctl c;
	/* the largest request a guest sends: RSS parameters (PVB_RNDIS_CTL_MAX) */
	uint8_t msg[1024], reply[512];
	int rc;

	/* one private copy: the guest can rewrite its section meanwhile */
	if (len > sizeof(msg))
		len = sizeof(msg);
	memcpy(msg, buf, len);
	if (pvb_rndis_ctl_decode(msg, len, &c) != 0) {
		pvb_counter_add(&v->base.bad_packets, 1);
		return PVB_NVSP_STAT_INVALID_RNDIS;
	}
	rc = pvb_vsp_rndis(&v->vsp, &c, msg, reply, sizeof(reply));
	netvsp_publish(v);
	if (rc < 0) {
		pvb_counter_add(&v->base.protocol_errors, 1);
		return PVB_NVSP_STAT_FAIL;
	}
	if (rc > 0 && netvsp_send_ctl(v, reply, (uint32_t)rc) != 0)
		pvb_counter_add(&v->ctl_reply_failed, 1);
	return PVB_NVSP_STAT_SUCCESS;
}

/*
 * The RNDIS data packets in [buf, buf + len) of guest memory, from where the
 * last call stopped (p->cur_pos): 0 when all are delivered (r->status says
 * how it went), -EAGAIN when the burst is full (resume next time).
 */
static int
netvsp_rndis_stream(struct nvport_poll *e, struct nvchan_rec *r, uint8_t *buf, uint32_t len)
{
	struct nvport *p = e->p;
	struct nvchan *ch = e->ch;
	struct pvb_rndis_data d;

	while (ch->cur_pos < len) {
		if (e->mode == NVPORT_DELIVER && e->got == e->n)
			return -EAGAIN;
		/* the lines a few small frames on, from the guest's cache (a hint) */
		if (ch->cur_pos + NETVSP_RX_AHEAD < len)
			rte_prefetch0(buf + ch->cur_pos + NETVSP_RX_AHEAD);
		if (pvb_rndis_data_decode(buf + ch->cur_pos, len - ch->cur_pos, &d) != 0) {
			pvb_counter_add(&p->bad_packets, 1);
			r->status = PVB_NVSP_STAT_INVALID_RNDIS;
			return 0;
		}
		if (netvsp_deliver(e, r, buf + ch->cur_pos, &d) != 0)
			return -EAGAIN;
		/* msg_len >= 44: the walk ends */
		ch->cur_pos += d.msg_len;
	}
	return 0;
}

/* Where the RNDIS bytes of a section NVSP 107 are; NULL if not in the send buffer. */
static uint8_t *
netvsp_section(struct netvsp_port *v, const struct pvb_nvsp_msg *m, uint32_t *len)
{
	uint32_t idx = m->u.rndis.section_index, size = m->u.rndis.section_size;

	if (v->base.sendbuf == NULL || idx >= v->vsp.section_count ||
	    size > v->vsp.section_size || size == 0)
		return NULL;
	*len = size;
	return v->base.sendbuf + (uint64_t)idx * v->vsp.section_size;
}

/*
 * Where the RNDIS bytes of a GPA-direct NVSP 107 are: one range of
 * contiguous pages of the primary's region (a subchannel's packet names
 * pages of the guest's memory as the primary's do: that is where the send
 * buffer and the frames are).
 */
static uint8_t *
netvsp_gpa(struct nvchan *ch, struct nvchan *primary, const struct pvb_vmbus_pkt *pk,
	   uint32_t *len)
{
	struct pvb_vmbus_gpa_iter it = { 0 };
	struct pvb_vmbus_xfer_range rg;
	uint64_t pfn[NETVSP_MAX_GPA_PAGES];
	uint64_t pages = primary->shm.len / PVB_VMBUS_PAGE;
	int np, i;

	np = pvb_vmbus_in_gpa_next(&ch->in, pk, &it, &rg, pfn, RTE_DIM(pfn));
	if (np <= 0 || np > (int)RTE_DIM(pfn) || pk->range_count != 1)
		return NULL;
	/* a guest page number is a page of the region; the range must be contiguous */
	for (i = 0; i < np; i++)
		if (pfn[i] >= pages || pfn[i] != pfn[0] + (uint64_t)i)
			return NULL;
	*len = rg.byte_count;
	return primary->shm.base + pfn[0] * PVB_VMBUS_PAGE + rg.byte_offset;
}

/* NVSP 107 from the guest: data frames (resumable) or one RNDIS control message. */
static int
netvsp_rndis(struct nvport_poll *e, const struct pvb_vmbus_pkt *pk, const struct pvb_nvsp_msg *m)
{
	struct nvport *p = e->p;
	struct netvsp_port *v = netvsp_port(p);
	struct nvchan *ch = e->ch;
	struct nvchan_rec *r;
	uint8_t *buf = NULL;
	uint32_t len = 0;
	int rc = 0;

	if (m->u.rndis.channel_type != PVB_NVSP_RNDIS_CONTROL && e->mode == NVPORT_STOP_AT_DATA)
		return -EAGAIN;
	r = nvport_rec(ch, pk->trans_id);
	if (r == NULL)
		return -EAGAIN;	/* every record is out with the application */
	if (pk->type == PVB_VMBUS_PKT_DATA_GPA_DIRECT)
		buf = netvsp_gpa(ch, p->ch, pk, &len);
	else if (m->u.rndis.section_index != PVB_NVSP_NO_SECTION)
		buf = netvsp_section(v, m, &len);
	if (pvb_vmbus_in_broken(&ch->in))
		rc = -EPIPE;
	if (buf == NULL) {
		pvb_counter_add(&p->bad_packets, 1);
		r->status = PVB_NVSP_STAT_FAIL;
	} else if (m->u.rndis.channel_type == PVB_NVSP_RNDIS_CONTROL) {
		/* control travels on the primary: on a subchannel it is refused, not run */
		if (ch->idx == 0) {
			r->status = netvsp_rndis_control(v, buf, len);
		} else {
			pvb_counter_add(&p->protocol_errors, 1);
			r->status = PVB_NVSP_STAT_FAIL;
		}
	} else if (netvsp_rndis_stream(e, r, buf, len) != 0) {
		return -EAGAIN;
	}
	nvport_rec_parsed(ch);
	return rc;
}

/* The VSP accepted or revoked a buffer: map it in or out (in_lock holder). */
static void
netvsp_buffers(struct netvsp_port *v)
{
	struct nvport *p = &v->base;
	const struct pvb_chan_gpadl *g;

	if (v->vsp.have_recv_buf && p->rxbuf == NULL) {
		struct netvsp_lend *l = NULL;

		g = pvb_chan_gpadl_find(&v->open, v->vsp.recv_gpadl);
		/*
		 * The memory first, with no lock held (netvsp.h); the slots are
		 * nobody else's while rxbuf is NULL (no lend state either).
		 */
		netvsp_slots_release(v);
		if (netvsp_slots_setup(v) == 0) {
			l = netvsp_lend_alloc(v);
			if (l == NULL)
				LOG(WARNING, "%s: no memory to lend receive slots: frames are copied",
				    p->path);
			/* the slot pool takes lend_lock, then slot_lock: so do we */
			rte_spinlock_lock(&v->lend_lock);
			rte_spinlock_lock(&v->slot_lock);
			p->rxbuf = p->ch->shm.base + g->offset;
			p->rxbuf_len = g->size;
			if (l != NULL)
				netvsp_lend_open(v, l);
			rte_spinlock_unlock(&v->slot_lock);
			rte_spinlock_unlock(&v->lend_lock);
		}
	}
	if (v->vsp.have_send_buf && p->sendbuf == NULL) {
		g = pvb_chan_gpadl_find(&v->open, v->vsp.send_gpadl);
		p->sendbuf = p->ch->shm.base + g->offset;
		p->sendbuf_len = g->size;
	}
	if (!v->vsp.have_send_buf)
		p->sendbuf = NULL;
	if (!v->vsp.have_recv_buf && p->rxbuf != NULL) {
		/* revoked: not one more byte into the guest's receive buffer */
		struct netvsp_lend *l;
		uint32_t k;

		rte_spinlock_lock(&v->lend_lock);
		rte_spinlock_lock(&v->slot_lock);
		p->rxbuf = NULL;
		k = netvsp_lend_close(v, &l);
		rte_spinlock_unlock(&v->slot_lock);
		rte_spinlock_unlock(&v->lend_lock);
		netvsp_lend_put(l, k);
	}
}

/* An NVSP message other than 107: the VSP answers it. */
static void
netvsp_nvsp_control(struct netvsp_port *v, const struct pvb_vmbus_pkt *pk,
		    const struct pvb_nvsp_msg *m)
{
	struct nvchan *ch = v->base.ch;
	struct pvb_nvsp_msg reply;
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	int rc;

	rc = pvb_vsp_nvsp(&v->vsp, m, &reply);
	if (rc < 0) {
		pvb_counter_add(&v->base.protocol_errors, 1);
		return;
	}
	netvsp_buffers(v);
	netvsp_publish(v);
	if (rc == 1 && (pk->flags & PVB_VMBUS_FLAG_COMPLETION_REQUESTED)) {
		rte_spinlock_lock(&ch->out_lock);
		if (pvb_vmbus_out_comp(&ch->out, pk->trans_id, buf,
				       pvb_nvsp_encode(&reply, buf)) != 0)
			pvb_counter_add(&ch->comp_ring_full, 1);
		rte_spinlock_unlock(&ch->out_lock);
	}
}

/* One ring packet; -EAGAIN: leave it for later, -EPIPE: the ring broke. */
int
netvsp_packet(struct nvport_poll *e, const struct pvb_vmbus_pkt *pk)
{
	struct nvchan *ch = e->ch;
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
		/* NVSP control travels on the primary; on a subchannel it is not run */
		if (ch->idx != 0)
			pvb_counter_add(&e->p->protocol_errors, 1);
		else
			netvsp_nvsp_control(netvsp_port(e->p), pk, &m);
		return 0;
	}
	return netvsp_rndis(e, pk, &m);
}

NVPORT_EVENTS_DEFINE(netvsp, netvsp_packet, netvsp_slots_complete, NULL)
