/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/* Queue layout in one allocation, and the guest memory table. */

#include <errno.h>
#include <string.h>

#include "virtq_pvt.h"

static int
align_up(size_t v, size_t a, size_t *out)
{
	if (v > SIZE_MAX - (a - 1))
		return -EINVAL;
	*out = (v + a - 1) & ~(a - 1);
	return 0;
}

/*
 *   0                16N              used (aligned A)      req (16)    end (A)
 *   | descriptors    | avail 6+2N | pad | used 6+8N | pad | req_size*N | pad |
 */
int
pvb_virtq_layout(size_t num_queues, uint32_t size, uint64_t features, size_t req_size,
		 struct pvb_virtq_layout *l)
{
	size_t a = (features & (1ull << PVB_VIRTIO_F_VERSION_1)) ? PVB_VIRTQ_ALIGN_1X :
		   PVB_VIRTQ_ALIGN_LEGACY;
	size_t used, req, end;

	if (l == NULL || num_queues == 0 || !pvb_virtq_size_ok(size) ||
	    req_size > SIZE_MAX / PVB_VIRTQ_MAX_SIZE)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->num_queues = num_queues;
	l->driver_area_offset = pvb_virtq_desc_bytes(size);
	if (align_up(l->driver_area_offset + pvb_virtq_avail_bytes(size), a, &used) != 0 ||
	    align_up(used + pvb_virtq_used_bytes(size), 16, &req) != 0 ||
	    req_size * size > SIZE_MAX - req ||
	    /* the next queue's descriptor table needs 16, a legacy one a page */
	    align_up(req + req_size * size, a > 16 ? a : 16, &end) != 0 ||
	    end > SIZE_MAX / num_queues)
		return -EINVAL;
	l->device_area_offset = used;
	l->req_offset = req;
	l->end_offset = end;
	return 0;
}

int
pvb_virtq_mem_init(struct pvb_virtq_mem *m, const struct pvb_virtq_region *r, uint32_t n)
{
	uint32_t i, j;

	if (m == NULL || (r == NULL && n != 0) || n > PVB_VIRTQ_MAX_REGIONS)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	for (i = 0; i < n; i++) {
		if (r[i].size == 0 || r[i].host == NULL || r[i].gpa + r[i].size < r[i].gpa) {
			memset(m, 0, sizeof(*m));
			return -EINVAL;
		}
		/* insertion sort by gpa, refusing overlaps */
		for (j = m->nb_regions; j > 0 && m->r[j - 1].gpa > r[i].gpa; j--)
			m->r[j] = m->r[j - 1];
		m->r[j] = r[i];
		m->nb_regions++;
	}
	for (i = 1; i < m->nb_regions; i++)
		if (m->r[i - 1].gpa + m->r[i - 1].size > m->r[i].gpa) {
			memset(m, 0, sizeof(*m));
			return -EINVAL;
		}
	return 0;
}

/* The region holding @p gpa, or NULL. */
static const struct pvb_virtq_region *
find(const struct pvb_virtq_mem *m, uint64_t gpa)
{
	uint32_t i;

	for (i = 0; i < m->nb_regions; i++)
		if (virtq_region_holds(&m->r[i], gpa, 0))
			return &m->r[i];
	return NULL;
}

int
pvb_virtq_mem_translate(const struct pvb_virtq_mem *m, uint64_t gpa, uint64_t len,
			struct pvb_virtq_seg *seg, uint32_t max)
{
	const struct pvb_virtq_region *r;
	uint64_t off, n;
	uint32_t k = 0;

	if (m == NULL || (seg == NULL && max != 0))
		return -EINVAL;
	if (gpa + len < gpa)
		return -EFAULT;
	while (len != 0) {
		r = find(m, gpa);
		if (r == NULL)
			return -EFAULT;
		if (k == max)
			return -ENOBUFS;
		off = gpa - r->gpa;
		n = r->size - off < len ? r->size - off : len;
		/* a segment is at most 4 GiB - 1: the caller's lengths are 32-bit */
		if (n > UINT32_MAX)
			n = UINT32_MAX;
		seg[k].host = (uint8_t *)r->host + off;
		seg[k].len = (uint32_t)n;
		seg[k].write = false;
		k++;
		gpa += n;
		len -= n;
	}
	return (int)k;
}

void *
pvb_virtq_mem_ptr(const struct pvb_virtq_mem *m, uint64_t gpa, uint64_t len)
{
	const struct pvb_virtq_region *r;

	if (m == NULL || gpa + len < gpa)
		return NULL;
	r = find(m, gpa);
	if (r == NULL || !virtq_region_holds(r, gpa, len))
		return NULL;
	return (uint8_t *)r->host + (gpa - r->gpa);
}
