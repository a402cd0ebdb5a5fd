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

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "nvport.h"
#include "pvb_chan.h"
#include "pvb_nvsp.h"

#define NETVSP_MAX_BURST	64
#define NETVSP_CTL_SLOTS	16	/* receive slots only control replies use (as OpenVMM) */

struct netvsp_lend;

/* One receive slot lent out as an mbuf's external buffer (netvsp_lend.c). */
struct netvsp_lent {
	struct rte_mbuf_ext_shared_info shinfo;	/* refcnt: the mbufs, + 1 while the guest has it */
	struct netvsp_lend *lend;
	uint32_t idx;
	uint8_t held;		/* sent to the guest, not completed: out_lock holder */
};

/*
 * The receive slots of one guest channel as the slot pool lends them. It
 * lives while the channel does or any slot is out: each lent slot holds a
 * reference, and it holds the channel (the region stays mapped).
 */
struct netvsp_lend {
	pvb_refcnt_t refcnt;		/* the port's while published, + one per slot out */
	struct nvchan *ch;		/* a reference */
	uint8_t *rxbuf;
	uint32_t slot_size, n;
	uint64_t gen;			/* the channel's number, for the region API */
	struct rte_ring *retq;		/* slots the mbuf frees gave back: MP, SC (out_lock) */
	struct netvsp_lent slot[];
};

struct netvsp_port {
	struct nvport base;		/* first: the port base */

	/* configuration (devargs) */
	struct rte_ether_addr guest_mac;
	uint32_t section_size;		/* send section size offered; 0: auto */
	uint32_t share;			/* 1: the region is shared on (unlocked, plain pages) */

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
	pvb_shared_u32 offload;		/* PVB_OFL_* the guest enabled: both sides read it */
	/* receive-buffer slots for host -> guest frames: out_lock holder */
	struct pvb_nvsp_slots slots;
	uint32_t *slot_next;		/* next slot of the same packet, UINT32_MAX at the end */
	uint32_t *slot_count;		/* slots of the packet whose first slot this is, else 0 */
	struct pvb_rndis_packet_msg tx_hdr;	/* data header template */

	/*
	 * Lending (netvsp_lend.c): the published lend state of the current
	 * channel, NULL without one. Written under lend_lock then out_lock;
	 * read by the slot pool under lend_lock and by out_lock holders.
	 */
	rte_spinlock_t lend_lock;
	struct netvsp_lend *lend;
	struct rte_mempool *slot_pool;	/* created on demand, freed at close */
	uint64_t lend_gen;		/* channels lent so far */

	/* side counters (xstats) */
	pvb_counter_t tx_filtered, tx_no_slot, ctl_reply_failed;
	pvb_counter_t tx_large;		/* TCP frames sent whole to a guest that enabled RSC */
	pvb_counter_t open_refused;	/* guests' OPENs refused (control thread) */
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

/* netvsp_lend.c */
/*
 * Lending runs in three steps, so that no lock is held while DPDK's heap
 * grows or shrinks (its memory event callbacks wait for other PMDs' bursts,
 * which may be waiting for lend_lock in the slot pool): the state is
 * allocated with no lock held, published under lend_lock and out_lock, and
 * after netvsp_lend_close() (same locks) the references it returns are
 * dropped with netvsp_lend_put() once they are released.
 */
/* The lend state for the slots just set up (no lock held): NULL without memory. */
struct netvsp_lend *netvsp_lend_alloc(struct netvsp_port *v);
/* Publish @p l for the channel whose receive buffer was just mapped (lend_lock, out_lock). */
void netvsp_lend_open(struct netvsp_port *v, struct netvsp_lend *l);
/*
 * Stop lending (lend_lock, out_lock held): the guest's holds are dropped, lent
 * slots stay valid. Returns the references of *@p out to put after unlocking.
 */
uint32_t netvsp_lend_close(struct netvsp_port *v, struct netvsp_lend **out);
/* Slots the mbuf frees gave back, into the allocator (out_lock held). */
void netvsp_lend_reclaim(struct netvsp_port *v, struct netvsp_lend *l);
/* Drop @p k references of @p l; the last frees it. */
void netvsp_lend_put(struct netvsp_lend *l, uint32_t k);
void netvsp_lend_shutdown(struct netvsp_port *v);

/* The slot of @p l that @p m's buffer is, or NULL. */
static inline struct netvsp_lent *
netvsp_lent_of(const struct netvsp_lend *l, const struct rte_mbuf *m)
{
	uintptr_t off;

	if (l == NULL || !RTE_MBUF_HAS_EXTBUF(m))
		return NULL;
	off = (uintptr_t)m->shinfo - (uintptr_t)&l->slot[0].shinfo;
	if (off >= (uintptr_t)l->n * sizeof(l->slot[0]) || off % sizeof(l->slot[0]) != 0)
		return NULL;
	return &((struct netvsp_lend *)(uintptr_t)l)->slot[off / sizeof(l->slot[0])];
}

/* netvsp_ctrl.c */
void *netvsp_ctrl_thread(void *arg);

#endif /* _NETVSP_H_ */
