/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * fds over unix sockets with SCM_RIGHTS (unix(7), cmsg(3)). What arrives is
 * checked before use: control messages are walked with their lengths
 * checked, surplus or foreign fds are closed, a truncated message is an error
 * with no fd left open.
 */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pvb_shm.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD		0x04	/* Linux 6.5: a pidfd of the sender, if SO_PASSPIDFD */
#endif

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
