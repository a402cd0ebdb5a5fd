/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* net_pvb_virtio: devargs, probe, the ethdev operations, stats, xstats, and its own API. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bus_vdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_string_fns.h>

#include "rte_pmd_pvb_virtio.h"
#include "virtio.h"

RTE_LOG_REGISTER_DEFAULT(virtio_logtype, NOTICE);

static const char *const virtio_args[] = {
	"path", "server", "queues", "queue_size", "mac", "mrg_rxbuf", "in_order", "offload", NULL
};

static struct virtio_port *
virtio_of(const struct rte_eth_dev *dev)
{
	return dev->data->dev_private;
}

/* ---- operations --------------------------------------------------------------- */

static int
virtio_configure(struct rte_eth_dev *dev)
{
	struct virtio_port *p = virtio_of(dev);

	if (dev->data->nb_rx_queues > p->queues || dev->data->nb_tx_queues > p->queues) {
		LOG(ERR, "%s: %u rx / %u tx queues asked, the port has queues=%u", p->name,
		    dev->data->nb_rx_queues, dev->data->nb_tx_queues, p->queues);
		return -EINVAL;
	}
	return 0;
}

static int
virtio_infos(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct virtio_port *p = virtio_of(dev);

	info->max_mac_addrs = 1;
	info->max_rx_queues = p->queues;
	info->max_tx_queues = p->queues;
	info->max_rx_pktlen = VIRTIO_MAX_FRAME;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = VIRTIO_MAX_MTU;
	info->min_rx_bufsize = RTE_PKTMBUF_HEADROOM + RTE_ETHER_MIN_LEN;
	/* frames larger than an mbuf arrive as chains (GSO frames up to 64 KB); chains go out
	 * as they are; every TX request is honoured, by the back-end or in software */
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
				RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
				RTE_ETH_RX_OFFLOAD_TCP_LRO;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
				RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO |
				RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
	info->max_lro_pkt_size = RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN + 40 + UINT16_MAX;
	info->rx_desc_lim.nb_max = p->queue_size;
	info->tx_desc_lim.nb_max = p->queue_size;
	info->default_rxportconf.ring_size = p->queue_size;
	info->default_txportconf.ring_size = p->queue_size;
	info->speed_capa = RTE_ETH_LINK_SPEED_10G;
	return 0;
}

static int
virtio_start(struct rte_eth_dev *dev)
{
	virtio_session_start(virtio_of(dev));
	pvb_eth_queues_state(dev, RTE_ETH_QUEUE_STATE_STARTED);
	return 0;
}

static int
virtio_stop(struct rte_eth_dev *dev)
{
	virtio_session_stop(virtio_of(dev));
	pvb_eth_queues_state(dev, RTE_ETH_QUEUE_STATE_STOPPED);
	return 0;
}

static void
virtio_shutdown(struct rte_eth_dev *dev, struct virtio_port *p)
{
	unsigned int i;

	pvb_ctrl_stop(&p->ctrl);
	pvb_rxintr_free(dev, &p->intr);
	virtio_mem_cb_unregister(p);
	if (p->listen_fd >= 0) {
		close(p->listen_fd);
		unlink(p->path);
		p->listen_fd = -1;
	}
	for (i = 0; i < RTE_DIM(p->ring); i++)
		virtio_ring_free(&p->ring[i]);
	for (i = 0; i < RTE_DIM(p->txq); i++) {
		rte_free(p->txq[i].zero_hdr);
		p->txq[i].zero_hdr = NULL;
		pvb_swol_fini(&p->txq[i].swol);
	}
	for (i = 0; i < p->next; i++)
		close(p->ext[i].fd);
	p->next = 0;
}

static int
virtio_close(struct rte_eth_dev *dev)
{
	if (rte_eal_process_type() == RTE_PROC_PRIMARY)
		virtio_shutdown(dev, virtio_of(dev));
	return 0;
}

static int
virtio_rxq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		 const struct rte_eth_rxconf *conf, struct rte_mempool *mp)
{
	struct virtio_port *p = virtio_of(dev);
	uint32_t room = rte_pktmbuf_data_room_size(mp);

	RTE_SET_USED(nb_desc);
	RTE_SET_USED(socket);
	RTE_SET_USED(conf);
	if (room < RTE_PKTMBUF_HEADROOM + RTE_ETHER_MIN_LEN) {
		LOG(ERR, "%s: rx queue %u: mbufs of %u data bytes leave no room after the %u-byte "
		    "headroom", p->name, qid, room, RTE_PKTMBUF_HEADROOM);
		return -EINVAL;
	}
	p->rxq[qid].mp = mp;
	dev->data->rx_queues[qid] = &p->rxq[qid];
	return 0;
}

static int
virtio_txq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		 const struct rte_eth_txconf *conf)
{
	struct virtio_port *p = virtio_of(dev);

	struct virtio_txq *q = &p->txq[qid];
	char name[RTE_MEMPOOL_NAMESIZE];
	int rc;

	RTE_SET_USED(nb_desc);
	RTE_SET_USED(conf);
	pvb_swol_fini(&q->swol);
	snprintf(name, sizeof(name), "pvbvi%u_%u", dev->data->port_id, qid);
	rc = pvb_swol_init(&q->swol, name, (int)socket);
	if (rc != 0) {
		LOG(ERR, "%s: tx queue %u: software offload pools: %s", p->name, qid,
		    strerror(-rc));
		return rc;
	}
	dev->data->tx_queues[qid] = q;
	return 0;
}

static int
virtio_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct virtio_port *p = virtio_of(dev);
	unsigned int q;

	for (q = 0; q < p->queues; q++) {
		const struct virtio_rxq *r = &p->rxq[q];
		const struct virtio_txq *t = &p->txq[q];
		uint64_t ip = pvb_counter_read(&r->packets), ib = pvb_counter_read(&r->bytes);
		uint64_t op = pvb_counter_read(&t->packets), ob = pvb_counter_read(&t->bytes);

		st->ipackets += ip;
		st->ibytes += ib;
		st->opackets += op;
		st->obytes += ob;
		st->rx_nombuf += pvb_counter_read(&r->nombuf);
		st->ierrors += pvb_counter_read(&r->bad_lengths);
		for (unsigned int b = PVB_VNET_BAD_HEADER; b < PVB_VNET_BAD_MAX; b++)
			st->ierrors += pvb_counter_read(&r->ol_bad[b]);
		st->oerrors += pvb_counter_read(&t->unshared) + pvb_counter_read(&t->too_many_segs) +
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

#define XS_PORT(n, f) { n, offsetof(struct virtio_port, f) },
#define XS_RXQ(n, f) { n, offsetof(struct virtio_rxq, f) },
#define XS_TXQ(n, f) { n, offsetof(struct virtio_txq, f) },
static const struct pvb_xstat xs_port[] = {
	XS_PORT("ring_broken", ring_broken)
	XS_PORT("connects", connects)
	XS_PORT("reconnects", reconnects)
	XS_PORT("disconnects", disconnects)
	XS_PORT("session_failures", session_failures)
	XS_PORT("mem_table_updates", mem_table_updates)
};
static const struct pvb_xstat xs_rxq[] = {
	XS_RXQ("bad_used", bad_used)
	XS_RXQ("bad_lengths", bad_lengths)
	XS_RXQ("kicks_sent", kicks)
	XS_RXQ("calls_seen", calls)
	XS_RXQ("unshared_memory", unshared)
	XS_RXQ("offload_csum_packets", ol_csum)
	XS_RXQ("offload_tso_packets", ol_tso)
	XS_RXQ("bad_headers", ol_bad[PVB_VNET_BAD_HEADER])
	XS_RXQ("offload_bad_csum", ol_bad[PVB_VNET_BAD_CSUM])
	XS_RXQ("offload_bad_gso", ol_bad[PVB_VNET_BAD_GSO])
	XS_RXQ("offload_unsupported", ol_bad[PVB_VNET_UNSUPPORTED])
	XS_RXQ("offload_not_negotiated", ol_bad[PVB_VNET_NOT_NEGOTIATED])
};
static const struct pvb_xstat xs_txq[] = {
	XS_TXQ("ring_full", ring_full)
	XS_TXQ("unshared_memory", unshared)
	XS_TXQ("too_many_segments", too_many_segs)
	XS_TXQ("bad_used", bad_used)
	XS_TXQ("kicks_sent", kicks)
	XS_TXQ("offload_csum_packets", ol_csum)
	XS_TXQ("offload_tso_packets", ol_tso)
	XS_TXQ("sw_cksum_packets", sw_cksum)
	XS_TXQ("sw_gso_packets", sw_gso)
	XS_TXQ("sw_gso_segments", sw_gso_segs)
	XS_TXQ("sw_vlan_packets", sw_vlan)
	XS_TXQ("offload_copies", ol_copies)
	XS_TXQ("offload_bad", ol_bad)
};

PVB_XSTATS_QUEUE_PORT(virtio, struct virtio_port, PVB_FLOW_RX_REF | PVB_FLOW_TX_REF)

/* The receive buffers of the next session are sized for it. */
static int
virtio_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	RTE_SET_USED(dev);
	return mtu <= VIRTIO_MAX_MTU ? 0 : -EINVAL;
}

static const struct eth_dev_ops virtio_ops = {
	.dev_configure = virtio_configure,
	.dev_infos_get = virtio_infos,
	.dev_start = virtio_start,
	.dev_stop = virtio_stop,
	.dev_close = virtio_close,
	.rx_queue_setup = virtio_rxq_setup,
	.tx_queue_setup = virtio_txq_setup,
	.rx_queue_release = pvb_eth_queue_release,
	.tx_queue_release = pvb_eth_queue_release,
	.tx_done_cleanup = virtio_tx_done_cleanup,
	.rx_queue_intr_enable = virtio_rx_intr_enable,
	.rx_queue_intr_disable = virtio_rx_intr_disable,
	.link_update = pvb_eth_link_get,
	.stats_get = virtio_stats_get,
	.stats_reset = virtio_stats_reset,
	.xstats_get = virtio_xstats_get,
	.xstats_get_names = virtio_xstats_names,
	.xstats_reset = virtio_stats_reset,
	.promiscuous_enable = pvb_eth_nop,
	.promiscuous_disable = pvb_eth_nop,
	.allmulticast_enable = pvb_eth_nop,
	.allmulticast_disable = pvb_eth_nop,
	.mac_addr_set = pvb_eth_mac_set,
	.mtu_set = virtio_mtu_set,
};

/* A secondary process sees the port and its counters; the datapath is the primary's. */
static const struct eth_dev_ops virtio_secondary_ops = {
	.dev_infos_get = virtio_infos,
	.link_update = pvb_eth_link_get,
	.stats_get = virtio_stats_get,
	.xstats_get = virtio_xstats_get,
	.xstats_get_names = virtio_xstats_names,
};

/* ---- memory that is not DPDK's (rte_pmd_pvb_virtio.h) --------------------------------- */

static struct virtio_port *
virtio_port_of(uint16_t port_id)
{
	if (!rte_eth_dev_is_valid_port(port_id) || rte_eth_devices[port_id].dev_ops != &virtio_ops)
		return NULL;
	return virtio_of(&rte_eth_devices[port_id]);
}

/* Send the table again if a session is up. -EIO when the back-end refused it. */
static int
virtio_mem_resend(struct virtio_port *p)
{
	int rc = 0;

	if (!p->session)
		return 0;
	pvb_handover_take(&p->state, VIRTIO_DOWN, p->act, RTE_DIM(p->act));
	rc = virtio_mem_update(p);
	if (rc != 0 && rc != -ENOSPC)
		/* the back-end holds who knows what table: the control thread starts over */
		pvb_store_relaxed(&p->broken, 1);	/* relaxed: a flag it polls */
	pvb_handover_give(&p->state, VIRTIO_RUN);
	return rc == 0 || rc == -ENOSPC ? rc : -EIO;
}

int
rte_pmd_pvb_virtio_mem_add(uint16_t port_id, void *va, size_t len, int fd, uint64_t offset)
{
	struct virtio_port *p = virtio_port_of(port_id);
	uint64_t a = (uintptr_t)va;
	struct stat st;
	uint32_t i;
	int dup, rc;

	if (p == NULL)
		return -ENODEV;
	if (va == NULL || len == 0 || a + len < a || offset + len < offset || fd < 0 ||
	    fstat(fd, &st) != 0 || (uint64_t)st.st_size < offset + len)
		return -EINVAL;
	/* DPDK's own memory is in the table already; twice would overlap */
	if (virtio_mem_is_dpdk(a, len))
		return -EINVAL;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return -errno;
	virtio_lock(p);
	rc = 0;
	for (i = 0; i < p->next; i++)
		if (a < p->ext[i].va + p->ext[i].len && p->ext[i].va < a + len)
			rc = -EINVAL;
	/* DPDK's memory keeps its regions, whether a session is up or not */
	if (rc == 0) {
		int dpdk = virtio_mem_dpdk_regions(p);

		if (dpdk < 0 || (uint32_t)dpdk + p->next + 1 > PVB_VU_MAX_REGIONS)
			rc = -ENOSPC;
	}
	if (rc == 0) {
		p->ext[p->next++] = (struct virtio_region){ .va = a, .len = len,
							    .offset = offset, .fd = dup };
		rc = virtio_mem_resend(p);
		if (rc != 0)
			p->next--;
	}
	virtio_unlock(p);
	if (rc != 0)
		close(dup);
	else
		LOG(INFO, "%s: %zu bytes at %p shared with the back-end", p->name, len, va);
	return rc;
}

int
rte_pmd_pvb_virtio_mem_del(uint16_t port_id, void *va)
{
	struct virtio_port *p = virtio_port_of(port_id);
	struct virtio_region gone;
	uint32_t i;

	if (p == NULL)
		return -ENODEV;
	virtio_lock(p);
	for (i = 0; i < p->next && p->ext[i].va != (uintptr_t)va; i++)
		;
	if (i == p->next) {
		virtio_unlock(p);
		return -ENOENT;
	}
	if (!p->session) {
		gone = p->ext[i];
		p->ext[i] = p->ext[--p->next];
	} else {
		pvb_handover_take(&p->state, VIRTIO_DOWN, p->act, RTE_DIM(p->act));
		gone = p->ext[i];	/* rx_posted read with the bursts out */
		p->ext[i] = p->ext[--p->next];
		/* a table with one region less is never refused for its size */
		if (!gone.rx_posted && virtio_mem_update(p) != 0)
			pvb_store_relaxed(&p->broken, 1);	/* relaxed: a flag it polls */
		pvb_handover_give(&p->state, VIRTIO_RUN);
		/*
		 * Receive buffers posted there could neither be filled nor given
		 * back by a back-end whose table lacks the region: the session
		 * ends (its mbufs freed now) and the next one leaves it out.
		 */
		if (gone.rx_posted)
			virtio_end(p, "a region holding receive buffers left the memory table");
	}
	virtio_unlock(p);
	close(gone.fd);
	LOG(INFO, "%s: the region at %p is no longer shared%s", p->name, va,
	    gone.rx_posted ? " (the session started again without it)" : "");
	return 0;
}

/* ---- devargs ------------------------------------------------------------------ */

static int
virtio_parse(struct rte_vdev_device *vdev, struct virtio_port *p)
{
	struct rte_kvargs *kv = pvb_devargs_parse(virtio_logtype, vdev, virtio_args);
	const char *name = rte_vdev_device_name(vdev);
	uint32_t server = 0, queues = 1, size = 256, mrg = 1, in_order = 1, offload = 1;
	const struct pvb_u32_arg num[] = {
		{ "server", &server, 0, 1, 1 },
		{ "queues", &queues, 1, VIRTIO_MAX_QUEUES, 1 },
		{ "queue_size", &size, 16, PVB_VIRTQ_MAX_SIZE, 1 },
		{ "mrg_rxbuf", &mrg, 0, 1, 1 },
		{ "in_order", &in_order, 0, 1, 1 },
		{ "offload", &offload, 0, 1, 1 },
	};
	int rc;

	if (kv == NULL)
		return -EINVAL;
	rc = pvb_devargs_path(virtio_logtype, kv, name, "path", p->path, sizeof(p->path));
	if (rc == 0)
		rc = pvb_devargs_u32s(virtio_logtype, kv, name, num, RTE_DIM(num));
	if (rc == 0 && !rte_is_power_of_2(size)) {
		rte_log(RTE_LOG_ERR, virtio_logtype, "%s: queue_size must be a power of two, "
			"16..%u\n", name, PVB_VIRTQ_MAX_SIZE);
		rc = -EINVAL;
	}
	if (rc == 0 && pvb_devargs_mac(virtio_logtype, kv, name, "mac", &p->mac) < 0)
		rc = -EINVAL;
	p->server = server != 0;
	p->queues = (uint16_t)queues;
	p->queue_size = (uint16_t)size;
	p->mrg_rxbuf = mrg != 0;
	p->in_order = in_order != 0;
	p->offload = offload != 0;
	rte_kvargs_free(kv);
	return rc;
}

/* ---- probe -------------------------------------------------------------------- */

static int
virtio_alloc(struct virtio_port *p, int socket)
{
	unsigned int i;

	for (i = 0; i < 2u * p->queues; i++)
		if (virtio_ring_alloc(&p->ring[i], p->queue_size, socket) != 0)
			return -ENOMEM;
	for (i = 0; i < p->queues; i++) {
		/* device-readable, never written: every chained frame's header */
		p->txq[i].zero_hdr = rte_zmalloc_socket("pvb_virtio_hdr",
							sizeof(struct pvb_vnet_hdr),
							RTE_CACHE_LINE_SIZE, socket);
		if (p->txq[i].zero_hdr == NULL)
			return -ENOMEM;
	}
	return 0;
}

static int
virtio_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev;
	struct virtio_port *p;
	unsigned int q;
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return pvb_eth_probe_secondary(virtio_logtype, vdev, &virtio_secondary_ops) != NULL ?
		       0 : -ENODEV;
	pvb_handover_init("pvb virtio ports");
	dev = rte_eth_vdev_allocate(vdev, sizeof(*p));
	if (dev == NULL)
		return -ENOMEM;
	p = virtio_of(dev);
	p->port_id = dev->data->port_id;
	strlcpy(p->name, name, sizeof(p->name));
	p->listen_fd = p->conn_fd = -1;
	pvb_rxintr_init(&p->intr);
	pthread_mutex_init(&p->lock, NULL);
	for (q = 0; q < RTE_DIM(p->ring); q++)
		p->ring[q].kick_fd = p->ring[q].call_fd = -1;
	for (q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		p->rxq[q] = (struct virtio_rxq){ .p = p, .qid = (uint16_t)q,
						 .port_id = p->port_id };
		p->txq[q] = (struct virtio_txq){ .p = p, .qid = (uint16_t)q };
	}
	rte_eth_random_addr(p->mac.addr_bytes);
	dev->data->mac_addrs = rte_zmalloc_socket(name, RTE_ETHER_ADDR_LEN, 0, rte_socket_id());
	if (dev->data->mac_addrs == NULL) {
		rc = -ENOMEM;
		goto release;
	}
	rc = virtio_parse(vdev, p);
	if (rc != 0)
		goto release;
	*dev->data->mac_addrs = p->mac;
	rc = virtio_alloc(p, rte_socket_id());
	if (rc != 0) {
		LOG(ERR, "%s: no memory for %u vrings of %u", name, 2u * p->queues, p->queue_size);
		goto shutdown;
	}
	if (p->server) {
		rc = pvb_vu_listen(p->path);
		if (rc < 0) {
			LOG(ERR, "%s: cannot listen on %s: %s", name, p->path,
			    rc == -EADDRINUSE ? "another process listens on this socket" :
			    strerror(-rc));
			goto shutdown;
		}
		p->listen_fd = rc;
	}
	rc = virtio_mem_cb_register(p);
	if (rc == 0)
		rc = pvb_rxintr_setup(dev, &p->intr, p->queues, "pvb_virtio_intr");
	if (rc != 0)
		goto shutdown;
	dev->dev_ops = &virtio_ops;
	dev->rx_pkt_burst = virtio_rx_burst;
	dev->tx_pkt_burst = virtio_tx_burst;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	rc = pvb_ctrl_start(&p->ctrl, "pvb-virtio", virtio_ctrl_thread, p);
	if (rc != 0)
		goto shutdown;
	LOG(INFO, "%s: port %u, %s %s, %u queue pair(s) of %u", name, p->port_id,
	    p->server ? "listening on" : "connecting to", p->path, p->queues, p->queue_size);
	rte_eth_dev_probing_finish(dev);
	return 0;
shutdown:
	virtio_shutdown(dev, p);
release:
	pthread_mutex_destroy(&p->lock);
	rte_eth_dev_release_port(dev);
	return rc;
}

static int
virtio_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0;
	virtio_close(dev);
	return rte_eth_dev_release_port(dev);
}

static struct rte_vdev_driver virtio_vdev = {
	.probe = virtio_probe,
	.remove = virtio_remove,
};

RTE_PMD_REGISTER_VDEV(net_pvb_virtio, virtio_vdev);
RTE_PMD_REGISTER_PARAM_STRING(net_pvb_virtio,
	"path=<unix socket> server=<0|1> queues=<1-8> queue_size=<16-32768> "
	"mac=<xx:xx:xx:xx:xx:xx> mrg_rxbuf=<0|1> in_order=<0|1> offload=<0|1>");
