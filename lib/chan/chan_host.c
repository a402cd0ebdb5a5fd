/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Channel control protocol, host side: offer a channel, check the OPEN the
 * guest answers with (layout and fds), accept or refuse it, close or
 * rescind.
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pvb_chan.h"
#include "pvb_shm.h"
#include "chan_pvt.h"

/* ---- the fds of an OPEN --------------------------------------------------- */

static bool
sockopt_is(int fd, int opt, int want)
{
	socklen_t len = sizeof(int);
	int v = -1;

	return getsockopt(fd, SOL_SOCKET, opt, &v, &len) == 0 && len == sizeof(v) && v == want;
}

/*
 * The doorbell must be an AF_UNIX SOCK_DGRAM socket (one end of the guest's
 * socket pair; socket(7), unix(7)): every ring and drain on it passes
 * MSG_DONTWAIT, which holds whatever O_NONBLOCK the guest leaves on the
 * description, and a full queue answers EAGAIN instead of blocking. A pipe
 * or an eventfd shares its blocking mode and its buffer with the guest, a
 * stream socket can be left full, a file would fill a disk.
 */
static bool
is_dgram_unix(int fd)
{
	return sockopt_is(fd, SO_DOMAIN, AF_UNIX) && sockopt_is(fd, SO_TYPE, SOCK_DGRAM);
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
	if (r != 0)
		*why = pvb_shm_attach_strerror(r);
	else if (!is_dgram_unix(m->fds[PVB_CHAN_FD_BELL])) {
		*why = "doorbell fd not an AF_UNIX SOCK_DGRAM socket";
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
	chan_msg_init(&h->msg, 0);
	h->sock = sock;		/* ours from here on, closed on failure too */
	h->offer = *offer;
	chan_msg_init(&m, PVB_CHAN_OFFER);
	m.u.offer = *offer;
	r = pvb_chan_send(sock, &m);
	if (r != 0) {
		host_shut(h, r, "OFFER not sent");
		return r;
	}
	h->state = PVB_CHAN_H_OFFERED;
	return 0;
}

/* An OPEN refused with @p r for @p why: said to the guest in a failed OPEN_RESULT. */
static enum pvb_chan_event
host_refuse_open(struct pvb_chan_host *h, struct pvb_chan_msg *m, int r, const char *why)
{
	pvb_chan_msg_release(m);
	h->status = r;
	h->why = why;
	r = chan_send_result(h->sock, PVB_CHAN_OPEN_RESULT, r, why);
	if (r != 0) {
		host_shut(h, r, "OPEN_RESULT not sent");
		return PVB_CHAN_EV_CLOSED;
	}
	return PVB_CHAN_EV_REFUSED;
}

/*
 * A well-formed OPEN in OFFERED. One that does not fit the offer is
 * answered with a failed OPEN_RESULT and the offer stands: the guest may
 * try again with another layout. The caller hears of it (EV_REFUSED, with
 * status and why) so it can say so.
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
	return host_refuse_open(h, m, r, why);
}

/* The id of subchannel @p i: the primary's with the index in the top byte, never the primary's. */
static uint32_t
host_sub_id(const struct pvb_chan_host *h, uint32_t i)
{
	return h->offer.chan_id ^ (i << 24);
}

/* The subchannel offered under @p chan_id, 0 if none. */
static uint32_t
host_sub_of(const struct pvb_chan_host *h, uint32_t chan_id)
{
	uint32_t i = (chan_id ^ h->offer.chan_id) >> 24;

	return i >= 1 && i <= h->nsub && host_sub_id(h, i) == chan_id ? i : 0;
}

/*
 * An OPEN of subchannel @p i: its own ring pair in its own region, no
 * GPADL (the buffers are the primary's), checked as the primary's against
 * the offer's limits. A layout that does not fit is refused (the guest then
 * closes); a second OPEN of one subchannel is a protocol error.
 */
static enum pvb_chan_event
host_on_sub_open(struct pvb_chan_host *h, struct pvb_chan_msg *m, uint32_t i)
{
	struct pvb_chan_offer sub = h->offer;
	const char *why = NULL;
	int r;

	if (h->sub_open & (1ull << i)) {
		pvb_chan_msg_release(m);
		return host_fail(h, "subchannel opened twice");
	}
	sub.chan_id = host_sub_id(h, i);
	r = pvb_chan_open_check(&m->u.open, &sub, &why);
	if (r == 0 && m->u.open.n_gpadl != 0) {
		why = "subchannel OPEN with a GPADL";
		r = -EINVAL;
	}
	if (r == 0)
		r = open_fds_check(m, &why);
	if (r == 0) {
		h->msg = *m;
		h->sub_cur = i;
		return PVB_CHAN_EV_SUB_OPEN;
	}
	return host_refuse_open(h, m, r, why);
}

static enum pvb_chan_event
host_dispatch(struct pvb_chan_host *h, struct pvb_chan_msg *m)
{
	const char *why = "message out of order";
	uint32_t i;

	switch (m->type) {
	case PVB_CHAN_OPEN:
		if (h->state == PVB_CHAN_H_OFFERED)
			return host_on_open(h, m);
		if (h->state != PVB_CHAN_H_OPEN || h->sub_cur != 0)
			break;
		i = host_sub_of(h, m->u.open.chan_id);
		if (i != 0)
			return host_on_sub_open(h, m, i);
		why = "OPEN of no subchannel offered";
		break;
	case PVB_CHAN_CLOSE:
		/* a subchannel does not close alone: the guest closes the channel */
		if (m->u.close.chan_id == h->offer.chan_id ||
		    host_sub_of(h, m->u.close.chan_id) != 0) {
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

/* An OPEN is being handled: the primary's (OPENING) or a subchannel's. */
static bool
host_handling_open(const struct pvb_chan_host *h)
{
	return h->state == PVB_CHAN_H_OPENING || (h->state == PVB_CHAN_H_OPEN && h->sub_cur != 0);
}

int
pvb_chan_host_accept(struct pvb_chan_host *h)
{
	unsigned int i;
	int r;

	if (h == NULL || !host_handling_open(h))
		return -EINVAL;
	r = chan_send_result(h->sock, PVB_CHAN_OPEN_RESULT, 0, "");
	if (r != 0)
		return r;	/* nothing changed: retry, or close (which releases the fds) */
	for (i = 0; i < PVB_CHAN_OPEN_FDS; i++)
		h->msg.fds[i] = -1;	/* the caller's now */
	h->msg.nfds = 0;
	if (h->state == PVB_CHAN_H_OPEN)
		h->sub_open |= 1ull << h->sub_cur;
	h->sub_cur = 0;
	h->state = PVB_CHAN_H_OPEN;
	return 0;
}

int
pvb_chan_host_refuse(struct pvb_chan_host *h, int status, const char *reason)
{
	if (h == NULL || !host_handling_open(h) || status == 0 || !chan_status_ok(status))
		return -EINVAL;
	if (h->state == PVB_CHAN_H_OPEN) {
		/* a subchannel: the guest closes on a refusal; its offer stands until then */
		pvb_chan_msg_release(&h->msg);
		h->sub_cur = 0;
		return chan_send_result(h->sock, PVB_CHAN_OPEN_RESULT, status, reason);
	}
	/* the fds go and the offer stands even if the guest is gone: poll will see it */
	pvb_chan_msg_release(&h->msg);
	h->state = PVB_CHAN_H_OFFERED;
	return chan_send_result(h->sock, PVB_CHAN_OPEN_RESULT, status, reason);
}

int
pvb_chan_host_offer_sub(struct pvb_chan_host *h, uint32_t n)
{
	struct pvb_chan_msg m;
	int r;

	if (h == NULL || h->state != PVB_CHAN_H_OPEN || n > PVB_CHAN_MAX_SUB || n < h->nsub)
		return -EINVAL;
	while (h->nsub < n) {
		chan_msg_init(&m, PVB_CHAN_SUBOFFER);
		m.u.sub.chan_id = host_sub_id(h, h->nsub + 1);
		m.u.sub.parent = h->offer.chan_id;
		m.u.sub.index = h->nsub + 1;
		r = pvb_chan_send(h->sock, &m);
		if (r != 0)
			return r;
		h->nsub++;
	}
	return 0;
}

uint32_t
pvb_chan_host_sub_count(const struct pvb_chan_host *h)
{
	return h == NULL ? 0 : (uint32_t)__builtin_popcountll(h->sub_open);
}

void
pvb_chan_host_close(struct pvb_chan_host *h, bool rescind)
{
	/* IDLE: never started, so nothing in h is ours (a zeroed sock is 0) */
	if (h == NULL || h->state == PVB_CHAN_H_IDLE || h->state == PVB_CHAN_H_CLOSED)
		return;
	if (h->state == PVB_CHAN_H_OPEN)
		(void)chan_send_close(h->sock, rescind ? PVB_CHAN_RESCIND : PVB_CHAN_CLOSE,
				 h->offer.chan_id);
	host_shut(h, 0, rescind ? "rescinded by host" : "closed by host");
}

