/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * libFuzzer target: the vhost-user front-end reading the replies of a
 * hostile back-end.
 *
 * The harness plays the back-end on a real AF_UNIX stream socketpair and
 * runs the session net_pvb_virtio's control thread runs (virtio_setup(),
 * then GET_VRING_BASE of each vring as when the port stops) through
 * pvb_vu_front_*(), stopping at the first failure as the PMD does (it then
 * closes the connection). Before each call that reads something back (a
 * GET, or with REPLY_ACK acked the ack of a SET) the harness writes that
 * call's reply bytes, taken from the input; a call that reads nothing gets
 * nothing. The front-end's socket is blocking, as the PMD's is, so a
 * reply cut short mid-message would hold it forever (the PMD's socket has
 * a receive time limit of a second): when the stream written so far ends
 * inside a message, the back-end shuts its sending side down, and the
 * front-end reads the end of the stream instead.
 *
 *   0   mode: bit 0 two queue pairs (GET_QUEUE_NUM, MQ); bit 1 when the
 *       input runs out the back-end goes silent (the next read times out:
 *       at once, the reply timeout being 0 ms since every reply is written
 *       before its call) instead of closing; bit 2 the memory table has two
 *       regions; bit 3 SET_VRING_CALL without fds (the no-fd flag)
 *   1.. replies, one per call that reads one: a kind byte (bits 0-5 % the
 *       kinds below; bit 6: another write follows before the call reads, so
 *       a message may be split across writes, fds with any of them; bit 7
 *       attaches fds to this write: a count byte (% 10: more than a message
 *       takes, too) and one kind byte per fd: memfd, eventfd, unix socket),
 *       then what the kind needs:
 *         GOOD     what a back-end that offers everything answers (two kinds:
 *                  it is the common case)
 *         VALUE    the right header, the payload's 8 bytes from the input
 *         FLAGS    the right reply with flags from the input (le32)
 *         REQUEST  ... with the request id from the input (le32)
 *         SIZE     ... with the size from the input (le16; that many payload
 *                  bytes follow, from the input, when the size frames)
 *         INDEX    GET_VRING_BASE's reply for another vring (index le32)
 *         RAW      a length byte, then that many bytes as they are
 *         NONE     nothing: the call reads what is left, or times out, or
 *                  reads the end of the stream
 *         EXTRA    an unsolicited well-formed message first (another
 *                  request's reply), then the next reply for the same call
 *
 * Checked for every call:
 *  - it returns 0 or one of -EPROTO, -ETIMEDOUT, -ECONNRESET, -EREMOTEIO,
 *    and any negative answer comes with f->error set;
 *  - when the stream held nothing before the call and the reply is one
 *    whole message without fds, the answer is exactly the one
 *    pvb_vhost_user.h gives: a good reply is taken and its value handed
 *    back; flags other than 0x5, another request id, another size, or
 *    GET_VRING_BASE's reply for another vring are refused with -EPROTO; an
 *    ack of "failed" is -EREMOTEIO; any fd with a reply is -EPROTO;
 *    nothing is -ETIMEDOUT (silent) or -ECONNRESET (closed);
 *  - what the front-end sent: exactly one message per call that gets to
 *    sending, with the request, the flags (NEED_REPLY exactly when an ack is
 *    awaited: REPLY_ACK acked before this message), the size, the payload
 *    and the fds (one per region, the kick and call eventfds) it was given;
 *  - the protocol features the front-end records are the ones acked, and
 *    calls with bad arguments are refused with -EINVAL and send nothing.
 * After each input, with the socketpair closed: the process holds exactly
 * the fds it held when the input started, so every fd a reply carried was
 * closed (by the front-end, or with the socket it was still queued on).
 * They are counted at both ends of the same input, when libFuzzer opens
 * none of its own, without fuzz_fds.h: its strncmp() of each fd's link
 * goes through the sanitizer's hook into libFuzzer's table of compared
 * values, where a socket's "socket:[inode]" differs from run to run and
 * "-seed=1" would no longer repeat a run.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pvb_vhost_user.h"

#define TIMEOUT_MS	0		/* per reply: every reply is written before its call */
#define GUEST_SZ	8192u
#define MAX_VRINGS	4
#define MAX_SEND_FDS	9		/* one more than a message takes */
#define MAX_CHUNKS	96		/* writes an input: the socket's buffer takes them all */
#define BIT(n)		(1ull << (n))

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum reply_kind {
	R_GOOD, R_GOOD2, R_VALUE, R_FLAGS, R_REQUEST, R_SIZE, R_INDEX, R_RAW, R_NONE,
	R_EXTRA, NB_KINDS
};
enum { FD_MEMFD, FD_EVENT, FD_SOCKET, NB_FDK };

/* What a back-end that offers everything answers. */
#define ALL_FEATURES	(BIT(PVB_VIRTIO_F_VERSION_1) | BIT(PVB_VIRTIO_F_EVENT_IDX) | \
			 BIT(PVB_VIRTIO_F_INDIRECT_DESC) | BIT(PVB_VIRTIO_F_IN_ORDER) | \
			 BIT(PVB_VIRTIO_NET_F_MRG_RXBUF) | BIT(PVB_VIRTIO_NET_F_MQ) | \
			 BIT(PVB_VHOST_USER_F_PROTOCOL_FEATURES))
#define ALL_PF		(BIT(PVB_VU_PF_MQ) | BIT(PVB_VU_PF_REPLY_ACK) | \
			 BIT(PVB_VU_PF_NET_MTU) | BIT(PVB_VU_PF_STATUS))
/* as net_pvb_virtio: the protocol features it uses when offered */
#define PF_WANTED	(BIT(PVB_VU_PF_MQ) | BIT(PVB_VU_PF_REPLY_ACK) | BIT(PVB_VU_PF_STATUS))
#define STATUS_FEATURES	(PVB_VIRTIO_STATUS_ACKNOWLEDGE | PVB_VIRTIO_STATUS_DRIVER | \
			 PVB_VIRTIO_STATUS_FEATURES_OK)

struct in {
	const uint8_t *d;
	size_t size, pos;
};

/* The stream the back-end wrote, framed as the front-end will read it. */
struct framer {
	uint8_t hdr[PVB_VU_HDR_SIZE];
	uint32_t got;		/* header bytes of the message being written */
	uint64_t left;		/* its payload bytes still to come */
	bool dead;		/* a header the reader refuses: it reads nothing after it */
};

/* The call being made, and what its reply must be. */
struct call {
	uint32_t request;
	uint32_t size;		/* of the reply's payload */
	uint32_t index;		/* GET_VRING_BASE: the vring asked about */
	uint64_t good;		/* what a good back-end answers (GET_VRING_BASE: num) */
};

/* What the harness predicts for a call. */
struct expect {
	bool exact;		/* the answer is known: rc (and value) */
	int rc;
	uint64_t value;
};

static struct {
	bool ready;
	int guest_fd, kick_fd[MAX_VRINGS], call_fd[MAX_VRINGS];
	/* per input */
	int sp[2];		/* [0] the front-end's, [1] the back-end's (the harness) */
	bool closed;		/* the back-end shut its sending side */
	bool silent;		/* at the input's end: go silent, not close */
	uint32_t chunks;	/* writes so far */
	struct framer fr;
	struct pvb_vu_frontend f;
	uint64_t acked_pf;	/* the model of f->protocol_features */
} g;

static uint8_t
get8(struct in *in)
{
	return in->pos < in->size ? in->d[in->pos++] : 0;
}

static uint64_t
get_le(struct in *in, unsigned int bytes)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < bytes; i++)
		v |= (uint64_t)get8(in) << (8 * i);
	return v;
}

static void
setup_once(void)
{
	uint32_t i;

	g.guest_fd = memfd_create("fz-front-guest", MFD_CLOEXEC);
	CHECK(g.guest_fd >= 0 && ftruncate(g.guest_fd, GUEST_SZ) == 0);
	for (i = 0; i < MAX_VRINGS; i++) {
		g.kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		g.call_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		CHECK(g.kick_fd[i] >= 0 && g.call_fd[i] >= 0);
	}
	g.ready = true;
}

/* Open fds (names only: see the top). */
static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ----------------------------------------------------------------------------
 * The back-end's side of the socket
 */

static void
framer_feed(struct framer *fr, const uint8_t *p, size_t n)
{
	struct pvb_vu_hdr h;
	size_t k;

	while (n > 0 && !fr->dead) {
		if (fr->left > 0) {
			k = n < fr->left ? n : (size_t)fr->left;
			fr->left -= k;
		} else {
			k = PVB_VU_HDR_SIZE - fr->got;
			k = n < k ? n : k;
			memcpy(fr->hdr + fr->got, p, k);
			fr->got += (uint32_t)k;
			if (fr->got == PVB_VU_HDR_SIZE) {
				memcpy(&h, fr->hdr, sizeof(h));
				fr->got = 0;
				if ((h.flags & PVB_VU_FLAG_VERSION_MASK) != PVB_VU_VERSION ||
				    h.size > PVB_VU_PAYLOAD_MAX)
					fr->dead = true;
				else
					fr->left = h.size;
			}
		}
		p += k;
		n -= k;
	}
}

/* Does the stream end between messages (a read cannot block halfway)? */
static bool
framer_whole(const struct framer *fr)
{
	return fr->dead || (fr->got == 0 && fr->left == 0);
}

/* Bytes the front-end has not read yet. */
static int
pending(void)
{
	int n = 0;

	CHECK(ioctl(g.sp[0], FIONREAD, &n) == 0);
	return n;
}

static int
make_fd(uint8_t k)
{
	int fd;

	switch (k % NB_FDK) {
	case FD_MEMFD:
		fd = memfd_create("fz-front-reply", MFD_CLOEXEC);
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

/* Write @p n bytes with @p nfds fds of the given kinds; the number of fds sent. */
static uint32_t
send_chunk(const void *p, size_t n, const uint8_t *kinds, uint32_t nfds)
{
	union {
		struct cmsghdr c;
		uint8_t b[CMSG_SPACE(sizeof(int) * MAX_SEND_FDS)];
	} cbuf;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)p, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[MAX_SEND_FDS];
	uint32_t i, k = 0;

	if (g.closed || n == 0)
		return 0;
	for (i = 0; i < nfds; i++) {
		fds[k] = make_fd(kinds[i]);
		if (fds[k] >= 0)
			k++;
	}
	if (k > 0) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * k);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * k);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * k);
	}
	CHECK(g.chunks++ < MAX_CHUNKS);
	CHECK(sendmsg(g.sp[1], &mh, MSG_NOSIGNAL) == (ssize_t)n);
	for (i = 0; i < k; i++)
		close(fds[i]);	/* in flight: the socket holds them */
	framer_feed(&g.fr, p, n);
	return k;
}

/* The back-end closes its sending side: the front-end reads the end of the stream. */
static void
close_stream(void)
{
	if (!g.closed)
		CHECK(shutdown(g.sp[1], SHUT_WR) == 0);
	g.closed = true;
}

/* A message with these header fields and @p size bytes of @p payload; the fds sent. */
static uint32_t
send_reply(uint32_t request, uint32_t flags, uint32_t size, const uint8_t *payload,
	   const uint8_t *kinds, uint32_t nfds)
{
	uint8_t b[PVB_VU_HDR_SIZE + PVB_VU_PAYLOAD_MAX];
	struct pvb_vu_hdr h = { request, flags, size };
	size_t n = PVB_VU_HDR_SIZE;

	memcpy(b, &h, sizeof(h));
	/* a size the reader refuses comes without payload: it reads nothing more */
	if ((flags & PVB_VU_FLAG_VERSION_MASK) == PVB_VU_VERSION && size <= PVB_VU_PAYLOAD_MAX) {
		memcpy(b + n, payload, size);
		n += size;
	}
	return send_chunk(b, n, kinds, nfds);
}

/* The payload a good back-end sends for @p c, @p v in it. */
static void
payload_of(const struct call *c, uint64_t v, uint8_t *p)
{
	struct pvb_vu_vring_state s = { c->index, (uint32_t)v };

	memset(p, 0, PVB_VU_PAYLOAD_MAX);
	if (c->request == PVB_VU_GET_VRING_BASE)
		memcpy(p, &s, sizeof(s));
	else
		memcpy(p, &v, sizeof(v));
}

/*
 * Write the reply for call @p c from the input and say what the call must
 * answer, when that is known: the stream held nothing before, and the
 * reply is one whole message without fds.
 */
static struct expect
write_reply(struct in *in, const struct call *c)
{
	uint8_t p[PVB_VU_PAYLOAD_MAX], kinds[MAX_SEND_FDS], kb;
	struct expect e = { .exact = !g.closed && pending() == 0 && framer_whole(&g.fr) };
	uint32_t nfds, i, request, flags, size, index;
	bool own = c->request == PVB_VU_GET_VRING_BASE;
	uint64_t v;
	size_t len;

again:
	/* two writes at most below: the input is over before the socket's buffer is */
	if (in->pos >= in->size || g.chunks + 2 > MAX_CHUNKS) {
		/* the input is over: the back-end goes silent, or away */
		if (!g.silent)
			close_stream();
		e.rc = g.closed ? -ECONNRESET : -ETIMEDOUT;
		goto out;
	}
	request = c->request;
	flags = PVB_VU_VERSION | PVB_VU_FLAG_REPLY;
	size = c->size;
	v = c->good;
	kb = get8(in);
	nfds = 0;
	if (kb & 0x80) {
		nfds = get8(in) % (MAX_SEND_FDS + 1);
		for (i = 0; i < nfds; i++)
			kinds[i] = get8(in);
	}
	payload_of(c, v, p);
	e.rc = 0;
	e.value = v;
	switch ((kb & 0x3f) % NB_KINDS) {
	case R_GOOD:
	case R_GOOD2:
		break;
	case R_VALUE:
		v = get_le(in, 8);
		memcpy(p, &v, sizeof(v));
		if (own) {
			index = (uint32_t)v;
			e.rc = index == c->index ? 0 : -EPROTO;
			e.value = v >> 32;
		} else if (c->request == PVB_VU_GET_FEATURES ||
			   c->request == PVB_VU_GET_PROTOCOL_FEATURES ||
			   c->request == PVB_VU_GET_QUEUE_NUM || c->request == PVB_VU_GET_STATUS ||
			   c->request == PVB_VU_GET_MAX_MEM_SLOTS) {
			e.value = v;
		} else {
			e.rc = v == 0 ? 0 : -EREMOTEIO;	/* an ack: 0 is success */
		}
		break;
	case R_FLAGS:
		flags = (uint32_t)get_le(in, 4);
		if (flags != (PVB_VU_VERSION | PVB_VU_FLAG_REPLY))
			e.rc = -EPROTO;
		break;
	case R_REQUEST:
		request = (uint32_t)get_le(in, 4);
		if (request != c->request)
			e.rc = -EPROTO;
		break;
	case R_SIZE:
		size = (uint32_t)get_le(in, 2);
		len = in->size - in->pos;
		len = len < size ? len : size;
		len = len < sizeof(p) ? len : sizeof(p);
		memset(p, 0, sizeof(p));
		memcpy(p, in->d + in->pos, len);
		in->pos += len;
		if (size != c->size)
			e.rc = -EPROTO;
		else
			e.exact = false;	/* the right size, a payload of the input's */
		break;
	case R_INDEX:
		index = (uint32_t)get_le(in, 4);
		if (own) {
			struct pvb_vu_vring_state s = { index, (uint32_t)v };

			memcpy(p, &s, sizeof(s));
			if (index != c->index)
				e.rc = -EPROTO;
		}
		break;
	case R_RAW:
		len = get8(in);
		len = len < in->size - in->pos ? len : in->size - in->pos;
		send_chunk(in->d + in->pos, len, kinds, nfds);
		in->pos += len;
		e.exact = false;
		goto more;
	case R_NONE:
		e.rc = g.closed ? -ECONNRESET : -ETIMEDOUT;
		goto more;
	default: {	/* R_EXTRA: another request's reply first, then this call's */
		struct call other = *c;

		other.request = c->request == PVB_VU_GET_FEATURES ? PVB_VU_GET_QUEUE_NUM :
				PVB_VU_GET_FEATURES;
		payload_of(&other, 1, p);
		send_reply(other.request, flags, other.size, p, kinds, nfds);
		e.exact = false;
		goto again;
	}
	}
	/* with fds the reply is refused, whatever else it is */
	if (send_reply(request, flags, size, p, kinds, nfds) != 0)
		e.rc = -EPROTO;
more:
	/* bit 6: more bytes before the call reads (a message may be split across writes) */
	if (kb & 0x40) {
		e.exact = false;
		goto again;
	}
out:
	/* a reply cut short would hold a blocking reader: close the stream there */
	if (!framer_whole(&g.fr))
		close_stream();
	return e;
}

/* ----------------------------------------------------------------------------
 * What the front-end sent
 */

struct sent {
	uint32_t request;
	uint32_t size;
	const void *payload;
	uint32_t nfds;
};

/*
 * The one message a call sent (none if @p s is NULL): header, payload and
 * fd count. NEED_REPLY exactly when an ack is awaited.
 */
static void
check_sent(const struct sent *s, bool ack)
{
	struct pvb_vu_msg m;
	int fds[PVB_VU_MAX_FDS];
	uint32_t nfds = 0, i;
	int rc;

	rc = pvb_vu_recv(g.sp[1], &m, fds, &nfds);
	if (s == NULL) {
		CHECK(rc == -EAGAIN);
		return;
	}
	CHECK(rc == 0);
	CHECK(m.hdr.request == s->request && m.hdr.size == s->size);
	CHECK(m.hdr.flags == (PVB_VU_VERSION | (ack ? PVB_VU_FLAG_NEED_REPLY : 0)));
	CHECK(s->size == 0 || memcmp(m.p.bytes, s->payload, s->size) == 0);
	CHECK(nfds == s->nfds);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	/* one message a call */
	CHECK(pvb_vu_recv(g.sp[1], &m, fds, &nfds) == -EAGAIN);
}

/* An answer of the front-end: one the API names, and a reason with any failure. */
static void
check_rc(int rc, const struct expect *e, bool have_value, uint64_t value)
{
	CHECK(rc == 0 || rc == -EPROTO || rc == -ETIMEDOUT || rc == -ECONNRESET ||
	      rc == -EREMOTEIO);
	if (rc != 0)
		CHECK(g.f.error[0] != '\0');
	if (e == NULL || !e->exact)
		return;
	CHECK(rc == e->rc);
	if (rc == 0 && have_value)
		CHECK(value == e->value);
}

/* ----------------------------------------------------------------------------
 * The calls, each with its reply
 */

static bool
acks(void)
{
	return (g.acked_pf & BIT(PVB_VU_PF_REPLY_ACK)) != 0;
}

/* A set under way: whether it waits for an ack, and what the ack written for it says. */
struct pending {
	bool ack;
	struct expect e;
};

/* Before a set of @p request: its ack written when REPLY_ACK is acked, the error cleared. */
static struct pending
before_set(struct in *in, uint32_t request)
{
	struct call c = { .request = request, .size = 8 };
	struct pending p = { .ack = acks() };

	if (p.ack)
		p.e = write_reply(in, &c);
	g.f.error[0] = '\0';
	return p;
}

/* A set: it reads an ack only when REPLY_ACK is acked, and without one it cannot fail. */
static int
after_set(int rc, const struct sent *s, const struct pending *p)
{
	check_sent(s, p->ack);
	check_rc(rc, p->ack ? &p->e : NULL, false, 0);
	CHECK(p->ack || rc == 0);
	return rc;
}

static int
set_u64(struct in *in, uint32_t request, uint64_t v)
{
	bool has = request != PVB_VU_SET_OWNER && request != PVB_VU_RESET_OWNER;
	struct sent s = { request, has ? 8 : 0, &v, 0 };
	struct pending p = before_set(in, request);
	int rc;

	rc = pvb_vu_front_set_u64(&g.f, request, v);
	if (request == PVB_VU_SET_PROTOCOL_FEATURES && rc == 0)
		g.acked_pf = v;
	CHECK(g.f.protocol_features == g.acked_pf);
	return after_set(rc, &s, &p);
}

static int
get_u64(struct in *in, uint32_t request, uint64_t good, uint64_t *v)
{
	struct call c = { .request = request, .size = 8, .good = good };
	struct sent s = { request, 0, NULL, 0 };
	struct expect e = write_reply(in, &c);
	int rc;

	*v = ~0ull;
	g.f.error[0] = '\0';
	rc = pvb_vu_front_get_u64(&g.f, request, v);
	check_sent(&s, false);
	check_rc(rc, &e, true, *v);
	return rc;
}

static int
set_state(struct in *in, uint32_t request, uint32_t index, uint32_t num)
{
	struct pvb_vu_vring_state st = { index, num };
	struct sent s = { request, sizeof(st), &st, 0 };
	struct pending p;
	int rc;

	p = before_set(in, request);
	rc = pvb_vu_front_set_vring_state(&g.f, request, index, num);
	return after_set(rc, &s, &p);
}

static int
set_addr(struct in *in, uint32_t index)
{
	struct pvb_vu_vring_addr a = { .index = index, .desc = 0x7f0000000000ull + index * 0x1000,
				       .used = 0x7f0000000800ull + index * 0x1000,
				       .avail = 0x7f0000000400ull + index * 0x1000 };
	struct sent s = { PVB_VU_SET_VRING_ADDR, sizeof(a), &a, 0 };
	struct pending p;
	int rc;

	p = before_set(in, PVB_VU_SET_VRING_ADDR);
	rc = pvb_vu_front_set_vring_addr(&g.f, &a);
	return after_set(rc, &s, &p);
}

static int
set_fd(struct in *in, uint32_t request, uint32_t index, int fd)
{
	uint64_t v = index | (fd < 0 ? PVB_VU_VRING_NOFD : 0);
	struct sent s = { request, 8, &v, fd < 0 ? 0 : 1 };
	struct pending p;
	int rc;

	p = before_set(in, request);
	rc = pvb_vu_front_set_vring_fd(&g.f, request, index, fd);
	return after_set(rc, &s, &p);
}

static int
set_mem_table(struct in *in, uint32_t n)
{
	struct pvb_vu_region r[2] = {
		{ .gpa = 0x100000, .size = GUEST_SZ / 2, .uva = 0x7f0000000000ull },
		{ .gpa = 0x200000, .size = GUEST_SZ / 2, .uva = 0x7f0000100000ull,
		  .mmap_offset = GUEST_SZ / 2 },
	};
	int fds[2] = { g.guest_fd, g.guest_fd };
	struct pvb_vu_memory mt = { .nregions = n };
	struct sent s = { PVB_VU_SET_MEM_TABLE, (uint32_t)(8 + 32 * n), &mt, n };
	struct pending p;
	int rc;

	memcpy(mt.r, r, n * sizeof(r[0]));
	p = before_set(in, PVB_VU_SET_MEM_TABLE);
	rc = pvb_vu_front_set_mem_table(&g.f, r, fds, n);
	return after_set(rc, &s, &p);
}

static int
get_vring_base(struct in *in, uint32_t index)
{
	struct pvb_vu_vring_state st = { index, 0 };
	struct call c = { .request = PVB_VU_GET_VRING_BASE, .size = 8, .index = index,
			  .good = 100 + index };
	struct sent s = { PVB_VU_GET_VRING_BASE, sizeof(st), &st, 0 };
	struct expect e = write_reply(in, &c);
	uint32_t num = ~0u;
	int rc;

	g.f.error[0] = '\0';
	rc = pvb_vu_front_get_vring_base(&g.f, index, &num);
	check_sent(&s, false);
	check_rc(rc, &e, true, num);
	return rc;
}

/* Calls refused for their arguments: -EINVAL with a reason, nothing sent. */
static void
bad_arguments(void)
{
	struct pvb_vu_region r = { .size = 1 };
	int fds[PVB_VU_MAX_REGIONS + 1] = { 0 };
	uint64_t v;

#define REFUSED(call) do { g.f.error[0] = '\0'; CHECK((call) == -EINVAL); \
	CHECK(g.f.error[0] != '\0'); check_sent(NULL, false); } while (0)
	REFUSED(pvb_vu_front_get_u64(&g.f, PVB_VU_SET_FEATURES, &v));
	REFUSED(pvb_vu_front_get_u64(&g.f, PVB_VU_GET_FEATURES, NULL));
	REFUSED(pvb_vu_front_set_u64(&g.f, PVB_VU_GET_FEATURES, 1));
	REFUSED(pvb_vu_front_set_mem_table(&g.f, &r, fds, 0));
	REFUSED(pvb_vu_front_set_mem_table(&g.f, &r, fds, PVB_VU_MAX_REGIONS + 1));
	REFUSED(pvb_vu_front_set_mem_table(&g.f, NULL, fds, 1));
	REFUSED(pvb_vu_front_set_vring_state(&g.f, PVB_VU_GET_VRING_BASE, 0, 0));
	REFUSED(pvb_vu_front_get_vring_base(&g.f, 0, NULL));
	REFUSED(pvb_vu_front_set_vring_addr(&g.f, NULL));
	REFUSED(pvb_vu_front_set_vring_fd(&g.f, PVB_VU_SET_VRING_NUM, 0, -1));
	REFUSED(pvb_vu_front_set_vring_fd(&g.f, PVB_VU_SET_VRING_CALL,
					  PVB_VU_VRING_IDX_MASK + 1, -1));
#undef REFUSED
}

/*
 * The session of net_pvb_virtio's virtio_setup(), then GET_VRING_BASE of
 * each vring (virtio_end()): stops at the first failure, as the PMD closes
 * the connection then. Protocol features are asked for whenever offered,
 * whatever else the features say, so replies reach every call.
 */
static void
session(struct in *in, uint8_t mode)
{
	uint32_t queues = mode & 1 ? 2 : 1, nr = 2 * queues, i;
	uint64_t offered, features, pf = 0, nq, status;

	if (set_u64(in, PVB_VU_SET_OWNER, 0) != 0 ||
	    get_u64(in, PVB_VU_GET_FEATURES, ALL_FEATURES, &offered) != 0)
		return;
	features = offered & (ALL_FEATURES & ~(queues > 1 ? 0 : BIT(PVB_VIRTIO_NET_F_MQ)));
	if (features & BIT(PVB_VHOST_USER_F_PROTOCOL_FEATURES)) {
		if (get_u64(in, PVB_VU_GET_PROTOCOL_FEATURES, ALL_PF, &pf) != 0)
			return;
		/* not acked itself: what was acked before it counts */
		if (set_u64(in, PVB_VU_SET_PROTOCOL_FEATURES, pf & PF_WANTED) != 0)
			return;
		pf &= PF_WANTED;
	}
	if (queues > 1 && get_u64(in, PVB_VU_GET_QUEUE_NUM, 8, &nq) != 0)
		return;
	if (set_u64(in, PVB_VU_SET_FEATURES, features) != 0)
		return;
	if ((pf & BIT(PVB_VU_PF_STATUS)) && set_u64(in, PVB_VU_SET_STATUS, STATUS_FEATURES) != 0)
		return;
	if (set_mem_table(in, mode & 4 ? 2 : 1) != 0)
		return;
	for (i = 0; i < nr; i++)
		if (set_fd(in, PVB_VU_SET_VRING_CALL, i, mode & 8 ? -1 : g.call_fd[i]) != 0)
			return;
	for (i = 0; i < nr; i++)
		if (set_state(in, PVB_VU_SET_VRING_NUM, i, 256) != 0 ||
		    set_state(in, PVB_VU_SET_VRING_BASE, i, 0) != 0 ||
		    set_addr(in, i) != 0 ||
		    set_fd(in, PVB_VU_SET_VRING_KICK, i, g.kick_fd[i]) != 0)
			return;
	if (features & BIT(PVB_VHOST_USER_F_PROTOCOL_FEATURES))
		for (i = 0; i < nr; i++)
			if (set_state(in, PVB_VU_SET_VRING_ENABLE, i, 1) != 0)
				return;
	if (pf & BIT(PVB_VU_PF_STATUS)) {
		if (set_u64(in, PVB_VU_SET_STATUS,
			    STATUS_FEATURES | PVB_VIRTIO_STATUS_DRIVER_OK) != 0 ||
		    get_u64(in, PVB_VU_GET_STATUS, STATUS_FEATURES | PVB_VIRTIO_STATUS_DRIVER_OK,
			    &status) != 0)
			return;
	}
	if (get_u64(in, PVB_VU_GET_MAX_MEM_SLOTS, PVB_VU_MAX_REGIONS, &nq) != 0 ||
	    set_u64(in, PVB_VU_NET_SET_MTU, 1500) != 0)
		return;
	for (i = 0; i < nr; i++)
		if (get_vring_base(in, i) != 0)
			return;
	set_u64(in, PVB_VU_RESET_OWNER, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size, 0 };
	uint8_t mode;
	int fl, fds_before;

	if (!g.ready)
		setup_once();
	fds_before = count_fds();
	mode = get8(&in);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g.sp) == 0);
	/* the harness's end never blocks: it sends a few hundred bytes, reads what arrived */
	fl = fcntl(g.sp[1], F_GETFL);
	CHECK(fl >= 0 && fcntl(g.sp[1], F_SETFL, fl | O_NONBLOCK) == 0);
	g.closed = false;
	g.chunks = 0;
	g.silent = (mode & 2) != 0;
	memset(&g.fr, 0, sizeof(g.fr));
	g.acked_pf = 0;
	pvb_vu_front_init(&g.f, g.sp[0], TIMEOUT_MS);
	CHECK(g.f.sock == g.sp[0] && g.f.protocol_features == 0);
	bad_arguments();
	session(&in, mode);
	/* the connection closes: whatever is still in flight goes with it */
	close(g.sp[0]);
	close(g.sp[1]);
	CHECK(count_fds() == fds_before);
	return 0;
}
