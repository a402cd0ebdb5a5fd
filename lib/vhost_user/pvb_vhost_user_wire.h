/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VHOST_USER_WIRE_H_
#define _PVB_VHOST_USER_WIRE_H_

/**
 * @file
 * The vhost-user protocol, byte for byte (QEMU docs/interop/vhost-user.rst,
 * "Message Specification"; Linux include/uapi/linux/vhost_types.h for the
 * payload layouts). Both ends include this header. Messages travel over an
 * AF_UNIX stream socket in host byte order; file descriptors ride as
 * SCM_RIGHTS on the sendmsg() that carries the header (at most 8).
 *
 *   header (12 bytes)                         payload (size bytes)
 *   [ request u32 | flags u32 | size u32 ]    [ u64 | vring state | vring addr | memory ... ]
 *   flags: bits 0-1 version (1), bit 2 REPLY, bit 3 NEED_REPLY
 *
 * A session (the front-end drives, the back-end answers):
 *
 *   front-end                                back-end
 *   GET_FEATURES ------------------------->  offered virtio bits + bit 30
 *   GET/SET_PROTOCOL_FEATURES ------------>  (when bit 30 is offered)
 *   SET_OWNER, SET_VRING_CALL (per ring)
 *   SET_FEATURES ------------------------->  header size, ring features
 *   SET_MEM_TABLE + one fd per region ---->  mmap each region
 *   per ring: SET_VRING_NUM, _BASE, _ADDR, _KICK (+fd: the ring starts)
 *   SET_VRING_ENABLE 1, SET_STATUS DRIVER_OK  -> the device runs
 *   ...
 *   GET_VRING_BASE (per ring) ------------>  ring stopped, next avail index back
 */

#include <stddef.h>
#include <stdint.h>

#define PVB_VU_VERSION			0x1
#define PVB_VU_FLAG_VERSION_MASK	0x3
#define PVB_VU_FLAG_REPLY		0x4
#define PVB_VU_FLAG_NEED_REPLY		0x8

#define PVB_VU_MAX_FDS			8	/* per message */
#define PVB_VU_MAX_REGIONS		8	/* SET_MEM_TABLE without CONFIGURE_MEM_SLOTS */

/* Front-end requests (vhost-user.rst "Front-end message types"). */
enum pvb_vu_request {
	PVB_VU_GET_FEATURES = 1,
	PVB_VU_SET_FEATURES = 2,
	PVB_VU_SET_OWNER = 3,
	PVB_VU_RESET_OWNER = 4,
	PVB_VU_SET_MEM_TABLE = 5,
	PVB_VU_SET_LOG_BASE = 6,
	PVB_VU_SET_LOG_FD = 7,
	PVB_VU_SET_VRING_NUM = 8,
	PVB_VU_SET_VRING_ADDR = 9,
	PVB_VU_SET_VRING_BASE = 10,
	PVB_VU_GET_VRING_BASE = 11,
	PVB_VU_SET_VRING_KICK = 12,
	PVB_VU_SET_VRING_CALL = 13,
	PVB_VU_SET_VRING_ERR = 14,
	PVB_VU_GET_PROTOCOL_FEATURES = 15,
	PVB_VU_SET_PROTOCOL_FEATURES = 16,
	PVB_VU_GET_QUEUE_NUM = 17,
	PVB_VU_SET_VRING_ENABLE = 18,
	PVB_VU_SEND_RARP = 19,
	PVB_VU_NET_SET_MTU = 20,
	PVB_VU_SET_BACKEND_REQ_FD = 21,
	PVB_VU_IOTLB_MSG = 22,
	PVB_VU_SET_VRING_ENDIAN = 23,
	PVB_VU_GET_CONFIG = 24,
	PVB_VU_SET_CONFIG = 25,
	PVB_VU_GET_INFLIGHT_FD = 31,
	PVB_VU_SET_INFLIGHT_FD = 32,
	PVB_VU_RESET_DEVICE = 34,
	PVB_VU_GET_MAX_MEM_SLOTS = 36,
	PVB_VU_ADD_MEM_REG = 37,
	PVB_VU_REM_MEM_REG = 38,
	PVB_VU_SET_STATUS = 39,
	PVB_VU_GET_STATUS = 40,
	PVB_VU_REQUEST_MAX = 41,	/* first id we do not name */
};

/* Feature bits (VIRTIO 1.2 §5.1.3 and §6; vhost-user.rst "Feature negotiation"). */
#define PVB_VIRTIO_NET_F_CSUM		0
#define PVB_VIRTIO_NET_F_GUEST_CSUM	1
#define PVB_VIRTIO_NET_F_MTU		3
#define PVB_VIRTIO_NET_F_MAC		5
#define PVB_VIRTIO_NET_F_GUEST_TSO4	7	/* device -> driver GSO TCPV4; needs GUEST_CSUM */
#define PVB_VIRTIO_NET_F_GUEST_TSO6	8	/* device -> driver GSO TCPV6; needs GUEST_CSUM */
#define PVB_VIRTIO_NET_F_GUEST_ECN	9
#define PVB_VIRTIO_NET_F_GUEST_UFO	10
#define PVB_VIRTIO_NET_F_HOST_TSO4	11	/* driver -> device GSO TCPV4; needs CSUM */
#define PVB_VIRTIO_NET_F_HOST_TSO6	12	/* driver -> device GSO TCPV6; needs CSUM */
#define PVB_VIRTIO_NET_F_HOST_ECN	13
#define PVB_VIRTIO_NET_F_HOST_UFO	14
#define PVB_VIRTIO_NET_F_MRG_RXBUF	15
#define PVB_VIRTIO_NET_F_STATUS		16
#define PVB_VIRTIO_NET_F_CTRL_VQ	17
#define PVB_VIRTIO_NET_F_MQ		22
#define PVB_VHOST_F_LOG_ALL		26
#define PVB_VHOST_USER_F_PROTOCOL_FEATURES 30	/* vhost-user only: the protocol features exist */
#define PVB_VIRTIO_F_ACCESS_PLATFORM	33
#define PVB_VIRTIO_F_RING_PACKED	34
/* INDIRECT_DESC (28), EVENT_IDX (29), VERSION_1 (32), IN_ORDER (35): pvb_virtq_wire.h */

/* Protocol feature bits (vhost-user.rst "Protocol features"). */
#define PVB_VU_PF_MQ			0
#define PVB_VU_PF_LOG_SHMFD		1
#define PVB_VU_PF_RARP			2
#define PVB_VU_PF_REPLY_ACK		3
#define PVB_VU_PF_NET_MTU		4
#define PVB_VU_PF_BACKEND_REQ		5
#define PVB_VU_PF_CONFIG		9
#define PVB_VU_PF_CONFIGURE_MEM_SLOTS	15
#define PVB_VU_PF_STATUS		16

/* Device status (VIRTIO 1.2 §2.1), seen through SET_STATUS. */
#define PVB_VIRTIO_STATUS_ACKNOWLEDGE	1
#define PVB_VIRTIO_STATUS_DRIVER	2
#define PVB_VIRTIO_STATUS_DRIVER_OK	4
#define PVB_VIRTIO_STATUS_FEATURES_OK	8
#define PVB_VIRTIO_STATUS_NEEDS_RESET	64
#define PVB_VIRTIO_STATUS_FAILED	128

/** The message header. */
struct pvb_vu_hdr {
	uint32_t request;	/**< @0 enum pvb_vu_request */
	uint32_t flags;		/**< @4 PVB_VU_FLAG_* */
	uint32_t size;		/**< @8 payload bytes that follow */
};

/** SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE, SET_VRING_ENABLE. */
struct pvb_vu_vring_state {
	uint32_t index;		/**< @0 vring (2k: rx k, 2k+1: tx k) */
	uint32_t num;		/**< @4 size, base index, or 0/1 */
};

#define PVB_VU_VRING_F_LOG	0x1	/* vring addr flags: log used-ring writes */

/** SET_VRING_ADDR: front-end virtual addresses. Note the order: desc, used, avail. */
struct pvb_vu_vring_addr {
	uint32_t index;		/**< @0 */
	uint32_t flags;		/**< @4 PVB_VU_VRING_F_LOG */
	uint64_t desc;		/**< @8 descriptor table */
	uint64_t used;		/**< @16 used ring */
	uint64_t avail;		/**< @24 available ring */
	uint64_t log;		/**< @32 guest address of the used ring, for logging */
};

/** One region of SET_MEM_TABLE. */
struct pvb_vu_region {
	uint64_t gpa;		/**< @0 guest physical address (descriptor addresses) */
	uint64_t size;		/**< @8 bytes */
	uint64_t uva;		/**< @16 front-end virtual address (ring addresses) */
	uint64_t mmap_offset;	/**< @24 where the region starts in its fd */
};

/** SET_MEM_TABLE: one fd per region, in order. */
struct pvb_vu_memory {
	uint32_t nregions;	/**< @0 1..8 */
	uint32_t padding;	/**< @4 */
	struct pvb_vu_region r[PVB_VU_MAX_REGIONS];	/**< @8 */
};

/** SET_LOG_BASE (refused here: no dirty logging is offered). */
struct pvb_vu_log {
	uint64_t mmap_size;	/**< @0 */
	uint64_t mmap_offset;	/**< @8 */
};

/* SET_VRING_KICK/CALL/ERR u64: bits 0-7 the vring, bit 8 "no fd", the rest 0. */
#define PVB_VU_VRING_IDX_MASK	0xffull
#define PVB_VU_VRING_NOFD	0x100ull

/** A message as it sits in memory (the wire carries hdr, then size bytes of payload). */
struct pvb_vu_msg {
	struct pvb_vu_hdr hdr;
	uint32_t pad;		/* not sent: keeps the payload 8-aligned */
	union {
		uint64_t u64;
		struct pvb_vu_vring_state state;
		struct pvb_vu_vring_addr addr;
		struct pvb_vu_memory mem;
		struct pvb_vu_log log;
		uint8_t bytes[sizeof(struct pvb_vu_memory)];
	} p;
};

#define PVB_VU_HDR_SIZE		12
#define PVB_VU_PAYLOAD_MAX	sizeof(((struct pvb_vu_msg *)0)->p)

_Static_assert(sizeof(struct pvb_vu_hdr) == PVB_VU_HDR_SIZE, "header is 12 bytes");
_Static_assert(sizeof(struct pvb_vu_vring_state) == 8, "vring state is 8 bytes");
_Static_assert(sizeof(struct pvb_vu_vring_addr) == 40, "vring addr is 40 bytes");
_Static_assert(offsetof(struct pvb_vu_vring_addr, used) == 16, "used @16");
_Static_assert(offsetof(struct pvb_vu_vring_addr, avail) == 24, "avail @24");
_Static_assert(sizeof(struct pvb_vu_region) == 32, "region is 32 bytes");
_Static_assert(offsetof(struct pvb_vu_memory, r) == 8, "regions @8");
_Static_assert(sizeof(struct pvb_vu_memory) == 8 + 32 * PVB_VU_MAX_REGIONS, "memory table");
_Static_assert(sizeof(struct pvb_vu_log) == 16, "log is 16 bytes");
_Static_assert(offsetof(struct pvb_vu_msg, p) == 16, "payload 8-aligned after the header");

/* ---- virtio-net (VIRTIO 1.2 §5.1.6) ------------------------------------------- */

#define PVB_VNET_HDR_F_NEEDS_CSUM	1
#define PVB_VNET_HDR_F_DATA_VALID	2
#define PVB_VNET_GSO_NONE		0
#define PVB_VNET_GSO_TCPV4		1
#define PVB_VNET_GSO_UDP		3
#define PVB_VNET_GSO_TCPV6		4
#define PVB_VNET_GSO_UDP_L4		5
#define PVB_VNET_GSO_ECN		0x80

/**
 * The header in front of every frame. 12 bytes with VERSION_1 or MRG_RXBUF
 * (num_buffers included), else 10.
 */
struct pvb_vnet_hdr {
	uint8_t flags;		/**< @0 PVB_VNET_HDR_F_* */
	uint8_t gso_type;	/**< @1 PVB_VNET_GSO_* */
	uint16_t hdr_len;	/**< @2 */
	uint16_t gso_size;	/**< @4 */
	uint16_t csum_start;	/**< @6 from the start of the frame */
	uint16_t csum_offset;	/**< @8 from csum_start */
	uint16_t num_buffers;	/**< @10 buffers holding this frame (device -> driver) */
};

_Static_assert(sizeof(struct pvb_vnet_hdr) == 12, "virtio-net header is 12 bytes");
_Static_assert(offsetof(struct pvb_vnet_hdr, num_buffers) == 10, "num_buffers @10");

#endif /* _PVB_VHOST_USER_WIRE_H_ */
