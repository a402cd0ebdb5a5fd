/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* net_pvb_vhost: devargs, probe, and the ethdev operations, stats and xstats. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bus_vdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_string_fns.h>

#include "vhost.h"

RTE_LOG_REGISTER_DEFAULT(vhost_logtype, NOTICE);

static const char *const vhost_args[] = {
	"iface", "client", "queues", "mac", "mtu", "offload", NULL
};

static struct vhost_port *
vhost_of(const struct rte_eth_dev *dev)
{
	return dev->data->dev_private;
}

/* ---- operations --------------------------------------------------------------- */

static int
vhost_configure(struct rte_eth_dev *dev)
{
	struct vhost_port *p = vhost_of(dev);

	if (dev->data->nb_rx_queues > p->queues || dev->data->nb_tx_queues > p->queues) {
		LOG(ERR, "%s: %u rx / %u tx queues asked, the port has queues=%u", p->iface,
		    dev->data->nb_rx_queues, dev->data->nb_tx_queues, p->queues);
		return -EINVAL;
	}
	return 0;
}

static int
vhost_infos(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct vhost_port *p = vhost_of(dev);

	info->max_mac_addrs = 1;
	info->max_rx_queues = p->queues;
	info->max_tx_queues = p->queues;
	info->max_rx_pktlen = VHOST_MAX_FRAME;
	info->max_lro_pkt_size = VHOST_MAX_GSO_FRAME;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = VHOST_MAX_MTU;
	info->min_rx_bufsize = 0;
	/* honoured always: by the driver when it acked the feature, else in software */
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
				RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO |
				RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
	/* frames larger than an mbuf are copied into chains; GSO frames up to 64 KB */
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
				RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
				RTE_ETH_RX_OFFLOAD_TCP_LRO;
	info->rx_desc_lim.nb_max = UINT16_MAX;
	info->tx_desc_lim.nb_max = UINT16_MAX;
	info->speed_capa = RTE_ETH_LINK_SPEED_10G;
	return 0;
}

static int
vhost_start(struct rte_eth_dev *dev)
{
	vhost_of(dev)->started = true;
	pvb_eth_queues_state(dev, RTE_ETH_QUEUE_STATE_STARTED);
	return 0;
}

static int
vhost_stop(struct rte_eth_dev *dev)
{
	vhost_of(dev)->started = false;
	pvb_eth_queues_state(dev, RTE_ETH_QUEUE_STATE_STOPPED);
	return 0;
}

static void
vhost_shutdown(struct rte_eth_dev *dev)
{
	struct vhost_port *p = vhost_of(dev);

	pvb_ctrl_stop(&p->ctrl);
	if (p->listen_fd >= 0) {
		close(p->listen_fd);
		unlink(p->iface);
		p->listen_fd = -1;
	}
	vhost_intr_free(dev);
}

static int
vhost_close(struct rte_eth_dev *dev)
{
	struct vhost_port *p = vhost_of(dev);
	unsigned int q;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	vhost_shutdown(dev);
	/* the control thread is gone: no burst runs */
	for (q = 0; q < p->queues; q++) {
		vhost_tx_pending_free(&p->txq[q]);
		pvb_swol_fini(&p->txq[q].swol);
	}
	return 0;
}

static int
vhost_rxq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		const struct rte_eth_rxconf *conf, struct rte_mempool *mp)
{
	struct vhost_port *p = vhost_of(dev);

	RTE_SET_USED(nb_desc);
	RTE_SET_USED(socket);
	RTE_SET_USED(conf);
	p->rxq[qid].mp = mp;
	dev->data->rx_queues[qid] = &p->rxq[qid];
	return 0;
}

static int
vhost_txq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		const struct rte_eth_txconf *conf)
{
	struct vhost_port *p = vhost_of(dev);

	struct vhost_txq *q = &p->txq[qid];
	char name[RTE_MEMPOOL_NAMESIZE];
	int rc;

	RTE_SET_USED(nb_desc);
	RTE_SET_USED(conf);
	vhost_tx_pending_free(q);
	pvb_swol_fini(&q->swol);
	snprintf(name, sizeof(name), "pvbvh%u_%u", dev->data->port_id, qid);
	rc = pvb_swol_init(&q->swol, name, (int)socket);
	if (rc != 0) {
		LOG(ERR, "%s: tx queue %u: software offload pools: %s", p->iface, qid,
		    strerror(-rc));
		return rc;
	}
	dev->data->tx_queues[qid] = q;
	return 0;
}

static int
vhost_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct vhost_port *p = vhost_of(dev);
	unsigned int q;

	for (q = 0; q < p->queues; q++) {
		const struct vhost_rxq *r = &p->rxq[q];
		const struct vhost_txq *t = &p->txq[q];
		uint64_t ip = pvb_counter_read(&r->packets), ib = pvb_counter_read(&r->bytes);
		uint64_t op = pvb_counter_read(&t->packets), ob = pvb_counter_read(&t->bytes);

		st->ipackets += ip;
		st->ibytes += ib;
		st->opackets += op;
		st->obytes += ob;
		st->rx_nombuf += pvb_counter_read(&r->nombuf);
		st->ierrors += pvb_counter_read(&r->bad_chains) + pvb_counter_read(&r->bad_headers);
		for (unsigned int b = PVB_VNET_BAD_CSUM; b < PVB_VNET_BAD_MAX; b++)
			st->ierrors += pvb_counter_read(&r->ol_bad[b]);
		st->oerrors += pvb_counter_read(&t->too_big) + pvb_counter_read(&t->bad_chains) +
			       pvb_counter_read(&t->ol_bad);
		if (q < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			st->q_ipackets[q] = ip;
			st->q_ibytes[q] = ib;
			st->q_opackets[q] = op;
			st->q_obytes[q] = ob;
		}
	}
	return 0;
}

/* Port counters, then per queue. */
#define PORT_XSTATS(X) \
	X("ring_broken", ring_broken) \
	X("bad_messages", bad_messages) \
	X("connects", connects) \
	X("reconnects", reconnects) \
	X("disconnects", disconnects)
#define RXQ_XSTATS(X) \
	X("bad_chains", bad_chains) \
	X("bad_headers", bad_headers) \
	X("notifications_sent", notifications) \
	X("kicks_seen", kicks) \
	X("offload_csum_packets", ol_csum) \
	X("offload_tso_packets", ol_tso) \
	X("offload_bad_csum", ol_bad[PVB_VNET_BAD_CSUM]) \
	X("offload_bad_gso", ol_bad[PVB_VNET_BAD_GSO]) \
	X("offload_unsupported", ol_bad[PVB_VNET_UNSUPPORTED]) \
	X("offload_not_negotiated", ol_bad[PVB_VNET_NOT_NEGOTIATED])
#define TXQ_XSTATS(X) \
	X("no_guest_rx_buffers", no_buffers) \
	X("too_big_packets", too_big) \
	X("bad_chains", bad_chains) \
	X("notifications_sent", notifications) \
	X("offload_csum_packets", ol_csum) \
	X("offload_tso_packets", ol_tso) \
	X("offload_data_valid_packets", ol_data_valid) \
	X("sw_cksum_packets", sw_cksum) \
	X("sw_gso_packets", sw_gso) \
	X("sw_gso_segments", sw_gso_segs) \
	X("sw_vlan_packets", sw_vlan) \
	X("offload_bad", ol_bad)

#define XS_PORT(n, f) { n, offsetof(struct vhost_port, f) },
#define XS_RXQ(n, f) { n, offsetof(struct vhost_rxq, f) },
#define XS_TXQ(n, f) { n, offsetof(struct vhost_txq, f) },
static const struct pvb_xstat xs_port[] = { PORT_XSTATS(XS_PORT) };
static const struct pvb_xstat xs_rxq[] = { RXQ_XSTATS(XS_RXQ) };
static const struct pvb_xstat xs_txq[] = { TXQ_XSTATS(XS_TXQ) };

PVB_XSTATS_QUEUE_PORT(vhost, struct vhost_port, 0)	/* both ways copied */

static int
vhost_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	RTE_SET_USED(dev);
	return mtu <= VHOST_MAX_MTU ? 0 : -EINVAL;
}

static const struct eth_dev_ops vhost_ops = {
	.dev_configure = vhost_configure,
	.dev_infos_get = vhost_infos,
	.dev_start = vhost_start,
	.dev_stop = vhost_stop,
	.dev_close = vhost_close,
	.rx_queue_setup = vhost_rxq_setup,
	.tx_queue_setup = vhost_txq_setup,
	.rx_queue_release = pvb_eth_queue_release,
	.tx_queue_release = pvb_eth_queue_release,
	.rx_queue_intr_enable = vhost_rx_intr_enable,
	.rx_queue_intr_disable = vhost_rx_intr_disable,
	.link_update = pvb_eth_link_get,
	.stats_get = vhost_stats_get,
	.stats_reset = vhost_stats_reset,
	.xstats_get = vhost_xstats_get,
	.xstats_get_names = vhost_xstats_names,
	.xstats_reset = vhost_stats_reset,
	.promiscuous_enable = pvb_eth_nop,
	.promiscuous_disable = pvb_eth_nop,
	.allmulticast_enable = pvb_eth_nop,
	.allmulticast_disable = pvb_eth_nop,
	.mac_addr_set = pvb_eth_mac_set,
	.mtu_set = vhost_mtu_set,
};

/* A secondary process sees the port and its counters; the datapath is the primary's. */
static const struct eth_dev_ops vhost_secondary_ops = {
	.dev_infos_get = vhost_infos,
	.link_update = pvb_eth_link_get,
	.stats_get = vhost_stats_get,
	.xstats_get = vhost_xstats_get,
	.xstats_get_names = vhost_xstats_names,
};

/* ---- devargs ------------------------------------------------------------------ */

static int
vhost_parse(struct rte_vdev_device *vdev, struct vhost_port *p)
{
	struct rte_kvargs *kv = pvb_devargs_parse(vhost_logtype, vdev, vhost_args);
	const char *name = rte_vdev_device_name(vdev);
	uint32_t client = 0, queues = 1, mtu = RTE_ETHER_MTU, offload = 1;
	const struct pvb_u32_arg num[] = {
		{ "client", &client, 0, 1, 1 },
		{ "offload", &offload, 0, 1, 1 },
		{ "queues", &queues, 1, VHOST_MAX_QUEUES, 1 },
		{ "mtu", &mtu, RTE_ETHER_MIN_MTU, VHOST_MAX_MTU, 1 },
	};
	int rc;

	if (kv == NULL)
		return -EINVAL;
	rc = pvb_devargs_path(vhost_logtype, kv, name, "iface", p->iface, sizeof(p->iface));
	if (rc == 0)
		rc = pvb_devargs_u32s(vhost_logtype, kv, name, num, RTE_DIM(num));
	if (rc == 0 && pvb_devargs_mac(vhost_logtype, kv, name, "mac", &p->mac) < 0)
		rc = -EINVAL;
	p->client = client != 0;
	p->offload = offload != 0;
	p->queues = (uint16_t)queues;
	p->mtu = (uint16_t)mtu;
	rte_kvargs_free(kv);
	return rc;
}

/* ---- probe -------------------------------------------------------------------- */

static int
vhost_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct pvb_vu_backend_cfg cfg;
	struct rte_eth_dev *dev;
	struct vhost_port *p;
	unsigned int q;
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return pvb_eth_probe_secondary(vhost_logtype, vdev, &vhost_secondary_ops) != NULL ?
		       0 : -ENODEV;
	pvb_handover_init("pvb vhost ports");
	dev = rte_eth_vdev_allocate(vdev, sizeof(*p));
	if (dev == NULL)
		return -ENOMEM;
	p = vhost_of(dev);
	p->port_id = dev->data->port_id;
	p->listen_fd = p->conn_fd = -1;
	pvb_rxintr_init(&p->intr);
	for (q = 0; q < VHOST_MAX_QUEUES; q++) {
		p->rxq[q] = (struct vhost_rxq){ .p = p, .qid = (uint16_t)q, .call_fd = -1 };
		p->txq[q] = (struct vhost_txq){ .p = p, .qid = (uint16_t)q, .call_fd = -1 };
	}
	rte_eth_random_addr(p->mac.addr_bytes);
	dev->data->mac_addrs = rte_zmalloc_socket(name, RTE_ETHER_ADDR_LEN, 0, rte_socket_id());
	if (dev->data->mac_addrs == NULL) {
		rc = -ENOMEM;
		goto release;
	}
	rc = vhost_parse(vdev, p);
	if (rc != 0)
		goto release;
	*dev->data->mac_addrs = p->mac;
	dev->data->mtu = p->mtu;
	vhost_backend_cfg(p, &cfg);
	rc = pvb_vu_backend_init(&p->be, &cfg);
	if (rc != 0)
		goto release;
	rc = vhost_intr_setup(dev);
	if (rc == 0 && !p->client)
		rc = vhost_listen(p);
	if (rc != 0)
		goto shutdown;
	dev->dev_ops = &vhost_ops;
	dev->rx_pkt_burst = vhost_rx_burst;
	dev->tx_pkt_burst = vhost_tx_burst;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	rc = pvb_ctrl_start(&p->ctrl, "pvb-vhost", vhost_ctrl_thread, p);
	if (rc != 0)
		goto shutdown;
	LOG(INFO, "%s: port %u, %s %s, %u queue pair(s)", name, p->port_id,
	    p->client ? "connecting to" : "listening on", p->iface, p->queues);
	rte_eth_dev_probing_finish(dev);
	return 0;
shutdown:
	vhost_shutdown(dev);
release:
	rte_eth_dev_release_port(dev);
	return rc;
}

static int
vhost_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0;
	vhost_close(dev);
	return rte_eth_dev_release_port(dev);
}

static struct rte_vdev_driver vhost_vdev = {
	.probe = vhost_probe,
	.remove = vhost_remove,
};

RTE_PMD_REGISTER_VDEV(net_pvb_vhost, vhost_vdev);
RTE_PMD_REGISTER_PARAM_STRING(net_pvb_vhost,
	"iface=<unix socket> client=<0|1> queues=<1-8> mac=<xx:xx:xx:xx:xx:xx> mtu=<68-9702> "
	"offload=<0|1>");
