/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_FWD_L2_H_
#define _PVB_FWD_L2_H_

/*
 * The MAC table of pvb-fwd's l2 mode: source MAC -> port, learned from
 * traffic, aged out, bounded in size. No DPDK in here, so it is unit-tested
 * alone.
 *
 * Shared by all forwarding lcores without a lock: each slot is one 64-bit
 * word (48-bit MAC | 16-bit port), so a reader sees a whole entry or none.
 * Learning inserts with a compare-and-swap into an empty slot (open
 * addressing, linear probing within a bounded window), moves an entry with a
 * compare-and-swap of the port, and refreshes its last-seen time only when it
 * is older than an eighth of the ageing time, so steady traffic does not write
 * the table. fwd_l2_age() (the main lcore, periodically) turns expired
 * entries into tombstones that lookups skip and inserts reuse. Two lcores
 * learning the same new MAC at once may insert it twice; lookups find the
 * first and the other ages out.
 *
 * The last-seen time is a second word beside the key. An insert or a move
 * writes it before the key, but both relaxed: where stores may become visible
 * out of order (not on x86, in practice), a lookup racing the insert or move
 * may see the new key with the slot's previous time (0, an expired time, or
 * that of an entry just flushed). It then answers -1 (unknown: the caller
 * floods) or the right port; never a port the MAC was not learned on, as
 * MAC and port are read in one word. fwd_l2_age() may likewise drop an entry
 * inserted or refreshed at that moment; the next frame from it learns it
 * again.
 *
 * Time is in the caller's unit (pvb-fwd uses TSC cycles), as long as it is
 * monotonic and @p age is in the same unit. Lcores' clocks may be slightly
 * apart: a last-seen time ahead of the caller's @p now counts as "just seen".
 *
 * Concurrency: fwd_l2_learn(), fwd_l2_lookup(), fwd_l2_age(),
 * fwd_l2_flush_port(), fwd_l2_stats() and fwd_l2_walk() may all run at once
 * on any threads. fwd_l2_create() and fwd_l2_free() run alone.
 */

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FWD_L2_PROBE		16		/* slots looked at from a MAC's home slot */
#define FWD_L2_MAX_ENTRIES	(1u << 24)	/* largest max_entries fwd_l2_create() takes */

struct fwd_l2;

enum fwd_l2_learned {
	FWD_L2_KNOWN,		/* already there on this port */
	FWD_L2_NEW,		/* inserted */
	FWD_L2_MOVED,		/* was on another port; now on this one */
	FWD_L2_FULL,		/* not learned: the table holds its maximum, or every slot
				 * of the MAC's probe window is taken (or was taken by
				 * other lcores while this one tried) */
	FWD_L2_INVALID,		/* not learned: multicast/broadcast or all-zero source */
};

/*
 * Counters, read with no lock while lcores learn: each is exact on its own,
 * and once the table is quiet, entries == learned - aged - flushed.
 */
struct fwd_l2_stats {
	uint64_t entries;	/* live entries now */
	uint64_t learned;	/* FWD_L2_NEW so far */
	uint64_t moved;		/* FWD_L2_MOVED so far */
	uint64_t aged;		/* removed by fwd_l2_age() */
	uint64_t flushed;	/* removed by fwd_l2_flush_port() */
	uint64_t full;		/* sources not learned for lack of room (FWD_L2_FULL) */
	/* FWD_L2_INVALID is not counted here: callers count it where they see it */
};

/**
 * A table of at most @p max_entries entries (1..FWD_L2_MAX_ENTRIES), ageing
 * after @p age time units (0 = never). It reserves at least two slots per
 * entry, 16 bytes each. NULL with errno set: EINVAL on bad arguments, ENOMEM.
 */
struct fwd_l2 *fwd_l2_create(uint32_t max_entries, uint64_t age);

/** Free a table from fwd_l2_create(); NULL is fine. */
void fwd_l2_free(struct fwd_l2 *t);

/**
 * Learn that @p mac was seen as a source on @p port at @p now. Counts
 * FWD_L2_NEW, FWD_L2_MOVED, FWD_L2_FULL and FWD_L2_INVALID in the stats.
 */
enum fwd_l2_learned fwd_l2_learn(struct fwd_l2 *t, const uint8_t mac[6], uint16_t port,
				 uint64_t now);

/** The port @p mac was learned on, or -1 if unknown or expired at @p now. */
int fwd_l2_lookup(const struct fwd_l2 *t, const uint8_t mac[6], uint64_t now);

/** Remove entries not seen since @p now - age; returns how many (0 if age is 0). */
uint32_t fwd_l2_age(struct fwd_l2 *t, uint64_t now);

/** Forget every entry learned on @p port (its link went down); returns how many. */
uint32_t fwd_l2_flush_port(struct fwd_l2 *t, uint16_t port);

/** A snapshot of the counters. */
void fwd_l2_stats(const struct fwd_l2 *t, struct fwd_l2_stats *s);

/**
 * Call @p fn for each live entry (telemetry), in slot order. Stops early if
 * @p fn returns nonzero, and returns that value; 0 after a full walk. Entries
 * learned or removed during the walk may or may not be seen.
 */
int fwd_l2_walk(const struct fwd_l2 *t, int (*fn)(const uint8_t mac[6], uint16_t port,
						  uint64_t last_seen, void *arg),
		void *arg);

/** True for a MAC that may be learned: unicast and not all zero. */
static inline bool
fwd_l2_learnable(const uint8_t mac[6])
{
	return (mac[0] & 1) == 0 &&
	       (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) != 0;
}

/*
 * The same test on an Ethernet header's two addresses with two 8-byte loads
 * instead of twelve byte loads: bytes 0..7 hold the destination (and two
 * bytes of the source), bytes 4..11 the source (after two of the
 * destination). The group bit is bit 0 of the first byte on the wire.
 */
static inline bool
fwd_l2_learnable_dst(const uint8_t hdr[14])
{
	uint64_t v;

	memcpy(&v, hdr, sizeof(v));
	v = le64toh(v) & 0xffffffffffffull;
	return v != 0 && (v & 1) == 0;
}

static inline bool
fwd_l2_learnable_src(const uint8_t hdr[14])
{
	uint64_t v;

	memcpy(&v, hdr + 4, sizeof(v));
	v = le64toh(v) >> 16;
	return v != 0 && (v & 1) == 0;
}

#endif /* _PVB_FWD_L2_H_ */
