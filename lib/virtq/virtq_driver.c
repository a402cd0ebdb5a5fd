/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The driver side of a split virtqueue (VIRTIO 1.2 §2.7.13-2.7.14). The free list and each
 * chain's links live in private memory (extra[]), never read back from the
 * shared table, so a device that scribbles on the descriptors cannot corrupt
 * the allocator; used ids are checked against the heads we posted.
 */

#include <errno.h>
#include <string.h>

#include "pvb_virtq.h"

#define FREE_END	PVB_VIRTQ_MAX_SIZE	/* free-list terminator (not an index) */

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
	for (i = 0; i < size; i++)
		extra[i] = (struct pvb_virtq_drv_extra){
			.next = (uint16_t)(i + 1 < size ? i + 1 : FREE_END) };
	d->free_head = 0;
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

static void
fill(struct pvb_virtq_desc *t, const struct pvb_virtq_buf *b, uint16_t flags, uint16_t next)
{
	t->addr = b->gpa;
	t->len = b->len;
	t->flags = (uint16_t)(flags | (b->write ? PVB_VIRTQ_DESC_F_WRITE : 0));
	t->next = next;
}

/* Put @p head in the next available slot (published later). */
static void
expose(struct pvb_virtq_drv *d, uint16_t head, uint16_t ndesc, void *token)
{
	d->extra[head].token = token;
	d->extra[head].ndesc = ndesc;
	d->avail->ring[d->shadow_avail & d->mask] = head;
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
		struct pvb_virtq_desc e;

		fill(&e, &bufs[k], k + 1 < n ? PVB_VIRTQ_DESC_F_NEXT : 0,
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
	 * Pairs with the load-acquire of avail->idx in pvb_virtq_dev_pop_avail():
	 * descriptors and ring entries are visible before the index.
	 */
	pvb_store_release16(&d->avail->idx, d->shadow_avail);
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

/* Give a chain's descriptors back to the free list, by the private links. */
static void
free_chain(struct pvb_virtq_drv *d, uint16_t head)
{
	uint16_t i = head, n = d->extra[head].ndesc, k;

	for (k = 1; k < n; k++)
		i = d->extra[i].next;
	d->extra[i].next = d->free_head;
	d->free_head = head;
	d->num_free = (uint16_t)(d->num_free + n);
	d->extra[head].token = NULL;
	d->extra[head].ndesc = 0;
}

int
pvb_virtq_drv_get_used(struct pvb_virtq_drv *d, void **token, uint32_t *len)
{
	struct pvb_virtq_used_elem e;
	uint16_t used_idx;

	if (d == NULL || token == NULL || len == NULL)
		return -EINVAL;
	if (d->broken)
		return -EPIPE;
	/* pairs with the store-release of used->idx in pvb_virtq_dev_write_used_idx() */
	used_idx = pvb_load_acquire16(&d->used->idx);
	if (used_idx == d->last_used)
		return 0;
	/* more than we posted, or an id that is not a head we posted: a broken device */
	if ((uint16_t)(used_idx - d->last_used) > d->size) {
		d->broken = true;
		return -EPIPE;
	}
	memcpy(&e, &d->used->ring[d->last_used & d->mask], sizeof(e));
	if (e.id >= d->size || d->extra[e.id].token == NULL) {
		d->broken = true;
		return -EPIPE;
	}
	*token = d->extra[e.id].token;
	*len = e.len;
	free_chain(d, (uint16_t)e.id);
	d->last_used++;
	return 1;
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
