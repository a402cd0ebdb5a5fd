/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_SCRING_WIRE_H_
#define _PVB_SCRING_WIRE_H_

/**
 * @file
 * scring wire format: a submission ring and a completion ring in one shared
 * memory area. Both sides include this header; it holds only the layout,
 * constants, compile-time checks and pure index helpers. No DPDK here.
 *
 * The area (all offsets from its start, little-endian, 64-byte lines):
 *
 *      0 +-----------------------------------------------+
 *        | header: magic, version, entry sizes, ring     |  written once by the
 *        | sizes, entry offsets, area size               |  creator, read at attach
 *    128 +-----------------------------------------------+
 *        | submit_head     W: producer   R: consumer     |  own line (+ guard line)
 *    256 +-----------------------------------------------+
 *        | submit_tail     W: consumer   R: producer     |
 *        | submit_wait     W: consumer   R: producer     |
 *    384 +-----------------------------------------------+
 *        | complete_head   W: consumer   R: producer     |
 *    512 +-----------------------------------------------+
 *        | complete_tail   W: producer   R: consumer     |
 *        | complete_wait   W: producer   R: consumer     |
 *    640 +-----------------------------------------------+ sub_off
 *        | submission entries [sub_size] x sub_esize     |  W: producer
 *        +-----------------------------------------------+ cmp_off (128-aligned)
 *        | completion entries [cmp_size] x cmp_esize     |  W: consumer
 *        +-----------------------------------------------+ area_size
 *
 * Protocol (io_uring's SQ/CQ index pairs, one index per cache line):
 *  1. producer writes submission entries, then store-releases submit_head;
 *  2. consumer load-acquires submit_head, reads entries from submit_tail up to
 *     it, then store-releases submit_tail (the slots may be reused);
 *  3. consumer writes completion entries, then store-releases complete_head;
 *  4. producer load-acquires complete_head, reads completions from
 *     complete_tail, then store-releases complete_tail.
 *
 * Indices are free-running 32-bit counters; entry i lives in slot
 * (i & (size - 1)). For every ring, 0 <= head - tail <= size (mod 2^32) at all
 * times; a peer that publishes an index breaking this is faulty.
 *
 * The wait words let a side that wants to sleep ask its peer for a signal
 * (adaptive idle): the waiter sets its word, fences, re-checks the ring; the
 * peer publishes, fences, and reads the word (a store-then-load handshake).
 */

#include <stddef.h>
#include <stdint.h>

#include "pvb_ordering.h"

#define PVB_SCRING_MAGIC	0x53425650u	/**< "PVBS" in memory order */
#define PVB_SCRING_VERSION	1
#define PVB_SCRING_LINE		64	/**< cache line size the layout assumes */
#define PVB_SCRING_INDEX_STRIDE	128	/**< each index: own line plus the prefetcher's pair line */
#define PVB_SCRING_ENTRY_SMALL	8
#define PVB_SCRING_ENTRY_LARGE	16
/** Entries per ring: far below 2^31, so head - tail never wraps as a count. */
#define PVB_SCRING_MAX_ENTRIES	(1u << 24)

/** One shared index with the cache lines around it. */
struct pvb_scring_index {
	pvb_shared_u32 idx;	/**< free-running ring index */
	pvb_shared_u32 wait;	/**< nonzero: the writer of this line sleeps and wants a signal */
	uint8_t pad[PVB_SCRING_INDEX_STRIDE - 2 * sizeof(uint32_t)];
} __attribute__((aligned(PVB_SCRING_LINE)));

/**
 * The fixed head of every scring area. Every field up to reserved1 is written
 * once by the creator (pvb_scring_format, magic last) and read once by each
 * end at attach, into a private copy that is checked and never re-read.
 */
struct pvb_scring_hdr {
	uint32_t magic;		/**< PVB_SCRING_MAGIC */
	uint16_t version;	/**< PVB_SCRING_VERSION */
	uint16_t flags;		/**< none defined; zero (attach refuses others) */
	uint16_t sub_esize;	/**< submission entry bytes: 8 or 16 */
	uint16_t cmp_esize;	/**< completion entry bytes: 8 or 16 */
	uint32_t sub_size;	/**< submission entries, power of two */
	uint32_t cmp_size;	/**< completion entries, power of two */
	uint32_t sub_off;	/**< byte offset of submission entries */
	uint32_t cmp_off;	/**< byte offset of completion entries */
	uint32_t reserved0;
	uint64_t area_size;	/**< bytes laid out by the creator */
	uint8_t reserved1[PVB_SCRING_INDEX_STRIDE - 40];

	struct pvb_scring_index submit_head;	/**< idx W: producer; wait unused */
	struct pvb_scring_index submit_tail;	/**< idx, wait W: consumer */
	struct pvb_scring_index complete_head;	/**< idx W: consumer; wait unused */
	struct pvb_scring_index complete_tail;	/**< idx, wait W: producer */
};

_Static_assert(sizeof(struct pvb_scring_index) == PVB_SCRING_INDEX_STRIDE, "index stride");
_Static_assert(offsetof(struct pvb_scring_hdr, version) == 4, "version offset");
_Static_assert(offsetof(struct pvb_scring_hdr, sub_esize) == 8, "sub_esize offset");
_Static_assert(offsetof(struct pvb_scring_hdr, sub_size) == 12, "sub_size offset");
_Static_assert(offsetof(struct pvb_scring_hdr, cmp_size) == 16, "cmp_size offset");
_Static_assert(offsetof(struct pvb_scring_hdr, sub_off) == 20, "sub_off offset");
_Static_assert(offsetof(struct pvb_scring_hdr, cmp_off) == 24, "cmp_off offset");
_Static_assert(offsetof(struct pvb_scring_hdr, area_size) == 32, "area_size offset");
_Static_assert(offsetof(struct pvb_scring_hdr, submit_head) == 128, "submit_head offset");
_Static_assert(offsetof(struct pvb_scring_hdr, submit_tail) == 256, "submit_tail offset");
_Static_assert(offsetof(struct pvb_scring_hdr, complete_head) == 384, "complete_head offset");
_Static_assert(offsetof(struct pvb_scring_hdr, complete_tail) == 512, "complete_tail offset");
_Static_assert(sizeof(struct pvb_scring_hdr) == 640, "header size");
/* each index starts its own cache line and no two share a line */
_Static_assert(offsetof(struct pvb_scring_hdr, submit_head) % PVB_SCRING_LINE == 0, "line");
_Static_assert(offsetof(struct pvb_scring_hdr, submit_tail) -
	       offsetof(struct pvb_scring_hdr, submit_head) >= PVB_SCRING_LINE, "line");
_Static_assert(offsetof(struct pvb_scring_hdr, complete_head) -
	       offsetof(struct pvb_scring_hdr, submit_tail) >= PVB_SCRING_LINE, "line");
_Static_assert(offsetof(struct pvb_scring_hdr, complete_tail) -
	       offsetof(struct pvb_scring_hdr, complete_head) >= PVB_SCRING_LINE, "line");
_Static_assert(sizeof(pvb_shared_u32) == 4, "shared index is 4 bytes");

/** Entries outstanding between a head and a tail (mod 2^32). */
static inline uint32_t
pvb_scring_used(uint32_t head, uint32_t tail)
{
	return head - tail;
}

/** Nonzero when head/tail describe a legal state of a ring of @p size entries. */
static inline int
pvb_scring_indices_ok(uint32_t head, uint32_t tail, uint32_t size)
{
	return pvb_scring_used(head, tail) <= size;
}

/** Nonzero when @p n is a legal ring size. */
static inline int
pvb_scring_size_ok(uint32_t n)
{
	return n != 0 && (n & (n - 1)) == 0 && n <= PVB_SCRING_MAX_ENTRIES;
}

/** Nonzero when @p e is a legal entry size. */
static inline int
pvb_scring_esize_ok(uint32_t e)
{
	return e == PVB_SCRING_ENTRY_SMALL || e == PVB_SCRING_ENTRY_LARGE;
}

#endif /* _PVB_SCRING_WIRE_H_ */
