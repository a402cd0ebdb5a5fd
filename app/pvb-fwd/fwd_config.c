/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * pvb-fwd configuration: load (line locator, rte_cfgfile, per-key rules,
 * checks across sections), resolve against the EAL, dump.
 *
 * rte_cfgfile splits the text into sections and key/value entries, but it
 * reports no line numbers, gives no reason when it rejects a file (it returns
 * NULL and logs), silently truncates long names and values, and knows a
 * single comment character. So the text first goes through a line locator:
 * one pass that rejects, with its line, whatever rte_cfgfile would reject or
 * truncate, records the line of every section header and key in the order
 * rte_cfgfile lists them, and writes the text rte_cfgfile then reads, with
 * comments removed and every line kept in place. Entries and records are
 * matched by position, and checked to agree, so every later error has a line.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memfd_create() */
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_cfgfile.h>
#include <rte_common.h>
#include <rte_string_fns.h>

#include "fwd_config.h"

#define MAX_FILE_BYTES	(1u << 20)	/* a configuration is a page or two; refuse a log file */
#define MAX_NAME	(CFG_NAME_LEN - 1)	/* longer, rte_cfgfile would truncate */
#define MAX_VALUE	(CFG_VALUE_LEN - 1)
#define MAX_SECTIONS	(1 + FWD_MAX_PORTS + FWD_MAX_LCORES)
#define MAX_SEC_MS	4000000000u	/* 4,000,000 s: fits the uint32_t ms fields */
#define DUMP_LIST_WIDTH	72	/* wrap rx/tx lists in dumps well below MAX_VALUE */
#define QREF_SEPS	", \t"

/* ----------------------------------------------------------------------------
 * Errors
 */

/* Where errors go and the label they start with. */
struct diag {
	const char *label;
	char *err;
	size_t errlen;
};

/* Writes "LABEL:LINE: message" (line 0, "not from the file", shows as 1); returns -1. */
static int __rte_format_printf(3, 4)
fail(const struct diag *d, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->err == NULL || d->errlen == 0)
		return -1;
	n = snprintf(d->err, d->errlen, "%s:%u: ", d->label, line != 0 ? line : 1);
	if (n >= 0 && (size_t)n < d->errlen) {
		va_start(ap, fmt);
		vsnprintf(d->err + n, d->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ----------------------------------------------------------------------------
 * Small helpers
 */

/* Trims white space as rte_cfgfile does (isspace()), so both see the same names. */
static const char *
trim(const char *s, size_t *len)
{
	size_t n = *len;

	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	*len = n;
	return s;
}

/* Returns @p arr with room for element @p n, or NULL (arr still valid) when out of memory. */
static void *
grow(void *arr, unsigned int *cap, unsigned int n, size_t esize)
{
	unsigned int ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap != 0 ? *cap * 2 : 16;
	p = realloc(arr, (size_t)ncap * esize);
	if (p != NULL)
		*cap = ncap;
	return p;
}

/* Decimal digits only: no sign, no hex, no spaces. -EINVAL, or -ERANGE with *v = max. */
static int
parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (d > 9)
			return -EINVAL;
		if (x > (UINT64_MAX - d) / 10) {
			*v = UINT64_MAX;
			return -ERANGE;
		}
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/*
 * Seconds as "S" or "S.F" with 1..3 digits of F, into milliseconds: a file
 * says what a person means (0.5), the fields keep integers. -EINVAL (syntax),
 * -EDOM (finer than 1 ms), -ERANGE (S above UINT32_MAX).
 */
static int
parse_msec(const char *s, uint64_t *ms)
{
	uint64_t sec = 0, frac = 0;
	unsigned int ndec = 0;
	const char *p, *f;

	/* once above UINT32_MAX, sec stops growing: it cannot wrap, and it is too big */
	for (p = s; isdigit((unsigned char)*p); p++)
		if (sec <= UINT32_MAX)
			sec = sec * 10 + (uint64_t)(*p - '0');
	if (p == s)
		return -EINVAL;
	if (*p == '.') {
		for (f = ++p; isdigit((unsigned char)*p); p++, ndec++)
			if (ndec < 3)
				frac = frac * 10 + (uint64_t)(*p - '0');
		if (p == f)
			return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	if (ndec > 3)
		return -EDOM;
	if (sec > UINT32_MAX)
		return -ERANGE;
	for (; ndec < 3; ndec++)
		frac *= 10;
	*ms = sec * 1000 + frac;
	return 0;
}

/* Milliseconds as parse_msec() reads them: "2", "0.5", "1.25". */
static void
fmt_msec(char *buf, size_t len, uint64_t ms)
{
	int n = snprintf(buf, len, "%" PRIu64 ".%03u", ms / 1000, (unsigned int)(ms % 1000));

	if (n <= 0 || (size_t)n >= len)
		return;
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[n - 1] = '\0';
}

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

static void
port_init(struct fwd_port_cfg *p, const char *name, unsigned int line)
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

static void
lcore_init(struct fwd_lcore_cfg *l, unsigned int lcore_id, unsigned int line)
{
	l->lcore_id = lcore_id;
	l->nb_rx = 0;
	l->nb_tx = 0;
	l->line = line;
}

/* xconnect's default: 0<->1, 2<->3... Returns the port left over, or -1. */
static int
pair_in_order(struct fwd_config *c)
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
}

/* ----------------------------------------------------------------------------
 * Line locator
 */

struct loc_key {
	char name[CFG_NAME_LEN];
	unsigned int line;
};

struct loc_section {
	char name[CFG_NAME_LEN];
	unsigned int line;
	unsigned int first_key;		/* its keys: keys[first_key, first_key + nb_keys) */
	unsigned int nb_keys;
};

struct locator {
	struct loc_section *secs;
	struct loc_key *keys;
	unsigned int nb_secs, cap_secs;
	unsigned int nb_keys, cap_keys;
	char *clean;			/* what rte_cfgfile reads */
	size_t clean_len;
};

/* Appends to the cleaned text; loc_scan() sized it for the whole input. */
static void
loc_emit(struct locator *l, const char *s, size_t n)
{
	memcpy(l->clean + l->clean_len, s, n);
	l->clean_len += n;
}

/* "[name]", already trimmed. */
static int
loc_section(struct locator *l, const struct diag *d, unsigned int line, const char *s,
	    size_t len)
{
	struct loc_section *sec;
	const char *name;
	size_t n;

	/* rte_cfgfile would ignore anything after the first ']' */
	if (len < 2 || s[len - 1] != ']' || memchr(s + 1, ']', len - 2) != NULL ||
	    memchr(s + 1, '[', len - 2) != NULL)
		return fail(d, line, "malformed section header '%.*s' (expected [name] alone)",
			    (int)len, s);
	n = len - 2;
	name = trim(s + 1, &n);
	if (n == 0)
		return fail(d, line, "empty section name");
	if (n > MAX_NAME)
		return fail(d, line, "section name longer than %d characters", MAX_NAME);
	sec = grow(l->secs, &l->cap_secs, l->nb_secs, sizeof(*l->secs));
	if (sec == NULL)
		return fail(d, line, "out of memory");
	l->secs = sec;
	sec = &l->secs[l->nb_secs++];
	memcpy(sec->name, name, n);
	sec->name[n] = '\0';
	sec->line = line;
	sec->first_key = l->nb_keys;
	sec->nb_keys = 0;
	loc_emit(l, "[", 1);
	loc_emit(l, name, n);
	loc_emit(l, "]\n", 2);
	return 0;
}

/* "key = value", already trimmed; the value may hold more '='. */
static int
loc_key(struct locator *l, const struct diag *d, unsigned int line, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	struct loc_section *sec;
	struct loc_key *k;
	const char *key, *val;
	size_t klen, vlen;

	if (eq == NULL)
		return fail(d, line, "expected 'key = value' or '[section]', not '%.*s'",
			    (int)len, s);
	klen = (size_t)(eq - s);
	vlen = len - klen - 1;
	key = trim(s, &klen);
	val = trim(eq + 1, &vlen);
	if (l->nb_secs == 0)
		return fail(d, line, "'%.*s' is outside any section "
			    "(put it under [general], [port.NAME] or [lcore.N])", (int)klen, key);
	sec = &l->secs[l->nb_secs - 1];
	if (klen == 0)
		return fail(d, line, "[%s]: '=' without a key", sec->name);
	if (klen > MAX_NAME)
		return fail(d, line, "[%s]: key longer than %d characters", sec->name, MAX_NAME);
	if (vlen == 0)
		return fail(d, line, "[%s] %.*s: empty value", sec->name, (int)klen, key);
	if (vlen > MAX_VALUE)
		return fail(d, line, "[%s] %.*s: value longer than %d characters "
			    "(rte_cfgfile's limit)", sec->name, (int)klen, key, MAX_VALUE);
	k = grow(l->keys, &l->cap_keys, l->nb_keys, sizeof(*l->keys));
	if (k == NULL)
		return fail(d, line, "out of memory");
	l->keys = k;
	k = &l->keys[l->nb_keys++];
	memcpy(k->name, key, klen);
	k->name[klen] = '\0';
	k->line = line;
	sec->nb_keys++;
	loc_emit(l, key, klen);
	loc_emit(l, "=", 1);
	loc_emit(l, val, vlen);
	loc_emit(l, "\n", 1);
	return 0;
}

static int
loc_line(struct locator *l, const struct diag *d, unsigned int line, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == ';' || s[i] == '#')
			break;
	len = i;
	s = trim(s, &len);
	if (len == 0) {
		loc_emit(l, "\n", 1);	/* keeps the line numbers of the raw text */
		return 0;
	}
	if (s[0] == '[')
		return loc_section(l, d, line, s, len);
	return loc_key(l, d, line, s, len);
}

/* One pass over @p text; every output line is no longer than its input line. */
static int
loc_scan(struct locator *l, const struct diag *d, const char *text)
{
	size_t tlen = strlen(text);
	unsigned int line = 0;
	const char *p = text;

	l->clean = malloc(tlen + 2);
	if (l->clean == NULL)
		return fail(d, 1, "out of memory");
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (loc_line(l, d, ++line, p, len) < 0)
			return -1;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	l->clean[l->clean_len] = '\0';
	return 0;
}

static void
loc_free(struct locator *l)
{
	free(l->secs);
	free(l->keys);
	free(l->clean);
}

/* ----------------------------------------------------------------------------
 * rte_cfgfile
 */

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* rte_cfgfile only reads files: hand it the cleaned text through a memfd. */
static struct rte_cfgfile *
cfgfile_from_text(const struct diag *d, const char *text, size_t len)
{
	/* the cleaned text has no comments left; the character must still be a valid one */
	static const struct rte_cfgfile_parameters params = { .comment_character = ';' };
	struct rte_cfgfile *cfg;
	char path[64];
	int fd;

	fd = memfd_create("pvb-fwd-config", MFD_CLOEXEC);
	if (fd < 0) {
		fail(d, 1, "cannot create an in-memory file: %s", strerror(errno));
		return NULL;
	}
	if (write_all(fd, text, len) < 0) {
		fail(d, 1, "cannot write an in-memory file: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* flags 0: no keys before the first section, no empty values */
	cfg = rte_cfgfile_load_with_params(path, 0, &params);
	close(fd);
	if (cfg == NULL)
		fail(d, 1, "rte_cfgfile could not read the checked text (out of memory?)");
	return cfg;
}

/*
 * Copies the entries of @p cfg into @p ents, parallel to the locator's keys,
 * checking that rte_cfgfile saw the same sections and keys in the same order.
 */
static int
cfgfile_map(struct rte_cfgfile *cfg, const struct locator *l, struct rte_cfgfile_entry *ents,
	    const struct diag *d)
{
	char name[CFG_NAME_LEN];
	unsigned int s, k;

	if (rte_cfgfile_num_sections(cfg, NULL, 0) != (int)l->nb_secs)
		return fail(d, 1, "internal error: rte_cfgfile and the line locator count "
			    "different sections");
	for (s = 0; s < l->nb_secs; s++) {
		const struct loc_section *ls = &l->secs[s];
		struct rte_cfgfile_entry *e = &ents[ls->first_key];
		int n = rte_cfgfile_section_num_entries_by_index(cfg, name, (int)s);
		bool same = n == (int)ls->nb_keys && strcmp(name, ls->name) == 0;

		if (same)
			same = rte_cfgfile_section_entries_by_index(cfg, (int)s, name, e, n) == n;
		for (k = 0; same && k < ls->nb_keys; k++)
			same = strcmp(e[k].name, l->keys[ls->first_key + k].name) == 0;
		if (!same)
			return fail(d, ls->line, "internal error: rte_cfgfile reads [%s] "
				    "differently from the line locator", ls->name);
	}
	return 0;
}

/* ----------------------------------------------------------------------------
 * Loading: per-key rules
 */

enum val_kind {
	VAL_UINT,	/* decimal in [min, max] (or 0 with zero_ok) */
	VAL_POW2,	/* the same, and a power of two */
	VAL_MSEC,	/* seconds, up to 3 decimals, stored in ms; min, max in ms */
	VAL_ENUM,	/* one of names[], stored as its index */
	VAL_BOOL,	/* one of bool_names[] */
	VAL_STR,	/* copied */
	VAL_PEER,	/* another port's name */
	VAL_RX,		/* NAME:Q list; may repeat */
	VAL_TX,
};

struct key_rule {
	const char *key;
	enum val_kind kind;
	size_t off;		/* of the field in the section's struct */
	size_t size;		/* 1 (bool), 2 or 4: what store_uint() and load_uint() handle */
	uint64_t min, max;
	bool zero_ok;
	const char *const *names;	/* VAL_ENUM, NULL-terminated, in enum order */
};

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

enum sec_kind {
	SEC_GENERAL,
	SEC_PORT,
	SEC_LCORE,
	SEC_NB_KINDS,
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
	return fail(&x->d, kv->line, "[%s] %s: %s", kv->sec, kv->key, msg);
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
	char lo[24], hi[24];	/* fmt_msec() of any uint64_t fits */

	if (r->kind == VAL_MSEC) {
		fmt_msec(lo, sizeof(lo), r->min);
		fmt_msec(hi, sizeof(hi), r->max);
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

static uint64_t
load_uint(const void *base, const struct key_rule *r)
{
	const uint8_t *p = (const uint8_t *)base + r->off;
	uint16_t u16;
	uint32_t u32;
	bool b;

	switch (r->size) {
	case sizeof(bool):
		memcpy(&b, p, sizeof(b));
		return b;
	case sizeof(uint16_t):
		memcpy(&u16, p, sizeof(u16));
		return u16;
	default:
		memcpy(&u32, p, sizeof(u32));
		return u32;
	}
}

static int
set_number(const struct load_ctx *x, const struct kv *kv, const struct key_rule *r, void *base)
{
	char range[64];
	uint64_t v = 0;
	int rc;

	rc = r->kind == VAL_MSEC ? parse_msec(kv->val, &v) : parse_u64(kv->val, &v);
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

	if (colon == NULL || colon == tok || parse_u64(colon + 1, &q) == -EINVAL)
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
	return fail(&x->d, kv->line, "[%s]: unknown key '%s' (known: %s)", kv->sec, kv->key, list);
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
			return fail(&x->d, keys[k].line, "[%s]: duplicate key '%s' "
				    "(first at line %u)", ls->name, keys[k].name, keys[j].line);
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
		return fail(&x->d, ls->line, "duplicate section [general] (first at line %u)",
			    x->general_line);
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
		return fail(&x->d, ls->line, "[%s]: bad port name '%s' (1..%d characters of "
			    "A-Z a-z 0-9 _ . -)", ls->name, name, FWD_NAME_LEN - 1);
	p = find_port(c, name);
	if (p >= 0)
		return fail(&x->d, ls->line, "duplicate section [%s] (first at line %u)",
			    ls->name, c->ports[p].line);
	if (c->nb_ports == FWD_MAX_PORTS)
		return fail(&x->d, ls->line, "[%s]: too many ports (at most %d)", ls->name,
			    FWD_MAX_PORTS);
	port_init(&c->ports[c->nb_ports], name, ls->line);
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
	if (parse_u64(id, &v) != 0 || v > FWD_MAX_LCORE_ID || (id[0] == '0' && id[1] != '\0'))
		return fail(&x->d, ls->line, "[%s]: bad lcore id '%s' (0..%d, no leading zeros)",
			    ls->name, id, FWD_MAX_LCORE_ID);
	for (i = 0; i < c->nb_lcores; i++)
		if (c->lcores[i].lcore_id == v)
			return fail(&x->d, ls->line, "duplicate section [%s] (first at line %u)",
				    ls->name, c->lcores[i].line);
	if (c->nb_lcores == FWD_MAX_LCORES)
		return fail(&x->d, ls->line, "[%s]: too many lcores (at most %d)", ls->name,
			    FWD_MAX_LCORES);
	lcore_init(&c->lcores[c->nb_lcores], (unsigned int)v, ls->line);
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
		return fail(&x->d, ls->line, "too many sections");
	if (strcmp(ls->name, "general") == 0)
		return add_general(x, s);
	if (strncmp(ls->name, "port.", 5) == 0)
		return add_port(x, s, ls->name + 5);
	if (strncmp(ls->name, "lcore.", 6) == 0)
		return add_lcore(x, s, ls->name + 6);
	return fail(&x->d, ls->line, "unknown section [%s] (expected [general], [port.NAME] "
		    "or [lcore.N])", ls->name);
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
		return fail(&x->d, x->peer_line[j], "[port.%s] peer: '%s', but [port.%s] (line %u) "
			    "has peer = %s; peers must be mutual", b->name,
			    c->ports[b->peer].name, a->name, x->peer_line[i], b->name);
	if (b->peer >= 0)
		return fail(&x->d, x->peer_line[i], "[port.%s] peer: port '%s' is already the peer "
			    "of '%s' (line %u)", a->name, b->name, c->ports[b->peer].name,
			    x->peer_line[b->peer]);
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
		left = pair_in_order(c);
		if (left >= 0)
			return fail(&x->d, c->ports[left].line, "[port.%s]: xconnect pairs "
				    "ports in declaration order and this one has no partner "
				    "(declare an even number of ports, set peer = NAME, or set "
				    "mode = l2)", c->ports[left].name);
		return 0;
	}
	for (i = 0; i < c->nb_ports; i++)
		if (x->peer_line[i] != 0 && complete_peer(x, i) < 0)
			return -1;
	for (i = 0; i < c->nb_ports; i++)
		if (c->ports[i].peer < 0)
			return fail(&x->d, c->ports[i].line, "[port.%s]: no peer (in xconnect mode "
				    "every port needs one once any port sets peer)",
				    c->ports[i].name);
	return 0;
}

static int
check_lcores_busy(const struct load_ctx *x)
{
	const struct fwd_config *c = x->c;
	unsigned int i;

	for (i = 0; i < c->nb_lcores; i++)
		if (c->lcores[i].nb_rx == 0 && c->lcores[i].nb_tx == 0)
			return fail(&x->d, c->lcores[i].line, "[lcore.%u]: no rx or tx queues "
				    "(give rx = NAME:Q, or remove the section)",
				    c->lcores[i].lcore_id);
	return 0;
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
	if (check_peers(x) < 0)
		return -1;
	return check_lcores_busy(x);
}

/* rte_cfgfile reads the locator's text; its entries land in x->ents. */
static int
cfgfile_read(struct load_ctx *x)
{
	struct rte_cfgfile *cfg;
	int rc;

	cfg = cfgfile_from_text(&x->d, x->loc.clean, x->loc.clean_len);
	if (cfg == NULL)
		return -1;
	x->ents = calloc(x->loc.nb_keys + 1, sizeof(*x->ents));
	rc = x->ents != NULL ? cfgfile_map(cfg, &x->loc, x->ents, &x->d) :
			       fail(&x->d, 1, "out of memory");
	rte_cfgfile_close(cfg);
	return rc;
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
		return fail(&d, 1, "out of memory");
	x->d = d;
	x->c = c;
	rc = loc_scan(&x->loc, &d, text);
	if (rc == 0)
		rc = cfgfile_read(x);
	if (rc == 0)
		rc = load_sections(x);
	free(x->ents);
	loc_free(&x->loc);
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
			fail(d, 1, "cannot read the configuration file: %s", strerror(errno));
			goto error;
		}
		n += (size_t)r;
		if (n > MAX_FILE_BYTES) {
			fail(d, 1, "larger than %u bytes: not a configuration file",
			     MAX_FILE_BYTES);
			goto error;
		}
	}
	buf[n] = '\0';
	*len = n;
	return buf;
nomem:
	fail(d, 1, "out of memory");
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
	return fail(d, line, "NUL byte in the file: not a text file");
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
		return fail(&d, 1, "cannot open the configuration file: %s", strerror(errno));
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

/* ----------------------------------------------------------------------------
 * Resolving against the EAL
 */

static int
adopt_eal_ports(struct fwd_config *c, const struct fwd_env *env, const struct diag *d)
{
	unsigned int i, n = RTE_MIN(env->nb_eal_ports, (unsigned int)FWD_MAX_PORTS);
	int left;

	if (n == 0)
		return fail(d, 1, "no ports: declare [port.NAME] sections or give EAL devices "
			    "with --vdev/-a");
	for (i = 0; i < n; i++)
		port_init(&c->ports[i], env->eal_ports[i], 0);
	c->nb_ports = (uint16_t)n;
	if (c->mode != FWD_MODE_XCONNECT)
		return 0;
	left = pair_in_order(c);
	if (left >= 0)
		return fail(d, 1, "xconnect pairs EAL's ports in order and '%s' has no partner "
			    "(give an even number of devices, or set mode = l2)",
			    c->ports[left].name);
	return 0;
}

static bool
eal_has_port(const struct fwd_env *env, const char *name)
{
	unsigned int i, n = RTE_MIN(env->nb_eal_ports, (unsigned int)FWD_MAX_PORTS);

	for (i = 0; i < n; i++)
		if (strncmp(env->eal_ports[i], name, FWD_NAME_LEN) == 0)
			return true;
	return false;
}

/* Only names: probing devices is the caller's business. */
static int
check_devices(const struct fwd_config *c, const struct fwd_env *env, const struct diag *d)
{
	unsigned int i;

	for (i = 0; i < c->nb_ports; i++) {
		const struct fwd_port_cfg *p = &c->ports[i];

		if (p->dev[0] == '\0' && !eal_has_port(env, p->name))
			return fail(d, p->line, "port %s: no such device; give it with --vdev/-a "
				    "or set dev = DEVARGS", p->name);
	}
	return 0;
}

/* Queue by queue, port by port: a:0, a:1, b:0, b:1 ... to workers w0, w1, w2 ... */
static int
assign_round_robin(struct fwd_config *c, const struct fwd_env *env, const struct diag *d)
{
	unsigned int nw = RTE_MIN(env->nb_workers, (unsigned int)FWD_MAX_LCORES);
	unsigned int p, q, k = 0;

	if (nw == 0)
		return fail(d, 1, "no worker lcores: give EAL at least two lcores, e.g. -l 0,1");
	for (p = 0; p < c->nb_ports; p++) {
		for (q = 0; q < c->ports[p].nb_queues; q++, k++) {
			struct fwd_lcore_cfg *l = &c->lcores[k % nw];

			if (k < nw)
				lcore_init(l, env->workers[k], 0);
			l->rx[l->nb_rx].port = (uint16_t)p;
			l->rx[l->nb_rx].queue = (uint16_t)q;
			l->nb_rx++;
		}
	}
	c->nb_lcores = (uint16_t)RTE_MIN(k, nw);
	return 0;
}

static int
check_lcores(const struct fwd_config *c, const struct fwd_env *env, const struct diag *d)
{
	unsigned int i;

	for (i = 0; i < c->nb_lcores; i++) {
		const struct fwd_lcore_cfg *l = &c->lcores[i];

		if (l->lcore_id == env->main_lcore)
			return fail(d, l->line, "lcore %u is the main lcore (it runs stats and "
				    "control)", l->lcore_id);
		if (env->lcore_enabled != NULL && !env->lcore_enabled(l->lcore_id, env->arg))
			return fail(d, l->line, "lcore %u is not enabled (EAL -l/--lcores)",
				    l->lcore_id);
	}
	return 0;
}

static bool
qrefs_valid(const struct fwd_config *c, const struct fwd_qref *refs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (refs[i].port >= c->nb_ports ||
		    refs[i].queue >= c->ports[refs[i].port].nb_queues)
			return false;
	return true;
}

/* fwd_config_load() cannot produce bad references; a configuration built by hand can. */
static int
check_qrefs(const struct fwd_config *c, const struct diag *d)
{
	unsigned int i;

	for (i = 0; i < c->nb_lcores; i++) {
		const struct fwd_lcore_cfg *l = &c->lcores[i];

		if (l->nb_rx > FWD_MAX_QREFS || l->nb_tx > FWD_MAX_QREFS ||
		    !qrefs_valid(c, l->rx, l->nb_rx) || !qrefs_valid(c, l->tx, l->nb_tx))
			return fail(d, l->line, "lcore %u: a queue reference is out of range",
				    l->lcore_id);
	}
	return 0;
}

/* The poller of rx P:Q owns tx P:Q, unless an lcore lists tx P:Q itself. */
static void
default_tx(struct fwd_config *c)
{
	bool owned[FWD_MAX_PORTS][FWD_MAX_QUEUES];
	unsigned int i, j;

	memset(owned, 0, sizeof(owned));
	for (i = 0; i < c->nb_lcores; i++)
		for (j = 0; j < c->lcores[i].nb_tx; j++)
			owned[c->lcores[i].tx[j].port][c->lcores[i].tx[j].queue] = true;
	for (i = 0; i < c->nb_lcores; i++) {
		struct fwd_lcore_cfg *l = &c->lcores[i];

		for (j = 0; j < l->nb_rx; j++) {
			bool *o = &owned[l->rx[j].port][l->rx[j].queue];

			/* nb_tx < FWD_MAX_QREFS: each (port, queue) is added once */
			if (*o)
				continue;
			*o = true;
			l->tx[l->nb_tx++] = l->rx[j];
		}
	}
}

static int
check_coverage(const struct fwd_config *c, const struct diag *d)
{
	int16_t poller[FWD_MAX_PORTS][FWD_MAX_QUEUES];
	bool has_tx[FWD_MAX_PORTS] = { false };
	unsigned int i, j, q;

	memset(poller, 0xff, sizeof(poller));	/* -1: nobody */
	for (i = 0; i < c->nb_lcores; i++) {
		const struct fwd_lcore_cfg *l = &c->lcores[i];

		for (j = 0; j < l->nb_rx; j++) {
			int16_t *o = &poller[l->rx[j].port][l->rx[j].queue];

			if (*o >= 0)
				return fail(d, l->line, "port %s queue %u: polled by both lcore %u "
					    "and lcore %u", c->ports[l->rx[j].port].name,
					    l->rx[j].queue, c->lcores[*o].lcore_id, l->lcore_id);
			*o = (int16_t)i;
		}
		for (j = 0; j < l->nb_tx; j++)
			has_tx[l->tx[j].port] = true;
	}
	for (i = 0; i < c->nb_ports; i++)
		for (q = 0; q < c->ports[i].nb_queues; q++)
			if (poller[i][q] < 0)
				return fail(d, c->ports[i].line, "port %s queue %u: no lcore "
					    "polls it", c->ports[i].name, q);
	/* default_tx() makes this hold once every queue is polled; it is the contract */
	for (i = 0; i < c->nb_ports; i++)
		if (!has_tx[i])
			return fail(d, c->ports[i].line, "port %s: no lcore transmits on it",
				    c->ports[i].name);
	return 0;
}

int
fwd_config_resolve(struct fwd_config *c, const struct fwd_env *env, char *err, size_t errlen)
{
	const struct diag d = { c->path[0] != '\0' ? c->path : "(config)", err, errlen };

	if (c->nb_ports == 0 && adopt_eal_ports(c, env, &d) < 0)
		return -1;
	if (check_devices(c, env, &d) < 0)
		return -1;
	if (c->nb_lcores == 0 && assign_round_robin(c, env, &d) < 0)
		return -1;
	if (check_lcores(c, env, &d) < 0 || check_qrefs(c, &d) < 0)
		return -1;
	default_tx(c);
	return check_coverage(c, &d);
}

/* ----------------------------------------------------------------------------
 * Dump
 */

/* "rx = a:0, a:1", continued on more "rx =" lines well before rte_cfgfile's value limit. */
static void
dump_qrefs(FILE *f, const struct fwd_config *c, const char *key, const struct fwd_qref *refs,
	   unsigned int n)
{
	unsigned int i, width = 0;

	for (i = 0; i < n; i++) {
		const char *name = refs[i].port < c->nb_ports ? c->ports[refs[i].port].name : "?";
		char tok[FWD_NAME_LEN + 8];
		int len = snprintf(tok, sizeof(tok), "%s:%u", name, refs[i].queue);

		if (width != 0 && width + 2 + (unsigned int)len > DUMP_LIST_WIDTH) {
			fputc('\n', f);
			width = 0;
		}
		if (width == 0) {
			fprintf(f, "%s = %s", key, tok);
			width = (unsigned int)len;
		} else {
			fprintf(f, ", %s", tok);
			width += 2 + (unsigned int)len;
		}
	}
	if (width != 0)
		fputc('\n', f);
}

static const char *
enum_name(const char *const *names, uint64_t v)
{
	uint64_t i;

	for (i = 0; names[i] != NULL; i++)
		if (i == v)
			return names[i];
	return "?";
}

static void
dump_key(FILE *f, const struct fwd_config *c, const struct key_rule *r, const void *base)
{
	const struct fwd_port_cfg *port = base;
	const struct fwd_lcore_cfg *l = base;
	char buf[32];

	switch (r->kind) {
	case VAL_UINT:
	case VAL_POW2:
		fprintf(f, "%s = %" PRIu64 "\n", r->key, load_uint(base, r));
		break;
	case VAL_MSEC:
		fmt_msec(buf, sizeof(buf), load_uint(base, r));
		fprintf(f, "%s = %s\n", r->key, buf);
		break;
	case VAL_ENUM:
		fprintf(f, "%s = %s\n", r->key, enum_name(r->names, load_uint(base, r)));
		break;
	case VAL_BOOL:
		fprintf(f, "%s = %s\n", r->key, load_uint(base, r) != 0 ? "yes" : "no");
		break;
	case VAL_STR:
		if (((const char *)base + r->off)[0] != '\0')
			fprintf(f, "%s = %s\n", r->key, (const char *)base + r->off);
		break;
	case VAL_PEER:
		if (c->mode == FWD_MODE_XCONNECT && port->peer >= 0 && port->peer < c->nb_ports)
			fprintf(f, "%s = %s\n", r->key, c->ports[port->peer].name);
		break;
	case VAL_RX:
		dump_qrefs(f, c, r->key, l->rx, RTE_MIN(l->nb_rx, FWD_MAX_QREFS));
		break;
	case VAL_TX:
		dump_qrefs(f, c, r->key, l->tx, RTE_MIN(l->nb_tx, FWD_MAX_QREFS));
		break;
	}
}

/* Every key of the section, from the same rules that load it, so the two cannot drift. */
static void
dump_section(FILE *f, const struct fwd_config *c, enum sec_kind kind, const void *base)
{
	unsigned int i;

	for (i = 0; i < sec_rules[kind].nb_rules; i++)
		dump_key(f, c, &sec_rules[kind].rules[i], base);
}

void
fwd_config_dump(const struct fwd_config *c, FILE *f)
{
	unsigned int i;

	fprintf(f, "; pvb-fwd effective configuration\n\n[general]\n");
	dump_section(f, c, SEC_GENERAL, c);
	for (i = 0; i < c->nb_ports; i++) {
		fprintf(f, "\n[port.%s]\n", c->ports[i].name);
		dump_section(f, c, SEC_PORT, &c->ports[i]);
	}
	for (i = 0; i < c->nb_lcores; i++) {
		fprintf(f, "\n[lcore.%u]\n", c->lcores[i].lcore_id);
		dump_section(f, c, SEC_LCORE, &c->lcores[i]);
	}
}
