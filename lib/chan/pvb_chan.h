/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_CHAN_H_
#define _PVB_CHAN_H_

/**
 * @file
 * Channel offer / open / close between a host (VSP) and a guest (VSC)
 * process over a SOCK_SEQPACKET unix socket: the part of VMBus that, on
 * Hyper-V, the hypervisor and the vmbus driver do. Once a channel is open,
 * everything else (NVSP, RNDIS, packets) runs inside the shared rings.
 *
 *   host (listens on path)                       guest (connects)
 *     OFFER {chan id, MTU, MAC, limits}   --->
 *                                         <---   OPEN {chan id, region size,
 *                                                  GPADL table, ring offsets}
 *                                                  + fds: region, doorbell socket
 *     OPEN_RESULT {status, reason}        --->
 *     ... NVSP/RNDIS in the rings (the guest asks for subchannels) ...
 *     SUBOFFER {sub id, parent, index}    --->   (one per subchannel granted)
 *                                         <---   OPEN {sub id, rings} + fds
 *     OPEN_RESULT                         --->   (in the order of the OPENs)
 *     CLOSE / RESCIND                     <-->   CLOSE
 *
 * Every message starts with a versioned header (pvb_chan_wire.h). Anything
 * malformed, out of order or of another version is answered with ERROR
 * (reason text) and the connection is closed by the side that saw it; peer
 * death shows as EOF (-ECONNRESET). Nothing a peer sends can crash or leak:
 * fds arriving with a refused message are closed.
 *
 * The doorbells of an open channel are one AF_UNIX SOCK_DGRAM socket pair
 * the guest creates: it keeps one end and passes the other in OPEN. Each
 * side owns its own file description, so the peer can neither clear its
 * O_NONBLOCK nor block it: a ring is a one-byte send(MSG_DONTWAIT |
 * MSG_NOSIGNAL) (EAGAIN means a wake is already pending), a drain is
 * recv(MSG_DONTWAIT) until EAGAIN. See doc/chan.md.
 *
 * Control functions return 0 or -errno. No DPDK in here.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PVB_CHAN_MAX_GPADL	8	/**< GPADL entries one OPEN carries */
#define PVB_CHAN_REASON_LEN	96	/**< reason text, NUL included */
#define PVB_CHAN_MAX_SUB	63	/**< subchannels of one channel */

/** Message types. */
enum pvb_chan_type {
	PVB_CHAN_OFFER = 1,		/**< host -> guest, first message */
	PVB_CHAN_OPEN = 2,		/**< guest -> host, with PVB_CHAN_OPEN_FDS fds */
	PVB_CHAN_OPEN_RESULT = 3,	/**< host -> guest */
	PVB_CHAN_CLOSE = 4,		/**< either way: orderly close of the channel */
	PVB_CHAN_RESCIND = 5,		/**< host -> guest: the offer is withdrawn */
	PVB_CHAN_ERROR = 6,		/**< either way, then the sender closes */
	PVB_CHAN_SUBOFFER = 7,		/**< host -> guest: a subchannel of the open channel */
};

/** A subchannel the host offers. */
struct pvb_chan_suboffer {
	uint32_t chan_id;		/**< its own id, which its OPEN names */
	uint32_t parent;		/**< the primary's chan_id */
	uint32_t index;			/**< 1 .. PVB_CHAN_MAX_SUB; the queue it serves */
};

/**
 * Offer flag: the host shares the guest's region with a third party (a
 * vhost-user back-end that maps it writable, again at every reconnect).
 * The guest creates the region on plain pages (PVB_SHM_F_NO_HUGE) and
 * prefaults it instead of locking it (pvb_shm_prefault()); the host
 * refuses a region on huge pages or write-sealed. See doc/shm.md, "Share
 * mode", for why that is safe on plain pages only.
 */
#define PVB_CHAN_OFFER_F_SHARE	(1u << 0)

/** What the host offers. */
struct pvb_chan_offer {
	uint32_t chan_id;
	uint32_t mtu;			/**< L3 MTU the host supports (frame = mtu + 14) */
	uint8_t mac[6];			/**< the guest's MAC address */
	uint32_t max_ring_bytes;	/**< each ring, control page included */
	uint32_t flags;			/**< PVB_CHAN_OFFER_F_*; an unknown bit is refused */
	uint64_t max_region_bytes;	/**< the whole shared region */
};

/** One GPADL: a range of the shared region the guest names by id. */
struct pvb_chan_gpadl {
	uint32_t id;			/**< non-zero, unique in the table */
	uint64_t offset;		/**< page aligned (4096) */
	uint64_t size;			/**< non-zero, multiple of 4096 */
};

/** A ring direction inside the region: control page + data area. */
struct pvb_chan_ring {
	uint64_t offset;		/**< page aligned */
	uint32_t size;			/**< 4096 + data, multiple of 4096, >= 8192 */
};

/** fds of an OPEN, in this order. */
enum {
	PVB_CHAN_FD_REGION = 0,		/**< sealed memfd of region_size bytes */
	PVB_CHAN_FD_BELL = 1,		/**< the host's end of the guest's AF_UNIX SOCK_DGRAM
					 *   socket pair: both doorbells */
	PVB_CHAN_OPEN_FDS = 2,
};

/** What the guest opens. */
struct pvb_chan_open {
	uint32_t chan_id;		/**< from the offer */
	uint64_t region_size;
	struct pvb_chan_ring tx;	/**< guest -> host ring */
	struct pvb_chan_ring rx;	/**< host -> guest ring */
	uint32_t n_gpadl;
	struct pvb_chan_gpadl gpadl[PVB_CHAN_MAX_GPADL];
};

/** A decoded message. */
struct pvb_chan_msg {
	uint16_t type;			/**< enum pvb_chan_type */
	union {
		struct pvb_chan_offer offer;
		struct pvb_chan_open open;
		struct {
			int32_t status;	/**< 0 or a negative errno */
			char reason[PVB_CHAN_REASON_LEN];
		} result;		/**< OPEN_RESULT and ERROR */
		struct {
			uint32_t chan_id;
		} close;		/**< CLOSE and RESCIND */
		struct pvb_chan_suboffer sub;	/**< SUBOFFER */
	} u;
	int fds[PVB_CHAN_OPEN_FDS];	/**< OPEN only; -1 elsewhere */
	unsigned int nfds;
};

/**
 * Encode @p m into @p buf (at most @p cap bytes). Returns the length, or
 * -EMSGSIZE / -EINVAL. Fds are not part of the bytes.
 */
int pvb_chan_encode(const struct pvb_chan_msg *m, void *buf, size_t cap);

/**
 * Decode and validate one message of @p len bytes that arrived with @p nfds
 * fds (closed by the caller on error; copied into @p m on success).
 * Structure only: header magic and version, type, exact length per type,
 * fd count per type, reason texts NUL-terminated, GPADL count. -EPROTO with
 * a static reason in @p why.
 */
int pvb_chan_decode(const void *buf, size_t len, const int *fds, unsigned int nfds,
		    struct pvb_chan_msg *m, const char **why);

/**
 * Check an OPEN against the offer it answers and the region it maps:
 * chan id, ring and GPADL ranges page aligned, inside region_size and the
 * limits, rings of a usable size and not overlapping each other, GPADL ids
 * non-zero and unique. -EINVAL with a static reason in @p why.
 */
int pvb_chan_open_check(const struct pvb_chan_open *o, const struct pvb_chan_offer *offer,
			const char **why);

/** Find GPADL @p id of an OPEN; NULL if none. */
const struct pvb_chan_gpadl *pvb_chan_gpadl_find(const struct pvb_chan_open *o, uint32_t id);

/** Send @p m (with its fds for OPEN). 0 or -errno; never raises SIGPIPE. */
int pvb_chan_send(int sock, const struct pvb_chan_msg *m);

/**
 * Receive and decode one message. 0; -EAGAIN (non-blocking, nothing yet);
 * -ECONNRESET (the peer closed or died); -EPROTO when it is malformed: then
 * an ERROR carrying @p why has been sent back (best effort) and the caller
 * must close the socket. Fds of refused messages are closed.
 */
int pvb_chan_recv(int sock, struct pvb_chan_msg *m, const char **why);

/** Send ERROR(@p status, @p reason), best effort. */
void pvb_chan_send_error(int sock, int status, const char *reason);

/**
 * Listen on @p path (non-blocking SOCK_SEQPACKET). A stale socket file
 * nobody listens on is replaced; a live one is -EADDRINUSE. Returns the fd
 * or -errno.
 */
int pvb_chan_listen(const char *path);

/** Accept one connection, non-blocking and close-on-exec. fd, -EAGAIN or -errno. */
int pvb_chan_accept(int lfd);

/** Connect to @p path; the returned socket is non-blocking. fd or -errno. */
int pvb_chan_connect(const char *path);

/** Close any fds still held by @p m (OPEN); sets them to -1. */
void pvb_chan_msg_release(struct pvb_chan_msg *m);

/* ---- state machines ---------------------------------------------------- */

/** Host side of one connection. */
enum pvb_chan_host_state {
	PVB_CHAN_H_IDLE = 0,		/**< no connection */
	PVB_CHAN_H_OFFERED,		/**< OFFER sent, waiting for OPEN */
	PVB_CHAN_H_OPENING,		/**< OPEN received, the caller is checking it */
	PVB_CHAN_H_OPEN,		/**< OPEN_RESULT 0 sent */
	PVB_CHAN_H_CLOSED,		/**< closed: by the guest, by EOF or by an error */
};

/** Guest side. */
enum pvb_chan_guest_state {
	PVB_CHAN_G_IDLE = 0,
	PVB_CHAN_G_WAIT_OFFER,		/**< connected */
	PVB_CHAN_G_OFFERED,		/**< OFFER received, the caller builds the region */
	PVB_CHAN_G_WAIT_RESULT,		/**< OPEN sent */
	PVB_CHAN_G_OPEN,
	PVB_CHAN_G_CLOSED,
};

/** What a poll of a state machine found. */
enum pvb_chan_event {
	PVB_CHAN_EV_NONE = 0,		/**< nothing (yet) */
	PVB_CHAN_EV_OFFER,		/**< guest: msg.u.offer is valid; answer with _guest_open() */
	PVB_CHAN_EV_OPEN,		/**< host: msg.u.open checked against the offer, region fd
					 *   sealed and large enough, bell fd an AF_UNIX
					 *   SOCK_DGRAM socket; fds in msg;
					 *   answer with _host_accept() or _host_refuse() */
	PVB_CHAN_EV_OPENED,		/**< guest: OPEN_RESULT 0 */
	PVB_CHAN_EV_CLOSED,		/**< either: closed; reason in why */
	PVB_CHAN_EV_REFUSED,		/**< host: an OPEN failed the checks and was refused
					 *   (status, why); the offer stands */
	PVB_CHAN_EV_SUBOFFER,		/**< guest: g->sub is valid; answer with
					 *   _guest_open_sub() */
	PVB_CHAN_EV_SUB_OPEN,		/**< host: an OPEN of subchannel h->sub_cur, checked as
					 *   EV_OPEN is (fds in msg); _host_accept() or
					 *   _host_refuse() */
	PVB_CHAN_EV_SUB_OPENED,		/**< guest: OPEN_RESULT 0 of subchannel g->sub_done */
};

struct pvb_chan_host {
	enum pvb_chan_host_state state;
	int sock;
	struct pvb_chan_offer offer;
	struct pvb_chan_msg msg;	/**< the OPEN being handled (owns its fds) */
	const char *why;		/**< why it closed */
	int status;			/**< 0, or the -errno it closed with */
	uint32_t nsub;			/**< subchannels offered: indices 1 .. nsub */
	uint64_t sub_open;		/**< bit i: subchannel i accepted */
	uint32_t sub_cur;		/**< the subchannel whose OPEN is handled, 0: none */
};

struct pvb_chan_guest {
	enum pvb_chan_guest_state state;
	int sock;
	struct pvb_chan_offer offer;
	struct pvb_chan_msg msg;
	const char *why;
	int status;
	char peer_reason[PVB_CHAN_REASON_LEN];	/**< text of a refused OPEN or an ERROR */
	uint32_t sub_want;		/**< subchannels the guest takes offers for */
	uint64_t sub_seen;		/**< bit i: subchannel i offered */
	struct pvb_chan_suboffer sub;	/**< the last SUBOFFER (EV_SUBOFFER) */
	uint32_t sub_done;		/**< the subchannel EV_SUB_OPENED is about */
	uint8_t sub_q[PVB_CHAN_MAX_SUB];	/**< subchannels opened, waiting for results */
	uint32_t sub_qh, sub_qn;	/**< the queue's head and length */
};

/**
 * Take a connected socket and send the OFFER (with offer->flags; -EINVAL
 * for a flag this version does not know).
 */
int pvb_chan_host_start(struct pvb_chan_host *h, int sock, const struct pvb_chan_offer *offer);
/** Read what arrived (non-blocking); on a protocol error sends ERROR and closes. */
enum pvb_chan_event pvb_chan_host_poll(struct pvb_chan_host *h);
/** Answer the pending OPEN with success; the caller keeps h->msg.fds (set to -1 here). */
int pvb_chan_host_accept(struct pvb_chan_host *h);
/** Answer the pending OPEN with failure (@p status < 0, @p reason); closes its fds. */
int pvb_chan_host_refuse(struct pvb_chan_host *h, int status, const char *reason);
/**
 * Offer subchannels nsub + 1 .. @p n of the open channel (SUBOFFERs; their
 * ids are the primary's with the index in the top byte). -EINVAL when not
 * open or @p n is beyond PVB_CHAN_MAX_SUB or below what was offered.
 */
int pvb_chan_host_offer_sub(struct pvb_chan_host *h, uint32_t n);
/** Subchannels accepted so far. */
uint32_t pvb_chan_host_sub_count(const struct pvb_chan_host *h);
/** Send RESCIND (offer withdrawn) then close; or just close when not open. */
void pvb_chan_host_close(struct pvb_chan_host *h, bool rescind);

/** Take a connected socket; waits for the OFFER. */
int pvb_chan_guest_start(struct pvb_chan_guest *g, int sock);
enum pvb_chan_event pvb_chan_guest_poll(struct pvb_chan_guest *g);
/**
 * Send OPEN with its two fds, in PVB_CHAN_FD_* order: the sealed region
 * memfd and the host's end of a socketpair(AF_UNIX, SOCK_DGRAM) whose other
 * end the guest keeps. They stay open in the caller.
 */
int pvb_chan_guest_open(struct pvb_chan_guest *g, const struct pvb_chan_open *o,
			const int fds[PVB_CHAN_OPEN_FDS]);
/**
 * Take SUBOFFERs for subchannels 1 .. @p n (what the host granted in the
 * rings); any other, or one twice, is a protocol error. Open channel only.
 */
int pvb_chan_guest_expect_sub(struct pvb_chan_guest *g, uint32_t n);
/**
 * Open the subchannel of the last EV_SUBOFFER (o->chan_id must be its id),
 * with fds as for _guest_open(); its result comes as EV_SUB_OPENED (a
 * refusal closes the channel).
 */
int pvb_chan_guest_open_sub(struct pvb_chan_guest *g, const struct pvb_chan_open *o,
			    const int fds[PVB_CHAN_OPEN_FDS]);
/** Send CLOSE (if open) and close the socket. */
void pvb_chan_guest_close(struct pvb_chan_guest *g);

#endif /* _PVB_CHAN_H_ */
