/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_SCRING_PVT_H_
#define _PVB_SCRING_PVT_H_

/*
 * scring internals: the private state of one ring direction and the inline
 * fast path behind the public calls. Include pvb_scring.h instead.
 *
 * One direction seen from one end: "own" is the index this end publishes
 * (the head for the writer of entries, the tail for the reader), "peer" is
 * its cached copy of the other end's index, checked when loaded and
 * refreshed only when the cache cannot satisfy a call.
 *
 *   writer:  own = head, peer = tail     free  = size - (own - peer)
 *   reader:  own = tail, peer = head     ready = peer - own
 */

#ifndef _PVB_SCRING_H_
#error "include pvb_scring.h instead"
#endif

struct pvb_scring__dir {
	uint8_t *ents;			/* entry array in the shared area */
	pvb_shared_u32 *own_p;		/* the index we publish */
	pvb_shared_u32 *peer_p;		/* the peer's index: untrusted */
	pvb_shared_u32 *wait_p;		/* the reader's wait word (on the tail line) */
	uint32_t own;			/* what we published; never re-read */
	uint32_t peer;			/* the peer's index as last seen and checked */
	uint32_t size;
	uint32_t mask;
	uint32_t esize;			/* 8 or 16, as the caller expected at attach */
	uint32_t pending;		/* reserved or peeked, not yet published */
	uint64_t loads;			/* times the peer's index was loaded (stats) */
	uint32_t slip;			/* reader: calls to skip after a dry load (0: off) */
	uint32_t skip;			/* reader: of those, left to skip */
	bool batched;			/* reader: the last load that found entries found several */
	enum pvb_scring_fault fault_code; /* what a bad peer index on this direction means */
};

/* Common part of both ends. */
struct pvb_scring__end {
	struct pvb_scring__dir out;	/* entries we write: submissions (producer), completions */
	struct pvb_scring__dir in;	/* entries we read: completions (producer), submissions */
	enum pvb_scring_fault fault;	/* first fault seen; nonzero = broken */
	struct pvb_scring_hdr *hdr;
};

/* Cold path: record a fault, count it, log it once; returns PVB_SCRING_BROKEN. */
int pvb_scring__fault(struct pvb_scring__end *e, enum pvb_scring_fault f);

static inline uint8_t *
pvb_scring__slot(const struct pvb_scring__dir *d, uint32_t idx)
{
	/* the address comes from our private index and size only, never the peer's */
	return d->ents + (size_t)(idx & d->mask) * d->esize;
}

/*
 * Entries are copied as 8-byte words (an entry is 1 or 2 words), so one loop
 * serves both entry sizes:
 *
 *   slot            size-1 | 0          n-first-1
 *    [ first entries ... ] | [ the rest ... ]      (split at the wrap)
 *
 * GCC 12 inlines these into callers that pass a buffer sized for 8-byte
 * entries and, not knowing esize (checked against the caller's expectation
 * at attach), warns about the 16-byte case that cannot happen there.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
static inline void
pvb_scring__copy_in(struct pvb_scring__dir *d, const void *objs, uint32_t n)
{
	const uint8_t *src = (const uint8_t *)objs;
	uint32_t wpe = d->esize / 8;			/* words per entry */
	uint32_t first = d->size - (d->own & d->mask);	/* entries before the wrap */
	uint8_t *dst = pvb_scring__slot(d, d->own);
	uint32_t w, head_words, words = n * wpe;

	head_words = (first < n ? first : n) * wpe;
	for (w = 0; w < head_words; w++)
		memcpy(dst + (size_t)w * 8, src + (size_t)w * 8, 8);
	for (; w < words; w++)
		memcpy(d->ents + (size_t)(w - head_words) * 8, src + (size_t)w * 8, 8);
}

static inline void
pvb_scring__copy_out(const struct pvb_scring__dir *d, void *objs, uint32_t n)
{
	uint8_t *dst = (uint8_t *)objs;
	uint32_t wpe = d->esize / 8;
	uint32_t first = d->size - (d->own & d->mask);
	const uint8_t *src = pvb_scring__slot(d, d->own);
	uint32_t w, head_words, words = n * wpe;

	head_words = (first < n ? first : n) * wpe;
	for (w = 0; w < head_words; w++)
		memcpy(dst + (size_t)w * 8, src + (size_t)w * 8, 8);
	for (; w < words; w++)
		memcpy(dst + (size_t)w * 8, d->ents + (size_t)(w - head_words) * 8, 8);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/*
 * Writer: how many of @p n entries fit (all or none if @p bulk), loading the
 * peer's tail only when the cached one cannot satisfy @p n. Returns a count,
 * or PVB_SCRING_BROKEN.
 */
static inline int
pvb_scring__wr_room(struct pvb_scring__end *e, struct pvb_scring__dir *d, uint32_t n, bool bulk)
{
	uint32_t room = d->size - (d->own - d->peer);
	uint32_t tail;

	if (__builtin_expect(e->fault != PVB_SCRING_OK, 0))
		return PVB_SCRING_BROKEN;
	if (room < n) {
		/*
		 * Pairs with the store-release of the tail in pvb_scring__rd_publish():
		 * the reader finished reading the slots below the tail before
		 * publishing it, so they are ours to overwrite.
		 */
		tail = pvb_load_acquire(d->peer_p);
		d->loads++;
		/* the tail may only move forward, and never past what we published */
		if (__builtin_expect(tail - d->peer > d->own - d->peer, 0))
			return pvb_scring__fault(e, d->fault_code);
		d->peer = tail;
		room = d->size - (d->own - tail);
	}
	if (room >= n)
		return (int)n;
	return bulk ? 0 : (int)room;
}

static inline void
pvb_scring__wr_publish(struct pvb_scring__dir *d, uint32_t n)
{
	d->own += n;
	/*
	 * Pairs with the load-acquire of the head in pvb_scring__rd_ready(): the
	 * entries written before this store are visible before the head that
	 * covers them.
	 */
	pvb_store_release(d->own_p, d->own);
}

/*
 * Reader slip (off unless set): a reader that loads the writer's index and
 * finds nothing new, just after loads that found whole bursts, is chasing
 * the writer: it would fetch each burst's index line and then its entry
 * lines right behind the writer, two line transfers in a row per burst, and
 * steal the lines the writer is about to write. Instead it skips its next
 * d->slip empty calls without touching shared memory, falls a few bursts
 * behind, and from then on finds whole bursts it reads from its cached
 * index, on lines the writer is done with. Single entries (a request and its
 * answer) never arm it, so round trips are unchanged; nor do loads that find
 * a quarter of the ring or more. @p gain: entries the load found that were
 * not seen before.
 */
static inline void
pvb_scring__rd_slip(struct pvb_scring__dir *d, uint32_t gain)
{
	if (gain == 0) {
		if (d->batched)
			d->skip = d->slip;
	} else {
		/* a quarter of the ring per load is far apart already: stay */
		d->batched = gain > 1 && gain < d->size / 4;
	}
}

/*
 * Reader: how many of @p n entries are ready (all or none if @p bulk),
 * loading the peer's head only when the cached one cannot satisfy @p n.
 */
static inline int
pvb_scring__rd_ready(struct pvb_scring__end *e, struct pvb_scring__dir *d, uint32_t n, bool bulk)
{
	uint32_t ready = d->peer - d->own;
	uint32_t head, used;

	if (__builtin_expect(e->fault != PVB_SCRING_OK, 0))
		return PVB_SCRING_BROKEN;
	if (ready < n) {
		if (ready == 0 && d->skip != 0) {
			/* slipping (see pvb_scring__rd_slip()): leave the writer's lines alone */
			d->skip--;
			return 0;
		}
		/*
		 * Start fetching the next entry's line now, so that when the head
		 * shows it is written, its transfer overlaps the head's instead of
		 * following it. A stale copy is simply invalidated again.
		 */
		__builtin_prefetch(pvb_scring__slot(d, d->own), 0, 3);
		/*
		 * Pairs with the store-release of the head in pvb_scring__wr_publish():
		 * the entries below the head we load are fully written.
		 */
		head = pvb_load_acquire(d->peer_p);
		d->loads++;
		used = head - d->own;
		/* the head may only move forward, and never more than size ahead of us */
		if (__builtin_expect(used > d->size || used < ready, 0))
			return pvb_scring__fault(e, d->fault_code);
		pvb_scring__rd_slip(d, head - d->peer);
		d->peer = head;
		ready = used;
	}
	if (ready >= n)
		return (int)n;
	return bulk ? 0 : (int)ready;
}

static inline void
pvb_scring__rd_publish(struct pvb_scring__dir *d, uint32_t n)
{
	d->own += n;
	/*
	 * Pairs with the load-acquire of the tail in pvb_scring__wr_room(): our
	 * reads of the released slots complete before the writer may reuse them.
	 */
	pvb_store_release(d->own_p, d->own);
}

static inline int
pvb_scring__write(struct pvb_scring__end *e, struct pvb_scring__dir *d, const void *objs,
		  uint32_t n, bool bulk)
{
	int k = pvb_scring__wr_room(e, d, n, bulk);

	d->pending = 0;	/* a copy ends any reservation: its slots are what we overwrite */
	if (k > 0) {
		pvb_scring__copy_in(d, objs, (uint32_t)k);
		pvb_scring__wr_publish(d, (uint32_t)k);
	}
	return k;
}

static inline int
pvb_scring__read(struct pvb_scring__end *e, struct pvb_scring__dir *d, void *objs, uint32_t n,
		 bool bulk)
{
	int k = pvb_scring__rd_ready(e, d, n, bulk);

	d->pending = 0;	/* a copy ends any peek: its entries are what we release */
	if (k > 0) {
		pvb_scring__copy_out(d, objs, (uint32_t)k);
		pvb_scring__rd_publish(d, (uint32_t)k);
	}
	return k;
}

/*
 * Two-phase access: reserve (writer) or peek (reader) up to @p n entries,
 * then touch them in place through pvb_scring__at(), then commit or release
 * @p k <= the count returned. Nothing is published in between.
 */
static inline int
pvb_scring__begin(struct pvb_scring__end *e, struct pvb_scring__dir *d, uint32_t n, bool writer)
{
	int k = writer ? pvb_scring__wr_room(e, d, n, false) : pvb_scring__rd_ready(e, d, n, false);

	d->pending = k > 0 ? (uint32_t)k : 0;
	return k;
}

static inline void *
pvb_scring__at(const struct pvb_scring__dir *d, uint32_t i)
{
	/* i >= pending is a caller bug; stay inside the array whatever it is */
	return i < d->pending ? pvb_scring__slot(d, d->own + i) : NULL;
}

static inline int
pvb_scring__end_pending(struct pvb_scring__end *e, struct pvb_scring__dir *d, uint32_t k,
			bool writer)
{
	if (e->fault != PVB_SCRING_OK)
		return PVB_SCRING_BROKEN;
	if (k > d->pending)
		return -EINVAL;
	d->pending = 0;
	if (k > 0) {
		if (writer)
			pvb_scring__wr_publish(d, k);
		else
			pvb_scring__rd_publish(d, k);
	}
	return (int)k;
}

/*
 * Adaptive idle, reader side: announce that we are about to sleep, then
 * re-check. Returns > 0 if entries arrived meanwhile (do not sleep), 0 if
 * the caller may sleep until signalled, or PVB_SCRING_BROKEN.
 */
static inline int
pvb_scring__rd_prepare_wait(struct pvb_scring__end *e, struct pvb_scring__dir *d)
{
	int ready;

	if (e->fault != PVB_SCRING_OK)
		return PVB_SCRING_BROKEN;
	/* relaxed: the fence below orders it before the re-check */
	pvb_store_relaxed(d->wait_p, 1);
	/* pairs with the fence in pvb_scring__wr_need_signal(): store wait, then load head */
	pvb_fence_full();
	d->skip = 0;	/* about to sleep: the re-check must load the head */
	ready = pvb_scring__rd_ready(e, d, UINT32_MAX, false);
	if (ready < 0) {
		/* relaxed: we stop here; the peer need not signal a broken ring */
		pvb_store_relaxed(d->wait_p, 0);
		return PVB_SCRING_BROKEN;
	}
	return ready > 0;
}

static inline void
pvb_scring__rd_end_wait(const struct pvb_scring__end *e, struct pvb_scring__dir *d)
{
	if (e->fault != PVB_SCRING_OK)
		return;	/* a broken end touches no shared memory */
	/* relaxed: a stale 1 only costs the peer one spurious signal */
	pvb_store_relaxed(d->wait_p, 0);
}

static inline bool
pvb_scring__wr_need_signal(const struct pvb_scring__end *e, const struct pvb_scring__dir *d)
{
	if (e->fault != PVB_SCRING_OK)
		return false;
	/* pairs with the fence in pvb_scring__rd_prepare_wait(): store head, then load wait */
	pvb_fence_full();
	/* relaxed: ordered by the fence above; the value is only a hint */
	return pvb_load_relaxed(d->wait_p) != 0;
}

#endif /* _PVB_SCRING_PVT_H_ */
