/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The bursts. rx pops the guest's transmit vring, checks each frame's
 * virtio-net header and copies the frame into mbufs; tx fills the guest's
 * receive vring, one or (with mergeable buffers) several of its buffers per
 * frame, header first. Each burst reads the avail index once, publishes the
 * used index once, and decides once whether to call the driver (only when
 * it gave a call fd and asked: flags or used_event, VIRTIO 1.2 §2.7.7-8).
 * An empty poll: the hand-over's epoch stores, the state load, and one
 * acquire load of avail->idx.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_memcpy.h>

#include "vhost.h"

#define TX_MAX_CHAINS	64	/* guest buffers one frame may take (mergeable) */

/* A burst found a vring broken: the control thread closes the connection. */
static void
vhost_broken(struct vhost_port *p)
{
	/* relaxed: a flag the control thread polls; it quiesces before it reads more */
	pvb_store_relaxed(&p->broken, 1);
}

/*
 * Enter a burst on vring @p *vqp: the count of chains waiting (one acquire
 * load of avail->idx), or 0 when there are none or no vring; a vring the
 * driver broke is reported to the control thread. The caller leaves.
 */
static __rte_always_inline int
vhost_burst_avail(struct vhost_port *p, struct pvb_virtq_dev *vq)
{
	int avail;

	if (unlikely(vq == NULL))
		return 0;
	avail = pvb_virtq_dev_avail_count(vq);
	if (unlikely(avail == -EPIPE))
		vhost_broken(p);
	return avail > 0 ? avail : 0;
}

/* Publish @p n used elements with one store, then call the driver if it asked. */
static __rte_always_inline void
vhost_publish(struct pvb_virtq_dev *vq, const struct pvb_virtq_used_elem *used, uint32_t n,
	      int call_fd, pvb_counter_t *notified)
{
	static const uint64_t one = 1;

	if (n == 0 || pvb_virtq_dev_push_used_burst(vq, used, n) < 0)
		return;
	/* a driver without a call fd polls: no fence, no decision */
	if (call_fd >= 0 && pvb_virtq_dev_should_notify(vq) &&
	    write(call_fd, &one, sizeof(one)) == sizeof(one))
		pvb_counter_add1w(notified, 1);
}

#define PEEK_AHEAD	3	/* chains ahead whose first buffer line is fetched early */

/*
 * Ask for the first lines of the buffer @p ahead chains after the next one:
 * it sits in the driver's cache (it wrote the frame, or read the last one
 * we wrote there), and the copy of the frames before it hides the transfer.
 */
/*
 * Ask for the descriptors of the @p n chains the burst will take, all at
 * once (the first few the count asked for), so that their misses overlap
 * and peeking at them a few frames ahead does not wait.
 */
static __rte_always_inline void
vhost_prefetch_descs(const struct pvb_virtq_dev *vq, uint32_t n)
{
	uint32_t k;

	for (k = 8; k < n; k++)
		pvb_virtq_dev_prefetch_desc(vq, (uint16_t)k);
}

static __rte_always_inline void
vhost_prefetch(const struct pvb_virtq_dev *vq, uint16_t ahead, bool write)
{
	const uint8_t *b;

	b = pvb_virtq_dev_peek_buf(vq, ahead);
	if (b == NULL)
		return;
	/* the header is read first (tx_put_header()): keep its line shared */
	__builtin_prefetch(b, 0, 3);
	/* the frame's first line, often the next one (a header pushed in front of it) */
	if (write)
		__builtin_prefetch(b + sizeof(struct pvb_vnet_hdr), 1, 3);
	else
		__builtin_prefetch(b + sizeof(struct pvb_vnet_hdr), 0, 3);
}

/* ---- rx: the guest's transmit vring ------------------------------------------ */

/*
 * Copy the frame of @p c (its readable bytes after the header) into @p m,
 * chaining more mbufs when it does not fit. 0, or -ENOBUFS (the pool is dry:
 * @p m's chain is freed but @p m itself kept).
 */
static int
vhost_rx_copy(struct vhost_rxq *q, const struct pvb_virtq_chain *c, struct rte_mbuf *m,
	      uint32_t len)
{
	struct rte_mbuf *cur = m, *next;
	uint32_t skip = q->hdr_len, s, room, n, left = len;
	const uint8_t *src;

	m->pkt_len = len;
	room = rte_pktmbuf_tailroom(cur);
	for (s = 0; s < c->nb_readable && left > 0; s++) {
		src = c->seg[s].host;
		n = c->seg[s].len;
		if (skip >= n) {
			skip -= n;
			continue;
		}
		src += skip;
		n -= skip;
		skip = 0;
		while (n > 0) {
			uint32_t k;

			if (room == 0) {
				next = rte_pktmbuf_alloc(q->mp);
				if (next == NULL) {
					if (m->next != NULL)
						rte_pktmbuf_free(m->next);
					m->next = NULL;
					m->nb_segs = 1;
					m->data_len = 0;
					return -ENOBUFS;
				}
				cur->next = next;
				m->nb_segs++;
				cur = next;
				room = rte_pktmbuf_tailroom(cur);
			}
			k = RTE_MIN(n, room);
			rte_memcpy(rte_pktmbuf_mtod_offset(cur, uint8_t *, cur->data_len), src, k);
			cur->data_len = (uint16_t)(cur->data_len + k);
			room -= k;
			src += k;
			n -= k;
			left -= k;
		}
	}
	return 0;
}

/* Empty @p m for the next frame (a refused one was copied into it). */
static void
vhost_rx_reset(struct rte_mbuf *m)
{
	if (m->next != NULL)
		rte_pktmbuf_free(m->next);
	m->next = NULL;
	m->nb_segs = 1;
	m->data_len = 0;
	m->pkt_len = 0;
}

/*
 * The offload request of a frame now in @p m (its copy: the checks and the
 * canonical rewrite act on our bytes, not the guest's), as mbuf TX flags
 * (doc/vhost.md, "Offloads"). False: refused, counted and logged.
 */
static bool
vhost_rx_ol(struct vhost_rxq *q, const struct pvb_vnet_hdr *h, struct rte_mbuf *m)
{
	struct pvb_vnet_ol ol;
	enum pvb_vnet_bad bad;
	const char *why;

	bad = pvb_vnet_rx_ol(h, q->accept, rte_pktmbuf_mtod(m, uint8_t *), m->data_len,
			     m->pkt_len, &ol, &why);
	if (unlikely(bad != PVB_VNET_OK)) {
		/* a header unsound in itself counts as before, with the malformed ones */
		pvb_counter_add1w(bad == PVB_VNET_BAD_HEADER ? &q->bad_headers : &q->ol_bad[bad], 1);
		if (pvb_vnet_log_due(&q->log_last))
			LOG(WARNING, "%s: rx queue %u: frame dropped (%s): %s", q->p->iface, q->qid,
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

uint16_t
vhost_rx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhost_rxq *q = queue;
	struct vhost_port *p = q->p;
	struct pvb_active *a = &p->act[q->qid];
	struct pvb_virtq_chain *c = &q->chain;
	struct pvb_virtq_dev *vq;
	struct pvb_vnet_hdr h;
	uint32_t nused = 0, i, len, want;
	uint64_t bytes = 0;
	uint16_t got = 0;
	int avail, rc;

	if (!pvb_handover_enter(a, &p->state, VHOST_RUN))
		return 0;
	vq = q->vq;
	avail = vhost_burst_avail(p, vq);
	if (avail == 0)
		goto out;
	want = RTE_MIN((uint32_t)avail, (uint32_t)n);
	want = RTE_MIN(want, (uint32_t)VHOST_USED_BATCH);
	if (unlikely(rte_pktmbuf_alloc_bulk(q->mp, pkts, want) != 0)) {
		pvb_counter_add1w(&q->nombuf, want);
		goto out;
	}
	vhost_prefetch_descs(vq, want);
	for (i = 0; i < PEEK_AHEAD; i++)
		vhost_prefetch(vq, (uint16_t)i, false);
	for (i = 0; i < want; i++) {
		vhost_prefetch(vq, PEEK_AHEAD, false);
		rc = pvb_virtq_dev_pop_next(vq, c);
		if (unlikely(rc != 0)) {
			if (rc != -EBADMSG) {
				if (rc == -EPIPE)
					vhost_broken(p);
				break;
			}
			/* refused (lib/virtq says why): back to the driver, nothing read */
			pvb_counter_add1w(&q->bad_chains, 1);
			q->used[nused++] = (struct pvb_virtq_used_elem){ c->head, 0 };
			continue;
		}
		/* readable_len > hdr_len is checked by the header walk */
		len = (uint32_t)(c->readable_len - q->hdr_len);
		if (unlikely(c->readable_len <= q->hdr_len || c->readable_len > UINT32_MAX ||
			     pvb_vnet_hdr_get(c, q->hdr_len, &h) != 0 ||
			     len > (h.gso_type == PVB_VNET_GSO_NONE ? VHOST_MAX_FRAME :
								      VHOST_MAX_GSO_FRAME))) {
			pvb_counter_add1w(&q->bad_headers, 1);
			q->used[nused++] = (struct pvb_virtq_used_elem){ c->head, 0 };
			continue;
		}
		if (unlikely(vhost_rx_copy(q, c, pkts[got], len) != 0)) {
			/* the frame waits in the ring for the next burst */
			pvb_virtq_dev_unpop(vq, 1);
			pvb_counter_add1w(&q->nombuf, 1);
			break;
		}
		/* one branch for a frame that asks nothing: its header is all zero */
		if (unlikely((h.flags | h.gso_type) != 0) && !vhost_rx_ol(q, &h, pkts[got])) {
			vhost_rx_reset(pkts[got]);
			q->used[nused++] = (struct pvb_virtq_used_elem){ c->head, 0 };
			continue;
		}
		pkts[got]->port = p->port_id;
		bytes += len;
		got++;
		q->used[nused++] = (struct pvb_virtq_used_elem){ c->head, 0 };
	}
	if (got < want)
		rte_pktmbuf_free_bulk(&pkts[got], want - got);
	vhost_publish(vq, q->used, nused, q->call_fd, &q->notifications);
	if (got > 0) {
		/* single writer: this queue's poller */
		pvb_counter_add1w(&q->packets, got);
		pvb_counter_add1w(&q->bytes, bytes);
	}
out:
	pvb_handover_leave(a);
	return got;
}

/* ---- tx: the guest's receive vring ------------------------------------------- */

/* Where the frame being written is in the current guest buffer. */
struct tx_cursor {
	const struct pvb_virtq_chain *c;
	uint32_t seg, off;	/* segment and offset in it */
	uint32_t written;	/* bytes in this buffer */
};

/* Copy @p len bytes into the cursor's buffer; returns what fit. */
static uint32_t
tx_put(struct tx_cursor *t, const uint8_t *src, uint32_t len)
{
	uint32_t done = 0, k;

	while (done < len && t->seg < t->c->nb_segs) {
		const struct pvb_virtq_seg *s = &t->c->seg[t->seg];

		k = RTE_MIN(len - done, s->len - t->off);
		rte_memcpy((uint8_t *)s->host + t->off, src + done, k);
		done += k;
		t->off += k;
		t->written += k;
		if (t->off == s->len) {
			t->seg++;
			t->off = 0;
		}
	}
	return done;
}

/*
 * The header goes first. When the buffer already holds the same header
 * (the driver reuses its buffers, and most frames carry the same one), it
 * is not written: its line stays shared with the driver, which reads it
 * first, instead of crossing back to it for every frame.
 */
/* The first @p hdr_len (10 or 12) bytes at @p a and @p b are the same (two loads each). */
static __rte_always_inline bool
vnet_hdr_same(const void *a, const void *b, uint32_t hdr_len)
{
	uint64_t a8, b8;
	uint32_t a4, b4;
	uint16_t a2, b2;

	memcpy(&a8, a, 8);
	memcpy(&b8, b, 8);
	if (hdr_len == 12) {
		memcpy(&a4, (const uint8_t *)a + 8, 4);
		memcpy(&b4, (const uint8_t *)b + 8, 4);
		return a8 == b8 && a4 == b4;
	}
	memcpy(&a2, (const uint8_t *)a + 8, 2);
	memcpy(&b2, (const uint8_t *)b + 8, 2);
	return a8 == b8 && a2 == b2;
}

static __rte_always_inline void
tx_put_header(struct tx_cursor *t, const struct pvb_vnet_hdr *h, uint32_t hdr_len)
{
	const struct pvb_virtq_seg *s = &t->c->seg[0];

	if (likely(s->len > hdr_len) && vnet_hdr_same(s->host, h, hdr_len)) {
		t->off = hdr_len;
		t->written = hdr_len;
		return;
	}
	tx_put(t, (const uint8_t *)h, hdr_len);
}

/*
 * Buffers are completed in the order they were popped, refused ones
 * included (so IN_ORDER can be offered): a frame's buffers stay contiguous
 * (a driver takes the num_buffers elements after a frame's first as its
 * rest), and a refused buffer in the middle of a frame ends that frame.
 */

/* Pop a guest receive buffer: every byte writable, room for at least the header. */
static int
tx_pop(struct vhost_txq *q, struct pvb_virtq_dev *vq, struct pvb_virtq_chain *c)
{
	int rc = pvb_virtq_dev_pop_next(vq, c);

	if (rc == -EBADMSG || (rc == 0 && (c->nb_readable != 0 || c->writable_len < q->hdr_len))) {
		pvb_counter_add1w(&q->bad_chains, 1);
		return -EBADMSG;
	}
	return rc;
}

/* The front of a frame that asks for something, rewritten: written first, then the mbuf from skip. */
#define TX_PREFIX_MAX	256	/* Ethernet with two tags, IPv4 with options, TCP with options */
struct tx_prefix {
	uint32_t len;		/* bytes in b */
	uint32_t skip;		/* bytes of the mbuf they stand for */
	uint8_t b[TX_PREFIX_MAX];
};

/*
 * Put @p m into the guest's buffers behind header @p h0 (NULL: all zero),
 * @p pre in front of its bytes (NULL: none), its used elements at
 * q->used[*nused]. 0 (sent), -ENOBUFS (no room now: nothing of it taken),
 * -EMSGSIZE (it can never fit: drop it; nothing taken), -EBADMSG (a
 * refused buffer: whatever was popped is completed empty, the frame
 * dropped), -EPIPE (broken).
 */
static int
vhost_tx_frame(struct vhost_txq *q, struct pvb_virtq_dev *vq, struct rte_mbuf *m,
	       const struct pvb_vnet_hdr *h0, const struct tx_prefix *pre, uint32_t *nused)
{
	struct pvb_vnet_hdr h = { .num_buffers = 1 };
	struct tx_cursor t = { .c = &q->first };
	const struct rte_mbuf *s = m;
	uint32_t head_slot, left, k, off = 0, i, pre_off = 0, pre_left = 0, frame = m->pkt_len;
	const uint8_t *src;
	uint16_t nbufs = 1;
	int rc;

	if (unlikely(h0 != NULL)) {
		h = *h0;
		h.num_buffers = 1;
	}
	if (unlikely(pre != NULL)) {
		pre_left = pre->len;
		frame = frame - pre->skip + pre->len;
		for (off = pre->skip; off >= s->data_len && s->next != NULL; s = s->next)
			off -= s->data_len;
	}

	/* refused buffers before the frame's first go back empty; the frame goes on */
	while ((rc = tx_pop(q, vq, &q->first)) == -EBADMSG) {
		q->used[(*nused)++] = (struct pvb_virtq_used_elem){ q->first.head, 0 };
		if (*nused > VHOST_USED_BATCH - TX_MAX_CHAINS)
			return -ENOBUFS;	/* publish these; the frame waits for the next burst */
	}
	if (rc != 0)
		return rc == -EAGAIN ? -ENOBUFS : rc;
	head_slot = *nused;
	if (!q->mrg_rxbuf && q->first.writable_len < q->hdr_len + (uint64_t)frame) {
		/* without mergeable buffers one buffer must hold it all */
		pvb_virtq_dev_unpop(vq, 1);
		return -EMSGSIZE;
	}
	tx_put_header(&t, &h, q->hdr_len);
	(*nused)++;
	left = frame;
	while (left > 0) {
		if (unlikely(pre_left > 0)) {
			k = tx_put(&t, pre->b + pre_off, RTE_MIN(pre_left, left));
			pre_off += k;
			pre_left -= k;
		} else if (off == s->data_len) {
			s = s->next;
			off = 0;
			continue;
		} else {
			src = rte_pktmbuf_mtod_offset(s, const uint8_t *, off);
			k = tx_put(&t, src, RTE_MIN((uint32_t)s->data_len - off, left));
			off += k;
		}
		left -= k;
		if (left == 0 || t.seg < t.c->nb_segs)
			continue;
		/* this buffer is full: the next one (mergeable) */
		if (t.c != &q->first)
			q->used[(*nused)++] = (struct pvb_virtq_used_elem){ t.c->head, t.written };
		rc = nbufs == TX_MAX_CHAINS ? -EMSGSIZE : tx_pop(q, vq, &q->chain);
		if (rc == -EBADMSG) {
			/* what the frame took goes back empty, in order, the refused one last */
			q->used[head_slot] = (struct pvb_virtq_used_elem){ q->first.head, 0 };
			for (i = head_slot + 1; i < *nused; i++)
				q->used[i].len = 0;
			q->used[(*nused)++] = (struct pvb_virtq_used_elem){ q->chain.head, 0 };
			return rc;
		}
		if (rc != 0) {
			/* nothing of this frame is published: its buffers go back to the ring */
			pvb_virtq_dev_unpop(vq, nbufs);
			*nused = head_slot;
			return rc == -EAGAIN ? -ENOBUFS : rc;
		}
		t = (struct tx_cursor){ .c = &q->chain };
		nbufs++;
	}
	if (t.c != &q->first)
		q->used[(*nused)++] = (struct pvb_virtq_used_elem){ t.c->head, t.written };
	/* with several buffers the first is full: the header and as much as fit */
	q->used[head_slot] = (struct pvb_virtq_used_elem){ q->first.head,
		nbufs == 1 ? t.written : (uint32_t)q->first.writable_len };
	if (nbufs > 1) {
		h.num_buffers = nbufs;
		t = (struct tx_cursor){ .c = &q->first };
		tx_put(&t, (const uint8_t *)&h, q->hdr_len);
	}
	return 0;
}

/* ---- tx offloads ------------------------------------------------------------- */

static void
vhost_tx_bad(struct vhost_txq *q, const char *why)
{
	pvb_counter_add1w(&q->ol_bad, 1);
	if (pvb_vnet_log_due(&q->log_last))
		LOG(WARNING, "%s: tx queue %u: frame dropped: %s", q->p->iface, q->qid, why);
}

/*
 * The header and the rewritten front of @p m, which asks for what the
 * driver takes (or carries a VLAN tag to insert, or was verified): its
 * first bytes copied with the 802.1Q tag inserted after the addresses
 * (virtio has no tag insertion) and the checksum field in the driver's
 * form. 0, or -EINVAL (its headers do not match its request: drop).
 */
static int
vhost_tx_prepare(struct vhost_txq *q, const struct rte_mbuf *m, struct pvb_vnet_hdr *h,
		 struct tx_prefix *pre)
{
	bool vlan = m->ol_flags & RTE_MBUF_F_TX_VLAN;
	uint8_t tmp[TX_PREFIX_MAX];
	struct pvb_vnet_ol ol;
	const uint8_t *f;
	uint32_t n, tag;

	pvb_vnet_ol_from_mbuf(m, q->data_valid, &ol);
	pre->len = pre->skip = 0;
	if (!vlan && !(ol.flags & (PVB_VNET_OL_CSUM | PVB_VNET_OL_IP_CKSUM)))
		return pvb_vnet_tx_hdr(NULL, 0, 0, &ol, h);	/* DATA_VALID or nothing */
	n = RTE_MIN(m->pkt_len, (uint32_t)(TX_PREFIX_MAX - RTE_VLAN_HLEN));
	if (!(ol.flags & (PVB_VNET_OL_CSUM | PVB_VNET_OL_IP_CKSUM)))
		n = RTE_MIN(n, 2u * RTE_ETHER_ADDR_LEN);
	f = rte_pktmbuf_read(m, 0, n, tmp);
	if (f == NULL || (vlan && n < 2u * RTE_ETHER_ADDR_LEN)) {
		vhost_tx_bad(q, "frame shorter than its request");
		return -EINVAL;
	}
	pre->skip = n;
	if (vlan) {
		tag = (uint32_t)RTE_ETHER_TYPE_VLAN << 16 | m->vlan_tci;
		memcpy(pre->b, f, 2 * RTE_ETHER_ADDR_LEN);
		pre->b[12] = (uint8_t)(tag >> 24);
		pre->b[13] = (uint8_t)(tag >> 16);
		pre->b[14] = (uint8_t)(tag >> 8);
		pre->b[15] = (uint8_t)tag;
		memcpy(pre->b + 16, f + 12, n - 12);
		pre->len = n + RTE_VLAN_HLEN;
		ol.l2_len = (uint16_t)(ol.l2_len + RTE_VLAN_HLEN);
		pvb_counter_add1w(&q->sw_vlan, 1);
	} else {
		memcpy(pre->b, f, n);
		pre->len = n;
	}
	if (pvb_vnet_tx_hdr(pre->b, pre->len, m->pkt_len - n + pre->len, &ol, h) != 0) {
		vhost_tx_bad(q, "headers do not match the offload request (l2/l3/l4_len, flags)");
		return -EINVAL;
	}
	if (h->gso_type != PVB_VNET_GSO_NONE)
		pvb_counter_add1w(&q->ol_tso, 1);
	else if (h->flags & PVB_VNET_HDR_F_NEEDS_CSUM)
		pvb_counter_add1w(&q->ol_csum, 1);
	else if (h->flags & PVB_VNET_HDR_F_DATA_VALID)
		pvb_counter_add1w(&q->ol_data_valid, 1);
	return 0;
}

/*
 * One frame: the plain path, or its request in the header. -EAGAIN: it asks
 * for something the driver did not ack (done in software by the caller);
 * else as vhost_tx_frame(), and -EINVAL (refused: drop).
 */
static __rte_always_inline int
vhost_tx_one(struct vhost_txq *q, struct pvb_virtq_dev *vq, struct rte_mbuf *m, uint32_t *nused)
{
	struct pvb_vnet_hdr h;
	struct tx_prefix pre;
	int rc;

	if (likely(!(m->ol_flags & q->ol_mask)))
		return vhost_tx_frame(q, vq, m, NULL, NULL, nused);
	if (pvb_swol_needed(m, pvb_vnet_can(m, q->accept)))
		return -EAGAIN;
	rc = vhost_tx_prepare(q, m, &h, &pre);
	if (rc != 0)
		return rc;
	return vhost_tx_frame(q, vq, m, &h, pre.len != 0 ? &pre : NULL, nused);
}

/* What the driver does not take, in software: @p m becomes the pending frames. 0 or -errno. */
static int
vhost_tx_sw(struct vhost_txq *q, struct rte_mbuf *m)
{
	bool seg = m->ol_flags & RTE_MBUF_F_TX_TCP_SEG, vlan = m->ol_flags & RTE_MBUF_F_TX_VLAN;
	uint16_t tci = m->vlan_tci;
	int n, k;

	n = pvb_swol_apply(&q->swol, m, pvb_vnet_can(m, q->accept), q->pend, PVB_SWOL_MAX_SEGS);
	if (n < 0) {
		vhost_tx_bad(q, "software offload failed (headers not matching the request, or "
				"no mbufs)");
		return n;
	}
	if (seg) {
		pvb_counter_add1w(&q->sw_gso, 1);
		pvb_counter_add1w(&q->sw_gso_segs, (uint64_t)n);
	} else {
		pvb_counter_add1w(&q->sw_cksum, 1);
	}
	/* each frame gets the tag as it is copied */
	for (k = 0; vlan && k < n; k++) {
		q->pend[k]->ol_flags |= RTE_MBUF_F_TX_VLAN;
		q->pend[k]->vlan_tci = tci;
	}
	q->pend_n = (uint16_t)n;
	q->pend_next = 0;
	return 0;
}

/*
 * Send the pending frames, in order, freeing each. 0 when none is left;
 * -ENOBUFS or -EPIPE when the rest must wait.
 */
static int
vhost_tx_pending(struct vhost_txq *q, struct pvb_virtq_dev *vq, uint32_t *nused,
		 uint32_t *sent, uint64_t *bytes)
{
	struct rte_mbuf *m;
	int rc;

	while (q->pend_next < q->pend_n) {
		if (*nused > VHOST_USED_BATCH - TX_MAX_CHAINS)
			return -ENOBUFS;
		m = q->pend[q->pend_next];
		rc = vhost_tx_one(q, vq, m, nused);
		if (rc == -ENOBUFS || rc == -EPIPE)
			return rc;
		if (rc == 0) {
			(*sent)++;
			*bytes += m->pkt_len;
		} else if (rc == -EAGAIN) {
			/* software offload made it: it asks nothing more */
			vhost_tx_bad(q, "a frame made by software offload still asks for one");
		} else if (rc != -EINVAL) {
			pvb_counter_add1w(&q->too_big, 1);
		}
		rte_pktmbuf_free(m);
		q->pend_next++;
	}
	return 0;
}

void
vhost_tx_pending_free(struct vhost_txq *q)
{
	while (q->pend_next < q->pend_n)
		rte_pktmbuf_free(q->pend[q->pend_next++]);
	q->pend_n = q->pend_next = 0;
}

uint16_t
vhost_tx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhost_txq *q = queue;
	struct vhost_port *p = q->p;
	struct pvb_active *a = &p->act[VHOST_MAX_QUEUES + q->qid];
	uint32_t nused = 0, sent = 0, dropped = 0, i = 0;
	struct pvb_virtq_dev *vq;
	uint64_t bytes = 0;
	int avail, rc = 0;

	if (unlikely(n == 0) || !pvb_handover_enter(a, &p->state, VHOST_RUN))
		return 0;
	vq = q->vq;
	avail = vhost_burst_avail(p, vq);
	if (avail == 0) {
		if (vq != NULL)
			pvb_counter_add1w(&q->no_buffers, n);
		goto out;
	}
	/* what software made of the last frame goes first */
	if (unlikely(q->pend_next < q->pend_n))
		rc = vhost_tx_pending(q, vq, &nused, &sent, &bytes);
	vhost_prefetch_descs(vq, RTE_MIN((uint32_t)avail, (uint32_t)n));
	for (i = 0; i < PEEK_AHEAD; i++)
		vhost_prefetch(vq, (uint16_t)i, true);
	for (i = 0; rc == 0 && i < n && nused <= VHOST_USED_BATCH - TX_MAX_CHAINS; i++) {
		vhost_prefetch(vq, PEEK_AHEAD, true);
		rc = vhost_tx_one(q, vq, pkts[i], &nused);
		if (unlikely(rc == -EAGAIN)) {
			rc = vhost_tx_sw(q, pkts[i]);
			if (rc == 0) {
				/* consumed: the frames it became are sent, or wait */
				pkts[i] = NULL;
				rc = vhost_tx_pending(q, vq, &nused, &sent, &bytes);
				if (rc != 0) {
					i++;
					break;
				}
				continue;
			}
			rc = -EINVAL;
		}
		if (likely(rc == 0)) {
			bytes += pkts[i]->pkt_len;
			sent++;
		} else if (rc == -EMSGSIZE || rc == -EBADMSG) {
			dropped++;
			rc = 0;
		} else if (rc == -EINVAL) {
			rc = 0;		/* counted as ol_bad */
		} else {
			break;
		}
	}
	if (rc == -EPIPE)
		vhost_broken(p);
	else if (rc != 0 && i < n)
		pvb_counter_add1w(&q->no_buffers, n - i);
	vhost_publish(vq, q->used, nused, q->call_fd, &q->notifications);
	/* copied or dropped: ours to free */
	rte_pktmbuf_free_bulk(pkts, i);
	pvb_counter_add1w(&q->packets, sent);
	pvb_counter_add1w(&q->bytes, bytes);
	if (dropped > 0)
		pvb_counter_add1w(&q->too_big, dropped);
out:
	pvb_handover_leave(a);
	return (uint16_t)i;
}
