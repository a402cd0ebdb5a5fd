/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The bursts: the driver side of the split ring (lib/virtq) with mbufs as
 * buffers, no copy either way.
 *
 * rx reclaims the receive vring: each used buffer is an mbuf we posted,
 * with room for the virtio-net header in its headroom, so the back-end
 * writes the header in front of the frame and the frame lands at the
 * mbuf's data offset. With mergeable buffers a frame may take several
 * (num_buffers); without, a posted buffer is a chain of as many mbufs as
 * the MTU needs. Then it reposts fresh mbufs in bursts. The back-end is
 * untrusted: a length beyond the buffer posted, an id we never posted, a
 * used index ahead of what we posted, or a num_buffers larger than the
 * ring breaks the vring (counted; the control thread closes the session).
 *
 * tx posts each mbuf as one descriptor with the header pushed into its
 * headroom when it is ours alone, else as a chain: a shared header of
 * zeros, then each segment. The back-end reads them in place; the mbufs
 * are freed when it hands them back (reclaimed at the next burst).
 *
 * An empty poll: the hand-over's epoch stores, the state load, and one
 * acquire load of used->idx.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "virtio.h"

#define RX_REFILL	32	/* free descriptors before the receive vring is refilled */
#define TX_AHEAD	3	/* frames ahead whose header line is asked for */

static void
virtio_broken(struct virtio_port *p, pvb_counter_t *c)
{
	/* relaxed: a flag the control thread polls; it takes the vrings before it reads more */
	if (!pvb_load_relaxed(&p->broken))
		pvb_counter_add1w(c, 1);
	pvb_store_relaxed(&p->broken, 1);
}

static void
virtio_kick(struct virtio_ring *r, pvb_counter_t *c)
{
	static const uint64_t one = 1;

	if (pvb_virtq_drv_kick_prepare(&r->d) && write(r->kick_fd, &one, sizeof(one)) > 0)
		pvb_counter_add1w(c, 1);
}

/* ---- rx ----------------------------------------------------------------------------- */

/* What the back-end may write into a buffer of @p q: header, then frame bytes. */
static inline uint32_t
rx_capacity(const struct virtio_rxq *q)
{
	return q->hdr_len + q->chain_segs * q->seg_room;
}

/* Where the back-end writes: the header just in front of the data offset. */
static inline uint64_t
rx_addr(const struct rte_mbuf *m, uint32_t hdr_len)
{
	return (uintptr_t)m->buf_addr + RTE_PKTMBUF_HEADROOM - hdr_len;
}

/*
 * Can the back-end write into the buffers of @p m[0..n)? The pool's own
 * memory was checked when the queue was filled; an mbuf with an external
 * buffer (a pool lending another's memory: a netvsc guest's receive slots)
 * is looked up in the table, the region of the last one remembered.
 */
static inline bool
rx_bufs_shared(struct virtio_rxq *q, struct rte_mbuf **m, uint32_t n)
{
	uint32_t i, t;

	for (i = 0; i < n; i++) {
		uint64_t va = (uintptr_t)m[i]->buf_addr, len = m[i]->buf_len;
		const struct virtio_region *r;

		if (likely(!RTE_MBUF_HAS_EXTBUF(m[i])) ||
		    (va - q->ext_va < q->ext_len && len <= q->ext_va + q->ext_len - va))
			continue;
		for (t = 0, r = q->p->table; t < q->p->ntable; t++, r++)
			if (va - r->va < r->len && len <= r->va + r->len - va)
				break;
		if (t == q->p->ntable)
			return false;
		q->ext_va = r->va;
		q->ext_len = r->len;
		/* removing it must take these buffers back (rte_pmd_pvb_virtio_mem_del()) */
		for (t = 0; t < q->p->next; t++)
			if (q->p->ext[t].va == r->va)
				q->p->ext[t].rx_posted = true;
	}
	return true;
}

/* Allocate @p n buffers the back-end can write into; false (counted) if there are none. */
static inline bool
rx_alloc(struct virtio_rxq *q, struct rte_mbuf **m, uint32_t n)
{
	if (rte_pktmbuf_alloc_bulk(q->mp, m, n) != 0) {
		pvb_counter_add1w(&q->nombuf, n);
		return false;
	}
	if (unlikely(!rx_bufs_shared(q, m, n))) {
		/* memory the application has not added (yet): wait for it */
		pvb_counter_add1w(&q->unshared, n);
		rte_pktmbuf_free_bulk(m, n);
		return false;
	}
	return true;
}

/* Post chains of q->chain_segs mbufs (no mergeable buffers, frames beyond one mbuf). */
static uint32_t
rx_fill_chains(struct virtio_rxq *q, uint32_t chains)
{
	struct pvb_virtq_buf b[PVB_VIRTQ_MAX_SEGS];
	struct rte_mbuf *m[PVB_VIRTQ_MAX_SEGS];
	uint32_t c, s, k = q->chain_segs;

	for (c = 0; c < chains; c++) {
		if (!rx_alloc(q, m, k))
			break;
		for (s = 0; s < k; s++) {
			b[s] = (struct pvb_virtq_buf){ .gpa = rx_addr(m[s], s == 0 ? q->hdr_len : 0),
						       .len = q->seg_room, .write = true };
			if (s + 1 < k)
				m[s]->next = m[s + 1];
		}
		b[0].len += q->hdr_len;
		m[0]->nb_segs = (uint16_t)k;
		if (pvb_virtq_drv_add(&q->r->d, b, k, m[0]) != 0) {
			rte_pktmbuf_free(m[0]);
			break;
		}
	}
	pvb_virtq_drv_publish(&q->r->d);
	return c;
}

/* Post fresh mbufs into the free descriptors of the receive vring. */
static uint32_t
rx_refill(struct virtio_rxq *q)
{
	struct pvb_virtq_buf b[VIRTIO_BURST];
	struct rte_mbuf **m = (struct rte_mbuf **)q->tokens;
	uint32_t room = q->r->d.num_free / q->chain_segs, posted = 0, k, i;

	if (q->chain_segs > 1)
		posted = rx_fill_chains(q, room);
	while (q->chain_segs == 1 && posted < room) {
		k = RTE_MIN(room - posted, (uint32_t)VIRTIO_BURST);
		if (!rx_alloc(q, m, k))
			break;
		for (i = 0; i < k; i++)
			b[i] = (struct pvb_virtq_buf){ .gpa = rx_addr(m[i], q->hdr_len),
						       .len = q->seg_room + q->hdr_len,
						       .write = true };
		/* room was counted: every one is taken */
		posted += (uint32_t)pvb_virtq_drv_add_burst(&q->r->d, b, q->tokens, k);
	}
	if (posted != 0)
		virtio_kick(q->r, &q->kicks);
	return posted;
}

int
virtio_rx_fill(struct virtio_rxq *q)
{
	struct virtio_port *p = q->p;
	uint32_t frame = rte_eth_devices[p->port_id].data->mtu + RTE_ETHER_HDR_LEN +
			 RTE_VLAN_HLEN;

	q->r = &p->ring[2 * q->qid];
	q->ext_va = q->ext_len = 0;
	q->part_head = q->part_tail = NULL;
	q->part_left = 0;
	if (q->mp == NULL)	/* a queue the application did not set up: nothing to post */
		return 0;
	q->seg_room = rte_pktmbuf_data_room_size(q->mp) - RTE_PKTMBUF_HEADROOM;
	q->chain_segs = q->mrg_rxbuf ? 1 : (uint16_t)((frame + q->seg_room - 1) / q->seg_room);
	if (q->chain_segs > PVB_VIRTQ_MAX_SEGS || q->chain_segs > p->queue_size) {
		LOG_SETUP(p, "%s: rx queue %u: %u-byte frames take %u mbufs of %u bytes without "
		    "mergeable buffers; use larger mbufs or mrg_rxbuf=1", p->name, q->qid, frame,
		    q->chain_segs, q->seg_room);
		return -EINVAL;
	}
	if (!virtio_pool_shared(p, q->mp)) {
		LOG_SETUP(p, "%s: rx queue %u: mbuf pool %s is in memory the back-end cannot "
			  "see; add it with rte_pmd_pvb_virtio_mem_add()", p->name, q->qid,
			  q->mp->name);
		return -EFAULT;
	}
	rx_refill(q);
	q->r = NULL;	/* the bursts get it with the session */
	return 0;
}

void
virtio_rx_release(struct virtio_rxq *q)
{
	struct virtio_ring *r = &q->p->ring[2 * q->qid];
	uint32_t k, i;

	while ((k = pvb_virtq_drv_drain(&r->d, q->tokens, VIRTIO_BURST)) != 0)
		for (i = 0; i < k; i++)
			rte_pktmbuf_free(q->tokens[i]);
	rte_pktmbuf_free(q->part_head);
	q->part_head = q->part_tail = NULL;
	q->part_left = 0;
}

/* A frame of one posted buffer (a chain of chain_segs mbufs): trim to @p frame bytes. */
static struct rte_mbuf *
rx_chain_trim(struct virtio_rxq *q, struct rte_mbuf *m, uint32_t frame)
{
	struct rte_mbuf *s = m, *last = m;
	uint32_t left = frame;
	uint16_t segs = 0;

	m->pkt_len = frame;
	while (s != NULL && (left > 0 || s == m)) {
		s->data_len = (uint16_t)RTE_MIN(left, q->seg_room);
		left -= s->data_len;
		last = s;
		segs++;
		s = s->next;
	}
	last->next = NULL;
	m->nb_segs = segs;
	rte_pktmbuf_free(s);	/* the buffers the frame did not reach */
	return m;
}

/*
 * One used buffer of a mergeable frame: the first (with the header and its
 * num_buffers) starts a frame, the others continue it from their start.
 * The frame when it is whole, else NULL. -1 in @p bad when the back-end broke the ring.
 */
static struct rte_mbuf *
rx_merge(struct virtio_rxq *q, struct rte_mbuf *m, uint32_t len, bool *bad)
{
	struct rte_mbuf *h;

	if (q->part_left == 0) {
		const struct pvb_vnet_hdr *hdr =
			rte_pktmbuf_mtod_offset(m, const struct pvb_vnet_hdr *, -(int)q->hdr_len);
		uint16_t nb = hdr->num_buffers;

		if (unlikely(nb == 0 || nb > q->p->queue_size)) {
			*bad = true;
			rte_pktmbuf_free(m);
			return NULL;
		}
		m->data_len = (uint16_t)(len - q->hdr_len);
		m->pkt_len = m->data_len;
		q->part_head = q->part_tail = m;
		q->part_left = (uint16_t)(nb - 1);
	} else {
		/* a continuation buffer holds frame bytes from its first byte */
		m->data_off = (uint16_t)(RTE_PKTMBUF_HEADROOM - q->hdr_len);
		m->data_len = (uint16_t)len;
		q->part_tail->next = m;
		q->part_tail = m;
		q->part_head->nb_segs++;
		q->part_head->pkt_len += len;
		q->part_left--;
	}
	if (q->part_left != 0)
		return NULL;
	h = q->part_head;
	q->part_head = q->part_tail = NULL;
	return h;
}

/*
 * The header the back-end wrote in front of frame @p m (copied first: the
 * back-end can still write there) asks for something or vouches for the
 * checksum: mbuf flags per the contract (doc/virtio.md, "Offloads"). False:
 * refused, counted and logged; the caller frees @p m.
 */
static bool
rx_offload(struct virtio_rxq *q, struct rte_mbuf *m, const struct pvb_vnet_hdr *h)
{
	struct pvb_vnet_ol ol;
	enum pvb_vnet_bad bad;
	const char *why;

	bad = pvb_vnet_rx_ol(h, q->accept, rte_pktmbuf_mtod(m, uint8_t *), m->data_len,
			     m->pkt_len, &ol, &why);
	if (unlikely(bad != PVB_VNET_OK)) {
		pvb_counter_add1w(&q->ol_bad[bad], 1);
		if (pvb_vnet_log_due(&q->log_last))
			LOG(WARNING, "%s: rx queue %u: frame dropped (%s): %s", q->p->name, q->qid,
			    pvb_vnet_bad_str(bad), why);
		return false;
	}
	pvb_vnet_ol_to_mbuf(&ol, m);
	if (ol.flags & PVB_VNET_OL_TSO)
		pvb_counter_add1w(&q->ol_tso, 1);
	else if (ol.flags & PVB_VNET_OL_CSUM)
		pvb_counter_add1w(&q->ol_csum, 1);
	return true;
}

/* The frame's header: in the headroom of its first mbuf, in front of the data. */
static __rte_always_inline bool
rx_header(const struct virtio_rxq *q, const struct rte_mbuf *m, struct pvb_vnet_hdr *h)
{
	const uint8_t *b = rte_pktmbuf_mtod_offset(m, const uint8_t *, -(int)q->hdr_len);

	/* one load for a frame that asks nothing: flags and gso_type both zero */
	if (likely(b[0] == 0 && b[1] == 0))
		return false;
	memset(h, 0, sizeof(*h));
	memcpy(h, b, q->hdr_len);
	return true;
}

uint16_t
virtio_rx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct virtio_rxq *q = queue;
	struct virtio_port *p = q->p;
	struct pvb_active *a = &p->act[q->qid];
	struct virtio_ring *r;
	uint32_t got = 0, cap, i, len, want;
	struct pvb_vnet_hdr h;
	uint64_t bytes = 0;
	bool bad = false;
	int k;

	if (!pvb_handover_enter(a, &p->state, VIRTIO_RUN))
		return 0;
	r = q->r;
	cap = rx_capacity(q);
	while (got < n) {
		want = RTE_MIN(n - got, (uint32_t)VIRTIO_BURST);
		k = pvb_virtq_drv_get_used_burst(&r->d, q->tokens, q->lens, want);
		if (unlikely(k < 0)) {
			virtio_broken(p, &q->bad_used);
			break;
		}
		for (i = 0; i < (uint32_t)k; i++) {
			struct rte_mbuf *m = q->tokens[i];

			len = q->lens[i];
			if (i + 1 < (uint32_t)k)
				rte_prefetch0(q->tokens[i + 1]);
			if (unlikely(len > cap)) {
				rte_pktmbuf_free(m);
				bad = true;
				continue;
			}
			if (q->mrg_rxbuf) {
				if (unlikely(q->part_left == 0 && len < q->hdr_len)) {
					pvb_counter_add1w(&q->bad_lengths, 1);
					rte_pktmbuf_free(m);
					continue;
				}
				m = rx_merge(q, m, len, &bad);
				if (m == NULL)
					continue;
			} else if (unlikely(len <= q->hdr_len)) {
				pvb_counter_add1w(&q->bad_lengths, 1);
				rte_pktmbuf_free(m);
				continue;
			} else if (q->chain_segs == 1) {
				m->data_len = (uint16_t)(len - q->hdr_len);
				m->pkt_len = m->data_len;
			} else {
				m = rx_chain_trim(q, m, len - q->hdr_len);
			}
			if (unlikely(rx_header(q, m, &h)) && !rx_offload(q, m, &h)) {
				rte_pktmbuf_free(m);
				continue;
			}
			m->port = q->port_id;
			bytes += m->pkt_len;
			pkts[got++] = m;
		}
		if (unlikely(bad)) {
			pvb_virtq_drv_set_broken(&r->d, PVB_VIRTQ_FAULT_USED_LEN);
			virtio_broken(p, &q->bad_used);
			break;
		}
		if ((uint32_t)k < want)
			break;	/* nothing more used */
	}
	if (r->d.num_free >= RX_REFILL && !bad)
		rx_refill(q);
	pvb_handover_leave(a);
	if (got != 0) {
		pvb_counter_add1w(&q->packets, got);
		pvb_counter_add1w(&q->bytes, bytes);
	}
	return (uint16_t)got;
}

/* ---- tx ----------------------------------------------------------------------------- */

/*
 * Free what the back-end has read, at every burst: the mbufs go back to the
 * pool while their lines are still in this core's cache, and the next
 * frames are built in them (waiting until half the ring is in flight, as
 * DPDK's tx_free_thresh does, measured three times slower at 64 bytes: the
 * application then writes every frame into lines long evicted).
 */
static uint32_t
tx_reclaim(struct virtio_txq *q, struct virtio_ring *r)
{
	uint32_t done = 0;
	int k;

	do {
		/* no lengths: what the back-end read is of no interest, its lines stay there */
		k = pvb_virtq_drv_get_used_burst(&r->d, q->tokens, NULL, VIRTIO_BURST);
		if (unlikely(k < 0)) {
			virtio_broken(q->p, &q->bad_used);
			break;
		}
		if (k != 0)
			rte_pktmbuf_free_bulk((struct rte_mbuf **)q->tokens, (unsigned int)k);
		done += (uint32_t)k;
	} while (k == VIRTIO_BURST);
	return done;
}

/*
 * Is @p m's pool in the table? One compare per frame: a pool is looked at
 * once, when it is first seen after the table was sent.
 */
static inline bool
tx_pool_ok(struct virtio_txq *q, const struct rte_mbuf *m)
{
	if (likely(m->pool == q->pool_ok))
		return true;
	if (!virtio_pool_shared(q->p, m->pool))
		return false;
	q->pool_ok = m->pool;
	return true;
}

/* May the header go into @p m's headroom (one segment, ours alone, in a shared pool)? */
static inline bool
tx_can_push(struct virtio_txq *q, const struct rte_mbuf *m, uint32_t hdr_len)
{
	return m->nb_segs == 1 && RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 &&
	       rte_pktmbuf_headroom(m) >= hdr_len && tx_pool_ok(q, m);
}

/*
 * Zero the header in front of the frame, writing only what is not zero
 * already (the line then stays valid where the back-end read it last). The
 * header is 12 bytes (VERSION_1 or mergeable buffers) or 10: loads of a
 * size the compiler knows, no library call.
 */
static inline uint64_t
tx_push_header(struct rte_mbuf *m, uint32_t hdr_len)
{
	uint8_t *h = rte_pktmbuf_mtod_offset(m, uint8_t *, -(int)hdr_len);
	uint64_t w0;
	uint32_t w1 = 0;
	uint16_t w1s;

	memcpy(&w0, h, 8);
	if (likely(hdr_len == 12)) {
		memcpy(&w1, h + 8, 4);
	} else {
		memcpy(&w1s, h + 8, 2);
		w1 = w1s;
	}
	if (w0 != 0 || w1 != 0)
		memset(h, 0, hdr_len);
	return (uintptr_t)h;
}

/* Ask for the header line of a frame a few places ahead: its read then does not wait. */
static inline void
tx_prefetch_header(struct rte_mbuf *m, uint32_t hdr_len)
{
	rte_prefetch0(rte_pktmbuf_mtod_offset(m, uint8_t *, -(int)hdr_len));
}

/*
 * Post @p m as a chain: the shared zero header, then each segment; or, with
 * @p pushed, its own header already in front of its first segment. 1
 * posted, 0 when the ring is full, -1 when @p m can never go (freed,
 * counted).
 */
static int
tx_post_chain(struct virtio_txq *q, struct virtio_ring *r, struct rte_mbuf *m, bool pushed)
{
	struct pvb_virtq_buf b[PVB_VIRTQ_MAX_SEGS + 1];
	struct rte_mbuf *s;
	uint32_t k = 0;

	if (unlikely(m->nb_segs >= RTE_MIN((uint32_t)PVB_VIRTQ_MAX_SEGS, r->d.size))) {
		pvb_counter_add1w(&q->too_many_segs, 1);
		rte_pktmbuf_free(m);
		return -1;
	}
	if (r->d.num_free < m->nb_segs + 1u)
		return 0;
	if (!pushed)
		b[k++] = (struct pvb_virtq_buf){ .gpa = (uintptr_t)q->zero_hdr, .len = q->hdr_len };
	for (s = m; s != NULL; s = s->next) {
		uint64_t va = rte_pktmbuf_mtod(s, uintptr_t);
		uint32_t len = s->data_len;

		if (pushed && s == m) {
			va -= q->hdr_len;
			len += q->hdr_len;
		}
		/* a buffer the back-end cannot see (not added to the table) */
		if (unlikely(RTE_MBUF_HAS_EXTBUF(s) ? !virtio_mem_shared(q->p, va, len) :
			     !tx_pool_ok(q, rte_mbuf_from_indirect(s)))) {
			pvb_counter_add1w(&q->unshared, 1);
			rte_pktmbuf_free(m);
			return -1;
		}
		b[k++] = (struct pvb_virtq_buf){ .gpa = va, .len = len };
	}
	return pvb_virtq_drv_add(&r->d, b, k, m) == 0 ? 1 : 0;
}

/*
 * Post one frame now (not batched): one descriptor with the header in its
 * headroom (@p pushed: written already; else zeros), or a chain. As
 * tx_post_chain().
 */
static int
tx_post_now(struct virtio_txq *q, struct virtio_ring *r, struct rte_mbuf *m, bool pushed)
{
	struct pvb_virtq_buf b;

	if (pushed ? m->nb_segs != 1 || !tx_pool_ok(q, m) : !tx_can_push(q, m, q->hdr_len))
		return tx_post_chain(q, r, m, pushed);
	if (!pushed)
		tx_push_header(m, q->hdr_len);
	b = (struct pvb_virtq_buf){ .gpa = rte_pktmbuf_mtod_offset(m, uintptr_t, -(int)q->hdr_len),
				    .len = m->data_len + q->hdr_len };
	return pvb_virtq_drv_add(&r->d, &b, 1, m) == 0 ? 1 : 0;
}

/* Frames waiting to go as one descriptor each (header pushed), posted with one publish. */
struct tx_batch {
	struct pvb_virtq_buf b[VIRTIO_BURST];
	void *tok[VIRTIO_BURST];
	uint32_t n;
	uint32_t done;		/* frames of the burst dealt with: posted or dropped */
	uint32_t dropped;
	uint32_t absorbed;	/* frames of the burst that became pending frames */
	uint32_t pend_sent;	/* pending frames posted */
	uint64_t bytes;
};

/* Post the batch; false when the ring took only part of it (the rest stays the caller's). */
static inline bool
tx_flush(struct virtio_ring *r, struct tx_batch *t)
{
	uint32_t posted, k;

	if (t->n == 0)
		return true;
	posted = (uint32_t)RTE_MAX(pvb_virtq_drv_add_burst(&r->d, t->b, t->tok, t->n), 0);
	for (k = posted; k < t->n; k++)
		t->bytes -= ((struct rte_mbuf *)t->tok[k])->pkt_len;
	t->done += posted;
	k = t->n;
	t->n = 0;
	return posted == k;
}

/* ---- tx offloads -------------------------------------------------------------------- */

static void
tx_bad(struct virtio_txq *q, const char *why)
{
	pvb_counter_add1w(&q->ol_bad, 1);
	if (pvb_vnet_log_due(&q->log_last))
		LOG(WARNING, "%s: tx queue %u: frame dropped: %s", q->p->name, q->qid, why);
}

/*
 * The virtio-net header of @p m's request into @p h, the checksum field of
 * the frame set in the form the back-end takes. False: dropped (counted;
 * the caller frees).
 */
static bool
tx_vnet_hdr(struct virtio_txq *q, struct rte_mbuf *m, struct pvb_vnet_hdr *h)
{
	struct pvb_vnet_ol ol;

	pvb_vnet_ol_from_mbuf(m, false, &ol);
	if (pvb_vnet_tx_hdr(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, m->pkt_len, &ol,
			    h) != 0) {
		tx_bad(q, "headers do not match the offload request (l2/l3/l4_len, flags), or "
			  "are not in the first segment");
		return false;
	}
	h->num_buffers = 0;
	if (h->flags & PVB_VNET_HDR_F_NEEDS_CSUM)
		pvb_counter_add1w(h->gso_type != PVB_VNET_GSO_NONE ? &q->ol_tso : &q->ol_csum, 1);
	return true;
}

/* A header mbuf tx_hdr_chain() made: no data, the header in its headroom, the frame after it. */
static inline bool
tx_is_hdr_chain(const struct virtio_txq *q, const struct rte_mbuf *m)
{
	return m->pool == q->swol.gso.direct_pool && m->data_len == 0 && m->next != NULL;
}

/*
 * @p m (a request, no tag) whose headroom is not ours to write (a netvsc
 * guest's send section, a shared mbuf): its header goes in an mbuf of its
 * own in front, so the frame stays where it is, read in place by the
 * back-end. The chain to post, or NULL: dropped (counted, freed).
 */
static struct rte_mbuf *
tx_hdr_chain(struct virtio_txq *q, struct rte_mbuf *m)
{
	struct rte_mbuf *h;
	struct pvb_vnet_hdr vh;

	if (!tx_vnet_hdr(q, m, &vh)) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	h = rte_pktmbuf_alloc(q->swol.gso.direct_pool);
	if (h == NULL) {
		tx_bad(q, "no mbuf for the header of a frame sent in place");
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(rte_pktmbuf_mtod_offset(h, uint8_t *, -(int)q->hdr_len), &vh, q->hdr_len);
	h->next = m;
	h->nb_segs = (uint16_t)(m->nb_segs + 1);
	h->pkt_len = m->pkt_len;
	return h;
}

/*
 * A frame with a request or a VLAN tag: made ours to write (a copy when its
 * first segment is shared or lacks headroom, counted; a request without a
 * tag keeps the frame where it is: tx_hdr_chain()), the tag inserted
 * (virtio has none to ask for), and then either left to software (@p sw:
 * the back-end did not ack what it asks) or its header written in front of
 * it, the checksum field in the form the back-end takes. The frame to post
 * (maybe the copy), or NULL: dropped, counted.
 */
static struct rte_mbuf *
tx_prepare(struct virtio_txq *q, struct rte_mbuf *m, bool *sw)
{
	uint32_t room = q->hdr_len + ((m->ol_flags & RTE_MBUF_F_TX_VLAN) ? RTE_VLAN_HLEN : 0);
	struct pvb_vnet_hdr h;
	struct rte_mbuf *c;

	*sw = false;
	/* segments are new frames: the input is only read, shared or not */
	if ((m->ol_flags & (RTE_MBUF_F_TX_VLAN | RTE_MBUF_F_TX_TCP_SEG)) == RTE_MBUF_F_TX_TCP_SEG &&
	    pvb_swol_needed(m, pvb_vnet_can(m, q->accept))) {
		*sw = true;
		return m;
	}
	if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 ||
	    rte_pktmbuf_headroom(m) < room) {
		/* no tag to insert: the frame need not move, its header goes in front */
		if (!(m->ol_flags & RTE_MBUF_F_TX_VLAN) && m->nb_segs < PVB_VIRTQ_MAX_SEGS - 1 &&
		    !pvb_swol_needed(m, pvb_vnet_can(m, q->accept)))
			return tx_hdr_chain(q, m);
		c = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
		rte_pktmbuf_free(m);
		if (c == NULL) {
			tx_bad(q, "no mbuf for a private copy of a shared frame");
			return NULL;
		}
		pvb_counter_add1w(&q->ol_copies, 1);
		m = c;
	}
	if (m->ol_flags & RTE_MBUF_F_TX_VLAN) {
		/* the tag after the addresses, l2_len grown with it */
		if (rte_vlan_insert(&m) != 0) {
			tx_bad(q, "VLAN tag insertion failed (frame shorter than its addresses)");
			rte_pktmbuf_free(m);
			return NULL;
		}
		pvb_counter_add1w(&q->sw_vlan, 1);
	}
	if (!(m->ol_flags & PVB_VNET_TX_REQ))
		return m;
	if (pvb_swol_needed(m, pvb_vnet_can(m, q->accept))) {
		*sw = true;
		return m;
	}
	if (!tx_vnet_hdr(q, m, &h)) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, -(int)q->hdr_len), &h, q->hdr_len);
	return m;
}

/*
 * Post the pending frames, in order. True when none is left; false when the
 * ring is full (the rest waits for the next burst).
 */
static bool
tx_post_pending(struct virtio_txq *q, struct virtio_ring *r, struct tx_batch *t)
{
	struct rte_mbuf *m;
	bool sw, pushed;
	int rc;

	while (q->pend_next < q->pend_n) {
		m = q->pend[q->pend_next];
		pushed = tx_is_hdr_chain(q, m);
		if (!pushed && (m->ol_flags & q->ol_mask)) {
			/* prepared again (the header is rewritten the same) */
			m = tx_prepare(q, m, &sw);
			if (m != NULL && sw) {
				tx_bad(q, "software offload left a request");
				rte_pktmbuf_free(m);
				m = NULL;
			}
			if (m == NULL) {
				q->pend_next++;
				continue;
			}
			pushed = (m->ol_flags & PVB_VNET_TX_REQ) != 0;
		}
		rc = tx_post_now(q, r, m, pushed);
		if (rc == 0) {
			q->pend[q->pend_next] = m;
			return false;
		}
		if (rc > 0) {
			t->pend_sent++;
			t->bytes += m->pkt_len;
		}
		q->pend_next++;
	}
	q->pend_n = q->pend_next = 0;
	return true;
}

/* Make @p m the pending frames: what software offload made of it. 0, or -1 (dropped). */
static int
tx_software(struct virtio_txq *q, struct rte_mbuf *m)
{
	bool seg = m->ol_flags & RTE_MBUF_F_TX_TCP_SEG;
	int n;

	n = pvb_swol_apply(&q->swol, m, pvb_vnet_can(m, q->accept), q->pend, PVB_SWOL_MAX_SEGS);
	if (n < 0) {
		tx_bad(q, "software offload failed (headers not matching the request, or no "
			  "mbufs)");
		rte_pktmbuf_free(m);
		return -1;
	}
	if (seg) {
		pvb_counter_add1w(&q->sw_gso, 1);
		pvb_counter_add1w(&q->sw_gso_segs, (uint64_t)n);
	} else {
		pvb_counter_add1w(&q->sw_cksum, 1);
	}
	q->pend_n = (uint16_t)n;
	q->pend_next = 0;
	return 0;
}

/*
 * A frame with a request or a tag (the batch flushed before it): posted,
 * made pending (software offload, or the ring could not take it once
 * prepared) or dropped. Always consumed.
 */
static void
tx_offload(struct virtio_txq *q, struct virtio_ring *r, struct rte_mbuf *m, struct tx_batch *t)
{
	bool sw;
	int rc;

	t->done++;
	m = tx_prepare(q, m, &sw);
	if (m == NULL) {
		t->dropped++;
		return;
	}
	if (sw) {
		if (tx_software(q, m) != 0) {
			t->dropped++;
			return;
		}
		t->absorbed++;
		tx_post_pending(q, r, t);
		return;
	}
	rc = tx_post_now(q, r, m, tx_is_hdr_chain(q, m) || (m->ol_flags & PVB_VNET_TX_REQ));
	if (rc > 0) {
		t->bytes += m->pkt_len;
	} else if (rc < 0) {
		t->dropped++;
	} else {
		q->pend[0] = m;
		q->pend_n = 1;
		q->pend_next = 0;
		t->absorbed++;
	}
}

uint16_t
virtio_tx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct virtio_txq *q = queue;
	struct virtio_port *p = q->p;
	struct pvb_active *a = &p->act[VIRTIO_MAX_QUEUES + q->qid];
	struct virtio_ring *r;
	struct tx_batch t;
	bool room = true;
	uint32_t i;
	int rc;

	if (!pvb_handover_enter(a, &p->state, VIRTIO_RUN))
		return 0;
	t.n = t.done = t.dropped = t.absorbed = t.pend_sent = 0;
	t.bytes = 0;
	r = q->r;
	tx_reclaim(q, r);
	if (unlikely(r->d.broken))
		goto out;
	/* what software made of an earlier frame goes first */
	if (unlikely(q->pend_n != 0) && !tx_post_pending(q, r, &t))
		room = false;
	for (i = 0; i < n && room; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + TX_AHEAD < n)
			tx_prefetch_header(pkts[i + TX_AHEAD], q->hdr_len);

		if (unlikely(m->ol_flags & q->ol_mask)) {
			if (!tx_flush(r, &t))
				break;
			tx_offload(q, r, m, &t);
			/* frames left pending: the ring is full */
			room = q->pend_n == 0;
			continue;
		}
		if (likely(tx_can_push(q, m, q->hdr_len))) {
			t.b[t.n] = (struct pvb_virtq_buf){ .gpa = tx_push_header(m, q->hdr_len),
							   .len = m->data_len + q->hdr_len };
			t.tok[t.n++] = m;
			t.bytes += m->pkt_len;
			if (t.n == VIRTIO_BURST)
				room = tx_flush(r, &t);
			continue;
		}
		/* in order: what is batched goes first */
		if (!tx_flush(r, &t))
			break;
		rc = tx_post_chain(q, r, m, false);
		if (rc == 0)
			break;
		t.done++;
		if (rc > 0)
			t.bytes += m->pkt_len;
		else
			t.dropped++;
	}
	room = tx_flush(r, &t) && room;
	pvb_virtq_drv_publish(&r->d);
	virtio_kick(r, &q->kicks);
	if (t.done < n)
		pvb_counter_add1w(&q->ring_full, 1);
out:
	pvb_handover_leave(a);
	if (t.done + t.pend_sent != t.dropped + t.absorbed) {
		pvb_counter_add1w(&q->packets, t.done + t.pend_sent - t.dropped - t.absorbed);
		pvb_counter_add1w(&q->bytes, t.bytes);
	}
	return (uint16_t)t.done;
}

int
virtio_tx_done_cleanup(void *queue, uint32_t free_cnt)
{
	struct virtio_txq *q = queue;
	struct virtio_port *p = q->p;
	struct pvb_active *a = &p->act[VIRTIO_MAX_QUEUES + q->qid];
	uint32_t done;

	if (!pvb_handover_enter(a, &p->state, VIRTIO_RUN))
		return 0;
	RTE_SET_USED(free_cnt);	/* all that the back-end has read */
	done = tx_reclaim(q, q->r);
	pvb_handover_leave(a);
	return (int)done;
}

void
virtio_tx_release(struct virtio_txq *q)
{
	struct virtio_ring *r = &q->p->ring[2 * q->qid + 1];
	uint32_t k, i;

	while (q->pend_next < q->pend_n)
		rte_pktmbuf_free(q->pend[q->pend_next++]);
	q->pend_n = q->pend_next = 0;
	while ((k = pvb_virtq_drv_drain(&r->d, q->tokens, VIRTIO_BURST)) != 0)
		for (i = 0; i < k; i++)
			rte_pktmbuf_free(q->tokens[i]);
}
