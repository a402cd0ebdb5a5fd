/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * memcpy: not a ring but the yardstick of rings that copy payloads: the
 * bandwidth of one core copying 1500-byte chunks (RB_VMBUS_LARGE) with the
 * C library's memcpy. Source and destination are 4 MiB each, so the working
 * set (8 MiB) is well past a 1-2 MiB L2 and inside the L3 of the machines
 * we run on; chunks start on cache lines and walk both buffers in order.
 *
 * Streaming: lcore B copies for --stream-ms / RB_SHORT_STREAM_DIV while A
 * idles; the rate is chunks per second (times 1500: bytes per second), the
 * same whatever the burst. "Round trip": the cycles of one chunk copy on A.
 */

#include <string.h>

#include <rte_malloc.h>

#include "rb_harness.h"

#define MC_BUF		(4u << 20)	/* each of source and destination */
#define MC_STRIDE	1536		/* RB_VMBUS_LARGE rounded up to a cache line */
#define MC_CHUNKS	(MC_BUF / MC_STRIDE)
#define MC_CHECK	64		/* chunks between clock reads */

struct rb_memcpy {
	uint8_t *src;
	uint8_t *dst;
	uint32_t next;		/* chunk A copies next (latency) */
};

/* Copy chunk @p k; return the one after it. */
static __rte_always_inline uint32_t
mc_copy(struct rb_memcpy *m, uint32_t k)
{
	memcpy(m->dst + (size_t)k * MC_STRIDE, m->src + (size_t)k * MC_STRIDE, RB_VMBUS_LARGE);
	return k + 1 == MC_CHUNKS ? 0 : k + 1;
}

static int
mc_lat_a(void *arg)
{
	struct rb_job *j = arg;
	struct rb_memcpy *m = j->ch;
	uint32_t total = j->p->warmup + j->p->samples, i;
	uint64_t t0;

	for (i = 0; i < total; i++) {
		t0 = rte_rdtsc();
		m->next = mc_copy(m, m->next);
		if (i >= j->p->warmup)
			j->samples[i - j->p->warmup] = rte_rdtsc() - t0;
	}
	return 0;
}

/* Nothing to echo: B only waits for A, as the launcher expects two sides. */
static int
mc_idle(void *arg __rte_unused)
{
	return 0;
}

static int
mc_stream_rx(void *arg)
{
	struct rb_job *j = arg;
	struct rb_memcpy *m = j->ch;
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_rdtsc(), t, n = 0;
	uint64_t end = t0 + hz * j->p->stream_ms / 1000 / RB_SHORT_STREAM_DIV;
	uint32_t k = 0, i;

	do {
		for (i = 0; i < MC_CHECK; i++)
			k = mc_copy(m, k);
		n += MC_CHECK;
		t = rte_rdtsc();
	} while (t < end && !rb_should_stop(j));
	j->moved = n;
	j->cycles = t - t0;
	return 0;
}

static void
mc_destroy(void *ch)
{
	struct rb_memcpy *m = ch;

	if (m == NULL)
		return;
	rte_free(m->src);
	rte_free(m->dst);
	rte_free(m);
}

static void *
mc_create(const struct rb_params *p __rte_unused, int socket, unsigned int id __rte_unused)
{
	struct rb_memcpy *m = rte_zmalloc_socket("rb_memcpy", sizeof(*m), 64, socket);

	if (m == NULL)
		return NULL;
	m->src = rte_malloc_socket("rb_memcpy_src", MC_BUF, 64, socket);
	m->dst = rte_malloc_socket("rb_memcpy_dst", MC_BUF, 64, socket);
	if (m->src == NULL || m->dst == NULL) {
		mc_destroy(m);
		return NULL;
	}
	/* touch every page now, not in the first measurement (rte_zmalloc may skip clean memory) */
	memset(m->src, 0x5a, MC_BUF);
	memset(m->dst, 0, MC_BUF);
	return m;
}

const struct rb_kind rb_kind_memcpy = {
	.name = "memcpy",
	.desc = "one core's memcpy of 1500-byte chunks, 2 x 4 MiB: the copy yardstick",
	.create = mc_create,
	.destroy = mc_destroy,
	.lat_a = mc_lat_a,
	.lat_b = mc_idle,
	.stream_tx = mc_idle,
	.stream_rx = mc_stream_rx,
};
