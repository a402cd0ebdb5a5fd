/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * pvb-fwd configuration: loading. The text layer (fwd_config_text.c) hands
 * over sections and keys with their lines; here each key goes through the
 * rule of its section, and the checks across sections follow. Resolving
 * against the EAL and dumping are in fwd_config_resolve.c.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cfgfile.h>
#include <rte_common.h>
#include <rte_string_fns.h>

#include "fwd_config.h"
#include "fwd_config_pvt.h"

#define MAX_FILE_BYTES	(1u << 20)	/* a configuration is a page or two; refuse a log file */
#define MAX_SECTIONS	(1 + FWD_MAX_PORTS + FWD_MAX_LCORES)
#define MAX_SEC_MS	4000000000u	/* 4,000,000 s: fits the uint32_t ms fields */
#define QREF_SEPS	", \t"

/* ----------------------------------------------------------------------------
 * Ports, lcores, defaults
 */

static bool
valid_port_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= FWD_NAME_LEN)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int
find_port(const struct fwd_config *c, const char *name)
{
	unsigned int i;

	for (i = 0; i < c->nb_ports; i++)
		if (strcmp(c->ports[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
fwd_cfg_port_init(struct fwd_port_cfg *p, const char *name, unsigned int line)
{
	memset(p, 0, sizeof(*p));
	strlcpy(p->name, name, sizeof(p->name));
	p->nb_queues = 1;
	p->nb_rxd = 1024;
	p->nb_txd = 1024;
	p->peer = -1;
	p->promisc = true;
	p->line = line;
}

void
fwd_cfg_lcore_init(struct fwd_lcore_cfg *l, unsigned int lcore_id, unsigned int line)
{
	l->lcore_id = lcore_id;
	l->nb_rx = 0;
	l->nb_tx = 0;
	l->line = line;
}

/* xconnect's default: 0<->1, 2<->3... Returns the port left over, or -1. */
int
fwd_cfg_pair_in_order(struct fwd_config *c)
{
	unsigned int i;

	for (i = 0; i + 1 < c->nb_ports; i += 2) {
		c->ports[i].peer = (int)i + 1;
		c->ports[i + 1].peer = (int)i;
	}
	return i < c->nb_ports ? (int)i : -1;
}

void
fwd_config_defaults(struct fwd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = FWD_MODE_XCONNECT;
	c->burst = 32;
	c->stats_period_ms = 1000;
	c->idle = FWD_IDLE_BUSY;
	c->idle_polls = 256;
	c->idle_sleep_us = 100;
	c->duration_ms = 0;
	c->ring_size = 1024;
	c->l2_size = 4096;
	c->l2_age_ms = 300000;
	c->nb_mbufs = 0;
	c->zero_copy = true;
}

/* ----------------------------------------------------------------------------
 * Loading: per-key rules
 */

static const char *const mode_names[] = { "xconnect", "l2", NULL };
static const char *const idle_names[] = { "busy", "adaptive", NULL };
/* even index: false */
static const char *const bool_names[] = { "no", "yes", "false", "true", "0", "1", NULL };

_Static_assert(FWD_MODE_XCONNECT == 0 && FWD_MODE_L2 == 1, "mode_names order");
_Static_assert(FWD_IDLE_BUSY == 0 && FWD_IDLE_ADAPTIVE == 1, "idle_names order");
_Static_assert(sizeof(enum fwd_mode) == sizeof(uint32_t), "enums are stored as uint32_t");
_Static_assert(sizeof(enum fwd_idle) == sizeof(uint32_t), "enums are stored as uint32_t");

#define IN(type, m)	.off = offsetof(type, m), .size = RTE_SIZEOF_FIELD(type, m)
#define GEN(m)		IN(struct fwd_config, m)
#define PORT(m)		IN(struct fwd_port_cfg, m)

static const struct key_rule general_rules[] = {
	{ .key = "mode", .kind = VAL_ENUM, GEN(mode), .names = mode_names },
	{ .key = "burst", .kind = VAL_UINT, GEN(burst), .min = 1, .max = FWD_MAX_BURST },
	{ .key = "stats_period", .kind = VAL_MSEC, GEN(stats_period_ms), .max = MAX_SEC_MS },
	{ .key = "idle", .kind = VAL_ENUM, GEN(idle), .names = idle_names },
	{ .key = "idle_polls", .kind = VAL_UINT, GEN(idle_polls), .min = 1, .max = 10000000 },
	{ .key = "idle_sleep_us", .kind = VAL_UINT, GEN(idle_sleep_us), .min = 1, .max = 1000000 },
	{ .key = "duration", .kind = VAL_MSEC, GEN(duration_ms), .max = MAX_SEC_MS },
	{ .key = "ring_size", .kind = VAL_POW2, GEN(ring_size), .min = 64, .max = 65536 },
	{ .key = "l2_size", .kind = VAL_UINT, GEN(l2_size), .min = 1, .max = 1u << 24 },
	{ .key = "l2_age", .kind = VAL_MSEC, GEN(l2_age_ms), .min = 1, .max = MAX_SEC_MS },
	{ .key = "mbufs", .kind = VAL_UINT, GEN(nb_mbufs), .min = 1024, .max = 16u << 20,
	  .zero_ok = true },
	{ .key = "zero_copy", .kind = VAL_BOOL, GEN(zero_copy) },
};

static const struct key_rule port_rules[] = {
	{ .key = "dev", .kind = VAL_STR, PORT(dev) },
	{ .key = "queues", .kind = VAL_UINT, PORT(nb_queues), .min = 1, .max = FWD_MAX_QUEUES },
	{ .key = "rxd", .kind = VAL_POW2, PORT(nb_rxd), .min = 64, .max = 16384 },
	{ .key = "txd", .kind = VAL_POW2, PORT(nb_txd), .min = 64, .max = 16384 },
	{ .key = "peer", .kind = VAL_PEER },
	{ .key = "promisc", .kind = VAL_BOOL, PORT(promisc) },
};

static const struct key_rule lcore_rules[] = {
	{ .key = "rx", .kind = VAL_RX },
	{ .key = "tx", .kind = VAL_TX },
};

static const struct {
	const struct key_rule *rules;
	unsigned int nb_rules;
} sec_rules[SEC_NB_KINDS] = {
	[SEC_GENERAL] = { general_rules, RTE_DIM(general_rules) },
	[SEC_PORT] = { port_rules, RTE_DIM(port_rules) },
	[SEC_LCORE] = { lcore_rules, RTE_DIM(lcore_rules) },
};

/* Who claimed a (port, queue) for rx or tx, for "assigned twice" errors. */
struct owner {
	uint16_t lcore;		/* index into lcores[] + 1; 0 = nobody yet */
	unsigned int line;
};

struct load_ctx {
	struct diag d;
	struct fwd_config *c;
	struct locator loc;
	struct rte_cfgfile_entry *ents;		/* values, parallel to loc.keys */
	struct {
		enum sec_kind kind;
		uint16_t idx;			/* into ports[] or lcores[] */
	} ref[MAX_SECTIONS + 1];		/* parallel to loc.secs; see classify() */
	unsigned int general_line;
	unsigned int peer_line[FWD_MAX_PORTS];	/* of its peer key; 0 = none */
	struct owner rx_owner[FWD_MAX_PORTS][FWD_MAX_QUEUES];
	struct owner tx_owner[FWD_MAX_PORTS][FWD_MAX_QUEUES];
};

/* One key of one section, as the handlers see it. */
struct kv {
	const char *sec;
	const char *key;
	const char *val;
	unsigned int line;
};

/* "[section] key: message" at the key's line. */
static int __rte_format_printf(3, 4)
kv_fail(const struct load_ctx *x, const struct kv *kv, const char *fmt, ...)
{
	char msg[FWD_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fwd_cfg_fail(&x->d, kv->line, "[%s] %s: %s", kv->sec, kv->key, msg);
}

static void
join_names(char *buf, size_t len, const char *const *names)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; *names != NULL && n < len; names++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n != 0 ? ", " : "", *names);
}

static void
range_str(char *buf, size_t len, const struct key_rule *r)
{
	char lo[24], hi[24];	/* fwd_cfg_fmt_msec() of any uint64_t fits */

	if (r->kind == VAL_MSEC) {
		fwd_cfg_fmt_msec(lo, sizeof(lo), r->min);
		fwd_cfg_fmt_msec(hi, sizeof(hi), r->max);
		snprintf(buf, len, "%s..%s s", lo, hi);
		return;
	}
	snprintf(buf, len, "%s%" PRIu64 "..%" PRIu64, r->zero_ok ? "0 or " : "", r->min, r->max);
}

static void
store_uint(void *base, const struct key_rule *r, uint64_t v)
{
	uint8_t *p = (uint8_t *)base + r->off;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;
	bool b = v != 0;

	switch (r->size) {
	case sizeof(bool):
		memcpy(p, &b, sizeof(b));
		break;
	case sizeof(uint16_t):
		memcpy(p, &u16, sizeof(u16));
		break;
	default:
		memcpy(p, &u32, sizeof(u32));
		break;
	}
}

static int
set_number(const struct load_ctx *x, const struct kv *kv, const struct key_rule *r, void *base)
{
	char range[64];
	uint64_t v = 0;
	int rc;

	rc = r->kind == VAL_MSEC ? fwd_cfg_parse_msec(kv->val, &v) : fwd_cfg_parse_u64(kv->val, &v);
	if (rc == -EINVAL)
		return kv_fail(x, kv, r->kind == VAL_MSEC ?
			       "'%s' is not a number of seconds (e.g. 2 or 0.5)" :
			       "'%s' is not a number", kv->val);
	if (rc == -EDOM)
		return kv_fail(x, kv, "'%s' is finer than a millisecond", kv->val);
	range_str(range, sizeof(range), r);
	if (rc == -ERANGE || ((v < r->min || v > r->max) && !(v == 0 && r->zero_ok)))
		return kv_fail(x, kv, "%s is out of range (%s%s)", kv->val,
			       r->kind == VAL_POW2 ? "a power of two, " : "", range);
	if (r->kind == VAL_POW2 && !rte_is_power_of_2((uint32_t)v))
		return kv_fail(x, kv, "%s is not a power of two (%s)", kv->val, range);
	store_uint(base, r, v);
	return 0;
}

static int
set_choice(const struct load_ctx *x, const struct kv *kv, const struct key_rule *r, void *base)
{
	const char *const *names = r->kind == VAL_BOOL ? bool_names : r->names;
	char list[128];
	unsigned int i;

	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], kv->val) == 0) {
			store_uint(base, r, r->kind == VAL_BOOL ? i % 2 : i);
			return 0;
		}
	}
	join_names(list, sizeof(list), names);
	return kv_fail(x, kv, "'%s' is not one of: %s", kv->val, list);
}

static int
set_str(const struct load_ctx *x, const struct kv *kv, const struct key_rule *r, void *base)
{
	if (strlen(kv->val) >= r->size)
		return kv_fail(x, kv, "longer than %zu characters", r->size - 1);
	strlcpy((char *)base + r->off, kv->val, r->size);
	return 0;
}

/* Records peer = NAME; whether the pairs agree is checked once all ports are read. */
static int
set_peer(struct load_ctx *x, const struct kv *kv, unsigned int port)
{
	struct fwd_config *c = x->c;
	int p;

	if (c->mode != FWD_MODE_XCONNECT)
		return kv_fail(x, kv, "only valid in xconnect mode (mode = %s)",
			       mode_names[c->mode]);
	p = find_port(c, kv->val);
	if (p < 0)
		return kv_fail(x, kv, "port '%s' is not declared (add a [port.%s] section)",
			       kv->val, kv->val);
	if ((unsigned int)p == port)
		return kv_fail(x, kv, "a port cannot be its own peer");
	c->ports[port].peer = p;
	x->peer_line[port] = kv->line;
	return 0;
}

/* Gives (p, q) to lcore @p lc for rx or tx; each may have one lcore only. */
static int
claim(struct load_ctx *x, const struct kv *kv, unsigned int lc, bool tx, unsigned int p,
      unsigned int q)
{
	struct owner *o = tx ? &x->tx_owner[p][q] : &x->rx_owner[p][q];
	struct fwd_lcore_cfg *l = &x->c->lcores[lc];
	uint16_t *n = tx ? &l->nb_tx : &l->nb_rx;
	struct fwd_qref *refs = tx ? l->tx : l->rx;

	if (o->lcore != 0)
		return kv_fail(x, kv, "queue %s:%u %s twice: [lcore.%u] (line %u) already %s it",
			       x->c->ports[p].name, q, tx ? "owned" : "assigned",
			       x->c->lcores[o->lcore - 1].lcore_id, o->line,
			       tx ? "transmits on" : "polls");
	/* cannot trigger while claims are unique: FWD_MAX_QREFS covers every (p, q) */
	if (*n >= FWD_MAX_QREFS)
		return kv_fail(x, kv, "too many queues (at most %d)", FWD_MAX_QREFS);
	o->lcore = (uint16_t)(lc + 1);
	o->line = kv->line;
	refs[*n].port = (uint16_t)p;
	refs[*n].queue = (uint16_t)q;
	(*n)++;
	return 0;
}

/* One "NAME:Q" (split at the last ':'). */
static int
add_qref(struct load_ctx *x, const struct kv *kv, unsigned int lc, bool tx, char *tok)
{
	const struct fwd_config *c = x->c;
	char *colon = strrchr(tok, ':');
	uint64_t q = 0;
	int p;

	if (colon == NULL || colon == tok || fwd_cfg_parse_u64(colon + 1, &q) == -EINVAL)
		return kv_fail(x, kv, "'%s' is not NAME:QUEUE", tok);
	*colon = '\0';
	p = find_port(c, tok);
	if (p < 0)
		return kv_fail(x, kv, "port '%s' is not declared (add a [port.%s] section)",
			       tok, tok);
	if (q >= c->ports[p].nb_queues)
		return kv_fail(x, kv, "queue %s of port '%s' does not exist (queues = %u)",
			       colon + 1, tok, c->ports[p].nb_queues);
	return claim(x, kv, lc, tx, (unsigned int)p, (unsigned int)q);
}

static int
add_qrefs(struct load_ctx *x, const struct kv *kv, unsigned int lc, bool tx)
{
	char buf[CFG_VALUE_LEN];
	char *tok, *save = NULL;
	unsigned int n = 0;

	strlcpy(buf, kv->val, sizeof(buf));
	for (tok = strtok_r(buf, QREF_SEPS, &save); tok != NULL;
	     tok = strtok_r(NULL, QREF_SEPS, &save), n++)
		if (add_qref(x, kv, lc, tx, tok) < 0)
			return -1;
	if (n == 0)
		return kv_fail(x, kv, "no NAME:QUEUE in the list");
	return 0;
}

static int
apply_key(struct load_ctx *x, const struct kv *kv, const struct key_rule *r, void *base,
	  unsigned int idx)
{
	switch (r->kind) {
	case VAL_UINT:
	case VAL_POW2:
	case VAL_MSEC:
		return set_number(x, kv, r, base);
	case VAL_ENUM:
	case VAL_BOOL:
		return set_choice(x, kv, r, base);
	case VAL_STR:
		return set_str(x, kv, r, base);
	case VAL_PEER:
		return set_peer(x, kv, idx);
	case VAL_RX:
	case VAL_TX:
		return add_qrefs(x, kv, idx, r->kind == VAL_TX);
	}
	return kv_fail(x, kv, "internal error: no handler");
}

static const struct key_rule *
find_rule(enum sec_kind kind, const char *key)
{
	unsigned int i;

	for (i = 0; i < sec_rules[kind].nb_rules; i++)
		if (strcmp(sec_rules[kind].rules[i].key, key) == 0)
			return &sec_rules[kind].rules[i];
	return NULL;
}

/* For fwd_config_dump(), which prints every key from the rules that load it. */
const struct key_rule *
fwd_cfg_rules(enum sec_kind kind, unsigned int *nb_rules)
{
	*nb_rules = sec_rules[kind].nb_rules;
	return sec_rules[kind].rules;
}

static int
unknown_key(const struct load_ctx *x, const struct kv *kv, enum sec_kind kind)
{
	char list[256];
	size_t n = 0;
	unsigned int i;

	list[0] = '\0';
	for (i = 0; i < sec_rules[kind].nb_rules && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i != 0 ? ", " : "",
				      sec_rules[kind].rules[i].key);
	return fwd_cfg_fail(&x->d, kv->line, "[%s]: unknown key '%s' (known: %s)", kv->sec,
			    kv->key, list);
}

/* Keys are given once, except rx and tx, whose lists add up. */
static int
check_duplicate_key(const struct load_ctx *x, const struct loc_section *ls, unsigned int k,
		    const struct key_rule *r)
{
	const struct loc_key *keys = &x->loc.keys[ls->first_key];
	unsigned int j;

	if (r->kind == VAL_RX || r->kind == VAL_TX)
		return 0;
	for (j = 0; j < k; j++)
		if (strcmp(keys[j].name, keys[k].name) == 0)
			return fwd_cfg_fail(&x->d, keys[k].line, "[%s]: duplicate key '%s' "
					    "(first at line %u)", ls->name, keys[k].name,
					    keys[j].line);
	return 0;
}

static void *
section_base(struct load_ctx *x, unsigned int s)
{
	switch (x->ref[s].kind) {
	case SEC_PORT:
		return &x->c->ports[x->ref[s].idx];
	case SEC_LCORE:
		return &x->c->lcores[x->ref[s].idx];
	default:
		return x->c;
	}
}

static int
apply_section(struct load_ctx *x, unsigned int s)
{
	const struct loc_section *ls = &x->loc.secs[s];
	enum sec_kind kind = x->ref[s].kind;
	void *base = section_base(x, s);
	unsigned int k;

	for (k = 0; k < ls->nb_keys; k++) {
		const struct rte_cfgfile_entry *e = &x->ents[ls->first_key + k];
		const struct kv kv = {
			.sec = ls->name,
			.key = e->name,
			.val = e->value,
			.line = x->loc.keys[ls->first_key + k].line,
		};
		const struct key_rule *r = find_rule(kind, kv.key);

		if (r == NULL)
			return unknown_key(x, &kv, kind);
		if (check_duplicate_key(x, ls, k, r) < 0 ||
		    apply_key(x, &kv, r, base, x->ref[s].idx) < 0)
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * Loading: sections
 */

static int
add_general(struct load_ctx *x, unsigned int s)
{
	const struct loc_section *ls = &x->loc.secs[s];

	if (x->general_line != 0)
		return fwd_cfg_fail(&x->d, ls->line, "duplicate section [general] "
				    "(first at line %u)", x->general_line);
	x->general_line = ls->line;
	x->ref[s].kind = SEC_GENERAL;
	return 0;
}

static int
add_port(struct load_ctx *x, unsigned int s, const char *name)
{
	const struct loc_section *ls = &x->loc.secs[s];
	struct fwd_config *c = x->c;
	int p;

	if (!valid_port_name(name))
		return fwd_cfg_fail(&x->d, ls->line, "[%s]: bad port name '%s' (1..%d "
				    "characters of A-Z a-z 0-9 _ . -)", ls->name, name,
				    FWD_NAME_LEN - 1);
	p = find_port(c, name);
	if (p >= 0)
		return fwd_cfg_fail(&x->d, ls->line, "duplicate section [%s] (first at line %u)",
				    ls->name, c->ports[p].line);
	if (c->nb_ports == FWD_MAX_PORTS)
		return fwd_cfg_fail(&x->d, ls->line, "[%s]: too many ports (at most %d)", ls->name,
				    FWD_MAX_PORTS);
	fwd_cfg_port_init(&c->ports[c->nb_ports], name, ls->line);
	x->ref[s].kind = SEC_PORT;
	x->ref[s].idx = c->nb_ports++;
	return 0;
}

static int
add_lcore(struct load_ctx *x, unsigned int s, const char *id)
{
	const struct loc_section *ls = &x->loc.secs[s];
	struct fwd_config *c = x->c;
	unsigned int i;
	uint64_t v;

	/* no leading zeros: [lcore.01] and [lcore.1] would be the same lcore */
	if (fwd_cfg_parse_u64(id, &v) != 0 || v > FWD_MAX_LCORE_ID ||
	    (id[0] == '0' && id[1] != '\0'))
		return fwd_cfg_fail(&x->d, ls->line, "[%s]: bad lcore id '%s' (0..%d, no leading "
				    "zeros)", ls->name, id, FWD_MAX_LCORE_ID);
	for (i = 0; i < c->nb_lcores; i++)
		if (c->lcores[i].lcore_id == v)
			return fwd_cfg_fail(&x->d, ls->line, "duplicate section [%s] "
					    "(first at line %u)", ls->name, c->lcores[i].line);
	if (c->nb_lcores == FWD_MAX_LCORES)
		return fwd_cfg_fail(&x->d, ls->line, "[%s]: too many lcores (at most %d)", ls->name,
				    FWD_MAX_LCORES);
	fwd_cfg_lcore_init(&c->lcores[c->nb_lcores], (unsigned int)v, ls->line);
	x->ref[s].kind = SEC_LCORE;
	x->ref[s].idx = c->nb_lcores++;
	return 0;
}

static int
classify(struct load_ctx *x, unsigned int s)
{
	const struct loc_section *ls = &x->loc.secs[s];

	/*
	 * Unreachable: once [general], every port and every lcore are in, the
	 * next section fails below as a duplicate or one too many. Keeps ref[]
	 * in bounds all the same.
	 */
	if (s >= RTE_DIM(x->ref))
		return fwd_cfg_fail(&x->d, ls->line, "too many sections");
	if (strcmp(ls->name, "general") == 0)
		return add_general(x, s);
	if (strncmp(ls->name, "port.", 5) == 0)
		return add_port(x, s, ls->name + 5);
	if (strncmp(ls->name, "lcore.", 6) == 0)
		return add_lcore(x, s, ls->name + 6);
	return fwd_cfg_fail(&x->d, ls->line, "unknown section [%s] (expected [general], "
			    "[port.NAME] or [lcore.N])", ls->name);
}

/* A peer key given for port @p i: its partner must agree or say nothing (then it agrees). */
static int
complete_peer(struct load_ctx *x, unsigned int i)
{
	struct fwd_config *c = x->c;
	unsigned int j = (unsigned int)c->ports[i].peer;
	struct fwd_port_cfg *a = &c->ports[i], *b = &c->ports[j];

	if (b->peer == (int)i)
		return 0;
	if (x->peer_line[j] != 0)
		return fwd_cfg_fail(&x->d, x->peer_line[j], "[port.%s] peer: '%s', but "
				    "[port.%s] (line %u) has peer = %s; peers must be mutual",
				    b->name, c->ports[b->peer].name, a->name, x->peer_line[i],
				    b->name);
	if (b->peer >= 0)
		return fwd_cfg_fail(&x->d, x->peer_line[i], "[port.%s] peer: port '%s' is "
				    "already the peer of '%s' (line %u)", a->name, b->name,
				    c->ports[b->peer].name, x->peer_line[b->peer]);
	b->peer = (int)i;
	return 0;
}

static int
check_peers(struct load_ctx *x)
{
	struct fwd_config *c = x->c;
	bool any = false;
	unsigned int i;
	int left;

	if (c->mode != FWD_MODE_XCONNECT)
		return 0;
	for (i = 0; i < c->nb_ports; i++)
		any |= x->peer_line[i] != 0;
	if (!any) {
		left = fwd_cfg_pair_in_order(c);
		if (left >= 0)
			return fwd_cfg_fail(&x->d, c->ports[left].line, "[port.%s]: xconnect "
					    "pairs ports in declaration order and this one "
					    "has no partner (declare an even number of ports, "
					    "set peer = NAME, or set mode = l2)",
					    c->ports[left].name);
		return 0;
	}
	for (i = 0; i < c->nb_ports; i++)
		if (x->peer_line[i] != 0 && complete_peer(x, i) < 0)
			return -1;
	for (i = 0; i < c->nb_ports; i++)
		if (c->ports[i].peer < 0)
			return fwd_cfg_fail(&x->d, c->ports[i].line, "[port.%s]: no peer (in "
					    "xconnect mode every port needs one once any port "
					    "sets peer)", c->ports[i].name);
	return 0;
}

static int
check_lcores_busy(const struct load_ctx *x)
{
	const struct fwd_config *c = x->c;
	unsigned int i;

	for (i = 0; i < c->nb_lcores; i++)
		if (c->lcores[i].nb_rx == 0 && c->lcores[i].nb_tx == 0)
			return fwd_cfg_fail(&x->d, c->lcores[i].line, "[lcore.%u]: no rx or "
					    "tx queues (give rx = NAME:Q, or remove the section)",
					    c->lcores[i].lcore_id);
	return 0;
}

/*
 * A hand-off link must take two bursts: the sender holds its rx queues back
 * when less than a burst of room is left, so with fewer than two the link
 * would carry one burst at a time and the two lcores would take turns
 * instead of working at once.
 */
static int
check_ring_vs_burst(struct load_ctx *x)
{
	if (x->c->ring_size >= 2u * x->c->burst)
		return 0;
	return fwd_cfg_fail(&x->d, x->general_line,
			    "[general]: ring_size %u is less than two bursts (burst %u); "
			    "raise ring_size or lower burst", x->c->ring_size, x->c->burst);
}

/*
 * Sections are applied by kind, not in file order: [general] first, since
 * mode decides whether peer is allowed, then ports, whose queue counts the
 * lcores' lists are checked against.
 */
static int
load_sections(struct load_ctx *x)
{
	unsigned int s, kind;

	for (s = 0; s < x->loc.nb_secs; s++)
		if (classify(x, s) < 0)
			return -1;
	for (kind = 0; kind < SEC_NB_KINDS; kind++)
		for (s = 0; s < x->loc.nb_secs; s++)
			if (x->ref[s].kind == kind && apply_section(x, s) < 0)
				return -1;
	if (check_peers(x) < 0 || check_ring_vs_burst(x) < 0)
		return -1;
	return check_lcores_busy(x);
}

static int
load_text(struct fwd_config *c, const char *label, const char *text, char *err, size_t errlen)
{
	const struct diag d = { label, err, errlen };
	struct load_ctx *x;
	int rc;

	fwd_config_defaults(c);
	strlcpy(c->path, label, sizeof(c->path));
	/* on the heap: the ownership tables make it a few kB */
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return fwd_cfg_fail(&d, 1, "out of memory");
	x->d = d;
	x->c = c;
	rc = fwd_cfg_loc_scan(&x->loc, &d, text);
	if (rc == 0)
		rc = fwd_cfg_cfgfile_read(&x->d, &x->loc, &x->ents);
	if (rc == 0)
		rc = load_sections(x);
	free(x->ents);
	fwd_cfg_loc_free(&x->loc);
	free(x);
	return rc;
}

/* Reads @p fd to the end into a NUL-terminated buffer; NULL with the error written. */
static char *
read_fd(const struct diag *d, int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf, *p;
	ssize_t r;

	buf = malloc(cap);
	if (buf == NULL)
		goto nomem;
	for (;;) {
		if (n + 1 == cap) {
			p = realloc(buf, cap * 2);
			if (p == NULL)
				goto nomem;
			buf = p;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r == 0)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fwd_cfg_fail(d, 1, "cannot read the configuration file: %s",
				     strerror(errno));
			goto error;
		}
		n += (size_t)r;
		if (n > MAX_FILE_BYTES) {
			fwd_cfg_fail(d, 1, "larger than %u bytes: not a configuration file",
				     MAX_FILE_BYTES);
			goto error;
		}
	}
	buf[n] = '\0';
	*len = n;
	return buf;
nomem:
	fwd_cfg_fail(d, 1, "out of memory");
error:
	free(buf);
	return NULL;
}

/* A NUL byte would end the text early, silently: say where it is. */
static int
check_nul(const struct diag *d, const char *text, size_t len)
{
	const char *z = memchr(text, '\0', len);
	unsigned int line = 1;
	const char *p;

	if (z == NULL)
		return 0;
	for (p = text; p < z; p++)
		line += *p == '\n';
	return fwd_cfg_fail(d, line, "NUL byte in the file: not a text file");
}

int
fwd_config_load(struct fwd_config *c, const char *path, char *err, size_t errlen)
{
	const struct diag d = { path, err, errlen };
	char *text;
	size_t len;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fwd_cfg_fail(&d, 1, "cannot open the configuration file: %s",
				    strerror(errno));
	text = read_fd(&d, fd, &len);
	close(fd);
	if (text == NULL)
		return -1;
	rc = check_nul(&d, text, len);
	if (rc == 0)
		rc = load_text(c, path, text, err, errlen);
	free(text);
	return rc;
}

int
fwd_config_load_string(struct fwd_config *c, const char *name, const char *text, char *err,
		       size_t errlen)
{
	return load_text(c, name, text, err, errlen);
}
