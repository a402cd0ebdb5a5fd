/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * The unix socket a vhost-user connection runs over, for either end and
 * either role: listening (a leftover socket file nobody listens on is
 * replaced; a live one is left alone), connecting, accepting. A connected
 * socket gets send and receive time limits, so a peer that stops halfway
 * through a message cannot hold the thread that talks to it.
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vu_pvt.h"

static int
sock_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

static int
sock_limits(int fd)
{
	struct timeval tv = { .tv_sec = PVB_VU_STALL_MS / 1000,
			      .tv_usec = (PVB_VU_STALL_MS % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

int
pvb_vu_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc = sock_addr(path, &sa);

	if (rc != 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return sock_limits(fd);
}

int
pvb_vu_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc = sock_addr(path, &sa);

	if (rc != 0)
		return rc;
	fd = pvb_vu_connect(path);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	/* nobody listens there: a socket file left by a process that died */
	if (fd == -ECONNREFUSED)
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int
pvb_vu_accept(int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	return fd < 0 ? -errno : sock_limits(fd);
}
