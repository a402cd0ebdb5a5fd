/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_NVSP_H_
#define _PVB_NVSP_H_

/**
 * @file
 * NVSP and RNDIS (pvb_nvsp_wire.h): codecs, the host (VSP) and guest (VSC)
 * control state machines, and the slot allocator both datapaths use. Pure C,
 * no rings and no DPDK: the PMDs move the bytes, this library decides what
 * they mean.
 *
 * Every decoder takes the bytes it may look at (@p avail), which may be in
 * memory the peer can rewrite at any time: each field is read once into a
 * private copy, and every offset and length is checked against @p avail
 * before anything derived from it is used. Decoders return 0 or -EPROTO
 * (malformed) or -ENOTSUP (well formed, unknown type).
 */

#include <stdbool.h>
#include <stdint.h>

#include "pvb_nvsp_wire.h"

/* ---- NVSP codec ---------------------------------------------------------- */

/** A decoded NVSP message (host byte order, only the fields of its type). */
struct pvb_nvsp_msg {
	uint32_t type;			/**< enum pvb_nvsp_type */
	union {
		struct { uint32_t min_ver, max_ver; } init;
		struct { uint32_t status, max_mdl_chain_len; } init_complete;
		struct { uint32_t major, minor; } ndis_ver;
		struct { uint32_t mtu; uint64_t caps; } ndis_config;
		struct { uint32_t gpadl; uint16_t id; } send_buf;	/* 101, 104 */
		struct {
			uint32_t status, num_sections;
			struct pvb_nvsp_section section;
		} recv_buf_complete;
		struct { uint16_t id; } revoke;				/* 103, 106 */
		struct { uint32_t status, section_size; } send_buf_complete;
		struct { uint32_t channel_type, section_index, section_size; } rndis;
		struct { uint32_t status; } rndis_complete;
		/* 133: request (op PVB_NVSP_SUBCH_ALLOCATE) or completion (status) */
		struct { uint32_t op_or_status, num; } subchannel;
		/* 134: the header only; pvb_nvsp_table_decode() reads the table */
		struct { uint32_t count, offset; } table;
	} u;
};

/**
 * Decode @p len bytes (>= the size of its type's layout, at most
 * PVB_NVSP_MSG_SIZE are looked at). -EPROTO if shorter than its type needs,
 * -ENOTSUP for types this library does not handle (109-124, 126-136 ...).
 */
int pvb_nvsp_decode(const void *buf, uint32_t len, struct pvb_nvsp_msg *m);

/** Encode into PVB_NVSP_MSG_SIZE bytes (unused ones zero). Returns PVB_NVSP_MSG_SIZE. */
uint32_t pvb_nvsp_encode(const struct pvb_nvsp_msg *m, void *buf);

/* ---- RNDIS data messages ---------------------------------------------------- */

/** Per-packet info a data message carries. */
struct pvb_rndis_pktinfo {
	uint32_t present;		/**< PVB_PI_* bits */
	uint32_t csum;			/**< TCPIP_CHKSUM value (TX request or RX result) */
	uint32_t vlan;			/**< IEEE_8021Q value */
	uint32_t hash;			/**< HASH_VALUE */
	uint32_t hash_info;		/**< HASH_INFO */
	uint32_t lso;			/**< TCP_LARGESEND (LSOv2 encoding) */
};

#define PVB_PI_CSUM		(1u << 0)
#define PVB_PI_VLAN		(1u << 1)
#define PVB_PI_HASH		(1u << 2)
#define PVB_PI_HASH_INFO	(1u << 3)
#define PVB_PI_LSO		(1u << 4)

/** Most bytes pvb_rndis_data_hdr_len() returns: the header and every PPI above. */
#define PVB_RNDIS_DATA_HDR_MAX	(PVB_RNDIS_PACKET_HDR_SIZE + 5 * 16u)

/** Bytes before the frame in a data message carrying @p pi: 44 + 16 per PPI. */
uint32_t pvb_rndis_data_hdr_len(const struct pvb_rndis_pktinfo *pi);

/**
 * Write the PACKET_MSG header and PPIs (pvb_rndis_data_hdr_len() bytes) for
 * a frame of @p frame_len bytes that the caller puts right after them. The
 * message length is rounded up to @p align (a power of two, >= 1); the
 * caller zeroes the padding. Returns the message length.
 */
uint32_t pvb_rndis_data_encode(void *buf, uint32_t frame_len, const struct pvb_rndis_pktinfo *pi,
			       uint32_t align);

/** A decoded data message. */
struct pvb_rndis_data {
	uint32_t msg_len;		/**< bytes to the next message in a stream */
	uint32_t frame_off;		/**< frame start, from the start of the message */
	uint32_t frame_len;
	struct pvb_rndis_pktinfo pi;
};

/**
 * Decode the PACKET_MSG at the start of @p buf with @p avail bytes left in
 * its section, range or slot: type 1, len within avail and >= 44, frame
 * inside len and >= 14 bytes, OOB fields zero, PPIs inside len and each
 * element well formed (unknown PPI types are skipped). -EPROTO otherwise;
 * -ENOTSUP if it is a control message (type != 1).
 */
int pvb_rndis_data_decode(const void *buf, uint32_t avail, struct pvb_rndis_data *d);

/* ---- RNDIS control messages ------------------------------------------------- */

/** A decoded control message; which fields are valid depends on type. */
struct pvb_rndis_ctl {
	uint32_t type;			/**< enum pvb_rndis_type */
	uint32_t len;
	uint32_t request_id;		/**< all but INDICATE_STATUS */
	uint32_t status;		/**< completions, INDICATE_STATUS */
	uint32_t oid;			/**< QUERY, SET */
	uint32_t info_off;		/**< info/status buffer, from the start of the message */
	uint32_t info_len;		/**< (checked to lie inside len) */
	/* INITIALIZE_MSG: major, minor, max_transfer_size;
	 * INITIALIZE_CMPLT: those plus the rest */
	uint32_t major, minor, max_transfer_size;
	uint32_t device_flags, medium, max_packets_per_message, packet_alignment_factor;
};

/**
 * Decode a control message at @p buf (@p avail bytes): len within avail
 * and at least its type's fixed size, info buffer inside len. -EPROTO,
 * -ENOTSUP (PACKET_MSG or an unknown type).
 */
int pvb_rndis_ctl_decode(const void *buf, uint32_t avail, struct pvb_rndis_ctl *c);

/**
 * Encode a control message into @p buf of @p cap bytes; @p info (may be
 * NULL) of c->info_len bytes is appended for QUERY/SET/QUERY_CMPLT/
 * INDICATE_STATUS and the offsets filled in. c->len is ignored (computed).
 * Returns the length, or -EMSGSIZE / -EINVAL.
 */
int pvb_rndis_ctl_encode(const struct pvb_rndis_ctl *c, const void *info, void *buf,
			 uint32_t cap);

/* ---- NDIS task offload (doc/nvsp.md §3.7) ------------------------------------ */

/*
 * What a channel offloads, as one mask: the host's offer, the guest's wish
 * and what the guest enabled are all written in these bits. TX and RX are
 * the guest's directions: TX_* = the host fills what the guest's frames ask
 * for, RX_* = the host reports checksum results on frames to the guest,
 * LSO* = the guest sends large TCP frames (LSOv2), RSC* = the host sends
 * the guest large TCP frames (receive segment coalescing; pvbridge marks
 * them with an LSOv2 PPI, doc/netvsp-netvsc.md).
 */
#define PVB_OFL_TX_IP4		(1u << 0)
#define PVB_OFL_TX_TCP4		(1u << 1)
#define PVB_OFL_TX_UDP4		(1u << 2)
#define PVB_OFL_TX_TCP6		(1u << 3)
#define PVB_OFL_TX_UDP6		(1u << 4)
#define PVB_OFL_RX_IP4		(1u << 5)
#define PVB_OFL_RX_TCP4		(1u << 6)
#define PVB_OFL_RX_UDP4		(1u << 7)
#define PVB_OFL_RX_TCP6		(1u << 8)
#define PVB_OFL_RX_UDP6		(1u << 9)
#define PVB_OFL_LSO4		(1u << 10)
#define PVB_OFL_LSO6		(1u << 11)
#define PVB_OFL_RSC4		(1u << 12)
#define PVB_OFL_RSC6		(1u << 13)
#define PVB_OFL_ALL		0x3fffu
#define PVB_OFL_TX_CSUM		0x1fu
#define PVB_OFL_RX_CSUM		(0x1fu << 5)

#define PVB_NDIS_LSO_MAX	65536u	/* the largest LSO/RSC frame payload offered */
#define PVB_NDIS_LSO_MIN_SEGS	2u

/** The NDIS version (major << 16 | minor) a guest announces under NVSP @p nvsp_ver. */
static inline uint32_t
pvb_ndis_ver_of(uint32_t nvsp_ver)
{
	return nvsp_ver <= PVB_NVSP_VER_4 ? PVB_NDIS_VER_6_1 : PVB_NDIS_VER_6_30;
}

/**
 * Write the NDIS_OFFLOAD describing @p mask (PVB_OFL_*) for NDIS version
 * @p ndis_ver into @p buf (PVB_NDIS_OFFLOAD_SIZE_6_30 bytes of room): the
 * revision and size that version knows (RSC only from 6.30). Returns its size.
 */
uint32_t pvb_ndis_offload_encode(void *buf, uint32_t ndis_ver, uint32_t mask);

/**
 * The PVB_OFL_* mask an NDIS_OFFLOAD of @p len bytes offers (the host's
 * answer, untrusted): type, revision and size checked against @p len and
 * each other. -EPROTO if malformed.
 */
int pvb_ndis_offload_decode(const void *buf, uint32_t len, uint32_t *mask);

/**
 * Write the NDIS_OFFLOAD_PARAMETERS turning on exactly @p want (every other
 * field off) for NDIS version @p ndis_ver: revision 3 (28 bytes) from 6.30,
 * else revision 2 (22 bytes, no RSC). Returns its size.
 */
uint32_t pvb_ndis_params_encode(void *buf, uint32_t ndis_ver, uint32_t want);

/**
 * Apply an NDIS_OFFLOAD_PARAMETERS of @p len bytes (the guest's, untrusted)
 * to the mask *@p enabled: "no change" keeps a bit, off clears it, on sets
 * it. 0; -EPROTO (bad header, size or a value outside its field's range:
 * INVALID_DATA); -ENOTSUP (turns on something outside @p offered). On error
 * *@p enabled is unchanged.
 */
int pvb_ndis_params_apply(const void *buf, uint32_t len, uint32_t offered, uint32_t *enabled);

/* ---- receive side scaling (doc/nvsp.md §3.8) --------------------------------- */

/** Most channels one port has: the primary and up to 63 subchannels (Hyper-V's limit). */
#define PVB_NVSP_MAX_CHANNELS	64u

/** RSS as a guest asks for it and a host applies it. */
struct pvb_rss_conf {
	bool enabled;			/**< false: every frame on the primary channel */
	uint32_t hash_types;		/**< PVB_NDIS_HASH_* (IPv4, TCP4, IPv6, TCP6 used) */
	uint8_t key[PVB_NDIS_RSS_KEY_SIZE];	/**< Toeplitz key */
	uint8_t table[PVB_NDIS_RSS_TABLE_N];	/**< channel of each hash % 128 */
};

/** The hash types pvbridge computes: IPv4 and IPv6 addresses, with TCP ports or without. */
#define PVB_RSS_HASH_SUPPORTED	(PVB_NDIS_HASH_IPV4 | PVB_NDIS_HASH_TCP_IPV4 | \
				 PVB_NDIS_HASH_IPV6 | PVB_NDIS_HASH_TCP_IPV6)

/**
 * Write the NDIS_RECEIVE_SCALE_PARAMETERS for @p c into @p buf
 * (PVB_NDIS_RSS_PARAMS_FULL bytes of room): the layout Linux and DPDK send.
 * Returns its size.
 */
uint32_t pvb_ndis_rss_params_encode(void *buf, const struct pvb_rss_conf *c);

/**
 * Read an NDIS_RECEIVE_SCALE_PARAMETERS of @p len bytes (the guest's,
 * untrusted) for a port of @p nchan channels into @p c: header type,
 * revision and size; table and key inside @p len, not overlapping the
 * header; 128 entries each below @p nchan; a 40-byte key; Toeplitz. The
 * DISABLE flag turns RSS off (the rest is not looked at). 0; -EPROTO
 * (malformed: INVALID_DATA); -ENOTSUP (well formed, not something this host
 * does: another hash function, another table or key size, hash types
 * outside PVB_RSS_HASH_SUPPORTED only). On error @p c is unchanged.
 */
int pvb_ndis_rss_params_decode(const void *buf, uint32_t len, uint32_t nchan,
			       struct pvb_rss_conf *c);

/**
 * Write the NDIS_RECEIVE_SCALE_CAPABILITIES of a host with @p nrxr channels
 * for NDIS version @p ndis_ver into @p buf (20 bytes of room). Returns its size.
 */
uint32_t pvb_ndis_rss_caps_encode(void *buf, uint32_t ndis_ver, uint32_t nrxr);

/**
 * Read the host's NDIS_RECEIVE_SCALE_CAPABILITIES of @p len bytes: the
 * number of receive queues (>= 1) and the hash types it offers. -EPROTO.
 */
int pvb_ndis_rss_caps_decode(const void *buf, uint32_t len, uint32_t *nrxr,
			     uint32_t *hash_types);

/**
 * Write NVSP 134 with the send table i % @p nchan into @p buf
 * (PVB_NVSP_INDIRECTION_SIZE bytes of room). Returns its size.
 */
uint32_t pvb_nvsp_table_encode(void *buf, uint32_t nchan);

/**
 * Read NVSP 134 of @p len bytes (in-band payload, untrusted) for a guest
 * with @p nchan channels: PVB_NVSP_INDIRECTION_COUNT entries, at the offset
 * it names or, where that is not 12, right after the header as Linux reads
 * it for NVSP <= v6; every entry below @p nchan. The table into @p table.
 * -EPROTO.
 */
int pvb_nvsp_table_decode(const void *buf, uint32_t len, uint32_t nchan,
			  uint32_t table[PVB_NVSP_INDIRECTION_COUNT]);

/**
 * The NDIS hash type of a frame with these parsed protocols (@p v6: IPv6
 * else IPv4; @p tcp) under the enabled @p types: the TCP type when
 * enabled for a TCP frame, else the address-only type, else 0 (no hash).
 */
static inline uint32_t
pvb_rss_hash_type(uint32_t types, bool v6, bool tcp)
{
	uint32_t t = v6 ? PVB_NDIS_HASH_TCP_IPV6 : PVB_NDIS_HASH_TCP_IPV4;
	uint32_t a = v6 ? PVB_NDIS_HASH_IPV6 : PVB_NDIS_HASH_IPV4;

	if (tcp && (types & t))
		return t;
	return types & a;
}

/* ---- the host (VSP) control state machine --------------------------------- */

/** Host settings. */
struct pvb_vsp_config {
	uint8_t mac[6];
	uint32_t mtu;			/**< L3 MTU; the frame limit is mtu + 14 */
	uint32_t rx_slot_size;		/**< receive-buffer slot; 0: from the MTU */
	uint32_t send_section_size;	/**< 0: 6144, or enough for one max frame */
	uint32_t max_pkts_per_msg;	/**< RNDIS aggregation limit reported; 0: 8 */
	uint32_t align_factor;		/**< alignment = 1 << it; 0 -> 3 (8 bytes) */
	uint32_t link_speed;		/**< OID_GEN_LINK_SPEED, 100 bps units */
	bool no_offload;		/**< offer no task offload (the OIDs say NOT_SUPPORTED) */
	uint32_t max_subchannels;	/**< subchannels granted at most (queues - 1); 0: none */
};

enum pvb_vsp_state {
	PVB_VSP_WAIT_INIT = 0,		/**< nothing negotiated */
	PVB_VSP_NEGOTIATED,		/**< NVSP version agreed */
	PVB_VSP_BUFFERS,		/**< receive and send buffers both given */
	PVB_VSP_RNDIS_READY,		/**< RNDIS initialized: data may flow */
	PVB_VSP_HALTED,			/**< RNDIS halted or buffers revoked */
	PVB_VSP_FAILED,			/**< protocol violation: close the channel */
};

/** Looks up a GPADL the guest gave in its OPEN: its size, or -ENOENT. */
typedef int (*pvb_vsp_gpadl_fn)(void *arg, uint32_t gpadl, uint64_t *size);

struct pvb_vsp {
	enum pvb_vsp_state state;
	struct pvb_vsp_config cfg;
	pvb_vsp_gpadl_fn gpadl_size;
	void *gpadl_arg;
	uint32_t nvsp_ver;
	uint32_t ndis_ver;		/**< major << 16 | minor */
	uint32_t guest_frame;		/**< from SEND_NDIS_CONFIG */
	uint64_t guest_caps;
	bool have_recv_buf, have_send_buf;
	uint32_t recv_gpadl, send_gpadl;
	uint32_t slot_size, slot_count;		/**< receive buffer */
	uint32_t section_size, section_count;	/**< send buffer */
	uint32_t filter;		/**< PVB_RNDIS_FILTER_*; 0 = send the guest nothing */
	uint32_t offload;		/**< PVB_OFL_* the guest enabled (OFFLOAD_PARAMETERS) */
	uint32_t subch_granted;		/**< subchannels granted by SUBCHANNEL (133), once */
	bool subch_asked;		/**< a SUBCHANNEL request was answered */
	struct pvb_rss_conf rss;	/**< RSS the guest set; rss.enabled false until then */
	uint32_t rss_gen;		/**< bumped by every RSS parameters SET applied */
	const char *why;		/**< first protocol violation */
	uint64_t protocol_errors;
};

/** What the host offers: PVB_OFL_ALL, RSC only to NDIS 6.30 guests; 0 with no_offload. */
uint32_t pvb_vsp_offload_offered(const struct pvb_vsp *h);

/**
 * The receive slot size a host with rx_slot_size 0 chooses for @p mtu (0:
 * the default MTU): the frame at offset 128 (room for the RNDIS header and
 * its per-packet info, or for an mbuf's RTE_PKTMBUF_HEADROOM), a maximal
 * VLAN-tagged frame after it, rounded up to a cache line.
 */
uint32_t pvb_vsp_slot_size(uint32_t mtu);

void pvb_vsp_init(struct pvb_vsp *h, const struct pvb_vsp_config *cfg, pvb_vsp_gpadl_fn fn,
		  void *arg);

/**
 * An NVSP message from the guest (not 107: that one is data or RNDIS
 * control). Returns 1 when @p reply must go back as the completion of the
 * request, 0 when there is none, -EPROTO when the message breaks the
 * protocol in this state (h->why says how; state FAILED). An unsupported
 * version gets an INIT_COMPLETE with a failure status, not an error.
 */
int pvb_vsp_nvsp(struct pvb_vsp *h, const struct pvb_nvsp_msg *in, struct pvb_nvsp_msg *reply);

/**
 * An RNDIS control message from the guest (already decoded; @p msg / @p len
 * are its bytes, for the info buffer). Writes the completion into @p reply
 * (@p cap >= 256) and returns its length, 0 when none is due (HALT), or
 * -EPROTO. Handles INITIALIZE, QUERY (the OIDs in the header), SET (packet
 * filter; others succeed as no-ops or report NOT_SUPPORTED), KEEPALIVE,
 * RESET (NOT_SUPPORTED), HALT.
 */
int pvb_vsp_rndis(struct pvb_vsp *h, const struct pvb_rndis_ctl *c, const void *msg,
		  void *reply, uint32_t cap);

/** An INDICATE_STATUS for the link (@p up: MEDIA_CONNECT, else MEDIA_DISCONNECT). */
int pvb_vsp_link_indication(bool up, void *buf, uint32_t cap);

/** Data may flow to the guest: RNDIS ready and a non-zero packet filter. */
static inline bool
pvb_vsp_rx_enabled(const struct pvb_vsp *h)
{
	return h->state == PVB_VSP_RNDIS_READY && h->filter != 0;
}

/* ---- the guest (VSC) control state machine --------------------------------- */

struct pvb_vsc_config {
	uint32_t mtu;			/**< wanted L3 MTU (0: what the host offers) */
	uint32_t recv_gpadl;		/**< GPADL of the receive buffer */
	uint32_t send_gpadl;		/**< GPADL of the send buffer */
	uint32_t min_nvsp_ver;		/**< oldest version to try; 0: v1 */
	uint32_t offload;		/**< PVB_OFL_* to ask for (0: none, no offload OIDs) */
	uint32_t subchannels;		/**< subchannels to ask for (NVSP >= v5); 0: none */
};

enum pvb_vsc_state {
	PVB_VSC_INIT = 0,		/**< nothing sent */
	PVB_VSC_WAIT_INIT,		/**< INIT sent with nvsp_ver */
	PVB_VSC_WAIT_RECV_BUF,
	PVB_VSC_WAIT_SEND_BUF,
	PVB_VSC_WAIT_RNDIS_INIT,
	PVB_VSC_WAIT_QUERY,		/**< one query or set after another */
	PVB_VSC_READY,			/**< data may flow */
	PVB_VSC_HALTED,
	PVB_VSC_FAILED,
};

/** The longest RNDIS control message a guest sends: a SET of the RSS parameters. */
#define PVB_RNDIS_CTL_MAX	640u

/** The next thing the guest must send. */
struct pvb_vsc_action {
	enum {
		PVB_VSC_ACT_NONE = 0,	/**< wait for input */
		PVB_VSC_ACT_NVSP,	/**< send nvsp in-band; completion wanted if want_comp */
		PVB_VSC_ACT_RNDIS,	/**< send rndis[0..rndis_len) as NVSP 107, control */
	} kind;
	bool want_comp;
	struct pvb_nvsp_msg nvsp;
	uint32_t rndis_len;
	uint8_t rndis[PVB_RNDIS_CTL_MAX];
};

struct pvb_vsc {
	enum pvb_vsc_state state;
	struct pvb_vsc_config cfg;
	unsigned int ver_idx;		/* next version in the newest-first list */
	uint32_t nvsp_ver;
	uint32_t slot_size, slot_count;		/**< host's receive buffer layout */
	uint32_t section_size, section_count_hint;	/**< host's send section size */
	uint32_t max_pkts_per_msg;	/**< from INITIALIZE_CMPLT (>= 1) */
	uint32_t max_xfer;		/**< bytes one 107 may carry */
	uint32_t align;			/**< 1 << packet_alignment_factor, >= 4 */
	uint8_t mac[6];
	uint32_t mtu;			/**< L3 MTU the host reported */
	bool link_up;
	uint32_t filter;		/**< last filter acknowledged */
	uint32_t want_filter;		/**< filter to set */
	uint32_t host_offload;		/**< PVB_OFL_* the host offers (hardware capabilities) */
	uint32_t offload;		/**< PVB_OFL_* enabled: asked for and acknowledged */
	uint32_t next_req;		/**< RNDIS request id, never 0 */
	uint32_t pending_req;		/**< request waiting for its completion, 0 none */
	unsigned int query_step;
	bool sent;			/**< current request sent, waiting */
	uint32_t host_queues;		/**< receive queues the host's RSS capabilities name, 0 */
	uint32_t subch_granted;		/**< subchannels the host granted */
	struct pvb_rss_conf rss_want;	/**< RSS to set (pvb_vsc_set_rss()) */
	uint32_t rss_want_gen, rss_gen;	/**< set asked for / acknowledged (or refused) */
	uint32_t rss_sent_gen;		/**< the generation of the SET out */
	uint32_t subch_asked;		/**< subchannels the SUBCHANNEL request asked for */
	bool rss_out;			/**< an RSS parameters SET is the request out */
	bool rss_refused;		/**< the host refused the last one */
	const char *why;
	uint64_t protocol_errors;
};

void pvb_vsc_init(struct pvb_vsc *g, const struct pvb_vsc_config *cfg);

/**
 * What to send next. The sequence (doc/nvsp.md §2.4): INIT newest-first, NDIS
 * CONFIG, NDIS VER, receive buffer, send buffer, RNDIS INITIALIZE, queries
 * (MAC, max frame size, media connect status), with cfg.offload the offload
 * capabilities QUERY and the OFFLOAD_PARAMETERS SET (refusals leave offload
 * 0, they are not errors), SET packet filter; then READY.
 * After READY it yields a SET for a changed want_filter, a HALT after
 * pvb_vsc_halt(), else NONE.
 */
void pvb_vsc_next(struct pvb_vsc *g, struct pvb_vsc_action *a);

/** A completion from the host (its NVSP payload). -EPROTO if not expected now. */
int pvb_vsc_nvsp(struct pvb_vsc *g, const struct pvb_nvsp_msg *m);

/**
 * An RNDIS control message from the host: a completion of the pending
 * request (@p msg for its info buffer) or an INDICATE_STATUS (link).
 * -EPROTO on a completion nobody asked for or a failed mandatory step.
 */
int pvb_vsc_rndis(struct pvb_vsc *g, const struct pvb_rndis_ctl *c, const void *msg);

/** Ask for packet filter @p filter (sent by pvb_vsc_next() when READY). */
void pvb_vsc_set_filter(struct pvb_vsc *g, uint32_t filter);
/**
 * Ask for RSS @p c (sent by pvb_vsc_next() when READY, after any filter
 * change): table entries are channel numbers below 1 + subch_granted.
 */
void pvb_vsc_set_rss(struct pvb_vsc *g, const struct pvb_rss_conf *c);
/** Ask for the teardown: filter 0, HALT, then the buffer revokes. */
void pvb_vsc_halt(struct pvb_vsc *g);

static inline bool
pvb_vsc_ready(const struct pvb_vsc *g)
{
	return g->state == PVB_VSC_READY;
}

/* ---- slot allocator --------------------------------------------------------- */

/** Most recently freed slots a pvb_nvsp_slots remembers (min(n, this) entries). */
#define PVB_NVSP_SLOTS_LIFO_MAX	1024u

/**
 * A set of n slots (receive-buffer slots on the host, send sections on the
 * guest), each free or taken, with runs for frames that need several
 * adjacent slots. Single-threaded; the owner of the ring uses it.
 *
 * Policy (doc/nvsp.md §6): get(1) returns the most recently
 * freed single slot that is still free, else the lowest free slot; a run
 * (count > 1) is the lowest run of count free slots. The slots in use are
 * then the ones in flight, not the whole buffer, and stay in cache.
 */
struct pvb_nvsp_slots {
	uint32_t n;			/**< slots */
	uint32_t nfree;			/**< slots free */
	uint32_t low;			/* no slot below this one is free */
	uint32_t cap;			/* LIFO entries: min(n, PVB_NVSP_SLOTS_LIFO_MAX) */
	uint32_t top;			/* LIFO: where the next push goes */
	uint32_t depth;			/* LIFO: entries held, <= cap */
	uint32_t *lifo;			/* recently freed single slots, newest at top - 1 */
	uint64_t *bits;			/* 1 = free; the truth, the LIFO only hints */
};

/** Set up @p n slots, all free. -ENOMEM, -EINVAL (n == 0). */
int pvb_nvsp_slots_init(struct pvb_nvsp_slots *s, uint32_t n);
void pvb_nvsp_slots_fini(struct pvb_nvsp_slots *s);
/**
 * Take @p count adjacent free slots; the first index, -ENOSPC, or -EINVAL
 * (count 0, @p s not set up).
 */
int64_t pvb_nvsp_slots_get(struct pvb_nvsp_slots *s, uint32_t count);
/** Free @p count slots from @p first. -EINVAL if any is out of range or already free. */
int pvb_nvsp_slots_put(struct pvb_nvsp_slots *s, uint32_t first, uint32_t count);
/** True if slot @p i is taken. */
bool pvb_nvsp_slots_taken(const struct pvb_nvsp_slots *s, uint32_t i);

#endif /* _PVB_NVSP_H_ */
