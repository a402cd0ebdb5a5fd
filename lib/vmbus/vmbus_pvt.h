/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VMBUS_PVT_H_
#define _PVB_VMBUS_PVT_H_

/*
 * lib/vmbus internals shared by its files (vmbus_mem.c, vmbus_out.c,
 * vmbus_in.c): the checks of what the peer wrote. Include pvb_vmbus.h
 * instead.
 */

#ifndef _PVB_VMBUS_H_
#error "include pvb_vmbus.h instead"
#endif

/* Packet types this ring layer carries (the ones netvsc uses). */
static inline bool
vmbus_type_known(uint16_t t)
{
	return t == PVB_VMBUS_PKT_DATA_INBAND || t == PVB_VMBUS_PKT_DATA_XFER_PAGES ||
	       t == PVB_VMBUS_PKT_DATA_GPA_DIRECT || t == PVB_VMBUS_PKT_COMP;
}

/* An index a peer wrote: a multiple of 8 inside the data area. */
static inline bool
vmbus_index_ok(uint32_t v, uint32_t dsize)
{
	return (v & 7) == 0 && v < dsize;
}

#endif /* _PVB_VMBUS_PVT_H_ */
