/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_BELL_H_
#define _PVB_BELL_H_

/**
 * @file
 * Doorbells between two processes that do not trust each other
 * (doc/shm.md, "Doorbells").
 *
 * A doorbell is one AF_UNIX SOCK_DGRAM socketpair (unix(7)): the side that
 * creates it keeps one end and sends the other with SCM_RIGHTS. Each side
 * owns its own end, that is its own open file description, so nothing the
 * peer does to its end reaches ours: it can clear O_NONBLOCK on its end,
 * never read, flood us or close it, and still none of our calls blocks or
 * spins. (Two processes sharing one eventfd share one file description: the
 * peer could clear O_NONBLOCK on it and drain it, and our read would block
 * for ever.)
 *
 * A ring is one datagram to the peer's end; a drain reads what arrived on
 * ours. Both pass MSG_DONTWAIT, so they never block whatever the fd's
 * O_NONBLOCK flag says, and a ring passes MSG_NOSIGNAL, so a closed peer is
 * an error code, never SIGPIPE. The socket is bidirectional: one pair
 * carries both directions, and each side polls its own end (POLLIN) when it
 * wants to sleep.
 *
 * Control functions return 0 or -errno. No DPDK in here.
 */

/** Most datagrams one pvb_bell_drain() call reads. */
#define PVB_BELL_DRAIN_MAX	64

/**
 * Create a doorbell: an AF_UNIX SOCK_DGRAM socketpair, both ends
 * non-blocking and close-on-exec. Keep *mine, send *theirs to the peer
 * (and close it once sent). 0 or -errno; on error both are -1.
 */
int pvb_bell_pair(int *mine, int *theirs);

/**
 * Check a doorbell received from a peer before using it: 0 if @p fd is a
 * connected AF_UNIX SOCK_DGRAM socket; -ENOTSOCK if it is not a socket,
 * -EPROTOTYPE if it is another family or type, -ENOTCONN if it has no peer,
 * -EBADF if it is not open.
 */
int pvb_bell_check(int fd);

/**
 * Ring: send one byte to the peer's end. Never blocks. 0 when sent, and 0
 * when the peer's queue is full (EAGAIN, ENOBUFS): a wake is pending there
 * already. -errno otherwise: -ECONNREFUSED or -ENOTCONN once the peer closed
 * its end, -EBADF, ... Never raises SIGPIPE.
 */
int pvb_bell_ring(int fd);

/**
 * Drain: read and discard what arrived on @p fd, at most PVB_BELL_DRAIN_MAX
 * datagrams per call so that a peer that keeps ringing cannot keep the
 * caller here. Never blocks. Returns how many datagrams were read (0: none
 * pending; PVB_BELL_DRAIN_MAX: more may be pending, the fd stays readable)
 * or -errno. fds a peer attached to a datagram are discarded by the kernel,
 * never installed in this process.
 */
int pvb_bell_drain(int fd);

#endif /* _PVB_BELL_H_ */
