/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Offloads across a netvsc channel (nvport_ol.h; the PPI bits are those of
 * Linux drivers/net/hyperv/hyperv_net.h and DPDK drivers/net/netvsc/
 * ndis.h, the mbuf side DPDK's rte_mbuf_core.h and rte_net.h).
 *
 * A request arrives in memory the peer wrote and may rewrite: every offset
 * it names is compared with the offsets parsed from the frame (and those
 * are checked to lie inside the first segment) before a byte is written,
 * and what is written is computed from the headers read here, never taken
 * from the request. A peer that rewrites its frame after the checks only
 * spoils its own frame: the offsets the mbuf carries stay inside it.
 */

#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "nvport.h"
#include "nvport_ol.h"

#define PARSE_MASK	(RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK)
#define TX_REQ_FLAGS	(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | \
			 RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_IP_CKSUM)
#define IP_LEN_MAX	65535u

/* ---- a received request -> mbuf flags ------------------------------------------ */

/* The parsed layout of a frame, all of it inside the first segment. */
struct ol_frame {
	uint32_t l2, l3, l4;	/* header lengths */
	bool v4;
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP, 0 other */
};

static const char *
ol_parse(const struct rte_mbuf *m, struct ol_frame *f)
{
	struct rte_net_hdr_lens hl;
	uint32_t pt = rte_net_get_ptype(m, &hl, PARSE_MASK), l4 = pt & RTE_PTYPE_L4_MASK;

	if (RTE_ETH_IS_IPV4_HDR(pt))
		f->v4 = true;
	else if (RTE_ETH_IS_IPV6_HDR(pt))
		f->v4 = false;
	else
		return "not an IP frame";
	f->l2 = hl.l2_len;
	f->l3 = hl.l3_len;
	f->l4 = 0;
	f->proto = 0;
	if (l4 == RTE_PTYPE_L4_TCP) {
		f->proto = IPPROTO_TCP;
		f->l4 = hl.l4_len;
		/* the data offset is the peer's: a TCP header is 20 to 60 bytes */
		if (f->l4 < sizeof(struct rte_tcp_hdr))
			return "TCP data offset below 20 bytes";
	} else if (l4 == RTE_PTYPE_L4_UDP) {
		f->proto = IPPROTO_UDP;
		f->l4 = sizeof(struct rte_udp_hdr);
	}
	if ((uint64_t)f->l2 + f->l3 + f->l4 > m->data_len)
		return "headers beyond the first segment";
	return NULL;
}

/*
 * The IP length fields against the frame. A segmentation request may carry
 * them as hv_netvsc writes them (IPv4 total length 0, IPv6 payload length
 * 0) or true; either way they are made true here. Otherwise they must be
 * true already, frame padding after them allowed.
 */
static const char *
ol_ip_lengths(struct rte_mbuf *m, const struct ol_frame *f, bool seg)
{
	uint32_t ip_len = m->pkt_len - f->l2, min = f->l3 + f->l4;

	if (f->v4) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, void *, f->l2);
		uint32_t tot = rte_be_to_cpu_16(ip->total_length);

		if (seg) {
			if ((tot != 0 && tot != ip_len) || ip_len > IP_LEN_MAX)
				return "IPv4 total length neither 0 nor the frame's";
			ip->total_length = rte_cpu_to_be_16((uint16_t)ip_len);
			return NULL;
		}
		return tot < min || tot > ip_len ? "IPv4 total length outside the frame" : NULL;
	}
	{
		struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, void *, f->l2);
		uint32_t pl = rte_be_to_cpu_16(ip->payload_len), want = ip_len - sizeof(*ip);

		if (seg) {
			if ((pl != 0 && pl != want) || want > IP_LEN_MAX)
				return "IPv6 payload length neither 0 nor the frame's";
			ip->payload_len = rte_cpu_to_be_16((uint16_t)want);
			return NULL;
		}
		return pl + sizeof(*ip) < min || pl > want ? "IPv6 payload length outside the frame" :
							     NULL;
	}
}

/* The request's own fields against the parsed frame. */
static const char *
ol_match(const struct rte_mbuf *m, const struct nvport_ol_req *r, const struct ol_frame *f)
{
	uint32_t hdrs = f->l2 + f->l3 + f->l4;

	if (r->family != 0 && (r->family == 4) != f->v4)
		return "IP version differs from the request";
	if (r->l4_proto == 0)
		return f->v4 ? NULL : "IPv4 header checksum asked of an IPv6 frame";
	if (r->l4_proto != f->proto)
		return "L4 protocol differs from the request (or a fragment)";
	if (r->l4_off != 0 && r->l4_off != f->l2 + f->l3)
		return "L4 offset differs from the frame's headers";
	if (r->mss != 0 && (r->mss > IP_LEN_MAX - hdrs || hdrs >= m->pkt_len))
		return "MSS out of range or no payload";
	return NULL;
}

const char *
nvport_ol_request(struct rte_mbuf *m, const struct nvport_ol_req *r)
{
	struct ol_frame f;
	const char *why = ol_parse(m, &f);
	bool seg = r->mss != 0;
	uint64_t fl;
	void *l3;

	if (why == NULL)
		why = ol_match(m, r, &f);
	if (why == NULL)
		why = ol_ip_lengths(m, &f, seg);
	if (why != NULL)
		return why;
	l3 = rte_pktmbuf_mtod_offset(m, void *, f.l2);
	if (f.v4 && (seg || r->ip_csum)) {
		struct rte_ipv4_hdr *ip = l3;

		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	if (r->l4_proto == 0)
		return NULL;	/* the IPv4 header only: done, nothing left to ask */
	/* one segment's worth: a checksum request, the IP length counted in */
	if (seg && m->pkt_len - (f.l2 + f.l3 + f.l4) <= r->mss)
		seg = false;
	fl = (f.v4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6) |
	     (f.proto == IPPROTO_TCP ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM) |
	     (seg ? RTE_MBUF_F_TX_TCP_SEG : 0);
	{
		uint16_t ph = f.v4 ? rte_ipv4_phdr_cksum(l3, fl) : rte_ipv6_phdr_cksum(l3, fl);
		uint8_t *l4 = (uint8_t *)l3 + f.l3;

		if (f.proto == IPPROTO_TCP)
			((struct rte_tcp_hdr *)l4)->cksum = ph;
		else
			((struct rte_udp_hdr *)l4)->dgram_cksum = ph;
	}
	m->ol_flags = (m->ol_flags & ~TX_REQ_FLAGS) | fl;
	m->l2_len = f.l2;
	m->l3_len = f.l3;
	m->l4_len = f.l4;
	m->tso_segsz = seg ? (uint16_t)RTE_MIN(r->mss, (uint32_t)UINT16_MAX) : 0;
	return NULL;
}

/* LSOv2: MSS, TCP header offset, IPv6 bit; the guest must have enabled the family. */
static int
ol_lso_req(uint32_t v, uint32_t enabled, struct nvport_ol_req *r, const char **why)
{
	bool v6 = (v & PVB_RNDIS_LSO2_IPV6) != 0;

	if (!(v & PVB_RNDIS_LSO2_TYPE)) {
		*why = "LSOv1 request (only LSOv2 is offered)";
		return -1;
	}
	if (!(enabled & (v6 ? PVB_OFL_LSO6 : PVB_OFL_LSO4))) {
		*why = "LSOv2 request the guest did not enable";
		return -1;
	}
	r->l4_proto = IPPROTO_TCP;
	r->family = v6 ? 6 : 4;
	r->l4_off = (uint16_t)PVB_RNDIS_LSO2_TCP_OFF(v);
	r->mss = PVB_RNDIS_LSO2_MSS(v);
	if (r->mss == 0 || r->l4_off == 0) {
		*why = "LSOv2 request with MSS or TCP offset 0";
		return -1;
	}
	return 1;
}

/* TCPIP_CHKSUM TX request: one family, at most one of TCP and UDP. */
static int
ol_csum_req(uint32_t v, uint32_t enabled, struct nvport_ol_req *r, const char **why)
{
	bool v4 = v & PVB_RNDIS_TXCSUM_IPV4, v6 = v & PVB_RNDIS_TXCSUM_IPV6;
	bool tcp = v & PVB_RNDIS_TXCSUM_TCP, udp = v & PVB_RNDIS_TXCSUM_UDP;
	uint32_t need = 0;

	if (!tcp && !udp && !(v & PVB_RNDIS_TXCSUM_IP))
		return 0;	/* asks for nothing */
	if (v4 == v6 || (tcp && udp) || (v6 && (v & PVB_RNDIS_TXCSUM_IP))) {
		*why = "checksum request with no single IP version or L4 protocol";
		return -1;
	}
	if (tcp)
		need |= v4 ? PVB_OFL_TX_TCP4 : PVB_OFL_TX_TCP6;
	if (udp)
		need |= v4 ? PVB_OFL_TX_UDP4 : PVB_OFL_TX_UDP6;
	if (v & PVB_RNDIS_TXCSUM_IP)
		need |= PVB_OFL_TX_IP4;
	if ((enabled & need) != need) {
		*why = "checksum request the guest did not enable";
		return -1;
	}
	r->l4_proto = tcp ? IPPROTO_TCP : udp ? IPPROTO_UDP : 0;
	r->family = v4 ? 4 : 6;
	r->ip_csum = (v & PVB_RNDIS_TXCSUM_IP) != 0;
	r->l4_off = (uint16_t)PVB_RNDIS_TXCSUM_L4_OFF(v);
	return 1;
}

int
nvport_ol_from_tx_ppi(const struct pvb_rndis_pktinfo *pi, uint32_t enabled,
		      struct nvport_ol_req *r, const char **why)
{
	memset(r, 0, sizeof(*r));
	/* LSO implies the TCP checksum: a checksum PPI beside it adds nothing */
	if (pi->present & PVB_PI_LSO)
		return ol_lso_req(pi->lso, enabled, r, why);
	if (pi->present & PVB_PI_CSUM)
		return ol_csum_req(pi->csum, enabled, r, why);
	return 0;
}

/* ---- mbuf flags -> PPIs --------------------------------------------------------- */

/* The L3 and L4 of @p m: the PMD's packet type when it says, else parsed. */
static uint32_t
ol_ptype(const struct rte_mbuf *m)
{
	uint32_t pt = m->packet_type;

	if ((pt & RTE_PTYPE_L3_MASK) == 0 || (pt & RTE_PTYPE_L4_MASK) == 0)
		pt = rte_net_get_ptype(m, NULL, PARSE_MASK);
	return pt;
}

uint32_t
nvport_ol_rx_result(const struct rte_mbuf *m, uint32_t enabled)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	bool l4_known = l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD || l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD;
	bool ip_known = ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD || ip == RTE_MBUF_F_RX_IP_CKSUM_BAD;
	uint32_t pt, v = 0, p4;
	bool v4;

	if (!l4_known && !ip_known)
		return 0;
	pt = ol_ptype(m);
	v4 = RTE_ETH_IS_IPV4_HDR(pt);
	if (!v4 && !RTE_ETH_IS_IPV6_HDR(pt))
		return 0;
	if (v4 && ip_known && (enabled & PVB_OFL_RX_IP4))
		v |= ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD ? PVB_RNDIS_RXCSUM_IP_OK :
							 PVB_RNDIS_RXCSUM_IP_FAIL;
	p4 = pt & RTE_PTYPE_L4_MASK;
	if (l4_known && p4 == RTE_PTYPE_L4_TCP &&
	    (enabled & (v4 ? PVB_OFL_RX_TCP4 : PVB_OFL_RX_TCP6)))
		v |= l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD ? PVB_RNDIS_RXCSUM_TCP_OK :
							 PVB_RNDIS_RXCSUM_TCP_FAIL;
	if (l4_known && p4 == RTE_PTYPE_L4_UDP &&
	    (enabled & (v4 ? PVB_OFL_RX_UDP4 : PVB_OFL_RX_UDP6)))
		v |= l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD ? PVB_RNDIS_RXCSUM_UDP_OK :
							 PVB_RNDIS_RXCSUM_UDP_FAIL;
	return v;
}

uint32_t
nvport_ol_rx_good(uint64_t tx_flags, uint32_t enabled)
{
	uint64_t l4 = tx_flags & RTE_MBUF_F_TX_L4_MASK;
	bool v4 = (tx_flags & RTE_MBUF_F_TX_IPV4) != 0;
	bool tcp = l4 == RTE_MBUF_F_TX_TCP_CKSUM || (tx_flags & RTE_MBUF_F_TX_TCP_SEG);
	uint32_t v = 0;

	if (!v4 && !(tx_flags & RTE_MBUF_F_TX_IPV6))
		return 0;
	if (v4 && (enabled & PVB_OFL_RX_IP4))
		v |= PVB_RNDIS_RXCSUM_IP_OK;
	if (tcp && (enabled & (v4 ? PVB_OFL_RX_TCP4 : PVB_OFL_RX_TCP6)))
		v |= PVB_RNDIS_RXCSUM_TCP_OK;
	if (l4 == RTE_MBUF_F_TX_UDP_CKSUM && (enabled & (v4 ? PVB_OFL_RX_UDP4 : PVB_OFL_RX_UDP6)))
		v |= PVB_RNDIS_RXCSUM_UDP_OK;
	return v;
}

uint64_t
nvport_ol_tx_ppi(const struct rte_mbuf *m, uint32_t enabled, struct pvb_rndis_pktinfo *pi)
{
	uint64_t f = m->ol_flags, l4 = f & RTE_MBUF_F_TX_L4_MASK, ipc = f & RTE_MBUF_F_TX_IP_CKSUM;
	bool v6 = (f & RTE_MBUF_F_TX_IPV6) != 0;
	uint32_t off = (uint32_t)m->l2_len + m->l3_len, need = 0, v;

	/* the PPIs carry the L4 offset in 10 bits */
	if (off > 0x3ff || (!v6 && !(f & RTE_MBUF_F_TX_IPV4)))
		return 0;
	if (f & RTE_MBUF_F_TX_TCP_SEG) {
		if (!(enabled & (v6 ? PVB_OFL_LSO6 : PVB_OFL_LSO4)) || m->tso_segsz == 0)
			return 0;
		pi->present |= PVB_PI_LSO;
		pi->lso = PVB_RNDIS_LSO2_MK(m->tso_segsz, off, v6);
		/* the host fills every segment's checksums */
		return RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IP_CKSUM;
	}
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM)
		need |= v6 ? PVB_OFL_TX_TCP6 : PVB_OFL_TX_TCP4;
	else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM)
		need |= v6 ? PVB_OFL_TX_UDP6 : PVB_OFL_TX_UDP4;
	else if (l4 != 0)
		return 0;	/* SCTP */
	if (ipc && v6)
		return 0;	/* IPv6 has no header checksum: a malformed request */
	if (ipc)
		need |= PVB_OFL_TX_IP4;
	if (need == 0 || (enabled & need) != need)
		return 0;
	v = (v6 ? PVB_RNDIS_TXCSUM_IPV6 : PVB_RNDIS_TXCSUM_IPV4) | PVB_RNDIS_TXCSUM_MK_OFF(off);
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM)
		v |= PVB_RNDIS_TXCSUM_TCP;
	if (l4 == RTE_MBUF_F_TX_UDP_CKSUM)
		v |= PVB_RNDIS_TXCSUM_UDP;
	if (ipc)
		v |= PVB_RNDIS_TXCSUM_IP;
	pi->present |= PVB_PI_CSUM;
	pi->csum = v;
	return l4 | ipc;
}

void
nvport_ol_bad(struct nvport *p, pvb_counter_t *c, const char *dir, const char *why)
{
	const struct nvport_side *side = nvport_side_of(p->port_id);
	uint64_t now = rte_get_timer_cycles();

	pvb_counter_add(c, 1);
	/* racy between the rx and tx lcores at worst: one line more */
	if (now < p->ol_log_next)
		return;
	p->ol_log_next = now + rte_get_timer_hz();
	rte_log(RTE_LOG_WARNING, side != NULL ? (uint32_t)*side->logtype : RTE_LOGTYPE_PMD,
		"%s: %s offload request dropped: %s\n", p->path, dir, why);
}
