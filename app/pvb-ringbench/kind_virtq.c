/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * virtq: one split virtqueue (lib/virtq) between the two lcores, lcore A the
 * driver, lcore B the device. The queue sits in one memzone laid out by
 * pvb_virtq_layout(); the device sees that memzone as a memory table of one
 * region at guest address VQ_GPA_BASE, and translates every chain it pops.
 *
 *   fwd:  A  pvb_virtq_drv_add_burst(): a burst of chains, one avail->idx store
 *         B  pvb_virtq_dev_pop_next() per chain into one chain struct, and
 *            pvb_virtq_dev_avail_count() (one avail->idx load) when the
 *            chains it counted last are used up
 *   back: B  pvb_virtq_dev_push_used_burst(): a burst of used elements, one
 *            used->idx store
 *         A  pvb_virtq_drv_get_used_burst(): one used->idx load a burst
 *
 * Each element is a chain of one device-readable VQ_BUF_LEN-byte buffer in
 * the layout's per-request area (the device translates it, reads nothing
 * from it). The element travels as the chain's token: A adds it, B sees the
 * head index, echoes the head with used len 0 (it wrote nothing), and A gets
 * the token back from its private table.
 *
 * Streaming needs the back direction too (a driver has only N descriptors),
 * so its two sides differ from the latency ones: B pops a burst and returns
 * it used at once; A reclaims what came back before adding when it runs
 * short of descriptors. Every element of the rate has made the whole trip
 * add -> pop -> push used -> reclaim.
 *
 * Poll mode, as DPDK's virtio PMDs run a queue: VIRTIO_F_VERSION_1 only (no
 * event index, no indirect), the device keeps USED_F_NO_NOTIFY set and the
 * driver AVAIL_F_NO_INTERRUPT, and neither side asks whether to notify (no
 * pvb_virtq_drv_kick_prepare() or pvb_virtq_dev_should_notify(), so neither
 * pays their full fence). Streaming runs for --stream-ms / RB_SHORT_STREAM_DIV.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memzone.h>

#include "pvb_virtq.h"
#include "rb_harness.h"

#define VQ_GPA_BASE	0x40000000ull	/* the memzone's guest address (0 would read as unset) */
#define VQ_BUF_LEN	64		/* each chain's buffer: one line of the request area */
#define VQ_FEATURES	(1ull << PVB_VIRTIO_F_VERSION_1)

/* Lcore A's state: the driver, its private descriptor table, the buffers it posts. */
struct vq_drv_side {
	struct pvb_virtq_drv drv;
	/* buffer k (k < N) and again (N <= k < N + burst): a burst is one run of it */
	struct pvb_virtq_buf *bufs;
	uint32_t next_buf;		/* running count of buffers posted */
	uint32_t lens[PVB_RB_MAX_BURST];	/* what get_used_burst says was written */
} __rte_aligned(128);

/* Lcore B's state: the device, the memory table it reads, the chain it pops into. */
struct vq_dev_side {
	struct pvb_virtq_dev dev;
	struct pvb_virtq_mem mem;
	struct pvb_virtq_used_elem used[PVB_RB_MAX_BURST];	/* the burst it returns */
	struct pvb_virtq_chain chain;
} __rte_aligned(128);

struct rb_virtq {
	struct vq_drv_side a;
	struct vq_dev_side b;
	struct pvb_virtq_drv_extra *extra;	/* A's, N entries */
	const struct rte_memzone *mz;
};

/* A: post up to @p n one-buffer chains, token = element, published with one store. */
static __rte_always_inline int
vq_post(struct vq_drv_side *a, void **objs, unsigned int n)
{
	int rc = pvb_virtq_drv_add_burst(&a->drv, &a->bufs[a->next_buf & a->drv.mask], objs, n);

	if (rc > 0)
		a->next_buf += (uint32_t)rc;
	return rc;
}

/* A: reclaim up to @p n used chains; their tokens are the elements. */
static __rte_always_inline int
vq_reclaim(struct vq_drv_side *a, void **objs, unsigned int n)
{
	return pvb_virtq_drv_get_used_burst(&a->drv, objs, a->lens, n);
}

/*
 * B: pop up to @p n chains; the element handed on is the head, which also
 * goes in the used burst (len 0). The chains the last count saw come
 * first; avail->idx is read (pvb_virtq_dev_avail_count()) only when they
 * are used up, at most once a call: an empty poll is one load, and a full
 * ring is read once in many bursts. (The pending count is the queue's
 * cursor, read here only to skip a pop_next that would say -EAGAIN.)
 */
static __rte_always_inline int
vq_pop(struct vq_dev_side *b, void **objs, unsigned int n)
{
	struct pvb_virtq_chain *c = &b->chain;
	bool counted = false;
	unsigned int i;
	int rc;

	for (i = 0; i < n; i++) {
		/* nothing counted (as on an empty poll): count first */
		rc = b->dev.avail_pending != 0 ? pvb_virtq_dev_pop_next(&b->dev, c) : -EAGAIN;
		if (rc == -EAGAIN && !counted) {
			counted = true;
			rc = pvb_virtq_dev_avail_count(&b->dev);
			if (rc > 0)
				rc = pvb_virtq_dev_pop_next(&b->dev, c);
			else if (rc == 0)
				rc = -EAGAIN;
		}
		if (rc == -EAGAIN)
			break;
		/* our own driver posted it: a refusal or any other shape fails the run */
		if (unlikely(rc != 0 || c->nb_segs != 1 || c->readable_len != VQ_BUF_LEN))
			return rc < 0 && rc != -EBADMSG ? rc : -EBADMSG;
		objs[i] = (void *)(uintptr_t)c->head;
		b->used[i] = (struct pvb_virtq_used_elem){ .id = c->head, .len = 0 };
	}
	return (int)i;
}

/* B: return @p n heads used (nothing written), published with one store. */
static __rte_always_inline int
vq_complete(struct vq_dev_side *b, void **objs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		b->used[i] = (struct pvb_virtq_used_elem){ .id = (uint32_t)(uintptr_t)objs[i] };
	return pvb_virtq_dev_push_used_burst(&b->dev, b->used, n);
}

/* Latency: fwd is add + publish -> pop, back is push used -> reclaim. */
static int
lat_fwd_send(void *ch, void **objs, unsigned int n)
{
	return vq_post(&((struct rb_virtq *)ch)->a, objs, n);
}

static int
lat_fwd_recv(void *ch, void **objs, unsigned int n)
{
	return vq_pop(&((struct rb_virtq *)ch)->b, objs, n);
}

static int
lat_back_send(void *ch, void **objs, unsigned int n)
{
	return vq_complete(&((struct rb_virtq *)ch)->b, objs, n);
}

static int
lat_back_recv(void *ch, void **objs, unsigned int n)
{
	return vq_reclaim(&((struct rb_virtq *)ch)->a, objs, n);
}

/* Streaming, A: reclaim everything returned once short of descriptors, then post. */
static int
stream_send(void *ch, void **objs, unsigned int n)
{
	struct vq_drv_side *a = &((struct rb_virtq *)ch)->a;
	void *done[PVB_RB_MAX_BURST];
	int rc;

	while (a->drv.num_free < n) {
		rc = vq_reclaim(a, done, RTE_DIM(done));
		if (rc <= 0) {
			if (rc < 0)
				return rc;
			break;
		}
	}
	return vq_post(a, objs, n);
}

/* Streaming, B: pop a burst and return it used at once (the used burst vq_pop() built). */
static int
stream_recv(void *ch, void **objs, unsigned int n)
{
	struct vq_dev_side *b = &((struct rb_virtq *)ch)->b;
	int got = vq_pop(b, objs, n);

	return got > 0 ? pvb_virtq_dev_push_used_burst(&b->dev, b->used, (uint32_t)got) : got;
}

static const struct rb_ops vq_lat_ops = {
	.fwd_send = lat_fwd_send, .fwd_recv = lat_fwd_recv,
	.back_send = lat_back_send, .back_recv = lat_back_recv,
};

static const struct rb_ops vq_stream_ops = {
	.fwd_send = stream_send, .fwd_recv = stream_recv,
};

/*
 * A, before each run: take back what the previous run left used (a stream
 * ends with chains returned but not reclaimed), so that the latency echo
 * and the free count start clean. B has finished that run (the launcher
 * waited for it) and pushes nothing new until we post.
 */
static int
vq_drain(struct rb_job *j)
{
	struct vq_drv_side *a = &((struct rb_virtq *)j->ch)->a;
	void *done[PVB_RB_MAX_BURST];
	int rc;

	while ((rc = vq_reclaim(a, done, RTE_DIM(done))) > 0)
		;
	return rc < 0 ? rb_fail(j, rc) : 0;
}

static int
vq_lat_a(void *arg)
{
	int rc = vq_drain(arg);

	return rc != 0 ? rc : rb_lat_initiator(arg, &vq_lat_ops);
}

/* GCC cannot tell that a receive returning 1 filled objs[0] (the echo's obj) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
static int
vq_lat_b(void *arg)
{
	return rb_lat_echo(arg, &vq_lat_ops);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static int
vq_stream_tx(void *arg)
{
	int rc = vq_drain(arg);

	if (rc != 0)
		return rc;
	rb_short_stream(arg);
	return rb_stream_tx(arg, &vq_stream_ops);
}

static int
vq_stream_rx(void *arg)
{
	return rb_stream_rx(arg, &vq_stream_ops);
}

void
rb_short_stream(struct rb_job *j)
{
	uint64_t now = rte_rdtsc();

	if (j->deadline > now)
		j->deadline = now + (j->deadline - now) / RB_SHORT_STREAM_DIV;
}

static void
vq_destroy(void *ch)
{
	struct rb_virtq *v = ch;

	if (v == NULL)
		return;
	rte_memzone_free(v->mz);
	rte_free(v->a.bufs);
	rte_free(v->extra);
	rte_free(v);
}

/* The device side, as a transport would set it up: size, three addresses, ready. */
static int
vq_dev_setup(struct vq_dev_side *b, const struct pvb_virtq_layout *l, void *host, uint16_t n)
{
	struct pvb_virtq_region r = { .gpa = VQ_GPA_BASE, .size = l->end_offset, .host = host };
	int rc = pvb_virtq_mem_init(&b->mem, &r, 1);

	if (rc != 0)
		return rc;
	pvb_virtq_dev_init(&b->dev, n);
	pvb_virtq_dev_set_size(&b->dev, n);
	b->dev.desc_table_addr = VQ_GPA_BASE;
	b->dev.avail_ring_addr = VQ_GPA_BASE + l->driver_area_offset;
	b->dev.used_ring_addr = VQ_GPA_BASE + l->device_area_offset;
	b->dev.ready = true;
	rc = pvb_virtq_dev_enable(&b->dev, &b->mem, VQ_FEATURES);
	if (rc != 0)
		return rc;
	(void)pvb_virtq_dev_set_notification(&b->dev, true);	/* poll mode: no kicks */
	return 0;
}

static int
vq_drv_setup(struct rb_virtq *v, const struct pvb_virtq_layout *l, uint8_t *host, uint16_t n)
{
	int rc = pvb_virtq_drv_init(&v->a.drv, n, host, host + l->driver_area_offset,
				    host + l->device_area_offset, v->extra, VQ_FEATURES);
	uint32_t k;

	if (rc != 0)
		return rc;
	for (k = 0; k < (uint32_t)n + PVB_RB_MAX_BURST; k++)
		v->a.bufs[k] = (struct pvb_virtq_buf){
			.gpa = VQ_GPA_BASE + l->req_offset + (uint64_t)(k & (n - 1u)) * VQ_BUF_LEN,
			.len = VQ_BUF_LEN, .write = false };
	pvb_virtq_drv_disable_cb(&v->a.drv);	/* poll mode: no used-buffer calls */
	return 0;
}

static void *
vq_create(const struct rb_params *p, int socket, unsigned int id)
{
	char name[RTE_MEMZONE_NAMESIZE];
	struct pvb_virtq_layout l;
	struct rb_virtq *v;
	int rc;

	if (pvb_virtq_layout(1, p->ring_size, VQ_FEATURES, VQ_BUF_LEN, &l) != 0) {
		fprintf(stderr, "pvb-ringbench: virtq: --ring-size %u: a split queue holds at "
			"most %u entries\n", p->ring_size, PVB_VIRTQ_MAX_SIZE);
		return NULL;
	}
	v = rte_zmalloc_socket("rb_virtq", sizeof(*v), 128, socket);
	if (v == NULL)
		return NULL;
	v->extra = rte_zmalloc_socket("rb_virtq_extra", p->ring_size * sizeof(*v->extra), 64,
				      socket);
	v->a.bufs = rte_zmalloc_socket("rb_virtq_bufs", (p->ring_size + PVB_RB_MAX_BURST) *
				       sizeof(*v->a.bufs), 64, socket);
	if (v->extra == NULL || v->a.bufs == NULL)
		goto fail;
	snprintf(name, sizeof(name), "rb_virtq_%u", id);
	v->mz = rte_memzone_reserve_aligned(name, l.end_offset, socket, 0, 4096);
	if (v->mz == NULL) {
		fprintf(stderr, "pvb-ringbench: memzone %s: %s\n", name, rte_strerror(rte_errno));
		goto fail;
	}
	memset(v->mz->addr, 0, l.end_offset);	/* flags, indices and event words start at 0 */
	rc = vq_dev_setup(&v->b, &l, v->mz->addr, (uint16_t)p->ring_size);
	if (rc == 0)
		rc = vq_drv_setup(v, &l, v->mz->addr, (uint16_t)p->ring_size);
	if (rc != 0) {
		fprintf(stderr, "pvb-ringbench: virtq: %s (%s)\n", strerror(-rc),
			pvb_virtq_fault_str(v->b.dev.fault));
		goto fail;
	}
	return v;
fail:
	vq_destroy(v);
	return NULL;
}

const struct rb_kind rb_kind_virtq = {
	.name = "virtq",
	.desc = "virtio split virtqueue (lib/virtq), driver on A, device on B, 1-buffer chains",
	.create = vq_create,
	.destroy = vq_destroy,
	.lat_a = vq_lat_a,
	.lat_b = vq_lat_b,
	.stream_tx = vq_stream_tx,
	.stream_rx = vq_stream_rx,
};
