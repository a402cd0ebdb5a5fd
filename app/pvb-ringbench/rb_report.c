/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* Output: the terminal table and JSON (plots: rb_plot.c). */

#include <errno.h>
#include <string.h>

#include "rb_result.h"

static const char *const lat_keys[RB_NB_LAT_STATS] = { "p50", "p99", "p999", "max" };

/* The targets the foundation issue sets, checked from the same run's figures. */
#define RB_TARGET_STREAM_BURST	32
#define RB_TARGET_STREAM_RATIO	2.0	/* scring >= 2.0x rte_ring elements/s at burst 32 */
#define RB_TARGET_LAT_RATIO	1.15	/* scring p50 round trip <= 1.15x the floor */
/* The targets of the vmbus issue, also at burst 32 (RB_TARGET_STREAM_BURST). */
#define RB_TARGET_VMBUS_BATCH	3.0	/* vmbus64 >= 3x vmbus64pp packets/s */
#define RB_TARGET_VMBUS_MEMCPY	0.5	/* vmbus1500 payload bytes/s >= 0.5x memcpy's */
/* The targets of the virtq issue: streaming at burst 32, and the round trip. */
#define RB_TARGET_VIRTQ_STREAM	0.7	/* virtq >= 0.7x rte_ring16 elements/s */
#define RB_TARGET_VIRTQ_LAT	2.0	/* virtq p50 round trip <= 2x the floor */

static void
print_latency(const struct rb_report *r, const struct rb_result *first, unsigned int n,
	      FILE *f)
{
	unsigned int i, s;

	fprintf(f, "\nRound-trip latency, lcore %u <-> %u, ns (cycles), median of %u rounds\n",
		first->lcore_a, first->lcore_b, first->rounds_done);
	fprintf(f, "  %-10s %-26s %-15s %-15s %-15s\n", "kind", "p50 [min..max]", "p99",
		"p99.9", "max");
	for (i = 0; i < n; i++) {
		const struct rb_result *x = &first[i];
		struct rb_spread p50 = rb_lat_spread(x, RB_P50);
		char cell[64];

		if (x->rc != 0) {
			fprintf(f, "  %-10s failed: %s\n", x->kind->name, strerror(-x->rc));
			continue;
		}
		snprintf(cell, sizeof(cell), "%.0f (%.0f) [%.0f..%.0f]",
			 rb_cycles_to_ns(r, p50.med), p50.med, rb_cycles_to_ns(r, p50.min),
			 rb_cycles_to_ns(r, p50.max));
		fprintf(f, "  %-10s %-26s", x->kind->name, cell);
		for (s = RB_P99; s < RB_NB_LAT_STATS; s++) {
			double c = rb_lat_spread(x, s).med;

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
	fprintf(f, "  %-10s", "kind");
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
		fprintf(f, "  %-10s", x->kind->name);
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

/* Payload bytes/s (median, min, max) of a kind moving RB_VMBUS_LARGE-byte elements. */
static struct rb_spread
large_bytes(const struct rb_result *x, int bi)
{
	struct rb_spread s = rb_spread_of(x->rate[bi], x->rounds_done);

	s.med *= RB_VMBUS_LARGE;
	s.min *= RB_VMBUS_LARGE;
	s.max *= RB_VMBUS_LARGE;
	return s;
}

static void
print_vmbus_ratios(const struct rb_report *r, const struct rb_result *x, int bi, FILE *f)
{
	const struct rb_result *v64 = rb_find(r, "vmbus64", x->lcore_a, x->lcore_b);
	const struct rb_result *v64pp = rb_find(r, "vmbus64pp", x->lcore_a, x->lcore_b);
	const struct rb_result *v1500 = rb_find(r, "vmbus1500", x->lcore_a, x->lcore_b);
	const struct rb_result *mc = rb_find(r, "memcpy", x->lcore_a, x->lcore_b);
	struct rb_spread s;
	bool ok;

	ok = rb_ratio_stream(r, v64, v64pp, bi, &s);
	print_ratio(f, "vmbus64 / vmbus64pp streaming, burst 32", ok, s, ">= 3.00x",
		    ok && s.med >= RB_TARGET_VMBUS_BATCH);
	ok = rb_ratio_stream(r, v1500, mc, bi, &s);
	print_ratio(f, "vmbus1500 / memcpy bytes/s, burst 32", ok, s, ">= 0.50x",
		    ok && s.med >= RB_TARGET_VMBUS_MEMCPY);
	if (ok)
		fprintf(f, "  %-44s %.2f GB/s, memcpy %.2f GB/s\n", "vmbus1500 payload, burst 32",
			large_bytes(v1500, bi).med / 1e9, large_bytes(mc, bi).med / 1e9);
}

static void
print_virtq_ratios(const struct rb_report *r, const struct rb_result *x, int bi, FILE *f)
{
	const struct rb_result *vq = rb_find(r, "virtq", x->lcore_a, x->lcore_b);
	const struct rb_result *r16 = rb_find(r, "rte_ring16", x->lcore_a, x->lcore_b);
	const struct rb_result *fl = rb_find(r, "floor", x->lcore_a, x->lcore_b);
	static const uint32_t small[] = { 1, 8 };	/* the other bursts: no target */
	struct rb_spread s;
	char what[64];
	unsigned int i;
	bool ok;

	ok = rb_ratio_stream(r, vq, r16, bi, &s);
	print_ratio(f, "virtq / rte_ring16 streaming, burst 32", ok, s, ">= 0.70x",
		    ok && s.med >= RB_TARGET_VIRTQ_STREAM);
	ok = rb_ratio_lat(r, vq, fl, RB_P50, &s);
	print_ratio(f, "virtq / floor p50 round trip", ok, s, "<= 2.00x",
		    ok && s.med <= RB_TARGET_VIRTQ_LAT);
	for (i = 0; i < RTE_DIM(small); i++) {
		if (!rb_ratio_stream(r, vq, r16, rb_burst_index(r->p, small[i]), &s))
			continue;
		snprintf(what, sizeof(what), "virtq / rte_ring16 streaming, burst %u", small[i]);
		fprintf(f, "  %-44s %.2fx [%.2f..%.2f]\n", what, s.med, s.min, s.max);
	}
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
	print_vmbus_ratios(r, x, bi, f);
	print_virtq_ratios(r, x, bi, f);
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
		n = rb_pair_len(r, i);
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

/*
 * The last round's round trips as [cycles, count] pairs, one per distinct
 * value: exact, and short, because a TSC read in a VM moves in coarse steps.
 */
static void
json_histogram(const struct rb_result *x, FILE *f)
{
	uint32_t k = 0, run;

	while (k < x->nb_samples) {
		for (run = 1; k + run < x->nb_samples && x->samples[k + run] == x->samples[k];)
			run++;
		fprintf(f, "%s[%llu, %u]", k ? ", " : "", (unsigned long long)x->samples[k], run);
		k += run;
	}
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
		json_spread(f, lat_keys[s], rb_lat_spread(x, s), ns,
			    s + 1 < RB_NB_LAT_STATS ? ", " : "");
	fprintf(f, "},\n     \"latency_cycles\": {");
	for (s = 0; s < RB_NB_LAT_STATS; s++)
		json_spread(f, lat_keys[s], rb_lat_spread(x, s), 1,
			    s + 1 < RB_NB_LAT_STATS ? ", " : "");
	fprintf(f, "},\n     \"histogram_cycles\": [");
	json_histogram(x, f);
	fprintf(f, "],\n     \"stream\": [");
	for (b = 0; !x->kind->floor && b < r->p->nb_bursts; b++) {
		fprintf(f, "%s{\"burst\": %u, ", b ? ", " : "", r->p->bursts[b]);
		json_spread(f, "elements_per_s", rb_spread_of(x->rate[b], x->rounds_done), 1, ", ");
		json_spread(f, "cycles_per_element", rb_spread_of(x->cpe[b], x->rounds_done), 1,
			    "}");
	}
	fprintf(f, "]}%s\n", sep);
}

/* The vmbus targets, and the bytes/s behind the second (null when not measured). */
static void
json_vmbus_ratios(const struct rb_report *r, unsigned int a, unsigned int b, FILE *f)
{
	const struct rb_result *v1500 = rb_find(r, "vmbus1500", a, b);
	const struct rb_result *mc = rb_find(r, "memcpy", a, b);
	int bi = rb_burst_index(r->p, RB_TARGET_STREAM_BURST);
	struct rb_spread s;
	bool ok;

	ok = rb_ratio_stream(r, rb_find(r, "vmbus64", a, b), rb_find(r, "vmbus64pp", a, b), bi,
			     &s);
	json_ratio(f, "vmbus64_batched_vs_per_packet_b32", ok, s, RB_TARGET_VMBUS_BATCH, ",");
	ok = rb_ratio_stream(r, v1500, mc, bi, &s);
	json_ratio(f, "vmbus1500_vs_memcpy_bytes_b32", ok, s, RB_TARGET_VMBUS_MEMCPY, ",");
	if (!ok) {
		fprintf(f, "    \"vmbus1500_bytes_per_s_b32\": null,\n"
			"    \"memcpy_bytes_per_s_b32\": null\n");
		return;
	}
	fprintf(f, "    ");
	json_spread(f, "vmbus1500_bytes_per_s_b32", large_bytes(v1500, bi), 1, ",\n    ");
	json_spread(f, "memcpy_bytes_per_s_b32", large_bytes(mc, bi), 1, "\n");
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
	json_ratio(f, "scring_vs_floor_p50", ok, s, RB_TARGET_LAT_RATIO, ",");
	ok = rb_ratio_stream(r, rb_find(r, "virtq", a, b), rb_find(r, "rte_ring16", a, b),
			     rb_burst_index(r->p, RB_TARGET_STREAM_BURST), &s);
	json_ratio(f, "virtq_vs_rte_ring16_stream_b32", ok, s, RB_TARGET_VIRTQ_STREAM, ",");
	ok = rb_ratio_lat(r, rb_find(r, "virtq", a, b), rb_find(r, "floor", a, b), RB_P50, &s);
	json_ratio(f, "virtq_vs_floor_p50", ok, s, RB_TARGET_VIRTQ_LAT, ",");
	json_vmbus_ratios(r, a, b, f);
	fprintf(f, "  }\n}\n");
	return fclose(f) == 0 ? 0 : -errno;
}
