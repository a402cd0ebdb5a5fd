/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * pvb-fwd configuration against the running EAL (fwd_config_resolve()), and
 * back to text (fwd_config_dump()).
 */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>

#include "fwd_config.h"
#include "fwd_config_pvt.h"

#define DUMP_LIST_WIDTH	72	/* wrap rx/tx lists in dumps well below CFG_VALUE_LEN */

/* ----------------------------------------------------------------------------
 * Resolving against the EAL
 */

static int
adopt_eal_ports(struct fwd_config *c, const struct fwd_env *env, const struct diag *d)
{
	unsigned int i, n = RTE_MIN(env->nb_eal_ports, (unsigned int)FWD_MAX_PORTS);
	int left;

	if (n == 0)
		return fwd_cfg_fail(d, 1, "no ports: declare [port.NAME] sections or give EAL "
				    "devices with --vdev/-a");
	for (i = 0; i < n; i++)
		fwd_cfg_port_init(&c->ports[i], env->eal_ports[i], 0);
	c->nb_ports = (uint16_t)n;
	if (c->mode != FWD_MODE_XCONNECT)
		return 0;
	left = fwd_cfg_pair_in_order(c);
	if (left >= 0)
		return fwd_cfg_fail(d, 1, "xconnect pairs EAL's ports in order and '%s' has no "
				    "partner (give an even number of devices, or set mode = l2)",
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
			return fwd_cfg_fail(d, p->line, "port %s: no such device; give it with "
					    "--vdev/-a or set dev = DEVARGS", p->name);
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
		return fwd_cfg_fail(d, 1, "no worker lcores: give EAL at least two lcores, "
				    "e.g. -l 0,1");
	for (p = 0; p < c->nb_ports; p++) {
		for (q = 0; q < c->ports[p].nb_queues; q++, k++) {
			struct fwd_lcore_cfg *l = &c->lcores[k % nw];

			if (k < nw)
				fwd_cfg_lcore_init(l, env->workers[k], 0);
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
			return fwd_cfg_fail(d, l->line, "lcore %u is the main lcore (it runs "
					    "stats and control)", l->lcore_id);
		if (env->lcore_enabled != NULL && !env->lcore_enabled(l->lcore_id, env->arg))
			return fwd_cfg_fail(d, l->line, "lcore %u is not enabled (EAL -l/--lcores)",
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
			return fwd_cfg_fail(d, l->line, "lcore %u: a queue reference is out of "
					    "range", l->lcore_id);
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
				return fwd_cfg_fail(d, l->line, "port %s queue %u: polled by both "
						    "lcore %u and lcore %u",
						    c->ports[l->rx[j].port].name, l->rx[j].queue,
						    c->lcores[*o].lcore_id, l->lcore_id);
			*o = (int16_t)i;
		}
		for (j = 0; j < l->nb_tx; j++)
			has_tx[l->tx[j].port] = true;
	}
	for (i = 0; i < c->nb_ports; i++)
		for (q = 0; q < c->ports[i].nb_queues; q++)
			if (poller[i][q] < 0)
				return fwd_cfg_fail(d, c->ports[i].line, "port %s queue %u: "
						    "no lcore polls it", c->ports[i].name, q);
	/* default_tx() makes this hold once every queue is polled; it is the contract */
	for (i = 0; i < c->nb_ports; i++)
		if (!has_tx[i])
			return fwd_cfg_fail(d, c->ports[i].line, "port %s: no lcore transmits "
					    "on it", c->ports[i].name);
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

/* The reverse of store_uint() in fwd_config.c. */
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
		fwd_cfg_fmt_msec(buf, sizeof(buf), load_uint(base, r));
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
	const struct key_rule *rules;
	unsigned int i, n;

	rules = fwd_cfg_rules(kind, &n);
	for (i = 0; i < n; i++)
		dump_key(f, c, &rules[i], base);
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
