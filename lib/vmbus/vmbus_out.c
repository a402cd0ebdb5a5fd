/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The outgoing end of a VMBus ring: packets written behind a private write
 * index, published by one store-release in pvb_vmbus_out_commit(), which
 * says whether the reader must be signalled.
 */

#include <errno.h>
#include <string.h>

#include "pvb_vmbus.h"
#include "vmbus_pvt.h"

/* Copy @p len (<= dsize) bytes into the data area at @p off (< dsize), across the end. */
static void
ring_write(const struct pvb_vmbus_mem *m, uint32_t off, const void *src, uint32_t len)
{
	uint32_t first = m->dsize - off;

	if (len <= first) {
		memcpy(m->data + off, src, len);
		return;
	}
	if (m->doubled) {
		/* the second mapping is the same memory: one linear copy wraps */
		memcpy(m->data + off, src, len);
		return;
	}
	memcpy(m->data + off, src, first);
	memcpy(m->data, (const uint8_t *)src + first, len - first);
}

/* Zero @p len bytes of the data area from @p off, across the end. */
static void
ring_zero(const struct pvb_vmbus_mem *m, uint32_t off, uint32_t len)
{
	static const uint8_t zeros[256];
	uint32_t n;

	/* padding, or what a pieced-together packet left unwritten */
	while (len != 0) {
		n = len < sizeof(zeros) ? len : (uint32_t)sizeof(zeros);
		ring_write(m, off, zeros, n);
		off = pvb_vmbus_advance(off, n, m->dsize);
		len -= n;
	}
}

int
pvb_vmbus_out_attach(struct pvb_vmbus_out *o, const struct pvb_vmbus_mem *m, uint32_t features)
{
	uint32_t w, r;

	if (o == NULL)
		return -EINVAL;
	memset(o, 0, sizeof(*o));
	o->fault = PVB_VMBUS_FAULT_DETACHED;
	if (m == NULL || m->ctl == NULL || m->dsize == 0)
		return -EINVAL;
	o->m = *m;
	/* relaxed: our own index, read once before we write */
	w = pvb_load_relaxed(&m->ctl->write_index);
	/* pairs with the store-release of read_index in pvb_vmbus_in_commit() */
	r = pvb_load_acquire(&m->ctl->read_index);
	if (!vmbus_index_ok(w, m->dsize) || !vmbus_index_ok(r, m->dsize))
		return -EPROTO;
	o->w = w;
	o->r_cache = r;
	o->committed = w;
	o->features = features & PVB_VMBUS_FEAT_PENDING_SEND_SZ;
	/* relaxed: the reader looks at it only after data it acquires through write_index */
	pvb_store_relaxed(&m->ctl->feature_bits, o->features);
	o->fault = PVB_VMBUS_OK;
	return 0;
}

static int
out_fault(struct pvb_vmbus_out *o, enum pvb_vmbus_fault f)
{
	if (o->fault == PVB_VMBUS_OK)
		o->fault = f;
	return -EPIPE;
}

/*
 * Room for @p total ring bytes: strictly more than that must be free, so the
 * write index never catches up with the read index (full would look empty).
 */
static int
out_room(struct pvb_vmbus_out *o, uint32_t total, bool count_full)
{
	uint32_t dsize = o->m.dsize, r;

	if (pvb_vmbus_to_write(o->r_cache, o->w, dsize) > total)
		return 0;
	/* pairs with the store-release of read_index in pvb_vmbus_in_commit() */
	r = pvb_load_acquire(&o->m.ctl->read_index);
	/* the reader moves forward from where we saw it, never past what we published */
	if (!vmbus_index_ok(r, dsize) ||
	    pvb_vmbus_to_read(o->r_cache, r, dsize) >
	    pvb_vmbus_to_read(o->r_cache, o->committed, dsize))
		return out_fault(o, PVB_VMBUS_FAULT_READ_INDEX);
	o->r_cache = r;
	if (pvb_vmbus_to_write(r, o->w, dsize) > total)
		return 0;
	if (count_full)
		o->st.full++;
	return -EAGAIN;
}

uint32_t
pvb_vmbus_pkt_ring_bytes(uint32_t hdr_len, uint32_t payload_len)
{
	return pvb_vmbus_align8(hdr_len + payload_len) + PVB_VMBUS_TRAILER;
}

/* Check sizes and room, then write the descriptor; the pieces follow. */
static int
out_begin(struct pvb_vmbus_out *o, struct pvb_vmbus_wpkt *k, uint16_t type, uint16_t flags,
	  uint64_t trans_id, uint32_t hdr_len, uint32_t payload_len)
{
	uint64_t bytes = (uint64_t)pvb_vmbus_align8(hdr_len) + payload_len;
	struct pvb_vmbus_desc d;
	int rc;

	if (o->fault != PVB_VMBUS_OK)
		return -EPIPE;
	if ((flags & ~PVB_VMBUS_FLAG_COMPLETION_REQUESTED) != 0 || hdr_len / 8 > UINT16_MAX ||
	    bytes > (uint64_t)PVB_VMBUS_MAX_LEN8 * 8 ||
	    pvb_vmbus_align8((uint32_t)bytes) + PVB_VMBUS_TRAILER >= o->m.dsize)
		return -EINVAL;
	rc = out_room(o, pvb_vmbus_align8((uint32_t)bytes) + PVB_VMBUS_TRAILER, true);
	if (rc != 0)
		return rc;
	d.type = type;
	d.offset8 = (uint16_t)(pvb_vmbus_align8(hdr_len) / 8);
	d.len8 = (uint16_t)(pvb_vmbus_align8((uint32_t)bytes) / 8);
	d.flags = flags;
	d.trans_id = trans_id;
	k->start = o->w;
	k->len8 = d.len8;
	k->left = (uint32_t)bytes - PVB_VMBUS_DESC_SIZE;
	ring_write(&o->m, o->w, &d, sizeof(d));
	k->pos = pvb_vmbus_advance(o->w, sizeof(d), o->m.dsize);
	return 0;
}

static void
out_put(struct pvb_vmbus_out *o, struct pvb_vmbus_wpkt *k, const void *src, uint32_t len)
{
	if (len == 0)
		return;
	ring_write(&o->m, k->pos, src, len);
	k->pos = pvb_vmbus_advance(k->pos, len, o->m.dsize);
	k->left -= len;
}

/* Zero padding up to len8 * 8, the trailer, and the private write index. */
static void
out_end(struct pvb_vmbus_out *o, struct pvb_vmbus_wpkt *k)
{
	uint32_t end = pvb_vmbus_advance(k->start, k->len8 * 8u, o->m.dsize);
	uint64_t trailer = pvb_vmbus_trailer(k->start);
	uint32_t pad = (end + o->m.dsize - k->pos) % o->m.dsize;

	if (pad != 0)
		ring_zero(&o->m, k->pos, pad);
	ring_write(&o->m, end, &trailer, sizeof(trailer));
	o->w = pvb_vmbus_advance(end, PVB_VMBUS_TRAILER, o->m.dsize);
	o->st.packets++;
	o->st.bytes += pvb_vmbus_ring_bytes(k->len8);
}

int
pvb_vmbus_out_reserve(struct pvb_vmbus_out *o, uint16_t type, uint16_t flags, uint64_t trans_id,
		      uint32_t hdr_len, uint32_t payload_len, struct pvb_vmbus_wpkt *k)
{
	/* only what a reader here accepts; the type header is the caller's to put */
	if (o == NULL || k == NULL || !vmbus_type_known(type) || hdr_len < PVB_VMBUS_DESC_SIZE ||
	    (hdr_len & 7) != 0)
		return -EINVAL;
	return out_begin(o, k, type, flags, trans_id, hdr_len, payload_len);
}

int
pvb_vmbus_out_put(struct pvb_vmbus_out *o, struct pvb_vmbus_wpkt *k, const void *src,
		  uint32_t len)
{
	if (o == NULL || k == NULL || (src == NULL && len != 0) || len > k->left)
		return -EINVAL;
	if (o->fault != PVB_VMBUS_OK)
		return -EPIPE;
	out_put(o, k, src, len);
	return 0;
}

int
pvb_vmbus_out_finish(struct pvb_vmbus_out *o, struct pvb_vmbus_wpkt *k)
{
	if (o == NULL || k == NULL)
		return -EINVAL;
	if (o->fault != PVB_VMBUS_OK)
		return -EPIPE;
	/* bytes reserved and not put read as zeros, like the padding */
	out_end(o, k);
	return 0;
}

int
pvb_vmbus_out_inband(struct pvb_vmbus_out *o, uint64_t trans_id, uint16_t flags,
		     const void *payload, uint32_t len)
{
	struct pvb_vmbus_wpkt k;
	int rc;

	if (o == NULL || (payload == NULL && len != 0))
		return -EINVAL;
	rc = out_begin(o, &k, PVB_VMBUS_PKT_DATA_INBAND, flags, trans_id, PVB_VMBUS_DESC_SIZE,
		       len);
	if (rc != 0)
		return rc;
	out_put(o, &k, payload, len);
	out_end(o, &k);
	return 0;
}

int
pvb_vmbus_out_comp(struct pvb_vmbus_out *o, uint64_t trans_id, const void *payload,
		   uint32_t len)
{
	struct pvb_vmbus_wpkt k;
	int rc;

	if (o == NULL || (payload == NULL && len != 0))
		return -EINVAL;
	rc = out_begin(o, &k, PVB_VMBUS_PKT_COMP, 0, trans_id, PVB_VMBUS_DESC_SIZE, len);
	if (rc != 0)
		return rc;
	out_put(o, &k, payload, len);
	out_end(o, &k);
	return 0;
}

int
pvb_vmbus_out_xfer(struct pvb_vmbus_out *o, uint64_t trans_id, uint16_t flags,
		   uint16_t set_id, const struct pvb_vmbus_xfer_range *ranges, uint32_t n,
		   const void *payload, uint32_t len)
{
	struct pvb_vmbus_xfer_hdr h = { .xfer_pageset_id = set_id, .range_count = n };
	uint64_t hdr_len = PVB_VMBUS_DESC_SIZE + sizeof(h) + (uint64_t)n * sizeof(*ranges);
	struct pvb_vmbus_wpkt k;
	int rc;

	if (o == NULL || ranges == NULL || n == 0 || (payload == NULL && len != 0) ||
	    hdr_len > (uint64_t)PVB_VMBUS_MAX_LEN8 * 8)
		return -EINVAL;
	rc = out_begin(o, &k, PVB_VMBUS_PKT_DATA_XFER_PAGES, flags, trans_id, (uint32_t)hdr_len,
		       len);
	if (rc != 0)
		return rc;
	out_put(o, &k, &h, sizeof(h));
	out_put(o, &k, ranges, n * (uint32_t)sizeof(*ranges));
	out_put(o, &k, payload, len);
	out_end(o, &k);
	return 0;
}

/* Header bytes of @p n GPA ranges, or 0 if one is malformed or they do not fit. */
static uint64_t
gpa_ranges_len(const struct pvb_vmbus_gpa *r, uint32_t n)
{
	uint64_t len = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (r[i].byte_offset >= PVB_VMBUS_PAGE || r[i].pfn == NULL ||
		    pvb_vmbus_gpa_pages(r[i].byte_offset, r[i].byte_count) == 0)
			return 0;
		len += sizeof(struct pvb_vmbus_gpa_range) +
		       (uint64_t)pvb_vmbus_gpa_pages(r[i].byte_offset, r[i].byte_count) * 8;
		if (len > (uint64_t)PVB_VMBUS_MAX_LEN8 * 8)
			return 0;
	}
	return len;
}

int
pvb_vmbus_out_gpa(struct pvb_vmbus_out *o, uint64_t trans_id, uint16_t flags,
		  const struct pvb_vmbus_gpa *ranges, uint32_t n, const void *payload,
		  uint32_t len)
{
	struct pvb_vmbus_gpa_hdr h = { .reserved = 0, .range_count = n };
	uint64_t rlen = ranges != NULL && n != 0 ? gpa_ranges_len(ranges, n) : 0;
	struct pvb_vmbus_gpa_range rh;
	struct pvb_vmbus_wpkt k;
	uint32_t i;
	int rc;

	if (o == NULL || rlen == 0 || (payload == NULL && len != 0))
		return -EINVAL;
	rc = out_begin(o, &k, PVB_VMBUS_PKT_DATA_GPA_DIRECT, flags, trans_id,
		       (uint32_t)(PVB_VMBUS_DESC_SIZE + sizeof(h) + rlen), len);
	if (rc != 0)
		return rc;
	out_put(o, &k, &h, sizeof(h));
	for (i = 0; i < n; i++) {
		rh.byte_count = ranges[i].byte_count;
		rh.byte_offset = ranges[i].byte_offset;
		out_put(o, &k, &rh, sizeof(rh));
		out_put(o, &k, ranges[i].pfn,
			pvb_vmbus_gpa_pages(rh.byte_offset, rh.byte_count) * 8u);
	}
	out_put(o, &k, payload, len);
	out_end(o, &k);
	return 0;
}

bool
pvb_vmbus_out_commit(struct pvb_vmbus_out *o)
{
	uint32_t old = o->committed, r;

	if (o->fault != PVB_VMBUS_OK || o->w == old)
		return false;
	/*
	 * Pairs with the load-acquire of write_index in pvb_vmbus_in_peek(): the
	 * packets written above are visible before the index that covers them.
	 */
	pvb_store_release(&o->m.ctl->write_index, o->w);
	o->committed = o->w;
	o->st.commits++;
	/*
	 * Store write_index, then load interrupt_mask: pairs with the fence in
	 * pvb_vmbus_in_unmask_and_check() (store mask, then load write_index).
	 */
	pvb_fence_full();
	/* relaxed: ordered by the fence; a stale 1 is the reader's to re-check */
	if (pvb_load_relaxed(&o->m.ctl->interrupt_mask) != 0)
		return false;
	/* pairs with the store-release of read_index in pvb_vmbus_in_commit() */
	r = pvb_load_acquire(&o->m.ctl->read_index);
	/* the reader had everything we published before: empty -> non-empty */
	if (r != old)
		return false;
	o->st.signals++;
	return true;
}

uint32_t
pvb_vmbus_out_uncommitted(const struct pvb_vmbus_out *o)
{
	return pvb_vmbus_to_read(o->committed, o->w, o->m.dsize);
}

int
pvb_vmbus_out_wait_prepare(struct pvb_vmbus_out *o, uint32_t bytes)
{
	if (o->fault != PVB_VMBUS_OK)
		return -EPIPE;
	if (!(o->features & PVB_VMBUS_FEAT_PENDING_SEND_SZ))
		return -ENOTSUP;
	/* free space is at most dsize - 8: more could never come */
	if (bytes == 0 || bytes >= o->m.dsize)
		return -EINVAL;
	/* relaxed: the fence below orders it before the re-check */
	pvb_store_relaxed(&o->m.ctl->pending_send_sz, pvb_vmbus_align8(bytes));
	/*
	 * Store pending, then load read_index: pairs with the fence in
	 * pvb_vmbus_in_commit() (store read_index, then load pending).
	 */
	pvb_fence_full();
	if (out_room(o, pvb_vmbus_align8(bytes), false) == 0) {
		pvb_vmbus_out_wait_end(o);
		return 1;
	}
	return o->fault != PVB_VMBUS_OK ? -EPIPE : 0;
}

void
pvb_vmbus_out_wait_end(struct pvb_vmbus_out *o)
{
	if (o->fault != PVB_VMBUS_OK)
		return;	/* a broken or detached end touches no shared memory */
	/* relaxed: a stale value only costs the reader one needless signal */
	pvb_store_relaxed(&o->m.ctl->pending_send_sz, 0);
}
