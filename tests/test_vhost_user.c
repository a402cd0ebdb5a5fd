/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Unit tests for lib/vhost_user (suite 'unit').
 *
 * A front-end (pvb_vu_front_*) and a back-end (pvb_vu_backend_handle) talk
 * over an AF_UNIX stream socketpair. The back-end runs in a thread that
 * serves exactly one message each time the test lets it (STEP): the test
 * calls a front-end function, which sends one message and may wait for its
 * reply, and when STEP returns the back-end has handled that message, so
 * the test reads the back-end's state with no race. Hostile messages are
 * written raw (pvb_vu_send, or sendmsg for what it would refuse to send)
 * and served by the test's own thread.
 *
 * Guest memory is two memfds of 64 KiB, "vu-a" and "vu-b", which the test
 * maps itself: it builds rings and chains in them with lib/virtq's driver
 * side, and the back-end maps them again from the fds the memory table
 * carries. Two address plans:
 *
 *   style        region a (rings)                  region b (buffers)
 *   virtio_user  gpa = uva = the test's mapping     -
 *   QEMU         gpa 0x100000, uva 0x7f0000000000   gpa 0x200000, uva 0x7f0000200000
 *
 * (virtio_user gives its own virtual addresses as guest addresses; QEMU
 * gives guest physical ones, and its own virtual addresses for the rings.)
 *
 * Every test checks on the way out, after pvb_vu_backend_reset(), that the
 * process holds the fds and mappings it held before the test: no fd and no
 * mapping of guest memory leaks on any path.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvb_vhost_user.h"
#include "test_common.h"

#define MEMSZ		0x10000u		/* each memfd */
#define QN		16			/* ring size */
#define MAXQ		256			/* cfg.max_queue_size */
#define RING2		0x2000u			/* a second place for the rings of region a */
#define BUF_OFF		0x8000u			/* buffers, in region a (virtio_user style) */
#define QEMU_GA		0x100000ull
#define QEMU_UA		0x7f0000000000ull
#define QEMU_GB		0x200000ull
#define QEMU_UB		0x7f0000200000ull
#define TIMEOUT_MS	10000			/* never reached in a passing run */

#define BIT(n)		(1ull << (n))
#define F_V1		BIT(PVB_VIRTIO_F_VERSION_1)
#define F_PF		BIT(PVB_VHOST_USER_F_PROTOCOL_FEATURES)
#define F_IND		BIT(PVB_VIRTIO_F_INDIRECT_DESC)
#define F_EVT		BIT(PVB_VIRTIO_F_EVENT_IDX)
#define F_MRG		BIT(PVB_VIRTIO_NET_F_MRG_RXBUF)
#define F_OFFER		(F_V1 | F_IND | F_EVT | F_MRG | BIT(PVB_VIRTIO_NET_F_CSUM))
#define PF_ALL		(BIT(PVB_VU_PF_MQ) | BIT(PVB_VU_PF_REPLY_ACK) | \
			 BIT(PVB_VU_PF_NET_MTU) | BIT(PVB_VU_PF_STATUS))
#define PF_ACK		BIT(PVB_VU_PF_REPLY_ACK)
#define PF_STATUS	BIT(PVB_VU_PF_STATUS)

#define expect_ptr(a, b)	expect_eq((uintptr_t)(a), (uintptr_t)(b))

static int fds_at_start;

/* ----------------------------------------------------------------------------
 * Fixture
 */

struct fx {
	int sp[2];			/* [0] front-end, [1] back-end; -1 when closed */
	struct pvb_vu_backend b;
	struct pvb_vu_frontend f;
	/* the back-end thread */
	pthread_t thr;
	sem_t go, done;
	bool quit;
	int brc;			/* what the last served message returned */
	struct pvb_vu_msg reply;	/* and its reply, when it had one */
	/* guest memory: the test's own mappings */
	int memfd[2];
	uint8_t *mem[2];
	uint64_t gpa[2], uva[2];	/* the address plan in use */
	uint32_t nregions;
	struct pvb_virtq_layout l;
	struct pvb_virtq_drv drv[2];
	struct pvb_virtq_drv_extra extra[2][QN];
	/* what the fixture counted before the test */
	int fds_before;
	int maps_before[2];
};

static struct fx fixture;
static int tokens[64];
#define TOK(i)		((void *)&tokens[i])

/* Mappings of the memfd called @p name, in /proc/self/maps. */
static int
count_maps(const char *name)
{
	char line[512], pat[64];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	if (f == NULL)
		return -1;
	snprintf(pat, sizeof(pat), "/memfd:%s ", name);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, pat) != NULL)
			n++;
	fclose(f);
	return n;
}

/* Is any page of [p, p + len) still mapped? */
static bool
mapped(void *p, size_t len)
{
	size_t pages = (len + 4095) / 4096;
	unsigned char *vec = malloc(pages);
	int rc;

	if (vec == NULL)
		return true;
	rc = mincore(p, len, vec);
	free(vec);
	return !(rc != 0 && errno == ENOMEM);
}

static const struct pvb_vu_backend_cfg cfg_default = {
	.features = F_OFFER,
	.protocol_features = PF_ALL,
	.queue_pairs = 1,
	.max_queue_size = MAXQ,
};

/* Serve one message on the back-end's end: receive, handle, reply. */
static int
serve_one(struct fx *fx)
{
	int fds[PVB_VU_MAX_FDS];
	struct pvb_vu_msg m;
	uint32_t nfds;
	int rc;

	rc = pvb_vu_recv(fx->sp[1], &m, fds, &nfds);
	if (rc != 0)
		return rc;
	rc = pvb_vu_backend_handle(&fx->b, &m, fds, nfds, &fx->reply);
	if (rc == 1 && pvb_vu_send(fx->sp[1], &fx->reply, NULL, 0) != 0)
		return -EIO;
	/* a refused message closes the connection: a waiting front-end sees it */
	if (rc < 0)
		shutdown(fx->sp[1], SHUT_RDWR);
	return rc;
}

static void *
backend_thread(void *arg)
{
	struct fx *fx = arg;

	for (;;) {
		sem_wait(&fx->go);
		if (fx->quit)
			return NULL;
		fx->brc = serve_one(fx);
		sem_post(&fx->done);
	}
}

static void
go(struct fx *fx)
{
	sem_post(&fx->go);
}

static int
done(struct fx *fx)
{
	sem_wait(&fx->done);
	return fx->brc;
}

/*
 * Run front-end call @p call (which sends exactly one message) while the
 * back-end thread serves it: the call's result in @p frc, the back-end's
 * is the value.
 */
#define STEP(fx, frc, call)	(go(fx), (frc) = (call), done(fx))

/* A front-end call both ends must accept. */
#define OK(fx, call) do {							\
	int f_, b_ = STEP(fx, f_, call);					\
										\
	if (f_ != 0 || b_ < 0)							\
		fail_msg("%s: %s: front %d (%s), back-end %d (%s)", here, #call, \
			 f_, (fx)->f.error, b_, (fx)->b.error);			\
} while (0)

static int
open_memfd(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
plan_virtio_user(struct fx *fx)
{
	fx->gpa[0] = fx->uva[0] = (uint64_t)(uintptr_t)fx->mem[0];
	fx->nregions = 1;
}

static void
plan_qemu(struct fx *fx)
{
	fx->gpa[0] = QEMU_GA;
	fx->uva[0] = QEMU_UA;
	fx->gpa[1] = QEMU_GB;
	fx->uva[1] = QEMU_UB;
	fx->nregions = 2;
}

static int
fx_setup(void **state)
{
	static const char *const names[2] = { "vu-a", "vu-b" };
	struct fx *fx = &fixture;
	int i;

	memset(fx, 0, sizeof(*fx));
	fx->fds_before = count_fds();
	for (i = 0; i < 2; i++)
		fx->maps_before[i] = count_maps(names[i]);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx->sp) != 0)
		return -1;
	for (i = 0; i < 2; i++) {
		fx->memfd[i] = open_memfd(names[i], MEMSZ);
		if (fx->memfd[i] < 0)
			return -1;
		fx->mem[i] = mmap(NULL, MEMSZ, PROT_READ | PROT_WRITE, MAP_SHARED, fx->memfd[i], 0);
		if (fx->mem[i] == MAP_FAILED)
			return -1;
	}
	if (pvb_vu_backend_init(&fx->b, &cfg_default) != 0)
		return -1;
	pvb_vu_front_init(&fx->f, fx->sp[0], TIMEOUT_MS);
	if (pvb_virtq_layout(2, QN, F_V1, 0, &fx->l) != 0)
		return -1;
	plan_virtio_user(fx);
	sem_init(&fx->go, 0, 0);
	sem_init(&fx->done, 0, 0);
	if (pthread_create(&fx->thr, NULL, backend_thread, fx) != 0)
		return -1;
	*state = fx;
	return 0;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;
	int i;

	fx->quit = true;
	go(fx);
	pthread_join(fx->thr, NULL);
	sem_destroy(&fx->go);
	sem_destroy(&fx->done);
	pvb_vu_backend_reset(&fx->b);
	pvb_vu_backend_reset(&fx->b);	/* twice is harmless */
	for (i = 0; i < 2; i++) {
		munmap(fx->mem[i], MEMSZ);
		close_fd(&fx->memfd[i]);
		close_fd(&fx->sp[i]);
	}
	at("teardown");
	expect_eq(count_fds(), fx->fds_before);
	expect_eq(count_maps("vu-a"), fx->maps_before[0]);
	expect_eq(count_maps("vu-b"), fx->maps_before[1]);
	return 0;
}

/* A new connection, as after a refused message: fresh session, same memory. */
static void
reconnect(struct fx *fx)
{
	close_fd(&fx->sp[0]);
	close_fd(&fx->sp[1]);
	pvb_vu_backend_reset(&fx->b);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx->sp), 0);
	pvb_vu_front_init(&fx->f, fx->sp[0], TIMEOUT_MS);
}

/* ----------------------------------------------------------------------------
 * Raw messages, served by the test's thread
 */

static void
msg(struct pvb_vu_msg *m, uint32_t request, uint32_t flags, uint32_t size)
{
	memset(m, 0, sizeof(*m));
	m->hdr.request = request;
	m->hdr.flags = flags;
	m->hdr.size = size;
}

/*
 * Send @p m with @p nfds fds, let the back-end handle it here, and read the
 * reply it sent, if any, into fx->reply. The back-end's result.
 */
static int
raw(struct fx *fx, const struct pvb_vu_msg *m, const int *fds, uint32_t nfds)
{
	int rfds[PVB_VU_MAX_FDS];
	uint32_t rn;
	int rc;

	assert_int_equal(pvb_vu_send(fx->sp[0], m, fds, nfds), 0);
	rc = serve_one(fx);
	if (rc == 1) {
		assert_int_equal(pvb_vu_recv(fx->sp[0], &fx->reply, rfds, &rn), 0);
		assert_int_equal(rn, 0);
	}
	return rc;
}

static int
raw_u64(struct fx *fx, uint32_t request, uint32_t flags, uint64_t v)
{
	struct pvb_vu_msg m;

	msg(&m, request, flags, 8);
	m.p.u64 = v;
	return raw(fx, &m, NULL, 0);
}

/* ----------------------------------------------------------------------------
 * Guest side: regions, rings, chains
 */

static struct pvb_vu_region
region(const struct fx *fx, int i)
{
	return (struct pvb_vu_region){ .gpa = fx->gpa[i], .size = MEMSZ, .uva = fx->uva[i],
				       .mmap_offset = 0 };
}

static void
set_mem_table(struct fx *fx)
{
	struct pvb_vu_region r[2] = { region(fx, 0), region(fx, 1) };

	OK(fx, pvb_vu_front_set_mem_table(&fx->f, r, fx->memfd, fx->nregions));
}

/* Offset in region a of vring @p q's rings when they start at @p base. */
static size_t
ring_off(const struct fx *fx, uint32_t q, size_t base)
{
	return base + q * fx->l.end_offset;
}

static struct pvb_vu_vring_addr
ring_addr(const struct fx *fx, uint32_t q, size_t base)
{
	uint64_t u = fx->uva[0] + ring_off(fx, q, base);

	return (struct pvb_vu_vring_addr){ .index = q, .desc = u,
					   .avail = u + fx->l.driver_area_offset,
					   .used = u + fx->l.device_area_offset };
}

/* The driver side of vring @p q over zeroed rings at @p base in region a. */
static void
drv_setup(struct fx *fx, uint32_t q, size_t base, uint64_t features)
{
	uint8_t *p = fx->mem[0] + ring_off(fx, q, base);

	memset(p, 0, fx->l.end_offset);
	assert_int_equal(pvb_virtq_drv_init(&fx->drv[q], QN, p, p + fx->l.driver_area_offset,
					    p + fx->l.device_area_offset, fx->extra[q], features),
			 0);
}

/* Host address in the test's mapping of guest address @p gpa. */
static uint8_t *
test_host(const struct fx *fx, uint64_t gpa)
{
	uint32_t i;

	for (i = 0; i < fx->nregions; i++)
		if (gpa >= fx->gpa[i] && gpa - fx->gpa[i] < MEMSZ)
			return fx->mem[i] + (gpa - fx->gpa[i]);
	fail_msg("gpa %#" PRIx64 " outside the plan", gpa);
	return NULL;
}

/* Buffer area: region b in the QEMU plan, region a past the rings otherwise. */
static uint64_t
buf_gpa(const struct fx *fx, size_t off)
{
	return fx->nregions == 2 ? fx->gpa[1] + off : fx->gpa[0] + BUF_OFF + off;
}

/*
 * Post on vring @p q a transmit chain: a 12-byte virtio-net header split
 * over @p hsplit descriptors, then a frame of @p len bytes of @p fill, at
 * buffer offset @p off.
 */
static void
post_tx(struct fx *fx, uint32_t q, size_t off, uint32_t hsplit, uint32_t len, uint8_t fill,
	int tok)
{
	/* the checksum field at 2 + 6: inside every frame of 10 bytes or more */
	struct pvb_vnet_hdr h = { .flags = PVB_VNET_HDR_F_NEEDS_CSUM, .csum_start = 2,
				  .csum_offset = 6 };
	struct pvb_virtq_buf bufs[13];
	uint32_t i, k = 0, done_b = 0;

	memcpy(test_host(fx, buf_gpa(fx, off)), &h, sizeof(h));
	for (i = 0; i < hsplit; i++) {
		uint32_t n = i + 1 < hsplit ? (uint32_t)sizeof(h) / hsplit :
			     (uint32_t)sizeof(h) - done_b;

		bufs[k++] = (struct pvb_virtq_buf){ .gpa = buf_gpa(fx, off + done_b), .len = n };
		done_b += n;
	}
	memset(test_host(fx, buf_gpa(fx, off + 0x100)), fill, len);
	bufs[k++] = (struct pvb_virtq_buf){ .gpa = buf_gpa(fx, off + 0x100), .len = len };
	assert_int_equal(pvb_virtq_drv_add(&fx->drv[q], bufs, k, TOK(tok)), 0);
	pvb_virtq_drv_publish(&fx->drv[q]);
}

/* Pop one chain from the back-end's vring @p q: header and frame as post_tx() made them. */
static uint16_t
pop_tx(struct fx *fx, uint32_t q, uint32_t len, uint8_t fill)
{
	struct pvb_virtq_chain c;
	struct pvb_vnet_hdr h;
	uint32_t i, hdr = fx->b.hdr_len, skip;
	uint64_t seen = 0;

	expect_true(pvb_vu_backend_vring_ready(&fx->b, q));
	expect_eq(pvb_virtq_dev_pop_avail(&fx->b.vr[q].q, &c), 0);
	expect_eq(c.readable_len, hdr + len);
	expect_eq(pvb_vnet_hdr_get(&c, hdr, &h), 0);
	expect_eq(h.flags, PVB_VNET_HDR_F_NEEDS_CSUM);
	expect_eq(h.csum_start, 2);
	expect_eq(h.csum_offset, 6);
	expect_true(pvb_vnet_hdr_check(&h, c.readable_len - hdr) == NULL);
	/* the frame bytes, read through the back-end's own mapping */
	skip = hdr;
	for (i = 0; i < c.nb_readable; i++) {
		uint32_t k = c.seg[i].len < skip ? c.seg[i].len : skip;

		expect_true(bytes_all((uint8_t *)c.seg[i].host + k, c.seg[i].len - k, fill));
		seen += c.seg[i].len - k;
		skip -= k;
	}
	expect_eq(seen, len);
	return c.head;
}

/* Every vring of @p fx ready, or not. */
static void
expect_ready(const struct fx *fx, bool ready)
{
	expect_eq(pvb_vu_backend_vring_ready(&fx->b, 0), ready);
	expect_eq(pvb_vu_backend_vring_ready(&fx->b, 1), ready);
}

/* NUM, BASE, ADDR, KICK for vring @p q with rings at @p base, kicked through @p kick. */
static void
start_vring(struct fx *fx, uint32_t q, size_t base, uint32_t avail_base, int kick)
{
	struct pvb_vu_vring_addr a = ring_addr(fx, q, base);

	OK(fx, pvb_vu_front_set_vring_state(&fx->f, PVB_VU_SET_VRING_NUM, q, QN));
	OK(fx, pvb_vu_front_set_vring_state(&fx->f, PVB_VU_SET_VRING_BASE, q, avail_base));
	OK(fx, pvb_vu_front_set_vring_addr(&fx->f, &a));
	OK(fx, pvb_vu_front_set_vring_fd(&fx->f, PVB_VU_SET_VRING_KICK, q, kick));
}

/*
 * DPDK virtio_user 22.11 (virtio_user_dev.c): SET_OWNER, GET_FEATURES,
 * the protocol features, SET_VRING_CALL for every vring, SET_FEATURES,
 * SET_STATUS (FEATURES_OK) and its echo, then at DRIVER_OK the memory
 * table, each vring's NUM, BASE, ADDR, KICK, SET_VRING_ENABLE 1, and
 * SET_STATUS with DRIVER_OK. Features: @p features plus bit 30.
 */
static void
session_virtio_user(struct fx *fx, uint64_t features, int call[2], int kick[2])
{
	uint64_t v;
	uint32_t q;

	at("virtio_user session");
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_OWNER, 0));
	OK(fx, pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v));
	expect_eq(v, F_OFFER | F_PF);
	OK(fx, pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_PROTOCOL_FEATURES, &v));
	expect_eq(v, PF_ALL);
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_PROTOCOL_FEATURES,
				    BIT(PVB_VU_PF_MQ) | PF_ACK | PF_STATUS));
	for (q = 0; q < 2; q++)
		OK(fx, pvb_vu_front_set_vring_fd(&fx->f, PVB_VU_SET_VRING_CALL, q, call[q]));
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_FEATURES, features | F_PF));
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_STATUS,
				    PVB_VIRTIO_STATUS_ACKNOWLEDGE | PVB_VIRTIO_STATUS_DRIVER |
				    PVB_VIRTIO_STATUS_FEATURES_OK));
	OK(fx, pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_STATUS, &v));
	expect_eq(v, 0xb);
	set_mem_table(fx);
	for (q = 0; q < 2; q++) {
		drv_setup(fx, q, 0, features);
		start_vring(fx, q, 0, 0, kick[q]);
	}
	for (q = 0; q < 2; q++)
		OK(fx, pvb_vu_front_set_vring_state(&fx->f, PVB_VU_SET_VRING_ENABLE, q, 1));
	/* everything but DRIVER_OK: not running yet */
	expect_false(pvb_vu_backend_running(&fx->b));
	expect_ready(fx, false);
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_STATUS, 0xf));
	expect_true(pvb_vu_backend_running(&fx->b));
	expect_ready(fx, true);
}

/*
 * QEMU 7.2 vhost-user-net (hw/virtio/vhost.c, vhost-user.c): GET_FEATURES,
 * the protocol features and GET_QUEUE_NUM at connect; then SET_OWNER,
 * GET_FEATURES again and SET_VRING_CALL per vring before any feature is
 * set; at DRIVER_OK SET_FEATURES, the memory table (guest physical
 * addresses distinct from QEMU's virtual ones), NUM, BASE, ADDR, KICK,
 * CALL per vring (no fd for vring 0: no MSI vector), SET_VRING_ENABLE 1.
 */
static void
session_qemu(struct fx *fx, int early_call[2], int call1, int kick[2])
{
	uint64_t v;
	uint32_t q;

	at("QEMU session");
	plan_qemu(fx);
	OK(fx, pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v));
	OK(fx, pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_PROTOCOL_FEATURES, &v));
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_PROTOCOL_FEATURES,
				    BIT(PVB_VU_PF_MQ) | PF_ACK | BIT(PVB_VU_PF_NET_MTU)));
	OK(fx, pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_QUEUE_NUM, &v));
	expect_eq(v, 1);
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_OWNER, 0));
	OK(fx, pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v));
	for (q = 0; q < 2; q++)
		OK(fx, pvb_vu_front_set_vring_fd(&fx->f, PVB_VU_SET_VRING_CALL, q, early_call[q]));
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_FEATURES, F_V1 | F_EVT | F_IND | F_PF));
	expect_eq(fx->b.hdr_len, 12);
	set_mem_table(fx);
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_NET_SET_MTU, 1500));
	expect_eq(fx->b.mtu, 1500);
	for (q = 0; q < 2; q++) {
		drv_setup(fx, q, 0, F_V1 | F_EVT | F_IND);
		start_vring(fx, q, 0, 0, kick[q]);
		OK(fx, pvb_vu_front_set_vring_fd(&fx->f, PVB_VU_SET_VRING_CALL, q,
						 q == 0 ? -1 : call1));
		expect_false(pvb_vu_backend_vring_ready(&fx->b, q));	/* not enabled yet */
		OK(fx, pvb_vu_front_set_vring_state(&fx->f, PVB_VU_SET_VRING_ENABLE, q, 1));
		expect_true(pvb_vu_backend_vring_ready(&fx->b, q));
	}
}

static int
efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(fd >= 0);
	return fd;
}

/* ----------------------------------------------------------------------------
 * Tests: framing
 */

static void
test_framing(void **state)
{
	struct fx *fx = *state;
	struct pvb_vu_msg m, r;
	int fds[PVB_VU_MAX_FDS], two[2] = { efd(), efd() };
	uint32_t n;
	int before;

	at("round trip with 2 fds");
	msg(&m, PVB_VU_SET_MEM_TABLE, PVB_VU_VERSION, 8 + 64);
	m.p.mem.nregions = 2;
	m.p.mem.r[1].mmap_offset = 0x1122334455667788ull;
	expect_eq(pvb_vu_send(fx->sp[0], &m, two, 2), 0);
	memset(&r, 0xa5, sizeof(r));
	expect_eq(pvb_vu_recv(fx->sp[1], &r, fds, &n), 0);
	expect_eq(n, 2);
	expect_eq(r.hdr.request, PVB_VU_SET_MEM_TABLE);
	expect_eq(r.hdr.size, 72);
	expect_eq(r.p.mem.r[1].mmap_offset, 0x1122334455667788ull);
	expect_true(bytes_all(r.p.bytes + 72, sizeof(r.p) - 72, 0));	/* zeroed past size */
	close(fds[0]);
	close(fds[1]);
	close(two[0]);
	close(two[1]);

	at("version 2: refused, its fd closed");
	before = count_fds();
	two[0] = efd();
	msg(&m, PVB_VU_GET_FEATURES, 0x2, 0);
	expect_eq(pvb_vu_send(fx->sp[0], &m, two, 1), 0);
	close(two[0]);
	expect_eq(pvb_vu_recv(fx->sp[1], &r, fds, &n), -EPROTO);
	expect_eq(n, 0);
	expect_eq(count_fds(), before);

	at("size above the largest payload");
	msg(&m, PVB_VU_GET_FEATURES, PVB_VU_VERSION, 0);
	m.hdr.size = (uint32_t)PVB_VU_PAYLOAD_MAX + 1;
	expect_eq(send(fx->sp[0], &m.hdr, PVB_VU_HDR_SIZE, 0), PVB_VU_HDR_SIZE);
	expect_eq(pvb_vu_recv(fx->sp[1], &r, fds, &n), -EPROTO);
	expect_eq(pvb_vu_send(fx->sp[0], &m, NULL, 0), -EINVAL);	/* nor sent */
	expect_eq(pvb_vu_send(fx->sp[0], &r, fds, PVB_VU_MAX_FDS + 1), -EINVAL);

	at("a header in two pieces, the payload in a third");
	msg(&m, PVB_VU_SET_FEATURES, PVB_VU_VERSION, 8);
	m.p.u64 = 0x0102030405060708ull;
	expect_eq(send(fx->sp[0], &m.hdr, 5, 0), 5);
	expect_eq(send(fx->sp[0], (uint8_t *)&m.hdr + 5, 7, 0), 7);
	expect_eq(send(fx->sp[0], &m.p, 8, 0), 8);
	expect_eq(pvb_vu_recv(fx->sp[1], &r, fds, &n), 0);
	expect_eq(r.p.u64, 0x0102030405060708ull);

	at("nothing there on a non-blocking socket");
	{
		int fl = fcntl(fx->sp[1], F_GETFL);

		fcntl(fx->sp[1], F_SETFL, fl | O_NONBLOCK);
		expect_eq(pvb_vu_recv(fx->sp[1], &r, fds, &n), -EAGAIN);
		fcntl(fx->sp[1], F_SETFL, fl);
	}

	at("a short payload, then the peer closes");
	before = count_fds();
	two[0] = efd();
	msg(&m, PVB_VU_SET_FEATURES, PVB_VU_VERSION, 8);
	expect_eq(pvb_vu_send(fx->sp[0], &m, two, 1), 0);	/* whole, but ... */
	close(two[0]);
	expect_eq(pvb_vu_recv(fx->sp[1], &r, fds, &n), 0);	/* ... read whole */
	close(fds[0]);
	expect_eq(send(fx->sp[0], &m, PVB_VU_HDR_SIZE + 4, 0), PVB_VU_HDR_SIZE + 4);
	shutdown(fx->sp[0], SHUT_WR);
	expect_eq(pvb_vu_recv(fx->sp[1], &r, fds, &n), -EPROTO);
	expect_eq(pvb_vu_recv(fx->sp[1], &r, fds, &n), -ECONNRESET);
	expect_eq(count_fds(), before);
}

/* More fds than PVB_VU_MAX_FDS: the kernel truncates, the receiver closes what came. */
static void
test_framing_too_many_fds(void **state)
{
	struct fx *fx = *state;
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(int) * 10)];
	} cbuf;
	struct pvb_vu_hdr h = { PVB_VU_GET_FEATURES, PVB_VU_VERSION, 0 };
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
			     .msg_controllen = sizeof(cbuf.b) };
	int sfds[10], fds[PVB_VU_MAX_FDS], before = count_fds(), i;
	struct pvb_vu_msg r;
	struct cmsghdr *c;
	uint32_t n;

	at("10 fds");
	for (i = 0; i < 10; i++)
		sfds[i] = efd();
	memset(&cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(sfds));
	memcpy(CMSG_DATA(c), sfds, sizeof(sfds));
	expect_eq(sendmsg(fx->sp[0], &mh, 0), sizeof(h));
	for (i = 0; i < 10; i++)
		close(sfds[i]);
	expect_eq(pvb_vu_recv(fx->sp[1], &r, fds, &n), -EPROTO);
	expect_eq(n, 0);
	expect_eq(count_fds(), before);
}

static void
test_names(void **state)
{
	(void)state;
	at("names");
	expect_true(strcmp(pvb_vu_request_str(PVB_VU_SET_MEM_TABLE), "SET_MEM_TABLE") == 0);
	expect_true(strcmp(pvb_vu_request_str(PVB_VU_GET_STATUS), "GET_STATUS") == 0);
	expect_true(strcmp(pvb_vu_request_str(0), "unknown") == 0);
	expect_true(strcmp(pvb_vu_request_str(26), "unknown") == 0);
	expect_true(strcmp(pvb_vu_request_str(PVB_VU_REQUEST_MAX), "unknown") == 0);
	expect_true(strcmp(pvb_vu_request_str(0xffffffffu), "unknown") == 0);
	at("mutates");
	expect_false(pvb_vu_request_mutates(PVB_VU_GET_FEATURES));
	expect_false(pvb_vu_request_mutates(PVB_VU_GET_PROTOCOL_FEATURES));
	expect_false(pvb_vu_request_mutates(PVB_VU_GET_QUEUE_NUM));
	expect_false(pvb_vu_request_mutates(PVB_VU_GET_STATUS));
	expect_false(pvb_vu_request_mutates(PVB_VU_GET_MAX_MEM_SLOTS));
	expect_false(pvb_vu_request_mutates(PVB_VU_SET_OWNER));
	expect_true(pvb_vu_request_mutates(PVB_VU_GET_VRING_BASE));
	expect_true(pvb_vu_request_mutates(PVB_VU_SET_VRING_CALL));
	expect_true(pvb_vu_request_mutates(PVB_VU_SET_MEM_TABLE));
	expect_true(pvb_vu_request_mutates(PVB_VU_RESET_OWNER));
	expect_true(pvb_vu_request_mutates(0));
	expect_true(pvb_vu_request_mutates(99));
}

static void
test_init(void **state)
{
	static const struct {
		const char *name;
		struct pvb_vu_backend_cfg cfg;
	} bad[] = {
		{ "0 queue pairs", { F_OFFER, 0, 0, 256 } },
		{ "9 queue pairs", { F_OFFER, 0, 9, 256 } },
		{ "queue size 0", { F_OFFER, 0, 1, 0 } },
		{ "queue size 96", { F_OFFER, 0, 1, 96 } },
		{ "queue size 65535", { F_OFFER, 0, 1, 65535 } },
		{ "LOG_ALL", { BIT(PVB_VHOST_F_LOG_ALL), 0, 1, 256 } },
		{ "ACCESS_PLATFORM", { BIT(PVB_VIRTIO_F_ACCESS_PLATFORM), 0, 1, 256 } },
		{ "RING_PACKED", { BIT(PVB_VIRTIO_F_RING_PACKED), 0, 1, 256 } },
		{ "PF LOG_SHMFD", { F_OFFER, BIT(PVB_VU_PF_LOG_SHMFD), 1, 256 } },
		{ "PF CONFIGURE_MEM_SLOTS",
		  { F_OFFER, BIT(PVB_VU_PF_CONFIGURE_MEM_SLOTS), 1, 256 } },
	};
	struct pvb_vu_backend b;
	size_t i;

	(void)state;
	for (i = 0; i < DIM(bad); i++) {
		at("cfg %s", bad[i].name);
		expect_eq(pvb_vu_backend_init(&b, &bad[i].cfg), -EINVAL);
	}
	at("NULL");
	expect_eq(pvb_vu_backend_init(&b, NULL), -EINVAL);
	at("8 queue pairs, size 32768");
	{
		struct pvb_vu_backend_cfg c = { F_OFFER, PF_ALL, 8, 32768 };

		expect_eq(pvb_vu_backend_init(&b, &c), 0);
		expect_eq(b.hdr_len, 10);
		for (i = 0; i < PVB_VU_MAX_VRINGS; i++)
			expect_true(b.vr[i].kick_fd == -1 && b.vr[i].call_fd == -1 &&
				    b.vr[i].err_fd == -1);
		pvb_vu_backend_reset(&b);
	}
}

/* ----------------------------------------------------------------------------
 * Tests: sessions
 */

static void
test_session_virtio_user(void **state)
{
	struct fx *fx = *state;
	int call[2] = { efd(), efd() }, kick[2] = { efd(), efd() }, i;
	void *tok;
	uint32_t len;
	uint16_t head;

	session_virtio_user(fx, F_V1 | F_MRG, call, kick);
	expect_eq(fx->b.hdr_len, 12);
	expect_eq(fx->b.nregions, 1);
	/* the kept fds are other numbers for the same eventfds */
	expect_true(fx->b.vr[0].call_fd >= 0 && fx->b.vr[1].kick_fd >= 0);
	for (i = 0; i < 2; i++) {
		close(call[i]);
		close(kick[i]);
	}
	/* the test's 2 memfds and 2 sockets; the back-end's 2 calls and 2 kicks; no memfd */
	expect_eq(count_fds(), fx->fds_before + 4 + 4);
	at("a chain on tx vring 1, header split over 3 descriptors");
	post_tx(fx, 1, 0, 3, 60, 0x5a, 1);
	head = pop_tx(fx, 1, 60, 0x5a);
	expect_eq(pvb_virtq_dev_push_used(&fx->b.vr[1].q, head, 0), 0);
	expect_eq(pvb_virtq_drv_get_used(&fx->drv[1], &tok, &len), 1);
	expect_ptr(tok, TOK(1));
	at("the header in one descriptor with the frame after it in another");
	post_tx(fx, 1, 0x400, 1, 1514, 0x11, 2);
	head = pop_tx(fx, 1, 1514, 0x11);
	expect_eq(pvb_virtq_dev_push_used(&fx->b.vr[1].q, head, 0), 0);
	expect_eq(fx->b.bad_messages, 0);
}

static void
test_session_qemu(void **state)
{
	struct fx *fx = *state;
	int early[2] = { efd(), efd() }, call1 = efd(), kick[2] = { efd(), efd() };
	uint16_t head;

	session_qemu(fx, early, call1, kick);
	close(early[0]);
	close(early[1]);
	close(call1);
	close(kick[0]);
	close(kick[1]);
	at("QEMU plan");
	/* the test's 2 memfds and 2 sockets; the back-end's call 1 and 2 kicks, nothing more */
	expect_eq(count_fds(), fx->fds_before + 4 + 3);
	expect_eq(fx->b.nregions, 2);
	expect_eq(fx->b.vr[0].call_fd, -1);	/* no fd: the driver polls */
	expect_true(fx->b.vr[0].call_set);
	/* rings found by uva in region a, resolved by gpa; buffers by gpa in region b */
	expect_eq(fx->b.vr[1].q.desc_table_addr, QEMU_GA + ring_off(fx, 1, 0));
	expect_ptr(fx->b.vr[1].q.desc, fx->b.map[0].host + ring_off(fx, 1, 0));
	post_tx(fx, 1, 0x800, 12, 100, 0x77, 3);
	head = pop_tx(fx, 1, 100, 0x77);
	expect_eq(pvb_virtq_dev_push_used(&fx->b.vr[1].q, head, 0), 0);
	expect_true(fx->b.vr[1].q.event_idx && fx->b.vr[1].q.indirect);
}

/* GET_VRING_BASE stops a ring and answers where it was; it restarts where told. */
static void
test_vring_base(void **state)
{
	struct fx *fx = *state;
	int call[2] = { efd(), efd() }, kick[2] = { efd(), efd() }, i, before;
	struct pvb_virtq_chain c;
	uint32_t num;
	uint16_t head;

	session_virtio_user(fx, F_V1, call, kick);
	for (i = 0; i < 2; i++) {
		close(call[i]);
		close(kick[i]);
	}
	at("three posted, two popped and used");
	post_tx(fx, 1, 0, 1, 10, 1, 1);
	post_tx(fx, 1, 0x200, 1, 20, 2, 2);
	post_tx(fx, 1, 0x400, 1, 30, 3, 3);
	head = pop_tx(fx, 1, 10, 1);
	expect_eq(pvb_virtq_dev_push_used(&fx->b.vr[1].q, head, 0), 0);
	head = pop_tx(fx, 1, 20, 2);
	expect_eq(pvb_virtq_dev_push_used(&fx->b.vr[1].q, head, 0), 0);

	at("GET_VRING_BASE 1");
	before = count_fds();
	OK(fx, pvb_vu_front_set_vring_state(&fx->f, PVB_VU_SET_VRING_ENABLE, 1, 0));
	OK(fx, pvb_vu_front_get_vring_base(&fx->f, 1, &num));
	expect_eq(num, 2);
	expect_false(fx->b.vr[1].started);
	expect_true(fx->b.vr[1].q.avail == NULL);
	expect_eq(fx->b.vr[1].kick_fd, -1);
	expect_eq(count_fds(), before - 1);	/* the kick fd */
	expect_true(fx->b.vr[1].call_fd >= 0);	/* the call fd stays */
	expect_false(pvb_vu_backend_vring_ready(&fx->b, 1));
	expect_true(pvb_vu_backend_vring_ready(&fx->b, 0));
	expect_eq(pvb_virtq_dev_pop_avail(&fx->b.vr[1].q, &c), -EINVAL);
	at("GET_VRING_BASE of a stopped ring: same answer");
	OK(fx, pvb_vu_front_get_vring_base(&fx->f, 1, &num));
	expect_eq(num, 2);

	at("restart at the same addresses from base 2, no kick fd");
	OK(fx, pvb_vu_front_set_vring_state(&fx->f, PVB_VU_SET_VRING_BASE, 1, 2));
	OK(fx, pvb_vu_front_set_vring_fd(&fx->f, PVB_VU_SET_VRING_KICK, 1, -1));
	OK(fx, pvb_vu_front_set_vring_state(&fx->f, PVB_VU_SET_VRING_ENABLE, 1, 1));
	expect_eq(fx->b.vr[1].q.next_used_idx, 2);	/* from the used ring in memory */
	head = pop_tx(fx, 1, 30, 3);
	expect_eq(pvb_virtq_dev_push_used(&fx->b.vr[1].q, head, 0), 0);
	OK(fx, pvb_vu_front_get_vring_base(&fx->f, 1, &num));
	expect_eq(num, 3);

	at("restart at new addresses from base 0");
	drv_setup(fx, 1, RING2, F_V1);
	start_vring(fx, 1, RING2, 0, -1);
	expect_ptr(fx->b.vr[1].q.desc, fx->b.map[0].host + ring_off(fx, 1, RING2));
	expect_eq(fx->b.vr[1].q.next_used_idx, 0);
	post_tx(fx, 1, 0x600, 2, 40, 4, 4);
	head = pop_tx(fx, 1, 40, 4);
	expect_eq(pvb_virtq_dev_push_used(&fx->b.vr[1].q, head, 0), 0);

	at("SET_VRING_ADDR on a started ring moves it now");
	drv_setup(fx, 1, 0, F_V1);
	{
		struct pvb_vu_vring_addr a = ring_addr(fx, 1, 0);

		OK(fx, pvb_vu_front_set_vring_addr(&fx->f, &a));
	}
	expect_ptr(fx->b.vr[1].q.desc, fx->b.map[0].host + ring_off(fx, 1, 0));
	expect_eq(fx->b.vr[1].q.next_used_idx, 0);
	fx->b.vr[1].q.next_avail_idx = 0;	/* the test's new driver starts at 0 */
	post_tx(fx, 1, 0x800, 1, 50, 5, 5);
	head = pop_tx(fx, 1, 50, 5);
	expect_eq(pvb_virtq_dev_push_used(&fx->b.vr[1].q, head, 0), 0);
}

/* A second SET_MEM_TABLE: remapped, the old mapping gone, rings re-translated. */
static void
test_mem_table_remap(void **state)
{
	struct fx *fx = *state;
	int call[2] = { efd(), efd() }, kick[2] = { efd(), efd() }, i;
	struct pvb_vu_map old;
	uint16_t head;

	session_virtio_user(fx, F_V1, call, kick);
	for (i = 0; i < 2; i++) {
		close(call[i]);
		close(kick[i]);
	}
	old = fx->b.map[0];
	expect_eq(count_maps("vu-a"), fx->maps_before[0] + 2);	/* the test's, the back-end's */

	at("the same table again");
	set_mem_table(fx);
	expect_true(fx->b.map[0].base != old.base);
	expect_false(mapped(old.base, old.len));
	expect_eq(count_maps("vu-a"), fx->maps_before[0] + 2);
	expect_ptr(fx->b.vr[1].q.desc, fx->b.map[0].host + ring_off(fx, 1, 0));
	expect_ptr(fx->b.vr[1].q.mem, &fx->b.mem);
	post_tx(fx, 1, 0, 1, 64, 9, 1);
	head = pop_tx(fx, 1, 64, 9);
	expect_eq(pvb_virtq_dev_push_used(&fx->b.vr[1].q, head, 0), 0);

	at("the region at another offset of a bigger fd, other guest addresses");
	{
		int big = open_memfd("vu-a", 2 * MEMSZ);
		uint8_t *bm = mmap(NULL, 2 * MEMSZ, PROT_READ | PROT_WRITE, MAP_SHARED, big, 0);
		struct pvb_vu_region r = { .gpa = 0x40000000, .size = MEMSZ,
					   .uva = fx->uva[0], .mmap_offset = MEMSZ };
		struct pvb_virtq_chain c;

		assert_true(bm != MAP_FAILED);
		/* the rings move with the content: same uva, now in the second half of big */
		memcpy(bm + MEMSZ, fx->mem[0], MEMSZ);
		old = fx->b.map[0];
		OK(fx, pvb_vu_front_set_mem_table(&fx->f, &r, &big, 1));
		expect_false(mapped(old.base, old.len));
		expect_ptr(fx->b.map[0].host, (uint8_t *)fx->b.map[0].base + MEMSZ);
		expect_eq(fx->b.vr[1].q.desc_table_addr, 0x40000000 + ring_off(fx, 1, 0));
		/* the cursors went on: the chain posted in the old memory is already used */
		expect_eq(pvb_virtq_dev_pop_avail(&fx->b.vr[1].q, &c), -EAGAIN);
		munmap(bm, 2 * MEMSZ);
		close(big);
	}

	at("a table leaving the rings out: refused, the old one kept, its own unmapped");
	{
		struct pvb_vu_region r = { .gpa = 0x40000000, .size = MEMSZ, .uva = 0x1000000,
					   .mmap_offset = 0 };
		void *keep = fx->b.map[0].base;
		int f;

		fx->b.bad_messages = 0;
		expect_eq(STEP(fx, f, pvb_vu_front_set_mem_table(&fx->f, &r, fx->memfd, 1)),
			  -EFAULT);
		expect_eq(f, -ECONNRESET);	/* it waited for an ack; the connection closed */
		expect_true(strstr(fx->b.error, "leaves a started vring out") != NULL);
		expect_true(strstr(fx->b.error, "outside every region") != NULL);
		expect_eq(fx->b.bad_messages, 1);
		expect_ptr(fx->b.map[0].base, keep);
		expect_true(mapped(keep, fx->b.map[0].len));
		expect_eq(count_maps("vu-a"), fx->maps_before[0] + 2);	/* test's, kept one */
		/* the second half of the closed big memfd is the kept mapping */
	}
}

/* REPLY_ACK: every set acked; what is not supported answered "failed", connection kept. */
static void
test_reply_ack(void **state)
{
	struct fx *fx = *state;
	struct pvb_vu_msg m;
	int e = efd(), before, f;
	uint64_t v;

	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_PROTOCOL_FEATURES, PF_ACK));
	expect_eq(fx->f.protocol_features, PF_ACK);

	at("an ack for SET_OWNER");
	expect_eq(raw_u64(fx, PVB_VU_SET_OWNER, PVB_VU_VERSION | PVB_VU_FLAG_NEED_REPLY, 0), 1);
	expect_eq(fx->reply.hdr.flags, 0x5);
	expect_eq(fx->reply.hdr.request, PVB_VU_SET_OWNER);
	expect_eq(fx->reply.hdr.size, 8);
	expect_eq(fx->reply.p.u64, 0);
	at("no ack without NEED_REPLY");
	expect_eq(raw_u64(fx, PVB_VU_SET_OWNER, PVB_VU_VERSION, 0), 0);
	at("a GET with NEED_REPLY: its own reply only");
	expect_eq(raw_u64(fx, PVB_VU_GET_FEATURES, PVB_VU_VERSION | PVB_VU_FLAG_NEED_REPLY, 0), 1);
	expect_eq(fx->reply.p.u64, F_OFFER | F_PF);

	at("SET_LOG_BASE with NEED_REPLY and an fd: failed, fd closed, connection kept");
	before = count_fds();
	msg(&m, PVB_VU_SET_LOG_BASE, PVB_VU_VERSION | PVB_VU_FLAG_NEED_REPLY, 16);
	expect_eq(pvb_vu_send(fx->sp[0], &m, &e, 1), 0);
	close(e);
	expect_eq(serve_one(fx), 1);
	expect_eq(count_fds(), before - 1);
	{
		int rfds[PVB_VU_MAX_FDS];
		uint32_t rn;

		expect_eq(pvb_vu_recv(fx->sp[0], &m, rfds, &rn), 0);
	}
	expect_eq(m.hdr.flags, 0x5);
	expect_eq(m.hdr.request, PVB_VU_SET_LOG_BASE);
	expect_eq(m.p.u64, 1);
	expect_eq(fx->b.nacks, 1);
	expect_eq(fx->b.bad_messages, 0);
	expect_true(strstr(fx->b.error, "not supported") != NULL);

	at("an unknown request with NEED_REPLY: failed");
	expect_eq(raw_u64(fx, 99, PVB_VU_VERSION | PVB_VU_FLAG_NEED_REPLY, 0), 1);
	expect_eq(fx->reply.p.u64, 1);
	expect_eq(fx->reply.hdr.request, 99);
	expect_eq(fx->b.nacks, 2);

	at("the front-end hears \"failed\" as -EREMOTEIO (NET_MTU not acked)");
	expect_true(STEP(fx, f, pvb_vu_front_set_u64(&fx->f, PVB_VU_NET_SET_MTU, 1500)) == 1);
	expect_eq(f, -EREMOTEIO);
	expect_eq(fx->b.nacks, 3);
	expect_eq(fx->b.mtu, 0);
	at("and goes on");
	OK(fx, pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v));

	at("an unknown request without NEED_REPLY: refused, connection closes");
	expect_eq(raw_u64(fx, 99, PVB_VU_VERSION, 0), -EOPNOTSUPP);
	expect_eq(fx->b.bad_messages, 1);
	expect_eq(fx->b.nacks, 3);
}

/* Before REPLY_ACK is acked, NEED_REPLY asks for nothing: a refusal closes. */
static void
test_need_reply_without_ack(void **state)
{
	struct fx *fx = *state;

	at("SET_OWNER with NEED_REPLY, REPLY_ACK not acked");
	expect_eq(raw_u64(fx, PVB_VU_SET_OWNER, PVB_VU_VERSION | PVB_VU_FLAG_NEED_REPLY, 0), 0);
	expect_true(fx->b.owner);
	at("SET_LOG_FD with NEED_REPLY, REPLY_ACK not acked");
	expect_eq(raw_u64(fx, PVB_VU_SET_LOG_FD, PVB_VU_VERSION | PVB_VU_FLAG_NEED_REPLY, 0),
		  -EOPNOTSUPP);
	expect_eq(fx->b.nacks, 0);
	expect_eq(fx->b.bad_messages, 1);
}

/* No protocol features offered: no bit 30, the PF requests unsupported, rings enabled. */
static void
test_no_protocol_features(void **state)
{
	struct fx *fx = *state;
	struct pvb_vu_backend_cfg c = cfg_default;
	int call[2] = { efd(), efd() }, q;
	uint64_t v;

	c.protocol_features = 0;
	c.features |= F_PF;	/* ignored without protocol features */
	pvb_vu_backend_reset(&fx->b);
	assert_int_equal(pvb_vu_backend_init(&fx->b, &c), 0);
	OK(fx, pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v));
	expect_eq(v, F_OFFER);
	expect_eq(raw_u64(fx, PVB_VU_GET_PROTOCOL_FEATURES, PVB_VU_VERSION, 0), -EOPNOTSUPP);
	reconnect(fx);
	at("SET_FEATURES without bit 30: every ring enabled");
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_FEATURES, F_V1));
	expect_true(fx->b.vr[0].enabled && fx->b.vr[1].enabled);
	set_mem_table(fx);
	for (q = 0; q < 2; q++) {
		drv_setup(fx, (uint32_t)q, 0, F_V1);
		start_vring(fx, (uint32_t)q, 0, 0, -1);
		OK(fx, pvb_vu_front_set_vring_fd(&fx->f, PVB_VU_SET_VRING_CALL, (uint32_t)q,
						 call[q]));
		close(call[q]);
	}
	expect_ready(fx, true);
	at("GET_QUEUE_NUM without PF_MQ: not supported");
	expect_eq(raw_u64(fx, PVB_VU_GET_QUEUE_NUM, PVB_VU_VERSION, 0), -EOPNOTSUPP);
}

/* SET_STATUS: running needs DRIVER_OK; status 0 stops the rings, the memory stays. */
static void
test_status(void **state)
{
	struct fx *fx = *state;
	int call[2] = { efd(), efd() }, kick[2] = { efd(), efd() }, i, before;
	uint64_t v;

	session_virtio_user(fx, F_V1, call, kick);
	for (i = 0; i < 2; i++) {
		close(call[i]);
		close(kick[i]);
	}
	before = count_fds();
	at("status 0");
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_STATUS, 0));
	OK(fx, pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_STATUS, &v));
	expect_eq(v, 0);
	expect_false(pvb_vu_backend_running(&fx->b));
	expect_ready(fx, false);
	expect_false(fx->b.vr[0].started || fx->b.vr[1].started);
	expect_false(fx->b.vr[0].enabled || fx->b.vr[1].enabled);	/* bit 30 acked */
	expect_eq(count_fds(), before - 2);				/* the kick fds */
	expect_eq(fx->b.nregions, 1);
	expect_true(mapped(fx->b.map[0].base, fx->b.map[0].len));
	at("status above 8 bits");
	expect_eq(raw_u64(fx, PVB_VU_SET_STATUS, PVB_VU_VERSION, 0x104), -EINVAL);
	expect_true(strstr(fx->b.error, "status") != NULL);
}

/* RESET_OWNER: every ring stopped and disabled; memory, features and call fds kept. */
static void
test_reset_owner(void **state)
{
	struct fx *fx = *state;
	int call[2] = { efd(), efd() }, kick[2] = { efd(), efd() }, i;

	session_virtio_user(fx, F_V1, call, kick);
	for (i = 0; i < 2; i++) {
		close(call[i]);
		close(kick[i]);
	}
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_RESET_OWNER, 0));
	at("after RESET_OWNER");
	expect_ready(fx, false);
	expect_false(fx->b.owner);
	expect_true(fx->b.features_set);
	expect_eq(fx->b.nregions, 1);
	expect_true(fx->b.vr[0].call_fd >= 0 && fx->b.vr[1].call_fd >= 0);
	expect_true(fx->b.vr[0].kick_fd == -1 && fx->b.vr[1].kick_fd == -1);
	at("a repeated SET_OWNER, a kick and an enable bring a ring back");
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_OWNER, 0));
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_OWNER, 0));
	OK(fx, pvb_vu_front_set_vring_fd(&fx->f, PVB_VU_SET_VRING_KICK, 1, -1));
	OK(fx, pvb_vu_front_set_vring_state(&fx->f, PVB_VU_SET_VRING_ENABLE, 1, 1));
	expect_true(pvb_vu_backend_vring_ready(&fx->b, 1));
}

/* Sizes the spec calls "no payload" that front-ends send as a u64: tolerated. */
static void
test_tolerated_sizes(void **state)
{
	struct fx *fx = *state;

	at("GET_FEATURES with a u64");
	expect_eq(raw_u64(fx, PVB_VU_GET_FEATURES, PVB_VU_VERSION, 0x1234), 1);
	expect_eq(fx->reply.p.u64, F_OFFER | F_PF);
	at("SET_OWNER with a u64");
	expect_eq(raw_u64(fx, PVB_VU_SET_OWNER, PVB_VU_VERSION, 0), 0);
	at("RESET_OWNER with a u64");
	expect_eq(raw_u64(fx, PVB_VU_RESET_OWNER, PVB_VU_VERSION, 0), 0);
	expect_eq(fx->b.bad_messages, 0);
}

/* ----------------------------------------------------------------------------
 * Tests: refusals, one per case, each on a fresh connection
 */

enum level {
	L_FRESH,	/* nothing */
	L_PF,		/* every protocol feature acked */
	L_MEM,		/* + features + region a at uva U0 */
	L_TWO,		/* + features + regions a, b adjacent in uva */
	L_RING,		/* L_MEM + vring 1's size */
	L_STARTED,	/* L_RING + vring 1 started at offset 0 */
	L_KICK1,	/* L_RING, then p[] sent as vring 1's addresses: the case's kick */
	L_KICK2,	/* the same over L_TWO */
};

enum fdk { NOFD, MEM_A, MEM_B, EVT };

struct refusal {
	const char *name;
	enum level level;
	uint32_t request, flags, size;
	uint64_t p[5];			/* payload words (u64, state, addr) */
	uint32_t nregions;		/* SET_MEM_TABLE: the header's count */
	struct pvb_vu_region r[2];	/* and its first regions */
	enum fdk fds[3];
	int err;
	const char *why;
};

#define V		PVB_VU_VERSION
#define U0		0x7f0000000000ull
#define ST(i, n)	((uint64_t)(i) | (uint64_t)(n) << 32)	/* vring state as one word */
#define RG(g, s, u, o)	{ .gpa = (g), .size = (s), .uva = (u), .mmap_offset = (o) }
#define FD1(k)		{ k, NOFD, NOFD }

static const struct refusal refusals[] = {
	/* framing */
	{ "version 0", L_FRESH, PVB_VU_GET_FEATURES, 0, 0, {0}, 0, {{0}}, {0}, -EPROTO, "version" },
	{ "version 2", L_FRESH, PVB_VU_GET_FEATURES, 2, 0, {0}, 0, {{0}}, {0}, -EPROTO, "version" },
	{ "REPLY flag", L_FRESH, PVB_VU_GET_FEATURES, 0x5, 0, {0}, 0, {{0}}, {0}, -EPROTO,
	  "reply" },
	{ "GET_FEATURES size 4", L_FRESH, PVB_VU_GET_FEATURES, V, 4, {0}, 0, {{0}}, {0}, -EPROTO,
	  "payload of 4 bytes" },
	{ "SET_FEATURES size 0", L_FRESH, PVB_VU_SET_FEATURES, V, 0, {0}, 0, {{0}}, {0}, -EPROTO,
	  "payload of 0 bytes, want 8" },
	{ "SET_VRING_NUM size 12", L_FRESH, PVB_VU_SET_VRING_NUM, V, 12, {0}, 0, {{0}}, {0},
	  -EPROTO, "want 8" },
	{ "SET_VRING_ADDR size 32", L_FRESH, PVB_VU_SET_VRING_ADDR, V, 32, {0}, 0, {{0}}, {0},
	  -EPROTO, "want 40" },
	{ "GET_VRING_BASE size 0", L_FRESH, PVB_VU_GET_VRING_BASE, V, 0, {0}, 0, {{0}}, {0},
	  -EPROTO, "want 8" },
	{ "SET_MEM_TABLE 2 regions in 40 bytes", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 40, {0}, 2,
	  {{0}}, { MEM_A, MEM_A }, -EPROTO, "want 72" },
	{ "SET_MEM_TABLE 4 bytes", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 4, {0}, 0, {{0}}, {0}, -EPROTO,
	  "shorter than its header" },
	{ "SET_MEM_TABLE 0 regions", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 8, {0}, 0, {{0}}, {0},
	  -EPROTO, "0 regions" },
	{ "SET_MEM_TABLE 9 regions", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 8, {0}, 9, {{0}}, {0},
	  -EPROTO, "9 regions" },
	/* fd counts */
	{ "SET_MEM_TABLE 1 region, 2 fds", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 40, {0}, 1,
	  { RG(0x100000, 0x1000, U0, 0) }, { MEM_A, MEM_B }, -EPROTO, "2 fds, want 1" },
	{ "SET_MEM_TABLE 2 regions, 1 fd", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 72, {0}, 2,
	  { RG(0x100000, 0x1000, U0, 0), RG(0x200000, 0x1000, U0 + 0x200000, 0) }, FD1(MEM_A),
	  -EPROTO, "1 fds, want 2" },
	{ "SET_VRING_KICK without fd or no-fd bit", L_FRESH, PVB_VU_SET_VRING_KICK, V, 8, { 1 },
	  0, {{0}}, {0}, -EPROTO, "0 fds, want 1" },
	{ "SET_VRING_CALL no-fd bit and an fd", L_FRESH, PVB_VU_SET_VRING_CALL, V, 8, { 0x101 },
	  0, {{0}}, FD1(EVT), -EPROTO, "1 fds, want 0" },
	{ "SET_VRING_ERR 2 fds", L_FRESH, PVB_VU_SET_VRING_ERR, V, 8, { 0 }, 0, {{0}},
	  { EVT, EVT }, -EPROTO, "2 fds, want 1" },
	{ "SET_OWNER with an fd", L_FRESH, PVB_VU_SET_OWNER, V, 0, {0}, 0, {{0}}, FD1(EVT), -EPROTO,
	  "1 fds, want 0" },
	{ "GET_FEATURES with 3 fds", L_FRESH, PVB_VU_GET_FEATURES, V, 0, {0}, 0, {{0}},
	  { EVT, MEM_A, EVT }, -EPROTO, "3 fds, want 0" },
	/* vring indices on all their bits */
	{ "SET_VRING_NUM vring 256", L_FRESH, PVB_VU_SET_VRING_NUM, V, 8, { ST(256, 16) }, 0,
	  {{0}}, {0}, -EINVAL, "vring 256," },
	{ "SET_VRING_NUM vring 0x80000001", L_FRESH, PVB_VU_SET_VRING_NUM, V, 8,
	  { ST(0x80000001u, 16) }, 0, {{0}}, {0}, -EINVAL, "vring 2147483649," },
	{ "SET_VRING_BASE vring 0x10001", L_FRESH, PVB_VU_SET_VRING_BASE, V, 8,
	  { ST(0x10001, 0) }, 0, {{0}}, {0}, -EINVAL, "vring 65537," },
	{ "GET_VRING_BASE vring 2 of 2", L_FRESH, PVB_VU_GET_VRING_BASE, V, 8, { ST(2, 0) }, 0,
	  {{0}}, {0}, -EINVAL, "vring 2, this device has 2" },
	{ "SET_VRING_ENABLE vring 16", L_FRESH, PVB_VU_SET_VRING_ENABLE, V, 8, { ST(16, 1) }, 0,
	  {{0}}, {0}, -EINVAL, "vring 16," },
	{ "SET_VRING_ADDR vring 0x100000000-style", L_FRESH, PVB_VU_SET_VRING_ADDR, V, 40,
	  { 0xffffffff }, 0, {{0}}, {0}, -EINVAL, "vring 4294967295," },
	{ "SET_VRING_KICK u64 0x100000001", L_FRESH, PVB_VU_SET_VRING_KICK, V, 8,
	  { 0x100000001ull }, 0, {{0}}, FD1(EVT), -EINVAL, "bits above the no-fd bit" },
	{ "SET_VRING_CALL u64 bit 9", L_FRESH, PVB_VU_SET_VRING_CALL, V, 8, { 0x200 }, 0, {{0}},
	  FD1(EVT), -EINVAL, "bits above the no-fd bit" },
	{ "SET_VRING_KICK vring 255", L_FRESH, PVB_VU_SET_VRING_KICK, V, 8, { 0x1ff }, 0, {{0}},
	  {0}, -EINVAL, "vring 255," },
	/* regions */
	{ "region size 0", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 40, {0}, 1, { RG(0x100000, 0, U0, 0) },
	  FD1(MEM_A), -EINVAL, "size 0" },
	{ "region gpa + size overflows", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 40, {0}, 1,
	  { RG(0xfffffffffffff000ull, 0x2000, U0, 0) }, FD1(MEM_A), -EINVAL,
	  "guest address 0xfffffffffffff000 + size 0x2000 overflows" },
	{ "region uva + size overflows", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 40, {0}, 1,
	  { RG(0x100000, 0x2000, 0xffffffffffffffffull, 0) }, FD1(MEM_A), -EINVAL,
	  "user address" },
	{ "region offset + size overflows", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 40, {0}, 1,
	  { RG(0x100000, 0x1000, U0, 0xfffffffffffff001ull) }, FD1(MEM_A), -EINVAL,
	  "mmap offset" },
	{ "regions overlap in gpa", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 72, {0}, 2,
	  { RG(0x100000, 0x2000, U0, 0), RG(0x101fff, 0x1000, U0 + 0x100000, 0) },
	  { MEM_A, MEM_B }, -EINVAL, "region 1 overlaps region 0 in guest addresses" },
	{ "regions overlap in uva", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 72, {0}, 2,
	  { RG(0x100000, 0x2000, U0 + 0x1000, 0), RG(0x200000, 0x1001, U0, 0) },
	  { MEM_A, MEM_B }, -EINVAL, "region 1 overlaps region 0 in user addresses" },
	{ "region larger than its memfd", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 40, {0}, 1,
	  { RG(0x100000, 2 * MEMSZ, U0, 0) }, FD1(MEM_A), -EINVAL, "beyond the 65536 bytes" },
	{ "region offset + size past its memfd", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 40, {0}, 1,
	  { RG(0x100000, MEMSZ, U0, 1) }, FD1(MEM_A), -EINVAL, "beyond the 65536 bytes" },
	{ "second region's fd is an eventfd", L_FRESH, PVB_VU_SET_MEM_TABLE, V, 72, {0}, 2,
	  { RG(0x100000, 0x1000, U0, 0), RG(0x200000, 0x1000, U0 + 0x200000, 0) },
	  { MEM_A, EVT }, -EINVAL, "region 1: its fd is not a file" },
	/* rings */
	{ "ring outside every region", L_KICK1, PVB_VU_SET_VRING_KICK, V, 8,
	  { ST(1, 0), U0 + 2 * MEMSZ, U0 + 0x200, U0 + 0x100 }, 0, {{0}}, {0}, -EFAULT,
	  "vring 1: descriptor table at 0x7f0000020000 is outside every region" },
	{ "used ring across the end of its region", L_KICK1, PVB_VU_SET_VRING_KICK, V, 8,
	  { ST(1, 0), U0, U0 + MEMSZ - 8, U0 + 0x100 }, 0, {{0}}, {0}, -EFAULT,
	  "used ring at 0x7f000000fff8 (134 bytes) crosses the end of region 0" },
	{ "descriptor table across two adjacent regions", L_KICK2, PVB_VU_SET_VRING_KICK, V, 8,
	  { ST(1, 0), U0 + MEMSZ - 0x80, U0 + 0x200, U0 + 0x100 }, 0, {{0}}, {0}, -EFAULT,
	  "descriptor table at 0x7f000000ff80 (256 bytes) crosses the end of region 0" },
	{ "descriptor table misaligned", L_KICK1, PVB_VU_SET_VRING_KICK, V, 8,
	  { ST(1, 0), U0 + 8, U0 + 0x200, U0 + 0x100 }, 0, {{0}}, {0}, -EINVAL,
	  "descriptor table at 0x7f0000000008 is not 16-byte aligned" },
	{ "available ring misaligned", L_KICK1, PVB_VU_SET_VRING_KICK, V, 8,
	  { ST(1, 0), U0, U0 + 0x200, U0 + 0x101 }, 0, {{0}}, {0}, -EINVAL,
	  "available ring at 0x7f0000000101 is not 2-byte aligned" },
	{ "used ring misaligned", L_KICK1, PVB_VU_SET_VRING_KICK, V, 8,
	  { ST(1, 0), U0, U0 + 0x202, U0 + 0x100 }, 0, {{0}}, {0}, -EINVAL,
	  "used ring at 0x7f0000000202 is not 4-byte aligned" },
	{ "kick before any size", L_MEM, PVB_VU_SET_VRING_KICK, V, 8, { 0x101 }, 0, {{0}}, {0},
	  -EINVAL, "no size yet" },
	{ "kick before any address", L_RING, PVB_VU_SET_VRING_KICK, V, 8, { 0x101 }, 0, {{0}},
	  FD1(NOFD), -EINVAL, "no addresses yet" },
	{ "ring size 0", L_FRESH, PVB_VU_SET_VRING_NUM, V, 8, { ST(0, 0) }, 0, {{0}}, {0}, -EINVAL,
	  "size 0, want a power of two in 1..256" },
	{ "ring size 48", L_FRESH, PVB_VU_SET_VRING_NUM, V, 8, { ST(0, 48) }, 0, {{0}}, {0},
	  -EINVAL, "size 48" },
	{ "ring size 512 above the device's 256", L_FRESH, PVB_VU_SET_VRING_NUM, V, 8,
	  { ST(0, 512) }, 0, {{0}}, {0}, -EINVAL, "size 512" },
	{ "ring size 2^32 - 1", L_FRESH, PVB_VU_SET_VRING_NUM, V, 8, { ST(0, 0xffffffffu) }, 0,
	  {{0}}, {0}, -EINVAL, "size 4294967295" },
	{ "base above 16 bits", L_FRESH, PVB_VU_SET_VRING_BASE, V, 8, { ST(0, 0x10000) }, 0, {{0}},
	  {0}, -EINVAL, "base 0x10000" },
	{ "enable 2", L_FRESH, PVB_VU_SET_VRING_ENABLE, V, 8, { ST(0, 2) }, 0, {{0}}, {0}, -EINVAL,
	  "enable 2" },
	{ "ring logging", L_FRESH, PVB_VU_SET_VRING_ADDR, V, 40, { ST(0, 1) }, 0, {{0}}, {0},
	  -EINVAL, "logging" },
	{ "ring address flag 2", L_FRESH, PVB_VU_SET_VRING_ADDR, V, 40, { ST(0, 2) }, 0, {{0}},
	  {0}, -EINVAL, "unknown flags 0x2" },
	{ "size of a started ring", L_STARTED, PVB_VU_SET_VRING_NUM, V, 8, { ST(1, 32) }, 0,
	  {{0}}, {0}, -EBUSY, "vring 1 is started" },
	{ "base of a started ring", L_STARTED, PVB_VU_SET_VRING_BASE, V, 8, { ST(1, 3) }, 0,
	  {{0}}, {0}, -EBUSY, "vring 1 is started" },
	{ "a started ring moved out of memory", L_STARTED, PVB_VU_SET_VRING_ADDR, V, 40,
	  { ST(1, 0), U0 + MEMSZ, U0 + 0x200, U0 + 0x100 }, 0, {{0}}, {0}, -EFAULT,
	  "outside every region" },
	/* features and values */
	{ "features not offered", L_FRESH, PVB_VU_SET_FEATURES, V, 8, { BIT(PVB_VHOST_F_LOG_ALL) },
	  0, {{0}}, {0}, -EINVAL, "bits 0x4000000 were not offered" },
	{ "protocol features not offered", L_FRESH, PVB_VU_SET_PROTOCOL_FEATURES, V, 8,
	  { BIT(PVB_VU_PF_LOG_SHMFD) | PF_ACK }, 0, {{0}}, {0}, -EINVAL,
	  "bits 0x2 were not offered" },
	{ "MTU 67", L_PF, PVB_VU_NET_SET_MTU, V, 8, { 67 }, 0, {{0}}, {0}, -EINVAL, "MTU 67" },
	{ "MTU 65536", L_PF, PVB_VU_NET_SET_MTU, V, 8, { 65536 }, 0, {{0}}, {0}, -EINVAL,
	  "MTU 65536" },
	{ "MTU not acked", L_FRESH, PVB_VU_NET_SET_MTU, V, 8, { 1500 }, 0, {{0}}, {0}, -EOPNOTSUPP,
	  "not supported" },
	{ "GET_STATUS not acked", L_FRESH, PVB_VU_GET_STATUS, V, 0, {0}, 0, {{0}}, {0},
	  -EOPNOTSUPP, "not supported" },
	/* what is never answered */
	{ "SET_LOG_BASE", L_FRESH, PVB_VU_SET_LOG_BASE, V, 16, {0}, 0, {{0}}, FD1(MEM_A),
	  -EOPNOTSUPP, "not supported (request 6)" },
	{ "SET_LOG_FD", L_FRESH, PVB_VU_SET_LOG_FD, V, 0, {0}, 0, {{0}}, FD1(EVT), -EOPNOTSUPP,
	  "not supported" },
	{ "GET_MAX_MEM_SLOTS", L_FRESH, PVB_VU_GET_MAX_MEM_SLOTS, V, 0, {0}, 0, {{0}}, {0},
	  -EOPNOTSUPP, "not supported" },
	{ "ADD_MEM_REG", L_FRESH, PVB_VU_ADD_MEM_REG, V, 40, {0}, 0, {{0}}, FD1(MEM_A), -EOPNOTSUPP,
	  "not supported" },
	{ "unknown request 77", L_FRESH, 77, V, 8, {0}, 0, {{0}}, { EVT, EVT }, -EOPNOTSUPP,
	  "not supported (request 77)" },
	{ "request 0", L_FRESH, 0, V, 0, {0}, 0, {{0}}, {0}, -EOPNOTSUPP, "not supported" },
};

/* Bring the fresh connection to @p level with messages the back-end accepts. */
static void
reach(struct fx *fx, enum level level, int *memfds, const uint64_t *p)
{
	struct pvb_vu_region r[2] = { RG(0x100000, MEMSZ, U0, 0),
				      RG(0x100000 + MEMSZ, MEMSZ, U0 + MEMSZ, 0) };
	struct pvb_vu_vring_addr a = { .index = 1, .desc = U0, .avail = U0 + 0x100,
				       .used = U0 + 0x200 };

	if (level == L_FRESH)
		return;
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_PROTOCOL_FEATURES, PF_ALL & ~PF_ACK));
	if (level == L_PF)
		return;
	OK(fx, pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_FEATURES, F_V1));
	OK(fx, pvb_vu_front_set_mem_table(&fx->f, r, memfds,
					  level == L_TWO || level == L_KICK2 ? 2 : 1));
	if (level == L_MEM || level == L_TWO)
		return;
	OK(fx, pvb_vu_front_set_vring_state(&fx->f, PVB_VU_SET_VRING_NUM, 1, QN));
	if (level == L_RING)
		return;
	if (level == L_KICK1 || level == L_KICK2) {
		/* a stopped ring's addresses are only stored: the kick checks them */
		memcpy(&a, p, sizeof(a));
		OK(fx, pvb_vu_front_set_vring_addr(&fx->f, &a));
		return;
	}
	OK(fx, pvb_vu_front_set_vring_addr(&fx->f, &a));
	OK(fx, pvb_vu_front_set_vring_fd(&fx->f, PVB_VU_SET_VRING_KICK, 1, -1));
	expect_true(fx->b.vr[1].started);
}

static void
test_refusals(void **state)
{
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < DIM(refusals); i++) {
		const struct refusal *c = &refusals[i];
		int fds[3], before, sent[3];
		struct pvb_vu_msg m;
		uint64_t bad;
		uint32_t n = 0, k;
		int rc;

		reconnect(fx);
		at("%s: set-up", c->name);
		reach(fx, c->level, fx->memfd, c->p);
		at("%s", c->name);
		bad = fx->b.bad_messages;
		before = count_fds();
		msg(&m, c->request, c->flags, c->size);
		memcpy(m.p.bytes, c->p, sizeof(c->p));
		if (c->level == L_KICK1 || c->level == L_KICK2)
			m.p.u64 = 1 | PVB_VU_VRING_NOFD;
		if (c->request == PVB_VU_SET_MEM_TABLE) {
			m.p.mem.nregions = c->nregions;
			m.p.mem.padding = 0;
			memcpy(m.p.mem.r, c->r, sizeof(c->r));
		}
		for (k = 0; k < 3 && c->fds[k] != NOFD; k++) {
			fds[k] = c->fds[k] == MEM_A ? fx->memfd[0] :
				 c->fds[k] == MEM_B ? fx->memfd[1] : efd();
			n++;
		}
		memcpy(sent, fds, sizeof(sent));
		if ((c->flags & PVB_VU_FLAG_VERSION_MASK) == PVB_VU_VERSION) {
			rc = raw(fx, &m, fds, n);
		} else {
			/* pvb_vu_recv() refuses these already; the back-end must too */
			for (k = 0; k < n; k++)
				fds[k] = dup(fds[k]);
			rc = pvb_vu_backend_handle(&fx->b, &m, fds, n, &fx->reply);
		}
		for (k = 0; k < n; k++)
			if (c->fds[k] == EVT)
				close(sent[k]);
		if (rc != c->err)
			fail_msg("%s: back-end returned %d, want %d (error \"%s\")", here, rc,
				 c->err, fx->b.error);
		if (strstr(fx->b.error, c->why) == NULL)
			fail_msg("%s: error \"%s\", want \"%s\" in it", here, fx->b.error, c->why);
		expect_eq(fx->b.bad_messages, bad + 1);
		/* every fd the message carried is closed: the count is what it was */
		expect_eq(count_fds(), before);
		/* a refused table maps nothing */
		if (c->request == PVB_VU_SET_MEM_TABLE)
			expect_eq(fx->b.nregions, 0);
	}
	reconnect(fx);
}

/* The fds array after handle: every entry -1, kept or closed. */
static void
test_fds_taken(void **state)
{
	struct fx *fx = *state;
	struct pvb_vu_msg m, r;
	int fds[2] = { efd(), efd() };

	at("a kept call fd");
	msg(&m, PVB_VU_SET_VRING_CALL, PVB_VU_VERSION, 8);
	m.p.u64 = 1;
	expect_eq(pvb_vu_backend_handle(&fx->b, &m, fds, 1, &r), 0);
	expect_eq(fds[0], -1);
	at("a closed surplus fd");
	msg(&m, PVB_VU_SET_OWNER, PVB_VU_VERSION, 0);
	expect_eq(pvb_vu_backend_handle(&fx->b, &m, &fds[1], 1, &r), -EPROTO);
	expect_eq(fds[1], -1);
	at("bad arguments");
	expect_eq(pvb_vu_backend_handle(&fx->b, NULL, NULL, 0, &r), -EINVAL);
	expect_eq(pvb_vu_backend_handle(&fx->b, &m, NULL, 1, &r), -EINVAL);
	expect_false(pvb_vu_backend_vring_ready(&fx->b, 1));
	expect_false(pvb_vu_backend_vring_ready(&fx->b, 2));
	expect_false(pvb_vu_backend_vring_ready(&fx->b, 0xffffffffu));
}

/* ----------------------------------------------------------------------------
 * Tests: the front-end's checks of replies (the test plays the back-end)
 */

/* Put a reply on the back-end's end before the front-end asks for it. */
static void
put_reply(struct fx *fx, uint32_t request, uint32_t flags, uint32_t size, uint64_t v, int fd)
{
	struct pvb_vu_msg m;

	msg(&m, request, flags, size);
	m.p.u64 = v;
	assert_int_equal(pvb_vu_send(fx->sp[1], &m, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0), 0);
}

static void
test_front_checks(void **state)
{
	struct fx *fx = *state;
	struct pvb_vu_region r = { 0 };
	uint64_t v = 0;
	uint32_t num;
	int e, before = count_fds();

	at("a good reply");
	put_reply(fx, PVB_VU_GET_FEATURES, 0x5, 8, 42, -1);
	expect_eq(pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v), 0);
	expect_eq(v, 42);
	at("flags 0x1");
	put_reply(fx, PVB_VU_GET_FEATURES, 0x1, 8, 42, -1);
	expect_eq(pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v), -EPROTO);
	at("flags 0xd (NEED_REPLY echoed)");
	put_reply(fx, PVB_VU_GET_FEATURES, 0xd, 8, 42, -1);
	expect_eq(pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v), -EPROTO);
	at("another request's reply");
	put_reply(fx, PVB_VU_GET_PROTOCOL_FEATURES, 0x5, 8, 42, -1);
	expect_eq(pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v), -EPROTO);
	expect_true(strstr(fx->f.error, "GET_FEATURES") != NULL);
	at("size 4");
	put_reply(fx, PVB_VU_GET_FEATURES, 0x5, 4, 42, -1);
	expect_eq(pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v), -EPROTO);
	at("a reply with an fd: closed");
	e = efd();
	put_reply(fx, PVB_VU_GET_FEATURES, 0x5, 8, 42, e);
	close(e);
	expect_eq(pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v), -EPROTO);
	expect_eq(count_fds(), before);
	at("GET_VRING_BASE answered for another vring");
	put_reply(fx, PVB_VU_GET_VRING_BASE, 0x5, 8, ST(0, 7), -1);
	expect_eq(pvb_vu_front_get_vring_base(&fx->f, 1, &num), -EPROTO);
	put_reply(fx, PVB_VU_GET_VRING_BASE, 0x5, 8, ST(1, 7), -1);
	expect_eq(pvb_vu_front_get_vring_base(&fx->f, 1, &num), 0);
	expect_eq(num, 7);
	at("an ack and a nack");
	fx->f.protocol_features = PF_ACK;
	put_reply(fx, PVB_VU_SET_FEATURES, 0x5, 8, 0, -1);
	expect_eq(pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_FEATURES, F_V1), 0);
	put_reply(fx, PVB_VU_SET_FEATURES, 0x5, 8, 1, -1);
	expect_eq(pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_FEATURES, F_V1), -EREMOTEIO);
	at("no reply within 0 ms");
	fx->f.timeout_ms = 0;
	expect_eq(pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_OWNER, 0), -ETIMEDOUT);
	expect_eq(pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v), -ETIMEDOUT);
	at("arguments refused before anything is sent");
	expect_eq(pvb_vu_front_get_u64(&fx->f, PVB_VU_SET_FEATURES, &v), -EINVAL);
	expect_eq(pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, NULL), -EINVAL);
	expect_eq(pvb_vu_front_set_u64(&fx->f, PVB_VU_GET_FEATURES, 0), -EINVAL);
	expect_eq(pvb_vu_front_set_vring_state(&fx->f, PVB_VU_GET_VRING_BASE, 0, 0), -EINVAL);
	expect_eq(pvb_vu_front_set_vring_fd(&fx->f, PVB_VU_SET_VRING_KICK, 256, -1), -EINVAL);
	expect_eq(pvb_vu_front_set_vring_fd(&fx->f, PVB_VU_SET_VRING_NUM, 0, -1), -EINVAL);
	expect_eq(pvb_vu_front_set_mem_table(&fx->f, &r, &e, 0), -EINVAL);
	expect_eq(pvb_vu_front_set_mem_table(&fx->f, &r, &e, 9), -EINVAL);
	expect_eq(pvb_vu_front_set_vring_addr(&fx->f, NULL), -EINVAL);
	at("the back-end gone");
	close_fd(&fx->sp[1]);
	fx->f.timeout_ms = TIMEOUT_MS;
	e = pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v);
	expect_true(e == -EPIPE || e == -ECONNRESET);
	fx->f.protocol_features = 0;
	e = pvb_vu_front_set_u64(&fx->f, PVB_VU_SET_OWNER, 0);
	expect_true(e == -EPIPE || e == -ECONNRESET);
}

/* The back-end closes while the front-end waits for a reply. */
static void
test_front_peer_closes(void **state)
{
	struct fx *fx = *state;
	uint64_t v;

	at("the reply never comes: the connection closes");
	shutdown(fx->sp[1], SHUT_WR);
	expect_eq(pvb_vu_front_get_u64(&fx->f, PVB_VU_GET_FEATURES, &v), -ECONNRESET);
	expect_true(strstr(fx->f.error, "closed") != NULL);
}

/* ----------------------------------------------------------------------------
 * Tests: virtio-net header
 */

static void
chain_add(struct pvb_virtq_chain *c, void *p, uint32_t len, bool write)
{
	c->seg[c->nb_segs] = (struct pvb_virtq_seg){ .host = p, .len = len, .write = write };
	c->nb_segs++;
	if (write)
		c->writable_len += len;
	else {
		c->readable_len += len;
		c->nb_readable = c->nb_segs;
	}
}

static void
test_vnet_hdr(void **state)
{
	uint8_t raw_h[12] = { 1, 0x81, 0x36, 0, 0xb4, 5, 34, 0, 16, 0, 9, 0 };
	uint8_t frame[100], w[64];
	struct pvb_virtq_chain c;
	struct pvb_vnet_hdr h;
	uint32_t i;

	(void)state;
	memset(frame, 0x33, sizeof(frame));
	at("lengths");
	expect_eq(pvb_vnet_hdr_len(0), 10);
	expect_eq(pvb_vnet_hdr_len(F_V1), 12);
	expect_eq(pvb_vnet_hdr_len(F_MRG), 12);
	expect_eq(pvb_vnet_hdr_len(F_IND | F_EVT), 10);

	at("one segment, header then frame");
	{
		uint8_t buf[112];

		memcpy(buf, raw_h, 12);
		memset(&c, 0, sizeof(c));
		chain_add(&c, buf, sizeof(buf), false);
		expect_eq(pvb_vnet_hdr_get(&c, 12, &h), 0);
		expect_eq(h.flags, 1);
		expect_eq(h.gso_type, 0x81);
		expect_eq(h.hdr_len, 0x36);
		expect_eq(h.gso_size, 1460);
		expect_eq(h.csum_start, 34);
		expect_eq(h.csum_offset, 16);
		expect_eq(h.num_buffers, 9);
		at("10-byte header: no num_buffers");
		expect_eq(pvb_vnet_hdr_get(&c, 10, &h), 0);
		expect_eq(h.num_buffers, 0);
		expect_eq(h.csum_offset, 16);
	}
	at("12 one-byte segments, then the frame");
	memset(&c, 0, sizeof(c));
	for (i = 0; i < 12; i++)
		chain_add(&c, &raw_h[i], 1, false);
	chain_add(&c, frame, 1, false);
	expect_eq(pvb_vnet_hdr_get(&c, 12, &h), 0);
	expect_eq(h.gso_size, 1460);
	expect_eq(h.num_buffers, 9);
	at("only a header (CVE-2022-2132)");
	memset(&c, 0, sizeof(c));
	chain_add(&c, raw_h, 5, false);
	chain_add(&c, raw_h + 5, 7, false);
	chain_add(&c, w, sizeof(w), true);	/* writable bytes are no frame */
	expect_eq(pvb_vnet_hdr_get(&c, 12, &h), -EBADMSG);
	expect_eq(h.flags, 0);
	at("less than a header");
	memset(&c, 0, sizeof(c));
	chain_add(&c, raw_h, 11, false);
	expect_eq(pvb_vnet_hdr_get(&c, 12, &h), -EBADMSG);
	expect_eq(pvb_vnet_hdr_get(&c, 10, &h), 0);
	at("no readable byte");
	memset(&c, 0, sizeof(c));
	chain_add(&c, w, sizeof(w), true);
	expect_eq(pvb_vnet_hdr_get(&c, 12, &h), -EBADMSG);
	at("a header length that is neither 10 nor 12");
	expect_eq(pvb_vnet_hdr_get(&c, 11, &h), -EINVAL);
	expect_eq(pvb_vnet_hdr_get(&c, 20, &h), -EINVAL);
}

static void
test_vnet_check(void **state)
{
	static const struct {
		const char *name;
		struct pvb_vnet_hdr h;
		uint64_t frame_len;
		const char *why;	/* NULL: sound */
	} cases[] = {
		{ "all zero", { 0 }, 60, NULL },
		{ "DATA_VALID", { .flags = 2 }, 60, NULL },
		{ "csum field ends at the frame end", { .flags = 1, .csum_start = 34,
		  .csum_offset = 16 }, 52, NULL },
		{ "csum field one byte past (CVE-2024-11614)", { .flags = 1, .csum_start = 34,
		  .csum_offset = 16 }, 51, "checksum field beyond the frame" },
		{ "csum start past the frame", { .flags = 1, .csum_start = 0xffff,
		  .csum_offset = 0xffff }, 0x1ffff, "checksum field beyond the frame" },
		{ "largest offsets, frame long enough", { .flags = 1, .csum_start = 0xffff,
		  .csum_offset = 0xffff }, 0x20000, NULL },
		{ "csum offsets without NEEDS_CSUM are not read", { .csum_start = 0xffff,
		  .csum_offset = 0xffff }, 14, NULL },
		{ "flag 4 (RSC_INFO)", { .flags = 4 }, 60, "unknown flag" },
		{ "flag 0x80", { .flags = 0x80 }, 60, "unknown flag" },
		{ "gso_type 2", { .flags = 1, .gso_type = 2, .gso_size = 1000 }, 60,
		  "unknown gso_type" },
		{ "gso_type 6", { .flags = 1, .gso_type = 6, .gso_size = 1000 }, 60,
		  "unknown gso_type" },
		{ "ECN alone", { .gso_type = 0x80 }, 60, "ECN without GSO" },
		{ "TCPv4 + ECN", { .flags = 1, .gso_type = 0x81, .gso_size = 1448,
		  .csum_start = 34, .csum_offset = 16 }, 3000, NULL },
		{ "UDP_L4", { .flags = 1, .gso_type = 5, .gso_size = 1000, .csum_start = 34,
		  .csum_offset = 6 }, 3000, NULL },
		{ "TCPv6 without NEEDS_CSUM", { .gso_type = 4, .gso_size = 1440 }, 3000,
		  "GSO without NEEDS_CSUM" },
		{ "TCPv4 gso_size 0", { .flags = 1, .gso_type = 1, .csum_start = 34,
		  .csum_offset = 16 }, 3000, "GSO with gso_size 0" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		const char *why = pvb_vnet_hdr_check(&cases[i].h, cases[i].frame_len);

		at("%s", cases[i].name);
		if (cases[i].why == NULL && why != NULL)
			fail_msg("%s: refused (%s)", here, why);
		if (cases[i].why != NULL && (why == NULL || strcmp(why, cases[i].why) != 0))
			fail_msg("%s: \"%s\", want \"%s\"", here, why ? why : "sound",
				 cases[i].why);
	}
}

/* ---- offloads: the header against the frame (vu_net_ol.c) ---------------------- */

#define OL_MAX	70000

/* RFC 1071, written plainly: the reference the library is checked against. */
static uint32_t
ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t
ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t
be16at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Ethernet (+ @p tags 802.1Q tags) / IPv4 or IPv6 / TCP (32-byte header) or
 * UDP / @p payload bytes into @p f; its length. Checksums: IPv4 header valid,
 * L4 field 0xdead (whatever a sender left there).
 */
static uint32_t
ol_frame(uint8_t *f, bool v6, bool tcp, uint32_t payload, unsigned int tags)
{
	uint32_t l2 = 14 + 4 * tags, l3 = v6 ? 40 : 20, l4 = tcp ? 32 : 8, i, len;
	uint8_t *ip = f + l2, *t = ip + l3;

	len = l2 + l3 + l4 + payload;
	memset(f, 0, len);
	memcpy(f, "\x02\0\0\0\0\x0b\x02\0\0\0\0\x0a", 12);
	for (i = 0; i < tags; i++) {
		f[12 + 4 * i] = 0x81;
		f[15 + 4 * i] = (uint8_t)(10 + i);
	}
	f[l2 - 2] = v6 ? 0x86 : 0x08;
	f[l2 - 1] = v6 ? 0xdd : 0x00;
	if (v6) {
		ip[0] = 0x60;
		ip[4] = (uint8_t)((len - l2 - 40) >> 8);
		ip[5] = (uint8_t)(len - l2 - 40);
		ip[6] = tcp ? 6 : 17;
		ip[7] = 64;
		ip[8] = 0xfd;
		ip[23] = 1;
		ip[24] = 0xfd;
		ip[39] = 2;
	} else {
		uint16_t c;

		ip[0] = 0x45;
		ip[2] = (uint8_t)((len - l2) >> 8);
		ip[3] = (uint8_t)(len - l2);
		ip[8] = 64;
		ip[9] = tcp ? 6 : 17;
		memcpy(ip + 12, "\x0a\0\0\x01\x0a\0\0\x02", 8);
		c = (uint16_t)~ref_fold(ref_sum(ip, 20, 0));
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
	}
	t[0] = 0x9c;
	t[2] = 0x13;
	t[3] = 0x89;
	if (tcp) {
		t[12] = 0x80;	/* 32 bytes: 12 of options */
		t[13] = 0x18;
		t[16] = 0xde;
		t[17] = 0xad;
	} else {
		t[4] = (uint8_t)((l4 + payload) >> 8);
		t[5] = (uint8_t)(l4 + payload);
		t[6] = 0xde;
		t[7] = 0xad;
	}
	for (i = 0; i < payload; i++)
		t[l4 + i] = (uint8_t)(i * 7 + 3);
	return len;
}

/* The pseudo-header sum of the frame's IP header at @p l2, L4 length @p l4len. */
static uint16_t
ref_phdr(const uint8_t *f, uint32_t l2, uint32_t l4len)
{
	const uint8_t *ip = f + l2;
	bool v6 = (ip[0] >> 4) == 6;
	uint32_t s = (v6 ? ip[6] : ip[9]) + (l4len & 0xffff) + (l4len >> 16);

	return ref_fold(v6 ? ref_sum(ip + 8, 32, s) : ref_sum(ip + 12, 8, s));
}

/*
 * What a checksum-offloading receiver computes from a partial checksum:
 * the ones' complement of the sum from csum_start to the end (the field
 * included), written at csum_start + csum_offset; true if the result is the
 * L4 checksum the frame must carry (the pseudo-header with the L4 length
 * from the IP header, and the L4 bytes with the field zero).
 */
static bool
ref_partial_ok(const uint8_t *f, uint32_t len, uint32_t start, uint32_t off, uint32_t l2)
{
	uint8_t *c = malloc(len);
	uint16_t got, want;
	uint32_t l4len = len - start;

	memcpy(c, f, len);
	got = (uint16_t)~ref_fold(ref_sum(c + start, l4len, 0));
	c[start + off] = c[start + off + 1] = 0;
	want = (uint16_t)~ref_fold(ref_sum(c + start, l4len, ref_phdr(c, l2, l4len)));
	free(c);
	return got == want;
}

static bool
ipv4_hdr_ok(const uint8_t *ip)
{
	return ref_fold(ref_sum(ip, (ip[0] & 0xfu) * 4, 0)) == 0xffff;
}

/* Frames and offsets the parse takes, and those it does not. */
static void
test_vnet_parse(void **state)
{
	static uint8_t f[OL_MAX];
	struct pvb_vnet_ol ol = { 0 };
	uint32_t len;

	(void)state;
	at("IPv4/TCP");
	len = ol_frame(f, false, true, 100, 0);
	assert_int_equal(pvb_vnet_parse(f, len, &ol), 0);
	assert_int_equal(ol.flags, PVB_VNET_OL_IPV4 | PVB_VNET_OL_TCP);
	assert_int_equal(ol.l2_len, 14);
	assert_int_equal(ol.l3_len, 20);
	assert_int_equal(ol.l4_len, 32);
	at("IPv6/UDP behind two tags");
	len = ol_frame(f, true, false, 10, 2);
	assert_int_equal(pvb_vnet_parse(f, len, &ol), 0);
	assert_int_equal(ol.flags, PVB_VNET_OL_IPV6 | PVB_VNET_OL_UDP);
	assert_int_equal(ol.l2_len, 22);
	assert_int_equal(ol.l3_len, 40);
	assert_int_equal(ol.l4_len, 8);
	at("every truncation of the headers");
	len = ol_frame(f, false, true, 0, 1);
	for (uint32_t n = 0; n < len; n++)
		assert_int_equal(pvb_vnet_parse(f, n, &ol), -EPROTO);
	assert_int_equal(pvb_vnet_parse(f, len, &ol), 0);
	at("three tags");
	len = ol_frame(f, false, true, 10, 3);
	assert_int_equal(pvb_vnet_parse(f, len, &ol), -EPROTO);
	at("an IPv4 fragment");
	len = ol_frame(f, false, true, 10, 0);
	f[14 + 6] = 0x20;	/* MF */
	assert_int_equal(pvb_vnet_parse(f, len, &ol), -EPROTO);
	at("IPv4 IHL 4");
	len = ol_frame(f, false, true, 10, 0);
	f[14] = 0x44;
	assert_int_equal(pvb_vnet_parse(f, len, &ol), -EPROTO);
	at("an IPv6 extension header");
	len = ol_frame(f, true, true, 10, 0);
	f[14 + 6] = 0;	/* hop-by-hop */
	assert_int_equal(pvb_vnet_parse(f, len, &ol), -EPROTO);
	at("TCP data offset 4");
	len = ol_frame(f, false, true, 10, 0);
	f[34 + 12] = 0x40;
	assert_int_equal(pvb_vnet_parse(f, len, &ol), -EPROTO);
	at("ICMP");
	len = ol_frame(f, false, true, 10, 0);
	f[14 + 9] = 1;
	assert_int_equal(pvb_vnet_parse(f, len, &ol), -EPROTO);
	at("ARP");
	f[12] = 0x08;
	f[13] = 0x06;
	assert_int_equal(pvb_vnet_parse(f, len, &ol), -EPROTO);
}

static const uint32_t ACCEPT_ALL = PVB_VNET_ACCEPT_CSUM | PVB_VNET_ACCEPT_TSO4 |
				   PVB_VNET_ACCEPT_TSO6;

/* A request that is sound becomes the mbuf's offsets, the frame left canonical. */
static void
test_vnet_rx_ol_good(void **state)
{
	static uint8_t f[OL_MAX];
	struct pvb_vnet_hdr h;
	struct pvb_vnet_ol ol;
	const char *why;
	uint32_t len;

	(void)state;
	for (int v6 = 0; v6 < 2; v6++) {
		for (int tcp = 0; tcp < 2; tcp++) {
			uint32_t l3 = v6 ? 40 : 20, off = tcp ? 16 : 6;

			at(v6 ? (tcp ? "NEEDS_CSUM IPv6/TCP" : "NEEDS_CSUM IPv6/UDP") :
				(tcp ? "NEEDS_CSUM IPv4/TCP" : "NEEDS_CSUM IPv4/UDP"));
			len = ol_frame(f, v6, tcp, 1000, 1);
			h = (struct pvb_vnet_hdr){ .flags = PVB_VNET_HDR_F_NEEDS_CSUM,
				.csum_start = (uint16_t)(18 + l3), .csum_offset = (uint16_t)off };
			assert_int_equal(pvb_vnet_rx_ol(&h, PVB_VNET_ACCEPT_CSUM, f, len, len, &ol,
							&why), PVB_VNET_OK);
			assert_int_equal(ol.flags, PVB_VNET_OL_CSUM |
					 (v6 ? PVB_VNET_OL_IPV6 : PVB_VNET_OL_IPV4) |
					 (tcp ? PVB_VNET_OL_TCP : PVB_VNET_OL_UDP));
			assert_int_equal(ol.l2_len, 18);
			assert_int_equal(ol.l3_len, l3);
			assert_int_equal(ol.l4_len, tcp ? 32 : 8);
			/* canonical = what rte_ipv{4,6}_phdr_cksum() give: with the length */
			assert_int_equal(be16at(f + 18 + l3 + off), ref_phdr(f, 18, len - 18 - l3));
			assert_true(ref_partial_ok(f, len, 18 + l3, off, 18));
		}
	}

	at("GSO TCPV4 with the IPv4 total length 0 (as hv_netvsc's LSOv2 sends it)");
	len = ol_frame(f, false, true, 60000, 0);
	f[16] = f[17] = 0;
	h = (struct pvb_vnet_hdr){ .flags = 1, .gso_type = PVB_VNET_GSO_TCPV4, .gso_size = 1448,
				   .hdr_len = 66, .csum_start = 34, .csum_offset = 16 };
	assert_int_equal(pvb_vnet_rx_ol(&h, ACCEPT_ALL, f, 2048, len, &ol, &why), PVB_VNET_OK);
	assert_int_equal(ol.flags, PVB_VNET_OL_CSUM | PVB_VNET_OL_TSO | PVB_VNET_OL_IPV4 |
			 PVB_VNET_OL_TCP);
	assert_int_equal(ol.mss, 1448);
	assert_int_equal(be16at(f + 16), len - 14);
	assert_true(ipv4_hdr_ok(f + 14));
	/* TSO: the pseudo-header sum without the length */
	assert_int_equal(be16at(f + 50), ref_phdr(f, 14, 0));

	at("GSO TCPV6, 64 KB of payload");
	len = ol_frame(f, true, true, 65535 - 32, 0);
	h = (struct pvb_vnet_hdr){ .flags = 1, .gso_type = PVB_VNET_GSO_TCPV6, .gso_size = 1440,
				   .csum_start = 54, .csum_offset = 16 };
	assert_int_equal(pvb_vnet_rx_ol(&h, ACCEPT_ALL, f, 2048, len, &ol, &why), PVB_VNET_OK);
	assert_int_equal(ol.flags, PVB_VNET_OL_CSUM | PVB_VNET_OL_TSO | PVB_VNET_OL_IPV6 |
			 PVB_VNET_OL_TCP);
	assert_int_equal(be16at(f + 18), 65535);
	assert_int_equal(be16at(f + 70), ref_phdr(f, 14, 0));

	at("GSO TCPV4 from a peer that acked TSO4 without CSUM (DPDK's virtio with LRO)");
	len = ol_frame(f, false, true, 5000, 0);
	h = (struct pvb_vnet_hdr){ .flags = 1, .gso_type = PVB_VNET_GSO_TCPV4, .gso_size = 1448,
				   .csum_start = 34, .csum_offset = 16 };
	assert_int_equal(pvb_vnet_rx_ol(&h, PVB_VNET_ACCEPT_TSO4, f, len, len, &ol, &why),
			 PVB_VNET_OK);
	assert_true(ol.flags & PVB_VNET_OL_TSO);
	h.gso_type = PVB_VNET_GSO_NONE;
	assert_int_equal(pvb_vnet_rx_ol(&h, PVB_VNET_ACCEPT_TSO4, f, len, len, &ol, &why),
			 PVB_VNET_NOT_NEGOTIATED);

	at("GSO whose payload fits one gso_size: the checksum only");
	len = ol_frame(f, false, true, 1000, 0);
	h.gso_type = PVB_VNET_GSO_TCPV4;
	h.csum_start = 34;
	assert_int_equal(pvb_vnet_rx_ol(&h, ACCEPT_ALL, f, len, len, &ol, &why), PVB_VNET_OK);
	assert_int_equal(ol.flags, PVB_VNET_OL_CSUM | PVB_VNET_OL_IPV4 | PVB_VNET_OL_TCP);
	assert_true(ref_partial_ok(f, len, 34, 16, 14));

	at("no request: nothing read, nothing changed");
	h = (struct pvb_vnet_hdr){ 0 };
	assert_int_equal(pvb_vnet_rx_ol(&h, 0, NULL, 0, 60, &ol, &why), PVB_VNET_OK);
	assert_int_equal(ol.flags, 0);
}

/* DATA_VALID: the L4 checksum vouched for, the IPv4 header's checked here. */
static void
test_vnet_rx_data_valid(void **state)
{
	static uint8_t f[2048];
	struct pvb_vnet_hdr h = { .flags = PVB_VNET_HDR_F_DATA_VALID };
	struct pvb_vnet_ol ol;
	const char *why;
	uint32_t len;

	(void)state;
	at("IPv4, header checksum right");
	len = ol_frame(f, false, true, 100, 0);
	assert_int_equal(pvb_vnet_rx_ol(&h, 0, f, len, len, &ol, &why), PVB_VNET_OK);
	assert_true(ol.flags & PVB_VNET_OL_L4_GOOD);
	assert_true(ol.flags & PVB_VNET_OL_IP_GOOD);
	at("IPv4, header checksum wrong");
	f[24] ^= 1;
	assert_int_equal(pvb_vnet_rx_ol(&h, 0, f, len, len, &ol, &why), PVB_VNET_OK);
	assert_true(ol.flags & PVB_VNET_OL_IP_BAD);
	at("IPv6");
	len = ol_frame(f, true, false, 100, 0);
	assert_int_equal(pvb_vnet_rx_ol(&h, 0, f, len, len, &ol, &why), PVB_VNET_OK);
	assert_int_equal(ol.flags & (PVB_VNET_OL_L4_GOOD | PVB_VNET_OL_IP_GOOD |
				     PVB_VNET_OL_IP_BAD), PVB_VNET_OL_L4_GOOD);
	at("not IP: nothing to say");
	f[12] = 0x08;
	f[13] = 0x06;
	assert_int_equal(pvb_vnet_rx_ol(&h, 0, f, len, len, &ol, &why), PVB_VNET_OK);
	assert_int_equal(ol.flags, 0);
}

/* Every refusal, with the reason it is counted under. */
static void
test_vnet_rx_ol_bad(void **state)
{
	static uint8_t f[OL_MAX];
	static const struct {
		const char *name;
		bool v6, tcp;
		uint32_t payload, seg;	/* seg 0: the whole frame */
		struct pvb_vnet_hdr h;
		uint32_t accept;
		int poke;		/* byte of the frame set to poke_v first, if >= 0 */
		uint8_t poke_v;
		enum pvb_vnet_bad want;
	} cases[] = {
		{ "csum_start not the L4 offset", false, true, 100, 0,
		  { .flags = 1, .csum_start = 33, .csum_offset = 16 }, 7, -1, 0,
		  PVB_VNET_BAD_CSUM },
		{ "csum_offset of UDP on TCP", false, true, 100, 0,
		  { .flags = 1, .csum_start = 34, .csum_offset = 6 }, 7, -1, 0, PVB_VNET_BAD_CSUM },
		{ "csum_offset of TCP on UDP", true, false, 100, 0,
		  { .flags = 1, .csum_start = 54, .csum_offset = 16 }, 7, -1, 0, PVB_VNET_BAD_CSUM },
		{ "checksum field beyond the frame (CVE-2024-11614)", false, true, 0, 0,
		  { .flags = 1, .csum_start = 60, .csum_offset = 16 }, 7, -1, 0,
		  PVB_VNET_BAD_HEADER },
		{ "headers beyond the first segment", false, true, 100, 40,
		  { .flags = 1, .csum_start = 34, .csum_offset = 16 }, 7, -1, 0, PVB_VNET_BAD_CSUM },
		{ "NEEDS_CSUM on ICMP", false, true, 100, 0,
		  { .flags = 1, .csum_start = 34, .csum_offset = 2 }, 7, 23, 1, PVB_VNET_BAD_CSUM },
		{ "IPv4 total length beyond the frame", false, true, 100, 0,
		  { .flags = 1, .csum_start = 34, .csum_offset = 16 }, 7, 16, 0x7f,
		  PVB_VNET_BAD_CSUM },
		{ "TCPV4 on IPv6", true, true, 5000, 0,
		  { .flags = 1, .gso_type = 1, .gso_size = 1000, .csum_start = 54,
		    .csum_offset = 16 }, 7, -1, 0, PVB_VNET_BAD_GSO },
		{ "TCPV6 on IPv4", false, true, 5000, 0,
		  { .flags = 1, .gso_type = 4, .gso_size = 1000, .csum_start = 34,
		    .csum_offset = 16 }, 7, -1, 0, PVB_VNET_BAD_GSO },
		{ "TCPV4 on UDP", false, false, 5000, 0,
		  { .flags = 1, .gso_type = 1, .gso_size = 1000, .csum_start = 34,
		    .csum_offset = 6 }, 7, -1, 0, PVB_VNET_BAD_GSO },
		{ "gso_size 0", false, true, 5000, 0,
		  { .flags = 1, .gso_type = 1, .csum_start = 34, .csum_offset = 16 }, 7, -1, 0,
		  PVB_VNET_BAD_HEADER },
		{ "gso_size 65535", false, true, 5000, 0,
		  { .flags = 1, .gso_type = 1, .gso_size = 65535, .csum_start = 34,
		    .csum_offset = 16 }, 7, -1, 0, PVB_VNET_BAD_GSO },
		{ "GSO frame beyond 64 KB of IPv4", false, true, 65535, 0,
		  { .flags = 1, .gso_type = 1, .gso_size = 1448, .csum_start = 34,
		    .csum_offset = 16 }, 7, -1, 0, PVB_VNET_BAD_GSO },
		{ "GSO without payload", false, true, 0, 0,
		  { .flags = 1, .gso_type = 1, .gso_size = 1448, .csum_start = 34,
		    .csum_offset = 16 }, 7, -1, 0, PVB_VNET_BAD_GSO },
		{ "UDP segmentation", false, false, 5000, 0,
		  { .flags = 1, .gso_type = 5, .gso_size = 1000, .csum_start = 34,
		    .csum_offset = 6 }, 7, -1, 0, PVB_VNET_UNSUPPORTED },
		{ "UFO", false, false, 5000, 0,
		  { .flags = 1, .gso_type = 3, .gso_size = 1000, .csum_start = 34,
		    .csum_offset = 6 }, 7, -1, 0, PVB_VNET_UNSUPPORTED },
		{ "ECN (not offered)", false, true, 5000, 0,
		  { .flags = 1, .gso_type = 0x81, .gso_size = 1000, .csum_start = 34,
		    .csum_offset = 16 }, 7, -1, 0, PVB_VNET_NOT_NEGOTIATED },
		{ "NEEDS_CSUM not acked", false, true, 100, 0,
		  { .flags = 1, .csum_start = 34, .csum_offset = 16 }, 0, -1, 0,
		  PVB_VNET_NOT_NEGOTIATED },
		{ "GSO whose payload fits gso_size, TSO acked, CSUM not", false, true, 500, 0,
		  { .flags = 1, .gso_type = 1, .gso_size = 1000, .csum_start = 34,
		    .csum_offset = 16 }, PVB_VNET_ACCEPT_TSO4, -1, 0, PVB_VNET_OK },
		{ "TCPV6 not acked", true, true, 5000, 0,
		  { .flags = 1, .gso_type = 4, .gso_size = 1000, .csum_start = 54,
		    .csum_offset = 16 }, PVB_VNET_ACCEPT_CSUM | PVB_VNET_ACCEPT_TSO4, -1, 0,
		  PVB_VNET_NOT_NEGOTIATED },
		{ "unknown flag", false, true, 100, 0, { .flags = 4 }, 7, -1, 0,
		  PVB_VNET_BAD_HEADER },
	};
	struct pvb_vnet_ol ol;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		uint32_t len = ol_frame(f, cases[i].v6, cases[i].tcp, cases[i].payload, 0);

		at("%s", cases[i].name);
		if (cases[i].poke >= 0)
			f[cases[i].poke] = cases[i].poke_v;
		why = NULL;
		assert_int_equal(pvb_vnet_rx_ol(&cases[i].h, cases[i].accept, f,
						cases[i].seg ? cases[i].seg : len, len, &ol, &why),
				 cases[i].want);
		if (cases[i].want == PVB_VNET_OK)
			continue;
		assert_non_null(why);
		assert_non_null(strstr(pvb_vnet_bad_str(cases[i].want), "rx_offload"));
	}
}

/* The sending side, and what the receiving side makes of it again. */
static void
test_vnet_tx_hdr(void **state)
{
	static uint8_t f[OL_MAX];
	struct pvb_vnet_ol want, back;
	struct pvb_vnet_hdr h;
	const char *why;
	uint32_t len;

	(void)state;
	at("TCP checksum over IPv4: Linux's form, the length in the pseudo-header");
	len = ol_frame(f, false, true, 500, 0);
	want = (struct pvb_vnet_ol){ .flags = PVB_VNET_OL_CSUM | PVB_VNET_OL_TCP |
				     PVB_VNET_OL_IPV4, .l2_len = 14, .l3_len = 20 };
	assert_int_equal(pvb_vnet_tx_hdr(f, len, len, &want, &h), 0);
	assert_int_equal(h.flags, PVB_VNET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, PVB_VNET_GSO_NONE);
	assert_int_equal(h.csum_start, 34);
	assert_int_equal(h.csum_offset, 16);
	assert_true(ref_partial_ok(f, len, 34, 16, 14));
	assert_int_equal(pvb_vnet_rx_ol(&h, ACCEPT_ALL, f, len, len, &back, &why), PVB_VNET_OK);
	assert_int_equal(back.flags, want.flags);

	at("TSO over IPv6 with a tag: GSO TCPV6, the length made true, the sum with it");
	len = ol_frame(f, true, true, 30000, 1);
	f[22] = f[23] = 0;	/* payload length 0, as a big-TCP sender leaves it */
	want = (struct pvb_vnet_ol){ .flags = PVB_VNET_OL_CSUM | PVB_VNET_OL_TSO |
				     PVB_VNET_OL_TCP | PVB_VNET_OL_IPV6, .l2_len = 18,
				     .l3_len = 40, .l4_len = 32, .mss = 1440 };
	assert_int_equal(pvb_vnet_tx_hdr(f, 128, len, &want, &h), 0);
	assert_int_equal(h.gso_type, PVB_VNET_GSO_TCPV6);
	assert_int_equal(h.gso_size, 1440);
	assert_int_equal(h.hdr_len, 18 + 40 + 32);
	assert_int_equal(be16at(f + 22), len - 18 - 40);
	assert_true(ref_partial_ok(f, len, 58, 16, 18));
	assert_int_equal(pvb_vnet_rx_ol(&h, ACCEPT_ALL, f, 128, len, &back, &why), PVB_VNET_OK);
	assert_int_equal(back.flags, want.flags);
	assert_int_equal(back.mss, 1440);
	assert_int_equal(be16at(f + 18 + 40 + 16), ref_phdr(f, 18, 0));

	at("UDP over IPv4 with IP_CKSUM: the header checksum filled too");
	len = ol_frame(f, false, false, 100, 0);
	f[24] = f[25] = 0;
	want = (struct pvb_vnet_ol){ .flags = PVB_VNET_OL_CSUM | PVB_VNET_OL_UDP |
				     PVB_VNET_OL_IPV4 | PVB_VNET_OL_IP_CKSUM, .l2_len = 14,
				     .l3_len = 20 };
	assert_int_equal(pvb_vnet_tx_hdr(f, len, len, &want, &h), 0);
	assert_true(ipv4_hdr_ok(f + 14));
	assert_int_equal(h.csum_offset, 6);

	at("IP_CKSUM alone: no virtio-net request");
	f[24] = f[25] = 0;
	want.flags = PVB_VNET_OL_IP_CKSUM;
	assert_int_equal(pvb_vnet_tx_hdr(f, len, len, &want, &h), 0);
	assert_true(ipv4_hdr_ok(f + 14));
	assert_int_equal(h.flags, 0);

	at("verified: DATA_VALID");
	want = (struct pvb_vnet_ol){ .flags = PVB_VNET_OL_L4_GOOD };
	assert_int_equal(pvb_vnet_tx_hdr(NULL, 0, 0, &want, &h), 0);
	assert_int_equal(h.flags, PVB_VNET_HDR_F_DATA_VALID);

	at("lengths that do not match the frame are refused");
	len = ol_frame(f, false, true, 500, 0);
	want = (struct pvb_vnet_ol){ .flags = PVB_VNET_OL_CSUM | PVB_VNET_OL_TCP |
				     PVB_VNET_OL_IPV4, .l2_len = 18, .l3_len = 20 };
	assert_int_equal(pvb_vnet_tx_hdr(f, len, len, &want, &h), -EINVAL);
	want.l2_len = 14;
	want.flags = PVB_VNET_OL_CSUM | PVB_VNET_OL_UDP | PVB_VNET_OL_IPV4;
	assert_int_equal(pvb_vnet_tx_hdr(f, len, len, &want, &h), -EINVAL);
	want.flags = PVB_VNET_OL_CSUM | PVB_VNET_OL_TSO | PVB_VNET_OL_TCP | PVB_VNET_OL_IPV4;
	want.l4_len = 32;
	want.mss = 0;
	assert_int_equal(pvb_vnet_tx_hdr(f, len, len, &want, &h), -EINVAL);
	at("headers beyond the segment given");
	want.mss = 1000;
	assert_int_equal(pvb_vnet_tx_hdr(f, 60, len, &want, &h), -EINVAL);
}

/*
 * The socket either end runs over: a leftover socket file is replaced, a
 * live one is refused, a connection gets the stall limits, a path that does
 * not fit sun_path is refused.
 */
static void
test_socket(void **state)
{
	char dir[] = "/tmp/pvb-vu-sock-XXXXXX", path[128], lng[200];
	struct timeval tv;
	socklen_t tl = sizeof(tv);
	int l, c, a, l2;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);

	at("listen, connect, accept");
	l = pvb_vu_listen(path);
	assert_true(l >= 0);
	c = pvb_vu_connect(path);
	assert_true(c >= 0);
	a = pvb_vu_accept(l);
	assert_true(a >= 0);
	expect_eq(getsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl), 0);
	expect_eq(tv.tv_sec * 1000 + tv.tv_usec / 1000, PVB_VU_STALL_MS);

	at("a live socket is not taken over");
	expect_eq(pvb_vu_listen(path), -EADDRINUSE);
	close(a);
	close(c);

	at("nobody listens: the file is a leftover and is replaced");
	close(l);	/* the file stays behind */
	expect_eq(pvb_vu_connect(path), -ECONNREFUSED);
	l2 = pvb_vu_listen(path);
	assert_true(l2 >= 0);
	c = pvb_vu_connect(path);
	assert_true(c >= 0);
	close(c);
	close(l2);

	at("paths that cannot be a socket address");
	memset(lng, 'x', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	expect_eq(pvb_vu_listen(lng), -ENAMETOOLONG);
	expect_eq(pvb_vu_connect(""), -ENAMETOOLONG);
	expect_eq(pvb_vu_accept(-1), -EBADF);
	unlink(path);
	rmdir(dir);
}

/* A peer that writes one byte every 300 ms: the message never finishes in time. */
static void *
trickle(void *arg)
{
	int fd = *(int *)arg;
	uint8_t b[PVB_VU_HDR_SIZE] = { 1 };
	size_t i;

	for (i = 0; i < sizeof(b); i++) {
		if (send(fd, &b[i], 1, MSG_NOSIGNAL) != 1)
			break;
		usleep(300 * 1000);
	}
	return NULL;
}

/*
 * A started message must be whole within PVB_VU_STALL_MS however the peer
 * spaces its bytes, on a blocking socket too (each byte alone would come
 * within the socket's own time limit).
 */
static void
test_trickle(void **state)
{
	struct pvb_vu_msg m;
	int sv[2], fds[PVB_VU_MAX_FDS];
	uint32_t nfds;
	pthread_t t;
	struct timespec a, b;
	long ms;

	(void)state;
	at("a peer trickling a header, a byte every 300 ms");
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pthread_create(&t, NULL, trickle, &sv[1]), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	expect_eq(pvb_vu_recv(sv[0], &m, fds, &nfds), -EPROTO);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	/* cut off after the stall limit, long before the 12 bytes (3.6 s) were in */
	expect_true(ms < 3000);
	close(sv[0]);	/* the writer's next byte fails: it ends */
	pthread_join(t, NULL);
	close(sv[1]);
}

/* Last: the suite as a whole leaves no fd open. */
static void
test_no_fd_leak(void **state)
{
	(void)state;
	at("fd count");
	expect_eq(count_fds(), fds_at_start);
}

static int
suite_setup(void **state)
{
	(void)state;
	fds_at_start = count_fds();
	return 0;
}

#define FX_TEST(f)	cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_framing),
		FX_TEST(test_framing_too_many_fds),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_init),
		FX_TEST(test_session_virtio_user),
		FX_TEST(test_session_qemu),
		FX_TEST(test_vring_base),
		FX_TEST(test_mem_table_remap),
		FX_TEST(test_reply_ack),
		FX_TEST(test_need_reply_without_ack),
		FX_TEST(test_no_protocol_features),
		FX_TEST(test_status),
		FX_TEST(test_reset_owner),
		FX_TEST(test_tolerated_sizes),
		FX_TEST(test_refusals),
		FX_TEST(test_fds_taken),
		FX_TEST(test_front_checks),
		FX_TEST(test_front_peer_closes),
		cmocka_unit_test(test_vnet_hdr),
		cmocka_unit_test(test_vnet_check),
		cmocka_unit_test(test_vnet_parse),
		cmocka_unit_test(test_vnet_rx_ol_good),
		cmocka_unit_test(test_vnet_rx_data_valid),
		cmocka_unit_test(test_vnet_rx_ol_bad),
		cmocka_unit_test(test_vnet_tx_hdr),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_trickle),
		cmocka_unit_test(test_no_fd_leak),
	};

	return cmocka_run_group_tests_name("unit", tests, suite_setup, NULL);
}
