/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Checksums and TCP segmentation in software, for a transmitter whose peer
 * does not take the offload a frame asks for (pvb_swol.h).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "pvb_swol.h"

/*
 * Pool sizes: a 64 KB frame at MSS 1448 is 46 segments of one header copy
 * and one or two payload references each; a zero-copy transmitter holds
 * them until its peer is done. A frame that finds a pool empty fails with
 * -ENOMEM and its transmitter counts it.
 */
#define SWOL_HDRS	1023
#define SWOL_REFS	2047
#define SWOL_COPIES	511
#define SWOL_CACHE	32
#define SWOL_HDR_ROOM	(RTE_PKTMBUF_HEADROOM + 192)	/* L2 + IP + TCP with options */
/* What an mbuf's own buffer is: never copied from another mbuf's flags */
#define SWOL_BUF_FLAGS	(RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT)

int
pvb_swol_init(struct pvb_swol *s, const char *name, int socket_id)
{
	char n[RTE_MEMPOOL_NAMESIZE];

	memset(s, 0, sizeof(*s));
	snprintf(n, sizeof(n), "%s_h", name);
	s->gso.direct_pool = rte_pktmbuf_pool_create(n, SWOL_HDRS, SWOL_CACHE, 0,
						     SWOL_HDR_ROOM, socket_id);
	snprintf(n, sizeof(n), "%s_r", name);
	s->gso.indirect_pool = rte_pktmbuf_pool_create(n, SWOL_REFS, SWOL_CACHE, 0, 0, socket_id);
	snprintf(n, sizeof(n), "%s_c", name);
	s->copy = rte_pktmbuf_pool_create(n, SWOL_COPIES, SWOL_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, socket_id);
	if (s->gso.direct_pool == NULL || s->gso.indirect_pool == NULL || s->copy == NULL) {
		int err = rte_errno != 0 ? rte_errno : ENOMEM;

		pvb_swol_fini(s);
		return -err;
	}
	s->gso.gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO;
	s->gso.flag = 0;	/* incrementing IPv4 ids, as a NIC's TSO does */
	return 0;
}

void
pvb_swol_fini(struct pvb_swol *s)
{
	rte_mempool_free(s->gso.direct_pool);
	rte_mempool_free(s->gso.indirect_pool);
	rte_mempool_free(s->copy);
	memset(s, 0, sizeof(*s));
}

/*
 * The request of @p m checked against its headers: the IP version the flags
 * say, the L4 protocol the checksum flag says, all headers inside the first
 * segment, the IP length inside the frame. The L4 length, or -EINVAL.
 */
static int
swol_check(const struct rte_mbuf *m)
{
	uint64_t f = m->ol_flags, l4 = f & RTE_MBUF_F_TX_L4_MASK;
	uint32_t hdrs = (uint32_t)m->l2_len + m->l3_len, l4min, iplen;
	uint8_t proto;
	int tso = (f & RTE_MBUF_F_TX_TCP_SEG) != 0;

	if (tso && l4 != RTE_MBUF_F_TX_TCP_CKSUM && l4 != 0)
		return -EINVAL;
	if (tso || l4 == RTE_MBUF_F_TX_TCP_CKSUM) {
		proto = IPPROTO_TCP;
		l4min = sizeof(struct rte_tcp_hdr);
	} else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM) {
		proto = IPPROTO_UDP;
		l4min = sizeof(struct rte_udp_hdr);
	} else if (l4 == 0) {
		proto = 0;
		l4min = 0;
	} else {
		return -EINVAL;	/* SCTP: nobody here asks for it */
	}
	if (tso && (m->l4_len < l4min || m->tso_segsz == 0))
		return -EINVAL;
	if (tso)
		l4min = m->l4_len;	/* the whole TCP header, options too, is copied per segment */
	if (m->l2_len < RTE_ETHER_HDR_LEN || hdrs + l4min > m->data_len)
		return -EINVAL;
	if (f & RTE_MBUF_F_TX_IPV4) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const void *, m->l2_len);

		if ((ip->version_ihl >> 4) != 4 || rte_ipv4_hdr_len(ip) != m->l3_len ||
		    (proto != 0 && ip->next_proto_id != proto))
			return -EINVAL;
		iplen = rte_be_to_cpu_16(ip->total_length);
		if (iplen < m->l3_len + l4min || iplen > m->pkt_len - m->l2_len)
			return -EINVAL;
		return (int)(iplen - m->l3_len);
	}
	if (f & RTE_MBUF_F_TX_IPV6) {
		const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, const void *, m->l2_len);

		/* DPDK's IPv6 checksum helpers take no extension headers */
		if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6 || m->l3_len != sizeof(*ip) ||
		    (proto != 0 && ip->proto != proto) || (f & RTE_MBUF_F_TX_IP_CKSUM))
			return -EINVAL;
		iplen = rte_be_to_cpu_16(ip->payload_len);
		if (iplen < l4min || iplen > m->pkt_len - hdrs)
			return -EINVAL;
		return (int)iplen;
	}
	return -EINVAL;
}

/* The L4 checksum field of @p m, whose protocol swol_check() accepted. */
static uint16_t *
swol_l4_cksum(struct rte_mbuf *m, uint64_t l4)
{
	uint32_t at = (uint32_t)m->l2_len + m->l3_len;

	if (l4 == RTE_MBUF_F_TX_UDP_CKSUM)
		return rte_pktmbuf_mtod_offset(m, uint16_t *, at + offsetof(struct rte_udp_hdr,
									    dgram_cksum));
	return rte_pktmbuf_mtod_offset(m, uint16_t *, at + offsetof(struct rte_tcp_hdr, cksum));
}

/* Checksums of a frame swol_check() accepted; @p l4 is the L4 request (TCP for a segment). */
static void
swol_fill(struct rte_mbuf *m, uint64_t l4, int ip_cksum)
{
	uint16_t *ck = l4 != 0 ? swol_l4_cksum(m, l4) : NULL;

	if (m->ol_flags & RTE_MBUF_F_TX_IPV4) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, void *, m->l2_len);

		if (ip_cksum) {
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
		if (ck != NULL) {
			*ck = 0;
			*ck = rte_ipv4_udptcp_cksum_mbuf(m, ip, m->l2_len + m->l3_len);
		}
	} else if (ck != NULL) {
		const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, const void *, m->l2_len);

		*ck = 0;
		*ck = rte_ipv6_udptcp_cksum_mbuf(m, ip, m->l2_len + m->l3_len);
	}
	m->ol_flags &= ~PVB_SWOL_FLAGS;
}

int
pvb_swol_cksum(struct rte_mbuf *m)
{
	if (swol_check(m) < 0 || (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG))
		return -EINVAL;
	swol_fill(m, m->ol_flags & RTE_MBUF_F_TX_L4_MASK, !!(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM));
	return 0;
}

/*
 * One IPv6 segment: the headers of @p m, then @p len payload bytes from
 * @p off, copied into mbufs of the copy pool (chained when they do not fit
 * one), lengths and TCP sequence and flags adjusted. NULL if the pool is empty.
 */
static struct rte_mbuf *
swol_copy_seg(struct pvb_swol *s, const struct rte_mbuf *m, uint32_t off, uint32_t len,
	      int last)
{
	uint32_t hdrs = (uint32_t)m->l2_len + m->l3_len + m->l4_len, done = 0, k;
	struct rte_mbuf *seg = rte_pktmbuf_alloc(s->copy), *tail = seg, *t;
	struct rte_ipv6_hdr *ip;
	struct rte_tcp_hdr *th;
	const void *src;
	uint8_t *p;

	if (seg == NULL)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(seg, (uint16_t)hdrs);
	memcpy(p, rte_pktmbuf_mtod(m, const void *), hdrs);
	while (done < len) {
		k = RTE_MIN(len - done, (uint32_t)rte_pktmbuf_tailroom(tail));
		if (k == 0) {
			t = rte_pktmbuf_alloc(s->copy);
			if (t == NULL || rte_pktmbuf_chain(seg, t) != 0) {
				rte_pktmbuf_free(t);
				rte_pktmbuf_free(seg);
				return NULL;
			}
			tail = t;
			continue;
		}
		p = rte_pktmbuf_mtod_offset(tail, uint8_t *, tail->data_len);
		/* inside the frame: the caller's offsets come from swol_check()'s lengths */
		src = rte_pktmbuf_read(m, off + done, k, p);
		if (src == NULL) {
			rte_pktmbuf_free(seg);
			return NULL;
		}
		if (src != p)
			memcpy(p, src, k);
		tail->data_len = (uint16_t)(tail->data_len + k);
		seg->pkt_len += k;
		done += k;
	}
	seg->ol_flags = m->ol_flags & ~RTE_MBUF_F_TX_TCP_SEG;
	seg->l2_len = m->l2_len;
	seg->l3_len = m->l3_len;
	seg->l4_len = m->l4_len;
	seg->port = m->port;
	ip = rte_pktmbuf_mtod_offset(seg, struct rte_ipv6_hdr *, m->l2_len);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)(m->l4_len + len));
	th = rte_pktmbuf_mtod_offset(seg, struct rte_tcp_hdr *, m->l2_len + m->l3_len);
	th->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(th->sent_seq) +
					(off - hdrs));
	if (!last)
		th->tcp_flags &= (uint8_t)~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
	return seg;
}

/* TCP over IPv6 cut into segments of tso_segsz payload bytes, copied. */
static int
swol_gso6(struct pvb_swol *s, struct rte_mbuf *m, uint32_t l4len, struct rte_mbuf **out,
	  uint16_t cap)
{
	uint32_t hdrs = (uint32_t)m->l2_len + m->l3_len + m->l4_len;
	uint32_t payload = l4len - m->l4_len, mss = m->tso_segsz, off, n, i;

	n = payload == 0 ? 1 : (payload + mss - 1) / mss;
	if (n > cap)
		return -E2BIG;
	for (i = 0, off = hdrs; i < n; i++, off += mss) {
		uint32_t len = RTE_MIN(mss, hdrs + payload - off);

		out[i] = swol_copy_seg(s, m, off, len, i == n - 1);
		if (out[i] == NULL) {
			rte_pktmbuf_free_bulk(out, i);
			return -ENOMEM;
		}
	}
	return (int)n;
}

/* TCP over IPv4 by rte_gso: the segments refer to @p m's data. */
static int
swol_gso4(struct pvb_swol *s, struct rte_mbuf *m, struct rte_mbuf **out, uint16_t cap)
{
	struct rte_gso_ctx ctx = s->gso;
	uint32_t size = (uint32_t)m->l2_len + m->l3_len + m->l4_len + m->tso_segsz;
	int n;

	/* rte_gso's gso_size is the whole segment, headers included */
	if (size > UINT16_MAX)
		return -EINVAL;
	ctx.gso_size = (uint16_t)size;
	n = rte_gso_segment(m, &ctx, out, cap);
	if (n == -EINVAL && cap < PVB_SWOL_MAX_SEGS)
		return -E2BIG;
	if (n < 0)
		return n;
	if (n == 0) {
		/* a frame that fits one segment: it goes as it is */
		m->ol_flags &= ~RTE_MBUF_F_TX_TCP_SEG;
		out[0] = m;
		return 1;
	}
	return n;
}

int
pvb_swol_apply(struct pvb_swol *s, struct rte_mbuf *m, uint64_t can, struct rte_mbuf **out,
	       uint16_t cap)
{
	uint64_t f = m->ol_flags;
	int l4len = swol_check(m), n, i;

	if (l4len < 0)
		return l4len;
	if (cap == 0)
		return -E2BIG;
	if ((f & RTE_MBUF_F_TX_TCP_SEG) && (can & RTE_MBUF_F_TX_TCP_SEG)) {
		/* the peer segments (and fills the TCP checksums): an IPv4 header checksum at most */
		if ((f & RTE_MBUF_F_TX_IP_CKSUM) && !(can & RTE_MBUF_F_TX_IP_CKSUM)) {
			struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, void *, m->l2_len);

			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
			m->ol_flags &= ~RTE_MBUF_F_TX_IP_CKSUM;
		}
		out[0] = m;
		return 1;
	}
	if (!(f & RTE_MBUF_F_TX_TCP_SEG)) {
		swol_fill(m, f & RTE_MBUF_F_TX_L4_MASK, !!(f & RTE_MBUF_F_TX_IP_CKSUM));
		out[0] = m;
		return 1;
	}
	if (s->gso.direct_pool == NULL)
		return -ENOMEM;
	n = (f & RTE_MBUF_F_TX_IPV4) ? swol_gso4(s, m, out, cap) :
				       swol_gso6(s, m, (uint32_t)l4len, out, cap);
	if (n < 0)
		return n;
	/*
	 * rte_gso leaves the checksums to the caller; a copied segment carries
	 * the request too. A segment's first mbuf is a direct one from our
	 * pools: rte_gso (22.11) gives it the input's flags, RTE_MBUF_F_EXTERNAL
	 * of an input in an external buffer among them, and freeing it would
	 * then release a buffer it never had. (A frame that fits one segment
	 * goes as it is: @p m keeps its own.)
	 */
	for (i = 0; i < n; i++) {
		out[i]->ol_flags = (out[i] == m ? f & SWOL_BUF_FLAGS : 0) |
				   (f & ~(PVB_SWOL_FLAGS | SWOL_BUF_FLAGS)) | RTE_MBUF_F_TX_TCP_CKSUM;
		out[i]->l2_len = m->l2_len;
		out[i]->l3_len = m->l3_len;
		out[i]->l4_len = m->l4_len;
		swol_fill(out[i], RTE_MBUF_F_TX_TCP_CKSUM, (f & RTE_MBUF_F_TX_IPV4) != 0);
	}
	if (out[0] != m)
		rte_pktmbuf_free(m);
	return n;
}
