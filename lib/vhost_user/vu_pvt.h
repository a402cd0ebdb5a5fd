/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _VU_PVT_H_
#define _VU_PVT_H_

/*
 * lib/vhost_user internals, shared by its files: include pvb_vhost_user.h
 * instead.
 */

#include <stdbool.h>
#include <stdint.h>

#include "pvb_vhost_user.h"

#define VU_REPLY_FLAGS	(PVB_VU_VERSION | PVB_VU_FLAG_REPLY)	/* 0x5, exactly */
#define VU_BIT(n)	(1ull << (n))

_Static_assert(PVB_VU_MAX_REGIONS <= PVB_VIRTQ_MAX_REGIONS, "a memory table fits lib/virtq's");
_Static_assert(PVB_VU_MAX_VRINGS <= PVB_VU_VRING_IDX_MASK + 1,
	       "a vring fd message names any vring");

/* Put the reason in b->error; returns @p err. */
int vu_refuse(struct pvb_vu_backend *b, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Close the fds of @p fds that are not -1, and mark them -1. */
void vu_close_fds(int *fds, uint32_t n);

/* Fill @p reply as the answer to @p m carrying @p v. */
void vu_reply_u64(const struct pvb_vu_msg *m, struct pvb_vu_msg *reply, uint64_t v);

/* ---- request handlers: 0, 1 (reply filled), or vu_refuse() ------------------ */

typedef int (*vu_handler)(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
			  struct pvb_vu_msg *reply);

/* vu_backend_vring.c */
int vu_set_vring_num(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		     struct pvb_vu_msg *reply);
int vu_set_vring_addr(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		      struct pvb_vu_msg *reply);
int vu_set_vring_base(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		      struct pvb_vu_msg *reply);
int vu_get_vring_base(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		      struct pvb_vu_msg *reply);
int vu_set_vring_fd(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		    struct pvb_vu_msg *reply);
int vu_set_vring_enable(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
			struct pvb_vu_msg *reply);

/* vu_backend_mem.c */
int vu_set_mem_table(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		     struct pvb_vu_msg *reply);
void vu_mem_unmap(struct pvb_vu_map *map, uint32_t n);

/* ---- vrings ----------------------------------------------------------------- */

/* A fresh vring: no fds, nothing set, queue size bound @p max_size. */
void vu_vring_init(struct pvb_vu_vring *vr, uint16_t max_size);

/* Stop: not started, untranslated, kick fd closed; size, base and counters stay. */
void vu_vring_stop(struct pvb_vu_vring *vr);

/* Close every fd of @p vr and make it fresh. */
void vu_vring_reset(struct pvb_vu_vring *vr, uint16_t max_size);

/*
 * Translate @p vr's ring addresses (front-end virtual addresses) through
 * @p map into guest physical ones and resolve them in @p mem, leaving the
 * result in @p q (a copy of vr->q: nothing of @p vr changes). 0, or
 * -EINVAL / -EFAULT with the reason in b->error.
 */
int vu_vring_translate(struct pvb_vu_backend *b, uint32_t index, const struct pvb_vu_map *map,
		       uint32_t nmap, const struct pvb_virtq_mem *mem, struct pvb_virtq_dev *q);

/* Is vring @p vr kicked and translated (the datapath may reach its memory)? */
static inline bool
vu_vring_live(const struct pvb_vu_vring *vr)
{
	return vr->started && vr->q.avail != NULL;
}

/* Every vring enabled from the start: features set without PROTOCOL_FEATURES. */
static inline bool
vu_enabled_by_default(const struct pvb_vu_backend *b)
{
	return b->features_set && !(b->features & VU_BIT(PVB_VHOST_USER_F_PROTOCOL_FEATURES));
}

static inline uint32_t
vu_nvrings(const struct pvb_vu_backend *b)
{
	return 2u * b->cfg.queue_pairs;
}

#endif /* _VU_PVT_H_ */
