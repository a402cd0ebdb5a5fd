/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * pvb-fwd: the forwarder. The main lcore reads the configuration, sets up
 * ports and hand-off links, launches a poll loop on every worker lcore, then
 * prints statistics, ages the MAC table and waits for the duration or a
 * signal; at the end it drains, stops and closes everything and checks that
 * every mbuf came back.
 *
 *   pvb-fwd [EAL args] -- [-f CONFIG] [--duration SEC] [--stats-period SEC]
 *                         [--json FILE] [--dump-config]
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
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pdump.h>

#include "fwd.h"

#define FWD_EXIT_USAGE	2	/* nothing started: bad options or config, or set-up failed */
#define FWD_TICK_US	10000	/* main lcore wakes this often */
#define FWD_DRAIN_MS	2000	/* longest wait for in-flight packets at exit */

/* The built-in demo: two null ports cross-connected. With two workers each
 * polls one port, so every packet crosses lcores on an scring hand-off. */
static const char default_config[] =
	"[general]\n"
	"mode = xconnect\n"
	"duration = 10\n"
	"[port.null0]\n"
	"dev = net_null0\n"
	"[port.null1]\n"
	"dev = net_null1\n";

struct fwd_opts {
	const char *config;
	const char *json;
	double duration;	/* < 0: from the config */
	double stats_period;	/* < 0: from the config */
	bool dump;
};

/* The signal that asked us to stop; a lock-free atomic, so safe in a handler. */
static pvb_shared_u32 signalled;

static void
on_signal(int sig)
{
	/* relaxed: the main lcore polls it; nothing else is published with it */
	pvb_store_relaxed(&signalled, (uint32_t)sig);
}

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args] -- [options]\n"
	       "  -f, --config FILE     INI configuration (doc/pvb-fwd.md); without it, a\n"
	       "                        built-in demo: two net_null ports, cross-connected, 10 s\n"
	       "  --duration SEC        stop after SEC seconds (0: at SIGINT/SIGTERM)\n"
	       "  --stats-period SEC    print the statistics table every SEC seconds (0: never)\n"
	       "  --json FILE           write a summary as JSON at exit\n"
	       "  --dump-config         print the effective configuration and exit\n"
	       "  -h, --help            this text\n", prog);
}

/* Seconds, kept in 32-bit milliseconds: 0, or 0.001 .. 4294967 */
static int
parse_seconds(const char *opt, const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(*out >= 0) ||
	    *out > UINT32_MAX / 1000 || (*out > 0 && *out < 0.001)) {
		fprintf(stderr, "pvb-fwd: %s: '%s' is not 0 or a number of seconds from 0.001 "
			"to %u\n", opt, s, UINT32_MAX / 1000);
		return -1;
	}
	return 0;
}

static int
parse_args(int argc, char **argv, struct fwd_opts *o)
{
	enum { O_DURATION = 256, O_STATS, O_JSON, O_DUMP };
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "stats-period", required_argument, NULL, O_STATS },
		{ "json", required_argument, NULL, O_JSON },
		{ "dump-config", no_argument, NULL, O_DUMP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct fwd_opts){ .duration = -1, .stats_period = -1 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->config = optarg; break;
		case O_JSON: o->json = optarg; break;
		case O_DUMP: o->dump = true; break;
		case O_DURATION:
			if (parse_seconds("--duration", optarg, &o->duration) != 0)
				return -1;
			break;
		case O_STATS:
			if (parse_seconds("--stats-period", optarg, &o->stats_period) != 0)
				return -1;
			break;
		case 'h':
			usage(argv[0]);
			return 1;	/* done: the caller cleans up and exits 0 */
		default: return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pvb-fwd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static bool
lcore_enabled(unsigned int lcore_id, void *arg __rte_unused)
{
	return lcore_id < RTE_MAX_LCORE && rte_lcore_is_enabled(lcore_id);
}

static int
eal_env(struct fwd_env *env, char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	unsigned int l;
	uint16_t p;

	memset(env, 0, sizeof(*env));
	env->lcore_enabled = lcore_enabled;
	env->main_lcore = rte_get_main_lcore();
	RTE_LCORE_FOREACH_WORKER(l)
		if (env->nb_workers < FWD_MAX_LCORES)
			env->workers[env->nb_workers++] = l;
	RTE_ETH_FOREACH_DEV(p) {
		if (rte_eth_dev_get_name_by_port(p, name) != 0)
			continue;
		if (env->nb_eal_ports == FWD_MAX_PORTS || strlen(name) >= FWD_NAME_LEN) {
			snprintf(err, errlen, "EAL port %s: %s", name,
				 env->nb_eal_ports == FWD_MAX_PORTS ? "more than 32 ports" :
				 "name longer than 31 characters; name it in a [port.NAME] "
				 "section with dev = instead");
			return -1;
		}
		memcpy(env->eal_ports[env->nb_eal_ports++], name, strlen(name) + 1);
	}
	return 0;
}

/* Read, override from the command line, and check against the EAL. */
static int
load_config(struct fwd_config *cfg, const struct fwd_opts *o)
{
	char err[FWD_ERR_LEN];
	struct fwd_env env;
	int rc;

	/*
	 * No file: the EAL's own ports, cross-connected in order, if it has any;
	 * else the built-in demo.
	 */
	if (o->config != NULL)
		rc = fwd_config_load(cfg, o->config, err, sizeof(err));
	else
		rc = fwd_config_load_string(cfg, "(built-in config)",
					    rte_eth_dev_count_avail() != 0 ? "[general]\n" :
					    default_config, err, sizeof(err));
	if (rc == 0) {
		if (o->duration >= 0)
			cfg->duration_ms = (uint32_t)(o->duration * 1000);
		if (o->stats_period >= 0)
			cfg->stats_period_ms = (uint32_t)(o->stats_period * 1000);
		rc = eal_env(&env, err, sizeof(err));
	}
	if (rc == 0)
		rc = fwd_config_resolve(cfg, &env, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "pvb-fwd: %s\n", err);
	return rc;
}

/* The EAL option among @p argv[1..n) that rules out secondary processes, or NULL. */
static const char *
no_shared_runtime(int n, char **argv)
{
	static const char *const opts[] = { "--in-memory", "--no-shconf", "--no-huge" };
	int i;
	size_t k;

	for (i = 1; i < n; i++)
		for (k = 0; k < RTE_DIM(opts); k++)
			if (strcmp(argv[i], opts[k]) == 0)
				return opts[k];
	return NULL;
}

/*
 * dpdk-dumpcap attaches as a secondary process, so it needs the shared
 * runtime that --in-memory, --no-shconf and --no-huge do without; there
 * rte_pdump_init() still succeeds, so we say so ourselves.
 */
static void
capture_init(int n, char **argv)
{
	const char *why = no_shared_runtime(n, argv);

	if (why != NULL)
		printf("pvb-fwd: capture unavailable (%s: no shared runtime for dpdk-dumpcap; "
		       "use --file-prefix instead)\n", why);
	else if (rte_pdump_init() == 0)
		printf("pvb-fwd: capture ready: dpdk-dumpcap can attach to any port\n");
	else
		printf("pvb-fwd: capture unavailable (%s)\n", rte_strerror(rte_errno));
	/* a script waits for this line before it starts dpdk-dumpcap */
	fflush(stdout);
}

/* Launch every worker; returns how many run (all, or those before a failure). */
static uint16_t
launch_workers(struct fwd_state *st, struct fwd_lcore_arg *args)
{
	uint16_t s;
	int rc;

	for (s = 0; s < st->nb_lcores; s++) {
		args[s] = (struct fwd_lcore_arg){ .st = st, .lc = st->lc[s] };
		rc = rte_eal_remote_launch(fwd_lcore_loop, &args[s], st->lc[s]->lcore_id);
		if (rc != 0) {
			fprintf(stderr, "pvb-fwd: cannot launch lcore %u: %s\n",
				st->lc[s]->lcore_id, strerror(-rc));
			break;
		}
	}
	return s;
}

/* The main lcore's loop: statistics, MAC ageing, duration, signals. */
static void
supervise(struct fwd_state *st, struct fwd_stats_view *v)
{
	const struct fwd_config *cfg = st->cfg;
	uint64_t hz = st->tsc_hz, now = rte_rdtsc();
	uint64_t end = cfg->duration_ms ? now + cfg->duration_ms * hz / 1000 : UINT64_MAX;
	uint64_t period = cfg->stats_period_ms * hz / 1000, next_stats = now + period;
	uint64_t next_age = now + hz;

	/* relaxed: see on_signal() */
	while (pvb_load_relaxed(&signalled) == 0 && now < end) {
		rte_delay_us_sleep(FWD_TICK_US);
		now = rte_rdtsc();
		if (period != 0 && now >= next_stats) {
			fwd_stats_print(v, stdout);
			next_stats += period;
		}
		fwd_bridge_poll(st);
		if (st->l2 != NULL && now >= next_age) {
			fwd_l2_age(st->l2, now);
			next_age += hz;
		}
	}
	if (pvb_load_relaxed(&signalled) != 0)
		printf("pvb-fwd: %s, stopping\n", strsignal((int)pvb_load_relaxed(&signalled)));
}

static bool
all_quiet(const struct fwd_state *st, uint16_t launched)
{
	uint16_t s;

	for (s = 0; s < launched; s++)
		/*
		 * Pairs with the store-release in fwd_lcore_loop(). An lcore quiet
		 * because the lcore it hands off to took its last packets makes that
		 * one's flag show those packets (its store in take_handoff()) from
		 * the next pass on; two passes in a row confirm the drain.
		 */
		if (pvb_load_acquire(&st->lc[s]->quiet) == 0)
			return false;
	return true;
}

/* Stop rx, let hand-offs and tx buffers empty, then stop the workers. */
static void
drain(struct fwd_state *st, uint16_t launched)
{
	unsigned int ms, calm = 0;

	/* relaxed: workers poll it; nothing is published with it */
	pvb_store_relaxed(&st->stop_rx, 1);
	for (ms = 0; ms < FWD_DRAIN_MS && calm < 2; ms++) {
		rte_delay_us_sleep(1000);
		calm = all_quiet(st, launched) ? calm + 1 : 0;
	}
	if (calm < 2)
		fprintf(stderr, "pvb-fwd: in-flight packets did not drain in %u ms\n",
			FWD_DRAIN_MS);
	pvb_store_relaxed(&st->quit, 1);
	rte_eal_mp_wait_lcore();
}

/* In-use mbufs per pool now; returns how many pools differ from their start. */
static unsigned int
pools_check(const struct fwd_state *st, unsigned int *in_use)
{
	unsigned int s, bad = 0;

	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (st->pool[s] == NULL)
			continue;
		in_use[s] = rte_mempool_in_use_count(st->pool[s]);
		if (in_use[s] != st->in_use_start[s]) {
			fprintf(stderr,
				"pvb-fwd: mempool %s: %u mbufs in use at exit, %u at start\n",
				st->pool[s]->name, in_use[s], st->in_use_start[s]);
			bad++;
		}
	}
	return bad;
}

static void
pools_free(struct fwd_state *st)
{
	unsigned int s;

	for (s = 0; s < RTE_MAX_NUMA_NODES; s++)
		rte_mempool_free(st->pool[s]);
}

static int
run(struct fwd_state *st, const struct fwd_opts *o)
{
	struct fwd_lcore_arg args[FWD_MAX_LCORES];
	unsigned int in_use[RTE_MAX_NUMA_NODES] = { 0 };
	struct fwd_stats_view *v;
	unsigned int slots_bad;
	uint16_t launched;
	int rc, e;

	v = fwd_stats_start(st);
	if (v == NULL)
		return -ENOMEM;
	if (fwd_telemetry_register(st) != 0)
		fprintf(stderr, "pvb-fwd: telemetry commands not registered\n");
	launched = launch_workers(st, args);
	rc = launched == st->nb_lcores ? 0 : -ECHILD;
	if (rc == 0)
		supervise(st, v);
	drain(st, launched);
	fwd_telemetry_withdraw();
	slots_bad = fwd_ports_close(st);
	if ((pools_check(st, in_use) != 0 || slots_bad != 0) && rc == 0)
		rc = -EBADMSG;
	fwd_stats_summary(v, stdout);
	if (o->json != NULL && (e = fwd_stats_json(v, o->json, in_use)) != 0) {
		fprintf(stderr, "pvb-fwd: cannot write %s: %s\n", o->json, strerror(-e));
		rc = rc ? rc : e;
	}
	fwd_stats_free(v);
	return rc;
}

int
main(int argc, char **argv)
{
	static struct fwd_config cfg;	/* large: keep it off the stack */
	struct fwd_state st = { .cfg = &cfg };
	char err[FWD_ERR_LEN];
	struct fwd_opts o;
	int n, rc;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "pvb-fwd: EAL init failed: %s\n", rte_strerror(rte_errno));
		return FWD_EXIT_USAGE;
	}
	/* from here on a signal ends the run cleanly, whatever stage it is in */
	sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_signal }, NULL);
	sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_signal }, NULL);
	rc = parse_args(argc - n, argv + n, &o);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "pvb-fwd: bad options; see %s -- --help\n", argv[0]);
		rte_eal_cleanup();
		return rc < 0 ? FWD_EXIT_USAGE : 0;
	}
	if (load_config(&cfg, &o) != 0) {
		rte_eal_cleanup();
		return FWD_EXIT_USAGE;
	}
	if (o.dump) {
		fwd_config_dump(&cfg, stdout);
		rte_eal_cleanup();
		return 0;
	}
	if (fwd_ports_setup(&st, err, sizeof(err)) != 0 ||
	    fwd_lcores_setup(&st, err, sizeof(err)) != 0) {
		fprintf(stderr, "pvb-fwd: %s\n", err);
		fwd_ports_close(&st);
		fwd_bridge_free(&st);
		fwd_lcores_free(&st);
		pools_free(&st);
		rte_eal_cleanup();
		return FWD_EXIT_USAGE;
	}
	capture_init(n, argv);
	rc = run(&st, &o);
	fwd_ports_close(&st);	/* run() closed them, unless it stopped before */
	fwd_bridge_free(&st);
	fwd_lcores_free(&st);
	pools_free(&st);
	rte_pdump_uninit();
	rte_eal_cleanup();
	return rc == 0 ? 0 : 1;
}
