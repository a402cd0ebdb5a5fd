/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <ethdev_driver.h>
#include <rte_errno.h>
#include <rte_string_fns.h>
#include <rte_malloc.h>
#include <rte_memcpy.h>

#include "pvb_nvsp.h"
#include "pvb_nvchan.h"

static void nvchan_rec_done(void *addr, void *opaque);

struct nvchan *
nvchan_new(const char *name, uint32_t nrec, int socket_id)
{
	char rname[RTE_RING_NAMESIZE];
	struct nvchan *ch;
	uint32_t i;

	ch = rte_zmalloc_socket("pvb_nvchan", sizeof(*ch), RTE_CACHE_LINE_SIZE, socket_id);
	if (ch == NULL)
		goto nomem;
	ch->shm.fd = -1;
	ch->bell_peer = -1;
	ch->bell_self = -1;
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
	(void)name;
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

static void
nvchan_destroy(struct nvchan *ch)
{
	pvb_shm_close(&ch->shm);
	if (ch->bell_peer >= 0)
		close(ch->bell_peer);
	if (ch->bell_self >= 0)
		close(ch->bell_self);
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
	/* shared memory of another process: no IOVA (see doc/netvsc.md, limits) */
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

	if (rte_mbuf_ext_refcnt_update(&r->shinfo, -1) != 0)
		return;
	/*
	 * Nothing attached (every frame copied): the parser holds in_lock, which
	 * owns the stash, so the completion skips the multi-producer queue.
	 */
	/* relaxed: dead is set only after the bursts were quiesced, by this thread */
	if (pvb_load_relaxed(&ch->dead) == 0)
		ch->stash[ch->nstash++] = r->idx;
	nvchan_put(ch);
}

unsigned int
nvchan_comp_flush(struct nvchan *ch, int (*write)(struct nvchan *ch, const struct nvchan_rec *r))
{
	void *objs[64];
	unsigned int n, i, written = 0;

	for (;;) {
		if (ch->nstash == 0) {
			n = rte_ring_sc_dequeue_burst(ch->compq, objs, RTE_DIM(objs), NULL);
			if (n == 0)
				return written;
			for (i = 0; i < n; i++)
				ch->stash[i] = (uint32_t)(uintptr_t)objs[i];
			ch->nstash = n;
		}
		for (i = 0; i < ch->nstash; i++) {
			if (write(ch, &ch->rec[ch->stash[i]]) != 0) {
				/* ring full: keep the rest, in order, for the next call */
				pvb_counter_add1w(&ch->comp_ring_full, 1);
				memmove(ch->stash, ch->stash + i,
					(ch->nstash - i) * sizeof(uint32_t));
				ch->nstash -= i;
				return written;
			}
			ch->rec_free[ch->rec_nfree++] = ch->stash[i];
			written++;
		}
		ch->nstash = 0;
	}
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
		rte_memcpy(rte_pktmbuf_mtod(m, void *), src, k);
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

/*
 * The doorbells are eventfds the guest created: the peer shares their file
 * description and so controls O_NONBLOCK. Only the control thread rings or
 * drains them (the bursts never do: both sides poll in DATA), and only when
 * poll() says it will not block, with O_NONBLOCK set again first; a peer
 * racing both can at worst stall the control thread, never a burst.
 */
static bool
nvchan_bell_ready(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0))
		return false;
	return poll(&p, 1, 0) == 1 && (p.revents & ev);
}

void
nvchan_signal(struct nvchan *ch)
{
	uint64_t one = 1;

	if (ch->bell_peer >= 0 && nvchan_bell_ready(ch->bell_peer, POLLOUT) &&
	    write(ch->bell_peer, &one, sizeof(one)) == sizeof(one))
		pvb_counter_add(&ch->signals, 1);
}

void
nvchan_wait(struct nvchan *ch, int fd, int ms)
{
	struct pollfd p[2];
	nfds_t n = 0;
	uint64_t v;

	if (ch != NULL && ch->bell_self >= 0)
		p[n++] = (struct pollfd){ .fd = ch->bell_self, .events = POLLIN };
	if (fd >= 0)
		p[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(p, n, ms) > 0 && ch != NULL && ch->bell_self >= 0 && (p[0].revents & POLLIN) &&
	    nvchan_bell_ready(ch->bell_self, POLLIN) && read(ch->bell_self, &v, sizeof(v)) < 0)
		v = 0;	/* drained by someone else meanwhile: not an error */
}

int
nvchan_write_rndis_comp(struct nvchan *ch, uint64_t trans_id, uint32_t status)
{
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RNDIS_PKT_COMPLETE };
	uint8_t buf[PVB_NVSP_MSG_SIZE];

	m.u.rndis_complete.status = status;
	return pvb_vmbus_out_comp(&ch->out, trans_id, buf, pvb_nvsp_encode(&m, buf));
}

void
nvchan_quiesce(pvb_shared_u32 *state, uint32_t to, struct nvchan_active *a, unsigned int n)
{
	unsigned int i;

	pvb_store_seqcst(state, to);
	for (i = 0; i < n; i++)
		/*
		 * seq_cst, not acquire: the other half of the Dekker in
		 * nvchan_enter() (store active, load state); it also pairs with
		 * the store-release in nvchan_leave().
		 */
		while (pvb_load_seqcst(&a[i].active) != 0)
			pvb_cpu_relax();
}

void
nvchan_xsnap_take(struct nvchan *ch, const struct pvb_nvsp_slots *s, struct nvchan_xsnap *x)
{
	if (!rte_spinlock_trylock(&ch->in_lock))
		return;
	rte_spinlock_lock(&ch->out_lock);
	/* relaxed: report values, published as they are */
	atomic_store_explicit(&x->pending, nvchan_rec_outstanding(ch), memory_order_relaxed);
	atomic_store_explicit(&x->in_use, s->n - s->nfree, memory_order_relaxed);
	atomic_store_explicit(&x->signals, pvb_counter_read(&ch->signals), memory_order_relaxed);
	atomic_store_explicit(&x->ring_full, pvb_counter_read(&ch->comp_ring_full),
			      memory_order_relaxed);
	rte_spinlock_unlock(&ch->out_lock);
	rte_spinlock_unlock(&ch->in_lock);
}

void
nvchan_xsnap_clear(struct nvchan_xsnap *x)
{
	nvchan_counter_zero(&x->pending);
	nvchan_counter_zero(&x->in_use);
}

void
nvchan_xsnap_read(const struct nvchan_xsnap *x, uint64_t *v)
{
	v[0] = pvb_counter_read(&x->pending);
	v[1] = pvb_counter_read(&x->in_use);
	v[2] = pvb_counter_read(&x->signals);
	v[3] = pvb_counter_read(&x->ring_full);
}

void
nvchan_link_set(uint16_t port_id, bool up)
{
	struct rte_eth_dev *dev = &rte_eth_devices[port_id];
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_10G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = up,
	};

	/* 0: the status changed */
	if (rte_eth_linkstatus_set(dev, &link) == 0 && dev->data->dev_conf.intr_conf.lsc)
		rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, NULL);
}

void
nvchan_counter_zero(pvb_counter_t *c)
{
	/* relaxed: a reset races with counting by design, as for any NIC */
	atomic_store_explicit(c, 0, memory_order_relaxed);
}

int
nvchan_xstats_names(struct rte_eth_xstat_name *names, unsigned int n,
		    const char *const *table, unsigned int count)
{
	unsigned int i;

	if (names != NULL)
		for (i = 0; i < RTE_MIN(n, count); i++)
			strlcpy(names[i].name, table[i], sizeof(names[i].name));
	return (int)count;
}

void
nvchan_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	(void)dev;
	(void)qid;
}

int
nvchan_kv_path(const char *key, const char *v, void *arg)
{
	char *path = arg;

	(void)key;
	if (v[0] == '\0' || strlen(v) >= 108)
		return -EINVAL;
	strlcpy(path, v, 108);
	return 0;
}

int
nvchan_kv_mac(const char *key, const char *v, void *arg)
{
	(void)key;
	return nvchan_parse_mac(v, arg);
}

int
nvchan_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	if (mac[0] & 1)
		return -EINVAL;	/* a group address cannot be a port's address */
	return 0;
}

int
nvchan_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *v)
{
	unsigned long long x;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}
