/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * NDIS task offload objects (doc/nvsp.md §3.7; the layouts are NDIS_OFFLOAD
 * and NDIS_OFFLOAD_PARAMETERS of Microsoft's ntddndis.h, the values the ones
 * Linux drivers/net/hyperv/rndis_filter.c and DPDK drivers/net/netvsc/
 * hn_rndis.c read and write): the host's capabilities and current
 * configuration, and the guest's parameters, as PVB_OFL_* masks.
 *
 * Both objects arrive from the peer: each is copied once into a private,
 * zeroed struct of the full size, and only the bytes its header's size
 * covers (checked against the bytes received) are read.
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "pvb_nvsp.h"

/* ---- NDIS_OFFLOAD ------------------------------------------------------------ */

/* The checksum capability word of one family and direction for @p mask. */
static uint32_t
csum_word(uint32_t mask, uint32_t tcp, uint32_t udp, uint32_t ip)
{
	uint32_t w = 0;

	if (mask & tcp)
		w |= PVB_NDIS_CSUM_TCP | PVB_NDIS_CSUM_TCP_OPT;
	if (mask & udp)
		w |= PVB_NDIS_CSUM_UDP;
	if (mask & ip)
		w |= PVB_NDIS_CSUM_IP4;
	/* options (IPv4) and extension headers (IPv6) are parsed like the rest */
	if (w != 0)
		w |= PVB_NDIS_CSUM_IP4_OPT;
	return w;
}

uint32_t
pvb_ndis_offload_encode(void *buf, uint32_t ndis_ver, uint32_t mask)
{
	struct pvb_ndis_offload o;
	uint32_t size;

	memset(&o, 0, sizeof(o));
	o.hdr.type = PVB_NDIS_OBJ_OFFLOAD;
	if (ndis_ver >= PVB_NDIS_VER_6_30) {
		o.hdr.revision = PVB_NDIS_OFFLOAD_REV_3;
		size = PVB_NDIS_OFFLOAD_SIZE_6_30;
		o.rsc_ip4 = (mask & PVB_OFL_RSC4) != 0;
		o.rsc_ip6 = (mask & PVB_OFL_RSC6) != 0;
	} else if (ndis_ver >= PVB_NDIS_VER_6_1) {
		o.hdr.revision = PVB_NDIS_OFFLOAD_REV_2;
		size = PVB_NDIS_OFFLOAD_SIZE_6_1;
	} else {
		o.hdr.revision = PVB_NDIS_OFFLOAD_REV_1;
		size = PVB_NDIS_OFFLOAD_SIZE_6_0;
	}
	o.hdr.size = (uint16_t)size;
	o.ip4_tx_csum = csum_word(mask, PVB_OFL_TX_TCP4, PVB_OFL_TX_UDP4, PVB_OFL_TX_IP4);
	o.ip4_rx_csum = csum_word(mask, PVB_OFL_RX_TCP4, PVB_OFL_RX_UDP4, PVB_OFL_RX_IP4);
	o.ip6_tx_csum = csum_word(mask, PVB_OFL_TX_TCP6, PVB_OFL_TX_UDP6, 0);
	o.ip6_rx_csum = csum_word(mask, PVB_OFL_RX_TCP6, PVB_OFL_RX_UDP6, 0);
	o.ip4_tx_encap = o.ip4_tx_csum != 0 ? PVB_NDIS_ENCAP_8023 : 0;
	o.ip4_rx_encap = o.ip4_rx_csum != 0 ? PVB_NDIS_ENCAP_8023 : 0;
	o.ip6_tx_encap = o.ip6_tx_csum != 0 ? PVB_NDIS_ENCAP_8023 : 0;
	o.ip6_rx_encap = o.ip6_rx_csum != 0 ? PVB_NDIS_ENCAP_8023 : 0;
	if (mask & PVB_OFL_LSO4) {
		o.lsov2_ip4_encap = PVB_NDIS_ENCAP_8023;
		o.lsov2_ip4_max_size = PVB_NDIS_LSO_MAX;
		o.lsov2_ip4_min_segs = PVB_NDIS_LSO_MIN_SEGS;
	}
	if (mask & PVB_OFL_LSO6) {
		o.lsov2_ip6_encap = PVB_NDIS_ENCAP_8023;
		o.lsov2_ip6_max_size = PVB_NDIS_LSO_MAX;
		o.lsov2_ip6_min_segs = PVB_NDIS_LSO_MIN_SEGS;
		o.lsov2_ip6_opts = PVB_NDIS_LSOV2_IP6_EXT | PVB_NDIS_LSOV2_TCP_OPT;
	}
	memcpy(buf, &o, size);
	return size;
}

/* The bits of one checksum capability word. */
static uint32_t
csum_bits(uint32_t w, uint32_t tcp, uint32_t udp, uint32_t ip)
{
	return ((w & PVB_NDIS_CSUM_TCP) ? tcp : 0) | ((w & PVB_NDIS_CSUM_UDP) ? udp : 0) |
	       ((w & PVB_NDIS_CSUM_IP4) ? ip : 0);
}

/* An LSOv2 family the guest may use: Ethernet frames, 2 segments are enough, >= 16 KB. */
static bool
lso_usable(uint32_t encap, uint32_t max_size, uint32_t min_segs)
{
	return (encap & PVB_NDIS_ENCAP_8023) && min_segs <= PVB_NDIS_LSO_MIN_SEGS &&
	       max_size >= 16384;
}

int
pvb_ndis_offload_decode(const void *buf, uint32_t len, uint32_t *mask)
{
	struct pvb_ndis_offload o;
	uint32_t m;

	if (buf == NULL || mask == NULL || len < sizeof(o.hdr))
		return -EPROTO;
	memset(&o, 0, sizeof(o));
	memcpy(&o, buf, len < sizeof(o) ? len : sizeof(o));	/* the one read */
	if (o.hdr.type != PVB_NDIS_OBJ_OFFLOAD || o.hdr.revision < PVB_NDIS_OFFLOAD_REV_1 ||
	    o.hdr.size > len || o.hdr.size < PVB_NDIS_OFFLOAD_SIZE_6_0)
		return -EPROTO;
	/* what the size does not cover is not offered (the copy may hold more) */
	if (o.hdr.size < PVB_NDIS_OFFLOAD_SIZE_6_1 + 2)
		o.rsc_ip4 = o.rsc_ip6 = 0;
	m = csum_bits(o.ip4_tx_csum, PVB_OFL_TX_TCP4, PVB_OFL_TX_UDP4, PVB_OFL_TX_IP4) |
	    csum_bits(o.ip4_rx_csum, PVB_OFL_RX_TCP4, PVB_OFL_RX_UDP4, PVB_OFL_RX_IP4) |
	    csum_bits(o.ip6_tx_csum, PVB_OFL_TX_TCP6, PVB_OFL_TX_UDP6, 0) |
	    csum_bits(o.ip6_rx_csum, PVB_OFL_RX_TCP6, PVB_OFL_RX_UDP6, 0);
	if (!(o.ip4_tx_encap & PVB_NDIS_ENCAP_8023))
		m &= ~(PVB_OFL_TX_TCP4 | PVB_OFL_TX_UDP4 | PVB_OFL_TX_IP4);
	if (!(o.ip4_rx_encap & PVB_NDIS_ENCAP_8023))
		m &= ~(PVB_OFL_RX_TCP4 | PVB_OFL_RX_UDP4 | PVB_OFL_RX_IP4);
	if (!(o.ip6_tx_encap & PVB_NDIS_ENCAP_8023))
		m &= ~(PVB_OFL_TX_TCP6 | PVB_OFL_TX_UDP6);
	if (!(o.ip6_rx_encap & PVB_NDIS_ENCAP_8023))
		m &= ~(PVB_OFL_RX_TCP6 | PVB_OFL_RX_UDP6);
	if (lso_usable(o.lsov2_ip4_encap, o.lsov2_ip4_max_size, o.lsov2_ip4_min_segs))
		m |= PVB_OFL_LSO4;
	if (lso_usable(o.lsov2_ip6_encap, o.lsov2_ip6_max_size, o.lsov2_ip6_min_segs))
		m |= PVB_OFL_LSO6;
	if (o.rsc_ip4 != 0)
		m |= PVB_OFL_RSC4;
	if (o.rsc_ip6 != 0)
		m |= PVB_OFL_RSC6;
	*mask = m;
	return 0;
}

/* ---- NDIS_OFFLOAD_PARAMETERS ------------------------------------------------- */

/* A checksum field for the TX bit @p tx and the RX bit @p rx of @p want. */
static uint8_t
csum_field(uint32_t want, uint32_t tx, uint32_t rx)
{
	bool t = (want & tx) != 0, r = (want & rx) != 0;

	if (t && r)
		return PVB_NDIS_CSUM_TX_RX;
	if (t)
		return PVB_NDIS_CSUM_TX;
	return r ? PVB_NDIS_CSUM_RX : PVB_NDIS_CSUM_OFF;
}

static uint8_t
on_off(uint32_t want, uint32_t bit)
{
	return (want & bit) ? PVB_NDIS_LSO_ON : PVB_NDIS_LSO_OFF;
}

uint32_t
pvb_ndis_params_encode(void *buf, uint32_t ndis_ver, uint32_t want)
{
	struct pvb_ndis_offload_params o;
	uint32_t size = PVB_NDIS_PARAMS_SIZE_2;

	memset(&o, 0, sizeof(o));
	o.hdr.type = PVB_NDIS_OBJ_DEFAULT;
	o.hdr.revision = PVB_NDIS_PARAMS_REV_2;
	if (ndis_ver >= PVB_NDIS_VER_6_30) {
		o.hdr.revision = PVB_NDIS_PARAMS_REV_3;
		size = PVB_NDIS_PARAMS_SIZE;
		o.rsc_ip4 = on_off(want, PVB_OFL_RSC4);
		o.rsc_ip6 = on_off(want, PVB_OFL_RSC6);
	}
	o.hdr.size = (uint16_t)size;
	o.ip4_csum = csum_field(want, PVB_OFL_TX_IP4, PVB_OFL_RX_IP4);
	o.tcp4_csum = csum_field(want, PVB_OFL_TX_TCP4, PVB_OFL_RX_TCP4);
	o.udp4_csum = csum_field(want, PVB_OFL_TX_UDP4, PVB_OFL_RX_UDP4);
	o.tcp6_csum = csum_field(want, PVB_OFL_TX_TCP6, PVB_OFL_RX_TCP6);
	o.udp6_csum = csum_field(want, PVB_OFL_TX_UDP6, PVB_OFL_RX_UDP6);
	o.lsov2_ip4 = on_off(want, PVB_OFL_LSO4);
	o.lsov2_ip6 = on_off(want, PVB_OFL_LSO6);
	memcpy(buf, &o, size);
	return size;
}

/* One checksum field onto *@p m: -EPROTO for a value above TX+RX. */
static int
csum_apply(uint8_t v, uint32_t tx, uint32_t rx, uint32_t *m)
{
	switch (v) {
	case PVB_NDIS_CSUM_NO_CHANGE:
		return 0;
	case PVB_NDIS_CSUM_OFF:
		*m &= ~(tx | rx);
		return 0;
	case PVB_NDIS_CSUM_TX:
		*m = (*m & ~rx) | tx;
		return 0;
	case PVB_NDIS_CSUM_RX:
		*m = (*m & ~tx) | rx;
		return 0;
	case PVB_NDIS_CSUM_TX_RX:
		*m |= tx | rx;
		return 0;
	}
	return -EPROTO;
}

/* One LSO or RSC field onto *@p m. */
static int
on_off_apply(uint8_t v, uint32_t bit, uint32_t *m)
{
	switch (v) {
	case PVB_NDIS_LSO_NO_CHANGE:
		return 0;
	case PVB_NDIS_LSO_OFF:
		*m &= ~bit;
		return 0;
	case PVB_NDIS_LSO_ON:
		*m |= bit;
		return 0;
	}
	return -EPROTO;
}

/* The header of a parameters object of @p len bytes: the size its revision needs. */
static int
params_hdr_check(const struct pvb_ndis_offload_params *o, uint32_t len)
{
	static const uint16_t min_size[] = {
		[PVB_NDIS_PARAMS_REV_1] = PVB_NDIS_PARAMS_SIZE_1,
		[PVB_NDIS_PARAMS_REV_2] = PVB_NDIS_PARAMS_SIZE_2,
		[PVB_NDIS_PARAMS_REV_3] = PVB_NDIS_PARAMS_SIZE_3,
	};

	if (o->hdr.type != PVB_NDIS_OBJ_DEFAULT || o->hdr.revision < PVB_NDIS_PARAMS_REV_1 ||
	    o->hdr.revision > PVB_NDIS_PARAMS_REV_3)
		return -EPROTO;
	if (o->hdr.size > len || o->hdr.size < min_size[o->hdr.revision])
		return -EPROTO;
	return 0;
}

int
pvb_ndis_params_apply(const void *buf, uint32_t len, uint32_t offered, uint32_t *enabled)
{
	struct pvb_ndis_offload_params o;
	uint32_t m;
	int rc = 0;

	if (buf == NULL || enabled == NULL || len < PVB_NDIS_PARAMS_SIZE_1)
		return -EPROTO;
	memset(&o, 0, sizeof(o));
	memcpy(&o, buf, len < sizeof(o) ? len : sizeof(o));	/* the one read */
	if (params_hdr_check(&o, len) != 0)
		return -EPROTO;
	if (o.hdr.revision < PVB_NDIS_PARAMS_REV_3)
		o.rsc_ip4 = o.rsc_ip6 = PVB_NDIS_LSO_NO_CHANGE;
	m = *enabled;
	rc |= csum_apply(o.ip4_csum, PVB_OFL_TX_IP4, PVB_OFL_RX_IP4, &m);
	rc |= csum_apply(o.tcp4_csum, PVB_OFL_TX_TCP4, PVB_OFL_RX_TCP4, &m);
	rc |= csum_apply(o.udp4_csum, PVB_OFL_TX_UDP4, PVB_OFL_RX_UDP4, &m);
	rc |= csum_apply(o.tcp6_csum, PVB_OFL_TX_TCP6, PVB_OFL_RX_TCP6, &m);
	rc |= csum_apply(o.udp6_csum, PVB_OFL_TX_UDP6, PVB_OFL_RX_UDP6, &m);
	rc |= on_off_apply(o.lsov2_ip4, PVB_OFL_LSO4, &m);
	rc |= on_off_apply(o.lsov2_ip6, PVB_OFL_LSO6, &m);
	rc |= on_off_apply(o.rsc_ip4, PVB_OFL_RSC4, &m);
	rc |= on_off_apply(o.rsc_ip6, PVB_OFL_RSC6, &m);
	/* LSOv1, IPsec and connection offload: never offered, so never on */
	if (o.lsov1 > PVB_NDIS_LSO_ON || o.ipsecv1 > PVB_NDIS_CSUM_TX_RX ||
	    o.tcp4_conn > PVB_NDIS_CSUM_TX_RX || o.tcp6_conn > PVB_NDIS_CSUM_TX_RX)
		rc = -EPROTO;
	if (rc != 0)
		return -EPROTO;
	if (m & ~offered)
		return -ENOTSUP;
	*enabled = m;
	return 0;
}
