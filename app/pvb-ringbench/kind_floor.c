/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The hardware floor: one cache line per direction, each holding a sequence
 * number and a value. A round trip is the least any ring can do: one line
 * moves A -> B and one moves B -> A. Latency only (a one-slot mailbox has no
 * meaningful streaming rate).
 */

#include <rte_malloc.h>

#include "rb_harness.h"

struct rb_line {
	pvb_shared_u64 seq;	/* W: sender */
	uint64_t val;		/* W: sender, before seq */
} __rte_aligned(128);

struct rb_floor {
	struct rb_line fwd;	/* W: A */
	struct rb_line back;	/* W: B */
	uint64_t fwd_sent __rte_aligned(128);	/* A's private counters */
	uint64_t back_seen;
	uint64_t fwd_seen __rte_aligned(128);	/* B's private counters */
	uint64_t back_sent;
};

static inline int
line_send(struct rb_line *l, uint64_t *sent, void *obj)
{
	l->val = (uint64_t)(uintptr_t)obj;
	/* Pairs with the load-acquire in line_recv(): val is visible before seq. */
	pvb_store_release64(&l->seq, ++*sent);
	return 1;
}

static inline int
line_recv(struct rb_line *l, uint64_t *seen, void **obj)
{
	/* Pairs with the store-release in line_send(). */
	uint64_t s = pvb_load_acquire64(&l->seq);

	if (s == *seen)
		return 0;
	*seen = s;
	*obj = (void *)(uintptr_t)l->val;
	return 1;
}

static int
fwd_send(void *ch, void **objs, unsigned int n __rte_unused)
{
	struct rb_floor *f = ch;

	return line_send(&f->fwd, &f->fwd_sent, objs[0]);
}

static int
fwd_recv(void *ch, void **objs, unsigned int n __rte_unused)
{
	struct rb_floor *f = ch;

	return line_recv(&f->fwd, &f->fwd_seen, objs);
}

static int
back_send(void *ch, void **objs, unsigned int n __rte_unused)
{
	struct rb_floor *f = ch;

	return line_send(&f->back, &f->back_sent, objs[0]);
}

static int
back_recv(void *ch, void **objs, unsigned int n __rte_unused)
{
	struct rb_floor *f = ch;

	return line_recv(&f->back, &f->back_seen, objs);
}

static const struct rb_ops floor_ops = {
	.fwd_send = fwd_send, .fwd_recv = fwd_recv,
	.back_send = back_send, .back_recv = back_recv,
};

static int floor_lat_a(void *j) { return rb_lat_initiator(j, &floor_ops); }
static int floor_lat_b(void *j) { return rb_lat_echo(j, &floor_ops); }

static void *
floor_create(const struct rb_params *p __rte_unused, int socket, unsigned int id __rte_unused)
{
	return rte_zmalloc_socket("rb_floor", sizeof(struct rb_floor), 128, socket);
}

const struct rb_kind rb_kind_floor = {
	.name = "floor",
	.desc = "raw cache-line ping-pong: the hardware floor",
	.floor = true,
	.create = floor_create,
	.destroy = rte_free,
	.lat_a = floor_lat_a,
	.lat_b = floor_lat_b,
};
