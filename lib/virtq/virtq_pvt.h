/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_VIRTQ_PVT_H_
#define _PVB_VIRTQ_PVT_H_

/*
 * Internals of lib/virtq shared by its files; include pvb_virtq.h instead.
 */

#include <stdbool.h>
#include <stdint.h>

#include "pvb_virtq.h"

#ifndef likely
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#endif

/*
 * True if [@p gpa, @p gpa + @p len) lies in @p r (len 0: gpa does). The
 * one range check of the memory table: overflow-safe, since an address
 * below the region wraps to an offset of at least its size.
 */
static inline bool
virtq_region_holds(const struct pvb_virtq_region *r, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - r->gpa;

	return off < r->size && len <= r->size - off;
}

#endif /* _PVB_VIRTQ_PVT_H_ */
