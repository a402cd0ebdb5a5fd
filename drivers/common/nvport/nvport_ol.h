/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _NVPORT_OL_H_
#define _NVPORT_OL_H_

/**
 * @file
 * Offloads across a netvsc channel, the half both ends share: the RNDIS
 * per-packet info (checksum and LSOv2 PPIs) against DPDK's mbuf offload
 * flags, in the form every pvbridge PMD hands frames over in
 * (doc/netvsp-netvsc.md, "Offloads").
 *
 *  - a received request (a guest's TX checksum or LSOv2 PPI on the host, a
 *    large frame's LSOv2 PPI on the guest) is checked against the frame's
 *    own headers and turned into RTE_MBUF_F_TX_* flags with the frame in
 *    canonical form: IP lengths true, IPv4 header checksum valid, the L4
 *    checksum field the pseudo-header sum rte_net_intel_cksum_prepare()
 *    leaves;
 *  - a frame to send is read the other way: what the peer enabled goes
 *    into PPIs, the rest is done by pvb_swol.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "pvb_ordering.h"
#include "pvb_nvsp.h"

struct nvport;

/** What a peer asks of a frame it sends, read from its PPIs. */
struct nvport_ol_req {
	uint8_t l4_proto;	/**< IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;		/**< 4 or 6; 0: whichever the frame is */
	bool ip_csum;		/**< the IPv4 header checksum is to be computed */
	uint16_t l4_off;	/**< the L4 header from the frame's start; 0: not said */
	uint32_t mss;		/**< TCP segmentation to this MSS; 0: none */
};

/**
 * Check @p r against the headers of @p m (all inside its first segment),
 * restore the canonical form and set the TX flags, l2/l3/l4_len and
 * tso_segsz. A segmentation request whose payload fits one MSS becomes a
 * checksum request. NULL on success, else what failed (a constant string),
 * with @p m's flags untouched (its bytes may be: the caller drops it).
 */
const char *nvport_ol_request(struct rte_mbuf *m, const struct nvport_ol_req *r);

/**
 * The request of a guest's TCPIP_CHKSUM and TCP_LARGESEND PPIs in @p pi,
 * checked against what the guest enabled (PVB_OFL_* @p enabled). 0 when the
 * PPIs ask for nothing, 1 with *@p r filled, or -1 with *@p why set (a
 * request the guest did not enable, or a malformed one).
 */
int nvport_ol_from_tx_ppi(const struct pvb_rndis_pktinfo *pi, uint32_t enabled,
			  struct nvport_ol_req *r, const char **why);

/**
 * The TCPIP_CHKSUM RX-result value for the RX_*_CKSUM_GOOD/BAD flags of
 * @p m, for a guest that enabled the checksum results of @p enabled; 0: no
 * PPI (nothing verified, or not enabled for the frame's protocol).
 */
uint32_t nvport_ol_rx_result(const struct rte_mbuf *m, uint32_t enabled);

/**
 * The RX-result value saying every checksum of a frame that asked for
 * @p tx_flags (RTE_MBUF_F_TX_*, before software filled them) is good.
 */
uint32_t nvport_ol_rx_good(uint64_t tx_flags, uint32_t enabled);

/**
 * The PPIs a frame asking for TX offloads (@p m->ol_flags) is sent with,
 * for a peer that enabled @p enabled (the guest's TX side: checksum and
 * LSOv2 requests). Returns the RTE_MBUF_F_TX_* requests the peer takes (the
 * @p can of pvb_swol_apply()); what @p m asks beyond them must be done in
 * software first.
 */
uint64_t nvport_ol_tx_ppi(const struct rte_mbuf *m, uint32_t enabled,
			  struct pvb_rndis_pktinfo *pi);

/** The largest frame a TCP segmentation request may carry: 64 KB of IP after L2. */
#define NVPORT_OL_FRAME_MAX	(RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN + 65535u)

/** Count and log (at most once a second per port) a request that failed. */
void nvport_ol_bad(struct nvport *p, pvb_counter_t *c, const char *dir, const char *why);

#endif /* _NVPORT_OL_H_ */
