/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _RTE_PMD_PVB_VIRTIO_H_
#define _RTE_PMD_PVB_VIRTIO_H_

/**
 * @file
 * net_pvb_virtio's own API: memory that is not DPDK's, shared with the
 * vhost-user back-end.
 *
 * The port shares DPDK's memory with its back-end by itself. Memory mapped
 * some other way (another process's region, a netvsc guest's receive or
 * send buffer) can be added too, so that mbufs with external buffers there
 * (rte_pktmbuf_attach_extbuf()) go out as descriptors pointing straight
 * into it, and the back-end reads and writes it in place. A frame in
 * external memory that was not added is dropped and counted
 * (tx_qN_unshared_memory).
 *
 * Receive buffers may be external too: an rx queue whose pool hands out
 * mbufs with external buffers (rte_pmd_pvb_netvsp_slot_pool()) has them
 * posted only once they lie in an added region; until then they go back to
 * the pool and are counted (rx_qN_unshared_memory).
 *
 * The memory table holds 8 regions: DPDK's memory takes at least one, the
 * added regions at most 7. Adding or removing a region while a session is
 * up sends the table again (SET_MEM_TABLE); the back-end remaps and goes
 * on. Link with the PMD's shared object (librte_net_pvb_virtio.so) to call
 * these.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Share [@p va, @p va + @p len), mapped in this process from @p fd at
 * @p offset (MAP_SHARED), with the back-end of port @p port_id. The fd is
 * duplicated: the caller may close its own.
 *
 * @return 0; -ENODEV: not a net_pvb_virtio port; -EINVAL: a bad range, an
 * fd too short for it, or an overlap with a region added before; -ENOSPC:
 * the table is full; -EIO: the back-end refused the new table (the
 * region is not added, and the session starts again).
 */
int rte_pmd_pvb_virtio_mem_add(uint16_t port_id, void *va, size_t len, int fd, uint64_t offset);

/**
 * Stop sharing the region added at @p va. The application must not have
 * frames in flight in it (sent and not yet freed by the port). Receive
 * buffers the port posted there (an rx queue whose pool lends that
 * memory, such as net_pvb_netvsp's slot pool) cannot stay with a back-end
 * that no longer maps it: then the session ends before the call returns
 * (its mbufs are freed) and the next one is set up without the region.
 *
 * @return 0; -ENODEV: not a net_pvb_virtio port; -ENOENT: no region added there.
 */
int rte_pmd_pvb_virtio_mem_del(uint16_t port_id, void *va);

#ifdef __cplusplus
}
#endif

#endif /* _RTE_PMD_PVB_VIRTIO_H_ */
