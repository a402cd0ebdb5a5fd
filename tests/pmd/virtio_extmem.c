/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * virtio_extmem: net_pvb_virtio's own API (rte_pmd_pvb_virtio.h) against a
 * live back-end. dts/test_virtio_extmem.py runs it against stock net_vhost
 * (and net_pvb_vhost) in a dpdk-testpmd that forwards what it receives into
 * a pcap file.
 *
 *   virtio_extmem [EAL args: --vdev net_pvb_virtio0,path=S ...] --
 *                 --frames IN.pcap [--unshared-every M] [--link-timeout S]
 *
 * With the session up, a memfd region is added (the port sends the memory
 * table again), the frames of IN.pcap but the last are written into it and
 * sent as mbufs with external buffers, some of them as chains of several.
 * Frame i with i % M == M / 2 goes from memory the back-end cannot see
 * instead (malloc'd, another memfd, across either end of the added region,
 * or a chain whose second segment is malloc'd): the port must drop it and
 * count it (tx_q0_unshared_memory). Every external buffer's free callback
 * must run once: for a dropped frame in the burst that took it, for the
 * others once the back-end has read them. Then frames i % M == 0 go again
 * in plain mbufs of a pool in an external malloc heap whose memory is
 * added. Then the calls that must fail do, with the errno the header gives;
 * the table is filled up to what DPDK's memory leaves (8 regions, DPDK's
 * own counted here from its segment fds), once as it is and once with a
 * hole punched in DPDK's memory; the last frame of IN.pcap goes from the
 * last region that fitted. Removing the first region makes a frame in it
 * unshared.
 *
 * One line sums it up: "virtio_extmem: result=ok|FAIL key=value ...". Exit
 * 0 when every check held, 1 when one failed (each said on a FAIL line), 2
 * when it could not run (no link, bad arguments).
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_memory.h>

#include "rte_pmd_pvb_virtio.h"

#define PROG		"virtio_extmem"
#define REGION_LEN	(4u << 20)		/* the first region added */
#define MAP_LEN		(3 * REGION_LEN)	/* mapped: the region, unshared memory around it */
#define SIDE_LEN	(4u << 20)		/* another memfd, never added; the malloc'd block */
#define SMALL_LEN	(64u << 10)		/* each region of the capacity checks */
#define TABLE_REGIONS	8			/* the memory table (rte_pmd_pvb_virtio.h) */
#define MAX_FRAMES	2048
#define MAX_SEGS	(3 * MAX_FRAMES + 16)
#define BURST		32
#define WAIT_S		10			/* for the back-end to read what was sent */
#define HOLE_CHUNK	(8u << 20)		/* three of these, the middle one freed */
#define EDGE		(16u << 10)		/* the ends of the region: frames across them */
#define HEAP_LEN	(4u << 20)		/* an external malloc heap, an mbuf pool in it */
#define HEAP_ROOM	(RTE_PKTMBUF_HEADROOM + 9216)	/* a 9000-byte frame in one mbuf */
#define HEAP_FRAMES	32

/* Where a frame's bytes are, as the port must see it. */
enum place {
	SHARED,			/* in the added region, one segment or a chain */
	HEAP,			/* malloc'd */
	OTHER_FD,		/* a memfd mapped MAP_SHARED, never added */
	ACROSS_START,		/* starts before the added region, ends in it */
	ACROSS_END,		/* starts in the added region, ends after it */
	CHAIN_HEAP_TAIL,	/* first segment in the region, second malloc'd */
};

static const char *const place_name[] = {
	"shared", "heap", "other_fd", "across_start", "across_end", "chain_heap_tail",
};

/* One external buffer: its shared info and how often its free callback ran. */
struct seg {
	struct rte_mbuf_ext_shared_info shinfo;
	uint32_t frame;
	uint32_t freed;
	bool unshared;		/* of a frame the port must drop */
};

struct frame {
	uint8_t *bytes;
	uint16_t len;
};

static struct frame frames[MAX_FRAMES];
static uint32_t nframes;
static struct seg segs[MAX_SEGS];
static uint32_t nsegs;
static uint32_t freed_total;	/* free callbacks run, all buffers */
static unsigned int failures;

static void __rte_format_printf(1, 2)
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf(PROG ": FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	failures++;
}

static void __rte_noreturn __rte_format_printf(1, 2)
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

#define CHECK_RC(call, want) check_rc(#call, (call), (want))

static void
check_rc(const char *what, int rc, int want)
{
	if (rc != want)
		fail("%s returned %d (%s), want %d (%s)", what, rc, strerror(-rc), want,
		     strerror(-want));
}

/* ---- the frames: a pcap file, parsed by hand (no libpcap in a test program) ------ */

static uint32_t
u32_of(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static void
read_frames(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t gh[24], rh[16];
	uint32_t magic, len;
	bool swap;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	if (fread(gh, 1, sizeof(gh), f) != sizeof(gh))
		die("%s: not a pcap file (short header)", path);
	magic = u32_of(gh, false);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		swap = false;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		swap = true;
	else
		die("%s: not a pcap file (magic %#x)", path, magic);
	while (fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
		len = u32_of(rh + 8, swap);
		if (nframes == MAX_FRAMES)
			die("%s: more than %u frames", path, MAX_FRAMES);
		if (len < RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN || len > UINT16_MAX)
			die("%s: frame %u is %u bytes", path, nframes, len);
		frames[nframes].bytes = malloc(len);
		frames[nframes].len = (uint16_t)len;
		if (frames[nframes].bytes == NULL ||
		    fread(frames[nframes].bytes, 1, len, f) != len)
			die("%s: frame %u truncated", path, nframes);
		nframes++;
	}
	fclose(f);
	if (nframes < 2)
		die("%s: %u frames; at least 2, please", path, nframes);
}

/* ---- memory ------------------------------------------------------------------------ */

/* A memfd of @p len bytes mapped MAP_SHARED; its fd in @p fd. */
static uint8_t *
memfd_map(const char *name, size_t len, int *fd)
{
	void *va;

	*fd = memfd_create(name, MFD_CLOEXEC);
	if (*fd < 0 || ftruncate(*fd, (off_t)len) != 0)
		die("memfd %s: %s", name, strerror(errno));
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (va == MAP_FAILED)
		die("mmap %s: %s", name, strerror(errno));
	return va;
}

/* Bump allocation in [*cur, end): 64-byte aligned, a gap between two pieces. */
static uint8_t *
take(uint8_t **cur, const uint8_t *end, size_t len)
{
	uint8_t *p = RTE_PTR_ALIGN_CEIL(*cur, 64);

	if (p + len > end)
		die("no room left for %zu bytes", len);
	*cur = p + len + 64;
	return p;
}

struct run {
	int fd;
	uint64_t va, len, off;
};

struct runs {
	struct run r[64];
	uint32_t n;
	bool no_fd;
};

static int
add_run(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	struct runs *t = arg;
	uint64_t va = (uintptr_t)ms->addr, off;
	uint32_t i;
	int fd;

	if (msl->external)
		return 0;
	fd = rte_memseg_get_fd_thread_unsafe(ms);
	if (fd < 0 || rte_memseg_get_fd_offset_thread_unsafe(ms, &off) != 0) {
		t->no_fd = true;
		return -1;
	}
	for (i = 0; i < t->n; i++)
		if (t->r[i].fd == fd && t->r[i].va + t->r[i].len == va &&
		    t->r[i].off + t->r[i].len == off) {
			t->r[i].len += ms->len;
			return 0;
		}
	if (t->n == RTE_DIM(t->r))
		return -1;
	t->r[t->n++] = (struct run){ .fd = fd, .va = va, .len = ms->len, .off = off };
	return 0;
}

/*
 * The regions DPDK's memory takes in a memory table: its segments, a region
 * for each run that is contiguous both in our address space and in one fd.
 */
static uint32_t
dpdk_regions(void)
{
	struct runs t = { .n = 0 };

	if (rte_memseg_walk(add_run, &t) != 0) {
		if (t.no_fd)
			die("DPDK keeps no fd for its memory: run with --in-memory");
		die("DPDK's memory is in more than %zu pieces", RTE_DIM(t.r));
	}
	return t.n;
}

/* ---- external buffers ---------------------------------------------------------- */

static void
seg_freed(void *addr, void *opaque)
{
	struct seg *s = opaque;

	RTE_SET_USED(addr);
	__atomic_fetch_add(&s->freed, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&freed_total, 1, __ATOMIC_RELEASE);
}

/* An mbuf whose buffer is @p len bytes at @p where, holding @p bytes (copied there). */
static struct rte_mbuf *
ext_mbuf(struct rte_mempool *mp, uint8_t *where, const uint8_t *bytes, uint16_t len,
	 uint32_t frame)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct seg *s;

	if (m == NULL)
		die("no mbuf left in %s", mp->name);
	if (nsegs == MAX_SEGS)
		die("more than %u external buffers", MAX_SEGS);
	s = &segs[nsegs++];
	s->frame = frame;
	s->shinfo.free_cb = seg_freed;
	s->shinfo.fcb_opaque = s;
	rte_mbuf_ext_refcnt_set(&s->shinfo, 1);
	memcpy(where, bytes, len);
	rte_pktmbuf_attach_extbuf(m, where, RTE_BAD_IOVA, len, &s->shinfo);
	m->data_len = len;
	m->pkt_len = len;
	return m;
}

static uint32_t
freed_now(void)
{
	return __atomic_load_n(&freed_total, __ATOMIC_ACQUIRE);
}

/* ---- the port ------------------------------------------------------------------ */

static uint16_t port;

static uint64_t
xstat(const char *name)
{
	uint64_t id, v;

	if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0 ||
	    rte_eth_xstats_get_by_id(port, &id, &v, 1) != 1) {
		fail("port %u has no xstat %s", port, name);
		return UINT64_MAX;
	}
	return v;
}

static bool
link_up(void)
{
	struct rte_eth_link l;

	return rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP;
}

/* The port, and another one that is not net_pvb_virtio (UINT16_MAX: none). */
static void
find_ports(uint16_t *other)
{
	struct rte_eth_dev_info info;
	bool found = false;
	uint16_t p;

	*other = UINT16_MAX;
	RTE_ETH_FOREACH_DEV(p) {
		if (rte_eth_dev_info_get(p, &info) != 0)
			continue;
		if (!found && strcmp(info.driver_name, "net_pvb_virtio") == 0) {
			port = p;
			found = true;
		} else if (*other == UINT16_MAX) {
			*other = p;
		}
	}
	if (!found)
		die("no net_pvb_virtio port (--vdev net_pvb_virtio0,path=SOCKET)");
}

static void
port_start(struct rte_mempool *rx_pool, unsigned int link_timeout)
{
	struct rte_eth_conf conf;
	uint64_t end;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc == 0)
		/* the frames go up to 9000 bytes */
		rc = rte_eth_dev_set_mtu(port, 9000);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, 256, rte_socket_id(), NULL, rx_pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, 256, rte_socket_id(), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0)
		die("port %u: set-up failed: %s", port, strerror(-rc));
	end = rte_get_timer_cycles() + (uint64_t)link_timeout * rte_get_timer_hz();
	while (!link_up()) {
		if (rte_get_timer_cycles() > end)
			die("port %u: link still down after %u s: is a back-end listening on the "
			    "socket (or connecting, with server=1)?", port, link_timeout);
		rte_delay_us_sleep(10 * 1000);
	}
}

/*
 * Once the back-end stopped reading (it stalls on a descriptor it cannot
 * translate, for one), waiting again is no use: every later wait gives up
 * at once, and the failure is already said.
 */
static bool stalled;

/* Poll the port until @p done holds: true, or false (said) after WAIT_S. */
static bool
wait_for(bool (*done)(void *), void *arg, const char *what)
{
	uint64_t end = rte_get_timer_cycles() + WAIT_S * rte_get_timer_hz();

	while (!done(arg)) {
		if (stalled || rte_get_timer_cycles() > end) {
			if (!stalled)
				fail("%s: not within %u s", what, WAIT_S);
			stalled = true;
			return false;
		}
		/* the port frees what the back-end has read at its own pace: ask now */
		rte_eth_tx_done_cleanup(port, 0, 0);
		rte_delay_us_sleep(100);
	}
	return true;
}

struct sending {
	struct rte_mbuf **m;
	uint32_t n, sent;
};

static bool
all_sent(void *arg)
{
	struct sending *s = arg;

	if (s->sent < s->n)
		s->sent += rte_eth_tx_burst(port, 0, s->m + s->sent,
					    (uint16_t)RTE_MIN(s->n - s->sent, (uint32_t)BURST));
	return s->sent == s->n;
}

/* Send @p n mbufs, waiting for room; the number the port took (the rest are freed). */
static uint32_t
send_all(struct rte_mbuf **m, uint32_t n)
{
	struct sending s = { .m = m, .n = n, .sent = 0 };

	if (!wait_for(all_sent, &s, "the port takes every frame"))
		printf(PROG ": the port took %u of %u frames\n", s.sent, n);
	rte_pktmbuf_free_bulk(m + s.sent, n - s.sent);
	return s.sent;
}

static bool
freed_reached(void *arg)
{
	return freed_now() >= *(uint32_t *)arg;
}

/* Until @p want external buffers in all were freed. */
static bool
wait_freed(uint32_t want)
{
	if (wait_for(freed_reached, &want, "every external buffer sent is freed"))
		return true;
	printf(PROG ": %u of %u external buffers freed\n", freed_now(), want);
	return false;
}

/* Each buffer of [first, last) freed once; the first few that were not, said. */
static void
check_freed_once(uint32_t first, uint32_t last, const char *when)
{
	uint32_t i, bad = 0, f;

	for (i = first; i < last; i++) {
		f = __atomic_load_n(&segs[i].freed, __ATOMIC_RELAXED);
		if (f != 1 && bad++ < 8)
			fail("%s: external buffer %u (frame %u) freed %u times", when, i,
			     segs[i].frame, f);
	}
	if (bad > 8)
		fail("%s: %u external buffers in all not freed once", when, bad);
}

/* ---- the checks -------------------------------------------------------------------- */

static int memfd;			/* MAP_LEN bytes; the region added is its middle third */
static uint8_t *map, *region, *region_end;	/* map + REGION_LEN; less EDGE */
static uint8_t *heap, *heap_cur, *side, *side_cur;
static struct rte_mempool *ext_pool;

/* Add [va, va + len) of @p fd at @p off; with a session up the table goes again. */
static int
add_counted(void *va, size_t len, int fd, uint64_t off, uint64_t *updates)
{
	uint64_t before = xstat("mem_table_updates");
	int rc = rte_pmd_pvb_virtio_mem_add(port, va, len, fd, off);

	*updates = xstat("mem_table_updates") - before;
	return rc;
}

/* Frame @p i from where @p p puts it: one mbuf, or a chain. */
static struct rte_mbuf *
place_frame(uint32_t i, enum place p, uint32_t shared_seq, uint8_t **cur)
{
	const struct frame *f = &frames[i];
	uint16_t len = f->len, a, b;
	struct rte_mbuf *m, *t;

	switch (p) {
	case SHARED:
		/* some as chains of two or three segments, apart in the region */
		if (shared_seq % 7 == 3 || shared_seq % 7 == 5) {
			a = (uint16_t)(len / 3);
			b = shared_seq % 7 == 3 ? (uint16_t)(2 * len / 3) : len;
			m = ext_mbuf(ext_pool, take(cur, region_end, a), f->bytes, a, i);
			t = ext_mbuf(ext_pool, take(cur, region_end, b - a), f->bytes + a,
				     (uint16_t)(b - a), i);
			if (rte_pktmbuf_chain(m, t) != 0)
				die("rte_pktmbuf_chain");
			if (b < len) {
				t = ext_mbuf(ext_pool, take(cur, region_end, len - b), f->bytes + b,
					     (uint16_t)(len - b), i);
				if (rte_pktmbuf_chain(m, t) != 0)
					die("rte_pktmbuf_chain");
			}
			return m;
		}
		return ext_mbuf(ext_pool, take(cur, region_end, len), f->bytes, len, i);
	case HEAP:
		return ext_mbuf(ext_pool, take(&heap_cur, heap + SIDE_LEN, len), f->bytes, len, i);
	case OTHER_FD:
		return ext_mbuf(ext_pool, take(&side_cur, side + SIDE_LEN, len), f->bytes, len, i);
	case ACROSS_START:
		return ext_mbuf(ext_pool, region - len / 2, f->bytes, len, i);
	case ACROSS_END:
		return ext_mbuf(ext_pool, region + REGION_LEN - len / 2, f->bytes, len, i);
	case CHAIN_HEAP_TAIL:
		a = (uint16_t)(len / 2);
		m = ext_mbuf(ext_pool, take(cur, region_end, a), f->bytes, a, i);
		t = ext_mbuf(ext_pool, take(&heap_cur, heap + SIDE_LEN, len - a), f->bytes + a,
			     (uint16_t)(len - a), i);
		if (rte_pktmbuf_chain(m, t) != 0)
			die("rte_pktmbuf_chain");
		return m;
	}
	return NULL;
}

/* What the u-th unshared frame is made of: each edge once, then the others in turn. */
static enum place
unshared_place(uint32_t u)
{
	static const enum place order[] = { ACROSS_START, ACROSS_END, HEAP, OTHER_FD,
					    CHAIN_HEAP_TAIL };

	return u < RTE_DIM(order) ? order[u] : order[2 + (u - 2) % 3];
}

struct result {
	uint32_t shared, unshared, shared_segs, unshared_segs, chains, heap_frames;
	uint64_t add_updates, del_updates, unshared_xstat;
	uint32_t dpdk_regions, capacity, hole_regions, hole_capacity;
	uint64_t mem_event_updates;
	uint32_t places[RTE_DIM(place_name)];
	bool tail_sent;
};

/* Every frame but the last, with the unshared ones among them; all free callbacks run. */
static void
send_frames(struct result *res, uint32_t every)
{
	struct rte_mbuf **m = calloc(nframes, sizeof(*m));
	uint8_t *cur = region + EDGE;	/* clear of the frames across its ends */
	uint32_t i, k, n = nframes - 1, seg0 = nsegs, late = 0, freed0;
	enum place p;

	if (m == NULL)
		die("out of memory");
	for (i = 0; i < n; i++) {
		bool unshared = i % every == every / 2;
		uint32_t before = nsegs;

		p = unshared ? unshared_place(res->unshared) : SHARED;
		m[i] = place_frame(i, p, res->shared, &cur);
		res->places[p]++;
		for (k = before; k < nsegs; k++)
			segs[k].unshared = unshared;
		if (unshared) {
			res->unshared++;
			res->unshared_segs += nsegs - before;
		} else {
			res->shared++;
			res->shared_segs += nsegs - before;
			res->chains += m[i]->nb_segs > 1;
		}
	}
	freed0 = freed_now();
	if (send_all(m, n) == n) {
		/* a frame the port cannot send is freed in the burst that took it */
		for (k = seg0; k < nsegs; k++)
			late += segs[k].unshared &&
				__atomic_load_n(&segs[k].freed, __ATOMIC_RELAXED) == 0;
		if (late != 0)
			fail("%u buffers of unshared frames not freed by the burst that took them",
			     late);
	}
	wait_freed(freed0 + (nsegs - seg0));
	check_freed_once(seg0, nsegs, "frames sent");
	res->unshared_xstat = xstat("tx_q0_unshared_memory");
	if (res->unshared_xstat != res->unshared)
		fail("tx_q0_unshared_memory %" PRIu64 ", %u frames were unshared",
		     res->unshared_xstat, res->unshared);
	free(m);
}

static bool
pool_back(void *mp)
{
	return rte_mempool_in_use_count(mp) == 0;
}

/*
 * An mbuf pool in the external heap. The heap's pages have no IOVA (the
 * port uses virtual addresses), so objects need not be IOVA-contiguous:
 * rte_pktmbuf_pool_create() would insist, and fail on 4 KB pages.
 */
static struct rte_mempool *
heap_pool(int socket)
{
	struct rte_pktmbuf_pool_private priv = { .mbuf_data_room_size = HEAP_ROOM };
	struct rte_mempool *mp;
	int rc;

	mp = rte_mempool_create_empty("extmem_heap", 2 * HEAP_FRAMES - 1,
				      sizeof(struct rte_mbuf) + HEAP_ROOM, 0, sizeof(priv), socket,
				      RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		die("an mbuf pool in the external heap: %s", rte_strerror(rte_errno));
	rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL);
	if (rc == 0) {
		rte_pktmbuf_pool_init(mp, &priv);
		rc = rte_mempool_populate_default(mp);
	}
	if (rc < 0)
		die("an mbuf pool in the external heap: %s", strerror(-rc));
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
}

/*
 * Memory that is not DPDK's made a malloc heap of its own (as an
 * application does with another process's memory), an mbuf pool in it, the
 * memory added to the table: frames i % @p every == 0 go again, in plain
 * mbufs of that pool, the header pushed into their headroom there.
 */
static void
heap_frames(struct result *res, uint32_t every)
{
	struct rte_mbuf *m[HEAP_FRAMES];
	struct rte_mempool *mp;
	uint64_t updates;
	uint32_t i, n = 0;
	uint8_t *va;
	char *d;
	int fd;

	va = memfd_map("extmem_heap", HEAP_LEN, &fd);
	if (rte_malloc_heap_create("extmem_heap") != 0 ||
	    rte_malloc_heap_memory_add("extmem_heap", va, HEAP_LEN, NULL, 0,
				       (size_t)getpagesize()) != 0)
		die("an external malloc heap: %s", rte_strerror(rte_errno));
	CHECK_RC(add_counted(va, HEAP_LEN, fd, 0, &updates), 0);
	if (updates != 1)
		fail("adding the external heap's memory sent the table %" PRIu64 " times, want 1",
		     updates);
	mp = heap_pool(rte_malloc_heap_get_socket("extmem_heap"));
	for (i = 0; i < nframes - 1 && n < HEAP_FRAMES; i += every) {
		m[n] = rte_pktmbuf_alloc(mp);
		d = m[n] == NULL ? NULL : rte_pktmbuf_append(m[n], frames[i].len);
		if (d == NULL)
			die("frame %u (%u bytes) in an mbuf of the external heap", i, frames[i].len);
		memcpy(d, frames[i].bytes, frames[i].len);
		n++;
	}
	res->heap_frames = send_all(m, n);
	wait_for(pool_back, mp, "every mbuf of the external heap's pool comes back");
	CHECK_RC(rte_pmd_pvb_virtio_mem_del(port, va), 0);
	rte_mempool_free(mp);
	if (rte_malloc_heap_memory_remove("extmem_heap", va, HEAP_LEN) != 0 ||
	    rte_malloc_heap_destroy("extmem_heap") != 0)
		fail("the external heap did not go: %s", rte_strerror(rte_errno));
	munmap(va, HEAP_LEN);
	close(fd);
}

/* Calls that must fail, and change nothing. */
static void
bad_calls(uint16_t other)
{
	uint64_t updates = xstat("mem_table_updates");
	void *va = region;
	uint8_t stack;

	CHECK_RC(rte_pmd_pvb_virtio_mem_add(RTE_MAX_ETHPORTS, va, REGION_LEN, memfd, 0),
		 -ENODEV);
	CHECK_RC(rte_pmd_pvb_virtio_mem_del(RTE_MAX_ETHPORTS, va), -ENODEV);
	if (other != UINT16_MAX) {
		CHECK_RC(rte_pmd_pvb_virtio_mem_add(other, map, REGION_LEN, memfd, 0), -ENODEV);
		CHECK_RC(rte_pmd_pvb_virtio_mem_del(other, va), -ENODEV);
	}
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, NULL, REGION_LEN, memfd, 0), -EINVAL);
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, map, 0, memfd, 0), -EINVAL);
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, map, REGION_LEN, -1, 0), -EINVAL);
	/* the fd is MAP_LEN bytes: a range or an offset beyond it */
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, map, MAP_LEN + 4096, memfd, 0), -EINVAL);
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, map, REGION_LEN, memfd, MAP_LEN - REGION_LEN +
					    4096), -EINVAL);
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, map, REGION_LEN, memfd, UINT64_MAX - 4095),
		 -EINVAL);
	/* the range wraps around the address space */
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, (void *)(UINTPTR_MAX - 4095), 8192, memfd, 0),
		 -EINVAL);
	/* overlaps with the region added: the same, its last byte, its first, a range inside */
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, region, REGION_LEN, memfd, REGION_LEN), -EINVAL);
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, region + REGION_LEN - 1, REGION_LEN, memfd,
					    2 * REGION_LEN - 1), -EINVAL);
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, map, REGION_LEN + 1, memfd, 0), -EINVAL);
	CHECK_RC(rte_pmd_pvb_virtio_mem_add(port, region + 4096, 4096, memfd, REGION_LEN + 4096),
		 -EINVAL);
	/* nothing added there: inside the region, another address */
	CHECK_RC(rte_pmd_pvb_virtio_mem_del(port, region + 4096), -ENOENT);
	CHECK_RC(rte_pmd_pvb_virtio_mem_del(port, &stack), -ENOENT);
	CHECK_RC(rte_pmd_pvb_virtio_mem_del(port, NULL), -ENOENT);
	if (xstat("mem_table_updates") != updates)
		fail("calls that failed sent the memory table (mem_table_updates %" PRIu64
		     " -> %" PRIu64 ")", updates, xstat("mem_table_updates"));
}

/*
 * Regions of SMALL_LEN, each its own memfd, added until the port refuses
 * one: @p added are in the table beside DPDK's already, and @p want in all
 * must fit (the table's 8 less what DPDK's memory takes). The one after
 * must fail with -ENOSPC and send nothing. The regions added, in @p va.
 */
static uint32_t
fill_table(uint32_t added, uint32_t want, uint8_t **va)
{
	uint32_t n = 0;
	uint64_t updates;
	int rc;

	for (;;) {
		uint8_t *p;
		int fd;

		if (added + n > TABLE_REGIONS)	/* more than the table holds went in */
			break;
		p = memfd_map("extmem_small", SMALL_LEN, &fd);
		rc = add_counted(p, SMALL_LEN, fd, 0, &updates);
		if (rc != 0) {
			munmap(p, SMALL_LEN);
			close(fd);
			if (rc != -ENOSPC)
				fail("region %u of the table: rte_pmd_pvb_virtio_mem_add %d (%s), "
				     "want 0 or -ENOSPC", added + n + 1, rc, strerror(-rc));
			if (updates != 0)
				fail("a region refused sent the table %" PRIu64 " times", updates);
			break;
		}
		/* the fd is duplicated: ours may go at once */
		close(fd);
		if (updates != 1)
			fail("adding a region with the session up sent the table %" PRIu64
			     " times, want 1", updates);
		va[n++] = p;
	}
	if (added + n != want)
		fail("%u regions added beside DPDK's, want %u (the table holds %u, DPDK's "
		     "memory takes %u)", added + n, want, TABLE_REGIONS, TABLE_REGIONS - want);
	return n;
}

static void
del_all(uint8_t **va, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		CHECK_RC(rte_pmd_pvb_virtio_mem_del(port, va[i]), 0);
		munmap(va[i], SMALL_LEN);
	}
}

static void
capacity(struct result *res)
{
	uint8_t *va[TABLE_REGIONS + 1], *chunk[3];
	struct rte_mbuf *m;
	uint64_t before;
	uint32_t n, i, want, freed0;

	/* as DPDK's memory is now; one region (the first) is added already */
	res->dpdk_regions = dpdk_regions();
	want = TABLE_REGIONS - res->dpdk_regions;
	res->capacity = want;
	n = fill_table(1, want, va);
	del_all(va, n);

	/*
	 * DPDK's memory grows (the port sends the table before it is handed out)
	 * and gets a hole when the middle of three chunks goes back: in dynamic
	 * memory its pages are released, and the table needs one region more.
	 */
	before = xstat("mem_table_updates");
	for (i = 0; i < RTE_DIM(chunk); i++) {
		chunk[i] = rte_malloc("extmem_hole", HOLE_CHUNK, 0);
		if (chunk[i] == NULL)
			die("rte_malloc of %u bytes failed", HOLE_CHUNK);
		memset(chunk[i], 0x5a, HOLE_CHUNK);
	}
	rte_free(chunk[1]);
	res->mem_event_updates = xstat("mem_table_updates") - before;
	if (!link_up())
		fail("link down after DPDK's memory changed");
	res->hole_regions = dpdk_regions();
	want = TABLE_REGIONS - res->hole_regions;
	res->hole_capacity = want;
	n = fill_table(1, want, va);

	/* the last frame, from the last region that fitted: the back-end has it mapped */
	freed0 = freed_now();
	i = nframes - 1;
	m = ext_mbuf(ext_pool, n > 0 ? va[n - 1] : region_end,
		     frames[i].bytes, frames[i].len, i);
	res->tail_sent = send_all(&m, 1) == 1;
	wait_freed(freed0 + 1);
	del_all(va, n);
	rte_free(chunk[0]);
	rte_free(chunk[2]);
}

static void
usage(void)
{
	fprintf(stderr, "usage: " PROG " [EAL args] -- --frames IN.pcap [--unshared-every M] "
		"[--link-timeout S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "frames", required_argument, NULL, 'f' },
		{ "unshared-every", required_argument, NULL, 'u' },
		{ "link-timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct result res = { .shared = 0 };
	struct rte_mempool *rx_pool;
	struct rte_eth_stats st;
	unsigned int every = 25, link_timeout = 10;
	uint64_t before, updates;
	const char *in = NULL;
	struct rte_mbuf *m;
	uint32_t freed0;
	uint16_t other;
	int rc, c, side_fd;

	rc = rte_eal_init(argc, argv);
	if (rc < 0)
		die("EAL init failed: %s", rte_strerror(rte_errno));
	argc -= rc;
	argv += rc;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			in = optarg;
			break;
		case 'u':
			every = (unsigned int)atoi(optarg);
			break;
		case 't':
			link_timeout = (unsigned int)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (in == NULL || every < 2 || link_timeout == 0)
		usage();
	read_frames(in);
	find_ports(&other);

	rx_pool = rte_pktmbuf_pool_create("extmem_rx", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  rte_socket_id());
	/* mbufs without a buffer of their own: each gets an external one */
	ext_pool = rte_pktmbuf_pool_create("extmem_ext", 4 * MAX_FRAMES - 1, 0, 0, 0,
					   rte_socket_id());
	if (rx_pool == NULL || ext_pool == NULL)
		die("mbuf pools: %s", rte_strerror(rte_errno));
	map = memfd_map("extmem_region", MAP_LEN, &memfd);
	region = map + REGION_LEN;
	region_end = region + REGION_LEN - EDGE;
	side = side_cur = memfd_map("extmem_side", SIDE_LEN, &side_fd);
	heap = heap_cur = malloc(SIDE_LEN);
	if (heap == NULL)
		die("out of memory");

	port_start(rx_pool, link_timeout);

	/* the session is up: the table goes again, with the region (the fd's middle third) */
	rc = add_counted(region, REGION_LEN, memfd, REGION_LEN, &res.add_updates);
	if (rc != 0)
		die("rte_pmd_pvb_virtio_mem_add of the region: %d (%s)", rc, strerror(-rc));
	if (res.add_updates != 1)
		fail("adding a region with the session up sent the table %" PRIu64
		     " times, want 1", res.add_updates);

	send_frames(&res, every);
	heap_frames(&res, every);
	bad_calls(other);
	capacity(&res);

	/* the region goes: a frame in it is unshared from now on */
	before = xstat("mem_table_updates");
	CHECK_RC(rte_pmd_pvb_virtio_mem_del(port, region), 0);
	res.del_updates = xstat("mem_table_updates") - before;
	if (res.del_updates != 1)
		fail("removing a region with the session up sent the table %" PRIu64
		     " times, want 1", res.del_updates);
	CHECK_RC(rte_pmd_pvb_virtio_mem_del(port, region), -ENOENT);
	freed0 = freed_now();
	m = ext_mbuf(ext_pool, region + EDGE, frames[0].bytes, frames[0].len, 0);
	if (send_all(&m, 1) != 1 || freed_now() != freed0 + 1)
		fail("a frame in the region removed was not dropped in the burst");
	if (xstat("tx_q0_unshared_memory") != res.unshared + 1)
		fail("tx_q0_unshared_memory %" PRIu64 " after a frame in the region removed, "
		     "want %u", xstat("tx_q0_unshared_memory"), res.unshared + 1);
	/* and it can come back */
	rc = add_counted(region, REGION_LEN, memfd, REGION_LEN, &updates);
	CHECK_RC(rc, 0);
	CHECK_RC(rte_pmd_pvb_virtio_mem_del(port, region), 0);

	/* one session from start to end, and nothing else went wrong */
	if (xstat("connects") != 1 || xstat("disconnects") != 0 ||
	    xstat("session_failures") != 0 || xstat("ring_broken") != 0)
		fail("the session did not last: connects %" PRIu64 ", disconnects %" PRIu64
		     ", session_failures %" PRIu64 ", ring_broken %" PRIu64, xstat("connects"),
		     xstat("disconnects"), xstat("session_failures"), xstat("ring_broken"));
	if (xstat("tx_q0_too_many_segments") != 0 || xstat("tx_q0_bad_used") != 0)
		fail("tx_q0_too_many_segments %" PRIu64 ", tx_q0_bad_used %" PRIu64,
		     xstat("tx_q0_too_many_segments"), xstat("tx_q0_bad_used"));
	if (rte_eth_stats_get(port, &st) != 0)
		fail("rte_eth_stats_get");
	else if (st.opackets != res.shared + res.heap_frames + res.tail_sent ||
		 st.oerrors != res.unshared + 1)
		fail("opackets %" PRIu64 " (want %u), oerrors %" PRIu64 " (want %u)", st.opackets,
		     res.shared + res.heap_frames + res.tail_sent, st.oerrors, res.unshared + 1);

	printf(PROG ": result=%s shared=%u shared_segs=%u chains=%u unshared=%u "
	       "unshared_segs=%u unshared_memory=%" PRIu64 " heap_frames=%u buffers=%u freed=%u "
	       "add_updates=%" PRIu64 " del_updates=%" PRIu64 " dpdk_regions=%u capacity=%u "
	       "hole_regions=%u hole_capacity=%u mem_event_updates=%" PRIu64 " tail=%u",
	       failures == 0 ? "ok" : "FAIL", res.shared, res.shared_segs, res.chains,
	       res.unshared, res.unshared_segs, res.unshared_xstat, res.heap_frames, nsegs,
	       freed_now(),
	       res.add_updates, res.del_updates, res.dpdk_regions, res.capacity,
	       res.hole_regions, res.hole_capacity, res.mem_event_updates, res.tail_sent);
	for (c = 0; c < (int)RTE_DIM(place_name); c++)
		printf(" place_%s=%u", place_name[c], res.places[c]);
	printf("\n");
	fflush(stdout);

	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_eal_cleanup();
	return failures == 0 ? 0 : 1;
}
