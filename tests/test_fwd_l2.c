/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Unit tests for pvb-fwd's l2 MAC table (suite 'unit').
 *
 * One fixture: the table under test, created by each test with the size and
 * ageing time it needs, freed by the teardown. Time is a plain counter.
 *
 * The hash is private, so collisions come from size instead: a table of at
 * most 8 entries has FWD_L2_PROBE slots, and every MAC's probe window is the
 * whole table; any lookup there may have to step over tombstones. A larger
 * table is checked against a reference model through a long random run.
 *
 * The two-thread test learns and looks up overlapping MAC sets while the
 * test's own thread ages and flushes, for a fixed number of operations;
 * threads report failures as messages, checked after the join. Run it under
 * -fsanitize=thread too.
 */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pvb_ordering.h"

#include "fwd_l2.h"
#include "test_common.h"

#define SMALL_MAX	8u	/* entries of a table whose windows cover all of it */
#define LOG_MAX		512u	/* entries a walk_log holds */
#define MSG_LEN		160

/* ----------------------------------------------------------------------------
 * Helpers
 */

/* MAC number @n: locally administered unicast 02:00:nn:nn:nn:nn. */
static const uint8_t *
mac_n(uint32_t n, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
	return mac;
}

/* The number of a mac_n() MAC, or -1 for any other. */
static int64_t
mac_num(const uint8_t mac[6])
{
	if (mac[0] != 0x02 || mac[1] != 0x00)
		return -1;
	return (int64_t)((uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 |
			 (uint32_t)mac[4] << 8 | mac[5]);
}

static uint64_t
rng_next(uint64_t *s)
{
	/* xorshift64: reproducible runs from a fixed seed */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random unicast MAC, never all zero, with vendor bytes too. */
static const uint8_t *
mac_random(uint64_t *rng, uint8_t mac[6])
{
	uint64_t r = rng_next(rng);
	int i;

	for (i = 0; i < 6; i++, r >>= 8)
		mac[i] = (uint8_t)r;
	mac[0] &= 0xfe;
	mac[5] |= 1;
	return mac;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
expect_stats(const struct fwd_l2 *t, const struct fwd_l2_stats *want)
{
	struct fwd_l2_stats s;

	fwd_l2_stats(t, &s);
	assert_int_equal(s.entries, want->entries);
	assert_int_equal(s.learned, want->learned);
	assert_int_equal(s.moved, want->moved);
	assert_int_equal(s.aged, want->aged);
	assert_int_equal(s.flushed, want->flushed);
	assert_int_equal(s.full, want->full);
}

/* ----------------------------------------------------------------------------
 * What a walk saw
 */

struct walk_log {
	unsigned int n;
	unsigned int stop_at;	/* return 42 from this call (1-based); 0 = never */
	struct {
		uint8_t mac[6];
		uint16_t port;
		uint64_t seen;
	} e[LOG_MAX];
};

static int
log_entry(const uint8_t mac[6], uint16_t port, uint64_t last_seen, void *arg)
{
	struct walk_log *log = arg;

	assert_true(log->n < LOG_MAX);
	memcpy(log->e[log->n].mac, mac, 6);
	log->e[log->n].port = port;
	log->e[log->n].seen = last_seen;
	log->n++;
	return log->n == log->stop_at ? 42 : 0;
}

static void
walk_all(const struct fwd_l2 *t, struct walk_log *log)
{
	memset(log, 0, sizeof(*log));
	assert_int_equal(fwd_l2_walk(t, log_entry, log), 0);
}

/* The last-seen time of @mac, which must be in the table once. */
static uint64_t
last_seen(const struct fwd_l2 *t, const uint8_t mac[6])
{
	static struct walk_log log;
	unsigned int i, found = 0;
	uint64_t seen = 0;

	walk_all(t, &log);
	for (i = 0; i < log.n; i++) {
		if (memcmp(log.e[i].mac, mac, 6) == 0) {
			seen = log.e[i].seen;
			found++;
		}
	}
	assert_int_equal(found, 1);
	return seen;
}

/* ----------------------------------------------------------------------------
 * Fixture
 */

struct fx {
	struct fwd_l2 *t;
};

static int
fx_setup(void **state)
{
	static struct fx fixture;

	fixture.t = NULL;
	*state = &fixture;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;

	fwd_l2_free(fx->t);
	fx->t = NULL;
	return 0;
}

static struct fwd_l2 *
fx_table(struct fx *fx, uint32_t max_entries, uint64_t age)
{
	fx->t = fwd_l2_create(max_entries, age);
	assert_non_null(fx->t);
	return fx->t;
}

/* ----------------------------------------------------------------------------
 * Single-threaded behaviour
 */

static void
test_create_bad_args(void **state)
{
	static const uint32_t bad[] = { 0, FWD_L2_MAX_ENTRIES + 1, UINT32_MAX };
	struct fx *fx = *state;
	struct fwd_l2 *t;
	uint8_t m[6];
	size_t i;

	for (i = 0; i < DIM(bad); i++) {
		errno = 0;
		assert_null(fwd_l2_create(bad[i], 100));
		assert_int_equal(errno, EINVAL);
	}
	fwd_l2_free(NULL);

	/* the largest table: 2^25 slots, 512 MiB */
	t = fwd_l2_create(FWD_L2_MAX_ENTRIES, 0);
	assert_non_null(t);
	assert_int_equal(fwd_l2_learn(t, mac_n(FWD_L2_MAX_ENTRIES, m), 1, 0), FWD_L2_NEW);
	assert_int_equal(fwd_l2_lookup(t, m, 0), 1);
	fwd_l2_free(t);

	/* the smallest: one entry */
	t = fx_table(fx, 1, 0);
	assert_int_equal(fwd_l2_learn(t, mac_n(1, m), 1, 0), FWD_L2_NEW);
	assert_int_equal(fwd_l2_learn(t, mac_n(2, m), 1, 0), FWD_L2_FULL);
}

static void
test_learn_new_known_moved(void **state)
{
	struct fwd_l2 *t = fx_table(*state, 64, 1000);
	uint8_t a[6], b[6];

	mac_n(1, a);
	mac_n(2, b);
	assert_int_equal(fwd_l2_learn(t, a, 3, 10), FWD_L2_NEW);
	assert_int_equal(fwd_l2_learn(t, a, 3, 11), FWD_L2_KNOWN);
	assert_int_equal(fwd_l2_lookup(t, a, 11), 3);
	assert_int_equal(fwd_l2_learn(t, a, 5, 12), FWD_L2_MOVED);
	assert_int_equal(fwd_l2_lookup(t, a, 12), 5);
	assert_int_equal(fwd_l2_learn(t, a, 5, 13), FWD_L2_KNOWN);
	assert_int_equal(fwd_l2_learn(t, b, 0, 13), FWD_L2_NEW);
	assert_int_equal(fwd_l2_learn(t, b, UINT16_MAX, 14), FWD_L2_MOVED);
	assert_int_equal(fwd_l2_lookup(t, b, 14), UINT16_MAX);
	assert_int_equal(fwd_l2_lookup(t, a, 14), 5);
	expect_stats(t, &(struct fwd_l2_stats){ .entries = 2, .learned = 2, .moved = 2 });
}

static void
test_lookup_unknown_known_expired(void **state)
{
	struct fwd_l2 *t = fx_table(*state, 64, 100);
	uint8_t a[6], b[6];

	mac_n(1, a);
	mac_n(2, b);
	assert_int_equal(fwd_l2_lookup(t, a, 0), -1);
	assert_int_equal(fwd_l2_learn(t, a, 7, 1000), FWD_L2_NEW);
	assert_int_equal(fwd_l2_lookup(t, a, 1000), 7);
	assert_int_equal(fwd_l2_lookup(t, a, 1100), 7);	/* age units old: still fresh */
	assert_int_equal(fwd_l2_lookup(t, a, 1101), -1);	/* expired, not yet aged out */
	assert_int_equal(fwd_l2_lookup(t, a, UINT64_MAX), -1);
	/* a clock behind the one that stamped the entry: just seen */
	assert_int_equal(fwd_l2_lookup(t, a, 500), 7);
	assert_int_equal(fwd_l2_lookup(t, b, 1000), -1);
	/* expired entries still count until fwd_l2_age() removes them */
	expect_stats(t, &(struct fwd_l2_stats){ .entries = 1, .learned = 1 });
}

static void
test_lookup_not_learnable(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6] = { 0 };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct fwd_l2 *t = fx_table(*state, SMALL_MAX, 0);
	uint64_t rng = 0xabcdef;
	unsigned int round, i;
	uint8_t m[6];

	/*
	 * Fresh tombstones everywhere: a tombstone's key reads as
	 * ff:ff:ff:ff:ff:ff on port 0xffff. Inserts take whichever free slot
	 * comes first, so after many rounds every slot (the window is the
	 * table) has held an entry and no empty slot cuts a lookup short.
	 */
	for (round = 0; round < 200; round++) {
		for (i = 0; i < SMALL_MAX; i++)
			assert_int_equal(fwd_l2_learn(t, mac_random(&rng, m), 9, 50), FWD_L2_NEW);
		assert_int_equal(fwd_l2_flush_port(t, 9), SMALL_MAX);
	}
	assert_int_equal(fwd_l2_lookup(t, bcast, 50), -1);
	assert_int_equal(fwd_l2_lookup(t, zero, 50), -1);
	assert_int_equal(fwd_l2_lookup(t, mcast, 50), -1);
	assert_int_equal(fwd_l2_lookup(t, m, 50), -1);
}

/* The header-wide tests agree with the byte-wise one, for either address. */
static void
test_learnable_header(void **state)
{
	static const uint8_t macs[][6] = {
		{ 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 1 }, { 1, 0, 0, 0, 0, 0 },
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0x01, 0x00, 0x5e, 0, 0, 1 },
		{ 0x02, 0, 0, 0, 0, 0 }, { 0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c },
		{ 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0x33, 0x33, 0, 0, 0, 1 },
	};
	uint8_t hdr[14];
	size_t d, s;

	(void)state;
	for (d = 0; d < DIM(macs); d++) {
		for (s = 0; s < DIM(macs); s++) {
			memcpy(hdr, macs[d], 6);
			memcpy(hdr + 6, macs[s], 6);
			hdr[12] = 0x81;	/* a type field that is not zero */
			hdr[13] = 0x00;
			assert_int_equal(fwd_l2_learnable_dst(hdr), fwd_l2_learnable(macs[d]));
			assert_int_equal(fwd_l2_learnable_src(hdr), fwd_l2_learnable(macs[s]));
		}
	}
}

static void
test_invalid_sources(void **state)
{
	static const uint8_t bad[][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },	/* broadcast */
		{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },	/* zero */
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },	/* IPv4 multicast */
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },	/* IPv6 multicast */
		{ 0x01, 0x80, 0xc2, 0x00, 0x00, 0x00 },	/* STP */
		{ 0x03, 0x00, 0x00, 0x00, 0x00, 0x00 },	/* any odd first byte */
	};
	static const uint8_t local[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t vendor[6] = { 0x00, 0x1b, 0x21, 0x00, 0x00, 0x00 };
	struct fwd_l2 *t = fx_table(*state, 64, 100);
	struct walk_log log;
	size_t i;

	for (i = 0; i < DIM(bad); i++) {
		assert_false(fwd_l2_learnable(bad[i]));
		assert_int_equal(fwd_l2_learn(t, bad[i], 1, 10), FWD_L2_INVALID);
		assert_int_equal(fwd_l2_lookup(t, bad[i], 10), -1);
	}
	expect_stats(t, &(struct fwd_l2_stats){ .entries = 0 });
	walk_all(t, &log);
	assert_int_equal(log.n, 0);

	/* unicast with zero low bytes is fine */
	assert_int_equal(fwd_l2_learn(t, local, 1, 10), FWD_L2_NEW);
	assert_int_equal(fwd_l2_learn(t, vendor, 2, 10), FWD_L2_NEW);
	assert_int_equal(fwd_l2_lookup(t, local, 10), 1);
	assert_int_equal(fwd_l2_lookup(t, vendor, 10), 2);
}

static void
test_age_removes_only_old(void **state)
{
	struct fwd_l2 *t = fx_table(*state, 64, 100);
	uint8_t a[6], b[6], c[6];

	mac_n(1, a);
	mac_n(2, b);
	mac_n(3, c);
	assert_int_equal(fwd_l2_learn(t, a, 1, 0), FWD_L2_NEW);
	assert_int_equal(fwd_l2_learn(t, b, 2, 50), FWD_L2_NEW);
	assert_int_equal(fwd_l2_learn(t, c, 3, 100), FWD_L2_NEW);

	assert_int_equal(fwd_l2_age(t, 100), 0);
	assert_int_equal(fwd_l2_age(t, 150), 1);	/* a; b is exactly age old */
	assert_int_equal(fwd_l2_age(t, 150), 0);
	assert_int_equal(fwd_l2_lookup(t, a, 150), -1);
	assert_int_equal(fwd_l2_lookup(t, b, 150), 2);
	assert_int_equal(fwd_l2_lookup(t, c, 150), 3);
	expect_stats(t, &(struct fwd_l2_stats){ .entries = 2, .learned = 3, .aged = 1 });

	/* a stamp ahead of the ager's clock is young, not ancient */
	assert_int_equal(fwd_l2_age(t, 10), 0);

	assert_int_equal(fwd_l2_age(t, 200), 1);	/* b */
	assert_int_equal(fwd_l2_lookup(t, b, 200), -1);
	assert_int_equal(fwd_l2_lookup(t, c, 200), 3);
	/* gone means learnable again, as new */
	assert_int_equal(fwd_l2_learn(t, a, 4, 200), FWD_L2_NEW);
	assert_int_equal(fwd_l2_lookup(t, a, 200), 4);
	expect_stats(t, &(struct fwd_l2_stats){ .entries = 2, .learned = 4, .aged = 2 });
}

static void
test_age_zero_never_expires(void **state)
{
	struct fwd_l2 *t = fx_table(*state, 64, 0);
	uint8_t a[6];

	mac_n(1, a);
	assert_int_equal(fwd_l2_learn(t, a, 6, 10), FWD_L2_NEW);
	assert_int_equal(fwd_l2_lookup(t, a, UINT64_MAX), 6);
	assert_int_equal(fwd_l2_age(t, UINT64_MAX), 0);
	assert_int_equal(fwd_l2_lookup(t, a, UINT64_MAX), 6);
	/* and is never refreshed either: nothing would read the time */
	assert_int_equal(fwd_l2_learn(t, a, 6, 1000000), FWD_L2_KNOWN);
	assert_int_equal(last_seen(t, a), 10);
	expect_stats(t, &(struct fwd_l2_stats){ .entries = 1, .learned = 1 });
}

static void
test_refresh_rate(void **state)
{
	struct fwd_l2 *t = fx_table(*state, 64, 800);	/* refresh after 100 */
	uint8_t a[6];

	mac_n(1, a);
	assert_int_equal(fwd_l2_learn(t, a, 1, 1000), FWD_L2_NEW);
	assert_int_equal(last_seen(t, a), 1000);
	/* steady traffic does not write the table */
	assert_int_equal(fwd_l2_learn(t, a, 1, 1050), FWD_L2_KNOWN);
	assert_int_equal(last_seen(t, a), 1000);
	assert_int_equal(fwd_l2_learn(t, a, 1, 1100), FWD_L2_KNOWN);
	assert_int_equal(last_seen(t, a), 1000);
	assert_int_equal(fwd_l2_learn(t, a, 1, 1101), FWD_L2_KNOWN);
	assert_int_equal(last_seen(t, a), 1101);
	/* a clock behind never moves the time back */
	assert_int_equal(fwd_l2_learn(t, a, 1, 900), FWD_L2_KNOWN);
	assert_int_equal(last_seen(t, a), 1101);
	/* lookups never write */
	assert_int_equal(fwd_l2_lookup(t, a, 1500), 1);
	assert_int_equal(last_seen(t, a), 1101);
	/* a move always stamps */
	assert_int_equal(fwd_l2_learn(t, a, 2, 1102), FWD_L2_MOVED);
	assert_int_equal(last_seen(t, a), 1102);
	/* the refreshed time is what ageing goes by */
	assert_int_equal(fwd_l2_age(t, 1102 + 800), 0);
	assert_int_equal(fwd_l2_age(t, 1102 + 801), 1);
}

static void
test_full_then_room(void **state)
{
	struct fwd_l2 *t = fx_table(*state, 4, 100);
	uint8_t m[6];
	uint32_t i;

	for (i = 0; i < 4; i++)
		assert_int_equal(fwd_l2_learn(t, mac_n(i, m), 1, 0), FWD_L2_NEW);
	assert_int_equal(fwd_l2_learn(t, mac_n(3, m), 2, 50), FWD_L2_MOVED);
	assert_int_equal(fwd_l2_learn(t, mac_n(4, m), 1, 60), FWD_L2_FULL);
	assert_int_equal(fwd_l2_learn(t, mac_n(5, m), 1, 60), FWD_L2_FULL);
	assert_int_equal(fwd_l2_lookup(t, mac_n(4, m), 60), -1);
	/* a full table still knows and moves what it holds */
	assert_int_equal(fwd_l2_learn(t, mac_n(0, m), 1, 10), FWD_L2_KNOWN);	/* no refresh */
	assert_int_equal(fwd_l2_learn(t, mac_n(1, m), 3, 60), FWD_L2_MOVED);
	expect_stats(t, &(struct fwd_l2_stats){ .entries = 4, .learned = 4, .moved = 2,
						 .full = 2 });

	/* 0 and 2 were last stamped at 0; 1 and 3 moved later */
	assert_int_equal(fwd_l2_age(t, 120), 2);
	assert_int_equal(fwd_l2_learn(t, mac_n(4, m), 1, 120), FWD_L2_NEW);
	assert_int_equal(fwd_l2_learn(t, mac_n(5, m), 1, 120), FWD_L2_NEW);
	assert_int_equal(fwd_l2_learn(t, mac_n(6, m), 1, 120), FWD_L2_FULL);
	assert_int_equal(fwd_l2_lookup(t, mac_n(4, m), 120), 1);
	assert_int_equal(fwd_l2_lookup(t, mac_n(1, m), 120), 3);
	expect_stats(t, &(struct fwd_l2_stats){ .entries = 4, .learned = 6, .moved = 2,
						 .aged = 2, .full = 3 });
}

static void
test_flush_port(void **state)
{
	struct fwd_l2 *t = fx_table(*state, 64, 100);
	uint8_t m[6];
	uint32_t i;

	for (i = 0; i < 5; i++)
		assert_int_equal(fwd_l2_learn(t, mac_n(i, m), i < 3 ? 1 : 2, 0), FWD_L2_NEW);
	assert_int_equal(fwd_l2_flush_port(t, 1), 3);
	assert_int_equal(fwd_l2_flush_port(t, 1), 0);
	assert_int_equal(fwd_l2_flush_port(t, 7), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(fwd_l2_lookup(t, mac_n(i, m), 0), i < 3 ? -1 : 2);
	expect_stats(t, &(struct fwd_l2_stats){ .entries = 2, .learned = 5, .flushed = 3 });
	assert_int_equal(fwd_l2_learn(t, mac_n(0, m), 1, 1), FWD_L2_NEW);
	assert_int_equal(fwd_l2_lookup(t, mac_n(0, m), 1), 1);
}

static void
test_walk(void **state)
{
	struct fwd_l2 *t = fx_table(*state, 64, 100);
	static struct walk_log log;
	bool seen[3] = { false, false, false };
	uint8_t m[6];
	unsigned int i;
	int64_t n;

	walk_all(t, &log);
	assert_int_equal(log.n, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(fwd_l2_learn(t, mac_n(i, m), (uint16_t)(10 + i), 100 + i),
				 FWD_L2_NEW);
	assert_int_equal(fwd_l2_learn(t, mac_n(3, m), 1, 103), FWD_L2_NEW);
	assert_int_equal(fwd_l2_flush_port(t, 1), 1);	/* tombstones are not walked */

	walk_all(t, &log);
	assert_int_equal(log.n, 3);
	for (i = 0; i < log.n; i++) {
		n = mac_num(log.e[i].mac);
		assert_in_range(n, 0, 2);
		assert_false(seen[n]);
		seen[n] = true;
		assert_int_equal(log.e[i].port, 10 + n);
		assert_int_equal(log.e[i].seen, 100 + n);
	}

	/* a nonzero return stops the walk and comes back */
	memset(&log, 0, sizeof(log));
	log.stop_at = 1;
	assert_int_equal(fwd_l2_walk(t, log_entry, &log), 42);
	assert_int_equal(log.n, 1);
}

/*
 * Every window is the whole table. Each round, the half learned two rounds
 * ago ages out and new MACs take its place: what is left must still be found
 * past the tombstones, by lookups and by learning (which must not insert it
 * again into an earlier tombstone), and the holes must be reused.
 */
#define TS_HALF		(SMALL_MAX / 2)
#define TS_AGE		10u
#define TS_STEP		6u	/* a round: older than TS_AGE after two, not one */

static void
test_tombstones_keep_probes_working(void **state)
{
	struct fwd_l2 *t = fx_table(*state, SMALL_MAX, TS_AGE);
	uint8_t mac[SMALL_MAX][6], gone[TS_HALF][6], m[6];
	uint64_t rng = 0x1234567, now = 0, at[SMALL_MAX];
	unsigned int round, i, old;

	for (i = 0; i < SMALL_MAX; i++) {
		at[i] = i < TS_HALF ? 0 : TS_STEP;
		assert_int_equal(fwd_l2_learn(t, mac_random(&rng, mac[i]), (uint16_t)i, at[i]),
				 FWD_L2_NEW);
	}
	now = TS_STEP;
	for (round = 0; round < 500; round++) {
		now += TS_STEP;
		old = round % 2 * TS_HALF;	/* the half learned two rounds ago */
		assert_int_equal(fwd_l2_age(t, now), TS_HALF);
		for (i = 0; i < SMALL_MAX; i++)
			assert_int_equal(fwd_l2_lookup(t, mac[i], now),
					 i / TS_HALF == old / TS_HALF ? -1 : (int)i);
		/* at its own time: a learn that finds it must not refresh it */
		for (i = 0; i < SMALL_MAX; i++)
			if (i / TS_HALF != old / TS_HALF)
				assert_int_equal(fwd_l2_learn(t, mac[i], (uint16_t)i, at[i]),
						 FWD_L2_KNOWN);

		for (i = old; i < old + TS_HALF; i++) {
			memcpy(gone[i - old], mac[i], 6);
			at[i] = now;
			assert_int_equal(fwd_l2_learn(t, mac_random(&rng, mac[i]), (uint16_t)i,
						      now),
					 FWD_L2_NEW);
		}
		assert_int_equal(fwd_l2_learn(t, mac_random(&rng, m), 0, now), FWD_L2_FULL);
		for (i = 0; i < SMALL_MAX; i++)
			assert_int_equal(fwd_l2_lookup(t, mac[i], now), (int)i);
		for (i = 0; i < TS_HALF; i++)
			assert_int_equal(fwd_l2_lookup(t, gone[i], now), -1);
	}
	expect_stats(t, &(struct fwd_l2_stats){ .entries = SMALL_MAX,
						 .learned = SMALL_MAX + 500 * TS_HALF,
						 .aged = 500 * TS_HALF, .full = 500 });
}

/* ----------------------------------------------------------------------------
 * A long random run against a reference model
 */

#define MODEL_MAX	256u
#define MODEL_AGE	64u
#define MODEL_STEPS	200000u
#define MODEL_PORTS	4u

struct model {
	unsigned int n;
	struct {
		uint8_t mac[6];
		uint16_t port;
		uint64_t seen;
	} e[MODEL_MAX];
};

static void
model_remove(struct model *md, unsigned int i)
{
	md->e[i] = md->e[--md->n];
}

/* The table holds exactly the model. */
static void
model_check(const struct fwd_l2 *t, const struct model *md, uint64_t now)
{
	static struct walk_log log;
	struct fwd_l2_stats s;
	unsigned int i, j;
	bool fresh;

	walk_all(t, &log);
	assert_int_equal(log.n, md->n);
	fwd_l2_stats(t, &s);
	assert_int_equal(s.entries, md->n);
	assert_int_equal(s.learned - s.aged - s.flushed, md->n);
	for (i = 0; i < md->n; i++) {
		for (j = 0; j < log.n; j++)
			if (memcmp(log.e[j].mac, md->e[i].mac, 6) == 0)
				break;
		assert_true(j < log.n);
		assert_int_equal(log.e[j].port, md->e[i].port);
		assert_int_equal(log.e[j].seen, md->e[i].seen);
		fresh = now - md->e[i].seen <= MODEL_AGE;
		assert_int_equal(fwd_l2_lookup(t, md->e[i].mac, now),
				 fresh ? md->e[i].port : -1);
	}
}

static void
model_learn(struct fwd_l2 *t, struct model *md, uint64_t *rng, uint64_t now,
	    unsigned int *window_full)
{
	uint16_t port = (uint16_t)(rng_next(rng) % MODEL_PORTS);
	enum fwd_l2_learned r;
	unsigned int i;
	uint8_t m[6];

	if (md->n > 0 && rng_next(rng) % 2 == 0) {
		i = (unsigned int)(rng_next(rng) % md->n);
		r = fwd_l2_learn(t, md->e[i].mac, port, now);
		if (port != md->e[i].port) {
			assert_int_equal(r, FWD_L2_MOVED);
			md->e[i].port = port;
			md->e[i].seen = now;
		} else {
			assert_int_equal(r, FWD_L2_KNOWN);
			if (now - md->e[i].seen > MODEL_AGE / 8)
				md->e[i].seen = now;
		}
		return;
	}
	r = fwd_l2_learn(t, mac_random(rng, m), port, now);
	if (r == FWD_L2_FULL && md->n < MODEL_MAX) {
		(*window_full)++;	/* the MAC's window is taken; the model cannot tell */
		assert_int_equal(fwd_l2_lookup(t, m, now), -1);
		return;
	}
	assert_int_equal(r, md->n < MODEL_MAX ? FWD_L2_NEW : FWD_L2_FULL);
	if (r == FWD_L2_NEW) {
		memcpy(md->e[md->n].mac, m, 6);
		md->e[md->n].port = port;
		md->e[md->n].seen = now;
		md->n++;
	}
}

static void
model_age(struct fwd_l2 *t, struct model *md, uint64_t now)
{
	unsigned int i, expect = 0;

	for (i = md->n; i-- > 0;) {
		if (now - md->e[i].seen > MODEL_AGE) {
			model_remove(md, i);
			expect++;
		}
	}
	assert_int_equal(fwd_l2_age(t, now), expect);
}

static void
model_flush(struct fwd_l2 *t, struct model *md, uint16_t port)
{
	unsigned int i, expect = 0;

	for (i = md->n; i-- > 0;) {
		if (md->e[i].port == port) {
			model_remove(md, i);
			expect++;
		}
	}
	assert_int_equal(fwd_l2_flush_port(t, port), expect);
}

static void
test_random_vs_model(void **state)
{
	struct fwd_l2 *t = fx_table(*state, MODEL_MAX, MODEL_AGE);
	static struct model md;
	unsigned int step, window_full = 0, i;
	uint64_t rng = 0xfeedface12345ull, now = 0, r;
	uint8_t m[6];

	md.n = 0;
	for (step = 0; step < MODEL_STEPS; step++) {
		now += rng_next(&rng) % 3;
		r = rng_next(&rng) % 1000;
		if (r < 500) {
			model_learn(t, &md, &rng, now, &window_full);
		} else if (r < 900 && md.n > 0) {
			i = (unsigned int)(rng_next(&rng) % md.n);
			assert_int_equal(fwd_l2_lookup(t, md.e[i].mac, now),
					 now - md.e[i].seen <= MODEL_AGE ? md.e[i].port : -1);
		} else if (r < 900) {
			assert_int_equal(fwd_l2_lookup(t, mac_random(&rng, m), now), -1);
		} else if (r < 990) {
			model_age(t, &md, now);
		} else {
			model_flush(t, &md, (uint16_t)(rng_next(&rng) % MODEL_PORTS));
		}
		if (step % 1024 == 0)
			model_check(t, &md, now);
	}
	model_check(t, &md, now);
	/* the window rarely fills at half load; a broken probe would show here */
	print_message("%u of %u steps: window full\n", window_full, MODEL_STEPS);
	assert_true(window_full < MODEL_STEPS / 1000);
}

/* ----------------------------------------------------------------------------
 * Two learning threads, the test's thread ageing and flushing
 */

#define MT_OPS		10000000u	/* learn + lookup pairs per worker */
#define MT_SPAN		64u		/* worker w learns MACs w*32 .. w*32+63 */
#define MT_MACS		96u		/* learned by someone: 32..63 by both */
#define MT_STRANGERS	32u		/* MACs 96..127: looked up, never learned */
#define MT_ACTIVE	16u		/* MACs of its span a worker uses at a time */
#define MT_PHASE	1024u		/* ops before the active MACs shift by one */
#define MT_MAX		48u
#define MT_AGE		512u
#define MT_PORTS	4u		/* MAC i is learned on ports 4i .. 4i+3 only */

struct mt_worker {
	pthread_t tid;
	unsigned int id;
	struct fwd_l2 *t;
	pvb_shared_u64 clock;	/* W: worker (its time); R: main, to age by */
	pvb_shared_u32 done;	/* W: worker; R: main */
	uint64_t results[FWD_L2_INVALID + 1];	/* by learn result; read after join */
	uint64_t hits;		/* lookups that found a port */
	char msg[MSG_LEN];	/* first failure, "" if none; read after join */
};

static bool
mt_port_ok(int64_t mac, int port)
{
	return mac >= 0 && mac < MT_MACS && port >= 0 && (uint32_t)port / MT_PORTS == mac;
}

static void *
mt_worker_main(void *arg)
{
	struct mt_worker *w = arg;
	struct fwd_l2_stats s;
	uint64_t rng = 0x9e3779b9ull * (w->id + 1), j;
	uint32_t i;
	uint16_t port;
	uint8_t m[6];
	int r;

	for (j = 0; j < MT_OPS; j++) {
		i = w->id * (MT_SPAN / 2) +
		    (uint32_t)((j / MT_PHASE + rng_next(&rng) % MT_ACTIVE) % MT_SPAN);
		port = (uint16_t)(i * MT_PORTS + w->id * 2 + rng_next(&rng) % 2);
		w->results[fwd_l2_learn(w->t, mac_n(i, m), port, j)]++;

		i = (uint32_t)(rng_next(&rng) % (MT_MACS + MT_STRANGERS));
		r = fwd_l2_lookup(w->t, mac_n(i, m), j);
		if (r != -1 && !mt_port_ok(i, r)) {
			snprintf(w->msg, sizeof(w->msg), "op %llu: MAC %u on port %d",
				 (unsigned long long)j, i, r);
			break;
		}
		w->hits += r != -1;
		if (j % 256 == 0) {
			fwd_l2_stats(w->t, &s);
			if (s.entries > MT_MAX) {
				snprintf(w->msg, sizeof(w->msg), "op %llu: %llu entries",
					 (unsigned long long)j, (unsigned long long)s.entries);
				break;
			}
			/* relaxed: the main thread only wants a recent time */
			pvb_store_relaxed64(&w->clock, j);
		}
	}
	/* relaxed: the join orders the results; this only ends main's loop */
	pvb_store_relaxed(&w->done, 1);
	return NULL;
}

/* What a walk saw while the workers run, or once they are done. */
struct mt_walk {
	unsigned int n;
	uint16_t last_port;	/* of the last entry seen: the next port to flush */
};

/* Counts and checks the entries a walk sees: valid ports for learned MACs. */
static int
mt_check_entry(const uint8_t mac[6], uint16_t port, uint64_t last_seen, void *arg)
{
	struct mt_walk *mw = arg;

	(void)last_seen;
	mw->n++;
	mw->last_port = port;
	return mt_port_ok(mac_num(mac), port) ? 0 : -1;
}

static void
test_two_threads(void **state)
{
	struct fwd_l2 *t = fx_table(*state, MT_MAX, MT_AGE);
	static struct mt_worker w[2];
	struct fwd_l2_stats s;
	struct mt_walk mw = { 0, 0 };
	uint64_t now, passes = 0, sum;
	unsigned int i, k;
	char msg[MSG_LEN] = "";
	double t0 = now_s();

	for (i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		w[i].t = t;
		assert_int_equal(pthread_create(&w[i].tid, NULL, mt_worker_main, &w[i]), 0);
	}
	/*
	 * Age by the later clock: the slower worker's entries go early, which
	 * keeps inserts, tombstones and reuse busy. relaxed: see mt_worker_main().
	 * No asserts while the workers run.
	 */
	while (!pvb_load_relaxed(&w[0].done) || !pvb_load_relaxed(&w[1].done)) {
		now = pvb_load_relaxed64(&w[0].clock);
		if (pvb_load_relaxed64(&w[1].clock) > now)
			now = pvb_load_relaxed64(&w[1].clock);
		fwd_l2_age(t, now);
		if (++passes % 8 == 0)
			fwd_l2_flush_port(t, mw.last_port);	/* seen in use lately */
		fwd_l2_stats(t, &s);
		if (s.entries > MT_MAX && msg[0] == '\0')
			snprintf(msg, sizeof(msg), "pass %llu: %llu entries",
				 (unsigned long long)passes, (unsigned long long)s.entries);
		mw.n = 0;
		if (fwd_l2_walk(t, mt_check_entry, &mw) != 0 && msg[0] == '\0')
			snprintf(msg, sizeof(msg), "pass %llu: a bad entry",
				 (unsigned long long)passes);
		sched_yield();
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(w[i].tid, NULL), 0);
	for (i = 0; i < 2; i++)
		if (w[i].msg[0] != '\0')
			fail_msg("worker %u: %s", i, w[i].msg);
	if (msg[0] != '\0')
		fail_msg("ager: %s", msg);

	/* quiet now: the counts add up */
	mw.n = 0;
	assert_int_equal(fwd_l2_walk(t, mt_check_entry, &mw), 0);
	fwd_l2_stats(t, &s);
	assert_true(s.entries <= MT_MAX);
	assert_int_equal(mw.n, s.entries);
	assert_int_equal(s.learned - s.aged - s.flushed, s.entries);
	assert_int_equal(s.learned, w[0].results[FWD_L2_NEW] + w[1].results[FWD_L2_NEW]);
	assert_int_equal(s.moved, w[0].results[FWD_L2_MOVED] + w[1].results[FWD_L2_MOVED]);
	assert_int_equal(s.full, w[0].results[FWD_L2_FULL] + w[1].results[FWD_L2_FULL]);
	/* the workload did what it is for: every path taken */
	for (k = FWD_L2_KNOWN; k <= FWD_L2_FULL; k++) {
		sum = w[0].results[k] + w[1].results[k];
		assert_true(sum > 0);
	}
	assert_true(s.aged > 0 && s.flushed > 0 && w[0].hits > 0 && w[1].hits > 0);
	print_message("2 x %u learn+lookup in %.2f s; new %llu moved %llu full %llu "
		      "aged %llu flushed %llu, %llu ager passes\n",
		      MT_OPS, now_s() - t0, (unsigned long long)s.learned,
		      (unsigned long long)s.moved, (unsigned long long)s.full,
		      (unsigned long long)s.aged, (unsigned long long)s.flushed,
		      (unsigned long long)passes);
}

#define FX_TEST(f)	cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_create_bad_args),
		FX_TEST(test_learn_new_known_moved),
		FX_TEST(test_lookup_unknown_known_expired),
		FX_TEST(test_lookup_not_learnable),
		FX_TEST(test_invalid_sources),
		cmocka_unit_test(test_learnable_header),
		FX_TEST(test_age_removes_only_old),
		FX_TEST(test_age_zero_never_expires),
		FX_TEST(test_refresh_rate),
		FX_TEST(test_full_then_room),
		FX_TEST(test_flush_port),
		FX_TEST(test_walk),
		FX_TEST(test_tombstones_keep_probes_working),
		FX_TEST(test_random_vs_model),
		FX_TEST(test_two_threads),
	};

	return cmocka_run_group_tests_name("unit", tests, NULL, NULL);
}
