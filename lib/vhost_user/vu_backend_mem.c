/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * SET_MEM_TABLE: the front-end's memory, one fd per region
 * (vhost-user.rst, "Memory regions description"). Every region is checked
 * before anything is mapped: no empty region, no address + size that
 * overflows 64 bits (the CVE-2020-10722 class), no two regions that share
 * a guest physical or a front-end virtual byte, an fd whose file holds
 * offset + size bytes (else an access past its end would raise SIGBUS).
 *
 * A new table replaces the old one whole or not at all: it is mapped
 * aside, every started vring is translated through it, and only then is the
 * old table unmapped. A table that leaves a started vring outside every
 * region is refused with the old table kept (the connection then closes).
 */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vu_pvt.h"

void
vu_mem_unmap(struct pvb_vu_map *map, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (map[i].base != NULL)
			munmap(map[i].base, map[i].len);
		memset(&map[i], 0, sizeof(map[i]));
	}
}

/* [a, a + as) and [c, c + cs) share a byte (neither end overflows: checked before). */
static bool
overlap(uint64_t a, uint64_t as, uint64_t c, uint64_t cs)
{
	return a < c + cs && c < a + as;
}

static int
check_regions(struct pvb_vu_backend *b, const struct pvb_vu_region *r, uint32_t n)
{
	uint32_t i, j;

	for (i = 0; i < n; i++) {
		if (r[i].size == 0)
			return vu_refuse(b, -EINVAL, "region %u: size 0", i);
		if (r[i].size > UINT64_MAX - r[i].gpa)
			return vu_refuse(b, -EINVAL, "region %u: guest address %#llx + size %#llx "
					 "overflows", i, (unsigned long long)r[i].gpa,
					 (unsigned long long)r[i].size);
		if (r[i].size > UINT64_MAX - r[i].uva)
			return vu_refuse(b, -EINVAL, "region %u: user address %#llx + size %#llx "
					 "overflows", i, (unsigned long long)r[i].uva,
					 (unsigned long long)r[i].size);
		if (r[i].size > UINT64_MAX - r[i].mmap_offset)
			return vu_refuse(b, -EINVAL, "region %u: mmap offset %#llx + size %#llx "
					 "overflows", i, (unsigned long long)r[i].mmap_offset,
					 (unsigned long long)r[i].size);
		for (j = 0; j < i; j++) {
			if (overlap(r[i].gpa, r[i].size, r[j].gpa, r[j].size))
				return vu_refuse(b, -EINVAL, "region %u overlaps region %u in "
						 "guest addresses", i, j);
			if (overlap(r[i].uva, r[i].size, r[j].uva, r[j].size))
				return vu_refuse(b, -EINVAL, "region %u overlaps region %u in "
						 "user addresses", i, j);
		}
	}
	return 0;
}

/*
 * Map region @p i from offset 0 of its fd (a hugetlbfs mapping must start
 * at a huge-page boundary; mmap_offset need not be one), the length
 * rounded up to the file's block size (the huge page size on hugetlbfs,
 * whose munmap wants whole pages). offset + size <= st_size, so the
 * rounded length stays within the file's last block.
 */
static int
map_region(struct pvb_vu_backend *b, uint32_t i, const struct pvb_vu_region *r, int fd,
	   struct pvb_vu_map *out)
{
	uint64_t end = r->mmap_offset + r->size, blk, len;
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	void *base;

	if (fstat(fd, &st) != 0)
		return vu_refuse(b, -errno, "region %u: fstat of its fd failed", i);
	if (!S_ISREG(st.st_mode))
		return vu_refuse(b, -EINVAL, "region %u: its fd is not a file (memfd, hugetlbfs "
				 "or tmpfs)", i);
	if (st.st_size < 0 || end > (uint64_t)st.st_size)
		return vu_refuse(b, -EINVAL, "region %u: mmap offset %#llx + size %#llx is beyond "
				 "the %lld bytes of its fd", i, (unsigned long long)r->mmap_offset,
				 (unsigned long long)r->size, (long long)st.st_size);
	blk = (uint64_t)(page > 0 ? page : 4096);
	if (st.st_blksize > 0 && (uint64_t)st.st_blksize > blk &&
	    ((uint64_t)st.st_blksize & ((uint64_t)st.st_blksize - 1)) == 0)
		blk = (uint64_t)st.st_blksize;
	len = (end + blk - 1) & ~(blk - 1);	/* end <= st_size < 2^63: no overflow */
	if (len > SIZE_MAX)
		return vu_refuse(b, -ENOMEM, "region %u: %#llx bytes do not fit this address "
				 "space", i, (unsigned long long)len);
	base = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return vu_refuse(b, -errno, "region %u: mmap of %#llx bytes failed", i,
				 (unsigned long long)len);
	out->gpa = r->gpa;
	out->uva = r->uva;
	out->size = r->size;
	out->base = base;
	out->len = (size_t)len;
	out->host = (uint8_t *)base + r->mmap_offset;
	return 0;
}

/* Every started vring through the new table (a trial: nothing changes). */
static int
check_vrings(struct pvb_vu_backend *b, const struct pvb_vu_map *map, uint32_t n,
	     const struct pvb_virtq_mem *mem)
{
	char why[sizeof(b->error)];
	struct pvb_virtq_dev q;
	uint32_t i;
	int rc;

	for (i = 0; i < vu_nvrings(b); i++) {
		if (!vu_vring_live(&b->vr[i]))
			continue;
		rc = vu_vring_translate(b, i, map, n, mem, &q);
		if (rc != 0) {
			memcpy(why, b->error, sizeof(why));
			return vu_refuse(b, rc, "the new table leaves a started vring out: %s",
					 why);
		}
	}
	return 0;
}

int
vu_set_mem_table(struct pvb_vu_backend *b, const struct pvb_vu_msg *m, int *fds,
		 struct pvb_vu_msg *reply)
{
	const struct pvb_vu_memory *mt = &m->p.mem;
	struct pvb_virtq_region reg[PVB_VU_MAX_REGIONS];
	struct pvb_vu_map map[PVB_VU_MAX_REGIONS];
	uint32_t n = mt->nregions, i;
	struct pvb_virtq_mem mem;
	struct pvb_virtq_dev q;
	int rc;

	(void)reply;
	rc = check_regions(b, mt->r, n);
	if (rc != 0)
		return rc;
	memset(map, 0, sizeof(map));
	for (i = 0; i < n && rc == 0; i++)
		rc = map_region(b, i, &mt->r[i], fds[i], &map[i]);
	vu_close_fds(fds, n);	/* a mapping holds the file; the fds are done with */
	if (rc != 0)
		goto unmap;
	for (i = 0; i < n; i++)
		reg[i] = (struct pvb_virtq_region){ .gpa = map[i].gpa, .size = map[i].size,
						    .host = map[i].host };
	rc = pvb_virtq_mem_init(&mem, reg, n);
	if (rc != 0) {
		rc = vu_refuse(b, rc, "lib/virtq refused the table");
		goto unmap;
	}
	rc = check_vrings(b, map, n, &mem);
	if (rc != 0)
		goto unmap;
	/* commit: the new table, then every started vring's rings through it */
	vu_mem_unmap(b->map, b->nregions);
	memcpy(b->map, map, sizeof(map));
	b->nregions = n;
	b->mem = mem;
	for (i = 0; i < vu_nvrings(b); i++) {
		struct pvb_vu_vring *vr = &b->vr[i];

		if (!vu_vring_live(vr))
			continue;
		/* cannot fail: the trial above passed with the same mappings */
		if (vu_vring_translate(b, i, b->map, b->nregions, &b->mem, &q) == 0)
			vr->q = q;	/* the cursors go on where they were */
		else
			vu_vring_stop(vr);
	}
	return 0;
unmap:
	vu_mem_unmap(map, n);
	return rc;
}
