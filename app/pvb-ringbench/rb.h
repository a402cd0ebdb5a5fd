/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_RB_H_
#define _PVB_RB_H_

/*
 * pvb-ringbench: one harness, several ring kinds. A kind provides a channel
 * between two lcores with two directions, "fwd" (A -> B) and "back" (B -> A),
 * and four burst operations; the harness (rb_harness.h) measures round-trip
 * latency (A sends one element, B echoes it) and one-way streaming (A -> B).
 * A new ring kind is one file with a struct rb_kind and one line in
 * all_kinds[] (main.c).
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#include "pvb_config.h"
#include "pvb_ordering.h"

#define RB_MAX_KINDS	16
#define RB_MAX_BURSTS	8
#define RB_MAX_ROUNDS	32
#define RB_DEFAULT_SLIP	64	/* scring's reader slip, calls: see doc/scring.md */

/** Burst operation: returns elements moved (>= 0) or < 0 if the ring broke. */
typedef int (*rb_burst_fn)(void *ch, void **objs, unsigned int n);

struct rb_ops {
	rb_burst_fn fwd_send;	/**< A: enqueue toward B */
	rb_burst_fn fwd_recv;	/**< B: dequeue what A sent */
	rb_burst_fn back_send;	/**< B: enqueue toward A */
	rb_burst_fn back_recv;	/**< A: dequeue what B sent */
};

/** Run-wide parameters, from the command line. */
struct rb_params {
	uint32_t ring_size;	/**< entries per direction */
	uint32_t samples;	/**< round trips per latency run */
	uint32_t warmup;	/**< round trips discarded before sampling */
	uint32_t stream_ms;	/**< duration of one streaming run */
	uint32_t rounds;	/**< contenders interleave over this many rounds */
	uint32_t slip;		/**< scring's reader slip (pvb_scring_consume_set_slip) */
	uint32_t nb_bursts;
	uint32_t bursts[RB_MAX_BURSTS];
	bool quiet;
};

/* Shared between the two lcores of one run; each field on its own line. */
struct rb_sync {
	pvb_shared_u64 sent __rte_cache_aligned;	/* W: A, total once A stops; R: B */
	pvb_shared_u32 abort __rte_cache_aligned;	/* W: either side */
};

/** What one side of a run needs. */
struct rb_job {
	void *ch;
	struct rb_sync *sync;
	const struct rb_params *p;
	uint32_t burst;		/**< streaming burst */
	bool yield;		/**< both lcores share a CPU: yield while spinning */
	uint64_t *samples;	/**< A, latency: round-trip cycles, p->samples of them */
	uint64_t deadline;	/**< A, streaming: TSC value to stop at */
	uint64_t moved;		/**< B, streaming: elements received */
	uint64_t cycles;	/**< B, streaming: first receive to last */
	uint64_t calls;		/**< streaming: burst calls made (A: sends, B: receives) */
	uint64_t idle;		/**< streaming: calls that moved nothing (A: ring full, B: empty) */
	int rc;			/**< 0, or -EPIPE if the ring broke, -EINTR if aborted */
};

/** A ring kind. lat_* and stream_* are lcore functions taking a struct rb_job *. */
struct rb_kind {
	const char *name;
	const char *desc;
	bool floor;		/**< the hardware floor: latency only, no streaming */
	void *(*create)(const struct rb_params *p, int socket, unsigned int id);
	void (*destroy)(void *ch);
	int (*lat_a)(void *job);
	int (*lat_b)(void *job);
	int (*stream_tx)(void *job);
	int (*stream_rx)(void *job);
	/**
	 * Optional: how many times so far A (sending on fwd) loaded B's index and
	 * B (receiving on fwd) loaded A's; rings that load it on every call
	 * (rte_ring) leave it NULL.
	 */
	void (*peer_loads)(void *ch, uint64_t *a, uint64_t *b);
};

/* The kinds compiled in, in report order. */
extern const struct rb_kind rb_kind_floor;
extern const struct rb_kind rb_kind_scring;
extern const struct rb_kind rb_kind_rte_ring;
extern const struct rb_kind rb_kind_rte_ring16;	/* kind_rte_ring.c */
extern const struct rb_kind rb_kind_virtq;	/* kind_virtq.c */
extern const struct rb_kind rb_kind_vmbus64;	/* kind_vmbus.c */
extern const struct rb_kind rb_kind_vmbus64pp;
extern const struct rb_kind rb_kind_vmbus1500;
extern const struct rb_kind rb_kind_memcpy;	/* kind_memcpy.c */

#define RB_VMBUS_SMALL		64	/* payload bytes of vmbus64 and vmbus64pp */
#define RB_VMBUS_LARGE		1500	/* payload bytes of vmbus1500; memcpy's chunk */
#define RB_SHORT_STREAM_DIV	8	/* vmbus, virtq, rte_ring16, memcpy: --stream-ms / 8 */

/** Cut a streaming job's deadline to --stream-ms / RB_SHORT_STREAM_DIV (kind_virtq.c). */
void rb_short_stream(struct rb_job *j);

/** Set by SIGINT/SIGTERM: every spin loop checks it and returns -EINTR. */
extern pvb_shared_u32 rb_stop_requested;

#endif /* _PVB_RB_H_ */
