/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _NETVSC_H_
#define _NETVSC_H_

/*
 * net_pvb_netvsc: the guest (VSC) end of a netvsc channel. The guest owns
 * the memory: one region with the ring pair, the receive buffer and the
 * send buffer, shared with the host when the channel opens.
 *
 *   region:  [ tx ring | rx ring | receive buffer | send buffer ]
 *              g -> h    h -> g    GPADL 1          GPADL 2
 */

#include <pthread.h>
#include <stdint.h>

#include <ethdev_driver.h>
#include <rte_ether.h>

#include "pvb_chan.h"
#include "pvb_nvsp.h"
#include "pvb_nvchan.h"

#define NETVSC_MAX_BURST	64
#define NETVSC_NHOLD		1024	/* mbufs sent zero copy, waiting for the host */
#define NETVSC_GPADL_RX		1
#define NETVSC_GPADL_TX		2

/* What the transaction id of a guest send says, so its completion can be undone. */
#define NETVSC_COOKIE_SECTIONS	1ull	/* (count << 32) | first section */
#define NETVSC_COOKIE_HOLD	2ull	/* index of a held mbuf */
#define NETVSC_COOKIE(kind, hi, lo) (((kind) << 56) | ((uint64_t)(hi) << 32) | (lo))

struct netvsc_port;

struct netvsc_rxq {
	struct netvsc_port *port;
	struct rte_mempool *mp;
	pvb_counter_t packets, bytes, nombuf, zero_copy;
};

struct netvsc_txq {
	struct netvsc_port *port;
	pvb_counter_t packets, bytes, too_big, no_section, gpa, gpa_zero_copy;
};

struct netvsc_port {
	/* configuration (devargs) */
	char path[108];
	uint32_t ring_kb, rxbuf_mb, txbuf_mb, copybreak;
	bool zero_copy;
	bool mac_given;
	struct rte_ether_addr mac;
	uint16_t port_id;
	int socket_id;
	bool started;
	bool promisc, allmulti;

	/* control thread */
	pthread_t thread;
	bool thread_running;
	pvb_shared_u32 stop;
	struct pvb_chan_guest gc;
	uint64_t retry_at;		/* TSC of the next connect attempt */
	bool said_waiting;
	bool said_refused;
	uint32_t idle_gen;
	uint32_t idle_polls;		/* control-thread rounds without an rx burst */

	/* the channel */
	pvb_shared_u32 state;		/* enum nvchan_state */
	pvb_shared_u32 poll_gen;	/* bumped by every rx burst */
	pvb_shared_u32 link_up;
	struct nvchan *ch;
	struct pvb_vsc vsc;		/* in_lock holder */
	uint8_t *rxbuf, *sendbuf;
	uint64_t rxbuf_len, sendbuf_len;
	uint32_t mtu;			/* from the offer */
	/* rx (in_lock holder): a transfer-page packet split over two bursts */
	struct nvchan_rec *cur_rec;
	uint32_t cur_range;
	/* tx (out_lock holder) */
	struct pvb_nvsp_slots sect;
	uint32_t section_size, agg_max, agg_pkts, align;
	int64_t agg_sect;		/* section being filled, -1 none */
	uint32_t agg_off, agg_n;
	struct pvb_rndis_packet_msg tx_hdr;	/* data header template */
	struct rte_mbuf **hold;
	uint32_t *hold_free, nhold_free;

	struct nvchan_active act_flags[2];	/* rx, tx */
	pvb_shared_u32 broken;		/* a burst found a ring broken */
	struct pvb_vsc_action act;	/* control thread: the action being sent */
	bool have_act;
	uint64_t ctrl_deadline;		/* TSC by which the set-up must be done */
	struct nvchan_xsnap xsnap;	/* channel figures for xstats */
	struct netvsc_rxq rxq;
	struct netvsc_txq txq;
	pvb_counter_t ring_broken, protocol_errors, bad_completions, bad_packets;
	pvb_counter_t not_polled_drops, connects, disconnects;
};

/* netvsc_rxtx.c */
uint16_t netvsc_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t netvsc_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t netvsc_events(struct netvsc_port *p, enum nvchan_mode mode, struct rte_mempool *mp,
		       struct rte_mbuf **pkts, uint16_t n);
int netvsc_tx_setup(struct netvsc_port *p);
void netvsc_tx_free(struct netvsc_port *p);
int netvsc_send_ctl(struct netvsc_port *p, const struct pvb_vsc_action *a);

/* netvsc_ctrl.c */
void *netvsc_ctrl_thread(void *arg);
void netvsc_link_update_now(struct netvsc_port *p);
uint32_t netvsc_filter_wanted(const struct netvsc_port *p);

#endif /* _NETVSC_H_ */
