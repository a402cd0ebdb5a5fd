/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* scring: fwd = submission ring, back = completion ring, in one memzone. */

#include <stdio.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memzone.h>

#include "pvb_scring.h"
#include "rb_harness.h"

struct rb_scring {
	struct pvb_scring_prod prod __rte_aligned(128);	/* used by A only */
	struct pvb_scring_cons cons __rte_aligned(128);	/* used by B only */
	const struct rte_memzone *mz;
};

static int
fwd_send(void *ch, void **objs, unsigned int n)
{
	return pvb_scring_submit_burst(&((struct rb_scring *)ch)->prod, objs, n);
}

static int
fwd_recv(void *ch, void **objs, unsigned int n)
{
	return pvb_scring_consume_burst(&((struct rb_scring *)ch)->cons, objs, n);
}

static int
back_send(void *ch, void **objs, unsigned int n)
{
	return pvb_scring_complete_burst(&((struct rb_scring *)ch)->cons, objs, n);
}

static int
back_recv(void *ch, void **objs, unsigned int n)
{
	return pvb_scring_reap_burst(&((struct rb_scring *)ch)->prod, objs, n);
}

static const struct rb_ops scring_ops = {
	.fwd_send = fwd_send, .fwd_recv = fwd_recv,
	.back_send = back_send, .back_recv = back_recv,
};

RB_HARNESS(scring, scring_ops)

static void
scring_peer_loads(void *ch, uint64_t *a, uint64_t *b)
{
	struct rb_scring *s = ch;
	struct pvb_scring_info i;

	/* between runs: the lcores that own the ends are idle */
	pvb_scring_prod_info(&s->prod, &i);
	*a = i.sub_peer_loads;
	pvb_scring_cons_info(&s->cons, &i);
	*b = i.sub_peer_loads;
}

static void
scring_destroy(void *ch)
{
	struct rb_scring *s = ch;

	if (s == NULL)
		return;
	rte_memzone_free(s->mz);
	rte_free(s);
}

static void *
scring_create(const struct rb_params *p, int socket, unsigned int id)
{
	struct pvb_scring_params sp = {
		.sub_size = p->ring_size, .cmp_size = p->ring_size,
		.sub_esize = sizeof(void *), .cmp_esize = sizeof(void *),
	};
	char name[RTE_MEMZONE_NAMESIZE], err[128];
	size_t len = pvb_scring_area_size(&sp);
	struct rb_scring *s;

	if (len == 0)
		return NULL;
	s = rte_zmalloc_socket("rb_scring", sizeof(*s), 128, socket);
	if (s == NULL)
		return NULL;
	snprintf(name, sizeof(name), "rb_scring_%u", id);
	s->mz = rte_memzone_reserve_aligned(name, len, socket, 0, 128);
	if (s->mz == NULL) {
		fprintf(stderr, "pvb-ringbench: memzone %s: %s\n", name, rte_strerror(rte_errno));
		goto fail;
	}
	snprintf(err, sizeof(err), "format failed");
	if (pvb_scring_format(s->mz->addr, len, &sp) != 0 ||
	    pvb_scring_attach_prod(&s->prod, s->mz->addr, len, &sp, err, sizeof(err)) != 0 ||
	    pvb_scring_attach_cons(&s->cons, s->mz->addr, len, &sp, err, sizeof(err)) != 0 ||
	    pvb_scring_consume_set_slip(&s->cons, p->slip) != 0 ||
	    pvb_scring_reap_set_slip(&s->prod, p->slip) != 0) {
		fprintf(stderr, "pvb-ringbench: scring: %s\n", err);
		goto fail;
	}
	return s;
fail:
	scring_destroy(s);
	return NULL;
}

const struct rb_kind rb_kind_scring = {
	.name = "scring",
	.desc = "pvbridge submit/complete ring pair (lib/scring)",
	.create = scring_create,
	.destroy = scring_destroy,
	.lat_a = scring_lat_a,
	.lat_b = scring_lat_b,
	.stream_tx = scring_stream_tx,
	.stream_rx = scring_stream_rx,
	.peer_loads = scring_peer_loads,
};
