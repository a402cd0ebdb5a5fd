/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Receive side scaling on a netvsc channel (doc/nvsp.md §3.8): the NDIS
 * RSS capability and parameter objects (NDIS_RECEIVE_SCALE_CAPABILITIES
 * and NDIS_RECEIVE_SCALE_PARAMETERS of Microsoft's ntddndis.h, laid out as
 * Linux drivers/net/hyperv/rndis_filter.c and DPDK drivers/net/netvsc/
 * hn_rndis.c write them) and the host's send indirection table (NVSP 134).
 * What a peer wrote is copied once and checked before use.
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "pvb_nvsp.h"

#define RSS_TABLE_OFF	PVB_NDIS_RSS_PARAMS_SIZE
#define RSS_KEY_OFF	(RSS_TABLE_OFF + 4 * PVB_NDIS_RSS_TABLE_N)

uint32_t
pvb_ndis_rss_params_encode(void *buf, const struct pvb_rss_conf *c)
{
	struct pvb_ndis_rss_params o;
	uint8_t *b = buf;
	uint32_t i;

	memset(&o, 0, sizeof(o));
	o.hdr.type = PVB_NDIS_OBJ_RSS_PARAMS;
	o.hdr.revision = PVB_NDIS_RSS_PARAMS_REV_2;
	o.hdr.size = PVB_NDIS_RSS_PARAMS_SIZE;
	o.flags = c->enabled ? 0 : PVB_NDIS_RSS_FLAG_DISABLE;
	o.hash_info = PVB_NDIS_HASH_FUNC_TOEPLITZ | (c->hash_types & PVB_NDIS_HASH_TYPES);
	o.table_size = 4 * PVB_NDIS_RSS_TABLE_N;
	o.table_off = RSS_TABLE_OFF;
	o.key_size = PVB_NDIS_RSS_KEY_SIZE;
	o.key_off = RSS_KEY_OFF;
	memcpy(b, &o, sizeof(o));
	for (i = 0; i < PVB_NDIS_RSS_TABLE_N; i++)
		pvb_nvsp_put_le32(b + RSS_TABLE_OFF + 4 * i, c->table[i]);
	memcpy(b + RSS_KEY_OFF, c->key, PVB_NDIS_RSS_KEY_SIZE);
	return PVB_NDIS_RSS_PARAMS_FULL;
}

/* [off, off + size) inside [PVB_NDIS_RSS_PARAMS_SIZE, len): after the fixed part, in the object. */
static bool
rss_inside(uint32_t off, uint32_t size, uint32_t len)
{
	return off >= PVB_NDIS_RSS_PARAMS_SIZE && (uint64_t)off + size <= len;
}

int
pvb_ndis_rss_params_decode(const void *buf, uint32_t len, uint32_t nchan,
			   struct pvb_rss_conf *c)
{
	uint8_t b[PVB_NDIS_RSS_PARAMS_FULL + 64];
	struct pvb_ndis_rss_params o;
	struct pvb_rss_conf n;
	uint32_t i, types;

	if (buf == NULL || c == NULL || len < PVB_NDIS_RSS_PARAMS_SIZE)
		return -EPROTO;
	/* the one read of the guest's bytes: nothing this host takes lies beyond the copy */
	if (len > sizeof(b))
		len = sizeof(b);
	memcpy(b, buf, len);
	memcpy(&o, b, sizeof(o));
	if (o.hdr.type != PVB_NDIS_OBJ_RSS_PARAMS || o.hdr.revision < PVB_NDIS_RSS_PARAMS_REV_2 ||
	    o.hdr.size < PVB_NDIS_RSS_PARAMS_SIZE || o.hdr.size > len)
		return -EPROTO;
	memset(&n, 0, sizeof(n));
	if (o.flags & PVB_NDIS_RSS_FLAG_DISABLE) {
		*c = n;		/* off: nothing else is read */
		return 0;
	}
	if (!rss_inside(o.table_off, o.table_size, len) ||
	    !rss_inside(o.key_off, o.key_size, len) || o.table_size % 4 != 0)
		return -EPROTO;
	if ((o.hash_info & PVB_NDIS_HASH_FUNC_MASK) != PVB_NDIS_HASH_FUNC_TOEPLITZ ||
	    o.table_size != 4 * PVB_NDIS_RSS_TABLE_N || o.key_size != PVB_NDIS_RSS_KEY_SIZE)
		return -ENOTSUP;
	types = o.hash_info & PVB_NDIS_HASH_TYPES;
	if (types != 0 && (types & PVB_RSS_HASH_SUPPORTED) == 0)
		return -ENOTSUP;
	for (i = 0; i < PVB_NDIS_RSS_TABLE_N; i++) {
		uint32_t e = pvb_nvsp_get_le32(b + o.table_off + 4 * i);

		if (e >= nchan || e >= PVB_NVSP_MAX_CHANNELS)
			return -EPROTO;
		n.table[i] = (uint8_t)e;
	}
	memcpy(n.key, b + o.key_off, sizeof(n.key));
	n.hash_types = types & PVB_RSS_HASH_SUPPORTED;
	n.enabled = true;
	*c = n;
	return 0;
}

uint32_t
pvb_ndis_rss_caps_encode(void *buf, uint32_t ndis_ver, uint32_t nrxr)
{
	struct pvb_ndis_rss_caps o;
	bool v2 = ndis_ver >= PVB_NDIS_VER_6_30;

	memset(&o, 0, sizeof(o));
	o.hdr.type = PVB_NDIS_OBJ_RSS_CAPS;
	o.hdr.revision = v2 ? PVB_NDIS_RSS_CAPS_REV_2 : PVB_NDIS_RSS_CAPS_REV_1;
	o.hdr.size = v2 ? PVB_NDIS_RSS_CAPS_SIZE_2 : PVB_NDIS_RSS_CAPS_SIZE_1;
	o.caps = PVB_NDIS_RSS_CAP_MSI | PVB_NDIS_RSS_CAP_CLASS_ISR | PVB_NDIS_RSS_CAP_CLASS_DPC |
		 PVB_RSS_HASH_SUPPORTED;
	o.nmsi = nrxr;
	o.nrxr = nrxr;
	o.nind = v2 ? PVB_NDIS_RSS_TABLE_N : 0;
	memcpy(buf, &o, sizeof(o));
	return sizeof(o);
}

int
pvb_ndis_rss_caps_decode(const void *buf, uint32_t len, uint32_t *nrxr, uint32_t *hash_types)
{
	struct pvb_ndis_rss_caps o;

	if (buf == NULL || len < PVB_NDIS_RSS_CAPS_SIZE_1)
		return -EPROTO;
	memset(&o, 0, sizeof(o));
	memcpy(&o, buf, len < sizeof(o) ? len : sizeof(o));	/* the one read */
	if (o.hdr.type != PVB_NDIS_OBJ_RSS_CAPS || o.hdr.size < PVB_NDIS_RSS_CAPS_SIZE_1 ||
	    o.hdr.size > len || o.nrxr == 0)
		return -EPROTO;
	*nrxr = o.nrxr;
	*hash_types = o.caps & PVB_NDIS_HASH_TYPES;
	return 0;
}

uint32_t
pvb_nvsp_table_encode(void *buf, uint32_t nchan)
{
	struct pvb_nvsp_indirection h = {
		.type = PVB_NVSP_INDIRECTION_TABLE,
		.count = PVB_NVSP_INDIRECTION_COUNT,
		.offset = PVB_NVSP_INDIRECTION_OFF,
	};
	uint8_t *b = buf;
	uint32_t i;

	memcpy(b, &h, sizeof(h));
	for (i = 0; i < PVB_NVSP_INDIRECTION_COUNT; i++)
		pvb_nvsp_put_le32(b + PVB_NVSP_INDIRECTION_OFF + 4 * i, nchan != 0 ? i % nchan : 0);
	return PVB_NVSP_INDIRECTION_SIZE;
}

int
pvb_nvsp_table_decode(const void *buf, uint32_t len, uint32_t nchan,
		      uint32_t table[PVB_NVSP_INDIRECTION_COUNT])
{
	uint8_t b[PVB_NVSP_INDIRECTION_SIZE + 64];
	struct pvb_nvsp_indirection h;
	uint32_t i, off, t[PVB_NVSP_INDIRECTION_COUNT];

	if (buf == NULL || table == NULL || len < sizeof(h))
		return -EPROTO;
	if (len > sizeof(b))
		len = sizeof(b);
	memcpy(b, buf, len);	/* the one read */
	memcpy(&h, b, sizeof(h));
	if (h.type != PVB_NVSP_INDIRECTION_TABLE || h.count != PVB_NVSP_INDIRECTION_COUNT)
		return -EPROTO;
	/* Linux's reading for NVSP <= v6 (right after the header) when offset is off */
	off = h.offset;
	if (off < sizeof(h) || (uint64_t)off + 4 * h.count > len)
		off = PVB_NVSP_INDIRECTION_OFF;
	if ((uint64_t)off + 4 * h.count > len)
		return -EPROTO;
	for (i = 0; i < PVB_NVSP_INDIRECTION_COUNT; i++) {
		t[i] = pvb_nvsp_get_le32(b + off + 4 * i);
		if (t[i] >= nchan)
			return -EPROTO;
	}
	memcpy(table, t, sizeof(t));
	return 0;
}
