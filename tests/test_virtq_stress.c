/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Stress test for lib/virtq (suite 'stress'): the driver side in the test's
 * thread, the device side in a second one, over one guest memory. Three
 * tests, the same workload: with VIRTIO_F_EVENT_IDX (event words) and
 * without it (flags), both through the one-chain calls; and with event
 * index through the burst calls (see "Bursts" below). All with
 * VIRTIO_F_INDIRECT_DESC.
 *
 * Guest memory is one mapping cut into eight regions that are adjacent in
 * guest addresses but lie in host memory in another order, each ending
 * flush against a PROT_NONE guard page. Region 0 holds the rings (the
 * pvb_virtq_layout() of one queue of QSIZE entries) and, in its
 * per-request area, a 64-byte indirect table per descriptor; the buffer
 * pool follows, across the other seven region boundaries (at odd guest
 * addresses), so some buffers straddle two regions and the device gets
 * them as two host segments far apart: a translation that does not split,
 * or splits wrong, hits a guard page or reads the wrong bytes. Half the
 * indirect tables go in the chain's slot instead, after its buffers, at an
 * odd address, some straddling a boundary too (the spec allows both).
 *
 * The driver posts STRESS_CHAINS chains. Everything about chain k (1..4
 * segments of 1..SEG_MAX bytes, a random split into readable then writable
 * ones, the gaps between them, whether it goes through an indirect table,
 * how many bytes the device writes) is a function of k alone (plan_make()),
 * so the device, which pops chains in the order they were made available,
 * recomputes it: it checks the shape of each popped chain (lengths, readable
 * segments first, every host segment inside one region) and every readable
 * byte against a stream derived from k, then writes the writable stream of
 * k into the writable segments and returns the chain with the exact byte
 * count. Each chain's buffers live in a slot of the pool, taken from a FIFO
 * of free slots, so the slots (and the region boundaries) all get used. The
 * device holds 1..MAX_HOLD popped chains and returns them in a random order
 * (add_used for each, one write_used_idx; or push_used), so the driver's free
 * list sees chains come back out of order. The driver reclaims a chain by
 * its token and checks the length, the written bytes, and that the bytes
 * after them still hold the canary it put there.
 *
 * Neither side polls blindly: each waits only for a notification the other
 * side's library call decided, so a lost notification shows up as a stuck
 * run (failed at the harness's deadline), never papered over by polling.
 *  - Driver: publishes every 1..MAX_BATCH chains and rings the kick bell when
 *    pvb_virtq_drv_kick_prepare() says so. When it cannot add (no
 *    descriptors) or has posted everything, it publishes, reclaims, and if
 *    nothing came back, reads the call bell, pvb_virtq_drv_enable_cb(), and
 *    unless that found used chains, spins until the call bell moves; then
 *    pvb_virtq_drv_disable_cb().
 *  - Device: keeps kicks suppressed (set_notification(true)) while it
 *    works. When pop says empty it returns what it holds, rings the call
 *    bell when pvb_virtq_dev_should_notify() says so, reads the kick bell,
 *    set_notification(false), and unless that found chains, spins until the
 *    kick bell moves; then suppresses again.
 * After one chain in STALL_ONE_IN the device stalls until the driver waits
 * (or STALL_SPINS spins); after one in DRAIN_ONE_IN the driver publishes
 * and waits until every chain is back, while the device, empty, waits for
 * a kick. So both wait paths run often whatever the speeds, and the last
 * decision before a wait (which, without event index, the next one would
 * otherwise make up for) must be right.
 *
 * Counts checked after the run: every wait ended on a notification rung
 * after it began (kicks >= device waits, calls >= driver waits); a
 * notification is decided at most once per decision call; with event index,
 * each kick needs avail_event inside the window just published, and
 * avail_event moves only when the device re-enables, so kicks <= device
 * re-enables + 1 + one per 2^16 chains (a stale avail_event comes round
 * again when the 16-bit index wraps), and calls likewise against the
 * driver's enable_cb calls (+1: the device's first decision always calls).
 * With event index neither flags word is ever written.
 *
 * Bursts: 3 chains in 4 are one direct buffer, and the driver posts each
 * run of those with one pvb_virtq_drv_add_burst() (the buffers filled
 * first, since it publishes), the others one by one, and reclaims with
 * pvb_virtq_drv_get_used_burst() of random sizes. The device counts with
 * pvb_virtq_dev_avail_count() and pops with pvb_virtq_dev_pop_next(), or
 * now and then a pvb_virtq_dev_pop_burst() of 1..BURST_POP chains of which
 * it keeps a random first part and gives the rest back with
 * pvb_virtq_dev_unpop() (they must pop again, the same chains); and it
 * returns what it holds with one pvb_virtq_dev_push_used_burst().
 *
 * Two cores are all we assume: both sides spin with pvb_cpu_relax() and
 * yield now and then (stress_peer.h). Nothing is timed against a limit;
 * the chains/s printed is information.
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

#include "pvb_virtq.h"
#include "stress_peer.h"

#ifndef STRESS_CHAINS		/* -DSTRESS_CHAINS=1000000 for a sanitizer build */
#define STRESS_CHAINS		(10ull * 1000 * 1000)	/* per test */
#endif
#define QSIZE			256
#define MAX_SEGS		4	/* descriptors per chain */
#define SEG_MAX			192	/* bytes per descriptor: 1..SEG_MAX */
#define GAP_MAX			16	/* bytes before each buffer in its slot: 0..GAP_MAX-1 */
#define CHAIN_MAX		(MAX_SEGS * SEG_MAX)
#define TABLE_LEN		(MAX_SEGS * sizeof(struct pvb_virtq_desc))
#define SLOT_LEN		(MAX_SEGS * (SEG_MAX + GAP_MAX) + GAP_MAX + TABLE_LEN)
#define POOL_LEN		((uint64_t)QSIZE * SLOT_LEN)
#define NB_REGIONS		8
#define GPA_BASE		0x40000000ull
#define PAGE			4096u
#define MAX_BATCH		32u	/* chains per publish */
#define MAX_HOLD		8u	/* chains the device holds before returning them */
#define STALL_ONE_IN		4096	/* the device stalls after one chain in this many */
#define STALL_SPINS		(1u << 16)	/* ...until the driver waits, or this many spins */
#define DRAIN_ONE_IN		256	/* the driver drains after one chain in this many */
#define WRAPS			(STRESS_CHAINS / 65536 + 1)	/* 16-bit index wraps, rounded up */
#define BURST_POP		4u	/* chains a pop_burst takes at most */
#define GET_BURST		16u	/* used chains a get_used_burst asks for at most */

#define PLAN_SALT		0x76d6275363a1f1b5ull
#define READ_SALT		0x3c6ef372fe94f82bull
#define WRITE_SALT		0xa54ff53a5f1d36f1ull

/* a buffer is shorter than a region, so it crosses one boundary at most: two segments */
_Static_assert(2 * MAX_SEGS <= PVB_VIRTQ_MAX_SEGS, "a chain fits a popped chain");
_Static_assert(SEG_MAX < POOL_LEN / NB_REGIONS, "buffers are shorter than regions");

/* What the device reports back (written before it finishes, read after join). */
struct dev_report {
	uint64_t chains;	/* popped and checked */
	uint64_t unpopped;	/* given back with unpop (and popped again) */
	uint64_t segs;		/* host segments */
	uint64_t straddles;	/* chains with more host segments than descriptors */
	uint64_t rbytes, wbytes;
	uint64_t flushes;	/* returns of held chains, each followed by should_notify() */
	uint64_t calls;		/* should_notify() said call */
	uint64_t enables;	/* set_notification(false) */
	uint64_t rechecks;	/* ...which found chains already */
	uint64_t waits;		/* ...which did not: waited for a kick */
	uint64_t bad_chains;
	enum pvb_virtq_fault fault;
};

/* Shared by the two sides, on its own page of the mapping (no region covers it). */
struct stress_ctl {
	struct stress_peer_ctl peer;	/* stop, failed and the device's msg */
	pvb_shared_u32 kick_bell;	/* W: driver, when kick_prepare() says kick; R: device */
	pvb_shared_u32 call_bell;	/* W: device, when should_notify() says call; R: driver */
	pvb_shared_u32 drv_waiting;	/* W: driver, while it waits; R: the device's stall */
	struct dev_report rep;		/* W: device, before it finishes */
};

_Static_assert(sizeof(struct stress_ctl) <= PAGE, "control block fits its page");

/* Guest memory as the test sees it: the regions, and the library's table of them. */
struct guest {
	uint8_t *map;		/* the one mapping: control page, then the chunks */
	size_t map_len;
	struct stress_ctl *ctl;
	struct pvb_virtq_region r[NB_REGIONS];	/* in guest address order */
	struct pvb_virtq_mem mem;
	struct pvb_virtq_layout l;	/* rings at GPA_BASE */
	uint64_t pool_gpa;
};

struct stress_run {
	const struct guest *g;
	struct stress_ctl *ctl;
	uint64_t features;
	bool bursts;			/* both sides through the burst calls */
	struct stress_peer peer;	/* the device: device_main(), in a thread */
	char msg[STRESS_MSG_LEN];	/* the driver's reason for failing */
};

/* ----------------------------------------------------------------------------
 * Bells and flags
 */

/*
 * A bell: a counter with one writer, rung when a decision call says
 * "notify". The waiter reads it before it arms (enable_cb or
 * set_notification(false)); the ringer rings after its decision saw the arming.
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

/* relaxed: the waiting flag only ends the device's stall early; it orders nothing */
static void
flag_set(pvb_shared_u32 *f, uint32_t v)
{
	pvb_store_relaxed(f, v);
}

static bool
flag_get(const pvb_shared_u32 *f)
{
	return pvb_load_relaxed(f) != 0;
}

/* ----------------------------------------------------------------------------
 * Chain k, as both sides compute it
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

struct plan {
	uint32_t nseg;		/* 1..MAX_SEGS descriptors */
	uint32_t nread;		/* the first nread are device-readable, the rest writable */
	uint32_t len[MAX_SEGS];
	uint32_t off[MAX_SEGS];	/* in the chain's slot */
	uint32_t rlen, wlen;	/* readable, writable bytes */
	uint32_t written;	/* bytes the device writes: all wlen, 3 times in 4 */
	bool indirect;		/* through an indirect table, 1 in 4 (if negotiated) */
	bool table_in_slot;	/* ...half of them in the slot, at table_off */
	uint32_t table_off;
};

static void
plan_make(struct plan *pl, uint64_t seq, bool bursts)
{
	uint64_t x = mix64(seq ^ PLAN_SALT), y = mix64(x);
	uint32_t i, off = 0, bits;
	/* with the bursts, 3 chains in 4 are one direct buffer (add_burst's) */
	bool single = bursts && ((x >> 48) & 3) != 0;

	pl->nseg = single ? 1 : 1 + (uint32_t)(x & 3);
	pl->nread = (uint32_t)(x >> 2) % (pl->nseg + 1);
	pl->indirect = !single && ((x >> 8) & 3) == 0;
	pl->rlen = 0;
	pl->wlen = 0;
	for (i = 0; i < pl->nseg; i++) {
		bits = (uint32_t)(y >> (16 * i)) & 0xffff;
		off += bits % GAP_MAX;
		pl->off[i] = off;
		pl->len[i] = 1 + (bits >> 4) % SEG_MAX;
		off += pl->len[i];
		if (i < pl->nread)
			pl->rlen += pl->len[i];
		else
			pl->wlen += pl->len[i];
	}
	pl->written = pl->wlen == 0 || ((x >> 10) & 3) != 0 ? pl->wlen :
		      (uint32_t)(x >> 12) % (pl->wlen + 1);
	pl->table_in_slot = (x >> 40) & 1;
	pl->table_off = off + (uint32_t)(x >> 44) % GAP_MAX;
}

/* The @n bytes of chain @seq's readable (or written) stream: xorshift64 from the seq. */
static void
stream(uint8_t *dst, uint64_t seq, uint64_t salt, uint32_t n)
{
	uint64_t x = mix64(seq ^ salt) | 1;
	uint32_t i;

	for (i = 0; i < n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(dst + i, &x, n - i < 8 ? n - i : 8);
	}
}

/* What the driver leaves in the writable bytes the device should not write. */
static uint8_t
canary(uint64_t seq)
{
	return (uint8_t)(0xa5 ^ seq ^ (seq >> 8));
}

/* ----------------------------------------------------------------------------
 * Guest memory, the test's own way (the driver side and the checks)
 */

/* The host bytes at @gpa and how many follow in its region; NULL outside. */
static uint8_t *
guest_at(const struct guest *g, uint64_t gpa, uint64_t *room)
{
	unsigned int i;

	for (i = 0; i < NB_REGIONS; i++)
		if (gpa - g->r[i].gpa < g->r[i].size) {
			*room = g->r[i].size - (gpa - g->r[i].gpa);
			return (uint8_t *)g->r[i].host + (gpa - g->r[i].gpa);
		}
	return NULL;
}

/* Copy @n bytes between @buf and guest memory at @gpa, across regions; false if outside. */
static bool
guest_copy(const struct guest *g, uint64_t gpa, uint8_t *buf, uint32_t n, bool to_guest)
{
	uint64_t room;
	uint32_t k;
	uint8_t *h;

	while (n != 0) {
		h = guest_at(g, gpa, &room);
		if (h == NULL)
			return false;
		k = room < n ? (uint32_t)room : n;
		if (to_guest)
			memcpy(h, buf, k);
		else
			memcpy(buf, h, k);
		gpa += k;
		buf += k;
		n -= k;
	}
	return true;
}

/* True if host [@p, @p + @len) lies inside one region. */
static bool
guest_holds(const struct guest *g, const void *p, uint32_t len)
{
	uintptr_t a = (uintptr_t)p, h;
	unsigned int i;

	for (i = 0; i < NB_REGIONS; i++) {
		h = (uintptr_t)g->r[i].host;
		if (a >= h && a - h <= g->r[i].size && len <= g->r[i].size - (a - h))
			return true;
	}
	return false;
}

/* ----------------------------------------------------------------------------
 * The device
 */

struct held {
	uint16_t head;
	uint32_t written;
};

struct device {
	struct side sd;
	struct pvb_virtq_dev q;
	struct stress_ctl *ctl;
	const struct guest *g;
	struct dev_report rep;
	struct held held[MAX_HOLD];
	unsigned int nheld;	/* popped, not yet returned */
	unsigned int hold;	/* return them when this many are held */
	bool bursts;
	struct pvb_virtq_chain c;
	struct pvb_virtq_chain cs[BURST_POP];	/* a pop_burst's */
	uint8_t want[CHAIN_MAX + 8];
};

#define device_fail(x, seq, ...)	side_fail_seq(&(x)->sd, "device, chain", (seq), __VA_ARGS__)

/* Readable segments first, the lengths of the plan, each segment inside one region. */
static int
device_check_shape(struct device *dv, const struct plan *pl, uint64_t seq)
{
	const struct pvb_virtq_chain *c = &dv->c;
	uint64_t sum[2] = { 0, 0 };
	uint32_t i;

	if (c->head >= QSIZE)
		return device_fail(dv, seq, "head %u", c->head);
	if (c->readable_len != pl->rlen || c->writable_len != pl->wlen)
		return device_fail(dv, seq, "%llu readable, %llu writable bytes; want %u, %u",
				   (unsigned long long)c->readable_len,
				   (unsigned long long)c->writable_len, pl->rlen, pl->wlen);
	/* a buffer gives one segment per region it touches, at least one */
	if (c->nb_segs < pl->nseg || c->nb_segs > 2 * pl->nseg || c->nb_readable > c->nb_segs)
		return device_fail(dv, seq, "%u segments, %u readable, for %u buffers",
				   c->nb_segs, c->nb_readable, pl->nseg);
	for (i = 0; i < c->nb_segs; i++) {
		if (c->seg[i].write != (i >= c->nb_readable))
			return device_fail(dv, seq, "segment %u: write %d", i, c->seg[i].write);
		if (c->seg[i].len == 0 || !guest_holds(dv->g, c->seg[i].host, c->seg[i].len))
			return device_fail(dv, seq, "segment %u: %u bytes outside any region",
					   i, c->seg[i].len);
		sum[c->seg[i].write] += c->seg[i].len;
	}
	if (sum[0] != pl->rlen || sum[1] != pl->wlen)
		return device_fail(dv, seq, "segments hold %llu + %llu bytes",
				   (unsigned long long)sum[0], (unsigned long long)sum[1]);
	dv->rep.segs += c->nb_segs;
	dv->rep.straddles += c->nb_segs > pl->nseg;
	return 0;
}

/* Every readable byte, through the popped host segments. */
static int
device_check_read(struct device *dv, const struct plan *pl, uint64_t seq)
{
	const struct pvb_virtq_chain *c = &dv->c;
	uint32_t i, at = 0;

	stream(dv->want, seq, READ_SALT, pl->rlen);
	for (i = 0; i < c->nb_readable; i++) {
		if (memcmp(c->seg[i].host, dv->want + at, c->seg[i].len) != 0)
			return device_fail(dv, seq, "readable bytes %u..%u differ", at,
					   at + c->seg[i].len - 1);
		at += c->seg[i].len;
	}
	dv->rep.rbytes += pl->rlen;
	return 0;
}

/* The first pl->written writable bytes get the written stream of @seq. */
static void
device_write(struct device *dv, const struct plan *pl, uint64_t seq)
{
	const struct pvb_virtq_chain *c = &dv->c;
	uint32_t i, at = 0, k;

	stream(dv->want, seq, WRITE_SALT, pl->written);
	for (i = c->nb_readable; i < c->nb_segs && at < pl->written; i++) {
		k = pl->written - at < c->seg[i].len ? pl->written - at : c->seg[i].len;
		memcpy(c->seg[i].host, dv->want + at, k);
		at += k;
	}
	dv->rep.wbytes += pl->written;
}

/* Bursts: everything held, in a random order, with one push_used_burst. */
static int
device_push_burst(struct device *dv)
{
	struct pvb_virtq_used_elem e[MAX_HOLD];
	unsigned int n = dv->nheld, i, k;
	struct held h;

	for (i = 0; i < n; i++) {
		k = side_rand(&dv->sd) % dv->nheld;
		h = dv->held[k];
		dv->held[k] = dv->held[--dv->nheld];
		e[i] = (struct pvb_virtq_used_elem){ .id = h.head, .len = h.written };
	}
	return pvb_virtq_dev_push_used_burst(&dv->q, e, n) == (int)n ? 0 : -EINVAL;
}

/*
 * Return what we hold in a random order: add_used each and publish once, or
 * push_used a lone chain now and then (with the bursts: one push_used_burst).
 * Then decide whether to call.
 */
static int
device_flush(struct device *dv)
{
	struct held h;
	unsigned int k;
	int rc = 0;

	if (dv->nheld == 0)
		return 0;
	if (dv->bursts) {
		rc = device_push_burst(dv);
	} else if (dv->nheld == 1 && (side_rand(&dv->sd) & 1)) {
		rc = pvb_virtq_dev_push_used(&dv->q, dv->held[0].head, dv->held[0].written);
		dv->nheld = 0;
	}
	while (dv->nheld > 0 && rc == 0) {
		k = side_rand(&dv->sd) % dv->nheld;
		h = dv->held[k];
		dv->held[k] = dv->held[--dv->nheld];
		rc = pvb_virtq_dev_add_used(&dv->q, h.head, h.written);
		if (dv->nheld == 0 && rc == 0)
			pvb_virtq_dev_write_used_idx(&dv->q);
	}
	if (rc != 0)
		return device_fail(dv, dv->rep.chains, "returning a chain: %d", rc);
	dv->rep.flushes++;
	if (pvb_virtq_dev_should_notify(&dv->q)) {
		dv->rep.calls++;
		bell_ring(&dv->ctl->call_bell);
	}
	dv->hold = 1 + side_rand(&dv->sd) % MAX_HOLD;
	return 0;
}

/*
 * Nothing to pop, nothing held. Ask for kicks and re-check; unless chains
 * came meanwhile, wait for a kick the driver decided. Suppress them again.
 */
static int
device_wait(struct device *dv)
{
	uint32_t bell = bell_read(&dv->ctl->kick_bell);

	dv->rep.enables++;
	if (pvb_virtq_dev_set_notification(&dv->q, false)) {
		dv->rep.rechecks++;
	} else {
		dv->rep.waits++;
		while (bell_read(&dv->ctl->kick_bell) == bell)
			if (side_idle(&dv->sd) != 0)
				return -1;
	}
	(void)pvb_virtq_dev_set_notification(&dv->q, true);
	return 0;
}

/* Now and then stop until the driver, its ring full, waits for a call. */
static void
device_stall(struct device *dv)
{
	unsigned int i;

	for (i = 0; i < STALL_SPINS && !flag_get(&dv->ctl->drv_waiting); i++)
		pvb_cpu_relax();
}

static int
device_take(struct device *dv, uint64_t seq)
{
	struct plan pl;

	plan_make(&pl, seq, dv->bursts);
	if (device_check_shape(dv, &pl, seq) != 0 || device_check_read(dv, &pl, seq) != 0)
		return -1;
	device_write(dv, &pl, seq);
	dv->held[dv->nheld++] = (struct held){ .head = dv->c.head, .written = pl.written };
	dv->rep.chains++;
	return dv->nheld >= dv->hold ? device_flush(dv) : 0;
}

/* Bursts: pop_next, counting again (one read of avail->idx) when the count is used up. */
static int
device_pop_next(struct device *dv)
{
	int rc = pvb_virtq_dev_pop_next(&dv->q, &dv->c);

	if (rc != -EAGAIN)
		return rc;
	rc = pvb_virtq_dev_avail_count(&dv->q);
	if (rc <= 0)
		return rc == 0 ? -EAGAIN : rc;
	return pvb_virtq_dev_pop_next(&dv->q, &dv->c);
}

/*
 * Bursts, now and then: pop_burst up to BURST_POP chains, give a random
 * tail of them back with unpop (they pop again later), take the rest.
 * 0, -EAGAIN if nothing was available, -1 on failure.
 */
static int
device_pop_burst(struct device *dv, uint64_t *seq)
{
	uint16_t before = dv->q.next_avail_idx;
	int n = pvb_virtq_dev_pop_burst(&dv->q, dv->cs, 1 + side_rand(&dv->sd) % BURST_POP);
	unsigned int keep, i;

	if (n <= 0)
		return n == 0 ? -EAGAIN : device_fail(dv, *seq, "pop_burst: %d (%s)", n,
						      pvb_virtq_fault_str(dv->q.fault));
	keep = side_rand(&dv->sd) % ((unsigned int)n + 1);
	pvb_virtq_dev_unpop(&dv->q, (uint16_t)(n - (int)keep));
	if (dv->q.next_avail_idx != (uint16_t)(before + keep))
		return device_fail(dv, *seq, "unpop %d of %d: avail cursor %u, want %u",
				   n - (int)keep, n, dv->q.next_avail_idx, before + keep);
	dv->rep.unpopped += (unsigned int)n - keep;
	for (i = 0; i < keep; i++) {
		if (dv->cs[i].fault != PVB_VIRTQ_OK)
			return device_fail(dv, *seq, "pop_burst refused it: %s",
					   pvb_virtq_fault_str(dv->cs[i].fault));
		memcpy(&dv->c, &dv->cs[i], sizeof(dv->c));
		if (device_take(dv, (*seq)++) != 0)
			return -1;
	}
	return 0;
}

/* Bursts, one in 32 chains popped: give it back and pop it again, the same chain. */
static int
device_repop(struct device *dv, uint64_t seq)
{
	uint16_t head = dv->c.head;
	int rc;

	pvb_virtq_dev_unpop(&dv->q, 1);
	rc = pvb_virtq_dev_pop_next(&dv->q, &dv->c);
	if (rc != 0 || dv->c.head != head)
		return device_fail(dv, seq, "popped again after unpop: %d, head %u, want %u", rc,
				   dv->c.head, head);
	dv->rep.unpopped++;
	return 0;
}

/* One chain (or a pop_burst's) taken: 0, -EAGAIN if none was available, < 0 else. */
static int
device_pop_take(struct device *dv, uint64_t *seq)
{
	int rc;

	if (dv->bursts && side_rand(&dv->sd) % 8 == 0)
		return device_pop_burst(dv, seq);
	rc = dv->bursts ? device_pop_next(dv) : pvb_virtq_dev_pop_avail(&dv->q, &dv->c);
	if (rc == -EAGAIN)
		return rc;
	if (rc != 0)
		return device_fail(dv, *seq, "pop: %d (%s)", rc, pvb_virtq_fault_str(dv->q.fault));
	if (dv->bursts && side_rand(&dv->sd) % 32 == 0 && device_repop(dv, *seq) != 0)
		return -1;
	return device_take(dv, (*seq)++);
}

static int
device_loop(struct device *dv)
{
	uint64_t seq = 0;
	int rc;

	(void)pvb_virtq_dev_set_notification(&dv->q, true);
	dv->hold = 1 + side_rand(&dv->sd) % MAX_HOLD;
	while (seq < STRESS_CHAINS) {
		rc = device_pop_take(dv, &seq);
		if (rc == -EAGAIN) {
			if (device_flush(dv) != 0 || device_wait(dv) != 0)
				return -1;
			continue;
		}
		if (rc != 0)
			return -1;
		if (side_rand(&dv->sd) % STALL_ONE_IN == 0)
			device_stall(dv);
	}
	if (device_flush(dv) != 0)
		return -1;
	rc = pvb_virtq_dev_pop_avail(&dv->q, &dv->c);
	return rc == -EAGAIN ? 0 : device_fail(dv, seq, "pop after the last chain: %d", rc);
}

/* The device, in its thread: set the queue up as a transport would, run, report. */
static int
device_main(struct stress_run *run)
{
	const struct guest *g = run->g;
	struct device dv;
	int rc;

	memset(&dv, 0, sizeof(dv));
	side_init(&dv.sd, &run->peer, stress_peer_stopped, run->ctl->peer.msg, 0x2545f491u);
	dv.ctl = run->ctl;
	dv.g = g;
	dv.bursts = run->bursts;
	pvb_virtq_dev_init(&dv.q, QSIZE);
	pvb_virtq_dev_set_size(&dv.q, QSIZE);
	dv.q.desc_table_addr = GPA_BASE;
	dv.q.avail_ring_addr = GPA_BASE + g->l.driver_area_offset;
	dv.q.used_ring_addr = GPA_BASE + g->l.device_area_offset;
	dv.q.ready = true;
	rc = pvb_virtq_dev_enable(&dv.q, &g->mem, run->features);
	if (rc != 0)
		rc = side_fail(&dv.sd, "device enable: %d", rc);
	else
		rc = device_loop(&dv);
	dv.rep.bad_chains = dv.q.bad_chains;
	dv.rep.fault = dv.q.fault;
	run->ctl->rep = dv.rep;
	return rc;
}

/* ----------------------------------------------------------------------------
 * The driver
 */

/* A chain in flight: its token is &rec[slot]. */
struct rec {
	uint64_t seq;
	bool busy;
};

struct driver {
	struct side sd;
	struct pvb_virtq_drv d;
	struct stress_ctl *ctl;
	const struct guest *g;
	struct pvb_virtq_drv_extra extra[QSIZE];
	struct rec rec[QSIZE];		/* by slot */
	uint16_t free_slot[QSIZE];	/* FIFO of free slots */
	uint64_t slot_head, slot_tail;	/* take at head, give back at tail */
	uint64_t added, reclaimed, indirect;
	uint64_t slot_tables;		/* indirect tables in the slot, among the buffers */
	uint64_t split_tables;		/* ...across a region boundary */
	uint64_t drains;		/* waits for every chain back (driver_drain()) */
	uint64_t publishes;		/* kick_prepare() calls after a publish */
	uint64_t kicks;			/* ...which said kick */
	uint64_t enables;		/* enable_cb() */
	uint64_t rechecks;		/* ...which found used chains already */
	uint64_t waits;			/* ...which did not: waited for a call */
	unsigned int batch, unpub;
	bool bursts;
	uint64_t add_bursts;		/* add_burst calls */
	struct pvb_virtq_desc table[MAX_SEGS];	/* a table to copy into the slot */
	uint8_t buf[CHAIN_MAX + 8];	/* what the buffers should hold */
	uint8_t got[CHAIN_MAX];		/* what they hold */
};

#define driver_fail(x, seq, ...)	side_fail_seq(&(x)->sd, "driver, chain", (seq), __VA_ARGS__)

static uint64_t
slot_gpa(const struct driver *dr, uint32_t slot)
{
	return dr->g->pool_gpa + (uint64_t)slot * SLOT_LEN;
}

/* The readable stream into the readable buffers, the canary into the writable ones. */
static int
driver_fill(struct driver *dr, const struct plan *pl, uint64_t seq, uint64_t base)
{
	uint32_t i, at = 0;

	stream(dr->buf, seq, READ_SALT, pl->rlen);
	for (i = 0; i < pl->nseg; i++) {
		if (i == pl->nread)
			memset(dr->buf, canary(seq), CHAIN_MAX);
		if (!guest_copy(dr->g, base + pl->off[i], dr->buf + (i < pl->nread ? at : 0),
				pl->len[i], true))
			return driver_fail(dr, seq, "buffer %u outside guest memory", i);
		at += pl->len[i];
	}
	return 0;
}

/*
 * Chain @p pl through an indirect table: in the per-request area, or (half
 * of them) in the chain's slot after its buffers, at an odd address, where
 * it may straddle regions.
 */
static int
driver_add_indirect(struct driver *dr, const struct plan *pl, const struct pvb_virtq_buf *b,
		    uint32_t slot, uint64_t base)
{
	uint32_t len = pl->nseg * (uint32_t)sizeof(dr->table[0]);
	uint64_t tgpa, room;
	int rc;

	if (!pl->table_in_slot) {
		tgpa = GPA_BASE + dr->g->l.req_offset + (uint64_t)slot * TABLE_LEN;
		rc = pvb_virtq_drv_add_indirect(&dr->d, b, pl->nseg, guest_at(dr->g, tgpa, &room),
						tgpa, &dr->rec[slot]);
		dr->indirect += rc == 0;
		return rc;
	}
	/* the driver writes a table aligned: write it aside, then copy it where it goes */
	tgpa = base + pl->table_off;
	rc = pvb_virtq_drv_add_indirect(&dr->d, b, pl->nseg, dr->table, tgpa, &dr->rec[slot]);
	if (rc != 0)
		return rc;
	if (!guest_copy(dr->g, tgpa, (uint8_t *)dr->table, len, true))
		return -EFAULT;
	dr->indirect++;
	dr->slot_tables++;
	dr->split_tables += guest_at(dr->g, tgpa, &room) != NULL && room < len;
	return 0;
}

/* Add chain @seq, through an indirect table if its plan says so: 0 or -EAGAIN (full). */
static int
driver_add(struct driver *dr, uint64_t seq)
{
	struct pvb_virtq_buf b[MAX_SEGS];
	struct plan pl;
	uint32_t slot, i;
	uint64_t base;
	int rc;

	if (dr->slot_head == dr->slot_tail)
		return -EAGAIN;
	plan_make(&pl, seq, dr->bursts);
	slot = dr->free_slot[dr->slot_head % QSIZE];
	base = slot_gpa(dr, slot);
	for (i = 0; i < pl.nseg; i++)
		b[i] = (struct pvb_virtq_buf){ .gpa = base + pl.off[i], .len = pl.len[i],
					       .write = i >= pl.nread };
	if (pl.indirect && dr->d.indirect)
		rc = driver_add_indirect(dr, &pl, b, slot, base);
	else
		rc = pvb_virtq_drv_add(&dr->d, b, pl.nseg, &dr->rec[slot]);
	if (rc == -EAGAIN)
		return rc;
	if (rc != 0)
		return driver_fail(dr, seq, "add: %d", rc);
	dr->slot_head++;
	dr->rec[slot] = (struct rec){ .seq = seq, .busy = true };
	return driver_fill(dr, &pl, seq, base);
}

/*
 * Bursts: the run of one-buffer direct chains from dr->added on (at most
 * @p max, and as many as there are free slots) in one add_burst, each
 * buffer filled first (add_burst publishes). Returns how many were posted,
 * 0 if chain dr->added is not such a chain, -EAGAIN if no descriptor is free.
 */
static int
driver_add_run(struct driver *dr, unsigned int max)
{
	struct pvb_virtq_buf b[MAX_BATCH];
	void *tok[MAX_BATCH];
	struct plan pl;
	uint32_t slot, r, i;
	uint64_t seq, base;
	int rc;

	for (r = 0; r < max && r < MAX_BATCH && dr->added + r < STRESS_CHAINS &&
	     dr->slot_head + r != dr->slot_tail; r++) {
		seq = dr->added + r;
		plan_make(&pl, seq, true);
		if (pl.nseg != 1 || (pl.indirect && dr->d.indirect))
			break;
		slot = dr->free_slot[(dr->slot_head + r) % QSIZE];
		base = slot_gpa(dr, slot);
		if (driver_fill(dr, &pl, seq, base) != 0)
			return -1;
		b[r] = (struct pvb_virtq_buf){ .gpa = base + pl.off[0], .len = pl.len[0],
					       .write = pl.nread == 0 };
		tok[r] = &dr->rec[slot];
	}
	if (r == 0)
		return 0;
	rc = pvb_virtq_drv_add_burst(&dr->d, b, tok, r);
	if (rc < 0)
		return driver_fail(dr, dr->added, "add_burst of %u: %d", r, rc);
	dr->add_bursts++;
	for (i = 0; i < (uint32_t)rc; i++) {
		slot = dr->free_slot[dr->slot_head++ % QSIZE];
		dr->rec[slot] = (struct rec){ .seq = dr->added++, .busy = true };
	}
	return rc != 0 ? rc : -EAGAIN;
}

/* Add the next chain (with the bursts, maybe a run): how many, -EAGAIN if full, -1. */
static int
driver_add_some(struct driver *dr)
{
	int rc;

	if (dr->bursts) {
		rc = driver_add_run(dr, dr->batch > dr->unpub ? dr->batch - dr->unpub : 1);
		if (rc != 0)
			return rc;
	}
	rc = driver_add(dr, dr->added);
	if (rc != 0)
		return rc;
	dr->added++;
	return 1;
}

/* A used chain: the token is a chain in flight, its length and written bytes are right. */
static int
driver_check(struct driver *dr, void *token, uint32_t len)
{
	uintptr_t t = (uintptr_t)token, r0 = (uintptr_t)dr->rec;
	uint32_t slot, i, at = 0;
	struct plan pl;
	uint64_t seq, base;

	if (t < r0 || (t - r0) % sizeof(struct rec) != 0 || (t - r0) / sizeof(struct rec) >= QSIZE)
		return driver_fail(dr, dr->reclaimed, "token %p is not ours", token);
	slot = (uint32_t)((t - r0) / sizeof(struct rec));
	seq = dr->rec[slot].seq;
	if (!dr->rec[slot].busy)
		return driver_fail(dr, seq, "returned twice");
	plan_make(&pl, seq, dr->bursts);
	if (len != pl.written)
		return driver_fail(dr, seq, "used len %u, the device wrote %u", len, pl.written);
	stream(dr->buf, seq, WRITE_SALT, pl.written);
	memset(dr->buf + pl.written, canary(seq), pl.wlen - pl.written);
	base = slot_gpa(dr, slot);
	for (i = pl.nread; i < pl.nseg; i++) {
		if (!guest_copy(dr->g, base + pl.off[i], dr->got + at, pl.len[i], false))
			return driver_fail(dr, seq, "buffer %u outside guest memory", i);
		at += pl.len[i];
	}
	if (memcmp(dr->got, dr->buf, pl.wlen) != 0) {
		for (i = 0; dr->got[i] == dr->buf[i]; i++)
			;
		return driver_fail(dr, seq, "writable byte %u of %u (%u written): 0x%02x, "
				   "want 0x%02x", i, pl.wlen, pl.written, dr->got[i], dr->buf[i]);
	}
	dr->rec[slot].busy = false;
	dr->free_slot[dr->slot_tail++ % QSIZE] = (uint16_t)slot;
	dr->reclaimed++;
	return 0;
}

/* Take back every used chain there is; @n counts them. */
static int
driver_reclaim(struct driver *dr, unsigned int *n)
{
	void *token[GET_BURST];
	uint32_t len[GET_BURST];
	int rc, i;

	if (!dr->bursts) {
		while ((rc = pvb_virtq_drv_get_used(&dr->d, token, len)) == 1) {
			if (driver_check(dr, token[0], len[0]) != 0)
				return -1;
			(*n)++;
		}
		return rc == 0 ? 0 : driver_fail(dr, dr->reclaimed, "get_used: %d", rc);
	}
	while ((rc = pvb_virtq_drv_get_used_burst(&dr->d, token, len,
						  1 + side_rand(&dr->sd) % GET_BURST)) > 0)
		for (i = 0; i < rc; i++) {
			if (driver_check(dr, token[i], len[i]) != 0)
				return -1;
			(*n)++;
		}
	return rc == 0 ? 0 : driver_fail(dr, dr->reclaimed, "get_used_burst: %d", rc);
}

/* Make what was added visible, and kick if the library says so. */
static void
driver_publish(struct driver *dr)
{
	if (dr->unpub == 0)
		return;
	pvb_virtq_drv_publish(&dr->d);
	dr->publishes++;
	if (pvb_virtq_drv_kick_prepare(&dr->d)) {
		dr->kicks++;
		bell_ring(&dr->ctl->kick_bell);
	}
	dr->unpub = 0;
	dr->batch = 1 + side_rand(&dr->sd) % MAX_BATCH;
}

/*
 * Nothing to add, nothing used. Ask for calls and re-check; unless used
 * chains came meanwhile, wait for a call the device decided. Then stop
 * asking again.
 */
static int
driver_wait(struct driver *dr)
{
	uint32_t bell = bell_read(&dr->ctl->call_bell);

	dr->enables++;
	if (pvb_virtq_drv_enable_cb(&dr->d)) {
		dr->rechecks++;
	} else {
		dr->waits++;
		flag_set(&dr->ctl->drv_waiting, 1);
		while (bell_read(&dr->ctl->call_bell) == bell)
			if (side_idle(&dr->sd) != 0)
				return -1;
		flag_set(&dr->ctl->drv_waiting, 0);
	}
	pvb_virtq_drv_disable_cb(&dr->d);
	return 0;
}

/*
 * Now and then publish and take everything back before adding more, waiting
 * for calls: the device returns its last chains and waits for a kick, so
 * the last decision on each side before the other waits is the one that
 * counts, and a lost one hangs the run.
 */
static int
driver_drain(struct driver *dr)
{
	unsigned int n;

	driver_publish(dr);
	dr->drains++;
	while (dr->reclaimed < dr->added) {
		n = 0;
		if (driver_reclaim(dr, &n) != 0 || (n == 0 && driver_wait(dr) != 0))
			return -1;
	}
	return 0;
}

static int
driver_loop(struct driver *dr)
{
	unsigned int n = 0;
	int rc;

	pvb_virtq_drv_disable_cb(&dr->d);
	dr->batch = 1 + side_rand(&dr->sd) % MAX_BATCH;
	while (dr->reclaimed < STRESS_CHAINS) {
		rc = dr->added < STRESS_CHAINS ? driver_add_some(dr) : -EAGAIN;
		if (rc > 0) {
			dr->unpub += (unsigned int)rc;
			if (dr->unpub >= dr->batch) {
				driver_publish(dr);
				if (driver_reclaim(dr, &n) != 0)
					return -1;
			}
			if (side_rand(&dr->sd) % DRAIN_ONE_IN == 0 && driver_drain(dr) != 0)
				return -1;
			continue;
		}
		if (rc != -EAGAIN)
			return -1;
		/* no room, or all posted: publish, take back what is done, else wait for a call */
		driver_publish(dr);
		n = 0;
		if (driver_reclaim(dr, &n) != 0 || (n == 0 && driver_wait(dr) != 0))
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * Fixture and the test template
 */

/* Where each region's chunk goes in the mapping: not guest address order. */
static const unsigned int host_order[NB_REGIONS] = { 5, 2, 7, 0, 3, 6, 1, 4 };

static size_t
round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

/* Region i's guest range is [cut[i], cut[i + 1]) above GPA_BASE. */
static void
guest_cuts(const struct guest *g, uint64_t *cut)
{
	unsigned int i;

	cut[0] = 0;
	/* odd boundaries across the pool; region 0 holds the rings and keeps 16-byte alignment */
	for (i = 1; i < NB_REGIONS; i++)
		cut[i] = g->l.end_offset + POOL_LEN * i / NB_REGIONS + 37 * i;
	cut[1] &= ~15ull;
	cut[NB_REGIONS] = g->l.end_offset + POOL_LEN;
}

/*
 * The control page, then each region's chunk in host_order: the region flush
 * against the end of its chunk, a PROT_NONE guard page after it.
 */
static int
guest_build(struct guest *g)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), off = page, chunk;
	uint64_t cut[NB_REGIONS + 1], size;
	unsigned int i, k;

	if (pvb_virtq_layout(1, QSIZE, 1ull << PVB_VIRTIO_F_VERSION_1, TABLE_LEN, &g->l) != 0)
		return -1;
	g->pool_gpa = GPA_BASE + g->l.end_offset;
	guest_cuts(g, cut);
	g->map_len = page;
	for (i = 0; i < NB_REGIONS; i++)
		g->map_len += round_up(cut[i + 1] - cut[i], page) + page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		return -1;
	g->ctl = (struct stress_ctl *)(void *)g->map;
	for (k = 0; k < NB_REGIONS; k++) {
		i = host_order[k];
		size = cut[i + 1] - cut[i];
		chunk = round_up(size, page);
		g->r[i] = (struct pvb_virtq_region){ .gpa = GPA_BASE + cut[i], .size = size,
						     .host = g->map + off + chunk - size };
		off += chunk;
		if (mprotect(g->map + off, page, PROT_NONE) != 0)
			return -1;
		off += page;
	}
	return pvb_virtq_mem_init(&g->mem, g->r, NB_REGIONS);
}

static int
suite_setup(void **state)
{
	static struct guest g;

	if (guest_build(&g) != 0) {
		if (g.map != NULL && g.map != MAP_FAILED)
			munmap(g.map, g.map_len);
		return -1;
	}
	*state = &g;
	return 0;
}

static int
suite_teardown(void **state)
{
	struct guest *g = *state;

	return munmap(g->map, g->map_len);
}

/* Zeroed rings and control block; the driver side over them. */
static void
driver_init(struct driver *dr, struct stress_run *run)
{
	const struct guest *g = run->g;
	uint64_t room;
	uint32_t i;

	memset(dr, 0, sizeof(*dr));
	dr->g = g;
	dr->ctl = run->ctl;
	dr->bursts = run->bursts;
	assert_int_equal(pvb_virtq_drv_init(&dr->d, QSIZE, guest_at(g, GPA_BASE, &room),
					    guest_at(g, GPA_BASE + g->l.driver_area_offset, &room),
					    guest_at(g, GPA_BASE + g->l.device_area_offset, &room),
					    dr->extra, run->features), 0);
	for (i = 0; i < QSIZE; i++)
		dr->free_slot[i] = (uint16_t)i;
	dr->slot_tail = QSIZE;
	side_init(&dr->sd, &run->peer, stress_thread_mode.peer_lost, run->msg, 0x9e3779b9u);
}

static void
report(const char *name, const struct driver *dr, const struct dev_report *rep, uint64_t ns)
{
	double s = (double)ns / 1e9;

	printf("virtq %s: %llu chains in %.2f s: %.2f M chains/s, %.0f MB/s read + written\n",
	       name, (unsigned long long)STRESS_CHAINS, s, (double)STRESS_CHAINS / s / 1e6,
	       (double)(rep->rbytes + rep->wbytes) / s / 1e6);
	printf("  driver: %llu publishes, %llu kicks; %llu via indirect (%llu tables in a slot, "
	       "%llu across regions); %llu drains; enable_cb %llu times: %llu waits, "
	       "%llu re-checks found used chains\n",
	       (unsigned long long)dr->publishes, (unsigned long long)dr->kicks,
	       (unsigned long long)dr->indirect, (unsigned long long)dr->slot_tables,
	       (unsigned long long)dr->split_tables, (unsigned long long)dr->drains,
	       (unsigned long long)dr->enables,
	       (unsigned long long)dr->waits, (unsigned long long)dr->rechecks);
	if (dr->bursts)
		printf("  bursts: %llu add_burst calls; %llu chains given back with unpop\n",
		       (unsigned long long)dr->add_bursts, (unsigned long long)rep->unpopped);
	printf("  device: %llu returns, %llu calls; %llu segments, %llu chains straddle regions; "
	       "kicks enabled %llu times: %llu waits, %llu re-checks found chains\n",
	       (unsigned long long)rep->flushes, (unsigned long long)rep->calls,
	       (unsigned long long)rep->segs, (unsigned long long)rep->straddles,
	       (unsigned long long)rep->enables, (unsigned long long)rep->waits,
	       (unsigned long long)rep->rechecks);
}

/*
 * Notifications against the rules (see the top of the file): every wait
 * ended on one, at most one per decision, and with event index no more than
 * the re-enables (and index wraps) allow.
 */
static void
check_counts(const struct driver *dr, const struct dev_report *rep, bool event_idx)
{
	assert_true(dr->kicks >= rep->waits);
	assert_true(rep->calls >= dr->waits);
	assert_true(dr->kicks <= dr->publishes);
	assert_true(rep->calls <= rep->flushes);
	if (!event_idx)
		return;
	assert_true(dr->kicks <= rep->enables + 1 + WRAPS);
	assert_true(rep->calls <= dr->enables + 2 + WRAPS);
}

/* After the run: every chain came back once, both indices met, nothing refused. */
static void
check_end(struct driver *dr, const struct dev_report *rep, bool event_idx)
{
	void *token;
	uint32_t len;

	assert_int_equal(rep->fault, PVB_VIRTQ_OK);
	assert_int_equal(rep->bad_chains, 0);
	assert_int_equal(rep->chains, STRESS_CHAINS);
	assert_int_equal(dr->reclaimed, STRESS_CHAINS);
	assert_int_equal(pvb_virtq_drv_get_used(&dr->d, &token, &len), 0);
	assert_false(dr->d.broken);
	assert_int_equal(dr->d.num_free, QSIZE);
	/* relaxed: the device thread has been joined */
	assert_int_equal(pvb_load_relaxed16(&dr->d.avail->idx), (uint16_t)STRESS_CHAINS);
	assert_int_equal(pvb_load_relaxed16(&dr->d.used->idx), (uint16_t)STRESS_CHAINS);
	/* the pool's region boundaries were crossed, the indirect path taken */
	assert_true(rep->straddles > 0);
	assert_true(dr->indirect > 0 && dr->slot_tables > 0 && dr->split_tables > 0);
	if (dr->bursts)
		assert_true(dr->add_bursts > 0 && rep->unpopped > 0);
	check_counts(dr, rep, event_idx);
	if (event_idx) {
		/* with event index the flags words are not used (VIRTIO 1.2 §2.7.7, §2.7.10) */
		assert_int_equal(pvb_load_relaxed16(&dr->d.avail->flags), 0);
		assert_int_equal(pvb_load_relaxed16(&dr->d.used->flags), 0);
	}
}

/* The workload template: one full run with @features. */
static void
stress(void **state, const char *name, uint64_t features, bool bursts)
{
	static struct driver dr;
	struct guest *g = *state;
	struct stress_run run = {
		.g = g,
		.ctl = g->ctl,
		.features = features,
		.bursts = bursts,
		.peer = { .main = device_main, .run = &run, .ctl = &g->ctl->peer },
	};
	uint64_t t0, ns;
	int drc, vrc;
	unsigned int i;

	memset(g->ctl, 0, sizeof(*g->ctl));
	for (i = 0; i < NB_REGIONS; i++)
		memset(g->r[i].host, 0, g->r[i].size);
	driver_init(&dr, &run);

	/* no cmocka assertion until finish(): a failure must not leave the device running */
	t0 = now_ns();
	if (stress_thread_mode.start(&run.peer) != 0)
		fail_msg("%s: cannot start the device", name);
	drc = driver_loop(&dr);
	vrc = stress_thread_mode.finish(&run.peer, drc != 0);
	ns = now_ns() - t0;
	if (drc != 0 || vrc != 0)
		fail_msg("%s: driver: %s; device: %s", name, drc != 0 ? run.msg : "ok",
			 vrc != 0 ? run.ctl->peer.msg : "ok");
	report(name, &dr, &run.ctl->rep, ns);
	check_end(&dr, &run.ctl->rep, (features >> PVB_VIRTIO_F_EVENT_IDX) & 1);
}

static void
test_event_idx(void **state)
{
	stress(state, "event index", (1ull << PVB_VIRTIO_F_VERSION_1) |
	       (1ull << PVB_VIRTIO_F_EVENT_IDX) | (1ull << PVB_VIRTIO_F_INDIRECT_DESC), false);
}

static void
test_flags(void **state)
{
	stress(state, "flags", (1ull << PVB_VIRTIO_F_VERSION_1) |
	       (1ull << PVB_VIRTIO_F_INDIRECT_DESC), false);
}

static void
test_bursts(void **state)
{
	stress(state, "bursts, event index", (1ull << PVB_VIRTIO_F_VERSION_1) |
	       (1ull << PVB_VIRTIO_F_EVENT_IDX) | (1ull << PVB_VIRTIO_F_INDIRECT_DESC), true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_idx),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_bursts),
	};

	return STRESS_RUN_GROUP(tests, suite_setup, suite_teardown);
}
