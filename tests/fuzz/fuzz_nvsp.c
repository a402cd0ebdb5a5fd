/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * libFuzzer target: lib/nvsp's NVSP and RNDIS decoders on bytes a hostile
 * peer wrote.
 *
 * The input is the peer's memory: a heap block of exactly the input's size
 * (so ASan reports any read past it) holding, as the datapath would see it,
 * an NVSP message (decoded from the whole and from a prefix), an RNDIS data
 * message, an RNDIS control message, and a stream of data messages that a
 * host walks by len as it does a send section (doc/nvsp.md §4.2).
 *
 * Each answer is checked against a reference decoder written here from
 * the layouts of doc/nvsp.md §2.3 and §3.2-3.4, reading the input byte by byte:
 * the result code must match, and on success every field. Then what was
 * decoded must survive an encode/decode round trip, and everything handed
 * out (frame, info buffer) must lie inside the message; the bytes are read
 * so ASan checks them. A violation aborts, which libFuzzer reports.
 *
 * Blind mutation seldom builds a PACKET_MSG with well-formed PPIs, so the
 * custom mutator now and then plants valid messages written by the
 * library's encoders; the ordinary mutations then break them in every way.
 *
 * The same bytes are also the information buffer of the task offload OIDs
 * (doc/nvsp.md §3.7): the host's NDIS_OFFLOAD as a guest decodes it and the
 * guest's NDIS_OFFLOAD_PARAMETERS as a host applies it, checked against
 * what must hold whatever the bytes: a decoded offer encodes and decodes to
 * itself, a refused parameter object changes nothing, an accepted one
 * enables nothing outside the offer.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pvb_nvsp.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define STREAM_MAX	4096	/* messages a stream walk takes, at most */
#define PLANT_ONE_IN	4	/* mutations that plant valid messages, one in this many */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* The input, little-endian, 0 past its end. */
static uint32_t
get32(const uint8_t *d, uint64_t size, uint64_t off)
{
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < 4; i++)
		if (off + i < size)
			v |= (uint32_t)d[off + i] << (8 * i);
	return v;
}

/* Read @p n bytes at @p p, so that ASan sees them. */
static void
touch(const uint8_t *p, uint32_t n)
{
	volatile uint8_t sink = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		sink ^= p[i];
	(void)sink;
}

/* ----------------------------------------------------------------------------
 * NVSP
 */

/* Layout sizes from doc/nvsp.md §2.3 (the shortest message of each type); 0 unknown. */
static uint32_t
ref_nvsp_need(uint32_t type)
{
	switch (type) {
	case 1: case 100: case 105:
		return 12;
	case 2: case 107:
		return 16;
	case 101: case 104:
		return 10;
	case 102:
		return 28;
	case 103: case 106:
		return 6;
	case 108:
		return 8;
	case 125:
		return 20;
	case 133: case 134:
		return 12;
	}
	return 0;
}

/* Bytes of a layout that decode drops (deprecated or reserved): encode writes 0. */
static bool
nvsp_dropped(uint32_t type, uint32_t i)
{
	return (type == 2 && i >= 4 && i < 8) || (type == 125 && i >= 8 && i < 12);
}

static void
fuzz_nvsp(const uint8_t *buf, uint32_t len, const uint8_t *data)
{
	uint8_t enc[PVB_NVSP_MSG_SIZE], enc2[PVB_NVSP_MSG_SIZE];
	uint32_t type = get32(data, len, 0), need = ref_nvsp_need(type), i;
	struct pvb_nvsp_msg m, m2;
	int rc;

	rc = pvb_nvsp_decode(buf, len, &m);
	if (len < 4) {
		CHECK(rc == -EPROTO);
		return;
	}
	if (need == 0) {
		CHECK(rc == -ENOTSUP);
		return;
	}
	CHECK(rc == (len < need ? -EPROTO : 0));
	if (rc != 0)
		return;
	CHECK(m.type == type);
	/* the layout's bytes come back as they were, the rest of the 40 as zero */
	CHECK(pvb_nvsp_encode(&m, enc) == PVB_NVSP_MSG_SIZE);
	for (i = 0; i < PVB_NVSP_MSG_SIZE; i++)
		CHECK(enc[i] == (i < need && !nvsp_dropped(type, i) ? data[i] : 0));
	CHECK(pvb_nvsp_decode(enc, sizeof(enc), &m2) == 0);
	CHECK(pvb_nvsp_encode(&m2, enc2) == PVB_NVSP_MSG_SIZE);
	CHECK(memcmp(enc, enc2, sizeof(enc)) == 0);
}

/* ----------------------------------------------------------------------------
 * RNDIS data messages: the reference
 */

static uint32_t
ref_ppi_bit(uint32_t type)
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

static void
ref_pi_set(struct pvb_rndis_pktinfo *pi, uint32_t bit, uint32_t v)
{
	pi->present |= bit;
	if (bit == PVB_PI_CSUM)
		pi->csum = v;
	else if (bit == PVB_PI_VLAN)
		pi->vlan = v;
	else if (bit == PVB_PI_HASH)
		pi->hash = v;
	else if (bit == PVB_PI_LSO)
		pi->lso = v;
	else
		pi->hash_info = v;
}

/* The PPI elements in [at, end) of the input (doc/nvsp.md §3.3). */
static int
ref_ppis(const uint8_t *d, uint64_t at, uint64_t end, struct pvb_rndis_pktinfo *pi)
{
	uint32_t size, type, off, bit;

	while (at < end) {
		if (end - at < 12)
			return -EPROTO;
		size = get32(d, end, at);
		type = get32(d, end, at + 4);
		off = get32(d, end, at + 8);
		if (size < 12 || size % 4 != 0 || size > end - at)
			return -EPROTO;
		bit = ref_ppi_bit(type);
		if (bit != 0) {
			if (off < 12 || (uint64_t)off + 4 > size)
				return -EPROTO;
			ref_pi_set(pi, bit, get32(d, end, at + off));
		}
		at += size;
	}
	return 0;
}

/* What pvb_rndis_data_decode() must answer for the first @p avail bytes at @p d (§3.2). */
static int
ref_data(const uint8_t *d, uint64_t avail, struct pvb_rndis_data *r)
{
	uint64_t len = get32(d, avail, 4), doff = get32(d, avail, 8), dlen = get32(d, avail, 12);
	uint64_t poff = get32(d, avail, 28), plen = get32(d, avail, 32);
	uint64_t f0 = 8 + doff, f1 = f0 + dlen, p0 = 8 + poff, p1 = p0 + plen;

	memset(r, 0, sizeof(*r));
	if (avail < 4)
		return -EPROTO;
	if (get32(d, avail, 0) != 1)
		return -ENOTSUP;
	if (avail < 44 || len < 44 || len > avail || doff < 36 || dlen < 14 || f1 > len)
		return -EPROTO;
	if (get32(d, avail, 16) != 0 || get32(d, avail, 20) != 0 || get32(d, avail, 24) != 0)
		return -EPROTO;
	if (p1 > len || (plen != 0 && (poff < 36 || (p0 < f1 && f0 < p1))))
		return -EPROTO;
	r->msg_len = (uint32_t)len;
	r->frame_off = (uint32_t)f0;
	r->frame_len = (uint32_t)dlen;
	return ref_ppis(d, p0, p1, &r->pi);
}

static bool
same_pi(const struct pvb_rndis_pktinfo *a, const struct pvb_rndis_pktinfo *b)
{
	return a->present == b->present &&
	       (!(a->present & PVB_PI_CSUM) || a->csum == b->csum) &&
	       (!(a->present & PVB_PI_VLAN) || a->vlan == b->vlan) &&
	       (!(a->present & PVB_PI_HASH) || a->hash == b->hash) &&
	       (!(a->present & PVB_PI_HASH_INFO) || a->hash_info == b->hash_info) &&
	       (!(a->present & PVB_PI_LSO) || a->lso == b->lso);
}

/* A decoded message, encoded again around the same frame, decodes the same. */
static void
data_round_trip(const uint8_t *msg, const struct pvb_rndis_data *d)
{
	uint32_t hdr = pvb_rndis_data_hdr_len(&d->pi), len = hdr + d->frame_len;
	struct pvb_rndis_data d2;
	uint8_t *b = malloc(len);

	if (b == NULL)
		return;
	CHECK(pvb_rndis_data_encode(b, d->frame_len, &d->pi, 1) == len);
	memcpy(b + hdr, msg + d->frame_off, d->frame_len);
	CHECK(pvb_rndis_data_decode(b, len, &d2) == 0);
	CHECK(d2.msg_len == len && d2.frame_off == hdr && d2.frame_len == d->frame_len);
	CHECK(same_pi(&d2.pi, &d->pi));
	free(b);
}

/* Decode the message at @p msg (@p avail bytes), check it; its result. */
static int
fuzz_data_one(const uint8_t *msg, uint32_t avail, struct pvb_rndis_data *d)
{
	struct pvb_rndis_data r;
	int rc, ref;

	ref = ref_data(msg, avail, &r);
	rc = pvb_rndis_data_decode(msg, avail, d);
	CHECK(rc == ref);
	if (rc != 0)
		return rc;
	CHECK(d->msg_len == r.msg_len && d->frame_off == r.frame_off &&
	      d->frame_len == r.frame_len && same_pi(&d->pi, &r.pi));
	CHECK(d->msg_len >= PVB_RNDIS_PACKET_HDR_SIZE && d->msg_len <= avail);
	CHECK(d->frame_off >= PVB_RNDIS_PACKET_HDR_SIZE && d->frame_len >= 14);
	CHECK((uint64_t)d->frame_off + d->frame_len <= d->msg_len);
	CHECK((d->pi.present & ~0x1fu) == 0);
	touch(msg + d->frame_off, d->frame_len);
	return 0;
}

/* Messages back to back, walked by len as a host walks a send section. */
static void
fuzz_stream(const uint8_t *buf, uint32_t avail)
{
	struct pvb_rndis_data d;
	uint32_t off = 0, n;

	for (n = 0; n < STREAM_MAX && off < avail; n++) {
		if (fuzz_data_one(buf + off, avail - off, &d) != 0)
			break;
		/* msg_len >= 44 was checked: the walk moves on */
		off += d.msg_len;
	}
	CHECK(off <= avail);
}

/* ----------------------------------------------------------------------------
 * RNDIS control messages
 */

/* Fixed part of each control type (§3.4) and where its buffer words are; 0 unknown. */
static uint32_t
ref_ctl_fixed(uint32_t type, uint32_t *len_at)
{
	*len_at = 0;
	switch (type) {
	case PVB_RNDIS_INITIALIZE_MSG:
		return 24;
	case PVB_RNDIS_INITIALIZE_CMPLT:
		return 52;
	case PVB_RNDIS_HALT_MSG: case PVB_RNDIS_KEEPALIVE_MSG: case PVB_RNDIS_RESET_MSG:
		return 12;
	case PVB_RNDIS_SET_CMPLT: case PVB_RNDIS_KEEPALIVE_CMPLT: case PVB_RNDIS_RESET_CMPLT:
		return 16;
	case PVB_RNDIS_QUERY_MSG: case PVB_RNDIS_SET_MSG:
		*len_at = 16;
		return 28;
	case PVB_RNDIS_QUERY_CMPLT:
		*len_at = 16;
		return 24;
	case PVB_RNDIS_INDICATE_STATUS_MSG:
		*len_at = 12;
		return 20;
	}
	return 0;
}

/* The result code pvb_rndis_ctl_decode() must give, and the buffer it must find. */
static int
ref_ctl(const uint8_t *d, uint32_t avail, uint32_t *info_off, uint32_t *info_len)
{
	uint32_t type = get32(d, avail, 0), len = get32(d, avail, 4), len_at, fixed;
	uint64_t at;

	*info_off = 0;
	*info_len = 0;
	if (avail < 8)
		return -EPROTO;
	fixed = ref_ctl_fixed(type, &len_at);
	if (fixed == 0)
		return -ENOTSUP;
	if (len < fixed || len > avail)
		return -EPROTO;
	if (len_at == 0 || get32(d, avail, len_at) == 0)
		return 0;
	at = 8 + (uint64_t)get32(d, avail, len_at + 4);
	if (at < fixed || at + get32(d, avail, len_at) > len)
		return -EPROTO;
	*info_off = (uint32_t)at;
	*info_len = get32(d, avail, len_at);
	return 0;
}

/* The fields of a control message (valid, type known) at the offsets of doc/nvsp.md §3.4. */
static void
ref_ctl_fields(const uint8_t *d, uint32_t avail, struct pvb_rndis_ctl *r)
{
	uint32_t w[13], i;

	for (i = 0; i < 13; i++)
		w[i] = get32(d, avail, 4 * i);
	r->type = w[0];
	r->len = w[1];
	switch (w[0]) {
	case PVB_RNDIS_INITIALIZE_MSG:
		r->request_id = w[2];
		r->major = w[3];
		r->minor = w[4];
		r->max_transfer_size = w[5];
		break;
	case PVB_RNDIS_INITIALIZE_CMPLT:
		r->request_id = w[2];
		r->status = w[3];
		r->major = w[4];
		r->minor = w[5];
		r->device_flags = w[6];
		r->medium = w[7];
		r->max_packets_per_message = w[8];
		r->max_transfer_size = w[9];
		r->packet_alignment_factor = w[10];
		break;
	case PVB_RNDIS_QUERY_MSG: case PVB_RNDIS_SET_MSG:
		r->request_id = w[2];
		r->oid = w[3];
		break;
	case PVB_RNDIS_INDICATE_STATUS_MSG: case PVB_RNDIS_RESET_CMPLT:
		r->status = w[2];
		break;
	case PVB_RNDIS_RESET_MSG:
		break;
	case PVB_RNDIS_HALT_MSG: case PVB_RNDIS_KEEPALIVE_MSG:
		r->request_id = w[2];
		break;
	default:	/* QUERY_CMPLT, SET_CMPLT, KEEPALIVE_CMPLT */
		r->request_id = w[2];
		r->status = w[3];
	}
}

static void
fuzz_ctl(const uint8_t *buf, uint32_t avail)
{
	struct pvb_rndis_ctl r;
	uint32_t info_off, info_len, len_at;
	struct pvb_rndis_ctl c, c2;
	uint8_t *b;
	int rc, n;

	rc = pvb_rndis_ctl_decode(buf, avail, &c);
	CHECK(rc == ref_ctl(buf, avail, &info_off, &info_len));
	if (rc != 0)
		return;
	memset(&r, 0, sizeof(r));
	ref_ctl_fields(buf, avail, &r);
	r.info_off = info_off;
	r.info_len = info_len;
	CHECK(memcmp(&c, &r, sizeof(c)) == 0);
	CHECK((uint64_t)c.info_off + c.info_len <= c.len && c.len <= avail);
	touch(buf + c.info_off, c.info_len);

	/* encode again: fixed part + the same buffer, which decodes to the same fields */
	b = malloc(ref_ctl_fixed(c.type, &len_at) + (size_t)c.info_len);
	if (b == NULL)
		return;
	n = pvb_rndis_ctl_encode(&c, buf + c.info_off, b, ref_ctl_fixed(c.type, &len_at) +
				 c.info_len);
	CHECK(n == (int)(ref_ctl_fixed(c.type, &len_at) + c.info_len));
	CHECK(pvb_rndis_ctl_decode(b, (uint32_t)n, &c2) == 0);
	CHECK(c2.len == (uint32_t)n && c2.info_len == c.info_len);
	CHECK(memcmp(b + c2.info_off, buf + c.info_off, c.info_len) == 0);
	c2.len = c.len;
	c2.info_off = c.info_off;
	CHECK(memcmp(&c, &c2, sizeof(c)) == 0);
	free(b);
}

/* The task offload objects on the same bytes; @p sel (an input byte) picks the offer. */
static void
fuzz_ndis(const uint8_t *buf, uint32_t avail, uint8_t sel)
{
	static const uint32_t vers[] = { 0, PVB_NDIS_VER_6_1, PVB_NDIS_VER_6_30 };
	uint8_t b[PVB_NDIS_OFFLOAD_SIZE_6_30];
	uint32_t mask = 0xdeadbeef, again, offered, enabled, before;
	uint32_t ver = vers[sel % 3], n;
	int rc;

	rc = pvb_ndis_offload_decode(buf, avail, &mask);
	CHECK(rc == 0 || rc == -EPROTO);
	if (rc == 0) {
		CHECK((mask & ~PVB_OFL_ALL) == 0);
		/* what was offered, written as this library writes it, reads the same */
		n = pvb_ndis_offload_encode(b, PVB_NDIS_VER_6_30, mask);
		CHECK(n == PVB_NDIS_OFFLOAD_SIZE_6_30);
		CHECK(pvb_ndis_offload_decode(b, n, &again) == 0 && again == mask);
	} else {
		CHECK(mask == 0xdeadbeef);
	}
	offered = (uint32_t)sel * 0x9e3779b9u & PVB_OFL_ALL;
	before = enabled = (uint32_t)sel * 0x85ebca6bu & offered;
	rc = pvb_ndis_params_apply(buf, avail, offered, &enabled);
	CHECK(rc == 0 || rc == -EPROTO || rc == -ENOTSUP);
	if (rc != 0)
		CHECK(enabled == before);
	else
		CHECK((enabled & ~offered) == 0);
	/* parameters written for a wish, applied to an empty mask, give the wish back */
	n = pvb_ndis_params_encode(b, ver, offered);
	enabled = 0;
	CHECK(pvb_ndis_params_apply(b, n, PVB_OFL_ALL, &enabled) == 0);
	CHECK(enabled == (ver >= PVB_NDIS_VER_6_30 ? offered :
			  offered & ~(PVB_OFL_RSC4 | PVB_OFL_RSC6)));
}

static void fuzz_rss(const uint8_t *buf, uint32_t avail, uint8_t sel);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pvb_rndis_data d;
	uint32_t avail, cut;
	uint8_t *buf;

	if (size > UINT32_MAX / 2)
		return 0;
	avail = (uint32_t)size;
	buf = malloc(size != 0 ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	/* NVSP: the whole, and a prefix the last byte chooses (0..40) */
	fuzz_nvsp(buf, avail, data);
	cut = size != 0 ? data[size - 1] % (PVB_NVSP_MSG_SIZE + 1) : 0;
	if (cut < avail)
		fuzz_nvsp(buf, cut, data);
	if (fuzz_data_one(buf, avail, &d) == 0)
		data_round_trip(buf, &d);
	fuzz_ctl(buf, avail);
	fuzz_stream(buf, avail);
	fuzz_ndis(buf, avail, size != 0 ? data[0] : 0);
	fuzz_rss(buf, avail, size != 0 ? data[size - 1] : 0);
	free(buf);
	return 0;
}

/* ----------------------------------------------------------------------------
 * Multiple channels: the send table and the RSS objects from a hostile peer
 */

/*
 * NVSP 134 as a host sends it and as the guest reads it: an accepted table
 * has every entry below the channel count; the RSS parameters as the guest
 * sends them and the host reads them: an accepted setting round-trips and
 * names only channels there are; the capabilities name at least one queue.
 */
static void
fuzz_rss(const uint8_t *buf, uint32_t avail, uint8_t sel)
{
	uint32_t nchan = 1 + sel % 64, t[PVB_NVSP_INDIRECTION_COUNT], i, nrxr, types;
	uint8_t enc[PVB_NDIS_RSS_PARAMS_FULL];
	struct pvb_rss_conf c, keep, again;
	int rc;

	if (pvb_nvsp_table_decode(buf, avail, nchan, t) == 0)
		for (i = 0; i < PVB_NVSP_INDIRECTION_COUNT; i++)
			CHECK(t[i] < nchan);
	memset(&keep, 0x5a, sizeof(keep));
	c = keep;
	rc = pvb_ndis_rss_params_decode(buf, avail, nchan, &c);
	CHECK(rc == 0 || rc == -EPROTO || rc == -ENOTSUP);
	if (rc != 0) {
		CHECK(memcmp(&c, &keep, sizeof(c)) == 0);
	} else if (c.enabled) {
		for (i = 0; i < PVB_NDIS_RSS_TABLE_N; i++)
			CHECK(c.table[i] < nchan);
		CHECK((c.hash_types & ~PVB_RSS_HASH_SUPPORTED) == 0);
		CHECK(pvb_ndis_rss_params_encode(enc, &c) == sizeof(enc));
		CHECK(pvb_ndis_rss_params_decode(enc, sizeof(enc), nchan, &again) == 0);
		CHECK(memcmp(&again, &c, sizeof(c)) == 0);
	}
	if (pvb_ndis_rss_caps_decode(buf, avail, &nrxr, &types) == 0)
		CHECK(nrxr >= 1 && (types & ~PVB_NDIS_HASH_TYPES) == 0);
}

/* ----------------------------------------------------------------------------
 * The custom mutator: plant valid messages
 */

static uint32_t
plant_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Data messages back to back from @p off on; the bytes written. */
static size_t
plant_data(uint8_t *out, size_t cap, uint32_t *s)
{
	struct pvb_rndis_pktinfo pi;
	size_t off = 0;
	uint32_t frame, hdr, len, k, n = 1 + plant_rand(s) % 4;

	for (k = 0; k < n; k++) {
		pi.present = plant_rand(s) & 0x1f;
		pi.lso = plant_rand(s);
		pi.csum = plant_rand(s);
		pi.vlan = plant_rand(s) & 0xffff;
		pi.hash = plant_rand(s);
		pi.hash_info = plant_rand(s);
		hdr = pvb_rndis_data_hdr_len(&pi);
		frame = 14 + plant_rand(s) % 200;
		len = (hdr + frame + 7) & ~7u;
		if (cap - off < len)
			break;
		memset(out + off, 0, len);
		CHECK(pvb_rndis_data_encode(out + off, frame, &pi, 8) == len);
		off += len;
	}
	return off;
}

static void
put32(uint8_t *b, uint32_t v)
{
	memcpy(b, &v, sizeof(v));	/* little-endian hosts only, like the wire structs */
}

/*
 * A data message built by hand: PPI elements of known and unknown types,
 * sizes and value offsets that are mostly right and sometimes just wrong,
 * now and then a few stray bytes at the end of the PPI area; the frame
 * before or after the PPIs, so that either one ends the message (len = what
 * it holds). The bytes written.
 */
static size_t
plant_data_raw(uint8_t *out, size_t cap, uint32_t *s)
{
	static const uint32_t types[] = { 0, 6, 8, 9, 2, 7, 0x80000001 };
	uint32_t k, n = plant_rand(s) % 5, size, frame = 14 + plant_rand(s) % 64;
	bool frame_first = plant_rand(s) & 1;
	uint32_t area = frame_first ? 44 + frame : 44, at = area, stray;

	if (cap < 44 + 5 * 32 + 12 + 78)
		return 0;
	memset(out, 0, 44 + 5 * 32 + 12 + 78);
	for (k = 0; k < n; k++) {
		size = 16 + 4 * (plant_rand(s) % 4);
		if (plant_rand(s) % 8 == 0)
			size = 12 + plant_rand(s) % 20;	/* wrong now and then */
		put32(out + at, size);
		put32(out + at + 4, types[plant_rand(s) % (sizeof(types) / sizeof(types[0]))]);
		put32(out + at + 8, plant_rand(s) % 8 == 0 ? plant_rand(s) % 32 :
				    12 + 4 * (plant_rand(s) % ((size - 12) / 4 + 1)));
		if (size >= 16)
			put32(out + at + size - 4, plant_rand(s));
		at += size;
	}
	stray = plant_rand(s) % 4 == 0 ? 1 + plant_rand(s) % 11 : 0;
	memset(out + at, 0x10, stray);
	at += stray;
	put32(out, PVB_RNDIS_PACKET_MSG);
	put32(out + 4, frame_first ? at : at + frame);
	put32(out + 8, frame_first ? 36 : at - 8);
	put32(out + 12, frame);
	put32(out + 28, area - 8);
	put32(out + 32, at - area);
	return frame_first ? at : at + frame;
}

/* One control message of a random type; the bytes written. */
static size_t
plant_ctl(uint8_t *out, size_t cap, uint32_t *s)
{
	static const uint32_t types[] = {
		PVB_RNDIS_INITIALIZE_MSG, PVB_RNDIS_HALT_MSG, PVB_RNDIS_QUERY_MSG,
		PVB_RNDIS_SET_MSG, PVB_RNDIS_RESET_MSG, PVB_RNDIS_INDICATE_STATUS_MSG,
		PVB_RNDIS_KEEPALIVE_MSG, PVB_RNDIS_INITIALIZE_CMPLT, PVB_RNDIS_QUERY_CMPLT,
		PVB_RNDIS_SET_CMPLT, PVB_RNDIS_RESET_CMPLT, PVB_RNDIS_KEEPALIVE_CMPLT,
	};
	static const uint8_t info[64] = { 0x00, 0x15, 0x5d, 1, 2, 3 };
	struct pvb_rndis_ctl c;
	int n;

	memset(&c, 0, sizeof(c));
	c.type = types[plant_rand(s) % (sizeof(types) / sizeof(types[0]))];
	c.request_id = plant_rand(s);
	c.status = plant_rand(s) & 1 ? 0 : plant_rand(s);
	c.oid = plant_rand(s);
	c.info_len = plant_rand(s) % sizeof(info);
	c.major = 1;
	c.max_transfer_size = plant_rand(s);
	c.packet_alignment_factor = plant_rand(s) % 8;
	n = pvb_rndis_ctl_encode(&c, info, out, (uint32_t)cap);
	return n > 0 ? (size_t)n : 0;
}

/* An NDIS_OFFLOAD or NDIS_OFFLOAD_PARAMETERS of a random mask and NDIS version. */
static size_t
plant_ndis(uint8_t *out, size_t cap, uint32_t *s)
{
	static const uint32_t vers[] = { 0, PVB_NDIS_VER_6_1, PVB_NDIS_VER_6_30 };
	uint32_t ver = vers[plant_rand(s) % 3], mask = plant_rand(s) & PVB_OFL_ALL;

	if (cap < PVB_NDIS_OFFLOAD_SIZE_6_30)
		return 0;
	if (plant_rand(s) & 1)
		return pvb_ndis_offload_encode(out, ver, mask);
	return pvb_ndis_params_encode(out, ver, mask);
}

/* One NVSP message of a random known type (a random u32 body). */
static size_t
plant_nvsp(uint8_t *out, size_t cap, uint32_t *s)
{
	static const uint32_t types[] = { 1, 2, 100, 101, 102, 103, 104, 105, 106, 107, 108,
					  125, 133, 134 };
	uint32_t i, type = types[plant_rand(s) % (sizeof(types) / sizeof(types[0]))];

	if (cap < PVB_NVSP_MSG_SIZE)
		return 0;
	memcpy(out, &type, sizeof(type));
	for (i = 4; i < PVB_NVSP_MSG_SIZE; i++)
		out[i] = (uint8_t)plant_rand(s);
	return PVB_NVSP_MSG_SIZE;
}

/* A send table, RSS parameters or capabilities, then a few random bytes changed. */
static size_t
plant_rss(uint8_t *out, size_t cap, uint32_t *s)
{
	struct pvb_rss_conf c;
	uint32_t i, n, k = plant_rand(s) % 3;

	if (cap < PVB_NDIS_RSS_PARAMS_FULL)
		return 0;
	if (k == 0) {
		n = pvb_nvsp_table_encode(out, 1 + plant_rand(s) % 8);
	} else if (k == 1) {
		c.enabled = plant_rand(s) % 8 != 0;
		c.hash_types = plant_rand(s) & PVB_NDIS_HASH_TYPES;
		for (i = 0; i < sizeof(c.key); i++)
			c.key[i] = (uint8_t)plant_rand(s);
		for (i = 0; i < sizeof(c.table); i++)
			c.table[i] = (uint8_t)(plant_rand(s) % 8);
		n = pvb_ndis_rss_params_encode(out, &c);
	} else {
		n = pvb_ndis_rss_caps_encode(out, PVB_NDIS_VER_6_30, plant_rand(s) % 9);
	}
	for (i = plant_rand(s) % 3; i > 0; i--)
		out[plant_rand(s) % n] = (uint8_t)plant_rand(s);
	return n;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	uint32_t s = seed | 1, kind;
	size_t n, cap = max_size < 2048 ? max_size : 2048;

	if (seed % PLANT_ONE_IN != 0)
		return LLVMFuzzerMutate(data, size, max_size);
	kind = plant_rand(&s) % 6;
	n = kind == 0 ? plant_data(data, cap, &s) : kind == 1 ? plant_data_raw(data, cap, &s) :
	    kind == 2 ? plant_ctl(data, cap, &s) : kind == 3 ? plant_nvsp(data, cap, &s) :
	    kind == 4 ? plant_ndis(data, cap, &s) : plant_rss(data, cap, &s);
	return n != 0 ? n : LLVMFuzzerMutate(data, size, max_size);
}
