/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The incoming end of a VMBus ring: packets peeked and checked in place,
 * consumed behind a private read index, freed by one store-release in
 * pvb_vmbus_in_commit(), which says whether the writer must be signalled.
 */

#include <errno.h>
#include <string.h>

#include "pvb_vmbus.h"
#include "vmbus_pvt.h"

/* Copy @p len (<= dsize) bytes out of the data area at @p off (< dsize), across the end. */
static void
ring_read(const struct pvb_vmbus_mem *m, uint32_t off, void *dst, uint32_t len)
{
	uint32_t first = m->dsize - off;

	if (m->doubled || len <= first) {
		memcpy(dst, m->data + off, len);
		return;
	}
	memcpy(dst, m->data + off, first);
	memcpy((uint8_t *)dst + first, m->data, len - first);
}

int
pvb_vmbus_in_attach(struct pvb_vmbus_in *in, const struct pvb_vmbus_mem *m)
{
	uint32_t r, w;

	if (in == NULL)
		return -EINVAL;
	memset(in, 0, sizeof(*in));
	in->fault = PVB_VMBUS_FAULT_DETACHED;
	if (m == NULL || m->ctl == NULL || m->dsize == 0)
		return -EINVAL;
	in->m = *m;
	/* relaxed: our own index, read once before we read */
	r = pvb_load_relaxed(&m->ctl->read_index);
	/* pairs with the store-release of write_index in pvb_vmbus_out_commit() */
	w = pvb_load_acquire(&m->ctl->write_index);
	if (!vmbus_index_ok(r, m->dsize) || !vmbus_index_ok(w, m->dsize))
		return -EPROTO;
	in->r = r;
	in->w_cache = w;
	in->committed = r;
	in->fault = PVB_VMBUS_OK;
	return 0;
}

static int
in_fault(struct pvb_vmbus_in *in, enum pvb_vmbus_fault f)
{
	if (in->fault == PVB_VMBUS_OK)
		in->fault = f;
	return -EPIPE;
}

/* Bytes ready from our read offset, loading write_index when fewer than @p want are known. */
static int64_t
in_ready(struct pvb_vmbus_in *in, uint32_t want)
{
	uint32_t dsize = in->m.dsize, ready = pvb_vmbus_to_read(in->r, in->w_cache, dsize);
	uint32_t w;

	if (ready >= want)
		return ready;
	/* pairs with the store-release of write_index in pvb_vmbus_out_commit() */
	w = pvb_load_acquire(&in->m.ctl->write_index);
	/*
	 * Measured from read_index as published, which is what the writer sees:
	 * it only moves forward from what we saw, and never comes back round to it.
	 */
	if (!vmbus_index_ok(w, dsize) ||
	    pvb_vmbus_to_read(in->committed, w, dsize) <
	    pvb_vmbus_to_read(in->committed, in->w_cache, dsize))
		return in_fault(in, PVB_VMBUS_FAULT_WRITE_INDEX);
	in->w_cache = w;
	return pvb_vmbus_to_read(in->r, w, dsize);
}

/* Bytes at @p off into a packet starting at @p start. */
static void
pkt_read(const struct pvb_vmbus_in *in, uint32_t start, uint32_t off, void *dst, uint32_t len)
{
	ring_read(&in->m, pvb_vmbus_advance(start, off, in->m.dsize), dst, len);
}

/* The type header of a transfer-page packet: ranges must fit in offset8. */
static int
in_check_xfer(struct pvb_vmbus_in *in, struct pvb_vmbus_pkt *p)
{
	struct pvb_vmbus_xfer_hdr h;

	if (p->hdr_len < PVB_VMBUS_DESC_SIZE + sizeof(h))
		return in_fault(in, PVB_VMBUS_FAULT_XFER);
	pkt_read(in, p->start, PVB_VMBUS_DESC_SIZE, &h, sizeof(h));
	if (h.range_count == 0 ||
	    (uint64_t)h.range_count * sizeof(struct pvb_vmbus_xfer_range) >
	    p->hdr_len - PVB_VMBUS_DESC_SIZE - sizeof(h))
		return in_fault(in, PVB_VMBUS_FAULT_XFER);
	p->range_count = h.range_count;
	p->xfer_set_id = h.xfer_pageset_id;
	return 0;
}

/* The type header of a GPA-direct packet: every range and its pages inside offset8. */
static int
in_check_gpa(struct pvb_vmbus_in *in, struct pvb_vmbus_pkt *p)
{
	struct pvb_vmbus_gpa_iter it = { .next = 0, .index = 0 };
	struct pvb_vmbus_gpa_hdr h;
	struct pvb_vmbus_xfer_range r;
	int rc;

	if (p->hdr_len < PVB_VMBUS_DESC_SIZE + sizeof(h))
		return in_fault(in, PVB_VMBUS_FAULT_GPA);
	pkt_read(in, p->start, PVB_VMBUS_DESC_SIZE, &h, sizeof(h));
	/* each range takes at least 16 bytes: this bounds the walk below */
	if (h.range_count == 0 ||
	    (uint64_t)h.range_count * 16 > p->hdr_len - PVB_VMBUS_DESC_SIZE - sizeof(h))
		return in_fault(in, PVB_VMBUS_FAULT_GPA);
	p->range_count = h.range_count;
	while ((rc = pvb_vmbus_in_gpa_next(in, p, &it, &r, NULL, 0)) > 0)
		;
	return rc;
}

int
pvb_vmbus_in_peek(struct pvb_vmbus_in *in, struct pvb_vmbus_pkt *p)
{
	struct pvb_vmbus_desc d;
	int64_t ready;

	if (in == NULL || p == NULL)
		return -EINVAL;
	if (in->fault != PVB_VMBUS_OK)
		return -EPIPE;
	ready = in_ready(in, PVB_VMBUS_DESC_SIZE);
	if (ready < 0)
		return (int)ready;
	if (ready == 0)
		return -EAGAIN;
	/* a packet is at least a descriptor and a trailer */
	if (ready < PVB_VMBUS_DESC_SIZE + PVB_VMBUS_TRAILER)
		return in_fault(in, PVB_VMBUS_FAULT_DESC);
	ring_read(&in->m, in->r, &d, sizeof(d));
	if ((d.flags & ~PVB_VMBUS_FLAG_COMPLETION_REQUESTED) != 0 || d.offset8 < 2 ||
	    d.offset8 > d.len8 || pvb_vmbus_ring_bytes(d.len8) > (uint64_t)ready)
		return in_fault(in, PVB_VMBUS_FAULT_DESC);
	if (!vmbus_type_known(d.type))
		return in_fault(in, PVB_VMBUS_FAULT_TYPE);
	memset(p, 0, sizeof(*p));
	p->type = d.type;
	p->flags = d.flags;
	p->trans_id = d.trans_id;
	p->start = in->r;
	p->len = d.len8 * 8u;
	p->hdr_len = d.offset8 * 8u;
	if (d.type == PVB_VMBUS_PKT_DATA_XFER_PAGES)
		return in_check_xfer(in, p);
	if (d.type == PVB_VMBUS_PKT_DATA_GPA_DIRECT)
		return in_check_gpa(in, p);
	return 0;
}

int
pvb_vmbus_in_read(const struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p, uint32_t off,
		  void *dst, uint32_t len)
{
	if (in == NULL || p == NULL || (dst == NULL && len != 0) || off > p->len ||
	    len > p->len - off)
		return -EINVAL;
	if (len != 0)
		pkt_read(in, p->start, off, dst, len);
	return 0;
}

int
pvb_vmbus_in_payload(const struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p, void *dst,
		     uint32_t cap)
{
	uint32_t n;
	int rc;

	if (p == NULL)
		return -EINVAL;
	n = p->len - p->hdr_len;
	rc = pvb_vmbus_in_read(in, p, p->hdr_len, dst, n < cap ? n : cap);
	return rc != 0 ? rc : (int)n;
}

const void *
pvb_vmbus_in_ptr(const struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p, uint32_t off,
		 uint32_t len)
{
	uint32_t at;

	if (in == NULL || p == NULL || off > p->len || len > p->len - off)
		return NULL;
	at = pvb_vmbus_advance(p->start, off, in->m.dsize);
	if (!in->m.doubled && len > in->m.dsize - at)
		return NULL;
	return in->m.data + at;
}

int
pvb_vmbus_in_xfer_range(const struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p,
			uint32_t i, struct pvb_vmbus_xfer_range *r)
{
	uint32_t off = PVB_VMBUS_DESC_SIZE + (uint32_t)sizeof(struct pvb_vmbus_xfer_hdr);

	if (in == NULL || p == NULL || r == NULL || p->type != PVB_VMBUS_PKT_DATA_XFER_PAGES ||
	    i >= p->range_count)
		return -EINVAL;
	/* range_count was checked against hdr_len at peek: i * 8 stays inside */
	pkt_read(in, p->start, off + i * (uint32_t)sizeof(*r), r, sizeof(*r));
	return 0;
}

int
pvb_vmbus_in_gpa_next(struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p,
		      struct pvb_vmbus_gpa_iter *it, struct pvb_vmbus_xfer_range *r,
		      uint64_t *pfn, uint32_t max_pfn)
{
	const uint32_t first = PVB_VMBUS_DESC_SIZE + (uint32_t)sizeof(struct pvb_vmbus_gpa_hdr);
	struct pvb_vmbus_gpa_range h;
	uint32_t pages, at;

	if (in == NULL || p == NULL || it == NULL || r == NULL ||
	    p->type != PVB_VMBUS_PKT_DATA_GPA_DIRECT)
		return -EINVAL;
	if (in->fault != PVB_VMBUS_OK)
		return -EPIPE;
	if (it->index >= p->range_count)
		return 0;
	at = it->next != 0 ? it->next : first;
	/* re-checked on every call: the writer may have rewritten the ring since peek */
	if (at > p->hdr_len || p->hdr_len - at < sizeof(h))
		return in_fault(in, PVB_VMBUS_FAULT_GPA);
	pkt_read(in, p->start, at, &h, sizeof(h));
	pages = pvb_vmbus_gpa_pages(h.byte_offset, h.byte_count);
	if (h.byte_offset >= PVB_VMBUS_PAGE || pages == 0 ||
	    (uint64_t)pages * 8 > p->hdr_len - at - sizeof(h))
		return in_fault(in, PVB_VMBUS_FAULT_GPA);
	r->byte_count = h.byte_count;
	r->byte_offset = h.byte_offset;
	if (pfn != NULL && max_pfn != 0)
		pkt_read(in, p->start, at + (uint32_t)sizeof(h), pfn,
			 (pages < max_pfn ? pages : max_pfn) * 8u);
	it->next = at + (uint32_t)sizeof(h) + pages * 8u;
	it->index++;
	return (int)pages;
}

void
pvb_vmbus_in_consume(struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p)
{
	/* p->start is our own offset and p->len was checked against what was ready */
	if (in->fault != PVB_VMBUS_OK || p->start != in->r)
		return;
	in->r = pvb_vmbus_advance(in->r, p->len + PVB_VMBUS_TRAILER, in->m.dsize);
	in->st.packets++;
	in->st.bytes += p->len + PVB_VMBUS_TRAILER;
}

bool
pvb_vmbus_in_commit(struct pvb_vmbus_in *in)
{
	uint32_t dsize = in->m.dsize, old = in->committed, pending, w, free_now, read;

	if (in->fault != PVB_VMBUS_OK || in->r == old)
		return false;
	/*
	 * Pairs with the load-acquire of read_index in the writer's out_room():
	 * our reads of the freed bytes complete before it may overwrite them.
	 */
	pvb_store_release(&in->m.ctl->read_index, in->r);
	in->committed = in->r;
	in->st.commits++;
	/* relaxed: the writer's own advertisement; only decides whether to look further */
	if (!(pvb_load_relaxed(&in->m.ctl->feature_bits) & PVB_VMBUS_FEAT_PENDING_SEND_SZ))
		return false;
	/*
	 * Store read_index, then load pending_send_sz: pairs with the fence in
	 * pvb_vmbus_out_wait_prepare() (store pending, then load read_index).
	 */
	pvb_fence_full();
	/* relaxed: ordered by the fence above; low bits some writers set are not bytes */
	pending = pvb_load_relaxed(&in->m.ctl->pending_send_sz) & ~7u;
	if (pending == 0)
		return false;
	/* pairs with the store-release of write_index in pvb_vmbus_out_commit() */
	w = pvb_load_acquire(&in->m.ctl->write_index);
	if (!vmbus_index_ok(w, dsize))
		return false;	/* a hint only: the next peek judges the index */
	free_now = pvb_vmbus_to_write(in->r, w, dsize);
	read = pvb_vmbus_to_read(old, in->r, dsize);
	/* signal only on the crossing: too little before this commit, enough now */
	if (free_now - read <= pending && free_now > pending) {
		in->st.signals++;
		return true;
	}
	return false;
}

void
pvb_vmbus_in_set_mask(struct pvb_vmbus_in *in, bool masked)
{
	if (in->fault != PVB_VMBUS_OK)
		return;	/* a broken or detached end touches no shared memory */
	/* relaxed: a hint to the writer; unmasking re-checks with a fence */
	pvb_store_relaxed(&in->m.ctl->interrupt_mask, masked ? 1 : 0);
}

bool
pvb_vmbus_in_unmask_and_check(struct pvb_vmbus_in *in)
{
	int64_t ready;

	if (in->fault != PVB_VMBUS_OK)
		return false;
	/* relaxed: the fence below orders it before the re-check */
	pvb_store_relaxed(&in->m.ctl->interrupt_mask, 0);
	/*
	 * Store interrupt_mask, then load write_index: pairs with the fence in
	 * pvb_vmbus_out_commit() (store write_index, then load interrupt_mask).
	 */
	pvb_fence_full();
	ready = in_ready(in, UINT32_MAX);
	return ready > 0;
}
