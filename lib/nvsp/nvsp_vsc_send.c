/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The guest (VSC) state machine: what to send next (pvb_vsc_next()), one
 * message at a time, in the order nvsp_vsc.c describes.
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "nvsp_vsc_pvt.h"

/* Newest first (§2.4), one INIT per candidate with min = max. */
static const uint32_t vsc_versions[] = {
	PVB_NVSP_VER_61, PVB_NVSP_VER_6, PVB_NVSP_VER_5,
	PVB_NVSP_VER_4, PVB_NVSP_VER_2, PVB_NVSP_VER_1,
};

#define NVERSIONS		(sizeof(vsc_versions) / sizeof(vsc_versions[0]))

/* ---- what to send ----------------------------------------------------------- */

/* A fresh RNDIS request id; 0 is never used (DPDK skips it too). */
static uint32_t
vsc_req_id(struct pvb_vsc *g)
{
	uint32_t id = g->next_req;

	g->next_req = id + 1 == 0 ? 1 : id + 1;
	return id;
}

static void
act_nvsp(struct pvb_vsc_action *a, uint32_t type, bool want_comp)
{
	a->kind = PVB_VSC_ACT_NVSP;
	a->want_comp = want_comp;
	a->nvsp.type = type;
}

/*
 * Encode @p c (a request with @p info) as the action. For ACT_RNDIS,
 * want_comp says whether an RNDIS completion will follow (the 107 itself
 * always gets a 108, which the datapath handles). With a completion due,
 * the request becomes the one outstanding.
 */
static void
act_rndis(struct pvb_vsc *g, struct pvb_vsc_action *a, struct pvb_rndis_ctl *c,
	  const void *info, bool want_comp)
{
	int len;

	c->request_id = vsc_req_id(g);
	len = pvb_rndis_ctl_encode(c, info, a->rndis, sizeof(a->rndis));
	if (len <= 0) {
		memset(a, 0, sizeof(*a));
		vsc_fail(g, "RNDIS request does not encode");
		return;
	}
	a->kind = PVB_VSC_ACT_RNDIS;
	a->want_comp = want_comp;
	a->rndis_len = (uint32_t)len;
	if (want_comp) {
		g->pending_req = c->request_id;
		g->sent = true;
	}
}

static void
next_init(struct pvb_vsc *g, struct pvb_vsc_action *a)
{
	uint32_t v = g->ver_idx < NVERSIONS ? vsc_versions[g->ver_idx] : 0;

	if (v == 0 || v < g->cfg.min_nvsp_ver) {
		vsc_fail(g, "no common NVSP version");
		return;
	}
	act_nvsp(a, PVB_NVSP_INIT, true);
	a->nvsp.u.init.min_ver = v;
	a->nvsp.u.init.max_ver = v;
	g->nvsp_ver = v;
	g->state = PVB_VSC_WAIT_INIT;
	g->sent = true;
}

/* NDIS_CONFIG (v2 and later), NDIS_VER, then the receive buffer (§2.4 steps 3-5). */
static void
next_pre_buffers(struct pvb_vsc *g, struct pvb_vsc_action *a)
{
	uint32_t mtu = g->cfg.mtu != 0 ? g->cfg.mtu : MTU_DEFAULT;

	switch (g->query_step) {
	case PRE_NDIS_CONFIG:
		act_nvsp(a, PVB_NVSP_SEND_NDIS_CONFIG, false);
		a->nvsp.u.ndis_config.mtu = mtu + ETH_HLEN;
		a->nvsp.u.ndis_config.caps = PVB_NDIS_CAP_IEEE8021Q;
		g->query_step = PRE_NDIS_VER;
		break;
	case PRE_NDIS_VER:
		act_nvsp(a, PVB_NVSP_SEND_NDIS_VER, false);
		a->nvsp.u.ndis_ver.major = NDIS_MAJOR;
		a->nvsp.u.ndis_ver.minor = g->nvsp_ver <= PVB_NVSP_VER_4 ? NDIS_MINOR_V4 :
									  NDIS_MINOR_V5;
		g->query_step = PRE_RECV_BUF;
		break;
	default:
		act_nvsp(a, PVB_NVSP_SEND_RECV_BUF, true);
		a->nvsp.u.send_buf.gpadl = g->cfg.recv_gpadl;
		a->nvsp.u.send_buf.id = PVB_NVSP_RXBUF_ID;
		g->sent = true;
		break;
	}
}

static void
next_send_buf(struct pvb_vsc *g, struct pvb_vsc_action *a)
{
	act_nvsp(a, PVB_NVSP_SEND_SEND_BUF, true);
	a->nvsp.u.send_buf.gpadl = g->cfg.send_gpadl;
	a->nvsp.u.send_buf.id = PVB_NVSP_TXBUF_ID;
	g->sent = true;
}

static void
next_rndis_init(struct pvb_vsc *g, struct pvb_vsc_action *a)
{
	struct pvb_rndis_ctl c;

	memset(&c, 0, sizeof(c));
	c.type = PVB_RNDIS_INITIALIZE_MSG;
	c.major = PVB_RNDIS_MAJOR;
	c.minor = PVB_RNDIS_MINOR;
	c.max_transfer_size = PVB_RNDIS_MAX_XFER_GUEST;
	act_rndis(g, a, &c, NULL, true);
}

static void
next_query(struct pvb_vsc *g, struct pvb_vsc_action *a, uint32_t oid)
{
	struct pvb_rndis_ctl c;

	memset(&c, 0, sizeof(c));
	c.type = PVB_RNDIS_QUERY_MSG;
	c.oid = oid;
	act_rndis(g, a, &c, NULL, true);
}

/* SET the packet filter to @p filter; query_step remembers what is out. */
static void
next_set_filter(struct pvb_vsc *g, struct pvb_vsc_action *a, uint32_t filter)
{
	struct pvb_rndis_ctl c;
	uint8_t v[4];

	memset(&c, 0, sizeof(c));
	c.type = PVB_RNDIS_SET_MSG;
	c.oid = PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER;
	c.info_len = sizeof(v);
	pvb_nvsp_put_le32(v, filter);
	act_rndis(g, a, &c, v, true);
}

/* SET OFFLOAD_PARAMETERS to what we want and the host offers (cfg.offload != 0). */
static void
next_set_offload(struct pvb_vsc *g, struct pvb_vsc_action *a, uint32_t want)
{
	struct pvb_rndis_ctl c;
	uint8_t v[PVB_NDIS_PARAMS_SIZE];

	memset(&c, 0, sizeof(c));
	c.type = PVB_RNDIS_SET_MSG;
	c.oid = PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS;
	c.info_len = pvb_ndis_params_encode(v, pvb_ndis_ver_of(g->nvsp_ver), want);
	act_rndis(g, a, &c, v, true);
}

/* SUBCHANNEL ALLOCATE: what is wanted, within the host's queues. */
static void
next_subchannel(struct pvb_vsc *g, struct pvb_vsc_action *a)
{
	uint32_t n = g->cfg.subchannels;

	if (n > g->host_queues - 1)
		n = g->host_queues - 1;
	if (n > PVB_NVSP_MAX_CHANNELS - 1)
		n = PVB_NVSP_MAX_CHANNELS - 1;
	act_nvsp(a, PVB_NVSP_SUBCHANNEL, true);
	a->nvsp.u.subchannel.op_or_status = PVB_NVSP_SUBCH_ALLOCATE;
	a->nvsp.u.subchannel.num = n;
	g->subch_asked = n;
	g->sent = true;
}

/* SET the RSS parameters wanted; rss_out marks the request out. */
static void
next_set_rss(struct pvb_vsc *g, struct pvb_vsc_action *a)
{
	struct pvb_rndis_ctl c;
	uint8_t v[PVB_NDIS_RSS_PARAMS_FULL];

	memset(&c, 0, sizeof(c));
	c.type = PVB_RNDIS_SET_MSG;
	c.oid = PVB_RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS;
	c.info_len = pvb_ndis_rss_params_encode(v, &g->rss_want);
	act_rndis(g, a, &c, v, true);
	if (g->state != PVB_VSC_FAILED) {
		g->rss_out = true;
		g->rss_sent_gen = g->rss_want_gen;
	}
}

static void
next_queries(struct pvb_vsc *g, struct pvb_vsc_action *a)
{
	static const uint32_t oids[] = {
		[Q_MAC] = PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS,
		[Q_MTU] = PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE,
		[Q_LINK] = PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS,
		[Q_CAPS] = PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
		[Q_RSS_CAPS] = PVB_RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES,
	};
	uint32_t f = g->want_filter;

	/* offloads: asked for only when wanted, set only when the host offers some */
	if (g->query_step == Q_CAPS && g->cfg.offload == 0)
		g->query_step = Q_RSS_CAPS;
	if (g->query_step == Q_OFFLOAD && (g->cfg.offload & g->host_offload) == 0)
		g->query_step = Q_RSS_CAPS;
	/* subchannels: NVSP v5 on, when wanted, and when the host has more than one queue */
	if (g->query_step == Q_RSS_CAPS &&
	    (g->cfg.subchannels == 0 || g->nvsp_ver < PVB_NVSP_VER_5))
		g->query_step = Q_FILTER;
	if (g->query_step == Q_SUBCH && g->host_queues <= 1)
		g->query_step = Q_FILTER;
	if (g->query_step < Q_OFFLOAD || g->query_step == Q_RSS_CAPS) {
		next_query(g, a, oids[g->query_step]);
		return;
	}
	if (g->query_step == Q_OFFLOAD) {
		next_set_offload(g, a, g->cfg.offload & g->host_offload);
		return;
	}
	if (g->query_step == Q_SUBCH) {
		next_subchannel(g, a);
		return;
	}
	next_set_filter(g, a, f);
	if (g->state != PVB_VSC_FAILED)
		g->query_step = STEP_SET | f;
}

static void
next_ready(struct pvb_vsc *g, struct pvb_vsc_action *a)
{
	uint32_t f = g->want_filter;

	if (f == g->filter) {
		if (g->rss_want_gen != g->rss_gen)
			next_set_rss(g, a);
		return;
	}
	next_set_filter(g, a, f);
	if (g->state != PVB_VSC_FAILED)
		g->query_step = STEP_SET | f;
}

/* The teardown of §2.4, one message per call, in this order. */
static void
next_teardown(struct pvb_vsc *g, struct pvb_vsc_action *a)
{
	struct pvb_rndis_ctl c;
	uint32_t td = g->query_step;

	if (td & TD_FILTER) {
		g->query_step = (td & ~TD_FILTER) | TD_FILTER_OUT;
		next_set_filter(g, a, 0);
	} else if (td & TD_HALT) {
		g->query_step = td & ~TD_HALT;
		memset(&c, 0, sizeof(c));
		c.type = PVB_RNDIS_HALT_MSG;
		act_rndis(g, a, &c, NULL, false);
	} else if (td & TD_REVOKE_RECV) {
		g->query_step = td & ~TD_REVOKE_RECV;
		act_nvsp(a, PVB_NVSP_REVOKE_RECV_BUF, false);
		a->nvsp.u.revoke.id = PVB_NVSP_RXBUF_ID;
	} else if (td & TD_REVOKE_SEND) {
		g->query_step = td & ~TD_REVOKE_SEND;
		act_nvsp(a, PVB_NVSP_REVOKE_SEND_BUF, false);
		a->nvsp.u.revoke.id = PVB_NVSP_TXBUF_ID;
	}
}

void
pvb_vsc_next(struct pvb_vsc *g, struct pvb_vsc_action *a)
{
	memset(a, 0, sizeof(*a));
	if (g->sent)
		return;
	switch (g->state) {
	case PVB_VSC_INIT:
		next_init(g, a);
		break;
	case PVB_VSC_WAIT_RECV_BUF:
		next_pre_buffers(g, a);
		break;
	case PVB_VSC_WAIT_SEND_BUF:
		next_send_buf(g, a);
		break;
	case PVB_VSC_WAIT_RNDIS_INIT:
		next_rndis_init(g, a);
		break;
	case PVB_VSC_WAIT_QUERY:
		next_queries(g, a);
		break;
	case PVB_VSC_READY:
		next_ready(g, a);
		break;
	case PVB_VSC_HALTED:
		next_teardown(g, a);
		break;
	default:	/* WAIT_INIT is always sent; FAILED sends nothing */
		break;
	}
}

