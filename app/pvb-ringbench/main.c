/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * pvb-ringbench: round-trip latency and streaming throughput of every ring
 * kind between every pair of enabled lcores, beside the hardware floor and
 * DPDK's rte_ring measured in the same run, interleaved over several rounds.
 *
 *   pvb-ringbench [EAL args] -- [--kinds LIST] [--bursts LIST] [--rounds N]
 *                 [--samples N] [--stream-ms MS] [--ring-size N] [--slip N]
 *                 [--json FILE] [--plot DIR] [--quiet]
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "pvb_scring.h"
#include "rb_run.h"

/* Every kind compiled in, in report order. Add new ring kinds here. */
static const struct rb_kind *const all_kinds[] = {
	&rb_kind_floor,
	&rb_kind_scring,
	&rb_kind_rte_ring,
	&rb_kind_rte_ring16,
	&rb_kind_virtq,
	&rb_kind_vmbus64,
	&rb_kind_vmbus64pp,
	&rb_kind_vmbus1500,
	&rb_kind_memcpy,
};
_Static_assert(RTE_DIM(all_kinds) <= RB_MAX_KINDS, "raise RB_MAX_KINDS");

struct rb_opts {
	struct rb_params p;
	const struct rb_kind *kinds[RB_MAX_KINDS];
	unsigned int nb_kinds;
	const char *json;
	const char *plot;
};

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args] -- [options]\n"
	       "  --kinds LIST     ring kinds, comma-separated (default: all:", prog);
	for (size_t i = 0; i < RTE_DIM(all_kinds); i++)
		printf("%s%s", i ? "," : " ", all_kinds[i]->name);
	printf(")\n"
	       "  --bursts LIST    streaming burst sizes (default: 1,8,32,256; max %u)\n"
	       "  --rounds N       rounds interleaving the kinds (default: 5, max %u)\n"
	       "  --samples N      round trips per latency run (default: %u)\n"
	       "  --stream-ms MS   duration of one streaming run (default: %u; vmbus, virtq,\n"
	       "                   rte_ring16 and memcpy kinds: MS / %u)\n"
	       "  --ring-size N    entries per ring direction, power of two (default: %u; vmbus\n"
	       "                   kinds: a data area holding N packets; virtq: the queue size,\n"
	       "                   at most 32768)\n"
	       "  --slip N         scring's reader slip, calls (default: %u; 0: off; see\n"
	       "                   doc/scring.md)\n"
	       "  --json FILE      write all figures as JSON\n"
	       "  --plot DIR       write gnuplot data and render PNG plots into DIR\n"
	       "  --quiet          no per-run progress lines\n"
	       "Every pair of enabled lcores is measured (EAL -l/--lcores); the first of a\n"
	       "pair sends, the second echoes or receives.\n",
	       PVB_RB_MAX_BURST, RB_MAX_ROUNDS, PVB_RB_DEFAULT_LAT_SAMPLES,
	       PVB_RB_DEFAULT_STREAM_MS, RB_SHORT_STREAM_DIV, PVB_RB_DEFAULT_RING_SIZE,
	       RB_DEFAULT_SLIP);
}

static int
parse_u32(const char *opt, const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "pvb-ringbench: %s: '%s' is not a number in [%u, %u]\n", opt, s,
			lo, hi);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int
parse_bursts(const char *s, struct rb_params *p)
{
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	p->nb_bursts = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (p->nb_bursts == RB_MAX_BURSTS) {
			fprintf(stderr, "pvb-ringbench: --bursts: at most %u sizes\n",
				RB_MAX_BURSTS);
			return -EINVAL;
		}
		if (parse_u32("--bursts", tok, 1, PVB_RB_MAX_BURST, &p->bursts[p->nb_bursts]))
			return -EINVAL;
		p->nb_bursts++;
	}
	return p->nb_bursts ? 0 : -EINVAL;
}

static const struct rb_kind *
kind_by_name(const char *name)
{
	for (size_t i = 0; i < RTE_DIM(all_kinds); i++)
		if (strcmp(all_kinds[i]->name, name) == 0)
			return all_kinds[i];
	return NULL;
}

/* Keep report order (all_kinds) whatever order the user lists them in. */
static int
parse_kinds(const char *s, struct rb_opts *o)
{
	bool want[RTE_DIM(all_kinds)] = { false };
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct rb_kind *k = kind_by_name(tok);

		if (k == NULL) {
			fprintf(stderr, "pvb-ringbench: --kinds: unknown kind '%s'\n", tok);
			return -EINVAL;
		}
		for (size_t i = 0; i < RTE_DIM(all_kinds); i++)
			want[i] |= all_kinds[i] == k;
	}
	o->nb_kinds = 0;
	for (size_t i = 0; i < RTE_DIM(all_kinds); i++)
		if (want[i])
			o->kinds[o->nb_kinds++] = all_kinds[i];
	return 0;
}

static void
defaults(struct rb_opts *o)
{
	static const uint32_t bursts[] = { 1, 8, 32, 256 };

	memset(o, 0, sizeof(*o));
	o->p.ring_size = PVB_RB_DEFAULT_RING_SIZE;
	o->p.samples = PVB_RB_DEFAULT_LAT_SAMPLES;
	o->p.stream_ms = PVB_RB_DEFAULT_STREAM_MS;
	o->p.rounds = 5;
	o->p.slip = RB_DEFAULT_SLIP;
	o->p.nb_bursts = RTE_DIM(bursts);
	memcpy(o->p.bursts, bursts, sizeof(bursts));
	for (size_t i = 0; i < RTE_DIM(all_kinds); i++)
		o->kinds[o->nb_kinds++] = all_kinds[i];
}

static int
parse_args(int argc, char **argv, struct rb_opts *o)
{
	enum { O_KINDS = 256, O_BURSTS, O_ROUNDS, O_SAMPLES, O_STREAM_MS, O_RING, O_JSON,
	       O_PLOT, O_QUIET, O_HELP, O_SLIP };
	static const struct option lopts[] = {
		{ "kinds", required_argument, NULL, O_KINDS },
		{ "bursts", required_argument, NULL, O_BURSTS },
		{ "rounds", required_argument, NULL, O_ROUNDS },
		{ "samples", required_argument, NULL, O_SAMPLES },
		{ "stream-ms", required_argument, NULL, O_STREAM_MS },
		{ "ring-size", required_argument, NULL, O_RING },
		{ "slip", required_argument, NULL, O_SLIP },
		{ "json", required_argument, NULL, O_JSON },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;

	defaults(o);
	optind = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case O_KINDS: rc = parse_kinds(optarg, o); break;
		case O_BURSTS: rc = parse_bursts(optarg, &o->p); break;
		case O_ROUNDS:
			rc = parse_u32("--rounds", optarg, 1, RB_MAX_ROUNDS, &o->p.rounds);
			break;
		case O_SAMPLES:
			rc = parse_u32("--samples", optarg, 1, 100000000, &o->p.samples);
			break;
		case O_STREAM_MS:
			rc = parse_u32("--stream-ms", optarg, 1, 600000, &o->p.stream_ms);
			break;
		case O_RING:
			rc = parse_u32("--ring-size", optarg, 2, PVB_SCRING_MAX_ENTRIES,
				       &o->p.ring_size);
			break;
		case O_SLIP:
			rc = parse_u32("--slip", optarg, 0, PVB_SCRING_MAX_SLIP, &o->p.slip);
			break;
		case O_JSON: o->json = optarg; break;
		case O_PLOT: o->plot = optarg; break;
		case O_QUIET: o->p.quiet = true; break;
		case 'h':
		case O_HELP: usage(argv[0]); exit(0);
		default: rc = -EINVAL; break;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "pvb-ringbench: unexpected argument '%s'\n", argv[optind]);
		rc = -EINVAL;
	}
	if (rc == 0 && (o->p.ring_size & (o->p.ring_size - 1)) != 0) {
		fprintf(stderr, "pvb-ringbench: --ring-size %u is not a power of two\n",
			o->p.ring_size);
		rc = -EINVAL;
	}
	o->p.warmup = RTE_MIN(o->p.samples, 10000u);
	return rc;
}

/* Results for every (pair, kind), pairs outer. */
static struct rb_result *
make_results(const struct rb_opts *o, unsigned int *nb)
{
	unsigned int a, b, k, n = 0, pairs = 0;
	struct rb_result *res;

	RTE_LCORE_FOREACH(a)
		RTE_LCORE_FOREACH(b)
			pairs += b > a;
	res = calloc((size_t)pairs * o->nb_kinds + 1, sizeof(*res));
	if (res == NULL)
		return NULL;
	RTE_LCORE_FOREACH(a) {
		RTE_LCORE_FOREACH(b) {
			if (b <= a)
				continue;
			for (k = 0; k < o->nb_kinds; k++, n++) {
				res[n].kind = o->kinds[k];
				res[n].lcore_a = a;
				res[n].lcore_b = b;
			}
		}
	}
	*nb = n;
	return res;
}

static void
progress(const struct rb_params *p, const struct rb_result *x, uint32_t round, const char *what,
	 int rc)
{
	if (p->quiet && rc == 0)
		return;
	fprintf(rc ? stderr : stdout, "  round %u/%u %-9s %u-%u %-12s %s\n", round + 1, p->rounds,
		x->kind->name, x->lcore_a, x->lcore_b, what, rc ? strerror(-rc) : "ok");
}

/* One round: latency of every kind, then each burst size for every kind. */
static void
run_round(struct rb_pair_ctx *ctx, unsigned int n, const struct rb_params *p, uint32_t round,
	  uint64_t hz)
{
	unsigned int i, b;
	char what[32];
	int rc;

	for (i = 0; i < n; i++) {
		if (ctx[i].res->rc != 0)
			continue;
		rc = rb_run_latency(&ctx[i], round);
		progress(p, ctx[i].res, round, "latency", rc);
		ctx[i].res->rc = rc;
	}
	for (b = 0; b < p->nb_bursts; b++) {
		for (i = 0; i < n; i++) {
			if (ctx[i].res->rc != 0 || ctx[i].res->kind->floor)
				continue;
			rc = rb_run_stream(&ctx[i], round, b, hz);
			snprintf(what, sizeof(what), "stream b%u", p->bursts[b]);
			progress(p, ctx[i].res, round, what, rc);
			ctx[i].res->rc = rc;
		}
	}
	for (i = 0; i < n; i++)
		if (ctx[i].res->rc == 0)
			ctx[i].res->rounds_done = round + 1;
}

static void
on_signal(int sig __rte_unused)
{
	/* relaxed: every spin loop polls it; nothing else is published with it */
	pvb_store_relaxed(&rb_stop_requested, 1);
}

static int
run_all(const struct rb_opts *o, struct rb_report *rep)
{
	struct rb_pair_ctx *ctx = calloc(rep->nb_results, sizeof(*ctx));
	unsigned int i;
	uint32_t r;
	int rc = 0;

	if (ctx == NULL)
		return -ENOMEM;
	for (i = 0; i < rep->nb_results && rc == 0; i++)
		rc = rb_pair_ctx_init(&ctx[i], &o->p, &rep->results[i], i);
	for (r = 0; rc == 0 && r < o->p.rounds; r++) {
		run_round(ctx, rep->nb_results, &o->p, r, rep->tsc_hz);
		/* relaxed: see on_signal() */
		if (pvb_load_relaxed(&rb_stop_requested))
			rc = -EINTR;
	}
	for (i = 0; i < rep->nb_results; i++) {
		rb_pair_ctx_fini(&ctx[i]);
		if (rc == 0 && rep->results[i].rc != 0)
			rc = rep->results[i].rc;
	}
	free(ctx);
	return rc;
}

static int
write_outputs(const struct rb_opts *o, const struct rb_report *rep)
{
	int rc = 0, e;

	rb_print_table(rep, stdout);
	if (o->json != NULL && (e = rb_write_json(rep, o->json)) != 0) {
		fprintf(stderr, "pvb-ringbench: cannot write %s: %s\n", o->json, strerror(-e));
		rc = e;
	}
	if (o->plot != NULL && (e = rb_write_plots(rep, o->plot)) != 0) {
		fprintf(stderr, "pvb-ringbench: plots in %s failed: %s\n", o->plot, strerror(-e));
		rc = e;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct rb_report rep = { 0 };
	struct rb_opts o;
	unsigned int i;
	int n, rc;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "pvb-ringbench: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (parse_args(argc - n, argv + n, &o) != 0) {
		usage(argv[0]);
		rte_eal_cleanup();
		return 2;
	}
	rep.p = &o.p;
	rep.tsc_hz = rte_get_tsc_hz();
	rep.nb_lcores = rte_lcore_count();
	if (rep.nb_lcores < 2) {
		fprintf(stderr, "pvb-ringbench: needs at least 2 lcores (EAL -l 0,1)\n");
		rte_eal_cleanup();
		return 2;
	}
	rep.results = make_results(&o, &rep.nb_results);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = rep.results == NULL ? -ENOMEM : run_all(&o, &rep);
	if (rc != 0)
		fprintf(stderr, "pvb-ringbench: stopped: %s\n", strerror(-rc));
	if (rep.results != NULL && write_outputs(&o, &rep) != 0 && rc == 0)
		rc = -EIO;
	for (i = 0; i < rep.nb_results; i++)
		free(rep.results[i].samples);
	free(rep.results);
	rte_eal_cleanup();
	return rc == 0 ? 0 : 1;
}
