/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VMBUS_H_
#define _PVB_VMBUS_H_

/**
 * @file
 * One direction of a VMBus ring buffer (pvb_vmbus_wire.h), from either end:
 * the outgoing side writes packets and publishes them, the incoming side
 * reads them and frees their space. No DPDK in here.
 *
 * Two-phase on both sides, the ring deciding and the caller signalling:
 *  - outgoing: write any number of packets (they advance a private write
 *    index), then pvb_vmbus_out_commit() publishes them with one index store
 *    and says whether the reader must be signalled (empty -> non-empty, and
 *    its interrupt_mask clear);
 *  - incoming: pvb_vmbus_in_peek() parses and validates the next packet
 *    without consuming it, pvb_vmbus_in_consume() moves past it privately,
 *    pvb_vmbus_in_commit() publishes the read index once per batch and says
 *    whether the writer must be signalled (pending_send_sz crossed).
 *
 * The peer is untrusted. Indices and descriptors read from the ring are
 * checked before use; a violation marks the end broken (-EPIPE, false or
 * nothing from every call that reads or moves an index from then on, the
 * reason in pvb_vmbus_fault_str()), and no address computed from ring
 * contents ever leaves the ring memory. Copies out of a packet peeked before
 * the end broke still work: their bounds are the private ones checked then.
 * Entry points return 0 or a count, -EAGAIN for full/empty, -EPIPE for
 * broken, -EINVAL for bad arguments.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pvb_vmbus_wire.h"

/** Why an end stopped. */
enum pvb_vmbus_fault {
	PVB_VMBUS_OK = 0,
	PVB_VMBUS_FAULT_WRITE_INDEX,	/**< write_index unaligned, out of range or moved back */
	PVB_VMBUS_FAULT_READ_INDEX,	/**< read_index unaligned, out of range or past the writer */
	PVB_VMBUS_FAULT_DESC,		/**< descriptor: bad flags, offset8 or len8 */
	PVB_VMBUS_FAULT_TYPE,		/**< a packet type this end does not handle */
	PVB_VMBUS_FAULT_XFER,		/**< transfer-page ranges do not fit the header */
	PVB_VMBUS_FAULT_GPA,		/**< GPA-direct ranges do not fit the header */
	PVB_VMBUS_FAULT_DETACHED,	/**< attach failed */
};

/** Ring memory of one direction: the control page and the data area. */
struct pvb_vmbus_mem {
	struct pvb_vmbus_ctl *ctl;
	uint8_t *data;		/**< dsize bytes; 2 * dsize when doubled */
	uint32_t dsize;
	bool doubled;		/**< data[dsize + i] is data[i]: packets never split */
	void *map;		/**< the mapping to undo (double map), or NULL */
	size_t map_len;
};

/**
 * Ring memory in one flat area of @p len bytes (4096 + a multiple of 4096,
 * 8-byte aligned): copies across the end of the data area are split.
 */
int pvb_vmbus_mem_flat(struct pvb_vmbus_mem *m, void *ring, size_t len);

/**
 * Map the ring of @p len bytes at @p off in @p fd (a memfd, say) with its
 * data area mapped twice back to back, so that every packet is contiguous.
 * @p off must be page aligned. Undo with pvb_vmbus_mem_unmap().
 */
int pvb_vmbus_mem_map_double(struct pvb_vmbus_mem *m, int fd, off_t off, size_t len);
void pvb_vmbus_mem_unmap(struct pvb_vmbus_mem *m);

/** Counters of one end (private, not shared). */
struct pvb_vmbus_stats {
	uint64_t packets;	/**< written or consumed */
	uint64_t bytes;		/**< ring bytes, trailers included */
	uint64_t commits;	/**< index stores */
	uint64_t full;		/**< outgoing: writes refused for lack of room */
	uint64_t signals;	/**< commits that asked the caller to signal */
};

/** The writing end of one ring direction. */
struct pvb_vmbus_out {
	struct pvb_vmbus_mem m;
	uint32_t w;		/* next write offset: written, maybe not committed */
	uint32_t committed;	/* write_index as we last published it */
	uint32_t r_cache;	/* read_index as last seen and checked */
	uint32_t features;	/* feature_bits we advertise */
	enum pvb_vmbus_fault fault;
	struct pvb_vmbus_stats st;
};

/** The reading end of one ring direction. */
struct pvb_vmbus_in {
	struct pvb_vmbus_mem m;
	uint32_t r;		/* next read offset: consumed, maybe not committed */
	uint32_t committed;	/* read_index as we last published it */
	uint32_t w_cache;	/* write_index as last seen and checked */
	enum pvb_vmbus_fault fault;
	struct pvb_vmbus_stats st;
};

/** A packet the reader validated: private copies of what it may use. */
struct pvb_vmbus_pkt {
	uint16_t type;		/**< enum pvb_vmbus_pkt_type */
	uint16_t flags;
	uint64_t trans_id;
	uint32_t start;		/**< data offset of the descriptor */
	uint32_t len;		/**< len8 * 8: descriptor to end of padding */
	uint32_t hdr_len;	/**< offset8 * 8: where the payload starts */
	uint32_t range_count;	/**< transfer-page or GPA ranges */
	uint16_t xfer_set_id;	/**< transfer-page set (type 0x7) */
};

/** A transfer-page or GPA range as the writer gives it. */
struct pvb_vmbus_gpa {
	uint32_t byte_count;
	uint32_t byte_offset;	/**< < 4096 */
	const uint64_t *pfn;	/**< pvb_vmbus_gpa_pages(byte_offset, byte_count) of them */
};

/** A packet being written in pieces: pvb_vmbus_out_reserve(), _put(), _finish(). */
struct pvb_vmbus_wpkt {
	uint32_t start;		/* data offset of its descriptor */
	uint32_t pos;		/* where the next piece goes */
	uint32_t len8;
	uint32_t left;		/* bytes reserved and not put yet */
};

/**
 * Attach the writing end. Reads and checks both indices; sets feature_bits
 * (PVB_VMBUS_FEAT_PENDING_SEND_SZ if the writer will use pending_send_sz).
 */
int pvb_vmbus_out_attach(struct pvb_vmbus_out *o, const struct pvb_vmbus_mem *m,
			 uint32_t features);

/**
 * Reserve room for one packet of a known type (0x6, 0x7, 0x9, 0xb) with
 * @p hdr_len bytes of header (descriptor included, a multiple of 8) and
 * @p payload_len bytes of payload, and write its descriptor. Then put the
 * rest of the header and the payload in order with pvb_vmbus_out_put()
 * (gather, or fill in place from several sources), and pvb_vmbus_out_finish()
 * pads (bytes not put read as zeros), writes the trailer and moves the
 * private write index; nothing is visible before pvb_vmbus_out_commit().
 * The writers below are this sequence. -EAGAIN when there is no room.
 */
int pvb_vmbus_out_reserve(struct pvb_vmbus_out *o, uint16_t type, uint16_t flags,
			  uint64_t trans_id, uint32_t hdr_len, uint32_t payload_len,
			  struct pvb_vmbus_wpkt *k);
/** -EINVAL if @p len goes past what was reserved. */
int pvb_vmbus_out_put(struct pvb_vmbus_out *o, struct pvb_vmbus_wpkt *k, const void *src,
		      uint32_t len);
int pvb_vmbus_out_finish(struct pvb_vmbus_out *o, struct pvb_vmbus_wpkt *k);

/** Write one in-band packet (type 0x6); @p flags: PVB_VMBUS_FLAG_*. */
int pvb_vmbus_out_inband(struct pvb_vmbus_out *o, uint64_t trans_id, uint16_t flags,
			 const void *payload, uint32_t len);

/** Write one completion (type 0xb) for @p trans_id. */
int pvb_vmbus_out_comp(struct pvb_vmbus_out *o, uint64_t trans_id, const void *payload,
		       uint32_t len);

/** Write one transfer-page packet (type 0x7): set @p set_id, @p n ranges, then @p payload. */
int pvb_vmbus_out_xfer(struct pvb_vmbus_out *o, uint64_t trans_id, uint16_t flags,
		       uint16_t set_id, const struct pvb_vmbus_xfer_range *ranges, uint32_t n,
		       const void *payload, uint32_t len);

/** Write one GPA-direct packet (type 0x9): @p n >= 1 page ranges, then @p payload. */
int pvb_vmbus_out_gpa(struct pvb_vmbus_out *o, uint64_t trans_id, uint16_t flags,
		      const struct pvb_vmbus_gpa *ranges, uint32_t n, const void *payload,
		      uint32_t len);

/**
 * Publish everything written since the last commit with one store of
 * write_index. True if the reader must be signalled: it had read all that
 * was published before (empty -> non-empty) and its interrupt_mask is clear.
 */
bool pvb_vmbus_out_commit(struct pvb_vmbus_out *o);

/** Bytes written and not yet committed. */
uint32_t pvb_vmbus_out_uncommitted(const struct pvb_vmbus_out *o);

/**
 * Blocked writer (needs the pending feature): advertise that @p bytes of
 * free space are wanted, then re-check. 1: there is room now (pending is
 * cleared, write); 0: wait for the reader's signal, then call
 * pvb_vmbus_out_wait_end(). -ENOTSUP without the feature.
 */
int pvb_vmbus_out_wait_prepare(struct pvb_vmbus_out *o, uint32_t bytes);
void pvb_vmbus_out_wait_end(struct pvb_vmbus_out *o);

/** Ring bytes a packet with this much header and payload needs (trailer included). */
uint32_t pvb_vmbus_pkt_ring_bytes(uint32_t hdr_len, uint32_t payload_len);

/** Attach the reading end; reads and checks both indices. */
int pvb_vmbus_in_attach(struct pvb_vmbus_in *in, const struct pvb_vmbus_mem *m);

/** Parse and validate the next packet without consuming it. 0, -EAGAIN (empty), -EPIPE. */
int pvb_vmbus_in_peek(struct pvb_vmbus_in *in, struct pvb_vmbus_pkt *p);

/**
 * Copy @p len bytes at @p off from the start of packet @p p (descriptor
 * included) into @p dst. -EINVAL if they are not inside the packet.
 */
int pvb_vmbus_in_read(const struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p,
		      uint32_t off, void *dst, uint32_t len);

/** Copy up to @p cap payload bytes; returns how many the packet holds (may exceed cap). */
int pvb_vmbus_in_payload(const struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p,
			 void *dst, uint32_t cap);

/**
 * A pointer to @p len bytes at @p off in packet @p p, when they are
 * contiguous in memory (always on a double-mapped ring), else NULL. The
 * bytes stay in shared memory: copy what you validate.
 */
const void *pvb_vmbus_in_ptr(const struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p,
			     uint32_t off, uint32_t len);

/** Range @p i of a transfer-page packet. -EINVAL if not one, or i out of range. */
int pvb_vmbus_in_xfer_range(const struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p,
			    uint32_t i, struct pvb_vmbus_xfer_range *r);

/** Walking the ranges of a GPA-direct packet. */
struct pvb_vmbus_gpa_iter {
	uint32_t next;		/* packet offset of the next range */
	uint32_t index;		/* ranges returned so far */
};

/**
 * The next range of a GPA-direct packet: its counts in @p r, and up to
 * @p max_pfn of its page numbers in @p pfn. Returns the range's page count
 * (> @p max_pfn means truncated), 0 after the last range, -EINVAL if @p p is
 * not GPA-direct, -EPIPE if the ring changed under us (the end is broken).
 */
int pvb_vmbus_in_gpa_next(struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p,
			  struct pvb_vmbus_gpa_iter *it, struct pvb_vmbus_xfer_range *r,
			  uint64_t *pfn, uint32_t max_pfn);

/** Move past packet @p p (private; published by the next commit). */
void pvb_vmbus_in_consume(struct pvb_vmbus_in *in, const struct pvb_vmbus_pkt *p);

/**
 * Publish the read index once for everything consumed. True if the writer
 * must be signalled: it advertises the pending feature, asked for
 * pending_send_sz bytes, did not have them before this commit and has now.
 */
bool pvb_vmbus_in_commit(struct pvb_vmbus_in *in);

/** Set (1: do not signal me) or clear interrupt_mask. */
void pvb_vmbus_in_set_mask(struct pvb_vmbus_in *in, bool masked);

/**
 * Before sleeping: clear interrupt_mask, full fence, re-check. True if
 * packets arrived meanwhile (keep polling), false if it is safe to sleep.
 */
bool pvb_vmbus_in_unmask_and_check(struct pvb_vmbus_in *in);

/** True once the end is broken. */
static inline bool
pvb_vmbus_out_broken(const struct pvb_vmbus_out *o)
{
	return o->fault != PVB_VMBUS_OK;
}

static inline bool
pvb_vmbus_in_broken(const struct pvb_vmbus_in *in)
{
	return in->fault != PVB_VMBUS_OK;
}

const char *pvb_vmbus_fault_str(enum pvb_vmbus_fault f);

/** What a ring looks like now, for statistics and debugging (relaxed reads). */
struct pvb_vmbus_info {
	uint32_t write_index, read_index, interrupt_mask, pending_send_sz, feature_bits;
	uint32_t dsize;
	uint32_t bytes_to_read;		/**< 0 when an index is invalid */
	uint32_t bytes_to_write;
	bool indices_valid;		/**< both aligned and inside the data area */
	bool reader_needs_signal;	/**< data present and interrupt_mask clear */
	bool writer_needs_signal;	/**< pending feature, pending set and now satisfied */
};

void pvb_vmbus_inspect(const struct pvb_vmbus_mem *m, struct pvb_vmbus_info *i);

#endif /* _PVB_VMBUS_H_ */
