/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VHOST_H_
#define _PVB_VHOST_H_

/*
 * net_pvb_vhost: the virtio-net device as a DPDK vdev, the back-end of a
 * vhost-user connection (lib/vhost_user) whose front-end is QEMU (a guest's
 * own virtio-net driver), DPDK's net_virtio_user, or net_pvb_virtio.
 *
 * Queue q of the port is the front-end's pair q: the rx burst pops the
 * guest's transmit vring (2q + 1), the tx burst fills its receive vring
 * (2q). A control thread per port owns the socket: it accepts (or, with
 * client=1, connects and reconnects), feeds each message to the back-end
 * state machine, and hands the vrings to the bursts by the hand-over every
 * pvbridge PMD uses (pvb_handover.h): before a message that changes what
 * the bursts read (memory table, vring, fds, features) it takes the vrings
 * back and waits for every burst to leave; afterwards it gives back those
 * that are ready. Frames are copied both ways: the guest's memory is never
 * lent out, so a front-end can go at any time and no mbuf outlives it.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <ethdev_driver.h>
#include <rte_ether.h>
#include <rte_log.h>

#include "pvb_ethdev.h"
#include "pvb_handover.h"
#include "pvb_rxintr.h"
#include "pvb_swol.h"
#include "pvb_vhost_user.h"
#include "pvb_vnet_mbuf.h"

extern int vhost_logtype;
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vhost_logtype, "net_pvb_vhost: " fmt "\n", ##__VA_ARGS__)

#define VHOST_MAX_QUEUES	PVB_VU_MAX_QUEUE_PAIRS
#define VHOST_USED_BATCH	256	/* used elements written per publish, at most */
#define VHOST_MAX_MTU		9702	/* a 9728-byte frame with its Ethernet and VLAN headers */
#define VHOST_MAX_FRAME		(VHOST_MAX_MTU + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)
/* a GSO frame: two VLAN tags, an IPv6 header and 64 KB of IPv6 payload at most */
#define VHOST_MAX_GSO_FRAME	(RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN + 40 + UINT16_MAX)

/** The port state the bursts read: the vrings are theirs only in VHOST_RUN. */
enum vhost_state {
	VHOST_DOWN = 0,		/* no front-end, or the control thread holds the vrings */
	VHOST_RUN,		/* the ready vrings are the bursts' */
};

struct vhost_port;

/* The guest's transmit vring: our rx queue. */
struct vhost_rxq {
	struct vhost_port *p;
	struct pvb_virtq_dev *vq;	/* set by the control thread; NULL: not ready */
	int call_fd;			/* -1: the driver polls */
	uint32_t hdr_len;
	uint32_t accept;		/* PVB_VNET_ACCEPT_*: what the acked CSUM/HOST_TSO* allow */
	uint16_t qid;
	struct rte_mempool *mp;
	pvb_counter_t packets, bytes, nombuf, bad_chains, bad_headers, notifications, kicks;
	/* offload requests taken (as mbuf TX flags) and refused, per reason (enum pvb_vnet_bad) */
	pvb_counter_t ol_csum, ol_tso, ol_bad[PVB_VNET_BAD_MAX];
	uint64_t log_last;
	struct pvb_virtq_used_elem used[VHOST_USED_BATCH];
	struct pvb_virtq_chain chain;
} __rte_cache_aligned;

/* The guest's receive vring: our tx queue. */
struct vhost_txq {
	struct vhost_port *p;
	struct pvb_virtq_dev *vq;
	int call_fd;
	uint32_t hdr_len;
	bool mrg_rxbuf;
	bool data_valid;		/* GUEST_CSUM: a verified frame goes with DATA_VALID */
	uint32_t accept;		/* PVB_VNET_ACCEPT_*: what the acked GUEST_* take */
	uint64_t ol_mask;		/* ol_flags that leave the plain path */
	uint16_t qid;
	pvb_counter_t packets, bytes, no_buffers, too_big, bad_chains, notifications;
	/* expressed in the header; done in software; refused (headers not matching) */
	pvb_counter_t ol_csum, ol_tso, ol_data_valid, sw_cksum, sw_gso, sw_gso_segs, sw_vlan,
		      ol_bad;
	uint64_t log_last;
	struct pvb_swol swol;		/* made at queue setup */
	/* what pvb_swol_apply() made of a frame, sent before the next frames */
	struct rte_mbuf *pend[PVB_SWOL_MAX_SEGS];
	uint16_t pend_n, pend_next;
	struct pvb_virtq_used_elem used[VHOST_USED_BATCH];
	struct pvb_virtq_chain first, chain;	/* a frame's first buffer, the one being filled */
} __rte_cache_aligned;

struct vhost_port {
	/* configuration (devargs) */
	char iface[108];
	bool client;
	uint16_t queues;
	uint16_t mtu;
	struct rte_ether_addr mac;
	bool offload;			/* offer CSUM, GUEST_CSUM, HOST_TSO*, GUEST_TSO* */
	uint16_t port_id;
	bool started;

	/* control thread */
	struct pvb_ctrl ctrl;
	int listen_fd, conn_fd;
	bool waiting_logged;

	/* what the bursts read */
	pvb_shared_u32 state __rte_cache_aligned;	/* enum vhost_state; W: control thread */
	pvb_shared_u32 broken;		/* W: a burst found a vring broken; R: control thread */
	struct pvb_active act[2 * VHOST_MAX_QUEUES];	/* rx queues, then tx queues */
	struct vhost_rxq rxq[VHOST_MAX_QUEUES];
	struct vhost_txq txq[VHOST_MAX_QUEUES];

	/* rx interrupts: the guest's kick fd of its transmit vring, per queue */
	struct pvb_rxintr intr;

	/* port counters (the control thread's) */
	pvb_counter_t ring_broken, bad_messages, connects, reconnects, disconnects;

	struct pvb_vu_backend be;	/* the session; the control thread's */
};

/* vhost_rxtx.c */
uint16_t vhost_rx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t vhost_tx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n);
/** Free the frames software offload made and the tx queue has not sent (queue release, close). */
void vhost_tx_pending_free(struct vhost_txq *q);

/* vhost_ctrl.c */
void *vhost_ctrl_thread(void *arg);
/** client=0: listen on iface (a leftover socket file is replaced). 0 or -errno, logged. */
int vhost_listen(struct vhost_port *p);
/** The features and protocol features the device offers. */
void vhost_backend_cfg(const struct vhost_port *p, struct pvb_vu_backend_cfg *cfg);

/* vhost_intr.c */
int vhost_intr_setup(struct rte_eth_dev *dev);
void vhost_intr_free(struct rte_eth_dev *dev);
int vhost_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid);
int vhost_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid);
/** The vrings were given to the bursts or taken back: re-attach the kick fds, wake sleepers. */
void vhost_intr_rebind(struct vhost_port *p);
void vhost_intr_unbind(struct vhost_port *p);

#endif /* _PVB_VHOST_H_ */
