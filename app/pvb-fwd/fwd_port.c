/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* Ports and mempools: probe, configure, start; stop and close at exit. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "fwd.h"

#define FWD_MBUF_CACHE	256
#define FWD_MIN_MBUFS	8191
#define FWD_MAX_MTU	9600	/* jumbo frames pass where the device allows them */
#define FWD_L2_OVERHEAD	(RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN)	/* QinQ headers */


int
fwd_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The device name of a devargs string: what comes before the first comma. */
static void
dev_name(const char *devargs, char *name, size_t len)
{
	size_t n = strcspn(devargs, ",");

	snprintf(name, len, "%.*s", (int)n, devargs);
}

/* Probe port @p p's device if it names one (with the bridge's devargs), find its ethdev port. */
static int
find_port(struct fwd_state *st, uint16_t p, uint16_t *port_id, char *err, size_t errlen)
{
	const struct fwd_port_cfg *c = &st->cfg->ports[p];
	char name[FWD_DEV_LEN], dev[FWD_DEV_LEN + 64];
	int rc;

	dev_name(c->dev[0] != '\0' ? c->dev : c->name, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;
	if (c->dev[0] == '\0')
		return fwd_errf(err, errlen,
				"port %s: no device %s (give it with --vdev/-a or dev =)",
				c->name, name);
	if (fwd_bridge_devargs(st, p, dev, sizeof(dev)) != 0)
		return fwd_errf(err, errlen, "port %s: devargs too long with the bridge's keys",
				c->name);
	rc = rte_dev_probe(dev);
	if (rc != 0)
		return fwd_errf(err, errlen, "port %s: cannot probe '%s' (no such driver, or bad "
				"devargs; DPDK says: %s)", c->name, dev, strerror(-rc));
	if (rte_eth_dev_get_port_by_name(name, port_id) != 0)
		return fwd_errf(err, errlen, "port %s: '%s' probed but is not an ethdev", c->name,
				name);
	return 0;
}

/* Mbufs one socket needs: every descriptor, every lcore cache, every hand-off ring. */
static unsigned int
mbufs_needed(const struct fwd_config *cfg)
{
	unsigned int n = 0, i;

	if (cfg->nb_mbufs != 0)
		return cfg->nb_mbufs;
	for (i = 0; i < cfg->nb_ports; i++)
		n += cfg->ports[i].nb_queues *
		     (cfg->ports[i].nb_rxd + cfg->ports[i].nb_txd + 2 * cfg->burst);
	n += cfg->nb_lcores * (FWD_MBUF_CACHE * 3 / 2 + 2 * cfg->ring_size);
	return RTE_MAX(n, (unsigned int)FWD_MIN_MBUFS);
}

static struct rte_mempool *
pool_for(struct fwd_state *st, int socket, char *err, size_t errlen)
{
	unsigned int s = socket < 0 ? 0 : (unsigned int)socket;
	char name[RTE_MEMPOOL_NAMESIZE];

	if (s >= RTE_MAX_NUMA_NODES)
		s = 0;
	if (st->pool[s] != NULL)
		return st->pool[s];
	snprintf(name, sizeof(name), "pvb_fwd_mbuf_%u", s);
	st->pool[s] = rte_pktmbuf_pool_create(name, mbufs_needed(st->cfg), FWD_MBUF_CACHE, 0,
					      RTE_MBUF_DEFAULT_BUF_SIZE, (int)s);
	if (st->pool[s] == NULL) {
		fwd_errf(err, errlen, "mempool %s: %s", name, rte_strerror(rte_errno));
		return NULL;
	}
	st->in_use_start[s] = rte_mempool_in_use_count(st->pool[s]);
	return st->pool[s];
}

/* The transmit offloads pvb-fwd passes on: a frame's request goes to a port that has them. */
#define FWD_TX_OFFLOADS	(RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_TCP_TSO | \
			 RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM | \
			 RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
/* Receive offloads we use: chained mbufs for jumbo frames, checksum results passed on. */
#define FWD_RX_OFFLOADS	(RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | \
			 RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)

/* Offloads we use when the device has them (doc/pvb-fwd.md, "Offloads"). */
static void
port_conf(const struct rte_eth_dev_info *info, struct rte_eth_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->txmode.offloads = info->tx_offload_capa & FWD_TX_OFFLOADS;
	conf->rxmode.offloads = info->rx_offload_capa & FWD_RX_OFFLOADS;
	/* large TCP frames in, where the device gathers them (a peer's TSO, a NIC's LRO) */
	if ((info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO) && info->max_lro_pkt_size != 0) {
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
		conf->rxmode.max_lro_pkt_size = info->max_lro_pkt_size;
	}
}

/* The mbuf TX requests (pvb_swol.h) a device with @p capa honours; the rest pvb-fwd does. */
static uint64_t
port_tx_can(uint64_t capa)
{
	uint64_t can = 0;

	if (capa & RTE_ETH_TX_OFFLOAD_TCP_TSO)
		can |= RTE_MBUF_F_TX_TCP_SEG;
	if (capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
		can |= RTE_MBUF_F_TX_IP_CKSUM;
	/* one mask for both: a device with only one of them gets both done here */
	if ((capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) && (capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM))
		can |= RTE_MBUF_F_TX_L4_MASK;
	return can;
}

/*
 * Whether the port may hand us chained mbufs, and take them. Virtual devices
 * that advertise neither offload (net_null, net_pcap, net_tap) chain on rx
 * and accept chains on tx by themselves: count them as able.
 */
static void
port_segs(struct fwd_port *fp, const struct rte_eth_dev_info *info)
{
	bool virt = info->rx_offload_capa == 0 && info->tx_offload_capa == 0;

	fp->rx_scatter = virt || (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER);
	fp->tx_multi_seg = virt || (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	fp->tx_can = port_tx_can(info->tx_offload_capa);
}

/* Raise the MTU as far as the device goes (up to FWD_MAX_MTU); the frame limit follows. */
static void
port_mtu(struct fwd_port *fp, const struct rte_eth_dev_info *info)
{
	uint32_t want = RTE_MIN((uint32_t)info->max_mtu, (uint32_t)FWD_MAX_MTU);
	uint16_t mtu = 0;

	/* a device may report a max MTU its max frame cannot carry: respect both */
	if (info->max_rx_pktlen > RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN)
		want = RTE_MIN(want, info->max_rx_pktlen - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN);
	if (want > RTE_ETHER_MTU)
		(void)rte_eth_dev_set_mtu(fp->port_id, (uint16_t)want);
	if (rte_eth_dev_get_mtu(fp->port_id, &mtu) != 0 || mtu == 0)
		mtu = RTE_ETHER_MTU;
	fp->max_frame = RTE_MAX((uint32_t)mtu + FWD_L2_OVERHEAD, info->max_rx_pktlen);
	if (info->max_rx_pktlen == 0)
		fp->max_frame = (uint32_t)mtu + FWD_L2_OVERHEAD;
	fp->max_rx_frame = info->max_rx_pktlen ? info->max_rx_pktlen : UINT32_MAX;
}

static int
port_queues(struct fwd_state *st, uint16_t p, char *err, size_t errlen)
{
	const struct fwd_port_cfg *c = &st->cfg->ports[p];
	struct fwd_port *fp = &st->port[p];
	int socket = rte_eth_dev_socket_id(fp->port_id);
	struct rte_mempool *mp = pool_for(st, socket, err, errlen), *rx_mp;
	uint16_t nb_rxd = c->nb_rxd, nb_txd = c->nb_txd, q;
	int rc;

	if (mp == NULL)
		return -1;
	fp->copy_pool = mp;
	/* a bridged port receives into the guest's slots (fwd_bridge.c) */
	rx_mp = fwd_bridge_rx_pool(st, p);
	if (rx_mp == NULL)
		rx_mp = mp;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(fp->port_id, &nb_rxd, &nb_txd);
	for (q = 0; rc == 0 && q < c->nb_queues; q++) {
		rc = rte_eth_rx_queue_setup(fp->port_id, q, nb_rxd, socket, NULL, rx_mp);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(fp->port_id, q, nb_txd, socket, NULL);
	}
	if (rc != 0)
		return fwd_errf(err, errlen, "port %s: queue setup: %s", c->name, strerror(-rc));
	return 0;
}

/*
 * Whether the port has rx interrupts: it has the rx_queue_intr ops. Asked
 * with a disable, which a polled queue is anyway, on rx queue 0 set up for
 * the question: ethdev answers -ENOTSUP, without a log line, for a PMD
 * without them (net_null, net_pcap). Queue 0 is set up again with the rest.
 */
static bool
port_has_rx_intr(struct fwd_state *st, uint16_t p)
{
	const struct fwd_port_cfg *c = &st->cfg->ports[p];
	struct fwd_port *fp = &st->port[p];
	int socket = rte_eth_dev_socket_id(fp->port_id);
	struct rte_mempool *mp = fwd_bridge_rx_pool(st, p);
	uint16_t nb_rxd = c->nb_rxd, nb_txd = c->nb_txd;

	if (mp == NULL)
		mp = pool_for(st, socket, NULL, 0);
	if (mp == NULL || rte_eth_dev_adjust_nb_rx_tx_desc(fp->port_id, &nb_rxd, &nb_txd) != 0 ||
	    rte_eth_rx_queue_setup(fp->port_id, 0, nb_rxd, socket, NULL, mp) != 0)
		return false;
	return rte_eth_dev_rx_intr_disable(fp->port_id, 0) == 0;
}

static int
port_configure(struct fwd_state *st, uint16_t p, const struct rte_eth_dev_info *info,
	       bool rx_intr)
{
	const struct fwd_port_cfg *c = &st->cfg->ports[p];
	struct rte_eth_conf conf;
	int rc;

	port_conf(info, &conf);
	conf.intr_conf.rxq = rx_intr;
	rc = rte_eth_dev_configure(st->port[p].port_id, c->nb_queues, c->nb_queues, &conf);
	if (rc == 0) {
		st->port[p].configured = true;
		st->port[p].rx_intr = rx_intr;
	}
	return rc;
}

/*
 * Configure; in adaptive idle mode, with rx interrupts where the PMD has
 * them (fwd_idle.c sleeps on them), else as in busy mode.
 */
static int
port_configure_idle(struct fwd_state *st, uint16_t p, const struct rte_eth_dev_info *info)
{
	int rc = port_configure(st, p, info, false);

	if (rc != 0 || st->cfg->idle != FWD_IDLE_ADAPTIVE || !port_has_rx_intr(st, p))
		return rc;
	/* a PMD that refuses them after all is used without, as net_null is */
	if (port_configure(st, p, info, true) != 0)
		rc = port_configure(st, p, info, false);
	return rc;
}

/* Queues and start; a port that does not start with rx interrupts starts without. */
static int
port_start(struct fwd_state *st, uint16_t p, const struct rte_eth_dev_info *info,
	   char *err, size_t errlen)
{
	const struct fwd_port_cfg *c = &st->cfg->ports[p];
	struct fwd_port *fp = &st->port[p];
	int rc;

	if (port_queues(st, p, err, errlen) != 0)
		return -1;
	rc = rte_eth_dev_start(fp->port_id);
	if (rc != 0 && fp->rx_intr) {
		if (port_configure(st, p, info, false) != 0)
			return fwd_errf(err, errlen, "port %s: start: %s", c->name,
					strerror(-rc));
		port_mtu(fp, info);	/* configure set the MTU back */
		if (port_queues(st, p, err, errlen) != 0)
			return -1;
		rc = rte_eth_dev_start(fp->port_id);
	}
	if (rc != 0)
		return fwd_errf(err, errlen, "port %s: start: %s", c->name, strerror(-rc));
	fp->started = true;
	return 0;
}

static int
port_setup(struct fwd_state *st, uint16_t p, char *err, size_t errlen)
{
	const struct fwd_port_cfg *c = &st->cfg->ports[p];
	struct fwd_port *fp = &st->port[p];
	struct rte_eth_dev_info info;
	int rc;

	rc = rte_eth_dev_info_get(fp->port_id, &info);
	if (rc == 0 && (c->nb_queues > info.max_rx_queues || c->nb_queues > info.max_tx_queues))
		return fwd_errf(err, errlen,
				"port %s: %u queues asked, the device has %u rx / %u tx", c->name,
				c->nb_queues, info.max_rx_queues, info.max_tx_queues);
	if (rc == 0)
		rc = port_configure_idle(st, p, &info);
	if (rc != 0)
		return fwd_errf(err, errlen, "port %s: configure: %s", c->name, strerror(-rc));
	port_segs(fp, &info);
	port_mtu(fp, &info);
	if (port_start(st, p, &info, err, errlen) != 0)
		return -1;
	/* not every PMD has promiscuous mode (-ENOTSUP); the frames still flow */
	if (c->promisc)
		(void)rte_eth_promiscuous_enable(fp->port_id);
	(void)rte_eth_macaddr_get(fp->port_id, &fp->mac);
	fwd_flow_lookup(fp);
	return 0;
}

/* "FILE:LINE: why", at the line of port @p p's section, as config errors are. */
static int
port_err(const struct fwd_state *st, uint16_t p, const char *why, char *err, size_t errlen)
{
	const struct fwd_config *cfg = st->cfg;

	return fwd_errf(err, errlen, "%s:%u: %s", cfg->path[0] ? cfg->path : "(built-in config)",
			cfg->ports[p].line, why);
}

/*
 * Every port probed first, so that the bridge knows them all before any
 * queue is set up (a port's rx queues may take another port's slot pool);
 * then each is configured and started.
 */
int
fwd_ports_setup(struct fwd_state *st, char *err, size_t errlen)
{
	const struct fwd_config *cfg = st->cfg;
	char why[FWD_ERR_LEN];
	uint16_t p, q;

	st->nb_ports = cfg->nb_ports;
	if (fwd_bridge_init(st, err, errlen) != 0)
		return -1;
	for (p = 0; p < st->nb_ports; p++) {
		memset(st->port[p].flow_id, 0xff, sizeof(st->port[p].flow_id));
		snprintf(st->port[p].name, sizeof(st->port[p].name), "%s", cfg->ports[p].name);
		if (find_port(st, p, &st->port[p].port_id, why, sizeof(why)) != 0)
			return port_err(st, p, why, err, errlen);
	}
	if (fwd_bridge_probed(st, err, errlen) != 0)
		return -1;
	for (p = 0; p < st->nb_ports; p++)
		if (port_setup(st, p, why, sizeof(why)) != 0)
			return port_err(st, p, why, err, errlen);
	for (p = 0; p < st->nb_ports; p++)
		for (q = 0; q < st->nb_ports; q++)
			st->size_check[p][q] =
				st->port[p].max_rx_frame > st->port[q].max_frame ||
				(st->port[p].rx_scatter && !st->port[q].tx_multi_seg);
	return 0;
}

/* What each port transmitted and still holds goes back now (a PMD that reclaims lazily). */
static void
ports_tx_done(const struct fwd_state *st)
{
	uint16_t p, q;

	for (p = 0; p < st->nb_ports; p++)
		for (q = 0; st->port[p].started && q < st->cfg->ports[p].nb_queues; q++)
			(void)rte_eth_tx_done_cleanup(st->port[p].port_id, q, 0);
}

/*
 * Stop every port, then close: the ports that borrow a slot pool before the
 * net_pvb_netvsp ports that free theirs at close, once the slot pools are
 * checked whole. Returns how many slot pools are not (each is reported).
 */
unsigned int
fwd_ports_close(struct fwd_state *st)
{
	struct rte_eth_stats es;
	unsigned int bad;
	uint16_t p;
	int pass;

	ports_tx_done(st);
	for (p = 0; p < st->nb_ports; p++) {
		if (!st->port[p].configured)
			continue;
		/* the summary comes after close: keep the device's counts */
		if (rte_eth_stats_get(st->port[p].port_id, &es) == 0)
			st->port[p].nic_missed_at_close = es.imissed + es.rx_nombuf;
		fwd_flow_read(&st->port[p], st->port[p].flow_at_close);
		/* stop releases what the queues hold: before the mempools go */
		if (st->port[p].started)
			(void)rte_eth_dev_stop(st->port[p].port_id);
		st->port[p].started = false;
	}
	bad = fwd_bridge_check_slots(st);
	/* close frees the queues, also of a port whose start failed */
	for (pass = 0; pass < 2; pass++) {
		for (p = 0; p < st->nb_ports; p++) {
			if (!st->port[p].configured ||
			    (st->port[p].kind == FWD_KIND_NETVSP) != (pass == 1))
				continue;
			(void)rte_eth_dev_close(st->port[p].port_id);
			st->port[p].configured = false;
		}
	}
	return bad;
}
