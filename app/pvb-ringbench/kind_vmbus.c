/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * vmbus: the VMBus ring buffer (lib/vmbus), one ring per direction, each a
 * control page and a data area that holds --ring-size packets of the kind's
 * size (rounded up to whole pages). Both rings live in one memfd, each
 * mapped with its data area twice back to back (pvb_vmbus_mem_map_double),
 * so no packet is split at the wrap; flat memory if that mapping fails.
 *
 * An element travels as an in-band packet (type 0x6) whose payload starts
 * with the element's pointer value: 64 bytes of payload (vmbus64) or 1500
 * (vmbus1500). The sender copies the payload in from a private buffer, the
 * receiver peeks, copies the whole payload out and takes the pointer from
 * its copy. Batched kinds publish once per burst on both ends (one
 * write_index store per send call, one read_index store per receive call);
 * the per-packet kind (vmbus64pp) commits after every packet on both ends.
 *
 * Poll mode, as a DPDK driver runs the ring: both readers keep
 * interrupt_mask set and both writers leave out the pending_send_sz feature,
 * so no commit ever asks for a signal (the writer's commit still pays the
 * full fence before it reads the mask).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_malloc.h>

#include "pvb_vmbus.h"
#include "rb_harness.h"

#define VB_MAX_DSIZE	(256u << 20)	/* data area cap: --ring-size 2^24 would ask for 25 GB */

/* What one lcore touches: its two ends and its staging buffers, on lines of its own. */
struct vb_side {
	struct pvb_vmbus_out out;
	struct pvb_vmbus_in in;
	uint8_t tx[RB_VMBUS_LARGE] __rte_aligned(64);	/* payload being sent */
	uint8_t rx[RB_VMBUS_LARGE] __rte_aligned(64);	/* payload received */
} __rte_aligned(128);

struct rb_vmbus {
	struct vb_side a;		/* lcore A: writes fwd, reads back */
	struct vb_side b;		/* lcore B: writes back, reads fwd */
	struct pvb_vmbus_mem fwd;
	struct pvb_vmbus_mem back;
	size_t ring_len;		/* one direction: control page and data area */
	void *flat;			/* both rings when not double-mapped, else NULL */
};

/* Write up to @p n packets; publish them once (@p pp false) or one by one. */
static __rte_always_inline int
vb_send(struct vb_side *s, void **objs, unsigned int n, uint32_t len, bool pp)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		memcpy(s->tx, &objs[i], sizeof(objs[i]));
		rc = pvb_vmbus_out_inband(&s->out, 0, 0, s->tx, len);
		if (rc != 0)
			break;
		/* the verdict is always "no signal": the reader polls, masked */
		if (pp)
			(void)pvb_vmbus_out_commit(&s->out);
	}
	if (!pp)
		(void)pvb_vmbus_out_commit(&s->out);
	return rc == 0 || rc == -EAGAIN ? (int)i : rc;
}

/* Read up to @p n packets; free their space once (@p pp false) or one by one. */
static __rte_always_inline int
vb_recv(struct vb_side *s, void **objs, unsigned int n, uint32_t len, bool pp)
{
	struct pvb_vmbus_pkt p;
	unsigned int i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		rc = pvb_vmbus_in_peek(&s->in, &p);
		if (rc != 0)
			break;
		/* our own writer sent it: anything else fails the run */
		if (p.type != PVB_VMBUS_PKT_DATA_INBAND ||
		    pvb_vmbus_in_payload(&s->in, &p, s->rx, len) < (int)len) {
			rc = -EBADMSG;
			break;
		}
		memcpy(&objs[i], s->rx, sizeof(objs[i]));
		pvb_vmbus_in_consume(&s->in, &p);
		/* no writer waits on pending_send_sz: never a signal to send */
		if (pp)
			(void)pvb_vmbus_in_commit(&s->in);
	}
	if (!pp)
		(void)pvb_vmbus_in_commit(&s->in);
	return rc == 0 || rc == -EAGAIN ? (int)i : rc;
}

/* The four burst operations and the harness of one kind. */
#define VB_KIND_OPS(prefix, len, pp)						\
	static int prefix##_fwd_send(void *ch, void **objs, unsigned int n)	\
	{ return vb_send(&((struct rb_vmbus *)ch)->a, objs, n, len, pp); }	\
	static int prefix##_fwd_recv(void *ch, void **objs, unsigned int n)	\
	{ return vb_recv(&((struct rb_vmbus *)ch)->b, objs, n, len, pp); }	\
	static int prefix##_back_send(void *ch, void **objs, unsigned int n)	\
	{ return vb_send(&((struct rb_vmbus *)ch)->b, objs, n, len, pp); }	\
	static int prefix##_back_recv(void *ch, void **objs, unsigned int n)	\
	{ return vb_recv(&((struct rb_vmbus *)ch)->a, objs, n, len, pp); }	\
	static const struct rb_ops prefix##_ops = {				\
		.fwd_send = prefix##_fwd_send, .fwd_recv = prefix##_fwd_recv,	\
		.back_send = prefix##_back_send, .back_recv = prefix##_back_recv, \
	};									\
	RB_HARNESS(prefix, prefix##_ops)					\
	static int prefix##_short_tx(void *j)					\
	{ vb_short_stream(j); return prefix##_stream_tx(j); }

/* Streaming runs for --stream-ms / RB_SHORT_STREAM_DIV (doc/pvb-ringbench.md). */
static void
vb_short_stream(struct rb_job *j)
{
	uint64_t now = rte_rdtsc();

	if (j->deadline > now)
		j->deadline = now + (j->deadline - now) / RB_SHORT_STREAM_DIV;
}

/* GCC cannot tell that a receive returning 1 filled objs[0] (the echo's obj) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
VB_KIND_OPS(vb64, RB_VMBUS_SMALL, false)
VB_KIND_OPS(vb64pp, RB_VMBUS_SMALL, true)
VB_KIND_OPS(vb1500, RB_VMBUS_LARGE, false)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/*
 *   memfd:  [ ctl | data fwd ][ ctl | data back ]
 *   fwd:    [ ctl | data fwd | data fwd again ]     (likewise back)
 */
static int
vb_map_double(struct rb_vmbus *v)
{
	int fd = memfd_create("rb_vmbus", MFD_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = ftruncate(fd, 2 * (off_t)v->ring_len) == 0 ? 0 : -errno;
	if (rc == 0)
		rc = pvb_vmbus_mem_map_double(&v->fwd, fd, 0, v->ring_len);
	if (rc == 0) {
		rc = pvb_vmbus_mem_map_double(&v->back, fd, (off_t)v->ring_len, v->ring_len);
		if (rc != 0)
			pvb_vmbus_mem_unmap(&v->fwd);
	}
	close(fd);	/* the mappings keep the memory */
	return rc;
}

static int
vb_map_flat(struct rb_vmbus *v, int socket)
{
	v->flat = rte_zmalloc_socket("rb_vmbus_ring", 2 * v->ring_len, PVB_VMBUS_PAGE, socket);
	if (v->flat == NULL)
		return -ENOMEM;
	if (pvb_vmbus_mem_flat(&v->fwd, v->flat, v->ring_len) != 0 ||
	    pvb_vmbus_mem_flat(&v->back, (uint8_t *)v->flat + v->ring_len, v->ring_len) != 0)
		return -EINVAL;
	return 0;
}

static void
vb_destroy(void *ch)
{
	struct rb_vmbus *v = ch;

	if (v == NULL)
		return;
	if (v->flat != NULL) {
		rte_free(v->flat);
	} else {
		pvb_vmbus_mem_unmap(&v->fwd);
		pvb_vmbus_mem_unmap(&v->back);
	}
	rte_free(v);
}

/* Both ends of both rings, readers masked (poll mode), writers without pending. */
static int
vb_attach(struct rb_vmbus *v)
{
	int rc;

	rc = pvb_vmbus_out_attach(&v->a.out, &v->fwd, 0);
	if (rc == 0)
		rc = pvb_vmbus_in_attach(&v->b.in, &v->fwd);
	if (rc == 0)
		rc = pvb_vmbus_out_attach(&v->b.out, &v->back, 0);
	if (rc == 0)
		rc = pvb_vmbus_in_attach(&v->a.in, &v->back);
	if (rc != 0)
		return rc;
	pvb_vmbus_in_set_mask(&v->b.in, true);
	pvb_vmbus_in_set_mask(&v->a.in, true);
	return 0;
}

/*
 * A data area for @p entries packets of @p payload bytes, like the other
 * kinds' --ring-size entries: strictly more than they take (the never-full
 * rule), in whole pages. 0 if that exceeds VB_MAX_DSIZE.
 */
static size_t
vb_dsize(uint32_t entries, uint32_t payload)
{
	uint64_t bytes = (uint64_t)entries * pvb_vmbus_pkt_ring_bytes(PVB_VMBUS_DESC_SIZE, payload);
	uint64_t dsize = RTE_ALIGN_CEIL(bytes + 8, PVB_VMBUS_PAGE);

	return dsize <= VB_MAX_DSIZE ? (size_t)dsize : 0;
}

static void *
vb_create(const struct rb_params *p, int socket, uint32_t payload)
{
	size_t dsize = vb_dsize(p->ring_size, payload);
	struct rb_vmbus *v;
	int rc;

	if (dsize == 0) {
		fprintf(stderr, "pvb-ringbench: vmbus: --ring-size %u: data area over %u MiB\n",
			p->ring_size, VB_MAX_DSIZE >> 20);
		return NULL;
	}
	v = rte_zmalloc_socket("rb_vmbus", sizeof(*v), 128, socket);
	if (v == NULL)
		return NULL;
	v->ring_len = PVB_VMBUS_CTL_SIZE + dsize;
	rc = vb_map_double(v);
	if (rc != 0) {
		fprintf(stderr, "pvb-ringbench: vmbus: no double mapping (%s), flat rings\n",
			strerror(-rc));
		rc = vb_map_flat(v, socket);
	}
	if (rc == 0)
		rc = vb_attach(v);
	if (rc != 0) {
		fprintf(stderr, "pvb-ringbench: vmbus: %s\n", strerror(-rc));
		vb_destroy(v);
		return NULL;
	}
	return v;
}

static void *
vb64_create(const struct rb_params *p, int socket, unsigned int id __rte_unused)
{
	return vb_create(p, socket, RB_VMBUS_SMALL);
}

static void *
vb1500_create(const struct rb_params *p, int socket, unsigned int id __rte_unused)
{
	return vb_create(p, socket, RB_VMBUS_LARGE);
}

const struct rb_kind rb_kind_vmbus64 = {
	.name = "vmbus64",
	.desc = "VMBus ring (lib/vmbus), 64-byte in-band packets, one commit per burst",
	.create = vb64_create,
	.destroy = vb_destroy,
	.lat_a = vb64_lat_a,
	.lat_b = vb64_lat_b,
	.stream_tx = vb64_short_tx,
	.stream_rx = vb64_stream_rx,
};

const struct rb_kind rb_kind_vmbus64pp = {
	.name = "vmbus64pp",
	.desc = "VMBus ring (lib/vmbus), 64-byte in-band packets, one commit per packet",
	.create = vb64_create,
	.destroy = vb_destroy,
	.lat_a = vb64pp_lat_a,
	.lat_b = vb64pp_lat_b,
	.stream_tx = vb64pp_short_tx,
	.stream_rx = vb64pp_stream_rx,
};

const struct rb_kind rb_kind_vmbus1500 = {
	.name = "vmbus1500",
	.desc = "VMBus ring (lib/vmbus), 1500-byte in-band packets, one commit per burst",
	.create = vb1500_create,
	.destroy = vb_destroy,
	.lat_a = vb1500_lat_a,
	.lat_b = vb1500_lat_b,
	.stream_tx = vb1500_short_tx,
	.stream_rx = vb1500_stream_rx,
};
