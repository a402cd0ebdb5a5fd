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

/* RSS hash functions a guest asks the host for (only TCP gets its ports hashed). */
#define NVPORT_RSS_HF	(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_OTHER | \
			 RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV6 | \
			 RTE_ETH_RSS_NONFRAG_IPV6_OTHER | RTE_ETH_RSS_NONFRAG_IPV6_TCP)

/* The Toeplitz key of Microsoft's RSS verification examples, the one DPDK's netvsc uses too. */
static const uint8_t nvport_rss_key_default[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* Something of the RSS set-up changed: the control thread sends it to the host. */
static void
nvport_rss_changed(struct nvport *p)
{
	pvb_counter_add(&p->rss.changes, 1);
	/* release: the writes above are seen by the control thread's load-acquire */
	pvb_store_release(&p->rss.gen, pvb_load_relaxed(&p->rss.gen) + 1);
}

/* RSS from the configuration: the key and hash functions, a round-robin RETA. */
static int
nvport_rss_configure(struct rte_eth_dev *dev, struct nvport *p)
{
	const struct rte_eth_rss_conf *rc = &dev->data->dev_conf.rx_adv_conf.rss_conf;
	uint16_t nq = dev->data->nb_rx_queues;
	uint32_t i;

	if (rc->rss_key != NULL && rc->rss_key_len != sizeof(p->rss.key))
		return -EINVAL;
	memcpy(p->rss.key, rc->rss_key != NULL ? rc->rss_key : nvport_rss_key_default,
	       sizeof(p->rss.key));
	p->rss.hf = rc->rss_hf & NVPORT_RSS_HF;
	for (i = 0; i < RTE_DIM(p->rss.reta); i++)
		p->rss.reta[i] = (uint16_t)(i % nq);
	p->rss.on = (dev->data->dev_conf.rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG) != 0 &&
		    nq > 1 && p->rss.hf != 0;
	nvport_rss_changed(p);
	return 0;
}

static int
nvport_configure(struct rte_eth_dev *dev)
{
	const struct nvport_side *side = nvport_side_of(dev->data->port_id);
	struct nvport *p = nvport_of(dev);

	if (dev->data->nb_rx_queues > p->nb_queues || dev->data->nb_tx_queues > p->nb_queues)
		return -EINVAL;
	/* the host takes RSS mode and ignores it: the guest decides where frames go */
	return side->rss ? nvport_rss_configure(dev, p) : 0;
}

static int
nvport_reta_update(struct rte_eth_dev *dev, struct rte_eth_rss_reta_entry64 *reta,
		   uint16_t size)
{
	struct nvport *p = nvport_of(dev);
	uint16_t i, nq = dev->data->nb_rx_queues;

	if (!nvport_side_of(dev->data->port_id)->rss)
		return -ENOTSUP;
	if (size != RTE_DIM(p->rss.reta))
		return -EINVAL;
	for (i = 0; i < size; i++)
		if ((reta[i / RTE_ETH_RETA_GROUP_SIZE].mask >> (i % RTE_ETH_RETA_GROUP_SIZE)) & 1 &&
		    reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] >= nq)
			return -EINVAL;
	for (i = 0; i < size; i++)
		if ((reta[i / RTE_ETH_RETA_GROUP_SIZE].mask >> (i % RTE_ETH_RETA_GROUP_SIZE)) & 1)
			p->rss.reta[i] =
				reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
	nvport_rss_changed(p);
	return 0;
}

static int
nvport_reta_query(struct rte_eth_dev *dev, struct rte_eth_rss_reta_entry64 *reta, uint16_t size)
{
	struct nvport *p = nvport_of(dev);
	uint16_t i;

	if (!nvport_side_of(dev->data->port_id)->rss)
		return -ENOTSUP;
	if (size != RTE_DIM(p->rss.reta))
		return -EINVAL;
	for (i = 0; i < size; i++)
		if ((reta[i / RTE_ETH_RETA_GROUP_SIZE].mask >> (i % RTE_ETH_RETA_GROUP_SIZE)) & 1)
			reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] =
				p->rss.reta[i];
	return 0;
}

static int
nvport_rss_hash_update(struct rte_eth_dev *dev, struct rte_eth_rss_conf *rc)
{
	struct nvport *p = nvport_of(dev);

	if (!nvport_side_of(dev->data->port_id)->rss)
		return -ENOTSUP;
	if ((rc->rss_key != NULL && rc->rss_key_len != sizeof(p->rss.key)) ||
	    (rc->rss_hf & ~NVPORT_RSS_HF) != 0)
		return -EINVAL;
	if (rc->rss_key != NULL)
		memcpy(p->rss.key, rc->rss_key, sizeof(p->rss.key));
	p->rss.hf = rc->rss_hf;
	p->rss.on = (dev->data->dev_conf.rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG) != 0 &&
		    dev->data->nb_rx_queues > 1 && p->rss.hf != 0;
	nvport_rss_changed(p);
	return 0;
}

static int
nvport_rss_conf_get(struct rte_eth_dev *dev, struct rte_eth_rss_conf *rc)
{
	struct nvport *p = nvport_of(dev);

	if (!nvport_side_of(dev->data->port_id)->rss)
		return -ENOTSUP;
	if (rc->rss_key != NULL && rc->rss_key_len >= sizeof(p->rss.key))
		memcpy(rc->rss_key, p->rss.key, sizeof(p->rss.key));
	rc->rss_key_len = sizeof(p->rss.key);
	rc->rss_hf = p->rss.hf;
	return 0;
}

static int
nvport_infos(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	const struct nvport_side *side = nvport_side_of(dev->data->port_id);
	uint32_t mtu = side->max_mtu(nvport_of(dev));

	info->max_mac_addrs = 1;
	/* queue pair q is channel q; the peer may grant fewer (doc/netvsp-netvsc.md) */
	info->max_rx_queues = (uint16_t)nvport_of(dev)->nb_queues;
	info->max_tx_queues = (uint16_t)nvport_of(dev)->nb_queues;
	if (side->rss) {
		info->reta_size = RTE_DIM(nvport_of(dev)->rss.reta);
		info->hash_key_size = sizeof(nvport_of(dev)->rss.key);
		info->flow_type_rss_offloads = NVPORT_RSS_HF;
	}
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
	uint32_t q;

	nvport_intr_free(dev);
	for (q = 0; q < NVPORT_MAX_QUEUES; q++)
		pvb_swol_fini(&p->txq[q].swol);
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
	p->rxq[qid].port = p;
	p->rxq[qid].qid = qid;
	p->rxq[qid].mp = mp;
	dev->data->rx_queues[qid] = &p->rxq[qid];
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
	if (p->txq[qid].swol.gso.direct_pool == NULL) {
		snprintf(name, sizeof(name), "nvsw%u_%u", p->port_id, qid);
		rc = pvb_swol_init(&p->txq[qid].swol, name, (int)socket);
		if (rc != 0)
			return rc;
	}
	p->txq[qid].port = p;
	p->txq[qid].qid = qid;
	dev->data->tx_queues[qid] = &p->txq[qid];
	return 0;
}

/* The sum over the queues of the counter at @p off in a struct nvport_rxq (or _txq). */
static uint64_t
nvport_rxq_sum(const struct nvport *p, size_t off)
{
	uint64_t v = 0;
	uint32_t q;

	for (q = 0; q < NVPORT_MAX_QUEUES; q++)
		v += pvb_counter_read((pvb_counter_t *)((uintptr_t)&p->rxq[q] + off));
	return v;
}

static uint64_t
nvport_txq_sum(const struct nvport *p, size_t off)
{
	uint64_t v = 0;
	uint32_t q;

	for (q = 0; q < NVPORT_MAX_QUEUES; q++)
		v += pvb_counter_read((pvb_counter_t *)((uintptr_t)&p->txq[q] + off));
	return v;
}

#define RXQ_SUM(p, f)	nvport_rxq_sum(p, offsetof(struct nvport_rxq, f))
#define TXQ_SUM(p, f)	nvport_txq_sum(p, offsetof(struct nvport_txq, f))

static int
nvport_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct nvport *p = nvport_of(dev);
	uint32_t q;

	st->ipackets = RXQ_SUM(p, packets);
	st->ibytes = RXQ_SUM(p, bytes);
	st->rx_nombuf = RXQ_SUM(p, nombuf);
	st->ierrors = pvb_counter_read(&p->bad_packets);
	st->imissed = pvb_counter_read(&p->not_polled_drops);
	st->opackets = TXQ_SUM(p, packets);
	st->obytes = TXQ_SUM(p, bytes);
	st->oerrors = TXQ_SUM(p, too_big);
	for (q = 0; q < p->nb_queues && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++) {
		st->q_ipackets[q] = pvb_counter_read(&p->rxq[q].packets);
		st->q_ibytes[q] = pvb_counter_read(&p->rxq[q].bytes);
		st->q_opackets[q] = pvb_counter_read(&p->txq[q].packets);
		st->q_obytes[q] = pvb_counter_read(&p->txq[q].bytes);
	}
	return 0;
}

/*
 * The common counters, then the side's, then the channel snapshot. Where
 * says where a counter lives: the port (0), or each rx (1) or tx (2) queue
 * (summed over the queues).
 */
#define NVPORT_XSTATS(X) \
	X("rx_zero_copy_packets", 1, struct nvport_rxq, zero_copy) \
	X("rx_bad_packets", 0, struct nvport, bad_packets) \
	X("rx_dropped_not_polled", 0, struct nvport, not_polled_drops) \
	X("tx_too_big_packets", 2, struct nvport_txq, too_big) \
	X("ring_broken", 0, struct nvport, ring_broken) \
	X("protocol_errors", 0, struct nvport, protocol_errors) \
	X("bad_completions", 0, struct nvport, bad_completions) \
	X("rx_offload_bad", 0, struct nvport, rx_offload_bad) \
	X("tx_sw_cksum_packets", 2, struct nvport_txq, sw_cksum) \
	X("tx_sw_gso_packets", 2, struct nvport_txq, sw_gso) \
	X("tx_sw_gso_segments", 2, struct nvport_txq, sw_gso_segs) \
	X("tx_sw_offload_failed", 2, struct nvport_txq, sw_failed)

struct nvport_cxstat {
	const char *name;
	unsigned int where;
	size_t off;
};

#define NVPORT_XSTAT(n, w, type, field) { n, w, offsetof(type, field) },
static const struct nvport_cxstat nvport_xstats_common[] = { NVPORT_XSTATS(NVPORT_XSTAT) };
#define NVPORT_NCOMMON	RTE_DIM(nvport_xstats_common)

static pvb_counter_t *nvport_counter(struct nvport *p, size_t off);

static uint64_t
nvport_common_read(struct nvport *p, const struct nvport_cxstat *x)
{
	if (x->where == 1)
		return nvport_rxq_sum(p, x->off);
	if (x->where == 2)
		return nvport_txq_sum(p, x->off);
	return pvb_counter_read(nvport_counter(p, x->off));
}

static void
nvport_common_zero(struct nvport *p, const struct nvport_cxstat *x)
{
	uint32_t q;

	/* relaxed: a reset races with counting by design, as on any NIC */
	for (q = 0; q < NVPORT_MAX_QUEUES && x->where != 0; q++)
		atomic_store_explicit((pvb_counter_t *)((uintptr_t)(x->where == 1 ?
						(void *)&p->rxq[q] : (void *)&p->txq[q]) + x->off),
				      0, memory_order_relaxed);
	if (x->where == 0)
		atomic_store_explicit(nvport_counter(p, x->off), 0, memory_order_relaxed);
}

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
	uint64_t rxp = RXQ_SUM(p, packets), rxb = RXQ_SUM(p, bytes);
	uint64_t txp = TXQ_SUM(p, packets), txb = TXQ_SUM(p, bytes);

	v[0] = RXQ_SUM(p, zero_copy);
	v[1] = RXQ_SUM(p, zero_copy_bytes);
	/* each pair read apart: a frame counted in between must not make it wrap */
	v[2] = rxp > v[0] ? rxp - v[0] : 0;
	v[3] = rxb > v[1] ? rxb - v[1] : 0;
	v[4] = TXQ_SUM(p, ref_packets);
	v[5] = TXQ_SUM(p, ref_bytes);
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
	unsigned int i, q;

	for (q = 0; q < NVPORT_MAX_QUEUES; q++) {
		pvb_counter_t *basic[] = { &p->rxq[q].packets, &p->rxq[q].bytes,
					   &p->rxq[q].nombuf, &p->rxq[q].zero_copy_bytes,
					   &p->txq[q].packets, &p->txq[q].bytes,
					   &p->txq[q].ref_packets, &p->txq[q].ref_bytes };

		for (i = 0; i < RTE_DIM(basic); i++)
			nvport_counter_zero(basic[i]);
	}
	for (i = 0; i < NVPORT_NCOMMON; i++)
		nvport_common_zero(p, &nvport_xstats_common[i]);
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
		xs[k].value = nvport_common_read(p, &nvport_xstats_common[i]);
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
	.reta_update = nvport_reta_update,
	.reta_query = nvport_reta_query,
	.rss_hash_update = nvport_rss_hash_update,
	.rss_hash_conf_get = nvport_rss_conf_get,
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
	const struct pvb_u32_arg queues = { "queues", &p->nb_queues, 1, NVPORT_MAX_QUEUES, 1 };
	int rc;

	if (kv == NULL)
		return -EINVAL;
	p->nb_queues = 1;
	rc = pvb_devargs_path(*side->logtype, kv, name, "path", p->path, sizeof(p->path));
	if (rc == 0)
		rc = pvb_devargs_u32s(*side->logtype, kv, name, &queues, 1);
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
	unsigned int i;
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
	for (i = 0; i < NVPORT_MAX_QUEUES; i++)
		p->intr_ep[i] = p->intr_self[i] = -1;
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
