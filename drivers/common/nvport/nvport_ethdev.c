/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The ethdev side of both netvsc channel ports: probe (primary and
 * secondary), devargs helpers, and the operations, stats and xstats. The
 * side's own parts come from its struct nvport_side, looked up by port id in
 * this process (a pointer in the shared port data would be the primary's).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bus_vdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_string_fns.h>

#include "nvport.h"
#include "nvport_ol.h"

static const struct nvport_side *nvport_sides[RTE_MAX_ETHPORTS];

const struct nvport_side *
nvport_side_of(uint16_t port_id)
{
	return nvport_sides[port_id];
}

static struct nvport *
nvport_of(const struct rte_eth_dev *dev)
{
	return dev->data->dev_private;
}

/* ---- operations ----------------------------------------------------------- */

static int
nvport_configure(struct rte_eth_dev *dev)
{
	if (dev->data->nb_rx_queues > 1 || dev->data->nb_tx_queues > 1)
		return -EINVAL;
	return 0;
}

static int
nvport_infos(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	const struct nvport_side *side = nvport_side_of(dev->data->port_id);
	uint32_t mtu = side->max_mtu(nvport_of(dev));

	info->max_mac_addrs = 1;
	info->max_rx_queues = 1;
	info->max_tx_queues = 1;
	info->max_rx_pktlen = mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = (uint16_t)mtu;
	info->min_rx_bufsize = 0;
	/*
	 * Checksum and TSO requests are always honoured: by the peer when it
	 * enabled them, else in software (doc/netvsp-netvsc.md, "Offloads").
	 */
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
				RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO |
				side->tx_offloads;
	/* frames larger than an mbuf are copied into chains; results and large frames passed on */
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
				RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
				RTE_ETH_RX_OFFLOAD_TCP_LRO | RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
	info->max_lro_pkt_size = NVPORT_OL_FRAME_MAX;
	info->rx_desc_lim.nb_max = UINT16_MAX;
	info->tx_desc_lim.nb_max = UINT16_MAX;
	info->speed_capa = RTE_ETH_LINK_SPEED_10G;
	return 0;
}

static int
nvport_start(struct rte_eth_dev *dev)
{
	nvport_of(dev)->started = true;
	pvb_eth_queues_state(dev, RTE_ETH_QUEUE_STATE_STARTED);
	return 0;	/* the control thread follows `started` */
}

static int
nvport_stop(struct rte_eth_dev *dev)
{
	nvport_of(dev)->started = false;
	pvb_eth_queues_state(dev, RTE_ETH_QUEUE_STATE_STOPPED);
	return 0;
}

static void
nvport_shutdown(struct rte_eth_dev *dev)
{
	struct nvport *p = nvport_of(dev);

	pvb_ctrl_stop(&p->ctrl);
	nvport_sides[p->port_id]->shutdown(p);
	nvport_intr_free(dev);
	pvb_swol_fini(&p->txq.swol);
}

static int
nvport_close(struct rte_eth_dev *dev)
{
	if (rte_eal_process_type() == RTE_PROC_PRIMARY)
		nvport_shutdown(dev);
	return 0;
}

static int
nvport_rxq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		 const struct rte_eth_rxconf *conf, struct rte_mempool *mp)
{
	struct nvport *p = nvport_of(dev);

	RTE_SET_USED(nb_desc);
	RTE_SET_USED(socket);
	RTE_SET_USED(conf);
	p->rxq.port = p;
	p->rxq.mp = mp;
	dev->data->rx_queues[qid] = &p->rxq;
	return 0;
}

static int
nvport_txq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		 const struct rte_eth_txconf *conf)
{
	struct nvport *p = nvport_of(dev);

	char name[RTE_MEMPOOL_NAMESIZE];
	int rc;

	RTE_SET_USED(nb_desc);
	RTE_SET_USED(conf);
	/* the software offload pools: made once, here on the control path */
	if (p->txq.swol.gso.direct_pool == NULL) {
		snprintf(name, sizeof(name), "nvsw%u", p->port_id);
		rc = pvb_swol_init(&p->txq.swol, name, (int)socket);
		if (rc != 0)
			return rc;
	}
	p->txq.port = p;
	dev->data->tx_queues[qid] = &p->txq;
	return 0;
}

static int
nvport_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct nvport *p = nvport_of(dev);

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

/* The common counters, then the side's, then the channel snapshot. */
#define NVPORT_XSTATS(X) \
	X("rx_zero_copy_packets", rxq.zero_copy) \
	X("rx_bad_packets", bad_packets) \
	X("rx_dropped_not_polled", not_polled_drops) \
	X("tx_too_big_packets", txq.too_big) \
	X("ring_broken", ring_broken) \
	X("protocol_errors", protocol_errors) \
	X("bad_completions", bad_completions) \
	X("rx_offload_bad", rx_offload_bad) \
	X("tx_sw_cksum_packets", txq.sw_cksum) \
	X("tx_sw_gso_packets", txq.sw_gso) \
	X("tx_sw_gso_segments", txq.sw_gso_segs) \
	X("tx_sw_offload_failed", txq.sw_failed)

#define NVPORT_XSTAT(n, field) { n, offsetof(struct nvport, field) },
static const struct nvport_xstat nvport_xstats_common[] = { NVPORT_XSTATS(NVPORT_XSTAT) };
#define NVPORT_NCOMMON	RTE_DIM(nvport_xstats_common)

/*
 * Frames and bytes moved by reference (rx: an mbuf over the peer's buffer;
 * tx: a frame already in the peer's buffer, sent in place) and copied, the
 * names every pvbridge PMD gives them (doc/bridge.md). Derived from the
 * queue counters when read: the bursts count only what they must.
 */
static const char *const nvport_flow_names[] = {
	"rx_ref_packets", "rx_ref_bytes", "rx_copied_packets", "rx_copied_bytes",
	"tx_ref_packets", "tx_ref_bytes", "tx_copied_packets", "tx_copied_bytes",
};
#define NVPORT_NFLOW	RTE_DIM(nvport_flow_names)

static void
nvport_flow_read(struct nvport *p, uint64_t *v)
{
	uint64_t rxp = pvb_counter_read(&p->rxq.packets), rxb = pvb_counter_read(&p->rxq.bytes);
	uint64_t txp = pvb_counter_read(&p->txq.packets), txb = pvb_counter_read(&p->txq.bytes);

	v[0] = pvb_counter_read(&p->rxq.zero_copy);
	v[1] = pvb_counter_read(&p->rxq.zero_copy_bytes);
	/* each pair read apart: a frame counted in between must not make it wrap */
	v[2] = rxp > v[0] ? rxp - v[0] : 0;
	v[3] = rxb > v[1] ? rxb - v[1] : 0;
	v[4] = pvb_counter_read(&p->txq.ref_packets);
	v[5] = pvb_counter_read(&p->txq.ref_bytes);
	v[6] = txp > v[4] ? txp - v[4] : 0;
	v[7] = txb > v[5] ? txb - v[5] : 0;
}

static unsigned int
nvport_xstats_count(const struct nvport_side *side)
{
	return NVPORT_NCOMMON + NVPORT_NFLOW + side->nxstats + NVCHAN_XSNAP_N;
}

static pvb_counter_t *
nvport_counter(struct nvport *p, size_t off)
{
	return (pvb_counter_t *)((uint8_t *)p + off);
}

static void
nvport_counter_zero(pvb_counter_t *c)
{
	/* relaxed: a reset races with counting by design, as on any NIC */
	atomic_store_explicit(c, 0, memory_order_relaxed);
}

static int
nvport_stats_reset(struct rte_eth_dev *dev)
{
	const struct nvport_side *side = nvport_side_of(dev->data->port_id);
	struct nvport *p = nvport_of(dev);
	pvb_counter_t *basic[] = { &p->rxq.packets, &p->rxq.bytes, &p->rxq.nombuf,
				   &p->rxq.zero_copy_bytes, &p->txq.packets, &p->txq.bytes,
				   &p->txq.ref_packets, &p->txq.ref_bytes };
	unsigned int i;

	for (i = 0; i < RTE_DIM(basic); i++)
		nvport_counter_zero(basic[i]);
	for (i = 0; i < NVPORT_NCOMMON; i++)
		nvport_counter_zero(nvport_counter(p, nvport_xstats_common[i].off));
	for (i = 0; i < side->nxstats; i++)
		nvport_counter_zero(nvport_counter(p, side->xstats[i].off));
	return 0;
}

static int
nvport_xstats_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names, unsigned int n)
{
	const struct nvport_side *side = nvport_side_of(dev->data->port_id);
	const char *snap[NVCHAN_XSNAP_N] = { "completions_pending", side->in_use_name, "signals",
					     "completion_ring_full" };
	unsigned int count = nvport_xstats_count(side), i, k = 0;

	if (names == NULL || n < count)
		return (int)count;
	for (i = 0; i < NVPORT_NCOMMON; i++)
		strlcpy(names[k++].name, nvport_xstats_common[i].name, sizeof(names[0].name));
	for (i = 0; i < NVPORT_NFLOW; i++)
		strlcpy(names[k++].name, nvport_flow_names[i], sizeof(names[0].name));
	for (i = 0; i < side->nxstats; i++)
		strlcpy(names[k++].name, side->xstats[i].name, sizeof(names[0].name));
	for (i = 0; i < NVCHAN_XSNAP_N; i++)
		strlcpy(names[k++].name, snap[i], sizeof(names[0].name));
	return (int)count;
}

static int
nvport_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int n)
{
	const struct nvport_side *side = nvport_side_of(dev->data->port_id);
	struct nvport *p = nvport_of(dev);
	unsigned int count = nvport_xstats_count(side), i, k = 0;
	uint64_t snap[NVCHAN_XSNAP_N], flow[NVPORT_NFLOW];

	if (xs == NULL || n < count)
		return (int)count;
	for (i = 0; i < NVPORT_NCOMMON; i++, k++)
		xs[k].value = pvb_counter_read(nvport_counter(p, nvport_xstats_common[i].off));
	nvport_flow_read(p, flow);
	for (i = 0; i < NVPORT_NFLOW; i++, k++)
		xs[k].value = flow[i];
	for (i = 0; i < side->nxstats; i++, k++)
		xs[k].value = pvb_counter_read(nvport_counter(p, side->xstats[i].off));
	/* the control thread's snapshot: the channel itself may go at any time */
	nvchan_xsnap_read(&p->xsnap, snap);
	for (i = 0; i < NVCHAN_XSNAP_N; i++, k++)
		xs[k].value = snap[i];
	for (i = 0; i < count; i++)
		xs[i].id = i;
	return (int)count;
}

static int
nvport_promisc_on(struct rte_eth_dev *dev)
{
	const struct nvport_side *side = nvport_side_of(dev->data->port_id);

	return side->promisc != NULL ? side->promisc(nvport_of(dev), true) : 0;
}

static int
nvport_promisc_off(struct rte_eth_dev *dev)
{
	const struct nvport_side *side = nvport_side_of(dev->data->port_id);

	return side->promisc != NULL ? side->promisc(nvport_of(dev), false) : 0;
}

static int
nvport_allmulti(struct rte_eth_dev *dev)
{
	RTE_SET_USED(dev);	/* all multicast is always received */
	return 0;
}

static int
nvport_mac_set(struct rte_eth_dev *dev, struct rte_ether_addr *mac)
{
	nvport_of(dev)->mac = *mac;
	return 0;
}

static int
nvport_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	const struct nvport_side *side = nvport_side_of(dev->data->port_id);

	/* the channel's MTU was agreed: a smaller one is a local choice */
	return mtu <= side->max_mtu(nvport_of(dev)) ? 0 : -EINVAL;
}

static const struct eth_dev_ops nvport_ops = {
	.dev_configure = nvport_configure,
	.dev_infos_get = nvport_infos,
	.dev_start = nvport_start,
	.dev_stop = nvport_stop,
	.dev_close = nvport_close,
	.rx_queue_setup = nvport_rxq_setup,
	.tx_queue_setup = nvport_txq_setup,
	.rx_queue_release = pvb_eth_queue_release,
	.tx_queue_release = pvb_eth_queue_release,
	.rx_queue_intr_enable = nvport_rx_intr_enable,
	.rx_queue_intr_disable = nvport_rx_intr_disable,
	.link_update = pvb_eth_link_get,
	.stats_get = nvport_stats_get,
	.stats_reset = nvport_stats_reset,
	.xstats_get = nvport_xstats_get,
	.xstats_get_names = nvport_xstats_names,
	.xstats_reset = nvport_stats_reset,
	.promiscuous_enable = nvport_promisc_on,
	.promiscuous_disable = nvport_promisc_off,
	.allmulticast_enable = nvport_allmulti,
	.allmulticast_disable = nvport_allmulti,
	.mac_addr_set = nvport_mac_set,
	.mtu_set = nvport_mtu_set,
};

/*
 * A secondary process (dpdk-dumpcap, dpdk-proc-info) reads the port: its
 * information and counters live in the shared port data. The datapath is
 * the primary's alone (the region is mapped there), so its bursts return
 * nothing here.
 */
static const struct eth_dev_ops nvport_secondary_ops = {
	.dev_infos_get = nvport_infos,
	.link_update = pvb_eth_link_get,
	.stats_get = nvport_stats_get,
	.xstats_get = nvport_xstats_get,
	.xstats_get_names = nvport_xstats_names,
};

/* ---- devargs ---------------------------------------------------------------- */

static int
nvport_parse(struct rte_vdev_device *vdev, const struct nvport_side *side, struct nvport *p)
{
	struct rte_kvargs *kv = pvb_devargs_parse(*side->logtype, vdev, side->args);
	const char *name = rte_vdev_device_name(vdev);
	int rc;

	if (kv == NULL)
		return -EINVAL;
	rc = pvb_devargs_path(*side->logtype, kv, name, "path", p->path, sizeof(p->path));
	if (rc == 0)
		rc = side->parse(p, kv, name);
	rte_kvargs_free(kv);
	return rc;
}

/* ---- probe ------------------------------------------------------------------ */

static int
nvport_probe_secondary(struct rte_vdev_device *vdev, const struct nvport_side *side)
{
	struct rte_eth_dev *dev = pvb_eth_probe_secondary(*side->logtype, vdev,
							  &nvport_secondary_ops);

	if (dev == NULL)
		return -ENODEV;
	nvport_sides[dev->data->port_id] = side;
	return 0;
}

int
nvport_probe(struct rte_vdev_device *vdev, const struct nvport_side *side)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev;
	struct nvport *p;
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return nvport_probe_secondary(vdev, side);
	pvb_handover_init("pvb netvsc ports");
	dev = rte_eth_vdev_allocate(vdev, side->port_size);
	if (dev == NULL)
		return -ENOMEM;
	nvport_sides[dev->data->port_id] = side;
	p = dev->data->dev_private;
	p->port_id = dev->data->port_id;
	p->socket_id = rte_socket_id();
	p->copybreak = 256;
	p->intr_ep = -1;
	p->intr_self = -1;
	dev->data->mac_addrs = rte_zmalloc_socket(name, RTE_ETHER_ADDR_LEN, 0, p->socket_id);
	if (dev->data->mac_addrs == NULL) {
		rc = -ENOMEM;
		goto release;
	}
	rc = nvport_parse(vdev, side, p);
	if (rc != 0)
		goto release;
	*dev->data->mac_addrs = p->mac;
	rc = nvport_intr_setup(dev);
	if (rc != 0)
		goto shutdown;
	dev->dev_ops = &nvport_ops;
	dev->rx_pkt_burst = side->rx_burst;
	dev->tx_pkt_burst = side->tx_burst;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	rc = pvb_ctrl_start(&p->ctrl, side->thread, side->ctrl_thread, p);
	if (rc != 0)
		goto shutdown;
	rte_eth_dev_probing_finish(dev);
	return 0;
shutdown:
	nvport_shutdown(dev);
release:
	rte_eth_dev_release_port(dev);
	return rc;
}

int
nvport_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0;
	nvport_close(dev);
	return rte_eth_dev_release_port(dev);
}
