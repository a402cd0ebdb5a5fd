/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _NVSP_VSC_PVT_H_
#define _NVSP_VSC_PVT_H_

/*
 * Internals of the guest (VSC) state machine, shared by nvsp_vsc.c (init,
 * answers, requests) and nvsp_vsc_send.c (what to send). Include
 * pvb_nvsp.h instead.
 */

#include "pvb_nvsp.h"

#define ETH_HLEN		14u
#define MTU_DEFAULT		1500u
#define MTU_MIN			68u	/* IPv4's minimum */
#define MTU_MAX			65535u
#define SLOT_MIN		64u	/* a PACKET_MSG header and a minimal frame */
#define SECTION_MIN		68u	/* Linux's minimum send section */
#define PKTS_PER_MSG_MAX	64u
#define ALIGN_FACTOR_MAX	12u	/* 4 KiB */
#define ALIGN_MIN		4u	/* DPDK's floor: PPIs are u32 arrays */
#define NDIS_MAJOR		6u
#define NDIS_MINOR_V4		1u	/* NDIS 6.1 up to NVSP v4 */
#define NDIS_MINOR_V5		30u	/* NDIS 6.30 from NVSP v5 */
#define FILTER_DEFAULT		(PVB_RNDIS_FILTER_DIRECTED | PVB_RNDIS_FILTER_ALL_MULTICAST | \
				 PVB_RNDIS_FILTER_BROADCAST)
#define RNDIS_COMPLETION_BIT	0x80000000u

enum { PRE_NDIS_CONFIG, PRE_NDIS_VER, PRE_RECV_BUF };
enum { Q_MAC, Q_MTU, Q_LINK, Q_CAPS, Q_OFFLOAD, Q_RSS_CAPS, Q_SUBCH, Q_FILTER };

#define STEP_SET		0x80000000u	/* a SET of the filter in the low bits is out */
#define FILTER_BITS		0x7fffffffu	/* NDIS filter bits end far below bit 31 */

#define TD_FILTER		(1u << 0)	/* SET filter 0, wait for SET_CMPLT */
#define TD_FILTER_OUT		(1u << 1)	/* that SET is the one outstanding */
#define TD_HALT			(1u << 2)	/* RNDIS HALT, no completion */
#define TD_REVOKE_RECV		(1u << 3)
#define TD_REVOKE_SEND		(1u << 4)

/* Fail the channel: the first reason sticks; nothing is outstanding any more. */
int vsc_fail(struct pvb_vsc *g, const char *why);

#endif /* _NVSP_VSC_PVT_H_ */
