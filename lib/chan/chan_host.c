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
	r = chan_send_result(h->sock, PVB_CHAN_OPEN_RESULT, 0, "");
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
	if (h == NULL || h->state != PVB_CHAN_H_OPENING || status == 0 || !chan_status_ok(status))
		return -EINVAL;
	/* the fds go and the offer stands even if the guest is gone: poll will see it */
	pvb_chan_msg_release(&h->msg);
	h->state = PVB_CHAN_H_OFFERED;
	return chan_send_result(h->sock, PVB_CHAN_OPEN_RESULT, status, reason);
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

