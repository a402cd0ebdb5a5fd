/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Statistics, read by the main lcore (and telemetry) from the counters each
 * worker writes for itself: the periodic table, the summary at exit, --json.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_spinlock.h>

#include "fwd.h"

/*
 * Device statistics are read by the main lcore and the telemetry thread;
 * some PMDs add up clear-on-read registers, so the two must not interleave.
 */
static rte_spinlock_t stats_lock = RTE_SPINLOCK_INITIALIZER;

void
fwd_stats_lock(void)
{
	rte_spinlock_lock(&stats_lock);
}

void
fwd_stats_unlock(void)
{
	rte_spinlock_unlock(&stats_lock);
}

struct fwd_stats_view {
	const struct fwd_state *st;
	uint64_t t_start, t_prev;
	struct fwd_totals prev[FWD_MAX_PORTS];
	uint64_t prev_busy[FWD_MAX_LCORES];
	uint64_t prev_total[FWD_MAX_LCORES];
	uint64_t prev_pkts[FWD_MAX_LCORES];
};

const char *const fwd_flow_names[FWD_NB_FLOWS] = {
	[FWD_RX_REF_PKTS] = "rx_ref_packets",
	[FWD_RX_REF_BYTES] = "rx_ref_bytes",
	[FWD_RX_COPIED_PKTS] = "rx_copied_packets",
	[FWD_RX_COPIED_BYTES] = "rx_copied_bytes",
	[FWD_TX_REF_PKTS] = "tx_ref_packets",
	[FWD_TX_REF_BYTES] = "tx_ref_bytes",
	[FWD_TX_COPIED_PKTS] = "tx_copied_packets",
	[FWD_TX_COPIED_BYTES] = "tx_copied_bytes",
};

/* The ids of the flow xstats the port's PMD has (pvbridge's own PMDs: all of them). */
void
fwd_flow_lookup(struct fwd_port *fp)
{
	unsigned int f;

	fp->has_flows = false;
	for (f = 0; f < FWD_NB_FLOWS; f++) {
		if (rte_eth_xstats_get_id_by_name(fp->port_id, fwd_flow_names[f],
						  &fp->flow_id[f]) != 0)
			fp->flow_id[f] = UINT64_MAX;
		else
			fp->has_flows = true;
	}
}

/* The flow xstats now, 0 where absent; the caller holds the stats lock or is alone. */
void
fwd_flow_read(const struct fwd_port *fp, uint64_t *v)
{
	uint64_t ids[FWD_NB_FLOWS], vals[FWD_NB_FLOWS];
	unsigned int f, n = 0;

	memset(v, 0, FWD_NB_FLOWS * sizeof(*v));
	for (f = 0; fp->has_flows && f < FWD_NB_FLOWS; f++)
		if (fp->flow_id[f] != UINT64_MAX)
			ids[n++] = fp->flow_id[f];
	if (n == 0 || rte_eth_xstats_get_by_id(fp->port_id, ids, vals, n) != (int)n)
		return;
	for (f = 0, n = 0; f < FWD_NB_FLOWS; f++)
		if (fp->flow_id[f] != UINT64_MAX)
			v[f] = vals[n++];
}

void
fwd_port_totals(const struct fwd_state *st, uint16_t p, struct fwd_totals *t)
{
	const struct fwd_port_counters *c;
	struct rte_eth_stats es;
	unsigned int d;
	uint16_t s;

	memset(t, 0, sizeof(*t));
	for (s = 0; s < st->nb_lcores; s++) {
		c = &st->lc[s]->cnt[p];
		t->rx += pvb_counter_read(&c->rx);
		t->tx += pvb_counter_read(&c->tx);
		t->copied += pvb_counter_read(&c->copied);
		t->copied_bytes += pvb_counter_read(&c->copied_bytes);
		t->held += pvb_counter_read(&c->held);
		t->sw_cksum += pvb_counter_read(&c->sw_cksum);
		t->sw_gso += pvb_counter_read(&c->sw_gso);
		t->sw_gso_segs += pvb_counter_read(&c->sw_gso_segs);
		for (d = 0; d < FWD_NB_DROPS; d++)
			t->drop[d] += pvb_counter_read(&c->drop[d]);
	}
	for (d = 0; d < FWD_NB_DROPS; d++)
		t->drops += t->drop[d];
	/* the device's own drops: not ours to count, ours to show */
	if (!st->port[p].started) {
		t->nic_missed = st->port[p].nic_missed_at_close;
		memcpy(t->flow, st->port[p].flow_at_close, sizeof(t->flow));
		return;
	}
	fwd_stats_lock();
	if (rte_eth_stats_get(st->port[p].port_id, &es) == 0)
		t->nic_missed = es.imissed + es.rx_nombuf;
	fwd_flow_read(&st->port[p], t->flow);
	fwd_stats_unlock();
}

/* Packets received on the lcore's rx queues. */
uint64_t
fwd_lcore_rx(const struct fwd_state *st, const struct fwd_lcore *lc)
{
	uint64_t n = 0;
	uint16_t p;

	for (p = 0; p < st->nb_ports; p++)
		n += pvb_counter_read(&lc->cnt[p].rx);
	return n;
}

/*
 * The packets an lcore worked on: those it received (transmitted here or
 * handed off) and those other lcores handed to it. A packet that crosses
 * counts once on each lcore, so the two lcores' cycles per packet add up to
 * what a packet costs.
 */
uint64_t
fwd_lcore_pkts(const struct fwd_state *st, const struct fwd_lcore *lc)
{
	return fwd_lcore_rx(st, lc) + pvb_counter_read(&lc->handoff_rx);
}

/* Busy cycles per packet worked on; 0 with no packets. */
double
fwd_cycles_per_pkt(uint64_t busy_cycles, uint64_t pkts)
{
	return pkts ? (double)busy_cycles / (double)pkts : 0.0;
}

uint64_t
fwd_l2_invalid_total(const struct fwd_state *st)
{
	uint64_t n = 0;
	uint16_t s;

	for (s = 0; s < st->nb_lcores; s++)
		n += pvb_counter_read(&st->lc[s]->l2_invalid);
	return n;
}

struct fwd_stats_view *
fwd_stats_start(const struct fwd_state *st)
{
	struct fwd_stats_view *v = calloc(1, sizeof(*v));
	uint16_t p, s;

	if (v == NULL)
		return NULL;
	v->st = st;
	v->t_start = v->t_prev = rte_rdtsc();
	for (p = 0; p < st->nb_ports; p++)
		fwd_port_totals(st, p, &v->prev[p]);
	for (s = 0; s < st->nb_lcores; s++) {
		v->prev_busy[s] = pvb_counter_read(&st->lc[s]->busy_cycles);
		v->prev_total[s] = pvb_counter_read(&st->lc[s]->total_cycles);
		v->prev_pkts[s] = fwd_lcore_pkts(st, st->lc[s]);
	}
	return v;
}

void
fwd_stats_free(struct fwd_stats_view *v)
{
	free(v);
}

static double
pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* "tx_full=3 ring_full=1", or "-" */
static void
drop_reasons(const struct fwd_totals *t, const struct fwd_totals *prev, char *buf, size_t len)
{
	size_t off = 0;
	unsigned int d;
	uint64_t n;

	buf[0] = '\0';
	for (d = 0; d < FWD_NB_DROPS && off < len; d++) {
		n = t->drop[d] - (prev ? prev->drop[d] : 0);
		if (n != 0)
			off += (size_t)snprintf(buf + off, len - off, "%s%s=%llu", off ? " " : "",
						fwd_drop_names[d], (unsigned long long)n);
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
}

/* "1.5 MB": bytes for a person */
static const char *
human(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
	double x = (double)n;
	unsigned int u = 0;

	while (x >= 1000 && u + 1 < RTE_DIM(unit)) {
		x /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", x, unit[u]);
	return buf;
}

/*
 * Under a port's line, where there is something to say: frames (bytes) its
 * PMD moved by reference / copied, and those pvb-fwd copied for it:
 *              ref/copied: rx 1000/0 (1.5 MB/0 B), tx 990/10 (...); pvb-fwd copied 0 (0 B)
 */
static void
print_flows(const struct fwd_port *fp, const struct fwd_totals *t, FILE *f)
{
	char a[16], b[16], c[16], d[16];

	if (!fp->has_flows && t->copied == 0 && t->held == 0 && t->sw_cksum == 0 && t->sw_gso == 0)
		return;
	fprintf(f, "%-12s ", "");
	if (fp->has_flows)
		fprintf(f, "ref/copied: rx %llu/%llu (%s/%s), tx %llu/%llu (%s/%s); ",
			(unsigned long long)t->flow[FWD_RX_REF_PKTS],
			(unsigned long long)t->flow[FWD_RX_COPIED_PKTS],
			human(t->flow[FWD_RX_REF_BYTES], a, sizeof(a)),
			human(t->flow[FWD_RX_COPIED_BYTES], b, sizeof(b)),
			(unsigned long long)t->flow[FWD_TX_REF_PKTS],
			(unsigned long long)t->flow[FWD_TX_COPIED_PKTS],
			human(t->flow[FWD_TX_REF_BYTES], c, sizeof(c)),
			human(t->flow[FWD_TX_COPIED_BYTES], d, sizeof(d)));
	fprintf(f, "pvb-fwd copied %llu (%s), held %llu", (unsigned long long)t->copied,
		human(t->copied_bytes, a, sizeof(a)), (unsigned long long)t->held);
	/* offloads the port lacks, done by pvb-fwd */
	if (t->sw_cksum != 0 || t->sw_gso != 0)
		fprintf(f, "; software checksums %llu, segmented %llu into %llu",
			(unsigned long long)t->sw_cksum, (unsigned long long)t->sw_gso,
			(unsigned long long)t->sw_gso_segs);
	fputc('\n', f);
}

/* "  1:  92.2%  118 cycles/pkt" for this period ("-" without packets) */
static void
print_lcore(struct fwd_stats_view *v, uint16_t s, FILE *f)
{
	const struct fwd_lcore *lc = v->st->lc[s];
	uint64_t busy = pvb_counter_read(&lc->busy_cycles);
	uint64_t total = pvb_counter_read(&lc->total_cycles);
	uint64_t pkts = fwd_lcore_pkts(v->st, lc);

	fprintf(f, "  %u: %5.1f%%", lc->lcore_id,
		pct(busy - v->prev_busy[s], total - v->prev_total[s]));
	if (pkts != v->prev_pkts[s])
		fprintf(f, " %5.0f cycles/pkt",
			fwd_cycles_per_pkt(busy - v->prev_busy[s], pkts - v->prev_pkts[s]));
	else
		fprintf(f, "     - cycles/pkt");
	v->prev_busy[s] = busy;
	v->prev_total[s] = total;
	v->prev_pkts[s] = pkts;
}

void
fwd_stats_print(struct fwd_stats_view *v, FILE *f)
{
	const struct fwd_state *st = v->st;
	uint64_t now = rte_rdtsc();
	double secs = (double)(now - v->t_prev) / (double)st->tsc_hz;
	struct fwd_totals t;
	char why[160];
	uint16_t p, s;

	fprintf(f, "%-12s %14s %9s %14s %9s %10s %10s  %s\n", "port", "rx pkts", "rx Mpps",
		"tx pkts", "tx Mpps", "drops", "nic drops", "drop reasons (this period)");
	for (p = 0; p < st->nb_ports; p++) {
		fwd_port_totals(st, p, &t);
		drop_reasons(&t, &v->prev[p], why, sizeof(why));
		fprintf(f, "%-12s %14llu %9.3f %14llu %9.3f %10llu %10llu  %s\n", st->port[p].name,
			(unsigned long long)t.rx, (double)(t.rx - v->prev[p].rx) / secs / 1e6,
			(unsigned long long)t.tx, (double)(t.tx - v->prev[p].tx) / secs / 1e6,
			(unsigned long long)t.drops, (unsigned long long)t.nic_missed, why);
		print_flows(&st->port[p], &t, f);
		v->prev[p] = t;
	}
	fprintf(f, "lcore busy:");
	for (s = 0; s < st->nb_lcores; s++)
		print_lcore(v, s, f);
	fprintf(f, "\n\n");
	fflush(f);
	v->t_prev = now;
}

/*
 * "lcore 1: busy 92.2%, 118 cycles/pkt, handed off ..., slept 12 times (10 on
 * rx interrupts, woken by one 3 times; 2 naps)"
 */
static void
summary_lcore(const struct fwd_state *st, const struct fwd_lcore *lc, FILE *f)
{
	uint64_t naps = pvb_counter_read(&lc->naps), intr = pvb_counter_read(&lc->intr_sleeps);
	uint64_t busy = pvb_counter_read(&lc->busy_cycles);

	fprintf(f, "lcore %u: busy %.1f%%, %.0f cycles/pkt, handed off %llu, "
		"transmitted for others %llu, "
		"slept %llu times (%llu on rx interrupts, woken by one %llu times; %llu naps)\n",
		lc->lcore_id, pct(busy, pvb_counter_read(&lc->total_cycles)),
		fwd_cycles_per_pkt(busy, fwd_lcore_pkts(st, lc)),
		(unsigned long long)pvb_counter_read(&lc->handoff_tx),
		(unsigned long long)pvb_counter_read(&lc->handoff_rx),
		(unsigned long long)(naps + intr), (unsigned long long)intr,
		(unsigned long long)pvb_counter_read(&lc->intr_wakeups), (unsigned long long)naps);
}

void
fwd_stats_summary(struct fwd_stats_view *v, FILE *f)
{
	const struct fwd_state *st = v->st;
	double secs = (double)(rte_rdtsc() - v->t_start) / (double)st->tsc_hz;
	struct fwd_totals t;
	char why[160];
	uint16_t p, s;

	fprintf(f, "pvb-fwd summary: %.1f s, %s mode\n", secs,
		st->cfg->mode == FWD_MODE_L2 ? "l2" : "xconnect");
	fprintf(f, "%-12s %14s %9s %14s %9s %10s %10s  %s\n", "port", "rx pkts", "rx Mpps",
		"tx pkts", "tx Mpps", "drops", "nic drops", "drop reasons");
	for (p = 0; p < st->nb_ports; p++) {
		fwd_port_totals(st, p, &t);
		drop_reasons(&t, NULL, why, sizeof(why));
		fprintf(f, "%-12s %14llu %9.3f %14llu %9.3f %10llu %10llu  %s\n", st->port[p].name,
			(unsigned long long)t.rx, (double)t.rx / secs / 1e6,
			(unsigned long long)t.tx, (double)t.tx / secs / 1e6,
			(unsigned long long)t.drops, (unsigned long long)t.nic_missed, why);
		print_flows(&st->port[p], &t, f);
	}
	for (s = 0; s < st->nb_lcores; s++)
		summary_lcore(st, st->lc[s], f);
	fflush(f);
}

static void
json_port(const struct fwd_state *st, uint16_t p, double secs, FILE *f, const char *sep)
{
	const char *sep2;
	struct fwd_totals t;
	unsigned int d;

	fwd_port_totals(st, p, &t);
	fprintf(f, "    {\"name\": \"%s\", \"port_id\": %u, \"rx\": %llu, \"tx\": %llu, "
		"\"rx_pps\": %.1f, \"tx_pps\": %.1f, \"drops\": %llu, \"nic_missed\": %llu, "
		"\"rx_intr\": %s, \"drop\": {", st->port[p].name, st->port[p].port_id,
		(unsigned long long)t.rx,
		(unsigned long long)t.tx, (double)t.rx / secs, (double)t.tx / secs,
		(unsigned long long)t.drops, (unsigned long long)t.nic_missed,
		st->port[p].rx_intr ? "true" : "false");
	for (d = 0; d < FWD_NB_DROPS; d++)
		fprintf(f, "%s\"%s\": %llu", d ? ", " : "", fwd_drop_names[d],
			(unsigned long long)t.drop[d]);
	fprintf(f, "}, \"held\": %llu, \"copied\": %llu, \"copied_bytes\": %llu, "
		"\"sw_cksum\": %llu, \"sw_gso\": %llu, \"sw_gso_segs\": %llu, \"flows\": {",
		(unsigned long long)t.held, (unsigned long long)t.copied,
		(unsigned long long)t.copied_bytes, (unsigned long long)t.sw_cksum,
		(unsigned long long)t.sw_gso, (unsigned long long)t.sw_gso_segs);
	/* the PMD's own flow xstats, those it has */
	for (d = 0, sep2 = ""; d < FWD_NB_FLOWS; d++) {
		if (st->port[p].flow_id[d] == UINT64_MAX)
			continue;
		fprintf(f, "%s\"%s\": %llu", sep2, fwd_flow_names[d],
			(unsigned long long)t.flow[d]);
		sep2 = ", ";
	}
	fprintf(f, "}}%s\n", sep);
}

static void
json_lcore(const struct fwd_state *st, const struct fwd_lcore *lc, FILE *f, const char *sep)
{
	uint64_t naps = pvb_counter_read(&lc->naps), intr = pvb_counter_read(&lc->intr_sleeps);
	uint64_t busy = pvb_counter_read(&lc->busy_cycles), pkts = fwd_lcore_pkts(st, lc);

	fprintf(f, "    {\"lcore\": %u, \"busy_pct\": %.2f, \"busy_cycles\": %llu, "
		"\"rx\": %llu, \"cycles_per_pkt\": %.1f, \"handoff_tx\": %llu, ",
		lc->lcore_id, pct(busy, pvb_counter_read(&lc->total_cycles)),
		(unsigned long long)busy, (unsigned long long)fwd_lcore_rx(st, lc),
		fwd_cycles_per_pkt(busy, pkts),
		(unsigned long long)pvb_counter_read(&lc->handoff_tx));
	/* relaxed: on_intr is a report, set once as the lcore starts */
	fprintf(f, "\"handoff_rx\": %llu, \"sleeps\": %llu, \"naps\": %llu, "
		"\"intr_sleeps\": %llu, \"intr_wakeups\": %llu, \"on_intr\": %s}%s\n",
		(unsigned long long)pvb_counter_read(&lc->handoff_rx),
		(unsigned long long)(naps + intr), (unsigned long long)naps,
		(unsigned long long)intr, (unsigned long long)pvb_counter_read(&lc->intr_wakeups),
		pvb_load_relaxed(&lc->on_intr) ? "true" : "false", sep);
}

static void
json_l2(const struct fwd_state *st, FILE *f)
{
	struct fwd_l2_stats s;

	if (st->l2 == NULL) {
		fprintf(f, "  \"l2\": null,\n");
		return;
	}
	fwd_l2_stats(st->l2, &s);
	fprintf(f, "  \"l2\": {\"entries\": %llu, \"learned\": %llu, \"moved\": %llu, "
		"\"aged\": %llu, \"flushed\": %llu, \"full\": %llu, \"invalid\": %llu},\n",
		(unsigned long long)s.entries, (unsigned long long)s.learned,
		(unsigned long long)s.moved, (unsigned long long)s.aged,
		(unsigned long long)s.flushed, (unsigned long long)s.full,
		(unsigned long long)fwd_l2_invalid_total(st));
}

/* In-use mbufs per pool at start and at exit (after the ports closed). */
static void
json_pools(const struct fwd_state *st, const unsigned int *in_use_end, FILE *f)
{
	const char *sep = "";
	unsigned int s;

	fprintf(f, "  \"mempools\": [");
	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (st->pool[s] == NULL)
			continue;
		fprintf(f, "%s{\"name\": \"%s\", \"size\": %u, \"in_use_start\": %u, "
			"\"in_use_end\": %u}", sep, st->pool[s]->name, st->pool[s]->size,
			st->in_use_start[s], in_use_end[s]);
		sep = ", ";
	}
	/* the slot pools net_pvb_netvsp ports lent: all back once the ports stopped */
	for (s = 0; s < st->nb_ports; s++) {
		if (st->port[s].slot_pool_size == 0)
			continue;
		fprintf(f, "%s{\"name\": \"%s\", \"size\": %u, \"in_use_start\": 0, "
			"\"in_use_end\": %u}", sep, st->port[s].slot_pool_name,
			st->port[s].slot_pool_size, st->port[s].slot_in_use_end);
		sep = ", ";
	}
	fprintf(f, "]\n");
}

int
fwd_stats_json(struct fwd_stats_view *v, const char *path, const unsigned int *in_use_end)
{
	const struct fwd_state *st = v->st;
	double secs = (double)(rte_rdtsc() - v->t_start) / (double)st->tsc_hz;
	FILE *f = fopen(path, "w");
	uint16_t i;

	if (f == NULL)
		return -errno;
	fprintf(f, "{\n  \"tool\": \"pvb-fwd\",\n  \"mode\": \"%s\",\n  \"seconds\": %.3f,\n",
		st->cfg->mode == FWD_MODE_L2 ? "l2" : "xconnect", secs);
	fprintf(f, "  \"ports\": [\n");
	for (i = 0; i < st->nb_ports; i++)
		json_port(st, i, secs, f, i + 1 < st->nb_ports ? "," : "");
	fprintf(f, "  ],\n  \"lcores\": [\n");
	for (i = 0; i < st->nb_lcores; i++)
		json_lcore(st, st->lc[i], f, i + 1 < st->nb_lcores ? "," : "");
	fprintf(f, "  ],\n");
	json_l2(st, f);
	json_pools(st, in_use_end, f);
	fprintf(f, "}\n");
	return fclose(f) == 0 ? 0 : -errno;
}
