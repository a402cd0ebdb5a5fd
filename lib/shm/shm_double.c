/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * A ring's data area mapped twice back to back, so that a record that wraps
 * around the end reads and writes as one contiguous span (doc/shm.md).
 */

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "shm_pvt.h"

/*
 *   a:  [ fd[off, off+len) | fd[off, off+len) again ]
 *
 * Reserve the whole span first so the two fixed mappings land back to back;
 * for hugetlb the span must start on a huge page boundary, so reserve one
 * page more and trim.
 */
static uint8_t *
reserve_aligned(size_t span, size_t ps)
{
	size_t extra = ps > shm_base_page_size() ? ps : 0, head;
	uint8_t *r, *a;

	r = mmap(NULL, span + extra, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (r == MAP_FAILED)
		return NULL;
	if (extra == 0)
		return r;
	a = (uint8_t *)(((uintptr_t)r + ps - 1) & ~((uintptr_t)ps - 1));
	head = (size_t)(a - r);
	if (head != 0)
		munmap(r, head);
	if (extra - head != 0)
		munmap(a + span, extra - head);
	return a;
}

static int
map_double_check(int fd, off_t off, size_t len, size_t *ps)
{
	struct stat st;
	bool huge;
	int rc;

	if (fd < 0)
		return EBADF;
	rc = shm_fd_page_size(fd, ps, &huge);
	if (rc != 0)
		return -rc;
	if (len == 0 || off < 0 || len > SIZE_MAX / 2 - *ps || len % *ps != 0 ||
	    (uint64_t)off % *ps != 0)
		return EINVAL;
	if (fstat(fd, &st) != 0)
		return errno;
	/* a mapping past the end of the file would fault with SIGBUS when touched */
	if ((uint64_t)off > (uint64_t)INT64_MAX - len ||
	    (uint64_t)st.st_size < (uint64_t)off + len)
		return EMSGSIZE;
	return 0;
}

void *
pvb_shm_map_double(int fd, off_t off, size_t len)
{
	const int prot = PROT_READ | PROT_WRITE, fl = MAP_SHARED | MAP_FIXED;
	uint8_t *a;
	size_t ps;
	int err;

	err = map_double_check(fd, off, len, &ps);
	if (err != 0) {
		errno = err;
		return NULL;
	}
	a = reserve_aligned(2 * len, ps);
	if (a == NULL)
		return NULL;
	if (mmap(a, len, prot, fl, fd, off) == MAP_FAILED ||
	    mmap(a + len, len, prot, fl, fd, off) == MAP_FAILED) {
		err = errno;
		munmap(a, 2 * len);
		errno = err;
		return NULL;
	}
	return a;
}

void
pvb_shm_unmap_double(void *a, size_t len)
{
	if (a != NULL && len != 0 && len <= SIZE_MAX / 2)
		munmap(a, 2 * len);
}
