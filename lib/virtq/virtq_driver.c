/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The driver side of a split virtqueue (VIRTIO 1.2 §2.7.13-2.7.14). The
 * free list and each chain's links live in private memory (extra[]), never
 * read back from the shared table, so a device that scribbles on the
 * descriptors cannot corrupt the allocator; used ids are checked against
 * the heads we posted. Reclaiming is one function for one chain or a
 * burst (pvb_virtq_drv_get_used_burst()), as is publishing.
 */

#include <errno.h>
#include <string.h>

#include "virtq_pvt.h"

#define FREE_END	PVB_VIRTQ_MAX_SIZE	/* free-list terminator (not an index) */

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the split ring is little-endian and read natively here"
#endif

int
pvb_virtq_drv_init(struct pvb_virtq_drv *d, uint16_t size, void *desc, void *avail,
		   void *used, struct pvb_virtq_drv_extra *extra, uint64_t features)
{
	uint32_t i;

	if (d == NULL || !pvb_virtq_size_ok(size) || desc == NULL || avail == NULL ||
	    used == NULL || extra == NULL)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->size = size;
	d->mask = (uint16_t)(size - 1);
	d->desc = desc;
	d->avail = avail;
	d->used = used;
	d->extra = extra;
	d->event_idx = (features >> PVB_VIRTIO_F_EVENT_IDX) & 1;
	d->indirect = (features >> PVB_VIRTIO_F_INDIRECT_DESC) & 1;
	d->in_order = (features >> PVB_VIRTIO_F_IN_ORDER) & 1;
	for (i = 0; i < size; i++)
		extra[i] = (struct pvb_virtq_drv_extra){
			.next = (uint16_t)(i + 1 < size ? i + 1 : FREE_END) };
	d->free_head = 0;
	d->free_tail = (uint16_t)(size - 1);
	d->num_free = size;
	return 0;
}

/* Readable buffers first, then writable (spec §2.7.4.2); none empty of address. */
static bool
bufs_ok(const struct pvb_virtq_buf *b, uint32_t n)
{
	bool write = false;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (write && !b[i].write)
			return false;
		write |= b[i].write;
	}
	return n != 0;
}

/* The descriptor for buffer @p b. */
static inline struct pvb_virtq_desc
desc_of(const struct pvb_virtq_buf *b, uint16_t flags, uint16_t next)
{
	return (struct pvb_virtq_desc){
		.addr = b->gpa,
		.len = b->len,
		.flags = (uint16_t)(flags | (b->write ? PVB_VIRTQ_DESC_F_WRITE : 0)),
		.next = next,
	};
}

/*
 * Write descriptor @p t for buffer @p b. A shared line we write is taken
 * from the device's cache and must be fetched again by its next read; one
 * that already holds these bytes (the same buffer posted at the same
 * descriptor again, as a queue completed in order with buffers tied to
 * descriptors does) is left alone and stays valid there. We only ever
 * compare what we read back: nothing read from the table is used.
 */
static inline void
fill(struct pvb_virtq_desc *t, const struct pvb_virtq_buf *b, uint16_t flags, uint16_t next)
{
	/* as two words in registers (the wire is little-endian, as this host) */
	uint64_t w0 = b->gpa, w1 = b->len |
		(uint64_t)(flags | (b->write ? PVB_VIRTQ_DESC_F_WRITE : 0)) << 32 |
		(uint64_t)next << 48, o0, o1;

	memcpy(&o0, t, 8);
	memcpy(&o1, (uint8_t *)t + 8, 8);
	if (o0 != w0 || o1 != w1) {
		memcpy(t, &w0, 8);
		memcpy((uint8_t *)t + 8, &w1, 8);
	}
}

/* Put @p head in the next available slot (published later). */
static void
expose(struct pvb_virtq_drv *d, uint16_t head, uint16_t ndesc, void *token)
{
	uint16_t *e = &d->avail->ring[d->shadow_avail & d->mask];

	d->extra[head].token = token;
	d->extra[head].ndesc = ndesc;
	d->extra[d->shadow_avail & d->mask].order = head;
	if (*e != head)	/* as fill(): an unchanged slot stays valid in the device's cache */
		*e = head;
	d->shadow_avail++;
}

int
pvb_virtq_drv_add(struct pvb_virtq_drv *d, const struct pvb_virtq_buf *bufs, uint32_t n,
		  void *token)
{
	uint16_t head, i;
	uint32_t k;

	if (d == NULL || bufs == NULL || token == NULL || !bufs_ok(bufs, n) || n > d->size)
		return -EINVAL;
	if (d->broken)
		return -EPIPE;
	if (d->num_free < n)
		return -EAGAIN;
	head = i = d->free_head;
	for (k = 0; k < n; k++) {
		fill(&d->desc[i], &bufs[k], k + 1 < n ? PVB_VIRTQ_DESC_F_NEXT : 0,
		     k + 1 < n ? d->extra[i].next : 0);
		i = d->extra[i].next;	/* private link: the device cannot change it */
	}
	d->free_head = i;
	d->num_free = (uint16_t)(d->num_free - n);
	expose(d, head, (uint16_t)n, token);
	return 0;
}

int
pvb_virtq_drv_add_indirect(struct pvb_virtq_drv *d, const struct pvb_virtq_buf *bufs,
			   uint32_t n, void *table, uint64_t table_gpa, void *token)
{
	struct pvb_virtq_buf tb = { .gpa = table_gpa, .write = false };
	uint16_t head;
	uint32_t k;

	/* a driver MUST NOT make a chain of more than N descriptors, table included */
	if (d == NULL || bufs == NULL || table == NULL || token == NULL || !bufs_ok(bufs, n) ||
	    n > d->size)
		return -EINVAL;
	if (!d->indirect)
		return -ENOTSUP;
	if (d->broken)
		return -EPIPE;
	if (d->num_free < 1)
		return -EAGAIN;
	/* the table may sit at any alignment: build each entry, then copy it */
	for (k = 0; k < n; k++) {
		struct pvb_virtq_desc e = desc_of(&bufs[k], k + 1 < n ? PVB_VIRTQ_DESC_F_NEXT : 0,
						  (uint16_t)(k + 1 < n ? k + 1 : 0));

		memcpy((uint8_t *)table + k * sizeof(e), &e, sizeof(e));
	}
	tb.len = n * (uint32_t)sizeof(struct pvb_virtq_desc);
	head = d->free_head;
	fill(&d->desc[head], &tb, PVB_VIRTQ_DESC_F_INDIRECT, 0);
	d->free_head = d->extra[head].next;
	d->num_free--;
	expose(d, head, 1, token);
	return 0;
}

void
pvb_virtq_drv_publish(struct pvb_virtq_drv *d)
{
	/*
	 * Pairs with the load-acquire of avail->idx in the device's avail_refresh()
	 * (pvb_virtq_dev_avail_count(), _pop_avail(), _pop_burst()): descriptors
	 * and ring entries are visible before the index.
	 */
	pvb_store_release16(&d->avail->idx, d->shadow_avail);
}

int
pvb_virtq_drv_add_burst(struct pvb_virtq_drv *d, const struct pvb_virtq_buf *bufs,
			void *const *tokens, uint32_t n)
{
	struct pvb_virtq_desc *desc;
	struct pvb_virtq_drv_extra *x;
	uint16_t head, slot, mask, *ring;
	uint32_t i, k;
	bool bad = false;

	if (d == NULL || ((bufs == NULL || tokens == NULL) && n != 0))
		return -EINVAL;
	/* all or nothing: every token before any descriptor */
	for (i = 0; i < n; i++)
		bad |= tokens[i] == NULL;
	if (bad)
		return -EINVAL;
	if (d->broken)
		return -EPIPE;
	k = n < d->num_free ? n : d->num_free;
	if (k == 0)
		return 0;
	/* in locals: the stores into the rings could alias the fields of d */
	desc = d->desc;
	x = d->extra;
	ring = d->avail->ring;
	mask = d->mask;
	head = d->free_head;
	slot = d->shadow_avail;
	for (i = 0; i < k; i++, slot++) {
		fill(&desc[head], &bufs[i], 0, 0);
		x[head].token = tokens[i];
		x[head].ndesc = 1;
		x[slot & mask].order = head;
		if (ring[slot & mask] != head)	/* as fill(): unchanged stays valid there */
			ring[slot & mask] = head;
		head = x[head].next;	/* private link: the device cannot change it */
	}
	d->free_head = head;
	d->shadow_avail = slot;
	d->num_free = (uint16_t)(d->num_free - k);
	pvb_virtq_drv_publish(d);
	return (int)k;
}

bool
pvb_virtq_drv_kick_prepare(struct pvb_virtq_drv *d)
{
	uint16_t old = d->kick_old, now = d->shadow_avail;

	d->kick_old = now;
	if (old == now)
		return false;
	/*
	 * Store avail->idx, then load the device's word: pairs with the fence in
	 * pvb_virtq_dev_set_notification() (store its word, then load avail->idx).
	 */
	pvb_fence_full();
	if (!d->event_idx)
		/* relaxed: ordered by the fence; a hint (VIRTIO 1.2 §2.7.10) */
		return !(pvb_load_relaxed16(&d->used->flags) & PVB_VIRTQ_USED_F_NO_NOTIFY);
	/* relaxed: ordered by the fence */
	return pvb_vring_need_event(pvb_load_relaxed16(pvb_virtq_avail_event(d->used, d->size)),
				    now, old);
}

/*
 * Give a chain's descriptors back at the tail of the free list, by the
 * private links. First in, first out, as DPDK's virtio PMD keeps its free
 * descriptors (vq_desc_tail_idx): a queue completed in order then posts
 * descriptor i after descriptor i - 1, so its descriptors and available
 * slots come round holding the same values (see fill()).
 */
struct free_list {
	uint16_t head, tail, num;
};

static inline void
free_chain(struct pvb_virtq_drv_extra *x, struct free_list *f, uint16_t head)
{
	uint16_t i = head, n = x[head].ndesc, k;

	for (k = 1; k < n; k++)
		i = x[i].next;
	/* the tail's own link is never followed: the count ends the list */
	if (f->num == 0)
		f->head = head;
	else
		x[f->tail].next = head;
	f->tail = i;
	f->num = (uint16_t)(f->num + n);
	x[head].token = NULL;	/* not posted: a used id naming it is refused */
}

static int
drv_break(struct pvb_virtq_drv *d, enum pvb_virtq_fault why)
{
	d->broken = true;
	d->fault = why;
	return -EPIPE;
}

void
pvb_virtq_drv_set_broken(struct pvb_virtq_drv *d, enum pvb_virtq_fault why)
{
	drv_break(d, why);
}

/*
 * IN_ORDER: chain i of the burst is the one posted at avail slot last + i
 * (extra[].order, private); only the lengths are read from the ring. The
 * element that ends what the device published must name its chain's head.
 */
static uint32_t
reclaim_in_order(struct pvb_virtq_drv *d, struct free_list *f, void **tokens, uint32_t *lens,
		 uint32_t n, uint16_t last)
{
	const struct pvb_virtq_used_elem *ring = d->used->ring;
	struct pvb_virtq_drv_extra *x = d->extra;
	uint16_t mask = d->mask, head;
	uint32_t i;

	for (i = 0; i < n; i++, last++) {
		head = x[last & mask].order;
		tokens[i] = x[head].token;
		/*
		 * relaxed in effect: ordered by the acquire of used->idx. Without
		 * @p lens (a transmit queue) the elements are not read at all: their
		 * lines stay in the device's cache.
		 */
		if (lens != NULL)
			lens[i] = ring[last & mask].len;
		free_chain(x, f, head);
	}
	return n;
}

int
pvb_virtq_drv_get_used_burst(struct pvb_virtq_drv *d, void **tokens, uint32_t *lens, uint32_t n)
{
	const struct pvb_virtq_used_elem *ring;
	struct pvb_virtq_drv_extra *x;
	struct pvb_virtq_used_elem e;
	uint16_t used_idx, last, ready;
	struct free_list f;
	uint32_t i;

	if (d == NULL || (tokens == NULL && n != 0))
		return -EINVAL;
	if (d->broken)
		return -EPIPE;
	/*
	 * Pairs with the store-release of used->idx in pvb_virtq_dev_write_used_idx()
	 * (and so _push_used(), _push_used_burst()).
	 */
	used_idx = pvb_load_acquire16(&d->used->idx);
	last = d->last_used;
	ready = (uint16_t)(used_idx - last);
	if (ready == 0)
		return 0;
	/* more than we posted (also catches used->idx moved back): a broken device */
	if (ready > pvb_virtq_drv_posted(d))
		return drv_break(d, PVB_VIRTQ_FAULT_USED_IDX);
	if (n > ready)
		n = ready;
	/* in locals: the stores into tokens[] and extra[] could alias the fields of d */
	ring = d->used->ring;
	x = d->extra;
	f = (struct free_list){ d->free_head, d->free_tail, d->num_free };
	if (d->in_order) {
		e.id = ring[(uint16_t)(used_idx - 1) & d->mask].id;
		if (n == ready && e.id != x[(uint16_t)(used_idx - 1) & d->mask].order)
			return drv_break(d, PVB_VIRTQ_FAULT_USED_ID);
		i = reclaim_in_order(d, &f, tokens, lens, n, last);
		last = (uint16_t)(last + n);
	} else {
		for (i = 0; i < n; i++, last++) {
			memcpy(&e, &ring[last & d->mask], sizeof(e));
			/* an id that is not a head we posted: a broken device */
			if (unlikely(e.id >= d->size || x[e.id].token == NULL)) {
				drv_break(d, PVB_VIRTQ_FAULT_USED_ID);
				break;
			}
			tokens[i] = x[e.id].token;
			if (lens != NULL)
				lens[i] = e.len;
			free_chain(x, &f, (uint16_t)e.id);
		}
	}
	d->free_head = f.head;
	d->free_tail = f.tail;
	d->num_free = f.num;
	d->last_used = last;
	/* what came before a bad id is returned now, -EPIPE on the next call */
	return i != 0 || !d->broken ? (int)i : -EPIPE;
}

uint32_t
pvb_virtq_drv_drain(struct pvb_virtq_drv *d, void **tokens, uint32_t n)
{
	struct free_list f = { d->free_head, d->free_tail, d->num_free };
	uint32_t k = 0;
	uint16_t i;

	/* a posted head is the only entry with a token (free_chain() clears it) */
	for (i = 0; i < d->size && k < n; i++) {
		if (d->extra[i].token == NULL)
			continue;
		tokens[k++] = d->extra[i].token;
		free_chain(d->extra, &f, i);
	}
	d->free_head = f.head;
	d->free_tail = f.tail;
	d->num_free = f.num;
	/* nothing is posted now: a used element after this is one we never posted */
	d->last_used = d->shadow_avail;
	return k;
}

int
pvb_virtq_drv_get_used(struct pvb_virtq_drv *d, void **token, uint32_t *len)
{
	if (d == NULL || token == NULL || len == NULL)
		return -EINVAL;
	return pvb_virtq_drv_get_used_burst(d, token, len, 1);
}

void
pvb_virtq_drv_disable_cb(struct pvb_virtq_drv *d)
{
	/*
	 * relaxed: a hint. With event index, leaving used_event behind is the
	 * suppression; without it, the flag.
	 */
	if (!d->event_idx)
		pvb_store_relaxed16(&d->avail->flags, PVB_VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool
pvb_virtq_drv_enable_cb(struct pvb_virtq_drv *d)
{
	/* relaxed: the fence below orders it before the re-check */
	if (d->event_idx)
		pvb_store_relaxed16(pvb_virtq_used_event(d->avail, d->size), d->last_used);
	else
		pvb_store_relaxed16(&d->avail->flags, 0);
	/*
	 * Store the request, then load used->idx: pairs with the fence in
	 * pvb_virtq_dev_should_notify() (store used->idx, then load our word).
	 */
	pvb_fence_full();
	/* pairs with the store-release of used->idx in pvb_virtq_dev_write_used_idx() */
	return pvb_load_acquire16(&d->used->idx) != d->last_used;
}
