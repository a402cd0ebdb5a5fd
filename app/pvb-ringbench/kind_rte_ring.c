/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* DPDK's rte_ring in SP/SC mode, one ring per direction: the stock baseline. */

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
make_ring(const char *dir, unsigned int id, uint32_t size, int socket)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "rb_%s_%u", dir, id);
	/* RING_F_EXACT_SZ: hold exactly ring_size entries, like the scring */
	return rte_ring_create(name, size, socket,
			       RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
}

static void *
rte_ring_create_ch(const struct rb_params *p, int socket, unsigned int id)
{
	struct rb_rte_ring *r = rte_zmalloc_socket("rb_rte_ring", sizeof(*r), 0, socket);

	if (r == NULL)
		return NULL;
	r->fwd = make_ring("fwd", id, p->ring_size, socket);
	r->back = make_ring("back", id, p->ring_size, socket);
	if (r->fwd == NULL || r->back == NULL) {
		rte_ring_destroy(r);
		return NULL;
	}
	return r;
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
