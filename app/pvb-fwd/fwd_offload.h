/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * What fwd_datapath.c asks of a frame's offload request before it goes out
 * (doc/pvb-fwd.md, "Offloads"): its length on the wire, the receive-side
 * form DPDK's net_vhost gives made a request, and whether a burst holds a
 * request its output port lacks. Included by fwd_datapath.c only: the hot
 * path inlines it.
 */

#ifndef _FWD_OFFLOAD_H_
#define _FWD_OFFLOAD_H_

#include <stdbool.h>

#include <rte_mbuf.h>
#include <rte_net.h>

#include "fwd_run.h"
#include "pvb_swol.h"

/*
 * The longest frame @p m becomes on the wire: a TCP segment of it when it
 * asks for segmentation (only ports that segment are given such a frame).
 */
static inline uint32_t
wire_len(const struct rte_mbuf *m)
{
	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)
		return (uint32_t)m->l2_len + m->l3_len + m->l4_len + m->tso_segsz;
	return m->pkt_len;
}

/*
 * The receive-side form of a request, as DPDK's net_vhost gives it (its
 * default since 21.05 is the mbuf API's "compliant" form): RX_LRO with
 * tso_segsz for a segment a virtio driver asked to have cut, RX_L4_CKSUM_NONE
 * for a checksum it left partial. Made the transmit-side request pvbridge's
 * PMDs give (doc/offload.md) from the frame's parsed headers, so that the
 * output port or pvb_swol does it. False: the headers are not TCP/UDP over IP.
 */
static bool
rx_form_to_request(struct rte_mbuf *m)
{
	struct rte_net_hdr_lens hl;
	uint32_t pt = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK |
					RTE_PTYPE_L4_MASK);
	uint64_t f = m->ol_flags & ~(RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	uint32_t l4 = pt & RTE_PTYPE_L4_MASK;

	if (RTE_ETH_IS_IPV4_HDR(pt))
		f |= RTE_MBUF_F_TX_IPV4;
	else if (RTE_ETH_IS_IPV6_HDR(pt))
		f |= RTE_MBUF_F_TX_IPV6;
	else
		return false;
	if (l4 == RTE_PTYPE_L4_TCP)
		f |= RTE_MBUF_F_TX_TCP_CKSUM;
	else if (l4 == RTE_PTYPE_L4_UDP && !(m->ol_flags & RTE_MBUF_F_RX_LRO))
		f |= RTE_MBUF_F_TX_UDP_CKSUM;
	else
		return false;
	if ((m->ol_flags & RTE_MBUF_F_RX_LRO) && m->tso_segsz != 0)
		f |= RTE_MBUF_F_TX_TCP_SEG;
	m->l2_len = hl.l2_len;
	m->l3_len = hl.l3_len;
	m->l4_len = hl.l4_len;
	m->ol_flags = f;
	return true;
}

/* Flags saying a frame asks for something: a request, or its receive-side form. */
#define FWD_OL_ASKED	(PVB_SWOL_FLAGS | RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_MASK)

static inline bool
rx_form(const struct rte_mbuf *m)
{
	return (m->ol_flags & RTE_MBUF_F_RX_LRO) ||
	       (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE;
}

/* Whether a frame of @p pkts asks for an offload @p port lacks (then they take send_to()). */
static inline bool
burst_needs_sw(const struct fwd_run *r, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	uint64_t can = r->st->port[port].tx_can;
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (likely(!(pkts[i]->ol_flags & FWD_OL_ASKED)))
			continue;
		if (rx_form(pkts[i]) || (can != PVB_SWOL_FLAGS && pvb_swol_needed(pkts[i], can)))
			return true;
	}
	return false;
}

#endif /* _FWD_OFFLOAD_H_ */
