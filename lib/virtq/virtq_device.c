/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The device side of a split virtqueue. Every descriptor is copied out of
 * guest memory once and checked before use (VIRTIO 1.2 §2.7.4-2.7.6; the
 * checks are listed in doc/virtq.md); a fault in the avail index stops the
 * queue until a reset, a malformed chain is refused and the queue goes on.
 *
 * One walker (walk_chain()) and one read of the available index
 * (avail_refresh()) serve every pop: pop_avail is a read and one pop,
 * pop_burst a read and up to n pops, pop_next a pop of what the last read
 * counted. Used elements are written by put_used() and published by one
 * release store a burst.
 */

#include <errno.h>
#include <string.h>

#include "virtq_pvt.h"

#define POP_AHEAD	8	/* a count asks for the descriptors of this many chains */

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the split ring is little-endian and read natively here"
#endif

const char *
pvb_virtq_fault_str(enum pvb_virtq_fault f)
{
	switch (f) {
	case PVB_VIRTQ_OK:
		return "ok";
	case PVB_VIRTQ_FAULT_AVAIL_IDX:
		return "avail idx moved back or more than the queue size ahead";
	case PVB_VIRTQ_FAULT_HEAD:
		return "head index outside the descriptor table";
	case PVB_VIRTQ_FAULT_NEXT:
		return "next index outside the descriptor table";
	case PVB_VIRTQ_FAULT_LOOP:
		return "chain longer than its table (a loop)";
	case PVB_VIRTQ_FAULT_INDIRECT:
		return "indirect: not negotiated, nested, with NEXT, or a bad length";
	case PVB_VIRTQ_FAULT_ORDER:
		return "a device-readable descriptor after a device-writable one";
	case PVB_VIRTQ_FAULT_MEMORY:
		return "a buffer outside guest memory, or an address that overflows";
	case PVB_VIRTQ_FAULT_TOO_LONG:
		return "chain of more than 2^32 bytes";
	case PVB_VIRTQ_FAULT_SEGS:
		return "chain needs more host segments than a popped chain holds";
	case PVB_VIRTQ_FAULT_RINGS:
		return "a ring outside guest memory, split across regions, or misaligned";
	case PVB_VIRTQ_FAULT_USED_IDX:
		return "used idx ahead of the chains posted";
	case PVB_VIRTQ_FAULT_USED_ID:
		return "a used id that is not a posted head";
	case PVB_VIRTQ_FAULT_USED_LEN:
		return "a used length beyond the posted buffer";
	}
	return "unknown fault";
}

void
pvb_virtq_dev_init(struct pvb_virtq_dev *q, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->max_size = max_size;
}

void
pvb_virtq_dev_set_size(struct pvb_virtq_dev *q, uint16_t requested)
{
	uint16_t n = requested < q->max_size ? requested : q->max_size;

	/* largest power of two not above n (0 stays 0 and is not valid) */
	while (n & (n - 1))
		n &= (uint16_t)(n - 1);
	q->size = n;
}

bool
pvb_virtq_dev_is_valid(const struct pvb_virtq_dev *q)
{
	return q->ready && pvb_virtq_size_ok(q->size) && q->desc_table_addr != 0 &&
	       q->avail_ring_addr != 0 && q->used_ring_addr != 0;
}

void
pvb_virtq_dev_reset(struct pvb_virtq_dev *q)
{
	uint16_t max = q->max_size;

	pvb_virtq_dev_init(q, max);
}

/* One ring, in one region, aligned: its host address. */
static void *
ring_ptr(const struct pvb_virtq_mem *mem, uint64_t gpa, size_t len, uint64_t align)
{
	void *p = (gpa & (align - 1)) == 0 ? pvb_virtq_mem_ptr(mem, gpa, len) : NULL;

	/* the host side must be aligned as well for the atomic index words */
	return p != NULL && ((uintptr_t)p & (align - 1)) == 0 ? p : NULL;
}

int
pvb_virtq_dev_enable(struct pvb_virtq_dev *q, const struct pvb_virtq_mem *mem,
		     uint64_t features)
{
	if (q == NULL)
		return -EINVAL;
	/* nothing counted, nothing to give back, whatever the answer */
	q->avail_pending = 0;
	q->unpop_start = q->next_avail_idx;
	if (mem == NULL || !pvb_virtq_dev_is_valid(q))
		return -EINVAL;
	q->last_region = 0;
	q->desc = ring_ptr(mem, q->desc_table_addr, pvb_virtq_desc_bytes(q->size), 16);
	q->avail = ring_ptr(mem, q->avail_ring_addr, pvb_virtq_avail_bytes(q->size), 2);
	q->used = ring_ptr(mem, q->used_ring_addr, pvb_virtq_used_bytes(q->size), 4);
	if (q->desc == NULL || q->avail == NULL || q->used == NULL) {
		q->fault = PVB_VIRTQ_FAULT_RINGS;
		q->needs_reset = true;
		return -EFAULT;
	}
	q->mem = mem;
	q->event_idx = (features >> PVB_VIRTIO_F_EVENT_IDX) & 1;
	q->indirect = (features >> PVB_VIRTIO_F_INDIRECT_DESC) & 1;
	q->signalled_valid = false;
	return 0;
}

/* A chain being walked: where its descriptors come from, and what it holds. */
struct walk {
	const struct pvb_virtq_desc *table;	/* the ring's table (host, resolved at enable) */
	uint64_t table_gpa;			/* an indirect table, read entry by entry */
	uint32_t table_size;
	bool in_indirect;
	uint32_t visited;
	bool seen_write;
};

static int
chain_fault(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, enum pvb_virtq_fault f)
{
	c->fault = f;
	q->fault = f;
	q->bad_chains++;
	return -EBADMSG;
}

/* Translate one buffer into host segments at the end of @p c. */
static int
add_buffer(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, const struct pvb_virtq_desc *d,
	   bool write)
{
	int n = pvb_virtq_mem_translate(q->mem, d->addr, d->len, &c->seg[c->nb_segs],
					PVB_VIRTQ_MAX_SEGS - c->nb_segs);
	uint32_t i;

	if (n == -ENOBUFS)
		return chain_fault(q, c, PVB_VIRTQ_FAULT_SEGS);
	if (n < 0)
		return chain_fault(q, c, PVB_VIRTQ_FAULT_MEMORY);
	for (i = 0; i < (uint32_t)n; i++)
		c->seg[c->nb_segs + i].write = write;
	c->nb_segs += (uint32_t)n;
	if (write)
		c->writable_len += d->len;
	else {
		c->readable_len += d->len;
		c->nb_readable = c->nb_segs;
	}
	/* a chain's total length must not exceed 2^32 bytes */
	if (c->readable_len + c->writable_len > (1ull << 32))
		return chain_fault(q, c, PVB_VIRTQ_FAULT_TOO_LONG);
	return 0;
}

/* Switch the walk to the indirect table @p d points at. */
static int
enter_indirect(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, struct walk *w,
	       const struct pvb_virtq_desc *d)
{
	struct pvb_virtq_seg sg[PVB_VIRTQ_MAX_REGIONS];

	/* at most N descriptors in a chain (spec 2.7.5.3.1), as DPDK enforces */
	if (!q->indirect || w->in_indirect || (d->flags & PVB_VIRTQ_DESC_F_NEXT) ||
	    d->len == 0 || d->len % sizeof(struct pvb_virtq_desc) != 0 ||
	    d->len / sizeof(struct pvb_virtq_desc) > q->size)
		return chain_fault(q, c, PVB_VIRTQ_FAULT_INDIRECT);
	/*
	 * No alignment is required of a table, and it may straddle regions: check
	 * that every byte is guest memory here, read each entry through the table
	 * later (a table of < 4 GiB needs at most one segment per region).
	 */
	if (pvb_virtq_mem_translate(q->mem, d->addr, d->len, sg, PVB_VIRTQ_MAX_REGIONS) < 0)
		return chain_fault(q, c, PVB_VIRTQ_FAULT_MEMORY);
	w->table_gpa = d->addr;
	w->table_size = d->len / (uint32_t)sizeof(struct pvb_virtq_desc);
	w->in_indirect = true;
	w->visited = 0;
	return 0;
}

/*
 * Copy descriptor @p i of the table being walked, once: the driver may
 * rewrite the table while we look. An indirect entry may straddle regions.
 */
static int
read_desc(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, const struct walk *w, uint32_t i,
	  struct pvb_virtq_desc *d)
{
	struct pvb_virtq_seg sg[sizeof(*d)];	/* one byte per region at worst */
	uint8_t *o = (uint8_t *)d;
	int n, k;

	if (!w->in_indirect) {
		memcpy(d, &w->table[i], sizeof(*d));
		return 0;
	}
	n = pvb_virtq_mem_translate(q->mem, w->table_gpa + sizeof(*d) * (uint64_t)i, sizeof(*d),
				    sg, sizeof(*d));
	if (n < 0)
		return chain_fault(q, c, PVB_VIRTQ_FAULT_MEMORY);
	for (k = 0; k < n; k++) {
		memcpy(o, sg[k].host, sg[k].len);
		o += sg[k].len;
	}
	return 0;
}

/* A chain's summary before its first buffer: empty, not refused. */
static void
chain_start(struct pvb_virtq_chain *c, uint16_t head)
{
	memset(c, 0, offsetof(struct pvb_virtq_chain, seg));
	c->head = head;
}

/*
 * The rest of the walk, from the head descriptor @p d (already copied and
 * counted): each following descriptor is bounded, counted and copied once.
 */
static int
walk_rest(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, struct pvb_virtq_desc *d)
{
	struct walk w = { .table = q->desc, .table_size = q->size, .visited = 1 };
	uint32_t i;
	int rc;

	for (;;) {
		if (d->flags & PVB_VIRTQ_DESC_F_INDIRECT) {
			rc = enter_indirect(q, c, &w, d);
			if (rc != 0)
				return rc;
			i = 0;
		} else {
			if (!(d->flags & PVB_VIRTQ_DESC_F_WRITE) && w.seen_write)
				return chain_fault(q, c, PVB_VIRTQ_FAULT_ORDER);
			w.seen_write |= (d->flags & PVB_VIRTQ_DESC_F_WRITE) != 0;
			rc = add_buffer(q, c, d, (d->flags & PVB_VIRTQ_DESC_F_WRITE) != 0);
			if (rc != 0)
				return rc;
			if (!(d->flags & PVB_VIRTQ_DESC_F_NEXT))
				return 0;
			i = d->next;
		}
		if (i >= w.table_size)
			return chain_fault(q, c, PVB_VIRTQ_FAULT_NEXT);
		if (++w.visited > w.table_size)
			return chain_fault(q, c, PVB_VIRTQ_FAULT_LOOP);
		rc = read_desc(q, c, &w, i, d);
		if (rc != 0)
			return rc;
	}
}
/* A head index outside the table (cold: out of line). */
static __attribute__((noinline)) int
head_fault(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, uint16_t head)
{
	chain_start(c, head);
	return chain_fault(q, c, PVB_VIRTQ_FAULT_HEAD);
}

/* True for the common chain's head: one direct buffer, no NEXT, not empty. */
static inline bool
desc_is_single(const struct pvb_virtq_desc *d)
{
	return !(d->flags & (PVB_VIRTQ_DESC_F_NEXT | PVB_VIRTQ_DESC_F_INDIRECT)) && d->len != 0;
}

/* The common chain: descriptor @p d's buffer, wholly inside region @p r, as one segment. */
static inline void
chain_single(struct pvb_virtq_chain *c, uint16_t head, const struct pvb_virtq_desc *d,
	     const struct pvb_virtq_region *r)
{
	bool write = (d->flags & PVB_VIRTQ_DESC_F_WRITE) != 0;

	c->head = head;
	c->nb_segs = 1;
	c->nb_readable = !write;
	c->fault = PVB_VIRTQ_OK;
	c->readable_len = write ? 0 : d->len;
	c->writable_len = write ? d->len : 0;
	c->seg[0].host = (uint8_t *)r->host + (d->addr - r->gpa);
	c->seg[0].len = d->len;
	c->seg[0].write = write;
}

/*
 * Every chain walk_chain() does not finish itself (cold: out of line, so
 * the common path saves no registers): the common chain in another region
 * than the last one (found and remembered), or the general walk.
 */
static __attribute__((noinline)) int
walk_other(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, uint16_t head,
	   struct pvb_virtq_desc d)
{
	const struct pvb_virtq_mem *m = q->mem;
	uint32_t i;

	if (desc_is_single(&d))
		for (i = 0; i < m->nb_regions; i++)
			if (virtq_region_holds(&m->r[i], d.addr, d.len)) {
				q->last_region = i;
				chain_single(c, head, &d, &m->r[i]);
				return 0;
			}
	/* outside memory or across a region end: the general walk says which */
	chain_start(c, head);
	return walk_rest(q, c, &d);
}

/*
 * Walk the chain at @p head into @p c: the one walker behind every pop.
 * Its first step takes the common chain, one direct descriptor (no NEXT,
 * no INDIRECT, not empty) whose buffer lies in the region the last buffer
 * was in, as one segment: what the general walk would give it, after the
 * same checks (head < N, the buffer inside guest memory; one descriptor
 * can be neither out of order, nor a loop, nor over 2^32 bytes, nor too
 * many segments). Any other chain goes on in walk_other() from the same
 * copy of its head.
 */
static inline int
walk_chain(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, uint16_t head)
{
	const struct pvb_virtq_region *r;
	struct pvb_virtq_desc d;

	if (unlikely(head >= q->size))
		return head_fault(q, c, head);
	memcpy(&d, &q->desc[head], sizeof(d));	/* once: the driver may rewrite it */
	/*
	 * An index below PVB_VIRTQ_MAX_REGIONS into whatever table q->mem is now
	 * (a transport may swap it): an entry the table does not use is empty.
	 */
	r = &q->mem->r[q->last_region];
	if (likely(desc_is_single(&d) && virtq_region_holds(r, d.addr, d.len))) {
		chain_single(c, head, &d, r);
		return 0;
	}
	return walk_other(q, c, head, d);
}

/*
 * Ask for the descriptor of the chain @p ahead slots after the next one, if
 * counted: its line is on its way while we walk the ones before it. The
 * head is read as a hint only (masked; the walk reads and checks it again).
 */
static inline void
prefetch_ahead(const struct pvb_virtq_dev *q, uint16_t ahead)
{
	uint16_t mask = (uint16_t)(q->size - 1), h;

	if (q->avail_pending > ahead) {
		h = q->avail->ring[(q->next_avail_idx + ahead) & mask];
		__builtin_prefetch(&q->desc[h & mask], 0, 3);
	}
}

/*
 * Read avail->idx once: how many chains wait. More than N (or a step back)
 * is a driver that broke the ring (VIRTIO 1.2 §2.7.6.1: it MUST NOT
 * decrement the index; §2.7.13: it never has more than N chains out): the
 * queue stops until a reset. Starts a new unpop window.
 */
static int
avail_refresh(struct pvb_virtq_dev *q)
{
	uint16_t avail_idx, pending, k;

	if (q->needs_reset)
		return -EPIPE;
	/*
	 * Pairs with the store-release of avail->idx in pvb_virtq_drv_publish()
	 * and pvb_virtq_drv_add_burst(): ring entries and descriptors first.
	 */
	avail_idx = pvb_load_acquire16(&q->avail->idx);
	pending = (uint16_t)(avail_idx - q->next_avail_idx);
	q->unpop_start = q->next_avail_idx;
	if (unlikely(pending > q->size)) {
		q->avail_pending = 0;
		q->fault = PVB_VIRTQ_FAULT_AVAIL_IDX;
		q->needs_reset = true;
		return -EPIPE;
	}
	q->avail_pending = pending;
	/* once a burst: a prefetch in every pop cost more than it won (doc/virtq.md) */
	for (k = 0; k < POP_AHEAD; k++)
		prefetch_ahead(q, k);
	return pending;
}

/* Pop one of the counted chains (there is one). */
static inline int
pop_one(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c)
{
	/* the slot comes from our own cursor; the head from the driver, checked in the walk */
	uint16_t head = q->avail->ring[q->next_avail_idx & (q->size - 1)];

	q->next_avail_idx++;
	q->avail_pending--;
	return walk_chain(q, c, head);
}

void
pvb_virtq_dev_prefetch_desc(const struct pvb_virtq_dev *q, uint16_t ahead)
{
	prefetch_ahead(q, ahead);
}

void *
pvb_virtq_dev_peek_buf(const struct pvb_virtq_dev *q, uint16_t ahead)
{
	uint16_t mask = (uint16_t)(q->size - 1), h;
	const struct pvb_virtq_region *r;
	struct pvb_virtq_desc d;

	if (ahead >= q->avail_pending)
		return NULL;
	/* masked: a hint read from the driver's ring, never an index out of the table */
	h = q->avail->ring[(uint16_t)(q->next_avail_idx + ahead) & mask] & mask;
	memcpy(&d, &q->desc[h], sizeof(d));
	r = &q->mem->r[q->last_region];
	if ((d.flags & PVB_VIRTQ_DESC_F_INDIRECT) || !virtq_region_holds(r, d.addr, 64))
		return NULL;
	return (uint8_t *)r->host + (d.addr - r->gpa);
}

int
pvb_virtq_dev_avail_count(struct pvb_virtq_dev *q)
{
	if (q == NULL || q->avail == NULL)
		return -EINVAL;
	return avail_refresh(q);
}

int
pvb_virtq_dev_pop_next(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c)
{
	/* a count (of a queue enabled since) is the only way to chains: none, nothing to read */
	if (unlikely(q->avail_pending == 0))
		return q->needs_reset ? -EPIPE : -EAGAIN;
	return pop_one(q, c);
}

int
pvb_virtq_dev_pop_avail(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c)
{
	int rc;

	if (q == NULL || c == NULL || q->avail == NULL)
		return -EINVAL;
	rc = avail_refresh(q);
	if (rc <= 0)
		return rc == 0 ? -EAGAIN : rc;
	return pop_one(q, c);
}

int
pvb_virtq_dev_pop_burst(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, uint32_t n)
{
	uint32_t i;
	int rc;

	if (q == NULL || c == NULL || q->avail == NULL)
		return -EINVAL;
	rc = avail_refresh(q);
	if (rc <= 0)
		return rc;
	if (n > (uint32_t)rc)
		n = (uint32_t)rc;
	for (i = 0; i < n; i++)
		(void)pop_one(q, &c[i]);	/* a refused one says why in c[i].fault */
	return (int)n;
}

void
pvb_virtq_dev_unpop(struct pvb_virtq_dev *q, uint16_t n)
{
	uint16_t room;

	if (q == NULL)
		return;
	/*
	 * Never back past a used element written, nor past the last avail idx
	 * read; nor more than that read counted (pending + room stays <= N).
	 */
	room = (uint16_t)(q->next_avail_idx - q->unpop_start);
	if (room > q->size - q->avail_pending)
		room = (uint16_t)(q->size - q->avail_pending);
	if (n > room)
		n = room;
	q->next_avail_idx = (uint16_t)(q->next_avail_idx - n);
	q->avail_pending = (uint16_t)(q->avail_pending + n);
}

/*
 * Write one used element (id checked by the caller) without publishing it.
 * An element that already holds these bytes (a queue completed in order
 * comes round to the same id and length) is not written: its line stays
 * valid in the driver's cache. We only compare what we read back.
 */
static inline void
put_used(struct pvb_virtq_dev *q, uint32_t id, uint32_t len)
{
	struct pvb_virtq_used_elem *e = &q->used->ring[q->next_used_idx & (q->size - 1)];
	uint64_t v = id | (uint64_t)len << 32, o;	/* little-endian, as the wire */

	memcpy(&o, e, sizeof(o));
	if (o != v)
		memcpy(e, &v, sizeof(v));
	q->next_used_idx++;
}

int
pvb_virtq_dev_add_used(struct pvb_virtq_dev *q, uint16_t head, uint32_t len)
{
	if (q == NULL || q->used == NULL || head >= q->size)
		return -EINVAL;
	put_used(q, head, len);
	q->unpop_start = q->next_avail_idx;	/* what was popped before may be this chain */
	return 0;
}

void
pvb_virtq_dev_write_used_idx(struct pvb_virtq_dev *q)
{
	if (q->used == NULL)
		return;	/* not enabled */
	/*
	 * Pairs with the load-acquire of used->idx in pvb_virtq_drv_get_used_burst()
	 * (and so _get_used()): the elements (and the data written into the
	 * buffers) come first.
	 */
	pvb_store_release16(&q->used->idx, q->next_used_idx);
}

int
pvb_virtq_dev_push_used_burst(struct pvb_virtq_dev *q, const struct pvb_virtq_used_elem *e,
			      uint32_t n)
{
	uint32_t i, bad = 0;

	if (q == NULL || q->used == NULL || (e == NULL && n != 0) || n > q->size)
		return -EINVAL;
	/* all or nothing: check every id before writing any */
	for (i = 0; i < n; i++)
		bad |= e[i].id >= q->size;
	if (bad)
		return -EINVAL;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		put_used(q, e[i].id, e[i].len);
	q->unpop_start = q->next_avail_idx;	/* what was popped before may be among these */
	pvb_virtq_dev_write_used_idx(q);
	return (int)n;
}

int
pvb_virtq_dev_push_used(struct pvb_virtq_dev *q, uint16_t head, uint32_t bytes_written)
{
	struct pvb_virtq_used_elem e = { .id = head, .len = bytes_written };
	int rc = pvb_virtq_dev_push_used_burst(q, &e, 1);

	return rc < 0 ? rc : 0;
}

bool
pvb_virtq_dev_should_notify(struct pvb_virtq_dev *q)
{
	uint16_t old = q->signalled_used, now = q->next_used_idx, event;
	bool valid = q->signalled_valid;

	if (q->avail == NULL)
		return false;	/* not enabled */
	/*
	 * Store used->idx, then load the driver's flags or used_event: pairs with
	 * the fence in pvb_virtq_drv_enable_cb() (store used_event, then load
	 * used->idx).
	 */
	pvb_fence_full();
	q->signalled_used = now;
	q->signalled_valid = true;
	if (!q->event_idx)
		/* relaxed: ordered by the fence; a hint either way (VIRTIO 1.2 §2.7.7) */
		return !(pvb_load_relaxed16(&q->avail->flags) & PVB_VIRTQ_AVAIL_F_NO_INTERRUPT);
	/* relaxed: ordered by the fence */
	event = pvb_load_relaxed16(pvb_virtq_used_event(q->avail, q->size));
	return !valid || pvb_vring_need_event(event, now, old);
}

bool
pvb_virtq_dev_set_notification(struct pvb_virtq_dev *q, bool suppress)
{
	if (q->used == NULL || q->avail == NULL)
		return false;	/* not enabled */
	if (q->event_idx) {
		if (suppress)
			return false;	/* leaving avail_event behind suppresses kicks */
		/* relaxed: the fence below orders it before the re-check */
		pvb_store_relaxed16(pvb_virtq_avail_event(q->used, q->size), q->next_avail_idx);
	} else {
		/* relaxed: a hint to the driver; enabling re-checks below */
		pvb_store_relaxed16(&q->used->flags, suppress ? PVB_VIRTQ_USED_F_NO_NOTIFY : 0);
		if (suppress)
			return false;
	}
	/*
	 * Store the request, then load avail->idx: pairs with the fence in
	 * pvb_virtq_drv_kick_prepare() (store avail->idx, then load our word).
	 */
	pvb_fence_full();
	/*
	 * Pairs with the store-release of avail->idx in pvb_virtq_drv_publish()
	 * and pvb_virtq_drv_add_burst(). Chains counted but not popped yet count
	 * as arrived: next_avail_idx is behind the index then.
	 */
	return pvb_load_acquire16(&q->avail->idx) != q->next_avail_idx;
}

void
pvb_virtq_dev_used_header(const struct pvb_virtq_dev *q, uint16_t *flags, uint16_t *idx)
{
	if (q->used == NULL) {
		*flags = *idx = 0;	/* not enabled */
		return;
	}
	/* relaxed: a snapshot for the caller; nothing is ordered by it */
	*flags = pvb_load_relaxed16(&q->used->flags);
	*idx = pvb_load_relaxed16(&q->used->idx);
}

void
pvb_virtq_dev_write_used_header(struct pvb_virtq_dev *q, uint16_t flags, uint16_t idx)
{
	if (q->used == NULL)
		return;	/* not enabled */
	/* relaxed: a hint to the driver, ordered with idx by the release below */
	pvb_store_relaxed16(&q->used->flags, flags);
	q->next_used_idx = idx;
	pvb_virtq_dev_write_used_idx(q);
}

uint64_t
pvb_virtq_dev_avail_event_addr(const struct pvb_virtq_dev *q)
{
	return q->used_ring_addr + 4 + 8ull * q->size;
}
