/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _NVPORT_H_
#define _NVPORT_H_

/**
 * @file
 * The port base of the two netvsc channel PMDs, net_pvb_netvsp (host) and
 * net_pvb_netvsc (guest). What both ends share is here, once: the port's
 * life cycle (devargs, probe, control thread, secondary processes), its
 * state and counters, the ethdev operations and xstats, rx interrupts, the
 * hand-over of the rings between the control thread and the bursts, and the
 * events loop that consumes the incoming ring. A side supplies only what
 * differs, in a struct nvport_side: its devargs, its control thread, its
 * packet handler and its flush (inlined into its own bursts).
 *
 * A side's port struct starts with a struct nvport (its first member).
 *
 * Queues. Queue pair q is channel q: the primary for 0, subchannel q
 * after it (NVSP 133, lib/chan SUBOFFER), up to the `queues` devarg. A
 * queue whose channel the peer did not grant stays idle. Each queue has
 * its own burst presence (act[2q] rx, act[2q + 1] tx), counters and rx
 * interrupt set; each channel its own ring locks.
 *
 * The bursts and the control thread. The control thread sets the channel up
 * (CTRL) and then hands the rings to the bursts (DATA); to take them back it
 * moves the state away from DATA and waits until no burst is inside
 * (nvport_quiesce()), by the hand-over every pvbridge PMD uses
 * (pvb_handover.h): the bursts pay no fence, and an empty poll is two
 * stores to a line of its own, a load of the state (read-mostly) and one
 * acquire load of the peer's write index (nvchan_idle()).
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <ethdev_driver.h>
#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_kvargs.h>

#include "nvchan.h"
#include "pvb_ethdev.h"
#include "pvb_handover.h"
#include "pvb_swol.h"

struct rte_vdev_device;

/** Where a port's channel is. The bursts touch the rings only in NVPORT_DATA. */
enum nvport_state {
	NVPORT_DOWN = 0,	/**< no channel */
	NVPORT_CTRL,		/**< open; the control thread runs NVSP/RNDIS set-up */
	NVPORT_DATA,		/**< set up: the bursts own the rings */
};

/** What a poll of the incoming ring does with data frames. */
enum nvport_mode {
	NVPORT_DELIVER,		/**< rx burst: frames go to the application */
	NVPORT_STOP_AT_DATA,	/**< tx burst: completions only, frames stay for rx */
	NVPORT_DROP,		/**< nobody receives: frames are completed unread */
};

#define NVPORT_EVENT_BUDGET	256	/* ring packets per poll */
#define NVPORT_MAX_QUEUES	8	/* queue pairs (channels) of a port, the `queues` devarg */

struct nvport;

/* Each queue's counters on lines of their own: the rx and tx lcores may differ. */
struct nvport_rxq {
	struct nvport *port;
	struct rte_mempool *mp;
	uint16_t qid;
	pvb_counter_t packets, bytes, nombuf, zero_copy, zero_copy_bytes;
} __rte_cache_aligned;

struct nvport_txq {
	struct nvport *port;
	uint16_t qid;
	pvb_counter_t packets, bytes, too_big;
	pvb_counter_t ref_packets, ref_bytes;	/* of packets/bytes: sent in place, not copied */
	/* offloads the peer does not take, done in software (tx burst only) */
	struct pvb_swol swol;
	pvb_counter_t sw_cksum, sw_gso, sw_gso_segs, sw_failed;
} __rte_cache_aligned;

/** A side's own xstat: a pvb_counter_t at @p off in its port struct. */
struct nvport_xstat {
	const char *name;
	size_t off;
};

/** What a side brings to the port base. */
struct nvport_side {
	const char *drv;		/**< vdev driver name */
	int *logtype;			/**< the driver's log type */
	const char *thread;		/**< control thread name */
	size_t port_size;		/**< its port struct, a struct nvport first */
	const char *const *args;	/**< devarg keys, NULL-terminated */
	/** Side devargs and set-up at probe (primary); 0 or -errno, logged. */
	int (*parse)(struct nvport *p, struct rte_kvargs *kv, const char *name);
	void *(*ctrl_thread)(void *port);
	/** After the control thread is gone (close): release what parse took. */
	void (*shutdown)(struct nvport *p);
	eth_rx_burst_t rx_burst;
	eth_tx_burst_t tx_burst;
	/** Largest MTU the port allows now. */
	uint32_t (*max_mtu)(const struct nvport *p);
	int (*promisc)(struct nvport *p, bool on);
	uint64_t tx_offloads;
	bool rss;			/**< the side takes rss_conf and a RETA (the guest) */
	const struct nvport_xstat *xstats;	/**< its counters, after the common ones */
	unsigned int nxstats;
	const char *in_use_name;	/**< "receive_slots_in_use" or "send_sections_in_use" */
};

struct nvport {
	/* configuration */
	char path[108];
	struct rte_ether_addr mac;
	uint32_t mtu;			/* the channel's MTU; 0: not known yet */
	uint32_t copybreak;
	uint16_t port_id;
	int socket_id;
	bool started;
	uint32_t nb_queues;		/* the `queues` devarg: channels asked for / granted at most */

	/* RSS the application set (a side with rss): read by the control thread */
	struct {
		uint64_t hf;		/* RTE_ETH_RSS_* */
		uint8_t key[40];
		uint16_t reta[128];	/* rx queue of each hash % 128 */
		bool on;		/* RSS mq mode with more than one rx queue */
		pvb_shared_u32 gen;	/* bumped by every change; W: ethdev calls */
		pvb_counter_t changes;	/* the same count, for xstats (rss_changes) */
		pvb_counter_t applied;	/* the change the peer last took (the side's) */
	} rss;

	/* control thread */
	struct pvb_ctrl ctrl;
	uint32_t idle_epoch[NVPORT_MAX_QUEUES];	/* each rx epoch as the control thread saw it */
	uint32_t idle_polls[NVPORT_MAX_QUEUES];	/* control-thread rounds without its rx burst */
	uint64_t ctrl_deadline;		/* TSC by which the set-up must be done */

	/* the channel: set up by the control thread, read by the bursts in DATA */
	pvb_shared_u32 state __rte_cache_aligned;	/* enum nvport_state; W: control thread */
	struct nvchan *ch;		/* the primary: chs[0] */
	struct nvchan *chs[NVPORT_MAX_QUEUES];	/* channel q, NULL: not granted (yet) */
	uint32_t nchan;			/* channels in chs: 1 + subchannels open */
	uint8_t *rxbuf, *sendbuf;	/* in the region */
	uint64_t rxbuf_len, sendbuf_len;
	pvb_shared_u32 broken __rte_cache_aligned;	/* a burst found a ring broken */
	struct nvchan_xsnap xsnap;	/* channel figures for xstats */

	/* rx interrupts: an epoll set of the doorbell and a private wake-up */
	int intr_ep[NVPORT_MAX_QUEUES];	/* each queue's event fd as DPDK sees it */
	int intr_self[NVPORT_MAX_QUEUES];	/* eventfds only this process holds */

	struct pvb_active act[2 * NVPORT_MAX_QUEUES];	/* rx q at 2q, tx q at 2q + 1 */
	struct nvport_rxq rxq[NVPORT_MAX_QUEUES];
	struct nvport_txq txq[NVPORT_MAX_QUEUES];
	pvb_counter_t ring_broken, protocol_errors, bad_completions, bad_packets;
	pvb_counter_t not_polled_drops, connects, disconnects;
	pvb_counter_t rx_offload_bad;	/* offload requests that failed their checks */
	uint64_t ol_log_next;		/* TSC before which no offload failure is logged */
};

/** Log with the side's log type; @p fmt has no newline. */
#define NVPORT_LOG(side, level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, *(side)->logtype, fmt "\n", ##__VA_ARGS__)

/* ---- the bursts ------------------------------------------------------------- */

/** Enter a burst of queue @p a: true if the channel is in DATA (else nothing held). */
static __rte_always_inline bool
nvport_enter(struct pvb_active *a, const pvb_shared_u32 *state)
{
	return pvb_handover_enter(a, state, NVPORT_DATA);
}

static __rte_always_inline void
nvport_leave(struct pvb_active *a)
{
	pvb_handover_leave(a);
}

/** The state of a poll of the incoming ring. */
struct nvport_poll {
	struct nvport *p;
	struct nvchan *ch;		/* the channel polled */
	struct nvport_rxq *q;		/* its rx queue (counters) */
	enum nvport_mode mode;
	struct rte_mempool *mp;
	struct rte_mbuf **pkts;
	uint16_t n, got;
	uint64_t bytes;		/* of the frames in pkts, counted once per poll */
	uint32_t zero_copy;	/* of them handed over zero copy */
	uint64_t zero_copy_bytes;
	struct nvchan_mbufs cache;
	uint64_t comps[NVPORT_EVENT_BUDGET];	/* peer completions of our sends */
	unsigned int ncomp;
};

/** A side's handler of one ring packet: 0, -EAGAIN (leave it for later), -EPIPE. */
typedef int (*nvport_packet_fn)(struct nvport_poll *e, const struct pvb_vmbus_pkt *pk);
/** A side's handling of the peer's completions of our sends @p ids on @p ch (out_lock held). */
typedef void (*nvport_complete_fn)(struct nvport *p, struct nvchan *ch, const uint64_t *ids,
				   unsigned int n);
/** A side's last work before @p ch's outgoing ring is committed (out_lock held), or NULL. */
typedef void (*nvport_tail_fn)(struct nvport *p, struct nvchan *ch);

/**
 * Consume the incoming ring (a trylock: another poller inside means nothing
 * to do here), then write what is owed to the peer and commit. Inlined into
 * each side's bursts with its own handlers, so the hot loop calls them
 * directly. Returns the frames put in @p pkts.
 */
static __rte_always_inline uint16_t
nvport_events(struct nvport *p, struct nvchan *ch, struct nvport_rxq *q, enum nvport_mode mode,
	      struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t n, nvport_packet_fn packet,
	      nvport_complete_fn complete, nvport_tail_fn tail)
{
	/* not zero-initialised: the arrays are large and filled from their counts */
	struct nvport_poll e;
	struct pvb_vmbus_pkt pk;
	unsigned int budget;
	int rc;

	if (!rte_spinlock_trylock(&ch->in_lock))
		return 0;
	/* the control thread leaves a busy port alone: the next round looks again */
	if (mode == NVPORT_DROP && rte_spinlock_is_locked(&ch->out_lock)) {
		rte_spinlock_unlock(&ch->in_lock);
		return 0;
	}
	e.p = p;
	e.ch = ch;
	e.q = q;
	e.mode = mode;
	e.mp = mp;
	e.pkts = pkts;
	e.n = n;
	e.got = 0;
	e.bytes = 0;
	e.zero_copy = 0;
	e.zero_copy_bytes = 0;
	e.ncomp = 0;
	e.cache.n = 0;
	e.cache.i = 0;
	for (budget = 0; budget < NVPORT_EVENT_BUDGET; budget++) {
		rc = pvb_vmbus_in_peek(&ch->in, &pk);
		if (rc == 0)
			rc = packet(&e, &pk);
		if (rc == -EAGAIN)
			break;
		if (rc == -EPIPE || pvb_vmbus_in_broken(&ch->in)) {
			/* relaxed: a flag for the control thread, which tears down */
			pvb_store_relaxed(&p->broken, 1);
			break;
		}
		pvb_vmbus_in_consume(&ch->in, &pk);
	}
	pvb_vmbus_in_commit(&ch->in);
	nvchan_mbufs_release(&e.cache);
	if (e.got > 0) {
		/* single writer: only the queue's rx burst delivers */
		pvb_counter_add1w(&q->packets, e.got);
		pvb_counter_add1w(&q->bytes, e.bytes);
		pvb_counter_add1w(&q->zero_copy, e.zero_copy);
		pvb_counter_add1w(&q->zero_copy_bytes, e.zero_copy_bytes);
	}
	if (mode == NVPORT_DROP)
		nvchan_lock_yield(&ch->out_lock);
	else
		rte_spinlock_lock(&ch->out_lock);
	if (e.ncomp > 0)
		complete(p, ch, e.comps, e.ncomp);
	if (tail != NULL)
		tail(p, ch);
	nvchan_comp_flush(ch);
	/* the peer unmasked (it sleeps): wake it; never blocks */
	if (pvb_vmbus_out_commit(&ch->out))
		nvchan_signal(ch);
	rte_spinlock_unlock(&ch->out_lock);
	rte_spinlock_unlock(&ch->in_lock);
	return e.got;
}

/** The rx burst shape of both sides: enter, idle check, events, leave. */
static __rte_always_inline uint16_t
nvport_rx(struct nvport_rxq *q, struct rte_mbuf **pkts, uint16_t n, nvport_packet_fn packet,
	  nvport_complete_fn complete, nvport_tail_fn tail)
{
	struct nvport *p = q->port;
	struct pvb_active *a = &p->act[2 * q->qid];
	struct nvchan *ch;
	uint16_t got = 0;

	if (!nvport_enter(a, &p->state))
		return 0;
	/* a queue whose channel the peer did not grant stays idle */
	ch = p->chs[q->qid];
	if (ch != NULL && !nvchan_idle(ch))
		got = nvport_events(p, ch, q, NVPORT_DELIVER, q->mp, pkts, n, packet, complete,
				    tail);
	nvport_leave(a);
	return got;
}

/**
 * The record of the peer packet being parsed: the one a full burst left
 * (resume at ch->cur_pos), or a new one for @p trans_id. NULL when every
 * record is out with the application: leave the packet for later.
 */
static __rte_always_inline struct nvchan_rec *
nvport_rec(struct nvchan *ch, uint64_t trans_id)
{
	if (ch->cur_rec == NULL) {
		ch->cur_rec = nvchan_rec_get(ch, trans_id);
		ch->cur_pos = 0;
	}
	return ch->cur_rec;
}

/** The packet is parsed: its completion is owed once its mbufs are freed. */
static __rte_always_inline void
nvport_rec_parsed(struct nvchan *ch)
{
	nvchan_rec_parsed(ch->cur_rec);
	ch->cur_rec = NULL;
}

/** Count a frame delivered to the application. */
static __rte_always_inline void
nvport_rx_count(struct nvport_poll *e, struct rte_mbuf *m, uint32_t len)
{
	m->port = e->p->port_id;
	e->bytes += len;
	e->pkts[e->got++] = m;
}

/**
 * One frame of @p len bytes at @p src in the peer's memory into an mbuf:
 * attached to record @p r (zero copy) when @p zero_copy, else copied.
 * NULL (counted) when the pool is dry.
 */
struct rte_mbuf *nvport_rx_frame(struct nvport_poll *e, struct nvchan_rec *r, uint8_t *msg,
				 uint32_t off, uint32_t len, bool zero_copy);

/**
 * Define a side's rx burst (PREFIX_rx_burst) and its control thread's poll
 * (PREFIX_ctrl_events) from its handlers, so both inline them into the one
 * events loop above.
 */
#define NVPORT_EVENTS_DEFINE(prefix, packet, complete, tail)				\
uint16_t										\
prefix ## _rx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)			\
{											\
	return nvport_rx(queue, pkts, n, packet, complete, tail);			\
}											\
void											\
prefix ## _ctrl_events(struct nvport *p, uint32_t which)				\
{											\
	uint32_t i;									\
											\
	for (i = 0; i < p->nchan; i++)							\
		if ((which & (1u << i)) && !nvchan_idle(p->chs[i]))			\
			nvport_events(p, p->chs[i], &p->rxq[i], NVPORT_DROP, NULL, NULL, 0,	\
				      packet, complete, tail);				\
}

/* ---- the control thread (nvport_ctrl.c) -------------------------------------- */

/** Publish @p state to the bursts (a store-release: what was set up before is seen). */
void nvport_set_state(struct nvport *p, enum nvport_state state);

/** Move the state to @p to and wait until no burst is inside. */
void nvport_quiesce(struct nvport *p, enum nvport_state to);

/**
 * The channels (bit i: channel i) whose rx queue nobody polled for a second
 * (all when the port is stopped): the thread must poll them.
 */
uint32_t nvport_unpolled(struct nvport *p);

/** Every channel open (for _ctrl_events()). */
#define NVPORT_ALL_CHANNELS	UINT32_MAX

/**
 * Channel @p ch becomes channel @p idx (1 .. nb_queues - 1) of the port:
 * its doorbell joins rx queue idx's interrupt set. Not in DATA.
 */
void nvport_add_channel(struct nvport *p, uint32_t idx, struct nvchan *ch);

/** The channel a tx queue @p qid writes when the peer decides nothing: qid's, else by modulo. */
static __rte_always_inline struct nvchan *
nvport_tx_chan(const struct nvport *p, uint16_t qid)
{
	return p->chs[qid < p->nchan ? qid : qid % p->nchan];
}

/**
 * The channel must close: the side's state machine failed (@p why, else
 * NULL), or a burst or a ring end found a ring broken (quiesced, logged
 * once, counted). The caller closes it.
 */
bool nvport_must_close(struct nvport *p, const char *why, const char *peer);

/** Set-up not done: let the peer signal us, and wait for it or @p sock (20 ms at most). */
void nvport_ctrl_wait(struct nvport *p, int sock);

/** Set-up done: the bursts own the rings and poll them, the peer need not signal. */
void nvport_go_data(struct nvport *p);

/** Common teardown once quiesced to DOWN: drop the record in progress and the channel. */
void nvport_drop_channel(struct nvport *p);

/** Arm a set-up deadline @p seconds from now. */
void nvport_deadline_in(struct nvport *p, unsigned int seconds);
bool nvport_deadline_passed(const struct nvport *p);

/** Link follows the channel: up when in DATA and @p up. */
void nvport_link_update(struct nvport *p, bool up);

/* ---- probe and devargs (nvport_ethdev.c) -------------------------------------- */

/** Probe a port of @p side on @p vdev: primary or secondary. */
int nvport_probe(struct rte_vdev_device *vdev, const struct nvport_side *side);
int nvport_remove(struct rte_vdev_device *vdev);

/** The side of @p port_id, as this process probed it. */
const struct nvport_side *nvport_side_of(uint16_t port_id);

/* ---- rx interrupts (nvport_intr.c) ------------------------------------------------ */

/** The doorbell of channel @p idx joins its rx queue's event set. */
int nvport_intr_attach(struct nvport *p, uint32_t idx);
/** Wake sleepers on every rx interrupt (the channels came up: they must poll again). */
void nvport_intr_wake(struct nvport *p);
/** The channels' doorbells leave the event sets (before the channels are dropped). */
void nvport_intr_detach(struct nvport *p);
int nvport_intr_setup(struct rte_eth_dev *dev);
void nvport_intr_free(struct rte_eth_dev *dev);
int nvport_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid);
int nvport_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid);

#endif /* _NVPORT_H_ */
