/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Stress tests for lib/scring (suite 'stress').
 *
 * One workload, two places for the consumer: a second thread, or a forked
 * process that attaches to the same memfd mapping. The producer submits
 * sequence numbers in random bursts of 1..64 (bulk and burst mixed) and reaps
 * them back; the consumer checks each submission is the next number and
 * completes it with an entry of its own; the producer checks the completions
 * come back in order. The rings are small, so they are full, empty and
 * wrapping all the time, and the indices start just below 2^32, so the
 * counters wrap early in the run.
 *
 * Entries move by one of two sets of calls (struct stress_io): copies through
 * caller buffers (submit/consume/complete/reap, bulk and burst mixed), or in
 * place (reserve/commit and peek/release on both rings), where a random share
 * of the commits and releases cover only part of what was reserved or peeked.
 *
 * Two cores are all we assume: both sides spin with pvb_cpu_relax() and
 * yield now and then, which completes even when they share one core.
 * Nothing here is timed against a limit; the rate printed is information.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvb_scring.h"

#define STRESS_MSG_LEN		160	/* for stress_peer.h: a side's reason for failing */
#include "stress_peer.h"

#define STRESS_ENTRIES		(10u * 1000 * 1000)	/* per test, each way */
#define STRESS_RING		256u
#define STRESS_MAX_BURST	64u
#define STRESS_START		(UINT32_MAX - 100000)	/* the counters wrap early in the run */
#define STRESS_MAX_WORDS	(PVB_SCRING_ENTRY_LARGE / sizeof(uint64_t))
#define CMP_SALT		0x5ca1ab1e00000000ull	/* tells a completion from a submission */

/*
 * How entries move. Each call makes one attempt at up to @n entries, the
 * first being number @seq of its ring, checks what it read, and returns how
 * many entries it moved, or -1 after side_fail().
 */
struct stress_io {
	const char *name;
	int (*submit)(struct side *sd, struct pvb_scring_prod *p, uint64_t seq, unsigned int n);
	int (*reap)(struct side *sd, struct pvb_scring_prod *p, uint64_t seq, unsigned int n);
	int (*consume)(struct side *sd, struct pvb_scring_cons *c, uint64_t seq, unsigned int n);
	int (*complete)(struct side *sd, struct pvb_scring_cons *c, uint64_t seq, unsigned int n);
};

struct stress_run {
	uint16_t esize;		/* of both rings */
	unsigned int words;	/* 64-bit words per entry */
	const struct stress_io *io;
	uint32_t slip;		/* both readers' slip (pvb_scring_*_set_slip) */
	void *area;
	size_t area_len;
	struct stress_peer peer;	/* the consumer: consumer_main(), in a thread or a child */
	char msg[STRESS_MSG_LEN];	/* the producer's reason for failing */
};

/* The geometry of every run; both ends also attach expecting exactly this. */
static struct pvb_scring_params
stress_params(uint16_t esize)
{
	struct pvb_scring_params p = {
		.sub_size = STRESS_RING,
		.cmp_size = STRESS_RING,
		.sub_esize = esize,
		.cmp_esize = esize,
		.start_index = STRESS_START,
	};

	return p;
}

/* A burst size in [1, STRESS_MAX_BURST], no more than @left. */
static unsigned int
side_burst(struct side *sd, uint64_t left)
{
	unsigned int n = 1 + side_rand(sd) % STRESS_MAX_BURST;

	return n < left ? n : (unsigned int)left;
}

/*
 * Entry k: word 0 is k ^ salt; a 16-byte entry adds its inverse as a check
 * word, so a torn or stale entry shows as well as a misplaced one.
 */
static void
encode(uint64_t *buf, unsigned int words, uint64_t seq, unsigned int n, uint64_t salt)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		buf[i * words] = (seq + i) ^ salt;
		if (words == 2)
			buf[i * words + 1] = ~buf[i * words];
	}
}

/* 0 if @buf holds entries seq.. seq+n-1, else side_fail() naming the first bad word. */
static int
verify(struct side *sd, const uint64_t *buf, uint64_t seq, unsigned int n, uint64_t salt,
       const char *what)
{
	uint64_t want[STRESS_MAX_BURST * STRESS_MAX_WORDS];
	unsigned int i, w = sd->run->words;

	encode(want, w, seq, n, salt);
	for (i = 0; i < n * w; i++)
		if (buf[i] != want[i])
			return side_fail(sd, "%s %llu, word %u: 0x%016llx, want 0x%016llx", what,
					 (unsigned long long)(seq + i / w), i % w,
					 (unsigned long long)buf[i], (unsigned long long)want[i]);
	return 0;
}

/* ----------------------------------------------------------------------------
 * Moving entries by copy
 */

static int
copy_submit(struct side *sd, struct pvb_scring_prod *p, uint64_t seq, unsigned int n)
{
	uint64_t buf[STRESS_MAX_BURST * STRESS_MAX_WORDS];
	int rc;

	encode(buf, sd->run->words, seq, n, 0);
	rc = side_rand(sd) & 1 ? pvb_scring_submit_bulk(p, buf, n) :
				 pvb_scring_submit_burst(p, buf, n);
	return rc < 0 ? side_fail(sd, "submit: ring broken (%d)", rc) : rc;
}

static int
copy_reap(struct side *sd, struct pvb_scring_prod *p, uint64_t seq, unsigned int n)
{
	uint64_t buf[STRESS_MAX_BURST * STRESS_MAX_WORDS];
	int rc;

	rc = side_rand(sd) & 1 ? pvb_scring_reap_bulk(p, buf, n) :
				 pvb_scring_reap_burst(p, buf, n);
	if (rc < 0)
		return side_fail(sd, "reap: ring broken (%d)", rc);
	return verify(sd, buf, seq, (unsigned int)rc, CMP_SALT, "completion") != 0 ? -1 : rc;
}

static int
copy_consume(struct side *sd, struct pvb_scring_cons *c, uint64_t seq, unsigned int n)
{
	uint64_t buf[STRESS_MAX_BURST * STRESS_MAX_WORDS];
	int rc;

	rc = side_rand(sd) & 1 ? pvb_scring_consume_bulk(c, buf, n) :
				 pvb_scring_consume_burst(c, buf, n);
	if (rc < 0)
		return side_fail(sd, "consume: ring broken (%d)", rc);
	return verify(sd, buf, seq, (unsigned int)rc, 0, "submission") != 0 ? -1 : rc;
}

static int
copy_complete(struct side *sd, struct pvb_scring_cons *c, uint64_t seq, unsigned int n)
{
	uint64_t buf[STRESS_MAX_BURST * STRESS_MAX_WORDS];
	int rc;

	encode(buf, sd->run->words, seq, n, CMP_SALT);
	rc = side_rand(sd) & 1 ? pvb_scring_complete_bulk(c, buf, n) :
				 pvb_scring_complete_burst(c, buf, n);
	return rc < 0 ? side_fail(sd, "complete: ring broken (%d)", rc) : rc;
}

static const struct stress_io copy_io = {
	.name = "copy",
	.submit = copy_submit,
	.reap = copy_reap,
	.consume = copy_consume,
	.complete = copy_complete,
};

/* ----------------------------------------------------------------------------
 * Moving entries in place
 */

/* How many of @got reserved or peeked entries to commit or release: all, 3 times in 4. */
static unsigned int
in_place_count(struct side *sd, unsigned int got)
{
	uint32_t r = side_rand(sd);

	return r % 4 != 0 ? got : (r >> 2) % (got + 1);
}

/* The writer's half: fill @got reserved slots with entries seq..; returns how many to commit. */
static int
in_place_fill(struct side *sd, void *(*slot)(const void *end, unsigned int i), const void *end,
	      uint64_t seq, unsigned int got, uint64_t salt)
{
	unsigned int i;
	void *to;

	for (i = 0; i < got; i++) {
		to = slot(end, i);
		if (to == NULL)
			return side_fail(sd, "slot %u of %u reserved is NULL", i, got);
		encode(to, sd->run->words, seq + i, 1, salt);
	}
	if (slot(end, got) != NULL)
		return side_fail(sd, "slot %u of %u reserved is not NULL", got, got);
	return (int)in_place_count(sd, got);
}

/* The reader's half: check @got peeked entries are seq..; returns how many to release. */
static int
in_place_check(struct side *sd, const void *(*slot)(const void *end, unsigned int i),
	       const void *end, uint64_t seq, unsigned int got, uint64_t salt, const char *what)
{
	const uint64_t *from;
	unsigned int i;

	for (i = 0; i < got; i++) {
		from = slot(end, i);
		if (from == NULL)
			return side_fail(sd, "%s slot %u of %u peeked is NULL", what, i, got);
		if (verify(sd, from, seq + i, 1, salt, what) != 0)
			return -1;
	}
	if (slot(end, got) != NULL)
		return side_fail(sd, "%s slot %u of %u peeked is not NULL", what, got, got);
	return (int)in_place_count(sd, got);
}

/* The slot accessors, with the end as an untyped pointer so one fill/check serves both. */
static void *
sub_wslot(const void *end, unsigned int i)
{
	return pvb_scring_submit_slot(end, i);
}

static void *
cmp_wslot(const void *end, unsigned int i)
{
	return pvb_scring_complete_slot(end, i);
}

static const void *
sub_rslot(const void *end, unsigned int i)
{
	return pvb_scring_consume_slot(end, i);
}

static const void *
cmp_rslot(const void *end, unsigned int i)
{
	return pvb_scring_reap_slot(end, i);
}

/* A commit or release of @k must return exactly @k. */
static int
in_place_end(struct side *sd, int rc, int k, const char *what)
{
	if (rc != k)
		return side_fail(sd, "%s %d: returned %d", what, k, rc);
	return k;
}

static int
in_place_submit(struct side *sd, struct pvb_scring_prod *p, uint64_t seq, unsigned int n)
{
	int got = pvb_scring_submit_reserve(p, n);
	int k, rc;

	if (got < 0)
		return side_fail(sd, "submit reserve: ring broken (%d)", got);
	k = in_place_fill(sd, sub_wslot, p, seq, (unsigned int)got, 0);
	if (k < 0)
		return -1;
	rc = pvb_scring_submit_commit(p, (unsigned int)k);
	return in_place_end(sd, rc, k, "submit commit");
}

static int
in_place_reap(struct side *sd, struct pvb_scring_prod *p, uint64_t seq, unsigned int n)
{
	int got = pvb_scring_reap_peek(p, n);
	int k, rc;

	if (got < 0)
		return side_fail(sd, "reap peek: ring broken (%d)", got);
	k = in_place_check(sd, cmp_rslot, p, seq, (unsigned int)got, CMP_SALT, "completion");
	if (k < 0)
		return -1;
	rc = pvb_scring_reap_release(p, (unsigned int)k);
	return in_place_end(sd, rc, k, "reap release");
}

static int
in_place_consume(struct side *sd, struct pvb_scring_cons *c, uint64_t seq, unsigned int n)
{
	int got = pvb_scring_consume_peek(c, n);
	int k, rc;

	if (got < 0)
		return side_fail(sd, "consume peek: ring broken (%d)", got);
	k = in_place_check(sd, sub_rslot, c, seq, (unsigned int)got, 0, "submission");
	if (k < 0)
		return -1;
	rc = pvb_scring_consume_release(c, (unsigned int)k);
	return in_place_end(sd, rc, k, "consume release");
}

static int
in_place_complete(struct side *sd, struct pvb_scring_cons *c, uint64_t seq, unsigned int n)
{
	int got = pvb_scring_complete_reserve(c, n);
	int k, rc;

	if (got < 0)
		return side_fail(sd, "complete reserve: ring broken (%d)", got);
	k = in_place_fill(sd, cmp_wslot, c, seq, (unsigned int)got, CMP_SALT);
	if (k < 0)
		return -1;
	rc = pvb_scring_complete_commit(c, (unsigned int)k);
	return in_place_end(sd, rc, k, "complete commit");
}

static const struct stress_io in_place_io = {
	.name = "in place",
	.submit = in_place_submit,
	.reap = in_place_reap,
	.consume = in_place_consume,
	.complete = in_place_complete,
};

/* ----------------------------------------------------------------------------
 * The workload
 */

/*
 * Complete entries seq.. seq+n-1, however long it takes. The consumer may
 * block here because the producer never blocks: it reaps in every round,
 * whether or not its own submission went in, so completion space always
 * comes back.
 */
static int
consumer_complete(struct side *sd, struct pvb_scring_cons *c, uint64_t seq, unsigned int n)
{
	unsigned int done = 0;
	int rc;

	while (done < n) {
		rc = sd->run->io->complete(sd, c, seq + done, n - done);
		if (rc < 0)
			return -1;
		done += (unsigned int)rc;
		if (rc == 0 && side_idle(sd) != 0)
			return -1;
	}
	return 0;
}

static int
consumer_loop(struct side *sd, struct pvb_scring_cons *c)
{
	uint64_t seq = 0;
	int rc;

	while (seq < STRESS_ENTRIES) {
		rc = sd->run->io->consume(sd, c, seq, side_burst(sd, STRESS_ENTRIES - seq));
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (side_idle(sd) != 0)
				return -1;
			continue;
		}
		if (consumer_complete(sd, c, seq, (unsigned int)rc) != 0)
			return -1;
		seq += (unsigned int)rc;
	}
	return 0;
}

/* The consumer, wherever it runs: attach and run; stress_peer_run() reports. */
static int
consumer_main(struct stress_run *run)
{
	struct pvb_scring_params x;
	struct pvb_scring_cons c;
	struct side sd;
	int rc;

	side_init(&sd, &run->peer, stress_peer_stopped, run->peer.ctl->msg, 0x2545f491u);
	x = stress_params(run->esize);
	rc = pvb_scring_attach_cons(&c, run->area, run->area_len, &x, sd.msg, STRESS_MSG_LEN);
	if (rc == 0)
		rc = pvb_scring_consume_set_slip(&c, run->slip);
	if (rc == 0)
		rc = consumer_loop(&sd, &c);
	return rc;
}

static int
producer_loop(struct side *sd, struct pvb_scring_prod *p)
{
	const struct stress_io *io = sd->run->io;
	uint64_t submitted = 0, reaped = 0;
	unsigned int n;
	int s, r;

	while (reaped < STRESS_ENTRIES) {
		s = 0;
		if (submitted < STRESS_ENTRIES) {
			n = side_burst(sd, STRESS_ENTRIES - submitted);
			s = io->submit(sd, p, submitted, n);
		}
		r = io->reap(sd, p, reaped, side_burst(sd, STRESS_ENTRIES - reaped));
		if (s < 0 || r < 0)
			return -1;
		submitted += (unsigned int)s;
		reaped += (unsigned int)r;
		if (s == 0 && r == 0 && side_idle(sd) != 0)
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * Fixture and the test template
 */

/* One MAP_SHARED memfd mapping for the suite: the largest area, then the stress_peer_ctl. */
struct stress_fx {
	uint8_t *map;
	size_t map_len;
	size_t ctl_off;
};

static int
suite_setup(void **state)
{
	static struct stress_fx fx;
	struct pvb_scring_params p = stress_params(PVB_SCRING_ENTRY_LARGE);
	int fd;

	fx.ctl_off = pvb_scring_area_size(&p);
	fx.map_len = fx.ctl_off + sizeof(struct stress_peer_ctl);
	fd = memfd_create("scring-stress", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)fx.map_len) == 0)
		fx.map = mmap(NULL, fx.map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);	/* the mapping keeps the memory */
	if (fx.map == NULL || fx.map == MAP_FAILED)
		return -1;
	*state = &fx;
	return 0;
}

static int
suite_teardown(void **state)
{
	struct stress_fx *fx = *state;

	return munmap(fx->map, fx->map_len);
}

/* The workload template: one full run with the consumer placed by @mode, entries moved by @io. */
static void
stress(void **state, const struct stress_mode *mode, const struct stress_io *io, uint16_t esize,
       uint32_t slip)
{
	const uint32_t end = (uint32_t)(STRESS_START + STRESS_ENTRIES);
	struct pvb_scring_params p = stress_params(esize);
	struct stress_fx *fx = *state;
	struct stress_run run = {
		.esize = esize,
		.words = esize / sizeof(uint64_t),
		.io = io,
		.slip = slip,
		.area = fx->map,
		.area_len = pvb_scring_area_size(&p),
		.peer = {
			.main = consumer_main,
			.run = &run,
			.ctl = (struct stress_peer_ctl *)(void *)(fx->map + fx->ctl_off),
		},
	};
	struct pvb_scring_prod prod;
	struct pvb_scring_info info;
	struct side sd;
	uint64_t t0, ns;
	int prc, crc;

	memset(run.peer.ctl, 0, sizeof(*run.peer.ctl));
	assert_int_equal(pvb_scring_format(run.area, run.area_len, &p), 0);
	assert_int_equal(pvb_scring_attach_prod(&prod, run.area, run.area_len, &p, NULL, 0), 0);
	assert_int_equal(pvb_scring_reap_set_slip(&prod, slip), 0);
	side_init(&sd, &run.peer, mode->peer_lost, run.msg, 0x9e3779b9u);

	/* no cmocka assertion until finish(): a failure must not leave the consumer running */
	t0 = now_ns();
	if (mode->start(&run.peer) != 0)
		fail_msg("%s: cannot start the consumer", mode->name);
	prc = producer_loop(&sd, &prod);
	crc = mode->finish(&run.peer, prc != 0);
	ns = now_ns() - t0;
	if (prc != 0 || crc != 0)
		fail_msg("%s, %s, %u-byte entries, slip %u: producer: %s; consumer: %s",
			 mode->name, io->name, esize, slip, prc != 0 ? run.msg : "ok",
			 crc != 0 ? run.peer.ctl->msg : "ok");

	pvb_scring_prod_info(&prod, &info);
	assert_int_equal(info.fault, PVB_SCRING_OK);
	assert_int_equal(info.submit_head, end);
	assert_int_equal(info.submit_tail, end);
	assert_int_equal(info.complete_head, end);
	assert_int_equal(info.complete_tail, end);
	printf("scring %s, %s, %u-byte entries, slip %u: %u round trips in %.2f s, %.1f M/s\n",
	       mode->name, io->name, esize, slip, STRESS_ENTRIES, (double)ns / 1e9,
	       STRESS_ENTRIES * 1e3 / (double)ns);
}

static void
test_thread_small(void **state)
{
	stress(state, &stress_thread_mode, &copy_io, PVB_SCRING_ENTRY_SMALL, 0);
}

static void
test_thread_large(void **state)
{
	stress(state, &stress_thread_mode, &copy_io, PVB_SCRING_ENTRY_LARGE, 0);
}

static void
test_process_small(void **state)
{
	stress(state, &stress_process_mode, &copy_io, PVB_SCRING_ENTRY_SMALL, 0);
}

static void
test_process_large(void **state)
{
	stress(state, &stress_process_mode, &copy_io, PVB_SCRING_ENTRY_LARGE, 0);
}

static void
test_thread_in_place_small(void **state)
{
	stress(state, &stress_thread_mode, &in_place_io, PVB_SCRING_ENTRY_SMALL, 0);
}

static void
test_thread_in_place_large(void **state)
{
	stress(state, &stress_thread_mode, &in_place_io, PVB_SCRING_ENTRY_LARGE, 0);
}

static void
test_process_in_place_small(void **state)
{
	stress(state, &stress_process_mode, &in_place_io, PVB_SCRING_ENTRY_SMALL, 0);
}

static void
test_process_in_place_large(void **state)
{
	stress(state, &stress_process_mode, &in_place_io, PVB_SCRING_ENTRY_LARGE, 0);
}

/* Readers that slip (doc/scring.md): the same checks, with skipped polls in the mix. */
static void
test_thread_small_slip(void **state)
{
	stress(state, &stress_thread_mode, &copy_io, PVB_SCRING_ENTRY_SMALL, 64);
}

static void
test_process_in_place_large_slip(void **state)
{
	stress(state, &stress_process_mode, &in_place_io, PVB_SCRING_ENTRY_LARGE, 64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_small),
		cmocka_unit_test(test_thread_large),
		cmocka_unit_test(test_process_small),
		cmocka_unit_test(test_process_large),
		cmocka_unit_test(test_thread_in_place_small),
		cmocka_unit_test(test_thread_in_place_large),
		cmocka_unit_test(test_process_in_place_small),
		cmocka_unit_test(test_process_in_place_large),
		cmocka_unit_test(test_thread_small_slip),
		cmocka_unit_test(test_process_in_place_large_slip),
	};

	return STRESS_RUN_GROUP(tests, suite_setup, suite_teardown);
}
