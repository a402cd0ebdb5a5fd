/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * DPDK telemetry commands, answered from the telemetry thread with the same
 * counters the periodic table reads:
 *   /pvb/ports    per port index: name, rx, tx, drops and each drop reason,
 *                 frames and bytes pvb-fwd copied, the PMD's ref/copied xstats
 *   /pvb/lcores   per worker lcore id: busy %, busy cycles per packet, hand-offs,
 *                 sleeps: naps and sleeps on rx interrupts, and the wake-ups by one
 *   /pvb/l2       MAC table counters, and a table of (up to FWD_TEL_L2_MAX)
 *                 entries {mac, port} numbered from 0
 * Port names and MACs are values, not keys: DPDK 22.11 allows only
 * [A-Za-z0-9_/] in dict keys (port names may hold '.' and '-'), and only
 * plain arrays, not dicts, inside arrays.
 * Try: dpdk-telemetry.py, then /pvb/ports.
 */

#include <stdio.h>

#include <rte_ether.h>
#include <rte_spinlock.h>
#include <rte_telemetry.h>

#include "fwd.h"

#define FWD_TEL_L2_MAX	128	/* telemetry replies are limited to 16 KB */

/*
 * Telemetry callbacks take no argument: the state they report on, and a lock
 * so that the main lcore can withdraw it before freeing what it points to
 * (telemetry has no unregister; the commands then answer with an error).
 */
static struct fwd_state *tel_state;
static rte_spinlock_t tel_lock = RTE_SPINLOCK_INITIALIZER;

typedef int (*tel_fill)(const struct fwd_state *st, struct rte_tel_data *d);

static int
tel_locked(tel_fill fill, struct rte_tel_data *d)
{
	int rc = -1;

	rte_spinlock_lock(&tel_lock);
	if (tel_state != NULL)
		rc = fill(tel_state, d);
	rte_spinlock_unlock(&tel_lock);
	return rc;
}

static int
fill_ports(const struct fwd_state *st, struct rte_tel_data *d)
{
	struct rte_tel_data *pd;
	struct fwd_totals t;
	unsigned int r;
	char key[8];
	uint16_t p;

	rte_tel_data_start_dict(d);
	for (p = 0; p < st->nb_ports; p++) {
		pd = rte_tel_data_alloc();
		if (pd == NULL)
			return -1;
		fwd_port_totals(st, p, &t);
		rte_tel_data_start_dict(pd);
		rte_tel_data_add_dict_string(pd, "name", st->port[p].name);
		rte_tel_data_add_dict_u64(pd, "port_id", st->port[p].port_id);
		rte_tel_data_add_dict_u64(pd, "rx", t.rx);
		rte_tel_data_add_dict_u64(pd, "tx", t.tx);
		rte_tel_data_add_dict_u64(pd, "drops", t.drops);
		rte_tel_data_add_dict_u64(pd, "nic_missed", t.nic_missed);
		rte_tel_data_add_dict_u64(pd, "rx_intr", st->port[p].rx_intr);
		for (r = 0; r < FWD_NB_DROPS; r++)
			rte_tel_data_add_dict_u64(pd, fwd_drop_names[r], t.drop[r]);
		rte_tel_data_add_dict_u64(pd, "held", t.held);
		rte_tel_data_add_dict_u64(pd, "copied", t.copied);
		rte_tel_data_add_dict_u64(pd, "copied_bytes", t.copied_bytes);
		rte_tel_data_add_dict_u64(pd, "sw_cksum", t.sw_cksum);
		rte_tel_data_add_dict_u64(pd, "sw_gso", t.sw_gso);
		rte_tel_data_add_dict_u64(pd, "sw_gso_segs", t.sw_gso_segs);
		for (r = 0; r < FWD_NB_FLOWS; r++)
			if (st->port[p].flow_id[r] != UINT64_MAX)
				rte_tel_data_add_dict_u64(pd, fwd_flow_names[r], t.flow[r]);
		snprintf(key, sizeof(key), "%u", p);
		if (rte_tel_data_add_dict_container(d, key, pd, 0) != 0)
			rte_tel_data_free(pd);
	}
	return 0;
}

static void
tel_lcore_sleeps(const struct fwd_lcore *lc, struct rte_tel_data *ld)
{
	uint64_t naps = pvb_counter_read(&lc->naps), intr = pvb_counter_read(&lc->intr_sleeps);

	rte_tel_data_add_dict_u64(ld, "sleeps", naps + intr);
	rte_tel_data_add_dict_u64(ld, "naps", naps);
	rte_tel_data_add_dict_u64(ld, "intr_sleeps", intr);
	rte_tel_data_add_dict_u64(ld, "intr_wakeups", pvb_counter_read(&lc->intr_wakeups));
	/* relaxed: a report, set once as the lcore starts */
	rte_tel_data_add_dict_u64(ld, "on_intr", pvb_load_relaxed(&lc->on_intr));
}

static int
fill_lcores(const struct fwd_state *st, struct rte_tel_data *d)
{
	const struct fwd_lcore *lc;
	struct rte_tel_data *ld;
	uint64_t busy, total, pkts;
	char name[16];
	uint16_t s;

	rte_tel_data_start_dict(d);
	for (s = 0; s < st->nb_lcores; s++) {
		lc = st->lc[s];
		ld = rte_tel_data_alloc();
		if (ld == NULL)
			return -1;
		busy = pvb_counter_read(&lc->busy_cycles);
		total = pvb_counter_read(&lc->total_cycles);
		pkts = fwd_lcore_pkts(st, lc);
		rte_tel_data_start_dict(ld);
		rte_tel_data_add_dict_u64(ld, "busy_pct", total ? busy * 100 / total : 0);
		rte_tel_data_add_dict_u64(ld, "busy_cycles", busy);
		rte_tel_data_add_dict_u64(ld, "total_cycles", total);
		rte_tel_data_add_dict_u64(ld, "rx", fwd_lcore_rx(st, lc));
		/* since start; rounded: 22.11's dicts take no floating point */
		rte_tel_data_add_dict_u64(ld, "cycles_per_pkt",
					  (uint64_t)(fwd_cycles_per_pkt(busy, pkts) + 0.5));
		rte_tel_data_add_dict_u64(ld, "rx_queues", lc->nb_rx);
		rte_tel_data_add_dict_u64(ld, "tx_queues", lc->nb_txq);
		rte_tel_data_add_dict_u64(ld, "handoff_tx", pvb_counter_read(&lc->handoff_tx));
		rte_tel_data_add_dict_u64(ld, "handoff_rx", pvb_counter_read(&lc->handoff_rx));
		tel_lcore_sleeps(lc, ld);
		snprintf(name, sizeof(name), "%u", lc->lcore_id);
		if (rte_tel_data_add_dict_container(d, name, ld, 0) != 0)
			rte_tel_data_free(ld);
	}
	return 0;
}

struct tel_walk {
	const struct fwd_state *st;
	struct rte_tel_data *d;
	unsigned int n;
};

static int
tel_l2_entry(const uint8_t mac[6], uint16_t port, uint64_t last_seen __rte_unused, void *arg)
{
	struct tel_walk *w = arg;
	char s[RTE_ETHER_ADDR_FMT_SIZE], key[8];
	struct rte_tel_data *e;

	e = rte_tel_data_alloc();
	if (e == NULL)
		return 1;
	snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	rte_tel_data_start_dict(e);
	rte_tel_data_add_dict_string(e, "mac", s);
	rte_tel_data_add_dict_string(e, "port", w->st->port[port].name);
	snprintf(key, sizeof(key), "%u", w->n);
	if (rte_tel_data_add_dict_container(w->d, key, e, 0) != 0) {
		rte_tel_data_free(e);
		return 1;
	}
	return ++w->n >= FWD_TEL_L2_MAX;
}

static int
fill_l2(const struct fwd_state *st, struct rte_tel_data *d)
{
	struct tel_walk w = { .st = st, .n = 0 };
	struct fwd_l2_stats s;

	rte_tel_data_start_dict(d);
	if (st->l2 == NULL) {
		rte_tel_data_add_dict_string(d, "mode", "xconnect (no MAC table)");
		return 0;
	}
	fwd_l2_stats(st->l2, &s);
	rte_tel_data_add_dict_u64(d, "entries", s.entries);
	rte_tel_data_add_dict_u64(d, "learned", s.learned);
	rte_tel_data_add_dict_u64(d, "moved", s.moved);
	rte_tel_data_add_dict_u64(d, "aged", s.aged);
	rte_tel_data_add_dict_u64(d, "flushed", s.flushed);
	rte_tel_data_add_dict_u64(d, "full", s.full);
	rte_tel_data_add_dict_u64(d, "invalid", fwd_l2_invalid_total(st));
	w.d = rte_tel_data_alloc();
	if (w.d == NULL)
		return -1;
	rte_tel_data_start_dict(w.d);
	fwd_l2_walk(st->l2, tel_l2_entry, &w);
	if (rte_tel_data_add_dict_container(d, "table", w.d, 0) != 0)
		rte_tel_data_free(w.d);
	return 0;
}

static int
tel_ports(const char *cmd __rte_unused, const char *params __rte_unused,
	  struct rte_tel_data *d)
{
	return tel_locked(fill_ports, d);
}

static int
tel_lcores(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	return tel_locked(fill_lcores, d);
}

static int
tel_l2(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	return tel_locked(fill_l2, d);
}

void
fwd_telemetry_withdraw(void)
{
	rte_spinlock_lock(&tel_lock);
	tel_state = NULL;
	rte_spinlock_unlock(&tel_lock);
}

int
fwd_telemetry_register(struct fwd_state *st)
{
	int rc;

	rte_spinlock_lock(&tel_lock);
	tel_state = st;
	rte_spinlock_unlock(&tel_lock);
	rc = rte_telemetry_register_cmd("/pvb/ports", tel_ports,
					"pvb-fwd per-port packets and drops by reason");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/pvb/lcores", tel_lcores,
						"pvb-fwd per-lcore busy share and hand-offs");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/pvb/l2", tel_l2,
						"pvb-fwd MAC table counters and entries");
	return rc;
}
