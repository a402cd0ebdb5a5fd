/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_NVCHAN_H_
#define _PVB_NVCHAN_H_

/**
 * @file
 * What the two netvsc PMDs share: one open channel (the guest's region, the
 * ring pair inside it, doorbells) and the zero-copy records that tie
 * external-buffer mbufs to the completion the peer is owed.
 *
 * Ownership and locking. A VMBus ring direction has exactly one producer and
 * one consumer, but a port touches its rings from the rx burst, the tx burst
 * and its control thread. So:
 *  - in_lock: held by whoever consumes the incoming ring (trylock: a second
 *    poller skips, it does not wait); it also owns the record free stack;
 *  - out_lock: held by whoever writes the outgoing ring, and by the owner of
 *    the slot or section allocator (their frees come from completions read
 *    in the incoming ring: taken in the order in_lock, then out_lock).
 * With testpmd's usual one lcore per port both locks are uncontended.
 *
 * Lifetime. The channel is reference counted: the port holds one reference
 * while the peer is connected, and every armed record holds one until the
 * last mbuf attached to it is freed, on whatever thread frees it. So the
 * region stays mapped while an application still holds mbufs pointing into
 * it, even after the peer died, and is unmapped by the last free.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "pvb_nvsp.h"
#include "pvb_ordering.h"
#include "pvb_shm.h"
#include "pvb_vmbus.h"

/** Where a channel is. The datapath runs only in NVCHAN_DATA. */
enum nvchan_state {
	NVCHAN_DOWN = 0,	/**< no channel */
	NVCHAN_CTRL,		/**< open; the control thread runs NVSP/RNDIS set-up */
	NVCHAN_DATA,		/**< set up: the bursts own the rings */
};

/** What a poll of the incoming ring does with data frames. */
enum nvchan_mode {
	NVCHAN_DELIVER,		/**< rx burst: frames go to the application */
	NVCHAN_STOP_AT_DATA,	/**< tx burst: completions only, frames stay for rx */
	NVCHAN_DROP,		/**< nobody receives: frames are completed unread */
};

struct nvchan;

/** A zero-copy record: one peer packet whose bytes back one or more mbufs. */
struct nvchan_rec {
	struct rte_mbuf_ext_shared_info shinfo;	/* refcnt: parser + attached mbufs */
	struct nvchan *ch;
	uint64_t trans_id;		/* the completion owed to the peer */
	uint32_t idx;
	uint32_t status;		/* NVSP status to complete with */
};

struct nvchan {
	pvb_refcnt_t refcnt;
	pvb_shared_u32 dead;		/* 1: the peer is gone, owe it nothing */
	struct pvb_shm shm;		/* the guest's region */
	struct pvb_vmbus_in in;		/* consumer: in_lock holder */
	struct pvb_vmbus_out out;	/* producer: out_lock holder */
	rte_spinlock_t in_lock;
	rte_spinlock_t out_lock;
	int bell_peer;			/* eventfd we write to wake the peer */
	int bell_self;			/* eventfd the peer writes to wake us */
	/* zero-copy records */
	uint32_t nrec;
	struct nvchan_rec *rec;
	uint32_t *rec_free;		/* free stack: in_lock holder */
	uint32_t rec_nfree;
	struct rte_ring *compq;		/* records whose mbufs are all freed: MP, SC */
	uint32_t *stash;		/* dequeued, completion not written yet (ring full) */
	uint32_t nstash;
	pvb_counter_t signals;		/* doorbells rung */
	pvb_counter_t comp_ring_full;	/* completions delayed for lack of ring space */
};

/**
 * A channel with @p nrec records, holding one reference (the caller's),
 * rings not attached yet. NULL with rte_errno set.
 */
struct nvchan *nvchan_new(const char *name, uint32_t nrec, int socket_id);

/**
 * Attach the ring ends inside ch->shm: the incoming ring at @p in_off and
 * the outgoing one at @p out_off (control page + data each). 0 or -errno.
 */
int nvchan_attach_rings(struct nvchan *ch, uint64_t in_off, uint32_t in_size,
			uint64_t out_off, uint32_t out_size);

/** Drop a reference; the last one unmaps and frees everything. */
void nvchan_put(struct nvchan *ch);

/** The peer is gone: completions are no longer written (records still free). */
void nvchan_kill(struct nvchan *ch);

/** A free record armed to complete @p trans_id (in_lock held), or NULL. */
struct nvchan_rec *nvchan_rec_get(struct nvchan *ch, uint64_t trans_id);

/** Attach bytes [buf + off, buf + off + len) to @p m as an external buffer of @p r. */
void nvchan_rec_attach(struct nvchan_rec *r, struct rte_mbuf *m, uint8_t *buf, uint16_t off,
		       uint16_t len);

/** The parser is done with @p r: completes now if no mbuf was attached. */
void nvchan_rec_parsed(struct nvchan_rec *r);

/**
 * Write the completions of finished records (in_lock and out_lock held),
 * calling @p write for each: it returns 0, or -EAGAIN when the ring is full
 * (the rest stay for the next call). Returns how many were written.
 */
unsigned int nvchan_comp_flush(struct nvchan *ch,
			       int (*write)(struct nvchan *ch, const struct nvchan_rec *r));

/** Records out with the application (for xstats). */
static inline uint32_t
nvchan_rec_outstanding(const struct nvchan *ch)
{
	return ch->nrec - ch->rec_nfree;
}

/** mbufs allocated in bulk for one poll. */
struct nvchan_mbufs {
	struct rte_mbuf *m[64];
	unsigned int n, i;
};

/** The next mbuf, refilling with up to @p want (>= 1) at once; NULL if the pool is dry. */
static inline struct rte_mbuf *
nvchan_mbuf(struct nvchan_mbufs *c, struct rte_mempool *mp, unsigned int want)
{
	if (c->i == c->n) {
		want = RTE_MAX(1u, RTE_MIN(want, (unsigned int)RTE_DIM(c->m)));
		if (rte_pktmbuf_alloc_bulk(mp, c->m, want) != 0)
			return NULL;
		c->n = want;
		c->i = 0;
	}
	return c->m[c->i++];
}

/** Give back what a poll did not use. */
static inline void
nvchan_mbufs_release(struct nvchan_mbufs *c)
{
	if (c->i < c->n)
		rte_pktmbuf_free_bulk(c->m + c->i, c->n - c->i);
	c->n = c->i = 0;
}

/**
 * Copy @p len bytes of a frame into mbufs from @p c: one, or a chain when
 * the frame is larger than an mbuf's data room. NULL if the pool is dry.
 */
struct rte_mbuf *nvchan_copy_frame(struct nvchan_mbufs *c, struct rte_mempool *mp,
				   unsigned int want, const uint8_t *src, uint32_t len);

/** Ring the peer's doorbell. */
void nvchan_signal(struct nvchan *ch);

/** Wait up to @p ms for our doorbell or @p fd (-1: none) to be readable; drains the bell. */
void nvchan_wait(struct nvchan *ch, int fd, int ms);

/** Write NVSP 108 (status) as the completion of @p trans_id; 0 or -EAGAIN. */
int nvchan_write_rndis_comp(struct nvchan *ch, uint64_t trans_id, uint32_t status);

/* ---- quiescence between the bursts and the control thread ----------------- */

/** A burst function's presence flag, one per queue, on its own cache line. */
struct nvchan_active {
	pvb_shared_u32 active;
} __rte_cache_aligned;

/**
 * Enter a burst: announce, then look at the state (Dekker with
 * nvchan_quiesce(): seq_cst both sides). True if the channel is in DATA;
 * else the flag is already dropped.
 */
static inline bool
nvchan_enter(struct nvchan_active *a, const pvb_shared_u32 *state)
{
	pvb_store_seqcst(&a->active, 1);
	if (pvb_load_seqcst(state) == NVCHAN_DATA)
		return true;
	/* pairs with the load-acquire in nvchan_quiesce(): we touched nothing */
	pvb_store_release(&a->active, 0);
	return false;
}

static inline void
nvchan_leave(struct nvchan_active *a)
{
	/* pairs with the load-acquire in nvchan_quiesce(): our ring work is done */
	pvb_store_release(&a->active, 0);
}

/** Move @p state to @p to and wait until no burst of @p a[0..n) is inside. */
void nvchan_quiesce(pvb_shared_u32 *state, uint32_t to, struct nvchan_active *a, unsigned int n);

/* ---- what both ports' control paths and ethdev ops share ------------------ */

/** Channel figures for xstats, published by the control thread. */
struct nvchan_xsnap {
	pvb_counter_t pending;		/**< records out with the application */
	pvb_counter_t in_use;		/**< slots or sections waiting for the peer */
	pvb_counter_t signals;
	pvb_counter_t ring_full;
};

#define NVCHAN_XSNAP_N	4

/**
 * Take the snapshot under the ring locks (skipped if a burst holds in_lock),
 * so the ethdev thread never touches a channel that may be going away.
 */
void nvchan_xsnap_take(struct nvchan *ch, const struct pvb_nvsp_slots *s,
		       struct nvchan_xsnap *x);
/** The channel is gone: nothing pending, nothing in use. */
void nvchan_xsnap_clear(struct nvchan_xsnap *x);
/** The NVCHAN_XSNAP_N values, in field order. */
void nvchan_xsnap_read(const struct nvchan_xsnap *x, uint64_t *v);

/** Set the port's link (10G full duplex) and raise LSC when it changed. */
void nvchan_link_set(uint16_t port_id, bool up);

/** Zero a statistics counter (a reset races with counting, as on any NIC). */
void nvchan_counter_zero(pvb_counter_t *c);

/** Copy @p count xstats names into @p names (up to @p n); returns @p count. */
int nvchan_xstats_names(struct rte_eth_xstat_name *names, unsigned int n,
			const char *const *table, unsigned int count);

/** The queues live in the port: nothing to release. */
void nvchan_queue_release(struct rte_eth_dev *dev, uint16_t qid);

/** rte_kvargs handlers: path into a char[108] (1..107 bytes), MAC into uint8_t[6]. */
int nvchan_kv_path(const char *key, const char *v, void *arg);
int nvchan_kv_mac(const char *key, const char *v, void *arg);

/** Parse "aa:bb:cc:dd:ee:ff"; 0 or -EINVAL. */
int nvchan_parse_mac(const char *s, uint8_t mac[6]);

/** Parse an unsigned decimal in [min, max]; 0 or -EINVAL. */
int nvchan_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *v);

#endif /* _PVB_NVCHAN_H_ */
