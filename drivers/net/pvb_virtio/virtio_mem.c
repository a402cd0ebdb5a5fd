/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * What the back-end may read and write: the vrings, and the memory table.
 *
 * The table describes DPDK's memory by the fds DPDK keeps for its segments
 * (rte_memseg_get_fd()), one region per run of segments that are adjacent
 * both in our address space and in one fd, then the regions the
 * application added (rte_pmd_pvb_virtio_mem_add()). vhost-user without
 * CONFIGURE_MEM_SLOTS takes 8 regions: with huge pages, DPDK keeps one fd
 * per page unless it runs with --single-file-segments, so a process whose
 * pages are not adjacent needs that option (as DPDK's virtio_user does).
 * DPDK grows its memory at run time (--in-memory, or any dynamic mode):
 * a memory event callback sends the table again before the new memory can
 * hold an mbuf we post.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_memory.h>

#include "virtio.h"

/* ---- vrings ------------------------------------------------------------------- */

#define USED_ALIGN	64	/* the used ring starts a cache line of its own */

int
virtio_ring_alloc(struct virtio_ring *r, uint16_t size, int socket)
{
	size_t avail = 16u * size;
	size_t used = RTE_ALIGN_CEIL(avail + 6 + 2u * size, USED_ALIGN);
	size_t total = used + 6 + 8u * size;

	r->mem = rte_zmalloc_socket("pvb_virtio_vring", total, 4096, socket);
	r->extra = rte_zmalloc_socket("pvb_virtio_extra", size * sizeof(*r->extra),
				      RTE_CACHE_LINE_SIZE, socket);
	if (r->mem == NULL || r->extra == NULL) {
		virtio_ring_free(r);
		return -ENOMEM;
	}
	r->avail_off = avail;
	r->used_off = used;
	r->kick_fd = r->call_fd = -1;
	return pvb_virtq_drv_init(&r->d, size, r->mem, r->mem + avail, r->mem + used, r->extra,
				  0);
}

void
virtio_ring_quiet(struct virtio_ring *r)
{
	pvb_virtq_drv_disable_cb(&r->d);
	if (r->d.event_idx)
		/* relaxed: a hint the device reads after its own fence */
		pvb_store_relaxed16(pvb_virtq_used_event(r->d.avail, r->d.size),
				    (uint16_t)(r->d.last_used - 1));
}

int
virtio_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct virtio_port *p = dev->data->dev_private;
	struct pvb_active *a = &p->act[qid];
	bool work = false;

	p->intr.armed[qid] = true;
	/* as a burst: the vring cannot go while we are inside */
	if (!pvb_handover_enter(a, &p->state, VIRTIO_RUN))
		return 0;	/* no session: its set-up wakes us (pvb_rxintr_bind()) */
	/* ask for a call, then look once more: used buffers already there wake us now */
	work = pvb_virtq_drv_enable_cb(&p->rxq[qid].r->d);
	pvb_handover_leave(a);
	if (work)
		pvb_rxintr_wake(&p->intr, qid);
	return 0;
}

int
virtio_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct virtio_port *p = dev->data->dev_private;
	struct pvb_active *a = &p->act[qid];

	p->intr.armed[qid] = false;
	if (!pvb_handover_enter(a, &p->state, VIRTIO_RUN)) {
		pvb_rxintr_drain(&p->intr, qid);
		return 0;
	}
	virtio_ring_quiet(p->rxq[qid].r);
	pvb_counter_add1w(&p->rxq[qid].calls, pvb_rxintr_drain(&p->intr, qid));
	pvb_handover_leave(a);
	return 0;
}

void
virtio_ring_free(struct virtio_ring *r)
{
	rte_free(r->mem);
	rte_free(r->extra);
	r->mem = NULL;
	r->extra = NULL;
}

/* ---- the table ------------------------------------------------------------------ */

struct table_build {
	struct virtio_region r[PVB_VU_MAX_REGIONS];
	uint32_t n;
	uint32_t max;			/* regions DPDK's memory may take */
	uint64_t skip_va, skip_len;	/* memory DPDK is about to unmap */
	int err;
	const char *why;
};

static int
add_segment(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	struct table_build *t = arg;
	uint64_t va = (uintptr_t)ms->addr, off;
	uint32_t i;
	int fd;

	/* memory the application registered with DPDK has no fd: it adds it itself */
	if (msl->external || (va >= t->skip_va && va - t->skip_va < t->skip_len))
		return 0;
	fd = rte_memseg_get_fd_thread_unsafe(ms);
	if (fd < 0 || rte_memseg_get_fd_offset_thread_unsafe(ms, &off) != 0) {
		t->err = -ENOTSUP;
		t->why = "DPDK keeps no fd for its memory (it maps anonymous memory)";
		return -1;
	}
	for (i = 0; i < t->n; i++) {
		struct virtio_region *r = &t->r[i];

		if (r->fd == fd && r->va + r->len == va && r->offset + r->len == off) {
			r->len += ms->len;
			return 0;
		}
	}
	if (t->n == t->max) {
		t->err = -ENOSPC;
		t->why = t->max == PVB_VU_MAX_REGIONS ?
			 "DPDK's memory is in more pieces than the memory table takes "
			 "(run with --single-file-segments)" :
			 "DPDK's memory and the regions added take more than the table's 8";
		return -1;
	}
	t->r[t->n++] = (struct virtio_region){ .va = va, .len = ms->len, .offset = off, .fd = fd };
	return 0;
}

/* Is the table @p t the one sent last? */
static bool
table_same(const struct virtio_port *p, const struct table_build *t)
{
	uint32_t i;

	if (t->n != p->ntable)
		return false;
	for (i = 0; i < t->n; i++)
		if (t->r[i].va != p->table[i].va || t->r[i].len != p->table[i].len ||
		    t->r[i].offset != p->table[i].offset || t->r[i].fd != p->table[i].fd)
			return false;
	return true;
}

int
virtio_mem_dpdk_regions(struct virtio_port *p)
{
	struct table_build t = { .max = PVB_VU_MAX_REGIONS };

	RTE_SET_USED(p);
	rte_memseg_walk_thread_unsafe(add_segment, &t);
	return t.err != 0 ? t.err : (int)t.n;
}

static int
overlaps_list(const struct rte_memseg_list *msl, void *arg)
{
	const uint64_t *r = arg;
	uint64_t base = (uintptr_t)msl->base_va;

	return !msl->external && r[0] < base + msl->len && base < r[0] + r[1];
}

bool
virtio_mem_is_dpdk(uint64_t va, uint64_t len)
{
	uint64_t r[2] = { va, len };

	return rte_memseg_list_walk(overlaps_list, r) > 0;
}

static int
mem_update(struct virtio_port *p, uint64_t skip_va, uint64_t skip_len)
{
	struct table_build t = { .max = PVB_VU_MAX_REGIONS - p->next, .skip_va = skip_va,
				 .skip_len = skip_len };
	struct pvb_vu_region wire[PVB_VU_MAX_REGIONS];
	int fds[PVB_VU_MAX_REGIONS];
	uint32_t i;
	int rc;

	rte_memseg_walk_thread_unsafe(add_segment, &t);
	if (t.err != 0) {
		LOG_SETUP(p, "%s: cannot share memory with the back-end: %s", p->name, t.why);
		return t.err;
	}
	for (i = 0; i < p->next; i++)
		t.r[t.n++] = p->ext[i];
	if (table_same(p, &t))
		return 0;
	for (i = 0; i < t.n; i++) {
		wire[i] = (struct pvb_vu_region){ .gpa = t.r[i].va, .size = t.r[i].len,
						  .uva = t.r[i].va, .mmap_offset = t.r[i].offset };
		fds[i] = t.r[i].fd;
	}
	rc = pvb_vu_front_set_mem_table(&p->fe, wire, fds, t.n);
	if (rc != 0) {
		LOG_SETUP(p, "%s: memory table of %u regions refused: %s", p->name, t.n, p->fe.error);
		return rc;
	}
	/* the bursts read the table (virtio_mem_shared()): only with the vrings taken */
	memcpy(p->table, t.r, sizeof(t.r));
	p->ntable = t.n;
	for (i = 0; i < RTE_DIM(p->txq); i++) {
		p->txq[i].pool_ok = NULL;	/* judged against the old table */
		p->rxq[i].ext_va = p->rxq[i].ext_len = 0;
	}
	pvb_counter_add(&p->mem_table_updates, 1);
	return 0;
}

int
virtio_mem_update(struct virtio_port *p)
{
	return mem_update(p, 0, 0);
}

static void
chunk_shared(struct rte_mempool *mp, void *arg, struct rte_mempool_memhdr *h, unsigned int i)
{
	struct { const struct virtio_port *p; bool ok; } *c = arg;

	RTE_SET_USED(mp);
	RTE_SET_USED(i);
	c->ok &= virtio_mem_shared(c->p, (uintptr_t)h->addr, h->len);
}

bool
virtio_pool_shared(const struct virtio_port *p, const struct rte_mempool *mp)
{
	struct { const struct virtio_port *p; bool ok; } c = { p, true };

	rte_mempool_mem_iter((struct rte_mempool *)(uintptr_t)mp, chunk_shared, &c);
	return c.ok;
}

bool
virtio_mem_shared(const struct virtio_port *p, uint64_t va, uint64_t len)
{
	uint32_t i;

	for (i = 0; i < p->ntable; i++)
		if (va >= p->table[i].va && len <= p->table[i].len &&
		    va - p->table[i].va <= p->table[i].len - len)
			return true;
	return false;
}

/* ---- DPDK's memory grows or shrinks --------------------------------------------- */

/*
 * Called with DPDK's hotplug lock held for writing, before the new memory
 * is handed out (alloc) or before it is unmapped (free: the segments are
 * still listed, and left out here): the back-end learns of new memory
 * before any descriptor points there, and drops freed memory.
 */
static void
mem_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	struct virtio_port *p = arg;

	pthread_mutex_lock(&p->lock);
	if (p->session) {
		pvb_handover_take(&p->state, VIRTIO_DOWN, p->act, RTE_DIM(p->act));
		if (mem_update(p, type == RTE_MEM_EVENT_FREE ? (uintptr_t)addr : 0,
			       type == RTE_MEM_EVENT_FREE ? len : 0) != 0)
			/* the control thread closes the session and starts again */
			pvb_store_relaxed(&p->broken, 1);	/* relaxed: a flag it polls */
		pvb_handover_give(&p->state, VIRTIO_RUN);
	}
	pthread_mutex_unlock(&p->lock);
}

int
virtio_mem_cb_register(struct virtio_port *p)
{
	if (rte_mem_event_callback_register(p->name, mem_event, p) == 0) {
		p->mem_cb = true;
		return 0;
	}
	/* ENOTSUP: legacy memory, which never changes */
	if (rte_errno == ENOTSUP)
		return 0;
	LOG(ERR, "%s: cannot follow DPDK's memory events: %s", p->name, rte_strerror(rte_errno));
	return -rte_errno;
}

void
virtio_mem_cb_unregister(struct virtio_port *p)
{
	if (p->mem_cb)
		rte_mem_event_callback_unregister(p->name, p);
	p->mem_cb = false;
}
