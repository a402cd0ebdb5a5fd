/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VIRTIO_H_
#define _PVB_VIRTIO_H_

/*
 * net_pvb_virtio: a virtio-net driver as a DPDK vdev, the front-end of a
 * vhost-user connection whose back-end is DPDK's net_vhost, OVS-DPDK, VPP
 * or net_pvb_vhost.
 *
 * The port owns the vrings (in DPDK memory) and lends the back-end its
 * memory through the memory table: every DPDK memory segment, by the fds
 * DPDK keeps for them, plus whatever the application adds with
 * rte_pmd_pvb_virtio_mem_add(). Descriptor addresses are our own virtual
 * addresses (gpa = uva), as DPDK's virtio_user does.
 *
 * Queue q is pair q: the rx burst reclaims the receive vring (2q) and
 * reposts mbufs to it, the tx burst posts mbufs on the transmit vring
 * (2q + 1) and reclaims those the back-end has read. A control thread per
 * port owns the socket and the session: it connects (server=0, again and
 * again while the port is started) or accepts (server=1), negotiates,
 * sends the table and the vrings, and hands the vrings to the bursts by
 * the hand-over every pvbridge PMD uses (pvb_handover.h). When the back-end
 * goes, it takes them back and frees every mbuf they held.
 *
 * Locks, always in this order: DPDK's memory hotplug lock (read), then the
 * port's session lock. A memory event callback runs with the hotplug lock
 * held (write) and takes only the session lock.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <ethdev_driver.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "pvb_ethdev.h"
#include "pvb_handover.h"
#include "pvb_rxintr.h"
#include "pvb_swol.h"
#include "pvb_vhost_user.h"
#include "pvb_vnet_mbuf.h"

extern int virtio_logtype;
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, virtio_logtype, "net_pvb_virtio: " fmt "\n", ##__VA_ARGS__)

/* A set-up that fails again the same way is logged once (then at debug level). */
#define LOG_SETUP(p, fmt, ...) \
	rte_log((p)->setup_failed ? RTE_LOG_DEBUG : RTE_LOG_ERR, virtio_logtype, \
		"net_pvb_virtio: " fmt "\n", ##__VA_ARGS__)

#define VIRTIO_MAX_QUEUES	PVB_VU_MAX_QUEUE_PAIRS
#define VIRTIO_BURST		64	/* used elements reclaimed per step */
#define VIRTIO_MAX_MTU		9702	/* as net_pvb_vhost: a 9728-byte frame with VLAN */
#define VIRTIO_MAX_FRAME	(VIRTIO_MAX_MTU + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)
#define VIRTIO_MAX_EXT		(PVB_VU_MAX_REGIONS - 1)	/* DPDK memory keeps at least one */

/** The port state the bursts read: the vrings are theirs only in VIRTIO_RUN. */
enum virtio_state {
	VIRTIO_DOWN = 0,
	VIRTIO_RUN,
};

/** One vring: shared (in DPDK memory) and the driver side's private state. */
struct virtio_ring {
	struct pvb_virtq_drv d;
	uint8_t *mem;			/* desc, avail, used; rte_zmalloc */
	size_t avail_off, used_off;
	struct pvb_virtq_drv_extra *extra;
	int kick_fd;			/* eventfd: we kick the back-end */
	int call_fd;			/* eventfd: the back-end calls us (rx interrupts) */
};

struct virtio_port;

struct virtio_rxq {
	struct virtio_port *p;
	struct virtio_ring *r;
	struct rte_mempool *mp;
	uint16_t qid;
	uint16_t port_id;
	uint32_t hdr_len;
	uint32_t accept;		/* PVB_VNET_ACCEPT_*: what the acked GUEST_* allow */
	bool mrg_rxbuf;
	uint16_t chain_segs;		/* mbufs per posted buffer (a chain when !mrg_rxbuf) */
	uint32_t seg_room;		/* bytes of frame one mbuf takes */
	/* a mergeable frame whose buffers are not all used yet */
	struct rte_mbuf *part_head, *part_tail;
	uint16_t part_left;
	pvb_counter_t packets, bytes, nombuf, bad_used, bad_lengths, kicks, calls, unshared;
	/* offload requests taken (as mbuf TX flags) and refused, per reason (enum pvb_vnet_bad) */
	pvb_counter_t ol_csum, ol_tso, ol_bad[PVB_VNET_BAD_MAX];
	uint64_t log_last;
	/* the table region the last external buffer was in (checked per buffer) */
	uint64_t ext_va, ext_len;
	void *tokens[VIRTIO_BURST];
	uint32_t lens[VIRTIO_BURST];
} __rte_cache_aligned;

struct virtio_txq {
	struct virtio_port *p;
	struct virtio_ring *r;
	uint16_t qid;
	uint32_t hdr_len;
	uint32_t accept;		/* PVB_VNET_ACCEPT_*: what the acked CSUM/HOST_TSO* take */
	uint64_t ol_mask;		/* ol_flags that leave the plain path */
	void *zero_hdr;			/* a virtio-net header of zeros, in DPDK memory */
	const struct rte_mempool *pool_ok;	/* last pool found wholly in the table */
	pvb_counter_t packets, bytes, ring_full, unshared, too_many_segs, bad_used, kicks;
	/* expressed in the header; done in software; frames copied to be written; refused */
	pvb_counter_t ol_csum, ol_tso, sw_cksum, sw_gso, sw_gso_segs, sw_vlan, ol_copies, ol_bad;
	uint64_t log_last;
	struct pvb_swol swol;		/* made at queue setup */
	/* frames made by software offload (or one the ring could not take after it was
	 * prepared), posted before the next frames */
	struct rte_mbuf *pend[PVB_SWOL_MAX_SEGS];
	uint16_t pend_n, pend_next;
	void *tokens[VIRTIO_BURST];
} __rte_cache_aligned;

/** A region of the memory table: ours to describe, the back-end's to map. */
struct virtio_region {
	uint64_t va, len, offset;
	int fd;				/* DPDK's (not ours to close) or a dup of the caller's */
	/* ext[] only: receive buffers were posted there (W: rx bursts; R: with the vrings taken) */
	bool rx_posted;
};

struct virtio_port {
	/* configuration (devargs) */
	char path[108];
	bool server;
	bool mrg_rxbuf, in_order;
	bool offload;			/* ack CSUM, HOST_TSO*, GUEST_CSUM, GUEST_TSO* when offered */
	uint16_t queues;
	uint16_t queue_size;
	struct rte_ether_addr mac;
	uint16_t port_id;
	char name[RTE_ETH_NAME_MAX_LEN];

	/* the session: the control thread's, and whoever holds lock */
	pthread_mutex_t lock;
	struct pvb_ctrl ctrl;
	bool started;			/* under lock */
	bool session;			/* under lock: negotiated, vrings handed over */
	bool waiting_logged;
	bool setup_failed;		/* the last set-up failed (and said why) */
	bool backoff;			/* a session just ended: wait before connecting again */
	int listen_fd, conn_fd;
	struct pvb_vu_frontend fe;
	uint64_t features, protocol_features;	/* acked */
	struct virtio_region table[PVB_VU_MAX_REGIONS];	/* as last sent */
	uint32_t ntable;
	struct virtio_region ext[VIRTIO_MAX_EXT];	/* rte_pmd_pvb_virtio_mem_add() */
	uint32_t next;
	bool mem_cb;			/* the memory event callback is registered */

	/* what the bursts read */
	pvb_shared_u32 state __rte_cache_aligned;	/* enum virtio_state; W: session */
	pvb_shared_u32 broken;		/* W: a burst found a vring broken, or the table could not
					 * follow DPDK's memory; R: control thread */
	struct pvb_active act[2 * VIRTIO_MAX_QUEUES];
	struct virtio_rxq rxq[VIRTIO_MAX_QUEUES];
	struct virtio_txq txq[VIRTIO_MAX_QUEUES];
	struct virtio_ring ring[2 * VIRTIO_MAX_QUEUES];	/* 2q: receive, 2q + 1: transmit */

	/* rx interrupts: the back-end's call eventfd of the receive vring, per queue */
	struct pvb_rxintr intr;

	/* port counters */
	pvb_counter_t ring_broken, connects, reconnects, disconnects, session_failures,
		      mem_table_updates;
};

/* virtio_rxtx.c */
uint16_t virtio_rx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t virtio_tx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n);
/** Post receive buffers into every free slot of @p q's vring (session setup). */
int virtio_rx_fill(struct virtio_rxq *q);
/** The vring of @p q is gone: free every mbuf it held. */
void virtio_rx_release(struct virtio_rxq *q);
void virtio_tx_release(struct virtio_txq *q);
/** tx_done_cleanup: free every frame the back-end has read; how many. */
int virtio_tx_done_cleanup(void *queue, uint32_t free_cnt);
/** Is [va, va + len) inside a region of the table sent last? */
bool virtio_mem_shared(const struct virtio_port *p, uint64_t va, uint64_t len);
/** Is all the memory of @p mp inside the table sent last? */
bool virtio_pool_shared(const struct virtio_port *p, const struct rte_mempool *mp);

/* virtio_ctrl.c */
/**
 * End the session (lock held): the vrings taken back (GET_VRING_BASE when
 * @p why is not NULL: the back-end is still there), their mbufs freed, the
 * socket closed; a front-end that connects tries again.
 */
void virtio_end(struct virtio_port *p, const char *why);
void *virtio_ctrl_thread(void *arg);
/** dev_start / dev_stop: the control thread sets the session up; stop tears it down. */
void virtio_session_start(struct virtio_port *p);
void virtio_session_stop(struct virtio_port *p);
void virtio_lock(struct virtio_port *p);
void virtio_unlock(struct virtio_port *p);

/* virtio_mem.c */
/**
 * Build the table (DPDK's segments, then the external regions) and send it
 * if it changed. Called under the session lock, with DPDK's memory
 * hotplug lock held (read or write). 0 or -errno (logged).
 */
int virtio_mem_update(struct virtio_port *p);
/** The regions DPDK's memory takes now (under the session lock), or -errno. */
int virtio_mem_dpdk_regions(struct virtio_port *p);
/** Does [va, va + len) overlap DPDK's memory? (Not under the session lock.) */
bool virtio_mem_is_dpdk(uint64_t va, uint64_t len);
int virtio_mem_cb_register(struct virtio_port *p);
void virtio_mem_cb_unregister(struct virtio_port *p);
/**
 * Ask the back-end for no calls (the bursts poll): the flag, or with event
 * index used_event just behind the used index, so a device calls only after
 * wrapping all the way round (VIRTIO 1.2 §2.7.10).
 */
void virtio_ring_quiet(struct virtio_ring *r);
int virtio_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid);
int virtio_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid);
/** Allocate / free the vrings' memory (queue setup / close). */
int virtio_ring_alloc(struct virtio_ring *r, uint16_t size, int socket);
void virtio_ring_free(struct virtio_ring *r);

#endif /* _PVB_VIRTIO_H_ */
