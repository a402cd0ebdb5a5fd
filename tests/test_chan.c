/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Unit tests for lib/chan (suite 'unit').
 *
 * The message vectors below were worked out by hand from the layout in
 * pvb_chan_wire.h, not by running the encoder: the encoder must produce them
 * byte for byte and the decoder must read them back.
 *
 * The state machine tests run a host and a guest over a socketpair
 * (SOCK_SEQPACKET, non-blocking) with real memfds and doorbell socket
 * pairs (AF_UNIX, SOCK_DGRAM), as a guest makes them. A unix
 * socket delivers a message before send() returns, so a poll right after a
 * send sees it: no test waits or times anything. Where a test plays a
 * hostile peer it writes raw bytes with sendmsg() itself, never through the
 * code under test.
 *
 * Every test runs in a fixture whose teardown closes whatever the test left
 * open, so a failing test does not leak into the next; the last test checks
 * that the suite as a whole left no fd behind.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvb_chan.h"
#include "pvb_chan_wire.h"
#include "test_common.h"

#define MIB		(1024u * 1024u)
#define REGION		(3 * MIB)	/* the region of the OPEN vector */
#define MAXMSG		(PVB_CHAN_WIRE_MAX + 64)
#define POISON		0xa5

/* ----------------------------------------------------------------------------
 * Vectors, by hand. Every field is little-endian; the header is
 * magic 'P' 'V' 'B' 'C' = 50 56 42 43, version 2 = 02 00, the type, the
 * whole length, reserved 0. Bytes past the hex text are zero.
 */

struct vec {
	const char *name;
	uint16_t type;
	uint32_t len;		/* the whole message */
	const char *hex;	/* spaces ignored */
};

static const struct vec v_offer = {
	"OFFER", PVB_CHAN_OFFER, 48,
	/* len 48 = 0x30 */
	"50564243 0200 0100 30000000 00000000"
	/* chan_id 0x01020304; mtu 1500 = 0x5dc; mac 00:15:5d:01:02:03; pad */
	"04030201 dc050000 00155d010203 0000"
	/* max_ring_bytes 1 MiB = 0x100000; flags 0; max_region_bytes 5 GiB = 0x140000000 */
	"00001000 00000000 0000004001000000"
};

/* The same OFFER in share mode: flags @36 = 1 (PVB_CHAN_OFFER_F_SHARE, bit 0) */
static const struct vec v_offer_share = {
	"OFFER share", PVB_CHAN_OFFER, 48,
	"50564243 0200 0100 30000000 00000000"
	"04030201 dc050000 00155d010203 0000"
	"00001000 01000000 0000004001000000"
};

static const struct vec v_open = {
	"OPEN", PVB_CHAN_OPEN, 256,
	/* len 256 = 0x100; sent with 2 fds (SCM_RIGHTS): region, doorbell socket */
	"50564243 0200 0200 00010000 00000000"
	/* chan_id; n_gpadl 2; region_size 3 MiB = 0x300000 */
	"04030201 02000000 0000300000000000"
	/* tx: offset 0, size 64 KiB = 0x10000, pad */
	"0000000000000000 00000100 00000000"
	/* rx: offset 0x10000, size 0x10000, pad */
	"0000010000000000 00000100 00000000"
	/* gpadl[0]: id 0xcafe, pad, offset 0x20000, size 1 MiB = 0x100000 */
	"feca0000 00000000 0000020000000000 0000100000000000"
	/* gpadl[1]: id 0xbeef, pad, offset 0x120000, size 0x1e0000 (ends at 0x300000) */
	"efbe0000 00000000 0000120000000000 00001e0000000000"
	/* gpadl[2..7]: 6 * 24 = 144 zero bytes, 112 + 144 = 256 */
};

static const struct vec v_result = {
	"OPEN_RESULT", PVB_CHAN_OPEN_RESULT, 120,
	/* len 120 = 0x78 */
	"50564243 0200 0300 78000000 00000000"
	/* status -22 (EINVAL) = 0xffffffea; pad; reason "no room" then zeros to 24 + 96 */
	"eaffffff 00000000 6e6f20726f6f6d"
};

static const struct vec v_error = {
	"ERROR", PVB_CHAN_ERROR, 120,
	"50564243 0200 0600 78000000 00000000"
	/* status -71 (EPROTO) = 0xffffffb9; pad; reason "bad magic" */
	"b9ffffff 00000000 626164206d61676963"
};

static const struct vec v_close = {
	"CLOSE", PVB_CHAN_CLOSE, 24,
	/* len 24 = 0x18; chan_id 0x01020304; pad */
	"50564243 0200 0400 18000000 00000000 04030201 00000000"
};

/* CLOSE of channel 7, which is not the offered one */
static const struct vec v_close7 = {
	"CLOSE chan 7", PVB_CHAN_CLOSE, 24,
	"50564243 0200 0400 18000000 00000000 07000000 00000000"
};

static const struct vec v_rescind = {
	"RESCIND", PVB_CHAN_RESCIND, 24,
	"50564243 0200 0500 18000000 00000000 07000000 00000000"
};

static int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	fail_msg("bad hex digit '%c'", c);
	return 0;
}

/* The bytes of @v into @out (MAXMSG), zero past the text; returns v->len. */
static size_t
vec_bytes(const struct vec *v, uint8_t *out)
{
	const char *s = v->hex;
	size_t n = 0;

	memset(out, 0, MAXMSG);
	while (*s != '\0') {
		if (*s == ' ') {
			s++;
			continue;
		}
		assert_true(s[1] != '\0' && n < v->len);
		out[n++] = (uint8_t)(hex_nibble(s[0]) << 4 | hex_nibble(s[1]));
		s += 2;
	}
	return v->len;
}

static void
expect_bytes(const uint8_t *got, size_t n, const struct vec *v)
{
	uint8_t want[MAXMSG];
	size_t i;

	expect_eq(n, vec_bytes(v, want));
	for (i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("%s: %s byte %zu is %#x, want %#x", here, v->name, i, got[i],
				 want[i]);
}

/* The values the vectors carry, as the API sees them. */
static const struct pvb_chan_offer the_offer = {
	.chan_id = 0x01020304,
	.mtu = 1500,
	.mac = { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 },
	.max_ring_bytes = MIB,
	.max_region_bytes = 0x140000000ull,
};

static struct pvb_chan_open
the_open(void)
{
	struct pvb_chan_open o;

	memset(&o, 0, sizeof(o));
	o.chan_id = 0x01020304;
	o.region_size = REGION;
	o.tx = (struct pvb_chan_ring){ .offset = 0, .size = 0x10000 };
	o.rx = (struct pvb_chan_ring){ .offset = 0x10000, .size = 0x10000 };
	o.n_gpadl = 2;
	o.gpadl[0] = (struct pvb_chan_gpadl){ .id = 0xcafe, .offset = 0x20000, .size = MIB };
	o.gpadl[1] = (struct pvb_chan_gpadl){ .id = 0xbeef, .offset = 0x120000, .size = 0x1e0000 };
	return o;
}

static void
msg_new(struct pvb_chan_msg *m, uint16_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	for (unsigned int i = 0; i < PVB_CHAN_OPEN_FDS; i++)
		m->fds[i] = -1;
}

/* ----------------------------------------------------------------------------
 * Fixture
 */

static char tmpdir[64];
static int fds_at_start;

struct fx {
	int sp[2];		/* socketpair ends no state machine took, else -1 */
	struct pvb_chan_host h;
	struct pvb_chan_guest g;
	int gfds[PVB_CHAN_OPEN_FDS];	/* what the guest sends: region, host's bell end */
	int gbell;		/* the guest's own end of the doorbell pair */
	int hfds[PVB_CHAN_OPEN_FDS];	/* what the host accepted (its caller's) */
	int extra[8];		/* anything else a test opened */
};

/* Forget @n fds (someone else closed them, or nobody opened them). */
static void
close_none(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fds[i] = -1;
}

static void
close_all(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int
suite_setup(void **state)
{
	static struct fx fixture;

	fds_at_start = count_fds();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_chan.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	*state = &fixture;
	return 0;
}

static void
tmp_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static int
suite_teardown(void **state)
{
	static const char *const names[] = { "live.sock", "stale.sock", "file" };
	char p[128];
	size_t i;

	(void)state;
	for (i = 0; i < DIM(names); i++) {
		tmp_path(p, sizeof(p), names[i]);
		unlink(p);
	}
	return rmdir(tmpdir);
}

static int
fx_setup(void **state)
{
	struct fx *fx = *state;

	here[0] = '\0';
	memset(fx, 0, sizeof(*fx));	/* h and g IDLE: close on them is a no-op */
	fx->gbell = -1;
	close_none(fx->gfds, PVB_CHAN_OPEN_FDS);
	close_none(fx->hfds, PVB_CHAN_OPEN_FDS);
	close_none(fx->extra, DIM(fx->extra));
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fx->sp);
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;

	pvb_chan_host_close(&fx->h, false);
	pvb_chan_guest_close(&fx->g);
	close_all(fx->sp, 2);
	close_all(fx->gfds, PVB_CHAN_OPEN_FDS);
	close_all(&fx->gbell, 1);
	close_all(fx->hfds, PVB_CHAN_OPEN_FDS);
	close_all(fx->extra, DIM(fx->extra));
	return 0;
}

/* A memfd of @size bytes carrying @seals. */
static int
make_region(size_t size, unsigned int seals)
{
	int fd = memfd_create("test_chan", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (seals != 0)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

/*
 * The guest's fds: a sealed region of @size bytes, and a doorbell socket
 * pair of which it sends one end (gfds) and keeps the other (gbell).
 */
static void
fx_guest_fds(struct fx *fx, size_t size)
{
	int sv[2];

	fx->gfds[PVB_CHAN_FD_REGION] = make_region(size, F_SEAL_SHRINK | F_SEAL_GROW);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	fx->gbell = sv[0];
	fx->gfds[PVB_CHAN_FD_BELL] = sv[1];
}

/* The guest's fds and one more (its own bell end): an OPEN of version 1's fd count. */
static void
fx_three_fds(const struct fx *fx, int fds[3])
{
	fds[0] = fx->gfds[PVB_CHAN_FD_REGION];
	fds[1] = fx->gfds[PVB_CHAN_FD_BELL];
	fds[2] = fx->gbell;
}

static void
fx_host_start(struct fx *fx)
{
	assert_int_equal(pvb_chan_host_start(&fx->h, fx->sp[0], &the_offer), 0);
	fx->sp[0] = -1;
	assert_int_equal(fx->h.state, PVB_CHAN_H_OFFERED);
}

static void
fx_guest_start(struct fx *fx)
{
	assert_int_equal(pvb_chan_guest_start(&fx->g, fx->sp[1]), 0);
	fx->sp[1] = -1;
	assert_int_equal(fx->g.state, PVB_CHAN_G_WAIT_OFFER);
}

/* Host and guest up to the guest's OPEN sitting on the host's socket. */
static void
fx_to_open_sent(struct fx *fx)
{
	struct pvb_chan_open o = the_open();

	fx_host_start(fx);
	fx_guest_start(fx);
	assert_int_equal(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OFFER);
	fx_guest_fds(fx, REGION);
	assert_int_equal(pvb_chan_guest_open(&fx->g, &o, fx->gfds), 0);
	assert_int_equal(fx->g.state, PVB_CHAN_G_WAIT_RESULT);
}

/* ... and up to OPEN on both sides; the host's fds go to fx->hfds. */
static void
fx_to_open(struct fx *fx)
{
	fx_to_open_sent(fx);
	assert_int_equal(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_OPEN);
	memcpy(fx->hfds, fx->h.msg.fds, sizeof(fx->hfds));
	assert_int_equal(pvb_chan_host_accept(&fx->h), 0);
	assert_int_equal(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OPENED);
	assert_int_equal(fx->h.state, PVB_CHAN_H_OPEN);
	assert_int_equal(fx->g.state, PVB_CHAN_G_OPEN);
}

/* ---- raw peer ---------------------------------------------------------- */

static void
raw_send(int sock, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	assert_true(nfds <= 8);
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
	assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)len);
}

static void
raw_send_vec(int sock, const struct vec *v, const int *fds, unsigned int nfds)
{
	uint8_t b[MAXMSG];

	raw_send(sock, b, vec_bytes(v, b), fds, nfds);
}

/* One message off @sock (0 at EOF, -1 if none); fds that came are closed and counted. */
static ssize_t
raw_recv(int sock, uint8_t *buf, size_t cap, unsigned int *nfds)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c;
	unsigned int i, n = 0;
	ssize_t r;
	int fd;

	r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	for (c = CMSG_FIRSTHDR(&msg); r >= 0 && c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_type != SCM_RIGHTS)
			continue;
		for (i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++, n++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
	if (nfds != NULL)
		*nfds = n;
	return r;
}

/* The next message on @sock is ERROR(@status, @reason), then EOF. */
static void
expect_error_then_eof(int sock, int status, const char *reason)
{
	struct pvb_chan_msg m;
	const char *why;
	uint8_t b[MAXMSG];
	unsigned int n;
	ssize_t len;

	len = raw_recv(sock, b, sizeof(b), &n);
	expect_eq(len, 120);
	expect_eq(n, 0);
	expect_eq(pvb_chan_decode(b, (size_t)len, NULL, 0, &m, &why), 0);
	expect_eq(m.type, PVB_CHAN_ERROR);
	expect_eq(m.u.result.status, status);
	if (strcmp(m.u.result.reason, reason) != 0)
		fail_msg("%s: ERROR says \"%s\", want \"%s\"", here, m.u.result.reason, reason);
	expect_eq(raw_recv(sock, b, sizeof(b), NULL), 0);
}

static void
expect_str(const char *got, const char *want)
{
	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", here, got == NULL ? "(null)" : got, want);
}

/* @fd is closed (no fd was opened since, so its number is still free). */
static void
expect_closed(int fd)
{
	expect_eq(fcntl(fd, F_GETFD), -1);
	expect_eq(errno, EBADF);
}

/* ----------------------------------------------------------------------------
 * Encode
 */

static void
check_encode(const struct pvb_chan_msg *m, const struct vec *v)
{
	uint8_t buf[MAXMSG];
	int n;

	at("encode %s", v->name);
	memset(buf, POISON, sizeof(buf));
	n = pvb_chan_encode(m, buf, sizeof(buf));
	expect_eq(n, v->len);
	expect_bytes(buf, (size_t)n, v);
	expect_true(bytes_all(buf + n, sizeof(buf) - (size_t)n, POISON));
	/* exactly the length fits; one byte less does not, and nothing is written */
	memset(buf, POISON, sizeof(buf));
	expect_eq(pvb_chan_encode(m, buf, v->len), v->len);
	memset(buf, POISON, sizeof(buf));
	expect_eq(pvb_chan_encode(m, buf, v->len - 1), -EMSGSIZE);
	expect_true(bytes_all(buf, sizeof(buf), POISON));
}

static void
test_encode(void **state)
{
	struct pvb_chan_msg m;
	uint32_t i;

	(void)state;
	msg_new(&m, PVB_CHAN_OFFER);
	m.u.offer = the_offer;
	check_encode(&m, &v_offer);
	m.u.offer.flags = PVB_CHAN_OFFER_F_SHARE;
	check_encode(&m, &v_offer_share);

	msg_new(&m, PVB_CHAN_OPEN);
	m.u.open = the_open();
	/* slots past n_gpadl are not sent, whatever they hold */
	for (i = 2; i < PVB_CHAN_MAX_GPADL; i++)
		m.u.open.gpadl[i] = (struct pvb_chan_gpadl){ .id = 0x77, .offset = 1, .size = 2 };
	check_encode(&m, &v_open);

	msg_new(&m, PVB_CHAN_OPEN_RESULT);
	m.u.result.status = -EINVAL;
	/* bytes after the NUL are not sent either */
	memset(m.u.result.reason, 'X', sizeof(m.u.result.reason));
	memcpy(m.u.result.reason, "no room", 8);
	check_encode(&m, &v_result);

	msg_new(&m, PVB_CHAN_ERROR);
	m.u.result.status = -EPROTO;
	strcpy(m.u.result.reason, "bad magic");
	check_encode(&m, &v_error);

	msg_new(&m, PVB_CHAN_CLOSE);
	m.u.close.chan_id = 0x01020304;
	check_encode(&m, &v_close);

	msg_new(&m, PVB_CHAN_RESCIND);
	m.u.close.chan_id = 7;
	check_encode(&m, &v_rescind);
}

static void
test_encode_refuses(void **state)
{
	static const uint16_t bad_types[] = { 0, 8, 0xffff };
	struct pvb_chan_msg m;
	uint8_t buf[MAXMSG];
	size_t i;

	(void)state;
	for (i = 0; i < DIM(bad_types); i++) {
		at("type %u", bad_types[i]);
		msg_new(&m, bad_types[i]);
		expect_eq(pvb_chan_encode(&m, buf, sizeof(buf)), -EINVAL);
	}
	at("NULL");
	expect_eq(pvb_chan_encode(NULL, buf, sizeof(buf)), -EINVAL);
	msg_new(&m, PVB_CHAN_CLOSE);
	expect_eq(pvb_chan_encode(&m, NULL, 24), -EINVAL);

	/* a flag this version does not know would be refused by our own decoder */
	for (i = 1; i < 32; i++) {
		at("OFFER flag bit %zu", i);
		msg_new(&m, PVB_CHAN_OFFER);
		m.u.offer = the_offer;
		m.u.offer.flags = PVB_CHAN_OFFER_F_SHARE | 1u << i;
		memset(buf, POISON, sizeof(buf));
		expect_eq(pvb_chan_encode(&m, buf, sizeof(buf)), -EINVAL);
		expect_true(bytes_all(buf, sizeof(buf), POISON));
	}

	at("n_gpadl 9");
	msg_new(&m, PVB_CHAN_OPEN);
	m.u.open = the_open();
	m.u.open.n_gpadl = PVB_CHAN_MAX_GPADL + 1;
	expect_eq(pvb_chan_encode(&m, buf, sizeof(buf)), -EINVAL);

	at("reason without NUL");
	msg_new(&m, PVB_CHAN_OPEN_RESULT);
	memset(m.u.result.reason, 'A', sizeof(m.u.result.reason));
	expect_eq(pvb_chan_encode(&m, buf, sizeof(buf)), -EINVAL);

	at("positive status");
	msg_new(&m, PVB_CHAN_OPEN_RESULT);
	m.u.result.status = 1;
	expect_eq(pvb_chan_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.u.result.status = -4096;
	expect_eq(pvb_chan_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.u.result.status = -4095;
	expect_eq(pvb_chan_encode(&m, buf, sizeof(buf)), 120);

	at("ERROR with status 0");
	msg_new(&m, PVB_CHAN_ERROR);
	expect_eq(pvb_chan_encode(&m, buf, sizeof(buf)), -EINVAL);
}

/* ----------------------------------------------------------------------------
 * Decode
 */

static void
decode_vec(const struct vec *v, const int *fds, unsigned int nfds, struct pvb_chan_msg *m)
{
	const char *why = "unset";
	uint8_t b[MAXMSG];

	at("decode %s", v->name);
	memset(m, POISON, sizeof(*m));
	expect_eq(pvb_chan_decode(b, vec_bytes(v, b), fds, nfds, m, &why), 0);
	expect_true(why == NULL);
	expect_eq(m->type, v->type);
	expect_eq(m->nfds, nfds);
}

static void
test_decode(void **state)
{
	const int fds[2] = { 100, 101 };	/* decode copies them, never uses them */
	struct pvb_chan_open o = the_open();
	struct pvb_chan_msg m;
	unsigned int i;

	(void)state;
	decode_vec(&v_offer, NULL, 0, &m);
	expect_eq(m.u.offer.chan_id, 0x01020304);
	expect_eq(m.u.offer.mtu, 1500);
	expect_true(memcmp(m.u.offer.mac, the_offer.mac, 6) == 0);
	expect_eq(m.u.offer.max_ring_bytes, MIB);
	expect_eq(m.u.offer.max_region_bytes, 0x140000000ull);
	expect_eq(m.u.offer.flags, 0);
	expect_eq(m.fds[0], -1);
	expect_eq(m.fds[1], -1);

	decode_vec(&v_offer_share, NULL, 0, &m);
	expect_eq(m.u.offer.flags, PVB_CHAN_OFFER_F_SHARE);
	expect_eq(m.u.offer.chan_id, 0x01020304);
	expect_eq(m.u.offer.max_ring_bytes, MIB);
	expect_eq(m.u.offer.max_region_bytes, 0x140000000ull);

	decode_vec(&v_open, fds, 2, &m);
	expect_eq(m.u.open.chan_id, o.chan_id);
	expect_eq(m.u.open.region_size, REGION);
	expect_eq(m.u.open.tx.offset, 0);
	expect_eq(m.u.open.tx.size, 0x10000);
	expect_eq(m.u.open.rx.offset, 0x10000);
	expect_eq(m.u.open.rx.size, 0x10000);
	expect_eq(m.u.open.n_gpadl, 2);
	for (i = 0; i < PVB_CHAN_MAX_GPADL; i++) {
		at("decode OPEN gpadl[%u]", i);
		expect_eq(m.u.open.gpadl[i].id, o.gpadl[i].id);
		expect_eq(m.u.open.gpadl[i].offset, o.gpadl[i].offset);
		expect_eq(m.u.open.gpadl[i].size, o.gpadl[i].size);
	}
	expect_eq(m.nfds, PVB_CHAN_OPEN_FDS);
	expect_eq(m.fds[PVB_CHAN_FD_REGION], 100);
	expect_eq(m.fds[PVB_CHAN_FD_BELL], 101);

	decode_vec(&v_result, NULL, 0, &m);
	expect_eq(m.u.result.status, -EINVAL);
	expect_str(m.u.result.reason, "no room");
	expect_eq(m.fds[1], -1);

	decode_vec(&v_error, NULL, 0, &m);
	expect_eq(m.u.result.status, -EPROTO);
	expect_str(m.u.result.reason, "bad magic");

	decode_vec(&v_close, NULL, 0, &m);
	expect_eq(m.u.close.chan_id, 0x01020304);

	decode_vec(&v_rescind, NULL, 0, &m);
	expect_eq(m.u.close.chan_id, 7);
}

/* One refused message: a vector, an edit, the fds it comes with, the reason. */
struct bad {
	const char *name;
	const struct vec *v;
	size_t len_delta;	/* bytes added (+) or cut (wrapping -) */
	size_t off;		/* then byte @off ... */
	size_t n;		/* ... and the @n - 1 after it ... */
	uint8_t val;		/* ... are set to @val (n = 0: no edit) */
	unsigned int nfds;
	const char *why;
};

#define LESS(k)	((size_t)0 - (k))

static const struct bad bads[] = {
	{ "empty", &v_close, LESS(24), 0, 0, 0, 0, "message shorter than the header" },
	{ "15 bytes", &v_close, LESS(9), 0, 0, 0, 0, "message shorter than the header" },
	{ "header only", &v_close, LESS(8), 8, 1, 16, 0, "wrong length for the message type" },
	{ "short OFFER", &v_offer, LESS(1), 0, 0, 0, 0, "length field does not match the message" },
	{ "long OFFER", &v_offer, 1, 0, 0, 0, 0, "length field does not match the message" },
	{ "long OFFER, len 49", &v_offer, 1, 8, 1, 49, 0, "wrong length for the message type" },
	{ "OPEN + 1, len 257", &v_open, 1, 8, 1, 1, 2, "wrong length for the message type" },
	{ "CLOSE of 48 bytes", &v_close, 24, 8, 1, 48, 0, "wrong length for the message type" },
	{ "bad magic", &v_close, 0, 3, 1, 0x44, 0, "bad magic" },
	{ "magic byte 0", &v_close, 0, 0, 1, 0, 0, "bad magic" },
	{ "version 1 (eventfd doorbells)", &v_close, 0, 4, 1, 1, 0, "version mismatch" },
	{ "version 3", &v_close, 0, 4, 1, 3, 0, "version mismatch" },
	{ "version 1 OPEN, 3 fds", &v_open, 0, 4, 1, 1, 3, "version mismatch" },
	{ "version 0x102", &v_close, 0, 5, 1, 1, 0, "version mismatch" },
	{ "type 0", &v_close, 0, 6, 1, 0, 0, "unknown message type" },
	{ "type 8", &v_close, 0, 6, 1, 8, 0, "unknown message type" },
	{ "type 0x0104", &v_close, 0, 7, 1, 1, 0, "unknown message type" },
	{ "reserved", &v_close, 0, 15, 1, 0x80, 0, "reserved header field not zero" },
	{ "OFFER with an fd", &v_offer, 0, 0, 0, 0, 1, "wrong number of fds for the message type" },
	{ "CLOSE with 3 fds", &v_close, 0, 0, 0, 0, 3, "wrong number of fds for the message type" },
	{ "OPEN without fds", &v_open, 0, 0, 0, 0, 0, "wrong number of fds for the message type" },
	{ "OPEN with 1 fd", &v_open, 0, 0, 0, 0, 1, "wrong number of fds for the message type" },
	{ "OPEN with 3 fds (v1)", &v_open, 0, 0, 0, 0, 3, "wrong number of fds for the message type" },
	{ "OPEN with 4 fds", &v_open, 0, 0, 0, 0, 4, "wrong number of fds for the message type" },
	{ "reason without NUL", &v_error, 0, 24, 96, 'A', 0, "reason not NUL-terminated" },
	{ "result reason w/o NUL", &v_result, 0, 24, 96, 0xff, 0, "reason not NUL-terminated" },
	{ "status +234 = 0xea", &v_result, 0, 17, 3, 0, 0, "status not 0 or a negative errno" },
	{ "status -65536 = 0xffff0000", &v_result, 0, 16, 2, 0, 0,
	  "status not 0 or a negative errno" },
	{ "ERROR status 0", &v_error, 0, 16, 4, 0, 0, "status not 0 or a negative errno" },
	{ "OFFER pad0", &v_offer, 0, 31, 1, 1, 0, "padding not zero" },
	{ "OFFER pad0[0]", &v_offer, 0, 30, 1, 0x80, 0, "padding not zero" },
	{ "OFFER flag bit 1", &v_offer, 0, 36, 1, 2, 0, "unknown offer flags" },
	{ "OFFER share + bit 1", &v_offer_share, 0, 36, 1, 3, 0, "unknown offer flags" },
	{ "OFFER flag bit 8", &v_offer, 0, 37, 1, 1, 0, "unknown offer flags" },
	{ "OFFER flag bit 31", &v_offer, 0, 39, 1, 0x80, 0, "unknown offer flags" },
	{ "OFFER flags all", &v_offer, 0, 36, 4, 0xff, 0, "unknown offer flags" },
	{ "OPEN tx pad", &v_open, 0, 44, 1, 1, 2, "padding not zero" },
	{ "OPEN rx pad", &v_open, 0, 63, 1, 1, 2, "padding not zero" },
	{ "OPEN gpadl[0] pad", &v_open, 0, 68, 1, 1, 2, "padding not zero" },
	{ "result pad", &v_result, 0, 20, 1, 1, 0, "padding not zero" },
	{ "CLOSE pad", &v_close, 0, 23, 1, 1, 0, "padding not zero" },
	{ "RESCIND pad", &v_rescind, 0, 20, 1, 1, 0, "padding not zero" },
	{ "n_gpadl 9", &v_open, 0, 20, 1, 9, 2, "too many GPADLs" },
	{ "n_gpadl 2^32 - 1", &v_open, 0, 20, 4, 0xff, 2, "too many GPADLs" },
	{ "gpadl[2] id set", &v_open, 0, 112, 1, 1, 2, "unused GPADL slot not zero" },
	{ "gpadl[7] size set", &v_open, 0, 255, 1, 1, 2, "unused GPADL slot not zero" },
	{ "gpadl[1] unused", &v_open, 0, 20, 1, 1, 2, "unused GPADL slot not zero" },
};

static void
test_decode_refuses(void **state)
{
	const int fds[4] = { 100, 101, 102, 103 };
	struct pvb_chan_msg m, poison;
	uint8_t b[MAXMSG];
	const char *why;
	size_t i, len;

	(void)state;
	memset(&poison, POISON, sizeof(poison));
	for (i = 0; i < DIM(bads); i++) {
		const struct bad *t = &bads[i];

		at("%s", t->name);
		len = vec_bytes(t->v, b) + t->len_delta;
		assert_true(len <= sizeof(b) && t->off + t->n <= sizeof(b));
		memset(b + t->off, t->val, t->n);
		m = poison;
		why = NULL;
		expect_eq(pvb_chan_decode(b, len, fds, t->nfds, &m, &why), -EPROTO);
		expect_str(why, t->why);
		/* nothing reaches m, the fds in particular */
		expect_true(memcmp(&m, &poison, sizeof(m)) == 0);
	}
	at("bad arguments");
	vec_bytes(&v_close, b);
	expect_eq(pvb_chan_decode(b, 24, NULL, 0, NULL, &why), -EINVAL);
	expect_eq(pvb_chan_decode(NULL, 24, NULL, 0, &m, &why), -EINVAL);
	expect_eq(pvb_chan_decode(b, 24, NULL, 3, &m, &why), -EINVAL);
	/* why may be NULL */
	expect_eq(pvb_chan_decode(b, 23, NULL, 0, &m, NULL), -EPROTO);
	expect_eq(pvb_chan_decode(b, 24, NULL, 0, &m, NULL), 0);
}

/* ----------------------------------------------------------------------------
 * OPEN against the offer
 */

enum what { TX_OFF, TX_SIZE, RX_OFF, RX_SIZE, REGION_SIZE, N_GPADL, CHAN,
	    G_ID, G_OFF, G_SIZE, NONE };

struct layout {
	const char *name;
	enum what what;
	unsigned int g;		/* which GPADL, for G_* */
	uint64_t val;
	const char *why;	/* NULL: accepted */
};

#define U64MAX	UINT64_MAX
#define TOP	(U64MAX - 0xfff)	/* the last page-aligned offset */

static const struct layout layouts[] = {
	{ "the vector", NONE, 0, 0, NULL },
	{ "no GPADL", N_GPADL, 0, 0, NULL },
	{ "tx at the very end", TX_OFF, 0, REGION - 0x10000, NULL },
	{ "rx of the largest size", RX_SIZE, 0, MIB, "GPADL overlaps a ring" },
	{ "tx the minimum 8192", TX_SIZE, 0, 8192, NULL },
	{ "gpadl[0] right after rx", G_OFF, 0, 0x20000, NULL },
	{ "chan id", CHAN, 0, 0x01020305, "chan id does not match the offer" },
	{ "region 0", REGION_SIZE, 0, 0, "region size zero or not a multiple of 4096" },
	{ "region odd", REGION_SIZE, 0, REGION + 1, "region size zero or not a multiple of 4096" },
	{ "region 5 GiB + 4 KiB", REGION_SIZE, 0, 0x140001000ull,
	  "region larger than the offer allows" },
	{ "region 2^64 - 4096", REGION_SIZE, 0, TOP, "region larger than the offer allows" },
	{ "n_gpadl 9", N_GPADL, 0, 9, "too many GPADLs" },
	{ "tx offset 512", TX_OFF, 0, 512, "tx ring offset not page aligned" },
	{ "tx size 0x10200", TX_SIZE, 0, 0x10200, "tx ring size not a multiple of 4096" },
	{ "tx size 4096", TX_SIZE, 0, 4096, "tx ring smaller than 8192" },
	{ "tx size 0", TX_SIZE, 0, 0, "tx ring smaller than 8192" },
	{ "tx size 1 MiB + 4 KiB", TX_SIZE, 0, MIB + 4096, "tx ring larger than the offer allows" },
	{ "tx at the region's end", TX_OFF, 0, REGION, "tx ring outside the region" },
	{ "tx one page over", TX_OFF, 0, REGION - 0xf000, "tx ring outside the region" },
	{ "tx near 2^64 (wraps)", TX_OFF, 0, TOP, "tx ring outside the region" },
	{ "rx offset 0x10800", RX_OFF, 0, 0x10800, "rx ring offset not page aligned" },
	{ "rx size 12288 + 1", RX_SIZE, 0, 12289, "rx ring size not a multiple of 4096" },
	{ "rx size 4096", RX_SIZE, 0, 4096, "rx ring smaller than 8192" },
	{ "rx size 2 MiB", RX_SIZE, 0, 2 * MIB, "rx ring larger than the offer allows" },
	{ "rx near 2^64 (wraps)", RX_OFF, 0, TOP - 0xf000, "rx ring outside the region" },
	{ "rx over tx", RX_OFF, 0, 0, "tx and rx rings overlap" },
	{ "rx half over tx", RX_OFF, 0, 0x8000, "tx and rx rings overlap" },
	{ "tx half over rx", TX_OFF, 0, 0x18000, "tx and rx rings overlap" },
	{ "gpadl[0] id 0", G_ID, 0, 0, "GPADL id zero" },
	{ "gpadl[1] id as [0]", G_ID, 1, 0xcafe, "GPADL id not unique" },
	{ "gpadl[1] offset 0x120800", G_OFF, 1, 0x120800, "GPADL offset not page aligned" },
	{ "gpadl[0] size 0", G_SIZE, 0, 0, "GPADL size zero or not a multiple of 4096" },
	{ "gpadl[0] size 100", G_SIZE, 0, 100, "GPADL size zero or not a multiple of 4096" },
	{ "gpadl[1] one page over", G_SIZE, 1, 0x1e1000, "GPADL outside the region" },
	{ "gpadl[1] at the end", G_OFF, 1, REGION, "GPADL outside the region" },
	{ "gpadl[1] near 2^64 (wraps)", G_OFF, 1, TOP, "GPADL outside the region" },
	{ "gpadl[0] size near 2^64", G_SIZE, 0, TOP, "GPADL outside the region" },
	{ "gpadl[0] over rx", G_OFF, 0, 0x1f000, "GPADL overlaps a ring" },
	{ "gpadl[0] over tx", G_OFF, 0, 0, "GPADL overlaps a ring" },
};

static void
layout_apply(struct pvb_chan_open *o, const struct layout *l)
{
	switch (l->what) {
	case TX_OFF: o->tx.offset = l->val; break;
	case TX_SIZE: o->tx.size = (uint32_t)l->val; break;
	case RX_OFF: o->rx.offset = l->val; break;
	case RX_SIZE: o->rx.size = (uint32_t)l->val; break;
	case REGION_SIZE: o->region_size = l->val; break;
	case N_GPADL: o->n_gpadl = (uint32_t)l->val; break;
	case CHAN: o->chan_id = (uint32_t)l->val; break;
	case G_ID: o->gpadl[l->g].id = (uint32_t)l->val; break;
	case G_OFF: o->gpadl[l->g].offset = l->val; break;
	case G_SIZE: o->gpadl[l->g].size = l->val; break;
	case NONE: break;
	}
}

static void
test_open_check(void **state)
{
	struct pvb_chan_open o;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < DIM(layouts); i++) {
		const struct layout *l = &layouts[i];

		at("%s", l->name);
		o = the_open();
		if (l->what == TX_OFF && l->why == NULL)
			o.rx.offset = 0;	/* tx moved to the end: make room */
		if (l->what == TX_OFF && l->why == NULL)
			o.n_gpadl = 0;
		layout_apply(&o, l);
		why = "unset";
		if (l->why == NULL) {
			expect_eq(pvb_chan_open_check(&o, &the_offer, &why), 0);
		} else {
			expect_eq(pvb_chan_open_check(&o, &the_offer, &why), -EINVAL);
			expect_str(why, l->why);
		}
	}
	at("NULL");
	o = the_open();
	expect_eq(pvb_chan_open_check(NULL, &the_offer, &why), -EINVAL);
	expect_eq(pvb_chan_open_check(&o, NULL, NULL), -EINVAL);
	expect_eq(pvb_chan_open_check(&o, &the_offer, NULL), 0);
}

static void
test_gpadl_find(void **state)
{
	struct pvb_chan_open o = the_open();

	(void)state;
	at("find");
	expect_true(pvb_chan_gpadl_find(&o, 0xcafe) == &o.gpadl[0]);
	expect_true(pvb_chan_gpadl_find(&o, 0xbeef) == &o.gpadl[1]);
	expect_true(pvb_chan_gpadl_find(&o, 0) == NULL);
	expect_true(pvb_chan_gpadl_find(&o, 0x77) == NULL);
	expect_true(pvb_chan_gpadl_find(NULL, 0xcafe) == NULL);
	/* only the first n_gpadl count */
	o.n_gpadl = 1;
	expect_true(pvb_chan_gpadl_find(&o, 0xbeef) == NULL);
	o.n_gpadl = 1000;
	expect_true(pvb_chan_gpadl_find(&o, 0x77) == NULL);
}

/* ----------------------------------------------------------------------------
 * Host and guest
 */

/* The same open file: fds received over the socket are the sender's, usable. */
static void
expect_same_file(int a, int b)
{
	struct stat sa, sb;

	expect_eq(fstat(a, &sa), 0);
	expect_eq(fstat(b, &sb), 0);
	expect_eq(sa.st_dev, sb.st_dev);
	expect_eq(sa.st_ino, sb.st_ino);
	expect_true(a != b);
}

/*
 * The doorbell pair as the PMDs use it: a ring is a one-byte send with
 * MSG_DONTWAIT, a drain reads until EAGAIN. MSG_DONTWAIT holds even when
 * the description was made blocking (a peer sharing it could do that), and
 * a full queue answers EAGAIN: a wake is pending already, nothing blocks.
 */
static void
bell_both_ways(int guest_end, int host_end)
{
	const uint8_t one = 1;
	uint8_t b[8];
	unsigned int n;
	int fl;

	expect_eq(send(guest_end, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL), 1);
	expect_eq(recv(host_end, b, sizeof(b), MSG_DONTWAIT), 1);
	expect_eq(recv(host_end, b, sizeof(b), MSG_DONTWAIT), -1);
	expect_eq(errno, EAGAIN);
	fl = fcntl(host_end, F_GETFL);
	assert_true(fl >= 0);
	assert_int_equal(fcntl(host_end, F_SETFL, fl & ~O_NONBLOCK), 0);
	for (n = 0; n < 1000000; n++)
		if (send(host_end, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
			break;
	expect_true(n > 0 && n < 1000000);
	expect_eq(errno, EAGAIN);
	for (; n > 0; n--)
		if (recv(guest_end, b, sizeof(b), MSG_DONTWAIT) != 1)
			break;
	expect_eq(n, 0);
	expect_eq(recv(guest_end, b, sizeof(b), MSG_DONTWAIT), -1);
	expect_eq(errno, EAGAIN);
	assert_int_equal(fcntl(host_end, F_SETFL, fl), 0);
}

static void
test_handshake(void **state)
{
	struct fx *fx = *state;
	struct pvb_chan_open o = the_open();
	uint32_t word = 0;
	uint8_t *g_map, *h_map;

	at("handshake");
	fx_host_start(fx);
	fx_guest_start(fx);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_NONE);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OFFER);
	expect_eq(fx->g.state, PVB_CHAN_G_OFFERED);
	expect_true(memcmp(&fx->g.offer, &the_offer, sizeof(the_offer)) == 0);
	expect_true(memcmp(&fx->g.msg.u.offer, &the_offer, sizeof(the_offer)) == 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_NONE);

	fx_guest_fds(fx, REGION);
	expect_eq(pvb_chan_guest_open(&fx->g, &o, fx->gfds), 0);
	expect_eq(fx->g.state, PVB_CHAN_G_WAIT_RESULT);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_NONE);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_OPEN);
	expect_eq(fx->h.state, PVB_CHAN_H_OPENING);
	expect_eq(fx->h.msg.nfds, PVB_CHAN_OPEN_FDS);
	expect_eq(fx->h.msg.u.open.region_size, REGION);
	expect_eq(fx->h.msg.u.open.n_gpadl, 2);
	memcpy(fx->hfds, fx->h.msg.fds, sizeof(fx->hfds));
	expect_eq(pvb_chan_host_accept(&fx->h), 0);
	expect_eq(fx->h.state, PVB_CHAN_H_OPEN);
	expect_eq(fx->h.msg.fds[PVB_CHAN_FD_REGION], -1);
	expect_eq(fx->h.msg.fds[PVB_CHAN_FD_BELL], -1);
	expect_eq(pvb_chan_host_accept(&fx->h), -EINVAL);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OPENED);
	expect_eq(fx->g.state, PVB_CHAN_G_OPEN);
	expect_eq(fx->g.msg.u.result.status, 0);

	/* the fds arrived usable: the same memory and the same doorbell socket */
	expect_same_file(fx->gfds[0], fx->hfds[0]);
	expect_same_file(fx->gfds[1], fx->hfds[1]);
	g_map = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fx->gfds[0], 0);
	h_map = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fx->hfds[0], 0);
	assert_true(g_map != MAP_FAILED && h_map != MAP_FAILED);
	word = 0xfeedf00d;
	memcpy(g_map + REGION - 4, &word, 4);
	memcpy(&word, h_map + REGION - 4, 4);
	munmap(g_map, REGION);
	munmap(h_map, REGION);
	expect_eq(word, 0xfeedf00d);
	bell_both_ways(fx->gbell, fx->hfds[PVB_CHAN_FD_BELL]);

	/* nothing more arrives; then the guest closes */
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_NONE);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_NONE);
	pvb_chan_guest_close(&fx->g);
	expect_eq(fx->g.state, PVB_CHAN_G_CLOSED);
	expect_eq(fx->g.sock, -1);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_NONE);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->h.state, PVB_CHAN_H_CLOSED);
	expect_str(fx->h.why, "closed by guest");
	expect_eq(fx->h.status, 0);
	expect_eq(fx->h.sock, -1);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_NONE);
}

static void
test_offer_bytes(void **state)
{
	struct fx *fx = *state;
	uint8_t b[MAXMSG];
	unsigned int n;

	at("OFFER on the wire");
	fx_host_start(fx);
	expect_eq(raw_recv(fx->sp[1], b, sizeof(b), &n), 48);
	expect_eq(n, 0);
	expect_bytes(b, 48, &v_offer);
}

/* Share mode: the host's flag reaches the guest's offer; an unknown one is never sent. */
static void
test_offer_share(void **state)
{
	struct fx *fx = *state;
	struct pvb_chan_offer offer = the_offer;
	uint8_t b[MAXMSG];
	int sp[2];

	at("share flag sent and read");
	offer.flags = PVB_CHAN_OFFER_F_SHARE;
	assert_int_equal(pvb_chan_host_start(&fx->h, fx->sp[0], &offer), 0);
	fx->sp[0] = -1;
	fx_guest_start(fx);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OFFER);
	expect_eq(fx->g.offer.flags, PVB_CHAN_OFFER_F_SHARE);
	expect_eq(fx->g.msg.u.offer.flags, PVB_CHAN_OFFER_F_SHARE);

	at("unknown flag: not sent, the socket closed");
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				    sp), 0);
	fx->extra[0] = sp[1];
	offer.flags = 1u << 1;
	pvb_chan_host_close(&fx->h, false);
	expect_eq(pvb_chan_host_start(&fx->h, sp[0], &offer), -EINVAL);
	expect_eq(fx->h.state, PVB_CHAN_H_CLOSED);
	expect_closed(sp[0]);
	expect_eq(raw_recv(sp[1], b, sizeof(b), NULL), 0);	/* EOF, no OFFER */

	at("a raw OFFER with an unknown flag: the guest refuses it with ERROR");
	pvb_chan_guest_close(&fx->g);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				    sp), 0);
	fx->extra[1] = sp[0];
	assert_int_equal(pvb_chan_guest_start(&fx->g, sp[1]), 0);
	vec_bytes(&v_offer_share, b);
	b[36] = 0x03;
	raw_send(sp[0], b, 48, NULL, 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->g.state, PVB_CHAN_G_CLOSED);
	expect_error_then_eof(sp[0], -EPROTO, "unknown offer flags");
}

static void
test_rescind(void **state)
{
	struct fx *fx = *state;
	uint8_t b[MAXMSG];

	at("rescind when open");
	fx_to_open(fx);
	pvb_chan_host_close(&fx->h, true);
	expect_eq(fx->h.state, PVB_CHAN_H_CLOSED);
	expect_eq(fx->h.sock, -1);
	expect_str(fx->h.why, "rescinded by host");
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->g.state, PVB_CHAN_G_CLOSED);
	expect_str(fx->g.why, "offer rescinded by host");
	expect_eq(fx->g.status, 0);
	expect_eq(fx->g.sock, -1);
	/* closing twice is harmless */
	pvb_chan_host_close(&fx->h, true);
	pvb_chan_guest_close(&fx->g);

	at("RESCIND on the wire");
	fx_teardown(state);
	fx_setup(state);
	fx_host_start(fx);
	expect_eq(raw_recv(fx->sp[1], b, sizeof(b), NULL), 48);
	raw_send_vec(fx->sp[1], &v_open, NULL, 0);	/* no fds: refused, never OPEN */
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_CLOSED);
	expect_error_then_eof(fx->sp[1], -EPROTO, "wrong number of fds for the message type");

	at("a plain close of an open channel is an orderly CLOSE");
	fx_teardown(state);
	fx_setup(state);
	fx_to_open(fx);
	pvb_chan_host_close(&fx->h, false);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_str(fx->g.why, "closed by host");
	expect_eq(fx->g.status, 0);
}

static void
test_eof(void **state)
{
	struct fx *fx = *state;

	at("guest dies while offered");
	fx_host_start(fx);
	close(fx->sp[1]);
	fx->sp[1] = -1;
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->h.status, -ECONNRESET);
	expect_str(fx->h.why, "guest gone");
	expect_eq(fx->h.sock, -1);

	at("host dies while the guest waits for the result");
	fx_teardown(state);
	fx_setup(state);
	fx_to_open_sent(fx);
	/* the pending OPEN's fds go with the host: none leaks */
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_OPEN);
	memcpy(fx->hfds, fx->h.msg.fds, sizeof(fx->hfds));
	pvb_chan_host_close(&fx->h, true);	/* not open: no RESCIND, just close */
	expect_closed(fx->hfds[0]);
	expect_closed(fx->hfds[1]);
	close_none(fx->hfds, PVB_CHAN_OPEN_FDS);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->g.status, -ECONNRESET);
	expect_str(fx->g.why, "host gone");

	at("guest dies while the host checks its OPEN");
	fx_teardown(state);
	fx_setup(state);
	fx_to_open_sent(fx);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_OPEN);
	memcpy(fx->hfds, fx->h.msg.fds, sizeof(fx->hfds));
	pvb_chan_guest_close(&fx->g);	/* not open: no CLOSE, just gone */
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->h.status, -ECONNRESET);
	expect_closed(fx->hfds[0]);
	expect_closed(fx->hfds[1]);
	close_none(fx->hfds, PVB_CHAN_OPEN_FDS);
	expect_eq(pvb_chan_host_accept(&fx->h), -EINVAL);
}

static void
test_refuse(void **state)
{
	struct fx *fx = *state;

	at("the host's caller refuses");
	fx_to_open_sent(fx);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_OPEN);
	memcpy(fx->hfds, fx->h.msg.fds, sizeof(fx->hfds));
	expect_eq(pvb_chan_host_refuse(&fx->h, 0, "no"), -EINVAL);
	expect_eq(pvb_chan_host_refuse(&fx->h, 5, "no"), -EINVAL);
	expect_eq(pvb_chan_host_refuse(&fx->h, -ENOSPC, "no room"), 0);
	expect_eq(fx->h.state, PVB_CHAN_H_OFFERED);
	expect_closed(fx->hfds[0]);
	expect_closed(fx->hfds[1]);
	close_none(fx->hfds, PVB_CHAN_OPEN_FDS);
	expect_eq(pvb_chan_host_refuse(&fx->h, -ENOSPC, "again"), -EINVAL);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->g.status, -ENOSPC);
	expect_str(fx->g.peer_reason, "no room");
	expect_str(fx->g.why, "OPEN refused by host");
	expect_eq(fx->g.sock, -1);
	/* the guest left: the host sees it go */
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->h.status, -ECONNRESET);
}

/* An OPEN with @o and the fds @fds sent raw to the host; what comes back. */
static void
open_refused(struct fx *fx, const struct pvb_chan_open *o, const int *fds, int status,
	     const char *reason)
{
	struct pvb_chan_msg m;
	uint8_t b[MAXMSG];
	unsigned int n;
	ssize_t len;
	int mlen;

	msg_new(&m, PVB_CHAN_OPEN);
	m.u.open = *o;
	mlen = pvb_chan_encode(&m, b, sizeof(b));
	expect_eq(mlen, 256);
	raw_send(fx->sp[1], b, (size_t)mlen, fds, PVB_CHAN_OPEN_FDS);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_REFUSED);
	expect_eq(fx->h.status, status);
	expect_true(fx->h.why != NULL);
	expect_eq(fx->h.state, PVB_CHAN_H_OFFERED);
	len = raw_recv(fx->sp[1], b, sizeof(b), &n);
	expect_eq(len, 120);
	expect_eq(pvb_chan_decode(b, (size_t)len, NULL, n, &m, NULL), 0);
	expect_eq(m.type, PVB_CHAN_OPEN_RESULT);
	expect_eq(m.u.result.status, status);
	expect_str(m.u.result.reason, reason);
}

/* A good OPEN whose doorbell is @bell instead: refused, the offer stands. */
static void
bell_refused(struct fx *fx, int *fds, int bell)
{
	struct pvb_chan_open o = the_open();

	fds[PVB_CHAN_FD_BELL] = bell;
	open_refused(fx, &o, fds, -EBADF, "doorbell fd not an AF_UNIX SOCK_DGRAM socket");
	fds[PVB_CHAN_FD_BELL] = fx->gfds[PVB_CHAN_FD_BELL];
}

static void
test_open_refused(void **state)
{
	struct fx *fx = *state;
	struct pvb_chan_open o = the_open();
	uint8_t b[MAXMSG];
	int fds[PVB_CHAN_OPEN_FDS], pipefd[2], sv[2];

	fx_host_start(fx);
	expect_eq(raw_recv(fx->sp[1], b, sizeof(b), NULL), 48);	/* the OFFER */
	fx_guest_fds(fx, REGION);

	at("bad layout");
	o.tx.offset = 100;
	open_refused(fx, &o, fx->gfds, -EINVAL, "tx ring offset not page aligned");

	at("region fd not sealed");
	o = the_open();
	fx->extra[0] = make_region(REGION, 0);
	memcpy(fds, fx->gfds, sizeof(fds));
	fds[0] = fx->extra[0];
	open_refused(fx, &o, fds, -EPERM, "not size-sealed");

	at("region fd too small");
	fx->extra[1] = make_region(REGION - 4096, F_SEAL_SHRINK | F_SEAL_GROW);
	fds[0] = fx->extra[1];
	open_refused(fx, &o, fds, -EMSGSIZE, "smaller than announced");

	at("region fd a socket");
	fds[PVB_CHAN_FD_REGION] = fx->gfds[PVB_CHAN_FD_BELL];
	open_refused(fx, &o, fds, -EPERM, "not size-sealed");

	/* the doorbell: anything but an AF_UNIX SOCK_DGRAM socket is refused */
	memcpy(fds, fx->gfds, sizeof(fds));
	at("doorbell an eventfd (version 1's kind)");
	fx->extra[2] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	bell_refused(fx, fds, fx->extra[2]);
	at("doorbell a pipe");
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	fx->extra[3] = pipefd[0];
	fx->extra[4] = pipefd[1];
	bell_refused(fx, fds, pipefd[1]);
	at("doorbell the region memfd");
	bell_refused(fx, fds, fx->gfds[PVB_CHAN_FD_REGION]);
	at("doorbell an AF_UNIX SOCK_STREAM socket");
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fx->extra[5] = sv[0];
	fx->extra[6] = sv[1];
	bell_refused(fx, fds, sv[1]);
	at("doorbell an AF_UNIX SOCK_SEQPACKET socket");
	bell_refused(fx, fds, fx->sp[1]);
	at("doorbell an AF_INET SOCK_DGRAM socket");
	fx->extra[7] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fx->extra[7] >= 0)
		bell_refused(fx, fds, fx->extra[7]);

	at("the offer stands: a good OPEN now");
	raw_send_vec(fx->sp[1], &v_open, fx->gfds, PVB_CHAN_OPEN_FDS);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_OPEN);
	expect_eq(pvb_chan_host_refuse(&fx->h, -EBUSY, "busy"), 0);
}

/* What a hostile guest sends the host, and what it answers. */
struct inject {
	const char *name;
	const struct vec *v;	/* NULL: raw bytes below */
	const char *raw;
	size_t raw_len;
	unsigned int nfds;	/* real fds sent along (<= 3) */
	bool open_first;	/* a good OPEN first: the host is OPENING */
	const char *why;	/* the ERROR's reason and the host's why */
	int status;		/* the host's status */
	bool error_back;	/* an ERROR comes back before EOF */
	size_t plus;		/* bytes sent past the vector (zero) */
};

static const char big[300];

static const struct inject injects[] = {
	{ "garbage", NULL, "hello", 5, 0, false, "message shorter than the header", -EPROTO, true },
	{ "garbage with fds", NULL, "hello", 5, 3, false, "message shorter than the header",
	  -EPROTO, true },
	{ "300 zero bytes", NULL, big, sizeof(big), 0, false, "message or its fds truncated",
	  -EPROTO, true },
	{ "257 zero bytes", NULL, big, 257, 0, false, "bad magic", -EPROTO, true },
	{ "OFFER from the guest", &v_offer, NULL, 0, 0, false, "message out of order", -EPROTO,
	  true },
	{ "OPEN_RESULT from the guest", &v_result, NULL, 0, 0, false, "message out of order",
	  -EPROTO, true },
	{ "RESCIND from the guest", &v_rescind, NULL, 0, 0, false, "message out of order",
	  -EPROTO, true },
	{ "OPEN without fds", &v_open, NULL, 0, 0, false,
	  "wrong number of fds for the message type", -EPROTO, true },
	{ "OPEN with 1 fd", &v_open, NULL, 0, 1, false,
	  "wrong number of fds for the message type", -EPROTO, true },
	{ "OPEN with 3 fds (version 1's count)", &v_open, NULL, 0, 3, false,
	  "wrong number of fds for the message type", -EPROTO, true },
	{ "OFFER with fds", &v_offer, NULL, 0, 2, false,
	  "wrong number of fds for the message type", -EPROTO, true },
	{ "OPEN while OPENING", &v_open, NULL, 0, 2, true, "message out of order", -EPROTO,
	  true },
	{ "CLOSE for another channel", &v_close7, NULL, 0, 0, false, "CLOSE for another channel",
	  -EPROTO, true },
	{ "OPEN + 1 byte", &v_open, NULL, 0, 2, false, "length field does not match the message",
	  -EPROTO, true, 1 },
	{ "ERROR from the guest", &v_error, NULL, 0, 0, false, "error from guest", -EPROTO,
	  false },
	{ "CLOSE while OPENING", &v_close, NULL, 0, 0, true, "closed by guest", 0, false },
};

static void
inject_one(struct fx *fx, const struct inject *t)
{
	uint8_t b[MAXMSG];
	int fds[3];

	fx_host_start(fx);
	expect_eq(raw_recv(fx->sp[1], b, sizeof(b), NULL), 48);
	fx_guest_fds(fx, REGION);
	fx_three_fds(fx, fds);
	if (t->open_first) {
		raw_send_vec(fx->sp[1], &v_open, fx->gfds, PVB_CHAN_OPEN_FDS);
		expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_OPEN);
		memcpy(fx->hfds, fx->h.msg.fds, sizeof(fx->hfds));
	}
	if (t->v != NULL)
		raw_send(fx->sp[1], b, vec_bytes(t->v, b) + t->plus, fds, t->nfds);
	else
		raw_send(fx->sp[1], t->raw, t->raw_len, fds, t->nfds);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->h.state, PVB_CHAN_H_CLOSED);
	expect_eq(fx->h.sock, -1);
	expect_str(fx->h.why, t->why);
	expect_eq(fx->h.status, t->status);
	if (t->open_first) {
		/* the pending OPEN's fds were released with the connection */
		expect_closed(fx->hfds[0]);
		expect_closed(fx->hfds[1]);
		close_none(fx->hfds, PVB_CHAN_OPEN_FDS);
	}
	if (t->error_back)
		expect_error_then_eof(fx->sp[1], -EPROTO, t->why);
	else
		expect_eq(raw_recv(fx->sp[1], b, sizeof(b), NULL), 0);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_NONE);
}

static void
test_host_injected(void **state)
{
	size_t i;

	for (i = 0; i < DIM(injects); i++) {
		at("host: %s", injects[i].name);
		if (i > 0) {
			fx_teardown(state);
			fx_setup(state);
		}
		inject_one(*state, &injects[i]);
	}
}

/* The guest's side: what a hostile host sends it. */
static void
test_guest_injected(void **state)
{
	struct fx *fx = *state;
	struct pvb_chan_open o = the_open();
	uint8_t b[MAXMSG];
	int fds[PVB_CHAN_OPEN_FDS];

	at("guest: garbage");
	fx_guest_start(fx);
	raw_send(fx->sp[0], "\x50\x56\x42\x43\x02\x00", 6, NULL, 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->g.status, -EPROTO);
	expect_str(fx->g.why, "message shorter than the header");
	expect_error_then_eof(fx->sp[0], -EPROTO, "message shorter than the header");

	at("guest: an OFFER of version 1");
	fx_teardown(state);
	fx_setup(state);
	fx_guest_start(fx);
	vec_bytes(&v_offer, b);
	b[4] = 1;
	raw_send(fx->sp[0], b, 48, NULL, 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_error_then_eof(fx->sp[0], -EPROTO, "version mismatch");

	at("guest: OPEN_RESULT before the OFFER");
	fx_teardown(state);
	fx_setup(state);
	fx_guest_start(fx);
	raw_send_vec(fx->sp[0], &v_result, NULL, 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_str(fx->g.why, "message out of order");
	expect_error_then_eof(fx->sp[0], -EPROTO, "message out of order");

	at("guest: a second OFFER");
	fx_teardown(state);
	fx_setup(state);
	fx_guest_start(fx);
	raw_send_vec(fx->sp[0], &v_offer, NULL, 0);
	raw_send_vec(fx->sp[0], &v_offer, NULL, 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OFFER);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_error_then_eof(fx->sp[0], -EPROTO, "message out of order");

	at("guest: an OPEN from the host, fds and all");
	fx_teardown(state);
	fx_setup(state);
	fx_guest_start(fx);
	fx_guest_fds(fx, REGION);
	raw_send_vec(fx->sp[0], &v_offer, NULL, 0);
	raw_send_vec(fx->sp[0], &v_open, fx->gfds, PVB_CHAN_OPEN_FDS);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OFFER);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_error_then_eof(fx->sp[0], -EPROTO, "message out of order");

	at("guest: RESCIND of another channel");
	fx_teardown(state);
	fx_setup(state);
	fx_guest_start(fx);
	raw_send_vec(fx->sp[0], &v_offer, NULL, 0);
	raw_send_vec(fx->sp[0], &v_rescind, NULL, 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OFFER);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_error_then_eof(fx->sp[0], -EPROTO, "CLOSE or RESCIND for another channel");

	at("guest: ERROR from the host");
	fx_teardown(state);
	fx_setup(state);
	fx_guest_start(fx);
	raw_send_vec(fx->sp[0], &v_error, NULL, 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->g.status, -EPROTO);
	expect_str(fx->g.why, "error from host");
	expect_str(fx->g.peer_reason, "bad magic");
	expect_eq(raw_recv(fx->sp[0], b, sizeof(b), NULL), 0);

	at("guest: refused OPEN");
	fx_teardown(state);
	fx_setup(state);
	fx_guest_start(fx);
	fx_guest_fds(fx, REGION);
	raw_send_vec(fx->sp[0], &v_offer, NULL, 0);
	expect_eq(pvb_chan_guest_open(&fx->g, &o, fx->gfds), -EINVAL);	/* no OFFER yet */
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OFFER);
	memcpy(fds, fx->gfds, sizeof(fds));
	fds[PVB_CHAN_FD_BELL] = -1;
	expect_eq(pvb_chan_guest_open(&fx->g, &o, fds), -EBADF);
	expect_eq(fx->g.state, PVB_CHAN_G_OFFERED);
	expect_eq(pvb_chan_guest_open(&fx->g, &o, fx->gfds), 0);
	expect_eq(raw_recv(fx->sp[0], b, sizeof(b), NULL), 256);
	expect_bytes(b, 256, &v_open);
	raw_send_vec(fx->sp[0], &v_result, NULL, 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_eq(fx->g.status, -EINVAL);
	expect_str(fx->g.peer_reason, "no room");
	expect_eq(raw_recv(fx->sp[0], b, sizeof(b), NULL), 0);
	/* the guest's own fds stay the guest's */
	expect_eq(fcntl(fx->gfds[0], F_GETFD), FD_CLOEXEC);
}

/* pvb_chan_recv answers a malformed message with ERROR and closes refused fds. */
static void
test_recv(void **state)
{
	struct fx *fx = *state;
	struct pvb_chan_msg m;
	const char *why = "unset";

	at("nothing yet");
	expect_eq(pvb_chan_recv(fx->sp[0], &m, &why), -EAGAIN);
	at("a CLOSE");
	raw_send_vec(fx->sp[1], &v_close, NULL, 0);
	expect_eq(pvb_chan_recv(fx->sp[0], &m, &why), 0);
	expect_eq(m.type, PVB_CHAN_CLOSE);
	at("a CLOSE with an fd");
	fx_guest_fds(fx, REGION);
	raw_send_vec(fx->sp[1], &v_close, fx->gfds, 1);
	expect_eq(pvb_chan_recv(fx->sp[0], &m, &why), -EPROTO);
	expect_str(why, "wrong number of fds for the message type");
	{
		uint8_t b[MAXMSG];
		ssize_t len = raw_recv(fx->sp[1], b, sizeof(b), NULL);

		expect_eq(len, 120);
		expect_eq(pvb_chan_decode(b, 120, NULL, 0, &m, NULL), 0);
		expect_eq(m.type, PVB_CHAN_ERROR);
		expect_str(m.u.result.reason, "wrong number of fds for the message type");
	}
	at("an OPEN, then send it back");
	raw_send_vec(fx->sp[1], &v_open, fx->gfds, PVB_CHAN_OPEN_FDS);
	expect_eq(pvb_chan_recv(fx->sp[0], &m, &why), 0);
	expect_eq(m.nfds, PVB_CHAN_OPEN_FDS);
	expect_eq(pvb_chan_send(fx->sp[0], &m), 0);
	pvb_chan_msg_release(&m);
	expect_eq(m.fds[0], -1);
	expect_eq(pvb_chan_recv(fx->sp[1], &m, NULL), 0);
	expect_same_file(m.fds[0], fx->gfds[0]);
	expect_same_file(m.fds[1], fx->gfds[1]);
	pvb_chan_msg_release(&m);
	at("EOF");
	close(fx->sp[1]);
	fx->sp[1] = -1;
	expect_eq(pvb_chan_recv(fx->sp[0], &m, &why), -ECONNRESET);
}

static void
test_bad_args(void **state)
{
	struct fx *fx = *state;
	struct pvb_chan_open o = the_open();
	struct pvb_chan_msg m;
	int fds[PVB_CHAN_OPEN_FDS] = { -1, -1 };

	at("bad arguments");
	expect_eq(pvb_chan_host_start(NULL, fx->sp[0], &the_offer), -EINVAL);
	expect_eq(pvb_chan_host_start(&fx->h, -1, &the_offer), -EINVAL);
	expect_eq(pvb_chan_host_start(&fx->h, fx->sp[0], NULL), -EINVAL);
	expect_eq(pvb_chan_guest_start(NULL, fx->sp[1]), -EINVAL);
	expect_eq(pvb_chan_guest_start(&fx->g, -1), -EINVAL);
	expect_eq(pvb_chan_host_poll(NULL), PVB_CHAN_EV_NONE);
	expect_eq(pvb_chan_guest_poll(NULL), PVB_CHAN_EV_NONE);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_NONE);	/* IDLE */
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_NONE);
	expect_eq(pvb_chan_host_accept(&fx->h), -EINVAL);
	expect_eq(pvb_chan_host_refuse(&fx->h, -EINVAL, "x"), -EINVAL);
	expect_eq(pvb_chan_guest_open(&fx->g, &o, fds), -EINVAL);
	pvb_chan_host_close(NULL, true);
	pvb_chan_guest_close(NULL);
	expect_eq(pvb_chan_recv(fx->sp[0], NULL, NULL), -EINVAL);
	msg_new(&m, PVB_CHAN_OPEN);
	m.u.open = o;
	expect_eq(pvb_chan_send(fx->sp[0], &m), -EBADF);
	pvb_chan_msg_release(NULL);
	/* only an OPEN holds fds: a zeroed message (fds 0) must not close stdin */
	memset(&m, 0, sizeof(m));
	fx->extra[0] = eventfd(0, EFD_CLOEXEC);
	m.fds[0] = fx->extra[0];
	m.fds[1] = -1;
	pvb_chan_msg_release(&m);
	expect_eq(fcntl(fx->extra[0], F_GETFD), FD_CLOEXEC);
	m.type = PVB_CHAN_OPEN;
	pvb_chan_msg_release(&m);
	expect_closed(fx->extra[0]);
	fx->extra[0] = -1;

	at("OFFER to a closed peer");
	close(fx->sp[1]);
	fx->sp[1] = -1;
	expect_eq(pvb_chan_host_start(&fx->h, fx->sp[0], &the_offer), -EPIPE);
	fx->sp[0] = -1;		/* the host took it and closed it */
	expect_eq(fx->h.state, PVB_CHAN_H_CLOSED);
	expect_eq(fx->h.sock, -1);
}

/* ----------------------------------------------------------------------------
 * Listening sockets
 */

static void
test_listen(void **state)
{
	struct fx *fx = *state;
	char p[128], q[128], longp[200];
	struct pvb_chan_msg m;
	int fd;

	tmp_path(p, sizeof(p), "live.sock");
	at("listen, connect, accept");
	fx->extra[0] = pvb_chan_listen(p);
	expect_true(fx->extra[0] >= 0);
	expect_eq(pvb_chan_accept(fx->extra[0]), -EAGAIN);
	fx->extra[1] = pvb_chan_connect(p);
	expect_true(fx->extra[1] >= 0);
	fx->extra[2] = pvb_chan_accept(fx->extra[0]);
	expect_true(fx->extra[2] >= 0);
	expect_true((fcntl(fx->extra[0], F_GETFL) & O_NONBLOCK) != 0);
	expect_true((fcntl(fx->extra[1], F_GETFL) & O_NONBLOCK) != 0);
	expect_true((fcntl(fx->extra[2], F_GETFL) & O_NONBLOCK) != 0);
	expect_eq(fcntl(fx->extra[1], F_GETFD), FD_CLOEXEC);
	expect_eq(fcntl(fx->extra[2], F_GETFD), FD_CLOEXEC);
	msg_new(&m, PVB_CHAN_CLOSE);
	m.u.close.chan_id = 9;
	expect_eq(pvb_chan_send(fx->extra[1], &m), 0);
	memset(&m, 0, sizeof(m));
	expect_eq(pvb_chan_recv(fx->extra[2], &m, NULL), 0);
	expect_eq(m.u.close.chan_id, 9);
	expect_eq(pvb_chan_recv(fx->extra[2], &m, NULL), -EAGAIN);
	close_all(&fx->extra[1], 2);

	at("a live path is in use");
	expect_eq(pvb_chan_listen(p), -EADDRINUSE);

	at("a stale path is replaced");
	tmp_path(q, sizeof(q), "stale.sock");
	fd = pvb_chan_listen(q);
	expect_true(fd >= 0);
	close(fd);		/* dies without unlinking */
	expect_eq(pvb_chan_connect(q), -ECONNREFUSED);
	fx->extra[1] = pvb_chan_listen(q);
	expect_true(fx->extra[1] >= 0);
	fx->extra[2] = pvb_chan_connect(q);
	expect_true(fx->extra[2] >= 0);
	fx->extra[3] = pvb_chan_accept(fx->extra[1]);
	expect_true(fx->extra[3] >= 0);
	close_all(fx->extra, DIM(fx->extra));

	at("a regular file is not a stale socket");
	tmp_path(q, sizeof(q), "file");
	fd = open(q, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	expect_true(fd >= 0);
	close(fd);
	expect_eq(pvb_chan_listen(q), -EADDRINUSE);
	expect_eq(access(q, F_OK), 0);

	at("too long a path");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	memcpy(longp, "/tmp/", 5);
	expect_eq(pvb_chan_listen(longp), -ENAMETOOLONG);
	expect_eq(pvb_chan_connect(longp), -ENAMETOOLONG);
	/* sun_path holds 108 bytes, the NUL included */
	longp[108] = '\0';
	expect_eq(pvb_chan_listen(longp), -ENAMETOOLONG);

	at("nothing there, empty path");
	tmp_path(q, sizeof(q), "nobody.sock");
	expect_eq(pvb_chan_connect(q), -ENOENT);
	expect_eq(pvb_chan_listen(""), -EINVAL);
	expect_eq(pvb_chan_connect(NULL), -EINVAL);
	expect_eq(pvb_chan_accept(-1), -EBADF);
}

/* Last: the suite as a whole leaves no fd open. */
static void
test_no_fd_leak(void **state)
{
	(void)state;
	at("fd count");
	expect_eq(count_fds(), fds_at_start);
}

/* ---- subchannels ------------------------------------------------------------- */

/* Open the primary channel between fx->h and fx->g (test_handshake, briefly). */
static void
fx_open_primary(struct fx *fx)
{
	struct pvb_chan_open o = the_open();

	fx_host_start(fx);
	fx_guest_start(fx);
	assert_int_equal(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OFFER);
	fx_guest_fds(fx, REGION);
	assert_int_equal(pvb_chan_guest_open(&fx->g, &o, fx->gfds), 0);
	assert_int_equal(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_OPEN);
	memcpy(fx->hfds, fx->h.msg.fds, sizeof(fx->hfds));
	assert_int_equal(pvb_chan_host_accept(&fx->h), 0);
	assert_int_equal(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_OPENED);
}

/* A subchannel's OPEN: its own small region of two rings, no GPADL. */
static struct pvb_chan_open
sub_open(uint32_t chan_id)
{
	struct pvb_chan_open o;

	memset(&o, 0, sizeof(o));
	o.chan_id = chan_id;
	o.region_size = 0x20000;
	o.tx = (struct pvb_chan_ring){ .offset = 0, .size = 0x10000 };
	o.rx = (struct pvb_chan_ring){ .offset = 0x10000, .size = 0x10000 };
	return o;
}

/* Fresh fds for a subchannel OPEN into @p fds; @p own gets the guest's bell end. */
static void
sub_fds(int fds[PVB_CHAN_OPEN_FDS], int *own)
{
	int sv[2];

	fds[PVB_CHAN_FD_REGION] = make_region(0x20000, F_SEAL_SHRINK | F_SEAL_GROW);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	*own = sv[0];
	fds[PVB_CHAN_FD_BELL] = sv[1];
}

static void
close_fds(int *fds, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Three subchannels offered, opened and accepted; closing the primary closes them all. */
static void
test_subchannels(void **state)
{
	struct fx *fx = *state;
	struct pvb_chan_open o;
	int fds[PVB_CHAN_OPEN_FDS], own, got[3][PVB_CHAN_OPEN_FDS];
	uint32_t i, ids[4] = { 0 };

	at("subchannels");
	fx_open_primary(fx);
	expect_eq(pvb_chan_host_offer_sub(&fx->h, 64), -EINVAL);
	expect_eq(pvb_chan_guest_expect_sub(&fx->g, 3), 0);
	expect_eq(pvb_chan_host_offer_sub(&fx->h, 3), 0);
	expect_eq(fx->h.nsub, 3);
	expect_eq(pvb_chan_host_offer_sub(&fx->h, 2), -EINVAL);	/* never fewer */
	for (i = 1; i <= 3; i++) {
		at("subchannel %u", i);
		expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_SUBOFFER);
		expect_eq(fx->g.sub.index, i);
		expect_eq(fx->g.sub.parent, the_offer.chan_id);
		expect_true(fx->g.sub.chan_id != the_offer.chan_id);
		ids[i] = fx->g.sub.chan_id;
		expect_true(i == 1 || ids[i] != ids[i - 1]);
		o = sub_open(ids[i]);
		sub_fds(fds, &own);
		/* another id than the one offered is the caller's mistake */
		o.chan_id ^= 1;
		expect_eq(pvb_chan_guest_open_sub(&fx->g, &o, fds), -EINVAL);
		o.chan_id ^= 1;
		expect_eq(pvb_chan_guest_open_sub(&fx->g, &o, fds), 0);
		expect_eq(pvb_chan_guest_open_sub(&fx->g, &o, fds), -EINVAL);	/* answered */
		close_fds(fds, PVB_CHAN_OPEN_FDS);
		close(own);
	}
	for (i = 1; i <= 3; i++) {
		at("host, subchannel %u", i);
		expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_SUB_OPEN);
		expect_eq(fx->h.sub_cur, i);
		expect_eq(fx->h.msg.u.open.chan_id, ids[i]);
		memcpy(got[i - 1], fx->h.msg.fds, sizeof(got[0]));
		expect_eq(pvb_chan_host_accept(&fx->h), 0);
		expect_eq(fx->h.state, PVB_CHAN_H_OPEN);
		expect_eq(pvb_chan_host_sub_count(&fx->h), i);
		expect_eq(fx->h.msg.fds[0], -1);
	}
	for (i = 1; i <= 3; i++) {
		at("guest, subchannel %u", i);
		expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_SUB_OPENED);
		expect_eq(fx->g.sub_done, i);
	}
	for (i = 0; i < 3; i++)
		close_fds(got[i], PVB_CHAN_OPEN_FDS);
	at("close");
	pvb_chan_guest_close(&fx->g);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_CLOSED);
	expect_str(fx->h.why, "closed by guest");
}

/* What a hostile host can send a guest about subchannels: every one is an error. */
static void
test_subchannel_hostile_host(void **state)
{
	static const struct {
		const char *name;
		uint32_t expect, parent_xor, index, twice;
		const char *why;
	} cases[] = {
		{ "not asked for", 0, 0, 1, 0, "SUBOFFER beyond the subchannels granted" },
		{ "beyond the grant", 2, 0, 3, 0, "SUBOFFER beyond the subchannels granted" },
		{ "of another channel", 2, 1, 1, 0, "SUBOFFER of another channel" },
		{ "twice", 2, 0, 1, 1, "SUBOFFER twice" },
		{ "index 0", 2, 0, 0, 0, "subchannel index not 1..63" },
		{ "index 64", 63, 0, 64, 0, "subchannel index not 1..63" },
	};
	struct fx *fx;
	struct pvb_chan_msg m;
	uint8_t b[MAXMSG];
	unsigned int i;
	int len;

	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		if (i > 0) {
			fx_teardown(state);
			fx_setup(state);
		}
		fx = *state;
		fx_open_primary(fx);
		expect_eq(pvb_chan_guest_expect_sub(&fx->g, cases[i].expect), 0);
		msg_new(&m, PVB_CHAN_SUBOFFER);
		m.u.sub.chan_id = 0x77;
		m.u.sub.parent = the_offer.chan_id ^ cases[i].parent_xor;
		m.u.sub.index = 1;
		len = pvb_chan_encode(&m, b, sizeof(b));
		assert_int_equal(len, 32);
		/* past what encode allows; little-endian as the wire */
		b[24] = (uint8_t)cases[i].index;
		/* the host's socket: the host machine stands aside, raw bytes go instead */
		raw_send(fx->h.sock, b, (size_t)len, NULL, 0);
		if (cases[i].twice) {
			raw_send(fx->h.sock, b, (size_t)len, NULL, 0);
			expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_SUBOFFER);
		}
		expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
		expect_str(fx->g.why, cases[i].why);
	}
}

/* What a hostile guest can send a host about subchannels. */
static void
test_subchannel_hostile_guest(void **state)
{
	struct fx *fx = *state;
	struct pvb_chan_open o;
	int fds[PVB_CHAN_OPEN_FDS], own;
	uint32_t id;

	at("OPEN of no subchannel offered");
	fx_open_primary(fx);
	expect_eq(pvb_chan_guest_expect_sub(&fx->g, 2), 0);
	expect_eq(pvb_chan_host_offer_sub(&fx->h, 1), 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_SUBOFFER);
	id = fx->g.sub.chan_id;
	o = sub_open(id ^ (2u << 24) ^ (1u << 24));	/* index 2's id: not offered */
	sub_fds(fds, &own);
	fx->g.sub.chan_id = o.chan_id;	/* the guest machine stands aside */
	expect_eq(pvb_chan_guest_open_sub(&fx->g, &o, fds), 0);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_CLOSED);
	expect_str(fx->h.why, "OPEN of no subchannel offered");
	close_fds(fds, PVB_CHAN_OPEN_FDS);
	close(own);

	at("a subchannel OPEN with a GPADL: refused, the guest closes");
	fx_teardown(state);
	fx_setup(state);
	fx = *state;
	fx_open_primary(fx);
	expect_eq(pvb_chan_guest_expect_sub(&fx->g, 1), 0);
	expect_eq(pvb_chan_host_offer_sub(&fx->h, 1), 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_SUBOFFER);
	o = sub_open(fx->g.sub.chan_id);
	o.n_gpadl = 1;
	o.gpadl[0] = (struct pvb_chan_gpadl){ .id = 9, .offset = 0, .size = 0x1000 };
	o.region_size = 0x40000;
	o.gpadl[0].offset = 0x20000;
	sub_fds(fds, &own);
	close(fds[PVB_CHAN_FD_REGION]);
	fds[PVB_CHAN_FD_REGION] = make_region(0x40000, F_SEAL_SHRINK | F_SEAL_GROW);
	expect_eq(pvb_chan_guest_open_sub(&fx->g, &o, fds), 0);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_REFUSED);
	expect_str(fx->h.why, "subchannel OPEN with a GPADL");
	expect_eq(pvb_chan_host_sub_count(&fx->h), 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_CLOSED);
	expect_str(fx->g.why, "subchannel OPEN refused by host");
	expect_str(fx->g.peer_reason, "subchannel OPEN with a GPADL");
	close_fds(fds, PVB_CHAN_OPEN_FDS);
	close(own);

	at("a subchannel opened twice");
	fx_teardown(state);
	fx_setup(state);
	fx = *state;
	fx_open_primary(fx);
	expect_eq(pvb_chan_guest_expect_sub(&fx->g, 1), 0);
	expect_eq(pvb_chan_host_offer_sub(&fx->h, 1), 0);
	expect_eq(pvb_chan_guest_poll(&fx->g), PVB_CHAN_EV_SUBOFFER);
	o = sub_open(fx->g.sub.chan_id);
	sub_fds(fds, &own);
	expect_eq(pvb_chan_guest_open_sub(&fx->g, &o, fds), 0);
	fx->g.sub.index = 1;	/* the guest machine stands aside */
	expect_eq(pvb_chan_guest_open_sub(&fx->g, &o, fds), 0);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_SUB_OPEN);
	close_fds(fx->h.msg.fds, PVB_CHAN_OPEN_FDS);
	fx->h.msg.fds[0] = fx->h.msg.fds[1] = -1;
	expect_eq(pvb_chan_host_accept(&fx->h), 0);
	expect_eq(pvb_chan_host_poll(&fx->h), PVB_CHAN_EV_CLOSED);
	expect_str(fx->h.why, "subchannel opened twice");
	close_fds(fds, PVB_CHAN_OPEN_FDS);
	close(own);
}

#define FX_TEST(f)	cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_encode),
		FX_TEST(test_encode_refuses),
		FX_TEST(test_decode),
		FX_TEST(test_decode_refuses),
		FX_TEST(test_open_check),
		FX_TEST(test_gpadl_find),
		FX_TEST(test_offer_bytes),
		FX_TEST(test_offer_share),
		FX_TEST(test_handshake),
		FX_TEST(test_rescind),
		FX_TEST(test_eof),
		FX_TEST(test_refuse),
		FX_TEST(test_open_refused),
		FX_TEST(test_host_injected),
		FX_TEST(test_guest_injected),
		FX_TEST(test_subchannels),
		FX_TEST(test_subchannel_hostile_host),
		FX_TEST(test_subchannel_hostile_guest),
		FX_TEST(test_recv),
		FX_TEST(test_bad_args),
		FX_TEST(test_listen),
		cmocka_unit_test(test_no_fd_leak),
	};

	return cmocka_run_group_tests_name("unit", tests, suite_setup, suite_teardown);
}
