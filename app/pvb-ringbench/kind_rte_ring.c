/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * DPDK's rte_ring in SP/SC mode, one ring per direction: the stock baseline.
 * rte_ring holds pointers; rte_ring16 holds 16-byte elements (the element's
 * pointer and a second word, the size of a virtq descriptor) through the
 * _elem API, staged through a burst-sized array on each call. rte_ring16 is
 * virtq's yardstick and streams for --stream-ms / RB_SHORT_STREAM_DIV as
 * virtq does.
 */

#include <stdio.h>

#include <rte_malloc.h>
#include <rte_ring.h>

#include "rb_harness.h"

struct rb_rte_ring {
	struct rte_ring *fwd;
	struct rte_ring *back;
};

static int
fwd_send(void *ch, void **objs, unsigned int n)
{
	return (int)rte_ring_sp_enqueue_burst(((struct rb_rte_ring *)ch)->fwd, objs, n, NULL);
}

static int
fwd_recv(void *ch, void **objs, unsigned int n)
{
	return (int)rte_ring_sc_dequeue_burst(((struct rb_rte_ring *)ch)->fwd, objs, n, NULL);
}

static int
back_send(void *ch, void **objs, unsigned int n)
{
	return (int)rte_ring_sp_enqueue_burst(((struct rb_rte_ring *)ch)->back, objs, n, NULL);
}

static int
back_recv(void *ch, void **objs, unsigned int n)
{
	return (int)rte_ring_sc_dequeue_burst(((struct rb_rte_ring *)ch)->back, objs, n, NULL);
}

static const struct rb_ops rte_ring_ops = {
	.fwd_send = fwd_send, .fwd_recv = fwd_recv,
	.back_send = back_send, .back_recv = back_recv,
};

RB_HARNESS(rte_ring, rte_ring_ops)

/* One 16-byte element: the pointer the harness moves, and a second word. */
struct rb_elem16 {
	void *obj;
	uint64_t aux;
};

static __rte_always_inline int
r16_send(struct rte_ring *r, void **objs, unsigned int n)
{
	struct rb_elem16 e[PVB_RB_MAX_BURST];
	unsigned int i;

	for (i = 0; i < n; i++)
		e[i] = (struct rb_elem16){ .obj = objs[i], .aux = i };
	return (int)rte_ring_sp_enqueue_burst_elem(r, e, sizeof(e[0]), n, NULL);
}

static __rte_always_inline int
r16_recv(struct rte_ring *r, void **objs, unsigned int n)
{
	struct rb_elem16 e[PVB_RB_MAX_BURST];
	unsigned int got = rte_ring_sc_dequeue_burst_elem(r, e, sizeof(e[0]), n, NULL), i;

	for (i = 0; i < got; i++)
		objs[i] = e[i].obj;
	return (int)got;
}

static int
r16_fwd_send(void *ch, void **objs, unsigned int n)
{
	return r16_send(((struct rb_rte_ring *)ch)->fwd, objs, n);
}

static int
r16_fwd_recv(void *ch, void **objs, unsigned int n)
{
	return r16_recv(((struct rb_rte_ring *)ch)->fwd, objs, n);
}

static int
r16_back_send(void *ch, void **objs, unsigned int n)
{
	return r16_send(((struct rb_rte_ring *)ch)->back, objs, n);
}

static int
r16_back_recv(void *ch, void **objs, unsigned int n)
{
	return r16_recv(((struct rb_rte_ring *)ch)->back, objs, n);
}

static const struct rb_ops rte_ring16_ops = {
	.fwd_send = r16_fwd_send, .fwd_recv = r16_fwd_recv,
	.back_send = r16_back_send, .back_recv = r16_back_recv,
};

RB_HARNESS(rte_ring16, rte_ring16_ops)

static int
rte_ring16_short_tx(void *j)
{
	rb_short_stream(j);
	return rte_ring16_stream_tx(j);
}

static void
rte_ring_destroy(void *ch)
{
	struct rb_rte_ring *r = ch;

	if (r == NULL)
		return;
	rte_ring_free(r->fwd);
	rte_ring_free(r->back);
	rte_free(r);
}

static struct rte_ring *
make_ring(const char *dir, unsigned int id, uint32_t size, unsigned int esize, int socket)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "rb_%s_%u", dir, id);
	/* RING_F_EXACT_SZ: hold exactly ring_size entries, like the scring */
	return rte_ring_create_elem(name, esize, size, socket,
				    RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
}

static void *
create_pair(const struct rb_params *p, int socket, unsigned int id, unsigned int esize)
{
	struct rb_rte_ring *r = rte_zmalloc_socket("rb_rte_ring", sizeof(*r), 0, socket);

	if (r == NULL)
		return NULL;
	r->fwd = make_ring("fwd", id, p->ring_size, esize, socket);
	r->back = make_ring("back", id, p->ring_size, esize, socket);
	if (r->fwd == NULL || r->back == NULL) {
		rte_ring_destroy(r);
		return NULL;
	}
	return r;
}

static void *
rte_ring_create_ch(const struct rb_params *p, int socket, unsigned int id)
{
	return create_pair(p, socket, id, sizeof(void *));
}

static void *
rte_ring16_create_ch(const struct rb_params *p, int socket, unsigned int id)
{
	return create_pair(p, socket, id, sizeof(struct rb_elem16));
}

const struct rb_kind rb_kind_rte_ring = {
	.name = "rte_ring",
	.desc = "DPDK rte_ring, SP/SC, one per direction",
	.create = rte_ring_create_ch,
	.destroy = rte_ring_destroy,
	.lat_a = rte_ring_lat_a,
	.lat_b = rte_ring_lat_b,
	.stream_tx = rte_ring_stream_tx,
	.stream_rx = rte_ring_stream_rx,
};

const struct rb_kind rb_kind_rte_ring16 = {
	.name = "rte_ring16",
	.desc = "DPDK rte_ring, SP/SC, one per direction, 16-byte elements",
	.create = rte_ring16_create_ch,
	.destroy = rte_ring_destroy,
	.lat_a = rte_ring16_lat_a,
	.lat_b = rte_ring16_lat_b,
	.stream_tx = rte_ring16_short_tx,
	.stream_rx = rte_ring16_stream_rx,
};
