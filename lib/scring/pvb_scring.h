/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_SCRING_H_
#define _PVB_SCRING_H_

/**
 * @file
 * scring: a single-producer/single-consumer submission ring and completion
 * ring sharing one caller-provided memory area (heap, rte_memzone, or a memfd
 * mapped by two processes). See pvb_scring_wire.h for the layout and
 * doc/scring.md for the contract.
 *
 * Two ends attach to a formatted area:
 *  - the producer end submits entries and reaps completions;
 *  - the consumer end consumes submissions and completes them.
 * Each end is private memory owned by one thread; the area is shared.
 *
 * Fast-path calls return a count (>= 0) or PVB_SCRING_BROKEN once the peer
 * has published an impossible index. A peer index is read (and checked) only
 * when the end's cached copy cannot satisfy a call, so corruption is noticed
 * at the first call that needs the peer's progress, not necessarily the next. A broken end stays broken: every later
 * call returns PVB_SCRING_BROKEN and touches no shared memory.
 * "bulk" calls move all @p n entries or none; "burst" calls move as many as
 * fit (possibly 0).
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pvb_scring_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Fast-path return for a ring whose peer broke the protocol. */
#define PVB_SCRING_BROKEN (-EPIPE)

/** Why an end stopped. */
enum pvb_scring_fault {
	PVB_SCRING_OK = 0,
	PVB_SCRING_FAULT_SUBMIT_TAIL,	/**< consumer's submit_tail outside [last seen, head] */
	PVB_SCRING_FAULT_SUBMIT_HEAD,	/**< producer's submit_head implies > size or fewer entries */
	PVB_SCRING_FAULT_COMPLETE_TAIL,	/**< producer's complete_tail outside [last seen, head] */
	PVB_SCRING_FAULT_COMPLETE_HEAD,	/**< consumer's complete_head implies > size or fewer entries */
	PVB_SCRING_FAULT_DETACHED,	/**< attach failed: the end has no ring */
};

/** Geometry of a new area. */
struct pvb_scring_params {
	uint32_t sub_size;	/**< submission entries, power of two, <= PVB_SCRING_MAX_ENTRIES */
	uint32_t cmp_size;	/**< completion entries, power of two, <= PVB_SCRING_MAX_ENTRIES */
	uint16_t sub_esize;	/**< 8 or 16 */
	uint16_t cmp_esize;	/**< 8 or 16 */
	uint32_t start_index;	/**< initial value of all four indices (tests start near 2^32) */
};

/* Private state of one direction, seen from the side that writes entries. */
struct pvb_scring__wr {
	uint8_t *ents;			/* entry array in the shared area */
	pvb_shared_u32 *head_p;		/* our index: we publish it */
	pvb_shared_u32 *tail_p;		/* the peer's index: untrusted */
	pvb_shared_u32 *wait_p;		/* the peer's wait word */
	uint32_t head;			/* what we published; never re-read */
	uint32_t tail_cache;		/* the peer's tail as last seen and checked */
	uint32_t size;
	uint32_t mask;
	uint32_t esize;
	enum pvb_scring_fault fault_code; /* recorded if the peer's tail is bad */
};

/* Private state of one direction, seen from the side that reads entries. */
struct pvb_scring__rd {
	const uint8_t *ents;
	pvb_shared_u32 *head_p;		/* the peer's index: untrusted */
	pvb_shared_u32 *tail_p;		/* our index: we publish it */
	pvb_shared_u32 *wait_p;		/* our wait word */
	uint32_t tail;			/* what we published; never re-read */
	uint32_t head_cache;		/* the peer's head as last seen and checked */
	uint32_t size;
	uint32_t mask;
	uint32_t esize;
	enum pvb_scring_fault fault_code;
};

/* Common part of both ends. */
struct pvb_scring__end {
	struct pvb_scring__wr out;	/* producer: submissions; consumer: completions */
	struct pvb_scring__rd in;	/* producer: completions; consumer: submissions */
	enum pvb_scring_fault fault;	/* first fault seen; nonzero = broken */
	struct pvb_scring_hdr *hdr;
	uint64_t area_size;
};

/** The producer end: submits entries, reaps completions. */
struct pvb_scring_prod {
	struct pvb_scring__end e;
};

/** The consumer end: consumes submissions, completes them. */
struct pvb_scring_cons {
	struct pvb_scring__end e;
};

/** Snapshot of an end, for stats and debugging. Reads shared indices relaxed. */
struct pvb_scring_info {
	uint32_t submit_head, submit_tail, complete_head, complete_tail; /* shared values now */
	uint32_t sub_size, cmp_size;
	uint32_t sub_used;	/**< submissions in flight, from this end's private view */
	uint32_t cmp_used;	/**< completions in flight, from this end's private view */
	enum pvb_scring_fault fault;
};

/**
 * Bytes an area with these parameters needs, or 0 if the parameters are
 * invalid (errno = EINVAL).
 */
size_t pvb_scring_area_size(const struct pvb_scring_params *p);

/**
 * Lay out an empty ring pair in @p area (@p len bytes, 64-byte aligned).
 * Call once, before any end attaches.
 * @return 0, or -EINVAL (bad parameters or alignment), -ENOSPC (area too small).
 */
int pvb_scring_format(void *area, size_t len, const struct pvb_scring_params *p);

/**
 * Attach the producer (or consumer) end to a formatted area of @p len bytes.
 * Everything read from the area is validated; on error @p err (if not NULL)
 * receives a one-line reason.
 * Until it succeeds the end is broken (PVB_SCRING_FAULT_DETACHED): a caller
 * that ignores the error gets PVB_SCRING_BROKEN from every call.
 * @return 0, or -EINVAL (NULL end, NULL or misaligned area), -EPROTO (bad
 *   magic, sizes, offsets, or inconsistent indices), -EPROTONOSUPPORT (version
 *   or flags), -ENOSPC (@p len is smaller than the header, or the header
 *   describes more than @p len bytes).
 */
int pvb_scring_attach_prod(struct pvb_scring_prod *p, void *area, size_t len,
			   char *err, size_t errlen);
int pvb_scring_attach_cons(struct pvb_scring_cons *c, void *area, size_t len,
			   char *err, size_t errlen);

/** Name of a fault, for logs. */
const char *pvb_scring_fault_str(enum pvb_scring_fault f);

/** Ends marked broken in this process since start (all rings). */
uint64_t pvb_scring_broken_total(void);

/**
 * Where pvb_scring reports a newly broken end (once per end). The default
 * writes one line to stderr; NULL silences it.
 */
void pvb_scring_set_fault_log(void (*fn)(const char *ring_role, enum pvb_scring_fault f));

void pvb_scring_prod_info(const struct pvb_scring_prod *p, struct pvb_scring_info *i);
void pvb_scring_cons_info(const struct pvb_scring_cons *c, struct pvb_scring_info *i);

/* Cold path: record a fault (called by the inline functions below). */
int pvb_scring__fault(struct pvb_scring__end *e, enum pvb_scring_fault f);

/* ----------------------------------------------------------------------------
 * Fast path. Entries are @c esize bytes each, copied from/to the caller's array.
 */

/*
 * Entries are copied as 8-byte words (an entry is 1 or 2 words), so one loop
 * serves both entry sizes and the compiler sees no fixed-size access.
 *
 *   slot            size-1 | 0          n-first-1
 *    [ first entries ... ] | [ the rest ... ]      (split at the wrap)
 */
/*
 * GCC 12 inlines these into callers that pass one 8-byte entry and, not
 * knowing esize, warns about the 16-byte case that cannot happen there.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
static inline void
pvb_scring__copy_in(uint8_t *ents, uint32_t mask, uint32_t esize, uint32_t idx,
		    const void *objs, uint32_t n)
{
	const uint8_t *src = (const uint8_t *)objs;
	uint32_t wpe = esize / 8;			/* words per entry */
	uint32_t slot = idx & mask;
	uint32_t first = mask + 1 - slot;		/* entries before the wrap */
	uint8_t *dst = ents + (size_t)slot * esize;
	uint32_t w, head_words, words = n * wpe;

	if (first > n)
		first = n;
	head_words = first * wpe;
	for (w = 0; w < head_words; w++)
		memcpy(dst + (size_t)w * 8, src + (size_t)w * 8, 8);
	for (; w < words; w++)
		memcpy(ents + (size_t)(w - head_words) * 8, src + (size_t)w * 8, 8);
}

static inline void
pvb_scring__copy_out(const uint8_t *ents, uint32_t mask, uint32_t esize, uint32_t idx,
		     void *objs, uint32_t n)
{
	uint8_t *dst = (uint8_t *)objs;
	uint32_t wpe = esize / 8;
	uint32_t slot = idx & mask;
	uint32_t first = mask + 1 - slot;
	const uint8_t *src = ents + (size_t)slot * esize;
	uint32_t w, head_words, words = n * wpe;

	if (first > n)
		first = n;
	head_words = first * wpe;
	for (w = 0; w < head_words; w++)
		memcpy(dst + (size_t)w * 8, src + (size_t)w * 8, 8);
	for (; w < words; w++)
		memcpy(dst + (size_t)w * 8, ents + (size_t)(w - head_words) * 8, 8);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/*
 * Free slots for the writer, refreshing the cached peer tail only when the
 * cache cannot satisfy @p want. Returns PVB_SCRING_BROKEN on a bad tail.
 */
static inline int64_t
pvb_scring__wr_free(struct pvb_scring__end *e, struct pvb_scring__wr *w, uint32_t want)
{
	uint32_t free_slots = w->size - (w->head - w->tail_cache);
	uint32_t tail;

	if (free_slots >= want)
		return free_slots;
	/*
	 * Pairs with the store-release of the tail in pvb_scring__rd_release():
	 * the reader finished reading slots below the tail before publishing it,
	 * so they are ours to overwrite.
	 */
	tail = pvb_load_acquire(w->tail_p);
	/* the tail may only move forward, and never past what we published */
	if (__builtin_expect(tail - w->tail_cache > w->head - w->tail_cache, 0))
		return pvb_scring__fault(e, w->fault_code);
	w->tail_cache = tail;
	return w->size - (w->head - tail);
}

static inline int
pvb_scring__write(struct pvb_scring__end *e, struct pvb_scring__wr *w, const void *objs,
		  uint32_t n, bool bulk)
{
	int64_t avail;

	if (__builtin_expect(e->fault != PVB_SCRING_OK, 0))
		return PVB_SCRING_BROKEN;
	avail = pvb_scring__wr_free(e, w, n);
	if (__builtin_expect(avail < 0, 0))
		return PVB_SCRING_BROKEN;
	if ((uint32_t)avail < n) {
		if (bulk)
			return 0;
		n = (uint32_t)avail;
	}
	if (n == 0)
		return 0;
	pvb_scring__copy_in(w->ents, w->mask, w->esize, w->head, objs, n);
	w->head += n;
	/*
	 * Pairs with the load-acquire of the head in pvb_scring__rd_avail(): the
	 * entries written above are visible before the head that covers them.
	 */
	pvb_store_release(w->head_p, w->head);
	return (int)n;
}

/*
 * Entries ready for the reader, refreshing the cached peer head only when the
 * cache cannot satisfy @p want.
 */
static inline int64_t
pvb_scring__rd_avail(struct pvb_scring__end *e, struct pvb_scring__rd *r, uint32_t want)
{
	uint32_t avail = r->head_cache - r->tail;
	uint32_t head, used;

	if (avail >= want)
		return avail;
	/*
	 * Start fetching the next entry's line now, so that when the head shows
	 * it is written, its transfer overlaps the head's instead of following.
	 * The peer wrote that line before the head (or will), so a stale copy is
	 * simply invalidated again; the slot address is ours, never the peer's.
	 */
	__builtin_prefetch(r->ents + (size_t)(r->tail & r->mask) * r->esize, 0, 3);
	/*
	 * Pairs with the store-release of the head in pvb_scring__write(): the
	 * entries below the head we load are fully written.
	 */
	head = pvb_load_acquire(r->head_p);
	used = head - r->tail;
	/* the head may only move forward, and never more than size ahead of us */
	if (__builtin_expect(used > r->size || used < avail, 0))
		return pvb_scring__fault(e, r->fault_code);
	r->head_cache = head;
	return used;
}

static inline void
pvb_scring__rd_release(struct pvb_scring__rd *r, uint32_t n)
{
	r->tail += n;
	/*
	 * Pairs with the load-acquire of the tail in pvb_scring__wr_free(): our
	 * reads of the released slots complete before the writer may reuse them.
	 */
	pvb_store_release(r->tail_p, r->tail);
}

static inline int
pvb_scring__read(struct pvb_scring__end *e, struct pvb_scring__rd *r, void *objs,
		 uint32_t n, bool bulk)
{
	int64_t avail;

	if (__builtin_expect(e->fault != PVB_SCRING_OK, 0))
		return PVB_SCRING_BROKEN;
	avail = pvb_scring__rd_avail(e, r, n);
	if (__builtin_expect(avail < 0, 0))
		return PVB_SCRING_BROKEN;
	if ((uint32_t)avail < n) {
		if (bulk)
			return 0;
		n = (uint32_t)avail;
	}
	if (n == 0)
		return 0;
	pvb_scring__copy_out(r->ents, r->mask, r->esize, r->tail, objs, n);
	pvb_scring__rd_release(r, n);
	return (int)n;
}

/*
 * Adaptive idle, reader side: announce that we are about to sleep, then
 * re-check. Returns > 0 if entries arrived meanwhile (do not sleep),
 * 0 if the caller may sleep until signalled, or PVB_SCRING_BROKEN.
 */
static inline int
pvb_scring__rd_prepare_wait(struct pvb_scring__end *e, struct pvb_scring__rd *r)
{
	int64_t avail;

	if (e->fault != PVB_SCRING_OK)
		return PVB_SCRING_BROKEN;
	/* relaxed: the fence below orders it before the re-check */
	pvb_store_relaxed(r->wait_p, 1);
	/* pairs with the fence in pvb_scring__wr_need_signal(): store wait, then load head */
	pvb_fence_full();
	avail = pvb_scring__rd_avail(e, r, UINT32_MAX);
	if (avail < 0) {
		/* relaxed: we stop here; the peer need not signal a broken ring */
		pvb_store_relaxed(r->wait_p, 0);
		return PVB_SCRING_BROKEN;
	}
	return avail > 0;
}

static inline void
pvb_scring__rd_end_wait(const struct pvb_scring__end *e, struct pvb_scring__rd *r)
{
	if (e->fault != PVB_SCRING_OK)
		return;	/* a broken end touches no shared memory */
	/* relaxed: a stale 1 only costs the peer one spurious signal */
	pvb_store_relaxed(r->wait_p, 0);
}

static inline bool
pvb_scring__wr_need_signal(const struct pvb_scring__end *e, const struct pvb_scring__wr *w)
{
	if (e->fault != PVB_SCRING_OK)
		return false;
	/* pairs with the fence in pvb_scring__rd_prepare_wait(): store head, then load wait */
	pvb_fence_full();
	/* relaxed: ordered by the fence above; the value is only a hint */
	return pvb_load_relaxed(w->wait_p) != 0;
}

/** Submit all @p n entries or none. @return n, 0, or PVB_SCRING_BROKEN. */
static inline int
pvb_scring_submit_bulk(struct pvb_scring_prod *p, const void *objs, unsigned int n)
{
	return pvb_scring__write(&p->e, &p->e.out, objs, n, true);
}

/** Submit as many of @p n entries as fit. @return count, or PVB_SCRING_BROKEN. */
static inline int
pvb_scring_submit_burst(struct pvb_scring_prod *p, const void *objs, unsigned int n)
{
	return pvb_scring__write(&p->e, &p->e.out, objs, n, false);
}

/** Reap exactly @p n completions or none. */
static inline int
pvb_scring_reap_bulk(struct pvb_scring_prod *p, void *objs, unsigned int n)
{
	return pvb_scring__read(&p->e, &p->e.in, objs, n, true);
}

/** Reap up to @p n completions. */
static inline int
pvb_scring_reap_burst(struct pvb_scring_prod *p, void *objs, unsigned int n)
{
	return pvb_scring__read(&p->e, &p->e.in, objs, n, false);
}

/** Consume exactly @p n submissions or none. */
static inline int
pvb_scring_consume_bulk(struct pvb_scring_cons *c, void *objs, unsigned int n)
{
	return pvb_scring__read(&c->e, &c->e.in, objs, n, true);
}

/** Consume up to @p n submissions. */
static inline int
pvb_scring_consume_burst(struct pvb_scring_cons *c, void *objs, unsigned int n)
{
	return pvb_scring__read(&c->e, &c->e.in, objs, n, false);
}

/** Complete all @p n entries or none. */
static inline int
pvb_scring_complete_bulk(struct pvb_scring_cons *c, const void *objs, unsigned int n)
{
	return pvb_scring__write(&c->e, &c->e.out, objs, n, true);
}

/** Complete as many of @p n entries as fit. */
static inline int
pvb_scring_complete_burst(struct pvb_scring_cons *c, const void *objs, unsigned int n)
{
	return pvb_scring__write(&c->e, &c->e.out, objs, n, false);
}

/** Free submission slots as of the consumer tail last seen (no shared access). */
static inline uint32_t
pvb_scring_submit_free(const struct pvb_scring_prod *p)
{
	return p->e.out.size - (p->e.out.head - p->e.out.tail_cache);
}

/** True once the peer broke the protocol; see pvb_scring_fault_str(). */
static inline bool
pvb_scring_prod_broken(const struct pvb_scring_prod *p)
{
	return p->e.fault != PVB_SCRING_OK;
}

static inline bool
pvb_scring_cons_broken(const struct pvb_scring_cons *c)
{
	return c->e.fault != PVB_SCRING_OK;
}

/**
 * Adaptive idle. The consumer calls pvb_scring_consume_prepare_wait() before
 * sleeping: > 0 means submissions arrived (do not sleep), 0 means sleep until
 * signalled, then call pvb_scring_consume_end_wait(). After submitting, the
 * producer calls pvb_scring_submit_need_signal() and signals (eventfd, ...)
 * when it returns true. The completion direction mirrors this.
 */
static inline int
pvb_scring_consume_prepare_wait(struct pvb_scring_cons *c)
{
	return pvb_scring__rd_prepare_wait(&c->e, &c->e.in);
}

static inline void
pvb_scring_consume_end_wait(struct pvb_scring_cons *c)
{
	pvb_scring__rd_end_wait(&c->e, &c->e.in);
}

static inline bool
pvb_scring_submit_need_signal(const struct pvb_scring_prod *p)
{
	return pvb_scring__wr_need_signal(&p->e, &p->e.out);
}

static inline int
pvb_scring_reap_prepare_wait(struct pvb_scring_prod *p)
{
	return pvb_scring__rd_prepare_wait(&p->e, &p->e.in);
}

static inline void
pvb_scring_reap_end_wait(struct pvb_scring_prod *p)
{
	pvb_scring__rd_end_wait(&p->e, &p->e.in);
}

static inline bool
pvb_scring_complete_need_signal(const struct pvb_scring_cons *c)
{
	return pvb_scring__wr_need_signal(&c->e, &c->e.out);
}

#ifdef __cplusplus
}
#endif

#endif /* _PVB_SCRING_H_ */
