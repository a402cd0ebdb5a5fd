/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Channel control protocol, guest side: wait for the offer, open the
 * channel with the region and doorbell fds, learn the result, close.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pvb_chan.h"
#include "chan_pvt.h"

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
	chan_msg_init(&g->msg, 0);
	g->sock = sock;
	g->state = PVB_CHAN_G_WAIT_OFFER;
	return 0;
}

/* The result of the oldest subchannel OPEN out (results come in the order of the OPENs). */
static enum pvb_chan_event
guest_on_sub_result(struct pvb_chan_guest *g, const struct pvb_chan_msg *m)
{
	uint32_t i = g->sub_q[g->sub_qh];

	g->sub_qh = (g->sub_qh + 1) % PVB_CHAN_MAX_SUB;
	g->sub_qn--;
	if (m->u.result.status == 0) {
		g->sub_done = i;
		return PVB_CHAN_EV_SUB_OPENED;
	}
	memcpy(g->peer_reason, m->u.result.reason, sizeof(g->peer_reason));
	guest_shut(g, m->u.result.status, "subchannel OPEN refused by host");
	return PVB_CHAN_EV_CLOSED;
}

/* A SUBOFFER: of our channel, one we expect (granted in the rings), each once. */
static enum pvb_chan_event
guest_on_suboffer(struct pvb_chan_guest *g, const struct pvb_chan_msg *m)
{
	const struct pvb_chan_suboffer *o = &m->u.sub;

	if (g->state != PVB_CHAN_G_OPEN)
		return guest_fail(g, "message out of order");
	if (o->parent != g->offer.chan_id)
		return guest_fail(g, "SUBOFFER of another channel");
	if (o->index > g->sub_want)
		return guest_fail(g, "SUBOFFER beyond the subchannels granted");
	if (g->sub_seen & (1ull << o->index))
		return guest_fail(g, "SUBOFFER twice");
	if (o->chan_id == g->offer.chan_id)
		return guest_fail(g, "SUBOFFER with the primary's id");
	g->sub_seen |= 1ull << o->index;
	g->sub = *o;
	return PVB_CHAN_EV_SUBOFFER;
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
		if (g->state == PVB_CHAN_G_OPEN && g->sub_qn > 0)
			return guest_on_sub_result(g, m);
		break;
	case PVB_CHAN_SUBOFFER:
		return guest_on_suboffer(g, m);
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
	chan_msg_init(&m, PVB_CHAN_OPEN);
	m.u.open = *o;
	memcpy(m.fds, fds, sizeof(m.fds));	/* borrowed: m is never released */
	m.nfds = PVB_CHAN_OPEN_FDS;
	r = pvb_chan_send(g->sock, &m);
	if (r != 0)
		return r;
	g->state = PVB_CHAN_G_WAIT_RESULT;
	return 0;
}

int
pvb_chan_guest_expect_sub(struct pvb_chan_guest *g, uint32_t n)
{
	if (g == NULL || g->state != PVB_CHAN_G_OPEN || n > PVB_CHAN_MAX_SUB)
		return -EINVAL;
	g->sub_want = n;
	return 0;
}

int
pvb_chan_guest_open_sub(struct pvb_chan_guest *g, const struct pvb_chan_open *o,
			const int fds[PVB_CHAN_OPEN_FDS])
{
	struct pvb_chan_msg m;
	int r;

	if (g == NULL || o == NULL || fds == NULL || g->state != PVB_CHAN_G_OPEN ||
	    g->sub.index == 0 || o->chan_id != g->sub.chan_id || g->sub_qn >= PVB_CHAN_MAX_SUB)
		return -EINVAL;
	chan_msg_init(&m, PVB_CHAN_OPEN);
	m.u.open = *o;
	memcpy(m.fds, fds, sizeof(m.fds));	/* borrowed: m is never released */
	m.nfds = PVB_CHAN_OPEN_FDS;
	r = pvb_chan_send(g->sock, &m);
	if (r != 0)
		return r;
	g->sub_q[(g->sub_qh + g->sub_qn) % PVB_CHAN_MAX_SUB] = (uint8_t)g->sub.index;
	g->sub_qn++;
	g->sub.index = 0;	/* answered */
	return 0;
}

void
pvb_chan_guest_close(struct pvb_chan_guest *g)
{
	if (g == NULL || g->state == PVB_CHAN_G_IDLE || g->state == PVB_CHAN_G_CLOSED)
		return;
	if (g->state == PVB_CHAN_G_OPEN)
		(void)chan_send_close(g->sock, PVB_CHAN_CLOSE, g->offer.chan_id);
	guest_shut(g, 0, "closed by guest");
}
