/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* net_pvb_netvsp: probe, devargs and ethdev operations. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bus_vdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "netvsp.h"

RTE_LOG_REGISTER_DEFAULT(netvsp_logtype, NOTICE);
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, netvsp_logtype, "net_pvb_netvsp: " fmt "\n", ##__VA_ARGS__)

#define ARG_PATH	"path"
#define ARG_MAC		"mac"
#define ARG_MTU		"mtu"
#define ARG_COPYBREAK	"copybreak"
#define ARG_SECTION	"section_size"

static const char *const netvsp_args[] = { ARG_PATH, ARG_MAC, ARG_MTU, ARG_COPYBREAK,
	ARG_SECTION, NULL };

static int
netvsp_configure(struct rte_eth_dev *dev)
{
	if (dev->data->nb_rx_queues > 1 || dev->data->nb_tx_queues > 1)
		return -EINVAL;
	return 0;
}

static int
netvsp_infos(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct netvsp_port *p = dev->data->dev_private;

	info->max_mac_addrs = 1;
	info->max_rx_queues = 1;
	info->max_tx_queues = 1;
	info->max_rx_pktlen = p->mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = p->mtu;
	info->min_rx_bufsize = 0;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/* frames larger than an mbuf are copied into chains */
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER;
	info->rx_desc_lim.nb_max = UINT16_MAX;
	info->tx_desc_lim.nb_max = UINT16_MAX;
	info->speed_capa = RTE_ETH_LINK_SPEED_10G;
	return 0;
}

static int
netvsp_start(struct rte_eth_dev *dev)
{
	struct netvsp_port *p = dev->data->dev_private;

	p->started = true;
	dev->data->rx_queue_state[0] = RTE_ETH_QUEUE_STATE_STARTED;
	dev->data->tx_queue_state[0] = RTE_ETH_QUEUE_STATE_STARTED;
	netvsp_link_update_now(p);
	return 0;
}

static int
netvsp_stop(struct rte_eth_dev *dev)
{
	struct netvsp_port *p = dev->data->dev_private;

	p->started = false;
	dev->data->rx_queue_state[0] = RTE_ETH_QUEUE_STATE_STOPPED;
	dev->data->tx_queue_state[0] = RTE_ETH_QUEUE_STATE_STOPPED;
	return 0;
}

static void
netvsp_shutdown(struct netvsp_port *p)
{
	if (p->thread_running) {
		/* relaxed: the join below orders the rest */
		pvb_store_relaxed(&p->stop, 1);
		pthread_join(p->thread, NULL);
		p->thread_running = false;
	}
	if (p->lfd >= 0) {
		close(p->lfd);
		unlink(p->path);
		p->lfd = -1;
	}
}

static int
netvsp_close(struct rte_eth_dev *dev)
{
	struct netvsp_port *p = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	netvsp_shutdown(p);
	return 0;
}

static int
netvsp_rxq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		 const struct rte_eth_rxconf *conf, struct rte_mempool *mp)
{
	struct netvsp_port *p = dev->data->dev_private;

	(void)nb_desc;
	(void)socket;
	(void)conf;
	p->rxq.port = p;
	p->rxq.mp = mp;
	dev->data->rx_queues[qid] = &p->rxq;
	return 0;
}

static int
netvsp_txq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		 const struct rte_eth_txconf *conf)
{
	struct netvsp_port *p = dev->data->dev_private;

	(void)nb_desc;
	(void)socket;
	(void)conf;
	p->txq.port = p;
	dev->data->tx_queues[qid] = &p->txq;
	return 0;
}

static int
netvsp_link_update(struct rte_eth_dev *dev, int wait)
{
	(void)wait;
	netvsp_link_update_now(dev->data->dev_private);
	return 0;
}

static int
netvsp_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct netvsp_port *p = dev->data->dev_private;

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

/* Every counter, in the order of netvsp_xstat_names. */
#define NETVSP_XSTATS(X) \
	X("rx_zero_copy_packets", &p->rxq.zero_copy) \
	X("rx_bad_packets", &p->bad_packets) \
	X("rx_dropped_not_polled", &p->not_polled_drops) \
	X("tx_filtered_packets", &p->txq.filtered) \
	X("tx_too_big_packets", &p->txq.too_big) \
	X("tx_no_receive_slot", &p->txq.no_slot) \
	X("ring_broken", &p->ring_broken) \
	X("protocol_errors", &p->protocol_errors) \
	X("bad_completions", &p->bad_completions) \
	X("guest_connects", &p->connects) \
	X("guest_disconnects", &p->disconnects)

#define NETVSP_NAME(n, c) n,
static const char *const netvsp_xstat_names[] = {
	NETVSP_XSTATS(NETVSP_NAME)
	"completions_pending", "receive_slots_in_use", "signals", "completion_ring_full",
};

static int
netvsp_stats_reset(struct rte_eth_dev *dev)
{
	struct netvsp_port *p = dev->data->dev_private;

#define NETVSP_RESET(n, c) nvchan_counter_zero(c);
	NETVSP_XSTATS(NETVSP_RESET)
	nvchan_counter_zero(&p->rxq.packets);
	nvchan_counter_zero(&p->rxq.bytes);
	nvchan_counter_zero(&p->rxq.nombuf);
	nvchan_counter_zero(&p->txq.packets);
	nvchan_counter_zero(&p->txq.bytes);
	return 0;
}

static int
netvsp_xstats_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names, unsigned int n)
{
	(void)dev;
	return nvchan_xstats_names(names, n, netvsp_xstat_names, RTE_DIM(netvsp_xstat_names));
}

static int
netvsp_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int n)
{
	struct netvsp_port *p = dev->data->dev_private;
	uint64_t v[RTE_DIM(netvsp_xstat_names)];
	unsigned int i = 0;

#define NETVSP_VALUE(nm, c) v[i++] = pvb_counter_read(c);
	NETVSP_XSTATS(NETVSP_VALUE)
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

static int
netvsp_promisc(struct rte_eth_dev *dev)
{
	(void)dev;	/* a point-to-point port: it receives everything the guest sends */
	return 0;
}

static int
netvsp_mac_set(struct rte_eth_dev *dev, struct rte_ether_addr *mac)
{
	struct netvsp_port *p = dev->data->dev_private;

	p->mac = *mac;
	return 0;
}

static int
netvsp_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	struct netvsp_port *p = dev->data->dev_private;

	/* the guest was offered p->mtu: a smaller one is a local choice */
	return mtu <= p->mtu ? 0 : -EINVAL;
}

static const struct eth_dev_ops netvsp_ops = {
	.dev_configure = netvsp_configure,
	.dev_infos_get = netvsp_infos,
	.dev_start = netvsp_start,
	.dev_stop = netvsp_stop,
	.dev_close = netvsp_close,
	.rx_queue_setup = netvsp_rxq_setup,
	.tx_queue_setup = netvsp_txq_setup,
	.rx_queue_release = nvchan_queue_release,
	.tx_queue_release = nvchan_queue_release,
	.link_update = netvsp_link_update,
	.stats_get = netvsp_stats_get,
	.stats_reset = netvsp_stats_reset,
	.xstats_get = netvsp_xstats_get,
	.xstats_get_names = netvsp_xstats_names,
	.xstats_reset = netvsp_stats_reset,
	.promiscuous_enable = netvsp_promisc,
	.promiscuous_disable = netvsp_promisc,
	.allmulticast_enable = netvsp_promisc,
	.allmulticast_disable = netvsp_promisc,
	.mac_addr_set = netvsp_mac_set,
	.mtu_set = netvsp_mtu_set,
};

static int
netvsp_kv_mtu(const char *key, const char *v, void *arg)
{
	(void)key;
	return nvchan_parse_u32(v, RTE_ETHER_MIN_MTU, 9216, arg);
}

static int
netvsp_kv_copybreak(const char *key, const char *v, void *arg)
{
	(void)key;
	return nvchan_parse_u32(v, 0, UINT16_MAX, arg);
}

static int
netvsp_kv_section(const char *key, const char *v, void *arg)
{
	(void)key;
	if (nvchan_parse_u32(v, 512, 65536, arg) != 0 || *(uint32_t *)arg % 64 != 0)
		return -EINVAL;
	return 0;
}

static int
netvsp_parse(struct rte_vdev_device *vdev, struct netvsp_port *p)
{
	const char *args = rte_vdev_device_args(vdev);
	struct rte_kvargs *kv = rte_kvargs_parse(args != NULL ? args : "", netvsp_args);
	int rc = 0;

	if (kv == NULL) {
		LOG(ERR, "%s: cannot parse \"%s\"; known: path, mac, mtu, copybreak, section_size",
		    rte_vdev_device_name(vdev), args);
		return -EINVAL;
	}
	if (rte_kvargs_count(kv, ARG_PATH) != 1) {
		LOG(ERR, "%s: give exactly one path=<unix socket>", rte_vdev_device_name(vdev));
		rc = -EINVAL;
	} else if (rte_kvargs_process(kv, ARG_PATH, nvchan_kv_path, p->path) != 0) {
		LOG(ERR, "%s: path must be 1..107 bytes", rte_vdev_device_name(vdev));
		rc = -EINVAL;
	} else if (rte_kvargs_process(kv, ARG_MAC, nvchan_kv_mac, p->guest_mac) != 0) {
		LOG(ERR, "%s: mac must be a unicast xx:xx:xx:xx:xx:xx", rte_vdev_device_name(vdev));
		rc = -EINVAL;
	} else if (rte_kvargs_process(kv, ARG_MTU, netvsp_kv_mtu, &p->mtu) != 0) {
		LOG(ERR, "%s: mtu must be 68..9216", rte_vdev_device_name(vdev));
		rc = -EINVAL;
	} else if (rte_kvargs_process(kv, ARG_COPYBREAK, netvsp_kv_copybreak, &p->copybreak) != 0) {
		LOG(ERR, "%s: copybreak must be 0..65535", rte_vdev_device_name(vdev));
		rc = -EINVAL;
	} else if (rte_kvargs_process(kv, ARG_SECTION, netvsp_kv_section, &p->section_size) != 0) {
		LOG(ERR, "%s: section_size must be 512..65536, a multiple of 64",
		    rte_vdev_device_name(vdev));
		rc = -EINVAL;
	}
	rte_kvargs_free(kv);
	return rc;
}

/* A locally administered address from the socket path, so restarts keep it. */
static void
netvsp_default_mac(const char *path, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (; *path != '\0'; path++)
		h = (h ^ (uint8_t)*path) * 16777619u;
	mac[0] = 0x02;
	mac[1] = 0x70;
	memcpy(mac + 2, &h, 4);
}

static int
netvsp_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev;
	struct netvsp_port *p;
	bool mac_given;
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		LOG(ERR, "%s: secondary processes are not supported", name);
		return -ENOTSUP;
	}
	dev = rte_eth_vdev_allocate(vdev, sizeof(*p));
	if (dev == NULL)
		return -ENOMEM;
	p = dev->data->dev_private;
	p->lfd = -1;
	p->mtu = RTE_ETHER_MTU;
	p->copybreak = 256;
	p->port_id = dev->data->port_id;
	p->socket_id = rte_socket_id();
	p->hc.sock = -1;
	rc = netvsp_parse(vdev, p);
	if (rc != 0)
		goto release;
	mac_given = p->guest_mac[0] | p->guest_mac[1] | p->guest_mac[2] | p->guest_mac[3] |
		    p->guest_mac[4] | p->guest_mac[5];
	if (!mac_given)
		netvsp_default_mac(p->path, p->guest_mac);
	/* the port's own address: the guest's with another locally administered prefix */
	memcpy(p->mac.addr_bytes, p->guest_mac, RTE_ETHER_ADDR_LEN);
	p->mac.addr_bytes[0] ^= 0x04;
	dev->data->mac_addrs = rte_zmalloc_socket(name, RTE_ETHER_ADDR_LEN, 0, p->socket_id);
	if (dev->data->mac_addrs == NULL) {
		rc = -ENOMEM;
		goto release;
	}
	*dev->data->mac_addrs = p->mac;
	p->lfd = pvb_chan_listen(p->path);
	if (p->lfd < 0) {
		rc = p->lfd;
		LOG(ERR, "%s: cannot listen on %s: %s", name, p->path, strerror(-rc));
		goto release;
	}
	dev->dev_ops = &netvsp_ops;
	dev->rx_pkt_burst = netvsp_rx_burst;
	dev->tx_pkt_burst = netvsp_tx_burst;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	rc = rte_ctrl_thread_create(&p->thread, "pvb-netvsp", NULL, netvsp_ctrl_thread, p);
	if (rc != 0) {
		rc = -rc;
		goto release;
	}
	p->thread_running = true;
	rte_eth_dev_probing_finish(dev);
	LOG(INFO, "%s: port %u listens on %s for a guest", name, p->port_id, p->path);
	return 0;
release:
	netvsp_shutdown(p);
	rte_eth_dev_release_port(dev);
	return rc;
}

static int
netvsp_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0;
	netvsp_close(dev);
	return rte_eth_dev_release_port(dev);
}

static struct rte_vdev_driver netvsp_vdev = {
	.probe = netvsp_probe,
	.remove = netvsp_remove,
};

RTE_PMD_REGISTER_VDEV(net_pvb_netvsp, netvsp_vdev);
RTE_PMD_REGISTER_PARAM_STRING(net_pvb_netvsp,
	"path=<unix socket> mac=<guest MAC> mtu=<68-9216> copybreak=<bytes> "
	"section_size=<bytes>");
