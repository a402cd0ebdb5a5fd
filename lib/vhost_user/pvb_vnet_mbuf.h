/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VNET_MBUF_H_
#define _PVB_VNET_MBUF_H_

/*
 * The virtio-net offloads of pvb_vhost_user.h (struct pvb_vnet_ol) in DPDK's
 * mbuf terms, for the two virtio PMDs (net_pvb_vhost, net_pvb_virtio).
 * Header-only and not part of the library, which stays libc only. The
 * mapping is the mbuf contract of doc/vhost.md, "Offloads":
 *
 *   virtio-net header               mbuf
 *   NEEDS_CSUM, TCP / UDP           TX_IPV4|TX_IPV6, TX_TCP_CKSUM / TX_UDP_CKSUM, l2/l3/l4_len
 *   + GSO TCPV4 / TCPV6, gso_size   + TX_TCP_SEG, tso_segsz
 *   DATA_VALID                      RX_L4_CKSUM_GOOD (+ RX_IP_CKSUM_GOOD / _BAD, IPv4, checked)
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "pvb_vhost_user.h"

/** The TX requests a virtio-net header can carry. */
#define PVB_VNET_TX_REQ	(RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IP_CKSUM)

/**
 * What the acked @p features let the peer ask for: GUEST_* (@p to_driver)
 * or CSUM/HOST_*. A TSO feature counts without its checksum feature, which
 * VIRTIO 1.2 §5.1.3.1 says it requires: DPDK 22.11's virtio PMD acks
 * GUEST_TSO4/6 without GUEST_CSUM when LRO is on and the checksum offloads
 * are not, and takes GSO frames (with their NEEDS_CSUM) all the same, as
 * DPDK's vhost library sends them; a checksum alone still needs the
 * checksum feature.
 */
static inline uint32_t
pvb_vnet_accept(uint64_t features, bool to_driver)
{
	uint32_t a = 0;

	if ((features >> (to_driver ? PVB_VIRTIO_NET_F_GUEST_CSUM : PVB_VIRTIO_NET_F_CSUM)) & 1)
		a |= PVB_VNET_ACCEPT_CSUM;
	if ((features >> (to_driver ? PVB_VIRTIO_NET_F_GUEST_TSO4 : PVB_VIRTIO_NET_F_HOST_TSO4)) & 1)
		a |= PVB_VNET_ACCEPT_TSO4;
	if ((features >> (to_driver ? PVB_VIRTIO_NET_F_GUEST_TSO6 : PVB_VIRTIO_NET_F_HOST_TSO6)) & 1)
		a |= PVB_VNET_ACCEPT_TSO6;
	return a;
}

/** The TX requests of @p m a peer that accepts @p accept takes (the `can` of pvb_swol). */
static inline uint64_t
pvb_vnet_can(const struct rte_mbuf *m, uint32_t accept)
{
	uint64_t can = 0;

	/* the IPv4 header checksum: filled as the header is written (pvb_vnet_tx_hdr()) */
	can |= RTE_MBUF_F_TX_IP_CKSUM;
	if (accept & PVB_VNET_ACCEPT_CSUM)
		can |= RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
	if (accept & ((m->ol_flags & RTE_MBUF_F_TX_IPV6) ? PVB_VNET_ACCEPT_TSO6 :
							   PVB_VNET_ACCEPT_TSO4))
		can |= RTE_MBUF_F_TX_TCP_SEG;
	return can;
}

/** Put what pvb_vnet_rx_ol() found into @p m (its offsets only with a request). */
static inline void
pvb_vnet_ol_to_mbuf(const struct pvb_vnet_ol *ol, struct rte_mbuf *m)
{
	uint64_t f = 0;

	if (ol->flags & PVB_VNET_OL_CSUM) {
		f |= (ol->flags & PVB_VNET_OL_IPV4) ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6;
		f |= (ol->flags & PVB_VNET_OL_TCP) ? RTE_MBUF_F_TX_TCP_CKSUM :
						     RTE_MBUF_F_TX_UDP_CKSUM;
		if (ol->flags & PVB_VNET_OL_TSO) {
			f |= RTE_MBUF_F_TX_TCP_SEG;
			m->tso_segsz = ol->mss;
		}
		m->l2_len = ol->l2_len;
		m->l3_len = ol->l3_len;
		m->l4_len = ol->l4_len;
	}
	if (ol->flags & PVB_VNET_OL_L4_GOOD)
		f |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	if (ol->flags & PVB_VNET_OL_IP_GOOD)
		f |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	else if (ol->flags & PVB_VNET_OL_IP_BAD)
		f |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
	m->ol_flags |= f;
}

/**
 * The request of @p m for pvb_vnet_tx_hdr(): CSUM / TSO with the
 * application's offsets, else L4_GOOD when @p m was received verified (L4
 * good, IPv4 header not known bad) and @p vouch (the peer takes DATA_VALID).
 */
static inline void
pvb_vnet_ol_from_mbuf(const struct rte_mbuf *m, bool vouch, struct pvb_vnet_ol *ol)
{
	uint64_t f = m->ol_flags;

	ol->flags = 0;
	ol->l2_len = (uint16_t)m->l2_len;
	ol->l3_len = (uint16_t)m->l3_len;
	ol->l4_len = (uint16_t)m->l4_len;
	ol->mss = m->tso_segsz;
	if (f & RTE_MBUF_F_TX_TCP_SEG)
		ol->flags = PVB_VNET_OL_TSO | PVB_VNET_OL_CSUM | PVB_VNET_OL_TCP;
	else if ((f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM)
		ol->flags = PVB_VNET_OL_CSUM | PVB_VNET_OL_TCP;
	else if ((f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM)
		ol->flags = PVB_VNET_OL_CSUM | PVB_VNET_OL_UDP;
	if (f & RTE_MBUF_F_TX_IP_CKSUM)
		ol->flags |= PVB_VNET_OL_IP_CKSUM;
	if (ol->flags != 0) {
		if (f & RTE_MBUF_F_TX_IPV4)
			ol->flags |= PVB_VNET_OL_IPV4;
		else if (f & RTE_MBUF_F_TX_IPV6)
			ol->flags |= PVB_VNET_OL_IPV6;
		return;
	}
	if (vouch && (f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	    (f & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_BAD)
		ol->flags = PVB_VNET_OL_L4_GOOD;
}

/** Rate limit for a burst's log lines: true at most once a second per @p last. */
static inline bool
pvb_vnet_log_due(uint64_t *last)
{
	uint64_t now = rte_get_timer_cycles();

	if (*last != 0 && now - *last < rte_get_timer_hz())
		return false;
	*last = now;
	return true;
}

#endif /* _PVB_VNET_MBUF_H_ */
