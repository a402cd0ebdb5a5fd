/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The host datapath, host -> guest: each frame is copied into a free
 * receive-buffer slot behind its RNDIS header, or sent in place from a slot
 * lent to the application (a TCP frame to segment whole into a run of
 * adjacent slots, when the guest enabled RSC); one transfer-page packet per
 * burst and channel carries them all, on the channel the guest's RSS names;
 * the guest's completion frees the slots. Checksum results and large frames
 * become PPIs; what the guest did not enable is done by pvb_swol. The
 * guest -> host half is netvsp_rxtx.c.
 */

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "netvsp.h"
#include "nvport_ol.h"

/* ---- host -> guest ---------------------------------------------------------- */

/* Would the guest's packet filter take this frame? */
static bool
netvsp_filter(const struct netvsp_port *v, const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	/* relaxed: ordered by the load-acquire of rx_enabled in netvsp_tx_burst() */
	uint32_t f = pvb_load_relaxed(&v->filter);

	if (f & PVB_RNDIS_FILTER_PROMISCUOUS)
		return true;
	if (rte_is_broadcast_ether_addr(&eh->dst_addr))
		return f & PVB_RNDIS_FILTER_BROADCAST;
	if (rte_is_multicast_ether_addr(&eh->dst_addr))
		return f & (PVB_RNDIS_FILTER_ALL_MULTICAST | PVB_RNDIS_FILTER_MULTICAST);
	return (f & PVB_RNDIS_FILTER_DIRECTED) && rte_is_same_ether_addr(&eh->dst_addr,
									  &v->guest_mac);
}

/*
 * The RNDIS header without per-packet info of a @p frame_len-byte frame at
 * @p dst, from the template and straight into the slot (one built on the
 * stack and copied out stalls on store forwarding): only the lengths vary.
 * Returns the message length.
 */
static inline uint32_t
netvsp_write_hdr(const struct netvsp_port *v, uint8_t *dst, uint32_t frame_len)
{
	uint32_t len = PVB_RNDIS_PACKET_HDR_SIZE + frame_len;

	memcpy(dst, &v->tx_hdr, PVB_RNDIS_PACKET_HDR_SIZE);
	memcpy(dst + offsetof(struct pvb_rndis_packet_msg, len), &len, sizeof(len));
	memcpy(dst + offsetof(struct pvb_rndis_packet_msg, data_len), &frame_len,
	       sizeof(frame_len));
	return len;
}

/*
 * Copy one frame behind its RNDIS header (with the PPIs of @p pi, or none)
 * into slot @p s and, for a large frame, the slots after it; the message
 * length.
 */
static uint32_t
netvsp_fill_slot(struct netvsp_port *v, uint32_t s, const struct rte_mbuf *m,
		 const struct pvb_rndis_pktinfo *pi)
{
	uint8_t *dst = v->base.rxbuf + (uint64_t)s * v->vsp.slot_size;
	uint32_t off = PVB_RNDIS_PACKET_HDR_SIZE, len;

	if (likely(pi->present == 0)) {
		len = netvsp_write_hdr(v, dst, m->pkt_len);
	} else {
		off = pvb_rndis_data_hdr_len(pi);
		len = pvb_rndis_data_encode(dst, m->pkt_len, pi, 1);
	}
	if (likely(m->next == NULL)) {
		nvchan_copy(dst + off, rte_pktmbuf_mtod(m, const void *), m->data_len);
		return len;
	}
	for (; m != NULL; m = m->next) {
		nvchan_copy(dst + off, rte_pktmbuf_mtod(m, const void *), m->data_len);
		off += m->data_len;
	}
	return len;
}

/*
 * Send the RNDIS messages at offset @p off[i] (NULL: 0) of slots s[0..n),
 * each spanning @p nsl[i] adjacent slots (NULL: one), as one transfer-page
 * packet on @p ch (its out_lock and slot_lock held). The slots are chained
 * in slot_next for the completion, which frees them all.
 */
static int
netvsp_send_xfer(struct netvsp_port *v, struct nvchan *ch, const uint32_t *s,
		 const uint32_t *off, const uint32_t *len, const uint32_t *nsl, uint32_t n,
		 uint32_t channel_type)
{
	struct pvb_vmbus_xfer_range rg[NETVSP_MAX_BURST];
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RNDIS_PKT };
	uint8_t buf[PVB_NVSP_MSG_SIZE];
	uint32_t i, j, k, total = 0;

	for (i = 0; i < n; i++) {
		k = nsl != NULL ? nsl[i] : 1;
		rg[i].byte_offset = s[i] * v->vsp.slot_size + (off != NULL ? off[i] : 0);
		rg[i].byte_count = len[i];
		for (j = 0; j + 1 < k; j++)
			v->slot_next[s[i] + j] = s[i] + j + 1;
		v->slot_next[s[i] + k - 1] = i + 1 < n ? s[i + 1] : UINT32_MAX;
		total += k;
	}
	m.u.rndis.channel_type = channel_type;
	m.u.rndis.section_index = PVB_NVSP_NO_SECTION;
	/* trans_id: the first slot, below the slot count, as guests expect (doc/nvsp.md) */
	if (pvb_vmbus_out_xfer(&ch->out, s[0], PVB_VMBUS_FLAG_COMPLETION_REQUESTED,
			       PVB_NVSP_RXBUF_ID, rg, n, buf, pvb_nvsp_encode(&m, buf)) != 0)
		return -EAGAIN;
	v->slot_count[s[0]] = total;
	return 0;
}

/* An RNDIS control reply in one slot, on the primary (in_lock held; takes out_lock). */
int
netvsp_send_ctl(struct netvsp_port *v, const void *msg, uint32_t len)
{
	struct nvport *p = &v->base;
	int64_t s;
	uint32_t slot, l = len;
	int rc = -ENOSPC;

	if (len > v->vsp.slot_size)
		return -EINVAL;
	rte_spinlock_lock(&p->ch->out_lock);
	rte_spinlock_lock(&v->slot_lock);
	/* under slot_lock: a revoke clears rxbuf under it */
	s = p->rxbuf != NULL ? pvb_nvsp_slots_get(&v->slots, 1) : -EINVAL;
	if (s >= 0) {
		slot = (uint32_t)s;
		memcpy(p->rxbuf + (uint64_t)slot * v->vsp.slot_size, msg, len);
		rc = netvsp_send_xfer(v, p->ch, &slot, NULL, &l, NULL, 1, PVB_NVSP_RNDIS_CONTROL);
		if (rc != 0)
			pvb_nvsp_slots_put(&v->slots, slot, 1);
	}
	rte_spinlock_unlock(&v->slot_lock);
	if (rc == 0 && pvb_vmbus_out_commit(&p->ch->out))
		nvchan_signal(p->ch);
	rte_spinlock_unlock(&p->ch->out_lock);
	return rc;
}

int
netvsp_send_table(struct netvsp_port *v)
{
	struct nvchan *ch = v->base.ch;
	uint8_t buf[PVB_NVSP_INDIRECTION_SIZE];
	uint32_t len = pvb_nvsp_table_encode(buf, v->base.nchan);
	int rc;

	rte_spinlock_lock(&ch->out_lock);
	rc = pvb_vmbus_out_inband(&ch->out, 0, 0, buf, len);
	if (rc == 0 && pvb_vmbus_out_commit(&ch->out))
		nvchan_signal(ch);
	rte_spinlock_unlock(&ch->out_lock);
	return rc;
}

int
netvsp_indicate_link(struct netvsp_port *v, bool up)
{
	uint8_t msg[64];
	int len = pvb_vsp_link_indication(up, msg, sizeof(msg));

	return len < 0 ? len : netvsp_send_ctl(v, msg, (uint32_t)len);
}

/*
 * A frame the guest can take in place: one segment in a slot lent from the
 * current channel, not with the guest already, with room for the RNDIS
 * header of @p hlen bytes (its PPIs included) in front. The slot, or NULL (the frame is copied).
 */
static inline struct netvsp_lent *
netvsp_in_place(const struct netvsp_port *v, const struct rte_mbuf *m, uint32_t hlen)
{
	struct netvsp_lent *sl = netvsp_lent_of(v->lend, m);

	if (sl == NULL || sl->held || m->nb_segs != 1 || m->data_off < hlen ||
	    (uint32_t)m->data_off + m->pkt_len > v->lend->slot_size)
		return NULL;
	return sl;
}

/* The mbuf flags that make a frame go through netvsp_tx_ol(). */
#define NETVSP_OL_FLAGS	(RTE_MBUF_F_TX_VLAN | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG | \
			 RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_RX_L4_CKSUM_MASK | \
			 RTE_MBUF_F_RX_IP_CKSUM_MASK)

/* A TCP frame to segment in software: the guest did not enable RSC for it, or it is odd. */
static inline bool
netvsp_needs_gso(uint32_t ofl, const struct rte_mbuf *m)
{
	uint64_t f = m->ol_flags;
	bool v6 = (f & RTE_MBUF_F_TX_IPV6) != 0;

	if (likely(!(f & RTE_MBUF_F_TX_TCP_SEG)))
		return false;
	return !(ofl & (v6 ? PVB_OFL_RSC6 : PVB_OFL_RSC4)) || m->tso_segsz == 0 ||
	       (uint32_t)m->l2_len + m->l3_len > 0x3ff || m->pkt_len > NVPORT_OL_FRAME_MAX;
}

/* The PPI the checksum value @p v makes, if any. */
static inline void
netvsp_csum_ppi(struct pvb_rndis_pktinfo *pi, uint32_t v)
{
	if (v != 0) {
		pi->present |= PVB_PI_CSUM;
		pi->csum = v;
	}
}

/*
 * What frame @p m asks for, towards a guest that enabled @p ofl: its PPIs
 * in @p pi. 0: send it; 1: it must be segmented in software first
 * (netvsp_tx_gso()); -1: drop it (counted).
 *  - TCP segmentation: one large frame with an LSOv2 PPI (MSS, TCP offset)
 *    and "checksums good" when the guest enabled RSC for its IP version
 *    (doc/netvsp-netvsc.md, the receive-side LSO extension), else software;
 *  - a checksum to fill: filled here (a guest forwarding the frame needs it
 *    right, not a pseudo-header sum marked good), then marked good;
 *  - checksums verified before: their results.
 */
static int
netvsp_tx_ol(struct nvport_txq *q, struct rte_mbuf *m, uint32_t ofl, struct pvb_rndis_pktinfo *pi)
{
	uint64_t f = m->ol_flags;
	uint32_t off = (uint32_t)m->l2_len + m->l3_len;
	bool v6 = (f & RTE_MBUF_F_TX_IPV6) != 0;

	if (f & RTE_MBUF_F_TX_VLAN) {
		pi->present |= PVB_PI_VLAN;
		pi->vlan = (uint32_t)(m->vlan_tci & 0xfff) << 4 | (uint32_t)(m->vlan_tci >> 13);
	}
	if (f & RTE_MBUF_F_TX_TCP_SEG) {
		if (netvsp_needs_gso(ofl, m))
			return 1;
		pi->present |= PVB_PI_LSO;
		pi->lso = PVB_RNDIS_LSO2_MK(m->tso_segsz, off, v6);
		netvsp_csum_ppi(pi, nvport_ol_rx_good(f, ofl));
		return 0;
	}
	if (f & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IP_CKSUM)) {
		if (pvb_swol_cksum(m) != 0) {
			pvb_counter_add1w(&q->sw_failed, 1);
			return -1;
		}
		pvb_counter_add1w(&q->sw_cksum, 1);
		netvsp_csum_ppi(pi, nvport_ol_rx_good(f, ofl));
		return 0;
	}
	if (ofl & PVB_OFL_RX_CSUM)
		netvsp_csum_ppi(pi, nvport_ol_rx_result(m, ofl));
	return 0;
}

/*
 * Put up to @p n frames in slots and send them on @p ch (its out_lock
 * held), with the RSS hashes of @p hi (NULL: none); returns how many were
 * taken.
 */
static uint16_t
netvsp_xmit(struct netvsp_port *v, struct nvport_txq *q, struct nvchan *ch,
	    struct rte_mbuf **pkts, uint16_t n, const struct netvsp_hash *hi)
{
	uint32_t slot[NETVSP_MAX_BURST], len[NETVSP_MAX_BURST], off[NETVSP_MAX_BURST];
	uint32_t nsl[NETVSP_MAX_BURST];
	struct pvb_rndis_pktinfo pis[NETVSP_MAX_BURST];
	struct rte_mbuf *done[NETVSP_MAX_BURST], *fill[NETVSP_MAX_BURST];
	struct netvsp_lent *lent[NETVSP_MAX_BURST];
	/* relaxed: ordered by the load-acquire of rx_enabled in netvsp_tx_burst() */
	uint32_t ofl = pvb_load_relaxed(&v->offload);
	uint32_t ns = 0, nd = 0, nref = 0, nlarge = 0, i, k, hlen, need;
	uint64_t bytes = 0, ref_bytes = 0;
	uint8_t *dst;
	int64_t s;

	rte_spinlock_lock(&v->slot_lock);
	/* the events before may have seen a revoke: not one byte into the buffer then */
	if (unlikely(v->base.rxbuf == NULL)) {
		rte_spinlock_unlock(&v->slot_lock);
		return 0;
	}
	/* first the slots, asked for writable at once: their lines come over together */
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct pvb_rndis_pktinfo *pi = &pis[ns];
		struct netvsp_lent *sl;

		if (m->pkt_len < RTE_ETHER_HDR_LEN) {
			pvb_counter_add1w(&q->too_big, 1);
			done[nd++] = m;
			continue;
		}
		if (!netvsp_filter(v, m)) {
			pvb_counter_add1w(&v->tx_filtered, 1);
			done[nd++] = m;
			continue;
		}
		pi->present = 0;
		if (hi != NULL && hi[i].type != 0) {
			/* where the frame goes was its hash's choice: the guest learns both */
			pi->present = PVB_PI_HASH | PVB_PI_HASH_INFO;
			pi->hash = hi[i].hash;
			pi->hash_info = PVB_NDIS_HASH_FUNC_TOEPLITZ | hi[i].type;
		}
		if (unlikely(m->ol_flags & NETVSP_OL_FLAGS)) {
			int rc = netvsp_tx_ol(q, m, ofl, pi);

			if (rc > 0)
				break;	/* the caller segments it */
			if (rc < 0) {
				done[nd++] = m;
				continue;
			}
		}
		hlen = pvb_rndis_data_hdr_len(pi);
		sl = netvsp_in_place(v, m, hlen);
		if (sl != NULL) {
			uint8_t *h = rte_pktmbuf_mtod_offset(m, uint8_t *, -(int)hlen);

			/* already where the guest reads it: the header goes in front */
			sl->held = 1;
			rte_mbuf_ext_refcnt_update(&sl->shinfo, 1);
			off[ns] = m->data_off - hlen;
			len[ns] = likely(pi->present == 0) ?
				  netvsp_write_hdr(v, h, m->pkt_len) :
				  pvb_rndis_data_encode(h, m->pkt_len, pi, 1);
			lent[ns] = sl;
			slot[ns] = sl->idx;
			nsl[ns] = 1;
			nlarge += (pi->present & PVB_PI_LSO) != 0;
			fill[ns++] = NULL;
			done[nd++] = m;
			bytes += m->pkt_len;
			ref_bytes += m->pkt_len;
			nref++;
			continue;
		}
		need = 1;
		if (m->pkt_len > v->vsp.slot_size - hlen) {
			if (!(pi->present & PVB_PI_LSO)) {
				pvb_counter_add1w(&q->too_big, 1);
				done[nd++] = m;
				continue;
			}
			/* a large frame: a run of adjacent slots, one range */
			need = (hlen + m->pkt_len + v->vsp.slot_size - 1) / v->vsp.slot_size;
		}
		/* the last slots are kept for RNDIS control replies */
		if (v->slots.nfree < NETVSP_CTL_SLOTS + need ||
		    (s = pvb_nvsp_slots_get(&v->slots, need)) < 0) {
			pvb_counter_add1w(&v->tx_no_slot, 1);
			break;
		}
		dst = v->base.rxbuf + (uint64_t)s * v->vsp.slot_size;
		nvchan_prefetch_w(dst);
		nvchan_prefetch_w(dst + RTE_CACHE_LINE_SIZE);
		off[ns] = 0;
		lent[ns] = NULL;
		slot[ns] = (uint32_t)s;
		nsl[ns] = need;
		nlarge += (pi->present & PVB_PI_LSO) != 0;
		fill[ns++] = m;
		done[nd++] = m;
	}
	for (k = 0; k < ns; k++) {
		if (fill[k] == NULL)
			continue;
		len[k] = netvsp_fill_slot(v, slot[k], fill[k], &pis[k]);
		bytes += fill[k]->pkt_len;
	}
	if (ns > 0 && netvsp_send_xfer(v, ch, slot, off, len, nsl, ns, PVB_NVSP_RNDIS_DATA) != 0) {
		/* no ring room: nothing was sent, the application keeps the frames */
		for (k = 0; k < ns; k++) {
			if (lent[k] == NULL) {
				pvb_nvsp_slots_put(&v->slots, slot[k], nsl[k]);
				continue;
			}
			lent[k]->held = 0;
			rte_mbuf_ext_refcnt_update(&lent[k]->shinfo, -1);
		}
		rte_spinlock_unlock(&v->slot_lock);
		return 0;
	}
	rte_spinlock_unlock(&v->slot_lock);
	pvb_counter_add1w(&q->packets, ns);
	pvb_counter_add1w(&q->bytes, bytes);
	if (nref != 0) {
		pvb_counter_add1w(&q->ref_packets, nref);
		pvb_counter_add1w(&q->ref_bytes, ref_bytes);
	}
	if (nlarge != 0)
		pvb_counter_add1w(&v->tx_large, nlarge);
	rte_pktmbuf_free_bulk(done, nd);
	return (uint16_t)i;
}

/*
 * A TCP frame the guest cannot take whole: segmented in software (the
 * segments' checksums filled, so marked good) and sent; segments that find
 * no slot are dropped, counted in tx_no_slot. Always consumes @p m.
 */
static void
netvsp_tx_gso(struct netvsp_port *v, struct nvport_txq *q, struct nvchan *ch,
	      struct rte_mbuf *m, const struct netvsp_hash *hi)
{
	struct netvsp_hash segh[PVB_SWOL_MAX_SEGS];
	struct rte_mbuf *seg[PVB_SWOL_MAX_SEGS];
	int n = pvb_swol_apply(&q->swol, m, 0, seg, RTE_DIM(seg)), i, k = 0;
	uint16_t r;

	if (n < 0) {
		pvb_counter_add1w(&q->sw_failed, 1);
		rte_pktmbuf_free(m);
		return;
	}
	pvb_counter_add1w(&q->sw_gso, 1);
	pvb_counter_add1w(&q->sw_gso_segs, (uint64_t)n);
	/* every checksum of a segment was just computed: good, whatever m said */
	for (i = 0; i < n; i++)
		seg[i]->ol_flags = (seg[i]->ol_flags & ~(RTE_MBUF_F_RX_L4_CKSUM_MASK |
							  RTE_MBUF_F_RX_IP_CKSUM_MASK)) |
				   RTE_MBUF_F_RX_L4_CKSUM_GOOD |
				   ((seg[i]->ol_flags & RTE_MBUF_F_TX_IPV4) ?
				    RTE_MBUF_F_RX_IP_CKSUM_GOOD : 0);
	/* the segments of one flow: one hash, one channel */
	for (i = 0; hi != NULL && i < n; i++)
		segh[i] = *hi;
	while (k < n) {
		r = netvsp_xmit(v, q, ch, seg + k, (uint16_t)RTE_MIN(n - k, NETVSP_MAX_BURST),
				hi != NULL ? segh + k : NULL);
		if (r == 0)
			break;
		k += r;
	}
	if (k < n)
		rte_pktmbuf_free_bulk(seg + k, (unsigned int)(n - k));
}

/*
 * Frames @p pkts[0..n) on channel @p ch for tx queue @p q (enter held):
 * completions first, then slots and one transfer-page packet per burst of
 * up to NETVSP_MAX_BURST; returns how many were taken.
 */
static uint16_t
netvsp_tx_chan(struct netvsp_port *v, struct nvport_txq *q, struct nvchan *ch,
	       struct rte_mbuf **pkts, uint16_t n, const struct netvsp_hash *hi)
{
	struct nvport *p = &v->base;
	uint16_t sent = 0, k;

	/*
	 * Slots come back in guest completions: take them as they come, so the
	 * next slots are the ones just freed, still in our cache (a sender that
	 * waits until it runs short walks the whole receive buffer).
	 */
	if (!nvchan_idle(ch))
		nvport_events(p, ch, &p->rxq[ch->idx], NVPORT_STOP_AT_DATA, NULL, NULL, 0,
			      netvsp_packet, netvsp_slots_complete, NULL);
	rte_spinlock_lock(&ch->out_lock);
	/* slots lent out and freed elsewhere: back into the allocator first */
	if (v->lend != NULL && !rte_ring_empty(v->lend->retq)) {
		rte_spinlock_lock(&v->slot_lock);
		if (v->lend != NULL)
			netvsp_lend_reclaim(v, v->lend);
		rte_spinlock_unlock(&v->slot_lock);
	}
	/* the events above may have seen a revoke or a filter of 0 */
	while (sent < n && pvb_load_acquire(&v->rx_enabled)) {
		/* relaxed: ordered by the load-acquire of rx_enabled above */
		if (unlikely(netvsp_needs_gso(pvb_load_relaxed(&v->offload), pkts[sent]))) {
			netvsp_tx_gso(v, q, ch, pkts[sent], hi != NULL ? &hi[sent] : NULL);
			sent++;
			continue;
		}
		k = netvsp_xmit(v, q, ch, pkts + sent, (uint16_t)RTE_MIN(n - sent, NETVSP_MAX_BURST),
				hi != NULL ? hi + sent : NULL);
		if (k == 0)
			break;
		sent += k;
	}
	/* the guest unmasked (it sleeps): wake it; never blocks */
	if (pvb_vmbus_out_commit(&ch->out))
		nvchan_signal(ch);
	rte_spinlock_unlock(&ch->out_lock);
	return sent;
}

/*
 * With RSS set by the guest: each frame goes on the channel its Toeplitz
 * hash names in the guest's table, in runs of frames for one channel (the
 * order of a flow is kept: a flow is one channel). Returns how many were
 * taken: a run that stops short ends the burst.
 */
static uint16_t
netvsp_tx_rss(struct netvsp_port *v, struct nvport_txq *q, const struct netvsp_rss *rss,
	      struct rte_mbuf **pkts, uint16_t n)
{
	struct netvsp_hash hi[NETVSP_MAX_BURST];
	uint8_t chan[NETVSP_MAX_BURST];
	uint16_t sent = 0, k, j, r;

	n = RTE_MIN(n, NETVSP_MAX_BURST);
	netvsp_rss_steer(rss, v->base.nchan, pkts, n, chan, hi);
	for (k = 0; k < n; k = j) {
		for (j = k + 1; j < n && chan[j] == chan[k]; j++)
			;
		r = netvsp_tx_chan(v, q, v->base.chs[chan[k]], pkts + k, (uint16_t)(j - k),
				   hi + k);
		sent += r;
		if (r < j - k)
			break;
	}
	return sent;
}

uint16_t
netvsp_tx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct nvport_txq *q = queue;
	struct nvport *p = q->port;
	struct netvsp_port *v = netvsp_port(p);
	struct pvb_active *a = &p->act[2 * q->qid + 1];
	const struct netvsp_rss *rss;
	uint16_t sent;

	if (unlikely(n == 0) || !nvport_enter(a, &p->state))
		return 0;
	/* pairs with the store-release in netvsp_publish() */
	if (!pvb_load_acquire(&v->rx_enabled)) {
		nvport_leave(a);
		return 0;
	}
	rss = netvsp_rss_get(v);
	if (rss == NULL)
		sent = netvsp_tx_chan(v, q, nvport_tx_chan(p, q->qid), pkts, n, NULL);
	else
		sent = netvsp_tx_rss(v, q, rss, pkts, n);
	nvport_leave(a);
	return sent;
}
