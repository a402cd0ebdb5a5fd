/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * libFuzzer target: the vhost-user back-end driven by a hostile front-end.
 *
 * An input is a set-up and a script. Every message of the script goes over
 * a real AF_UNIX stream socketpair with real fds (sendmsg, then
 * pvb_vu_recv()) into pvb_vu_backend_handle(), as the PMD runs it. The
 * guest's memory is a memfd of GUEST_SZ bytes the harness maps itself, so
 * the script can write the rings and descriptors the back-end reads (with
 * lib/virtq's driver side, or byte by byte).
 *
 *   0   mode: bit 0 run a valid session first (below); bit 1 EVENT_IDX,
 *       bit 2 INDIRECT_DESC, bit 3 VERSION_1, bit 5 MRG_RXBUF acked; bit 4
 *       the protocol features acked (MQ, REPLY_ACK, NET_MTU, STATUS); bit 6
 *       guest addresses equal user addresses (virtio_user) or not (QEMU);
 *       bit 7 two queue pairs offered
 *   1   ring size: 1 << (b % 8)
 *   2   base (le16): SET_VRING_BASE of the session, where the harness's
 *       driver starts too (avail and used idx), so indices wrap early
 *   4   script: ops until the input ends (at most MAX_OPS)
 *
 * Ops (first byte % NB_OPS):
 *   MSG    request, flags, size, fds, payload: see op_msg(). Fd kinds:
 *          the guest memfd, a fresh memfd of 0..3 pages, an eventfd, a socket.
 *   POKE   offset le16, length, bytes: written into guest memory.
 *   POP    vring (% 4, or % 16 with bit 7), count: pop that many chains from a ready vring, gather
 *          and check each virtio-net header, read every readable byte and
 *          write every writable one (ASan sees any segment outside a
 *          mapping), give the chain back used.
 *   POST   vring, n, n x { offset le16, length le16, flags }, header
 *          selector (bit 7: plant a virtio-net header in the first buffer,
 *          then csum_start le16, csum_offset le16): a chain added and
 *          published by the harness's driver side.
 *   TABLE  n, n x { gpa selector, uva delta le16, offset le16, size le16 }:
 *          SET_MEM_TABLE over the guest memfd (remapping started rings).
 *
 * The valid session is what virtio_user sends: SET_OWNER, the protocol
 * features, SET_FEATURES, SET_MEM_TABLE of the guest memfd, and for vrings
 * 0 and 1 NUM, BASE, ADDR, KICK (no fd), CALL (no fd), ENABLE, then
 * SET_STATUS with DRIVER_OK.
 *
 * Checked after every message: the fds array all -1 (the back-end took
 * every fd); a refusal has a reason; a reply is flags 0x5, the request's id,
 * size 8; a ready vring is started and translated, a stopped one is not;
 * every mapping holds its region. A refused message "closes the connection":
 * pvb_vu_backend_reset(). After every input, with the back-end reset,
 * every fd number the back-end was handed is closed; every 64 inputs the
 * process holds exactly the sockets, eventfds and memfds it held before
 * (/proc/self/fd: this also covers fds pvb_vu_recv() closed itself) and no
 * mapping of a memfd but the harness's own (/proc/self/maps).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pvb_vhost_user.h"
#include "fuzz_fds.h"

#define GUEST_SZ	16384u		/* the guest memfd */
#define BUF_AREA	8192u		/* rings below, buffers above */
#define GPA_BASE	0x100000ull
#define UVA_BASE	0x7f0000000000ull
#define MAX_OPS		128
#define MAX_N		128
#define COUNT_EVERY	64		/* inputs between /proc/self/{fd,maps} counts */
#define MAX_SEEN	(MAX_OPS * 4 * PVB_VU_MAX_FDS)
#define BIT(n)		(1ull << (n))

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

enum { OP_MSG, OP_POKE, OP_POP, OP_POST, OP_TABLE, NB_OPS };
enum { FD_GUEST, FD_MEMFD, FD_EVENT, FD_SOCKET, NB_FDK };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
	const uint8_t *d;
	size_t size, pos;
};

static struct {
	bool ready;
	int sp[2];			/* [0] the front-end's end, [1] the back-end's */
	int guest_fd;
	uint8_t *guest;			/* the harness's own mapping of it */
	int fds_base;
	unsigned long runs;
	/* per input */
	struct pvb_vu_backend b;
	uint64_t gpa, uva;		/* the session's address plan */
	uint16_t n;
	uint64_t features;
	bool drv_ok;
	struct pvb_virtq_layout l;
	struct pvb_virtq_drv drv[2];
	struct pvb_virtq_drv_extra extra[2][MAX_N];
	struct pvb_virtq_chain c;
	int seen[MAX_SEEN];		/* every fd number the back-end was handed */
	uint32_t nseen;
} g;

static volatile uint8_t sink;

static uint8_t
get8(struct in *in)
{
	return in->pos < in->size ? in->d[in->pos++] : 0;
}

static uint16_t
get16(struct in *in)
{
	uint16_t lo = get8(in);

	return (uint16_t)(lo | get8(in) << 8);
}

static int
count_memfd_maps(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "/memfd:fz-") != NULL)
			n++;
	fclose(f);
	return n;
}

static void
setup_once(void)
{
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g.sp) == 0);
	g.guest_fd = memfd_create("fz-guest", MFD_CLOEXEC);
	CHECK(g.guest_fd >= 0 && ftruncate(g.guest_fd, GUEST_SZ) == 0);
	g.guest = mmap(NULL, GUEST_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, g.guest_fd, 0);
	CHECK(g.guest != MAP_FAILED);
	g.fds_base = fuzz_count_fds();
	g.ready = true;
}

/* ----------------------------------------------------------------------------
 * Messages over the socket
 */

/* One fd of kind @p k for a message; -1 if it could not be made. */
static int
make_fd(uint8_t k)
{
	int fd = -1;

	switch (k % NB_FDK) {
	case FD_GUEST:
		fd = dup(g.guest_fd);
		break;
	case FD_MEMFD:
		fd = memfd_create("fz-small", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, (off_t)(k / NB_FDK % 4) * 4096) != 0) {
			close(fd);
			fd = -1;
		}
		break;
	case FD_EVENT:
		fd = eventfd(0, EFD_CLOEXEC);
		break;
	default:
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		break;
	}
	return fd;
}

/* Invariants the back-end keeps whatever it was sent. */
static void
check_state(void)
{
	const struct pvb_vu_backend *b = &g.b;
	uint32_t i;

	CHECK(b->nregions <= PVB_VU_MAX_REGIONS);
	for (i = 0; i < b->nregions; i++) {
		const struct pvb_vu_map *m = &b->map[i];

		CHECK(m->base != NULL && m->host >= (uint8_t *)m->base);
		CHECK(m->size <= m->len - (size_t)(m->host - (uint8_t *)m->base));
	}
	for (i = 0; i < PVB_VU_MAX_VRINGS; i++) {
		const struct pvb_vu_vring *vr = &b->vr[i];

		if (i >= 2u * b->cfg.queue_pairs) {
			CHECK(vr->kick_fd < 0 && vr->call_fd < 0 && vr->err_fd < 0);
			continue;
		}
		CHECK(vr->started == (vr->q.avail != NULL));
		if (pvb_vu_backend_vring_ready(b, i))
			CHECK(vr->started && vr->enabled && vr->call_set && b->features_set);
		if (!vr->kick_set)
			CHECK(vr->kick_fd < 0);
	}
}

/* The connection "closes": what the PMD does after a refusal. */
static void
disconnect(void)
{
	pvb_vu_backend_reset(&g.b);
	check_state();
}

/*
 * Send header @p h, @p payload (h.size bytes, zeros past @p avail) and
 * @p nfds fds of the given kinds, receive and handle it. A message the
 * receiver refuses by its header alone goes without its payload, so the
 * stream stays in step.
 */
static int
deliver(const struct pvb_vu_hdr *h, const uint8_t *payload, size_t avail, const uint8_t *kinds,
	uint32_t nfds)
{
	union {
		struct cmsghdr c;
		uint8_t b[CMSG_SPACE(sizeof(int) * 10)];
	} cbuf;
	uint8_t body[PVB_VU_HDR_SIZE + PVB_VU_PAYLOAD_MAX];
	struct iovec iov = { .iov_base = body, .iov_len = PVB_VU_HDR_SIZE };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[10], rfds[PVB_VU_MAX_FDS];
	struct pvb_vu_msg m, reply;
	uint32_t i, n = 0, rn;
	int rc;

	for (i = 0; i < nfds; i++) {
		fds[n] = make_fd(kinds[i]);
		if (fds[n] >= 0)
			n++;
	}
	memcpy(body, h, PVB_VU_HDR_SIZE);
	/* what the receiver refuses at the header (fds too many to carry, too) */
	if ((h->flags & PVB_VU_FLAG_VERSION_MASK) == PVB_VU_VERSION &&
	    h->size <= PVB_VU_PAYLOAD_MAX && n <= PVB_VU_MAX_FDS) {
		memset(body + PVB_VU_HDR_SIZE, 0, h->size);
		if (payload != NULL)
			memcpy(body + PVB_VU_HDR_SIZE, payload, avail < h->size ? avail : h->size);
		iov.iov_len += h->size;
	}
	if (n > 0) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	CHECK(sendmsg(g.sp[0], &mh, MSG_NOSIGNAL) == (ssize_t)iov.iov_len);
	for (i = 0; i < n; i++)
		close(fds[i]);	/* in flight: the socket holds them */

	rc = pvb_vu_recv(g.sp[1], &m, rfds, &rn);
	if (rc != 0) {
		CHECK(rc == -EPROTO && rn == 0);
		disconnect();
		return rc;
	}
	CHECK(rn <= PVB_VU_MAX_FDS);
	for (i = 0; i < rn && g.nseen < MAX_SEEN; i++)
		g.seen[g.nseen++] = rfds[i];
	sink ^= (uint8_t)pvb_vu_request_mutates(m.hdr.request);
	sink ^= (uint8_t)pvb_vu_request_str(m.hdr.request)[0];
	rc = pvb_vu_backend_handle(&g.b, &m, rfds, rn, &reply);
	for (i = 0; i < rn; i++)
		CHECK(rfds[i] == -1);
	if (rc < 0)
		CHECK(g.b.error[0] != '\0');
	if (rc == 1)
		CHECK(reply.hdr.flags == 0x5 && reply.hdr.request == m.hdr.request &&
		      reply.hdr.size == 8);
	check_state();
	if (rc < 0)
		disconnect();
	return rc;
}

static int
send_u64(uint32_t request, uint64_t v)
{
	struct pvb_vu_hdr h = { request, PVB_VU_VERSION, 8 };

	return deliver(&h, (const uint8_t *)&v, sizeof(v), NULL, 0);
}

static int
send_state(uint32_t request, uint32_t index, uint32_t num)
{
	struct pvb_vu_vring_state s = { index, num };
	struct pvb_vu_hdr h = { request, PVB_VU_VERSION, 8 };

	return deliver(&h, (const uint8_t *)&s, sizeof(s), NULL, 0);
}

/* SET_MEM_TABLE of @p n regions, each over the guest memfd. */
static int
send_table(const struct pvb_vu_region *r, uint32_t n)
{
	struct pvb_vu_memory mt = { .nregions = n };
	struct pvb_vu_hdr h = { PVB_VU_SET_MEM_TABLE, PVB_VU_VERSION,
				(uint32_t)(8 + 32 * n) };
	uint8_t kinds[PVB_VU_MAX_REGIONS] = { 0 };	/* FD_GUEST */

	memcpy(mt.r, r, n * sizeof(*r));
	return deliver(&h, (const uint8_t *)&mt, sizeof(mt), kinds, n);
}

/* ----------------------------------------------------------------------------
 * The valid session, and the ops
 */

static void
session(uint8_t mode, uint16_t base)
{
	struct pvb_vu_region r = { .gpa = g.gpa, .size = GUEST_SZ, .uva = g.uva };
	uint64_t pf = BIT(PVB_VU_PF_MQ) | BIT(PVB_VU_PF_REPLY_ACK) | BIT(PVB_VU_PF_NET_MTU) |
		      BIT(PVB_VU_PF_STATUS);
	uint32_t q;

	if (send_u64(PVB_VU_SET_OWNER, 0) < 0)
		return;
	if ((mode & 0x10) && send_u64(PVB_VU_SET_PROTOCOL_FEATURES, pf) < 0)
		return;
	if (send_u64(PVB_VU_SET_FEATURES, g.features |
		     BIT(PVB_VHOST_USER_F_PROTOCOL_FEATURES)) < 0)
		return;
	if (send_table(&r, 1) < 0)
		return;
	for (q = 0; q < 2; q++) {
		uint64_t u = g.uva + q * g.l.end_offset;
		struct pvb_vu_vring_addr a = { .index = q, .desc = u,
					       .avail = u + g.l.driver_area_offset,
					       .used = u + g.l.device_area_offset };
		struct pvb_vu_hdr h = { PVB_VU_SET_VRING_ADDR, PVB_VU_VERSION, sizeof(a) };

		if (send_state(PVB_VU_SET_VRING_NUM, q, g.n) < 0 ||
		    send_state(PVB_VU_SET_VRING_BASE, q, base) < 0 ||
		    deliver(&h, (const uint8_t *)&a, sizeof(a), NULL, 0) < 0 ||
		    send_u64(PVB_VU_SET_VRING_KICK, q | PVB_VU_VRING_NOFD) < 0 ||
		    send_u64(PVB_VU_SET_VRING_CALL, q | PVB_VU_VRING_NOFD) < 0 ||
		    send_state(PVB_VU_SET_VRING_ENABLE, q, 1) < 0)
			return;
	}
	if (mode & 0x10)
		send_u64(PVB_VU_SET_STATUS, 0xf);
}

/* The size a request's payload has. */
static uint32_t
natural_size(uint32_t request, uint32_t nregions)
{
	switch (request) {
	case PVB_VU_SET_VRING_ADDR:
		return 40;
	case PVB_VU_SET_MEM_TABLE:
		return 8 + 32 * nregions;
	case PVB_VU_SET_LOG_BASE:
		return 16;
	case PVB_VU_GET_FEATURES:
	case PVB_VU_SET_OWNER:
	case PVB_VU_RESET_OWNER:
	case PVB_VU_GET_PROTOCOL_FEATURES:
	case PVB_VU_GET_QUEUE_NUM:
	case PVB_VU_GET_STATUS:
	case PVB_VU_GET_MAX_MEM_SLOTS:
	case PVB_VU_SET_LOG_FD:
		return 0;
	default:
		return 8;
	}
}

/* The fds a request carries, by its payload. */
static uint32_t
natural_fds(uint32_t request, const struct pvb_vu_msg *m)
{
	switch (request) {
	case PVB_VU_SET_VRING_KICK:
	case PVB_VU_SET_VRING_CALL:
	case PVB_VU_SET_VRING_ERR:
		return (m->p.u64 & PVB_VU_VRING_NOFD) ? 0 : 1;
	case PVB_VU_SET_MEM_TABLE:
		return m->p.mem.nregions <= PVB_VU_MAX_REGIONS ? m->p.mem.nregions : 0;
	case PVB_VU_SET_LOG_BASE:
	case PVB_VU_SET_LOG_FD:
	case PVB_VU_ADD_MEM_REG:
		return 1;
	default:
		return 0;
	}
}

/*
 * A message, mostly well formed, so the script gets past the checks at the
 * door; each choice also has a raw form:
 *   request % 45; flags: < 0xc0 version 1 (bit 0: NEED_REPLY), else raw;
 *   size: < 0xf0 the request's own, else a raw le16 follows;
 *   fds: < 0xc0 the request's own count, all of the kind in the next byte,
 *   else % 10 fds with one kind byte each; then the payload, in which a
 *   vring index is cut to 0..3 unless its top byte has bit 7 set.
 */
static void
op_msg(struct in *in)
{
	uint8_t fsel, ssel, dsel, kinds[10], kind = 0;
	struct pvb_vu_msg m;
	struct pvb_vu_hdr h;
	uint32_t nfds = 0, i;
	uint16_t raw_size = 0;
	size_t avail, take;

	h.request = get8(in) % 45u;
	fsel = get8(in);
	h.flags = fsel < 0xc0 ? PVB_VU_VERSION | ((fsel & 1) ? PVB_VU_FLAG_NEED_REPLY : 0) :
		  fsel & 0x3fu;
	ssel = get8(in);
	if (ssel >= 0xf0)
		raw_size = get16(in);
	dsel = get8(in);
	if (dsel < 0xc0) {
		kind = get8(in);
	} else {
		nfds = dsel % 10u;
		for (i = 0; i < nfds; i++)
			kinds[i] = get8(in);
	}
	avail = in->size - in->pos;
	take = avail < sizeof(m.p) ? avail : sizeof(m.p);
	memset(&m, 0, sizeof(m));
	memcpy(m.p.bytes, in->d + in->pos, take);
	if (h.request == PVB_VU_SET_MEM_TABLE && ssel < 0xf0)
		m.p.mem.nregions %= PVB_VU_MAX_REGIONS + 1;
	if (!(m.p.bytes[3] & 0x80))
		m.p.state.index %= 4;	/* also the addr's index */
	if (!(m.p.bytes[7] & 0x80) && h.request >= PVB_VU_SET_VRING_KICK &&
	    h.request <= PVB_VU_SET_VRING_ERR)
		m.p.u64 &= 0x103;
	h.size = ssel < 0xf0 ? natural_size(h.request, m.p.mem.nregions) : raw_size;
	if (dsel < 0xc0) {
		nfds = natural_fds(h.request, &m);
		for (i = 0; i < nfds; i++)
			kinds[i] = kind;
	}
	deliver(&h, m.p.bytes, sizeof(m.p), kinds, nfds);
	if (h.size <= PVB_VU_PAYLOAD_MAX)
		in->pos += take < h.size ? take : h.size;
}

static void
op_poke(struct in *in)
{
	uint16_t off = get16(in) % GUEST_SZ;
	uint8_t len = get8(in);
	uint32_t i;

	for (i = 0; i < len && off + i < GUEST_SZ; i++)
		g.guest[off + i] = get8(in);
}

/* Everything a datapath does with a popped chain. */
static void
use_chain(struct pvb_virtq_dev *q, const struct pvb_virtq_chain *c)
{
	struct pvb_vnet_hdr h;
	uint8_t acc = 0;
	uint32_t i, k;

	CHECK(c->nb_readable <= c->nb_segs && c->nb_segs <= PVB_VIRTQ_MAX_SEGS);
	for (i = 0; i < c->nb_segs; i++) {
		uint8_t *p = c->seg[i].host;

		if (i < c->nb_readable)
			for (k = 0; k < c->seg[i].len; k++)
				acc ^= p[k];
		else
			memset(p, 0xee, c->seg[i].len);
	}
	sink ^= acc;
	if (pvb_vnet_hdr_get(c, g.b.hdr_len, &h) == 0) {
		const char *why = pvb_vnet_hdr_check(&h, c->readable_len - g.b.hdr_len);

		sink ^= (uint8_t)(why != NULL);
	} else {
		CHECK(c->readable_len <= g.b.hdr_len);
	}
	pvb_virtq_dev_push_used(q, c->head,
				c->writable_len > UINT32_MAX ? UINT32_MAX :
				(uint32_t)c->writable_len);
}

static void
op_pop(struct in *in)
{
	uint8_t sel = get8(in);
	uint32_t v = (sel & 0x80) ? sel % PVB_VU_MAX_VRINGS : sel % 4u;
	uint32_t count = get8(in) % 8u + 1, i;
	struct pvb_virtq_dev *q = &g.b.vr[v].q;
	int rc;

	if (!pvb_vu_backend_vring_ready(&g.b, v))
		return;
	for (i = 0; i < count; i++) {
		rc = pvb_virtq_dev_pop_avail(q, &g.c);
		if (rc == 0)
			use_chain(q, &g.c);
		else if (rc == -EBADMSG)
			pvb_virtq_dev_push_used(q, g.c.head, 0);
		else
			break;
	}
	sink ^= (uint8_t)pvb_virtq_dev_should_notify(q);
}

/* A virtio-net header a driver could have written: mostly known flags and GSO types. */
static void
plant_hdr(uint8_t *p, uint8_t sel, uint16_t start, uint16_t off)
{
	static const uint8_t gso[] = { PVB_VNET_GSO_NONE, PVB_VNET_GSO_TCPV4, PVB_VNET_GSO_UDP,
				       PVB_VNET_GSO_TCPV6, PVB_VNET_GSO_UDP_L4,
				       PVB_VNET_GSO_TCPV4 | PVB_VNET_GSO_ECN, 2, 0x80 };
	struct pvb_vnet_hdr h = {
		.flags = (uint8_t)(sel & 3),
		.gso_type = gso[(sel >> 2) & 7],
		.hdr_len = 54,
		.gso_size = (sel & 0x20) ? 1448 : 0,
		.csum_start = (sel & 0x40) ? start : start % 128,
		.csum_offset = (sel & 0x40) ? off : off % 32,
	};

	memcpy(p, &h, sizeof(h));
}

static void
op_post(struct in *in)
{
	struct pvb_virtq_buf bufs[8];
	uint32_t v = get8(in) % 2u, n = get8(in) % 8u + 1, i;
	uint8_t hsel;
	void *tok;
	uint32_t len;

	for (i = 0; i < n; i++) {
		uint16_t off = get16(in), blen = get16(in);
		uint8_t fl = get8(in);

		bufs[i] = (struct pvb_virtq_buf){
			.gpa = (fl & 0x80) ? off * 4096ull : g.gpa + BUF_AREA + off % BUF_AREA,
			.len = blen, .write = (fl & 1) != 0 };
	}
	if (!g.drv_ok)
		return;
	hsel = get8(in);
	if ((hsel & 0x80) && bufs[0].gpa >= g.gpa && bufs[0].gpa - g.gpa + 12 <= GUEST_SZ)
		plant_hdr(g.guest + (bufs[0].gpa - g.gpa), hsel, get16(in), get16(in));
	while (pvb_virtq_drv_get_used(&g.drv[v], &tok, &len) == 1)
		;
	if (pvb_virtq_drv_add(&g.drv[v], bufs, n, &g) == 0)
		pvb_virtq_drv_publish(&g.drv[v]);
}

static void
op_table(struct in *in)
{
	struct pvb_vu_region r[3];
	uint32_t n = get8(in) % 3u + 1, i;

	for (i = 0; i < n; i++) {
		uint8_t sel = get8(in);
		uint16_t du = get16(in), off = get16(in), sz = get16(in);

		/* near the session's plan, so rings often still translate */
		r[i].gpa = (sel & 1) ? g.gpa + (uint64_t)i * GUEST_SZ : (uint64_t)sel << 56;
		r[i].uva = g.uva + (int16_t)du;
		r[i].mmap_offset = (sel & 2) ? off : 0;
		r[i].size = (sel & 4) ? GUEST_SZ - r[i].mmap_offset % GUEST_SZ : sz;
	}
	send_table(r, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size, 0 };
	struct pvb_vu_backend_cfg cfg = {
		.features = BIT(PVB_VIRTIO_F_VERSION_1) | BIT(PVB_VIRTIO_F_EVENT_IDX) |
			    BIT(PVB_VIRTIO_F_INDIRECT_DESC) | BIT(PVB_VIRTIO_NET_F_MRG_RXBUF) |
			    BIT(PVB_VIRTIO_NET_F_CSUM),
		.protocol_features = BIT(PVB_VU_PF_MQ) | BIT(PVB_VU_PF_REPLY_ACK) |
				     BIT(PVB_VU_PF_NET_MTU) | BIT(PVB_VU_PF_STATUS),
		.max_queue_size = 256,
	};
	uint8_t mode = get8(&in), ops = 0;
	uint16_t base;
	uint32_t q;

	if (!g.ready)
		setup_once();
	g.n = (uint16_t)(1u << (get8(&in) % 8u));
	base = get16(&in);
	cfg.queue_pairs = (mode & 0x80) ? 2 : 1;
	CHECK(pvb_vu_backend_init(&g.b, &cfg) == 0);
	g.features = ((mode & 2) ? BIT(PVB_VIRTIO_F_EVENT_IDX) : 0) |
		     ((mode & 4) ? BIT(PVB_VIRTIO_F_INDIRECT_DESC) : 0) |
		     ((mode & 8) ? BIT(PVB_VIRTIO_F_VERSION_1) : 0) |
		     ((mode & 0x20) ? BIT(PVB_VIRTIO_NET_F_MRG_RXBUF) : 0);
	g.gpa = GPA_BASE;
	g.uva = (mode & 0x40) ? GPA_BASE : UVA_BASE;
	memset(g.guest, 0, GUEST_SZ);
	g.drv_ok = false;
	g.nseen = 0;
	CHECK(pvb_virtq_layout(2, g.n, BIT(PVB_VIRTIO_F_VERSION_1), 0, &g.l) == 0);
	CHECK(2 * g.l.end_offset <= BUF_AREA);
	if (mode & 1) {
		for (q = 0; q < 2; q++) {
			uint8_t *p = g.guest + q * g.l.end_offset;

			CHECK(pvb_virtq_drv_init(&g.drv[q], g.n, p, p + g.l.driver_area_offset,
						 p + g.l.device_area_offset, g.extra[q],
						 g.features) == 0);
			/* a driver resuming at the base, as after a migration or a restart */
			g.drv[q].shadow_avail = g.drv[q].kick_old = g.drv[q].last_used = base;
			pvb_store_relaxed16(&g.drv[q].avail->idx, base);
			pvb_store_relaxed16(&g.drv[q].used->idx, base);
		}
		g.drv_ok = true;
		session(mode, base);
	}
	while (in.pos < in.size && ops++ < MAX_OPS) {
		switch (get8(&in) % NB_OPS) {
		case OP_MSG:
			op_msg(&in);
			break;
		case OP_POKE:
			op_poke(&in);
			break;
		case OP_POP:
			op_pop(&in);
			break;
		case OP_POST:
			op_post(&in);
			break;
		default:
			op_table(&in);
			break;
		}
	}
	pvb_vu_backend_reset(&g.b);
	CHECK(g.b.nregions == 0);
	/* nothing left in flight, no fd and no mapping kept */
	CHECK(recv(g.sp[1], &mode, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN);
	/*
	 * Every fd the back-end was handed is closed now (a number handed twice
	 * was closed in between, or it is still open and a leak either way).
	 * The harness holds none of its own: those it made were closed once
	 * sent, and its persistent ones were opened before any run.
	 */
	for (q = 0; q < g.nseen; q++)
		CHECK(fcntl(g.seen[q], F_GETFD) < 0 && errno == EBADF);
	/* those refused in pvb_vu_recv() are not seen: count now and then */
	if (++g.runs % COUNT_EVERY == 0) {
		CHECK(fuzz_count_fds() == g.fds_base);
		CHECK(count_memfd_maps() == 1);
	}
	return 0;
}
