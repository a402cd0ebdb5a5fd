/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Stress tests for lib/vmbus (suite 'stress').
 *
 * One workload, two places for the reader (a second thread, or a forked
 * process) and two views of the same memfd (one flat MAP_SHARED mapping, so
 * packets split at the end of the data area; or each side's own
 * pvb_vmbus_mem_map_double(), so they never do): four tests.
 *
 * The writer sends STRESS_PACKETS packets through one ring direction with a
 * 64 KiB data area, so the ring wraps every few dozen packets and is full
 * and empty all the time. Everything about packet k (its type, flags,
 * payload length, ranges, payload bytes) is a function of k alone, so the
 * reader recomputes what it must find: k in trans_id, k in the first payload
 * bytes and a 64-bit hash of the payload in its last 8 bytes (a short
 * payload is compared whole instead), the type header and every range, zero
 * padding, and the trailer. Types: ~86% in-band, ~5% each completion,
 * transfer-page (1..4 ranges) and GPA-direct (1..3 ranges of 1..6 pages,
 * read back through a 4-entry pfn buffer, so long ranges come back
 * truncated). Payload lengths: see size_pick().
 *
 * The writer commits every 1..32 packets (random), the reader publishes its
 * read index every 1..32 packets (random) and whenever the ring is empty,
 * and after one packet in STALL_ONE_IN stops until the writer is blocked
 * on a full ring, so the wait handshake runs often however fast it reads.
 * Neither side polls blindly: each waits for the other's signal, so a lost
 * wakeup in the library's handshakes shows up as a stuck run (and fails at
 * the deadline) rather than being papered over by polling.
 *  - Writer, ring full: commit, then pvb_vmbus_out_wait_prepare() (the
 *    pending_send_sz feature is on); when it says wait, spin until the
 *    reader rings the space bell (its pvb_vmbus_in_commit() said signal),
 *    then pvb_vmbus_out_wait_end() and retry.
 *  - Reader, ring empty: commit, then pvb_vmbus_in_unmask_and_check(); when
 *    it says empty, spin until the writer rings the data bell (its
 *    pvb_vmbus_out_commit() said signal), then mask again and drain. The
 *    reader keeps interrupt_mask set while it drains.
 * Every wait consumes at least one bell, so the signal counts must cover the
 * waits; the test checks that, and prints the rest as information.
 *
 * Two cores are all we assume: both sides spin with pvb_cpu_relax() and
 * yield now and then, which completes even when they share one core.
 * Nothing here is timed against a limit; the rates printed are information.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvb_vmbus.h"
#include "stress_peer.h"

#ifndef STRESS_PACKETS		/* -DSTRESS_PACKETS=100000 for a quick sanitizer run */
#define STRESS_PACKETS		(10u * 1000 * 1000)	/* per test */
#endif
#define RING_DSIZE		(64u * 1024)		/* the data area: wraps constantly */
#define RING_LEN		(PVB_VMBUS_CTL_SIZE + RING_DSIZE)
#define CTL_LEN			PVB_VMBUS_PAGE	/* struct stress_ctl, after the ring */
#define MAX_PAYLOAD		2048u
#define MAX_BATCH		32u	/* packets per commit, either side */
#define MAX_XFER		4u	/* transfer-page ranges per packet */
#define MAX_GPA			3u	/* GPA ranges per packet */
#define MAX_GPA_PAGES		6u	/* pages per GPA range */
#define READER_PFNS		4u	/* the reader's pfn buffer: longer ranges cut */
#define SHORT_PAYLOAD		24u	/* shorter: compared whole, not hashed */
#define POOL_LEN		(64u * 1024)	/* random bytes payloads are cut from */
#define STALL_ONE_IN		1024	/* the reader stalls after one packet in this many */
#define STALL_SPINS		(1u << 20)	/* ...until the writer waits, or this many spins */

#define PLAN_SALT		0x76d6275363a1f1b5ull
#define RANGE_SALT		0x3c6ef372fe94f82bull
#define PFN_SALT		0xa54ff53a5f1d36f1ull

/* What the reader reports back (written before it finishes, read after join/waitpid). */
struct reader_report {
	uint64_t packets, bytes, commits, signals;
	uint64_t waits;		/* empty after unmasking: waited for the data bell */
	uint64_t rechecks;	/* empty, but the unmask re-check found packets */
	uint64_t via_ptr;	/* payloads checked in place */
	uint64_t via_copy;	/* payloads checked in a copy */
};

/*
 * Shared by the two sides, in the page after the ring in the same memfd, so
 * the process variant sees it too.
 */
struct stress_ctl {
	struct stress_peer_ctl peer;	/* stop, failed and the reader's msg */
	pvb_shared_u32 data_bell;	/* W: writer, when its commit says signal; R: reader */
	pvb_shared_u32 space_bell;	/* W: reader, when its commit says signal; R: writer */
	struct reader_report rep;	/* W: reader, before it finishes */
};

_Static_assert(sizeof(struct stress_ctl) <= CTL_LEN, "control block fits its page");

/* How a side sees the ring: each side calls get() for its own view. */
struct mem_mode {
	const char *name;
	int (*get)(const struct stress_run *run, struct pvb_vmbus_mem *m);
};

struct stress_run {
	const struct mem_mode *mem;
	int fd;			/* the memfd: ring at 0, control block at RING_LEN */
	uint8_t *flat;		/* MAP_SHARED mapping of all of it */
	struct stress_ctl *ctl;
	const uint8_t *pool;	/* POOL_LEN + MAX_PAYLOAD bytes, the same in both sides */
	struct stress_peer peer;	/* the reader: reader_main(), in a thread or a child */
	char msg[STRESS_MSG_LEN];	/* the writer's reason for failing */
};

static unsigned int
side_batch(struct side *sd)
{
	return 1 + side_rand(sd) % MAX_BATCH;
}

/*
 * A bell: a counter with one writer, rung when a commit says "signal".
 * Release/acquire: the waiter reads the bell before it arms (sets pending or
 * clears the mask), the ringer decides after seeing it armed; the pair keeps
 * the waiter's read from seeing a ring that comes after its arming.
 */
static uint32_t
bell_read(const pvb_shared_u32 *bell)
{
	/* pairs with the store-release in bell_ring() */
	return pvb_load_acquire(bell);
}

static void
bell_ring(pvb_shared_u32 *bell)
{
	/* relaxed load: only this side stores the bell; pairs with bell_read() */
	pvb_store_release(bell, pvb_load_relaxed(bell) + 1);
}

/* ----------------------------------------------------------------------------
 * Packet k, as both sides compute it
 */

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t
rotl64(uint64_t x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

/* The payload checksum: two multiply-rotate lanes over 8-byte words, then a mix. */
static uint64_t
hash64(const uint8_t *p, uint32_t n)
{
	uint64_t a = 0x9e3779b97f4a7c15ull, b = 0xc2b2ae3d27d4eb4full, w;
	uint32_t i = 0;

	for (; i + 16 <= n; i += 16) {
		memcpy(&w, p + i, 8);
		a = rotl64((a ^ w) * 0x87c37b91114253d5ull, 31);
		memcpy(&w, p + i + 8, 8);
		b = rotl64((b ^ w) * 0x4cf5ad432745937full, 33);
	}
	for (; i < n; i++)
		a = rotl64((a ^ p[i]) * 0x87c37b91114253d5ull, 31);
	return mix64(a ^ rotl64(b, 17) ^ n);
}

/*
 * Payload length from 64 random bits: uniform over 1..MAX_PAYLOAD (mean
 * 1024.5 bytes, ~10 GB per test).
 */
static uint32_t
size_pick(uint64_t x)
{
	return 1 + (uint32_t)(x % MAX_PAYLOAD);
}

struct plan {
	uint16_t type;
	uint16_t flags;
	uint32_t len;		/* true payload length, 1..MAX_PAYLOAD */
	uint32_t hdr_len;	/* descriptor + type header: where the payload starts */
	uint32_t pool_off;	/* where the payload filler is cut from the pool */
	uint32_t nranges;
	uint16_t set_id;	/* transfer-page set */
	struct pvb_vmbus_xfer_range xfer[MAX_XFER];
	struct pvb_vmbus_gpa gpa[MAX_GPA];	/* .pfn points into pfn[] */
	uint32_t pages[MAX_GPA];
	uint64_t pfn[MAX_GPA][MAX_GPA_PAGES];
};

static void
plan_xfer(struct plan *pl, uint64_t seq, uint64_t x)
{
	uint64_t y;
	uint32_t i;

	pl->type = PVB_VMBUS_PKT_DATA_XFER_PAGES;
	pl->set_id = (uint16_t)(x >> 16);
	pl->nranges = 1 + (uint32_t)(x >> 50) % MAX_XFER;
	pl->hdr_len = PVB_VMBUS_DESC_SIZE + (uint32_t)sizeof(struct pvb_vmbus_xfer_hdr) +
		      pl->nranges * (uint32_t)sizeof(struct pvb_vmbus_xfer_range);
	for (i = 0; i < pl->nranges; i++) {
		y = mix64(seq * MAX_XFER + i + RANGE_SALT);
		pl->xfer[i].byte_count = (uint32_t)y;
		pl->xfer[i].byte_offset = (uint32_t)(y >> 32);
	}
}

/* 1..MAX_GPA ranges of 1..MAX_GPA_PAGES pages, any offset into the first page. */
static void
plan_gpa(struct plan *pl, uint64_t seq, uint64_t x)
{
	uint32_t i, j, off, span;
	uint64_t y;

	pl->type = PVB_VMBUS_PKT_DATA_GPA_DIRECT;
	pl->nranges = 1 + (uint32_t)(x >> 50) % MAX_GPA;
	pl->hdr_len = PVB_VMBUS_DESC_SIZE + (uint32_t)sizeof(struct pvb_vmbus_gpa_hdr);
	for (i = 0; i < pl->nranges; i++) {
		y = mix64(seq * MAX_GPA + i + RANGE_SALT);
		off = (uint32_t)y % PVB_VMBUS_PAGE;
		span = (1 + (uint32_t)(y >> 12) % MAX_GPA_PAGES) * PVB_VMBUS_PAGE - off;
		pl->gpa[i].byte_offset = off;
		pl->gpa[i].byte_count = 1 + (uint32_t)(y >> 32) % span;
		pl->gpa[i].pfn = pl->pfn[i];
		pl->pages[i] = pvb_vmbus_gpa_pages(off, pl->gpa[i].byte_count);
		for (j = 0; j < pl->pages[i]; j++)
			pl->pfn[i][j] = mix64(seq ^ PFN_SALT ^ ((uint64_t)i << 56) ^
					      ((uint64_t)j << 48));
		pl->hdr_len += (uint32_t)sizeof(struct pvb_vmbus_gpa_range) + pl->pages[i] * 8;
	}
}

/* Everything about packet @p seq: ~86% in-band, ~5% each of the other three types. */
static void
plan_make(struct plan *pl, uint64_t seq)
{
	uint64_t x = mix64(seq ^ PLAN_SALT);
	unsigned int kind = x & 63;

	pl->len = size_pick(mix64(x));
	pl->pool_off = (uint32_t)(x >> 8) % POOL_LEN;
	pl->flags = (x >> 40) & 1 ? PVB_VMBUS_FLAG_COMPLETION_REQUESTED : 0;
	pl->hdr_len = PVB_VMBUS_DESC_SIZE;
	pl->nranges = 0;
	pl->set_id = 0;
	if (kind < 3) {
		pl->type = PVB_VMBUS_PKT_COMP;
		pl->flags = 0;
	} else if (kind < 6) {
		plan_xfer(pl, seq, x);
	} else if (kind < 9) {
		plan_gpa(pl, seq, x);
	} else {
		pl->type = PVB_VMBUS_PKT_DATA_INBAND;
	}
}

/* The first bytes of a short payload: k, ~k, mix(k). */
static void
short_payload(uint8_t *dst, uint64_t seq, uint32_t len)
{
	uint64_t w[3] = { seq, ~seq, mix64(seq) };

	memcpy(dst, w, len);
}

/*
 * The payload of packet @p seq: k in the first 8 bytes, filler from the pool,
 * the hash of everything before in the last 8. Shorter than SHORT_PAYLOAD:
 * short_payload(), compared whole by the reader.
 */
static void
payload_make(uint8_t *dst, const struct plan *pl, uint64_t seq, const uint8_t *pool)
{
	uint64_t h;

	if (pl->len < SHORT_PAYLOAD) {
		short_payload(dst, seq, pl->len);
		return;
	}
	memcpy(dst, &seq, 8);
	memcpy(dst + 8, pool + pl->pool_off, pl->len - 16);
	h = hash64(dst, pl->len - 8);
	memcpy(dst + pl->len - 8, &h, 8);
}

/* NULL if @p p (its padding included) is the payload of packet @p seq, else what is wrong. */
static const char *
payload_check(const uint8_t *p, const struct plan *pl, uint64_t seq)
{
	uint8_t want[SHORT_PAYLOAD];
	uint64_t v;
	uint32_t i;

	for (i = pl->len; i < pvb_vmbus_align8(pl->len); i++)
		if (p[i] != 0)
			return "padding not zero";
	if (pl->len < SHORT_PAYLOAD) {
		short_payload(want, seq, pl->len);
		return memcmp(p, want, pl->len) == 0 ? NULL : "short payload differs";
	}
	memcpy(&v, p, 8);
	if (v != seq)
		return "sequence number in the payload differs";
	memcpy(&v, p + pl->len - 8, 8);
	return v == hash64(p, pl->len - 8) ? NULL : "payload checksum differs";
}

/* ----------------------------------------------------------------------------
 * The writer
 */

struct writer {
	struct side sd;
	struct pvb_vmbus_out o;
	struct stress_ctl *ctl;
	uint64_t waits;		/* wait_prepare() said wait: waited for the space bell */
	uint64_t rechecks;	/* wait_prepare() found room at once */
	unsigned int batch;	/* commit when this many are written */
	unsigned int unpub;	/* written since the last commit */
	uint8_t buf[MAX_PAYLOAD];
};

static int
writer_write(struct writer *wr, const struct plan *pl, uint64_t seq)
{
	switch (pl->type) {
	case PVB_VMBUS_PKT_COMP:
		return pvb_vmbus_out_comp(&wr->o, seq, wr->buf, pl->len);
	case PVB_VMBUS_PKT_DATA_XFER_PAGES:
		return pvb_vmbus_out_xfer(&wr->o, seq, pl->flags, pl->set_id, pl->xfer,
					  pl->nranges, wr->buf, pl->len);
	case PVB_VMBUS_PKT_DATA_GPA_DIRECT:
		return pvb_vmbus_out_gpa(&wr->o, seq, pl->flags, pl->gpa, pl->nranges, wr->buf,
					 pl->len);
	default:
		return pvb_vmbus_out_inband(&wr->o, seq, pl->flags, wr->buf, pl->len);
	}
}

static void
writer_commit(struct writer *wr)
{
	if (pvb_vmbus_out_commit(&wr->o))
		bell_ring(&wr->ctl->data_bell);
	wr->unpub = 0;
	wr->batch = side_batch(&wr->sd);
}

/*
 * The ring has no room for @p need bytes. Publish what we wrote (the reader
 * cannot free space it does not see), advertise the need, and unless the
 * re-check finds room, wait for the reader's signal.
 */
static int
writer_wait(struct writer *wr, uint32_t need)
{
	uint32_t bell;
	int rc;

	writer_commit(wr);
	bell = bell_read(&wr->ctl->space_bell);
	rc = pvb_vmbus_out_wait_prepare(&wr->o, need);
	if (rc == 1) {
		wr->rechecks++;
		return 0;
	}
	if (rc != 0)
		return side_fail(&wr->sd, "wait_prepare(%u): %d", need, rc);
	wr->waits++;
	while (bell_read(&wr->ctl->space_bell) == bell) {
		if (side_idle(&wr->sd) != 0) {
			pvb_vmbus_out_wait_end(&wr->o);
			return -1;
		}
	}
	pvb_vmbus_out_wait_end(&wr->o);
	return 0;
}

static int
writer_put(struct writer *wr, uint64_t seq)
{
	struct plan pl;
	int rc;

	plan_make(&pl, seq);
	payload_make(wr->buf, &pl, seq, wr->sd.run->pool);
	while ((rc = writer_write(wr, &pl, seq)) != 0) {
		if (rc != -EAGAIN)
			return side_fail(&wr->sd, "write %llu: %d (%s)", (unsigned long long)seq,
					 rc, pvb_vmbus_fault_str(wr->o.fault));
		if (writer_wait(wr, pvb_vmbus_pkt_ring_bytes(pl.hdr_len, pl.len)) != 0)
			return -1;
	}
	if (++wr->unpub >= wr->batch)
		writer_commit(wr);
	return 0;
}

static int
writer_loop(struct writer *wr)
{
	uint64_t seq;

	wr->batch = side_batch(&wr->sd);
	for (seq = 0; seq < STRESS_PACKETS; seq++)
		if (writer_put(wr, seq) != 0)
			return -1;
	writer_commit(wr);
	if (pvb_vmbus_out_uncommitted(&wr->o) != 0)
		return side_fail(&wr->sd, "%u bytes uncommitted after the last commit",
				 pvb_vmbus_out_uncommitted(&wr->o));
	return 0;
}

/* ----------------------------------------------------------------------------
 * The reader
 */

struct reader {
	struct side sd;
	struct pvb_vmbus_in in;
	struct stress_ctl *ctl;
	struct reader_report rep;
	unsigned int batch;	/* commit when this many are consumed */
	unsigned int unpub;	/* consumed since the last commit */
	uint8_t buf[MAX_PAYLOAD + 8];
};

#define reader_fail(x, seq, ...)	side_fail_seq(&(x)->sd, "packet", (seq), __VA_ARGS__)

/* The descriptor as read back raw, and the fields peek gave us, against the plan. */
static int
reader_check_desc(struct reader *rd, const struct pvb_vmbus_pkt *p, const struct plan *pl,
		  uint64_t seq)
{
	uint32_t len = pvb_vmbus_align8(pl->hdr_len + pl->len);
	struct pvb_vmbus_desc d;

	if (p->trans_id != seq || p->type != pl->type || p->flags != pl->flags ||
	    p->hdr_len != pl->hdr_len || p->len != len || p->range_count != pl->nranges ||
	    p->xfer_set_id != pl->set_id)
		return reader_fail(rd, seq,
				   "peek: id %llu type %u flags %u hdr %u len %u ranges %u",
				   (unsigned long long)p->trans_id, p->type, p->flags, p->hdr_len,
				   p->len, p->range_count);
	if (pvb_vmbus_in_read(&rd->in, p, 0, &d, sizeof(d)) != 0)
		return reader_fail(rd, seq, "in_read of the descriptor failed");
	if (d.type != pl->type || d.offset8 != pl->hdr_len / 8 || d.len8 != len / 8 ||
	    d.flags != pl->flags || d.trans_id != seq)
		return reader_fail(rd, seq, "raw descriptor differs");
	if (pvb_vmbus_in_read(&rd->in, p, p->len, &d, 1) != -EINVAL)
		return reader_fail(rd, seq, "in_read past the packet accepted");
	return 0;
}

static int
reader_check_xfer(struct reader *rd, const struct pvb_vmbus_pkt *p, const struct plan *pl,
		  uint64_t seq)
{
	struct pvb_vmbus_xfer_range r;
	uint32_t i;

	for (i = 0; i < pl->nranges; i++)
		if (pvb_vmbus_in_xfer_range(&rd->in, p, i, &r) != 0 ||
		    r.byte_count != pl->xfer[i].byte_count ||
		    r.byte_offset != pl->xfer[i].byte_offset)
			return reader_fail(rd, seq, "transfer-page range %u differs", i);
	if (pvb_vmbus_in_xfer_range(&rd->in, p, i, &r) != -EINVAL)
		return reader_fail(rd, seq, "transfer-page range %u of %u accepted", i, i);
	return 0;
}

/* Walk the GPA ranges with a READER_PFNS buffer: longer ranges come back truncated. */
static int
reader_check_gpa(struct reader *rd, const struct pvb_vmbus_pkt *p, const struct plan *pl,
		 uint64_t seq)
{
	struct pvb_vmbus_gpa_iter it = { .next = 0, .index = 0 };
	struct pvb_vmbus_xfer_range r;
	uint64_t pfn[READER_PFNS];
	uint32_t i, n;
	int rc;

	for (i = 0; i < pl->nranges; i++) {
		rc = pvb_vmbus_in_gpa_next(&rd->in, p, &it, &r, pfn, READER_PFNS);
		if (rc != (int)pl->pages[i] || r.byte_count != pl->gpa[i].byte_count ||
		    r.byte_offset != pl->gpa[i].byte_offset)
			return reader_fail(rd, seq, "GPA range %u: %d pages, want %u", i, rc,
					   pl->pages[i]);
		n = pl->pages[i] < READER_PFNS ? pl->pages[i] : READER_PFNS;
		if (memcmp(pfn, pl->pfn[i], n * sizeof(pfn[0])) != 0)
			return reader_fail(rd, seq, "GPA range %u: page numbers differ", i);
	}
	rc = pvb_vmbus_in_gpa_next(&rd->in, p, &it, &r, pfn, READER_PFNS);
	return rc == 0 ? 0 : reader_fail(rd, seq, "GPA walk past the last range: %d", rc);
}

/*
 * The payload, in place when the library hands out a pointer (always on a
 * double map; on a flat map unless it wraps), else or at random copied.
 */
static int
reader_check_payload(struct reader *rd, const struct pvb_vmbus_pkt *p, const struct plan *pl,
		     uint64_t seq)
{
	const struct pvb_vmbus_mem *m = &rd->in.m;
	uint32_t plen = p->len - p->hdr_len, at;
	const uint8_t *q = NULL;
	const char *err;
	int n;

	if (side_rand(&rd->sd) & 1) {
		q = pvb_vmbus_in_ptr(&rd->in, p, p->hdr_len, plen);
		at = pvb_vmbus_advance(p->start, p->hdr_len, m->dsize);
		if (q == NULL && (m->doubled || plen <= m->dsize - at))
			return reader_fail(rd, seq, "in_ptr: NULL for a contiguous payload");
		if (q != NULL && q != m->data + at)
			return reader_fail(rd, seq, "in_ptr: not the payload's address");
	}
	if (q != NULL) {
		rd->rep.via_ptr++;
	} else {
		n = pvb_vmbus_in_payload(&rd->in, p, rd->buf, sizeof(rd->buf));
		if (n != (int)plen)
			return reader_fail(rd, seq, "in_payload: %d, want %u", n, plen);
		q = rd->buf;
		rd->rep.via_copy++;
	}
	err = payload_check(q, pl, seq);
	return err == NULL ? 0 : reader_fail(rd, seq, "%s (%u bytes)", err, pl->len);
}

/* The trailer: the packet's start offset << 32 (readers skip it; we check the writer). */
static int
reader_check_trailer(struct reader *rd, const struct pvb_vmbus_pkt *p, uint64_t seq)
{
	const struct pvb_vmbus_mem *m = &rd->in.m;
	uint64_t t;

	/* 8-aligned in a data area of a multiple of 8: never split */
	memcpy(&t, m->data + pvb_vmbus_advance(p->start, p->len, m->dsize), sizeof(t));
	if (t != pvb_vmbus_trailer(p->start))
		return reader_fail(rd, seq, "trailer 0x%016llx", (unsigned long long)t);
	return 0;
}

static int
reader_check(struct reader *rd, const struct pvb_vmbus_pkt *p, uint64_t seq)
{
	struct plan pl;

	plan_make(&pl, seq);
	if (reader_check_desc(rd, p, &pl, seq) != 0)
		return -1;
	if (pl.type == PVB_VMBUS_PKT_DATA_XFER_PAGES && reader_check_xfer(rd, p, &pl, seq) != 0)
		return -1;
	if (pl.type == PVB_VMBUS_PKT_DATA_GPA_DIRECT && reader_check_gpa(rd, p, &pl, seq) != 0)
		return -1;
	if (reader_check_payload(rd, p, &pl, seq) != 0)
		return -1;
	return reader_check_trailer(rd, p, seq);
}

static void
reader_commit(struct reader *rd)
{
	if (pvb_vmbus_in_commit(&rd->in))
		bell_ring(&rd->ctl->space_bell);
	rd->unpub = 0;
	rd->batch = side_batch(&rd->sd);
}

/*
 * The ring is empty. Free what we consumed (the writer may be waiting for
 * it), unmask and re-check, and unless packets came meanwhile, wait for the
 * writer's signal. Mask again before draining.
 */
static int
reader_wait(struct reader *rd)
{
	uint32_t bell;

	reader_commit(rd);
	bell = bell_read(&rd->ctl->data_bell);
	if (pvb_vmbus_in_unmask_and_check(&rd->in)) {
		rd->rep.rechecks++;
	} else {
		if (pvb_vmbus_in_broken(&rd->in))
			return side_fail(&rd->sd, "unmask: %s",
					 pvb_vmbus_fault_str(rd->in.fault));
		rd->rep.waits++;
		while (bell_read(&rd->ctl->data_bell) == bell)
			if (side_idle(&rd->sd) != 0)
				return -1;
	}
	pvb_vmbus_in_set_mask(&rd->in, true);
	return 0;
}

/*
 * Now and then the reader stops until the writer has filled the ring and
 * advertised pending_send_sz (or, near the end of the run, for a while), so
 * the wait handshake runs often however fast the reader is.
 */
static void
reader_stall(struct reader *rd)
{
	struct pvb_vmbus_info info;
	unsigned int i;

	for (i = 0; i < STALL_SPINS; i++) {
		pvb_vmbus_inspect(&rd->in.m, &info);
		if (info.pending_send_sz != 0)
			return;
		pvb_cpu_relax();
	}
}

static int
reader_loop(struct reader *rd)
{
	struct pvb_vmbus_pkt p;
	uint64_t seq = 0;
	int rc;

	rd->batch = side_batch(&rd->sd);
	pvb_vmbus_in_set_mask(&rd->in, true);
	while (seq < STRESS_PACKETS) {
		rc = pvb_vmbus_in_peek(&rd->in, &p);
		if (rc == -EAGAIN) {
			if (reader_wait(rd) != 0)
				return -1;
			continue;
		}
		if (rc != 0)
			return reader_fail(rd, seq, "peek: %d (%s)", rc,
					   pvb_vmbus_fault_str(rd->in.fault));
		if (reader_check(rd, &p, seq) != 0)
			return -1;
		pvb_vmbus_in_consume(&rd->in, &p);
		seq++;
		if (++rd->unpub >= rd->batch)
			reader_commit(rd);
		if (side_rand(&rd->sd) % STALL_ONE_IN == 0)
			reader_stall(rd);
	}
	reader_commit(rd);
	rc = pvb_vmbus_in_peek(&rd->in, &p);
	return rc == -EAGAIN ? 0 : side_fail(&rd->sd, "peek after the last packet: %d", rc);
}

/* The reader, wherever it runs: map its own view, attach, run, report. */
static int
reader_main(struct stress_run *run)
{
	struct pvb_vmbus_mem m;
	struct reader rd;
	int rc;

	memset(&rd, 0, sizeof(rd));
	side_init(&rd.sd, &run->peer, stress_peer_stopped, run->ctl->peer.msg, 0x2545f491u);
	rd.ctl = run->ctl;
	rc = run->mem->get(run, &m);
	if (rc != 0) {
		rc = side_fail(&rd.sd, "reader: %s view: %d", run->mem->name, rc);
	} else {
		rc = pvb_vmbus_in_attach(&rd.in, &m);
		if (rc != 0)
			rc = side_fail(&rd.sd, "reader attach: %d", rc);
		else
			rc = reader_loop(&rd);
		rd.rep.packets = rd.in.st.packets;
		rd.rep.bytes = rd.in.st.bytes;
		rd.rep.commits = rd.in.st.commits;
		rd.rep.signals = rd.in.st.signals;
		pvb_vmbus_mem_unmap(&m);
	}
	run->ctl->rep = rd.rep;
	return rc;
}

/* ----------------------------------------------------------------------------
 * How each side sees the ring
 */

/* The shared flat mapping: copies split at the end of the data area. */
static int
flat_get(const struct stress_run *run, struct pvb_vmbus_mem *m)
{
	return pvb_vmbus_mem_flat(m, run->flat, RING_LEN);
}

/* This side's own double mapping of the same memfd: packets are contiguous. */
static int
double_get(const struct stress_run *run, struct pvb_vmbus_mem *m)
{
	return pvb_vmbus_mem_map_double(m, run->fd, 0, RING_LEN);
}

static const struct mem_mode flat_mem = { .name = "flat", .get = flat_get };
static const struct mem_mode double_mem = { .name = "double", .get = double_get };

/* ----------------------------------------------------------------------------
 * Fixture and the test template
 */

/* One memfd for the suite (ring, then the control block), mapped flat; and the pool. */
struct stress_fx {
	int fd;
	uint8_t *map;
	uint8_t pool[POOL_LEN + MAX_PAYLOAD];
};

static int
suite_setup(void **state)
{
	static struct stress_fx fx;
	uint32_t x = 0x6a09e667u;
	size_t i;

	for (i = 0; i < sizeof(fx.pool); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		fx.pool[i] = (uint8_t)x;
	}
	fx.fd = memfd_create("vmbus-stress", MFD_CLOEXEC);
	if (fx.fd < 0)
		return -1;
	if (ftruncate(fx.fd, RING_LEN + CTL_LEN) != 0)
		goto close_fd;
	fx.map = mmap(NULL, RING_LEN + CTL_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fx.fd, 0);
	if (fx.map == MAP_FAILED)
		goto close_fd;
	*state = &fx;
	return 0;
close_fd:
	close(fx.fd);
	return -1;
}

static int
suite_teardown(void **state)
{
	struct stress_fx *fx = *state;

	munmap(fx->map, RING_LEN + CTL_LEN);
	return close(fx->fd);
}

/*
 * The signals must cover the waits: each wait ends on a bell rung after it
 * armed, and each bell is one commit that said signal.
 */
static void
check_signals(const struct writer *wr, const struct reader_report *rep)
{
	assert_true(rep->signals >= wr->waits);
	assert_true(wr->o.st.signals >= rep->waits);
	assert_true(wr->o.st.signals <= wr->o.st.commits);
	assert_true(rep->signals <= rep->commits);
}

static void
report(const struct stress_mode *mode, const struct mem_mode *mem, const struct writer *wr,
       const struct reader_report *rep, uint64_t ns)
{
	double s = (double)ns / 1e9;

	printf("vmbus %s, %s: %u packets in %.2f s: %.2f Mpkt/s, %.0f MB/s of ring bytes\n",
	       mode->name, mem->name, STRESS_PACKETS, s, STRESS_PACKETS / s / 1e6,
	       (double)wr->o.st.bytes / s / 1e6);
	printf("  writer: %llu commits, %llu signalled; full %llu times: %llu waits, "
	       "%llu re-checks found room\n",
	       (unsigned long long)wr->o.st.commits, (unsigned long long)wr->o.st.signals,
	       (unsigned long long)wr->o.st.full, (unsigned long long)wr->waits,
	       (unsigned long long)wr->rechecks);
	printf("  reader: %llu commits, %llu signalled; empty: %llu waits, %llu re-checks "
	       "found packets; payloads %llu in place, %llu copied\n",
	       (unsigned long long)rep->commits, (unsigned long long)rep->signals,
	       (unsigned long long)rep->waits, (unsigned long long)rep->rechecks,
	       (unsigned long long)rep->via_ptr, (unsigned long long)rep->via_copy);
}

/* After the run: both indices met, nothing pending, the counts agree. */
static void
check_end(const struct writer *wr, const struct reader_report *rep)
{
	struct pvb_vmbus_info info;

	pvb_vmbus_inspect(&wr->o.m, &info);
	assert_true(info.indices_valid);
	assert_int_equal(info.write_index, info.read_index);
	assert_int_equal(info.pending_send_sz, 0);
	assert_int_equal(info.feature_bits, PVB_VMBUS_FEAT_PENDING_SEND_SZ);
	assert_int_equal(wr->o.fault, PVB_VMBUS_OK);
	assert_int_equal(wr->o.st.packets, STRESS_PACKETS);
	assert_int_equal(rep->packets, STRESS_PACKETS);
	assert_int_equal(rep->bytes, wr->o.st.bytes);
	check_signals(wr, rep);
}

/* The workload template: one full run, the reader placed by @mode, the ring seen by @mem. */
static void
stress(void **state, const struct stress_mode *mode, const struct mem_mode *mem)
{
	struct stress_fx *fx = *state;
	struct stress_ctl *ctl = (struct stress_ctl *)(void *)(fx->map + RING_LEN);
	struct stress_run run = {
		.mem = mem,
		.fd = fx->fd,
		.flat = fx->map,
		.ctl = ctl,
		.pool = fx->pool,
		.peer = { .main = reader_main, .run = &run, .ctl = &ctl->peer },
	};
	struct pvb_vmbus_mem m;
	struct writer wr;
	uint64_t t0, ns;
	int wrc, rrc;

	memset(fx->map, 0, RING_LEN + CTL_LEN);
	memset(&wr, 0, sizeof(wr));
	assert_int_equal(mem->get(&run, &m), 0);
	/* before the reader starts: it reads feature_bits at its first commit */
	assert_int_equal(pvb_vmbus_out_attach(&wr.o, &m, PVB_VMBUS_FEAT_PENDING_SEND_SZ), 0);
	side_init(&wr.sd, &run.peer, mode->peer_lost, run.msg, 0x9e3779b9u);
	wr.ctl = run.ctl;

	/* no cmocka assertion until finish(): a failure must not leave the reader running */
	t0 = now_ns();
	if (mode->start(&run.peer) != 0)
		fail_msg("%s: cannot start the reader", mode->name);
	wrc = writer_loop(&wr);
	rrc = mode->finish(&run.peer, wrc != 0);
	ns = now_ns() - t0;
	if (wrc != 0 || rrc != 0)
		fail_msg("%s, %s: writer: %s; reader: %s", mode->name, mem->name,
			 wrc != 0 ? run.msg : "ok", rrc != 0 ? run.ctl->peer.msg : "ok");
	report(mode, mem, &wr, &run.ctl->rep, ns);
	check_end(&wr, &run.ctl->rep);
	pvb_vmbus_mem_unmap(&m);
}

static void
test_thread_flat(void **state)
{
	stress(state, &stress_thread_mode, &flat_mem);
}

static void
test_thread_double(void **state)
{
	stress(state, &stress_thread_mode, &double_mem);
}

static void
test_process_flat(void **state)
{
	stress(state, &stress_process_mode, &flat_mem);
}

static void
test_process_double(void **state)
{
	stress(state, &stress_process_mode, &double_mem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_flat),
		cmocka_unit_test(test_thread_double),
		cmocka_unit_test(test_process_flat),
		cmocka_unit_test(test_process_double),
	};

	return STRESS_RUN_GROUP(tests, suite_setup, suite_teardown);
}
