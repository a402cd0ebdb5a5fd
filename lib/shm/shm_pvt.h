/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_SHM_PVT_H_
#define _PVB_SHM_PVT_H_

/*
 * What the files of lib/shm share. Internal: include pvb_shm.h instead.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "pvb_shm.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC		0x958458f6
#endif

/* The seals without which a peer could truncate the region under us (SIGBUS). */
#define SHM_SIZE_SEALS		(F_SEAL_SHRINK | F_SEAL_GROW)
/* The seals that make a region refuse new writable shared mappings. */
#define SHM_WRITE_SEALS		(F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)

static inline size_t
shm_base_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * The page size mappings of @p fd use: the huge page size for a hugetlbfs
 * file (statfs reports it as the block size), the base page size otherwise.
 */
static inline int
shm_fd_page_size(int fd, size_t *ps, bool *huge)
{
	struct statfs sfs;

	*ps = 0;
	*huge = false;
	if (fstatfs(fd, &sfs) != 0)
		return -errno;
	*huge = sfs.f_type == HUGETLBFS_MAGIC;
	*ps = *huge ? (size_t)sfs.f_bsize : shm_base_page_size();
	if (*ps == 0 || (*ps & (*ps - 1)) != 0)
		return -EINVAL;
	return 0;
}

/* @p len rounded up to the power of two @p ps, or 0 if that overflows. */
static inline size_t
shm_round_up(size_t len, size_t ps)
{
	if (len > SIZE_MAX - (ps - 1))
		return 0;
	return (len + ps - 1) & ~(ps - 1);
}

static inline void
shm_reset(struct pvb_shm *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/*
 * pvb_shm_prefault()'s way of making every page of the first @p len bytes of
 * @p fd present on a kernel without MADV_POPULATE_WRITE (shm_lock.c).
 * Exposed for the unit test, which cannot pick the kernel.
 */
int shm_prefault_fallocate(int fd, size_t len);

#endif /* _PVB_SHM_PVT_H_ */
