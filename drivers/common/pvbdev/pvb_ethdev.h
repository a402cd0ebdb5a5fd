/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_ETHDEV_H_
#define _PVB_ETHDEV_H_

/**
 * @file
 * The ethdev pieces every pvbridge PMD shares, whatever its channel: devargs
 * (rte_kvargs, rte_ether_unformat_addr), the secondary-process probe, the
 * link as a control thread sets it, rx interrupt handles over private epoll
 * sets, and the no-op operations of ports whose queues live in the port.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ethdev_driver.h>
#include <rte_ether.h>
#include <rte_kvargs.h>

#include "pvb_ordering.h"

struct rte_vdev_device;

/** A devarg with an unsigned value in [min, max], a multiple of @p multiple. */
struct pvb_u32_arg {
	const char *key;
	uint32_t *v;
	uint32_t min, max, multiple;
};

/**
 * Process the u32 devargs @p a[0..n) of device @p name (absent ones keep
 * their value); logs the first bad one with @p logtype. 0 or -EINVAL.
 */
int pvb_devargs_u32s(int logtype, struct rte_kvargs *kv, const char *name,
		     const struct pvb_u32_arg *a, unsigned int n);

/** A unicast MAC devarg @p key into @p mac: 0 (absent), 1 (given) or -EINVAL (logged). */
int pvb_devargs_mac(int logtype, struct rte_kvargs *kv, const char *name, const char *key,
		    struct rte_ether_addr *mac);

/** A path devarg @p key given exactly once, 1..@p size - 1 bytes. 0 or -EINVAL (logged). */
int pvb_devargs_path(int logtype, struct rte_kvargs *kv, const char *name, const char *key,
		     char *path, size_t size);

/** The devargs of @p vdev against @p keys, or NULL with the keys logged. */
struct rte_kvargs *pvb_devargs_parse(int logtype, struct rte_vdev_device *vdev,
				     const char *const *keys);

/**
 * A secondary process (dpdk-dumpcap, dpdk-proc-info) attaches to the port
 * the primary made: @p ops read the shared port data; the datapath is the
 * primary's, so the bursts return nothing. NULL (logged) if not found.
 */
struct rte_eth_dev *pvb_eth_probe_secondary(int logtype, struct rte_vdev_device *vdev,
					    const struct eth_dev_ops *ops);

/** A port's control thread: started at probe, asked to stop and joined at close. */
struct pvb_ctrl {
	pthread_t thread;
	bool running;
	pvb_shared_u32 stop;	/* W: close; R: the thread */
};

/** Start @p fn(@p arg) as DPDK control thread @p name. 0 or -errno. */
int pvb_ctrl_start(struct pvb_ctrl *c, const char *name, void *(*fn)(void *), void *arg);

/** Ask the thread to stop and join it (nothing if it never ran). */
void pvb_ctrl_stop(struct pvb_ctrl *c);

/** The thread's loop condition: close asked it to stop. */
static inline bool
pvb_ctrl_stopping(const struct pvb_ctrl *c)
{
	/* relaxed: a stop request; pvb_ctrl_stop()'s join orders the rest */
	return pvb_load_relaxed(&c->stop) != 0;
}

/** Set the link of @p port_id (a control thread's view), with an LSC event when it changes. */
void pvb_eth_link_set(uint16_t port_id, bool up);

/**
 * Rx interrupts of @p n queues, queue q waking on the private epoll set
 * @p efds[q] (DPDK waits edge-triggered and reads nothing: counter size 0).
 */
int pvb_eth_intr_alloc(struct rte_eth_dev *dev, const int *efds, unsigned int n,
		       const char *name);
void pvb_eth_intr_free(struct rte_eth_dev *dev);

/** Mark every configured queue started or stopped. */
void pvb_eth_queues_state(struct rte_eth_dev *dev, uint8_t state);

/** A counter: its name and its offset in the struct that holds it. */
struct pvb_xstat {
	const char *name;
	size_t off;
};

/**
 * Counters kept alike by one struct (the port: @p count 1, no prefix) or by
 * each of @p count queues @p stride bytes apart from @p base, named
 * "<prefix><queue>_<name>" ("rx_q0_bad_chains").
 */
struct pvb_xstat_group {
	const char *prefix;
	const struct pvb_xstat *xs;
	unsigned int n;
	const void *base;
	size_t stride;
	unsigned int count;
};

/** The counter tables of a port that keeps its queues in arrays. */
struct pvb_xstat_tables {
	const struct pvb_xstat *port, *rxq, *txq;	/* xstats */
	const struct pvb_xstat *rxq_basic, *txq_basic;	/* in rte_eth_stats, zeroed with them */
	unsigned int nport, nrxq, ntxq, nrxq_basic, ntxq_basic;
};

#define PVB_XSTAT_GROUPS	5

/**
 * The groups of tables @p t for a port at @p port with @p queues queues in
 * arrays at @p rxq and @p txq (elements @p rxq_size, @p txq_size bytes).
 * Returns how many of them are xstats (the first 3; the basic ones follow).
 */
unsigned int pvb_xstat_port_groups(struct pvb_xstat_group g[PVB_XSTAT_GROUPS],
				   const struct pvb_xstat_tables *t, const void *port,
				   const void *rxq, size_t rxq_size, const void *txq,
				   size_t txq_size, unsigned int queues);

/**
 * The flow xstats every pvbridge PMD has (doc/bridge.md): rx and tx frames
 * and bytes moved by reference and copied, "rx_ref_packets" ...
 * "tx_copied_bytes". A queue-array port moves every frame of a direction
 * one way: the sums of its queues' packets and bytes go under ref or
 * copied, the other pair stays 0.
 */
#define PVB_FLOW_XSTATS	8
#define PVB_FLOW_RX_REF	(1u << 0)	/**< rx frames are the peer's writes into our buffers */
#define PVB_FLOW_TX_REF	(1u << 1)	/**< tx frames are read in place by the peer */
/** Write the PVB_FLOW_XSTATS names at @p names. */
void pvb_flow_xstats_names(struct rte_eth_xstat_name *names);
/** Write the PVB_FLOW_XSTATS values at @p xs, ids from @p id, from basic groups @p rx, @p tx. */
void pvb_flow_xstats_get(struct rte_eth_xstat *xs, unsigned int id, const struct pvb_xstat_group *rx,
			 const struct pvb_xstat_group *tx, unsigned int flags);

/**
 * The xstats of a port of type @p port_t that keeps @p queues queues in
 * arrays rxq[] and txq[]: tables xs_port, xs_rxq and xs_txq (in scope,
 * named so) are its xstats, then the flow xstats (@p flow: PVB_FLOW_*);
 * each rxq's packets, bytes and nombuf and each txq's packets and bytes
 * (its rte_eth_stats) are zeroed with them. Defines prefix_xstats_names,
 * prefix_xstats_get and prefix_stats_reset.
 */
#define PVB_XSTATS_QUEUE_PORT(prefix, port_t, flow) \
static const struct pvb_xstat prefix ## _xs_rxq_basic[] = { \
	{ "packets", offsetof(__typeof__(((port_t *)0)->rxq[0]), packets) }, \
	{ "bytes", offsetof(__typeof__(((port_t *)0)->rxq[0]), bytes) }, \
	{ "nombuf", offsetof(__typeof__(((port_t *)0)->rxq[0]), nombuf) }, \
}; \
static const struct pvb_xstat prefix ## _xs_txq_basic[] = { \
	{ "packets", offsetof(__typeof__(((port_t *)0)->txq[0]), packets) }, \
	{ "bytes", offsetof(__typeof__(((port_t *)0)->txq[0]), bytes) }, \
}; \
static const struct pvb_xstat_tables prefix ## _xs = { \
	xs_port, xs_rxq, xs_txq, prefix ## _xs_rxq_basic, prefix ## _xs_txq_basic, \
	RTE_DIM(xs_port), RTE_DIM(xs_rxq), RTE_DIM(xs_txq), \
	RTE_DIM(prefix ## _xs_rxq_basic), RTE_DIM(prefix ## _xs_txq_basic), \
}; \
static unsigned int \
prefix ## _xstat_groups(struct rte_eth_dev *dev, struct pvb_xstat_group *g) \
{ \
	const port_t *p = dev->data->dev_private; \
	return pvb_xstat_port_groups(g, &prefix ## _xs, p, p->rxq, sizeof(p->rxq[0]), \
				     p->txq, sizeof(p->txq[0]), p->queues); \
} \
static int \
prefix ## _xstats_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names, \
			unsigned int n) \
{ \
	struct pvb_xstat_group g[PVB_XSTAT_GROUPS]; \
	unsigned int ng = prefix ## _xstat_groups(dev, g); \
	int k = pvb_xstats_names(g, ng, NULL, 0); \
	if (names == NULL || n < (unsigned int)k + PVB_FLOW_XSTATS) \
		return k + PVB_FLOW_XSTATS; \
	pvb_xstats_names(g, ng, names, n); \
	pvb_flow_xstats_names(names + k); \
	return k + PVB_FLOW_XSTATS; \
} \
static int \
prefix ## _xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int n) \
{ \
	struct pvb_xstat_group g[PVB_XSTAT_GROUPS]; \
	unsigned int ng = prefix ## _xstat_groups(dev, g); \
	int k = pvb_xstats_get(g, ng, NULL, 0); \
	if (xs == NULL || n < (unsigned int)k + PVB_FLOW_XSTATS) \
		return k + PVB_FLOW_XSTATS; \
	pvb_xstats_get(g, ng, xs, n); \
	pvb_flow_xstats_get(xs + k, (unsigned int)k, &g[3], &g[4], (flow)); \
	return k + PVB_FLOW_XSTATS; \
} \
static int \
prefix ## _stats_reset(struct rte_eth_dev *dev) \
{ \
	struct pvb_xstat_group g[PVB_XSTAT_GROUPS]; \
	prefix ## _xstat_groups(dev, g); \
	pvb_xstats_reset(g, PVB_XSTAT_GROUPS); \
	return 0; \
}

/** The xstats_get_names / xstats_get operations over groups @p g[0..ng). */
int pvb_xstats_names(const struct pvb_xstat_group *g, unsigned int ng,
		     struct rte_eth_xstat_name *names, unsigned int n);
int pvb_xstats_get(const struct pvb_xstat_group *g, unsigned int ng, struct rte_eth_xstat *xs,
		   unsigned int n);
/** Zero every counter of the groups (relaxed: a reset races with counting, as on any NIC). */
void pvb_xstats_reset(const struct pvb_xstat_group *g, unsigned int ng);

/* Operations of ports whose queues live in the port and whose link a control thread sets. */
uint16_t pvb_eth_no_burst(void *queue, struct rte_mbuf **pkts, uint16_t n);
/** promiscuous / allmulticast on a virtual wire: every frame is delivered, nothing to set. */
int pvb_eth_nop(struct rte_eth_dev *dev);
/** mac_addr_set on a virtual wire: no filter to program (ethdev keeps the address). */
int pvb_eth_mac_set(struct rte_eth_dev *dev, struct rte_ether_addr *mac);
void pvb_eth_queue_release(struct rte_eth_dev *dev, uint16_t qid);
int pvb_eth_link_get(struct rte_eth_dev *dev, int wait);

#endif /* _PVB_ETHDEV_H_ */
