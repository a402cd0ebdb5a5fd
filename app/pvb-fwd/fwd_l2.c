/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The l2 MAC table (see fwd_l2.h for the contract).
 *
 * A power-of-two array of slots, at least two per entry, so the probe window
 * of a MAC rarely fills. A slot is two words:
 *
 *   key   MAC << 16 | port     (MAC as 48 bits, mac[0] most significant)
 *         0                    empty: never used (00:00:00:00:00:00 is not learnable)
 *         UINT64_MAX           tombstone: removed (ff:ff:ff:ff:ff:ff is not learnable)
 *   seen  when the entry was last stamped (caller's time unit)
 *
 * A MAC lives in one of the FWD_L2_PROBE slots from its home slot, wrapping
 * at the end of the array:
 *
 *   home  h     h+1   h+2   h+3   h+4
 *        [B|1] [tomb] [A|2] [ 0 ] [C|1] ...
 *   lookup(A): B no, tomb skipped, A -> port 2
 *   lookup(D): B, tomb, A, empty -> stop: unknown
 *
 * A slot goes from empty to live once and then only between live and
 * tombstone: empties never come back. An insert takes the first free slot
 * of the window and looks no further than the first empty one, so no live
 * entry ever sits behind an empty slot of its window, and lookups may stop
 * there. (C above has another home slot.)
 *
 * Every access is relaxed. Each key is one word holding the whole entry,
 * published or replaced by a compare-and-swap, so a reader sees an entry or
 * not, never half of one; nothing else is published with it. The one thing
 * relaxed gives up is the order between an entry's seen and its key: see
 * "The last-seen time" in fwd_l2.h for what a racing reader may then see,
 * and why each outcome is harmless.
 */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pvb_ordering.h"

#include "fwd_l2.h"

#define L2_LINE		64			/* cache line */
#define KEY_EMPTY	UINT64_C(0)
#define KEY_TOMB	UINT64_MAX
#define L2_RETRY	(-1)			/* lost a slot to another lcore: probe again */
#define L2_PASSES	2			/* probes per learn before giving up */

struct fwd_l2_slot {
	pvb_shared_u64 key;	/* W: learn (CAS), age/flush (CAS to tombstone); R: all */
	pvb_shared_u64 seen;	/* W: learn (stores); R: lookup, age, walk */
};

_Static_assert(sizeof(struct fwd_l2_slot) == 16, "four slots per cache line");
_Static_assert(FWD_L2_PROBE * sizeof(struct fwd_l2_slot) % L2_LINE == 0,
	       "the smallest table is whole cache lines (aligned_alloc wants that)");

struct fwd_l2 {
	/* set by fwd_l2_create(), read-only after */
	uint64_t mask;		/* slots - 1 */
	uint64_t max_entries;
	uint64_t age;
	uint64_t refresh;	/* a known entry's seen is rewritten only when older than this */

	/*
	 * Written by learning lcores when something changes (a new MAC, a
	 * move, a source not learned) and by the ager, not for known traffic:
	 * off the line above, which every lookup reads.
	 */
	/* W: learn (CAS +1), all removers (CAS -n) */
	_Alignas(L2_LINE) pvb_shared_u64 entries;
	pvb_counter_t learned;	/* W: learn */
	pvb_counter_t moved;	/* W: learn */
	pvb_counter_t full;	/* W: learn */
	pvb_counter_t aged;	/* W: age */
	pvb_counter_t flushed;	/* W: flush_port */

	_Alignas(L2_LINE) struct fwd_l2_slot slot[];
};

_Static_assert(offsetof(struct fwd_l2, entries) % L2_LINE == 0, "counters on their own line");
_Static_assert(offsetof(struct fwd_l2, slot) % L2_LINE == 0, "slots start a cache line");

/* ----------------------------------------------------------------------------
 * Keys
 */

static inline uint64_t
mac_u48(const uint8_t mac[6])
{
	return (uint64_t)mac[0] << 40 | (uint64_t)mac[1] << 32 | (uint64_t)mac[2] << 24 |
	       (uint64_t)mac[3] << 16 | (uint64_t)mac[4] << 8 | mac[5];
}

static inline uint64_t
key_make(uint64_t m, uint16_t port)
{
	return m << 16 | port;
}

/* The MAC of a key; never a learnable one for an empty slot or a tombstone. */
static inline uint64_t
key_mac(uint64_t k)
{
	return k >> 16;
}

static inline uint16_t
key_port(uint64_t k)
{
	return (uint16_t)k;
}

static inline bool
key_live(uint64_t k)
{
	return k != KEY_EMPTY && k != KEY_TOMB;
}

static void
key_mac_bytes(uint64_t k, uint8_t mac[6])
{
	uint64_t m = key_mac(k);
	int i;

	for (i = 5; i >= 0; i--, m >>= 8)
		mac[i] = (uint8_t)m;
}

/*
 * MurmurHash3's 64-bit finalizer: every MAC bit reaches every bit the mask
 * keeps. Sequential NIC addresses (which differ in the last bytes only) then
 * spread like random ones; a single multiply-xorshift left them clustered, and
 * filling a 2^20-entry table with them hit a full window ten times as often.
 */
static inline uint64_t
mac_hash(uint64_t m)
{
	m ^= m >> 33;
	m *= UINT64_C(0xff51afd7ed558ccd);
	m ^= m >> 33;
	m *= UINT64_C(0xc4ceb9fe1a85ec53);
	m ^= m >> 33;
	return m;
}

static inline struct fwd_l2_slot *
probe_slot(const struct fwd_l2 *t, uint64_t home, unsigned int i)
{
	return (struct fwd_l2_slot *)(uintptr_t)&t->slot[(home + i) & t->mask];
}

/*
 * Seen within the ageing time at @now. A seen ahead of @now was stamped by
 * an lcore whose clock runs a little ahead: just seen, not 2^64 units old.
 */
static inline bool
seen_fresh(const struct fwd_l2 *t, uint64_t seen, uint64_t now)
{
	return t->age == 0 || now <= seen || now - seen <= t->age;
}

/* ----------------------------------------------------------------------------
 * The live-entry count: a bound, so taken before an insert and given back after
 */

/* One more entry if the table has room. */
static bool
entries_reserve(struct fwd_l2 *t)
{
	/* relaxed: the count guards nothing but itself; the CAS makes the bound exact */
	uint64_t n = pvb_load_relaxed64(&t->entries);

	do {
		if (n >= t->max_entries)
			return false;
	} while (!pvb_cas_relaxed64(&t->entries, &n, n + 1));
	return true;
}

static void
entries_release(struct fwd_l2 *t, uint64_t removed)
{
	/* relaxed: as in entries_reserve() */
	uint64_t n = pvb_load_relaxed64(&t->entries);

	if (removed == 0)
		return;
	while (!pvb_cas_relaxed64(&t->entries, &n, n - removed))
		;
}

/* ----------------------------------------------------------------------------
 * Learning
 */

/*
 * @mac is in @s with key @k: move it to @port if it is elsewhere, else
 * refresh its time if that is due. L2_RETRY if it left the slot meanwhile.
 */
static int
learn_known(struct fwd_l2 *t, struct fwd_l2_slot *s, uint64_t k, uint64_t m, uint16_t port,
	    uint64_t now)
{
	uint64_t seen;

	while (key_port(k) != port) {
		/*
		 * Stamp, then publish the new port: a lookup that sees the
		 * new port with the old time answers -1 at worst (fwd_l2.h).
		 * Relaxed, for the same reason. Should the CAS fail, the
		 * stamp lands on whatever holds the slot now: a time just
		 * taken, harmless.
		 */
		pvb_store_relaxed64(&s->seen, now);
		if (pvb_cas_relaxed64(&s->key, &k, key_make(m, port))) {
			pvb_counter_add(&t->moved, 1);
			return FWD_L2_MOVED;
		}
		if (key_mac(k) != m)
			return L2_RETRY;	/* aged, flushed or reused under us */
	}
	if (t->age != 0) {
		/* relaxed: a time is a hint; racing stamps all carry current times */
		seen = pvb_load_relaxed64(&s->seen);
		if (now > seen && now - seen > t->refresh)
			pvb_store_relaxed64(&s->seen, now);
	}
	return FWD_L2_KNOWN;
}

/* Insert @m at @s, which held @old (empty or tombstone). */
static int
learn_insert(struct fwd_l2 *t, struct fwd_l2_slot *s, uint64_t old, uint64_t m, uint16_t port,
	     uint64_t now)
{
	if (!entries_reserve(t))
		return FWD_L2_FULL;
	/*
	 * The time goes in before the key, so the slot's previous time (0,
	 * or that of the entry it last held) is seen only by a reader racing
	 * this insert, and with relaxed ordering; fwd_l2.h says why that is
	 * harmless. Written into a slot this lcore does not own yet: if the
	 * CAS loses, the winner's entry is as new as this time.
	 */
	pvb_store_relaxed64(&s->seen, now);
	/* relaxed: the key is the whole entry (pvb_cas_relaxed64) */
	if (!pvb_cas_relaxed64(&s->key, &old, key_make(m, port))) {
		entries_release(t, 1);
		return L2_RETRY;
	}
	pvb_counter_add(&t->learned, 1);
	return FWD_L2_NEW;
}

static int
learn_probe(struct fwd_l2 *t, uint64_t m, uint16_t port, uint64_t now)
{
	struct fwd_l2_slot *s, *free_slot = NULL;
	uint64_t k, free_key = KEY_EMPTY, home = mac_hash(m);
	unsigned int i;

	for (i = 0; i < FWD_L2_PROBE; i++) {
		s = probe_slot(t, home, i);
		/* relaxed: the key is the whole entry */
		k = pvb_load_relaxed64(&s->key);
		if (key_mac(k) == m)
			return learn_known(t, s, k, m, port, now);
		if (key_live(k))
			continue;
		if (free_slot == NULL) {
			free_slot = s;
			free_key = k;
		}
		if (k == KEY_EMPTY)
			break;	/* nothing lives past an empty slot */
	}
	if (free_slot == NULL)
		return FWD_L2_FULL;	/* the window is full */
	return learn_insert(t, free_slot, free_key, m, port, now);
}

enum fwd_l2_learned
fwd_l2_learn(struct fwd_l2 *t, const uint8_t mac[6], uint16_t port, uint64_t now)
{
	int r = L2_RETRY;
	int pass;

	/* not counted here: a locked add on a shared line for every such frame */
	if (!fwd_l2_learnable(mac))
		return FWD_L2_INVALID;
	/*
	 * A lost race means another lcore changed the window: probe it again,
	 * once. Losing twice is a crowded window; the next frame tries again.
	 */
	for (pass = 0; pass < L2_PASSES && r == L2_RETRY; pass++)
		r = learn_probe(t, mac_u48(mac), port, now);
	if (r == L2_RETRY || r == FWD_L2_FULL) {
		pvb_counter_add(&t->full, 1);
		return FWD_L2_FULL;
	}
	return (enum fwd_l2_learned)r;
}

/* ----------------------------------------------------------------------------
 * Lookup
 */

int
fwd_l2_lookup(const struct fwd_l2 *t, const uint8_t mac[6], uint64_t now)
{
	const struct fwd_l2_slot *s;
	uint64_t k, m = mac_u48(mac), home = mac_hash(m);
	unsigned int i;

	/* never learned; and ff:ff:ff:ff:ff:ff would match a tombstone below */
	if (!fwd_l2_learnable(mac))
		return -1;
	for (i = 0; i < FWD_L2_PROBE; i++) {
		s = probe_slot(t, home, i);
		/* relaxed: the key is the whole entry */
		k = pvb_load_relaxed64(&s->key);
		if (k == KEY_EMPTY)
			break;
		if (key_mac(k) != m)
			continue;	/* another MAC, or a tombstone */
		/* relaxed: a time that races a stamp gives -1 or this port (fwd_l2.h) */
		if (!seen_fresh(t, pvb_load_relaxed64(&s->seen), now))
			return -1;
		return key_port(k);
	}
	return -1;
}

/* ----------------------------------------------------------------------------
 * Removal, by the ager or on link down
 */

/*
 * Tombstone @s if it still holds @k. The CAS fails if the entry moved or was
 * removed since the caller looked: a move stamped it, so it is not stale.
 */
static bool
slot_remove(struct fwd_l2_slot *s, uint64_t k)
{
	/* relaxed: the key is the whole entry; a tombstone publishes nothing else */
	return pvb_cas_relaxed64(&s->key, &k, KEY_TOMB);
}

uint32_t
fwd_l2_age(struct fwd_l2 *t, uint64_t now)
{
	struct fwd_l2_slot *s;
	uint64_t i, k;
	uint32_t n = 0;

	if (t->age == 0)
		return 0;
	for (i = 0; i <= t->mask; i++) {
		s = &t->slot[i];
		/* relaxed: whole entry; a stamp racing with this may be missed (fwd_l2.h) */
		k = pvb_load_relaxed64(&s->key);
		if (key_live(k) && !seen_fresh(t, pvb_load_relaxed64(&s->seen), now))
			n += slot_remove(s, k);
	}
	/* released after the slots are free, so the count never undercounts them */
	entries_release(t, n);
	pvb_counter_add(&t->aged, n);
	return n;
}

uint32_t
fwd_l2_flush_port(struct fwd_l2 *t, uint16_t port)
{
	struct fwd_l2_slot *s;
	uint64_t i, k;
	uint32_t n = 0;

	for (i = 0; i <= t->mask; i++) {
		s = &t->slot[i];
		/* relaxed: the key is the whole entry */
		k = pvb_load_relaxed64(&s->key);
		if (key_live(k) && key_port(k) == port)
			n += slot_remove(s, k);
	}
	entries_release(t, n);
	pvb_counter_add(&t->flushed, n);
	return n;
}

/* ----------------------------------------------------------------------------
 * Telemetry
 */

void
fwd_l2_stats(const struct fwd_l2 *t, struct fwd_l2_stats *s)
{
	/* relaxed: a report wants values, each exact on its own, not an order */
	s->entries = pvb_load_relaxed64(&t->entries);
	s->learned = pvb_counter_read(&t->learned);
	s->moved = pvb_counter_read(&t->moved);
	s->aged = pvb_counter_read(&t->aged);
	s->flushed = pvb_counter_read(&t->flushed);
	s->full = pvb_counter_read(&t->full);
}

int
fwd_l2_walk(const struct fwd_l2 *t, int (*fn)(const uint8_t mac[6], uint16_t port,
						  uint64_t last_seen, void *arg),
	    void *arg)
{
	const struct fwd_l2_slot *s;
	uint8_t mac[6];
	uint64_t i, k;
	int rc;

	for (i = 0; i <= t->mask; i++) {
		s = &t->slot[i];
		/* relaxed: the key is the whole entry; the time is a report */
		k = pvb_load_relaxed64(&s->key);
		if (!key_live(k))
			continue;
		key_mac_bytes(k, mac);
		rc = fn(mac, key_port(k), pvb_load_relaxed64(&s->seen), arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * Life cycle
 */

struct fwd_l2 *
fwd_l2_create(uint32_t max_entries, uint64_t age)
{
	struct fwd_l2 *t;
	uint64_t nslots = FWD_L2_PROBE;	/* a window never wraps onto itself */
	size_t size;

	if (max_entries == 0 || max_entries > FWD_L2_MAX_ENTRIES) {
		errno = EINVAL;
		return NULL;
	}
	while (nslots < 2 * (uint64_t)max_entries)
		nslots <<= 1;
	size = sizeof(*t) + nslots * sizeof(t->slot[0]);
	t = aligned_alloc(L2_LINE, size);
	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	/* all slots empty (0), all counters 0; nobody else sees the table yet */
	memset(t, 0, size);
	t->mask = nslots - 1;
	t->max_entries = max_entries;
	t->age = age;
	t->refresh = age / 8;
	return t;
}

void
fwd_l2_free(struct fwd_l2 *t)
{
	free(t);
}
