/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * libFuzzer target: a virtio-net header and the frame behind it, both
 * written by a hostile peer, through the offload translation both PMDs use
 * (lib/vhost_user/vu_net_ol.c).
 *
 * Input: 12 bytes of header, one byte of accepted features, two bytes of
 * first-segment length, then the frame, copied into a heap buffer of exactly
 * its size (ASan sees any byte read or written past it, the class of
 * CVE-2024-11614: a checksum written at csum_start + csum_offset outside the
 * frame). Frames of no byte at all are tried too (header-only chains, the
 * class of CVE-2022-2132), and gso_size 0 or 65535 come as any other value.
 *
 * Whatever the input, pvb_vnet_rx_ol() either refuses with a reason and a
 * log line, or returns offsets that lie inside the first segment with the
 * request consistent (TSO only over TCP with an mss, IPv4 xor IPv6, TCP xor
 * UDP). With bit 7 of the features byte set, the harness writes sound
 * Ethernet / IP / TCP or UDP headers over the frame's first bytes (the
 * fuzzer's bytes choose the versions, tags, lengths and the header's
 * offsets, right or off by a little), so that accepted requests, GSO
 * included, are reached from the first runs. What it accepts must go back out: pvb_vnet_tx_hdr() takes the same
 * request on the same bytes, and the header it writes is accepted again as
 * the same request (the two sides agree). A violation aborts.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pvb_vhost_user.h"

#define IN_HDR	12

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* The request as pvb_vnet_rx_ol() gave it: consistent, inside the segment. */
static void
check_ol(const struct pvb_vnet_ol *ol, uint32_t seg)
{
	uint16_t f = ol->flags;

	if (!(f & PVB_VNET_OL_CSUM))
		return;
	check(!!(f & PVB_VNET_OL_IPV4) != !!(f & PVB_VNET_OL_IPV6));
	check(!!(f & PVB_VNET_OL_TCP) != !!(f & PVB_VNET_OL_UDP));
	check((uint32_t)ol->l2_len + ol->l3_len + ol->l4_len <= seg);
	check(!(f & PVB_VNET_OL_TSO) || ((f & PVB_VNET_OL_TCP) && ol->mss >= 1));
}

/*
 * Sound headers over @p f (@p len bytes, at least 128), shaped by @p k: tags,
 * IP version, TCP or UDP, IP length true or not; the header's offsets
 * pointed at them, or off by what @p k says.
 */
static void
shape(uint8_t *f, uint32_t len, const uint8_t *k, struct pvb_vnet_hdr *h)
{
	uint32_t l2 = 14 + 4 * (k[0] & 1), l3 = (k[0] & 2) ? 40 : 20, tcp = k[0] & 4;
	uint32_t ip_len = (k[0] & 8) ? len - l2 : k[1] * 4u + l3;

	if (l2 == 18) {
		f[12] = 0x81;
		f[13] = 0;
	}
	f[l2 - 2] = l3 == 40 ? 0x86 : 0x08;
	f[l2 - 1] = l3 == 40 ? 0xdd : 0x00;
	if (l3 == 40) {
		f[l2] = 0x60;
		f[l2 + 4] = (uint8_t)((ip_len - 40) >> 8);
		f[l2 + 5] = (uint8_t)(ip_len - 40);
		f[l2 + 6] = tcp ? 6 : 17;
	} else {
		f[l2] = 0x45;
		f[l2 + 2] = (uint8_t)(ip_len >> 8);
		f[l2 + 3] = (uint8_t)ip_len;
		f[l2 + 6] = f[l2 + 7] = 0;
		f[l2 + 9] = tcp ? 6 : 17;
	}
	if (tcp)
		f[l2 + l3 + 12] = (uint8_t)((5 + (k[2] & 3)) << 4);
	h->flags |= PVB_VNET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)(l2 + l3 + (k[0] >> 6));
	h->csum_offset = (uint16_t)((tcp ? 16 : 6) + ((k[0] >> 4) & 3));
	if (k[2] & 4)
		h->gso_type = l3 == 40 ? PVB_VNET_GSO_TCPV6 : PVB_VNET_GSO_TCPV4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pvb_vnet_hdr h, h2;
	struct pvb_vnet_ol ol, ol2, parsed = { 0 };
	uint32_t accept, seg, len;
	const char *why;
	uint8_t *f;

	if (size < IN_HDR + 3 || size - IN_HDR - 3 > 70000)
		return 0;
	memcpy(&h, data, IN_HDR);
	accept = data[IN_HDR] & 7;
	seg = (uint32_t)data[IN_HDR + 1] | (uint32_t)data[IN_HDR + 2] << 8;
	len = (uint32_t)(size - IN_HDR - 3);
	f = malloc(len ? len : 1);
	memcpy(f, data + IN_HDR + 3, len);
	if ((data[IN_HDR] & 0x80) && len >= 128) {
		shape(f, len, data + IN_HDR + 3, &h);
		seg = seg < 128 ? 128 : seg;
	}
	if (seg > len)
		seg = len;

	if (pvb_vnet_parse(f, seg, &parsed) == 0)
		check((uint32_t)parsed.l2_len + parsed.l3_len + parsed.l4_len <= seg);

	why = NULL;
	if (pvb_vnet_rx_ol(&h, accept, f, seg, len, &ol, &why) != PVB_VNET_OK) {
		check(why != NULL);
		free(f);
		return 0;
	}
	check_ol(&ol, seg);
	if (ol.flags & PVB_VNET_OL_CSUM) {
		/* back out on the same bytes, then in again: the same request */
		check(pvb_vnet_tx_hdr(f, seg, len, &ol, &h2) == 0);
		/* every feature: a GSO frame that needs no cutting goes back as a checksum
		 * request, which the features a GSO frame came in with need not cover */
		check(pvb_vnet_rx_ol(&h2, PVB_VNET_ACCEPT_CSUM | PVB_VNET_ACCEPT_TSO4 |
				     PVB_VNET_ACCEPT_TSO6, f, seg, len, &ol2, &why) == PVB_VNET_OK);
		check_ol(&ol2, seg);
		check(ol2.flags == ol.flags && ol2.l2_len == ol.l2_len &&
		      ol2.l3_len == ol.l3_len && ol2.l4_len == ol.l4_len);
		check(!(ol.flags & PVB_VNET_OL_TSO) || ol2.mss == ol.mss);
	}
	free(f);
	return 0;
}
