/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _NVCHAN_H_
#define _NVCHAN_H_

/**
 * @file
 * One open netvsc channel, as both ends of it see it: the guest's region,
 * the VMBus ring pair inside it, the doorbell, and the zero-copy records
 * that tie external-buffer mbufs to the completion the peer is owed.
 *
 * Ownership and locking. A VMBus ring direction has exactly one producer and
 * one consumer, but a port touches its rings from the rx burst, the tx burst
 * and its control thread. So:
 *  - in_lock: held by whoever consumes the incoming ring (trylock: a second
 *    poller skips, it does not wait); it also owns the record free stack;
 *  - out_lock: held by whoever writes the outgoing ring, and by the owner of
 *    the slot or section allocator (their frees come from completions read
 *    in the incoming ring: taken in the order in_lock, then out_lock).
 * Neither is taken by a poll that finds nothing to do (nvchan_idle()).
 *
 * Lifetime. The channel is reference counted: the port holds one reference
 * while the peer is connected, and every armed record holds one until the
 * last mbuf attached to it is freed, on whatever thread frees it. So the
 * region stays mapped while an application still holds mbufs pointing into
 * it, even after the peer died, and is unmapped by the last free.
 *
 * Subchannels. A port with several queues has one channel per queue pair:
 * the primary (the guest's region with the buffers) and subchannels, each a
 * small region of its own with just a ring pair. The frames a subchannel
 * carries sit in the primary's buffers, so a subchannel holds a reference
 * to the primary (parent) for as long as it lives.
 */

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "pvb_nvsp.h"
#include "pvb_ordering.h"
#include "pvb_shm.h"
#include "pvb_vmbus.h"

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
	int bell;			/* our end of the doorbell socket pair */
	/* zero-copy records */
	uint32_t nrec;
	struct nvchan_rec *rec;
	uint32_t *rec_free;		/* free stack: in_lock holder */
	uint32_t rec_nfree;
	struct rte_ring *compq;		/* records whose mbufs are all freed: MP, SC */
	uint32_t *stash;		/* completions not written yet: in_lock holder */
	pvb_shared_u32 nstash;		/* W: in_lock holder; R: nvchan_idle() */
	pvb_counter_t signals;		/* doorbells rung */
	pvb_counter_t comp_ring_full;	/* completions delayed for lack of ring space */
	/* the in_lock holder's: a peer packet split over bursts */
	struct nvchan_rec *cur_rec;	/* its record */
	uint32_t cur_pos;		/* where in it the next burst resumes */
	uint32_t idx;			/* 0: the primary; else the subchannel's index (queue) */
	struct nvchan *parent;		/* a subchannel's reference to the primary, else NULL */
};

/**
 * A channel with @p nrec records, holding one reference (the caller's),
 * rings not attached yet. NULL with rte_errno set.
 */
struct nvchan *nvchan_new(uint32_t nrec, int socket_id);

/**
 * Attach the ring ends inside ch->shm: the incoming ring at @p in_off and
 * the outgoing one at @p out_off (control page + data each). 0 or -errno.
 */
int nvchan_attach_rings(struct nvchan *ch, uint64_t in_off, uint32_t in_size,
			uint64_t out_off, uint32_t out_size);

/** Make @p ch subchannel @p idx of @p primary (takes a reference to it). */
void nvchan_set_parent(struct nvchan *ch, struct nvchan *primary, uint32_t idx);

/** Drop a reference; the last one unmaps and frees everything. */
void nvchan_put(struct nvchan *ch);

/** The peer is gone: completions are no longer written (records still free). */
void nvchan_kill(struct nvchan *ch);

/**
 * Nothing to do for a poll: the peer wrote nothing we have not consumed and
 * no completion waits to be written. One acquire load of the peer's write
 * index (its read_index neighbour sits on the same line) plus our own
 * completion queue, which stays in the poller's cache when the application
 * frees on the polling lcore. Racy by design: a false "busy" costs one
 * locked look, a false "idle" is corrected by the next poll.
 */
static inline bool
nvchan_idle(const struct nvchan *ch)
{
	const struct pvb_vmbus_ctl *c = ch->in.m.ctl;

	/* pairs with the peer's store-release of write_index (its ring commit) */
	if (pvb_load_acquire(&c->write_index) != pvb_load_relaxed(&c->read_index))
		return false;
	/* relaxed: a hint; the completions themselves are read under in_lock */
	return pvb_load_relaxed(&ch->nstash) == 0 && rte_ring_empty(ch->compq);
}

/** A free record armed to complete @p trans_id (in_lock held), or NULL. */
struct nvchan_rec *nvchan_rec_get(struct nvchan *ch, uint64_t trans_id);

/** Attach bytes [buf + off, buf + off + len) to @p m as an external buffer of @p r. */
void nvchan_rec_attach(struct nvchan_rec *r, struct rte_mbuf *m, uint8_t *buf, uint16_t off,
		       uint16_t len);

/** The parser is done with @p r: completes now if no mbuf was attached. */
void nvchan_rec_parsed(struct nvchan_rec *r);

/**
 * Write the NVSP completions (108) of finished records (in_lock and
 * out_lock held); those that find the ring full stay, in order, for the
 * next call. Returns how many were written.
 */
unsigned int nvchan_comp_flush(struct nvchan *ch);

/**
 * Take @p l from the control thread: a burst holding it may share our core,
 * so give it the CPU instead of spinning away its time slice.
 */
static inline void
nvchan_lock_yield(rte_spinlock_t *l)
{
	while (!rte_spinlock_trylock(l))
		sched_yield();
}

/**
 * Ask for the line of @p p in a writable state ahead of our stores to it
 * (PREFETCHW: the peer's reads left it shared or in its cache, and the
 * store would wait for that line to come over; a CPU without it takes it
 * as a no-op). A hint: never faults.
 */
static inline void
nvchan_prefetch_w(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("prefetchw %0" : : "m" (*(const uint8_t *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

/**
 * Copy frame bytes: libc's memcpy for small copies (it dispatches at run
 * time to the CPU's widest moves, where rte_memcpy is built for the
 * baseline DPDK was compiled for, and measured ~1.6x faster at 64 bytes
 * here), rte_memcpy for large ones (as fast or faster from 1 KB on).
 */
static inline void
nvchan_copy(void *dst, const void *src, uint32_t len)
{
	if (len <= 256)
		memcpy(dst, src, len);
	else
		rte_memcpy(dst, src, len);
}

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

/**
 * Ring the peer's doorbell. Never blocks: the socket end is ours alone and
 * every call says MSG_DONTWAIT, so a peer that stops reading costs nothing.
 */
void nvchan_signal(struct nvchan *ch);

/** Wait up to @p ms for our doorbell or @p fd (-1: none) to be readable; drains the bell. */
void nvchan_wait(struct nvchan *ch, int fd, int ms);

/** Channel figures for xstats, published by the control thread. */
struct nvchan_xsnap {
	pvb_counter_t pending;		/**< records out with the application */
	pvb_counter_t in_use;		/**< slots or sections waiting for the peer */
	pvb_counter_t signals;
	pvb_counter_t ring_full;
};

#define NVCHAN_XSNAP_N	4

/**
 * Take the snapshot of channels @p chs[0..n) (summed) and allocator @p s
 * under each channel's ring locks (skipped if a burst holds one), so the
 * ethdev thread never touches a channel that may be going away.
 */
void nvchan_xsnap_take(struct nvchan *const *chs, unsigned int n,
		       const struct pvb_nvsp_slots *s, struct nvchan_xsnap *x);
/** The channel is gone: nothing pending, nothing in use. */
void nvchan_xsnap_clear(struct nvchan_xsnap *x);
/** The NVCHAN_XSNAP_N values, in field order. */
void nvchan_xsnap_read(const struct nvchan_xsnap *x, uint64_t *v);

#endif /* _NVCHAN_H_ */
