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

/* The RSS hash a frame to the guest carries (type 0: none), and thus its channel. */
struct netvsp_hash {
	uint32_t hash;
	uint32_t type;			/* PVB_NDIS_HASH_* */
};

/* RSS as the guest set it, as the tx bursts read it (netvsp_rss.c). */
struct netvsp_rss {
	uint32_t types;			/* PVB_NDIS_HASH_* */
	uint8_t key[PVB_NDIS_RSS_KEY_SIZE];
	uint8_t table[PVB_NDIS_RSS_TABLE_N];	/* channel of hash % 128 */
};

/* One receive slot lent out as an mbuf's external buffer (netvsp_lend.c). */
struct netvsp_lent {
	struct rte_mbuf_ext_shared_info shinfo;	/* refcnt: the mbufs, + 1 while the guest has it */
	struct netvsp_lend *lend;
	uint32_t idx;
	uint8_t held;		/* sent to the guest, not completed: slot_lock holder */
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
	struct rte_ring *retq;		/* slots the mbuf frees gave back: MP, SC (slot_lock) */
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
	/*
	 * Receive-buffer slots for host -> guest frames, shared by every
	 * channel: slot_lock holder. slot_lock is the innermost lock (taken
	 * after a channel's out_lock, or after lend_lock) and is held for a
	 * burst's slots, never for a poll that found nothing.
	 */
	rte_spinlock_t slot_lock;
	struct pvb_nvsp_slots slots;
	uint32_t *slot_next;		/* next slot of the same packet, UINT32_MAX at the end */
	uint32_t *slot_count;		/* slots of the packet whose first slot this is, else 0 */
	struct pvb_rndis_packet_msg tx_hdr;	/* data header template */

	/*
	 * Lending (netvsp_lend.c): the published lend state of the current
	 * channel, NULL without one. Written under lend_lock then slot_lock;
	 * read by the slot pool under lend_lock and by slot_lock holders.
	 */
	rte_spinlock_t lend_lock;
	struct netvsp_lend *lend;
	struct rte_mempool *slot_pool;	/* created on demand, freed at close */
	uint64_t lend_gen;		/* channels lent so far */

	/*
	 * RSS (netvsp_rss.c): two copies, the bursts read rss[rss_cur - 1]
	 * (rss_cur 0: off). The in_lock holder of the primary writes the other
	 * copy and publishes it.
	 */
	struct netvsp_rss rss[2];
	pvb_shared_u32 rss_cur;		/* W: primary's in_lock holder; R: tx bursts */
	uint32_t rss_gen_seen;		/* the VSP's rss_gen last published */

	/* subchannels (control thread) */
	bool table_sent;		/* the send table of this channel set went out */
	uint32_t subch_offered;		/* the VSP's grant, as offered on the socket */

	/* side counters (xstats) */
	pvb_counter_t tx_filtered, tx_no_slot, ctl_reply_failed;
	pvb_counter_t subch_open;	/* subchannels open now */
	pvb_counter_t rss_updates;	/* RSS parameters the guest set */
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

/* netvsp_rxtx.c: guest -> host, and the guest's completions of our sends */
uint16_t netvsp_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
/* The control thread's poll of the incoming rings (bit i: channel i). */
void netvsp_ctrl_events(struct nvport *p, uint32_t which);
int netvsp_slots_setup(struct netvsp_port *v);
void netvsp_slots_free(struct netvsp_port *v);
/* One incoming ring packet (the tx burst takes completions on its way). */
int netvsp_packet(struct nvport_poll *e, const struct pvb_vmbus_pkt *pk);
/* The guest's completions of receive slots read from @p ch. */
void netvsp_slots_complete(struct nvport *base, struct nvchan *ch, const uint64_t *ids,
			   unsigned int n);

/* netvsp_tx.c: host -> guest */
uint16_t netvsp_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
/* An RNDIS control message to the guest, in a receive slot of its own. */
int netvsp_send_ctl(struct netvsp_port *v, const void *msg, uint32_t len);
/* NVSP 134 on the primary: the send table over the channels open. */
int netvsp_send_table(struct netvsp_port *v);
/* Tell the guest the medium is (dis)connected: an RNDIS status indication. */
int netvsp_indicate_link(struct netvsp_port *v, bool up);

/* netvsp_lend.c */
/*
 * Lending runs in three steps, so that no lock is held while DPDK's heap
 * grows or shrinks (its memory event callbacks wait for other PMDs' bursts,
 * which may be waiting for lend_lock in the slot pool): the state is
 * allocated with no lock held, published under lend_lock and slot_lock, and
 * after netvsp_lend_close() (same locks) the references it returns are
 * dropped with netvsp_lend_put() once they are released.
 */
/* The lend state for the slots just set up (no lock held): NULL without memory. */
struct netvsp_lend *netvsp_lend_alloc(struct netvsp_port *v);
/* Publish @p l for the channel whose receive buffer was just mapped (lend_lock, slot_lock). */
void netvsp_lend_open(struct netvsp_port *v, struct netvsp_lend *l);
/*
 * Stop lending (lend_lock, slot_lock held): the guest's holds are dropped, lent
 * slots stay valid. Returns the references of *@p out to put after unlocking.
 */
uint32_t netvsp_lend_close(struct netvsp_port *v, struct netvsp_lend **out);
/* Slots the mbuf frees gave back, into the allocator (slot_lock held). */
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

/* netvsp_rss.c */
/* The guest's RSS changed in the VSP: publish it to the tx bursts (primary's in_lock holder). */
void netvsp_rss_publish(struct netvsp_port *v);
/*
 * The channel of each of @p pkts[0..n) (< @p nchan) and its hash under
 * @p rss; frames without one (not IP, or a type not enabled) go on 0.
 */
void netvsp_rss_steer(const struct netvsp_rss *rss, uint32_t nchan, struct rte_mbuf **pkts,
		      uint16_t n, uint8_t *chan, struct netvsp_hash *hi);

/* The RSS the bursts steer by, NULL when the guest set none. */
static inline const struct netvsp_rss *
netvsp_rss_get(struct netvsp_port *v)
{
	/* pairs with the store-release in netvsp_rss_publish() */
	uint32_t c = pvb_load_acquire(&v->rss_cur);

	return c == 0 ? NULL : &v->rss[c - 1];
}

/* netvsp_ctrl.c */
void *netvsp_ctrl_thread(void *arg);

#endif /* _NETVSP_H_ */
