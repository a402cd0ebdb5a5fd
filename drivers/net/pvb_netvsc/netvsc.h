/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _NETVSC_H_
#define _NETVSC_H_

/*
 * net_pvb_netvsc: the guest (VSC) end of a netvsc channel. The guest owns
 * the memory: one region with the ring pair, the receive buffer and the
 * send buffer, shared with the host when the channel opens. The port base
 * (drivers/common/nvport) does the rest of a port's life.
 *
 *   region:  [ tx ring | rx ring | receive buffer | send buffer ]
 *              g -> h    h -> g    GPADL 1          GPADL 2
 *
 * With queues=N the guest asks for N - 1 subchannels once RNDIS is up; each
 * granted one is a region of its own with just [ tx ring | rx ring ].
 */

#include <stdint.h>

#include "nvport.h"
#include "pvb_chan.h"
#include "pvb_nvsp.h"

#define NETVSC_MAX_BURST	64
#define NETVSC_NHOLD		1024	/* mbufs sent zero copy, waiting for the host */
#define NETVSC_GPADL_RX		1
#define NETVSC_GPADL_TX		2

/* What the transaction id of a guest send says, so its completion can be undone. */
#define NETVSC_COOKIE_SECTIONS	1ull	/* (count << 32) | first section */
#define NETVSC_COOKIE_HOLD	2ull	/* index of a held mbuf */
#define NETVSC_COOKIE(kind, hi, lo) (((kind) << 56) | ((uint64_t)(hi) << 32) | (lo))

struct netvsc_port {
	struct nvport base;		/* first: the port base */

	/* configuration (devargs) */
	uint32_t ring_kb, rxbuf_mb, txbuf_mb;
	bool zero_copy;
	bool offload;			/* ask the host for every offload it offers */
	bool mac_given;
	struct rte_ether_addr offer_mac;	/* the host's MAC we last applied */
	bool promisc;

	/* control thread */
	struct pvb_chan_guest gc;
	uint64_t retry_at;		/* TSC of the next connect attempt */
	bool said_waiting;
	bool said_refused;
	struct pvb_vsc_action act;	/* the action being sent */
	bool have_act;

	/* subchannels (control thread) */
	struct nvchan *sub_pending[NVPORT_MAX_QUEUES];	/* opened, waiting for the result */
	bool subs_expected;		/* the grant was handed to lib/chan */
	uint32_t rss_gen_sent;		/* the port's rss.gen last handed to the VSC */

	/* the channel */
	pvb_shared_u32 link_up;		/* the host's medium indication */
	pvb_shared_u32 ofl;		/* PVB_OFL_* enabled; W: control thread before DATA */
	struct pvb_vsc vsc;		/* in_lock holder */
	/*
	 * tx. The send sections and the held mbufs are the port's, shared by
	 * every channel: sect_lock holder (the innermost lock, taken after a
	 * channel's out_lock, once per burst). Each channel aggregates into a
	 * section of its own: its out_lock holder.
	 */
	rte_spinlock_t sect_lock;
	struct pvb_nvsp_slots sect;
	uint32_t section_size, agg_max, agg_pkts, align;
	struct {
		int64_t sect;		/* section being filled, -1 none */
		uint32_t off, n;
	} agg[NVPORT_MAX_QUEUES];
	struct pvb_rndis_packet_msg tx_hdr;	/* data header template */
	struct rte_mbuf **hold;
	uint32_t *hold_free, nhold_free;
	uint32_t send_table[PVB_NVSP_INDIRECTION_COUNT];	/* the host's (NVSP 134) */

	/* side counters (xstats) */
	pvb_counter_t tx_no_section, tx_gpa, tx_gpa_zero_copy;
	pvb_counter_t rx_large;		/* large TCP frames received (the host's RSC) */
	pvb_counter_t subch_granted;	/* subchannels the host granted */
	pvb_counter_t subch_missing;	/* subchannels asked for and not granted */
	pvb_counter_t send_tables;	/* send indirection tables received */
	pvb_counter_t rss_refused;	/* RSS settings the host refused */
};

static inline struct netvsc_port *
netvsc_port(struct nvport *p)
{
	return (struct netvsc_port *)p;
}

extern int netvsc_logtype;
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, netvsc_logtype, "net_pvb_netvsc: " fmt "\n", ##__VA_ARGS__)

/* netvsc_rxtx.c */
uint16_t netvsc_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t netvsc_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
/* The control thread's poll of the incoming rings (bit i: channel i). */
void netvsc_ctrl_events(struct nvport *p, uint32_t which);
int netvsc_tx_setup(struct netvsc_port *g);
void netvsc_tx_free(struct netvsc_port *g);
int netvsc_send_ctl(struct netvsc_port *g, const struct pvb_vsc_action *a);

/* netvsc_ctrl.c */
void *netvsc_ctrl_thread(void *arg);
uint32_t netvsc_filter_wanted(const struct netvsc_port *g);

#endif /* _NETVSC_H_ */
