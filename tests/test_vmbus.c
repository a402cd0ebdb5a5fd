/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Unit tests for lib/vmbus (suite 'unit').
 *
 * One fixture for the suite: one ring direction (the control page and a
 * one-page data area) in either memory mode:
 *  - flat (pvb_vmbus_mem_flat), between two PROT_NONE guard pages, so that an
 *    access outside the ring memory faults instead of passing unnoticed;
 *  - double-mapped (pvb_vmbus_mem_map_double) over a memfd.
 * The test plays the peer of each end by writing the control page and the
 * data area itself, so it can hand an end anything a broken or hostile peer
 * could.
 *
 * The packet vectors were worked out by hand from the layouts in Linux's
 * include/linux/hyperv.h (struct vmpacket_descriptor, vmtransfer_page_packet_header,
 * vmdata_gpa_direct) as pvb_vmbus_wire.h and doc/vmbus.md restate them,
 * not by running the writer: the writer must produce them byte for byte, and
 * the reader must parse them when they are put straight into ring memory. The
 * wrap tests move the same packets so that each of their 8-byte boundaries in
 * turn falls on the end of the data area.
 */

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvb_vmbus.h"
#include "test_common.h"


#define DSIZE		4096u	/* one page of data: filled and wrapped quickly */
#define RING_LEN	(PVB_VMBUS_CTL_SIZE + DSIZE)
#define FILL		0xcd	/* data bytes nobody has written */
#define POISON		0xa5	/* caller buffers the library must not write past */
#define CANARY		0x5a	/* slack between the ring and a guard page */
#define FEAT		PVB_VMBUS_FEAT_PENDING_SEND_SZ
#define CTL(f)		offsetof(struct pvb_vmbus_ctl, f)


/* ----------------------------------------------------------------------------
 * Fixture
 */

enum mode {
	MODE_FLAT,	/* copies across the end of the data area are split */
	MODE_DOUBLE,	/* the data area is mapped twice: packets are contiguous */
};

static const enum mode modes[] = { MODE_FLAT, MODE_DOUBLE };
static const char *const mode_name[] = { "flat", "double" };

struct fx {
	enum mode mode;
	uint8_t *map;		/* flat: the whole mapping, guard pages included */
	size_t map_len;
	uint8_t *slack;		/* flat: between the front guard page and the ring */
	size_t slack_len;
	struct pvb_vmbus_mem m;
	struct pvb_vmbus_out out;
	struct pvb_vmbus_in in;
	uint8_t snap[RING_LEN];	/* control page and data area, see snapshot() */
};

static pvb_shared_u32 *
ctl_word(struct fx *fx, size_t off)
{
	return (pvb_shared_u32 *)(void *)((uint8_t *)fx->m.ctl + off);
}

/* Publish a control word as the peer that owns it would. */
static void
ctl_set(struct fx *fx, size_t off, uint32_t v)
{
	pvb_store_release(ctl_word(fx, off), v);
}

static uint32_t
ctl_get(struct fx *fx, size_t off)
{
	/* relaxed: the test is single-threaded; it only inspects */
	return pvb_load_relaxed(ctl_word(fx, off));
}

/*
 * A fresh ring in @mode with write_index @w and read_index @r (set before
 * any end attaches, as a peer that came first would have left them) and
 * every data byte FILL. The data area ends against the back guard page;
 * with 4 KiB pages the control page starts against the front one.
 */
static void
fx_open(struct fx *fx, enum mode mode, uint32_t w, uint32_t r)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = (RING_LEN + pg - 1) / pg * pg;
	int fd;

	memset(&fx->out, 0, sizeof(fx->out));
	memset(&fx->in, 0, sizeof(fx->in));
	fx->mode = mode;
	if (mode == MODE_FLAT) {
		fx->map_len = span + 2 * pg;
		fx->map = mmap(NULL, fx->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(fx->map != MAP_FAILED);
		assert_int_equal(mprotect(fx->map + pg, span, PROT_READ | PROT_WRITE), 0);
		fx->slack = fx->map + pg;
		fx->slack_len = span - RING_LEN;
		memset(fx->slack, CANARY, fx->slack_len);
		assert_int_equal(pvb_vmbus_mem_flat(&fx->m, fx->slack + fx->slack_len, RING_LEN),
				 0);
	} else {
		fd = memfd_create("test_vmbus", MFD_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, RING_LEN), 0);
		assert_int_equal(pvb_vmbus_mem_map_double(&fx->m, fd, 0, RING_LEN), 0);
		assert_int_equal(close(fd), 0);	/* the mapping keeps the memory */
	}
	assert_true(fx->m.doubled == (mode == MODE_DOUBLE));
	assert_int_equal(fx->m.dsize, DSIZE);
	assert_ptr_equal(fx->m.data, (uint8_t *)fx->m.ctl + PVB_VMBUS_CTL_SIZE);
	memset(fx->m.data, FILL, DSIZE);
	ctl_set(fx, CTL(write_index), w);
	ctl_set(fx, CTL(read_index), r);
}

static void
fx_close(struct fx *fx)
{
	if (fx->mode == MODE_FLAT && fx->map != NULL) {
		/* nothing may have been written between the front guard and the ring */
		assert_true(bytes_all(fx->slack, fx->slack_len, CANARY));
		assert_int_equal(munmap(fx->map, fx->map_len), 0);
	} else if (fx->mode == MODE_DOUBLE) {
		pvb_vmbus_mem_unmap(&fx->m);
	}
	fx->map = NULL;
	memset(&fx->m, 0, sizeof(fx->m));
}

static void
fx_reopen(struct fx *fx, enum mode mode, uint32_t w, uint32_t r)
{
	fx_close(fx);
	fx_open(fx, mode, w, r);
}

static int
suite_setup(void **state)
{
	static struct fx fixture;

	*state = &fixture;
	return 0;
}

static int
fx_setup(void **state)
{
	here[0] = '\0';
	fx_open(*state, MODE_FLAT, 0, 0);
	return 0;
}

static int
fx_teardown(void **state)
{
	fx_close(*state);
	return 0;
}

static void
attach_both(struct fx *fx, uint32_t features)
{
	expect_eq(pvb_vmbus_out_attach(&fx->out, &fx->m, features), 0);
	expect_eq(pvb_vmbus_in_attach(&fx->in, &fx->m), 0);
}

/* Bytes into the data area at @off, as a peer writes them: wrapping at the end. */
static void
data_put(struct fx *fx, uint32_t off, const void *src, uint32_t n)
{
	const uint8_t *s = src;
	uint32_t i;

	for (i = 0; i < n; i++)
		fx->m.data[(off + i) % DSIZE] = s[i];
}

static void
data_put32(struct fx *fx, uint32_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	data_put(fx, off, b, sizeof(b));
}

/* The data area holds @img (@n bytes) at @off, wrapping, and FILL everywhere else. */
static void
data_expect(struct fx *fx, uint32_t off, const uint8_t *img, uint32_t n)
{
	uint32_t i, k;
	uint8_t want;

	for (i = 0; i < DSIZE; i++) {
		k = (i + DSIZE - off) % DSIZE;
		want = k < n ? img[k] : FILL;
		if (fx->m.data[i] != want)
			fail_msg("%s: data[%u] (packet byte %u) is %#x, want %#x", here, i, k,
				 fx->m.data[i], want);
	}
}

static void
snapshot(struct fx *fx)
{
	memcpy(fx->snap, fx->m.ctl, RING_LEN);
}

/* Neither the control page nor the data area changed since snapshot(). */
static void
assert_ring_unchanged(struct fx *fx)
{
	const uint8_t *now = (const uint8_t *)fx->m.ctl;
	size_t i;

	for (i = 0; i < RING_LEN; i++)
		if (now[i] != fx->snap[i])
			fail_msg("%s: ring byte %zu changed from %#x to %#x", here, i,
				 fx->snap[i], now[i]);
}

/* ----------------------------------------------------------------------------
 * Packet vectors, worked out by hand
 *
 * A packet is a 16-byte descriptor {u16 type, u16 offset8, u16 len8, u16
 * flags, u64 trans_id}, a type header, the payload at offset8 * 8, zero
 * padding up to len8 * 8 = align8(header + payload), then an 8-byte trailer:
 * a u64 whose low word is 0 and whose high word is the data offset the packet
 * starts at (start << 32). Ring bytes = len8 * 8 + 8. All little-endian.
 */

enum kind { K_INBAND, K_COMP, K_XFER, K_GPA };

struct vec {
	const char *name;
	enum kind kind;
	uint16_t type;		/* what the descriptor says */
	uint32_t start;		/* the data offset the trailer was worked out for */
	uint64_t trans_id;
	uint16_t flags;
	uint16_t set_id;	/* K_XFER */
	const struct pvb_vmbus_xfer_range *xr;	/* K_XFER */
	const struct pvb_vmbus_gpa *gr;		/* K_GPA */
	uint32_t nranges;
	const uint8_t *payload;
	uint32_t plen;
	uint32_t hdr_len;	/* offset8 * 8 */
	uint32_t len;		/* len8 * 8 */
	const uint8_t *bytes;	/* len + 8 ring bytes */
	uint32_t nbytes;
};

#define VEC_MAX		128	/* ring bytes of the largest vector, with room to spare */
#define BYTES(a)	.bytes = (a), .nbytes = sizeof(a)

static const uint8_t hello[] = { 'h', 'e', 'l', 'l', 'o' };

static const uint8_t vb_inband[] = {
	/* @0 type 0x6, offset8 = 16 / 8 = 2, len8 = align8(16 + 5) / 8 = 24 / 8 = 3, flags 1 */
	0x06, 0x00, 0x02, 0x00, 0x03, 0x00, 0x01, 0x00,
	/* @8 trans_id 0x1122334455667788 */
	0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	/* @16 payload "hello", then 24 - 21 = 3 bytes of padding */
	0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x00, 0x00,
	/* @24 trailer: start 0x40 << 32; ring bytes 24 + 8 = 32 */
	0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
};

static const uint8_t vb_inband_empty[] = {
	/* @0 type 0x6, offset8 2, len8 = align8(16 + 0) / 8 = 2, flags 0 */
	0x06, 0x00, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00,
	/* @8 trans_id 0 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* @16 trailer: start 0x80 << 32; ring bytes 16 + 8 = 24 */
	0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};

/* NVSP SEND_RNDIS_PKT_COMPLETE (108 = 0x6c), status 1, and 4 more bytes */
static const uint8_t comp_msg[] = {
	0x6c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xaa, 0xbb, 0xcc, 0xdd,
};

static const uint8_t vb_comp[] = {
	/* @0 type 0xb, offset8 2, len8 = align8(16 + 12) / 8 = 32 / 8 = 4, flags 0 */
	0x0b, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00,
	/* @8 trans_id 0xfedcba9876543210 */
	0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
	/* @16 payload, 12 bytes, then 32 - 28 = 4 bytes of padding */
	0x6c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0xaa, 0xbb, 0xcc, 0xdd, 0x00, 0x00, 0x00, 0x00,
	/* @32 trailer: start 0xa0 << 32; ring bytes 32 + 8 = 40 */
	0x00, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x00, 0x00,
};

static const struct pvb_vmbus_xfer_range xr3[] = {
	{ .byte_count = 1500, .byte_offset = 0 },
	{ .byte_count = 60, .byte_offset = 0x800 },
	{ .byte_count = 0x100, .byte_offset = 0x1000 },
};

static const uint8_t nvsp_rndis[] = { 0x6b, 0x00, 0x00, 0x00 };	/* NVSP 107 */

static const uint8_t vb_xfer3[] = {
	/*
	 * @0 type 0x7, offset8 = (16 + 8 + 3 * 8) / 8 = 48 / 8 = 6,
	 * len8 = align8(48 + 4) / 8 = 56 / 8 = 7, flags 1
	 */
	0x07, 0x00, 0x06, 0x00, 0x07, 0x00, 0x01, 0x00,
	/* @8 trans_id 0x0102030405060708 */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	/* @16 xfer_pageset_id 0xcafe, sender_owns_set 0, reserved 0; @20 range_count 3 */
	0xfe, 0xca, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	/* @24 range 0: byte_count 1500 = 0x5dc, byte_offset 0 */
	0xdc, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* @32 range 1: byte_count 60 = 0x3c, byte_offset 0x800 */
	0x3c, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,
	/* @40 range 2: byte_count 0x100, byte_offset 0x1000 */
	0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
	/* @48 payload, 4 bytes, then 56 - 52 = 4 bytes of padding */
	0x6b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* @56 trailer: start 0x100 << 32; ring bytes 56 + 8 = 64 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
};

static const struct pvb_vmbus_xfer_range xr1[] = {
	{ .byte_count = 0x40, .byte_offset = 0x12340 },
};

static const uint8_t vb_xfer1[] = {
	/* @0 type 0x7, offset8 = (16 + 8 + 8) / 8 = 4, len8 = align8(32 + 0) / 8 = 4, flags 0 */
	0x07, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00,
	/* @8 trans_id 0x99 */
	0x99, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* @16 xfer_pageset_id 1; @20 range_count 1 */
	0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	/* @24 range 0: byte_count 0x40, byte_offset 0x12340 */
	0x40, 0x00, 0x00, 0x00, 0x40, 0x23, 0x01, 0x00,
	/* @32 trailer: start 0x180 << 32; ring bytes 32 + 8 = 40 */
	0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00,
};

static const uint64_t pfn_a[] = { 0x12345 };
static const uint64_t pfn_b[] = { 0xabcdef0123 };

static const struct pvb_vmbus_gpa gr_single[] = {
	{ .byte_count = 0x100, .byte_offset = 0x10, .pfn = pfn_a },
	{ .byte_count = 0x80, .byte_offset = 0xf80, .pfn = pfn_b },
};

static const uint8_t six[] = { 1, 2, 3, 4, 5, 6 };

static const uint8_t vb_gpa_single[] = {
	/*
	 * @0 type 0x9, offset8 = (16 + 8 + 2 * (8 + 8)) / 8 = 56 / 8 = 7,
	 * len8 = align8(56 + 6) / 8 = 64 / 8 = 8, flags 1
	 */
	0x09, 0x00, 0x07, 0x00, 0x08, 0x00, 0x01, 0x00,
	/* @8 trans_id 0xdeadbeef */
	0xef, 0xbe, 0xad, 0xde, 0x00, 0x00, 0x00, 0x00,
	/* @16 reserved 0; @20 range_count 2 */
	0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	/* @24 range 0: byte_count 0x100, byte_offset 0x10 */
	0x00, 0x01, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
	/* @32 its ceil((0x10 + 0x100) / 4096) = 1 pfn: 0x12345 */
	0x45, 0x23, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* @40 range 1: byte_count 0x80, byte_offset 0xf80 */
	0x80, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x00, 0x00,
	/* @48 its ceil((0xf80 + 0x80) / 4096) = 1 pfn: 0xabcdef0123 */
	0x23, 0x01, 0xef, 0xcd, 0xab, 0x00, 0x00, 0x00,
	/* @56 payload, 6 bytes, then 64 - 62 = 2 bytes of padding */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x00, 0x00,
	/* @64 trailer: start 0x200 << 32; ring bytes 64 + 8 = 72 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
};

static const uint64_t pfn_c[] = { 0x100, 0x101, 0x102 };
static const uint64_t pfn_d[] = { 0x7 };
static const uint64_t pfn_e[] = { 0x200 };

static const struct pvb_vmbus_gpa gr_multi[] = {
	{ .byte_count = 0x2000, .byte_offset = 0x10, .pfn = pfn_c },
	{ .byte_count = 1, .byte_offset = 0xfff, .pfn = pfn_d },
	{ .byte_count = 0x1000, .byte_offset = 0, .pfn = pfn_e },
};

static const uint8_t three[] = { 0xaa, 0xbb, 0xcc };

static const uint8_t vb_gpa_multi[] = {
	/*
	 * @0 type 0x9, offset8 = (16 + 8 + (8 + 3 * 8) + (8 + 8) + (8 + 8)) / 8 = 88 / 8
	 * = 11, len8 = align8(88 + 3) / 8 = 96 / 8 = 12, flags 0
	 */
	0x09, 0x00, 0x0b, 0x00, 0x0c, 0x00, 0x00, 0x00,
	/* @8 trans_id 0x42 */
	0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* @16 reserved 0; @20 range_count 3 */
	0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	/* @24 range 0: byte_count 0x2000, byte_offset 0x10 */
	0x00, 0x20, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
	/* @32 its ceil((0x10 + 0x2000) / 4096) = ceil(8208 / 4096) = 3 pfns */
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* @56 range 1: byte_count 1, byte_offset 0xfff; @64 ceil(4096 / 4096) = 1 pfn */
	0x01, 0x00, 0x00, 0x00, 0xff, 0x0f, 0x00, 0x00,
	0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* @72 range 2: byte_count 0x1000, byte_offset 0; @80 ceil(4096 / 4096) = 1 pfn */
	0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* @88 payload, 3 bytes, then 96 - 91 = 5 bytes of padding */
	0xaa, 0xbb, 0xcc, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* @96 trailer: start 0x300 << 32; ring bytes 96 + 8 = 104 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
};

static const struct vec vecs[] = {
	{
		.name = "in-band, 5-byte payload", .kind = K_INBAND, .type = 0x6,
		.start = 0x40, .trans_id = 0x1122334455667788, .flags = 1,
		.payload = hello, .plen = sizeof(hello),
		.hdr_len = 16, .len = 24, BYTES(vb_inband),
	},
	{
		.name = "in-band, no payload", .kind = K_INBAND, .type = 0x6,
		.start = 0x80, .trans_id = 0, .flags = 0,
		.hdr_len = 16, .len = 16, BYTES(vb_inband_empty),
	},
	{
		.name = "completion, 12-byte payload", .kind = K_COMP, .type = 0xb,
		.start = 0xa0, .trans_id = 0xfedcba9876543210, .flags = 0,
		.payload = comp_msg, .plen = sizeof(comp_msg),
		.hdr_len = 16, .len = 32, BYTES(vb_comp),
	},
	{
		.name = "transfer-page, set 0xcafe, 3 ranges", .kind = K_XFER, .type = 0x7,
		.start = 0x100, .trans_id = 0x0102030405060708, .flags = 1,
		.set_id = 0xcafe, .xr = xr3, .nranges = DIM(xr3),
		.payload = nvsp_rndis, .plen = sizeof(nvsp_rndis),
		.hdr_len = 48, .len = 56, BYTES(vb_xfer3),
	},
	{
		.name = "transfer-page, set 1, 1 range, no payload", .kind = K_XFER, .type = 0x7,
		.start = 0x180, .trans_id = 0x99, .flags = 0,
		.set_id = 1, .xr = xr1, .nranges = DIM(xr1),
		.hdr_len = 32, .len = 32, BYTES(vb_xfer1),
	},
	{
		.name = "GPA-direct, 2 ranges of 1 pfn", .kind = K_GPA, .type = 0x9,
		.start = 0x200, .trans_id = 0xdeadbeef, .flags = 1,
		.gr = gr_single, .nranges = DIM(gr_single),
		.payload = six, .plen = sizeof(six),
		.hdr_len = 56, .len = 64, BYTES(vb_gpa_single),
	},
	{
		.name = "GPA-direct, ranges of 3, 1 and 1 pfns", .kind = K_GPA, .type = 0x9,
		.start = 0x300, .trans_id = 0x42, .flags = 0,
		.gr = gr_multi, .nranges = DIM(gr_multi),
		.payload = three, .plen = sizeof(three),
		.hdr_len = 88, .len = 96, BYTES(vb_gpa_multi),
	},
};

/*
 * The page count of a GPA range as Linux's hyperv.h computes it (offset + length,
 * rounded up to pages), here rather than by the library.
 */
static uint32_t
spec_pages(const struct pvb_vmbus_gpa *g)
{
	return (uint32_t)(((uint64_t)g->byte_offset + g->byte_count + 4095) / 4096);
}

/* @v's ring bytes for a packet starting at @start: only the trailer depends on it. */
static void
vec_image(const struct vec *v, uint32_t start, uint8_t *img)
{
	uint8_t *t = img + v->nbytes - 8;

	assert_int_equal(v->nbytes, v->len + 8);
	assert_true(v->nbytes <= VEC_MAX);
	memcpy(img, v->bytes, v->nbytes);
	memset(t, 0, 4);
	t[4] = (uint8_t)start;
	t[5] = (uint8_t)(start >> 8);
	t[6] = (uint8_t)(start >> 16);
	t[7] = (uint8_t)(start >> 24);
}

static int
write_vec(struct fx *fx, const struct vec *v)
{
	switch (v->kind) {
	case K_INBAND:
		return pvb_vmbus_out_inband(&fx->out, v->trans_id, v->flags, v->payload, v->plen);
	case K_COMP:
		return pvb_vmbus_out_comp(&fx->out, v->trans_id, v->payload, v->plen);
	case K_XFER:
		return pvb_vmbus_out_xfer(&fx->out, v->trans_id, v->flags, v->set_id, v->xr,
					  v->nranges, v->payload, v->plen);
	case K_GPA:
		return pvb_vmbus_out_gpa(&fx->out, v->trans_id, v->flags, v->gr, v->nranges,
					 v->payload, v->plen);
	}
	return -EINVAL;
}

/* Would a flat ring split @len bytes at packet offset @off of a packet at @start? */
static bool
splits(const struct fx *fx, uint32_t start, uint32_t off, uint32_t len)
{
	return fx->mode == MODE_FLAT && (start + off) % DSIZE + len > DSIZE;
}

static void
check_ptr(struct fx *fx, const struct pvb_vmbus_pkt *p, uint32_t off, uint32_t len,
	  const uint8_t *want)
{
	const uint8_t *q = pvb_vmbus_in_ptr(&fx->in, p, off, len);

	if (splits(fx, p->start, off, len)) {
		expect_true(q == NULL);
		return;
	}
	expect_true(q != NULL);
	/* on a double-mapped ring this runs into the second mapping of the data */
	if (memcmp(q, want, len) != 0)
		fail_msg("%s: in_ptr(%u, %u) bytes differ", here, off, len);
}

static void
check_xfer_ranges(struct fx *fx, const struct vec *v, const struct pvb_vmbus_pkt *p)
{
	struct pvb_vmbus_xfer_range r;
	uint32_t i;

	for (i = 0; i < v->nranges; i++) {
		memset(&r, POISON, sizeof(r));
		expect_eq(pvb_vmbus_in_xfer_range(&fx->in, p, i, &r), 0);
		expect_eq(r.byte_count, v->xr[i].byte_count);
		expect_eq(r.byte_offset, v->xr[i].byte_offset);
	}
	memset(&r, POISON, sizeof(r));
	expect_eq(pvb_vmbus_in_xfer_range(&fx->in, p, v->nranges, &r), -EINVAL);
	expect_eq(pvb_vmbus_in_xfer_range(&fx->in, p, UINT32_MAX, &r), -EINVAL);
	expect_true(bytes_all(&r, sizeof(r), POISON));
}

/* Walk the ranges twice: with room for every pfn, then with room for one. */
static void
check_gpa_ranges(struct fx *fx, const struct vec *v, const struct pvb_vmbus_pkt *p)
{
	static const uint32_t rooms[] = { 8, 1 };
	struct pvb_vmbus_gpa_iter it;
	struct pvb_vmbus_xfer_range r;
	uint32_t i, k, pages, room;
	uint64_t pfn[8];

	for (k = 0; k < DIM(rooms); k++) {
		room = rooms[k];
		assert_true(room <= DIM(pfn));
		memset(&it, 0, sizeof(it));
		for (i = 0; i < v->nranges; i++) {
			pages = spec_pages(&v->gr[i]);
			assert_true(pages <= DIM(pfn));
			memset(pfn, POISON, sizeof(pfn));
			/* the count is the range's even when the copy is cut short */
			expect_eq(pvb_vmbus_in_gpa_next(&fx->in, p, &it, &r, pfn, room), pages);
			expect_eq(r.byte_count, v->gr[i].byte_count);
			expect_eq(r.byte_offset, v->gr[i].byte_offset);
			pages = pages < room ? pages : room;
			expect_true(memcmp(pfn, v->gr[i].pfn, pages * 8) == 0);
			expect_true(bytes_all(pfn + pages, sizeof(pfn) - pages * 8, POISON));
		}
		expect_eq(pvb_vmbus_in_gpa_next(&fx->in, p, &it, &r, pfn, room), 0);
		expect_eq(pvb_vmbus_in_gpa_next(&fx->in, p, &it, &r, pfn, room), 0);
	}
	/* counts only */
	memset(&it, 0, sizeof(it));
	for (i = 0; i < v->nranges; i++)
		expect_eq(pvb_vmbus_in_gpa_next(&fx->in, p, &it, &r, NULL, 0),
			  spec_pages(&v->gr[i]));
}

/* What the reader made of packet @v at @start: fields, ranges, payload, bytes. */
static void
check_pkt(struct fx *fx, const struct vec *v, uint32_t start, const struct pvb_vmbus_pkt *p)
{
	uint32_t n = v->len - v->hdr_len;
	uint8_t img[VEC_MAX], buf[VEC_MAX + 16];
	struct pvb_vmbus_gpa_iter it = { 0, 0 };
	struct pvb_vmbus_xfer_range r;

	vec_image(v, start, img);
	expect_eq(p->type, v->type);
	expect_eq(p->flags, v->flags);
	expect_eq(p->trans_id, v->trans_id);
	expect_eq(p->start, start);
	expect_eq(p->len, v->len);
	expect_eq(p->hdr_len, v->hdr_len);
	expect_eq(p->range_count, v->kind == K_XFER || v->kind == K_GPA ? v->nranges : 0);
	expect_eq(p->xfer_set_id, v->kind == K_XFER ? v->set_id : 0);

	/* the payload, padding included, and nothing after it */
	memset(buf, POISON, sizeof(buf));
	expect_eq(pvb_vmbus_in_payload(&fx->in, p, buf, sizeof(buf)), n);
	expect_true(memcmp(buf, img + v->hdr_len, n) == 0);
	expect_true(v->plen == 0 || memcmp(buf, v->payload, v->plen) == 0);
	expect_true(bytes_all(buf + n, sizeof(buf) - n, POISON));
	/* a short buffer: the count still says how much there is; one byte is copied */
	memset(buf, POISON, sizeof(buf));
	expect_eq(pvb_vmbus_in_payload(&fx->in, p, buf, 1), n);
	expect_eq(buf[0], n != 0 ? img[v->hdr_len] : POISON);
	expect_true(bytes_all(buf + 1, sizeof(buf) - 1, POISON));

	/* the whole packet, trailer excluded; nothing past it */
	memset(buf, POISON, sizeof(buf));
	expect_eq(pvb_vmbus_in_read(&fx->in, p, 0, buf, v->len), 0);
	expect_true(memcmp(buf, img, v->len) == 0);
	expect_true(bytes_all(buf + v->len, sizeof(buf) - v->len, POISON));
	memset(buf, POISON, sizeof(buf));
	expect_eq(pvb_vmbus_in_read(&fx->in, p, 1, buf, v->len), -EINVAL);
	expect_eq(pvb_vmbus_in_read(&fx->in, p, v->len + 1, buf, 0), -EINVAL);
	expect_eq(pvb_vmbus_in_read(&fx->in, p, v->len, buf, 0), 0);
	expect_true(bytes_all(buf, sizeof(buf), POISON));

	check_ptr(fx, p, 0, v->len, img);
	check_ptr(fx, p, v->hdr_len, n, img + v->hdr_len);
	expect_true(pvb_vmbus_in_ptr(&fx->in, p, 0, v->len + 1) == NULL);
	expect_true(pvb_vmbus_in_ptr(&fx->in, p, v->len + 1, 0) == NULL);

	if (v->kind == K_XFER)
		check_xfer_ranges(fx, v, p);
	else
		expect_eq(pvb_vmbus_in_xfer_range(&fx->in, p, 0, &r), -EINVAL);
	if (v->kind == K_GPA)
		check_gpa_ranges(fx, v, p);
	else
		expect_eq(pvb_vmbus_in_gpa_next(&fx->in, p, &it, &r, NULL, 0), -EINVAL);
}

/* ----------------------------------------------------------------------------
 * Exact bytes
 */

static void
test_bytes_write(void **state)
{
	struct fx *fx = *state;
	const struct vec *v;
	size_t i;

	for (i = 0; i < DIM(vecs); i++) {
		v = &vecs[i];
		at("write %s at %#x", v->name, v->start);
		fx_reopen(fx, MODE_FLAT, v->start, v->start);
		expect_eq(pvb_vmbus_out_attach(&fx->out, &fx->m, 0), 0);
		expect_eq(write_vec(fx, v), 0);
		/* written, not published */
		expect_eq(ctl_get(fx, CTL(write_index)), v->start);
		expect_eq(pvb_vmbus_out_uncommitted(&fx->out), v->nbytes);
		/* the reader had read everything (nothing) and is not masked: signal */
		expect_true(pvb_vmbus_out_commit(&fx->out));
		expect_eq(ctl_get(fx, CTL(write_index)), v->start + v->nbytes);
		expect_eq(pvb_vmbus_out_uncommitted(&fx->out), 0);
		data_expect(fx, v->start, v->bytes, v->nbytes);
		/* the writer owns write_index, pending_send_sz and feature_bits only */
		expect_eq(ctl_get(fx, CTL(read_index)), v->start);
		expect_eq(ctl_get(fx, CTL(interrupt_mask)), 0);
		expect_eq(ctl_get(fx, CTL(pending_send_sz)), 0);
		expect_eq(ctl_get(fx, CTL(feature_bits)), 0);
		expect_eq(fx->out.st.packets, 1);
		expect_eq(fx->out.st.bytes, v->nbytes);
		expect_eq(fx->out.st.commits, 1);
		expect_eq(fx->out.st.signals, 1);
		expect_eq(fx->out.st.full, 0);
	}
}

static void
test_bytes_read(void **state)
{
	struct fx *fx = *state;
	struct pvb_vmbus_pkt p, again;
	const struct vec *v;
	size_t i;

	for (i = 0; i < DIM(vecs); i++) {
		v = &vecs[i];
		at("read %s at %#x", v->name, v->start);
		fx_reopen(fx, MODE_FLAT, v->start + v->nbytes, v->start);
		data_put(fx, v->start, v->bytes, v->nbytes);
		expect_eq(pvb_vmbus_in_attach(&fx->in, &fx->m), 0);
		memset(&p, POISON, sizeof(p));
		expect_eq(pvb_vmbus_in_peek(&fx->in, &p), 0);
		check_pkt(fx, v, v->start, &p);
		/* peek does not consume: the same packet again */
		memset(&again, 0, sizeof(again));
		expect_eq(pvb_vmbus_in_peek(&fx->in, &again), 0);
		expect_true(memcmp(&p, &again, sizeof(p)) == 0);
		pvb_vmbus_in_consume(&fx->in, &p);
		expect_eq(ctl_get(fx, CTL(read_index)), v->start);	/* private until commit */
		expect_eq(pvb_vmbus_in_peek(&fx->in, &again), -EAGAIN);
		/* no pending feature: never a signal */
		expect_false(pvb_vmbus_in_commit(&fx->in));
		expect_eq(ctl_get(fx, CTL(read_index)), v->start + v->nbytes);
		expect_eq(pvb_vmbus_in_peek(&fx->in, &again), -EAGAIN);
		/* the reader writes read_index only */
		data_expect(fx, v->start, v->bytes, v->nbytes);
		expect_eq(ctl_get(fx, CTL(write_index)), v->start + v->nbytes);
		expect_eq(fx->in.st.packets, 1);
		expect_eq(fx->in.st.bytes, v->nbytes);
		expect_eq(fx->in.st.commits, 1);
		expect_eq(fx->in.st.signals, 0);
	}
}

static void
test_pkt_ring_bytes(void **state)
{
	static const struct {
		uint32_t hdr, payload, want;
	} cases[] = {
		{ 16, 0, 24 },		/* 16 + 8 */
		{ 16, 5, 32 },		/* align8(21) = 24, + 8 */
		{ 16, 8, 32 },		/* 24 + 8 */
		{ 48, 4, 64 },		/* align8(52) = 56, + 8 */
		{ 88, 3, 104 },		/* align8(91) = 96, + 8 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < DIM(cases); i++) {
		at("ring bytes of %u + %u", cases[i].hdr, cases[i].payload);
		expect_eq(pvb_vmbus_pkt_ring_bytes(cases[i].hdr, cases[i].payload),
			  cases[i].want);
	}
}

/* ----------------------------------------------------------------------------
 * Wrap: each packet starting at every 8-byte step before the end of the
 * data area, so the split falls in the descriptor, the type header, the
 * ranges, the payload and its padding, or right before the trailer
 */

static void
check_roundtrip(struct fx *fx, enum mode mode, const struct vec *v, uint32_t start)
{
	uint32_t end = (start + v->nbytes) % DSIZE;
	struct pvb_vmbus_pkt p;
	uint8_t img[VEC_MAX];

	at("%s, %s ring, start %u (%u bytes before the end)", v->name, mode_name[mode], start,
	   DSIZE - start);
	fx_reopen(fx, mode, start, start);
	attach_both(fx, 0);
	expect_eq(write_vec(fx, v), 0);
	expect_true(pvb_vmbus_out_commit(&fx->out));
	expect_eq(ctl_get(fx, CTL(write_index)), end);
	vec_image(v, start, img);
	data_expect(fx, start, img, v->nbytes);
	expect_eq(pvb_vmbus_in_peek(&fx->in, &p), 0);
	check_pkt(fx, v, start, &p);
	pvb_vmbus_in_consume(&fx->in, &p);
	expect_false(pvb_vmbus_in_commit(&fx->in));
	expect_eq(ctl_get(fx, CTL(read_index)), end);
	expect_eq(pvb_vmbus_in_peek(&fx->in, &p), -EAGAIN);
}

static void
test_wrap(void **state)
{
	size_t mi, i;
	uint32_t k;

	for (mi = 0; mi < DIM(modes); mi++) {
		for (i = 0; i < DIM(vecs); i++) {
			check_roundtrip(*state, modes[mi], &vecs[i], 0);
			for (k = 1; k <= vecs[i].nbytes / 8; k++)
				check_roundtrip(*state, modes[mi], &vecs[i], DSIZE - 8 * k);
		}
	}
}

/* All the vectors back to back, one commit per round, for several laps of the ring. */
static void
test_stream(void **state)
{
	struct fx *fx = *state;
	struct pvb_vmbus_pkt p;
	uint64_t bytes;
	size_t mi, i;
	uint32_t pos;
	int round;

	for (mi = 0; mi < DIM(modes); mi++) {
		pos = DSIZE - 8;
		bytes = 0;
		fx_reopen(fx, modes[mi], pos, pos);
		attach_both(fx, 0);
		for (round = 0; round < 40; round++) {
			for (i = 0; i < DIM(vecs); i++)
				expect_eq(write_vec(fx, &vecs[i]), 0);
			at("%s ring, round %d", mode_name[modes[mi]], round);
			/* the reader drained the last round: empty -> non-empty */
			expect_true(pvb_vmbus_out_commit(&fx->out));
			for (i = 0; i < DIM(vecs); i++) {
				at("%s ring, round %d, %s at %u", mode_name[modes[mi]], round,
				   vecs[i].name, pos);
				expect_eq(pvb_vmbus_in_peek(&fx->in, &p), 0);
				check_pkt(fx, &vecs[i], pos, &p);
				pvb_vmbus_in_consume(&fx->in, &p);
				pos = (pos + vecs[i].nbytes) % DSIZE;
				bytes += vecs[i].nbytes;
			}
			expect_eq(pvb_vmbus_in_peek(&fx->in, &p), -EAGAIN);
			expect_false(pvb_vmbus_in_commit(&fx->in));
			expect_eq(ctl_get(fx, CTL(read_index)), pos);
		}
		assert_true(bytes > 3 * DSIZE);	/* the ring wrapped several times */
		assert_int_equal(fx->out.st.packets, 40 * DIM(vecs));
		assert_int_equal(fx->in.st.packets, 40 * DIM(vecs));
		assert_int_equal(fx->out.st.bytes, bytes);
		assert_int_equal(fx->in.st.bytes, bytes);
		assert_int_equal(fx->out.st.commits, 40);
		assert_int_equal(fx->out.st.signals, 40);
	}
}

/* ----------------------------------------------------------------------------
 * Never full, and one index store per commit
 */

/* An in-band packet of @plen payload bytes: align8(16 + plen) + 8 ring bytes. */
static int
put_inband(struct fx *fx, uint32_t plen)
{
	static const uint8_t zeros[DSIZE];

	return pvb_vmbus_out_inband(&fx->out, plen, 0, zeros, plen);
}

static void
get_one(struct fx *fx, uint32_t want_len)
{
	struct pvb_vmbus_pkt p;

	expect_eq(pvb_vmbus_in_peek(&fx->in, &p), 0);
	expect_eq(p.len, want_len);
	pvb_vmbus_in_consume(&fx->in, &p);
}

static void
check_never_full(struct fx *fx, enum mode mode, uint32_t s)
{
	struct pvb_vmbus_info info;

	at("never full, %s ring, start %u", mode_name[mode], s);
	fx_reopen(fx, mode, s, s);
	attach_both(fx, 0);
	/* the largest packet: 16 + 4064 = 4080, + 8 = 4088 = dsize - 8 ring bytes */
	expect_eq(put_inband(fx, DSIZE - 32), 0);
	expect_true(pvb_vmbus_out_commit(&fx->out));
	get_one(fx, DSIZE - 16);
	expect_false(pvb_vmbus_in_commit(&fx->in));
	/* one that fills the whole area could never be written: not -EAGAIN */
	expect_eq(put_inband(fx, DSIZE - 24), -EINVAL);
	expect_eq(fx->out.st.full, 0);

	/* A: 24 ring bytes; 4096 - 24 = 4072 stay free */
	expect_eq(put_inband(fx, 0), 0);
	expect_true(pvb_vmbus_out_commit(&fx->out));
	/* B: 16 + 4048 = 4064, + 8 = 4072: exactly the free space, which would leave 0 */
	snapshot(fx);
	expect_eq(put_inband(fx, 4048), -EAGAIN);
	expect_eq(fx->out.st.full, 1);
	expect_eq(pvb_vmbus_out_uncommitted(&fx->out), 0);
	assert_ring_unchanged(fx);
	/* 8 bytes smaller: 4064 ring bytes, 8 stay free */
	expect_eq(put_inband(fx, 4040), 0);
	expect_false(pvb_vmbus_out_commit(&fx->out));	/* A is still unread */
	pvb_vmbus_inspect(&fx->m, &info);
	expect_eq(info.bytes_to_write, 8);
	/* nothing fits in 8 bytes, the smallest packet being 24 */
	expect_eq(put_inband(fx, 0), -EAGAIN);
	expect_eq(fx->out.st.full, 2);

	/* the reader frees A; the writer's view of read_index is stale and is refreshed */
	get_one(fx, 16);
	expect_false(pvb_vmbus_in_commit(&fx->in));
	expect_eq(put_inband(fx, 0), 0);		/* 32 free > 24 */
	expect_eq(put_inband(fx, 0), -EAGAIN);		/* 8 free */
	expect_eq(fx->out.st.full, 3);
	expect_false(pvb_vmbus_out_commit(&fx->out));
	/* the reader frees B: 8 + 4064 = 4072 free; exact fit refused, 8 less taken */
	get_one(fx, 4056);
	expect_false(pvb_vmbus_in_commit(&fx->in));
	expect_eq(put_inband(fx, 4048), -EAGAIN);
	expect_eq(fx->out.st.full, 4);
	expect_eq(put_inband(fx, 4040), 0);
	expect_false(pvb_vmbus_out_commit(&fx->out));
	pvb_vmbus_inspect(&fx->m, &info);
	expect_eq(info.bytes_to_write, 8);
	expect_eq(info.bytes_to_read, DSIZE - 8);
	/* the reader sees a ring 8 bytes short of full as it is */
	get_one(fx, 16);
	get_one(fx, 4056);
	expect_eq(pvb_vmbus_in_peek(&fx->in, &(struct pvb_vmbus_pkt){ 0 }), -EAGAIN);
	expect_false(pvb_vmbus_in_broken(&fx->in));
}

static void
test_never_full(void **state)
{
	static const uint32_t starts[] = { 0, DSIZE - 16, 1000 };
	size_t mi, i;

	for (mi = 0; mi < DIM(modes); mi++)
		for (i = 0; i < DIM(starts); i++)
			check_never_full(*state, modes[mi], starts[i]);
}

static void
test_commit_batches(void **state)
{
	struct fx *fx = *state;
	struct pvb_vmbus_pkt p;
	uint32_t s = DSIZE - 48;	/* the second packet wraps */
	struct pvb_vmbus_info info;
	int k;

	at("one store per commit");
	fx_reopen(fx, MODE_FLAT, s, s);
	attach_both(fx, 0);
	for (k = 1; k <= 3; k++) {
		expect_eq(write_vec(fx, &vecs[0]), 0);
		/* nothing is published until the commit */
		expect_eq(ctl_get(fx, CTL(write_index)), s);
		expect_eq(pvb_vmbus_out_uncommitted(&fx->out), 32 * k);
		expect_eq(pvb_vmbus_in_peek(&fx->in, &p), -EAGAIN);
		pvb_vmbus_inspect(&fx->m, &info);
		expect_eq(info.bytes_to_read, 0);
	}
	expect_true(pvb_vmbus_out_commit(&fx->out));
	/* one store moved write_index past all three packets */
	expect_eq(ctl_get(fx, CTL(write_index)), (s + 96) % DSIZE);
	expect_eq(fx->out.st.commits, 1);
	expect_eq(fx->out.st.packets, 3);
	expect_eq(pvb_vmbus_out_uncommitted(&fx->out), 0);
	/* nothing new: no store, no signal */
	expect_false(pvb_vmbus_out_commit(&fx->out));
	expect_eq(fx->out.st.commits, 1);
	for (k = 0; k < 3; k++) {
		at("one store per commit, packet %d", k);
		expect_eq(pvb_vmbus_in_peek(&fx->in, &p), 0);
		check_pkt(fx, &vecs[0], (s + 32 * (uint32_t)k) % DSIZE, &p);
		pvb_vmbus_in_consume(&fx->in, &p);
		expect_eq(ctl_get(fx, CTL(read_index)), s);
	}
	/* and the reader releases all three with one store too */
	expect_false(pvb_vmbus_in_commit(&fx->in));
	expect_eq(ctl_get(fx, CTL(read_index)), (s + 96) % DSIZE);
	expect_eq(fx->in.st.commits, 1);
	expect_false(pvb_vmbus_in_commit(&fx->in));
	expect_eq(fx->in.st.commits, 1);
}

/* ----------------------------------------------------------------------------
 * Signaling
 */

/* @n packets of @plen payload bytes; published with one commit if @commit. */
static void
put_pkts(struct fx *fx, unsigned int n, uint32_t plen, bool commit)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		expect_eq(put_inband(fx, plen), 0);
	if (commit && n != 0)
		(void)pvb_vmbus_out_commit(&fx->out);
}

/* Read @n packets; with @release, publish read_index after them. */
static void
get_pkts(struct fx *fx, unsigned int n, bool release)
{
	struct pvb_vmbus_pkt p;
	unsigned int i;

	for (i = 0; i < n; i++) {
		expect_eq(pvb_vmbus_in_peek(&fx->in, &p), 0);
		pvb_vmbus_in_consume(&fx->in, &p);
	}
	if (release)
		(void)pvb_vmbus_in_commit(&fx->in);
}

struct out_signal {
	const char *what;
	uint32_t mask;		/* interrupt_mask the reader has set */
	unsigned int published;	/* packets published before */
	unsigned int released;	/* of those, read and released (read_index moved) */
	unsigned int held;	/* then read but not released */
	unsigned int written;	/* packets in the commit under test */
	bool want;
};

static const struct out_signal out_signals[] = {
	{ "empty -> non-empty", 0, 0, 0, 0, 1, true },
	{ "empty -> non-empty, 3 packets in one commit", 0, 0, 0, 0, 3, true },
	{ "reader caught up after earlier traffic", 0, 2, 2, 0, 1, true },
	{ "mask set", 1, 0, 0, 0, 1, false },
	{ "mask set, reader caught up after traffic", 1, 2, 2, 0, 1, false },
	{ "reader behind: one unread", 0, 2, 1, 0, 1, false },
	{ "reader behind: nothing read", 0, 1, 0, 0, 1, false },
	{ "reader read all, not yet released", 0, 2, 0, 2, 1, false },
	{ "nothing written", 0, 0, 0, 0, 0, false },
	{ "nothing written, reader caught up", 0, 2, 2, 0, 0, false },
};

static void
check_out_signal(struct fx *fx, uint32_t s, const struct out_signal *c)
{
	uint64_t signals, commits;
	bool got;

	at("out_commit: %s, start %u", c->what, s);
	fx_reopen(fx, MODE_FLAT, s, s);
	attach_both(fx, 0);
	put_pkts(fx, c->published, 0, true);
	get_pkts(fx, c->released, true);
	get_pkts(fx, c->held, false);
	pvb_vmbus_in_set_mask(&fx->in, c->mask != 0);
	expect_eq(ctl_get(fx, CTL(interrupt_mask)), c->mask);
	signals = fx->out.st.signals;
	commits = fx->out.st.commits;
	put_pkts(fx, c->written, 0, false);
	got = pvb_vmbus_out_commit(&fx->out);
	if (got != c->want)
		fail_msg("%s: returned %d", here, got);
	expect_eq(fx->out.st.signals, signals + c->want);
	expect_eq(fx->out.st.commits, commits + (c->written != 0));
	expect_eq(ctl_get(fx, CTL(write_index)), (s + 24 * (c->published + c->written)) % DSIZE);
}

static void
test_out_signal(void **state)
{
	static const uint32_t starts[] = { 0, DSIZE - 40 };
	size_t i, j;

	for (i = 0; i < DIM(starts); i++)
		for (j = 0; j < DIM(out_signals); j++)
			check_out_signal(*state, starts[i], &out_signals[j]);
}

/*
 * The reader's side: ten 64-byte packets published leave SIG_FREE = 4096 -
 * 640 = 3456 bytes free; the commit under test releases 64 per packet read.
 */
#define SIG_PKTS	10u
#define SIG_PLEN	40u	/* 16 + 40 = 56 = len8 * 8, + 8 = 64 ring bytes */
#define SIG_FREE	(DSIZE - SIG_PKTS * 64)

struct in_signal {
	const char *what;
	uint32_t features;	/* what the writer advertises */
	uint32_t pending;	/* pending_send_sz as the writer stored it */
	unsigned int consumed;	/* packets the commit under test releases */
	bool want;
};

static const struct in_signal in_signals[] = {
	{ "before 3456 < pending 3512 < after 3520", FEAT, 3512, 1, true },
	{ "before 3456 == pending", FEAT, 3456, 1, true },
	{ "after 3520 == pending: still not enough", FEAT, 3520, 1, false },
	{ "after 3520 < pending 3528", FEAT, 3528, 1, false },
	{ "before 3456 > pending 3448: had enough already", FEAT, 3448, 1, false },
	{ "batch of 2: 3456 <= 3560 < 3584", FEAT, 3560, 2, true },
	{ "batch of 2: after 3584 == pending", FEAT, 3584, 2, false },
	{ "feature off", 0, 3512, 1, false },
	{ "pending 0", FEAT, 0, 1, false },
	{ "pending 3471: low bits dropped, 3464 crossed", FEAT, 3471, 1, true },
	{ "pending 3523: low bits dropped, 3520 == after", FEAT, 3523, 1, false },
	{ "pending 7: low bits only", FEAT, 7, 1, false },
	{ "pending dsize - 1 (4088 after masking), ring drained", FEAT, DSIZE - 1, 10, true },
	{ "nothing released", FEAT, 3512, 0, false },
};

static void
check_in_signal(struct fx *fx, uint32_t s, const struct in_signal *c)
{
	uint32_t pend = c->pending & ~7u, after = SIG_FREE + 64 * c->consumed;
	struct pvb_vmbus_info info;
	bool got;

	at("in_commit: %s, start %u", c->what, s);
	fx_reopen(fx, MODE_FLAT, s, s);
	attach_both(fx, c->features);
	expect_eq(ctl_get(fx, CTL(feature_bits)), c->features);
	put_pkts(fx, SIG_PKTS, SIG_PLEN, true);
	ctl_set(fx, CTL(pending_send_sz), c->pending);	/* as a blocked writer would */
	get_pkts(fx, c->consumed, false);
	got = pvb_vmbus_in_commit(&fx->in);
	if (got != c->want)
		fail_msg("%s: returned %d", here, got);
	expect_eq(fx->in.st.signals, c->want);
	expect_eq(ctl_get(fx, CTL(read_index)), (s + 64 * c->consumed) % DSIZE);
	pvb_vmbus_inspect(&fx->m, &info);
	expect_eq(info.bytes_to_write, after);
	expect_eq(info.writer_needs_signal, (c->features & FEAT) && pend != 0 && after > pend);
}

static void
test_in_signal(void **state)
{
	static const uint32_t starts[] = { 0, DSIZE - 200 };
	size_t i, j;

	for (i = 0; i < DIM(starts); i++)
		for (j = 0; j < DIM(in_signals); j++)
			check_in_signal(*state, starts[i], &in_signals[j]);
}

struct wait_case {
	const char *what;
	uint32_t features;
	unsigned int released;	/* packets the reader released since the writer looked */
	uint32_t bytes;		/* free space asked for */
	int want;
	uint32_t pending;	/* pending_send_sz left behind */
};

static const struct wait_case wait_cases[] = {
	{ "room: 3448 < 3456 free", FEAT, 0, 3448, 1, 0 },
	{ "exact fit is not room", FEAT, 0, 3456, 0, 3456 },
	{ "3449 rounds up to 3456: no room", FEAT, 0, 3449, 0, 3456 },
	{ "room appeared since the writer looked", FEAT, 1, 3504, 1, 0 },
	{ "one release is not enough", FEAT, 1, 3520, 0, 3520 },
	{ "no pending feature", 0, 0, 8, -ENOTSUP, 0 },
	{ "no pending feature, no room", 0, 0, 4000, -ENOTSUP, 0 },
};

static void
check_wait(struct fx *fx, const struct wait_case *c)
{
	at("wait_prepare: %s", c->what);
	fx_reopen(fx, MODE_FLAT, DSIZE - 104, DSIZE - 104);
	attach_both(fx, c->features);
	put_pkts(fx, SIG_PKTS, SIG_PLEN, true);
	get_pkts(fx, c->released, true);
	expect_eq(pvb_vmbus_out_wait_prepare(&fx->out, c->bytes), c->want);
	expect_eq(ctl_get(fx, CTL(pending_send_sz)), c->pending);
	expect_false(pvb_vmbus_out_broken(&fx->out));
}

static void
test_wait_prepare(void **state)
{
	size_t i;

	for (i = 0; i < DIM(wait_cases); i++)
		check_wait(*state, &wait_cases[i]);
}

/* The whole handshake: block, get woken by the reader's commit, write. */
static void
test_wait_wake(void **state)
{
	struct fx *fx = *state;

	at("sleep and wake");
	fx_reopen(fx, MODE_DOUBLE, DSIZE - 104, DSIZE - 104);
	attach_both(fx, FEAT);
	put_pkts(fx, SIG_PKTS, SIG_PLEN, true);
	/* a 3456-byte packet does not fit 3456 free: block */
	expect_eq(put_inband(fx, 3456 - 24), -EAGAIN);
	expect_eq(pvb_vmbus_out_wait_prepare(&fx->out, 3456), 0);
	expect_eq(ctl_get(fx, CTL(pending_send_sz)), 3456);
	/* the reader's release crosses it: 3456 <= 3456 < 3520 */
	get_pkts(fx, 1, false);
	expect_true(pvb_vmbus_in_commit(&fx->in));
	/* a second release is no crossing: no second signal */
	get_pkts(fx, 1, false);
	expect_false(pvb_vmbus_in_commit(&fx->in));
	/* woken: room now, and pending is cleared by the writer itself */
	expect_eq(pvb_vmbus_out_wait_prepare(&fx->out, 3456), 1);
	expect_eq(ctl_get(fx, CTL(pending_send_sz)), 0);
	expect_eq(put_inband(fx, 3456 - 24), 0);
	expect_false(pvb_vmbus_out_commit(&fx->out));

	/* a writer that gives up clears pending: the reader no longer signals */
	expect_eq(pvb_vmbus_out_wait_prepare(&fx->out, 4000), 0);
	expect_eq(ctl_get(fx, CTL(pending_send_sz)), 4000);
	pvb_vmbus_out_wait_end(&fx->out);
	expect_eq(ctl_get(fx, CTL(pending_send_sz)), 0);
	get_pkts(fx, SIG_PKTS - 1, false);
	expect_false(pvb_vmbus_in_commit(&fx->in));
	expect_eq(fx->in.st.signals, 1);
}

static void
test_unmask_and_check(void **state)
{
	struct fx *fx = *state;

	at("unmask and check");
	fx_reopen(fx, MODE_FLAT, DSIZE - 24, DSIZE - 24);
	attach_both(fx, 0);
	/* empty: safe to sleep, and the mask is left clear */
	pvb_vmbus_in_set_mask(&fx->in, true);
	expect_eq(ctl_get(fx, CTL(interrupt_mask)), 1);
	expect_false(pvb_vmbus_in_unmask_and_check(&fx->in));
	expect_eq(ctl_get(fx, CTL(interrupt_mask)), 0);
	/* written but not committed is not there yet */
	put_pkts(fx, 1, 0, false);
	expect_false(pvb_vmbus_in_unmask_and_check(&fx->in));
	/* committed while masked: no signal, so the re-check must find it */
	pvb_vmbus_in_set_mask(&fx->in, true);
	expect_false(pvb_vmbus_out_commit(&fx->out));
	expect_true(pvb_vmbus_in_unmask_and_check(&fx->in));
	expect_eq(ctl_get(fx, CTL(interrupt_mask)), 0);
	/* still there until read */
	expect_true(pvb_vmbus_in_unmask_and_check(&fx->in));
	get_pkts(fx, 1, true);
	expect_false(pvb_vmbus_in_unmask_and_check(&fx->in));
	/* unmasked and drained: the next commit signals */
	put_pkts(fx, 1, 0, false);
	expect_true(pvb_vmbus_out_commit(&fx->out));
	/* read but not released still counts as read */
	get_pkts(fx, 1, false);
	expect_false(pvb_vmbus_in_unmask_and_check(&fx->in));
	expect_false(pvb_vmbus_in_broken(&fx->in));
}

/* ----------------------------------------------------------------------------
 * Broken ends: they stay broken, say why, and touch nothing
 */

static void
check_fault(enum pvb_vmbus_fault got, enum pvb_vmbus_fault want)
{
	const char *s = pvb_vmbus_fault_str(got);

	if (got != want)
		fail_msg("%s: fault %d (%s), want %d (%s)", here, got, s, want,
			 pvb_vmbus_fault_str(want));
	expect_true(s != NULL && s[0] != '\0');
}

static void
assert_in_dead(struct fx *fx, enum pvb_vmbus_fault want)
{
	struct pvb_vmbus_stats st = fx->in.st;
	struct pvb_vmbus_pkt p;

	expect_true(pvb_vmbus_in_broken(&fx->in));
	check_fault(fx->in.fault, want);
	snapshot(fx);
	memset(&p, POISON, sizeof(p));
	expect_eq(pvb_vmbus_in_peek(&fx->in, &p), -EPIPE);
	expect_eq(pvb_vmbus_in_peek(&fx->in, &p), -EPIPE);
	expect_true(bytes_all(&p, sizeof(p), POISON));
	expect_false(pvb_vmbus_in_commit(&fx->in));
	expect_false(pvb_vmbus_in_unmask_and_check(&fx->in));
	/* a packet at our read offset: a healthy end would move past it */
	memset(&p, 0, sizeof(p));
	p.type = PVB_VMBUS_PKT_DATA_INBAND;
	p.start = fx->in.r;
	p.len = 16;
	p.hdr_len = 16;
	pvb_vmbus_in_consume(&fx->in, &p);
	assert_ring_unchanged(fx);
	expect_true(memcmp(&fx->in.st, &st, sizeof(st)) == 0);
	check_fault(fx->in.fault, want);	/* the first reason stays */
}

static void
assert_out_dead(struct fx *fx, enum pvb_vmbus_fault want)
{
	static const struct pvb_vmbus_xfer_range xr = { 8, 0 };
	static const struct pvb_vmbus_gpa gr = { 8, 0, pfn_a };
	struct pvb_vmbus_stats st = fx->out.st;
	uint32_t uncommitted = pvb_vmbus_out_uncommitted(&fx->out);

	expect_true(pvb_vmbus_out_broken(&fx->out));
	check_fault(fx->out.fault, want);
	snapshot(fx);
	expect_eq(pvb_vmbus_out_inband(&fx->out, 1, 0, hello, sizeof(hello)), -EPIPE);
	expect_eq(pvb_vmbus_out_comp(&fx->out, 1, hello, sizeof(hello)), -EPIPE);
	expect_eq(pvb_vmbus_out_xfer(&fx->out, 1, 0, 1, &xr, 1, hello, sizeof(hello)), -EPIPE);
	expect_eq(pvb_vmbus_out_gpa(&fx->out, 1, 0, &gr, 1, hello, sizeof(hello)), -EPIPE);
	expect_false(pvb_vmbus_out_commit(&fx->out));
	expect_eq(pvb_vmbus_out_wait_prepare(&fx->out, 8), -EPIPE);
	expect_eq(pvb_vmbus_out_uncommitted(&fx->out), uncommitted);
	assert_ring_unchanged(fx);
	expect_true(memcmp(&fx->out.st, &st, sizeof(st)) == 0);
	check_fault(fx->out.fault, want);
}

/*
 * Indices gone bad. The reader finds a bad write_index when it next loads
 * it (peek once it has used up what it knew, or the unmask re-check); the
 * writer finds a bad read_index when the space it remembers is not enough.
 */

enum detect {
	BY_PEEK,
	BY_UNMASK,
	BY_WRITE,	/* a packet bigger than the space the writer remembers */
};

struct index_corruption {
	const char *what;
	void (*apply)(struct fx *fx, uint32_t s);
	enum detect by;
	enum pvb_vmbus_fault want;
};

#define SMALL		24u	/* ring bytes of put_pkts(fx, n, 0, ...) packets */
#define BIG_PLEN	(DSIZE - 32)	/* 16 + 4064 + 8 = dsize - 8 ring bytes */

static uint32_t
wrap(uint32_t v)
{
	return v % DSIZE;
}

/* The reader used up all it knew (and released it): the next peek loads write_index. */
static void
reader_drained(struct fx *fx)
{
	put_pkts(fx, 1, 0, true);
	get_pkts(fx, 1, true);
}

static void
w_unaligned(struct fx *fx, uint32_t s)
{
	reader_drained(fx);
	ctl_set(fx, CTL(write_index), wrap(s + SMALL) + 4);
}

static void
w_at_dsize(struct fx *fx, uint32_t s)
{
	(void)s;
	reader_drained(fx);
	ctl_set(fx, CTL(write_index), DSIZE);
}

static void
w_past_dsize(struct fx *fx, uint32_t s)
{
	(void)s;
	reader_drained(fx);
	ctl_set(fx, CTL(write_index), DSIZE + 8);
}

static void
w_huge(struct fx *fx, uint32_t s)
{
	(void)s;
	reader_drained(fx);
	ctl_set(fx, CTL(write_index), UINT32_MAX & ~7u);
}

static void
w_all_ones(struct fx *fx, uint32_t s)
{
	(void)s;
	reader_drained(fx);
	ctl_set(fx, CTL(write_index), UINT32_MAX);
}

/* The reader knows of two packets and has peeked the first; write_index goes back one. */
static void
w_back_known(struct fx *fx, uint32_t s)
{
	struct pvb_vmbus_pkt p;

	put_pkts(fx, 2, 0, true);
	expect_eq(pvb_vmbus_in_peek(&fx->in, &p), 0);
	ctl_set(fx, CTL(write_index), wrap(s + SMALL));
}

/* ... all the way back to the read index: a full ring would look like this */
static void
w_full_known(struct fx *fx, uint32_t s)
{
	struct pvb_vmbus_pkt p;

	put_pkts(fx, 2, 0, true);
	expect_eq(pvb_vmbus_in_peek(&fx->in, &p), 0);
	ctl_set(fx, CTL(write_index), s);
}

/*
 * Stale but well-formed packets after what the writer published, as a
 * previous lap of the ring leaves them: a reader that trusts a bad index
 * would deliver them again.
 */
static void
stale_lap(struct fx *fx, uint32_t from)
{
	uint32_t off;

	for (off = from; off + vecs[0].nbytes <= from + 4 * vecs[0].nbytes; off += vecs[0].nbytes)
		data_put(fx, wrap(off), vecs[0].bytes, vecs[0].nbytes);
}

/* Two packets read but not released; write_index goes back between them. */
static void
w_back_held(struct fx *fx, uint32_t s)
{
	put_pkts(fx, 2, 0, true);
	stale_lap(fx, s + 2 * SMALL);
	get_pkts(fx, 2, false);
	ctl_set(fx, CTL(write_index), wrap(s + SMALL));
}

/*
 * Two packets read but not released; write_index moves to read_index (which
 * the writer still sees): the writer claims to have filled every byte.
 */
static void
w_full_held(struct fx *fx, uint32_t s)
{
	put_pkts(fx, 2, 0, true);
	stale_lap(fx, s + 2 * SMALL);
	get_pkts(fx, 2, false);
	ctl_set(fx, CTL(write_index), s);
}

/* The writer published one packet, so a big one needs a fresh look at read_index. */
static void
r_unaligned(struct fx *fx, uint32_t s)
{
	put_pkts(fx, 1, 0, true);
	ctl_set(fx, CTL(read_index), wrap(s + 4));
}

static void
r_at_dsize(struct fx *fx, uint32_t s)
{
	(void)s;
	put_pkts(fx, 1, 0, true);
	ctl_set(fx, CTL(read_index), DSIZE);
}

static void
r_all_ones(struct fx *fx, uint32_t s)
{
	(void)s;
	put_pkts(fx, 1, 0, true);
	ctl_set(fx, CTL(read_index), UINT32_MAX);
}

static void
r_past_w(struct fx *fx, uint32_t s)
{
	put_pkts(fx, 1, 0, true);
	ctl_set(fx, CTL(read_index), wrap(s + SMALL + 8));
}

/* Past the published write_index, though not past what the writer wrote since. */
static void
r_past_committed(struct fx *fx, uint32_t s)
{
	put_pkts(fx, 1, 0, true);
	put_pkts(fx, 1, 0, false);
	ctl_set(fx, CTL(read_index), wrap(s + 2 * SMALL));
}

static void
r_back(struct fx *fx, uint32_t s)
{
	put_pkts(fx, 1, 0, true);
	ctl_set(fx, CTL(read_index), wrap(s + DSIZE - 8));
}

static const struct index_corruption index_corruptions[] = {
	{ "write_index unaligned", w_unaligned, BY_PEEK, PVB_VMBUS_FAULT_WRITE_INDEX },
	{ "write_index = dsize", w_at_dsize, BY_PEEK, PVB_VMBUS_FAULT_WRITE_INDEX },
	{ "write_index > dsize", w_past_dsize, BY_PEEK, PVB_VMBUS_FAULT_WRITE_INDEX },
	{ "write_index 0xfffffff8", w_huge, BY_PEEK, PVB_VMBUS_FAULT_WRITE_INDEX },
	{ "write_index 0xffffffff", w_all_ones, BY_PEEK, PVB_VMBUS_FAULT_WRITE_INDEX },
	{ "write_index unaligned (re-check)", w_unaligned, BY_UNMASK,
	  PVB_VMBUS_FAULT_WRITE_INDEX },
	{ "write_index back behind a packet the reader knows", w_back_known, BY_UNMASK,
	  PVB_VMBUS_FAULT_WRITE_INDEX },
	{ "write_index = read_index with packets unread (full)", w_full_known, BY_UNMASK,
	  PVB_VMBUS_FAULT_WRITE_INDEX },
	{ "write_index back behind packets read, not released", w_back_held, BY_PEEK,
	  PVB_VMBUS_FAULT_WRITE_INDEX },
	{ "write_index = read_index, packets read, not released (full)", w_full_held, BY_PEEK,
	  PVB_VMBUS_FAULT_WRITE_INDEX },
	{ "read_index unaligned", r_unaligned, BY_WRITE, PVB_VMBUS_FAULT_READ_INDEX },
	{ "read_index = dsize", r_at_dsize, BY_WRITE, PVB_VMBUS_FAULT_READ_INDEX },
	{ "read_index 0xffffffff", r_all_ones, BY_WRITE, PVB_VMBUS_FAULT_READ_INDEX },
	{ "read_index past write_index", r_past_w, BY_WRITE, PVB_VMBUS_FAULT_READ_INDEX },
	{ "read_index past the published write_index", r_past_committed, BY_WRITE,
	  PVB_VMBUS_FAULT_READ_INDEX },
	{ "read_index moved back", r_back, BY_WRITE, PVB_VMBUS_FAULT_READ_INDEX },
};

static void
check_index_corruption(struct fx *fx, enum mode mode, uint32_t s,
		       const struct index_corruption *c)
{
	static const uint8_t big[BIG_PLEN];
	struct pvb_vmbus_pkt p;
	int rc;

	at("%s, %s ring, start %u", c->what, mode_name[mode], s);
	fx_reopen(fx, mode, s, s);
	attach_both(fx, 0);
	c->apply(fx, s);
	snapshot(fx);
	switch (c->by) {
	case BY_PEEK:
		memset(&p, 0, sizeof(p));
		rc = pvb_vmbus_in_peek(&fx->in, &p);
		if (rc != -EPIPE)
			fail_msg("%s: peek returned %d, want -EPIPE (type %#x at %u)", here, rc,
				 p.type, p.start);
		break;
	case BY_UNMASK:
		expect_false(pvb_vmbus_in_unmask_and_check(&fx->in));
		break;
	case BY_WRITE:
		expect_eq(pvb_vmbus_out_inband(&fx->out, 1, 0, big, sizeof(big)), -EPIPE);
		break;
	}
	/* finding the fault wrote nothing (the mask the re-check clears was clear) */
	assert_ring_unchanged(fx);
	if (c->by == BY_WRITE) {
		expect_false(pvb_vmbus_in_broken(&fx->in));
		assert_out_dead(fx, c->want);
	} else {
		expect_false(pvb_vmbus_out_broken(&fx->out));
		assert_in_dead(fx, c->want);
	}
}

static void
test_corrupt_indices(void **state)
{
	static const uint32_t starts[] = { 0, DSIZE - 40, DSIZE - 8 };
	size_t mi, i, j;

	for (mi = 0; mi < DIM(modes); mi++)
		for (i = 0; i < DIM(starts); i++)
			for (j = 0; j < DIM(index_corruptions); j++)
				check_index_corruption(*state, modes[mi], starts[i],
						       &index_corruptions[j]);
}

/*
 * Packets gone bad, put straight into the ring: a descriptor and up to 40
 * bytes of type header, zeros after, `published` ring bytes made visible.
 */
struct bad_pkt {
	const char *what;
	uint16_t type, offset8, len8, flags;
	uint32_t hdr[10];	/* u32 words from packet offset 16 */
	uint32_t published;	/* 0: len8 * 8 + 8 */
	enum pvb_vmbus_fault want;
};

#define BAD_MAX		128
#define D(t, o, l, f)	.type = (t), .offset8 = (o), .len8 = (l), .flags = (f)
#define DESC		PVB_VMBUS_FAULT_DESC
#define TYPE(t)		{ "type " #t, D(t, 2, 2, 0), .want = PVB_VMBUS_FAULT_TYPE }
#define XFER		PVB_VMBUS_FAULT_XFER
#define GPA		PVB_VMBUS_FAULT_GPA

static const struct bad_pkt bad_pkts[] = {
	{ "flags bit 1", D(0x6, 2, 2, 0x0002), .want = DESC },
	{ "flags bit 15", D(0x6, 2, 2, 0x8000), .want = DESC },
	{ "flags 0xffff", D(0x6, 2, 2, 0xffff), .want = DESC },
	{ "offset8 0", D(0x6, 0, 2, 0), .want = DESC },
	{ "offset8 1", D(0x6, 1, 2, 0), .want = DESC },
	{ "offset8 3 > len8 2", D(0x6, 3, 2, 0), .want = DESC },
	{ "offset8 0xffff > len8 3", D(0x6, 0xffff, 3, 0), .want = DESC },
	{ "len8 3 (32 bytes + 8), 24 published", D(0x6, 2, 3, 0), .published = 24,
	  .want = DESC },
	{ "len8 0xffff, 24 published", D(0x6, 2, 0xffff, 0), .published = 24, .want = DESC },
	{ "len8 2, no room for the trailer: 16 published", D(0x6, 2, 2, 0), .published = 16,
	  .want = DESC },
	{ "8 bytes published: half a descriptor", D(0x6, 2, 2, 0), .published = 8,
	  .want = DESC },
	TYPE(0x0), TYPE(0x1), TYPE(0x2), TYPE(0x3), TYPE(0x4), TYPE(0x5), TYPE(0x8),
	TYPE(0xa), TYPE(0xc), TYPE(0xd), TYPE(0xe), TYPE(0x106), TYPE(0xffff),
	{ "xfer: offset8 2, no room for its header", D(0x7, 2, 4, 1),
	  .hdr = { 0xcafe, 1, 64, 0 }, .want = XFER },
	{ "xfer: range_count 0", D(0x7, 4, 4, 1), .hdr = { 0xcafe, 0, 64, 0 }, .want = XFER },
	{ "xfer: header, no room for a range", D(0x7, 3, 4, 1), .hdr = { 0xcafe, 1, 64, 0 },
	  .want = XFER },
	{ "xfer: 2 ranges, offset8 4 holds 1", D(0x7, 4, 5, 1),
	  .hdr = { 0xcafe, 2, 64, 0, 64, 64 }, .want = XFER },
	{ "xfer: range_count 0xffffffff", D(0x7, 5, 5, 1), .hdr = { 0xcafe, UINT32_MAX },
	  .want = XFER },
	{ "gpa: offset8 2, no room for its header", D(0x9, 2, 5, 1),
	  .hdr = { 0, 1, 64, 0, 7, 0 }, .want = GPA },
	{ "gpa: header, no room for a range", D(0x9, 3, 5, 1), .hdr = { 0, 1, 64, 0, 7, 0 },
	  .want = GPA },
	{ "gpa: range_count 0", D(0x9, 5, 5, 1), .hdr = { 0, 0, 64, 0, 7, 0 }, .want = GPA },
	{ "gpa: byte_offset 4096", D(0x9, 5, 5, 1), .hdr = { 0, 1, 1, 4096, 7, 0 },
	  .want = GPA },
	{ "gpa: byte_offset 0xffffffff", D(0x9, 5, 5, 1), .hdr = { 0, 1, 1, UINT32_MAX, 7, 0 },
	  .want = GPA },
	{ "gpa: 2 pages, offset8 5 holds 1 pfn", D(0x9, 5, 5, 1),
	  .hdr = { 0, 1, 4097, 0, 7, 0 }, .want = GPA },
	{ "gpa: byte_count 0xffffffff", D(0x9, 5, 5, 1), .hdr = { 0, 1, UINT32_MAX, 1, 7, 0 },
	  .want = GPA },
	{ "gpa: byte_count 0 at offset 0: no page", D(0x9, 5, 5, 1),
	  .hdr = { 0, 1, 0, 0, 7, 0 }, .want = GPA },
	{ "gpa: 2 ranges, offset8 5 holds 1", D(0x9, 5, 5, 1), .hdr = { 0, 2, 64, 0, 7, 0 },
	  .want = GPA },
	{ "gpa: range 0 takes 2 pfns, range 1 gets 8 of its 16 bytes", D(0x9, 7, 7, 1),
	  .hdr = { 0, 2, 4097, 0, 7, 0, 8, 0, 64, 0 }, .want = GPA },
	{ "gpa: range_count 0xffffffff", D(0x9, 5, 5, 1),
	  .hdr = { 0, UINT32_MAX, 64, 0, 7, 0 }, .want = GPA },
};

static void
le16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static void
le32(uint8_t *b, uint32_t v)
{
	le16(b, (uint16_t)v);
	le16(b + 2, (uint16_t)(v >> 16));
}

static void
check_bad_pkt(struct fx *fx, enum mode mode, uint32_t s, const struct bad_pkt *b)
{
	uint32_t n = b->published != 0 ? b->published : b->len8 * 8u + 8;
	struct pvb_vmbus_pkt p;
	uint8_t buf[BAD_MAX];
	size_t i;

	at("%s, %s ring, start %u", b->what, mode_name[mode], s);
	assert_true(n <= sizeof(buf));
	memset(buf, 0, sizeof(buf));
	le16(buf + 0, b->type);
	le16(buf + 2, b->offset8);
	le16(buf + 4, b->len8);
	le16(buf + 6, b->flags);
	le32(buf + 8, 0x1234);			/* trans_id */
	for (i = 0; i < DIM(b->hdr); i++)
		le32(buf + 16 + 4 * i, b->hdr[i]);
	fx_reopen(fx, mode, wrap(s + n), s);
	data_put(fx, s, buf, n);
	expect_eq(pvb_vmbus_in_attach(&fx->in, &fx->m), 0);
	snapshot(fx);
	memset(&p, 0, sizeof(p));
	expect_eq(pvb_vmbus_in_peek(&fx->in, &p), -EPIPE);
	assert_ring_unchanged(fx);
	assert_in_dead(fx, b->want);
}

static void
test_corrupt_packets(void **state)
{
	uint32_t n, starts[3];
	size_t mi, i, j;

	for (i = 0; i < DIM(bad_pkts); i++) {
		n = bad_pkts[i].published != 0 ? bad_pkts[i].published :
						 bad_pkts[i].len8 * 8u + 8;
		starts[0] = 0;
		starts[1] = DSIZE - n;	/* flush against the end (and the guard page) */
		starts[2] = DSIZE - 8;	/* split after the first 8 bytes */
		for (mi = 0; mi < DIM(modes); mi++)
			for (j = 0; j < DIM(starts); j++)
				check_bad_pkt(*state, modes[mi], starts[j], &bad_pkts[i]);
	}
}

/*
 * A GPA-direct packet rewritten after peek validated it: the iterator reads
 * the ranges again, so it must check them again. vb_gpa_single: range 0's
 * head at 24, its pfn at 32, range 1's head at 40, its pfn at 48, hdr_len 56.
 */
struct gpa_rewrite {
	const char *what;
	uint32_t off;		/* packet offset of the u32 rewritten */
	uint32_t val;
	unsigned int good;	/* ranges the walk returns before it fails */
};

static const struct gpa_rewrite gpa_rewrites[] = {
	{ "range 0 byte_offset 4096", 28, 4096, 0 },
	{ "range 0 byte_count 0x10000: 17 pfns, room for 3", 24, 0x10000, 0 },
	{ "range 0 grows to 3 pfns over range 1, whose head is then gone", 24, 0x2000, 1 },
	{ "range 1 byte_count 0x2000: 3 pfns, room for 1", 40, 0x2000, 1 },
	{ "range 1 byte_offset 0x1000", 44, 0x1000, 1 },
};

static void
check_gpa_rewrite(struct fx *fx, enum mode mode, uint32_t s, const struct gpa_rewrite *g)
{
	const struct vec *v = &vecs[5];
	struct pvb_vmbus_gpa_iter it = { 0, 0 };
	struct pvb_vmbus_xfer_range r;
	struct pvb_vmbus_pkt p;
	uint8_t img[VEC_MAX];
	uint64_t pfn[8];
	unsigned int i;

	at("gpa rewritten: %s, %s ring, start %u", g->what, mode_name[mode], s);
	assert_int_equal(v->kind, K_GPA);
	assert_int_equal(v->hdr_len, 56);
	vec_image(v, s, img);
	fx_reopen(fx, mode, wrap(s + v->nbytes), s);
	data_put(fx, s, img, v->nbytes);
	expect_eq(pvb_vmbus_in_attach(&fx->in, &fx->m), 0);
	expect_eq(pvb_vmbus_in_peek(&fx->in, &p), 0);
	data_put32(fx, s + g->off, g->val);
	for (i = 0; i < g->good; i++)
		expect_true(pvb_vmbus_in_gpa_next(&fx->in, &p, &it, &r, pfn, DIM(pfn)) > 0);
	memset(&r, POISON, sizeof(r));
	memset(pfn, POISON, sizeof(pfn));
	snapshot(fx);
	expect_eq(pvb_vmbus_in_gpa_next(&fx->in, &p, &it, &r, pfn, DIM(pfn)), -EPIPE);
	expect_true(bytes_all(&r, sizeof(r), POISON));
	expect_true(bytes_all(pfn, sizeof(pfn), POISON));
	/* a caller that starts the walk over gets nothing from a broken end either */
	memset(&it, 0, sizeof(it));
	expect_eq(pvb_vmbus_in_gpa_next(&fx->in, &p, &it, &r, pfn, DIM(pfn)), -EPIPE);
	expect_true(bytes_all(&r, sizeof(r), POISON));
	expect_true(bytes_all(pfn, sizeof(pfn), POISON));
	assert_ring_unchanged(fx);
	assert_in_dead(fx, PVB_VMBUS_FAULT_GPA);
}

static void
test_corrupt_gpa_after_peek(void **state)
{
	static const uint32_t starts[] = { 0, DSIZE - 72, DSIZE - 32, DSIZE - 8 };
	size_t mi, i, j;

	for (mi = 0; mi < DIM(modes); mi++)
		for (i = 0; i < DIM(starts); i++)
			for (j = 0; j < DIM(gpa_rewrites); j++)
				check_gpa_rewrite(*state, modes[mi], starts[i], &gpa_rewrites[j]);
}

/* ----------------------------------------------------------------------------
 * Attach, memory, arguments
 */

struct bad_indices {
	const char *what;
	uint32_t w, r;
};

static const struct bad_indices bad_indices[] = {
	{ "write_index unaligned", 4, 0 },
	{ "write_index = dsize", DSIZE, 0 },
	{ "write_index 0xfffffff8", UINT32_MAX & ~7u, 0 },
	{ "write_index 0xffffffff", UINT32_MAX, 0 },
	{ "read_index unaligned", 0, 12 },
	{ "read_index = dsize", 64, DSIZE },
	{ "read_index dsize + 64", 64, DSIZE + 64 },
	{ "both unaligned", 1, 3 },
};

/*
 * Both ends refuse the ring; they stay detached even though they worked a
 * moment ago, and the refused attach writes nothing (not even feature_bits).
 */
static void
check_attach_bad(struct fx *fx, enum mode mode, const struct bad_indices *b)
{
	struct pvb_vmbus_info info;

	at("attach, %s, %s ring", b->what, mode_name[mode]);
	fx_reopen(fx, mode, 0, 0);
	attach_both(fx, FEAT);
	ctl_set(fx, CTL(write_index), b->w);
	ctl_set(fx, CTL(read_index), b->r);
	snapshot(fx);
	expect_eq(pvb_vmbus_out_attach(&fx->out, &fx->m, 0), -EPROTO);
	expect_eq(pvb_vmbus_in_attach(&fx->in, &fx->m), -EPROTO);
	assert_ring_unchanged(fx);
	/* a detached writer has written nothing, so nothing is waiting for a commit */
	expect_eq(pvb_vmbus_out_uncommitted(&fx->out), 0);
	assert_out_dead(fx, PVB_VMBUS_FAULT_DETACHED);
	assert_in_dead(fx, PVB_VMBUS_FAULT_DETACHED);
	pvb_vmbus_inspect(&fx->m, &info);
	expect_false(info.indices_valid);
}

static void
test_attach_bad_indices(void **state)
{
	size_t mi, i;

	for (mi = 0; mi < DIM(modes); mi++)
		for (i = 0; i < DIM(bad_indices); i++)
			check_attach_bad(*state, modes[mi], &bad_indices[i]);
}

static void
test_attach_bad_args(void **state)
{
	struct fx *fx = *state;
	struct pvb_vmbus_mem m;
	size_t k;

	at("attach arguments");
	expect_eq(pvb_vmbus_out_attach(NULL, &fx->m, 0), -EINVAL);
	expect_eq(pvb_vmbus_in_attach(NULL, &fx->m), -EINVAL);
	for (k = 0; k < 3; k++) {
		m = fx->m;
		if (k == 1)
			m.ctl = NULL;
		if (k == 2)
			m.dsize = 0;
		at("attach arguments, case %zu", k);
		attach_both(fx, 0);
		expect_eq(pvb_vmbus_out_attach(&fx->out, k == 0 ? NULL : &m, 0), -EINVAL);
		expect_eq(pvb_vmbus_in_attach(&fx->in, k == 0 ? NULL : &m), -EINVAL);
		assert_out_dead(fx, PVB_VMBUS_FAULT_DETACHED);
		assert_in_dead(fx, PVB_VMBUS_FAULT_DETACHED);
	}
}

struct mem_case {
	const char *what;
	size_t misalign;	/* bytes added to a page-aligned address or offset */
	size_t len;
	bool null_mem, null_ring, bad_fd;
};

static const struct mem_case mem_cases[] = {
	{ "no mem", .len = RING_LEN, .null_mem = true },
	{ "no ring", .len = RING_LEN, .null_ring = true },
	{ "bad fd", .len = RING_LEN, .bad_fd = true },
	{ "misaligned by 4", .misalign = 4, .len = RING_LEN },
	{ "len 0", .len = 0 },
	{ "len 4096: no data area", .len = 4096 },
	{ "len 8192 + 8", .len = 8192 + 8 },
	{ "len 8192 + 2048", .len = 8192 + 2048 },
	{ "len 12287", .len = 12287 },
	{ "data area over 2 GiB", .len = PVB_VMBUS_CTL_SIZE + (1ul << 31) + 4096 },
	{ "len SIZE_MAX", .len = SIZE_MAX },
};

static void
test_mem_bad_args(void **state)
{
	static uint64_t ring[RING_LEN / 8];
	struct pvb_vmbus_mem m;
	uint8_t *base = (uint8_t *)ring;
	const struct mem_case *c;
	int fd, rc;
	size_t i;

	(void)state;
	fd = memfd_create("test_vmbus_args", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * RING_LEN), 0);
	for (i = 0; i < DIM(mem_cases); i++) {
		c = &mem_cases[i];
		at("mem: %s", c->what);
		memset(&m, POISON, sizeof(m));
		if (!c->bad_fd) {
			rc = pvb_vmbus_mem_flat(c->null_mem ? NULL : &m,
						c->null_ring ? NULL : base + c->misalign, c->len);
			expect_eq(rc, -EINVAL);
			expect_true(bytes_all(&m, sizeof(m), POISON));
		}
		if (c->null_ring)
			continue;
		rc = pvb_vmbus_mem_map_double(c->null_mem ? NULL : &m, c->bad_fd ? -1 : fd,
					      (off_t)c->misalign, c->len);
		expect_eq(rc, -EINVAL);
		expect_true(bytes_all(&m, sizeof(m), POISON));
	}
	/* the offset is page aligned only in 4 KiB units */
	at("mem: offset 2048");
	expect_eq(pvb_vmbus_mem_map_double(&m, fd, 2048, RING_LEN), -EINVAL);
	/* 8-byte aligned is enough for a flat ring */
	at("mem: flat at +8");
	expect_eq(pvb_vmbus_mem_flat(&m, base + 8, 8192), 0);
	assert_ptr_equal(m.ctl, base + 8);
	assert_ptr_equal(m.data, base + 8 + 4096);
	assert_int_equal(m.dsize, 4096);
	assert_false(m.doubled);
	assert_null(m.map);
	pvb_vmbus_mem_unmap(&m);	/* nothing to unmap: only forgets */
	assert_null(m.ctl);
	pvb_vmbus_mem_unmap(NULL);
	assert_int_equal(close(fd), 0);
}

/* The second ring of a channel sits at an offset in the same memfd. */
static void
test_mem_double_offset(void **state)
{
	struct pvb_vmbus_mem m;
	uint8_t b[8];
	int fd;

	(void)state;
	fd = memfd_create("test_vmbus_pair", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * RING_LEN), 0);
	assert_int_equal(pvb_vmbus_mem_map_double(&m, fd, RING_LEN, RING_LEN), 0);
	assert_true(m.doubled);
	assert_int_equal(m.dsize, DSIZE);
	assert_ptr_equal(m.data, (uint8_t *)m.ctl + PVB_VMBUS_CTL_SIZE);
	/* the data area is there twice, and it is the file's bytes after the control page */
	memcpy(m.data + DSIZE - 4, "wrap", 4);
	memcpy(m.data + DSIZE, "arou", 4);
	assert_memory_equal(m.data + 2 * DSIZE - 4, "wrap", 4);
	assert_memory_equal(m.data, "arou", 4);
	assert_int_equal(pread(fd, b, 8, 2 * RING_LEN - 4), 4);
	assert_memory_equal(b, "wrap", 4);
	assert_int_equal(pread(fd, b, 4, RING_LEN + PVB_VMBUS_CTL_SIZE), 4);
	assert_memory_equal(b, "arou", 4);
	m.ctl->reserved1[0] = 0x11223344;
	assert_int_equal(pread(fd, b, 4, RING_LEN + 16), 4);
	assert_memory_equal(b, "\x44\x33\x22\x11", 4);
	pvb_vmbus_mem_unmap(&m);
	assert_null(m.ctl);
	assert_int_equal(close(fd), 0);
}

/* The writer refuses what it cannot write: -EINVAL, the end stays usable. */
static void
test_write_bad_args(void **state)
{
	static const uint8_t big[DSIZE];
	static const struct pvb_vmbus_xfer_range xr = { 8, 0 };
	static const struct pvb_vmbus_gpa gr_off = { 8, 4096, pfn_a };
	static const struct pvb_vmbus_gpa gr_nopfn = { 8, 0, NULL };
	static const struct pvb_vmbus_gpa gr_huge = { UINT32_MAX, 0, pfn_a };
	static const struct pvb_vmbus_gpa gr_ok = { 8, 0, pfn_a };
	struct fx *fx = *state;
	struct pvb_vmbus_out *o = &fx->out;
	struct pvb_vmbus_stats st;
	int rc[20];
	size_t i, n = 0;

	at("writer arguments");
	fx_reopen(fx, MODE_FLAT, DSIZE - 8, DSIZE - 8);
	attach_both(fx, 0);
	st = o->st;
	snapshot(fx);
	rc[n++] = pvb_vmbus_out_inband(o, 1, 0x2, hello, sizeof(hello));
	rc[n++] = pvb_vmbus_out_inband(o, 1, 0x8000, hello, sizeof(hello));
	rc[n++] = pvb_vmbus_out_inband(o, 1, 0, NULL, 1);
	rc[n++] = pvb_vmbus_out_inband(o, 1, 0, big, DSIZE - 24);	/* 4096 ring bytes */
	rc[n++] = pvb_vmbus_out_inband(o, 1, 0, big, UINT32_MAX);
	rc[n++] = pvb_vmbus_out_inband(NULL, 1, 0, hello, sizeof(hello));
	rc[n++] = pvb_vmbus_out_comp(o, 1, NULL, 1);
	rc[n++] = pvb_vmbus_out_comp(o, 1, big, DSIZE);
	rc[n++] = pvb_vmbus_out_xfer(o, 1, 0x4, 1, &xr, 1, NULL, 0);
	rc[n++] = pvb_vmbus_out_xfer(o, 1, 0, 1, NULL, 1, NULL, 0);
	rc[n++] = pvb_vmbus_out_xfer(o, 1, 0, 1, &xr, 1, NULL, 1);
	/* 24 + 8 * 65533 > 65535 * 8: too many ranges for offset8 (not read) */
	rc[n++] = pvb_vmbus_out_xfer(o, 1, 0, 1, &xr, 65533, NULL, 0);
	rc[n++] = pvb_vmbus_out_gpa(o, 1, 0, NULL, 1, NULL, 0);
	rc[n++] = pvb_vmbus_out_gpa(o, 1, 0, &gr_ok, 0, NULL, 0);
	rc[n++] = pvb_vmbus_out_gpa(o, 1, 0, &gr_off, 1, NULL, 0);
	rc[n++] = pvb_vmbus_out_gpa(o, 1, 0, &gr_nopfn, 1, NULL, 0);
	rc[n++] = pvb_vmbus_out_gpa(o, 1, 0, &gr_huge, 1, NULL, 0);
	rc[n++] = pvb_vmbus_out_gpa(o, 1, 0x2, &gr_ok, 1, NULL, 0);
	rc[n++] = pvb_vmbus_out_gpa(o, 1, 0, &gr_ok, 1, NULL, 1);
	assert_true(n <= DIM(rc));
	for (i = 0; i < n; i++) {
		at("writer arguments, call %zu", i);
		expect_eq(rc[i], -EINVAL);
	}
	assert_ring_unchanged(fx);
	assert_false(pvb_vmbus_out_broken(o));
	assert_memory_equal(&o->st, &st, sizeof(st));
	assert_int_equal(pvb_vmbus_out_uncommitted(o), 0);
	assert_int_equal(pvb_vmbus_out_inband(o, 1, 0, hello, sizeof(hello)), 0);
}

/*
 * What the writer accepts, its own reader accepts: otherwise one end of a
 * channel breaks the other. Refusing (-EINVAL) is the writer's other option.
 */
static void
test_write_what_reads(void **state)
{
	static const struct pvb_vmbus_gpa gr_empty = { 0, 0, pfn_a };
	static const struct pvb_vmbus_gpa gr_empty_off = { 0, 5, pfn_a };
	static const struct pvb_vmbus_xfer_range xr = { 1, 0 };
	static const uint8_t big[DSIZE];
	struct fx *fx = *state;
	struct pvb_vmbus_out *o = &fx->out;
	struct pvb_vmbus_pkt p;
	int k, rc = 0;

	for (k = 0; k < 7; k++) {
		fx_reopen(fx, MODE_FLAT, DSIZE - 16, DSIZE - 16);
		attach_both(fx, 0);
		switch (k) {
		case 0:
			at("transfer-page packet without ranges");
			rc = pvb_vmbus_out_xfer(o, 1, 0, 1, NULL, 0, NULL, 0);
			break;
		case 1:
			at("GPA range of 0 bytes at offset 0: no page");
			rc = pvb_vmbus_out_gpa(o, 1, 0, &gr_empty, 1, NULL, 0);
			break;
		case 2:
			at("GPA range of 0 bytes at offset 5: one page");
			rc = pvb_vmbus_out_gpa(o, 1, 0, &gr_empty_off, 1, NULL, 0);
			break;
		case 3:
			at("transfer-page range of 1 byte");
			rc = pvb_vmbus_out_xfer(o, 1, 0, 1, &xr, 1, NULL, 0);
			break;
		case 4:
			at("empty in-band");
			rc = pvb_vmbus_out_inband(o, 1, 0, NULL, 0);
			break;
		case 5:
			at("empty completion");
			rc = pvb_vmbus_out_comp(o, 1, NULL, 0);
			break;
		case 6:
			at("largest packet: dsize - 8 ring bytes");
			rc = pvb_vmbus_out_inband(o, 1, 0, big, DSIZE - 32);
			break;
		}
		if (rc == -EINVAL)
			continue;
		expect_eq(rc, 0);
		expect_true(pvb_vmbus_out_commit(o));
		rc = pvb_vmbus_in_peek(&fx->in, &p);
		if (rc != 0)
			fail_msg("%s: the writer wrote it, its reader says %d (%s)", here, rc,
				 pvb_vmbus_fault_str(fx->in.fault));
	}
}

/* ----------------------------------------------------------------------------
 * Inspection
 */

struct inspect_case {
	const char *what;
	uint32_t w, r, mask, pending, features;
	bool valid;
	uint32_t to_read;
	bool reader_sig, writer_sig;
};

static const struct inspect_case inspect_cases[] = {
	{ "empty", 0, 0, 0, 0, 0, true, 0, false, false },
	{ "empty, not at 0", 200, 200, 0, 0, 0, true, 0, false, false },
	{ "64 bytes, mask clear", 64, 0, 0, 0, 0, true, 64, true, false },
	{ "64 bytes, mask set", 64, 0, 1, 0, 0, true, 64, false, false },
	{ "wrapped: 16 before the end, 16 after", 16, DSIZE - 16, 0, 0, 0, true, 32, true,
	  false },
	{ "8 bytes free", DSIZE - 8, 0, 1, 0, 0, true, DSIZE - 8, false, false },
	{ "8 bytes free, wrapped", 8, 16, 0, 0, 0, true, DSIZE - 8, true, false },
	{ "pending 4000 < 4032 free", 64, 0, 1, 4000, FEAT, true, 64, false, true },
	{ "pending 4032 = free", 64, 0, 1, 4032, FEAT, true, 64, false, false },
	{ "pending 4039: 4032 = free", 64, 0, 1, 4039, FEAT, true, 64, false, false },
	{ "pending 4031: 4024 < free", 64, 0, 1, 4031, FEAT, true, 64, false, true },
	{ "pending 7: 0", 64, 0, 1, 7, FEAT, true, 64, false, false },
	{ "pending without the feature", 64, 0, 1, 8, 0, true, 64, false, false },
	{ "write_index unaligned", 4, 0, 0, 8, FEAT, false, 0, false, false },
	{ "write_index = dsize", DSIZE, 0, 0, 8, FEAT, false, 0, false, false },
	{ "read_index unaligned", 64, 1, 0, 8, FEAT, false, 0, false, false },
	{ "read_index = dsize", 64, DSIZE, 0, 8, FEAT, false, 0, false, false },
	{ "read_index 0xffffffff", 64, UINT32_MAX, 0, 8, FEAT, false, 0, false, false },
};

static void
test_inspect(void **state)
{
	const struct inspect_case *c;
	struct fx *fx = *state;
	struct pvb_vmbus_info i;
	size_t k;

	for (k = 0; k < DIM(inspect_cases); k++) {
		c = &inspect_cases[k];
		at("inspect: %s", c->what);
		fx_reopen(fx, MODE_FLAT, c->w, c->r);
		ctl_set(fx, CTL(interrupt_mask), c->mask);
		ctl_set(fx, CTL(pending_send_sz), c->pending);
		ctl_set(fx, CTL(feature_bits), c->features);
		snapshot(fx);
		memset(&i, POISON, sizeof(i));
		pvb_vmbus_inspect(&fx->m, &i);
		assert_ring_unchanged(fx);
		expect_eq(i.write_index, c->w);
		expect_eq(i.read_index, c->r);
		expect_eq(i.interrupt_mask, c->mask);
		expect_eq(i.pending_send_sz, c->pending);
		expect_eq(i.feature_bits, c->features);
		expect_eq(i.dsize, DSIZE);
		expect_eq(i.indices_valid, c->valid);
		expect_eq(i.bytes_to_read, c->to_read);
		expect_eq(i.bytes_to_write, c->valid ? DSIZE - c->to_read : 0);
		expect_eq(i.reader_needs_signal, c->reader_sig);
		expect_eq(i.writer_needs_signal, c->writer_sig);
	}
	/* what the ends publish shows up */
	at("inspect: live ring");
	fx_reopen(fx, MODE_DOUBLE, DSIZE - 16, DSIZE - 16);
	attach_both(fx, FEAT);
	put_pkts(fx, 2, 0, true);
	pvb_vmbus_inspect(&fx->m, &i);
	expect_eq(i.write_index, 32);
	expect_eq(i.read_index, DSIZE - 16);
	expect_eq(i.bytes_to_read, 48);
	expect_eq(i.feature_bits, FEAT);
	expect_true(i.reader_needs_signal);
	pvb_vmbus_in_set_mask(&fx->in, true);
	pvb_vmbus_inspect(&fx->m, &i);
	expect_false(i.reader_needs_signal);
}

static void
test_fault_str(void **state)
{
	static const enum pvb_vmbus_fault faults[] = {
		PVB_VMBUS_OK,
		PVB_VMBUS_FAULT_WRITE_INDEX,
		PVB_VMBUS_FAULT_READ_INDEX,
		PVB_VMBUS_FAULT_DESC,
		PVB_VMBUS_FAULT_TYPE,
		PVB_VMBUS_FAULT_XFER,
		PVB_VMBUS_FAULT_GPA,
		PVB_VMBUS_FAULT_DETACHED,
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < DIM(faults); i++) {
		assert_non_null(pvb_vmbus_fault_str(faults[i]));
		assert_int_not_equal(pvb_vmbus_fault_str(faults[i])[0], '\0');
		for (j = 0; j < i; j++)
			assert_string_not_equal(pvb_vmbus_fault_str(faults[i]),
						pvb_vmbus_fault_str(faults[j]));
	}
	assert_non_null(pvb_vmbus_fault_str((enum pvb_vmbus_fault)99));
}

/* Two flat rings of one page of data each, side by side in one allocation. */
struct twin {
	uint8_t *mem;
	struct pvb_vmbus_mem a, b;
	struct pvb_vmbus_out oa, ob;
};

static void
twin_open(struct twin *t)
{
	t->mem = aligned_alloc(PVB_VMBUS_PAGE, 4 * PVB_VMBUS_PAGE);
	assert_non_null(t->mem);
	memset(t->mem, 0, 4 * PVB_VMBUS_PAGE);
	assert_int_equal(pvb_vmbus_mem_flat(&t->a, t->mem, 2 * PVB_VMBUS_PAGE), 0);
	assert_int_equal(pvb_vmbus_mem_flat(&t->b, t->mem + 2 * PVB_VMBUS_PAGE,
					    2 * PVB_VMBUS_PAGE), 0);
	assert_int_equal(pvb_vmbus_out_attach(&t->oa, &t->a, 0), 0);
	assert_int_equal(pvb_vmbus_out_attach(&t->ob, &t->b, 0), 0);
}

/*
 * Reserve, put in pieces, finish: the same bytes as the one-call writer;
 * bytes reserved and not put read as zeros; nothing past the reservation.
 */
static void
test_reserve_put_finish(void **state)
{
	static const uint8_t payload[40] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
	struct pvb_vmbus_wpkt k;
	struct twin t;

	(void)state;
	twin_open(&t);
	assert_int_equal(pvb_vmbus_out_inband(&t.oa, 0x1234, 1, payload, 37), 0);
	assert_int_equal(pvb_vmbus_out_reserve(&t.ob, PVB_VMBUS_PKT_DATA_INBAND, 1, 0x1234,
					       PVB_VMBUS_DESC_SIZE, 37, &k), 0);
	assert_int_equal(pvb_vmbus_out_put(&t.ob, &k, payload, 20), 0);
	assert_int_equal(pvb_vmbus_out_put(&t.ob, &k, payload + 20, 17), 0);
	assert_int_equal(pvb_vmbus_out_put(&t.ob, &k, payload, 1), -EINVAL);
	assert_int_equal(pvb_vmbus_out_finish(&t.ob, &k), 0);
	assert_memory_equal(t.a.data, t.b.data, PVB_VMBUS_PAGE);
	assert_int_equal(pvb_vmbus_out_uncommitted(&t.ob), pvb_vmbus_out_uncommitted(&t.oa));

	/* a payload left unwritten is zeros, padding included: 16 + 13 of 40 */
	assert_int_equal(pvb_vmbus_out_inband(&t.oa, 7, 0, (const uint8_t[40]){ 0 }, 40), 0);
	assert_int_equal(pvb_vmbus_out_reserve(&t.ob, PVB_VMBUS_PKT_DATA_INBAND, 0, 7,
					       PVB_VMBUS_DESC_SIZE, 40, &k), 0);
	memset(t.b.data + k.pos, 0xee, 40);	/* stale ring bytes that must not show */
	assert_int_equal(pvb_vmbus_out_finish(&t.ob, &k), 0);
	assert_memory_equal(t.a.data, t.b.data, PVB_VMBUS_PAGE);

	/* only types a reader here takes, and whole 8-byte headers */
	assert_int_equal(pvb_vmbus_out_reserve(&t.ob, PVB_VMBUS_PKT_SYNCH, 0, 0, 16, 0, &k),
			 -EINVAL);
	assert_int_equal(pvb_vmbus_out_reserve(&t.ob, PVB_VMBUS_PKT_COMP, 0, 0, 20, 0, &k),
			 -EINVAL);
	assert_int_equal(pvb_vmbus_out_reserve(&t.ob, PVB_VMBUS_PKT_COMP, 0, 0, 8, 0, &k),
			 -EINVAL);
	free(t.mem);
}

#define FX_TEST(f)	cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_bytes_write),
		FX_TEST(test_bytes_read),
		FX_TEST(test_pkt_ring_bytes),
		FX_TEST(test_wrap),
		FX_TEST(test_stream),
		FX_TEST(test_never_full),
		FX_TEST(test_commit_batches),
		FX_TEST(test_out_signal),
		FX_TEST(test_in_signal),
		FX_TEST(test_wait_prepare),
		FX_TEST(test_wait_wake),
		FX_TEST(test_unmask_and_check),
		FX_TEST(test_corrupt_indices),
		FX_TEST(test_corrupt_packets),
		FX_TEST(test_corrupt_gpa_after_peek),
		FX_TEST(test_attach_bad_indices),
		FX_TEST(test_attach_bad_args),
		FX_TEST(test_mem_bad_args),
		FX_TEST(test_mem_double_offset),
		FX_TEST(test_write_bad_args),
		FX_TEST(test_write_what_reads),
		FX_TEST(test_inspect),
		FX_TEST(test_fault_str),
		cmocka_unit_test(test_reserve_put_finish),
	};

	return cmocka_run_group_tests_name("unit", tests, suite_setup, NULL);
}
