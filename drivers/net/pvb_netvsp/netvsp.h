/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _NETVSP_H_
#define _NETVSP_H_

/*
 * net_pvb_netvsp: the host (VSP) end of a netvsc channel. One port serves
 * one guest at a time on a unix socket; the guest brings the memory.
 */

#include <pthread.h>
#include <stdint.h>

#include <ethdev_driver.h>
#include <rte_ether.h>

#include "pvb_chan.h"
#include "pvb_nvsp.h"
#include "pvb_nvchan.h"

#define NETVSP_MAX_BURST	64

struct netvsp_port;

struct netvsp_rxq {
	struct netvsp_port *port;
	struct rte_mempool *mp;
	pvb_counter_t packets, bytes, nombuf, zero_copy;
};

struct netvsp_txq {
	struct netvsp_port *port;
	pvb_counter_t packets, bytes, errors, filtered, too_big, no_slot;
};

struct netvsp_port {
	/* configuration (devargs) */
	char path[108];
	uint8_t guest_mac[6];
	struct rte_ether_addr mac;	/* the port's own address */
	uint32_t mtu;
	uint32_t copybreak;
	uint32_t section_size;		/* send section size offered; 0: auto */
	uint16_t port_id;
	int socket_id;
	bool started;

	/* control thread */
	pthread_t thread;
	bool thread_running;
	pvb_shared_u32 stop;
	int lfd;
	uint32_t chan_seq;
	uint64_t refused;		/* guests turned away while one is connected */
	struct pvb_chan_host hc;
	uint32_t idle_gen;		/* poll_gen as the control thread last saw it */
	uint32_t idle_polls;		/* control-thread rounds without an rx burst */
	bool media_said;		/* the medium state the guest was last told */

	/* the channel: set up by the control thread, used by the bursts in DATA */
	pvb_shared_u32 state;		/* enum nvchan_state */
	pvb_shared_u32 poll_gen;	/* bumped by every rx burst */
	struct nvchan *ch;
	struct pvb_chan_open open;	/* the guest's GPADL table */
	struct pvb_vsp vsp;		/* in_lock holder */
	struct nvchan_rec *cur_rec;	/* in_lock holder: a guest packet split over bursts */
	uint32_t cur_off;
	pvb_shared_u32 rx_enabled;	/* guest accepts frames: written by in_lock holder */
	pvb_shared_u32 filter;		/* the VSP's packet filter, for the tx side */
	uint8_t *rxbuf, *sendbuf;	/* in the region; set when the VSP accepts them */
	uint64_t rxbuf_len, sendbuf_len;
	uint32_t align;			/* RNDIS message alignment we report */
	/* receive-buffer slots for host -> guest frames: out_lock holder */
	struct pvb_nvsp_slots slots;
	uint32_t *slot_next;		/* next slot of the same packet, UINT32_MAX at the end */
	uint32_t *slot_count;		/* slots of the packet whose first slot this is, else 0 */
	struct pvb_rndis_packet_msg tx_hdr;	/* data header template */

	struct nvchan_active act[2];	/* rx, tx */
	pvb_shared_u32 broken;		/* a burst found a ring broken */
	uint64_t ctrl_deadline;		/* TSC by which the guest must be set up */
	struct nvchan_xsnap xsnap;	/* channel figures for xstats */
	struct netvsp_rxq rxq;
	struct netvsp_txq txq;
	/* channel-level counters (xstats) */
	pvb_counter_t ring_broken, protocol_errors, bad_completions, bad_packets;
	pvb_counter_t not_polled_drops, connects, disconnects;
};

/* netvsp_rxtx.c */
uint16_t netvsp_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t netvsp_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t netvsp_events(struct netvsp_port *p, enum nvchan_mode mode, struct rte_mempool *mp,
		       struct rte_mbuf **pkts, uint16_t n);
int netvsp_slots_setup(struct netvsp_port *p);
/* Tell the guest the medium is (dis)connected: an RNDIS status indication. */
int netvsp_indicate_link(struct netvsp_port *p, bool up);
void netvsp_slots_free(struct netvsp_port *p);

/* netvsp_ctrl.c */
void *netvsp_ctrl_thread(void *arg);
void netvsp_link_update_now(struct netvsp_port *p);

#endif /* _NETVSP_H_ */
