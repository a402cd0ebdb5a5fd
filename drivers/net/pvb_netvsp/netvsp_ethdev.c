/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* net_pvb_netvsp: devargs and what the host side brings to the port base. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bus_vdev_driver.h>
#include <rte_log.h>

#include "netvsp.h"

RTE_LOG_REGISTER_DEFAULT(netvsp_logtype, NOTICE);

static const char *const netvsp_args[] = { "path", "mac", "mtu", "copybreak", "section_size",
	"share", "queues", NULL };

/* A locally administered address from the socket path, so restarts keep it. */
static void
netvsp_default_mac(const char *path, struct rte_ether_addr *mac)
{
	uint32_t h = 2166136261u;

	for (; *path != '\0'; path++)
		h = (h ^ (uint8_t)*path) * 16777619u;
	mac->addr_bytes[0] = 0x02;
	mac->addr_bytes[1] = 0x70;
	memcpy(mac->addr_bytes + 2, &h, 4);
}

static int
netvsp_parse(struct nvport *p, struct rte_kvargs *kv, const char *name)
{
	struct netvsp_port *v = netvsp_port(p);
	const struct pvb_u32_arg num[] = {
		{ "mtu", &p->mtu, RTE_ETHER_MIN_MTU, 9216, 1 },
		{ "copybreak", &p->copybreak, 0, UINT16_MAX, 1 },
		{ "section_size", &v->section_size, 512, 65536, 64 },
		{ "share", &v->share, 0, 1, 1 },
	};
	int rc;

	v->lfd = -1;
	v->hc.sock = -1;
	rte_spinlock_init(&v->lend_lock);
	rte_spinlock_init(&v->slot_lock);
	p->mtu = RTE_ETHER_MTU;
	rc = pvb_devargs_mac(netvsp_logtype, kv, name, "mac", &v->guest_mac);
	if (rc < 0 || pvb_devargs_u32s(netvsp_logtype, kv, name, num, RTE_DIM(num)) != 0)
		return -EINVAL;
	if (rc == 0)
		netvsp_default_mac(p->path, &v->guest_mac);
	/* the port's own address: the guest's with another locally administered prefix */
	p->mac = v->guest_mac;
	p->mac.addr_bytes[0] ^= 0x04;
	v->lfd = pvb_chan_listen(p->path);
	if (v->lfd < 0) {
		LOG(ERR, "%s: cannot listen on %s: %s", name, p->path, strerror(-v->lfd));
		return v->lfd;
	}
	LOG(INFO, "%s: port %u listens on %s for a guest", name, p->port_id, p->path);
	return 0;
}

static void
netvsp_shutdown(struct nvport *p)
{
	struct netvsp_port *v = netvsp_port(p);

	netvsp_lend_shutdown(v);
	if (v->lfd >= 0) {
		close(v->lfd);
		unlink(p->path);
		v->lfd = -1;
	}
}

static uint32_t
netvsp_max_mtu(const struct nvport *p)
{
	return p->mtu;	/* what the guest is offered */
}

#define NETVSP_XSTAT(n, f) { n, offsetof(struct netvsp_port, f) }
static const struct nvport_xstat netvsp_xstats[] = {
	NETVSP_XSTAT("tx_filtered_packets", tx_filtered),
	NETVSP_XSTAT("tx_no_receive_slot", tx_no_slot),
	NETVSP_XSTAT("control_replies_failed", ctl_reply_failed),
	NETVSP_XSTAT("guest_connects", base.connects),
	NETVSP_XSTAT("guest_disconnects", base.disconnects),
	NETVSP_XSTAT("guest_open_refused", open_refused),
	NETVSP_XSTAT("tx_large_packets", tx_large),
	NETVSP_XSTAT("subchannels_open", subch_open),
	NETVSP_XSTAT("rss_updates", rss_updates),
};

const struct nvport_side netvsp_side = {
	.drv = "net_pvb_netvsp",
	.logtype = &netvsp_logtype,
	.thread = "pvb-netvsp",
	.port_size = sizeof(struct netvsp_port),
	.args = netvsp_args,
	.parse = netvsp_parse,
	.ctrl_thread = netvsp_ctrl_thread,
	.shutdown = netvsp_shutdown,
	.rx_burst = netvsp_rx_burst,
	.tx_burst = netvsp_tx_burst,
	.max_mtu = netvsp_max_mtu,
	.tx_offloads = RTE_ETH_TX_OFFLOAD_VLAN_INSERT,
	.xstats = netvsp_xstats,
	.nxstats = RTE_DIM(netvsp_xstats),
	.in_use_name = "receive_slots_in_use",
};

static int
netvsp_probe(struct rte_vdev_device *vdev)
{
	return nvport_probe(vdev, &netvsp_side);
}

static struct rte_vdev_driver netvsp_vdev = {
	.probe = netvsp_probe,
	.remove = nvport_remove,
};

RTE_PMD_REGISTER_VDEV(net_pvb_netvsp, netvsp_vdev);
RTE_PMD_REGISTER_PARAM_STRING(net_pvb_netvsp,
	"path=<unix socket> mac=<guest MAC> mtu=<68-9216> copybreak=<bytes> "
	"section_size=<bytes> share=<0|1> queues=<1-8>");
