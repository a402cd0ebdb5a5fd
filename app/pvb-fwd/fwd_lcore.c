/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The worker lcores' set-up: tx ownership, routes and hand-off links. The
 * loop itself is in fwd_loop.c, one poll of it in fwd_datapath.c.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memzone.h>

#include "fwd.h"

const char *const fwd_drop_names[FWD_NB_DROPS] = {
	[FWD_DROP_TX_FULL] = "tx_full",
	[FWD_DROP_NO_ROUTE] = "no_route",
	[FWD_DROP_FILTERED] = "filtered",
	[FWD_DROP_RING_FULL] = "ring_full",
	[FWD_DROP_TOO_BIG] = "too_big",
	[FWD_DROP_NO_MBUF] = "no_mbuf",
	[FWD_DROP_BAD_OFFLOAD] = "bad_offload",
};

/* ---- set-up ------------------------------------------------------------- */

static struct fwd_lcore *
lcore_alloc(const struct fwd_config *cfg, const struct fwd_lcore_cfg *lcfg)
{
	int socket = (int)rte_lcore_to_socket_id(lcfg->lcore_id);
	struct fwd_lcore *lc;
	uint16_t i;

	lc = rte_zmalloc_socket("fwd_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE, socket);
	if (lc == NULL)
		return NULL;
	lc->lcore_id = lcfg->lcore_id;
	lc->nb_rx = lcfg->nb_rx;
	memcpy(lc->rx, lcfg->rx, sizeof(lc->rx[0]) * lcfg->nb_rx);
	lc->nb_txq = lcfg->nb_tx;
	lc->txq = rte_zmalloc_socket("fwd_txq", sizeof(*lc->txq) * RTE_MAX(lcfg->nb_tx, 1),
				     RTE_CACHE_LINE_SIZE, socket);
	lc->cnt = rte_zmalloc_socket("fwd_cnt", sizeof(*lc->cnt) * cfg->nb_ports,
				     RTE_CACHE_LINE_SIZE, socket);
	if (lc->txq == NULL || lc->cnt == NULL) {
		rte_free(lc->txq);
		rte_free(lc->cnt);
		rte_free(lc);
		return NULL;
	}
	for (i = 0; i < lcfg->nb_tx; i++) {
		lc->txq[i].port = lcfg->tx[i].port;
		lc->txq[i].queue = lcfg->tx[i].queue;
	}
	for (i = 0; i < FWD_MAX_PORTS; i++)
		lc->route[i] = (struct fwd_route){ .txq = -1, .link = -1 };
	for (i = 0; i < lc->nb_txq; i++)
		if (lc->route[lc->txq[i].port].txq < 0)
			lc->route[lc->txq[i].port].txq = (int16_t)i;
	return lc;
}

/* The first lcore (slot) that owns a tx queue of @p port. */
static int
tx_owner(const struct fwd_state *st, uint16_t port)
{
	uint16_t s;

	for (s = 0; s < st->nb_lcores; s++)
		if (st->lc[s]->route[port].txq >= 0)
			return s;
	return -1;
}

static struct fwd_link *
link_create(struct fwd_state *st, uint16_t src, uint16_t dst, char *err, size_t errlen)
{
	/* nothing comes back (fwd_handoff.c): the smallest completion ring there is */
	const struct pvb_scring_params sp = {
		.sub_size = st->cfg->ring_size, .cmp_size = 1,
		.sub_esize = sizeof(fwd_handoff_ent), .cmp_esize = PVB_SCRING_ENTRY_SMALL,
	};
	int socket = (int)rte_lcore_to_socket_id(st->lc[dst]->lcore_id);
	size_t len = pvb_scring_area_size(&sp);
	char name[RTE_MEMZONE_NAMESIZE], why[128] = "format failed";
	struct fwd_link *l;

	_Static_assert(sizeof(fwd_handoff_ent) == PVB_SCRING_ENTRY_SMALL, "entry");
	l = rte_zmalloc_socket("fwd_link", sizeof(*l), RTE_CACHE_LINE_SIZE, socket);
	if (l == NULL) {
		fwd_errf(err, errlen, "hand-off link: out of memory");
		return NULL;
	}
	snprintf(name, sizeof(name), "pvb_fwd_link_%u_%u", src, dst);
	l->mz = rte_memzone_reserve_aligned(name, len, socket, 0, RTE_CACHE_LINE_SIZE);
	if (l->mz == NULL || pvb_scring_format(l->mz->addr, len, &sp) != 0 ||
	    pvb_scring_attach_prod(&l->prod, l->mz->addr, len, &sp, why, sizeof(why)) != 0 ||
	    pvb_scring_attach_cons(&l->cons, l->mz->addr, len, &sp, why, sizeof(why)) != 0) {
		fwd_errf(err, errlen, "hand-off link %u->%u: %s", st->lc[src]->lcore_id,
			 st->lc[dst]->lcore_id, l->mz == NULL ? rte_strerror(rte_errno) : why);
		rte_memzone_free(l->mz);
		rte_free(l);
		return NULL;
	}
	l->src_slot = src;
	l->dst_slot = dst;
	return l;
}

/* The out_links[] index of the link src -> dst, created on first use. */
static int
link_index(struct fwd_state *st, uint16_t src, uint16_t dst, char *err, size_t errlen)
{
	struct fwd_lcore *s = st->lc[src], *d = st->lc[dst];
	struct fwd_link *l;
	uint16_t i;

	for (i = 0; i < s->nb_out; i++)
		if (s->out_links[i]->dst_slot == dst)
			return i;
	l = link_create(st, src, dst, err, errlen);
	if (l == NULL)
		return -1;
	s->out_links[s->nb_out] = l;
	d->in_links[d->nb_in++] = l;
	return s->nb_out++;
}

/* Ports an lcore may have to send to: the peers of what it polls, or all (l2). */
static bool
may_send_to(const struct fwd_state *st, const struct fwd_lcore *lc, uint16_t port)
{
	uint16_t i;

	if (st->cfg->mode == FWD_MODE_L2)
		return true;
	for (i = 0; i < lc->nb_rx; i++)
		if (st->cfg->ports[lc->rx[i].port].peer == port)
			return true;
	return false;
}

static int
routes_setup(struct fwd_state *st, uint16_t slot, char *err, size_t errlen)
{
	struct fwd_lcore *lc = st->lc[slot];
	int owner, li;
	uint16_t p;

	for (p = 0; p < st->nb_ports; p++) {
		if (lc->route[p].txq >= 0 || !may_send_to(st, lc, p))
			continue;
		owner = tx_owner(st, p);
		if (owner < 0)
			return fwd_errf(err, errlen, "port %s: no lcore transmits on it",
					st->port[p].name);
		li = link_index(st, slot, (uint16_t)owner, err, errlen);
		if (li < 0)
			return -1;
		lc->route[p].link = (int16_t)li;
	}
	return 0;
}

/*
 * Each worker's software offload pools, when some port lacks an offload a
 * frame may ask for (pvb_swol.h): made here, not on first use in a burst.
 */
static int
swol_setup(struct fwd_state *st, char *err, size_t errlen)
{
	char name[16];
	uint16_t p, s;
	int rc;

	for (p = 0; p < st->nb_ports && st->port[p].tx_can == PVB_SWOL_FLAGS; p++)
		;
	if (p == st->nb_ports)
		return 0;
	for (s = 0; s < st->nb_lcores; s++) {
		snprintf(name, sizeof(name), "fwdsw%u", st->lc[s]->lcore_id);
		rc = pvb_swol_init(&st->lc[s]->swol, name,
				   (int)rte_lcore_to_socket_id(st->lc[s]->lcore_id));
		if (rc != 0)
			return fwd_errf(err, errlen, "lcore %u: software offload pools: %s",
					st->lc[s]->lcore_id, strerror(-rc));
	}
	return 0;
}

int
fwd_lcores_setup(struct fwd_state *st, char *err, size_t errlen)
{
	const struct fwd_config *cfg = st->cfg;
	uint16_t s;

	st->tsc_hz = rte_get_tsc_hz();
	st->l2_age_cycles = (uint64_t)cfg->l2_age_ms * st->tsc_hz / 1000;
	if (cfg->mode == FWD_MODE_L2) {
		st->l2 = fwd_l2_create(cfg->l2_size, st->l2_age_cycles);
		if (st->l2 == NULL)
			return fwd_errf(err, errlen, "l2 table of %u entries: %s", cfg->l2_size,
					strerror(errno));
	}
	for (s = 0; s < cfg->nb_lcores; s++) {
		st->lc[s] = lcore_alloc(cfg, &cfg->lcores[s]);
		if (st->lc[s] == NULL)
			return fwd_errf(err, errlen, "lcore %u: out of memory",
					cfg->lcores[s].lcore_id);
		st->nb_lcores = s + 1;
	}
	for (s = 0; s < st->nb_lcores; s++)
		if (routes_setup(st, s, err, errlen) != 0)
			return -1;
	if (swol_setup(st, err, errlen) != 0)
		return -1;
	/* the loops' scratch now, so a worker cannot fail to start later */
	for (s = 0; s < st->nb_lcores; s++) {
		st->lc[s]->run = fwd_run_alloc(st, st->lc[s]);
		if (st->lc[s]->run == NULL)
			return fwd_errf(err, errlen, "lcore %u: out of memory",
					st->lc[s]->lcore_id);
	}
	return 0;
}

void
fwd_lcores_free(struct fwd_state *st)
{
	uint16_t i;

	uint16_t j;

	/* every link is some lcore's out_link, exactly once */
	for (i = 0; i < st->nb_lcores; i++)
		for (j = 0; j < st->lc[i]->nb_out; j++) {
			rte_memzone_free(st->lc[i]->out_links[j]->mz);
			rte_free(st->lc[i]->out_links[j]);
		}
	for (i = 0; i < st->nb_lcores; i++) {
		rte_free(st->lc[i]->run);
		pvb_swol_fini(&st->lc[i]->swol);
		rte_free(st->lc[i]->txq);
		rte_free(st->lc[i]->cnt);
		rte_free(st->lc[i]);
	}
	fwd_l2_free(st->l2);
	st->nb_lcores = 0;
	st->l2 = NULL;
}
