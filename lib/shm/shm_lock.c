/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Locking a region against its peer (doc/shm.md, "The lock step"), and
 * share mode's half of it, the prefault alone (doc/shm.md, "Share mode").
 *
 * A size-sealed memfd still lets the peer punch a hole in it
 * (fallocate(2) FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): on plain shmem
 * the next fault brings a zeroed page, on hugetlbfs it needs a free huge
 * page and raises SIGBUS when the pool has none. Linux refuses a punch with
 * EPERM once the file is sealed F_SEAL_WRITE or F_SEAL_FUTURE_WRITE
 * (memfd_create(2), fcntl(2) "File Sealing"); F_SEAL_FUTURE_WRITE (Linux 5.1)
 * is the one that leaves the writable mappings already made working. The
 * seal does not bring back a page punched before it, so the lock then
 * faults every page in, turning an empty pool into an error code now
 * instead of a SIGBUS later.
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "shm_pvt.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif

#define LOCK_SEALS		(F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)

/*
 * Add the lock seals, or accept that the peer added them first: F_SEAL_SEAL
 * makes F_ADD_SEALS fail with EPERM, and then the region is locked only if
 * F_SEAL_FUTURE_WRITE came with it.
 */
static int
seal_future_write(int fd)
{
	int seals;

	if (fcntl(fd, F_ADD_SEALS, LOCK_SEALS) == 0)
		return 0;
	if (errno == EINVAL)
		return -EOPNOTSUPP;	/* a seal bit this kernel does not know */
	if (errno != EPERM)
		return -errno;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return -errno;
	return (seals & F_SEAL_FUTURE_WRITE) != 0 ? 0 : -EPERM;
}

/*
 * Before Linux 5.14 there is no MADV_POPULATE_WRITE. Touching each page
 * instead would turn a missing huge page into the very SIGBUS the lock is
 * for, so allocate the file's pages with fallocate(2) mode 0 instead: it
 * fails with ENOSPC/ENOMEM when the pool is empty, is allowed under
 * F_SEAL_FUTURE_WRITE, and does not change the (sealed) size. The mapping
 * then faults on pages that exist: no allocation, no SIGBUS.
 */
int
shm_prefault_fallocate(int fd, size_t len)
{
	int rc;

	if (len == 0 || len > (uint64_t)INT64_MAX)
		return -EINVAL;
	do {
		rc = fallocate(fd, 0, 0, (off_t)len);
	} while (rc != 0 && errno == EINTR);
	if (rc == 0)
		return 0;
	return errno == ENOSPC ? -ENOMEM : -errno;
}

static bool
shm_mapped(const struct pvb_shm *s)
{
	return s != NULL && s->base != NULL && s->fd >= 0 && s->page_size != 0;
}

/*
 * Fault every page of the mapping in for writing, as the fast path will
 * use it. EFAULT is what an empty hugetlb pool looks like here (the fault
 * that would have raised SIGBUS).
 */
int
pvb_shm_prefault(struct pvb_shm *s)
{
	size_t len;
	int rc;

	if (!shm_mapped(s))
		return -EINVAL;
	len = shm_round_up(s->len, s->page_size);
	if (len == 0)
		return -EINVAL;
	do {
		rc = madvise(s->base, len, MADV_POPULATE_WRITE);
	} while (rc != 0 && errno == EINTR);
	if (rc == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	return shm_prefault_fallocate(s->fd, s->len);
}

int
pvb_shm_lock(struct pvb_shm *s)
{
	int rc;

	if (!shm_mapped(s))
		return -EINVAL;
	rc = seal_future_write(s->fd);
	if (rc != 0)
		return rc;
	/* after the seal: a page punched before it comes back, none can go after */
	return pvb_shm_prefault(s);
}
