/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * A region from a peer: checked (type, seals, access mode, size) before it
 * is mapped, and every refusal has a code and a reason of its own, so that
 * a log says what was wrong (doc/shm.md, "Attach refusals").
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_pvt.h"

/*
 * The seals a region must and must not carry when it arrives: sealed
 * against resizing, still mappable writable, and still lockable.
 */
static int
check_seals(int seals)
{
	if ((seals & SHM_SIZE_SEALS) != SHM_SIZE_SEALS)
		return -EPERM;
	if ((seals & SHM_WRITE_SEALS) != 0)
		return -EACCES;
	/* with F_SEAL_SEAL and no F_SEAL_FUTURE_WRITE, pvb_shm_lock() cannot seal it */
	if ((seals & F_SEAL_SEAL) != 0)
		return -ENOLCK;
	return 0;
}

int
pvb_shm_check_fd(int fd, size_t expect_len)
{
	struct stat st;
	int seals, fl;

	if (fd < 0)
		return -EBADF;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EPERM;
	/* EINVAL: a file that cannot carry seals (not a memfd) is as bad as an unsealed one */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return errno == EBADF ? -EBADF : -EPERM;
	fl = check_seals(seals);
	if (fl != 0)
		return fl;
	/* a read-only description (reopened through /proc) cannot be mapped writable */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if ((fl & O_ACCMODE) != O_RDWR)
		return -EROFS;
	if (st.st_size < 0 || (uint64_t)st.st_size < (uint64_t)expect_len)
		return -EMSGSIZE;
	return 0;
}

const char *
pvb_shm_attach_strerror(int rc)
{
	switch (rc) {
	case 0:
		return "accepted";
	case -EPERM:
		return "not size-sealed";
	case -EACCES:
		return "write-sealed";
	case -ENOLCK:
		return "seals sealed without F_SEAL_FUTURE_WRITE: cannot be locked";
	case -EROFS:
		return "fd opened read-only";
	case -EMSGSIZE:
		return "smaller than announced";
	case -EBADF:
		return "not an open fd";
	case -EINVAL:
		return "invalid arguments";
	default:
		return "not mappable";
	}
}

/*
 * mmap(2) of a region that passed the checks: a peer that adds a write
 * seal in between makes it fail with EPERM, which is reported as what it
 * is (write-sealed) rather than as "not size-sealed".
 */
static void *
map_shared(int fd, size_t len, int *rc)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	*rc = 0;
	if (p == MAP_FAILED) {
		*rc = errno == EPERM || errno == EACCES ? -EACCES : -errno;
		return NULL;
	}
	return p;
}

int
pvb_shm_attach(struct pvb_shm *s, int fd, size_t expect_len)
{
	size_t ps, map_len;
	bool huge;
	void *p;
	int rc;

	if (s == NULL)
		return -EINVAL;
	shm_reset(s);
	if (expect_len == 0)
		return -EINVAL;
	rc = pvb_shm_check_fd(fd, expect_len);
	if (rc == 0)
		rc = shm_fd_page_size(fd, &ps, &huge);
	if (rc != 0)
		return rc;
	/*
	 * hugetlbfs maps whole huge pages only. A hugetlbfs file's size is a
	 * multiple of its page size, so the rounded length stays inside it; for
	 * plain pages the tail of the last page past expect_len is still inside
	 * the file's last page.
	 */
	map_len = shm_round_up(expect_len, ps);
	if (map_len == 0)
		return -ENOMEM;
	p = map_shared(fd, map_len, &rc);
	if (p == NULL)
		return rc;
	s->fd = fd;
	s->base = p;
	s->len = expect_len;
	s->page_size = ps;
	s->huge = huge;
	return 0;
}

/*
 * Only a mapped region owns its fd: a zeroed struct has fd 0, which is
 * somebody else's (stdin), so base == NULL means "nothing to release".
 */
void
pvb_shm_close(struct pvb_shm *s)
{
	if (s == NULL)
		return;
	if (s->base != NULL) {
		munmap(s->base, shm_round_up(s->len, s->page_size != 0 ? s->page_size : 1));
		if (s->fd >= 0)
			close(s->fd);
	}
	shm_reset(s);
}
