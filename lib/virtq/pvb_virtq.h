/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VIRTQ_H_
#define _PVB_VIRTQ_H_

/**
 * @file
 * The virtio split virtqueue (pvb_virtq_wire.h): layout, guest memory
 * table, and both sides. No DPDK in here.
 *
 *  - Layout: where the three parts (and a per-request area) go when one
 *    allocation holds num_queues queues (doc/virtq.md, "Layout").
 *  - Guest memory: regions {guest address, size, host pointer}; a guest
 *    (address, length) becomes host segments, split across adjacent regions.
 *  - Driver side: free list in private memory, add chains of readable then
 *    writable buffers with an opaque token (direct or one indirect table),
 *    or a burst of one-buffer chains; publish with one release store,
 *    decide whether to kick, reclaim used chains (one read of the used
 *    index a burst).
 *  - Device side: pop validated chains as host segments (one at a time, or
 *    a burst after one read of the available index), give back the last
 *    ones popped, push used elements (one release store a burst), decide
 *    whether to call, suppress kicks.
 *
 * The device does not trust the driver: every index, descriptor and address
 * read from guest memory is checked; a broken index stops the queue (it
 * needs a reset), a malformed chain is reported and the queue goes on. The
 * driver does not trust the device either: used ids are checked against the
 * chains it posted. Return shapes: counts or 0, -EAGAIN (nothing / no room),
 * -EBADMSG (a malformed chain), -EPIPE (queue broken), -EINVAL (arguments).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvb_virtq_wire.h"

/* ---- layout --------------------------------------------------------------- */

/** Offsets inside the block of one queue; queue q's block starts at q * end_offset. */
struct pvb_virtq_layout {
	size_t num_queues;
	size_t driver_area_offset;	/**< available ring */
	size_t device_area_offset;	/**< used ring */
	size_t req_offset;		/**< per-request area: req_size bytes per descriptor */
	size_t end_offset;		/**< size of one queue's block (the stride) */
};

/**
 * Lay out @p num_queues queues of @p size entries for @p features (bit
 * PVB_VIRTIO_F_VERSION_1 set: 1.x alignment, else the legacy 4096-byte one),
 * with @p req_size bytes per descriptor of per-request data. Event words are
 * always reserved. -EINVAL for size 0, not a power of two, above 32768, no
 * queue, or a total that does not fit size_t.
 */
int pvb_virtq_layout(size_t num_queues, uint32_t size, uint64_t features, size_t req_size,
		     struct pvb_virtq_layout *l);

/* ---- guest memory --------------------------------------------------------- */

#define PVB_VIRTQ_MAX_REGIONS	8

struct pvb_virtq_region {
	uint64_t gpa;		/**< guest address of the first byte */
	uint64_t size;		/**< bytes; gpa + size must not overflow */
	void *host;		/**< where those bytes are mapped here */
};

struct pvb_virtq_mem {
	uint32_t nb_regions;
	struct pvb_virtq_region r[PVB_VIRTQ_MAX_REGIONS];	/* sorted by gpa, disjoint */
};

/** A run of host bytes. */
struct pvb_virtq_seg {
	void *host;
	uint32_t len;
	bool write;		/**< device-writable (in a chain) */
};

/**
 * Build a table; -EINVAL if a region is empty, overflows, has no host
 * pointer, or overlaps another, or there are too many.
 */
int pvb_virtq_mem_init(struct pvb_virtq_mem *m, const struct pvb_virtq_region *r, uint32_t n);

/**
 * Translate [@p gpa, @p gpa + @p len) into at most @p max host segments,
 * split where regions end. Returns the segment count, or -EFAULT if a byte
 * is outside every region (or the range overflows), -ENOBUFS if more than
 * @p max segments are needed. len 0 gives 0 segments.
 */
int pvb_virtq_mem_translate(const struct pvb_virtq_mem *m, uint64_t gpa, uint64_t len,
			    struct pvb_virtq_seg *seg, uint32_t max);

/** The host address of [@p gpa, @p gpa + @p len) if it lies in one region, else NULL. */
void *pvb_virtq_mem_ptr(const struct pvb_virtq_mem *m, uint64_t gpa, uint64_t len);

/* ---- device side ---------------------------------------------------------- */

#define PVB_VIRTQ_MAX_SEGS	64	/**< host segments per popped chain */

/** Why a device queue stopped or a chain was refused. */
enum pvb_virtq_fault {
	PVB_VIRTQ_OK = 0,
	PVB_VIRTQ_FAULT_AVAIL_IDX,	/**< avail idx moved back or more than N ahead (fatal) */
	PVB_VIRTQ_FAULT_HEAD,		/**< head index >= N */
	PVB_VIRTQ_FAULT_NEXT,		/**< next index out of the table */
	PVB_VIRTQ_FAULT_LOOP,		/**< more descriptors than the table holds */
	PVB_VIRTQ_FAULT_INDIRECT,	/**< indirect not negotiated, nested, with NEXT, bad size */
	PVB_VIRTQ_FAULT_ORDER,		/**< a readable descriptor after a writable one */
	PVB_VIRTQ_FAULT_MEMORY,		/**< a buffer outside guest memory, or overflowing */
	PVB_VIRTQ_FAULT_TOO_LONG,	/**< the chain holds more than 2^32 bytes */
	PVB_VIRTQ_FAULT_SEGS,		/**< more host segments than PVB_VIRTQ_MAX_SEGS */
	PVB_VIRTQ_FAULT_RINGS,		/**< ring addresses not inside one region each */
	/* driver side: what a device returned */
	PVB_VIRTQ_FAULT_USED_IDX,	/**< used idx ahead of the chains posted (fatal) */
	PVB_VIRTQ_FAULT_USED_ID,	/**< a used id that is not a head we posted (fatal) */
	PVB_VIRTQ_FAULT_USED_LEN,	/**< more bytes written than the chain holds (fatal) */
};

const char *pvb_virtq_fault_str(enum pvb_virtq_fault f);

/** Device-side queue state, plus what it resolved at enable. */
struct pvb_virtq_dev {
	uint16_t max_size;
	uint16_t size;
	bool ready;
	uint64_t desc_table_addr;
	uint64_t avail_ring_addr;
	uint64_t used_ring_addr;
	uint16_t next_avail_idx;	/**< next head to pop */
	uint16_t next_used_idx;		/**< next used slot to write (published by push) */
	/* features and resolved rings */
	bool event_idx;
	bool indirect;
	const struct pvb_virtq_mem *mem;
	const struct pvb_virtq_desc *desc;
	struct pvb_virtq_avail *avail;
	struct pvb_virtq_used *used;
	uint16_t signalled_used;	/* used idx at the last call decision */
	bool signalled_valid;
	enum pvb_virtq_fault fault;	/**< last fault; fatal ones set needs_reset */
	bool needs_reset;
	uint64_t bad_chains;		/**< chains refused so far */
	/* private cursors of the pops; cleared by enable and reset */
	uint16_t avail_pending;		/* chains the last avail idx read saw, not yet popped */
	uint16_t unpop_start;		/* next_avail_idx at that read or the last used push */
	uint32_t last_region;		/* mem->r[] index of the last buffer's region: a hint */
};

/** A popped chain: host segments, readable ones first. */
struct pvb_virtq_chain {
	uint16_t head;
	uint32_t nb_segs;
	uint32_t nb_readable;		/**< seg[0 .. nb_readable) are readable */
	enum pvb_virtq_fault fault;	/**< PVB_VIRTQ_OK, or why the chain was refused */
	uint64_t readable_len;
	uint64_t writable_len;
	struct pvb_virtq_seg seg[PVB_VIRTQ_MAX_SEGS];
};

void pvb_virtq_dev_init(struct pvb_virtq_dev *q, uint16_t max_size);
/** Clamp to max_size and down to a power of two (0 stays 0: not valid). */
void pvb_virtq_dev_set_size(struct pvb_virtq_dev *q, uint16_t requested);
/** Every address set, a valid size, ready. */
bool pvb_virtq_dev_is_valid(const struct pvb_virtq_dev *q);
/** Cursors to 0, not ready, fault cleared (the driver wrote status 0). */
void pvb_virtq_dev_reset(struct pvb_virtq_dev *q);

/**
 * Resolve the three rings through @p mem (each must lie in one region and be
 * aligned) and take the features; call when the driver sets the queue ready,
 * after setting next_avail_idx / next_used_idx if restoring a base. Clears
 * what the pops counted, whatever the answer. -EINVAL if not valid, -EFAULT
 * if a ring is outside guest memory.
 */
int pvb_virtq_dev_enable(struct pvb_virtq_dev *q, const struct pvb_virtq_mem *mem,
			 uint64_t features);

/**
 * Pop the next available chain into @p c, reading avail->idx first. 0;
 * -EAGAIN if none; -EBADMSG if the chain is malformed (c->head is still
 * set: the caller may return it with pvb_virtq_dev_push_used(q, c->head,
 * 0)); -EPIPE if the queue is broken (avail idx), until reset. The same as
 * pvb_virtq_dev_avail_count() then pvb_virtq_dev_pop_next().
 */
int pvb_virtq_dev_pop_avail(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c);

/**
 * Read avail->idx once (acquire): the number of chains waiting (0..size),
 * cached in the queue so pvb_virtq_dev_pop_next() reads no shared index.
 * -EPIPE if the queue is broken (avail idx moved back or more than size
 * ahead: fault set, needs_reset), -EINVAL if not enabled. Starts a new
 * window for pvb_virtq_dev_unpop().
 */
int pvb_virtq_dev_avail_count(struct pvb_virtq_dev *q);

/**
 * Pop the next chain of those the last pvb_virtq_dev_avail_count() saw,
 * without reading avail->idx: 0; -EAGAIN when they are used up (or none
 * was counted); -EBADMSG for a malformed chain (c->head set, c->fault and
 * q->fault say why, bad_chains counted; the caller returns it with used
 * len 0); -EPIPE if broken. Checks exactly what pvb_virtq_dev_pop_avail()
 * checks. @p q and @p c must not be NULL.
 */
int pvb_virtq_dev_pop_next(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c);

/**
 * Up to @p n chains, avail->idx read once: returns how many were popped
 * into c[0..k) (c[i].fault is PVB_VIRTQ_OK, or why chain i was refused:
 * then its head is set and it counts in bad_chains), 0 if none, -EPIPE if
 * broken, -EINVAL if not enabled or @p c is NULL.
 */
int pvb_virtq_dev_pop_burst(struct pvb_virtq_dev *q, struct pvb_virtq_chain *c, uint32_t n);

/**
 * A hint for prefetching: the host address of the first buffer of the
 * chain @p ahead places after the next one to pop, when the last
 * pvb_virtq_dev_avail_count() counted it and its head is a direct
 * descriptor whose first 64 bytes lie in the region the last buffer was
 * in; NULL otherwise. Reads the avail ring and the descriptor table (within
 * the queue, whatever the driver wrote) and nothing else; checks nothing
 * the pop will not check again.
 */
void *pvb_virtq_dev_peek_buf(const struct pvb_virtq_dev *q, uint16_t ahead);

/**
 * Ask for the line of the head descriptor of the chain @p ahead places
 * after the next one, when counted (a hint: the head is read masked and
 * checked again by the pop). pvb_virtq_dev_avail_count() asks for the
 * first few itself.
 */
void pvb_virtq_dev_prefetch_desc(const struct pvb_virtq_dev *q, uint16_t ahead);

/**
 * Give back the last @p n popped chains (a packet that did not fit): the
 * private cursor moves back and they pop again, in the same order; nothing
 * shared is written. @p n is clamped to the chains popped since the last
 * read of avail->idx (pvb_virtq_dev_avail_count(), _pop_burst(),
 * _pop_avail()) and the last used element written, so a chain already
 * returned used is never given back. A refused chain popped again is
 * counted again in bad_chains.
 */
void pvb_virtq_dev_unpop(struct pvb_virtq_dev *q, uint16_t n);

/** Add a used element without publishing it (UsedRing add_used). */
int pvb_virtq_dev_add_used(struct pvb_virtq_dev *q, uint16_t head, uint32_t len);
/** Publish the used elements added so far with one release store of used->idx. */
void pvb_virtq_dev_write_used_idx(struct pvb_virtq_dev *q);
/** add_used + write_used_idx. */
int pvb_virtq_dev_push_used(struct pvb_virtq_dev *q, uint16_t head, uint32_t bytes_written);

/**
 * Write @p n used elements and publish them (and any added before) with ONE
 * release store of used->idx. Returns @p n, or -EINVAL (nothing written) if
 * any id >= size, @p n > size, or the queue is not enabled. No fence, no
 * notify decision: the caller then calls pvb_virtq_dev_should_notify() once
 * per burst.
 */
int pvb_virtq_dev_push_used_burst(struct pvb_virtq_dev *q, const struct pvb_virtq_used_elem *e,
				  uint32_t n);

/** Must the driver be called? Full fence, then flags or used_event (UsedRing should_notify). */
bool pvb_virtq_dev_should_notify(struct pvb_virtq_dev *q);

/**
 * Suppress (true) or request (false) kicks: used->flags NO_NOTIFY, or with
 * event index avail_event = next_avail_idx. Requesting re-checks after a full
 * fence: returns true if buffers arrived meanwhile.
 */
bool pvb_virtq_dev_set_notification(struct pvb_virtq_dev *q, bool suppress);

/** The used ring header as it is now (relaxed reads; UsedRing read_used_header). */
void pvb_virtq_dev_used_header(const struct pvb_virtq_dev *q, uint16_t *flags, uint16_t *idx);
/**
 * Rewrite the used ring header (UsedRing write_used_header): flags, and idx,
 * which also becomes next_used_idx (restoring a queue's state, say after
 * vhost-user SET_VRING_BASE). Published with a release store.
 */
void pvb_virtq_dev_write_used_header(struct pvb_virtq_dev *q, uint16_t flags, uint16_t idx);
/** Guest address of avail_event (UsedRing avail_event_addr). */
uint64_t pvb_virtq_dev_avail_event_addr(const struct pvb_virtq_dev *q);

/* ---- driver side ---------------------------------------------------------- */

/** A buffer to post: guest address, length, device-writable or not. */
struct pvb_virtq_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Private per-descriptor state: the device never sees it. */
struct pvb_virtq_drv_extra {
	void *token;		/* head: the caller's cookie; NULL for non-heads */
	uint16_t next;		/* free list / chain link */
	uint16_t ndesc;		/* head: descriptors in its chain */
	uint16_t order;		/* by avail slot: the head posted there (in-order reclaim) */
};

struct pvb_virtq_drv {
	uint16_t size;
	uint16_t mask;
	struct pvb_virtq_desc *desc;
	struct pvb_virtq_avail *avail;
	struct pvb_virtq_used *used;
	bool event_idx;
	bool indirect;
	bool in_order;			/* IN_ORDER: chains come back in the order posted */
	uint16_t free_head;		/* free list: taken at the head... */
	uint16_t free_tail;		/* ...given back at the tail (valid if num_free != 0) */
	uint16_t num_free;
	uint16_t shadow_avail;		/* avail idx we will publish */
	uint16_t kick_old;		/* avail idx at the last kick decision */
	uint16_t last_used;		/* next used element to reclaim */
	bool broken;
	enum pvb_virtq_fault fault;	/* why broken */
	struct pvb_virtq_drv_extra *extra;	/* size entries, private */
};

/**
 * Set up the driver side over zeroed rings at @p desc / @p avail / @p used
 * (host pointers) of @p size entries; @p extra is private memory for @p size
 * entries. -EINVAL for a bad size or NULL pointers.
 */
int pvb_virtq_drv_init(struct pvb_virtq_drv *d, uint16_t size, void *desc, void *avail,
		       void *used, struct pvb_virtq_drv_extra *extra, uint64_t features);

/**
 * Post a chain of @p n buffers, readable ones first (-EINVAL otherwise), with
 * @p token (not NULL) returned by reclaim. -EAGAIN if fewer than n free
 * descriptors. Not visible until pvb_virtq_drv_publish().
 */
int pvb_virtq_drv_add(struct pvb_virtq_drv *d, const struct pvb_virtq_buf *bufs, uint32_t n,
		      void *token);

/**
 * Post @p n buffers through one indirect descriptor: the table (16 * n
 * bytes) is written at host @p table, whose guest address is @p table_gpa.
 * Needs the indirect feature.
 */
int pvb_virtq_drv_add_indirect(struct pvb_virtq_drv *d, const struct pvb_virtq_buf *bufs,
			       uint32_t n, void *table, uint64_t table_gpa, void *token);

/** Publish what was added (release store of avail->idx). */
void pvb_virtq_drv_publish(struct pvb_virtq_drv *d);

/**
 * Post @p n chains of one buffer each (@p bufs[i], token @p tokens[i], not
 * NULL) and publish them (and any added before) with ONE release store of
 * avail->idx. Returns how many were posted: fewer if descriptors run out,
 * 0 if none is free; -EINVAL for bad arguments (nothing posted), -EPIPE if
 * broken. The caller then calls pvb_virtq_drv_kick_prepare() once.
 */
int pvb_virtq_drv_add_burst(struct pvb_virtq_drv *d, const struct pvb_virtq_buf *bufs,
			    void *const *tokens, uint32_t n);

/** After publishing: must the device be kicked? Full fence, then flags or avail_event. */
bool pvb_virtq_drv_kick_prepare(struct pvb_virtq_drv *d);

/**
 * Reclaim one used chain: its token in @p token and the bytes the device
 * wrote in @p len. 1, 0 if none, -EPIPE if the device returned an id that
 * is not a posted head (the driver side is then broken).
 */
int pvb_virtq_drv_get_used(struct pvb_virtq_drv *d, void **token, uint32_t *len);

/**
 * Reclaim up to @p n used chains reading used->idx once (acquire): their
 * tokens in @p tokens[i], the bytes written in @p lens[i]. Returns the
 * count, 0 if none, -EPIPE if the device broke the queue (d->fault says
 * how: used idx ahead of the chains posted, or an id that is not a head we
 * posted; the chains reclaimed before the bad one are returned first, and
 * -EPIPE comes on the next call), -EINVAL for a NULL @p tokens. @p lens may
 * be NULL (a transmit queue has no use for them): with IN_ORDER the used
 * elements are then not read, but for the one whose id is checked.
 *
 * With IN_ORDER (VIRTIO 1.2 §2.7.9) the chains come back in the order they
 * were posted, and a device may write only the last used element of a
 * batch: the tokens are taken from our own record of that order, the
 * lengths from the elements, and the id is checked in the element that
 * ends what the device published.
 */
int pvb_virtq_drv_get_used_burst(struct pvb_virtq_drv *d, void **tokens, uint32_t *lens,
				 uint32_t n);

/**
 * Take back every chain still posted (the device is gone): up to @p n of
 * their tokens into @p tokens. Returns how many; call until it returns 0.
 * Then re-initialise the queue before posting again.
 */
uint32_t pvb_virtq_drv_drain(struct pvb_virtq_drv *d, void **tokens, uint32_t n);

/** Mark the queue broken by the device (a check the caller made, e.g. a length). */
void pvb_virtq_drv_set_broken(struct pvb_virtq_drv *d, enum pvb_virtq_fault why);

/** Chains posted and not reclaimed. */
static inline uint16_t
pvb_virtq_drv_posted(const struct pvb_virtq_drv *d)
{
	return (uint16_t)(d->shadow_avail - d->last_used);
}

/**
 * Ask for used-buffer notifications (enable) or not (disable): avail flags,
 * or used_event = last_used with event index. Enabling re-checks after a
 * full fence: true if used buffers are already waiting.
 */
bool pvb_virtq_drv_enable_cb(struct pvb_virtq_drv *d);
void pvb_virtq_drv_disable_cb(struct pvb_virtq_drv *d);

#endif /* _PVB_VIRTQ_H_ */
