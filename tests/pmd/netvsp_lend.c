/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * netvsp_lend: net_pvb_netvsp's own API (rte_pmd_pvb_netvsp.h) against a
 * live guest. dts/test_netvsp_lend.py runs it with both ends in this one
 * process: the host port (this program links its PMD) and a guest port
 * (net_pvb_netvsc, loaded with -d) connected through the socket.
 *
 *   netvsp_lend [EAL args: --vdev net_pvb_netvsp0,path=S,copybreak=0
 *               -d .../librte_net_pvb_netvsc.so --vdev net_pvb_netvsc0,path=S] --
 *               [--frames N] [--queues Q]
 *
 * Before a guest: the region call says -ENOTCONN and the slot pool hands
 * out nothing. With the guest up: the region holds every mbuf the pool
 * hands out; N frames of every size from 60 to 1514 bytes are written into
 * slot-pool mbufs and sent on the host port: the guest receives each one
 * byte for byte, and the host counts them all as sent in place
 * (tx_ref_packets), none copied; a frame in an ordinary mbuf is copied. The
 * guest's frees complete the slots: every mbuf comes back to the pool. Then
 * the guest goes and comes back with lent mbufs still held: the region's
 * generation changes, and the held frames, sent to the new guest, are
 * copied (their slots belong to the old channel), received intact, and
 * freed back into the pool.
 *
 * With --queues Q (both ports' `queues` devarg too), both ports have Q queue
 * pairs and the guest RSS over them: the frames (IPv4, each from its own
 * source address) are spread over the channels by the host, so lent slots go
 * to the guest on subchannels too and come back from their completions; the
 * guest polls every queue, each must get some, and each frame is matched by
 * the index in its source address (queues do not keep the order across them).
 *
 * One line sums it up: "netvsp_lend: result=ok|FAIL key=value ...". Exit 0
 * when every check held, 1 when one failed (each said on a FAIL line), 2
 * when it could not run.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "rte_pmd_pvb_netvsp.h"

#define PROG		"netvsp_lend"
#define BURST		32
#define POOL_N		256
#define HELD		8		/* lent mbufs held across the guest's reconnection */
#define WAIT_S		10

static unsigned int failures;
static uint16_t host, guest;
static uint16_t nq = 1;			/* queue pairs of both ports */
static uint64_t per_queue[RTE_MAX_QUEUES_PER_PORT];	/* frames the guest got on each */

static void __rte_format_printf(1, 2)
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf(PROG ": FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

static __rte_noreturn void __rte_format_printf(1, 2)
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	printf(PROG ": result=FAIL could-not-run\n");
	exit(2);
}

static uint64_t
xstat(uint16_t port, const char *name)
{
	uint64_t id, v;

	if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0 ||
	    rte_eth_xstats_get_by_id(port, &id, &v, 1) != 1) {
		fail("port %u has no xstat %s", port, name);
		return UINT64_MAX;
	}
	return v;
}

static bool
link_up(uint16_t port)
{
	struct rte_eth_link l;

	return rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP;
}

static bool
wait_links(void)
{
	uint64_t end = rte_get_timer_cycles() + WAIT_S * rte_get_timer_hz();

	while (rte_get_timer_cycles() < end) {
		if (link_up(host) && link_up(guest))
			return true;
		rte_delay_ms(10);
	}
	return false;
}

static void
port_start(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = { 0 };
	uint16_t q;

	/* the guest spreads over its queues by RSS on the IPv4 addresses */
	if (nq > 1 && port == guest) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_OTHER;
	}
	if (rte_eth_dev_configure(port, nq, nq, &conf) != 0)
		die("port %u: configure failed", port);
	for (q = 0; q < nq; q++)
		if (rte_eth_rx_queue_setup(port, q, 512, rte_eth_dev_socket_id(port), NULL,
					   mp) != 0 ||
		    rte_eth_tx_queue_setup(port, q, 512, rte_eth_dev_socket_id(port), NULL) != 0)
			die("port %u: queue %u set-up failed", port, q);
	if (rte_eth_dev_start(port) != 0)
		die("port %u: start failed", port);
}

static bool
find_port(const char *drv, uint16_t *port)
{
	struct rte_eth_dev_info info;
	uint16_t p;

	RTE_ETH_FOREACH_DEV(p) {
		if (rte_eth_dev_info_get(p, &info) == 0 && strcmp(info.driver_name, drv) == 0) {
			*port = p;
			return true;
		}
	}
	return false;
}

/*
 * Frame @p i: @p len bytes to the guest's address (its filter takes it): an
 * IPv4 header of protocol 253 (experimental) from 10.i (its index, which
 * RSS hashes and the receiver reads back), a pattern after.
 */
static void
frame_fill(uint8_t *b, uint32_t len, uint32_t i, const struct rte_ether_addr *dst)
{
	uint32_t k, ip_len = len - 14;

	memcpy(b, dst, 6);
	memset(b + 6, 0x02, 6);
	b[12] = 0x08;
	b[13] = 0x00;
	memset(b + 14, 0, 20);
	b[14] = 0x45;
	b[16] = (uint8_t)(ip_len >> 8);
	b[17] = (uint8_t)ip_len;
	b[22] = 64;
	b[23] = 253;
	b[26] = 10;
	b[27] = (uint8_t)(i >> 16);
	b[28] = (uint8_t)(i >> 8);
	b[29] = (uint8_t)i;
	b[30] = 10;
	b[33] = 1;
	for (k = 34; k < len; k++)
		b[k] = (uint8_t)(i * 7 + k);
}

/* The index frame_fill() wrote into frame @p b. */
static uint32_t
frame_index(const uint8_t *b)
{
	return (uint32_t)b[27] << 16 | (uint32_t)b[28] << 8 | b[29];
}

static uint32_t
frame_len(uint32_t i)
{
	return 60 + (i * 37) % (1514 - 60 + 1);
}

/*
 * Receive on every guest queue until @p n frames came or the wait ends;
 * checks each against the frame of its index, in i0 .. i0 + n - 1, once
 * each (with one queue, in order).
 */
static uint32_t
guest_receive(uint32_t i0, uint32_t n, const struct rte_ether_addr *dst, bool copy_lens)
{
	struct rte_mbuf *m[BURST];
	uint8_t want[1514], seen[BURST] = { 0 };
	uint64_t end = rte_get_timer_cycles() + WAIT_S * rte_get_timer_hz();
	uint32_t got = 0, k, len, i;
	uint16_t r, q, none;

	RTE_SET_USED(copy_lens);
	while (got < n && rte_get_timer_cycles() < end) {
		for (q = 0, none = 0; q < nq; q++) {
			r = rte_eth_rx_burst(guest, q, m, BURST);
			none += r == 0;
			per_queue[q] += r;
			for (k = 0; k < r; k++, got++) {
				i = m[k]->data_len >= 30 ?
				    frame_index(rte_pktmbuf_mtod(m[k], uint8_t *)) : UINT32_MAX;
				if (i - i0 >= n || i - i0 >= BURST || seen[i - i0] ||
				    (nq == 1 && i != i0 + got)) {
					fail("frame %u: index %u out of place", i0 + got, i);
					continue;
				}
				seen[i - i0] = 1;
				len = frame_len(i);
				frame_fill(want, len, i, dst);
				if (m[k]->pkt_len != len || m[k]->nb_segs != 1 ||
				    memcmp(rte_pktmbuf_mtod(m[k], void *), want, len) != 0)
					fail("frame %u: received %u bytes unlike the %u sent", i,
					     m[k]->pkt_len, len);
			}
			rte_pktmbuf_free_bulk(m, r);
		}
		if (none == nq)
			rte_delay_us(50);
	}
	return got;
}

/* Put frames i0.. into @p m[0..n) (mbufs whose room fits them). */
static void
fill_mbufs(struct rte_mbuf **m, uint32_t n, uint32_t i0, const struct rte_ether_addr *dst)
{
	uint32_t k, len;

	for (k = 0; k < n; k++) {
		len = frame_len(i0 + k);
		frame_fill(rte_pktmbuf_mtod(m[k], uint8_t *), len, i0 + k, dst);
		m[k]->data_len = (uint16_t)len;
		m[k]->pkt_len = len;
	}
}

static void
send_all(struct rte_mbuf **m, uint32_t n)
{
	uint64_t end = rte_get_timer_cycles() + WAIT_S * rte_get_timer_hz();
	uint32_t sent = 0;

	while (sent < n && rte_get_timer_cycles() < end) {
		sent += rte_eth_tx_burst(host, 0, m + sent, (uint16_t)(n - sent));
		if (sent < n)
			rte_delay_us(50);
	}
	if (sent < n) {
		fail("the host port took %u of %u frames", sent, n);
		rte_pktmbuf_free_bulk(m + sent, n - sent);
	}
}

static bool
pool_full(struct rte_mempool *mp)
{
	uint64_t end = rte_get_timer_cycles() + WAIT_S * rte_get_timer_hz();

	while (rte_get_timer_cycles() < end) {
		if (rte_mempool_avail_count(mp) == mp->size)
			return true;
		/* completions are read by the host's bursts: an empty one takes them */
		rte_eth_tx_burst(host, 0, NULL, 0);
		rte_delay_ms(1);
	}
	return false;
}

static void
usage(void)
{
	die("usage: " PROG " [EAL args] -- [--frames N] [--queues Q]");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "frames", required_argument, NULL, 'f' },
		{ "queues", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct rte_pmd_pvb_netvsp_region r1, r2;
	struct rte_mbuf *m[BURST], *held[HELD];
	struct rte_mempool *mp, *slots;
	struct rte_ether_addr gmac;
	uint32_t frames = 2000, i, k, n, got;
	uint64_t ref0, copied0;
	int rc, c;

	rc = rte_eal_init(argc, argv);
	if (rc < 0)
		die("EAL init failed: %s", rte_strerror(rte_errno));
	argc -= rc;
	argv += rc;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f')
			frames = (uint32_t)atoi(optarg);
		else if (c == 'q')
			nq = (uint16_t)atoi(optarg);
		else
			usage();
	}
	if (frames == 0 || nq == 0 || nq > 8)
		usage();
	if (!find_port("net_pvb_netvsp", &host) || !find_port("net_pvb_netvsc", &guest))
		die("needs a net_pvb_netvsp and a net_pvb_netvsc port");
	mp = rte_pktmbuf_pool_create("lend_mp", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     rte_socket_id());
	if (mp == NULL)
		die("mbuf pool: %s", rte_strerror(rte_errno));

	/* the API on other ports and before a guest */
	if (rte_pmd_pvb_netvsp_slot_pool(guest, POOL_N, 0) != NULL || rte_errno != ENODEV)
		fail("slot pool of a guest port: want NULL, ENODEV");
	if (rte_pmd_pvb_netvsp_region(guest, &r1) != -ENODEV)
		fail("region of a guest port: want -ENODEV");
	slots = rte_pmd_pvb_netvsp_slot_pool(host, POOL_N, (int)rte_socket_id());
	if (slots == NULL)
		die("slot pool: %s", rte_strerror(rte_errno));
	if (rte_pmd_pvb_netvsp_slot_pool(host, 1, 0) != slots)
		fail("a second call made another slot pool");
	port_start(host, mp);
	if (rte_pmd_pvb_netvsp_region(host, &r1) != -ENOTCONN)
		fail("region before a guest: want -ENOTCONN");
	if (rte_pktmbuf_alloc_bulk(slots, m, 1) == 0) {
		fail("the slot pool lent a slot with no guest");
		rte_pktmbuf_free(m[0]);
	}
	port_start(guest, mp);
	if (!wait_links())
		die("no link within %u s", WAIT_S);
	rte_eth_macaddr_get(guest, &gmac);
	rc = rte_pmd_pvb_netvsp_region(host, &r1);
	if (rc != 0)
		die("region with a guest: %s", strerror(-rc));
	if (r1.gen == 0 || r1.len == 0 || r1.fd < 0 || r1.va == NULL)
		fail("region: gen %" PRIu64 " len %zu fd %d", r1.gen, r1.len, r1.fd);

	/* frames written straight into the guest's slots, sent in place */
	ref0 = xstat(host, "tx_ref_packets");
	copied0 = xstat(host, "tx_copied_packets");
	for (i = 0; i < frames; i += n) {
		n = RTE_MIN((uint32_t)BURST, frames - i);
		/* the guest's completions come with the bursts: try until it lends */
		for (k = 0; k < 1000 && rte_pktmbuf_alloc_bulk(slots, m, n) != 0; k++) {
			rte_eth_tx_burst(host, 0, NULL, 0);
			rte_delay_us(100);
		}
		if (k == 1000)
			die("the slot pool lent nothing for 100 ms with the guest up");
		for (k = 0; k < n; k++) {
			uint8_t *b = m[k]->buf_addr;

			if (!RTE_MBUF_HAS_EXTBUF(m[k]) || b < (uint8_t *)r1.va ||
			    b + m[k]->buf_len > (uint8_t *)r1.va + r1.len ||
			    rte_pktmbuf_headroom(m[k]) != RTE_PKTMBUF_HEADROOM)
				fail("a lent mbuf is not an external buffer in the region");
		}
		fill_mbufs(m, n, i, &gmac);
		send_all(m, n);
		got = guest_receive(i, n, &gmac, false);
		if (got != n)
			fail("the guest received %u of frames %u..%u", got, i, i + n - 1);
	}
	if (xstat(host, "tx_ref_packets") - ref0 != frames)
		fail("tx_ref_packets +%" PRIu64 ", want %u", xstat(host, "tx_ref_packets") - ref0,
		     frames);
	if (xstat(host, "tx_copied_packets") != copied0)
		fail("tx_copied_packets +%" PRIu64 " for frames sent in place",
		     xstat(host, "tx_copied_packets") - copied0);
	/* an ordinary mbuf is copied */
	if (rte_pktmbuf_alloc_bulk(mp, m, 1) != 0)
		die("mbuf pool dry");
	fill_mbufs(m, 1, frames, &gmac);
	send_all(m, 1);
	if (guest_receive(frames, 1, &gmac, true) != 1)
		fail("the guest did not receive the copied frame");
	if (xstat(host, "tx_copied_packets") != copied0 + 1)
		fail("an ordinary mbuf was not counted copied");
	if (!pool_full(slots))
		fail("%u slot-pool mbufs did not come back", slots->size -
		     rte_mempool_avail_count(slots));

	/* lent mbufs held while the guest goes and comes back */
	if (rte_pktmbuf_alloc_bulk(slots, held, HELD) != 0)
		die("the slot pool lent nothing");
	fill_mbufs(held, HELD, frames + 1, &gmac);
	if (rte_eth_dev_stop(guest) != 0)
		fail("guest stop");
	rte_eth_dev_close(guest);
	if (rte_eal_hotplug_remove("vdev", "net_pvb_netvsc0") != 0)
		fail("guest removal");
	{
		uint64_t end = rte_get_timer_cycles() + WAIT_S * rte_get_timer_hz();

		while (link_up(host) && rte_get_timer_cycles() < end)
			rte_delay_ms(10);
	}
	if (rte_pmd_pvb_netvsp_region(host, &r2) != -ENOTCONN)
		fail("region with the guest gone: want -ENOTCONN");
	if (rte_eal_hotplug_add("vdev", "net_pvb_netvsc1", argv[optind] != NULL ?
				argv[optind] : "") != 0 || !find_port("net_pvb_netvsc", &guest))
		die("the guest could not come back (give its devargs after the options)");
	port_start(guest, mp);
	if (!wait_links())
		die("no link after the guest came back");
	rte_eth_macaddr_get(guest, &gmac);
	fill_mbufs(held, HELD, frames + 1, &gmac);
	rc = rte_pmd_pvb_netvsp_region(host, &r2);
	if (rc != 0 || r2.gen == r1.gen)
		fail("region after the guest came back: rc %d gen %" PRIu64 " (was %" PRIu64 ")",
		     rc, r2.gen, r1.gen);
	copied0 = xstat(host, "tx_copied_packets");
	send_all(held, HELD);
	if (guest_receive(frames + 1, HELD, &gmac, true) != HELD)
		fail("the new guest did not receive the frames held from the old one");
	if (xstat(host, "tx_copied_packets") - copied0 != HELD)
		fail("frames in the old channel's slots: %" PRIu64 " copied, want %u",
		     xstat(host, "tx_copied_packets") - copied0, HELD);
	if (!pool_full(slots))
		fail("%u slot-pool mbufs did not come back after the guest changed",
		     slots->size - rte_mempool_avail_count(slots));
	close(r1.fd);
	if (rc == 0)
		close(r2.fd);

	/* with RSS over several queues, every queue got some of the frames */
	for (k = 0; nq > 1 && k < nq; k++)
		if (per_queue[k] == 0)
			fail("guest queue %u received nothing", k);
	printf(PROG ": result=%s frames=%u ref=%" PRIu64 " copied=%" PRIu64 " gen=%" PRIu64
	       "->%" PRIu64 " queues=%u\n", failures == 0 ? "ok" : "FAIL", frames,
	       xstat(host, "tx_ref_packets"), xstat(host, "tx_copied_packets"), r1.gen, r2.gen,
	       nq);
	rte_eth_dev_stop(guest);
	rte_eth_dev_close(guest);
	rte_eth_dev_stop(host);
	rte_eth_dev_close(host);
	rte_eal_cleanup();
	return failures == 0 ? 0 : 1;
}
