/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Shared regions as sealed memfds, double mappings, NUMA binding and fd
 * passing (DESIGN.md §2). Everything a peer hands us (an fd, its size and
 * seals, a message and its control data) is checked before it is used.
 */

#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "pvb_shm.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC		0x958458f6
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD		0x04	/* Linux 6.5: a pidfd of the sender, if SO_PASSPIDFD */
#endif

/* The seals without which a peer could truncate the region under us (SIGBUS). */
#define SIZE_SEALS		(F_SEAL_SHRINK | F_SEAL_GROW)

/* ---- page sizes ----------------------------------------------------------- */

static size_t
base_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * The page size mappings of @p fd use: the huge page size for a hugetlbfs
 * file (statfs reports it as the block size), the base page size otherwise.
 */
static int
fd_page_size(int fd, size_t *ps, bool *huge)
{
	struct statfs sfs;

	*ps = 0;
	*huge = false;
	if (fstatfs(fd, &sfs) != 0)
		return -errno;
	*huge = sfs.f_type == HUGETLBFS_MAGIC;
	*ps = *huge ? (size_t)sfs.f_bsize : base_page_size();
	if (*ps == 0 || (*ps & (*ps - 1)) != 0)
		return -EINVAL;
	return 0;
}

/* @p len rounded up to the power of two @p ps, or 0 if that overflows. */
static size_t
round_up(size_t len, size_t ps)
{
	if (len > SIZE_MAX - (ps - 1))
		return 0;
	return (len + ps - 1) & ~(ps - 1);
}

/* ---- creating a region ---------------------------------------------------- */

static void
shm_reset(struct pvb_shm *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

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
	rc = fd_page_size(fd, &ps, &is_huge);
	if (rc != 0)
		goto out_close;
	size = round_up(len, ps);
	if (is_huge != huge || size == 0 || size > (uint64_t)INT64_MAX) {
		rc = is_huge != huge ? -EINVAL : -ENOMEM;
		goto out_close;
	}
	if (ftruncate(fd, (off_t)size) != 0 ||
	    fcntl(fd, F_ADD_SEALS, SIZE_SEALS | F_SEAL_SEAL) != 0) {
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

/* ---- a region from a peer ------------------------------------------------- */

int
pvb_shm_check_fd(int fd, size_t expect_len)
{
	struct stat st;
	int seals;

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
	if ((seals & SIZE_SEALS) != SIZE_SEALS)
		return -EPERM;
	if (st.st_size < 0 || (uint64_t)st.st_size < (uint64_t)expect_len)
		return -EMSGSIZE;
	return 0;
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
		rc = fd_page_size(fd, &ps, &huge);
	if (rc != 0)
		return rc;
	/*
	 * hugetlbfs maps whole huge pages only. A hugetlbfs file's size is a
	 * multiple of its page size, so the rounded length stays inside it; for
	 * plain pages the tail of the last page past expect_len is still inside
	 * the file's last page.
	 */
	map_len = round_up(expect_len, ps);
	if (map_len == 0)
		return -ENOMEM;
	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
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
		munmap(s->base, round_up(s->len, s->page_size != 0 ? s->page_size : 1));
		if (s->fd >= 0)
			close(s->fd);
	}
	shm_reset(s);
}

/* ---- double mapping ------------------------------------------------------- */

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
	size_t extra = ps > base_page_size() ? ps : 0, head;
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
	rc = fd_page_size(fd, ps, &huge);
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

/* ---- fd passing ----------------------------------------------------------- */

/*
 * Room for PVB_SHM_MAX_FDS fds and then some: credentials or a pidfd the
 * socket options may add, and a few surplus fds, which are then closed and
 * reported as -EMSGSIZE; anything beyond that the kernel cuts (MSG_CTRUNC).
 */
#define CTL_SPACE	(CMSG_SPACE(sizeof(int) * (PVB_SHM_MAX_FDS + 8)) + CMSG_SPACE(64))

union ctl_buf {
	struct cmsghdr align;
	uint8_t b[CTL_SPACE];
};

/* The rest of a stream message after a short send: the fds went with the first part. */
static int
send_rest(int sock, const uint8_t *p, size_t len)
{
	struct pollfd pfd = { .fd = sock, .events = POLLOUT };
	ssize_t n;

	while (len != 0) {
		n = send(sock, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* half a message would desynchronise the peer: finish it */
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
		} else if (n < 0 && errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

int
pvb_shm_send_fds(int sock, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
	union ctl_buf ctl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	unsigned int i;
	ssize_t n;

	/* non-empty: on SOCK_SEQPACKET an empty message reads as EOF */
	if (buf == NULL || len == 0 || nfds > PVB_SHM_MAX_FDS || (nfds != 0 && fds == NULL))
		return -EINVAL;
	for (i = 0; i < nfds; i++)
		if (fds[i] < 0)
			return -EBADF;
	if (nfds != 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.b;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* SOCK_SEQPACKET sends all or nothing; SOCK_STREAM may stop short */
	return send_rest(sock, (const uint8_t *)buf + n, len - (size_t)n);
}

struct fd_take {
	int *fds;
	unsigned int max, n;
	bool overflow;
};

/* Keep an fd that arrived, or close it if there is no room. */
static void
take_fd(struct fd_take *t, int fd)
{
	if (fd < 0)
		return;
	if (t->n < t->max) {
		t->fds[t->n++] = fd;
		return;
	}
	close(fd);
	t->overflow = true;
}

/*
 * Walk every control message: SCM_RIGHTS fds are kept (up to the caller's
 * room), fds of other types that carry one (SCM_PIDFD) are closed, the rest
 * (credentials) carry none and are ignored.
 */
static void
take_cmsgs(struct msghdr *msg, struct fd_take *t)
{
	const uint8_t *end = (const uint8_t *)msg->msg_control + msg->msg_controllen;
	struct cmsghdr *c;
	size_t i, n;
	int fd;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		/* the kernel wrote these, but a length is still checked before use */
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_len < CMSG_LEN(0) ||
		    c->cmsg_len > (size_t)(end - (const uint8_t *)c))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (c->cmsg_type == SCM_RIGHTS) {
			for (i = 0; i < n; i++) {
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				take_fd(t, fd);
			}
		} else if (c->cmsg_type == SCM_PIDFD && n >= 1) {
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
			if (fd >= 0)
				close(fd);
		}
	}
}

ssize_t
pvb_shm_recv_fds(int sock, void *buf, size_t cap, int *fds, unsigned int max_fds,
		 unsigned int *nfds)
{
	union ctl_buf ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct fd_take t = { .fds = fds, .max = max_fds };
	unsigned int i;
	ssize_t n;

	if (nfds != NULL)
		*nfds = 0;
	if (buf == NULL || cap == 0 || nfds == NULL || (max_fds != 0 && fds == NULL))
		return -EINVAL;
	if (t.max > PVB_SHM_MAX_FDS)
		t.max = PVB_SHM_MAX_FDS;
	for (i = 0; i < t.max; i++)
		fds[i] = -1;
	do {
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof(ctl.b);
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	take_cmsgs(&msg, &t);
	if (t.overflow || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		pvb_shm_close_fds(fds, t.n);
		return -EMSGSIZE;
	}
	if (n == 0 && t.n == 0)
		return -ECONNRESET;
	*nfds = t.n;
	return n;
}

void
pvb_shm_close_fds(int *fds, unsigned int n)
{
	unsigned int i;

	if (fds == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}
