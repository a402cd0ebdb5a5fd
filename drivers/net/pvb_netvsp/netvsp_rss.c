/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Receive side scaling towards the guest (doc/netvsp-netvsc.md, "Queues
 * and RSS"): the guest sets a Toeplitz key, hash types and a 128-entry
 * table of channels (OID_GEN_RECEIVE_SCALE_PARAMETERS); every frame to it
 * goes on the channel table[hash % 128] names, with the hash value and hash
 * info per-packet info, as a Hyper-V host's vSwitch does. The hash is the
 * one NDIS defines (Microsoft's "RSS hashing functions"): Toeplitz over the
 * source and destination addresses, then the TCP ports, computed here with
 * DPDK's rte_softrss().
 *
 * Publication: the VSP applies a SET in the primary's in_lock holder, which
 * copies it into the copy of v->rss the bursts are not reading and then
 * switches rss_cur with a store-release. A burst that still reads the other
 * copy when a second SET lands in the same burst may mix two settings: a
 * frame then goes on another channel than the newest table says, which is
 * all RSS promises during a change (NDIS lets queues move while a table is
 * updated); every entry was checked below the channel count either way.
 */

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_thash.h>

#include "netvsp.h"

void
netvsp_rss_publish(struct netvsp_port *v)
{
	const struct pvb_rss_conf *c = &v->vsp.rss;
	/* relaxed: only this writer (the primary's in_lock holder) stores it */
	uint32_t cur = pvb_load_relaxed(&v->rss_cur), next = cur == 1 ? 2 : 1;
	struct netvsp_rss *r = &v->rss[next - 1];

	if (v->vsp.rss_gen == v->rss_gen_seen)
		return;
	v->rss_gen_seen = v->vsp.rss_gen;
	pvb_counter_add(&v->rss_updates, 1);
	if (!c->enabled) {
		/* pairs with the load-acquire in netvsp_rss_get() */
		pvb_store_release(&v->rss_cur, 0);
		return;
	}
	r->types = c->hash_types;
	memcpy(r->key, c->key, sizeof(r->key));
	memcpy(r->table, c->table, sizeof(r->table));
	/* pairs with the load-acquire in netvsp_rss_get(): the copy is seen whole */
	pvb_store_release(&v->rss_cur, next);
}

/* The Toeplitz hash of @p m under @p rss, and its NDIS type (0: no hash). */
static uint32_t
netvsp_rss_hash(const struct netvsp_rss *rss, const struct rte_mbuf *m, uint32_t *type)
{
	struct rte_net_hdr_lens hl;
	union rte_thash_tuple t;
	uint32_t ptype, len, need;
	bool v6, tcp;

	*type = 0;
	ptype = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK |
				  RTE_PTYPE_L4_MASK);
	v6 = RTE_ETH_IS_IPV6_HDR(ptype);
	if (!v6 && !RTE_ETH_IS_IPV4_HDR(ptype))
		return 0;
	tcp = (ptype & RTE_PTYPE_L4_MASK) == RTE_PTYPE_L4_TCP;
	*type = pvb_rss_hash_type(rss->types, v6, tcp);
	if (*type == 0)
		return 0;
	tcp = *type == PVB_NDIS_HASH_TCP_IPV4 || *type == PVB_NDIS_HASH_TCP_IPV6;
	/* the addresses, and the ports of a TCP hash, in the first segment */
	need = (uint32_t)hl.l2_len + (v6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr));
	if (tcp)
		need = (uint32_t)hl.l2_len + hl.l3_len + 4;
	if (need > m->data_len) {
		*type = 0;
		return 0;
	}
	if (v6) {
		rte_thash_load_v6_addrs(rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *,
								hl.l2_len), &t);
		len = tcp ? RTE_THASH_V6_L4_LEN : RTE_THASH_V6_L3_LEN;
	} else {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
						const struct rte_ipv4_hdr *, hl.l2_len);

		t.v4.src_addr = rte_be_to_cpu_32(ip->src_addr);
		t.v4.dst_addr = rte_be_to_cpu_32(ip->dst_addr);
		len = tcp ? RTE_THASH_V4_L4_LEN : RTE_THASH_V4_L3_LEN;
	}
	if (tcp) {
		const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m,
					const struct rte_tcp_hdr *, hl.l2_len + hl.l3_len);

		if (v6) {
			t.v6.sport = rte_be_to_cpu_16(th->src_port);
			t.v6.dport = rte_be_to_cpu_16(th->dst_port);
		} else {
			t.v4.sport = rte_be_to_cpu_16(th->src_port);
			t.v4.dport = rte_be_to_cpu_16(th->dst_port);
		}
	}
	return rte_softrss((uint32_t *)&t, len, rss->key);
}

void
netvsp_rss_steer(const struct netvsp_rss *rss, uint32_t nchan, struct rte_mbuf **pkts,
		 uint16_t n, uint8_t *chan, struct netvsp_hash *hi)
{
	uint16_t i;
	uint8_t c;

	/* no hash type: every frame on the primary, nothing parsed */
	if (rss->types == 0) {
		memset(chan, 0, n);
		memset(hi, 0, sizeof(*hi) * n);
		return;
	}
	for (i = 0; i < n; i++) {
		hi[i].hash = netvsp_rss_hash(rss, pkts[i], &hi[i].type);
		c = hi[i].type != 0 ? rss->table[hi[i].hash % PVB_NDIS_RSS_TABLE_N] : 0;
		/* checked when set; the channels do not shrink while the bursts run */
		chan[i] = c < nchan ? c : 0;
	}
}
