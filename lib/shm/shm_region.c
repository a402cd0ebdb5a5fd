/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Creating a region: a memfd on huge pages or plain ones, sealed against
 * resizing, mapped, and bound to a NUMA node (doc/shm.md). The seals that
 * stop a hole punch come later, from pvb_shm_lock(), once the peer has
 * mapped the region too.
 */

#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm_pvt.h"

/*
 * One attempt at a sealed, mapped memfd: huge pages or plain ones. On
 * failure nothing is left open or mapped.
 */
static int
create_one(struct pvb_shm *s, const char *name, size_t len, bool huge)
{
	unsigned int mfd = MFD_CLOEXEC | MFD_ALLOW_SEALING | (huge ? MFD_HUGETLB : 0);
	/*
	 * A shared hugetlb mapping reserves its pages at mmap() time, so an
	 * empty pool fails here (ENOMEM) rather than by SIGBUS on first touch;
	 * MAP_POPULATE then faults them in while we can still fall back.
	 */
	int mflags = MAP_SHARED | (huge ? MAP_POPULATE : 0);
	size_t ps, size;
	bool is_huge;
	void *p;
	int fd, rc;

	fd = memfd_create(name, mfd);
	if (fd < 0)
		return -errno;
	rc = shm_fd_page_size(fd, &ps, &is_huge);
	if (rc != 0)
		goto out_close;
	size = shm_round_up(len, ps);
	if (is_huge != huge || size == 0 || size > (uint64_t)INT64_MAX) {
		rc = is_huge != huge ? -EINVAL : -ENOMEM;
		goto out_close;
	}
	if (ftruncate(fd, (off_t)size) != 0 ||
	    fcntl(fd, F_ADD_SEALS, SHM_SIZE_SEALS) != 0) {
		rc = -errno;
		goto out_close;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, mflags, fd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		goto out_close;
	}
	s->fd = fd;
	s->base = p;
	s->len = size;
	s->page_size = ps;
	s->huge = huge;
	return 0;

out_close:
	close(fd);
	return rc;
}

int
pvb_shm_create(struct pvb_shm *s, const char *name, size_t len, unsigned int flags,
	       int numa_node)
{
	const unsigned int known = PVB_SHM_F_NO_HUGE | PVB_SHM_F_HUGE_ONLY;
	int rc = -ENOENT;

	if (s == NULL)
		return -EINVAL;
	shm_reset(s);
	if (len == 0 || (flags & ~known) != 0 || (flags & known) == known || numa_node < -1)
		return -EINVAL;
	if (name == NULL)
		name = "pvb_shm";
	if (!(flags & PVB_SHM_F_NO_HUGE))
		rc = create_one(s, name, len, true);
	/*
	 * Any failure of the huge attempt (no hugetlbfs, an empty or too small
	 * pool, a per-user limit) falls back; a failure the plain path shares,
	 * such as EMFILE, is reported by the plain attempt itself.
	 */
	if (rc != 0 && !(flags & PVB_SHM_F_HUGE_ONLY))
		rc = create_one(s, name, len, false);
	if (rc != 0)
		return rc;
	if (numa_node >= 0) {
		rc = pvb_shm_bind_node(s->base, s->len, numa_node);
		if (rc != 0)
			pvb_shm_close(s);
	}
	return rc;
}

/* ---- NUMA ----------------------------------------------------------------- */

int
pvb_shm_bind_node(void *addr, size_t len, int node)
{
	struct bitmask *mask;
	int max, rc = 0;

	if (addr == NULL || len == 0 || node < 0)
		return -EINVAL;
	/* without NUMA support the machine is one node: node 0 */
	if (numa_available() < 0)
		return node == 0 ? 0 : -EINVAL;
	max = numa_max_node();
	if (node > max)
		return -EINVAL;
	if (max == 0)
		return 0;
	mask = numa_allocate_nodemask();
	if (mask == NULL)
		return -ENOMEM;
	numa_bitmask_setbit(mask, (unsigned int)node);
	/*
	 * On a shared mapping the policy goes to the file, so the peer's faults
	 * follow it too. MOVE migrates pages already there (hugetlb regions are
	 * populated at creation); pages it cannot move stay where they are.
	 * maxnode is one more than the mask's bits, as the kernel counts it.
	 */
	if (mbind(addr, len, MPOL_BIND, mask->maskp, mask->size + 1, MPOL_MF_MOVE) != 0)
		rc = -errno;
	numa_free_nodemask(mask);
	return rc;
}
