/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * libFuzzer target: channel control messages from a hostile peer.
 *
 * Byte 0 picks a mode (% 3):
 *
 *  0 decode   byte 1 % 5 = how many fds come with the message (dups of
 *             /dev/null, so closing them is real), the rest is one message
 *             for pvb_chan_decode(). Accepted: the message re-encodes to
 *             the same bytes (reason bytes after the NUL aside) and its fds
 *             are released with pvb_chan_msg_release(); an OPEN also goes
 *             through pvb_chan_open_check(), whose verdict must match a
 *             reference check done here in 128-bit arithmetic. Refused:
 *             -EPROTO with a reason, and this target closes the fds.
 *  1 host     the rest is a script of chunks sent over a socketpair to a
 *  2 guest    host (or guest) state machine, which is polled after each:
 *
 *               chunk = ctl u8, len u16 LE, len bytes (cut to what is left)
 *               ctl bits 0-1  fds sent along (0..3): region memfd, doorbell
 *                             socket (AF_UNIX SOCK_DGRAM), an eventfd
 *                             (3 fds: version 1's count, refused)
 *                   bit 2     an unsealed memfd instead of the region
 *                   bit 3     host: refuse the OPEN (else accept it)
 *                   bit 4     then close the state machine and stop
 *                   bit 5     with rescind (host)
 *                   bit 6     then shut the peer's sending side (EOF) and stop
 *                   bit 7     an eventfd instead of the doorbell socket
 *                             (version 1's kind, refused)
 *
 *             Whatever the state machine sends back must decode cleanly and
 *             be of a type its side may send; a guest answers an OFFER with
 *             a fixed good OPEN.
 *
 *             Subchannels: once open, the host offers SUBS subchannels and
 *             the guest takes offers for as many; a host answers a
 *             subchannel's OPEN as it does the primary's (bit 3), a guest
 *             answers a SUBOFFER with a good subchannel OPEN (its own ring
 *             pair, no GPADL).
 *
 * No run may leave an fd open: the fds a run created are checked closed at
 * its end, and the count in /proc/self/fd is checked flat every 256 runs.
 *
 * Blind mutation seldom builds a valid message (magic, version, exact
 * length), so the custom mutator now and then plants valid ones.
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

#include "pvb_chan.h"
#include "pvb_chan_wire.h"
#include "fuzz_fds.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "CHECK failed: %s (line %d)\n",	\
					 #cond, __LINE__); abort(); } } while (0)

#define KIB		1024u
#define REGION		(1024 * KIB)	/* the static region; the offer's max region */
#define MAX_CHUNKS	16
#define POLLS		3		/* polls after each chunk (one message each at most) */
#define LEAK_EVERY	256		/* runs between /proc/self/fd counts */
#define PLANT_ONE_IN	4
#define SUBS		2		/* subchannels a host offers, a guest expects */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

enum mode { M_DECODE, M_HOST, M_GUEST, M_COUNT };

static const struct pvb_chan_offer offer = {
	.chan_id = 1,
	.mtu = 1500,
	.mac = { 0x02, 0, 0, 0, 0, 1 },
	.max_ring_bytes = 64 * KIB,
	.max_region_bytes = REGION,
};

/* Made once: sent (the kernel copies them) or dup'd, never closed. */
static struct {
	bool ready;
	int devnull;
	int region;		/* sealed memfd of REGION bytes */
	int unsealed;		/* memfd of REGION bytes without seals: a region the host refuses */
	int bell[2];		/* AF_UNIX SOCK_DGRAM socket pair: the doorbells */
	int evfd;		/* an eventfd: a doorbell the host refuses */
	int fds_base;		/* fuzz_count_fds() after set-up (/dev/null dups: checked one by one) */
	unsigned long runs;
} g_env;

static void
env_init(void)
{
	if (g_env.ready)
		return;
	g_env.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	g_env.region = memfd_create("fuzz_chan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(g_env.devnull >= 0 && g_env.region >= 0);
	CHECK(ftruncate(g_env.region, REGION) == 0);
	CHECK(fcntl(g_env.region, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
	g_env.unsealed = memfd_create("fuzz_chan_unsealed", MFD_CLOEXEC);
	CHECK(g_env.unsealed >= 0 && ftruncate(g_env.unsealed, REGION) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, g_env.bell) == 0);
	g_env.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(g_env.evfd >= 0);
	g_env.fds_base = fuzz_count_fds();
	g_env.ready = true;
}

/* A layout the offer accepts. */
static struct pvb_chan_open
good_open(uint32_t chan_id)
{
	struct pvb_chan_open o;

	memset(&o, 0, sizeof(o));
	o.chan_id = chan_id;
	o.region_size = REGION;
	o.tx = (struct pvb_chan_ring){ .offset = 0, .size = 16 * KIB };
	o.rx = (struct pvb_chan_ring){ .offset = 16 * KIB, .size = 16 * KIB };
	o.n_gpadl = 2;
	o.gpadl[0] = (struct pvb_chan_gpadl){ .id = 1, .offset = 32 * KIB, .size = 32 * KIB };
	o.gpadl[1] = (struct pvb_chan_gpadl){ .id = 2, .offset = 64 * KIB,
					      .size = REGION - 64 * KIB };
	return o;
}

/* A subchannel's OPEN the host accepts: rings only. */
static struct pvb_chan_open
good_sub_open(uint32_t chan_id)
{
	struct pvb_chan_open o = good_open(chan_id);

	o.n_gpadl = 0;
	memset(o.gpadl, 0, sizeof(o.gpadl));
	return o;
}

/* The id the host gives subchannel @p i of channel @p parent (lib/chan). */
static uint32_t
sub_id(uint32_t parent, uint32_t i)
{
	return parent ^ (i << 24);
}

/* ----------------------------------------------------------------------------
 * Reference for pvb_chan_open_check(): the rules of pvb_chan.h, with sums in
 * 128 bits so that nothing can wrap.
 */

typedef unsigned __int128 u128;

static bool
ref_range(uint64_t off, uint64_t size, uint64_t region)
{
	return (u128)off + size <= region;
}

static bool
ref_overlap(uint64_t ao, uint64_t as, uint64_t bo, uint64_t bs)
{
	return (u128)ao < (u128)bo + bs && (u128)bo < (u128)ao + as;
}

static bool
ref_ring(const struct pvb_chan_ring *r, uint64_t region)
{
	return r->offset % 4096 == 0 && r->size % 4096 == 0 && r->size >= 8192 &&
	       r->size <= offer.max_ring_bytes && ref_range(r->offset, r->size, region);
}

static bool
ref_open_ok(const struct pvb_chan_open *o)
{
	const struct pvb_chan_gpadl *g;
	uint32_t i, j;

	if (o->chan_id != offer.chan_id || o->region_size == 0 || o->region_size % 4096 != 0 ||
	    o->region_size > offer.max_region_bytes || o->n_gpadl > PVB_CHAN_MAX_GPADL ||
	    !ref_ring(&o->tx, o->region_size) || !ref_ring(&o->rx, o->region_size) ||
	    ref_overlap(o->tx.offset, o->tx.size, o->rx.offset, o->rx.size))
		return false;
	for (i = 0; i < o->n_gpadl; i++) {
		g = &o->gpadl[i];
		if (g->id == 0 || g->offset % 4096 != 0 || g->size == 0 || g->size % 4096 != 0 ||
		    !ref_range(g->offset, g->size, o->region_size) ||
		    ref_overlap(g->offset, g->size, o->tx.offset, o->tx.size) ||
		    ref_overlap(g->offset, g->size, o->rx.offset, o->rx.size))
			return false;
		for (j = 0; j < i; j++)
			if (o->gpadl[j].id == g->id)
				return false;
	}
	return true;
}

/* ----------------------------------------------------------------------------
 * Mode 0: decode
 */

/* @m, decoded from @buf (@len), encodes back to the same bytes. */
static void
check_roundtrip(const struct pvb_chan_msg *m, const uint8_t *buf, size_t len)
{
	uint8_t out[PVB_CHAN_WIRE_MAX];
	const uint8_t *nul;
	size_t tail = len;

	CHECK(pvb_chan_encode(m, out, sizeof(out)) == (int)len);
	if (m->type == PVB_CHAN_OPEN_RESULT || m->type == PVB_CHAN_ERROR) {
		/* the encoder zeroes what follows the reason's NUL */
		nul = memchr(buf + 24, 0, PVB_CHAN_REASON_LEN);
		CHECK(nul != NULL);
		tail = (size_t)(nul - buf) + 1;
		CHECK(len == 120);
	}
	CHECK(memcmp(out, buf, tail) == 0);
}

static void
run_decode(const uint8_t *d, size_t n)
{
	struct pvb_chan_msg m;
	const char *why = NULL;
	int fds[4], copy[4];
	unsigned int nfds, i;
	const char *cwhy = NULL;
	int r;

	if (n < 1)
		return;
	nfds = d[0] % 5;
	for (i = 0; i < nfds; i++) {
		fds[i] = dup(g_env.devnull);
		CHECK(fds[i] >= 0);
		copy[i] = fds[i];
	}
	r = pvb_chan_decode(d + 1, n - 1, fds, nfds, &m, &why);
	if (r == 0) {
		CHECK(why == NULL);
		CHECK(m.nfds == pvb_chan_wire_nfds(m.type) && m.nfds == nfds);
		for (i = 0; i < nfds; i++)
			CHECK(m.fds[i] == fds[i]);
		check_roundtrip(&m, d + 1, n - 1);
		if (m.type == PVB_CHAN_OPEN) {
			r = pvb_chan_open_check(&m.u.open, &offer, &cwhy);
			CHECK(r == 0 || r == -EINVAL);
			CHECK((r == 0) == ref_open_ok(&m.u.open));
			CHECK((r == 0) == (cwhy == NULL));
		}
		pvb_chan_msg_release(&m);
		for (i = 0; i < PVB_CHAN_OPEN_FDS; i++)
			CHECK(m.fds[i] == -1);
	} else {
		CHECK(r == -EPROTO && why != NULL && strlen(why) < PVB_CHAN_REASON_LEN);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
	}
	/* every fd of the run is gone, whichever way */
	for (i = 0; i < nfds; i++)
		CHECK(fcntl(copy[i], F_GETFD) == -1 && errno == EBADF);
}

/* ----------------------------------------------------------------------------
 * Modes 1 and 2: a state machine behind a socketpair
 */

struct run {
	enum mode mode;
	int peer;		/* the test's end of the socketpair */
	struct pvb_chan_host h;
	struct pvb_chan_guest g;
	unsigned int ctl;	/* the current chunk's ctl byte */
};

static void
chunk_send(struct run *r, const uint8_t *p, size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)p, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(int) * 3)];
	} ctl;
	unsigned int nfds = r->ctl & 3;
	int fds[3] = { g_env.region, g_env.bell[1], g_env.evfd };
	struct cmsghdr *c;

	if (r->ctl & 4)
		fds[0] = g_env.unsealed;
	if (r->ctl & 0x80)
		fds[1] = g_env.evfd;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.b;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	/* an empty datagram would read as EOF; that path is reached by closing instead */
	if (len > 0)
		(void)sendmsg(r->peer, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static bool
is_bell_socket(int fd)
{
	socklen_t len = sizeof(int);
	int type = -1;

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM;
}

/* A subchannel's OPEN the host took: its id, no GPADL, rings that fit; accepted or refused. */
static void
host_sub_open(struct run *r)
{
	struct pvb_chan_open o = r->h.msg.u.open;
	uint32_t i = r->h.sub_cur, before = pvb_chan_host_sub_count(&r->h);
	int fds[PVB_CHAN_OPEN_FDS], k;

	CHECK(r->h.state == PVB_CHAN_H_OPEN && i >= 1 && i <= r->h.nsub && i <= SUBS);
	CHECK(o.chan_id == sub_id(offer.chan_id, i) && o.n_gpadl == 0);
	CHECK(!(r->h.sub_open & (1ull << i)));
	o.chan_id = offer.chan_id;
	CHECK(ref_open_ok(&o));
	CHECK(r->h.msg.nfds == PVB_CHAN_OPEN_FDS && is_bell_socket(r->h.msg.fds[PVB_CHAN_FD_BELL]));
	if (r->ctl & 8) {
		(void)pvb_chan_host_refuse(&r->h, -EINVAL, "fuzz says no");
		CHECK(r->h.sub_cur == 0 && r->h.msg.fds[0] == -1 && r->h.msg.fds[1] == -1);
		CHECK(pvb_chan_host_sub_count(&r->h) == before);
		return;
	}
	memcpy(fds, r->h.msg.fds, sizeof(fds));
	if (pvb_chan_host_accept(&r->h) == 0) {
		CHECK(r->h.sub_cur == 0 && pvb_chan_host_sub_count(&r->h) == before + 1);
		for (k = 0; k < PVB_CHAN_OPEN_FDS; k++)
			close(fds[k]);	/* the caller's now */
	}
}

static void
host_step(struct run *r)
{
	enum pvb_chan_event ev = pvb_chan_host_poll(&r->h);
	int fds[PVB_CHAN_OPEN_FDS], i;

	CHECK(ev == PVB_CHAN_EV_NONE || ev == PVB_CHAN_EV_OPEN || ev == PVB_CHAN_EV_CLOSED ||
	      ev == PVB_CHAN_EV_REFUSED || ev == PVB_CHAN_EV_SUB_OPEN);
	if (ev == PVB_CHAN_EV_CLOSED)
		CHECK(r->h.state == PVB_CHAN_H_CLOSED && r->h.sock == -1 && r->h.why != NULL);
	if (ev == PVB_CHAN_EV_SUB_OPEN)
		host_sub_open(r);
	if (ev != PVB_CHAN_EV_OPEN)
		return;
	/* what EV_OPEN promises: a layout that fits the offer, a region and a bell socket */
	CHECK(r->h.state == PVB_CHAN_H_OPENING && ref_open_ok(&r->h.msg.u.open));
	CHECK(r->h.msg.nfds == PVB_CHAN_OPEN_FDS && r->h.msg.fds[PVB_CHAN_FD_REGION] >= 0);
	CHECK(is_bell_socket(r->h.msg.fds[PVB_CHAN_FD_BELL]));
	if (r->ctl & 8) {
		/* whether or not the guest is still there to hear it */
		(void)pvb_chan_host_refuse(&r->h, -EINVAL, "fuzz says no");
		CHECK(r->h.state == PVB_CHAN_H_OFFERED);
		return;
	}
	memcpy(fds, r->h.msg.fds, sizeof(fds));
	if (pvb_chan_host_accept(&r->h) == 0) {
		CHECK(r->h.state == PVB_CHAN_H_OPEN);
		for (i = 0; i < PVB_CHAN_OPEN_FDS; i++)
			close(fds[i]);	/* the caller's now */
		/* the guest asked in the rings: its subchannels follow (the guest may be gone) */
		if (pvb_chan_host_offer_sub(&r->h, SUBS) == 0)
			CHECK(r->h.nsub == SUBS);
	}
}

static void
guest_step(struct run *r)
{
	struct pvb_chan_open o;
	int fds[PVB_CHAN_OPEN_FDS] = { g_env.region, g_env.bell[1] };
	enum pvb_chan_event ev = pvb_chan_guest_poll(&r->g);

	CHECK(ev == PVB_CHAN_EV_NONE || ev == PVB_CHAN_EV_OFFER || ev == PVB_CHAN_EV_OPENED ||
	      ev == PVB_CHAN_EV_CLOSED || ev == PVB_CHAN_EV_SUBOFFER ||
	      ev == PVB_CHAN_EV_SUB_OPENED);
	if (ev == PVB_CHAN_EV_CLOSED)
		CHECK(r->g.state == PVB_CHAN_G_CLOSED && r->g.sock == -1 && r->g.why != NULL &&
		      memchr(r->g.peer_reason, 0, PVB_CHAN_REASON_LEN) != NULL);
	if (ev == PVB_CHAN_EV_OPENED) {
		CHECK(r->g.state == PVB_CHAN_G_OPEN);
		CHECK(pvb_chan_guest_expect_sub(&r->g, SUBS) == 0);
	}
	if (ev == PVB_CHAN_EV_SUBOFFER) {
		/* one of ours, of our channel, once: then answered with its own rings */
		CHECK(r->g.state == PVB_CHAN_G_OPEN && r->g.sub.index >= 1 &&
		      r->g.sub.index <= SUBS && r->g.sub.parent == r->g.offer.chan_id &&
		      r->g.sub.chan_id != r->g.offer.chan_id);
		o = good_sub_open(r->g.sub.chan_id);
		(void)pvb_chan_guest_open_sub(&r->g, &o, fds);
		return;
	}
	if (ev == PVB_CHAN_EV_SUB_OPENED)
		CHECK(r->g.state == PVB_CHAN_G_OPEN && r->g.sub_done >= 1 && r->g.sub_done <= SUBS &&
		      (r->g.sub_seen & (1ull << r->g.sub_done)));
	if (ev != PVB_CHAN_EV_OFFER)
		return;
	CHECK(r->g.state == PVB_CHAN_G_OFFERED);
	o = good_open(r->g.offer.chan_id);
	(void)pvb_chan_guest_open(&r->g, &o, fds);
}

static void
step(struct run *r)
{
	if (r->mode == M_HOST)
		host_step(r);
	else
		guest_step(r);
}

/* Everything the state machine sent: well formed, and its side's to send. */
static void
drain_peer(struct run *r)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	uint8_t buf[PVB_CHAN_WIRE_MAX + 1];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pvb_chan_msg m;
	struct cmsghdr *c;
	int fds[8], fd;
	unsigned int nfds, i;
	ssize_t n;

	for (;;) {
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof(ctl.b);
		n = recvmsg(r->peer, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		nfds = 0;
		for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			for (i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				CHECK(nfds < 8);
				fds[nfds++] = fd;
			}
		}
		CHECK((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0);
		CHECK(pvb_chan_decode(buf, (size_t)n, fds, nfds, &m, NULL) == 0);
		if (r->mode == M_HOST)
			CHECK(m.type != PVB_CHAN_OPEN);
		else if (m.type == PVB_CHAN_OPEN && m.u.open.chan_id != r->g.offer.chan_id)
			CHECK(m.u.open.n_gpadl == 0);	/* a subchannel's */
		else
			CHECK(m.type == PVB_CHAN_OPEN || m.type == PVB_CHAN_CLOSE ||
			      m.type == PVB_CHAN_ERROR);
		pvb_chan_msg_release(&m);
	}
}

static void
run_socket(enum mode mode, const uint8_t *d, size_t n)
{
	struct run r;
	int sp[2], k;
	size_t pos = 0, len;
	unsigned int chunks;

	memset(&r, 0, sizeof(r));
	r.mode = mode;
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == 0);
	r.peer = sp[1];
	if (mode == M_HOST)
		CHECK(pvb_chan_host_start(&r.h, sp[0], &offer) == 0);
	else
		CHECK(pvb_chan_guest_start(&r.g, sp[0]) == 0);
	for (chunks = 0; chunks < MAX_CHUNKS && pos + 3 <= n; chunks++) {
		r.ctl = d[pos];
		len = (size_t)d[pos + 1] | (size_t)d[pos + 2] << 8;
		pos += 3;
		if (len > n - pos)
			len = n - pos;
		chunk_send(&r, d + pos, len);
		pos += len;
		for (k = 0; k < POLLS; k++)
			step(&r);
		if (r.ctl & 64) {
			CHECK(shutdown(r.peer, SHUT_WR) == 0);
			for (k = 0; k < POLLS; k++)
				step(&r);
		}
		if (r.ctl & (16 | 64))
			break;
	}
	if (mode == M_HOST) {
		pvb_chan_host_close(&r.h, (r.ctl & 32) != 0);
		CHECK(r.h.state == PVB_CHAN_H_CLOSED && r.h.sock == -1);
	} else {
		pvb_chan_guest_close(&r.g);
		CHECK(r.g.state == PVB_CHAN_G_CLOSED && r.g.sock == -1);
	}
	drain_peer(&r);
	close(sp[1]);
	CHECK(fcntl(sp[0], F_GETFD) == -1 && fcntl(sp[1], F_GETFD) == -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	env_init();
	if (size >= 1) {
		if (data[0] % M_COUNT == M_DECODE)
			run_decode(data + 1, size - 1);
		else
			run_socket((enum mode)(data[0] % M_COUNT), data + 1, size - 1);
	}
	if (++g_env.runs % LEAK_EVERY == 0)
		CHECK(fuzz_count_fds() == g_env.fds_base);
	return 0;
}

/* ----------------------------------------------------------------------------
 * Planting valid messages
 */

static uint32_t
rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* A valid message of a type @s picks, into @buf; its length. */
static size_t
plant_msg(uint8_t *buf, uint16_t type, uint32_t *s)
{
	struct pvb_chan_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	switch (type) {
	case PVB_CHAN_OFFER:
		m.u.offer = offer;
		m.u.offer.chan_id = rnd(s) % 3;
		/* share mode (the guest's region then stays unlocked) half the time */
		if (rnd(s) % 2)
			m.u.offer.flags |= PVB_CHAN_OFFER_F_SHARE;
		break;
	case PVB_CHAN_SUBOFFER:
		m.u.sub.parent = rnd(s) % 4 ? offer.chan_id : rnd(s) % 3;
		m.u.sub.index = 1 + rnd(s) % (SUBS + 1);
		m.u.sub.chan_id = sub_id(m.u.sub.parent, m.u.sub.index);
		break;
	case PVB_CHAN_OPEN:
		m.u.open = good_open(offer.chan_id);
		if (rnd(s) % 2) {
			/* a subchannel's: offered (1, 2) or not (3) */
			m.u.open = good_sub_open(sub_id(offer.chan_id, 1 + rnd(s) % (SUBS + 1)));
			if (rnd(s) % 4 == 0)
				m.u.open.n_gpadl = 1, m.u.open.gpadl[0] = good_open(1).gpadl[0];
			break;
		}
		switch (rnd(s) % 4) {	/* often one field off by a little */
		case 1:
			m.u.open.gpadl[rnd(s) % 2].offset += 4096 * (rnd(s) % 3);
			break;
		case 2:
			m.u.open.gpadl[1].id = m.u.open.gpadl[0].id;
			break;
		case 3:
			m.u.open.rx.offset += 4096 * (rnd(s) % 3);
			break;
		}
		break;
	case PVB_CHAN_OPEN_RESULT:
	case PVB_CHAN_ERROR:
		m.u.result.status = -(int32_t)(rnd(s) % 4);
		if (type == PVB_CHAN_ERROR && m.u.result.status == 0)
			m.u.result.status = -EPROTO;
		strcpy(m.u.result.reason, "planted");
		break;
	default:
		m.u.close.chan_id = rnd(s) % 2 ? offer.chan_id : rnd(s);
		break;
	}
	return (size_t)pvb_chan_encode(&m, buf, PVB_CHAN_WIRE_MAX);
}

static size_t
put_chunk(uint8_t *data, size_t at, size_t max, uint8_t ctl, const uint8_t *msg, size_t len)
{
	if (at + 3 + len > max)
		return at;
	data[at] = ctl;
	data[at + 1] = (uint8_t)len;
	data[at + 2] = (uint8_t)(len >> 8);
	memcpy(data + at + 3, msg, len);
	return at + 3 + len;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	/* what each side's peer sends, in a plausible order */
	static const uint16_t to_host[] = { PVB_CHAN_OPEN, PVB_CHAN_CLOSE, PVB_CHAN_ERROR };
	static const uint16_t to_guest[] = { PVB_CHAN_OFFER, PVB_CHAN_OPEN_RESULT,
					     PVB_CHAN_RESCIND, PVB_CHAN_CLOSE, PVB_CHAN_SUBOFFER,
					     PVB_CHAN_OPEN_RESULT };
	uint8_t msg[PVB_CHAN_WIRE_MAX];
	uint32_t s = seed;
	size_t len, at, i;
	uint16_t type;

	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % PLANT_ONE_IN != 0 || max_size < 2 + PVB_CHAN_WIRE_MAX)
		return size;
	data[0] = (uint8_t)(rnd(&s) % M_COUNT);
	if (data[0] == M_DECODE) {
		type = (uint16_t)(1 + rnd(&s) % 7);
		len = plant_msg(msg, type, &s);
		data[1] = (uint8_t)pvb_chan_wire_nfds(type);
		memcpy(data + 2, msg, len);
		return 2 + len;
	}
	at = 1;
	for (i = 0; i < 6; i++) {
		if (data[0] == M_HOST)
			type = to_host[i < 2 ? 0 : rnd(&s) % 3];
		else
			type = to_guest[i < 2 ? i : i < 5 ? 4 + rnd(&s) % 2 : 2 + rnd(&s) % 4];
		len = plant_msg(msg, type, &s);
		at = put_chunk(data, at, max_size,
			       (uint8_t)((type == PVB_CHAN_OPEN ? PVB_CHAN_OPEN_FDS : 0) |
					 (rnd(&s) % 2 ? 8 : 0)),
			       msg, len);
	}
	return at;
}
