/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * --plot DIR: gnuplot data files, one script (ringbench.gp), and PNGs:
 *   latency-hist-A-B.png   round-trip histogram of every kind, lcore pair A/B
 *   stream-A-B.png         streaming rate against burst size, pair A/B
 *   latency-matrix.png     p50 round trip of one kind for every lcore pair
 * A plot whose data would be empty (no streaming kind selected, say) is left
 * out rather than handed to gnuplot.
 */

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb_result.h"

extern char **environ;

#define RB_HIST_BINS	60	/* bins up to the largest p99.9 of the pair */

static FILE * __attribute__((format(printf, 2, 3)))
open_in(const char *dir, const char *fmt, ...)
{
	char name[64], path[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
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

/* Fraction of each kind's last-round samples per bin; bins are whole TSC ticks. */
static void
write_hist(const struct rb_report *r, const struct rb_result *first, unsigned int n, FILE *f)
{
	uint32_t pos[RB_MAX_KINDS] = { 0 };
	double hi = 0, bin, tick = tsc_tick(first, n);
	unsigned int i, k;

	for (i = 0; i < n; i++)
		if (first[i].nb_samples)
			hi = RTE_MAX(hi, rb_percentile(first[i].samples, first[i].nb_samples,
						       99.9));
	bin = tick * ceil(RTE_MAX(1.0, hi / RB_HIST_BINS) / tick);
	fprintf(f, "ns");	/* column heads: gnuplot's columnhead titles */
	for (i = 0; i < n; i++)
		fprintf(f, " %s", first[i].kind->name);
	fprintf(f, "\n");
	for (k = 0; k * bin <= hi; k++) {
		fprintf(f, "%.1f", rb_cycles_to_ns(r, (k + 0.5) * bin));
		for (i = 0; i < n; i++) {
			const struct rb_result *x = &first[i];
			uint32_t c = 0;

			while (pos[i] < x->nb_samples && x->samples[pos[i]] < (k + 1) * bin) {
				pos[i]++;
				c++;
			}
			fprintf(f, " %.5f", x->nb_samples ? (double)c / x->nb_samples : 0);
		}
		fprintf(f, "\n");
	}
}

/* burst, then median/min/max Melem/s per streaming kind. */
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

/* "a b ns" for both orders of every pair measured for @kind; returns the rows. */
static unsigned int
write_matrix(const struct rb_report *r, const char *kind, FILE *f)
{
	unsigned int i, rows = 0;

	for (i = 0; i < r->nb_results; i++) {
		const struct rb_result *x = &r->results[i];
		double ns;

		if (strcmp(x->kind->name, kind) != 0 || x->rc != 0 || x->rounds_done == 0)
			continue;
		ns = rb_cycles_to_ns(r, rb_lat_spread(x, RB_P50).med);
		fprintf(f, "%u %u %.1f\n%u %u %.1f\n", x->lcore_a, x->lcore_b, ns, x->lcore_b,
			x->lcore_a, ns);
		rows += 2;
	}
	return rows;
}

static const char gp_head[] =
	"set terminal pngcairo size 1000,600 noenhanced\n"
	"set grid\n";

static const char gp_hist[] =
	"set output 'latency-hist-%1$u-%2$u.png'\n"
	"set title 'Round-trip latency histogram, lcore %1$u <-> %2$u (last round)'\n"
	"set xlabel 'round trip (ns)'\n"
	"set ylabel 'fraction of samples'\n"
	"unset logscale x\n"
	"set key autotitle columnhead\n"
	"plot for [i=2:%3$u] 'latency-hist-%1$u-%2$u.dat' using 1:i with steps lw 2\n";

static const char gp_stream[] =
	"set output 'stream-%1$u-%2$u.png'\n"
	"set title 'Streaming lcore %1$u -> %2$u (median, min..max over rounds)'\n"
	"set xlabel 'burst'\n"
	"set ylabel 'Melem/s'\n"
	"set logscale x 2\n"
	"plot for [i=0:%3$u] 'stream-%1$u-%2$u.dat' "
	"using 1:(column(2+3*i)):(column(3+3*i)):(column(4+3*i)) "
	"with yerrorlines lw 2 title columnhead(2+3*i)\n";

static const char gp_matrix[] =
	"set output 'latency-matrix.png'\n"
	"set title '%s p50 round trip per lcore pair (ns)'\n"
	"set xlabel 'lcore'\n"
	"set ylabel 'lcore'\n"
	"unset logscale x\n"
	"set key noautotitle\n"
	"set cbrange [0:*]\n"
	"set offsets 0.5, 0.5, 0.5, 0.5\n"
	"set xtics 1\n"
	"set ytics 1\n"
	"set size ratio -1\n"
	"plot 'latency-matrix.dat' using 1:2:3 with points pt 5 ps 12 lc palette, "
	"'' using 1:2:(sprintf('%%.0f',$3)) with labels tc 'white'\n";

/* Data and script lines for one lcore pair (results first[0..n-1]). */
static int
plot_pair(const struct rb_report *r, const struct rb_result *first, unsigned int n,
	  const char *dir, FILE *gp)
{
	unsigned int a = first->lcore_a, b = first->lcore_b, i, streamers = 0;
	FILE *f;

	for (i = 0; i < n; i++)
		streamers += !first[i].kind->floor;
	f = open_in(dir, "latency-hist-%u-%u.dat", a, b);
	if (f == NULL)
		return -errno;
	write_hist(r, first, n, f);
	fclose(f);
	fprintf(gp, gp_hist, a, b, n + 1);
	if (streamers == 0 || r->p->nb_bursts == 0)
		return 0;
	f = open_in(dir, "stream-%u-%u.dat", a, b);
	if (f == NULL)
		return -errno;
	write_stream(r, first, n, f);
	fclose(f);
	fprintf(gp, gp_stream, a, b, streamers - 1);
	return 0;
}

/* The matrix shows the first ring kind that is not the floor, else the floor. */
static int
plot_matrix(const struct rb_report *r, const char *dir, FILE *gp)
{
	const char *kind = r->results[0].kind->name;
	unsigned int i, rows;
	FILE *f;

	for (i = 0; i < r->nb_results; i++)
		if (!r->results[i].kind->floor) {
			kind = r->results[i].kind->name;
			break;
		}
	f = open_in(dir, "latency-matrix.dat");
	if (f == NULL)
		return -errno;
	rows = write_matrix(r, kind, f);
	fclose(f);
	if (rows > 0)
		fprintf(gp, gp_matrix, kind);
	return 0;
}

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
	unsigned int i = 0, n;
	FILE *gp;
	int rc = 0;

	if (r->nb_results == 0)
		return -ENODATA;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	gp = open_in(dir, "ringbench.gp");
	if (gp == NULL)
		return -errno;
	fputs(gp_head, gp);
	while (rc == 0 && i < r->nb_results) {
		n = rb_pair_len(r, i);
		rc = plot_pair(r, &r->results[i], n, dir, gp);
		i += n;
	}
	if (rc == 0)
		rc = plot_matrix(r, dir, gp);
	if (fclose(gp) != 0 && rc == 0)
		rc = -errno;
	return rc != 0 ? rc : run_gnuplot(dir);
}
