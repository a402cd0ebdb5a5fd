/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Doorbells on an AF_UNIX SOCK_DGRAM socketpair (pvb_bell.h). Datagrams,
 * not a stream: shutdown(2) on a datagram socket does not reach the peer's
 * end, a full queue is EAGAIN for the sender only, and each ring is one
 * message, so a drain can count and bound what it reads.
 */

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pvb_bell.h"

int
pvb_bell_pair(int *mine, int *theirs)
{
	int sv[2];

	if (mine == NULL || theirs == NULL)
		return -EINVAL;
	*mine = -1;
	*theirs = -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	*mine = sv[0];
	*theirs = sv[1];
	return 0;
}

static int
sockopt_int(int fd, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	if (getsockopt(fd, SOL_SOCKET, opt, v, &len) != 0)
		return -errno;
	return len == sizeof(*v) ? 0 : -EPROTOTYPE;
}

int
pvb_bell_check(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int v, rc;

	if (fd < 0)
		return -EBADF;
	rc = sockopt_int(fd, SO_DOMAIN, &v);
	if (rc != 0)
		return rc;
	if (v != AF_UNIX)
		return -EPROTOTYPE;
	rc = sockopt_int(fd, SO_TYPE, &v);
	if (rc != 0)
		return rc;
	if (v != SOCK_DGRAM)
		return -EPROTOTYPE;
	/* an unconnected socket would need an address on every ring */
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return -errno;
	return 0;
}

int
pvb_bell_ring(int fd)
{
	static const uint8_t ding = 1;
	ssize_t n;

	do {
		n = send(fd, &ding, sizeof(ding), MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n >= 0)
		return 0;
	/* the peer's queue is full: it has a wake to read already */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return 0;
	return -errno;
}

int
pvb_bell_drain(int fd)
{
	uint8_t b;
	int n = 0;
	ssize_t r;

	/* a longer datagram is cut to one byte, the rest discarded (MSG_TRUNC) */
	while (n < PVB_BELL_DRAIN_MAX) {
		r = recv(fd, &b, sizeof(b), MSG_DONTWAIT);
		if (r >= 0) {
			n++;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return n;
}
