/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VHOST_USER_H_
#define _PVB_VHOST_USER_H_

/**
 * @file
 * vhost-user (pvb_vhost_user_wire.h), both ends, libc only.
 *
 *  - Framing: one message in or out of an AF_UNIX stream socket with its
 *    fds (pvb_vu_recv(), pvb_vu_send()).
 *  - Back-end: a state machine that does no socket I/O. The caller feeds it
 *    each message with its fds (pvb_vu_backend_handle()) and sends the
 *    reply it fills; it maps the memory table, owns every fd it was given,
 *    and keeps one device-side virtqueue (lib/virtq) per vring.
 *  - Front-end: the requests a driver sends, each a blocking call that
 *    checks the reply (pvb_vu_front_*()).
 *  - virtio-net header: gathered from a popped chain and checked.
 *
 * The front-end is untrusted: every message is checked against its request
 * (size, fd count, vring index on all 32 bits, region overlap and 64-bit
 * overflow of address + size + offset, ring addresses inside one region); a
 * bad one returns an error with the reason in b->error, counts, and the
 * caller closes the connection. No fd is ever leaked on any path.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvb_virtq.h"
#include "pvb_vhost_user_wire.h"

/* ---- framing ---------------------------------------------------------------- */

/** A message whose first byte arrived must be whole within this, however its bytes are spaced. */
#define PVB_VU_STALL_MS		1000

/**
 * Receive one message and its fds (at most PVB_VU_MAX_FDS) from @p sock;
 * blocks until the whole message is in (the caller polls first; on a
 * non-blocking socket, -EAGAIN when nothing has arrived; a message not
 * whole PVB_VU_STALL_MS after its first byte is -EPROTO). 0; -ECONNRESET when the peer
 * closed; -EPROTO for bad framing (version bits not 1, size above
 * PVB_VU_PAYLOAD_MAX, truncated or foreign ancillary data, more than
 * PVB_VU_MAX_FDS fds, a short payload), with every received fd closed and
 * *nfds 0; other -errno. The payload beyond hdr.size is zeroed. The REPLY
 * and NEED_REPLY flags are the receiver's to check.
 */
int pvb_vu_recv(int sock, struct pvb_vu_msg *m, int *fds, uint32_t *nfds);

/**
 * Send @p m (header and m->hdr.size payload bytes) with @p nfds fds (not
 * closed here), MSG_NOSIGNAL. 0 or -errno (-EINVAL for a size above
 * PVB_VU_PAYLOAD_MAX or more than PVB_VU_MAX_FDS fds; -ETIMEDOUT when a
 * non-blocking socket stays full for PVB_VU_STALL_MS).
 */
int pvb_vu_send(int sock, const struct pvb_vu_msg *m, const int *fds, uint32_t nfds);

/** The request's name ("SET_MEM_TABLE"), "unknown" for ids not named here. */
const char *pvb_vu_request_str(uint32_t request);

/* ---- back-end ---------------------------------------------------------------- */

#define PVB_VU_MAX_QUEUE_PAIRS	8
#define PVB_VU_MAX_VRINGS	(2 * PVB_VU_MAX_QUEUE_PAIRS)

/** What the device offers. */
struct pvb_vu_backend_cfg {
	/** virtio bits offered; bit 30 added when protocol_features != 0 */
	uint64_t features;
	uint64_t protocol_features;	/**< PVB_VU_PF_* bits offered */
	/** 1..PVB_VU_MAX_QUEUE_PAIRS: GET_QUEUE_NUM; vrings 0..2*qp-1 */
	uint16_t queue_pairs;
	/** largest SET_VRING_NUM accepted (power of two, <= 32768) */
	uint16_t max_queue_size;
};

/** One mapped region of the memory table. */
struct pvb_vu_map {
	uint64_t gpa, uva, size;	/**< as the front-end sent them */
	uint8_t *host;			/**< where gpa/uva maps here */
	void *base;			/**< mmap() result (host - mmap_offset) */
	size_t len;			/**< mmap() length */
};

/** One vring as the front-end set it up. */
struct pvb_vu_vring {
	struct pvb_virtq_dev q;		/**< device side; q.avail != NULL once translated */
	struct pvb_vu_vring_addr addr;	/**< as sent (front-end virtual addresses) */
	int kick_fd, call_fd, err_fd;	/**< -1: none (or the no-fd flag) */
	bool num_set, addr_set, kick_set, call_set;
	bool started;			/**< kicked (SET_VRING_KICK), not stopped since */
	bool enabled;			/**< SET_VRING_ENABLE 1, or no protocol features */
};

struct pvb_vu_backend {
	struct pvb_vu_backend_cfg cfg;
	uint64_t features;		/**< acked (SET_FEATURES) */
	uint64_t protocol_features;	/**< acked (SET_PROTOCOL_FEATURES) */
	bool features_set;
	bool owner;
	uint8_t status;			/**< SET_STATUS */
	uint16_t mtu;			/**< NET_SET_MTU; 0: not sent */
	uint32_t hdr_len;		/**< virtio-net header: 12 or 10 bytes */
	uint32_t nregions;
	struct pvb_vu_map map[PVB_VU_MAX_REGIONS];
	struct pvb_virtq_mem mem;	/**< by guest physical address: what descriptors hold */
	struct pvb_vu_vring vr[PVB_VU_MAX_VRINGS];
	uint64_t bad_messages;		/**< messages refused with the connection closed */
	uint64_t nacks;			/**< unsupported requests answered "failed" (REPLY_ACK) */
	char error[192];		/**< why the last message was refused */
};

/**
 * A fresh back-end (nothing mapped, no fds). -EINVAL for a bad cfg:
 * queue_pairs outside 1..PVB_VU_MAX_QUEUE_PAIRS, max_queue_size not a
 * power of two up to 32768, features offering LOG_ALL, ACCESS_PLATFORM or
 * RING_PACKED, protocol features other than MQ, REPLY_ACK, NET_MTU, STATUS.
 */
int pvb_vu_backend_init(struct pvb_vu_backend *b, const struct pvb_vu_backend_cfg *cfg);

/**
 * The connection is gone: unmap every region, close every fd, forget the
 * session; cfg, the counters and b->error stay. Safe to call twice (on a
 * back-end pvb_vu_backend_init() set up).
 */
void pvb_vu_backend_reset(struct pvb_vu_backend *b);

/**
 * Handle one message whose @p nfds fds are in @p fds. The back-end takes
 * every fd: it keeps it (kick, call, err) or closes it (mem table fds after
 * mmap, surplus fds, any fd of a refused message); every entry of @p fds is
 * -1 on return. Returns 1 when @p reply holds a reply to send (GET_*, or an
 * ack when REPLY_ACK was negotiated and NEED_REPLY set), 0 when nothing is
 * to be sent, or a negative errno when the message is refused: b->error
 * says why, without the request's name ("region 1 overlaps region 0 in
 * guest addresses"), bad_messages is counted, and the caller must close the
 * connection (then pvb_vu_backend_reset()). A request this back-end does
 * not answer (SET_LOG_BASE, an unknown id, a protocol feature not acked)
 * that carries NEED_REPLY with REPLY_ACK acked is answered "failed" (u64 1)
 * instead: nacks is counted, b->error says which, and the connection stays.
 * -EPROTO: framing (flags, size, fd count); -EINVAL: a value; -EFAULT: a
 * ring outside the memory table; -EBUSY: a started ring's size or base;
 * -EOPNOTSUPP: an unsupported request; other -errno from fstat/mmap.
 *
 * Must not run while a burst uses the vrings when pvb_vu_request_mutates()
 * says so: the caller quiesces its bursts first.
 */
int pvb_vu_backend_handle(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
			  uint32_t nfds, struct pvb_vu_msg *reply);

/** Can handling @p request change what the bursts use (memory, rings, fds, features)? */
bool pvb_vu_request_mutates(uint32_t request);

/**
 * May the datapath use vring @p index: translated, kicked (started),
 * enabled, a call fd or the no-fd flag received, and the device running
 * (pvb_vu_backend_running())?
 */
bool pvb_vu_backend_vring_ready(const struct pvb_vu_backend *b, uint32_t index);

/** Features set, and DRIVER_OK in the status when the STATUS protocol feature is acked. */
bool pvb_vu_backend_running(const struct pvb_vu_backend *b);

/* ---- the socket ---------------------------------------------------------------- */

/**
 * Listen on unix socket @p path (non-blocking, backlog 1). A socket file
 * nobody listens on is a leftover and is replaced. The fd, -EADDRINUSE when
 * another process listens there, -ENAMETOOLONG, -errno.
 */
int pvb_vu_listen(const char *path);

/** Connect to @p path: the fd (with the stall limits set), or -errno. */
int pvb_vu_connect(const char *path);

/** Accept one connection on @p listen_fd: the fd (with the stall limits set), or -errno. */
int pvb_vu_accept(int listen_fd);

/* ---- front-end --------------------------------------------------------------- */

/** A front-end's end of one connection. */
struct pvb_vu_frontend {
	int sock;
	int timeout_ms;			/**< for each reply */
	uint64_t protocol_features;	/**< acked: REPLY_ACK makes every set wait for an ack */
	char error[192];		/**< why the last call failed */
};

void pvb_vu_front_init(struct pvb_vu_frontend *f, int sock, int timeout_ms);

/**
 * GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_STATUS, GET_MAX_MEM_SLOTS:
 * the reply's u64. The reply must have flags exactly version|REPLY, the
 * request id, and size 8: otherwise -EPROTO (f->error says why).
 * -ETIMEDOUT, -ECONNRESET, -errno.
 */
int pvb_vu_front_get_u64(struct pvb_vu_frontend *f, uint32_t request, uint64_t *v);

/**
 * A request with a u64 payload (SET_FEATURES, SET_PROTOCOL_FEATURES (also
 * records it in f), NET_SET_MTU, SET_STATUS) or none (SET_OWNER,
 * RESET_OWNER: @p v unused). With REPLY_ACK acked, waits for the ack:
 * -EREMOTEIO when the back-end answers "failed".
 */
int pvb_vu_front_set_u64(struct pvb_vu_frontend *f, uint32_t request, uint64_t v);

/** SET_MEM_TABLE with one fd per region (not closed here). */
int pvb_vu_front_set_mem_table(struct pvb_vu_frontend *f, const struct pvb_vu_region *r,
			       const int *fds, uint32_t n);

/** SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ENABLE. */
int pvb_vu_front_set_vring_state(struct pvb_vu_frontend *f, uint32_t request, uint32_t index,
				 uint32_t num);

/** GET_VRING_BASE: the ring stops; @p num is its next avail index. */
int pvb_vu_front_get_vring_base(struct pvb_vu_frontend *f, uint32_t index, uint32_t *num);

int pvb_vu_front_set_vring_addr(struct pvb_vu_frontend *f, const struct pvb_vu_vring_addr *a);

/** SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR; @p fd < 0 sends the no-fd flag. */
int pvb_vu_front_set_vring_fd(struct pvb_vu_frontend *f, uint32_t request, uint32_t index,
			      int fd);

/* ---- virtio-net header ------------------------------------------------------- */

/** Header length for acked @p features: 12 with VERSION_1 or MRG_RXBUF, else 10. */
uint32_t pvb_vnet_hdr_len(uint64_t features);

/**
 * Gather the first @p hdr_len bytes of the readable part of @p c into @p h
 * (zeroing what a 10-byte header lacks), however the driver split them over
 * descriptors. 0; -EBADMSG when the readable part holds no more than the
 * header (no frame after it: the CVE-2022-2132 class).
 */
int pvb_vnet_hdr_get(const struct pvb_virtq_chain *c, uint32_t hdr_len, struct pvb_vnet_hdr *h);

/**
 * Check a driver's header against the @p frame_len bytes that follow it:
 * NULL when it is sound, else why not (NEEDS_CSUM with csum_start +
 * csum_offset + 2 beyond the frame: the CVE-2024-11614 class; an unknown
 * gso_type or flag; GSO without NEEDS_CSUM or with gso_size 0).
 */
const char *pvb_vnet_hdr_check(const struct pvb_vnet_hdr *h, uint64_t frame_len);

/* ---- offloads: the header against the frame's own headers -------------------- */

/*
 * What a frame asks for or was vouched for, in the terms of DPDK's mbuf
 * offload fields (the PMDs map it to ol_flags, pvb_vnet_mbuf.h), without
 * DPDK: this library stays libc only.
 */
#define PVB_VNET_OL_IPV4	0x01	/**< IPv4 at l2_len */
#define PVB_VNET_OL_IPV6	0x02	/**< IPv6 at l2_len, TCP/UDP right after its 40 bytes */
#define PVB_VNET_OL_TCP		0x04
#define PVB_VNET_OL_UDP		0x08
#define PVB_VNET_OL_CSUM	0x10	/**< the L4 checksum is to be filled (NEEDS_CSUM) */
#define PVB_VNET_OL_TSO		0x20	/**< TCP segmentation at mss (implies CSUM) */
#define PVB_VNET_OL_L4_GOOD	0x40	/**< the L4 checksum was verified (DATA_VALID) */
#define PVB_VNET_OL_IP_GOOD	0x80	/**< the IPv4 header checksum is right (checked here) */
#define PVB_VNET_OL_IP_BAD	0x100	/**< the IPv4 header checksum is wrong (checked here) */
#define PVB_VNET_OL_IP_CKSUM	0x200	/**< sending: fill the IPv4 header checksum (virtio has
					 *   no such offload: done by pvb_vnet_tx_hdr()) */

/** Offsets and requests of one frame. */
struct pvb_vnet_ol {
	uint16_t flags;		/**< PVB_VNET_OL_* */
	uint16_t l2_len;	/**< Ethernet header, VLAN tags included */
	uint16_t l3_len;	/**< IP header (IPv4 options included) */
	uint16_t l4_len;	/**< TCP header with options, or 8 (UDP) */
	uint16_t mss;		/**< with PVB_VNET_OL_TSO: TCP payload bytes per segment */
};

/** Why a header's request was refused: one counter each. */
enum pvb_vnet_bad {
	PVB_VNET_OK = 0,
	PVB_VNET_BAD_HEADER,	/**< pvb_vnet_hdr_check() refused the header itself */
	PVB_VNET_BAD_CSUM,	/**< NEEDS_CSUM that is not the frame's TCP/UDP checksum */
	PVB_VNET_BAD_GSO,	/**< GSO type or size that does not fit the frame */
	PVB_VNET_UNSUPPORTED,	/**< sound, but not taken: UDP segmentation, ECN with CWR */
	PVB_VNET_NOT_NEGOTIATED,	/**< a request for a feature the device did not ack */
	PVB_VNET_BAD_MAX,
};

/**
 * Parse the Ethernet (up to two VLAN tags), IPv4 or IPv6 and TCP or UDP
 * headers in @p f[0, @p len): the IP and L4 flags and the three lengths of
 * @p ol (its other fields untouched). 0, or -EPROTO: not TCP/UDP over IP
 * (IPv6 extension headers and IPv4 fragments included), or a header that
 * does not lie wholly inside @p len bytes.
 */
int pvb_vnet_parse(const uint8_t *f, uint32_t len, struct pvb_vnet_ol *ol);

/** Acked features that let a driver ask the device (HOST_*) or the device the driver (GUEST_*). */
#define PVB_VNET_ACCEPT_CSUM	0x1	/**< NEEDS_CSUM */
#define PVB_VNET_ACCEPT_TSO4	0x2	/**< GSO TCPV4 (with its NEEDS_CSUM) */
#define PVB_VNET_ACCEPT_TSO6	0x4	/**< GSO TCPV6 (with its NEEDS_CSUM) */

/**
 * The receive side of an offload (VIRTIO 1.2 §5.1.6.2.2 and §5.1.6.4.2):
 * check the peer's header @p h against the frame it precedes, @p f[0,
 * @p seg_len) being its first contiguous bytes out of @p frame_len, and
 * fill @p ol. @p accept: PVB_VNET_ACCEPT_* (what the acked features let
 * the peer ask for). A request becomes PVB_VNET_OL_CSUM / _TSO with its
 * offsets, after checking that csum_start is the parsed L4 offset and
 * csum_offset its checksum field, the GSO type the frame's IP version over
 * TCP, gso_size between 1 and 65535 minus the headers; a frame whose
 * payload fits one gso_size needs no segmenting and asks for the checksum
 * only. The frame is then left in the canonical form of the mbuf contract
 * (doc/vhost.md, "Offloads"): for TSO the IPv4 total length / IPv6 payload
 * length set to the whole frame and the IPv4 header checksum recomputed;
 * the L4 checksum field holds the pseudo-header sum, with the L4 length
 * except for TSO. DATA_VALID becomes L4_GOOD, and the IPv4 header checksum
 * is checked (IP_GOOD / IP_BAD). PVB_VNET_OK, or why the frame must be
 * dropped, with a line for the log in @p why.
 */
enum pvb_vnet_bad pvb_vnet_rx_ol(const struct pvb_vnet_hdr *h, uint32_t accept, uint8_t *f,
				 uint32_t seg_len, uint32_t frame_len, struct pvb_vnet_ol *ol,
				 const char **why);

/**
 * The sending side: express the request @p want (CSUM, TSO with mss, or
 * L4_GOOD; its lengths as the application set them) in @p h for the frame
 * whose first bytes are @p f[0, @p seg_len) of @p frame_len, after parsing
 * the frame and checking that the lengths agree. NEEDS_CSUM with
 * csum_start/csum_offset, for TSO the GSO type, gso_size and hdr_len, and
 * the L4 checksum field rewritten into the form Linux's virtio_net receive
 * path takes (skb_partial_csum_set(): the pseudo-header sum including the
 * L4 length); for TSO the IP lengths are made true and the IPv4 header
 * checksum recomputed, as it is with IP_CKSUM. L4_GOOD alone becomes
 * DATA_VALID. 0, or -EINVAL
 * (the frame's headers do not match @p want; @p h and @p f untouched
 * then, except for a partly parsed frame).
 */
int pvb_vnet_tx_hdr(uint8_t *f, uint32_t seg_len, uint32_t frame_len,
		    const struct pvb_vnet_ol *want, struct pvb_vnet_hdr *h);

/** The counter name of @p bad (e.g. "rx_offload_bad_csum"). */
const char *pvb_vnet_bad_str(enum pvb_vnet_bad bad);

#endif /* _PVB_VHOST_USER_H_ */
