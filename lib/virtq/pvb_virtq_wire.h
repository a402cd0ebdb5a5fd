/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VIRTQ_WIRE_H_
#define _PVB_VIRTQ_WIRE_H_

/**
 * @file
 * The virtio 1.x split virtqueue, byte for byte (VIRTIO 1.2 §2.7 Split
 * Virtqueues; Linux's include/uapi/linux/virtio_ring.h). Both sides
 * include this header. Little-endian; N = queue size, a power of two up to
 * 32768.
 *
 *   descriptor table (16N, align 16)     W: driver
 *     [ addr le64 | len le32 | flags le16 | next le16 ] x N
 *   available ring (6 + 2N, align 2)     W: driver
 *     [ flags | idx | ring[N] (head indices) | used_event ]
 *   used ring (6 + 8N, align 4)          W: device
 *     [ flags | idx | ring[N] {id le32, len le32} | avail_event ]
 *
 * In one allocation (driver side, Linux vring_size): desc at 0, avail at
 * 16N, used at ALIGN(16N + 6 + 2N, A), end at used + 6 + 8N, with A = 4
 * (1.x) or 4096 (legacy). Indices are free-running 16-bit counters; slot =
 * idx & (N - 1); producer - consumer <= N always.
 */

#include <stddef.h>
#include <stdint.h>

#include "pvb_ordering.h"

#define PVB_VIRTQ_MAX_SIZE		32768
#define PVB_VIRTQ_DESC_F_NEXT		1
#define PVB_VIRTQ_DESC_F_WRITE		2
#define PVB_VIRTQ_DESC_F_INDIRECT	4
#define PVB_VIRTQ_AVAIL_F_NO_INTERRUPT	1
#define PVB_VIRTQ_USED_F_NO_NOTIFY	1

/* Feature bits used here. */
#define PVB_VIRTIO_F_INDIRECT_DESC	28
#define PVB_VIRTIO_F_EVENT_IDX		29
#define PVB_VIRTIO_F_VERSION_1		32
#define PVB_VIRTIO_F_IN_ORDER		35

#define PVB_VIRTQ_ALIGN_1X		4	/* used ring alignment, VIRTIO 1.x */
#define PVB_VIRTQ_ALIGN_LEGACY		4096	/* "Queue Align" of legacy transports */

/** One descriptor. W: driver. */
struct pvb_virtq_desc {
	uint64_t addr;		/**< @0 guest address of the buffer (or indirect table) */
	uint32_t len;		/**< @8 bytes (indirect: table bytes, 16 per entry) */
	uint16_t flags;		/**< @12 PVB_VIRTQ_DESC_F_* */
	uint16_t next;		/**< @14 next descriptor when NEXT is set */
};

/** Available ring header; ring[N] and used_event follow. W: driver, R: device. */
struct pvb_virtq_avail {
	pvb_shared_u16 flags;	/**< @0 PVB_VIRTQ_AVAIL_F_NO_INTERRUPT */
	pvb_shared_u16 idx;	/**< @2 where the driver puts the next head */
	uint16_t ring[];	/**< @4 heads; then used_event at @4+2N */
};

/** One used element. W: device. */
struct pvb_virtq_used_elem {
	uint32_t id;		/**< @0 head of the completed chain */
	uint32_t len;		/**< @4 bytes the device wrote into the chain */
};

/** Used ring header; ring[N] and avail_event follow. W: device, R: driver. */
struct pvb_virtq_used {
	pvb_shared_u16 flags;	/**< @0 PVB_VIRTQ_USED_F_NO_NOTIFY */
	pvb_shared_u16 idx;	/**< @2 where the device puts the next element */
	struct pvb_virtq_used_elem ring[];	/**< @4; then avail_event at @4+8N */
};

_Static_assert(sizeof(struct pvb_virtq_desc) == 16, "descriptor is 16 bytes");
_Static_assert(offsetof(struct pvb_virtq_desc, len) == 8, "len @8");
_Static_assert(offsetof(struct pvb_virtq_desc, flags) == 12, "flags @12");
_Static_assert(offsetof(struct pvb_virtq_desc, next) == 14, "next @14");
_Static_assert(sizeof(struct pvb_virtq_avail) == 4, "avail header is 4 bytes");
_Static_assert(offsetof(struct pvb_virtq_avail, ring) == 4, "avail ring @4");
_Static_assert(sizeof(struct pvb_virtq_used_elem) == 8, "used element is 8 bytes");
_Static_assert(offsetof(struct pvb_virtq_used, ring) == 4, "used ring @4");
_Static_assert(sizeof(pvb_shared_u16) == 2, "shared index is 2 bytes");

/** Bytes of each part for a queue of @p n entries, event words included. */
static inline size_t pvb_virtq_desc_bytes(uint32_t n) { return 16 * (size_t)n; }
static inline size_t pvb_virtq_avail_bytes(uint32_t n) { return 6 + 2 * (size_t)n; }
static inline size_t pvb_virtq_used_bytes(uint32_t n) { return 6 + 8 * (size_t)n; }

/** used_event lives after the available ring's N entries. */
static inline pvb_shared_u16 *
pvb_virtq_used_event(struct pvb_virtq_avail *a, uint32_t n)
{
	return (pvb_shared_u16 *)(void *)&a->ring[n];
}

/** avail_event lives after the used ring's N elements. */
static inline pvb_shared_u16 *
pvb_virtq_avail_event(struct pvb_virtq_used *u, uint32_t n)
{
	return (pvb_shared_u16 *)(void *)&u->ring[n];
}

/**
 * Notify iff @p event_idx is among the entries just published, i.e. in
 * [@p old_idx, @p new_idx) mod 2^16 (virtq_need_event / vring_need_event).
 */
static inline int
pvb_vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

/** Nonzero for a legal split queue size: a power of two, 1..32768. */
static inline int
pvb_virtq_size_ok(uint32_t n)
{
	return n != 0 && (n & (n - 1)) == 0 && n <= PVB_VIRTQ_MAX_SIZE;
}

#endif /* _PVB_VIRTQ_WIRE_H_ */
