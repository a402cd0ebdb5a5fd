/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "pvb_vmbus.h"

/* Packet types this ring layer carries (the ones netvsc uses). */
static bool
type_known(uint16_t t)
{
	return t == PVB_VMBUS_PKT_DATA_INBAND || t == PVB_VMBUS_PKT_DATA_XFER_PAGES ||
	       t == PVB_VMBUS_PKT_DATA_GPA_DIRECT || t == PVB_VMBUS_PKT_COMP;
}

const char *
pvb_vmbus_fault_str(enum pvb_vmbus_fault f)
{
	switch (f) {
	case PVB_VMBUS_OK:
		return "ok";
	case PVB_VMBUS_FAULT_WRITE_INDEX:
		return "write_index unaligned, outside the data area, or moved back";
	case PVB_VMBUS_FAULT_READ_INDEX:
		return "read_index unaligned, outside the data area, or past what was written";
	case PVB_VMBUS_FAULT_DESC:
		return "packet descriptor: unknown flags, offset8 < 2 or > len8, or len8 past the data";
	case PVB_VMBUS_FAULT_TYPE:
		return "packet type not carried here (only 0x6, 0x7, 0x9, 0xb)";
	case PVB_VMBUS_FAULT_XFER:
		return "transfer-page ranges do not fit the packet header";
	case PVB_VMBUS_FAULT_GPA:
		return "GPA-direct ranges missing, or not fitting the packet header";
	case PVB_VMBUS_FAULT_DETACHED:
		return "end is not attached (attach failed)";
	}
	return "unknown fault";
}

/* ---- ring memory ---------------------------------------------------------- */

static int
mem_check_len(size_t len)
{
	if (len < 2 * PVB_VMBUS_PAGE || len % PVB_VMBUS_PAGE != 0 ||
	    len - PVB_VMBUS_CTL_SIZE > UINT32_MAX / 2)
		return -EINVAL;
	return 0;
}

int
pvb_vmbus_mem_flat(struct pvb_vmbus_mem *m, void *ring, size_t len)
{
	if (m == NULL || ring == NULL || ((uintptr_t)ring & 7) != 0 || mem_check_len(len) != 0)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->ctl = ring;
	m->data = (uint8_t *)ring + PVB_VMBUS_CTL_SIZE;
	m->dsize = (uint32_t)(len - PVB_VMBUS_CTL_SIZE);
	return 0;
}

/*
 *   map:  [ ctl | data (dsize) | data again (dsize) ]
 *          fd @off             fd @off+4096 mapped a second time
 */
int
pvb_vmbus_mem_map_double(struct pvb_vmbus_mem *m, int fd, off_t off, size_t len)
{
	size_t dsize = len - PVB_VMBUS_CTL_SIZE, total = len + dsize;
	uint8_t *base, *p;

	if (m == NULL || fd < 0 || off % PVB_VMBUS_PAGE != 0 || mem_check_len(len) != 0)
		return -EINVAL;
	/* reserve the whole span first, so the two fixed maps land back to back */
	base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	p = mmap(base, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, off);
	if (p != MAP_FAILED)
		p = mmap(base + len, dsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
			 off + PVB_VMBUS_CTL_SIZE);
	if (p == MAP_FAILED) {
		int rc = -errno;

		munmap(base, total);
		return rc;
	}
	memset(m, 0, sizeof(*m));
	m->ctl = (struct pvb_vmbus_ctl *)(void *)base;
	m->data = base + PVB_VMBUS_CTL_SIZE;
	m->dsize = (uint32_t)dsize;
	m->doubled = true;
	m->map = base;
	m->map_len = total;
	return 0;
}

void
pvb_vmbus_mem_unmap(struct pvb_vmbus_mem *m)
{
	if (m != NULL && m->map != NULL)
		munmap(m->map, m->map_len);
	if (m != NULL)
		memset(m, 0, sizeof(*m));
}

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

/* An index a peer wrote: a multiple of 8 inside the data area. */
static bool
index_ok(uint32_t v, uint32_t dsize)
{
	return (v & 7) == 0 && v < dsize;
}

/* ---- outgoing ------------------------------------------------------------- */

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
	if (!index_ok(w, m->dsize) || !index_ok(r, m->dsize))
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
	if (!index_ok(r, dsize) ||
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
	if (o == NULL || k == NULL || !type_known(type) || hdr_len < PVB_VMBUS_DESC_SIZE ||
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

/* ---- incoming ------------------------------------------------------------- */

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
	if (!index_ok(r, m->dsize) || !index_ok(w, m->dsize))
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
	if (!index_ok(w, dsize) ||
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
	if (!type_known(d.type))
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
	if (!index_ok(w, dsize))
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

/* ---- inspection ----------------------------------------------------------- */

void
pvb_vmbus_inspect(const struct pvb_vmbus_mem *m, struct pvb_vmbus_info *i)
{
	struct pvb_vmbus_ctl *c = m->ctl;
	uint32_t pend;

	memset(i, 0, sizeof(*i));
	i->dsize = m->dsize;
	/* relaxed: a snapshot for humans and statistics; nothing is derived from it */
	i->write_index = pvb_load_relaxed(&c->write_index);
	i->read_index = pvb_load_relaxed(&c->read_index);
	i->interrupt_mask = pvb_load_relaxed(&c->interrupt_mask);
	i->pending_send_sz = pvb_load_relaxed(&c->pending_send_sz);
	i->feature_bits = pvb_load_relaxed(&c->feature_bits);
	i->indices_valid = index_ok(i->write_index, m->dsize) && index_ok(i->read_index, m->dsize);
	if (!i->indices_valid)
		return;
	i->bytes_to_read = pvb_vmbus_to_read(i->read_index, i->write_index, m->dsize);
	i->bytes_to_write = m->dsize - i->bytes_to_read;
	i->reader_needs_signal = i->bytes_to_read != 0 && i->interrupt_mask == 0;
	pend = i->pending_send_sz & ~7u;
	i->writer_needs_signal = (i->feature_bits & PVB_VMBUS_FEAT_PENDING_SEND_SZ) &&
				 pend != 0 && i->bytes_to_write > pend;
}
