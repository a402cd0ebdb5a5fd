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
 * at the first call that needs the peer's progress, not necessarily the next.
 * A broken end stays broken: every later call returns PVB_SCRING_BROKEN and
 * touches no shared memory. "bulk" calls move all @p n entries or none;
 * "burst" calls move as many as fit (possibly 0).
 *
 * Entries move either by copy (submit, consume, complete, reap) or in place,
 * in two phases (reserve/commit for the writer of a ring, peek/release for
 * its reader). Do not mix the two on one ring between phases.
 *
 * C only: the shared indices are C11 atomics.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pvb_scring_wire.h"

/** Fast-path return for a ring whose peer broke the protocol. */
#define PVB_SCRING_BROKEN (-EPIPE)

/** Why an end stopped. */
enum pvb_scring_fault {
	PVB_SCRING_OK = 0,
	PVB_SCRING_FAULT_SUBMIT_TAIL,	/**< consumer's submit_tail outside [last seen, head] */
	PVB_SCRING_FAULT_SUBMIT_HEAD,	/**< producer's submit_head went back or past size */
	PVB_SCRING_FAULT_COMPLETE_TAIL,	/**< producer's complete_tail outside [last seen, head] */
	PVB_SCRING_FAULT_COMPLETE_HEAD,	/**< consumer's complete_head went back or past size */
	PVB_SCRING_FAULT_DETACHED,	/**< attach failed: the end has no ring */
};

/** Geometry of a new area, and what an end expects of the area it attaches to. */
struct pvb_scring_params {
	uint32_t sub_size;	/**< submission entries, power of two, <= PVB_SCRING_MAX_ENTRIES */
	uint32_t cmp_size;	/**< completion entries, power of two, <= PVB_SCRING_MAX_ENTRIES */
	uint16_t sub_esize;	/**< 8 or 16 */
	uint16_t cmp_esize;	/**< 8 or 16 */
	uint32_t start_index;	/**< initial value of all four indices (tests start near 2^32) */
};

#include "pvb_scring_pvt.h"

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
	/**
	 * Times this end loaded the other end's index on the submission and on
	 * the completion ring: once per call whose cached copy could not satisfy
	 * it, so a count per call near 1 means the two ends chase each other.
	 */
	uint64_t sub_peer_loads, cmp_peer_loads;
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
 * receives a one-line reason. @p expect says what this end's caller will
 * pass: its entry sizes must match the header's (the peer does not get to
 * choose how many bytes we copy into the caller's buffers); its ring sizes
 * must match too, unless 0 (any size). start_index is ignored.
 * Until it succeeds the end is broken (PVB_SCRING_FAULT_DETACHED): a caller
 * that ignores the error gets PVB_SCRING_BROKEN from every call.
 * @return 0, or -EINVAL (NULL end or expectation, NULL or misaligned area),
 *   -EPROTO (bad magic, sizes, offsets, inconsistent indices, or not what
 *   @p expect says), -EPROTONOSUPPORT (version or flags), -ENOSPC (@p len is
 *   smaller than the header, or the header places entries past @p len).
 */
int pvb_scring_attach_prod(struct pvb_scring_prod *p, void *area, size_t len,
			   const struct pvb_scring_params *expect, char *err, size_t errlen);
int pvb_scring_attach_cons(struct pvb_scring_cons *c, void *area, size_t len,
			   const struct pvb_scring_params *expect, char *err, size_t errlen);

/** Name of a fault, for logs. */
const char *pvb_scring_fault_str(enum pvb_scring_fault f);

/** Ends marked broken in this process since start (all rings). */
uint64_t pvb_scring_broken_total(void);

/**
 * Where pvb_scring reports a newly broken end (once per end). The default
 * writes one line to stderr; NULL silences it. Set it before any end is in
 * use: it is read without synchronisation.
 */
void pvb_scring_set_fault_log(void (*fn)(const char *ring_role, enum pvb_scring_fault f));

/** Largest reader slip pvb_scring_*_set_slip() accept. */
#define PVB_SCRING_MAX_SLIP	4096

/**
 * Reader slip, for an end that streams bursts out of a ring (off by
 * default). When a load of the writer's index finds nothing new right after
 * loads that each found several entries, the reader is chasing the writer:
 * every burst then costs it the index line and, after it, the entry lines
 * the writer has just written. With a slip of @p calls, the next @p calls
 * that have nothing cached return 0 without touching shared memory, so the
 * reader falls a few bursts behind and then reads whole bursts from its
 * cached index (doc/scring.md, "What bounds it"). Entries that arrive one
 * at a time never arm it, so a request/answer round trip is unchanged; a
 * burst after a pause is seen up to @p calls later. Adaptive idle's
 * prepare_wait always loads. Call after attach, from the thread that owns
 * the end.
 * @return 0, or -EINVAL (NULL end, @p calls > PVB_SCRING_MAX_SLIP).
 */
int pvb_scring_consume_set_slip(struct pvb_scring_cons *c, uint32_t calls);
int pvb_scring_reap_set_slip(struct pvb_scring_prod *p, uint32_t calls);

void pvb_scring_prod_info(const struct pvb_scring_prod *p, struct pvb_scring_info *i);
void pvb_scring_cons_info(const struct pvb_scring_cons *c, struct pvb_scring_info *i);

/* ----------------------------------------------------------------------------
 * Fast path. @p objs holds @p n entries of the ring's entry size (checked
 * against the caller's expectation at attach).
 */

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

/*
 * Two-phase, in place. The writer of a ring reserves up to @p n slots,
 * fills them through *_slot(i) for i < the count reserved, then commits the
 * first k (k <= reserved; 0 abandons). The reader peeks up to @p n entries,
 * reads them through *_slot(i), then releases the first k. Entries read in
 * place stay in shared memory: copy a field before validating it, since the
 * peer can rewrite it. *_slot() returns NULL for i beyond what is pending.
 * Commit/release return k, -EINVAL for k beyond what is pending, or
 * PVB_SCRING_BROKEN.
 */
static inline int
pvb_scring_submit_reserve(struct pvb_scring_prod *p, unsigned int n)
{
	return pvb_scring__begin(&p->e, &p->e.out, n, true);
}

static inline void *
pvb_scring_submit_slot(const struct pvb_scring_prod *p, unsigned int i)
{
	return pvb_scring__at(&p->e.out, i);
}

static inline int
pvb_scring_submit_commit(struct pvb_scring_prod *p, unsigned int k)
{
	return pvb_scring__end_pending(&p->e, &p->e.out, k, true);
}

static inline int
pvb_scring_consume_peek(struct pvb_scring_cons *c, unsigned int n)
{
	return pvb_scring__begin(&c->e, &c->e.in, n, false);
}

static inline const void *
pvb_scring_consume_slot(const struct pvb_scring_cons *c, unsigned int i)
{
	return pvb_scring__at(&c->e.in, i);
}

static inline int
pvb_scring_consume_release(struct pvb_scring_cons *c, unsigned int k)
{
	return pvb_scring__end_pending(&c->e, &c->e.in, k, false);
}

static inline int
pvb_scring_complete_reserve(struct pvb_scring_cons *c, unsigned int n)
{
	return pvb_scring__begin(&c->e, &c->e.out, n, true);
}

static inline void *
pvb_scring_complete_slot(const struct pvb_scring_cons *c, unsigned int i)
{
	return pvb_scring__at(&c->e.out, i);
}

static inline int
pvb_scring_complete_commit(struct pvb_scring_cons *c, unsigned int k)
{
	return pvb_scring__end_pending(&c->e, &c->e.out, k, true);
}

static inline int
pvb_scring_reap_peek(struct pvb_scring_prod *p, unsigned int n)
{
	return pvb_scring__begin(&p->e, &p->e.in, n, false);
}

static inline const void *
pvb_scring_reap_slot(const struct pvb_scring_prod *p, unsigned int i)
{
	return pvb_scring__at(&p->e.in, i);
}

static inline int
pvb_scring_reap_release(struct pvb_scring_prod *p, unsigned int k)
{
	return pvb_scring__end_pending(&p->e, &p->e.in, k, false);
}

/** Free submission slots as of the consumer tail last seen (no shared access). */
static inline uint32_t
pvb_scring_submit_free(const struct pvb_scring_prod *p)
{
	return p->e.out.size - (p->e.out.own - p->e.out.peer);
}

/**
 * Free submission slots, at least @p want of them if there are: the
 * consumer's tail is loaded (acquire) only when the one seen last leaves
 * fewer. Writes nothing. @return the free slots, or PVB_SCRING_BROKEN.
 */
static inline int
pvb_scring_submit_room(struct pvb_scring_prod *p, unsigned int want)
{
	int k = pvb_scring__wr_room(&p->e, &p->e.out, want, false);

	return k < 0 ? k : (int)pvb_scring_submit_free(p);
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
 * signalled; either way it calls pvb_scring_consume_end_wait() before polling
 * again (the wait word stays set until then). After submitting, the
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

#endif /* _PVB_SCRING_H_ */
