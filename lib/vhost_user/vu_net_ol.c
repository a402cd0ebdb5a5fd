/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Checksum and segmentation offloads in the virtio-net header (VIRTIO 1.2
 * §5.1.6.2, §5.1.6.4), checked against the frame's own headers before any
 * offset in it is used, and translated to and from the offsets DPDK's mbuf
 * carries (l2_len, l3_len, l4_len, tso_segsz). Everything here is byte
 * arithmetic on the first contiguous bytes of a frame: no DPDK, so the
 * translation is unit-tested and fuzzed alone.
 *
 * The two checksum-field forms (RFC 1071 ones' complement sums):
 *   canonical (the mbuf contract, what rte_ipv4_phdr_cksum() and
 *   rte_ipv6_phdr_cksum() return): pseudo-header sum, the L4 length
 *   included except for TCP segmentation;
 *   virtio (Linux skb_partial_csum_set() and its virtio_net receive path):
 *   pseudo-header sum with the L4 length, always.
 */

#include <errno.h>
#include <string.h>

#include "vu_pvt.h"

#define ETH_HLEN	14
#define ETH_P_IPV4	0x0800
#define ETH_P_IPV6	0x86dd
#define ETH_P_VLAN	0x8100
#define ETH_P_QINQ	0x88a8
#define IPV6_HLEN	40
#define TCP_HLEN_MIN	20
#define UDP_HLEN	8
#define IPPROTO_TCP_	6
#define IPPROTO_UDP_	17
#define TCP_CSUM_OFF	16
#define UDP_CSUM_OFF	6
#define IPV4_CSUM_OFF	10
#define IP_LEN_MAX	65535u

static inline uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Add the big-endian 16-bit words of p[0, n) to @p sum (an odd last byte padded with 0). */
static uint32_t
sum16(const uint8_t *p, uint32_t n, uint32_t sum)
{
	for (; n > 1; n -= 2, p += 2)
		sum += get_be16(p);
	if (n == 1)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The pseudo-header sum (RFC 793 / RFC 8200 §8.1) of the IP header at @p ip, not complemented. */
static uint16_t
phdr_sum(const uint8_t *ip, const struct pvb_vnet_ol *ol, uint32_t l4_len)
{
	uint8_t proto = (ol->flags & PVB_VNET_OL_TCP) ? IPPROTO_TCP_ : IPPROTO_UDP_;
	uint32_t sum = proto + (l4_len & 0xffff) + (l4_len >> 16);

	if (ol->flags & PVB_VNET_OL_IPV4)
		return fold(sum16(ip + 12, 8, sum));
	return fold(sum16(ip + 8, 32, sum));
}

/* Recompute the header checksum of the IPv4 header at @p ip (@p len bytes). */
static void
ipv4_csum_set(uint8_t *ip, uint32_t len)
{
	put_be16(ip + IPV4_CSUM_OFF, 0);
	put_be16(ip + IPV4_CSUM_OFF, (uint16_t)~fold(sum16(ip, len, 0)));
}

/* The IP length field of the header at @p ip: what it says follows l2_len. */
static uint32_t
ip_len(const uint8_t *ip, const struct pvb_vnet_ol *ol)
{
	if (ol->flags & PVB_VNET_OL_IPV4)
		return get_be16(ip + 2);
	return IPV6_HLEN + get_be16(ip + 4);
}

/* Make the IP length field say @p len bytes follow l2_len; false if it cannot. */
static bool
ip_len_set(uint8_t *ip, const struct pvb_vnet_ol *ol, uint32_t len)
{
	if (ol->flags & PVB_VNET_OL_IPV4) {
		if (len > IP_LEN_MAX)
			return false;
		if (get_be16(ip + 2) != len || fold(sum16(ip, ol->l3_len, 0)) != 0xffff) {
			put_be16(ip + 2, (uint16_t)len);
			ipv4_csum_set(ip, ol->l3_len);
		}
		return true;
	}
	if (len - IPV6_HLEN > IP_LEN_MAX)
		return false;
	put_be16(ip + 4, (uint16_t)(len - IPV6_HLEN));
	return true;
}

int
pvb_vnet_parse(const uint8_t *f, uint32_t len, struct pvb_vnet_ol *ol)
{
	uint32_t l2 = ETH_HLEN, l3, l4;
	uint16_t type, flags;
	unsigned int tags;
	uint8_t proto;

	if (len < ETH_HLEN)
		return -EPROTO;
	type = get_be16(f + 12);
	for (tags = 0; (type == ETH_P_VLAN || type == ETH_P_QINQ) && tags < 2; tags++) {
		if (len < l2 + 4)
			return -EPROTO;
		type = get_be16(f + l2 + 2);
		l2 += 4;
	}
	if (type == ETH_P_IPV4) {
		if (len < l2 + 20 || (f[l2] >> 4) != 4 || (f[l2] & 0xf) < 5)
			return -EPROTO;
		l3 = (f[l2] & 0xfu) * 4;
		/* a fragment (MF or an offset) has no whole L4 datagram to checksum */
		if (len < l2 + l3 || (get_be16(f + l2 + 6) & 0x3fff) != 0)
			return -EPROTO;
		proto = f[l2 + 9];
		flags = PVB_VNET_OL_IPV4;
	} else if (type == ETH_P_IPV6) {
		if (len < l2 + IPV6_HLEN || (f[l2] >> 4) != 6)
			return -EPROTO;
		l3 = IPV6_HLEN;
		proto = f[l2 + 6];	/* extension headers: not taken */
		flags = PVB_VNET_OL_IPV6;
	} else {
		return -EPROTO;
	}
	if (proto == IPPROTO_TCP_) {
		if (len < l2 + l3 + TCP_HLEN_MIN)
			return -EPROTO;
		l4 = (f[l2 + l3 + 12] >> 4) * 4u;
		if (l4 < TCP_HLEN_MIN || len < l2 + l3 + l4)
			return -EPROTO;
		flags |= PVB_VNET_OL_TCP;
	} else if (proto == IPPROTO_UDP_) {
		l4 = UDP_HLEN;
		if (len < l2 + l3 + l4)
			return -EPROTO;
		flags |= PVB_VNET_OL_UDP;
	} else {
		return -EPROTO;
	}
	ol->flags = (uint16_t)((ol->flags & ~(PVB_VNET_OL_IPV4 | PVB_VNET_OL_IPV6 |
					      PVB_VNET_OL_TCP | PVB_VNET_OL_UDP)) | flags);
	ol->l2_len = (uint16_t)l2;
	ol->l3_len = (uint16_t)l3;
	ol->l4_len = (uint16_t)l4;
	return 0;
}

/* DATA_VALID: the L4 checksum is vouched for; the IPv4 header's is checked here. */
static void
rx_data_valid(const uint8_t *f, uint32_t seg_len, struct pvb_vnet_ol *ol)
{
	if (pvb_vnet_parse(f, seg_len, ol) != 0) {
		/* not TCP/UDP over IP: nothing a DPDK flag could say */
		ol->flags = 0;
		return;
	}
	ol->flags |= PVB_VNET_OL_L4_GOOD;
	if (ol->flags & PVB_VNET_OL_IPV4)
		ol->flags |= fold(sum16(f + ol->l2_len, ol->l3_len, 0)) == 0xffff ?
			     PVB_VNET_OL_IP_GOOD : PVB_VNET_OL_IP_BAD;
}

#define BAD(code, text) do { *why = (text); return (code); } while (0)

/* GSO on a frame whose NEEDS_CSUM was checked: the IP length made true, TSO or not. */
static enum pvb_vnet_bad
rx_gso(const struct pvb_vnet_hdr *h, uint8_t *f, uint32_t frame_len, struct pvb_vnet_ol *ol,
       const char **why)
{
	uint8_t gso = h->gso_type & (uint8_t)~PVB_VNET_GSO_ECN;
	uint32_t hdrs = (uint32_t)ol->l2_len + ol->l3_len + ol->l4_len;
	uint8_t *ip = f + ol->l2_len;

	if (!(ol->flags & PVB_VNET_OL_TCP) ||
	    (gso == PVB_VNET_GSO_TCPV4) != !!(ol->flags & PVB_VNET_OL_IPV4))
		BAD(PVB_VNET_BAD_GSO, "gso_type is not the frame's IP version over TCP");
	if (frame_len <= hdrs)
		BAD(PVB_VNET_BAD_GSO, "GSO frame without payload");
	if (h->gso_size > IP_LEN_MAX - ol->l3_len - ol->l4_len)
		BAD(PVB_VNET_BAD_GSO, "gso_size beyond 65535 minus the headers");
	/* the length fields of a GSO frame say the whole frame (Linux sends it so) */
	if (!ip_len_set(ip, ol, frame_len - ol->l2_len))
		BAD(PVB_VNET_BAD_GSO, "GSO frame longer than its IP length field can say");
	if (frame_len - hdrs <= h->gso_size) {
		/* one segment: nothing to cut, the checksum only */
		ol->flags |= PVB_VNET_OL_CSUM;
		put_be16(ip + ol->l3_len + TCP_CSUM_OFF,
			 phdr_sum(ip, ol, frame_len - ol->l2_len - ol->l3_len));
		return PVB_VNET_OK;
	}
	ol->flags |= PVB_VNET_OL_CSUM | PVB_VNET_OL_TSO;
	ol->mss = h->gso_size;
	put_be16(ip + ol->l3_len + TCP_CSUM_OFF, phdr_sum(ip, ol, 0));
	return PVB_VNET_OK;
}

enum pvb_vnet_bad
pvb_vnet_rx_ol(const struct pvb_vnet_hdr *h, uint32_t accept, uint8_t *f, uint32_t seg_len,
	       uint32_t frame_len, struct pvb_vnet_ol *ol, const char **why)
{
	uint8_t gso = h->gso_type & (uint8_t)~PVB_VNET_GSO_ECN;
	uint32_t l4off, iplen;

	memset(ol, 0, sizeof(*ol));
	*why = pvb_vnet_hdr_check(h, frame_len);
	if (*why != NULL)
		return PVB_VNET_BAD_HEADER;
	if (seg_len > frame_len)
		seg_len = frame_len;
	if (!(h->flags & PVB_VNET_HDR_F_NEEDS_CSUM)) {
		if (h->flags & PVB_VNET_HDR_F_DATA_VALID)
			rx_data_valid(f, seg_len, ol);
		return PVB_VNET_OK;
	}
	/* a GSO frame's NEEDS_CSUM comes with its TSO feature (pvb_vnet_mbuf.h) */
	if (gso == PVB_VNET_GSO_NONE && !(accept & PVB_VNET_ACCEPT_CSUM))
		BAD(PVB_VNET_NOT_NEGOTIATED, "NEEDS_CSUM, but the checksum feature is not acked");
	if (h->gso_type & PVB_VNET_GSO_ECN)
		BAD(PVB_VNET_NOT_NEGOTIATED, "GSO ECN, but no ECN feature is offered");
	if (gso == PVB_VNET_GSO_UDP || gso == PVB_VNET_GSO_UDP_L4)
		BAD(PVB_VNET_UNSUPPORTED, "UDP segmentation is not offered");
	if ((gso == PVB_VNET_GSO_TCPV4 && !(accept & PVB_VNET_ACCEPT_TSO4)) ||
	    (gso == PVB_VNET_GSO_TCPV6 && !(accept & PVB_VNET_ACCEPT_TSO6)))
		BAD(PVB_VNET_NOT_NEGOTIATED, "GSO, but its TSO feature is not acked");
	/* CVE-2024-11614 class: no offset is used before the parse put it in the segment */
	if (pvb_vnet_parse(f, seg_len, ol) != 0)
		BAD(PVB_VNET_BAD_CSUM, "NEEDS_CSUM on a frame whose first segment holds no "
				       "TCP/UDP over IPv4/IPv6");
	l4off = (uint32_t)ol->l2_len + ol->l3_len;
	if (h->csum_start != l4off)
		BAD(PVB_VNET_BAD_CSUM, "csum_start is not the L4 header's offset");
	if (h->csum_offset != ((ol->flags & PVB_VNET_OL_TCP) ? TCP_CSUM_OFF : UDP_CSUM_OFF))
		BAD(PVB_VNET_BAD_CSUM, "csum_offset is not the TCP/UDP checksum field");
	if (gso != PVB_VNET_GSO_NONE)
		return rx_gso(h, f, frame_len, ol, why);
	iplen = ip_len(f + ol->l2_len, ol);
	/* bytes after the IP length are padding, outside the checksum */
	if (iplen < (uint32_t)ol->l3_len + ol->l4_len || ol->l2_len + iplen > frame_len)
		BAD(PVB_VNET_BAD_CSUM, "IP length does not fit the frame");
	ol->flags |= PVB_VNET_OL_CSUM;
	put_be16(f + l4off + h->csum_offset, phdr_sum(f + ol->l2_len, ol, iplen - ol->l3_len));
	return PVB_VNET_OK;
}

/* IP_CKSUM alone: the IPv4 header at l2_len, whatever follows it. */
static int
tx_ip_cksum(uint8_t *f, uint32_t seg_len, const struct pvb_vnet_ol *want)
{
	uint32_t l2 = want->l2_len, l3 = want->l3_len;

	if (l3 < 20 || l2 + l3 > seg_len || f[l2] != (0x40 | l3 / 4) || l3 % 4 != 0)
		return -EINVAL;
	ipv4_csum_set(f + l2, l3);
	return 0;
}

int
pvb_vnet_tx_hdr(uint8_t *f, uint32_t seg_len, uint32_t frame_len,
		const struct pvb_vnet_ol *want, struct pvb_vnet_hdr *h)
{
	const uint16_t proto = PVB_VNET_OL_IPV4 | PVB_VNET_OL_IPV6 | PVB_VNET_OL_TCP |
			       PVB_VNET_OL_UDP;
	struct pvb_vnet_ol got = { 0 };
	uint32_t l4len, hdrs;
	uint8_t *ip;
	bool tcp;

	h->flags = 0;
	h->gso_type = PVB_VNET_GSO_NONE;
	h->hdr_len = h->gso_size = h->csum_start = h->csum_offset = 0;
	if (!(want->flags & (PVB_VNET_OL_CSUM | PVB_VNET_OL_TSO | PVB_VNET_OL_IP_CKSUM))) {
		if (want->flags & PVB_VNET_OL_L4_GOOD)
			h->flags = PVB_VNET_HDR_F_DATA_VALID;
		return 0;
	}
	if (seg_len > frame_len)
		seg_len = frame_len;
	if (!(want->flags & (PVB_VNET_OL_CSUM | PVB_VNET_OL_TSO)))
		return tx_ip_cksum(f, seg_len, want);
	if (pvb_vnet_parse(f, seg_len, &got) != 0 || got.l2_len != want->l2_len ||
	    got.l3_len != want->l3_len || (want->flags & proto & ~got.flags) != 0)
		return -EINVAL;
	tcp = got.flags & PVB_VNET_OL_TCP;
	ip = f + got.l2_len;
	hdrs = (uint32_t)got.l2_len + got.l3_len + got.l4_len;
	if (want->flags & PVB_VNET_OL_TSO) {
		if (!tcp || want->l4_len != got.l4_len || want->mss == 0 || frame_len <= hdrs ||
		    want->mss > IP_LEN_MAX - got.l3_len - got.l4_len ||
		    !ip_len_set(ip, &got, frame_len - got.l2_len))
			return -EINVAL;
		h->gso_type = (got.flags & PVB_VNET_OL_IPV4) ? PVB_VNET_GSO_TCPV4 :
							       PVB_VNET_GSO_TCPV6;
		h->gso_size = want->mss;
		h->hdr_len = (uint16_t)hdrs;
		l4len = frame_len - got.l2_len - got.l3_len;
	} else {
		l4len = ip_len(ip, &got);
		if (l4len < (uint32_t)got.l3_len + got.l4_len || got.l2_len + l4len > frame_len)
			return -EINVAL;
		l4len -= got.l3_len;
	}
	if ((want->flags & PVB_VNET_OL_IP_CKSUM) && (got.flags & PVB_VNET_OL_IPV4))
		ipv4_csum_set(ip, got.l3_len);
	h->flags = PVB_VNET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)(got.l2_len + got.l3_len);
	h->csum_offset = tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF;
	put_be16(ip + got.l3_len + h->csum_offset, phdr_sum(ip, &got, l4len));
	return 0;
}

const char *
pvb_vnet_bad_str(enum pvb_vnet_bad bad)
{
	static const char *const names[PVB_VNET_BAD_MAX] = {
		[PVB_VNET_OK] = "ok",
		[PVB_VNET_BAD_HEADER] = "rx_offload_bad_header",
		[PVB_VNET_BAD_CSUM] = "rx_offload_bad_csum",
		[PVB_VNET_BAD_GSO] = "rx_offload_bad_gso",
		[PVB_VNET_UNSUPPORTED] = "rx_offload_unsupported",
		[PVB_VNET_NOT_NEGOTIATED] = "rx_offload_not_negotiated",
	};

	return (unsigned int)bad < PVB_VNET_BAD_MAX ? names[bad] : "rx_offload_bad";
}
