/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "nvchan.h"
#include "pvb_bell.h"

static void nvchan_rec_done(void *addr, void *opaque);

struct nvchan *
nvchan_new(uint32_t nrec, int socket_id)
{
	char rname[RTE_RING_NAMESIZE];
	struct nvchan *ch;
	uint32_t i;

	ch = rte_zmalloc_socket("pvb_nvchan", sizeof(*ch), RTE_CACHE_LINE_SIZE, socket_id);
	if (ch == NULL)
		goto nomem;
	ch->shm.fd = -1;
	ch->bell = -1;
	ch->nrec = nrec;
	ch->rec = rte_zmalloc_socket("pvb_nvchan_rec", sizeof(*ch->rec) * nrec,
				     RTE_CACHE_LINE_SIZE, socket_id);
	ch->rec_free = rte_malloc_socket("pvb_nvchan_free", sizeof(uint32_t) * nrec, 0,
					 socket_id);
	ch->stash = rte_malloc_socket("pvb_nvchan_stash", sizeof(uint32_t) * nrec, 0,
				      socket_id);
	/* names must be unique per process: the channel's address makes them so */
	snprintf(rname, sizeof(rname), "pvbc_%p", (void *)ch);
	ch->compq = rte_ring_create(rname, rte_align32pow2(nrec + 1), socket_id,
				    RING_F_SC_DEQ);
	if (ch->rec == NULL || ch->rec_free == NULL || ch->stash == NULL || ch->compq == NULL)
		goto free;
	for (i = 0; i < nrec; i++) {
		ch->rec[i].idx = i;
		ch->rec[i].ch = ch;
		ch->rec_free[i] = nrec - 1 - i;
	}
	ch->rec_nfree = nrec;
	rte_spinlock_init(&ch->in_lock);
	rte_spinlock_init(&ch->out_lock);
	/* relaxed: nobody else can see the channel yet */
	atomic_init(&ch->refcnt, 1);
	return ch;
free:
	rte_ring_free(ch->compq);
	rte_free(ch->stash);
	rte_free(ch->rec_free);
	rte_free(ch->rec);
	rte_free(ch);
nomem:
	rte_errno = ENOMEM;
	return NULL;
}

int
nvchan_attach_rings(struct nvchan *ch, uint64_t in_off, uint32_t in_size, uint64_t out_off,
		    uint32_t out_size)
{
	struct pvb_vmbus_mem in_mem, out_mem;
	int rc;

	if (in_off + in_size > ch->shm.len || out_off + out_size > ch->shm.len)
		return -EINVAL;
	rc = pvb_vmbus_mem_flat(&in_mem, ch->shm.base + in_off, in_size);
	if (rc == 0)
		rc = pvb_vmbus_mem_flat(&out_mem, ch->shm.base + out_off, out_size);
	if (rc == 0)
		rc = pvb_vmbus_in_attach(&ch->in, &in_mem);
	/* no pending_send_sz: a poll-mode writer retries instead of waiting */
	if (rc == 0)
		rc = pvb_vmbus_out_attach(&ch->out, &out_mem, 0);
	return rc;
}

void
nvchan_set_parent(struct nvchan *ch, struct nvchan *primary, uint32_t idx)
{
	pvb_ref_get(&primary->refcnt, 1);
	ch->parent = primary;
	ch->idx = idx;
}

static void
nvchan_destroy(struct nvchan *ch)
{
	nvchan_put(ch->parent);
	pvb_shm_close(&ch->shm);
	if (ch->bell >= 0)
		close(ch->bell);
	rte_ring_free(ch->compq);
	rte_free(ch->stash);
	rte_free(ch->rec_free);
	rte_free(ch->rec);
	rte_free(ch);
}

void
nvchan_put(struct nvchan *ch)
{
	if (ch != NULL && pvb_ref_put(&ch->refcnt))
		nvchan_destroy(ch);
}

void
nvchan_kill(struct nvchan *ch)
{
	/* pairs with the load-acquire in nvchan_rec_done(): late frees owe nothing */
	pvb_store_release(&ch->dead, 1);
}

struct nvchan_rec *
nvchan_rec_get(struct nvchan *ch, uint64_t trans_id)
{
	struct nvchan_rec *r;

	if (ch->rec_nfree == 0)
		return NULL;
	r = &ch->rec[ch->rec_free[--ch->rec_nfree]];
	r->trans_id = trans_id;
	r->status = PVB_NVSP_STAT_SUCCESS;
	r->shinfo.free_cb = nvchan_rec_done;
	r->shinfo.fcb_opaque = r;
	rte_mbuf_ext_refcnt_set(&r->shinfo, 1);
	/* the record keeps the region mapped until its last mbuf is freed */
	pvb_ref_get(&ch->refcnt, 1);
	return r;
}

void
nvchan_rec_attach(struct nvchan_rec *r, struct rte_mbuf *m, uint8_t *buf, uint16_t off,
		  uint16_t len)
{
	rte_mbuf_ext_refcnt_update(&r->shinfo, 1);
	/* shared memory of another process: no IOVA (see doc/netvsp-netvsc.md, limits) */
	rte_pktmbuf_attach_extbuf(m, buf, RTE_BAD_IOVA, (uint16_t)(off + len), &r->shinfo);
	m->data_off = off;
	m->data_len = len;
	m->pkt_len = len;
}

/* Runs on the thread that frees the last mbuf of the record, or in the parser. */
static void
nvchan_rec_done(void *addr, void *opaque)
{
	struct nvchan_rec *r = opaque;
	struct nvchan *ch = r->ch;

	(void)addr;
	/*
	 * pairs with the store-release in nvchan_kill(): if the peer is alive
	 * the drainer writes the completion; if it died meanwhile the entry is
	 * simply never drained. The queue has room for every record.
	 */
	if (pvb_load_acquire(&ch->dead) == 0)
		rte_ring_mp_enqueue(ch->compq, (void *)(uintptr_t)r->idx);
	nvchan_put(ch);
}

void
nvchan_rec_parsed(struct nvchan_rec *r)
{
	struct nvchan *ch = r->ch;
	uint32_t n;

	if (rte_mbuf_ext_refcnt_update(&r->shinfo, -1) != 0)
		return;
	/*
	 * Nothing attached (every frame copied): the parser holds in_lock, which
	 * owns the stash, so the completion skips the multi-producer queue.
	 */
	/* relaxed: dead is set only after the bursts were quiesced, by this thread */
	if (pvb_load_relaxed(&ch->dead) == 0) {
		/* relaxed: in_lock orders the stash; nvchan_idle() only peeks */
		n = pvb_load_relaxed(&ch->nstash);
		ch->stash[n] = r->idx;
		pvb_store_relaxed(&ch->nstash, n + 1);
	}
	nvchan_put(ch);
}

static int
nvchan_write_comp(struct nvchan *ch, const struct nvchan_rec *r)
{
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RNDIS_PKT_COMPLETE };
	uint8_t buf[PVB_NVSP_MSG_SIZE];

	m.u.rndis_complete.status = r->status;
	return pvb_vmbus_out_comp(&ch->out, r->trans_id, buf, pvb_nvsp_encode(&m, buf));
}

unsigned int
nvchan_comp_flush(struct nvchan *ch)
{
	void *objs[64];
	unsigned int n, i, written = 0;
	/* relaxed: in_lock holder, the only writer */
	uint32_t ns = pvb_load_relaxed(&ch->nstash);

	for (;;) {
		if (ns == 0) {
			n = rte_ring_sc_dequeue_burst(ch->compq, objs, RTE_DIM(objs), NULL);
			if (n == 0)
				break;
			for (i = 0; i < n; i++)
				ch->stash[i] = (uint32_t)(uintptr_t)objs[i];
			ns = n;
		}
		for (i = 0; i < ns; i++) {
			if (nvchan_write_comp(ch, &ch->rec[ch->stash[i]]) != 0)
				break;
			ch->rec_free[ch->rec_nfree++] = ch->stash[i];
			written++;
		}
		if (i < ns) {
			/* ring full: keep the rest, in order, for the next call */
			pvb_counter_add1w(&ch->comp_ring_full, 1);
			memmove(ch->stash, ch->stash + i, (ns - i) * sizeof(uint32_t));
			ns -= i;
			break;
		}
		ns = 0;
	}
	pvb_store_relaxed(&ch->nstash, ns);
	return written;
}

struct rte_mbuf *
nvchan_copy_frame(struct nvchan_mbufs *c, struct rte_mempool *mp, unsigned int want,
		  const uint8_t *src, uint32_t len)
{
	struct rte_mbuf *head = NULL, *tail = NULL, *m;
	uint32_t room, k;

	do {
		m = nvchan_mbuf(c, mp, want);
		if (m == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		/* a chained segment has no use for headroom */
		if (head != NULL)
			m->data_off = 0;
		room = rte_pktmbuf_tailroom(m);
		k = RTE_MIN(room, len);
		nvchan_copy(rte_pktmbuf_mtod(m, void *), src, k);
		m->data_len = (uint16_t)k;
		src += k;
		len -= k;
		if (head == NULL) {
			head = m;
			head->pkt_len = 0;
		} else {
			tail->next = m;
			head->nb_segs++;
		}
		head->pkt_len += k;
		tail = m;
	} while (len > 0 && room > 0);
	return head;
}

void
nvchan_signal(struct nvchan *ch)
{
	if (ch->bell >= 0 && pvb_bell_ring(ch->bell) == 0)
		pvb_counter_add(&ch->signals, 1);
}

void
nvchan_wait(struct nvchan *ch, int fd, int ms)
{
	struct pollfd p[2];
	nfds_t n = 0;

	if (ch != NULL && ch->bell >= 0)
		p[n++] = (struct pollfd){ .fd = ch->bell, .events = POLLIN };
	if (fd >= 0)
		p[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	/* the drain is bounded and never blocks, whatever the peer sends */
	if (poll(p, n, ms) > 0 && ch != NULL && ch->bell >= 0 && (p[0].revents & POLLIN))
		pvb_bell_drain(ch->bell);
}

void
nvchan_xsnap_take(struct nvchan *const *chs, unsigned int n, const struct pvb_nvsp_slots *s,
		  struct nvchan_xsnap *x)
{
	uint64_t pending = 0, signals = 0, full = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		/* never spin against a burst: the next round takes it */
		if (!rte_spinlock_trylock(&chs[i]->in_lock))
			return;
		if (!rte_spinlock_trylock(&chs[i]->out_lock)) {
			rte_spinlock_unlock(&chs[i]->in_lock);
			return;
		}
		pending += nvchan_rec_outstanding(chs[i]);
		signals += pvb_counter_read(&chs[i]->signals);
		full += pvb_counter_read(&chs[i]->comp_ring_full);
		rte_spinlock_unlock(&chs[i]->out_lock);
		rte_spinlock_unlock(&chs[i]->in_lock);
	}
	/* relaxed: report values, published as they are (the allocator's count a hint) */
	atomic_store_explicit(&x->pending, pending, memory_order_relaxed);
	atomic_store_explicit(&x->in_use, s->n - s->nfree, memory_order_relaxed);
	atomic_store_explicit(&x->signals, signals, memory_order_relaxed);
	atomic_store_explicit(&x->ring_full, full, memory_order_relaxed);
}

void
nvchan_xsnap_clear(struct nvchan_xsnap *x)
{
	/* relaxed: report values */
	atomic_store_explicit(&x->pending, 0, memory_order_relaxed);
	atomic_store_explicit(&x->in_use, 0, memory_order_relaxed);
}

void
nvchan_xsnap_read(const struct nvchan_xsnap *x, uint64_t *v)
{
	v[0] = pvb_counter_read(&x->pending);
	v[1] = pvb_counter_read(&x->in_use);
	v[2] = pvb_counter_read(&x->signals);
	v[3] = pvb_counter_read(&x->ring_full);
}
