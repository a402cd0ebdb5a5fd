/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_NVSP_WIRE_H_
#define _PVB_NVSP_WIRE_H_

/**
 * @file
 * NVSP and RNDIS as they sit in a VMBus channel (doc/nvsp.md §2-4; the
 * public layouts are Linux drivers/net/hyperv/hyperv_net.h, DPDK
 * drivers/net/netvsc/hn_nvs.h and hn_rndis.h, OpenVMM's netvsp crate
 * protocol.rs and rndisprot.rs, and Microsoft's [MS-RNDIS]).
 * Both sides include this header; it holds layouts, constants and size
 * checks only. All fields are little-endian; the structs are packed because
 * NVSP puts a u64 at offset 12 and messages sit at any 8-byte ring offset.
 *
 *   NVSP message (40 bytes on the wire, unused bytes zero)
 *   +--------+----------------------------------------------+
 *   | 0 type | 4.. body (per type, doc/nvsp.md §2.3)             |
 *   +--------+----------------------------------------------+
 *
 *   RNDIS PACKET_MSG in a send section or receive slot
 *   +------+-----+------------------------------+----------+-------+-----+
 *   | type | len | data_off .. reserved (36 B)  | PPIs ... | frame | pad |
 *   +------+-----+------------------------------+----------+-------+-----+
 *   0      4     8                              44         8+data_off
 *   every offset inside an RNDIS message counts from byte 8.
 */

#include <stdint.h>

/* ---- byte helpers ---------------------------------------------------- */

/* A little-endian u32 at @p p, any alignment (compilers make it one load on x86/arm64). */
static inline uint32_t
pvb_nvsp_get_le32(const void *p)
{
	const uint8_t *b = (const uint8_t *)p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/* Store @p v little-endian at @p p, any alignment. */
static inline void
pvb_nvsp_put_le32(void *p, uint32_t v)
{
	uint8_t *b = (uint8_t *)p;

	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

/* ---- NVSP ------------------------------------------------------------ */

#define PVB_NVSP_MSG_SIZE	40u	/* what Linux and DPDK send (v6.1 size) */
#define PVB_NVSP_MSG_SIZE_MIN	28u	/* legacy size; accepted on input */

#define PVB_NVSP_VER_1		0x00000002u
#define PVB_NVSP_VER_2		0x00030002u
#define PVB_NVSP_VER_4		0x00040000u
#define PVB_NVSP_VER_5		0x00050000u
#define PVB_NVSP_VER_6		0x00060000u
#define PVB_NVSP_VER_61		0x00060001u

#define PVB_NDIS_VER_6_1	0x00060001u	/* NVSP <= v4 */
#define PVB_NDIS_VER_6_30	0x0006001eu	/* NVSP >= v5 */

enum pvb_nvsp_type {
	PVB_NVSP_INIT			= 1,
	PVB_NVSP_INIT_COMPLETE		= 2,
	PVB_NVSP_SEND_NDIS_VER		= 100,
	PVB_NVSP_SEND_RECV_BUF		= 101,
	PVB_NVSP_SEND_RECV_BUF_COMPLETE	= 102,
	PVB_NVSP_REVOKE_RECV_BUF	= 103,
	PVB_NVSP_SEND_SEND_BUF		= 104,
	PVB_NVSP_SEND_SEND_BUF_COMPLETE	= 105,
	PVB_NVSP_REVOKE_SEND_BUF	= 106,
	PVB_NVSP_SEND_RNDIS_PKT		= 107,
	PVB_NVSP_SEND_RNDIS_PKT_COMPLETE = 108,
	PVB_NVSP_SEND_NDIS_CONFIG	= 125,
	PVB_NVSP_SUBCHANNEL		= 133,
	PVB_NVSP_INDIRECTION_TABLE	= 134,
};

enum pvb_nvsp_status {
	PVB_NVSP_STAT_NONE		= 0,
	PVB_NVSP_STAT_SUCCESS		= 1,
	PVB_NVSP_STAT_FAIL		= 2,
	PVB_NVSP_STAT_TOO_NEW		= 3,
	PVB_NVSP_STAT_TOO_OLD		= 4,
	PVB_NVSP_STAT_INVALID_RNDIS	= 5,
	PVB_NVSP_STAT_BUSY		= 6,
	PVB_NVSP_STAT_UNSUPPORTED	= 7,
};

#define PVB_NVSP_RNDIS_DATA		0u	/* channel_type of 107 */
#define PVB_NVSP_RNDIS_CONTROL		1u
#define PVB_NVSP_NO_SECTION		0xffffffffu	/* send_buf_section_index: not used */
#define PVB_NVSP_RXBUF_ID		0xcafeu
#define PVB_NVSP_TXBUF_ID		0xfaceu

#define PVB_NDIS_CAP_SRIOV		(1ull << 2)
#define PVB_NDIS_CAP_IEEE8021Q		(1ull << 3)

struct pvb_nvsp_init {			/* 1 */
	uint32_t type;
	uint32_t min_protocol_ver;
	uint32_t max_protocol_ver;
} __attribute__((packed));

struct pvb_nvsp_init_complete {		/* 2 */
	uint32_t type;
	uint32_t negotiated_ver;	/* deprecated */
	uint32_t max_mdl_chain_len;
	uint32_t status;
} __attribute__((packed));

struct pvb_nvsp_ndis_ver {		/* 100 */
	uint32_t type;
	uint32_t ndis_major;
	uint32_t ndis_minor;
} __attribute__((packed));

struct pvb_nvsp_ndis_config {		/* 125 */
	uint32_t type;
	uint32_t mtu;			/* frame size: MTU + 14 */
	uint32_t reserved;
	uint64_t capabilities;		/* unaligned */
} __attribute__((packed));

struct pvb_nvsp_send_buf {		/* 101 and 104 */
	uint32_t type;
	uint32_t gpadl_handle;
	uint16_t id;
} __attribute__((packed));

struct pvb_nvsp_section {
	uint32_t offset;
	uint32_t sub_alloc_size;
	uint32_t num_sub_allocs;
	uint32_t end_offset;
} __attribute__((packed));

struct pvb_nvsp_recv_buf_complete {	/* 102 */
	uint32_t type;
	uint32_t status;
	uint32_t num_sections;
	struct pvb_nvsp_section section;	/* section[0]; more are refused */
} __attribute__((packed));

struct pvb_nvsp_revoke {		/* 103 and 106 */
	uint32_t type;
	uint16_t id;
} __attribute__((packed));

struct pvb_nvsp_send_buf_complete {	/* 105 */
	uint32_t type;
	uint32_t status;
	uint32_t section_size;
} __attribute__((packed));

struct pvb_nvsp_rndis_pkt {		/* 107 */
	uint32_t type;
	uint32_t channel_type;
	uint32_t send_buf_section_index;
	uint32_t send_buf_section_size;
} __attribute__((packed));

struct pvb_nvsp_rndis_pkt_complete {	/* 108 */
	uint32_t type;
	uint32_t status;
} __attribute__((packed));

/*
 * 133 SUBCHANNEL (NVSP v5 on): the guest asks for more channels with
 * op = ALLOCATE and a count; the completion carries the same type, a status
 * and the count the host granted (never more than asked).
 */
struct pvb_nvsp_subchannel {		/* 133, request and completion */
	uint32_t type;
	uint32_t op_or_status;		/* request: PVB_NVSP_SUBCH_ALLOCATE; completion: status */
	uint32_t num_subchannels;
} __attribute__((packed));

#define PVB_NVSP_SUBCH_ALLOCATE		1u

/*
 * 134 SEND_INDIRECTION_TABLE (NVSP v5 on), host -> guest in-band, no
 * completion: count u32 channel numbers at offset (from the start of the
 * NVSP message). The host's send table: which channel a guest should send a
 * flow of a given hash on. Linux reads the table right after this header
 * whatever offset says for NVSP <= v6 (a host bug it works around), so a
 * host writes offset 12, where both readings agree.
 *
 *   0 type | 4 count (16) | 8 offset (12) | 12 table[16] u32 | 76
 */
struct pvb_nvsp_indirection {		/* 134 */
	uint32_t type;
	uint32_t count;
	uint32_t offset;
} __attribute__((packed));

#define PVB_NVSP_INDIRECTION_COUNT	16u
#define PVB_NVSP_INDIRECTION_OFF	12u
#define PVB_NVSP_INDIRECTION_SIZE	(PVB_NVSP_INDIRECTION_OFF + 4 * PVB_NVSP_INDIRECTION_COUNT)

_Static_assert(sizeof(struct pvb_nvsp_init) == 12, "nvsp init");
_Static_assert(sizeof(struct pvb_nvsp_init_complete) == 16, "nvsp init complete");
_Static_assert(sizeof(struct pvb_nvsp_ndis_config) == 20, "nvsp ndis config");
_Static_assert(__builtin_offsetof(struct pvb_nvsp_ndis_config, capabilities) == 12, "caps @12");
_Static_assert(sizeof(struct pvb_nvsp_send_buf) == 10, "nvsp send buf");
_Static_assert(sizeof(struct pvb_nvsp_recv_buf_complete) == 28, "nvsp recv buf complete");
_Static_assert(__builtin_offsetof(struct pvb_nvsp_recv_buf_complete, section) == 12, "sec @12");
_Static_assert(sizeof(struct pvb_nvsp_send_buf_complete) == 12, "nvsp send buf complete");
_Static_assert(sizeof(struct pvb_nvsp_rndis_pkt) == 16, "nvsp rndis pkt");
_Static_assert(sizeof(struct pvb_nvsp_rndis_pkt_complete) == 8, "nvsp rndis complete");
_Static_assert(sizeof(struct pvb_nvsp_subchannel) == 12, "nvsp subchannel");
_Static_assert(sizeof(struct pvb_nvsp_indirection) == PVB_NVSP_INDIRECTION_OFF, "nvsp table");

/* ---- RNDIS ----------------------------------------------------------- */

#define PVB_RNDIS_HDR_SIZE		8u	/* type + len; offsets count from here */

enum pvb_rndis_type {
	PVB_RNDIS_PACKET_MSG		= 0x00000001,
	PVB_RNDIS_INITIALIZE_MSG	= 0x00000002,
	PVB_RNDIS_HALT_MSG		= 0x00000003,
	PVB_RNDIS_QUERY_MSG		= 0x00000004,
	PVB_RNDIS_SET_MSG		= 0x00000005,
	PVB_RNDIS_RESET_MSG		= 0x00000006,
	PVB_RNDIS_INDICATE_STATUS_MSG	= 0x00000007,
	PVB_RNDIS_KEEPALIVE_MSG		= 0x00000008,
	PVB_RNDIS_INITIALIZE_CMPLT	= 0x80000002,
	PVB_RNDIS_QUERY_CMPLT		= 0x80000004,
	PVB_RNDIS_SET_CMPLT		= 0x80000005,
	PVB_RNDIS_RESET_CMPLT		= 0x80000006,
	PVB_RNDIS_KEEPALIVE_CMPLT	= 0x80000008,
};

#define PVB_RNDIS_STATUS_SUCCESS		0x00000000u
#define PVB_RNDIS_STATUS_PENDING		0x00000103u
#define PVB_RNDIS_STATUS_FAILURE		0xc0000001u
#define PVB_RNDIS_STATUS_NOT_SUPPORTED		0xc00000bbu
#define PVB_RNDIS_STATUS_INVALID_DATA		0xc0010015u
#define PVB_RNDIS_STATUS_INVALID_OID		0xc0010017u
#define PVB_RNDIS_STATUS_MEDIA_CONNECT		0x4001000bu
#define PVB_RNDIS_STATUS_MEDIA_DISCONNECT	0x4001000cu
#define PVB_RNDIS_STATUS_LINK_SPEED_CHANGE	0x40010013u
#define PVB_RNDIS_STATUS_NETWORK_CHANGE		0x40010018u

#define PVB_RNDIS_OID_GEN_SUPPORTED_LIST	0x00010101u
#define PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE	0x00010106u
#define PVB_RNDIS_OID_GEN_LINK_SPEED		0x00010107u
#define PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER	0x0001010eu
#define PVB_RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE	0x00010111u
#define PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS	0x00010114u
#define PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS	0x01010101u
#define PVB_RNDIS_OID_802_3_CURRENT_ADDRESS	0x01010102u
#define PVB_RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES	0x00010203u
#define PVB_RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS	0x00010204u
#define PVB_RNDIS_OID_TCP_OFFLOAD_CURRENT_CONFIG	0xfc01020bu
#define PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS	0xfc01020cu
#define PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES 0xfc01020du

#define PVB_RNDIS_FILTER_DIRECTED	0x01u
#define PVB_RNDIS_FILTER_MULTICAST	0x02u
#define PVB_RNDIS_FILTER_ALL_MULTICAST	0x04u
#define PVB_RNDIS_FILTER_BROADCAST	0x08u
#define PVB_RNDIS_FILTER_PROMISCUOUS	0x20u

#define PVB_RNDIS_MAJOR			1u
#define PVB_RNDIS_MINOR			0u
#define PVB_RNDIS_MAX_XFER_GUEST	0x4000u	/* max_transfer_size a guest sends */

struct pvb_rndis_packet_msg {
	uint32_t type;
	uint32_t len;			/* whole message incl. PPIs, frame, padding */
	uint32_t data_offset;		/* from byte 8 */
	uint32_t data_len;
	uint32_t oob_data_offset;
	uint32_t oob_data_len;
	uint32_t num_oob_data_elements;
	uint32_t per_pkt_info_offset;	/* from byte 8 */
	uint32_t per_pkt_info_len;
	uint32_t vc_handle;
	uint32_t reserved;
} __attribute__((packed));

#define PVB_RNDIS_PACKET_HDR_SIZE	44u

/* Per-packet info element: all netvsc PPIs carry one u32 (size 16). */
struct pvb_rndis_ppi {
	uint32_t size;			/* header + data, multiple of 4 */
	uint32_t type;			/* bit 31: internal */
	uint32_t ppi_offset;		/* 12: data follows the header */
	uint32_t value;
} __attribute__((packed));

#define PVB_RNDIS_PPI_HDR_SIZE		12u
#define PVB_RNDIS_PPI_CSUM		0u
#define PVB_RNDIS_PPI_LSO		2u
#define PVB_RNDIS_PPI_VLAN		6u
#define PVB_RNDIS_PPI_HASH_VALUE	8u
#define PVB_RNDIS_PPI_HASH_INFO		9u
#define PVB_RNDIS_PPI_INTERNAL		0x80000000u

/* TCPIP_CHKSUM, RX direction (what the host reports) */
#define PVB_RNDIS_RXCSUM_TCP_FAIL	(1u << 0)
#define PVB_RNDIS_RXCSUM_UDP_FAIL	(1u << 1)
#define PVB_RNDIS_RXCSUM_IP_FAIL	(1u << 2)
#define PVB_RNDIS_RXCSUM_TCP_OK		(1u << 3)
#define PVB_RNDIS_RXCSUM_UDP_OK		(1u << 4)
#define PVB_RNDIS_RXCSUM_IP_OK		(1u << 5)

/* TCPIP_CHKSUM, TX direction (what the guest asks the host to fill) */
#define PVB_RNDIS_TXCSUM_IPV4		(1u << 0)
#define PVB_RNDIS_TXCSUM_IPV6		(1u << 1)
#define PVB_RNDIS_TXCSUM_TCP		(1u << 2)
#define PVB_RNDIS_TXCSUM_UDP		(1u << 3)
#define PVB_RNDIS_TXCSUM_IP		(1u << 4)	/* the IPv4 header checksum */
#define PVB_RNDIS_TXCSUM_L4_OFF(v)	(((v) >> 16) & 0x3ffu)	/* L4 header, from the frame */
#define PVB_RNDIS_TXCSUM_MK_OFF(o)	(((uint32_t)(o) & 0x3ffu) << 16)

/*
 * TCP_LARGESEND, LSOv2 (TX, and in pvbridge's receive extension RX too):
 * bits 0-19 MSS, bits 20-29 TCP header offset, bit 30 type = 1 (v2),
 * bit 31 IPv6.
 */
#define PVB_RNDIS_LSO2_MSS(v)		((v) & 0xfffffu)
#define PVB_RNDIS_LSO2_TCP_OFF(v)	(((v) >> 20) & 0x3ffu)
#define PVB_RNDIS_LSO2_TYPE		(1u << 30)
#define PVB_RNDIS_LSO2_IPV6		(1u << 31)
#define PVB_RNDIS_LSO2_MK(mss, off, v6) \
	(((uint32_t)(mss) & 0xfffffu) | ((uint32_t)(off) & 0x3ffu) << 20 | PVB_RNDIS_LSO2_TYPE | \
	 ((v6) ? PVB_RNDIS_LSO2_IPV6 : 0))

/* VLAN PPI value: bits 0-2 priority, bit 3 CFI, bits 4-15 id */
#define PVB_RNDIS_VLAN_PRIO(v)		((v) & 0x7u)
#define PVB_RNDIS_VLAN_ID(v)		(((v) >> 4) & 0xfffu)

struct pvb_rndis_init_msg {
	uint32_t type, len, request_id, major, minor, max_transfer_size;
} __attribute__((packed));

struct pvb_rndis_init_cmplt {
	uint32_t type, len, request_id, status, major, minor, device_flags, medium;
	uint32_t max_packets_per_message, max_transfer_size, packet_alignment_factor;
	uint32_t af_list_offset, af_list_size;
} __attribute__((packed));

struct pvb_rndis_halt_msg {
	uint32_t type, len, request_id;
} __attribute__((packed));

/* QUERY_MSG and SET_MSG share the layout; the info buffer follows at @28 */
struct pvb_rndis_query_msg {
	uint32_t type, len, request_id, oid, info_buf_len, info_buf_offset, device_vc_handle;
} __attribute__((packed));

/* QUERY_CMPLT: info buffer at 8 + info_buf_offset (16 -> @24) */
struct pvb_rndis_query_cmplt {
	uint32_t type, len, request_id, status, info_buf_len, info_buf_offset;
} __attribute__((packed));

struct pvb_rndis_set_cmplt {
	uint32_t type, len, request_id, status;
} __attribute__((packed));

struct pvb_rndis_indicate_status {
	uint32_t type, len, status, status_buf_len, status_buf_offset;
} __attribute__((packed));

struct pvb_rndis_keepalive_msg {
	uint32_t type, len, request_id;
} __attribute__((packed));

struct pvb_rndis_keepalive_cmplt {
	uint32_t type, len, request_id, status;
} __attribute__((packed));

_Static_assert(sizeof(struct pvb_rndis_packet_msg) == PVB_RNDIS_PACKET_HDR_SIZE, "packet msg");
_Static_assert(sizeof(struct pvb_rndis_ppi) == 16, "ppi element");
_Static_assert(sizeof(struct pvb_rndis_init_msg) == 24, "init msg");
_Static_assert(sizeof(struct pvb_rndis_init_cmplt) == 52, "init cmplt");
_Static_assert(sizeof(struct pvb_rndis_query_msg) == 28, "query/set msg");
_Static_assert(sizeof(struct pvb_rndis_query_cmplt) == 24, "query cmplt");
_Static_assert(sizeof(struct pvb_rndis_set_cmplt) == 16, "set cmplt");
_Static_assert(sizeof(struct pvb_rndis_indicate_status) == 20, "indicate status");
_Static_assert(sizeof(struct pvb_rndis_keepalive_cmplt) == 16, "keepalive cmplt");

/* ---- NDIS task offload objects (OIDs 0xfc01020b..d) ------------------------ */

/*
 * Every NDIS object starts with this header ([MS-RNDIS] carries them as the
 * OID's information buffer; NDIS_OBJECT_HEADER in ntddndis.h).
 */
struct pvb_ndis_obj_hdr {
	uint8_t type;
	uint8_t revision;
	uint16_t size;			/* the whole object, header included */
} __attribute__((packed));

#define PVB_NDIS_OBJ_DEFAULT		0x80u	/* NDIS_OFFLOAD_PARAMETERS */
#define PVB_NDIS_OBJ_OFFLOAD		0xa7u	/* NDIS_OFFLOAD */

/*
 * NDIS_OFFLOAD: answer to OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES and
 * OID_TCP_OFFLOAD_CURRENT_CONFIG. Revision 1 (NDIS 6.0) ends after flags
 * (112 bytes), revision 2 (6.1) after the IPsec v2 block (144), revision 3
 * (6.30) after the encapsulation block (156). IPsec is never offered.
 *
 *   0 hdr | 4 checksum (8 x u32) | 36 LSOv1 (4 x u32) | 52 IPsec v1 (28)
 *   80 LSOv2 (7 x u32) | 108 flags | 112 IPsec v2 (32) | 144 RSC v4, v6 (u8)
 *   148 encapsulation (2 x u32) | 156
 */
struct pvb_ndis_offload {
	struct pvb_ndis_obj_hdr hdr;
	/* checksum: encapsulation and capability words, IPv4 then IPv6, tx then rx */
	uint32_t ip4_tx_encap, ip4_tx_csum, ip4_rx_encap, ip4_rx_csum;
	uint32_t ip6_tx_encap, ip6_tx_csum, ip6_rx_encap, ip6_rx_csum;
	uint32_t lsov1_encap, lsov1_max_size, lsov1_min_segs, lsov1_opts;
	uint8_t ipsecv1[28];
	uint32_t lsov2_ip4_encap, lsov2_ip4_max_size, lsov2_ip4_min_segs;
	uint32_t lsov2_ip6_encap, lsov2_ip6_max_size, lsov2_ip6_min_segs, lsov2_ip6_opts;
	uint32_t flags;
	uint8_t ipsecv2[32];		/* NDIS 6.1 */
	uint8_t rsc_ip4, rsc_ip6;	/* NDIS 6.30: receive segment coalescing */
	uint8_t pad[2];
	uint32_t encap_flags, encap_max_hdr;
} __attribute__((packed));

#define PVB_NDIS_OFFLOAD_REV_1		1u
#define PVB_NDIS_OFFLOAD_REV_2		2u
#define PVB_NDIS_OFFLOAD_REV_3		3u
#define PVB_NDIS_OFFLOAD_SIZE_6_0	112u
#define PVB_NDIS_OFFLOAD_SIZE_6_1	144u
#define PVB_NDIS_OFFLOAD_SIZE_6_30	156u

#define PVB_NDIS_ENCAP_8023		0x2u	/* the *_encap words: Ethernet frames */
/* checksum capability words (ip4_* and ip6_*) */
#define PVB_NDIS_CSUM_IP4_OPT		0x001u	/* IPv4 options / IPv6 extension headers */
#define PVB_NDIS_CSUM_TCP_OPT		0x004u
#define PVB_NDIS_CSUM_TCP		0x010u
#define PVB_NDIS_CSUM_UDP		0x040u
#define PVB_NDIS_CSUM_IP4		0x100u	/* the IPv4 header checksum */
#define PVB_NDIS_LSOV2_IP6_EXT		0x001u	/* lsov2_ip6_opts */
#define PVB_NDIS_LSOV2_TCP_OPT		0x004u

_Static_assert(sizeof(struct pvb_ndis_offload) == PVB_NDIS_OFFLOAD_SIZE_6_30, "ndis offload");
_Static_assert(__builtin_offsetof(struct pvb_ndis_offload, lsov2_ip4_encap) == 80, "lsov2 @80");
_Static_assert(__builtin_offsetof(struct pvb_ndis_offload, ipsecv2) == PVB_NDIS_OFFLOAD_SIZE_6_0,
	       "6.0 size");
_Static_assert(__builtin_offsetof(struct pvb_ndis_offload, rsc_ip4) == PVB_NDIS_OFFLOAD_SIZE_6_1,
	       "6.1 size");

/*
 * NDIS_OFFLOAD_PARAMETERS: the information buffer of a SET of
 * OID_TCP_OFFLOAD_PARAMETERS. Revision 1 ends after flags (20 bytes),
 * revision 2 after the IPsec v2 bytes (22), revision 3 after the
 * encapsulation bytes (26; Linux and DPDK send 28, the C struct's size).
 */
struct pvb_ndis_offload_params {
	struct pvb_ndis_obj_hdr hdr;
	uint8_t ip4_csum, tcp4_csum, udp4_csum, tcp6_csum, udp6_csum;	/* PVB_NDIS_CSUM_* */
	uint8_t lsov1, ipsecv1, lsov2_ip4, lsov2_ip6;			/* PVB_NDIS_LSO_* */
	uint8_t tcp4_conn, tcp6_conn;
	uint8_t pad;
	uint32_t flags;
	uint8_t ipsecv2, ipsecv2_ip4;		/* revision 2 */
	uint8_t rsc_ip4, rsc_ip6;		/* revision 3: PVB_NDIS_RSC_* */
	uint8_t encap_task, encap_types;
	uint8_t pad2[2];
} __attribute__((packed));

#define PVB_NDIS_PARAMS_REV_1		1u
#define PVB_NDIS_PARAMS_REV_2		2u
#define PVB_NDIS_PARAMS_REV_3		3u
#define PVB_NDIS_PARAMS_SIZE_1		20u
#define PVB_NDIS_PARAMS_SIZE_2		22u
#define PVB_NDIS_PARAMS_SIZE_3		26u
#define PVB_NDIS_PARAMS_SIZE		28u	/* what Linux and DPDK send for revision 3 */

/* checksum fields */
#define PVB_NDIS_CSUM_NO_CHANGE		0u
#define PVB_NDIS_CSUM_OFF		1u
#define PVB_NDIS_CSUM_TX		2u
#define PVB_NDIS_CSUM_RX		3u
#define PVB_NDIS_CSUM_TX_RX		4u
/* LSO and RSC fields */
#define PVB_NDIS_LSO_NO_CHANGE		0u
#define PVB_NDIS_LSO_OFF		1u
#define PVB_NDIS_LSO_ON			2u

_Static_assert(sizeof(struct pvb_ndis_offload_params) == PVB_NDIS_PARAMS_SIZE, "offload params");
_Static_assert(__builtin_offsetof(struct pvb_ndis_offload_params, flags) == 16, "flags @16");
_Static_assert(__builtin_offsetof(struct pvb_ndis_offload_params, rsc_ip4) ==
	       PVB_NDIS_PARAMS_SIZE_2, "rsc @22");

/* ---- NDIS receive side scaling objects (OIDs 0x00010203, 0x00010204) ------- */

#define PVB_NDIS_OBJ_RSS_CAPS		0x88u	/* NDIS_RECEIVE_SCALE_CAPABILITIES */
#define PVB_NDIS_OBJ_RSS_PARAMS		0x89u	/* NDIS_RECEIVE_SCALE_PARAMETERS */

/*
 * NDIS_RECEIVE_SCALE_CAPABILITIES: the answer to a QUERY of
 * OID_GEN_RECEIVE_SCALE_CAPABILITIES. Revision 1 (NDIS 6.0) ends after
 * nrxr (16 bytes), revision 2 (6.30) after nind (18; the struct pads to 20).
 */
struct pvb_ndis_rss_caps {
	struct pvb_ndis_obj_hdr hdr;
	uint32_t caps;			/* PVB_NDIS_RSS_CAP_* | hash types PVB_NDIS_HASH_* */
	uint32_t nmsi;			/* message-signalled interrupts: the queue count */
	uint32_t nrxr;			/* receive queues (channels) */
	uint16_t nind;			/* indirection table entries (revision 2) */
	uint16_t pad;
} __attribute__((packed));

#define PVB_NDIS_RSS_CAPS_REV_1		1u
#define PVB_NDIS_RSS_CAPS_REV_2		2u
#define PVB_NDIS_RSS_CAPS_SIZE_1	16u
#define PVB_NDIS_RSS_CAPS_SIZE_2	18u
#define PVB_NDIS_RSS_CAP_MSI		0x01000000u
#define PVB_NDIS_RSS_CAP_CLASS_ISR	0x02000000u
#define PVB_NDIS_RSS_CAP_CLASS_DPC	0x04000000u

/* The hash function (bits 0-7) and hash types (bits 8-) of a hash_info word and PPI 9. */
#define PVB_NDIS_HASH_FUNC_TOEPLITZ	0x00000001u
#define PVB_NDIS_HASH_FUNC_MASK		0x000000ffu
#define PVB_NDIS_HASH_IPV4		0x00000100u
#define PVB_NDIS_HASH_TCP_IPV4		0x00000200u
#define PVB_NDIS_HASH_IPV6		0x00000400u
#define PVB_NDIS_HASH_IPV6_EX		0x00000800u
#define PVB_NDIS_HASH_TCP_IPV6		0x00001000u
#define PVB_NDIS_HASH_TCP_IPV6_EX	0x00002000u
#define PVB_NDIS_HASH_TYPES		0x00003f00u

/*
 * NDIS_RECEIVE_SCALE_PARAMETERS: the information buffer of a SET of
 * OID_GEN_RECEIVE_SCALE_PARAMETERS, revision 2, 40 bytes, then the
 * indirection table and the key at the offsets it names (from the start of
 * the object). What Linux and DPDK send: table of 128 u32 at 40, the
 * 40-byte Toeplitz key at 552, 592 bytes in all.
 *
 *   0 hdr | 4 flags u16 | 6 base_cpu u16 | 8 hash_info | 12 table_size u16 (bytes)
 *   16 table_off | 20 key_size u16 | 24 key_off | 28 cpu masks (3 x u32, 0) | 40
 */
struct pvb_ndis_rss_params {
	struct pvb_ndis_obj_hdr hdr;
	uint16_t flags;			/* PVB_NDIS_RSS_FLAG_* */
	uint16_t base_cpu;
	uint32_t hash_info;		/* PVB_NDIS_HASH_FUNC_* | PVB_NDIS_HASH_* */
	uint16_t table_size;		/* bytes */
	uint16_t pad0;
	uint32_t table_off;
	uint16_t key_size;
	uint16_t pad1;
	uint32_t key_off;
	uint32_t cpu_masks_off, cpu_masks_n, cpu_masks_entry;
} __attribute__((packed));

#define PVB_NDIS_RSS_PARAMS_REV_2	2u
#define PVB_NDIS_RSS_PARAMS_SIZE	40u
#define PVB_NDIS_RSS_FLAG_DISABLE	0x0010u	/* RSS off: everything on the primary channel */
#define PVB_NDIS_RSS_KEY_SIZE		40u	/* Toeplitz */
#define PVB_NDIS_RSS_TABLE_N		128u
#define PVB_NDIS_RSS_PARAMS_FULL	(PVB_NDIS_RSS_PARAMS_SIZE + 4 * PVB_NDIS_RSS_TABLE_N + \
					 PVB_NDIS_RSS_KEY_SIZE)

_Static_assert(sizeof(struct pvb_ndis_rss_caps) == 20, "rss caps");
_Static_assert(__builtin_offsetof(struct pvb_ndis_rss_caps, nind) == PVB_NDIS_RSS_CAPS_SIZE_1,
	       "rss caps nind @16");
_Static_assert(sizeof(struct pvb_ndis_rss_params) == PVB_NDIS_RSS_PARAMS_SIZE, "rss params");
_Static_assert(__builtin_offsetof(struct pvb_ndis_rss_params, key_off) == 24, "key_off @24");
_Static_assert(PVB_NDIS_RSS_PARAMS_FULL == 592, "what Linux and DPDK send");

#endif /* _PVB_NVSP_WIRE_H_ */
