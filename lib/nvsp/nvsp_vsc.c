/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The guest (VSC) control state machine (doc/nvsp.md §2.4, §5.2; the
 * sequence Linux drivers/net/hyperv/netvsc.c and rndis_filter.c and DPDK
 * drivers/net/netvsc/hn_nvs.c and hn_rndis.c follow).
 * pvb_vsc_next() hands out one message at a time; one that wants an answer
 * sets `sent`, and nothing more goes out until pvb_vsc_nvsp() or
 * pvb_vsc_rndis() takes that answer.
 *
 *   INIT -> WAIT_INIT (newest version first; a refusal goes back to INIT
 *   with the next one) -> WAIT_RECV_BUF (NDIS_CONFIG, NDIS_VER, 101)
 *   -> WAIT_SEND_BUF (104) -> WAIT_RNDIS_INIT -> WAIT_QUERY (MAC, MTU,
 *   link, offloads, RSS capabilities and SUBCHANNEL when subchannels are
 *   wanted, packet filter) -> READY (then RSS parameters and filter
 *   changes);  pvb_vsc_halt(): -> HALTED (filter 0, HALT, 103, 106).
 *
 * query_step is the step inside a state that sends several messages:
 *  - WAIT_RECV_BUF: PRE_* below;
 *  - WAIT_QUERY: Q_* below;
 *  - WAIT_QUERY and READY while a packet-filter SET is out: STEP_SET | the
 *    filter it carries, recorded as acknowledged when SET_CMPLT says so;
 *  - HALTED: the teardown messages still to send (TD_* bits).
 *
 * The host is untrusted: every completion is checked against the one
 * request outstanding, and a reply that a mandatory step cannot use fails
 * the channel (FAILED; every later call -EPROTO).
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "nvsp_vsc_pvt.h"

int
vsc_fail(struct pvb_vsc *g, const char *why)
{
	if (g->why == NULL)
		g->why = why;
	g->state = PVB_VSC_FAILED;
	g->sent = false;
	g->pending_req = 0;
	g->protocol_errors++;
	return -EPROTO;
}

void
pvb_vsc_init(struct pvb_vsc *g, const struct pvb_vsc_config *cfg)
{
	memset(g, 0, sizeof(*g));
	if (cfg != NULL)
		g->cfg = *cfg;
	if (g->cfg.min_nvsp_ver == 0)
		g->cfg.min_nvsp_ver = PVB_NVSP_VER_1;
	g->state = PVB_VSC_INIT;
	g->want_filter = FILTER_DEFAULT;
	g->next_req = 1;
}

/* ---- NVSP completions --------------------------------------------------------- */

static int
vsc_init_complete(struct pvb_vsc *g, const struct pvb_nvsp_msg *m)
{
	if (m->type != PVB_NVSP_INIT_COMPLETE)
		return vsc_fail(g, "NVSP completion of another type than INIT's");
	g->sent = false;
	if (m->u.init_complete.status != PVB_NVSP_STAT_SUCCESS) {
		/* refused: the next older version (next_init() gives up past the last) */
		g->ver_idx++;
		g->nvsp_ver = 0;
		g->state = PVB_VSC_INIT;
		return 0;
	}
	g->state = PVB_VSC_WAIT_RECV_BUF;
	g->query_step = g->nvsp_ver >= PVB_NVSP_VER_2 ? PRE_NDIS_CONFIG : PRE_NDIS_VER;
	return 0;
}

/*
 * 102: one section of equal slots from offset 0 (Linux and DPDK refuse
 * anything else), end_offset consistent with them.
 */
static int
vsc_recv_buf_complete(struct pvb_vsc *g, const struct pvb_nvsp_msg *m)
{
	const struct pvb_nvsp_section *s = &m->u.recv_buf_complete.section;

	if (m->type != PVB_NVSP_SEND_RECV_BUF_COMPLETE)
		return vsc_fail(g, "NVSP completion of another type than SEND_RECV_BUF's");
	if (m->u.recv_buf_complete.status != PVB_NVSP_STAT_SUCCESS)
		return vsc_fail(g, "receive buffer refused");
	if (m->u.recv_buf_complete.num_sections != 1)
		return vsc_fail(g, "receive buffer: not exactly one section");
	if (s->offset != 0 || s->sub_alloc_size < SLOT_MIN || s->num_sub_allocs == 0 ||
	    (uint64_t)s->sub_alloc_size * s->num_sub_allocs != s->end_offset)
		return vsc_fail(g, "receive buffer: section layout inconsistent");
	g->slot_size = s->sub_alloc_size;
	g->slot_count = s->num_sub_allocs;
	g->sent = false;
	g->state = PVB_VSC_WAIT_SEND_BUF;
	return 0;
}

static int
vsc_send_buf_complete(struct pvb_vsc *g, const struct pvb_nvsp_msg *m)
{
	uint32_t size = m->u.send_buf_complete.section_size;

	if (m->type != PVB_NVSP_SEND_SEND_BUF_COMPLETE)
		return vsc_fail(g, "NVSP completion of another type than SEND_SEND_BUF's");
	if (m->u.send_buf_complete.status != PVB_NVSP_STAT_SUCCESS)
		return vsc_fail(g, "send buffer refused");
	/* DPDK refuses 0 and sizes not a multiple of 4; Linux anything under 68 */
	if (size % 4 != 0 || size < SECTION_MIN)
		return vsc_fail(g, "send buffer: section size unusable");
	g->section_size = size;
	g->sent = false;
	g->state = PVB_VSC_WAIT_RNDIS_INIT;
	return 0;
}

/*
 * SUBCHANNEL granted: never more than asked. A failure status grants none
 * and is no error: the guest runs on its primary channel.
 */
static int
vsc_subch_complete(struct pvb_vsc *g, const struct pvb_nvsp_msg *m)
{
	if (g->query_step != Q_SUBCH || m->type != PVB_NVSP_SUBCHANNEL)
		return vsc_fail(g, "NVSP completion nobody asked for");
	g->sent = false;
	g->query_step = Q_FILTER;
	g->subch_granted = 0;
	if (m->u.subchannel.op_or_status != PVB_NVSP_STAT_SUCCESS)
		return 0;
	if (m->u.subchannel.num > g->subch_asked)
		return vsc_fail(g, "SUBCHANNEL: more subchannels granted than asked for");
	g->subch_granted = m->u.subchannel.num;
	return 0;
}

/* The answer to a request that halt() left outstanding: nothing to learn from it now. */
static int
vsc_halted_nvsp(struct pvb_vsc *g, const struct pvb_nvsp_msg *m)
{
	if (m->type != PVB_NVSP_INIT_COMPLETE && m->type != PVB_NVSP_SEND_RECV_BUF_COMPLETE &&
	    m->type != PVB_NVSP_SEND_SEND_BUF_COMPLETE && m->type != PVB_NVSP_SUBCHANNEL)
		return vsc_fail(g, "NVSP completion of an unknown request");
	g->sent = false;
	return 0;
}

int
pvb_vsc_nvsp(struct pvb_vsc *g, const struct pvb_nvsp_msg *m)
{
	if (g == NULL || m == NULL)
		return -EINVAL;
	if (g->state == PVB_VSC_FAILED)
		return -EPROTO;
	/* the ack of a 107 we sent: the datapath frees its section, nothing to do here */
	if (m->type == PVB_NVSP_SEND_RNDIS_PKT_COMPLETE)
		return 0;
	/* an NVSP request is out: sent, and no RNDIS id waiting */
	if (!g->sent || g->pending_req != 0)
		return vsc_fail(g, "NVSP completion nobody asked for");
	switch (g->state) {
	case PVB_VSC_WAIT_INIT:
		return vsc_init_complete(g, m);
	case PVB_VSC_WAIT_RECV_BUF:
		return vsc_recv_buf_complete(g, m);
	case PVB_VSC_WAIT_SEND_BUF:
		return vsc_send_buf_complete(g, m);
	case PVB_VSC_WAIT_QUERY:
		return vsc_subch_complete(g, m);
	case PVB_VSC_HALTED:
		return vsc_halted_nvsp(g, m);
	default:
		return vsc_fail(g, "NVSP completion nobody asked for");
	}
}

/* ---- RNDIS completions and indications ----------------------------------------- */

static int
vsc_rndis_init_cmplt(struct pvb_vsc *g, const struct pvb_rndis_ctl *c)
{
	uint32_t pkts = c->max_packets_per_message, factor = c->packet_alignment_factor;
	uint32_t align;

	if (c->type != PVB_RNDIS_INITIALIZE_CMPLT)
		return vsc_fail(g, "RNDIS completion of another type than INITIALIZE's");
	if (c->status != PVB_RNDIS_STATUS_SUCCESS)
		return vsc_fail(g, "RNDIS INITIALIZE refused");
	if (pkts == 0)
		return vsc_fail(g, "RNDIS INITIALIZE: max_packets_per_message 0");
	if (factor > ALIGN_FACTOR_MAX)
		return vsc_fail(g, "RNDIS INITIALIZE: packet alignment factor above 12");
	align = 1u << factor;
	g->max_pkts_per_msg = pkts < PKTS_PER_MSG_MAX ? pkts : PKTS_PER_MSG_MAX;
	g->align = align > ALIGN_MIN ? align : ALIGN_MIN;
	g->max_xfer = c->max_transfer_size < g->section_size ? c->max_transfer_size :
							       g->section_size;
	g->state = PVB_VSC_WAIT_QUERY;
	g->query_step = Q_MAC;
	return 0;
}

/* The info buffer of a successful QUERY_CMPLT when it is exactly @p len bytes, else NULL. */
static const uint8_t *
query_info(const struct pvb_rndis_ctl *c, const void *msg, uint32_t len)
{
	if (c->status != PVB_RNDIS_STATUS_SUCCESS || c->info_len != len || msg == NULL ||
	    (uint64_t)c->info_off + len > c->len)
		return NULL;
	return (const uint8_t *)msg + c->info_off;
}

/*
 * The offload capabilities: optional, so a refusal or an answer that does
 * not parse means "nothing offered", not a failed channel.
 */
static int
vsc_caps_cmplt(struct pvb_vsc *g, const struct pvb_rndis_ctl *c, const void *msg)
{
	uint8_t v[PVB_NDIS_OFFLOAD_SIZE_6_30];
	uint32_t n = c->info_len < sizeof(v) ? c->info_len : (uint32_t)sizeof(v);
	uint32_t mask = 0;

	if (c->type != PVB_RNDIS_QUERY_CMPLT)
		return vsc_fail(g, "RNDIS completion of another type than QUERY's");
	g->host_offload = 0;
	if (c->status == PVB_RNDIS_STATUS_SUCCESS && msg != NULL &&
	    (uint64_t)c->info_off + c->info_len <= c->len) {
		memcpy(v, (const uint8_t *)msg + c->info_off, n);	/* the one read */
		if (pvb_ndis_offload_decode(v, n, &mask) == 0)
			g->host_offload = mask;
		/* RSC is NDIS 6.30's: before it our parameters cannot ask for it */
		if (pvb_ndis_ver_of(g->nvsp_ver) < PVB_NDIS_VER_6_30)
			g->host_offload &= ~(PVB_OFL_RSC4 | PVB_OFL_RSC6);
	}
	g->query_step = Q_OFFLOAD;
	return 0;
}

/* The offload parameters: on success what we asked for is on, else nothing is. */
static int
vsc_offload_cmplt(struct pvb_vsc *g, const struct pvb_rndis_ctl *c)
{
	if (c->type != PVB_RNDIS_SET_CMPLT)
		return vsc_fail(g, "RNDIS completion of another type than SET's");
	g->offload = c->status == PVB_RNDIS_STATUS_SUCCESS ? g->cfg.offload & g->host_offload : 0;
	g->query_step = Q_RSS_CAPS;
	return 0;
}

/*
 * The RSS capabilities: optional too. The receive queues the host names
 * bound the subchannels asked for; a refusal or an answer that does not
 * parse means one queue, and no SUBCHANNEL request.
 */
static int
vsc_rss_caps_cmplt(struct pvb_vsc *g, const struct pvb_rndis_ctl *c, const void *msg)
{
	uint32_t nrxr = 0, types = 0;

	if (c->type != PVB_RNDIS_QUERY_CMPLT)
		return vsc_fail(g, "RNDIS completion of another type than QUERY's");
	g->host_queues = 0;
	if (c->status == PVB_RNDIS_STATUS_SUCCESS && msg != NULL &&
	    (uint64_t)c->info_off + c->info_len <= c->len &&
	    pvb_ndis_rss_caps_decode((const uint8_t *)msg + c->info_off, c->info_len, &nrxr,
				     &types) == 0)
		g->host_queues = nrxr;
	g->query_step = Q_SUBCH;
	return 0;
}

/* The RSS parameters: acknowledged, or refused (then not asked again until changed). */
static int
vsc_rss_cmplt(struct pvb_vsc *g, const struct pvb_rndis_ctl *c)
{
	if (c->type != PVB_RNDIS_SET_CMPLT)
		return vsc_fail(g, "RNDIS completion of another type than SET's");
	g->rss_out = false;
	g->rss_gen = g->rss_sent_gen;
	g->rss_refused = c->status != PVB_RNDIS_STATUS_SUCCESS;
	return 0;
}

static int
vsc_query_cmplt(struct pvb_vsc *g, const struct pvb_rndis_ctl *c, const void *msg)
{
	const uint8_t *info;
	uint8_t v[6];

	if (g->query_step == Q_CAPS)
		return vsc_caps_cmplt(g, c, msg);
	if (g->query_step == Q_OFFLOAD)
		return vsc_offload_cmplt(g, c);
	if (g->query_step == Q_RSS_CAPS)
		return vsc_rss_caps_cmplt(g, c, msg);
	if (c->type != PVB_RNDIS_QUERY_CMPLT)
		return vsc_fail(g, "RNDIS completion of another type than QUERY's");
	info = query_info(c, msg, g->query_step == Q_MAC ? 6 : 4);
	if (info == NULL)
		return vsc_fail(g, "RNDIS QUERY failed or answered with the wrong size");
	/* the one read of the host's bytes */
	memcpy(v, info, g->query_step == Q_MAC ? 6 : 4);
	switch (g->query_step) {
	case Q_MAC:
		memcpy(g->mac, v, sizeof(g->mac));
		break;
	case Q_MTU:
		if (pvb_nvsp_get_le32(v) < MTU_MIN || pvb_nvsp_get_le32(v) > MTU_MAX)
			return vsc_fail(g, "RNDIS QUERY: MTU out of range");
		g->mtu = pvb_nvsp_get_le32(v);
		break;
	default:	/* Q_LINK: 0 connected, 1 disconnected */
		g->link_up = pvb_nvsp_get_le32(v) == 0;
		break;
	}
	g->query_step++;
	return 0;
}

/* A SET of the packet filter: mandatory during init, a wish once READY. */
static int
vsc_set_cmplt(struct pvb_vsc *g, const struct pvb_rndis_ctl *c)
{
	uint32_t f = g->query_step & FILTER_BITS;

	if (c->type != PVB_RNDIS_SET_CMPLT)
		return vsc_fail(g, "RNDIS completion of another type than SET's");
	g->query_step = 0;
	if (c->status == PVB_RNDIS_STATUS_SUCCESS) {
		g->filter = f;
	} else if (g->state == PVB_VSC_WAIT_QUERY) {
		return vsc_fail(g, "RNDIS SET of the packet filter refused");
	} else if (g->want_filter == f) {
		/* refused: stop asking, or READY would send it forever */
		g->want_filter = g->filter;
	}
	g->state = PVB_VSC_READY;
	return 0;
}

/* In HALTED: our teardown SET, or whatever halt() found outstanding (ignored). */
static int
vsc_halted_rndis(struct pvb_vsc *g, const struct pvb_rndis_ctl *c)
{
	if (!(g->query_step & TD_FILTER_OUT))
		return 0;
	g->query_step &= ~TD_FILTER_OUT;
	if (c->type != PVB_RNDIS_SET_CMPLT)
		return vsc_fail(g, "RNDIS completion of another type than SET's");
	if (c->status == PVB_RNDIS_STATUS_SUCCESS)
		g->filter = 0;
	return 0;
}

static void
vsc_indication(struct pvb_vsc *g, const struct pvb_rndis_ctl *c)
{
	/* the link is known from the media query on; before it nothing reads link_up */
	if (g->state != PVB_VSC_WAIT_QUERY && g->state != PVB_VSC_READY &&
	    g->state != PVB_VSC_HALTED)
		return;
	if (c->status == PVB_RNDIS_STATUS_MEDIA_CONNECT)
		g->link_up = true;
	else if (c->status == PVB_RNDIS_STATUS_MEDIA_DISCONNECT)
		g->link_up = false;
}

int
pvb_vsc_rndis(struct pvb_vsc *g, const struct pvb_rndis_ctl *c, const void *msg)
{
	if (g == NULL || c == NULL)
		return -EINVAL;
	if (g->state == PVB_VSC_FAILED)
		return -EPROTO;
	if (c->type == PVB_RNDIS_INDICATE_STATUS_MSG) {
		vsc_indication(g, c);
		return 0;
	}
	if (!(c->type & RNDIS_COMPLETION_BIT))
		return vsc_fail(g, "RNDIS request from the host");
	if (g->pending_req == 0)
		return vsc_fail(g, "RNDIS completion nobody asked for");
	if (c->request_id != g->pending_req)
		return vsc_fail(g, "RNDIS completion with a wrong request id");
	g->pending_req = 0;
	g->sent = false;
	switch (g->state) {
	case PVB_VSC_WAIT_RNDIS_INIT:
		return vsc_rndis_init_cmplt(g, c);
	case PVB_VSC_WAIT_QUERY:
		if (g->query_step & STEP_SET)
			return vsc_set_cmplt(g, c);
		return vsc_query_cmplt(g, c, msg);
	case PVB_VSC_READY:
		if (g->rss_out)
			return vsc_rss_cmplt(g, c);
		return vsc_set_cmplt(g, c);
	default:	/* HALTED: pending_req is only ever set in the states above */
		return vsc_halted_rndis(g, c);
	}
}

/* ---- requests from the application ---------------------------------------------- */

void
pvb_vsc_set_filter(struct pvb_vsc *g, uint32_t filter)
{
	if (g->state == PVB_VSC_HALTED || g->state == PVB_VSC_FAILED)
		return;
	g->want_filter = filter & FILTER_BITS;
}

void
pvb_vsc_set_rss(struct pvb_vsc *g, const struct pvb_rss_conf *c)
{
	if (g->state == PVB_VSC_HALTED || g->state == PVB_VSC_FAILED || c == NULL)
		return;
	g->rss_want = *c;
	g->rss_want_gen++;
}

/*
 * The teardown steps that apply to how far init got: a filter to clear
 * once RNDIS is up, a HALT once INITIALIZE went out, a revoke for each
 * buffer offered. A request still outstanding is waited for first.
 */
static uint32_t
vsc_teardown_steps(const struct pvb_vsc *g)
{
	enum pvb_vsc_state s = g->state;
	bool rndis_up = s == PVB_VSC_WAIT_QUERY || s == PVB_VSC_READY;
	bool set_out = g->sent && (g->query_step & STEP_SET);
	uint32_t td = 0;

	if (rndis_up && (g->filter != 0 || set_out))
		td |= TD_FILTER;
	if (rndis_up || (s == PVB_VSC_WAIT_RNDIS_INIT && g->sent))
		td |= TD_HALT;
	if (s > PVB_VSC_WAIT_RECV_BUF || (s == PVB_VSC_WAIT_RECV_BUF && g->sent))
		td |= TD_REVOKE_RECV;
	if (s > PVB_VSC_WAIT_SEND_BUF || (s == PVB_VSC_WAIT_SEND_BUF && g->sent))
		td |= TD_REVOKE_SEND;
	return td;
}

void
pvb_vsc_halt(struct pvb_vsc *g)
{
	if (g->state == PVB_VSC_HALTED || g->state == PVB_VSC_FAILED)
		return;
	g->query_step = vsc_teardown_steps(g);
	g->want_filter = 0;
	g->state = PVB_VSC_HALTED;
}
