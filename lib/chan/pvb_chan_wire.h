/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_CHAN_WIRE_H_
#define _PVB_CHAN_WIRE_H_

/**
 * @file
 * The channel control messages (lib/chan) byte for byte. Both ends include
 * this header; it holds layouts, constants, compile-time checks and one pure
 * helper. No DPDK here.
 *
 * One message is one SOCK_SEQPACKET datagram: a 16-byte header, then the
 * body of its type. Every field is little-endian and naturally aligned, so
 * the structs have no implicit padding and need no packing; explicit pad
 * and reserved fields are zero and a receiver refuses them non-zero, which
 * keeps them free for a later version to use. Every type has one exact
 * length (OPEN always carries PVB_CHAN_MAX_GPADL GPADL slots), so a length
 * check is the whole framing check.
 *
 *   header (every message)
 *    0 +----------+---------+--------+----------+
 *      | magic    | version | type   | len      |  magic 'PVBC', version 2,
 *      | u32 @0   | u16 @4  | u16 @6 | u32 @8   |  len: the whole message
 *   12 +----------+---------+--------+----------+
 *      | reserved u32 @12 (0)                   |
 *   16 +----------------------------------------+
 *
 *   OFFER (48)          OPEN (256, + 2 fds)            OPEN_RESULT, ERROR (120)
 *   16 chan_id   u32    16 chan_id        u32          16 status  i32 (0 / -errno)
 *   20 mtu       u32    20 n_gpadl        u32          20 pad     u32
 *   24 mac[6]           24 region_size    u64          24 reason  char[96],
 *   30 pad[2]           32 tx.offset      u64             NUL inside the 96
 *   32 max_ring  u32    40 tx.size        u32
 *   36 flags     u32    44 tx.pad         u32          CLOSE, RESCIND (24)
 *   40 max_region u64   48 rx.offset      u64          16 chan_id u32
 *                       56 rx.size        u32          20 pad     u32
 *                       60 rx.pad         u32
 *                       64 gpadl[8], 24 bytes each:
 *                          {id u32, pad u32, offset u64, size u64}
 *                          slots from n_gpadl on are all zero
 *
 * OPEN carries exactly two fds (SCM_RIGHTS), in the order of
 * PVB_CHAN_FD_*: the region memfd (sealed against shrink and grow), then the
 * host's end of an AF_UNIX SOCK_DGRAM socket pair whose other end the guest
 * keeps: both doorbells, one datagram of one byte per ring. Every other
 * type carries none.
 *
 * Version 1 passed two eventfds as doorbells instead. An eventfd's flags
 * and counter live in the file description both processes share, so a
 * hostile peer could clear O_NONBLOCK or fill the counter and make our
 * reads and writes block; each end of a socket pair is its own file
 * description. A version-1 message is refused ("version mismatch").
 *
 * The OFFER's flags (@36) were a zero pad when version 2 began, refused
 * non-zero; a receiver still refuses every bit it does not know. A host that
 * sets no flag is what every version-2 guest expects. A host that sets
 * PVB_CHAN_WIRE_OFFER_F_SHARE is refused by a guest that predates the flag
 * ("padding not zero"), which is the right outcome: that guest would lock
 * the region and the third party could not map it. So the version stays 2.
 *
 * SUBOFFER (type 7) came later in version 2 too: a host sends it only to a
 * guest that asked for subchannels inside the open channel (NVSP 133,
 * doc/nvsp.md), which only a guest that knows the type does. It offers
 * subchannel `index` (1..63) of the channel `parent` under its own chan_id;
 * the guest opens it with an OPEN of that chan_id (its own ring pair, no
 * GPADL: the buffers are the primary's) and the two fds, and the host
 * answers OPEN_RESULTs in the order the OPENs came.
 *
 *   SUBOFFER (32)
 *   16 chan_id u32 | 20 parent u32 | 24 index u32 | 28 pad u32 (0)
 */

#include <stddef.h>
#include <stdint.h>

#define PVB_CHAN_MAGIC		0x43425650u	/**< "PVBC" in memory order */
#define PVB_CHAN_VERSION	2		/**< 1: eventfd doorbells, refused */
#define PVB_CHAN_WIRE_GPADLS	8		/**< == PVB_CHAN_MAX_GPADL */
#define PVB_CHAN_WIRE_REASON	96		/**< == PVB_CHAN_REASON_LEN */
#define PVB_CHAN_PAGE		4096u		/**< alignment of rings and GPADLs */
#define PVB_CHAN_RING_MIN	(2 * PVB_CHAN_PAGE)	/**< control page + one data page */

/* Message types on the wire (the same numbers as enum pvb_chan_type). */
#define PVB_CHAN_WIRE_OFFER		1
#define PVB_CHAN_WIRE_OPEN		2
#define PVB_CHAN_WIRE_OPEN_RESULT	3
#define PVB_CHAN_WIRE_CLOSE		4
#define PVB_CHAN_WIRE_RESCIND		5
#define PVB_CHAN_WIRE_ERROR		6
#define PVB_CHAN_WIRE_SUBOFFER		7
#define PVB_CHAN_WIRE_MAX_SUB		63	/* subchannels of one channel (Hyper-V's limit) */
#define PVB_CHAN_WIRE_OPEN_FDS		2	/**< fds an OPEN carries; others carry none */

/*
 * OFFER flags. SHARE: the host shares the guest's region with a third
 * party (a vhost-user back-end, which maps it writable at any time):
 * create it on plain pages and do not lock it (doc/shm.md, "Share mode").
 */
#define PVB_CHAN_WIRE_OFFER_F_SHARE	(1u << 0)
#define PVB_CHAN_WIRE_OFFER_F_KNOWN	PVB_CHAN_WIRE_OFFER_F_SHARE	/**< others refused */

/** Header of every message. */
struct pvb_chan_wire_hdr {
	uint32_t magic;		/**< @0 PVB_CHAN_MAGIC */
	uint16_t version;	/**< @4 PVB_CHAN_VERSION */
	uint16_t type;		/**< @6 enum pvb_chan_type */
	uint32_t len;		/**< @8 bytes of the whole message, header included */
	uint32_t reserved;	/**< @12 0 */
};

/** OFFER, host -> guest. */
struct pvb_chan_wire_offer {
	struct pvb_chan_wire_hdr hdr;
	uint32_t chan_id;		/**< @16 */
	uint32_t mtu;			/**< @20 */
	uint8_t mac[6];			/**< @24 */
	uint8_t pad0[2];		/**< @30 0 */
	uint32_t max_ring_bytes;	/**< @32 */
	uint32_t flags;			/**< @36 PVB_CHAN_WIRE_OFFER_F_*, others 0 */
	uint64_t max_region_bytes;	/**< @40 */
};

/** A ring direction in an OPEN. */
struct pvb_chan_wire_ring {
	uint64_t offset;	/**< @0 */
	uint32_t size;		/**< @8 */
	uint32_t pad;		/**< @12 0 */
};

/** A GPADL slot in an OPEN. */
struct pvb_chan_wire_gpadl {
	uint32_t id;		/**< @0 */
	uint32_t pad;		/**< @4 0 */
	uint64_t offset;	/**< @8 */
	uint64_t size;		/**< @16 */
};

/** OPEN, guest -> host, with two fds: region, doorbell socket. */
struct pvb_chan_wire_open {
	struct pvb_chan_wire_hdr hdr;
	uint32_t chan_id;		/**< @16 */
	uint32_t n_gpadl;		/**< @20 <= PVB_CHAN_WIRE_GPADLS */
	uint64_t region_size;		/**< @24 */
	struct pvb_chan_wire_ring tx;	/**< @32 */
	struct pvb_chan_wire_ring rx;	/**< @48 */
	struct pvb_chan_wire_gpadl gpadl[PVB_CHAN_WIRE_GPADLS];	/**< @64 */
};

/** OPEN_RESULT (host -> guest) and ERROR (either way). */
struct pvb_chan_wire_result {
	struct pvb_chan_wire_hdr hdr;
	int32_t status;				/**< @16 0 or -errno (ERROR: < 0) */
	uint32_t pad;				/**< @20 0 */
	char reason[PVB_CHAN_WIRE_REASON];	/**< @24 NUL-terminated inside */
};

/** CLOSE (either way) and RESCIND (host -> guest). */
struct pvb_chan_wire_close {
	struct pvb_chan_wire_hdr hdr;
	uint32_t chan_id;	/**< @16 */
	uint32_t pad;		/**< @20 0 */
};

/** SUBOFFER, host -> guest: subchannel @p index of channel @p parent. */
struct pvb_chan_wire_suboffer {
	struct pvb_chan_wire_hdr hdr;
	uint32_t chan_id;	/**< @16 the subchannel's own id */
	uint32_t parent;	/**< @20 the primary's chan_id */
	uint32_t index;		/**< @24 1 .. PVB_CHAN_WIRE_MAX_SUB */
	uint32_t pad;		/**< @28 0 */
};

#define PVB_CHAN_WIRE_MAX	sizeof(struct pvb_chan_wire_open)	/**< largest message */

_Static_assert(sizeof(struct pvb_chan_wire_hdr) == 16, "header is 16 bytes");
_Static_assert(offsetof(struct pvb_chan_wire_hdr, version) == 4, "version @4");
_Static_assert(offsetof(struct pvb_chan_wire_hdr, type) == 6, "type @6");
_Static_assert(offsetof(struct pvb_chan_wire_hdr, len) == 8, "len @8");
_Static_assert(offsetof(struct pvb_chan_wire_hdr, reserved) == 12, "reserved @12");

_Static_assert(offsetof(struct pvb_chan_wire_offer, chan_id) == 16, "offer chan_id @16");
_Static_assert(offsetof(struct pvb_chan_wire_offer, mac) == 24, "offer mac @24");
_Static_assert(offsetof(struct pvb_chan_wire_offer, max_ring_bytes) == 32, "max_ring @32");
_Static_assert(offsetof(struct pvb_chan_wire_offer, flags) == 36, "offer flags @36");
_Static_assert(offsetof(struct pvb_chan_wire_offer, max_region_bytes) == 40, "max_region @40");
_Static_assert(sizeof(struct pvb_chan_wire_offer) == 48, "OFFER is 48 bytes");

_Static_assert(sizeof(struct pvb_chan_wire_ring) == 16, "ring is 16 bytes");
_Static_assert(sizeof(struct pvb_chan_wire_gpadl) == 24, "GPADL slot is 24 bytes");
_Static_assert(offsetof(struct pvb_chan_wire_gpadl, offset) == 8, "GPADL offset @8");
_Static_assert(offsetof(struct pvb_chan_wire_open, n_gpadl) == 20, "open n_gpadl @20");
_Static_assert(offsetof(struct pvb_chan_wire_open, region_size) == 24, "region_size @24");
_Static_assert(offsetof(struct pvb_chan_wire_open, tx) == 32, "open tx @32");
_Static_assert(offsetof(struct pvb_chan_wire_open, rx) == 48, "open rx @48");
_Static_assert(offsetof(struct pvb_chan_wire_open, gpadl) == 64, "open gpadl @64");
_Static_assert(sizeof(struct pvb_chan_wire_open) == 64 + 8 * 24, "OPEN is 256 bytes");

_Static_assert(offsetof(struct pvb_chan_wire_result, status) == 16, "status @16");
_Static_assert(offsetof(struct pvb_chan_wire_result, reason) == 24, "reason @24");
_Static_assert(sizeof(struct pvb_chan_wire_result) == 120, "OPEN_RESULT/ERROR is 120 bytes");

_Static_assert(offsetof(struct pvb_chan_wire_close, chan_id) == 16, "close chan_id @16");
_Static_assert(sizeof(struct pvb_chan_wire_close) == 24, "CLOSE/RESCIND is 24 bytes");
_Static_assert(offsetof(struct pvb_chan_wire_suboffer, index) == 24, "suboffer index @24");
_Static_assert(sizeof(struct pvb_chan_wire_suboffer) == 32, "SUBOFFER is 32 bytes");

/**
 * The one length a message of @p type has, or 0 for a type this version
 * does not know.
 */
static inline uint32_t
pvb_chan_wire_len(uint16_t type)
{
	switch (type) {
	case PVB_CHAN_WIRE_OFFER:
		return sizeof(struct pvb_chan_wire_offer);
	case PVB_CHAN_WIRE_OPEN:
		return sizeof(struct pvb_chan_wire_open);
	case PVB_CHAN_WIRE_OPEN_RESULT:
	case PVB_CHAN_WIRE_ERROR:
		return sizeof(struct pvb_chan_wire_result);
	case PVB_CHAN_WIRE_CLOSE:
	case PVB_CHAN_WIRE_RESCIND:
		return sizeof(struct pvb_chan_wire_close);
	case PVB_CHAN_WIRE_SUBOFFER:
		return sizeof(struct pvb_chan_wire_suboffer);
	}
	return 0;
}

/** The number of fds a message of @p type carries. */
static inline unsigned int
pvb_chan_wire_nfds(uint16_t type)
{
	return type == PVB_CHAN_WIRE_OPEN ? PVB_CHAN_WIRE_OPEN_FDS : 0;
}

#endif /* _PVB_CHAN_WIRE_H_ */
