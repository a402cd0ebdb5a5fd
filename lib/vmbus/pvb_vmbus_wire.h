/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VMBUS_WIRE_H_
#define _PVB_VMBUS_WIRE_H_

/**
 * @file
 * The VMBus ring buffer, byte for byte, as Linux (include/linux/hyperv.h:
 * struct hv_ring_buffer, struct vmpacket_descriptor; drivers/hv/ring_buffer.c),
 * DPDK (drivers/bus/vmbus/rte_vmbus_reg.h, vmbus_bufring.c) and OpenVMM (the
 * vmbus_ring crate) lay it out; doc/vmbus.md walks through it. Both ends
 * include this header. Everything is little-endian, packed with no
 * implicit padding, and a "page" is a Hyper-V page of 4096 bytes.
 *
 * One ring direction:
 *
 *      0 +------------------------------------------------+
 *        | write_index    @0   W: producer   (byte offset)|
 *        | read_index     @4   W: consumer   (byte offset)|
 *        | interrupt_mask @8   W: consumer   1 = no signal|
 *        | pending_send_sz@12  W: producer   bytes wanted |
 *        | reserved       @16..63                         |
 *        | feature_bits   @64  W: producer   bit0 pending |
 *        | reserved       ..4095                          |
 *   4096 +------------------------------------------------+
 *        | data area, dsize bytes (a multiple of 4096)    |
 *        |   packet = descriptor (16) + type header       |
 *        |            + payload + zero pad to 8           |
 *        |            + trailer (8: start offset << 32)   |
 *        |   a packet may wrap from the end to the start  |
 *        +------------------------------------------------+
 *
 * Indices are byte offsets into the data area, multiples of 8 and below
 * dsize. Empty: read == write. A writer never fills the ring completely: a
 * packet of T bytes (trailer included) needs strictly more than T bytes free,
 * so write can never catch up with read.
 */

#include <stddef.h>
#include <stdint.h>

#include "pvb_ordering.h"

#define PVB_VMBUS_PAGE			4096
#define PVB_VMBUS_CTL_SIZE		PVB_VMBUS_PAGE	/**< control page; data follows */
#define PVB_VMBUS_FEAT_PENDING_SEND_SZ	(1u << 0)	/**< feature_bits: producer sets pending */
#define PVB_VMBUS_TRAILER		8		/**< bytes after every packet */
#define PVB_VMBUS_DESC_SIZE		16
#define PVB_VMBUS_MAX_LEN8		UINT16_MAX	/**< len8 is 16 bits */

/** The control page at the start of each ring direction. */
struct pvb_vmbus_ctl {
	pvb_shared_u32 write_index;	/**< @0  W: producer; R: consumer */
	pvb_shared_u32 read_index;	/**< @4  W: consumer; R: producer */
	pvb_shared_u32 interrupt_mask;	/**< @8  W: consumer; R: producer */
	pvb_shared_u32 pending_send_sz;	/**< @12 W: producer; R: consumer */
	uint32_t reserved1[12];		/**< @16 zero */
	pvb_shared_u32 feature_bits;	/**< @64 W: producer; R: consumer */
	uint8_t reserved2[PVB_VMBUS_CTL_SIZE - 68];
};

_Static_assert(offsetof(struct pvb_vmbus_ctl, write_index) == 0, "write_index @0");
_Static_assert(offsetof(struct pvb_vmbus_ctl, read_index) == 4, "read_index @4");
_Static_assert(offsetof(struct pvb_vmbus_ctl, interrupt_mask) == 8, "interrupt_mask @8");
_Static_assert(offsetof(struct pvb_vmbus_ctl, pending_send_sz) == 12, "pending_send_sz @12");
_Static_assert(offsetof(struct pvb_vmbus_ctl, feature_bits) == 64, "feature_bits @64");
_Static_assert(sizeof(struct pvb_vmbus_ctl) == PVB_VMBUS_PAGE, "control page is one page");

/** Packet types (vmpacket_descriptor.type). */
enum pvb_vmbus_pkt_type {
	PVB_VMBUS_PKT_INVALID = 0x0,
	PVB_VMBUS_PKT_SYNCH = 0x1,
	PVB_VMBUS_PKT_ADD_XFER_PAGESET = 0x2,
	PVB_VMBUS_PKT_RM_XFER_PAGESET = 0x3,
	PVB_VMBUS_PKT_ESTABLISH_GPADL = 0x4,
	PVB_VMBUS_PKT_TEARDOWN_GPADL = 0x5,
	PVB_VMBUS_PKT_DATA_INBAND = 0x6,	/**< NVSP control, TX via send buffer */
	PVB_VMBUS_PKT_DATA_XFER_PAGES = 0x7,	/**< host->guest RX: ranges of the rx buffer */
	PVB_VMBUS_PKT_DATA_GPADL = 0x8,
	PVB_VMBUS_PKT_DATA_GPA_DIRECT = 0x9,	/**< guest->host TX with page lists */
	PVB_VMBUS_PKT_CANCEL_REQUEST = 0xa,
	PVB_VMBUS_PKT_COMP = 0xb,		/**< completion, same trans_id as the request */
	PVB_VMBUS_PKT_DATA_ADDITIONAL = 0xc,
	PVB_VMBUS_PKT_ADDITIONAL_DATA = 0xd,
};

#define PVB_VMBUS_FLAG_COMPLETION_REQUESTED	(1u << 0)	/**< the only defined flag */

/** Packet descriptor (vmpacket_descriptor), at the start of every packet. */
struct pvb_vmbus_desc {
	uint16_t type;		/**< @0 enum pvb_vmbus_pkt_type */
	uint16_t offset8;	/**< @2 header length / 8 = payload offset from the descriptor */
	uint16_t len8;		/**< @4 packet length / 8, padding included, trailer not */
	uint16_t flags;		/**< @6 PVB_VMBUS_FLAG_* */
	uint64_t trans_id;	/**< @8 opaque to the receiver; echoed in the completion */
};

_Static_assert(sizeof(struct pvb_vmbus_desc) == PVB_VMBUS_DESC_SIZE, "descriptor is 16 bytes");
_Static_assert(offsetof(struct pvb_vmbus_desc, len8) == 4, "len8 @4");
_Static_assert(offsetof(struct pvb_vmbus_desc, trans_id) == 8, "trans_id @8");

/** After the descriptor of a DATA_XFER_PAGES packet (type 0x7). */
struct pvb_vmbus_xfer_hdr {
	uint16_t xfer_pageset_id;	/**< @16 the receive buffer's id */
	uint8_t sender_owns_set;	/**< @18 0 */
	uint8_t reserved;		/**< @19 0 */
	uint32_t range_count;		/**< @20 ranges that follow at @24 */
};

/** One transfer-page range: bytes of the transfer page set. */
struct pvb_vmbus_xfer_range {
	uint32_t byte_count;	/**< @0 */
	uint32_t byte_offset;	/**< @4 from the start of the page set */
};

/** After the descriptor of a DATA_GPA_DIRECT packet (type 0x9). */
struct pvb_vmbus_gpa_hdr {
	uint32_t reserved;	/**< @16 0 */
	uint32_t range_count;	/**< @20 >= 1; ranges follow at @24, back to back */
};

/**
 * One GPA range: a byte run starting byte_offset into its first page, then
 * ceil((byte_offset + byte_count) / 4096) page frame numbers.
 */
struct pvb_vmbus_gpa_range {
	uint32_t byte_count;	/**< @0 */
	uint32_t byte_offset;	/**< @4 < 4096 */
	/* uint64_t pfn[]; at @8 */
};

_Static_assert(sizeof(struct pvb_vmbus_xfer_hdr) == 8, "xfer header is 8 bytes");
_Static_assert(sizeof(struct pvb_vmbus_xfer_range) == 8, "xfer range is 8 bytes");
_Static_assert(sizeof(struct pvb_vmbus_gpa_hdr) == 8, "gpa header is 8 bytes");
_Static_assert(sizeof(struct pvb_vmbus_gpa_range) == 8, "gpa range head is 8 bytes");
_Static_assert(PVB_VMBUS_DESC_SIZE + sizeof(struct pvb_vmbus_xfer_hdr) == 24, "ranges @24");

/** Round @p n up to a multiple of 8. */
static inline uint32_t
pvb_vmbus_align8(uint32_t n)
{
	return (n + 7u) & ~7u;
}

/** Pages a GPA range spans. */
static inline uint32_t
pvb_vmbus_gpa_pages(uint32_t byte_offset, uint32_t byte_count)
{
	return (uint32_t)(((uint64_t)byte_offset + byte_count + PVB_VMBUS_PAGE - 1) /
			  PVB_VMBUS_PAGE);
}

/** Ring bytes a packet of @p len8 occupies, trailer included. */
static inline uint32_t
pvb_vmbus_ring_bytes(uint32_t len8)
{
	return len8 * 8 + PVB_VMBUS_TRAILER;
}

/** Bytes ready to read between @p r and @p w in a data area of @p dsize. */
static inline uint32_t
pvb_vmbus_to_read(uint32_t r, uint32_t w, uint32_t dsize)
{
	return w >= r ? w - r : dsize - r + w;
}

/** Bytes free for the writer (never all usable: see the never-full rule). */
static inline uint32_t
pvb_vmbus_to_write(uint32_t r, uint32_t w, uint32_t dsize)
{
	return dsize - pvb_vmbus_to_read(r, w, dsize);
}

/** @p a + @p n, wrapped into a data area of @p dsize (a, n < dsize). */
static inline uint32_t
pvb_vmbus_advance(uint32_t a, uint32_t n, uint32_t dsize)
{
	uint32_t v = a + n;

	return v >= dsize ? v - dsize : v;
}

/** The trailer written after a packet that starts at data offset @p start. */
static inline uint64_t
pvb_vmbus_trailer(uint32_t start)
{
	return (uint64_t)start << 32;
}

#endif /* _PVB_VMBUS_WIRE_H_ */
