/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_SWOL_H_
#define _PVB_SWOL_H_

/**
 * @file
 * Software offload: what a frame asks for (checksums, TCP segmentation) done
 * on the CPU, for a transmitter whose peer does not take that offload. Every
 * pvbridge PMD's tx path and pvb-fwd (for ports of other drivers) use it, so
 * a request in an mbuf is honoured whatever the receiving side negotiated.
 *
 * The input is an mbuf in the form doc/offload.md calls canonical: the
 * headers (L2 to L4) in the first segment, l2_len/l3_len/l4_len set, IP
 * lengths true, the IPv4 header checksum valid, RTE_MBUF_F_TX_IPV4 or _IPV6
 * with RTE_MBUF_F_TX_TCP_CKSUM / _UDP_CKSUM and, to segment,
 * RTE_MBUF_F_TX_TCP_SEG with tso_segsz. The L4 checksum field's content does
 * not matter: it is computed from the bytes.
 *
 * TCP over IPv4 is segmented by DPDK's rte_gso (the segments refer to the
 * input's data: a frame in a guest's buffer stays there); DPDK 22.11's
 * rte_gso has no TCP over IPv6, so those segments are copied here.
 */

#include <stdint.h>

#include <rte_gso.h>
#include <rte_mbuf.h>

/** The TX request flags pvb_swol_apply() can do in software. */
#define PVB_SWOL_FLAGS	(RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IP_CKSUM)

/** Output room a caller gives pvb_swol_apply(): a 64 KB frame at an MSS of 512 or more. */
#define PVB_SWOL_MAX_SEGS	128

/** Software offload state of one tx queue (or one forwarding lcore): single-threaded. */
struct pvb_swol {
	struct rte_gso_ctx gso;		/* pools: header copies, payload references */
	struct rte_mempool *copy;	/* IPv6 segments */
};

/**
 * Make the pools of @p s (a few hundred mbufs) on @p socket_id, named after
 * @p name (at most 16 characters, unique in the process). Call it from a
 * control path: creating a pool can grow DPDK's heap, and a heap that grows
 * in a burst can wait on that burst. 0 or -errno.
 */
int pvb_swol_init(struct pvb_swol *s, const char *name, int socket_id);

/** Free the pools of @p s; an @p s never set up (zeroed) or already freed is fine. */
void pvb_swol_fini(struct pvb_swol *s);

/** True if @p m asks for something outside @p can (a mask of PVB_SWOL_FLAGS bits). */
static inline int
pvb_swol_needed(const struct rte_mbuf *m, uint64_t can)
{
	uint64_t want = m->ol_flags & PVB_SWOL_FLAGS;

	if (want == 0)
		return 0;
	if ((want & RTE_MBUF_F_TX_TCP_SEG) && !(can & RTE_MBUF_F_TX_TCP_SEG))
		return 1;
	if ((want & RTE_MBUF_F_TX_IP_CKSUM) && !(can & RTE_MBUF_F_TX_IP_CKSUM))
		return 1;
	/* a segmenting peer fills the checksums of its segments */
	if (want & RTE_MBUF_F_TX_TCP_SEG)
		return 0;
	return (want & RTE_MBUF_F_TX_L4_MASK) != 0 && (can & RTE_MBUF_F_TX_L4_MASK) == 0;
}

/**
 * Do in software what @p m asks for that @p can (the TX request flags the
 * peer takes) does not cover. On success the frames to send instead of
 * @p m are in @p out[0, ret): @p m itself (checksums filled, the flags
 * cleared), or its segments, each with its checksums filled (@p m is
 * freed). A negative errno leaves @p m as it was: -EINVAL (the headers do
 * not match the request), -E2BIG (more than @p cap segments), -ENOMEM.
 */
int pvb_swol_apply(struct pvb_swol *s, struct rte_mbuf *m, uint64_t can,
		   struct rte_mbuf **out, uint16_t cap);

/** Fill the L4 (and, if asked, IPv4 header) checksum of @p m in place and clear the requests. 0 or -EINVAL. */
int pvb_swol_cksum(struct rte_mbuf *m);

#endif /* _PVB_SWOL_H_ */
