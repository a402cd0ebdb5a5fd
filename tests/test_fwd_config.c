/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Unit tests for pvb-fwd's configuration (suite 'unit').
 *
 * Good files (the .ini files in tests/fwd_config, and inline texts) load to
 * the values they say; dump -> load gives the same configuration back; every
 * error is one line that starts "FILE:LINE: " with the line of the offending
 * key or section and says what is wrong; fwd_config_resolve() runs against a
 * fake EAL. The error cases are one table, each row run as its own test.
 *
 * One fixture: two configurations on the heap (they are half a megabyte
 * each), an error buffer, and a fake EAL started as "-l 0-3" with no
 * devices: main lcore 0, workers 1, 2, 3.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fwd_config.h"
#include "test_common.h"

#ifndef FWD_CONFIG_DIR
#define FWD_CONFIG_DIR	"tests/fwd_config"
#endif

#define LABEL		"t.ini"		/* what inline texts are called in errors */

/* The two ports most inline texts start with: lines 1 to 4. */
#define PORTS_AB	"[port.a]\ndev = net_null0\n[port.b]\ndev = net_null1\n"

/* ----------------------------------------------------------------------------
 * Fixture
 */

struct fx {
	struct fwd_config *c;
	struct fwd_config *c2;		/* the other side of a round trip */
	char err[FWD_ERR_LEN];
	struct fwd_env env;
	bool enabled[FWD_MAX_LCORE_ID + 1];
	uintptr_t row;			/* error table row + 1; 0 for other tests */
};

static bool
fake_lcore_enabled(unsigned int lcore_id, void *arg)
{
	const struct fx *f = arg;

	return lcore_id <= FWD_MAX_LCORE_ID && f->enabled[lcore_id];
}

static void
set_workers(struct fx *f, unsigned int n)
{
	unsigned int i;

	memset(f->enabled, 0, sizeof(f->enabled));
	f->enabled[0] = true;
	for (i = 0; i < n; i++) {
		f->env.workers[i] = i + 1;
		f->enabled[i + 1] = true;
	}
	f->env.nb_workers = n;
}

static void
add_eal_port(struct fx *f, const char *name)
{
	snprintf(f->env.eal_ports[f->env.nb_eal_ports++], FWD_NAME_LEN, "%s", name);
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->row = (uintptr_t)*state;
	f->c = malloc(sizeof(*f->c));
	f->c2 = malloc(sizeof(*f->c2));
	if (f->c == NULL || f->c2 == NULL)
		return -1;
	f->env.lcore_enabled = fake_lcore_enabled;
	f->env.arg = f;
	f->env.main_lcore = 0;
	set_workers(f, 3);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	free(f->c);
	free(f->c2);
	free(f);
	return 0;
}

/* ----------------------------------------------------------------------------
 * Helpers
 */

static void
load_ok(struct fx *f, const char *text)
{
	if (fwd_config_load_string(f->c, LABEL, text, f->err, sizeof(f->err)) != 0)
		fail_msg("unexpected error: %s", f->err);
}

static void
load_file_ok(struct fx *f, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", FWD_CONFIG_DIR, name);
	if (fwd_config_load(f->c, path, f->err, sizeof(f->err)) != 0)
		fail_msg("unexpected error: %s", f->err);
	assert_string_equal(f->c->path, path);
}

static void
resolve_ok(struct fx *f, struct fwd_config *c)
{
	if (fwd_config_resolve(c, &f->env, f->err, sizeof(f->err)) != 0)
		fail_msg("unexpected error: %s", f->err);
}

/* One line, "LABEL:LINE: ...PHRASE..." */
static void
assert_error(const char *err, const char *label, unsigned int line, const char *phrase)
{
	char prefix[600];

	snprintf(prefix, sizeof(prefix), "%s:%u: ", label, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, phrase) == NULL)
		fail_msg("expected \"%s...%s...\", got \"%s\"", prefix, phrase, err);
	assert_null(strchr(err, '\n'));
}

static void
load_fails(struct fx *f, const char *text, unsigned int line, const char *phrase)
{
	strcpy(f->err, "untouched");
	assert_int_equal(fwd_config_load_string(f->c, LABEL, text, f->err, sizeof(f->err)), -1);
	assert_error(f->err, LABEL, line, phrase);
}

static void
resolve_fails(struct fx *f, unsigned int line, const char *phrase)
{
	strcpy(f->err, "untouched");
	assert_int_equal(fwd_config_resolve(f->c, &f->env, f->err, sizeof(f->err)), -1);
	assert_error(f->err, f->c->path[0] != '\0' ? f->c->path : "(config)", line, phrase);
}

static void
assert_qref(const struct fwd_config *c, const struct fwd_qref *q, const char *port,
	    unsigned int queue)
{
	assert_true(q->port < c->nb_ports);
	assert_string_equal(c->ports[q->port].name, port);
	assert_int_equal(q->queue, queue);
}

static const struct fwd_lcore_cfg *
find_lcore(const struct fwd_config *c, unsigned int lcore_id)
{
	unsigned int i;

	for (i = 0; i < c->nb_lcores; i++)
		if (c->lcores[i].lcore_id == lcore_id)
			return &c->lcores[i];
	fail_msg("no lcore %u", lcore_id);
	return NULL;
}

static int
port_index(const struct fwd_config *c, const char *name)
{
	unsigned int i;

	for (i = 0; i < c->nb_ports; i++)
		if (strcmp(c->ports[i].name, name) == 0)
			return (int)i;
	fail_msg("no port %s", name);
	return -1;
}

static const char *
peer_name(const struct fwd_config *c, const char *port)
{
	int p = c->ports[port_index(c, port)].peer;

	return p < 0 ? "" : c->ports[p].name;
}

/* Equal as configurations: lines and path may differ. */
static void
assert_config_equal(const struct fwd_config *a, const struct fwd_config *b)
{
	unsigned int i;

	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->burst, b->burst);
	assert_int_equal(a->stats_period_ms, b->stats_period_ms);
	assert_int_equal(a->idle, b->idle);
	assert_int_equal(a->idle_polls, b->idle_polls);
	assert_int_equal(a->idle_sleep_us, b->idle_sleep_us);
	assert_int_equal(a->duration_ms, b->duration_ms);
	assert_int_equal(a->ring_size, b->ring_size);
	assert_int_equal(a->l2_size, b->l2_size);
	assert_int_equal(a->l2_age_ms, b->l2_age_ms);
	assert_int_equal(a->nb_mbufs, b->nb_mbufs);
	assert_int_equal(a->nb_ports, b->nb_ports);
	for (i = 0; i < a->nb_ports; i++) {
		const struct fwd_port_cfg *p = &a->ports[i], *q = &b->ports[i];

		assert_string_equal(p->name, q->name);
		assert_string_equal(p->dev, q->dev);
		assert_int_equal(p->nb_queues, q->nb_queues);
		assert_int_equal(p->nb_rxd, q->nb_rxd);
		assert_int_equal(p->nb_txd, q->nb_txd);
		assert_int_equal(p->peer, q->peer);
		assert_int_equal(p->promisc, q->promisc);
	}
	assert_int_equal(a->nb_lcores, b->nb_lcores);
	for (i = 0; i < a->nb_lcores; i++) {
		const struct fwd_lcore_cfg *l = &a->lcores[i], *m = &b->lcores[i];

		assert_int_equal(l->lcore_id, m->lcore_id);
		assert_int_equal(l->nb_rx, m->nb_rx);
		assert_int_equal(l->nb_tx, m->nb_tx);
		assert_memory_equal(l->rx, m->rx, l->nb_rx * sizeof(l->rx[0]));
		assert_memory_equal(l->tx, m->tx, l->nb_tx * sizeof(l->tx[0]));
	}
}

/* Dumps f->c, checks the text stays within rte_cfgfile's limits, loads it into f->c2. */
static void
round_trip(struct fx *f)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	fwd_config_dump(f->c, m);
	assert_int_equal(fclose(m), 0);
	if (fwd_config_load_string(f->c2, "dump", text, f->err, sizeof(f->err)) != 0)
		fail_msg("dump does not load back: %s\n%s", f->err, text);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		assert_true(strlen(line) <= 255);
	free(text);
	assert_config_equal(f->c, f->c2);
}

/* Builds a text line by line, counting lines so errors can be located. */
struct gen {
	FILE *f;
	char *text;
	size_t len;
	unsigned int lines;
};

static void
gen_open(struct gen *g)
{
	memset(g, 0, sizeof(*g));
	g->f = open_memstream(&g->text, &g->len);
	assert_non_null(g->f);
}

/* Adds one line; returns its number. */
static unsigned int __attribute__((format(printf, 2, 3)))
gen_line(struct gen *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(g->f, fmt, ap);
	va_end(ap);
	fputc('\n', g->f);
	return ++g->lines;
}

static char *
gen_close(struct gen *g)
{
	assert_int_equal(fclose(g->f), 0);
	return g->text;
}

/* ----------------------------------------------------------------------------
 * Good files
 */

static void
test_defaults(void **state)
{
	struct fwd_config *c = ((struct fx *)*state)->c;

	memset(c, 0xa5, sizeof(*c));
	fwd_config_defaults(c);
	assert_int_equal(c->mode, FWD_MODE_XCONNECT);
	assert_int_equal(c->burst, 32);
	assert_int_equal(c->stats_period_ms, 1000);
	assert_int_equal(c->idle, FWD_IDLE_BUSY);
	assert_int_equal(c->idle_polls, 256);
	assert_int_equal(c->idle_sleep_us, 100);
	assert_int_equal(c->duration_ms, 0);
	assert_int_equal(c->ring_size, 1024);
	assert_int_equal(c->l2_size, 4096);
	assert_int_equal(c->l2_age_ms, 300000);
	assert_int_equal(c->nb_mbufs, 0);
	assert_int_equal(c->nb_ports, 0);
	assert_int_equal(c->nb_lcores, 0);
	assert_string_equal(c->path, "");
}

static void
test_empty_text(void **state)
{
	struct fx *f = *state;

	load_ok(f, "");
	fwd_config_defaults(f->c2);
	assert_config_equal(f->c, f->c2);
	assert_string_equal(f->c->path, LABEL);
	load_ok(f, "; only a comment\n\n   \n# and another\n");
	assert_config_equal(f->c, f->c2);
}

static void
test_example_file(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;
	const struct fwd_port_cfg *p;
	const struct fwd_lcore_cfg *l;

	load_file_ok(f, "example.ini");
	assert_int_equal(c->mode, FWD_MODE_XCONNECT);
	assert_int_equal(c->burst, 64);
	assert_int_equal(c->stats_period_ms, 500);
	assert_int_equal(c->idle, FWD_IDLE_ADAPTIVE);
	assert_int_equal(c->idle_polls, 1000);
	assert_int_equal(c->idle_sleep_us, 50);
	assert_int_equal(c->duration_ms, 30000);
	assert_int_equal(c->ring_size, 2048);
	assert_int_equal(c->l2_size, 8192);
	assert_int_equal(c->l2_age_ms, 120000);
	assert_int_equal(c->nb_mbufs, 32768);

	assert_int_equal(c->nb_ports, 4);
	p = &c->ports[0];
	assert_string_equal(p->name, "in0");
	assert_string_equal(p->dev, "net_null0");
	assert_int_equal(p->nb_queues, 2);
	assert_int_equal(p->nb_rxd, 512);
	assert_int_equal(p->nb_txd, 2048);
	assert_false(p->promisc);
	assert_int_equal(p->line, 19);
	p = &c->ports[1];
	assert_string_equal(p->dev, "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap");
	assert_int_equal(p->nb_rxd, 1024);
	assert_int_equal(p->nb_txd, 1024);
	assert_true(p->promisc);
	assert_string_equal(c->ports[2].name, "net_tap0");
	assert_string_equal(c->ports[2].dev, "");
	assert_int_equal(c->ports[2].nb_queues, 1);
	assert_string_equal(peer_name(c, "in0"), "out0");
	assert_string_equal(peer_name(c, "out0"), "in0");
	assert_string_equal(peer_name(c, "net_tap0"), "out1");
	assert_string_equal(peer_name(c, "out1"), "net_tap0");

	assert_int_equal(c->nb_lcores, 3);
	l = find_lcore(c, 1);
	assert_int_equal(l->line, 38);
	assert_int_equal(l->nb_rx, 3);
	assert_qref(c, &l->rx[0], "in0", 0);
	assert_qref(c, &l->rx[1], "out0", 0);
	assert_qref(c, &l->rx[2], "net_tap0", 0);
	assert_int_equal(l->nb_tx, 0);	/* defaults come with resolve() */
	l = find_lcore(c, 2);
	assert_int_equal(l->nb_rx, 3);
	assert_qref(c, &l->rx[2], "out1", 0);
	l = find_lcore(c, 3);
	assert_int_equal(l->nb_rx, 0);
	assert_int_equal(l->nb_tx, 1);
	assert_qref(c, &l->tx[0], "out1", 0);
}

static void
test_minimal_file(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;

	load_file_ok(f, "minimal.ini");
	assert_int_equal(c->nb_ports, 2);
	assert_int_equal(c->ports[0].peer, 1);
	assert_int_equal(c->ports[1].peer, 0);
	assert_int_equal(c->ports[0].nb_queues, 1);
	assert_int_equal(c->ports[0].nb_rxd, 1024);
	assert_true(c->ports[1].promisc);
	assert_int_equal(c->nb_lcores, 0);
	assert_int_equal(c->burst, 32);
}

static void
test_l2_file(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;
	unsigned int i;

	load_file_ok(f, "l2.ini");
	assert_int_equal(c->mode, FWD_MODE_L2);
	assert_int_equal(c->l2_size, 65536);
	assert_int_equal(c->l2_age_ms, 60000);
	assert_int_equal(c->nb_ports, 3);
	for (i = 0; i < c->nb_ports; i++)
		assert_int_equal(c->ports[i].peer, -1);
	assert_false(c->ports[2].promisc);
}

static void
test_syntax_forms(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;

	load_ok(f, "\t; leading comment\r\n"
		"[ general ]   # spaces inside the brackets\r\n"
		"burst=8\r\n"
		"  idle   =   adaptive   ; trailing comment\r\n"
		"\r\n"
		"[port.a-1_x.y]\r\n"
		"dev = net_pcap0,iface=lo   # '=' and ',' in a value\r\n"
		"[port.B]\r\n"
		"dev = net_null0");	/* no final newline */
	assert_int_equal(c->burst, 8);
	assert_int_equal(c->idle, FWD_IDLE_ADAPTIVE);
	assert_string_equal(c->ports[0].name, "a-1_x.y");
	assert_int_equal(c->ports[0].line, 6);
	assert_string_equal(c->ports[0].dev, "net_pcap0,iface=lo");
	assert_string_equal(c->ports[1].dev, "net_null0");
	assert_int_equal(c->ports[1].peer, 0);
}

static void
test_decimals(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;

	load_ok(f, "[general]\nstats_period = 0.5\nduration = 2.25\nl2_age = 0.001\n");
	assert_int_equal(c->stats_period_ms, 500);
	assert_int_equal(c->duration_ms, 2250);
	assert_int_equal(c->l2_age_ms, 1);
	load_ok(f, "[general]\nstats_period = 0\nduration = 1.000\nl2_age = 4000000\n");
	assert_int_equal(c->stats_period_ms, 0);
	assert_int_equal(c->duration_ms, 1000);
	assert_int_equal(c->l2_age_ms, 4000000000u);
	load_ok(f, "[general]\nstats_period = 007.10\n");
	assert_int_equal(c->stats_period_ms, 7100);
}

static void
test_limits(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;

	load_ok(f, "[general]\nburst = 512\nidle_polls = 10000000\nidle_sleep_us = 1000000\n"
		"ring_size = 65536\nl2_size = 16777216\nmbufs = 16777216\n"
		"[port.a]\nqueues = 16\nrxd = 16384\ntxd = 64\n[port.b]\n"
		"[lcore.1023]\nrx = a:15\n");
	assert_int_equal(c->burst, 512);
	assert_int_equal(c->idle_polls, 10000000);
	assert_int_equal(c->idle_sleep_us, 1000000);
	assert_int_equal(c->ring_size, 65536);
	assert_int_equal(c->l2_size, 16777216);
	assert_int_equal(c->nb_mbufs, 16777216);
	assert_int_equal(c->ports[0].nb_queues, 16);
	assert_int_equal(c->ports[0].nb_rxd, 16384);
	assert_int_equal(c->ports[0].nb_txd, 64);
	assert_int_equal(c->lcores[0].lcore_id, 1023);
	load_ok(f, "[general]\nburst = 1\nmbufs = 0\nring_size = 64\nl2_size = 1\n[lcore.0]\n"
		"tx = a:0\n[port.a]\n[port.b]\n");
	assert_int_equal(c->burst, 1);
	assert_int_equal(c->nb_mbufs, 0);
	assert_int_equal(c->lcores[0].lcore_id, 0);
}

static void
test_bools(void **state)
{
	static const struct {
		const char *text;
		bool v;
	} cases[] = {
		{ "yes", true }, { "no", false }, { "true", true },
		{ "false", false }, { "1", true }, { "0", false },
	};
	struct fx *f = *state;
	char text[128];
	size_t i;

	for (i = 0; i < DIM(cases); i++) {
		snprintf(text, sizeof(text), "[port.a]\npromisc = %s\n[port.b]\n", cases[i].text);
		load_ok(f, text);
		assert_int_equal(f->c->ports[0].promisc, cases[i].v);
	}
}

static void
test_explicit_tx(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;
	const struct fwd_lcore_cfg *l;

	load_ok(f, PORTS_AB "[lcore.1]\nrx = a:0\ntx = b:0\n[lcore.2]\nrx = b:0\ntx = a:0\n");
	l = find_lcore(c, 1);
	assert_int_equal(l->nb_rx, 1);
	assert_int_equal(l->nb_tx, 1);
	assert_qref(c, &l->rx[0], "a", 0);
	assert_qref(c, &l->tx[0], "b", 0);
	l = find_lcore(c, 2);
	assert_qref(c, &l->tx[0], "a", 0);
	/* explicit tx stays as given through resolve(): nothing is added */
	resolve_ok(f, f->c);
	assert_int_equal(find_lcore(c, 1)->nb_tx, 1);
	assert_int_equal(find_lcore(c, 2)->nb_tx, 1);
}

static void
test_peers_explicit(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;

	/* crossed, one side each: a-c, b-d */
	load_ok(f, "[port.a]\npeer = c\n[port.b]\n[port.c]\n[port.d]\npeer = b\n");
	assert_string_equal(peer_name(c, "a"), "c");
	assert_string_equal(peer_name(c, "c"), "a");
	assert_string_equal(peer_name(c, "b"), "d");
	assert_string_equal(peer_name(c, "d"), "b");
	/* both sides, and a peer named before its section */
	load_ok(f, "[port.a]\npeer = b\n[port.b]\npeer = a\n");
	assert_string_equal(peer_name(c, "b"), "a");
}

static void
test_many_ports_and_lcores(void **state)
{
	struct fx *f = *state;
	unsigned int i, last = 0;
	struct gen g;
	char *text;

	/* exactly at the limits: loads */
	gen_open(&g);
	gen_line(&g, "[general]");
	gen_line(&g, "mode = l2");
	for (i = 0; i < FWD_MAX_PORTS; i++) {
		gen_line(&g, "[port.p%u]", i);
		gen_line(&g, "queues = %u", FWD_MAX_QUEUES);
	}
	for (i = 0; i < FWD_MAX_LCORES; i++) {
		gen_line(&g, "[lcore.%u]", i + 1);
		gen_line(&g, "rx = p%u:%u", i / FWD_MAX_QUEUES, i % FWD_MAX_QUEUES);
	}
	text = gen_close(&g);
	load_ok(f, text);
	free(text);
	assert_int_equal(f->c->nb_ports, FWD_MAX_PORTS);
	assert_int_equal(f->c->nb_lcores, FWD_MAX_LCORES);

	/* one port more */
	gen_open(&g);
	for (i = 0; i <= FWD_MAX_PORTS; i++)
		last = gen_line(&g, "[port.p%u]", i);
	gen_line(&g, "[general]");
	gen_line(&g, "mode = l2");
	text = gen_close(&g);
	load_fails(f, text, last, "[port.p32]: too many ports (at most 32)");
	free(text);

	/* one lcore more */
	gen_open(&g);
	gen_line(&g, "[port.a]");
	gen_line(&g, "queues = 16");
	gen_line(&g, "[port.b]");
	gen_line(&g, "queues = 16");
	for (i = 0; i <= FWD_MAX_LCORES; i++) {
		last = gen_line(&g, "[lcore.%u]", i);
		gen_line(&g, "tx = %s:%u", i < 16 ? "a" : "b", i % 16);
	}
	text = gen_close(&g);
	load_fails(f, text, last, "[lcore.128]: too many lcores (at most 128)");
	free(text);
}

/* ----------------------------------------------------------------------------
 * Errors
 */

struct err_case {
	const char *name;
	const char *text;
	unsigned int line;
	const char *phrase;
};

#define K16	"kkkkkkkkkkkkkkkk"
#define V64	"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"

static const struct err_case err_cases[] = {
	/* syntax: what rte_cfgfile would reject, skip or truncate */
	{ "err_outside_section", "burst = 8\n[general]\n", 1, "'burst' is outside any section" },
	{ "err_header_unclosed", "[general]\nburst = 8\n[port.a\n", 3,
	  "malformed section header '[port.a'" },
	{ "err_header_trailing", "[general] burst = 8\n", 1, "malformed section header" },
	{ "err_header_nested", "[port.[a]]\n", 1, "malformed section header" },
	{ "err_header_empty", "[general]\n[ ]\n", 2, "empty section name" },
	{ "err_no_equals", "[general]\nburst 8\n", 2,
	  "expected 'key = value' or '[section]', not 'burst 8'" },
	{ "err_no_key", "[general]\n = 8\n", 2, "[general]: '=' without a key" },
	{ "err_empty_value", "[general]\nburst =\n", 2, "[general] burst: empty value" },
	{ "err_empty_value_comment", "[general]\nmode = l2\nburst =   ; none\n", 3,
	  "[general] burst: empty value" },
	{ "err_key_too_long", "[general]\n" K16 K16 K16 K16 " = 1\n", 2,
	  "key longer than 63 characters" },
	{ "err_section_too_long", "[port." K16 K16 K16 K16 "]\n", 1,
	  "section name longer than 63 characters" },
	{ "err_value_too_long", "[port.a]\ndev = " V64 V64 V64 V64 "\n", 2,
	  "[port.a] dev: value longer than 255 characters" },

	/* sections */
	{ "err_unknown_section", "[general]\nburst = 8\n\n[prot.a]\n", 4,
	  "unknown section [prot.a] (expected [general], [port.NAME] or [lcore.N])" },
	{ "err_unknown_section_case", "[General]\n", 1, "unknown section [General]" },
	{ "err_duplicate_general", "[general]\nburst = 8\n[general]\n", 3,
	  "duplicate section [general] (first at line 1)" },
	{ "err_duplicate_port", "[port.a]\n[port.b]\n[port.a]\n", 3,
	  "duplicate section [port.a] (first at line 1)" },
	{ "err_duplicate_lcore", PORTS_AB "[lcore.1]\nrx = a:0\n[lcore.1]\nrx = b:0\n", 7,
	  "duplicate section [lcore.1] (first at line 5)" },
	{ "err_port_name_space", "[port.a b]\n", 1, "bad port name 'a b'" },
	{ "err_port_name_colon", "[port.a:1]\n", 1, "bad port name 'a:1'" },
	{ "err_port_name_empty", "[port.]\n", 1, "bad port name ''" },
	{ "err_port_name_long", "[port." K16 K16 "]\n", 1, "bad port name" },
	{ "err_lcore_id_word", "[lcore.x]\n", 1, "[lcore.x]: bad lcore id 'x'" },
	{ "err_lcore_id_big", "[lcore.1024]\n", 1, "bad lcore id '1024' (0..1023" },
	{ "err_lcore_id_zeros", "[lcore.01]\n", 1, "no leading zeros" },
	{ "err_lcore_id_empty", "[lcore.]\n", 1, "bad lcore id ''" },
	{ "err_lcore_empty", PORTS_AB "[lcore.1]\n", 5, "[lcore.1]: no rx or tx queues" },

	/* keys */
	{ "err_unknown_key", "[port.a]\nqueue = 2\n", 2,
	  "[port.a]: unknown key 'queue' (known: dev, queues, rxd, txd, peer, promisc)" },
	{ "err_unknown_key_case", "[general]\nBurst = 8\n", 2, "unknown key 'Burst'" },
	{ "err_unknown_key_lcore", PORTS_AB "[lcore.1]\nrx = a:0\npoll = b:0\n", 7,
	  "[lcore.1]: unknown key 'poll' (known: rx, tx)" },
	{ "err_duplicate_key", "[general]\nburst = 8\nmode = l2\nburst = 16\n", 4,
	  "[general]: duplicate key 'burst' (first at line 2)" },
	{ "err_duplicate_key_port", "[port.a]\ndev = x\ndev = y\n", 3, "duplicate key 'dev'" },

	/* values */
	{ "err_burst_word", "[general]\nburst = abc\n", 2,
	  "[general] burst: 'abc' is not a number" },
	{ "err_burst_negative", "[general]\nburst = -1\n", 2, "'-1' is not a number" },
	{ "err_burst_hex", "[general]\nburst = 0x20\n", 2, "'0x20' is not a number" },
	{ "err_burst_inner_space", "[general]\nburst = 3 2\n", 2, "'3 2' is not a number" },
	{ "err_burst_decimal", "[general]\nburst = 1.5\n", 2, "'1.5' is not a number" },
	{ "err_burst_zero", "[general]\nburst = 0\n", 2, "0 is out of range (1..512)" },
	{ "err_burst_big", "[general]\nburst = 513\n", 2, "513 is out of range (1..512)" },
	{ "err_burst_huge", "[general]\nburst = 99999999999999999999999\n", 2,
	  "99999999999999999999999 is out of range (1..512)" },
	{ "err_ring_size_pow2", "[general]\nring_size = 1000\n", 2,
	  "[general] ring_size: 1000 is not a power of two (64..65536)" },
	{ "err_ring_size_small", "[general]\nring_size = 32\n", 2,
	  "32 is out of range (a power of two, 64..65536)" },
	{ "err_ring_size_big", "[general]\nring_size = 131072\n", 2, "out of range" },
	{ "err_mode", "[general]\nmode = bridge\n", 2,
	  "[general] mode: 'bridge' is not one of: xconnect, l2" },
	{ "err_mode_case", "[general]\nmode = L2\n", 2, "'L2' is not one of" },
	{ "err_idle", "[general]\nidle = lazy\n", 2, "'lazy' is not one of: busy, adaptive" },
	{ "err_idle_polls_zero", "[general]\nidle_polls = 0\n", 2,
	  "0 is out of range (1..10000000)" },
	{ "err_idle_polls_big", "[general]\nidle_polls = 10000001\n", 2, "out of range" },
	{ "err_idle_sleep_zero", "[general]\nidle_sleep_us = 0\n", 2,
	  "0 is out of range (1..1000000)" },
	{ "err_idle_sleep_big", "[general]\nidle_sleep_us = 1000001\n", 2, "out of range" },
	{ "err_stats_period_fine", "[general]\nstats_period = 0.0001\n", 2,
	  "[general] stats_period: '0.0001' is finer than a millisecond" },
	{ "err_stats_period_unit", "[general]\nstats_period = 1s\n", 2,
	  "'1s' is not a number of seconds" },
	{ "err_stats_period_negative", "[general]\nstats_period = -1\n", 2,
	  "is not a number of seconds" },
	{ "err_duration_trailing_dot", "[general]\nduration = 1.\n", 2,
	  "'1.' is not a number of seconds" },
	{ "err_duration_leading_dot", "[general]\nduration = .5\n", 2,
	  "'.5' is not a number of seconds" },
	{ "err_duration_two_dots", "[general]\nduration = 1.5.3\n", 2,
	  "is not a number of seconds" },
	{ "err_duration_fine_then_junk", "[general]\nduration = 1.0005x\n", 2,
	  "is not a number of seconds" },
	{ "err_duration_big", "[general]\nduration = 4000000.001\n", 2,
	  "4000000.001 is out of range (0..4000000 s)" },
	{ "err_duration_huge", "[general]\nduration = 99999999999999999999999\n", 2,
	  "out of range" },
	{ "err_duration_long_word", "[general]\nduration = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 2,
	  "is not a number of seconds" },
	{ "err_l2_age_zero", "[general]\nl2_age = 0\n", 2,
	  "[general] l2_age: 0 is out of range (0.001..4000000 s)" },
	{ "err_l2_size_zero", "[general]\nl2_size = 0\n", 2, "0 is out of range (1..16777216)" },
	{ "err_l2_size_big", "[general]\nl2_size = 16777217\n", 2, "out of range" },
	{ "err_mbufs_small", "[general]\nmbufs = 100\n", 2,
	  "[general] mbufs: 100 is out of range (0 or 1024..16777216)" },
	{ "err_mbufs_big", "[general]\nmbufs = 16777217\n", 2, "out of range" },
	{ "err_queues_zero", "[port.a]\nqueues = 0\n", 2, "[port.a] queues: 0 is out of range" },
	{ "err_queues_too_many", "[port.a]\nqueues = 17\n", 2,
	  "[port.a] queues: 17 is out of range (1..16)" },
	{ "err_rxd_pow2", "[port.a]\nrxd = 1000\n", 2,
	  "[port.a] rxd: 1000 is not a power of two (64..16384)" },
	{ "err_rxd_small", "[port.a]\nrxd = 32\n", 2, "out of range (a power of two, 64..16384)" },
	{ "err_txd_big", "[port.a]\ntxd = 32768\n", 2, "[port.a] txd: 32768 is out of range" },
	{ "err_promisc", "[port.a]\npromisc = maybe\n", 2,
	  "[port.a] promisc: 'maybe' is not one of: no, yes, false, true, 0, 1" },

	/* [lcore.N] rx and tx */
	{ "err_rx_undeclared", "[port.a]\n[port.b]\n[lcore.3]\nrx = a:0, p9:0\n", 4,
	  "[lcore.3] rx: port 'p9' is not declared (add a [port.p9] section)" },
	{ "err_tx_undeclared", "[port.a]\n[port.b]\n[lcore.3]\ntx = c:0\n", 4,
	  "[lcore.3] tx: port 'c' is not declared" },
	{ "err_rx_queue_range", "[port.a]\nqueues = 2\n[port.b]\n[lcore.1]\nrx = a:1, b:1\n", 5,
	  "[lcore.1] rx: queue 1 of port 'b' does not exist (queues = 1)" },
	{ "err_rx_queue_huge", PORTS_AB "[lcore.1]\nrx = a:99999999999999999999\n", 6,
	  "does not exist" },
	{ "err_rx_no_colon", PORTS_AB "[lcore.1]\nrx = a0\n", 6,
	  "[lcore.1] rx: 'a0' is not NAME:QUEUE" },
	{ "err_rx_queue_word", PORTS_AB "[lcore.1]\nrx = a:x\n", 6, "'a:x' is not NAME:QUEUE" },
	{ "err_rx_no_name", PORTS_AB "[lcore.1]\nrx = :0\n", 6, "':0' is not NAME:QUEUE" },
	{ "err_rx_no_queue", PORTS_AB "[lcore.1]\nrx = a:\n", 6, "'a:' is not NAME:QUEUE" },
	{ "err_rx_queue_negative", PORTS_AB "[lcore.1]\nrx = a:-1\n", 6, "is not NAME:QUEUE" },
	{ "err_rx_only_separators", PORTS_AB "[lcore.1]\nrx = , ,\n", 6,
	  "[lcore.1] rx: no NAME:QUEUE in the list" },
	{ "err_rx_twice", PORTS_AB "[lcore.1]\nrx = a:0\n[lcore.2]\nrx = b:0, a:0\n", 8,
	  "[lcore.2] rx: queue a:0 assigned twice: [lcore.1] (line 6) already polls it" },
	{ "err_rx_twice_same_lcore", PORTS_AB "[lcore.1]\nrx = a:0, b:0\nrx = a:0\n", 7,
	  "queue a:0 assigned twice: [lcore.1] (line 6)" },
	{ "err_tx_twice", PORTS_AB "[lcore.1]\nrx = a:0, b:0\ntx = a:0\n[lcore.2]\ntx = a:0\n", 9,
	  "[lcore.2] tx: queue a:0 owned twice: [lcore.1] (line 7) already transmits on it" },

	/* xconnect peers */
	{ "err_peer_l2", "[general]\nmode = l2\n[port.a]\npeer = b\n[port.b]\n", 4,
	  "[port.a] peer: only valid in xconnect mode (mode = l2)" },
	{ "err_peer_l2_general_last", "[port.a]\npeer = b\n[port.b]\n[general]\nmode = l2\n", 2,
	  "only valid in xconnect mode" },
	{ "err_peer_self", "[port.a]\npeer = a\n[port.b]\n", 2,
	  "[port.a] peer: a port cannot be its own peer" },
	{ "err_peer_undeclared", "[port.a]\npeer = c\n[port.b]\n", 2,
	  "[port.a] peer: port 'c' is not declared (add a [port.c] section)" },
	{ "err_peer_not_mutual", "[port.a]\npeer = b\n[port.b]\npeer = c\n[port.c]\npeer = b\n", 4,
	  "[port.b] peer: 'c', but [port.a] (line 2) has peer = b; peers must be mutual" },
	{ "err_peer_taken", "[port.a]\npeer = b\n[port.b]\n[port.c]\npeer = b\n[port.d]\n", 5,
	  "[port.c] peer: port 'b' is already the peer of 'a' (line 2)" },
	{ "err_peer_missing", "[port.a]\npeer = b\n[port.b]\n[port.c]\n", 4,
	  "[port.c]: no peer" },
	{ "err_xconnect_odd", "[port.a]\n[port.b]\n[port.c]\n", 3,
	  "[port.c]: xconnect pairs ports in declaration order and this one has no partner" },
	{ "err_xconnect_one", "[general]\nburst = 8\n\n[port.a]\ndev = net_null0\n", 4,
	  "no partner" },
};

static void
test_error_case(void **state)
{
	struct fx *f = *state;
	const struct err_case *e = &err_cases[f->row - 1];

	load_fails(f, e->text, e->line, e->phrase);
}

/* A file's errors carry its path; the exact message, as the documentation quotes it. */
static void
test_error_in_file(void **state)
{
	struct fx *f = *state;
	const char *path = FWD_CONFIG_DIR "/bad_undeclared.ini";

	assert_int_equal(fwd_config_load(f->c, path, f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, FWD_CONFIG_DIR "/bad_undeclared.ini:12: "
			    "[lcore.3] rx: port 'p9' is not declared (add a [port.p9] section)");
}

static void
test_error_missing_file(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fwd_config_load(f->c, "/nonexistent/fwd.ini", f->err, sizeof(f->err)),
			 -1);
	assert_error(f->err, "/nonexistent/fwd.ini", 1,
		     "cannot open the configuration file: No such file or directory");
	assert_int_equal(fwd_config_load(f->c, FWD_CONFIG_DIR, f->err, sizeof(f->err)), -1);
	assert_error(f->err, FWD_CONFIG_DIR, 1, "Is a directory");
}

/* Writes @p n bytes of @p text to a fresh temporary file named in @p path. */
static void
temp_file(char *path, const char *text, size_t n)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void
test_error_not_text(void **state)
{
	static const char text[] = "[general]\nburst = 8\nmode\0 = l2\n";
	struct fx *f = *state;
	char path[] = "/tmp/test_fwd_config_XXXXXX";
	size_t big = (1u << 20) + 1;
	char *junk;

	temp_file(path, text, sizeof(text) - 1);
	assert_int_equal(fwd_config_load(f->c, path, f->err, sizeof(f->err)), -1);
	unlink(path);
	assert_error(f->err, path, 3, "NUL byte");

	junk = malloc(big);
	assert_non_null(junk);
	memset(junk, '\n', big);
	strcpy(path, "/tmp/test_fwd_config_XXXXXX");
	temp_file(path, junk, big);
	free(junk);
	assert_int_equal(fwd_config_load(f->c, path, f->err, sizeof(f->err)), -1);
	unlink(path);
	assert_error(f->err, path, 1, "larger than 1048576 bytes");
}

/* A small buffer gets a truncated message, still NUL-terminated; none at all is fine too. */
static void
test_error_buffer(void **state)
{
	struct fx *f = *state;
	char small[8];

	memset(small, 'x', sizeof(small));
	assert_int_equal(fwd_config_load_string(f->c, LABEL, "[x]\n", small, sizeof(small)), -1);
	assert_string_equal(small, "t.ini:1");
	assert_int_equal(fwd_config_load_string(f->c, LABEL, "[x]\n", NULL, 0), -1);
}

/* ----------------------------------------------------------------------------
 * Round trips
 */

static void
test_round_trip_example(void **state)
{
	struct fx *f = *state;

	load_file_ok(f, "example.ini");
	round_trip(f);
	load_file_ok(f, "l2.ini");
	round_trip(f);
	fwd_config_defaults(f->c);
	round_trip(f);
}

static void
test_round_trip_resolved(void **state)
{
	struct fx *f = *state;

	add_eal_port(f, "net_tap0");
	load_file_ok(f, "example.ini");
	resolve_ok(f, f->c);
	round_trip(f);
	resolve_ok(f, f->c2);
	assert_config_equal(f->c, f->c2);

	load_file_ok(f, "l2.ini");
	resolve_ok(f, f->c);
	round_trip(f);
}

/* One worker polling every queue of 32 ports: the lists are wrapped over many rx lines. */
static void
test_round_trip_long_lists(void **state)
{
	struct fx *f = *state;
	unsigned int i;
	struct gen g;
	char *text;

	gen_open(&g);
	gen_line(&g, "[general]");
	gen_line(&g, "mode = l2");
	for (i = 0; i < FWD_MAX_PORTS; i++) {
		gen_line(&g, "[port.a_rather_long_port_name_%02u]", i);
		gen_line(&g, "dev = net_null%u", i);
		gen_line(&g, "queues = %u", FWD_MAX_QUEUES);
	}
	text = gen_close(&g);
	load_ok(f, text);
	free(text);
	set_workers(f, 1);
	resolve_ok(f, f->c);
	assert_int_equal(f->c->nb_lcores, 1);
	assert_int_equal(f->c->lcores[0].nb_rx, FWD_MAX_QREFS);
	assert_int_equal(f->c->lcores[0].nb_tx, FWD_MAX_QREFS);
	round_trip(f);
}

/* ----------------------------------------------------------------------------
 * resolve()
 */

static void
test_resolve_example(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;
	const struct fwd_lcore_cfg *l;

	add_eal_port(f, "net_tap0");
	load_file_ok(f, "example.ini");
	resolve_ok(f, f->c);
	assert_int_equal(c->nb_lcores, 3);
	l = find_lcore(c, 1);		/* no tx key: owns what it polls */
	assert_int_equal(l->nb_tx, 3);
	assert_qref(c, &l->tx[0], "in0", 0);
	assert_qref(c, &l->tx[1], "out0", 0);
	assert_qref(c, &l->tx[2], "net_tap0", 0);
	l = find_lcore(c, 2);		/* polls out1:0, but lcore 3 lists tx out1:0 */
	assert_int_equal(l->nb_tx, 2);
	assert_qref(c, &l->tx[0], "in0", 1);
	assert_qref(c, &l->tx[1], "out0", 1);
	l = find_lcore(c, 3);
	assert_int_equal(l->nb_tx, 1);
	assert_qref(c, &l->tx[0], "out1", 0);
}

static void
test_resolve_main_lcore(void **state)
{
	struct fx *f = *state;

	load_ok(f, PORTS_AB "[lcore.1]\nrx = a:0\n[lcore.0]\nrx = b:0\n");
	resolve_fails(f, 7, "lcore 0 is the main lcore (it runs stats and control)");
}

static void
test_resolve_disabled_lcore(void **state)
{
	struct fx *f = *state;

	load_ok(f, PORTS_AB "[lcore.7]\nrx = a:0, b:0\n");
	resolve_fails(f, 5, "lcore 7 is not enabled (EAL -l/--lcores)");
	/* no callback: every lcore counts as enabled */
	f->env.lcore_enabled = NULL;
	resolve_ok(f, f->c);
}

static void
test_resolve_round_robin(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;
	const struct fwd_lcore_cfg *l;
	unsigned int i;

	set_workers(f, 2);
	load_ok(f, "[port.a]\ndev = net_null0\nqueues = 2\n"
		"[port.b]\ndev = net_null1\nqueues = 2\n");
	resolve_ok(f, f->c);
	assert_int_equal(c->nb_lcores, 2);
	for (i = 0; i < 2; i++) {
		l = find_lcore(c, i + 1);	/* one queue of each port */
		assert_int_equal(l->line, 0);
		assert_int_equal(l->nb_rx, 2);
		assert_qref(c, &l->rx[0], "a", i);
		assert_qref(c, &l->rx[1], "b", i);
		assert_int_equal(l->nb_tx, 2);
		assert_memory_equal(l->tx, l->rx, 2 * sizeof(l->rx[0]));
	}
}

static void
test_resolve_more_workers(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;

	set_workers(f, 3);
	load_file_ok(f, "minimal.ini");
	resolve_ok(f, f->c);
	assert_int_equal(c->nb_lcores, 2);	/* lcore 3 gets nothing, so no section */
	assert_qref(c, &find_lcore(c, 1)->rx[0], "a", 0);
	assert_qref(c, &find_lcore(c, 2)->rx[0], "b", 0);
	assert_int_equal(find_lcore(c, 1)->nb_rx, 1);
}

static void
test_resolve_tx_defaults(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;
	const struct fwd_lcore_cfg *l;

	add_eal_port(f, "a");
	add_eal_port(f, "b");
	load_ok(f, "[port.a]\nqueues = 2\n[port.b]\n"
		"[lcore.1]\nrx = a:0, a:1\ntx = b:0\n"
		"[lcore.2]\nrx = b:0\ntx = a:1\n");
	resolve_ok(f, f->c);
	l = find_lcore(c, 1);	/* explicit b:0, default a:0; a:1 is lcore 2's */
	assert_int_equal(l->nb_tx, 2);
	assert_qref(c, &l->tx[0], "b", 0);
	assert_qref(c, &l->tx[1], "a", 0);
	l = find_lcore(c, 2);	/* explicit a:1; b:0 is lcore 1's */
	assert_int_equal(l->nb_tx, 1);
	assert_qref(c, &l->tx[0], "a", 1);
}

static void
test_resolve_eal_ports(void **state)
{
	struct fx *f = *state;
	const struct fwd_config *c = f->c;

	add_eal_port(f, "net_null0");
	add_eal_port(f, "net_null1");
	load_ok(f, "[general]\nburst = 16\n");
	resolve_ok(f, f->c);
	assert_int_equal(c->nb_ports, 2);
	assert_string_equal(c->ports[0].name, "net_null0");
	assert_string_equal(c->ports[0].dev, "");
	assert_int_equal(c->ports[0].line, 0);
	assert_int_equal(c->ports[0].nb_queues, 1);
	assert_string_equal(peer_name(c, "net_null0"), "net_null1");
	assert_string_equal(peer_name(c, "net_null1"), "net_null0");
	assert_int_equal(c->nb_lcores, 2);
	assert_qref(c, &find_lcore(c, 2)->rx[0], "net_null1", 0);

	/* l2: any number, no peers */
	add_eal_port(f, "net_null2");
	load_ok(f, "[general]\nmode = l2\n");
	resolve_ok(f, f->c);
	assert_int_equal(c->nb_ports, 3);
	assert_int_equal(c->ports[2].peer, -1);
	assert_int_equal(c->nb_lcores, 3);
}

static void
test_resolve_eal_ports_odd(void **state)
{
	struct fx *f = *state;

	add_eal_port(f, "net_null0");
	add_eal_port(f, "net_null1");
	add_eal_port(f, "net_null2");
	load_ok(f, "");
	resolve_fails(f, 1, "'net_null2' has no partner");
}

static void
test_resolve_no_ports(void **state)
{
	struct fx *f = *state;

	load_ok(f, "[general]\nmode = l2\n");
	resolve_fails(f, 1, "no ports: declare [port.NAME] sections or give EAL devices");
	/* never loaded: errors still have a label */
	fwd_config_defaults(f->c);
	resolve_fails(f, 1, "no ports");
	assert_error(f->err, "(config)", 1, "no ports");
}

static void
test_resolve_no_workers(void **state)
{
	struct fx *f = *state;

	set_workers(f, 0);
	load_file_ok(f, "minimal.ini");
	resolve_fails(f, 1, "no worker lcores: give EAL at least two lcores, e.g. -l 0,1");
}

static void
test_resolve_no_device(void **state)
{
	struct fx *f = *state;

	add_eal_port(f, "a");
	load_ok(f, "[port.a]\n\n[port.b]\nqueues = 2\n");
	resolve_fails(f, 3, "port b: no such device; give it with --vdev/-a or set dev =");
}

static void
test_resolve_unpolled_queue(void **state)
{
	struct fx *f = *state;

	load_ok(f, "[port.a]\n[port.b]\nqueues = 2\n[lcore.1]\nrx = a:0, b:1\n");
	add_eal_port(f, "a");
	add_eal_port(f, "b");
	resolve_fails(f, 2, "port b queue 0: no lcore polls it");
}

/* resolve() on its own result changes nothing. */
static void
test_resolve_idempotent(void **state)
{
	struct fx *f = *state;

	add_eal_port(f, "net_tap0");
	load_file_ok(f, "example.ini");
	resolve_ok(f, f->c);
	memcpy(f->c2, f->c, sizeof(*f->c));
	resolve_ok(f, f->c2);
	assert_config_equal(f->c, f->c2);

	load_file_ok(f, "l2.ini");
	resolve_ok(f, f->c);
	memcpy(f->c2, f->c, sizeof(*f->c));
	resolve_ok(f, f->c2);
	assert_config_equal(f->c, f->c2);
}

#define FX_TEST(f)	cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		FX_TEST(test_defaults),
		FX_TEST(test_empty_text),
		FX_TEST(test_example_file),
		FX_TEST(test_minimal_file),
		FX_TEST(test_l2_file),
		FX_TEST(test_syntax_forms),
		FX_TEST(test_decimals),
		FX_TEST(test_limits),
		FX_TEST(test_bools),
		FX_TEST(test_explicit_tx),
		FX_TEST(test_peers_explicit),
		FX_TEST(test_many_ports_and_lcores),
		FX_TEST(test_error_in_file),
		FX_TEST(test_error_missing_file),
		FX_TEST(test_error_not_text),
		FX_TEST(test_error_buffer),
		FX_TEST(test_round_trip_example),
		FX_TEST(test_round_trip_resolved),
		FX_TEST(test_round_trip_long_lists),
		FX_TEST(test_resolve_example),
		FX_TEST(test_resolve_main_lcore),
		FX_TEST(test_resolve_disabled_lcore),
		FX_TEST(test_resolve_round_robin),
		FX_TEST(test_resolve_more_workers),
		FX_TEST(test_resolve_tx_defaults),
		FX_TEST(test_resolve_eal_ports),
		FX_TEST(test_resolve_eal_ports_odd),
		FX_TEST(test_resolve_no_ports),
		FX_TEST(test_resolve_no_workers),
		FX_TEST(test_resolve_no_device),
		FX_TEST(test_resolve_unpolled_queue),
		FX_TEST(test_resolve_idempotent),
	};
	size_t nf = DIM(fixed), n = nf + DIM(err_cases), i;
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	int rc;

	if (tests == NULL)
		return 1;
	memcpy(tests, fixed, sizeof(fixed));
	/* each row its own named test; cmocka hands the row to fx_setup() as the state */
	for (i = 0; i < DIM(err_cases); i++) {
		tests[nf + i].name = err_cases[i].name;
		tests[nf + i].test_func = test_error_case;
		tests[nf + i].setup_func = fx_setup;
		tests[nf + i].teardown_func = fx_teardown;
		tests[nf + i].initial_state = (void *)(uintptr_t)(i + 1);
	}
	/* cmocka_run_group_tests_name() needs an array of fixed size: call what it expands to */
	rc = _cmocka_run_group_tests("unit", tests, n, NULL, NULL);
	free(tests);
	return rc;
}
