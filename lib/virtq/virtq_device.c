/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The device side of a split virtqueue. Every descriptor is copied out of
 * guest memory once and checked before use (VIRTIO 1.2 §2.7.4-2.7.6; the
 * checks are listed in doc/virtq.md); a fault in the avail index stops the queue until a reset, a
 * malformed chain is refused and the queue goes on.
 */

#include <errno.h>
#include <string.h>

#include "pvb_virtq.h"

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
	if (q == NULL || mem == NULL || !pvb_virtq_dev_is_valid(q))
		return -EINVAL;
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
chain_fault(struct pvb_virtq_dev *q, enum pvb_virtq_fault f)
{
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
		return chain_fault(q, PVB_VIRTQ_FAULT_SEGS);
	if (n < 0)
		return chain_fault(q, PVB_VIRTQ_FAULT_MEMORY);
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
		return chain_fault(q, PVB_VIRTQ_FAULT_TOO_LONG);
	return 0;
}

/* Switch the walk to the indirect table @p d points at. */
static int
enter_indirect(struct pvb_virtq_dev *q, struct walk *w, const struct pvb_virtq_desc *d)
{
	struct pvb_virtq_seg sg[PVB_VIRTQ_MAX_REGIONS];

	/* at most N descriptors in a chain (spec 2.7.5.3.1), as DPDK enforces */
	if (!q->indirect || w->in_indirect || (d->flags & PVB_VIRTQ_DESC_F_NEXT) ||
	    d->len == 0 || d->len % sizeof(struct pvb_virtq_desc) != 0 ||
	    d->len / sizeof(struct pvb_virtq_desc) > q->size)
		return chain_fault(q, PVB_VIRTQ_FAULT_INDIRECT);
	/*
	 * No alignment is required of a table, and it may straddle regions: check
	 * that every byte is guest memory here, read each entry through the table
	 * later (a table of < 4 GiB needs at most one segment per region).
	 */
	if (pvb_virtq_mem_translate(q->mem, d->addr, d->len, sg, PVB_VIRTQ_MAX_REGIONS) < 0)
		return chain_fault(q, PVB_VIRTQ_FAULT_MEMORY);
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
read_desc(struct pvb_virtq_dev *q, const struct walk *w, uint32_t i, struct pvb_virtq_desc *d)
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
		return chain_fault(q, PVB_VIRTQ_FAULT_MEMORY);
	for (k = 0; k < n; k++) {
		memcpy(o, sg[k].host, sg[k].len);
		o += sg[k].len;
	}
	return 0;
}

/* Walk the chain from @p head, copying each descriptor once. */
static int
walk_chain(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, uint16_t head)
{
	struct walk w = { .table = q->desc, .table_size = q->size };
	struct pvb_virtq_desc d;
	uint32_t i = head;
	int rc;

	for (;;) {
		if (i >= w.table_size)
			return chain_fault(q, w.visited == 0 && !w.in_indirect ?
					   PVB_VIRTQ_FAULT_HEAD : PVB_VIRTQ_FAULT_NEXT);
		if (++w.visited > w.table_size)
			return chain_fault(q, PVB_VIRTQ_FAULT_LOOP);
		rc = read_desc(q, &w, i, &d);
		if (rc != 0)
			return rc;
		if (d.flags & PVB_VIRTQ_DESC_F_INDIRECT) {
			rc = enter_indirect(q, &w, &d);
			if (rc != 0)
				return rc;
			i = 0;
			continue;
		}
		if (!(d.flags & PVB_VIRTQ_DESC_F_WRITE) && w.seen_write)
			return chain_fault(q, PVB_VIRTQ_FAULT_ORDER);
		w.seen_write |= (d.flags & PVB_VIRTQ_DESC_F_WRITE) != 0;
		rc = add_buffer(q, c, &d, (d.flags & PVB_VIRTQ_DESC_F_WRITE) != 0);
		if (rc != 0)
			return rc;
		if (!(d.flags & PVB_VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int
pvb_virtq_dev_pop_avail(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c)
{
	uint16_t avail_idx, pending;

	if (q == NULL || c == NULL || q->avail == NULL)
		return -EINVAL;
	if (q->needs_reset)
		return -EPIPE;
	/* pairs with the store-release of avail->idx in pvb_virtq_drv_publish() */
	avail_idx = pvb_load_acquire16(&q->avail->idx);
	pending = (uint16_t)(avail_idx - q->next_avail_idx);
	if (pending > q->size) {
		q->fault = PVB_VIRTQ_FAULT_AVAIL_IDX;
		q->needs_reset = true;
		return -EPIPE;
	}
	if (pending == 0)
		return -EAGAIN;
	memset(c, 0, offsetof(struct pvb_virtq_chain, seg));
	/* the slot comes from our own cursor; the head from the driver, checked in the walk */
	c->head = q->avail->ring[q->next_avail_idx & (q->size - 1)];
	q->next_avail_idx++;
	return walk_chain(q, c, c->head);
}

int
pvb_virtq_dev_add_used(struct pvb_virtq_dev *q, uint16_t head, uint32_t len)
{
	struct pvb_virtq_used_elem *e;

	if (q == NULL || q->used == NULL || head >= q->size)
		return -EINVAL;
	e = &q->used->ring[q->next_used_idx & (q->size - 1)];
	e->id = head;
	e->len = len;
	q->next_used_idx++;
	return 0;
}

void
pvb_virtq_dev_write_used_idx(struct pvb_virtq_dev *q)
{
	if (q->used == NULL)
		return;	/* not enabled */
	/*
	 * Pairs with the load-acquire of used->idx in pvb_virtq_drv_get_used():
	 * the elements (and the data written into the buffers) come first.
	 */
	pvb_store_release16(&q->used->idx, q->next_used_idx);
}

int
pvb_virtq_dev_push_used(struct pvb_virtq_dev *q, uint16_t head, uint32_t bytes_written)
{
	int rc = pvb_virtq_dev_add_used(q, head, bytes_written);

	if (rc == 0)
		pvb_virtq_dev_write_used_idx(q);
	return rc;
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
	/* pairs with the store-release of avail->idx in pvb_virtq_drv_publish() */
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
