/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * libFuzzer target: lib/netvsc's control state machines (pvb_vsp, pvb_vsc)
 * driven by a hostile peer.
 *
 * Byte 0 of the input picks a mode (% 3); the rest is read front to back,
 * as zeros past its end:
 *
 *  HOST   the fuzzer is the guest. A header (host settings; the sizes of the
 *         two GPADLs the guest gave in its OPEN), then chunks [tag][len][bytes]:
 *         tag bit 0 set, RNDIS control bytes (pvb_rndis_ctl_decode, then
 *         pvb_vsp_rndis into a reply of 256 bytes, the documented minimum),
 *         else NVSP bytes (pvb_nvsp_decode, then pvb_vsp_nvsp unless 107/108).
 *  GUEST  the fuzzer is the host. A header (guest settings), then records:
 *         pump pvb_vsc_next() as the PMD does; answer the request outstanding
 *         with a message built by the codecs from 16 parameter bytes (valid,
 *         or with one byte broken in transit); raw NVSP or RNDIS bytes; a
 *         link indication or a 108; pvb_vsc_set_filter(); pvb_vsc_halt().
 *  PAIR   a real guest and a real host talk through the codecs. Records of
 *         8 bytes say what the wire does to each message each way (nothing,
 *         truncate, overwrite or flip a byte), or make the guest change its
 *         filter or halt, the host indicate the link, the wire replay a message.
 *
 * Every message from a peer sits in a heap block of exactly its length and
 * the host's reply buffer is exactly 256 bytes, so ASan sees any access past
 * them. After every step the invariants below are checked; a violation
 * aborts, which libFuzzer reports.
 *  - host: each result is the one doc/nvsp.md §2.4 and pvb_nvsp.h give for the state
 *    (a small reference here); replies decode again and carry what the state
 *    holds; slots and sections fit in their GPADL and in u32 offsets; the
 *    filter is 0 unless RNDIS is ready (so 0 when halted or failed); the
 *    state never goes back; once FAILED every call answers -EPROTO and
 *    changes nothing; the reply length is <= cap and nothing is written past it.
 *  - guest: actions are well formed (NVSP that encodes and decodes to itself,
 *    rndis_len within rndis and decoding to that length, the request of the
 *    state it is in); a completion nobody asked for, or carrying another
 *    request id, fails the channel; what READY rests on passed its checks
 *    (slot and section sizes, alignment, packets per message, MTU, and the
 *    MAC and MTU are the ones the host answered); nothing moves after
 *    FAILED; the guest never sends without end.
 *  - pair: after a bounded number of steps the guest is READY, FAILED or
 *    HALTED, or waits for an answer the wire lost. With nothing perturbed
 *    neither side fails, and either both are ready and agree on every
 *    negotiated value, or the guest failed because the host's settings are
 *    ones it must refuse.
 *
 * Blind mutation seldom gets through the init sequence, so the custom
 * mutator now and then plants inputs that do: the guest's half of a real
 * init (HOST), valid answers to every request (GUEST), a quiet wire (PAIR).
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pvb_nvsp.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define MODE_HOST	0
#define MODE_GUEST	1
#define MODE_PAIR	2
#define GPADL_RECV	0x11u		/* the two GPADLs the host knows */
#define GPADL_SEND	0x22u
#define REPLY_CAP	256u		/* pvb_vsp_rndis(): cap >= 256 */
#define POISON		0xa5
#define PARAMS		16		/* parameter bytes of a GUEST answer */
#define REC		8		/* bytes of a PAIR record */
#define PUMP_MAX	8		/* messages a guest may send without waiting, and more */
#define PAIR_STEPS	96		/* PAIR records looked at */
#define DRAIN_MAX	48		/* exchanges a quiet wire needs to settle, and more */
#define PLANT_ONE_IN	4		/* mutations that plant an input, one in this many */
#define FILTER_BITS	0x7fffffffu	/* NDIS filter bits; the guest keeps these */
#define ETH_HLEN	14u
#define MTU_MIN		68u		/* IPv4's minimum */
#define MTU_MAX		65535u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Newest first, as a guest tries them (doc/nvsp.md §2.1). */
static const uint32_t nvsp_versions[] = {
	PVB_NVSP_VER_61, PVB_NVSP_VER_6, PVB_NVSP_VER_5,
	PVB_NVSP_VER_4, PVB_NVSP_VER_2, PVB_NVSP_VER_1,
};

#define NVERSIONS	(sizeof(nvsp_versions) / sizeof(nvsp_versions[0]))

/* ----------------------------------------------------------------------------
 * Bytes
 */

struct src {
	const uint8_t *p;
	size_t n, at;
};

static bool
src_empty(const struct src *s)
{
	return s->at >= s->n;
}

static uint8_t
take8(struct src *s)
{
	return s->at < s->n ? s->p[s->at++] : 0;
}

static uint32_t
take16(struct src *s)
{
	uint32_t v = take8(s);

	return v | (uint32_t)take8(s) << 8;
}

static uint32_t
take32(struct src *s)
{
	uint32_t v = take16(s);

	return v | take16(s) << 16;
}

/* Up to @p n bytes of the input, in place; *got says how many there were. */
static const uint8_t *
take_span(struct src *s, uint32_t n, uint32_t *got)
{
	const uint8_t *p = s->p + s->at;
	size_t left = s->n - s->at;

	*got = n < left ? n : (uint32_t)left;
	s->at += *got;
	return p;
}

/* @p n bytes into @p out, zeros past the end. */
static void
take_bytes(struct src *s, uint8_t *out, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		out[i] = take8(s);
}

static uint32_t
le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void
put_le32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

/* The peer's bytes in a block of exactly @p len bytes, so ASan sees a read past them. */
static uint8_t *
heap_copy(const uint8_t *b, uint32_t len)
{
	uint8_t *p = malloc(len != 0 ? len : 1);

	if (p == NULL)
		abort();
	if (len != 0)
		memcpy(p, b, len);
	return p;
}

/*
 * What the wire does to a message: f % 8 is 5 truncate (to pos % len),
 * 6 overwrite a byte, 7 flip a bit, anything else nothing. The new length.
 */
static uint32_t
perturb(uint8_t *b, uint32_t len, uint8_t f, uint8_t pos, uint8_t val)
{
	if (len == 0)
		return 0;
	switch (f % 8) {
	case 5:
		return pos % len;
	case 6:
		b[pos % len] = val;
		break;
	case 7:
		b[pos % len] ^= (uint8_t)(1u << (val % 8));
		break;
	default:
		break;
	}
	return len;
}

static bool
perturbs(uint8_t f)
{
	return f % 8 >= 5;
}

static bool
version_known(uint32_t v)
{
	size_t i;

	for (i = 0; i < NVERSIONS; i++)
		if (nvsp_versions[i] == v)
			return true;
	return false;
}

/* ----------------------------------------------------------------------------
 * The host under test
 */

struct host {
	struct pvb_vsp h;
	uint64_t gpadl_size[2];		/* GPADL_RECV, GPADL_SEND */
	bool ndis_config;		/* a SEND_NDIS_CONFIG was taken */
	bool had_buffer;		/* a buffer was ever taken */
};

static bool
gpadl_known(const struct host *H, uint32_t id, uint64_t *size)
{
	if (id == GPADL_RECV)
		*size = H->gpadl_size[0];
	else if (id == GPADL_SEND)
		*size = H->gpadl_size[1];
	else
		return false;
	return true;
}

static int
gpadl_cb(void *arg, uint32_t gpadl, uint64_t *size)
{
	return gpadl_known(arg, gpadl, size) ? 0 : -ENOENT;
}

/* A GPADL size from 0 to about 2^56: a 16-bit mantissa and a shift. */
static uint64_t
take_size(struct src *s)
{
	uint64_t m = take16(s);

	return m << (take8(s) % 41);
}

/*
 * Header: flags (bit 4: no offload), mtu (16 or 32 bits), [slot], [section], pkts,
 * [align], speed, mac, 2 sizes.
 */
static void
host_setup(struct host *H, struct src *s)
{
	struct pvb_vsp_config c;
	uint8_t f = take8(s);
	unsigned int i;

	memset(H, 0, sizeof(*H));
	memset(&c, 0, sizeof(c));
	c.mtu = f & 1 ? take32(s) : take16(s);
	c.rx_slot_size = f & 2 ? take32(s) : 0;
	c.send_section_size = f & 4 ? take32(s) : 0;
	c.max_pkts_per_msg = take8(s);
	c.align_factor = f & 8 ? take8(s) : 0;
	c.no_offload = (f & 16) != 0;
	/* bit 5: subchannels to grant, up to 64 (63 is the most a host gives) */
	c.max_subchannels = f & 32 ? take8(s) % 65 : 0;
	c.link_speed = take32(s);
	for (i = 0; i < sizeof(c.mac); i++)
		c.mac[i] = take8(s);
	H->gpadl_size[0] = take_size(s);
	H->gpadl_size[1] = take_size(s);
	pvb_vsp_init(&H->h, &c, gpadl_cb, H);
}

/* What holds in every state, whatever the guest sent. */
static void
check_host(const struct host *H)
{
	const struct pvb_vsp *h = &H->h;
	uint64_t size = 0;

	CHECK(h->state <= PVB_VSP_FAILED);
	CHECK((h->state == PVB_VSP_FAILED) == (h->why != NULL));
	CHECK(h->protocol_errors == (h->state == PVB_VSP_FAILED ? 1u : 0u));
	/* nothing goes to the guest unless RNDIS is up: 0 when halted or failed */
	CHECK(h->filter == 0 || h->state == PVB_VSP_RNDIS_READY);
	CHECK(pvb_vsp_rx_enabled(h) == (h->state == PVB_VSP_RNDIS_READY && h->filter != 0));
	if (h->state >= PVB_VSP_NEGOTIATED && h->state <= PVB_VSP_RNDIS_READY)
		CHECK(version_known(h->nvsp_ver));
	if (h->state == PVB_VSP_BUFFERS || h->state == PVB_VSP_RNDIS_READY)
		CHECK(h->have_recv_buf && h->have_send_buf);
	/* OpenVMM's clamp of the guest's frame size */
	CHECK(h->guest_frame == 0 || (h->guest_frame >= 1514 && h->guest_frame <= 9216));
	if (h->have_recv_buf) {
		/* transfer-page offsets are u32: the whole section ends inside 4 GiB */
		CHECK(gpadl_known(H, h->recv_gpadl, &size));
		CHECK(h->slot_size == h->cfg.rx_slot_size && h->slot_count != 0);
		CHECK((uint64_t)h->slot_size * h->slot_count <= size);
		CHECK((uint64_t)h->slot_size * h->slot_count <= UINT32_MAX);
	}
	if (h->have_send_buf) {
		CHECK(gpadl_known(H, h->send_gpadl, &size));
		CHECK(h->section_size == h->cfg.send_section_size && h->section_count != 0);
		CHECK((uint64_t)h->section_size * h->section_count <= size);
	}
}

/* The reference: what pvb_vsp_nvsp() must return for @p in in the state before (§2.4). */
static int
ref_vsp_nvsp(const struct host *H, const struct pvb_nvsp_msg *in)
{
	const struct pvb_vsp *h = &H->h;
	bool held;

	if (h->state == PVB_VSP_FAILED)
		return -EPROTO;
	switch (in->type) {
	case PVB_NVSP_INIT:
		return h->state == PVB_VSP_WAIT_INIT ? 1 : -EPROTO;
	case PVB_NVSP_SEND_NDIS_VER:
		return h->state == PVB_VSP_NEGOTIATED ? 0 : -EPROTO;
	case PVB_NVSP_SEND_NDIS_CONFIG:
		return h->state == PVB_VSP_NEGOTIATED && h->nvsp_ver >= PVB_NVSP_VER_2 ?
		       0 : -EPROTO;
	case PVB_NVSP_SEND_RECV_BUF:
	case PVB_NVSP_SEND_SEND_BUF:
		/* once each, while negotiating, and from v2 on after SEND_NDIS_CONFIG */
		held = in->type == PVB_NVSP_SEND_RECV_BUF ? h->have_recv_buf : h->have_send_buf;
		return h->state == PVB_VSP_NEGOTIATED && !held &&
		       (h->nvsp_ver < PVB_NVSP_VER_2 || H->ndis_config) ? 1 : -EPROTO;
	case PVB_NVSP_REVOKE_RECV_BUF:
	case PVB_NVSP_REVOKE_SEND_BUF:
		return h->state != PVB_VSP_WAIT_INIT ? 0 : -EPROTO;
	case PVB_NVSP_SUBCHANNEL:
		return 1;	/* granted or refused with a status, never a violation */
	default:
		return -EPROTO;
	}
}

/* 133: granted once, after RNDIS, at most what was asked and what the host has. */
static void
check_subchannel_reply(const struct host *H, const struct pvb_vsp *before,
		       const struct pvb_nvsp_msg *in, const struct pvb_nvsp_msg *r)
{
	const struct pvb_vsp *h = &H->h;
	uint32_t max = h->cfg.max_subchannels < 63 ? h->cfg.max_subchannels : 63;
	bool ok = before->nvsp_ver >= PVB_NVSP_VER_5 && before->state == PVB_VSP_RNDIS_READY &&
		  !before->subch_asked && in->u.subchannel.op_or_status == PVB_NVSP_SUBCH_ALLOCATE &&
		  in->u.subchannel.num != 0;

	CHECK(r->type == PVB_NVSP_SUBCHANNEL && h->state == before->state);
	if (!ok) {
		CHECK(r->u.subchannel.op_or_status == PVB_NVSP_STAT_FAIL);
		CHECK(h->subch_granted == before->subch_granted);
		return;
	}
	CHECK(r->u.subchannel.op_or_status == PVB_NVSP_STAT_SUCCESS && h->subch_asked);
	CHECK(r->u.subchannel.num == h->subch_granted);
	CHECK(h->subch_granted == (in->u.subchannel.num < max ? in->u.subchannel.num : max));
}

static uint32_t
ref_units(uint64_t size, uint32_t unit, uint64_t cap)
{
	uint64_t n = size / unit;

	return (uint32_t)(n < cap ? n : cap);
}

/* 102: one section of the configured slots, as many as the GPADL holds (0: refused). */
static void
check_recv_buf_reply(const struct host *H, const struct pvb_vsp *before,
		     const struct pvb_nvsp_msg *in, const struct pvb_nvsp_msg *r)
{
	const struct pvb_vsp *h = &H->h;
	uint32_t slot = h->cfg.rx_slot_size, n = 0;
	uint64_t size;

	CHECK(r->type == PVB_NVSP_SEND_RECV_BUF_COMPLETE);
	if (gpadl_known(H, in->u.send_buf.gpadl, &size))
		n = ref_units(size, slot, UINT32_MAX / slot);
	if (n == 0) {
		CHECK(r->u.recv_buf_complete.status != PVB_NVSP_STAT_SUCCESS);
		CHECK(!h->have_recv_buf && h->state == before->state);
		return;
	}
	CHECK(r->u.recv_buf_complete.status == PVB_NVSP_STAT_SUCCESS);
	CHECK(r->u.recv_buf_complete.num_sections == 1);
	CHECK(r->u.recv_buf_complete.section.offset == 0);
	CHECK(r->u.recv_buf_complete.section.sub_alloc_size == slot);
	CHECK(r->u.recv_buf_complete.section.num_sub_allocs == n);
	CHECK(r->u.recv_buf_complete.section.end_offset == (uint64_t)slot * n);
	CHECK(h->have_recv_buf && h->recv_gpadl == in->u.send_buf.gpadl && h->slot_count == n);
	CHECK(h->state == (before->have_send_buf ? PVB_VSP_BUFFERS : PVB_VSP_NEGOTIATED));
}

/* 105: the configured section size, as many sections as the GPADL holds (0: refused). */
static void
check_send_buf_reply(const struct host *H, const struct pvb_vsp *before,
		     const struct pvb_nvsp_msg *in, const struct pvb_nvsp_msg *r)
{
	const struct pvb_vsp *h = &H->h;
	uint32_t unit = h->cfg.send_section_size, n = 0;
	uint64_t size;

	CHECK(r->type == PVB_NVSP_SEND_SEND_BUF_COMPLETE);
	if (gpadl_known(H, in->u.send_buf.gpadl, &size))
		n = ref_units(size, unit, UINT32_MAX);
	if (n == 0) {
		CHECK(r->u.send_buf_complete.status != PVB_NVSP_STAT_SUCCESS);
		CHECK(!h->have_send_buf && h->state == before->state);
		return;
	}
	CHECK(r->u.send_buf_complete.status == PVB_NVSP_STAT_SUCCESS);
	CHECK(r->u.send_buf_complete.section_size == unit);
	CHECK(h->have_send_buf && h->send_gpadl == in->u.send_buf.gpadl);
	CHECK(h->section_count == n);
	CHECK(h->state == (before->have_recv_buf ? PVB_VSP_BUFFERS : PVB_VSP_NEGOTIATED));
}

static void
check_nvsp_reply(const struct host *H, const struct pvb_vsp *before,
		 const struct pvb_nvsp_msg *in, const struct pvb_nvsp_msg *r)
{
	const struct pvb_vsp *h = &H->h;
	uint8_t b[PVB_NVSP_MSG_SIZE];
	struct pvb_nvsp_msg back;

	/* it goes on the wire: it must decode to itself */
	CHECK(pvb_nvsp_encode(r, b) == PVB_NVSP_MSG_SIZE);
	CHECK(pvb_nvsp_decode(b, sizeof(b), &back) == 0);
	CHECK(memcmp(&back, r, sizeof(back)) == 0);
	switch (in->type) {
	case PVB_NVSP_INIT:
		CHECK(r->type == PVB_NVSP_INIT_COMPLETE);
		if (!version_known(in->u.init.min_ver)) {
			/* a refusal the guest can fall back from */
			CHECK(r->u.init_complete.status != PVB_NVSP_STAT_SUCCESS);
			CHECK(h->state == PVB_VSP_WAIT_INIT);
			break;
		}
		CHECK(r->u.init_complete.status == PVB_NVSP_STAT_SUCCESS);
		CHECK(h->state == PVB_VSP_NEGOTIATED && h->nvsp_ver == in->u.init.min_ver);
		break;
	case PVB_NVSP_SEND_RECV_BUF:
		check_recv_buf_reply(H, before, in, r);
		break;
	case PVB_NVSP_SUBCHANNEL:
		check_subchannel_reply(H, before, in, r);
		break;
	default:
		CHECK(in->type == PVB_NVSP_SEND_SEND_BUF);
		check_send_buf_reply(H, before, in, r);
		break;
	}
}

/* An NVSP message taken without a reply. */
static void
check_nvsp_quiet(struct host *H, const struct pvb_vsp *before, const struct pvb_nvsp_msg *in)
{
	const struct pvb_vsp *h = &H->h;
	uint32_t f = in->u.ndis_config.mtu;

	switch (in->type) {
	case PVB_NVSP_SEND_NDIS_CONFIG:
		H->ndis_config = true;
		CHECK(h->guest_frame == (f >= 1514 && f <= 9216 ? f : 1514));
		CHECK(h->state == before->state);
		break;
	case PVB_NVSP_SEND_NDIS_VER:
		CHECK(h->state == before->state);
		break;
	case PVB_NVSP_REVOKE_RECV_BUF:
		CHECK(h->state == PVB_VSP_HALTED && !h->have_recv_buf);
		break;
	default:
		CHECK(in->type == PVB_NVSP_REVOKE_SEND_BUF);
		CHECK(h->state == PVB_VSP_HALTED && !h->have_send_buf);
		break;
	}
}

/*
 * The guest's NVSP bytes as the host PMD gets them. Its reply (encoded, 40
 * bytes) into @p out: the bytes written, 0 when there is none.
 */
static uint32_t
host_nvsp(struct host *H, const uint8_t *bytes, uint32_t len, uint8_t *out)
{
	struct pvb_nvsp_msg in, reply;
	struct pvb_vsp before;
	uint8_t *msg = heap_copy(bytes, len);
	int rc = pvb_nvsp_decode(msg, len, &in), ref;

	free(msg);
	/* 107 and 108 are the datapath's (or RNDIS control, handed over decoded) */
	if (rc != 0 || in.type == PVB_NVSP_SEND_RNDIS_PKT ||
	    in.type == PVB_NVSP_SEND_RNDIS_PKT_COMPLETE)
		return 0;
	memcpy(&before, &H->h, sizeof(before));
	ref = ref_vsp_nvsp(H, &in);
	rc = pvb_vsp_nvsp(&H->h, &in, &reply);
	CHECK(rc == ref);
	if (before.state == PVB_VSP_FAILED)
		CHECK(memcmp(&H->h, &before, sizeof(before)) == 0);
	CHECK(H->h.state >= before.state);
	CHECK((rc == -EPROTO) == (H->h.state == PVB_VSP_FAILED));
	if (rc == 0)
		check_nvsp_quiet(H, &before, &in);
	if (rc == 1)
		check_nvsp_reply(H, &before, &in, &reply);
	H->had_buffer |= H->h.have_recv_buf || H->h.have_send_buf;
	check_host(H);
	if (rc != 1)
		return 0;
	return pvb_nvsp_encode(&reply, out);
}

/* The completion a guest's RNDIS request gets, 0 if it has none or is not one. */
static uint32_t
cmplt_of(uint32_t type)
{
	switch (type) {
	case PVB_RNDIS_INITIALIZE_MSG:
	case PVB_RNDIS_QUERY_MSG:
	case PVB_RNDIS_SET_MSG:
	case PVB_RNDIS_RESET_MSG:
	case PVB_RNDIS_KEEPALIVE_MSG:
		return type | 0x80000000u;
	default:
		return 0;
	}
}

static void
check_init_cmplt(const struct host *H, const struct pvb_vsp *before,
		 const struct pvb_rndis_ctl *r)
{
	const struct pvb_vsp *h = &H->h;

	/* once, with both buffers held */
	if (before->state != PVB_VSP_BUFFERS) {
		CHECK(r->status == PVB_RNDIS_STATUS_FAILURE && h->state == before->state);
		return;
	}
	CHECK(r->status == PVB_RNDIS_STATUS_SUCCESS && h->state == PVB_VSP_RNDIS_READY);
	CHECK(r->major == PVB_RNDIS_MAJOR && r->minor == PVB_RNDIS_MINOR && r->medium == 0);
	CHECK(r->max_packets_per_message == h->cfg.max_pkts_per_msg);
	CHECK(r->max_transfer_size == h->cfg.send_section_size);
	CHECK(r->packet_alignment_factor == h->cfg.align_factor);
}

/* What a QUERY that succeeds says: the host's settings and state, at their sizes (§3.5). */
static void
check_query_cmplt(const struct host *H, const struct pvb_rndis_ctl *c,
		  const struct pvb_rndis_ctl *r, const uint8_t *reply)
{
	const struct pvb_vsp *h = &H->h;
	const uint8_t *info = reply + r->info_off;

	if (r->status != PVB_RNDIS_STATUS_SUCCESS) {
		CHECK(r->info_len == 0);
		return;
	}
	switch (c->oid) {
	case PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS:
	case PVB_RNDIS_OID_802_3_CURRENT_ADDRESS:
		CHECK(r->info_len == 6 && memcmp(info, h->cfg.mac, 6) == 0);
		break;
	case PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE:
		CHECK(r->info_len == 4 && le32(info) == h->cfg.mtu);
		break;
	case PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
		CHECK(r->info_len == 4 && le32(info) == h->filter);
		break;
	case PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS:
		CHECK(r->info_len == 4 && le32(info) <= 1);
		break;
	case PVB_RNDIS_OID_GEN_LINK_SPEED:
	case PVB_RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE:
		CHECK(r->info_len == 4);
		break;
	case PVB_RNDIS_OID_GEN_SUPPORTED_LIST:
		CHECK(r->info_len != 0 && r->info_len % 4 == 0);
		break;
	case PVB_RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES: {
		uint32_t nrxr = 0, types = 0;

		/* the primary and every subchannel this host may grant */
		CHECK(pvb_ndis_rss_caps_decode(info, r->info_len, &nrxr, &types) == 0);
		CHECK(nrxr == 1 + (h->cfg.max_subchannels < 63 ? h->cfg.max_subchannels : 63));
		break;
	}
	case PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:
	case PVB_RNDIS_OID_TCP_OFFLOAD_CURRENT_CONFIG: {
		uint32_t mask;

		/* an NDIS_OFFLOAD of the guest's NDIS version: the offer, or what is on */
		CHECK(!h->cfg.no_offload);
		CHECK(pvb_ndis_offload_decode(info, r->info_len, &mask) == 0);
		CHECK(mask == (c->oid == PVB_RNDIS_OID_TCP_OFFLOAD_CURRENT_CONFIG ? h->offload :
			       pvb_vsp_offload_offered(h)));
		break;
	}
	default:
		CHECK(0);	/* success for an OID the host does not know */
	}
}

/*
 * SET: the packet filter is taken when it is a u32, the offload parameters
 * within the offer; anything else changes nothing.
 */
static void
check_set_cmplt(const struct host *H, const struct pvb_vsp *before,
		const struct pvb_rndis_ctl *c, const uint8_t *msg, const struct pvb_rndis_ctl *r)
{
	if (c->oid != PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS)
		CHECK(H->h.offload == before->offload);
	if (c->oid != PVB_RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS)
		CHECK(H->h.rss_gen == before->rss_gen);
	if (c->oid == PVB_RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS) {
		uint32_t i;

		/* applied: every entry names a channel the guest has; refused: nothing moved */
		CHECK(H->h.filter == before->filter);
		if (r->status != PVB_RNDIS_STATUS_SUCCESS) {
			CHECK(H->h.rss_gen == before->rss_gen &&
			      memcmp(&H->h.rss, &before->rss, sizeof(H->h.rss)) == 0);
			return;
		}
		CHECK(H->h.rss_gen == before->rss_gen + 1);
		for (i = 0; H->h.rss.enabled && i < PVB_NDIS_RSS_TABLE_N; i++)
			CHECK(H->h.rss.table[i] <= H->h.subch_granted);
		CHECK((H->h.rss.hash_types & ~PVB_RSS_HASH_SUPPORTED) == 0);
		return;
	}
	if (c->oid == PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS) {
		CHECK(H->h.filter == before->filter);
		if (r->status != PVB_RNDIS_STATUS_SUCCESS)
			CHECK(H->h.offload == before->offload);
		else
			CHECK(!H->h.cfg.no_offload &&
			      (H->h.offload & ~pvb_vsp_offload_offered(&H->h)) == 0);
		return;
	}
	if (c->oid == PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER && c->info_len == 4) {
		CHECK(r->status == PVB_RNDIS_STATUS_SUCCESS);
		CHECK(H->h.filter == le32(msg + c->info_off));
		return;
	}
	CHECK(r->status != PVB_RNDIS_STATUS_SUCCESS && H->h.filter == before->filter);
}

/* A request's completion, decoded from what went into the reply buffer. */
static void
check_rndis_reply(const struct host *H, const struct pvb_vsp *before,
		  const struct pvb_rndis_ctl *c, const uint8_t *msg, const uint8_t *reply, int rc)
{
	struct pvb_rndis_ctl r;

	CHECK(rc > 0);
	CHECK(pvb_rndis_ctl_decode(reply, (uint32_t)rc, &r) == 0);
	CHECK(r.len == (uint32_t)rc && r.type == cmplt_of(c->type));
	if (c->type != PVB_RNDIS_RESET_MSG)	/* RESET carries no request id */
		CHECK(r.request_id == c->request_id);
	if (c->type == PVB_RNDIS_INITIALIZE_MSG) {
		check_init_cmplt(H, before, &r);
		return;
	}
	CHECK(H->h.state == before->state);
	if (c->type != PVB_RNDIS_SET_MSG || before->state != PVB_VSP_RNDIS_READY)
		CHECK(H->h.filter == before->filter);
	if (before->state != PVB_VSP_RNDIS_READY) {
		CHECK(r.status == PVB_RNDIS_STATUS_FAILURE);
		return;
	}
	if (c->type == PVB_RNDIS_QUERY_MSG)
		check_query_cmplt(H, c, &r, reply);
	else if (c->type == PVB_RNDIS_SET_MSG)
		check_set_cmplt(H, before, c, msg, &r);
	else if (c->type == PVB_RNDIS_KEEPALIVE_MSG)
		CHECK(r.status == PVB_RNDIS_STATUS_SUCCESS);
	else
		CHECK(r.status != PVB_RNDIS_STATUS_SUCCESS);
}

static void
check_poison(const uint8_t *b, uint32_t from, uint32_t to)
{
	uint32_t i;

	for (i = from; i < to; i++)
		CHECK(b[i] == POISON);
}

static void
check_rndis_result(const struct host *H, const struct pvb_vsp *before,
		   const struct pvb_rndis_ctl *c, const uint8_t *msg, const uint8_t *reply, int rc)
{
	const struct pvb_vsp *h = &H->h;

	if (before->state == PVB_VSP_FAILED) {
		CHECK(rc == -EPROTO && memcmp(h, before, sizeof(*h)) == 0);
		check_poison(reply, 0, REPLY_CAP);
		return;
	}
	CHECK(rc == -EPROTO || (rc >= 0 && rc <= (int)REPLY_CAP));
	check_poison(reply, rc > 0 ? (uint32_t)rc : 0, REPLY_CAP);
	CHECK(h->state >= before->state);
	CHECK((rc == -EPROTO) == (h->state == PVB_VSP_FAILED));
	if (c->type == PVB_RNDIS_HALT_MSG) {
		CHECK(rc == 0 && h->state == PVB_VSP_HALTED && h->filter == 0);
		return;
	}
	if (cmplt_of(c->type) == 0) {
		CHECK(rc == -EPROTO);	/* completions and indications are the host's to send */
		return;
	}
	check_rndis_reply(H, before, c, msg, reply, rc);
}

/*
 * The guest's RNDIS control bytes as the host PMD gets them (inside a 107).
 * The completion into @p out (REPLY_CAP bytes): its length, 0 when none.
 */
static uint32_t
host_rndis(struct host *H, const uint8_t *bytes, uint32_t len, uint8_t *out)
{
	struct pvb_rndis_ctl c;
	struct pvb_vsp before;
	uint8_t *msg = heap_copy(bytes, len), *reply;
	int rc;

	if (pvb_rndis_ctl_decode(msg, len, &c) != 0) {
		free(msg);
		return 0;
	}
	reply = malloc(REPLY_CAP);
	if (reply == NULL)
		abort();
	memset(reply, POISON, REPLY_CAP);
	memcpy(&before, &H->h, sizeof(before));
	rc = pvb_vsp_rndis(&H->h, &c, msg, reply, REPLY_CAP);
	check_rndis_result(H, &before, &c, msg, reply, rc);
	check_host(H);
	if (rc > 0)
		memcpy(out, reply, (size_t)rc);
	free(reply);
	free(msg);
	return rc > 0 ? (uint32_t)rc : 0;
}

/* ----------------------------------------------------------------------------
 * The guest under test
 */

struct guest {
	struct pvb_vsc g;
	struct pvb_vsc_action req;	/* the last action that wanted a completion */
	struct pvb_rndis_ctl req_ctl;	/* it decoded, when it is RNDIS */
	bool have_req;
	bool mac_seen, mtu_seen;	/* answers to those queries the guest took */
	uint8_t mac[6];
	uint32_t mtu;
};

/*
 * Header: flags, version choice, mtu (16 or 32 bits), [recv gpadl], [send gpadl],
 * [min ver], [offload mask].
 */
static void
guest_setup(struct guest *G, struct src *s)
{
	struct pvb_vsc_config c;
	uint8_t f = take8(s);
	uint8_t v = take8(s);

	memset(G, 0, sizeof(*G));
	memset(&c, 0, sizeof(c));
	c.mtu = f & 1 ? take32(s) : take16(s);
	c.recv_gpadl = f & 2 ? take32(s) : GPADL_RECV;
	c.send_gpadl = f & 4 ? take32(s) : GPADL_SEND;
	c.min_nvsp_ver = v % 8 == 7 ? take32(s) : v % 8 == 0 ? 0 : nvsp_versions[v % 8 - 1];
	/* bit 3: ask for every offload; bit 4: for some */
	c.offload = f & 8 ? PVB_OFL_ALL : f & 16 ? take16(s) & PVB_OFL_ALL : 0;
	/* bit 5: subchannels to ask for */
	c.subchannels = f & 32 ? take8(s) : 0;
	pvb_vsc_init(&G->g, &c);
}

static bool
power_of_two(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* The values each state rests on, as the guest checked them when they came. */
static void
check_guest_values(const struct guest *G)
{
	const struct pvb_vsc *g = &G->g;

	if (g->state >= PVB_VSC_WAIT_RECV_BUF && g->state <= PVB_VSC_READY)
		CHECK(version_known(g->nvsp_ver) && g->nvsp_ver >= g->cfg.min_nvsp_ver);
	if (g->state >= PVB_VSC_WAIT_SEND_BUF && g->state <= PVB_VSC_READY) {
		/* room for a PACKET_MSG header and a minimal frame; offsets fit u32 */
		CHECK(g->slot_size >= PVB_RNDIS_PACKET_HDR_SIZE + ETH_HLEN && g->slot_count != 0);
		CHECK((uint64_t)g->slot_size * g->slot_count <= UINT32_MAX);
	}
	if (g->state >= PVB_VSC_WAIT_RNDIS_INIT && g->state <= PVB_VSC_READY)
		CHECK(g->section_size != 0 && g->section_size % 4 == 0);
	if (g->state >= PVB_VSC_WAIT_QUERY && g->state <= PVB_VSC_READY) {
		CHECK(power_of_two(g->align) && g->align >= 4);
		CHECK(g->max_pkts_per_msg >= 1 && g->max_xfer <= g->section_size);
	}
	if (g->state == PVB_VSC_READY) {
		CHECK(G->mac_seen && memcmp(g->mac, G->mac, sizeof(g->mac)) == 0);
		CHECK(G->mtu_seen && g->mtu == G->mtu);
		CHECK(g->mtu >= MTU_MIN && g->mtu <= MTU_MAX);
	}
}

static void
check_guest(const struct guest *G)
{
	const struct pvb_vsc *g = &G->g;

	CHECK(g->state <= PVB_VSC_FAILED);
	CHECK((g->state == PVB_VSC_FAILED) == (g->why != NULL));
	CHECK(g->protocol_errors == (g->state == PVB_VSC_FAILED ? 1u : 0u));
	CHECK(g->next_req != 0);
	CHECK(g->pending_req == 0 || g->sent);
	CHECK((g->want_filter & ~FILTER_BITS) == 0);
	if (g->state == PVB_VSC_FAILED)
		CHECK(!g->sent && g->pending_req == 0);
	if (g->state == PVB_VSC_INIT)
		CHECK(!g->sent);
	if (g->state == PVB_VSC_WAIT_INIT)
		CHECK(g->sent && g->pending_req == 0);
	check_guest_values(G);
}

/* The result of feeding the guest: 0 or -EPROTO, and -EPROTO exactly when it failed. */
static void
check_guest_rc(const struct guest *G, const struct pvb_vsc *before, int rc)
{
	const struct pvb_vsc *g = &G->g;

	if (before->state == PVB_VSC_FAILED) {
		CHECK(rc == -EPROTO && memcmp(g, before, sizeof(*g)) == 0);
		return;
	}
	CHECK(rc == 0 || rc == -EPROTO);
	CHECK((rc == -EPROTO) == (g->state == PVB_VSC_FAILED));
	/* forward only, but for a refused version, which goes back to INIT for the next one */
	CHECK(g->state >= before->state ||
	      (before->state == PVB_VSC_WAIT_INIT && g->state == PVB_VSC_INIT));
}

static void
check_nvsp_action(const struct pvb_vsc *g, const struct pvb_vsc *before,
		  const struct pvb_vsc_action *a)
{
	const struct pvb_nvsp_msg *m = &a->nvsp;
	uint8_t b[PVB_NVSP_MSG_SIZE];
	struct pvb_nvsp_msg back;

	CHECK(pvb_nvsp_encode(m, b) == PVB_NVSP_MSG_SIZE);
	CHECK(pvb_nvsp_decode(b, sizeof(b), &back) == 0 && memcmp(&back, m, sizeof(back)) == 0);
	CHECK(a->rndis_len == 0 && g->pending_req == 0);
	switch (m->type) {
	case PVB_NVSP_INIT:
		CHECK(before->state == PVB_VSC_INIT && g->state == PVB_VSC_WAIT_INIT);
		CHECK(a->want_comp && m->u.init.min_ver == m->u.init.max_ver);
		CHECK(version_known(m->u.init.min_ver) && m->u.init.min_ver >= g->cfg.min_nvsp_ver);
		break;
	case PVB_NVSP_SEND_NDIS_CONFIG:
		CHECK(before->state == PVB_VSC_WAIT_RECV_BUF && !a->want_comp);
		CHECK(g->nvsp_ver >= PVB_NVSP_VER_2);
		break;
	case PVB_NVSP_SEND_NDIS_VER:
		CHECK(before->state == PVB_VSC_WAIT_RECV_BUF && !a->want_comp);
		break;
	case PVB_NVSP_SEND_RECV_BUF:
		CHECK(before->state == PVB_VSC_WAIT_RECV_BUF && a->want_comp);
		CHECK(m->u.send_buf.gpadl == g->cfg.recv_gpadl);
		CHECK(m->u.send_buf.id == PVB_NVSP_RXBUF_ID);
		break;
	case PVB_NVSP_SEND_SEND_BUF:
		CHECK(before->state == PVB_VSC_WAIT_SEND_BUF && a->want_comp);
		CHECK(m->u.send_buf.gpadl == g->cfg.send_gpadl);
		CHECK(m->u.send_buf.id == PVB_NVSP_TXBUF_ID);
		break;
	case PVB_NVSP_REVOKE_RECV_BUF:
		CHECK(before->state == PVB_VSC_HALTED && !a->want_comp);
		CHECK(m->u.revoke.id == PVB_NVSP_RXBUF_ID);
		break;
	case PVB_NVSP_SUBCHANNEL:
		/* after the RSS capabilities, within what we want and the host has */
		CHECK(before->state == PVB_VSC_WAIT_QUERY && a->want_comp);
		CHECK(g->nvsp_ver >= PVB_NVSP_VER_5 && g->cfg.subchannels != 0);
		CHECK(m->u.subchannel.op_or_status == PVB_NVSP_SUBCH_ALLOCATE);
		CHECK(m->u.subchannel.num >= 1 && m->u.subchannel.num <= g->cfg.subchannels &&
		      m->u.subchannel.num < g->host_queues);
		break;
	default:
		CHECK(m->type == PVB_NVSP_REVOKE_SEND_BUF);
		CHECK(before->state == PVB_VSC_HALTED && !a->want_comp);
		CHECK(m->u.revoke.id == PVB_NVSP_TXBUF_ID);
		break;
	}
}

static void
check_rndis_action(const struct pvb_vsc *g, const struct pvb_vsc *before,
		   const struct pvb_vsc_action *a)
{
	struct pvb_rndis_ctl c;
	uint32_t i;

	CHECK(a->rndis_len <= sizeof(a->rndis));
	for (i = a->rndis_len; i < sizeof(a->rndis); i++)
		CHECK(a->rndis[i] == 0);
	CHECK(pvb_rndis_ctl_decode(a->rndis, a->rndis_len, &c) == 0 && c.len == a->rndis_len);
	CHECK(c.request_id != 0);
	CHECK(a->want_comp == (c.type != PVB_RNDIS_HALT_MSG));
	if (a->want_comp)
		CHECK(g->pending_req == c.request_id);
	switch (c.type) {
	case PVB_RNDIS_INITIALIZE_MSG:
		CHECK(before->state == PVB_VSC_WAIT_RNDIS_INIT);
		CHECK(c.major == PVB_RNDIS_MAJOR && c.minor == PVB_RNDIS_MINOR);
		break;
	case PVB_RNDIS_QUERY_MSG:
		CHECK(before->state == PVB_VSC_WAIT_QUERY && c.info_len == 0);
		/* the offload capabilities only when offloads are wanted */
		if (c.oid == PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES)
			CHECK(g->cfg.offload != 0);
		/* the RSS capabilities only when subchannels are wanted, NVSP v5 on */
		if (c.oid == PVB_RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES)
			CHECK(g->cfg.subchannels != 0 && g->nvsp_ver >= PVB_NVSP_VER_5);
		break;
	case PVB_RNDIS_SET_MSG:
		if (c.oid == PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS) {
			uint32_t want = 0;

			/* what was asked for within the offer, as an object the host takes */
			CHECK(before->state == PVB_VSC_WAIT_QUERY);
			CHECK(c.info_len == PVB_NDIS_PARAMS_SIZE_2 ||
			      c.info_len == PVB_NDIS_PARAMS_SIZE);
			CHECK(pvb_ndis_params_apply(a->rndis + c.info_off, c.info_len,
						    PVB_OFL_ALL, &want) == 0);
			CHECK(want != 0 && want == (g->cfg.offload & g->host_offload));
			break;
		}
		CHECK(c.oid == PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER && c.info_len == 4);
		/* the filter asked for; the teardown's is 0 */
		if (before->state == PVB_VSC_HALTED)
			CHECK(le32(a->rndis + c.info_off) == 0);
		else
			CHECK(before->state >= PVB_VSC_WAIT_QUERY &&
			      le32(a->rndis + c.info_off) == before->want_filter);
		break;
	default:
		CHECK(c.type == PVB_RNDIS_HALT_MSG && before->state == PVB_VSC_HALTED);
		break;
	}
}

static void
check_action(const struct guest *G, const struct pvb_vsc *before, const struct pvb_vsc_action *a)
{
	static const struct pvb_vsc_action none;
	const struct pvb_vsc *g = &G->g;

	/* one request at a time, and nothing at all from a failed channel */
	if (before->state == PVB_VSC_FAILED || before->sent) {
		CHECK(memcmp(a, &none, sizeof(*a)) == 0 && memcmp(g, before, sizeof(*g)) == 0);
		return;
	}
	CHECK(g->state == before->state || g->state == PVB_VSC_FAILED ||
	      (before->state == PVB_VSC_INIT && g->state == PVB_VSC_WAIT_INIT));
	if (a->kind == PVB_VSC_ACT_NONE) {
		CHECK(memcmp(a, &none, sizeof(*a)) == 0 && !g->sent);
		if (g->state == PVB_VSC_READY)
			CHECK(g->want_filter == g->filter);
		return;
	}
	CHECK(g->state != PVB_VSC_FAILED && g->sent == a->want_comp);
	if (a->kind == PVB_VSC_ACT_NVSP)
		check_nvsp_action(g, before, a);
	else
		check_rndis_action(g, before, a);
}

/* One pvb_vsc_next(), checked; what wants an answer becomes the request outstanding. */
static void
guest_next(struct guest *G, struct pvb_vsc_action *a)
{
	struct pvb_vsc before;

	memcpy(&before, &G->g, sizeof(before));
	pvb_vsc_next(&G->g, a);
	CHECK(a->kind == PVB_VSC_ACT_NONE || a->kind == PVB_VSC_ACT_NVSP ||
	      a->kind == PVB_VSC_ACT_RNDIS);
	check_action(G, &before, a);
	check_guest(G);
	if (a->kind == PVB_VSC_ACT_NONE || !a->want_comp)
		return;
	G->req = *a;
	G->have_req = true;
	if (a->kind == PVB_VSC_ACT_RNDIS)
		CHECK(pvb_rndis_ctl_decode(a->rndis, a->rndis_len, &G->req_ctl) == 0);
}

/* What the PMD does before it waits: send until the guest has nothing more. */
static void
guest_pump(struct guest *G)
{
	struct pvb_vsc_action a;
	unsigned int i;

	for (i = 0; i < PUMP_MAX; i++) {
		guest_next(G, &a);
		if (a.kind == PVB_VSC_ACT_NONE)
			return;
	}
	CHECK(0);	/* the guest never stops sending */
}

/* An NVSP completion the guest took (rc 0): what its state says must be in it. */
static void
check_nvsp_taken(const struct pvb_vsc *g, const struct pvb_vsc *before,
		 const struct pvb_nvsp_msg *m)
{
	const struct pvb_nvsp_section *sec = &m->u.recv_buf_complete.section;

	CHECK(!g->sent);
	switch (before->state) {
	case PVB_VSC_WAIT_INIT:
		CHECK(m->type == PVB_NVSP_INIT_COMPLETE);
		CHECK(g->state == (m->u.init_complete.status == PVB_NVSP_STAT_SUCCESS ?
				   PVB_VSC_WAIT_RECV_BUF : PVB_VSC_INIT));
		break;
	case PVB_VSC_WAIT_RECV_BUF:
		/* one section of equal slots from 0, its end where they end */
		CHECK(m->type == PVB_NVSP_SEND_RECV_BUF_COMPLETE);
		CHECK(m->u.recv_buf_complete.status == PVB_NVSP_STAT_SUCCESS);
		CHECK(m->u.recv_buf_complete.num_sections == 1 && sec->offset == 0);
		CHECK((uint64_t)sec->sub_alloc_size * sec->num_sub_allocs == sec->end_offset);
		CHECK(g->slot_size == sec->sub_alloc_size && g->slot_count == sec->num_sub_allocs);
		CHECK(g->state == PVB_VSC_WAIT_SEND_BUF);
		break;
	case PVB_VSC_WAIT_SEND_BUF:
		CHECK(m->type == PVB_NVSP_SEND_SEND_BUF_COMPLETE);
		CHECK(m->u.send_buf_complete.status == PVB_NVSP_STAT_SUCCESS);
		CHECK(g->section_size == m->u.send_buf_complete.section_size);
		CHECK(g->state == PVB_VSC_WAIT_RNDIS_INIT);
		break;
	case PVB_VSC_WAIT_QUERY:
		/* SUBCHANNEL: never more granted than asked; a failure grants none */
		CHECK(m->type == PVB_NVSP_SUBCHANNEL && g->state == PVB_VSC_WAIT_QUERY);
		CHECK(g->subch_granted <= g->subch_asked);
		CHECK(g->subch_granted == (m->u.subchannel.op_or_status == PVB_NVSP_STAT_SUCCESS ?
					   m->u.subchannel.num : 0));
		break;
	default:
		/* after a halt: the answer to what was outstanding, nothing learned */
		CHECK(before->state == PVB_VSC_HALTED && g->state == PVB_VSC_HALTED);
		CHECK(m->type == PVB_NVSP_INIT_COMPLETE ||
		      m->type == PVB_NVSP_SEND_RECV_BUF_COMPLETE ||
		      m->type == PVB_NVSP_SEND_SEND_BUF_COMPLETE ||
		      m->type == PVB_NVSP_SUBCHANNEL);
		break;
	}
}

/*
 * The host's NVSP bytes as the guest PMD gets them. 1 when they do not
 * decode (dropped), else what pvb_vsc_nvsp() returned.
 */
static int
guest_nvsp(struct guest *G, const uint8_t *bytes, uint32_t len)
{
	struct pvb_nvsp_msg m;
	struct pvb_vsc before;
	uint8_t *msg = heap_copy(bytes, len);
	int rc = pvb_nvsp_decode(msg, len, &m);

	free(msg);
	if (rc != 0)
		return 1;
	memcpy(&before, &G->g, sizeof(before));
	rc = pvb_vsc_nvsp(&G->g, &m);
	check_guest_rc(G, &before, rc);
	if (before.state == PVB_VSC_FAILED) {
		/* checked */
	} else if (m.type == PVB_NVSP_SEND_RNDIS_PKT_COMPLETE) {
		CHECK(rc == 0 && memcmp(&G->g, &before, sizeof(before)) == 0);
	} else if (!before.sent || before.pending_req != 0) {
		CHECK(rc == -EPROTO);	/* no NVSP request was out */
	} else if (rc == 0) {
		check_nvsp_taken(&G->g, &before, &m);
	}
	check_guest(G);
	return rc;
}

/* A QUERY_CMPLT taken during init: remember MAC and MTU, as READY must show them. */
static void
note_query(struct guest *G, const struct pvb_rndis_ctl *c, const uint8_t *msg)
{
	const uint8_t *info = msg + c->info_off;

	CHECK(c->type == PVB_RNDIS_QUERY_CMPLT && c->status == PVB_RNDIS_STATUS_SUCCESS);
	switch (G->req_ctl.oid) {
	case PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS:
	case PVB_RNDIS_OID_802_3_CURRENT_ADDRESS:
		CHECK(c->info_len == 6 && memcmp(G->g.mac, info, 6) == 0);
		memcpy(G->mac, info, 6);
		G->mac_seen = true;
		break;
	case PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE:
		CHECK(c->info_len == 4 && G->g.mtu == le32(info));
		G->mtu = le32(info);
		G->mtu_seen = true;
		break;
	default:
		CHECK(c->info_len == 4);
		break;
	}
}

/* INITIALIZE_CMPLT taken: a usable aggregation limit and alignment. */
static void
check_init_taken(const struct pvb_vsc *g, const struct pvb_rndis_ctl *c)
{
	uint32_t f = c->packet_alignment_factor;
	uint32_t x = c->max_transfer_size;

	CHECK(c->type == PVB_RNDIS_INITIALIZE_CMPLT && c->status == PVB_RNDIS_STATUS_SUCCESS);
	CHECK(c->max_packets_per_message >= 1 && f < 32);
	CHECK(g->align == ((1u << f) > 4 ? 1u << f : 4));
	CHECK(g->max_pkts_per_msg <= c->max_packets_per_message);
	CHECK(g->max_xfer == (x < g->section_size ? x : g->section_size));
	CHECK(g->state == PVB_VSC_WAIT_QUERY);
}

/* A SET_CMPLT taken: the filter acknowledged is the one sent, and only on success. */
static void
check_set_taken(const struct guest *G, const struct pvb_vsc *before,
		const struct pvb_rndis_ctl *c)
{
	const struct pvb_vsc *g = &G->g;
	uint32_t sent = le32(G->req.rndis + G->req_ctl.info_off);

	CHECK(c->type == PVB_RNDIS_SET_CMPLT && g->state == PVB_VSC_READY);
	if (c->status == PVB_RNDIS_STATUS_SUCCESS)
		CHECK(g->filter == sent);
	else
		CHECK(before->state == PVB_VSC_READY && g->filter == before->filter);
}

/* An RNDIS completion the guest took (rc 0), for the request the harness saw go out. */
static void
check_rndis_taken(struct guest *G, const struct pvb_vsc *before, const struct pvb_rndis_ctl *c,
		  const uint8_t *msg)
{
	const struct pvb_vsc *g = &G->g;

	CHECK(!g->sent && g->pending_req == 0);
	CHECK(G->have_req && G->req.kind == PVB_VSC_ACT_RNDIS);
	CHECK(G->req_ctl.request_id == before->pending_req);
	switch (before->state) {
	case PVB_VSC_WAIT_RNDIS_INIT:
		check_init_taken(g, c);
		break;
	case PVB_VSC_WAIT_QUERY:
	case PVB_VSC_READY:
		if (G->req_ctl.oid == PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES ||
		    G->req_ctl.oid == PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS) {
			/* optional steps: any answer of the right type leads on */
			CHECK(g->state == PVB_VSC_WAIT_QUERY && g->filter == before->filter);
			CHECK((g->host_offload & ~PVB_OFL_ALL) == 0);
			CHECK((g->offload & ~(g->cfg.offload & g->host_offload)) == 0);
			if (G->req_ctl.oid == PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS)
				CHECK(g->offload == (c->status == PVB_RNDIS_STATUS_SUCCESS ?
						     g->cfg.offload & g->host_offload : 0));
			break;
		}
		if (G->req_ctl.oid == PVB_RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES) {
			/* optional: any answer leads on to SUBCHANNEL or the filter */
			CHECK(g->state == PVB_VSC_WAIT_QUERY && g->filter == before->filter);
			CHECK(c->status == PVB_RNDIS_STATUS_SUCCESS || g->host_queues == 0);
			break;
		}
		if (G->req_ctl.oid == PVB_RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS) {
			/* acknowledged or refused: not asked again until changed */
			CHECK(g->state == PVB_VSC_READY && !g->rss_out && g->filter == before->filter);
			CHECK(g->rss_gen == before->rss_sent_gen);
			CHECK(g->rss_refused == (c->status != PVB_RNDIS_STATUS_SUCCESS));
			break;
		}
		if (G->req_ctl.type == PVB_RNDIS_SET_MSG) {
			check_set_taken(G, before, c);
			break;
		}
		CHECK(before->state == PVB_VSC_WAIT_QUERY && g->state == PVB_VSC_WAIT_QUERY);
		note_query(G, c, msg);
		break;
	default:
		CHECK(before->state == PVB_VSC_HALTED && g->state == PVB_VSC_HALTED);
		CHECK(g->filter == before->filter || g->filter == 0);
		break;
	}
}

/*
 * The host's RNDIS control bytes as the guest PMD gets them. 1 when they do
 * not decode (dropped), else what pvb_vsc_rndis() returned.
 */
static int
guest_rndis(struct guest *G, const uint8_t *bytes, uint32_t len)
{
	struct pvb_rndis_ctl c;
	struct pvb_vsc before;
	uint8_t *msg = heap_copy(bytes, len);
	int rc = pvb_rndis_ctl_decode(msg, len, &c);

	if (rc != 0) {
		free(msg);
		return 1;
	}
	memcpy(&before, &G->g, sizeof(before));
	rc = pvb_vsc_rndis(&G->g, &c, msg);
	check_guest_rc(G, &before, rc);
	if (before.state == PVB_VSC_FAILED) {
		/* checked */
	} else if (c.type == PVB_RNDIS_INDICATE_STATUS_MSG) {
		/* the link state, and nothing else */
		before.link_up = G->g.link_up;
		CHECK(rc == 0 && memcmp(&G->g, &before, sizeof(before)) == 0);
	} else if (!(c.type & 0x80000000u) || before.pending_req == 0 ||
		   c.request_id != before.pending_req) {
		CHECK(rc == -EPROTO);	/* a request, or a completion nobody asked for */
	} else if (rc == 0) {
		check_rndis_taken(G, &before, &c, msg);
	}
	free(msg);
	check_guest(G);
	return rc;
}

static void
guest_set_filter(struct guest *G, uint32_t filter)
{
	struct pvb_vsc before;

	memcpy(&before, &G->g, sizeof(before));
	pvb_vsc_set_filter(&G->g, filter);
	if (before.state != PVB_VSC_HALTED && before.state != PVB_VSC_FAILED)
		before.want_filter = filter & FILTER_BITS;
	CHECK(memcmp(&G->g, &before, sizeof(before)) == 0);
	check_guest(G);
}

static void
guest_halt(struct guest *G)
{
	struct pvb_vsc before;
	const struct pvb_vsc *g = &G->g;

	memcpy(&before, g, sizeof(before));
	pvb_vsc_halt(&G->g);
	if (before.state == PVB_VSC_HALTED || before.state == PVB_VSC_FAILED) {
		CHECK(memcmp(g, &before, sizeof(before)) == 0);
		return;
	}
	/* what is outstanding stays so: its answer is still to come */
	CHECK(g->state == PVB_VSC_HALTED && g->want_filter == 0);
	CHECK(g->sent == before.sent && g->pending_req == before.pending_req);
	check_guest(G);
}

/* ----------------------------------------------------------------------------
 * GUEST mode: the fuzzer plays the host
 */

static uint32_t
get16(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8;
}

/*
 * A completion of the NVSP request outstanding: a byte of @p p below 192
 * keeps a valid default, p[15] >= 240 gives it another completion's type.
 */
static uint32_t
answer_nvsp(const struct guest *G, const uint8_t *p, uint8_t *out)
{
	static const uint32_t nvsp_cmplt_types[] = {
		PVB_NVSP_INIT_COMPLETE, PVB_NVSP_SEND_RECV_BUF_COMPLETE,
		PVB_NVSP_SEND_SEND_BUF_COMPLETE,
	};
	struct pvb_nvsp_msg m;
	uint32_t slot, count;

	memset(&m, 0, sizeof(m));
	switch (G->req.nvsp.type) {
	case PVB_NVSP_INIT:
		m.type = PVB_NVSP_INIT_COMPLETE;
		m.u.init_complete.status = p[0] < 224 ? PVB_NVSP_STAT_SUCCESS : p[1] % 8u;
		m.u.init_complete.max_mdl_chain_len = 34;
		break;
	case PVB_NVSP_SEND_RECV_BUF:
		slot = p[0] < 192 ? 1664 : get16(p + 1);
		count = p[3] < 192 ? 1u + p[4] : le32(p + 5);
		m.type = PVB_NVSP_SEND_RECV_BUF_COMPLETE;
		m.u.recv_buf_complete.status = PVB_NVSP_STAT_SUCCESS;
		m.u.recv_buf_complete.num_sections = 1;
		m.u.recv_buf_complete.section.sub_alloc_size = slot;
		m.u.recv_buf_complete.section.num_sub_allocs = count;
		m.u.recv_buf_complete.section.end_offset = slot * count;	/* may wrap */
		break;
	default:
		m.type = PVB_NVSP_SEND_SEND_BUF_COMPLETE;
		m.u.send_buf_complete.status = PVB_NVSP_STAT_SUCCESS;
		m.u.send_buf_complete.section_size = p[0] < 192 ? 6144 : le32(p + 1);
		break;
	}
	if (p[15] >= 240)	/* the same body under another completion's type */
		m.type = nvsp_cmplt_types[p[15] % 3];
	return pvb_nvsp_encode(&m, out);
}

/* A completion of the RNDIS request outstanding, same conventions. */
static uint32_t
answer_rndis(const struct guest *G, const uint8_t *p, uint8_t *out)
{
	static const uint32_t cmplt_types[] = {
		PVB_RNDIS_INITIALIZE_CMPLT, PVB_RNDIS_QUERY_CMPLT, PVB_RNDIS_SET_CMPLT,
		PVB_RNDIS_KEEPALIVE_CMPLT,
	};
	struct pvb_rndis_ctl c;
	uint8_t info[PVB_NDIS_OFFLOAD_SIZE_6_30];
	int n;

	memset(&c, 0, sizeof(c));
	memset(info, 0, sizeof(info));
	c.request_id = G->req_ctl.request_id;
	switch (G->req_ctl.type) {
	case PVB_RNDIS_INITIALIZE_MSG:
		c.type = PVB_RNDIS_INITIALIZE_CMPLT;
		c.major = PVB_RNDIS_MAJOR;
		c.device_flags = 1;
		c.max_packets_per_message = p[0] < 192 ? 8 : p[1];
		c.max_transfer_size = p[2] < 192 ? 6144 : le32(p + 3);
		c.packet_alignment_factor = p[7] < 192 ? 3 : p[8] % 40u;
		break;
	case PVB_RNDIS_QUERY_MSG:
		c.type = PVB_RNDIS_QUERY_CMPLT;
		c.status = p[10] < 240 ? PVB_RNDIS_STATUS_SUCCESS : PVB_RNDIS_STATUS_FAILURE;
		c.info_len = 4;
		if (G->req_ctl.oid == PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS) {
			c.info_len = 6;
			memcpy(info, p, 6);
		} else if (G->req_ctl.oid == PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES) {
			/* an offer of some version, cut short now and then */
			c.info_len = pvb_ndis_offload_encode(info, p[4] < 128 ? PVB_NDIS_VER_6_30 :
							     PVB_NDIS_VER_6_1,
							     le32(p + 11) & PVB_OFL_ALL);
			if (p[5] >= 224)
				c.info_len = p[5] % c.info_len;
		} else if (G->req_ctl.oid == PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE) {
			put_le32(info, p[6] < 192 ? 1500 : le32(p + 7));
		} else {
			put_le32(info, p[6] & 1);
		}
		break;
	default:
		c.type = PVB_RNDIS_SET_CMPLT;
		c.status = p[0] < 224 ? PVB_RNDIS_STATUS_SUCCESS : PVB_RNDIS_STATUS_FAILURE;
		break;
	}
	if (p[15] >= 240)	/* of another request's type */
		c.type = cmplt_types[p[15] % 4];
	n = pvb_rndis_ctl_encode(&c, info, out, REPLY_CAP);
	CHECK(n > 0);
	return (uint32_t)n;
}

/*
 * Answer what the guest last asked (after letting it send, as the PMD
 * would); if it is waiting for nothing, the answer is a stale one it must
 * refuse. @p broken: one byte changes in transit.
 */
static void
guest_answer(struct guest *G, struct src *s, bool broken)
{
	uint8_t p[PARAMS], out[REPLY_CAP];
	uint32_t n;

	take_bytes(s, p, PARAMS);
	if (!G->g.sent)
		guest_pump(G);
	if (!G->have_req)
		return;
	if (G->req.kind == PVB_VSC_ACT_NVSP)
		n = answer_nvsp(G, p, out);
	else
		n = answer_rndis(G, p, out);
	if (broken)
		n = perturb(out, n, (uint8_t)(5 + p[12] % 3), p[13], p[14]);
	if (G->req.kind == PVB_VSC_ACT_NVSP)
		guest_nvsp(G, out, n);
	else
		guest_rndis(G, out, n);
}

/* Link indications (with a status buffer now and then) and the 108 of the datapath. */
static void
guest_notice(struct guest *G, uint8_t p)
{
	struct pvb_rndis_ctl c;
	struct pvb_nvsp_msg m;
	uint8_t b[REPLY_CAP], info[64];
	int n;

	switch (p % 4) {
	case 0:
	case 1:
		n = pvb_vsp_link_indication(p % 4 == 0, b, sizeof(b));
		CHECK(n == (int)sizeof(struct pvb_rndis_indicate_status));
		guest_rndis(G, b, (uint32_t)n);
		break;
	case 2:
		memset(&c, 0, sizeof(c));
		memset(info, p, sizeof(info));
		c.type = PVB_RNDIS_INDICATE_STATUS_MSG;
		c.status = p & 4 ? PVB_RNDIS_STATUS_NETWORK_CHANGE : PVB_RNDIS_STATUS_MEDIA_CONNECT;
		c.info_len = (uint32_t)(p >> 2);
		n = pvb_rndis_ctl_encode(&c, info, b, sizeof(b));
		CHECK(n > 0);
		guest_rndis(G, b, (uint32_t)n);
		break;
	default:
		memset(&m, 0, sizeof(m));
		m.type = PVB_NVSP_SEND_RNDIS_PKT_COMPLETE;
		m.u.rndis_complete.status = PVB_NVSP_STAT_SUCCESS;
		guest_nvsp(G, b, pvb_nvsp_encode(&m, b));
		break;
	}
}

static void
guest_raw(struct guest *G, struct src *s, bool nvsp)
{
	uint32_t len;
	const uint8_t *b = take_span(s, take8(s), &len);

	if (nvsp)
		guest_nvsp(G, b, len);
	else
		guest_rndis(G, b, len);
}

/* Records: op < 64 pump, < 160 answer, < 176 broken answer, < 192 raw NVSP, < 208 raw RNDIS,
 * < 224 notice, < 240 set filter, else halt. */
static void
run_guest(struct src *s)
{
	struct guest G;
	uint8_t op;

	guest_setup(&G, s);
	check_guest(&G);
	while (!src_empty(s)) {
		op = take8(s);
		if (op < 64)
			guest_pump(&G);
		else if (op < 176)
			guest_answer(&G, s, op >= 160);
		else if (op < 208)
			guest_raw(&G, s, op < 192);
		else if (op < 224)
			guest_notice(&G, take8(s));
		else if (op < 240)
			guest_set_filter(&G, take32(s));
		else
			guest_halt(&G);
	}
	guest_pump(&G);
}

/* ----------------------------------------------------------------------------
 * HOST mode: the fuzzer plays the guest
 */

static void
run_host(struct src *s)
{
	struct host H;
	uint8_t reply[REPLY_CAP];
	const uint8_t *b;
	uint32_t len;
	uint8_t tag;

	host_setup(&H, s);
	check_host(&H);
	while (!src_empty(s)) {
		tag = take8(s);
		b = take_span(s, take8(s), &len);
		if (tag & 1)
			host_rndis(&H, b, len, reply);
		else
			host_nvsp(&H, b, len, reply);
	}
}

/* ----------------------------------------------------------------------------
 * PAIR mode: a real guest and host, the fuzzer on the wire
 */

struct pair {
	struct host H;
	struct guest G;
	bool perturbed;		/* the wire changed, dropped or replayed something */
	bool lost;		/* an answer the guest waits for will never come */
	bool halted;
	unsigned int indications;
	uint8_t last[REPLY_CAP];	/* the guest's last message, for a replay */
	uint32_t last_len;
	bool last_rndis;
};

static uint32_t
pair_perturb(struct pair *P, uint8_t *b, uint32_t len, const uint8_t *how)
{
	if (perturbs(how[0]))
		P->perturbed = true;
	return perturb(b, len, how[0], how[1], how[2]);
}

/* Guest bytes to the host through the wire (@p rec[1..3]), the answer back (@p rec[4..6]). */
static void
pair_deliver(struct pair *P, const uint8_t *msg, uint32_t len, bool rndis, const uint8_t *rec,
	     bool want)
{
	uint8_t b[REPLY_CAP], reply[REPLY_CAP];
	uint32_t n;
	int rc;

	memcpy(b, msg, len);
	len = pair_perturb(P, b, len, rec + 1);
	n = rndis ? host_rndis(&P->H, b, len, reply) : host_nvsp(&P->H, b, len, reply);
	if (n == 0) {
		/* dropped, refused by a failed host, or not answered: the guest may wait forever */
		P->lost |= want;
		return;
	}
	n = pair_perturb(P, reply, n, rec + 4);
	rc = rndis ? guest_rndis(&P->G, reply, n) : guest_nvsp(&P->G, reply, n);
	/* dropped, or changed into something else (an indication, say): still waiting */
	if (rc == 1 || P->G.g.sent)
		P->lost |= want;
}

/* One message from the guest and its answer; false when the guest has nothing to send. */
static bool
pair_exchange(struct pair *P, const uint8_t *rec)
{
	struct pvb_vsc_action a;

	guest_next(&P->G, &a);
	if (a.kind == PVB_VSC_ACT_NONE)
		return false;
	P->last_rndis = a.kind == PVB_VSC_ACT_RNDIS;
	if (P->last_rndis) {
		memcpy(P->last, a.rndis, a.rndis_len);
		P->last_len = a.rndis_len;
	} else {
		P->last_len = pvb_nvsp_encode(&a.nvsp, P->last);
	}
	pair_deliver(P, P->last, P->last_len, P->last_rndis, rec, a.want_comp);
	return true;
}

static void
pair_link(struct pair *P, const uint8_t *rec)
{
	uint8_t b[REPLY_CAP];
	int n = pvb_vsp_link_indication(rec[1] & 1, b, sizeof(b));

	CHECK(n == (int)sizeof(struct pvb_rndis_indicate_status));
	P->indications++;
	guest_rndis(&P->G, b, pair_perturb(P, b, (uint32_t)n, rec + 4));
}

/* Records: op < 176 exchange, < 192 set filter, < 208 halt, < 240 link, else replay. */
static void
pair_step(struct pair *P, const uint8_t *rec)
{
	if (rec[0] < 176) {
		pair_exchange(P, rec);
	} else if (rec[0] < 192) {
		guest_set_filter(&P->G, le32(rec + 1));
	} else if (rec[0] < 208) {
		guest_halt(&P->G);
		P->halted = true;
	} else if (rec[0] < 240) {
		pair_link(P, rec);
	} else if (P->last_len != 0) {
		P->perturbed = true;
		pair_deliver(P, P->last, P->last_len, P->last_rndis, rec, false);
	}
}

/* The settings a guest must refuse (doc/nvsp.md §2.3, §3.4), given nothing else went wrong. */
static bool
pair_can_be_ready(const struct pair *P)
{
	const struct pvb_vsp_config *c = &P->H.h.cfg;
	const struct pvb_vsc_config *gc = &P->G.g.cfg;
	uint64_t rs, ss;

	if (!gpadl_known(&P->H, gc->recv_gpadl, &rs) || !gpadl_known(&P->H, gc->send_gpadl, &ss))
		return false;
	return gc->min_nvsp_ver <= PVB_NVSP_VER_61 && rs >= c->rx_slot_size &&
	       ss >= c->send_section_size && c->rx_slot_size >= 64 &&
	       c->send_section_size >= 68 && c->send_section_size % 4 == 0 &&
	       c->mtu >= MTU_MIN && c->mtu <= MTU_MAX && c->align_factor <= 12;
}

/* Both ready over a clean wire: they agree on everything they negotiated. */
static void
pair_check_agree(const struct pair *P)
{
	const struct pvb_vsp *h = &P->H.h;
	const struct pvb_vsc *g = &P->G.g;
	uint32_t f = h->cfg.align_factor;

	CHECK(h->state == PVB_VSP_RNDIS_READY);
	CHECK(g->nvsp_ver == h->nvsp_ver);
	CHECK(memcmp(g->mac, h->cfg.mac, sizeof(g->mac)) == 0 && g->mtu == h->cfg.mtu);
	CHECK(g->slot_size == h->slot_size && g->slot_count == h->slot_count);
	CHECK(g->section_size == h->section_size && g->max_xfer == h->section_size);
	CHECK(g->max_pkts_per_msg >= 1 && g->max_pkts_per_msg <= h->cfg.max_pkts_per_msg);
	CHECK(g->align == ((1u << f) > 4 ? 1u << f : 4));
	CHECK(g->filter == g->want_filter && h->filter == g->filter);
	CHECK(P->indications != 0 || g->link_up);
	/* what the guest wanted within the offer, the same on both ends */
	CHECK(g->offload == h->offload &&
	      g->offload == (g->cfg.offload & pvb_vsp_offload_offered(h)));
}

static void
pair_finish(struct pair *P)
{
	static const uint8_t quiet[REC];
	const struct pvb_vsc *g = &P->G.g;
	const struct pvb_vsp *h = &P->H.h;
	unsigned int i;

	for (i = 0; i < DRAIN_MAX && pair_exchange(P, quiet); i++)
		;
	CHECK(i < DRAIN_MAX);	/* a quiet wire settles */
	CHECK(!g->sent || P->lost);
	CHECK(g->state == PVB_VSC_READY || g->state == PVB_VSC_FAILED ||
	      g->state == PVB_VSC_HALTED || g->sent);
	if (P->perturbed)
		return;
	CHECK(!P->lost && h->state != PVB_VSP_FAILED);
	if (P->halted) {
		CHECK(g->state == PVB_VSC_HALTED || g->state == PVB_VSC_FAILED);
		/* the teardown gave every buffer back and stopped RX */
		if (g->state == PVB_VSC_HALTED && P->H.had_buffer)
			CHECK(h->state == PVB_VSP_HALTED && !h->have_recv_buf &&
			      !h->have_send_buf);
		return;
	}
	if (!pair_can_be_ready(P)) {
		CHECK(g->state == PVB_VSC_FAILED);
		return;
	}
	CHECK(g->state == PVB_VSC_READY);
	pair_check_agree(P);
}

static void
run_pair(struct src *s)
{
	struct pair P;
	uint8_t rec[REC];
	unsigned int i;

	memset(&P, 0, sizeof(P));
	host_setup(&P.H, s);
	guest_setup(&P.G, s);
	for (i = 0; i < PAIR_STEPS && !src_empty(s); i++) {
		take_bytes(s, rec, REC);
		pair_step(&P, rec);
	}
	pair_finish(&P);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = { data, size, 1 };

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case MODE_HOST:
		run_host(&s);
		break;
	case MODE_GUEST:
		run_guest(&s);
		break;
	default:
		run_pair(&s);
		break;
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * The custom mutator: plant inputs that get through the init sequence
 */

struct sink {
	uint8_t *p;
	size_t cap, at;
};

static uint32_t
plant_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static bool
put_bytes(struct sink *k, const void *b, size_t n)
{
	if (k->cap - k->at < n)
		return false;
	memcpy(k->p + k->at, b, n);
	k->at += n;
	return true;
}

static void
put8(struct sink *k, uint32_t v)
{
	uint8_t b = (uint8_t)v;

	put_bytes(k, &b, 1);
}

static void
put16(struct sink *k, uint32_t v)
{
	put8(k, v);
	put8(k, v >> 8);
}

static void
put32(struct sink *k, uint32_t v)
{
	put16(k, v);
	put16(k, v >> 16);
}

/* host_setup()'s header with flags 0 (default slot, section and alignment). */
static void
plant_host_header(struct sink *k, uint32_t *s)
{
	unsigned int i;

	put8(k, 0);
	put16(k, plant_rand(s) % 4 == 0 ? plant_rand(s) : 1500);
	put8(k, plant_rand(s) % 16);
	put32(k, plant_rand(s));
	for (i = 0; i < 6; i++)
		put8(k, plant_rand(s));
	for (i = 0; i < 2; i++) {
		put16(k, 1 + plant_rand(s) % 0xffff);
		put8(k, 4 + plant_rand(s) % 20);
	}
}

/* guest_setup()'s header: the two known GPADLs, every version allowed. */
static void
plant_guest_header(struct sink *k, uint32_t *s)
{
	put8(k, plant_rand(s) % 2 ? 8 : 0);	/* half of them ask for every offload */
	put8(k, 0);
	put16(k, plant_rand(s) % 4 == 0 ? plant_rand(s) : 1500);
}

/* The library alone, no checks: the plant runs outside the target. */
static void
plant_deliver(struct pvb_vsp *h, struct pvb_vsc *g, const uint8_t *b, uint32_t len, bool rndis)
{
	uint8_t reply[REPLY_CAP];
	struct pvb_nvsp_msg in, r;
	struct pvb_rndis_ctl c;
	int n;

	if (!rndis) {
		if (pvb_nvsp_decode(b, len, &in) == 0 && pvb_vsp_nvsp(h, &in, &r) == 1)
			pvb_vsc_nvsp(g, &r);
		return;
	}
	if (pvb_rndis_ctl_decode(b, len, &c) != 0)
		return;
	n = pvb_vsp_rndis(h, &c, b, reply, sizeof(reply));
	if (n > 0 && pvb_rndis_ctl_decode(reply, (uint32_t)n, &c) == 0)
		pvb_vsc_rndis(g, &c, reply);
}

/* One guest action as a HOST chunk; false when it does not fit. */
static bool
plant_chunk(struct sink *k, uint32_t *s, const struct pvb_vsc_action *a, uint8_t *b,
	    uint32_t *len)
{
	bool rndis = a->kind == PVB_VSC_ACT_RNDIS;

	uint32_t v = nvsp_versions[plant_rand(s) % NVERSIONS];

	*len = rndis ? a->rndis_len : pvb_nvsp_encode(&a->nvsp, b);
	if (rndis)
		memcpy(b, a->rndis, a->rndis_len);
	/* now and then an older version than the guest believes it offered */
	if (!rndis && a->nvsp.type == PVB_NVSP_INIT && plant_rand(s) % 3 == 0) {
		put_le32(b + 4, v);
		put_le32(b + 8, v);
	}
	if (k->cap - k->at < 2 + (size_t)*len)
		return false;
	put8(k, (plant_rand(s) & 0xfe) | rndis);
	put8(k, *len);
	return put_bytes(k, b, *len);
}

/*
 * An RNDIS message a guest may send once RNDIS is up (any OID the host
 * answers, a filter of any size, KEEPALIVE, RESET, a second INITIALIZE or a
 * HALT), or one it must not (an indication, a completion). false: no room.
 */
static bool
plant_extra(struct sink *k, uint32_t *s)
{
	static const uint32_t types[] = {
		PVB_RNDIS_QUERY_MSG, PVB_RNDIS_QUERY_MSG, PVB_RNDIS_SET_MSG, PVB_RNDIS_SET_MSG,
		PVB_RNDIS_KEEPALIVE_MSG, PVB_RNDIS_RESET_MSG, PVB_RNDIS_INITIALIZE_MSG,
		PVB_RNDIS_HALT_MSG, PVB_RNDIS_INDICATE_STATUS_MSG, PVB_RNDIS_SET_CMPLT,
	};
	static const uint32_t oids[] = {
		PVB_RNDIS_OID_GEN_SUPPORTED_LIST, PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE,
		PVB_RNDIS_OID_GEN_LINK_SPEED, PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER,
		PVB_RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE, PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS,
		PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS, PVB_RNDIS_OID_802_3_CURRENT_ADDRESS,
		PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, 0x00010203,
	};
	uint8_t info[8], b[REPLY_CAP];
	struct pvb_rndis_ctl c;
	int n;

	memset(&c, 0, sizeof(c));
	put_le32(info, plant_rand(s) & 0x2f);
	put_le32(info + 4, plant_rand(s));
	c.type = types[plant_rand(s) % (sizeof(types) / sizeof(types[0]))];
	c.request_id = plant_rand(s);
	c.oid = oids[plant_rand(s) % (sizeof(oids) / sizeof(oids[0]))];
	c.info_len = c.type != PVB_RNDIS_SET_MSG ? 0 : plant_rand(s) % 4 ? 4 : plant_rand(s) % 9;
	c.major = PVB_RNDIS_MAJOR;
	n = pvb_rndis_ctl_encode(&c, info, b, sizeof(b));
	if (n <= 0 || k->cap - k->at < 2 + (size_t)n)
		return false;
	put8(k, plant_rand(s) | 1);
	put8(k, (uint32_t)n);
	return put_bytes(k, b, (size_t)n);
}

/* The guest's half of a real init (now and then a filter change or a halt), then extras. */
static size_t
plant_host(uint8_t *out, size_t cap, uint32_t *s)
{
	struct pvb_vsc_config gc = { .mtu = 1500, .recv_gpadl = GPADL_RECV,
				     .send_gpadl = GPADL_SEND };
	struct sink k = { out, cap, 0 };
	uint32_t halt_at = plant_rand(s) % 3 == 0 ? plant_rand(s) % 24 : UINT32_MAX;
	uint32_t i, len, filters = plant_rand(s) % 3;
	struct pvb_vsc_action a;
	uint8_t b[REPLY_CAP];
	struct host H;
	struct pvb_vsc g;
	struct src hs;

	put8(&k, MODE_HOST);
	plant_host_header(&k, s);
	hs = (struct src){ out, k.at, 1 };
	host_setup(&H, &hs);
	pvb_vsc_init(&g, &gc);
	for (i = 0; i < 64; i++) {
		if (i == halt_at)
			pvb_vsc_halt(&g);
		pvb_vsc_next(&g, &a);
		if (a.kind == PVB_VSC_ACT_NONE) {
			if (g.state != PVB_VSC_READY || filters-- == 0)
				break;
			pvb_vsc_set_filter(&g, plant_rand(s) & 0x2f);
			continue;
		}
		if (!plant_chunk(&k, s, &a, b, &len))
			break;
		plant_deliver(&H.h, &g, b, len, a.kind == PVB_VSC_ACT_RNDIS);
	}
	for (i = plant_rand(s) % 8; i > 0 && plant_extra(&k, s); i--)
		;
	return k.at;
}

/* Pump and valid answers, now and then something else. */
static size_t
plant_guest(uint8_t *out, size_t cap, uint32_t *s)
{
	struct sink k = { out, cap, 0 };
	uint32_t i, j, r, n = 8 + plant_rand(s) % 40;

	put8(&k, MODE_GUEST);
	plant_guest_header(&k, s);
	for (i = 0; i < n && k.at < k.cap; i++) {
		r = plant_rand(s) % 24;
		if (r < 18) {
			put8(&k, plant_rand(s) % 64);
			put8(&k, 64 + plant_rand(s) % 96);
			for (j = 0; j < PARAMS; j++)
				put8(&k, plant_rand(s) % 160);
		} else if (r == 18) {
			put8(&k, 224 + plant_rand(s) % 16);
			put32(&k, plant_rand(s) & 0x2f);
		} else if (r == 19) {
			put8(&k, 208 + plant_rand(s) % 16);
			put8(&k, plant_rand(s));
		} else if (r == 20 && plant_rand(s) % 4 == 0) {
			put8(&k, 240 + plant_rand(s) % 16);
		} else {
			put8(&k, 160 + plant_rand(s) % 16);
			for (j = 0; j < PARAMS; j++)
				put8(&k, plant_rand(s));
		}
	}
	return k.at;
}

/* A quiet wire, with a few random records. */
static size_t
plant_pair(uint8_t *out, size_t cap, uint32_t *s)
{
	struct sink k = { out, cap, 0 };
	uint32_t i, j, n = 8 + plant_rand(s) % 40;

	put8(&k, MODE_PAIR);
	plant_host_header(&k, s);
	plant_guest_header(&k, s);
	for (i = 0; i < n; i++) {
		bool noisy = plant_rand(s) % 6 == 0;

		for (j = 0; j < REC; j++)
			put8(&k, noisy ? plant_rand(s) : 0);
	}
	return k.at;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	uint32_t s = seed | 1, kind;
	size_t n, cap = max_size < 4096 ? max_size : 4096;

	if (seed % PLANT_ONE_IN != 0)
		return LLVMFuzzerMutate(data, size, max_size);
	kind = plant_rand(&s) % 3;
	n = kind == MODE_HOST ? plant_host(data, cap, &s) :
	    kind == MODE_GUEST ? plant_guest(data, cap, &s) : plant_pair(data, cap, &s);
	return n != 0 ? n : LLVMFuzzerMutate(data, size, max_size);
}
