/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * pvb_swol: checksums and TCP segmentation in software. Frames are built
 * here, byte by byte; what comes out is checked with a checksum written
 * here (RFC 1071 over the pseudo-header and the segment), not with the
 * DPDK helpers pvb_swol uses, and the segments' payloads must concatenate
 * to the input's, with the sequence numbers, lengths and flags a TSO
 * engine gives (RFC 9293 for TCP's fields).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "pvb_swol.h"

#define L2	14
#define TCPH	32	/* a TCP header with 12 bytes of options (timestamps) */
#define MAXF	(L2 + 40 + TCPH + 65000)

static struct rte_mempool *pool;
static struct pvb_swol sw;
static uint8_t frame[MAXF];

/* RFC 1071: the one's complement sum of @p len bytes, added to @p sum. */
static uint32_t
sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The frame @p f of @p len bytes verifies: IPv4 header and TCP/UDP checksum. */
static void
assert_cksums(const uint8_t *f, uint32_t len, int v6, uint8_t proto)
{
	uint32_t l3 = v6 ? 40 : 20, l4len, s;
	uint8_t ph[4];

	if (!v6) {
		assert_int_equal(fold(sum16(f + L2, 20, 0)), 0xffff);
		l4len = (uint32_t)(f[L2 + 2] << 8 | f[L2 + 3]) - 20;
		s = sum16(f + L2 + 12, 8, 0);
	} else {
		l4len = (uint32_t)(f[L2 + 4] << 8 | f[L2 + 5]);
		s = sum16(f + L2 + 8, 32, 0);
	}
	assert_int_equal(L2 + l3 + l4len, len);
	ph[0] = 0;
	ph[1] = proto;
	ph[2] = (uint8_t)(l4len >> 8);
	ph[3] = (uint8_t)l4len;
	s = sum16(ph, 4, s);
	assert_int_equal(fold(sum16(f + L2 + l3, l4len, s)), 0xffff);
}

/* The @p len bytes of @p m in @p out, whether or not they are contiguous in it. */
static void
flat(const struct rte_mbuf *m, uint32_t len, uint8_t *out)
{
	const void *p = rte_pktmbuf_read(m, 0, len, out);

	assert_non_null(p);
	if (p != out)
		memcpy(out, p, len);
}

/* Ethernet, IP (v4 or v6), TCP with options or UDP, @p payload bytes; checksums left garbage. */
static uint32_t
build(int v6, uint8_t proto, uint32_t payload)
{
	uint32_t l3 = v6 ? 40 : 20, l4 = proto == IPPROTO_TCP ? TCPH : 8, i;
	uint32_t len = L2 + l3 + l4 + payload;
	uint8_t *ip = frame + L2, *th = ip + l3;

	memset(frame, 0, L2 + l3 + l4);
	memcpy(frame, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	frame[12] = v6 ? 0x86 : 0x08;
	frame[13] = v6 ? 0xdd : 0x00;
	if (!v6) {
		ip[0] = 0x45;
		ip[2] = (uint8_t)((len - L2) >> 8);
		ip[3] = (uint8_t)(len - L2);
		ip[4] = 0x12;	/* id 0x1234 */
		ip[5] = 0x34;
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, "\x0a\0\0\x01\x0a\0\0\x02", 8);
		ip[10] = 0xde;	/* wrong on purpose: valid only where the request asks for it */
	} else {
		ip[0] = 0x60;
		ip[4] = (uint8_t)((len - L2 - 40) >> 8);
		ip[5] = (uint8_t)(len - L2 - 40);
		ip[6] = proto;
		ip[7] = 64;
		ip[8] = 0xfd;
		ip[23] = 1;
		ip[24] = 0xfd;
		ip[39] = 2;
	}
	th[0] = 0x30;	/* ports 0x3039 -> 0x0050 */
	th[1] = 0x39;
	th[3] = 0x50;
	if (proto == IPPROTO_TCP) {
		th[4] = 0x10;	/* seq 0x10000000 */
		th[12] = (TCPH / 4) << 4;
		th[13] = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG;
		th[20] = 1;	/* NOP, NOP, timestamps */
		th[21] = 1;
		th[22] = 8;
		th[23] = 10;
		th[16] = 0xbe;
	} else {
		th[4] = (uint8_t)((8 + payload) >> 8);
		th[5] = (uint8_t)(8 + payload);
		th[6] = 0xbe;
	}
	for (i = 0; i < payload; i++)
		th[l4 + i] = (uint8_t)(i * 7 + (i >> 8));
	return len;
}

/* @p len bytes of frame in a chain of mbufs of at most @p seg bytes each. */
static struct rte_mbuf *
to_mbuf(uint32_t len, uint32_t seg, int v6, uint8_t proto, uint64_t flags)
{
	struct rte_mbuf *m = NULL, *t;
	uint32_t off, k;

	for (off = 0; off < len; off += k) {
		k = RTE_MIN(seg, len - off);
		t = rte_pktmbuf_alloc(pool);
		assert_non_null(t);
		assert_true(k <= rte_pktmbuf_tailroom(t));
		memcpy(rte_pktmbuf_append(t, (uint16_t)k), frame + off, k);
		if (m == NULL)
			m = t;
		else
			assert_int_equal(rte_pktmbuf_chain(m, t), 0);
	}
	m->l2_len = L2;
	m->l3_len = v6 ? 40 : 20;
	m->l4_len = proto == IPPROTO_TCP ? TCPH : 8;
	m->ol_flags = flags | (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
	return m;
}

static void
test_cksum_only(void **state)
{
	static const struct { int v6; uint8_t proto; uint64_t f; } c[] = {
		{ 0, IPPROTO_TCP, RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IP_CKSUM },
		{ 0, IPPROTO_UDP, RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IP_CKSUM },
		{ 1, IPPROTO_TCP, RTE_MBUF_F_TX_TCP_CKSUM },
		{ 1, IPPROTO_UDP, RTE_MBUF_F_TX_UDP_CKSUM },
	};
	uint8_t out[2048];
	struct rte_mbuf *m, *o[4];
	unsigned int i;
	uint32_t len;

	(void)state;
	for (i = 0; i < RTE_DIM(c); i++) {
		len = build(c[i].v6, c[i].proto, 1000);
		/* split inside the payload: the sum crosses segments */
		m = to_mbuf(len, 600, c[i].v6, c[i].proto, c[i].f);
		assert_int_equal(pvb_swol_apply(&sw, m, 0, o, 4), 1);
		assert_ptr_equal(o[0], m);
		assert_int_equal(m->ol_flags & PVB_SWOL_FLAGS, 0);
		assert_int_equal(m->pkt_len, len);
		flat(m, len, out);
		assert_cksums(out, len, c[i].v6, c[i].proto);
		rte_pktmbuf_free(m);
	}
}

/* Segment a 64 KB-class TCP frame and check every segment against the input. */
static void
check_gso(int v6, uint32_t payload, uint16_t mss, uint32_t seg)
{
	static uint8_t out[16384];
	uint32_t len = build(v6, IPPROTO_TCP, payload), l3 = v6 ? 40 : 20, hdrs = L2 + l3 + TCPH;
	uint32_t n = (payload + mss - 1) / mss, i, got = 0, k;
	struct rte_mbuf *m, *o[PVB_SWOL_MAX_SEGS];
	uint8_t in_hdr[L2 + 40 + TCPH];
	uint32_t seq;

	memcpy(in_hdr, frame, hdrs);
	m = to_mbuf(len, seg, v6, IPPROTO_TCP, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM);
	m->tso_segsz = mss;
	assert_int_equal(pvb_swol_apply(&sw, m, 0, o, PVB_SWOL_MAX_SEGS), (int)n);
	for (i = 0; i < n; i++) {
		k = RTE_MIN((uint32_t)mss, payload - got);
		assert_int_equal(o[i]->pkt_len, hdrs + k);
		assert_int_equal(o[i]->ol_flags & PVB_SWOL_FLAGS, 0);
		flat(o[i], hdrs + k, out);
		assert_cksums(out, hdrs + k, v6, IPPROTO_TCP);
		/* the payload is the input's, in order */
		assert_memory_equal(out + hdrs, frame + hdrs + got, k);
		/* seq advances by the payload before it; FIN and PSH only on the last */
		memcpy(&seq, out + L2 + l3 + 4, sizeof(seq));	/* unaligned in the frame */
		assert_int_equal(rte_be_to_cpu_32(seq), 0x10000000u + got);
		assert_int_equal(out[L2 + l3 + 13], i == n - 1 ? in_hdr[L2 + l3 + 13] :
				 RTE_TCP_ACK_FLAG);
		/* the options go with every segment */
		assert_memory_equal(out + L2 + l3 + 20, in_hdr + L2 + l3 + 20, TCPH - 20);
		got += k;
	}
	assert_int_equal(got, payload);
	rte_pktmbuf_free_bulk(o, n);
	/* every mbuf back: the input was freed once its segments were */
	assert_int_equal(rte_mempool_in_use_count(pool), 0);
}

static void
test_gso_v4(void **state)
{
	(void)state;
	check_gso(0, 65000, 1448, 2048);
	check_gso(0, 65000, 1448, 16000);	/* payload in the first segment too */
	check_gso(0, 3000, 536, 1500);
}

static void
test_gso_v6(void **state)
{
	(void)state;
	check_gso(1, 65000, 1428, 2048);
	check_gso(1, 9000, 8940, 4096);		/* a segment bigger than a copy mbuf: chained */
	check_gso(1, 100, 1428, 2048);		/* one segment */
}

/* Requests that do not match the headers fail with -EINVAL and leave the frame alone. */
static void
test_bad_requests(void **state)
{
	struct rte_mbuf *m, *o[PVB_SWOL_MAX_SEGS];
	uint32_t len;

	(void)state;
	len = build(0, IPPROTO_UDP, 200);
	m = to_mbuf(len, 2048, 0, IPPROTO_UDP, RTE_MBUF_F_TX_TCP_CKSUM);	/* UDP frame, TCP asked */
	assert_int_equal(pvb_swol_apply(&sw, m, 0, o, 4), -EINVAL);
	m->ol_flags = RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;		/* IPv4 frame, v6 said */
	assert_int_equal(pvb_swol_apply(&sw, m, 0, o, 4), -EINVAL);
	m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
	m->l3_len = 200;							/* headers past the segment */
	assert_int_equal(pvb_swol_apply(&sw, m, 0, o, 4), -EINVAL);
	rte_pktmbuf_free(m);

	len = build(0, IPPROTO_TCP, 1000);
	m = to_mbuf(len, 2048, 0, IPPROTO_TCP, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM);
	m->tso_segsz = 0;
	assert_int_equal(pvb_swol_apply(&sw, m, 0, o, 4), -EINVAL);
	m->tso_segsz = 8;							/* 125 segments > cap */
	assert_int_equal(pvb_swol_apply(&sw, m, 0, o, 4), -E2BIG);
	/* IPv4 total length beyond the frame */
	*rte_pktmbuf_mtod_offset(m, uint16_t *, L2 + 2) = rte_cpu_to_be_16(2000);
	m->tso_segsz = 500;
	assert_int_equal(pvb_swol_apply(&sw, m, 0, o, 4), -EINVAL);
	rte_pktmbuf_free(m);
	assert_int_equal(rte_mempool_in_use_count(pool), 0);
}

static int ext_freed;

static void
ext_free_cb(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
	ext_freed++;
}

/*
 * A frame in an external buffer (a guest's send section): its segments'
 * header mbufs are direct ones of their own, the payload refers to the
 * buffer, and the buffer is released once, when the last segment goes.
 */
static void
test_ext_input(void **state)
{
	static uint8_t ext[16384] __rte_aligned(64);
	uint32_t len = build(0, IPPROTO_TCP, 10000), i;
	struct rte_mbuf_ext_shared_info shinfo = { .free_cb = ext_free_cb };
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool), *o[PVB_SWOL_MAX_SEGS];
	int n;

	(void)state;
	assert_non_null(m);
	memcpy(ext, frame, len);
	rte_mbuf_ext_refcnt_set(&shinfo, 1);
	rte_pktmbuf_attach_extbuf(m, ext, rte_mem_virt2iova(ext), sizeof(ext), &shinfo);
	m->data_off = 0;
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	m->l2_len = L2;
	m->l3_len = 20;
	m->l4_len = TCPH;
	m->tso_segsz = 1448;
	m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
	ext_freed = 0;
	n = pvb_swol_apply(&sw, m, 0, o, PVB_SWOL_MAX_SEGS);
	assert_int_equal(n, 7);
	for (i = 0; i < (uint32_t)n; i++) {
		assert_false(o[i]->ol_flags & (RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT));
		assert_non_null(o[i]->next);
	}
	assert_int_equal(ext_freed, 0);
	rte_pktmbuf_free_bulk(o, (unsigned int)n);
	assert_int_equal(ext_freed, 1);
	assert_int_equal(rte_mempool_in_use_count(pool), 0);
}

/* A peer that segments gets the request; only the IPv4 header checksum it lacks is done here. */
static void
test_tso_kept(void **state)
{
	uint32_t len = build(0, IPPROTO_TCP, 5000);
	struct rte_mbuf *m = to_mbuf(len, 2048, 0, IPPROTO_TCP, RTE_MBUF_F_TX_TCP_SEG |
				     RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IP_CKSUM), *o[4];
	uint8_t hdr[20];

	(void)state;
	m->tso_segsz = 1448;
	assert_int_equal(pvb_swol_apply(&sw, m, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK,
					o, 4), 1);
	assert_ptr_equal(o[0], m);
	assert_int_equal(m->ol_flags & PVB_SWOL_FLAGS, RTE_MBUF_F_TX_TCP_SEG |
			 RTE_MBUF_F_TX_TCP_CKSUM);
	assert_int_equal(m->pkt_len, len);
	memcpy(hdr, rte_pktmbuf_mtod_offset(m, void *, L2), sizeof(hdr));
	assert_int_equal(fold(sum16(hdr, sizeof(hdr), 0)), 0xffff);
	rte_pktmbuf_free(m);
}

/* What the peer takes is left to it: checksums alone when it segments, nothing when it does both. */
static void
test_peer_takes(void **state)
{
	uint32_t len = build(0, IPPROTO_TCP, 4000);
	struct rte_mbuf *m = to_mbuf(len, 2048, 0, IPPROTO_TCP,
				     RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM);

	(void)state;
	m->tso_segsz = 1448;
	assert_false(pvb_swol_needed(m, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM));
	assert_false(pvb_swol_needed(m, RTE_MBUF_F_TX_TCP_SEG));
	assert_true(pvb_swol_needed(m, RTE_MBUF_F_TX_TCP_CKSUM));
	m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
	assert_false(pvb_swol_needed(m, RTE_MBUF_F_TX_TCP_CKSUM));
	assert_true(pvb_swol_needed(m, 0));
	m->ol_flags = RTE_MBUF_F_TX_IPV4;
	assert_false(pvb_swol_needed(m, 0));
	rte_pktmbuf_free(m);
}

static int
setup(void **state)
{
	char *argv[] = { "test_swol", "--no-huge", "--no-shconf", "--no-pci", "-l", "0",
			 "--log-level", "lib.eal:error", "-m", "256" };

	(void)state;
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("swol_test", 256, 0, 0, RTE_PKTMBUF_HEADROOM + 16000,
				       SOCKET_ID_ANY);
	if (pool == NULL)
		return -1;
	return pvb_swol_init(&sw, "swt", SOCKET_ID_ANY);
}

static int
teardown(void **state)
{
	(void)state;
	pvb_swol_fini(&sw);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cksum_only),
		cmocka_unit_test(test_gso_v4),
		cmocka_unit_test(test_gso_v6),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_peer_takes),
		cmocka_unit_test(test_ext_input),
		cmocka_unit_test(test_tso_kept),
	};

	/* a setup that fails must fail the suite, not run no test and pass */
	if (setup(NULL) != 0) {
		fprintf(stderr, "test_swol: EAL or pool set-up failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, teardown);
}
