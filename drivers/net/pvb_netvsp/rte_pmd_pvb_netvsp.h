/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _RTE_PMD_PVB_NETVSP_H_
#define _RTE_PMD_PVB_NETVSP_H_

/**
 * @file
 * net_pvb_netvsp's own API: the guest's memory, lent to other ports so that
 * frames cross a bridge without the bridge copying them (doc/bridge.md).
 *
 * - The slot pool: a mempool whose mbufs are the guest's free receive-buffer
 *   slots. Give it to another port's rx queue: that port's device (a
 *   vhost-user back-end writing into net_pvb_virtio's descriptors, or
 *   net_pvb_vhost copying from its driver's buffers) then writes each frame
 *   straight into the guest's receive buffer, and this port's tx burst sends
 *   such an mbuf to the guest as a transfer-page range, in place. An mbuf of
 *   the pool sent anywhere else, or freed, gives its slot back.
 * - The region: the memory the guest shares (rings, receive and send
 *   buffers), to put into a vhost-user memory table
 *   (rte_pmd_pvb_virtio_mem_add()) so that a back-end reads the guest's send
 *   sections and writes its receive slots itself. The back-end maps it
 *   writable, which a locked region forbids: the port must be probed with
 *   `share=1`, which asks the guest for an unlocked region on plain pages
 *   (doc/shm.md).
 *
 * Link with the PMD's shared object (librte_net_pvb_netvsp.so), or look the
 * symbols up in it (dlopen(RTLD_NOLOAD) of the object EAL loaded with -d).
 */

#include <stddef.h>
#include <stdint.h>

#include <rte_mempool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the mempool driver behind rte_pmd_pvb_netvsp_slot_pool(). */
#define RTE_PMD_PVB_NETVSP_SLOT_OPS "pvb_netvsp_slots"

/**
 * The port's slot pool, created at the first call with @p n mbuf headers
 * (the most slots lent at once: rx descriptors that will hold them plus the
 * frames in flight) on @p socket_id; later calls return the same pool and
 * ignore @p n. Its data room is the receive slot size, with
 * RTE_PKTMBUF_HEADROOM in front of the frame where this port writes the
 * RNDIS header. Allocation fails, as from an empty pool, while no guest is
 * connected or its free slots are down to the few kept for control replies.
 * The port frees the pool when it is closed: every mbuf of it must be back
 * by then.
 *
 * @return the pool, or NULL with rte_errno set (ENODEV: not a
 * net_pvb_netvsp port; ENOMEM).
 */
struct rte_mempool *rte_pmd_pvb_netvsp_slot_pool(uint16_t port_id, unsigned int n,
						 int socket_id);

/** The guest's region as rte_pmd_pvb_netvsp_region() describes it. */
struct rte_pmd_pvb_netvsp_region {
	void *va;		/**< where this process maps it */
	size_t len;		/**< its length */
	int fd;			/**< a duplicate of its memfd: the caller closes it */
	uint64_t gen;		/**< changes with every guest channel, never 0 */
	int shareable;		/**< 1: unlocked, others may map it writable (share=1) */
};

/**
 * The region of the guest connected now.
 *
 * @return 0; -ENODEV: not a net_pvb_netvsp port; -ENOTCONN: no guest channel
 * is up; -errno from dup().
 */
int rte_pmd_pvb_netvsp_region(uint16_t port_id, struct rte_pmd_pvb_netvsp_region *r);

#ifdef __cplusplus
}
#endif

#endif /* _RTE_PMD_PVB_NETVSP_H_ */
