/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Unit tests for lib/nvsp's control state machines (suite 'unit').
 *
 * A guest (VSC) and a host (VSP) talk in memory exactly as the PMDs will
 * make them talk: every message the guest's pvb_vsc_next() yields is
 * encoded into bytes, decoded by the host, answered, and the answer encoded
 * and decoded again before the guest sees it. Each exchange is logged byte
 * for byte, so the init sequence can be compared with vectors worked out by
 * hand from the layouts in doc/nvsp.md §2.3 and §3.4 (after Linux
 * drivers/net/hyperv/hyperv_net.h, DPDK drivers/net/netvsc/hn_nvs.h and
 * hn_rndis.h, and [MS-RNDIS]), not produced by running the encoders.
 *
 * The misbehaving peer is played by hand: a crafted reply is put through
 * the same codec and handed to the machine under test, which must answer
 * with the documented result (a failure status, or -EPROTO and FAILED) and
 * never touch anything else.
 */

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pvb_nvsp.h"
#include "test_common.h"

#define RECV_GPADL	0x1001u
#define SEND_GPADL	0x1002u
#define TINY_GPADL	0x1003u	/* smaller than a slot and a section */
#define HUGE_GPADL	0x1004u	/* 1 TiB: more slots than u32 offsets reach */
#define BUF_SIZE	(1u << 20)
#define TINY_SIZE	1000u
#define HUGE_SIZE	(1ull << 40)

/* Defaults for MTU 1500: slot round_up(128 + 1500 + 18, 64), section 6144. */
#define SLOT		1664u
#define SLOTS		630u	/* 1 MiB / 1664 */
#define SECTION		6144u
#define SECTIONS	170u	/* 1 MiB / 6144 */
#define FILTER_DEFAULT	0x0du	/* DIRECTED | ALL_MULTICAST | BROADCAST */

static const uint8_t host_mac[6] = { 0x00, 0x15, 0x5d, 0x0a, 0x0b, 0x0c };

/* ----------------------------------------------------------------------------
 * A guest and a host joined through byte buffers
 */

struct wire {			/* one exchange: what the guest sent, what came back */
	bool rndis;
	uint8_t out[PVB_RNDIS_CTL_MAX];
	uint32_t out_len;
	uint8_t back[256];
	uint32_t back_len;	/* 0: no answer */
};

struct peer {
	struct pvb_vsp h;
	struct pvb_vsc g;
	struct wire log[32];
	unsigned int n;
};

static int
gpadl_size(void *arg, uint32_t gpadl, uint64_t *size)
{
	(void)arg;
	switch (gpadl) {
	case RECV_GPADL:
	case SEND_GPADL:
		*size = BUF_SIZE;
		return 0;
	case TINY_GPADL:
		*size = TINY_SIZE;
		return 0;
	case HUGE_GPADL:
		*size = HUGE_SIZE;
		return 0;
	}
	return -ENOENT;
}

static void
peer_init(struct peer *p, uint32_t min_ver)
{
	struct pvb_vsp_config hc = { .mtu = 1500 };
	struct pvb_vsc_config gc = {
		.recv_gpadl = RECV_GPADL, .send_gpadl = SEND_GPADL, .min_nvsp_ver = min_ver,
	};

	memset(p, 0, sizeof(*p));
	memcpy(hc.mac, host_mac, sizeof(hc.mac));
	pvb_vsp_init(&p->h, &hc, gpadl_size, p);
	pvb_vsc_init(&p->g, &gc);
}

static struct wire *
log_next(struct peer *p)
{
	assert_true(p->n < DIM(p->log));
	return memset(&p->log[p->n++], 0, sizeof(p->log[0]));
}

/* An NVSP message from guest to host; the host's completion, if any, to the guest. */
static int
deliver_nvsp(struct peer *p, const struct pvb_nvsp_msg *m, int *grc)
{
	struct wire *w = log_next(p);
	struct pvb_nvsp_msg in, reply, back;
	int rc;

	w->out_len = pvb_nvsp_encode(m, w->out);
	assert_int_equal(w->out_len, PVB_NVSP_MSG_SIZE);
	assert_int_equal(pvb_nvsp_decode(w->out, w->out_len, &in), 0);
	rc = pvb_vsp_nvsp(&p->h, &in, &reply);
	if (rc != 1)
		return rc;
	w->back_len = pvb_nvsp_encode(&reply, w->back);
	assert_int_equal(pvb_nvsp_decode(w->back, w->back_len, &back), 0);
	*grc = pvb_vsc_nvsp(&p->g, &back);
	return rc;
}

/* An RNDIS control message from guest to host; the completion, if any, to the guest. */
static int
deliver_rndis(struct peer *p, const void *msg, uint32_t len, int *grc)
{
	struct wire *w = log_next(p);
	struct pvb_rndis_ctl c, back;
	int rc;

	assert_true(len <= sizeof(w->out));
	w->rndis = true;
	memcpy(w->out, msg, len);
	w->out_len = len;
	assert_int_equal(pvb_rndis_ctl_decode(w->out, len, &c), 0);
	rc = pvb_vsp_rndis(&p->h, &c, w->out, w->back, sizeof(w->back));
	if (rc <= 0)
		return rc;
	w->back_len = (uint32_t)rc;
	assert_int_equal(pvb_rndis_ctl_decode(w->back, w->back_len, &back), 0);
	*grc = pvb_vsc_rndis(&p->g, &back, w->back);
	return rc;
}

/* Deliver @p a; both ends must take it without complaint. */
static void
deliver(struct peer *p, const struct pvb_vsc_action *a)
{
	int grc = 0, hrc;

	if (a->kind == PVB_VSC_ACT_NVSP)
		hrc = deliver_nvsp(p, &a->nvsp, &grc);
	else
		hrc = deliver_rndis(p, a->rndis, a->rndis_len, &grc);
	if (hrc < 0)
		fail_msg("%s: host refused message %u: %d (%s)", here, p->n - 1, hrc,
			 p->h.why != NULL ? p->h.why : "-");
	if (grc != 0)
		fail_msg("%s: guest refused answer %u: %d (%s)", here, p->n - 1, grc,
			 p->g.why != NULL ? p->g.why : "-");
}

/* Run the two ends until the guest has nothing to send. */
static void
pump(struct peer *p)
{
	struct pvb_vsc_action a;
	unsigned int i;

	for (i = 0; i < 64; i++) {
		pvb_vsc_next(&p->g, &a);
		if (a.kind == PVB_VSC_ACT_NONE)
			return;
		deliver(p, &a);
	}
	fail_msg("%s: the guest never stops sending", here);
}

/* The RNDIS type and OID of an action (0 when it is NVSP). */
static uint32_t
act_rndis_type(const struct pvb_vsc_action *a, uint32_t *oid)
{
	struct pvb_rndis_ctl c;

	*oid = 0;
	if (a->kind != PVB_VSC_ACT_RNDIS)
		return 0;
	assert_int_equal(pvb_rndis_ctl_decode(a->rndis, a->rndis_len, &c), 0);
	*oid = c.oid;
	return c.type;
}

/*
 * Run until the guest's next message is NVSP @p type (@p rtype 0) or the
 * RNDIS @p rtype / @p oid, and leave that one undelivered in @p a.
 */
static void
await(struct peer *p, uint32_t type, uint32_t rtype, uint32_t oid, struct pvb_vsc_action *a)
{
	unsigned int i;
	uint32_t o;

	for (i = 0; i < 64; i++) {
		pvb_vsc_next(&p->g, a);
		assert_int_not_equal(a->kind, PVB_VSC_ACT_NONE);
		if (rtype == 0 && a->kind == PVB_VSC_ACT_NVSP && a->nvsp.type == type)
			return;
		if (rtype != 0 && act_rndis_type(a, &o) == rtype && o == oid)
			return;
		deliver(p, a);
	}
	fail_msg("%s: the guest never sent the awaited message", here);
}

/* Hand the guest a crafted NVSP completion, through the codec. */
static int
guest_nvsp(struct peer *p, const struct pvb_nvsp_msg *m)
{
	uint8_t b[PVB_NVSP_MSG_SIZE];
	struct pvb_nvsp_msg back;

	pvb_nvsp_encode(m, b);
	assert_int_equal(pvb_nvsp_decode(b, sizeof(b), &back), 0);
	return pvb_vsc_nvsp(&p->g, &back);
}

/* Hand the guest a crafted RNDIS message (@p info: c->info_len bytes), through the codec. */
static int
guest_rndis(struct peer *p, const struct pvb_rndis_ctl *c, const void *info)
{
	uint8_t b[256];
	struct pvb_rndis_ctl back;
	int len = pvb_rndis_ctl_encode(c, info, b, sizeof(b));

	assert_true(len > 0);
	assert_int_equal(pvb_rndis_ctl_decode(b, (uint32_t)len, &back), 0);
	return pvb_vsc_rndis(&p->g, &back, b);
}

static void
expect_bytes(const void *got, uint32_t got_len, const uint8_t *want, uint32_t want_len)
{
	const uint8_t *g = got;
	uint32_t i;

	if (got_len != want_len)
		fail_msg("%s: %u bytes, want %u", here, got_len, want_len);
	for (i = 0; i < want_len; i++)
		if (g[i] != want[i])
			fail_msg("%s: byte %u is %#04x, want %#04x", here, i, g[i], want[i]);
}

static void
expect_guest_failed(const struct peer *p, int rc)
{
	expect_eq(rc, -EPROTO);
	expect_eq(p->g.state, PVB_VSC_FAILED);
	expect_true(p->g.why != NULL);
	expect_eq(p->g.protocol_errors, 1);
}

/* After FAILED the guest sends nothing and refuses everything, without counting again. */
static void
expect_guest_dead(struct peer *p)
{
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_INIT_COMPLETE };
	struct pvb_rndis_ctl c = { .type = PVB_RNDIS_INDICATE_STATUS_MSG };
	struct pvb_vsc_action a;

	pvb_vsc_next(&p->g, &a);
	expect_eq(a.kind, PVB_VSC_ACT_NONE);
	expect_eq(pvb_vsc_nvsp(&p->g, &m), -EPROTO);
	expect_eq(pvb_vsc_rndis(&p->g, &c, NULL), -EPROTO);
	expect_eq(p->g.protocol_errors, 1);
}

/* ----------------------------------------------------------------------------
 * Hand-worked vectors (doc/nvsp.md §2.3, §3.4), all little-endian
 */

#define LE32(v)	(uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)
#define Z4	0, 0, 0, 0

/* NVSP INIT v6.1, min = max (40 bytes) */
static const uint8_t v_init[40] = { LE32(1), LE32(0x00060001), LE32(0x00060001) };
/* INIT_COMPLETE: negotiated_ver 0 (deprecated), max_mdl_chain_len 34, status SUCCESS */
static const uint8_t v_init_complete[40] = { LE32(2), Z4, LE32(34), LE32(1) };
/* SEND_NDIS_CONFIG: frame 1514, reserved, caps IEEE8021Q as an unaligned u64 at 12 */
static const uint8_t v_ndis_config[40] = { LE32(125), LE32(1514), Z4, LE32(8), Z4 };
/* SEND_NDIS_VER 6.30 */
static const uint8_t v_ndis_ver[40] = { LE32(100), LE32(6), LE32(30) };
/* SEND_RECV_BUF gpadl 0x1001, id 0xcafe */
static const uint8_t v_recv_buf[40] = { LE32(101), LE32(0x1001), 0xfe, 0xca };
/* 102: SUCCESS, 1 section {0, 1664, 630, 1048320} */
static const uint8_t v_recv_buf_complete[40] = {
	LE32(102), LE32(1), LE32(1), Z4, LE32(1664), LE32(630), LE32(1048320),
};
/* SEND_SEND_BUF gpadl 0x1002, id 0xface */
static const uint8_t v_send_buf[40] = { LE32(104), LE32(0x1002), 0xce, 0xfa };
/* 105: SUCCESS, section 6144 */
static const uint8_t v_send_buf_complete[40] = { LE32(105), LE32(1), LE32(6144) };
/* RNDIS INITIALIZE_MSG id 1, 1.0, max_transfer_size 0x4000 */
static const uint8_t v_rndis_init[24] = {
	LE32(2), LE32(24), LE32(1), LE32(1), LE32(0), LE32(0x4000),
};
/* INITIALIZE_CMPLT id 1: SUCCESS 1.0, connectionless, 802.3, 8 pkts, 6144 B, factor 3 */
static const uint8_t v_rndis_init_cmplt[52] = {
	LE32(0x80000002), LE32(52), LE32(1), LE32(0), LE32(1), LE32(0), LE32(1), LE32(0),
	LE32(8), LE32(6144), LE32(3), LE32(0), LE32(0),
};
/* QUERY id 2 OID_802_3_PERMANENT_ADDRESS, no info, info offset 20 (data at @28) */
static const uint8_t v_query_mac[28] = {
	LE32(4), LE32(28), LE32(2), LE32(0x01010101), LE32(0), LE32(20), LE32(0),
};
/* QUERY_CMPLT id 2: SUCCESS, 6 bytes at offset 16 (@24) */
static const uint8_t v_query_mac_cmplt[30] = {
	LE32(0x80000004), LE32(30), LE32(2), LE32(0), LE32(6), LE32(16),
	0x00, 0x15, 0x5d, 0x0a, 0x0b, 0x0c,
};
/* SET id 5 OID_GEN_CURRENT_PACKET_FILTER = 0x0d, 4 bytes at @28 */
static const uint8_t v_set_filter[32] = {
	LE32(5), LE32(32), LE32(5), LE32(0x0001010e), LE32(4), LE32(20), LE32(0), LE32(0x0d),
};
/* SET_CMPLT id 5 SUCCESS */
static const uint8_t v_set_cmplt[16] = { LE32(0x80000005), LE32(16), LE32(5), LE32(0) };
/* INDICATE_STATUS MEDIA_CONNECT / MEDIA_DISCONNECT, empty buffer at offset 12 */
static const uint8_t v_link_up[20] = { LE32(7), LE32(20), LE32(0x4001000b), LE32(0), LE32(12) };
static const uint8_t v_link_down[20] = { LE32(7), LE32(20), LE32(0x4001000c), LE32(0), LE32(12) };
/* KEEPALIVE id 0x77 and its completion */
static const uint8_t v_keepalive[12] = { LE32(8), LE32(12), LE32(0x77) };
static const uint8_t v_keepalive_cmplt[16] = { LE32(0x80000008), LE32(16), LE32(0x77), LE32(0) };

/* ----------------------------------------------------------------------------
 * Full init
 */

/* The init sequence, message by message, with both ends' bytes. */
static void
test_init_vectors(void **state)
{
	static const struct {
		const uint8_t *out, *back;
		uint32_t out_len, back_len;
	} want[] = {
		{ v_init, v_init_complete, 40, 40 },
		{ v_ndis_config, NULL, 40, 0 },
		{ v_ndis_ver, NULL, 40, 0 },
		{ v_recv_buf, v_recv_buf_complete, 40, 40 },
		{ v_send_buf, v_send_buf_complete, 40, 40 },
		{ v_rndis_init, v_rndis_init_cmplt, 24, 52 },
		{ v_query_mac, v_query_mac_cmplt, 28, 30 },
		{ NULL, NULL, 28, 28 },		/* MAXIMUM_FRAME_SIZE, below */
		{ NULL, NULL, 28, 28 },		/* MEDIA_CONNECT_STATUS, below */
		{ v_set_filter, v_set_cmplt, 32, 16 },
	};
	/* the two other queries: id 3 MAXIMUM_FRAME_SIZE -> 1500, id 4 MEDIA -> 0 */
	static const uint8_t q3[28] = {
		LE32(4), LE32(28), LE32(3), LE32(0x00010106), LE32(0), LE32(20), LE32(0),
	};
	static const uint8_t q3c[28] = {
		LE32(0x80000004), LE32(28), LE32(3), LE32(0), LE32(4), LE32(16), LE32(1500),
	};
	static const uint8_t q4[28] = {
		LE32(4), LE32(28), LE32(4), LE32(0x00010114), LE32(0), LE32(20), LE32(0),
	};
	static const uint8_t q4c[28] = {
		LE32(0x80000004), LE32(28), LE32(4), LE32(0), LE32(4), LE32(16), LE32(0),
	};
	struct peer p;
	unsigned int i;

	(void)state;
	peer_init(&p, 0);
	at("init");
	pump(&p);
	assert_int_equal(p.n, DIM(want));
	for (i = 0; i < DIM(want); i++) {
		const uint8_t *out = want[i].out, *back = want[i].back;

		if (i == 7) {
			out = q3;
			back = q3c;
		} else if (i == 8) {
			out = q4;
			back = q4c;
		}
		at("message %u sent", i);
		expect_bytes(p.log[i].out, p.log[i].out_len, out, want[i].out_len);
		at("message %u answer", i);
		expect_bytes(p.log[i].back, p.log[i].back_len, back, want[i].back_len);
	}
}

static void
test_init_to_ready(void **state)
{
	struct pvb_vsc_action a;
	struct peer p;

	(void)state;
	peer_init(&p, 0);
	at("to ready");
	pump(&p);
	assert_true(pvb_vsc_ready(&p.g));
	/* the guest learned what the host holds */
	expect_eq(p.g.nvsp_ver, PVB_NVSP_VER_61);
	expect_eq(p.g.slot_size, SLOT);
	expect_eq(p.g.slot_count, SLOTS);
	expect_eq(p.g.section_size, SECTION);
	expect_eq(p.g.max_pkts_per_msg, 8);
	expect_eq(p.g.align, 8);
	expect_eq(p.g.max_xfer, SECTION);
	expect_true(memcmp(p.g.mac, host_mac, 6) == 0);
	expect_eq(p.g.mtu, 1500);
	expect_true(p.g.link_up);
	expect_eq(p.g.filter, FILTER_DEFAULT);
	expect_eq(p.g.want_filter, FILTER_DEFAULT);
	expect_eq(p.g.pending_req, 0);
	expect_false(p.g.sent);
	expect_eq(p.g.next_req, 6);
	expect_true(p.g.why == NULL);
	/* the host recorded what the guest sent */
	expect_eq(p.h.state, PVB_VSP_RNDIS_READY);
	expect_true(pvb_vsp_rx_enabled(&p.h));
	expect_eq(p.h.nvsp_ver, PVB_NVSP_VER_61);
	expect_eq(p.h.ndis_ver, PVB_NDIS_VER_6_30);
	expect_eq(p.h.guest_frame, 1514);
	expect_eq(p.h.guest_caps, PVB_NDIS_CAP_IEEE8021Q);
	expect_true(p.h.have_recv_buf && p.h.have_send_buf);
	expect_eq(p.h.recv_gpadl, RECV_GPADL);
	expect_eq(p.h.send_gpadl, SEND_GPADL);
	expect_eq(p.h.slot_size, SLOT);
	expect_eq(p.h.slot_count, SLOTS);
	expect_eq(p.h.section_size, SECTION);
	expect_eq(p.h.section_count, SECTIONS);
	expect_eq(p.h.filter, FILTER_DEFAULT);
	expect_eq(p.h.protocol_errors, 0);
	/* READY with nothing changed: nothing to send */
	pvb_vsc_next(&p.g, &a);
	expect_eq(a.kind, PVB_VSC_ACT_NONE);
}

/* Host settings other than the defaults reach the guest as they are. */
static void
test_init_host_settings(void **state)
{
	struct pvb_vsp_config hc = {
		.mtu = 9000, .max_pkts_per_msg = 200, .align_factor = 6, .rx_slot_size = 9216,
		.send_section_size = 16384, .link_speed = 250000,
	};
	struct pvb_vsc_config gc = { .mtu = 9000, .recv_gpadl = HUGE_GPADL,
				     .send_gpadl = HUGE_GPADL };
	struct peer p;

	(void)state;
	memset(&p, 0, sizeof(p));
	memcpy(hc.mac, host_mac, 6);
	pvb_vsp_init(&p.h, &hc, gpadl_size, NULL);
	pvb_vsc_init(&p.g, &gc);
	at("jumbo host");
	pump(&p);
	assert_true(pvb_vsc_ready(&p.g));
	expect_eq(p.h.guest_frame, 9014);
	expect_eq(p.g.mtu, 9000);
	expect_eq(p.g.slot_size, 9216);
	/* 1 TiB of slots: as many as end below 4 GiB, 0xffffffff / 9216 */
	expect_eq(p.g.slot_count, 466033);
	expect_eq(p.h.slot_count, 466033);
	expect_eq(p.h.section_count, (1ull << 40) / 16384);
	expect_eq(p.g.section_size, 16384);
	expect_eq(p.g.max_pkts_per_msg, 64);	/* the guest's cap */
	expect_eq(p.g.align, 64);
	expect_eq(p.g.max_xfer, 16384);
}

static void
test_vsp_defaults(void **state)
{
	static const struct {
		struct pvb_vsp_config in;
		uint32_t mtu, slot, section, pkts, factor, speed;
	} cases[] = {
		{ { .mtu = 0 }, 1500, 1664, 6144, 8, 3, 100000000 },
		{ { .mtu = 1500 }, 1500, 1664, 6144, 8, 3, 100000000 },
		/* 128 + 9000 + 18 = 9146 -> 9152; 44 + 64 + 9000 + 18 = 9126 -> 9152 */
		{ { .mtu = 9000 }, 9000, 9152, 9152, 8, 3, 100000000 },
		/* 128 + 6000 + 18 = 6146 -> 6208; 6126 -> 6144 */
		{ { .mtu = 6000 }, 6000, 6208, 6144, 8, 3, 100000000 },
		{ { .mtu = 1500, .rx_slot_size = 2048, .send_section_size = 4096,
		    .max_pkts_per_msg = 1, .align_factor = 5, .link_speed = 7 },
		  1500, 2048, 4096, 1, 5, 7 },
	};
	struct pvb_vsp h;
	unsigned int i;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("case %u", i);
		pvb_vsp_init(&h, &cases[i].in, NULL, NULL);
		expect_eq(h.state, PVB_VSP_WAIT_INIT);
		expect_eq(h.cfg.mtu, cases[i].mtu);
		expect_eq(h.cfg.rx_slot_size, cases[i].slot);
		expect_eq(h.cfg.send_section_size, cases[i].section);
		expect_eq(h.cfg.max_pkts_per_msg, cases[i].pkts);
		expect_eq(h.cfg.align_factor, cases[i].factor);
		expect_eq(h.cfg.link_speed, cases[i].speed);
		expect_false(pvb_vsp_rx_enabled(&h));
	}
}

/* ----------------------------------------------------------------------------
 * Version fallback
 */

/*
 * The host is made to refuse the first @p refuse versions (crafted
 * INIT_COMPLETE with status FAIL, as a host that does not know them sends);
 * the guest must settle on the next one and pick the NDIS version and
 * NDIS_CONFIG by it.
 */
static void
test_version_fallback(void **state)
{
	static const struct {
		unsigned int refuse;
		uint32_t ver, ndis;
		bool ndis_config;
	} cases[] = {
		{ 0, PVB_NVSP_VER_61, PVB_NDIS_VER_6_30, true },
		{ 1, PVB_NVSP_VER_6, PVB_NDIS_VER_6_30, true },
		{ 2, PVB_NVSP_VER_5, PVB_NDIS_VER_6_30, true },
		{ 3, PVB_NVSP_VER_4, PVB_NDIS_VER_6_1, true },
		{ 4, PVB_NVSP_VER_2, PVB_NDIS_VER_6_1, true },
		{ 5, PVB_NVSP_VER_1, PVB_NDIS_VER_6_1, false },
	};
	static const uint32_t order[] = {
		PVB_NVSP_VER_61, PVB_NVSP_VER_6, PVB_NVSP_VER_5, PVB_NVSP_VER_4,
		PVB_NVSP_VER_2, PVB_NVSP_VER_1,
	};
	struct pvb_nvsp_msg fail = { .type = PVB_NVSP_INIT_COMPLETE,
				     .u.init_complete = { PVB_NVSP_STAT_FAIL, 0 } };
	struct pvb_vsc_action a;
	struct peer p;
	unsigned int i, k;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("refuse %u", cases[i].refuse);
		peer_init(&p, 0);
		for (k = 0; k < cases[i].refuse; k++) {
			pvb_vsc_next(&p.g, &a);
			expect_eq(a.kind, PVB_VSC_ACT_NVSP);
			expect_eq(a.nvsp.type, PVB_NVSP_INIT);
			expect_true(a.want_comp);
			expect_eq(a.nvsp.u.init.min_ver, order[k]);
			expect_eq(a.nvsp.u.init.max_ver, order[k]);
			expect_eq(p.g.state, PVB_VSC_WAIT_INIT);
			expect_eq(guest_nvsp(&p, &fail), 0);
		}
		pump(&p);
		assert_true(pvb_vsc_ready(&p.g));
		expect_eq(p.g.nvsp_ver, cases[i].ver);
		expect_eq(p.h.nvsp_ver, cases[i].ver);
		expect_eq(p.h.ndis_ver, cases[i].ndis);
		/* NDIS_CONFIG only from v2: the second message says */
		expect_eq(p.log[1].out[0], cases[i].ndis_config ? 125 : 100);
		expect_eq(p.h.guest_frame, cases[i].ndis_config ? 1514 : 0);
	}
}

/* Every version refused, or none left at or above min_nvsp_ver: FAILED. */
static void
test_version_exhausted(void **state)
{
	static const struct {
		uint32_t min;
		unsigned int tries;
	} cases[] = {
		{ 0, 6 }, { PVB_NVSP_VER_1, 6 }, { PVB_NVSP_VER_4, 4 }, { PVB_NVSP_VER_61, 1 },
		{ 0x00070000, 0 },
	};
	struct pvb_nvsp_msg fail = { .type = PVB_NVSP_INIT_COMPLETE,
				     .u.init_complete = { PVB_NVSP_STAT_TOO_OLD, 0 } };
	struct pvb_vsc_action a;
	struct peer p;
	unsigned int i, k;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("min %#x", cases[i].min);
		peer_init(&p, cases[i].min);
		for (k = 0; k < cases[i].tries; k++) {
			pvb_vsc_next(&p.g, &a);
			expect_eq(a.nvsp.type, PVB_NVSP_INIT);
			expect_true(a.nvsp.u.init.min_ver >= p.g.cfg.min_nvsp_ver);
			expect_eq(guest_nvsp(&p, &fail), 0);
		}
		pvb_vsc_next(&p.g, &a);
		expect_eq(a.kind, PVB_VSC_ACT_NONE);
		expect_eq(p.g.state, PVB_VSC_FAILED);
		expect_true(p.g.why != NULL && strstr(p.g.why, "version") != NULL);
		expect_guest_dead(&p);
	}
}

/* ----------------------------------------------------------------------------
 * The host: NVSP out of order or invalid
 */

#define M_INIT(v)	{ .type = PVB_NVSP_INIT, .u.init = { (v), (v) } }
#define M_CONFIG(f)	{ .type = PVB_NVSP_SEND_NDIS_CONFIG, .u.ndis_config = { (f), 8 } }
#define M_VER		{ .type = PVB_NVSP_SEND_NDIS_VER, .u.ndis_ver = { 6, 30 } }
#define M_RECV(g)	{ .type = PVB_NVSP_SEND_RECV_BUF, .u.send_buf = { (g), 0xcafe } }
#define M_SEND(g)	{ .type = PVB_NVSP_SEND_SEND_BUF, .u.send_buf = { (g), 0xface } }
#define M_REVOKE_RECV	{ .type = PVB_NVSP_REVOKE_RECV_BUF, .u.revoke = { 0xcafe } }
#define M_REVOKE_SEND	{ .type = PVB_NVSP_REVOKE_SEND_BUF, .u.revoke = { 0xface } }
#define M_TYPE(t)	{ .type = (t) }
#define V61		PVB_NVSP_VER_61

/* An NVSP message to the host through the codec (types it does not know: as they are). */
static int
host_nvsp(struct pvb_vsp *h, const struct pvb_nvsp_msg *m, struct pvb_nvsp_msg *reply)
{
	uint8_t b[PVB_NVSP_MSG_SIZE];
	struct pvb_nvsp_msg in;
	int rc;

	pvb_nvsp_encode(m, b);
	rc = pvb_nvsp_decode(b, sizeof(b), &in);
	if (rc == -ENOTSUP)
		in = *m;
	else
		assert_int_equal(rc, 0);
	return pvb_vsp_nvsp(h, &in, reply);
}

static uint32_t
reply_status(const struct pvb_nvsp_msg *r)
{
	switch (r->type) {
	case PVB_NVSP_INIT_COMPLETE:
		return r->u.init_complete.status;
	case PVB_NVSP_SEND_RECV_BUF_COMPLETE:
		return r->u.recv_buf_complete.status;
	case PVB_NVSP_SEND_SEND_BUF_COMPLETE:
		return r->u.send_buf_complete.status;
	case PVB_NVSP_SUBCHANNEL:
		return r->u.subchannel.op_or_status;
	}
	return 0xdead;
}

static void
test_vsp_nvsp_sequences(void **state)
{
	static const struct {
		const char *name;
		struct pvb_nvsp_msg seq[6];
		unsigned int n;
		int rc;				/* of the last message */
		enum pvb_vsp_state st;
		uint32_t status;		/* of its reply when rc == 1 */
	} cases[] = {
		{ "INIT v6.1", { M_INIT(V61) }, 1, 1, PVB_VSP_NEGOTIATED, 1 },
		{ "INIT v1", { M_INIT(PVB_NVSP_VER_1) }, 1, 1, PVB_VSP_NEGOTIATED, 1 },
		{ "INIT unknown version", { M_INIT(0x00050001) }, 1, 1, PVB_VSP_WAIT_INIT, 2 },
		{ "INIT version 0", { M_INIT(0) }, 1, 1, PVB_VSP_WAIT_INIT, 2 },
		{ "INIT after a refusal", { M_INIT(0x00070000), M_INIT(PVB_NVSP_VER_5) }, 2, 1,
		  PVB_VSP_NEGOTIATED, 1 },
		{ "INIT twice", { M_INIT(V61), M_INIT(V61) }, 2, -EPROTO, PVB_VSP_FAILED, 0 },
		{ "NDIS_VER before INIT", { M_VER }, 1, -EPROTO, PVB_VSP_FAILED, 0 },
		{ "NDIS_CONFIG before INIT", { M_CONFIG(1514) }, 1, -EPROTO, PVB_VSP_FAILED, 0 },
		{ "NDIS_CONFIG under v1", { M_INIT(PVB_NVSP_VER_1), M_CONFIG(1514) }, 2, -EPROTO,
		  PVB_VSP_FAILED, 0 },
		{ "RECV_BUF before INIT", { M_RECV(RECV_GPADL) }, 1, -EPROTO, PVB_VSP_FAILED, 0 },
		{ "SEND_BUF before INIT", { M_SEND(SEND_GPADL) }, 1, -EPROTO, PVB_VSP_FAILED, 0 },
		{ "RECV_BUF before NDIS_CONFIG", { M_INIT(V61), M_VER, M_RECV(RECV_GPADL) }, 3,
		  -EPROTO, PVB_VSP_FAILED, 0 },
		{ "SEND_BUF before NDIS_CONFIG", { M_INIT(PVB_NVSP_VER_2), M_SEND(SEND_GPADL) }, 2,
		  -EPROTO, PVB_VSP_FAILED, 0 },
		{ "RECV_BUF under v1 without NDIS_CONFIG", { M_INIT(PVB_NVSP_VER_1),
		  M_RECV(RECV_GPADL) }, 2, 1, PVB_VSP_NEGOTIATED, 1 },
		{ "RECV_BUF unknown gpadl", { M_INIT(V61), M_CONFIG(1514), M_RECV(0x77) }, 3, 1,
		  PVB_VSP_NEGOTIATED, 2 },
		{ "RECV_BUF below one slot", { M_INIT(V61), M_CONFIG(1514), M_RECV(TINY_GPADL) },
		  3, 1, PVB_VSP_NEGOTIATED, 2 },
		{ "RECV_BUF again after a refusal", { M_INIT(V61), M_CONFIG(1514), M_RECV(0x77),
		  M_RECV(RECV_GPADL) }, 4, 1, PVB_VSP_NEGOTIATED, 1 },
		{ "SEND_BUF unknown gpadl", { M_INIT(V61), M_CONFIG(1514), M_SEND(0x77) }, 3, 1,
		  PVB_VSP_NEGOTIATED, 2 },
		{ "SEND_BUF below one section", { M_INIT(V61), M_CONFIG(1514),
		  M_SEND(TINY_GPADL) }, 3, 1, PVB_VSP_NEGOTIATED, 2 },
		{ "both buffers, send first", { M_INIT(V61), M_CONFIG(1514), M_SEND(SEND_GPADL),
		  M_RECV(RECV_GPADL) }, 4, 1, PVB_VSP_BUFFERS, 1 },
		{ "RECV_BUF twice", { M_INIT(V61), M_CONFIG(1514), M_RECV(RECV_GPADL),
		  M_RECV(RECV_GPADL) }, 4, -EPROTO, PVB_VSP_FAILED, 0 },
		{ "SEND_BUF twice", { M_INIT(V61), M_CONFIG(1514), M_SEND(SEND_GPADL),
		  M_RECV(RECV_GPADL), M_SEND(SEND_GPADL) }, 5, -EPROTO, PVB_VSP_FAILED, 0 },
		{ "NDIS_CONFIG after the buffers", { M_INIT(V61), M_CONFIG(1514),
		  M_SEND(SEND_GPADL), M_RECV(RECV_GPADL), M_CONFIG(1514) }, 5, -EPROTO,
		  PVB_VSP_FAILED, 0 },
		{ "revoke before INIT", { M_REVOKE_RECV }, 1, -EPROTO, PVB_VSP_FAILED, 0 },
		{ "revoke of a buffer never given", { M_INIT(V61), M_REVOKE_SEND }, 2, 0,
		  PVB_VSP_HALTED, 0 },
		{ "RECV_BUF after a revoke", { M_INIT(V61), M_CONFIG(1514), M_RECV(RECV_GPADL),
		  M_REVOKE_RECV, M_RECV(RECV_GPADL) }, 5, -EPROTO, PVB_VSP_FAILED, 0 },
		{ "107 on the control path", { M_INIT(V61), M_TYPE(PVB_NVSP_SEND_RNDIS_PKT) }, 2,
		  -EPROTO, PVB_VSP_FAILED, 0 },
		{ "108 on the control path", { M_TYPE(PVB_NVSP_SEND_RNDIS_PKT_COMPLETE) }, 1,
		  -EPROTO, PVB_VSP_FAILED, 0 },
		{ "INIT_COMPLETE from the guest", { M_TYPE(PVB_NVSP_INIT_COMPLETE) }, 1, -EPROTO,
		  PVB_VSP_FAILED, 0 },
		{ "102 from the guest", { M_INIT(V61), M_TYPE(PVB_NVSP_SEND_RECV_BUF_COMPLETE) },
		  2, -EPROTO, PVB_VSP_FAILED, 0 },
		{ "105 from the guest", { M_TYPE(PVB_NVSP_SEND_SEND_BUF_COMPLETE) }, 1, -EPROTO,
		  PVB_VSP_FAILED, 0 },
		/* before RNDIS is up: refused with a status, not a violation */
		{ "SUBCHANNEL before RNDIS", { M_INIT(V61), M_TYPE(PVB_NVSP_SUBCHANNEL) }, 2, 1,
		  PVB_VSP_NEGOTIATED, PVB_NVSP_STAT_FAIL },
		{ "type 0", { M_TYPE(0) }, 1, -EPROTO, PVB_VSP_FAILED, 0 },
	};
	struct pvb_nvsp_msg reply, again = M_INIT(V61);
	struct pvb_vsp h;
	unsigned int i, k;
	int rc;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		pvb_vsp_init(&h, NULL, gpadl_size, NULL);
		for (k = 0; k + 1 < cases[i].n; k++) {
			at("%s: message %u", cases[i].name, k);
			expect_true(host_nvsp(&h, &cases[i].seq[k], &reply) >= 0);
		}
		at("%s", cases[i].name);
		rc = host_nvsp(&h, &cases[i].seq[k], &reply);
		expect_eq(rc, cases[i].rc);
		expect_eq(h.state, cases[i].st);
		if (rc == 1)
			expect_eq(reply_status(&reply), cases[i].status);
		if (rc == 1 && cases[i].status != PVB_NVSP_STAT_SUCCESS &&
		    reply.type == PVB_NVSP_SEND_RECV_BUF_COMPLETE)
			expect_eq(reply.u.recv_buf_complete.num_sections, 0);
		if (rc == -EPROTO) {
			expect_true(h.why != NULL);
			expect_eq(h.protocol_errors, 1);
			/* dead for good, counted once */
			expect_eq(host_nvsp(&h, &again, &reply), -EPROTO);
			expect_eq(h.protocol_errors, 1);
			expect_false(pvb_vsp_rx_enabled(&h));
		} else {
			expect_eq(h.protocol_errors, 0);
			expect_true(h.why == NULL);
		}
	}
}

/* SEND_NDIS_CONFIG's frame size is clamped as OpenVMM does: [1514, 9216], else 1514. */
static void
test_vsp_ndis_config_clamp(void **state)
{
	static const uint32_t in[] = { 0, 1000, 1513, 1514, 4000, 9216, 9217, 0xffffffff };
	static const uint32_t out[] = { 1514, 1514, 1514, 1514, 4000, 9216, 1514, 1514 };
	struct pvb_nvsp_msg init = M_INIT(V61), reply, cfg = M_CONFIG(0);
	struct pvb_vsp h;
	unsigned int i;

	(void)state;
	for (i = 0; i < DIM(in); i++) {
		at("frame %u", in[i]);
		pvb_vsp_init(&h, NULL, gpadl_size, NULL);
		expect_eq(host_nvsp(&h, &init, &reply), 1);
		cfg.u.ndis_config.mtu = in[i];
		cfg.u.ndis_config.caps = 0x8000000000000004ull;
		expect_eq(host_nvsp(&h, &cfg, &reply), 0);
		expect_eq(h.guest_frame, out[i]);
		expect_eq(h.guest_caps, 0x8000000000000004ull);
	}
}

/* ----------------------------------------------------------------------------
 * The host: RNDIS
 */

enum host_point { H_START, H_NEGOTIATED, H_BUFFERS, H_READY };

/* A host brought to @p upto by hand-made guest messages. */
static void
host_to(struct pvb_vsp *h, enum host_point upto)
{
	static const struct pvb_nvsp_msg seq[] = {
		M_INIT(V61), M_CONFIG(1514), M_VER, M_RECV(RECV_GPADL), M_SEND(SEND_GPADL),
	};
	struct pvb_vsp_config hc = { .mtu = 1500 };
	struct pvb_nvsp_msg reply;
	unsigned int i, n = upto == H_START ? 0 : upto == H_NEGOTIATED ? 3 : 5;
	uint8_t b[256];

	memcpy(hc.mac, host_mac, 6);
	pvb_vsp_init(h, &hc, gpadl_size, NULL);
	for (i = 0; i < n; i++)
		assert_true(host_nvsp(h, &seq[i], &reply) >= 0);
	if (upto == H_READY) {
		struct pvb_rndis_ctl c = { .type = PVB_RNDIS_INITIALIZE_MSG, .request_id = 9,
					   .major = 1, .max_transfer_size = 0x4000 };

		assert_true(pvb_vsp_rndis(h, &c, NULL, b, sizeof(b)) > 0);
		assert_int_equal(h->state, PVB_VSP_RNDIS_READY);
	}
}

/* A request to the host through the codec; its completion decoded into @p r. */
static int
host_rndis(struct pvb_vsp *h, const struct pvb_rndis_ctl *c, const void *info,
	   struct pvb_rndis_ctl *r, uint8_t *reply)
{
	uint8_t msg[128];
	struct pvb_rndis_ctl in;
	int len = pvb_rndis_ctl_encode(c, info, msg, sizeof(msg)), rc;

	if (len > 0)
		assert_int_equal(pvb_rndis_ctl_decode(msg, (uint32_t)len, &in), 0);
	else
		in = *c;	/* a type the codec does not encode (PACKET_MSG): as it is */
	memset(reply, 0xa5, 256);
	rc = pvb_vsp_rndis(h, &in, msg, reply, 256);
	memset(r, 0, sizeof(*r));
	if (rc > 0)
		assert_int_equal(pvb_rndis_ctl_decode(reply, (uint32_t)rc, r), 0);
	return rc;
}

static void
test_vsp_rndis_requests(void **state)
{
	static const struct {
		const char *name;
		enum host_point upto;
		uint32_t type, oid, info_len, info;
		int rc;				/* > 0: a completion of ctype */
		uint32_t ctype, status;
		enum pvb_vsp_state st;
	} cases[] = {
		{ "INITIALIZE before INIT", H_START, PVB_RNDIS_INITIALIZE_MSG, 0, 0, 0, 52,
		  PVB_RNDIS_INITIALIZE_CMPLT, PVB_RNDIS_STATUS_FAILURE, PVB_VSP_WAIT_INIT },
		{ "INITIALIZE before buffers", H_NEGOTIATED, PVB_RNDIS_INITIALIZE_MSG, 0, 0, 0, 52,
		  PVB_RNDIS_INITIALIZE_CMPLT, PVB_RNDIS_STATUS_FAILURE, PVB_VSP_NEGOTIATED },
		{ "INITIALIZE", H_BUFFERS, PVB_RNDIS_INITIALIZE_MSG, 0, 0, 0, 52,
		  PVB_RNDIS_INITIALIZE_CMPLT, PVB_RNDIS_STATUS_SUCCESS, PVB_VSP_RNDIS_READY },
		{ "INITIALIZE twice", H_READY, PVB_RNDIS_INITIALIZE_MSG, 0, 0, 0, 52,
		  PVB_RNDIS_INITIALIZE_CMPLT, PVB_RNDIS_STATUS_FAILURE, PVB_VSP_RNDIS_READY },
		{ "QUERY before ready", H_BUFFERS, PVB_RNDIS_QUERY_MSG,
		  PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS, 0, 0, 24, PVB_RNDIS_QUERY_CMPLT,
		  PVB_RNDIS_STATUS_FAILURE, PVB_VSP_BUFFERS },
		{ "SET before ready", H_NEGOTIATED, PVB_RNDIS_SET_MSG,
		  PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 4, 1, 16, PVB_RNDIS_SET_CMPLT,
		  PVB_RNDIS_STATUS_FAILURE, PVB_VSP_NEGOTIATED },
		{ "KEEPALIVE before ready", H_START, PVB_RNDIS_KEEPALIVE_MSG, 0, 0, 0, 16,
		  PVB_RNDIS_KEEPALIVE_CMPLT, PVB_RNDIS_STATUS_FAILURE, PVB_VSP_WAIT_INIT },
		{ "KEEPALIVE", H_READY, PVB_RNDIS_KEEPALIVE_MSG, 0, 0, 0, 16,
		  PVB_RNDIS_KEEPALIVE_CMPLT, PVB_RNDIS_STATUS_SUCCESS, PVB_VSP_RNDIS_READY },
		{ "RESET", H_READY, PVB_RNDIS_RESET_MSG, 0, 0, 0, 16, PVB_RNDIS_RESET_CMPLT,
		  PVB_RNDIS_STATUS_NOT_SUPPORTED, PVB_VSP_RNDIS_READY },
		{ "SET filter", H_READY, PVB_RNDIS_SET_MSG,
		  PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 4, 0x21, 16, PVB_RNDIS_SET_CMPLT,
		  PVB_RNDIS_STATUS_SUCCESS, PVB_VSP_RNDIS_READY },
		{ "SET filter, 2 bytes", H_READY, PVB_RNDIS_SET_MSG,
		  PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 2, 0x21, 16, PVB_RNDIS_SET_CMPLT,
		  PVB_RNDIS_STATUS_INVALID_DATA, PVB_VSP_RNDIS_READY },
		{ "SET filter, no bytes", H_READY, PVB_RNDIS_SET_MSG,
		  PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 0, 0, 16, PVB_RNDIS_SET_CMPLT,
		  PVB_RNDIS_STATUS_INVALID_DATA, PVB_VSP_RNDIS_READY },
		{ "SET filter, 8 bytes", H_READY, PVB_RNDIS_SET_MSG,
		  PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 8, 0x21, 16, PVB_RNDIS_SET_CMPLT,
		  PVB_RNDIS_STATUS_INVALID_DATA, PVB_VSP_RNDIS_READY },
		{ "SET another OID", H_READY, PVB_RNDIS_SET_MSG, 0x0001021b, 4, 1, 16,
		  PVB_RNDIS_SET_CMPLT, PVB_RNDIS_STATUS_NOT_SUPPORTED, PVB_VSP_RNDIS_READY },
		{ "QUERY unknown OID", H_READY, PVB_RNDIS_QUERY_MSG, 0x00010202, 0, 0, 24,
		  PVB_RNDIS_QUERY_CMPLT, PVB_RNDIS_STATUS_INVALID_OID, PVB_VSP_RNDIS_READY },
		{ "SET offload parameters, 4 bytes", H_READY, PVB_RNDIS_SET_MSG,
		  PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS, 4, 0, 16, PVB_RNDIS_SET_CMPLT,
		  PVB_RNDIS_STATUS_INVALID_DATA, PVB_VSP_RNDIS_READY },
		{ "HALT", H_READY, PVB_RNDIS_HALT_MSG, 0, 0, 0, 0, 0, 0, PVB_VSP_HALTED },
		{ "HALT before ready", H_BUFFERS, PVB_RNDIS_HALT_MSG, 0, 0, 0, 0, 0, 0,
		  PVB_VSP_HALTED },
		{ "INITIALIZE_CMPLT from the guest", H_READY, PVB_RNDIS_INITIALIZE_CMPLT, 0, 0, 0,
		  -EPROTO, 0, 0, PVB_VSP_FAILED },
		{ "QUERY_CMPLT from the guest", H_BUFFERS, PVB_RNDIS_QUERY_CMPLT, 0, 0, 0,
		  -EPROTO, 0, 0, PVB_VSP_FAILED },
		{ "SET_CMPLT from the guest", H_START, PVB_RNDIS_SET_CMPLT, 0, 0, 0, -EPROTO, 0, 0,
		  PVB_VSP_FAILED },
		{ "INDICATE_STATUS from the guest", H_READY, PVB_RNDIS_INDICATE_STATUS_MSG, 0, 0,
		  0, -EPROTO, 0, 0, PVB_VSP_FAILED },
		{ "PACKET_MSG on the control path", H_READY, PVB_RNDIS_PACKET_MSG, 0, 0, 0,
		  -EPROTO, 0, 0, PVB_VSP_FAILED },
	};
	struct pvb_rndis_ctl c, r;
	uint8_t info[8], reply[256];
	struct pvb_vsp h;
	unsigned int i;
	int rc;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		host_to(&h, cases[i].upto);
		memset(&c, 0, sizeof(c));
		c.type = cases[i].type;
		c.request_id = 0x100 + i;
		c.oid = cases[i].oid;
		c.info_len = cases[i].info_len;
		memset(info, 0, sizeof(info));
		memcpy(info, &cases[i].info, 4);
		rc = host_rndis(&h, &c, info, &r, reply);
		expect_eq(rc, cases[i].rc);
		expect_eq(h.state, cases[i].st);
		if (rc > 0) {
			expect_eq(r.type, cases[i].ctype);
			expect_eq(r.status, cases[i].status);
			/* RESET_CMPLT has no request id on the wire */
			if (r.type != PVB_RNDIS_RESET_CMPLT)
				expect_eq(r.request_id, 0x100 + i);
			expect_eq(r.info_len, 0);
			expect_true(bytes_all(reply + rc, 256 - (uint32_t)rc, 0xa5));
		}
		if (cases[i].st == PVB_VSP_FAILED) {
			expect_true(h.why != NULL);
			/* a completion is named as such: the guest mixed up the directions */
			expect_eq(strstr(h.why, "completion") != NULL,
				  (cases[i].type & 0x80000000u) != 0);
			expect_eq(h.protocol_errors, 1);
			expect_eq(host_rndis(&h, &c, info, &r, reply), -EPROTO);
			expect_eq(h.protocol_errors, 1);
		} else {
			expect_eq(h.protocol_errors, 0);
		}
	}
}

/* The answers to every OID the host knows, and the filter's effect on RX. */
static void
test_vsp_rndis_queries(void **state)
{
	static const struct {
		uint32_t oid, len;
		uint8_t v[44];
	} cases[] = {
		{ PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS, 6, { 0, 0x15, 0x5d, 0x0a, 0x0b, 0x0c } },
		{ PVB_RNDIS_OID_802_3_CURRENT_ADDRESS, 6, { 0, 0x15, 0x5d, 0x0a, 0x0b, 0x0c } },
		{ PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, 4, { LE32(1500) } },
		{ PVB_RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE, 4, { LE32(1514) } },
		{ PVB_RNDIS_OID_GEN_LINK_SPEED, 4, { LE32(100000000) } },
		{ PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, 4, { LE32(0) } },
		{ PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 4, { LE32(0) } },
		{ PVB_RNDIS_OID_GEN_SUPPORTED_LIST, 44, {
			LE32(0x00010101), LE32(0x00010106), LE32(0x00010107), LE32(0x0001010e),
			LE32(0x00010111), LE32(0x00010114), LE32(0x01010101), LE32(0x01010102),
			LE32(0xfc01020d), LE32(0xfc01020b), LE32(0x00010203) } },
	};
	struct pvb_rndis_ctl c = { .type = PVB_RNDIS_QUERY_MSG, .request_id = 42 }, r;
	struct pvb_rndis_ctl set = { .type = PVB_RNDIS_SET_MSG, .request_id = 43,
				     .oid = PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER,
				     .info_len = 4 };
	uint8_t reply[256], f[4] = { LE32(0x2d) };
	struct pvb_vsp h;
	unsigned int i;

	(void)state;
	host_to(&h, H_READY);
	for (i = 0; i < DIM(cases); i++) {
		at("oid %#x", cases[i].oid);
		c.oid = cases[i].oid;
		expect_eq(host_rndis(&h, &c, NULL, &r, reply), 24 + cases[i].len);
		expect_eq(r.type, PVB_RNDIS_QUERY_CMPLT);
		expect_eq(r.request_id, 42);
		expect_eq(r.status, PVB_RNDIS_STATUS_SUCCESS);
		expect_eq(r.info_off, 24);
		expect_eq(r.info_len, cases[i].len);
		expect_true(memcmp(reply + 24, cases[i].v, cases[i].len) == 0);
	}
	/* every OID the list names is answered with data */
	for (i = 0; i < 10; i++) {
		uint32_t oid;

		memcpy(&oid, cases[DIM(cases) - 1].v + 4 * i, 4);
		at("listed oid %#x", oid);
		c.oid = oid;
		expect_true(host_rndis(&h, &c, NULL, &r, reply) > 24);
		expect_eq(r.status, PVB_RNDIS_STATUS_SUCCESS);
	}
	/* no RX until a filter is set; filter 0 stops it again */
	at("filter");
	expect_false(pvb_vsp_rx_enabled(&h));
	expect_eq(host_rndis(&h, &set, f, &r, reply), 16);
	expect_eq(h.filter, 0x2d);
	expect_true(pvb_vsp_rx_enabled(&h));
	c.oid = PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER;
	expect_eq(host_rndis(&h, &c, NULL, &r, reply), 28);
	expect_true(memcmp(reply + 24, f, 4) == 0);
	memset(f, 0, 4);
	expect_eq(host_rndis(&h, &set, f, &r, reply), 16);
	expect_eq(h.filter, 0);
	expect_false(pvb_vsp_rx_enabled(&h));
	/* a SET with a bad length leaves the filter alone */
	f[0] = 0x01;
	set.info_len = 3;
	expect_eq(host_rndis(&h, &set, f, &r, reply), 16);
	expect_eq(r.status, PVB_RNDIS_STATUS_INVALID_DATA);
	expect_eq(h.filter, 0);
	/* the reply must fit: a small buffer is the caller's error, not the guest's */
	at("small reply buffer");
	c.oid = PVB_RNDIS_OID_GEN_SUPPORTED_LIST;
	{
		uint8_t msg[64];
		struct pvb_rndis_ctl in;
		int len = pvb_rndis_ctl_encode(&c, NULL, msg, sizeof(msg));

		assert_true(len > 0);
		assert_int_equal(pvb_rndis_ctl_decode(msg, (uint32_t)len, &in), 0);
		expect_eq(pvb_vsp_rndis(&h, &in, msg, reply, 40), -EMSGSIZE);
		expect_eq(h.state, PVB_VSP_RNDIS_READY);
		expect_eq(h.protocol_errors, 0);
	}
}

/* ----------------------------------------------------------------------------
 * Task offload: the capabilities, the current configuration, the parameters
 */

/* A guest asking for @p want against a host offering everything (or nothing). */
static void
peer_init_offload(struct peer *p, uint32_t want, bool host_none, unsigned int first_ver)
{
	peer_init(p, 0);
	p->g.cfg.offload = want;
	p->g.ver_idx = first_ver;
	p->h.cfg.no_offload = host_none;
}

static void
test_offload_negotiation(void **state)
{
	static const struct {
		const char *name;
		uint32_t want;
		bool host_none;
		unsigned int first_ver;		/* index into the newest-first version list */
		uint32_t offered, enabled;
	} cases[] = {
		{ "everything, NDIS 6.30", PVB_OFL_ALL, false, 0, PVB_OFL_ALL, PVB_OFL_ALL },
		{ "checksums only", PVB_OFL_TX_CSUM | PVB_OFL_RX_CSUM, false, 0, PVB_OFL_ALL,
		  PVB_OFL_TX_CSUM | PVB_OFL_RX_CSUM },
		{ "LSO and RSC for IPv6 only", PVB_OFL_LSO6 | PVB_OFL_RSC6, false, 0, PVB_OFL_ALL,
		  PVB_OFL_LSO6 | PVB_OFL_RSC6 },
		{ "NDIS 6.1 (NVSP v4): no RSC", PVB_OFL_ALL, false, 3,
		  PVB_OFL_ALL & ~(PVB_OFL_RSC4 | PVB_OFL_RSC6),
		  PVB_OFL_ALL & ~(PVB_OFL_RSC4 | PVB_OFL_RSC6) },
		{ "host offers nothing", PVB_OFL_ALL, true, 0, 0, 0 },
		{ "guest asks for nothing", 0, false, 0, 0, 0 },
	};
	struct pvb_rndis_ctl c = { .type = PVB_RNDIS_QUERY_MSG, .request_id = 77,
				   .oid = PVB_RNDIS_OID_TCP_OFFLOAD_CURRENT_CONFIG }, r;
	uint8_t reply[256];
	uint32_t mask;
	unsigned int i;
	struct peer p;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		peer_init_offload(&p, cases[i].want, cases[i].host_none, cases[i].first_ver);
		pump(&p);
		assert_true(pvb_vsc_ready(&p.g));
		expect_eq(p.g.host_offload, cases[i].want != 0 ? cases[i].offered : 0);
		expect_eq(p.g.offload, cases[i].enabled);
		expect_eq(p.h.offload, cases[i].enabled);
		expect_eq(p.g.filter, FILTER_DEFAULT);
		expect_eq(p.h.protocol_errors, 0);
		/* the current configuration says what is on */
		if (cases[i].host_none) {
			host_rndis(&p.h, &c, NULL, &r, reply);
			expect_eq(r.status, PVB_RNDIS_STATUS_NOT_SUPPORTED);
			continue;
		}
		expect_true(host_rndis(&p.h, &c, NULL, &r, reply) > 24);
		expect_eq(r.status, PVB_RNDIS_STATUS_SUCCESS);
		expect_eq(pvb_ndis_offload_decode(reply + r.info_off, r.info_len, &mask), 0);
		/* IPv6 checksums have no IP-header bit: what is on comes back as it is */
		expect_eq(mask, cases[i].enabled);
	}
}

/* The NDIS_OFFLOAD bytes: sizes and revisions per NDIS version, words per mask. */
static void
test_ndis_offload_codec(void **state)
{
	uint8_t b[PVB_NDIS_OFFLOAD_SIZE_6_30 + 8];
	struct pvb_ndis_offload o;
	uint32_t mask;

	(void)state;
	at("6.30");
	expect_eq(pvb_ndis_offload_encode(b, PVB_NDIS_VER_6_30, PVB_OFL_ALL), 156);
	memcpy(&o, b, sizeof(o));
	expect_eq(o.hdr.type, 0xa7);
	expect_eq(o.hdr.revision, 3);
	expect_eq(o.hdr.size, 156);
	expect_eq(o.ip4_tx_csum, 0x155);	/* IP4 | UDP | TCP | TCP options | IP options */
	expect_eq(o.ip6_tx_csum, 0x055);
	expect_eq(o.ip4_tx_encap, 2);
	expect_eq(o.lsov2_ip4_encap, 2);
	expect_eq(o.lsov2_ip4_max_size, 65536);
	expect_eq(o.lsov2_ip4_min_segs, 2);
	expect_eq(o.lsov2_ip6_opts, 5);
	expect_eq(o.rsc_ip4, 1);
	expect_eq(o.rsc_ip6, 1);
	expect_eq(pvb_ndis_offload_decode(b, 156, &mask), 0);
	expect_eq(mask, PVB_OFL_ALL);
	at("6.1 and 6.0");
	expect_eq(pvb_ndis_offload_encode(b, PVB_NDIS_VER_6_1, PVB_OFL_ALL), 144);
	expect_eq(b[1], 2);
	expect_eq(pvb_ndis_offload_decode(b, 144, &mask), 0);
	expect_eq(mask, PVB_OFL_ALL & ~(PVB_OFL_RSC4 | PVB_OFL_RSC6));
	expect_eq(pvb_ndis_offload_encode(b, 0, PVB_OFL_TX_TCP4), 112);
	expect_eq(b[1], 1);
	expect_eq(pvb_ndis_offload_decode(b, 112, &mask), 0);
	expect_eq(mask, PVB_OFL_TX_TCP4);
	at("hostile answers");
	pvb_ndis_offload_encode(b, PVB_NDIS_VER_6_30, PVB_OFL_ALL);
	expect_eq(pvb_ndis_offload_decode(b, 155, &mask), -EPROTO);	/* size > bytes */
	expect_eq(pvb_ndis_offload_decode(b, 3, &mask), -EPROTO);
	b[0] = 0x80;
	expect_eq(pvb_ndis_offload_decode(b, 156, &mask), -EPROTO);
	b[0] = 0xa7;
	b[1] = 0;
	expect_eq(pvb_ndis_offload_decode(b, 156, &mask), -EPROTO);
	b[1] = 3;
	b[2] = 100;	/* size 100 < the 6.0 layout */
	b[3] = 0;
	expect_eq(pvb_ndis_offload_decode(b, 156, &mask), -EPROTO);
	/* a size that stops before the RSC bytes offers no RSC, whatever follows */
	b[2] = 144;
	expect_eq(pvb_ndis_offload_decode(b, 156, &mask), 0);
	expect_eq(mask, PVB_OFL_ALL & ~(PVB_OFL_RSC4 | PVB_OFL_RSC6));
	/* LSO with a minimum of 3 segments or under 16 KB is not usable */
	pvb_ndis_offload_encode(b, PVB_NDIS_VER_6_30, PVB_OFL_LSO4 | PVB_OFL_LSO6);
	memcpy(&o, b, sizeof(o));
	o.lsov2_ip4_min_segs = 3;
	o.lsov2_ip6_max_size = 16383;
	memcpy(b, &o, sizeof(o));
	expect_eq(pvb_ndis_offload_decode(b, 156, &mask), 0);
	expect_eq(mask, 0);
}

/* SET OFFLOAD_PARAMETERS: good objects change the mask, bad ones change nothing. */
static void
test_vsp_offload_params(void **state)
{
	static const struct {
		const char *name;
		uint8_t at, v;			/* byte @at of a rev 3 object set to v */
		uint32_t len;			/* info bytes sent */
		uint32_t status, offload;	/* from everything on */
	} cases[] = {
		{ "as encoded", 0, 0, 28, PVB_RNDIS_STATUS_SUCCESS, PVB_OFL_ALL },
		{ "revision 3 at its minimum size", 2, 26, 26, PVB_RNDIS_STATUS_SUCCESS,
		  PVB_OFL_ALL },
		{ "tcp4 off", 5, 1, 28, PVB_RNDIS_STATUS_SUCCESS,
		  PVB_OFL_ALL & ~(PVB_OFL_TX_TCP4 | PVB_OFL_RX_TCP4) },
		{ "tcp4 TX only", 5, 2, 28, PVB_RNDIS_STATUS_SUCCESS,
		  PVB_OFL_ALL & ~PVB_OFL_RX_TCP4 },
		{ "udp6 RX only", 8, 3, 28, PVB_RNDIS_STATUS_SUCCESS,
		  PVB_OFL_ALL & ~PVB_OFL_TX_UDP6 },
		{ "LSOv2 IPv4 off", 11, 1, 28, PVB_RNDIS_STATUS_SUCCESS,
		  PVB_OFL_ALL & ~PVB_OFL_LSO4 },
		{ "RSC IPv6 no change", 23, 0, 28, PVB_RNDIS_STATUS_SUCCESS, PVB_OFL_ALL },
		{ "tcp4 value 5", 5, 5, 28, PVB_RNDIS_STATUS_INVALID_DATA, PVB_OFL_ALL },
		{ "LSOv2 value 3", 12, 3, 28, PVB_RNDIS_STATUS_INVALID_DATA, PVB_OFL_ALL },
		{ "RSC value 9", 22, 9, 28, PVB_RNDIS_STATUS_INVALID_DATA, PVB_OFL_ALL },
		{ "LSOv1 value 7", 9, 7, 28, PVB_RNDIS_STATUS_INVALID_DATA, PVB_OFL_ALL },
		{ "wrong object type", 0, 0xa7, 28, PVB_RNDIS_STATUS_INVALID_DATA, PVB_OFL_ALL },
		{ "revision 0", 1, 0, 28, PVB_RNDIS_STATUS_INVALID_DATA, PVB_OFL_ALL },
		{ "revision 4", 1, 4, 28, PVB_RNDIS_STATUS_INVALID_DATA, PVB_OFL_ALL },
		{ "size beyond the bytes", 2, 29, 28, PVB_RNDIS_STATUS_INVALID_DATA,
		  PVB_OFL_ALL },
		{ "size below revision 3's", 2, 22, 28, PVB_RNDIS_STATUS_INVALID_DATA,
		  PVB_OFL_ALL },
		{ "fewer bytes than revision 1", 0, 0, 19, PVB_RNDIS_STATUS_INVALID_DATA,
		  PVB_OFL_ALL },
		{ "size 0x4000 in 28 bytes", 3, 0x40, 28, PVB_RNDIS_STATUS_INVALID_DATA,
		  PVB_OFL_ALL },
	};
	struct pvb_rndis_ctl set = { .type = PVB_RNDIS_SET_MSG, .request_id = 50,
				     .oid = PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS }, r;
	uint8_t obj[32], reply[256];
	struct pvb_vsp h;
	unsigned int i;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		host_to(&h, H_READY);
		h.offload = PVB_OFL_ALL;
		memset(obj, 0, sizeof(obj));
		expect_eq(pvb_ndis_params_encode(obj, PVB_NDIS_VER_6_30, PVB_OFL_ALL), 28);
		if (cases[i].at != 0 || cases[i].v != 0)
			obj[cases[i].at] = cases[i].v;
		set.info_len = cases[i].len;
		expect_eq(host_rndis(&h, &set, obj, &r, reply), 16);
		expect_eq(r.type, PVB_RNDIS_SET_CMPLT);
		expect_eq(r.status, cases[i].status);
		expect_eq(h.offload, cases[i].offload);
		expect_eq(h.state, PVB_VSP_RNDIS_READY);
		expect_eq(h.protocol_errors, 0);
	}
	at("revision 2: 22 bytes, RSC unchanged");
	host_to(&h, H_READY);
	h.offload = PVB_OFL_RSC4;
	set.info_len = pvb_ndis_params_encode(obj, PVB_NDIS_VER_6_1, PVB_OFL_TX_TCP4);
	expect_eq(set.info_len, 22);
	expect_eq(host_rndis(&h, &set, obj, &r, reply), 16);
	expect_eq(r.status, PVB_RNDIS_STATUS_SUCCESS);
	expect_eq(h.offload, PVB_OFL_TX_TCP4 | PVB_OFL_RSC4);
	at("beyond the offer");
	host_to(&h, H_READY);
	h.ndis_ver = PVB_NDIS_VER_6_1;	/* no RSC offered to NDIS 6.1 */
	set.info_len = pvb_ndis_params_encode(obj, PVB_NDIS_VER_6_30, PVB_OFL_RSC4);
	expect_eq(host_rndis(&h, &set, obj, &r, reply), 16);
	expect_eq(r.status, PVB_RNDIS_STATUS_NOT_SUPPORTED);
	expect_eq(h.offload, 0);
	at("host with no offload");
	host_to(&h, H_READY);
	h.cfg.no_offload = true;
	set.info_len = pvb_ndis_params_encode(obj, PVB_NDIS_VER_6_30, PVB_OFL_TX_TCP4);
	expect_eq(host_rndis(&h, &set, obj, &r, reply), 16);
	expect_eq(r.status, PVB_RNDIS_STATUS_NOT_SUPPORTED);
	expect_eq(h.offload, 0);
}

/* A host's odd answers to the offload OIDs never fail the guest: it goes on without. */
static void
test_vsc_offload_refused(void **state)
{
	static const struct {
		const char *name;
		uint32_t step;			/* 0: capabilities query, 1: parameters */
		uint32_t status, info_len;
		uint8_t byte0;			/* first byte of the capabilities */
		uint32_t offload;
	} cases[] = {
		{ "capabilities NOT_SUPPORTED", 0, PVB_RNDIS_STATUS_NOT_SUPPORTED, 0, 0, 0 },
		{ "capabilities of another object type", 0, 0, 156, 0x80, 0 },
		{ "capabilities truncated", 0, 0, 100, 0xa7, 0 },
		{ "parameters refused", 1, PVB_RNDIS_STATUS_INVALID_DATA, 0, 0, 0 },
		{ "parameters accepted", 1, 0, 0, 0, PVB_OFL_ALL },
	};
	uint8_t caps[PVB_NDIS_OFFLOAD_SIZE_6_30];
	struct pvb_vsc_action a;
	struct pvb_rndis_ctl c;
	unsigned int i;
	struct peer p;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		peer_init_offload(&p, PVB_OFL_ALL, false, 0);
		if (cases[i].step == 0)
			await(&p, 0, PVB_RNDIS_QUERY_MSG,
			      PVB_RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, &a);
		else
			await(&p, 0, PVB_RNDIS_SET_MSG, PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS, &a);
		memset(&c, 0, sizeof(c));
		c.type = cases[i].step == 0 ? PVB_RNDIS_QUERY_CMPLT : PVB_RNDIS_SET_CMPLT;
		c.request_id = p.g.pending_req;
		c.status = cases[i].status;
		pvb_ndis_offload_encode(caps, PVB_NDIS_VER_6_30, PVB_OFL_ALL);
		caps[0] = cases[i].byte0;
		c.info_len = cases[i].info_len;
		expect_eq(guest_rndis(&p, &c, caps), 0);
		pump(&p);
		assert_true(pvb_vsc_ready(&p.g));
		expect_eq(p.g.offload, cases[i].offload);
		expect_eq(p.g.protocol_errors, 0);
	}
	at("a completion of another type");
	peer_init_offload(&p, PVB_OFL_ALL, false, 0);
	await(&p, 0, PVB_RNDIS_SET_MSG, PVB_RNDIS_OID_TCP_OFFLOAD_PARAMETERS, &a);
	memset(&c, 0, sizeof(c));
	c.type = PVB_RNDIS_QUERY_CMPLT;
	c.request_id = p.g.pending_req;
	expect_eq(guest_rndis(&p, &c, NULL), -EPROTO);
	expect_eq(p.g.state, PVB_VSC_FAILED);
}

/* HALT, a revoke and a protocol violation each clear the filter: nothing more goes out. */
static void
test_vsp_stop_clears_filter(void **state)
{
	static const struct pvb_nvsp_msg revoke = M_REVOKE_SEND, init = M_INIT(V61);
	static const char *const how[] = { "HALT", "revoke", "violation" };
	struct pvb_rndis_ctl set = { .type = PVB_RNDIS_SET_MSG, .request_id = 5,
				     .oid = PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER,
				     .info_len = 4 }, r;
	struct pvb_rndis_ctl halt = { .type = PVB_RNDIS_HALT_MSG, .request_id = 6 };
	uint8_t reply[256], f[4] = { LE32(0x0d) };
	struct pvb_nvsp_msg nr;
	struct pvb_vsp h;
	unsigned int i;

	(void)state;
	for (i = 0; i < DIM(how); i++) {
		at("%s", how[i]);
		host_to(&h, H_READY);
		expect_eq(host_rndis(&h, &set, f, &r, reply), 16);
		expect_eq(h.filter, 0x0d);
		if (i == 0)
			expect_eq(host_rndis(&h, &halt, NULL, &r, reply), 0);
		else if (i == 1)
			expect_eq(host_nvsp(&h, &revoke, &nr), 0);
		else
			expect_eq(host_nvsp(&h, &init, &nr), -EPROTO);
		expect_eq(h.filter, 0);
		expect_eq(h.state, i == 2 ? PVB_VSP_FAILED : PVB_VSP_HALTED);
		expect_false(pvb_vsp_rx_enabled(&h));
	}
}

/* KEEPALIVE and its completion, byte for byte. */
static void
test_keepalive(void **state)
{
	uint8_t msg[sizeof(v_keepalive)], reply[256];
	struct pvb_rndis_ctl c;
	struct pvb_vsp h;
	int rc;

	(void)state;
	at("keepalive");
	host_to(&h, H_READY);
	memcpy(msg, v_keepalive, sizeof(msg));
	assert_int_equal(pvb_rndis_ctl_decode(msg, sizeof(msg), &c), 0);
	rc = pvb_vsp_rndis(&h, &c, msg, reply, sizeof(reply));
	assert_true(rc > 0);
	expect_bytes(reply, (uint32_t)rc, v_keepalive_cmplt, sizeof(v_keepalive_cmplt));
	expect_eq(h.state, PVB_VSP_RNDIS_READY);
}

/* ----------------------------------------------------------------------------
 * The guest: invalid completions
 */

static void
test_vsc_recv_buf_complete(void **state)
{
	static const struct {
		const char *name;
		uint32_t status, nsec, off, size, count, end;
		int rc;
	} cases[] = {
		{ "valid", 1, 1, 0, 1664, 630, 1048320, 0 },
		{ "one slot of 64", 1, 1, 0, 64, 1, 64, 0 },
		{ "status FAIL", 2, 1, 0, 1664, 630, 1048320, -EPROTO },
		{ "status NONE", 0, 1, 0, 1664, 630, 1048320, -EPROTO },
		{ "2 sections", 1, 2, 0, 1664, 630, 1048320, -EPROTO },
		{ "0 sections", 1, 0, 0, 1664, 630, 1048320, -EPROTO },
		{ "offset 64", 1, 1, 64, 1664, 630, 1048320, -EPROTO },
		{ "slot 0", 1, 1, 0, 0, 630, 0, -EPROTO },
		{ "slot 63", 1, 1, 0, 63, 1, 63, -EPROTO },
		{ "count 0", 1, 1, 0, 1664, 0, 0, -EPROTO },
		{ "end off by one", 1, 1, 0, 1664, 630, 1048321, -EPROTO },
		/* 0x10000 * 0x10000 = 2^32: wraps to 0 in 32 bits */
		{ "end wraps", 1, 1, 0, 0x10000, 0x10000, 0, -EPROTO },
	};
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RECV_BUF_COMPLETE };
	struct pvb_vsc_action a;
	struct peer p;
	unsigned int i;
	int rc;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		peer_init(&p, 0);
		await(&p, PVB_NVSP_SEND_RECV_BUF, 0, 0, &a);
		expect_true(a.want_comp);
		expect_eq(a.nvsp.u.send_buf.gpadl, RECV_GPADL);
		expect_eq(a.nvsp.u.send_buf.id, 0xcafe);
		m.u.recv_buf_complete.status = cases[i].status;
		m.u.recv_buf_complete.num_sections = cases[i].nsec;
		m.u.recv_buf_complete.section.offset = cases[i].off;
		m.u.recv_buf_complete.section.sub_alloc_size = cases[i].size;
		m.u.recv_buf_complete.section.num_sub_allocs = cases[i].count;
		m.u.recv_buf_complete.section.end_offset = cases[i].end;
		rc = guest_nvsp(&p, &m);
		if (cases[i].rc == 0) {
			expect_eq(rc, 0);
			expect_eq(p.g.state, PVB_VSC_WAIT_SEND_BUF);
			expect_eq(p.g.slot_size, cases[i].size);
			expect_eq(p.g.slot_count, cases[i].count);
		} else {
			expect_guest_failed(&p, rc);
			expect_guest_dead(&p);
		}
	}
}

static void
test_vsc_send_buf_complete(void **state)
{
	static const struct {
		uint32_t status, size;
		int rc;
	} cases[] = {
		{ 1, 6144, 0 }, { 1, 68, 0 }, { 1, 0x10000, 0 },
		{ 1, 0, -EPROTO }, { 1, 3, -EPROTO }, { 1, 64, -EPROTO }, { 1, 66, -EPROTO },
		{ 1, 70, -EPROTO }, { 1, 6145, -EPROTO }, { 2, 6144, -EPROTO },
		{ 7, 6144, -EPROTO },
	};
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_SEND_BUF_COMPLETE };
	struct pvb_vsc_action a;
	struct peer p;
	unsigned int i;
	int rc;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("status %u section %u", cases[i].status, cases[i].size);
		peer_init(&p, 0);
		await(&p, PVB_NVSP_SEND_SEND_BUF, 0, 0, &a);
		expect_eq(a.nvsp.u.send_buf.gpadl, SEND_GPADL);
		expect_eq(a.nvsp.u.send_buf.id, 0xface);
		m.u.send_buf_complete.status = cases[i].status;
		m.u.send_buf_complete.section_size = cases[i].size;
		rc = guest_nvsp(&p, &m);
		if (cases[i].rc == 0) {
			expect_eq(rc, 0);
			expect_eq(p.g.state, PVB_VSC_WAIT_RNDIS_INIT);
			expect_eq(p.g.section_size, cases[i].size);
		} else {
			expect_guest_failed(&p, rc);
		}
	}
}

/* NVSP completions of the wrong type, or when nothing is waiting for one. */
static void
test_vsc_nvsp_unexpected(void **state)
{
	static const struct {
		const char *name;
		uint32_t wait_type, wait_rtype, wait_oid;	/* 0, 0: run to READY */
		uint32_t type;
		int rc;
	} cases[] = {
		{ "102 while INIT waits", PVB_NVSP_INIT, 0, 0, PVB_NVSP_SEND_RECV_BUF_COMPLETE,
		  -EPROTO },
		{ "105 while 102 waits", PVB_NVSP_SEND_RECV_BUF, 0, 0,
		  PVB_NVSP_SEND_SEND_BUF_COMPLETE, -EPROTO },
		{ "INIT_COMPLETE while 102 waits", PVB_NVSP_SEND_RECV_BUF, 0, 0,
		  PVB_NVSP_INIT_COMPLETE, -EPROTO },
		{ "102 while 105 waits", PVB_NVSP_SEND_SEND_BUF, 0, 0,
		  PVB_NVSP_SEND_RECV_BUF_COMPLETE, -EPROTO },
		{ "INIT_COMPLETE before INIT", 0xffff, 0, 0, PVB_NVSP_INIT_COMPLETE, -EPROTO },
		{ "INIT_COMPLETE while RNDIS waits", 0, PVB_RNDIS_INITIALIZE_MSG, 0,
		  PVB_NVSP_INIT_COMPLETE, -EPROTO },
		{ "102 while a query waits", 0, PVB_RNDIS_QUERY_MSG,
		  PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, PVB_NVSP_SEND_RECV_BUF_COMPLETE, -EPROTO },
		{ "102 when READY", 0, 0, 0, PVB_NVSP_SEND_RECV_BUF_COMPLETE, -EPROTO },
		{ "INIT request from the host", PVB_NVSP_INIT, 0, 0, PVB_NVSP_INIT, -EPROTO },
		/* the ack of a 107 is the datapath's: ignored wherever it comes */
		{ "108 while INIT waits", PVB_NVSP_INIT, 0, 0, PVB_NVSP_SEND_RNDIS_PKT_COMPLETE,
		  0 },
		{ "108 while a query waits", 0, PVB_RNDIS_QUERY_MSG,
		  PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS, PVB_NVSP_SEND_RNDIS_PKT_COMPLETE, 0 },
		{ "108 when READY", 0, 0, 0, PVB_NVSP_SEND_RNDIS_PKT_COMPLETE, 0 },
	};
	struct pvb_nvsp_msg m;
	struct pvb_vsc_action a;
	enum pvb_vsc_state before;
	struct peer p;
	unsigned int i;
	int rc;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		peer_init(&p, 0);
		if (cases[i].wait_type == 0xffff)
			;	/* nothing sent yet */
		else if (cases[i].wait_type != 0 || cases[i].wait_rtype != 0)
			await(&p, cases[i].wait_type, cases[i].wait_rtype, cases[i].wait_oid, &a);
		else
			pump(&p);
		before = p.g.state;
		memset(&m, 0, sizeof(m));
		m.type = cases[i].type;
		m.u.init_complete.status = PVB_NVSP_STAT_SUCCESS;
		rc = guest_nvsp(&p, &m);
		if (cases[i].rc == 0) {
			expect_eq(rc, 0);
			expect_eq(p.g.state, before);
			expect_eq(p.g.protocol_errors, 0);
		} else {
			expect_guest_failed(&p, rc);
			expect_guest_dead(&p);
		}
	}
}

/* A crafted INITIALIZE_CMPLT: what the guest keeps of it, or that it fails. */
static void
test_vsc_rndis_init_cmplt(void **state)
{
	static const struct {
		const char *name;
		uint32_t id_delta, type, status, pkts, xfer, factor;
		int rc;
		uint32_t max_pkts, align, max_xfer;
	} cases[] = {
		{ "as OpenVMM", 0, 0, 0, 8, 0xefffffff, 3, 0, 8, 8, 6144 },
		{ "small transfer", 0, 0, 0, 1, 1024, 0, 0, 1, 4, 1024 },
		{ "factor 1", 0, 0, 0, 8, 6144, 1, 0, 8, 4, 6144 },
		{ "factor 2", 0, 0, 0, 8, 6144, 2, 0, 8, 4, 6144 },
		{ "factor 12", 0, 0, 0, 8, 6144, 12, 0, 8, 4096, 6144 },
		{ "1000 packets", 0, 0, 0, 1000, 6144, 3, 0, 64, 8, 6144 },
		{ "factor 13", 0, 0, 0, 8, 6144, 13, -EPROTO, 0, 0, 0 },
		{ "factor 32", 0, 0, 0, 8, 6144, 32, -EPROTO, 0, 0, 0 },
		{ "0 packets", 0, 0, 0, 0, 6144, 3, -EPROTO, 0, 0, 0 },
		{ "status FAILURE", 0, 0, PVB_RNDIS_STATUS_FAILURE, 8, 6144, 3, -EPROTO, 0, 0, 0 },
		{ "wrong request id", 1, 0, 0, 8, 6144, 3, -EPROTO, 0, 0, 0 },
		{ "request id 0", 0xffffffff, 0, 0, 8, 6144, 3, -EPROTO, 0, 0, 0 },
		{ "QUERY_CMPLT with its id", 0, PVB_RNDIS_QUERY_CMPLT, 0, 0, 0, 0, -EPROTO,
		  0, 0, 0 },
		{ "KEEPALIVE_CMPLT with its id", 0, PVB_RNDIS_KEEPALIVE_CMPLT, 0, 0, 0, 0,
		  -EPROTO, 0, 0, 0 },
		{ "a request from the host", 0, PVB_RNDIS_QUERY_MSG, 0, 0, 0, 0, -EPROTO,
		  0, 0, 0 },
	};
	struct pvb_rndis_ctl c;
	struct pvb_vsc_action a;
	struct peer p;
	unsigned int i;
	int rc;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		peer_init(&p, 0);
		await(&p, 0, PVB_RNDIS_INITIALIZE_MSG, 0, &a);
		expect_true(p.g.sent);
		expect_eq(p.g.pending_req, 1);
		memset(&c, 0, sizeof(c));
		c.type = cases[i].type != 0 ? cases[i].type : PVB_RNDIS_INITIALIZE_CMPLT;
		c.request_id = p.g.pending_req + cases[i].id_delta;
		c.status = cases[i].status;
		c.major = 1;
		c.device_flags = 1;
		c.max_packets_per_message = cases[i].pkts;
		c.max_transfer_size = cases[i].xfer;
		c.packet_alignment_factor = cases[i].factor;
		rc = guest_rndis(&p, &c, NULL);
		if (cases[i].rc != 0) {
			expect_guest_failed(&p, rc);
			expect_guest_dead(&p);
			continue;
		}
		expect_eq(rc, 0);
		expect_eq(p.g.state, PVB_VSC_WAIT_QUERY);
		expect_eq(p.g.max_pkts_per_msg, cases[i].max_pkts);
		expect_eq(p.g.align, cases[i].align);
		expect_eq(p.g.max_xfer, cases[i].max_xfer);
		expect_false(p.g.sent);
		expect_eq(p.g.pending_req, 0);
	}
}

/* Crafted QUERY_CMPLTs for the three mandatory queries, and the filter SET_CMPLT. */
static void
test_vsc_query_cmplt(void **state)
{
	static const struct {
		const char *name;
		uint32_t oid, status, info_len, value;
		int rc;
	} cases[] = {
		{ "MAC in 4 bytes", PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS, 0, 4, 0, -EPROTO },
		{ "MAC in 8 bytes", PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS, 0, 8, 0, -EPROTO },
		{ "MAC refused", PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS,
		  PVB_RNDIS_STATUS_NOT_SUPPORTED, 6, 0, -EPROTO },
		{ "MTU in 2 bytes", PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, 0, 2, 1500, -EPROTO },
		{ "MTU 0", PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, 0, 4, 0, -EPROTO },
		{ "MTU 67", PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, 0, 4, 67, -EPROTO },
		{ "MTU 65536", PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, 0, 4, 65536, -EPROTO },
		{ "MTU 68", PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, 0, 4, 68, 0 },
		{ "MTU refused", PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, PVB_RNDIS_STATUS_INVALID_OID,
		  0, 0, -EPROTO },
		{ "link down", PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, 0, 4, 1, 0 },
		{ "link in 0 bytes", PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, 0, 0, 0, -EPROTO },
		{ "filter refused", PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER,
		  PVB_RNDIS_STATUS_NOT_SUPPORTED, 0, 0, -EPROTO },
		{ "filter, QUERY_CMPLT for it", PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 0, 4,
		  0, -EPROTO },
	};
	uint32_t rtype;
	uint8_t info[8];
	struct pvb_rndis_ctl c;
	struct pvb_vsc_action a;
	struct peer p;
	unsigned int i;
	int rc;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		peer_init(&p, 0);
		rtype = cases[i].oid == PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER ?
			PVB_RNDIS_SET_MSG : PVB_RNDIS_QUERY_MSG;
		await(&p, 0, rtype, cases[i].oid, &a);
		memset(&c, 0, sizeof(c));
		c.type = rtype == PVB_RNDIS_SET_MSG && i != DIM(cases) - 1 ?
			 PVB_RNDIS_SET_CMPLT : PVB_RNDIS_QUERY_CMPLT;
		c.request_id = p.g.pending_req;
		c.status = cases[i].status;
		c.info_len = cases[i].info_len;
		memset(info, 0x11, sizeof(info));
		memcpy(info, &cases[i].value, 4);
		rc = guest_rndis(&p, &c, info);
		if (cases[i].rc != 0) {
			expect_guest_failed(&p, rc);
			continue;
		}
		expect_eq(rc, 0);
		expect_eq(p.g.state, PVB_VSC_WAIT_QUERY);
		if (cases[i].oid == PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE)
			expect_eq(p.g.mtu, cases[i].value);
		if (cases[i].oid == PVB_RNDIS_OID_GEN_MEDIA_CONNECT_STATUS)
			expect_eq(p.g.link_up, cases[i].value == 0);
	}
}

/* RNDIS completions nobody asked for, and requests the host may not make. */
static void
test_vsc_rndis_unexpected(void **state)
{
	enum { PENDING = 0x7fffffff };
	static const struct {
		const char *name;
		bool ready;		/* else: while the MTU query waits */
		uint32_t type, id;	/* PENDING: the one outstanding */
	} cases[] = {
		{ "SET_CMPLT when READY", true, PVB_RNDIS_SET_CMPLT, 5 },
		{ "SET_CMPLT id 0 when READY", true, PVB_RNDIS_SET_CMPLT, 0 },
		{ "QUERY_CMPLT when READY", true, PVB_RNDIS_QUERY_CMPLT, 4 },
		{ "KEEPALIVE_CMPLT when READY", true, PVB_RNDIS_KEEPALIVE_CMPLT, 1 },
		{ "RESET_CMPLT when READY", true, PVB_RNDIS_RESET_CMPLT, 0 },
		{ "QUERY_CMPLT with the previous id", false, PVB_RNDIS_QUERY_CMPLT, 2 },
		{ "QUERY_CMPLT with the next id", false, PVB_RNDIS_QUERY_CMPLT, 4 },
		{ "QUERY_CMPLT with id 0", false, PVB_RNDIS_QUERY_CMPLT, 0 },
		{ "SET_CMPLT with the query's id", false, PVB_RNDIS_SET_CMPLT, PENDING },
		{ "INITIALIZE_MSG from the host", false, PVB_RNDIS_INITIALIZE_MSG, PENDING },
		{ "HALT from the host", true, PVB_RNDIS_HALT_MSG, 0 },
		{ "KEEPALIVE from the host", true, PVB_RNDIS_KEEPALIVE_MSG, 0 },
	};
	struct pvb_rndis_ctl c;
	struct pvb_vsc_action a;
	struct peer p;
	unsigned int i;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		peer_init(&p, 0);
		if (cases[i].ready)
			pump(&p);
		else
			await(&p, 0, PVB_RNDIS_QUERY_MSG, PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, &a);
		if (!cases[i].ready)
			expect_eq(p.g.pending_req, 3);
		memset(&c, 0, sizeof(c));
		c.type = cases[i].type;
		c.request_id = cases[i].id != PENDING ? cases[i].id : p.g.pending_req;
		expect_guest_failed(&p, guest_rndis(&p, &c, NULL));
		/* a request is named as such, whatever id it happens to carry */
		expect_eq(strstr(p.g.why, "request from the host") != NULL,
			  (c.type & 0x80000000u) == 0);
		expect_guest_dead(&p);
	}
}

/* RNDIS request ids: 1 up, never 0 across the wrap. */
static void
test_vsc_request_id_wrap(void **state)
{
	static const uint32_t want[] = { 0xfffffffe, 0xffffffff, 1, 2, 3 };
	struct pvb_vsc_action a;
	struct pvb_rndis_ctl c;
	struct peer p;
	unsigned int i, k = 0;

	(void)state;
	at("wrap");
	peer_init(&p, 0);
	await(&p, 0, PVB_RNDIS_INITIALIZE_MSG, 0, &a);
	/* the INITIALIZE took id 1; restart it from just below the wrap */
	p.g.sent = false;
	p.g.pending_req = 0;
	p.g.next_req = 0xfffffffe;
	for (i = 0; i < 16 && k < DIM(want); i++) {
		pvb_vsc_next(&p.g, &a);
		if (a.kind == PVB_VSC_ACT_NONE)
			break;
		if (a.kind == PVB_VSC_ACT_RNDIS) {
			assert_int_equal(pvb_rndis_ctl_decode(a.rndis, a.rndis_len, &c), 0);
			at("request %u", k);
			expect_eq(c.request_id, want[k]);
			expect_eq(p.g.pending_req, want[k]);
			k++;
		}
		deliver(&p, &a);
	}
	expect_eq(k, DIM(want));
	expect_true(pvb_vsc_ready(&p.g));
	expect_eq(p.g.next_req, 4);
}

/* ----------------------------------------------------------------------------
 * Filter changes, link, halt
 */

static void
test_vsc_filter_change(void **state)
{
	struct pvb_rndis_ctl c = { .type = PVB_RNDIS_SET_CMPLT };
	struct pvb_vsc_action a;
	uint32_t oid;
	struct peer p;

	(void)state;
	peer_init(&p, 0);
	at("to ready");
	pump(&p);
	/* a new filter goes out once, and both ends agree on it */
	at("promiscuous");
	pvb_vsc_set_filter(&p.g, PVB_RNDIS_FILTER_PROMISCUOUS);
	expect_true(pvb_vsc_ready(&p.g));
	pvb_vsc_next(&p.g, &a);
	expect_eq(act_rndis_type(&a, &oid), PVB_RNDIS_SET_MSG);
	expect_eq(oid, PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER);
	deliver(&p, &a);
	expect_eq(p.g.filter, PVB_RNDIS_FILTER_PROMISCUOUS);
	expect_eq(p.h.filter, PVB_RNDIS_FILTER_PROMISCUOUS);
	pvb_vsc_next(&p.g, &a);
	expect_eq(a.kind, PVB_VSC_ACT_NONE);

	/* changed again while the SET is out: the first is recorded, then the second sent */
	at("change while out");
	pvb_vsc_set_filter(&p.g, PVB_RNDIS_FILTER_DIRECTED);
	pvb_vsc_next(&p.g, &a);
	pvb_vsc_set_filter(&p.g, PVB_RNDIS_FILTER_BROADCAST);
	deliver(&p, &a);
	expect_eq(p.g.filter, PVB_RNDIS_FILTER_DIRECTED);
	expect_eq(p.h.filter, PVB_RNDIS_FILTER_DIRECTED);
	pump(&p);
	expect_eq(p.g.filter, PVB_RNDIS_FILTER_BROADCAST);
	expect_eq(p.h.filter, PVB_RNDIS_FILTER_BROADCAST);

	/* filter 0 stops RX on the host */
	at("zero");
	pvb_vsc_set_filter(&p.g, 0);
	pump(&p);
	expect_eq(p.g.filter, 0);
	expect_false(pvb_vsp_rx_enabled(&p.h));
	expect_true(pvb_vsc_ready(&p.g));

	/* refused once READY: not fatal, and not asked again */
	at("refused");
	pvb_vsc_set_filter(&p.g, PVB_RNDIS_FILTER_MULTICAST);
	pvb_vsc_next(&p.g, &a);
	expect_eq(a.kind, PVB_VSC_ACT_RNDIS);
	c.request_id = p.g.pending_req;
	c.status = PVB_RNDIS_STATUS_NOT_SUPPORTED;
	expect_eq(guest_rndis(&p, &c, NULL), 0);
	expect_true(pvb_vsc_ready(&p.g));
	expect_eq(p.g.filter, 0);
	expect_eq(p.g.want_filter, 0);
	pvb_vsc_next(&p.g, &a);
	expect_eq(a.kind, PVB_VSC_ACT_NONE);
	expect_eq(p.g.protocol_errors, 0);
}

static void
test_link_indication(void **state)
{
	struct pvb_rndis_ctl c;
	struct pvb_vsc_action a;
	uint8_t b[64];
	struct peer p;
	int len;

	(void)state;
	at("bytes");
	len = pvb_vsp_link_indication(true, b, sizeof(b));
	expect_bytes(b, (uint32_t)len, v_link_up, sizeof(v_link_up));
	len = pvb_vsp_link_indication(false, b, sizeof(b));
	expect_bytes(b, (uint32_t)len, v_link_down, sizeof(v_link_down));
	expect_eq(pvb_vsp_link_indication(true, b, 19), -EMSGSIZE);

	/* before RNDIS init the guest ignores them */
	at("before init");
	peer_init(&p, 0);
	await(&p, PVB_NVSP_SEND_SEND_BUF, 0, 0, &a);
	len = pvb_vsp_link_indication(true, b, sizeof(b));
	assert_int_equal(pvb_rndis_ctl_decode(b, (uint32_t)len, &c), 0);
	expect_eq(pvb_vsc_rndis(&p.g, &c, b), 0);
	expect_false(p.g.link_up);
	expect_eq(p.g.state, PVB_VSC_WAIT_SEND_BUF);

	at("ready");
	peer_init(&p, 0);
	pump(&p);
	expect_true(p.g.link_up);
	len = pvb_vsp_link_indication(false, b, sizeof(b));
	assert_int_equal(pvb_rndis_ctl_decode(b, (uint32_t)len, &c), 0);
	expect_eq(pvb_vsc_rndis(&p.g, &c, b), 0);
	expect_false(p.g.link_up);
	expect_true(pvb_vsc_ready(&p.g));
	/* other indications change nothing */
	memset(&c, 0, sizeof(c));
	c.type = PVB_RNDIS_INDICATE_STATUS_MSG;
	c.status = PVB_RNDIS_STATUS_LINK_SPEED_CHANGE;
	expect_eq(guest_rndis(&p, &c, NULL), 0);
	c.status = PVB_RNDIS_STATUS_NETWORK_CHANGE;
	expect_eq(guest_rndis(&p, &c, NULL), 0);
	expect_false(p.g.link_up);
	len = pvb_vsp_link_indication(true, b, sizeof(b));
	assert_int_equal(pvb_rndis_ctl_decode(b, (uint32_t)len, &c), 0);
	expect_eq(pvb_vsc_rndis(&p.g, &c, b), 0);
	expect_true(p.g.link_up);
	/* ... also while a request is out, without disturbing it */
	pvb_vsc_set_filter(&p.g, 1);
	pvb_vsc_next(&p.g, &a);
	len = pvb_vsp_link_indication(false, b, sizeof(b));
	assert_int_equal(pvb_rndis_ctl_decode(b, (uint32_t)len, &c), 0);
	expect_eq(pvb_vsc_rndis(&p.g, &c, b), 0);
	expect_false(p.g.link_up);
	deliver(&p, &a);
	expect_eq(p.g.filter, 1);
	expect_eq(p.g.protocol_errors, 0);
}

/* The messages of a teardown, by NVSP type or (0x10000 |) RNDIS type. */
static unsigned int
teardown(struct peer *p, uint32_t *seen, unsigned int max)
{
	struct pvb_vsc_action a;
	unsigned int n = 0;
	uint32_t oid, t;

	for (;;) {
		pvb_vsc_next(&p->g, &a);
		if (a.kind == PVB_VSC_ACT_NONE)
			return n;
		assert_true(n < max);
		t = act_rndis_type(&a, &oid);
		seen[n++] = a.kind == PVB_VSC_ACT_NVSP ? a.nvsp.type : 0x10000 | t;
		if (t == PVB_RNDIS_HALT_MSG)
			expect_false(a.want_comp);
		if (a.kind == PVB_VSC_ACT_NVSP)
			expect_false(a.want_comp);
		deliver(p, &a);
	}
}

/* SET filter 0 (id 6), HALT (id 7), REVOKE_RECV_BUF 0xcafe, REVOKE_SEND_BUF 0xface */
static const uint8_t v_set_zero[32] = {
	LE32(5), LE32(32), LE32(6), LE32(0x0001010e), LE32(4), LE32(20), LE32(0), LE32(0),
};
static const uint8_t v_halt[12] = { LE32(3), LE32(12), LE32(7) };
static const uint8_t v_revoke_recv[40] = { LE32(103), 0xfe, 0xca };
static const uint8_t v_revoke_send[40] = { LE32(106), 0xce, 0xfa };
static const struct {
	const uint8_t *b;
	uint32_t len;
} v_teardown[] = {
	{ v_set_zero, 32 }, { v_halt, 12 }, { v_revoke_recv, 40 }, { v_revoke_send, 40 },
};

static void
test_halt(void **state)
{
	static const uint32_t want[] = {
		0x10000 | PVB_RNDIS_SET_MSG, 0x10000 | PVB_RNDIS_HALT_MSG,
		PVB_NVSP_REVOKE_RECV_BUF, PVB_NVSP_REVOKE_SEND_BUF,
	};
	uint32_t seen[8];
	struct peer p;
	unsigned int n, i;

	(void)state;
	at("from ready");
	peer_init(&p, 0);
	pump(&p);
	pvb_vsc_halt(&p.g);
	expect_false(pvb_vsc_ready(&p.g));
	expect_eq(p.g.want_filter, 0);
	n = teardown(&p, seen, DIM(seen));
	expect_eq(n, DIM(want));
	for (i = 0; i < n && i < DIM(want); i++) {
		at("teardown message %u", i);
		expect_eq(seen[i], want[i]);
	}
	at("after");
	expect_eq(p.g.state, PVB_VSC_HALTED);
	expect_eq(p.g.filter, 0);
	expect_eq(p.h.state, PVB_VSP_HALTED);
	expect_false(p.h.have_recv_buf || p.h.have_send_buf);
	expect_false(pvb_vsp_rx_enabled(&p.h));
	expect_eq(p.g.protocol_errors + p.h.protocol_errors, 0);
	/* the four messages byte for byte (init used RNDIS ids 1-5) */
	for (i = 0; i < DIM(v_teardown); i++) {
		at("teardown bytes %u", i);
		expect_bytes(p.log[p.n - 4 + i].out, p.log[p.n - 4 + i].out_len,
			     v_teardown[i].b, v_teardown[i].len);
	}
	at("after");
	/* halting again, or asking for a filter, does nothing */
	pvb_vsc_halt(&p.g);
	pvb_vsc_set_filter(&p.g, 1);
	expect_eq(teardown(&p, seen, DIM(seen)), 0);
	expect_eq(p.g.want_filter, 0);
}

/* Deliver @p a with a halt between its sending and its answer. */
static void
deliver_after_halt(struct peer *p, const struct pvb_vsc_action *a)
{
	struct pvb_vsc_action copy = *a;	/* what is already on the wire */
	int grc = 0, hrc;

	pvb_vsc_halt(&p->g);
	if (copy.kind == PVB_VSC_ACT_NVSP)
		hrc = deliver_nvsp(p, &copy.nvsp, &grc);
	else
		hrc = deliver_rndis(p, copy.rndis, copy.rndis_len, &grc);
	expect_true(hrc > 0);
	expect_eq(grc, 0);
}

/*
 * A halt part-way through init sends only the steps that undo what was
 * done; a request still out is answered first, and the answer ignored.
 */
static void
test_halt_midway(void **state)
{
	enum { NOW, OUT, DONE };	/* halt before X, while X is out, after X's answer */
	static const struct {
		const char *name;
		uint32_t wait_type, wait_rtype, wait_oid;
		int when;
		uint32_t want[4];
		unsigned int n;
	} cases[] = {
		{ "before anything", 0, 0, 0, NOW, { 0 }, 0 },
		{ "INIT out", PVB_NVSP_INIT, 0, 0, OUT, { 0 }, 0 },
		{ "after NDIS_VER", PVB_NVSP_SEND_NDIS_VER, 0, 0, DONE, { 0 }, 0 },
		{ "receive buffer out", PVB_NVSP_SEND_RECV_BUF, 0, 0, OUT,
		  { PVB_NVSP_REVOKE_RECV_BUF }, 1 },
		{ "send buffer out", PVB_NVSP_SEND_SEND_BUF, 0, 0, OUT,
		  { PVB_NVSP_REVOKE_RECV_BUF, PVB_NVSP_REVOKE_SEND_BUF }, 2 },
		{ "after the send buffer", PVB_NVSP_SEND_SEND_BUF, 0, 0, DONE,
		  { PVB_NVSP_REVOKE_RECV_BUF, PVB_NVSP_REVOKE_SEND_BUF }, 2 },
		{ "RNDIS INITIALIZE out", 0, PVB_RNDIS_INITIALIZE_MSG, 0, OUT,
		  { 0x10000 | PVB_RNDIS_HALT_MSG, PVB_NVSP_REVOKE_RECV_BUF,
		    PVB_NVSP_REVOKE_SEND_BUF }, 3 },
		{ "a query out", 0, PVB_RNDIS_QUERY_MSG, PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, OUT,
		  { 0x10000 | PVB_RNDIS_HALT_MSG, PVB_NVSP_REVOKE_RECV_BUF,
		    PVB_NVSP_REVOKE_SEND_BUF }, 3 },
		{ "the filter SET out", 0, PVB_RNDIS_SET_MSG,
		  PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER, OUT,
		  { 0x10000 | PVB_RNDIS_SET_MSG, 0x10000 | PVB_RNDIS_HALT_MSG,
		    PVB_NVSP_REVOKE_RECV_BUF, PVB_NVSP_REVOKE_SEND_BUF }, 4 },
	};
	struct pvb_vsc_action a;
	uint32_t seen[8];
	unsigned int i, k, n;
	struct peer p;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		peer_init(&p, 0);
		if (cases[i].when == NOW) {
			pvb_vsc_halt(&p.g);
		} else {
			await(&p, cases[i].wait_type, cases[i].wait_rtype, cases[i].wait_oid, &a);
			if (cases[i].when == OUT) {
				deliver_after_halt(&p, &a);
			} else {
				deliver(&p, &a);
				pvb_vsc_halt(&p.g);
			}
		}
		expect_eq(p.g.state, PVB_VSC_HALTED);
		n = teardown(&p, seen, DIM(seen));
		expect_eq(n, cases[i].n);
		for (k = 0; k < n && k < cases[i].n; k++) {
			at("%s: teardown message %u", cases[i].name, k);
			expect_eq(seen[k], cases[i].want[k]);
		}
		at("%s: after", cases[i].name);
		expect_eq(p.g.state, PVB_VSC_HALTED);
		expect_false(p.g.sent);
		expect_eq(p.g.filter, 0);
		expect_eq(p.g.protocol_errors, 0);
		expect_eq(p.h.protocol_errors, 0);
		expect_false(pvb_vsp_rx_enabled(&p.h));
		expect_false(p.h.have_recv_buf || p.h.have_send_buf);
	}

	/* READY with a new filter out: it is answered, then the SET 0 */
	at("READY, filter SET out");
	peer_init(&p, 0);
	pump(&p);
	pvb_vsc_set_filter(&p.g, PVB_RNDIS_FILTER_PROMISCUOUS);
	pvb_vsc_next(&p.g, &a);
	deliver_after_halt(&p, &a);
	expect_eq(p.h.filter, PVB_RNDIS_FILTER_PROMISCUOUS);
	n = teardown(&p, seen, DIM(seen));
	expect_eq(n, 4);
	expect_eq(seen[0], 0x10000 | PVB_RNDIS_SET_MSG);
	expect_eq(p.g.filter, 0);
	expect_eq(p.h.filter, 0);
	expect_eq(p.h.state, PVB_VSP_HALTED);
}

/* A halted or failed machine answers late or stray messages as documented. */
static void
test_after_teardown(void **state)
{
	struct pvb_rndis_ctl c = { .type = PVB_RNDIS_QUERY_MSG, .request_id = 77,
				   .oid = PVB_RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE }, r;
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SEND_RECV_BUF_COMPLETE };
	struct pvb_vsc_action a;
	uint32_t seen[8];
	uint8_t reply[256];
	struct peer p;

	(void)state;
	peer_init(&p, 0);
	pump(&p);
	pvb_vsc_halt(&p.g);
	teardown(&p, seen, DIM(seen));
	/* the host answers requests after HALT with FAILURE, not a protocol error */
	at("host");
	expect_eq(host_rndis(&p.h, &c, NULL, &r, reply), 24);
	expect_eq(r.status, PVB_RNDIS_STATUS_FAILURE);
	expect_eq(p.h.state, PVB_VSP_HALTED);
	/* the guest: an NVSP completion nobody asked for */
	at("guest");
	expect_guest_failed(&p, guest_nvsp(&p, &m));
	expect_guest_dead(&p);

	/* halted with INIT out: its answer is taken, anything else is not */
	at("halted, INIT out");
	peer_init(&p, 0);
	await(&p, PVB_NVSP_INIT, 0, 0, &a);
	pvb_vsc_halt(&p.g);
	m.type = PVB_NVSP_SEND_RNDIS_PKT;
	expect_guest_failed(&p, guest_nvsp(&p, &m));

	/* halted with the teardown SET out: an NVSP completion is not its answer */
	at("halted, SET 0 out");
	peer_init(&p, 0);
	pump(&p);
	pvb_vsc_halt(&p.g);
	pvb_vsc_next(&p.g, &a);
	expect_eq(act_rndis_type(&a, &seen[0]), PVB_RNDIS_SET_MSG);
	m.type = PVB_NVSP_INIT_COMPLETE;
	expect_guest_failed(&p, guest_nvsp(&p, &m));
}

/* Caller mistakes are -EINVAL and leave both machines as they were. */
static void
test_bad_args(void **state)
{
	struct pvb_rndis_ctl c = { .type = PVB_RNDIS_SET_MSG, .len = 32, .request_id = 1,
				   .oid = PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER,
				   .info_off = 28, .info_len = 8 };
	struct pvb_nvsp_msg m = M_INIT(V61), r;
	uint8_t msg[32] = { 0 }, reply[256];
	struct pvb_vsp h;
	struct peer p;

	(void)state;
	at("host");
	host_to(&h, H_READY);
	expect_eq(pvb_vsp_nvsp(NULL, &m, &r), -EINVAL);
	expect_eq(pvb_vsp_nvsp(&h, NULL, &r), -EINVAL);
	expect_eq(pvb_vsp_nvsp(&h, &m, NULL), -EINVAL);
	expect_eq(pvb_vsp_rndis(&h, NULL, msg, reply, sizeof(reply)), -EINVAL);
	expect_eq(pvb_vsp_rndis(&h, &c, msg, NULL, sizeof(reply)), -EINVAL);
	/* an info buffer past len, or no bytes to read it from */
	expect_eq(pvb_vsp_rndis(&h, &c, msg, reply, sizeof(reply)), -EINVAL);
	c.info_len = 4;
	expect_eq(pvb_vsp_rndis(&h, &c, NULL, reply, sizeof(reply)), -EINVAL);
	expect_eq(h.state, PVB_VSP_RNDIS_READY);
	expect_eq(h.protocol_errors, 0);
	expect_eq(h.filter, 0);

	at("guest");
	peer_init(&p, 0);
	expect_eq(pvb_vsc_nvsp(NULL, &m), -EINVAL);
	expect_eq(pvb_vsc_nvsp(&p.g, NULL), -EINVAL);
	expect_eq(pvb_vsc_rndis(&p.g, NULL, msg), -EINVAL);
	expect_eq(p.g.state, PVB_VSC_INIT);
	expect_eq(p.g.protocol_errors, 0);
}

/* ----------------------------------------------------------------------------
 * Subchannels and RSS
 */

/* A guest wanting @p want subchannels against a host granting up to @p max. */
static void
peer_init_mq(struct peer *p, uint32_t want, uint32_t max, unsigned int first_ver)
{
	peer_init(p, 0);
	p->g.cfg.subchannels = want;
	p->g.ver_idx = first_ver;
	p->h.cfg.max_subchannels = max;
}

static void
test_subchannels(void **state)
{
	static const struct {
		const char *name;
		uint32_t want, max;
		unsigned int first_ver;
		uint32_t queues, granted;
	} cases[] = {
		{ "3 of 3", 3, 3, 0, 4, 3 },
		{ "3, host has 1 more", 3, 1, 0, 2, 1 },
		{ "1, host has 7 more", 1, 7, 0, 8, 1 },
		{ "host has one queue: nothing asked", 3, 0, 0, 1, 0 },
		{ "NVSP v4: no subchannels", 3, 3, 3, 0, 0 },
		{ "none wanted", 0, 3, 0, 0, 0 },
	};
	struct pvb_nvsp_msg again = { .type = PVB_NVSP_SUBCHANNEL }, reply;
	unsigned int i;
	struct peer p;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("%s", cases[i].name);
		peer_init_mq(&p, cases[i].want, cases[i].max, cases[i].first_ver);
		pump(&p);
		assert_true(pvb_vsc_ready(&p.g));
		expect_eq(p.g.host_queues, cases[i].queues);
		expect_eq(p.g.subch_granted, cases[i].granted);
		expect_eq(p.h.subch_granted, cases[i].granted);
		expect_eq(p.g.filter, FILTER_DEFAULT);
		expect_eq(p.h.protocol_errors, 0);
		/* a second request is refused with a status: the grant stands */
		again.u.subchannel.op_or_status = PVB_NVSP_SUBCH_ALLOCATE;
		again.u.subchannel.num = 2;
		expect_eq(pvb_vsp_nvsp(&p.h, &again, &reply), 1);
		if (cases[i].first_ver == 0 && cases[i].max != 0 && cases[i].want != 0) {
			expect_eq(reply.u.subchannel.op_or_status, PVB_NVSP_STAT_FAIL);
			expect_eq(p.h.subch_granted, cases[i].granted);
		}
		expect_eq(p.h.state, PVB_VSP_RNDIS_READY);
	}
}

/* A host that grants more than asked, or answers with another type, fails the guest. */
static void
test_subchannel_hostile_host(void **state)
{
	struct pvb_nvsp_msg back = { .type = PVB_NVSP_SUBCHANNEL };
	struct pvb_vsc_action a;
	unsigned int i, k;
	struct peer p;

	(void)state;
	for (k = 0; k < 3; k++) {
		at("answer %u", k);
		peer_init_mq(&p, 2, 8, 0);
		for (i = 0; i < 64; i++) {
			pvb_vsc_next(&p.g, &a);
			if (a.kind == PVB_VSC_ACT_NVSP && a.nvsp.type == PVB_NVSP_SUBCHANNEL)
				break;
			assert_true(a.kind != PVB_VSC_ACT_NONE);
			deliver(&p, &a);
		}
		expect_eq(a.nvsp.u.subchannel.op_or_status, PVB_NVSP_SUBCH_ALLOCATE);
		expect_eq(a.nvsp.u.subchannel.num, 2);
		back.type = PVB_NVSP_SUBCHANNEL;
		back.u.subchannel.op_or_status = PVB_NVSP_STAT_SUCCESS;
		back.u.subchannel.num = 3;
		if (k == 1)
			back.type = PVB_NVSP_SEND_RECV_BUF_COMPLETE;
		if (k == 2) {
			/* a failure grants none and is no error */
			back.u.subchannel.op_or_status = PVB_NVSP_STAT_FAIL;
			expect_eq(pvb_vsc_nvsp(&p.g, &back), 0);
			expect_eq(p.g.subch_granted, 0);
			continue;
		}
		expect_eq(pvb_vsc_nvsp(&p.g, &back), -EPROTO);
		expect_eq(p.g.state, PVB_VSC_FAILED);
	}
}

static void
rss_conf(struct pvb_rss_conf *c, uint32_t nchan, uint32_t types)
{
	uint32_t i;

	memset(c, 0, sizeof(*c));
	c->enabled = true;
	c->hash_types = types;
	for (i = 0; i < sizeof(c->key); i++)
		c->key[i] = (uint8_t)(3 * i + 1);
	for (i = 0; i < PVB_NDIS_RSS_TABLE_N; i++)
		c->table[i] = (uint8_t)(i % nchan);
}

/* RSS set once READY: applied, replaced, refused beyond the channels, turned off. */
static void
test_rss_params(void **state)
{
	struct pvb_rss_conf c;
	struct peer p;

	(void)state;
	at("4 channels");
	peer_init_mq(&p, 3, 3, 0);
	pump(&p);
	assert_true(pvb_vsc_ready(&p.g));
	expect_false(p.h.rss.enabled);
	rss_conf(&c, 4, PVB_RSS_HASH_SUPPORTED);
	pvb_vsc_set_rss(&p.g, &c);
	pump(&p);
	expect_true(p.h.rss.enabled);
	expect_eq(p.h.rss_gen, 1);
	expect_eq(memcmp(&p.h.rss, &c, sizeof(c)), 0);
	expect_eq(p.g.rss_gen, p.g.rss_want_gen);
	expect_false(p.g.rss_refused);
	at("IPv4 only, table over 2 channels");
	rss_conf(&c, 2, PVB_NDIS_HASH_IPV4 | PVB_NDIS_HASH_TCP_IPV4);
	pvb_vsc_set_rss(&p.g, &c);
	pump(&p);
	expect_eq(p.h.rss_gen, 2);
	expect_eq(p.h.rss.hash_types, PVB_NDIS_HASH_IPV4 | PVB_NDIS_HASH_TCP_IPV4);
	expect_eq(p.h.rss.table[3], 1);
	at("an entry beyond the channels: refused, RSS as it was");
	rss_conf(&c, 5, PVB_RSS_HASH_SUPPORTED);
	pvb_vsc_set_rss(&p.g, &c);
	pump(&p);
	expect_true(p.g.rss_refused);
	expect_eq(p.h.rss_gen, 2);
	expect_eq(p.h.rss.table[4], 0);
	expect_eq(p.h.protocol_errors, 0);
	expect_true(pvb_vsc_ready(&p.g));
	at("off");
	c.enabled = false;
	pvb_vsc_set_rss(&p.g, &c);
	pump(&p);
	expect_false(p.g.rss_refused);
	expect_false(p.h.rss.enabled);
	at("a filter change and RSS wanted together: both go, filter first");
	rss_conf(&c, 4, PVB_RSS_HASH_SUPPORTED);
	pvb_vsc_set_rss(&p.g, &c);
	pvb_vsc_set_filter(&p.g, FILTER_DEFAULT | PVB_RNDIS_FILTER_PROMISCUOUS);
	pump(&p);
	expect_eq(p.h.filter, FILTER_DEFAULT | PVB_RNDIS_FILTER_PROMISCUOUS);
	expect_true(p.h.rss.enabled);
	at("halt with RSS out: the teardown goes on");
	c.table[0] = 1;
	pvb_vsc_set_rss(&p.g, &c);
	{
		struct pvb_vsc_action a;

		pvb_vsc_next(&p.g, &a);
		expect_true(p.g.rss_out);
		pvb_vsc_halt(&p.g);
		deliver(&p, &a);
		pump(&p);
		expect_eq(p.g.state, PVB_VSC_HALTED);
		expect_eq(p.g.protocol_errors, 0);
	}
}

/* Before subchannels: RSS entries must all be 0 (the primary only). */
static void
test_rss_single_channel(void **state)
{
	struct pvb_rss_conf c;
	struct peer p;

	(void)state;
	at("one channel");
	peer_init_mq(&p, 0, 3, 0);
	pump(&p);
	rss_conf(&c, 2, PVB_RSS_HASH_SUPPORTED);
	pvb_vsc_set_rss(&p.g, &c);
	pump(&p);
	expect_true(p.g.rss_refused);
	expect_false(p.h.rss.enabled);
	rss_conf(&c, 1, PVB_RSS_HASH_SUPPORTED);
	pvb_vsc_set_rss(&p.g, &c);
	pump(&p);
	expect_false(p.g.rss_refused);
	expect_true(p.h.rss.enabled);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subchannels),
		cmocka_unit_test(test_subchannel_hostile_host),
		cmocka_unit_test(test_rss_params),
		cmocka_unit_test(test_rss_single_channel),
		cmocka_unit_test(test_init_vectors),
		cmocka_unit_test(test_init_to_ready),
		cmocka_unit_test(test_init_host_settings),
		cmocka_unit_test(test_vsp_defaults),
		cmocka_unit_test(test_version_fallback),
		cmocka_unit_test(test_version_exhausted),
		cmocka_unit_test(test_vsp_nvsp_sequences),
		cmocka_unit_test(test_vsp_ndis_config_clamp),
		cmocka_unit_test(test_vsp_rndis_requests),
		cmocka_unit_test(test_vsp_rndis_queries),
		cmocka_unit_test(test_vsp_stop_clears_filter),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_vsc_recv_buf_complete),
		cmocka_unit_test(test_vsc_send_buf_complete),
		cmocka_unit_test(test_vsc_nvsp_unexpected),
		cmocka_unit_test(test_vsc_rndis_init_cmplt),
		cmocka_unit_test(test_vsc_query_cmplt),
		cmocka_unit_test(test_vsc_rndis_unexpected),
		cmocka_unit_test(test_vsc_request_id_wrap),
		cmocka_unit_test(test_vsc_filter_change),
		cmocka_unit_test(test_link_indication),
		cmocka_unit_test(test_halt),
		cmocka_unit_test(test_halt_midway),
		cmocka_unit_test(test_after_teardown),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_offload_negotiation),
		cmocka_unit_test(test_ndis_offload_codec),
		cmocka_unit_test(test_vsp_offload_params),
		cmocka_unit_test(test_vsc_offload_refused),
	};

	return cmocka_run_group_tests_name("unit", tests, NULL, NULL);
}
