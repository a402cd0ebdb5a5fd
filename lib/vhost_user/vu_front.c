/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The front-end's requests, one blocking call each. A reply is checked as
 * strictly as DPDK's virtio_user checks ours: flags exactly version|REPLY,
 * the request's id, the size of its payload, and for GET_VRING_BASE the
 * vring asked about. With REPLY_ACK acked every request that has no reply
 * of its own asks for an ack (NEED_REPLY) and waits for it
 * (vhost-user.rst, "REPLY_ACK").
 */

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vu_pvt.h"

static int
front_fail(struct pvb_vu_frontend *f, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
front_fail(struct pvb_vu_frontend *f, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->error, sizeof(f->error), fmt, ap);
	va_end(ap);
	return err;
}

void
pvb_vu_front_init(struct pvb_vu_frontend *f, int sock, int timeout_ms)
{
	memset(f, 0, sizeof(*f));
	f->sock = sock;
	f->timeout_ms = timeout_ms;
}

static void
msg_init(struct pvb_vu_msg *m, uint32_t request, uint32_t size)
{
	memset(m, 0, sizeof(*m));
	m->hdr.request = request;
	m->hdr.flags = PVB_VU_VERSION;
	m->hdr.size = size;
}

/* Wait for the reply to @p m and check its header; 0 or -errno with f->error set. */
static int
wait_reply(struct pvb_vu_frontend *f, const struct pvb_vu_msg *m, struct pvb_vu_msg *reply,
	   uint32_t size)
{
	struct pollfd p = { .fd = f->sock, .events = POLLIN };
	int fds[PVB_VU_MAX_FDS];
	uint32_t nfds = 0;
	int n, rc;

	do
		n = poll(&p, 1, f->timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return front_fail(f, -errno, "%s: poll failed", pvb_vu_request_str(m->hdr.request));
	if (n == 0)
		return front_fail(f, -ETIMEDOUT, "%s: no reply within %d ms",
				  pvb_vu_request_str(m->hdr.request), f->timeout_ms);
	rc = pvb_vu_recv(f->sock, reply, fds, &nfds);
	if (rc == -EAGAIN)
		return front_fail(f, -ETIMEDOUT, "%s: no reply",
				  pvb_vu_request_str(m->hdr.request));
	if (rc != 0)
		return front_fail(f, rc, "%s: reply: %s", pvb_vu_request_str(m->hdr.request),
				  rc == -ECONNRESET ? "the back-end closed the connection" :
				  "bad framing");
	if (nfds != 0) {
		vu_close_fds(fds, nfds);
		return front_fail(f, -EPROTO, "%s: reply carries %u fds",
				  pvb_vu_request_str(m->hdr.request), nfds);
	}
	if (reply->hdr.flags != VU_REPLY_FLAGS || reply->hdr.request != m->hdr.request ||
	    reply->hdr.size != size)
		return front_fail(f, -EPROTO, "%s: reply request %u flags %#x size %u, want "
				  "request %u flags %#x size %u",
				  pvb_vu_request_str(m->hdr.request),
				  reply->hdr.request, reply->hdr.flags, reply->hdr.size,
				  m->hdr.request, VU_REPLY_FLAGS, size);
	return 0;
}

/*
 * Send @p m with @p nfds fds. A request with a reply of its own fills
 * @p reply; any other waits for an ack when REPLY_ACK is acked.
 */
static int
transact(struct pvb_vu_frontend *f, struct pvb_vu_msg *m, const int *fds, uint32_t nfds,
	 struct pvb_vu_msg *reply, uint32_t reply_size)
{
	bool ack = reply == NULL && (f->protocol_features & VU_BIT(PVB_VU_PF_REPLY_ACK));
	struct pvb_vu_msg r;
	int rc;

	if (ack)
		m->hdr.flags |= PVB_VU_FLAG_NEED_REPLY;
	rc = pvb_vu_send(f->sock, m, fds, nfds);
	if (rc != 0)
		return front_fail(f, rc, "%s: send failed", pvb_vu_request_str(m->hdr.request));
	if (reply != NULL)
		return wait_reply(f, m, reply, reply_size);
	if (!ack)
		return 0;
	rc = wait_reply(f, m, &r, sizeof(r.p.u64));
	if (rc == 0 && r.p.u64 != 0)
		rc = front_fail(f, -EREMOTEIO, "%s: the back-end answered \"failed\" (%#llx)",
				pvb_vu_request_str(m->hdr.request), (unsigned long long)r.p.u64);
	return rc;
}

int
pvb_vu_front_get_u64(struct pvb_vu_frontend *f, uint32_t request, uint64_t *v)
{
	struct pvb_vu_msg m, r;
	int rc;

	switch (request) {
	case PVB_VU_GET_FEATURES:
	case PVB_VU_GET_PROTOCOL_FEATURES:
	case PVB_VU_GET_QUEUE_NUM:
	case PVB_VU_GET_STATUS:
	case PVB_VU_GET_MAX_MEM_SLOTS:
		break;
	default:
		return front_fail(f, -EINVAL, "%s: not a request with a u64 reply",
				  pvb_vu_request_str(request));
	}
	if (v == NULL)
		return front_fail(f, -EINVAL, "%s: no place for the reply",
				  pvb_vu_request_str(request));
	msg_init(&m, request, 0);
	rc = transact(f, &m, NULL, 0, &r, sizeof(r.p.u64));
	if (rc == 0)
		*v = r.p.u64;
	return rc;
}

int
pvb_vu_front_set_u64(struct pvb_vu_frontend *f, uint32_t request, uint64_t v)
{
	uint64_t pf_before = f->protocol_features;
	struct pvb_vu_msg m;
	int rc;

	switch (request) {
	case PVB_VU_SET_OWNER:
	case PVB_VU_RESET_OWNER:
		msg_init(&m, request, 0);
		break;
	case PVB_VU_SET_FEATURES:
	case PVB_VU_SET_PROTOCOL_FEATURES:
	case PVB_VU_NET_SET_MTU:
	case PVB_VU_SET_STATUS:
		msg_init(&m, request, sizeof(m.p.u64));
		m.p.u64 = v;
		break;
	default:
		return front_fail(f, -EINVAL, "%s: not a request with a u64 or no payload",
				  pvb_vu_request_str(request));
	}
	/*
	 * Whether this message asks for an ack follows what was acked before
	 * it, on both ends: a first SET_PROTOCOL_FEATURES with REPLY_ACK is not
	 * acked itself.
	 */
	rc = transact(f, &m, NULL, 0, NULL, 0);
	if (request == PVB_VU_SET_PROTOCOL_FEATURES)
		f->protocol_features = rc == 0 ? v : pf_before;
	return rc;
}

int
pvb_vu_front_set_mem_table(struct pvb_vu_frontend *f, const struct pvb_vu_region *r,
			   const int *fds, uint32_t n)
{
	struct pvb_vu_msg m;

	if (r == NULL || fds == NULL || n < 1 || n > PVB_VU_MAX_REGIONS)
		return front_fail(f, -EINVAL, "SET_MEM_TABLE: %u regions, want 1..%u", n,
				  PVB_VU_MAX_REGIONS);
	msg_init(&m, PVB_VU_SET_MEM_TABLE,
		 (uint32_t)(offsetof(struct pvb_vu_memory, r) + n * sizeof(*r)));
	m.p.mem.nregions = n;
	memcpy(m.p.mem.r, r, n * sizeof(*r));
	return transact(f, &m, fds, n, NULL, 0);
}

int
pvb_vu_front_set_vring_state(struct pvb_vu_frontend *f, uint32_t request, uint32_t index,
			     uint32_t num)
{
	struct pvb_vu_msg m;

	if (request != PVB_VU_SET_VRING_NUM && request != PVB_VU_SET_VRING_BASE &&
	    request != PVB_VU_SET_VRING_ENABLE)
		return front_fail(f, -EINVAL, "%s: not a vring state request",
				  pvb_vu_request_str(request));
	msg_init(&m, request, sizeof(m.p.state));
	m.p.state.index = index;
	m.p.state.num = num;
	return transact(f, &m, NULL, 0, NULL, 0);
}

int
pvb_vu_front_get_vring_base(struct pvb_vu_frontend *f, uint32_t index, uint32_t *num)
{
	struct pvb_vu_msg m, r;
	int rc;

	if (num == NULL)
		return front_fail(f, -EINVAL, "GET_VRING_BASE: no place for the reply");
	msg_init(&m, PVB_VU_GET_VRING_BASE, sizeof(m.p.state));
	m.p.state.index = index;
	rc = transact(f, &m, NULL, 0, &r, sizeof(r.p.state));
	if (rc != 0)
		return rc;
	if (r.p.state.index != index)
		return front_fail(f, -EPROTO, "GET_VRING_BASE: reply for vring %u, asked %u",
				  r.p.state.index, index);
	*num = r.p.state.num;
	return 0;
}

int
pvb_vu_front_set_vring_addr(struct pvb_vu_frontend *f, const struct pvb_vu_vring_addr *a)
{
	struct pvb_vu_msg m;

	if (a == NULL)
		return front_fail(f, -EINVAL, "SET_VRING_ADDR: no addresses");
	msg_init(&m, PVB_VU_SET_VRING_ADDR, sizeof(m.p.addr));
	m.p.addr = *a;
	return transact(f, &m, NULL, 0, NULL, 0);
}

int
pvb_vu_front_set_vring_fd(struct pvb_vu_frontend *f, uint32_t request, uint32_t index, int fd)
{
	struct pvb_vu_msg m;

	if (request != PVB_VU_SET_VRING_KICK && request != PVB_VU_SET_VRING_CALL &&
	    request != PVB_VU_SET_VRING_ERR)
		return front_fail(f, -EINVAL, "%s: not a vring fd request",
				  pvb_vu_request_str(request));
	if (index > PVB_VU_VRING_IDX_MASK)
		return front_fail(f, -EINVAL, "%s: vring %u does not fit the message's 8 bits",
				  pvb_vu_request_str(request), index);
	msg_init(&m, request, sizeof(m.p.u64));
	m.p.u64 = index | (fd < 0 ? PVB_VU_VRING_NOFD : 0);
	return transact(f, &m, fd < 0 ? NULL : &fd, fd < 0 ? 0 : 1, NULL, 0);
}
