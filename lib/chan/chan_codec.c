/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Channel control protocol, the codec: messages to and from the bytes of
 * pvb_chan_wire.h, and the check of an OPEN against the offer it answers.
 * Every byte a peer sends goes through pvb_chan_decode() first; the state
 * machines (chan_host.c, chan_guest.c) only see well-formed messages.
 */

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "pvb_chan.h"
#include "pvb_chan_wire.h"
#include "chan_pvt.h"

_Static_assert(PVB_CHAN_WIRE_GPADLS == PVB_CHAN_MAX_GPADL, "GPADL slots");
_Static_assert(PVB_CHAN_WIRE_REASON == PVB_CHAN_REASON_LEN, "reason length");
_Static_assert(PVB_CHAN_WIRE_OPEN_FDS == PVB_CHAN_OPEN_FDS, "OPEN fd count");
_Static_assert(PVB_CHAN_WIRE_OFFER == PVB_CHAN_OFFER && PVB_CHAN_WIRE_OPEN == PVB_CHAN_OPEN &&
	       PVB_CHAN_WIRE_OPEN_RESULT == PVB_CHAN_OPEN_RESULT &&
	       PVB_CHAN_WIRE_CLOSE == PVB_CHAN_CLOSE &&
	       PVB_CHAN_WIRE_RESCIND == PVB_CHAN_RESCIND && PVB_CHAN_WIRE_ERROR == PVB_CHAN_ERROR &&
	       PVB_CHAN_WIRE_SUBOFFER == PVB_CHAN_SUBOFFER,
	       "wire type numbers are the API's");
_Static_assert(PVB_CHAN_WIRE_MAX_SUB == PVB_CHAN_MAX_SUB, "subchannel limit");
_Static_assert(PVB_CHAN_WIRE_OFFER_F_SHARE == PVB_CHAN_OFFER_F_SHARE, "offer flags are the API's");

/* Any message, as it sits on the wire. */
union wire {
	struct pvb_chan_wire_hdr hdr;
	struct pvb_chan_wire_offer offer;
	struct pvb_chan_wire_open open;
	struct pvb_chan_wire_result result;
	struct pvb_chan_wire_close close;
	struct pvb_chan_wire_suboffer sub;
};

void
chan_msg_init(struct pvb_chan_msg *m, uint16_t type)
{
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->type = type;
	for (i = 0; i < PVB_CHAN_OPEN_FDS; i++)
		m->fds[i] = -1;
}

void
chan_reason_copy(char *dst, const char *src)
{
	size_t n = src == NULL ? 0 : strnlen(src, PVB_CHAN_REASON_LEN - 1);

	memset(dst, 0, PVB_CHAN_REASON_LEN);
	if (n > 0)
		memcpy(dst, src, n);
}

/* ---- encode ------------------------------------------------------------- */

static void
hdr_put(struct pvb_chan_wire_hdr *h, uint16_t type)
{
	h->magic = htole32(PVB_CHAN_MAGIC);
	h->version = htole16(PVB_CHAN_VERSION);
	h->type = htole16(type);
	h->len = htole32(pvb_chan_wire_len(type));
	h->reserved = 0;
}

static int
encode_offer(const struct pvb_chan_offer *o, struct pvb_chan_wire_offer *w)
{
	/* a bit we do not know would be refused by a peer of our own version */
	if ((o->flags & ~PVB_CHAN_WIRE_OFFER_F_KNOWN) != 0)
		return -EINVAL;
	w->chan_id = htole32(o->chan_id);
	w->mtu = htole32(o->mtu);
	memcpy(w->mac, o->mac, sizeof(w->mac));
	w->max_ring_bytes = htole32(o->max_ring_bytes);
	w->flags = htole32(o->flags);
	w->max_region_bytes = htole64(o->max_region_bytes);
	return 0;
}

static void
encode_ring(const struct pvb_chan_ring *r, struct pvb_chan_wire_ring *w)
{
	w->offset = htole64(r->offset);
	w->size = htole32(r->size);
}

static int
encode_open(const struct pvb_chan_open *o, struct pvb_chan_wire_open *w)
{
	uint32_t i;

	if (o->n_gpadl > PVB_CHAN_MAX_GPADL)
		return -EINVAL;
	w->chan_id = htole32(o->chan_id);
	w->n_gpadl = htole32(o->n_gpadl);
	w->region_size = htole64(o->region_size);
	encode_ring(&o->tx, &w->tx);
	encode_ring(&o->rx, &w->rx);
	/* slots from n_gpadl on stay zero, whatever the caller left in them */
	for (i = 0; i < o->n_gpadl; i++) {
		w->gpadl[i].id = htole32(o->gpadl[i].id);
		w->gpadl[i].offset = htole64(o->gpadl[i].offset);
		w->gpadl[i].size = htole64(o->gpadl[i].size);
	}
	return 0;
}

/* Refuses what decode would refuse, so that we never send what we would not take. */
static int
encode_result(const struct pvb_chan_msg *m, struct pvb_chan_wire_result *w)
{
	int32_t status = m->u.result.status;

	if (!chan_status_ok(status) || (m->type == PVB_CHAN_ERROR && status == 0) ||
	    memchr(m->u.result.reason, '\0', PVB_CHAN_REASON_LEN) == NULL)
		return -EINVAL;
	w->status = (int32_t)htole32((uint32_t)status);
	/* up to the NUL only: bytes after it would leak our memory to the peer */
	chan_reason_copy(w->reason, m->u.result.reason);
	return 0;
}

int
pvb_chan_encode(const struct pvb_chan_msg *m, void *buf, size_t cap)
{
	uint32_t len;
	union wire w;
	int r = 0;

	if (m == NULL || (buf == NULL && cap > 0))
		return -EINVAL;
	len = pvb_chan_wire_len(m->type);
	if (len == 0)
		return -EINVAL;
	if (cap < len)
		return -EMSGSIZE;
	memset(&w, 0, sizeof(w));
	hdr_put(&w.hdr, m->type);
	switch (m->type) {
	case PVB_CHAN_OFFER:
		r = encode_offer(&m->u.offer, &w.offer);
		break;
	case PVB_CHAN_OPEN:
		r = encode_open(&m->u.open, &w.open);
		break;
	case PVB_CHAN_OPEN_RESULT:
	case PVB_CHAN_ERROR:
		r = encode_result(m, &w.result);
		break;
	case PVB_CHAN_SUBOFFER:
		if (m->u.sub.index == 0 || m->u.sub.index > PVB_CHAN_MAX_SUB)
			return -EINVAL;
		w.sub.chan_id = htole32(m->u.sub.chan_id);
		w.sub.parent = htole32(m->u.sub.parent);
		w.sub.index = htole32(m->u.sub.index);
		break;
	default:	/* CLOSE, RESCIND */
		w.close.chan_id = htole32(m->u.close.chan_id);
		break;
	}
	if (r != 0)
		return r;
	memcpy(buf, &w, len);
	return (int)len;
}

/* ---- decode ------------------------------------------------------------- */

/*
 * The header of @len bytes at @buf, checked for framing: afterwards the
 * message is exactly pvb_chan_wire_len() of its type and fits union wire.
 */
static int
decode_hdr(const void *buf, size_t len, uint16_t *type, const char **why)
{
	struct pvb_chan_wire_hdr h;
	uint32_t want;

	if (len < sizeof(h)) {
		*why = "message shorter than the header";
		return -EPROTO;
	}
	memcpy(&h, buf, sizeof(h));
	*type = le16toh(h.type);
	want = pvb_chan_wire_len(*type);
	if (le32toh(h.magic) != PVB_CHAN_MAGIC)
		*why = "bad magic";
	else if (le16toh(h.version) != PVB_CHAN_VERSION)
		*why = "version mismatch";
	else if (h.reserved != 0)
		*why = "reserved header field not zero";
	else if (want == 0)
		*why = "unknown message type";
	else if (le32toh(h.len) != len)
		*why = "length field does not match the message";
	else if (len != want)
		*why = "wrong length for the message type";
	else
		return 0;
	return -EPROTO;
}

static int
decode_offer(const struct pvb_chan_wire_offer *w, struct pvb_chan_offer *o, const char **why)
{
	uint32_t flags = le32toh(w->flags);

	if (w->pad0[0] != 0 || w->pad0[1] != 0) {
		*why = "padding not zero";
		return -EPROTO;
	}
	/* was a pad: a bit we do not know is refused as the pad was (pvb_chan_wire.h) */
	if ((flags & ~PVB_CHAN_WIRE_OFFER_F_KNOWN) != 0) {
		*why = "unknown offer flags";
		return -EPROTO;
	}
	o->chan_id = le32toh(w->chan_id);
	o->mtu = le32toh(w->mtu);
	memcpy(o->mac, w->mac, sizeof(o->mac));
	o->max_ring_bytes = le32toh(w->max_ring_bytes);
	o->flags = flags;
	o->max_region_bytes = le64toh(w->max_region_bytes);
	return 0;
}

static void
decode_ring(const struct pvb_chan_wire_ring *w, struct pvb_chan_ring *r)
{
	r->offset = le64toh(w->offset);
	r->size = le32toh(w->size);
}

static bool
gpadl_slot_zero(const struct pvb_chan_wire_gpadl *g)
{
	return g->id == 0 && g->pad == 0 && g->offset == 0 && g->size == 0;
}

static int
decode_open(const struct pvb_chan_wire_open *w, struct pvb_chan_open *o, const char **why)
{
	uint32_t n = le32toh(w->n_gpadl), i;

	if (n > PVB_CHAN_MAX_GPADL) {
		*why = "too many GPADLs";
		return -EPROTO;
	}
	if (w->tx.pad != 0 || w->rx.pad != 0)
		goto pad;
	for (i = 0; i < PVB_CHAN_MAX_GPADL; i++) {
		if (i >= n && !gpadl_slot_zero(&w->gpadl[i])) {
			*why = "unused GPADL slot not zero";
			return -EPROTO;
		}
		if (w->gpadl[i].pad != 0)
			goto pad;
		o->gpadl[i].id = le32toh(w->gpadl[i].id);
		o->gpadl[i].offset = le64toh(w->gpadl[i].offset);
		o->gpadl[i].size = le64toh(w->gpadl[i].size);
	}
	o->chan_id = le32toh(w->chan_id);
	o->n_gpadl = n;
	o->region_size = le64toh(w->region_size);
	decode_ring(&w->tx, &o->tx);
	decode_ring(&w->rx, &o->rx);
	return 0;
pad:
	*why = "padding not zero";
	return -EPROTO;
}

static int
decode_result(const struct pvb_chan_wire_result *w, struct pvb_chan_msg *m, const char **why)
{
	int32_t status = (int32_t)le32toh((uint32_t)w->status);

	if (w->pad != 0)
		*why = "padding not zero";
	else if (memchr(w->reason, '\0', sizeof(w->reason)) == NULL)
		*why = "reason not NUL-terminated";
	else if (!chan_status_ok(status) || (m->type == PVB_CHAN_ERROR && status == 0))
		*why = "status not 0 or a negative errno";
	else {
		m->u.result.status = status;
		memcpy(m->u.result.reason, w->reason, sizeof(w->reason));
		return 0;
	}
	return -EPROTO;
}

static int
decode_suboffer(const struct pvb_chan_wire_suboffer *w, struct pvb_chan_suboffer *o,
		const char **why)
{
	uint32_t index = le32toh(w->index);

	if (w->pad != 0) {
		*why = "padding not zero";
		return -EPROTO;
	}
	if (index == 0 || index > PVB_CHAN_MAX_SUB) {
		*why = "subchannel index not 1..63";
		return -EPROTO;
	}
	o->chan_id = le32toh(w->chan_id);
	o->parent = le32toh(w->parent);
	o->index = index;
	return 0;
}

static int
decode_body(const union wire *w, struct pvb_chan_msg *m, const char **why)
{
	switch (m->type) {
	case PVB_CHAN_OFFER:
		return decode_offer(&w->offer, &m->u.offer, why);
	case PVB_CHAN_OPEN:
		return decode_open(&w->open, &m->u.open, why);
	case PVB_CHAN_OPEN_RESULT:
	case PVB_CHAN_ERROR:
		return decode_result(&w->result, m, why);
	case PVB_CHAN_SUBOFFER:
		return decode_suboffer(&w->sub, &m->u.sub, why);
	}
	/* CLOSE, RESCIND: decode_hdr let no other type through */
	if (w->close.pad != 0) {
		*why = "padding not zero";
		return -EPROTO;
	}
	m->u.close.chan_id = le32toh(w->close.chan_id);
	return 0;
}

int
pvb_chan_decode(const void *buf, size_t len, const int *fds, unsigned int nfds,
		struct pvb_chan_msg *m, const char **why)
{
	struct pvb_chan_msg out;
	const char *unused;
	uint16_t type = 0;
	union wire w;
	unsigned int i;
	int r;

	if (why == NULL)
		why = &unused;
	*why = "bad arguments";
	if (m == NULL || (buf == NULL && len > 0) || (fds == NULL && nfds > 0))
		return -EINVAL;
	r = decode_hdr(buf, len, &type, why);
	if (r != 0)
		return r;
	if (nfds != pvb_chan_wire_nfds(type)) {
		*why = "wrong number of fds for the message type";
		return -EPROTO;
	}
	memcpy(&w, buf, len);	/* len is the type's exact length, <= sizeof(w) */
	chan_msg_init(&out, type);
	r = decode_body(&w, &out, why);
	if (r != 0)
		return r;
	for (i = 0; i < nfds; i++)
		out.fds[i] = fds[i];
	out.nfds = nfds;
	*why = NULL;
	*m = out;
	return 0;
}

/* ---- OPEN against the offer --------------------------------------------- */

static bool
page_aligned(uint64_t v)
{
	return v % PVB_CHAN_PAGE == 0;
}

/* [off, off + size) inside [0, region), written so that nothing overflows. */
static bool
range_inside(uint64_t off, uint64_t size, uint64_t region)
{
	return off <= region && size <= region - off;
}

/* Both ranges are inside the region, so their ends do not overflow. */
static bool
ranges_overlap(uint64_t a_off, uint64_t a_size, uint64_t b_off, uint64_t b_size)
{
	return a_off < b_off + b_size && b_off < a_off + a_size;
}

/* Reasons per direction: index 0 tx, 1 rx. */
static const char *const ring_why[][5] = {
	{ "tx ring offset not page aligned", "tx ring size not a multiple of 4096",
	  "tx ring smaller than 8192", "tx ring larger than the offer allows",
	  "tx ring outside the region" },
	{ "rx ring offset not page aligned", "rx ring size not a multiple of 4096",
	  "rx ring smaller than 8192", "rx ring larger than the offer allows",
	  "rx ring outside the region" },
};

static int
ring_check(const struct pvb_chan_ring *r, unsigned int dir, uint64_t region,
	   uint32_t max_ring, const char **why)
{
	int k;

	if (!page_aligned(r->offset))
		k = 0;
	else if (!page_aligned(r->size))
		k = 1;
	else if (r->size < PVB_CHAN_RING_MIN)
		k = 2;
	else if (r->size > max_ring)
		k = 3;
	else if (!range_inside(r->offset, r->size, region))
		k = 4;
	else
		return 0;
	*why = ring_why[dir][k];
	return -EINVAL;
}

static int
gpadl_check(const struct pvb_chan_open *o, uint32_t i, const char **why)
{
	const struct pvb_chan_gpadl *g = &o->gpadl[i];
	uint32_t j;

	if (g->id == 0)
		*why = "GPADL id zero";
	else if (!page_aligned(g->offset))
		*why = "GPADL offset not page aligned";
	else if (g->size == 0 || !page_aligned(g->size))
		*why = "GPADL size zero or not a multiple of 4096";
	else if (!range_inside(g->offset, g->size, o->region_size))
		*why = "GPADL outside the region";
	else if (ranges_overlap(g->offset, g->size, o->tx.offset, o->tx.size) ||
		 ranges_overlap(g->offset, g->size, o->rx.offset, o->rx.size))
		*why = "GPADL overlaps a ring";
	else
		*why = NULL;
	for (j = 0; *why == NULL && j < i; j++)
		if (o->gpadl[j].id == g->id)
			*why = "GPADL id not unique";
	return *why == NULL ? 0 : -EINVAL;
}

int
pvb_chan_open_check(const struct pvb_chan_open *o, const struct pvb_chan_offer *offer,
		    const char **why)
{
	const char *unused;
	uint32_t i;
	int r;

	if (why == NULL)
		why = &unused;
	*why = "bad arguments";
	if (o == NULL || offer == NULL)
		return -EINVAL;
	if (o->chan_id != offer->chan_id)
		*why = "chan id does not match the offer";
	else if (o->region_size == 0 || !page_aligned(o->region_size))
		*why = "region size zero or not a multiple of 4096";
	else if (o->region_size > offer->max_region_bytes)
		*why = "region larger than the offer allows";
	else if (o->n_gpadl > PVB_CHAN_MAX_GPADL)
		*why = "too many GPADLs";
	else
		*why = NULL;
	if (*why != NULL)
		return -EINVAL;
	r = ring_check(&o->tx, 0, o->region_size, offer->max_ring_bytes, why);
	if (r == 0)
		r = ring_check(&o->rx, 1, o->region_size, offer->max_ring_bytes, why);
	if (r == 0 && ranges_overlap(o->tx.offset, o->tx.size, o->rx.offset, o->rx.size)) {
		*why = "tx and rx rings overlap";
		r = -EINVAL;
	}
	for (i = 0; r == 0 && i < o->n_gpadl; i++)
		r = gpadl_check(o, i, why);
	return r;
}

const struct pvb_chan_gpadl *
pvb_chan_gpadl_find(const struct pvb_chan_open *o, uint32_t id)
{
	uint32_t i, n;

	if (o == NULL || id == 0)
		return NULL;
	n = o->n_gpadl < PVB_CHAN_MAX_GPADL ? o->n_gpadl : PVB_CHAN_MAX_GPADL;
	for (i = 0; i < n; i++)
		if (o->gpadl[i].id == id)
			return &o->gpadl[i];
	return NULL;
}
