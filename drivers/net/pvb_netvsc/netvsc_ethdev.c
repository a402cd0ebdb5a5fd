/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* net_pvb_netvsc: probe, devargs and ethdev operations. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bus_vdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "netvsc.h"

RTE_LOG_REGISTER_DEFAULT(netvsc_logtype, NOTICE);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, netvsc_logtype, "net_pvb_netvsc: " fmt "\n", ##__VA_ARGS__)

#define ARG_PATH	"path"
#define ARG_MAC		"mac"
#define ARG_RING_KB	"ring_kb"
#define ARG_RXBUF_MB	"rxbuf_mb"
#define ARG_TXBUF_MB	"txbuf_mb"
#define ARG_ZERO_COPY	"zero_copy"
#define ARG_COPYBREAK	"copybreak"

static const char *const netvsc_args[] = { ARG_PATH, ARG_MAC, ARG_RING_KB, ARG_RXBUF_MB,
	ARG_TXBUF_MB, ARG_ZERO_COPY, ARG_COPYBREAK, NULL };

static int
netvsc_configure(struct rte_eth_dev *dev)
{
	if (dev->data->nb_rx_queues > 1 || dev->data->nb_tx_queues > 1)
		return -EINVAL;
	return 0;
}

static int
netvsc_infos(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct netvsc_port *p = dev->data->dev_private;

	info->max_mac_addrs = 1;
	info->max_rx_queues = 1;
	info->max_tx_queues = 1;
	/* before the host's offer: the largest frame the protocol allows */
	info->max_rx_pktlen = (p->mtu != 0 ? p->mtu : 9216) + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = p->mtu != 0 ? p->mtu : 9216;
	info->min_rx_bufsize = 0;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
	/* frames larger than an mbuf are copied into chains */
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER;
	info->rx_desc_lim.nb_max = UINT16_MAX;
	info->tx_desc_lim.nb_max = UINT16_MAX;
	info->speed_capa = RTE_ETH_LINK_SPEED_10G;
	return 0;
}

static int
netvsc_start(struct rte_eth_dev *dev)
{
	struct netvsc_port *p = dev->data->dev_private;

	p->started = true;
	dev->data->rx_queue_state[0] = RTE_ETH_QUEUE_STATE_STARTED;
	dev->data->tx_queue_state[0] = RTE_ETH_QUEUE_STATE_STARTED;
	netvsc_link_update_now(p);
	return 0;	/* the control thread sets the packet filter */
}

static int
netvsc_stop(struct rte_eth_dev *dev)
{
	struct netvsc_port *p = dev->data->dev_private;

	p->started = false;
	dev->data->rx_queue_state[0] = RTE_ETH_QUEUE_STATE_STOPPED;
	dev->data->tx_queue_state[0] = RTE_ETH_QUEUE_STATE_STOPPED;
	return 0;
}

static void
netvsc_shutdown(struct netvsc_port *p)
{
	if (p->thread_running) {
		/* relaxed: the join below orders the rest */
		pvb_store_relaxed(&p->stop, 1);
		pthread_join(p->thread, NULL);
		p->thread_running = false;
	}
}

static int
netvsc_close(struct rte_eth_dev *dev)
{
	struct netvsc_port *p = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	netvsc_shutdown(p);
	return 0;
}

static int
netvsc_rxq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		 const struct rte_eth_rxconf *conf, struct rte_mempool *mp)
{
	struct netvsc_port *p = dev->data->dev_private;

	(void)nb_desc;
	(void)socket;
	(void)conf;
	p->rxq.port = p;
	p->rxq.mp = mp;
	dev->data->rx_queues[qid] = &p->rxq;
	return 0;
}

static int
netvsc_txq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		 const struct rte_eth_txconf *conf)
{
	struct netvsc_port *p = dev->data->dev_private;

	(void)nb_desc;
	(void)socket;
	(void)conf;
	p->txq.port = p;
	dev->data->tx_queues[qid] = &p->txq;
	return 0;
}

static int
netvsc_link_update(struct rte_eth_dev *dev, int wait)
{
	(void)wait;
	netvsc_link_update_now(dev->data->dev_private);
	return 0;
}

static int
netvsc_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct netvsc_port *p = dev->data->dev_private;

	st->ipackets = pvb_counter_read(&p->rxq.packets);
	st->ibytes = pvb_counter_read(&p->rxq.bytes);
	st->rx_nombuf = pvb_counter_read(&p->rxq.nombuf);
	st->ierrors = pvb_counter_read(&p->bad_packets);
	st->imissed = pvb_counter_read(&p->not_polled_drops);
	st->opackets = pvb_counter_read(&p->txq.packets);
	st->obytes = pvb_counter_read(&p->txq.bytes);
	st->oerrors = pvb_counter_read(&p->txq.too_big);
	st->q_ipackets[0] = st->ipackets;
	st->q_ibytes[0] = st->ibytes;
	st->q_opackets[0] = st->opackets;
	st->q_obytes[0] = st->obytes;
	return 0;
}

/* Every counter, in the order of netvsc_xstat_names. */
#define NETVSC_XSTATS(X) \
	X("rx_zero_copy_packets", &p->rxq.zero_copy) \
	X("rx_bad_packets", &p->bad_packets) \
	X("rx_dropped_not_polled", &p->not_polled_drops) \
	X("tx_too_big_packets", &p->txq.too_big) \
	X("tx_send_buffer_full", &p->txq.no_section) \
	X("tx_gpa_packets", &p->txq.gpa) \
	X("tx_gpa_zero_copy_packets", &p->txq.gpa_zero_copy) \
	X("ring_broken", &p->ring_broken) \
	X("protocol_errors", &p->protocol_errors) \
	X("bad_completions", &p->bad_completions) \
	X("host_connects", &p->connects) \
	X("host_disconnects", &p->disconnects)

#define NETVSC_NAME(n, c) n,
static const char *const netvsc_xstat_names[] = {
	NETVSC_XSTATS(NETVSC_NAME)
	"completions_pending", "send_sections_in_use", "signals", "completion_ring_full",
};

static int
netvsc_stats_reset(struct rte_eth_dev *dev)
{
	struct netvsc_port *p = dev->data->dev_private;

#define NETVSC_RESET(n, c) nvchan_counter_zero(c);
	NETVSC_XSTATS(NETVSC_RESET)
	nvchan_counter_zero(&p->rxq.packets);
	nvchan_counter_zero(&p->rxq.bytes);
	nvchan_counter_zero(&p->rxq.nombuf);
	nvchan_counter_zero(&p->txq.packets);
	nvchan_counter_zero(&p->txq.bytes);
	return 0;
}

static int
netvsc_xstats_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names, unsigned int n)
{
	(void)dev;
	return nvchan_xstats_names(names, n, netvsc_xstat_names, RTE_DIM(netvsc_xstat_names));
}

static int
netvsc_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int n)
{
	struct netvsc_port *p = dev->data->dev_private;
	uint64_t v[RTE_DIM(netvsc_xstat_names)];
	unsigned int i = 0;

#define NETVSC_VALUE(nm, c) v[i++] = pvb_counter_read(c);
	NETVSC_XSTATS(NETVSC_VALUE)
	/* the control thread's snapshot: the channel itself may go at any time */
	nvchan_xsnap_read(&p->xsnap, v + i);
	if (xs == NULL || n < RTE_DIM(v))
		return RTE_DIM(v);
	for (i = 0; i < RTE_DIM(v); i++) {
		xs[i].id = i;
		xs[i].value = v[i];
	}
	return RTE_DIM(v);
}

/* The control thread turns these into the RNDIS packet filter. */
static int
netvsc_promisc_on(struct rte_eth_dev *dev)
{
	((struct netvsc_port *)dev->data->dev_private)->promisc = true;
	return 0;
}

static int
netvsc_promisc_off(struct rte_eth_dev *dev)
{
	((struct netvsc_port *)dev->data->dev_private)->promisc = false;
	return 0;
}

static int
netvsc_allmulti(struct rte_eth_dev *dev)
{
	(void)dev;	/* all multicast is always in the filter */
	return 0;
}

static int
netvsc_mac_set(struct rte_eth_dev *dev, struct rte_ether_addr *mac)
{
	struct netvsc_port *p = dev->data->dev_private;

	/* frames go out with any source; the host filters on the MAC it offered */
	p->mac = *mac;
	p->mac_given = true;
	return 0;
}

static int
netvsc_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	struct netvsc_port *p = dev->data->dev_private;

	/* the host offered p->mtu: a smaller one is a local choice */
	return p->mtu == 0 || mtu <= p->mtu ? 0 : -EINVAL;
}

static const struct eth_dev_ops netvsc_ops = {
	.dev_configure = netvsc_configure,
	.dev_infos_get = netvsc_infos,
	.dev_start = netvsc_start,
	.dev_stop = netvsc_stop,
	.dev_close = netvsc_close,
	.rx_queue_setup = netvsc_rxq_setup,
	.tx_queue_setup = netvsc_txq_setup,
	.rx_queue_release = nvchan_queue_release,
	.tx_queue_release = nvchan_queue_release,
	.link_update = netvsc_link_update,
	.stats_get = netvsc_stats_get,
	.stats_reset = netvsc_stats_reset,
	.xstats_get = netvsc_xstats_get,
	.xstats_get_names = netvsc_xstats_names,
	.xstats_reset = netvsc_stats_reset,
	.promiscuous_enable = netvsc_promisc_on,
	.promiscuous_disable = netvsc_promisc_off,
	.allmulticast_enable = netvsc_allmulti,
	.allmulticast_disable = netvsc_allmulti,
	.mac_addr_set = netvsc_mac_set,
	.mtu_set = netvsc_mtu_set,
};

struct netvsc_range {
	uint32_t *v;
	uint32_t min, max, multiple;
};

static int
netvsc_kv_u32(const char *key, const char *v, void *arg)
{
	const struct netvsc_range *r = arg;

	(void)key;
	if (nvchan_parse_u32(v, r->min, r->max, r->v) != 0 || *r->v % r->multiple != 0)
		return -EINVAL;
	return 0;
}

static int
netvsc_parse(struct rte_vdev_device *vdev, struct netvsc_port *p)
{
	const char *name = rte_vdev_device_name(vdev), *args = rte_vdev_device_args(vdev);
	struct rte_kvargs *kv = rte_kvargs_parse(args != NULL ? args : "", netvsc_args);
	uint32_t zc = 1;
	const struct {
		const char *key;
		struct netvsc_range r;
		const char *help;
	} num[] = {
		{ ARG_RING_KB, { &p->ring_kb, 8, 65536, 4 }, "8..65536, a multiple of 4" },
		{ ARG_RXBUF_MB, { &p->rxbuf_mb, 1, 1024, 1 }, "1..1024" },
		{ ARG_TXBUF_MB, { &p->txbuf_mb, 1, 1024, 1 }, "1..1024" },
		{ ARG_ZERO_COPY, { &zc, 0, 1, 1 }, "0 or 1" },
		{ ARG_COPYBREAK, { &p->copybreak, 0, UINT16_MAX, 1 }, "0..65535" },
	};
	unsigned int i;
	int rc = 0;

	if (kv == NULL) {
		LOG(ERR, "%s: cannot parse \"%s\"; known: path, mac, ring_kb, rxbuf_mb, txbuf_mb, "
		    "zero_copy, copybreak", name, args);
		return -EINVAL;
	}
	if (rte_kvargs_count(kv, ARG_PATH) != 1) {
		LOG(ERR, "%s: give exactly one path=<unix socket of a net_pvb_netvsp port>", name);
		rc = -EINVAL;
	} else if (rte_kvargs_process(kv, ARG_PATH, nvchan_kv_path, p->path) != 0) {
		LOG(ERR, "%s: path must be 1..107 bytes", name);
		rc = -EINVAL;
	} else if (rte_kvargs_process(kv, ARG_MAC, nvchan_kv_mac, p->mac.addr_bytes) != 0) {
		LOG(ERR, "%s: mac must be a unicast xx:xx:xx:xx:xx:xx", name);
		rc = -EINVAL;
	}
	p->mac_given = rte_kvargs_count(kv, ARG_MAC) > 0;
	for (i = 0; rc == 0 && i < RTE_DIM(num); i++)
		if (rte_kvargs_process(kv, num[i].key, netvsc_kv_u32, (void *)(uintptr_t)&num[i].r)
		    != 0) {
			LOG(ERR, "%s: %s must be %s", name, num[i].key, num[i].help);
			rc = -EINVAL;
		}
	p->zero_copy = zc != 0;
	rte_kvargs_free(kv);
	return rc;
}

static int
netvsc_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev;
	struct netvsc_port *p;
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		LOG(ERR, "%s: secondary processes are not supported", name);
		return -ENOTSUP;
	}
	dev = rte_eth_vdev_allocate(vdev, sizeof(*p));
	if (dev == NULL)
		return -ENOMEM;
	p = dev->data->dev_private;
	p->ring_kb = 1024;
	p->rxbuf_mb = 16;
	p->txbuf_mb = 16;
	p->copybreak = 256;
	p->port_id = dev->data->port_id;
	p->socket_id = rte_socket_id();
	p->gc.sock = -1;
	p->agg_sect = -1;
	rc = netvsc_parse(vdev, p);
	if (rc != 0)
		goto release;
	dev->data->mac_addrs = rte_zmalloc_socket(name, RTE_ETHER_ADDR_LEN, 0, p->socket_id);
	if (dev->data->mac_addrs == NULL) {
		rc = -ENOMEM;
		goto release;
	}
	/* until the host's offer says otherwise */
	*dev->data->mac_addrs = p->mac;
	dev->dev_ops = &netvsc_ops;
	dev->rx_pkt_burst = netvsc_rx_burst;
	dev->tx_pkt_burst = netvsc_tx_burst;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	rc = rte_ctrl_thread_create(&p->thread, "pvb-netvsc", NULL, netvsc_ctrl_thread, p);
	if (rc != 0) {
		rc = -rc;
		goto release;
	}
	p->thread_running = true;
	rte_eth_dev_probing_finish(dev);
	LOG(INFO, "%s: port %u connects to %s", name, p->port_id, p->path);
	return 0;
release:
	rte_eth_dev_release_port(dev);
	return rc;
}

static int
netvsc_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0;
	netvsc_close(dev);
	return rte_eth_dev_release_port(dev);
}

static struct rte_vdev_driver netvsc_vdev = {
	.probe = netvsc_probe,
	.remove = netvsc_remove,
};

RTE_PMD_REGISTER_VDEV(net_pvb_netvsc, netvsc_vdev);
RTE_PMD_REGISTER_PARAM_STRING(net_pvb_netvsc,
	"path=<unix socket> ring_kb=<8-65536> rxbuf_mb=<1-1024> txbuf_mb=<1-1024> "
	"mac=<xx:xx:xx:xx:xx:xx> zero_copy=<0|1> copybreak=<bytes>");
