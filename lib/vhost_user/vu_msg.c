/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

/*
 * Framing: one vhost-user message over an AF_UNIX stream socket, its fds
 * as SCM_RIGHTS on the sendmsg() that carries the header (QEMU
 * docs/interop/vhost-user.rst, "Message Specification"). A stream has no
 * message boundaries: the 12-byte header says how many payload bytes
 * follow, and both reads loop until they have them all.
 */

#include <errno.h>
#include <poll.h>
#include <stdalign.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vu_pvt.h"

/* Room for PVB_VU_MAX_FDS fds in one SCM_RIGHTS message, aligned as a cmsghdr. */
union vu_cmsg_buf {
	struct cmsghdr h;
	uint8_t b[CMSG_SPACE(sizeof(int) * PVB_VU_MAX_FDS)];
};

void
vu_close_fds(int *fds, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static uint64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Wait until @p sock can do @p events, until @p deadline (now_ms()): 0, -EPROTO when it stalls. */
static int
wait_sock(int sock, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = sock, .events = events };
	uint64_t now;
	int n;

	do {
		now = now_ms();
		if (now >= deadline)
			return -EPROTO;
		n = poll(&p, 1, (int)(deadline - now));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -EPROTO : 0;
}

/*
 * Take the fds of one recvmsg(). Any ancillary data but SCM_RIGHTS, a
 * truncated control buffer (the kernel dropped fds), or more than
 * PVB_VU_MAX_FDS in one message: -EPROTO (the caller closes what arrived).
 */
static int
take_fds(struct msghdr *mh, int *fds, uint32_t *nfds)
{
	struct cmsghdr *c;
	int bad = (mh->msg_flags & MSG_CTRUNC) ? -EPROTO : 0;
	size_t i, n;
	int fd;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			bad = -EPROTO;
			continue;
		}
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < PVB_VU_MAX_FDS)
				fds[(*nfds)++] = fd;
			else {
				close(fd);
				bad = -EPROTO;
			}
		}
	}
	return bad;
}

/*
 * Read exactly @p len bytes into @p buf, with whatever fds come along.
 * @p first: nothing of the message has arrived yet, so EOF is a clean
 * -ECONNRESET and EAGAIN is returned as is; later both mean a message cut
 * short (-EPROTO). A started message must be whole by @p *deadline (set
 * when its first bytes arrive): a peer that trickles it is cut off, however
 * it spaces its bytes.
 */
static int
read_full(int sock, void *buf, size_t len, bool first, int *fds, uint32_t *nfds,
	  uint64_t *deadline)
{
	union vu_cmsg_buf cbuf;
	size_t got = 0;
	ssize_t n;
	int rc;

	while (got < len) {
		struct iovec iov = { .iov_base = (uint8_t *)buf + got, .iov_len = len - got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b),
		};

		/* started: never block past the deadline, whatever the socket's mode */
		if (*deadline != 0) {
			rc = wait_sock(sock, POLLIN, *deadline);
			if (rc != 0)
				return rc;
		}
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | (*deadline != 0 ? MSG_DONTWAIT : 0));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			if (first && got == 0 && *deadline == 0)
				return -EAGAIN;
			if (*deadline == 0)
				*deadline = now_ms() + PVB_VU_STALL_MS;
			continue;
		}
		if (*deadline == 0)
			*deadline = now_ms() + PVB_VU_STALL_MS;
		rc = take_fds(&mh, fds, nfds);
		if (rc != 0)
			return rc;
		if (n == 0)
			return first && got == 0 ? -ECONNRESET : -EPROTO;
		got += (size_t)n;
	}
	return 0;
}

int
pvb_vu_recv(int sock, struct pvb_vu_msg *m, int *fds, uint32_t *nfds)
{
	uint64_t deadline = 0;
	int rc;

	if (m == NULL || fds == NULL || nfds == NULL)
		return -EINVAL;
	*nfds = 0;
	memset(m, 0, sizeof(*m));
	rc = read_full(sock, &m->hdr, PVB_VU_HDR_SIZE, true, fds, nfds, &deadline);
	if (rc == 0 && ((m->hdr.flags & PVB_VU_FLAG_VERSION_MASK) != PVB_VU_VERSION ||
			m->hdr.size > PVB_VU_PAYLOAD_MAX))
		rc = -EPROTO;
	if (rc == 0)
		rc = read_full(sock, m->p.bytes, m->hdr.size, false, fds, nfds, &deadline);
	if (rc != 0) {
		vu_close_fds(fds, *nfds);
		*nfds = 0;
	}
	return rc;
}

int
pvb_vu_send(int sock, const struct pvb_vu_msg *m, const int *fds, uint32_t nfds)
{
	union vu_cmsg_buf cbuf;
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	uint64_t deadline = now_ms() + PVB_VU_STALL_MS;
	size_t left;
	ssize_t n;
	uint32_t i;
	int rc;

	if (m == NULL || m->hdr.size > PVB_VU_PAYLOAD_MAX || nfds > PVB_VU_MAX_FDS ||
	    (fds == NULL && nfds != 0))
		return -EINVAL;
	for (i = 0; i < nfds; i++)
		if (fds[i] < 0)
			return -EBADF;
	iov[0] = (struct iovec){ .iov_base = (void *)(uintptr_t)&m->hdr,
				 .iov_len = PVB_VU_HDR_SIZE };
	iov[1] = (struct iovec){ .iov_base = (void *)(uintptr_t)m->p.bytes,
				 .iov_len = m->hdr.size };
	left = PVB_VU_HDR_SIZE + m->hdr.size;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (left > 0) {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			rc = wait_sock(sock, POLLOUT, deadline);
			if (rc != 0)
				return rc == -EPROTO ? -ETIMEDOUT : rc;
			continue;
		}
		/* the fds went with the first bytes; the rest is plain data */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		left -= (size_t)n;
		while (n > 0 && mh.msg_iovlen > 0) {
			size_t k = (size_t)n < mh.msg_iov->iov_len ? (size_t)n :
				   mh.msg_iov->iov_len;

			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + k;
			mh.msg_iov->iov_len -= k;
			n -= (ssize_t)k;
			if (mh.msg_iov->iov_len == 0) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

static const char *const request_names[PVB_VU_REQUEST_MAX] = {
	[PVB_VU_GET_FEATURES] = "GET_FEATURES",
	[PVB_VU_SET_FEATURES] = "SET_FEATURES",
	[PVB_VU_SET_OWNER] = "SET_OWNER",
	[PVB_VU_RESET_OWNER] = "RESET_OWNER",
	[PVB_VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[PVB_VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[PVB_VU_SET_LOG_FD] = "SET_LOG_FD",
	[PVB_VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[PVB_VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[PVB_VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[PVB_VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[PVB_VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[PVB_VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[PVB_VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[PVB_VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[PVB_VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[PVB_VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[PVB_VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[PVB_VU_SEND_RARP] = "SEND_RARP",
	[PVB_VU_NET_SET_MTU] = "NET_SET_MTU",
	[PVB_VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[PVB_VU_IOTLB_MSG] = "IOTLB_MSG",
	[PVB_VU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[PVB_VU_GET_CONFIG] = "GET_CONFIG",
	[PVB_VU_SET_CONFIG] = "SET_CONFIG",
	[PVB_VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[PVB_VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[PVB_VU_RESET_DEVICE] = "RESET_DEVICE",
	[PVB_VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[PVB_VU_ADD_MEM_REG] = "ADD_MEM_REG",
	[PVB_VU_REM_MEM_REG] = "REM_MEM_REG",
	[PVB_VU_SET_STATUS] = "SET_STATUS",
	[PVB_VU_GET_STATUS] = "GET_STATUS",
};

const char *
pvb_vu_request_str(uint32_t request)
{
	if (request >= PVB_VU_REQUEST_MAX || request_names[request] == NULL)
		return "unknown";
	return request_names[request];
}

bool
pvb_vu_request_mutates(uint32_t request)
{
	switch (request) {
	case PVB_VU_GET_FEATURES:
	case PVB_VU_GET_PROTOCOL_FEATURES:
	case PVB_VU_GET_QUEUE_NUM:
	case PVB_VU_GET_STATUS:
	case PVB_VU_GET_MAX_MEM_SLOTS:
	case PVB_VU_SET_OWNER:
		return false;
	default:
		return true;	/* unknown ids included: refusing one closes the connection */
	}
}
