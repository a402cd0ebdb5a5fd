/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The virtio-net header (VIRTIO 1.2 §5.1.6) in front of every frame: its
 * length for the acked features, gathered from however many descriptors
 * the driver spread it over, and checked before anything trusts its
 * offsets.
 */

#include <errno.h>
#include <string.h>

#include "vu_pvt.h"

#define HDR_LEN_LEGACY	10	/* without num_buffers */
#define HDR_LEN		12

uint32_t
pvb_vnet_hdr_len(uint64_t features)
{
	/* VIRTIO 1.2 §5.1.6: num_buffers is there with VERSION_1 or MRG_RXBUF */
	if (features & (VU_BIT(PVB_VIRTIO_F_VERSION_1) | VU_BIT(PVB_VIRTIO_NET_F_MRG_RXBUF)))
		return HDR_LEN;
	return HDR_LEN_LEGACY;
}

int
pvb_vnet_hdr_get(const struct pvb_virtq_chain *c, uint32_t hdr_len, struct pvb_vnet_hdr *h)
{
	uint8_t *out = (uint8_t *)h;
	uint32_t got = 0, i, k;

	if (c == NULL || h == NULL || (hdr_len != HDR_LEN && hdr_len != HDR_LEN_LEGACY) ||
	    c->nb_readable > PVB_VIRTQ_MAX_SEGS)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	/*
	 * A chain holding no byte after the header is no frame (CVE-2022-2132:
	 * DPDK vhost read past a chain of only a header, or a header split over
	 * more descriptors than it expected).
	 */
	if (c->readable_len <= hdr_len)
		return -EBADMSG;
	for (i = 0; i < c->nb_readable && got < hdr_len; i++) {
		k = c->seg[i].len < hdr_len - got ? c->seg[i].len : hdr_len - got;
		memcpy(out + got, c->seg[i].host, k);
		got += k;
	}
	if (got < hdr_len) {
		/* the segments hold fewer bytes than readable_len says: not from pop_avail */
		memset(h, 0, sizeof(*h));
		return -EBADMSG;
	}
	return 0;
}

const char *
pvb_vnet_hdr_check(const struct pvb_vnet_hdr *h, uint64_t frame_len)
{
	uint8_t gso = h->gso_type & (uint8_t)~PVB_VNET_GSO_ECN;

	if (h->flags & ~(PVB_VNET_HDR_F_NEEDS_CSUM | PVB_VNET_HDR_F_DATA_VALID))
		return "unknown flag";
	if (gso != PVB_VNET_GSO_NONE && gso != PVB_VNET_GSO_TCPV4 && gso != PVB_VNET_GSO_UDP &&
	    gso != PVB_VNET_GSO_TCPV6 && gso != PVB_VNET_GSO_UDP_L4)
		return "unknown gso_type";
	if (gso == PVB_VNET_GSO_NONE && (h->gso_type & PVB_VNET_GSO_ECN))
		return "ECN without GSO";
	/*
	 * CVE-2024-11614: DPDK vhost wrote the checksum at csum_start +
	 * csum_offset without checking that its two bytes lie in the frame.
	 */
	if ((h->flags & PVB_VNET_HDR_F_NEEDS_CSUM) &&
	    (uint64_t)h->csum_start + h->csum_offset + 2 > frame_len)
		return "checksum field beyond the frame";
	if (gso != PVB_VNET_GSO_NONE && !(h->flags & PVB_VNET_HDR_F_NEEDS_CSUM))
		return "GSO without NEEDS_CSUM";
	if (gso != PVB_VNET_GSO_NONE && h->gso_size == 0)
		return "GSO with gso_size 0";
	return NULL;
}
