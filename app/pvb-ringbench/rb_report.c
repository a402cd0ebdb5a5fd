/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* Output: the terminal table, JSON, and gnuplot PNGs. */

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "rb_result.h"

extern char **environ;

static const char *const lat_keys[RB_NB_LAT_STATS] = { "p50", "p99", "p999", "max" };

/* The targets the foundation issue sets, checked from the same run's figures. */
#define RB_TARGET_STREAM_BURST	32
#define RB_TARGET_STREAM_RATIO	2.0	/* scring >= 2.0x rte_ring elements/s at burst 32 */
#define RB_TARGET_LAT_RATIO	1.15	/* scring p50 round trip <= 1.15x the floor */

static struct rb_spread
lat_spread(const struct rb_result *x, enum rb_lat_stat s)
{
	double v[RB_MAX_ROUNDS];
	uint32_t i;

	for (i = 0; i < x->rounds_done; i++)
		v[i] = x->lat[i][s];
	return rb_spread_of(v, x->rounds_done);
}

static bool
same_pair(const struct rb_result *a, const struct rb_result *b)
{
	return a->lcore_a == b->lcore_a && a->lcore_b == b->lcore_b;
}

static void
print_latency(const struct rb_report *r, const struct rb_result *first, unsigned int n,
	      FILE *f)
{
	unsigned int i, s;

	fprintf(f, "\nRound-trip latency, lcore %u <-> %u, ns (cycles), median of %u rounds\n",
		first->lcore_a, first->lcore_b, r->p->rounds);
	fprintf(f, "  %-9s %-26s %-15s %-15s %-15s\n", "kind", "p50 [min..max]", "p99",
		"p99.9", "max");
	for (i = 0; i < n; i++) {
		const struct rb_result *x = &first[i];
		struct rb_spread p50 = lat_spread(x, RB_P50);
		char cell[64];

		if (x->rc != 0) {
			fprintf(f, "  %-9s failed: %s\n", x->kind->name, strerror(-x->rc));
			continue;
		}
		snprintf(cell, sizeof(cell), "%.0f (%.0f) [%.0f..%.0f]", rb_cycles_to_ns(r, p50.med),
			 p50.med, rb_cycles_to_ns(r, p50.min), rb_cycles_to_ns(r, p50.max));
		fprintf(f, "  %-9s %-26s", x->kind->name, cell);
		for (s = RB_P99; s < RB_NB_LAT_STATS; s++) {
			double c = lat_spread(x, s).med;

			snprintf(cell, sizeof(cell), "%.0f (%.0f)", rb_cycles_to_ns(r, c), c);
			fprintf(f, " %-15s", cell);
		}
		fprintf(f, "\n");
	}
}

static void
print_stream(const struct rb_report *r, const struct rb_result *first, unsigned int n, FILE *f)
{
	unsigned int i, b;

	fprintf(f, "\nStreaming lcore %u -> %u, Melem/s [min..max] and receiver cycles/elem\n",
		first->lcore_a, first->lcore_b);
	fprintf(f, "  %-9s", "kind");
	for (b = 0; b < r->p->nb_bursts; b++) {
		char h[32];

		snprintf(h, sizeof(h), "burst %u", r->p->bursts[b]);
		fprintf(f, " %-25s", h);
	}
	fprintf(f, "\n");
	for (i = 0; i < n; i++) {
		const struct rb_result *x = &first[i];

		if (x->kind->floor || x->rc != 0)
			continue;
		fprintf(f, "  %-9s", x->kind->name);
		for (b = 0; b < r->p->nb_bursts; b++) {
			struct rb_spread m = rb_spread_of(x->rate[b], x->rounds_done);
			struct rb_spread c = rb_spread_of(x->cpe[b], x->rounds_done);
			char cell[64];

			snprintf(cell, sizeof(cell), "%.1f [%.1f..%.1f] %.1fc", m.med / 1e6,
				 m.min / 1e6, m.max / 1e6, c.med);
			fprintf(f, " %-25s", cell);
		}
		fprintf(f, "\n");
	}
}

static void
print_ratio(FILE *f, const char *what, bool ok, struct rb_spread s, const char *target,
	    bool met)
{
	if (!ok) {
		fprintf(f, "  %-44s not measured in this run\n", what);
		return;
	}
	fprintf(f, "  %-44s %.2fx [%.2f..%.2f]  target %s: %s\n", what, s.med, s.min, s.max,
		target, met ? "met" : "MISSED");
}

static void
print_ratios(const struct rb_report *r, const struct rb_result *x, FILE *f)
{
	const struct rb_result *sc = rb_find(r, "scring", x->lcore_a, x->lcore_b);
	const struct rb_result *rt = rb_find(r, "rte_ring", x->lcore_a, x->lcore_b);
	const struct rb_result *fl = rb_find(r, "floor", x->lcore_a, x->lcore_b);
	int bi = rb_burst_index(r->p, RB_TARGET_STREAM_BURST);
	struct rb_spread s;
	bool ok;

	fprintf(f, "\nRatios, lcore %u/%u, median of per-round ratios [min..max]\n",
		x->lcore_a, x->lcore_b);
	ok = rb_ratio_stream(r, sc, rt, bi, &s);
	print_ratio(f, "scring / rte_ring streaming, burst 32", ok, s, ">= 2.00x",
		    ok && s.med >= RB_TARGET_STREAM_RATIO);
	ok = rb_ratio_lat(r, sc, fl, RB_P50, &s);
	print_ratio(f, "scring / floor p50 round trip", ok, s, "<= 1.15x",
		    ok && s.med <= RB_TARGET_LAT_RATIO);
	ok = rb_ratio_lat(r, rt, fl, RB_P50, &s);
	if (ok)
		fprintf(f, "  %-44s %.2fx [%.2f..%.2f]\n", "rte_ring / floor p50 round trip",
			s.med, s.min, s.max);
}

void
rb_print_table(const struct rb_report *r, FILE *f)
{
	unsigned int i = 0, n;

	fprintf(f, "\npvb-ringbench: %u lcores, TSC %.0f MHz, %u-entry rings, %u rounds, "
		"%u round trips per latency run, %u ms per streaming run\n",
		r->nb_lcores, r->tsc_hz / 1e6, r->p->ring_size, r->p->rounds, r->p->samples,
		r->p->stream_ms);
	while (i < r->nb_results) {
		for (n = 1; i + n < r->nb_results && same_pair(&r->results[i], &r->results[i + n]);)
			n++;
		print_latency(r, &r->results[i], n, f);
		print_stream(r, &r->results[i], n, f);
		print_ratios(r, &r->results[i], f);
		i += n;
	}
	fflush(f);
}

static void
json_spread(FILE *f, const char *key, struct rb_spread s, double scale, const char *sep)
{
	fprintf(f, "\"%s\": {\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}%s", key,
		s.med * scale, s.min * scale, s.max * scale, sep);
}

static void
json_ratio(FILE *f, const char *key, bool ok, struct rb_spread s, double target,
	   const char *sep)
{
	if (!ok) {
		fprintf(f, "    \"%s\": null%s\n", key, sep);
		return;
	}
	fprintf(f, "    \"%s\": {\"median\": %.4f, \"min\": %.4f, \"max\": %.4f, "
		"\"target\": %.2f}%s\n", key, s.med, s.min, s.max, target, sep);
}

static void
json_result(const struct rb_report *r, const struct rb_result *x, FILE *f, const char *sep)
{
	double ns = 1e9 / (double)r->tsc_hz;
	unsigned int s, b;

	fprintf(f, "    {\"kind\": \"%s\", \"lcores\": [%u, %u], \"rounds\": %u, \"error\": %d,\n",
		x->kind->name, x->lcore_a, x->lcore_b, x->rounds_done, x->rc);
	fprintf(f, "     \"latency_ns\": {");
	for (s = 0; s < RB_NB_LAT_STATS; s++)
		json_spread(f, lat_keys[s], lat_spread(x, s), ns,
			    s + 1 < RB_NB_LAT_STATS ? ", " : "");
	fprintf(f, "},\n     \"latency_cycles\": {");
	for (s = 0; s < RB_NB_LAT_STATS; s++)
		json_spread(f, lat_keys[s], lat_spread(x, s), 1,
			    s + 1 < RB_NB_LAT_STATS ? ", " : "");
	fprintf(f, "},\n     \"stream\": [");
	for (b = 0; !x->kind->floor && b < r->p->nb_bursts; b++) {
		fprintf(f, "%s{\"burst\": %u, ", b ? ", " : "", r->p->bursts[b]);
		json_spread(f, "elements_per_s", rb_spread_of(x->rate[b], x->rounds_done), 1, ", ");
		json_spread(f, "cycles_per_element", rb_spread_of(x->cpe[b], x->rounds_done), 1,
			    "}");
	}
	fprintf(f, "]}%s\n", sep);
}

int
rb_write_json(const struct rb_report *r, const char *path)
{
	const struct rb_result *x0 = r->nb_results ? &r->results[0] : NULL;
	unsigned int a = x0 ? x0->lcore_a : 0, b = x0 ? x0->lcore_b : 0, i;
	FILE *f = fopen(path, "w");
	struct rb_spread s;
	bool ok;

	if (f == NULL)
		return -errno;
	fprintf(f, "{\n  \"tool\": \"pvb-ringbench\",\n  \"tsc_hz\": %llu,\n  \"lcores\": %u,\n",
		(unsigned long long)r->tsc_hz, r->nb_lcores);
	fprintf(f, "  \"params\": {\"ring_size\": %u, \"samples\": %u, \"warmup\": %u, "
		"\"stream_ms\": %u, \"rounds\": %u},\n", r->p->ring_size, r->p->samples,
		r->p->warmup, r->p->stream_ms, r->p->rounds);
	fprintf(f, "  \"results\": [\n");
	for (i = 0; i < r->nb_results; i++)
		json_result(r, &r->results[i], f, i + 1 < r->nb_results ? "," : "");
	fprintf(f, "  ],\n  \"ratios\": {\n    \"lcores\": [%u, %u],\n", a, b);
	ok = rb_ratio_stream(r, rb_find(r, "scring", a, b), rb_find(r, "rte_ring", a, b),
			     rb_burst_index(r->p, RB_TARGET_STREAM_BURST), &s);
	json_ratio(f, "scring_vs_rte_ring_stream_b32", ok, s, RB_TARGET_STREAM_RATIO, ",");
	ok = rb_ratio_lat(r, rb_find(r, "scring", a, b), rb_find(r, "floor", a, b), RB_P50, &s);
	json_ratio(f, "scring_vs_floor_p50", ok, s, RB_TARGET_LAT_RATIO, "");
	fprintf(f, "  }\n}\n");
	return fclose(f) == 0 ? 0 : -errno;
}

/* ---- plots ---------------------------------------------------------------- */

static FILE *
open_in(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fopen(path, "w");
}

/* Smallest step between distinct samples: the TSC's resolution as we see it. */
static double
tsc_tick(const struct rb_result *first, unsigned int n)
{
	uint64_t tick = UINT64_MAX;
	unsigned int i;
	uint32_t k;

	for (i = 0; i < n; i++)
		for (k = 1; k < first[i].nb_samples; k++)
			if (first[i].samples[k] != first[i].samples[k - 1])
				tick = RTE_MIN(tick, first[i].samples[k] - first[i].samples[k - 1]);
	return tick == UINT64_MAX ? 1.0 : (double)tick;
}

/* Histogram of the last round's round trips, one column per kind (first pair). */
static void
write_hist(const struct rb_report *r, const struct rb_result *first, unsigned int n, FILE *f)
{
	double hi = 0, bin, tick;
	unsigned int i, k;
	uint32_t *pos = calloc(n, sizeof(*pos));

	for (i = 0; i < n; i++)
		if (first[i].nb_samples)
			hi = RTE_MAX(hi, rb_percentile(first[i].samples, first[i].nb_samples, 99.9));
	/* whole TSC ticks per bin: a virtual TSC may count in steps of many cycles */
	tick = tsc_tick(first, n);
	bin = tick * ceil(RTE_MAX(1.0, hi / 60) / tick);
	fprintf(f, "ns");	/* column heads: gnuplot's columnhead titles */
	for (i = 0; i < n; i++)
		fprintf(f, " %s", first[i].kind->name);
	fprintf(f, "\n");
	for (k = 0; pos != NULL && k * bin <= hi; k++) {
		fprintf(f, "%.1f", rb_cycles_to_ns(r, (k + 0.5) * bin));
		for (i = 0; i < n; i++) {
			uint32_t c = 0;

			while (pos[i] < first[i].nb_samples &&
			       first[i].samples[pos[i]] < (k + 1) * bin) {
				pos[i]++;
				c++;
			}
			fprintf(f, " %.5f", first[i].nb_samples ? (double)c / first[i].nb_samples : 0);
		}
		fprintf(f, "\n");
	}
	free(pos);
}

static void
write_stream(const struct rb_report *r, const struct rb_result *first, unsigned int n, FILE *f)
{
	unsigned int i, b;

	fprintf(f, "burst");
	for (i = 0; i < n; i++)
		if (!first[i].kind->floor)
			fprintf(f, " %s %s_min %s_max", first[i].kind->name, first[i].kind->name,
				first[i].kind->name);
	fprintf(f, "\n");
	for (b = 0; b < r->p->nb_bursts; b++) {
		fprintf(f, "%u", r->p->bursts[b]);
		for (i = 0; i < n; i++) {
			struct rb_spread s;

			if (first[i].kind->floor)
				continue;
			s = rb_spread_of(first[i].rate[b], first[i].rounds_done);
			fprintf(f, " %.3f %.3f %.3f", s.med / 1e6, s.min / 1e6, s.max / 1e6);
		}
		fprintf(f, "\n");
	}
}

/* p50 round trip for every lcore pair, as a matrix (one block per kind). */
static void
write_matrix(const struct rb_report *r, FILE *f, const char *kind)
{
	unsigned int a, b;

	for (a = 0; a < RTE_MAX_LCORE; a++) {
		bool row = false;

		for (b = 0; b < RTE_MAX_LCORE; b++) {
			const struct rb_result *x = rb_find(r, kind, RTE_MIN(a, b), RTE_MAX(a, b));

			if (x == NULL || x->rc != 0 || a == b)
				continue;
			fprintf(f, "%u %u %.1f\n", a, b,
				rb_cycles_to_ns(r, lat_spread(x, RB_P50).med));
			row = true;
		}
		if (row)
			fprintf(f, "\n");
	}
}

static const char gp_script[] =
	"set terminal pngcairo size 1000,600 noenhanced\n"
	"set grid\n"
	"set key autotitle columnhead\n"
	"set output 'latency-hist.png'\n"
	"set title 'Round-trip latency histogram, lcore %u <-> %u (last round)'\n"
	"set xlabel 'round trip (ns)'\n"
	"set ylabel 'fraction of samples'\n"
	"plot for [i=2:%u] 'latency-hist.dat' using 1:i with steps lw 2\n"
	"set output 'stream.png'\n"
	"set title 'Streaming lcore %u -> %u (median, min..max over rounds)'\n"
	"set xlabel 'burst'\n"
	"set ylabel 'Melem/s'\n"
	"set logscale x 2\n"
	"plot for [i=0:%u] 'stream.dat' using 1:(column(2+3*i)):(column(3+3*i)):(column(4+3*i)) "
	"with yerrorlines lw 2 title columnhead(2+3*i)\n"
	"unset logscale x\n"
	"set output 'latency-matrix.png'\n"
	"set title 'scring p50 round trip per lcore pair (ns)'\n"
	"set xlabel 'lcore'\n"
	"set ylabel 'lcore'\n"
	"set key noautotitle\n"
	"set cbrange [0:*]\n"
	"set offsets 0.5, 0.5, 0.5, 0.5\n"
	"set xtics 1\n"
	"set ytics 1\n"
	"set size ratio -1\n"
	"plot 'latency-matrix.dat' using 1:2:3 with points pt 5 ps 12 lc palette, "
	"'' using 1:2:(sprintf('%%.0f',$3)) with labels tc 'white'\n";

static int
run_gnuplot(const char *dir)
{
	char *argv[] = { "gnuplot", "ringbench.gp", NULL };
	char cwd[4096];
	pid_t pid;
	int st, rc;

	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(dir) != 0)
		return -errno;
	rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (chdir(cwd) != 0 && rc == 0)
		rc = errno;
	if (rc != 0) {
		fprintf(stderr, "pvb-ringbench: cannot run gnuplot (%s); install gnuplot-nox "
			"(make deps) or render %s/ringbench.gp yourself\n", strerror(rc), dir);
		return -rc;
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "pvb-ringbench: gnuplot failed on %s/ringbench.gp\n", dir);
		return -EIO;
	}
	return 0;
}

int
rb_write_plots(const struct rb_report *r, const char *dir)
{
	const struct rb_result *first = r->results;
	unsigned int n = 0, streamers = 0, i;
	FILE *f;

	if (r->nb_results == 0)
		return -ENODATA;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	while (n < r->nb_results && same_pair(first, &first[n]))
		n++;
	for (i = 0; i < n; i++)
		streamers += !first[i].kind->floor;
	f = open_in(dir, "latency-hist.dat");
	if (f == NULL)
		return -errno;
	write_hist(r, first, n, f);
	fclose(f);
	f = open_in(dir, "stream.dat");
	if (f == NULL)
		return -errno;
	write_stream(r, first, n, f);
	fclose(f);
	f = open_in(dir, "latency-matrix.dat");
	if (f == NULL)
		return -errno;
	write_matrix(r, f, "scring");
	fclose(f);
	f = open_in(dir, "ringbench.gp");
	if (f == NULL)
		return -errno;
	fprintf(f, gp_script, first->lcore_a, first->lcore_b, n + 1, first->lcore_a,
		first->lcore_b, streamers ? streamers - 1 : 0);
	fclose(f);
	return run_gnuplot(dir);
}
