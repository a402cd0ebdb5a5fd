/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Unit tests for lib/nvsp's codecs and slot allocator (suite 'unit').
 *
 * Every byte vector was worked out by hand from the layouts in doc/nvsp.md
 * §2.3 (NVSP) and §3.2-3.4 (RNDIS), which follow Linux
 * drivers/net/hyperv/hyperv_net.h, DPDK drivers/net/netvsc/hn_nvs.h and
 * hn_rndis.h, and [MS-RNDIS], with the arithmetic in the comments; none was
 * produced by running the encoder. Encoders must produce them byte for byte
 * and decoders must read them back. Decoders get the bytes in a heap block
 * of exactly the size they are told about, so that under ASan a read past
 * @avail faults, and also at an odd address, so that under UBSan a
 * misaligned load is reported.
 *
 * The slot allocator is checked on fixed patterns (LIFO order, stale LIFO
 * entries, the LIFO's bound, runs), for its working set (K in flight for
 * 10^5 cycles use only the K lowest slots) and against a reference model
 * (an array of bools and a list of freed slots, searched slot by slot) for
 * 10^5 random operations with a fixed seed.
 */

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pvb_nvsp.h"
#include "test_common.h"

#define POISON		0xa5	/* bytes an encoder must not write */

/* ----------------------------------------------------------------------------
 * Heap copies, freed by the teardown even when a test fails
 */

#define HEAP_MAX	16

static void *heap[HEAP_MAX];
static unsigned int nheap;

/* @p n bytes of @p src in a heap block of exactly @p n bytes (ASan bounds). */
static uint8_t *
exact(const void *src, size_t n)
{
	uint8_t *p;

	assert_true(nheap < HEAP_MAX);
	p = malloc(n != 0 ? n : 1);
	assert_non_null(p);
	heap[nheap++] = p;
	if (n != 0)
		memcpy(p, src, n);
	return p;
}

static int
heap_free(void **state)
{
	(void)state;
	while (nheap > 0)
		free(heap[--nheap]);
	here[0] = '\0';
	return 0;
}

/* Little-endian u32 into @p b at @p at (the vectors are edited in place). */
static void
put32(uint8_t *b, uint32_t at, uint32_t v)
{
	b[at] = (uint8_t)v;
	b[at + 1] = (uint8_t)(v >> 8);
	b[at + 2] = (uint8_t)(v >> 16);
	b[at + 3] = (uint8_t)(v >> 24);
}

static void
expect_bytes(const uint8_t *got, const uint8_t *want, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("%s: byte %zu is %#04x, want %#04x", here, i, got[i], want[i]);
}

/* ----------------------------------------------------------------------------
 * NVSP (doc/nvsp.md §2.3): 40 bytes on the wire, body after the u32 type, rest zero
 */

struct nvsp_vec {
	const char *name;
	struct pvb_nvsp_msg m;
	uint32_t need;			/* the layout's size: shortest input accepted */
	uint8_t b[PVB_NVSP_MSG_SIZE];	/* unlisted bytes are zero */
};

static const struct nvsp_vec nvsp_vecs[] = {
	{ "INIT v6.1", { .type = PVB_NVSP_INIT, .u.init = { 0x00060001, 0x00060001 } }, 12,
	  { 0x01, 0, 0, 0,		/* type 1 */
	    0x01, 0x00, 0x06, 0x00,	/* @4 min 0x00060001 */
	    0x01, 0x00, 0x06, 0x00 } },	/* @8 max */
	{ "INIT v1..v6.1", { .type = PVB_NVSP_INIT, .u.init = { 2, 0x00060001 } }, 12,
	  { 0x01, 0, 0, 0, 0x02, 0, 0, 0, 0x01, 0x00, 0x06, 0x00 } },
	{ "INIT_COMPLETE", { .type = PVB_NVSP_INIT_COMPLETE,
			     .u.init_complete = { .status = 1, .max_mdl_chain_len = 34 } }, 16,
	  { 0x02, 0, 0, 0,
	    0, 0, 0, 0,			/* @4 negotiated_ver: deprecated, written 0 */
	    0x22, 0, 0, 0,		/* @8 max_mdl_chain_len 34 = 0x22 */
	    0x01, 0, 0, 0 } },		/* @12 status SUCCESS */
	{ "SEND_NDIS_VER 6.30", { .type = PVB_NVSP_SEND_NDIS_VER, .u.ndis_ver = { 6, 30 } }, 12,
	  { 0x64, 0, 0, 0,		/* 100 = 0x64 */
	    0x06, 0, 0, 0,
	    0x1e, 0, 0, 0 } },		/* 30 = 0x1e */
	{ "SEND_NDIS_CONFIG", { .type = PVB_NVSP_SEND_NDIS_CONFIG,
				.u.ndis_config = { 1514, 0x800000000000000cull } }, 20,
	  { 0x7d, 0, 0, 0,		/* 125 = 0x7d */
	    0xea, 0x05, 0, 0,		/* @4 mtu 1514 = 0x5ea */
	    0, 0, 0, 0,			/* @8 reserved */
	    0x0c, 0, 0, 0, 0, 0, 0, 0x80 } },	/* @12 u64 sriov|8021q, and bit 63 */
	{ "SEND_RECV_BUF", { .type = PVB_NVSP_SEND_RECV_BUF,
			     .u.send_buf = { 0x11223344, PVB_NVSP_RXBUF_ID } }, 10,
	  { 0x65, 0, 0, 0,		/* 101 */
	    0x44, 0x33, 0x22, 0x11,	/* @4 gpadl */
	    0xfe, 0xca } },		/* @8 u16 0xcafe */
	{ "SEND_RECV_BUF_COMPLETE", { .type = PVB_NVSP_SEND_RECV_BUF_COMPLETE,
				      .u.recv_buf_complete = { 1, 1, { 0, 1806, 1000, 1806000 } } },
	  28,
	  { 0x66, 0, 0, 0,		/* 102 */
	    0x01, 0, 0, 0,		/* @4 status */
	    0x01, 0, 0, 0,		/* @8 num_sections */
	    0, 0, 0, 0,			/* @12 offset */
	    0x0e, 0x07, 0, 0,		/* @16 sub_alloc_size 1806 = 0x70e */
	    0xe8, 0x03, 0, 0,		/* @20 num_sub_allocs 1000 = 0x3e8 */
	    0xb0, 0x8e, 0x1b, 0 } },	/* @24 end 1806 * 1000 = 1806000 = 0x1b8eb0 */
	{ "SEND_RECV_BUF_COMPLETE 2 sections", { .type = PVB_NVSP_SEND_RECV_BUF_COMPLETE,
		.u.recv_buf_complete = { 1, 2, { 0x10, 0x20, 0x30, 0x40 } } }, 28,
	  { 0x66, 0, 0, 0, 0x01, 0, 0, 0, 0x02, 0, 0, 0,
	    0x10, 0, 0, 0, 0x20, 0, 0, 0, 0x30, 0, 0, 0, 0x40, 0, 0, 0 } },
	{ "REVOKE_RECV_BUF", { .type = PVB_NVSP_REVOKE_RECV_BUF, .u.revoke = { 0xcafe } }, 6,
	  { 0x67, 0, 0, 0, 0xfe, 0xca } },	/* 103, @4 u16 id */
	{ "SEND_SEND_BUF", { .type = PVB_NVSP_SEND_SEND_BUF,
			     .u.send_buf = { 0x55667788, PVB_NVSP_TXBUF_ID } }, 10,
	  { 0x68, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0xce, 0xfa } },	/* 104 */
	{ "SEND_SEND_BUF_COMPLETE", { .type = PVB_NVSP_SEND_SEND_BUF_COMPLETE,
				      .u.send_buf_complete = { 1, 6144 } }, 12,
	  { 0x69, 0, 0, 0,		/* 105 */
	    0x01, 0, 0, 0,
	    0x00, 0x18, 0, 0 } },	/* 6144 = 0x1800 */
	{ "REVOKE_SEND_BUF", { .type = PVB_NVSP_REVOKE_SEND_BUF, .u.revoke = { 0xface } }, 6,
	  { 0x6a, 0, 0, 0, 0xce, 0xfa } },	/* 106 */
	{ "SEND_RNDIS_PKT data", { .type = PVB_NVSP_SEND_RNDIS_PKT,
				   .u.rndis = { PVB_NVSP_RNDIS_DATA, 5, 1514 } }, 16,
	  { 0x6b, 0, 0, 0,		/* 107 */
	    0, 0, 0, 0,			/* @4 channel 0 = data */
	    0x05, 0, 0, 0,		/* @8 section 5 */
	    0xea, 0x05, 0, 0 } },	/* @12 1514 bytes */
	{ "SEND_RNDIS_PKT control", { .type = PVB_NVSP_SEND_RNDIS_PKT,
		.u.rndis = { PVB_NVSP_RNDIS_CONTROL, PVB_NVSP_NO_SECTION, 0 } }, 16,
	  { 0x6b, 0, 0, 0, 0x01, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 } },
	{ "SEND_RNDIS_PKT_COMPLETE", { .type = PVB_NVSP_SEND_RNDIS_PKT_COMPLETE,
				       .u.rndis_complete = { PVB_NVSP_STAT_FAIL } }, 8,
	  { 0x6c, 0, 0, 0, 0x02, 0, 0, 0 } },	/* 108, status 2 */
};

/* @p got holds what @p want holds, field by field for its type. */
static void
expect_nvsp(const struct pvb_nvsp_msg *got, const struct pvb_nvsp_msg *want)
{
	expect_eq(got->type, want->type);
	switch (want->type) {
	case PVB_NVSP_INIT:
		expect_eq(got->u.init.min_ver, want->u.init.min_ver);
		expect_eq(got->u.init.max_ver, want->u.init.max_ver);
		break;
	case PVB_NVSP_INIT_COMPLETE:
		expect_eq(got->u.init_complete.status, want->u.init_complete.status);
		expect_eq(got->u.init_complete.max_mdl_chain_len,
			  want->u.init_complete.max_mdl_chain_len);
		break;
	case PVB_NVSP_SEND_NDIS_VER:
		expect_eq(got->u.ndis_ver.major, want->u.ndis_ver.major);
		expect_eq(got->u.ndis_ver.minor, want->u.ndis_ver.minor);
		break;
	case PVB_NVSP_SEND_NDIS_CONFIG:
		expect_eq(got->u.ndis_config.mtu, want->u.ndis_config.mtu);
		expect_eq(got->u.ndis_config.caps, want->u.ndis_config.caps);
		break;
	case PVB_NVSP_SEND_RECV_BUF:
	case PVB_NVSP_SEND_SEND_BUF:
		expect_eq(got->u.send_buf.gpadl, want->u.send_buf.gpadl);
		expect_eq(got->u.send_buf.id, want->u.send_buf.id);
		break;
	case PVB_NVSP_SEND_RECV_BUF_COMPLETE:
		expect_eq(got->u.recv_buf_complete.status, want->u.recv_buf_complete.status);
		expect_eq(got->u.recv_buf_complete.num_sections,
			  want->u.recv_buf_complete.num_sections);
		expect_true(memcmp(&got->u.recv_buf_complete.section,
				   &want->u.recv_buf_complete.section,
				   sizeof(struct pvb_nvsp_section)) == 0);
		break;
	case PVB_NVSP_REVOKE_RECV_BUF:
	case PVB_NVSP_REVOKE_SEND_BUF:
		expect_eq(got->u.revoke.id, want->u.revoke.id);
		break;
	case PVB_NVSP_SEND_SEND_BUF_COMPLETE:
		expect_eq(got->u.send_buf_complete.status, want->u.send_buf_complete.status);
		expect_eq(got->u.send_buf_complete.section_size,
			  want->u.send_buf_complete.section_size);
		break;
	case PVB_NVSP_SEND_RNDIS_PKT:
		expect_eq(got->u.rndis.channel_type, want->u.rndis.channel_type);
		expect_eq(got->u.rndis.section_index, want->u.rndis.section_index);
		expect_eq(got->u.rndis.section_size, want->u.rndis.section_size);
		break;
	case PVB_NVSP_SEND_RNDIS_PKT_COMPLETE:
		expect_eq(got->u.rndis_complete.status, want->u.rndis_complete.status);
		break;
	default:
		fail_msg("%s: no vector type %u", here, want->type);
	}
}

static void
test_nvsp_encode(void **state)
{
	uint8_t buf[PVB_NVSP_MSG_SIZE + 8];
	unsigned int i;

	(void)state;
	for (i = 0; i < DIM(nvsp_vecs); i++) {
		at("encode %s", nvsp_vecs[i].name);
		memset(buf, POISON, sizeof(buf));
		expect_eq(pvb_nvsp_encode(&nvsp_vecs[i].m, buf), PVB_NVSP_MSG_SIZE);
		expect_bytes(buf, nvsp_vecs[i].b, PVB_NVSP_MSG_SIZE);
		expect_true(bytes_all(buf + PVB_NVSP_MSG_SIZE, 8, POISON));
	}
}

static void
test_nvsp_decode(void **state)
{
	static const uint32_t lens[] = { PVB_NVSP_MSG_SIZE, PVB_NVSP_MSG_SIZE_MIN, 64 };
	uint8_t odd[1 + 64], big[64];
	struct pvb_nvsp_msg m;
	unsigned int i, k;

	(void)state;
	for (i = 0; i < DIM(nvsp_vecs); i++) {
		const struct nvsp_vec *v = &nvsp_vecs[i];

		memset(big, 0, sizeof(big));
		memcpy(big, v->b, sizeof(v->b));
		/* 40 as sent by Linux and DPDK, 28 (legacy), and more than 40 */
		for (k = 0; k < DIM(lens); k++) {
			at("decode %s from %u bytes", v->name, lens[k]);
			memset(&m, 0xff, sizeof(m));
			expect_eq(pvb_nvsp_decode(exact(big, lens[k]), lens[k], &m), 0);
			expect_nvsp(&m, &v->m);
		}
		at("decode %s from exactly %u bytes, at an odd address", v->name, v->need);
		memcpy(odd + 1, v->b, v->need);
		expect_eq(pvb_nvsp_decode(odd + 1, v->need, &m), 0);
		expect_nvsp(&m, &v->m);
		heap_free(NULL);
	}
}

/* Each vector cut anywhere before the end of its layout. */
static void
test_nvsp_truncated(void **state)
{
	struct pvb_nvsp_msg m;
	unsigned int i;
	uint32_t len;

	(void)state;
	for (i = 0; i < DIM(nvsp_vecs); i++) {
		for (len = 0; len < nvsp_vecs[i].need; len++) {
			at("%s cut to %u bytes", nvsp_vecs[i].name, len);
			expect_eq(pvb_nvsp_decode(exact(nvsp_vecs[i].b, len), len, &m), -EPROTO);
			heap_free(NULL);
		}
	}
	at("NULL buffer of 0 bytes");
	expect_eq(pvb_nvsp_decode(NULL, 0, &m), -EPROTO);
	at("no message");
	expect_eq(pvb_nvsp_decode(nvsp_vecs[0].b, 40, NULL), -EINVAL);
}

static void
test_nvsp_unknown(void **state)
{
	static const uint32_t types[] = {
		0, 3, 99, 109, 110, 124, 126, 127, 128, 129, 131, 132,
		130, 135, 136, 0x80000001, 0xffffffff,
	};
	uint8_t b[PVB_NVSP_MSG_SIZE];
	struct pvb_nvsp_msg m;
	unsigned int i;

	(void)state;
	memset(b, 0, sizeof(b));
	for (i = 0; i < DIM(types); i++) {
		put32(b, 0, types[i]);
		at("type %u, 40 bytes", types[i]);
		expect_eq(pvb_nvsp_decode(exact(b, sizeof(b)), sizeof(b), &m), -ENOTSUP);
		at("type %u, 4 bytes", types[i]);
		expect_eq(pvb_nvsp_decode(exact(b, 4), 4, &m), -ENOTSUP);
		heap_free(NULL);
	}
}

/* ----------------------------------------------------------------------------
 * RNDIS PACKET_MSG (doc/nvsp.md §3.2, §3.3)
 */

/*
 * A frame of 64 bytes with checksum, VLAN and hash PPIs, alignment 8.
 * Header 44 + 3 PPIs * 16 = 92 bytes; 92 + 64 = 156, rounded up to 8: 160.
 * data_offset = 92 - 8 = 84; per_pkt_info_offset = 44 - 8 = 36, length 48.
 * csum: TCP_OK | IP_OK = 0x08 | 0x20 = 0x28; VLAN id 100, priority 5:
 * 100 << 4 | 5 = 0x645; hash 0x12345678.
 */
#define PKT3_LEN	160u
#define PKT3_HDR	92u
#define PKT3_FRAME	64u

static const uint8_t pkt3_hdr[PKT3_HDR] = {
	0x01, 0, 0, 0,		/* @0 type PACKET_MSG */
	0xa0, 0, 0, 0,		/* @4 len 160 */
	0x54, 0, 0, 0,		/* @8 data_offset 84: frame at 8 + 84 = 92 */
	0x40, 0, 0, 0,		/* @12 data_len 64 */
	0, 0, 0, 0,		/* @16 oob_data_offset */
	0, 0, 0, 0,		/* @20 oob_data_len */
	0, 0, 0, 0,		/* @24 num_oob_data_elements */
	0x24, 0, 0, 0,		/* @28 per_pkt_info_offset 36: PPIs at 44 */
	0x30, 0, 0, 0,		/* @32 per_pkt_info_len 48 */
	0, 0, 0, 0,		/* @36 vc_handle */
	0, 0, 0, 0,		/* @40 reserved */
	/* @44 TCPIP_CHKSUM: size 16, type 0, ppi_offset 12, value */
	0x10, 0, 0, 0, 0x00, 0, 0, 0, 0x0c, 0, 0, 0, 0x28, 0, 0, 0,
	/* @60 IEEE_8021Q: type 6 */
	0x10, 0, 0, 0, 0x06, 0, 0, 0, 0x0c, 0, 0, 0, 0x45, 0x06, 0, 0,
	/* @76 HASH_VALUE: type 8 */
	0x10, 0, 0, 0, 0x08, 0, 0, 0, 0x0c, 0, 0, 0, 0x78, 0x56, 0x34, 0x12,
};

static const struct pvb_rndis_pktinfo pkt3_pi = {
	.present = PVB_PI_CSUM | PVB_PI_VLAN | PVB_PI_HASH,
	.csum = PVB_RNDIS_RXCSUM_TCP_OK | PVB_RNDIS_RXCSUM_IP_OK,
	.vlan = 100 << 4 | 5,
	.hash = 0x12345678,
};

/* The whole 160-byte message: header, PPIs, frame bytes 0..63, zero pad. */
static void
pkt3_build(uint8_t *b)
{
	uint32_t i;

	memset(b, 0, PKT3_LEN);
	memcpy(b, pkt3_hdr, PKT3_HDR);
	for (i = 0; i < PKT3_FRAME; i++)
		b[PKT3_HDR + i] = (uint8_t)i;
}

static void
expect_pi(const struct pvb_rndis_pktinfo *got, const struct pvb_rndis_pktinfo *want)
{
	expect_eq(got->present, want->present);
	if (want->present & PVB_PI_CSUM)
		expect_eq(got->csum, want->csum);
	if (want->present & PVB_PI_VLAN)
		expect_eq(got->vlan, want->vlan);
	if (want->present & PVB_PI_HASH)
		expect_eq(got->hash, want->hash);
	if (want->present & PVB_PI_HASH_INFO)
		expect_eq(got->hash_info, want->hash_info);
	if (want->present & PVB_PI_LSO)
		expect_eq(got->lso, want->lso);
}

static void
test_data_encode(void **state)
{
	uint8_t buf[PKT3_LEN];

	(void)state;
	at("hdr_len");
	expect_eq(pvb_rndis_data_hdr_len(&pkt3_pi), PKT3_HDR);
	memset(buf, POISON, sizeof(buf));
	at("encode csum+vlan+hash");
	expect_eq(pvb_rndis_data_encode(buf, PKT3_FRAME, &pkt3_pi, 8), PKT3_LEN);
	expect_bytes(buf, pkt3_hdr, PKT3_HDR);
	/* the frame and the padding are the caller's */
	expect_true(bytes_all(buf + PKT3_HDR, PKT3_LEN - PKT3_HDR, POISON));
	at("align 1 and 4: 156 stays 156");
	expect_eq(pvb_rndis_data_encode(buf, PKT3_FRAME, &pkt3_pi, 1), 156);
	expect_eq(pvb_rndis_data_encode(buf, PKT3_FRAME, &pkt3_pi, 4), 156);
	at("align 64: 156 -> 192");
	expect_eq(pvb_rndis_data_encode(buf, PKT3_FRAME, &pkt3_pi, 64), 192);
}

/*
 * No PPIs, a minimum frame: header 44, 44 + 14 = 58 bytes, align 1.
 * data_offset 36; per_pkt_info_offset 36 (as Linux and DPDK write it), length 0.
 */
static void
test_data_encode_plain(void **state)
{
	static const uint8_t want[44] = {
		0x01, 0, 0, 0, 0x3a, 0, 0, 0,	/* type 1, len 58 = 0x3a */
		0x24, 0, 0, 0, 0x0e, 0, 0, 0,	/* data_offset 36, data_len 14 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x24, 0, 0, 0, 0, 0, 0, 0,	/* PPIs: offset 36, length 0 */
		0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct pvb_rndis_pktinfo none = { .present = 0, .csum = 7 };
	uint8_t buf[58];
	struct pvb_rndis_data d;

	(void)state;
	at("plain");
	expect_eq(pvb_rndis_data_hdr_len(&none), 44);
	expect_eq(pvb_rndis_data_hdr_len(NULL), 44);
	memset(buf, 0, sizeof(buf));
	expect_eq(pvb_rndis_data_encode(buf, 14, &none, 1), 58);
	expect_bytes(buf, want, sizeof(want));
	memset(buf, 0, sizeof(buf));
	expect_eq(pvb_rndis_data_encode(buf, 14, NULL, 1), 58);
	expect_bytes(buf, want, sizeof(want));
	expect_eq(pvb_rndis_data_decode(exact(buf, sizeof(buf)), sizeof(buf), &d), 0);
	expect_eq(d.msg_len, 58);
	expect_eq(d.frame_off, 44);
	expect_eq(d.frame_len, 14);
	expect_eq(d.pi.present, 0);
}

static void
test_data_decode(void **state)
{
	uint8_t b[PKT3_LEN], odd[1 + PKT3_LEN];
	struct pvb_rndis_data d;

	(void)state;
	pkt3_build(b);
	at("csum+vlan+hash");
	memset(&d, 0xff, sizeof(d));
	expect_eq(pvb_rndis_data_decode(exact(b, sizeof(b)), sizeof(b), &d), 0);
	expect_eq(d.msg_len, PKT3_LEN);
	expect_eq(d.frame_off, PKT3_HDR);
	expect_eq(d.frame_len, PKT3_FRAME);
	expect_pi(&d.pi, &pkt3_pi);
	at("at an odd address, more bytes after it");
	memcpy(odd + 1, b, PKT3_LEN);
	expect_eq(pvb_rndis_data_decode(odd + 1, PKT3_LEN, &d), 0);
	expect_pi(&d.pi, &pkt3_pi);
	at("avail larger than len");
	expect_eq(pvb_rndis_data_decode(b, PKT3_LEN - 8, &d), -EPROTO);
}

/* What the encoder wrote, the decoder reads back, for every PPI subset. */
static void
test_data_round_trip(void **state)
{
	uint8_t buf[256];
	struct pvb_rndis_pktinfo pi = {
		.csum = 0x10, .vlan = 0xfff7, .hash = 0xdeadbeef, .hash_info = 0x101,
		.lso = 0xc22005a8,
	};
	struct pvb_rndis_data d;
	uint32_t set, len;

	(void)state;
	for (set = 0; set < 32; set++) {
		at("PPI set %#x", set);
		pi.present = set;
		memset(buf, 0, sizeof(buf));
		len = pvb_rndis_data_encode(buf, 100, &pi, 8);
		expect_eq(len, (44 + 16 * (uint32_t)__builtin_popcount(set) + 100 + 7) / 8 * 8);
		expect_eq(pvb_rndis_data_decode(exact(buf, len), len, &d), 0);
		expect_eq(d.msg_len, len);
		expect_eq(d.frame_off, pvb_rndis_data_hdr_len(&pi));
		expect_eq(d.frame_len, 100);
		expect_pi(&d.pi, &pi);
		heap_free(NULL);
	}
}

/*
 * OpenVMM's host RX (doc/nvsp.md §3.2): in a 1806-byte slot, header and PPIs at the
 * start, frame at 256, so data_offset = 256 - 8 = 248; len is the whole slot.
 * 8 + 248 + 1514 = 1770 <= 1806. PPIs: checksum at 44 (offset 36), VLAN at 60,
 * per_pkt_info_len 32; bytes 76..255 zero.
 */
#define VMM_SLOT	1806u

static void
vmm_build(uint8_t *b)
{
	static const uint8_t hdr[76] = {
		0x01, 0, 0, 0,
		0x0e, 0x07, 0, 0,	/* len 1806 = 0x70e */
		0xf8, 0, 0, 0,		/* data_offset 248 = 0xf8 */
		0xea, 0x05, 0, 0,	/* data_len 1514 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x24, 0, 0, 0,		/* PPIs at 8 + 36 = 44 */
		0x20, 0, 0, 0,		/* 32 bytes */
		0, 0, 0, 0, 0, 0, 0, 0,
		0x10, 0, 0, 0, 0, 0, 0, 0, 0x0c, 0, 0, 0, 0x38, 0, 0, 0,	/* csum 0x38 */
		/* VLAN id 2, priority 2: 2 << 4 | 2 = 0x2a */
		0x10, 0, 0, 0, 0x06, 0, 0, 0, 0x0c, 0, 0, 0, 0x2a, 0, 0, 0,
	};
	uint32_t i;

	memset(b, 0, VMM_SLOT);
	memcpy(b, hdr, sizeof(hdr));
	for (i = 256; i < 256 + 1514; i++)
		b[i] = (uint8_t)(i * 7);
}

static void
test_data_openvmm_layout(void **state)
{
	static uint8_t slot[VMM_SLOT];
	struct pvb_rndis_data d;
	uint8_t *b;

	(void)state;
	vmm_build(slot);
	b = exact(slot, VMM_SLOT);
	at("OpenVMM RX slot");
	expect_eq(pvb_rndis_data_decode(b, VMM_SLOT, &d), 0);
	expect_eq(d.msg_len, VMM_SLOT);
	expect_eq(d.frame_off, 256);
	expect_eq(d.frame_len, 1514);
	expect_eq(d.pi.present, PVB_PI_CSUM | PVB_PI_VLAN);
	expect_eq(d.pi.csum, 0x38);
	expect_eq(PVB_RNDIS_VLAN_ID(d.pi.vlan), 2);
	expect_eq(PVB_RNDIS_VLAN_PRIO(d.pi.vlan), 2);

	/* PPIs moved behind the frame: 8 + 1762 = 1770, 16 bytes, end 1786 <= 1806 */
	at("PPIs after the frame");
	memcpy(b + 1770, b + 44, 16);
	put32(b, 28, 1762);
	put32(b, 32, 16);
	expect_eq(pvb_rndis_data_decode(b, VMM_SLOT, &d), 0);
	expect_eq(d.pi.present, PVB_PI_CSUM);
	at("PPI area 40 bytes: 1770 + 40 = 1810 > 1806");
	put32(b, 32, 40);
	expect_eq(pvb_rndis_data_decode(b, VMM_SLOT, &d), -EPROTO);
	at("PPI area 36 bytes: ends at 1806 exactly, then a 20-byte zero element");
	put32(b, 32, 36);
	expect_eq(pvb_rndis_data_decode(b, VMM_SLOT, &d), -EPROTO);	/* size 0 at 1786 */
	/*
	 * One element at 1782..1798, then 8 stray bytes to the end of the slot:
	 * too short for an element header, and not to be read as one (under
	 * ASan a 12-byte read there faults).
	 */
	at("PPI area 1782..1806: 8 bytes after the element");
	memcpy(b + 1782, b + 44, 16);
	memset(b + 1798, 0x10, 8);
	put32(b, 28, 1774);
	put32(b, 32, 24);
	expect_eq(pvb_rndis_data_decode(b, VMM_SLOT, &d), -EPROTO);
	put32(b, 32, 16);
	expect_eq(pvb_rndis_data_decode(b, VMM_SLOT, &d), 0);
}

/* Up to three u32 of the 160-byte message changed, and the answer. */
struct data_bad {
	const char *name;
	struct { uint32_t at, v; } set[3];	/* at 0 after the first: unused */
	uint32_t avail;		/* 0: PKT3_LEN */
	int rc;
};

static const struct data_bad data_bad[] = {
	{ "len > avail", { { 4, 161 } }, 0, -EPROTO },
	{ "len 160 in 159 bytes", { { 4, 160 } }, 159, -EPROTO },
	{ "len 43 < 44", { { 4, 43 } }, 0, -EPROTO },
	{ "len 0", { { 4, 0 } }, 0, -EPROTO },
	{ "len 156: frame ends at 8 + 84 + 64 = 156", { { 4, 156 } }, 0, 0 },
	{ "len 155: frame past len", { { 4, 155 } }, 0, -EPROTO },
	{ "data_len 68: 8 + 84 + 68 = 160 = len", { { 12, 68 } }, 0, 0 },
	{ "data_len 69: past len", { { 12, 69 } }, 0, -EPROTO },
	{ "data_len 14", { { 12, 14 } }, 0, 0 },
	{ "data_len 13 < 14", { { 12, 13 } }, 0, -EPROTO },
	{ "data_len 0", { { 12, 0 } }, 0, -EPROTO },
	{ "data_len 0xffffffff", { { 12, 0xffffffff } }, 0, -EPROTO },
	{ "data_offset 35 < 36", { { 8, 35 } }, 0, -EPROTO },
	{ "data_offset 0", { { 8, 0 } }, 0, -EPROTO },
	{ "data_offset 88: frame at 96..160", { { 8, 88 } }, 0, 0 },
	{ "data_offset 89: past len", { { 8, 89 } }, 0, -EPROTO },
	/* 8 + 0xfffffff0 + 64 wraps to 0x48 in 32 bits */
	{ "data_offset 0xfffffff0", { { 8, 0xfffffff0 } }, 0, -EPROTO },
	{ "data_offset 0xffffffff", { { 8, 0xffffffff } }, 0, -EPROTO },
	{ "data_offset 80: frame over the last PPI", { { 8, 80 } }, 0, -EPROTO },
	{ "oob_data_offset 1", { { 16, 1 } }, 0, -EPROTO },
	{ "oob_data_len 4", { { 20, 4 } }, 0, -EPROTO },
	{ "num_oob_data_elements 1", { { 24, 1 } }, 0, -EPROTO },
	{ "vc_handle ignored", { { 36, 7 } }, 0, 0 },
	{ "reserved ignored", { { 40, 7 } }, 0, 0 },
	{ "per_pkt_info_offset 35", { { 28, 35 } }, 0, -EPROTO },
	{ "per_pkt_info_offset 0", { { 28, 0 } }, 0, -EPROTO },
	/* 8 + 0xfffffff8 + 48 wraps to 0x28 in 32 bits */
	{ "per_pkt_info_offset 0xfffffff8", { { 28, 0xfffffff8 } }, 0, -EPROTO },
	{ "PPI area [92, 140) over the frame", { { 28, 84 } }, 0, -EPROTO },
	{ "per_pkt_info_len 52: into the frame", { { 32, 52 } }, 0, -EPROTO },
	{ "per_pkt_info_len 0xfffffff0", { { 32, 0xfffffff0 } }, 0, -EPROTO },
	{ "per_pkt_info_len 32: two PPIs", { { 32, 32 } }, 0, 0 },
	{ "per_pkt_info_len 40: half an element left", { { 32, 40 } }, 0, -EPROTO },
	{ "per_pkt_info_len 0: none, offset 36", { { 32, 0 } }, 0, 0 },
	{ "PPI size 0", { { 44, 0 } }, 0, -EPROTO },
	{ "PPI size 8 < 12", { { 44, 8 } }, 0, -EPROTO },
	{ "PPI size 12: no value", { { 44, 12 } }, 0, -EPROTO },
	{ "PPI size 18: not a multiple of 4", { { 44, 18 } }, 0, -EPROTO },
	{ "last PPI size 20: 76 + 20 = 96 > 92", { { 76, 20 } }, 0, -EPROTO },
	{ "last PPI size 0xfffffff0", { { 76, 0xfffffff0 } }, 0, -EPROTO },
	{ "ppi_offset 11 < 12", { { 52, 11 } }, 0, -EPROTO },
	{ "ppi_offset 13: value past the element", { { 52, 13 } }, 0, -EPROTO },
	{ "ppi_offset 16: value past the element", { { 52, 16 } }, 0, -EPROTO },
	{ "ppi_offset 0xfffffffc", { { 52, 0xfffffffc } }, 0, -EPROTO },
	{ "unknown PPI type 7: skipped", { { 48, 7 } }, 0, 0 },
	{ "internal PPI type 1: skipped", { { 48, 0x80000001 } }, 0, 0 },
	{ "type HALT_MSG", { { 0, PVB_RNDIS_HALT_MSG } }, 0, -ENOTSUP },
	{ "type INITIALIZE_CMPLT", { { 0, PVB_RNDIS_INITIALIZE_CMPLT } }, 0, -ENOTSUP },
	{ "type 0", { { 0, 0 } }, 0, -ENOTSUP },
	/* one 18-byte element, area [44, 62): everything else about it is fine */
	{ "lone PPI size 18", { { 32, 18 }, { 44, 18 } }, 0, -EPROTO },
	{ "lone PPI size 20", { { 32, 20 }, { 44, 20 } }, 0, 0 },
	/* area [40, 56) over the header: reserved @40 read as size 16, type @44 = 16 */
	{ "PPI area over the header", { { 28, 32 }, { 32, 16 }, { 40, 16 } }, 0, -EPROTO },
	/* no PPIs, frame at 8 + 35 = 43 over the header, 43 + 64 < 160 */
	{ "data_offset 35, no PPIs", { { 8, 35 }, { 32, 0 } }, 0, -EPROTO },
	{ "data_offset 36, no PPIs", { { 8, 36 }, { 32, 0 } }, 0, 0 },
};

static void
test_data_violations(void **state)
{
	uint8_t b[PKT3_LEN];
	struct pvb_rndis_data d;
	unsigned int i, k;
	uint32_t avail;

	(void)state;
	for (i = 0; i < DIM(data_bad); i++) {
		at("%s", data_bad[i].name);
		pkt3_build(b);
		for (k = 0; k < DIM(data_bad[i].set) && (k == 0 || data_bad[i].set[k].at != 0); k++)
			put32(b, data_bad[i].set[k].at, data_bad[i].set[k].v);
		avail = data_bad[i].avail != 0 ? data_bad[i].avail : PKT3_LEN;
		expect_eq(pvb_rndis_data_decode(exact(b, avail), avail, &d), data_bad[i].rc);
		heap_free(NULL);
	}
}

/* Skipped and unusual PPIs, checked on the values they leave. */
static void
test_data_ppi_walk(void **state)
{
	uint8_t b[PKT3_LEN];
	struct pvb_rndis_data d;

	(void)state;
	at("unknown type in the middle: VLAN not reported");
	pkt3_build(b);
	put32(b, 64, 7);
	expect_eq(pvb_rndis_data_decode(b, PKT3_LEN, &d), 0);
	expect_eq(d.pi.present, PVB_PI_CSUM | PVB_PI_HASH);
	expect_eq(d.pi.hash, 0x12345678);

	/* the hash element grown to 20 bytes (76..96): value at ppi_offset 16, frame moved 4 on */
	at("value at ppi_offset 16 of a 20-byte element");
	pkt3_build(b);
	put32(b, 8, 88);	/* frame at 96 */
	put32(b, 32, 52);	/* PPIs 44..96 */
	put32(b, 76, 20);
	put32(b, 84, 16);
	put32(b, 92, 0xcafef00d);
	expect_eq(pvb_rndis_data_decode(b, PKT3_LEN, &d), 0);
	expect_eq(d.pi.hash, 0xcafef00d);
	expect_eq(d.frame_off, 96);

	at("two VLAN elements: the later one counts");
	pkt3_build(b);
	put32(b, 48, PVB_RNDIS_PPI_VLAN);
	expect_eq(pvb_rndis_data_decode(b, PKT3_LEN, &d), 0);
	expect_eq(d.pi.present, PVB_PI_VLAN | PVB_PI_HASH);
	expect_eq(d.pi.vlan, 0x645);

	at("an unknown type's ppi_offset is not looked at");
	pkt3_build(b);
	put32(b, 48, 11);
	put32(b, 52, 0xffffffff);
	expect_eq(pvb_rndis_data_decode(b, PKT3_LEN, &d), 0);
}

/*
 * The offload PPIs as guests write them: DPDK's checksum request for TCP
 * over IPv4 with the TCP header at 34, Linux's LSOv2 of MSS 1448 over IPv6
 * with the TCP header at 54, and a VLAN tag beside them; byte for byte.
 */
static void
test_data_offload_ppis(void **state)
{
	static const uint8_t want[44 + 48] = {
		0x01, 0, 0, 0, 0x70, 0, 0, 0,	/* type 1, len 44 + 48 + 14 -> 112 */
		0x54, 0, 0, 0, 0x0e, 0, 0, 0,	/* data_offset 84, data_len 14 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x24, 0, 0, 0, 0x30, 0, 0, 0,	/* PPIs at 36 (from 8), 48 bytes */
		0, 0, 0, 0, 0, 0, 0, 0,
		/* @44 TCPIP_CHKSUM: IPv4 | TCP, offset 34 << 16 */
		0x10, 0, 0, 0, 0x00, 0, 0, 0, 0x0c, 0, 0, 0, 0x05, 0, 0x22, 0,
		/* @60 IEEE_8021Q: id 7, priority 3 */
		0x10, 0, 0, 0, 0x06, 0, 0, 0, 0x0c, 0, 0, 0, 0x73, 0, 0, 0,
		/* @76 TCP_LARGESEND: 1448 | 54 << 20 | v2 | IPv6 */
		0x10, 0, 0, 0, 0x02, 0, 0, 0, 0x0c, 0, 0, 0, 0xa8, 0x05, 0x60, 0xc3,
	};
	struct pvb_rndis_pktinfo pi = {
		.present = PVB_PI_CSUM | PVB_PI_VLAN | PVB_PI_LSO,
		.csum = PVB_RNDIS_TXCSUM_IPV4 | PVB_RNDIS_TXCSUM_TCP | PVB_RNDIS_TXCSUM_MK_OFF(34),
		.vlan = 7 << 4 | 3,
		.lso = PVB_RNDIS_LSO2_MK(1448, 54, true),
	};
	uint8_t buf[112];
	struct pvb_rndis_data d;

	(void)state;
	at("encode");
	memset(buf, 0, sizeof(buf));
	expect_eq(pvb_rndis_data_encode(buf, 14, &pi, 8), 112);
	expect_bytes(buf, want, sizeof(want));
	at("decode");
	expect_eq(pvb_rndis_data_decode(exact(buf, sizeof(buf)), sizeof(buf), &d), 0);
	expect_pi(&d.pi, &pi);
	expect_eq(PVB_RNDIS_LSO2_MSS(d.pi.lso), 1448);
	expect_eq(PVB_RNDIS_LSO2_TCP_OFF(d.pi.lso), 54);
	expect_true(d.pi.lso & PVB_RNDIS_LSO2_TYPE);
	expect_true(d.pi.lso & PVB_RNDIS_LSO2_IPV6);
	expect_eq(PVB_RNDIS_TXCSUM_L4_OFF(d.pi.csum), 34);
	at("the LSO value outside its element");
	put32(buf, 84, 16);	/* ppi_offset 16 of a 16-byte element */
	expect_eq(pvb_rndis_data_decode(buf, sizeof(buf), &d), -EPROTO);
	at("an LSO element running into the frame");
	put32(buf, 84, 12);
	put32(buf, 76, 20);
	expect_eq(pvb_rndis_data_decode(buf, sizeof(buf), &d), -EPROTO);
	at("the macros keep to their bits");
	expect_eq(PVB_RNDIS_LSO2_MK(0x1fffff, 0x7ff, false), 0x7fffffffu);
	expect_eq(PVB_RNDIS_TXCSUM_MK_OFF(0x7ff), 0x3ffu << 16);
}

/* Every prefix of a valid message is refused, reading nothing past it. */
static void
test_data_truncated(void **state)
{
	uint8_t b[PKT3_LEN];
	struct pvb_rndis_data d;
	uint32_t avail;

	(void)state;
	pkt3_build(b);
	for (avail = 0; avail < PKT3_LEN; avail++) {
		at("%u of 160 bytes", avail);
		expect_eq(pvb_rndis_data_decode(exact(b, avail), avail, &d), -EPROTO);
		heap_free(NULL);
	}
	at("a control message in 12 bytes");
	expect_eq(pvb_rndis_data_decode(exact((uint8_t[12]){ 3, 0, 0, 0, 12 }, 12), 12, &d),
		  -ENOTSUP);
	at("bad arguments");
	expect_eq(pvb_rndis_data_decode(b, PKT3_LEN, NULL), -EINVAL);
	expect_eq(pvb_rndis_data_decode(NULL, 0, &d), -EPROTO);
}

/* Three messages back to back as one NVSP 107 carries them (doc/nvsp.md §4.2), walked by len. */
static void
test_data_stream(void **state)
{
	struct pvb_rndis_pktinfo pi = { .present = PVB_PI_HASH, .hash = 3 };
	static const uint32_t frames[] = { 60, 1514, 17 };
	uint8_t buf[2048];
	struct pvb_rndis_data d;
	uint32_t off = 0, len, i;

	(void)state;
	memset(buf, 0, sizeof(buf));
	for (i = 0; i < DIM(frames); i++) {
		len = pvb_rndis_data_encode(buf + off, frames[i], &pi, 8);
		expect_eq(len % 8, 0);
		off += len;
	}
	/* 60 + 60 = 120; 1514 + 60 = 1574 -> 1576; 17 + 60 = 77 -> 80; 1776 in all */
	at("stream");
	expect_eq(off, 1776);
	len = off;
	off = 0;
	for (i = 0; i < DIM(frames); i++) {
		expect_eq(pvb_rndis_data_decode(buf + off, len - off, &d), 0);
		expect_eq(d.frame_len, frames[i]);
		expect_eq(d.frame_off, 60);
		off += d.msg_len;
	}
	expect_eq(off, len);
}

/* ----------------------------------------------------------------------------
 * RNDIS control messages (doc/nvsp.md §3.4)
 */

struct ctl_vec {
	const char *name;
	struct pvb_rndis_ctl c;	/* len and info_off as decode reports them */
	uint32_t len;
	uint8_t b[64];
};

static const struct ctl_vec ctl_vecs[] = {
	{ "INITIALIZE_MSG", { .type = PVB_RNDIS_INITIALIZE_MSG, .len = 24, .request_id = 1,
			      .major = 1, .minor = 0, .max_transfer_size = 0x4000 }, 24,
	  { 0x02, 0, 0, 0,		/* @0 type 2 */
	    0x18, 0, 0, 0,		/* @4 len 24 */
	    0x01, 0, 0, 0,		/* @8 request_id */
	    0x01, 0, 0, 0,		/* @12 major 1 */
	    0, 0, 0, 0,			/* @16 minor 0 */
	    0x00, 0x40, 0, 0 } },	/* @20 max_transfer_size 0x4000 */
	{ "INITIALIZE_CMPLT", { .type = PVB_RNDIS_INITIALIZE_CMPLT, .len = 52, .request_id = 1,
				.status = 0, .major = 1, .minor = 0, .device_flags = 1,
				.medium = 0, .max_packets_per_message = 8,
				.max_transfer_size = 0xefffffff,
				.packet_alignment_factor = 3 }, 52,
	  { 0x02, 0, 0, 0x80,		/* @0 0x80000002 */
	    0x34, 0, 0, 0,		/* @4 len 52 */
	    0x01, 0, 0, 0,		/* @8 request_id */
	    0, 0, 0, 0,			/* @12 status SUCCESS */
	    0x01, 0, 0, 0,		/* @16 major */
	    0, 0, 0, 0,			/* @20 minor */
	    0x01, 0, 0, 0,		/* @24 device_flags connectionless */
	    0, 0, 0, 0,			/* @28 medium 802.3 */
	    0x08, 0, 0, 0,		/* @32 max_packets_per_message */
	    0xff, 0xff, 0xff, 0xef,	/* @36 max_transfer_size */
	    0x03, 0, 0, 0,		/* @40 alignment 1 << 3 */
	    0, 0, 0, 0, 0, 0, 0, 0 } },	/* @44 af_list offset, size */
	{ "QUERY PERMANENT_ADDRESS", { .type = PVB_RNDIS_QUERY_MSG, .len = 28, .request_id = 2,
				       .oid = PVB_RNDIS_OID_802_3_PERMANENT_ADDRESS }, 28,
	  { 0x04, 0, 0, 0,
	    0x1c, 0, 0, 0,		/* len 28 */
	    0x02, 0, 0, 0,		/* @8 request_id */
	    0x01, 0x01, 0x01, 0x01,	/* @12 oid 0x01010101 */
	    0, 0, 0, 0,			/* @16 info_buf_len 0 */
	    0x14, 0, 0, 0,		/* @20 info_buf_offset 20: would be @28 */
	    0, 0, 0, 0 } },		/* @24 device_vc_handle */
	{ "QUERY_CMPLT MAC", { .type = PVB_RNDIS_QUERY_CMPLT, .len = 30, .request_id = 2,
			       .status = 0, .info_off = 24, .info_len = 6 }, 30,
	  { 0x04, 0, 0, 0x80,
	    0x1e, 0, 0, 0,		/* len 24 + 6 = 30 */
	    0x02, 0, 0, 0,		/* @8 request_id */
	    0, 0, 0, 0,			/* @12 status */
	    0x06, 0, 0, 0,		/* @16 info_buf_len 6 */
	    0x10, 0, 0, 0,		/* @20 info_buf_offset 16: 8 + 16 = 24 */
	    0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 } },
	{ "SET packet filter", { .type = PVB_RNDIS_SET_MSG, .len = 32, .request_id = 3,
				 .oid = PVB_RNDIS_OID_GEN_CURRENT_PACKET_FILTER,
				 .info_off = 28, .info_len = 4 }, 32,
	  { 0x05, 0, 0, 0,
	    0x20, 0, 0, 0,		/* len 28 + 4 = 32 */
	    0x03, 0, 0, 0,
	    0x0e, 0x01, 0x01, 0x00,	/* oid 0x0001010e */
	    0x04, 0, 0, 0,		/* info_buf_len 4 */
	    0x14, 0, 0, 0,		/* info_buf_offset 20: 8 + 20 = 28 */
	    0, 0, 0, 0,
	    0x0d, 0, 0, 0 } },		/* DIRECTED | ALL_MULTICAST | BROADCAST = 1|4|8 */
	{ "SET_CMPLT", { .type = PVB_RNDIS_SET_CMPLT, .len = 16, .request_id = 3,
			 .status = PVB_RNDIS_STATUS_SUCCESS }, 16,
	  { 0x05, 0, 0, 0x80, 0x10, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0 } },
	{ "KEEPALIVE_MSG", { .type = PVB_RNDIS_KEEPALIVE_MSG, .len = 12, .request_id = 4 }, 12,
	  { 0x08, 0, 0, 0, 0x0c, 0, 0, 0, 0x04, 0, 0, 0 } },
	{ "KEEPALIVE_CMPLT", { .type = PVB_RNDIS_KEEPALIVE_CMPLT, .len = 16, .request_id = 4,
			       .status = PVB_RNDIS_STATUS_FAILURE }, 16,
	  { 0x08, 0, 0, 0x80, 0x10, 0, 0, 0, 0x04, 0, 0, 0, 0x01, 0, 0, 0xc0 } },
	{ "INDICATE_STATUS MEDIA_CONNECT", { .type = PVB_RNDIS_INDICATE_STATUS_MSG, .len = 20,
		.status = PVB_RNDIS_STATUS_MEDIA_CONNECT }, 20,
	  { 0x07, 0, 0, 0,
	    0x14, 0, 0, 0,		/* len 20 */
	    0x0b, 0x00, 0x01, 0x40,	/* @8 status 0x4001000b */
	    0, 0, 0, 0,			/* @12 status_buf_len 0 */
	    0x0c, 0, 0, 0 } },		/* @16 status_buf_offset 12: would be @20 */
	{ "INDICATE_STATUS with a buffer", { .type = PVB_RNDIS_INDICATE_STATUS_MSG, .len = 24,
		.status = PVB_RNDIS_STATUS_LINK_SPEED_CHANGE, .info_off = 20, .info_len = 4 }, 24,
	  { 0x07, 0, 0, 0, 0x18, 0, 0, 0, 0x13, 0x00, 0x01, 0x40,
	    0x04, 0, 0, 0, 0x0c, 0, 0, 0, 0x40, 0x42, 0x0f, 0x00 } },	/* 1000000 */
	{ "HALT_MSG", { .type = PVB_RNDIS_HALT_MSG, .len = 12, .request_id = 5 }, 12,
	  { 0x03, 0, 0, 0, 0x0c, 0, 0, 0, 0x05, 0, 0, 0 } },
	{ "RESET_MSG", { .type = PVB_RNDIS_RESET_MSG, .len = 12 }, 12,
	  { 0x06, 0, 0, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0 } },	/* @8 reserved */
	{ "RESET_CMPLT", { .type = PVB_RNDIS_RESET_CMPLT, .len = 16,
			   .status = PVB_RNDIS_STATUS_NOT_SUPPORTED }, 16,
	  { 0x06, 0, 0, 0x80, 0x10, 0, 0, 0,
	    0xbb, 0, 0, 0xc0,		/* @8 status 0xc00000bb */
	    0, 0, 0, 0 } },		/* @12 addressing_reset */
};

static void
expect_ctl(const struct pvb_rndis_ctl *got, const struct pvb_rndis_ctl *want)
{
	expect_eq(got->type, want->type);
	expect_eq(got->len, want->len);
	expect_eq(got->request_id, want->request_id);
	expect_eq(got->status, want->status);
	expect_eq(got->oid, want->oid);
	expect_eq(got->info_off, want->info_off);
	expect_eq(got->info_len, want->info_len);
	expect_eq(got->major, want->major);
	expect_eq(got->minor, want->minor);
	expect_eq(got->max_transfer_size, want->max_transfer_size);
	expect_eq(got->device_flags, want->device_flags);
	expect_eq(got->medium, want->medium);
	expect_eq(got->max_packets_per_message, want->max_packets_per_message);
	expect_eq(got->packet_alignment_factor, want->packet_alignment_factor);
}

static void
test_ctl_encode(void **state)
{
	uint8_t buf[96];
	unsigned int i;
	const void *info;

	(void)state;
	for (i = 0; i < DIM(ctl_vecs); i++) {
		const struct ctl_vec *v = &ctl_vecs[i];

		info = v->c.info_len != 0 ? v->b + v->c.info_off : NULL;
		at("encode %s", v->name);
		memset(buf, POISON, sizeof(buf));
		expect_eq(pvb_rndis_ctl_encode(&v->c, info, buf, v->len), v->len);
		expect_bytes(buf, v->b, v->len);
		expect_true(bytes_all(buf + v->len, sizeof(buf) - v->len, POISON));
		at("encode %s into %u bytes", v->name, v->len - 1);
		memset(buf, POISON, sizeof(buf));
		expect_eq(pvb_rndis_ctl_encode(&v->c, info, buf, v->len - 1), -EMSGSIZE);
		expect_true(bytes_all(buf, sizeof(buf), POISON));
	}
}

static void
test_ctl_decode(void **state)
{
	uint8_t odd[1 + 96];
	struct pvb_rndis_ctl c;
	unsigned int i;

	(void)state;
	for (i = 0; i < DIM(ctl_vecs); i++) {
		const struct ctl_vec *v = &ctl_vecs[i];

		at("decode %s", v->name);
		memset(&c, 0xff, sizeof(c));
		expect_eq(pvb_rndis_ctl_decode(exact(v->b, v->len), v->len, &c), 0);
		expect_ctl(&c, &v->c);
		at("decode %s at an odd address, 96 bytes available", v->name);
		memset(odd, 0xee, sizeof(odd));
		memcpy(odd + 1, v->b, v->len);
		expect_eq(pvb_rndis_ctl_decode(odd + 1, 96, &c), 0);
		expect_ctl(&c, &v->c);
		at("decode %s from %u bytes", v->name, v->len - 1);
		expect_eq(pvb_rndis_ctl_decode(exact(v->b, v->len - 1), v->len - 1, &c),
			  -EPROTO);
		heap_free(NULL);
	}
}

/* The request types carry no buffer: info is ignored, not appended. */
static void
test_ctl_encode_args(void **state)
{
	struct pvb_rndis_ctl c = { .type = PVB_RNDIS_HALT_MSG, .request_id = 9, .info_len = 5 };
	uint8_t buf[64];

	(void)state;
	at("HALT with info");
	memset(buf, POISON, sizeof(buf));
	expect_eq(pvb_rndis_ctl_encode(&c, "abcde", buf, sizeof(buf)), 12);
	expect_true(bytes_all(buf + 12, sizeof(buf) - 12, POISON));
	at("QUERY_CMPLT, info_len 5 and no info");
	c.type = PVB_RNDIS_QUERY_CMPLT;
	expect_eq(pvb_rndis_ctl_encode(&c, NULL, buf, sizeof(buf)), -EINVAL);
	at("info_len 0xffffffff");
	c.info_len = 0xffffffff;
	expect_eq(pvb_rndis_ctl_encode(&c, buf, buf, sizeof(buf)), -EMSGSIZE);
	at("PACKET_MSG");
	c.type = PVB_RNDIS_PACKET_MSG;
	expect_eq(pvb_rndis_ctl_encode(&c, NULL, buf, sizeof(buf)), -EINVAL);
	at("unknown type");
	c.type = 0x80000009;
	expect_eq(pvb_rndis_ctl_encode(&c, NULL, buf, sizeof(buf)), -EINVAL);
	at("NULL");
	expect_eq(pvb_rndis_ctl_encode(NULL, NULL, buf, sizeof(buf)), -EINVAL);
	c.type = PVB_RNDIS_HALT_MSG;
	expect_eq(pvb_rndis_ctl_encode(&c, NULL, NULL, sizeof(buf)), -EINVAL);
}

/* One u32 of a control vector changed, and the answer. */
struct ctl_bad {
	const char *name;
	unsigned int vec;	/* index in ctl_vecs */
	uint32_t at, v;
	uint32_t avail;		/* 0: the vector's len */
	int rc;
};

enum { V_INIT, V_INIT_CMPLT, V_QUERY, V_QUERY_CMPLT, V_SET, V_SET_CMPLT, V_KEEPALIVE,
       V_KEEPALIVE_CMPLT, V_INDICATE, V_INDICATE_BUF, V_HALT, V_RESET, V_RESET_CMPLT };

static const struct ctl_bad ctl_bad[] = {
	{ "INIT len 25 > avail", V_INIT, 4, 25, 0, -EPROTO },
	{ "INIT len 23 < 24", V_INIT, 4, 23, 0, -EPROTO },
	{ "INIT_CMPLT len 48 < 52", V_INIT_CMPLT, 4, 48, 0, -EPROTO },
	{ "HALT len 8", V_HALT, 4, 8, 0, -EPROTO },
	{ "HALT in 8 bytes", V_HALT, 4, 12, 8, -EPROTO },
	{ "HALT in 7 bytes", V_HALT, 4, 12, 7, -EPROTO },
	{ "QUERY len 24 < 28", V_QUERY, 4, 24, 0, -EPROTO },
	{ "QUERY info_buf_len 1 past len", V_QUERY, 16, 1, 0, -EPROTO },
	{ "QUERY empty buffer, offset ignored", V_QUERY, 20, 0xffffffff, 0, 0 },
	{ "QUERY_CMPLT info 7 bytes: 24 + 7 > 30", V_QUERY_CMPLT, 16, 7, 0, -EPROTO },
	{ "QUERY_CMPLT offset 17: 25 + 6 > 30", V_QUERY_CMPLT, 20, 17, 0, -EPROTO },
	{ "QUERY_CMPLT offset 15: over the fixed part", V_QUERY_CMPLT, 20, 15, 0, -EPROTO },
	{ "QUERY_CMPLT offset 0", V_QUERY_CMPLT, 20, 0, 0, -EPROTO },
	/* 8 + 0xfffffffc + 6 wraps to 0xa in 32 bits */
	{ "QUERY_CMPLT offset 0xfffffffc", V_QUERY_CMPLT, 20, 0xfffffffc, 0, -EPROTO },
	{ "QUERY_CMPLT info_len 0xfffffffe", V_QUERY_CMPLT, 16, 0xfffffffe, 0, -EPROTO },
	{ "QUERY_CMPLT len 23", V_QUERY_CMPLT, 4, 23, 0, -EPROTO },
	{ "SET info_buf_len 5: 28 + 5 > 32", V_SET, 16, 5, 0, -EPROTO },
	{ "SET offset 21: 29 + 4 > 32", V_SET, 20, 21, 0, -EPROTO },
	{ "SET offset 19: over the fixed part", V_SET, 20, 19, 0, -EPROTO },
	{ "SET_CMPLT len 12", V_SET_CMPLT, 4, 12, 0, -EPROTO },
	{ "KEEPALIVE_CMPLT len 12", V_KEEPALIVE_CMPLT, 4, 12, 0, -EPROTO },
	{ "INDICATE len 16 < 20", V_INDICATE, 4, 16, 0, -EPROTO },
	{ "INDICATE buffer 4 bytes past len", V_INDICATE, 12, 4, 0, -EPROTO },
	{ "INDICATE buffer offset 8: over the fixed part", V_INDICATE_BUF, 16, 8, 0, -EPROTO },
	{ "INDICATE buffer offset 13", V_INDICATE_BUF, 16, 13, 0, -EPROTO },
	{ "RESET_CMPLT len 15", V_RESET_CMPLT, 4, 15, 0, -EPROTO },
	{ "PACKET_MSG", V_SET_CMPLT, 0, PVB_RNDIS_PACKET_MSG, 0, -ENOTSUP },
	{ "SET_EX_MSG", V_SET_CMPLT, 0, 9, 0, -ENOTSUP },
	{ "0x80000001", V_SET_CMPLT, 0, 0x80000001, 0, -ENOTSUP },
	{ "unknown type, len past avail", V_SET_CMPLT, 0, 0x1234, 0, -ENOTSUP },
	{ "KEEPALIVE len 100 in 12 bytes", V_KEEPALIVE, 4, 100, 0, -EPROTO },
};

static void
test_ctl_violations(void **state)
{
	uint8_t b[64];
	struct pvb_rndis_ctl c;
	unsigned int i;
	uint32_t avail;

	(void)state;
	for (i = 0; i < DIM(ctl_bad); i++) {
		const struct ctl_vec *v = &ctl_vecs[ctl_bad[i].vec];

		at("%s", ctl_bad[i].name);
		memcpy(b, v->b, sizeof(b));
		put32(b, ctl_bad[i].at, ctl_bad[i].v);
		avail = ctl_bad[i].avail != 0 ? ctl_bad[i].avail : v->len;
		expect_eq(pvb_rndis_ctl_decode(exact(b, avail), avail, &c), ctl_bad[i].rc);
		heap_free(NULL);
	}
	at("empty QUERY buffer: no info");
	memcpy(b, ctl_vecs[V_QUERY].b, sizeof(b));
	put32(b, 20, 0xffffffff);
	expect_eq(pvb_rndis_ctl_decode(b, 28, &c), 0);
	expect_eq(c.info_off, 0);
	expect_eq(c.info_len, 0);
	at("SET_CMPLT len 16 with more bytes after it");
	expect_eq(pvb_rndis_ctl_decode(ctl_vecs[V_SET_CMPLT].b, 64, &c), 0);
	expect_eq(c.len, 16);
	at("NULL");
	expect_eq(pvb_rndis_ctl_decode(b, 64, NULL), -EINVAL);
	expect_eq(pvb_rndis_ctl_decode(NULL, 0, &c), -EPROTO);
}

/* ----------------------------------------------------------------------------
 * Slot allocator
 */

static struct pvb_nvsp_slots slots;

static int
slots_teardown(void **state)
{
	pvb_nvsp_slots_fini(&slots);
	return heap_free(state);
}

/* Slots [first, first + count) taken, all others free, nfree consistent. */
static void
expect_taken_only(const struct pvb_nvsp_slots *s, uint32_t first, uint32_t count)
{
	uint32_t i;

	for (i = 0; i < s->n; i++)
		if (pvb_nvsp_slots_taken(s, i) != (i >= first && i - first < count))
			fail_msg("%s: slot %u taken %d", here, i, pvb_nvsp_slots_taken(s, i));
	expect_eq(s->nfree, s->n - count);
}

static void
test_slots_basic(void **state)
{
	struct pvb_nvsp_slots *s = &slots;

	(void)state;
	at("init");
	expect_eq(pvb_nvsp_slots_init(s, 0), -EINVAL);
	expect_eq(pvb_nvsp_slots_init(NULL, 4), -EINVAL);
	expect_eq(pvb_nvsp_slots_init(s, 10), 0);
	expect_taken_only(s, 0, 0);
	expect_false(pvb_nvsp_slots_taken(s, 10));
	expect_false(pvb_nvsp_slots_taken(s, 0xffffffff));

	at("lowest first, then the slot just freed");
	expect_eq(pvb_nvsp_slots_get(s, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 1), 1);
	expect_eq(pvb_nvsp_slots_get(s, 3), 2);
	expect_taken_only(s, 0, 5);
	expect_eq(pvb_nvsp_slots_put(s, 1, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 1), 1);	/* the most recently freed */
	expect_eq(pvb_nvsp_slots_get(s, 1), 5);	/* nothing freed: the lowest free */
	expect_eq(pvb_nvsp_slots_get(s, 4), 6);	/* 6..9 */
	expect_eq(s->nfree, 0);
	expect_eq(pvb_nvsp_slots_get(s, 1), -ENOSPC);

	at("put");
	expect_eq(pvb_nvsp_slots_put(s, 0, 10), 0);
	expect_taken_only(s, 0, 0);
	expect_eq(pvb_nvsp_slots_get(s, 0), -EINVAL);
	expect_eq(pvb_nvsp_slots_get(s, 11), -ENOSPC);
	expect_eq(pvb_nvsp_slots_get(s, 10), 0);
	expect_taken_only(s, 0, 10);
}

static void
test_slots_bad_put(void **state)
{
	struct pvb_nvsp_slots *s = &slots;
	struct pvb_nvsp_slots none;

	(void)state;
	expect_eq(pvb_nvsp_slots_init(s, 100), 0);
	expect_eq(pvb_nvsp_slots_get(s, 30), 0);
	at("double free of the whole range");
	expect_eq(pvb_nvsp_slots_put(s, 10, 5), 0);
	expect_eq(pvb_nvsp_slots_put(s, 10, 5), -EINVAL);
	at("a range with one free slot in it changes nothing");
	expect_eq(pvb_nvsp_slots_put(s, 5, 6), -EINVAL);	/* 10 is free */
	expect_eq(pvb_nvsp_slots_put(s, 14, 3), -EINVAL);	/* 14 is free */
	expect_eq(pvb_nvsp_slots_put(s, 25, 10), -EINVAL);	/* 30.. are free */
	expect_true(pvb_nvsp_slots_taken(s, 5) && pvb_nvsp_slots_taken(s, 9));
	expect_true(pvb_nvsp_slots_taken(s, 15) && pvb_nvsp_slots_taken(s, 29));
	expect_eq(s->nfree, 75);
	at("out of range");
	expect_eq(pvb_nvsp_slots_put(s, 100, 1), -EINVAL);
	expect_eq(pvb_nvsp_slots_put(s, 99, 2), -EINVAL);
	expect_eq(pvb_nvsp_slots_put(s, 5, 0xffffffff), -EINVAL);	/* 5 + count wraps */
	expect_eq(pvb_nvsp_slots_put(s, 0xffffffff, 1), -EINVAL);
	expect_eq(pvb_nvsp_slots_put(s, 0, 0), -EINVAL);
	expect_eq(s->nfree, 75);
	at("what is left frees once");
	expect_eq(pvb_nvsp_slots_put(s, 0, 10), 0);
	expect_eq(pvb_nvsp_slots_put(s, 15, 15), 0);
	expect_taken_only(s, 0, 0);
	at("an allocator never set up, or after fini");
	memset(&none, 0, sizeof(none));
	expect_eq(pvb_nvsp_slots_get(&none, 1), -EINVAL);
	expect_eq(pvb_nvsp_slots_put(&none, 0, 1), -EINVAL);
	expect_false(pvb_nvsp_slots_taken(&none, 0));
	pvb_nvsp_slots_fini(&none);
}

/* Runs across word boundaries, skipping short free runs, fragmentation. */
static void
test_slots_runs(void **state)
{
	struct pvb_nvsp_slots *s = &slots;

	(void)state;
	at("runs over words");
	expect_eq(pvb_nvsp_slots_init(s, 200), 0);
	expect_eq(pvb_nvsp_slots_get(s, 60), 0);
	expect_eq(pvb_nvsp_slots_get(s, 10), 60);	/* 60..69 crosses 64 */
	expect_eq(pvb_nvsp_slots_get(s, 130), 70);	/* 70..199: the end of the last word */
	expect_eq(pvb_nvsp_slots_get(s, 1), -ENOSPC);
	expect_eq(pvb_nvsp_slots_put(s, 60, 10), 0);
	expect_eq(pvb_nvsp_slots_get(s, 11), -ENOSPC);
	expect_eq(pvb_nvsp_slots_get(s, 10), 60);
	expect_taken_only(s, 0, 200);
	pvb_nvsp_slots_fini(s);

	at("short runs skipped");
	expect_eq(pvb_nvsp_slots_init(s, 128), 0);
	expect_eq(pvb_nvsp_slots_get(s, 128), 0);
	expect_eq(pvb_nvsp_slots_put(s, 10, 3), 0);
	expect_eq(pvb_nvsp_slots_put(s, 20, 5), 0);
	expect_eq(pvb_nvsp_slots_put(s, 100, 5), 0);
	expect_eq(pvb_nvsp_slots_get(s, 4), 20);	/* 10..12 is too short */
	expect_eq(pvb_nvsp_slots_get(s, 5), 100);	/* 24 is one slot: left alone */
	expect_eq(pvb_nvsp_slots_get(s, 3), 10);	/* the lowest run that fits */
	expect_eq(s->nfree, 1);
	expect_false(pvb_nvsp_slots_taken(s, 24));
	pvb_nvsp_slots_fini(s);

	at("fragmented: 2 free, not adjacent");
	expect_eq(pvb_nvsp_slots_init(s, 4), 0);
	expect_eq(pvb_nvsp_slots_get(s, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 1), 1);
	expect_eq(pvb_nvsp_slots_get(s, 1), 2);
	expect_eq(pvb_nvsp_slots_get(s, 1), 3);
	expect_eq(pvb_nvsp_slots_put(s, 0, 1), 0);
	expect_eq(pvb_nvsp_slots_put(s, 2, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 2), -ENOSPC);
	expect_eq(s->nfree, 2);
	expect_true(pvb_nvsp_slots_taken(s, 1) && pvb_nvsp_slots_taken(s, 3));
	expect_eq(pvb_nvsp_slots_get(s, 1), 2);	/* freed last, handed out first */
	expect_eq(pvb_nvsp_slots_get(s, 1), 0);
}

/* Runs take the lowest place they fit and never wrap from the last slot to slot 0. */
static void
test_slots_no_wrap(void **state)
{
	struct pvb_nvsp_slots *s = &slots;

	(void)state;
	at("lowest run");
	expect_eq(pvb_nvsp_slots_init(s, 8), 0);
	expect_eq(pvb_nvsp_slots_get(s, 6), 0);
	expect_eq(pvb_nvsp_slots_put(s, 0, 6), 0);
	expect_eq(pvb_nvsp_slots_get(s, 3), 0);
	expect_eq(pvb_nvsp_slots_get(s, 2), 3);
	expect_eq(pvb_nvsp_slots_get(s, 3), 5);	/* ends at 8 */
	expect_taken_only(s, 0, 8);

	at("no run across the end");
	expect_eq(pvb_nvsp_slots_put(s, 6, 2), 0);
	expect_eq(pvb_nvsp_slots_put(s, 0, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 3), -ENOSPC);	/* 6, 7, 0 are not adjacent */
	expect_eq(pvb_nvsp_slots_get(s, 2), 6);
	expect_eq(pvb_nvsp_slots_get(s, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 1), -ENOSPC);
}

/* About a million slots, one at a time: a word scan each, in order. */
static void
test_slots_large(void **state)
{
	struct pvb_nvsp_slots *s = &slots;
	const uint32_t n = (1u << 20) + 5;
	uint32_t i;
	int64_t got;

	(void)state;
	at("init %u", n);
	expect_eq(pvb_nvsp_slots_init(s, n), 0);
	for (i = 0; i < n; i++) {
		got = pvb_nvsp_slots_get(s, 1);
		if (got != i)
			fail_msg("get %u returned %" PRId64, i, got);
	}
	at("full");
	expect_eq(pvb_nvsp_slots_get(s, 1), -ENOSPC);
	expect_eq(pvb_nvsp_slots_put(s, 777777, 1), 0);
	expect_eq(pvb_nvsp_slots_put(s, 3, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 1), 3);
	expect_eq(pvb_nvsp_slots_get(s, 1), 777777);
	expect_eq(pvb_nvsp_slots_put(s, 0, n), 0);
	expect_eq(s->nfree, n);
	expect_eq(pvb_nvsp_slots_get(s, n), 0);
	expect_eq(pvb_nvsp_slots_put(s, n - 64, 64), 0);
	expect_eq(pvb_nvsp_slots_get(s, 64), n - 64);
}

static uint32_t xorshift(uint32_t *x);

/* Free a, b, c one by one: get hands back c, b, a, then the lowest never used. */
static void
test_slots_lifo(void **state)
{
	struct pvb_nvsp_slots *s = &slots;
	uint32_t i;

	(void)state;
	expect_eq(pvb_nvsp_slots_init(s, 100), 0);
	for (i = 0; i < 10; i++)
		expect_eq(pvb_nvsp_slots_get(s, 1), i);
	at("c, b, a");
	expect_eq(pvb_nvsp_slots_put(s, 7, 1), 0);
	expect_eq(pvb_nvsp_slots_put(s, 2, 1), 0);
	expect_eq(pvb_nvsp_slots_put(s, 5, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 1), 5);
	expect_eq(pvb_nvsp_slots_get(s, 1), 2);
	expect_eq(pvb_nvsp_slots_get(s, 1), 7);
	expect_eq(pvb_nvsp_slots_get(s, 1), 10);
	expect_taken_only(s, 0, 11);

	at("a double free is refused and not remembered twice");
	expect_eq(pvb_nvsp_slots_put(s, 4, 1), 0);
	expect_eq(pvb_nvsp_slots_put(s, 4, 1), -EINVAL);
	expect_eq(s->nfree, 90);
	expect_eq(pvb_nvsp_slots_get(s, 1), 4);
	expect_eq(pvb_nvsp_slots_get(s, 1), 11);	/* not 4 again */
	expect_taken_only(s, 0, 12);
}

/* LIFO entries whose slots a run took meanwhile are skipped, not handed out twice. */
static void
test_slots_stale(void **state)
{
	struct pvb_nvsp_slots *s = &slots;
	uint32_t i;

	(void)state;
	expect_eq(pvb_nvsp_slots_init(s, 64), 0);
	for (i = 0; i < 8; i++)
		expect_eq(pvb_nvsp_slots_get(s, 1), i);
	at("a run takes 3, 4, 5 while the LIFO holds them");
	expect_eq(pvb_nvsp_slots_put(s, 3, 1), 0);
	expect_eq(pvb_nvsp_slots_put(s, 4, 1), 0);
	expect_eq(pvb_nvsp_slots_put(s, 5, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 3), 3);
	expect_eq(s->depth, 3);
	expect_eq(pvb_nvsp_slots_get(s, 1), 8);	/* 5, 4, 3 are stale: skipped */
	expect_eq(s->depth, 0);
	expect_taken_only(s, 0, 9);

	at("a stale entry under a live one");
	expect_eq(pvb_nvsp_slots_put(s, 1, 1), 0);
	expect_eq(pvb_nvsp_slots_put(s, 2, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 2), 1);	/* takes 1 and 2 */
	expect_eq(pvb_nvsp_slots_put(s, 6, 1), 0);
	expect_eq(pvb_nvsp_slots_get(s, 1), 6);
	expect_eq(pvb_nvsp_slots_get(s, 1), 9);	/* 2 and 1 are stale */
	expect_taken_only(s, 0, 10);
}

/* A full LIFO forgets its oldest entries; the scan still finds those slots, lowest first. */
static void
test_slots_lifo_bound(void **state)
{
	struct pvb_nvsp_slots *s = &slots;
	const uint32_t n = 2 * PVB_NVSP_SLOTS_LIFO_MAX, freed = PVB_NVSP_SLOTS_LIFO_MAX + 76;
	uint32_t i;
	int64_t got;

	(void)state;
	expect_eq(pvb_nvsp_slots_init(s, n), 0);
	expect_eq(s->cap, PVB_NVSP_SLOTS_LIFO_MAX);
	expect_eq(pvb_nvsp_slots_get(s, n), 0);
	for (i = 0; i < freed; i++)
		expect_eq(pvb_nvsp_slots_put(s, i, 1), 0);
	expect_eq(s->depth, PVB_NVSP_SLOTS_LIFO_MAX);
	at("the newest %u, newest first", PVB_NVSP_SLOTS_LIFO_MAX);
	for (i = 0; i < PVB_NVSP_SLOTS_LIFO_MAX; i++) {
		got = pvb_nvsp_slots_get(s, 1);
		if (got != freed - 1 - i)
			fail_msg("get %u returned %" PRId64, i, got);
	}
	at("then the forgotten ones, lowest first");
	for (i = 0; i < 76; i++)
		expect_eq(pvb_nvsp_slots_get(s, 1), i);
	expect_eq(pvb_nvsp_slots_get(s, 1), -ENOSPC);
}

/*
 * At most K slots in flight, freed in random order, 10^5 times: the slots
 * ever handed out are exactly 0..K-1. A slot never used is only taken when
 * nothing freed is left and every slot below it is in flight, so this holds
 * for K above the LIFO's bound too.
 */
static void
slots_working_set(struct pvb_nvsp_slots *s, uint32_t n, uint32_t k, uint32_t x)
{
	static uint32_t inflight[4096];
	uint32_t cnt = 0, max = 0, cycle, j;
	int64_t got;

	at("n %u, K %u", n, k);
	expect_eq(pvb_nvsp_slots_init(s, n), 0);
	for (cycle = 0; cycle < 100000; cycle++) {
		while (cnt < k && (cnt == 0 || xorshift(&x) % 4 != 0)) {
			got = pvb_nvsp_slots_get(s, 1);
			if (got < 0)
				fail_msg("cycle %u: get %" PRId64, cycle, got);
			inflight[cnt++] = (uint32_t)got;
			max = (uint32_t)got > max ? (uint32_t)got : max;
		}
		for (j = 1 + xorshift(&x) % 4; j > 0 && cnt > 0; j--) {
			uint32_t at_ = xorshift(&x) % cnt;

			expect_eq(pvb_nvsp_slots_put(s, inflight[at_], 1), 0);
			inflight[at_] = inflight[--cnt];
		}
	}
	if (max >= k)
		fail_msg("slot %u handed out with at most %u in flight", max, k);
	expect_eq(max, k - 1);
	pvb_nvsp_slots_fini(s);
}

static void
test_slots_working_set(void **state)
{
	(void)state;
	slots_working_set(&slots, 8192, 64, 0x9e3779b9);
	slots_working_set(&slots, 8192, 1, 0x12345);
	slots_working_set(&slots, 4096, PVB_NVSP_SLOTS_LIFO_MAX + 500, 0xdeadbeef);
}

/*
 * The reference: a bool per slot and a list of freed single slots, searched
 * slot by slot with the rules of the header: get(1) takes the newest listed
 * slot still free (dropping the ones on the way), else the lowest free slot;
 * a run the lowest place it fits, never wrapping. The list keeps the newest
 * min(n, PVB_NVSP_SLOTS_LIFO_MAX) entries.
 */
#define REF_N	300u

struct ref {
	bool taken[REF_N];
	uint32_t nfree;
	uint32_t nlist;
	uint32_t list[REF_N];		/* oldest first */
};

static bool
ref_fits(const struct ref *r, uint32_t start, uint32_t count)
{
	uint32_t i;

	if (count > REF_N - start)
		return false;
	for (i = start; i < start + count; i++)
		if (r->taken[i])
			return false;
	return true;
}

static uint32_t
ref_pick(struct ref *r, uint32_t count)
{
	uint32_t start;

	while (count == 1 && r->nlist > 0) {
		start = r->list[--r->nlist];
		if (!r->taken[start])
			return start;
	}
	for (start = 0; start < REF_N; start++)
		if (ref_fits(r, start, count))
			return start;
	return UINT32_MAX;
}

static int64_t
ref_get(struct ref *r, uint32_t count)
{
	uint32_t start = count <= r->nfree ? ref_pick(r, count) : UINT32_MAX, k;

	if (start == UINT32_MAX)
		return -ENOSPC;
	for (k = start; k < start + count; k++)
		r->taken[k] = true;
	r->nfree -= count;
	return start;
}

static int
ref_put(struct ref *r, uint32_t first, uint32_t count)
{
	uint32_t i;

	if (count == 0 || first >= REF_N || count > REF_N - first)
		return -EINVAL;
	for (i = first; i < first + count; i++)
		if (!r->taken[i])
			return -EINVAL;
	for (i = first; i < first + count; i++)
		r->taken[i] = false;
	r->nfree += count;
	if (count == 1) {
		if (r->nlist == REF_N) {
			memmove(r->list, r->list + 1, (REF_N - 1) * sizeof(r->list[0]));
			r->nlist--;
		}
		r->list[r->nlist++] = first;
	}
	return 0;
}

static uint32_t
xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void
expect_same_as_ref(const struct pvb_nvsp_slots *s, const struct ref *r, unsigned int op)
{
	uint32_t i;

	if (s->nfree != r->nfree)
		fail_msg("op %u: nfree %u, reference %u", op, s->nfree, r->nfree);
	for (i = 0; i < REF_N; i++)
		if (pvb_nvsp_slots_taken(s, i) != r->taken[i])
			fail_msg("op %u: slot %u taken %d, reference %d", op, i,
				 pvb_nvsp_slots_taken(s, i), r->taken[i]);
}

/* A random taken slot and the taken run after it (a valid put), or any range. */
static void
pick_put(const struct ref *r, uint32_t *x, uint32_t *first, uint32_t *count)
{
	uint32_t i, k;

	*first = xorshift(x) % (REF_N + 4);
	*count = 1 + xorshift(x) % 8;
	if (xorshift(x) % 4 == 0)
		return;
	for (k = 0; k < REF_N; k++) {
		i = (*first + k) % REF_N;
		if (r->taken[i])
			break;
	}
	*first = i;
	for (k = 1; k < *count && i + k < REF_N && r->taken[i + k]; k++)
		;
	*count = k;
}

static void
test_slots_random(void **state)
{
	struct pvb_nvsp_slots *s = &slots;
	static struct ref r;
	uint32_t x = 0x2545f491, first, count, op;
	int64_t got, want;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.nfree = REF_N;
	expect_eq(pvb_nvsp_slots_init(s, REF_N), 0);
	for (op = 0; op < 100000; op++) {
		if (xorshift(&x) % 2 == 0) {
			/* mostly small runs, now and then one over a word */
			count = 1 + xorshift(&x) % (xorshift(&x) % 16 == 0 ? 80 : 4);
			want = ref_get(&r, count);
			got = pvb_nvsp_slots_get(s, count);
			if (got != want)
				fail_msg("op %u: get(%u) = %" PRId64 ", reference %" PRId64, op,
					 count, got, want);
		} else {
			pick_put(&r, &x, &first, &count);
			want = ref_put(&r, first, count);
			got = pvb_nvsp_slots_put(s, first, count);
			if (got != want)
				fail_msg("op %u: put(%u, %u) = %" PRId64 ", reference %" PRId64,
					 op, first, count, got, want);
		}
		if (op % 997 == 0)
			expect_same_as_ref(s, &r, op);
	}
	expect_same_as_ref(s, &r, op);
}

/* ----------------------------------------------------------------------------
 * Multiple channels: SUBCHANNEL (133), the send table (134), the RSS objects
 */

static uint32_t
le32_at(const uint8_t *b, uint32_t at)
{
	return pvb_nvsp_get_le32(b + at);
}

/* 133 both ways and 134 as a host writes it, then refused as a hostile host could write it. */
static void
test_nvsp_subchannel_table(void **state)
{
	struct pvb_nvsp_msg m = { .type = PVB_NVSP_SUBCHANNEL }, d;
	uint8_t b[PVB_NVSP_MSG_SIZE], t[PVB_NVSP_INDIRECTION_SIZE + 16];
	uint32_t table[PVB_NVSP_INDIRECTION_COUNT], i;

	(void)state;
	at("SUBCHANNEL request");
	m.u.subchannel.op_or_status = PVB_NVSP_SUBCH_ALLOCATE;
	m.u.subchannel.num = 3;
	expect_eq(pvb_nvsp_encode(&m, b), PVB_NVSP_MSG_SIZE);
	expect_eq(le32_at(b, 0), 133);
	expect_eq(le32_at(b, 4), 1);
	expect_eq(le32_at(b, 8), 3);
	expect_true(bytes_all(b + 12, sizeof(b) - 12, 0));
	expect_eq(pvb_nvsp_decode(exact(b, 12), 12, &d), 0);
	expect_eq(d.u.subchannel.op_or_status, 1);
	expect_eq(d.u.subchannel.num, 3);
	at("SUBCHANNEL cut short");
	expect_eq(pvb_nvsp_decode(exact(b, 11), 11, &d), -EPROTO);

	at("send table, 3 channels");
	memset(t, POISON, sizeof(t));
	expect_eq(pvb_nvsp_table_encode(t, 3), 76);
	expect_eq(le32_at(t, 0), 134);
	expect_eq(le32_at(t, 4), 16);
	expect_eq(le32_at(t, 8), 12);
	for (i = 0; i < 16; i++)
		expect_eq(le32_at(t, 12 + 4 * i), i % 3);
	expect_eq(t[76], POISON);
	expect_eq(pvb_nvsp_decode(exact(t, 76), 76, &d), 0);
	expect_eq(d.u.table.count, 16);
	expect_eq(pvb_nvsp_table_decode(exact(t, 76), 76, 3, table), 0);
	for (i = 0; i < 16; i++)
		expect_eq(table[i], i % 3);
	at("an entry beyond the guest's channels");
	expect_eq(pvb_nvsp_table_decode(exact(t, 76), 76, 2, table), -EPROTO);
	at("cut short");
	expect_eq(pvb_nvsp_table_decode(exact(t, 75), 75, 3, table), -EPROTO);
	expect_eq(pvb_nvsp_table_decode(exact(t, 11), 11, 3, table), -EPROTO);
	at("offset 0 or past the end: read after the header, as Linux does");
	put32(t, 8, 0);
	expect_eq(pvb_nvsp_table_decode(exact(t, 76), 76, 3, table), 0);
	put32(t, 8, 0xfffffff0u);
	expect_eq(pvb_nvsp_table_decode(exact(t, 76), 76, 3, table), 0);
	at("offset further in, inside the message");
	memmove(t + 16, t + 12, 64);
	put32(t, 8, 16);
	expect_eq(pvb_nvsp_table_decode(exact(t, 80), 80, 3, table), 0);
	expect_eq(table[15], 0);
	at("count other than 16");
	put32(t, 4, 15);
	expect_eq(pvb_nvsp_table_decode(exact(t, 80), 80, 3, table), -EPROTO);
	put32(t, 4, 0xffffffffu);
	expect_eq(pvb_nvsp_table_decode(exact(t, 80), 80, 3, table), -EPROTO);
}

static void
rss_sample(struct pvb_rss_conf *c, uint32_t nchan)
{
	uint32_t i;

	memset(c, 0, sizeof(*c));
	c->enabled = true;
	c->hash_types = PVB_RSS_HASH_SUPPORTED;
	for (i = 0; i < PVB_NDIS_RSS_KEY_SIZE; i++)
		c->key[i] = (uint8_t)(0x6d + 7 * i);
	for (i = 0; i < PVB_NDIS_RSS_TABLE_N; i++)
		c->table[i] = (uint8_t)(i % nchan);
}

/* NDIS_RECEIVE_SCALE_PARAMETERS byte for byte, the round trip, and every refusal. */
static void
test_ndis_rss_params(void **state)
{
	static const struct {
		const char *name;
		uint32_t at, v, width;	/* width 2 or 4 */
		uint32_t len;
		int rc;
	} bad[] = {
		{ "object type of the capabilities", 0, 0x88, 1, 592, -EPROTO },
		{ "revision 1", 1, 1, 1, 592, -EPROTO },
		{ "header size above the buffer", 2, 600, 2, 592, -EPROTO },
		{ "table inside the fixed part", 16, 8, 4, 592, -EPROTO },
		{ "table past the end", 16, 100, 4, 592, -EPROTO },
		{ "table offset wraps", 16, 0xfffffffcu, 4, 592, -EPROTO },
		{ "key past the end", 24, 560, 4, 592, -EPROTO },
		{ "table size not in u32s", 12, 510, 2, 592, -EPROTO },
		{ "another hash function", 8, 0x302, 4, 592, -ENOTSUP },
		{ "64 entries", 12, 256, 2, 592, -ENOTSUP },
		{ "a 16-byte key", 20, 16, 2, 592, -ENOTSUP },
		{ "only hash types this host does not compute", 8, 0x801, 4, 592, -ENOTSUP },
		{ "an entry beyond the channels", 40 + 4 * 77, 4, 4, 592, -EPROTO },
		{ "an entry beyond any channel", 40, 0xffffffffu, 4, 592, -EPROTO },
		{ "cut short", 0, 0x89, 1, 500, -EPROTO },
		{ "shorter than the fixed part", 0, 0x89, 1, 39, -EPROTO },
	};
	uint8_t b[PVB_NDIS_RSS_PARAMS_FULL + 8], w[PVB_NDIS_RSS_PARAMS_FULL];
	struct pvb_rss_conf c, d, keep;
	uint32_t i;

	(void)state;
	at("encode");
	rss_sample(&c, 4);
	memset(b, POISON, sizeof(b));
	expect_eq(pvb_ndis_rss_params_encode(b, &c), 592);
	expect_eq(b[592], POISON);
	expect_eq(b[0], 0x89);
	expect_eq(b[1], 2);
	expect_eq(b[2] | b[3] << 8, 40);
	expect_eq(b[4] | b[5] << 8, 0);			/* flags */
	expect_eq(le32_at(b, 8), 0x1701);		/* Toeplitz | IPv4 TCP4 IPv6 TCP6 */
	expect_eq(b[12] | b[13] << 8, 512);
	expect_eq(le32_at(b, 16), 40);
	expect_eq(b[20] | b[21] << 8, 40);
	expect_eq(le32_at(b, 24), 552);
	expect_true(bytes_all(b + 28, 12, 0));
	for (i = 0; i < 128; i++)
		expect_eq(le32_at(b, 40 + 4 * i), i % 4);
	expect_eq(memcmp(b + 552, c.key, 40), 0);
	at("decode");
	memset(&d, 0xee, sizeof(d));
	expect_eq(pvb_ndis_rss_params_decode(exact(b, 592), 592, 4, &d), 0);
	expect_true(d.enabled);
	expect_eq(d.hash_types, c.hash_types);
	expect_eq(memcmp(d.key, c.key, 40), 0);
	expect_eq(memcmp(d.table, c.table, 128), 0);
	at("disabled");
	c.enabled = false;
	pvb_ndis_rss_params_encode(w, &c);
	expect_eq(w[4], PVB_NDIS_RSS_FLAG_DISABLE);
	expect_eq(pvb_ndis_rss_params_decode(exact(w, 40), 40, 1, &d), 0);
	expect_false(d.enabled);
	for (i = 0; i < DIM(bad); i++) {
		at("%s", bad[i].name);
		memcpy(w, b, sizeof(w));
		if (bad[i].width == 1)
			w[bad[i].at] = (uint8_t)bad[i].v;
		else if (bad[i].width == 2)
			w[bad[i].at] = (uint8_t)bad[i].v, w[bad[i].at + 1] = (uint8_t)(bad[i].v >> 8);
		else
			put32(w, bad[i].at, bad[i].v);
		memset(&keep, 0x5a, sizeof(keep));
		d = keep;
		expect_eq(pvb_ndis_rss_params_decode(exact(w, bad[i].len), bad[i].len, 4, &d),
			  bad[i].rc);
		expect_eq(memcmp(&d, &keep, sizeof(d)), 0);	/* untouched */
		heap_free(NULL);
	}
	at("entries below 2 channels only");
	expect_eq(pvb_ndis_rss_params_decode(exact(b, 592), 592, 2, &d), -EPROTO);
}

/* NDIS_RECEIVE_SCALE_CAPABILITIES per NDIS version, and what a guest refuses. */
static void
test_ndis_rss_caps(void **state)
{
	uint8_t b[24];
	uint32_t nrxr = 0, types = 0;

	(void)state;
	at("NDIS 6.30");
	memset(b, POISON, sizeof(b));
	expect_eq(pvb_ndis_rss_caps_encode(b, PVB_NDIS_VER_6_30, 4), 20);
	expect_eq(b[0], 0x88);
	expect_eq(b[1], 2);
	expect_eq(b[2] | b[3] << 8, 18);
	expect_eq(le32_at(b, 8), 4);
	expect_eq(le32_at(b, 12), 4);
	expect_eq(b[16] | b[17] << 8, 128);
	expect_eq(b[20], POISON);
	expect_eq(pvb_ndis_rss_caps_decode(exact(b, 20), 20, &nrxr, &types), 0);
	expect_eq(nrxr, 4);
	expect_eq(types, PVB_RSS_HASH_SUPPORTED);
	at("NDIS 6.1");
	expect_eq(pvb_ndis_rss_caps_encode(b, PVB_NDIS_VER_6_1, 1), 20);
	expect_eq(b[1], 1);
	expect_eq(b[2] | b[3] << 8, 16);
	expect_eq(pvb_ndis_rss_caps_decode(exact(b, 16), 16, &nrxr, &types), 0);
	expect_eq(nrxr, 1);
	at("no queues");
	put32(b, 12, 0);
	expect_eq(pvb_ndis_rss_caps_decode(exact(b, 16), 16, &nrxr, &types), -EPROTO);
	at("cut short, size above the buffer, another object");
	expect_eq(pvb_ndis_rss_caps_decode(exact(b, 15), 15, &nrxr, &types), -EPROTO);
	put32(b, 12, 2);
	b[2] = 40;
	expect_eq(pvb_ndis_rss_caps_decode(exact(b, 20), 20, &nrxr, &types), -EPROTO);
	b[2] = 16;
	b[0] = 0x89;
	expect_eq(pvb_ndis_rss_caps_decode(exact(b, 20), 20, &nrxr, &types), -EPROTO);
}

/* The hash type a frame gets under the enabled types. */
static void
test_rss_hash_type(void **state)
{
	(void)state;
	at("hash types");
	expect_eq(pvb_rss_hash_type(PVB_RSS_HASH_SUPPORTED, false, true), PVB_NDIS_HASH_TCP_IPV4);
	expect_eq(pvb_rss_hash_type(PVB_RSS_HASH_SUPPORTED, false, false), PVB_NDIS_HASH_IPV4);
	expect_eq(pvb_rss_hash_type(PVB_RSS_HASH_SUPPORTED, true, true), PVB_NDIS_HASH_TCP_IPV6);
	expect_eq(pvb_rss_hash_type(PVB_NDIS_HASH_IPV6, true, true), PVB_NDIS_HASH_IPV6);
	expect_eq(pvb_rss_hash_type(PVB_NDIS_HASH_TCP_IPV4, false, false), 0);
	expect_eq(pvb_rss_hash_type(PVB_NDIS_HASH_TCP_IPV4, true, true), 0);
}

#define TEST(f)		cmocka_unit_test_teardown(f, heap_free)
#define SLOTS_TEST(f)	cmocka_unit_test_teardown(f, slots_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_nvsp_encode),
		TEST(test_nvsp_decode),
		TEST(test_nvsp_truncated),
		TEST(test_nvsp_unknown),
		TEST(test_nvsp_subchannel_table),
		TEST(test_ndis_rss_params),
		TEST(test_ndis_rss_caps),
		TEST(test_rss_hash_type),
		TEST(test_data_encode),
		TEST(test_data_encode_plain),
		TEST(test_data_decode),
		TEST(test_data_round_trip),
		TEST(test_data_openvmm_layout),
		TEST(test_data_violations),
		TEST(test_data_ppi_walk),
		TEST(test_data_offload_ppis),
		TEST(test_data_truncated),
		TEST(test_data_stream),
		TEST(test_ctl_encode),
		TEST(test_ctl_decode),
		TEST(test_ctl_encode_args),
		TEST(test_ctl_violations),
		SLOTS_TEST(test_slots_basic),
		SLOTS_TEST(test_slots_bad_put),
		SLOTS_TEST(test_slots_runs),
		SLOTS_TEST(test_slots_no_wrap),
		SLOTS_TEST(test_slots_large),
		SLOTS_TEST(test_slots_lifo),
		SLOTS_TEST(test_slots_stale),
		SLOTS_TEST(test_slots_lifo_bound),
		SLOTS_TEST(test_slots_working_set),
		SLOTS_TEST(test_slots_random),
	};

	return cmocka_run_group_tests_name("unit", tests, NULL, NULL);
}
