/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * libFuzzer target: the reading end of a VMBus ring written by a hostile peer.
 *
 * An input is a ring image and a script:
 *
 *   0   write_index, read_index, interrupt_mask, pending_send_sz (ctl @0..15)
 *   16  feature_bits (ctl @64)
 *   20  L: script length
 *   21  data bytes, placed in the data area from read_index on (wrapping),
 *       so a run of packets in the input starts where the reader starts
 *   ..  the last L bytes: the script
 *
 * The ring lives in a heap block of exactly 4096 + N * 4096 bytes, N = 1 +
 * (input length % 3), so ASan sees any access outside it; bytes the input
 * does not cover are zero. The reader attaches with pvb_vmbus_mem_flat()
 * (packets split at the end of the data area); if attach fails, every call
 * must answer -EPIPE or false. Then the script runs: peek, payload, read,
 * ptr, xfer_range, gpa_next (through a fixed 4-entry pfn buffer), consume,
 * commit, mask calls, a re-attach, and a peer rewriting write_index, the
 * other control words and ring bytes between the calls. After the script the
 * reader drains what is left.
 *
 * Each call is checked against a reference that reads the ring itself:
 * results are 0/-EAGAIN/-EPIPE (counts, -EINVAL for bad arguments where the
 * API says so), a packet peek accepts is valid by the rules of
 * doc/vmbus.md ("What counts as a broken ring": indices, descriptor,
 * transfer-page and GPA-direct headers, as Linux's hyperv.h and OpenVMM's
 * vmbus_ring reader check them) and one it refuses is not, once broken an
 * end stays broken with its first reason, pointers handed out lie inside
 * the ring, lengths fit, and caller buffers are written only where the call
 * says. A violation aborts, which libFuzzer reports as a crash.
 *
 * Blind mutation rarely builds a packet the reader accepts, so the custom
 * mutator now and then plants a valid ring: packets of all four types
 * written by the library's own writer into a scratch ring of the input's
 * geometry, starting near the end of the data area so they wrap.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pvb_vmbus.h"

#define IN_HDR		21	/* input bytes before the data */
#define IN_SCRIPT_LEN	20	/* the byte that says how long the script is */
#define MAX_PAGES	3	/* data area pages: 1..MAX_PAGES */
#define MAX_RING	(PVB_VMBUS_CTL_SIZE + MAX_PAGES * PVB_VMBUS_PAGE)
#define BUF_LEN		(MAX_PAGES * PVB_VMBUS_PAGE)	/* caller buffer */
#define PFNS		4	/* the caller's fixed pfn buffer */
#define DRAIN_MAX	1024	/* packets the final drain takes, at most */
#define POISON		0xa5
#define PLANT_ONE_IN	4	/* mutations that plant a valid ring, one in this many */

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

struct fuzz {
	uint8_t *ring;		/* ring_len bytes on the heap */
	size_t ring_len;
	struct pvb_vmbus_mem m;
	struct pvb_vmbus_in in;
	bool attached;
	struct pvb_vmbus_pkt p;	/* the last packet peek accepted (may be stale) */
	bool have_pkt;
	struct pvb_vmbus_gpa_iter it;
	uint8_t *buf;		/* BUF_LEN bytes on the heap: the caller's buffer */
	uint64_t *pfn;		/* PFNS entries on the heap */
	const uint8_t *script;
	size_t script_len;
	size_t pos;
};

/* ----------------------------------------------------------------------------
 * Input layout
 */

/* The input's geometry: data area pages. */
static uint32_t
input_pages(size_t size)
{
	return 1 + (uint32_t)(size % MAX_PAGES);
}

static uint32_t
get_u32(const uint8_t *d, size_t size, size_t off)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < 4 && off + i < size; i++)
		v |= (uint32_t)d[off + i] << (8 * i);
	return v;
}

static size_t
input_script_len(size_t size, const uint8_t *data)
{
	size_t l;

	if (size <= IN_HDR)
		return 0;
	l = data[IN_SCRIPT_LEN];
	return l < size - IN_HDR ? l : size - IN_HDR;
}

/* Lay the input out in the ring: control words, then data from read_index on. */
static void
input_to_ring(struct fuzz *f, const uint8_t *data, size_t size)
{
	struct pvb_vmbus_ctl *c = (struct pvb_vmbus_ctl *)(void *)f->ring;
	uint32_t dsize = (uint32_t)(f->ring_len - PVB_VMBUS_CTL_SIZE), base, i, n;
	size_t script = input_script_len(size, data);

	memset(f->ring, 0, f->ring_len);
	/* relaxed: nothing else runs yet */
	pvb_store_relaxed(&c->write_index, get_u32(data, size, 0));
	pvb_store_relaxed(&c->read_index, get_u32(data, size, 4));
	pvb_store_relaxed(&c->interrupt_mask, get_u32(data, size, 8));
	pvb_store_relaxed(&c->pending_send_sz, get_u32(data, size, 12));
	pvb_store_relaxed(&c->feature_bits, get_u32(data, size, 16));
	if (size <= IN_HDR)
		return;
	n = (uint32_t)(size - IN_HDR - script);
	n = n < dsize ? n : dsize;
	base = get_u32(data, size, 4) % dsize;
	for (i = 0; i < n; i++)
		f->ring[PVB_VMBUS_CTL_SIZE + (base + i) % dsize] = data[IN_HDR + i];
	f->script = data + size - script;
	f->script_len = script;
}

static bool
script_byte(struct fuzz *f, uint8_t *b)
{
	if (f->pos >= f->script_len)
		return false;
	*b = f->script[f->pos++];
	return true;
}

static uint32_t
script_uint(struct fuzz *f, unsigned int bytes)
{
	uint32_t v = 0;
	unsigned int i;
	uint8_t b;

	for (i = 0; i < bytes && script_byte(f, &b); i++)
		v |= (uint32_t)b << (8 * i);
	return v;
}

/* ----------------------------------------------------------------------------
 * The reference: what a correct reader finds in the ring right now
 */

static struct pvb_vmbus_ctl *
ctl(const struct fuzz *f)
{
	return f->m.ctl;
}

/* relaxed: one thread plays the reader and the peer */
static uint32_t
shared(const pvb_shared_u32 *v)
{
	return pvb_load_relaxed(v);
}

static bool
ref_index_ok(uint32_t v, uint32_t dsize)
{
	return v % 8 == 0 && v < dsize;
}

/* @len (<= dsize) bytes at data offset @off + @skip, across the end of the data area. */
static void
ref_read(const struct fuzz *f, uint32_t off, uint32_t skip, void *dst, uint32_t len)
{
	uint32_t dsize = f->m.dsize, at = (uint32_t)(((uint64_t)off + skip) % dsize);
	uint32_t first = len < dsize - at ? len : dsize - at;

	memcpy(dst, f->m.data + at, first);
	memcpy((uint8_t *)dst + first, f->m.data, len - first);
}

static bool
ref_type_known(uint16_t t)
{
	return t == PVB_VMBUS_PKT_DATA_INBAND || t == PVB_VMBUS_PKT_DATA_XFER_PAGES ||
	       t == PVB_VMBUS_PKT_DATA_GPA_DIRECT || t == PVB_VMBUS_PKT_COMP;
}

/* The GPA range at packet offset @at: its page count, or 0 if it does not fit @hdr. */
static uint32_t
ref_gpa_range(const struct fuzz *f, uint32_t start, uint32_t hdr, uint32_t at,
	      struct pvb_vmbus_gpa_range *g)
{
	uint64_t pages;

	if (at > hdr || hdr - at < sizeof(*g))
		return 0;
	ref_read(f, start, at, g, sizeof(*g));
	pages = ((uint64_t)g->byte_offset + g->byte_count + PVB_VMBUS_PAGE - 1) / PVB_VMBUS_PAGE;
	if (g->byte_offset >= PVB_VMBUS_PAGE || pages == 0 || pages * 8 > hdr - at - sizeof(*g))
		return 0;
	return (uint32_t)pages;
}

/* The type header of packet @p (descriptor fields filled): true if valid (doc/vmbus.md). */
static bool
ref_type_hdr(const struct fuzz *f, struct pvb_vmbus_pkt *p)
{
	struct pvb_vmbus_gpa_range g;
	uint32_t w[2], at, i, pages;

	if (p->type != PVB_VMBUS_PKT_DATA_XFER_PAGES && p->type != PVB_VMBUS_PKT_DATA_GPA_DIRECT)
		return true;
	if (p->hdr_len < 24)
		return false;
	ref_read(f, p->start, 16, w, sizeof(w));
	p->range_count = w[1];
	if (p->type == PVB_VMBUS_PKT_DATA_XFER_PAGES) {
		p->xfer_set_id = (uint16_t)w[0];
		return w[1] != 0 && (uint64_t)w[1] * 8 <= p->hdr_len - 24;
	}
	if (w[1] == 0 || (uint64_t)w[1] * 16 > p->hdr_len - 24)
		return false;
	for (i = 0, at = 24; i < w[1]; i++, at += 8 + pages * 8) {
		pages = ref_gpa_range(f, p->start, p->hdr_len, at, &g);
		if (pages == 0)
			return false;
	}
	return true;
}

/*
 * A write_index the reader loads: true if it is one the writer may have
 * published. The writer sees only the read_index we published, so it moves
 * forward from what we saw before and never comes round to that read_index.
 */
static bool
ref_write_index_ok(const struct fuzz *f, uint32_t w)
{
	uint32_t c = f->in.committed, dsize = f->m.dsize;

	return ref_index_ok(w, dsize) &&
	       pvb_vmbus_to_read(c, w, dsize) >= pvb_vmbus_to_read(c, f->in.w_cache, dsize);
}

/*
 * What peek must answer now, from the reader's private offsets and the
 * ring: 0 (and the packet), -EAGAIN, or -EPIPE. @w_cache: the write index
 * the reader should hold afterwards.
 */
static int
ref_peek(const struct fuzz *f, struct pvb_vmbus_pkt *p, uint32_t *w_cache)
{
	uint32_t dsize = f->m.dsize, r = f->in.r, w = f->in.w_cache, ready;
	struct pvb_vmbus_desc d;

	ready = pvb_vmbus_to_read(r, w, dsize);
	*w_cache = w;
	/* the write index is loaded only when what is known cannot hold a descriptor */
	if (ready < PVB_VMBUS_DESC_SIZE) {
		w = shared(&ctl(f)->write_index);
		if (!ref_write_index_ok(f, w))
			return -EPIPE;
		*w_cache = w;
		ready = pvb_vmbus_to_read(r, w, dsize);
	}
	if (ready == 0)
		return -EAGAIN;
	if (ready < 24)
		return -EPIPE;
	ref_read(f, r, 0, &d, sizeof(d));
	if (d.flags > 1 || d.offset8 < 2 || d.offset8 > d.len8 ||
	    (uint64_t)d.len8 * 8 + 8 > ready || !ref_type_known(d.type))
		return -EPIPE;
	memset(p, 0, sizeof(*p));
	p->type = d.type;
	p->flags = d.flags;
	p->trans_id = d.trans_id;
	p->start = r;
	p->len = d.len8 * 8u;
	p->hdr_len = d.offset8 * 8u;
	return ref_type_hdr(f, p) ? 0 : -EPIPE;
}

/* ----------------------------------------------------------------------------
 * Checked calls
 */

static bool
broken(const struct fuzz *f)
{
	return pvb_vmbus_in_broken(&f->in);
}

/* Around every call: a broken end stays broken, with the reason it first had. */
struct before {
	bool broken;
	enum pvb_vmbus_fault fault;
	uint32_t r, committed, read_index;
};

static struct before
before(const struct fuzz *f)
{
	struct before b = {
		.broken = broken(f),
		.fault = f->in.fault,
		.r = f->in.r,
		.committed = f->in.committed,
		.read_index = shared(&ctl(f)->read_index),
	};

	return b;
}

static void
check_after(const struct fuzz *f, const struct before *b)
{
	CHECK((unsigned int)f->in.fault <= (unsigned int)PVB_VMBUS_FAULT_DETACHED);
	CHECK(pvb_vmbus_fault_str(f->in.fault) != NULL);
	CHECK(broken(f) == (f->in.fault != PVB_VMBUS_OK));
	if (b->broken) {
		CHECK(broken(f) && f->in.fault == b->fault);
		/* a broken end moves and publishes nothing */
		CHECK(f->in.r == b->r && f->in.committed == b->committed);
		CHECK(shared(&ctl(f)->read_index) == b->read_index);
	}
	CHECK(f->attached || f->in.fault == PVB_VMBUS_FAULT_DETACHED);
	/* the private offsets stay where a valid packet boundary can be */
	CHECK(!f->attached || (ref_index_ok(f->in.r, f->m.dsize) &&
			       ref_index_ok(f->in.w_cache, f->m.dsize)));
}

static bool
pkt_equal(const struct pvb_vmbus_pkt *a, const struct pvb_vmbus_pkt *b)
{
	return a->type == b->type && a->flags == b->flags && a->trans_id == b->trans_id &&
	       a->start == b->start && a->len == b->len && a->hdr_len == b->hdr_len &&
	       a->range_count == b->range_count && a->xfer_set_id == b->xfer_set_id;
}

static int
op_peek(struct fuzz *f)
{
	struct before b = before(f);
	struct pvb_vmbus_pkt want, got;
	uint32_t w_cache;
	int rc, ref;

	ref = ref_peek(f, &want, &w_cache);
	memset(&got, POISON, sizeof(got));
	rc = pvb_vmbus_in_peek(&f->in, &got);
	check_after(f, &b);
	if (b.broken) {
		CHECK(rc == -EPIPE);
		return rc;
	}
	CHECK(rc == ref);
	CHECK(f->in.w_cache == w_cache);
	CHECK(rc != -EPIPE || broken(f));
	CHECK(rc == -EPIPE || !broken(f));
	if (rc != 0)
		return rc;
	CHECK(pkt_equal(&got, &want));
	/* the whole packet lies inside what the writer published */
	CHECK(got.len + 8 <= f->m.dsize - 8 && got.hdr_len <= got.len);
	f->p = got;
	f->have_pkt = true;
	memset(&f->it, 0, sizeof(f->it));
	return 0;
}

/* The caller's buffer: @len bytes flush against its end, poison elsewhere. */
static uint8_t *
buf_at_end(struct fuzz *f, uint32_t len)
{
	memset(f->buf, POISON, BUF_LEN);
	return f->buf + BUF_LEN - len;
}

static void
check_buf(const struct fuzz *f, const uint8_t *dst, uint32_t written)
{
	static uint8_t poison[BUF_LEN];
	const uint8_t *end = f->buf + BUF_LEN;

	if (poison[0] != POISON)
		memset(poison, POISON, sizeof(poison));
	CHECK(memcmp(f->buf, poison, (size_t)(dst - f->buf)) == 0);
	CHECK(memcmp(dst + written, poison, (size_t)(end - dst - written)) == 0);
}

/*
 * The calls about a packet already peeked read only inside it, so they may
 * go on serving it after the end broke; answering -EPIPE (NULL for a pointer)
 * from then on is right too. True if this call did that, writing nothing.
 */
static bool
refused_broken(const struct fuzz *f, const struct before *b, int rc, const uint8_t *dst)
{
	if (!b->broken || rc != -EPIPE)
		return false;
	check_buf(f, dst, 0);
	return true;
}

/* @n bytes at @dst are the packet's bytes at @off, as the ring holds them now. */
static void
check_bytes(const struct fuzz *f, const uint8_t *dst, uint32_t off, uint32_t n)
{
	static uint8_t want[BUF_LEN];

	ref_read(f, f->p.start, off, want, n);
	CHECK(memcmp(dst, want, n) == 0);
}

static void
op_payload(struct fuzz *f, unsigned int a)
{
	static const uint32_t caps[16] = {
		0, 1, 7, 8, 15, 16, 24, 64, 100, 256, 1000, 2048, 4095, 4096, 8192, BUF_LEN,
	};
	uint32_t cap = caps[a & 15], n = f->p.len - f->p.hdr_len, got;
	struct before b = before(f);
	uint8_t *dst = buf_at_end(f, cap);
	int rc;

	rc = pvb_vmbus_in_payload(&f->in, &f->p, dst, cap);
	check_after(f, &b);
	if (refused_broken(f, &b, rc, dst))
		return;
	/* the payload is all of the packet after its headers, and fits the data area */
	CHECK(rc == (int)n && n <= f->m.dsize - 24);
	got = n < cap ? n : cap;
	check_buf(f, dst, got);
	check_bytes(f, dst, f->p.hdr_len, got);
}

/* An offset or length from the script: raw, or counted back from the packet's end. */
static uint32_t
pkt_operand(struct fuzz *f, bool from_end, uint32_t base)
{
	uint32_t v = script_uint(f, 2);

	return from_end ? base - v : v;
}

static void
op_read(struct fuzz *f, unsigned int a)
{
	uint32_t off = pkt_operand(f, a & 1, f->p.len);
	uint32_t len = pkt_operand(f, a & 2, f->p.len - off);
	bool inside = off <= f->p.len && len <= f->p.len - off;
	struct before b = before(f);
	uint8_t *dst;
	int rc;

	/* inside a packet is less than BUF_LEN; a refused length must not touch dst */
	dst = buf_at_end(f, inside ? len : 0);
	rc = pvb_vmbus_in_read(&f->in, &f->p, off, dst, len);
	check_after(f, &b);
	if (refused_broken(f, &b, rc, dst))
		return;
	CHECK(rc == (inside ? 0 : -EINVAL));
	check_buf(f, dst, rc == 0 ? len : 0);
	if (rc == 0)
		check_bytes(f, dst, off, len);
}

static void
op_ptr(struct fuzz *f, unsigned int a)
{
	uint32_t off = pkt_operand(f, a & 1, f->p.len);
	uint32_t len = pkt_operand(f, a & 2, f->p.len - off), at;
	bool inside = off <= f->p.len && len <= f->p.len - off;
	struct before b = before(f);
	const uint8_t *q;

	q = pvb_vmbus_in_ptr(&f->in, &f->p, off, len);
	check_after(f, &b);
	if (b.broken && q == NULL)
		return;		/* see refused_broken() */
	if (!inside) {
		CHECK(q == NULL);
		return;
	}
	at = (uint32_t)(((uint64_t)f->p.start + off) % f->m.dsize);
	/* flat memory: a pointer exactly when the bytes do not wrap */
	CHECK(q == (len <= f->m.dsize - at ? f->m.data + at : NULL));
	if (q == NULL)
		return;
	CHECK(q >= f->ring && q + len <= f->ring + f->ring_len);
	check_bytes(f, q, off, len);	/* reads every byte through q: ASan checks them */
}

static void
op_xfer(struct fuzz *f, unsigned int a)
{
	uint32_t i = a == 15 ? UINT32_MAX : a;
	struct pvb_vmbus_xfer_range r, want;
	struct before b = before(f);
	bool valid;
	int rc;

	valid = f->p.type == PVB_VMBUS_PKT_DATA_XFER_PAGES && i < f->p.range_count;
	memset(&r, POISON, sizeof(r));
	rc = pvb_vmbus_in_xfer_range(&f->in, &f->p, i, &r);
	check_after(f, &b);
	if (b.broken && rc == -EPIPE)
		return;		/* see refused_broken() */
	CHECK(rc == (valid ? 0 : -EINVAL));
	if (!valid)
		return;
	/* range_count was checked against the header at peek: range i lies inside it */
	CHECK(24 + (uint64_t)i * 8 + 8 <= f->p.hdr_len);
	ref_read(f, f->p.start, 24 + i * 8, &want, sizeof(want));
	CHECK(memcmp(&r, &want, sizeof(r)) == 0);
}

/* What gpa_next must answer for the iterator as it stands, with the ring as it is now. */
static int
ref_gpa_next(const struct fuzz *f, struct pvb_vmbus_gpa_range *g, uint32_t *at)
{
	uint32_t pages;

	if (f->p.type != PVB_VMBUS_PKT_DATA_GPA_DIRECT)
		return -EINVAL;
	if (broken(f))
		return -EPIPE;
	if (f->it.index >= f->p.range_count)
		return 0;
	*at = f->it.next != 0 ? f->it.next : 24;
	pages = ref_gpa_range(f, f->p.start, f->p.hdr_len, *at, g);
	return pages == 0 ? -EPIPE : (int)pages;
}

static void
op_gpa(struct fuzz *f, unsigned int a)
{
	uint32_t max_pfn = a % (PFNS + 1), at = 0, n, i;
	struct pvb_vmbus_gpa_iter it0;
	struct pvb_vmbus_xfer_range r;
	struct pvb_vmbus_gpa_range g;
	struct before b = before(f);
	uint64_t want[PFNS];
	int rc, ref;

	if (a >= 8)
		memset(&f->it, 0, sizeof(f->it));
	if (a == 15)	/* the caller's iterator is garbage: still no read outside the packet */
		f->it.next = script_uint(f, 2);
	it0 = f->it;
	ref = ref_gpa_next(f, &g, &at);
	memset(f->pfn, POISON, PFNS * sizeof(*f->pfn));
	rc = pvb_vmbus_in_gpa_next(&f->in, &f->p, &f->it, &r, f->pfn, max_pfn);
	check_after(f, &b);
	CHECK(rc == ref);
	CHECK(rc != -EPIPE || broken(f));
	if (rc <= 0) {
		CHECK(rc == -EPIPE || memcmp(&f->it, &it0, sizeof(it0)) == 0);
		return;
	}
	CHECK(r.byte_count == g.byte_count && r.byte_offset == g.byte_offset);
	CHECK(f->it.index == it0.index + 1 && f->it.next == at + 8 + (uint32_t)rc * 8);
	n = (uint32_t)rc < max_pfn ? (uint32_t)rc : max_pfn;
	ref_read(f, f->p.start, at + 8, want, n * 8);
	CHECK(memcmp(f->pfn, want, n * 8) == 0);
	for (i = n * 8; i < PFNS * 8; i++)
		CHECK(((const uint8_t *)f->pfn)[i] == POISON);
}

static void
op_consume(struct fuzz *f)
{
	struct before b = before(f);
	uint32_t want = b.r;

	if (!b.broken && f->p.start == b.r)
		want = pvb_vmbus_advance(b.r, f->p.len + 8, f->m.dsize);
	pvb_vmbus_in_consume(&f->in, &f->p);
	check_after(f, &b);
	CHECK(f->in.r == want);
}

/*
 * What commit must answer (the consumer's pending_send_sz check of Linux's
 * drivers/hv/ring_buffer.c and doc/vmbus.md "Signaling"), computed before the call.
 */
static bool
ref_commit_signal(const struct fuzz *f)
{
	uint32_t dsize = f->m.dsize, pending, w, free_now, read;

	if (broken(f) || f->in.r == f->in.committed)
		return false;
	if (!(shared(&ctl(f)->feature_bits) & PVB_VMBUS_FEAT_PENDING_SEND_SZ))
		return false;
	pending = shared(&ctl(f)->pending_send_sz) & ~7u;
	w = shared(&ctl(f)->write_index);
	if (pending == 0 || !ref_index_ok(w, dsize))
		return false;
	free_now = pvb_vmbus_to_write(f->in.r, w, dsize);
	read = pvb_vmbus_to_read(f->in.committed, f->in.r, dsize);
	return free_now - read <= pending && free_now > pending;
}

static void
op_commit(struct fuzz *f)
{
	bool want = ref_commit_signal(f), publish = !broken(f) && f->in.r != f->in.committed;
	struct before b = before(f);
	bool sig;

	sig = pvb_vmbus_in_commit(&f->in);
	check_after(f, &b);
	CHECK(sig == want);
	CHECK(f->in.committed == f->in.r || b.broken);
	CHECK(shared(&ctl(f)->read_index) == (publish ? f->in.r : b.read_index));
}

static void
op_mask(struct fuzz *f, unsigned int a)
{
	uint32_t mask = shared(&ctl(f)->interrupt_mask), w = shared(&ctl(f)->write_index);
	uint32_t now = pvb_vmbus_to_read(f->in.r, w, f->m.dsize);
	bool more, fault = !ref_write_index_ok(f, w);
	struct before b = before(f);

	if (a & 1) {
		pvb_vmbus_in_set_mask(&f->in, a & 2);
		check_after(f, &b);
		/* a broken or detached end leaves the ring alone */
		CHECK(shared(&ctl(f)->interrupt_mask) == (b.broken ? mask : (a & 2) ? 1u : 0u));
		return;
	}
	more = pvb_vmbus_in_unmask_and_check(&f->in);
	check_after(f, &b);
	if (b.broken) {
		CHECK(!more && shared(&ctl(f)->interrupt_mask) == mask);
		return;
	}
	CHECK(shared(&ctl(f)->interrupt_mask) == 0);
	CHECK(broken(f) == fault);
	CHECK(more == (!fault && now > 0));
}

/* Attach (again) to the ring as the peer left it: a fresh end, or a refused one. */
static void
op_attach(struct fuzz *f)
{
	uint32_t r = shared(&ctl(f)->read_index), w = shared(&ctl(f)->write_index);
	bool ok = ref_index_ok(r, f->m.dsize) && ref_index_ok(w, f->m.dsize);
	int rc;

	rc = pvb_vmbus_in_attach(&f->in, &f->m);
	CHECK(rc == (ok ? 0 : -EPROTO));
	f->attached = ok;
	CHECK(broken(f) == !ok);
	CHECK(!ok || (f->in.r == r && f->in.committed == r && f->in.w_cache == w));
	f->have_pkt = false;
	memset(&f->p, 0, sizeof(f->p));
	memset(&f->it, 0, sizeof(f->it));
}

static void
op_inspect(const struct fuzz *f)
{
	struct pvb_vmbus_info i;

	pvb_vmbus_inspect(&f->m, &i);
	CHECK(i.dsize == f->m.dsize);
	CHECK(i.indices_valid == (ref_index_ok(i.read_index, i.dsize) &&
				  ref_index_ok(i.write_index, i.dsize)));
	CHECK(!i.indices_valid || i.bytes_to_read + i.bytes_to_write == i.dsize);
	CHECK(i.indices_valid || (i.bytes_to_read == 0 && !i.reader_needs_signal));
}

/* ----------------------------------------------------------------------------
 * The peer's pokes
 */

/* write_index: a step of signed bytes (or 8-byte units), or any value. */
static void
poke_write_index(struct fuzz *f, unsigned int a)
{
	pvb_shared_u32 *wi = &ctl(f)->write_index;
	uint32_t v;

	if (a & 1)
		v = script_uint(f, 4);
	else
		v = shared(wi) + (uint32_t)(int8_t)script_uint(f, 1) * (a & 2 ? 1u : 8u);
	/* relaxed: one thread plays the reader and the peer */
	pvb_store_relaxed(wi, v);
}

/* 1..16 ring bytes from the script, at an offset from the reader's position. */
static void
poke_data(struct fuzz *f, unsigned int a)
{
	uint32_t off = f->in.r + script_uint(f, 2), i;
	uint8_t v;

	for (i = 0; i <= a && script_byte(f, &v); i++)
		f->m.data[(off + i) % f->m.dsize] = v;
}

static void
poke_ctl(struct fuzz *f, unsigned int a)
{
	pvb_shared_u32 *words[4] = {
		&ctl(f)->interrupt_mask, &ctl(f)->pending_send_sz, &ctl(f)->feature_bits,
		&ctl(f)->read_index,
	};

	/* relaxed: one thread plays the reader and the peer */
	pvb_store_relaxed(words[a & 3], script_uint(f, 4));
}

/* ----------------------------------------------------------------------------
 * The script, and the final drain
 */

enum op {
	OP_PEEK, OP_PAYLOAD, OP_READ, OP_PTR, OP_XFER, OP_GPA, OP_CONSUME, OP_COMMIT,
	OP_POKE_W, OP_POKE_DATA, OP_POKE_CTL, OP_MASK, OP_INSPECT, OP_DRAIN, OP_ATTACH,
	OP_STEP,	/* drain one packet */
};

/* Peek, look at and consume up to @n packets, then commit. */
static void
drain(struct fuzz *f, unsigned int n)
{
	unsigned int i, k;

	for (i = 0; i < n; i++) {
		if (op_peek(f) != 0)
			break;
		op_payload(f, 15);
		/* the whole walk, one past the last range; the first call resets the iterator */
		if (f->p.type == PVB_VMBUS_PKT_DATA_GPA_DIRECT)
			for (k = 0; k <= f->p.range_count && !broken(f); k++)
				op_gpa(f, k == 0 ? 8 : PFNS);
		if (f->p.type == PVB_VMBUS_PKT_DATA_XFER_PAGES)
			op_xfer(f, 0);
		op_consume(f);
		if (f->in.r == f->in.w_cache)
			break;
	}
	op_commit(f);
}

/* Calls about the current packet: none before peek ever accepted one. */
static bool
pkt_op(struct fuzz *f, unsigned int op, unsigned int a)
{
	if (!f->have_pkt)
		return op <= OP_CONSUME;
	switch (op) {
	case OP_PAYLOAD:
		op_payload(f, a);
		break;
	case OP_READ:
		op_read(f, a);
		break;
	case OP_PTR:
		op_ptr(f, a);
		break;
	case OP_XFER:
		op_xfer(f, a);
		break;
	case OP_GPA:
		op_gpa(f, a);
		break;
	case OP_CONSUME:
		op_consume(f);
		break;
	default:
		return false;
	}
	return true;
}

static void
run_script(struct fuzz *f)
{
	uint8_t b;

	while (script_byte(f, &b)) {
		unsigned int op = b & 15, a = b >> 4;

		if (op != OP_PEEK && pkt_op(f, op, a))
			continue;
		switch (op) {
		case OP_PEEK:
			op_peek(f);
			break;
		case OP_COMMIT:
			op_commit(f);
			break;
		case OP_POKE_W:
			poke_write_index(f, a);
			break;
		case OP_POKE_DATA:
			poke_data(f, a);
			break;
		case OP_POKE_CTL:
			poke_ctl(f, a);
			break;
		case OP_MASK:
			op_mask(f, a);
			break;
		case OP_INSPECT:
			op_inspect(f);
			break;
		case OP_DRAIN:
			drain(f, a + 1);
			break;
		case OP_ATTACH:
			op_attach(f);
			break;
		default:	/* OP_STEP */
			drain(f, 1);
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz f;

	memset(&f, 0, sizeof(f));
	f.ring_len = PVB_VMBUS_CTL_SIZE + (size_t)input_pages(size) * PVB_VMBUS_PAGE;
	f.ring = malloc(f.ring_len);
	f.buf = malloc(BUF_LEN);
	f.pfn = malloc(PFNS * sizeof(*f.pfn));
	if (f.ring == NULL || f.buf == NULL || f.pfn == NULL)
		goto out;
	input_to_ring(&f, data, size);
	CHECK(pvb_vmbus_mem_flat(&f.m, f.ring, f.ring_len) == 0);
	op_attach(&f);
	run_script(&f);
	drain(&f, DRAIN_MAX);
	op_inspect(&f);
out:
	free(f.pfn);
	free(f.buf);
	free(f.ring);
	return 0;
}

/* ----------------------------------------------------------------------------
 * The custom mutator: plant a valid ring
 */

static uint32_t
plant_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* One packet of a random type and size, if it fits @budget ring bytes after what is written. */
static void
plant_packet(struct pvb_vmbus_out *o, uint32_t *s, uint32_t budget)
{
	static const uint8_t payload[512];
	struct pvb_vmbus_xfer_range xr[3] = { { 1, 0 }, { 4096, 8192 }, { 7, 3 } };
	uint64_t pfn[2] = { 0x1234, 0x5678 };	/* range 0: 100 + < 8193 bytes, <= 2 pages */
	struct pvb_vmbus_gpa g[2] = {
		{ .byte_count = 1 + plant_rand(s) % 8000, .byte_offset = 100, .pfn = pfn },
		{ .byte_count = 4096, .byte_offset = 0, .pfn = pfn },
	};
	uint32_t len = plant_rand(s) % (plant_rand(s) % 4 == 0 ? sizeof(payload) : 40);
	uint32_t kind = plant_rand(s) % 4, flags = plant_rand(s) & 1, n = 1 + plant_rand(s) % 2;
	uint32_t hdr = kind == 2 ? 24 + 8 * (n + 1) : kind == 3 ? 24 + 8 * 4 + (n - 1) * 16 : 16;

	if (pvb_vmbus_out_uncommitted(o) + pvb_vmbus_pkt_ring_bytes(hdr, len) > budget)
		return;
	switch (kind) {
	case 0:
		(void)pvb_vmbus_out_inband(o, plant_rand(s), (uint16_t)flags, payload, len);
		break;
	case 1:
		(void)pvb_vmbus_out_comp(o, plant_rand(s), payload, len);
		break;
	case 2:
		(void)pvb_vmbus_out_xfer(o, plant_rand(s), (uint16_t)flags, 0xcafe, xr, n + 1,
					 payload, len);
		break;
	default:
		(void)pvb_vmbus_out_gpa(o, plant_rand(s), (uint16_t)flags, g, n, payload, len);
	}
}

/* Packets written by the library's writer from @start on, committed, in a scratch ring. */
static bool
plant_ring(uint8_t *ring, size_t ring_len, uint32_t start, uint32_t budget, uint32_t *s)
{
	struct pvb_vmbus_ctl *c = (struct pvb_vmbus_ctl *)(void *)ring;
	struct pvb_vmbus_mem m;
	struct pvb_vmbus_out o;
	unsigned int i;

	memset(ring, 0, ring_len);
	/* relaxed: a private scratch ring */
	pvb_store_relaxed(&c->write_index, start);
	pvb_store_relaxed(&c->read_index, start);
	if (pvb_vmbus_mem_flat(&m, ring, ring_len) != 0 ||
	    pvb_vmbus_out_attach(&o, &m, plant_rand(s) & 1) != 0)
		return false;
	for (i = 0; i < 1 + plant_rand(s) % 24; i++)
		plant_packet(&o, s, budget);
	(void)pvb_vmbus_out_commit(&o);
	return true;
}

static void
put_u32(uint8_t *d, uint32_t v)
{
	memcpy(d, &v, sizeof(v));	/* little-endian hosts only, like the ring */
}

/* A short input grown to @size bytes for packets: zeros, and a random script of 0..47 bytes. */
static size_t
grow(uint8_t *data, size_t old, size_t size, uint32_t *s)
{
	size_t i;

	memset(data + old, 0, size - old);
	if (old <= IN_SCRIPT_LEN)
		data[IN_SCRIPT_LEN] = (uint8_t)(plant_rand(s) % 48);
	for (i = size - data[IN_SCRIPT_LEN]; i < size; i++)
		data[i] = i >= old ? (uint8_t)plant_rand(s) : data[i];
	return size;
}

/*
 * Blind mutation seldom builds a descriptor that peek accepts, let alone a
 * valid GPA range, so the deep paths would go unseen. Now and then replace
 * the ring part of the input with a valid ring of its geometry (the script
 * is kept); the ordinary mutations then make near-valid rings out of it.
 */
size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	static uint64_t ring_mem[MAX_RING / 8];
	uint8_t *ring = (uint8_t *)ring_mem;
	struct pvb_vmbus_ctl *c = (struct pvb_vmbus_ctl *)(void *)ring;
	uint32_t s = seed | 1, dsize, start, budget, i;
	size_t script;

	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % PLANT_ONE_IN != 0)
		return size;
	if (size < IN_HDR + 64 && max_size >= IN_HDR + 1024)
		size = grow(data, size, IN_HDR + 960 + plant_rand(&s) % 64, &s);
	if (size < IN_HDR + 64)
		return size;
	dsize = input_pages(size) * PVB_VMBUS_PAGE;
	script = input_script_len(size, data);
	budget = (uint32_t)(size - IN_HDR - script);
	budget = budget < dsize - 8 ? budget : dsize - 8;
	/* near the end of the data area half the time, so the packets wrap */
	start = plant_rand(&s) & 1 ? dsize - 8 * (1 + plant_rand(&s) % 64) :
				     8 * (plant_rand(&s) % (dsize / 8));
	if (!plant_ring(ring, PVB_VMBUS_CTL_SIZE + dsize, start, budget, &s))
		return size;
	put_u32(data, shared(&c->write_index));
	put_u32(data + 4, start);
	put_u32(data + 8, plant_rand(&s) & 1);
	put_u32(data + 12, plant_rand(&s) & 1 ? 8 * (plant_rand(&s) % (dsize / 8)) : 0);
	put_u32(data + 16, shared(&c->feature_bits));
	for (i = 0; i < budget; i++)
		data[IN_HDR + i] = ring[PVB_VMBUS_CTL_SIZE + (start + i) % dsize];
	return size;
}
