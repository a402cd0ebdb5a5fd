/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pvb_ethdev.h"
#include "pvb_rxintr.h"

void
pvb_rxintr_init(struct pvb_rxintr *ri)
{
	unsigned int q;

	ri->n = 0;
	for (q = 0; q < PVB_RXINTR_MAX; q++) {
		ri->ep[q] = ri->self[q] = ri->bound[q] = -1;
		ri->armed[q] = false;
	}
}

int
pvb_rxintr_setup(struct rte_eth_dev *dev, struct pvb_rxintr *ri, unsigned int n,
		 const char *name)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int q;

	if (n > PVB_RXINTR_MAX)
		return -EINVAL;
	for (q = 0; q < n; q++) {
		ri->ep[q] = epoll_create1(EPOLL_CLOEXEC);
		ri->self[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (ri->ep[q] < 0 || ri->self[q] < 0 ||
		    epoll_ctl(ri->ep[q], EPOLL_CTL_ADD, ri->self[q], &ev) != 0)
			return -errno;
	}
	ri->n = n;
	return pvb_eth_intr_alloc(dev, ri->ep, n, name);
}

void
pvb_rxintr_free(struct rte_eth_dev *dev, struct pvb_rxintr *ri)
{
	unsigned int q;

	pvb_eth_intr_free(dev);
	for (q = 0; q < PVB_RXINTR_MAX; q++) {
		if (ri->ep[q] >= 0)
			close(ri->ep[q]);
		if (ri->self[q] >= 0)
			close(ri->self[q]);
	}
	pvb_rxintr_init(ri);
}

void
pvb_rxintr_wake(struct pvb_rxintr *ri, unsigned int q)
{
	uint64_t one = 1;

	/* our own eventfd, non-blocking: a full counter is a wake already due */
	if (ri->self[q] >= 0 && write(ri->self[q], &one, sizeof(one)) < 0)
		one = 0;
}

int
pvb_rxintr_bind(struct pvb_rxintr *ri, unsigned int q, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int rc = 0;

	if (q >= ri->n || ri->ep[q] < 0)
		return 0;
	/* an fd closed since it was bound left the set by itself: errors are fine */
	if (ri->bound[q] >= 0 && ri->bound[q] != fd)
		epoll_ctl(ri->ep[q], EPOLL_CTL_DEL, ri->bound[q], NULL);
	if (fd >= 0 && epoll_ctl(ri->ep[q], EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EEXIST)
		rc = -errno;
	ri->bound[q] = rc == 0 ? fd : -1;
	pvb_rxintr_wake(ri, q);
	return rc;
}

uint64_t
pvb_rxintr_drain(struct pvb_rxintr *ri, unsigned int q)
{
	struct pollfd pfd = { .fd = ri->bound[q], .events = POLLIN };
	uint64_t v;

	if (read(ri->self[q], &v, sizeof(v)) < 0)
		v = 0;	/* nothing was due */
	/* the peer's eventfd may block: read it only when it has a count */
	if (pfd.fd >= 0 && poll(&pfd, 1, 0) == 1 && read(pfd.fd, &v, sizeof(v)) == sizeof(v))
		return v;
	return 0;
}
