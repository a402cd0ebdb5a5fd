/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * RNDIS codec (doc/nvsp.md §3; [MS-RNDIS], Linux drivers/net/hyperv/rndis_filter.c,
 * DPDK drivers/net/netvsc/hn_rndis.h): PACKET_MSG with its per-packet info,
 * and the control messages netvsc uses.
 *
 * Messages sit in receive slots, send sections or GPA ranges the peer can
 * rewrite while we parse. Each decoder copies a fixed-size header into a
 * private buffer once and checks every offset and length from that copy
 * against @avail before using it; PPI elements are copied one at a time the
 * same way. Sums of peer values are done in 64 bits so none can wrap. Every
 * offset inside a message counts from byte 8 (after type and len).
 */

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "pvb_nvsp.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "wire structs are little-endian");

#define HDR		PVB_RNDIS_HDR_SIZE
#define PKT_HDR		PVB_RNDIS_PACKET_HDR_SIZE
/* the smallest offset (from byte 8) past the PACKET_MSG header: DPDK's minimum too */
#define PKT_OFF_MIN	(PKT_HDR - HDR)
#define ETH_HLEN	14u
#define PPI_SIZE	((uint32_t)sizeof(struct pvb_rndis_ppi))
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The PPIs a data message carries, in the order they are written. */
static const struct {
	uint32_t bit;
	uint32_t type;
} ppi_order[] = {
	{ PVB_PI_CSUM, PVB_RNDIS_PPI_CSUM },
	{ PVB_PI_VLAN, PVB_RNDIS_PPI_VLAN },
	{ PVB_PI_HASH, PVB_RNDIS_PPI_HASH_VALUE },
	{ PVB_PI_HASH_INFO, PVB_RNDIS_PPI_HASH_INFO },
	{ PVB_PI_LSO, PVB_RNDIS_PPI_LSO },
};

#define PI_ALL	(PVB_PI_CSUM | PVB_PI_VLAN | PVB_PI_HASH | PVB_PI_HASH_INFO | PVB_PI_LSO)

static uint32_t
pi_get(const struct pvb_rndis_pktinfo *pi, uint32_t bit)
{
	switch (bit) {
	case PVB_PI_CSUM:
		return pi->csum;
	case PVB_PI_VLAN:
		return pi->vlan;
	case PVB_PI_HASH:
		return pi->hash;
	case PVB_PI_LSO:
		return pi->lso;
	default:
		return pi->hash_info;
	}
}

static void
pi_set(struct pvb_rndis_pktinfo *pi, uint32_t bit, uint32_t v)
{
	switch (bit) {
	case PVB_PI_CSUM:
		pi->csum = v;
		break;
	case PVB_PI_VLAN:
		pi->vlan = v;
		break;
	case PVB_PI_HASH:
		pi->hash = v;
		break;
	case PVB_PI_LSO:
		pi->lso = v;
		break;
	default:
		pi->hash_info = v;
		break;
	}
	pi->present |= bit;
}

/* ---- data messages ---------------------------------------------------------- */

/* PPIs a present mask (PI_ALL bits only) asks for: a table, not a libgcc popcount call. */
static const uint8_t ppi_count[32] = {
	0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
	1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5,
};
_Static_assert(PI_ALL == 31, "ppi_count covers every PPI bit");

/* Inlined into encode: an exported function called through the PLT would not be. */
static inline uint32_t
data_hdr_len(const struct pvb_rndis_pktinfo *pi)
{
	uint32_t n = pi == NULL ? 0 : ppi_count[pi->present & PI_ALL];

	return PKT_HDR + n * PPI_SIZE;
}

uint32_t
pvb_rndis_data_hdr_len(const struct pvb_rndis_pktinfo *pi)
{
	return data_hdr_len(pi);
}

/* Store a u32 field of the PACKET_MSG header or of a PPI element at @p b. */
#define PUT_PKT(b, field, v) \
	pvb_nvsp_put_le32((b) + offsetof(struct pvb_rndis_packet_msg, field), (v))
#define PUT_PPI(b, field, v) \
	pvb_nvsp_put_le32((b) + offsetof(struct pvb_rndis_ppi, field), (v))

/* The PPI elements @p pi asks for at @p p, in ppi_order. */
static void
ppi_write(uint8_t *p, const struct pvb_rndis_pktinfo *pi)
{
	unsigned int i;

	for (i = 0; i < NELEM(ppi_order); i++) {
		if (!(pi->present & ppi_order[i].bit))
			continue;
		PUT_PPI(p, size, PPI_SIZE);
		PUT_PPI(p, type, ppi_order[i].type);
		PUT_PPI(p, ppi_offset, PVB_RNDIS_PPI_HDR_SIZE);
		PUT_PPI(p, value, pi_get(pi, ppi_order[i].bit));
		p += PPI_SIZE;
	}
}

/*
 * per_pkt_info_offset is 36 (PPIs right after the header) even when there
 * are none, as Linux and DPDK write it; the length 0 says there are none.
 * Fields are stored one by one straight into @p buf: a header built on the
 * stack and copied out is read back with wider loads than it was written
 * with, and that store-to-load forwarding stall cost more than the rest.
 */
uint32_t
pvb_rndis_data_encode(void *buf, uint32_t frame_len, const struct pvb_rndis_pktinfo *pi,
		      uint32_t align)
{
	uint32_t hdr_len = data_hdr_len(pi), mask = align > 1 ? align - 1 : 0;
	uint32_t len = (hdr_len + frame_len + mask) & ~mask;
	uint8_t *b = buf;

	PUT_PKT(b, type, PVB_RNDIS_PACKET_MSG);
	PUT_PKT(b, len, len);
	PUT_PKT(b, data_offset, hdr_len - HDR);
	PUT_PKT(b, data_len, frame_len);
	PUT_PKT(b, oob_data_offset, 0);
	PUT_PKT(b, oob_data_len, 0);
	PUT_PKT(b, num_oob_data_elements, 0);
	PUT_PKT(b, per_pkt_info_offset, PKT_OFF_MIN);
	PUT_PKT(b, per_pkt_info_len, hdr_len - PKT_HDR);
	PUT_PKT(b, vc_handle, 0);
	PUT_PKT(b, reserved, 0);
	if (hdr_len != PKT_HDR)
		ppi_write(b + PKT_HDR, pi);
	return len;
}

/* The PVB_PI_* bit of PPI @p type, or 0 for a type we skip (ppi_order as a switch). */
static uint32_t
ppi_bit(uint32_t type)
{
	switch (type) {
	case PVB_RNDIS_PPI_CSUM:
		return PVB_PI_CSUM;
	case PVB_RNDIS_PPI_VLAN:
		return PVB_PI_VLAN;
	case PVB_RNDIS_PPI_HASH_VALUE:
		return PVB_PI_HASH;
	case PVB_RNDIS_PPI_HASH_INFO:
		return PVB_PI_HASH_INFO;
	case PVB_RNDIS_PPI_LSO:
		return PVB_PI_LSO;
	}
	return 0;
}

/*
 * Walk the PPI area (@p len bytes at @p area, checked to lie inside the
 * message). Each iteration moves at least 12 bytes, so the walk ends
 * within len / 12 steps. A later element of a known type replaces an
 * earlier one of the same type.
 */
static int
ppi_walk(const uint8_t *area, uint32_t len, struct pvb_rndis_pktinfo *pi)
{
	struct { uint32_t size, type, ppi_offset; } e;
	uint32_t pos = 0, bit, v;

	while (pos < len) {
		if (len - pos < PVB_RNDIS_PPI_HDR_SIZE)
			return -EPROTO;
		memcpy(&e, area + pos, sizeof(e));
		if (e.size < PVB_RNDIS_PPI_HDR_SIZE || e.size % 4 != 0 || e.size > len - pos)
			return -EPROTO;
		bit = ppi_bit(e.type);
		if (bit != 0) {
			/* the value (one u32) must lie inside the element, after its header */
			if (e.ppi_offset < PVB_RNDIS_PPI_HDR_SIZE || e.ppi_offset > e.size - 4)
				return -EPROTO;
			memcpy(&v, area + pos + e.ppi_offset, sizeof(v));
			pi_set(pi, bit, v);
		}
		pos += e.size;
	}
	return 0;
}

/*
 * The header @p h (copied) against the @p avail bytes it came from
 * (doc/nvsp.md §3.2). Ends are sums of two u32s in 64 bits, so
 * none wraps; the OOB words must all be zero, checked as one.
 */
static int
data_hdr_check(const struct pvb_rndis_packet_msg *h, uint32_t avail)
{
	uint64_t data_end = (uint64_t)HDR + h->data_offset + h->data_len;
	uint64_t ppi_at = (uint64_t)HDR + h->per_pkt_info_offset;
	uint64_t ppi_end = ppi_at + h->per_pkt_info_len;

	if (h->len < PKT_HDR || h->len > avail)
		return -EPROTO;
	if (h->data_offset < PKT_OFF_MIN || h->data_len < ETH_HLEN || data_end > h->len)
		return -EPROTO;
	if ((h->oob_data_offset | h->oob_data_len | h->num_oob_data_elements) != 0)
		return -EPROTO;
	if (ppi_end > h->len)
		return -EPROTO;
	if (h->per_pkt_info_len == 0)
		return 0;	/* the common case: no PPIs, nothing to overlap */
	if (h->per_pkt_info_offset < PKT_OFF_MIN)
		return -EPROTO;
	/* the frame and the PPIs must not share a byte */
	if (ppi_end > HDR + (uint64_t)h->data_offset && data_end > ppi_at)
		return -EPROTO;
	return 0;
}

/* Fewer than 44 bytes: -ENOTSUP if the type says control, else too short. */
static int
data_decode_short(const void *buf, uint32_t avail)
{
	if (avail < sizeof(uint32_t))
		return -EPROTO;
	return pvb_nvsp_get_le32(buf) != PVB_RNDIS_PACKET_MSG ? -ENOTSUP : -EPROTO;
}

/*
 * Per received frame: one fixed-size copy of the header (the one read of
 * it), the header checks, and a PPI walk only when there are PPIs.
 */
int
pvb_rndis_data_decode(const void *buf, uint32_t avail, struct pvb_rndis_data *d)
{
	struct pvb_rndis_packet_msg h;
	int rc;

	if (d == NULL || (buf == NULL && avail != 0))
		return -EINVAL;
	if (avail < PKT_HDR)
		return data_decode_short(buf, avail);
	memcpy(&h, buf, sizeof(h));
	if (h.type != PVB_RNDIS_PACKET_MSG)
		return -ENOTSUP;
	rc = data_hdr_check(&h, avail);
	if (rc != 0)
		return rc;
	memset(&d->pi, 0, sizeof(d->pi));
	if (h.per_pkt_info_len != 0) {
		rc = ppi_walk((const uint8_t *)buf + HDR + h.per_pkt_info_offset,
			      h.per_pkt_info_len, &d->pi);
		if (rc != 0)
			return rc;
	}
	d->msg_len = h.len;
	d->frame_off = HDR + h.data_offset;
	d->frame_len = h.data_len;
	return 0;
}

/* ---- control messages ------------------------------------------------------- */

/*
 * Where the variable buffer of a control message type sits: the byte
 * offsets of its length and offset words, and where encode puts it (right
 * after the fixed part). fixed == 0: not a control message we handle.
 */
struct ctl_layout {
	uint32_t fixed;		/* bytes of the fixed part */
	uint32_t buf_len_at;	/* 0: no variable buffer */
	uint32_t buf_off_at;
};

static struct ctl_layout
ctl_layout(uint32_t type)
{
	struct ctl_layout l = { 0, 0, 0 };

	switch (type) {
	case PVB_RNDIS_INITIALIZE_MSG:
		l.fixed = sizeof(struct pvb_rndis_init_msg);
		break;
	case PVB_RNDIS_INITIALIZE_CMPLT:
		l.fixed = sizeof(struct pvb_rndis_init_cmplt);
		break;
	case PVB_RNDIS_HALT_MSG:
	case PVB_RNDIS_KEEPALIVE_MSG:
	case PVB_RNDIS_RESET_MSG:
		l.fixed = sizeof(struct pvb_rndis_halt_msg);	/* 12 */
		break;
	case PVB_RNDIS_QUERY_MSG:
	case PVB_RNDIS_SET_MSG:
		l = (struct ctl_layout){ sizeof(struct pvb_rndis_query_msg), 16, 20 };
		break;
	case PVB_RNDIS_QUERY_CMPLT:
		l = (struct ctl_layout){ sizeof(struct pvb_rndis_query_cmplt), 16, 20 };
		break;
	case PVB_RNDIS_INDICATE_STATUS_MSG:
		l = (struct ctl_layout){ sizeof(struct pvb_rndis_indicate_status), 12, 16 };
		break;
	case PVB_RNDIS_SET_CMPLT:
	case PVB_RNDIS_KEEPALIVE_CMPLT:
	case PVB_RNDIS_RESET_CMPLT:
		l.fixed = sizeof(struct pvb_rndis_set_cmplt);	/* 16 */
		break;
	}
	return l;
}

/* The largest fixed part: INITIALIZE_CMPLT. */
#define CTL_FIXED_MAX	((uint32_t)sizeof(struct pvb_rndis_init_cmplt))

/* The variable buffer of @p l from the copy @p b: between the fixed part and len. */
static int
ctl_decode_buf(const uint8_t *b, const struct ctl_layout *l, struct pvb_rndis_ctl *c)
{
	uint32_t blen = pvb_nvsp_get_le32(b + l->buf_len_at);
	uint64_t at = (uint64_t)HDR + pvb_nvsp_get_le32(b + l->buf_off_at);

	if (blen == 0)
		return 0;	/* the offset of an empty buffer means nothing */
	if (at < l->fixed || at + blen > c->len)
		return -EPROTO;
	c->info_off = (uint32_t)at;
	c->info_len = blen;
	return 0;
}

/* The fields of @p c->type from the copy @p b (its fixed part is all there). */
static void
ctl_decode_fields(const uint8_t *b, struct pvb_rndis_ctl *c)
{
	switch (c->type) {
	case PVB_RNDIS_INITIALIZE_MSG:
		c->request_id = pvb_nvsp_get_le32(b + 8);
		c->major = pvb_nvsp_get_le32(b + 12);
		c->minor = pvb_nvsp_get_le32(b + 16);
		c->max_transfer_size = pvb_nvsp_get_le32(b + 20);
		break;
	case PVB_RNDIS_INITIALIZE_CMPLT:
		c->request_id = pvb_nvsp_get_le32(b + 8);
		c->status = pvb_nvsp_get_le32(b + 12);
		c->major = pvb_nvsp_get_le32(b + 16);
		c->minor = pvb_nvsp_get_le32(b + 20);
		c->device_flags = pvb_nvsp_get_le32(b + 24);
		c->medium = pvb_nvsp_get_le32(b + 28);
		c->max_packets_per_message = pvb_nvsp_get_le32(b + 32);
		c->max_transfer_size = pvb_nvsp_get_le32(b + 36);
		c->packet_alignment_factor = pvb_nvsp_get_le32(b + 40);
		break;
	case PVB_RNDIS_QUERY_MSG:
	case PVB_RNDIS_SET_MSG:
		c->request_id = pvb_nvsp_get_le32(b + 8);
		c->oid = pvb_nvsp_get_le32(b + 12);
		break;
	case PVB_RNDIS_INDICATE_STATUS_MSG:
	case PVB_RNDIS_RESET_CMPLT:	/* @12 addressing_reset has no field: dropped */
		c->status = pvb_nvsp_get_le32(b + 8);
		break;
	case PVB_RNDIS_RESET_MSG:	/* @8 is reserved: no request id */
		break;
	case PVB_RNDIS_HALT_MSG:
	case PVB_RNDIS_KEEPALIVE_MSG:
		c->request_id = pvb_nvsp_get_le32(b + 8);
		break;
	default:	/* QUERY_CMPLT, SET_CMPLT, KEEPALIVE_CMPLT */
		c->request_id = pvb_nvsp_get_le32(b + 8);
		c->status = pvb_nvsp_get_le32(b + 12);
		break;
	}
}

int
pvb_rndis_ctl_decode(const void *buf, uint32_t avail, struct pvb_rndis_ctl *c)
{
	uint8_t b[CTL_FIXED_MAX];
	uint32_t n = avail < sizeof(b) ? avail : (uint32_t)sizeof(b);
	struct ctl_layout l;

	if (c == NULL || (buf == NULL && avail != 0))
		return -EINVAL;
	if (avail < HDR)
		return -EPROTO;
	memset(b, 0, sizeof(b));
	memcpy(b, buf, n);	/* the one read of the fixed part */
	memset(c, 0, sizeof(*c));
	c->type = pvb_nvsp_get_le32(b);
	c->len = pvb_nvsp_get_le32(b + 4);
	l = ctl_layout(c->type);
	if (l.fixed == 0)
		return -ENOTSUP;	/* PACKET_MSG, SET_EX, or unknown */
	if (c->len < l.fixed || c->len > avail)
		return -EPROTO;
	ctl_decode_fields(b, c);
	if (l.buf_len_at != 0)
		return ctl_decode_buf(b, &l, c);
	return 0;
}

/* The fields of @p c into the fixed part at @p b (zeroed). */
static void
ctl_encode_fields(const struct pvb_rndis_ctl *c, uint8_t *b)
{
	switch (c->type) {
	case PVB_RNDIS_INITIALIZE_MSG:
		pvb_nvsp_put_le32(b + 8, c->request_id);
		pvb_nvsp_put_le32(b + 12, c->major);
		pvb_nvsp_put_le32(b + 16, c->minor);
		pvb_nvsp_put_le32(b + 20, c->max_transfer_size);
		break;
	case PVB_RNDIS_INITIALIZE_CMPLT:
		pvb_nvsp_put_le32(b + 8, c->request_id);
		pvb_nvsp_put_le32(b + 12, c->status);
		pvb_nvsp_put_le32(b + 16, c->major);
		pvb_nvsp_put_le32(b + 20, c->minor);
		pvb_nvsp_put_le32(b + 24, c->device_flags);
		pvb_nvsp_put_le32(b + 28, c->medium);
		pvb_nvsp_put_le32(b + 32, c->max_packets_per_message);
		pvb_nvsp_put_le32(b + 36, c->max_transfer_size);
		pvb_nvsp_put_le32(b + 40, c->packet_alignment_factor);
		break;	/* af_list_offset, af_list_size: 0 */
	case PVB_RNDIS_QUERY_MSG:
	case PVB_RNDIS_SET_MSG:
		pvb_nvsp_put_le32(b + 8, c->request_id);
		pvb_nvsp_put_le32(b + 12, c->oid);
		break;
	case PVB_RNDIS_INDICATE_STATUS_MSG:
	case PVB_RNDIS_RESET_CMPLT:	/* addressing_reset: 0 */
		pvb_nvsp_put_le32(b + 8, c->status);
		break;
	case PVB_RNDIS_RESET_MSG:
		break;
	case PVB_RNDIS_HALT_MSG:
	case PVB_RNDIS_KEEPALIVE_MSG:
		pvb_nvsp_put_le32(b + 8, c->request_id);
		break;
	default:	/* QUERY_CMPLT, SET_CMPLT, KEEPALIVE_CMPLT */
		pvb_nvsp_put_le32(b + 8, c->request_id);
		pvb_nvsp_put_le32(b + 12, c->status);
		break;
	}
}

/*
 * The buffer goes right after the fixed part; its offset word says so even
 * when it is empty, as Linux and DPDK write it (QUERY 20, QUERY_CMPLT 16,
 * INDICATE_STATUS 12).
 */
int
pvb_rndis_ctl_encode(const struct pvb_rndis_ctl *c, const void *info, void *buf, uint32_t cap)
{
	struct ctl_layout l;
	uint32_t info_len;
	uint64_t total;
	uint8_t *b = buf;

	if (c == NULL || buf == NULL)
		return -EINVAL;
	l = ctl_layout(c->type);
	if (l.fixed == 0)
		return -EINVAL;
	info_len = l.buf_len_at != 0 ? c->info_len : 0;
	if (info_len != 0 && info == NULL)
		return -EINVAL;
	total = (uint64_t)l.fixed + info_len;
	if (total > cap)
		return -EMSGSIZE;
	if (total > INT_MAX)
		return -EINVAL;
	memset(b, 0, l.fixed);
	pvb_nvsp_put_le32(b, c->type);
	pvb_nvsp_put_le32(b + 4, (uint32_t)total);
	ctl_encode_fields(c, b);
	if (l.buf_len_at != 0) {
		pvb_nvsp_put_le32(b + l.buf_len_at, info_len);
		pvb_nvsp_put_le32(b + l.buf_off_at, l.fixed - HDR);
		if (info_len != 0)
			memmove(b + l.fixed, info, info_len);
	}
	return (int)total;
}
