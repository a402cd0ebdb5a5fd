/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Channel control protocol over its SOCK_SEQPACKET unix socket: one message
 * per datagram, fds with SCM_RIGHTS (lib/shm), and the listening and
 * connecting ends. Fds that arrive with a refused message are closed here.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pvb_chan.h"
#include "pvb_chan_wire.h"
#include "pvb_shm.h"
#include "chan_pvt.h"

#define LISTEN_BACKLOG	4

_Static_assert(PVB_CHAN_WIRE_OPEN_FDS <= PVB_SHM_MAX_FDS, "lib/shm carries the OPEN fds");

/* ---- messages over the socket ------------------------------------------- */

int
pvb_chan_send(int sock, const struct pvb_chan_msg *m)
{
	uint8_t buf[PVB_CHAN_WIRE_MAX];
	unsigned int nfds, i;
	int len;

	len = pvb_chan_encode(m, buf, sizeof(buf));
	if (len < 0)
		return len;
	/* the fd count follows the type; m->nfds is what a receiver learnt */
	nfds = pvb_chan_wire_nfds(m->type);
	for (i = 0; i < nfds; i++)
		if (m->fds[i] < 0)
			return -EBADF;
	return pvb_shm_send_fds(sock, buf, (size_t)len, m->fds, nfds);
}

int
pvb_chan_recv(int sock, struct pvb_chan_msg *m, const char **why)
{
	/* one byte more than the largest message: an oversized one cannot pass as fitting */
	uint8_t buf[PVB_CHAN_WIRE_MAX + 1];
	int fds[PVB_SHM_MAX_FDS];
	unsigned int nfds = 0;
	const char *w = NULL;
	ssize_t n;
	int r;

	if (why == NULL)
		why = &w;
	*why = NULL;
	if (m == NULL)
		return -EINVAL;
	n = pvb_shm_recv_fds(sock, buf, sizeof(buf), fds, PVB_SHM_MAX_FDS, &nfds);
	if (n == -EMSGSIZE) {
		/* lib/shm closed whatever fds did arrive */
		*why = "message or its fds truncated";
		goto refuse;
	}
	if (n < 0) {
		if (n == -ECONNRESET)
			*why = "peer closed the connection";
		else if (n != -EAGAIN)
			*why = "receive failed";
		return (int)n;
	}
	if (nfds > PVB_SHM_MAX_FDS)	/* lib/shm promises not; cheap to hold it to that */
		nfds = PVB_SHM_MAX_FDS;
	r = pvb_chan_decode(buf, (size_t)n, fds, nfds, m, why);
	if (r == 0)
		return 0;
	pvb_shm_close_fds(fds, nfds);
refuse:
	pvb_chan_send_error(sock, -EPROTO, *why);
	return -EPROTO;
}

int
chan_send_result(int sock, uint16_t type, int status, const char *reason)
{
	struct pvb_chan_msg m;

	chan_msg_init(&m, type);
	if (type == PVB_CHAN_ERROR && (status == 0 || !chan_status_ok(status)))
		status = -EPROTO;
	m.u.result.status = status;
	chan_reason_copy(m.u.result.reason, reason);
	return pvb_chan_send(sock, &m);
}

void
pvb_chan_send_error(int sock, int status, const char *reason)
{
	(void)chan_send_result(sock, PVB_CHAN_ERROR, status, reason);
}

int
chan_send_close(int sock, uint16_t type, uint32_t chan_id)
{
	struct pvb_chan_msg m;

	chan_msg_init(&m, type);
	m.u.close.chan_id = chan_id;
	return pvb_chan_send(sock, &m);
}

void
pvb_chan_msg_release(struct pvb_chan_msg *m)
{
	unsigned int i;

	/*
	 * Only an OPEN holds fds: a zeroed message (type 0, fds 0) must not
	 * close stdin.
	 */
	if (m == NULL || m->type != PVB_CHAN_OPEN)
		return;
	for (i = 0; i < PVB_CHAN_OPEN_FDS; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

/* ---- sockets ------------------------------------------------------------ */

static int
addr_fill(struct sockaddr_un *sa, const char *path)
{
	size_t n;

	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	n = strlen(path);
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/*
 * A socket file at @sa that nobody listens on is stale: a listener that died
 * without unlinking it. Only a socket file is ever called stale, so a
 * mistyped path never removes somebody's regular file.
 */
static bool
addr_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, err;

	if (lstat(sa->sun_path, &st) != 0)
		return errno == ENOENT;	/* gone meanwhile: bind may try again */
	if (!S_ISSOCK(st.st_mode))
		return false;
	/* non-blocking: a live listener with a full backlog answers EAGAIN */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	err = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? 0 : errno;
	close(fd);
	return err == ECONNREFUSED || err == ENOENT;
}

static int
bind_or_replace(int fd, const struct sockaddr_un *sa)
{
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return 0;
	if (errno != EADDRINUSE)
		return -errno;
	if (!addr_stale(sa))
		return -EADDRINUSE;
	if (unlink(sa->sun_path) != 0 && errno != ENOENT)
		return -errno;
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return 0;
	return -errno;
}

int
pvb_chan_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, r;

	r = addr_fill(&sa, path);
	if (r != 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = bind_or_replace(fd, &sa);
	if (r != 0)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		r = -errno;
		unlink(sa.sun_path);	/* ours: bound a moment ago */
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

int
pvb_chan_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd >= 0)
		return fd;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

int
pvb_chan_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, fl, r;

	r = addr_fill(&sa, path);
	if (r != 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * Blocking: a unix connect completes at once or fails, except that it
	 * waits while the listener's backlog is full.
	 */
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		goto fail;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

