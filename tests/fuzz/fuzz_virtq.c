/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * libFuzzer target: both sides of a split virtqueue, each against a hostile
 * peer. Bit 4 of input byte 1 picks the side: clear, the device side over
 * guest memory written by a hostile driver (below); set, the driver side
 * against a hostile device (see "The driver side" further down).
 *
 * A device-side input is a memory table, a queue set-up, guest memory and a
 * script:
 *
 *   0   regions: 1 + b % 3
 *   1   features: bit 0 EVENT_IDX, bit 1 INDIRECT_DESC; bits 2-3 the pop path:
 *       0 pop_avail, 1 avail_count + pop_next, 2 pop_burst, 3 each pop picks;
 *       bit 4 clear
 *   2   max_size (le16), 4 requested size (le16)
 *   6   base (le16): next_avail_idx and next_used_idx at enable, as after
 *       SET_VRING_BASE, so the 16-bit indices wrap early
 *   8   L: script length
 *   9   3 x { gpa le64, size - 1 le16 (modulo REGION_MAX) }
 *   39  3 x { sel, off le32 }: desc, avail, used ring addresses; region
 *       sel % 4's gpa + off, or with sel % 4 == 3 (or no such region),
 *       off << (sel >> 2 & 31)
 *   54  guest memory: region 0's bytes, then region 1's, then region 2's
 *       (what the input does not cover is zero)
 *   ..  the last L bytes: the script
 *
 * Each region's host memory is a heap block of exactly its size, so ASan
 * sees any access outside one. The queue is set up as a transport would
 * (init, set_size, the three addresses, ready, the base) and enabled; the
 * result is checked against a reference. If enable fails, pop_avail must
 * answer -EINVAL or -EPIPE and change nothing. Then the script runs:
 * pops (through the input's path), unpop, push_used (the head of the last
 * chain, or one from the script), add_used + write_used_idx,
 * push_used_burst, should_notify, set_notification, the used header, reset
 * and enable again, and the driver rewriting descriptors, ring words, event
 * words and any guest byte between the calls. At the end the device drains
 * what is left.
 *
 * Each call is checked against a reference that reads guest memory itself:
 *  - pop_avail: -EPIPE iff the avail index is more than the queue size
 *    ahead, and from then on until a reset; -EAGAIN iff nothing is
 *    pending; else the head from the ring, and a chain the reference walk
 *    (VIRTIO 1.2 §2.7.4-2.7.5) finds malformed must be refused (-EBADMSG), a well-formed
 *    one accepted with exactly the host segments the reference translation
 *    gives (split where regions end), readable ones first, lengths summing to
 *    readable_len + writable_len. Where the library may choose (see
 *    ref_walk()), either answer passes. Every segment handed out, even of a
 *    refused chain, lies inside one region's heap block.
 *  - Every pop is also made on a copy of the queue taken before it,
 *    through the other path (pop_avail for the burst calls, avail_count +
 *    pop_next for pop_avail): both must give the same answer, the same
 *    chain (segments of a refused one included) and the same queue state,
 *    since they share one walker. (pop_next pops what the last count saw,
 *    so when the driver moved avail->idx since, the copy is not compared.)
 *  - unpop: the cursor moves back by what the model of the window allows
 *    (pops since the last read of avail->idx or used element written).
 *  - push_used / add_used / push_used_burst: the element and the index
 *    where the ring says; a burst with a bad id writes nothing.
 *  - should_notify / set_notification: the decision and the words written,
 *    from the spec's rules (VIRTIO 1.2 §2.7.7, §2.7.10) and the reference's own signalled index.
 * A violation aborts, which libFuzzer reports as a crash.
 *
 * Blind mutation seldom builds a chain the device accepts, so the custom
 * mutator now and then plants valid ones: adjacent regions, the rings in
 * region 0, and chains added and published by the library's own driver side
 * over a scratch copy of that memory, starting at a random base: direct and
 * through indirect tables (some unaligned or straddling regions), buffers
 * anywhere, and now and then one long chain whose buffers cross a region end.
 * (Driver-side inputs are left to the ordinary mutations.)
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pvb_virtq.h"

#define MAX_REG		3
#define REGION_MAX	16384	/* bytes per region, at most */
#define H_NREG		0
#define H_FEAT		1
#define H_MAX		2
#define H_SIZE		4
#define H_BASE		6
#define H_SCRIPT	8
#define H_REG		9	/* 10 bytes per region */
#define H_RING		39	/* 5 bytes per ring */
#define IN_HDR		54
#define REF_SEGS	(PVB_VIRTQ_MAX_SEGS + 1)	/* one more: "too many" */
#define PLANT_ONE_IN	4	/* mutations that plant valid chains, one in this many */

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/*
 * Keep heap addresses out of libFuzzer's comparison tracing: they change from
 * run to run (ASLR), and traced they would steer the mutations differently
 * each time, so "-seed=1" would not repeat a run. Hence no coverage for the
 * function comparing addresses, and no UBSan pointer-overflow check (an
 * integer comparison of addresses) in this file: ASan covers its buffers.
 */
#if defined(__clang__)
#define NO_CMP_TRACE __attribute__((no_sanitize("coverage")))
#pragma clang attribute push(__attribute__((no_sanitize("pointer-overflow"))), \
			     apply_to = function)
#else
#define NO_CMP_TRACE
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* How the device pops (input byte 1, bits 2-3). */
enum pop_path { PATH_AVAIL, PATH_NEXT, PATH_BURST, PATH_MIXED };

#define BURST_MAX	4	/* chains a pop_burst takes at most */

struct fuzz {
	enum pop_path path;
	uint32_t nreg;
	struct pvb_virtq_region r[MAX_REG];	/* as the input gives them */
	struct pvb_virtq_mem mem;
	struct pvb_virtq_dev q;
	uint16_t max_size, req_size, base;
	uint64_t features;
	uint64_t ring_gpa[3];		/* desc, avail, used */
	bool enabled;			/* the last enable succeeded */
	bool broken;			/* pop said -EPIPE: until reset */
	/* the reference's view of the enabled rings */
	struct pvb_virtq_desc *desc;
	struct pvb_virtq_avail *avail;
	struct pvb_virtq_used *used;
	uint16_t signalled;		/* used idx at the last call decision */
	bool signalled_valid;
	bool have_head;			/* a chain was popped: its head */
	uint16_t head;
	uint32_t head_writable;
	uint16_t avail_end;		/* the model: avail idx the last read saw */
	uint16_t room;			/* ...and the chains unpop may give back */
	struct pvb_virtq_chain c;
	struct pvb_virtq_chain cs[BURST_MAX];	/* a pop_burst's */
	struct pvb_virtq_chain c2;	/* the same pop on a copy of the queue */
	const uint8_t *script;
	size_t script_len, pos;
};

/* ----------------------------------------------------------------------------
 * Input
 */

static uint64_t
get_le(const uint8_t *d, size_t size, size_t off, unsigned int bytes)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < bytes && off + i < size; i++)
		v |= (uint64_t)d[off + i] << (8 * i);
	return v;
}

static size_t
input_script_len(const uint8_t *data, size_t size)
{
	if (size <= IN_HDR)
		return 0;
	return data[H_SCRIPT] < size - IN_HDR ? data[H_SCRIPT] : size - IN_HDR;
}

static bool
script_byte(struct fuzz *f, uint8_t *b)
{
	if (f->pos >= f->script_len)
		return false;
	*b = f->script[f->pos++];
	return true;
}

static uint64_t
script_uint(struct fuzz *f, unsigned int bytes)
{
	uint64_t v = 0;
	unsigned int i;
	uint8_t b;

	for (i = 0; i < bytes && script_byte(f, &b); i++)
		v |= (uint64_t)b << (8 * i);
	return v;
}

/* A guest address from a selector and an offset (see the input layout). */
static uint64_t
input_gpa(const struct fuzz *f, uint8_t sel, uint64_t off)
{
	if ((sel & 3) < f->nreg)
		return f->r[sel & 3].gpa + off;
	return off << ((sel >> 2) & 31);
}

/* Regions, their bytes, the queue set-up and the script. False if out of memory. */
static bool
input_load(struct fuzz *f, const uint8_t *data, size_t size)
{
	size_t script = input_script_len(data, size), at = IN_HDR, end = size - script, n;
	uint32_t i;

	f->nreg = 1 + (uint32_t)get_le(data, size, H_NREG, 1) % MAX_REG;
	for (i = 0; i < f->nreg; i++) {
		f->r[i].gpa = get_le(data, size, H_REG + 10 * i, 8);
		f->r[i].size = 1 + get_le(data, size, H_REG + 10 * i + 8, 2) % REGION_MAX;
		f->r[i].host = calloc(1, f->r[i].size);
		if (f->r[i].host == NULL)
			return false;
		n = end > at ? end - at : 0;
		n = n < f->r[i].size ? n : f->r[i].size;
		memcpy(f->r[i].host, data + at, n);
		at += n;
	}
	f->features = 0;
	f->path = (enum pop_path)((get_le(data, size, H_FEAT, 1) >> 2) & 3);
	if (get_le(data, size, H_FEAT, 1) & 1)
		f->features |= 1ull << PVB_VIRTIO_F_EVENT_IDX;
	if (get_le(data, size, H_FEAT, 1) & 2)
		f->features |= 1ull << PVB_VIRTIO_F_INDIRECT_DESC;
	f->max_size = (uint16_t)get_le(data, size, H_MAX, 2);
	f->req_size = (uint16_t)get_le(data, size, H_SIZE, 2);
	f->base = (uint16_t)get_le(data, size, H_BASE, 2);
	for (i = 0; i < 3; i++)
		f->ring_gpa[i] = input_gpa(f, (uint8_t)get_le(data, size, H_RING + 5 * i, 1),
					   get_le(data, size, H_RING + 5 * i + 1, 4));
	f->script = data + size - script;
	f->script_len = script;
	return true;
}

/* ----------------------------------------------------------------------------
 * The reference: guest memory as the input describes it
 */

/* The region holding @gpa, or NULL. */
static const struct pvb_virtq_region *
ref_region(const struct fuzz *f, uint64_t gpa)
{
	uint32_t i;

	for (i = 0; i < f->nreg; i++)
		if (gpa - f->r[i].gpa < f->r[i].size)
			return &f->r[i];
	return NULL;
}

/* Host bytes of [@gpa, @gpa + @len) if they lie in one region (len 0: gpa in one), else NULL. */
static uint8_t *
ref_host(const struct fuzz *f, uint64_t gpa, uint64_t len)
{
	const struct pvb_virtq_region *r = ref_region(f, gpa);

	if (r == NULL || len > r->size - (gpa - r->gpa))
		return NULL;
	return (uint8_t *)r->host + (gpa - r->gpa);
}

/* True if host [@p, @p + @len) lies inside one region's heap block. */
static bool NO_CMP_TRACE
ref_holds(const struct fuzz *f, const void *p, uint32_t len)
{
	uintptr_t a = (uintptr_t)p, h;
	uint32_t i;

	for (i = 0; i < f->nreg; i++) {
		h = (uintptr_t)f->r[i].host;
		if (a >= h && a - h <= f->r[i].size && len <= f->r[i].size - (a - h))
			return true;
	}
	return false;
}

/*
 * [@gpa, @gpa + @len) as host segments, split where regions end, appended at
 * @seg[*n] (at most REF_SEGS in all; more are counted, not stored). False if
 * a byte lies outside every region or the range overflows.
 */
static bool
ref_translate(const struct fuzz *f, uint64_t gpa, uint64_t len, bool write,
	      struct pvb_virtq_seg *seg, uint32_t *n)
{
	const struct pvb_virtq_region *r;
	uint64_t k;

	if (gpa + len < gpa)
		return false;
	while (len != 0) {
		r = ref_region(f, gpa);
		if (r == NULL)
			return false;
		k = r->size - (gpa - r->gpa);
		k = k < len ? k : len;
		if (*n < REF_SEGS)
			seg[*n] = (struct pvb_virtq_seg){
				.host = (uint8_t *)r->host + (gpa - r->gpa), .len = (uint32_t)k,
				.write = write };
		(*n)++;
		gpa += k;
		len -= k;
	}
	return true;
}

/* Copy @len guest bytes at @gpa, across regions. False if any is outside. */
static bool
ref_read(const struct fuzz *f, uint64_t gpa, void *dst, uint32_t len)
{
	struct pvb_virtq_seg seg[REF_SEGS];
	uint32_t n = 0, i, at = 0;

	if (!ref_translate(f, gpa, len, false, seg, &n) || n > REF_SEGS)
		return false;
	for (i = 0; i < n; i++) {
		memcpy((uint8_t *)dst + at, seg[i].host, seg[i].len);
		at += seg[i].len;
	}
	return true;
}

/* What the reference walk concludes about a chain. */
enum verdict {
	REF_OK,		/* well-formed and within the library's limits: must be accepted */
	REF_EITHER,	/* the library may refuse it, or take it (see ref_walk()) */
	REF_BAD,	/* malformed (VIRTIO 1.2 §2.7.5): must be refused */
};

struct ref_chain {
	enum verdict v;
	uint32_t nb_segs, nb_readable;
	uint64_t readable_len, writable_len;
	struct pvb_virtq_seg seg[REF_SEGS];
};

struct ref_walk {
	uint64_t table_gpa;	/* the indirect table's (read through ref_read()) */
	uint32_t table_size;
	bool in_indirect, seen_write;
	uint32_t visited, total;
};

static enum verdict
worse(enum verdict a, enum verdict b)
{
	return a > b ? a : b;
}

/*
 * Copy descriptor @i of the table being walked: REF_BAD if it cannot be
 * read. An indirect entry may straddle regions; one that spans three (a
 * region under 16 bytes in the middle) the library refuses: REF_EITHER.
 */
static enum verdict
ref_desc(const struct fuzz *f, const struct ref_walk *w, uint32_t i, struct pvb_virtq_desc *d)
{
	struct pvb_virtq_seg seg[REF_SEGS];
	uint32_t n = 0;

	if (!w->in_indirect) {
		memcpy(d, &f->desc[i], sizeof(*d));
		return REF_OK;
	}
	if (!ref_translate(f, w->table_gpa + 16ull * i, sizeof(*d), false, seg, &n) ||
	    !ref_read(f, w->table_gpa + 16ull * i, d, sizeof(*d)))
		return REF_BAD;
	return n > 2 ? REF_EITHER : REF_OK;
}

/*
 * Enter the indirect table @d points at. The spec puts no alignment on a
 * table and lets it straddle regions, so it must be taken wherever it lies
 * in guest memory; one of more entries than the queue size the device may
 * refuse (DPDK's vhost does, and so does the library).
 */
static enum verdict
ref_indirect(const struct fuzz *f, struct ref_walk *w, const struct pvb_virtq_desc *d)
{
	struct pvb_virtq_seg seg[REF_SEGS];
	uint32_t n = 0;

	if (!(f->features & (1ull << PVB_VIRTIO_F_INDIRECT_DESC)) || w->in_indirect ||
	    (d->flags & PVB_VIRTQ_DESC_F_NEXT) || d->len == 0 || d->len % 16 != 0 ||
	    !ref_translate(f, d->addr, d->len, false, seg, &n))
		return REF_BAD;
	w->table_gpa = d->addr;
	w->table_size = d->len / 16;
	w->in_indirect = true;
	w->visited = 0;
	return w->table_size > f->q.size ? REF_EITHER : REF_OK;
}

/* One buffer descriptor: its segments appended; REF_BAD if outside memory or too long. */
static enum verdict
ref_buffer(const struct fuzz *f, struct ref_chain *rc, const struct pvb_virtq_desc *d, bool write)
{
	if (!ref_translate(f, d->addr, d->len, write, rc->seg, &rc->nb_segs))
		return REF_BAD;
	if (write) {
		rc->writable_len += d->len;
	} else {
		rc->readable_len += d->len;
		rc->nb_readable = rc->nb_segs;
	}
	if (rc->readable_len + rc->writable_len > (1ull << 32))
		return REF_BAD;
	/* the library holds PVB_VIRTQ_MAX_SEGS segments (§2.7.4.1 lets it set a limit) */
	if (rc->nb_segs > PVB_VIRTQ_MAX_SEGS)
		return REF_EITHER;
	/* zero-sized buffers: QEMU refuses them, DPDK takes them; both pass */
	return d->len == 0 ? REF_EITHER : REF_OK;
}

/*
 * Walk the chain at @head as VIRTIO 1.2 §2.7.5 says, reading an indirect table
 * wherever it lies. The walk stops at the first REF_BAD (the library must
 * refuse the chain) or when there are more segments than a popped chain
 * holds (the library must refuse it; REF_EITHER unless the chain is also
 * malformed further on, which it need not find). The library may take or
 * refuse (REF_EITHER): zero-sized buffers, an indirect table of more
 * entries than the queue size, a chain of more descriptors than the queue
 * size (direct ones before an indirect table: the spec forbids it to
 * drivers, the library bounds each table by its own size), and an indirect
 * entry spanning three regions (see ref_desc()).
 */
static void
ref_walk(const struct fuzz *f, uint16_t head, struct ref_chain *rc)
{
	struct ref_walk w = { .table_size = f->q.size };
	struct pvb_virtq_desc d;
	uint32_t i = head;
	enum verdict v;

	memset(rc, 0, offsetof(struct ref_chain, seg));
	for (;;) {
		v = i >= w.table_size || ++w.visited > w.table_size ? REF_BAD :
		    ref_desc(f, &w, i, &d);
		rc->v = worse(rc->v, v);
		if (v == REF_BAD)
			return;
		if (++w.total > f->q.size)
			rc->v = worse(rc->v, REF_EITHER);
		if (d.flags & PVB_VIRTQ_DESC_F_INDIRECT) {
			v = ref_indirect(f, &w, &d);
			rc->v = worse(rc->v, v);
			if (v == REF_BAD)
				return;
			i = 0;
			continue;
		}
		if (!(d.flags & PVB_VIRTQ_DESC_F_WRITE) && w.seen_write) {
			rc->v = REF_BAD;
			return;
		}
		w.seen_write |= (d.flags & PVB_VIRTQ_DESC_F_WRITE) != 0;
		v = ref_buffer(f, rc, &d, (d.flags & PVB_VIRTQ_DESC_F_WRITE) != 0);
		rc->v = worse(rc->v, v);
		if (v == REF_BAD || rc->nb_segs > PVB_VIRTQ_MAX_SEGS)
			return;
		if (!(d.flags & PVB_VIRTQ_DESC_F_NEXT))
			return;
		i = d.next;
	}
}

/* relaxed: one thread plays the device and the driver */
static uint16_t
shared16(const pvb_shared_u16 *p)
{
	return pvb_load_relaxed16(p);
}

static void
poke16(pvb_shared_u16 *p, uint16_t v)
{
	pvb_store_relaxed16(p, v);
}

/* ----------------------------------------------------------------------------
 * Set-up: memory table, queue, enable
 */

/* What pvb_virtq_mem_init() must answer for the input's regions. */
static int
ref_mem_init(const struct fuzz *f)
{
	uint32_t i, j;

	for (i = 0; i < f->nreg; i++) {
		if (f->r[i].gpa + f->r[i].size < f->r[i].gpa)
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (f->r[i].gpa < f->r[j].gpa + f->r[j].size &&
			    f->r[j].gpa < f->r[i].gpa + f->r[i].size)
				return -EINVAL;
	}
	return 0;
}

/* A ring in one region, its guest and host addresses aligned: its host address. */
static void *
ref_ring(const struct fuzz *f, uint64_t gpa, size_t len, uint64_t align)
{
	uint8_t *p = ref_host(f, gpa, len);

	if ((gpa & (align - 1)) != 0 || p == NULL || ((uintptr_t)p & (align - 1)) != 0)
		return NULL;
	return p;
}

/* Set the queue up as a transport would, enable it, and check the answer. */
static void
setup_queue(struct fuzz *f)
{
	uint16_t n = f->req_size < f->max_size ? f->req_size : f->max_size;
	size_t sz;
	int rc, want;

	pvb_virtq_dev_set_size(&f->q, f->req_size);
	/* clamped to max_size, then down to a power of two */
	while (n & (n - 1))
		n &= (uint16_t)(n - 1);
	CHECK(f->q.size == n);
	f->q.desc_table_addr = f->ring_gpa[0];
	f->q.avail_ring_addr = f->ring_gpa[1];
	f->q.used_ring_addr = f->ring_gpa[2];
	f->q.ready = true;
	f->q.next_avail_idx = f->base;
	f->q.next_used_idx = f->base;
	CHECK(pvb_virtq_dev_is_valid(&f->q) ==
	      (pvb_virtq_size_ok(n) && f->ring_gpa[0] != 0 && f->ring_gpa[1] != 0 &&
	       f->ring_gpa[2] != 0));
	sz = f->q.size;
	f->desc = ref_ring(f, f->ring_gpa[0], pvb_virtq_desc_bytes((uint32_t)sz), 16);
	f->avail = ref_ring(f, f->ring_gpa[1], pvb_virtq_avail_bytes((uint32_t)sz), 2);
	f->used = ref_ring(f, f->ring_gpa[2], pvb_virtq_used_bytes((uint32_t)sz), 4);
	want = !pvb_virtq_dev_is_valid(&f->q) ? -EINVAL :
	       f->desc == NULL || f->avail == NULL || f->used == NULL ? -EFAULT : 0;
	rc = pvb_virtq_dev_enable(&f->q, &f->mem, f->features);
	CHECK(rc == want);
	f->enabled = rc == 0;
	f->broken = false;
	f->signalled_valid = false;
	f->have_head = false;
	f->avail_end = f->base;		/* nothing counted, nothing to give back */
	f->room = 0;
	if (rc != 0)
		return;
	CHECK(f->q.desc == f->desc && f->q.avail == f->avail && f->q.used == f->used);
	CHECK(f->q.event_idx == ((f->features >> PVB_VIRTIO_F_EVENT_IDX) & 1));
	CHECK(f->q.indirect == ((f->features >> PVB_VIRTIO_F_INDIRECT_DESC) & 1));
	CHECK(!f->q.needs_reset && f->q.fault == PVB_VIRTQ_OK);
}

/* ----------------------------------------------------------------------------
 * Checked calls
 */

/* Segments handed out: inside the regions, readable first, lengths adding up. */
static void
check_segs(const struct fuzz *f, const struct pvb_virtq_chain *c, bool complete)
{
	uint64_t sum = 0;
	uint32_t i;

	CHECK(c->nb_segs <= PVB_VIRTQ_MAX_SEGS && c->nb_readable <= c->nb_segs);
	for (i = 0; i < c->nb_segs; i++) {
		CHECK(c->seg[i].len != 0 && ref_holds(f, c->seg[i].host, c->seg[i].len));
		CHECK(c->seg[i].write == (i >= c->nb_readable));
		sum += c->seg[i].len;
	}
	if (complete)
		CHECK(sum == c->readable_len + c->writable_len);
}

/* An accepted chain: exactly the reference's segments. */
static void
check_chain(const struct pvb_virtq_chain *c, const struct ref_chain *rc)
{
	uint32_t i;

	CHECK(rc->v != REF_BAD && rc->nb_segs <= PVB_VIRTQ_MAX_SEGS);
	CHECK(c->nb_segs == rc->nb_segs && c->nb_readable == rc->nb_readable);
	CHECK(c->readable_len == rc->readable_len && c->writable_len == rc->writable_len);
	for (i = 0; i < c->nb_segs; i++)
		CHECK(c->seg[i].host == rc->seg[i].host && c->seg[i].len == rc->seg[i].len &&
		      c->seg[i].write == rc->seg[i].write);
}

/* Two pops of the same chain (one on a copy of the queue): the same answer. */
static void
check_same_chain(const struct pvb_virtq_chain *a, const struct pvb_virtq_chain *b)
{
	uint32_t i;

	CHECK(a->head == b->head && a->fault == b->fault && a->nb_segs == b->nb_segs &&
	      a->nb_readable == b->nb_readable && a->readable_len == b->readable_len &&
	      a->writable_len == b->writable_len && a->nb_segs <= PVB_VIRTQ_MAX_SEGS);
	for (i = 0; i < a->nb_segs; i++)
		CHECK(a->seg[i].host == b->seg[i].host && a->seg[i].len == b->seg[i].len &&
		      a->seg[i].write == b->seg[i].write);
}

/* Two queues after the same pops: the same state. */
static void
check_same_queue(const struct pvb_virtq_dev *a, const struct pvb_virtq_dev *b)
{
	CHECK(a->next_avail_idx == b->next_avail_idx && a->next_used_idx == b->next_used_idx &&
	      a->fault == b->fault && a->needs_reset == b->needs_reset &&
	      a->bad_chains == b->bad_chains);
}

/* Before enable succeeded: no ring to read; nothing may change. */
static int
op_pop_disabled(struct fuzz *f)
{
	uint16_t next = f->q.next_avail_idx;
	int rc = pvb_virtq_dev_pop_avail(&f->q, &f->c);

	CHECK(rc == -EINVAL || rc == -EPIPE);
	rc = pvb_virtq_dev_avail_count(&f->q);
	CHECK(rc == -EINVAL || rc == -EPIPE);
	rc = pvb_virtq_dev_pop_burst(&f->q, f->cs, BURST_MAX);
	CHECK(rc == -EINVAL || rc == -EPIPE);
	rc = pvb_virtq_dev_pop_next(&f->q, &f->c);
	CHECK(rc == -EAGAIN || rc == -EPIPE);
	CHECK(f->q.next_avail_idx == next);
	return rc;
}

/*
 * What a read of avail->idx must give: -EPIPE if the queue is broken or the
 * index more than the queue size ahead (from then on, until a reset), else
 * the number of chains waiting.
 */
static int
ref_avail(struct fuzz *f)
{
	uint16_t pending = (uint16_t)(shared16(&f->avail->idx) - f->q.next_avail_idx);

	if (f->broken || pending > f->q.size)
		f->broken = true;
	return f->broken ? -EPIPE : pending;
}

/* A read of avail->idx answered -EPIPE: stopped until reset, nothing popped. */
static void
check_broken(struct fuzz *f, int r, uint16_t next)
{
	CHECK(r == -EPIPE && f->q.needs_reset && f->q.next_avail_idx == next);
	CHECK(f->q.fault == PVB_VIRTQ_FAULT_AVAIL_IDX);
	f->avail_end = next;
	f->room = 0;
}

/*
 * The chain popped from slot @p slot_idx into @p c, with answer @p r (0 or
 * -EBADMSG), against the reference walk of the head the ring holds there.
 */
static void
check_popped(struct fuzz *f, const struct pvb_virtq_chain *c, int r, uint16_t slot_idx)
{
	static struct ref_chain rc;
	uint16_t head = f->avail->ring[slot_idx & (f->q.size - 1)];

	ref_walk(f, head, &rc);
	CHECK(c->head == head);
	CHECK(r == 0 || r == -EBADMSG);
	CHECK((r == 0) == (c->fault == PVB_VIRTQ_OK));
	check_segs(f, c, r == 0);
	if (r == 0) {
		check_chain(c, &rc);
		f->have_head = true;
		f->head = head;
		f->head_writable = (uint32_t)(c->writable_len < UINT32_MAX ? c->writable_len :
					      UINT32_MAX);
	} else {
		CHECK(rc.v != REF_OK && f->q.fault != PVB_VIRTQ_OK);
	}
}

/* pop_avail; the copy pops with avail_count + pop_next. */
static int
pop_avail_checked(struct fuzz *f)
{
	uint16_t next = f->q.next_avail_idx, used = f->q.next_used_idx;
	uint64_t bad = f->q.bad_chains;
	struct pvb_virtq_dev q2 = f->q;
	int want = ref_avail(f), r, r2;

	r = pvb_virtq_dev_pop_avail(&f->q, &f->c);
	r2 = pvb_virtq_dev_avail_count(&q2);
	CHECK(f->q.next_used_idx == used);
	CHECK(r2 == want);
	if (want < 0) {
		check_broken(f, r, next);
		check_same_queue(&f->q, &q2);
		return r;
	}
	CHECK(!f->q.needs_reset);
	f->avail_end = (uint16_t)(next + want);
	if (want == 0) {
		CHECK(r == -EAGAIN && f->q.next_avail_idx == next);
		f->room = 0;
		return r;
	}
	CHECK(f->q.next_avail_idx == (uint16_t)(next + 1));
	CHECK(f->q.bad_chains == bad + (r != 0));
	check_popped(f, &f->c, r, next);
	if (r != 0)
		CHECK(f->c.fault == f->q.fault);
	f->room = 1;
	r2 = pvb_virtq_dev_pop_next(&q2, &f->c2);
	CHECK(r2 == r);
	check_same_chain(&f->c, &f->c2);
	check_same_queue(&f->q, &q2);
	return r;
}

/*
 * avail_count when the model's count is used up, then pop_next, which pops
 * what that count saw whatever avail->idx says now; the copy pops with
 * pop_avail when it would pop this chain too.
 */
static int
pop_next_checked(struct fuzz *f)
{
	uint16_t next = f->q.next_avail_idx, pending;
	uint64_t bad = f->q.bad_chains;
	struct pvb_virtq_dev q2;
	int want, r, r2;

	if (f->avail_end == next) {
		want = ref_avail(f);
		r = pvb_virtq_dev_avail_count(&f->q);
		CHECK(r == want);
		f->room = 0;
		if (want < 0) {
			check_broken(f, r, next);
			CHECK(pvb_virtq_dev_pop_next(&f->q, &f->c) == -EPIPE);
			return -EPIPE;
		}
		f->avail_end = (uint16_t)(next + want);
		if (want == 0) {
			CHECK(pvb_virtq_dev_pop_next(&f->q, &f->c) == -EAGAIN);
			CHECK(f->q.next_avail_idx == next);
			return -EAGAIN;
		}
	}
	q2 = f->q;
	r = pvb_virtq_dev_pop_next(&f->q, &f->c);
	CHECK(f->q.next_avail_idx == (uint16_t)(next + 1) && !f->q.needs_reset);
	CHECK(f->q.bad_chains == bad + (r != 0));
	check_popped(f, &f->c, r, next);
	if (r != 0)
		CHECK(f->c.fault == f->q.fault);
	f->room++;
	pending = (uint16_t)(shared16(&f->avail->idx) - next);
	if (!f->broken && pending != 0 && pending <= f->q.size) {
		r2 = pvb_virtq_dev_pop_avail(&q2, &f->c2);
		CHECK(r2 == r);
		check_same_chain(&f->c, &f->c2);
		check_same_queue(&f->q, &q2);
	}
	return r;
}

/*
 * pop_burst of @p k; the copy pops as many with pop_avail. Answers as
 * pop_avail would for the last chain popped (kept in f->c), for drain().
 */
static int
pop_burst_checked(struct fuzz *f, uint32_t k)
{
	uint16_t next = f->q.next_avail_idx;
	uint64_t bad = f->q.bad_chains, refused = 0;
	enum pvb_virtq_fault last = PVB_VIRTQ_OK;
	struct pvb_virtq_dev q2 = f->q;
	int want = ref_avail(f), r, r2, ri = 0;
	uint32_t i, n;

	r = pvb_virtq_dev_pop_burst(&f->q, f->cs, k);
	if (want < 0) {
		check_broken(f, r, next);
		CHECK(pvb_virtq_dev_pop_avail(&q2, &f->c2) == -EPIPE);
		check_same_queue(&f->q, &q2);
		return r;
	}
	n = k < (uint32_t)want ? k : (uint32_t)want;
	CHECK(r == (int)n && !f->q.needs_reset);
	CHECK(f->q.next_avail_idx == (uint16_t)(next + n));
	f->avail_end = (uint16_t)(next + want);
	f->room = (uint16_t)n;
	for (i = 0; i < n; i++) {
		ri = f->cs[i].fault == PVB_VIRTQ_OK ? 0 : -EBADMSG;
		check_popped(f, &f->cs[i], ri, (uint16_t)(next + i));
		refused += ri != 0;
		if (ri != 0)
			last = f->cs[i].fault;
		r2 = pvb_virtq_dev_pop_avail(&q2, &f->c2);
		CHECK(r2 == ri);
		check_same_chain(&f->cs[i], &f->c2);
	}
	CHECK(f->q.bad_chains == bad + refused);
	CHECK(refused == 0 || f->q.fault == last);	/* the last refusal's reason */
	check_same_queue(&f->q, &q2);
	if (n == 0)
		return -EAGAIN;
	memcpy(&f->c, &f->cs[n - 1], sizeof(f->c));
	return ri;
}

/* Pop through the input's path (or, mixed, the one @p a picks). */
static int
op_pop(struct fuzz *f, unsigned int a)
{
	enum pop_path p = f->path == PATH_MIXED ? (enum pop_path)(a % 3) : f->path;

	if (!f->enabled)
		return op_pop_disabled(f);
	switch (p) {
	case PATH_AVAIL:
		return pop_avail_checked(f);
	case PATH_NEXT:
		return pop_next_checked(f);
	default:
		return pop_burst_checked(f, 1 + (a & 3));
	}
}

/* Give back @p n popped chains: as many as the window holds, nothing shared written. */
static void
op_unpop(struct fuzz *f, unsigned int n)
{
	uint16_t next = f->q.next_avail_idx, k = (uint16_t)(n < f->room ? n : f->room);

	pvb_virtq_dev_unpop(&f->q, (uint16_t)n);
	CHECK(f->q.next_avail_idx == (uint16_t)(next - k));
	f->room = (uint16_t)(f->room - k);
}

/* The used element at @slot_idx holds {@head, @len}. */
static void
check_used_elem(const struct fuzz *f, uint16_t slot_idx, uint16_t head, uint32_t len)
{
	struct pvb_virtq_used_elem e;

	memcpy(&e, &f->used->ring[slot_idx & (f->q.size - 1)], sizeof(e));
	CHECK(e.id == head && e.len == len);
}

/*
 * push_used_burst of 1..4 elements: all written and published, or (an id
 * >= size, or more than size) nothing.
 */
static void
op_push_burst(struct fuzz *f, unsigned int a)
{
	struct pvb_virtq_used_elem e[4], before[4];
	uint16_t next = f->q.next_used_idx, idx = shared16(&f->used->idx);
	uint32_t n = 1 + (uint32_t)(script_uint(f, 1) & 3), k;
	bool ok = n <= f->q.size;
	int rc;

	for (k = 0; k < n; k++) {
		e[k].id = f->have_head && (a & 8) == 0 && k == 0 ? f->head :
			  (uint32_t)script_uint(f, a & 1 ? 4 : 2);
		e[k].len = (uint32_t)script_uint(f, 4);
		ok &= e[k].id < f->q.size;
		memcpy(&before[k], &f->used->ring[(uint16_t)(next + k) & (f->q.size - 1)],
		       sizeof(before[k]));
	}
	rc = pvb_virtq_dev_push_used_burst(&f->q, e, n);
	if (!ok) {
		CHECK(rc == -EINVAL && f->q.next_used_idx == next);
		CHECK(shared16(&f->used->idx) == idx);
		for (k = 0; k < n; k++)
			CHECK(memcmp(&before[k],
				     &f->used->ring[(uint16_t)(next + k) & (f->q.size - 1)],
				     sizeof(before[k])) == 0);
		return;
	}
	CHECK(rc == (int)n);
	for (k = 0; k < n; k++)
		check_used_elem(f, (uint16_t)(next + k), (uint16_t)e[k].id, e[k].len);
	CHECK(f->q.next_used_idx == (uint16_t)(next + n));
	CHECK(shared16(&f->used->idx) == f->q.next_used_idx);
	f->room = 0;
}

/* push_used, or add_used a few times and one write_used_idx, or push_used_burst. */
static void
op_push(struct fuzz *f, unsigned int a)
{
	uint16_t next = f->q.next_used_idx, head;
	uint32_t len, k, n = a & 4 ? 1 + (a & 3) : 1;
	bool published = n > 1;
	int rc;

	if (!f->enabled)
		return;
	if ((a & 6) == 6) {
		op_push_burst(f, a);
		return;
	}
	for (k = 0; k < n; k++) {
		head = f->have_head && (a & 8) == 0 ? f->head : (uint16_t)script_uint(f, 2);
		len = a & 1 ? (uint32_t)script_uint(f, 4) : f->head_writable;
		rc = n == 1 ? pvb_virtq_dev_push_used(&f->q, head, len) :
			      pvb_virtq_dev_add_used(&f->q, head, len);
		CHECK(rc == (head < f->q.size ? 0 : -EINVAL));
		if (rc != 0)
			continue;
		f->room = 0;	/* a used element written closes the unpop window */
		check_used_elem(f, next, head, len);
		CHECK(f->q.next_used_idx == (uint16_t)(next + 1));
		next++;
		published = true;
	}
	if (n > 1)
		pvb_virtq_dev_write_used_idx(&f->q);
	/* the index is the device's only after it wrote it (the input may hold anything) */
	CHECK(!published || shared16(&f->used->idx) == f->q.next_used_idx);
}

/* should_notify against VIRTIO 1.2 §2.7.7, with the reference's own signalled index. */
static void
op_notify(struct fuzz *f)
{
	uint16_t now = f->q.next_used_idx, event;
	bool want;

	if (!f->enabled)
		return;
	if (f->q.event_idx) {
		event = shared16(pvb_virtq_used_event(f->avail, f->q.size));
		want = !f->signalled_valid || pvb_vring_need_event(event, now, f->signalled);
	} else {
		want = !(shared16(&f->avail->flags) & PVB_VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	CHECK(pvb_virtq_dev_should_notify(&f->q) == want);
	f->signalled = now;
	f->signalled_valid = true;
}

/* set_notification: the word it writes, and the re-check when asking for kicks. */
static void
op_set_notification(struct fuzz *f, bool suppress)
{
	pvb_shared_u16 *ev;
	uint16_t flags, before;
	bool more;

	if (!f->enabled)
		return;
	ev = pvb_virtq_avail_event(f->used, f->q.size);
	flags = shared16(&f->used->flags);
	before = shared16(ev);
	more = pvb_virtq_dev_set_notification(&f->q, suppress);
	if (suppress) {
		CHECK(!more);
	} else {
		CHECK(more == (shared16(&f->avail->idx) != f->q.next_avail_idx));
	}
	if (f->q.event_idx) {
		/* the flags word stays; avail_event moves only when asking */
		CHECK(shared16(&f->used->flags) == flags);
		CHECK(shared16(ev) == (suppress ? before : f->q.next_avail_idx));
	} else {
		CHECK(shared16(&f->used->flags) == (suppress ? PVB_VIRTQ_USED_F_NO_NOTIFY : 0));
		CHECK(shared16(ev) == before);
	}
}

static void
op_header(const struct fuzz *f)
{
	uint16_t flags, idx;

	if (!f->enabled)
		return;
	pvb_virtq_dev_used_header(&f->q, &flags, &idx);
	CHECK(flags == shared16(&f->used->flags) && idx == shared16(&f->used->idx));
	CHECK(pvb_virtq_dev_avail_event_addr(&f->q) == f->ring_gpa[2] + 4 + 8ull * f->q.size);
}

/* The driver wrote status 0, then set the queue up again (maybe at another base). */
static void
op_reset(struct fuzz *f, unsigned int a)
{
	pvb_virtq_dev_reset(&f->q);
	CHECK(f->q.max_size == f->max_size && !f->q.ready && !f->q.needs_reset);
	CHECK(f->q.fault == PVB_VIRTQ_OK && f->q.next_avail_idx == 0 && f->q.next_used_idx == 0);
	if (a & 1)
		f->base = (uint16_t)script_uint(f, 2);
	setup_queue(f);
}

/* ----------------------------------------------------------------------------
 * The driver's pokes
 */

/* A descriptor field, from the script. */
static void
poke_desc(struct fuzz *f, unsigned int a)
{
	struct pvb_virtq_desc *d;
	uint8_t sel;

	if (!f->enabled)
		return;
	d = &f->desc[script_uint(f, 2) & (f->q.size - 1)];
	switch (a & 3) {
	case 0:
		sel = (uint8_t)script_uint(f, 1);
		d->addr = input_gpa(f, sel, script_uint(f, 2));
		break;
	case 1:
		d->len = (uint32_t)script_uint(f, a & 4 ? 4 : 2);
		break;
	case 2:
		d->flags = (uint16_t)script_uint(f, 1);
		break;
	default:
		d->next = (uint16_t)script_uint(f, a & 4 ? 2 : 1);
		break;
	}
}

/* The avail index (a step, or any value), a ring entry, or one of the driver's words. */
static void
poke_avail(struct fuzz *f, unsigned int a)
{
	if (!f->enabled)
		return;
	switch (a & 3) {
	case 0:
		poke16(&f->avail->idx, a & 4 ? (uint16_t)script_uint(f, 2) :
			(uint16_t)(shared16(&f->avail->idx) + (int8_t)script_uint(f, 1)));
		break;
	case 1:
		f->avail->ring[(f->q.next_avail_idx + script_uint(f, 1)) & (f->q.size - 1)] =
			(uint16_t)script_uint(f, a & 4 ? 2 : 1);
		break;
	case 2:
		poke16(pvb_virtq_used_event(f->avail, f->q.size), (uint16_t)script_uint(f, 2));
		break;
	default:
		poke16(&f->avail->flags, (uint16_t)script_uint(f, 1));
		break;
	}
}

/* 1..16 guest bytes anywhere in a region, from the script. */
static void
poke_bytes(struct fuzz *f, unsigned int a)
{
	const struct pvb_virtq_region *r = &f->r[script_uint(f, 1) % f->nreg];
	uint64_t off = script_uint(f, 2);
	uint32_t i;
	uint8_t v;

	for (i = 0; i <= a && script_byte(f, &v); i++)
		((uint8_t *)r->host)[(off + i) % r->size] = v;
}

/* ----------------------------------------------------------------------------
 * The script, and the final drain
 */

enum op {
	OP_POP, OP_PUSH, OP_NOTIFY, OP_SUPPRESS, OP_REQUEST, OP_HEADER, OP_RESET,
	OP_POKE_DESC, OP_POKE_AVAIL, OP_POKE_BYTES, OP_DRAIN, OP_STEP, OP_UNPOP,
};

/* Pop up to @n chains, returning each (a refused one with 0 bytes), then decide. */
static void
drain(struct fuzz *f, unsigned int n)
{
	unsigned int i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = op_pop(f, i);
		if (rc != 0 && rc != -EBADMSG)
			break;
		if (rc == -EBADMSG) {
			f->have_head = f->c.head < f->q.size;
			f->head = f->c.head;
			f->head_writable = 0;
		}
		if (f->have_head)
			op_push(f, 0);
	}
	op_notify(f);
}

static void
run_script(struct fuzz *f)
{
	uint8_t b;

	while (script_byte(f, &b)) {
		unsigned int a = b >> 4;

		switch (b & 15) {
		case OP_POP:
			op_pop(f, a);
			break;
		case OP_UNPOP:
			op_unpop(f, a);
			break;
		case OP_PUSH:
			op_push(f, a);
			break;
		case OP_NOTIFY:
			op_notify(f);
			break;
		case OP_SUPPRESS:
			op_set_notification(f, true);
			break;
		case OP_REQUEST:
			op_set_notification(f, false);
			break;
		case OP_HEADER:
			op_header(f);
			break;
		case OP_RESET:
			op_reset(f, a);
			break;
		case OP_POKE_DESC:
			poke_desc(f, a);
			break;
		case OP_POKE_AVAIL:
			poke_avail(f, a);
			break;
		case OP_POKE_BYTES:
			poke_bytes(f, a);
			break;
		case OP_DRAIN:
			drain(f, a + 1);
			break;
		default:	/* OP_STEP and the rest: pop and return one chain */
			drain(f, 1);
			break;
		}
	}
}

/* ----------------------------------------------------------------------------
 * The driver side against a hostile device
 *
 * An input with bit 4 of byte 1 set:
 *
 *   1   bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 5 IN_ORDER
 *   2   queue size: 1 << (b % 9)
 *   3   base (le16): where avail idx, used idx and the driver's cursors
 *       start, so the 16-bit indices wrap early
 *   5.. the script, to the end of the input (byte 0 is not read)
 *
 * The three rings and the driver's private extra[] are heap blocks of
 * exactly their size (ASan sees any access outside them). The script posts
 * chains (add, add_indirect, add_burst, each with a token never used
 * before), publishes, decides kicks, asks for interrupts or not, reclaims
 * (get_used, get_used_burst of any n, and then, as the PMD's receive path
 * does, checks each length against the chain's writable bytes and marks
 * the queue broken with USED_LEN), marks it broken itself, drains and
 * starts again; and plays the device: completing posted chains as a well
 * behaved device would (in order and in batches that write only their last
 * element, or in any order), and writing anything into used->idx, the used
 * elements, the used flags, avail_event, the descriptor table and the
 * available ring between the calls.
 *
 * A model of the posted chains (token, head, descriptors, writable bytes,
 * avail slot) checks every call:
 *  - add*: the answer (-EINVAL, -ENOTSUP, -EPIPE, -EAGAIN, the count), and
 *    the descriptors and available slot the driver wrote: descriptors that
 *    were free, the buffers as given, whatever the device wrote there before.
 *  - reclaim: the reference reads the used ring as VIRTIO 1.2 §2.7.8-2.7.9
 *    and pvb_virtq.h say: used idx ahead of the chains posted breaks the
 *    queue (USED_IDX); with IN_ORDER the tokens in posting order, the lengths
 *    from the elements, the id checked only in the element that ends what
 *    the device published (USED_ID, nothing reclaimed); without it each id
 *    must be a posted head not yet returned (USED_ID; the chains before it
 *    are returned, -EPIPE on the next call). Tokens and lengths must be
 *    exactly the reference's: so every token comes back at most once and
 *    only if it was posted.
 *  - kick_prepare, enable_cb, disable_cb: the decision and the words
 *    written (VIRTIO 1.2 §2.7.7, §2.7.10).
 *  - drain: exactly the tokens still posted, each once, every descriptor
 *    free after it.
 * After every step: the driver's cursors are the model's; num_free plus
 * the descriptors of the posted chains is the queue size, the free list
 * (private memory, walked here) holds exactly the other descriptors; only
 * posted heads hold a token; a broken queue stays broken, with the fault
 * last named (by a reclaim, or by the caller), and refuses every post and
 * reclaim with -EPIPE.
 */

#define D_FEAT		1
#define D_SIZE		2
#define D_BASE		3
#define D_HDR		5
#define D_MODE		0x10	/* input byte 1: the driver side */
#define D_IN_ORDER	0x20
#define D_QMAX		256
#define D_BUFS		8	/* buffers a chain, at most */
#define D_BURST		64	/* chains a reclaim or a drain takes at most */

/* A posted chain, as the model keeps it (indexed by its head). */
struct dchain {
	bool posted;
	bool published;		/* avail idx covers it */
	bool done;		/* the well-behaved device wrote it used */
	uint32_t token;
	uint16_t ndesc;		/* descriptors it holds in the table */
	uint16_t desc[D_BUFS];
	uint16_t slot;		/* avail idx it was posted at */
	uint64_t writable;	/* bytes the device may write into it */
};

struct dfuzz {
	struct pvb_virtq_drv d;
	uint16_t size, mask;
	uint64_t features;
	struct pvb_virtq_desc *desc;
	struct pvb_virtq_avail *avail;
	struct pvb_virtq_used *used;
	struct pvb_virtq_drv_extra *extra;
	/* the model */
	struct dchain c[D_QMAX];	/* by head */
	uint16_t order[D_QMAX];		/* by avail slot: the head posted there */
	uint16_t posted, posted_desc;
	uint16_t shadow, last, kick_old;
	uint32_t next_token;		/* tokens are 1, 2, ...: never one twice an input */
	bool broken;
	enum pvb_virtq_fault fault;
	/* scratch */
	void *tokens[D_BURST];
	uint32_t lens[D_BURST];
	const uint8_t *script;
	size_t script_len, pos;
};

static uint64_t
d_uint(struct dfuzz *f, unsigned int bytes)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < bytes && f->pos < f->script_len; i++)
		v |= (uint64_t)f->script[f->pos++] << (8 * i);
	return v;
}

static void *
d_token(uint32_t t)
{
	return (void *)(uintptr_t)t;
}

/* The posted chain that @p token names: its head; aborts if none does. */
static uint16_t
d_find(const struct dfuzz *f, void *token)
{
	uint32_t i;

	for (i = 0; i < f->size; i++)
		if (f->c[i].posted && d_token(f->c[i].token) == token)
			return (uint16_t)i;
	abort();
}

/* The fresh queue of an input, or again after a drain (as the PMD after a reconnect). */
static void
d_reset(struct dfuzz *f, uint16_t base)
{
	memset(f->desc, 0, pvb_virtq_desc_bytes(f->size));
	memset(f->avail, 0, pvb_virtq_avail_bytes(f->size));
	memset(f->used, 0, pvb_virtq_used_bytes(f->size));
	CHECK(pvb_virtq_drv_init(&f->d, f->size, f->desc, f->avail, f->used, f->extra,
				 f->features) == 0);
	CHECK(f->d.num_free == f->size && !f->d.broken && f->d.fault == PVB_VIRTQ_OK);
	CHECK(f->d.in_order == ((f->features >> PVB_VIRTIO_F_IN_ORDER) & 1));
	/* as if both sides had been set to base (SET_VRING_BASE) */
	f->d.shadow_avail = f->d.kick_old = f->d.last_used = base;
	poke16(&f->avail->idx, base);
	poke16(&f->used->idx, base);
	memset(f->c, 0, sizeof(f->c));
	f->posted = f->posted_desc = 0;
	f->shadow = f->last = f->kick_old = base;
	f->broken = false;
	f->fault = PVB_VIRTQ_OK;
}

/*
 * The invariants after every step. The free list and the tokens are in the
 * driver's private memory: read here to see that no answer of the device
 * can corrupt the allocator.
 */
static void
d_check(struct dfuzz *f)
{
	static uint8_t owner[D_QMAX];	/* 0 not seen yet, 1 on the free list, 2 in a chain */
	uint16_t i, k, at;
	uint32_t n = 0;

	CHECK(f->d.shadow_avail == f->shadow && f->d.last_used == f->last);
	CHECK(pvb_virtq_drv_posted(&f->d) == f->posted);
	CHECK((uint32_t)f->d.num_free + f->posted_desc == f->size);
	CHECK(f->d.broken == f->broken && f->d.fault == f->fault);
	CHECK(!f->broken || f->fault != PVB_VIRTQ_OK);
	memset(owner, 0, f->size);
	for (i = 0; i < f->size; i++) {
		const struct dchain *c = &f->c[i];

		CHECK(f->extra[i].token == (c->posted ? d_token(c->token) : NULL));
		if (!c->posted)
			continue;
		n++;
		for (k = 0; k < c->ndesc; k++) {
			CHECK(owner[c->desc[k]] == 0);
			owner[c->desc[k]] = 2;
		}
	}
	CHECK(n == f->posted);
	for (k = 0, at = f->d.free_head; k < f->d.num_free; k++) {
		CHECK(at < f->size && owner[at] == 0);
		owner[at] = 1;
		if (k + 1 == f->d.num_free)
			CHECK(f->d.free_tail == at);
		else
			at = f->extra[at].next;
	}
}

/* A fault the caller may name (the driver side's own three). */
static enum pvb_virtq_fault
d_fault(uint8_t b)
{
	static const enum pvb_virtq_fault faults[] = {
		PVB_VIRTQ_FAULT_USED_IDX, PVB_VIRTQ_FAULT_USED_ID, PVB_VIRTQ_FAULT_USED_LEN,
	};

	return faults[b % 3];
}

/*
 * Up to D_BUFS buffers from the script: a count, how many are readable,
 * lengths; @p misorder puts a readable one after a writable one.
 */
static uint32_t
d_bufs(struct dfuzz *f, struct pvb_virtq_buf *b, bool misorder, uint64_t *writable)
{
	uint32_t x = (uint32_t)d_uint(f, 1), n = 1 + x % D_BUFS, nr = (x >> 3) % (n + 1), i;

	*writable = 0;
	for (i = 0; i < n; i++) {
		b[i] = (struct pvb_virtq_buf){ .gpa = 0x100000ull * f->next_token + 0x1000 * i,
					       .len = (uint32_t)d_uint(f, 1) << (x >> 7 ? 9 : 3),
					       .write = i >= nr };
		if (b[i].write)
			*writable += b[i].len;
	}
	if (misorder && nr > 0 && nr < n) {
		b[0].write = true;	/* writable, then readable ones: refused */
		b[n - 1].write = false;
	}
	return n;
}

/* Record chain @p token just posted at slot f->shadow: the head from the available ring. */
static uint16_t
d_posted(struct dfuzz *f, uint32_t token, uint16_t ndesc, uint64_t writable)
{
	uint16_t head = f->avail->ring[f->shadow & f->mask];
	struct dchain *c;

	CHECK(head < f->size && !f->c[head].posted);
	CHECK(f->extra[head].token == d_token(token));
	c = &f->c[head];
	*c = (struct dchain){ .posted = true, .token = token, .ndesc = ndesc,
			      .slot = f->shadow, .writable = writable };
	c->desc[0] = head;
	f->order[f->shadow & f->mask] = head;
	f->shadow++;
	f->posted++;
	f->posted_desc = (uint16_t)(f->posted_desc + ndesc);
	return head;
}

/* The descriptor the driver must have written for buffer @p b. */
static void
d_check_desc(const struct pvb_virtq_desc *t, const struct pvb_virtq_buf *b, uint16_t flags)
{
	CHECK(t->addr == b->gpa && t->len == b->len);
	CHECK(t->flags == (uint16_t)(flags | (b->write ? PVB_VIRTQ_DESC_F_WRITE : 0)));
}

/* avail->idx now says f->shadow: every posted chain is the device's to take. */
static void
d_published(struct dfuzz *f)
{
	uint32_t i;

	CHECK(shared16(&f->avail->idx) == f->shadow);
	for (i = 0; i < f->size; i++)
		f->c[i].published |= f->c[i].posted;
}

static void
d_add(struct dfuzz *f, unsigned int a)
{
	struct pvb_virtq_buf b[D_BUFS];
	bool misorder = (a & 3) == 3;
	uint64_t writable;
	uint32_t n = d_bufs(f, b, misorder, &writable), k;
	uint32_t token = f->next_token++;
	uint16_t head, at;
	bool bad = misorder && b[0].write && !b[n - 1].write;
	int rc, want;

	want = bad || n > f->size ? -EINVAL : f->broken ? -EPIPE :
	       f->d.num_free < n ? -EAGAIN : 0;
	rc = pvb_virtq_drv_add(&f->d, b, n, d_token(token));
	CHECK(rc == want);
	if (rc != 0)
		return;
	head = d_posted(f, token, (uint16_t)n, writable);
	/* the chain in the table, linked through descriptors that were free */
	for (k = 0, at = head; k < n; k++) {
		CHECK(at < f->size);
		d_check_desc(&f->desc[at], &b[k], k + 1 < n ? PVB_VIRTQ_DESC_F_NEXT : 0);
		f->c[head].desc[k] = at;
		at = f->desc[at].next;
	}
	if (a & 4) {
		pvb_virtq_drv_publish(&f->d);
		d_published(f);
	}
}

static void
d_add_indirect(struct dfuzz *f, unsigned int a)
{
	struct pvb_virtq_buf b[D_BUFS];
	struct pvb_virtq_desc e;
	bool misorder = (a & 3) == 3;
	uint64_t writable, gpa = 0xfff00000ull + 16 * (uint64_t)d_uint(f, 1);
	uint32_t n = d_bufs(f, b, misorder, &writable), k;
	uint32_t token = f->next_token++;
	bool bad = misorder && b[0].write && !b[n - 1].write;
	uint8_t *table = malloc(16 * n);	/* exactly: ASan sees a write past it */
	uint16_t head;
	int rc, want;

	CHECK(table != NULL);
	want = bad || n > f->size ? -EINVAL : !f->d.indirect ? -ENOTSUP : f->broken ? -EPIPE : f->d.num_free < 1 ? -EAGAIN : 0;
	rc = pvb_virtq_drv_add_indirect(&f->d, b, n, table, gpa, d_token(token));
	CHECK(rc == want);
	if (rc == 0) {
		head = d_posted(f, token, 1, writable);
		CHECK(f->desc[head].addr == gpa && f->desc[head].len == 16 * n &&
		      f->desc[head].flags == PVB_VIRTQ_DESC_F_INDIRECT);
		for (k = 0; k < n; k++) {
			memcpy(&e, table + 16 * k, sizeof(e));
			d_check_desc(&e, &b[k], k + 1 < n ? PVB_VIRTQ_DESC_F_NEXT : 0);
			CHECK(k + 1 == n || e.next == k + 1);
		}
		if (a & 4) {
			pvb_virtq_drv_publish(&f->d);
			d_published(f);
		}
	}
	free(table);
}

/* add_burst of one-buffer chains; @p a & 8: one token NULL (all refused). */
static void
d_add_burst(struct dfuzz *f, unsigned int a)
{
	struct pvb_virtq_buf b[D_BURST];
	uint32_t n = (uint32_t)d_uint(f, 1) % (D_BURST + 1), i, want;
	uint32_t first = f->next_token, free0 = f->d.num_free;
	uint64_t w;
	int rc;

	for (i = 0; i < n; i++) {
		b[i] = (struct pvb_virtq_buf){ .gpa = 0x100000ull * (first + i),
					       .len = 64u << (i % 6), .write = (a >> (i % 4)) & 1 };
		f->tokens[i] = d_token(first + i);
	}
	if ((a & 8) && n > 0)
		f->tokens[n / 2] = NULL;
	rc = pvb_virtq_drv_add_burst(&f->d, b, f->tokens, n);
	if ((a & 8) && n > 0) {
		CHECK(rc == -EINVAL);
		return;
	}
	if (f->broken) {
		CHECK(rc == -EPIPE);
		return;
	}
	want = n < free0 ? n : free0;
	CHECK(rc >= 0 && (uint32_t)rc == want);
	f->next_token += (uint32_t)rc;
	for (i = 0; i < (uint32_t)rc; i++) {
		uint16_t head;

		w = b[i].write ? b[i].len : 0;
		head = d_posted(f, first + i, 1, w);
		d_check_desc(&f->desc[head], &b[i], 0);
	}
	/* published, with anything add left unpublished (nothing is when none was posted) */
	if (rc > 0)
		d_published(f);
}

static void
d_publish(struct dfuzz *f)
{
	pvb_virtq_drv_publish(&f->d);
	d_published(f);
}

/* kick_prepare: VIRTIO 1.2 §2.7.10, from what the device wrote. */
static void
d_kick(struct dfuzz *f)
{
	uint16_t old = f->kick_old, now = f->shadow;
	bool want;

	if (old == now)
		want = false;
	else if (f->d.event_idx)
		want = pvb_vring_need_event(shared16(pvb_virtq_avail_event(f->used, f->size)),
					    now, old);
	else
		want = !(shared16(&f->used->flags) & PVB_VIRTQ_USED_F_NO_NOTIFY);
	CHECK(pvb_virtq_drv_kick_prepare(&f->d) == want);
	f->kick_old = now;
}

/* enable_cb / disable_cb: the word written, and enable's re-check. */
static void
d_cb(struct dfuzz *f, bool enable)
{
	pvb_shared_u16 *ev = pvb_virtq_used_event(f->avail, f->size);
	uint16_t flags = shared16(&f->avail->flags), before = shared16(ev);

	if (enable) {
		CHECK(pvb_virtq_drv_enable_cb(&f->d) == (shared16(&f->used->idx) != f->last));
		if (f->d.event_idx)
			CHECK(shared16(ev) == f->last && shared16(&f->avail->flags) == flags);
		else
			CHECK(shared16(&f->avail->flags) == 0 && shared16(ev) == before);
	} else {
		pvb_virtq_drv_disable_cb(&f->d);
		CHECK(shared16(ev) == before);
		CHECK(shared16(&f->avail->flags) ==
		      (f->d.event_idx ? flags : PVB_VIRTQ_AVAIL_F_NO_INTERRUPT));
	}
}

/* Chain @p head back from the device: out of the model. */
static void
d_unpost(struct dfuzz *f, uint16_t head)
{
	struct dchain *c = &f->c[head];

	CHECK(c->posted);
	c->posted = false;
	c->done = false;
	f->posted--;
	f->posted_desc = (uint16_t)(f->posted_desc - c->ndesc);
}

/*
 * get_used (a & 1) or get_used_burst of n from the script, against the
 * reference; then with a & 2 the lengths checked as the receive path does.
 */
static void
d_reclaim(struct dfuzz *f, unsigned int a)
{
	static uint16_t heads[D_BURST];
	uint32_t n = a & 1 ? 1 : (uint32_t)d_uint(f, 1) % (D_BURST + 1), i, k = 0;
	uint16_t idx = shared16(&f->used->idx), ready = (uint16_t)(idx - f->last), last = f->last;
	struct pvb_virtq_used_elem e;
	bool bad_len = false;
	int rc, want;

	/* the reference: which chains come back, and the answer */
	if (f->broken) {
		want = -EPIPE;
	} else if (ready > f->posted) {
		want = -EPIPE;
		f->broken = true;
		f->fault = PVB_VIRTQ_FAULT_USED_IDX;
	} else if (f->d.in_order) {
		k = n < ready ? n : ready;
		memcpy(&e, &f->used->ring[(uint16_t)(idx - 1) & f->mask], sizeof(e));
		if (k != 0 && k == ready && e.id != f->order[(uint16_t)(idx - 1) & f->mask]) {
			k = 0;
			f->broken = true;
			f->fault = PVB_VIRTQ_FAULT_USED_ID;
		}
		for (i = 0; i < k; i++) {
			heads[i] = f->order[(uint16_t)(last + i) & f->mask];
			/* posted in order, reclaimed in order: slot last + i is the oldest */
			CHECK(f->c[heads[i]].posted && f->c[heads[i]].slot == (uint16_t)(last + i));
		}
		want = f->broken ? -EPIPE : (int)k;
	} else {
		for (k = 0; k < n && k < ready; k++) {
			memcpy(&e, &f->used->ring[(uint16_t)(last + k) & f->mask], sizeof(e));
			if (e.id >= f->size || !f->c[e.id].posted) {
				f->broken = true;
				f->fault = PVB_VIRTQ_FAULT_USED_ID;
				break;
			}
			heads[k] = (uint16_t)e.id;
			f->c[e.id].posted = false;	/* a second element naming it is refused */
		}
		for (i = 0; i < k; i++)
			f->c[heads[i]].posted = true;
		want = k != 0 || !f->broken ? (int)k : -EPIPE;
	}
	if (a & 1) {
		rc = pvb_virtq_drv_get_used(&f->d, &f->tokens[0], &f->lens[0]);
		CHECK(want == -EPIPE || want <= 1);
	} else {
		rc = pvb_virtq_drv_get_used_burst(&f->d, f->tokens, f->lens, n);
	}
	CHECK(rc == want);
	for (i = 0; i < (rc > 0 ? (uint32_t)rc : 0); i++) {
		struct dchain *c = &f->c[heads[i]];

		CHECK(f->tokens[i] == d_token(c->token));
		memcpy(&e, &f->used->ring[(uint16_t)(last + i) & f->mask], sizeof(e));
		CHECK(f->lens[i] == e.len);
		bad_len |= e.len > c->writable;
		d_unpost(f, heads[i]);
	}
	f->last = (uint16_t)(last + (rc > 0 ? (uint32_t)rc : 0));
	/* as net_pvb_virtio's receive path: a length beyond the buffer breaks the queue */
	if ((a & 2) && bad_len) {
		pvb_virtq_drv_set_broken(&f->d, PVB_VIRTQ_FAULT_USED_LEN);
		f->broken = true;
		f->fault = PVB_VIRTQ_FAULT_USED_LEN;
	}
}

/* A broken queue refuses every post and reclaim; nothing moves. */
static void
d_check_refuses(struct dfuzz *f)
{
	struct pvb_virtq_buf b = { .gpa = 0x1000, .len = 64, .write = true };
	uint8_t table[16];
	void *tok = d_token(~0u);

	CHECK(pvb_virtq_drv_add(&f->d, &b, 1, tok) == -EPIPE);
	CHECK(pvb_virtq_drv_add_burst(&f->d, &b, &tok, 1) == -EPIPE);
	if (f->d.indirect)
		CHECK(pvb_virtq_drv_add_indirect(&f->d, &b, 1, table, 0x2000, tok) == -EPIPE);
	CHECK(pvb_virtq_drv_get_used_burst(&f->d, f->tokens, f->lens, D_BURST) == -EPIPE);
	CHECK(pvb_virtq_drv_get_used(&f->d, &f->tokens[0], &f->lens[0]) == -EPIPE);
}

static void
d_set_broken(struct dfuzz *f)
{
	enum pvb_virtq_fault why = d_fault((uint8_t)d_uint(f, 1));

	pvb_virtq_drv_set_broken(&f->d, why);
	f->broken = true;
	f->fault = why;
	d_check(f);
	d_check_refuses(f);
}

/*
 * drain in pieces of 1 + (a & 7) (a & 8: up to D_BURST): exactly the tokens
 * posted, each once; then the queue starts again, at 0 or a base from the
 * script, as the PMD's next session does.
 */
static void
d_drain(struct dfuzz *f, unsigned int a)
{
	uint32_t piece = a & 8 ? D_BURST : 1 + (a & 7), k, i, total = 0;
	uint16_t posted = f->posted;

	if (f->broken)
		d_check_refuses(f);
	while ((k = pvb_virtq_drv_drain(&f->d, f->tokens, piece)) != 0) {
		CHECK(k <= piece);
		for (i = 0; i < k; i++)
			d_unpost(f, d_find(f, f->tokens[i]));
		total += k;
		CHECK(total <= posted);
	}
	CHECK(total == posted && f->posted == 0 && f->d.num_free == f->size);
	d_reset(f, a & 8 ? (uint16_t)d_uint(f, 2) : 0);
}

/*
 * A well-behaved device completes up to @p count published chains it has
 * not completed yet, writing lengths up to their writable bytes (or any,
 * with a & 1). In order (a & 2, always with IN_ORDER): the next ones by
 * slot, and with IN_ORDER and a & 4 as one batch that writes only its last
 * element (VIRTIO 1.2 §2.7.9). Otherwise: any of them, picked by the script.
 */
static void
d_complete(struct dfuzz *f, unsigned int a)
{
	uint16_t idx = shared16(&f->used->idx), head, i, n = 0;
	uint32_t count = 1 + (uint32_t)d_uint(f, 1) % 16, k, pick;
	bool in_order = f->d.in_order || (a & 2), batch = f->d.in_order && (a & 4);
	struct pvb_virtq_used_elem e;

	for (k = 0; k < count; k++) {
		if (in_order) {
			/* the device's next slot is where its own used idx is */
			uint16_t slot = (uint16_t)(idx + n);

			if ((uint16_t)(slot - f->last) >= f->posted)
				break;
			head = f->order[slot & f->mask];
			if (!f->c[head].posted || !f->c[head].published || f->c[head].done ||
			    f->c[head].slot != slot)
				break;
		} else {
			pick = (uint32_t)d_uint(f, 1);
			head = 0;
			for (i = 0; i < f->size; i++) {
				head = (uint16_t)((pick + i) & f->mask);
				if (f->c[head].posted && f->c[head].published && !f->c[head].done)
					break;
			}
			if (i == f->size)
				break;
		}
		e.id = head;
		e.len = a & 1 ? (uint32_t)d_uint(f, 4) :
			(uint32_t)(f->c[head].writable == 0 ? 0 :
				   d_uint(f, 2) % (f->c[head].writable + 1));
		f->c[head].done = true;
		if (!batch)
			memcpy(&f->used->ring[(uint16_t)(idx + n) & f->mask], &e, sizeof(e));
		n++;
	}
	/* a batch: only its last element is written (the others' lengths are stale) */
	if (batch && n != 0)
		memcpy(&f->used->ring[(uint16_t)(idx + n - 1) & f->mask], &e, sizeof(e));
	poke16(&f->used->idx, (uint16_t)(idx + n));
}

/* What a hostile device writes: used idx, used elements, its own words. */
static void
d_poke_used(struct dfuzz *f, unsigned int a)
{
	struct pvb_virtq_used_elem *e;

	switch (a & 3) {
	case 0:
		poke16(&f->used->idx, a & 4 ? (uint16_t)d_uint(f, 2) :
		       (uint16_t)(shared16(&f->used->idx) + (int8_t)d_uint(f, 1)));
		break;
	case 1:
		e = &f->used->ring[(f->last + d_uint(f, 1)) & f->mask];
		e->id = (uint32_t)d_uint(f, a & 4 ? 4 : 1);
		if (a & 8)
			e->len = (uint32_t)d_uint(f, 4);
		break;
	case 2:
		poke16(pvb_virtq_avail_event(f->used, f->size), (uint16_t)d_uint(f, 2));
		break;
	default:
		poke16(&f->used->flags, (uint16_t)d_uint(f, 1));
		break;
	}
}

/* The device writing where only the driver writes: the table and the available ring. */
static void
d_poke_driver_area(struct dfuzz *f, unsigned int a)
{
	uint8_t *p;
	size_t n, off;
	uint32_t i, len = 1 + (a >> 1);

	p = a & 1 ? (uint8_t *)f->avail : (uint8_t *)f->desc;
	n = a & 1 ? pvb_virtq_avail_bytes(f->size) : pvb_virtq_desc_bytes(f->size);
	off = (size_t)d_uint(f, 2);
	for (i = 0; i < len; i++)
		p[(off + i) % n] = (uint8_t)d_uint(f, 1);
}

enum d_op {
	D_ADD, D_ADD_INDIRECT, D_ADD_BURST, D_PUBLISH, D_KICK, D_ENABLE_CB, D_DISABLE_CB,
	D_RECLAIM, D_COMPLETE, D_POKE_USED, D_POKE_DRIVER, D_SET_BROKEN, D_DRAIN, D_ROUND,
};

static void
d_run(const uint8_t *data, size_t size)
{
	static struct dfuzz f;
	uint8_t b, feat = (uint8_t)get_le(data, size, D_FEAT, 1);
	unsigned int a;

	memset(&f, 0, sizeof(f));
	f.size = (uint16_t)(1u << (get_le(data, size, D_SIZE, 1) % 9));
	f.mask = (uint16_t)(f.size - 1);
	f.features = (feat & 1 ? 1ull << PVB_VIRTIO_F_EVENT_IDX : 0) |
		     (feat & 2 ? 1ull << PVB_VIRTIO_F_INDIRECT_DESC : 0) |
		     (feat & D_IN_ORDER ? 1ull << PVB_VIRTIO_F_IN_ORDER : 0);
	f.desc = malloc(pvb_virtq_desc_bytes(f.size));
	f.avail = malloc(pvb_virtq_avail_bytes(f.size));
	f.used = malloc(pvb_virtq_used_bytes(f.size));
	f.extra = malloc(f.size * sizeof(*f.extra));
	CHECK(f.desc != NULL && f.avail != NULL && f.used != NULL && f.extra != NULL);
	f.next_token = 1;
	d_reset(&f, (uint16_t)get_le(data, size, D_BASE, 2));
	f.script = data + (size < D_HDR ? size : D_HDR);
	f.script_len = size < D_HDR ? 0 : size - D_HDR;
	while (f.pos < f.script_len) {
		b = (uint8_t)d_uint(&f, 1);
		a = b >> 4;
		switch (b & 15) {
		case D_ADD:
			d_add(&f, a);
			break;
		case D_ADD_INDIRECT:
			d_add_indirect(&f, a);
			break;
		case D_ADD_BURST:
			d_add_burst(&f, a);
			break;
		case D_PUBLISH:
			d_publish(&f);
			break;
		case D_KICK:
			d_kick(&f);
			break;
		case D_ENABLE_CB:
			d_cb(&f, true);
			break;
		case D_DISABLE_CB:
			d_cb(&f, false);
			break;
		case D_RECLAIM:
			d_reclaim(&f, a);
			break;
		case D_COMPLETE:
			d_complete(&f, a);
			break;
		case D_POKE_USED:
			d_poke_used(&f, a);
			break;
		case D_POKE_DRIVER:
			d_poke_driver_area(&f, a);
			break;
		case D_SET_BROKEN:
			d_set_broken(&f);
			break;
		case D_DRAIN:
			d_drain(&f, a);
			break;
		default:	/* D_ROUND and the rest: post, complete, reclaim, as a datapath */
			d_add_burst(&f, a & 7);
			d_kick(&f);
			d_complete(&f, a & 6);
			d_reclaim(&f, 2);
			break;
		}
		d_check(&f);
		if (f.broken)
			d_check_refuses(&f);
	}
	/* the device goes: what is still posted comes back by drain */
	d_drain(&f, 8);
	d_check(&f);
	free(f.desc);
	free(f.avail);
	free(f.used);
	free(f.extra);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz f;
	uint32_t i;

	if (get_le(data, size, H_FEAT, 1) & D_MODE) {
		d_run(data, size);
		return 0;
	}
	memset(&f, 0, sizeof(f));
	if (!input_load(&f, data, size))
		goto out;
	CHECK(pvb_virtq_mem_init(&f.mem, f.r, f.nreg) == ref_mem_init(&f));
	if (ref_mem_init(&f) != 0)
		goto out;
	pvb_virtq_dev_init(&f.q, f.max_size);
	CHECK(f.q.max_size == f.max_size && f.q.size == 0 && !pvb_virtq_dev_is_valid(&f.q));
	/* not enabled yet: nothing to pop */
	CHECK(pvb_virtq_dev_pop_avail(&f.q, &f.c) == -EINVAL);
	CHECK(pvb_virtq_dev_avail_count(&f.q) == -EINVAL);
	CHECK(pvb_virtq_dev_pop_burst(&f.q, f.cs, BURST_MAX) == -EINVAL);
	CHECK(pvb_virtq_dev_pop_next(&f.q, &f.c) == -EAGAIN);
	setup_queue(&f);
	run_script(&f);
	/* at most every chain the ring can hold, and one more to see it empty */
	drain(&f, f.q.size + 1u);
out:
	for (i = 0; i < MAX_REG; i++)
		free(f.r[i].host);
	return 0;
}

/* ----------------------------------------------------------------------------
 * The custom mutator: plant valid chains
 */

#define PLANT_QMAX	64	/* queue sizes 1..16, or 64 with a long chain */
#define PLANT_LONG	64	/* entries in a long indirect table, at most */
#define PLANT_MEM	4096	/* guest bytes in all, at most */

struct plant {
	uint32_t s;		/* xorshift state */
	uint32_t nreg;
	uint64_t gpa;		/* region 0; the others follow it */
	uint32_t size[MAX_REG];
	uint32_t total;
	uint16_t n;		/* queue size */
	uint64_t features;
	uint16_t base;
	uint8_t path;		/* the pop path (input byte 1, bits 2-3) */
	uint32_t chains;	/* short chains (1..4 buffers) to add */
	uint32_t long_n;	/* buffers of one long indirect chain, or 0 */
	/* in region 0; buffers (and some tables) from bufs_off to the end of memory */
	size_t used_off, tables_off, long_off, bufs_off;
	uint8_t mem[PLANT_MEM];	/* the regions back to back, as in the input */
};

static uint32_t
plant_rand(struct plant *p)
{
	p->s ^= p->s << 13;
	p->s ^= p->s >> 17;
	p->s ^= p->s << 5;
	return p->s;
}

/*
 * Geometry: adjacent regions; rings at the start of region 0, then a
 * 4-entry table per short chain, then buffers to the end. One time in 8, a
 * long chain as well: a queue of 64, a table of 33..64 entries, and small
 * regions after region 0 so that its buffers straddle them (often more
 * segments than a popped chain holds).
 */
static bool
plant_geometry(struct plant *p, size_t room)
{
	static const uint64_t bases[4] = {
		0x1000, 0x7ffff000, 0xfffffffffff00000ull, 0x123450,
	};
	bool lng = plant_rand(p) % 8 == 0;
	uint32_t i;

	p->n = lng ? 64 : (uint16_t)(1u << (plant_rand(p) % 5));
	p->chains = 1 + plant_rand(p) % (lng ? 4 : p->n);
	p->long_n = lng ? 33 + plant_rand(p) % (PLANT_LONG - 32) : 0;
	p->nreg = (lng ? 2 : 1) + plant_rand(p) % (lng ? MAX_REG - 1 : MAX_REG);
	p->gpa = bases[plant_rand(p) % 4];
	p->features = (plant_rand(p) & 1 ? 1ull << PVB_VIRTIO_F_EVENT_IDX : 0) |
		      (lng || plant_rand(p) & 1 ? 1ull << PVB_VIRTIO_F_INDIRECT_DESC : 0);
	p->base = plant_rand(p) & 1 ? (uint16_t)(0 - plant_rand(p) % 8) : (uint16_t)plant_rand(p);
	p->path = (uint8_t)(plant_rand(p) & 3);
	p->used_off = (pvb_virtq_desc_bytes(p->n) + pvb_virtq_avail_bytes(p->n) + 3) & ~(size_t)3;
	p->tables_off = (p->used_off + pvb_virtq_used_bytes(p->n) + 15) & ~(size_t)15;
	p->long_off = p->tables_off + (size_t)p->chains * 64;
	p->bufs_off = p->long_off + 16 * (size_t)p->long_n;
	p->size[0] = (uint32_t)p->bufs_off + 64 + plant_rand(p) % (lng ? 128 : 512);
	p->total = p->size[0];
	for (i = 1; i < p->nreg; i++) {
		p->size[i] = lng ? 64 + plant_rand(p) % 64 : 1 + plant_rand(p) % 512;
		p->total += p->size[i];
	}
	return p->total <= room && p->total <= PLANT_MEM;
}

/*
 * A buffer of 1..64 bytes in the buffer area: anywhere (so it may straddle
 * regions), or with @cross across the end of region 0.
 */
static struct pvb_virtq_buf
plant_buf(struct plant *p, bool write, bool cross)
{
	uint32_t span = p->total - (uint32_t)p->bufs_off, len, end0 = p->size[0];
	uint64_t off;

	if (cross && p->nreg > 1) {
		len = 2 + plant_rand(p) % 63;
		off = end0 - 1 - plant_rand(p) % (len - 1);
	} else {
		len = 1 + plant_rand(p) % (span < 64 ? span : 64);
		off = p->bufs_off + plant_rand(p) % (span - len + 1);
	}
	return (struct pvb_virtq_buf){ .gpa = p->gpa + off, .len = len, .write = write };
}

/* Where a short chain's table goes: its own slot, or anywhere among the buffers. */
static size_t
plant_table(struct plant *p, uint32_t k, uint32_t nb)
{
	uint32_t span = p->total - (uint32_t)p->bufs_off;

	if (plant_rand(p) % 4 != 0 || span < 16 * nb)
		return p->tables_off + 64 * (size_t)k;
	/* unaligned, and straddling regions now and then: the spec allows both */
	return p->bufs_off + plant_rand(p) % (span - 16 * nb + 1);
}

/* The long chain through one indirect table: half its buffers cross a region end. */
static void
plant_long(struct plant *p, struct pvb_virtq_drv *d)
{
	struct pvb_virtq_buf b[PLANT_LONG];
	uint32_t i, nr = plant_rand(p) % (p->long_n + 1);

	for (i = 0; i < p->long_n; i++)
		b[i] = plant_buf(p, i >= nr, plant_rand(p) & 1);
	(void)pvb_virtq_drv_add_indirect(d, b, p->long_n, p->mem + p->long_off,
					 p->gpa + p->long_off, (void *)(uintptr_t)1000);
}

/* Chains added and published by the library's driver over the scratch memory. */
static void
plant_chains(struct plant *p)
{
	static struct pvb_virtq_drv_extra extra[PLANT_QMAX];
	struct pvb_virtq_desc table[4];
	struct pvb_virtq_buf b[4];
	struct pvb_virtq_drv d;
	uint32_t k, i, nb, nr;
	uint8_t *m = p->mem;
	void *tok;
	size_t t;

	memset(p->mem, 0, p->total);
	if (pvb_virtq_drv_init(&d, p->n, m, m + pvb_virtq_desc_bytes(p->n), m + p->used_off,
			       extra, p->features) != 0)
		return;
	/* as if SET_VRING_BASE had set both sides at base */
	d.shadow_avail = d.kick_old = d.last_used = p->base;
	poke16(&d.used->idx, p->base);
	if (p->long_n != 0 && d.indirect)
		plant_long(p, &d);
	for (k = 0; k < p->chains; k++) {
		tok = (void *)(uintptr_t)(k + 1);
		nb = 1 + plant_rand(p) % 4;
		nr = plant_rand(p) % (nb + 1);
		for (i = 0; i < nb; i++)
			b[i] = plant_buf(p, i >= nr, false);
		t = plant_table(p, k, nb);
		/*
		 * The driver writes a table as struct pvb_virtq_desc, so it wants it
		 * aligned: write it aligned, then copy it where it goes.
		 */
		if (d.indirect && plant_rand(p) % 3 == 0 &&
		    pvb_virtq_drv_add_indirect(&d, b, nb, table, p->gpa + t,
					       (void *)(uintptr_t)(k + 1)) == 0)
			memcpy(m + t, table, nb * sizeof(*table));
		else if (nb == 1 && plant_rand(p) % 2 == 0)
			(void)pvb_virtq_drv_add_burst(&d, b, &tok, 1);
		else
			(void)pvb_virtq_drv_add(&d, b, nb, (void *)(uintptr_t)(k + 1));
	}
	pvb_virtq_drv_publish(&d);
	if (plant_rand(p) & 1)
		pvb_virtq_drv_enable_cb(&d);
}

static void
put_le(uint8_t *d, uint64_t v, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++)
		d[i] = (uint8_t)(v >> (8 * i));
}

/* The header for the planted geometry: adjacent regions, rings by region 0. */
static void
plant_header(const struct plant *p, uint8_t *data)
{
	uint64_t gpa = p->gpa;
	uint32_t i;

	data[H_NREG] = (uint8_t)(p->nreg - 1);
	data[H_FEAT] = (uint8_t)(((p->features >> PVB_VIRTIO_F_EVENT_IDX) & 1) |
				 (((p->features >> PVB_VIRTIO_F_INDIRECT_DESC) & 1) << 1) |
				 (p->path << 2));
	put_le(data + H_MAX, p->n, 2);
	put_le(data + H_SIZE, p->n, 2);
	put_le(data + H_BASE, p->base, 2);
	for (i = 0; i < MAX_REG; i++) {
		put_le(data + H_REG + 10 * i, gpa, 8);
		put_le(data + H_REG + 10 * i + 8, i < p->nreg ? p->size[i] - 1 : 0, 2);
		gpa += i < p->nreg ? p->size[i] : 0;
	}
	data[H_RING] = 0;
	put_le(data + H_RING + 1, 0, 4);
	data[H_RING + 5] = 0;
	put_le(data + H_RING + 6, pvb_virtq_desc_bytes(p->n), 4);
	data[H_RING + 10] = 0;
	put_le(data + H_RING + 11, p->used_off, 4);
}

/*
 * Blind mutation seldom builds a chain the device accepts, so the deep
 * paths would go unseen. Now and then replace the input's memory with
 * chains the library's driver wrote (the script is kept, or made up); the
 * ordinary mutations then make near-valid chains out of them.
 */
size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	static struct plant p;
	uint8_t script[255];
	size_t l, i;

	size = LLVMFuzzerMutate(data, size, max_size);
	/* a driver-side input has no guest memory to plant in */
	if (seed % PLANT_ONE_IN != 0 || max_size < IN_HDR + 256 ||
	    (size > H_FEAT && (data[H_FEAT] & D_MODE)))
		return size;
	p.s = seed | 1;
	l = input_script_len(data, size);
	memcpy(script, data + size - l, l);
	if (l == 0) {
		l = plant_rand(&p) % 48;
		for (i = 0; i < l; i++)
			script[i] = (uint8_t)plant_rand(&p);
	}
	if (!plant_geometry(&p, max_size - IN_HDR - l))
		return size;
	plant_chains(&p);
	plant_header(&p, data);
	data[H_SCRIPT] = (uint8_t)l;
	memcpy(data + IN_HDR, p.mem, p.total);
	memcpy(data + IN_HDR + p.total, script, l);
	return IN_HDR + p.total + l;
}

#if defined(__clang__)
#pragma clang attribute pop
#endif
