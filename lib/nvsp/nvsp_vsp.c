/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The host (VSP) control state machine (doc/nvsp.md §2.4, §5.1; what
 * OpenVMM's netvsp crate, vm/devices/net/netvsp, answers).
 *
 *   WAIT_INIT --INIT(known ver)--> NEGOTIATED --recv + send buffer--> BUFFERS
 *   BUFFERS --RNDIS INITIALIZE--> RNDIS_READY
 *   any --RNDIS HALT or a revoke--> HALTED        any --violation--> FAILED
 *
 * The guest is untrusted: a message that breaks the protocol in the current
 * state fails the channel (FAILED, every later call -EPROTO); a request the
 * host merely refuses (unknown version, unknown GPADL, an RNDIS request out
 * of order) gets a completion with a failure status, as OpenVMM's netvsp
 * answers them, so a guest can fall back or give up cleanly.
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "pvb_nvsp.h"

#define ETH_HLEN		14u
#define VLAN_HLEN		4u
#define MTU_DEFAULT		1500u
/* the frame sits at offset 128 of a receive slot: PACKET_MSG (44) + 5 PPIs (80) fit before it */
#define SLOT_FRAME_OFF		128u
#define SLOT_ALIGN		64u
#define SECTION_MIN		6144u	/* OpenVMM's section size; Linux sizes its buffer on it */
#define PKTS_PER_MSG_DEFAULT	8u
#define ALIGN_FACTOR_DEFAULT	3u	/* 8-byte alignment, as OpenVMM */
#define LINK_SPEED_DEFAULT	100000000u	/* 10 Gbps in 100 bps units */
#define MAX_MDL_CHAIN_LEN	34u	/* OpenVMM's value; no guest reads it */
/* OpenVMM clamps the frame size of SEND_NDIS_CONFIG to this range, else 1514 */
#define GUEST_FRAME_MIN		1514u
#define GUEST_FRAME_MAX		9216u
#define RNDIS_DEVICE_CONNECTIONLESS	1u
#define RNDIS_MEDIUM_802_3	0u
#define RNDIS_COMPLETION_BIT	0x80000000u

/* The versions a guest may ask for (§2.1): OpenVMM accepts an exact match of any. */
static const uint32_t vsp_versions[] = {
	PVB_NVSP_VER_61, PVB_NVSP_VER_6, PVB_NVSP_VER_5,
	PVB_NVSP_VER_4, PVB_NVSP_VER_2, PVB_NVSP_VER_1,
};

/* The OIDs QUERY answers with data: OID_GEN_SUPPORTED_LIST reports exactly these. */
static const uint32_t vsp_oids[] = {
	PVB_RNDIS_OID_GEN_SUPPORTED_LIST,
	PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE,
	PVB_RNDIS_OID_GEN_LINK_SPEED,
	PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER,
	PVB_RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE,
	PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS,
	PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS,
	PVB_RNDIS_OID_802_3_CURRENT_ADDRESS,
	PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
	PVB_RNDIS_OID_TCP_OFFLOAD_CURRENT_CONFIG,
	PVB_RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES,
};

/* the longest answer: NDIS_OFFLOAD of NDIS 6.30 */
#define VSP_INFO_MAX	PVB_NDIS_OFFLOAD_SIZE_6_30
_Static_assert(sizeof(vsp_oids) <= VSP_INFO_MAX, "the OID list fits the info buffer");

static uint32_t
round_up_u32(uint64_t v, uint32_t a)
{
	v = (v + a - 1) / a * a;
	/* only an absurd MTU gets here; the largest multiple of a that fits */
	return v > UINT32_MAX ? UINT32_MAX / a * a : (uint32_t)v;
}

/* Fail the channel: the first reason sticks, each violation is counted once. */
static int
vsp_fail(struct pvb_vsp *h, const char *why)
{
	if (h->why == NULL)
		h->why = why;
	h->state = PVB_VSP_FAILED;
	h->filter = 0;
	h->protocol_errors++;
	return -EPROTO;
}

uint32_t
pvb_vsp_slot_size(uint32_t mtu)
{
	return round_up_u32((uint64_t)SLOT_FRAME_OFF + (mtu == 0 ? MTU_DEFAULT : mtu) + ETH_HLEN +
			    VLAN_HLEN, SLOT_ALIGN);
}

static void
vsp_defaults(struct pvb_vsp_config *c)
{
	if (c->mtu == 0)
		c->mtu = MTU_DEFAULT;
	if (c->align_factor == 0)
		c->align_factor = ALIGN_FACTOR_DEFAULT;
	if (c->max_pkts_per_msg == 0)
		c->max_pkts_per_msg = PKTS_PER_MSG_DEFAULT;
	if (c->link_speed == 0)
		c->link_speed = LINK_SPEED_DEFAULT;
	if (c->rx_slot_size == 0)
		c->rx_slot_size = pvb_vsp_slot_size(c->mtu);
	if (c->send_section_size == 0) {
		/* one maximal frame with the header and four PPIs the guest may add */
		uint32_t one = round_up_u32((uint64_t)PVB_RNDIS_PACKET_HDR_SIZE +
					    4 * sizeof(struct pvb_rndis_ppi) + c->mtu +
					    ETH_HLEN + VLAN_HLEN, SLOT_ALIGN);

		c->send_section_size = one > SECTION_MIN ? one : SECTION_MIN;
	}
}

void
pvb_vsp_init(struct pvb_vsp *h, const struct pvb_vsp_config *cfg, pvb_vsp_gpadl_fn fn,
	     void *arg)
{
	memset(h, 0, sizeof(*h));
	if (cfg != NULL)
		h->cfg = *cfg;
	vsp_defaults(&h->cfg);
	h->gpadl_size = fn;
	h->gpadl_arg = arg;
	h->state = PVB_VSP_WAIT_INIT;
}

/* ---- NVSP ------------------------------------------------------------------ */

static bool
version_known(uint32_t v)
{
	size_t i;

	for (i = 0; i < sizeof(vsp_versions) / sizeof(vsp_versions[0]); i++)
		if (vsp_versions[i] == v)
			return true;
	return false;
}

/* One INIT per candidate (§2.4): the guest sends min = max; min is the one we read. */
static int
vsp_nvsp_init(struct pvb_vsp *h, const struct pvb_nvsp_msg *in, struct pvb_nvsp_msg *reply)
{
	if (h->state != PVB_VSP_WAIT_INIT)
		return vsp_fail(h, "NVSP INIT after a version was agreed");
	reply->type = PVB_NVSP_INIT_COMPLETE;
	reply->u.init_complete.max_mdl_chain_len = MAX_MDL_CHAIN_LEN;
	if (!version_known(in->u.init.min_ver)) {
		/* not an error: the guest tries its next version */
		reply->u.init_complete.status = PVB_NVSP_STAT_FAIL;
		return 1;
	}
	reply->u.init_complete.status = PVB_NVSP_STAT_SUCCESS;
	h->nvsp_ver = in->u.init.min_ver;
	h->state = PVB_VSP_NEGOTIATED;
	return 1;
}

static int
vsp_nvsp_ndis_ver(struct pvb_vsp *h, const struct pvb_nvsp_msg *in)
{
	if (h->state != PVB_VSP_NEGOTIATED)
		return vsp_fail(h, "SEND_NDIS_VER outside negotiation");
	h->ndis_ver = in->u.ndis_ver.major << 16 | (in->u.ndis_ver.minor & 0xffffu);
	return 0;
}

static int
vsp_nvsp_ndis_config(struct pvb_vsp *h, const struct pvb_nvsp_msg *in)
{
	uint32_t f = in->u.ndis_config.mtu;

	if (h->state != PVB_VSP_NEGOTIATED)
		return vsp_fail(h, "SEND_NDIS_CONFIG outside negotiation");
	if (h->nvsp_ver < PVB_NVSP_VER_2)
		return vsp_fail(h, "SEND_NDIS_CONFIG under NVSP v1");
	h->guest_frame = f >= GUEST_FRAME_MIN && f <= GUEST_FRAME_MAX ? f : GUEST_FRAME_MIN;
	h->guest_caps = in->u.ndis_config.caps;
	return 0;
}

/*
 * What must hold before the guest may offer a buffer (@p held: that buffer
 * is already ours). From v2 on OpenVMM wants SEND_NDIS_CONFIG first, and
 * guest_frame is never 0 once it came (it is clamped to >= 1514).
 */
static int
vsp_buffer_allowed(struct pvb_vsp *h, bool held)
{
	if (h->state == PVB_VSP_WAIT_INIT)
		return vsp_fail(h, "buffer offered before NVSP INIT");
	if (held)
		return vsp_fail(h, "buffer offered twice");
	if (h->state != PVB_VSP_NEGOTIATED)
		return vsp_fail(h, "buffer offered after a revoke or HALT");
	if (h->nvsp_ver >= PVB_NVSP_VER_2 && h->guest_frame == 0)
		return vsp_fail(h, "buffer offered before SEND_NDIS_CONFIG");
	return 0;
}

/* How many @p unit-byte pieces of the GPADL fit: 0 if it is unknown or too small. */
static uint32_t
vsp_gpadl_units(struct pvb_vsp *h, uint32_t gpadl, uint32_t unit, uint64_t cap)
{
	uint64_t size = 0, n;

	if (h->gpadl_size == NULL || h->gpadl_size(h->gpadl_arg, gpadl, &size) != 0)
		return 0;
	n = size / unit;
	return (uint32_t)(n < cap ? n : cap);
}

static void
vsp_both_buffers(struct pvb_vsp *h)
{
	if (h->have_recv_buf && h->have_send_buf)
		h->state = PVB_VSP_BUFFERS;
}

/*
 * The receive buffer as one section of equal slots (§2.3: nobody sends more
 * than one). Transfer-page offsets are u32, so the section ends within 4 GiB
 * and end_offset = slot size * count always fits.
 */
static int
vsp_nvsp_recv_buf(struct pvb_vsp *h, const struct pvb_nvsp_msg *in, struct pvb_nvsp_msg *reply)
{
	uint32_t slot = h->cfg.rx_slot_size, count;
	int rc = vsp_buffer_allowed(h, h->have_recv_buf);

	if (rc != 0)
		return rc;
	reply->type = PVB_NVSP_SEND_RECV_BUF_COMPLETE;
	count = vsp_gpadl_units(h, in->u.send_buf.gpadl, slot, UINT32_MAX / slot);
	if (count == 0) {
		reply->u.recv_buf_complete.status = PVB_NVSP_STAT_FAIL;
		return 1;
	}
	h->have_recv_buf = true;
	h->recv_gpadl = in->u.send_buf.gpadl;
	h->slot_size = slot;
	h->slot_count = count;
	reply->u.recv_buf_complete.status = PVB_NVSP_STAT_SUCCESS;
	reply->u.recv_buf_complete.num_sections = 1;
	reply->u.recv_buf_complete.section.offset = 0;
	reply->u.recv_buf_complete.section.sub_alloc_size = slot;
	reply->u.recv_buf_complete.section.num_sub_allocs = count;
	reply->u.recv_buf_complete.section.end_offset = slot * count;
	vsp_both_buffers(h);
	return 1;
}

static int
vsp_nvsp_send_buf(struct pvb_vsp *h, const struct pvb_nvsp_msg *in, struct pvb_nvsp_msg *reply)
{
	uint32_t size = h->cfg.send_section_size, count;
	int rc = vsp_buffer_allowed(h, h->have_send_buf);

	if (rc != 0)
		return rc;
	reply->type = PVB_NVSP_SEND_SEND_BUF_COMPLETE;
	/* indices run to count - 1; 0xffffffff stays free to mean "no section" */
	count = vsp_gpadl_units(h, in->u.send_buf.gpadl, size, UINT32_MAX);
	if (count == 0) {
		reply->u.send_buf_complete.status = PVB_NVSP_STAT_FAIL;
		return 1;
	}
	h->have_send_buf = true;
	h->send_gpadl = in->u.send_buf.gpadl;
	h->section_size = size;
	h->section_count = count;
	reply->u.send_buf_complete.status = PVB_NVSP_STAT_SUCCESS;
	reply->u.send_buf_complete.section_size = size;
	vsp_both_buffers(h);
	return 1;
}

/*
 * A revoke ends the data path for good (teardown, §2.4). Revoking a buffer
 * that was refused or already revoked is harmless: guests send both revokes
 * whatever happened before.
 */
static int
vsp_nvsp_revoke(struct pvb_vsp *h, const struct pvb_nvsp_msg *in)
{
	if (h->state == PVB_VSP_WAIT_INIT)
		return vsp_fail(h, "buffer revoked before NVSP INIT");
	if (in->type == PVB_NVSP_REVOKE_RECV_BUF)
		h->have_recv_buf = false;
	else
		h->have_send_buf = false;
	h->state = PVB_VSP_HALTED;
	h->filter = 0;
	return 0;
}

/*
 * SUBCHANNEL ALLOCATE (NVSP v5 on, once RNDIS is up): grant what the guest
 * asks for up to max_subchannels, once. A request out of place is refused
 * with a failure status and none granted, as OpenVMM's netvsp answers a
 * count it cannot give; the guest carries on with the primary alone.
 */
static int
vsp_nvsp_subchannel(struct pvb_vsp *h, const struct pvb_nvsp_msg *in, struct pvb_nvsp_msg *reply)
{
	uint32_t n = in->u.subchannel.num, max = h->cfg.max_subchannels;

	reply->type = PVB_NVSP_SUBCHANNEL;
	reply->u.subchannel.op_or_status = PVB_NVSP_STAT_FAIL;
	if (max > PVB_NVSP_MAX_CHANNELS - 1)
		max = PVB_NVSP_MAX_CHANNELS - 1;
	if (h->nvsp_ver < PVB_NVSP_VER_5 || h->state != PVB_VSP_RNDIS_READY || h->subch_asked ||
	    in->u.subchannel.op_or_status != PVB_NVSP_SUBCH_ALLOCATE || n == 0)
		return 1;
	h->subch_asked = true;
	h->subch_granted = n < max ? n : max;
	reply->u.subchannel.op_or_status = PVB_NVSP_STAT_SUCCESS;
	reply->u.subchannel.num = h->subch_granted;
	return 1;
}

int
pvb_vsp_nvsp(struct pvb_vsp *h, const struct pvb_nvsp_msg *in, struct pvb_nvsp_msg *reply)
{
	if (h == NULL || in == NULL || reply == NULL)
		return -EINVAL;
	if (h->state == PVB_VSP_FAILED)
		return -EPROTO;
	memset(reply, 0, sizeof(*reply));
	switch (in->type) {
	case PVB_NVSP_INIT:
		return vsp_nvsp_init(h, in, reply);
	case PVB_NVSP_SEND_NDIS_VER:
		return vsp_nvsp_ndis_ver(h, in);
	case PVB_NVSP_SEND_NDIS_CONFIG:
		return vsp_nvsp_ndis_config(h, in);
	case PVB_NVSP_SEND_RECV_BUF:
		return vsp_nvsp_recv_buf(h, in, reply);
	case PVB_NVSP_SEND_SEND_BUF:
		return vsp_nvsp_send_buf(h, in, reply);
	case PVB_NVSP_REVOKE_RECV_BUF:
	case PVB_NVSP_REVOKE_SEND_BUF:
		return vsp_nvsp_revoke(h, in);
	case PVB_NVSP_SUBCHANNEL:
		return vsp_nvsp_subchannel(h, in, reply);
	case PVB_NVSP_SEND_RNDIS_PKT:
	case PVB_NVSP_SEND_RNDIS_PKT_COMPLETE:
		return vsp_fail(h, "NVSP 107/108 handed to the control path");
	default:
		return vsp_fail(h, "NVSP message a guest does not send");
	}
}

/* ---- RNDIS ----------------------------------------------------------------- */

/* A completion of @p type for @p c carrying only a status. */
static int
vsp_reply_status(const struct pvb_rndis_ctl *c, uint32_t type, uint32_t status, void *buf,
		 uint32_t cap)
{
	struct pvb_rndis_ctl r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.request_id = c->request_id;
	r.status = status;
	return pvb_rndis_ctl_encode(&r, NULL, buf, cap);
}

/*
 * INITIALIZE is accepted once, with both buffers held. max_transfer_size is
 * the send section size: a guest aggregates into min(section, this), so a
 * bigger value would only be a promise the section cannot keep.
 */
static int
vsp_rndis_init(struct pvb_vsp *h, const struct pvb_rndis_ctl *c, void *buf, uint32_t cap)
{
	struct pvb_rndis_ctl r;
	int rc;

	if (h->state != PVB_VSP_BUFFERS)
		return vsp_reply_status(c, PVB_RNDIS_INITIALIZE_CMPLT, PVB_RNDIS_STATUS_FAILURE,
					buf, cap);
	memset(&r, 0, sizeof(r));
	r.type = PVB_RNDIS_INITIALIZE_CMPLT;
	r.request_id = c->request_id;
	r.status = PVB_RNDIS_STATUS_SUCCESS;
	r.major = PVB_RNDIS_MAJOR;
	r.minor = PVB_RNDIS_MINOR;
	r.device_flags = RNDIS_DEVICE_CONNECTIONLESS;
	r.medium = RNDIS_MEDIUM_802_3;
	r.max_packets_per_message = h->cfg.max_pkts_per_msg;
	r.max_transfer_size = h->cfg.send_section_size;
	r.packet_alignment_factor = h->cfg.align_factor;
	rc = pvb_rndis_ctl_encode(&r, NULL, buf, cap);
	if (rc > 0)
		h->state = PVB_VSP_RNDIS_READY;
	return rc;
}

uint32_t
pvb_vsp_offload_offered(const struct pvb_vsp *h)
{
	if (h->cfg.no_offload)
		return 0;
	/* RSC is a field of NDIS 6.30's objects only */
	if (h->ndis_ver < PVB_NDIS_VER_6_30)
		return PVB_OFL_ALL & ~(PVB_OFL_RSC4 | PVB_OFL_RSC6);
	return PVB_OFL_ALL;
}

/*
 * An NDIS_OFFLOAD: the capabilities, or what the guest enabled. Guests
 * before NDIS 6.0 (NDIS version never sent) get the 6.0 layout.
 */
static uint32_t
vsp_query_offload(const struct pvb_vsp *h, uint32_t mask, uint8_t *info, uint32_t *len)
{
	if (pvb_vsp_offload_offered(h) == 0) {
		*len = 0;
		return PVB_RNDIS_STATUS_NOT_SUPPORTED;
	}
	*len = pvb_ndis_offload_encode(info, h->ndis_ver, mask);
	return PVB_RNDIS_STATUS_SUCCESS;
}

/* Subchannels this host may grant: the configured count, within Hyper-V's 63. */
static uint32_t
vsp_max_subchannels(const struct pvb_vsp *h)
{
	uint32_t max = h->cfg.max_subchannels;

	return max < PVB_NVSP_MAX_CHANNELS - 1 ? max : PVB_NVSP_MAX_CHANNELS - 1;
}

/* The answer to a QUERY of @p oid into @p info; returns its RNDIS status. */
static uint32_t
vsp_query_info(const struct pvb_vsp *h, uint32_t oid, uint8_t *info, uint32_t *len)
{
	size_t i;

	*len = 4;
	switch (oid) {
	case PVB_RNDIS_OID_GEN_SUPPORTED_LIST:
		for (i = 0; i < sizeof(vsp_oids) / sizeof(vsp_oids[0]); i++)
			pvb_nvsp_put_le32(info + 4 * i, vsp_oids[i]);
		*len = (uint32_t)sizeof(vsp_oids);
		return PVB_RNDIS_STATUS_SUCCESS;
	case PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS:
	case PVB_RNDIS_OID_802_3_CURRENT_ADDRESS:
		memcpy(info, h->cfg.mac, sizeof(h->cfg.mac));
		*len = (uint32_t)sizeof(h->cfg.mac);
		return PVB_RNDIS_STATUS_SUCCESS;
	case PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE:	/* L3, as DPDK reads it */
		pvb_nvsp_put_le32(info, h->cfg.mtu);
		return PVB_RNDIS_STATUS_SUCCESS;
	case PVB_RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE:
		pvb_nvsp_put_le32(info, h->cfg.mtu + ETH_HLEN);
		return PVB_RNDIS_STATUS_SUCCESS;
	case PVB_RNDIS_OID_GEN_LINK_SPEED:
		pvb_nvsp_put_le32(info, h->cfg.link_speed);
		return PVB_RNDIS_STATUS_SUCCESS;
	case PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS:
		/* connected; a change later travels as INDICATE_STATUS */
		pvb_nvsp_put_le32(info, 0);
		return PVB_RNDIS_STATUS_SUCCESS;
	case PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
		pvb_nvsp_put_le32(info, h->filter);
		return PVB_RNDIS_STATUS_SUCCESS;
	case PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:
		return vsp_query_offload(h, pvb_vsp_offload_offered(h), info, len);
	case PVB_RNDIS_OID_TCP_OFFLOAD_CURRENT_CONFIG:
		return vsp_query_offload(h, h->offload, info, len);
	case PVB_RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES:
		*len = pvb_ndis_rss_caps_encode(info, h->ndis_ver, 1 + vsp_max_subchannels(h));
		return PVB_RNDIS_STATUS_SUCCESS;
	default:
		*len = 0;
		return PVB_RNDIS_STATUS_INVALID_OID;
	}
}

static int
vsp_rndis_query(const struct pvb_vsp *h, const struct pvb_rndis_ctl *c, void *buf,
		uint32_t cap)
{
	uint8_t info[VSP_INFO_MAX];
	struct pvb_rndis_ctl r;

	memset(&r, 0, sizeof(r));
	r.type = PVB_RNDIS_QUERY_CMPLT;
	r.request_id = c->request_id;
	r.status = vsp_query_info(h, c->oid, info, &r.info_len);
	return pvb_rndis_ctl_encode(&r, info, buf, cap);
}

/*
 * OFFLOAD_PARAMETERS: what the guest turns on, within the offer. A
 * malformed object or a value outside its field is INVALID_DATA, a wish
 * beyond the offer NOT_SUPPORTED; either leaves the channel as it was.
 */
static uint32_t
vsp_set_offload(struct pvb_vsp *h, const struct pvb_rndis_ctl *c, const void *msg)
{
	uint8_t v[PVB_NDIS_PARAMS_SIZE];
	uint32_t offered = pvb_vsp_offload_offered(h);
	uint32_t n = c->info_len < sizeof(v) ? c->info_len : (uint32_t)sizeof(v);
	int rc;

	if (offered == 0)
		return PVB_RNDIS_STATUS_NOT_SUPPORTED;
	if (c->info_len < PVB_NDIS_PARAMS_SIZE_1 || c->info_len > 4096)
		return PVB_RNDIS_STATUS_INVALID_DATA;
	/* the one read of the object; a size beyond the copy is refused by the header check */
	memcpy(v, (const uint8_t *)msg + c->info_off, n);
	rc = pvb_ndis_params_apply(v, n, offered, &h->offload);
	if (rc == -ENOTSUP)
		return PVB_RNDIS_STATUS_NOT_SUPPORTED;
	return rc == 0 ? PVB_RNDIS_STATUS_SUCCESS : PVB_RNDIS_STATUS_INVALID_DATA;
}

/*
 * RECEIVE_SCALE_PARAMETERS: the guest's key, hash types and table of
 * channels, each entry below the channels it has (the primary and the
 * subchannels granted). Malformed: INVALID_DATA; well formed but not what
 * this host computes: NOT_SUPPORTED; either leaves RSS as it was.
 */
static uint32_t
vsp_set_rss(struct pvb_vsp *h, const struct pvb_rndis_ctl *c, const void *msg)
{
	struct pvb_rss_conf rss;
	int rc;

	if (c->info_len < PVB_NDIS_RSS_PARAMS_SIZE || c->info_len > 4096)
		return PVB_RNDIS_STATUS_INVALID_DATA;
	/* info_off + info_len lie inside the message (pvb_rndis_ctl_decode()) */
	rc = pvb_ndis_rss_params_decode((const uint8_t *)msg + c->info_off, c->info_len,
					1 + h->subch_granted, &rss);
	if (rc == -ENOTSUP)
		return PVB_RNDIS_STATUS_NOT_SUPPORTED;
	if (rc != 0)
		return PVB_RNDIS_STATUS_INVALID_DATA;
	h->rss = rss;
	h->rss_gen++;
	return PVB_RNDIS_STATUS_SUCCESS;
}

/* SET: the packet filter (§3.6: 0 stops RX), the offload and the RSS parameters. */
static int
vsp_rndis_set(struct pvb_vsp *h, const struct pvb_rndis_ctl *c, const void *msg, void *buf,
	      uint32_t cap)
{
	uint32_t status = PVB_RNDIS_STATUS_NOT_SUPPORTED;
	uint8_t v[4];

	if (c->oid == PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS)
		status = vsp_set_offload(h, c, msg);
	if (c->oid == PVB_RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS)
		status = vsp_set_rss(h, c, msg);
	if (c->oid == PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER) {
		status = PVB_RNDIS_STATUS_INVALID_DATA;
		if (c->info_len == sizeof(v)) {
			/* the one read of the value; the guest may rewrite its bytes */
			memcpy(v, (const uint8_t *)msg + c->info_off, sizeof(v));
			h->filter = pvb_nvsp_get_le32(v);
			status = PVB_RNDIS_STATUS_SUCCESS;
		}
	}
	return vsp_reply_status(c, PVB_RNDIS_SET_CMPLT, status, buf, cap);
}

/* The completion type of request @p type, 0 for requests without one. */
static uint32_t
vsp_cmplt_type(uint32_t type)
{
	switch (type) {
	case PVB_RNDIS_QUERY_MSG:
		return PVB_RNDIS_QUERY_CMPLT;
	case PVB_RNDIS_SET_MSG:
		return PVB_RNDIS_SET_CMPLT;
	case PVB_RNDIS_KEEPALIVE_MSG:
		return PVB_RNDIS_KEEPALIVE_CMPLT;
	case PVB_RNDIS_RESET_MSG:
		return PVB_RNDIS_RESET_CMPLT;
	}
	return 0;
}

/* QUERY, SET, KEEPALIVE, RESET: answered with FAILURE unless RNDIS is ready. */
static int
vsp_rndis_request(struct pvb_vsp *h, const struct pvb_rndis_ctl *c, const void *msg,
		  void *buf, uint32_t cap)
{
	uint32_t type = vsp_cmplt_type(c->type);

	if (h->state != PVB_VSP_RNDIS_READY)
		return vsp_reply_status(c, type, PVB_RNDIS_STATUS_FAILURE, buf, cap);
	switch (c->type) {
	case PVB_RNDIS_QUERY_MSG:
		return vsp_rndis_query(h, c, buf, cap);
	case PVB_RNDIS_SET_MSG:
		return vsp_rndis_set(h, c, msg, buf, cap);
	case PVB_RNDIS_KEEPALIVE_MSG:
		return vsp_reply_status(c, type, PVB_RNDIS_STATUS_SUCCESS, buf, cap);
	default:	/* RESET: OpenVMM does not implement it either */
		return vsp_reply_status(c, type, PVB_RNDIS_STATUS_NOT_SUPPORTED, buf, cap);
	}
}

int
pvb_vsp_rndis(struct pvb_vsp *h, const struct pvb_rndis_ctl *c, const void *msg,
	      void *reply, uint32_t cap)
{
	if (h == NULL || c == NULL || reply == NULL)
		return -EINVAL;
	if (h->state == PVB_VSP_FAILED)
		return -EPROTO;
	/* the decoder put the info buffer inside len; msg must hold it */
	if (c->info_len != 0 && (msg == NULL || (uint64_t)c->info_off + c->info_len > c->len))
		return -EINVAL;
	if (c->type & RNDIS_COMPLETION_BIT)
		return vsp_fail(h, "RNDIS completion from the guest");
	switch (c->type) {
	case PVB_RNDIS_INITIALIZE_MSG:
		return vsp_rndis_init(h, c, reply, cap);
	case PVB_RNDIS_HALT_MSG:
		/* no completion (§3.1); nothing more goes to the guest */
		h->state = PVB_VSP_HALTED;
		h->filter = 0;
		return 0;
	case PVB_RNDIS_QUERY_MSG:
	case PVB_RNDIS_SET_MSG:
	case PVB_RNDIS_KEEPALIVE_MSG:
	case PVB_RNDIS_RESET_MSG:
		return vsp_rndis_request(h, c, msg, reply, cap);
	default:
		return vsp_fail(h, "RNDIS message a guest does not send");
	}
}

int
pvb_vsp_link_indication(bool up, void *buf, uint32_t cap)
{
	struct pvb_rndis_ctl r;

	memset(&r, 0, sizeof(r));
	r.type = PVB_RNDIS_INDICATE_STATUS_MSG;
	r.status = up ? PVB_RNDIS_STATUS_MEDIA_CONNECT : PVB_RNDIS_STATUS_MEDIA_DISCONNECT;
	return pvb_rndis_ctl_encode(&r, NULL, buf, cap);
}
