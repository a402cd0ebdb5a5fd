/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Channel control protocol: message codec (pvb_chan_wire.h), socket set-up,
 * and the host and guest state machines. Every byte and fd a peer sends
 * goes through pvb_chan_decode() first; the state machines only see
 * messages that are well formed, and refuse those that come out of order.
 */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pvb_chan.h"
#include "pvb_chan_wire.h"
#include "pvb_shm.h"

#define MAX_ERRNO	4095	/* a status is 0 or one of -1 .. -MAX_ERRNO */
#define LISTEN_BACKLOG	4

_Static_assert(PVB_CHAN_WIRE_GPADLS == PVB_CHAN_MAX_GPADL, "GPADL slots");
_Static_assert(PVB_CHAN_WIRE_REASON == PVB_CHAN_REASON_LEN, "reason length");
_Static_assert(PVB_CHAN_WIRE_OPEN_FDS == PVB_CHAN_OPEN_FDS, "OPEN fd count");
_Static_assert(PVB_CHAN_WIRE_OPEN_FDS <= PVB_SHM_MAX_FDS, "lib/shm carries the OPEN fds");
_Static_assert(PVB_CHAN_WIRE_OFFER == PVB_CHAN_OFFER && PVB_CHAN_WIRE_OPEN == PVB_CHAN_OPEN &&
	       PVB_CHAN_WIRE_OPEN_RESULT == PVB_CHAN_OPEN_RESULT &&
	       PVB_CHAN_WIRE_CLOSE == PVB_CHAN_CLOSE &&
	       PVB_CHAN_WIRE_RESCIND == PVB_CHAN_RESCIND && PVB_CHAN_WIRE_ERROR == PVB_CHAN_ERROR,
	       "wire type numbers are the API's");

/* Any message, as it sits on the wire. */
union wire {
	struct pvb_chan_wire_hdr hdr;
	struct pvb_chan_wire_offer offer;
	struct pvb_chan_wire_open open;
	struct pvb_chan_wire_result result;
	struct pvb_chan_wire_close close;
};

static void
msg_init(struct pvb_chan_msg *m, uint16_t type)
{
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->type = type;
	for (i = 0; i < PVB_CHAN_OPEN_FDS; i++)
		m->fds[i] = -1;
}

static bool
status_ok(int32_t status)
{
	return status <= 0 && status >= -MAX_ERRNO;
}

/* @dst (PVB_CHAN_REASON_LEN) = @src cut to fit, zero-filled; "" for NULL. */
static void
reason_copy(char *dst, const char *src)
{
	size_t n = src == NULL ? 0 : strnlen(src, PVB_CHAN_REASON_LEN - 1);

	memset(dst, 0, PVB_CHAN_REASON_LEN);
	if (n > 0)
		memcpy(dst, src, n);
}

/* ---- encode ------------------------------------------------------------- */

static void
hdr_put(struct pvb_chan_wire_hdr *h, uint16_t type)
{
	h->magic = htole32(PVB_CHAN_MAGIC);
	h->version = htole16(PVB_CHAN_VERSION);
	h->type = htole16(type);
	h->len = htole32(pvb_chan_wire_len(type));
	h->reserved = 0;
}

static void
encode_offer(const struct pvb_chan_offer *o, struct pvb_chan_wire_offer *w)
{
	w->chan_id = htole32(o->chan_id);
	w->mtu = htole32(o->mtu);
	memcpy(w->mac, o->mac, sizeof(w->mac));
	w->max_ring_bytes = htole32(o->max_ring_bytes);
	w->max_region_bytes = htole64(o->max_region_bytes);
}

static void
encode_ring(const struct pvb_chan_ring *r, struct pvb_chan_wire_ring *w)
{
	w->offset = htole64(r->offset);
	w->size = htole32(r->size);
}

static int
encode_open(const struct pvb_chan_open *o, struct pvb_chan_wire_open *w)
{
	uint32_t i;

	if (o->n_gpadl > PVB_CHAN_MAX_GPADL)
		return -EINVAL;
	w->chan_id = htole32(o->chan_id);
	w->n_gpadl = htole32(o->n_gpadl);
	w->region_size = htole64(o->region_size);
	encode_ring(&o->tx, &w->tx);
	encode_ring(&o->rx, &w->rx);
	/* slots from n_gpadl on stay zero, whatever the caller left in them */
	for (i = 0; i < o->n_gpadl; i++) {
		w->gpadl[i].id = htole32(o->gpadl[i].id);
		w->gpadl[i].offset = htole64(o->gpadl[i].offset);
		w->gpadl[i].size = htole64(o->gpadl[i].size);
	}
	return 0;
}

/* Refuses what decode would refuse, so that we never send what we would not take. */
static int
encode_result(const struct pvb_chan_msg *m, struct pvb_chan_wire_result *w)
{
	int32_t status = m->u.result.status;

	if (!status_ok(status) || (m->type == PVB_CHAN_ERROR && status == 0) ||
	    memchr(m->u.result.reason, '\0', PVB_CHAN_REASON_LEN) == NULL)
		return -EINVAL;
	w->status = (int32_t)htole32((uint32_t)status);
	/* up to the NUL only: bytes after it would leak our memory to the peer */
	reason_copy(w->reason, m->u.result.reason);
	return 0;
}

int
pvb_chan_encode(const struct pvb_chan_msg *m, void *buf, size_t cap)
{
	uint32_t len;
	union wire w;
	int r = 0;

	if (m == NULL || (buf == NULL && cap > 0))
		return -EINVAL;
	len = pvb_chan_wire_len(m->type);
	if (len == 0)
		return -EINVAL;
	if (cap < len)
		return -EMSGSIZE;
	memset(&w, 0, sizeof(w));
	hdr_put(&w.hdr, m->type);
	switch (m->type) {
	case PVB_CHAN_OFFER:
		encode_offer(&m->u.offer, &w.offer);
		break;
	case PVB_CHAN_OPEN:
		r = encode_open(&m->u.open, &w.open);
		break;
	case PVB_CHAN_OPEN_RESULT:
	case PVB_CHAN_ERROR:
		r = encode_result(m, &w.result);
		break;
	default:	/* CLOSE, RESCIND */
		w.close.chan_id = htole32(m->u.close.chan_id);
		break;
	}
	if (r != 0)
		return r;
	memcpy(buf, &w, len);
	return (int)len;
}

/* ---- decode ------------------------------------------------------------- */

/*
 * The header of @len bytes at @buf, checked for framing: afterwards the
 * message is exactly pvb_chan_wire_len() of its type and fits union wire.
 */
static int
decode_hdr(const void *buf, size_t len, uint16_t *type, const char **why)
{
	struct pvb_chan_wire_hdr h;
	uint32_t want;

	if (len < sizeof(h)) {
		*why = "message shorter than the header";
		return -EPROTO;
	}
	memcpy(&h, buf, sizeof(h));
	*type = le16toh(h.type);
	want = pvb_chan_wire_len(*type);
	if (le32toh(h.magic) != PVB_CHAN_MAGIC)
		*why = "bad magic";
	else if (le16toh(h.version) != PVB_CHAN_VERSION)
		*why = "version mismatch";
	else if (h.reserved != 0)
		*why = "reserved header field not zero";
	else if (want == 0)
		*why = "unknown message type";
	else if (le32toh(h.len) != len)
		*why = "length field does not match the message";
	else if (len != want)
		*why = "wrong length for the message type";
	else
		return 0;
	return -EPROTO;
}

static int
decode_offer(const struct pvb_chan_wire_offer *w, struct pvb_chan_offer *o, const char **why)
{
	if (w->pad0[0] != 0 || w->pad0[1] != 0 || w->pad1 != 0) {
		*why = "padding not zero";
		return -EPROTO;
	}
	o->chan_id = le32toh(w->chan_id);
	o->mtu = le32toh(w->mtu);
	memcpy(o->mac, w->mac, sizeof(o->mac));
	o->max_ring_bytes = le32toh(w->max_ring_bytes);
	o->max_region_bytes = le64toh(w->max_region_bytes);
	return 0;
}

static void
decode_ring(const struct pvb_chan_wire_ring *w, struct pvb_chan_ring *r)
{
	r->offset = le64toh(w->offset);
	r->size = le32toh(w->size);
}

static bool
gpadl_slot_zero(const struct pvb_chan_wire_gpadl *g)
{
	return g->id == 0 && g->pad == 0 && g->offset == 0 && g->size == 0;
}

static int
decode_open(const struct pvb_chan_wire_open *w, struct pvb_chan_open *o, const char **why)
{
	uint32_t n = le32toh(w->n_gpadl), i;

	if (n > PVB_CHAN_MAX_GPADL) {
		*why = "too many GPADLs";
		return -EPROTO;
	}
	if (w->tx.pad != 0 || w->rx.pad != 0)
		goto pad;
	for (i = 0; i < PVB_CHAN_MAX_GPADL; i++) {
		if (i >= n && !gpadl_slot_zero(&w->gpadl[i])) {
			*why = "unused GPADL slot not zero";
			return -EPROTO;
		}
		if (w->gpadl[i].pad != 0)
			goto pad;
		o->gpadl[i].id = le32toh(w->gpadl[i].id);
		o->gpadl[i].offset = le64toh(w->gpadl[i].offset);
		o->gpadl[i].size = le64toh(w->gpadl[i].size);
	}
	o->chan_id = le32toh(w->chan_id);
	o->n_gpadl = n;
	o->region_size = le64toh(w->region_size);
	decode_ring(&w->tx, &o->tx);
	decode_ring(&w->rx, &o->rx);
	return 0;
pad:
	*why = "padding not zero";
	return -EPROTO;
}

static int
decode_result(const struct pvb_chan_wire_result *w, struct pvb_chan_msg *m, const char **why)
{
	int32_t status = (int32_t)le32toh((uint32_t)w->status);

	if (w->pad != 0)
		*why = "padding not zero";
	else if (memchr(w->reason, '\0', sizeof(w->reason)) == NULL)
		*why = "reason not NUL-terminated";
	else if (!status_ok(status) || (m->type == PVB_CHAN_ERROR && status == 0))
		*why = "status not 0 or a negative errno";
	else {
		m->u.result.status = status;
		memcpy(m->u.result.reason, w->reason, sizeof(w->reason));
		return 0;
	}
	return -EPROTO;
}

static int
decode_body(const union wire *w, struct pvb_chan_msg *m, const char **why)
{
	switch (m->type) {
	case PVB_CHAN_OFFER:
		return decode_offer(&w->offer, &m->u.offer, why);
	case PVB_CHAN_OPEN:
		return decode_open(&w->open, &m->u.open, why);
	case PVB_CHAN_OPEN_RESULT:
	case PVB_CHAN_ERROR:
		return decode_result(&w->result, m, why);
	}
	/* CLOSE, RESCIND: decode_hdr let no other type through */
	if (w->close.pad != 0) {
		*why = "padding not zero";
		return -EPROTO;
	}
	m->u.close.chan_id = le32toh(w->close.chan_id);
	return 0;
}

int
pvb_chan_decode(const void *buf, size_t len, const int *fds, unsigned int nfds,
		struct pvb_chan_msg *m, const char **why)
{
	struct pvb_chan_msg out;
	const char *unused;
	uint16_t type = 0;
	union wire w;
	unsigned int i;
	int r;

	if (why == NULL)
		why = &unused;
	*why = "bad arguments";
	if (m == NULL || (buf == NULL && len > 0) || (fds == NULL && nfds > 0))
		return -EINVAL;
	r = decode_hdr(buf, len, &type, why);
	if (r != 0)
		return r;
	if (nfds != pvb_chan_wire_nfds(type)) {
		*why = "wrong number of fds for the message type";
		return -EPROTO;
	}
	memcpy(&w, buf, len);	/* len is the type's exact length, <= sizeof(w) */
	msg_init(&out, type);
	r = decode_body(&w, &out, why);
	if (r != 0)
		return r;
	for (i = 0; i < nfds; i++)
		out.fds[i] = fds[i];
	out.nfds = nfds;
	*why = NULL;
	*m = out;
	return 0;
}

/* ---- OPEN against the offer --------------------------------------------- */

static bool
page_aligned(uint64_t v)
{
	return v % PVB_CHAN_PAGE == 0;
}

/* [off, off + size) inside [0, region), written so that nothing overflows. */
static bool
range_inside(uint64_t off, uint64_t size, uint64_t region)
{
	return off <= region && size <= region - off;
}

/* Both ranges are inside the region, so their ends do not overflow. */
static bool
ranges_overlap(uint64_t a_off, uint64_t a_size, uint64_t b_off, uint64_t b_size)
{
	return a_off < b_off + b_size && b_off < a_off + a_size;
}

/* Reasons per direction: index 0 tx, 1 rx. */
static const char *const ring_why[][5] = {
	{ "tx ring offset not page aligned", "tx ring size not a multiple of 4096",
	  "tx ring smaller than 8192", "tx ring larger than the offer allows",
	  "tx ring outside the region" },
	{ "rx ring offset not page aligned", "rx ring size not a multiple of 4096",
	  "rx ring smaller than 8192", "rx ring larger than the offer allows",
	  "rx ring outside the region" },
};

static int
ring_check(const struct pvb_chan_ring *r, unsigned int dir, uint64_t region,
	   uint32_t max_ring, const char **why)
{
	int k;

	if (!page_aligned(r->offset))
		k = 0;
	else if (!page_aligned(r->size))
		k = 1;
	else if (r->size < PVB_CHAN_RING_MIN)
		k = 2;
	else if (r->size > max_ring)
		k = 3;
	else if (!range_inside(r->offset, r->size, region))
		k = 4;
	else
		return 0;
	*why = ring_why[dir][k];
	return -EINVAL;
}

static int
gpadl_check(const struct pvb_chan_open *o, uint32_t i, const char **why)
{
	const struct pvb_chan_gpadl *g = &o->gpadl[i];
	uint32_t j;

	if (g->id == 0)
		*why = "GPADL id zero";
	else if (!page_aligned(g->offset))
		*why = "GPADL offset not page aligned";
	else if (g->size == 0 || !page_aligned(g->size))
		*why = "GPADL size zero or not a multiple of 4096";
	else if (!range_inside(g->offset, g->size, o->region_size))
		*why = "GPADL outside the region";
	else if (ranges_overlap(g->offset, g->size, o->tx.offset, o->tx.size) ||
		 ranges_overlap(g->offset, g->size, o->rx.offset, o->rx.size))
		*why = "GPADL overlaps a ring";
	else
		*why = NULL;
	for (j = 0; *why == NULL && j < i; j++)
		if (o->gpadl[j].id == g->id)
			*why = "GPADL id not unique";
	return *why == NULL ? 0 : -EINVAL;
}

int
pvb_chan_open_check(const struct pvb_chan_open *o, const struct pvb_chan_offer *offer,
		    const char **why)
{
	const char *unused;
	uint32_t i;
	int r;

	if (why == NULL)
		why = &unused;
	*why = "bad arguments";
	if (o == NULL || offer == NULL)
		return -EINVAL;
	if (o->chan_id != offer->chan_id)
		*why = "chan id does not match the offer";
	else if (o->region_size == 0 || !page_aligned(o->region_size))
		*why = "region size zero or not a multiple of 4096";
	else if (o->region_size > offer->max_region_bytes)
		*why = "region larger than the offer allows";
	else if (o->n_gpadl > PVB_CHAN_MAX_GPADL)
		*why = "too many GPADLs";
	else
		*why = NULL;
	if (*why != NULL)
		return -EINVAL;
	r = ring_check(&o->tx, 0, o->region_size, offer->max_ring_bytes, why);
	if (r == 0)
		r = ring_check(&o->rx, 1, o->region_size, offer->max_ring_bytes, why);
	if (r == 0 && ranges_overlap(o->tx.offset, o->tx.size, o->rx.offset, o->rx.size)) {
		*why = "tx and rx rings overlap";
		r = -EINVAL;
	}
	for (i = 0; r == 0 && i < o->n_gpadl; i++)
		r = gpadl_check(o, i, why);
	return r;
}

const struct pvb_chan_gpadl *
pvb_chan_gpadl_find(const struct pvb_chan_open *o, uint32_t id)
{
	uint32_t i, n;

	if (o == NULL || id == 0)
		return NULL;
	n = o->n_gpadl < PVB_CHAN_MAX_GPADL ? o->n_gpadl : PVB_CHAN_MAX_GPADL;
	for (i = 0; i < n; i++)
		if (o->gpadl[i].id == id)
			return &o->gpadl[i];
	return NULL;
}

/* ---- messages over the socket ------------------------------------------- */

int
pvb_chan_send(int sock, const struct pvb_chan_msg *m)
{
	uint8_t buf[PVB_CHAN_WIRE_MAX];
	unsigned int nfds, i;
	int len;

	len = pvb_chan_encode(m, buf, sizeof(buf));
	if (len < 0)
		return len;
	/* the fd count follows the type; m->nfds is what a receiver learnt */
	nfds = pvb_chan_wire_nfds(m->type);
	for (i = 0; i < nfds; i++)
		if (m->fds[i] < 0)
			return -EBADF;
	return pvb_shm_send_fds(sock, buf, (size_t)len, m->fds, nfds);
}

int
pvb_chan_recv(int sock, struct pvb_chan_msg *m, const char **why)
{
	/* one byte more than the largest message: an oversized one cannot pass as fitting */
	uint8_t buf[PVB_CHAN_WIRE_MAX + 1];
	int fds[PVB_SHM_MAX_FDS];
	unsigned int nfds = 0;
	const char *w = NULL;
	ssize_t n;
	int r;

	if (why == NULL)
		why = &w;
	*why = NULL;
	if (m == NULL)
		return -EINVAL;
	n = pvb_shm_recv_fds(sock, buf, sizeof(buf), fds, PVB_SHM_MAX_FDS, &nfds);
	if (n == -EMSGSIZE) {
		/* lib/shm closed whatever fds did arrive */
		*why = "message or its fds truncated";
		goto refuse;
	}
	if (n < 0) {
		if (n == -ECONNRESET)
			*why = "peer closed the connection";
		else if (n != -EAGAIN)
			*why = "receive failed";
		return (int)n;
	}
	if (nfds > PVB_SHM_MAX_FDS)	/* lib/shm promises not; cheap to hold it to that */
		nfds = PVB_SHM_MAX_FDS;
	r = pvb_chan_decode(buf, (size_t)n, fds, nfds, m, why);
	if (r == 0)
		return 0;
	pvb_shm_close_fds(fds, nfds);
refuse:
	pvb_chan_send_error(sock, -EPROTO, *why);
	return -EPROTO;
}

/* An OPEN_RESULT or ERROR. A status ERROR cannot carry becomes -EPROTO. */
static int
send_result(int sock, uint16_t type, int status, const char *reason)
{
	struct pvb_chan_msg m;

	msg_init(&m, type);
	if (type == PVB_CHAN_ERROR && (status == 0 || !status_ok(status)))
		status = -EPROTO;
	m.u.result.status = status;
	reason_copy(m.u.result.reason, reason);
	return pvb_chan_send(sock, &m);
}

void
pvb_chan_send_error(int sock, int status, const char *reason)
{
	(void)send_result(sock, PVB_CHAN_ERROR, status, reason);
}

static int
send_close(int sock, uint16_t type, uint32_t chan_id)
{
	struct pvb_chan_msg m;

	msg_init(&m, type);
	m.u.close.chan_id = chan_id;
	return pvb_chan_send(sock, &m);
}

void
pvb_chan_msg_release(struct pvb_chan_msg *m)
{
	unsigned int i;

	/*
	 * Only an OPEN holds fds: a zeroed message (type 0, fds 0) must not
	 * close stdin.
	 */
	if (m == NULL || m->type != PVB_CHAN_OPEN)
		return;
	for (i = 0; i < PVB_CHAN_OPEN_FDS; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

/* ---- sockets ------------------------------------------------------------ */

static int
addr_fill(struct sockaddr_un *sa, const char *path)
{
	size_t n;

	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	n = strlen(path);
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/*
 * A socket file at @sa that nobody listens on is stale: a listener that died
 * without unlinking it. Only a socket file is ever called stale, so a
 * mistyped path never removes somebody's regular file.
 */
static bool
addr_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, err;

	if (lstat(sa->sun_path, &st) != 0)
		return errno == ENOENT;	/* gone meanwhile: bind may try again */
	if (!S_ISSOCK(st.st_mode))
		return false;
	/* non-blocking: a live listener with a full backlog answers EAGAIN */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	err = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? 0 : errno;
	close(fd);
	return err == ECONNREFUSED || err == ENOENT;
}

static int
bind_or_replace(int fd, const struct sockaddr_un *sa)
{
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return 0;
	if (errno != EADDRINUSE)
		return -errno;
	if (!addr_stale(sa))
		return -EADDRINUSE;
	if (unlink(sa->sun_path) != 0 && errno != ENOENT)
		return -errno;
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return 0;
	return -errno;
}

int
pvb_chan_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, r;

	r = addr_fill(&sa, path);
	if (r != 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = bind_or_replace(fd, &sa);
	if (r != 0)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		r = -errno;
		unlink(sa.sun_path);	/* ours: bound a moment ago */
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

int
pvb_chan_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd >= 0)
		return fd;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

int
pvb_chan_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, fl, r;

	r = addr_fill(&sa, path);
	if (r != 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * Blocking: a unix connect completes at once or fails, except that it
	 * waits while the listener's backlog is full.
	 */
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		goto fail;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

/* ---- the fds of an OPEN --------------------------------------------------- */

/*
 * A doorbell must be an eventfd: writing to a pipe the guest never drains
 * would block the polling thread, and to a file would fill a disk.
 */
static bool
is_eventfd(int fd)
{
	static const char want[] = "anon_inode:[eventfd]";
	char path[40], link[sizeof(want) + 1];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	return n == (ssize_t)(sizeof(want) - 1) && memcmp(link, want, sizeof(want) - 1) == 0;
}

static int
open_fds_check(const struct pvb_chan_msg *m, const char **why)
{
	uint64_t size = m->u.open.region_size;
	int r;

	if (size > SIZE_MAX) {
		*why = "region larger than this host can map";
		return -EINVAL;
	}
	r = pvb_shm_check_fd(m->fds[PVB_CHAN_FD_REGION], (size_t)size);
	if (r == -EPERM)
		*why = "region fd not sealed against shrink and grow";
	else if (r == -EMSGSIZE)
		*why = "region fd smaller than region_size";
	else if (r != 0)
		*why = "region fd unusable";
	else if (!is_eventfd(m->fds[PVB_CHAN_FD_HOST_BELL]) ||
		 !is_eventfd(m->fds[PVB_CHAN_FD_GUEST_BELL])) {
		*why = "doorbell fd not an eventfd";
		r = -EBADF;
	}
	return r;
}

/* ---- host state machine --------------------------------------------------- */

static void
host_shut(struct pvb_chan_host *h, int status, const char *why)
{
	pvb_chan_msg_release(&h->msg);
	if (h->sock >= 0)
		close(h->sock);
	h->sock = -1;
	h->state = PVB_CHAN_H_CLOSED;
	h->status = status;
	h->why = why;
}

/* A protocol error: tell the guest why, then close. */
static enum pvb_chan_event
host_fail(struct pvb_chan_host *h, const char *why)
{
	pvb_chan_send_error(h->sock, -EPROTO, why);
	host_shut(h, -EPROTO, why);
	return PVB_CHAN_EV_CLOSED;
}

int
pvb_chan_host_start(struct pvb_chan_host *h, int sock, const struct pvb_chan_offer *offer)
{
	struct pvb_chan_msg m;
	int r;

	if (h == NULL || sock < 0 || offer == NULL)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	msg_init(&h->msg, 0);
	h->sock = sock;		/* ours from here on, closed on failure too */
	h->offer = *offer;
	msg_init(&m, PVB_CHAN_OFFER);
	m.u.offer = *offer;
	r = pvb_chan_send(sock, &m);
	if (r != 0) {
		host_shut(h, r, "OFFER not sent");
		return r;
	}
	h->state = PVB_CHAN_H_OFFERED;
	return 0;
}

/*
 * A well-formed OPEN in OFFERED. One that does not fit the offer is
 * answered with a failed OPEN_RESULT and the offer stands: the guest may
 * try again with another layout.
 */
static enum pvb_chan_event
host_on_open(struct pvb_chan_host *h, struct pvb_chan_msg *m)
{
	const char *why = NULL;
	int r;

	r = pvb_chan_open_check(&m->u.open, &h->offer, &why);
	if (r == 0)
		r = open_fds_check(m, &why);
	if (r == 0) {
		h->msg = *m;
		h->state = PVB_CHAN_H_OPENING;
		return PVB_CHAN_EV_OPEN;
	}
	pvb_chan_msg_release(m);
	r = send_result(h->sock, PVB_CHAN_OPEN_RESULT, r, why);
	if (r != 0) {
		host_shut(h, r, "OPEN_RESULT not sent");
		return PVB_CHAN_EV_CLOSED;
	}
	return PVB_CHAN_EV_NONE;
}

static enum pvb_chan_event
host_dispatch(struct pvb_chan_host *h, struct pvb_chan_msg *m)
{
	const char *why = "message out of order";

	switch (m->type) {
	case PVB_CHAN_OPEN:
		if (h->state == PVB_CHAN_H_OFFERED)
			return host_on_open(h, m);
		break;
	case PVB_CHAN_CLOSE:
		if (m->u.close.chan_id == h->offer.chan_id) {
			host_shut(h, 0, "closed by guest");
			return PVB_CHAN_EV_CLOSED;
		}
		why = "CLOSE for another channel";
		break;
	case PVB_CHAN_ERROR:
		host_shut(h, m->u.result.status, "error from guest");
		return PVB_CHAN_EV_CLOSED;
	}
	pvb_chan_msg_release(m);
	return host_fail(h, why);
}

enum pvb_chan_event
pvb_chan_host_poll(struct pvb_chan_host *h)
{
	struct pvb_chan_msg m;
	const char *why = NULL;
	int r;

	if (h == NULL || (h->state != PVB_CHAN_H_OFFERED && h->state != PVB_CHAN_H_OPENING &&
			  h->state != PVB_CHAN_H_OPEN))
		return PVB_CHAN_EV_NONE;
	r = pvb_chan_recv(h->sock, &m, &why);
	if (r == -EAGAIN || r == -EINTR)
		return PVB_CHAN_EV_NONE;
	if (r == -ECONNRESET)
		why = "guest gone";
	if (r < 0) {
		/* on -EPROTO pvb_chan_recv() has sent the ERROR */
		host_shut(h, r, why != NULL ? why : "receive failed");
		return PVB_CHAN_EV_CLOSED;
	}
	return host_dispatch(h, &m);
}

int
pvb_chan_host_accept(struct pvb_chan_host *h)
{
	unsigned int i;
	int r;

	if (h == NULL || h->state != PVB_CHAN_H_OPENING)
		return -EINVAL;
	r = send_result(h->sock, PVB_CHAN_OPEN_RESULT, 0, "");
	if (r != 0)
		return r;	/* nothing changed: retry, or close (which releases the fds) */
	for (i = 0; i < PVB_CHAN_OPEN_FDS; i++)
		h->msg.fds[i] = -1;	/* the caller's now */
	h->msg.nfds = 0;
	h->state = PVB_CHAN_H_OPEN;
	return 0;
}

int
pvb_chan_host_refuse(struct pvb_chan_host *h, int status, const char *reason)
{
	if (h == NULL || h->state != PVB_CHAN_H_OPENING || status == 0 || !status_ok(status))
		return -EINVAL;
	/* the fds go and the offer stands even if the guest is gone: poll will see it */
	pvb_chan_msg_release(&h->msg);
	h->state = PVB_CHAN_H_OFFERED;
	return send_result(h->sock, PVB_CHAN_OPEN_RESULT, status, reason);
}

void
pvb_chan_host_close(struct pvb_chan_host *h, bool rescind)
{
	/* IDLE: never started, so nothing in h is ours (a zeroed sock is 0) */
	if (h == NULL || h->state == PVB_CHAN_H_IDLE || h->state == PVB_CHAN_H_CLOSED)
		return;
	if (h->state == PVB_CHAN_H_OPEN)
		(void)send_close(h->sock, rescind ? PVB_CHAN_RESCIND : PVB_CHAN_CLOSE,
				 h->offer.chan_id);
	host_shut(h, 0, rescind ? "rescinded by host" : "closed by host");
}

/* ---- guest state machine -------------------------------------------------- */

static void
guest_shut(struct pvb_chan_guest *g, int status, const char *why)
{
	pvb_chan_msg_release(&g->msg);
	if (g->sock >= 0)
		close(g->sock);
	g->sock = -1;
	g->state = PVB_CHAN_G_CLOSED;
	g->status = status;
	g->why = why;
}

static enum pvb_chan_event
guest_fail(struct pvb_chan_guest *g, const char *why)
{
	pvb_chan_send_error(g->sock, -EPROTO, why);
	guest_shut(g, -EPROTO, why);
	return PVB_CHAN_EV_CLOSED;
}

int
pvb_chan_guest_start(struct pvb_chan_guest *g, int sock)
{
	if (g == NULL || sock < 0)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	msg_init(&g->msg, 0);
	g->sock = sock;
	g->state = PVB_CHAN_G_WAIT_OFFER;
	return 0;
}

static enum pvb_chan_event
guest_on_result(struct pvb_chan_guest *g, const struct pvb_chan_msg *m)
{
	if (m->u.result.status == 0) {
		g->msg = *m;
		g->state = PVB_CHAN_G_OPEN;
		return PVB_CHAN_EV_OPENED;
	}
	/* refused: the guest closes (the host keeps offering to whoever comes next) */
	memcpy(g->peer_reason, m->u.result.reason, sizeof(g->peer_reason));
	guest_shut(g, m->u.result.status, "OPEN refused by host");
	return PVB_CHAN_EV_CLOSED;
}

static enum pvb_chan_event
guest_dispatch(struct pvb_chan_guest *g, struct pvb_chan_msg *m)
{
	const char *why = "message out of order";

	switch (m->type) {
	case PVB_CHAN_OFFER:
		if (g->state != PVB_CHAN_G_WAIT_OFFER)
			break;
		g->offer = m->u.offer;
		g->msg = *m;
		g->state = PVB_CHAN_G_OFFERED;
		return PVB_CHAN_EV_OFFER;
	case PVB_CHAN_OPEN_RESULT:
		if (g->state == PVB_CHAN_G_WAIT_RESULT)
			return guest_on_result(g, m);
		break;
	case PVB_CHAN_CLOSE:
	case PVB_CHAN_RESCIND:
		/* before the OFFER there is no chan id to hold it to */
		if (g->state == PVB_CHAN_G_WAIT_OFFER || m->u.close.chan_id == g->offer.chan_id) {
			guest_shut(g, 0, m->type == PVB_CHAN_RESCIND ? "offer rescinded by host"
								      : "closed by host");
			return PVB_CHAN_EV_CLOSED;
		}
		why = "CLOSE or RESCIND for another channel";
		break;
	case PVB_CHAN_ERROR:
		memcpy(g->peer_reason, m->u.result.reason, sizeof(g->peer_reason));
		guest_shut(g, m->u.result.status, "error from host");
		return PVB_CHAN_EV_CLOSED;
	}
	pvb_chan_msg_release(m);
	return guest_fail(g, why);
}

enum pvb_chan_event
pvb_chan_guest_poll(struct pvb_chan_guest *g)
{
	struct pvb_chan_msg m;
	const char *why = NULL;
	int r;

	if (g == NULL || g->state == PVB_CHAN_G_IDLE || g->state == PVB_CHAN_G_CLOSED)
		return PVB_CHAN_EV_NONE;
	r = pvb_chan_recv(g->sock, &m, &why);
	if (r == -EAGAIN || r == -EINTR)
		return PVB_CHAN_EV_NONE;
	if (r == -ECONNRESET)
		why = "host gone";
	if (r < 0) {
		guest_shut(g, r, why != NULL ? why : "receive failed");
		return PVB_CHAN_EV_CLOSED;
	}
	return guest_dispatch(g, &m);
}

int
pvb_chan_guest_open(struct pvb_chan_guest *g, const struct pvb_chan_open *o,
		    const int fds[PVB_CHAN_OPEN_FDS])
{
	struct pvb_chan_msg m;
	int r;

	if (g == NULL || o == NULL || fds == NULL || g->state != PVB_CHAN_G_OFFERED)
		return -EINVAL;
	msg_init(&m, PVB_CHAN_OPEN);
	m.u.open = *o;
	memcpy(m.fds, fds, sizeof(m.fds));	/* borrowed: m is never released */
	m.nfds = PVB_CHAN_OPEN_FDS;
	r = pvb_chan_send(g->sock, &m);
	if (r != 0)
		return r;
	g->state = PVB_CHAN_G_WAIT_RESULT;
	return 0;
}

void
pvb_chan_guest_close(struct pvb_chan_guest *g)
{
	if (g == NULL || g->state == PVB_CHAN_G_IDLE || g->state == PVB_CHAN_G_CLOSED)
		return;
	if (g->state == PVB_CHAN_G_OPEN)
		(void)send_close(g->sock, PVB_CHAN_CLOSE, g->offer.chan_id);
	guest_shut(g, 0, "closed by guest");
}
