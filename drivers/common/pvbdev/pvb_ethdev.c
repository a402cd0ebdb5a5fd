/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* The ethdev pieces every pvbridge PMD shares (pvb_ethdev.h). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bus_vdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_interrupts.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_string_fns.h>

#include "pvb_ethdev.h"

#define PLOG(logtype, level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, logtype, fmt "\n", ##__VA_ARGS__)

/* ---- devargs -------------------------------------------------------------------- */

static int
kv_u32(const char *key, const char *v, void *arg)
{
	const struct pvb_u32_arg *a = arg;
	unsigned long long x;
	char *end;

	RTE_SET_USED(key);
	if (v == NULL || *v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || x < a->min || x > a->max || x % a->multiple != 0)
		return -EINVAL;
	*a->v = (uint32_t)x;
	return 0;
}

int
pvb_devargs_u32s(int logtype, struct rte_kvargs *kv, const char *name,
		 const struct pvb_u32_arg *a, unsigned int n)
{
	unsigned int i;

	/* a key given twice is refused with the range it must be in */
	for (i = 0; i < n; i++) {
		if (rte_kvargs_count(kv, a[i].key) <= 1 &&
		    rte_kvargs_process(kv, a[i].key, kv_u32, (void *)(uintptr_t)&a[i]) == 0)
			continue;
		if (a[i].min == 0 && a[i].max == 1)
			PLOG(logtype, ERR, "%s: %s must be 0 or 1", name, a[i].key);
		else if (a[i].multiple > 1)
			PLOG(logtype, ERR, "%s: %s must be %u..%u, a multiple of %u",
			     name, a[i].key, a[i].min, a[i].max, a[i].multiple);
		else
			PLOG(logtype, ERR, "%s: %s must be %u..%u", name, a[i].key,
			     a[i].min, a[i].max);
		return -EINVAL;
	}
	return 0;
}

static int
kv_mac(const char *key, const char *v, void *arg)
{
	struct rte_ether_addr *mac = arg;

	RTE_SET_USED(key);
	if (v == NULL || rte_ether_unformat_addr(v, mac) != 0)
		return -EINVAL;
	/* a group address cannot be a port's address */
	return rte_is_unicast_ether_addr(mac) && !rte_is_zero_ether_addr(mac) ? 0 : -EINVAL;
}

int
pvb_devargs_mac(int logtype, struct rte_kvargs *kv, const char *name, const char *key,
		struct rte_ether_addr *mac)
{
	if (rte_kvargs_count(kv, key) == 0)
		return 0;
	if (rte_kvargs_count(kv, key) > 1 || rte_kvargs_process(kv, key, kv_mac, mac) != 0) {
		PLOG(logtype, ERR, "%s: %s must be a unicast xx:xx:xx:xx:xx:xx", name, key);
		return -EINVAL;
	}
	return 1;
}

struct path_arg {
	char *path;
	size_t size;
};

static int
kv_path(const char *key, const char *v, void *arg)
{
	const struct path_arg *a = arg;

	RTE_SET_USED(key);
	if (v == NULL || v[0] == '\0' || strlen(v) >= a->size)
		return -EINVAL;
	strlcpy(a->path, v, a->size);
	return 0;
}

int
pvb_devargs_path(int logtype, struct rte_kvargs *kv, const char *name, const char *key,
		 char *path, size_t size)
{
	struct path_arg a = { path, size };

	if (rte_kvargs_count(kv, key) != 1 || rte_kvargs_process(kv, key, kv_path, &a) != 0) {
		PLOG(logtype, ERR, "%s: give exactly one %s=<unix socket path> of 1..%zu bytes",
		     name, key, size - 1);
		return -EINVAL;
	}
	return 0;
}

struct rte_kvargs *
pvb_devargs_parse(int logtype, struct rte_vdev_device *vdev, const char *const *keys)
{
	const char *name = rte_vdev_device_name(vdev), *args = rte_vdev_device_args(vdev);
	struct rte_kvargs *kv = rte_kvargs_parse(args != NULL ? args : "", keys);
	char known[256] = "";
	unsigned int i;

	if (kv != NULL)
		return kv;
	for (i = 0; keys[i] != NULL; i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			 i > 0 ? ", " : "", keys[i]);
	PLOG(logtype, ERR, "%s: cannot parse \"%s\"; known: %s", name, args, known);
	return NULL;
}

/* ---- probe, link, interrupts ------------------------------------------------------ */

uint16_t
pvb_eth_no_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	RTE_SET_USED(queue);
	RTE_SET_USED(pkts);
	RTE_SET_USED(n);
	return 0;
}

struct rte_eth_dev *
pvb_eth_probe_secondary(int logtype, struct rte_vdev_device *vdev, const struct eth_dev_ops *ops)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev = rte_eth_dev_attach_secondary(name);

	if (dev == NULL) {
		PLOG(logtype, ERR, "%s: not found in the primary process", name);
		return NULL;
	}
	dev->dev_ops = ops;
	dev->device = &vdev->device;
	dev->rx_pkt_burst = pvb_eth_no_burst;
	dev->tx_pkt_burst = pvb_eth_no_burst;
	rte_eth_dev_probing_finish(dev);
	return dev;
}

int
pvb_ctrl_start(struct pvb_ctrl *c, const char *name, void *(*fn)(void *), void *arg)
{
	int rc = rte_ctrl_thread_create(&c->thread, name, NULL, fn, arg);

	if (rc != 0)
		return -rc;
	c->running = true;
	return 0;
}

void
pvb_ctrl_stop(struct pvb_ctrl *c)
{
	if (!c->running)
		return;
	/* relaxed: a stop request; the join below orders the rest */
	pvb_store_relaxed(&c->stop, 1);
	pthread_join(c->thread, NULL);
	c->running = false;
}

void
pvb_eth_link_set(uint16_t port_id, bool up)
{
	struct rte_eth_dev *dev = &rte_eth_devices[port_id];
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_10G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = up,
	};

	/* 0: the status changed */
	if (rte_eth_linkstatus_set(dev, &link) == 0 && dev->data->dev_conf.intr_conf.lsc)
		rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, NULL);
}

int
pvb_eth_intr_alloc(struct rte_eth_dev *dev, const int *efds, unsigned int n, const char *name)
{
	struct rte_intr_handle *h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	unsigned int q;

	if (h == NULL)
		return -ENOMEM;
	dev->intr_handle = h;
	if (rte_intr_type_set(h, RTE_INTR_HANDLE_VDEV) != 0 || rte_intr_fd_set(h, -1) != 0 ||
	    rte_intr_nb_efd_set(h, n) != 0 || rte_intr_max_intr_set(h, n + 1) != 0 ||
	    rte_intr_efd_counter_size_set(h, 0) != 0 || rte_intr_vec_list_alloc(h, name, n) != 0)
		return -ENOMEM;
	for (q = 0; q < n; q++)
		if (rte_intr_efds_index_set(h, q, efds[q]) != 0 ||
		    rte_intr_vec_list_index_set(h, q, RTE_INTR_VEC_RXTX_OFFSET + q) != 0)
			return -ENOMEM;
	return 0;
}

void
pvb_eth_intr_free(struct rte_eth_dev *dev)
{
	if (dev->intr_handle == NULL)
		return;
	rte_intr_vec_list_free(dev->intr_handle);
	rte_intr_instance_free(dev->intr_handle);
	dev->intr_handle = NULL;
}

void
pvb_eth_queues_state(struct rte_eth_dev *dev, uint8_t state)
{
	uint16_t q;

	for (q = 0; q < dev->data->nb_rx_queues; q++)
		dev->data->rx_queue_state[q] = state;
	for (q = 0; q < dev->data->nb_tx_queues; q++)
		dev->data->tx_queue_state[q] = state;
}

void
pvb_eth_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	RTE_SET_USED(dev);
	RTE_SET_USED(qid);
}

int
pvb_eth_link_get(struct rte_eth_dev *dev, int wait)
{
	RTE_SET_USED(dev);
	RTE_SET_USED(wait);
	return 0;	/* the control thread sets the link as the peer comes and goes */
}

/* ---- xstats --------------------------------------------------------------------- */

static unsigned int
xstats_count(const struct pvb_xstat_group *g, unsigned int ng)
{
	unsigned int k = 0, i;

	for (i = 0; i < ng; i++)
		k += g[i].n * g[i].count;
	return k;
}

static pvb_counter_t *
xstat_at(const struct pvb_xstat_group *g, unsigned int q, unsigned int i)
{
	return (pvb_counter_t *)((uintptr_t)g->base + q * g->stride + g->xs[i].off);
}

int
pvb_xstats_names(const struct pvb_xstat_group *g, unsigned int ng,
		 struct rte_eth_xstat_name *names, unsigned int n)
{
	unsigned int total = xstats_count(g, ng), k = 0, j, q, i;

	if (names == NULL || n < total)
		return (int)total;
	for (j = 0; j < ng; j++)
		for (q = 0; q < g[j].count; q++)
			for (i = 0; i < g[j].n; i++, k++) {
				if (g[j].prefix == NULL)
					strlcpy(names[k].name, g[j].xs[i].name,
						sizeof(names[k].name));
				else
					snprintf(names[k].name, sizeof(names[k].name), "%s%u_%s",
						 g[j].prefix, q, g[j].xs[i].name);
			}
	return (int)k;
}

int
pvb_xstats_get(const struct pvb_xstat_group *g, unsigned int ng, struct rte_eth_xstat *xs,
	       unsigned int n)
{
	unsigned int total = xstats_count(g, ng), k = 0, j, q, i;

	if (xs == NULL || n < total)
		return (int)total;
	for (j = 0; j < ng; j++)
		for (q = 0; q < g[j].count; q++)
			for (i = 0; i < g[j].n; i++, k++) {
				xs[k].id = k;
				xs[k].value = pvb_counter_read(xstat_at(&g[j], q, i));
			}
	return (int)k;
}

void
pvb_xstats_reset(const struct pvb_xstat_group *g, unsigned int ng)
{
	unsigned int j, q, i;

	for (j = 0; j < ng; j++)
		for (q = 0; q < g[j].count; q++)
			for (i = 0; i < g[j].n; i++)
				/* relaxed: a reset races with counting by design */
				atomic_store_explicit(xstat_at(&g[j], q, i), 0,
						      memory_order_relaxed);
}

void
pvb_flow_xstats_names(struct rte_eth_xstat_name *names)
{
	static const char *const flow[PVB_FLOW_XSTATS] = {
		"rx_ref_packets", "rx_ref_bytes", "rx_copied_packets", "rx_copied_bytes",
		"tx_ref_packets", "tx_ref_bytes", "tx_copied_packets", "tx_copied_bytes",
	};
	unsigned int i;

	for (i = 0; i < PVB_FLOW_XSTATS; i++)
		strlcpy(names[i].name, flow[i], sizeof(names[i].name));
}

/* The sum over the queues of counter @p i of basic group @p g. */
static uint64_t
flow_sum(const struct pvb_xstat_group *g, unsigned int i)
{
	uint64_t v = 0;
	unsigned int q;

	for (q = 0; q < g->count; q++)
		v += pvb_counter_read(xstat_at(g, q, i));
	return v;
}

void
pvb_flow_xstats_get(struct rte_eth_xstat *xs, unsigned int id, const struct pvb_xstat_group *rx,
		    const struct pvb_xstat_group *tx, unsigned int flags)
{
	/* the basic groups start with packets, bytes */
	uint64_t rp = flow_sum(rx, 0), rb = flow_sum(rx, 1), tp = flow_sum(tx, 0);
	uint64_t tb = flow_sum(tx, 1);
	bool rref = flags & PVB_FLOW_RX_REF, tref = flags & PVB_FLOW_TX_REF;
	uint64_t v[PVB_FLOW_XSTATS] = {
		rref ? rp : 0, rref ? rb : 0, rref ? 0 : rp, rref ? 0 : rb,
		tref ? tp : 0, tref ? tb : 0, tref ? 0 : tp, tref ? 0 : tb,
	};
	unsigned int i;

	for (i = 0; i < PVB_FLOW_XSTATS; i++) {
		xs[i].id = id + i;
		xs[i].value = v[i];
	}
}

unsigned int
pvb_xstat_port_groups(struct pvb_xstat_group g[PVB_XSTAT_GROUPS], const struct pvb_xstat_tables *t,
		      const void *port, const void *rxq, size_t rxq_size, const void *txq,
		      size_t txq_size, unsigned int queues)
{
	g[0] = (struct pvb_xstat_group){ NULL, t->port, t->nport, port, 0, 1 };
	g[1] = (struct pvb_xstat_group){ "rx_q", t->rxq, t->nrxq, rxq, rxq_size, queues };
	g[2] = (struct pvb_xstat_group){ "tx_q", t->txq, t->ntxq, txq, txq_size, queues };
	g[3] = (struct pvb_xstat_group){ "rx_q", t->rxq_basic, t->nrxq_basic, rxq, rxq_size,
					 queues };
	g[4] = (struct pvb_xstat_group){ "tx_q", t->txq_basic, t->ntxq_basic, txq, txq_size,
					 queues };
	return 3;
}

int
pvb_eth_nop(struct rte_eth_dev *dev)
{
	RTE_SET_USED(dev);
	return 0;
}

int
pvb_eth_mac_set(struct rte_eth_dev *dev, struct rte_ether_addr *mac)
{
	RTE_SET_USED(dev);
	RTE_SET_USED(mac);
	return 0;
}
