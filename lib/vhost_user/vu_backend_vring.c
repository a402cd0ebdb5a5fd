/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The vring requests. A vring has two states of its own (vhost-user.rst,
 * "Ring states"): started by SET_VRING_KICK, stopped by GET_VRING_BASE;
 * enabled by SET_VRING_ENABLE 1 (or from the start without
 * PROTOCOL_FEATURES). It is translated exactly while it is started: the
 * kick resolves its three rings, and a kick whose rings do not resolve is
 * refused (the CVE-2020-10725 class: a ring the datapath would reach
 * outside the mapped memory).
 *
 * Ring addresses are the front-end's virtual addresses (vhost-user.rst,
 * "Vring address description"): each ring must lie in one region by uva;
 * it becomes a guest physical address in that region, which lib/virtq
 * resolves through the table by gpa, the one descriptors use.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vu_pvt.h"

void
vu_vring_init(struct pvb_vu_vring *vr, uint16_t max_size)
{
	memset(vr, 0, sizeof(*vr));
	pvb_virtq_dev_init(&vr->q, max_size);
	vr->kick_fd = vr->call_fd = vr->err_fd = -1;
}

static void
replace_fd(int *slot, int fd)
{
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
}

void
vu_vring_stop(struct pvb_vu_vring *vr)
{
	uint16_t size = vr->q.size, next_avail = vr->q.next_avail_idx;
	uint64_t bad_chains = vr->q.bad_chains;

	/* untranslated, fault cleared; the position is what GET_VRING_BASE answers */
	pvb_virtq_dev_reset(&vr->q);
	vr->q.size = size;
	vr->q.next_avail_idx = next_avail;
	vr->q.bad_chains = bad_chains;
	replace_fd(&vr->kick_fd, -1);
	vr->kick_set = false;
	vr->started = false;
}

void
vu_vring_reset(struct pvb_vu_vring *vr, uint16_t max_size)
{
	replace_fd(&vr->kick_fd, -1);
	replace_fd(&vr->call_fd, -1);
	replace_fd(&vr->err_fd, -1);
	vu_vring_init(vr, max_size);
}

/* The guest physical address of one ring given by front-end virtual address @p uva. */
static int
ring_gpa(struct pvb_vu_backend *b, uint32_t index, const char *what,
	 const struct pvb_vu_map *map, uint32_t nmap, uint64_t uva, uint64_t len,
	 uint64_t align, uint64_t *gpa)
{
	uint32_t i;

	if (uva & (align - 1))
		return vu_refuse(b, -EINVAL, "vring %u: %s at %#llx is not %llu-byte aligned",
				 index, what, (unsigned long long)uva, (unsigned long long)align);
	for (i = 0; i < nmap; i++) {
		uint64_t off = uva - map[i].uva;

		if (uva < map[i].uva || off >= map[i].size)
			continue;
		if (len > map[i].size - off)
			return vu_refuse(b, -EFAULT, "vring %u: %s at %#llx (%llu bytes) crosses "
					 "the end of region %u", index, what,
					 (unsigned long long)uva, (unsigned long long)len, i);
		*gpa = map[i].gpa + off;
		return 0;
	}
	return vu_refuse(b, -EFAULT, "vring %u: %s at %#llx is outside every region", index,
			 what, (unsigned long long)uva);
}

int
vu_vring_translate(struct pvb_vu_backend *b, uint32_t index, const struct pvb_vu_map *map,
		   uint32_t nmap, const struct pvb_virtq_mem *mem, struct pvb_virtq_dev *q)
{
	const struct pvb_vu_vring *vr = &b->vr[index];
	uint64_t desc = 0, avail = 0, used = 0;
	uint16_t n = vr->q.size;
	int rc;

	if (!vr->num_set)
		return vu_refuse(b, -EINVAL, "vring %u: no size yet (SET_VRING_NUM)", index);
	if (!vr->addr_set)
		return vu_refuse(b, -EINVAL, "vring %u: no addresses yet (SET_VRING_ADDR)", index);
	if (nmap == 0)
		return vu_refuse(b, -EINVAL, "vring %u: no memory table yet (SET_MEM_TABLE)",
				 index);
	/* VIRTIO 1.2 §2.7: alignments 16, 2, 4; sizes with the event words */
	rc = ring_gpa(b, index, "descriptor table", map, nmap, vr->addr.desc,
		      pvb_virtq_desc_bytes(n), 16, &desc);
	if (rc == 0)
		rc = ring_gpa(b, index, "available ring", map, nmap, vr->addr.avail,
			      pvb_virtq_avail_bytes(n), 2, &avail);
	if (rc == 0)
		rc = ring_gpa(b, index, "used ring", map, nmap, vr->addr.used,
			      pvb_virtq_used_bytes(n), 4, &used);
	if (rc != 0)
		return rc;
	*q = vr->q;
	q->desc_table_addr = desc;
	q->avail_ring_addr = avail;
	q->used_ring_addr = used;
	q->ready = true;
	rc = pvb_virtq_dev_enable(q, mem, b->features);
	if (rc != 0)
		/* lib/virtq also wants the host addresses aligned, and no ring at gpa 0 */
		return vu_refuse(b, -EFAULT, "vring %u: %s", index,
				 rc == -EFAULT ? pvb_virtq_fault_str(q->fault) :
				 "a ring at guest physical address 0");
	return 0;
}

/* Take the translated @p q and the used index the driver sees in memory. */
static void
vring_go(struct pvb_vu_backend *b, struct pvb_vu_vring *vr, const struct pvb_virtq_dev *q)
{
	uint16_t flags, used_idx;

	vr->q = *q;
	vr->q.mem = &b->mem;
	/*
	 * vhost-user.rst, GET_VRING_BASE: only the avail position travels; the
	 * used index is whatever the used ring holds when the ring (re)starts.
	 */
	pvb_virtq_dev_used_header(&vr->q, &flags, &used_idx);
	vr->q.next_used_idx = used_idx;
	vr->started = true;
}

int
vu_set_vring_num(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		 struct pvb_vu_msg *reply)
{
	uint32_t index = m->p.state.index, num = m->p.state.num;
	struct pvb_vu_vring *vr = &b->vr[index];

	(void)fds;
	(void)reply;
	if (vr->started)
		return vu_refuse(b, -EBUSY, "vring %u is started (GET_VRING_BASE stops it)", index);
	if (!pvb_virtq_size_ok(num) || num > b->cfg.max_queue_size)
		return vu_refuse(b, -EINVAL, "vring %u: size %u, want a power of two in 1..%u",
				 index, num, b->cfg.max_queue_size);
	pvb_virtq_dev_set_size(&vr->q, (uint16_t)num);
	vr->num_set = true;
	return 0;
}

int
vu_set_vring_base(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		  struct pvb_vu_msg *reply)
{
	uint32_t index = m->p.state.index, num = m->p.state.num;
	struct pvb_vu_vring *vr = &b->vr[index];

	(void)fds;
	(void)reply;
	if (vr->started)
		return vu_refuse(b, -EBUSY, "vring %u is started (GET_VRING_BASE stops it)", index);
	/* split rings: the next avail index, 16 bits; packed rings would use bit 15 and up */
	if (num > UINT16_MAX)
		return vu_refuse(b, -EINVAL, "vring %u: base %#x does not fit a split ring's index",
				 index, num);
	vr->q.next_avail_idx = (uint16_t)num;
	return 0;
}

int
vu_get_vring_base(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		  struct pvb_vu_msg *reply)
{
	uint32_t index = m->p.state.index;
	struct pvb_vu_vring *vr = &b->vr[index];

	(void)fds;
	vu_vring_stop(vr);
	memset(reply, 0, sizeof(*reply));
	reply->hdr.request = m->hdr.request;
	reply->hdr.flags = VU_REPLY_FLAGS;
	reply->hdr.size = sizeof(reply->p.state);
	reply->p.state.index = index;
	reply->p.state.num = vr->q.next_avail_idx;
	return 1;
}

int
vu_set_vring_addr(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		  struct pvb_vu_msg *reply)
{
	uint32_t index = m->p.addr.index;
	struct pvb_vu_vring *vr = &b->vr[index];
	struct pvb_vu_vring_addr old = vr->addr;
	struct pvb_virtq_dev q;
	int rc;

	(void)fds;
	(void)reply;
	if (m->p.addr.flags & PVB_VU_VRING_F_LOG)
		return vu_refuse(b, -EINVAL, "vring %u: used-ring logging asked, never offered",
				 index);
	if (m->p.addr.flags != 0)
		return vu_refuse(b, -EINVAL, "vring %u: unknown flags %#x", index,
				 m->p.addr.flags);
	if (!vr->started) {
		vr->addr = m->p.addr;
		vr->addr_set = true;
		return 0;
	}
	/* a started ring moves now, or not at all */
	vr->addr = m->p.addr;
	rc = vu_vring_translate(b, index, b->map, b->nregions, &b->mem, &q);
	if (rc != 0) {
		vr->addr = old;
		return rc;
	}
	vring_go(b, vr, &q);
	return 0;
}

static int
set_vring_kick(struct pvb_vu_backend *b, uint32_t index, int fd)
{
	struct pvb_vu_vring *vr = &b->vr[index];
	struct pvb_virtq_dev q;
	int rc;

	rc = vu_vring_translate(b, index, b->map, b->nregions, &b->mem, &q);
	if (rc != 0)
		return rc;
	replace_fd(&vr->kick_fd, fd);
	vr->kick_set = true;
	vring_go(b, vr, &q);
	return 0;
}

int
vu_set_vring_fd(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		struct pvb_vu_msg *reply)
{
	uint32_t index = (uint32_t)(m->p.u64 & PVB_VU_VRING_IDX_MASK);
	int fd = (m->p.u64 & PVB_VU_VRING_NOFD) ? -1 : fds[0];
	struct pvb_vu_vring *vr = &b->vr[index];
	int rc = 0;

	(void)reply;
	switch (m->hdr.request) {
	case PVB_VU_SET_VRING_KICK:
		/* no fd: the front-end never kicks, the ring is polled */
		rc = set_vring_kick(b, index, fd);
		break;
	case PVB_VU_SET_VRING_CALL:
		/* no fd: the driver polls; never write to fd -1 */
		replace_fd(&vr->call_fd, fd);
		vr->call_set = true;
		break;
	default:
		replace_fd(&vr->err_fd, fd);
		break;
	}
	if (rc == 0 && fd >= 0)
		fds[0] = -1;	/* kept */
	return rc;
}

int
vu_set_vring_enable(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		    struct pvb_vu_msg *reply)
{
	uint32_t index = m->p.state.index, num = m->p.state.num;

	(void)fds;
	(void)reply;
	if (num > 1)
		return vu_refuse(b, -EINVAL, "vring %u: enable %u, want 0 or 1", index, num);
	b->vr[index].enabled = num == 1;
	return 0;
}
