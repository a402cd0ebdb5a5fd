/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _NETVSP_H_
#define _NETVSP_H_

/*
 * net_pvb_netvsp: the host (VSP) end of a netvsc channel. One port serves
 * one guest at a time on a unix socket; the guest brings the memory. The
 * port base (drivers/common/nvport) does the rest of a port's life.
 */

#include <stdint.h>

#include "nvport.h"
#include "pvb_chan.h"
#include "pvb_nvsp.h"

#define NETVSP_MAX_BURST	64

struct netvsp_port {
	struct nvport base;		/* first: the port base */

	/* configuration (devargs) */
	struct rte_ether_addr guest_mac;
	uint32_t section_size;		/* send section size offered; 0: auto */

	/* control thread */
	int lfd;
	uint32_t chan_seq;
	uint64_t refused;		/* guests turned away while one is connected */
	struct pvb_chan_host hc;
	bool media_said;		/* the medium state the guest was last told */

	/* the channel */
	struct pvb_chan_open open;	/* the guest's GPADL table */
	struct pvb_vsp vsp;		/* in_lock holder */
	pvb_shared_u32 rx_enabled;	/* guest accepts frames: written by in_lock holder */
	pvb_shared_u32 filter;		/* the VSP's packet filter, for the tx side */
	/* receive-buffer slots for host -> guest frames: out_lock holder */
	struct pvb_nvsp_slots slots;
	uint32_t *slot_next;		/* next slot of the same packet, UINT32_MAX at the end */
	uint32_t *slot_count;		/* slots of the packet whose first slot this is, else 0 */
	struct pvb_rndis_packet_msg tx_hdr;	/* data header template */

	/* side counters (xstats) */
	pvb_counter_t tx_filtered, tx_no_slot, ctl_reply_failed;
};

static inline struct netvsp_port *
netvsp_port(struct nvport *p)
{
	return (struct netvsp_port *)p;
}

extern int netvsp_logtype;
extern const struct nvport_side netvsp_side;
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, netvsp_logtype, "net_pvb_netvsp: " fmt "\n", ##__VA_ARGS__)

/* netvsp_rxtx.c */
uint16_t netvsp_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t netvsp_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
/* The control thread's poll of the incoming ring. */
void netvsp_ctrl_events(struct nvport *p);
int netvsp_slots_setup(struct netvsp_port *v);
void netvsp_slots_free(struct netvsp_port *v);
/* Tell the guest the medium is (dis)connected: an RNDIS status indication. */
int netvsp_indicate_link(struct netvsp_port *v, bool up);

/* netvsp_ctrl.c */
void *netvsp_ctrl_thread(void *arg);

#endif /* _NETVSP_H_ */
