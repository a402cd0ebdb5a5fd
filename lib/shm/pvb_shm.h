/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_SHM_H_
#define _PVB_SHM_H_

/**
 * @file
 * Memory shared between processes, always as a file descriptor (doc/shm.md):
 *  - a region is a memfd, backed by huge pages when they are free
 *    (MFD_HUGETLB) and by plain pages otherwise, its size sealed
 *    (F_SEAL_SHRINK | F_SEAL_GROW) so that a peer can neither truncate it
 *    under us (SIGBUS) nor grow it;
 *  - a region received from a peer is refused unless those seals are set,
 *    it can still be locked (below) and it is at least as large as
 *    announced, so every later access stays inside what was mapped;
 *  - once both sides have mapped it, each calls pvb_shm_lock(): the region
 *    is sealed F_SEAL_FUTURE_WRITE | F_SEAL_SEAL, which makes the kernel
 *    refuse a hole punch (fallocate(2) FALLOC_FL_PUNCH_HOLE: EPERM), and
 *    every page is faulted in, so that the peer can no longer make us die
 *    of SIGBUS on a hugetlb page it took away;
 *  - share mode (a third process maps the region writable too, at any
 *    time): no lock, only pvb_shm_prefault(), and plain pages only, since
 *    a hole punched in plain shmem faults back in as a zero page while on
 *    hugetlbfs it raises SIGBUS when the pool is empty;
 *  - ring data areas can be mapped twice back to back;
 *  - regions are bound to a NUMA node with libnuma;
 *  - fds travel over unix sockets with SCM_RIGHTS; doorbells are in
 *    pvb_bell.h.
 *
 * The hand-off, guest (creator) and host (receiver):
 *
 *     guest                                host
 *     pvb_shm_create()   SHRINK|GROW
 *     (set up rings, then touch nothing)
 *     pvb_shm_send_fds() ---- OPEN ---->   pvb_shm_attach()  refuses or maps
 *                                          pvb_shm_lock()    FUTURE_WRITE|SEAL
 *                        <--- accept ---   (now uses the region)
 *     pvb_shm_lock()     (sees the host's seal, checks it, faults in)
 *     (now uses the region)
 *
 * After pvb_shm_lock() no new writable shared mapping of the region can be
 * made by anybody (mmap(2) fails with EPERM): map everything first (double
 * mappings included). What a lock cannot stop: the peer still writes bytes
 * into the region; every reader validates what it reads.
 *
 * Control functions return 0 or -errno. No DPDK in here.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Most fds one message carries (sender and receiver agree). */
#define PVB_SHM_MAX_FDS 8

/** pvb_shm_create() flags. */
#define PVB_SHM_F_NO_HUGE	(1u << 0)	/**< plain pages even if huge pages are free */
#define PVB_SHM_F_HUGE_ONLY	(1u << 1)	/**< fail rather than fall back to plain pages */

/** A mapped region. */
struct pvb_shm {
	int fd;			/**< the memfd; -1 once closed */
	uint8_t *base;		/**< mapped read-write, shared */
	size_t len;		/**< mapped bytes (the region's size) */
	size_t page_size;	/**< 4096 or the huge page size backing it */
	bool huge;
};

/**
 * Create a region of at least @p len bytes (rounded up to its page size;
 * s->len says how much), zero-filled, mapped shared and sealed F_SEAL_SHRINK
 * | F_SEAL_GROW (not F_SEAL_SEAL: pvb_shm_lock() adds the last seals). @p name
 * shows in /proc/PID/fd. @p numa_node >= 0 binds the pages to that node
 * (no-op on a one-node machine); -1 leaves placement to the kernel.
 */
int pvb_shm_create(struct pvb_shm *s, const char *name, size_t len, unsigned int flags,
		   int numa_node);

/**
 * Map a region received from a peer: exactly @p expect_len bytes, read-write
 * and shared. Refused, with the fd left open and *s empty, when the fd
 *  - is not a memfd sealed F_SEAL_SHRINK and F_SEAL_GROW: -EPERM;
 *  - is write-sealed (F_SEAL_WRITE or F_SEAL_FUTURE_WRITE), so that it
 *    cannot be mapped writable: -EACCES;
 *  - is sealed F_SEAL_SEAL without F_SEAL_FUTURE_WRITE, so that nobody can
 *    lock it any more: -ENOLCK;
 *  - was opened read-only: -EROFS;
 *  - is smaller than @p expect_len: -EMSGSIZE;
 *  - is not an open fd: -EBADF; @p expect_len is 0: -EINVAL;
 * or another -errno of mmap(2) (-ENOMEM, ...). pvb_shm_attach_strerror()
 * turns the code into the reason to log or send back. Takes ownership of
 * @p fd on success only. Call pvb_shm_lock() next, before touching the region.
 */
int pvb_shm_attach(struct pvb_shm *s, int fd, size_t expect_len);

/**
 * The reason pvb_shm_attach() or pvb_shm_check_fd() refused a region, as a
 * short static string ("write-sealed", "not size-sealed", ...); "accepted"
 * for 0 and "not mappable" for codes they do not give a meaning of their own.
 */
const char *pvb_shm_attach_strerror(int rc);

/**
 * Lock a region both sides have mapped: seal it F_SEAL_FUTURE_WRITE |
 * F_SEAL_SEAL (Linux 5.1), so that a hole punch fails with EPERM from now on,
 * then fault every page of s's mapping in, so that a page punched before the
 * seal gets a fresh page now. Each side calls it: the host right after
 * pvb_shm_attach(), the guest once the host accepted the region; whichever
 * comes second finds the seals set and checks F_SEAL_FUTURE_WRITE is among
 * them. Calling it again is harmless.
 *
 * 0: no punch can succeed and every page is present, so the peer cannot
 * raise SIGBUS in this process through the region any more.
 * -EPERM: the peer sealed F_SEAL_SEAL without F_SEAL_FUTURE_WRITE; the
 * region can no longer be protected: drop it.
 * -EFAULT/-ENOMEM: a page could not be allocated (an empty hugetlb pool
 * after a punch); drop it. -EOPNOTSUPP: a kernel without
 * F_SEAL_FUTURE_WRITE. -EINVAL: @p s is not a mapped region.
 */
int pvb_shm_lock(struct pvb_shm *s);

/**
 * The second step of pvb_shm_lock() alone: fault every page of s's mapping
 * in for writing (MADV_POPULATE_WRITE, or fallocate(2) before Linux 5.14),
 * without sealing. Share mode (doc/shm.md) uses it where a third process
 * must keep mapping the region writable, which the lock's
 * F_SEAL_FUTURE_WRITE would refuse (EPERM).
 *
 * Without the seal a peer can still punch holes. On plain pages
 * (!s->huge) that costs nothing but the bytes: the next touch faults a
 * zero page in. On huge pages it raises SIGBUS when the pool is empty, so
 * a region used unlocked must be plain: create it with PVB_SHM_F_NO_HUGE,
 * refuse a peer's with s->huge set.
 *
 * 0: every page present now. -EFAULT/-ENOMEM: a page could not be
 * allocated. -EINVAL: @p s is not a mapped region.
 */
int pvb_shm_prefault(struct pvb_shm *s);

/** Unmap and close; safe on a zeroed or already closed region. */
void pvb_shm_close(struct pvb_shm *s);

/**
 * Check an fd as pvb_shm_attach() does, without mapping: 0 or one of the
 * refusal codes of pvb_shm_attach() (-EPERM, -EACCES, -ENOLCK, -EROFS,
 * -EMSGSIZE, -EBADF).
 */
int pvb_shm_check_fd(int fd, size_t expect_len);

/**
 * Map @p len bytes at @p off of @p fd twice back to back: the returned
 * address a has a[i] and a[len + i] on the same byte for i < len. @p off and
 * @p len must be multiples of the fd's page size (4096 for plain memfds, the
 * huge page size for hugetlb ones). Undo with pvb_shm_unmap_double(a, len).
 * NULL with errno set on failure (EPERM once the region is locked: map
 * before pvb_shm_lock()).
 */
void *pvb_shm_map_double(int fd, off_t off, size_t len);
void pvb_shm_unmap_double(void *a, size_t len);

/**
 * Bind [addr, addr + len) to NUMA node @p node (page aligned range). 0 when
 * bound or when the machine has one node or no NUMA support; -errno else.
 */
int pvb_shm_bind_node(void *addr, size_t len, int node);

/**
 * Send one message of @p len bytes with @p nfds (<= PVB_SHM_MAX_FDS) fds
 * attached, on a SOCK_SEQPACKET or SOCK_STREAM unix socket. The fds stay
 * open in the sender. 0 or -errno (-EPIPE when the peer is gone; never
 * raises SIGPIPE).
 */
int pvb_shm_send_fds(int sock, const void *buf, size_t len, const int *fds, unsigned int nfds);

/**
 * Receive one message into @p buf (@p cap bytes) and up to @p max_fds fds.
 * Returns the message length (>= 0), 0 with *nfds = 0 at EOF is reported as
 * -ECONNRESET, -EAGAIN on a non-blocking socket with nothing to read,
 * -EMSGSIZE if the message or its fds were truncated (every fd that did
 * arrive is closed). Received fds are close-on-exec. On error no fd is left
 * open.
 */
ssize_t pvb_shm_recv_fds(int sock, void *buf, size_t cap, int *fds, unsigned int max_fds,
			 unsigned int *nfds);

/** Close @p n fds (skips -1). */
void pvb_shm_close_fds(int *fds, unsigned int n);

#endif /* _PVB_SHM_H_ */
