/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The back-end state machine: every message is checked against its
 * request (flags, payload size, fd count, vring index) before a handler
 * sees it, and every fd it came with is the back-end's from then on: kept
 * (kick, call, err) or closed here. The requests about the device as a
 * whole live here; vrings in vu_backend_vring.c, the memory table in
 * vu_backend_mem.c.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vu_pvt.h"

/* Virtio bits the library cannot honour: dirty logging, IOTLB, packed rings. */
#define VU_FEATURES_NEVER	(VU_BIT(PVB_VHOST_F_LOG_ALL) | \
				 VU_BIT(PVB_VIRTIO_F_ACCESS_PLATFORM) | \
				 VU_BIT(PVB_VIRTIO_F_RING_PACKED))
/* Protocol features with a handler here. */
#define VU_PF_KNOWN		(VU_BIT(PVB_VU_PF_MQ) | VU_BIT(PVB_VU_PF_REPLY_ACK) | \
				 VU_BIT(PVB_VU_PF_NET_MTU) | VU_BIT(PVB_VU_PF_STATUS))
#define VU_MTU_MIN		68	/* IPv4's minimum (RFC 791); DPDK vhost and QEMU agree */
#define VU_MTU_MAX		65535

int
vu_refuse(struct pvb_vu_backend *b, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->error, sizeof(b->error), fmt, ap);
	va_end(ap);
	return err;
}

void
vu_reply_u64(const struct pvb_vu_msg *m, struct pvb_vu_msg *reply, uint64_t v)
{
	memset(reply, 0, sizeof(*reply));
	reply->hdr.request = m->hdr.request;
	reply->hdr.flags = VU_REPLY_FLAGS;
	reply->hdr.size = sizeof(reply->p.u64);
	reply->p.u64 = v;
}

static uint64_t
offered_features(const struct pvb_vu_backend *b)
{
	uint64_t f = b->cfg.features & ~VU_BIT(PVB_VHOST_USER_F_PROTOCOL_FEATURES);

	return b->cfg.protocol_features != 0 ?
	       f | VU_BIT(PVB_VHOST_USER_F_PROTOCOL_FEATURES) : f;
}

static bool
pf_acked(const struct pvb_vu_backend *b, unsigned int bit)
{
	return (b->protocol_features & VU_BIT(bit)) != 0;
}

/* ---- the device as a whole --------------------------------------------------- */

static int
get_features(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
	     struct pvb_vu_msg *reply)
{
	(void)fds;
	vu_reply_u64(m, reply, offered_features(b));
	return 1;
}

/*
 * Every translated ring takes the new ring features (event index,
 * indirect descriptors); their cursors stay.
 */
static void
apply_ring_features(struct pvb_vu_backend *b)
{
	uint32_t i;

	for (i = 0; i < vu_nvrings(b); i++) {
		struct pvb_vu_vring *vr = &b->vr[i];

		/* same rings, same memory: only the features can change the outcome */
		if (vu_vring_live(vr) && pvb_virtq_dev_enable(&vr->q, &b->mem, b->features) != 0)
			vu_vring_stop(vr);
	}
}

static int
set_features(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
	     struct pvb_vu_msg *reply)
{
	uint64_t extra = m->p.u64 & ~offered_features(b);
	uint32_t i;

	(void)fds;
	(void)reply;
	if (extra != 0)
		return vu_refuse(b, -EINVAL, "bits %#llx were not offered",
				 (unsigned long long)extra);
	b->features = m->p.u64;
	b->features_set = true;
	b->hdr_len = pvb_vnet_hdr_len(b->features);
	/* vhost-user.rst, "Ring states": without PROTOCOL_FEATURES a ring starts enabled */
	if (vu_enabled_by_default(b))
		for (i = 0; i < vu_nvrings(b); i++)
			b->vr[i].enabled = true;
	apply_ring_features(b);
	return 0;
}

static int
set_owner(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
	  struct pvb_vu_msg *reply)
{
	(void)m;
	(void)fds;
	(void)reply;
	b->owner = true;	/* a repeated SET_OWNER is harmless: one connection, one owner */
	return 0;
}

/*
 * vhost-user.rst (RESET_OWNER): no longer used; back-ends should ignore it
 * or disable every ring, and must not drop the connection's state. Every
 * ring is stopped and disabled; the memory table, the features and the
 * call fds stay, so a front-end that goes on restarts rings with
 * SET_VRING_KICK (and SET_VRING_ENABLE).
 */
static int
reset_owner(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
	    struct pvb_vu_msg *reply)
{
	uint32_t i;

	(void)m;
	(void)fds;
	(void)reply;
	for (i = 0; i < vu_nvrings(b); i++) {
		vu_vring_stop(&b->vr[i]);
		b->vr[i].enabled = false;
	}
	b->owner = false;
	return 0;
}

static int
get_protocol_features(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		      struct pvb_vu_msg *reply)
{
	(void)fds;
	vu_reply_u64(m, reply, b->cfg.protocol_features);
	return 1;
}

static int
set_protocol_features(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		      struct pvb_vu_msg *reply)
{
	uint64_t extra = m->p.u64 & ~b->cfg.protocol_features;

	(void)fds;
	(void)reply;
	if (extra != 0)
		return vu_refuse(b, -EINVAL, "bits %#llx were not offered",
				 (unsigned long long)extra);
	b->protocol_features = m->p.u64;
	return 0;
}

static int
get_queue_num(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
	      struct pvb_vu_msg *reply)
{
	(void)fds;
	vu_reply_u64(m, reply, b->cfg.queue_pairs);
	return 1;
}

static int
net_set_mtu(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
	    struct pvb_vu_msg *reply)
{
	(void)fds;
	(void)reply;
	if (m->p.u64 < VU_MTU_MIN || m->p.u64 > VU_MTU_MAX)
		return vu_refuse(b, -EINVAL, "MTU %llu outside %u..%u",
				 (unsigned long long)m->p.u64, VU_MTU_MIN, VU_MTU_MAX);
	b->mtu = (uint16_t)m->p.u64;
	return 0;
}

/*
 * Status 0 is a device reset (VIRTIO 1.2 §2.1): every ring stops and
 * returns to its initial enable state; the memory table and the fds but
 * the kick fds stay.
 */
static int
set_status(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
	   struct pvb_vu_msg *reply)
{
	uint32_t i;

	(void)fds;
	(void)reply;
	if (m->p.u64 > UINT8_MAX)
		return vu_refuse(b, -EINVAL, "status %#llx has bits above the 8 of a status",
				 (unsigned long long)m->p.u64);
	b->status = (uint8_t)m->p.u64;
	if (b->status == 0)
		for (i = 0; i < vu_nvrings(b); i++) {
			vu_vring_stop(&b->vr[i]);
			b->vr[i].enabled = vu_enabled_by_default(b);
		}
	return 0;
}

static int
get_status(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
	   struct pvb_vu_msg *reply)
{
	(void)fds;
	vu_reply_u64(m, reply, b->status);
	return 1;
}

/* ---- what each request must look like --------------------------------------- */

enum vu_size {
	SZ_NONE,	/* no payload: 0 bytes (8 tolerated, ignored) */
	SZ_U64,
	SZ_STATE,	/* vring state; index checked */
	SZ_ADDR,	/* vring addr; index checked */
	SZ_VRING_FD,	/* u64 naming a vring; index checked; 1 fd or the no-fd bit */
	SZ_MEM,		/* 8 + 32 n, n fds */
};

struct vu_req {
	enum vu_size size;
	vu_handler fn;
};

static const struct vu_req requests[PVB_VU_REQUEST_MAX] = {
	[PVB_VU_GET_FEATURES] = { SZ_NONE, get_features },
	[PVB_VU_SET_FEATURES] = { SZ_U64, set_features },
	[PVB_VU_SET_OWNER] = { SZ_NONE, set_owner },
	[PVB_VU_RESET_OWNER] = { SZ_NONE, reset_owner },
	[PVB_VU_SET_MEM_TABLE] = { SZ_MEM, vu_set_mem_table },
	[PVB_VU_SET_VRING_NUM] = { SZ_STATE, vu_set_vring_num },
	[PVB_VU_SET_VRING_ADDR] = { SZ_ADDR, vu_set_vring_addr },
	[PVB_VU_SET_VRING_BASE] = { SZ_STATE, vu_set_vring_base },
	[PVB_VU_GET_VRING_BASE] = { SZ_STATE, vu_get_vring_base },
	[PVB_VU_SET_VRING_KICK] = { SZ_VRING_FD, vu_set_vring_fd },
	[PVB_VU_SET_VRING_CALL] = { SZ_VRING_FD, vu_set_vring_fd },
	[PVB_VU_SET_VRING_ERR] = { SZ_VRING_FD, vu_set_vring_fd },
	[PVB_VU_GET_PROTOCOL_FEATURES] = { SZ_NONE, get_protocol_features },
	[PVB_VU_SET_PROTOCOL_FEATURES] = { SZ_U64, set_protocol_features },
	[PVB_VU_GET_QUEUE_NUM] = { SZ_NONE, get_queue_num },
	[PVB_VU_SET_VRING_ENABLE] = { SZ_STATE, vu_set_vring_enable },
	[PVB_VU_NET_SET_MTU] = { SZ_U64, net_set_mtu },
	[PVB_VU_SET_STATUS] = { SZ_U64, set_status },
	[PVB_VU_GET_STATUS] = { SZ_NONE, get_status },
};

/* A request we answer in this session, or NULL (refused or "failed"). */
static const struct vu_req *
request_find(const struct pvb_vu_backend *b, uint32_t request)
{
	const struct vu_req *r = request < PVB_VU_REQUEST_MAX ? &requests[request] : NULL;

	if (r == NULL || r->fn == NULL)
		return NULL;
	switch (request) {
	case PVB_VU_GET_PROTOCOL_FEATURES:
	case PVB_VU_SET_PROTOCOL_FEATURES:
		return b->cfg.protocol_features != 0 ? r : NULL;
	case PVB_VU_GET_QUEUE_NUM:
		/* QEMU asks right after SET_PROTOCOL_FEATURES: offered is enough */
		return (b->cfg.protocol_features & VU_BIT(PVB_VU_PF_MQ)) ? r : NULL;
	case PVB_VU_NET_SET_MTU:
		return pf_acked(b, PVB_VU_PF_NET_MTU) ? r : NULL;
	case PVB_VU_SET_STATUS:
	case PVB_VU_GET_STATUS:
		return pf_acked(b, PVB_VU_PF_STATUS) ? r : NULL;
	default:
		return r;
	}
}

static int
check_size(struct pvb_vu_backend *b, const struct vu_req *r, const struct pvb_vu_msg *m)
{
	uint32_t want, n;

	switch (r->size) {
	case SZ_NONE:
		/*
		 * The spec gives no payload; QEMU 7.2 and virtio_user 22.11 send
		 * size 0. A u64 is tolerated (and ignored): it cannot change what
		 * the request does.
		 */
		if (m->hdr.size == 0 || m->hdr.size == sizeof(uint64_t))
			return 0;
		return vu_refuse(b, -EPROTO, "payload of %u bytes, want 0", m->hdr.size);
	case SZ_U64:
	case SZ_VRING_FD:
		want = sizeof(uint64_t);
		break;
	case SZ_STATE:
		want = sizeof(struct pvb_vu_vring_state);
		break;
	case SZ_ADDR:
		want = sizeof(struct pvb_vu_vring_addr);
		break;
	case SZ_MEM:
		if (m->hdr.size < offsetof(struct pvb_vu_memory, r))
			return vu_refuse(b, -EPROTO, "payload of %u bytes, shorter than its header",
					 m->hdr.size);
		n = m->p.mem.nregions;
		if (n < 1 || n > PVB_VU_MAX_REGIONS)
			return vu_refuse(b, -EPROTO, "%u regions, want 1..%u", n,
					 PVB_VU_MAX_REGIONS);
		want = (uint32_t)(offsetof(struct pvb_vu_memory, r) +
				  n * sizeof(struct pvb_vu_region));
		break;
	default:
		want = UINT32_MAX;
		break;
	}
	if (m->hdr.size != want)
		return vu_refuse(b, -EPROTO, "payload of %u bytes, want %u", m->hdr.size, want);
	return 0;
}

static int
check_fds(struct pvb_vu_backend *b, const struct vu_req *r, const struct pvb_vu_msg *m,
	  uint32_t nfds)
{
	uint32_t want = 0;

	if (r->size == SZ_MEM)
		want = m->p.mem.nregions;
	else if (r->size == SZ_VRING_FD)
		want = (m->p.u64 & PVB_VU_VRING_NOFD) ? 0 : 1;
	if (nfds != want)
		return vu_refuse(b, -EPROTO, "%u fds, want %u", nfds, want);
	return 0;
}

/* The vring index on all the bits it has, before anything narrows it (CVE-2020-10723). */
static int
check_index(struct pvb_vu_backend *b, const struct vu_req *r, const struct pvb_vu_msg *m)
{
	uint64_t index;

	switch (r->size) {
	case SZ_STATE:
		index = m->p.state.index;
		break;
	case SZ_ADDR:
		index = m->p.addr.index;
		break;
	case SZ_VRING_FD:
		if (m->p.u64 & ~(PVB_VU_VRING_IDX_MASK | PVB_VU_VRING_NOFD))
			return vu_refuse(b, -EINVAL, "u64 %#llx has bits above the no-fd bit",
					 (unsigned long long)m->p.u64);
		index = m->p.u64 & PVB_VU_VRING_IDX_MASK;
		break;
	default:
		return 0;
	}
	if (index >= vu_nvrings(b))
		return vu_refuse(b, -EINVAL, "vring %llu, this device has %u",
				 (unsigned long long)index, vu_nvrings(b));
	return 0;
}

/*
 * 0 or 1 (a reply) from the handler, -EOPNOTSUPP with *unsupported set for
 * a request not answered in this session, or another refusal.
 */
static int
dispatch(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds, uint32_t nfds,
	 struct pvb_vu_msg *reply, bool *unsupported)
{
	const struct vu_req *r;
	int rc;

	if ((m->hdr.flags & PVB_VU_FLAG_VERSION_MASK) != PVB_VU_VERSION)
		return vu_refuse(b, -EPROTO, "version %u, want %u",
				 m->hdr.flags & PVB_VU_FLAG_VERSION_MASK, PVB_VU_VERSION);
	if (m->hdr.flags & PVB_VU_FLAG_REPLY)
		return vu_refuse(b, -EPROTO, "flags %#x: a reply where a request belongs",
				 m->hdr.flags);
	if (m->hdr.size > PVB_VU_PAYLOAD_MAX)
		return vu_refuse(b, -EPROTO, "payload of %u bytes, at most %zu", m->hdr.size,
				 PVB_VU_PAYLOAD_MAX);
	r = request_find(b, m->hdr.request);
	if (r == NULL) {
		*unsupported = true;
		return vu_refuse(b, -EOPNOTSUPP, "not supported (request %u)", m->hdr.request);
	}
	rc = check_size(b, r, m);
	if (rc == 0)
		rc = check_fds(b, r, m, nfds);
	if (rc == 0)
		rc = check_index(b, r, m);
	if (rc == 0)
		rc = r->fn(b, m, fds, reply);
	return rc;
}

int
pvb_vu_backend_handle(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		      uint32_t nfds, struct pvb_vu_msg *reply)
{
	/* REPLY_ACK as it was before this message (SET_PROTOCOL_FEATURES may change it) */
	bool ack = b != NULL && m != NULL && pf_acked(b, PVB_VU_PF_REPLY_ACK) &&
		   (m->hdr.flags & PVB_VU_FLAG_NEED_REPLY);
	bool unsupported = false;
	int rc;

	if (b == NULL || m == NULL || reply == NULL || (fds == NULL && nfds != 0)) {
		if (fds != NULL)
			vu_close_fds(fds, nfds);
		return -EINVAL;
	}
	rc = dispatch(b, m, fds, nfds, reply, &unsupported);
	/* whatever fd a handler did not keep is closed, on every path */
	if (fds != NULL)
		vu_close_fds(fds, nfds);
	if (rc < 0 && unsupported && ack) {
		/* vhost-user.rst, REPLY_ACK: a non-zero u64 says the request failed */
		b->nacks++;
		vu_reply_u64(m, reply, 1);
		return 1;
	}
	if (rc < 0) {
		b->bad_messages++;
		return rc;
	}
	if (rc == 0 && ack) {
		vu_reply_u64(m, reply, 0);
		return 1;
	}
	return rc;
}

/* ---- life cycle -------------------------------------------------------------- */

int
pvb_vu_backend_init(struct pvb_vu_backend *b, const struct pvb_vu_backend_cfg *cfg)
{
	uint32_t i;

	if (b == NULL || cfg == NULL || cfg->queue_pairs < 1 ||
	    cfg->queue_pairs > PVB_VU_MAX_QUEUE_PAIRS || !pvb_virtq_size_ok(cfg->max_queue_size) ||
	    (cfg->features & VU_FEATURES_NEVER) || (cfg->protocol_features & ~VU_PF_KNOWN))
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	b->hdr_len = pvb_vnet_hdr_len(0);
	for (i = 0; i < PVB_VU_MAX_VRINGS; i++)
		vu_vring_init(&b->vr[i], cfg->max_queue_size);
	return 0;
}

void
pvb_vu_backend_reset(struct pvb_vu_backend *b)
{
	uint64_t bad = b->bad_messages, nacks = b->nacks;
	struct pvb_vu_backend_cfg cfg = b->cfg;
	char error[sizeof(b->error)];
	uint32_t i;

	memcpy(error, b->error, sizeof(error));
	for (i = 0; i < PVB_VU_MAX_VRINGS; i++)
		vu_vring_reset(&b->vr[i], cfg.max_queue_size);
	vu_mem_unmap(b->map, b->nregions);
	memset(b, 0, sizeof(*b));
	b->cfg = cfg;
	b->hdr_len = pvb_vnet_hdr_len(0);
	for (i = 0; i < PVB_VU_MAX_VRINGS; i++)
		vu_vring_init(&b->vr[i], cfg.max_queue_size);
	b->bad_messages = bad;
	b->nacks = nacks;
	memcpy(b->error, error, sizeof(error));
}

bool
pvb_vu_backend_running(const struct pvb_vu_backend *b)
{
	if (!b->features_set)
		return false;
	return !pf_acked(b, PVB_VU_PF_STATUS) || (b->status & PVB_VIRTIO_STATUS_DRIVER_OK);
}

bool
pvb_vu_backend_vring_ready(const struct pvb_vu_backend *b, uint32_t index)
{
	const struct pvb_vu_vring *vr;

	if (index >= vu_nvrings(b))
		return false;
	vr = &b->vr[index];
	return vu_vring_live(vr) && vr->enabled && vr->call_set && pvb_vu_backend_running(b);
}
