/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The guest's receive slots, lent to other ports as mbufs (doc/bridge.md).
 *
 * The slot pool is a mempool with a driver of its own: its objects are mbuf
 * headers without data room, kept on a stack (most recently freed first),
 * and its dequeue attaches each header to a free receive slot of the
 * current channel as an external buffer, so rte_pktmbuf_alloc_bulk() on it
 * returns mbufs whose bytes are the guest's receive buffer. Any port
 * receiving into it writes frames where the guest will read them; our tx
 * burst then sends such a frame as a transfer-page range in place.
 *
 * A slot is owned by whoever holds a reference to its shared info: the
 * mbufs attached to it, and the guest from our send to its completion. The
 * last one gives the slot back: an mbuf free through the free callback (on
 * any thread: the slot index goes on an MP/SC ring the slot_lock holder
 * drains), the guest's completion directly (it runs under slot_lock). A
 * lent slot can go to the guest on any channel: the slots are the port's.
 *
 * Every lent slot holds a reference to its channel's lend state, and that
 * one to the channel: a guest that goes away leaves the slots out valid
 * until they are freed, and the region mapped.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_stack.h>

#include "netvsp.h"
#include "rte_pmd_pvb_netvsp.h"

#define LEND_RECLAIM_BURST	64

/* ---- lend state ----------------------------------------------------------------- */

void
netvsp_lend_put(struct netvsp_lend *l, uint32_t k)
{
	/*
	 * acq_rel: the release orders this holder's use of the slots before the
	 * drop; the acquire of the last dropper pairs with all the others'
	 * releases, so the teardown below sees everything they did.
	 */
	if (k == 0 || atomic_fetch_sub_explicit(&l->refcnt, k, memory_order_acq_rel) != k)
		return;
	rte_ring_free(l->retq);
	nvchan_put(l->ch);
	rte_free(l);
}

/* The last mbuf attached to a lent slot was freed (any thread). */
static void
lend_free_cb(void *addr, void *opaque)
{
	struct netvsp_lent *sl = opaque;
	struct netvsp_lend *l = sl->lend;

	RTE_SET_USED(addr);
	/* sized for every slot: cannot fail */
	rte_ring_mp_enqueue_elem(l->retq, &sl->idx, sizeof(sl->idx));
	netvsp_lend_put(l, 1);
}

struct netvsp_lend *
netvsp_lend_alloc(struct netvsp_port *v)
{
	struct nvport *p = &v->base;
	uint32_t n = v->slots.n, i;
	struct netvsp_lend *l;
	char name[RTE_RING_NAMESIZE];

	l = rte_zmalloc_socket("netvsp_lend", sizeof(*l) + (size_t)n * sizeof(l->slot[0]),
			       RTE_CACHE_LINE_SIZE, p->socket_id);
	if (l == NULL)
		return NULL;
	snprintf(name, sizeof(name), "pvb_lend_%u_%" PRIu64, p->port_id, v->lend_gen + 1);
	l->retq = rte_ring_create_elem(name, sizeof(uint32_t), rte_align32pow2(n + 1),
				       p->socket_id, RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (l->retq == NULL) {
		rte_free(l);
		return NULL;
	}
	atomic_init(&l->refcnt, 1);
	l->slot_size = v->vsp.slot_size;
	l->n = n;
	for (i = 0; i < n; i++) {
		l->slot[i].lend = l;
		l->slot[i].idx = i;
		l->slot[i].shinfo.free_cb = lend_free_cb;
		l->slot[i].shinfo.fcb_opaque = &l->slot[i];
	}
	return l;
}

void
netvsp_lend_open(struct netvsp_port *v, struct netvsp_lend *l)
{
	struct nvport *p = &v->base;

	pvb_ref_get(&p->ch->refcnt, 1);
	l->ch = p->ch;
	l->rxbuf = p->rxbuf;
	l->gen = ++v->lend_gen;
	v->lend = l;
}

uint32_t
netvsp_lend_close(struct netvsp_port *v, struct netvsp_lend **out)
{
	struct netvsp_lend *l = v->lend;
	uint32_t i, back = 0;

	*out = l;
	if (l == NULL)
		return 0;
	v->lend = NULL;
	/* the guest is gone or revoked its buffer: its holds are void */
	for (i = 0; i < l->n; i++) {
		if (!l->slot[i].held)
			continue;
		l->slot[i].held = 0;
		if (rte_mbuf_ext_refcnt_update(&l->slot[i].shinfo, -1) == 0)
			back++;
	}
	return back + 1;
}

void
netvsp_lend_reclaim(struct netvsp_port *v, struct netvsp_lend *l)
{
	uint32_t idx[LEND_RECLAIM_BURST];
	unsigned int k, i;

	do {
		k = rte_ring_sc_dequeue_burst_elem(l->retq, idx, sizeof(idx[0]), RTE_DIM(idx),
						   NULL);
		for (i = 0; i < k; i++)
			pvb_nvsp_slots_put(&v->slots, idx[i], 1);
	} while (k == RTE_DIM(idx));
}

/* ---- the mempool driver ------------------------------------------------------------ */

/*
 * The pool's free headers are on a stack (rte_stack), so that an allocation
 * gets the headers freed last, still in this lcore's cache (a ring hands out
 * the one freed longest ago: two cache misses per mbuf at small frames).
 */
static int
slots_alloc(struct rte_mempool *mp)
{
	char name[RTE_STACK_NAMESIZE];
	struct rte_stack *st;

	/* the pool's name is pvb_slots_<port>: the stack takes its number */
	snprintf(name, sizeof(name), "pvb_sp_%.20s", mp->name);
	st = rte_stack_create(name, mp->size, mp->socket_id, 0);
	if (st == NULL)
		return -rte_errno;
	mp->pool_data = st;
	return 0;
}

static void
slots_free(struct rte_mempool *mp)
{
	rte_stack_free(mp->pool_data);
}

static int
slots_enqueue(struct rte_mempool *mp, void *const *objs, unsigned int n)
{
	/* the stack holds every header of the pool: cannot fail */
	return rte_stack_push(mp->pool_data, objs, n) == n ? 0 : -ENOBUFS;
}

static unsigned int
slots_get_count(const struct rte_mempool *mp)
{
	return rte_stack_count(mp->pool_data);
}

/* Attach headers @p objs[0..n) to free slots of @p l (slot_lock held): 0 or -ENOBUFS. */
static int
slots_attach(struct netvsp_port *v, struct netvsp_lend *l, void **objs, unsigned int n)
{
	unsigned int i;
	int64_t s;

	netvsp_lend_reclaim(v, l);
	/* the last slots are kept for RNDIS control replies */
	if (v->slots.nfree < n + NETVSP_CTL_SLOTS)
		return -ENOBUFS;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = objs[i];
		struct netvsp_lent *sl;

		s = pvb_nvsp_slots_get(&v->slots, 1);
		/* nfree said they are there */
		RTE_VERIFY(s >= 0);
		sl = &l->slot[s];
		rte_mbuf_ext_refcnt_set(&sl->shinfo, 1);
		rte_pktmbuf_attach_extbuf(m, l->rxbuf + (uint64_t)s * l->slot_size, RTE_BAD_IOVA,
					  (uint16_t)l->slot_size, &sl->shinfo);
		m->data_off = RTE_PKTMBUF_HEADROOM;
	}
	return 0;
}

static int
slots_dequeue(struct rte_mempool *mp, void **objs, unsigned int n)
{
	struct netvsp_port *v = mp->pool_config;
	struct netvsp_lend *l;
	int rc = -ENOBUFS;

	if (rte_stack_pop(mp->pool_data, objs, n) != n)
		return -ENOBUFS;
	rte_spinlock_lock(&v->lend_lock);
	l = v->lend;
	/* a channel whose slots differ from the pool's data room is not lent from */
	if (l != NULL && l->slot_size == rte_pktmbuf_data_room_size(mp)) {
		rte_spinlock_lock(&v->slot_lock);
		rc = slots_attach(v, l, objs, n);
		rte_spinlock_unlock(&v->slot_lock);
		if (rc == 0)
			pvb_ref_get(&l->refcnt, n);
	}
	rte_spinlock_unlock(&v->lend_lock);
	if (rc != 0)
		slots_enqueue(mp, objs, n);
	return rc;
}

static struct rte_mempool_ops slots_ops = {
	.name = RTE_PMD_PVB_NETVSP_SLOT_OPS,
	.alloc = slots_alloc,
	.free = slots_free,
	.enqueue = slots_enqueue,
	.dequeue = slots_dequeue,
	.get_count = slots_get_count,
};

RTE_MEMPOOL_REGISTER_OPS(slots_ops);

/* ---- the API -------------------------------------------------------------------- */

static struct netvsp_port *
netvsp_port_of(uint16_t port_id)
{
	const struct nvport_side *side;

	if (!rte_eth_dev_is_valid_port(port_id))
		return NULL;
	side = nvport_side_of(port_id);
	if (side != &netvsp_side || rte_eal_process_type() != RTE_PROC_PRIMARY)
		return NULL;
	return rte_eth_devices[port_id].data->dev_private;
}

struct rte_mempool *
rte_pmd_pvb_netvsp_slot_pool(uint16_t port_id, unsigned int n, int socket_id)
{
	struct netvsp_port *v = netvsp_port_of(port_id);
	struct rte_pktmbuf_pool_private priv = { 0 };
	char name[RTE_MEMPOOL_NAMESIZE];
	struct rte_mempool *mp;

	if (v == NULL) {
		rte_errno = ENODEV;
		return NULL;
	}
	if (v->slot_pool != NULL)
		return v->slot_pool;
	if (n == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	snprintf(name, sizeof(name), "pvb_slots_%u", port_id);
	/* headers only: the data room is a receive slot, attached at allocation */
	mp = rte_mempool_create_empty(name, n, sizeof(struct rte_mbuf), 0, sizeof(priv),
				      socket_id, 0);
	if (mp == NULL)
		return NULL;
	if (rte_mempool_set_ops_byname(mp, RTE_PMD_PVB_NETVSP_SLOT_OPS, v) != 0)
		goto fail;
	priv.mbuf_data_room_size = (uint16_t)pvb_vsp_slot_size(v->base.mtu);
	rte_pktmbuf_pool_init(mp, &priv);
	if (rte_mempool_populate_default(mp) < 0)
		goto fail;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	v->slot_pool = mp;
	LOG(INFO, "port %u: slot pool %s of %u mbufs over the guest's %u-byte receive slots",
	    port_id, name, n, priv.mbuf_data_room_size);
	return mp;
fail:
	rte_mempool_free(mp);
	rte_errno = ENOMEM;
	return NULL;
}

int
rte_pmd_pvb_netvsp_region(uint16_t port_id, struct rte_pmd_pvb_netvsp_region *r)
{
	struct netvsp_port *v = netvsp_port_of(port_id);
	struct netvsp_lend *l;
	int rc = -ENOTCONN;

	if (v == NULL)
		return -ENODEV;
	if (r == NULL)
		return -EINVAL;
	rte_spinlock_lock(&v->lend_lock);
	l = v->lend;
	if (l != NULL) {
		r->va = l->ch->shm.base;
		r->len = l->ch->shm.len;
		r->gen = l->gen;
		r->shareable = v->share && !l->ch->shm.huge;
		r->fd = fcntl(l->ch->shm.fd, F_DUPFD_CLOEXEC, 0);
		rc = r->fd < 0 ? -errno : 0;
	}
	rte_spinlock_unlock(&v->lend_lock);
	return rc;
}

void
netvsp_lend_shutdown(struct netvsp_port *v)
{
	struct rte_mempool *mp = v->slot_pool;
	unsigned int out;

	if (mp == NULL)
		return;
	v->slot_pool = NULL;
	out = mp->size - rte_mempool_avail_count(mp);
	if (out != 0) {
		/* freeing it would turn their later frees into writes to freed memory */
		LOG(ERR, "port %u: %u mbufs of slot pool %s are still held at close: the pool "
		    "is left allocated", v->base.port_id, out, mp->name);
		return;
	}
	rte_mempool_free(mp);
}
